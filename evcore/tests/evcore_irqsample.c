// SPDX-License-Identifier: GPL-2.0
/*
 * evcore_irqsample: a small evcore user that pushes from hard IRQ context.
 *
 * It uses evcore only through <linux/evcore.h>, as any driver would: one
 * queue, two sources and a misc device, /dev/evcore_irqsample, whose
 * read/poll/fasync are evcore's helpers. An hrtimer pushes one event per
 * tick on source 1 and queues an irq_work that pushes one on source 2;
 * both callbacks run in hard IRQ context. Neither is of the _HARD kind: on
 * PREEMPT_RT, where evcore's lock sleeps, both run in threads instead.
 *
 * Each record carries 8 bytes of payload, the push time in nanoseconds
 * (CLOCK_MONOTONIC); aux is the tick number (the irq_work's own run count
 * for source 2; runs coalesce when a tick comes before the last ran), and
 * bit 16 of flags says the push ran in hard IRQ context. By default the
 * queue holds more records than the ticks push, so a reader that opens
 * after the ticks are over still reads every one no other reader took.
 *
 * Parameters: period_us (tick period), count (ticks, then the timer
 * stops), capacity (records the queue holds).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bits.h>
#include <linux/err.h>
#include <linux/evcore.h>
#include <linux/evcore_kcompat.h>
#include <linux/fs.h>
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/poll.h>
#include <linux/preempt.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

/* Source ids and the flag set on records pushed in hard IRQ context. */
#define IRQSAMPLE_SRC_HRTIMER	1
#define IRQSAMPLE_SRC_IRQ_WORK	2
#define IRQSAMPLE_FLAG_HARDIRQ	BIT(16)

static unsigned int period_us = 1000;
module_param(period_us, uint, 0444);
MODULE_PARM_DESC(period_us, "Tick period in microseconds (10 to 1000000, default 1000)");

static unsigned int count = 1000;
module_param(count, uint, 0444);
MODULE_PARM_DESC(count, "Ticks before the timer stops, 0 for no end (default 1000)");

static unsigned int capacity = 4096;
module_param(capacity, uint, 0444);
MODULE_PARM_DESC(capacity, "Records the queue holds (default 4096)");

/**
 * struct irqsample - the device
 * @misc: the misc device; file->private_data points here at open
 * @queue: the event queue
 * @timer_src: events pushed by @timer
 * @work_src: events pushed by @work
 * @timer: the periodic hrtimer
 * @work: irq_work queued by each tick
 * @period: tick period
 * @ticks: ticks so far, only touched by @timer's callback
 * @work_runs: runs of @work so far, only touched by @work's callback
 */
struct irqsample {
	struct miscdevice misc;
	struct evcore_queue *queue;
	struct evcore_source timer_src;
	struct evcore_source work_src;
	struct hrtimer timer;
	struct irq_work work;
	ktime_t period;
	u32 ticks;
	u32 work_runs;
};

static struct irqsample *irqsample;

static void irqsample_push(struct evcore_source *src, u32 aux, u64 when)
{
	u32 flags = in_hardirq() ? IRQSAMPLE_FLAG_HARDIRQ : 0;

	/* The point of this module: evcore_push() from hard IRQ context. */
	WARN_ON_ONCE(!IS_ENABLED(CONFIG_PREEMPT_RT) && !in_hardirq());
	/* A full queue refuses the event: readers get a loss record. */
	evcore_push(src, flags, aux, &when, sizeof(when));
}

static void irqsample_work_fn(struct irq_work *work)
{
	struct irqsample *s = container_of(work, struct irqsample, work);

	irqsample_push(&s->work_src, s->work_runs++, ktime_get_ns());
}

static enum hrtimer_restart irqsample_tick(struct hrtimer *timer)
{
	struct irqsample *s = container_of(timer, struct irqsample, timer);

	irqsample_push(&s->timer_src, s->ticks++, ktime_get_ns());
	irq_work_queue(&s->work);
	if (count && s->ticks >= count)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(timer, s->period);
	return HRTIMER_RESTART;
}

static struct evcore_reader *irqsample_reader(struct file *file)
{
	return file->private_data;
}

static int irqsample_open(struct inode *inode, struct file *file)
{
	struct irqsample *s = container_of(file->private_data,
					   struct irqsample, misc);
	struct evcore_reader *r;

	r = evcore_reader_open(s->queue);
	if (IS_ERR(r))
		return PTR_ERR(r);
	file->private_data = r;
	return stream_open(inode, file);
}

static int irqsample_release(struct inode *inode, struct file *file)
{
	evcore_reader_release(irqsample_reader(file));
	return 0;
}

static ssize_t irqsample_read(struct file *file, char __user *buf,
			      size_t count, loff_t *ppos)
{
	return evcore_read(irqsample_reader(file), buf, count,
			   file->f_flags & O_NONBLOCK);
}

static __poll_t irqsample_poll(struct file *file, poll_table *wait)
{
	return evcore_poll(irqsample_reader(file), file, wait);
}

static int irqsample_fasync(int fd, struct file *file, int on)
{
	return evcore_fasync(irqsample_reader(file), fd, file, on);
}

static void irqsample_show_fdinfo(struct seq_file *m, struct file *file)
{
	evcore_reader_show_fdinfo(irqsample_reader(file), m);
}

static const struct file_operations irqsample_fops = {
	.owner		= THIS_MODULE,
	.open		= irqsample_open,
	.release	= irqsample_release,
	.read		= irqsample_read,
	.poll		= irqsample_poll,
	.fasync		= irqsample_fasync,
	.show_fdinfo	= irqsample_show_fdinfo,
};

static int __init irqsample_init(void)
{
	struct evcore_config cfg = {
		.name = KBUILD_MODNAME,
		.capacity = capacity,
		.payload_size = sizeof(u64),
		.policy = EVCORE_POLICY_DROP_NEWEST,
		.clock = CLOCK_MONOTONIC,
	};
	struct irqsample *s;
	int ret;

	if (period_us < 10 || period_us > USEC_PER_SEC) {
		pr_err("period_us %u is not within 10 to %lu\n", period_us,
		       USEC_PER_SEC);
		return -EINVAL;
	}

	s = kzalloc(sizeof(*s), GFP_KERNEL);
	if (!s)
		return -ENOMEM;
	s->period = ns_to_ktime((u64)period_us * NSEC_PER_USEC);
	hrtimer_setup(&s->timer, irqsample_tick, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL);
	s->work = IRQ_WORK_INIT(irqsample_work_fn);

	s->queue = evcore_queue_create(&cfg);
	if (IS_ERR(s->queue)) {
		ret = PTR_ERR(s->queue);
		goto err_free;
	}
	ret = evcore_source_register(s->queue, &s->timer_src, "hrtimer",
				     IRQSAMPLE_SRC_HRTIMER);
	if (ret)
		goto err_put_queue;
	ret = evcore_source_register(s->queue, &s->work_src, "irq_work",
				     IRQSAMPLE_SRC_IRQ_WORK);
	if (ret)
		goto err_unregister_timer_src;

	s->misc.minor = MISC_DYNAMIC_MINOR;
	s->misc.name = KBUILD_MODNAME;
	s->misc.fops = &irqsample_fops;
	s->misc.mode = 0444;
	ret = misc_register(&s->misc);
	if (ret)
		goto err_unregister_work_src;

	irqsample = s;
	hrtimer_start(&s->timer, s->period, HRTIMER_MODE_REL);
	pr_info("%u ticks of %u us from hard IRQ context, %u records\n",
		count, period_us, capacity);
	return 0;

err_unregister_work_src:
	evcore_source_unregister(&s->work_src);
err_unregister_timer_src:
	evcore_source_unregister(&s->timer_src);
err_put_queue:
	evcore_queue_shutdown(s->queue);
	evcore_queue_put(s->queue);
err_free:
	kfree(s);
	return ret;
}

static void __exit irqsample_exit(void)
{
	struct irqsample *s = irqsample;

	misc_deregister(&s->misc);
	hrtimer_cancel(&s->timer);
	irq_work_sync(&s->work);
	evcore_source_unregister(&s->work_src);
	evcore_source_unregister(&s->timer_src);
	evcore_queue_shutdown(s->queue);
	evcore_queue_put(s->queue);
	kfree(s);
}

module_init(irqsample_init);
module_exit(irqsample_exit);

MODULE_IMPORT_NS(EVCORE_NS);
MODULE_DESCRIPTION("evcore sample user: events pushed from hard IRQ context");
MODULE_AUTHOR("evcore developers");
MODULE_LICENSE("GPL");
