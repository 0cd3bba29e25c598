// SPDX-License-Identifier: GPL-2.0
/*
 * evcore: a reusable event queue for character drivers.
 *
 * Reading, the general hold: loss records, filtered readers, records a
 * resize has not moved yet, groups cut by a fault.
 * See Documentation/driver-api/evcore.rst.
 */

#include <linux/string.h>
#include <linux/uaccess.h>

#include "evcore_read.h"

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
	struct evcore_ring *ring;
	struct evcore_event *ev;
	u32 idx, n = 0;
	u64 seq;

	lockdep_assert_held(&q->lock);
	for (seq = from; seq < good->pos; seq++) {
		ring = evcore_ring_at_locked(q, seq, &idx);
		ev = evcore_ring_rec(q, ring, idx);
		if (!evcore_wanted_locked(r, ev->source_id)) {
			good->filtered--;
			continue;
		}
		if (evcore_rec_owned_locked(q, ev))
			q->src_delivered[ev->source_id]--;
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
enum evcore_rd_state evcore_read_locked(struct evcore_reader *r,
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
		ev = evcore_ring_rec(q, ring, idx);
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
