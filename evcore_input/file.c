// SPDX-License-Identifier: GPL-2.0
/*
 * evcore_input: the character device of a bound input device (open, read,
 * poll, ioctls, fdinfo) and its sysfs attributes, all on evcore's reader
 * helpers.
 * See Documentation/userspace-api/evcore-input.rst.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/compat.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sysfs.h>
#include <linux/uaccess.h>

#include "evcore_input.h"

/* Event types a reader may ask for: EV_SYN to EV_MAX. */
#define ECI_TYPES_ALL	GENMASK_ULL(EV_MAX, 0)

/**
 * struct eci_file - one open file of a node
 * @ed: the device, referenced
 * @r: its evcore reader
 */
struct eci_file {
	struct eci_dev *ed;
	struct evcore_reader *r;
};

static int eci_open(struct inode *inode, struct file *file)
{
	struct eci_dev *ed = container_of(inode->i_cdev, struct eci_dev, cdev);
	struct eci_file *f;
	int ret;

	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	f->ed = ed;
	mutex_lock(&ed->mutex);
	if (!ed->exist) {
		ret = -ENODEV;
		goto err_unlock;
	}
	/* Only what comes after the open, as an evdev client. */
	f->r = evcore_reader_open_new(ed->q);
	if (IS_ERR(f->r)) {
		ret = PTR_ERR(f->r);
		goto err_unlock;
	}
	if (!ed->open) {
		ret = input_open_device(&ed->conn->handle);
		if (ret)
			goto err_reader;
	}
	ed->open++;
	get_device(&ed->dev);
	mutex_unlock(&ed->mutex);
	file->private_data = f;
	return stream_open(inode, file);

err_reader:
	evcore_reader_release(f->r);
err_unlock:
	mutex_unlock(&ed->mutex);
	kfree(f);
	return ret;
}

static int eci_release(struct inode *inode, struct file *file)
{
	struct eci_file *f = file->private_data;
	struct eci_dev *ed = f->ed;

	evcore_reader_release(f->r);
	mutex_lock(&ed->mutex);
	/* After an unbind the input device is closed already. */
	if (!--ed->open && ed->exist)
		input_close_device(&ed->conn->handle);
	mutex_unlock(&ed->mutex);
	put_device(&ed->dev);
	kfree(f);
	return 0;
}

static ssize_t eci_read(struct file *file, char __user *buf, size_t count,
			loff_t *ppos)
{
	struct eci_file *f = file->private_data;

	return evcore_read(f->r, buf, count, file->f_flags & O_NONBLOCK);
}

static __poll_t eci_poll(struct file *file, poll_table *wait)
{
	struct eci_file *f = file->private_data;

	/* Nothing is written here: EPOLLOUT means nothing. */
	return evcore_poll(f->r, file, wait) & ~(EPOLLOUT | EPOLLWRNORM);
}

static int eci_fasync(int fd, struct file *file, int on)
{
	struct eci_file *f = file->private_data;

	return evcore_fasync(f->r, fd, file, on);
}

static void eci_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct eci_file *f = file->private_data;
	struct evcore_reader_stats st;

	evcore_reader_show_fdinfo(f->r, m);
	evcore_reader_get_stats(f->r, &st);
	seq_printf(m, "evcore-input-types:\t%#llx\n",
		   (st.filter >> 1) & ECI_TYPES_ALL);
}

/*
 * The input device is looked at only while it is bound: the node's device
 * holds no reference on its parent once deleted, and the input device may
 * be freed while files stay open. After that, ENODEV as from evdev.
 */
static long eci_get_info(struct eci_dev *ed, void __user *arg)
{
	struct evcore_input_info info = {
		.record_size = evcore_record_size(ed->q),
		.capacity = evcore_queue_capacity(ed->q),
		.max_frame = ed->max_frame,
	};
	struct input_dev *idev;

	mutex_lock(&ed->mutex);
	if (!ed->exist) {
		mutex_unlock(&ed->mutex);
		return -ENODEV;
	}
	idev = ed->conn->handle.dev;
	/* Now: eventN numbers change when evdev is loaded again. */
	info.event_number = eci_event_number(idev);
	info.bustype = idev->id.bustype;
	info.vendor = idev->id.vendor;
	info.product = idev->id.product;
	info.version = idev->id.version;
	mutex_unlock(&ed->mutex);

	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long eci_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct eci_file *f = file->private_data;
	void __user *p = (void __user *)arg;
	struct evcore_reader_stats st;
	u64 types;
	u32 mark;

	switch (cmd) {
	case EVCORE_INPUT_IOC_SET_TYPES:
		if (copy_from_user(&types, p, sizeof(types)))
			return -EFAULT;
		if (types & ~ECI_TYPES_ALL)
			return -EINVAL;
		/* A frame's SYN_REPORT always comes: the frame ends there. */
		types |= BIT_ULL(EV_SYN);
		evcore_reader_set_filter(f->r, types << 1);
		return 0;
	case EVCORE_INPUT_IOC_GET_TYPES:
		evcore_reader_get_stats(f->r, &st);
		types = (st.filter >> 1) & ECI_TYPES_ALL;
		return copy_to_user(p, &types, sizeof(types)) ? -EFAULT : 0;
	case EVCORE_INPUT_IOC_SET_WATERMARK:
		if (copy_from_user(&mark, p, sizeof(mark)))
			return -EFAULT;
		return evcore_reader_set_watermark(f->r, mark);
	case EVCORE_INPUT_IOC_GET_INFO:
		return eci_get_info(f->ed, p);
	default:
		return -ENOTTY;
	}
}

const struct file_operations eci_fops = {
	.owner		= THIS_MODULE,
	.open		= eci_open,
	.release	= eci_release,
	.read		= eci_read,
	.poll		= eci_poll,
	.fasync		= eci_fasync,
	.unlocked_ioctl	= eci_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.show_fdinfo	= eci_show_fdinfo,
	.llseek		= noop_llseek,
};

static struct eci_dev *eci_of(struct device *dev)
{
	return container_of(dev, struct eci_dev, dev);
}

static ssize_t capacity_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%u\n", evcore_queue_capacity(eci_of(dev)->q));
}

/* No smaller than a frame, which must fit the ring whole. */
static ssize_t capacity_store(struct device *dev,
			      struct device_attribute *attr, const char *buf,
			      size_t count)
{
	struct eci_dev *ed = eci_of(dev);
	u32 cap;
	int ret;

	ret = kstrtou32(buf, 0, &cap);
	if (ret)
		return ret;
	if (cap < ed->max_frame)
		return -EINVAL;
	ret = evcore_queue_resize(ed->q, cap);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(capacity);

static ssize_t policy_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%s\n",
			  evcore_policy_name(evcore_queue_policy(eci_of(dev)->q)));
}

static ssize_t policy_store(struct device *dev, struct device_attribute *attr,
			    const char *buf, size_t count)
{
	int policy = evcore_policy_parse(buf);
	int ret;

	if (policy < 0)
		return policy;
	ret = evcore_queue_set_policy(eci_of(dev)->q, policy);
	return ret ? ret : count;
}
static DEVICE_ATTR_RW(policy);

static ssize_t max_frame_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", eci_of(dev)->max_frame);
}
static DEVICE_ATTR_RO(max_frame);

static struct attribute *eci_attrs[] = {
	&dev_attr_capacity.attr,
	&dev_attr_policy.attr,
	&dev_attr_max_frame.attr,
	NULL,
};

static const struct attribute_group eci_group = {
	.attrs = eci_attrs,
};

/* The statistics, one value per file, as evcore_queue_get_stats() has them. */
#define ECI_STAT_ATTR(field, fmt, expr)					\
static ssize_t field##_show(struct device *dev,				\
			    struct device_attribute *attr, char *buf)	\
{									\
	struct eci_dev *ed = eci_of(dev);				\
	struct evcore_stats st;						\
									\
	evcore_queue_get_stats(ed->q, &st);				\
	return sysfs_emit(buf, fmt "\n", expr);				\
}									\
static DEVICE_ATTR_RO(field)

ECI_STAT_ATTR(generated, "%llu", st.generated);
ECI_STAT_ATTR(queued, "%llu", st.queued);
ECI_STAT_ATTR(delivered, "%llu", st.delivered);
ECI_STAT_ATTR(dropped, "%llu", st.dropped_full);
ECI_STAT_ATTR(overwritten, "%llu", st.overwritten);
ECI_STAT_ATTR(depth, "%u", st.depth);
ECI_STAT_ATTR(high_water, "%u", st.high_water);
ECI_STAT_ATTR(readers, "%u", st.readers);
/*
 * Everything allocated for the device and its readers: the queue, its
 * ring and readers (evcore's count), this driver's state and open files.
 */
ECI_STAT_ATTR(memory, "%zu", st.memory + sizeof(*ed) +
	      ed->max_frame * sizeof(*ed->items) +
	      st.readers * sizeof(struct eci_file));

/* Frames longer than max_frame, each passed on as several groups. */
static ssize_t frames_split_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n", READ_ONCE(eci_of(dev)->frames_split));
}
static DEVICE_ATTR_RO(frames_split);

static struct attribute *eci_stat_attrs[] = {
	&dev_attr_generated.attr,
	&dev_attr_queued.attr,
	&dev_attr_delivered.attr,
	&dev_attr_dropped.attr,
	&dev_attr_overwritten.attr,
	&dev_attr_depth.attr,
	&dev_attr_high_water.attr,
	&dev_attr_readers.attr,
	&dev_attr_memory.attr,
	&dev_attr_frames_split.attr,
	NULL,
};

static const struct attribute_group eci_stat_group = {
	.name = "statistics",
	.attrs = eci_stat_attrs,
};

const struct attribute_group *eci_groups[] = {
	&eci_group,
	&eci_stat_group,
	NULL,
};
