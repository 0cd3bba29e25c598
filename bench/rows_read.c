// SPDX-License-Identifier: GPL-2.0
/*
 * make bench, the read-path rows: one queued event per read() against
 * eventfd, the trigger -> epoll_wait -> read round trip against eventfd,
 * and 64-record reads draining a full queue against a pipe moving records
 * of the device's record size.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ubench.h"

/* Events queued before each timed pass of reads. */
#define READ1_QUEUE	4096
#define DRAIN_QUEUE	4096

/*
 * read1: READ1_QUEUE events queued, then one read() per event; 8 passes a
 * round, one in each of its chunks.
 */
static void read1_mypoll(double *v)
{
	unsigned long passes = ub_scaled(8), p, i;
	struct mypoll_event ev;
	__u64 ns = 0, t0;
	int fd = ub_open(O_RDWR);

	ub_ioctl_u32(fd, MYPOLL_IOC_SET_POLICY, EVCORE_POLICY_DROP_NEWEST,
		     "MYPOLL_IOC_SET_POLICY");
	ub_ioctl_u32(fd, MYPOLL_IOC_SET_QUEUE_SIZE, READ1_QUEUE,
		     "MYPOLL_IOC_SET_QUEUE_SIZE");
	for (p = 0; p < passes; p++) {
		ub_trigger(fd, READ1_QUEUE);
		t0 = ub_now();
		for (i = 0; i < READ1_QUEUE; i++)
			ub_xread(fd, &ev, sizeof(ev));
		ns += ub_now() - t0;
		if (ev.hdr.source_id != MYPOLL_SOURCE_MANUAL) {
			fprintf(stderr, "ubench: read1: record of source %u\n",
				ev.hdr.source_id);
			exit(1);
		}
	}
	close(fd);
	v[0] = (double)ns / (passes * READ1_QUEUE);
}

/* The same with an eventfd in semaphore mode: each read() takes one. */
static void read1_eventfd(double *v)
{
	unsigned long passes = ub_scaled(8), p, i;
	__u64 n = READ1_QUEUE, one, ns = 0, t0;
	int fd = eventfd(0, EFD_SEMAPHORE | EFD_CLOEXEC);

	if (fd < 0)
		ub_die("eventfd");
	for (p = 0; p < passes; p++) {
		ub_xwrite(fd, &n, sizeof(n));
		t0 = ub_now();
		for (i = 0; i < READ1_QUEUE; i++)
			ub_xread(fd, &one, sizeof(one));
		ns += ub_now() - t0;
	}
	close(fd);
	v[0] = (double)ns / (passes * READ1_QUEUE);
}

/*
 * rt: one thread reads the clock and triggers; another waits in
 * epoll_wait(), reads the event and reads the clock, then says so through
 * an eventfd the first one waits on. The latency is the second clock read
 * minus the first: p50 and p99 over the round. Both threads run on CPU 0:
 * the figure is the cost of the wake-up path itself, a context switch,
 * not the time an emulated idle CPU takes to wake (under TCG up to a
 * scheduler tick, 4 ms, and it varies from boot to boot).
 */
struct rt_ctx {
	int rfd, ep, back;
	size_t rlen;
	unsigned long n;
	__u64 t1;
};

static void *rt_reader(void *arg)
{
	struct rt_ctx *c = arg;
	struct mypoll_event buf;
	struct epoll_event e;
	__u64 one = 1;
	unsigned long i;

	ub_pin(0);
	for (i = 0; i < c->n; i++) {
		if (epoll_wait(c->ep, &e, 1, 5000) != 1) {
			if (!errno)
				errno = ETIMEDOUT;
			ub_die("rt: epoll_wait");
		}
		ub_xread(c->rfd, &buf, c->rlen);
		__atomic_store_n(&c->t1, ub_now(), __ATOMIC_RELEASE);
		ub_xwrite(c->back, &one, sizeof(one));
	}
	return NULL;
}

static void rt_run(int fd, int mypoll, size_t rlen, double *v)
{
	struct rt_ctx c = { .rfd = fd, .rlen = rlen, .n = ub_scaled(2000) };
	struct epoll_event e = { .events = EPOLLIN };
	__u64 *lat, t0, one = 1, done;
	__u32 one32 = 1;
	unsigned long i;
	pthread_t th;

	lat = calloc(c.n, sizeof(*lat));
	c.ep = epoll_create1(EPOLL_CLOEXEC);
	c.back = eventfd(0, EFD_CLOEXEC);
	if (!lat || c.ep < 0 || c.back < 0 ||
	    epoll_ctl(c.ep, EPOLL_CTL_ADD, fd, &e))
		ub_die("rt: setup");
	errno = pthread_create(&th, NULL, rt_reader, &c);
	if (errno)
		ub_die("rt: pthread_create");
	for (i = 0; i < c.n; i++) {
		t0 = ub_now();
		if (mypoll) {
			if (ioctl(fd, MYPOLL_IOC_TRIGGER, &one32) != 1)
				ub_die("rt: MYPOLL_IOC_TRIGGER");
		} else {
			ub_xwrite(fd, &one, sizeof(one));
		}
		ub_xread(c.back, &done, sizeof(done));
		lat[i] = __atomic_load_n(&c.t1, __ATOMIC_ACQUIRE) - t0;
	}
	pthread_join(th, NULL);
	v[0] = ub_percentile(lat, c.n, 50);
	v[1] = ub_percentile(lat, c.n, 99);
	free(lat);
	close(c.back);
	close(c.ep);
}

static void rt_mypoll(double *v)
{
	int fd = ub_open(O_RDWR);

	ub_ioctl_u32(fd, MYPOLL_IOC_SET_POLICY, EVCORE_POLICY_DROP_NEWEST,
		     "MYPOLL_IOC_SET_POLICY");
	rt_run(fd, 1, sizeof(struct mypoll_event), v);
	close(fd);
}

static void rt_eventfd(double *v)
{
	int fd = eventfd(0, EFD_CLOEXEC);

	if (fd < 0)
		ub_die("eventfd");
	rt_run(fd, 0, sizeof(__u64), v);
	close(fd);
}

/*
 * drain: DRAIN_QUEUE events queued (one MYPOLL_IOC_TRIGGER; into the pipe,
 * one write() per record), then read UB_BATCH records per read() until
 * the queue is empty. The figure is the cost per event of moving them
 * through, fill and drain; the second, drain_read, that of the reads
 * alone. The clock is read before the fill, between, and after the drain.
 */
static struct mypoll_event drain_buf[UB_BATCH];

static void drain_result(double *v, __u64 all, __u64 reads,
			 unsigned long passes)
{
	v[0] = (double)all / (passes * DRAIN_QUEUE);
	v[1] = (double)reads / (passes * DRAIN_QUEUE);
}

static void drain_mypoll(double *v)
{
	unsigned long passes = ub_scaled(8), p, i;
	__u64 all = 0, reads = 0, t0, t1, t2;
	int fd = ub_open(O_RDWR);

	ub_ioctl_u32(fd, MYPOLL_IOC_SET_POLICY, EVCORE_POLICY_DROP_NEWEST,
		     "MYPOLL_IOC_SET_POLICY");
	ub_ioctl_u32(fd, MYPOLL_IOC_SET_QUEUE_SIZE, DRAIN_QUEUE,
		     "MYPOLL_IOC_SET_QUEUE_SIZE");
	for (p = 0; p < passes; p++) {
		t0 = ub_now();
		ub_trigger(fd, DRAIN_QUEUE);
		t1 = ub_now();
		for (i = 0; i < DRAIN_QUEUE / UB_BATCH; i++)
			ub_xread(fd, drain_buf, sizeof(drain_buf));
		t2 = ub_now();
		reads += t2 - t1;
		all += t2 - t0;
	}
	close(fd);
	drain_result(v, all, reads, passes);
}

/* The pipe holds DRAIN_QUEUE records of the device's record size. */
static void drain_pipe(double *v)
{
	unsigned long passes = ub_scaled(8), p, i;
	size_t rec = ub_record_size();
	__u64 all = 0, reads = 0, t0, t1, t2;
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) ||
	    fcntl(fds[1], F_SETPIPE_SZ, (int)(DRAIN_QUEUE * 2 * rec)) < 0)
		ub_die("drain: pipe");
	for (p = 0; p < passes; p++) {
		t0 = ub_now();
		for (i = 0; i < DRAIN_QUEUE; i++)
			ub_xwrite(fds[1], &drain_buf[i % UB_BATCH], rec);
		t1 = ub_now();
		for (i = 0; i < DRAIN_QUEUE / UB_BATCH; i++)
			ub_xread(fds[0], drain_buf, UB_BATCH * rec);
		t2 = ub_now();
		reads += t2 - t1;
		all += t2 - t0;
	}
	close(fds[0]);
	close(fds[1]);
	drain_result(v, all, reads, passes);
}

const struct ub_row ub_read_rows[] = {
	{ "read1", "eventfd", "ns", 1, { }, read1_mypoll, read1_eventfd,
	  UB_CHUNKS },
	{ "rt", "eventfd", "ns", 2, { "rt_p50", "rt_p99" },
	  rt_mypoll, rt_eventfd, 0 },
	{ "drain", "pipe", "ns", 2, { "drain", "drain_read" },
	  drain_mypoll, drain_pipe, 0 },
};

const size_t ub_read_nrows = ARRAY_SIZE(ub_read_rows);
