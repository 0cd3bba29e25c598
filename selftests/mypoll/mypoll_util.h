/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the /dev/mypoll selftests: resetting the device to a known
 * state, non-blocking and bounded reads, sysfs/debugfs/fdinfo access and
 * worker threads whose blocking calls the tests can wait for with a bound.
 *
 * Include after kselftest_harness.h: the helpers taking a _metadata
 * argument use its ASSERT_*() macros and must run on the test's main thread.
 */
#ifndef MYPOLL_UTIL_H
#define MYPOLL_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/evcore.h>
#include <linux/mypoll.h>

/*
 * Whether the running test has failed no check yet. The harness keeps
 * that in _metadata->passed up to 6.8 and in _metadata->exit_code since
 * 6.9, which also brought XFAIL_ADD().
 */
#ifdef XFAIL_ADD
#define mp_passed(_metadata)	((_metadata)->exit_code != KSFT_FAIL)
#else
#define mp_passed(_metadata)	((_metadata)->passed)
#endif

#define MP_DEV			"/dev/mypoll"
#define MP_SYSFS		"/sys/class/misc/mypoll/"
#define MP_DEBUGFS		"/sys/kernel/debug"
#define MP_STATUS		MP_DEBUGFS "/mypoll/mypoll/status"
#define MP_REC			((ssize_t)sizeof(struct mypoll_event))
#define MP_DEFAULT_QSIZE	64U
#define MP_MAX_QSIZE		65536U
/* Bound, in ms, of every wait for something that must happen. */
#define MP_WAIT_MS		3000
/* How long, in ms, a call must stay blocked to count as blocked. */
#define MP_BLOCKED_MS		300

static inline __u64 mp_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

static inline int mp_open(int flags)
{
	return open(MP_DEV, flags | O_CLOEXEC);
}

/* Set O_NONBLOCK on @fd. Returns the flags to restore, or -1. */
static inline int mp_nonblock_begin(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0 && !(fl & O_NONBLOCK) &&
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK))
		return -1;
	return fl;
}

/* Restore the flags mp_nonblock_begin() returned, keeping errno. */
static inline void mp_nonblock_end(int fd, int fl)
{
	int err = errno;

	if (!(fl & O_NONBLOCK))
		fcntl(fd, F_SETFL, fl);
	errno = err;
}

/* read() or write() with O_NONBLOCK set for this call only. */
static inline ssize_t mp_io_nb(int fd, void *buf, size_t count, bool is_write)
{
	int fl = mp_nonblock_begin(fd);
	ssize_t ret = -1;

	if (fl >= 0) {
		ret = is_write ? write(fd, buf, count) : read(fd, buf, count);
		mp_nonblock_end(fd, fl);
	}
	return ret;
}

static inline ssize_t mp_read_nb(int fd, void *buf, size_t count)
{
	return mp_io_nb(fd, buf, count, false);
}

static inline ssize_t mp_write_nb(int fd, const void *buf, size_t count)
{
	return mp_io_nb(fd, (void *)buf, count, true);
}

/*
 * Read and discard everything @fd can read now. Returns the number of
 * records discarded, or -errno on an error other than EAGAIN.
 */
static inline long mp_drain(int fd)
{
	struct mypoll_event ev[64];
	long total = 0;
	int i;

	for (i = 0; i < 4096; i++) {
		ssize_t n = mp_read_nb(fd, ev, sizeof(ev));

		if (n < 0)
			return errno == EAGAIN ? total : -errno;
		if (n == 0 || n % MP_REC)
			return -EPROTO;
		total += n / MP_REC;
	}
	return -EOVERFLOW;
}

static inline int mp_trigger(int fd, __u32 n)
{
	return ioctl(fd, MYPOLL_IOC_TRIGGER, &n);
}

static inline int mp_set_policy(int fd, __u32 policy)
{
	return ioctl(fd, MYPOLL_IOC_SET_POLICY, &policy);
}

static inline int mp_set_qsize(int fd, __u32 size)
{
	return ioctl(fd, MYPOLL_IOC_SET_QUEUE_SIZE, &size);
}

static inline int mp_timer_start(int fd, __u32 mode, __u64 period_us)
{
	struct mypoll_timer t = { .mode = mode, .period_us = period_us };

	return ioctl(fd, MYPOLL_IOC_TIMER_START, &t);
}

static inline short mp_poll_now(int fd, short events)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	if (poll(&pfd, 1, 0) < 0)
		return -1;
	return pfd.revents;
}

static inline void mp_get_stats(struct __test_metadata *_metadata, int fd,
				struct mypoll_stats *st)
{
	memset(st, 0xa5, sizeof(*st));
	ASSERT_EQ(0, ioctl(fd, MYPOLL_IOC_GET_STATS, st));
}

static inline void mp_get_reader(struct __test_metadata *_metadata, int fd,
				 struct mypoll_reader_info *ri)
{
	memset(ri, 0xa5, sizeof(*ri));
	ASSERT_EQ(0, ioctl(fd, MYPOLL_IOC_GET_READER, ri));
}

/*
 * Put the device in the state every test starts from and leaves behind:
 * timer stopped, @fd drained, policy drop-newest, 64 slots, statistics
 * zero. Returns 0 or -errno; asserts nothing, so teardowns can use it.
 */
static inline int mp_restore(int fd)
{
	long n;

	if (ioctl(fd, MYPOLL_IOC_TIMER_STOP))
		return -errno;
	n = mp_drain(fd);
	if (n < 0)
		return n;
	if (mp_set_policy(fd, EVCORE_POLICY_DROP_NEWEST))
		return -errno;
	if (mp_set_qsize(fd, MP_DEFAULT_QSIZE))
		return -errno;
	if (ioctl(fd, MYPOLL_IOC_RESET_STATS))
		return -errno;
	return 0;
}

/* mp_restore(), then check that the device is in that state. */
static inline void mp_reset(struct __test_metadata *_metadata, int fd)
{
	struct mypoll_stats st;
	struct mypoll_timer t;

	ASSERT_EQ(0, mp_restore(fd));
	memset(&t, 0xa5, sizeof(t));
	ASSERT_EQ(0, ioctl(fd, MYPOLL_IOC_TIMER_GET, &t));
	ASSERT_EQ(0U, t.running);
	mp_get_stats(_metadata, fd, &st);
	ASSERT_EQ(0U, st.generated);
	ASSERT_EQ(0U, st.queue_depth);
	ASSERT_EQ(MP_DEFAULT_QSIZE, st.queue_size);
	ASSERT_EQ((__u32)EVCORE_POLICY_DROP_NEWEST, st.policy);
}

/*
 * Collect exactly @want records from @fd (never more), waiting with poll()
 * at most @timeout_ms in total. Returns the number collected.
 */
static inline int mp_collect(int fd, struct mypoll_event *ev, int want,
			     int timeout_ms)
{
	__u64 deadline = mp_now_ns() + (__u64)timeout_ms * 1000000ULL;
	int got = 0;

	while (got < want) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		__u64 now = mp_now_ns();
		ssize_t n;

		if (now >= deadline)
			break;
		if (poll(&pfd, 1, (deadline - now) / 1000000 + 1) <= 0)
			continue;
		n = mp_read_nb(fd, ev + got, (want - got) * MP_REC);
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n <= 0 || n % MP_REC)
			break;
		got += n / MP_REC;
	}
	return got;
}

/* True when the payload bytes from @from on and the reserved field are 0. */
static inline bool mp_zero_tail(const struct mypoll_event *ev, size_t from)
{
	size_t i;

	if (ev->hdr.reserved)
		return false;
	for (i = from; i < MYPOLL_PAYLOAD_MAX; i++)
		if (ev->payload[i])
			return false;
	return true;
}

/* Read a whole small file into @buf. Returns 0 or -errno. */
static inline int mp_read_file(const char *path, char *buf, size_t len)
{
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while (got < len - 1) {
		ssize_t n = read(fd, buf + got, len - 1 - got);

		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (!n)
			break;
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return 0;
}

/* sysfs: read one value, newline stripped. Returns 0 or -errno. */
static inline int mp_sysfs_read(const char *name, char *buf, size_t len)
{
	char path[256];
	size_t n;
	int ret;

	snprintf(path, sizeof(path), MP_SYSFS "%s", name);
	ret = mp_read_file(path, buf, len);
	if (ret)
		return ret;
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	return 0;
}

static inline int mp_sysfs_u64(const char *name, __u64 *val)
{
	char buf[64], *end;
	int ret = mp_sysfs_read(name, buf, sizeof(buf));

	if (ret)
		return ret;
	errno = 0;
	*val = strtoull(buf, &end, 10);
	if (errno || end == buf || *end)
		return -EPROTO;
	return 0;
}

/* Write @val to the file at @path in one write(). Returns 0 or -errno. */
static inline int mp_write_file(const char *path, const char *val)
{
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	return n == (ssize_t)strlen(val) ? 0 : -EIO;
}

/* sysfs: write @val in one write(). Returns 0 or -errno. */
static inline int mp_sysfs_write(const char *name, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), MP_SYSFS "%s", name);
	return mp_write_file(path, val);
}

/*
 * Find "key<sep>value" in a key/value text (sep ':' or '='), where the key
 * as written ends with @key (so "pos" matches "evcore-pos" too). Returns 0
 * and the value, or -ENOENT.
 */
static inline int mp_kv_u64(const char *text, const char *key, char sep,
			    __u64 *val)
{
	size_t klen = strlen(key);
	const char *line = text;

	while (line && *line) {
		const char *s = strchr(line, sep);
		const char *nl = strchr(line, '\n');
		const char *k = NULL;

		if (s && (size_t)(s - line) >= klen)
			k = s - klen;
		if (k && (!nl || s < nl) && !strncmp(k, key, klen) &&
		    (k == line || strchr("-_. \t", k[-1]))) {
			char *end;

			s++;
			while (*s == ' ' || *s == '\t')
				s++;
			errno = 0;
			*val = strtoull(s, &end, 10);
			if (!errno && end != s)
				return 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

/* State letter of thread @tid of this process ('S' = sleeping), or 0. */
static inline char mp_task_state(pid_t tid)
{
	char path[64], buf[512], *p;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	if (mp_read_file(path, buf, sizeof(buf)))
		return 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * Wait until thread @tid sleeps, at most @timeout_ms. No event tells that a
 * thread went to sleep in the driver, so this polls its state.
 */
static inline int mp_wait_sleeping(pid_t tid, int timeout_ms)
{
	__u64 deadline = mp_now_ns() + (__u64)timeout_ms * 1000000ULL;
	const struct timespec step = { .tv_nsec = 1000000 };

	while (mp_now_ns() < deadline) {
		if (mp_task_state(tid) == 'S')
			return 0;
		nanosleep(&step, NULL);
	}
	return -ETIMEDOUT;
}

/* Counts SIGUSR1 deliveries; the handler is installed without SA_RESTART. */
static int mp_sigusr1_count;

static void mp_sigusr1(int sig)
{
	(void)sig;
	__atomic_fetch_add(&mp_sigusr1_count, 1, __ATOMIC_SEQ_CST);
}

static inline int mp_install_sigusr1(void)
{
	struct sigaction sa = { .sa_handler = mp_sigusr1 };

	sigemptyset(&sa.sa_mask);
	return sigaction(SIGUSR1, &sa, NULL);
}

/*
 * Block @sig in this thread so that it stays pending for mp_sig_wait(), and
 * discard any instance already pending. Returns 0 or -errno.
 */
static inline int mp_sig_hold(int sig)
{
	const struct timespec zero = { 0 };
	sigset_t set;
	int i;

	sigemptyset(&set);
	sigaddset(&set, sig);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	for (i = 0; i < 4096; i++)
		if (sigtimedwait(&set, NULL, &zero) != sig)
			return 0;
	return -EOVERFLOW;
}

/*
 * Take one pending @sig (held with mp_sig_hold()), waiting at most
 * @timeout_ms for it. Returns 1 with its siginfo in @si, 0 when none came.
 */
static inline int mp_sig_wait(int sig, siginfo_t *si, int timeout_ms)
{
	__u64 deadline = mp_now_ns() + (__u64)timeout_ms * 1000000ULL;
	sigset_t set;
	int ret;

	sigemptyset(&set);
	sigaddset(&set, sig);
	for (;;) {
		__u64 now = mp_now_ns(), left = deadline > now ?
						deadline - now : 0;
		struct timespec ts = {
			.tv_sec = left / 1000000000ULL,
			.tv_nsec = left % 1000000000ULL,
		};

		memset(si, 0, sizeof(*si));
		ret = sigtimedwait(&set, si, &ts);
		if (ret == sig)
			return 1;
		if (ret < 0 && errno == EINTR && left)
			continue;
		return 0;
	}
}

/*
 * A thread doing one read(), write() or (with @cmd set) ioctl() on @fd, so
 * the main thread can check whether the call blocks and wait for it with a
 * bound.
 */
struct mp_worker {
	pthread_t thread;
	pid_t tid;
	int fd;
	unsigned long cmd;
	bool is_write;
	void *buf;
	size_t len;
	ssize_t ret;
	int err;
	__u64 done_ns;
	int started_efd;
	int done_efd;
};

static void *mp_worker_fn(void *arg)
{
	struct mp_worker *w = arg;
	__u64 one = 1;

	w->tid = syscall(SYS_gettid);
	if (write(w->started_efd, &one, sizeof(one)) != sizeof(one))
		return NULL;
	if (w->cmd)
		w->ret = ioctl(w->fd, w->cmd, w->buf);
	else if (w->is_write)
		w->ret = write(w->fd, w->buf, w->len);
	else
		w->ret = read(w->fd, w->buf, w->len);
	w->err = errno;
	w->done_ns = mp_now_ns();
	if (write(w->done_efd, &one, sizeof(one)) != sizeof(one))
		return NULL;
	return NULL;
}

static inline int mp_wait_fd(int fd, int timeout_ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int ret;

	do {
		ret = poll(&pfd, 1, timeout_ms);
	} while (ret < 0 && errno == EINTR);
	return ret;
}

/* Start the worker set up by the callers below: see mp_worker_start(). */
static inline int mp_worker_go(struct mp_worker *w)
{
	w->ret = -2;
	w->err = 0;
	w->started_efd = eventfd(0, EFD_CLOEXEC);
	w->done_efd = eventfd(0, EFD_CLOEXEC);
	if (w->started_efd < 0 || w->done_efd < 0)
		return -errno;
	if (mp_install_sigusr1())
		return -errno;
	if (pthread_create(&w->thread, NULL, mp_worker_fn, w))
		return -EAGAIN;
	if (mp_wait_fd(w->started_efd, MP_WAIT_MS) != 1)
		return -ETIMEDOUT;
	return 0;
}

/* Start the worker and wait until it has called into the driver and sleeps. */
static inline int mp_worker_start(struct mp_worker *w, int fd, bool is_write,
				  void *buf, size_t len)
{
	w->fd = fd;
	w->cmd = 0;
	w->is_write = is_write;
	w->buf = buf;
	w->len = len;
	return mp_worker_go(w);
}

/* Start a worker that calls ioctl(@fd, @cmd, @arg), as mp_worker_start(). */
static inline int mp_worker_ioctl(struct mp_worker *w, int fd,
				  unsigned long cmd, void *arg)
{
	w->fd = fd;
	w->cmd = cmd;
	w->buf = arg;
	return mp_worker_go(w);
}

/* True once the worker's call has returned. */
static inline bool mp_worker_done(struct mp_worker *w)
{
	return mp_wait_fd(w->done_efd, 0) == 1;
}

/*
 * Wait at most @timeout_ms for the worker's call to return, then join it.
 * On timeout the call is interrupted with SIGUSR1 so the thread can be
 * joined, and -ETIMEDOUT is returned.
 */
static inline int mp_worker_wait(struct mp_worker *w, int timeout_ms)
{
	int i;

	if (mp_wait_fd(w->done_efd, timeout_ms) == 1) {
		pthread_join(w->thread, NULL);
		close(w->started_efd);
		close(w->done_efd);
		return 0;
	}
	for (i = 0; i < 20; i++) {
		pthread_kill(w->thread, SIGUSR1);
		if (mp_wait_fd(w->done_efd, 100) == 1) {
			pthread_join(w->thread, NULL);
			close(w->started_efd);
			close(w->done_efd);
			return -ETIMEDOUT;
		}
	}
	/* Stuck in the driver: leave it to the end of the test process. */
	pthread_detach(w->thread);
	return -ETIMEDOUT;
}

#endif /* MYPOLL_UTIL_H */
