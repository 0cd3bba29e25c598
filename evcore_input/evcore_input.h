/* SPDX-License-Identifier: GPL-2.0 */
/*
 * evcore_input's private header: the state of a connected input device
 * and of a bound one, shared by main.c (the input handler, binding) and
 * file.c (the character device, sysfs).
 *
 * Locking: eci_lock (main.c) protects the list of connected devices and
 * the binding rules; it is taken under the input core's input_mutex in
 * connect() and disconnect(). struct eci_dev.mutex protects the bound
 * device's open count and its exist flag, and is taken under eci_lock.
 * events() runs under the input device's event_lock with interrupts off
 * and takes only evcore's queue lock.
 */
#ifndef _EVCORE_INPUT_H
#define _EVCORE_INPUT_H

#include <linux/cdev.h>
#include <linux/device.h>
#include <linux/evcore.h>
#include <linux/input.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <uapi/linux/evcore_input.h>

/**
 * struct eci_dev - an input device bound to evcore_input: its ring and node
 * @dev: the node's device, /dev/input/evcoreN; its release frees this
 * @cdev: the character device
 * @conn: the connection it belongs to, while @exist; the file side looks
 *	at it (and at the input device) only under @mutex with @exist set
 * @q: the ring, one for every reader
 * @src: one source per event type the input device has (id type + 1)
 * @items: scratch for events(), which the input core serialises per
 *	device: each item's payload points at the input core's value
 * @max_frame: records of one group, the longest frame kept whole
 * @frames_split: frames longer than @max_frame, passed on as several
 *	groups; written by events() (the input core serialises them),
 *	WRITE_ONCE(), read locklessly by sysfs
 * @mutex: protects @open and @exist
 * @open: readers open; the input device is open while there are some
 * @exist: cleared when the input device goes or is unbound
 */
struct eci_dev {
	struct device dev;
	struct cdev cdev;
	struct eci_conn *conn;
	struct evcore_queue *q;
	struct evcore_source src[EV_CNT];
	struct evcore_push_item *items;
	u32 max_frame;
	unsigned long frames_split;
	/* Protects @open and @exist. */
	struct mutex mutex;
	unsigned int open;
	bool exist;
};

/**
 * struct eci_conn - an input device the handler is connected to
 * @handle: the input handle, opened while a bound device has readers
 * @node: in the list of connections, under eci_lock
 * @ed: the bound device, or NULL; set and cleared under eci_lock, read by
 *	events() only while the handle is open
 */
struct eci_conn {
	struct input_handle handle;
	struct list_head node;
	struct eci_dev *ed;
};

/* main.c */
int eci_event_number(struct input_dev *dev);

/* file.c */
extern const struct file_operations eci_fops;
extern const struct attribute_group *eci_groups[];

#endif /* _EVCORE_INPUT_H */
