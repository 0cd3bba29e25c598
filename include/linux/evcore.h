/* SPDX-License-Identifier: GPL-2.0 */
/*
 * evcore: a reusable event queue for character drivers.
 *
 * A driver creates a queue, registers its event sources on it, and pushes
 * events from any context, hard IRQ included (on PREEMPT_RT, threaded IRQ
 * handlers and softirq hrtimers instead). Each open file gets a reader
 * with its own position, so every reader sees every event and a reader that
 * falls behind is told in-band how much it lost. The read/poll/fasync
 * helpers implement the driver's file operations.
 *
 * Documentation/driver-api/evcore.rst describes the design, the locking and
 * the context rules.
 */
#ifndef _LINUX_EVCORE_H
#define _LINUX_EVCORE_H

#include <linux/evcore_compat.h>
#include <linux/list.h>
#include <linux/poll.h>
#include <linux/time.h>
#include <linux/types.h>
#include <uapi/linux/evcore.h>

struct device;
struct file;
struct seq_file;

/* Largest queue, in records. */
#define EVCORE_MAX_CAPACITY	65536
/* Largest payload of one record, in bytes. */
#define EVCORE_MAX_PAYLOAD	4096
/*
 * Most events evcore_push_many() queues in one hold of the queue lock; no
 * more than 8 KiB of records either (but always one).
 */
#define EVCORE_PUSH_BATCH	32

/*
 * Most records evcore_push_batch() queues as one group, and most bytes of
 * them (but always one record): a queue whose records are large allows
 * fewer (evcore_queue_max_group()). A read takes a group whole in one hold
 * of the queue lock, so these bound that hold too. 256 records of an input
 * frame (56 bytes each) are 14 KiB: the frames of a 10-finger touchscreen
 * (about 100 events) fit with room to spare.
 */
#define EVCORE_GROUP_MAX	256
#define EVCORE_GROUP_BYTES	16384

struct evcore_queue;
struct evcore_reader;

/**
 * struct evcore_config - parameters of a new queue
 * @name: name used in messages and tracepoints; the string must outlive the
 *	queue (a literal, or the driver's device name)
 * @capacity: number of records the queue holds, 1 to %EVCORE_MAX_CAPACITY
 * @payload_size: payload bytes carried by each record, a multiple of 8 from
 *	0 to %EVCORE_MAX_PAYLOAD; a record is
 *	``sizeof(struct evcore_event) + payload_size`` bytes
 * @policy: overflow policy, one of the ``EVCORE_POLICY_*`` values
 * @clock: clock for timestamps: %CLOCK_MONOTONIC, %CLOCK_BOOTTIME,
 *	%CLOCK_REALTIME or %CLOCK_TAI
 */
struct evcore_config {
	const char *name;
	u32 capacity;
	u32 payload_size;
	u32 policy;
	clockid_t clock;
};

/**
 * struct evcore_source - an event source, embedded in the driver's state
 * @name: name shown in statistics and tracepoints, set by
 *	evcore_source_register()
 * @id: source id written into every record, 1 to %EVCORE_SOURCE_ID_MAX, set
 *	by evcore_source_register()
 *
 * The driver owns the memory; the fields below @id belong to evcore: ``queue``
 * is RCU-protected (cleared by evcore_source_unregister()), the others are
 * protected by the queue's lock.
 */
struct evcore_source {
	const char *name;
	u32 id;
	/* private: */
	struct evcore_queue __rcu *queue;
	bool registered;
	bool enabled;
	unsigned int sleepers;
	u64 seq;
	u64 generated;
	u64 queued;
	u64 dropped;
	u64 overwritten;
};

/**
 * struct evcore_push_item - one record of a group, for evcore_push_batch()
 * @src: its source, registered on the queue pushed to
 * @payload: @len bytes of payload, or NULL when @len is 0
 * @flags: source flags for the record, within %EVCORE_EVENT_SOURCE_FLAGS
 * @aux: source-defined value for the record
 * @len: payload length, at most the queue's payload size
 */
struct evcore_push_item {
	struct evcore_source *src;
	const void *payload;
	u32 flags;
	u32 aux;
	u32 len;
};

/**
 * struct evcore_stats - snapshot of a queue's statistics
 * @generated: events pushed by enabled sources (queued + refused)
 * @queued: events stored in the queue and numbered
 * @delivered: event records copied to readers, summed over all readers
 * @dropped_full: events refused because the queue was full (drop-newest,
 *	or block from a producer that cannot sleep)
 * @overwritten: queued events overwritten under drop-oldest
 * @would_block: pushes that returned -EAGAIN to a non-blocking producer
 *	under the block policy (the producer kept its event)
 * @next_seq: the sequence number the next queued event will get
 * @depth: events currently held
 * @high_water: largest @depth since creation or the last reset
 * @capacity: records the queue holds
 * @readers: open readers
 * @policy: current overflow policy
 * @memory: bytes allocated for the queue, its ring and its readers
 */
struct evcore_stats {
	u64 generated;
	u64 queued;
	u64 delivered;
	u64 dropped_full;
	u64 overwritten;
	u64 would_block;
	u64 next_seq;
	u32 depth;
	u32 high_water;
	u32 capacity;
	u32 readers;
	u32 policy;
	size_t memory;
};

/**
 * struct evcore_source_stats - snapshot of one source's statistics
 * @generated: events the source pushed while enabled
 * @queued: those stored in the queue
 * @dropped: those refused because the queue was full
 * @overwritten: those overwritten under drop-oldest
 * @delivered: records of this source copied to readers
 * @next_seq: the source sequence number of the source's next event
 */
struct evcore_source_stats {
	u64 generated;
	u64 queued;
	u64 dropped;
	u64 overwritten;
	u64 delivered;
	u64 next_seq;
};

/**
 * struct evcore_reader_stats - snapshot of one reader
 * @position: sequence number of the next event the reader will read
 * @lag: events queued that the reader has not read yet
 * @read: event records copied to this reader
 * @lost: events this reader lost (the sum of its loss records)
 * @filtered: events skipped by the reader's source filter
 * @filter: source filter, bit N set when source id N is wanted
 * @watermark: the reader is woken when at least this many events wait
 */
struct evcore_reader_stats {
	u64 position;
	u64 lag;
	u64 read;
	u64 lost;
	u64 filtered;
	u64 filter;
	u32 watermark;
};

/**
 * struct evcore_debug_stats - what the holders of a queue's lock did
 * @holds: acquisitions of the queue lock
 * @copies: copies of records to user space (one copy moves a run of
 *	records, or one loss record)
 * @records_copied: records those copies moved, loss records included
 * @max_slots: most ring slots one hold looked at
 * @max_readers: most readers one hold touched
 * @max_bytes: most record bytes one hold copied to user space
 *
 * Filled only with CONFIG_EVCORE_DEBUG, for tests proving that the work
 * done with the lock held is bounded: see evcore_queue_debug_stats().
 */
struct evcore_debug_stats {
	u64 holds;
	u64 copies;
	u64 records_copied;
	u32 max_slots;
	u32 max_readers;
	u32 max_bytes;
};

#ifdef CONFIG_EVCORE_DEBUG

void evcore_queue_debug_stats(struct evcore_queue *q,
			      struct evcore_debug_stats *st, bool reset);
#endif

struct evcore_queue *evcore_queue_create(const struct evcore_config *cfg);
struct evcore_queue *devm_evcore_queue_create(struct device *dev,
					      const struct evcore_config *cfg);
void evcore_queue_put(struct evcore_queue *q);
void evcore_queue_shutdown(struct evcore_queue *q);
bool evcore_queue_is_shutdown(struct evcore_queue *q);

size_t evcore_record_size(const struct evcore_queue *q);
u32 evcore_queue_payload_size(const struct evcore_queue *q);
u32 evcore_queue_capacity(struct evcore_queue *q);
u32 evcore_queue_max_group(const struct evcore_queue *q);
int evcore_queue_resize(struct evcore_queue *q, u32 capacity);
u32 evcore_queue_policy(struct evcore_queue *q);
int evcore_queue_set_policy(struct evcore_queue *q, u32 policy);
const char *evcore_policy_name(u32 policy);
int evcore_policy_parse(const char *buf);

void evcore_queue_get_stats(struct evcore_queue *q, struct evcore_stats *st);
void evcore_queue_reset_stats(struct evcore_queue *q);

int evcore_source_register(struct evcore_queue *q, struct evcore_source *src,
			   const char *name, u32 id);
void evcore_source_unregister(struct evcore_source *src);
void evcore_source_set_enabled(struct evcore_source *src, bool enabled);
bool evcore_source_is_enabled(struct evcore_source *src);
void evcore_source_get_stats(struct evcore_source *src,
			     struct evcore_source_stats *st);

int evcore_push(struct evcore_source *src, u32 flags, u32 aux,
		const void *payload, size_t len);
int evcore_push_many(struct evcore_source *src, u32 flags, u32 aux,
		     const void *payload, size_t len, u32 n);
int evcore_push_batch(struct evcore_queue *q,
		      const struct evcore_push_item *items, u32 n,
		      u64 timestamp_ns);
int evcore_push_wait(struct evcore_source *src, u32 flags, u32 aux,
		     const void *payload, size_t len, bool nonblock);

struct evcore_reader *evcore_reader_open(struct evcore_queue *q);
struct evcore_reader *evcore_reader_open_new(struct evcore_queue *q);
void evcore_reader_release(struct evcore_reader *r);
ssize_t evcore_read(struct evcore_reader *r, char __user *buf, size_t count,
		    bool nonblock);
__poll_t evcore_poll(struct evcore_reader *r, struct file *file,
		     poll_table *wait);
int evcore_fasync(struct evcore_reader *r, int fd, struct file *file, int on);
int evcore_reader_set_watermark(struct evcore_reader *r, u32 watermark);
void evcore_reader_set_filter(struct evcore_reader *r, u64 filter);
void evcore_reader_get_stats(struct evcore_reader *r,
			     struct evcore_reader_stats *st);
void evcore_reader_show_fdinfo(struct evcore_reader *r, struct seq_file *m);

#endif /* _LINUX_EVCORE_H */
