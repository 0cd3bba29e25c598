// SPDX-License-Identifier: GPL-2.0
/*
 * mypoll_misc: the sysfs attributes of a device (/sys/class/misc/<name>/
 * and its statistics/ group, one value per file) and its debugfs status
 * dump (/sys/kernel/debug/mypoll/<name>/status). They use the controls
 * main.c and timer.c provide, as the ioctls do.
 */

#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/evcore.h>
#include <linux/init.h>
#include <linux/kernel.h>
#include <linux/kstrtox.h>
#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/seq_file.h>
#include <linux/sysfs.h>
#include <linux/types.h>
#include <uapi/linux/mypoll.h>

#include "mypoll.h"

static struct mypoll_dev *mypoll_from_device(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct mypoll_dev, misc);
}

/* sysfs: /sys/class/misc/<name>/ and its statistics/ group */

/*
 * One read-only attribute per statistic, named after its field of struct
 * mypoll_stats: stat_<field>_show() prints that field (a __u64 or a
 * __u32, both printed as unsigned decimal) and dev_attr_stat_<field> is
 * the attribute.
 */
#define MYPOLL_STAT_ATTR(_field)					\
static ssize_t stat_##_field##_show(struct device *dev,		\
				    struct device_attribute *attr,	\
				    char *buf)				\
{									\
	struct mypoll_stats st;						\
									\
	mypoll_get_stats(mypoll_from_device(dev), &st);			\
	return sysfs_emit(buf, "%llu\n", (u64)st._field);		\
}									\
static struct device_attribute dev_attr_stat_##_field = {		\
	.attr = { .name = #_field, .mode = 0444 },			\
	.show = stat_##_field##_show,					\
}

MYPOLL_STAT_ATTR(generated);
MYPOLL_STAT_ATTR(queued);
MYPOLL_STAT_ATTR(dropped);
MYPOLL_STAT_ATTR(dropped_full);
MYPOLL_STAT_ATTR(overwritten);
MYPOLL_STAT_ATTR(would_block);
MYPOLL_STAT_ATTR(read);
MYPOLL_STAT_ATTR(manual);
MYPOLL_STAT_ATTR(timer);
MYPOLL_STAT_ATTR(timer_missed);
MYPOLL_STAT_ATTR(write);
MYPOLL_STAT_ATTR(event_sequence);
MYPOLL_STAT_ATTR(queue_depth);
MYPOLL_STAT_ATTR(high_water);
MYPOLL_STAT_ATTR(readers);

/*
 * Parse a number written to a control attribute and apply it with the
 * device lock held. @apply returns 0 or a negative errno.
 */
static ssize_t mypoll_store(struct device *dev, const char *buf,
			    size_t count,
			    int (*apply)(struct mypoll_dev *mdev, u64 val))
{
	struct mypoll_dev *mdev = mypoll_from_device(dev);
	u64 val;
	int ret;

	ret = kstrtou64(buf, 0, &val);
	if (ret)
		return ret;
	mutex_lock(&mdev->lock);
	ret = apply(mdev, val);
	mutex_unlock(&mdev->lock);
	return ret < 0 ? ret : count;
}

/*
 * <name>_store() for an attribute whose value is a number: parse it and
 * apply it with @_apply, as mypoll_store() does.
 */
#define MYPOLL_STORE(_name, _apply)					\
static ssize_t _name##_store(struct device *dev,			\
			     struct device_attribute *attr,		\
			     const char *buf, size_t count)		\
{									\
	return mypoll_store(dev, buf, count, _apply);			\
}

static int mypoll_apply_queue_size(struct mypoll_dev *mdev, u64 val)
{
	/* The same rules as MYPOLL_IOC_SET_QUEUE_SIZE, CAP_SYS_ADMIN's too. */
	return mypoll_set_queue_size(mdev, val);
}

static int mypoll_apply_running(struct mypoll_dev *mdev, u64 val)
{
	lockdep_assert_held(&mdev->lock);
	if (val > 1)
		return -EINVAL;
	if (!val)
		mypoll_timer_stop_locked(mdev);
	else if (!mdev->timer.running)
		return mypoll_timer_start_locked(mdev, mdev->timer.mode,
						 mdev->timer.period_us);
	return 0;
}

static int mypoll_apply_period_ms(struct mypoll_dev *mdev, u64 val)
{
	u64 period_us;

	lockdep_assert_held(&mdev->lock);
	/* The timer checks the range, once the product is exact. */
	if (check_mul_overflow(val, (u64)USEC_PER_MSEC, &period_us))
		return -EINVAL;
	return mypoll_timer_set_period_locked(mdev, period_us);
}

static int mypoll_apply_trigger(struct mypoll_dev *mdev, u64 val)
{
	lockdep_assert_held(&mdev->lock);
	return val > U32_MAX ? -EINVAL : mypoll_trigger(mdev, val);
}

static int mypoll_apply_reset(struct mypoll_dev *mdev, u64 val)
{
	lockdep_assert_held(&mdev->lock);
	if (val != 1)
		return -EINVAL;
	mypoll_reset_stats(mdev);
	return 0;
}

static ssize_t queue_size_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct mypoll_dev *mdev = mypoll_from_device(dev);

	return sysfs_emit(buf, "%u\n", evcore_queue_capacity(mdev->queue));
}

MYPOLL_STORE(queue_size, mypoll_apply_queue_size);
static DEVICE_ATTR_RW(queue_size);

static ssize_t timer_running_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	struct mypoll_dev *mdev = mypoll_from_device(dev);

	return sysfs_emit(buf, "%d\n", READ_ONCE(mdev->timer.running));
}

MYPOLL_STORE(timer_running, mypoll_apply_running);
static DEVICE_ATTR_RW(timer_running);

static ssize_t timer_period_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct mypoll_dev *mdev = mypoll_from_device(dev);
	u32 period_us = READ_ONCE(mdev->timer.period_us);

	return sysfs_emit(buf, "%u\n", period_us / (u32)USEC_PER_MSEC);
}

MYPOLL_STORE(timer_period, mypoll_apply_period_ms);
static DEVICE_ATTR_RW(timer_period);

static ssize_t timer_period_us_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct mypoll_dev *mdev = mypoll_from_device(dev);

	return sysfs_emit(buf, "%u\n", READ_ONCE(mdev->timer.period_us));
}

MYPOLL_STORE(timer_period_us, mypoll_timer_set_period_locked);
static DEVICE_ATTR_RW(timer_period_us);

static ssize_t timer_mode_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct mypoll_dev *mdev = mypoll_from_device(dev);
	u32 mode;

	mutex_lock(&mdev->lock);
	mode = mdev->timer.mode;
	mutex_unlock(&mdev->lock);
	return sysfs_emit(buf, "%s\n", mypoll_timer_mode_name(mode));
}

static ssize_t timer_mode_store(struct device *dev,
				struct device_attribute *attr,
				const char *buf, size_t count)
{
	struct mypoll_dev *mdev = mypoll_from_device(dev);
	int mode;
	int ret;

	mode = mypoll_timer_mode_parse(buf);
	if (mode < 0)
		return mode;

	mutex_lock(&mdev->lock);
	ret = mypoll_timer_set_mode_locked(mdev, mode);
	mutex_unlock(&mdev->lock);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(timer_mode);

static ssize_t overflow_policy_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct mypoll_dev *mdev = mypoll_from_device(dev);

	return sysfs_emit(buf, "%s\n",
			  evcore_policy_name(evcore_queue_policy(mdev->queue)));
}

static ssize_t overflow_policy_store(struct device *dev,
				     struct device_attribute *attr,
				     const char *buf, size_t count)
{
	struct mypoll_dev *mdev = mypoll_from_device(dev);
	int policy;
	int ret;

	policy = evcore_policy_parse(buf);
	if (policy < 0)
		return policy;

	mutex_lock(&mdev->lock);
	ret = evcore_queue_set_policy(mdev->queue, policy);
	mutex_unlock(&mdev->lock);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(overflow_policy);

MYPOLL_STORE(trigger, mypoll_apply_trigger);
static DEVICE_ATTR_WO(trigger);

MYPOLL_STORE(reset, mypoll_apply_reset);
static DEVICE_ATTR_WO(reset);

static struct attribute *mypoll_attrs[] = {
	&dev_attr_stat_queue_depth.attr,
	&dev_attr_queue_size.attr,
	&dev_attr_stat_high_water.attr,
	&dev_attr_timer_running.attr,
	&dev_attr_timer_period.attr,
	&dev_attr_timer_period_us.attr,
	&dev_attr_timer_mode.attr,
	&dev_attr_overflow_policy.attr,
	&dev_attr_stat_readers.attr,
	&dev_attr_stat_event_sequence.attr,
	&dev_attr_trigger.attr,
	NULL
};

static const struct attribute_group mypoll_group = {
	.attrs = mypoll_attrs,
};

static struct attribute *mypoll_stats_attrs[] = {
	&dev_attr_stat_generated.attr,
	&dev_attr_stat_queued.attr,
	&dev_attr_stat_dropped.attr,
	&dev_attr_stat_dropped_full.attr,
	&dev_attr_stat_overwritten.attr,
	&dev_attr_stat_would_block.attr,
	&dev_attr_stat_read.attr,
	&dev_attr_stat_manual.attr,
	&dev_attr_stat_timer.attr,
	&dev_attr_stat_timer_missed.attr,
	&dev_attr_stat_write.attr,
	&dev_attr_reset.attr,
	NULL
};

static const struct attribute_group mypoll_stats_group = {
	.name = "statistics",
	.attrs = mypoll_stats_attrs,
};

const struct attribute_group *mypoll_groups[] = {
	&mypoll_group,
	&mypoll_stats_group,
	NULL
};

/*
 * debugfs: /sys/kernel/debug/mypoll/<name>/status. It is optional: its
 * failures are ignored.
 */

static struct dentry *mypoll_debugfs_root;

static int mypoll_status_show(struct seq_file *m, void *unused)
{
	struct mypoll_dev *mdev = m->private;
	struct mypoll_stats st;
	struct mypoll_timer t;

	mutex_lock(&mdev->lock);
	mypoll_timer_get_locked(mdev, &t);
	mutex_unlock(&mdev->lock);
	mypoll_get_stats(mdev, &st);

	/* The first seven keys, in this order, are the original format. */
	seq_printf(m, "event_sequence=%llu\n", st.event_sequence);
	seq_printf(m, "generated=%llu\n", st.generated);
	seq_printf(m, "dropped=%llu\n", st.dropped);
	seq_printf(m, "manual_triggered=%llu\n", st.manual);
	seq_printf(m, "timer_triggered=%llu\n", st.timer);
	seq_printf(m, "queue_depth=%u\n", st.queue_depth);
	seq_printf(m, "timer_running=%u\n", t.running);
	seq_printf(m, "timer_mode=%s\n", mypoll_timer_mode_name(t.mode));
	seq_printf(m, "timer_period_us=%llu\n", t.period_us);
	seq_printf(m, "timer_missed=%llu\n", st.timer_missed);
	seq_printf(m, "write=%llu\n", st.write);
	seq_printf(m, "queued=%llu\n", st.queued);
	seq_printf(m, "dropped_full=%llu\n", st.dropped_full);
	seq_printf(m, "overwritten=%llu\n", st.overwritten);
	seq_printf(m, "would_block=%llu\n", st.would_block);
	seq_printf(m, "read=%llu\n", st.read);
	seq_printf(m, "queue_size=%u\n", st.queue_size);
	seq_printf(m, "high_water=%u\n", st.high_water);
	seq_printf(m, "readers=%u\n", st.readers);
	seq_printf(m, "overflow_policy=%s\n", evcore_policy_name(st.policy));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(mypoll_status);

/**
 * mypoll_debugfs_init() - create the debugfs directory of the module
 *
 * Context: Module init.
 */
void __init mypoll_debugfs_init(void)
{
	mypoll_debugfs_root = debugfs_create_dir("mypoll", NULL);
}

/**
 * mypoll_debugfs_exit() - remove the debugfs directory of the module
 *
 * Context: Module init (a failed load) or exit.
 */
void mypoll_debugfs_exit(void)
{
	debugfs_remove_recursive(mypoll_debugfs_root);
}

/**
 * mypoll_debugfs_add() - create the debugfs directory of a device
 * @mdev: the device, registered
 *
 * Context: Process context.
 */
void mypoll_debugfs_add(struct mypoll_dev *mdev)
{
	mdev->debugfs_dir = debugfs_create_dir(mdev->name, mypoll_debugfs_root);
	debugfs_create_file("status", 0444, mdev->debugfs_dir, mdev,
			    &mypoll_status_fops);
}

/**
 * mypoll_debugfs_remove() - remove the debugfs directory of a device
 * @mdev: the device
 *
 * Waits for the status readers in progress, so @mdev may be freed after.
 *
 * Context: Process context, may sleep.
 */
void mypoll_debugfs_remove(struct mypoll_dev *mdev)
{
	debugfs_remove_recursive(mdev->debugfs_dir);
}
