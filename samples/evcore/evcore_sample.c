// SPDX-License-Identifier: GPL-2.0
/*
 * evcore_sample: a driver outside the evcore tree that uses evcore.
 *
 * /dev/evcore_sample is a misc device whose read(), poll() and fasync are
 * evcore's helpers. Each write() of 1 to SAMPLE_PAYLOAD bytes queues one
 * event of the "write" source (id 1) carrying those bytes, then raises an
 * irq_work, whose callback queues one event of the "irq" source (id 2) in
 * hard interrupt context (in a thread on PREEMPT_RT), as an interrupt
 * handler would: aux is the callback's run number (runs coalesce when a
 * write comes before the last one ran), and bit 16 of flags says it ran in
 * hard interrupt context. A record is a struct evcore_event
 * (<uapi/linux/evcore.h>) followed by SAMPLE_PAYLOAD bytes.
 *
 * It is built against an installed evcore only (see the Makefile here):
 * <linux/evcore.h> from EVCORE_DIR/include, evcore's symbols from
 * EVCORE_DIR/symvers/<kernel release>/Module.symvers.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/err.h>
#include <linux/evcore.h>
#include <linux/fs.h>
#include <linux/irq_work.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/preempt.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#define SAMPLE_SRC_WRITE	1
#define SAMPLE_SRC_IRQ		2
#define SAMPLE_FLAG_HARDIRQ	BIT(16)
#define SAMPLE_PAYLOAD		32
#define SAMPLE_CAPACITY		256

/**
 * struct sample - the device
 * @misc: the misc device; file->private_data points here at open
 * @queue: the event queue
 * @write_src: events queued by write()
 * @irq_src: events queued by @work
 * @work: raised by each write()
 * @runs: runs of @work so far, only touched by its callback
 */
struct sample {
	struct miscdevice misc;
	struct evcore_queue *queue;
	struct evcore_source write_src;
	struct evcore_source irq_src;
	struct irq_work work;
	u32 runs;
};

static struct sample *sample;

static void sample_irq_work(struct irq_work *work)
{
	struct sample *s = container_of(work, struct sample, work);
	u32 flags = in_hardirq() ? SAMPLE_FLAG_HARDIRQ : 0;

	/* A full queue refuses the event; readers get a loss record. */
	evcore_push(&s->irq_src, flags, s->runs++, NULL, 0);
}

static struct evcore_reader *sample_reader(struct file *file)
{
	return file->private_data;
}

static int sample_open(struct inode *inode, struct file *file)
{
	struct sample *s = container_of(file->private_data, struct sample,
					misc);
	struct evcore_reader *r;

	r = evcore_reader_open(s->queue);
	if (IS_ERR(r))
		return PTR_ERR(r);
	file->private_data = r;
	return stream_open(inode, file);
}

static int sample_release(struct inode *inode, struct file *file)
{
	evcore_reader_release(sample_reader(file));
	return 0;
}

static ssize_t sample_read(struct file *file, char __user *buf, size_t count,
			   loff_t *ppos)
{
	return evcore_read(sample_reader(file), buf, count,
			   file->f_flags & O_NONBLOCK);
}

static ssize_t sample_write(struct file *file, const char __user *buf,
			    size_t count, loff_t *ppos)
{
	u8 payload[SAMPLE_PAYLOAD];
	int ret;

	if (!count)
		return 0;
	if (count > sizeof(payload))
		return -EMSGSIZE;
	if (copy_from_user(payload, buf, count))
		return -EFAULT;
	ret = evcore_push(&sample->write_src, 0, 0, payload, count);
	if (ret)
		return ret;
	irq_work_queue(&sample->work);
	return count;
}

static __poll_t sample_poll(struct file *file, poll_table *wait)
{
	return evcore_poll(sample_reader(file), file, wait);
}

static int sample_fasync(int fd, struct file *file, int on)
{
	return evcore_fasync(sample_reader(file), fd, file, on);
}

static const struct file_operations sample_fops = {
	.owner		= THIS_MODULE,
	.open		= sample_open,
	.release	= sample_release,
	.read		= sample_read,
	.write		= sample_write,
	.poll		= sample_poll,
	.fasync		= sample_fasync,
};

static int __init sample_init(void)
{
	static const struct evcore_config cfg = {
		.name = KBUILD_MODNAME,
		.capacity = SAMPLE_CAPACITY,
		.payload_size = SAMPLE_PAYLOAD,
		.policy = EVCORE_POLICY_DROP_NEWEST,
		.clock = CLOCK_MONOTONIC,
	};
	struct sample *s;
	int ret;

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	init_irq_work(&s->work, sample_irq_work);

	s->queue = evcore_queue_create(&cfg);
	if (IS_ERR(s->queue)) {
		ret = PTR_ERR(s->queue);
		goto err_free;
	}
	ret = evcore_source_register(s->queue, &s->write_src, "write",
				     SAMPLE_SRC_WRITE);
	if (ret)
		goto err_put_queue;
	ret = evcore_source_register(s->queue, &s->irq_src, "irq",
				     SAMPLE_SRC_IRQ);
	if (ret)
		goto err_unregister_write_src;

	s->misc.minor = MISC_DYNAMIC_MINOR;
	s->misc.name = KBUILD_MODNAME;
	s->misc.fops = &sample_fops;
	s->misc.mode = 0600;
	/* Published before the device exists: write() uses it. */
	sample = s;
	ret = misc_register(&s->misc);
	if (ret)
		goto err_unregister_irq_src;
	return 0;

err_unregister_irq_src:
	evcore_source_unregister(&s->irq_src);
err_unregister_write_src:
	evcore_source_unregister(&s->write_src);
err_put_queue:
	evcore_queue_shutdown(s->queue);
	evcore_queue_put(s->queue);
err_free:
	kfree(s);
	return ret;
}

static void __exit sample_exit(void)
{
	struct sample *s = sample;

	/* No file is open: each holds a reference on this module. */
	misc_deregister(&s->misc);
	irq_work_sync(&s->work);
	evcore_source_unregister(&s->irq_src);
	evcore_source_unregister(&s->write_src);
	evcore_queue_shutdown(s->queue);
	evcore_queue_put(s->queue);
	kfree(s);
}

module_init(sample_init);
module_exit(sample_exit);

MODULE_IMPORT_NS_EVCORE();
MODULE_DESCRIPTION("evcore sample: a misc device fed by write() and an irq_work");
MODULE_LICENSE("GPL");
