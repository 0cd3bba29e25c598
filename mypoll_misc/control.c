// SPDX-License-Identifier: GPL-2.0
/*
 * mypoll_misc: the controls the ioctls and sysfs share (main.c, sysfs.c),
 * and the limit on what they may do without CAP_SYS_ADMIN.
 */

#include <linux/atomic.h>
#include <linux/capability.h>
#include <linux/evcore.h>
#include <linux/lockdep.h>
#include <linux/minmax.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <uapi/linux/mypoll.h>

#include "mypoll.h"

/*
 * Read with READ_ONCE(): root may change it at any time through
 * /sys/module/mypoll_misc/parameters/queue_size_limit.
 */
static unsigned int queue_size_limit = 4096;

static int queue_size_limit_set(const char *val, const struct kernel_param *kp)
{
	return param_set_uint_minmax(val, kp, 1, EVCORE_MAX_CAPACITY);
}

static const struct kernel_param_ops queue_size_limit_ops = {
	.set	= queue_size_limit_set,
	.get	= param_get_uint,
};
module_param_cb(queue_size_limit, &queue_size_limit_ops, &queue_size_limit,
		0644);
MODULE_PARM_DESC(queue_size_limit,
		 "Largest queue size a caller without CAP_SYS_ADMIN may grow the queue to, 1 to 65536 (default 4096)");

/**
 * mypoll_trigger() - generate manual events
 * @mdev: the device
 * @count: how many, 1 to %MYPOLL_TRIGGER_MAX
 *
 * The events are pushed without waiting, a batch per hold of the queue
 * lock (evcore_push_many(), so a batch shares its timestamp): under any
 * policy but drop-oldest, those that do not fit are refused and counted.
 *
 * Context: Process context, may sleep.
 * Return: how many were queued; -EINVAL for a @count out of range;
 * -ENODEV when the device went away before any was queued.
 */
int mypoll_trigger(struct mypoll_dev *mdev, u32 count)
{
	int queued = 0;
	u32 n;
	int ret;

	if (!count || count > MYPOLL_TRIGGER_MAX)
		return -EINVAL;

	for (; count; count -= n) {
		n = min(count, 1024U);
		ret = evcore_push_many(&mdev->manual_src, 0, 0, NULL, 0, n);
		if (ret < 0)
			return queued ? queued : mypoll_errno(ret);
		queued += ret;
		cond_resched();
	}
	return queued;
}

/**
 * mypoll_set_queue_size() - resize the queue, for a caller allowed to
 * @mdev: the device; its lock held
 * @size: the new capacity in events
 *
 * Anyone who may control the device may shrink the queue, or grow it up to
 * queue_size_limit or its present size; growing it beyond both takes
 * %CAP_SYS_ADMIN, since the ring is kernel memory (charged to the caller's
 * memory cgroup, but not bounded by it without one).
 *
 * Context: Process context, may sleep.
 * Return: 0; -EINVAL for a @size out of range (1 to %EVCORE_MAX_CAPACITY);
 * -EPERM when growing beyond the limit without the capability; -EBUSY
 * when more events are held than @size; -ENOMEM. Nothing changes on error.
 */
int mypoll_set_queue_size(struct mypoll_dev *mdev, u64 size)
{
	lockdep_assert_held(&mdev->lock);

	if (!size || size > EVCORE_MAX_CAPACITY)
		return -EINVAL;
	/* The lock keeps the capacity from moving under the check. */
	if (size > evcore_queue_capacity(mdev->queue) &&
	    size > READ_ONCE(queue_size_limit) && !capable(CAP_SYS_ADMIN))
		return -EPERM;
	return evcore_queue_resize(mdev->queue, size);
}

/**
 * mypoll_get_info() - what the device is, for MYPOLL_IOC_GET_INFO
 * @mdev: the device
 * @info: filled in, reserved fields zeroed
 *
 * Context: Any context.
 */
void mypoll_get_info(struct mypoll_dev *mdev, struct mypoll_info *info)
{
	memset(info, 0, sizeof(*info));
	info->abi_version = MYPOLL_ABI_VERSION;
	info->record_size = evcore_record_size(mdev->queue);
	info->features = MYPOLL_FEATURE_HRTIMER | MYPOLL_FEATURE_FILTER |
			 MYPOLL_FEATURE_WATERMARK |
			 MYPOLL_FEATURE_POLICY_BLOCK |
			 MYPOLL_FEATURE_SIZE_LIMIT;
	info->sources = MYPOLL_SOURCES_ALL;
	info->payload_max = MYPOLL_PAYLOAD_MAX;
	info->trigger_max = MYPOLL_TRIGGER_MAX;
	info->queue_size_max = EVCORE_MAX_CAPACITY;
	info->queue_size_limit = READ_ONCE(queue_size_limit);
}

/**
 * mypoll_reset_stats() - zero the counters of struct mypoll_stats
 * @mdev: the device
 *
 * The live values (sequence, depth, size, readers, policy) stay.
 *
 * Context: Any context.
 */
void mypoll_reset_stats(struct mypoll_dev *mdev)
{
	evcore_queue_reset_stats(mdev->queue);
	atomic64_set(&mdev->timer.missed, 0);
}

/**
 * mypoll_get_stats() - snapshot of the device's statistics
 * @mdev: the device
 * @st: filled in, reserved fields zeroed
 *
 * Context: Any context.
 */
void mypoll_get_stats(struct mypoll_dev *mdev, struct mypoll_stats *st)
{
	struct evcore_source_stats src;
	struct evcore_stats qs;

	memset(st, 0, sizeof(*st));
	evcore_queue_get_stats(mdev->queue, &qs);
	st->generated = qs.generated;
	st->queued = qs.queued;
	st->dropped = qs.dropped_full + qs.overwritten;
	st->dropped_full = qs.dropped_full;
	st->overwritten = qs.overwritten;
	st->would_block = qs.would_block;
	st->read = qs.delivered;
	st->event_sequence = qs.next_seq;
	st->queue_depth = qs.depth;
	st->queue_size = qs.capacity;
	st->high_water = qs.high_water;
	st->readers = qs.readers;
	st->policy = qs.policy;

	evcore_source_get_stats(&mdev->manual_src, &src);
	st->manual = src.generated;
	evcore_source_get_stats(&mdev->timer_src, &src);
	st->timer = src.generated;
	evcore_source_get_stats(&mdev->write_src, &src);
	st->write = src.generated;
	st->timer_missed = atomic64_read(&mdev->timer.missed);
}
