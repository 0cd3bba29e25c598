/* SPDX-License-Identifier: GPL-2.0 */
/*
 * evcore's private header: the queue and reader structures with their
 * locking rules, and the helpers of the hot paths (ring slots, depth,
 * room, loss lookup). Only evcore's own files include it.
 *
 * Locking: evcore_queue.lock, a spinlock taken with interrupts disabled,
 * protects the ring, the positions, counters, pins and references of every
 * reader and the private fields of registered sources. A function whose
 * name ends in _locked is called with it held and asserts so; so do the
 * inline accessors below.
 */
#ifndef _EVCORE_INTERNAL_H
#define _EVCORE_INTERNAL_H

#include <linux/atomic.h>
#include <linux/bitops.h>
#include <linux/evcore.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/lockdep.h>
#include <linux/minmax.h>
#include <linux/mutex.h>
#include <linux/reciprocal_div.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/types.h>
#include <linux/wait.h>

/*
 * Bounds on the work of one hold of the queue lock. A read copies at most
 * EVCORE_BATCH_MAX records and EVCORE_BATCH_BYTES bytes of them (always at
 * least one record) and looks at most at EVCORE_SCAN_MAX slots; a hold
 * that starts at a group longer than that takes the group whole instead
 * (EVCORE_GROUP_MAX records, EVCORE_GROUP_BYTES).
 */
#define EVCORE_BATCH_BYTES	8192
#define EVCORE_BATCH_MAX	64
#define EVCORE_SCAN_MAX		128
/* Records freed per lock hold by a push, and by any other caller. */
#define EVCORE_RECLAIM_PUSH	2
#define EVCORE_RECLAIM_MAX	64
/* Slots a filter change or a release walks per lock hold. */
#define EVCORE_WALK_MAX		64
/* Bytes of records evcore_push_many() stores per lock hold (at least one). */
#define EVCORE_PUSH_BYTES	8192
/* Bytes of records a resize moves per lock hold (always at least one). */
#define EVCORE_MOVE_BYTES	8192

static_assert(sizeof(struct evcore_event) == 48);
static_assert(sizeof(struct evcore_event) % 8 == 0);

/*
 * What the queue keeps beside each record: the running count of refused
 * events when it was queued and who still needs it. The record itself, as
 * readers get it, is in &struct evcore_ring.recs.
 *
 * A record stays in the ring while some reader still needs it. Readers that
 * take every source need every record from their position on: they stand
 * on a record (@pins counts them) and hold it and all after it. Readers
 * with a source filter need only the records of the sources they want: each
 * such record counts them in @refs, so the records they skip never hold
 * the queue. The tail record is freed once both counts are zero.
 *
 * @grp_left and @grp_idx place the record in its group (see
 * evcore_push_batch()): the records from this one to the group's last,
 * this one included, and those before it in the group. A record queued
 * alone has 1 and 0. They let the read path find a group's end, or a
 * group's start, in one look.
 */
struct evcore_slot {
	u64 refused_before;
	u32 refs;
	u32 pins;
	u16 grp_left;
	u16 grp_idx;
};

/*
 * Storage for @capacity records: @recs holds them as readers get them,
 * record_size bytes each and in ring order, so that a run of records goes
 * to user space in one copy; @slots holds what the queue keeps about each.
 */
struct evcore_ring {
	u8 *recs;
	struct evcore_slot *slots;
	u32 capacity;
};

/* Event counters, all protected by evcore_queue.lock. */
struct evcore_counters {
	u64 generated;
	u64 queued;
	u64 delivered;
	u64 dropped_full;
	u64 overwritten;
	u64 would_block;
	u32 high_water;
};

#ifdef CONFIG_EVCORE_DEBUG
/* What the current holder of the queue lock touched so far. */
struct evcore_hold_count {
	u32 slots;
	u32 readers;
	u32 bytes;
};
#endif

/**
 * struct evcore_queue - an event queue
 * @lock: protects every field below it up to @sources, the readers'
 *	positions, counters, pins and references, and the private fields of
 *	registered sources
 * @ring: the records, @capacity of them
 * @head: sequence number of the next event to queue
 * @tail: oldest sequence number still held; records held are [tail, head)
 * @head_idx: index of @head in @ring
 * @capacity: number of records @ring holds; written under @lock with
 *	WRITE_ONCE(), read locklessly by evcore_queue_capacity()
 * @old: while a resize moves records, the ring it replaced; NULL recs
 *	otherwise. The records [tail, @old_split) are still there.
 * @old_end: the head when @old was replaced; its records end there
 * @old_end_idx: index of @old_end in @old
 * @old_split: records from here on are in @ring
 * @policy: overflow policy; WRITE_ONCE() under @lock, read locklessly by
 *	evcore_queue_policy()
 * @refused: running count of refused events, never reset; the loss cursor
 * @shutdown: set once by evcore_queue_shutdown(); WRITE_ONCE() under @lock,
 *	read locklessly by evcore_queue_is_shutdown() and sleeping readers
 * @nr_readers: open readers
 * @nr_wanting: open readers whose filter is not empty; with none, the
 *	queue keeps what it holds
 * @reader_bytes: memory allocated for the open readers
 * @head_pins: readers without a filter standing at @head (see
 *	&struct evcore_slot)
 * @cnt: statistics
 * @want: per source id, the filtered readers that want it: a record of
 *	that source starts with this many references
 * @src_total: per source id, records ever queued, never reset
 * @src_live: per source id, records in [tail, head)
 * @src_delivered: per source id, records copied to readers since the
 *	source was registered or the statistics reset: kept here rather than
 *	in the source, so that a read touches no memory of the producer's
 * @src_since: per source id, the sequence number of the first record its
 *	current source could queue (the head when it registered): records
 *	before it are an earlier source's, charged to nobody
 * @last_ts: timestamp of the newest record
 * @grouped: set by the first group of more than one record queued, never
 *	cleared: reads then end only between groups (see evcore_read())
 * @cur_hold: debug: what the current lock holder touched
 * @dbg: debug: totals and per-hold maxima
 * @sources: registered sources by id
 * @wake_gen: bumped by every wake-up of the readers, so a reader about to
 *	sleep sees any it would miss
 * @resize_lock: serialises evcore_queue_resize()
 * @wait: readers wait here for events, poll() for EPOLLIN
 * @room_wait: blocked producers wait here for room, poll() for EPOLLOUT,
 *	evcore_source_unregister() for sleepers to leave
 * @fasync: SIGIO subscribers of all readers
 * @ref: reference count; readers and registered sources hold one
 * @name: name from the config
 * @payload_size: payload bytes per record
 * @record_size: bytes per record as readers get it
 * @batch: records one hold of a read copies at most: %EVCORE_BATCH_MAX,
 *	fewer when %EVCORE_BATCH_BYTES holds fewer, but at least one
 * @batch_bytes: @batch records, in bytes
 * @max_group: records evcore_push_batch() takes at most as one group:
 *	%EVCORE_GROUP_MAX, and no more than %EVCORE_GROUP_BYTES of them (but
 *	one at least); a read hold that starts at a group takes it whole,
 *	beyond @batch if need be
 * @rs_recip: the reciprocal of @record_size, to divide without a division
 * @clock: clock for timestamps
 */
struct evcore_queue {
	/* Protects the fields up to @sources; see the comment above. */
	spinlock_t lock;
	struct evcore_ring ring;
	u64 head;
	u64 tail;
	u32 head_idx;
	u32 capacity;
	struct evcore_ring old;
	u32 old_end_idx;
	u64 old_end;
	u64 old_split;
	u32 policy;
	u64 refused;
	bool shutdown;
	u32 nr_readers;
	u32 nr_wanting;
	size_t reader_bytes;
	u32 head_pins;
	struct evcore_counters cnt;
	u32 want[EVCORE_SOURCE_ID_MAX + 1];
	u64 src_total[EVCORE_SOURCE_ID_MAX + 1];
	u64 src_live[EVCORE_SOURCE_ID_MAX + 1];
	u64 src_delivered[EVCORE_SOURCE_ID_MAX + 1];
	u64 src_since[EVCORE_SOURCE_ID_MAX + 1];
	u64 last_ts;
	bool grouped;
#ifdef CONFIG_EVCORE_DEBUG
	struct evcore_hold_count cur_hold;
	struct evcore_debug_stats dbg;
#endif
	struct evcore_source *sources[EVCORE_SOURCE_ID_MAX + 1];

	atomic_t wake_gen;
	/* Serialises evcore_queue_resize(). */
	struct mutex resize_lock;
	wait_queue_head_t wait;
	wait_queue_head_t room_wait;
	struct fasync_struct *fasync;
	struct kref ref;
	const char *name;
	u32 payload_size;
	size_t record_size;
	u32 batch;
	u32 batch_bytes;
	u32 max_group;
	struct reciprocal_value rs_recip;
	clockid_t clock;
};

/*
 * Taking and dropping the queue lock. With CONFIG_EVCORE_DEBUG each hold is
 * accounted: the slots, readers and record bytes it touched.
 */
#ifdef CONFIG_EVCORE_DEBUG
static inline void evcore_hold_begin(struct evcore_queue *q)
{
	lockdep_assert_held(&q->lock);
	q->dbg.holds++;
	memset(&q->cur_hold, 0, sizeof(q->cur_hold));
}

static inline void evcore_hold_end(struct evcore_queue *q)
{
	lockdep_assert_held(&q->lock);
	q->dbg.max_slots = max(q->dbg.max_slots, q->cur_hold.slots);
	q->dbg.max_readers = max(q->dbg.max_readers, q->cur_hold.readers);
	q->dbg.max_bytes = max(q->dbg.max_bytes, q->cur_hold.bytes);
}

static inline void evcore_touch_slots(struct evcore_queue *q, u32 n)
{
	q->cur_hold.slots += n;
}

static inline void evcore_touch_reader(struct evcore_queue *q)
{
	q->cur_hold.readers++;
}

/* @n records, @bytes bytes, copied to user space in one copy. */
static inline void evcore_touch_copy(struct evcore_queue *q, u32 n,
				     size_t bytes)
{
	q->cur_hold.bytes += bytes;
	q->dbg.copies++;
	q->dbg.records_copied += n;
}
#else
static inline void evcore_hold_begin(struct evcore_queue *q) { }
static inline void evcore_hold_end(struct evcore_queue *q) { }
static inline void evcore_touch_slots(struct evcore_queue *q, u32 n) { }
static inline void evcore_touch_reader(struct evcore_queue *q) { }
static inline void evcore_touch_copy(struct evcore_queue *q, u32 n,
				     size_t bytes) { }
#endif

#define evcore_lock(q, flags)					\
	do {							\
		struct evcore_queue *__q = (q);			\
								\
		spin_lock_irqsave(&__q->lock, flags);		\
		evcore_hold_begin(__q);				\
	} while (0)

static inline void evcore_unlock(struct evcore_queue *q, unsigned long flags)
	__releases(&q->lock)
{
	evcore_hold_end(q);
	spin_unlock_irqrestore(&q->lock, flags);
}

/*
 * Where a reader stands: the next sequence number, refused events already
 * reported, events skipped by its filter, losses found but not yet reported
 * (@owed) and, for a filtered reader, the wanted records it has been
 * accounted for (@acct: read, lost, or queued before it began to want them).
 */
struct evcore_cursor {
	u64 pos;
	u64 seen;
	u64 filtered;
	u64 owed;
	u64 acct;
};

/* How a reader holds the records it has still to read. */
enum evcore_hold {
	EVCORE_HOLD_PIN,	/* every record from its position: no filter */
	EVCORE_HOLD_REFS,	/* a reference on each record it wants */
	EVCORE_HOLD_WALK,	/* changing between the two, see
				 * evcore_reader_set_filter()
				 */
};

/**
 * struct evcore_reader - one reader, usually one open file
 * @q: the queue, referenced
 * @at: position, protected by the queue's lock; written by the holder of
 *	@read_lock, or by a read done in one hold of the queue's lock while
 *	nobody holds @read_lock (see evcore_read_hold())
 * @read: event records copied, under the queue's lock
 * @lost: events lost, under the queue's lock
 * @filter: wanted source ids, under the queue's lock; written only by the
 *	holder of @read_lock
 * @hold: how the reader holds its records, under the queue's lock;
 *	written with WRITE_ONCE(), read locklessly as a hint by evcore_read()
 * @watermark: events that must wait before the reader wakes, under the
 *	queue's lock
 * @read_lock: serialises filter changes and the evcore_read() calls that
 *	take more than one hold of the queue's lock, which move the reader.
 *	Not held while a read sleeps.
 * @bytes: memory allocated for this reader
 * @fasync_file: the file registered for SIGIO, or NULL
 */
struct evcore_reader {
	struct evcore_queue *q;
	struct evcore_cursor at;
	u64 read;
	u64 lost;
	u64 filter;
	enum evcore_hold hold;
	u32 watermark;

	/* Serialises reads and filter changes; see above. */
	struct mutex read_lock;
	size_t bytes;
	struct file *fasync_file;
};

/* The record at index @idx of @ring, as readers get it. */
static inline struct evcore_event *evcore_ring_rec(const struct evcore_queue *q,
						   const struct evcore_ring *ring,
						   u32 idx)
{
	return (struct evcore_event *)(ring->recs + (size_t)idx *
				       q->record_size);
}

/* Index of @seq in a ring of @cap records whose index of @end is @end_idx. */
static inline u32 evcore_ring_idx(u64 end, u32 end_idx, u32 cap, u64 seq)
{
	u32 back = end - seq;

	return end_idx >= back ? end_idx - back : end_idx + cap - back;
}

/* The index @n records after @idx, @n at most @cap, in a ring of @cap. */
static inline u32 evcore_idx_add(u32 idx, u32 n, u32 cap)
{
	return idx + n < cap ? idx + n : idx + n - cap;
}

/*
 * The ring holding @seq, which must be in [tail, head], and its index
 * there. Counts as one slot touched.
 */
static inline struct evcore_ring *evcore_ring_at_locked(struct evcore_queue *q,
							u64 seq, u32 *idx)
{
	lockdep_assert_held(&q->lock);
	evcore_touch_slots(q, 1);
	if (unlikely(seq < q->old_split)) {
		*idx = evcore_ring_idx(q->old_end, q->old_end_idx,
				       q->old.capacity, seq);
		return &q->old;
	}
	*idx = evcore_ring_idx(q->head, q->head_idx, q->capacity, seq);
	return &q->ring;
}

/* What the queue keeps about @seq, in [tail, head). */
static inline struct evcore_slot *evcore_slot_locked(struct evcore_queue *q,
						     u64 seq)
{
	struct evcore_ring *ring;
	u32 idx;

	ring = evcore_ring_at_locked(q, seq, &idx);
	return &ring->slots[idx];
}

/* The record of @seq, in [tail, head), as readers get it. */
static inline struct evcore_event *evcore_rec_locked(struct evcore_queue *q,
						     u64 seq)
{
	struct evcore_ring *ring;
	u32 idx;

	ring = evcore_ring_at_locked(q, seq, &idx);
	return evcore_ring_rec(q, ring, idx);
}

static inline u32 evcore_depth_locked(struct evcore_queue *q)
{
	lockdep_assert_held(&q->lock);
	return q->head - q->tail;
}

/* The count of unfiltered readers standing at @seq, in [tail, head]. */
static inline u32 *evcore_pins_at_locked(struct evcore_queue *q, u64 seq)
{
	lockdep_assert_held(&q->lock);
	if (seq == q->head)
		return &q->head_pins;
	return &evcore_slot_locked(q, seq)->pins;
}

/*
 * As evcore_pins_at_locked(), for a @seq in [tail, head] at or past
 * old_split (in the current ring), whose index there the caller has at
 * hand: @idx, which the head's case does not use.
 */
static inline u32 *evcore_pins_at_idx_locked(struct evcore_queue *q, u64 seq,
					     u32 idx)
{
	lockdep_assert_held(&q->lock);
	if (seq == q->head)
		return &q->head_pins;
	return &q->ring.slots[idx].pins;
}

/* Drop one from a holder count; it must hold one. */
static inline void evcore_dec(u32 *count)
{
	if (!WARN_ON_ONCE(!*count))
		(*count)--;
}

/* Whether no reader holds the record that @slot keeps. */
static inline bool evcore_slot_unheld(const struct evcore_slot *slot)
{
	return !slot->refs && !slot->pins;
}

/* Whether no reader needs the tail record any more. */
static inline bool evcore_tail_free_locked(struct evcore_queue *q)
{
	lockdep_assert_held(&q->lock);
	/*
	 * With no reader open (or only readers that want nothing, such as
	 * write-only files) the queue keeps what it holds.
	 */
	if (q->tail == q->head || !q->nr_wanting)
		return false;
	return evcore_slot_unheld(evcore_slot_locked(q, q->tail));
}

static inline bool evcore_has_room_locked(struct evcore_queue *q)
{
	lockdep_assert_held(&q->lock);
	return q->policy != EVCORE_POLICY_BLOCK ||
	       evcore_depth_locked(q) < q->capacity || evcore_tail_free_locked(q);
}

/* The refused-event count a reader has seen once it stands at @seq. */
static inline u64 evcore_refused_at_locked(struct evcore_queue *q, u64 seq)
{
	lockdep_assert_held(&q->lock);
	if (seq < q->head)
		return evcore_slot_locked(q, seq)->refused_before;
	return q->refused;
}

/*
 * Whether @ev was queued by the source its id names now, not by an earlier
 * source that had the id: only a source's own records count in its
 * statistics.
 */
static inline bool evcore_rec_owned_locked(struct evcore_queue *q,
					   const struct evcore_event *ev)
{
	lockdep_assert_held(&q->lock);
	return ev->seq >= q->src_since[ev->source_id];
}

static inline bool evcore_wanted_locked(struct evcore_reader *r,
					u32 source_id)
{
	lockdep_assert_held(&r->q->lock);
	return r->filter & BIT_ULL(source_id);
}

/* The sum of @per_id over the source ids @r wants. */
static inline u64 evcore_sum_wanted_locked(struct evcore_reader *r,
					   const u64 *per_id)
{
	u64 filter, sum = 0;

	lockdep_assert_held(&r->q->lock);
	for (filter = r->filter; filter; filter &= filter - 1)
		sum += per_id[__ffs64(filter)];
	return sum;
}

/* The records ever queued of the sources @r wants. */
static inline u64 evcore_wanted_total_locked(struct evcore_reader *r)
{
	lockdep_assert_held(&r->q->lock);
	return evcore_sum_wanted_locked(r, r->q->src_total);
}

/*
 * For a reader holding references: the wanted records not yet accounted
 * for in @c, that is those it has still to read plus those overwritten
 * before it could.
 */
static inline u64
evcore_outstanding_locked(struct evcore_reader *r,
			  const struct evcore_cursor *c)
{
	lockdep_assert_held(&r->q->lock);
	return evcore_wanted_total_locked(r) - c->acct;
}

/*
 * Bring @c up to the tail. The records in [pos, tail) are gone: a pinned
 * reader held them all, so it lost them all (overwritten); a reader holding
 * references lost the wanted ones (their references kept them from being
 * freed, so only an overwrite took them) and skipped the others. What was
 * lost is owed to the reader until a loss record reports it.
 */
static inline void evcore_catch_tail_locked(struct evcore_reader *r,
					    struct evcore_cursor *c)
{
	struct evcore_queue *q = r->q;
	u64 gone, lost, owed, live;

	lockdep_assert_held(&q->lock);
	if (c->pos >= q->tail)
		return;
	gone = q->tail - c->pos;
	lost = gone;
	if (r->hold == EVCORE_HOLD_REFS) {
		/* Every wanted record still held lies past the tail. */
		owed = evcore_outstanding_locked(r, c);
		live = evcore_sum_wanted_locked(r, q->src_live);
		lost = owed > live ? min(owed - live, gone) : 0;
		c->acct += lost;
		c->filtered += gone - lost;
	}
	c->owed += lost;
	c->pos = q->tail;
}

/*
 * If events were lost at @c, return how many and move @c past the gap;
 * return 0 otherwise.
 *
 * A reader holding references with nothing it wants before the head
 * stands at the head: its next record is whatever comes there, so an
 * event refused since it last looked is its next record at once, as the
 * refusal's wake-up finds it, and not only once the tail has passed the
 * records it skips (which wakes nobody).
 */
static inline u64 evcore_take_loss_locked(struct evcore_reader *r,
					  struct evcore_cursor *c)
{
	struct evcore_queue *q = r->q;
	u64 seen, lost;

	lockdep_assert_held(&q->lock);
	evcore_catch_tail_locked(r, c);
	if (r->hold == EVCORE_HOLD_REFS && c->pos != q->head &&
	    !evcore_outstanding_locked(r, c)) {
		c->filtered += q->head - c->pos;
		c->pos = q->head;
	}
	lost = c->owed;
	c->owed = 0;
	seen = evcore_refused_at_locked(q, c->pos);
	lost += seen - c->seen;
	c->seen = seen;
	return lost;
}

/* Whether a loss record is the next thing @r reads. */
static inline bool evcore_loss_pending_locked(struct evcore_reader *r)
{
	struct evcore_cursor c = r->at;

	lockdep_assert_held(&r->q->lock);
	/* A filter change under way wakes the reader when it is done. */
	if (r->hold == EVCORE_HOLD_WALK)
		return false;
	return evcore_take_loss_locked(r, &c) != 0;
}

/*
 * Whether the events waiting for @r at @c, where no loss is pending, are
 * enough to wake it.
 */
static inline bool evcore_enough_locked(struct evcore_reader *r,
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
 * Take the tail record, @ev, out of the ring; its readers are already
 * dealt with.
 */
static inline void evcore_pop_rec_locked(struct evcore_queue *q,
					 const struct evcore_event *ev)
{
	lockdep_assert_held(&q->lock);
	q->src_live[ev->source_id]--;
	q->tail++;
}

/* As evcore_pop_rec_locked(), looking the tail record up. */
static inline void evcore_pop_tail_locked(struct evcore_queue *q)
{
	evcore_pop_rec_locked(q, evcore_rec_locked(q, q->tail));
}

/*
 * Free up to @budget records at the tail that no reader needs. Once the
 * tail is in the current ring, the walk goes on from one index to the
 * next instead of looking each record up again.
 */
static inline void evcore_reclaim_locked(struct evcore_queue *q, u32 budget)
{
	struct evcore_ring *ring = &q->ring;
	u32 idx;

	lockdep_assert_held(&q->lock);
	while (budget && q->tail < q->old_split) {
		if (!evcore_tail_free_locked(q))
			return;
		evcore_pop_tail_locked(q);
		budget--;
	}
	if (!budget || q->tail == q->head || !q->nr_wanting)
		return;
	idx = evcore_ring_idx(q->head, q->head_idx, q->capacity, q->tail);
	do {
		evcore_touch_slots(q, 1);
		if (!evcore_slot_unheld(&ring->slots[idx]))
			return;
		evcore_pop_rec_locked(q, evcore_ring_rec(q, ring, idx));
		idx = evcore_idx_add(idx, 1, q->capacity);
	} while (--budget && q->tail != q->head);
}

/* queue.c */
struct evcore_queue *evcore_queue_get(struct evcore_queue *q);
void evcore_wake_readers(struct evcore_queue *q, __poll_t mask);
void evcore_wake_room(struct evcore_queue *q);

#endif /* _EVCORE_INTERNAL_H */
