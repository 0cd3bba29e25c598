// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/mypoll when the kernel runs out of memory. Each test fails the Nth
 * slab allocation of one system call, for N = 1, 2, ... until the call
 * runs without reaching an Nth allocation, through /proc/thread-self/
 * fail-nth (Documentation/fault-injection/fault-injection.rst). A call
 * whose allocation failed must fail with ENOMEM and change nothing, or,
 * where the kernel had a fallback, succeed completely; either way no event
 * is lost.
 *
 * Needs CONFIG_FAULT_INJECTION, CONFIG_FAILSLAB and
 * CONFIG_FAULT_INJECTION_DEBUG_FS (the `make check-debug` kernel has them;
 * the tests are skipped on a kernel without them). They set the global
 * failslab/ignore-gfp-wait to N while they run, so that GFP_KERNEL
 * allocations can fail too, and put it back afterwards.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/evcore.h>
#include <linux/mypoll.h>

#include "kselftest_harness.h"
#include "mypoll_util.h"
#include "fail_nth.h"

#define FAILSLAB_GFP	MP_DEBUGFS "/failslab/ignore-gfp-wait"
/* More allocations than any call here makes: the loops end well before. */
#define NTH_MAX		512

FIXTURE(failslab) {
	int fd;
	bool skip;
	char gfp_wait[8];
};

FIXTURE_SETUP(failslab)
{
	/*
	 * With 6.1's harness SKIP() here does not stop the test: each test
	 * checks self->skip first.
	 */
	self->fd = -1;
	if (access(FAIL_NTH, W_OK) || access(FAILSLAB_GFP, W_OK)) {
		self->skip = true;
		return;
	}
	ASSERT_EQ(0, mp_read_file(FAILSLAB_GFP, self->gfp_wait,
				  sizeof(self->gfp_wait)));
	ASSERT_EQ(0, mp_write_file(FAILSLAB_GFP, "N"));
	self->fd = mp_open(O_RDWR);
	ASSERT_LE(0, self->fd) {
		TH_LOG("open %s: %s (mypoll_misc must be loaded)", MP_DEV,
		       strerror(errno));
	}
	mp_reset(_metadata, self->fd);
}

FIXTURE_TEARDOWN(failslab)
{
	if (self->skip)
		return;
	if (self->gfp_wait[0])
		EXPECT_EQ(0, mp_write_file(FAILSLAB_GFP, self->gfp_wait));
	if (self->fd >= 0) {
		EXPECT_EQ(0, mp_restore(self->fd));
		close(self->fd);
	}
}

#define NO_FAILSLAB	"no " FAIL_NTH " or " FAILSLAB_GFP \
			" (CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS)"

/* Read the @n manual-trigger records from @first on, and nothing more. */
static void expect_manual(struct __test_metadata *_metadata, int fd,
			  __u64 first, int n)
{
	struct mypoll_event ev[16];
	int i;

	ASSERT_GE((int)ARRAY_SIZE(ev), n);
	ASSERT_EQ(n * MP_REC, mp_read_nb(fd, ev, sizeof(ev)));
	for (i = 0; i < n; i++) {
		EXPECT_EQ(first + i, ev[i].hdr.seq);
		EXPECT_EQ((__u32)MYPOLL_SOURCE_MANUAL, ev[i].hdr.source_id);
		EXPECT_EQ(0U, ev[i].hdr.lost);
	}
	ASSERT_EQ(-1, mp_read_nb(fd, ev, sizeof(ev)));
	ASSERT_EQ(EAGAIN, errno);
}

/*
 * open() with each of its allocations failing in turn: the file that
 * fails to open leaves no reader behind, the queue keeps its events, and
 * a file that opens anyway reads them.
 */
TEST_F(failslab, open)
{
	struct mypoll_stats before, st;
	int nth, n, fd, err, fired, failed = 0;

	if (self->skip)
		SKIP(return, NO_FAILSLAB);
	ASSERT_EQ(3, mp_trigger(self->fd, 3));
	mp_get_stats(_metadata, self->fd, &before);
	nth = fail_nth_open();
	ASSERT_LE(0, nth);

	for (n = 1; n < NTH_MAX; n++) {
		ASSERT_EQ(0, fail_nth_arm(nth, n));
		fd = mp_open(O_RDWR);
		err = errno;
		fired = fail_nth_fired(nth);
		ASSERT_LE(0, fired);
		if (fd < 0) {
			ASSERT_TRUE(fired) {
				TH_LOG("open failed without a failed allocation: %s",
				       strerror(err));
			}
			ASSERT_EQ(ENOMEM, err) {
				TH_LOG("allocation %d failed: %s", n,
				       strerror(err));
			}
			failed++;
		} else {
			expect_manual(_metadata, fd, before.event_sequence - 3,
				      3);
			ASSERT_EQ(0, close(fd));
		}
		mp_get_stats(_metadata, self->fd, &st);
		ASSERT_EQ(before.readers, st.readers);
		ASSERT_EQ(3U, st.queue_depth);
		ASSERT_EQ(before.generated, st.generated);
		if (!fired)
			break;
	}
	ASSERT_LT(n, NTH_MAX);
	/* our own four (file, reader, its two buffers) at least */
	ASSERT_LE(4, failed) {
		TH_LOG("only %d of %d allocations failed open()", failed, n - 1);
	}
	TH_LOG("open() made %d allocations, %d of which failed it", n - 1,
	       failed);
	expect_manual(_metadata, self->fd, before.event_sequence - 3, 3);
	close(nth);
}

/*
 * Resizing the queue with its new ring's allocation failing: ENOMEM, the
 * size and the queued events unchanged. Then the resize goes through.
 */
TEST_F(failslab, queue_size)
{
	struct mypoll_stats before, st;
	int nth, n, ret, err, fired, failed = 0;

	if (self->skip)
		SKIP(return, NO_FAILSLAB);
	ASSERT_EQ(5, mp_trigger(self->fd, 5));
	mp_get_stats(_metadata, self->fd, &before);
	nth = fail_nth_open();
	ASSERT_LE(0, nth);

	/* 16 slots: a small ring, from the slab with no vmalloc fallback */
	for (n = 1; n < NTH_MAX; n++) {
		ASSERT_EQ(0, fail_nth_arm(nth, n));
		ret = mp_set_qsize(self->fd, 16);
		err = errno;
		fired = fail_nth_fired(nth);
		ASSERT_LE(0, fired);
		mp_get_stats(_metadata, self->fd, &st);
		ASSERT_EQ(5U, st.queue_depth);
		ASSERT_EQ(before.generated, st.generated);
		if (ret) {
			ASSERT_TRUE(fired);
			ASSERT_EQ(ENOMEM, err) {
				TH_LOG("allocation %d failed: %s", n,
				       strerror(err));
			}
			ASSERT_EQ(MP_DEFAULT_QSIZE, st.queue_size);
			failed++;
			continue;
		}
		ASSERT_EQ(16U, st.queue_size);
		if (!fired)
			break;
		ASSERT_EQ(0, mp_set_qsize(self->fd, MP_DEFAULT_QSIZE));
	}
	ASSERT_LT(n, NTH_MAX);
	ASSERT_LE(1, failed);
	expect_manual(_metadata, self->fd, before.event_sequence - 5, 5);
	close(nth);
}

/*
 * The event paths allocate nothing: producing (trigger, write), reading,
 * polling and the statistics run without a single slab allocation, so
 * they cannot fail for lack of memory.
 */
TEST_F(failslab, event_paths_allocate_nothing)
{
	struct mypoll_event ev[4];
	struct mypoll_reader_info ri;
	struct mypoll_stats st;
	static const char msg[] = "no allocation";
	int nth;

	if (self->skip)
		SKIP(return, NO_FAILSLAB);
	nth = fail_nth_open();
	ASSERT_LE(0, nth);

	ASSERT_EQ(0, fail_nth_arm(nth, 1));
	ASSERT_EQ(2, mp_trigger(self->fd, 2));
	ASSERT_EQ(0, fail_nth_fired(nth)) {
		TH_LOG("MYPOLL_IOC_TRIGGER allocated");
	}

	ASSERT_EQ(0, fail_nth_arm(nth, 1));
	ASSERT_EQ((ssize_t)sizeof(msg), write(self->fd, msg, sizeof(msg)));
	ASSERT_EQ(0, fail_nth_fired(nth)) {
		TH_LOG("write() allocated");
	}

	ASSERT_EQ(0, fail_nth_arm(nth, 1));
	ASSERT_EQ(POLLIN, mp_poll_now(self->fd, POLLIN));
	ASSERT_EQ(0, fail_nth_fired(nth)) {
		TH_LOG("poll() allocated");
	}

	ASSERT_EQ(0, fail_nth_arm(nth, 1));
	ASSERT_EQ(3 * MP_REC, read(self->fd, ev, sizeof(ev)));
	ASSERT_EQ(0, fail_nth_fired(nth)) {
		TH_LOG("read() allocated");
	}
	EXPECT_EQ((__u32)MYPOLL_SOURCE_WRITE, ev[2].hdr.source_id);
	EXPECT_EQ(0, memcmp(ev[2].payload, msg, sizeof(msg)));

	ASSERT_EQ(0, fail_nth_arm(nth, 1));
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_GET_STATS, &st));
	ASSERT_EQ(0, ioctl(self->fd, MYPOLL_IOC_GET_READER, &ri));
	ASSERT_EQ(0, fail_nth_fired(nth)) {
		TH_LOG("the statistics ioctls allocated");
	}
	EXPECT_EQ(3U, st.queued);
	EXPECT_EQ(3U, ri.read);
	close(nth);
}

TEST_HARNESS_MAIN
