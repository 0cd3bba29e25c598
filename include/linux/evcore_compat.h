/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place where evcore and its users hide differences between the
 * kernel versions they build against (6.1 to 7.2). Nothing else tests the
 * version: code is written against the newest API and this header supplies
 * that API on older kernels. It tests for features, never for versions.
 */
#ifndef _LINUX_EVCORE_COMPAT_H
#define _LINUX_EVCORE_COMPAT_H

#include <linux/container_of.h>
#include <linux/hrtimer.h>
#include <linux/timer.h>

/*
 * What an older kernel lacks is marked by the EVCORE_COMPAT_* macros of
 * generated/evcore_compat.h, which scripts/compat-header writes per kernel
 * at build time by testing that kernel's headers. evcore's Kbuild writes it
 * into include/ of its build directory, in a kernel tree as outside, so a
 * module built with -I to that include/ finds it too. Where it is missing,
 * the kernel is taken to have the newest API.
 */
#ifdef __has_include
#if __has_include("generated/evcore_compat.h")
#include "generated/evcore_compat.h"
#endif
#else
/* sparse 0.6.4 lacks __has_include; evcore's Kbuild wrote the header. */
#include "generated/evcore_compat.h"
#endif

#ifdef EVCORE_COMPAT_NS_IDENTIFIER
/* Symbol namespaces are bare identifiers up to 6.12. */
#define EVCORE_NS EVCORE
#else
/* Use in EXPORT_SYMBOL_NS_GPL(sym, EVCORE_NS) and MODULE_IMPORT_NS(). */
#define EVCORE_NS "EVCORE"
#endif

#ifdef EVCORE_COMPAT_NO_HRTIMER_SETUP
/*
 * hrtimer_setup() appeared in 6.13 and replaced hrtimer_init() followed by
 * setting ->function; hrtimer_init() is gone in 7.2.
 */
static inline void
evcore_compat_hrtimer_setup(struct hrtimer *timer,
			    enum hrtimer_restart (*function)(struct hrtimer *),
			    clockid_t clock_id, enum hrtimer_mode mode)
{
	hrtimer_init(timer, clock_id, mode);
	timer->function = function;
}

#define hrtimer_setup evcore_compat_hrtimer_setup
#endif

/*
 * from_timer() became timer_container_of() after 6.12 and is gone in 7.2;
 * test for the macro itself. timer_delete() and timer_delete_sync() (6.2,
 * and in Debian's 6.1 too) replace del_timer() and del_timer_sync(), which
 * are gone in 7.2: use the new names, they need no shim.
 */
#ifndef timer_container_of
#define timer_container_of(var, callback_timer, timer_fieldname) \
	container_of(callback_timer, typeof(*(var)), timer_fieldname)
#endif

#endif /* _LINUX_EVCORE_COMPAT_H */
