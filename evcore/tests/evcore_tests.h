/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The contract between evcore's checks (evcore_tests.c) and the two front
 * ends that run them: evcore_kunit.c, a KUnit suite, and evcore_selftest.c,
 * a module that runs them at load time on kernels without KUnit.
 *
 * A front end includes evcore_tests.c (kbuild links an object into one
 * module only), defines evt_report(), and for each check listed in
 * evcore_cases.h runs evt_<name>() with a struct evt_ctx whose @mm is the
 * current task's user address space and whose @ubuf maps %EVT_SLOTS slots
 * there: evcore_read() copies to userspace, so the checks read through
 * those slots. Reader threads adopt @mm with kthread_use_mm(). A check
 * that cannot run on this machine (one that needs a second CPU, say) sets
 * @skip to the reason and returns; the front end reports it skipped.
 */
#ifndef _EVCORE_TESTS_H
#define _EVCORE_TESTS_H

#include <linux/printk.h>
#include <linux/sizes.h>
#include <linux/types.h>

struct mm_struct;

/* Threads a check may start; each gets its own user buffer slot. */
#define EVT_MAX_THREADS		9
/* User buffer slots: slot 0 for the check itself, then one per thread. */
#define EVT_SLOTS		(EVT_MAX_THREADS + 1)
#define EVT_SLOT_SIZE		SZ_64K
#define EVT_UBUF_SIZE		(EVT_SLOTS * EVT_SLOT_SIZE)

/**
 * struct evt_ctx - one running check
 * @priv: the front end's own state
 * @failures: expectations that failed so far; only the check's own task
 *	updates it (threads hand their findings back to it)
 * @skip: set by a check that cannot run here, to why; the front end
 *	reports it skipped
 * @mm: the address space holding @ubuf
 * @ubuf: user address of %EVT_SLOTS buffers of %EVT_SLOT_SIZE bytes each
 * @kbuf: %EVT_SLOT_SIZE bytes where the check's own reads are copied back
 */
struct evt_ctx {
	void *priv;
	unsigned int failures;
	const char *skip;
	struct mm_struct *mm;
	unsigned long ubuf;
	u8 *kbuf;
};

/*
 * Provided by the front end: reports a failed expectation (@failure) or a
 * diagnostic note, with the place in the checks it comes from. A failed
 * expectation does not stop the check, so one run reports every failure.
 */
static void evt_report(struct evt_ctx *ctx, bool failure, const char *file,
		       int line, struct va_format *vaf);

#endif /* _EVCORE_TESTS_H */
