// SPDX-License-Identifier: GPL-2.0
/*
 * evcore: a reusable event queue for character drivers.
 *
 * Event sources: the registry. Pushing is in push.c.
 * See Documentation/driver-api/evcore.rst.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/string.h>

#include "evcore_internal.h"

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
	q->src_delivered[id] = 0;
	q->src_since[id] = q->head;
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
		/* The queue's count by id is @src's only while it holds the id. */
		if (q->sources[src->id] == src)
			st->delivered = q->src_delivered[src->id];
		st->next_seq = src->seq;
		evcore_unlock(q, flags);
	}
	rcu_read_unlock();
}
EXPORT_SYMBOL_NS_GPL(evcore_source_get_stats, EVCORE_NS);
