/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API shims for evcore's own modules (mypoll_misc, the tests, the
 * benchmark) built out of tree on older kernels, written against the newest
 * API; <linux/evcore.h> does not include it. The EVCORE_COMPAT_* flags come
 * from <linux/evcore_compat.h>, and only a module built by evcore's Kbuild
 * has them: it is not installed for other drivers.
 */
#ifndef _LINUX_EVCORE_KCOMPAT_H
#define _LINUX_EVCORE_KCOMPAT_H

#include <linux/evcore_compat.h>
#include <linux/hrtimer.h>

/*
 * Without the flags an older kernel would get the newest API here, and
 * fail somewhere less clear.
 */
#ifndef EVCORE_COMPAT_KNOWN
#error "<linux/evcore_kcompat.h> is for modules built by evcore's Kbuild"
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
 * An input handler's events() callback: write FN as
 * ``void FN(struct input_handle *, const struct input_value *, unsigned int)``
 * and put evcore_input_events(FN) in the handler; EVCORE_INPUT_EVENTS(FN)
 * defines that wrapper in the kernel's form. Since 6.11 events() returns
 * the values it leaves to the next handlers (all of them, here) and takes
 * them writable; before, it returned nothing and took them const.
 */
#ifdef EVCORE_COMPAT_INPUT_EVENTS_VOID
#define EVCORE_INPUT_EVENTS(fn)						\
static void fn##_events(struct input_handle *handle,			\
			const struct input_value *vals,			\
			unsigned int count)				\
{									\
	fn(handle, vals, count);					\
}
#else
#define EVCORE_INPUT_EVENTS(fn)						\
static unsigned int fn##_events(struct input_handle *handle,		\
				struct input_value *vals,		\
				unsigned int count)			\
{									\
	fn(handle, vals, count);					\
	return count;							\
}
#endif
#define evcore_input_events(fn) fn##_events

#endif /* _LINUX_EVCORE_KCOMPAT_H */
