// SPDX-License-Identifier: GPL-2.0
/*
 * evcore: a reusable event queue for character drivers.
 *
 * One ring per queue, one position per reader, a registry of sources,
 * selectable overflow policies with loss reported in-band at the gap, and
 * the read/poll/fasync helpers a driver's file operations need. See
 * Documentation/driver-api/evcore.rst.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/device.h>
#include <linux/evcore.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/rcupdate.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#define CREATE_TRACE_POINTS
#include "evcore_trace.h"

/* For the self-tests, which widen races by probing it. */
EXPORT_TRACEPOINT_SYMBOL_GPL(evcore_push_begin);
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

/* The slot of @seq, which must be in [head - capacity, head]. */
static struct evcore_slot *evcore_slot(struct evcore_queue *q, u64 seq)
{
	u32 back = q->head - seq;
	u32 idx = q->head_idx >= back ? q->head_idx - back :
		  q->head_idx + q->capacity - back;

	lockdep_assert_held(&q->lock);
	return (struct evcore_slot *)(q->ring + (size_t)idx * q->slot_size);
}

static u32 evcore_depth(struct evcore_queue *q)
{
	lockdep_assert_held(&q->lock);
	return q->head - q->tail;
}

/* The count of unfiltered readers standing at @seq, in [tail, head]. */
static u32 *evcore_pins_at(struct evcore_queue *q, u64 seq)
{
	lockdep_assert_held(&q->lock);
	if (seq == q->head)
		return &q->head_pins;
	return &evcore_slot(q, seq)->pins;
}

/* Drop one from a holder count; it must hold one. */
static void evcore_dec(u32 *count)
{
	if (!WARN_ON_ONCE(!*count))
		(*count)--;
}

/* Whether no reader needs the tail record any more. */
static bool evcore_tail_free_locked(struct evcore_queue *q)
{
	struct evcore_slot *slot;

	lockdep_assert_held(&q->lock);
	/*
	 * With no reader open (or only readers that want nothing, such as
	 * write-only files) the queue keeps what it holds.
	 */
	if (q->tail == q->head || !q->nr_wanting)
		return false;
	slot = evcore_slot(q, q->tail);
	return !slot->refs && !slot->pins;
}

static bool evcore_has_room_locked(struct evcore_queue *q)
{
	lockdep_assert_held(&q->lock);
	return q->policy != EVCORE_POLICY_BLOCK ||
	       evcore_depth(q) < q->capacity || evcore_tail_free_locked(q);
}

/* Take the tail record out of the ring; its readers are already dealt with. */
static void evcore_pop_tail_locked(struct evcore_queue *q)
{
	lockdep_assert_held(&q->lock);
	q->src_live[evcore_slot(q, q->tail)->ev.source_id]--;
	q->tail++;
}

/* Free up to @budget records at the tail that no reader needs. */
static void evcore_reclaim_locked(struct evcore_queue *q, u32 budget)
{
	lockdep_assert_held(&q->lock);
	while (budget-- && evcore_tail_free_locked(q))
		evcore_pop_tail_locked(q);
}

/* The refused-event count a reader has seen once it stands at @seq. */
static u64 evcore_refused_at(struct evcore_queue *q, u64 seq)
{
	lockdep_assert_held(&q->lock);
	if (seq < q->head)
		return evcore_slot(q, seq)->refused_before;
	return q->refused;
}

static bool evcore_wanted(struct evcore_reader *r, u32 source_id)
{
	return r->filter & BIT_ULL(source_id);
}

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

/* The sum of @per_id over the source ids @r wants. */
static u64 evcore_sum_wanted(struct evcore_reader *r, const u64 *per_id)
{
	u64 filter, sum = 0;

	lockdep_assert_held(&r->q->lock);
	for (filter = r->filter; filter; filter &= filter - 1)
		sum += per_id[__ffs64(filter)];
	return sum;
}

/* The records ever queued of the sources @r wants. */
static u64 evcore_wanted_total(struct evcore_reader *r)
{
	return evcore_sum_wanted(r, r->q->src_total);
}

/*
 * For a reader holding references: the wanted records not yet accounted
 * for in @c, that is those it has still to read plus those overwritten
 * before it could.
 */
static u64 evcore_outstanding(struct evcore_reader *r,
			      const struct evcore_cursor *c)
{
	return evcore_wanted_total(r) - c->acct;
}

/*
 * Bring @c up to the tail. The records in [pos, tail) are gone: a pinned
 * reader held them all, so it lost them all (overwritten); a reader holding
 * references lost the wanted ones (their references kept them from being
 * freed, so only an overwrite took them) and skipped the others. What was
 * lost is owed to the reader until a loss record reports it.
 */
static void evcore_catch_tail(struct evcore_reader *r, struct evcore_cursor *c)
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
		owed = evcore_outstanding(r, c);
		live = evcore_sum_wanted(r, q->src_live);
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
static u64 evcore_take_loss(struct evcore_reader *r, struct evcore_cursor *c)
{
	struct evcore_queue *q = r->q;
	u64 seen, lost;

	lockdep_assert_held(&q->lock);
	evcore_catch_tail(r, c);
	lost = c->owed;
	c->owed = 0;
	seen = evcore_refused_at(q, c->pos);
	lost += seen - c->seen;
	c->seen = seen;
	return lost;
}

static bool evcore_loss_pending(struct evcore_reader *r)
{
	struct evcore_cursor c = r->at;

	lockdep_assert_held(&r->q->lock);
	/* A filter change under way wakes the reader when it is done. */
	if (r->hold == EVCORE_HOLD_WALK)
		return false;
	return evcore_take_loss(r, &c) != 0;
}

/* Whether a read would return now: the wake-up condition of a reader. */
static bool evcore_readable_locked(struct evcore_reader *r)
{
	struct evcore_queue *q = r->q;
	struct evcore_cursor c = r->at;
	/* A resize may have left the watermark above the capacity. */
	u32 mark = min(r->watermark, q->capacity);
	u64 avail;

	lockdep_assert_held(&q->lock);
	if (q->shutdown)
		return true;
	if (r->hold == EVCORE_HOLD_WALK)
		return false;
	if (evcore_take_loss(r, &c))
		return true;
	if (r->hold == EVCORE_HOLD_PIN)
		avail = q->head - c.pos;
	else
		avail = evcore_outstanding(r, &c);
	/*
	 * A full queue wakes a reader whatever its watermark: waiting for
	 * more could only lose events or keep producers blocked.
	 */
	return avail >= mark || (avail && evcore_depth(q) == q->capacity);
}

static bool evcore_readable(struct evcore_reader *r)
{
	unsigned long flags;
	bool ret;

	spin_lock_irqsave(&r->q->lock, flags);
	ret = evcore_readable_locked(r);
	spin_unlock_irqrestore(&r->q->lock, flags);
	return ret;
}

/*
 * Wake-ups. Every wake of the readers sends SIGIO to the subscribers with
 * the band of what woke them; room for producers sends POLL_OUT.
 */
static void evcore_wake_readers(struct evcore_queue *q, __poll_t mask)
{
	if (wq_has_sleeper(&q->wait))
		wake_up_interruptible_poll(&q->wait, mask);
	kill_fasync(&q->fasync, SIGIO, mask & EPOLLPRI ? POLL_PRI : POLL_IN);
}

static void evcore_wake_room(struct evcore_queue *q)
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

/**
 * evcore_queue_get() - take a reference on a queue
 * @q: the queue
 *
 * Context: Any context.
 * Return: @q.
 */
struct evcore_queue *evcore_queue_get(struct evcore_queue *q)
{
	kref_get(&q->ref);
	return q;
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_get, EVCORE_NS);

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
	depth = evcore_depth(q);
	if (depth > capacity) {
		spin_unlock_irqrestore(&q->lock, flags);
		kvfree(ring);
		ret = -EBUSY;
		goto out_unlock;
	}
	for (i = 0; i < depth; i++)
		memcpy(ring + (size_t)i * q->slot_size,
		       evcore_slot(q, q->tail + i), q->slot_size);
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
 * evcore_queue_stats() - snapshot of a queue's statistics
 * @q: the queue
 * @st: filled in
 *
 * Context: Any context.
 */
void evcore_queue_stats(struct evcore_queue *q, struct evcore_stats *st)
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
	st->depth = evcore_depth(q);
	st->high_water = q->cnt.high_water;
	st->capacity = q->capacity;
	st->readers = q->nr_readers;
	st->policy = q->policy;
	st->memory = sizeof(*q) + (size_t)q->capacity * q->slot_size +
		     q->reader_bytes;
	spin_unlock_irqrestore(&q->lock, flags);
}
EXPORT_SYMBOL_NS_GPL(evcore_queue_stats, EVCORE_NS);

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
	q->cnt.high_water = evcore_depth(q);
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

	spin_lock_irqsave(&q->lock, flags);
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
	spin_unlock_irqrestore(&q->lock, flags);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(evcore_source_register, EVCORE_NS);

static bool evcore_source_idle(struct evcore_queue *q,
			       struct evcore_source *src)
{
	unsigned long flags;
	bool idle;

	spin_lock_irqsave(&q->lock, flags);
	idle = !src->sleepers;
	spin_unlock_irqrestore(&q->lock, flags);
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
	spin_lock_irqsave(&q->lock, flags);
	if (!src->registered) {
		spin_unlock_irqrestore(&q->lock, flags);
		return;
	}
	src->registered = false;
	src->enabled = false;
	q->sources[src->id] = NULL;
	RCU_INIT_POINTER(src->queue, NULL);
	spin_unlock_irqrestore(&q->lock, flags);

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
		spin_lock_irqsave(&q->lock, flags);
		if (src->registered)
			src->enabled = enabled;
		spin_unlock_irqrestore(&q->lock, flags);
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
		spin_lock_irqsave(&q->lock, flags);
		ret = src->registered && src->enabled;
		spin_unlock_irqrestore(&q->lock, flags);
	}
	rcu_read_unlock();
	return ret;
}
EXPORT_SYMBOL_NS_GPL(evcore_source_is_enabled, EVCORE_NS);

/**
 * evcore_source_stats() - snapshot of a source's statistics
 * @src: a registered source
 * @st: filled in; zeroed when @src is not registered
 *
 * Context: Any context.
 */
void evcore_source_stats(struct evcore_source *src,
			 struct evcore_source_stats *st)
{
	struct evcore_queue *q;
	unsigned long flags;

	memset(st, 0, sizeof(*st));
	rcu_read_lock();
	q = rcu_dereference(src->queue);
	if (q) {
		spin_lock_irqsave(&q->lock, flags);
		st->generated = src->generated;
		st->queued = src->queued;
		st->dropped = src->dropped;
		st->overwritten = src->overwritten;
		st->delivered = src->delivered;
		st->next_seq = src->seq;
		spin_unlock_irqrestore(&q->lock, flags);
	}
	rcu_read_unlock();
}
EXPORT_SYMBOL_NS_GPL(evcore_source_stats, EVCORE_NS);

/*
 * Overwrite the oldest record to make room (drop-oldest). The readers
 * standing on it move to the next record; the readers holding a reference
 * on it find the loss when they next look (see evcore_catch_tail()).
 */
static void evcore_overwrite_oldest_locked(struct evcore_queue *q)
{
	struct evcore_slot *slot = evcore_slot(q, q->tail);
	struct evcore_source *owner = q->sources[slot->ev.source_id];
	u32 pins = slot->pins;

	lockdep_assert_held(&q->lock);
	if (owner)
		owner->overwritten++;
	q->cnt.overwritten++;
	trace_evcore_drop(q->name, slot->ev.seq, slot->ev.source_id,
			  slot->ev.source_seq, true);
	slot->pins = 0;
	evcore_pop_tail_locked(q);
	*evcore_pins_at(q, q->tail) += pins;
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
				const void *payload, size_t len)
{
	struct evcore_slot *slot = evcore_slot(q, q->head);
	u8 *data = (u8 *)(slot + 1);
	u32 depth;

	lockdep_assert_held(&q->lock);
	slot->ev.seq = q->head;
	slot->ev.source_seq = src->seq++;
	slot->ev.timestamp_ns = evcore_now(q->clock);
	slot->ev.lost = 0;
	slot->ev.source_id = src->id;
	slot->ev.flags = flags;
	slot->ev.aux = aux;
	slot->ev.payload_len = len;
	slot->ev.reserved = 0;
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
	depth = evcore_depth(q);
	q->cnt.high_water = max(q->cnt.high_water, depth);
	trace_evcore_push(q->name, slot->ev.seq, src->id, slot->ev.source_seq,
			  depth);
}

static int evcore_check_push(struct evcore_queue *q, struct evcore_source *src)
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

	spin_lock_irqsave(&q->lock, flags);
	ret = q->shutdown || !src->registered || evcore_has_room_locked(q);
	spin_unlock_irqrestore(&q->lock, flags);
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
			      const void *payload, size_t len,
			      enum evcore_push_mode mode, __poll_t *wake)
{
	int ret;

	lockdep_assert_held(&q->lock);
	ret = evcore_check_push(q, src);
	if (ret)
		return ret;
	if (len > q->payload_size)
		return -EMSGSIZE;
	/* Free what no reader needs (what filtered readers skip) first. */
	evcore_reclaim_locked(q, EVCORE_RECLAIM_PUSH);
	if (evcore_depth(q) < q->capacity) {
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
	evcore_store_locked(q, src, flags, aux, payload, len);
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
	int ret;

	do {
		wake = 0;
		ret = wait_event_interruptible(q->room_wait,
					       evcore_room_or_gone(q, src));
		spin_lock_irqsave(&q->lock, irqflags);
		if (!ret)
			ret = evcore_push_locked(q, src, flags, aux, payload,
						 len, EVCORE_PUSH_SLEEP, &wake);
		if (ret <= 0 && !--src->sleepers)
			idle = !src->registered;
		spin_unlock_irqrestore(&q->lock, irqflags);
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
	spin_lock_irqsave(&q->lock, irqflags);
	ret = evcore_push_locked(q, src, flags, aux, payload, len, mode,
				 &wake);
	if (ret > 0) {
		src->sleepers++;
		evcore_queue_get(q);
	}
	spin_unlock_irqrestore(&q->lock, irqflags);
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
 * Takes the timestamp and the sequence numbers, applies the overflow
 * policy, updates the statistics and wakes readers. Never sleeps and never
 * allocates; its cost does not depend on the number of readers. Under the
 * block policy a full queue refuses the event, as under drop-newest.
 *
 * Context: Any context but NMI on kernels without PREEMPT_RT. On PREEMPT_RT
 * the queue lock is a sleeping spinlock_t: push from threaded interrupt
 * handlers, softirq hrtimers (not %HRTIMER_MODE_HARD), workqueues or
 * process context, never from hard interrupt context (hard hrtimers,
 * %IRQF_NO_THREAD handlers, under a raw_spinlock_t).
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

/**
 * evcore_reader_open() - create a reader, usually at open()
 * @q: the queue
 *
 * The reader starts at the oldest record the queue holds and then sees
 * every event queued after it; it holds a reference on @q. Its source
 * filter takes every source and its watermark is 1.
 *
 * Context: Process context, may sleep.
 * Return: the reader, ERR_PTR(-ENODEV) after shutdown, or
 * ERR_PTR(-ENOMEM).
 */
struct evcore_reader *evcore_reader_open(struct evcore_queue *q)
{
	struct evcore_reader *r;
	unsigned long flags;
	size_t rs = q->record_size;
	int ret = -ENOMEM;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return ERR_PTR(-ENOMEM);
	r->batch = clamp_t(size_t, EVCORE_BATCH_BYTES / rs, 1,
			   EVCORE_BATCH_MAX);
	r->bounce = kvmalloc(r->batch * rs, GFP_KERNEL);
	if (!r->bounce)
		goto err_free_reader;
	r->cur = kcalloc(r->batch, sizeof(*r->cur), GFP_KERNEL);
	if (!r->cur)
		goto err_free_bounce;
	r->bytes = sizeof(*r) + r->batch * (rs + sizeof(*r->cur));
	mutex_init(&r->read_lock);
	r->filter = U64_MAX;
	r->hold = EVCORE_HOLD_PIN;
	r->watermark = 1;
	r->q = q;

	spin_lock_irqsave(&q->lock, flags);
	if (q->shutdown) {
		spin_unlock_irqrestore(&q->lock, flags);
		ret = -ENODEV;
		goto err_free_cur;
	}
	r->at.pos = q->tail;
	r->at.seen = evcore_refused_at(q, q->tail);
	(*evcore_pins_at(q, q->tail))++;
	q->nr_readers++;
	q->nr_wanting++;
	q->reader_bytes += r->bytes;
	kref_get(&q->ref);
	spin_unlock_irqrestore(&q->lock, flags);
	return r;

err_free_cur:
	mutex_destroy(&r->read_lock);
	kfree(r->cur);
err_free_bounce:
	kvfree(r->bounce);
err_free_reader:
	kfree(r);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_NS_GPL(evcore_reader_open, EVCORE_NS);

/*
 * Walk the records of @r from @seq to the head, at most EVCORE_WALK_MAX per
 * lock hold: drop the references @r holds on records below @until of the
 * sources in @drop, take one on the records of the sources in @take. A
 * reader that takes references (EVCORE_HOLD_WALK) stands pinned at the
 * walk's cursor, so no record the walk has still to reach is freed; once the
 * cursor reaches the head, the reader holds references from then on. The
 * caller holds @r->read_lock, or is releasing @r.
 *
 * The walk ends: the head is never more than the capacity ahead of the
 * cursor (the pin holds the tail back, or an overwrite moves the cursor up
 * with it), and each pass takes EVCORE_WALK_MAX records with one lock hold
 * where a producer takes one hold per record.
 */
static void evcore_walk(struct evcore_reader *r, u64 seq, u64 until,
			u64 drop, u64 take)
{
	struct evcore_queue *q = r->q;
	bool pinned = r->hold == EVCORE_HOLD_WALK;
	struct evcore_slot *slot;
	unsigned long flags;
	u64 from, end, bit, taken = 0;
	bool done, room;
	u32 n;

	do {
		spin_lock_irqsave(&q->lock, flags);
		room = !evcore_has_room_locked(q);
		if (seq < q->tail) {
			/*
			 * Overwritten before the walk reached them, the pin
			 * of a walking reader moved to the tail with them:
			 * everything from its position on is gone, the
			 * records it took included. It is told of every
			 * event overwritten there, whatever its source.
			 */
			if (pinned && r->at.pos < q->tail) {
				r->at.owed += q->tail - r->at.pos;
				r->at.pos = q->tail;
				taken = 0;
			}
			seq = q->tail;
		}
		from = seq;
		end = pinned ? q->head : min(until, q->head);
		for (n = 0; seq < end && n < EVCORE_WALK_MAX; n++, seq++) {
			slot = evcore_slot(q, seq);
			bit = BIT_ULL(slot->ev.source_id);
			if (seq < until && (drop & bit))
				evcore_dec(&slot->refs);
			if (take & bit) {
				slot->refs++;
				taken++;
			}
		}
		done = seq >= end;
		if (pinned) {
			evcore_dec(evcore_pins_at(q, from));
			done = seq == q->head;
			if (done) {
				evcore_want_locked(q, take, true);
				r->hold = EVCORE_HOLD_REFS;
				/* Its wanted records are those it took. */
				r->at.acct = evcore_wanted_total(r) - taken;
			} else {
				(*evcore_pins_at(q, seq))++;
			}
		}
		evcore_reclaim_locked(q, EVCORE_RECLAIM_MAX);
		room = room && evcore_has_room_locked(q);
		spin_unlock_irqrestore(&q->lock, flags);
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

	spin_lock_irqsave(&q->lock, flags);
	room = !evcore_has_room_locked(q);
	if (r->hold == EVCORE_HOLD_PIN) {
		evcore_dec(evcore_pins_at(q, max(r->at.pos, q->tail)));
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
	spin_unlock_irqrestore(&q->lock, flags);
	if (room)
		evcore_wake_room(q);
	/* Let go of the records it held references on. */
	if (from < until)
		evcore_walk(r, from, until, r->filter, 0);

	mutex_destroy(&r->read_lock);
	kfree(r->cur);
	kvfree(r->bounce);
	kfree(r);
	evcore_queue_put(q);
}
EXPORT_SYMBOL_NS_GPL(evcore_reader_release, EVCORE_NS);

/*
 * Copy up to @max records for @r out of the ring into its bounce buffer,
 * loss records included. r->cur[i] is where the reader stands after record
 * i, r->cur_end where it stands after the last record and the filtered ones
 * after it.
 */
static unsigned int evcore_fill_locked(struct evcore_reader *r,
				       unsigned int max)
{
	struct evcore_queue *q = r->q;
	struct evcore_cursor c = r->at;
	struct evcore_event *out;
	struct evcore_slot *slot;
	unsigned int n = 0;
	u64 lost;

	lockdep_assert_held(&q->lock);
	lockdep_assert_held(&r->read_lock);
	while (n < max) {
		out = (struct evcore_event *)(r->bounce + n * q->record_size);
		lost = evcore_take_loss(r, &c);
		if (lost) {
			memset(out, 0, q->record_size);
			out->seq = c.pos;
			out->lost = lost;
			out->source_id = EVCORE_SOURCE_NONE;
			out->flags = EVCORE_EVENT_LOSS;
			r->cur[n++] = c;
			continue;
		}
		if (c.pos == q->head)
			break;
		slot = evcore_slot(q, c.pos++);
		if (!evcore_wanted(r, slot->ev.source_id)) {
			c.filtered++;
			continue;
		}
		memcpy(out, &slot->ev, sizeof(*out));
		memcpy(out + 1, slot + 1, q->payload_size);
		if (r->hold == EVCORE_HOLD_REFS)
			c.acct++;
		r->cur[n++] = c;
	}
	r->cur_end = c;
	return n;
}

/* Move @r past the first @done records of its bounce buffer. */
static void evcore_commit(struct evcore_reader *r, unsigned int done,
			  unsigned int filled, u64 *lost)
{
	struct evcore_queue *q = r->q;
	struct evcore_source *src;
	struct evcore_event *ev;
	unsigned long flags;
	unsigned int i;
	bool room, pri;
	u64 from, to;

	lockdep_assert_held(&r->read_lock);
	spin_lock_irqsave(&q->lock, flags);
	room = !evcore_has_room_locked(q);
	from = max(r->at.pos, q->tail);
	for (i = 0; i < done; i++) {
		ev = (struct evcore_event *)(r->bounce + i * q->record_size);
		if (ev->flags & EVCORE_EVENT_LOSS) {
			r->lost += ev->lost;
			*lost += ev->lost;
			continue;
		}
		r->read++;
		q->cnt.delivered++;
		src = q->sources[ev->source_id];
		if (src)
			src->delivered++;
		/* Unless it was overwritten since, let go of the record. */
		if (r->hold == EVCORE_HOLD_REFS && ev->seq >= q->tail)
			evcore_dec(&evcore_slot(q, ev->seq)->refs);
	}
	r->at = done == filled ? r->cur_end : r->cur[done - 1];
	to = max(r->at.pos, q->tail);
	if (r->hold == EVCORE_HOLD_PIN && to != from) {
		evcore_dec(evcore_pins_at(q, from));
		(*evcore_pins_at(q, to))++;
	}
	evcore_reclaim_locked(q, EVCORE_RECLAIM_MAX);
	room = room && evcore_has_room_locked(q);
	/*
	 * Reading up to a gap makes the loss record pending without any
	 * event arriving: wake the pollers so epoll sees EPOLLPRI.
	 */
	pri = done && evcore_loss_pending(r);
	spin_unlock_irqrestore(&q->lock, flags);
	if (room)
		evcore_wake_room(q);
	if (pri)
		evcore_wake_readers(q, EPOLLIN | EPOLLRDNORM | EPOLLPRI);
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
 * Context: Process context, may sleep.
 * Return: the number of bytes copied, a multiple of the record size;
 * -EINVAL when @count is smaller than one record; -EAGAIN when @nonblock
 * and nothing is readable; -ERESTARTSYS when a signal interrupted the wait;
 * -ENODEV after shutdown; -EFAULT when not even one record could be copied.
 */
ssize_t evcore_read(struct evcore_reader *r, char __user *buf, size_t count,
		    bool nonblock)
{
	struct evcore_queue *q = r->q;
	size_t rs = q->record_size;
	unsigned int filled, done;
	unsigned long flags, left;
	u64 lost = 0;
	ssize_t ret;

	if (count < rs)
		return -EINVAL;

	/* The wait happens without the read lock, so filter changes go on. */
	for (;;) {
		if (mutex_lock_interruptible(&r->read_lock))
			return -ERESTARTSYS;
		spin_lock_irqsave(&q->lock, flags);
		if (q->shutdown) {
			spin_unlock_irqrestore(&q->lock, flags);
			ret = -ENODEV;
			goto out_unlock;
		}
		filled = 0;
		if (evcore_readable_locked(r) || nonblock)
			filled = evcore_fill_locked(r, min_t(size_t, r->batch,
							     count / rs));
		spin_unlock_irqrestore(&q->lock, flags);
		if (filled)
			break;
		if (nonblock) {
			/* Keep what the filter skipped: do not rescan it. */
			evcore_commit(r, 0, 0, &lost);
			ret = -EAGAIN;
			goto out_unlock;
		}
		mutex_unlock(&r->read_lock);
		ret = wait_event_interruptible(q->wait, evcore_readable(r));
		if (ret)
			return ret;
	}

	/* Copy batch after batch, without waiting, while records fit. */
	ret = 0;
	do {
		left = copy_to_user(buf + ret, r->bounce, filled * rs);
		done = filled - DIV_ROUND_UP(left, rs);
		if (done)
			evcore_commit(r, done, filled, &lost);
		ret += done * rs;
		if (done < filled || count - ret < rs)
			break;
		spin_lock_irqsave(&q->lock, flags);
		filled = q->shutdown ? 0 :
			 evcore_fill_locked(r, min_t(size_t, r->batch,
						     (count - ret) / rs));
		spin_unlock_irqrestore(&q->lock, flags);
	} while (filled);
	if (!ret)
		ret = -EFAULT;

out_unlock:
	trace_evcore_read(q->name, r->at.pos, ret > 0 ? ret / rs : 0, lost,
			  ret);
	mutex_unlock(&r->read_lock);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(evcore_read, EVCORE_NS);

/**
 * evcore_poll() - the poll() of a driver built on evcore
 * @r: the reader of the file
 * @file: the file
 * @wait: the poll table
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

	poll_wait(file, &q->wait, wait);
	poll_wait(file, &q->room_wait, wait);

	spin_lock_irqsave(&q->lock, flags);
	if (q->shutdown) {
		mask = EPOLLHUP | EPOLLERR;
	} else {
		if (evcore_readable_locked(r))
			mask |= EPOLLIN | EPOLLRDNORM;
		if (evcore_loss_pending(r))
			mask |= EPOLLPRI;
		if (evcore_has_room_locked(q))
			mask |= EPOLLOUT | EPOLLWRNORM;
	}
	spin_unlock_irqrestore(&q->lock, flags);
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

	spin_lock_irqsave(&q->lock, flags);
	if (!watermark || watermark > q->capacity)
		ret = -EINVAL;
	else
		r->watermark = watermark;
	spin_unlock_irqrestore(&q->lock, flags);
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
 * the records queued, in bounded steps; it waits for a read of the same
 * reader that is copying records, not for one that sleeps.
 *
 * Context: Process context, may sleep.
 */
void evcore_reader_set_filter(struct evcore_reader *r, u64 filter)
{
	struct evcore_queue *q = r->q;
	enum evcore_hold old_hold;
	u64 drop = 0, pos, until, old;
	unsigned long flags;
	bool pri;

	mutex_lock(&r->read_lock);
	spin_lock_irqsave(&q->lock, flags);
	old = r->filter;
	old_hold = r->hold;
	if (filter == old) {
		spin_unlock_irqrestore(&q->lock, flags);
		goto out_unlock;
	}
	/* Account for what it lost so far under the old filter. */
	evcore_catch_tail(r, &r->at);
	pos = r->at.pos;
	until = q->head;
	if (old_hold == EVCORE_HOLD_REFS) {
		evcore_want_locked(q, old, false);
		drop = old;
		/* It stands on its records while the walk goes on. */
		(*evcore_pins_at(q, pos))++;
	}
	r->filter = filter;
	r->hold = filter == U64_MAX ? EVCORE_HOLD_PIN : EVCORE_HOLD_WALK;
	q->nr_wanting += !!filter - !!old;
	spin_unlock_irqrestore(&q->lock, flags);

	if (r->hold == EVCORE_HOLD_WALK)
		evcore_walk(r, pos, until, drop, filter);
	else if (drop)
		evcore_walk(r, pos, until, drop, 0);

	/* A loss found meanwhile is for the pollers of EPOLLPRI too. */
	spin_lock_irqsave(&q->lock, flags);
	pri = evcore_loss_pending(r);
	spin_unlock_irqrestore(&q->lock, flags);
	evcore_wake_readers(q, EPOLLIN | EPOLLRDNORM | (pri ? EPOLLPRI : 0));
out_unlock:
	mutex_unlock(&r->read_lock);
}
EXPORT_SYMBOL_NS_GPL(evcore_reader_set_filter, EVCORE_NS);

/**
 * evcore_reader_stats() - snapshot of a reader
 * @r: the reader
 * @st: filled in
 *
 * Context: Any context.
 */
void evcore_reader_stats(struct evcore_reader *r,
			 struct evcore_reader_stats *st)
{
	struct evcore_queue *q = r->q;
	unsigned long flags;

	spin_lock_irqsave(&q->lock, flags);
	st->position = r->at.pos;
	st->lag = q->head - max(r->at.pos, q->tail);
	st->read = r->read;
	st->lost = r->lost;
	st->filtered = r->at.filtered;
	st->filter = r->filter;
	st->watermark = r->watermark;
	spin_unlock_irqrestore(&q->lock, flags);
}
EXPORT_SYMBOL_NS_GPL(evcore_reader_stats, EVCORE_NS);

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

	evcore_reader_stats(r, &st);
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

MODULE_DESCRIPTION("evcore: event queue, source registry and reader helpers for character drivers");
MODULE_AUTHOR("evcore developers");
MODULE_LICENSE("GPL");
