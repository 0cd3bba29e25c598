// SPDX-License-Identifier: GPL-2.0
/*
 * evcore benchmark: the cost of evcore_push() against the event queues a
 * driver would otherwise hand-roll, measured in one run on one machine.
 *
 * Loading the module runs every measurement and prints one line per result
 * to the kernel log ("evcore_bench: <name> <value>"); scripts/bench turns
 * them into ratios. The module then stays loaded doing nothing.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/evcore.h>
#include <linux/kfifo.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#define BENCH_PAYLOAD	64
#define BENCH_CAPACITY	64
#define BENCH_READERS	8

static unsigned int iterations = 100000;
module_param(iterations, uint, 0444);
MODULE_PARM_DESC(iterations, "pushes per measurement (default 100000)");

/* The record a hand-rolled queue would carry: same size as evcore's. */
struct bench_record {
	u64 seq;
	u64 timestamp_ns;
	u32 source;
	u32 len;
	u8 payload[BENCH_PAYLOAD + 24];
};

/* A hand-rolled single queue: kfifo + spinlock + wait queue. */
struct bench_fifo {
	/* Protects @fifo and @seq against producers on other CPUs. */
	spinlock_t lock;
	DECLARE_KFIFO(fifo, struct bench_record, BENCH_CAPACITY);
	wait_queue_head_t wait;
	u64 seq;
};

static void bench_fifo_push(struct bench_fifo *f, const void *payload)
{
	struct bench_record rec = { .source = 1, .len = BENCH_PAYLOAD };
	unsigned long flags;

	memcpy(rec.payload, payload, BENCH_PAYLOAD);
	spin_lock_irqsave(&f->lock, flags);
	rec.seq = f->seq++;
	rec.timestamp_ns = ktime_get_ns();
	if (kfifo_is_full(&f->fifo))
		kfifo_skip(&f->fifo);
	kfifo_put(&f->fifo, rec);
	spin_unlock_irqrestore(&f->lock, flags);
	if (wq_has_sleeper(&f->wait))
		wake_up_interruptible(&f->wait);
}

static u64 bench_time_fifo(unsigned int readers)
{
	struct bench_fifo *f;
	u8 payload[BENCH_PAYLOAD] = { 1 };
	unsigned int i, r;
	u64 start, ns;

	/* One fifo per reader, as evdev keeps one ring per client. */
	f = kcalloc(readers, sizeof(*f), GFP_KERNEL);
	if (!f)
		return 0;
	for (r = 0; r < readers; r++) {
		spin_lock_init(&f[r].lock);
		INIT_KFIFO(f[r].fifo);
		init_waitqueue_head(&f[r].wait);
	}
	start = ktime_get_ns();
	for (i = 0; i < iterations; i++)
		for (r = 0; r < readers; r++)
			bench_fifo_push(&f[r], payload);
	ns = ktime_get_ns() - start;
	kfree(f);
	return ns;
}

static u64 bench_time_evcore(unsigned int readers, size_t *bytes)
{
	static const struct evcore_config cfg = {
		.name = "bench",
		.capacity = BENCH_CAPACITY,
		.payload_size = BENCH_PAYLOAD,
		.policy = EVCORE_POLICY_DROP_OLDEST,
		.clock = CLOCK_MONOTONIC,
	};
	struct evcore_reader *rd[BENCH_READERS] = { };
	u8 payload[BENCH_PAYLOAD] = { 1 };
	struct evcore_source src = { };
	struct evcore_stats st;
	struct evcore_queue *q;
	unsigned int i, r;
	u64 start, ns = 0;

	q = evcore_queue_create(&cfg);
	if (IS_ERR(q))
		return 0;
	if (evcore_source_register(q, &src, "bench", 0))
		goto out_put;
	for (r = 0; r < readers; r++) {
		rd[r] = evcore_reader_open(q);
		if (IS_ERR(rd[r])) {
			rd[r] = NULL;
			goto out_readers;
		}
	}
	start = ktime_get_ns();
	for (i = 0; i < iterations; i++)
		evcore_push(&src, 0, 0, payload, sizeof(payload));
	ns = ktime_get_ns() - start;
	evcore_queue_get_stats(q, &st);
	*bytes = st.memory;

out_readers:
	for (r = 0; r < readers; r++)
		evcore_reader_release(rd[r]);
	evcore_source_unregister(&src);
out_put:
	evcore_queue_shutdown(q);
	evcore_queue_put(q);
	return ns;
}

#define BENCH_ROUNDS	5

static void bench_report(const char *name, u64 ns)
{
	pr_info("%s %llu\n", name, div_u64(ns, iterations));
}

/*
 * Run every measurement BENCH_ROUNDS times, interleaved so that a slow
 * stretch of the machine hits all of them alike, and keep each one's best.
 */
static int __init evcore_bench_init(void)
{
	u64 ev1 = U64_MAX, ev8 = U64_MAX, ff1 = U64_MAX, ff8 = U64_MAX;
	size_t bytes = 0;
	unsigned int round;

	if (!iterations)
		return -EINVAL;
	pr_info("iterations %u rounds %u\n", iterations, BENCH_ROUNDS);
	for (round = 0; round < BENCH_ROUNDS; round++) {
		ev8 = min(ev8, bench_time_evcore(BENCH_READERS, &bytes));
		ev1 = min(ev1, bench_time_evcore(1, &bytes));
		ff1 = min(ff1, bench_time_fifo(1));
		ff8 = min(ff8, bench_time_fifo(BENCH_READERS));
		cond_resched();
	}
	bench_report("push_ns_evcore_1reader", ev1);
	bench_report("push_ns_evcore_8readers", ev8);
	bench_report("push_ns_kfifo_1reader", ff1);
	bench_report("push_ns_kfifo_8readers", ff8);
	pr_info("memory_bytes_evcore_8readers %zu\n", bytes);
	pr_info("memory_bytes_kfifo_8readers %zu\n",
		BENCH_READERS * sizeof(struct bench_fifo));
	pr_info("done\n");
	return 0;
}
module_init(evcore_bench_init);

static void __exit evcore_bench_exit(void)
{
}
module_exit(evcore_bench_exit);

MODULE_IMPORT_NS(EVCORE_NS);
MODULE_DESCRIPTION("evcore benchmark against hand-rolled kfifo queues");
MODULE_AUTHOR("evcore developers");
MODULE_LICENSE("GPL");
