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

/* For the self-tests, which widen races by probing it. */
EXPORT_TRACEPOINT_SYMBOL_GPL(evcore_push_begin);

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

/* Take the tail record out of the ring; its readers are already dealt with. */
void evcore_pop_tail_locked(struct evcore_queue *q)
{
	lockdep_assert_held(&q->lock);
	q->src_live[evcore_slot_locked(q, q->tail)->ev.source_id]--;
	q->tail++;
}

/* Free up to @budget records at the tail that no reader needs. */
void evcore_reclaim_locked(struct evcore_queue *q, u32 budget)
{
	lockdep_assert_held(&q->lock);
	while (budget-- && evcore_tail_free_locked(q))
		evcore_pop_tail_locked(q);
}

/*
 * Wake-ups. Every wake of the readers sends SIGIO to the subscribers with
 * the band of what woke them; room for producers sends POLL_OUT.
 */
void evcore_wake_readers(struct evcore_queue *q, __poll_t mask)
{
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

static void evcore_queue_release(struct kref *ref)
{
	struct evcore_queue *q = container_of(ref, struct evcore_queue, ref);

	kvfree(q->ring);
	kfree(q);
}

/**
 * evcore_queue_create() - create an event queue
 * @cfg: parameters; copied, except @cfg->name which must outlive the queue
 *
 * The caller holds the only reference; evcore_queue_put() drops it.
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

	q = kzalloc(sizeof(*q), GFP_KERNEL);
	if (!q)
		return ERR_PTR(-ENOMEM);
	q->name = cfg->name;
	q->capacity = cfg->capacity;
	q->payload_size = cfg->payload_size;
	q->record_size = sizeof(struct evcore_event) + cfg->payload_size;
	q->slot_size = sizeof(struct evcore_slot) + cfg->payload_size;
	q->policy = cfg->policy;
	q->clock = cfg->clock;
	q->ring = kvcalloc(q->capacity, q->slot_size, GFP_KERNEL);
	if (!q->ring)
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

	spin_lock_irqsave(&q->lock, flags);
	WRITE_ONCE(q->shutdown, true);
	spin_unlock_irqrestore(&q->lock, flags);

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
 * evcore_queue_resize() - change the number of records a queue holds
 * @q: the queue
 * @capacity: new capacity, 1 to %EVCORE_MAX_CAPACITY
 *
 * The records held, the sequence numbers and every reader's position are
 * kept. The copy runs under the queue lock, once per call. Sleeping
 * readers are woken (the watermark is capped at the capacity), and so are
 * producers blocked on a full queue that now has room.
 *
 * Context: Process context, may sleep.
 * Return: 0; -EINVAL when @capacity is out of range; -EBUSY when more
 * records are held than @capacity (nothing is changed); -ENOMEM.
 */
int evcore_queue_resize(struct evcore_queue *q, u32 capacity)
{
	unsigned long flags;
	u8 *ring, *old;
	u32 depth, i;
	bool room;
	int ret = 0;

	if (!capacity || capacity > EVCORE_MAX_CAPACITY)
		return -EINVAL;

	mutex_lock(&q->resize_lock);
	if (capacity == q->capacity)
		goto out_unlock;
	ring = kvcalloc(capacity, q->slot_size, GFP_KERNEL);
	if (!ring) {
		ret = -ENOMEM;
		goto out_unlock;
	}

	spin_lock_irqsave(&q->lock, flags);
	room = !evcore_has_room_locked(q);
	/* At most depth steps, as the copy below. */
	evcore_reclaim_locked(q, U32_MAX);
	depth = evcore_depth_locked(q);
	if (depth > capacity) {
		spin_unlock_irqrestore(&q->lock, flags);
		kvfree(ring);
		ret = -EBUSY;
		goto out_unlock;
	}
	for (i = 0; i < depth; i++)
		memcpy(ring + (size_t)i * q->slot_size,
		       evcore_slot_locked(q, q->tail + i), q->slot_size);
	old = q->ring;
	q->ring = ring;
	WRITE_ONCE(q->capacity, capacity);
	q->head_idx = depth == capacity ? 0 : depth;
	room = room && evcore_has_room_locked(q);
	spin_unlock_irqrestore(&q->lock, flags);

	kvfree(old);
	/*
	 * A smaller capacity can bring a watermark within reach, a larger
	 * one gives blocked producers room.
	 */
	evcore_wake_readers(q, EPOLLIN | EPOLLRDNORM);
	if (room)
		evcore_wake_room(q);
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
	spin_lock_irqsave(&q->lock, flags);
	room = !evcore_has_room_locked(q);
	WRITE_ONCE(q->policy, policy);
	room = room && evcore_has_room_locked(q);
	spin_unlock_irqrestore(&q->lock, flags);
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

	spin_lock_irqsave(&q->lock, flags);
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
	st->memory = sizeof(*q) + (size_t)q->capacity * q->slot_size +
		     q->reader_bytes;
	spin_unlock_irqrestore(&q->lock, flags);
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

	spin_lock_irqsave(&q->lock, flags);
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
		src->delivered = 0;
	}
	spin_unlock_irqrestore(&q->lock, flags);
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_reset_stats, EVCORE_NS);

MODULE_DESCRIPTION("evcore: event queue, source registry and reader helpers for character drivers");
MODULE_AUTHOR("evcore developers");
MODULE_LICENSE("GPL");
