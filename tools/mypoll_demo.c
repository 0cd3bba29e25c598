// SPDX-License-Identifier: GPL-2.0
/*
 * mypoll_demo: watch events arrive on /dev/mypoll through epoll, one line
 * each, from every source (the manual trigger, write() and the periodic
 * timer), then overflow the queue under both drop policies to show the
 * loss records, and print the statistics.
 *
 * It uses only the uapi headers: build it with -I include/uapi (and
 * -DEVCORE_VERSION='"x.y.z"', as tools/Makefile does). Run it as root with
 * mypoll_misc loaded: mypoll_demo [DEVICE]. It restores the queue size and
 * policy it changes, and exits 1 when the device does not behave as shown,
 * 2 on a usage error.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/evcore.h>
#include <linux/mypoll.h>

#ifndef EVCORE_VERSION
#error "build with -DEVCORE_VERSION='\"x.y.z\"' (tools/Makefile reads VERSION)"
#endif

#define DEFAULT_DEVICE	"/dev/mypoll"
#define WAIT_MS		5000	/* longest wait for one event */
#define BATCH		16	/* records per read() */
#define DEMO_QUEUE	8	/* queue size for the overflow demo */
#define DEMO_EXTRA	4	/* events pushed past a full queue */

static int dev_fd = -1;
static int epoll_fd = -1;
static unsigned long long last_ns;
static int failures;

static const char *source_name(unsigned int id)
{
	switch (id) {
	case MYPOLL_SOURCE_TIMER:
		return "timer";
	case MYPOLL_SOURCE_MANUAL:
		return "manual";
	case MYPOLL_SOURCE_WRITE:
		return "write";
	default:
		return "?";
	}
}

static const char *policy_name(unsigned int policy)
{
	switch (policy) {
	case EVCORE_POLICY_DROP_NEWEST:
		return "drop-newest";
	case EVCORE_POLICY_DROP_OLDEST:
		return "drop-oldest";
	case EVCORE_POLICY_BLOCK:
		return "block";
	default:
		return "?";
	}
}

static void die(const char *what)
{
	fprintf(stderr, "mypoll_demo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void check(bool ok, const char *what)
{
	if (ok)
		return;
	printf("  !! unexpected: %s\n", what);
	failures++;
}

static void section(const char *title)
{
	printf("\n== %s\n", title);
}

static void print_header(void)
{
	printf("  %6s  %-7s  %7s  %-18s  %10s  %4s  %s\n", "seq", "source",
	       "src_seq", "timestamp (s)", "+prev (ms)", "aux", "payload");
}

/* The payload of a write() event as a C string literal. */
static void print_payload(const struct mypoll_event *ev)
{
	unsigned int i, len = ev->hdr.payload_len;

	if (len > MYPOLL_PAYLOAD_MAX)
		len = MYPOLL_PAYLOAD_MAX;
	if (!len) {
		printf("-\n");
		return;
	}
	putchar('"');
	for (i = 0; i < len; i++) {
		unsigned char c = ev->payload[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			putchar(c);
		else
			printf("\\x%02x", c);
	}
	printf("\" (%u bytes)\n", len);
}

static void print_event(const struct mypoll_event *ev)
{
	const struct evcore_event *h = &ev->hdr;
	unsigned long long ts = h->timestamp_ns;

	if (h->flags & EVCORE_EVENT_LOSS) {
		printf("  %6llu  %-7s  LOSS RECORD: %llu event(s) lost here, next seq %llu\n",
		       (unsigned long long)h->seq, "-",
		       (unsigned long long)h->lost,
		       (unsigned long long)h->seq);
		return;
	}
	printf("  %6llu  %-7s  %7llu  %8llu.%09llu  ",
	       (unsigned long long)h->seq, source_name(h->source_id),
	       (unsigned long long)h->source_seq, ts / 1000000000ULL,
	       ts % 1000000000ULL);
	if (last_ns && ts >= last_ns)
		printf("%10.3f  ", (ts - last_ns) / 1e6);
	else
		printf("%10s  ", "-");
	last_ns = ts;
	printf("%4u  ", h->aux);
	print_payload(ev);
}

/*
 * Read and print what is readable now. Returns the number of events read
 * (loss records not counted); *losses counts the events loss records
 * reported.
 */
static int drain(unsigned long long *losses)
{
	struct mypoll_event buf[BATCH];
	int events = 0;

	for (;;) {
		ssize_t n = read(dev_fd, buf, sizeof(buf));
		size_t i;

		if (n < 0 && errno == EAGAIN)
			return events;
		if (n < 0)
			die("read");
		if (n % sizeof(buf[0]))
			check(false, "read returned a partial record");
		for (i = 0; i < n / sizeof(buf[0]); i++) {
			print_event(&buf[i]);
			if (buf[i].hdr.flags & EVCORE_EVENT_LOSS)
				*losses += buf[i].hdr.lost;
			else
				events++;
		}
	}
}

/*
 * Wait with epoll until @want events have been read, WAIT_MS at most for
 * each. Returns the number of events read.
 */
static int wait_events(int want, unsigned long long *losses)
{
	int got = 0;

	while (got < want) {
		struct epoll_event ev;
		int n = epoll_wait(epoll_fd, &ev, 1, WAIT_MS);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die("epoll_wait");
		if (n == 0) {
			printf("  (no event within %d ms)\n", WAIT_MS);
			break;
		}
		got += drain(losses);
	}
	return got;
}

static int ioctl_or_die(unsigned long req, void *arg, const char *what)
{
	int ret = ioctl(dev_fd, req, arg);

	if (ret < 0)
		die(what);
	return ret;
}

/* Returns how many of the @count events were queued. */
static int trigger(unsigned int count)
{
	return ioctl_or_die(MYPOLL_IOC_TRIGGER, &count, "MYPOLL_IOC_TRIGGER");
}

static void demo_manual(void)
{
	unsigned long long lost = 0;

	section("Manual trigger: ioctl(MYPOLL_IOC_TRIGGER, 3), then epoll_wait + read");
	print_header();
	check(trigger(3) == 3, "the ioctl returns 3 queued");
	check(wait_events(3, &lost) == 3 && !lost, "3 manual events");
}

static void demo_write(void)
{
	static const char * const msgs[] = { "hello", "evcore \x01" };
	unsigned long long lost = 0;
	unsigned int i;

	section("write(): each write() queues its bytes as one event");
	print_header();
	for (i = 0; i < 2; i++)
		if (write(dev_fd, msgs[i], strlen(msgs[i])) !=
		    (ssize_t)strlen(msgs[i]))
			die("write");
	check(wait_events(2, &lost) == 2 && !lost, "2 write events");
}

static void demo_timer(unsigned int mode, unsigned long long period_us,
		       int count)
{
	struct mypoll_timer t = { .mode = mode, .period_us = period_us };
	unsigned long long lost = 0;
	char title[128];
	int got;

	snprintf(title, sizeof(title),
		 "Periodic timer: MYPOLL_IOC_TIMER_START, %s mode, every %llu ms (aux = missed periods)",
		 mode == MYPOLL_TIMER_HRTIMER ? "hrtimer" : "work",
		 period_us / 1000);
	section(title);
	print_header();
	last_ns = 0;
	ioctl_or_die(MYPOLL_IOC_TIMER_START, &t, "MYPOLL_IOC_TIMER_START");
	got = wait_events(count, &lost);
	ioctl_or_die(MYPOLL_IOC_TIMER_STOP, NULL, "MYPOLL_IOC_TIMER_STOP");
	/* An event may have fired between the last read and the stop. */
	got += drain(&lost);
	check(got >= count, "timer events at each period");
}

static void demo_overflow(void)
{
	struct mypoll_reader_info ri;
	unsigned long long lost = 0;
	__u32 size = DEMO_QUEUE, policy = EVCORE_POLICY_DROP_NEWEST;
	int got, queued;

	printf("\n(MYPOLL_IOC_RESET_STATS, then MYPOLL_IOC_SET_QUEUE_SIZE %u for the overflows)\n",
	       size);

	ioctl_or_die(MYPOLL_IOC_SET_POLICY, &policy, "MYPOLL_IOC_SET_POLICY");
	section("Overflow under drop-newest: trigger 12 into a queue of 8");
	queued = trigger(DEMO_QUEUE + DEMO_EXTRA);
	printf("  ioctl returned %d: %d queued, %d refused\n", queued, queued,
	       DEMO_QUEUE + DEMO_EXTRA - queued);
	check(queued == DEMO_QUEUE, "8 of 12 queued");
	print_header();
	got = drain(&lost);
	printf("  -- one more event: the refused ones never got a seq, so seq goes on\n"
	       "  -- unbroken, but the manual source's own src_seq skips them:\n");
	trigger(1);
	got += wait_events(1, &lost);
	check(got == DEMO_QUEUE + 1, "8 events, then one more");
	check(lost == DEMO_EXTRA, "one loss record for 4 refused events");

	lost = 0;
	policy = EVCORE_POLICY_DROP_OLDEST;
	ioctl_or_die(MYPOLL_IOC_SET_POLICY, &policy, "MYPOLL_IOC_SET_POLICY");
	section("Overflow under drop-oldest: trigger 12 into a queue of 8");
	queued = trigger(DEMO_QUEUE + DEMO_EXTRA);
	printf("  ioctl returned %d: all queued, the %d oldest overwritten\n",
	       queued, queued - DEMO_QUEUE);
	check(queued == DEMO_QUEUE + DEMO_EXTRA, "12 of 12 queued");
	print_header();
	got = wait_events(DEMO_QUEUE, &lost);
	printf("  -- the loss record comes first, at the gap in seq\n");
	check(got == DEMO_QUEUE, "the 8 newest events");
	check(lost == DEMO_EXTRA, "one loss record for 4 overwritten events");

	ioctl_or_die(MYPOLL_IOC_GET_READER, &ri, "MYPOLL_IOC_GET_READER");
	printf("\n  this reader (MYPOLL_IOC_GET_READER): position %llu, lag %llu, ",
	       (unsigned long long)ri.position, (unsigned long long)ri.lag);
	printf("read %llu, lost %llu\n", (unsigned long long)ri.read,
	       (unsigned long long)ri.lost);
}

static void print_stats(void)
{
	struct mypoll_stats st;

	ioctl_or_die(MYPOLL_IOC_GET_STATS, &st, "MYPOLL_IOC_GET_STATS");
	section("Statistics: ioctl(MYPOLL_IOC_GET_STATS)");
	printf("  generated      %8llu    queued        %8llu    read          %8llu\n",
	       (unsigned long long)st.generated,
	       (unsigned long long)st.queued, (unsigned long long)st.read);
	printf("  dropped        %8llu    dropped_full  %8llu    overwritten   %8llu\n",
	       (unsigned long long)st.dropped,
	       (unsigned long long)st.dropped_full,
	       (unsigned long long)st.overwritten);
	printf("  manual         %8llu    timer         %8llu    write         %8llu\n",
	       (unsigned long long)st.manual, (unsigned long long)st.timer,
	       (unsigned long long)st.write);
	printf("  timer_missed   %8llu    would_block   %8llu    event_sequence%8llu\n",
	       (unsigned long long)st.timer_missed,
	       (unsigned long long)st.would_block,
	       (unsigned long long)st.event_sequence);
	printf("  queue_depth    %8u    queue_size    %8u    high_water    %8u\n",
	       st.queue_depth, st.queue_size, st.high_water);
	printf("  readers        %8u    policy        %8s\n", st.readers,
	       policy_name(st.policy));
	check(st.dropped == st.dropped_full + st.overwritten,
	      "dropped = dropped_full + overwritten");
	check(st.dropped_full >= DEMO_EXTRA && st.overwritten >= DEMO_EXTRA,
	      "both overflows counted");
}

static const struct option long_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'v' },
	{ }
};

/* The device to show, from the command line; exits on --help, --version. */
static const char *parse_args(int argc, char **argv)
{
	int opt;

	while ((opt = getopt_long(argc, argv, "hv", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			printf("Usage: mypoll_demo [DEVICE]\n"
			       "Show /dev/mypoll at work: events from every source through epoll,\n"
			       "an overflow under drop-newest and drop-oldest, the statistics.\n"
			       "DEVICE defaults to " DEFAULT_DEVICE ".\n"
			       "Run it as root with mypoll_misc loaded.\n"
			       "It restores what it changes. Exit status: 0 when the device behaved\n"
			       "as shown, 1 when it did not, 2 on a usage error.\n\n"
			       "  -h, --help     show this help and exit\n"
			       "  -v, --version  show the version and exit\n");
			exit(0);
		case 'v':
			printf("mypoll_demo (evcore) " EVCORE_VERSION "\n");
			exit(0);
		default:
			fprintf(stderr, "Try 'mypoll_demo --help' for more information.\n");
			exit(2);
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "mypoll_demo: too many arguments\n"
			"Try 'mypoll_demo --help' for more information.\n");
		exit(2);
	}
	return optind < argc ? argv[optind] : DEFAULT_DEVICE;
}

int main(int argc, char **argv)
{
	const char *path = parse_args(argc, argv);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI };
	__u32 old_size, old_policy, size = DEMO_QUEUE;
	unsigned long long lost = 0;
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	dev_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (dev_fd < 0)
		die(path);
	epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (epoll_fd < 0)
		die("epoll_create1");
	if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, dev_fd, &ev))
		die("epoll_ctl");
	ioctl_or_die(MYPOLL_IOC_GET_QUEUE_SIZE, &old_size,
		     "MYPOLL_IOC_GET_QUEUE_SIZE");
	ioctl_or_die(MYPOLL_IOC_GET_POLICY, &old_policy,
		     "MYPOLL_IOC_GET_POLICY");
	printf("%s: queue of %u events, policy %s; record size %zu bytes\n",
	       path, old_size, policy_name(old_policy),
	       sizeof(struct mypoll_event));

	section("Queued before this file was opened (a new reader starts at the oldest held)");
	print_header();
	n = drain(&lost);
	printf("  -- %d event(s)\n", n);

	demo_manual();
	demo_write();
	demo_timer(MYPOLL_TIMER_WORK, 100000, 4);
	demo_timer(MYPOLL_TIMER_HRTIMER, 20000, 4);

	ioctl_or_die(MYPOLL_IOC_RESET_STATS, NULL, "MYPOLL_IOC_RESET_STATS");
	ioctl_or_die(MYPOLL_IOC_SET_QUEUE_SIZE, &size,
		     "MYPOLL_IOC_SET_QUEUE_SIZE");
	demo_overflow();
	print_stats();

	ioctl_or_die(MYPOLL_IOC_SET_QUEUE_SIZE, &old_size,
		     "MYPOLL_IOC_SET_QUEUE_SIZE");
	ioctl_or_die(MYPOLL_IOC_SET_POLICY, &old_policy,
		     "MYPOLL_IOC_SET_POLICY");
	close(epoll_fd);
	close(dev_fd);
	if (failures) {
		printf("\nmypoll_demo: %d unexpected result(s)\n", failures);
		return 1;
	}
	printf("\nmypoll_demo: every step behaved as described\n");
	return 0;
}
