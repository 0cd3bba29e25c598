// SPDX-License-Identifier: GPL-2.0
/*
 * evcore_input: an input handler that gives each input device it is bound
 * to a character device, /dev/input/evcoreN beside the device's eventN,
 * whose readers get the device's events through one evcore ring.
 *
 * This file: the handler (connect, disconnect, events), the binding rules
 * (module parameter "bind", writable in sysfs) and the lifetime of a bound
 * device. The file operations and sysfs are in file.c.
 * See Documentation/userspace-api/evcore-input.rst.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/evcore_kcompat.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/major.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "evcore_input.h"

#define ECI_BIND_MAX	512

/* A record's payload is the input core's struct input_value as it is. */
static_assert(sizeof(struct input_value) == sizeof(struct evcore_input_value));
static_assert(offsetof(struct input_value, code) ==
	      offsetof(struct evcore_input_value, code));
static_assert(offsetof(struct input_value, value) ==
	      offsetof(struct evcore_input_value, value));
/* As evdev's client buffer: 8 packets, at least 64 events. */
#define ECI_BUF_PACKETS	8
#define ECI_MIN_BUFFER	64

/* Protects eci_conns and eci_bind; see evcore_input.h. */
static DEFINE_MUTEX(eci_lock);
static LIST_HEAD(eci_conns);
static char eci_bind[ECI_BIND_MAX];

/*
 * Whether the rule @rule (one line of the bind parameter) matches @dev:
 * "name:NAME" (the device's whole name) or "id:BUS:VENDOR:PRODUCT" (hex).
 */
static bool eci_rule_matches(const char *rule, size_t len,
			     struct input_dev *dev)
{
	unsigned int bus, vendor, product;
	char buf[80];

	if (len >= sizeof(buf))
		return false;
	memcpy(buf, rule, len);
	buf[len] = '\0';
	if (!strncmp(buf, "name:", 5))
		return dev->name && !strcmp(buf + 5, dev->name);
	if (sscanf(buf, "id:%x:%x:%x", &bus, &vendor, &product) == 3)
		return dev->id.bustype == bus && dev->id.vendor == vendor &&
		       dev->id.product == product;
	return false;
}

/* Whether the bind rules (lines or ';'-separated) name @dev. */
static bool eci_wanted_locked(struct input_dev *dev)
{
	const char *p = eci_bind, *end;
	size_t len;

	lockdep_assert_held(&eci_lock);
	while (*p) {
		len = strcspn(p, ";\n");
		end = p + len;
		if (len && eci_rule_matches(p, len, dev))
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

/* N of the eventN evdev made of @dev, or -1. */
int eci_event_number(struct input_dev *dev)
{
	struct input_handle *h;
	int n = -1;

	mutex_lock(&dev->mutex);
	list_for_each_entry(h, &dev->h_list, d_node)
		if (h->name && sscanf(h->name, "event%d", &n) == 1)
			break;
	mutex_unlock(&dev->mutex);
	return n;
}

/*
 * Name @ed's node: evcoreN after the eventN evdev made of @idev, so that
 * the two sit side by side, or evcore_m<minor> when evdev made none or
 * when a node still bound has that name: evdev numbers its devices anew
 * when it is loaded again, while bound nodes keep their names. Binds are
 * serialised by eci_lock, and no other driver makes evcore names.
 */
static int eci_set_name(struct eci_dev *ed, struct input_dev *idev, int minor)
{
	int n = eci_event_number(idev);
	struct device *other;
	char name[24];

	lockdep_assert_held(&eci_lock);
	if (n >= 0) {
		snprintf(name, sizeof(name), "evcore%d", n);
		other = class_find_device_by_name(&input_class, name);
		if (!other)
			return dev_set_name(&ed->dev, "%s", name);
		put_device(other);
	}
	return dev_set_name(&ed->dev, "evcore_m%d", minor);
}

/* evdev_compute_buffer_size(): the ring is as large as a client buffer. */
static u32 eci_default_capacity(struct input_dev *dev)
{
	u32 n = max_t(u32, dev->hint_events_per_packet * ECI_BUF_PACKETS,
		      ECI_MIN_BUFFER);

	return min_t(u32, roundup_pow_of_two(n), EVCORE_MAX_CAPACITY);
}

/*
 * The input core passes one frame per call: the values it gathered up to
 * SYN_REPORT, or up to max_vals with a SYN_REPORT it added. Each goes in
 * as one group (a frame longer than max_frame, as several, and counted),
 * with the frame's monotonic input timestamp, in one hold of the queue
 * lock each. Called with the input device's event_lock held, interrupts
 * off.
 */
static void eci_pass(struct input_handle *handle,
		     const struct input_value *vals, unsigned int count)
{
	struct eci_conn *conn = handle->private;
	struct eci_dev *ed = conn->ed;
	ktime_t *ts = input_get_timestamp(handle->dev);
	u64 ns = ktime_to_ns(ts[INPUT_CLK_MONO]);
	unsigned int i, n = 0, groups = 0;

	for (i = 0; i < count; i++) {
		if (vals[i].type >= EV_CNT)
			continue;
		/* The payload is the input core's value itself. */
		ed->items[n].src = &ed->src[vals[i].type];
		ed->items[n].payload = &vals[i];
		n++;
		if (n == ed->max_frame || i + 1 == count) {
			evcore_push_batch(ed->q, ed->items, n, ns);
			groups++;
			n = 0;
		}
	}
	if (n) {
		evcore_push_batch(ed->q, ed->items, n, ns);
		groups++;
	}
	if (groups > 1)
		WRITE_ONCE(ed->frames_split, ed->frames_split + 1);
}

EVCORE_INPUT_EVENTS(eci_pass)

static void eci_dev_release(struct device *dev)
{
	struct eci_dev *ed = container_of(dev, struct eci_dev, dev);

	evcore_queue_put(ed->q);
	input_free_minor(MINOR(dev->devt));
	kfree(ed->items);
	mutex_destroy(&ed->mutex);
	kfree(ed);
}

/* Unregister the sources of @ed registered so far. */
static void eci_sources_unregister(struct eci_dev *ed)
{
	unsigned int t;

	for (t = 0; t < EV_CNT; t++)
		evcore_source_unregister(&ed->src[t]);
}

static const char *const eci_type_names[EV_CNT] = {
	[EV_SYN] = "syn", [EV_KEY] = "key", [EV_REL] = "rel",
	[EV_ABS] = "abs", [EV_MSC] = "msc", [EV_SW] = "sw", [EV_LED] = "led",
	[EV_SND] = "snd", [EV_REP] = "rep", [EV_FF] = "ff", [EV_PWR] = "pwr",
	[EV_FF_STATUS] = "ff_status",
};

/*
 * Hang up @ed's readers: they get ENODEV and EPOLLHUP (as from
 * evdev_hangup()), new opens ENODEV, and the input device is closed, so
 * events() runs no more for it once this returns.
 */
static void eci_hangup(struct eci_dev *ed)
{
	mutex_lock(&ed->mutex);
	ed->exist = false;
	evcore_queue_shutdown(ed->q);
	if (ed->open)
		input_close_device(&ed->conn->handle);
	mutex_unlock(&ed->mutex);
}

/* Give @conn's input device its ring and node. */
static int eci_bind_locked(struct eci_conn *conn)
{
	struct input_dev *idev = conn->handle.dev;
	struct evcore_config cfg = {
		.capacity = eci_default_capacity(idev),
		.payload_size = sizeof(struct evcore_input_value),
		.policy = EVCORE_POLICY_DROP_OLDEST,
		.clock = CLOCK_MONOTONIC,
	};
	struct eci_dev *ed;
	unsigned int t, i;
	int minor, ret;

	lockdep_assert_held(&eci_lock);
	minor = input_get_new_minor(-1, 0, true);
	if (minor < 0)
		return minor;
	ed = kzalloc(sizeof(*ed), GFP_KERNEL);
	if (!ed) {
		input_free_minor(minor);
		return -ENOMEM;
	}
	mutex_init(&ed->mutex);
	ed->conn = conn;
	ed->exist = true;
	device_initialize(&ed->dev);
	ed->dev.devt = MKDEV(INPUT_MAJOR, minor);
	ed->dev.class = &input_class;
	ed->dev.parent = &idev->dev;
	ed->dev.groups = eci_groups;
	ed->dev.release = eci_dev_release;
	/* From here on, put_device() undoes everything. */
	ret = eci_set_name(ed, idev, minor);
	if (ret)
		goto err_put;
	cfg.name = dev_name(&ed->dev);
	ed->q = evcore_queue_create(&cfg);
	if (IS_ERR(ed->q)) {
		ret = PTR_ERR(ed->q);
		ed->q = NULL;
		goto err_put;
	}
	ed->max_frame = min(evcore_queue_max_group(ed->q),
			    max_t(u32, idev->max_vals, 1));
	ed->items = kcalloc(ed->max_frame, sizeof(*ed->items), GFP_KERNEL);
	ret = -ENOMEM;
	if (!ed->items)
		goto err_put;
	for (i = 0; i < ed->max_frame; i++)
		ed->items[i].len = sizeof(struct evcore_input_value);
	for (t = 0; t < EV_CNT; t++) {
		if (!test_bit(t, idev->evbit))
			continue;
		ret = evcore_source_register(ed->q, &ed->src[t],
					     eci_type_names[t] ?: "other",
					     EVCORE_INPUT_SOURCE(t));
		if (ret)
			goto err_sources;
	}
	/* events() may run as soon as the node is there and a reader opens. */
	conn->ed = ed;
	cdev_init(&ed->cdev, &eci_fops);
	ret = cdev_device_add(&ed->cdev, &ed->dev);
	if (ret)
		goto err_hangup;
	return 0;

err_hangup:
	/* The node was a character device for a while: a reader may be in. */
	eci_hangup(ed);
	conn->ed = NULL;
	ed->conn = NULL;
err_sources:
	eci_sources_unregister(ed);
err_put:
	put_device(&ed->dev);
	return ret;
}

/*
 * Take @conn's node away: its readers are hung up (eci_hangup()), the
 * files still open keep what they need until they are closed.
 */
static void eci_unbind_locked(struct eci_conn *conn)
{
	struct eci_dev *ed = conn->ed;

	lockdep_assert_held(&eci_lock);
	if (!ed)
		return;
	eci_hangup(ed);
	cdev_device_del(&ed->cdev, &ed->dev);
	conn->ed = NULL;
	ed->conn = NULL;
	eci_sources_unregister(ed);
	put_device(&ed->dev);
}

/* Bind what the rules name and unbind what they no longer do. */
static void eci_rescan_locked(void)
{
	struct eci_conn *conn;
	bool want;
	int ret;

	lockdep_assert_held(&eci_lock);
	list_for_each_entry(conn, &eci_conns, node) {
		want = eci_wanted_locked(conn->handle.dev);
		if (want && !conn->ed) {
			ret = eci_bind_locked(conn);
			if (ret)
				pr_warn("%s: not bound: %d\n",
					dev_name(&conn->handle.dev->dev), ret);
		} else if (!want && conn->ed) {
			eci_unbind_locked(conn);
		}
	}
}

static int eci_bind_set(const char *val, const struct kernel_param *kp)
{
	size_t len = strlen(val);

	if (len >= ECI_BIND_MAX)
		return -ENOSPC;
	mutex_lock(&eci_lock);
	strscpy(eci_bind, val, sizeof(eci_bind));
	eci_rescan_locked();
	mutex_unlock(&eci_lock);
	return 0;
}

static int eci_bind_get(char *buf, const struct kernel_param *kp)
{
	int ret;

	mutex_lock(&eci_lock);
	ret = sysfs_emit(buf, "%s%s", eci_bind,
			 *eci_bind && eci_bind[strlen(eci_bind) - 1] == '\n' ?
			 "" : "\n");
	mutex_unlock(&eci_lock);
	return ret;
}

static const struct kernel_param_ops eci_bind_ops = {
	.set = eci_bind_set,
	.get = eci_bind_get,
};

module_param_cb(bind, &eci_bind_ops, NULL, 0644);
MODULE_PARM_DESC(bind, "Input devices to bind, ';' or newline separated: name:NAME or id:BUS:VENDOR:PRODUCT (hex); none by default");

static int eci_connect(struct input_handler *handler, struct input_dev *dev,
		       const struct input_device_id *id)
{
	struct eci_conn *conn;
	int ret;

	conn = kzalloc(sizeof(*conn), GFP_KERNEL);
	if (!conn)
		return -ENOMEM;
	conn->handle.dev = dev;
	conn->handle.name = "evcore_input";
	conn->handle.handler = handler;
	conn->handle.private = conn;
	ret = input_register_handle(&conn->handle);
	if (ret) {
		kfree(conn);
		return ret;
	}
	mutex_lock(&eci_lock);
	list_add_tail(&conn->node, &eci_conns);
	if (eci_wanted_locked(dev)) {
		ret = eci_bind_locked(conn);
		if (ret)
			dev_warn(&dev->dev, "evcore_input: not bound: %d\n",
				 ret);
	}
	mutex_unlock(&eci_lock);
	return 0;
}

static void eci_disconnect(struct input_handle *handle)
{
	struct eci_conn *conn = handle->private;

	mutex_lock(&eci_lock);
	eci_unbind_locked(conn);
	list_del(&conn->node);
	mutex_unlock(&eci_lock);
	input_unregister_handle(handle);
	kfree(conn);
}

/*
 * Every input device, as evdev's table says it (all have EV_SYN; newer
 * input cores end the table at the first entry without flags); only those
 * the rules name get a node.
 */
static const struct input_device_id eci_ids[] = {
	{
		.flags = INPUT_DEVICE_ID_MATCH_EVBIT,
		.evbit = { BIT_MASK(EV_SYN) },
	},
	{ },
};
MODULE_DEVICE_TABLE(input, eci_ids);

static struct input_handler eci_handler = {
	.events = evcore_input_events(eci_pass),
	.connect = eci_connect,
	.disconnect = eci_disconnect,
	.name = "evcore_input",
	.id_table = eci_ids,
};

static int __init eci_init(void)
{
	return input_register_handler(&eci_handler);
}

static void __exit eci_exit(void)
{
	input_unregister_handler(&eci_handler);
}

module_init(eci_init);
module_exit(eci_exit);

MODULE_DESCRIPTION("Input events through the evcore event queue");
MODULE_LICENSE("GPL");
MODULE_VERSION(EVCORE_VERSION);
MODULE_IMPORT_NS_EVCORE();
/* eventN exists first, so evcoreN takes its number. */
MODULE_SOFTDEP("pre: evdev");
