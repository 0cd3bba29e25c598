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

#include "evcore_internal.h"
#include "evcore_trace.h"

/* A read between its holds of the queue lock. */
struct evcore_rd {
	char __user *buf;
	size_t count;
	size_t done;
	u64 lost;
	u64 pos;
	bool nonblock;
	unsigned int gen;
	size_t fault_to;
};

/* How one hold of a read ended. */
enum evcore_rd_state {
	EVCORE_RD_MORE,		/* a budget ran out: hold the lock again */
	EVCORE_RD_DONE,		/* the buffer is full, or nothing more waits */
	EVCORE_RD_EMPTY,	/* nothing to read: wait for a wake-up after
				 * evcore_rd.gen
				 */
	EVCORE_RD_FAULT,	/* user memory up to evcore_rd.fault_to is not
				 * all mapped
				 */
	EVCORE_RD_SHUTDOWN,
	EVCORE_RD_SLOW,		/* not done without the read lock: nothing was
				 * changed
				 */
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

/*
 * Copy @n records from @ring, from index @idx on, to the read's buffer at
 * @off with page faults disabled: the queue lock is held. Return how many
 * whole records reached it; a fault stops the copy in the record it hit.
 *
 * The copy is one user-access window with the unsafe accessors, as
 * filldir() does: the source is the ring, in bounds by construction (the
 * caller's run never wraps), so copy_to_user()'s hardened-usercopy lookup
 * of the source object would only add its cost to every record.
 */
static __always_inline u32 evcore_copy_recs_locked(struct evcore_queue *q,
						   struct evcore_rd *rd,
						   size_t off,
						   const struct evcore_ring *ring,
						   u32 idx, u32 n)
{
	size_t rs = q->record_size;
	const u8 *from = ring->recs + (size_t)idx * rs;
	char __user *to = rd->buf + off;
	u32 i = 0;

	lockdep_assert_held(&q->lock);
	if (WARN_ON_ONCE(idx > ring->capacity || n > ring->capacity - idx))
		return 0;
	evcore_touch_copy(q, n, n * rs);
	pagefault_disable();
	if (!user_access_begin(to, n * rs))
		goto out;
	for (; i < n; i++, from += rs, to += rs)
		unsafe_copy_to_user(to, from, rs, fault);
fault:
	user_access_end();
out:
	pagefault_enable();
	return i;
}

/*
 * Count @n records of @ring, from index @idx on, as delivered to @r: per
 * source, for the queue and for the reader.
 */
static void evcore_delivered_locked(struct evcore_reader *r,
				    const struct evcore_ring *ring, u32 idx,
				    u32 n)
{
	struct evcore_queue *q = r->q;
	size_t rs = q->record_size;
	const u8 *rec = ring->recs + (size_t)idx * rs;
	struct evcore_source *src;
	u32 i;

	lockdep_assert_held(&q->lock);
	for (i = 0; i < n; i++, rec += rs) {
		src = q->sources[((const struct evcore_event *)rec)->source_id];
		if (src)
			src->delivered++;
	}
	r->read += n;
	q->cnt.delivered += n;
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
	rd->fault_to = off + q->record_size;
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
	u32 i, n;
	bool ok;

	lockdep_assert_held(&q->lock);
	/* An empty run has no ring yet. */
	if (!run->n)
		return true;
	n = evcore_copy_recs_locked(q, rd, *off, run->ring, run->idx, run->n);
	if (n < run->n)
		rd->fault_to = *off + (size_t)(n + 1) * rs;
	evcore_delivered_locked(r, run->ring, run->idx, n);
	if (r->hold == EVCORE_HOLD_REFS)
		for (i = 0; i < n; i++)
			evcore_dec(&run->ring->slots[run->idx + i].refs);
	*good = run->c;
	good->pos += n;
	if (r->hold == EVCORE_HOLD_REFS)
		good->acct += n;
	*off += n * rs;
	ok = n == run->n;
	run->n = 0;
	return ok;
}

/*
 * Take back what a hold gave @r of the records from @from to where @good
 * stands (a group it began to copy and could not finish), and move @good
 * back to @from: the statistics, the cursor's counts, and for a reader
 * holding references, the references it dropped. The records stay queued;
 * the bytes copied stay past what the read returns. At most
 * %EVCORE_GROUP_MAX records, none of them a loss. Return how many it had
 * been given.
 */
static u32 evcore_undeliver_locked(struct evcore_reader *r,
				   struct evcore_cursor *good, u64 from)
{
	struct evcore_queue *q = r->q;
	struct evcore_source *src;
	struct evcore_ring *ring;
	struct evcore_event *ev;
	u32 idx, n = 0;
	u64 seq;

	lockdep_assert_held(&q->lock);
	for (seq = from; seq < good->pos; seq++) {
		ring = evcore_ring_at_locked(q, seq, &idx);
		ev = (struct evcore_event *)(ring->recs +
					     (size_t)idx * q->record_size);
		if (!evcore_wanted_locked(r, ev->source_id)) {
			good->filtered--;
			continue;
		}
		src = q->sources[ev->source_id];
		if (src)
			src->delivered--;
		if (r->hold == EVCORE_HOLD_REFS) {
			ring->slots[idx].refs++;
			good->acct--;
		}
		n++;
	}
	r->read -= n;
	q->cnt.delivered -= n;
	good->pos = from;
	return n;
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
		if (unlikely(q->grouped))
			got = evcore_group_keep(got,
				evcore_slot_locked(q, pos + got)->grp_idx);
	}
	evcore_delivered_locked(r, &q->ring, idx, min(got, first));
	if (got > first)
		evcore_delivered_locked(r, &q->ring, 0, got - first);
	if (got) {
		/* Move the reader's pin past what it was given. */
		evcore_dec(evcore_pins_at_locked(q, pos));
		(*evcore_pins_at_locked(q, pos + got))++;
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
 * The part of a read done in one hold of the queue lock: copy records from
 * the ring straight to user space, loss records included, and move the
 * reader past them. Bounded: at most EVCORE_BATCH_MAX records and
 * EVCORE_BATCH_BYTES bytes (but at least one record), EVCORE_SCAN_MAX slots
 * looked at, or one group whole where the hold starts at one (at most
 * EVCORE_GROUP_MAX records and EVCORE_GROUP_BYTES), and EVCORE_RECLAIM_MAX
 * records freed. A filtered reader with
 * nothing left to read before the head skips to it at once. Sets @pri when
 * the reader now stands on a loss.
 */
static enum evcore_rd_state evcore_read_locked(struct evcore_reader *r,
					       struct evcore_rd *rd, bool *pri)
{
	struct evcore_queue *q = r->q;
	size_t rs = q->record_size, off = rd->done, end;
	struct evcore_cursor c = r->at, good = r->at;
	enum evcore_rd_state st = EVCORE_RD_DONE;
	struct evcore_run run = {};
	u32 scanned = 0, copied = 0, idx;
	u64 lost, want, seen, from, to, start, whole = 0;
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
	start = c.pos;
	/* The records left to read before the head. */
	if (r->hold == EVCORE_HOLD_PIN)
		want = q->head - c.pos;
	else
		want = evcore_outstanding_locked(r, &c);

	for (;;) {
		if (off + (run.n + 1) * rs > rd->count)
			break;
		/* Inside a group taken whole, the budget does not apply. */
		if (c.pos >= whole &&
		    (copied >= EVCORE_BATCH_MAX || scanned >= EVCORE_SCAN_MAX ||
		     (copied && off - rd->done + (run.n + 1) * rs >
		      EVCORE_BATCH_BYTES))) {
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
		/*
		 * Where a group begins (or the rest of one, where the hold
		 * begins), take it whole or stop before it: the buffer ends
		 * the read there unless nothing was read yet (a buffer
		 * smaller than the group gets what fits), the budget ends the
		 * hold. A hold that starts at a group takes it whole, even
		 * past its budget: at most %EVCORE_GROUP_MAX records.
		 */
		if (unlikely(q->grouped) && (!slot->grp_idx || c.pos == start)) {
			end = off + (run.n + slot->grp_left) * rs;
			if (end > rd->count) {
				if (off + run.n * rs)
					break;
			} else if ((copied || scanned) &&
				   (copied + slot->grp_left > EVCORE_BATCH_MAX ||
				    scanned + slot->grp_left > EVCORE_SCAN_MAX ||
				    end - rd->done > EVCORE_BATCH_BYTES)) {
				st = EVCORE_RD_MORE;
				break;
			}
			whole = c.pos + slot->grp_left;
		}
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
	/*
	 * A fault inside a group begun in this hold: the read stops before
	 * the group, which it faults in and copies again whole. Were the
	 * reader left inside, an overwrite while the read faults the page in
	 * with the lock dropped could put a loss record there.
	 */
	if (st == EVCORE_RD_FAULT && unlikely(q->grouped) &&
	    good.pos > start && good.pos < q->head) {
		slot = evcore_slot_locked(q, good.pos);
		if (slot->grp_idx && slot->grp_idx <= good.pos - start)
			off -= evcore_undeliver_locked(r, &good,
						       good.pos - slot->grp_idx) * rs;
	}

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
