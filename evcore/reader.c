// SPDX-License-Identifier: GPL-2.0
/*
 * evcore: a reusable event queue for character drivers.
 *
 * Readers: their lifetime, what they hold of the ring, readiness, read,
 * poll and fasync, and the reader controls.
 * See Documentation/driver-api/evcore.rst.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "evcore_internal.h"
#include "evcore_trace.h"

/* Count the filtered readers wanting the sources in @filter in or out. */
static void evcore_want_locked(struct evcore_queue *q, u64 filter, bool want)
{
	lockdep_assert_held(&q->lock);
	for (; filter; filter &= filter - 1) {
		if (want)
			q->want[__ffs64(filter)]++;
		else
			evcore_dec(&q->want[__ffs64(filter)]);
	}
}

static bool evcore_loss_pending_locked(struct evcore_reader *r)
{
	struct evcore_cursor c = r->at;

	lockdep_assert_held(&r->q->lock);
	/* A filter change under way wakes the reader when it is done. */
	if (r->hold == EVCORE_HOLD_WALK)
		return false;
	return evcore_take_loss_locked(r, &c) != 0;
}

/* Whether a read would return now: the wake-up condition of a reader. */
static bool evcore_readable_locked(struct evcore_reader *r)
{
	struct evcore_queue *q = r->q;
	struct evcore_cursor c = r->at;
	/* A resize may have left the watermark above the capacity. */
	u32 mark = min(r->watermark, q->capacity);
	u64 avail;

	lockdep_assert_held(&q->lock);
	if (q->shutdown)
		return true;
	if (r->hold == EVCORE_HOLD_WALK)
		return false;
	if (evcore_take_loss_locked(r, &c))
		return true;
	if (r->hold == EVCORE_HOLD_PIN)
		avail = q->head - c.pos;
	else
		avail = evcore_outstanding_locked(r, &c);
	/*
	 * A full queue wakes a reader whatever its watermark: waiting for
	 * more could only lose events or keep producers blocked.
	 */
	return avail >= mark || (avail && evcore_depth_locked(q) == q->capacity);
}

static bool evcore_readable(struct evcore_reader *r)
{
	unsigned long flags;
	bool ret;

	spin_lock_irqsave(&r->q->lock, flags);
	ret = evcore_readable_locked(r);
	spin_unlock_irqrestore(&r->q->lock, flags);
	return ret;
}

/*
 * Free a reader that holds nothing of its queue any more (or never did):
 * the one way out of evcore_reader_open()'s error path and of release.
 */
static void evcore_reader_free(struct evcore_reader *r)
{
	mutex_destroy(&r->read_lock);
	kfree(r->cur);
	kvfree(r->bounce);
	kfree(r);
}

/**
 * evcore_reader_open() - create a reader, usually at open()
 * @q: the queue
 *
 * The reader starts at the oldest record the queue holds and then sees
 * every event queued after it; it holds a reference on @q. Its source
 * filter takes every source and its watermark is 1.
 *
 * Context: Process context, may sleep.
 * Return: the reader, ERR_PTR(-ENODEV) after shutdown, or
 * ERR_PTR(-ENOMEM).
 */
struct evcore_reader *evcore_reader_open(struct evcore_queue *q)
{
	struct evcore_reader *r;
	unsigned long flags;
	size_t rs = q->record_size;
	int ret = -ENOMEM;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return ERR_PTR(-ENOMEM);
	mutex_init(&r->read_lock);
	r->batch = clamp_t(size_t, EVCORE_BATCH_BYTES / rs, 1,
			   EVCORE_BATCH_MAX);
	r->bounce = kvmalloc(r->batch * rs, GFP_KERNEL);
	if (!r->bounce)
		goto err_free;
	r->cur = kcalloc(r->batch, sizeof(*r->cur), GFP_KERNEL);
	if (!r->cur)
		goto err_free;
	r->bytes = sizeof(*r) + r->batch * (rs + sizeof(*r->cur));
	r->filter = U64_MAX;
	r->hold = EVCORE_HOLD_PIN;
	r->watermark = 1;
	r->q = q;

	spin_lock_irqsave(&q->lock, flags);
	if (q->shutdown) {
		spin_unlock_irqrestore(&q->lock, flags);
		ret = -ENODEV;
		goto err_free;
	}
	r->at.pos = q->tail;
	r->at.seen = evcore_refused_at_locked(q, q->tail);
	(*evcore_pins_at_locked(q, q->tail))++;
	q->nr_readers++;
	q->nr_wanting++;
	q->reader_bytes += r->bytes;
	kref_get(&q->ref);
	spin_unlock_irqrestore(&q->lock, flags);
	return r;

err_free:
	evcore_reader_free(r);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_NS_GPL(evcore_reader_open, EVCORE_NS);

/*
 * Walk the records of @r from @seq to the head, at most EVCORE_WALK_MAX per
 * lock hold: drop the references @r holds on records below @until of the
 * sources in @drop, take one on the records of the sources in @take. A
 * reader that takes references (EVCORE_HOLD_WALK) stands pinned at the
 * walk's cursor, so no record the walk has still to reach is freed; once the
 * cursor reaches the head, the reader holds references from then on. The
 * caller holds @r->read_lock, or is releasing @r.
 *
 * The walk ends: the head is never more than the capacity ahead of the
 * cursor (the pin holds the tail back, or an overwrite moves the cursor up
 * with it), and each pass takes EVCORE_WALK_MAX records with one lock hold
 * where a producer takes one hold per record.
 */
static void evcore_walk(struct evcore_reader *r, u64 seq, u64 until,
			u64 drop, u64 take)
{
	struct evcore_queue *q = r->q;
	bool pinned = r->hold == EVCORE_HOLD_WALK;
	struct evcore_slot *slot;
	unsigned long flags;
	u64 from, end, bit, taken = 0;
	bool done, room;
	u32 n;

	do {
		spin_lock_irqsave(&q->lock, flags);
		room = !evcore_has_room_locked(q);
		if (seq < q->tail) {
			/*
			 * Overwritten before the walk reached them, the pin
			 * of a walking reader moved to the tail with them:
			 * everything from its position on is gone, the
			 * records it took included. It is told of every
			 * event overwritten there, whatever its source.
			 */
			if (pinned && r->at.pos < q->tail) {
				r->at.owed += q->tail - r->at.pos;
				r->at.pos = q->tail;
				taken = 0;
			}
			seq = q->tail;
		}
		from = seq;
		end = pinned ? q->head : min(until, q->head);
		for (n = 0; seq < end && n < EVCORE_WALK_MAX; n++, seq++) {
			slot = evcore_slot_locked(q, seq);
			bit = BIT_ULL(slot->ev.source_id);
			if (seq < until && (drop & bit))
				evcore_dec(&slot->refs);
			if (take & bit) {
				slot->refs++;
				taken++;
			}
		}
		done = seq >= end;
		if (pinned) {
			evcore_dec(evcore_pins_at_locked(q, from));
			done = seq == q->head;
			if (done) {
				evcore_want_locked(q, take, true);
				r->hold = EVCORE_HOLD_REFS;
				/* Its wanted records are those it took. */
				r->at.acct = evcore_wanted_total_locked(r) - taken;
			} else {
				(*evcore_pins_at_locked(q, seq))++;
			}
		}
		evcore_reclaim_locked(q, EVCORE_RECLAIM_MAX);
		room = room && evcore_has_room_locked(q);
		spin_unlock_irqrestore(&q->lock, flags);
		if (room)
			evcore_wake_room(q);
		if (!done)
			cond_resched();
	} while (!done);
}

/**
 * evcore_reader_release() - destroy a reader, usually at release()
 * @r: the reader, or NULL
 *
 * Records only this reader had left to read are freed, and SIGIO delivery
 * to its file stops. Drops the reader's reference on the queue.
 *
 * Context: Process context, may sleep.
 */
void evcore_reader_release(struct evcore_reader *r)
{
	struct evcore_queue *q;
	unsigned long flags;
	u64 from = 0, until = 0;
	bool room;

	if (!r)
		return;
	q = r->q;
	if (r->fasync_file)
		fasync_helper(-1, r->fasync_file, 0, &q->fasync);

	spin_lock_irqsave(&q->lock, flags);
	room = !evcore_has_room_locked(q);
	if (r->hold == EVCORE_HOLD_PIN) {
		evcore_dec(evcore_pins_at_locked(q, max(r->at.pos, q->tail)));
	} else {
		evcore_want_locked(q, r->filter, false);
		from = r->at.pos;
		until = q->head;
	}
	q->nr_readers--;
	if (r->filter)
		evcore_dec(&q->nr_wanting);
	q->reader_bytes -= r->bytes;
	evcore_reclaim_locked(q, EVCORE_RECLAIM_MAX);
	room = room && evcore_has_room_locked(q);
	spin_unlock_irqrestore(&q->lock, flags);
	if (room)
		evcore_wake_room(q);
	/* Let go of the records it held references on. */
	if (from < until)
		evcore_walk(r, from, until, r->filter, 0);

	evcore_reader_free(r);
	evcore_queue_put(q);
}
EXPORT_SYMBOL_NS_GPL(evcore_reader_release, EVCORE_NS);

/*
 * Copy up to @max records for @r out of the ring into its bounce buffer,
 * loss records included. r->cur[i] is where the reader stands after record
 * i, r->cur_end where it stands after the last record and the filtered ones
 * after it.
 */
static unsigned int evcore_fill_locked(struct evcore_reader *r,
				       unsigned int max)
{
	struct evcore_queue *q = r->q;
	struct evcore_cursor c = r->at;
	struct evcore_event *out;
	struct evcore_slot *slot;
	unsigned int n = 0;
	u64 lost;

	lockdep_assert_held(&q->lock);
	lockdep_assert_held(&r->read_lock);
	while (n < max) {
		out = (struct evcore_event *)(r->bounce + n * q->record_size);
		lost = evcore_take_loss_locked(r, &c);
		if (lost) {
			memset(out, 0, q->record_size);
			out->seq = c.pos;
			out->lost = lost;
			out->source_id = EVCORE_SOURCE_NONE;
			out->flags = EVCORE_EVENT_LOSS;
			r->cur[n++] = c;
			continue;
		}
		if (c.pos == q->head)
			break;
		slot = evcore_slot_locked(q, c.pos++);
		if (!evcore_wanted_locked(r, slot->ev.source_id)) {
			c.filtered++;
			continue;
		}
		memcpy(out, &slot->ev, sizeof(*out));
		memcpy(out + 1, slot + 1, q->payload_size);
		if (r->hold == EVCORE_HOLD_REFS)
			c.acct++;
		r->cur[n++] = c;
	}
	r->cur_end = c;
	return n;
}

/* Move @r past the first @done records of its bounce buffer. */
static void evcore_commit(struct evcore_reader *r, unsigned int done,
			  unsigned int filled, u64 *lost)
{
	struct evcore_queue *q = r->q;
	struct evcore_source *src;
	struct evcore_event *ev;
	unsigned long flags;
	unsigned int i;
	bool room, pri;
	u64 from, to;

	lockdep_assert_held(&r->read_lock);
	spin_lock_irqsave(&q->lock, flags);
	room = !evcore_has_room_locked(q);
	from = max(r->at.pos, q->tail);
	for (i = 0; i < done; i++) {
		ev = (struct evcore_event *)(r->bounce + i * q->record_size);
		if (ev->flags & EVCORE_EVENT_LOSS) {
			r->lost += ev->lost;
			*lost += ev->lost;
			continue;
		}
		r->read++;
		q->cnt.delivered++;
		src = q->sources[ev->source_id];
		if (src)
			src->delivered++;
		/* Unless it was overwritten since, let go of the record. */
		if (r->hold == EVCORE_HOLD_REFS && ev->seq >= q->tail)
			evcore_dec(&evcore_slot_locked(q, ev->seq)->refs);
	}
	r->at = done == filled ? r->cur_end : r->cur[done - 1];
	to = max(r->at.pos, q->tail);
	if (r->hold == EVCORE_HOLD_PIN && to != from) {
		evcore_dec(evcore_pins_at_locked(q, from));
		(*evcore_pins_at_locked(q, to))++;
	}
	evcore_reclaim_locked(q, EVCORE_RECLAIM_MAX);
	room = room && evcore_has_room_locked(q);
	/*
	 * Reading up to a gap makes the loss record pending without any
	 * event arriving: wake the pollers so epoll sees EPOLLPRI.
	 */
	pri = done && evcore_loss_pending_locked(r);
	spin_unlock_irqrestore(&q->lock, flags);
	if (room)
		evcore_wake_room(q);
	if (pri)
		evcore_wake_readers(q, EPOLLIN | EPOLLRDNORM | EPOLLPRI);
}

/**
 * evcore_read() - the read() of a driver built on evcore
 * @r: the reader of the file
 * @buf: user buffer
 * @count: its size
 * @nonblock: the file is O_NONBLOCK
 *
 * Copies as many whole records as fit, loss records included. Waits
 * (interruptibly) until the reader is readable: a loss record or at least
 * the watermark of wanted events waits (or any wanted event, when the queue
 * is full), or the queue was shut down. Once records are available it does
 * not wait for more. The reader advances only past the records that
 * reached @buf.
 *
 * Context: Process context, may sleep.
 * Return: the number of bytes copied, a multiple of the record size;
 * -EINVAL when @count is smaller than one record; -EAGAIN when @nonblock
 * and nothing is readable; -ERESTARTSYS when a signal interrupted the wait;
 * -ENODEV after shutdown; -EFAULT when not even one record could be copied.
 */
ssize_t evcore_read(struct evcore_reader *r, char __user *buf, size_t count,
		    bool nonblock)
{
	struct evcore_queue *q = r->q;
	size_t rs = q->record_size;
	unsigned int filled, done;
	unsigned long flags, left;
	u64 lost = 0;
	ssize_t ret;

	if (count < rs)
		return -EINVAL;

	/* The wait happens without the read lock, so filter changes go on. */
	for (;;) {
		if (mutex_lock_interruptible(&r->read_lock))
			return -ERESTARTSYS;
		spin_lock_irqsave(&q->lock, flags);
		if (q->shutdown) {
			spin_unlock_irqrestore(&q->lock, flags);
			ret = -ENODEV;
			goto out_unlock;
		}
		filled = 0;
		if (evcore_readable_locked(r) || nonblock)
			filled = evcore_fill_locked(r, min_t(size_t, r->batch,
							     count / rs));
		spin_unlock_irqrestore(&q->lock, flags);
		if (filled)
			break;
		if (nonblock) {
			/* Keep what the filter skipped: do not rescan it. */
			evcore_commit(r, 0, 0, &lost);
			ret = -EAGAIN;
			goto out_unlock;
		}
		mutex_unlock(&r->read_lock);
		ret = wait_event_interruptible(q->wait, evcore_readable(r));
		if (ret)
			return ret;
	}

	/* Copy batch after batch, without waiting, while records fit. */
	ret = 0;
	do {
		left = copy_to_user(buf + ret, r->bounce, filled * rs);
		done = filled - DIV_ROUND_UP(left, rs);
		if (done)
			evcore_commit(r, done, filled, &lost);
		ret += done * rs;
		if (done < filled || count - ret < rs)
			break;
		spin_lock_irqsave(&q->lock, flags);
		filled = q->shutdown ? 0 :
			 evcore_fill_locked(r, min_t(size_t, r->batch,
						     (count - ret) / rs));
		spin_unlock_irqrestore(&q->lock, flags);
	} while (filled);
	if (!ret)
		ret = -EFAULT;

out_unlock:
	trace_evcore_read(q->name, r->at.pos, ret > 0 ? ret / rs : 0, lost,
			  ret);
	mutex_unlock(&r->read_lock);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(evcore_read, EVCORE_NS);

/**
 * evcore_poll() - the poll() of a driver built on evcore
 * @r: the reader of the file
 * @file: the file
 * @wait: the poll table
 *
 * Context: Process context.
 * Return: EPOLLIN | EPOLLRDNORM when a read would not wait;
 * EPOLLPRI while a loss record is the next record; EPOLLOUT | EPOLLWRNORM
 * when evcore_push_wait() would not wait; EPOLLHUP | EPOLLERR alone after
 * shutdown.
 */
__poll_t evcore_poll(struct evcore_reader *r, struct file *file,
		     poll_table *wait)
{
	struct evcore_queue *q = r->q;
	unsigned long flags;
	__poll_t mask = 0;

	poll_wait(file, &q->wait, wait);
	poll_wait(file, &q->room_wait, wait);

	spin_lock_irqsave(&q->lock, flags);
	if (q->shutdown) {
		mask = EPOLLHUP | EPOLLERR;
	} else {
		if (evcore_readable_locked(r))
			mask |= EPOLLIN | EPOLLRDNORM;
		if (evcore_loss_pending_locked(r))
			mask |= EPOLLPRI;
		if (evcore_has_room_locked(q))
			mask |= EPOLLOUT | EPOLLWRNORM;
	}
	spin_unlock_irqrestore(&q->lock, flags);
	return mask;
}
EXPORT_SYMBOL_NS_GPL(evcore_poll, EVCORE_NS);

/**
 * evcore_fasync() - the fasync() of a driver built on evcore
 * @r: the reader of the file
 * @fd: as passed to fasync()
 * @file: the file
 * @on: as passed to fasync()
 *
 * The file gets SIGIO whenever readers are woken, whatever its own
 * watermark and filter: POLL_IN for an event queued, a resize, a watermark
 * or filter change; POLL_PRI for an event refused or overwritten and when
 * a read reaches a loss record; POLL_OUT when a full queue under the block
 * policy gets room; POLL_HUP at shutdown. evcore_reader_release()
 * unsubscribes it.
 *
 * Context: Process context.
 * Return: as fasync_helper().
 */
int evcore_fasync(struct evcore_reader *r, int fd, struct file *file, int on)
{
	int ret;

	ret = fasync_helper(fd, file, on, &r->q->fasync);
	if (ret >= 0)
		r->fasync_file = on ? file : NULL;
	return ret;
}
EXPORT_SYMBOL_NS_GPL(evcore_fasync, EVCORE_NS);

/**
 * evcore_reader_set_watermark() - how many events wake a reader
 * @r: the reader
 * @watermark: poll() reports EPOLLIN and a blocking read returns once at
 *	least this many wanted events wait (or one, when the queue is full);
 *	a loss record or shutdown always wakes
 *
 * Context: Any context.
 * Return: 0, or -EINVAL when @watermark is 0 or above the capacity.
 */
int evcore_reader_set_watermark(struct evcore_reader *r, u32 watermark)
{
	struct evcore_queue *q = r->q;
	unsigned long flags;
	int ret = 0;

	spin_lock_irqsave(&q->lock, flags);
	if (!watermark || watermark > q->capacity)
		ret = -EINVAL;
	else
		r->watermark = watermark;
	spin_unlock_irqrestore(&q->lock, flags);
	if (!ret)
		evcore_wake_readers(q, EPOLLIN | EPOLLRDNORM);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(evcore_reader_set_watermark, EVCORE_NS);

/**
 * evcore_reader_set_filter() - choose the sources a reader reads
 * @r: the reader
 * @filter: bit N set to read source id N; events of other sources are
 *	skipped and counted as filtered. Loss records are always read.
 *
 * The filter applies to every record the reader has not read yet. A
 * filtered reader holds only the records it wants: the others are freed
 * as soon as no other reader needs them, so they neither fill the queue
 * for everyone nor block producers. The change takes time proportional to
 * the records queued, in bounded steps; it waits for a read of the same
 * reader that is copying records, not for one that sleeps.
 *
 * Context: Process context, may sleep.
 */
void evcore_reader_set_filter(struct evcore_reader *r, u64 filter)
{
	struct evcore_queue *q = r->q;
	enum evcore_hold old_hold;
	u64 drop = 0, pos, until, old;
	unsigned long flags;
	bool pri;

	mutex_lock(&r->read_lock);
	spin_lock_irqsave(&q->lock, flags);
	old = r->filter;
	old_hold = r->hold;
	if (filter == old) {
		spin_unlock_irqrestore(&q->lock, flags);
		goto out_unlock;
	}
	/* Account for what it lost so far under the old filter. */
	evcore_catch_tail_locked(r, &r->at);
	pos = r->at.pos;
	until = q->head;
	if (old_hold == EVCORE_HOLD_REFS) {
		evcore_want_locked(q, old, false);
		drop = old;
		/* It stands on its records while the walk goes on. */
		(*evcore_pins_at_locked(q, pos))++;
	}
	r->filter = filter;
	r->hold = filter == U64_MAX ? EVCORE_HOLD_PIN : EVCORE_HOLD_WALK;
	q->nr_wanting += !!filter - !!old;
	spin_unlock_irqrestore(&q->lock, flags);

	if (r->hold == EVCORE_HOLD_WALK)
		evcore_walk(r, pos, until, drop, filter);
	else if (drop)
		evcore_walk(r, pos, until, drop, 0);

	/* A loss found meanwhile is for the pollers of EPOLLPRI too. */
	spin_lock_irqsave(&q->lock, flags);
	pri = evcore_loss_pending_locked(r);
	spin_unlock_irqrestore(&q->lock, flags);
	evcore_wake_readers(q, EPOLLIN | EPOLLRDNORM | (pri ? EPOLLPRI : 0));
out_unlock:
	mutex_unlock(&r->read_lock);
}
EXPORT_SYMBOL_NS_GPL(evcore_reader_set_filter, EVCORE_NS);

/**
 * evcore_reader_get_stats() - snapshot of a reader
 * @r: the reader
 * @st: filled in
 *
 * Context: Any context.
 */
void evcore_reader_get_stats(struct evcore_reader *r,
			     struct evcore_reader_stats *st)
{
	struct evcore_queue *q = r->q;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	st->position = r->at.pos;
	st->lag = q->head - max(r->at.pos, q->tail);
	st->read = r->read;
	st->lost = r->lost;
	st->filtered = r->at.filtered;
	st->filter = r->filter;
	st->watermark = r->watermark;
	spin_unlock_irqrestore(&q->lock, flags);
}
EXPORT_SYMBOL_NS_GPL(evcore_reader_get_stats, EVCORE_NS);

/**
 * evcore_reader_show_fdinfo() - the show_fdinfo() of a driver built on
 * evcore
 * @r: the reader of the file
 * @m: the fdinfo seq_file
 *
 * Prints one ``evcore-<field>:\t<value>`` line per field of
 * &struct evcore_reader_stats, plus the queue's name.
 *
 * Context: Process context.
 */
void evcore_reader_show_fdinfo(struct evcore_reader *r, struct seq_file *m)
{
	struct evcore_reader_stats st;

	evcore_reader_get_stats(r, &st);
	seq_printf(m, "evcore-queue:\t%s\n", r->q->name);
	seq_printf(m, "evcore-position:\t%llu\n", st.position);
	seq_printf(m, "evcore-lag:\t%llu\n", st.lag);
	seq_printf(m, "evcore-read:\t%llu\n", st.read);
	seq_printf(m, "evcore-lost:\t%llu\n", st.lost);
	seq_printf(m, "evcore-filtered:\t%llu\n", st.filtered);
	seq_printf(m, "evcore-filter:\t%#llx\n", st.filter);
	seq_printf(m, "evcore-watermark:\t%u\n", st.watermark);
}
EXPORT_SYMBOL_NS_GPL(evcore_reader_show_fdinfo, EVCORE_NS);
