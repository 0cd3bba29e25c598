/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mypoll_misc's private header: the state of one device, shared by main.c
 * (file operations, ioctls, instances, module), timer.c (the periodic
 * timer) and sysfs.c (sysfs and debugfs), with the rules for locking it,
 * and the functions each of them provides to the others.
 */
#ifndef _MYPOLL_MISC_MYPOLL_H
#define _MYPOLL_MISC_MYPOLL_H

#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/evcore.h>
#include <linux/hrtimer.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/workqueue.h>

struct attribute_group;
struct dentry;
struct mypoll_info;
struct mypoll_stats;
struct mypoll_timer;

/* "mypoll" followed by any unsigned int, and the NUL. */
#define MYPOLL_NAME_LEN		(sizeof("mypoll") + 10)

/**
 * struct mypoll_timer_state - the periodic timer of one device
 * @mode: %MYPOLL_TIMER_WORK or %MYPOLL_TIMER_HRTIMER; under
 *	&mypoll_dev.lock
 * @running: the timer is armed; written under &mypoll_dev.lock with
 *	WRITE_ONCE(), read under it or locklessly (sysfs)
 * @period_us: period in microseconds; a change applies when the timer next
 *	re-arms. Written under &mypoll_dev.lock with WRITE_ONCE(), read under
 *	it or locklessly (by the timer callbacks, and by sysfs), which is why
 *	it is 32 bits wide: a 64-bit load can tear on a 32-bit CPU
 * @work: the timer in work mode
 * @work_expires: CLOCK_MONOTONIC time (ns) of the work timer's next
 *	expiry; only the work function and the arming code (timer stopped,
 *	&mypoll_dev.lock held) touch it
 * @hrtimer: the timer in hrtimer mode
 * @carry: missed periods not yet reported in a queued timer event; only
 *	the timer callback touches it (one runs at a time: the timer is
 *	re-armed from its own callback and cancelled synchronously) and
 *	the arming code, which clears it (timer stopped, &mypoll_dev.lock
 *	held)
 * @missed: timer periods that expired without their own event, since load
 *	or the last statistics reset; atomic, no lock
 *
 * The timer is armed and cancelled only with &mypoll_dev.lock held.
 */
struct mypoll_timer_state {
	u32 mode;
	bool running;
	u32 period_us;
	struct delayed_work work;
	u64 work_expires;
	struct hrtimer hrtimer;
	u64 carry;
	atomic64_t missed;
};

/**
 * struct mypoll_dev - one mypoll instance
 * @misc: the misc device; its drvdata and file->private_data at open lead
 *	back here through container_of(); set before registration, constant
 *	after
 * @kref: one reference for the registered device and one per open file, so
 *	a file closed after removal still finds the sources and the name
 * @name: device name, "mypoll" or "mypollN"; constant
 * @queue: the evcore queue, which has its own locking; the device holds one
 *	reference until removal, each reader holds its own
 * @timer_src: source of timer events, id %MYPOLL_SOURCE_TIMER
 * @manual_src: source of triggered events, id %MYPOLL_SOURCE_MANUAL
 * @write_src: source of write() events, id %MYPOLL_SOURCE_WRITE
 * @lock: protects @dead and the configuration in @timer (its @mode,
 *	@running and @period_us), and is held while the timer is armed or
 *	cancelled and while a device-wide control (ioctl or sysfs store) runs,
 *	so controls never see a half-applied configuration
 * @dead: the device is being removed; controls fail with -ENODEV
 * @timer: the periodic timer; &struct mypoll_timer_state says which of its
 *	fields @lock protects and which are read without it
 * @debugfs_dir: this device's debugfs directory; constant
 */
struct mypoll_dev {
	struct miscdevice misc;
	struct kref kref;
	char name[MYPOLL_NAME_LEN];
	struct evcore_queue *queue;
	struct evcore_source timer_src;
	struct evcore_source manual_src;
	struct evcore_source write_src;

	struct mutex lock; /* @dead, @timer's configuration, the controls */
	bool dead;
	struct mypoll_timer_state timer;

	struct dentry *debugfs_dir;
};

/**
 * struct mypoll_file - state of one open file, its file->private_data
 * @mdev: the device, referenced (&mypoll_dev.kref) until release
 * @reader: this file's evcore reader: its position, filter and watermark;
 *	evcore locks it
 *
 * Set at open and constant until release, so it needs no lock of its own.
 */
struct mypoll_file {
	struct mypoll_dev *mdev;
	struct evcore_reader *reader;
};

static inline struct device *mypoll_to_device(struct mypoll_dev *mdev)
{
	return mdev->misc.this_device;
}

/* A source or queue that went away means the device did. */
static inline int mypoll_errno(int ret)
{
	return ret == -ESHUTDOWN ? -ENODEV : ret;
}

/* control.c: the controls the ioctls and sysfs share. */
int mypoll_trigger(struct mypoll_dev *mdev, u32 count);
int mypoll_set_queue_size(struct mypoll_dev *mdev, u64 size);
void mypoll_get_info(struct mypoll_dev *mdev, struct mypoll_info *info);
void mypoll_reset_stats(struct mypoll_dev *mdev);
void mypoll_get_stats(struct mypoll_dev *mdev, struct mypoll_stats *st);

/* sysfs.c: the attribute groups of every device, and debugfs. */
extern const struct attribute_group *mypoll_groups[];
void mypoll_debugfs_init(void);
void mypoll_debugfs_exit(void);
void mypoll_debugfs_add(struct mypoll_dev *mdev);
void mypoll_debugfs_remove(struct mypoll_dev *mdev);

/* timer.c; the _locked functions want &mypoll_dev.lock held. */
const char *mypoll_timer_mode_name(u32 mode);
int mypoll_timer_mode_parse(const char *buf);
void mypoll_timer_init(struct mypoll_dev *mdev, u32 mode, u32 period_us);
int mypoll_timer_start_locked(struct mypoll_dev *mdev, u32 mode,
			      u64 period_us);
void mypoll_timer_stop_locked(struct mypoll_dev *mdev);
void mypoll_timer_get_locked(struct mypoll_dev *mdev, struct mypoll_timer *t);
int mypoll_timer_set_period_locked(struct mypoll_dev *mdev, u64 period_us);
int mypoll_timer_set_mode_locked(struct mypoll_dev *mdev, u32 mode);

#endif /* _MYPOLL_MISC_MYPOLL_H */
