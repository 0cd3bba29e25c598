// SPDX-License-Identifier: GPL-2.0
/*
 * evcore: a reusable event queue for character drivers.
 *
 * The producer path: pushes one at a time, in batches and in groups, with
 * the overflow policies.
 * See Documentation/driver-api/evcore.rst.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "evcore_internal.h"
#include "evcore_trace.h"

static u64 evcore_now(clockid_t clock)
{
	switch (clock) {
	case CLOCK_BOOTTIME:
		return ktime_get_boottime_ns();
	case CLOCK_REALTIME:
		return ktime_get_real_ns();
	case CLOCK_TAI:
		return ktime_get_clocktai_ns();
	default:
		return ktime_get_ns();
	}
}

/*
 * Overwrite the oldest record to make room (drop-oldest). The readers
 * standing on it move to the next record; the readers holding a reference
 * on it find the loss when they next look (see evcore_catch_tail_locked()).
 */
static void evcore_overwrite_one_locked(struct evcore_queue *q)
{
	struct evcore_source *owner;
	struct evcore_slot *slot;
	struct evcore_event *ev;
	struct evcore_ring *ring;
	u32 idx, pins;

	lockdep_assert_held(&q->lock);
	ring = evcore_ring_at_locked(q, q->tail, &idx);
	slot = &ring->slots[idx];
	ev = evcore_ring_rec(q, ring, idx);
	owner = q->sources[ev->source_id];
	pins = slot->pins;
	if (owner && evcore_rec_owned_locked(q, ev))
		owner->overwritten++;
	q->cnt.overwritten++;
	trace_evcore_drop(q->name, ev->seq, ev->source_id, ev->source_seq,
			  true);
	slot->pins = 0;
	evcore_pop_rec_locked(q, ev);
	*evcore_pins_at_locked(q, q->tail) += pins;
}

/*
 * Overwrite what is left of the oldest group (one record, for records
 * queued alone), so that a reader never resumes inside a group after a
 * loss. At most %EVCORE_GROUP_MAX records.
 */
static void evcore_overwrite_oldest_locked(struct evcore_queue *q)
{
	u32 n = evcore_slot_locked(q, q->tail)->grp_left;

	lockdep_assert_held(&q->lock);
	do {
		evcore_overwrite_one_locked(q);
	} while (--n && q->tail != q->head);
}

/* Refuse an event because the queue is full (drop-newest, block). */
static void evcore_refuse_locked(struct evcore_queue *q,
				 struct evcore_source *src)
{
	lockdep_assert_held(&q->lock);
	q->cnt.generated++;
	q->cnt.dropped_full++;
	q->refused++;
	src->generated++;
	src->dropped++;
	trace_evcore_drop(q->name, 0, src->id, src->seq, false);
	src->seq++;
}

/*
 * Fill a record's payload of @size bytes (a multiple of 8, the record
 * 8-byte aligned) with the @len bytes at @payload and zeroes after them.
 * Payloads are small, often a word or two: whole words go one by one,
 * cheaper than memcpy() and memset() calls that size.
 */
static __always_inline void evcore_store_payload(u8 *data, const void *payload,
						 size_t len, size_t size)
{
	const u8 *from = payload;
	u64 *w = (u64 *)data;
	size_t i;
	u64 v;

	/* A constant-size memcpy(): one load, aligned or not. */
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&v, from + i, sizeof(v));
		*w++ = v;
	}
	if (i < len) {
		*w = 0;
		memcpy(w++, from + i, len - i);
		i += 8;
	}
	for (; i < size; i += 8)
		*w++ = 0;
}

/*
 * Store one record at the head: record @idx of a group of @n (1 and 0 for
 * a record queued alone).
 */
static void evcore_store_locked(struct evcore_queue *q,
				struct evcore_source *src, u32 flags, u32 aux,
				const void *payload, size_t len, u64 now,
				u32 idx, u32 n)
{
	/* The head is always in the current ring, at head_idx. */
	struct evcore_slot *slot = &q->ring.slots[q->head_idx];
	struct evcore_event *ev = evcore_ring_rec(q, &q->ring, q->head_idx);
	u8 *data = (u8 *)(ev + 1);
	u32 depth;

	lockdep_assert_held(&q->lock);
	evcore_touch_slots(q, 1);
	/* Taken before the lock: never older than the record before. */
	q->last_ts = max(q->last_ts, now);
	ev->seq = q->head;
	ev->source_seq = src->seq++;
	ev->timestamp_ns = q->last_ts;
	ev->lost = 0;
	ev->source_id = src->id;
	ev->flags = flags;
	ev->aux = aux;
	ev->payload_len = len;
	ev->reserved = 0;
	slot->refused_before = q->refused;
	slot->grp_left = n - idx;
	slot->grp_idx = idx;
	/* The filtered readers that want it, and those waiting at the head. */
	slot->refs = q->want[src->id];
	slot->pins = q->head_pins;
	q->head_pins = 0;
	evcore_store_payload(data, payload, len, q->payload_size);

	q->head++;
	q->head_idx = evcore_idx_add(q->head_idx, 1, q->capacity);
	q->cnt.generated++;
	q->cnt.queued++;
	src->generated++;
	src->queued++;
	q->src_total[src->id]++;
	q->src_live[src->id]++;
	depth = evcore_depth_locked(q);
	q->cnt.high_water = max(q->cnt.high_water, depth);
	trace_evcore_push(q->name, ev->seq, src->id, ev->source_seq, depth);
}

static int evcore_check_push_locked(struct evcore_queue *q,
				    struct evcore_source *src)
{
	lockdep_assert_held(&q->lock);
	if (q->shutdown)
		return -ESHUTDOWN;
	if (!src->registered)
		return -ENODEV;
	if (!src->enabled)
		return -ENODATA;
	return 0;
}

/* How a push waits when the block policy finds the queue full. */
enum evcore_push_mode {
	EVCORE_PUSH_ATOMIC,	/* refuse the event, as under drop-newest */
	EVCORE_PUSH_NONBLOCK,	/* return -EAGAIN, the producer keeps it */
	EVCORE_PUSH_SLEEP,	/* sleep until there is room */
};

static bool evcore_room_or_gone(struct evcore_queue *q,
				struct evcore_source *src)
{
	unsigned long flags;
	bool ret;

	evcore_lock(q, flags);
	ret = q->shutdown || !src->registered || evcore_has_room_locked(q);
	evcore_unlock(q, flags);
	return ret;
}

/*
 * Queue an event, or apply the overflow policy. Sets in @wake what the
 * readers must be woken with.
 * Return: 0 when queued, 1 when a sleeping producer must wait for room,
 * or a negative errno as evcore_push_wait().
 */
static int evcore_push_locked(struct evcore_queue *q,
			      struct evcore_source *src, u32 flags, u32 aux,
			      const void *payload, size_t len, u64 now,
			      enum evcore_push_mode mode, __poll_t *wake)
{
	int ret;

	lockdep_assert_held(&q->lock);
	ret = evcore_check_push_locked(q, src);
	if (ret)
		return ret;
	if (len > q->payload_size)
		return -EMSGSIZE;
	/* Free what no reader needs (what filtered readers skip) first. */
	evcore_reclaim_locked(q, EVCORE_RECLAIM_PUSH);
	if (evcore_depth_locked(q) < q->capacity) {
		*wake = EPOLLIN | EPOLLRDNORM;
	} else if (q->policy == EVCORE_POLICY_DROP_OLDEST) {
		evcore_overwrite_oldest_locked(q);
		*wake = EPOLLIN | EPOLLRDNORM | EPOLLPRI;
	} else if (q->policy != EVCORE_POLICY_BLOCK ||
		   mode == EVCORE_PUSH_ATOMIC) {
		evcore_refuse_locked(q, src);
		*wake = EPOLLIN | EPOLLRDNORM | EPOLLPRI;
		return -ENOSPC;
	} else if (mode == EVCORE_PUSH_NONBLOCK) {
		q->cnt.would_block++;
		return -EAGAIN;
	} else {
		return 1;
	}
	evcore_store_locked(q, src, flags, aux, payload, len, now, 0, 1);
	return 0;
}

/*
 * Wait for room and queue, for a producer that evcore_push_locked() told
 * to sleep. The caller passes a queue reference and a sleeper count on
 * @src, which this drops.
 */
static int evcore_push_sleep(struct evcore_queue *q, struct evcore_source *src,
			     u32 flags, u32 aux, const void *payload,
			     size_t len)
{
	bool idle = false;
	unsigned long irqflags;
	__poll_t wake;
	u64 now;
	int ret;

	do {
		wake = 0;
		ret = wait_event_interruptible(q->room_wait,
					       evcore_room_or_gone(q, src));
		now = ret ? 0 : evcore_now(q->clock);
		evcore_lock(q, irqflags);
		if (!ret)
			ret = evcore_push_locked(q, src, flags, aux, payload,
						 len, now, EVCORE_PUSH_SLEEP,
						 &wake);
		if (ret <= 0 && !--src->sleepers)
			idle = !src->registered;
		evcore_unlock(q, irqflags);
		if (wake)
			evcore_wake_readers(q, wake);
	} while (ret > 0);

	/* @src may be freed from here on: evcore_source_unregister() waits. */
	if (idle)
		wake_up_all(&q->room_wait);
	evcore_queue_put(q);
	return ret;
}

static int __evcore_push(struct evcore_source *src, u32 flags, u32 aux,
			 const void *payload, size_t len,
			 enum evcore_push_mode mode)
{
	struct evcore_queue *q;
	unsigned long irqflags;
	__poll_t wake = 0;
	u64 now;
	int ret;

	if (flags & ~EVCORE_EVENT_SOURCE_FLAGS)
		return -EINVAL;

	/*
	 * The RCU read section covers everything this does with the queue
	 * it found in src->queue, so a concurrent evcore_source_unregister()
	 * cannot free that queue under it.
	 */
	rcu_read_lock();
	q = rcu_dereference(src->queue);
	if (!q) {
		ret = -ENODEV;
		goto out_rcu;
	}
	trace_evcore_push_begin(q->name, src->id);
	/* A clock read costs; keep it out of the lock hold. */
	now = evcore_now(q->clock);
	evcore_lock(q, irqflags);
	ret = evcore_push_locked(q, src, flags, aux, payload, len, now, mode,
				 &wake);
	if (ret > 0) {
		src->sleepers++;
		evcore_queue_get(q);
	}
	evcore_unlock(q, irqflags);
	if (wake)
		evcore_wake_readers(q, wake);
out_rcu:
	rcu_read_unlock();
	if (ret > 0)
		ret = evcore_push_sleep(q, src, flags, aux, payload, len);
	return ret;
}

/**
 * evcore_push() - queue an event
 * @src: a registered source
 * @flags: source flags for the record, within %EVCORE_EVENT_SOURCE_FLAGS
 * @aux: source-defined value for the record
 * @payload: @len bytes of payload, or NULL when @len is 0
 * @len: payload length, at most the queue's payload size
 *
 * Takes the timestamp (read just before the queue lock; never older than
 * the previous record's) and the sequence numbers, applies the overflow
 * policy, updates the statistics and wakes readers. Never sleeps and never
 * allocates; its cost does not depend on the number of readers. Under the
 * block policy a full queue refuses the event, as under drop-newest.
 *
 * Context: Any context but NMI on kernels without PREEMPT_RT. On PREEMPT_RT
 * the queue lock is a sleeping spinlock_t: push from threaded interrupt
 * handlers, softirq hrtimers (not %HRTIMER_MODE_HARD), workqueues or
 * process context, never from hard interrupt context (hard hrtimers,
 * %IRQF_NO_THREAD handlers, under a raw_spinlock_t). Lockdep's raw-lock
 * nesting check reports a push from those on every kernel.
 * Return: 0 when queued; -ENOSPC when refused because the queue is full
 * (counted as dropped, reported in-band); -EINVAL for @flags outside
 * %EVCORE_EVENT_SOURCE_FLAGS; -EMSGSIZE when @len is too large; -ENODEV
 * when @src is not registered; -ENODATA when @src is disabled; -ESHUTDOWN
 * after shutdown.
 */
int evcore_push(struct evcore_source *src, u32 flags, u32 aux,
		const void *payload, size_t len)
{
	return __evcore_push(src, flags, aux, payload, len,
			     EVCORE_PUSH_ATOMIC);
}
EXPORT_SYMBOL_NS_GPL(evcore_push, EVCORE_NS);

/**
 * evcore_push_many() - queue several copies of one event
 * @src: a registered source
 * @flags: as for evcore_push()
 * @aux: as for evcore_push()
 * @payload: as for evcore_push()
 * @len: as for evcore_push()
 * @n: how many events
 *
 * Queues @n events as @n calls of evcore_push() would, each queued,
 * overwriting the oldest or refused by the policy on its own, but with one
 * clock read, one lock hold and one wake-up of the readers per
 * %EVCORE_PUSH_BATCH events (and 8 KiB of records, but always one): the
 * events of one hold share a timestamp.
 * Interrupts are enabled again between holds, but the call does not
 * reschedule: callers with large counts in process context split them and
 * call cond_resched() in between.
 *
 * Context: as evcore_push().
 * Return: how many were queued (those not queued were refused and counted,
 * as by evcore_push()'s -ENOSPC); when none was queued because of an
 * error, the error of evcore_push(). Where an error (say -ENODEV from a
 * concurrent unregister) stops the pushes after some were queued, the
 * count of those. The arguments are checked before any push, so even when
 * @n is 0: -EINVAL for @flags outside %EVCORE_EVENT_SOURCE_FLAGS or @n
 * above %INT_MAX, -ENODEV when @src is not registered. Otherwise @n 0
 * queues nothing and returns 0: @len, a disabled source and a shut-down
 * queue are checked per event, as by evcore_push().
 */
int evcore_push_many(struct evcore_source *src, u32 flags, u32 aux,
		     const void *payload, size_t len, u32 n)
{
	u32 queued = 0, done = 0, i, batch;
	struct evcore_queue *q;
	unsigned long irqflags;
	__poll_t wake, w;
	int ret = 0;
	u64 now;

	if (flags & ~EVCORE_EVENT_SOURCE_FLAGS)
		return -EINVAL;
	if (n > INT_MAX)
		return -EINVAL;

	/* As in __evcore_push(): the queue stays while the section lasts. */
	rcu_read_lock();
	q = rcu_dereference(src->queue);
	if (!q) {
		ret = -ENODEV;
		goto out_rcu;
	}
	while (done < n) {
		batch = min_t(u32, n - done, EVCORE_PUSH_BATCH);
		batch = min_t(u32, batch, max_t(size_t, 1, EVCORE_PUSH_BYTES /
						q->record_size));
		wake = 0;
		trace_evcore_push_begin(q->name, src->id);
		now = evcore_now(q->clock);
		evcore_lock(q, irqflags);
		for (i = 0; i < batch; i++) {
			w = 0;
			ret = evcore_push_locked(q, src, flags, aux, payload,
						 len, now, EVCORE_PUSH_ATOMIC, &w);
			wake |= w;
			if (!ret)
				queued++;
			else if (ret != -ENOSPC)
				break;
		}
		evcore_unlock(q, irqflags);
		if (wake)
			evcore_wake_readers(q, wake);
		if (i < batch)
			break;
		done += batch;
	}
out_rcu:
	rcu_read_unlock();
	if (queued || !ret || ret == -ENOSPC)
		return queued;
	return ret;
}
EXPORT_SYMBOL_NS_GPL(evcore_push_many, EVCORE_NS);

/*
 * Make room for a group of @n records under the policy: 0 when there is
 * room now (drop-oldest overwrites whole groups at the tail for it),
 * -ENOSPC when the group must be refused. Sets in @wake what the readers
 * must be woken with. At most @n + %EVCORE_RECLAIM_PUSH records freed and
 * @n + %EVCORE_GROUP_MAX - 1 overwritten.
 */
static int evcore_group_room_locked(struct evcore_queue *q, u32 n,
				    __poll_t *wake)
{
	lockdep_assert_held(&q->lock);
	/* Free what no reader needs first, as much as the group needs. */
	evcore_reclaim_locked(q, n + EVCORE_RECLAIM_PUSH);
	*wake = EPOLLIN | EPOLLRDNORM;
	if (q->capacity - evcore_depth_locked(q) >= n)
		return 0;
	*wake |= EPOLLPRI;
	if (q->policy != EVCORE_POLICY_DROP_OLDEST)
		return -ENOSPC;
	while (q->capacity - evcore_depth_locked(q) < n)
		evcore_overwrite_oldest_locked(q);
	return 0;
}

/*
 * Check a group's sources under the queue lock: each must be registered
 * on @q. Return how many are enabled (the records the group will have),
 * or a negative errno.
 */
static int evcore_group_check_locked(struct evcore_queue *q,
				     const struct evcore_push_item *items,
				     u32 n)
{
	struct evcore_source *src;
	u32 i, live = 0;

	lockdep_assert_held(&q->lock);
	if (q->shutdown)
		return -ESHUTDOWN;
	for (i = 0; i < n; i++) {
		src = items[i].src;
		if (!src->registered || rcu_access_pointer(src->queue) != q)
			return -ENODEV;
		live += src->enabled;
	}
	if (!live)
		return -ENODATA;
	if (live > q->capacity)
		return -E2BIG;
	return live;
}

/**
 * evcore_push_batch() - queue several events as one group
 * @q: the queue
 * @items: the events, in order; each names its source, registered on @q
 * @n: how many, 1 to evcore_queue_max_group()
 * @timestamp_ns: the group's timestamp on the queue's clock, or 0 to read
 *	the clock once before the lock is taken; never older than the
 *	previous record's (a later one is taken instead)
 *
 * Queues the events as one group: consecutive sequence numbers, one
 * timestamp, every record but the last flagged %EVCORE_EVENT_GROUP_MORE.
 * The group is queued, refused or overwritten whole: under drop-newest and
 * under block (this never sleeps) a group that does not fit is refused,
 * every event of it counted as dropped and reported in-band before the
 * next group; under drop-oldest whole groups are overwritten at the tail
 * until it fits. A read then never returns part of a group after a loss
 * record, and returns a group whole whenever the buffer can hold it (see
 * evcore_read()). Items of disabled sources are left out, uncounted, as
 * their evcore_push() would be.
 *
 * One hold of the queue lock, no allocation, one wake-up of the readers;
 * the work under the lock is bounded by the group's size
 * (evcore_queue_max_group(), at most %EVCORE_GROUP_MAX), never by the
 * capacity, the depth or the readers. The caller holds a reference on @q;
 * it must not free a source while pushing on it, as for evcore_push().
 *
 * Context: as evcore_push().
 * Return: the number of records queued (@n less the items of disabled
 * sources); -ENOSPC when the group was refused because the queue is full
 * (its events counted as dropped); -EINVAL when @n is 0, an item has no
 * source or has flags outside %EVCORE_EVENT_SOURCE_FLAGS; -EMSGSIZE when a
 * payload is too large; -E2BIG when the group is larger than
 * evcore_queue_max_group() or the queue's capacity; -ENODEV when a source
 * is not registered on @q; -ENODATA when every source is disabled;
 * -ESHUTDOWN after shutdown. On an error but -ENOSPC nothing was queued or
 * counted.
 */
int evcore_push_batch(struct evcore_queue *q,
		      const struct evcore_push_item *items, u32 n,
		      u64 timestamp_ns)
{
	const struct evcore_push_item *it;
	unsigned long irqflags;
	__poll_t wake = 0;
	u32 i, idx = 0;
	int live;
	u64 now;

	if (!n)
		return -EINVAL;
	if (n > q->max_group)
		return -E2BIG;
	for (i = 0; i < n; i++) {
		if (!items[i].src || items[i].flags & ~EVCORE_EVENT_SOURCE_FLAGS)
			return -EINVAL;
		if (items[i].len > q->payload_size)
			return -EMSGSIZE;
	}
	/* A clock read costs; keep it out of the lock hold. */
	now = timestamp_ns ? timestamp_ns : evcore_now(q->clock);

	/* As in __evcore_push(): an unregister waits for this section. */
	rcu_read_lock();
	evcore_lock(q, irqflags);
	live = evcore_group_check_locked(q, items, n);
	if (live < 0)
		goto out_unlock;
	if (evcore_group_room_locked(q, live, &wake)) {
		for (i = 0; i < n; i++)
			if (items[i].src->enabled)
				evcore_refuse_locked(q, items[i].src);
		live = -ENOSPC;
		goto out_unlock;
	}
	if (live > 1)
		q->grouped = true;
	for (i = 0; i < n; i++) {
		it = &items[i];
		if (!it->src->enabled)
			continue;
		evcore_store_locked(q, it->src, it->flags |
				    (idx + 1 < live ? EVCORE_EVENT_GROUP_MORE : 0),
				    it->aux, it->payload, it->len, now, idx,
				    live);
		idx++;
	}
out_unlock:
	evcore_unlock(q, irqflags);
	if (wake)
		evcore_wake_readers(q, wake);
	rcu_read_unlock();
	return live;
}
EXPORT_SYMBOL_NS_GPL(evcore_push_batch, EVCORE_NS);

/**
 * evcore_push_wait() - queue an event, waiting for room under the block
 * policy
 * @src: a registered source
 * @flags: as for evcore_push()
 * @aux: as for evcore_push()
 * @payload: as for evcore_push()
 * @len: as for evcore_push()
 * @nonblock: return -EAGAIN instead of sleeping
 *
 * Under the drop-newest and drop-oldest policies this is evcore_push().
 * Under the block policy, when the queue is full it sleeps until a reader
 * frees a record, or returns -EAGAIN at once when @nonblock: the event is
 * neither queued nor counted as generated, the would_block counter counts
 * the call, and poll() reports EPOLLOUT once there is room.
 *
 * Context: Process context; sleeps unless @nonblock.
 * Return: as evcore_push(), plus -EAGAIN when @nonblock and the queue is
 * full, -ERESTARTSYS when a signal interrupted the wait (nothing queued),
 * -ENODEV when @src was unregistered while waiting.
 */
int evcore_push_wait(struct evcore_source *src, u32 flags, u32 aux,
		     const void *payload, size_t len, bool nonblock)
{
	if (!nonblock)
		might_sleep();
	return __evcore_push(src, flags, aux, payload, len,
			     nonblock ? EVCORE_PUSH_NONBLOCK :
					EVCORE_PUSH_SLEEP);
}
EXPORT_SYMBOL_NS_GPL(evcore_push_wait, EVCORE_NS);
