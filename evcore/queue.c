// SPDX-License-Identifier: GPL-2.0
/*
 * evcore: a reusable event queue for character drivers.
 *
 * The queue: its lifetime, the ring it owns (resize, reclaim), the overflow
 * policy, statistics and wake-ups, and the module itself.
 * See Documentation/driver-api/evcore.rst.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "evcore_internal.h"

#define CREATE_TRACE_POINTS
#include "evcore_trace.h"

/* For the self-tests, which widen races by probing them. */
EXPORT_TRACEPOINT_SYMBOL_GPL(evcore_push_begin);
EXPORT_TRACEPOINT_SYMBOL_GPL(evcore_walk);

static const char * const evcore_policy_names[] = {
	[EVCORE_POLICY_DROP_NEWEST]	= "drop-newest",
	[EVCORE_POLICY_DROP_OLDEST]	= "drop-oldest",
	[EVCORE_POLICY_BLOCK]		= "block",
};

/**
 * evcore_policy_name() - name of an overflow policy
 * @policy: an ``EVCORE_POLICY_*`` value
 *
 * Context: Any context.
 * Return: "drop-newest", "drop-oldest" or "block"; "unknown" for any other
 * value.
 */
const char *evcore_policy_name(u32 policy)
{
	if (policy >= ARRAY_SIZE(evcore_policy_names))
		return "unknown";
	return evcore_policy_names[policy];
}
EXPORT_SYMBOL_NS_GPL(evcore_policy_name, EVCORE_NS);

/**
 * evcore_policy_parse() - parse the name of an overflow policy
 * @buf: "drop-newest", "drop-oldest" or "block", optionally followed by a
 *	newline, as written to a sysfs attribute
 *
 * Context: Any context.
 * Return: the ``EVCORE_POLICY_*`` value, or -EINVAL for any other string.
 */
int evcore_policy_parse(const char *buf)
{
	return sysfs_match_string(evcore_policy_names, buf);
}
EXPORT_SYMBOL_NS_GPL(evcore_policy_parse, EVCORE_NS);

/*
 * Wake-ups. Every wake of the readers sends SIGIO to the subscribers with
 * the band of what woke them; room for producers sends POLL_OUT.
 */
void evcore_wake_readers(struct evcore_queue *q, __poll_t mask)
{
	/* Ordered before the look at the wait queue by wq_has_sleeper(). */
	atomic_inc(&q->wake_gen);
	if (wq_has_sleeper(&q->wait))
		wake_up_interruptible_poll(&q->wait, mask);
	kill_fasync(&q->fasync, SIGIO, mask & EPOLLPRI ? POLL_PRI : POLL_IN);
}

void evcore_wake_room(struct evcore_queue *q)
{
	if (wq_has_sleeper(&q->room_wait))
		wake_up_interruptible_poll(&q->room_wait,
					   EPOLLOUT | EPOLLWRNORM);
	kill_fasync(&q->fasync, SIGIO, POLL_OUT);
}

static int evcore_ring_alloc(struct evcore_ring *ring, u32 capacity,
			     size_t record_size)
{
	ring->recs = kvcalloc(capacity, record_size, GFP_KERNEL_ACCOUNT);
	if (!ring->recs)
		return -ENOMEM;
	ring->slots = kvcalloc(capacity, sizeof(*ring->slots),
			       GFP_KERNEL_ACCOUNT);
	if (!ring->slots) {
		kvfree(ring->recs);
		ring->recs = NULL;
		return -ENOMEM;
	}
	ring->capacity = capacity;
	return 0;
}

static void evcore_ring_free(struct evcore_ring *ring)
{
	kvfree(ring->slots);
	kvfree(ring->recs);
}

static size_t evcore_ring_bytes(struct evcore_queue *q, u32 capacity)
{
	return (size_t)capacity * (q->record_size + sizeof(struct evcore_slot));
}

static void evcore_queue_release(struct kref *ref)
{
	struct evcore_queue *q = container_of(ref, struct evcore_queue, ref);

	evcore_ring_free(&q->ring);
	kfree(q);
}

/**
 * evcore_queue_create() - create an event queue
 * @cfg: parameters; copied, except @cfg->name which must outlive the queue
 *
 * The caller holds the only reference; evcore_queue_put() drops it. The
 * queue and its ring are charged to the caller's memory cgroup.
 *
 * Context: Process context, may sleep.
 * Return: the queue, ERR_PTR(-EINVAL) when @cfg is out of range (see
 * &struct evcore_config), or ERR_PTR(-ENOMEM).
 */
struct evcore_queue *evcore_queue_create(const struct evcore_config *cfg)
{
	struct evcore_queue *q;

	if (!cfg || !cfg->name || !cfg->capacity ||
	    cfg->capacity > EVCORE_MAX_CAPACITY ||
	    cfg->payload_size > EVCORE_MAX_PAYLOAD ||
	    cfg->payload_size % 8 ||
	    cfg->policy >= ARRAY_SIZE(evcore_policy_names))
		return ERR_PTR(-EINVAL);
	switch (cfg->clock) {
	case CLOCK_MONOTONIC:
	case CLOCK_BOOTTIME:
	case CLOCK_REALTIME:
	case CLOCK_TAI:
		break;
	default:
		return ERR_PTR(-EINVAL);
	}

	q = kzalloc(sizeof(*q), GFP_KERNEL_ACCOUNT);
	if (!q)
		return ERR_PTR(-ENOMEM);
	q->name = cfg->name;
	q->capacity = cfg->capacity;
	q->payload_size = cfg->payload_size;
	q->record_size = sizeof(struct evcore_event) + cfg->payload_size;
	q->batch = min_t(size_t, EVCORE_BATCH_MAX,
			 max_t(size_t, 1, EVCORE_BATCH_BYTES / q->record_size));
	q->batch_bytes = q->batch * q->record_size;
	q->max_group = min_t(size_t, EVCORE_GROUP_MAX,
			     max_t(size_t, 1, EVCORE_GROUP_BYTES /
				   q->record_size));
	q->rs_recip = reciprocal_value(q->record_size);
	q->policy = cfg->policy;
	q->clock = cfg->clock;
	if (evcore_ring_alloc(&q->ring, q->capacity, q->record_size))
		goto err_free_queue;

	spin_lock_init(&q->lock);
	mutex_init(&q->resize_lock);
	init_waitqueue_head(&q->wait);
	init_waitqueue_head(&q->room_wait);
	kref_init(&q->ref);
	return q;

err_free_queue:
	kfree(q);
	return ERR_PTR(-ENOMEM);
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_create, EVCORE_NS);

/* Take a reference on @q and return it. */
struct evcore_queue *evcore_queue_get(struct evcore_queue *q)
{
	kref_get(&q->ref);
	return q;
}

/**
 * evcore_queue_put() - drop a reference on a queue
 * @q: the queue, or NULL
 *
 * The queue is freed with its last reference. A driver removing its device
 * calls evcore_queue_shutdown() first, so readers still open are told.
 *
 * Context: Process context.
 */
void evcore_queue_put(struct evcore_queue *q)
{
	if (q)
		kref_put(&q->ref, evcore_queue_release);
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_put, EVCORE_NS);

/**
 * evcore_queue_shutdown() - stop a queue for good
 * @q: the queue
 *
 * Wakes every sleeping reader and producer. From now on pushes fail with
 * -ESHUTDOWN, reads with -ENODEV and poll reports EPOLLHUP | EPOLLERR.
 * Calling it again does nothing.
 *
 * Context: Any context.
 */
void evcore_queue_shutdown(struct evcore_queue *q)
{
	unsigned long flags;

	evcore_lock(q, flags);
	WRITE_ONCE(q->shutdown, true);
	evcore_unlock(q, flags);

	atomic_inc(&q->wake_gen);
	wake_up_interruptible_poll(&q->wait, EPOLLHUP | EPOLLERR);
	wake_up_all(&q->room_wait);
	kill_fasync(&q->fasync, SIGIO, POLL_HUP);
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_shutdown, EVCORE_NS);

/**
 * evcore_queue_is_shutdown() - whether evcore_queue_shutdown() was called
 * @q: the queue
 *
 * Context: Any context.
 * Return: true after shutdown.
 */
bool evcore_queue_is_shutdown(struct evcore_queue *q)
{
	return READ_ONCE(q->shutdown);
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_is_shutdown, EVCORE_NS);

static void evcore_devm_release(void *q)
{
	evcore_queue_shutdown(q);
	evcore_queue_put(q);
}

/**
 * devm_evcore_queue_create() - create a queue bound to a device
 * @dev: the device
 * @cfg: parameters, as for evcore_queue_create()
 *
 * When @dev is unbound the queue is shut down and the reference dropped.
 *
 * Context: Process context, may sleep.
 * Return: the queue or an ERR_PTR() as evcore_queue_create().
 */
struct evcore_queue *devm_evcore_queue_create(struct device *dev,
					      const struct evcore_config *cfg)
{
	struct evcore_queue *q;
	int ret;

	q = evcore_queue_create(cfg);
	if (IS_ERR(q))
		return q;
	ret = devm_add_action_or_reset(dev, evcore_devm_release, q);
	if (ret)
		return ERR_PTR(ret);
	return q;
}
EXPORT_SYMBOL_NS_GPL(devm_evcore_queue_create, EVCORE_NS);

/**
 * evcore_record_size() - size of the records a queue's readers get
 * @q: the queue
 *
 * Context: Any context.
 * Return: ``sizeof(struct evcore_event)`` plus the payload size.
 */
size_t evcore_record_size(const struct evcore_queue *q)
{
	return q->record_size;
}
EXPORT_SYMBOL_NS_GPL(evcore_record_size, EVCORE_NS);

/**
 * evcore_queue_payload_size() - payload bytes of each record
 * @q: the queue
 *
 * Context: Any context.
 * Return: the payload size from the config.
 */
u32 evcore_queue_payload_size(const struct evcore_queue *q)
{
	return q->payload_size;
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_payload_size, EVCORE_NS);

/**
 * evcore_queue_capacity() - number of records a queue holds
 * @q: the queue
 *
 * Context: Any context.
 * Return: the capacity.
 */
u32 evcore_queue_capacity(struct evcore_queue *q)
{
	return READ_ONCE(q->capacity);
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_capacity, EVCORE_NS);

/**
 * evcore_queue_max_group() - the largest group a queue takes
 * @q: the queue
 *
 * A group of evcore_push_batch() is stored, and read, in one hold of the
 * queue lock, so it is at most %EVCORE_GROUP_MAX records and at most
 * %EVCORE_GROUP_BYTES of them (but at least one record): 256 records of 56
 * bytes, 146 of 112. It must also fit the queue's capacity.
 *
 * Context: Any context.
 * Return: the most records evcore_push_batch() takes at once on @q.
 */
u32 evcore_queue_max_group(const struct evcore_queue *q)
{
	return q->max_group;
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_max_group, EVCORE_NS);

/*
 * Free every record at the tail that no reader needs, a bounded batch per
 * lock hold.
 */
static void evcore_reclaim_all(struct evcore_queue *q)
{
	unsigned long flags;
	bool more, room;

	do {
		evcore_lock(q, flags);
		room = !evcore_has_room_locked(q);
		evcore_reclaim_locked(q, EVCORE_RECLAIM_MAX);
		more = evcore_tail_free_locked(q);
		room = room && evcore_has_room_locked(q);
		evcore_unlock(q, flags);
		if (room)
			evcore_wake_room(q);
		cond_resched();
	} while (more);
}

/*
 * Copy the records still in @q->old into @q->ring, newest first, a
 * bounded batch per lock hold, then take the old ring out of the queue and
 * return it to be freed.
 */
static struct evcore_ring evcore_move_old(struct evcore_queue *q)
{
	u32 batch = max_t(size_t, 1, EVCORE_MOVE_BYTES /
			  (q->record_size + sizeof(struct evcore_slot)));
	struct evcore_ring old = {};
	struct evcore_ring *from;
	unsigned long flags;
	u32 n, idx, to;
	bool done;
	u64 seq;

	do {
		evcore_lock(q, flags);
		for (n = 0; n < batch && q->old_split > q->tail; n++) {
			seq = q->old_split - 1;
			from = evcore_ring_at_locked(q, seq, &idx);
			to = evcore_ring_idx(q->head, q->head_idx, q->capacity,
					     seq);
			memcpy(evcore_ring_rec(q, &q->ring, to),
			       evcore_ring_rec(q, from, idx), q->record_size);
			q->ring.slots[to] = from->slots[idx];
			evcore_touch_slots(q, 1);
			q->old_split = seq;
		}
		done = q->old_split <= q->tail;
		if (done) {
			old = q->old;
			q->old = (struct evcore_ring){};
			q->old_split = 0;
		}
		evcore_unlock(q, flags);
		if (!done)
			cond_resched();
	} while (!done);
	return old;
}

/**
 * evcore_queue_resize() - change the number of records a queue holds
 * @q: the queue
 * @capacity: new capacity, 1 to %EVCORE_MAX_CAPACITY
 *
 * The records held, the sequence numbers and every reader's position are
 * kept. The new ring takes over at once, under the queue lock for a time
 * that does not depend on either capacity; the records held are then
 * moved into it a bounded batch per lock hold, while producers and readers
 * go on. Sleeping readers are woken (the watermark is capped at the
 * capacity), and so are producers blocked on a full queue that now has
 * room. The new ring is charged to the caller's memory cgroup.
 *
 * Context: Process context, may sleep.
 * Return: 0; -EINVAL when @capacity is out of range; -EBUSY when more
 * records are held than @capacity: nothing is changed, but that the
 * records no reader needs any more are let go first, as the next push or
 * read would; -ENOMEM.
 */
int evcore_queue_resize(struct evcore_queue *q, u32 capacity)
{
	struct evcore_ring ring, old;
	unsigned long flags;
	u32 depth;
	bool room;
	int ret;

	if (!capacity || capacity > EVCORE_MAX_CAPACITY)
		return -EINVAL;

	mutex_lock(&q->resize_lock);
	ret = 0;
	if (capacity == q->capacity)
		goto out_unlock;
	ret = evcore_ring_alloc(&ring, capacity, q->record_size);
	if (ret)
		goto out_unlock;
	/* Only what some reader needs counts against the new capacity. */
	evcore_reclaim_all(q);

	evcore_lock(q, flags);
	room = !evcore_has_room_locked(q);
	depth = evcore_depth_locked(q);
	if (depth > capacity) {
		evcore_unlock(q, flags);
		evcore_ring_free(&ring);
		ret = -EBUSY;
		goto out_unlock;
	}
	/* The held records [tail, head) stay where they are for now. */
	q->old = q->ring;
	q->old_end = q->head;
	q->old_end_idx = q->head_idx;
	q->old_split = q->head;
	q->ring = ring;
	WRITE_ONCE(q->capacity, capacity);
	q->head_idx = depth == capacity ? 0 : depth;
	room = room && evcore_has_room_locked(q);
	evcore_unlock(q, flags);

	/*
	 * A smaller capacity can bring a watermark within reach, a larger
	 * one gives blocked producers room.
	 */
	evcore_wake_readers(q, EPOLLIN | EPOLLRDNORM);
	if (room)
		evcore_wake_room(q);

	old = evcore_move_old(q);
	evcore_ring_free(&old);
out_unlock:
	mutex_unlock(&q->resize_lock);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_resize, EVCORE_NS);

/**
 * evcore_queue_policy() - current overflow policy
 * @q: the queue
 *
 * Context: Any context.
 * Return: an ``EVCORE_POLICY_*`` value.
 */
u32 evcore_queue_policy(struct evcore_queue *q)
{
	return READ_ONCE(q->policy);
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_policy, EVCORE_NS);

/**
 * evcore_queue_set_policy() - change the overflow policy
 * @q: the queue
 * @policy: an ``EVCORE_POLICY_*`` value
 *
 * Applies to the next push. Producers sleeping under the block policy are
 * woken when it is left.
 *
 * Context: Any context.
 * Return: 0, or -EINVAL for an unknown policy (nothing is changed).
 */
int evcore_queue_set_policy(struct evcore_queue *q, u32 policy)
{
	unsigned long flags;
	bool room;

	if (policy >= ARRAY_SIZE(evcore_policy_names))
		return -EINVAL;
	evcore_lock(q, flags);
	room = !evcore_has_room_locked(q);
	WRITE_ONCE(q->policy, policy);
	room = room && evcore_has_room_locked(q);
	evcore_unlock(q, flags);
	if (room)
		evcore_wake_room(q);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_set_policy, EVCORE_NS);

/**
 * evcore_queue_get_stats() - snapshot of a queue's statistics
 * @q: the queue
 * @st: filled in
 *
 * Context: Any context.
 */
void evcore_queue_get_stats(struct evcore_queue *q, struct evcore_stats *st)
{
	unsigned long flags;

	evcore_lock(q, flags);
	st->generated = q->cnt.generated;
	st->queued = q->cnt.queued;
	st->delivered = q->cnt.delivered;
	st->dropped_full = q->cnt.dropped_full;
	st->overwritten = q->cnt.overwritten;
	st->would_block = q->cnt.would_block;
	st->next_seq = q->head;
	st->depth = evcore_depth_locked(q);
	st->high_water = q->cnt.high_water;
	st->capacity = q->capacity;
	st->readers = q->nr_readers;
	st->policy = q->policy;
	st->memory = sizeof(*q) + evcore_ring_bytes(q, q->capacity) +
		     q->reader_bytes;
	if (q->old.recs)
		st->memory += evcore_ring_bytes(q, q->old.capacity);
	evcore_unlock(q, flags);
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_get_stats, EVCORE_NS);

/**
 * evcore_queue_reset_stats() - zero the statistics
 * @q: the queue
 *
 * Zeroes the queue's and its sources' counters; the high-water mark
 * restarts from the current depth. Sequence numbers, positions and what
 * readers are owed (loss records included) are not touched.
 *
 * Context: Any context.
 */
void evcore_queue_reset_stats(struct evcore_queue *q)
{
	struct evcore_source *src;
	unsigned long flags;
	unsigned int id;

	evcore_lock(q, flags);
	memset(&q->cnt, 0, sizeof(q->cnt));
	q->cnt.high_water = evcore_depth_locked(q);
	for (id = 1; id <= EVCORE_SOURCE_ID_MAX; id++) {
		src = q->sources[id];
		if (!src)
			continue;
		src->generated = 0;
		src->queued = 0;
		src->dropped = 0;
		src->overwritten = 0;
	}
	memset(q->src_delivered, 0, sizeof(q->src_delivered));
	evcore_unlock(q, flags);
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_reset_stats, EVCORE_NS);

#ifdef CONFIG_EVCORE_DEBUG
/**
 * evcore_queue_debug_stats() - what the holders of a queue's lock did
 * @q: the queue
 * @st: filled in
 * @reset: start the counts and maxima again from zero afterwards
 *
 * Only with CONFIG_EVCORE_DEBUG: a test checks with it that the work done
 * under the queue lock is bounded. This call's own hold is not counted.
 *
 * Context: Any context.
 */
void evcore_queue_debug_stats(struct evcore_queue *q,
			      struct evcore_debug_stats *st, bool reset)
{
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	*st = q->dbg;
	if (reset)
		memset(&q->dbg, 0, sizeof(q->dbg));
	spin_unlock_irqrestore(&q->lock, flags);
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_debug_stats, EVCORE_NS);
#endif

MODULE_DESCRIPTION("evcore: event queue, source registry and reader helpers for character drivers");
MODULE_AUTHOR("evcore developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(EVCORE_VERSION);
