// SPDX-License-Identifier: GPL-2.0
/*
 * mypollctl: the commands. Each checks its arguments into a struct job
 * before the device is opened (parse), then acts on the open device (run).
 * Queries open it read-only, controls write-only (what the device-wide
 * controls need, and such a file holds back no event), watch and read
 * non-blocking for reading. main() has checked the number of arguments.
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "mypollctl.h"

/*
 * A timer period: microseconds, or a number with the unit us, ms or s;
 * ULLONG_MAX when too big for any mode.
 */
static int parse_period(const char *s, unsigned long long *us)
{
	static const struct {
		const char *unit;
		unsigned long long mult;
	} units[] = { { "", 1 }, { "us", 1 }, { "ms", 1000 }, { "s", 1000000 } };
	unsigned long long v;
	char *end;
	size_t i;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		v = ULLONG_MAX;
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		if (v > MYPOLL_PERIOD_US_MAX / units[i].mult)
			*us = ULLONG_MAX;
		else
			*us = v * units[i].mult;
		return 0;
	}
	return -1;
}

/*
 * Whether @mode accepts @us, given on the command line as @arg (NULL: the
 * timer's current period); a usage error saying what it accepts if not.
 */
static int check_period(int mode, unsigned long long us, const char *arg)
{
	char what[64];

	if (arg)
		snprintf(what, sizeof(what), "period %s", arg);
	else
		snprintf(what, sizeof(what), "the current period (%llu us)",
			 us);
	if (us < MYPOLL_HRTIMER_PERIOD_US_MIN || us > MYPOLL_PERIOD_US_MAX)
		return usage_err("%s out of range: %d us to %llu s", what,
				 MYPOLL_HRTIMER_PERIOD_US_MIN,
				 MYPOLL_PERIOD_US_MAX / 1000000);
	if (mode == MYPOLL_TIMER_WORK &&
	    (us < MYPOLL_WORK_PERIOD_US_MIN || us % 1000)) {
		usage_err("%s: work mode wants whole milliseconds, 1 ms to %llu s (hrtimer mode takes %d us and up)",
			  what, MYPOLL_PERIOD_US_MAX / 1000000,
			  MYPOLL_HRTIMER_PERIOD_US_MIN);
		return EXIT_USAGE;
	}
	return 0;
}

/* --- the commands: parse checks the arguments, run acts on the device --- */

static int run_info(struct job *j)
{
	return show_info(&j->ctl, j->fd);
}

static int run_stats(struct job *j)
{
	return show_stats(&j->ctl, j->fd);
}

static int run_timer(struct job *j)
{
	return show_timer(&j->ctl, j->fd);
}

static int run_reset(struct job *j)
{
	if (ioctl(j->fd, MYPOLL_IOC_RESET_STATS))
		return ioctl_failed(&j->ctl, "reset", errno);
	return 0;
}

static int run_stop(struct job *j)
{
	if (ioctl(j->fd, MYPOLL_IOC_TIMER_STOP))
		return ioctl_failed(&j->ctl, "stop", errno);
	return 0;
}

static int parse_start(struct job *j)
{
	const char *arg;
	int i, m;

	for (i = 0; i < j->argc; i++) {
		arg = j->argv[i];
		m = name_index(mode_names, ARRAY_SIZE(mode_names), arg);
		if (m >= 0 && j->mode < 0) {
			j->mode = m;
			continue;
		}
		if (m >= 0 || j->period_arg) {
			usage_err("start: unexpected '%s' (start [work|hrtimer] [PERIOD])",
				  arg);
			return EXIT_USAGE;
		}
		if (parse_period(arg, &j->period_us)) {
			usage_err("invalid mode or period '%s' (work or hrtimer; microseconds, or a number with us, ms or s)",
				  arg);
			return EXIT_USAGE;
		}
		j->period_arg = arg;
	}
	/* Without a mode, the timer's may be either: check what both take. */
	if (j->period_arg)
		return check_period(j->mode < 0 ? MYPOLL_TIMER_HRTIMER :
				    j->mode, j->period_us, j->period_arg);
	return 0;
}

static int run_start(struct job *j)
{
	struct mypoll_timer t;
	int ret;

	if (ioctl(j->fd, MYPOLL_IOC_TIMER_GET, &t))
		return ioctl_failed(&j->ctl, "start", errno);
	if (j->mode >= 0)
		t.mode = j->mode;
	if (j->period_arg)
		t.period_us = j->period_us;
	/* The kept period must suit a new mode, a new period the kept mode. */
	ret = check_period(t.mode, t.period_us, j->period_arg);
	if (ret)
		return ret;
	t.running = 0;
	if (ioctl(j->fd, MYPOLL_IOC_TIMER_START, &t))
		return ioctl_failed(&j->ctl, "start", errno);
	return 0;
}

static int parse_trigger(struct job *j)
{
	unsigned long long n = 1;

	if (j->argc &&
	    parse_range(j->argv[0], "count", 1, MYPOLL_TRIGGER_MAX, &n))
		return EXIT_USAGE;
	j->count = n;
	return 0;
}

static int run_trigger(struct job *j)
{
	__u32 count = j->count;
	int queued;

	queued = ioctl(j->fd, MYPOLL_IOC_TRIGGER, &count);
	if (queued < 0)
		return ioctl_failed(&j->ctl, "trigger", errno);
	if (j->ctl.json)
		printf("{\"requested\":%u,\"queued\":%d}\n", j->count, queued);
	else if ((__u32)queued == j->count)
		printf("queued %d of %u\n", queued, j->count);
	else
		printf("queued %d of %u (%u refused: the queue is full)\n",
		       queued, j->count, j->count - queued);
	return 0;
}

static int parse_write(struct job *j)
{
	if (!j->argc)
		return usage_err("write: missing DATA");
	j->data = j->argv[0];
	j->len = strlen(j->data);
	if (!j->len || j->len > MYPOLL_PAYLOAD_MAX)
		return usage_err("write: DATA must be 1 to %d bytes, not %zu",
				 MYPOLL_PAYLOAD_MAX, j->len);
	return 0;
}

/* One value: alone as text, {"KEY":VALUE} as JSON (JSON_FMT for VALUE). */
static void print_value(const struct job *j, const char *key,
			const char *json_fmt, const char *val)
{
	if (!j->ctl.json) {
		printf("%s\n", val);
		return;
	}
	printf("{\"%s\":", key);
	printf(json_fmt, val);
	puts("}");
}

static const char *policy_of(int fd)
{
	__u32 p;

	if (ioctl(fd, MYPOLL_IOC_GET_POLICY, &p))
		return "unknown";
	return name_of(policy_names, ARRAY_SIZE(policy_names), p);
}

static int run_write(struct job *j)
{
	ssize_t n = write(j->fd, j->data, j->len);

	if (n < 0 && (errno == ENOSPC || errno == EAGAIN)) {
		ctl_err("%s: write: the queue is full (policy %s): event refused; read events or change the policy",
			j->ctl.device, policy_of(j->fd));
		return EXIT_RUNTIME;
	}
	if (n < 0)
		return ioctl_failed(&j->ctl, "write", errno);
	if (j->ctl.json)
		printf("{\"written\":%zd}\n", n);
	return 0;
}

static int parse_policy(struct job *j)
{
	if (!j->argc)
		return 0;
	j->oflags = O_WRONLY;
	j->policy = name_index(policy_names, ARRAY_SIZE(policy_names), j->argv[0]);
	if (j->policy < 0)
		return usage_err("invalid policy '%s' (drop-newest, drop-oldest or block)",
				 j->argv[0]);
	return 0;
}

static int run_policy(struct job *j)
{
	__u32 p = j->policy;
	const char *name;

	if (j->policy >= 0) {
		if (ioctl(j->fd, MYPOLL_IOC_SET_POLICY, &p))
			return ioctl_failed(&j->ctl, "policy", errno);
		return 0;
	}
	if (ioctl(j->fd, MYPOLL_IOC_GET_POLICY, &p))
		return ioctl_failed(&j->ctl, "policy", errno);
	name = name_of(policy_names, ARRAY_SIZE(policy_names), p);
	print_value(j, "policy", "\"%s\"", name);
	return 0;
}

static int parse_size(struct job *j)
{
	unsigned long long n;

	if (!j->argc)
		return 0;
	j->oflags = O_WRONLY;
	if (parse_range(j->argv[0], "queue size", 1, UINT32_MAX, &n))
		return EXIT_USAGE;
	j->size = n;
	return 0;
}

/* Why the device refused a queue size, in its own figures. */
static int size_refused(struct job *j, int err)
{
	const char *dev = j->ctl.device;
	struct mypoll_info info;
	struct mypoll_stats st;

	if (err == EINVAL && !ioctl(j->fd, MYPOLL_IOC_GET_INFO, &info))
		ctl_err("%s: size %u out of range: 1 to %u events", dev,
			j->size, info.queue_size_max);
	else if (err == EPERM && !ioctl(j->fd, MYPOLL_IOC_GET_INFO, &info))
		ctl_err("%s: size %u: growing the queue beyond queue_size_limit (%u events) needs CAP_SYS_ADMIN",
			dev, j->size, info.queue_size_limit);
	else if (err == EBUSY && !ioctl(j->fd, MYPOLL_IOC_GET_STATS, &st))
		ctl_err("%s: size %u: %u events are queued, more than that holds; read them first",
			dev, j->size, st.queue_depth);
	else
		return ioctl_failed(&j->ctl, "size", err);
	return EXIT_RUNTIME;
}

static int run_size(struct job *j)
{
	__u32 size = j->size;
	char num[16];

	if (j->size) {
		if (ioctl(j->fd, MYPOLL_IOC_SET_QUEUE_SIZE, &size))
			return size_refused(j, errno);
		return 0;
	}
	if (ioctl(j->fd, MYPOLL_IOC_GET_QUEUE_SIZE, &size))
		return ioctl_failed(&j->ctl, "size", errno);
	snprintf(num, sizeof(num), "%u", size);
	print_value(j, "queue_size", "%s", num);
	return 0;
}

/* filter and watermark belong to one open file: watch and read set them. */
static int parse_per_file(struct job *j)
{
	const char *opt = strcmp(j->name, "filter") ? "--watermark N" :
						      "--filter SOURCES";

	usage_err("%s is set per open file, so it only means something to the reader that sets it: use 'mypollctl watch %s' or 'mypollctl read %s'",
		  j->name, opt, opt);
	return EXIT_USAGE;
}

static int run_watch(struct job *j)
{
	return follow(&j->ctl, j->fd, true);
}

static int run_read(struct job *j)
{
	return follow(&j->ctl, j->fd, false);
}

/* A command: its arguments (at most MAX), how it opens the device. */
#define CMD(_name, _args, _max, _oflags, _parse, _run, _flags, _help)	\
	{ .name = _name, .args = _args, .max_args = _max,		\
	  .oflags = _oflags, .parse = _parse, .run = _run,		\
	  .flags = _flags, .help = _help }

#define QUERY		O_RDONLY
#define CONTROL		O_WRONLY
#define READER		(O_RDONLY | O_NONBLOCK)

const struct command commands[] = {
	CMD("info", "", 0, QUERY, NULL, run_info, 0,
	    "ABI version, record size, features, limits"),
	CMD("stats", "", 0, QUERY, NULL, run_stats, 0,
	    "the device's statistics"),
	CMD("reset", "", 0, CONTROL, NULL, run_reset, 0,
	    "zero the statistics"),
	CMD("timer", "", 0, QUERY, NULL, run_timer, 0,
	    "the timer's mode, period and state"),
	CMD("start", "[work|hrtimer] [PERIOD]", 2, CONTROL, parse_start,
	    run_start, 0, "start the timer (PERIOD: 250ms, 1s, 500us)"),
	CMD("stop", "", 0, CONTROL, NULL, run_stop, 0, "stop the timer"),
	CMD("trigger", "[N]", 1, CONTROL, parse_trigger, run_trigger, 0,
	    "generate N manual events (default 1)"),
	CMD("write", "DATA", 1, CONTROL | O_NONBLOCK, parse_write, run_write,
	    0, "queue DATA (1 to 64 bytes) as an event"),
	CMD("policy", "[NAME]", 1, QUERY, parse_policy, run_policy, 0,
	    "print or set the overflow policy"),
	CMD("size", "[N]", 1, QUERY, parse_size, run_size, 0,
	    "print or set the queue size in events"),
	CMD("filter", "", 0, QUERY, parse_per_file, NULL, 0,
	    "per open file: see watch --filter"),
	CMD("watermark", "", 0, QUERY, parse_per_file, NULL, 0,
	    "per open file: see watch --watermark"),
	CMD("watch", "", 0, READER, NULL, run_watch, CMD_FOLLOWS | CMD_WATCH,
	    "follow events until interrupted or -n N"),
	CMD("read", "", 0, READER, NULL, run_read, CMD_FOLLOWS,
	    "print the events queued now, oldest first"),
};

const size_t n_commands = ARRAY_SIZE(commands);
