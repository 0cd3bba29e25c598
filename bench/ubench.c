// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace half of the evcore benchmark: /dev/mypoll against eventfd and
 * pipes, the kernel's own event channels, in the same run.
 *
 * Prints "bench: <name> <nanoseconds per operation>" lines.
 * Needs mypoll_misc loaded with instances=2 (/dev/mypoll0, /dev/mypoll1).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/mypoll.h>
#include <linux/types.h>

#define BATCH	64

static unsigned long iterations = 20000;
/* Every ping-pong hop is a cross-thread wake-up: far slower, fewer. */
static unsigned long pingpongs = 2000;

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "ubench: %s: %s\n", what, strerror(errno));
	exit(1);
}

#define ROUNDS	3

/* Each measurement runs ROUNDS times; the best round is reported. */
static __u64 best[16];
static const char *best_name[16];
static unsigned int nbest;

static void report(const char *name, __u64 ns, unsigned long ops)
{
	unsigned int i;

	for (i = 0; i < nbest && strcmp(best_name[i], name); i++)
		;
	if (i == nbest) {
		best_name[nbest++] = name;
		best[i] = (__u64)-1;
	}
	if (ns / ops < best[i])
		best[i] = ns / ops;
}

static void xwrite(int fd, const void *buf, size_t len)
{
	if (write(fd, buf, len) != (ssize_t)len)
		die("write");
}

static void xread(int fd, void *buf, size_t len)
{
	if (read(fd, buf, len) != (ssize_t)len)
		die("read");
}

/* One event written and read back by the same thread. */
static void bench_roundtrip(int wfd, int rfd, size_t wlen, size_t rlen,
			    const char *name)
{
	struct mypoll_event ev;
	char buf[sizeof(ev)] = "payload";
	unsigned long i;
	__u64 t0;

	t0 = now_ns();
	for (i = 0; i < iterations; i++) {
		xwrite(wfd, buf, wlen);
		xread(rfd, &ev, rlen);
	}
	report(name, now_ns() - t0, iterations);
}

/* BATCH events queued, then read with one read() call. */
static void bench_batch_mypoll(int fd)
{
	struct mypoll_event ev[BATCH];
	__u32 n = BATCH;
	unsigned long i;
	__u64 t0;

	t0 = now_ns();
	for (i = 0; i < iterations / BATCH; i++) {
		if (ioctl(fd, MYPOLL_IOC_TRIGGER, &n) != BATCH)
			die("trigger");
		xread(fd, ev, sizeof(ev));
	}
	report("batch64_per_event_mypoll", now_ns() - t0,
	       iterations / BATCH * BATCH);
}

static void bench_batch_pipe(int wfd, int rfd)
{
	static struct mypoll_event ev[BATCH];
	unsigned long i;
	__u64 t0;
	int j;

	t0 = now_ns();
	for (i = 0; i < iterations / BATCH; i++) {
		for (j = 0; j < BATCH; j++)
			xwrite(wfd, &ev[j], sizeof(ev[j]));
		xread(rfd, ev, sizeof(ev));
	}
	report("batch64_per_event_pipe", now_ns() - t0,
	       iterations / BATCH * BATCH);
}

/*
 * Ping-pong between two threads on one CPU: every hop is a wake-up and a
 * context switch. On one CPU the figure is the cost of the wake-up path
 * itself, not the latency of waking an idle CPU, which under emulation
 * varies by milliseconds.
 */
struct pong {
	int in, out;
	size_t wlen, rlen;
};

static void *pong_thread(void *arg)
{
	struct pong *p = arg;
	char buf[sizeof(struct mypoll_event)] = "pong";
	unsigned long i;

	for (i = 0; i < pingpongs; i++) {
		xread(p->in, buf, p->rlen);
		xwrite(p->out, buf, p->wlen);
	}
	return NULL;
}

static void bench_pingpong(int a_w, int a_r, int b_w, int b_r, size_t wlen,
			   size_t rlen, const char *name)
{
	struct pong p = { .in = a_r, .out = b_w, .wlen = wlen, .rlen = rlen };
	char buf[sizeof(struct mypoll_event)] = "ping";
	pthread_attr_t attr;
	cpu_set_t cpu;
	pthread_t th;
	unsigned long i;
	__u64 t0;

	CPU_ZERO(&cpu);
	CPU_SET(0, &cpu);
	if (sched_setaffinity(0, sizeof(cpu), &cpu) ||
	    pthread_attr_init(&attr) ||
	    pthread_attr_setaffinity_np(&attr, sizeof(cpu), &cpu) ||
	    pthread_create(&th, &attr, pong_thread, &p))
		die("pthread_create on CPU 0");
	pthread_attr_destroy(&attr);
	t0 = now_ns();
	for (i = 0; i < pingpongs; i++) {
		xwrite(a_w, buf, wlen);
		xread(b_r, buf, rlen);
	}
	report(name, now_ns() - t0, pingpongs);
	pthread_join(th, NULL);
}

int main(int argc, char **argv)
{
	int m0, m1, e0, e1, p0[2], p1[2];
	__u32 policy = EVCORE_POLICY_DROP_OLDEST, size = 4096;
	int round;

	if (argc > 1)
		iterations = strtoul(argv[1], NULL, 0);
	if (iterations < BATCH)
		iterations = BATCH;

	m0 = open("/dev/mypoll0", O_RDWR);
	m1 = open("/dev/mypoll1", O_RDWR);
	if (m0 < 0 || m1 < 0)
		die("open /dev/mypoll0 and /dev/mypoll1");
	if (ioctl(m0, MYPOLL_IOC_SET_POLICY, &policy) ||
	    ioctl(m1, MYPOLL_IOC_SET_POLICY, &policy) ||
	    ioctl(m0, MYPOLL_IOC_SET_QUEUE_SIZE, &size) ||
	    ioctl(m1, MYPOLL_IOC_SET_QUEUE_SIZE, &size))
		die("configure mypoll");
	e0 = eventfd(0, 0);
	e1 = eventfd(0, 0);
	if (e0 < 0 || e1 < 0 || pipe(p0) || pipe(p1))
		die("eventfd/pipe");

	printf("bench: iterations %lu rounds %d\n", iterations, ROUNDS);
	for (round = 0; round < ROUNDS; round++) {
		bench_roundtrip(m0, m0, 8, sizeof(struct mypoll_event),
				"roundtrip_mypoll");
		bench_roundtrip(e0, e0, 8, 8, "roundtrip_eventfd");
		bench_roundtrip(p0[1], p0[0], sizeof(struct mypoll_event),
				sizeof(struct mypoll_event), "roundtrip_pipe");
		bench_batch_mypoll(m0);
		bench_batch_pipe(p0[1], p0[0]);
		bench_pingpong(m0, m0, m1, m1, 8, sizeof(struct mypoll_event),
			       "pingpong_mypoll");
		bench_pingpong(e0, e0, e1, e1, 8, 8, "pingpong_eventfd");
		bench_pingpong(p0[1], p0[0], p1[1], p1[0],
			       sizeof(struct mypoll_event),
			       sizeof(struct mypoll_event), "pingpong_pipe");
	}
	for (round = 0; round < (int)nbest; round++)
		printf("bench: %s %llu\n", best_name[round],
		       (unsigned long long)best[round]);
	return 0;
}
