/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/input/evcoreN: an input device's events through the evcore event
 * queue, one ring per input device for all its readers.
 *
 * read() returns whole struct evcore_input_record records: the evcore
 * header, then one input value. The records of one frame (the events the
 * input core passes at once, ending with SYN_REPORT) form an evcore group:
 * all but the last carry EVCORE_EVENT_GROUP_MORE, and a read returns frames
 * whole when its buffer can hold one. Loss is told in-band, with its exact
 * count, by an EVCORE_EVENT_LOSS record between frames.
 * Documentation/userspace-api/evcore-input.rst describes the interface.
 */
#ifndef _UAPI_LINUX_EVCORE_INPUT_H
#define _UAPI_LINUX_EVCORE_INPUT_H

#include <linux/evcore.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/*
 * Source ids: an event of type T (EV_SYN, EV_KEY, ...) comes from source
 * T + 1, since source id 0 is EVCORE_SOURCE_NONE.
 */
#define EVCORE_INPUT_SOURCE(type)	((type) + 1)

/**
 * struct evcore_input_value - the payload of every record
 * @type: event type (EV_KEY, EV_REL, ..., EV_SYN)
 * @code: event code
 * @value: event value
 */
struct evcore_input_value {
	__u16 type;
	__u16 code;
	__s32 value;
};

/**
 * struct evcore_input_record - what read() returns, record by record
 * @hdr: the evcore header; hdr.timestamp_ns is the frame's
 *	CLOCK_MONOTONIC input timestamp, shared by its records
 * @v: the event; zero in loss records
 */
struct evcore_input_record {
	struct evcore_event hdr;
	struct evcore_input_value v;
};

/**
 * struct evcore_input_info - what the device is, for EVCORE_INPUT_IOC_GET_INFO
 * @record_size: bytes per record, sizeof(struct evcore_input_record)
 * @capacity: records the ring holds
 * @max_frame: the longest frame kept whole: longer frames of the input
 *	device (its packets of more events) come as groups of this many
 * @event_number: N of the input device's /dev/input/eventN at the time of
 *	the call (it changes when evdev is loaded again), or -1 when evdev
 *	has none for it
 * @bustype: input device id, as EVIOCGID
 * @vendor: as EVIOCGID
 * @product: as EVIOCGID
 * @version: as EVIOCGID
 * @reserved: zero
 */
struct evcore_input_info {
	__u32 record_size;
	__u32 capacity;
	__u32 max_frame;
	__s32 event_number;
	__u16 bustype;
	__u16 vendor;
	__u16 product;
	__u16 version;
	__u32 reserved[4];
};

#define EVCORE_INPUT_IOC_MAGIC	0xB7

/*
 * Event types this reader gets, bit T for type T; EV_SYN is always added.
 * Applies to every record not read yet.
 */
#define EVCORE_INPUT_IOC_SET_TYPES	_IOW(EVCORE_INPUT_IOC_MAGIC, 1, __u64)
#define EVCORE_INPUT_IOC_GET_TYPES	_IOR(EVCORE_INPUT_IOC_MAGIC, 2, __u64)
/* How many records must wait before poll() and read() wake; default 1. */
#define EVCORE_INPUT_IOC_SET_WATERMARK	_IOW(EVCORE_INPUT_IOC_MAGIC, 3, __u32)
#define EVCORE_INPUT_IOC_GET_INFO	_IOR(EVCORE_INPUT_IOC_MAGIC, 4, \
					     struct evcore_input_info)

#endif /* _UAPI_LINUX_EVCORE_INPUT_H */
