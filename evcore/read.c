// SPDX-License-Identifier: GPL-2.0
/*
 * evcore: a reusable event queue for character drivers.
 *
 * Reading: readiness, read() straight from the ring to user space, poll
 * and fasync.
 * See Documentation/driver-api/evcore.rst.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "evcore_internal.h"
#include "evcore_trace.h"

/*
 * Whether the events waiting for @r at @c, where no loss is pending, are
 * enough to wake it.
 */
static bool evcore_enough_locked(struct evcore_reader *r,
				 const struct evcore_cursor *c)
{
	struct evcore_queue *q = r->q;
	/* A resize may have left the watermark above the capacity. */
	u32 mark = min(r->watermark, q->capacity);
	u64 avail;

	lockdep_assert_held(&q->lock);
	if (r->hold == EVCORE_HOLD_PIN)
		avail = q->head - c->pos;
	else
		avail = evcore_outstanding_locked(r, c);
	/*
	 * A full queue wakes a reader whatever its watermark: waiting for
	 * more could only lose events or keep producers blocked.
	 */
	return avail >= mark || (avail && evcore_depth_locked(q) == q->capacity);
}

/*
 * Whether a read would return now: the wake-up condition of a reader. Sets
 * @pri when that is because of a loss record.
 */
static bool evcore_readable_locked(struct evcore_reader *r, bool *pri)
{
	struct evcore_queue *q = r->q;
	struct evcore_cursor c = r->at;

	lockdep_assert_held(&q->lock);
	*pri = false;
	if (q->shutdown)
		return true;
	if (r->hold == EVCORE_HOLD_WALK)
		return false;
	if (evcore_take_loss_locked(r, &c)) {
		*pri = true;
		return true;
	}
	return evcore_enough_locked(r, &c);
}

/* A read between its holds of the queue lock. */
struct evcore_rd {
	char __user *buf;
	size_t count;
	size_t done;
	u64 lost;
	bool nonblock;
	unsigned int gen;
};

/* How one hold of a read ended. */
enum evcore_rd_state {
	EVCORE_RD_MORE,		/* a budget ran out: hold the lock again */
	EVCORE_RD_DONE,		/* the buffer is full, or nothing more waits */
	EVCORE_RD_EMPTY,	/* nothing to read: wait for a wake-up after
				 * evcore_rd.gen
				 */
	EVCORE_RD_FAULT,	/* the next record's user memory is not mapped */
	EVCORE_RD_SHUTDOWN,
};

/*
 * A run of records to copy: consecutive in one ring, all wanted, with no
 * loss between them. @c is where the reader stands before the first.
 */
struct evcore_run {
	struct evcore_ring *ring;
	u32 idx;
	u32 n;
	struct evcore_cursor c;
};

/*
 * Copy @len bytes to the read's buffer at @off with page faults disabled:
 * the queue lock is held. Return the bytes not copied.
 */
static unsigned long evcore_copy_out_locked(struct evcore_queue *q,
					    struct evcore_rd *rd, size_t off,
					    const void *from, size_t len,
					    u32 records)
{
	unsigned long left;

	lockdep_assert_held(&q->lock);
	pagefault_disable();
	left = copy_to_user(rd->buf + off, from, len);
	pagefault_enable();
	evcore_touch_copy(q, records, len);
	return left;
}

/* Copy a loss record of @lost events at @seq; return whether it fit. */
static bool evcore_copy_loss_locked(struct evcore_reader *r,
				    struct evcore_rd *rd, size_t off, u64 seq,
				    u64 lost)
{
	struct evcore_queue *q = r->q;
	struct evcore_event ev;
	unsigned long left;

	lockdep_assert_held(&q->lock);
	memset(&ev, 0, sizeof(ev));
	ev.seq = seq;
	ev.lost = lost;
	ev.source_id = EVCORE_SOURCE_NONE;
	ev.flags = EVCORE_EVENT_LOSS;
	if (evcore_copy_out_locked(q, rd, off, &ev, sizeof(ev), 1))
		return false;
	if (q->payload_size) {
		pagefault_disable();
		left = clear_user(rd->buf + off + sizeof(ev), q->payload_size);
		pagefault_enable();
		if (left)
			return false;
	}
	r->lost += lost;
	rd->lost += lost;
	return true;
}

/*
 * Copy @run to the read's buffer at @off and account for the records that
 * reached it: the reader then stands at @good after them, and @off is
 * moved past them. Return false when some did not fit.
 */
static bool evcore_copy_run_locked(struct evcore_reader *r,
				   struct evcore_rd *rd, size_t *off,
				   struct evcore_run *run,
				   struct evcore_cursor *good)
{
	struct evcore_queue *q = r->q;
	size_t rs = q->record_size;
	struct evcore_source *src;
	struct evcore_event *ev;
	unsigned long left;
	u32 i, n;
	u8 *rec;

	lockdep_assert_held(&q->lock);
	/* An empty run has no ring yet. */
	if (!run->n)
		return true;
	rec = run->ring->recs + (size_t)run->idx * rs;
	left = evcore_copy_out_locked(q, rd, *off, rec, run->n * rs, run->n);
	n = run->n - DIV_ROUND_UP(left, rs);
	for (i = 0; i < n; i++) {
		ev = (struct evcore_event *)(rec + i * rs);
		src = q->sources[ev->source_id];
		if (src)
			src->delivered++;
		if (r->hold == EVCORE_HOLD_REFS)
			evcore_dec(&run->ring->slots[run->idx + i].refs);
	}
	r->read += n;
	q->cnt.delivered += n;
	*good = run->c;
	good->pos += n;
	if (r->hold == EVCORE_HOLD_REFS)
		good->acct += n;
	*off += n * rs;
	run->n = 0;
	return !left;
}

/*
 * The part of a read done in one hold of the queue lock: copy records from
 * the ring straight to user space, loss records included, and move the
 * reader past them. Bounded: at most EVCORE_BATCH_MAX records and
 * EVCORE_BATCH_BYTES bytes (but at least one record), EVCORE_SCAN_MAX slots
 * looked at and EVCORE_RECLAIM_MAX records freed. A filtered reader with
 * nothing left to read before the head skips to it at once. Sets @pri when
 * the reader now stands on a loss.
 */
static enum evcore_rd_state evcore_read_locked(struct evcore_reader *r,
					       struct evcore_rd *rd, bool *pri)
{
	struct evcore_queue *q = r->q;
	size_t rs = q->record_size, off = rd->done;
	struct evcore_cursor c = r->at, good = r->at;
	enum evcore_rd_state st = EVCORE_RD_DONE;
	struct evcore_run run = {};
	u32 scanned = 0, copied = 0, idx;
	u64 lost, want, seen, from, to;
	struct evcore_ring *ring;
	struct evcore_slot *slot;
	struct evcore_event *ev;

	lockdep_assert_held(&q->lock);
	lockdep_assert_held(&r->read_lock);
	evcore_touch_reader(q);
	*pri = false;
	if (q->shutdown)
		return EVCORE_RD_SHUTDOWN;
	/* The one full loss lookup; the loop below compares counts. */
	lost = evcore_take_loss_locked(r, &c);
	if (!lost && !rd->done && !rd->nonblock &&
	    !evcore_enough_locked(r, &c)) {
		rd->gen = atomic_read(&q->wake_gen);
		return EVCORE_RD_EMPTY;
	}
	if (lost) {
		if (!evcore_copy_loss_locked(r, rd, off, c.pos, lost))
			return EVCORE_RD_FAULT;
		off += rs;
		copied++;
	}
	/* Brought up to the tail, past a loss record if there was one. */
	good = c;
	/* The records left to read before the head. */
	if (r->hold == EVCORE_HOLD_PIN)
		want = q->head - c.pos;
	else
		want = evcore_outstanding_locked(r, &c);

	for (;;) {
		if (off + (run.n + 1) * rs > rd->count)
			break;
		if (copied >= EVCORE_BATCH_MAX || scanned >= EVCORE_SCAN_MAX ||
		    (copied && off - rd->done + (run.n + 1) * rs >
		     EVCORE_BATCH_BYTES)) {
			st = EVCORE_RD_MORE;
			break;
		}
		if (c.pos != q->head && !want) {
			/* Nothing it wants is left: skip the rest at once. */
			if (!evcore_copy_run_locked(r, rd, &off, &run, &good)) {
				st = EVCORE_RD_FAULT;
				break;
			}
			c.filtered += q->head - c.pos;
			c.pos = q->head;
			good = c;
		}
		slot = NULL;
		seen = q->refused;
		if (c.pos != q->head) {
			ring = evcore_ring_at_locked(q, c.pos, &idx);
			slot = &ring->slots[idx];
			seen = slot->refused_before;
		}
		if (seen != c.seen) {
			/* Events were refused here: a loss record first. */
			if (!evcore_copy_run_locked(r, rd, &off, &run, &good) ||
			    !evcore_copy_loss_locked(r, rd, off, c.pos,
						     seen - c.seen)) {
				st = EVCORE_RD_FAULT;
				break;
			}
			c.seen = seen;
			good = c;
			off += rs;
			copied++;
			continue;
		}
		if (!slot)
			break;
		ev = (struct evcore_event *)(ring->recs + (size_t)idx * rs);
		scanned++;
		if (!evcore_wanted_locked(r, ev->source_id)) {
			if (!evcore_copy_run_locked(r, rd, &off, &run, &good)) {
				st = EVCORE_RD_FAULT;
				break;
			}
			c.pos++;
			c.filtered++;
			good = c;
			continue;
		}
		/* A run ends where the ring wraps, or where a resize cut it. */
		if (run.n && (ring != run.ring || idx != run.idx + run.n) &&
		    !evcore_copy_run_locked(r, rd, &off, &run, &good)) {
			st = EVCORE_RD_FAULT;
			break;
		}
		if (!run.n) {
			run.ring = ring;
			run.idx = idx;
			run.c = c;
		}
		run.n++;
		c.pos++;
		if (r->hold == EVCORE_HOLD_REFS)
			c.acct++;
		want--;
		copied++;
	}
	if (!evcore_copy_run_locked(r, rd, &off, &run, &good))
		st = EVCORE_RD_FAULT;

	/* Move the reader, and its pin with it, past what it was given. */
	from = max(r->at.pos, q->tail);
	r->at = good;
	to = max(good.pos, q->tail);
	if (r->hold == EVCORE_HOLD_PIN && to != from) {
		evcore_dec(evcore_pins_at_locked(q, from));
		(*evcore_pins_at_locked(q, to))++;
	}
	evcore_reclaim_locked(q, EVCORE_RECLAIM_MAX);
	/*
	 * Reading up to a gap makes the loss record pending without any
	 * event arriving: the pollers must be told, for EPOLLPRI.
	 */
	*pri = off != rd->done && evcore_loss_pending_locked(r);
	rd->done = off;
	if (st == EVCORE_RD_DONE && !rd->done) {
		rd->gen = atomic_read(&q->wake_gen);
		st = EVCORE_RD_EMPTY;
	}
	return st;
}

/* One hold of the queue lock for a read, with the wake-ups it calls for. */
static enum evcore_rd_state evcore_read_hold(struct evcore_reader *r,
					     struct evcore_rd *rd)
{
	struct evcore_queue *q = r->q;
	enum evcore_rd_state st;
	unsigned long flags;
	bool room, pri;

	evcore_lock(q, flags);
	room = !evcore_has_room_locked(q);
	st = evcore_read_locked(r, rd, &pri);
	room = room && evcore_has_room_locked(q);
	evcore_unlock(q, flags);
	if (room)
		evcore_wake_room(q);
	if (pri)
		evcore_wake_readers(q, EPOLLIN | EPOLLRDNORM | EPOLLPRI);
	return st;
}

/*
 * Sleep until the readers of @q are woken after the wake-up count @gen was
 * seen, or a signal comes. The read looks again, whatever woke it.
 */
static int evcore_read_wait(struct evcore_queue *q, unsigned int gen)
{
	DEFINE_WAIT(wait);
	int ret = 0;

	prepare_to_wait(&q->wait, &wait, TASK_INTERRUPTIBLE);
	/*
	 * A wake-up bumps the count before it looks for sleepers; this looks
	 * at the count after queueing itself (both with a full barrier), so
	 * one of the two sees the other.
	 */
	if (atomic_read(&q->wake_gen) == gen && !READ_ONCE(q->shutdown)) {
		if (signal_pending(current))
			ret = -ERESTARTSYS;
		else
			schedule();
	}
	finish_wait(&q->wait, &wait);
	return ret;
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
 * Records go from the ring to @buf in one copy, under the queue lock with
 * page faults disabled, at most %EVCORE_BATCH_BYTES at a time; a page not
 * mapped yet is faulted in with the lock dropped. A read that does not
 * wait takes the lock once per batch.
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
	struct evcore_rd rd = { .buf = buf, .count = count,
				.nonblock = nonblock };
	struct evcore_queue *q = r->q;
	size_t rs = q->record_size;
	enum evcore_rd_state st;
	ssize_t ret;

	if (count < rs)
		return -EINVAL;
	if (mutex_lock_interruptible(&r->read_lock))
		return -ERESTARTSYS;
	for (;;) {
		st = evcore_read_hold(r, &rd);
		if (st == EVCORE_RD_MORE) {
			cond_resched();
			continue;
		}
		if (st == EVCORE_RD_FAULT) {
			/* Fault the next record's memory in, then go on. */
			if (fault_in_writeable(buf + rd.done, rs))
				break;
			continue;
		}
		if (st != EVCORE_RD_EMPTY || rd.done || nonblock)
			break;
		/* The wait happens without the read lock: filters change. */
		mutex_unlock(&r->read_lock);
		ret = evcore_read_wait(q, rd.gen);
		if (ret)
			return ret;
		if (mutex_lock_interruptible(&r->read_lock))
			return -ERESTARTSYS;
	}

	if (rd.done)
		ret = rd.done;
	else if (st == EVCORE_RD_SHUTDOWN)
		ret = -ENODEV;
	else if (st == EVCORE_RD_FAULT)
		ret = -EFAULT;
	else
		ret = -EAGAIN;
	trace_evcore_read(q->name, r->at.pos, rd.done / rs, rd.lost, ret);
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
	bool pri;

	poll_wait(file, &q->wait, wait);
	/*
	 * Only pollers of EPOLLOUT wait for room: the others would be woken
	 * (an epoll callback each) whenever a read makes room.
	 */
	if (poll_requested_events(wait) & (EPOLLOUT | EPOLLWRNORM))
		poll_wait(file, &q->room_wait, wait);

	evcore_lock(q, flags);
	evcore_touch_reader(q);
	if (q->shutdown) {
		mask = EPOLLHUP | EPOLLERR;
	} else {
		if (evcore_readable_locked(r, &pri))
			mask |= EPOLLIN | EPOLLRDNORM;
		if (pri)
			mask |= EPOLLPRI;
		if (evcore_has_room_locked(q))
			mask |= EPOLLOUT | EPOLLWRNORM;
	}
	evcore_unlock(q, flags);
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
