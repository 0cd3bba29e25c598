// SPDX-License-Identifier: GPL-2.0
/*
 * evcore: a reusable event queue for character drivers.
 *
 * Reading: read() straight from the ring to user space.
 * See Documentation/driver-api/evcore.rst.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/pagemap.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>

#include "evcore_read.h"
#include "evcore_trace.h"

/*
 * How many of the @n records from @pos on a read takes when the queue
 * holds groups: all of them when they end at a group's end, else those
 * before the group that the @n-th record is part of. When that leaves
 * nothing (the first group does not fit), all @n with @partial (nothing
 * read yet: a buffer smaller than the group gets what fits), else 0. One
 * look at one slot.
 */
static inline u32 evcore_group_cut_locked(struct evcore_queue *q, u64 pos,
					  u32 n, u64 avail, bool partial)
{
	u32 before;

	lockdep_assert_held(&q->lock);
	/* The newest record ends a group: groups are queued whole. */
	if (n == avail)
		return n;
	before = evcore_slot_locked(q, pos + n)->grp_idx;
	if (before < n)
		return n - before;
	return partial ? n : 0;
}

/*
 * Of @got records that reached user space before a fault, the number a
 * read keeps when the next record is the @grp_idx-th of its group: those
 * before the group, when it began among them. The read then faults the
 * page in with the queue lock dropped, and an overwrite meanwhile could
 * take the rest of the group, so that the reader would resume at a loss
 * inside it. A group begun before them (a buffer smaller than the group
 * split it) stays split: all @got are kept.
 */
static inline u32 evcore_group_keep(u32 got, u32 grp_idx)
{
	return grp_idx <= got ? got - grp_idx : got;
}

/*
 * Where a read hold starts at a group, or at the rest of one, longer than
 * the @n records of its budget: the records to that group's end, which the
 * hold takes whole (at most %EVCORE_GROUP_MAX records and
 * %EVCORE_GROUP_BYTES); @n otherwise. One look at one slot, @pos being
 * before the head.
 */
static inline u32 evcore_group_span_locked(struct evcore_queue *q, u64 pos,
					   u32 n)
{
	lockdep_assert_held(&q->lock);
	return max_t(u32, n, evcore_slot_locked(q, pos)->grp_left);
}

/*
 * The common case of evcore_read_locked(), in O(1) plus the copy: a reader
 * of every source standing in the ring with nothing lost anywhere before
 * the head (no event refused since it last looked, none overwritten under
 * it) and no resize still moving its records. The records it gets are then
 * consecutive in the ring, at most two runs, with no loss record between
 * them.
 */
static inline bool evcore_read_fast_ok(struct evcore_reader *r,
				       const struct evcore_cursor *c)
{
	struct evcore_queue *q = r->q;

	lockdep_assert_held(&q->lock);
	return r->hold == EVCORE_HOLD_PIN && !c->owed && c->pos >= q->tail &&
	       c->seen == q->refused && c->pos >= q->old_split;
}

static __always_inline enum evcore_rd_state
evcore_read_fast_locked(struct evcore_reader *r, struct evcore_rd *rd,
			bool quick)
{
	struct evcore_queue *q = r->q;
	size_t rs = q->record_size;
	u64 pos = r->at.pos, avail = q->head - pos;
	struct evcore_slot *slot;
	u32 n, want, idx, first, got;
	size_t room;
	bool fits;

	lockdep_assert_held(&q->lock);
	if (!avail || (avail < r->watermark && !rd->done && !rd->nonblock &&
		       !evcore_enough_locked(r, &r->at))) {
		rd->gen = atomic_read(&q->wake_gen);
		return rd->done ? EVCORE_RD_DONE : EVCORE_RD_EMPTY;
	}
	n = min_t(u64, avail, q->batch);
	/* A group longer than the batch where the hold starts: all of it. */
	if (unlikely(q->grouped))
		n = evcore_group_span_locked(q, pos, n);
	/* Fewer when the buffer is the limit: then room < n records. */
	room = rd->count - rd->done;
	fits = room >= (size_t)n * rs;
	if (!fits)
		n = reciprocal_divide(room, q->rs_recip);
	want = n;
	if (unlikely(q->grouped)) {
		n = evcore_group_cut_locked(q, pos, n, avail, !rd->done);
		if (!n)
			return EVCORE_RD_DONE;
	}
	idx = evcore_ring_idx(q->head, q->head_idx, q->capacity, pos);
	evcore_touch_slots(q, n);
	first = min(n, q->capacity - idx);
	got = evcore_copy_recs_locked(q, rd, rd->done, &q->ring, idx, first);
	if (got == first && n > first)
		got += evcore_copy_recs_locked(q, rd, rd->done + first * rs,
					       &q->ring, 0, n - first);
	/*
	 * Without the read lock, a read that cannot finish here takes
	 * nothing: the read-lock path does it again, whole, so that a read
	 * never returns records with another read's between them, and never
	 * fails after the reader moved.
	 */
	if (quick && got < n)
		return EVCORE_RD_SLOW;
	if (got < n) {
		rd->fault_to = rd->done + (size_t)(got + 1) * rs;
		if (unlikely(q->grouped)) {
			slot = evcore_slot_locked(q, pos + got);
			got = evcore_group_keep(got, slot->grp_idx);
		}
	}
	evcore_delivered_locked(r, &q->ring, idx, min(got, first));
	if (got > first)
		evcore_delivered_locked(r, &q->ring, 0, got - first);
	if (got) {
		/* Move the reader's pin past what it was given. */
		evcore_touch_slots(q, 2);
		evcore_dec(evcore_pins_at_idx_locked(q, pos, idx));
		(*evcore_pins_at_idx_locked(q, pos + got,
					    evcore_idx_add(idx, got,
							   q->capacity)))++;
		r->at.pos = pos + got;
		rd->done += (size_t)got * rs;
		evcore_reclaim_locked(q, EVCORE_RECLAIM_MAX);
	}
	if (got < n)
		return EVCORE_RD_FAULT;
	/* Full buffer or nothing left: done; otherwise the budget ran out. */
	if (n == avail || rd->count - rd->done < rs)
		return EVCORE_RD_DONE;
	/*
	 * Cut before a group: one the buffer cannot hold ends the read; one
	 * past the batch is for the next hold, or the next read when this one
	 * has no read lock to take another hold under.
	 */
	if (n < want && (!fits || quick))
		return EVCORE_RD_DONE;
	return EVCORE_RD_MORE;
}

/*
 * Whether the fast path reads all it will give @rd in this one hold: the
 * buffer or the records run out before the batch budget does.
 */
static inline bool evcore_read_one_hold(struct evcore_reader *r,
					const struct evcore_rd *rd)
{
	struct evcore_queue *q = r->q;

	lockdep_assert_held(&q->lock);
	return q->head - r->at.pos <= q->batch ||
	       rd->count - rd->done < q->batch_bytes + q->record_size;
}

/*
 * Whether a read of @count bytes by @r is worth trying without the read
 * lock: a reader of every source (read without the lock: a hint, which
 * evcore_read_hold() checks again under it) whose buffer holds at most one
 * batch. Other reads would find out only with the queue lock held, and
 * take it once more.
 */
static inline bool evcore_read_quick_hint(struct evcore_reader *r,
					  size_t count)
{
	struct evcore_queue *q = r->q;

	/* At most one batch of whole records: count / rs <= batch. */
	return READ_ONCE(r->hold) == EVCORE_HOLD_PIN &&
	       count < q->batch_bytes + q->record_size;
}

/*
 * One hold of the queue lock for a read, with the wake-ups it calls for.
 *
 * With @quick the caller does not hold @r->read_lock: the hold then does
 * only a read that the fast path completes in it, and only while nobody
 * holds the read lock (a read between its holds, a filter change). Such a
 * read comes before anything the next holder of the read lock does, since
 * that one takes the queue lock before it moves the reader. Otherwise (a
 * page of the buffer not mapped, say) it returns EVCORE_RD_SLOW having
 * moved nothing.
 */
static enum evcore_rd_state evcore_read_hold(struct evcore_reader *r,
					     struct evcore_rd *rd, bool quick)
{
	struct evcore_queue *q = r->q;
	enum evcore_rd_state st;
	unsigned long flags;
	bool room, pri = false;

	evcore_lock(q, flags);
	room = !evcore_has_room_locked(q);
	if (likely(!q->shutdown && evcore_read_fast_ok(r, &r->at))) {
		/* No loss anywhere before the head: none becomes pending. */
		evcore_touch_reader(q);
		if (!quick)
			lockdep_assert_held(&r->read_lock);
		if (quick && (mutex_is_locked(&r->read_lock) ||
			      !evcore_read_one_hold(r, rd)))
			st = EVCORE_RD_SLOW;
		else
			st = evcore_read_fast_locked(r, rd, quick);
	} else if (quick) {
		st = EVCORE_RD_SLOW;
	} else {
		st = evcore_read_locked(r, rd, &pri);
	}
	rd->pos = r->at.pos;
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
 * Groups (evcore_push_batch()) are returned whole: a read stops before a
 * group that does not fit what is left of @buf, unless it has nothing yet,
 * in which case a @buf smaller than the group gets the records that fit
 * and the next read the rest. A page of @buf that is not mapped stops the
 * read before the group it would cut, not inside it.
 *
 * Records go from the ring to @buf in one copy, under the queue lock with
 * page faults disabled, at most %EVCORE_BATCH_BYTES at a time, or one group
 * whole (at most %EVCORE_GROUP_BYTES). Most reads
 * take the queue lock once and no other lock. One that needs more than a
 * batch, waits, or meets a page of @buf not mapped yet takes the reader's
 * read lock, and faults such pages in with the queue lock dropped.
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
	might_fault();
	/*
	 * Most reads are done in one hold of the queue lock. The others
	 * have taken nothing when they get here.
	 */
	while (evcore_read_quick_hint(r, count)) {
		st = evcore_read_hold(r, &rd, true);
		if (st == EVCORE_RD_DONE || (st == EVCORE_RD_EMPTY && nonblock)) {
			ret = rd.done ? rd.done : -EAGAIN;
			goto out;
		}
		if (st != EVCORE_RD_EMPTY)
			break;
		ret = evcore_read_wait(q, rd.gen);
		if (ret)
			return ret;
	}

	if (mutex_lock_interruptible(&r->read_lock))
		return -ERESTARTSYS;
	for (;;) {
		st = evcore_read_hold(r, &rd, false);
		if (st == EVCORE_RD_MORE) {
			cond_resched();
			continue;
		}
		if (st == EVCORE_RD_FAULT) {
			/*
			 * Fault the memory in up to the end of the record
			 * that did not fit (from the start of its group,
			 * which the read did not take in part), then go on;
			 * another thread may unmap it again each time, so a
			 * fatal signal ends the read.
			 */
			if (fatal_signal_pending(current) ||
			    fault_in_writeable(buf + rd.done,
					       rd.fault_to - rd.done))
				break;
			cond_resched();
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
	mutex_unlock(&r->read_lock);

	if (rd.done)
		ret = rd.done;
	else if (st == EVCORE_RD_SHUTDOWN)
		ret = -ENODEV;
	else if (st == EVCORE_RD_FAULT)
		ret = -EFAULT;
	else
		ret = -EAGAIN;
out:
	trace_evcore_read(q->name, rd.pos, rd.done / rs, rd.lost, ret);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(evcore_read, EVCORE_NS);
