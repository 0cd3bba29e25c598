// SPDX-License-Identifier: GPL-2.0
/*
 * Exercises /dev/evcore_sample (evcore_sample.c) with the evcore_sample
 * module loaded, as root; prints TAP and exits non-zero when a check fails.
 * Every wait is bounded.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/evcore.h>

#define DEV		"/dev/evcore_sample"
#define SRC_WRITE	1
#define SRC_IRQ		2
#define FLAG_HARDIRQ	0x00010000U	/* bit 16 */
#define PAYLOAD		32
#define WAIT_MS		3000

struct record {
	struct evcore_event ev;
	unsigned char payload[PAYLOAD];
};

static int tests, failed;

static void check(bool ok, const char *what)
{
	tests++;
	if (!ok)
		failed++;
	printf("%sok %d - %s\n", ok ? "" : "not ", tests, what);
}

/* A read that must fail with @err. */
static bool read_fails(int fd, size_t count, int err)
{
	struct record r;

	return read(fd, &r, count) == -1 && errno == err;
}

/*
 * Reads records from @fd until one of @source is found (into @r), waiting
 * at most WAIT_MS in all.
 */
static bool read_source(int fd, unsigned int source, struct record *r)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int left = WAIT_MS;

	while (left > 0) {
		if (read(fd, r, sizeof(*r)) == sizeof(*r)) {
			if (r->ev.source_id == source)
				return true;
			continue;
		}
		if (errno != EAGAIN || poll(&p, 1, 100) < 0)
			return false;
		left -= 100;
	}
	return false;
}

static bool kernel_is_rt(void)
{
	struct utsname u;
	char c = '0';
	int fd;

	/* Mainline PREEMPT_RT says so in the version string. */
	if (!uname(&u) && strstr(u.version, "PREEMPT_RT"))
		return true;
	fd = open("/sys/kernel/realtime", O_RDONLY);
	if (fd < 0)
		return false;
	if (read(fd, &c, 1) != 1)
		c = '0';
	close(fd);
	return c == '1';
}

int main(void)
{
	static const char hello[] = "hello";
	unsigned char zero[PAYLOAD] = { 0 };
	char big[PAYLOAD + 1] = { 0 };
	struct record w, w2, irq;
	struct pollfd p;
	int fd, fd2;

	memset(&w, 0, sizeof(w));
	memset(&w2, 0, sizeof(w2));
	memset(&irq, 0, sizeof(irq));
	printf("TAP version 13\n1..11\n");
	fd = open(DEV, O_RDWR | O_NONBLOCK);
	fd2 = open(DEV, O_RDONLY | O_NONBLOCK);
	if (fd < 0 || fd2 < 0) {
		printf("Bail out! cannot open %s: %s\n", DEV, strerror(errno));
		return 1;
	}

	check(read_fails(fd, sizeof(struct record), EAGAIN),
	      "an empty queue: a non-blocking read fails with EAGAIN");
	check(write(fd, big, sizeof(big)) == -1 && errno == EMSGSIZE,
	      "a write beyond the payload size fails with EMSGSIZE");
	check(write(fd, hello, strlen(hello)) == (ssize_t)strlen(hello),
	      "write() of 5 bytes returns 5");

	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	check(poll(&p, 1, WAIT_MS) == 1 && (p.revents & POLLIN),
	      "poll() says readable after the write");
	check(read_fails(fd, sizeof(struct evcore_event), EINVAL),
	      "a read shorter than one record fails with EINVAL");

	check(read_source(fd, SRC_WRITE, &w) && w.ev.seq == 0 &&
	      w.ev.payload_len == strlen(hello) &&
	      !memcmp(w.payload, hello, strlen(hello)) &&
	      !memcmp(w.payload + strlen(hello), zero,
		      PAYLOAD - strlen(hello)),
	      "the write record: seq 0, the 5 bytes written, zeros after them");
	check(read_source(fd, SRC_IRQ, &irq) && irq.ev.seq == 1 &&
	      irq.ev.aux == 0 && irq.ev.payload_len == 0,
	      "the irq_work's record follows it: seq 1, run 0");
	if (kernel_is_rt())
		check(!(irq.ev.flags & FLAG_HARDIRQ),
		      "PREEMPT_RT: the irq_work pushed from its thread");
	else
		check(irq.ev.flags & FLAG_HARDIRQ,
		      "the irq_work pushed from hard interrupt context");
	check(irq.ev.timestamp_ns >= w.ev.timestamp_ns,
	      "timestamps in queue order");
	check(read_fails(fd, sizeof(struct record), EAGAIN),
	      "both read: a non-blocking read fails with EAGAIN again");
	check(read_source(fd2, SRC_WRITE, &w2) && w2.ev.seq == 0 &&
	      !memcmp(&w2, &w, sizeof(w)),
	      "a second open file reads the same write record");

	close(fd2);
	close(fd);
	printf("# %d of %d failed\n", failed, tests);
	return failed ? 1 : 0;
}
