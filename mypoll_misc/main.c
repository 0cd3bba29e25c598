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
 *
 * This file holds the module parameters, the file operations and ioctls,
 * and the instances' lifetime; the controls the ioctls share with sysfs
 * (and queue_size_limit) are in control.c, the timer in timer.c, sysfs and
 * debugfs in sysfs.c, the state they share in mypoll.h.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/build_bug.h>
#include <linux/capability.h>
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
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
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
	mf = kzalloc(sizeof(*mf), GFP_KERNEL_ACCOUNT);
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

/*
 * Device-wide controls; the caller checked FMODE_WRITE. The argument is
 * read before the device's lock is taken: a copy that faults (on a page
 * userfaultfd or FUSE serves) must not hold up every other user.
 */
static long mypoll_ioctl_control(struct mypoll_dev *mdev, unsigned int cmd,
				 void __user *argp)
{
	struct mypoll_timer t;
	u32 val = 0;
	long ret;

	switch (cmd) {
	case MYPOLL_IOC_TIMER_START:
		if (copy_from_user(&t, argp, sizeof(t)))
			return -EFAULT;
		if (t.running)
			return -EINVAL;
		break;
	case MYPOLL_IOC_TIMER_STOP:
	case MYPOLL_IOC_RESET_STATS:
		break;
	default:
		if (get_user(val, (u32 __user *)argp))
			return -EFAULT;
	}

	mutex_lock(&mdev->lock);
	if (mdev->dead) {
		ret = -ENODEV;
		goto out_unlock;
	}
	switch (cmd) {
	case MYPOLL_IOC_TIMER_START:
		ret = mypoll_timer_start_locked(mdev, t.mode, t.period_us);
		break;
	case MYPOLL_IOC_TIMER_STOP:
		mypoll_timer_stop_locked(mdev);
		ret = 0;
		break;
	case MYPOLL_IOC_RESET_STATS:
		mypoll_reset_stats(mdev);
		ret = 0;
		break;
	case MYPOLL_IOC_TRIGGER:
		ret = mypoll_trigger(mdev, val);
		break;
	case MYPOLL_IOC_SET_POLICY:
		/* evcore refuses an unknown policy with -EINVAL. */
		ret = evcore_queue_set_policy(mdev->queue, val);
		break;
	default:
		ret = mypoll_set_queue_size(mdev, val);
		break;
	}
out_unlock:
	mutex_unlock(&mdev->lock);
	return ret;
}

/*
 * Device-wide queries, any open file: the answer is gathered under the
 * device's lock and copied out after it is dropped, for the same reason.
 */
static long mypoll_ioctl_query(struct mypoll_dev *mdev, unsigned int cmd,
			       void __user *argp)
{
	union {
		struct mypoll_info info;
		struct mypoll_timer t;
		struct mypoll_stats st;
		u32 val;
	} u;
	size_t len;

	mutex_lock(&mdev->lock);
	if (mdev->dead) {
		mutex_unlock(&mdev->lock);
		return -ENODEV;
	}
	switch (cmd) {
	case MYPOLL_IOC_TIMER_GET:
		mypoll_timer_get_locked(mdev, &u.t);
		len = sizeof(u.t);
		break;
	case MYPOLL_IOC_GET_STATS:
		mypoll_get_stats(mdev, &u.st);
		len = sizeof(u.st);
		break;
	case MYPOLL_IOC_GET_POLICY:
		u.val = evcore_queue_policy(mdev->queue);
		len = sizeof(u.val);
		break;
	case MYPOLL_IOC_GET_QUEUE_SIZE:
		u.val = evcore_queue_capacity(mdev->queue);
		len = sizeof(u.val);
		break;
	default:
		mypoll_get_info(mdev, &u.info);
		len = sizeof(u.info);
		break;
	}
	mutex_unlock(&mdev->lock);

	return copy_to_user(argp, &u, len) ? -EFAULT : 0;
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
		/*
		 * A file that cannot read must not hold events. As read()
		 * does, it fails whatever the argument, before reading it.
		 */
		if (!(file->f_mode & FMODE_READ))
			return -EBADF;
		if (get_user(filter, (u64 __user *)argp))
			return -EFAULT;
		if (filter & ~MYPOLL_SOURCES_ALL)
			return -EINVAL;
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

	switch (cmd) {
	case MYPOLL_IOC_TIMER_START:
	case MYPOLL_IOC_TIMER_STOP:
	case MYPOLL_IOC_TRIGGER:
	case MYPOLL_IOC_RESET_STATS:
	case MYPOLL_IOC_SET_POLICY:
	case MYPOLL_IOC_SET_QUEUE_SIZE:
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return mypoll_ioctl_control(mdev, cmd, argp);
	case MYPOLL_IOC_TIMER_GET:
	case MYPOLL_IOC_GET_STATS:
	case MYPOLL_IOC_GET_POLICY:
	case MYPOLL_IOC_GET_QUEUE_SIZE:
	case MYPOLL_IOC_GET_INFO:
		return mypoll_ioctl_query(mdev, cmd, argp);
	}
	return mypoll_ioctl_reader(file, cmd, argp);
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

/* Instances */

static void mypoll_dev_destroy(struct mypoll_dev *mdev)
{
	/* No new opens, no sysfs access once this returns. */
	misc_deregister(&mdev->misc);
	mypoll_debugfs_remove(mdev);

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

	mypoll_debugfs_add(mdev);

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
		 READ_ONCE(mdev->timer.period_us),
		 timer_start ? ", running" : "");
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

/* Undo mypoll_init() with @count instances created: the newest go first. */
static void mypoll_destroy_instances(unsigned int count)
{
	while (count--) {
		mypoll_dev_destroy(mypoll_devs[count]);
		mypoll_devs[count] = NULL;
	}
	mypoll_debugfs_exit();
}

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

	ret = timer_mode ? mypoll_timer_mode_parse(timer_mode) : -EINVAL;
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

	mypoll_debugfs_init();

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
	mypoll_destroy_instances(i);
	return ret;
}
module_init(mypoll_init);

static void __exit mypoll_exit(void)
{
	mypoll_destroy_instances(instances);
}
module_exit(mypoll_exit);

MODULE_IMPORT_NS_EVCORE();
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Pollable event device with timer, trigger and write sources");
MODULE_AUTHOR("evcore developers");
MODULE_VERSION(EVCORE_VERSION);
