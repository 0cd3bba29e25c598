// SPDX-License-Identifier: GPL-2.0
/*
 * mypoll_misc: the periodic timer source of a device, in two backends: a
 * delayed work item in process context, on jiffy ticks, and an hrtimer
 * whose callback queues the event in hard interrupt context. Both keep
 * the periods on a CLOCK_MONOTONIC grid set at start and report missed
 * expirations in the next timer event's aux.
 */

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/device.h>
#include <linux/errno.h>
#include <linux/evcore.h>
#include <linux/evcore_kcompat.h>
#include <linux/hrtimer.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/lockdep.h>
#include <linux/math64.h>
#include <linux/minmax.h>
#include <linux/string.h>
#include <linux/workqueue.h>
#include <uapi/linux/mypoll.h>

#include "mypoll.h"

/* A period mypoll_timer_check() accepts fits in mypoll_timer_state. */
static_assert(MYPOLL_PERIOD_US_MAX <= UINT_MAX);

static const char * const mypoll_timer_modes[] = {
	[MYPOLL_TIMER_WORK] = "work",
	[MYPOLL_TIMER_HRTIMER] = "hrtimer",
};

/**
 * mypoll_timer_mode_name() - name of a timer mode
 * @mode: %MYPOLL_TIMER_WORK or %MYPOLL_TIMER_HRTIMER
 *
 * Context: Any context.
 * Return: "work" or "hrtimer"; "unknown" for any other value.
 */
const char *mypoll_timer_mode_name(u32 mode)
{
	return mode < ARRAY_SIZE(mypoll_timer_modes) ?
	       mypoll_timer_modes[mode] : "unknown";
}

/**
 * mypoll_timer_mode_parse() - parse the name of a timer mode
 * @buf: "work" or "hrtimer", optionally followed by a newline
 *
 * Context: Any context.
 * Return: the ``MYPOLL_TIMER_*`` value, or -EINVAL for any other string.
 */
int mypoll_timer_mode_parse(const char *buf)
{
	return sysfs_match_string(mypoll_timer_modes, buf);
}

/* The one check of a mode and period: 0 when they suit, else -EINVAL. */
static int mypoll_timer_check(u32 mode, u64 period_us)
{
	/* From here on @period_us fits in 32 bits. */
	if (period_us > MYPOLL_PERIOD_US_MAX)
		return -EINVAL;
	switch (mode) {
	case MYPOLL_TIMER_WORK:
		if (period_us < MYPOLL_WORK_PERIOD_US_MIN ||
		    (u32)period_us % USEC_PER_MSEC)
			return -EINVAL;
		break;
	case MYPOLL_TIMER_HRTIMER:
		if (period_us < MYPOLL_HRTIMER_PERIOD_US_MIN)
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

/*
 * Queue one timer event reporting @missed periods that expired without an
 * event. Runs in the timer's context (for the hrtimer hard IRQ, or its
 * softirq on PREEMPT_RT, where hrtimers not marked hard expire). When the
 * event is refused, the missed periods are carried to the next timer event
 * that is queued, so they are reported once the queue has room.
 */
static void mypoll_timer_fire(struct mypoll_dev *mdev, u64 missed)
{
	struct mypoll_timer_state *t = &mdev->timer;
	u64 carry = t->carry + missed;
	u32 aux = min_t(u64, carry, U32_MAX);
	int ret;

	if (missed) {
		atomic64_add(missed, &t->missed);
		dev_dbg_ratelimited(mypoll_to_device(mdev),
				    "timer missed %llu periods\n", missed);
	}

	ret = evcore_push(&mdev->timer_src, 0, aux, NULL, 0);
	t->carry = ret < 0 ? carry : carry - aux;
}

static enum hrtimer_restart mypoll_hrtimer_fn(struct hrtimer *timer)
{
	struct mypoll_dev *mdev = container_of(timer, struct mypoll_dev,
					       timer.hrtimer);
	u64 period_ns = (u64)READ_ONCE(mdev->timer.period_us) * NSEC_PER_USEC;
	u64 overruns;

	overruns = hrtimer_forward_now(timer, ns_to_ktime(period_ns));
	mypoll_timer_fire(mdev, overruns ? overruns - 1 : 0);
	return HRTIMER_RESTART;
}

/* Jiffies until @ns nanoseconds have passed, at least one. */
static unsigned long mypoll_delay_jiffies(u64 ns)
{
	return max(usecs_to_jiffies(DIV_ROUND_UP_ULL(ns, NSEC_PER_USEC)), 1UL);
}

static void mypoll_timer_work_fn(struct work_struct *work)
{
	struct mypoll_dev *mdev = container_of(to_delayed_work(work),
					       struct mypoll_dev, timer.work);
	struct mypoll_timer_state *t = &mdev->timer;
	u64 period = (u64)READ_ONCE(t->period_us) * NSEC_PER_USEC;
	u64 now = ktime_get_ns();
	u64 periods;

	/* Jiffies and the monotonic clock do not tick together. */
	if (now < t->work_expires) {
		schedule_delayed_work(&t->work,
				      mypoll_delay_jiffies(t->work_expires -
							   now));
		return;
	}

	/*
	 * Like hrtimer_forward_now(): periods stay on the grid set at start,
	 * in CLOCK_MONOTONIC time, so a late run does not shift the next
	 * ones; the expiries that passed since the one this run stands for
	 * are missed (and so are those between two jiffies when the period
	 * is shorter than a jiffy).
	 */
	periods = div64_u64(now - t->work_expires, period) + 1;
	mypoll_timer_fire(mdev, periods - 1);

	t->work_expires += periods * period;
	schedule_delayed_work(&t->work,
			      mypoll_delay_jiffies(t->work_expires - now));
}

/**
 * mypoll_timer_init() - set up a device's timer, stopped
 * @mdev: the device, being created
 * @mode: %MYPOLL_TIMER_WORK or %MYPOLL_TIMER_HRTIMER
 * @period_us: the period in microseconds, not checked until the timer
 *	starts
 *
 * Context: Process context, before the device is visible.
 */
void mypoll_timer_init(struct mypoll_dev *mdev, u32 mode, u32 period_us)
{
	struct mypoll_timer_state *t = &mdev->timer;

	INIT_DELAYED_WORK(&t->work, mypoll_timer_work_fn);
	hrtimer_setup(&t->hrtimer, mypoll_hrtimer_fn, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL);
	atomic64_set(&t->missed, 0);
	t->mode = mode;
	t->period_us = period_us;
}

/**
 * mypoll_timer_stop_locked() - stop the timer
 * @mdev: the device
 *
 * Waits for a callback in progress, so no timer event is queued once this
 * returns. Stopping a stopped timer does nothing.
 *
 * Context: Process context, may sleep; &mypoll_dev.lock held.
 */
void mypoll_timer_stop_locked(struct mypoll_dev *mdev)
{
	struct mypoll_timer_state *t = &mdev->timer;

	lockdep_assert_held(&mdev->lock);

	if (!t->running)
		return;
	if (t->mode == MYPOLL_TIMER_HRTIMER)
		hrtimer_cancel(&t->hrtimer);
	else
		cancel_delayed_work_sync(&t->work);
	WRITE_ONCE(t->running, false);
	dev_dbg(mypoll_to_device(mdev), "timer stopped\n");
}

/**
 * mypoll_timer_start_locked() - start or restart the timer
 * @mdev: the device
 * @mode: %MYPOLL_TIMER_WORK or %MYPOLL_TIMER_HRTIMER
 * @period_us: the period in microseconds, within @mode's limits
 *
 * A running timer is stopped first and restarts on a new grid. Either way
 * the timer starts fresh: missed periods that no timer event reported
 * before are dropped (they stay counted in the statistics). Nothing
 * changes on error.
 *
 * Context: Process context, may sleep; &mypoll_dev.lock held.
 * Return: 0; -ENODEV when the device is being removed; -EINVAL for an
 * unknown @mode or a @period_us outside its limits.
 */
int mypoll_timer_start_locked(struct mypoll_dev *mdev, u32 mode,
			      u64 period_us)
{
	struct mypoll_timer_state *t = &mdev->timer;
	u64 period_ns;
	int ret;

	lockdep_assert_held(&mdev->lock);

	if (mdev->dead)
		return -ENODEV;
	ret = mypoll_timer_check(mode, period_us);
	if (ret)
		return ret;

	mypoll_timer_stop_locked(mdev);
	t->mode = mode;
	WRITE_ONCE(t->period_us, period_us);
	/*
	 * A new grid owes nothing: what the old one missed and never got
	 * into an event was counted in @missed, and is not reported after
	 * the restart. No callback runs now, so the plain write is safe.
	 */
	t->carry = 0;

	period_ns = period_us * NSEC_PER_USEC;
	if (mode == MYPOLL_TIMER_HRTIMER) {
		hrtimer_start(&t->hrtimer, ns_to_ktime(period_ns),
			      HRTIMER_MODE_REL);
	} else {
		t->work_expires = ktime_get_ns() + period_ns;
		schedule_delayed_work(&t->work,
				      mypoll_delay_jiffies(period_ns));
	}
	WRITE_ONCE(t->running, true);
	dev_dbg(mypoll_to_device(mdev), "timer started: %s, %llu us\n",
		mypoll_timer_mode_name(mode), period_us);
	return 0;
}

/**
 * mypoll_timer_get_locked() - the timer's configuration
 * @mdev: the device
 * @t: filled in: mode, period and whether the timer runs
 *
 * Context: &mypoll_dev.lock held.
 */
void mypoll_timer_get_locked(struct mypoll_dev *mdev, struct mypoll_timer *t)
{
	lockdep_assert_held(&mdev->lock);

	*t = (struct mypoll_timer) {
		.mode = mdev->timer.mode,
		.running = mdev->timer.running,
		.period_us = mdev->timer.period_us,
	};
}

/**
 * mypoll_timer_set_period_locked() - change the period
 * @mdev: the device
 * @period_us: the new period in microseconds, within the current mode's
 *	limits
 *
 * A running timer applies it when it next re-arms.
 *
 * Context: Process context; &mypoll_dev.lock held.
 * Return: 0, or -EINVAL when @period_us does not suit the mode (nothing
 * changes).
 */
int mypoll_timer_set_period_locked(struct mypoll_dev *mdev, u64 period_us)
{
	int ret;

	lockdep_assert_held(&mdev->lock);

	ret = mypoll_timer_check(mdev->timer.mode, period_us);
	if (ret)
		return ret;
	WRITE_ONCE(mdev->timer.period_us, period_us);
	return 0;
}

/**
 * mypoll_timer_set_mode_locked() - change the mode
 * @mdev: the device
 * @mode: %MYPOLL_TIMER_WORK or %MYPOLL_TIMER_HRTIMER
 *
 * A running timer restarts in the new mode, on a new grid.
 *
 * Context: Process context, may sleep; &mypoll_dev.lock held.
 * Return: 0; -EINVAL when the current period does not suit @mode (nothing
 * changes); as mypoll_timer_start_locked() for a running timer.
 */
int mypoll_timer_set_mode_locked(struct mypoll_dev *mdev, u32 mode)
{
	struct mypoll_timer_state *t = &mdev->timer;
	int ret;

	lockdep_assert_held(&mdev->lock);

	ret = mypoll_timer_check(mode, t->period_us);
	if (ret)
		return ret;
	if (t->running)
		return mypoll_timer_start_locked(mdev, mode, t->period_us);
	t->mode = mode;
	return 0;
}
