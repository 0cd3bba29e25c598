// SPDX-License-Identifier: GPL-2.0
/*
 * Selftests for /dev/mypoll, the misc device built on evcore: reading
 * records, the three event sources, overflow policies and in-band loss
 * records, several readers, poll/epoll, SIGIO, blocking reads and writes,
 * the ioctls, sysfs, debugfs and fdinfo.
 *
 * Every test starts from, and leaves, the device with its timer stopped,
 * policy drop-newest, 64 slots and statistics zero. /dev/mypoll missing is
 * a failure: the tests run after the module was loaded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/evcore.h>
#include <linux/mypoll.h>
#include <linux/userfaultfd.h>

#include "kselftest_harness.h"
#include "mypoll_util.h"

#define NS_PER_MS	1000000ULL
#define NS_PER_US	1000ULL
/* Loosest upper bound asserted on any latency: the VM may be slow. */
#define SLOW_NS		(5000ULL * NS_PER_MS)

/* Check an ordinary (not loss) record of @source with sequence @seq. */
static void check_event(struct __test_metadata *_metadata,
			const struct mypoll_event *ev, __u32 source, __u64 seq)
{
	int record_ok;

	EXPECT_EQ(seq, ev->hdr.seq);
	EXPECT_EQ(source, ev->hdr.source_id);
	EXPECT_EQ(0U, ev->hdr.flags);
	EXPECT_EQ(0U, ev->hdr.lost);
	ASSERT_GE(MYPOLL_PAYLOAD_MAX, ev->hdr.payload_len);
	EXPECT_TRUE(mp_zero_tail(ev, ev->hdr.payload_len));
	if (source != MYPOLL_SOURCE_WRITE)
		EXPECT_EQ(0, ev->hdr.payload_len);
	if (source == MYPOLL_SOURCE_MANUAL)
		EXPECT_EQ(0U, ev->hdr.aux);
	record_ok = mp_passed(_metadata);
	ASSERT_TRUE(record_ok) {
		TH_LOG("record: seq %llu source %u flags %#x lost %llu len %u",
		       (unsigned long long)ev->hdr.seq, ev->hdr.source_id,
		       ev->hdr.flags, (unsigned long long)ev->hdr.lost,
		       ev->hdr.payload_len);
	}
}

/* Check a loss record reporting @lost events before sequence @seq. */
static void check_loss(struct __test_metadata *_metadata,
		       const struct mypoll_event *ev, __u64 lost, __u64 seq)
{
	int record_ok;

	EXPECT_EQ((__u32)EVCORE_EVENT_LOSS, ev->hdr.flags);
	EXPECT_EQ(lost, ev->hdr.lost);
	EXPECT_EQ(seq, ev->hdr.seq);
	EXPECT_EQ((__u32)EVCORE_SOURCE_NONE, ev->hdr.source_id);
	EXPECT_EQ(0U, ev->hdr.source_seq);
	EXPECT_EQ(0U, ev->hdr.timestamp_ns);
	EXPECT_EQ(0U, ev->hdr.aux);
	EXPECT_EQ(0, ev->hdr.payload_len);
	EXPECT_TRUE(mp_zero_tail(ev, 0));
	record_ok = mp_passed(_metadata);
	ASSERT_TRUE(record_ok) {
		TH_LOG("record: seq %llu source %u flags %#x lost %llu",
		       (unsigned long long)ev->hdr.seq, ev->hdr.source_id,
		       ev->hdr.flags, (unsigned long long)ev->hdr.lost);
	}
}

/* Read everything readable now into @ev (at most @max records). */
static int read_now(struct __test_metadata *_metadata, int fd,
		    struct mypoll_event *ev, int max)
{
	ssize_t n;

	memset(ev, 0xa5, max * MP_REC);
	n = mp_read_nb(fd, ev, max * MP_REC);
	if (n < 0 && errno == EAGAIN)
		return 0;
	ASSERT_LT(0, n) {
		TH_LOG("read: %s", strerror(errno));
	}
	ASSERT_EQ(0, n % MP_REC);
	return n / MP_REC;
}

static void expect_eagain(struct __test_metadata *_metadata, int fd)
{
	struct mypoll_event ev;

	ASSERT_EQ(-1, mp_read_nb(fd, &ev, sizeof(ev)));
	ASSERT_EQ(EAGAIN, errno);
}

static __u64 event_sequence(struct __test_metadata *_metadata, int fd)
{
	struct mypoll_stats st;

	mp_get_stats(_metadata, fd, &st);
	return st.event_sequence;
}

/*
 * Events refused while the queue was full are never numbered: a reader
 * learns of them from one loss record at the gap, whose seq is the sequence
 * number the next queued event gets. The reader gets it as soon as it
 * reaches the gap, without waiting for that event, and poll reports
 * EPOLLPRI (with EPOLLIN) exactly while it is pending.
 *
 * expect_loss_now() is called when @fd has read everything before the gap
 * and nothing was queued since: the loss record must be readable at once,
 * alone, and nothing after it. expect_after_loss() is called once the next
 * event was queued: that event must follow, alone, with sequence @seq.
 */
static void expect_loss_now(struct __test_metadata *_metadata, int fd,
			    __u64 lost, __u64 seq)
{
	struct mypoll_reader_info ri0, ri1;
	struct mypoll_event rec[4];
	short rev;
	int n;

	ASSERT_EQ(seq, event_sequence(_metadata, fd));
	mp_get_reader(_metadata, fd, &ri0);
	ASSERT_EQ(seq, ri0.position);
	ASSERT_EQ(0U, ri0.lag);
	rev = mp_poll_now(fd, POLLIN | POLLPRI);
	ASSERT_EQ(POLLIN | POLLPRI, rev & (POLLIN | POLLPRI)) {
		TH_LOG("revents %#x at the gap of %llu refused events", rev,
		       (unsigned long long)lost);
	}
	n = read_now(_metadata, fd, rec, 4);
	ASSERT_EQ(1, n) {
		TH_LOG("%d records read at the gap, want the loss record", n);
	}
	check_loss(_metadata, &rec[0], lost, seq);
	rev = mp_poll_now(fd, POLLIN | POLLPRI);
	ASSERT_EQ(0, rev & (POLLIN | POLLPRI)) {
		TH_LOG("revents %#x after the loss record was read", rev);
	}
	expect_eagain(_metadata, fd);
	mp_get_reader(_metadata, fd, &ri1);
	ASSERT_EQ(seq, ri1.position);
	ASSERT_EQ(ri0.lost + lost, ri1.lost);
}

/*
 * Read the @n manual events from @seq on, which stand right before a gap
 * of @lost refused events, in a read with room for exactly @n; then the
 * loss record must be there at once.
 */
static void read_to_gap(struct __test_metadata *_metadata, int fd, int n,
			__u64 seq, __u64 lost)
{
	struct mypoll_event ev[16];
	int i;

	ASSERT_GE(16, n);
	ASSERT_EQ(n, read_now(_metadata, fd, ev, n));
	for (i = 0; i < n; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_MANUAL, seq + i);
	expect_loss_now(_metadata, fd, lost, seq + n);
}

static void expect_after_loss(struct __test_metadata *_metadata, int fd,
			      __u64 seq, __u32 source, struct mypoll_event *ev)
{
	struct mypoll_event rec[4];
	short rev = mp_poll_now(fd, POLLIN | POLLPRI);
	int n;

	ASSERT_EQ(POLLIN, rev & (POLLIN | POLLPRI)) {
		TH_LOG("revents %#x, the loss record was read already", rev);
	}
	n = read_now(_metadata, fd, rec, 4);
	ASSERT_EQ(1, n);
	check_event(_metadata, &rec[0], source, seq);
	*ev = rec[0];
	ASSERT_EQ(0, mp_poll_now(fd, POLLIN | POLLPRI) & (POLLIN | POLLPRI));
}

/*
 * Two readers past the same gap: one trigger queues the event with
 * sequence @seq, and both read it, the same record, right after the gap.
 */
static void trigger_after_loss_both(struct __test_metadata *_metadata,
				    int fd1, int fd2, __u64 seq)
{
	struct mypoll_event ev[2];

	ASSERT_EQ(1, mp_trigger(fd1, 1));
	expect_after_loss(_metadata, fd1, seq, MYPOLL_SOURCE_MANUAL, &ev[0]);
	expect_after_loss(_metadata, fd2, seq, MYPOLL_SOURCE_MANUAL, &ev[1]);
	ASSERT_EQ(0, memcmp(&ev[0], &ev[1], MP_REC));
}

static void expect_sysfs_str(struct __test_metadata *_metadata,
			     const char *name, const char *want)
{
	char buf[128];

	ASSERT_EQ(0, mp_sysfs_read(name, buf, sizeof(buf))) {
		TH_LOG("cannot read %s%s", MP_SYSFS, name);
	}
	ASSERT_STREQ(want, buf) {
		TH_LOG("%s%s", MP_SYSFS, name);
	}
}

static void expect_sysfs_u64(struct __test_metadata *_metadata,
			     const char *name, __u64 want)
{
	__u64 val = ~0ULL;

	ASSERT_EQ(0, mp_sysfs_u64(name, &val)) {
		TH_LOG("cannot read %s%s as a number", MP_SYSFS, name);
	}
	ASSERT_EQ(want, val) {
		TH_LOG("%s%s", MP_SYSFS, name);
	}
}

static const char *const policy_names[] = {
	[EVCORE_POLICY_DROP_NEWEST] = "drop-newest",
	[EVCORE_POLICY_DROP_OLDEST] = "drop-oldest",
	[EVCORE_POLICY_BLOCK] = "block",
};

static const char *const mode_names[] = {
	[MYPOLL_TIMER_WORK] = "work",
	[MYPOLL_TIMER_HRTIMER] = "hrtimer",
};

/* Every sysfs value must agree with MYPOLL_IOC_GET_STATS. */
static void expect_sysfs_stats(struct __test_metadata *_metadata, int fd)
{
	struct mypoll_stats st;

	mp_get_stats(_metadata, fd, &st);
	expect_sysfs_u64(_metadata, "queue_depth", st.queue_depth);
	expect_sysfs_u64(_metadata, "queue_size", st.queue_size);
	expect_sysfs_u64(_metadata, "high_water", st.high_water);
	expect_sysfs_u64(_metadata, "readers", st.readers);
	expect_sysfs_u64(_metadata, "event_sequence", st.event_sequence);
	ASSERT_GT(3U, st.policy);
	expect_sysfs_str(_metadata, "overflow_policy", policy_names[st.policy]);
	expect_sysfs_u64(_metadata, "statistics/generated", st.generated);
	expect_sysfs_u64(_metadata, "statistics/queued", st.queued);
	expect_sysfs_u64(_metadata, "statistics/dropped", st.dropped);
	expect_sysfs_u64(_metadata, "statistics/dropped_full",
			 st.dropped_full);
	expect_sysfs_u64(_metadata, "statistics/overwritten", st.overwritten);
	expect_sysfs_u64(_metadata, "statistics/would_block", st.would_block);
	expect_sysfs_u64(_metadata, "statistics/read", st.read);
	expect_sysfs_u64(_metadata, "statistics/manual", st.manual);
	expect_sysfs_u64(_metadata, "statistics/timer", st.timer);
	expect_sysfs_u64(_metadata, "statistics/timer_missed",
			 st.timer_missed);
	expect_sysfs_u64(_metadata, "statistics/write", st.write);
}

/* The counters RESET_STATS clears must all be zero. */
static void expect_counters_zero(struct __test_metadata *_metadata,
				 const struct mypoll_stats *st)
{
	EXPECT_EQ(0U, st->generated);
	EXPECT_EQ(0U, st->queued);
	EXPECT_EQ(0U, st->dropped);
	EXPECT_EQ(0U, st->dropped_full);
	EXPECT_EQ(0U, st->overwritten);
	EXPECT_EQ(0U, st->would_block);
	EXPECT_EQ(0U, st->read);
	EXPECT_EQ(0U, st->manual);
	EXPECT_EQ(0U, st->timer);
	EXPECT_EQ(0U, st->timer_missed);
	EXPECT_EQ(0U, st->write);
	ASSERT_TRUE(mp_passed(_metadata));
}

/* Accounting identities that hold whatever happened. */
static void expect_stats_consistent(struct __test_metadata *_metadata,
				    const struct mypoll_stats *st)
{
	EXPECT_EQ(st->generated, st->queued + st->dropped_full);
	EXPECT_EQ(st->dropped, st->dropped_full + st->overwritten);
	EXPECT_EQ(st->generated, st->manual + st->timer + st->write);
	EXPECT_GE(st->queue_size, st->queue_depth);
	EXPECT_GE(st->high_water, st->queue_depth);
	EXPECT_EQ(0U, st->reserved);
	ASSERT_TRUE(mp_passed(_metadata));
}

/* This file's line of /proc/self/fdinfo/<fd> named @key. */
static void fdinfo_u64(struct __test_metadata *_metadata, int fd,
		       const char *key, __u64 *val)
{
	char path[64], buf[4096];

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	ASSERT_EQ(0, mp_read_file(path, buf, sizeof(buf)));
	ASSERT_EQ(0, mp_kv_u64(buf, key, ':', val)) {
		TH_LOG("no \"%s:\" line in %s:\n%s", key, path, buf);
	}
}

static int status_u64(const char *text, const char *key, __u64 *val)
{
	char k[64];
	const char *p;

	/* keys are whole words at the start of a line: "key=value" */
	snprintf(k, sizeof(k), "%s=", key);
	for (p = text; p; p = strchr(p, '\n')) {
		char *end;

		if (*p == '\n')
			p++;
		if (strncmp(p, k, strlen(k)))
			continue;
		errno = 0;
		*val = strtoull(p + strlen(k), &end, 10);
		return errno || end == p + strlen(k) ? -EPROTO : 0;
	}
	return -ENOENT;
}

/* An epoll instance watching @fd for @events, with nothing pending yet. */
static int epoll_on(struct __test_metadata *_metadata, int fd, __u32 events)
{
	struct epoll_event eev = { .events = events }, out;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &eev));
	ASSERT_EQ(0, epoll_wait(ep, &out, 1, 0));
	return ep;
}

/* epoll reports EPOLLIN within @timeout_ms. */
static void expect_epollin(struct __test_metadata *_metadata, int ep,
			   int timeout_ms)
{
	struct epoll_event out = { 0 };

	ASSERT_EQ(1, epoll_wait(ep, &out, 1, timeout_ms));
	ASSERT_EQ((__u32)EPOLLIN, out.events & EPOLLIN) {
		TH_LOG("epoll events %#x", out.events);
	}
}

/* Open the device read-write and put it in the state every test starts in. */
static int open_reset(struct __test_metadata *_metadata)
{
	int fd = mp_open(O_RDWR);

	ASSERT_LE(0, fd) {
		TH_LOG("open %s: %s (mypoll_misc must be loaded)", MP_DEV,
		       strerror(errno));
	}
	mp_reset(_metadata, fd);
	return fd;
}

/* Leave the device as every test found it (teardown: no ASSERT here). */
static void close_restore(struct __test_metadata *_metadata, int fd)
{
	if (fd >= 0) {
		EXPECT_EQ(0, mp_restore(fd));
		close(fd);
	}
}

FIXTURE(mypoll) {
	int fd;
};

FIXTURE_SETUP(mypoll)
{
	self->fd = open_reset(_metadata);
}

FIXTURE_TEARDOWN(mypoll)
{
	close_restore(_metadata, self->fd);
}

/*
 * One manual trigger must make poll and epoll report EPOLLIN, and read()
 * must then return exactly that record, after which neither reports
 * anything.
 */
TEST_F(mypoll, trigger_wakes_poll_then_reads_one_record)
{
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	struct mypoll_event ev[4];
	struct epoll_event out;
	__u64 seq, t0, t1;
	int ep;

	ep = epoll_on(_metadata, self->fd, EPOLLIN);
	ASSERT_EQ(0, poll(&pfd, 1, 0));

	seq = event_sequence(_metadata, self->fd);
	t0 = mp_now_ns();
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	t1 = mp_now_ns();

	ASSERT_EQ(1, poll(&pfd, 1, MP_WAIT_MS));
	ASSERT_EQ(POLLIN, pfd.revents & POLLIN) {
		TH_LOG("poll revents %#x after a trigger", pfd.revents);
	}
	expect_epollin(_metadata, ep, MP_WAIT_MS);

	memset(ev, 0xa5, sizeof(ev));
	ASSERT_EQ(MP_REC, mp_read_nb(self->fd, ev, sizeof(ev)));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq);
	ASSERT_LE(t0, ev[0].hdr.timestamp_ns);
	ASSERT_GE(t1, ev[0].hdr.timestamp_ns);

	expect_eagain(_metadata, self->fd);
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(0, epoll_wait(ep, &out, 1, 0));
	close(ep);
}

TEST_F(mypoll, device_node)
{
	struct stat sb;
	pid_t pid;
	int status;

	ASSERT_EQ(0, stat(MP_DEV, &sb));
	ASSERT_TRUE(S_ISCHR(sb.st_mode));
	ASSERT_EQ(0600U, sb.st_mode & 07777);

	/* An unprivileged user cannot open it. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd;

		if (setgid(65534) || setuid(65534))
			_exit(2);
		fd = open(MP_DEV, O_RDONLY);
		_exit(fd < 0 && errno == EACCES ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

TEST_F(mypoll, read_short_buffer_einval)
{
	static const size_t counts[] = { 0, 1, MP_REC / 2, MP_REC - 1 };
	struct mypoll_reader_info ri;
	struct mypoll_event ev[2];
	__u64 seq;
	size_t i;

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		errno = 0;
		ASSERT_EQ(-1, mp_read_nb(self->fd, ev, counts[i])) {
			TH_LOG("read of %zu bytes", counts[i]);
		}
		ASSERT_EQ(EINVAL, errno) {
			TH_LOG("read of %zu bytes", counts[i]);
		}
		/* blocking reads fail the same way, without waiting */
		ASSERT_EQ(-1, read(self->fd, ev, counts[i]));
		ASSERT_EQ(EINVAL, errno);
	}
	/* nothing moved */
	mp_get_reader(_metadata, self->fd, &ri);
	ASSERT_EQ(seq, ri.position);
	ASSERT_EQ(0U, ri.read);
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 2));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq);
}

TEST_F(mypoll, read_one_and_a_half_records)
{
	struct mypoll_event ev[2];
	__u64 seq;

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(2, mp_trigger(self->fd, 2));
	memset(ev, 0xa5, sizeof(ev));
	ASSERT_EQ(MP_REC, mp_read_nb(self->fd, ev, MP_REC + MP_REC / 2));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq);
	/* the half record was not written to */
	ASSERT_EQ(0xa5a5a5a5a5a5a5a5ULL, ev[1].hdr.seq);
	ASSERT_EQ(MP_REC, mp_read_nb(self->fd, ev, MP_REC + MP_REC / 2));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq + 1);
	expect_eagain(_metadata, self->fd);
}

TEST_F(mypoll, read_batch)
{
	struct mypoll_event ev[8];
	__u64 seq, t0, t1;
	int i;

	seq = event_sequence(_metadata, self->fd);
	t0 = mp_now_ns();
	ASSERT_EQ(5, mp_trigger(self->fd, 5));
	t1 = mp_now_ns();
	ASSERT_EQ(5, read_now(_metadata, self->fd, ev, 8));
	for (i = 0; i < 5; i++) {
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_MANUAL, seq + i);
		ASSERT_EQ(ev[0].hdr.source_seq + i, ev[i].hdr.source_seq);
		ASSERT_LE(t0, ev[i].hdr.timestamp_ns);
		ASSERT_GE(t1, ev[i].hdr.timestamp_ns);
		if (i)
			ASSERT_LE(ev[i - 1].hdr.timestamp_ns,
				  ev[i].hdr.timestamp_ns);
	}
	expect_eagain(_metadata, self->fd);
}

/* One read() returns every record that fits, however many there are. */
TEST_F(mypoll, read_large_in_one_call)
{
	static struct mypoll_event ev[MP_DEFAULT_QSIZE + 8];
	const int q = MP_DEFAULT_QSIZE;
	struct mypoll_reader_info ri;
	__u64 seq;
	ssize_t n;
	int i;

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(q, mp_trigger(self->fd, q));
	/* a blocking read with room for exactly 64 records returns all 64 */
	memset(ev, 0xa5, sizeof(ev));
	n = read(self->fd, ev, q * MP_REC);
	ASSERT_EQ(q * MP_REC, n) {
		TH_LOG("read returned %zd records of %d queued",
		       n < 0 ? n : n / MP_REC, q);
	}
	for (i = 0; i < q; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_MANUAL, seq + i);
	ASSERT_EQ(0xa5a5a5a5a5a5a5a5ULL, ev[q].hdr.seq);
	expect_eagain(_metadata, self->fd);
	mp_get_reader(_metadata, self->fd, &ri);
	ASSERT_EQ(seq + q, ri.position);
	ASSERT_EQ((__u64)q, ri.read);

	/* a larger buffer gets what is queued, events and a loss record */
	seq += q;
	ASSERT_EQ(q, mp_trigger(self->fd, q + 3));
	memset(ev, 0xa5, sizeof(ev));
	n = mp_read_nb(self->fd, ev, sizeof(ev));
	ASSERT_EQ((q + 1) * MP_REC, n) {
		TH_LOG("read returned %zd records, want %d and the loss",
		       n < 0 ? n : n / MP_REC, q);
	}
	for (i = 0; i < q; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_MANUAL, seq + i);
	check_loss(_metadata, &ev[q], 3, seq + q);
	expect_eagain(_metadata, self->fd);

	/* drop-oldest: the loss record first, then 64 events */
	seq += q;
	ASSERT_EQ(0, mp_set_policy(self->fd, EVCORE_POLICY_DROP_OLDEST));
	ASSERT_EQ(q + 5, mp_trigger(self->fd, q + 5));
	memset(ev, 0xa5, sizeof(ev));
	n = mp_read_nb(self->fd, ev, sizeof(ev));
	ASSERT_EQ((q + 1) * MP_REC, n);
	check_loss(_metadata, &ev[0], 5, seq + 5);
	for (i = 0; i < q; i++)
		check_event(_metadata, &ev[i + 1], MYPOLL_SOURCE_MANUAL,
			    seq + 5 + i);
	expect_eagain(_metadata, self->fd);
}

TEST_F(mypoll, read_nonblock_eagain)
{
	struct mypoll_event ev;
	__u64 seq;
	int fd;

	fd = mp_open(O_RDWR | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(-1, read(fd, &ev, sizeof(ev)));
	ASSERT_EQ(EAGAIN, errno);
	seq = event_sequence(_metadata, fd);
	ASSERT_EQ(1, mp_trigger(fd, 1));
	ASSERT_EQ(MP_REC, read(fd, &ev, sizeof(ev)));
	check_event(_metadata, &ev, MYPOLL_SOURCE_MANUAL, seq);
	ASSERT_EQ(-1, read(fd, &ev, sizeof(ev)));
	ASSERT_EQ(EAGAIN, errno);
	close(fd);
}

/* A reader advances only past the records that reached userspace. */
TEST_F(mypoll, read_efault_keeps_position)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct mypoll_reader_info ri;
	struct mypoll_event ev[2];
	char *map, *buf;
	__u64 seq;

	map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, mprotect(map + pg, pg, PROT_NONE));

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(2, mp_trigger(self->fd, 2));

	ASSERT_EQ(-1, mp_read_nb(self->fd, map + pg, 2 * MP_REC));
	ASSERT_EQ(EFAULT, errno);
	mp_get_reader(_metadata, self->fd, &ri);
	ASSERT_EQ(seq, ri.position);

	/* the first record fits, the second crosses into the hole */
	buf = map + pg - MP_REC - MP_REC / 2;
	ASSERT_EQ(MP_REC, mp_read_nb(self->fd, buf, 2 * MP_REC));
	memcpy(ev, buf, MP_REC);
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq);
	mp_get_reader(_metadata, self->fd, &ri);
	ASSERT_EQ(seq + 1, ri.position);

	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 2));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq + 1);
	munmap(map, 2 * pg);
}

/*
 * A buffer at an odd address gets the same bytes, and a fault in it stops
 * the read after the last whole record before the hole.
 */
TEST_F(mypoll, read_misaligned_buffer)
{
	long pg = sysconf(_SC_PAGESIZE);
	unsigned char full[MYPOLL_PAYLOAD_MAX];
	struct mypoll_reader_info ri;
	struct mypoll_event ev[2];
	char *map, *buf;
	__u64 seq;
	int i, k;

	map = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, mprotect(map + pg, pg, PROT_NONE));

	seq = event_sequence(_metadata, self->fd);
	for (k = 0; k < 3; k++) {
		for (i = 0; i < MYPOLL_PAYLOAD_MAX; i++)
			full[i] = k * 16 + i;
		ASSERT_EQ((ssize_t)sizeof(full),
			  write(self->fd, full, sizeof(full)));
	}

	/* two records fit before the hole, the third crosses into it */
	buf = map + pg - 2 * MP_REC - MP_REC / 2 - 3;
	ASSERT_EQ(2 * MP_REC, mp_read_nb(self->fd, buf, 3 * MP_REC));
	memcpy(ev, buf, 2 * MP_REC);
	mp_get_reader(_metadata, self->fd, &ri);
	ASSERT_EQ(seq + 2, ri.position);
	for (k = 0; k < 2; k++) {
		check_event(_metadata, &ev[k], MYPOLL_SOURCE_WRITE, seq + k);
		ASSERT_EQ(MYPOLL_PAYLOAD_MAX, ev[k].hdr.payload_len);
		for (i = 0; i < MYPOLL_PAYLOAD_MAX; i++)
			ASSERT_EQ((unsigned char)(k * 16 + i), ev[k].payload[i]);
	}

	buf = map + 5;
	ASSERT_EQ(MP_REC, mp_read_nb(self->fd, buf, 2 * MP_REC));
	memcpy(ev, buf, MP_REC);
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_WRITE, seq + 2);
	for (i = 0; i < MYPOLL_PAYLOAD_MAX; i++)
		ASSERT_EQ((unsigned char)(32 + i), ev[0].payload[i]);
	munmap(map, 2 * pg);
}

TEST_F(mypoll, new_reader_starts_at_tail)
{
	struct mypoll_event ev[8];
	__u64 seq;
	int fd, i;

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(3, mp_trigger(self->fd, 3));

	fd = mp_open(O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(3, read_now(_metadata, fd, ev, 8));
	for (i = 0; i < 3; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_MANUAL, seq + i);

	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	ASSERT_EQ(1, read_now(_metadata, fd, ev, 8));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq + 3);
	ASSERT_EQ(4, read_now(_metadata, self->fd, ev, 8));
	for (i = 0; i < 4; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_MANUAL, seq + i);
	close(fd);
}

TEST_F(mypoll, write_event_payload)
{
	static const char msg[] = "hello, mypoll";
	struct mypoll_event ev[4];
	unsigned char full[MYPOLL_PAYLOAD_MAX];
	struct mypoll_stats st;
	__u64 seq, t0, t1;
	int i;

	for (i = 0; i < MYPOLL_PAYLOAD_MAX; i++)
		full[i] = 0x80 | i;
	seq = event_sequence(_metadata, self->fd);
	t0 = mp_now_ns();
	ASSERT_EQ((ssize_t)sizeof(msg) - 1, write(self->fd, msg, sizeof(msg) - 1));
	ASSERT_EQ((ssize_t)sizeof(full), write(self->fd, full, sizeof(full)));
	t1 = mp_now_ns();

	ASSERT_EQ(2, read_now(_metadata, self->fd, ev, 4));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_WRITE, seq);
	ASSERT_EQ(sizeof(msg) - 1, ev[0].hdr.payload_len);
	ASSERT_EQ(0, memcmp(ev[0].payload, msg, sizeof(msg) - 1));
	check_event(_metadata, &ev[1], MYPOLL_SOURCE_WRITE, seq + 1);
	ASSERT_EQ(MYPOLL_PAYLOAD_MAX, ev[1].hdr.payload_len);
	ASSERT_EQ(0, memcmp(ev[1].payload, full, sizeof(full)));
	ASSERT_EQ(ev[0].hdr.source_seq + 1, ev[1].hdr.source_seq);
	for (i = 0; i < 2; i++) {
		ASSERT_LE(t0, ev[i].hdr.timestamp_ns);
		ASSERT_GE(t1, ev[i].hdr.timestamp_ns);
	}

	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(2U, st.write);
	ASSERT_EQ(2U, st.generated);
	ASSERT_EQ(2U, st.read);
	expect_stats_consistent(_metadata, &st);
}

TEST_F(mypoll, write_too_long_emsgsize)
{
	unsigned char buf[4096] = { 0 };
	struct mypoll_stats st;
	__u64 seq;

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(-1, write(self->fd, buf, MYPOLL_PAYLOAD_MAX + 1));
	ASSERT_EQ(EMSGSIZE, errno);
	ASSERT_EQ(-1, write(self->fd, buf, sizeof(buf)));
	ASSERT_EQ(EMSGSIZE, errno);
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(seq, st.event_sequence);
	ASSERT_EQ(0U, st.generated);
	ASSERT_EQ(0U, st.write);
	ASSERT_EQ(0U, st.queue_depth);
	expect_eagain(_metadata, self->fd);
}

TEST_F(mypoll, write_zero_no_event)
{
	struct mypoll_stats st;
	char c = 'x';
	__u64 seq;

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(0, write(self->fd, &c, 0));
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(seq, st.event_sequence);
	ASSERT_EQ(0U, st.generated);
	ASSERT_EQ(0U, st.write);
	expect_eagain(_metadata, self->fd);
}

TEST_F(mypoll, trigger_count_and_zero)
{
	struct mypoll_event ev[8];
	struct mypoll_stats st;
	__u32 zero = 0;
	__u64 seq;
	int i;

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(3, mp_trigger(self->fd, 3));
	ASSERT_EQ(-1, ioctl(self->fd, MYPOLL_IOC_TRIGGER, &zero));
	ASSERT_EQ(EINVAL, errno);
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(3U, st.manual);
	ASSERT_EQ(3U, st.generated);
	ASSERT_EQ(seq + 3, st.event_sequence);
	ASSERT_EQ(3, read_now(_metadata, self->fd, ev, 8));
	for (i = 0; i < 3; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_MANUAL, seq + i);
}

TEST_F(mypoll, unknown_ioctl_enotty)
{
	const unsigned long cmds[] = {
		_IO(MYPOLL_IOC_MAGIC, 0x7f),
		_IO(MYPOLL_IOC_MAGIC, 0x00),
		_IOW(MYPOLL_IOC_MAGIC, 0x03, __u64),	/* TRIGGER, wrong size */
		_IOR(MYPOLL_IOC_MAGIC, 0x11, __u32),	/* GET_STATS, wrong size */
		_IO('x', 0x01),
		/* the magic the ioctls had before, 0xB7, is nsfs's */
		_IO(0xB7, 0x02),
		_IOW(0xB7, 0x03, __u32),
		_IO(0xB7, 0x04),
	};
	struct mypoll_stats before, after;
	__u64 arg[8] = { 1 };
	size_t i;
	int ro;

	ro = mp_open(O_RDONLY);
	ASSERT_LE(0, ro);
	mp_get_stats(_metadata, self->fd, &before);
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		ASSERT_EQ(-1, ioctl(self->fd, cmds[i], arg)) {
			TH_LOG("ioctl %#lx", cmds[i]);
		}
		ASSERT_EQ(ENOTTY, errno) {
			TH_LOG("ioctl %#lx", cmds[i]);
		}
		ASSERT_EQ(-1, ioctl(ro, cmds[i], arg));
		ASSERT_EQ(ENOTTY, errno);
	}
	mp_get_stats(_metadata, self->fd, &after);
	before.readers = after.readers;
	ASSERT_EQ(0, memcmp(&before, &after, sizeof(before)));
	close(ro);
}

/*
 * Give @uffd (a new userfaultfd) a page the kernel's first access to
 * waits on, until uffd_fill() fills it: a user copy that stalls, as one
 * from a page FUSE or userfaultfd serves may. Returns 0 or -1.
 */
static int uffd_page(int uffd, void **page, size_t size)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.mode = UFFDIO_REGISTER_MODE_MISSING,
	};

	*page = mmap(NULL, size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	reg.range.start = (unsigned long)*page;
	reg.range.len = size;
	if (*page == MAP_FAILED || ioctl(uffd, UFFDIO_API, &api) ||
	    ioctl(uffd, UFFDIO_REGISTER, &reg))
		return -1;
	return 0;
}

/* Fill the page with @src, which lets the stalled copy go on. */
static int uffd_fill(int uffd, void *page, const void *src, size_t size)
{
	struct uffdio_copy copy = {
		.dst = (unsigned long)page,
		.src = (unsigned long)src,
		.len = size,
	};

	return ioctl(uffd, UFFDIO_COPY, &copy);
}

/*
 * A device-wide ioctl whose copy of its argument stalls (here on a page
 * userfaultfd serves; FUSE can do the same) must not hold up the other
 * users of the device: the copies are made without the device's lock, so
 * GET_INFO on another file answers while a TRIGGER waits to read its
 * count and a GET_STATS waits to write its answer.
 */
TEST_F(mypoll, ioctl_copy_stall_holds_no_lock)
{
	const unsigned long cmds[] = { MYPOLL_IOC_TRIGGER, MYPOLL_IOC_GET_STATS };
	size_t size = sysconf(_SC_PAGESIZE), i;
	struct mp_worker stalled, other;
	struct pollfd p = { .events = POLLIN };
	struct mypoll_info info;
	__u32 *src;
	void *page;
	int ro;

	src = calloc(1, size);
	ASSERT_NE(NULL, src);
	*src = 1;
	ro = mp_open(O_RDONLY);
	ASSERT_LE(0, ro);
	for (i = 0; i < ARRAY_SIZE(cmds); i++) {
		p.fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
		if (p.fd < 0) {
			close(ro);
			free(src);
			SKIP(return, "no userfaultfd (CONFIG_USERFAULTFD): %s",
			     strerror(errno));
		}
		ASSERT_EQ(0, uffd_page(p.fd, &page, size));
		ASSERT_EQ(0, mp_worker_ioctl(&stalled, self->fd, cmds[i], page));
		/* The fault arrives: the ioctl waits in its copy. */
		ASSERT_EQ(1, mp_wait_fd(p.fd, MP_WAIT_MS));
		ASSERT_EQ(0, mp_worker_ioctl(&other, ro, MYPOLL_IOC_GET_INFO,
					     &info));
		EXPECT_EQ(1, mp_wait_fd(other.done_efd, 5000)) {
			TH_LOG("GET_INFO waits while ioctl %#lx copies",
			       cmds[i]);
		}
		ASSERT_EQ(0, uffd_fill(p.fd, page, src, size));
		ASSERT_EQ(0, mp_worker_wait(&stalled, MP_WAIT_MS));
		ASSERT_EQ(0, mp_worker_wait(&other, MP_WAIT_MS));
		EXPECT_EQ(0, other.ret);
		EXPECT_EQ(MYPOLL_ABI_VERSION, info.abi_version);
		/* TRIGGER read the count 1; GET_STATS wrote its answer. */
		EXPECT_EQ(i ? 0 : 1, stalled.ret) {
			TH_LOG("ioctl %#lx: %s", cmds[i], strerror(stalled.err));
		}
		close(p.fd);
		munmap(page, size);
	}
	close(ro);
	free(src);
}

TEST_F(mypoll, rdonly_fd_ebadf)
{
	struct mypoll_timer t = { .mode = MYPOLL_TIMER_WORK,
				  .period_us = 3600000000ULL };
	struct mypoll_reader_info ri;
	struct mypoll_stats st;
	__u32 val;
	__u64 filter = 1ULL << MYPOLL_SOURCE_MANUAL;
	char c = 'x';
	int ro, wo;

	ro = mp_open(O_RDONLY);
	ASSERT_LE(0, ro);
	ASSERT_EQ(1, mp_trigger(self->fd, 1));

	ASSERT_EQ(-1, ioctl(ro, MYPOLL_IOC_TIMER_START, &t));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(0, ioctl(ro, MYPOLL_IOC_TIMER_GET, &t));
	ASSERT_EQ(0U, t.running);

	ASSERT_EQ(-1, mp_trigger(ro, 1));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(-1, ioctl(ro, MYPOLL_IOC_RESET_STATS));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(-1, mp_set_policy(ro, EVCORE_POLICY_DROP_OLDEST));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(-1, mp_set_qsize(ro, 32));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(-1, write(ro, &c, 1));
	ASSERT_EQ(EBADF, errno);

	/* a running timer cannot be stopped through it either */
	t.mode = MYPOLL_TIMER_WORK;
	t.running = 0;
	t.period_us = 3600000000ULL;
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_START, &t));
	ASSERT_EQ(-1, ioctl(ro, MYPOLL_IOC_TIMER_STOP));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(0, ioctl(ro, MYPOLL_IOC_TIMER_GET, &t));
	ASSERT_EQ(1U, t.running);
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_STOP));

	/* nothing changed */
	mp_get_stats(_metadata, ro, &st);
	ASSERT_EQ(1U, st.generated);
	ASSERT_EQ(1U, st.manual);
	ASSERT_EQ((__u32)EVCORE_POLICY_DROP_NEWEST, st.policy);
	ASSERT_EQ(MP_DEFAULT_QSIZE, st.queue_size);
	ASSERT_EQ(0, ioctl(ro, MYPOLL_IOC_GET_POLICY, &val));
	ASSERT_EQ((__u32)EVCORE_POLICY_DROP_NEWEST, val);
	ASSERT_EQ(0, ioctl(ro, MYPOLL_IOC_GET_QUEUE_SIZE, &val));
	ASSERT_EQ(MP_DEFAULT_QSIZE, val);

	/* per-file ioctls work read-only */
	ASSERT_EQ(0, ioctl(ro, MYPOLL_IOC_SET_FILTER, &filter));
	val = 1;
	ASSERT_EQ(0, ioctl(ro, MYPOLL_IOC_SET_WATERMARK, &val));
	mp_get_reader(_metadata, ro, &ri);
	ASSERT_EQ(filter, ri.filter);

	/* write-only is enough for device-wide ioctls */
	wo = mp_open(O_WRONLY);
	ASSERT_LE(0, wo);
	ASSERT_EQ(2, mp_trigger(wo, 2));
	ASSERT_EQ(0, ioctl(wo, MYPOLL_IOC_RESET_STATS));
	mp_get_stats(_metadata, ro, &st);
	ASSERT_EQ(0U, st.generated);
	close(wo);
	close(ro);
}

TEST_F(mypoll, policy_roundtrip)
{
	static const __u32 bad[] = { 3, 4, 0xff, 0xffffffff };
	struct mypoll_stats st;
	__u32 p, val;
	size_t i;

	for (p = 0; p < 3; p++) {
		ASSERT_EQ(0, mp_set_policy(self->fd, p));
		val = 0xa5a5;
		ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_GET_POLICY, &val));
		ASSERT_EQ((__u32)p, val);
		mp_get_stats(_metadata, self->fd, &st);
		ASSERT_EQ(p, st.policy);
		expect_sysfs_str(_metadata, "overflow_policy", policy_names[p]);
	}
	ASSERT_EQ(0, mp_set_policy(self->fd, EVCORE_POLICY_DROP_OLDEST));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(-1, mp_set_policy(self->fd, bad[i]));
		ASSERT_EQ(EINVAL, errno);
		ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_GET_POLICY, &val));
		ASSERT_EQ((__u32)EVCORE_POLICY_DROP_OLDEST, val);
	}
	expect_sysfs_str(_metadata, "overflow_policy", "drop-oldest");
}

TEST_F(mypoll, queue_size_roundtrip)
{
	static const __u32 good[] = { 1, MP_MAX_QSIZE, 100, 64 };
	static const __u32 bad[] = { 0, MP_MAX_QSIZE + 1, 0xffffffff };
	struct mypoll_stats st;
	__u32 val;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(good); i++) {
		ASSERT_EQ(0, mp_set_qsize(self->fd, good[i])) {
			TH_LOG("queue size %u: %s", good[i], strerror(errno));
		}
		val = 0;
		ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_GET_QUEUE_SIZE, &val));
		ASSERT_EQ(good[i], val);
		mp_get_stats(_metadata, self->fd, &st);
		ASSERT_EQ(good[i], st.queue_size);
		expect_sysfs_u64(_metadata, "queue_size", good[i]);
	}
	ASSERT_EQ(0, mp_set_qsize(self->fd, 100));
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(-1, mp_set_qsize(self->fd, bad[i]));
		ASSERT_EQ(EINVAL, errno);
		ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_GET_QUEUE_SIZE, &val));
		ASSERT_EQ(100U, val);
	}
}

TEST_F(mypoll, queue_size_ebusy)
{
	struct mypoll_event ev;
	struct mypoll_stats st;
	__u32 val;
	__u64 seq;

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(10, mp_trigger(self->fd, 10));
	ASSERT_EQ(-1, mp_set_qsize(self->fd, 9));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(-1, mp_set_qsize(self->fd, 1));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_GET_QUEUE_SIZE, &val));
	ASSERT_EQ(MP_DEFAULT_QSIZE, val);

	/* shrinking to exactly the depth keeps every record */
	ASSERT_EQ(0, mp_set_qsize(self->fd, 10));
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(10U, st.queue_size);
	ASSERT_EQ(10U, st.queue_depth);
	ASSERT_EQ(0, mp_trigger(self->fd, 1));
	read_to_gap(_metadata, self->fd, 10, seq, 1);
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	expect_after_loss(_metadata, self->fd, seq + 10, MYPOLL_SOURCE_MANUAL,
			  &ev);
}

TEST_F(mypoll, timer_ioctl_validation)
{
	static const struct mypoll_timer bad[] = {
		{ MYPOLL_TIMER_WORK, 0, 0 },
		{ MYPOLL_TIMER_WORK, 0, 999 },
		{ MYPOLL_TIMER_WORK, 0, 1500 },
		{ MYPOLL_TIMER_WORK, 0, 3600001000ULL },
		{ MYPOLL_TIMER_HRTIMER, 0, 0 },
		{ MYPOLL_TIMER_HRTIMER, 0, 99 },
		{ MYPOLL_TIMER_HRTIMER, 0, 3600000001ULL },
		{ MYPOLL_TIMER_HRTIMER, 0, ~0ULL },
		/* valid periods once cut to 32 bits */
		{ MYPOLL_TIMER_WORK, 0, (1ULL << 32) + 1000 },
		{ MYPOLL_TIMER_HRTIMER, 0, (1ULL << 32) + 100 },
		{ 2, 0, 1000000 },
		{ ~0U, 0, 1000000 },
		{ MYPOLL_TIMER_WORK, 1, 1000000 },
	};
	static const struct mypoll_timer good[] = {
		{ MYPOLL_TIMER_WORK, 0, 1000 },
		{ MYPOLL_TIMER_WORK, 0, 3600000000ULL },
		{ MYPOLL_TIMER_HRTIMER, 0, 100 },
		{ MYPOLL_TIMER_HRTIMER, 0, 1500 },
		{ MYPOLL_TIMER_HRTIMER, 0, 3600000000ULL },
	};
	struct mypoll_timer t;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		t = bad[i];
		ASSERT_EQ(-1, ioctl(self->fd, MYPOLL_IOC_TIMER_START, &t)) {
			TH_LOG("mode %u running %u period %llu accepted",
			       t.mode, t.running,
			       (unsigned long long)t.period_us);
		}
		ASSERT_EQ(EINVAL, errno);
		ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_GET, &t));
		ASSERT_EQ(0U, t.running);
	}
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		t = good[i];
		ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_START, &t)) {
			TH_LOG("mode %u period %llu: %s", t.mode,
			       (unsigned long long)t.period_us,
			       strerror(errno));
		}
		memset(&t, 0xa5, sizeof(t));
		ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_GET, &t));
		ASSERT_EQ(good[i].mode, t.mode);
		ASSERT_EQ(1U, t.running);
		ASSERT_EQ(good[i].period_us, t.period_us);
		ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_STOP));
		ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_GET, &t));
		ASSERT_EQ(0U, t.running);
	}
	ASSERT_LE(0, mp_drain(self->fd));
}

TEST_F(mypoll, reset_stats)
{
	struct mypoll_event ev[4];
	struct mypoll_stats st;
	__u64 seq;
	char c = 'r';

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(3, mp_trigger(self->fd, 3));
	ASSERT_EQ(1, write(self->fd, &c, 1));
	ASSERT_EQ(2, read_now(_metadata, self->fd, ev, 2));

	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(4U, st.generated);
	ASSERT_EQ(4U, st.queued);
	ASSERT_EQ(3U, st.manual);
	ASSERT_EQ(1U, st.write);
	ASSERT_EQ(2U, st.read);
	ASSERT_EQ(4U, st.high_water);
	ASSERT_EQ(2U, st.queue_depth);
	expect_stats_consistent(_metadata, &st);

	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_RESET_STATS));
	mp_get_stats(_metadata, self->fd, &st);
	expect_counters_zero(_metadata, &st);
	ASSERT_EQ(2U, st.high_water);
	ASSERT_EQ(2U, st.queue_depth);
	ASSERT_EQ(seq + 4, st.event_sequence);
	ASSERT_EQ(1U, st.readers);
	ASSERT_EQ(MP_DEFAULT_QSIZE, st.queue_size);

	/* the queue itself is untouched */
	ASSERT_EQ(2, read_now(_metadata, self->fd, ev, 4));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq + 2);
	check_event(_metadata, &ev[1], MYPOLL_SOURCE_WRITE, seq + 3);
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(2U, st.read);
}

TEST_F(mypoll, multiple_readers)
{
	struct mypoll_event ev[3][8];
	struct mypoll_reader_info ri;
	struct mypoll_stats st;
	int fds[3], i, j;
	char c = 'm';
	__u64 seq;

	fds[0] = self->fd;
	fds[1] = mp_open(O_RDONLY);
	fds[2] = mp_open(O_RDWR);
	ASSERT_LE(0, fds[1]);
	ASSERT_LE(0, fds[2]);
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(3U, st.readers);
	expect_sysfs_u64(_metadata, "readers", 3);

	seq = st.event_sequence;
	ASSERT_EQ(2, mp_trigger(fds[0], 2));
	ASSERT_EQ(1, write(fds[2], &c, 1));
	ASSERT_EQ(1, mp_trigger(fds[2], 1));
	for (i = 0; i < 3; i++) {
		mp_get_reader(_metadata, fds[i], &ri);
		ASSERT_EQ(seq, ri.position);
		ASSERT_EQ(4U, ri.lag);
	}

	/* positions are independent */
	ASSERT_EQ(1, read_now(_metadata, fds[1], ev[1], 1));
	mp_get_reader(_metadata, fds[1], &ri);
	ASSERT_EQ(seq + 1, ri.position);
	ASSERT_EQ(3U, ri.lag);
	ASSERT_EQ(1U, ri.read);
	mp_get_reader(_metadata, fds[0], &ri);
	ASSERT_EQ(seq, ri.position);
	ASSERT_EQ(4U, ri.lag);

	ASSERT_EQ(4, read_now(_metadata, fds[0], ev[0], 8));
	ASSERT_EQ(3, read_now(_metadata, fds[1], ev[1] + 1, 7));
	ASSERT_EQ(4, read_now(_metadata, fds[2], ev[2], 8));
	check_event(_metadata, &ev[0][0], MYPOLL_SOURCE_MANUAL, seq);
	check_event(_metadata, &ev[0][1], MYPOLL_SOURCE_MANUAL, seq + 1);
	check_event(_metadata, &ev[0][2], MYPOLL_SOURCE_WRITE, seq + 2);
	check_event(_metadata, &ev[0][3], MYPOLL_SOURCE_MANUAL, seq + 3);
	for (i = 1; i < 3; i++)
		for (j = 0; j < 4; j++)
			ASSERT_EQ(0, memcmp(&ev[0][j], &ev[i][j], MP_REC)) {
				TH_LOG("reader %d record %d differs", i, j);
			}

	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(12U, st.read);
	ASSERT_EQ(0U, st.queue_depth);
	close(fds[2]);
	close(fds[1]);
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(1U, st.readers);
}

/* Under drop-newest the slowest reader holds the queue's tail. */
TEST_F(mypoll, slow_reader_holds_tail)
{
	struct mypoll_event ev[8];
	struct mypoll_reader_info ri;
	struct mypoll_stats st;
	int slow, i;
	__u32 wm = 4;
	__u64 seq;

	ASSERT_EQ(0, mp_set_qsize(self->fd, 4));
	slow = mp_open(O_RDONLY);
	ASSERT_LE(0, slow);
	/* a loss record is readable whatever the watermark */
	ASSERT_EQ(0, ioctl(slow, MYPOLL_IOC_SET_WATERMARK, &wm));
	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(4, mp_trigger(self->fd, 4));
	ASSERT_EQ(4, read_now(_metadata, self->fd, ev, 8));
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(4U, st.queue_depth);

	ASSERT_EQ(0, mp_trigger(self->fd, 1));
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(1U, st.dropped_full);

	ASSERT_EQ(4, read_now(_metadata, slow, ev, 4));
	for (i = 0; i < 4; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_MANUAL, seq + i);
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(0U, st.queue_depth);

	/* both readers lost the refused event and are told so at once */
	expect_loss_now(_metadata, self->fd, 1, seq + 4);
	expect_loss_now(_metadata, slow, 1, seq + 4);
	wm = 1;
	ASSERT_EQ(0, ioctl(slow, MYPOLL_IOC_SET_WATERMARK, &wm));
	trigger_after_loss_both(_metadata, self->fd, slow, seq + 4);
	mp_get_reader(_metadata, slow, &ri);
	ASSERT_EQ(1U, ri.lost);
	mp_get_reader(_metadata, self->fd, &ri);
	ASSERT_EQ(1U, ri.lost);
	close(slow);
}

TEST_F(mypoll, reader_info_and_fdinfo)
{
	struct mypoll_event ev[4];
	struct mypoll_reader_info ri;
	__u64 seq, val;

	mp_get_reader(_metadata, self->fd, &ri);
	ASSERT_EQ(1U, ri.watermark);
	ASSERT_EQ(0U, ri.lag);
	ASSERT_EQ(0U, ri.reserved);
	ASSERT_EQ(0U, ri.lost);
	for (val = MYPOLL_SOURCE_TIMER; val <= MYPOLL_SOURCE_WRITE; val++)
		ASSERT_NE(0ULL, ri.filter & (1ULL << val));
	seq = ri.position;
	ASSERT_EQ(seq, event_sequence(_metadata, self->fd));

	ASSERT_EQ(5, mp_trigger(self->fd, 5));
	ASSERT_EQ(2, read_now(_metadata, self->fd, ev, 2));
	mp_get_reader(_metadata, self->fd, &ri);
	ASSERT_EQ(seq + 2, ri.position);
	ASSERT_EQ(3U, ri.lag);
	ASSERT_EQ(2U, ri.read);
	ASSERT_EQ(0U, ri.lost);

	fdinfo_u64(_metadata, self->fd, "position", &val);
	ASSERT_EQ(seq + 2, val);
	fdinfo_u64(_metadata, self->fd, "lag", &val);
	ASSERT_EQ(3U, val);
	fdinfo_u64(_metadata, self->fd, "lost", &val);
	ASSERT_EQ(0U, val);
}

/* Source filters MYPOLL_IOC_SET_FILTER refuses with EINVAL. */
static const __u64 bad_filters[] = {
	1ULL << 0,
	1ULL << 4,
	1ULL << 63,
	(1ULL << MYPOLL_SOURCE_MANUAL) | 1,
	(1ULL << MYPOLL_SOURCE_MANUAL) | (1ULL << 5),
};

TEST_F(mypoll, source_filter)
{
	__u64 want = 1ULL << MYPOLL_SOURCE_MANUAL;
	struct mypoll_event ev[8];
	struct mypoll_reader_info ri;
	__u64 seq, def;
	size_t i;
	int fd;

	fd = mp_open(O_RDONLY);
	ASSERT_LE(0, fd);
	mp_get_reader(_metadata, fd, &ri);
	def = ri.filter;
	for (i = 0; i < ARRAY_SIZE(bad_filters); i++) {
		__u64 f = bad_filters[i];

		ASSERT_EQ(-1, ioctl(fd, MYPOLL_IOC_SET_FILTER, &f)) {
			TH_LOG("filter %#llx accepted", (unsigned long long)f);
		}
		ASSERT_EQ(EINVAL, errno);
		mp_get_reader(_metadata, fd, &ri);
		ASSERT_EQ(def, ri.filter);
	}
	ASSERT_EQ(0, ioctl(fd, MYPOLL_IOC_SET_FILTER, &want));
	mp_get_reader(_metadata, fd, &ri);
	ASSERT_EQ(want, ri.filter);

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(1, write(self->fd, "a", 1));
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	ASSERT_EQ(1, write(self->fd, "b", 1));
	ASSERT_EQ(1, mp_trigger(self->fd, 1));

	ASSERT_EQ(2, read_now(_metadata, fd, ev, 8));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq + 1);
	check_event(_metadata, &ev[1], MYPOLL_SOURCE_MANUAL, seq + 3);
	expect_eagain(_metadata, fd);

	/* the unfiltered reader still sees everything */
	ASSERT_EQ(4, read_now(_metadata, self->fd, ev, 8));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_WRITE, seq);
	check_event(_metadata, &ev[2], MYPOLL_SOURCE_WRITE, seq + 2);

	/* and back: all three sources */
	want = (1ULL << MYPOLL_SOURCE_TIMER) | (1ULL << MYPOLL_SOURCE_MANUAL) |
	       (1ULL << MYPOLL_SOURCE_WRITE);
	ASSERT_EQ(0, ioctl(fd, MYPOLL_IOC_SET_FILTER, &want));
	mp_get_reader(_metadata, fd, &ri);
	ASSERT_EQ(want, ri.filter);
	ASSERT_EQ(1, write(self->fd, "c", 1));
	ASSERT_EQ(1, read_now(_metadata, fd, ev, 8));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_WRITE, seq + 4);
	close(fd);
}

/*
 * A file opened O_WRONLY reads no source and may not change that: as
 * read(), MYPOLL_IOC_SET_FILTER fails with EBADF whatever its argument,
 * a filter out of range or a bad pointer included, and changes nothing.
 */
TEST_F(mypoll, source_filter_write_only)
{
	static const __u64 good[] = {
		0,
		1ULL << MYPOLL_SOURCE_WRITE,
		MYPOLL_SOURCES_ALL,
	};
	struct mypoll_reader_info ri;
	size_t i;
	__u64 f;
	int wo;

	wo = mp_open(O_WRONLY);
	ASSERT_LE(0, wo);
	mp_get_reader(_metadata, wo, &ri);
	ASSERT_EQ(0U, ri.filter);
	for (i = 0; i < ARRAY_SIZE(bad_filters) + ARRAY_SIZE(good); i++) {
		f = i < ARRAY_SIZE(good) ? good[i] :
		    bad_filters[i - ARRAY_SIZE(good)];
		ASSERT_EQ(-1, ioctl(wo, MYPOLL_IOC_SET_FILTER, &f)) {
			TH_LOG("filter %#llx accepted", (unsigned long long)f);
		}
		ASSERT_EQ(EBADF, errno) {
			TH_LOG("filter %#llx: %s", (unsigned long long)f,
			       strerror(errno));
		}
		mp_get_reader(_metadata, wo, &ri);
		ASSERT_EQ(0U, ri.filter);
	}
	ASSERT_EQ(-1, ioctl(wo, MYPOLL_IOC_SET_FILTER, NULL));
	ASSERT_EQ(EBADF, errno);
	mp_get_reader(_metadata, wo, &ri);
	ASSERT_EQ(0U, ri.filter);
	close(wo);
}

TEST_F(mypoll, watermark_poll)
{
	static const __u32 bad[] = { 0, MP_DEFAULT_QSIZE + 1, 0xffffffff };
	struct pollfd pfd = { .events = POLLIN };
	struct mypoll_event ev[8];
	struct mypoll_reader_info ri;
	size_t i;
	__u32 wm;
	int fd;

	fd = mp_open(O_RDONLY);
	ASSERT_LE(0, fd);
	pfd.fd = fd;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		wm = bad[i];
		ASSERT_EQ(-1, ioctl(fd, MYPOLL_IOC_SET_WATERMARK, &wm)) {
			TH_LOG("watermark %u accepted", wm);
		}
		ASSERT_EQ(EINVAL, errno);
		mp_get_reader(_metadata, fd, &ri);
		ASSERT_EQ(1U, ri.watermark);
	}
	wm = MP_DEFAULT_QSIZE;
	ASSERT_EQ(0, ioctl(fd, MYPOLL_IOC_SET_WATERMARK, &wm));
	mp_get_reader(_metadata, fd, &ri);
	ASSERT_EQ(MP_DEFAULT_QSIZE, ri.watermark);

	wm = 3;
	ASSERT_EQ(0, ioctl(fd, MYPOLL_IOC_SET_WATERMARK, &wm));
	mp_get_reader(_metadata, fd, &ri);
	ASSERT_EQ(3U, ri.watermark);

	ASSERT_EQ(2, mp_trigger(self->fd, 2));
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	ASSERT_EQ(1, poll(&pfd, 1, MP_WAIT_MS));
	ASSERT_EQ(POLLIN, pfd.revents & POLLIN);
	ASSERT_EQ(3, read_now(_metadata, fd, ev, 8));
	ASSERT_EQ(0, poll(&pfd, 1, 0));
	close(fd);
}

TEST_F_TIMEOUT(mypoll, watermark_blocking_read, 60)
{
	struct mypoll_event ev[8];
	struct mp_worker w;
	__u32 wm = 3;
	__u64 seq;
	int i;

	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_SET_WATERMARK, &wm));
	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(0, mp_worker_start(&w, self->fd, false, ev, sizeof(ev)));
	ASSERT_EQ(0, mp_wait_sleeping(w.tid, MP_WAIT_MS));
	ASSERT_EQ(2, mp_trigger(self->fd, 2));
	/* two events are below the watermark: the read keeps waiting */
	ASSERT_EQ(0, mp_wait_fd(w.done_efd, MP_BLOCKED_MS)) {
		TH_LOG("read returned %zd below the watermark", w.ret);
	}
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	ASSERT_EQ(0, mp_worker_wait(&w, MP_WAIT_MS));
	ASSERT_EQ(3 * MP_REC, w.ret) {
		TH_LOG("read: %s", strerror(w.err));
	}
	for (i = 0; i < 3; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_MANUAL, seq + i);
}

TEST_F(mypoll, epoll_level_triggered)
{
	struct epoll_event out;
	struct mypoll_event ev;
	__u64 seq;
	int ep;

	ep = epoll_on(_metadata, self->fd, EPOLLIN);
	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(2, mp_trigger(self->fd, 2));
	expect_epollin(_metadata, ep, MP_WAIT_MS);
	/* reported again while data remains */
	expect_epollin(_metadata, ep, 0);
	ASSERT_EQ(1, read_now(_metadata, self->fd, &ev, 1));
	check_event(_metadata, &ev, MYPOLL_SOURCE_MANUAL, seq);
	expect_epollin(_metadata, ep, 0);
	ASSERT_EQ(1, read_now(_metadata, self->fd, &ev, 1));
	check_event(_metadata, &ev, MYPOLL_SOURCE_MANUAL, seq + 1);
	ASSERT_EQ(0, epoll_wait(ep, &out, 1, 0));
	close(ep);
}

TEST_F(mypoll, epoll_edge_triggered)
{
	struct mypoll_event ev[4];
	struct epoll_event out;
	__u64 seq;
	int ep;

	ep = epoll_on(_metadata, self->fd, EPOLLIN | EPOLLET);
	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(2, mp_trigger(self->fd, 2));
	expect_epollin(_metadata, ep, MP_WAIT_MS);
	/* once per arrival, even though data remains */
	ASSERT_EQ(0, epoll_wait(ep, &out, 1, 0));
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 1));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq);
	ASSERT_EQ(0, epoll_wait(ep, &out, 1, 0));

	/* a new arrival reports again */
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	expect_epollin(_metadata, ep, MP_WAIT_MS);
	ASSERT_EQ(0, epoll_wait(ep, &out, 1, 0));
	ASSERT_EQ(2, read_now(_metadata, self->fd, ev, 4));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq + 1);
	check_event(_metadata, &ev[1], MYPOLL_SOURCE_MANUAL, seq + 2);
	ASSERT_EQ(0, epoll_wait(ep, &out, 1, 0));
	close(ep);
}

/* Start a blocking one-record read on @fd and wait until it sleeps. */
static void start_blocked_reader(struct __test_metadata *_metadata,
				 struct mp_worker *w, int fd,
				 struct mypoll_event *ev)
{
	memset(ev, 0xa5, MP_REC);
	ASSERT_EQ(0, mp_worker_start(w, fd, false, ev, MP_REC));
	ASSERT_EQ(0, mp_wait_sleeping(w->tid, MP_WAIT_MS)) {
		TH_LOG("reader thread did not block in read()");
	}
	ASSERT_FALSE(mp_worker_done(w)) {
		TH_LOG("read returned %zd with nothing queued", w->ret);
	}
}

static void finish_blocked_reader(struct __test_metadata *_metadata,
				  struct mp_worker *w)
{
	ASSERT_EQ(0, mp_worker_wait(w, MP_WAIT_MS)) {
		TH_LOG("blocked read was not woken");
	}
	ASSERT_EQ(MP_REC, w->ret) {
		TH_LOG("read: %s", strerror(w->err));
	}
}

TEST_F_TIMEOUT(mypoll, blocking_read_woken_by_trigger_thread, 60)
{
	struct mypoll_event ev;
	struct mp_worker w;
	__u64 seq;

	seq = event_sequence(_metadata, self->fd);
	start_blocked_reader(_metadata, &w, self->fd, &ev);
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	finish_blocked_reader(_metadata, &w);
	check_event(_metadata, &ev, MYPOLL_SOURCE_MANUAL, seq);
}

TEST_F_TIMEOUT(mypoll, blocking_read_woken_by_trigger_process, 60)
{
	struct mypoll_event ev;
	struct mp_worker w;
	int status;
	pid_t pid;
	__u64 seq;

	seq = event_sequence(_metadata, self->fd);
	start_blocked_reader(_metadata, &w, self->fd, &ev);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = mp_open(O_WRONLY);

		_exit(fd >= 0 && mp_trigger(fd, 1) == 1 ? 0 : 1);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	finish_blocked_reader(_metadata, &w);
	check_event(_metadata, &ev, MYPOLL_SOURCE_MANUAL, seq);
}

TEST_F_TIMEOUT(mypoll, blocking_read_woken_by_write, 60)
{
	struct mypoll_event ev;
	struct mp_worker w;
	__u64 seq;
	int fd;

	fd = mp_open(O_WRONLY);
	ASSERT_LE(0, fd);
	seq = event_sequence(_metadata, self->fd);
	start_blocked_reader(_metadata, &w, self->fd, &ev);
	ASSERT_EQ(4, write(fd, "ping", 4));
	finish_blocked_reader(_metadata, &w);
	check_event(_metadata, &ev, MYPOLL_SOURCE_WRITE, seq);
	ASSERT_EQ(4, ev.hdr.payload_len);
	ASSERT_EQ(0, memcmp(ev.payload, "ping", 4));
	close(fd);
}

TEST_F_TIMEOUT(mypoll, blocking_read_eintr_no_loss, 60)
{
	struct mypoll_reader_info ri;
	struct mypoll_event ev;
	struct mp_worker w;
	__u64 seq;

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	ASSERT_EQ(1, read_now(_metadata, self->fd, &ev, 1));
	check_event(_metadata, &ev, MYPOLL_SOURCE_MANUAL, seq);

	__atomic_store_n(&mp_sigusr1_count, 0, __ATOMIC_SEQ_CST);
	start_blocked_reader(_metadata, &w, self->fd, &ev);
	ASSERT_EQ(0, pthread_kill(w.thread, SIGUSR1));
	ASSERT_EQ(1, mp_wait_fd(w.done_efd, MP_WAIT_MS)) {
		TH_LOG("signal did not interrupt the blocked read");
	}
	ASSERT_EQ(0, mp_worker_wait(&w, MP_WAIT_MS));
	ASSERT_EQ(-1, w.ret);
	ASSERT_EQ(EINTR, w.err);
	ASSERT_LE(1, __atomic_load_n(&mp_sigusr1_count, __ATOMIC_SEQ_CST));

	mp_get_reader(_metadata, self->fd, &ri);
	ASSERT_EQ(seq + 1, ri.position);
	ASSERT_EQ(1U, ri.read);

	/* the next read returns the next event: nothing was lost */
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	ASSERT_EQ(1, mp_wait_fd(self->fd, MP_WAIT_MS));
	memset(&ev, 0xa5, sizeof(ev));
	ASSERT_EQ(MP_REC, read(self->fd, &ev, sizeof(ev)));
	check_event(_metadata, &ev, MYPOLL_SOURCE_MANUAL, seq + 1);
}

/*
 * A refused event is news by itself: a reader blocked in read() with
 * nothing left to read wakes at once with the loss record.
 */
TEST_F_TIMEOUT(mypoll, loss_wakes_blocked_reader, 60)
{
	struct mypoll_event ev[8], rec;
	struct mp_worker w;
	__u64 seq;
	int other;

	ASSERT_EQ(0, mp_set_qsize(self->fd, 4));
	other = mp_open(O_RDONLY);
	ASSERT_LE(0, other);
	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(4, mp_trigger(self->fd, 4));
	ASSERT_EQ(4, read_now(_metadata, other, ev, 8));

	/* self->fd holds the queue full; other waits for the next record */
	start_blocked_reader(_metadata, &w, other, &rec);
	ASSERT_EQ(0, mp_trigger(self->fd, 1));
	ASSERT_EQ(0, mp_worker_wait(&w, MP_WAIT_MS)) {
		TH_LOG("the loss record did not wake the blocked read");
	}
	ASSERT_EQ(MP_REC, w.ret) {
		TH_LOG("read: %s", strerror(w.err));
	}
	check_loss(_metadata, &rec, 1, seq + 4);
	ASSERT_EQ(0, mp_poll_now(other, POLLIN | POLLPRI) &
		     (POLLIN | POLLPRI));

	read_to_gap(_metadata, self->fd, 4, seq, 1);
	trigger_after_loss_both(_metadata, self->fd, other, seq + 4);
	close(other);
}

/* What a level-triggered epoll reports now: @want of EPOLLIN|EPOLLPRI. */
static void epoll_expect(struct __test_metadata *_metadata, int ep,
			 __u32 want)
{
	struct epoll_event out = { 0 };
	int n = epoll_wait(ep, &out, 1, 0);

	ASSERT_EQ(want ? 1 : 0, n) {
		TH_LOG("epoll_wait %d (events %#x), want events %#x", n,
		       out.events, want);
	}
	if (n)
		ASSERT_EQ(want, out.events & (EPOLLIN | EPOLLPRI));
}

/* Level-triggered epoll reports EPOLLPRI exactly while the loss waits. */
TEST_F(mypoll, epoll_pri_at_gap)
{
	struct mypoll_event ev[8];
	__u64 seq;
	int ep, i;

	ASSERT_EQ(0, mp_set_qsize(self->fd, 4));
	ep = epoll_on(_metadata, self->fd, EPOLLIN | EPOLLPRI);
	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(4, mp_trigger(self->fd, 5));
	/* the loss is not the next record yet */
	epoll_expect(_metadata, ep, EPOLLIN);
	ASSERT_EQ(4, read_now(_metadata, self->fd, ev, 4));
	for (i = 0; i < 4; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_MANUAL, seq + i);
	epoll_expect(_metadata, ep, EPOLLIN | EPOLLPRI);
	epoll_expect(_metadata, ep, EPOLLIN | EPOLLPRI);
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 4));
	check_loss(_metadata, &ev[0], 1, seq + 4);
	epoll_expect(_metadata, ep, 0);
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	epoll_expect(_metadata, ep, EPOLLIN);
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 4));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq + 4);
	epoll_expect(_metadata, ep, 0);
	close(ep);
}

/*
 * EPOLLPRI can become due through the reader's own read, when it reaches
 * the gap: epoll must learn of it even when it last looked at the file
 * before that read.
 */
TEST_F(mypoll, epoll_pri_reached_by_read)
{
	struct mypoll_event ev[8];
	__u64 seq;
	short rev;
	int ep;

	ASSERT_EQ(0, mp_set_qsize(self->fd, 4));
	ep = epoll_on(_metadata, self->fd, EPOLLPRI);
	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(4, mp_trigger(self->fd, 5));
	epoll_expect(_metadata, ep, 0);
	ASSERT_EQ(4, read_now(_metadata, self->fd, ev, 4));
	rev = mp_poll_now(self->fd, POLLPRI);
	ASSERT_EQ(POLLPRI, rev & POLLPRI);
	epoll_expect(_metadata, ep, EPOLLPRI);
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 4));
	check_loss(_metadata, &ev[0], 1, seq + 4);
	epoll_expect(_metadata, ep, 0);
	close(ep);
}

/*
 * Block policy, 4 slots, filled by the writes "f0" to "f3". Returns the
 * sequence number of the first.
 */
static __u64 fill_blocking_queue(struct __test_metadata *_metadata, int fd)
{
	char msg[4] = "f0";
	__u64 seq;
	int i;

	ASSERT_EQ(0, mp_set_policy(fd, EVCORE_POLICY_BLOCK));
	ASSERT_EQ(0, mp_set_qsize(fd, 4));
	seq = event_sequence(_metadata, fd);
	for (i = 0; i < 4; i++) {
		msg[1] = '0' + i;
		ASSERT_EQ(2, mp_write_nb(fd, msg, 2));
	}
	return seq;
}

/* Read the first write of fill_blocking_queue(), freeing a slot. */
static void read_first_write(struct __test_metadata *_metadata, int fd,
			     __u64 seq)
{
	struct mypoll_event ev;

	ASSERT_EQ(1, read_now(_metadata, fd, &ev, 1));
	check_event(_metadata, &ev, MYPOLL_SOURCE_WRITE, seq);
	ASSERT_EQ(0, memcmp(ev.payload, "f0", 2));
}

/*
 * Read the other three writes of fill_blocking_queue() and the one queued
 * after them, @payload: contiguous, and the write source numbered them
 * without a gap.
 */
static void read_writes_after(struct __test_metadata *_metadata, int fd,
			      __u64 seq, const char *payload)
{
	size_t len = strlen(payload);
	struct mypoll_event ev[8];
	int i;

	ASSERT_EQ(4, read_now(_metadata, fd, ev, 8));
	for (i = 0; i < 4; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_WRITE,
			    seq + 1 + i);
	ASSERT_EQ(len, ev[3].hdr.payload_len);
	ASSERT_EQ(0, memcmp(ev[3].payload, payload, len));
	ASSERT_EQ(ev[2].hdr.source_seq + 1, ev[3].hdr.source_seq);
}

TEST_F_TIMEOUT(mypoll, block_policy_blocking_write, 60)
{
	char blk[4] = "blk";
	struct mypoll_stats st;
	struct mp_worker w;
	__u64 seq;
	short rev;

	seq = fill_blocking_queue(_metadata, self->fd);
	rev = mp_poll_now(self->fd, POLLIN | POLLOUT);
	ASSERT_EQ(POLLIN, rev & (POLLIN | POLLOUT)) {
		TH_LOG("revents %#x with the queue full under block", rev);
	}

	ASSERT_EQ(-1, mp_write_nb(self->fd, "nb", 2));
	ASSERT_EQ(EAGAIN, errno);
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(1U, st.would_block);
	ASSERT_EQ(4U, st.generated);
	ASSERT_EQ(4U, st.write);
	ASSERT_EQ(seq + 4, st.event_sequence);
	expect_stats_consistent(_metadata, &st);

	/* a blocking write sleeps until a read frees a slot */
	ASSERT_EQ(0, mp_worker_start(&w, self->fd, true, blk, 3));
	ASSERT_EQ(0, mp_wait_fd(w.done_efd, MP_BLOCKED_MS)) {
		TH_LOG("write returned %zd (%s) with the queue full", w.ret,
		       strerror(w.err));
	}
	ASSERT_EQ(0, mp_wait_sleeping(w.tid, MP_WAIT_MS));
	read_first_write(_metadata, self->fd, seq);
	ASSERT_EQ(0, mp_worker_wait(&w, MP_WAIT_MS)) {
		TH_LOG("blocked write was not woken by the read");
	}
	ASSERT_EQ(3, w.ret);

	/* EAGAIN did not consume a source sequence number */
	read_writes_after(_metadata, self->fd, seq, "blk");
	rev = mp_poll_now(self->fd, POLLOUT);
	ASSERT_EQ(POLLOUT, rev & POLLOUT);
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(0U, st.dropped);
	ASSERT_EQ(5U, st.write);
	expect_stats_consistent(_metadata, &st);
}

/*
 * A blocking write under the block policy is interrupted by a signal (no
 * SA_RESTART) with EINTR and leaves no trace; once a reader frees room the
 * next write goes through.
 */
TEST_F_TIMEOUT(mypoll, block_policy_write_eintr, 60)
{
	char blk[4] = "blk", nxt[4] = "new";
	struct mypoll_stats before, after;
	struct mp_worker w;
	__u64 seq;
	short rev;

	seq = fill_blocking_queue(_metadata, self->fd);
	mp_get_stats(_metadata, self->fd, &before);

	__atomic_store_n(&mp_sigusr1_count, 0, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, mp_worker_start(&w, self->fd, true, blk, 3));
	ASSERT_EQ(0, mp_wait_sleeping(w.tid, MP_WAIT_MS)) {
		TH_LOG("writer thread did not block in write()");
	}
	ASSERT_FALSE(mp_worker_done(&w)) {
		TH_LOG("write returned %zd (%s) with the queue full", w.ret,
		       strerror(w.err));
	}
	ASSERT_EQ(0, pthread_kill(w.thread, SIGUSR1));
	ASSERT_EQ(1, mp_wait_fd(w.done_efd, MP_WAIT_MS)) {
		TH_LOG("signal did not interrupt the blocked write");
	}
	ASSERT_EQ(0, mp_worker_wait(&w, MP_WAIT_MS));
	ASSERT_EQ(-1, w.ret);
	ASSERT_EQ(EINTR, w.err) {
		TH_LOG("write: %s", strerror(w.err));
	}
	ASSERT_LE(1, __atomic_load_n(&mp_sigusr1_count, __ATOMIC_SEQ_CST));

	/* nothing was queued, counted or numbered */
	mp_get_stats(_metadata, self->fd, &after);
	ASSERT_EQ(0, memcmp(&before, &after, sizeof(before))) {
		TH_LOG("generated %llu->%llu write %llu->%llu",
		       (unsigned long long)before.generated,
		       (unsigned long long)after.generated,
		       (unsigned long long)before.write,
		       (unsigned long long)after.write);
		TH_LOG("would_block %llu->%llu depth %u->%u seq %llu->%llu",
		       (unsigned long long)before.would_block,
		       (unsigned long long)after.would_block,
		       before.queue_depth, after.queue_depth,
		       (unsigned long long)before.event_sequence,
		       (unsigned long long)after.event_sequence);
	}
	rev = mp_poll_now(self->fd, POLLIN | POLLOUT);
	ASSERT_EQ(POLLIN, rev & (POLLIN | POLLOUT));

	/* a reader frees a slot: a new blocking write returns at once */
	read_first_write(_metadata, self->fd, seq);
	ASSERT_EQ(POLLOUT, mp_poll_now(self->fd, POLLOUT) & POLLOUT);
	ASSERT_EQ(0, mp_worker_start(&w, self->fd, true, nxt, 3));
	ASSERT_EQ(0, mp_worker_wait(&w, MP_WAIT_MS)) {
		TH_LOG("write blocked with a free slot");
	}
	ASSERT_EQ(3, w.ret) {
		TH_LOG("write: %s", strerror(w.err));
	}

	/* the interrupted write took no source sequence number */
	read_writes_after(_metadata, self->fd, seq, "new");
	mp_get_stats(_metadata, self->fd, &after);
	ASSERT_EQ(5U, after.write);
	ASSERT_EQ(5U, after.generated);
	ASSERT_EQ(0U, after.would_block);
	ASSERT_EQ(0U, after.dropped);
	expect_stats_consistent(_metadata, &after);
}

/*
 * epoll hooks onto a file's wait queues once, at EPOLL_CTL_ADD, with the
 * events asked then; EPOLL_CTL_MOD only polls the file again. A producer
 * whose event loop registered its fd for EPOLLIN and adds EPOLLOUT when a
 * write returns EAGAIN must still be told when a read makes room.
 */
TEST_F(mypoll, epoll_out_added_by_mod)
{
	struct epoll_event eev = { .events = EPOLLIN | EPOLLOUT }, out;
	__u64 seq;
	int ep, wfd;

	/* write-only: it reads nothing, so it holds none of the records */
	wfd = mp_open(O_WRONLY);
	ASSERT_LE(0, wfd);
	seq = fill_blocking_queue(_metadata, self->fd);
	ep = epoll_on(_metadata, wfd, EPOLLIN);
	ASSERT_EQ(-1, mp_write_nb(wfd, "nb", 2));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_MOD, wfd, &eev));
	ASSERT_EQ(0, epoll_wait(ep, &out, 1, 0));

	read_first_write(_metadata, self->fd, seq);
	memset(&out, 0, sizeof(out));
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, MP_WAIT_MS)) {
		TH_LOG("no EPOLLOUT after a read made room (poll: %#x)",
		       mp_poll_now(wfd, POLLOUT));
	}
	ASSERT_EQ((__u32)EPOLLOUT, out.events & EPOLLOUT);
	ASSERT_EQ(2, mp_write_nb(wfd, "ok", 2));
	close(ep);
	close(wfd);
}

/*
 * While no file wants any source the queue keeps what it holds, so under
 * the block policy a writer waits for room even after the only file read
 * past every record. Once that file wants a source again, the records
 * nobody wants go: that is room, and the writer must be woken.
 */
TEST_F_TIMEOUT(mypoll, filter_change_wakes_blocked_writer, 60)
{
	struct mypoll_event ev;
	char blk[4] = "blk";
	struct mp_worker w;
	__u64 filter = 0;
	short rev;

	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_SET_FILTER, &filter));
	fill_blocking_queue(_metadata, self->fd);
	/* past them all: it wants none of them */
	ASSERT_EQ(-1, mp_read_nb(self->fd, &ev, sizeof(ev)));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, mp_poll_now(self->fd, POLLOUT) & POLLOUT);

	ASSERT_EQ(0, mp_worker_start(&w, self->fd, true, blk, 3));
	ASSERT_EQ(0, mp_wait_sleeping(w.tid, MP_WAIT_MS)) {
		TH_LOG("writer thread did not block in write()");
	}
	ASSERT_FALSE(mp_worker_done(&w));

	filter = 1ULL << MYPOLL_SOURCE_MANUAL;
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_SET_FILTER, &filter));
	rev = mp_poll_now(self->fd, POLLOUT);
	ASSERT_EQ(POLLOUT, rev & POLLOUT);
	ASSERT_EQ(0, mp_worker_wait(&w, MP_WAIT_MS)) {
		TH_LOG("blocked write not woken, poll says %#x", rev);
	}
	ASSERT_EQ(3, w.ret) {
		TH_LOG("write: %s", strerror(w.err));
	}
}

/*
 * Have @fd signal this process. With @sig 0 it sends plain SIGIO; with
 * another signal (F_SETSIG) that one, with si_code POLL_IN or POLL_PRI,
 * si_band and si_fd set.
 */
static void async_on(struct __test_metadata *_metadata, int fd, int sig)
{
	int fl = fcntl(fd, F_GETFL);

	ASSERT_LE(0, fl);
	ASSERT_EQ(0, fcntl(fd, F_SETOWN, getpid()));
	ASSERT_EQ(getpid(), fcntl(fd, F_GETOWN));
	ASSERT_EQ(0, fcntl(fd, F_SETSIG, sig));
	ASSERT_EQ(0, fcntl(fd, F_SETFL, fl | O_ASYNC));
	ASSERT_EQ(O_ASYNC, fcntl(fd, F_GETFL) & O_ASYNC);
}

static void async_off(struct __test_metadata *_metadata, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	ASSERT_LE(0, fl);
	ASSERT_EQ(0, fcntl(fd, F_SETFL, fl & ~O_ASYNC));
	ASSERT_EQ(0, fcntl(fd, F_GETFL) & O_ASYNC);
}

/* Expect one @sig for @fd with @code (F_SETSIG style) within the bound. */
static void expect_sig(struct __test_metadata *_metadata, int sig, int fd,
		       int code)
{
	siginfo_t si;

	ASSERT_EQ(1, mp_sig_wait(sig, &si, MP_WAIT_MS)) {
		TH_LOG("no signal %d for fd %d", sig, fd);
	}
	ASSERT_EQ(sig, si.si_signo);
	ASSERT_EQ(code, si.si_code) {
		TH_LOG("si_code %d, want %s", si.si_code,
		       code == POLL_PRI ? "POLL_PRI" :
		       code == POLL_OUT ? "POLL_OUT" : "POLL_IN");
	}
	ASSERT_EQ(fd, si.si_fd);
	ASSERT_NE(0, si.si_band & (code == POLL_PRI ? POLLPRI :
				   code == POLL_OUT ? POLLOUT : POLLIN)) {
		TH_LOG("si_band %#lx", si.si_band);
	}
}

/* Take every @sig pending now; each must be for @fd with @code. */
static int drain_sigs(struct __test_metadata *_metadata, int sig, int fd,
		      int code)
{
	siginfo_t si;
	int n = 0;

	while (mp_sig_wait(sig, &si, 0)) {
		ASSERT_EQ(code, si.si_code);
		ASSERT_EQ(fd, si.si_fd);
		n++;
	}
	return n;
}

TEST_F(mypoll, fasync_sigio)
{
	struct mypoll_event ev[2];
	siginfo_t si;
	__u64 seq;
	int other;

	ASSERT_EQ(0, mp_sig_hold(SIGIO));
	async_on(_metadata, self->fd, 0);
	ASSERT_EQ(0, mp_sig_wait(SIGIO, &si, 0)) {
		TH_LOG("SIGIO with nothing queued");
	}

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	ASSERT_EQ(1, mp_sig_wait(SIGIO, &si, MP_WAIT_MS)) {
		TH_LOG("no SIGIO after a trigger");
	}
	ASSERT_EQ(SIGIO, si.si_signo);
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 2));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq);

	/* a write() through another file signals this one too */
	other = mp_open(O_WRONLY);
	ASSERT_LE(0, other);
	ASSERT_EQ(0, mp_sig_hold(SIGIO));
	ASSERT_EQ(2, write(other, "io", 2));
	ASSERT_EQ(1, mp_sig_wait(SIGIO, &si, MP_WAIT_MS)) {
		TH_LOG("no SIGIO after a write");
	}
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 2));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_WRITE, seq + 1);
	close(other);

	/* O_ASYNC off: events still arrive, signals do not */
	async_off(_metadata, self->fd);
	ASSERT_EQ(0, mp_sig_hold(SIGIO));
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	ASSERT_EQ(0, mp_sig_wait(SIGIO, &si, MP_BLOCKED_MS)) {
		TH_LOG("SIGIO with O_ASYNC cleared");
	}
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 2));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq + 2);

	/* and on again */
	async_on(_metadata, self->fd, 0);
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	ASSERT_EQ(1, mp_sig_wait(SIGIO, &si, MP_WAIT_MS)) {
		TH_LOG("no SIGIO once O_ASYNC is set again");
	}
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 2));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq + 3);
	async_off(_metadata, self->fd);
}

TEST_F(mypoll, fasync_stops_at_close)
{
	const int sig = SIGRTMIN;
	bool seen_self = false, seen_other = false;
	siginfo_t si;
	int other;

	/* plain SIGIO: the closed file was the only one asking for it */
	ASSERT_EQ(0, mp_sig_hold(SIGIO));
	other = mp_open(O_RDONLY);
	ASSERT_LE(0, other);
	async_on(_metadata, other, 0);
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	ASSERT_EQ(1, mp_sig_wait(SIGIO, &si, MP_WAIT_MS)) {
		TH_LOG("no SIGIO for the second file");
	}
	close(other);
	ASSERT_EQ(0, mp_sig_hold(SIGIO));
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	ASSERT_EQ(0, mp_sig_wait(SIGIO, &si, MP_BLOCKED_MS)) {
		TH_LOG("SIGIO after the file asking for it was closed");
	}
	ASSERT_EQ(2, mp_drain(self->fd));

	/* two files, each signalled with its own si_fd, until one closes */
	ASSERT_EQ(0, mp_sig_hold(sig));
	other = mp_open(O_RDONLY);
	ASSERT_LE(0, other);
	async_on(_metadata, self->fd, sig);
	async_on(_metadata, other, sig);
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	while (!(seen_self && seen_other)) {
		ASSERT_EQ(1, mp_sig_wait(sig, &si, MP_WAIT_MS)) {
			TH_LOG("signals: self %d, other %d", seen_self,
			       seen_other);
		}
		ASSERT_EQ(POLL_IN, si.si_code);
		ASSERT_TRUE(si.si_fd == self->fd || si.si_fd == other) {
			TH_LOG("si_fd %d", si.si_fd);
		}
		seen_self |= si.si_fd == self->fd;
		seen_other |= si.si_fd == other;
	}
	close(other);
	ASSERT_EQ(0, mp_sig_hold(sig));
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	expect_sig(_metadata, sig, self->fd, POLL_IN);
	while (mp_sig_wait(sig, &si, MP_BLOCKED_MS)) {
		ASSERT_EQ(self->fd, si.si_fd) {
			TH_LOG("signal for fd %d after it was closed",
			       si.si_fd);
		}
	}
	async_off(_metadata, self->fd);
}

/*
 * Fill the empty 4-slot queue, then trigger one more event, which the
 * policy queues (@queued 1, overwriting) or refuses (0): POLL_IN signals
 * for the first four, POLL_PRI for the last.
 */
static void fill_and_overflow(struct __test_metadata *_metadata, int sig,
			      int fd, int queued)
{
	ASSERT_EQ(4, mp_trigger(fd, 4));
	expect_sig(_metadata, sig, fd, POLL_IN);
	drain_sigs(_metadata, sig, fd, POLL_IN);
	ASSERT_EQ(queued, mp_trigger(fd, 1));
	expect_sig(_metadata, sig, fd, POLL_PRI);
	drain_sigs(_metadata, sig, fd, POLL_PRI);
}

/*
 * An event the queue cannot take still signals: POLL_PRI, as EPOLLPRI,
 * for a refused event and for an overwritten one.
 */
TEST_F(mypoll, fasync_overflow)
{
	const int sig = SIGRTMIN;
	struct mypoll_event ev[8];
	siginfo_t si;
	__u64 seq;
	int i;

	ASSERT_EQ(0, mp_sig_hold(SIGIO));
	ASSERT_EQ(0, mp_sig_hold(sig));
	ASSERT_EQ(0, mp_set_qsize(self->fd, 4));

	/* plain SIGIO for the refused event */
	async_on(_metadata, self->fd, 0);
	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(4, mp_trigger(self->fd, 4));
	ASSERT_EQ(1, mp_sig_wait(SIGIO, &si, MP_WAIT_MS));
	ASSERT_EQ(0, mp_sig_hold(SIGIO));
	ASSERT_EQ(0, mp_trigger(self->fd, 1));
	ASSERT_EQ(1, mp_sig_wait(SIGIO, &si, MP_WAIT_MS)) {
		TH_LOG("no SIGIO for a refused event");
	}
	ASSERT_EQ(5, read_now(_metadata, self->fd, ev, 8));
	check_loss(_metadata, &ev[4], 1, seq + 4);

	/* F_SETSIG: POLL_IN for queued events, POLL_PRI for a refused one */
	async_on(_metadata, self->fd, sig);
	seq += 4;
	fill_and_overflow(_metadata, sig, self->fd, 0);
	ASSERT_EQ(5, read_now(_metadata, self->fd, ev, 8));
	for (i = 0; i < 4; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_MANUAL, seq + i);
	check_loss(_metadata, &ev[4], 1, seq + 4);

	/* drop-oldest: POLL_PRI for the event that overwrote the oldest */
	ASSERT_EQ(0, mp_set_policy(self->fd, EVCORE_POLICY_DROP_OLDEST));
	seq += 4;
	fill_and_overflow(_metadata, sig, self->fd, 1);
	ASSERT_EQ(5, read_now(_metadata, self->fd, ev, 8));
	check_loss(_metadata, &ev[0], 1, seq + 1);
	for (i = 0; i < 4; i++)
		check_event(_metadata, &ev[i + 1], MYPOLL_SOURCE_MANUAL,
			    seq + 1 + i);
	async_off(_metadata, self->fd);
}

TEST_F(mypoll, sysfs_matches_stats)
{
	struct mypoll_event ev[8];
	struct mypoll_stats st;
	int other;

	other = mp_open(O_RDONLY);
	ASSERT_LE(0, other);
	expect_sysfs_stats(_metadata, self->fd);
	expect_sysfs_str(_metadata, "timer_running", "0");

	/* make every counter move: refused, overwritten, would-block */
	close(other);
	ASSERT_EQ(0, mp_set_qsize(self->fd, 4));
	ASSERT_EQ(4, mp_trigger(self->fd, 6));
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 1));
	ASSERT_EQ(0, mp_set_policy(self->fd, EVCORE_POLICY_DROP_OLDEST));
	ASSERT_EQ(2, mp_trigger(self->fd, 2));
	ASSERT_EQ(0, mp_set_policy(self->fd, EVCORE_POLICY_BLOCK));
	ASSERT_EQ(-1, mp_write_nb(self->fd, "w", 1));
	ASSERT_EQ(EAGAIN, errno);
	ASSERT_EQ(2, read_now(_metadata, self->fd, ev, 2));
	ASSERT_EQ(1, write(self->fd, "w", 1));

	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(2U, st.dropped_full);
	ASSERT_EQ(1U, st.overwritten);
	ASSERT_EQ(1U, st.would_block);
	ASSERT_LT(0U, st.read);
	ASSERT_EQ(1U, st.write);
	expect_stats_consistent(_metadata, &st);
	expect_sysfs_stats(_metadata, self->fd);
}

TEST_F(mypoll, sysfs_controls_roundtrip)
{
	struct mypoll_timer t;
	__u32 val;
	int p;

	ASSERT_EQ(0, mp_sysfs_write("queue_size", "128"));
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_GET_QUEUE_SIZE, &val));
	ASSERT_EQ(128U, val);
	expect_sysfs_u64(_metadata, "queue_size", 128);

	for (p = 2; p >= 0; p--) {
		ASSERT_EQ(0, mp_sysfs_write("overflow_policy",
					    policy_names[p]));
		ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_GET_POLICY, &val));
		ASSERT_EQ((__u32)p, val);
		expect_sysfs_str(_metadata, "overflow_policy", policy_names[p]);
	}

	/* timer configured and started through sysfs */
	ASSERT_EQ(0, mp_sysfs_write("timer_mode", "hrtimer"));
	expect_sysfs_str(_metadata, "timer_mode", "hrtimer");
	ASSERT_EQ(0, mp_sysfs_write("timer_period_us", "250000"));
	expect_sysfs_u64(_metadata, "timer_period_us", 250000);
	expect_sysfs_u64(_metadata, "timer_period", 250);
	ASSERT_EQ(0, mp_sysfs_write("timer_running", "1"));
	expect_sysfs_str(_metadata, "timer_running", "1");
	memset(&t, 0xa5, sizeof(t));
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_GET, &t));
	ASSERT_EQ((__u32)MYPOLL_TIMER_HRTIMER, t.mode);
	ASSERT_EQ(1U, t.running);
	ASSERT_EQ(250000U, t.period_us);
	ASSERT_EQ(0, mp_sysfs_write("timer_running", "0"));
	expect_sysfs_str(_metadata, "timer_running", "0");
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_GET, &t));
	ASSERT_EQ(0U, t.running);

	ASSERT_EQ(0, mp_sysfs_write("timer_period", "300"));
	expect_sysfs_u64(_metadata, "timer_period", 300);
	expect_sysfs_u64(_metadata, "timer_period_us", 300000);
	ASSERT_EQ(0, mp_sysfs_write("timer_mode", "work"));
	expect_sysfs_str(_metadata, "timer_mode", "work");
	ASSERT_EQ(0, mp_sysfs_write("timer_running", "1"));
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_GET, &t));
	ASSERT_EQ((__u32)MYPOLL_TIMER_WORK, t.mode);
	ASSERT_EQ(1U, t.running);
	ASSERT_EQ(300000U, t.period_us);
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_STOP));
	expect_sysfs_str(_metadata, "timer_running", "0");

	/* the ioctl's settings show in sysfs */
	ASSERT_EQ(0, mp_timer_start(self->fd, MYPOLL_TIMER_WORK, 2000000));
	expect_sysfs_str(_metadata, "timer_running", "1");
	expect_sysfs_str(_metadata, "timer_mode", "work");
	expect_sysfs_u64(_metadata, "timer_period_us", 2000000);
	expect_sysfs_u64(_metadata, "timer_period", 2000);
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_STOP));
	ASSERT_LE(0, mp_drain(self->fd));
}

TEST_F(mypoll, sysfs_invalid_writes)
{
	static const struct {
		const char *file, *val;
		int err;
	} bad[] = {
		{ "overflow_policy", "banana", EINVAL },
		{ "overflow_policy", "\n", EINVAL },
		{ "queue_size", "0", EINVAL },
		{ "queue_size", "65537", EINVAL },
		{ "queue_size", "banana", EINVAL },
		{ "queue_size", "-1", EINVAL },
		{ "queue_size", "2", EBUSY },	/* 3 events are held */
		{ "timer_mode", "banana", EINVAL },
		{ "timer_running", "banana", EINVAL },
		{ "timer_period_us", "0", EINVAL },
		{ "timer_period_us", "1500", EINVAL },	/* work mode */
		{ "timer_period_us", "banana", EINVAL },
		{ "timer_period_us", "3600001000", EINVAL },
		{ "timer_period_us", "4294968296", EINVAL },	/* 2^32 + 1000 */
		{ "timer_period", "0", EINVAL },
		{ "timer_period", "banana", EINVAL },
		{ "timer_period", "3600001", EINVAL },
		{ "trigger", "0", EINVAL },
		{ "trigger", "banana", EINVAL },
		/* 2^64: too big for any number, before any range check. */
		{ "queue_size", "18446744073709551616", ERANGE },
		{ "timer_period_us", "18446744073709551616", ERANGE },
		{ "trigger", "18446744073709551616", ERANGE },
	};
	static const char *const files[] = {
		"overflow_policy", "queue_size", "timer_mode",
		"timer_running", "timer_period_us", "timer_period",
	};
	char before[6][64], after[64];
	struct mypoll_stats st0, st1;
	size_t i, j;

	ASSERT_EQ(0, mp_sysfs_write("timer_mode", "work"));
	ASSERT_EQ(0, mp_sysfs_write("timer_period_us", "20000"));
	ASSERT_EQ(3, mp_trigger(self->fd, 3));
	for (j = 0; j < 6; j++)
		ASSERT_EQ(0, mp_sysfs_read(files[j], before[j], 64));
	mp_get_stats(_metadata, self->fd, &st0);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		ASSERT_EQ(-bad[i].err, mp_sysfs_write(bad[i].file, bad[i].val)) {
			TH_LOG("writing \"%s\" to %s", bad[i].val,
			       bad[i].file);
		}
		for (j = 0; j < 6; j++) {
			ASSERT_EQ(0, mp_sysfs_read(files[j], after, 64));
			ASSERT_STREQ(before[j], after) {
				TH_LOG("%s changed by \"%s\" to %s", files[j],
				       bad[i].val, bad[i].file);
			}
		}
	}
	mp_get_stats(_metadata, self->fd, &st1);
	ASSERT_EQ(0, memcmp(&st0, &st1, sizeof(st0)));
}

TEST_F(mypoll, sysfs_trigger_and_reset)
{
	struct mypoll_event ev[8];
	struct mypoll_stats st;
	__u64 seq;
	int i;

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(0, mp_sysfs_write("trigger", "3"));
	ASSERT_EQ(3, read_now(_metadata, self->fd, ev, 8));
	for (i = 0; i < 3; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_MANUAL, seq + i);
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(3U, st.manual);
	expect_sysfs_u64(_metadata, "statistics/manual", 3);

	ASSERT_EQ(0, mp_sysfs_write("statistics/reset", "1"));
	mp_get_stats(_metadata, self->fd, &st);
	expect_counters_zero(_metadata, &st);
	ASSERT_EQ(seq + 3, st.event_sequence);
	expect_sysfs_stats(_metadata, self->fd);
}

#define MP_TRACEFS	"/sys/kernel/tracing"
#define MP_TRACE_INST	MP_TRACEFS "/instances/mypoll_test"

/*
 * The tracepoints record the queue's name (a string of its own length, not
 * a fixed array) with every push, drop and read. A tracing instance of its
 * own keeps the global buffer out of it.
 */
TEST_F(mypoll, tracepoints_name_the_queue)
{
	static const char *const want[] = {
		"evcore_push_begin: queue=mypoll source=2",
		"evcore_push: queue=mypoll seq=",
		"evcore_drop: queue=mypoll refused seq=0 source=2",
		"evcore_read: queue=mypoll position=",
	};
	static char buf[1 << 16];
	struct mypoll_event ev[4];
	size_t i;
	int ret;

	if (access(MP_TRACEFS, F_OK))
		SKIP(return, "no tracing in this kernel");
	if (access(MP_TRACEFS "/instances", F_OK)) {
		ret = mount("tracefs", MP_TRACEFS, "tracefs", 0, NULL);
		ASSERT_TRUE(!ret || errno == EBUSY) {
			TH_LOG("mount tracefs: %s", strerror(errno));
		}
	}
	rmdir(MP_TRACE_INST);
	ASSERT_EQ(0, mkdir(MP_TRACE_INST, 0755)) {
		TH_LOG("mkdir %s: %s", MP_TRACE_INST, strerror(errno));
	}
	ASSERT_EQ(0, mp_write_file(MP_TRACE_INST "/events/evcore/enable", "1"));
	ASSERT_EQ(0, mp_set_qsize(self->fd, 2));
	ASSERT_EQ(2, mp_trigger(self->fd, 3));
	ASSERT_LT(0, read_now(_metadata, self->fd, ev, 4));
	ASSERT_EQ(0, mp_write_file(MP_TRACE_INST "/events/evcore/enable", "0"));
	ret = mp_read_file(MP_TRACE_INST "/trace", buf, sizeof(buf));
	rmdir(MP_TRACE_INST);
	ASSERT_EQ(0, ret);
	for (i = 0; i < ARRAY_SIZE(want); i++)
		EXPECT_NE(NULL, strstr(buf, want[i])) {
			TH_LOG("no \"%s\" in the trace:\n%.2000s", want[i], buf);
		}
}

TEST_F(mypoll, debugfs_status)
{
	static const char *const keys[] = {
		"event_sequence", "generated", "dropped", "manual_triggered",
		"timer_triggered", "queue_depth", "timer_running",
	};
	struct mypoll_stats st;
	__u64 vals[7], want[7];
	char buf[4096];
	size_t i;
	int ret, run;

	if (access(MP_STATUS, R_OK)) {
		ret = mount("debugfs", MP_DEBUGFS, "debugfs", 0, NULL);
		ASSERT_TRUE(!ret || errno == EBUSY) {
			TH_LOG("mount debugfs: %s", strerror(errno));
		}
	}
	ASSERT_EQ(0, mp_set_qsize(self->fd, 4));
	ASSERT_EQ(4, mp_trigger(self->fd, 6));

	for (run = 0; run < 2; run++) {
		if (run)
			ASSERT_EQ(0, mp_timer_start(self->fd, MYPOLL_TIMER_WORK,
						    3600000000ULL));
		ASSERT_EQ(0, mp_read_file(MP_STATUS, buf, sizeof(buf))) {
			TH_LOG("cannot read %s", MP_STATUS);
		}
		mp_get_stats(_metadata, self->fd, &st);
		want[0] = st.event_sequence;
		want[1] = st.generated;
		want[2] = st.dropped;
		want[3] = st.manual;
		want[4] = st.timer;
		want[5] = st.queue_depth;
		want[6] = run;
		ASSERT_EQ(2U, st.dropped);
		for (i = 0; i < 7; i++) {
			ASSERT_EQ(0, status_u64(buf, keys[i], &vals[i])) {
				TH_LOG("no %s= in %s:\n%s", keys[i], MP_STATUS,
				       buf);
			}
			ASSERT_EQ(want[i], vals[i]) {
				TH_LOG("%s= in %s", keys[i], MP_STATUS);
			}
		}
	}
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_STOP));
}

/*
 * The original tutorial end to end: a manual trigger and timer events seen
 * through epoll, the timer stopped, an overflow counted and reported, and
 * the statistics reset.
 */
TEST_F_TIMEOUT(mypoll, tutorial_scenario, 60)
{
	struct mypoll_event ev[16];
	struct mypoll_stats st;
	struct epoll_event out;
	int ep, got, i;
	__u64 seq;

	ep = epoll_on(_metadata, self->fd, EPOLLIN);

	/* manual trigger */
	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	expect_epollin(_metadata, ep, MP_WAIT_MS);
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 16));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_MANUAL, seq);
	seq++;

	/* timer events */
	ASSERT_EQ(0, mp_timer_start(self->fd, MYPOLL_TIMER_WORK, 10000));
	for (got = 0; got < 3;) {
		expect_epollin(_metadata, ep, MP_WAIT_MS);
		got += read_now(_metadata, self->fd, ev + got, 16 - got);
	}
	for (i = 0; i < got; i++) {
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_TIMER, seq + i);
		if (i)
			ASSERT_LT(ev[i - 1].hdr.timestamp_ns,
				  ev[i].hdr.timestamp_ns);
	}

	/* timer stop: nothing more arrives */
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_STOP));
	ASSERT_LE(0, mp_drain(self->fd));
	ASSERT_EQ(0, epoll_wait(ep, &out, 1, 100));

	/* overflow: 12 triggers into 8 slots */
	ASSERT_EQ(0, mp_set_qsize(self->fd, 8));
	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(8, mp_trigger(self->fd, 12));
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(4U, st.dropped);
	ASSERT_EQ(4U, st.dropped_full);
	ASSERT_EQ(8U, st.queue_depth);
	ASSERT_EQ(8U, st.high_water);
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, MP_WAIT_MS));
	read_to_gap(_metadata, self->fd, 8, seq, 4);
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	expect_after_loss(_metadata, self->fd, seq + 8, MYPOLL_SOURCE_MANUAL,
			  ev);

	/* reset */
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_RESET_STATS));
	mp_get_stats(_metadata, self->fd, &st);
	expect_counters_zero(_metadata, &st);
	ASSERT_EQ(seq + 9, st.event_sequence);
	close(ep);
}

/* Overflow arithmetic, once per policy. */
FIXTURE(overflow) {
	int fd;
};

FIXTURE_VARIANT(overflow) {
	__u32 policy;
};

FIXTURE_VARIANT_ADD(overflow, drop_newest) {
	.policy = EVCORE_POLICY_DROP_NEWEST,
};

FIXTURE_VARIANT_ADD(overflow, drop_oldest) {
	.policy = EVCORE_POLICY_DROP_OLDEST,
};

FIXTURE_VARIANT_ADD(overflow, block) {
	.policy = EVCORE_POLICY_BLOCK,
};

FIXTURE_SETUP(overflow)
{
	self->fd = open_reset(_metadata);
	ASSERT_EQ(0, mp_set_policy(self->fd, variant->policy));
}

FIXTURE_TEARDOWN(overflow)
{
	close_restore(_metadata, self->fd);
}

#define OVF_Q	8U
#define OVF_K	5U

/*
 * Trigger queue_size + K with a reader that does not read: the statistics
 * and the in-band loss record must be exact.
 */
TEST_F(overflow, accounting)
{
	const bool oldest = variant->policy == EVCORE_POLICY_DROP_OLDEST;
	struct mypoll_event ev[OVF_Q + OVF_K + 2];
	struct mypoll_reader_info ri;
	struct mypoll_stats st;
	__u64 seq, m0, val;
	unsigned int i, n;
	short rev;

	ASSERT_EQ(0, mp_set_qsize(self->fd, OVF_Q));
	/* learn the manual source's sequence number */
	ASSERT_EQ(1, mp_trigger(self->fd, 1));
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 1));
	m0 = ev[0].hdr.source_seq;
	seq = ev[0].hdr.seq + 1;
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_RESET_STATS));

	ASSERT_EQ((int)(oldest ? OVF_Q + OVF_K : OVF_Q),
		  mp_trigger(self->fd, OVF_Q + OVF_K));
	mp_get_stats(_metadata, self->fd, &st);
	EXPECT_EQ(OVF_Q + OVF_K, st.generated);
	EXPECT_EQ(OVF_Q + OVF_K, st.manual);
	EXPECT_EQ(oldest ? OVF_Q + OVF_K : OVF_Q, st.queued);
	EXPECT_EQ(OVF_K, st.dropped);
	EXPECT_EQ(oldest ? 0U : OVF_K, st.dropped_full);
	EXPECT_EQ(oldest ? OVF_K : 0U, st.overwritten);
	EXPECT_EQ(0U, st.would_block);
	EXPECT_EQ(OVF_Q, st.queue_depth);
	EXPECT_EQ(OVF_Q, st.high_water);
	EXPECT_EQ(seq + (oldest ? OVF_Q + OVF_K : OVF_Q), st.event_sequence);
	expect_stats_consistent(_metadata, &st);

	rev = mp_poll_now(self->fd, POLLIN | POLLPRI);
	ASSERT_TRUE(rev & POLLIN);
	if (oldest) {
		n = read_now(_metadata, self->fd, ev, OVF_Q + OVF_K + 2);
		/* the loss record comes first, at the gap */
		ASSERT_EQ(POLLPRI, rev & POLLPRI) {
			TH_LOG("no EPOLLPRI with a loss record pending");
		}
		ASSERT_EQ(OVF_Q + 1, n);
		check_loss(_metadata, &ev[0], OVF_K, seq + OVF_K);
		for (i = 0; i < OVF_Q; i++) {
			check_event(_metadata, &ev[i + 1], MYPOLL_SOURCE_MANUAL,
				    seq + OVF_K + i);
			ASSERT_EQ(m0 + 1 + OVF_K + i, ev[i + 1].hdr.source_seq);
		}
		expect_eagain(_metadata, self->fd);
		mp_get_reader(_metadata, self->fd, &ri);
		ASSERT_EQ(seq + OVF_Q + OVF_K, ri.position);
	} else {
		/* the first Q survive, contiguous; nothing before them */
		ASSERT_EQ(0, rev & POLLPRI) {
			TH_LOG("EPOLLPRI before the reader reached the gap");
		}
		n = read_now(_metadata, self->fd, ev, OVF_Q + OVF_K + 2);
		/* and the same read reaches the gap: the loss record ends it */
		ASSERT_EQ(OVF_Q + 1, n) {
			TH_LOG("%u records read, want %u events and the loss",
			       n, OVF_Q);
		}
		for (i = 0; i < OVF_Q; i++) {
			check_event(_metadata, &ev[i], MYPOLL_SOURCE_MANUAL,
				    seq + i);
			ASSERT_EQ(m0 + 1 + i, ev[i].hdr.source_seq);
		}
		check_loss(_metadata, &ev[OVF_Q], OVF_K, seq + OVF_Q);
		rev = mp_poll_now(self->fd, POLLIN | POLLPRI);
		ASSERT_EQ(0, rev & (POLLIN | POLLPRI));
		expect_eagain(_metadata, self->fd);
		/* the next event follows with the loss record's seq */
		ASSERT_EQ(1, mp_trigger(self->fd, 1));
		expect_after_loss(_metadata, self->fd, seq + OVF_Q,
				  MYPOLL_SOURCE_MANUAL, ev);
		ASSERT_EQ(m0 + OVF_Q + OVF_K + 1, ev[0].hdr.source_seq);
		expect_eagain(_metadata, self->fd);
		mp_get_reader(_metadata, self->fd, &ri);
		ASSERT_EQ(seq + OVF_Q + 1, ri.position);
	}
	rev = mp_poll_now(self->fd, POLLIN | POLLPRI);
	ASSERT_EQ(0, rev & (POLLIN | POLLPRI));
	ASSERT_EQ(OVF_K, ri.lost);
	ASSERT_EQ(0U, ri.lag);
	fdinfo_u64(_metadata, self->fd, "lost", &val);
	ASSERT_EQ(OVF_K, val);
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(OVF_K, st.dropped);
	expect_sysfs_stats(_metadata, self->fd);
}

/* write() into a full queue: ENOSPC, overwrite, or EAGAIN. */
TEST_F(overflow, write_when_full)
{
	struct mypoll_event ev[8];
	struct mypoll_stats st;
	__u64 seq, w0;
	short rev;
	int i;

	ASSERT_EQ(0, mp_set_qsize(self->fd, 4));
	/* learn the write source's sequence number */
	ASSERT_EQ(1, write(self->fd, "a", 1));
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 1));
	w0 = ev[0].hdr.source_seq;
	seq = ev[0].hdr.seq + 1;
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_RESET_STATS));

	ASSERT_EQ(4, mp_trigger(self->fd, 4));
	rev = mp_poll_now(self->fd, POLLOUT);
	/* room to write, except under block */
	ASSERT_EQ(variant->policy == EVCORE_POLICY_BLOCK ? 0 : POLLOUT,
		  rev & POLLOUT);

	switch (variant->policy) {
	case EVCORE_POLICY_DROP_NEWEST:
		ASSERT_EQ(-1, mp_write_nb(self->fd, "x", 1));
		ASSERT_EQ(ENOSPC, errno);
		/* blocking writes do not block under drop-newest */
		ASSERT_EQ(-1, write(self->fd, "x", 1));
		ASSERT_EQ(ENOSPC, errno);
		mp_get_stats(_metadata, self->fd, &st);
		ASSERT_EQ(2U, st.dropped_full);
		ASSERT_EQ(2U, st.write);
		ASSERT_EQ(6U, st.generated);
		ASSERT_EQ(seq + 4, st.event_sequence);
		ASSERT_EQ(4, read_now(_metadata, self->fd, ev, 4));
		expect_loss_now(_metadata, self->fd, 2, seq + 4);
		ASSERT_EQ(1, write(self->fd, "y", 1));
		expect_after_loss(_metadata, self->fd, seq + 4,
				  MYPOLL_SOURCE_WRITE, ev);
		ASSERT_EQ(w0 + 3, ev[0].hdr.source_seq);
		break;
	case EVCORE_POLICY_DROP_OLDEST:
		ASSERT_EQ(1, mp_write_nb(self->fd, "x", 1));
		ASSERT_EQ(1, write(self->fd, "y", 1));
		mp_get_stats(_metadata, self->fd, &st);
		ASSERT_EQ(2U, st.overwritten);
		ASSERT_EQ(2U, st.write);
		ASSERT_EQ(seq + 6, st.event_sequence);
		ASSERT_EQ(5, read_now(_metadata, self->fd, ev, 8));
		check_loss(_metadata, &ev[0], 2, seq + 2);
		for (i = 0; i < 2; i++)
			check_event(_metadata, &ev[1 + i],
				    MYPOLL_SOURCE_MANUAL, seq + 2 + i);
		check_event(_metadata, &ev[3], MYPOLL_SOURCE_WRITE, seq + 4);
		check_event(_metadata, &ev[4], MYPOLL_SOURCE_WRITE, seq + 5);
		ASSERT_EQ(w0 + 1, ev[3].hdr.source_seq);
		ASSERT_EQ(0, memcmp(ev[4].payload, "y", 1));
		break;
	case EVCORE_POLICY_BLOCK:
		ASSERT_EQ(-1, mp_write_nb(self->fd, "x", 1));
		ASSERT_EQ(EAGAIN, errno);
		mp_get_stats(_metadata, self->fd, &st);
		ASSERT_EQ(1U, st.would_block);
		ASSERT_EQ(0U, st.dropped);
		ASSERT_EQ(4U, st.generated);
		ASSERT_EQ(seq + 4, st.event_sequence);
		ASSERT_EQ(4, read_now(_metadata, self->fd, ev, 8));
		rev = mp_poll_now(self->fd, POLLOUT);
		ASSERT_EQ(POLLOUT, rev & POLLOUT);
		ASSERT_EQ(1, write(self->fd, "y", 1));
		ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 8));
		check_event(_metadata, &ev[0], MYPOLL_SOURCE_WRITE, seq + 4);
		ASSERT_EQ(w0 + 1, ev[0].hdr.source_seq);
		break;
	}
	mp_get_stats(_metadata, self->fd, &st);
	expect_stats_consistent(_metadata, &st);
}

/* Timer source, once per timer mode. */
FIXTURE(timer) {
	int fd;
};

FIXTURE_VARIANT(timer) {
	__u32 mode;
	/* period of the ordinary tests */
	__u64 period_us;
	/* short period, for missed expirations */
	__u64 short_us;
	/* periods of slack in the expiration count (jiffy rounding) */
	__u64 slack;
};

FIXTURE_VARIANT_ADD(timer, work) {
	.mode = MYPOLL_TIMER_WORK,
	.period_us = 20000,
	.short_us = 1000,
	.slack = 10,
};

FIXTURE_VARIANT_ADD(timer, hrtimer) {
	.mode = MYPOLL_TIMER_HRTIMER,
	.period_us = 20000,
	.short_us = 200,
	.slack = 3,
};

FIXTURE_SETUP(timer)
{
	self->fd = open_reset(_metadata);
}

FIXTURE_TEARDOWN(timer)
{
	close_restore(_metadata, self->fd);
}

#define TIMER_N	8

TEST_F_TIMEOUT(timer, events, 60)
{
	const __u64 p = variant->period_us * NS_PER_US;
	struct mypoll_event ev[TIMER_N + 64];
	struct mypoll_timer t;
	struct mypoll_stats st;
	__u64 t0, t1, e = 0, e0, en = 0, missed = 0, seq;
	int i, n, more;

	seq = event_sequence(_metadata, self->fd);
	t0 = mp_now_ns();
	ASSERT_EQ(0, mp_timer_start(self->fd, variant->mode,
				    variant->period_us));
	memset(&t, 0xa5, sizeof(t));
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_GET, &t));
	ASSERT_EQ(variant->mode, t.mode);
	ASSERT_EQ(1U, t.running);
	ASSERT_EQ(variant->period_us, t.period_us);
	expect_sysfs_str(_metadata, "timer_running", "1");
	expect_sysfs_str(_metadata, "timer_mode", mode_names[variant->mode]);
	expect_sysfs_u64(_metadata, "timer_period_us", variant->period_us);

	n = mp_collect(self->fd, ev, TIMER_N, TIMER_N * MP_WAIT_MS);
	t1 = mp_now_ns();
	ASSERT_EQ(TIMER_N, n);
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_STOP));
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_GET, &t));
	ASSERT_EQ(0U, t.running);
	more = read_now(_metadata, self->fd, ev + n, 64);
	ASSERT_GT(64, more);

	e0 = 1 + ev[0].hdr.aux;
	for (i = 0; i < n + more; i++) {
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_TIMER, seq + i);
		ASSERT_EQ(ev[0].hdr.source_seq + i, ev[i].hdr.source_seq);
		missed += ev[i].hdr.aux;
		e += 1 + ev[i].hdr.aux;
		if (i == n - 1)
			en = e;
		ASSERT_LE(t0, ev[i].hdr.timestamp_ns);
		if (i < n)
			ASSERT_GE(t1, ev[i].hdr.timestamp_ns);
		if (!i)
			continue;
		/* about a period apart (aux periods more when some were missed) */
		ASSERT_LT(ev[i - 1].hdr.timestamp_ns, ev[i].hdr.timestamp_ns);
		ASSERT_GE((1 + ev[i].hdr.aux) * p + SLOW_NS,
			  ev[i].hdr.timestamp_ns - ev[i - 1].hdr.timestamp_ns);
	}
	/* n events spanning e - e0 periods take at least e - e0 - 2 of them */
	ASSERT_LE((en - e0 - 2) * p,
		  ev[n - 1].hdr.timestamp_ns - ev[0].hdr.timestamp_ns) {
		TH_LOG("%d events, %llu expirations in %llu ns", n,
		       (unsigned long long)en,
		       (unsigned long long)(ev[n - 1].hdr.timestamp_ns -
					    ev[0].hdr.timestamp_ns));
	}

	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ((__u64)(n + more), st.timer);
	ASSERT_EQ(missed, st.timer_missed);
	ASSERT_EQ((__u64)(n + more), st.generated);
	ASSERT_EQ(0U, st.dropped);
	expect_sysfs_stats(_metadata, self->fd);
}

TEST_F_TIMEOUT(timer, stop, 60)
{
	struct mypoll_event ev[2];
	struct mypoll_stats st0, st1;
	struct mypoll_timer t;
	struct pollfd pfd = { .fd = self->fd, .events = POLLIN };
	int wait_ms = 5 * variant->period_us / 1000;

	ASSERT_EQ(0, mp_timer_start(self->fd, variant->mode,
				    variant->period_us));
	ASSERT_EQ(2, mp_collect(self->fd, ev, 2, 2 * MP_WAIT_MS));
	check_event(_metadata, &ev[1], MYPOLL_SOURCE_TIMER, ev[0].hdr.seq + 1);
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_STOP));
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_GET, &t));
	ASSERT_EQ(0U, t.running);
	expect_sysfs_str(_metadata, "timer_running", "0");
	ASSERT_LE(0, mp_drain(self->fd));
	mp_get_stats(_metadata, self->fd, &st0);

	/* five periods without an event */
	ASSERT_EQ(0, poll(&pfd, 1, wait_ms)) {
		TH_LOG("event after the timer stopped");
	}
	mp_get_stats(_metadata, self->fd, &st1);
	ASSERT_EQ(st0.timer, st1.timer);
	ASSERT_EQ(st0.event_sequence, st1.event_sequence);

	/* stopping a stopped timer is harmless */
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_STOP));
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_GET, &t));
	ASSERT_EQ(0U, t.running);
}

/*
 * A short period: every expiration is either an event or counted in the
 * next event's aux, so events + sum(aux) = expirations, and the statistics
 * agree with what was read.
 */
TEST_F_TIMEOUT(timer, missed_expirations, 60)
{
	const __u64 p = variant->short_us * NS_PER_US;
	static struct mypoll_event ev[512];
	__u64 t0, t1, last_ts = 0, seq, sseq = 0, n = 0, missed = 0, e;
	struct mypoll_stats st;
	bool stopped = false;
	int i, got;

	ASSERT_EQ(0, mp_set_qsize(self->fd, 16384));
	seq = event_sequence(_metadata, self->fd);
	t0 = mp_now_ns();
	ASSERT_EQ(0, mp_timer_start(self->fd, variant->mode,
				    variant->short_us));
	t1 = mp_now_ns();

	for (;;) {
		if (!stopped && mp_now_ns() - t1 >= 500 * NS_PER_MS) {
			ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_STOP));
			stopped = true;
		}
		if (!stopped)
			ASSERT_EQ(1, mp_wait_fd(self->fd, MP_WAIT_MS));
		got = read_now(_metadata, self->fd, ev, 512);
		if (stopped && !got)
			break;
		for (i = 0; i < got; i++) {
			check_event(_metadata, &ev[i], MYPOLL_SOURCE_TIMER,
				    seq + n);
			if (n)
				ASSERT_EQ(sseq + 1, ev[i].hdr.source_seq);
			sseq = ev[i].hdr.source_seq;
			missed += ev[i].hdr.aux;
			last_ts = ev[i].hdr.timestamp_ns;
			n++;
		}
	}
	ASSERT_LT(0U, n);
	e = n + missed;
	TH_LOG("%llu events, %llu missed, %llu expirations in %llu us",
	       (unsigned long long)n, (unsigned long long)missed,
	       (unsigned long long)e,
	       (unsigned long long)((last_ts - t0) / NS_PER_US));

	/*
	 * Never more expirations than periods of period_us elapsed, nor many
	 * fewer: every period is either an event or counted in an aux.
	 */
	ASSERT_GE((last_ts - t0) / p + 1 + variant->slack, e) {
		TH_LOG("more expirations than %llu us periods elapsed",
		       (unsigned long long)variant->short_us);
	}
	ASSERT_LE((last_ts - t1) / p, e + 1 + variant->slack) {
		TH_LOG("%llu us periods neither delivered nor counted in aux",
		       (unsigned long long)variant->short_us);
	}

	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(0U, st.dropped);
	ASSERT_EQ(n, st.timer);
	ASSERT_EQ(missed, st.timer_missed);
	expect_sysfs_u64(_metadata, "statistics/timer_missed", missed);
}

/*
 * Wait until the timer has missed a period since @missed0, at most
 * @timeout_ms; fills @st. No event tells that a period was missed (its
 * event was refused, or never made), so this polls the statistics.
 */
static int wait_timer_missed(struct __test_metadata *_metadata, int fd,
			     __u64 missed0, struct mypoll_stats *st,
			     int timeout_ms)
{
	__u64 deadline = mp_now_ns() + (__u64)timeout_ms * NS_PER_MS;
	const struct timespec step = { .tv_nsec = NS_PER_MS };

	for (;;) {
		mp_get_stats(_metadata, fd, st);
		if (st->timer_missed > missed0)
			return 0;
		if (mp_now_ns() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&step, NULL);
	}
}

/*
 * Missed periods that no event reported when the timer stopped (every
 * timer event refused, the queue full) are not reported after a restart:
 * the events after it report in their aux exactly the periods missed
 * since, as timer_missed counts them.
 */
TEST_F_TIMEOUT(timer, restart_forgets_missed, 60)
{
	struct mypoll_event ev[64];
	struct mypoll_stats st0, st1;
	__u64 seq, aux = 0;
	int i, n;

	ASSERT_EQ((int)MP_DEFAULT_QSIZE, mp_trigger(self->fd,
						    MP_DEFAULT_QSIZE));
	ASSERT_EQ(0, mp_timer_start(self->fd, variant->mode,
				    variant->short_us));
	ASSERT_EQ(0, wait_timer_missed(_metadata, self->fd, 0, &st0,
				       10 * MP_WAIT_MS)) {
		TH_LOG("no %llu us period missed in %d ms",
		       (unsigned long long)variant->short_us, 10 * MP_WAIT_MS);
	}
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_STOP));
	mp_get_stats(_metadata, self->fd, &st0);
	/* Every timer event was refused: all its missed periods are owed. */
	ASSERT_EQ(st0.timer, st0.dropped);
	ASSERT_LT(0U, st0.timer_missed);
	ASSERT_EQ(MP_DEFAULT_QSIZE + 1, mp_drain(self->fd));

	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(0, mp_timer_start(self->fd, variant->mode,
				    variant->period_us));
	ASSERT_EQ(1, mp_collect(self->fd, ev, 1, 2 * MP_WAIT_MS));
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_STOP));
	n = 1 + read_now(_metadata, self->fd, ev + 1, 63);
	ASSERT_GT(64, n);
	for (i = 0; i < n; i++) {
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_TIMER, seq + i);
		aux += ev[i].hdr.aux;
	}
	mp_get_stats(_metadata, self->fd, &st1);
	ASSERT_EQ(st0.dropped, st1.dropped);
	ASSERT_EQ(st0.timer + n, st1.timer);
	ASSERT_EQ(st1.timer_missed - st0.timer_missed, aux) {
		TH_LOG("first event after the restart: aux %u; %llu periods were owed at the stop",
		       ev[0].hdr.aux, (unsigned long long)st0.timer_missed);
	}
}

TEST_F_TIMEOUT(timer, blocking_read_woken, 60)
{
	struct mypoll_event ev;
	struct mp_worker w;
	__u64 seq;

	seq = event_sequence(_metadata, self->fd);
	start_blocked_reader(_metadata, &w, self->fd, &ev);
	ASSERT_EQ(0, mp_timer_start(self->fd, variant->mode,
				    variant->period_us));
	finish_blocked_reader(_metadata, &w);
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_TIMER_STOP));
	check_event(_metadata, &ev, MYPOLL_SOURCE_TIMER, seq);
}

/*
 * Readers that cannot stall the queue, once per policy: a reader that
 * filters out a source holds none of its events, and a resize wakes the
 * readers it makes readable.
 */
FIXTURE(stall) {
	int fd;
};

FIXTURE_VARIANT(stall) {
	__u32 policy;
};

FIXTURE_VARIANT_ADD(stall, drop_newest) {
	.policy = EVCORE_POLICY_DROP_NEWEST,
};

FIXTURE_VARIANT_ADD(stall, drop_oldest) {
	.policy = EVCORE_POLICY_DROP_OLDEST,
};

FIXTURE_VARIANT_ADD(stall, block) {
	.policy = EVCORE_POLICY_BLOCK,
};

FIXTURE_SETUP(stall)
{
	self->fd = open_reset(_metadata);
	ASSERT_EQ(0, mp_set_policy(self->fd, variant->policy));
	ASSERT_EQ(0, mp_set_qsize(self->fd, OVF_Q));
}

FIXTURE_TEARDOWN(stall)
{
	close_restore(_metadata, self->fd);
}

static void set_filter(struct __test_metadata *_metadata, int fd,
		       __u64 filter)
{
	ASSERT_EQ(0, ioctl(fd, MYPOLL_IOC_SET_FILTER, &filter));
}

/* One write() event from @fd, read back as the next record, at @seq. */
static void expect_write_read(struct __test_metadata *_metadata, int fd,
			      __u64 seq)
{
	struct mypoll_event ev[2];
	short rev;

	rev = mp_poll_now(fd, POLLIN | POLLPRI);
	ASSERT_EQ(POLLIN, rev & (POLLIN | POLLPRI)) {
		TH_LOG("revents %#x with one wanted event queued", rev);
	}
	ASSERT_EQ(1, read_now(_metadata, fd, ev, 2));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_WRITE, seq);
	ASSERT_EQ(1, ev[0].hdr.payload_len);
	ASSERT_EQ('w', ev[0].payload[0]);
	expect_eagain(_metadata, fd);
}

/*
 * The only reader wants write() events only. Twice the queue's size of
 * manual events must neither fill the queue nor be lost for anyone: they
 * are skipped, the write() after them is queued, poll() reports it and a
 * read returns it.
 */
TEST_F(stall, filtered_reader_holds_no_other_source)
{
	struct mypoll_reader_info info;
	struct mypoll_stats st;
	__u64 seq;

	set_filter(_metadata, self->fd, 1ULL << MYPOLL_SOURCE_WRITE);
	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ((int)OVF_Q, mp_trigger(self->fd, OVF_Q));
	ASSERT_EQ((int)OVF_Q, mp_trigger(self->fd, OVF_Q));
	ASSERT_EQ(1, mp_write_nb(self->fd, "w", 1)) {
		TH_LOG("write after %u unwanted events: %s", 2 * OVF_Q,
		       strerror(errno));
	}
	expect_write_read(_metadata, self->fd, seq + 2 * OVF_Q);

	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(0U, st.dropped);
	ASSERT_EQ(0U, st.would_block);
	ASSERT_EQ(0U, st.queue_depth);
	ASSERT_EQ(2 * OVF_Q + 1, st.queued);
	mp_get_reader(_metadata, self->fd, &info);
	ASSERT_EQ(0U, info.lost);
	ASSERT_EQ(0U, info.lag);
	ASSERT_EQ(seq + 2 * OVF_Q + 1, info.position);
}

/*
 * The same with the filtered reader asleep in read(): the unwanted events
 * do not wake it with anything, the write() does.
 */
TEST_F_TIMEOUT(stall, filtered_blocking_reader_woken_by_its_event, 60)
{
	struct mypoll_event ev[4];
	struct mp_worker w;
	__u64 seq;

	set_filter(_metadata, self->fd, 1ULL << MYPOLL_SOURCE_WRITE);
	seq = event_sequence(_metadata, self->fd);
	ASSERT_EQ(0, mp_worker_start(&w, self->fd, false, ev, sizeof(ev)));
	ASSERT_EQ(0, mp_wait_sleeping(w.tid, MP_WAIT_MS));
	ASSERT_EQ((int)OVF_Q, mp_trigger(self->fd, OVF_Q));
	ASSERT_EQ((int)OVF_Q, mp_trigger(self->fd, OVF_Q));
	ASSERT_EQ(0, mp_wait_fd(w.done_efd, 0)) {
		TH_LOG("read returned %zd (%s) with only unwanted events",
		       w.ret, strerror(w.err));
	}
	ASSERT_EQ(1, mp_write_nb(self->fd, "w", 1)) {
		TH_LOG("write: %s", strerror(errno));
	}
	ASSERT_EQ(0, mp_worker_wait(&w, MP_WAIT_MS)) {
		TH_LOG("filtered reader not woken by its event");
	}
	ASSERT_EQ(MP_REC, w.ret);
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_WRITE, seq + 2 * OVF_Q);
}

/*
 * A write-only file reads nothing, so it holds nothing: with one open,
 * twice the queue's size of events still reach the reader, none lost.
 */
TEST_F(stall, write_only_file_holds_nothing)
{
	struct mypoll_event ev[2 * OVF_Q];
	struct mypoll_stats st;
	int wr, n = 0, i;
	__u64 seq, filter;

	wr = mp_open(O_WRONLY);
	ASSERT_LE(0, wr);
	seq = event_sequence(_metadata, self->fd);
	for (i = 0; i < 2 * (int)OVF_Q; i++) {
		ASSERT_EQ(1, mp_write_nb(wr, "w", 1)) {
			TH_LOG("write %d: %s", i, strerror(errno));
		}
		n += read_now(_metadata, self->fd, ev + n, 1);
	}
	/* Nor may it ask for events, or read (the VFS says EBADF). */
	filter = MYPOLL_SOURCES_ALL;
	ASSERT_EQ(-1, ioctl(wr, MYPOLL_IOC_SET_FILTER, &filter));
	ASSERT_EQ(EBADF, errno);
	ASSERT_EQ(-1, mp_read_nb(wr, ev, sizeof(ev[0])));
	ASSERT_EQ(EBADF, errno);
	close(wr);
	ASSERT_EQ(2 * (int)OVF_Q, n);
	for (i = 0; i < n; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_WRITE, seq + i);
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(0U, st.dropped);
	ASSERT_EQ(0U, st.queue_depth);

	/*
	 * With only write-only files open the queue keeps what it holds, as
	 * with no file open: the next reader gets every event.
	 */
	close(self->fd);
	self->fd = -1;
	wr = mp_open(O_WRONLY);
	ASSERT_LE(0, wr);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(1, mp_write_nb(wr, "w", 1));
	close(wr);
	self->fd = mp_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_EQ(3, read_now(_metadata, self->fd, ev, 4));
	for (i = 0; i < 3; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_WRITE,
			    seq + 2 * OVF_Q + i);
}

/* Watermark 32, then 10 events: too few to wake a reader. */
static void below_watermark(struct __test_metadata *_metadata, int fd,
			    __u64 *seq)
{
	__u32 wm = 32;

	ASSERT_EQ(0, mp_set_qsize(fd, MP_DEFAULT_QSIZE));
	ASSERT_EQ(0, ioctl(fd, MYPOLL_IOC_SET_WATERMARK, &wm));
	*seq = event_sequence(_metadata, fd);
	ASSERT_EQ(10, mp_trigger(fd, 10));
	ASSERT_EQ(0, mp_poll_now(fd, POLLIN) & POLLIN);
}

/*
 * Shrinking the queue to what it holds brings the watermark within reach
 * (it is capped at the capacity): the reader asleep in read() must wake
 * with the 10 events, and a write() must then go through.
 */
TEST_F_TIMEOUT(stall, resize_wakes_blocked_reader, 60)
{
	struct mypoll_event ev[16];
	struct mp_worker w;
	__u64 seq;
	int i;

	below_watermark(_metadata, self->fd, &seq);
	ASSERT_EQ(0, mp_worker_start(&w, self->fd, false, ev, sizeof(ev)));
	ASSERT_EQ(0, mp_wait_sleeping(w.tid, MP_WAIT_MS));
	ASSERT_EQ(0, mp_set_qsize(self->fd, 10));
	ASSERT_EQ(0, mp_worker_wait(&w, MP_WAIT_MS)) {
		TH_LOG("reader asleep in read() not woken by the resize");
	}
	ASSERT_EQ(10 * MP_REC, w.ret);
	for (i = 0; i < 10; i++)
		check_event(_metadata, &ev[i], MYPOLL_SOURCE_MANUAL, seq + i);
	ASSERT_EQ(1, mp_write_nb(self->fd, "w", 1));
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 2));
	check_event(_metadata, &ev[0], MYPOLL_SOURCE_WRITE, seq + 10);
}

/* The same for an epoll sleeper. */
TEST_F(stall, resize_wakes_epoll)
{
	struct epoll_event out = { 0 };
	struct mypoll_event ev[16];
	__u64 seq;
	int ep;

	below_watermark(_metadata, self->fd, &seq);
	ep = epoll_on(_metadata, self->fd, EPOLLIN | EPOLLET);
	ASSERT_EQ(0, mp_set_qsize(self->fd, 10));
	ASSERT_EQ(1, epoll_wait(ep, &out, 1, MP_WAIT_MS)) {
		TH_LOG("epoll not woken by the resize");
	}
	ASSERT_EQ((__u32)EPOLLIN, out.events & EPOLLIN);
	close(ep);
	ASSERT_EQ(10, read_now(_metadata, self->fd, ev, 16));
	check_event(_metadata, &ev[9], MYPOLL_SOURCE_MANUAL, seq + 9);
}

/*
 * Every control at once, for a bounded time: producers trigger, write,
 * resize, flip the policy and reopen; readers read, poll, change filter and
 * watermark and reopen. A reader never gets an event of a source its filter
 * leaves out, nor events out of order. Afterwards one reader that drains
 * the queue leaves it empty: no reader that came and went still holds a
 * record.
 */
#define MIX_MS		3000
#define MIX_PRODUCERS	2
#define MIX_READERS	3

struct mix_arg {
	int stop;
	unsigned int seed;
	char what[96];
	long ops;
};

static void *mix_producer(void *p)
{
	struct mix_arg *a = p;
	int fd = mp_open(O_RDWR), ret = 0;
	__u32 n;

	while (fd >= 0 && !__atomic_load_n(&a->stop, __ATOMIC_RELAXED)) {
		a->ops++;
		switch (rand_r(&a->seed) % 8) {
		case 5:
			if (mp_set_qsize(fd, 1 + rand_r(&a->seed) % 64) &&
			    errno != EBUSY)
				ret = -errno;
			break;
		case 6:
			ret = mp_set_policy(fd, rand_r(&a->seed) % 3) ? -errno : 0;
			break;
		case 7:
			close(fd);
			fd = mp_open(rand_r(&a->seed) % 2 ? O_WRONLY : O_RDWR);
			break;
		case 4:
			if (mp_write_nb(fd, "w", 1) < 0 && errno != ENOSPC &&
			    errno != EAGAIN)
				ret = -errno;
			break;
		default:
			n = 1 + rand_r(&a->seed) % 16;
			if (mp_trigger(fd, n) < 0)
				ret = -errno;
		}
		if (ret) {
			snprintf(a->what, sizeof(a->what), "control: %s",
				 strerror(-ret));
			break;
		}
	}
	if (fd < 0)
		snprintf(a->what, sizeof(a->what), "open: %s", strerror(errno));
	else
		close(fd);
	return NULL;
}

static void *mix_reader(void *p)
{
	struct mix_arg *a = p;
	struct mypoll_event ev[16];
	__u64 filter = MYPOLL_SOURCES_ALL, last = 0;
	int fd = mp_open(O_RDWR), i, n;
	struct pollfd pfd;
	bool seen = false;
	__u32 wm;

	while (fd >= 0 && !a->what[0] &&
	       !__atomic_load_n(&a->stop, __ATOMIC_RELAXED)) {
		a->ops++;
		switch (rand_r(&a->seed) % 10) {
		case 6:
			filter = rand_r(&a->seed) & MYPOLL_SOURCES_ALL;
			if (ioctl(fd, MYPOLL_IOC_SET_FILTER, &filter))
				snprintf(a->what, sizeof(a->what),
					 "SET_FILTER: %s", strerror(errno));
			break;
		case 7:
			pfd.fd = fd;
			pfd.events = POLLIN;
			poll(&pfd, 1, 1);
			break;
		case 8:
			wm = 1 + rand_r(&a->seed) % 4;
			ioctl(fd, MYPOLL_IOC_SET_WATERMARK, &wm);
			break;
		case 9:
			close(fd);
			fd = mp_open(O_RDWR);
			filter = MYPOLL_SOURCES_ALL;
			seen = false;
			break;
		default:
			n = mp_read_nb(fd, ev, sizeof(ev));
			if (n < 0 && errno != EAGAIN) {
				snprintf(a->what, sizeof(a->what), "read: %s",
					 strerror(errno));
				break;
			}
			for (i = 0; n > 0 && i < n / MP_REC; i++) {
				if (seen && ev[i].hdr.seq < last + 1 &&
				    !(ev[i].hdr.flags & EVCORE_EVENT_LOSS))
					snprintf(a->what, sizeof(a->what),
						 "seq %llu after %llu",
						 (unsigned long long)ev[i].hdr.seq,
						 (unsigned long long)last);
				if (ev[i].hdr.flags & EVCORE_EVENT_LOSS)
					continue;
				if (!(filter & (1ULL << ev[i].hdr.source_id)))
					snprintf(a->what, sizeof(a->what),
						 "source %u with filter %#llx",
						 ev[i].hdr.source_id,
						 (unsigned long long)filter);
				last = ev[i].hdr.seq;
				seen = true;
			}
		}
	}
	if (fd < 0)
		snprintf(a->what, sizeof(a->what), "open: %s", strerror(errno));
	else
		close(fd);
	return NULL;
}

TEST_F_TIMEOUT(stall, concurrent_mix, 120)
{
	struct mix_arg args[MIX_PRODUCERS + MIX_READERS] = { 0 };
	pthread_t th[MIX_PRODUCERS + MIX_READERS];
	struct mypoll_event ev[OVF_Q];
	struct mypoll_stats st;
	struct timespec ts = {
		.tv_sec = MIX_MS / 1000,
		.tv_nsec = (MIX_MS % 1000) * 1000000L,
	};
	unsigned int i;
	long ops = 0;

	/* The fixture's file would hold everything: only the mix reads. */
	close(self->fd);
	self->fd = -1;
	for (i = 0; i < MIX_PRODUCERS + MIX_READERS; i++) {
		args[i].seed = 1 + i;
		ASSERT_EQ(0, pthread_create(&th[i], NULL,
					    i < MIX_PRODUCERS ? mix_producer :
								mix_reader,
					    &args[i]));
	}
	nanosleep(&ts, NULL);
	for (i = 0; i < MIX_PRODUCERS + MIX_READERS; i++)
		__atomic_store_n(&args[i].stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < MIX_PRODUCERS + MIX_READERS; i++) {
		ASSERT_EQ(0, pthread_join(th[i], NULL));
		ops += args[i].ops;
	}
	for (i = 0; i < MIX_PRODUCERS + MIX_READERS; i++)
		EXPECT_EQ(0, args[i].what[0]) {
			TH_LOG("thread %u: %s", i, args[i].what);
		}
	TH_LOG("%ld operations", ops);

	/* One reader draining the queue leaves nothing held. */
	self->fd = mp_open(O_RDWR);
	ASSERT_LE(0, self->fd);
	ASSERT_LE(0, mp_drain(self->fd));
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(1U, st.readers);
	ASSERT_EQ(0U, st.queue_depth) {
		TH_LOG("%u records held after the only reader drained",
		       st.queue_depth);
	}
	/* And the queue works as new. */
	ASSERT_EQ(0, mp_set_policy(self->fd, EVCORE_POLICY_DROP_NEWEST));
	ASSERT_EQ(0, mp_set_qsize(self->fd, OVF_Q));
	ASSERT_EQ((int)OVF_Q, mp_trigger(self->fd, OVF_Q));
	ASSERT_EQ((int)OVF_Q, read_now(_metadata, self->fd, ev, OVF_Q));
	mp_get_stats(_metadata, self->fd, &st);
	ASSERT_EQ(0U, st.queue_depth);
}

/* SIGIO follows every wake-up, with its band. */
static void expect_no_sigio(struct __test_metadata *_metadata)
{
	siginfo_t si;

	ASSERT_EQ(0, mp_sig_wait(SIGRTMIN, &si, 0)) {
		TH_LOG("unexpected signal, si_code %d", si.si_code);
	}
}

TEST_F(mypoll, fasync_every_wake)
{
	struct mypoll_event ev[OVF_Q + 2];
	__u64 filter = MYPOLL_SOURCES_ALL;
	__u32 wm = 2;
	int n;

	ASSERT_EQ(0, mp_sig_hold(SIGRTMIN));
	async_on(_metadata, self->fd, SIGRTMIN);
	expect_no_sigio(_metadata);

	ASSERT_EQ(0, mp_set_qsize(self->fd, 32));
	expect_sig(_metadata, SIGRTMIN, self->fd, POLL_IN);
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_SET_WATERMARK, &wm));
	expect_sig(_metadata, SIGRTMIN, self->fd, POLL_IN);
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_SET_FILTER, &filter));
	expect_sig(_metadata, SIGRTMIN, self->fd, POLL_IN);
	expect_no_sigio(_metadata);

	/* Reading up to a gap: POLL_PRI for the loss record now next. */
	ASSERT_EQ(0, mp_set_qsize(self->fd, OVF_Q));
	ASSERT_EQ((int)OVF_Q, mp_trigger(self->fd, OVF_Q + 2));
	ASSERT_EQ(0, mp_sig_hold(SIGRTMIN));
	n = read_now(_metadata, self->fd, ev, OVF_Q);
	ASSERT_EQ((int)OVF_Q, n);
	expect_sig(_metadata, SIGRTMIN, self->fd, POLL_PRI);
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, OVF_Q));
	ASSERT_EQ((__u32)EVCORE_EVENT_LOSS, ev[0].hdr.flags);

	/* Block policy: room in a full queue is POLL_OUT for producers. */
	ASSERT_EQ(0, mp_set_policy(self->fd, EVCORE_POLICY_BLOCK));
	ASSERT_EQ((int)OVF_Q, mp_trigger(self->fd, OVF_Q));
	ASSERT_EQ(0, mp_sig_hold(SIGRTMIN));
	ASSERT_EQ(1, read_now(_metadata, self->fd, ev, 1));
	expect_sig(_metadata, SIGRTMIN, self->fd, POLL_OUT);
	ASSERT_EQ(0, mp_poll_now(self->fd, POLLOUT) ^ POLLOUT);
	async_off(_metadata, self->fd);
}

TEST_HARNESS_MAIN
