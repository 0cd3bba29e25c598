// SPDX-License-Identifier: GPL-2.0
/*
 * mypoll_misc: /dev/mypoll, a pollable event device built on evcore.
 *
 * Each instance is a misc device with one evcore queue and three sources:
 * a periodic timer (delayed_work or hrtimer), a manual trigger and write().
 * Every open file is an evcore reader, so every reader sees every event.
 * Controls are ioctls (include/uapi/linux/mypoll.h) and sysfs attributes;
 * a status dump is in debugfs. Documentation/userspace-api/mypoll.rst
 * describes the interface.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/evcore.h>
#include <linux/evcore_compat.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/lockdep.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>
#include <uapi/linux/mypoll.h>

#include "mypoll.h"

#define MYPOLL_MAX_INSTANCES	8

/* A record is the evcore header followed by the whole payload room. */
static_assert(sizeof(struct mypoll_event) ==
	      sizeof(struct evcore_event) + MYPOLL_PAYLOAD_MAX);
static_assert(MYPOLL_PAYLOAD_MAX % 8 == 0);
static_assert(MYPOLL_PAYLOAD_MAX <= EVCORE_MAX_PAYLOAD);
static_assert(MYPOLL_TRIGGER_MAX <= INT_MAX);
static_assert(MYPOLL_SOURCE_WRITE <= EVCORE_SOURCE_ID_MAX);

/**
 * struct mypoll_file - state of one open file
 * @mdev: the device, referenced until release
 * @reader: this file's evcore reader: its position, filter and watermark
 */
struct mypoll_file {
	struct mypoll_dev *mdev;
	struct evcore_reader *reader;
};

static unsigned int instances = 1;
module_param(instances, uint, 0444);
MODULE_PARM_DESC(instances,
		 "Number of devices, 1 to 8 (default 1: /dev/mypoll; N > 1: /dev/mypoll0..N-1)");

static unsigned int queue_size = 64;
module_param(queue_size, uint, 0444);
MODULE_PARM_DESC(queue_size, "Queue capacity in events, 1 to 65536 (default 64)");

static unsigned int timer_period_ms = 1000;
module_param(timer_period_ms, uint, 0444);
MODULE_PARM_DESC(timer_period_ms, "Timer period in ms, 1 to 3600000 (default 1000)");

static char *timer_mode = "work";
module_param(timer_mode, charp, 0444);
MODULE_PARM_DESC(timer_mode, "Timer mode: \"work\" or \"hrtimer\" (default \"work\")");

static bool timer_start;
module_param(timer_start, bool, 0444);
MODULE_PARM_DESC(timer_start, "Start the timer at load (default false: stopped)");

static char *overflow_policy = "drop-newest";
module_param(overflow_policy, charp, 0444);
MODULE_PARM_DESC(overflow_policy,
		 "Overflow policy: \"drop-newest\", \"drop-oldest\" or \"block\" (default \"drop-newest\")");

static struct mypoll_dev *mypoll_devs[MYPOLL_MAX_INSTANCES];
/*
 * Set once every instance is registered and nothing in mypoll_init() can
 * fail any more; until then open() fails, so a failed load can take the
 * devices down with no file open on them (the module is freed right after).
 */
static bool mypoll_live;
static struct dentry *mypoll_debugfs_root;

static struct mypoll_dev *mypoll_from_device(struct device *dev)
{
	struct miscdevice *misc = dev_get_drvdata(dev);

	return container_of(misc, struct mypoll_dev, misc);
}

/* Controls shared by the ioctls and sysfs */

static int mypoll_errno(int ret)
{
	/* A source or queue that went away means the device did. */
	return ret == -ESHUTDOWN ? -ENODEV : ret;
}

/*
 * Generate @count manual events; returns how many were queued, or an
 * error when the device went away before any was.
 */
static int mypoll_trigger(struct mypoll_dev *mdev, u32 count)
{
	int queued = 0;
	u32 i;
	int ret;

	if (!count || count > MYPOLL_TRIGGER_MAX)
		return -EINVAL;

	for (i = 0; i < count; i++) {
		ret = evcore_push(&mdev->manual_src, 0, 0, NULL, 0);
		if (ret >= 0)
			queued++;
		else if (ret != -ENOSPC)
			return queued ? queued : mypoll_errno(ret);
		if ((i & 1023) == 1023)
			cond_resched();
	}
	return queued;
}

static void mypoll_reset_stats(struct mypoll_dev *mdev)
{
	evcore_queue_reset_stats(mdev->queue);
	atomic64_set(&mdev->timer.missed, 0);
}

static void mypoll_get_stats(struct mypoll_dev *mdev, struct mypoll_stats *st)
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

/* File operations */

static void mypoll_dev_release(struct kref *kref)
{
	struct mypoll_dev *mdev = container_of(kref, struct mypoll_dev, kref);

	mutex_destroy(&mdev->lock);
	kfree(mdev);
}

static int mypoll_open(struct inode *inode, struct file *file)
{
	/*
	 * The misc core points private_data at our miscdevice. It took a
	 * module reference through fops->owner first, so the device cannot be
	 * destroyed under us: instances only go away at module exit.
	 */
	struct mypoll_dev *mdev = container_of(file->private_data,
					       struct mypoll_dev, misc);
	struct mypoll_file *mf;
	int ret;

	/* Pairs with the release in mypoll_init(): the devices are complete. */
	if (!smp_load_acquire(&mypoll_live))
		return -ENODEV;
	mf = kzalloc(sizeof(*mf), GFP_KERNEL);
	if (!mf)
		return -ENOMEM;

	mf->reader = evcore_reader_open(mdev->queue);
	if (IS_ERR(mf->reader)) {
		ret = mypoll_errno(PTR_ERR(mf->reader));
		goto err_free;
	}

	ret = stream_open(inode, file);
	if (ret)
		goto err_release;
	/* A file that cannot read wants no event, so it holds none. */
	if (!(file->f_mode & FMODE_READ))
		evcore_reader_set_filter(mf->reader, 0);

	kref_get(&mdev->kref);
	mf->mdev = mdev;
	file->private_data = mf;
	return 0;

err_release:
	evcore_reader_release(mf->reader);
err_free:
	kfree(mf);
	return ret;
}

static int mypoll_release(struct inode *inode, struct file *file)
{
	struct mypoll_file *mf = file->private_data;

	evcore_reader_release(mf->reader);
	kref_put(&mf->mdev->kref, mypoll_dev_release);
	kfree(mf);
	return 0;
}

static ssize_t mypoll_read(struct file *file, char __user *buf, size_t count,
			   loff_t *ppos)
{
	struct mypoll_file *mf = file->private_data;

	return evcore_read(mf->reader, buf, count, file->f_flags & O_NONBLOCK);
}

static ssize_t mypoll_write(struct file *file, const char __user *buf,
			    size_t count, loff_t *ppos)
{
	struct mypoll_file *mf = file->private_data;
	u8 payload[MYPOLL_PAYLOAD_MAX];
	int ret;

	if (count > MYPOLL_PAYLOAD_MAX)
		return -EMSGSIZE;
	if (!count)
		return 0;
	/* Fault the bytes in before evcore takes any lock. */
	if (copy_from_user(payload, buf, count))
		return -EFAULT;

	ret = evcore_push_wait(&mf->mdev->write_src, 0, 0, payload, count,
			       file->f_flags & O_NONBLOCK);
	if (ret < 0)
		return mypoll_errno(ret);
	return count;
}

static __poll_t mypoll_poll(struct file *file, poll_table *wait)
{
	struct mypoll_file *mf = file->private_data;

	return evcore_poll(mf->reader, file, wait);
}

static int mypoll_fasync(int fd, struct file *file, int on)
{
	struct mypoll_file *mf = file->private_data;

	return evcore_fasync(mf->reader, fd, file, on);
}

static void mypoll_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct mypoll_file *mf = file->private_data;

	seq_printf(m, "mypoll-device:\t%s\n", mf->mdev->name);
	seq_printf(m, "mypoll-control:\t%d\n", !!(file->f_mode & FMODE_WRITE));
	evcore_reader_show_fdinfo(mf->reader, m);
}

/* ioctls */

static long mypoll_ioctl_timer_start(struct mypoll_dev *mdev,
				     void __user *argp)
{
	struct mypoll_timer t;

	if (copy_from_user(&t, argp, sizeof(t)))
		return -EFAULT;
	if (t.running)
		return -EINVAL;
	return mypoll_timer_start_locked(mdev, t.mode, t.period_us);
}

static long mypoll_ioctl_u32_arg(void __user *argp, u32 *val)
{
	return get_user(*val, (u32 __user *)argp) ? -EFAULT : 0;
}

/* Device-wide controls: the caller checked FMODE_WRITE and holds the lock. */
static long mypoll_ioctl_control(struct mypoll_dev *mdev, unsigned int cmd,
				 void __user *argp)
{
	long ret;
	u32 val;

	lockdep_assert_held(&mdev->lock);

	switch (cmd) {
	case MYPOLL_IOC_TIMER_START:
		return mypoll_ioctl_timer_start(mdev, argp);
	case MYPOLL_IOC_TIMER_STOP:
		mypoll_timer_stop_locked(mdev);
		return 0;
	case MYPOLL_IOC_RESET_STATS:
		mypoll_reset_stats(mdev);
		return 0;
	}

	ret = mypoll_ioctl_u32_arg(argp, &val);
	if (ret)
		return ret;

	switch (cmd) {
	case MYPOLL_IOC_TRIGGER:
		return mypoll_trigger(mdev, val);
	case MYPOLL_IOC_SET_POLICY:
		/* evcore refuses an unknown policy with -EINVAL. */
		return evcore_queue_set_policy(mdev->queue, val);
	case MYPOLL_IOC_SET_QUEUE_SIZE:
		/* evcore's -EINVAL (out of range), -EBUSY or -ENOMEM. */
		return evcore_queue_resize(mdev->queue, val);
	}
	return -ENOTTY;
}

/* Device-wide queries, any open file; the caller holds the lock. */
static long mypoll_ioctl_query(struct mypoll_dev *mdev, unsigned int cmd,
			       void __user *argp)
{
	struct mypoll_timer t = { };
	struct mypoll_stats st;

	lockdep_assert_held(&mdev->lock);

	switch (cmd) {
	case MYPOLL_IOC_TIMER_GET:
		t.mode = mdev->timer.mode;
		t.running = mdev->timer.running;
		t.period_us = mdev->timer.period_us;
		return copy_to_user(argp, &t, sizeof(t)) ? -EFAULT : 0;
	case MYPOLL_IOC_GET_STATS:
		mypoll_get_stats(mdev, &st);
		return copy_to_user(argp, &st, sizeof(st)) ? -EFAULT : 0;
	case MYPOLL_IOC_GET_POLICY:
		return put_user(evcore_queue_policy(mdev->queue),
				(u32 __user *)argp);
	case MYPOLL_IOC_GET_QUEUE_SIZE:
		return put_user(evcore_queue_capacity(mdev->queue),
				(u32 __user *)argp);
	}
	return -ENOTTY;
}

/* Controls of this open file only. */
static long mypoll_ioctl_reader(struct file *file, unsigned int cmd,
				void __user *argp)
{
	struct mypoll_file *mf = file->private_data;
	struct mypoll_reader_info info = { };
	struct evcore_reader_stats rs;
	u64 filter;
	u32 wm;

	switch (cmd) {
	case MYPOLL_IOC_GET_READER:
		evcore_reader_get_stats(mf->reader, &rs);
		info.position = rs.position;
		info.lag = rs.lag;
		info.read = rs.read;
		info.lost = rs.lost;
		info.filter = rs.filter;
		info.watermark = rs.watermark;
		return copy_to_user(argp, &info, sizeof(info)) ? -EFAULT : 0;
	case MYPOLL_IOC_SET_FILTER:
		if (get_user(filter, (u64 __user *)argp))
			return -EFAULT;
		if (filter & ~MYPOLL_SOURCES_ALL)
			return -EINVAL;
		/* A file that cannot read must not hold events. */
		if (!(file->f_mode & FMODE_READ))
			return -EBADF;
		evcore_reader_set_filter(mf->reader, filter);
		return 0;
	case MYPOLL_IOC_SET_WATERMARK:
		if (get_user(wm, (u32 __user *)argp))
			return -EFAULT;
		/* evcore checks it against the capacity, under its lock. */
		return mypoll_errno(evcore_reader_set_watermark(mf->reader,
								wm));
	}
	return -ENOTTY;
}

static long mypoll_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct mypoll_file *mf = file->private_data;
	struct mypoll_dev *mdev = mf->mdev;
	void __user *argp = (void __user *)arg;
	bool control;
	long ret;

	switch (cmd) {
	case MYPOLL_IOC_TIMER_START:
	case MYPOLL_IOC_TIMER_STOP:
	case MYPOLL_IOC_TRIGGER:
	case MYPOLL_IOC_RESET_STATS:
	case MYPOLL_IOC_SET_POLICY:
	case MYPOLL_IOC_SET_QUEUE_SIZE:
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		control = true;
		break;
	case MYPOLL_IOC_TIMER_GET:
	case MYPOLL_IOC_GET_STATS:
	case MYPOLL_IOC_GET_POLICY:
	case MYPOLL_IOC_GET_QUEUE_SIZE:
		control = false;
		break;
	default:
		return mypoll_ioctl_reader(file, cmd, argp);
	}

	mutex_lock(&mdev->lock);
	if (mdev->dead)
		ret = -ENODEV;
	else if (control)
		ret = mypoll_ioctl_control(mdev, cmd, argp);
	else
		ret = mypoll_ioctl_query(mdev, cmd, argp);
	mutex_unlock(&mdev->lock);
	return ret;
}

static const struct file_operations mypoll_fops = {
	.owner		= THIS_MODULE,
	.open		= mypoll_open,
	.release	= mypoll_release,
	.read		= mypoll_read,
	.write		= mypoll_write,
	.poll		= mypoll_poll,
	.fasync		= mypoll_fasync,
	.unlocked_ioctl	= mypoll_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.show_fdinfo	= mypoll_show_fdinfo,
};

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

static int mypoll_apply_queue_size(struct mypoll_dev *mdev, u64 val)
{
	lockdep_assert_held(&mdev->lock);
	/* evcore checks the range, once the value fits its argument. */
	return val > U32_MAX ? -EINVAL : evcore_queue_resize(mdev->queue, val);
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

static ssize_t queue_size_store(struct device *dev,
				struct device_attribute *attr,
				const char *buf, size_t count)
{
	return mypoll_store(dev, buf, count, mypoll_apply_queue_size);
}
static DEVICE_ATTR_RW(queue_size);

static ssize_t timer_running_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	struct mypoll_dev *mdev = mypoll_from_device(dev);

	return sysfs_emit(buf, "%d\n", READ_ONCE(mdev->timer.running));
}

static ssize_t timer_running_store(struct device *dev,
				   struct device_attribute *attr,
				   const char *buf, size_t count)
{
	return mypoll_store(dev, buf, count, mypoll_apply_running);
}
static DEVICE_ATTR_RW(timer_running);

static ssize_t timer_period_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	struct mypoll_dev *mdev = mypoll_from_device(dev);
	u32 period_us = READ_ONCE(mdev->timer.period_us);

	return sysfs_emit(buf, "%u\n", period_us / (u32)USEC_PER_MSEC);
}

static ssize_t timer_period_store(struct device *dev,
				  struct device_attribute *attr,
				  const char *buf, size_t count)
{
	return mypoll_store(dev, buf, count, mypoll_apply_period_ms);
}
static DEVICE_ATTR_RW(timer_period);

static ssize_t timer_period_us_show(struct device *dev,
				    struct device_attribute *attr, char *buf)
{
	struct mypoll_dev *mdev = mypoll_from_device(dev);

	return sysfs_emit(buf, "%u\n", READ_ONCE(mdev->timer.period_us));
}

static ssize_t timer_period_us_store(struct device *dev,
				     struct device_attribute *attr,
				     const char *buf, size_t count)
{
	return mypoll_store(dev, buf, count, mypoll_timer_set_period_locked);
}
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

static ssize_t trigger_store(struct device *dev, struct device_attribute *attr,
			     const char *buf, size_t count)
{
	return mypoll_store(dev, buf, count, mypoll_apply_trigger);
}
static DEVICE_ATTR_WO(trigger);

static ssize_t reset_store(struct device *dev, struct device_attribute *attr,
			   const char *buf, size_t count)
{
	return mypoll_store(dev, buf, count, mypoll_apply_reset);
}
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

static const struct attribute_group *mypoll_groups[] = {
	&mypoll_group,
	&mypoll_stats_group,
	NULL
};

/* debugfs: /sys/kernel/debug/mypoll/<name>/status */

static int mypoll_status_show(struct seq_file *m, void *unused)
{
	struct mypoll_dev *mdev = m->private;
	struct mypoll_stats st;
	u64 period_us;
	bool running;
	u32 mode;

	mutex_lock(&mdev->lock);
	running = mdev->timer.running;
	mode = mdev->timer.mode;
	period_us = mdev->timer.period_us;
	mutex_unlock(&mdev->lock);
	mypoll_get_stats(mdev, &st);

	/* The first seven keys, in this order, are the original format. */
	seq_printf(m, "event_sequence=%llu\n", st.event_sequence);
	seq_printf(m, "generated=%llu\n", st.generated);
	seq_printf(m, "dropped=%llu\n", st.dropped);
	seq_printf(m, "manual_triggered=%llu\n", st.manual);
	seq_printf(m, "timer_triggered=%llu\n", st.timer);
	seq_printf(m, "queue_depth=%u\n", st.queue_depth);
	seq_printf(m, "timer_running=%d\n", running);
	seq_printf(m, "timer_mode=%s\n", mypoll_timer_mode_name(mode));
	seq_printf(m, "timer_period_us=%llu\n", period_us);
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

/* Instances */

static void mypoll_dev_destroy(struct mypoll_dev *mdev)
{
	/* No new opens, no sysfs access once this returns. */
	misc_deregister(&mdev->misc);
	debugfs_remove_recursive(mdev->debugfs_dir);

	mutex_lock(&mdev->lock);
	mdev->dead = true;
	mypoll_timer_stop_locked(mdev);
	mutex_unlock(&mdev->lock);

	evcore_source_unregister(&mdev->write_src);
	evcore_source_unregister(&mdev->manual_src);
	evcore_source_unregister(&mdev->timer_src);
	/* Sleepers wake with EPOLLHUP | EPOLLERR; reads fail with ENODEV. */
	evcore_queue_shutdown(mdev->queue);
	evcore_queue_put(mdev->queue);
	/* Files still open keep the device until they are released. */
	kref_put(&mdev->kref, mypoll_dev_release);
}

static struct mypoll_dev *mypoll_dev_create(unsigned int index, u32 policy,
					    u32 mode)
{
	struct evcore_config cfg = {
		.capacity = queue_size,
		.payload_size = MYPOLL_PAYLOAD_MAX,
		.policy = policy,
		.clock = CLOCK_MONOTONIC,
	};
	struct mypoll_dev *mdev;
	int ret;

	mdev = kzalloc(sizeof(*mdev), GFP_KERNEL);
	if (!mdev)
		return ERR_PTR(-ENOMEM);

	/* From here on mypoll_dev_release() frees it, whatever fails. */
	kref_init(&mdev->kref);
	mutex_init(&mdev->lock);
	mypoll_timer_init(mdev, mode, timer_period_ms * USEC_PER_MSEC);
	if (instances == 1)
		strscpy(mdev->name, "mypoll", sizeof(mdev->name));
	else
		snprintf(mdev->name, sizeof(mdev->name), "mypoll%u", index);

	cfg.name = mdev->name;
	mdev->queue = evcore_queue_create(&cfg);
	if (IS_ERR(mdev->queue)) {
		ret = PTR_ERR(mdev->queue);
		pr_err("%s: cannot create the event queue: %d\n",
		       mdev->name, ret);
		goto err_free;
	}
	if (WARN_ON(evcore_record_size(mdev->queue) !=
		    sizeof(struct mypoll_event))) {
		ret = -EINVAL;
		goto err_put_queue;
	}

	ret = evcore_source_register(mdev->queue, &mdev->timer_src, "timer",
				     MYPOLL_SOURCE_TIMER);
	if (ret)
		goto err_put_queue;
	ret = evcore_source_register(mdev->queue, &mdev->manual_src, "manual",
				     MYPOLL_SOURCE_MANUAL);
	if (ret)
		goto err_unregister_timer;
	ret = evcore_source_register(mdev->queue, &mdev->write_src, "write",
				     MYPOLL_SOURCE_WRITE);
	if (ret)
		goto err_unregister_manual;

	mdev->misc.minor = MISC_DYNAMIC_MINOR;
	mdev->misc.name = mdev->name;
	mdev->misc.fops = &mypoll_fops;
	mdev->misc.groups = mypoll_groups;
	mdev->misc.mode = 0600;
	ret = misc_register(&mdev->misc);
	if (ret) {
		pr_err("%s: cannot register the misc device: %d\n",
		       mdev->name, ret);
		goto err_unregister_write;
	}

	/* debugfs is optional: its failures are ignored. */
	mdev->debugfs_dir = debugfs_create_dir(mdev->name, mypoll_debugfs_root);
	debugfs_create_file("status", 0444, mdev->debugfs_dir, mdev,
			    &mypoll_status_fops);

	if (timer_start) {
		mutex_lock(&mdev->lock);
		ret = mypoll_timer_start_locked(mdev, mode,
						mdev->timer.period_us);
		mutex_unlock(&mdev->lock);
		if (ret) {
			/* Registered: sysfs users may hold it, take it down whole. */
			mypoll_dev_destroy(mdev);
			return ERR_PTR(ret);
		}
	}

	dev_info(mypoll_to_device(mdev),
		 "%u events, %s, timer %s %u us%s\n", queue_size,
		 evcore_policy_name(policy), mypoll_timer_mode_name(mode),
		 mdev->timer.period_us, timer_start ? ", running" : "");
	return mdev;

err_unregister_write:
	evcore_source_unregister(&mdev->write_src);
err_unregister_manual:
	evcore_source_unregister(&mdev->manual_src);
err_unregister_timer:
	evcore_source_unregister(&mdev->timer_src);
err_put_queue:
	evcore_queue_shutdown(mdev->queue);
	evcore_queue_put(mdev->queue);
err_free:
	kref_put(&mdev->kref, mypoll_dev_release);
	return ERR_PTR(ret);
}

/* Module */

static int __init mypoll_check_params(u32 *policy, u32 *mode)
{
	int ret;

	if (!instances || instances > MYPOLL_MAX_INSTANCES) {
		pr_err("instances=%u: must be 1 to %d\n", instances,
		       MYPOLL_MAX_INSTANCES);
		return -EINVAL;
	}
	if (!queue_size || queue_size > EVCORE_MAX_CAPACITY) {
		pr_err("queue_size=%u: must be 1 to %d\n", queue_size,
		       EVCORE_MAX_CAPACITY);
		return -EINVAL;
	}
	if (!timer_period_ms ||
	    timer_period_ms > MYPOLL_PERIOD_US_MAX / USEC_PER_MSEC) {
		pr_err("timer_period_ms=%u: must be 1 to %llu\n",
		       timer_period_ms, MYPOLL_PERIOD_US_MAX / USEC_PER_MSEC);
		return -EINVAL;
	}

	ret = timer_mode ? mypoll_timer_mode_parse(timer_mode) :
			   -EINVAL;
	if (ret < 0) {
		pr_err("timer_mode=%s: must be \"work\" or \"hrtimer\"\n",
		       timer_mode ?: "");
		return -EINVAL;
	}
	*mode = ret;

	ret = overflow_policy ? evcore_policy_parse(overflow_policy) : -EINVAL;
	if (ret < 0) {
		pr_err("overflow_policy=%s: must be \"drop-newest\", \"drop-oldest\" or \"block\"\n",
		       overflow_policy ?: "");
		return -EINVAL;
	}
	*policy = ret;
	return 0;
}

static int __init mypoll_init(void)
{
	struct mypoll_dev *mdev;
	unsigned int i;
	u32 policy;
	u32 mode;
	int ret;

	ret = mypoll_check_params(&policy, &mode);
	if (ret)
		return ret;

	/* debugfs is optional: its failures are ignored. */
	mypoll_debugfs_root = debugfs_create_dir("mypoll", NULL);

	for (i = 0; i < instances; i++) {
		mdev = mypoll_dev_create(i, policy, mode);
		if (IS_ERR(mdev)) {
			ret = PTR_ERR(mdev);
			goto err_destroy;
		}
		mypoll_devs[i] = mdev;
	}
	/* Pairs with the acquire in mypoll_open(). */
	smp_store_release(&mypoll_live, true);
	return 0;

err_destroy:
	while (i--) {
		mypoll_dev_destroy(mypoll_devs[i]);
		mypoll_devs[i] = NULL;
	}
	debugfs_remove_recursive(mypoll_debugfs_root);
	return ret;
}
module_init(mypoll_init);

static void __exit mypoll_exit(void)
{
	unsigned int i = instances;

	while (i--) {
		mypoll_dev_destroy(mypoll_devs[i]);
		mypoll_devs[i] = NULL;
	}
	debugfs_remove_recursive(mypoll_debugfs_root);
}
module_exit(mypoll_exit);

MODULE_IMPORT_NS(EVCORE_NS);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Pollable event device with timer, trigger and write sources");
MODULE_AUTHOR("evcore developers");
