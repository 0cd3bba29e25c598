// SPDX-License-Identifier: GPL-2.0
/*
 * kselftests for evcore_input: a uinput device bound to it, its events read
 * through /dev/input/evcoreN and through evdev's /dev/input/eventN side by
 * side. Needs evcore_input loaded (or modprobe able to load it), uinput and
 * evdev, and root.
 */

#define _GNU_SOURCE
#include <dirent.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <linux/evcore_input.h>
#include <linux/input.h>
#include <linux/uinput.h>

#include "kselftest_harness.h"
#include "mypoll_util.h"
#include "fail_nth.h"

#define EI_BIND		"/sys/module/evcore_input/parameters/bind"
#define EI_REC		((ssize_t)sizeof(struct evcore_input_record))
#define EI_MAX		4096

/* A uinput device and the two nodes of it under test. */
struct ei_dev {
	int ufd;
	char name[64];
	char sys[64];		/* /sys/devices/virtual/input/inputX */
	char evdev[96];		/* its eventN node */
	char evcore[96];	/* its evcoreN node, "" when unbound */
	int n;			/* N of eventN */
};

/* Load evcore_input when it is not: the tests need it. */
static int ei_module(void)
{
	if (access(EI_BIND, F_OK) && system("modprobe evcore_input"))
		return -ENOENT;
	return access(EI_BIND, W_OK) ? -errno : 0;
}

/* Set the rules; "" clears them (written as an empty line). */
static int ei_bind(const char *rules)
{
	return mp_write_file(EI_BIND, *rules ? rules : "\n");
}

/*
 * The node of class device @name under @sys, as /dev/input/NAME, or made
 * in /tmp when there is no devtmpfs node. Returns 0 or -errno.
 */
static int ei_node(const char *sys, const char *name, char *path, size_t len)
{
	char devf[200], buf[32];
	unsigned int maj, min;

	snprintf(path, len, "/dev/input/%s", name);
	if (!access(path, F_OK))
		return 0;
	snprintf(devf, sizeof(devf), "%s/%s/dev", sys, name);
	if (mp_read_file(devf, buf, sizeof(buf)) ||
	    sscanf(buf, "%u:%u", &maj, &min) != 2)
		return -ENOENT;
	snprintf(path, len, "/tmp/ei-%d-%s", getpid(), name);
	unlink(path);
	return mknod(path, S_IFCHR | 0600, makedev(maj, min)) ? -errno : 0;
}

/* Find the eventN and evcoreN children of the input device. */
static void ei_find(struct ei_dev *d)
{
	struct dirent *de;
	DIR *dir;

	d->evcore[0] = '\0';
	dir = opendir(d->sys);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (sscanf(de->d_name, "event%d", &d->n) == 1)
			ei_node(d->sys, de->d_name, d->evdev, sizeof(d->evdev));
		else if (!strncmp(de->d_name, "evcore", 6))
			ei_node(d->sys, de->d_name, d->evcore,
				sizeof(d->evcore));
	}
	closedir(dir);
}

static struct input_event ei_ev(__u16 type, __u16 code, __s32 value)
{
	struct input_event ev = { .type = type, .code = code, .value = value };

	return ev;
}

/* The name of the device ei_begin() makes for @tag. */
static void ei_name(char *name, size_t len, const char *tag)
{
	snprintf(name, len, "evcore-selftest-%s-%d", tag, getpid());
}

/* Open uinput for a device named after @tag; its bits come next. */
static int ei_begin(struct ei_dev *d, const char *tag)
{
	memset(d, 0, sizeof(*d));
	ei_name(d->name, sizeof(d->name), tag);
	d->ufd = open("/dev/uinput", O_WRONLY | O_CLOEXEC);
	if (d->ufd < 0 && !system("modprobe uinput"))
		d->ufd = open("/dev/uinput", O_WRONLY | O_CLOEXEC);
	return d->ufd < 0 ? -errno : 0;
}

/* Create the device ei_begin() opened and find its nodes. */
static int ei_end(struct ei_dev *d)
{
	struct uinput_setup us = {
		.id = { .bustype = BUS_VIRTUAL, .vendor = 0xec, .product = 1 },
	};
	char sys[32];

	strcpy(us.name, d->name);
	if (ioctl(d->ufd, UI_DEV_SETUP, &us) ||
	    ioctl(d->ufd, UI_DEV_CREATE) ||
	    ioctl(d->ufd, UI_GET_SYSNAME(sizeof(sys)), sys) < 0)
		return -errno;
	snprintf(d->sys, sizeof(d->sys), "/sys/devices/virtual/input/%s", sys);
	ei_find(d);
	return d->evdev[0] ? 0 : -ENOENT;
}

/* A uinput device with keys, two relative axes and MSC_SCAN. */
static int ei_create(struct ei_dev *d, const char *tag)
{
	if (ei_begin(d, tag))
		return -errno;
	if (ioctl(d->ufd, UI_SET_EVBIT, EV_KEY) ||
	    ioctl(d->ufd, UI_SET_KEYBIT, KEY_A) ||
	    ioctl(d->ufd, UI_SET_KEYBIT, KEY_B) ||
	    ioctl(d->ufd, UI_SET_EVBIT, EV_REL) ||
	    ioctl(d->ufd, UI_SET_RELBIT, REL_X) ||
	    ioctl(d->ufd, UI_SET_RELBIT, REL_Y) ||
	    ioctl(d->ufd, UI_SET_EVBIT, EV_MSC) ||
	    ioctl(d->ufd, UI_SET_MSCBIT, MSC_SCAN))
		return -errno;
	return ei_end(d);
}

/* The axes of each contact of ei_create_mt()'s touchscreen. */
static const __u16 ei_mt_axes[] = {
	ABS_MT_TRACKING_ID, ABS_MT_POSITION_X, ABS_MT_POSITION_Y,
	ABS_MT_PRESSURE, ABS_MT_TOUCH_MAJOR, ABS_MT_TOUCH_MINOR,
	ABS_MT_WIDTH_MAJOR, ABS_MT_ORIENTATION,
};

/*
 * A touchscreen of @contacts contacts (2 to 32) on the type A protocol (no
 * slots: the input core passes every value on): the input core sizes its
 * frames (max_vals) for all the axes of every contact, about 8 events per
 * contact, as for a real touchscreen.
 */
static int ei_create_mt(struct ei_dev *d, const char *tag, int contacts)
{
	struct uinput_abs_setup abs = { .absinfo = { .maximum = 4095 } };
	size_t i;

	if (ei_begin(d, tag))
		return -errno;
	if (ioctl(d->ufd, UI_SET_EVBIT, EV_ABS))
		return -errno;
	for (i = 0; i < ARRAY_SIZE(ei_mt_axes); i++) {
		abs.code = ei_mt_axes[i];
		abs.absinfo.maximum = i ? 4095 : contacts - 1;
		if (ioctl(d->ufd, UI_SET_ABSBIT, abs.code) ||
		    ioctl(d->ufd, UI_ABS_SETUP, &abs))
			return -errno;
	}
	return ei_end(d);
}

/*
 * Frame @f of ei_create_mt()'s touchscreen with @contacts touching: every
 * axis of each contact, then SYN_MT_REPORT, then one SYN_REPORT. Fills
 * @ev and returns how many: 9 per contact and 1.
 */
static size_t ei_mt_frame(unsigned int f, int contacts, struct input_event *ev)
{
	size_t n = 0, i;
	int c;

	for (c = 0; c < contacts; c++) {
		for (i = 0; i < ARRAY_SIZE(ei_mt_axes); i++)
			ev[n++] = ei_ev(EV_ABS, ei_mt_axes[i],
					i ? (int)((f * 97 + c * 13 + i) % 4096) : c);
		ev[n++] = ei_ev(EV_SYN, SYN_MT_REPORT, 0);
	}
	ev[n++] = ei_ev(EV_SYN, SYN_REPORT, 0);
	return n;
}

static void ei_destroy(struct ei_dev *d)
{
	if (d->ufd >= 0) {
		ioctl(d->ufd, UI_DEV_DESTROY);
		close(d->ufd);
	}
	d->ufd = -1;
}

/* Write @n events, SYN_REPORT being one of them where the caller says. */
static int ei_write(struct ei_dev *d, const struct input_event *ev, size_t n)
{
	ssize_t w = write(d->ufd, ev, n * sizeof(*ev));

	return w == (ssize_t)(n * sizeof(*ev)) ? 0 : -1;
}

/*
 * Frame @i of a deterministic mix: 1 to 4 events, then SYN_REPORT. Fills
 * @ev and returns how many it wrote there.
 */
static size_t ei_frame(unsigned int i, struct input_event *ev)
{
	size_t n = 0;

	switch (i % 4) {
	case 0:
		ev[n++] = ei_ev(EV_MSC, MSC_SCAN, 0x70004 + i);
		ev[n++] = ei_ev(EV_KEY, KEY_A, 1);
		break;
	case 1:
		ev[n++] = ei_ev(EV_REL, REL_X, (int)i);
		ev[n++] = ei_ev(EV_REL, REL_Y, -(int)i);
		break;
	case 2:
		ev[n++] = ei_ev(EV_KEY, KEY_A, 0);
		ev[n++] = ei_ev(EV_KEY, KEY_B, 1);
		ev[n++] = ei_ev(EV_REL, REL_X, 3);
		break;
	default:
		ev[n++] = ei_ev(EV_KEY, KEY_B, 0);
		break;
	}
	ev[n++] = ei_ev(EV_SYN, SYN_REPORT, 0);
	return n;
}

/* Read what waits, without blocking: records into @rec. Returns the count. */
static ssize_t ei_read_all(int fd, void *rec, size_t size, size_t max)
{
	ssize_t n, got = 0;

	while ((size_t)got < max) {
		n = mp_read_nb(fd, (char *)rec + got * size,
			       (max - got) * size);
		if (n <= 0)
			break;
		got += n / size;
	}
	return got;
}

static bool ei_is(const struct evcore_input_record *r, __u16 type, __u16 code)
{
	return !(r->hdr.flags & EVCORE_EVENT_LOSS) && r->v.type == type &&
	       r->v.code == code;
}

FIXTURE(ei)
{
	struct ei_dev d;
	struct evcore_input_record rec[EI_MAX];
	struct input_event ev[EI_MAX];
};

FIXTURE_SETUP(ei)
{
	char rule[96];

	self->d.ufd = -1;
	ASSERT_EQ(0, ei_module());
	snprintf(rule, sizeof(rule), "name:evcore-selftest-bound-%d\n",
		 getpid());
	ASSERT_EQ(0, ei_bind(rule));
	ASSERT_EQ(0, ei_create(&self->d, "bound"));
	ASSERT_NE(0, self->d.evcore[0]);
}

FIXTURE_TEARDOWN(ei)
{
	ei_destroy(&self->d);
	if (!access(EI_BIND, F_OK))
		ei_bind("");
}

/* No rule, no node: a device is not exposed unless asked for. */
TEST_F(ei, not_bound_by_default)
{
	struct ei_dev other;

	ASSERT_EQ(0, ei_create(&other, "other"));
	EXPECT_EQ(0, other.evcore[0]);
	ei_destroy(&other);
}

/* Rules written at run time bind and unbind devices there and then. */
TEST_F(ei, bind_unbind_sysfs)
{
	struct ei_dev other;
	char rule[160];

	ASSERT_EQ(0, ei_create(&other, "late"));
	ASSERT_EQ(0, other.evcore[0]);
	snprintf(rule, sizeof(rule), "name:%s", other.name);
	ASSERT_EQ(0, ei_bind(rule));
	ei_find(&other);
	EXPECT_NE(0, other.evcore[0]);
	/* Our fixture's device lost its rule. */
	ei_find(&self->d);
	EXPECT_EQ(0, self->d.evcore[0]);
	ASSERT_EQ(0, ei_bind("id:0006:00ec:0001"));
	ei_find(&other);
	EXPECT_NE(0, other.evcore[0]);
	ei_find(&self->d);
	EXPECT_NE(0, self->d.evcore[0]);
	ASSERT_EQ(0, ei_bind(""));
	ei_find(&other);
	EXPECT_EQ(0, other.evcore[0]);
	ei_destroy(&other);
}

/* GET_INFO: record size, evdev's buffer size, the eventN it sits beside. */
TEST_F(ei, info)
{
	struct evcore_input_info info;
	char path[160], buf[32];
	int fd;

	fd = open(self->d.evcore, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, EVCORE_INPUT_IOC_GET_INFO, &info));
	EXPECT_EQ(EI_REC, info.record_size);
	/* evdev's client buffer: 8 packets, at least 64, a power of 2. */
	EXPECT_LE(64, info.capacity);
	EXPECT_EQ(0, info.capacity & (info.capacity - 1));
	EXPECT_EQ(self->d.n, info.event_number);
	EXPECT_EQ(BUS_VIRTUAL, info.bustype);
	EXPECT_EQ(0xec, info.vendor);
	EXPECT_LE(2, info.max_frame);
	snprintf(path, sizeof(path), "%s/evcore%d/statistics/readers",
		 self->d.sys, self->d.n);
	ASSERT_EQ(0, mp_read_file(path, buf, sizeof(buf)));
	EXPECT_EQ(1, atoi(buf));
	close(fd);
}

/*
 * Every event written arrives through evdev and evcore_input, in the same
 * order with the same values and timestamps; each frame is one group,
 * ending at its SYN_REPORT.
 */
TEST_F(ei, same_events_as_evdev)
{
	struct input_event *got = calloc(EI_MAX, sizeof(*got));
	unsigned int i, nf = 16, clk = CLOCK_MONOTONIC;
	size_t n = 0, k;
	ssize_t ne, nc;
	int efd, cfd;

	ASSERT_NE(NULL, got);
	efd = open(self->d.evdev, O_RDONLY | O_CLOEXEC);
	cfd = open(self->d.evcore, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, ioctl(efd, EVIOCSCLOCKID, &clk));
	for (i = 0; i < nf; i++) {
		k = ei_frame(i, self->ev);
		ASSERT_EQ(0, ei_write(&self->d, self->ev, k));
		n += k;
	}
	ne = ei_read_all(efd, got, sizeof(*got), EI_MAX);
	nc = ei_read_all(cfd, self->rec, EI_REC, EI_MAX);
	ASSERT_EQ(n, ne);
	ASSERT_EQ(n, nc);
	for (k = 0; k < n; k++) {
		const struct evcore_input_record *r = &self->rec[k];
		__u64 us = r->hdr.timestamp_ns / 1000;

		EXPECT_EQ(got[k].type, r->v.type);
		EXPECT_EQ(got[k].code, r->v.code);
		EXPECT_EQ(got[k].value, r->v.value);
		EXPECT_EQ((__u64)got[k].input_event_sec * 1000000 +
			  got[k].input_event_usec, us);
		EXPECT_EQ(r->v.type != EV_SYN,
			  !!(r->hdr.flags & EVCORE_EVENT_GROUP_MORE));
		EXPECT_EQ(EVCORE_INPUT_SOURCE(r->v.type), r->hdr.source_id);
		if (k)
			EXPECT_EQ(self->rec[k - 1].hdr.seq + 1, r->hdr.seq);
		if (!mp_passed(_metadata))
			break;
	}
	close(efd);
	close(cfd);
	free(got);
}

/*
 * Reads return whole frames: every read that has room for the next frame
 * ends on a SYN_REPORT; only a buffer smaller than a frame splits one.
 */
TEST_F(ei, frames_whole)
{
	unsigned int i, frames = 0;
	size_t room;
	ssize_t n;
	int fd;

	fd = open(self->d.evcore, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, fd);
	for (i = 0; i < 12; i++)
		ASSERT_EQ(0, ei_write(&self->d, self->ev, ei_frame(i, self->ev)));
	for (room = 5;; room = room == 5 ? 7 : 5) {
		n = read(fd, self->rec, room * EI_REC);
		if (n < 0)
			break;
		ASSERT_EQ(0, n % EI_REC);
		n /= EI_REC;
		ASSERT_LT(0, n);
		EXPECT_TRUE(ei_is(&self->rec[n - 1], EV_SYN, SYN_REPORT));
		for (i = 0; i < n; i++)
			frames += ei_is(&self->rec[i], EV_SYN, SYN_REPORT);
	}
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(12, frames);
	/* A frame of 4 into 2 records of room: 2, then the other 2. */
	self->ev[0] = ei_ev(EV_REL, REL_X, 1);
	self->ev[1] = ei_ev(EV_REL, REL_Y, 1);
	self->ev[2] = ei_ev(EV_MSC, MSC_SCAN, 1);
	self->ev[3] = ei_ev(EV_SYN, SYN_REPORT, 0);
	ASSERT_EQ(0, ei_write(&self->d, self->ev, 4));
	ASSERT_EQ(2 * EI_REC, read(fd, self->rec, 2 * EI_REC));
	EXPECT_TRUE(self->rec[1].hdr.flags & EVCORE_EVENT_GROUP_MORE);
	ASSERT_EQ(2 * EI_REC, read(fd, self->rec, 4 * EI_REC));
	EXPECT_TRUE(ei_is(&self->rec[1], EV_SYN, SYN_REPORT));
	close(fd);
}

/* A type filter keeps SYN_REPORT, so frames stay framed. */
TEST_F(ei, type_filter)
{
	__u64 types = 1ULL << EV_KEY, bad = 1ULL << 40;
	ssize_t i, n;
	int fd;

	fd = open(self->d.evcore, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, EVCORE_INPUT_IOC_SET_TYPES, &bad));
	EXPECT_EQ(EINVAL, errno);
	ASSERT_EQ(0, ioctl(fd, EVCORE_INPUT_IOC_SET_TYPES, &types));
	ASSERT_EQ(0, ioctl(fd, EVCORE_INPUT_IOC_GET_TYPES, &types));
	EXPECT_EQ((1ULL << EV_KEY) | (1ULL << EV_SYN), types);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, ei_write(&self->d, self->ev, ei_frame(i, self->ev)));
	n = ei_read_all(fd, self->rec, EI_REC, EI_MAX);
	/* Frames 0, 2, 3 have 1, 2, 1 keys; every frame its SYN_REPORT. */
	EXPECT_EQ(8, n);
	for (i = 0; i < n; i++)
		EXPECT_TRUE(self->rec[i].v.type == EV_KEY ||
			    ei_is(&self->rec[i], EV_SYN, SYN_REPORT));
	close(fd);
}

/* The watermark holds readers until that many records wait. */
TEST_F(ei, watermark)
{
	__u32 mark = 6;
	int fd;

	fd = open(self->d.evcore, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, EVCORE_INPUT_IOC_SET_WATERMARK, &mark));
	ASSERT_EQ(0, ei_write(&self->d, self->ev, ei_frame(1, self->ev)));
	EXPECT_EQ(0, mp_poll_now(fd, POLLIN));
	ASSERT_EQ(0, ei_write(&self->d, self->ev, ei_frame(1, self->ev)));
	EXPECT_EQ(POLLIN, mp_poll_now(fd, POLLIN));
	mark = 0;
	EXPECT_EQ(-1, ioctl(fd, EVCORE_INPUT_IOC_SET_WATERMARK, &mark));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
}

/* fdinfo shows the reader: its position, lag and types. */
TEST_F(ei, fdinfo)
{
	char path[64], buf[1024];
	__u64 v;
	int fd;

	fd = open(self->d.evcore, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ei_write(&self->d, self->ev, ei_frame(1, self->ev)));
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	ASSERT_EQ(0, mp_read_file(path, buf, sizeof(buf)));
	ASSERT_EQ(0, mp_kv_u64(buf, "evcore-lag", ':', &v));
	EXPECT_EQ(3, v);
	EXPECT_NE(NULL, strstr(buf, "evcore-input-types:"));
	close(fd);
}

/*
 * Overload: frames of 2 events into a ring of 64 nobody reads. evdev
 * flushes its buffer and says SYN_DROPPED; evcore_input keeps the newest
 * capacity / 2 frames and says exactly how many events it lost, between
 * frames.
 */
TEST_F(ei, overload_exact_loss)
{
	struct input_event *got = calloc(EI_MAX, sizeof(*got));
	struct evcore_input_info info;
	unsigned int frames, cap;
	char path[160], buf[32];
	bool dropped = false;
	unsigned int i;
	ssize_t n;
	int efd, cfd;

	ASSERT_NE(NULL, got);
	efd = open(self->d.evdev, O_RDONLY | O_CLOEXEC);
	cfd = open(self->d.evcore, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, efd);
	ASSERT_LE(0, cfd);
	ASSERT_EQ(0, ioctl(cfd, EVCORE_INPUT_IOC_GET_INFO, &info));
	/* evdev's buffer is as large: both overflow. */
	cap = info.capacity;
	frames = cap + cap / 2 + 4;
	ASSERT_GT(EI_MAX, 2 * frames);
	for (i = 0; i < frames; i++) {
		self->ev[0] = ei_ev(EV_REL, REL_X, (int)i + 1);
		self->ev[1] = ei_ev(EV_SYN, SYN_REPORT, 0);
		ASSERT_EQ(0, ei_write(&self->d, self->ev, 2));
	}
	n = ei_read_all(efd, got, sizeof(*got), EI_MAX);
	for (i = 0; i < n; i++)
		dropped |= got[i].type == EV_SYN && got[i].code == SYN_DROPPED;
	EXPECT_TRUE(dropped);
	n = ei_read_all(cfd, self->rec, EI_REC, EI_MAX);
	ASSERT_EQ(cap + 1, n);
	EXPECT_EQ(EVCORE_EVENT_LOSS, self->rec[0].hdr.flags);
	EXPECT_EQ(2 * frames - cap, self->rec[0].hdr.lost);
	EXPECT_TRUE(ei_is(&self->rec[1], EV_REL, REL_X));
	EXPECT_EQ(frames - cap / 2 + 1, self->rec[1].v.value);
	EXPECT_TRUE(ei_is(&self->rec[n - 1], EV_SYN, SYN_REPORT));
	snprintf(path, sizeof(path), "%s/evcore%d/statistics/overwritten",
		 self->d.sys, self->d.n);
	ASSERT_EQ(0, mp_read_file(path, buf, sizeof(buf)));
	EXPECT_EQ(2 * frames - cap, strtoull(buf, NULL, 10));
	close(efd);
	close(cfd);
	free(got);
}

/* Bind the device of @tag alone. */
static int ei_bind_tag(const char *tag)
{
	char name[64], rule[96];

	ei_name(name, sizeof(name), tag);
	snprintf(rule, sizeof(rule), "name:%s", name);
	return ei_bind(rule);
}

/*
 * Bind and create ei_create_mt()'s touchscreen for @tag, open its evdev
 * and evcore nodes non-blocking and get @info. Returns 0 or -1.
 */
static int ei_mt_open(struct ei_dev *mt, const char *tag, int contacts,
		      int *efd, int *cfd, struct evcore_input_info *info)
{
	*efd = -1;
	*cfd = -1;
	if (ei_bind_tag(tag) || ei_create_mt(mt, tag, contacts) ||
	    !mt->evcore[0])
		return -1;
	*efd = open(mt->evdev, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	*cfd = open(mt->evcore, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (*efd < 0 || *cfd < 0)
		return -1;
	return ioctl(*cfd, EVCORE_INPUT_IOC_GET_INFO, info);
}

/* Whether record @r carries event @ev: same type, code and value. */
static bool ei_same(const struct evcore_input_record *r,
		    const struct input_event *ev)
{
	return ei_is(r, ev->type, ev->code) && r->v.value == ev->value;
}

/* Whether evdev passed on @got as @ev was written. */
static bool ei_same_evdev(const struct input_event *got,
			  const struct input_event *ev)
{
	return got->type == ev->type && got->code == ev->code &&
	       got->value == ev->value;
}

/*
 * Frames longer than a read's batch of 64 records come whole: the frame
 * of a 10-finger touchscreen, 91 events, is one group that a read with
 * room for it returns whole, with the events evdev passes on. Under
 * overload whole frames are overwritten and the loss record stands
 * between two frames, never inside one.
 */
TEST_F(ei, long_frames_whole)
{
	struct input_event *got = calloc(EI_MAX, sizeof(*got));
	const size_t contacts = 10, fl = 9 * contacts + 1;
	struct evcore_input_info info;
	unsigned int f, frames, kept;
	struct ei_dev mt;
	ssize_t n, i;
	int efd, cfd;

	ASSERT_NE(NULL, got);
	ASSERT_EQ(0, ei_mt_open(&mt, "mt10", contacts, &efd, &cfd, &info));
	EXPECT_LE(fl, info.max_frame);
	EXPECT_GE(256, info.max_frame);
	for (f = 0; f < 3; f++) {
		ASSERT_EQ(fl, ei_mt_frame(f, contacts, self->ev + f * fl));
		ASSERT_EQ(0, ei_write(&mt, self->ev + f * fl, fl));
	}
	ASSERT_EQ(3 * fl, ei_read_all(efd, got, sizeof(*got), EI_MAX));
	/* Room for a frame and a half: one; for two and a half: two. */
	ASSERT_EQ(fl * EI_REC, read(cfd, self->rec, (fl + fl / 2) * EI_REC));
	ASSERT_EQ(2 * fl * EI_REC,
		  read(cfd, self->rec + fl, (2 * fl + fl / 2) * EI_REC));
	for (i = 0; i < (ssize_t)(3 * fl); i++) {
		EXPECT_TRUE(ei_same_evdev(&got[i], &self->ev[i]));
		EXPECT_TRUE(ei_same(&self->rec[i], &self->ev[i]));
		EXPECT_EQ((i + 1) % fl != 0,
			  !!(self->rec[i].hdr.flags & EVCORE_EVENT_GROUP_MORE));
		if (!mp_passed(_metadata))
			break;
	}
	/* Overload: the newest frames that fit stay, the rest is counted. */
	kept = info.capacity / fl;
	frames = kept + 4;
	for (f = 0; f < frames; f++) {
		ei_mt_frame(f, contacts, self->ev);
		ASSERT_EQ(0, ei_write(&mt, self->ev, fl));
	}
	for (f = 0;; f++) {
		n = read(cfd, self->rec, (fl + fl / 2) * EI_REC);
		if (n < 0)
			break;
		n /= EI_REC;
		i = 0;
		if (self->rec[0].hdr.flags & EVCORE_EVENT_LOSS) {
			EXPECT_EQ(0, f);
			EXPECT_EQ((frames - kept) * fl, self->rec[0].hdr.lost);
			i = 1;
		}
		EXPECT_EQ(fl, n - i);
		EXPECT_TRUE(ei_is(&self->rec[i], EV_ABS, ABS_MT_TRACKING_ID));
		EXPECT_TRUE(ei_is(&self->rec[n - 1], EV_SYN, SYN_REPORT));
	}
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(kept, f);
	close(efd);
	close(cfd);
	ei_destroy(&mt);
	free(got);
}

/*
 * A frame longer than max_frame (256 records: the 289 events of a
 * 32-contact touchscreen) comes as groups of max_frame, each whole, the
 * last ending with SYN_REPORT; statistics/frames_split counts it.
 */
TEST_F(ei, long_frame_split_counted)
{
	struct input_event *got = calloc(EI_MAX, sizeof(*got));
	const size_t contacts = 32, fl = 9 * contacts + 1;
	struct evcore_input_info info;
	char path[160], buf[32];
	struct ei_dev mt;
	ssize_t i;
	int efd, cfd;

	ASSERT_NE(NULL, got);
	ASSERT_EQ(0, ei_mt_open(&mt, "mt32", contacts, &efd, &cfd, &info));
	ASSERT_EQ(256, info.max_frame);
	snprintf(path, sizeof(path), "%s/evcore%d/statistics/frames_split",
		 mt.sys, mt.n);
	ASSERT_EQ(0, mp_read_file(path, buf, sizeof(buf)));
	EXPECT_EQ(0, atoi(buf));
	ASSERT_EQ(fl, ei_mt_frame(0, contacts, self->ev));
	ASSERT_EQ(0, ei_write(&mt, self->ev, fl));
	ASSERT_EQ(fl, ei_read_all(efd, got, sizeof(*got), EI_MAX));
	ASSERT_EQ(fl, ei_read_all(cfd, self->rec, EI_REC, EI_MAX));
	for (i = 0; i < (ssize_t)fl; i++) {
		EXPECT_TRUE(ei_same_evdev(&got[i], &self->ev[i]));
		EXPECT_TRUE(ei_same(&self->rec[i], &self->ev[i]));
		EXPECT_EQ(i != info.max_frame - 1 && i != (ssize_t)fl - 1,
			  !!(self->rec[i].hdr.flags & EVCORE_EVENT_GROUP_MORE));
		if (!mp_passed(_metadata))
			break;
	}
	ASSERT_EQ(0, mp_read_file(path, buf, sizeof(buf)));
	EXPECT_EQ(1, atoi(buf));
	close(efd);
	close(cfd);
	ei_destroy(&mt);
	free(got);
}

struct ei_blocked {
	int fd;
	pid_t tid;
	ssize_t ret;
	int err;
};

static void *ei_blocked_read(void *arg)
{
	struct ei_blocked *b = arg;
	struct evcore_input_record r;

	__atomic_store_n(&b->tid, gettid(), __ATOMIC_SEQ_CST);
	b->ret = read(b->fd, &r, sizeof(r));
	b->err = errno;
	return NULL;
}

/*
 * Removal: a reader blocked in read() gets ENODEV, an epoll waiter
 * EPOLLHUP, as with evdev; later reads fail with ENODEV.
 */
TEST_F(ei, removal_hangup)
{
	struct epoll_event ee = { .events = EPOLLIN };
	struct ei_blocked b = { .ret = 1 };
	pthread_t t;
	int efd, pfd, ep;

	b.fd = open(self->d.evcore, O_RDONLY | O_CLOEXEC);
	pfd = open(self->d.evcore, O_RDONLY | O_CLOEXEC);
	efd = open(self->d.evdev, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, b.fd);
	ASSERT_LE(0, pfd);
	ASSERT_LE(0, efd);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, pfd, &ee));
	ASSERT_EQ(0, pthread_create(&t, NULL, ei_blocked_read, &b));
	while (!__atomic_load_n(&b.tid, __ATOMIC_SEQ_CST))
		sched_yield();
	ASSERT_EQ(0, mp_wait_sleeping(b.tid, MP_WAIT_MS));
	EXPECT_EQ(0, epoll_wait(ep, &ee, 1, 0));
	ei_destroy(&self->d);
	ASSERT_EQ(1, epoll_wait(ep, &ee, 1, MP_WAIT_MS));
	EXPECT_TRUE(ee.events & EPOLLHUP);
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_EQ(-1, b.ret);
	EXPECT_EQ(ENODEV, b.err);
	EXPECT_EQ(-1, read(pfd, self->rec, EI_REC));
	EXPECT_EQ(ENODEV, errno);
	/* evdev's reader is told the same. */
	EXPECT_EQ(-1, read(efd, self->ev, sizeof(self->ev[0])));
	EXPECT_EQ(ENODEV, errno);
	close(ep);
	close(efd);
	close(pfd);
	close(b.fd);
}

/*
 * After removal GET_INFO fails with ENODEV, as evdev's ioctls do: the input
 * device it describes may be freed while the file stays open.
 */
TEST_F(ei, removal_info)
{
	struct evcore_input_info info;
	int fd;

	fd = open(self->d.evcore, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ioctl(fd, EVCORE_INPUT_IOC_GET_INFO, &info));
	ei_destroy(&self->d);
	EXPECT_EQ(-1, ioctl(fd, EVCORE_INPUT_IOC_GET_INFO, &info));
	EXPECT_EQ(ENODEV, errno);
	close(fd);
}

/*
 * Unload with a reader open is refused, as for mypoll: the open file holds
 * the module. Once it is closed the module goes, its nodes with it; it is
 * loaded again for what follows.
 */
TEST_F(ei, unload_with_readers)
{
	int fd;

	fd = open(self->d.evcore, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, syscall(SYS_delete_module, "evcore_input", O_NONBLOCK));
	EXPECT_EQ(EWOULDBLOCK, errno);
	ASSERT_EQ(0, ei_write(&self->d, self->ev, ei_frame(1, self->ev)));
	EXPECT_EQ(3 * EI_REC, read(fd, self->rec, 4 * EI_REC));
	close(fd);
	ASSERT_EQ(0, syscall(SYS_delete_module, "evcore_input", O_NONBLOCK));
	ei_find(&self->d);
	EXPECT_EQ(0, self->d.evcore[0]);
	EXPECT_EQ(0, ei_module());
}

/*
 * Make evdev number the devices anew: @g, bound, has its node named after
 * its eventN; @d, the fixture's device, below it, goes; evdev is loaded
 * again, so g's eventN changes; @h, made then and named in the rules with
 * g, gets g's old eventN. Returns 0, 1 when evdev cannot be unloaded, or
 * -1.
 */
static int ei_renumber(struct __test_metadata *_metadata, struct ei_dev *d,
		       struct ei_dev *g, struct ei_dev *h, char *rule,
		       size_t len, int *old)
{
	ASSERT_EQ(0, ei_create(g, "moved"));
	ei_name(h->name, sizeof(h->name), "late");
	snprintf(rule, len, "name:%s;name:%s", g->name, h->name);
	ASSERT_EQ(0, ei_bind(rule));
	ei_find(g);
	ASSERT_NE(0, g->evcore[0]);
	*old = g->n;
	ei_destroy(d);
	if (syscall(SYS_delete_module, "evdev", O_NONBLOCK)) {
		TH_LOG("evdev cannot be unloaded: %s", strerror(errno));
		ei_destroy(g);
		return 1;
	}
	ASSERT_EQ(0, system("modprobe evdev"));
	ei_find(g);
	ASSERT_NE(*old, g->n);
	ASSERT_EQ(0, ei_begin(h, "late"));
	ASSERT_EQ(0, ioctl(h->ufd, UI_SET_EVBIT, EV_KEY));
	ASSERT_EQ(0, ioctl(h->ufd, UI_SET_KEYBIT, KEY_A));
	ASSERT_EQ(0, ei_end(h));
	return 0;
}

/* Whether the node at @path (in /dev/input or /tmp) is named @name. */
static bool ei_named(const char *path, const char *name)
{
	size_t n = strlen(name), len = strlen(path);
	const char *t = path + len - n;

	return len > n && (t[-1] == '/' || t[-1] == '-') && !strcmp(t, name);
}

/* The N of @d's eventN that GET_INFO tells, or -2. */
static int ei_info_number(struct ei_dev *d)
{
	struct evcore_input_info info;
	int fd, n = -2;

	fd = open(d->evcore, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return n;
	if (!ioctl(fd, EVCORE_INPUT_IOC_GET_INFO, &info))
		n = info.event_number;
	close(fd);
	return n;
}

/*
 * eventN numbers change when evdev is loaded again, but a bound node keeps
 * its name: a device bound afterwards whose eventN is the old number of
 * one still bound gets its node all the same, named after its minor, and
 * GET_INFO tells each device's present eventN.
 */
TEST_F(ei, evdev_reload_renumbers)
{
	char rule[320], old_name[32];
	struct ei_dev g, h;
	int old, ret;

	ret = ei_renumber(_metadata, &self->d, &g, &h, rule, sizeof(rule),
			  &old);
	ASSERT_LE(0, ret);
	if (ret)
		SKIP(return, "evdev cannot be unloaded");
	TH_LOG("g: event%d (evcore%d), h: event%d, %s", g.n, old, h.n,
	       h.evcore);
	snprintf(old_name, sizeof(old_name), "evcore%d", old);
	EXPECT_TRUE(ei_named(g.evcore, old_name));
	EXPECT_EQ(g.n, ei_info_number(&g));
	/*
	 * evdev, loaded last, comes after evcore_input in the input core's
	 * list: h had no eventN yet when it was bound.
	 */
	ASSERT_NE(0, h.evcore[0]);
	EXPECT_EQ(h.n, ei_info_number(&h));
	ASSERT_EQ(old, h.n);
	/* Bound again while g keeps the name h's eventN gives, h gets a node. */
	snprintf(rule, sizeof(rule), "name:%s", g.name);
	ASSERT_EQ(0, ei_bind(rule));
	ei_find(&h);
	ASSERT_EQ(0, h.evcore[0]);
	snprintf(rule, sizeof(rule), "name:%s;name:%s", g.name, h.name);
	ASSERT_EQ(0, ei_bind(rule));
	ei_find(&h);
	EXPECT_NE(0, h.evcore[0]);
	EXPECT_NE(NULL, strstr(h.evcore, "evcore_m"));
	EXPECT_EQ(h.n, ei_info_number(&h));
	/* Once g lets its name go, a new bind of h takes its own. */
	snprintf(rule, sizeof(rule), "name:%s", h.name);
	ASSERT_EQ(0, ei_bind(rule));
	ASSERT_EQ(0, ei_bind(""));
	ASSERT_EQ(0, ei_bind(rule));
	ei_find(&h);
	snprintf(old_name, sizeof(old_name), "evcore%d", h.n);
	EXPECT_TRUE(ei_named(h.evcore, old_name));
	ei_destroy(&h);
	ei_destroy(&g);
}

#define EI_RACE_NODES	4
#define EI_RACE_ROUNDS	200
#define EI_RACE_SECONDS	20
#define EI_NTH_MAX	512
#define EI_MODPROBE	"/proc/sys/kernel/modprobe"
#define EI_FAILSLAB_GFP	MP_DEBUGFS "/failslab/ignore-gfp-wait"

/*
 * The opener thread and the test: @fd is the file it opened (it opens no
 * more until the test takes it); while @pause is set it opens nothing, and
 * it says so in @paused.
 */
struct ei_opener {
	char path[EI_RACE_NODES][64];
	int fd;
	bool pause;
	bool paused;
	bool stop;
};

#define ei_load(p)	__atomic_load_n(p, __ATOMIC_SEQ_CST)
#define ei_store(p, v)	__atomic_store_n(p, v, __ATOMIC_SEQ_CST)

/* Open the nodes over and over until told to stop. */
static void *ei_open_loop(void *arg)
{
	struct ei_opener *o = arg;
	int i, fd;

	while (!ei_load(&o->stop)) {
		if (ei_load(&o->pause)) {
			ei_store(&o->paused, true);
			continue;
		}
		if (ei_load(&o->fd) >= 0)
			continue;
		for (i = 0; i < EI_RACE_NODES; i++) {
			fd = open(o->path[i], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
			if (fd >= 0) {
				ei_store(&o->fd, fd);
				break;
			}
		}
	}
	return NULL;
}

/* Stop the opener, once no open of it is under way. */
static void ei_pause(struct ei_opener *o)
{
	ei_store(&o->paused, false);
	ei_store(&o->pause, true);
	while (!ei_load(&o->paused))
		;
}

/* Whether input minor @m is some class device's under /sys/class/input. */
static bool ei_minor_used(unsigned int m)
{
	char path[300], buf[32];
	unsigned int maj, min;
	struct dirent *de;
	bool used = false;
	DIR *dir;

	dir = opendir("/sys/class/input");
	if (!dir)
		return true;
	while (!used && (de = readdir(dir))) {
		snprintf(path, sizeof(path), "/sys/class/input/%s/dev",
			 de->d_name);
		if (!mp_read_file(path, buf, sizeof(buf)) &&
		    sscanf(buf, "%u:%u", &maj, &min) == 2)
			used = maj == 13 && min == m;
	}
	closedir(dir);
	return used;
}

/* Whether the input device at @sys has an evcore node. */
static bool ei_has_node(const char *sys)
{
	struct dirent *de;
	bool found = false;
	DIR *dir;

	dir = opendir(sys);
	if (!dir)
		return false;
	while (!found && (de = readdir(dir)))
		found = !strncmp(de->d_name, "evcore", 6);
	closedir(dir);
	return found;
}

/*
 * Write @rule, which names the input device at @sys, to the bind parameter
 * (@bfd) with each allocation failing in turn (fail-nth, @nth), until one
 * bind goes through with no failure, or a file opens while a bind fails.
 * A bind that goes through is undone. Returns 0 or -1.
 */
static int ei_failing_binds(int bfd, int nth, const char *rule,
			    const char *sys, struct ei_opener *o, int *binds)
{
	size_t len = strlen(rule);
	int k, fd, fired, ret;
	bool bound;

	for (k = 1; k < EI_NTH_MAX; k++) {
		if (fail_nth_arm(nth, k))
			return -1;
		/* The bind's failure is logged; the write may fail first. */
		if (pwrite(bfd, rule, len, 0) < 0 && errno != ENOMEM)
			return -1;
		fired = fail_nth_fired(nth);
		if (fired < 0)
			return -1;
		(*binds)++;
		/* A failure may also hit where nothing fails with it. */
		bound = ei_has_node(sys);
		if (!bound && ei_load(&o->fd) >= 0)
			return 0;
		if (!bound && fired)
			continue;
		if (!bound)
			return -1;
		/* Bound: a file opened now may be of the node made whole. */
		ei_pause(o);
		fd = __atomic_exchange_n(&o->fd, -1, __ATOMIC_SEQ_CST);
		if (fd >= 0)
			close(fd);
		ret = pwrite(bfd, "\n", 1, 0) == 1 ? 0 : -1;
		ei_store(&o->pause, false);
		if (ret || !fired)
			return ret;
	}
	return 0;
}

/*
 * A bind that fails once the node exists as a character device
 * (cdev_device_add() makes it one before device_add(), which can still
 * fail) must not leave a file opened in between on a device that is gone:
 * that file is hung up as after an unbind, and no event of the input
 * device reaches the half-made node. Each allocation of the bind fails in
 * turn (fail-nth), round after round, while the nodes the next dynamic
 * minors would get, made in /tmp, are opened over and over.
 */
TEST_F(ei, bind_failure_hangs_up_openers)
{
	struct ei_opener o = { .fd = -1 };
	char modprobe[256], gfp[8], rule[160];
	struct evcore_input_info info;
	unsigned int m, n = 0;
	int i, ret, nth, bfd, binds = 0;
	struct ei_dev h;
	time_t end;
	bool opened;
	pthread_t t;

	if (access(FAIL_NTH, W_OK) || access(EI_FAILSLAB_GFP, W_OK))
		SKIP(return, "no " FAIL_NTH " or " EI_FAILSLAB_GFP
		     " (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)");
	ASSERT_EQ(0, ei_create(&h, "late"));
	snprintf(rule, sizeof(rule), "name:%s", h.name);
	/* The fixture's device lets its minor go. */
	ASSERT_EQ(0, ei_bind(""));
	for (m = 256; m < 1024 && n < EI_RACE_NODES; m++) {
		if (ei_minor_used(m))
			continue;
		snprintf(o.path[n], sizeof(o.path[n]), "/tmp/ei-race-%d-%u",
			 getpid(), m);
		unlink(o.path[n]);
		ASSERT_EQ(0, mknod(o.path[n], S_IFCHR | 0600, makedev(13, m)));
		n++;
	}
	ASSERT_EQ(EI_RACE_NODES, n);
	bfd = open(EI_BIND, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, bfd);
	nth = fail_nth_open();
	ASSERT_LE(0, nth);
	ASSERT_EQ(0, mp_read_file(EI_FAILSLAB_GFP, gfp, sizeof(gfp)));
	/*
	 * An open of a minor without a node asks for a module through
	 * modprobe: so slow that the opens would hardly ever meet the bind.
	 */
	ASSERT_EQ(0, mp_read_file(EI_MODPROBE, modprobe, sizeof(modprobe)));
	ASSERT_EQ(0, pthread_create(&t, NULL, ei_open_loop, &o));
	/* Nothing from here to the restore may return early. */
	ret = mp_write_file(EI_MODPROBE, "\n") ?:
	      mp_write_file(EI_FAILSLAB_GFP, "N");
	end = time(NULL) + EI_RACE_SECONDS;
	for (i = 0; !ret && i < EI_RACE_ROUNDS && time(NULL) < end; i++) {
		ret = ei_failing_binds(bfd, nth, rule, h.sys, &o, &binds);
		if (ei_load(&o.fd) >= 0)
			break;
	}
	ei_store(&o.stop, true);
	pthread_join(t, NULL);
	EXPECT_EQ(0, mp_write_file(EI_FAILSLAB_GFP, gfp));
	ASSERT_EQ(0, mp_write_file(EI_MODPROBE, modprobe));
	ASSERT_EQ(0, ret);
	close(nth);
	close(bfd);
	opened = o.fd >= 0;
	TH_LOG("%d binds in %d rounds, a node opened: %s", binds, i,
	       opened ? "yes" : "no");
	if (opened) {
		EXPECT_EQ(-1, read(o.fd, self->rec, EI_REC));
		EXPECT_EQ(ENODEV, errno);
		EXPECT_EQ(-1, ioctl(o.fd, EVCORE_INPUT_IOC_GET_INFO, &info));
		EXPECT_EQ(ENODEV, errno);
		/*
		 * No event is written while it is open: with the file not
		 * hung up, events() would find no ring and oops.
		 */
		close(o.fd);
	}
	for (i = 0; i < EI_RACE_NODES; i++)
		unlink(o.path[i]);
	ei_destroy(&h);
	if (!opened)
		SKIP(return, "no open met a failing bind in %d binds", binds);
}

TEST_HARNESS_MAIN
