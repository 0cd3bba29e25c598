/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * evcore record format, as read() returns it from any character device
 * built on the evcore event core.
 *
 * Every record starts with a struct evcore_event header. The payload
 * follows it directly; its size is fixed per device (see the device's own
 * uapi header), so every record a device returns has the same size, a
 * multiple of 8 bytes.
 */
#ifndef _UAPI_LINUX_EVCORE_H
#define _UAPI_LINUX_EVCORE_H

#include <linux/types.h>

/**
 * enum evcore_event_flags - flags in &struct evcore_event.flags
 * @EVCORE_EVENT_LOSS: this is a loss record, not an event. It stands in the
 *	stream exactly where events were lost for this reader: @lost says how
 *	many, @seq is the sequence number of the next record after the gap.
 *	Lost events that had been numbered (overwritten under drop-oldest) are
 *	the sequence numbers missing before @seq; events refused while the
 *	queue was full (drop-newest, or block from a context that cannot
 *	sleep) were never numbered, so they show only in @lost and as gaps in
 *	their source's &struct evcore_event.source_seq.
 * @EVCORE_EVENT_GROUP_MORE: more records of the same group follow this
 *	one. A driver may queue records as a group (an input device's frame,
 *	say): the records of a group are consecutive in @seq, share their
 *	timestamp and were queued, refused or overwritten together, so a
 *	loss record never stands inside a group. A record without this flag
 *	ends its group; a record queued alone is a group of one.
 *
 * The high 16 bits, %EVCORE_EVENT_SOURCE_FLAGS, are defined by the source
 * (the device's uapi header documents them).
 */
enum evcore_event_flags {
	EVCORE_EVENT_LOSS		= 1U << 0,
	EVCORE_EVENT_GROUP_MORE		= 1U << 1,
};

/*
 * The flags a source defines: a macro, not an enumerator, since ISO C
 * wants enumerators to fit an int.
 */
#define EVCORE_EVENT_SOURCE_FLAGS	0xffff0000U

/* Source id of loss records; sources are numbered from 1. */
#define EVCORE_SOURCE_NONE	0
/* Highest source id; a reader's source filter is a 64-bit mask of ids. */
#define EVCORE_SOURCE_ID_MAX	63

/*
 * Overflow policies: what happens to an event pushed while the queue is full.
 * EVCORE_POLICY_DROP_NEWEST: the new event is refused and counted; the
 *	sequence numbers readers receive stay contiguous.
 * EVCORE_POLICY_DROP_OLDEST: the oldest queued event is overwritten; the
 *	newest events always survive.
 * EVCORE_POLICY_BLOCK: producers that may sleep wait for room (or get
 *	EAGAIN when non-blocking); producers that cannot sleep are refused as
 *	under drop-newest.
 */
#define EVCORE_POLICY_DROP_NEWEST	0
#define EVCORE_POLICY_DROP_OLDEST	1
#define EVCORE_POLICY_BLOCK		2

/**
 * struct evcore_event - header of every evcore record
 * @seq: global sequence number, assigned when the event was queued;
 *	consecutive for the events one device queues
 * @source_seq: the source's own sequence number, counted for every event
 *	the source generated, including refused ones; 0 in loss records
 * @timestamp_ns: when the event was generated, in nanoseconds on the
 *	device's clock (CLOCK_MONOTONIC unless the device says otherwise);
 *	0 in loss records
 * @lost: in a loss record, how many events this reader lost at this point;
 *	0 otherwise
 * @source_id: id of the source that generated the event;
 *	%EVCORE_SOURCE_NONE in loss records
 * @flags: &enum evcore_event_flags
 * @aux: source-defined 32-bit value (the device's uapi header documents it)
 * @payload_len: number of valid payload bytes following the header
 * @reserved: zero
 *
 * The header is 48 bytes, 8-byte aligned, with no implicit padding; the
 * payload bytes past @payload_len up to the device's record size are zero.
 */
struct evcore_event {
	__u64 seq;
	__u64 source_seq;
	__u64 timestamp_ns;
	__u64 lost;
	__u32 source_id;
	__u32 flags;
	__u32 aux;
	__u16 payload_len;
	__u16 reserved;
};

#endif /* _UAPI_LINUX_EVCORE_H */
