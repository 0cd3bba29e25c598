// SPDX-License-Identifier: GPL-2.0
/*
 * mypollctl: what it prints, as text or JSON, and how it follows events.
 *
 * Text: "key: value" lines for info, stats and timer; one line per record
 * for watch and read, the timestamp first. JSON: one object per line, with
 * the same keys for every record, so a script can rely on them (listed in
 * mypollctl(1)). Byte strings are escaped: JSON strings carry each payload
 * byte as the code point of the same value (\u00XX outside printable
 * ASCII), and payload_hex has the bytes in hexadecimal.
 */

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "mypollctl.h"

#define NSEC_PER_SEC	1000000000ULL
#define BATCH		64	/* records per read() */

static const char * const source_names[] = {
	[EVCORE_SOURCE_NONE] = "loss",
	[MYPOLL_SOURCE_TIMER] = "timer",
	[MYPOLL_SOURCE_MANUAL] = "manual",
	[MYPOLL_SOURCE_WRITE] = "write",
};

static const char * const feature_names[] = {
	"hrtimer",		/* MYPOLL_FEATURE_HRTIMER */
	"filter",		/* MYPOLL_FEATURE_FILTER */
	"watermark",		/* MYPOLL_FEATURE_WATERMARK */
	"policy-block",		/* MYPOLL_FEATURE_POLICY_BLOCK */
	"size-limit",		/* MYPOLL_FEATURE_SIZE_LIMIT */
};

const char *source_name(unsigned int id)
{
	return name_of(source_names, ARRAY_SIZE(source_names), id);
}

/* The id of an event source's name ("loss" is none). */
int source_by_name(const char *s)
{
	size_t i;

	for (i = MYPOLL_SOURCE_TIMER; i < ARRAY_SIZE(source_names); i++)
		if (!strcmp(source_names[i], s))
			return (int)i;
	return -1;
}

/* @len bytes as a JSON string: quotes, backslashes and non-ASCII escaped. */
static void json_bytes(const unsigned char *s, size_t len)
{
	size_t i;

	putchar('"');
	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '"':
			fputs("\\\"", stdout);
			break;
		case '\\':
			fputs("\\\\", stdout);
			break;
		case '\n':
			fputs("\\n", stdout);
			break;
		case '\t':
			fputs("\\t", stdout);
			break;
		default:
			if (s[i] < 0x20 || s[i] >= 0x7f)
				printf("\\u%04x", s[i]);
			else
				putchar(s[i]);
		}
	}
	putchar('"');
}

/* @len bytes as a quoted C-style string, for text output. */
static void text_bytes(const unsigned char *s, size_t len)
{
	size_t i;

	putchar('"');
	for (i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			printf("\\%c", s[i]);
		else if (s[i] < 0x20 || s[i] >= 0x7f)
			printf("\\x%02x", s[i]);
		else
			putchar(s[i]);
	}
	putchar('"');
}

/*
 * A flat object: "key: value" lines as text, one JSON object on one line.
 * Values are numbers, strings (NULL: unknown, JSON null), booleans and
 * lists of names.
 */
struct out {
	bool json;
	int n;
};

static void out_key(struct out *o, const char *key)
{
	if (o->json)
		printf("%s\"%s\":", o->n++ ? "," : "{", key);
	else
		printf("%s: ", key);
}

static void out_u64(struct out *o, const char *key, unsigned long long v)
{
	out_key(o, key);
	printf(o->json ? "%llu" : "%llu\n", v);
}

static void out_str(struct out *o, const char *key, const char *v)
{
	out_key(o, key);
	if (!o->json)
		printf("%s\n", v ? v : "unknown");
	else if (v)
		json_bytes((const unsigned char *)v, strlen(v));
	else
		fputs("null", stdout);
}

static void out_bool(struct out *o, const char *key, bool v)
{
	out_key(o, key);
	if (o->json)
		fputs(v ? "true" : "false", stdout);
	else
		puts(v ? "yes" : "no");
}

/* The names of the bits set in @bits (bit N: @names[N]), "0xN" unknown. */
static void out_bits(struct out *o, const char *key, __u64 bits,
		     const char * const *names, size_t n)
{
	unsigned int i, k = 0;

	out_key(o, key);
	if (o->json)
		putchar('[');
	for (i = 0; i < 64; i++) {
		if (!(bits & (1ULL << i)))
			continue;
		if (k++)
			putchar(o->json ? ',' : ' ');
		if (i < n && names[i])
			printf(o->json ? "\"%s\"" : "%s", names[i]);
		else
			printf(o->json ? "\"0x%llx\"" : "0x%llx", 1ULL << i);
	}
	fputs(o->json ? "]" : "\n", stdout);
}

static void out_end(struct out *o)
{
	if (o->json)
		puts(o->n ? "}" : "{}");
}

/* The running module's version, from sysfs; NULL when unknown. */
static const char *module_version(char *buf, size_t len)
{
	FILE *f = fopen("/sys/module/mypoll_misc/version", "re");
	char *nl;

	if (!f)
		return NULL;
	if (!fgets(buf, len, f))
		buf = NULL;
	fclose(f);
	if (buf) {
		nl = strchr(buf, '\n');
		if (nl)
			*nl = '\0';
	}
	return buf;
}

int show_info(const struct ctl *ctl, int fd)
{
	struct out o = { .json = ctl->json };
	struct mypoll_info in;
	char ver[64];

	if (ioctl(fd, MYPOLL_IOC_GET_INFO, &in))
		return ioctl_failed(ctl, "info", errno);
	out_str(&o, "device", ctl->device);
	out_u64(&o, "abi_version", in.abi_version);
	out_u64(&o, "record_size", in.record_size);
	out_bits(&o, "features", in.features, feature_names,
		 ARRAY_SIZE(feature_names));
	out_bits(&o, "sources", in.sources, source_names,
		 ARRAY_SIZE(source_names));
	out_u64(&o, "payload_max", in.payload_max);
	out_u64(&o, "trigger_max", in.trigger_max);
	out_u64(&o, "queue_size_max", in.queue_size_max);
	out_u64(&o, "queue_size_limit", in.queue_size_limit);
	out_str(&o, "module_version", module_version(ver, sizeof(ver)));
	out_u64(&o, "tool_abi_version", MYPOLL_ABI_VERSION);
	out_end(&o);
	return 0;
}

int show_stats(const struct ctl *ctl, int fd)
{
	struct out o = { .json = ctl->json };
	struct mypoll_stats st;

	if (ioctl(fd, MYPOLL_IOC_GET_STATS, &st))
		return ioctl_failed(ctl, "stats", errno);
	out_u64(&o, "generated", st.generated);
	out_u64(&o, "queued", st.queued);
	out_u64(&o, "dropped", st.dropped);
	out_u64(&o, "dropped_full", st.dropped_full);
	out_u64(&o, "overwritten", st.overwritten);
	out_u64(&o, "would_block", st.would_block);
	out_u64(&o, "read", st.read);
	out_u64(&o, "manual", st.manual);
	out_u64(&o, "timer", st.timer);
	out_u64(&o, "timer_missed", st.timer_missed);
	out_u64(&o, "write", st.write);
	out_u64(&o, "event_sequence", st.event_sequence);
	out_u64(&o, "queue_depth", st.queue_depth);
	out_u64(&o, "queue_size", st.queue_size);
	out_u64(&o, "high_water", st.high_water);
	out_u64(&o, "readers", st.readers);
	out_str(&o, "policy", name_of(policy_names, ARRAY_SIZE(policy_names),
				      st.policy));
	out_end(&o);
	return 0;
}

int show_timer(const struct ctl *ctl, int fd)
{
	struct out o = { .json = ctl->json };
	struct mypoll_timer t;

	if (ioctl(fd, MYPOLL_IOC_TIMER_GET, &t))
		return ioctl_failed(ctl, "timer", errno);
	out_str(&o, "mode", name_of(mode_names, ARRAY_SIZE(mode_names),
				    t.mode));
	out_bool(&o, "running", t.running);
	out_u64(&o, "period_us", t.period_us);
	out_end(&o);
	return 0;
}

/* CLOCK_REALTIME minus CLOCK_MONOTONIC, in nanoseconds. */
static long long wall_offset_ns(void)
{
	struct timespec mono, real;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &real);
	return (long long)(real.tv_sec - mono.tv_sec) * (long long)NSEC_PER_SEC +
	       (real.tv_nsec - mono.tv_nsec);
}

/* A record's timestamp for text output; "-" for none (loss records). */
static void format_time(char *buf, size_t len, enum time_format tf,
			__u64 ns, long long offset)
{
	unsigned long long wall = ns + offset;
	time_t secs = wall / NSEC_PER_SEC;
	struct tm tm;
	size_t n;

	if (!ns) {
		snprintf(buf, len, "-");
	} else if (tf == TS_MONOTONIC) {
		snprintf(buf, len, "%llu.%09llu", ns / NSEC_PER_SEC,
			 ns % NSEC_PER_SEC);
	} else {
		if (tf == TS_UTC)
			gmtime_r(&secs, &tm);
		else
			localtime_r(&secs, &tm);
		n = strftime(buf, len, tf == TS_UTC ? "%Y-%m-%dT%H:%M:%S" :
							"%Y-%m-%d %H:%M:%S", &tm);
		snprintf(buf + n, len - n, ".%09llu%s", wall % NSEC_PER_SEC,
			 tf == TS_UTC ? "Z" : "");
	}
}

static void print_record(const struct ctl *ctl, const struct mypoll_event *ev,
			 long long offset)
{
	const struct evcore_event *h = &ev->hdr;
	bool loss = h->flags & EVCORE_EVENT_LOSS;
	const char *src = loss ? "loss" : source_name(h->source_id);
	size_t i, len = h->payload_len;
	char ts[64];

	if (len > MYPOLL_PAYLOAD_MAX)
		len = MYPOLL_PAYLOAD_MAX;
	if (ctl->json) {
		printf("{\"seq\":%llu,\"source\":\"%s\",\"source_id\":%u,",
		       (unsigned long long)h->seq, src, h->source_id);
		printf("\"source_seq\":%llu,\"timestamp_ns\":%llu,\"flags\":%u,",
		       (unsigned long long)h->source_seq,
		       (unsigned long long)h->timestamp_ns, h->flags);
		printf("\"aux\":%u,\"lost\":%llu,\"payload_len\":%u,\"payload\":",
		       h->aux, (unsigned long long)h->lost, h->payload_len);
		json_bytes(ev->payload, len);
		fputs(",\"payload_hex\":\"", stdout);
		for (i = 0; i < len; i++)
			printf("%02x", ev->payload[i]);
		puts("\"}");
		return;
	}
	format_time(ts, sizeof(ts), ctl->time, h->timestamp_ns, offset);
	if (loss) {
		printf("%-20s %-6s seq %llu  lost %llu\n", ts, src,
		       (unsigned long long)h->seq, (unsigned long long)h->lost);
		return;
	}
	printf("%-20s %-6s seq %llu  source_seq %llu", ts, src,
	       (unsigned long long)h->seq, (unsigned long long)h->source_seq);
	if (h->source_id == MYPOLL_SOURCE_TIMER)
		printf("  missed %u", h->aux);
	else if (h->aux)
		printf("  aux %u", h->aux);
	if (len) {
		fputs("  data ", stdout);
		text_bytes(ev->payload, len);
	}
	putchar('\n');
}

/* The per-file settings watch and read were given. */
static int set_reader(const struct ctl *ctl, int fd)
{
	__u32 size = 0;
	__u64 filter = ctl->filter;
	__u32 wm = ctl->watermark;

	if (ctl->set_filter && ioctl(fd, MYPOLL_IOC_SET_FILTER, &filter))
		return ioctl_failed(ctl, "--filter", errno);
	if (!wm || !ioctl(fd, MYPOLL_IOC_SET_WATERMARK, &wm))
		return 0;
	if (errno == EINVAL && !ioctl(fd, MYPOLL_IOC_GET_QUEUE_SIZE, &size)) {
		ctl_err("%s: watermark %u is larger than the queue (%u events)",
			ctl->device, wm, size);
		return EXIT_RUNTIME;
	}
	return ioctl_failed(ctl, "--watermark", errno);
}

/*
 * Wait until the device has something to read (the watermark met, a loss
 * record, removal): 1; or until SIGINT or SIGTERM came through @sfd: 0;
 * -1 when poll() failed.
 */
static int wait_ready(int fd, int sfd)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = POLLIN | POLLPRI },
		{ .fd = sfd, .events = POLLIN },
	};

	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			ctl_err("poll: %s", strerror(errno));
			return -1;
		}
		if (pfd[1].revents)
			return 0;
		if (pfd[0].revents)
			return 1;
	}
}

/**
 * struct follow - where watch or read is
 * @ctl: the options
 * @offset: CLOCK_REALTIME - CLOCK_MONOTONIC, for wall-clock timestamps
 * @seen: events printed (loss records are not counted)
 * @end: read: the sequence number of the first event queued after it
 *	began, where it stops; watch: none
 */
struct follow {
	const struct ctl *ctl;
	long long offset;
	unsigned long long seen;
	__u64 end;
};

/* Print the records one read() returned; true when -n or @end is reached. */
static bool print_batch(struct follow *f, const struct mypoll_event *recs,
			size_t n)
{
	bool event;
	size_t i;

	for (i = 0; i < n; i++) {
		event = !(recs[i].hdr.flags & EVCORE_EVENT_LOSS);
		if (event && recs[i].hdr.seq >= f->end)
			return true;
		print_record(f->ctl, &recs[i], f->offset);
		if (event && ++f->seen == f->ctl->count)
			return true;
	}
	return false;
}

/* SIGINT and SIGTERM, blocked, through a signalfd: they end a wait. */
static int signal_fd(void)
{
	sigset_t mask;
	int sfd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0)
		ctl_err("signalfd: %s", strerror(errno));
	return sfd;
}

/*
 * watch: the events queued from now on (the backlog is read and dropped
 * first), waiting for them, until -n events, a signal or the device's
 * removal. read: the events queued when it begins (after waiting for the
 * watermark when one is given), without waiting, until -n events. The
 * file is non-blocking. A signal ends either with status 0.
 */
int follow(const struct ctl *ctl, int fd, bool watch)
{
	struct follow f = { .ctl = ctl, .end = ULLONG_MAX };
	const char *what = watch ? "watch" : "read";
	struct mypoll_event recs[BATCH];
	struct mypoll_stats st;
	bool skip = watch, wait = !watch && ctl->watermark;
	struct mypoll_info info;
	int sfd, ready, ret;
	ssize_t n;

	if (ioctl(fd, MYPOLL_IOC_GET_INFO, &info))
		return ioctl_failed(ctl, what, errno);
	if (info.record_size != sizeof(recs[0])) {
		ctl_err("%s: the device's records are %u bytes, this mypollctl's %zu: the module and the tool do not match",
			ctl->device, info.record_size, sizeof(recs[0]));
		return EXIT_RUNTIME;
	}
	ret = set_reader(ctl, fd);
	if (ret)
		return ret;
	sfd = signal_fd();
	if (sfd < 0)
		return EXIT_RUNTIME;
	f.offset = wall_offset_ns();

	for (;;) {
		if (wait) {
			ready = wait_ready(fd, sfd);
			if (ready <= 0) {
				ret = ready ? EXIT_RUNTIME : 0;
				break;
			}
			wait = false;
		}
		if (!watch && f.end == ULLONG_MAX) {
			if (ioctl(fd, MYPOLL_IOC_GET_STATS, &st)) {
				ret = ioctl_failed(ctl, what, errno);
				break;
			}
			f.end = st.event_sequence;
		}
		n = read(fd, recs, sizeof(recs));
		if (n < 0 && errno == EAGAIN) {
			if (!watch)
				break;
			if (skip && ctl->banner)
				fprintf(stderr, PROGNAME ": watching %s; interrupt to stop\n",
					ctl->device);
			skip = false;
			wait = true;
			continue;
		}
		if (n < 0) {
			ret = ioctl_failed(ctl, what, errno);
			break;
		}
		if (!skip && print_batch(&f, recs, n / sizeof(recs[0])))
			break;
	}
	close(sfd);
	return ret;
}
