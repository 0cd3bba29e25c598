// SPDX-License-Identifier: GPL-2.0
/*
 * evcore benchmark, the in-kernel half of make bench: the cost of
 * evcore_push() with many idle readers against the cost with one, in
 * alternating rounds in one run.
 *
 * Loading the module runs the rounds and prints one line per round to the
 * kernel log, "evcore_bench: round push N NS_MANY NS_ONE ns", in the form
 * bench/ubench prints its rounds; scripts/bench turns them into ratios.
 * The module then stays loaded doing nothing.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/evcore.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>

#define BENCH_PAYLOAD	64
#define BENCH_CAPACITY	64

static unsigned int iterations = 100000;
module_param(iterations, uint, 0444);
MODULE_PARM_DESC(iterations, "pushes per measurement (default 100000)");

static unsigned int rounds = 5;
module_param(rounds, uint, 0444);
MODULE_PARM_DESC(rounds, "rounds, each measuring both cases (default 5)");

static unsigned int readers = 64;
module_param(readers, uint, 0444);
MODULE_PARM_DESC(readers, "idle readers of the first case (default 64)");

/*
 * Nanoseconds per push into a full queue (drop-oldest, as a device whose
 * readers do not read) with @nreaders readers that never read; 0 when the
 * queue could not be set up.
 */
static u64 bench_push_ns(unsigned int nreaders)
{
	static const struct evcore_config cfg = {
		.name = "bench",
		.capacity = BENCH_CAPACITY,
		.payload_size = BENCH_PAYLOAD,
		.policy = EVCORE_POLICY_DROP_OLDEST,
		.clock = CLOCK_MONOTONIC,
	};
	u8 payload[BENCH_PAYLOAD] = { 1 };
	struct evcore_source src = { };
	struct evcore_reader **rd;
	struct evcore_queue *q;
	unsigned int i, r;
	u64 start, ns = 0;

	rd = kcalloc(nreaders, sizeof(*rd), GFP_KERNEL);
	if (!rd)
		return 0;
	q = evcore_queue_create(&cfg);
	if (IS_ERR(q))
		goto out_free;
	if (evcore_source_register(q, &src, "bench", 0))
		goto out_put;
	for (r = 0; r < nreaders; r++) {
		rd[r] = evcore_reader_open(q);
		if (IS_ERR(rd[r]))
			goto out_readers;
	}
	/* Fill the queue first: every timed push overwrites. */
	for (i = 0; i < BENCH_CAPACITY; i++)
		evcore_push(&src, 0, 0, payload, sizeof(payload));
	start = ktime_get_ns();
	for (i = 0; i < iterations; i++)
		evcore_push(&src, 0, 0, payload, sizeof(payload));
	ns = div_u64(ktime_get_ns() - start, iterations);

out_readers:
	while (r--)
		evcore_reader_release(rd[r]);
	evcore_source_unregister(&src);
out_put:
	evcore_queue_shutdown(q);
	evcore_queue_put(q);
out_free:
	kfree(rd);
	return ns;
}

/* The two cases alternate, so that a slow stretch hits both alike. */
static int __init evcore_bench_init(void)
{
	unsigned int round;
	u64 many, one;

	if (!iterations || !rounds || !readers)
		return -EINVAL;
	pr_info("push: %u iterations, %u rounds, %u readers against 1\n",
		iterations, rounds, readers);
	for (round = 1; round <= rounds; round++) {
		many = bench_push_ns(readers);
		cond_resched();
		one = bench_push_ns(1);
		cond_resched();
		if (!many || !one) {
			pr_err("round %u: could not set up a queue\n", round);
			return -ENOMEM;
		}
		pr_info("round push %u %llu %llu ns\n", round, many, one);
	}
	pr_info("done\n");
	return 0;
}
module_init(evcore_bench_init);

static void __exit evcore_bench_exit(void)
{
}
module_exit(evcore_bench_exit);

MODULE_IMPORT_NS_EVCORE();
MODULE_DESCRIPTION("evcore benchmark: push cost with many idle readers");
MODULE_AUTHOR("evcore developers");
MODULE_LICENSE("GPL");
