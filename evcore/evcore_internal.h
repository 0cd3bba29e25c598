/* SPDX-License-Identifier: GPL-2.0 */
/*
 * evcore's private header: the queue and reader structures with their
 * locking rules, and the helpers of the hot paths that more than one file
 * needs (ring slots, depth, room, loss lookup). Only evcore's own files
 * include it.
 *
 * Locking: evcore_queue.lock, a spinlock taken with interrupts disabled,
 * protects the ring, the positions, counters, pins and references of every
 * reader and the private fields of registered sources. A function whose
 * name ends in _locked is called with it held and asserts so; so do the
 * inline accessors below.
 */
#ifndef _EVCORE_INTERNAL_H
#define _EVCORE_INTERNAL_H

#include <linux/bitops.h>
#include <linux/evcore.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/lockdep.h>
#include <linux/minmax.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

/* A read copies at most this many bytes of records per lock hold. */
#define EVCORE_BATCH_BYTES	2048
#define EVCORE_BATCH_MAX	32
/* Records freed per lock hold by a push, and by any other caller. */
#define EVCORE_RECLAIM_PUSH	2
#define EVCORE_RECLAIM_MAX	64
/* Slots a filter change or a release walks per lock hold. */
#define EVCORE_WALK_MAX		64

static_assert(sizeof(struct evcore_event) == 48);
static_assert(sizeof(struct evcore_event) % 8 == 0);

/*
 * One ring entry: the record header as readers get it, the running count of
 * refused events when it was queued, who still needs it, then payload_size
 * bytes of payload.
 *
 * A record stays in the ring while some reader still needs it. Readers that
 * take every source need every record from their position on: they stand
 * on a record (@pins counts them) and hold it and all after it. Readers
 * with a source filter need only the records of the sources they want: each
 * such record counts them in @refs, so the records they skip never hold
 * the queue. The tail record is freed once both counts are zero.
 */
struct evcore_slot {
	struct evcore_event ev;
	u64 refused_before;
	u32 refs;
	u32 pins;
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

/**
 * struct evcore_queue - an event queue
 * @lock: protects every field below it up to @sources, the readers'
 *	positions, counters, pins and references, and the private fields of
 *	registered sources
 * @ring: @capacity slots of @slot_size bytes
 * @head: sequence number of the next event to queue
 * @tail: oldest sequence number still held; records held are [tail, head)
 * @head_idx: ring index of @head
 * @capacity: number of slots; written under @lock with WRITE_ONCE(), read
 *	locklessly by evcore_queue_capacity()
 * @policy: overflow policy; WRITE_ONCE() under @lock, read locklessly by
 *	evcore_queue_policy()
 * @refused: running count of refused events, never reset; the loss cursor
 * @shutdown: set once by evcore_queue_shutdown(); WRITE_ONCE() under @lock,
 *	read locklessly by evcore_queue_is_shutdown()
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
 * @sources: registered sources by id
 * @resize_lock: serialises evcore_queue_resize()
 * @wait: readers wait here for events, poll() for EPOLLIN
 * @room_wait: blocked producers wait here for room, poll() for EPOLLOUT,
 *	evcore_source_unregister() for sleepers to leave
 * @fasync: SIGIO subscribers of all readers
 * @ref: reference count; readers and registered sources hold one
 * @name: name from the config
 * @payload_size: payload bytes per record
 * @record_size: bytes per record as readers get it
 * @slot_size: bytes per ring slot
 * @clock: clock for timestamps
 */
struct evcore_queue {
	/* Protects the fields up to @sources; see the comment above. */
	spinlock_t lock;
	u8 *ring;
	u64 head;
	u64 tail;
	u32 head_idx;
	u32 capacity;
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
	struct evcore_source *sources[EVCORE_SOURCE_ID_MAX + 1];

	/* Serialises evcore_queue_resize(). */
	struct mutex resize_lock;
	wait_queue_head_t wait;
	wait_queue_head_t room_wait;
	struct fasync_struct *fasync;
	struct kref ref;
	const char *name;
	u32 payload_size;
	size_t record_size;
	size_t slot_size;
	clockid_t clock;
};

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
 * @at: position, protected by the queue's lock; written only by the
 *	holder of @read_lock
 * @read: event records copied, under the queue's lock
 * @lost: events lost, under the queue's lock
 * @filter: wanted source ids, under the queue's lock; written only by the
 *	holder of @read_lock
 * @hold: how the reader holds its records, under the queue's lock
 * @watermark: events that must wait before the reader wakes, under the
 *	queue's lock
 * @read_lock: serialises evcore_read() calls and filter changes, which
 *	move the reader; protects @bounce, @cur and @cur_end. Not held while
 *	a read sleeps.
 * @batch: records @bounce holds
 * @bounce: records copied out of the ring, waiting for copy_to_user()
 * @cur: position after each record in @bounce
 * @cur_end: position after the last record and the skipped ones after it
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
	unsigned int batch;
	u8 *bounce;
	struct evcore_cursor *cur;
	struct evcore_cursor cur_end;
	size_t bytes;
	struct file *fasync_file;
};

/* The slot of @seq, which must be in [head - capacity, head]. */
static inline struct evcore_slot *evcore_slot_locked(struct evcore_queue *q,
						     u64 seq)
{
	u32 back = q->head - seq;
	u32 idx = q->head_idx >= back ? q->head_idx - back :
		  q->head_idx + q->capacity - back;

	lockdep_assert_held(&q->lock);
	return (struct evcore_slot *)(q->ring + (size_t)idx * q->slot_size);
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

/* Drop one from a holder count; it must hold one. */
static inline void evcore_dec(u32 *count)
{
	if (!WARN_ON_ONCE(!*count))
		(*count)--;
}

/* Whether no reader needs the tail record any more. */
static inline bool evcore_tail_free_locked(struct evcore_queue *q)
{
	struct evcore_slot *slot;

	lockdep_assert_held(&q->lock);
	/*
	 * With no reader open (or only readers that want nothing, such as
	 * write-only files) the queue keeps what it holds.
	 */
	if (q->tail == q->head || !q->nr_wanting)
		return false;
	slot = evcore_slot_locked(q, q->tail);
	return !slot->refs && !slot->pins;
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
 */
static inline u64 evcore_take_loss_locked(struct evcore_reader *r,
					  struct evcore_cursor *c)
{
	struct evcore_queue *q = r->q;
	u64 seen, lost;

	lockdep_assert_held(&q->lock);
	evcore_catch_tail_locked(r, c);
	lost = c->owed;
	c->owed = 0;
	seen = evcore_refused_at_locked(q, c->pos);
	lost += seen - c->seen;
	c->seen = seen;
	return lost;
}

/* queue.c */
struct evcore_queue *evcore_queue_get(struct evcore_queue *q);
void evcore_pop_tail_locked(struct evcore_queue *q);
void evcore_reclaim_locked(struct evcore_queue *q, u32 budget);
void evcore_wake_readers(struct evcore_queue *q, __poll_t mask);
void evcore_wake_room(struct evcore_queue *q);

#endif /* _EVCORE_INTERNAL_H */
