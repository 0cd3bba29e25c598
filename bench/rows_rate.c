// SPDX-License-Identifier: GPL-2.0
/*
 * make bench, the rows that measure a rate or a timer: concurrent write()
 * -> read() against a pipe, the 1 ms hrtimer source against timerfd, and
 * delivery with idle readers against uinput -> evdev with idle clients.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <linux/input.h>
#include <linux/uinput.h>

#include "ubench.h"

/*
 * stream: a writer (CPU 0) queues one event per write(), a reader (CPU 1)
 * reads UB_BATCH records per read() until it has them all. Both queues
 * hold the same number of records: what a pipe of 1024 records' worth of
 * pages holds (whole records per page, as pipe_write() fills them), and
 * mypoll's queue is resized to that under the block policy, so that both
 * writers wait for room. The rate is events over the time from before the
 * first write to after the last read.
 */
struct stream_ctx {
	int rfd, ready;
	size_t rec;
	unsigned long n;
	__u64 t1;
};

static struct mypoll_event stream_buf[UB_BATCH];

static void *stream_reader(void *arg)
{
	struct stream_ctx *c = arg;
	static struct mypoll_event buf[UB_BATCH];
	unsigned long got = 0;
	__u64 one = 1;
	ssize_t n;

	ub_pin(1);
	ub_xwrite(c->ready, &one, sizeof(one));
	while (got < c->n) {
		n = read(c->rfd, buf, UB_BATCH * c->rec);
		if (n <= 0 || n % c->rec) {
			if (n >= 0)
				errno = EIO;
			ub_die("stream: read");
		}
		got += n / c->rec;
	}
	c->t1 = ub_now();
	return NULL;
}

static void stream_run(int wfd, int rfd, size_t wlen, size_t rec, double *v)
{
	struct stream_ctx c = { .rfd = rfd, .rec = rec, .n = ub_scaled(16384) };
	unsigned long i;
	pthread_t th;
	__u64 t0, one;

	c.ready = eventfd(0, EFD_CLOEXEC);
	if (c.ready < 0)
		ub_die("stream: eventfd");
	errno = pthread_create(&th, NULL, stream_reader, &c);
	if (errno)
		ub_die("stream: pthread_create");
	ub_xread(c.ready, &one, sizeof(one));
	t0 = ub_now();
	for (i = 0; i < c.n; i++)
		ub_xwrite(wfd, &stream_buf[i % UB_BATCH], wlen);
	pthread_join(th, NULL);
	close(c.ready);
	v[0] = c.n * 1e9 / (c.t1 - t0);
}

/* How many records a pipe of 1024 records' worth of pages holds. */
static unsigned int stream_capacity(int wfd)
{
	size_t rec = ub_record_size();
	long page = sysconf(_SC_PAGESIZE);
	int size = fcntl(wfd, F_SETPIPE_SZ, (int)(1024 * rec));

	if (size < 0)
		ub_die("stream: F_SETPIPE_SZ");
	return size / page * (page / rec);
}

static void stream_mypoll(double *v)
{
	int fds[2], wfd = ub_open(O_WRONLY), rfd = ub_open(O_RDONLY);
	unsigned int cap;

	if (pipe2(fds, O_CLOEXEC))
		ub_die("pipe");
	cap = stream_capacity(fds[1]);
	close(fds[0]);
	close(fds[1]);
	ub_ioctl_u32(wfd, MYPOLL_IOC_SET_QUEUE_SIZE, cap,
		     "MYPOLL_IOC_SET_QUEUE_SIZE");
	ub_ioctl_u32(wfd, MYPOLL_IOC_SET_POLICY, EVCORE_POLICY_BLOCK,
		     "MYPOLL_IOC_SET_POLICY");
	stream_run(wfd, rfd, MYPOLL_PAYLOAD_MAX, ub_record_size(), v);
	ub_ioctl_u32(wfd, MYPOLL_IOC_SET_POLICY, EVCORE_POLICY_DROP_NEWEST,
		     "MYPOLL_IOC_SET_POLICY");
	close(rfd);
	close(wfd);
}

static void stream_pipe(double *v)
{
	int fds[2];

	if (pipe2(fds, O_CLOEXEC))
		ub_die("pipe");
	stream_capacity(fds[1]);
	stream_run(fds[1], fds[0], ub_record_size(), ub_record_size(), v);
	close(fds[0]);
	close(fds[1]);
}

/*
 * hrtimer: a 1 ms periodic timer, read by one thread that reads the clock
 * after every read(). The error of a wake-up is |time since the previous
 * one - expirations x 1 ms|, expirations being timerfd's count, or the
 * timer records read plus the periods they say were missed; p50 over the
 * round, the first two wake-ups left out.
 */
#define TIMER_PERIOD_NS	1000000ull

static double timer_p50(__u64 *err, unsigned long n)
{
	return ub_percentile(err, n, 50);
}

static __u64 timer_error(__u64 dt, __u64 expirations)
{
	__u64 want = expirations * TIMER_PERIOD_NS;

	return dt > want ? dt - want : want - dt;
}

static void hrtimer_mypoll(double *v)
{
	struct mypoll_timer tm = { .mode = MYPOLL_TIMER_HRTIMER,
				   .period_us = TIMER_PERIOD_NS / 1000 };
	unsigned long n = ub_scaled(500), i, k;
	static struct mypoll_event buf[UB_BATCH];
	__u64 *err = calloc(n, sizeof(*err)), prev = 0, now, exp;
	int fd = ub_open(O_RDWR);
	ssize_t got;

	if (!err)
		ub_die("calloc");
	ub_ioctl_u32(fd, MYPOLL_IOC_SET_QUEUE_SIZE, 64,
		     "MYPOLL_IOC_SET_QUEUE_SIZE");
	ub_ioctl_u32(fd, MYPOLL_IOC_SET_POLICY, EVCORE_POLICY_DROP_OLDEST,
		     "MYPOLL_IOC_SET_POLICY");
	if (ioctl(fd, MYPOLL_IOC_TIMER_START, &tm))
		ub_die("MYPOLL_IOC_TIMER_START");
	for (i = 0; i < n + 2; i++) {
		got = read(fd, buf, sizeof(buf));
		now = ub_now();
		if (got <= 0 || got % sizeof(buf[0]))
			ub_die("hrtimer: read");
		exp = 0;
		for (k = 0; k < got / sizeof(buf[0]); k++)
			if (buf[k].hdr.source_id == MYPOLL_SOURCE_TIMER)
				exp += 1 + buf[k].hdr.aux;
		if (i >= 2)
			err[i - 2] = timer_error(now - prev, exp);
		prev = now;
	}
	if (ioctl(fd, MYPOLL_IOC_TIMER_STOP))
		ub_die("MYPOLL_IOC_TIMER_STOP");
	close(fd);
	v[0] = timer_p50(err, n);
	free(err);
}

static void hrtimer_timerfd(double *v)
{
	struct itimerspec its = {
		.it_interval.tv_nsec = TIMER_PERIOD_NS,
		.it_value.tv_nsec = TIMER_PERIOD_NS,
	};
	unsigned long n = ub_scaled(500), i;
	__u64 *err = calloc(n, sizeof(*err)), prev = 0, now, exp;
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);

	if (!err || fd < 0 || timerfd_settime(fd, 0, &its, NULL))
		ub_die("timerfd");
	for (i = 0; i < n + 2; i++) {
		ub_xread(fd, &exp, sizeof(exp));
		now = ub_now();
		if (i >= 2)
			err[i - 2] = timer_error(now - prev, exp);
		prev = now;
	}
	close(fd);
	v[0] = timer_p50(err, n);
	free(err);
}

/*
 * evdev: one thread writes EVDEV_BURST events, one write() each, then
 * reads them back from a reader that EVDEV_IDLE idle readers share the
 * queue with; the rate is events per second over the round. An evdev event
 * is one packet, REL_X then SYN_REPORT, written into uinput in one write();
 * a mypoll event is one 8-byte write().
 */
#define EVDEV_IDLE	4
#define EVDEV_BURST	16

static int uinput_fd = -1;
static char evdev_path[300];

/* Create the uinput device once; find its /dev/input/eventN. */
static const char *evdev_setup(void)
{
	struct uinput_setup us = {
		.id = { .bustype = BUS_VIRTUAL, .vendor = 1, .product = 1 },
		.name = "evcore-bench",
	};
	char sys[32], dir[352], devno[32];
	unsigned int maj, min;
	struct dirent *de;
	DIR *d;
	FILE *f;

	if (uinput_fd >= 0)
		return evdev_path;
	uinput_fd = open("/dev/uinput", O_WRONLY | O_CLOEXEC);
	if (uinput_fd < 0 || ioctl(uinput_fd, UI_SET_EVBIT, EV_REL) ||
	    ioctl(uinput_fd, UI_SET_RELBIT, REL_X) ||
	    ioctl(uinput_fd, UI_DEV_SETUP, &us) ||
	    ioctl(uinput_fd, UI_DEV_CREATE) ||
	    ioctl(uinput_fd, UI_GET_SYSNAME(sizeof(sys)), sys) < 0)
		ub_die("uinput");
	snprintf(dir, sizeof(dir), "/sys/devices/virtual/input/%s", sys);
	d = opendir(dir);
	if (!d)
		ub_die(dir);
	while ((de = readdir(d)) && strncmp(de->d_name, "event", 5))
		;
	if (!de)
		ub_die("uinput: no event device");
	snprintf(evdev_path, sizeof(evdev_path), "/dev/input/%s", de->d_name);
	snprintf(dir, sizeof(dir), "/sys/devices/virtual/input/%s/%s/dev",
		 sys, de->d_name);
	closedir(d);
	if (access(evdev_path, F_OK) == 0)
		return evdev_path;
	/* No devtmpfs node: make one. */
	f = fopen(dir, "r");
	if (!f || !fgets(devno, sizeof(devno), f) ||
	    sscanf(devno, "%u:%u", &maj, &min) != 2)
		ub_die(dir);
	fclose(f);
	snprintf(evdev_path, sizeof(evdev_path), "/tmp/evcore-bench-event");
	unlink(evdev_path);
	if (mknod(evdev_path, S_IFCHR | 0600, makedev(maj, min)))
		ub_die("mknod");
	return evdev_path;
}

static void evdev_mypoll(double *v)
{
	unsigned long bursts = ub_scaled(1024), b, j;
	int wfd = ub_open(O_WRONLY), rfd, idle[EVDEV_IDLE];
	static struct mypoll_event buf[EVDEV_BURST];
	__u64 t0, t1, payload = 1;

	ub_ioctl_u32(wfd, MYPOLL_IOC_SET_QUEUE_SIZE, 64,
		     "MYPOLL_IOC_SET_QUEUE_SIZE");
	ub_ioctl_u32(wfd, MYPOLL_IOC_SET_POLICY, EVCORE_POLICY_DROP_OLDEST,
		     "MYPOLL_IOC_SET_POLICY");
	rfd = ub_open(O_RDONLY | O_NONBLOCK);
	for (j = 0; j < EVDEV_IDLE; j++)
		idle[j] = ub_open(O_RDONLY);
	t0 = ub_now();
	for (b = 0; b < bursts; b++) {
		for (j = 0; j < EVDEV_BURST; j++)
			ub_xwrite(wfd, &payload, sizeof(payload));
		ub_xread(rfd, buf, sizeof(buf));
	}
	t1 = ub_now();
	if (buf[EVDEV_BURST - 1].hdr.source_id != MYPOLL_SOURCE_WRITE) {
		fprintf(stderr, "ubench: evdev: lost events\n");
		exit(1);
	}
	for (j = 0; j < EVDEV_IDLE; j++)
		close(idle[j]);
	close(rfd);
	close(wfd);
	v[0] = bursts * EVDEV_BURST * 1e9 / (t1 - t0);
}

static void evdev_evdev(double *v)
{
	unsigned long bursts = ub_scaled(1024), b, j;
	struct input_event pkt[2] = {
		{ .type = EV_REL, .code = REL_X, .value = 1 },
		{ .type = EV_SYN, .code = SYN_REPORT },
	};
	static struct input_event buf[2 * EVDEV_BURST];
	const char *path = evdev_setup();
	int rfd, idle[EVDEV_IDLE];
	__u64 t0, t1;

	rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0)
		ub_die(path);
	for (j = 0; j < EVDEV_IDLE; j++) {
		idle[j] = open(path, O_RDONLY | O_CLOEXEC);
		if (idle[j] < 0)
			ub_die(path);
	}
	t0 = ub_now();
	for (b = 0; b < bursts; b++) {
		for (j = 0; j < EVDEV_BURST; j++)
			ub_xwrite(uinput_fd, pkt, sizeof(pkt));
		ub_xread(rfd, buf, sizeof(buf));
	}
	t1 = ub_now();
	if (buf[2 * EVDEV_BURST - 2].type != EV_REL) {
		fprintf(stderr, "ubench: evdev: lost events\n");
		exit(1);
	}
	for (j = 0; j < EVDEV_IDLE; j++)
		close(idle[j]);
	close(rfd);
	v[0] = bursts * EVDEV_BURST * 1e9 / (t1 - t0);
}

const struct ub_row ub_rate_rows[] = {
	{ "stream", "pipe", "ev/s", 1, { }, stream_mypoll, stream_pipe, 0 },
	{ "hrtimer", "timerfd", "ns", 1, { },
	  hrtimer_mypoll, hrtimer_timerfd, 0 },
	{ "evdev", "evdev", "ev/s", 1, { }, evdev_mypoll, evdev_evdev, 0 },
};

const size_t ub_rate_nrows = ARRAY_SIZE(ub_rate_rows);
