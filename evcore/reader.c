// SPDX-License-Identifier: GPL-2.0
/*
 * evcore: a reusable event queue for character drivers.
 *
 * Readers: their lifetime, what they hold of the ring, the reader
 * controls, poll and fasync. Reading itself is in read.c.
 * See Documentation/driver-api/evcore.rst.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>

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

/*
 * Free a reader that holds nothing of its queue any more (or never did):
 * the one way out of evcore_reader_open()'s error path and of release.
 */
static void evcore_reader_free(struct evcore_reader *r)
{
	mutex_destroy(&r->read_lock);
	kfree(r);
}

/* Open a reader at the tail, or at the head with @at_head. */
static struct evcore_reader *__evcore_reader_open(struct evcore_queue *q,
						  bool at_head)
{
	struct evcore_reader *r;
	unsigned long flags;
	bool room;
	u64 pos;

	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r)
		return ERR_PTR(-ENOMEM);
	mutex_init(&r->read_lock);
	r->bytes = sizeof(*r);
	r->filter = U64_MAX;
	r->hold = EVCORE_HOLD_PIN;
	r->watermark = 1;
	r->q = q;

	evcore_lock(q, flags);
	if (q->shutdown) {
		evcore_unlock(q, flags);
		evcore_reader_free(r);
		return ERR_PTR(-ENODEV);
	}
	room = !evcore_has_room_locked(q);
	pos = at_head ? q->head : q->tail;
	r->at.pos = pos;
	r->at.seen = evcore_refused_at_locked(q, pos);
	(*evcore_pins_at_locked(q, pos))++;
	q->nr_readers++;
	q->nr_wanting++;
	q->reader_bytes += r->bytes;
	/*
	 * What no reader needs now, with one reader wanting, may go: all of
	 * it for a reader at the head, room for blocked producers maybe.
	 */
	evcore_reclaim_locked(q, EVCORE_RECLAIM_MAX);
	room = room && evcore_has_room_locked(q);
	kref_get(&q->ref);
	evcore_unlock(q, flags);
	if (room)
		evcore_wake_room(q);
	return r;
}

/**
 * evcore_reader_open() - create a reader, usually at open()
 * @q: the queue
 *
 * The reader starts at the oldest record the queue holds and then sees
 * every event queued after it; it holds a reference on @q. Its source
 * filter takes every source and its watermark is 1. The reader is charged
 * to the caller's memory cgroup.
 *
 * Context: Process context, may sleep.
 * Return: the reader, ERR_PTR(-ENODEV) after shutdown, or
 * ERR_PTR(-ENOMEM).
 */
struct evcore_reader *evcore_reader_open(struct evcore_queue *q)
{
	return __evcore_reader_open(q, false);
}
EXPORT_SYMBOL_NS_GPL(evcore_reader_open, EVCORE_NS);

/**
 * evcore_reader_open_new() - create a reader of new events only
 * @q: the queue
 *
 * As evcore_reader_open(), but the reader starts at the head: it sees only
 * the events queued after it opened (and no loss from before), as an evdev
 * client does. Records that no reader needs any more are then freed, and
 * producers blocked on the room they leave are woken.
 *
 * Context: Process context, may sleep.
 * Return: as evcore_reader_open().
 */
struct evcore_reader *evcore_reader_open_new(struct evcore_queue *q)
{
	return __evcore_reader_open(q, true);
}
EXPORT_SYMBOL_NS_GPL(evcore_reader_open_new, EVCORE_NS);

/*
 * The end of a walk that took references for @r: from now on it holds
 * them. Its wanted records still to read are the @taken ones the walk
 * reached and those queued since the change began (the walk started with
 * @r->at.acct at the wanted total then), unless overwrites went past
 * @until: then the wanted records left are all queued since, those live.
 */
static void evcore_walk_done_locked(struct evcore_reader *r, u64 until,
				    u64 taken)
{
	struct evcore_queue *q = r->q;

	lockdep_assert_held(&q->lock);
	WRITE_ONCE(r->hold, EVCORE_HOLD_REFS);
	if (q->tail > until)
		r->at.acct = evcore_wanted_total_locked(r) -
			     evcore_sum_wanted_locked(r, q->src_live);
	else
		r->at.acct -= taken;
}

/*
 * Walk the records of @r from @seq up to @until, the head when the change
 * began, at most EVCORE_WALK_MAX per lock hold: drop the references @r
 * holds on them of the sources in @drop, take one on those of the sources
 * in @take. A reader that takes references (EVCORE_HOLD_WALK) already
 * counts in the queue's want of @take, so every record queued since has a
 * reference of it; it stands pinned at the walk's cursor, so no record the
 * walk has still to reach is freed, and once the cursor reaches @until it
 * holds references from then on. The caller holds @r->read_lock, or is
 * releasing @r.
 *
 * The walk ends after at most capacity / EVCORE_WALK_MAX + 1 passes,
 * however fast producers push: it never goes past @until, and a record
 * overwritten before the cursor reached it moves the cursor up with the
 * tail.
 */
static void evcore_walk(struct evcore_reader *r, u64 seq, u64 until,
			u64 drop, u64 take)
{
	struct evcore_queue *q = r->q;
	bool pinned = r->hold == EVCORE_HOLD_WALK;
	struct evcore_ring *ring;
	struct evcore_slot *slot;
	struct evcore_event *ev;
	unsigned long flags;
	u64 from, end, bit, taken = 0;
	bool done, room;
	u32 n, idx;

	do {
		trace_evcore_walk(q->name, seq, until);
		evcore_lock(q, flags);
		room = !evcore_has_room_locked(q);
		if (seq < q->tail) {
			/*
			 * Overwritten before the walk reached them, the pin
			 * of a walking reader moved to the tail with them:
			 * everything from its position on is gone. It is
			 * told of every event overwritten past its cursor,
			 * whatever its source, and of the records it took
			 * before it (its references kept them from being
			 * freed: they were overwritten too); the others
			 * before the cursor it skipped, whether freed or
			 * overwritten.
			 */
			if (pinned && r->at.pos < q->tail) {
				r->at.owed += q->tail - seq + taken;
				r->at.filtered += seq - r->at.pos - taken;
				r->at.pos = q->tail;
				taken = 0;
			}
			seq = q->tail;
		}
		from = seq;
		end = min(until, q->head);
		for (n = 0; seq < end && n < EVCORE_WALK_MAX; n++, seq++) {
			ring = evcore_ring_at_locked(q, seq, &idx);
			slot = &ring->slots[idx];
			ev = evcore_ring_rec(q, ring, idx);
			bit = BIT_ULL(ev->source_id);
			if (drop & bit)
				evcore_dec(&slot->refs);
			if (take & bit) {
				slot->refs++;
				taken++;
			}
		}
		done = seq >= end;
		if (pinned) {
			evcore_dec(evcore_pins_at_locked(q, from));
			if (done)
				evcore_walk_done_locked(r, until, taken);
			else
				(*evcore_pins_at_locked(q, seq))++;
		}
		evcore_reclaim_locked(q, EVCORE_RECLAIM_MAX);
		room = room && evcore_has_room_locked(q);
		evcore_unlock(q, flags);
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

	evcore_lock(q, flags);
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
	evcore_unlock(q, flags);
	if (room)
		evcore_wake_room(q);
	/* Let go of the records it held references on. */
	if (from < until)
		evcore_walk(r, from, until, r->filter, 0);

	evcore_reader_free(r);
	evcore_queue_put(q);
}
EXPORT_SYMBOL_NS_GPL(evcore_reader_release, EVCORE_NS);

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

	evcore_lock(q, flags);
	if (!watermark || watermark > q->capacity)
		ret = -EINVAL;
	else
		r->watermark = watermark;
	evcore_unlock(q, flags);
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
 * the records queued when it is made (not to those queued meanwhile), in
 * bounded steps; it waits for a read of the same reader that is copying
 * records, not for one that sleeps.
 *
 * Context: Process context, may sleep.
 */
void evcore_reader_set_filter(struct evcore_reader *r, u64 filter)
{
	struct evcore_queue *q = r->q;
	enum evcore_hold old_hold;
	u64 drop = 0, pos, until, old;
	unsigned long flags;
	bool pri, room;

	mutex_lock(&r->read_lock);
	evcore_lock(q, flags);
	room = !evcore_has_room_locked(q);
	old = r->filter;
	old_hold = r->hold;
	if (filter == old) {
		evcore_unlock(q, flags);
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
	WRITE_ONCE(r->hold, filter == U64_MAX ? EVCORE_HOLD_PIN :
		   EVCORE_HOLD_WALK);
	if (r->hold == EVCORE_HOLD_WALK) {
		/*
		 * Records queued from now on get its references as they
		 * come: the walk need only reach the head of now.
		 */
		evcore_want_locked(q, filter, true);
		r->at.acct = evcore_wanted_total_locked(r);
	}
	/*
	 * The first reader to want something again lets go of what the
	 * queue kept for want of readers: room, maybe.
	 */
	q->nr_wanting += !!filter - !!old;
	room = room && evcore_has_room_locked(q);
	evcore_unlock(q, flags);
	if (room)
		evcore_wake_room(q);

	if (r->hold == EVCORE_HOLD_WALK)
		evcore_walk(r, pos, until, drop, filter);
	else if (drop)
		evcore_walk(r, pos, until, drop, 0);

	/* A loss found meanwhile is for the pollers of EPOLLPRI too. */
	evcore_lock(q, flags);
	pri = evcore_loss_pending_locked(r);
	evcore_unlock(q, flags);
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

	evcore_lock(q, flags);
	st->position = r->at.pos;
	st->lag = q->head - max(r->at.pos, q->tail);
	st->read = r->read;
	st->lost = r->lost;
	st->filtered = r->at.filtered;
	st->filter = r->filter;
	st->watermark = r->watermark;
	evcore_unlock(q, flags);
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

/**
 * evcore_poll() - the poll() of a driver built on evcore
 * @r: the reader of the file
 * @file: the file
 * @wait: the poll table
 *
 * A file open for writing is woken when a full queue under the block
 * policy gets room; a file open only for reading is woken for that only
 * when its poller asked for EPOLLOUT when it registered (an epoll that adds
 * EPOLLOUT with EPOLL_CTL_MOD is not).
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
	 * A file open for writing always waits for room: epoll hooks a file
	 * onto its wait queues once, at EPOLL_CTL_ADD, and an EPOLL_CTL_MOD
	 * that adds EPOLLOUT later only polls it again. Other files wait
	 * there only when their poller asks for EPOLLOUT, so a read that
	 * makes room does not run every reader's epoll callback.
	 */
	if ((file && (file->f_mode & FMODE_WRITE)) ||
	    poll_requested_events(wait) & (EPOLLOUT | EPOLLWRNORM))
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
