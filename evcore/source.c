// SPDX-License-Identifier: GPL-2.0
/*
 * evcore: a reusable event queue for character drivers.
 *
 * Event sources: the registry and the producer path, with the overflow
 * policies.
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

/**
 * evcore_source_register() - add an event source to a queue
 * @q: the queue
 * @src: the source, embedded in the caller's state; its counters and
 *	sequence number start from zero
 * @name: name for statistics and tracepoints; must outlive the
 *	registration
 * @id: source id, 1 to %EVCORE_SOURCE_ID_MAX, or 0 for the lowest free id
 *
 * The source is enabled. It holds a reference on @q until unregistered.
 *
 * Context: Any context.
 * Return: 0; -EINVAL for a bad @id or no @name; -EBUSY when @src is already
 * registered; -EEXIST when @id is taken; -ENOSPC when no id is free;
 * -ESHUTDOWN after evcore_queue_shutdown().
 */
int evcore_source_register(struct evcore_queue *q, struct evcore_source *src,
			   const char *name, u32 id)
{
	unsigned long flags;
	int ret = 0;

	if (!name || id > EVCORE_SOURCE_ID_MAX)
		return -EINVAL;

	evcore_lock(q, flags);
	if (q->shutdown) {
		ret = -ESHUTDOWN;
		goto out_unlock;
	}
	if (src->registered) {
		ret = -EBUSY;
		goto out_unlock;
	}
	if (!id) {
		for (id = 1; id <= EVCORE_SOURCE_ID_MAX; id++)
			if (!q->sources[id])
				break;
		if (id > EVCORE_SOURCE_ID_MAX) {
			ret = -ENOSPC;
			goto out_unlock;
		}
	} else if (q->sources[id]) {
		ret = -EEXIST;
		goto out_unlock;
	}

	src->name = name;
	src->id = id;
	src->enabled = true;
	src->sleepers = 0;
	src->seq = 0;
	src->generated = 0;
	src->queued = 0;
	src->dropped = 0;
	src->overwritten = 0;
	src->delivered = 0;
	src->registered = true;
	rcu_assign_pointer(src->queue, q);
	q->sources[id] = src;
	kref_get(&q->ref);
out_unlock:
	evcore_unlock(q, flags);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(evcore_source_register, EVCORE_NS);

static bool evcore_source_idle(struct evcore_queue *q,
			       struct evcore_source *src)
{
	unsigned long flags;
	bool idle;

	evcore_lock(q, flags);
	idle = !src->sleepers;
	evcore_unlock(q, flags);
	return idle;
}

/**
 * evcore_source_unregister() - remove an event source from its queue
 * @src: a registered source
 *
 * May run while other contexts push on @src, or call the other
 * evcore_source_*() functions on it: each such push either completes before
 * this returns or fails with -ENODEV. Producers sleeping in
 * evcore_push_wait() are woken and return -ENODEV; this waits for them to
 * leave. Afterwards the caller may free @src, and must not push on it.
 * Records already queued stay readable. Calling it again, or on a source
 * never registered, does nothing.
 *
 * Context: Process context, sleeps.
 */
void evcore_source_unregister(struct evcore_source *src)
{
	struct evcore_queue *q;
	unsigned long flags;

	/*
	 * The queue cannot go away under us: the registration holds a
	 * reference, which only the unregister that clears the pointer drops.
	 */
	q = rcu_access_pointer(src->queue);
	if (!q)
		return;
	evcore_lock(q, flags);
	if (!src->registered) {
		evcore_unlock(q, flags);
		return;
	}
	src->registered = false;
	src->enabled = false;
	q->sources[src->id] = NULL;
	RCU_INIT_POINTER(src->queue, NULL);
	evcore_unlock(q, flags);

	wake_up_all(&q->room_wait);
	wait_event(q->room_wait, evcore_source_idle(q, src));
	/*
	 * A push that found the queue through src->queue stays in its RCU read
	 * section until it drops the queue lock. The pointer is cleared, so
	 * after a grace period no push is left that could still take the lock
	 * of the queue the put below may free.
	 */
	synchronize_rcu();
	evcore_queue_put(q);
}
EXPORT_SYMBOL_NS_GPL(evcore_source_unregister, EVCORE_NS);

/**
 * evcore_source_set_enabled() - enable or disable a source
 * @src: a registered source
 * @enabled: whether its pushes are queued
 *
 * Pushes on a disabled source return -ENODATA and count nowhere. Does
 * nothing on a source that is not registered.
 *
 * Context: Any context.
 */
void evcore_source_set_enabled(struct evcore_source *src, bool enabled)
{
	struct evcore_queue *q;
	unsigned long flags;

	rcu_read_lock();
	q = rcu_dereference(src->queue);
	if (q) {
		evcore_lock(q, flags);
		if (src->registered)
			src->enabled = enabled;
		evcore_unlock(q, flags);
	}
	rcu_read_unlock();
}
EXPORT_SYMBOL_NS_GPL(evcore_source_set_enabled, EVCORE_NS);

/**
 * evcore_source_is_enabled() - whether a source is registered and enabled
 * @src: the source
 *
 * Context: Any context.
 * Return: true when pushes on @src are queued.
 */
bool evcore_source_is_enabled(struct evcore_source *src)
{
	struct evcore_queue *q;
	unsigned long flags;
	bool ret = false;

	rcu_read_lock();
	q = rcu_dereference(src->queue);
	if (q) {
		evcore_lock(q, flags);
		ret = src->registered && src->enabled;
		evcore_unlock(q, flags);
	}
	rcu_read_unlock();
	return ret;
}
EXPORT_SYMBOL_NS_GPL(evcore_source_is_enabled, EVCORE_NS);

/**
 * evcore_source_get_stats() - snapshot of a source's statistics
 * @src: a registered source
 * @st: filled in; zeroed when @src is not registered
 *
 * Context: Any context.
 */
void evcore_source_get_stats(struct evcore_source *src,
			     struct evcore_source_stats *st)
{
	struct evcore_queue *q;
	unsigned long flags;

	memset(st, 0, sizeof(*st));
	rcu_read_lock();
	q = rcu_dereference(src->queue);
	if (q) {
		evcore_lock(q, flags);
		st->generated = src->generated;
		st->queued = src->queued;
		st->dropped = src->dropped;
		st->overwritten = src->overwritten;
		st->delivered = src->delivered;
		st->next_seq = src->seq;
		evcore_unlock(q, flags);
	}
	rcu_read_unlock();
}
EXPORT_SYMBOL_NS_GPL(evcore_source_get_stats, EVCORE_NS);

/*
 * Overwrite the oldest record to make room (drop-oldest). The readers
 * standing on it move to the next record; the readers holding a reference
 * on it find the loss when they next look (see evcore_catch_tail_locked()).
 */
static void evcore_overwrite_oldest_locked(struct evcore_queue *q)
{
	struct evcore_slot *slot = evcore_slot_locked(q, q->tail);
	struct evcore_event *ev = evcore_rec_locked(q, q->tail);
	struct evcore_source *owner = q->sources[ev->source_id];
	u32 pins = slot->pins;

	lockdep_assert_held(&q->lock);
	if (owner)
		owner->overwritten++;
	q->cnt.overwritten++;
	trace_evcore_drop(q->name, ev->seq, ev->source_id, ev->source_seq,
			  true);
	slot->pins = 0;
	evcore_pop_tail_locked(q);
	*evcore_pins_at_locked(q, q->tail) += pins;
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

static void evcore_store_locked(struct evcore_queue *q,
				struct evcore_source *src, u32 flags, u32 aux,
				const void *payload, size_t len, u64 now)
{
	struct evcore_slot *slot = evcore_slot_locked(q, q->head);
	struct evcore_event *ev = evcore_rec_locked(q, q->head);
	u8 *data = (u8 *)(ev + 1);
	u32 depth;

	lockdep_assert_held(&q->lock);
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
	/* The filtered readers that want it, and those waiting at the head. */
	slot->refs = q->want[src->id];
	slot->pins = q->head_pins;
	q->head_pins = 0;
	if (len)
		memcpy(data, payload, len);
	memset(data + len, 0, q->payload_size - len);

	q->head++;
	q->head_idx = q->head_idx + 1 == q->capacity ? 0 : q->head_idx + 1;
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
	evcore_store_locked(q, src, flags, aux, payload, len, now);
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
 * as by evcore_push()'s -ENOSPC); 0 when @n is 0; when none was queued
 * because of an error, the error of evcore_push(). Where an error (say
 * -ENODEV from a concurrent unregister) stops the pushes after some were
 * queued, the count of those.
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
