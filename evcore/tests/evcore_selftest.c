// SPDX-License-Identifier: GPL-2.0
/*
 * evcore's checks as a module for kernels without KUnit: loading it runs
 * every check of evcore_tests.c and prints KTAP to the kernel log; the load
 * fails with -EINVAL when any check failed, as kselftest's module.sh
 * expects.
 *
 * The checks run in the loading task (modprobe or insmod), whose address
 * space holds the user buffers evcore_read() copies to.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "evcore_tests.c"

/* Per-check state of the front end. */
struct evt_selftest {
	const char *name;
};

static void evt_report(struct evt_ctx *ctx, bool failure, const char *file,
		       int line, struct va_format *vaf)
{
	struct evt_selftest *st = ctx->priv;

	if (failure)
		pr_err("# %s: %s:%d: %pV\n", st->name, kbasename(file), line,
		       vaf);
	else
		pr_info("# %s: %pV\n", st->name, vaf);
}

struct evt_case {
	const char *name;
	void (*run)(struct evt_ctx *ctx);
};

static const struct evt_case evt_cases[] = {
#define EVT_CASE(name) { #name, evt_##name },
#define EVT_CASE_SLOW(name) EVT_CASE(name)
#include "evcore_cases.h"
#undef EVT_CASE_SLOW
#undef EVT_CASE
};

static int evt_run_case(const struct evt_case *c, unsigned long ubuf,
			u8 *kbuf, const char **skip)
{
	struct evt_selftest st = { .name = c->name };
	struct evt_ctx ctx = {
		.priv = &st,
		.mm = current->mm,
		.ubuf = ubuf,
		.kbuf = kbuf,
	};

	c->run(&ctx);
	*skip = ctx.skip;
	return ctx.failures;
}

static int __init evt_selftest_init(void)
{
	unsigned int i, failed = 0, n = ARRAY_SIZE(evt_cases);
	const char *skip;
	unsigned long ubuf;
	u8 *kbuf;
	int ret = -ENOMEM;

	pr_info("KTAP version 1\n");
	pr_info("1..%u\n", n);

	if (!current->mm) {
		pr_err("# the loading task has no address space to read into\n");
		ret = -EINVAL;
		goto out;
	}
	kbuf = kvzalloc(EVT_SLOT_SIZE, GFP_KERNEL);
	if (!kbuf)
		goto out;
	ubuf = vm_mmap(NULL, 0, EVT_UBUF_SIZE, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE, 0);
	if (IS_ERR_VALUE(ubuf)) {
		ret = (int)ubuf;
		goto err_free_kbuf;
	}

	for (i = 0; i < n; i++) {
		/* What a check reports stands between this line and its result. */
		pr_info("# RUN %s\n", evt_cases[i].name);
		if (evt_run_case(&evt_cases[i], ubuf, kbuf, &skip)) {
			failed++;
			pr_info("not ok %u - %s\n", i + 1, evt_cases[i].name);
		} else if (skip) {
			pr_info("ok %u - %s # SKIP %s\n", i + 1,
				evt_cases[i].name, skip);
		} else {
			pr_info("ok %u - %s\n", i + 1, evt_cases[i].name);
		}
	}
	pr_info("# evcore_selftest: %u passed, %u failed\n", n - failed,
		failed);
	ret = failed ? -EINVAL : 0;

	vm_munmap(ubuf, EVT_UBUF_SIZE);
err_free_kbuf:
	kvfree(kbuf);
out:
	if (ret && !failed)
		pr_err("# could not run the checks: %d\n", ret);
	return ret;
}

static void __exit evt_selftest_exit(void)
{
}

module_init(evt_selftest_init);
module_exit(evt_selftest_exit);

MODULE_IMPORT_NS_EVCORE();
MODULE_DESCRIPTION("evcore self-test: checks the event core at load time");
MODULE_AUTHOR("evcore developers");
MODULE_LICENSE("GPL");
