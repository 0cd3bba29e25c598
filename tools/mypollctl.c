// SPDX-License-Identifier: GPL-2.0
/*
 * mypollctl: control and inspect /dev/mypoll through its ioctls.
 *
 * Queries open the device read-only; controls open it for writing, which
 * the device-wide ioctls require. Build it with the project's uapi headers
 * first on the include path (-I include/uapi).
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/mypoll.h>

#define DEFAULT_DEVICE		"/dev/mypoll"
#define READ_TIMEOUT_MS		5000

static const char *progname = "mypollctl";

static const char * const policy_names[] = {
	[EVCORE_POLICY_DROP_NEWEST] = "drop-newest",
	[EVCORE_POLICY_DROP_OLDEST] = "drop-oldest",
	[EVCORE_POLICY_BLOCK] = "block",
};

static const char * const mode_names[] = {
	[MYPOLL_TIMER_WORK] = "work",
	[MYPOLL_TIMER_HRTIMER] = "hrtimer",
};

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static void print_help(FILE *f)
{
	fprintf(f,
		"usage: %s [-d DEVICE] COMMAND [ARGS]\n"
		"\n"
		"  start [work|hrtimer] [PERIOD_US]  (re)start the timer; unset values are kept\n"
		"  stop                              stop the timer\n"
		"  trigger N                         queue N manual events (1..%d)\n"
		"  stats                             print the device statistics\n"
		"  reset                             zero the statistics\n"
		"  policy [NAME]                     print or set the overflow policy\n"
		"                                    (drop-newest, drop-oldest, block)\n"
		"  size [N]                          print or set the queue size in events\n"
		"  timer                             print the timer state\n"
		"  read [N]                          read and print N events (default 1),\n"
		"                                    waiting up to %d ms for each\n"
		"\n"
		"DEVICE defaults to %s.\n",
		progname, MYPOLL_TRIGGER_MAX, READ_TIMEOUT_MS, DEFAULT_DEVICE);
}

static const char *name_of(const char * const *names, size_t n, uint32_t v)
{
	return v < n && names[v] ? names[v] : "unknown";
}

static int lookup(const char * const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], s))
			return (int)i;
	return -1;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *val)
{
	unsigned long long v;
	char *end;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -1;
	*val = v;
	return 0;
}

static int fail(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", progname, what, strerror(errno));
	return 1;
}

static int bad_arg(const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s: invalid argument '%s'\n", progname, what,
		arg);
	return 2;
}

static int cmd_timer(int fd)
{
	struct mypoll_timer t;

	if (ioctl(fd, MYPOLL_IOC_TIMER_GET, &t))
		return fail("MYPOLL_IOC_TIMER_GET");
	printf("mode: %s\nrunning: %u\nperiod_us: %llu\n",
	       name_of(mode_names, ARRAY_SIZE(mode_names), t.mode),
	       t.running, (unsigned long long)t.period_us);
	return 0;
}

static int cmd_start(int fd, int argc, char **argv)
{
	struct mypoll_timer t;
	uint64_t period;
	int i, mode;

	if (ioctl(fd, MYPOLL_IOC_TIMER_GET, &t))
		return fail("MYPOLL_IOC_TIMER_GET");
	for (i = 0; i < argc; i++) {
		mode = lookup(mode_names, ARRAY_SIZE(mode_names), argv[i]);
		if (mode >= 0) {
			t.mode = mode;
		} else if (!parse_u64(argv[i], MYPOLL_PERIOD_US_MAX,
				      &period)) {
			t.period_us = period;
		} else {
			return bad_arg("start", argv[i]);
		}
	}
	t.running = 0;
	if (ioctl(fd, MYPOLL_IOC_TIMER_START, &t))
		return fail("MYPOLL_IOC_TIMER_START");
	return 0;
}

static int cmd_trigger(int fd, const char *arg)
{
	uint64_t n;
	__u32 count;
	int queued;

	if (parse_u64(arg, UINT32_MAX, &n))
		return bad_arg("trigger", arg);
	count = n;
	queued = ioctl(fd, MYPOLL_IOC_TRIGGER, &count);
	if (queued < 0)
		return fail("MYPOLL_IOC_TRIGGER");
	printf("queued %d of %u\n", queued, count);
	return 0;
}

static int cmd_stats(int fd)
{
	struct mypoll_stats st;

	if (ioctl(fd, MYPOLL_IOC_GET_STATS, &st))
		return fail("MYPOLL_IOC_GET_STATS");
	printf("generated: %llu\n", (unsigned long long)st.generated);
	printf("queued: %llu\n", (unsigned long long)st.queued);
	printf("dropped: %llu\n", (unsigned long long)st.dropped);
	printf("dropped_full: %llu\n", (unsigned long long)st.dropped_full);
	printf("overwritten: %llu\n", (unsigned long long)st.overwritten);
	printf("would_block: %llu\n", (unsigned long long)st.would_block);
	printf("read: %llu\n", (unsigned long long)st.read);
	printf("manual: %llu\n", (unsigned long long)st.manual);
	printf("timer: %llu\n", (unsigned long long)st.timer);
	printf("timer_missed: %llu\n", (unsigned long long)st.timer_missed);
	printf("write: %llu\n", (unsigned long long)st.write);
	printf("event_sequence: %llu\n",
	       (unsigned long long)st.event_sequence);
	printf("queue_depth: %u\n", st.queue_depth);
	printf("queue_size: %u\n", st.queue_size);
	printf("high_water: %u\n", st.high_water);
	printf("readers: %u\n", st.readers);
	printf("policy: %s\n",
	       name_of(policy_names, ARRAY_SIZE(policy_names), st.policy));
	return 0;
}

static int cmd_policy(int fd, const char *arg)
{
	__u32 policy;
	int p;

	if (!arg) {
		if (ioctl(fd, MYPOLL_IOC_GET_POLICY, &policy))
			return fail("MYPOLL_IOC_GET_POLICY");
		printf("%s\n",
		       name_of(policy_names, ARRAY_SIZE(policy_names), policy));
		return 0;
	}
	p = lookup(policy_names, ARRAY_SIZE(policy_names), arg);
	if (p < 0)
		return bad_arg("policy", arg);
	policy = p;
	if (ioctl(fd, MYPOLL_IOC_SET_POLICY, &policy))
		return fail("MYPOLL_IOC_SET_POLICY");
	return 0;
}

static int cmd_size(int fd, const char *arg)
{
	uint64_t n;
	__u32 size;

	if (!arg) {
		if (ioctl(fd, MYPOLL_IOC_GET_QUEUE_SIZE, &size))
			return fail("MYPOLL_IOC_GET_QUEUE_SIZE");
		printf("%u\n", size);
		return 0;
	}
	if (parse_u64(arg, UINT32_MAX, &n))
		return bad_arg("size", arg);
	size = n;
	if (ioctl(fd, MYPOLL_IOC_SET_QUEUE_SIZE, &size))
		return fail("MYPOLL_IOC_SET_QUEUE_SIZE");
	return 0;
}

static void print_event(const struct mypoll_event *ev)
{
	const struct evcore_event *h = &ev->hdr;
	unsigned int i, len;

	if (h->flags & EVCORE_EVENT_LOSS) {
		printf("seq=%llu loss lost=%llu\n",
		       (unsigned long long)h->seq,
		       (unsigned long long)h->lost);
		return;
	}
	printf("seq=%llu source=%u source_seq=%llu ts=%llu aux=%u len=%u",
	       (unsigned long long)h->seq, h->source_id,
	       (unsigned long long)h->source_seq,
	       (unsigned long long)h->timestamp_ns, h->aux, h->payload_len);
	len = h->payload_len < MYPOLL_PAYLOAD_MAX ? h->payload_len :
						   MYPOLL_PAYLOAD_MAX;
	if (len) {
		printf(" payload=");
		for (i = 0; i < len; i++)
			printf("%02x", ev->payload[i]);
	}
	printf("\n");
}

static int cmd_read(int fd, const char *arg)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	struct mypoll_event ev;
	uint64_t n = 1, i;
	ssize_t ret;
	int pr;

	if (arg && (parse_u64(arg, UINT32_MAX, &n) || !n))
		return bad_arg("read", arg);
	for (i = 0; i < n; i++) {
		pr = poll(&pfd, 1, READ_TIMEOUT_MS);
		if (pr < 0)
			return fail("poll");
		if (!pr) {
			fprintf(stderr, "%s: read: no event within %d ms\n",
				progname, READ_TIMEOUT_MS);
			return 1;
		}
		ret = read(fd, &ev, sizeof(ev));
		if (ret < 0)
			return fail("read");
		if (ret != sizeof(ev)) {
			fprintf(stderr, "%s: read: short record (%zd bytes)\n",
				progname, ret);
			return 1;
		}
		print_event(&ev);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *dev = DEFAULT_DEVICE;
	const char *cmd, *arg;
	bool control;
	int opt, fd, ret;

	while ((opt = getopt(argc, argv, "+d:h")) != -1) {
		switch (opt) {
		case 'd':
			dev = optarg;
			break;
		case 'h':
			print_help(stdout);
			return 0;
		default:
			print_help(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		print_help(stderr);
		return 2;
	}
	cmd = argv[optind];
	arg = optind + 1 < argc ? argv[optind + 1] : NULL;

	if (!strcmp(cmd, "start") || !strcmp(cmd, "stop") ||
	    !strcmp(cmd, "trigger") || !strcmp(cmd, "reset")) {
		control = true;
	} else if (!strcmp(cmd, "policy") || !strcmp(cmd, "size")) {
		control = arg;
	} else if (!strcmp(cmd, "stats") || !strcmp(cmd, "timer") ||
		   !strcmp(cmd, "read")) {
		control = false;
	} else {
		fprintf(stderr, "%s: unknown command '%s'\n", progname, cmd);
		print_help(stderr);
		return 2;
	}
	if (optind + (strcmp(cmd, "start") ? 2 : 3) < argc) {
		fprintf(stderr, "%s: %s: too many arguments\n", progname, cmd);
		return 2;
	}
	if (!strcmp(cmd, "trigger") && !arg) {
		fprintf(stderr, "%s: trigger: missing count\n", progname);
		return 2;
	}

	fd = open(dev, (control ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", progname, dev,
			strerror(errno));
		return 1;
	}

	if (!strcmp(cmd, "start"))
		ret = cmd_start(fd, argc - optind - 1, argv + optind + 1);
	else if (!strcmp(cmd, "stop"))
		ret = ioctl(fd, MYPOLL_IOC_TIMER_STOP) ?
			fail("MYPOLL_IOC_TIMER_STOP") : 0;
	else if (!strcmp(cmd, "trigger"))
		ret = cmd_trigger(fd, arg);
	else if (!strcmp(cmd, "reset"))
		ret = ioctl(fd, MYPOLL_IOC_RESET_STATS) ?
			fail("MYPOLL_IOC_RESET_STATS") : 0;
	else if (!strcmp(cmd, "policy"))
		ret = cmd_policy(fd, arg);
	else if (!strcmp(cmd, "size"))
		ret = cmd_size(fd, arg);
	else if (!strcmp(cmd, "stats"))
		ret = cmd_stats(fd);
	else if (!strcmp(cmd, "timer"))
		ret = cmd_timer(fd);
	else
		ret = cmd_read(fd, arg);

	close(fd);
	return ret;
}
