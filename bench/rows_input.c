// SPDX-License-Identifier: GPL-2.0
/*
 * make bench rows for evcore_input: the same uinput device read through
 * /dev/input/evcoreN (evcore_input, one ring) and /dev/input/eventN (evdev,
 * a buffer per client), in the same boot. Each side opens only its own
 * node, so only its handler has the input device open and runs.
 *
 * Every frame is REL_X then SYN_REPORT, written in one write() as a driver
 * reports one packet. The ring is as large as evdev's client buffer for
 * the device (evcore_input's default).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <linux/evcore_input.h>
#include <linux/input.h>
#include <linux/uinput.h>

#include "ubench.h"

#define IN_NAME		"evcore-bench-input"
#define IN_BIND		"/sys/module/evcore_input/parameters/bind"
#define IN_READERS	64
/* Frames per burst: 32 events, well within a ring of 128. */
#define IN_BURST	16
#define IN_MAX_RECS	4096

static int in_ufd = -1;
static char in_sys[64];
static char in_node[2][96];	/* [0] evcoreN, [1] eventN */
static char in_evcore[256];	/* evcoreN */
static unsigned int in_cap;

static void in_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		ub_die(path);
	ub_xwrite(fd, val, strlen(val));
	close(fd);
}

/* The node of class device @name under the input device, made if need be. */
static void in_find_node(const char *name, char *path, size_t len)
{
	char devf[200], buf[32] = "";
	unsigned int maj, min;
	FILE *f;

	snprintf(path, len, "/dev/input/%s", name);
	if (!access(path, F_OK))
		return;
	snprintf(devf, sizeof(devf), "%s/%s/dev", in_sys, name);
	f = fopen(devf, "r");
	if (!f || !fgets(buf, sizeof(buf), f) ||
	    sscanf(buf, "%u:%u", &maj, &min) != 2)
		ub_die(devf);
	fclose(f);
	snprintf(path, len, "/tmp/%s-%s", IN_NAME, name);
	unlink(path);
	if (mknod(path, S_IFCHR | 0600, makedev(maj, min)))
		ub_die("mknod");
}

/* Create and bind the device once. */
static void in_setup(void)
{
	struct uinput_setup us = {
		.id = { .bustype = BUS_VIRTUAL, .vendor = 1, .product = 2 },
		.name = IN_NAME,
	};
	struct evcore_input_info info;
	struct dirent *de;
	char sys[32];
	DIR *d;
	int fd;

	if (in_ufd >= 0)
		return;
	in_write_file(IN_BIND, "name:" IN_NAME);
	in_ufd = open("/dev/uinput", O_WRONLY | O_CLOEXEC);
	if (in_ufd < 0 || ioctl(in_ufd, UI_SET_EVBIT, EV_REL) ||
	    ioctl(in_ufd, UI_SET_RELBIT, REL_X) ||
	    ioctl(in_ufd, UI_DEV_SETUP, &us) ||
	    ioctl(in_ufd, UI_DEV_CREATE) ||
	    ioctl(in_ufd, UI_GET_SYSNAME(sizeof(sys)), sys) < 0)
		ub_die("uinput");
	snprintf(in_sys, sizeof(in_sys), "/sys/devices/virtual/input/%s", sys);
	d = opendir(in_sys);
	if (!d)
		ub_die(in_sys);
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, "evcore", 6)) {
			in_find_node(de->d_name, in_node[0], sizeof(in_node[0]));
			snprintf(in_evcore, sizeof(in_evcore), "%s",
				 de->d_name);
		} else if (!strncmp(de->d_name, "event", 5)) {
			in_find_node(de->d_name, in_node[1], sizeof(in_node[1]));
		}
	}
	closedir(d);
	if (!in_node[0][0] || !in_node[1][0]) {
		errno = ENOENT;
		ub_die("evcore_input: no evcoreN or eventN node");
	}
	fd = open(in_node[0], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, EVCORE_INPUT_IOC_GET_INFO, &info))
		ub_die(in_node[0]);
	close(fd);
	in_cap = info.capacity;
}

static size_t in_rec(int evc)
{
	return evc ? sizeof(struct evcore_input_record) :
		     sizeof(struct input_event);
}

static int in_open(int evc, int flags)
{
	int fd = open(in_node[!evc], flags | O_CLOEXEC);

	if (fd < 0)
		ub_die(in_node[!evc]);
	return fd;
}

static void in_frame(__s32 value)
{
	struct input_event pkt[2] = {
		{ .type = EV_REL, .code = REL_X, .value = value },
		{ .type = EV_SYN, .code = SYN_REPORT },
	};

	ub_xwrite(in_ufd, pkt, sizeof(pkt));
}

/*
 * Rate: bursts of IN_BURST frames, each burst then read back whole by each
 * of @nr readers, one read() each; events written per second.
 */
static double in_rate(int evc, unsigned int nr)
{
	unsigned long bursts = ub_scaled(nr > 1 ? 64 : 1024), b, j;
	static char buf[2 * IN_BURST * sizeof(struct evcore_input_record)];
	size_t want = 2 * IN_BURST * in_rec(evc);
	int fd[IN_READERS];
	__u64 t0, t1;

	in_setup();
	for (j = 0; j < nr; j++)
		fd[j] = in_open(evc, O_RDONLY | O_NONBLOCK);
	t0 = ub_now();
	for (b = 0; b < bursts; b++) {
		for (j = 0; j < IN_BURST; j++)
			in_frame(1);
		for (j = 0; j < nr; j++)
			ub_xread(fd[j], buf, want);
	}
	t1 = ub_now();
	for (j = 0; j < nr; j++)
		close(fd[j]);
	return bursts * IN_BURST * 2 * 1e9 / (t1 - t0);
}

static void rate1_evcore(double *v)
{
	v[0] = in_rate(1, 1);
}

static void rate1_evdev(double *v)
{
	v[0] = in_rate(0, 1);
}

static void rate64_evcore(double *v)
{
	v[0] = in_rate(1, IN_READERS);
}

static void rate64_evdev(double *v)
{
	v[0] = in_rate(0, IN_READERS);
}

/* Nanoseconds per frame written, @frames of them. */
static double in_write_cost(unsigned long frames)
{
	unsigned long i;
	__u64 t0;

	t0 = ub_now();
	for (i = 0; i < frames; i++)
		in_frame(1);
	return (double)(ub_now() - t0) / frames;
}

/*
 * The producer's cost of the handler: a frame's write() with 64 idle
 * readers open (their buffers full: the steady state of readers that do
 * not read) less the same write() with none open (uinput and the input
 * core alone), per event.
 */
static double in_push(int evc)
{
	unsigned long frames = ub_scaled(4096), j;
	int fd[IN_READERS];
	double base, busy;

	in_setup();
	base = in_write_cost(frames);
	for (j = 0; j < IN_READERS; j++)
		fd[j] = in_open(evc, O_RDONLY | O_NONBLOCK);
	/* Fill every buffer first: then each frame overflows them. */
	for (j = 0; j < in_cap; j++)
		in_frame(1);
	busy = in_write_cost(frames);
	for (j = 0; j < IN_READERS; j++)
		close(fd[j]);
	return (busy - base) / 2;
}

static void push_evcore(double *v)
{
	v[0] = in_push(1);
}

static void push_evdev(double *v)
{
	v[0] = in_push(0);
}

static unsigned long in_stat(const char *name)
{
	char path[400], buf[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/statistics/%s", in_sys, in_evcore,
		 name);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		ub_die(path);
	fclose(f);
	return strtoul(buf, NULL, 10);
}

/*
 * Memory with 64 readers, each with a full buffer's backlog: evcore_input's
 * own count of everything it allocated for the device and the readers
 * (statistics/memory: queue, ring, readers, its state); for evdev the
 * client buffers alone, 64 x buffer size x sizeof(struct input_event), a
 * lower bound of what evdev allocates (each client also has a header of
 * some 350 bytes, and its allocation is rounded up to a kmalloc size).
 */
static void in_mem(int evc, double *v)
{
	int fd[IN_READERS];
	unsigned int j;

	in_setup();
	for (j = 0; j < IN_READERS; j++)
		fd[j] = in_open(evc, O_RDONLY | O_NONBLOCK);
	for (j = 0; j < in_cap / 2; j++)
		in_frame(1);
	if (evc)
		v[0] = in_stat("memory");
	else
		v[0] = (double)IN_READERS * in_cap * sizeof(struct input_event);
	for (j = 0; j < IN_READERS; j++)
		close(fd[j]);
}

static void mem_evcore(double *v)
{
	in_mem(1, v);
}

static void mem_evdev(double *v)
{
	in_mem(0, v);
}

/*
 * Loss under the same overload: 3 buffers' worth of frames to a reader
 * that does not read, then read it all. The figure is the share of the
 * events written that the reader can account for: read, or counted in a
 * loss record. evcore_input must count every lost event exactly (else the
 * run fails); evdev says SYN_DROPPED, without a count. In percent: evdev
 * keeps only what it queued after its last flush.
 */
static void in_loss(int evc, double *v)
{
	static struct evcore_input_record rec[IN_MAX_RECS];
	static struct input_event ev[IN_MAX_RECS];
	unsigned int frames, i, events = 0, dropped = 0;
	unsigned long lost = 0;
	ssize_t n;
	int fd;

	in_setup();
	frames = 3 * in_cap / 2;
	fd = in_open(evc, O_RDONLY | O_NONBLOCK);
	for (i = 0; i < frames; i++)
		in_frame((__s32)i + 1);
	for (;;) {
		n = read(fd, evc ? (void *)rec : (void *)ev,
			 IN_MAX_RECS * in_rec(evc));
		if (n <= 0)
			break;
		for (i = 0; i < n / in_rec(evc); i++) {
			if (evc && (rec[i].hdr.flags & EVCORE_EVENT_LOSS))
				lost += rec[i].hdr.lost;
			else if (!evc && ev[i].type == EV_SYN &&
				 ev[i].code == SYN_DROPPED)
				dropped++;
			else
				events++;
		}
	}
	close(fd);
	if (evc && (events != in_cap || lost != 2 * frames - in_cap)) {
		fprintf(stderr, "ubench: input_loss: %u read, %lu lost of %u; expected %u, %u\n",
			events, lost, 2 * frames, in_cap, 2 * frames - in_cap);
		exit(1);
	}
	if (!evc && !dropped) {
		fprintf(stderr, "ubench: input_loss: evdev sent no SYN_DROPPED\n");
		exit(1);
	}
	v[0] = 100.0 * (events + lost) / (2 * frames);
}

static void loss_evcore(double *v)
{
	in_loss(1, v);
}

static void loss_evdev(double *v)
{
	in_loss(0, v);
}

const struct ub_row ub_input_rows[] = {
	{ "input1", "evdev", "ev/s", 1, { }, rate1_evcore, rate1_evdev,
	  UB_CHUNKS },
	{ "input64", "evdev", "ev/s", 1, { }, rate64_evcore, rate64_evdev, 0 },
	{ "input_push", "evdev", "ns", 1, { }, push_evcore, push_evdev, 0 },
	{ "input_mem", "evdev", "B", 1, { }, mem_evcore, mem_evdev, 0 },
	{ "input_loss", "evdev", "%", 1, { }, loss_evcore, loss_evdev, 0 },
};

const size_t ub_input_nrows = ARRAY_SIZE(ub_input_rows);
