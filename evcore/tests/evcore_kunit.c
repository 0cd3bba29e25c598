// SPDX-License-Identifier: GPL-2.0
/*
 * evcore's checks as a KUnit suite, "evcore": one KUnit case per check of
 * evcore_tests.c. Each case maps its user buffers with kunit_vm_mmap(),
 * which gives the case's thread an address space for evcore_read() to
 * copy into.
 */

#include <kunit/test.h>
#include <linux/kernel.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/string.h>

#include "evcore_tests.c"

static void evt_report(struct evt_ctx *ctx, bool failure, const char *file,
		       int line, struct va_format *vaf)
{
	struct kunit *test = ctx->priv;

	if (failure)
		KUNIT_FAIL(test, "%s:%d: %pV", kbasename(file), line, vaf);
	else
		kunit_info(test, "%pV\n", vaf);
}

static void evt_kunit_run(struct kunit *test,
			  void (*run)(struct evt_ctx *ctx))
{
	struct evt_ctx ctx = { .priv = test };

	ctx.ubuf = kunit_vm_mmap(test, NULL, 0, EVT_UBUF_SIZE,
				 PROT_READ | PROT_WRITE,
				 MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE_MSG(test, !ctx.ubuf || IS_ERR_VALUE(ctx.ubuf),
			       "no user memory to read into: %ld",
			       (long)ctx.ubuf);
	ctx.mm = current->mm;
	KUNIT_ASSERT_NOT_NULL(test, ctx.mm);
	ctx.kbuf = kunit_kzalloc(test, EVT_SLOT_SIZE, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx.kbuf);
	run(&ctx);
	if (ctx.skip)
		kunit_mark_skipped(test, "%s", ctx.skip);
}

/* One KUnit case per check, each a function calling evt_kunit_run(). */
#define EVT_CASE(name)						\
	static void evt_kunit_##name(struct kunit *test)	\
	{							\
		evt_kunit_run(test, evt_##name);		\
	}
#define EVT_CASE_SLOW(name) EVT_CASE(name)
#include "evcore_cases.h"
#undef EVT_CASE_SLOW
#undef EVT_CASE

static struct kunit_case evt_kunit_cases[] = {
#define EVT_CASE(name) KUNIT_CASE(evt_kunit_##name),
#define EVT_CASE_SLOW(name) KUNIT_CASE_SLOW(evt_kunit_##name),
#include "evcore_cases.h"
#undef EVT_CASE_SLOW
#undef EVT_CASE
	{}
};

static struct kunit_suite evt_kunit_suite = {
	.name = "evcore",
	.test_cases = evt_kunit_cases,
};

kunit_test_suite(evt_kunit_suite);

MODULE_IMPORT_NS_EVCORE();
MODULE_DESCRIPTION("KUnit tests for evcore");
MODULE_AUTHOR("evcore developers");
MODULE_LICENSE("GPL");
