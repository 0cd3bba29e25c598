// SPDX-License-Identifier: GPL-2.0
/*
 * evcore's checks, shared by the KUnit suite (evcore_kunit.c) and the
 * self-test module (evcore_selftest.c), which include this file; see
 * evcore_tests.h for what a front end provides. Each evt_<name>() is one
 * check and uses evcore only through <linux/evcore.h>, as a driver would.
 *
 * Reads go through user memory (evcore_read() takes a __user buffer): the
 * front end maps slots in the current task's address space and reader
 * threads adopt it. Threads never report on their own; they hand what they
 * saw back to the check, which asserts on it.
 */

#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/evcore.h>
#include <linux/evcore_kcompat.h>
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/jiffies.h>
#include <linux/kernel.h>
#include <linux/kthread.h>
#include <linux/math64.h>
#include <linux/mman.h>
#include <linux/poll.h>
#include <linux/preempt.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

#include "evcore_tests.h"
#include "../evcore_trace.h"

/* How long a check waits for something that should happen at once. */
#define EVT_WAIT_MS		10000
/* How long a thread of a check may run. */
#define EVT_JOIN_SECS		120

/* Expectations: each returns whether it held. */

static __printf(5, 6) bool evt_check(struct evt_ctx *ctx, bool ok,
				     const char *file, int line,
				     const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	if (ok)
		return true;
	ctx->failures++;
	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	evt_report(ctx, true, file, line, &vaf);
	va_end(args);
	return false;
}

static __printf(4, 5) void evt_note_at(struct evt_ctx *ctx, const char *file,
				       int line, const char *fmt, ...)
{
	struct va_format vaf;
	va_list args;

	va_start(args, fmt);
	vaf.fmt = fmt;
	vaf.va = &args;
	evt_report(ctx, false, file, line, &vaf);
	va_end(args);
}

#define EVT_NOTE(ctx, fmt, ...) \
	evt_note_at(ctx, __FILE__, __LINE__, fmt, ##__VA_ARGS__)

#define EVT_EXPECT(ctx, cond) \
	evt_check(ctx, !!(cond), __FILE__, __LINE__, "expected %s", #cond)

/* Integers and errnos: both sides are printed on failure. */
#define EVT_EXPECT_EQ(ctx, got, want) ({				\
	long long __got = (got), __want = (want);			\
	evt_check(ctx, __got == __want, __FILE__, __LINE__,		\
		  "%s is %lld, expected %lld (%s)", #got, __got, __want,	\
		  #want);						\
})

/* An ERR_PTR() with this errno (0: a valid pointer). */
#define EVT_EXPECT_ERR(ctx, ptr, err) \
	EVT_EXPECT_EQ(ctx, PTR_ERR_OR_ZERO(ptr), err)

/* A poll mask: the bits in @mask are exactly @want. */
#define EVT_EXPECT_POLL(ctx, got, mask, want) \
	evt_check_poll(ctx, got, mask, want, __FILE__, __LINE__)

static bool evt_check_poll(struct evt_ctx *ctx, __poll_t got, __poll_t mask,
			   __poll_t want, const char *file, int line)
{
	return evt_check(ctx, (got & mask) == want, file, line,
			 "poll returned %#x: bits %#x are %#x, expected %#x",
			 (__force unsigned int)got, (__force unsigned int)mask,
			 (__force unsigned int)(got & mask),
			 (__force unsigned int)want);
}

/*
 * Wait, in bounded steps, until @cond holds; true when it did. For states
 * no event announces, such as a thread asleep on a wait queue.
 */
#define evt_wait_for(cond) ({						\
	unsigned long __end = jiffies + msecs_to_jiffies(EVT_WAIT_MS);	\
	bool __ok;							\
	for (;;) {							\
		__ok = (cond);						\
		if (__ok || time_after(jiffies, __end))			\
			break;						\
		usleep_range(100, 500);					\
	}								\
	__ok;								\
})

/* Queues */

static struct evcore_queue *evt_queue(struct evt_ctx *ctx, u32 capacity,
				      u32 payload_size, u32 policy)
{
	struct evcore_config cfg = {
		.name = "evt",
		.capacity = capacity,
		.payload_size = payload_size,
		.policy = policy,
		.clock = CLOCK_MONOTONIC,
	};
	struct evcore_queue *q = evcore_queue_create(&cfg);

	if (!EVT_EXPECT_ERR(ctx, q, 0))
		return NULL;
	return q;
}

static void evt_queue_done(struct evcore_queue *q)
{
	if (!q)
		return;
	evcore_queue_shutdown(q);
	evcore_queue_put(q);
}

static struct evcore_reader *evt_reader(struct evt_ctx *ctx,
					struct evcore_queue *q)
{
	struct evcore_reader *r = evcore_reader_open(q);

	if (!EVT_EXPECT_ERR(ctx, r, 0))
		return NULL;
	return r;
}

static void evt_reader_done(struct evcore_reader *r)
{
	evcore_reader_release(r);
}

static bool evt_register(struct evt_ctx *ctx, struct evcore_queue *q,
			 struct evcore_source *src, const char *name, u32 id)
{
	return EVT_EXPECT_EQ(ctx, evcore_source_register(q, src, name, id), 0);
}

/* Unregister @src if evt_register() registered it. */
static void evt_unregister(struct evcore_source *src)
{
	if (src->name)
		evcore_source_unregister(src);
}

/* The usual setting of a check: one queue, one reader, one source. */
struct evt_fix {
	struct evcore_queue *q;
	struct evcore_reader *r;
	struct evcore_source src;
	size_t rs;
};

static bool evt_fix_init(struct evt_ctx *ctx, struct evt_fix *f, u32 capacity,
			 u32 payload_size, u32 policy)
{
	memset(f, 0, sizeof(*f));
	f->q = evt_queue(ctx, capacity, payload_size, policy);
	if (!f->q)
		return false;
	f->rs = evcore_record_size(f->q);
	f->r = evt_reader(ctx, f->q);
	return f->r && evt_register(ctx, f->q, &f->src, "evt", 0);
}

static void evt_fix_done(struct evt_fix *f)
{
	evt_unregister(&f->src);
	evt_reader_done(f->r);
	evt_queue_done(f->q);
}

static __poll_t evt_poll(struct evcore_reader *r)
{
	return evcore_poll(r, NULL, NULL);
}

/*
 * Payloads. Event number n of a source (its source_seq) carries aux n and
 * evt_payload_len(n) bytes of a pattern derived from n, so a reader can
 * check every byte of every record it gets.
 */

static size_t evt_payload_len(u64 n, u32 payload_size)
{
	u32 len;

	div_u64_rem(n, payload_size + 1, &len);
	return len;
}

static u8 evt_payload_byte(u64 n, size_t i)
{
	return (u8)(n * 31 + i * 7 + 1);
}

static void evt_fill(u8 *buf, u64 n, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = evt_payload_byte(n, i);
}

/* Push event number @n (aux, payload) on @src. */
static int evt_push_n(struct evcore_source *src, u64 n, u32 payload_size)
{
	u8 buf[64];
	size_t len = evt_payload_len(n, min_t(u32, payload_size, sizeof(buf)));

	evt_fill(buf, n, len);
	return evcore_push(src, 0, (u32)n, buf, len);
}

static int evt_push_wait_n(struct evcore_source *src, u64 n, u32 payload_size,
			   bool nonblock)
{
	u8 buf[64];
	size_t len = evt_payload_len(n, min_t(u32, payload_size, sizeof(buf)));

	evt_fill(buf, n, len);
	return evcore_push_wait(src, 0, (u32)n, buf, len, nonblock);
}

/* Reads, through the user buffer */

static char __user *evt_uslot(struct evt_ctx *ctx, unsigned int slot)
{
	return u64_to_user_ptr((u64)ctx->ubuf + (u64)slot * EVT_SLOT_SIZE);
}

/*
 * evcore_read() into user slot @slot, the records copied back to @kbuf.
 * The slot is filled with a marker first, so bytes the read did not write
 * cannot pass for records.
 */
static ssize_t evt_read_slot(struct evt_ctx *ctx, struct evcore_reader *r,
			     unsigned int slot, u8 *kbuf, size_t count,
			     bool nonblock)
{
	char __user *ubuf = evt_uslot(ctx, slot);
	ssize_t ret;

	if (WARN_ON(count > EVT_SLOT_SIZE || slot >= EVT_SLOTS))
		return -E2BIG;
	if (clear_user(ubuf, count))
		return -EFAULT;
	ret = evcore_read(r, ubuf, count, nonblock);
	if (ret > 0 && copy_from_user(kbuf, ubuf, ret))
		return -EFAULT;
	return ret;
}

/* A read by the check itself, into ctx->kbuf. */
static ssize_t evt_read(struct evt_ctx *ctx, struct evcore_reader *r,
			size_t count, bool nonblock)
{
	return evt_read_slot(ctx, r, 0, ctx->kbuf, count, nonblock);
}

static struct evcore_event *evt_rec(struct evt_ctx *ctx,
				    struct evcore_queue *q, unsigned int i)
{
	return (struct evcore_event *)(ctx->kbuf + i * evcore_record_size(q));
}

/*
 * A stream check: every record a reader gets of one source's events,
 * pushed with evt_push_n(), checked against what must come next. Loss
 * records must account exactly for the source_seq numbers missing between
 * two events; with @contiguous (no drop-oldest) the global sequence must
 * also have no gap.
 */
struct evt_stream {
	u32 source_id;
	u32 payload_size;
	bool contiguous;
	u64 next_seq;
	u64 next_src_seq;
	u64 gap;
	u64 events;
	u64 lost;
	u64 losses;
	u64 last_seq;
	unsigned int bad;
	char why[192];
};

static void evt_stream_init(struct evt_stream *s, struct evcore_queue *q,
			    struct evcore_source *src, bool contiguous)
{
	memset(s, 0, sizeof(*s));
	s->source_id = src->id;
	s->payload_size = evcore_queue_payload_size(q);
	s->contiguous = contiguous;
}

static __printf(3, 4) void evt_stream_bad(struct evt_stream *s,
					  const struct evcore_event *ev,
					  const char *fmt, ...)
{
	va_list args;
	int n;

	if (s->bad++)
		return;
	n = scnprintf(s->why, sizeof(s->why),
		      "record seq %llu src_seq %llu lost %llu id %u flags %#x aux %u len %u: ",
		      ev->seq, ev->source_seq, ev->lost, ev->source_id,
		      ev->flags, ev->aux, ev->payload_len);
	va_start(args, fmt);
	vscnprintf(s->why + n, sizeof(s->why) - n, fmt, args);
	va_end(args);
}

static void evt_stream_loss(struct evt_stream *s, const struct evcore_event *ev)
{
	const u8 *p = (const u8 *)(ev + 1);
	u32 i;

	if (ev->source_id != EVCORE_SOURCE_NONE || ev->source_seq ||
	    ev->timestamp_ns || ev->aux || ev->payload_len || ev->reserved ||
	    ev->flags != EVCORE_EVENT_LOSS || !ev->lost)
		evt_stream_bad(s, ev, "malformed loss record");
	for (i = 0; i < s->payload_size; i++)
		if (p[i]) {
			evt_stream_bad(s, ev, "loss record payload byte %u", i);
			break;
		}
	if (ev->seq < s->next_seq ||
	    (s->contiguous && ev->seq != s->next_seq))
		evt_stream_bad(s, ev, "loss record seq, expected %s%llu",
			       s->contiguous ? "" : ">= ", s->next_seq);
	s->next_seq = ev->seq;
	s->gap += ev->lost;
	s->lost += ev->lost;
	s->losses++;
}

static void evt_stream_event(struct evt_stream *s,
			     const struct evcore_event *ev)
{
	const u8 *p = (const u8 *)(ev + 1);
	u32 i, len;

	if (ev->flags || ev->lost || ev->reserved ||
	    ev->source_id != s->source_id)
		evt_stream_bad(s, ev, "malformed event record");
	if (ev->seq != s->next_seq)
		evt_stream_bad(s, ev, "seq, expected %llu", s->next_seq);
	if (ev->source_seq != s->next_src_seq + s->gap)
		evt_stream_bad(s, ev,
			       "source_seq, expected %llu (%llu + %llu lost)",
			       s->next_src_seq + s->gap, s->next_src_seq,
			       s->gap);
	if (ev->aux != (u32)ev->source_seq)
		evt_stream_bad(s, ev, "aux, expected %u", (u32)ev->source_seq);
	len = evt_payload_len(ev->source_seq, min_t(u32, s->payload_size, 64));
	if (ev->payload_len != len)
		evt_stream_bad(s, ev, "payload_len, expected %u", len);
	for (i = 0; i < s->payload_size; i++) {
		u8 want = i < len ? evt_payload_byte(ev->source_seq, i) : 0;

		if (p[i] != want) {
			evt_stream_bad(s, ev, "payload byte %u is %#x, expected %#x",
				       i, p[i], want);
			break;
		}
	}
	s->last_seq = ev->seq;
	s->next_seq = ev->seq + 1;
	s->next_src_seq = ev->source_seq + 1;
	s->gap = 0;
	s->events++;
}

/* Check @bytes of records in @buf. */
static void evt_stream_feed(struct evt_stream *s, const u8 *buf, size_t bytes,
			    size_t rs)
{
	const struct evcore_event *ev;
	size_t off;

	for (off = 0; off + rs <= bytes; off += rs) {
		ev = (const struct evcore_event *)(buf + off);
		if (ev->flags & EVCORE_EVENT_LOSS)
			evt_stream_loss(s, ev);
		else
			evt_stream_event(s, ev);
	}
	if (bytes % rs)
		evt_stream_bad(s, (const struct evcore_event *)buf,
			       "read returned %zu bytes, not whole records",
			       bytes);
}

/* Report a stream's first problem, if any. */
#define EVT_EXPECT_STREAM(ctx, s) \
	evt_check_stream(ctx, s, __FILE__, __LINE__)

static bool evt_check_stream(struct evt_ctx *ctx, const struct evt_stream *s,
			     const char *file, int line)
{
	return evt_check(ctx, !s->bad, file, line, "%u bad records, first: %s",
			 s->bad, s->why);
}

/*
 * Read what @r has without blocking, in reads of at most @chunk records,
 * into @s. Return the last read's result: -EAGAIN once all was read.
 */
static ssize_t evt_drain(struct evt_ctx *ctx, struct evcore_reader *r,
			 struct evcore_queue *q, struct evt_stream *s,
			 size_t chunk)
{
	size_t rs = evcore_record_size(q);
	size_t count = min_t(size_t, chunk * rs, EVT_SLOT_SIZE / rs * rs);
	ssize_t ret;

	do {
		ret = evt_read(ctx, r, count, true);
		if (ret > 0)
			evt_stream_feed(s, ctx->kbuf, ret, rs);
	} while (ret > 0);
	return ret;
}

/*
 * Threads. A check starts them with evt_thread_start() and must join them
 * with evt_thread_join(); they run with the check's address space, so they
 * can read into their own user slot. A thread that outlives its time limit
 * is a failure: it is then signalled (its interruptible waits end) and its
 * queue shut down, so it finishes and the check can go on.
 */
struct evt_thread {
	struct evt_ctx *ctx;
	int (*fn)(struct evt_thread *t);
	void *arg;
	struct evcore_queue *q;
	unsigned int slot;
	u8 *kbuf;
	struct task_struct *task;
	struct completion done;
	int ret;
};

static int evt_thread_main(void *data)
{
	struct evt_thread *t = data;

	allow_signal(SIGKILL);
	kthread_use_mm(t->ctx->mm);
	t->ret = t->fn(t);
	kthread_unuse_mm(t->ctx->mm);
	flush_signals(current);
	kthread_complete_and_exit(&t->done, 0);
}

/* Whether the thread was told to give up. */
static bool evt_thread_stopping(void)
{
	return signal_pending(current);
}

/*
 * Start @fn(@t) in a thread using user slot @slot (1 to
 * %EVT_MAX_THREADS); @q is shut down if it must be unblocked.
 */
static bool evt_thread_start(struct evt_ctx *ctx, struct evt_thread *t,
			     int (*fn)(struct evt_thread *t), void *arg,
			     struct evcore_queue *q, unsigned int slot)
{
	struct task_struct *task;

	memset(t, 0, sizeof(*t));
	t->ctx = ctx;
	t->fn = fn;
	t->arg = arg;
	t->q = q;
	t->slot = slot;
	init_completion(&t->done);
	if (!EVT_EXPECT(ctx, slot >= 1 && slot < EVT_SLOTS))
		return false;
	t->kbuf = kvmalloc(EVT_SLOT_SIZE, GFP_KERNEL);
	if (!EVT_EXPECT(ctx, t->kbuf))
		return false;
	task = kthread_create(evt_thread_main, t, "evt/%u", slot);
	if (!EVT_EXPECT_ERR(ctx, task, 0)) {
		kvfree(t->kbuf);
		t->kbuf = NULL;
		return false;
	}
	t->task = get_task_struct(task);
	wake_up_process(task);
	return true;
}

static bool evt_thread_done(struct evt_thread *t)
{
	return completion_done(&t->done);
}

/* Wait for a started thread; true when it finished in time. */
static bool evt_thread_join(struct evt_ctx *ctx, struct evt_thread *t)
{
	bool in_time;

	if (!t->task)
		return false;
	in_time = wait_for_completion_timeout(&t->done,
					      EVT_JOIN_SECS * HZ) != 0;
	evt_check(ctx, in_time, __FILE__, __LINE__,
		  "thread on slot %u still running after %us", t->slot,
		  EVT_JOIN_SECS);
	if (!in_time) {
		send_sig(SIGKILL, t->task, 1);
		if (t->q)
			evcore_queue_shutdown(t->q);
		wait_for_completion(&t->done);
	}
	put_task_struct(t->task);
	t->task = NULL;
	kvfree(t->kbuf);
	t->kbuf = NULL;
	return in_time;
}

/* A read by a thread, into its own slot and t->kbuf. */
static ssize_t evt_thread_read(struct evt_thread *t, struct evcore_reader *r,
			       size_t count, bool nonblock)
{
	return evt_read_slot(t->ctx, r, t->slot, t->kbuf, count, nonblock);
}

/*
 * Sleepers. evcore_poll() names the wait queues a reader or a producer
 * sleeps on; a check watches them to know that a thread is asleep in
 * evcore_read() or evcore_push_wait() before it wakes it.
 */
struct evt_heads {
	poll_table pt;
	wait_queue_head_t *head[4];
	unsigned int n;
};

static void evt_heads_qproc(struct file *file, wait_queue_head_t *wqh,
			    poll_table *pt)
{
	struct evt_heads *h = container_of(pt, struct evt_heads, pt);

	if (h->n < ARRAY_SIZE(h->head))
		h->head[h->n++] = wqh;
}

static bool evt_heads_find(struct evt_ctx *ctx, struct evcore_reader *r,
			   struct evt_heads *h)
{
	h->n = 0;
	init_poll_funcptr(&h->pt, evt_heads_qproc);
	evcore_poll(r, NULL, &h->pt);
	return EVT_EXPECT(ctx, h->n > 0);
}

/* How many tasks sleep on the queue's wait queues. */
static unsigned int evt_sleepers(struct evt_heads *h)
{
	wait_queue_entry_t *wq;
	unsigned long flags;
	unsigned int i, n = 0;

	for (i = 0; i < h->n; i++) {
		spin_lock_irqsave(&h->head[i]->lock, flags);
		list_for_each_entry(wq, &h->head[i]->head, entry)
			n++;
		spin_unlock_irqrestore(&h->head[i]->lock, flags);
	}
	return n;
}

/*
 * Wait until @n tasks sleep on the queue or @t finished; true when they
 * sleep.
 */
static bool evt_wait_sleepers(struct evt_ctx *ctx, struct evt_heads *h,
			      unsigned int n, struct evt_thread *t)
{
	bool ok = evt_wait_for(evt_sleepers(h) >= n ||
			       (t && evt_thread_done(t)));

	return evt_check(ctx, ok && evt_sleepers(h) >= n, __FILE__, __LINE__,
			 "expected %u sleepers on the queue, found %u%s", n,
			 evt_sleepers(h),
			 t && evt_thread_done(t) ? " (the thread returned)" : "");
}

/*
 * Poll waiters. An evt_poller sits on the queue's wait queues as poll()
 * would and records the keys it is woken with.
 */
struct evt_poller {
	poll_table pt;
	wait_queue_entry_t entry[4];
	wait_queue_head_t *head[4];
	unsigned int n;
	atomic_t wakes;
	atomic_t keys;
};

static int evt_poller_wake(wait_queue_entry_t *wq, unsigned int mode,
			   int sync, void *key)
{
	struct evt_poller *p = wq->private;

	/* A wake-up without a key is for every event. */
	atomic_or(key ? (__force int)key_to_poll(key) : -1, &p->keys);
	atomic_inc(&p->wakes);
	return 0;
}

static void evt_poller_qproc(struct file *file, wait_queue_head_t *wqh,
			     poll_table *pt)
{
	struct evt_poller *p = container_of(pt, struct evt_poller, pt);

	if (p->n >= ARRAY_SIZE(p->entry))
		return;
	init_waitqueue_func_entry(&p->entry[p->n], evt_poller_wake);
	p->entry[p->n].private = p;
	p->head[p->n] = wqh;
	add_wait_queue(wqh, &p->entry[p->n]);
	p->n++;
}

static __poll_t evt_poller_add(struct evt_poller *p, struct evcore_reader *r)
{
	memset(p, 0, sizeof(*p));
	init_poll_funcptr(&p->pt, evt_poller_qproc);
	return evcore_poll(r, NULL, &p->pt);
}

static void evt_poller_remove(struct evt_poller *p)
{
	while (p->n--)
		remove_wait_queue(p->head[p->n], &p->entry[p->n]);
	p->n = 0;
}

/* The keys @p was woken with since the last call. */
static __poll_t evt_poller_keys(struct evt_poller *p)
{
	return (__force __poll_t)atomic_xchg(&p->keys, 0);
}

/* The checks */

/* The record format: fixed offsets, 48-byte header, record size. */
static void evt_record_layout(struct evt_ctx *ctx)
{
	static const u32 sizes[] = { 0, 8, 24, 4096 };
	struct evcore_queue *q;
	unsigned int i;

	EVT_EXPECT_EQ(ctx, sizeof(struct evcore_event), 48);
	EVT_EXPECT_EQ(ctx, offsetof(struct evcore_event, seq), 0);
	EVT_EXPECT_EQ(ctx, offsetof(struct evcore_event, source_seq), 8);
	EVT_EXPECT_EQ(ctx, offsetof(struct evcore_event, timestamp_ns), 16);
	EVT_EXPECT_EQ(ctx, offsetof(struct evcore_event, lost), 24);
	EVT_EXPECT_EQ(ctx, offsetof(struct evcore_event, source_id), 32);
	EVT_EXPECT_EQ(ctx, offsetof(struct evcore_event, flags), 36);
	EVT_EXPECT_EQ(ctx, offsetof(struct evcore_event, aux), 40);
	EVT_EXPECT_EQ(ctx, offsetof(struct evcore_event, payload_len), 44);
	EVT_EXPECT_EQ(ctx, offsetof(struct evcore_event, reserved), 46);
	EVT_EXPECT_EQ(ctx, EVCORE_EVENT_SOURCE_FLAGS & EVCORE_EVENT_LOSS, 0);

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		q = evt_queue(ctx, 4, sizes[i], EVCORE_POLICY_DROP_NEWEST);
		if (!q)
			continue;
		EVT_EXPECT_EQ(ctx, evcore_record_size(q), 48 + sizes[i]);
		EVT_EXPECT_EQ(ctx, evcore_queue_payload_size(q), sizes[i]);
		EVT_EXPECT_EQ(ctx, evcore_queue_capacity(q), 4);
		EVT_EXPECT_EQ(ctx, evcore_queue_policy(q),
			      EVCORE_POLICY_DROP_NEWEST);
		EVT_EXPECT(ctx, !evcore_queue_is_shutdown(q));
		evt_queue_done(q);
	}
}

/* Every out-of-range config is refused with -EINVAL; the limits are not. */
static void evt_config_invalid(struct evt_ctx *ctx)
{
	static const struct {
		const char *name;
		u32 capacity, payload_size, policy;
		clockid_t clock;
		int err;
	} cfgs[] = {
		{ NULL, 4, 8, EVCORE_POLICY_DROP_NEWEST, CLOCK_MONOTONIC, -EINVAL },
		{ "evt", 0, 8, EVCORE_POLICY_DROP_NEWEST, CLOCK_MONOTONIC, -EINVAL },
		{ "evt", EVCORE_MAX_CAPACITY + 1, 8, EVCORE_POLICY_DROP_NEWEST,
		  CLOCK_MONOTONIC, -EINVAL },
		{ "evt", 4, 4, EVCORE_POLICY_DROP_NEWEST, CLOCK_MONOTONIC, -EINVAL },
		{ "evt", 4, 12, EVCORE_POLICY_DROP_NEWEST, CLOCK_MONOTONIC, -EINVAL },
		{ "evt", 4, EVCORE_MAX_PAYLOAD + 8, EVCORE_POLICY_DROP_NEWEST,
		  CLOCK_MONOTONIC, -EINVAL },
		{ "evt", 4, 8, EVCORE_POLICY_BLOCK + 1, CLOCK_MONOTONIC, -EINVAL },
		{ "evt", 4, 8, U32_MAX, CLOCK_MONOTONIC, -EINVAL },
		{ "evt", 4, 8, EVCORE_POLICY_DROP_NEWEST, CLOCK_PROCESS_CPUTIME_ID,
		  -EINVAL },
		{ "evt", 4, 8, EVCORE_POLICY_DROP_NEWEST, -1, -EINVAL },
		{ "evt", EVCORE_MAX_CAPACITY, 0, EVCORE_POLICY_DROP_NEWEST,
		  CLOCK_MONOTONIC, 0 },
		{ "evt", 1, EVCORE_MAX_PAYLOAD, EVCORE_POLICY_BLOCK, CLOCK_TAI, 0 },
		{ "evt", 1, 0, EVCORE_POLICY_DROP_OLDEST, CLOCK_BOOTTIME, 0 },
		{ "evt", 2, 8, EVCORE_POLICY_DROP_NEWEST, CLOCK_REALTIME, 0 },
	};
	struct evcore_config cfg;
	struct evcore_queue *q;
	unsigned int i;

	EVT_EXPECT_ERR(ctx, evcore_queue_create(NULL), -EINVAL);
	for (i = 0; i < ARRAY_SIZE(cfgs); i++) {
		cfg.name = cfgs[i].name;
		cfg.capacity = cfgs[i].capacity;
		cfg.payload_size = cfgs[i].payload_size;
		cfg.policy = cfgs[i].policy;
		cfg.clock = cfgs[i].clock;
		q = evcore_queue_create(&cfg);
		if (!evt_check(ctx, PTR_ERR_OR_ZERO(q) == cfgs[i].err,
			       __FILE__, __LINE__,
			       "config %u (capacity %u payload %u policy %u clock %d): got %d, expected %d",
			       i, cfg.capacity, cfg.payload_size, cfg.policy,
			       cfg.clock, PTR_ERR_OR_ZERO(q), cfgs[i].err))
			EVT_NOTE(ctx, "config %u", i);
		if (!IS_ERR(q)) {
			EVT_EXPECT_EQ(ctx, evcore_queue_capacity(q),
				      cfgs[i].capacity);
			evt_queue_done(q);
		}
	}

	/* Policy names round-trip; unknown ones are refused. */
	for (i = EVCORE_POLICY_DROP_NEWEST; i <= EVCORE_POLICY_BLOCK; i++)
		EVT_EXPECT_EQ(ctx, evcore_policy_parse(evcore_policy_name(i)), i);
	EVT_EXPECT(ctx, !strcmp(evcore_policy_name(EVCORE_POLICY_DROP_NEWEST),
				"drop-newest"));
	EVT_EXPECT(ctx, !strcmp(evcore_policy_name(EVCORE_POLICY_DROP_OLDEST),
				"drop-oldest"));
	EVT_EXPECT(ctx, !strcmp(evcore_policy_name(EVCORE_POLICY_BLOCK),
				"block"));
	EVT_EXPECT(ctx, !strcmp(evcore_policy_name(3), "unknown"));
	EVT_EXPECT_EQ(ctx, evcore_policy_parse("block\n"), EVCORE_POLICY_BLOCK);
	EVT_EXPECT_EQ(ctx, evcore_policy_parse("drop"), -EINVAL);
	EVT_EXPECT_EQ(ctx, evcore_policy_parse(""), -EINVAL);
}

/*
 * The ring wraps many times over: a queue of odd capacity, pushed far
 * past it while a reader reads in chunks of every size; every record keeps
 * its sequence, payload and zeroed padding, and timestamps never go back.
 */
static void evt_ring_wraparound(struct evt_ctx *ctx)
{
	struct evt_fix f;
	const u32 cap = 7, psize = 24, total = 50 * cap + 3;
	struct evcore_stats st;
	struct evt_stream s;
	u64 pushed = 0, last_ts = 0;
	unsigned int chunk = 1, i;
	ssize_t ret;

	if (!evt_fix_init(ctx, &f, cap, psize, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	evt_stream_init(&s, f.q, &f.src, true);

	while (s.events < total) {
		/* Fill up to the capacity, then read a chunk. */
		while (pushed < total && pushed - s.events < cap) {
			if (!EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, pushed, psize), 0))
				goto out;
			pushed++;
		}
		ret = evt_read(ctx, f.r, chunk * f.rs, true);
		if (!EVT_EXPECT(ctx, ret > 0) ||
		    !EVT_EXPECT_EQ(ctx, ret, min_t(u64, chunk, pushed - s.events) * f.rs))
			goto out;
		for (i = 0; i < ret / f.rs; i++) {
			EVT_EXPECT(ctx, evt_rec(ctx, f.q, i)->timestamp_ns >= last_ts);
			last_ts = evt_rec(ctx, f.q, i)->timestamp_ns;
		}
		evt_stream_feed(&s, ctx->kbuf, ret, f.rs);
		chunk = chunk % (cap + 2) + 1;
	}
	EVT_EXPECT_STREAM(ctx, &s);
	EVT_EXPECT_EQ(ctx, s.events, total);
	EVT_EXPECT_EQ(ctx, s.lost, 0);
	EVT_EXPECT_EQ(ctx, s.last_seq, total - 1);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, f.rs, true), -EAGAIN);

	evcore_queue_get_stats(f.q, &st);
	EVT_EXPECT_EQ(ctx, st.generated, total);
	EVT_EXPECT_EQ(ctx, st.queued, total);
	EVT_EXPECT_EQ(ctx, st.delivered, total);
	EVT_EXPECT_EQ(ctx, st.dropped_full, 0);
	EVT_EXPECT_EQ(ctx, st.next_seq, total);
	EVT_EXPECT_EQ(ctx, st.depth, 0);
	EVT_EXPECT_EQ(ctx, st.high_water, cap);
out:
	evt_fix_done(&f);
}

/* One read by a thread; the result and the first record come back. */
struct evt_one_read {
	struct evcore_reader *r;
	size_t count;
	bool nonblock;
	int signal;
	ssize_t ret;
	struct evcore_event first;
};

static int evt_one_read_fn(struct evt_thread *t)
{
	struct evt_one_read *o = t->arg;

	if (o->signal)
		allow_signal(o->signal);
	o->ret = evt_thread_read(t, o->r, o->count, o->nonblock);
	if (o->ret > 0)
		memcpy(&o->first, t->kbuf, sizeof(o->first));
	return 0;
}

/*
 * read(): short buffers, partial counts, whole records only, reads across
 * the internal batches, and a blocking read that wakes for one event.
 */
static void evt_read_semantics(struct evt_ctx *ctx)
{
	struct evt_fix f;
	const u32 psize = 64;
	struct evt_one_read o = {};
	struct evt_thread t;
	struct evt_heads h;
	struct evt_stream s;
	unsigned int i;
	ssize_t ret;

	if (!evt_fix_init(ctx, &f, 256, psize, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	evt_stream_init(&s, f.q, &f.src, true);

	EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, 0, true), -EINVAL);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, f.rs - 1, true), -EINVAL);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, f.rs - 1, false), -EINVAL);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, f.rs, true), -EAGAIN);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLIN | EPOLLRDNORM | EPOLLPRI, 0);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLOUT | EPOLLWRNORM,
			EPOLLOUT | EPOLLWRNORM);

	for (i = 0; i < 5; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, psize), 0);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLIN | EPOLLRDNORM | EPOLLPRI,
			EPOLLIN | EPOLLRDNORM);
	/* Two and a half records of room: two whole records. */
	ret = evt_read(ctx, f.r, 2 * f.rs + f.rs / 2, true);
	EVT_EXPECT_EQ(ctx, ret, 2 * f.rs);
	if (ret > 0)
		evt_stream_feed(&s, ctx->kbuf, ret, f.rs);
	/* Room for ten, three left: a blocking read does not wait for more. */
	ret = evt_read(ctx, f.r, 10 * f.rs, false);
	EVT_EXPECT_EQ(ctx, ret, 3 * f.rs);
	if (ret > 0)
		evt_stream_feed(&s, ctx->kbuf, ret, f.rs);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLIN | EPOLLRDNORM, 0);

	/* Far more than one internal batch, in one read. */
	for (i = 5; i < 205; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, psize), 0);
	ret = evt_read(ctx, f.r, EVT_SLOT_SIZE, true);
	EVT_EXPECT_EQ(ctx, ret, 200 * f.rs);
	if (ret > 0)
		evt_stream_feed(&s, ctx->kbuf, ret, f.rs);
	EVT_EXPECT_STREAM(ctx, &s);
	EVT_EXPECT_EQ(ctx, s.events, 205);

	/* A blocking read sleeps until the next event, then returns it. */
	o.r = f.r;
	o.count = 4 * f.rs;
	if (!evt_heads_find(ctx, f.r, &h) ||
	    !evt_thread_start(ctx, &t, evt_one_read_fn, &o, f.q, 1))
		goto out;
	if (evt_wait_sleepers(ctx, &h, 1, &t))
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 205, psize), 0);
	evt_thread_join(ctx, &t);
	EVT_EXPECT_EQ(ctx, o.ret, f.rs);
	EVT_EXPECT_EQ(ctx, o.first.seq, 205);
	EVT_EXPECT_EQ(ctx, o.first.source_seq, 205);
out:
	evt_fix_done(&f);
}

/*
 * Two pages of user memory: the first writable, the second read-only with
 * @ro, else writable and not faulted in yet. Return the first's address,
 * or 0 when they could not be mapped.
 */
static unsigned long evt_map_two(struct evt_ctx *ctx, bool ro)
{
	unsigned long map, got;

	map = vm_mmap(NULL, 0, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_ANONYMOUS | MAP_PRIVATE, 0);
	if (!EVT_EXPECT(ctx, !IS_ERR_VALUE(map)))
		return 0;
	if (!ro)
		return map;
	got = vm_mmap(NULL, map + PAGE_SIZE, PAGE_SIZE, PROT_READ,
		      MAP_ANONYMOUS | MAP_PRIVATE | MAP_FIXED, 0);
	if (!EVT_EXPECT_EQ(ctx, got, map + PAGE_SIZE)) {
		vm_munmap(map, 2 * PAGE_SIZE);
		return 0;
	}
	return map;
}

/*
 * A reader advances only past the records that reached userspace: a
 * buffer that faults at once gets -EFAULT and loses nothing, one that
 * faults after the first record gets that record only.
 */
static void evt_read_fault(struct evt_ctx *ctx)
{
	struct evt_fix f;
	struct evcore_reader_stats rst;
	struct evt_stream s;
	unsigned long map, ro;
	char __user *at;
	unsigned int i;
	ssize_t ret;

	map = evt_map_two(ctx, true);
	if (!map)
		return;
	ro = map + PAGE_SIZE;

	if (!evt_fix_init(ctx, &f, 16, 8, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	evt_stream_init(&s, f.q, &f.src, true);
	for (i = 0; i < 4; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 8), 0);

	EVT_EXPECT_EQ(ctx, evcore_read(f.r, NULL, f.rs, true), -EFAULT);
	EVT_EXPECT_EQ(ctx, evcore_read(f.r, u64_to_user_ptr((u64)ro), 2 * f.rs,
				       true), -EFAULT);
	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.position, 0);
	EVT_EXPECT_EQ(ctx, rst.read, 0);

	/* Room for three records, but the page ends inside the second. */
	at = u64_to_user_ptr((u64)ro - f.rs - 8);
	ret = evcore_read(f.r, at, 3 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, f.rs);
	if (ret == f.rs &&
	    EVT_EXPECT_EQ(ctx, copy_from_user(ctx->kbuf, at, f.rs), 0))
		evt_stream_feed(&s, ctx->kbuf, f.rs, f.rs);
	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.position, 1);
	EVT_EXPECT_EQ(ctx, rst.read, 1);

	/* The rest is still there, in order. */
	EVT_EXPECT_EQ(ctx, evt_drain(ctx, f.r, f.q, &s, 8), -EAGAIN);
	EVT_EXPECT_STREAM(ctx, &s);
	EVT_EXPECT_EQ(ctx, s.events, 4);
	EVT_EXPECT_EQ(ctx, s.last_seq, 3);
out:
	evt_fix_done(&f);
	vm_munmap(map, 2 * PAGE_SIZE);
}

/*
 * A read into pages not faulted in yet: the copy under the queue lock stops
 * at the first such page, the read faults it in with the lock dropped and
 * goes on, so it returns every record it has room for, in order. For a
 * reader of every source whose buffer's first pages are mapped (the fast
 * path copies records, then hands over to the read lock) and a filtered
 * reader on fresh pages.
 */
static void evt_read_fault_in(struct evt_ctx *ctx)
{
	const u32 n = 64;	/* one batch: 7 KiB, over three pages */
	struct evcore_reader *fr = NULL, *r;
	struct evcore_reader_stats rst;
	struct evt_stream s;
	struct evt_fix f;
	unsigned long map;
	char __user *at;
	unsigned int i;
	ssize_t ret;
	size_t len;

	if (!evt_fix_init(ctx, &f, 2 * n, 64, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	fr = evt_reader(ctx, f.q);
	if (!fr)
		goto out;
	evcore_reader_set_filter(fr, BIT_ULL(f.src.id));
	for (i = 0; i < n; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 64), 0);

	len = n * f.rs;
	for (i = 0; i < 2; i++) {
		r = i ? fr : f.r;
		evt_stream_init(&s, f.q, &f.src, true);
		/* Fresh pages; the first record spans the first two. */
		map = vm_mmap(NULL, 0, len + 2 * PAGE_SIZE,
			      PROT_READ | PROT_WRITE,
			      MAP_ANONYMOUS | MAP_PRIVATE, 0);
		if (!EVT_EXPECT(ctx, !IS_ERR_VALUE(map)))
			break;
		at = u64_to_user_ptr((u64)map + PAGE_SIZE - 40);
		/* The first two mapped: 36 records fit before the third. */
		if (!i)
			EVT_EXPECT_EQ(ctx, clear_user(u64_to_user_ptr((u64)map),
						      2 * PAGE_SIZE), 0);
		ret = evcore_read(r, at, len, true);
		EVT_EXPECT_EQ(ctx, ret, len);
		if (ret == len &&
		    EVT_EXPECT_EQ(ctx, copy_from_user(ctx->kbuf, at, len), 0))
			evt_stream_feed(&s, ctx->kbuf, len, f.rs);
		vm_munmap(map, len + 2 * PAGE_SIZE);
		EVT_EXPECT_STREAM(ctx, &s);
		EVT_EXPECT_EQ(ctx, s.events, n);
		evcore_reader_get_stats(r, &rst);
		EVT_EXPECT_EQ(ctx, rst.read, n);
	}
out:
	if (fr)
		evt_reader_done(fr);
	evt_fix_done(&f);
}

/*
 * A signal ends a read sleeping for its watermark with -ERESTARTSYS, and
 * the reader did not move: the events are still there.
 */
static void evt_read_interrupted(struct evt_ctx *ctx)
{
	struct evt_fix f;
	struct evcore_reader_stats rst;
	struct evt_one_read o = {};
	struct evt_thread t;
	struct evt_heads h;
	struct evt_stream s;

	if (!evt_fix_init(ctx, &f, 8, 8, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	evt_stream_init(&s, f.q, &f.src, true);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 0, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 1, 8), 0);
	EVT_EXPECT_EQ(ctx, evcore_reader_set_watermark(f.r, 3), 0);

	o.r = f.r;
	o.count = 8 * f.rs;
	o.signal = SIGUSR1;
	if (!evt_heads_find(ctx, f.r, &h) ||
	    !evt_thread_start(ctx, &t, evt_one_read_fn, &o, f.q, 1))
		goto out;
	if (evt_wait_sleepers(ctx, &h, 1, &t))
		send_sig(SIGUSR1, t.task, 1);
	evt_thread_join(ctx, &t);
	EVT_EXPECT_EQ(ctx, o.ret, -ERESTARTSYS);

	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.position, 0);
	EVT_EXPECT_EQ(ctx, rst.read, 0);
	EVT_EXPECT_EQ(ctx, evcore_reader_set_watermark(f.r, 1), 0);
	EVT_EXPECT_EQ(ctx, evt_drain(ctx, f.r, f.q, &s, 8), -EAGAIN);
	EVT_EXPECT_STREAM(ctx, &s);
	EVT_EXPECT_EQ(ctx, s.events, 2);
out:
	evt_fix_done(&f);
}

/*
 * Check the records in ctx->kbuf, @n of them, against a list of expected
 * (seq, lost) pairs: lost 0 means an event with that seq, otherwise a loss
 * record of that count standing before seq.
 */
struct evt_want {
	u64 seq;
	u64 lost;
};

static void evt_expect_records(struct evt_ctx *ctx, struct evcore_queue *q,
			       ssize_t bytes, const struct evt_want *want,
			       unsigned int n, const char *file, int line)
{
	size_t rs = evcore_record_size(q);
	struct evcore_event *ev;
	unsigned int i;

	if (!evt_check(ctx, bytes == (ssize_t)(n * rs), file, line,
		       "read returned %zd, expected %u records (%zu bytes)",
		       bytes, n, n * rs))
		n = bytes > 0 ? min_t(size_t, n, bytes / rs) : 0;
	for (i = 0; i < n; i++) {
		ev = evt_rec(ctx, q, i);
		if (want[i].lost)
			evt_check(ctx, (ev->flags & EVCORE_EVENT_LOSS) &&
				  ev->seq == want[i].seq &&
				  ev->lost == want[i].lost &&
				  ev->source_id == EVCORE_SOURCE_NONE,
				  file, line,
				  "record %u: seq %llu lost %llu flags %#x id %u, expected a loss record of %llu before seq %llu",
				  i, ev->seq, ev->lost, ev->flags,
				  ev->source_id, want[i].lost, want[i].seq);
		else
			evt_check(ctx, !(ev->flags & EVCORE_EVENT_LOSS) &&
				  ev->seq == want[i].seq && !ev->lost,
				  file, line,
				  "record %u: seq %llu lost %llu flags %#x, expected event seq %llu",
				  i, ev->seq, ev->lost, ev->flags,
				  want[i].seq);
	}
}

#define EVT_EXPECT_RECORDS(ctx, q, bytes, ...) ({			\
	static const struct evt_want __w[] = { __VA_ARGS__ };		\
	evt_expect_records(ctx, q, bytes, __w, ARRAY_SIZE(__w),		\
			   __FILE__, __LINE__);				\
})

static void evt_expect_stats(struct evt_ctx *ctx, struct evcore_queue *q,
			     u64 generated, u64 queued, u64 dropped_full,
			     u64 overwritten, u64 would_block, u64 next_seq,
			     u32 depth, const char *file, int line)
{
	struct evcore_stats st;

	evcore_queue_get_stats(q, &st);
	evt_check(ctx, st.generated == generated && st.queued == queued &&
		  st.dropped_full == dropped_full &&
		  st.overwritten == overwritten &&
		  st.would_block == would_block && st.next_seq == next_seq &&
		  st.depth == depth, file, line,
		  "queue stats generated %llu queued %llu dropped_full %llu overwritten %llu would_block %llu next_seq %llu depth %u, expected %llu %llu %llu %llu %llu %llu %u",
		  st.generated, st.queued, st.dropped_full, st.overwritten,
		  st.would_block, st.next_seq, st.depth, generated, queued,
		  dropped_full, overwritten, would_block, next_seq, depth);
}

/* generated, queued, dropped_full, overwritten, would_block, next_seq, depth */
#define EVT_EXPECT_STATS(ctx, q, ...) \
	evt_expect_stats(ctx, q, __VA_ARGS__, __FILE__, __LINE__)

/*
 * Drop-newest: a full queue refuses with -ENOSPC and consumes no global
 * sequence number; dropped_full counts exactly; the reader gets one loss
 * record with the exact count right before the next event.
 */
static void evt_drop_newest(struct evt_ctx *ctx)
{
	struct evt_fix f;
	struct evcore_source_stats sst;
	struct evcore_reader_stats rst;
	struct evt_stream s;
	unsigned int i;
	ssize_t ret;

	if (!evt_fix_init(ctx, &f, 4, 8, EVCORE_POLICY_DROP_NEWEST))
		goto out;

	for (i = 0; i < 4; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 8), 0);
	for (i = 4; i < 7; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 8), -ENOSPC);
	EVT_EXPECT_STATS(ctx, f.q, 7, 4, 3, 0, 0, 4, 4);
	evcore_source_get_stats(&f.src, &sst);
	EVT_EXPECT_EQ(ctx, sst.generated, 7);
	EVT_EXPECT_EQ(ctx, sst.queued, 4);
	EVT_EXPECT_EQ(ctx, sst.dropped, 3);
	EVT_EXPECT_EQ(ctx, sst.next_seq, 7);
	/* The events come first; the loss stands after them. */
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLIN | EPOLLPRI | EPOLLOUT,
			EPOLLIN | EPOLLOUT);

	ret = evt_read(ctx, f.r, 4 * f.rs, true);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 0, 0 }, { 1, 0 }, { 2, 0 }, { 3, 0 });
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLIN | EPOLLPRI,
			EPOLLIN | EPOLLPRI);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 7, 8), 0);
	ret = evt_read(ctx, f.r, 8 * f.rs, true);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 4, 3 }, { 4, 0 });
	evt_stream_init(&s, f.q, &f.src, true);
	s.next_seq = 4;
	s.next_src_seq = 4;
	if (ret > 0)
		evt_stream_feed(&s, ctx->kbuf, ret, f.rs);
	EVT_EXPECT_STREAM(ctx, &s);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, f.rs, true), -EAGAIN);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLIN | EPOLLPRI, 0);

	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.read, 5);
	EVT_EXPECT_EQ(ctx, rst.lost, 3);
	EVT_EXPECT_EQ(ctx, rst.position, 5);
	EVT_EXPECT_EQ(ctx, rst.lag, 0);
	EVT_EXPECT_STATS(ctx, f.q, 8, 5, 3, 0, 0, 5, 0);

	/* A loss with nothing after it is readable on its own. */
	for (i = 8; i < 12; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 12, 8), -ENOSPC);
	ret = evt_read(ctx, f.r, 8 * f.rs, true);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 5, 0 }, { 6, 0 }, { 7, 0 }, { 8, 0 },
			   { 9, 1 });
	EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, f.rs, true), -EAGAIN);
out:
	evt_fix_done(&f);
}

/*
 * Drop-oldest: every push succeeds, the oldest records are overwritten and
 * counted, and the reader gets one loss record whose seq is the tail,
 * then the newest events.
 */
static void evt_drop_oldest(struct evt_ctx *ctx)
{
	struct evt_fix f;
	struct evcore_source_stats sst;
	struct evcore_reader_stats rst;
	struct evt_stream s;
	unsigned int i;
	ssize_t ret;

	if (!evt_fix_init(ctx, &f, 4, 16, EVCORE_POLICY_DROP_OLDEST))
		goto out;
	evt_stream_init(&s, f.q, &f.src, false);

	for (i = 0; i < 10; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 16), 0);
	EVT_EXPECT_STATS(ctx, f.q, 10, 10, 0, 6, 0, 10, 4);
	evcore_source_get_stats(&f.src, &sst);
	EVT_EXPECT_EQ(ctx, sst.overwritten, 6);
	EVT_EXPECT_EQ(ctx, sst.queued, 10);
	EVT_EXPECT_EQ(ctx, sst.dropped, 0);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLIN | EPOLLPRI | EPOLLOUT,
			EPOLLIN | EPOLLPRI | EPOLLOUT);
	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.lag, 4);

	ret = evt_read(ctx, f.r, 8 * f.rs, true);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 6, 6 }, { 6, 0 }, { 7, 0 }, { 8, 0 },
			   { 9, 0 });
	if (ret > 0)
		evt_stream_feed(&s, ctx->kbuf, ret, f.rs);

	/* Overwritten while partly read: the loss is only what was missed. */
	for (i = 10; i < 13; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 16), 0);
	ret = evt_read(ctx, f.r, f.rs, true);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 10, 0 });
	if (ret > 0)
		evt_stream_feed(&s, ctx->kbuf, ret, f.rs);
	for (i = 13; i < 19; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 16), 0);
	ret = evt_read(ctx, f.r, 8 * f.rs, true);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 15, 4 }, { 15, 0 }, { 16, 0 },
			   { 17, 0 }, { 18, 0 });
	if (ret > 0)
		evt_stream_feed(&s, ctx->kbuf, ret, f.rs);
	EVT_EXPECT_STREAM(ctx, &s);

	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.read, 9);
	EVT_EXPECT_EQ(ctx, rst.lost, 10);
	EVT_EXPECT_EQ(ctx, rst.read + rst.lost, 19);
	EVT_EXPECT_EQ(ctx, rst.position, 19);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, f.rs, true), -EAGAIN);
	evcore_source_get_stats(&f.src, &sst);
	EVT_EXPECT_EQ(ctx, sst.generated, 19);
	EVT_EXPECT_EQ(ctx, sst.delivered, 9);
out:
	evt_fix_done(&f);
}

/* One push by a thread, which may sleep in evcore_push_wait(). */
struct evt_one_push {
	struct evcore_source *src;
	u64 n;
	u32 payload_size;
	int ret;
};

static int evt_one_push_fn(struct evt_thread *t)
{
	struct evt_one_push *o = t->arg;

	o->ret = evt_push_wait_n(o->src, o->n, o->payload_size, false);
	return 0;
}

/*
 * Block: a full queue makes evcore_push_wait(nonblock) return -EAGAIN
 * without consuming anything (would_block counts it), evcore_push() is
 * refused as under drop-newest, and room comes back with a read.
 */
static void evt_block_nonblock(struct evt_ctx *ctx)
{
	struct evt_fix f;
	struct evcore_source_stats sst;
	struct evt_stream s;
	unsigned int i;
	ssize_t ret;

	if (!evt_fix_init(ctx, &f, 4, 8, EVCORE_POLICY_BLOCK))
		goto out;
	evt_stream_init(&s, f.q, &f.src, true);

	for (i = 0; i < 4; i++)
		EVT_EXPECT_EQ(ctx, evt_push_wait_n(&f.src, i, 8, true), 0);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLOUT | EPOLLWRNORM, 0);
	EVT_EXPECT_EQ(ctx, evt_push_wait_n(&f.src, 4, 8, true), -EAGAIN);
	EVT_EXPECT_EQ(ctx, evt_push_wait_n(&f.src, 4, 8, true), -EAGAIN);
	EVT_EXPECT_STATS(ctx, f.q, 4, 4, 0, 0, 2, 4, 4);
	evcore_source_get_stats(&f.src, &sst);
	EVT_EXPECT_EQ(ctx, sst.next_seq, 4);
	EVT_EXPECT_EQ(ctx, sst.generated, 4);

	/* evcore_push() cannot sleep: refused, counted, reported. */
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 4, 8), -ENOSPC);
	EVT_EXPECT_STATS(ctx, f.q, 5, 4, 1, 0, 2, 4, 4);
	evcore_source_get_stats(&f.src, &sst);
	EVT_EXPECT_EQ(ctx, sst.next_seq, 5);
	EVT_EXPECT_EQ(ctx, sst.dropped, 1);

	/* One record read: room for one. */
	ret = evt_read(ctx, f.r, f.rs, true);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 0, 0 });
	if (ret > 0)
		evt_stream_feed(&s, ctx->kbuf, ret, f.rs);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLOUT | EPOLLWRNORM,
			EPOLLOUT | EPOLLWRNORM);
	EVT_EXPECT_EQ(ctx, evt_push_wait_n(&f.src, 5, 8, true), 0);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLOUT | EPOLLWRNORM, 0);
	EVT_EXPECT_EQ(ctx, evt_push_wait_n(&f.src, 6, 8, true), -EAGAIN);

	ret = evt_read(ctx, f.r, 8 * f.rs, true);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 1, 0 }, { 2, 0 }, { 3, 0 }, { 4, 1 },
			   { 4, 0 });
	if (ret > 0)
		evt_stream_feed(&s, ctx->kbuf, ret, f.rs);
	EVT_EXPECT_STREAM(ctx, &s);
	EVT_EXPECT_EQ(ctx, s.lost, 1);
	EVT_EXPECT_STATS(ctx, f.q, 6, 5, 1, 0, 3, 5, 0);
out:
	evt_fix_done(&f);
}

/*
 * Block: a producer asleep in evcore_push_wait() is woken when the slowest
 * reader frees a record, and its event is queued; a faster reader alone
 * frees nothing.
 */
static void evt_block_wait_woken_by_read(struct evt_ctx *ctx)
{
	struct evcore_reader *r = NULL, *slow = NULL;
	struct evcore_source src = {};
	struct evt_one_push o = {};
	struct evt_thread t;
	struct evt_heads h;
	struct evt_stream s;
	struct evcore_queue *q;
	size_t rs;
	ssize_t ret;

	q = evt_queue(ctx, 2, 8, EVCORE_POLICY_BLOCK);
	if (!q)
		return;
	rs = evcore_record_size(q);
	r = evt_reader(ctx, q);
	slow = evt_reader(ctx, q);
	if (!r || !slow || !evt_register(ctx, q, &src, "wait", 0))
		goto out;
	evt_stream_init(&s, q, &src, true);
	EVT_EXPECT_EQ(ctx, evt_push_n(&src, 0, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&src, 1, 8), 0);

	o.src = &src;
	o.n = 2;
	o.payload_size = 8;
	if (!evt_heads_find(ctx, r, &h) ||
	    !evt_thread_start(ctx, &t, evt_one_push_fn, &o, q, 1))
		goto out;
	if (evt_wait_sleepers(ctx, &h, 1, &t)) {
		/* The fast reader alone frees nothing. */
		ret = evt_read(ctx, r, 8 * rs, true);
		EVT_EXPECT_RECORDS(ctx, q, ret, { 0, 0 }, { 1, 0 });
		EVT_EXPECT(ctx, !evt_thread_done(&t));
		EVT_EXPECT_POLL(ctx, evt_poll(r), EPOLLOUT, 0);
		/* The slow one reading one record makes room for one. */
		ret = evt_read(ctx, slow, rs, true);
		EVT_EXPECT_RECORDS(ctx, q, ret, { 0, 0 });
		if (ret > 0)
			evt_stream_feed(&s, ctx->kbuf, ret, rs);
	}
	evt_thread_join(ctx, &t);
	EVT_EXPECT_EQ(ctx, o.ret, 0);

	EVT_EXPECT_EQ(ctx, evt_drain(ctx, slow, q, &s, 1), -EAGAIN);
	EVT_EXPECT_STREAM(ctx, &s);
	EVT_EXPECT_EQ(ctx, s.events, 3);
	EVT_EXPECT_EQ(ctx, s.lost, 0);
	EVT_EXPECT_STATS(ctx, q, 3, 3, 0, 0, 0, 3, 1);
out:
	evt_unregister(&src);
	evt_reader_done(slow);
	evt_reader_done(r);
	evt_queue_done(q);
}

/*
 * Block: with no reader wanting anything (only a write-only file, whose
 * filter is empty) the queue keeps what it holds, and fills. A reader
 * opened at the head needs none of it: the records go, and a producer
 * asleep in evcore_push_wait() is woken for the room, as is a poller
 * waiting for EPOLLOUT.
 */
static void evt_block_woken_by_open_new(struct evt_ctx *ctx)
{
	struct evcore_reader *w = NULL, *r = NULL;
	struct evcore_source src = {};
	struct evt_one_push o = {};
	struct evt_poller *p;
	struct evcore_queue *q;
	struct evt_thread t;
	struct evt_heads h;
	struct evcore_stats st;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!EVT_EXPECT(ctx, p))
		return;
	q = evt_queue(ctx, 2, 8, EVCORE_POLICY_BLOCK);
	if (!q)
		goto out_free;
	w = evt_reader(ctx, q);
	if (!w || !evt_register(ctx, q, &src, "wait", 0))
		goto out;
	evcore_reader_set_filter(w, 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&src, 0, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&src, 1, 8), 0);
	EVT_EXPECT_POLL(ctx, evt_poll(w), EPOLLOUT, 0);

	o.src = &src;
	o.n = 2;
	o.payload_size = 8;
	if (!evt_heads_find(ctx, w, &h) ||
	    !evt_thread_start(ctx, &t, evt_one_push_fn, &o, q, 1))
		goto out;
	if (evt_wait_sleepers(ctx, &h, 1, &t)) {
		EVT_EXPECT_POLL(ctx, evt_poller_add(p, w), EPOLLOUT, 0);
		r = evcore_reader_open_new(q);
		EVT_EXPECT_ERR(ctx, r, 0);
		if (IS_ERR(r))
			r = NULL;
		/* The two records went with the open. */
		evcore_queue_get_stats(q, &st);
		EVT_EXPECT(ctx, st.depth < 2);
		EVT_EXPECT(ctx, evt_poller_keys(p) & EPOLLOUT);
		evt_poller_remove(p);
		EVT_EXPECT(ctx, evt_wait_for(evt_thread_done(&t)));
	}
	/* A producer left asleep is let go. */
	if (!evt_thread_done(&t))
		evcore_queue_shutdown(q);
	evt_thread_join(ctx, &t);
	EVT_EXPECT_EQ(ctx, o.ret, 0);
out:
	evt_unregister(&src);
	evt_reader_done(r);
	evt_reader_done(w);
	evt_queue_done(q);
out_free:
	kfree(p);
}

/*
 * The policy changes at run time and applies to the next push; a
 * producer asleep under block is woken when the policy leaves block.
 */
static void evt_policy_switch(struct evt_ctx *ctx)
{
	struct evt_fix f;
	struct evt_one_push o = {};
	struct evcore_stats st;
	struct evt_thread t;
	struct evt_heads h;
	struct evt_stream s;
	ssize_t ret;

	if (!evt_fix_init(ctx, &f, 2, 8, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	evt_stream_init(&s, f.q, &f.src, false);

	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 0, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 1, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 2, 8), -ENOSPC);
	/* Outside block, evcore_push_wait() is evcore_push(). */
	EVT_EXPECT_EQ(ctx, evt_push_wait_n(&f.src, 3, 8, true), -ENOSPC);

	EVT_EXPECT_EQ(ctx, evcore_queue_set_policy(f.q, EVCORE_POLICY_DROP_OLDEST),
		      0);
	EVT_EXPECT_EQ(ctx, evcore_queue_policy(f.q), EVCORE_POLICY_DROP_OLDEST);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 4, 8), 0);
	EVT_EXPECT_STATS(ctx, f.q, 5, 3, 2, 1, 0, 3, 2);

	EVT_EXPECT_EQ(ctx, evcore_queue_set_policy(f.q, EVCORE_POLICY_BLOCK), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 5, 8), -ENOSPC);
	EVT_EXPECT_EQ(ctx, evt_push_wait_n(&f.src, 6, 8, true), -EAGAIN);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLOUT, 0);

	/* Unknown policies change nothing. */
	EVT_EXPECT_EQ(ctx, evcore_queue_set_policy(f.q, EVCORE_POLICY_BLOCK + 1),
		      -EINVAL);
	EVT_EXPECT_EQ(ctx, evcore_queue_set_policy(f.q, U32_MAX), -EINVAL);
	EVT_EXPECT_EQ(ctx, evcore_queue_policy(f.q), EVCORE_POLICY_BLOCK);
	evcore_queue_get_stats(f.q, &st);
	EVT_EXPECT_EQ(ctx, st.policy, EVCORE_POLICY_BLOCK);

	/* A sleeping producer is let go when block is left. */
	o.src = &f.src;
	o.n = 6;
	o.payload_size = 8;
	if (!evt_heads_find(ctx, f.r, &h) ||
	    !evt_thread_start(ctx, &t, evt_one_push_fn, &o, f.q, 1))
		goto out;
	if (evt_wait_sleepers(ctx, &h, 1, &t))
		EVT_EXPECT_EQ(ctx, evcore_queue_set_policy(f.q, EVCORE_POLICY_DROP_OLDEST),
			      0);
	evt_thread_join(ctx, &t);
	EVT_EXPECT_EQ(ctx, o.ret, 0);
	EVT_EXPECT_STATS(ctx, f.q, 7, 4, 3, 2, 1, 4, 2);

	/*
	 * The reader lost seq 0 and 1 (overwritten) and events 2 and 3
	 * (refused) before seq 2, then event 5 (refused) before seq 3.
	 */
	ret = evt_read(ctx, f.r, 8 * f.rs, true);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 2, 4 }, { 2, 0 }, { 3, 1 }, { 3, 0 });
	if (ret > 0)
		evt_stream_feed(&s, ctx->kbuf, ret, f.rs);
	EVT_EXPECT_STREAM(ctx, &s);
	EVT_EXPECT_EQ(ctx, s.events + s.lost, 7);
out:
	evt_fix_done(&f);
}

/*
 * Loss accounting with refused and overwritten events mixed, for two
 * readers at different positions: each loss record counts exactly what
 * that reader missed at that point.
 */
static void evt_loss_accounting_mixed(struct evt_ctx *ctx)
{
	struct evcore_reader *a = NULL, *b = NULL;
	struct evcore_source src = {};
	struct evcore_reader_stats rst;
	struct evt_stream sa, sb;
	struct evcore_queue *q;
	unsigned int i;
	size_t rs;
	ssize_t ret;

	q = evt_queue(ctx, 4, 8, EVCORE_POLICY_DROP_NEWEST);
	if (!q)
		return;
	rs = evcore_record_size(q);
	a = evt_reader(ctx, q);
	b = evt_reader(ctx, q);
	if (!a || !b || !evt_register(ctx, q, &src, "mixed", 0))
		goto out;
	evt_stream_init(&sa, q, &src, false);
	evt_stream_init(&sb, q, &src, false);

	for (i = 0; i < 4; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&src, i, 8), 0);
	ret = evt_read(ctx, b, 2 * rs, true);
	EVT_EXPECT_RECORDS(ctx, q, ret, { 0, 0 }, { 1, 0 });
	if (ret > 0)
		evt_stream_feed(&sb, ctx->kbuf, ret, rs);
	/* a still holds seq 0: the queue is full, three are refused. */
	for (i = 4; i < 7; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&src, i, 8), -ENOSPC);
	EVT_EXPECT_EQ(ctx, evcore_queue_set_policy(q, EVCORE_POLICY_DROP_OLDEST),
		      0);
	/* Two overwritten: seq 0 and 1. */
	EVT_EXPECT_EQ(ctx, evt_push_n(&src, 7, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&src, 8, 8), 0);
	EVT_EXPECT_STATS(ctx, q, 9, 6, 3, 2, 0, 6, 4);

	ret = evt_read(ctx, a, 16 * rs, true);
	EVT_EXPECT_RECORDS(ctx, q, ret, { 2, 2 }, { 2, 0 }, { 3, 0 }, { 4, 3 },
			   { 4, 0 }, { 5, 0 });
	if (ret > 0)
		evt_stream_feed(&sa, ctx->kbuf, ret, rs);
	ret = evt_read(ctx, b, 16 * rs, true);
	EVT_EXPECT_RECORDS(ctx, q, ret, { 2, 0 }, { 3, 0 }, { 4, 3 }, { 4, 0 },
			   { 5, 0 });
	if (ret > 0)
		evt_stream_feed(&sb, ctx->kbuf, ret, rs);
	EVT_EXPECT_STREAM(ctx, &sa);
	EVT_EXPECT_STREAM(ctx, &sb);

	evcore_reader_get_stats(a, &rst);
	EVT_EXPECT_EQ(ctx, rst.read, 4);
	EVT_EXPECT_EQ(ctx, rst.lost, 5);
	evcore_reader_get_stats(b, &rst);
	EVT_EXPECT_EQ(ctx, rst.read, 6);
	EVT_EXPECT_EQ(ctx, rst.lost, 3);
	EVT_EXPECT_EQ(ctx, sa.events + sa.lost, 9);
	EVT_EXPECT_EQ(ctx, sb.events + sb.lost, 9);
out:
	evt_unregister(&src);
	evt_reader_done(b);
	evt_reader_done(a);
	evt_queue_done(q);
}

/* A reader thread checking every record it gets until it saw @total. */
struct evt_consumer {
	struct evcore_reader *r;
	struct evcore_queue *q;
	struct evt_stream s;
	u64 total;
	unsigned int chunk;
	unsigned int nap_us;
	ssize_t err;
};

static int evt_consumer_fn(struct evt_thread *t)
{
	struct evt_consumer *c = t->arg;
	size_t rs = evcore_record_size(c->q);
	unsigned int reads = 0;
	ssize_t ret;

	while (c->s.events + c->s.lost < c->total && !evt_thread_stopping()) {
		ret = evt_thread_read(t, c->r, c->chunk * rs, false);
		if (ret <= 0) {
			c->err = ret;
			break;
		}
		evt_stream_feed(&c->s, t->kbuf, ret, rs);
		/* Pace: some readers fall behind on purpose. */
		if (c->nap_us && !(++reads % 4))
			usleep_range(c->nap_us, 2 * c->nap_us);
	}
	return 0;
}

/* A producer thread pushing events 0 to @total - 1 as fast as it can. */
struct evt_producer {
	struct evcore_source *src;
	u64 total;
	bool wait;
	u64 queued;
	u64 refused;
	int err;
};

static int evt_producer_fn(struct evt_thread *t)
{
	struct evt_producer *p = t->arg;
	u64 n;
	int ret;

	for (n = 0; n < p->total && !evt_thread_stopping(); n++) {
		ret = p->wait ? evt_push_wait_n(p->src, n, 8, false) :
				evt_push_n(p->src, n, 8);
		if (!ret) {
			p->queued++;
		} else if (ret == -ENOSPC && !p->wait) {
			p->refused++;
		} else {
			p->err = ret;
			break;
		}
		/* Now and then, give the readers time to catch up. */
		if (!(n % 64))
			usleep_range(20, 100);
	}
	return 0;
}

#define EVT_READERS	8
#define EVT_MANY_EVENTS	10000

/*
 * Eight readers at different paces read one producer's events while it
 * pushes: each sees every event or a loss record that accounts for it
 * exactly, and the counters add up.
 */
static void evt_many_readers(struct evt_ctx *ctx, u32 policy)
{
	struct evt_consumer *c;
	struct evt_thread *t;
	struct evcore_source src = {};
	struct evcore_source_stats sst;
	struct evt_producer p = {};
	struct evcore_stats st;
	struct evcore_queue *q;
	u64 delivered = 0;
	unsigned int i, started = 0;
	bool ok;

	c = kcalloc(EVT_READERS, sizeof(*c), GFP_KERNEL);
	t = kcalloc(EVT_READERS + 1, sizeof(*t), GFP_KERNEL);
	if (!EVT_EXPECT(ctx, c && t))
		goto out_free;
	q = evt_queue(ctx, 64, 8, policy);
	if (!q)
		goto out_free;
	if (!evt_register(ctx, q, &src, "many", 0))
		goto out;
	for (i = 0; i < EVT_READERS; i++) {
		c[i].r = evt_reader(ctx, q);
		if (!c[i].r)
			goto out;
		c[i].q = q;
		c[i].total = EVT_MANY_EVENTS;
		c[i].chunk = 1U << (i % 4);
		c[i].nap_us = i < 4 ? 0 : 50 * (i - 3);
		evt_stream_init(&c[i].s, q, &src,
				policy != EVCORE_POLICY_DROP_OLDEST);
	}
	for (i = 0; i < EVT_READERS; i++) {
		if (!evt_thread_start(ctx, &t[i], evt_consumer_fn, &c[i], q,
				      i + 1))
			break;
		started++;
	}
	p.src = &src;
	p.total = EVT_MANY_EVENTS;
	p.wait = policy == EVCORE_POLICY_BLOCK;
	ok = started == EVT_READERS &&
	     evt_thread_start(ctx, &t[EVT_READERS], evt_producer_fn, &p, q,
			      EVT_READERS + 1);
	if (ok)
		evt_thread_join(ctx, &t[EVT_READERS]);
	else
		evcore_queue_shutdown(q);
	for (i = 0; i < started; i++)
		evt_thread_join(ctx, &t[i]);
	if (!ok)
		goto out;

	EVT_EXPECT_EQ(ctx, p.err, 0);
	EVT_EXPECT_EQ(ctx, p.queued + p.refused, EVT_MANY_EVENTS);
	for (i = 0; i < EVT_READERS; i++) {
		if (!evt_check(ctx, !c[i].s.bad && !c[i].err &&
			       c[i].s.events + c[i].s.lost == EVT_MANY_EVENTS,
			       __FILE__, __LINE__,
			       "reader %u (%u a read, nap %u us): %llu read, %llu lost",
			       i, c[i].chunk, c[i].nap_us, c[i].s.events,
			       c[i].s.lost)) {
			EVT_EXPECT_EQ(ctx, c[i].err, 0);
			EVT_EXPECT_STREAM(ctx, &c[i].s);
			continue;
		}
		delivered += c[i].s.events;
		if (policy == EVCORE_POLICY_BLOCK)
			EVT_EXPECT_EQ(ctx, c[i].s.lost, 0);
		if (policy == EVCORE_POLICY_DROP_OLDEST)
			EVT_EXPECT_EQ(ctx, c[i].s.last_seq, EVT_MANY_EVENTS - 1);
	}
	EVT_NOTE(ctx, "%s: %llu queued, %llu refused; lost %llu/%llu (first/last reader)",
		 evcore_policy_name(policy), p.queued, p.refused, c[0].s.lost,
		 c[EVT_READERS - 1].s.lost);

	evcore_queue_get_stats(q, &st);
	EVT_EXPECT_EQ(ctx, st.generated, EVT_MANY_EVENTS);
	EVT_EXPECT_EQ(ctx, st.queued, p.queued);
	EVT_EXPECT_EQ(ctx, st.dropped_full, p.refused);
	EVT_EXPECT_EQ(ctx, st.next_seq, p.queued);
	EVT_EXPECT_EQ(ctx, st.delivered, delivered);
	EVT_EXPECT_EQ(ctx, st.readers, EVT_READERS);
	EVT_EXPECT_EQ(ctx, st.would_block, 0);
	if (policy != EVCORE_POLICY_DROP_NEWEST)
		EVT_EXPECT_EQ(ctx, p.refused, 0);
	if (policy != EVCORE_POLICY_DROP_OLDEST)
		EVT_EXPECT_EQ(ctx, st.overwritten, 0);
	evcore_source_get_stats(&src, &sst);
	EVT_EXPECT_EQ(ctx, sst.generated, EVT_MANY_EVENTS);
	EVT_EXPECT_EQ(ctx, sst.delivered, delivered);
	EVT_EXPECT_EQ(ctx, sst.overwritten, st.overwritten);
out:
	evt_unregister(&src);
	for (i = 0; i < EVT_READERS; i++)
		evt_reader_done(c[i].r);
	evt_queue_done(q);
out_free:
	kfree(t);
	kfree(c);
}

static void evt_many_readers_drop_oldest(struct evt_ctx *ctx)
{
	evt_many_readers(ctx, EVCORE_POLICY_DROP_OLDEST);
}

static void evt_many_readers_drop_newest(struct evt_ctx *ctx)
{
	evt_many_readers(ctx, EVCORE_POLICY_DROP_NEWEST);
}

static void evt_many_readers_block(struct evt_ctx *ctx)
{
	evt_many_readers(ctx, EVCORE_POLICY_BLOCK);
}

/*
 * A reader of new events only starts at the head: none of what the queue
 * held, no loss from before it, and what nobody needs any more is freed.
 */
static void evt_reader_open_new(struct evt_ctx *ctx)
{
	struct evcore_reader *r = NULL;
	struct evcore_stats st;
	struct evt_fix f;
	u32 i;

	if (!evt_fix_init(ctx, &f, 4, 8, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	/* Full, then one refused: a loss the old reader has to read. */
	for (i = 0; i < 5; i++)
		evt_push_n(&f.src, i, 8);
	evt_reader_done(f.r);
	f.r = NULL;
	r = evcore_reader_open_new(f.q);
	if (!EVT_EXPECT_ERR(ctx, r, 0)) {
		r = NULL;
		goto out;
	}
	evcore_queue_get_stats(f.q, &st);
	EVT_EXPECT_EQ(ctx, st.depth, 0);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, r, 4 * f.rs, true), -EAGAIN);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 5, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, r, 4 * f.rs, true), f.rs);
	EVT_EXPECT_EQ(ctx, evt_rec(ctx, f.q, 0)->seq, 4);
	EVT_EXPECT_EQ(ctx, evt_rec(ctx, f.q, 0)->flags, 0);
out:
	evt_reader_done(r);
	evt_fix_done(&f);
}

/*
 * A reader opened late starts at the oldest record held: it reads what
 * the queue kept (with no reader open nothing is freed), then what comes
 * after.
 */
static void evt_late_reader(struct evt_ctx *ctx)
{
	static const u32 policies[] = {
		EVCORE_POLICY_DROP_NEWEST, EVCORE_POLICY_BLOCK,
	};
	struct evcore_reader *r = NULL;
	struct evcore_source src = {};
	struct evt_stream s;
	struct evcore_queue *q;
	unsigned int i, p;
	ssize_t ret;

	for (p = 0; p < ARRAY_SIZE(policies); p++) {
		q = evt_queue(ctx, 8, 8, policies[p]);
		if (!q)
			return;
		memset(&src, 0, sizeof(src));
		if (!evt_register(ctx, q, &src, "late", 0))
			goto out;
		for (i = 0; i < 8; i++)
			EVT_EXPECT_EQ(ctx, evt_push_n(&src, i, 8), 0);
		r = evt_reader(ctx, q);
		if (!r)
			goto out;
		EVT_EXPECT_POLL(ctx, evt_poll(r), EPOLLIN | EPOLLPRI, EPOLLIN);
		evt_stream_init(&s, q, &src, true);
		ret = evt_drain(ctx, r, q, &s, 3);
		EVT_EXPECT_EQ(ctx, ret, -EAGAIN);
		EVT_EXPECT_EQ(ctx, evt_push_n(&src, 8, 8), 0);
		EVT_EXPECT_EQ(ctx, evt_drain(ctx, r, q, &s, 3), -EAGAIN);
		EVT_EXPECT_STREAM(ctx, &s);
		EVT_EXPECT_EQ(ctx, s.events, 9);
		EVT_EXPECT_EQ(ctx, s.losses, 0);
out:
		evt_unregister(&src);
		evt_reader_done(r);
		r = NULL;
		evt_queue_done(q);
	}

	/* Drop-oldest: the newest records survive; opening loses nothing. */
	q = evt_queue(ctx, 4, 8, EVCORE_POLICY_DROP_OLDEST);
	if (!q)
		return;
	memset(&src, 0, sizeof(src));
	if (!evt_register(ctx, q, &src, "late", 0))
		goto out_oldest;
	for (i = 0; i < 10; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&src, i, 8), 0);
	r = evt_reader(ctx, q);
	if (!r)
		goto out_oldest;
	EVT_EXPECT_POLL(ctx, evt_poll(r), EPOLLIN | EPOLLPRI, EPOLLIN);
	ret = evt_read(ctx, r, 8 * evcore_record_size(q), true);
	EVT_EXPECT_RECORDS(ctx, q, ret, { 6, 0 }, { 7, 0 }, { 8, 0 }, { 9, 0 });
out_oldest:
	evt_unregister(&src);
	evt_reader_done(r);
	evt_queue_done(q);
}

/*
 * Under drop-oldest too, a record is freed once every open reader has read
 * it: depth is what the slowest reader has left, a reader opened afterwards
 * starts after what was read, and only records some reader never read are
 * counted as overwritten.
 */
static void evt_drop_oldest_frees_read(struct evt_ctx *ctx)
{
	struct evcore_reader *a = NULL, *b = NULL;
	struct evcore_source src = {};
	struct evcore_stats st;
	struct evcore_queue *q;
	unsigned int i;
	ssize_t ret;
	size_t rs;

	q = evt_queue(ctx, 4, 8, EVCORE_POLICY_DROP_OLDEST);
	if (!q)
		return;
	rs = evcore_record_size(q);
	a = evt_reader(ctx, q);
	if (!a || !evt_register(ctx, q, &src, "history", 0))
		goto out;
	for (i = 0; i < 6; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&src, i, 8), 0);
	ret = evt_read(ctx, a, 8 * rs, true);
	EVT_EXPECT_RECORDS(ctx, q, ret, { 2, 2 }, { 2, 0 }, { 3, 0 }, { 4, 0 },
			   { 5, 0 });
	evcore_queue_get_stats(q, &st);
	EVT_EXPECT_EQ(ctx, st.depth, 0);

	b = evt_reader(ctx, q);
	if (!b)
		goto out;
	ret = evt_read(ctx, b, 8 * rs, true);
	EVT_EXPECT_EQ(ctx, ret, -EAGAIN);
	/* The ring has room again: nothing more is overwritten. */
	for (i = 6; i < 8; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&src, i, 8), 0);
	EVT_EXPECT_STATS(ctx, q, 8, 8, 0, 2, 0, 8, 2);
	ret = evt_read(ctx, a, 8 * rs, true);
	EVT_EXPECT_RECORDS(ctx, q, ret, { 6, 0 }, { 7, 0 });
	/* b still holds them: depth stays until the slowest reader reads. */
	evcore_queue_get_stats(q, &st);
	EVT_EXPECT_EQ(ctx, st.depth, 2);
	ret = evt_read(ctx, b, 8 * rs, true);
	EVT_EXPECT_RECORDS(ctx, q, ret, { 6, 0 }, { 7, 0 });
	evcore_queue_get_stats(q, &st);
	EVT_EXPECT_EQ(ctx, st.depth, 0);
out:
	evt_unregister(&src);
	evt_reader_done(b);
	evt_reader_done(a);
	evt_queue_done(q);
}

/* Count the records in ctx->kbuf by source id; loss records under id 0. */
static void evt_count_ids(struct evt_ctx *ctx, struct evcore_queue *q,
			  ssize_t bytes, unsigned int *ids, unsigned int n)
{
	size_t rs = evcore_record_size(q);
	struct evcore_event *ev;
	unsigned int i;

	memset(ids, 0, n * sizeof(*ids));
	for (i = 0; bytes > 0 && i < bytes / rs; i++) {
		ev = evt_rec(ctx, q, i);
		if (ev->source_id < n)
			ids[ev->source_id]++;
	}
}

struct evt_filter_reader {
	u64 filter;
	unsigned int want[3];
};

/*
 * A reader's source filter: it reads only the sources it selected, in
 * order, counts the others as filtered, wakes only for its own sources,
 * and still gets loss records.
 */
static void evt_reader_filter(struct evt_ctx *ctx)
{
	/* Events 1-10 of source 1, 1-10 of source 2, 2 of source 63. */
	static const struct evt_filter_reader fr[] = {
		{ BIT_ULL(1), { 0, 10, 0 } },
		{ BIT_ULL(2), { 0, 0, 10 } },
		{ BIT_ULL(63), { 0, 0, 0 } },
		{ U64_MAX, { 0, 10, 10 } },
		{ 0, { 0, 0, 0 } },
	};
	struct evcore_reader *r[ARRAY_SIZE(fr)] = {};
	struct evcore_source a = {}, b = {}, c = {};
	struct evcore_reader_stats rst;
	struct evt_one_read o = {};
	struct evcore_queue *q;
	struct evt_thread t;
	struct evt_heads h;
	unsigned int ids[3], i;
	size_t rs;
	ssize_t ret;

	q = evt_queue(ctx, 64, 8, EVCORE_POLICY_DROP_NEWEST);
	if (!q)
		return;
	rs = evcore_record_size(q);
	if (!evt_register(ctx, q, &a, "a", 1) ||
	    !evt_register(ctx, q, &b, "b", 2) ||
	    !evt_register(ctx, q, &c, "c", EVCORE_SOURCE_ID_MAX))
		goto out;
	for (i = 0; i < ARRAY_SIZE(fr); i++) {
		r[i] = evt_reader(ctx, q);
		if (!r[i])
			goto out;
		evcore_reader_set_filter(r[i], fr[i].filter);
		evcore_reader_get_stats(r[i], &rst);
		EVT_EXPECT_EQ(ctx, rst.filter, fr[i].filter);
	}

	for (i = 0; i < 10; i++) {
		EVT_EXPECT_EQ(ctx, evcore_push(&a, 0, i, NULL, 0), 0);
		EVT_EXPECT_EQ(ctx, evcore_push(&b, 0, i, NULL, 0), 0);
	}
	EVT_EXPECT_EQ(ctx, evcore_push(&c, 0, 0, NULL, 0), 0);
	EVT_EXPECT_EQ(ctx, evcore_push(&c, 0, 1, NULL, 0), 0);

	for (i = 0; i < ARRAY_SIZE(fr); i++) {
		unsigned int want = fr[i].want[1] + fr[i].want[2] +
				    (fr[i].filter & BIT_ULL(63) ? 2 : 0);

		EVT_EXPECT_POLL(ctx, evt_poll(r[i]), EPOLLIN,
				want ? EPOLLIN : 0);
		ret = evt_read(ctx, r[i], 64 * rs, true);
		if (!want) {
			EVT_EXPECT_EQ(ctx, ret, -EAGAIN);
		} else if (EVT_EXPECT_EQ(ctx, ret, want * rs)) {
			evt_count_ids(ctx, q, ret, ids, ARRAY_SIZE(ids));
			EVT_EXPECT_EQ(ctx, ids[0], 0);
			EVT_EXPECT_EQ(ctx, ids[1], fr[i].want[1]);
			EVT_EXPECT_EQ(ctx, ids[2], fr[i].want[2]);
		}
		evcore_reader_get_stats(r[i], &rst);
		EVT_EXPECT_EQ(ctx, rst.read, want);
		EVT_EXPECT_EQ(ctx, rst.filtered, 22 - want);
		EVT_EXPECT_EQ(ctx, rst.position, 22);
		EVT_EXPECT_EQ(ctx, rst.lag, 0);
	}
	/* Records of source 63 come in order, with their own source_seq. */
	EVT_EXPECT_EQ(ctx, evcore_push(&c, 0, 2, NULL, 0), 0);
	ret = evt_read(ctx, r[2], 4 * rs, true);
	if (EVT_EXPECT_EQ(ctx, ret, rs)) {
		EVT_EXPECT_EQ(ctx, evt_rec(ctx, q, 0)->source_id, 63);
		EVT_EXPECT_EQ(ctx, evt_rec(ctx, q, 0)->source_seq, 2);
		EVT_EXPECT_EQ(ctx, evt_rec(ctx, q, 0)->seq, 22);
	}

	/* A sleeping reader of source 1 is not returned events of 2. */
	o.r = r[0];
	o.count = 8 * rs;
	if (!evt_heads_find(ctx, r[0], &h) ||
	    !evt_thread_start(ctx, &t, evt_one_read_fn, &o, q, 1))
		goto out;
	if (evt_wait_sleepers(ctx, &h, 1, &t)) {
		EVT_EXPECT_EQ(ctx, evcore_push(&b, 0, 10, NULL, 0), 0);
		EVT_EXPECT_POLL(ctx, evt_poll(r[0]), EPOLLIN, 0);
		EVT_EXPECT_EQ(ctx, evcore_push(&a, 0, 10, NULL, 0), 0);
	}
	evt_thread_join(ctx, &t);
	EVT_EXPECT_EQ(ctx, o.ret, rs);
	EVT_EXPECT_EQ(ctx, o.first.source_id, 1);
	EVT_EXPECT_EQ(ctx, o.first.aux, 10);
	EVT_EXPECT_EQ(ctx, o.first.seq, 24);
out:
	for (i = 0; i < ARRAY_SIZE(fr); i++)
		evt_reader_done(r[i]);
	evt_unregister(&c);
	evt_unregister(&b);
	evt_unregister(&a);
	evt_queue_done(q);

	/*
	 * A filtered reader holds nothing of the sources it skips: they
	 * overflow nobody and it loses none of them.
	 */
	q = evt_queue(ctx, 4, 8, EVCORE_POLICY_DROP_OLDEST);
	if (!q)
		return;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	r[0] = evt_reader(ctx, q);
	if (!r[0] || !evt_register(ctx, q, &a, "a", 1) ||
	    !evt_register(ctx, q, &b, "b", 2))
		goto out_loss;
	evcore_reader_set_filter(r[0], BIT_ULL(1));
	for (i = 0; i < 6; i++)
		EVT_EXPECT_EQ(ctx, evcore_push(&b, 0, i, NULL, 0), 0);
	EVT_EXPECT_POLL(ctx, evt_poll(r[0]), EPOLLIN | EPOLLPRI, 0);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, r[0], 8 * rs, true), -EAGAIN);
	evcore_reader_get_stats(r[0], &rst);
	EVT_EXPECT_EQ(ctx, rst.lost, 0);
	EVT_EXPECT_EQ(ctx, rst.filtered, 6);
	EVT_EXPECT_STATS(ctx, q, 6, 6, 0, 0, 0, 6, 0);

	/* It loses exactly the wanted records that were overwritten... */
	for (i = 0; i < 6; i++)
		EVT_EXPECT_EQ(ctx, evcore_push(&a, 0, i, NULL, 0), 0);
	EVT_EXPECT_POLL(ctx, evt_poll(r[0]), EPOLLIN | EPOLLPRI,
			EPOLLIN | EPOLLPRI);
	ret = evt_read(ctx, r[0], 8 * rs, true);
	EVT_EXPECT_RECORDS(ctx, q, ret, { 8, 2 }, { 8 }, { 9 }, { 10 },
			   { 11 });
	evcore_reader_get_stats(r[0], &rst);
	EVT_EXPECT_EQ(ctx, rst.lost, 2);
	EVT_EXPECT_EQ(ctx, rst.read, 4);

	/* ... and every refused event: those pass every filter. */
	EVT_EXPECT_EQ(ctx, evcore_queue_set_policy(q, EVCORE_POLICY_DROP_NEWEST),
		      0);
	for (i = 0; i < 4; i++)
		EVT_EXPECT_EQ(ctx, evcore_push(&a, 0, i, NULL, 0), 0);
	EVT_EXPECT_EQ(ctx, evcore_push(&b, 0, 0, NULL, 0), -ENOSPC);
	ret = evt_read(ctx, r[0], 8 * rs, true);
	EVT_EXPECT_RECORDS(ctx, q, ret, { 12 }, { 13 }, { 14 }, { 15 },
			   { 16, 1 });
	EVT_EXPECT_EQ(ctx, evt_read(ctx, r[0], 8 * rs, true), -EAGAIN);
out_loss:
	evt_reader_done(r[0]);
	evt_unregister(&b);
	evt_unregister(&a);
	evt_queue_done(q);
}

/* Wait until the reading thread sleeps again, or returned. */
static bool evt_wait_resleep(struct evt_ctx *ctx, struct evt_heads *h,
			     struct evt_thread *t)
{
	return evt_wait_sleepers(ctx, h, 1, t) &&
	       EVT_EXPECT(ctx, !evt_thread_done(t));
}

/*
 * The watermark: poll and a blocking read wait for that many wanted
 * events; a loss record wakes whatever the watermark.
 */
static void evt_reader_watermark(struct evt_ctx *ctx)
{
	struct evt_fix f;
	struct evcore_reader *hold = NULL;
	struct evcore_source other = {};
	struct evcore_reader_stats rst;
	struct evt_one_read o = {};
	struct evt_thread t;
	struct evt_heads h;
	unsigned int i;
	ssize_t ret;

	if (!evt_fix_init(ctx, &f, 4, 8, EVCORE_POLICY_DROP_NEWEST) ||
	    !evt_register(ctx, f.q, &other, "other", 2))
		goto out;

	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.watermark, 1);
	EVT_EXPECT_EQ(ctx, evcore_reader_set_watermark(f.r, 0), -EINVAL);
	EVT_EXPECT_EQ(ctx, evcore_reader_set_watermark(f.r, 5), -EINVAL);
	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.watermark, 1);
	EVT_EXPECT_EQ(ctx, evcore_reader_set_watermark(f.r, 4), 0);
	EVT_EXPECT_EQ(ctx, evcore_reader_set_watermark(f.r, 3), 0);
	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.watermark, 3);

	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 0, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 1, 8), 0);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLIN, 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 2, 8), 0);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLIN, EPOLLIN);
	ret = evt_read(ctx, f.r, 8 * f.rs, false);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 0, 0 }, { 1, 0 }, { 2, 0 });

	/* A blocking read sleeps through the first two events. */
	o.r = f.r;
	o.count = 8 * f.rs;
	if (!evt_heads_find(ctx, f.r, &h) ||
	    !evt_thread_start(ctx, &t, evt_one_read_fn, &o, f.q, 1))
		goto out;
	if (evt_wait_sleepers(ctx, &h, 1, &t)) {
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 3, 8), 0);
		if (evt_wait_resleep(ctx, &h, &t)) {
			EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 4, 8), 0);
			if (evt_wait_resleep(ctx, &h, &t))
				EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 5, 8), 0);
		}
	}
	evt_thread_join(ctx, &t);
	EVT_EXPECT_EQ(ctx, o.ret, 3 * f.rs);
	EVT_EXPECT_EQ(ctx, o.first.seq, 3);

	/* Only wanted events count toward the watermark. */
	evcore_reader_set_filter(f.r, BIT_ULL(1));
	EVT_EXPECT_EQ(ctx, evcore_reader_set_watermark(f.r, 2), 0);
	EVT_EXPECT_EQ(ctx, evcore_push(&other, 0, 0, NULL, 0), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 6, 8), 0);
	EVT_EXPECT_EQ(ctx, evcore_push(&other, 0, 1, NULL, 0), 0);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLIN, 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 7, 8), 0);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLIN, EPOLLIN);
	ret = evt_read(ctx, f.r, 8 * f.rs, false);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 7, 0 }, { 9, 0 });

	/* A pending loss wakes with no event waiting. */
	evcore_reader_set_filter(f.r, U64_MAX);
	hold = evt_reader(ctx, f.q);
	if (!hold)
		goto out;
	for (i = 8; i < 12; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 8), 0);
	ret = evt_read(ctx, f.r, 8 * f.rs, false);
	EVT_EXPECT_EQ(ctx, ret, 4 * f.rs);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 12, 8), -ENOSPC);
	EVT_EXPECT_POLL(ctx, evt_poll(f.r), EPOLLIN | EPOLLPRI,
			EPOLLIN | EPOLLPRI);
	ret = evt_read(ctx, f.r, 8 * f.rs, false);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 14, 1 });
out:
	evt_reader_done(hold);
	evt_unregister(&other);
	evt_fix_done(&f);
}

/* Whether the seq_file text holds this "evcore-<field>:\t<value>" line. */
static bool evt_fdinfo_has(const char *text, const char *line)
{
	return strstr(text, line);
}

/*
 * A reader's figures: position, lag, events read and lost, as stats and
 * as fdinfo lines.
 */
static void evt_reader_stats(struct evt_ctx *ctx)
{
	struct evt_fix f;
	struct evcore_reader_stats rst;
	struct seq_file m = {};
	unsigned int i;
	ssize_t ret;

	if (!evt_fix_init(ctx, &f, 8, 8, EVCORE_POLICY_DROP_OLDEST))
		goto out;

	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.position, 0);
	EVT_EXPECT_EQ(ctx, rst.lag, 0);
	EVT_EXPECT_EQ(ctx, rst.read, 0);
	EVT_EXPECT_EQ(ctx, rst.lost, 0);
	EVT_EXPECT_EQ(ctx, rst.filtered, 0);
	EVT_EXPECT(ctx, rst.filter == U64_MAX);
	EVT_EXPECT_EQ(ctx, rst.watermark, 1);

	for (i = 0; i < 3; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 8), 0);
	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.position, 0);
	EVT_EXPECT_EQ(ctx, rst.lag, 3);
	ret = evt_read(ctx, f.r, 2 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 2 * f.rs);
	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.position, 2);
	EVT_EXPECT_EQ(ctx, rst.lag, 1);
	EVT_EXPECT_EQ(ctx, rst.read, 2);

	/* Seq 2, 3 and 4 are overwritten: the lag counts what is held. */
	for (i = 3; i < 13; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 8), 0);
	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.position, 2);
	EVT_EXPECT_EQ(ctx, rst.lag, 8);
	EVT_EXPECT_EQ(ctx, rst.lost, 0);
	ret = evt_read(ctx, f.r, 16 * f.rs, true);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 5, 3 }, { 5, 0 }, { 6, 0 }, { 7, 0 },
			   { 8, 0 }, { 9, 0 }, { 10, 0 }, { 11, 0 },
			   { 12, 0 });
	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.position, 13);
	EVT_EXPECT_EQ(ctx, rst.lag, 0);
	EVT_EXPECT_EQ(ctx, rst.read, 10);
	EVT_EXPECT_EQ(ctx, rst.lost, 3);

	evcore_reader_set_filter(f.r, 0x6);
	EVT_EXPECT_EQ(ctx, evcore_reader_set_watermark(f.r, 5), 0);
	m.size = PAGE_SIZE;
	m.buf = kzalloc(m.size, GFP_KERNEL);
	if (!EVT_EXPECT(ctx, m.buf))
		goto out;
	evcore_reader_show_fdinfo(f.r, &m);
	EVT_EXPECT(ctx, m.count > 0 && m.count < m.size);
	EVT_EXPECT(ctx, evt_fdinfo_has(m.buf, "evcore-queue:\tevt\n"));
	EVT_EXPECT(ctx, evt_fdinfo_has(m.buf, "evcore-position:\t13\n"));
	EVT_EXPECT(ctx, evt_fdinfo_has(m.buf, "evcore-lag:\t0\n"));
	EVT_EXPECT(ctx, evt_fdinfo_has(m.buf, "evcore-read:\t10\n"));
	EVT_EXPECT(ctx, evt_fdinfo_has(m.buf, "evcore-lost:\t3\n"));
	EVT_EXPECT(ctx, evt_fdinfo_has(m.buf, "evcore-filtered:\t0\n"));
	EVT_EXPECT(ctx, evt_fdinfo_has(m.buf, "evcore-filter:\t0x6\n"));
	EVT_EXPECT(ctx, evt_fdinfo_has(m.buf, "evcore-watermark:\t5\n"));
	kfree(m.buf);
out:
	evt_fix_done(&f);
}

/*
 * Queue statistics: every counter, the high-water mark, readers and
 * memory; a reset zeroes the counters of the queue and its sources but
 * keeps sequence numbers, positions and the losses readers are owed.
 */
static void evt_queue_stats_reset(struct evt_ctx *ctx)
{
	struct evcore_reader *r = NULL, *r2;
	struct evcore_source src = {};
	struct evcore_source_stats sst;
	struct evcore_reader_stats rst;
	struct evcore_stats st, st2;
	struct evcore_queue *q;
	unsigned int i;
	size_t rs;
	ssize_t ret;

	q = evt_queue(ctx, 4, 8, EVCORE_POLICY_DROP_NEWEST);
	if (!q)
		return;
	rs = evcore_record_size(q);
	evcore_queue_get_stats(q, &st);
	EVT_EXPECT_EQ(ctx, st.readers, 0);
	EVT_EXPECT_EQ(ctx, st.capacity, 4);
	EVT_EXPECT_EQ(ctx, st.policy, EVCORE_POLICY_DROP_NEWEST);
	EVT_EXPECT_EQ(ctx, st.high_water, 0);
	EVT_EXPECT(ctx, st.memory >= 4 * rs);
	r = evt_reader(ctx, q);
	if (!r || !evt_register(ctx, q, &src, "qstats", 0))
		goto out;
	evcore_queue_get_stats(q, &st2);
	EVT_EXPECT_EQ(ctx, st2.readers, 1);
	EVT_EXPECT(ctx, st2.memory > st.memory);
	r2 = evt_reader(ctx, q);
	if (r2) {
		evcore_queue_get_stats(q, &st);
		EVT_EXPECT_EQ(ctx, st.readers, 2);
		EVT_EXPECT(ctx, st.memory > st2.memory);
		evt_reader_done(r2);
		evcore_queue_get_stats(q, &st);
		EVT_EXPECT_EQ(ctx, st.readers, 1);
		EVT_EXPECT_EQ(ctx, st.memory, st2.memory);
	}

	for (i = 0; i < 6; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&src, i, 8), i < 4 ? 0 : -ENOSPC);
	ret = evt_read(ctx, r, 2 * rs, true);
	EVT_EXPECT_EQ(ctx, ret, 2 * rs);
	evcore_queue_get_stats(q, &st);
	EVT_EXPECT_EQ(ctx, st.generated, 6);
	EVT_EXPECT_EQ(ctx, st.queued, 4);
	EVT_EXPECT_EQ(ctx, st.delivered, 2);
	EVT_EXPECT_EQ(ctx, st.dropped_full, 2);
	EVT_EXPECT_EQ(ctx, st.high_water, 4);
	EVT_EXPECT_EQ(ctx, st.depth, 2);
	evcore_source_get_stats(&src, &sst);
	EVT_EXPECT_EQ(ctx, sst.delivered, 2);

	evcore_queue_reset_stats(q);
	EVT_EXPECT_STATS(ctx, q, 0, 0, 0, 0, 0, 4, 2);
	evcore_queue_get_stats(q, &st);
	EVT_EXPECT_EQ(ctx, st.delivered, 0);
	EVT_EXPECT_EQ(ctx, st.high_water, 2);
	EVT_EXPECT_EQ(ctx, st.readers, 1);
	evcore_source_get_stats(&src, &sst);
	EVT_EXPECT_EQ(ctx, sst.generated, 0);
	EVT_EXPECT_EQ(ctx, sst.queued, 0);
	EVT_EXPECT_EQ(ctx, sst.dropped, 0);
	EVT_EXPECT_EQ(ctx, sst.delivered, 0);
	EVT_EXPECT_EQ(ctx, sst.next_seq, 6);

	/* The loss from before the reset is still told, in place. */
	EVT_EXPECT_EQ(ctx, evt_push_n(&src, 6, 8), 0);
	ret = evt_read(ctx, r, 8 * rs, true);
	EVT_EXPECT_RECORDS(ctx, q, ret, { 2, 0 }, { 3, 0 }, { 4, 2 }, { 4, 0 });
	if (ret == 4 * rs)
		EVT_EXPECT_EQ(ctx, evt_rec(ctx, q, 3)->source_seq, 6);
	evcore_reader_get_stats(r, &rst);
	EVT_EXPECT_EQ(ctx, rst.lost, 2);
	EVT_EXPECT_EQ(ctx, rst.read, 5);
	EVT_EXPECT_STATS(ctx, q, 1, 1, 0, 0, 0, 5, 0);
	evcore_queue_get_stats(q, &st);
	EVT_EXPECT_EQ(ctx, st.delivered, 3);
	EVT_EXPECT_EQ(ctx, st.high_water, 3);
out:
	evt_unregister(&src);
	evt_reader_done(r);
	evt_queue_done(q);
}

/*
 * Resizing keeps every record held, the sequence numbers and the readers'
 * positions; it refuses with -EBUSY, changing nothing, when more records
 * are held than the new capacity.
 */
static void evt_resize(struct evt_ctx *ctx)
{
	struct evcore_reader *r = NULL, *w = NULL;
	struct evcore_source src = {};
	struct evcore_stats st;
	struct evt_stream s;
	struct evcore_queue *q;
	unsigned int i;
	size_t rs;
	ssize_t ret;

	q = evt_queue(ctx, 8, 16, EVCORE_POLICY_DROP_NEWEST);
	if (!q)
		return;
	rs = evcore_record_size(q);
	r = evt_reader(ctx, q);
	if (!r || !evt_register(ctx, q, &src, "resize", 0))
		goto out;
	evt_stream_init(&s, q, &src, true);
	for (i = 0; i < 5; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&src, i, 16), 0);

	EVT_EXPECT_EQ(ctx, evcore_queue_resize(q, 4), -EBUSY);
	EVT_EXPECT_EQ(ctx, evcore_queue_resize(q, 0), -EINVAL);
	EVT_EXPECT_EQ(ctx, evcore_queue_resize(q, EVCORE_MAX_CAPACITY + 1),
		      -EINVAL);
	EVT_EXPECT_EQ(ctx, evcore_queue_capacity(q), 8);
	EVT_EXPECT_STATS(ctx, q, 5, 5, 0, 0, 0, 5, 5);
	EVT_EXPECT_EQ(ctx, evcore_queue_resize(q, 8), 0);

	/* Two read, three held: shrink to four. */
	ret = evt_read(ctx, r, 2 * rs, true);
	EVT_EXPECT_EQ(ctx, ret, 2 * rs);
	if (ret > 0)
		evt_stream_feed(&s, ctx->kbuf, ret, rs);
	EVT_EXPECT_EQ(ctx, evcore_queue_resize(q, 4), 0);
	EVT_EXPECT_EQ(ctx, evcore_queue_capacity(q), 4);
	evcore_queue_get_stats(q, &st);
	EVT_EXPECT_EQ(ctx, st.capacity, 4);
	EVT_EXPECT_EQ(ctx, st.depth, 3);
	EVT_EXPECT_EQ(ctx, st.next_seq, 5);
	EVT_EXPECT_EQ(ctx, evt_push_n(&src, 5, 16), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&src, 6, 16), -ENOSPC);
	EVT_EXPECT_EQ(ctx, evt_drain(ctx, r, q, &s, 3), -EAGAIN);
	EVT_EXPECT_EQ(ctx, s.events, 6);
	EVT_EXPECT_EQ(ctx, s.lost, 1);

	/* Grow while the ring has wrapped. */
	for (i = 7; i < 10; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&src, i, 16), 0);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, r, rs, true), rs);
	evt_stream_feed(&s, ctx->kbuf, rs, rs);
	for (i = 10; i < 12; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&src, i, 16), 0);
	EVT_EXPECT_EQ(ctx, evcore_queue_resize(q, 16), 0);
	for (i = 12; i < 24; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&src, i, 16), 0);
	EVT_EXPECT_STATS(ctx, q, 24, 23, 1, 0, 0, 23, 16);
	EVT_EXPECT_EQ(ctx, evt_drain(ctx, r, q, &s, 5), -EAGAIN);
	EVT_EXPECT_STREAM(ctx, &s);
	EVT_EXPECT_EQ(ctx, s.events, 23);
	EVT_EXPECT_EQ(ctx, s.last_seq, 22);

	/* A watermark above the new capacity still wakes when full. */
	EVT_EXPECT_EQ(ctx, evcore_reader_set_watermark(r, 16), 0);
	EVT_EXPECT_EQ(ctx, evcore_queue_resize(q, 2), 0);
	EVT_EXPECT_EQ(ctx, evcore_reader_set_watermark(r, 3), -EINVAL);
	EVT_EXPECT_EQ(ctx, evt_push_n(&src, 24, 16), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&src, 25, 16), 0);
	EVT_EXPECT_POLL(ctx, evt_poll(r), EPOLLIN, EPOLLIN);
	EVT_EXPECT_EQ(ctx, evt_drain(ctx, r, q, &s, 5), -EAGAIN);
	EVT_EXPECT_STREAM(ctx, &s);
	EVT_EXPECT_EQ(ctx, s.events, 25);
out:
	evt_unregister(&src);
	evt_reader_done(r);
	evt_queue_done(q);

	/* Drop-oldest: a full queue cannot shrink, it can grow. */
	q = evt_queue(ctx, 4, 8, EVCORE_POLICY_DROP_OLDEST);
	if (!q)
		return;
	memset(&src, 0, sizeof(src));
	if (!evt_register(ctx, q, &src, "resize", 0))
		goto out_oldest;
	for (i = 0; i < 10; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&src, i, 8), 0);
	EVT_EXPECT_EQ(ctx, evcore_queue_resize(q, 2), -EBUSY);
	EVT_EXPECT_EQ(ctx, evcore_queue_resize(q, 8), 0);
	for (i = 10; i < 14; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&src, i, 8), 0);
	EVT_EXPECT_STATS(ctx, q, 14, 14, 0, 6, 0, 14, 8);
	w = evt_reader(ctx, q);
	if (!w)
		goto out_oldest;
	evt_stream_init(&s, q, &src, false);
	s.next_seq = 6;
	s.next_src_seq = 6;
	EVT_EXPECT_EQ(ctx, evt_drain(ctx, w, q, &s, 3), -EAGAIN);
	EVT_EXPECT_STREAM(ctx, &s);
	EVT_EXPECT_EQ(ctx, s.events, 8);
	EVT_EXPECT_EQ(ctx, s.losses, 0);
out_oldest:
	evt_reader_done(w);
	evt_unregister(&src);
	evt_queue_done(q);
}

/*
 * The source registry: ids given automatically (lowest free) or
 * explicitly, duplicates and bad ids refused, a full table reported, ids
 * reusable after unregistering.
 */
static void evt_source_registry(struct evt_ctx *ctx)
{
	struct evcore_source *srcs, extra = {};
	struct evcore_queue *q;
	unsigned int i;
	int ret;

	srcs = kcalloc(EVCORE_SOURCE_ID_MAX + 1, sizeof(*srcs), GFP_KERNEL);
	if (!EVT_EXPECT(ctx, srcs))
		return;
	q = evt_queue(ctx, 4, 0, EVCORE_POLICY_DROP_NEWEST);
	if (!q)
		goto out_free;

	EVT_EXPECT_EQ(ctx, evcore_source_register(q, &srcs[0], "s0", 0), 0);
	EVT_EXPECT_EQ(ctx, srcs[0].id, 1);
	EVT_EXPECT(ctx, srcs[0].name && !strcmp(srcs[0].name, "s0"));
	EVT_EXPECT_EQ(ctx, evcore_source_register(q, &srcs[1], "s1", 5), 0);
	EVT_EXPECT_EQ(ctx, srcs[1].id, 5);
	EVT_EXPECT_EQ(ctx, evcore_source_register(q, &srcs[2], "s2", 0), 0);
	EVT_EXPECT_EQ(ctx, srcs[2].id, 2);
	EVT_EXPECT(ctx, evcore_source_is_enabled(&srcs[2]));

	/* Refusals leave the source unregistered. */
	EVT_EXPECT_EQ(ctx, evcore_source_register(q, &extra, "dup", 5),
		      -EEXIST);
	EVT_EXPECT_EQ(ctx, evcore_source_register(q, &extra, "big",
						  EVCORE_SOURCE_ID_MAX + 1),
		      -EINVAL);
	EVT_EXPECT_EQ(ctx, evcore_source_register(q, &extra, NULL, 0), -EINVAL);
	EVT_EXPECT(ctx, !evcore_source_is_enabled(&extra));
	EVT_EXPECT_EQ(ctx, evcore_push(&extra, 0, 0, NULL, 0), -ENODEV);
	EVT_EXPECT_EQ(ctx, evcore_source_register(q, &srcs[0], "again", 0),
		      -EBUSY);
	EVT_EXPECT_EQ(ctx, srcs[0].id, 1);

	/* The records carry each source's id. */
	EVT_EXPECT_EQ(ctx, evcore_push(&srcs[1], 0, 0, NULL, 0), 0);

	/* Fill the table: ids 3, 4, 6, ... 63. */
	for (i = 3; i <= EVCORE_SOURCE_ID_MAX; i++) {
		ret = evcore_source_register(q, &srcs[i], "fill", 0);
		if (ret) {
			EVT_EXPECT_EQ(ctx, ret, -ENOSPC);
			EVT_EXPECT_EQ(ctx, i, EVCORE_SOURCE_ID_MAX);
			break;
		}
	}
	EVT_EXPECT_EQ(ctx, srcs[EVCORE_SOURCE_ID_MAX - 1].id,
		      EVCORE_SOURCE_ID_MAX);
	EVT_EXPECT_EQ(ctx, evcore_source_register(q, &extra, "full", 0),
		      -ENOSPC);
	EVT_EXPECT_EQ(ctx, evcore_source_register(q, &extra, "full",
						  EVCORE_SOURCE_ID_MAX),
		      -EEXIST);

	/* An id freed is given again, to the lowest free first. */
	evcore_source_unregister(&srcs[2]);
	EVT_EXPECT_EQ(ctx, evcore_push(&srcs[2], 0, 0, NULL, 0), -ENODEV);
	EVT_EXPECT(ctx, !evcore_source_is_enabled(&srcs[2]));
	EVT_EXPECT_EQ(ctx, evcore_source_register(q, &extra, "reuse", 0), 0);
	EVT_EXPECT_EQ(ctx, extra.id, 2);
	/* An unregistered source can register again. */
	evcore_source_unregister(&srcs[1]);
	EVT_EXPECT_EQ(ctx, evcore_source_register(q, &srcs[1], "back", 0), 0);
	EVT_EXPECT_EQ(ctx, srcs[1].id, 5);
	EVT_EXPECT_EQ(ctx, evcore_push(&srcs[1], 0, 1, NULL, 0), 0);

	evt_unregister(&extra);
	for (i = 0; i <= EVCORE_SOURCE_ID_MAX; i++)
		evt_unregister(&srcs[i]);
	evt_queue_done(q);
out_free:
	kfree(srcs);
}

/*
 * A disabled source's pushes return -ENODATA and count nowhere; enabled
 * again, it goes on where it was.
 */
static void evt_source_disabled(struct evt_ctx *ctx)
{
	struct evt_fix f;
	struct evcore_source_stats sst;
	struct evt_stream s;

	if (!evt_fix_init(ctx, &f, 2, 8, EVCORE_POLICY_BLOCK))
		goto out;
	evt_stream_init(&s, f.q, &f.src, true);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 0, 8), 0);

	evcore_source_set_enabled(&f.src, false);
	EVT_EXPECT(ctx, !evcore_source_is_enabled(&f.src));
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 1, 8), -ENODATA);
	EVT_EXPECT_EQ(ctx, evt_push_wait_n(&f.src, 1, 8, true), -ENODATA);
	EVT_EXPECT_EQ(ctx, evt_push_wait_n(&f.src, 1, 8, false), -ENODATA);
	EVT_EXPECT_STATS(ctx, f.q, 1, 1, 0, 0, 0, 1, 1);
	evcore_source_get_stats(&f.src, &sst);
	EVT_EXPECT_EQ(ctx, sst.generated, 1);
	EVT_EXPECT_EQ(ctx, sst.next_seq, 1);
	/* Full and disabled: disabled wins, nothing is refused. */
	evcore_source_set_enabled(&f.src, true);
	EVT_EXPECT(ctx, evcore_source_is_enabled(&f.src));
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 1, 8), 0);
	evcore_source_set_enabled(&f.src, false);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 2, 8), -ENODATA);
	EVT_EXPECT_EQ(ctx, evt_push_wait_n(&f.src, 2, 8, true), -ENODATA);
	EVT_EXPECT_STATS(ctx, f.q, 2, 2, 0, 0, 0, 2, 2);

	evcore_source_set_enabled(&f.src, true);
	EVT_EXPECT_EQ(ctx, evt_drain(ctx, f.r, f.q, &s, 4), -EAGAIN);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 2, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_drain(ctx, f.r, f.q, &s, 4), -EAGAIN);
	EVT_EXPECT_STREAM(ctx, &s);
	EVT_EXPECT_EQ(ctx, s.events, 3);
	EVT_EXPECT_EQ(ctx, s.losses, 0);
out:
	evt_fix_done(&f);
}

static void evt_expect_source(struct evt_ctx *ctx, struct evcore_source *src,
			      u64 generated, u64 queued, u64 dropped,
			      u64 overwritten, u64 delivered, u64 next_seq,
			      const char *file, int line)
{
	struct evcore_source_stats sst;

	evcore_source_get_stats(src, &sst);
	evt_check(ctx, sst.generated == generated && sst.queued == queued &&
		  sst.dropped == dropped && sst.overwritten == overwritten &&
		  sst.delivered == delivered && sst.next_seq == next_seq,
		  file, line,
		  "source %u stats generated %llu queued %llu dropped %llu overwritten %llu delivered %llu next_seq %llu, expected %llu %llu %llu %llu %llu %llu",
		  src->id, sst.generated, sst.queued, sst.dropped,
		  sst.overwritten, sst.delivered, sst.next_seq, generated,
		  queued, dropped, overwritten, delivered, next_seq);
}

/* generated, queued, dropped, overwritten, delivered, next_seq */
#define EVT_EXPECT_SOURCE(ctx, src, ...) \
	evt_expect_source(ctx, src, __VA_ARGS__, __FILE__, __LINE__)

/*
 * Per-source statistics and source_seq: each source counts its own
 * events, refusals and overwrites, and numbers every event it generates.
 */
static void evt_source_stats(struct evt_ctx *ctx)
{
	struct evcore_source a = {}, b = {};
	struct evcore_reader *r = NULL;
	struct evcore_source_stats sst;
	struct evcore_queue *q;
	unsigned int i, ids[3];
	size_t rs;
	ssize_t ret;

	q = evt_queue(ctx, 4, 8, EVCORE_POLICY_DROP_NEWEST);
	if (!q)
		return;
	rs = evcore_record_size(q);
	r = evt_reader(ctx, q);
	if (!r || !evt_register(ctx, q, &a, "a", 1) ||
	    !evt_register(ctx, q, &b, "b", 2))
		goto out;
	EVT_EXPECT_SOURCE(ctx, &a, 0, 0, 0, 0, 0, 0);

	for (i = 0; i < 3; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&a, i, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&b, 0, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&b, 1, 8), -ENOSPC);
	EVT_EXPECT_EQ(ctx, evt_push_n(&b, 2, 8), -ENOSPC);
	EVT_EXPECT_SOURCE(ctx, &a, 3, 3, 0, 0, 0, 3);
	EVT_EXPECT_SOURCE(ctx, &b, 3, 1, 2, 0, 0, 3);

	ret = evt_read(ctx, r, 3 * rs, true);
	evt_count_ids(ctx, q, ret, ids, ARRAY_SIZE(ids));
	EVT_EXPECT_EQ(ctx, ids[1], 3);
	EVT_EXPECT_SOURCE(ctx, &a, 3, 3, 0, 0, 3, 3);
	EVT_EXPECT_SOURCE(ctx, &b, 3, 1, 2, 0, 0, 3);
	EVT_EXPECT_EQ(ctx, evt_push_n(&b, 3, 8), 0);
	ret = evt_read(ctx, r, 8 * rs, true);
	/* b's event 0, the loss of b's 1 and 2, then b's event 3. */
	EVT_EXPECT_RECORDS(ctx, q, ret, { 3, 0 }, { 4, 2 }, { 4, 0 });
	if (ret == 3 * rs) {
		EVT_EXPECT_EQ(ctx, evt_rec(ctx, q, 0)->source_seq, 0);
		EVT_EXPECT_EQ(ctx, evt_rec(ctx, q, 2)->source_seq, 3);
		EVT_EXPECT_EQ(ctx, evt_rec(ctx, q, 2)->source_id, 2);
	}
	EVT_EXPECT_SOURCE(ctx, &b, 4, 2, 2, 0, 2, 4);

	/* Overwrites are charged to the source whose record went. */
	EVT_EXPECT_EQ(ctx, evcore_queue_set_policy(q, EVCORE_POLICY_DROP_OLDEST),
		      0);
	for (i = 3; i < 7; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&a, i, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&b, 4, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&b, 5, 8), 0);
	EVT_EXPECT_SOURCE(ctx, &a, 7, 7, 0, 2, 3, 7);
	EVT_EXPECT_SOURCE(ctx, &b, 6, 4, 2, 0, 2, 6);

	/* Unregistering keeps the records queued; they stay readable. */
	evcore_source_unregister(&b);
	ret = evt_read(ctx, r, 8 * rs, true);
	EVT_EXPECT_RECORDS(ctx, q, ret, { 7, 2 }, { 7, 0 }, { 8, 0 }, { 9, 0 },
			   { 10, 0 });
	evt_count_ids(ctx, q, ret, ids, ARRAY_SIZE(ids));
	EVT_EXPECT_EQ(ctx, ids[1], 2);
	EVT_EXPECT_EQ(ctx, ids[2], 2);
	evcore_source_get_stats(&a, &sst);
	EVT_EXPECT_EQ(ctx, sst.delivered, 5);
out:
	evt_unregister(&b);
	evt_unregister(&a);
	evt_reader_done(r);
	evt_queue_done(q);
}

/*
 * A source registered under the id of one unregistered while its records
 * are still queued counts only its own events: the old owner's records
 * overwritten or read afterwards are not charged to it.
 */
static void evt_source_id_reuse_stats(struct evt_ctx *ctx)
{
	struct evcore_source a = {}, b = {};
	struct evcore_reader *r = NULL;
	struct evcore_queue *q;
	unsigned int i, ids[2];
	size_t rs;
	ssize_t ret;

	q = evt_queue(ctx, 4, 8, EVCORE_POLICY_DROP_OLDEST);
	if (!q)
		return;
	rs = evcore_record_size(q);
	r = evt_reader(ctx, q);
	if (!r || !evt_register(ctx, q, &a, "a", 1))
		goto out;
	for (i = 0; i < 4; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&a, i, 8), 0);
	evcore_source_unregister(&a);
	if (!evt_register(ctx, q, &b, "b", 1))
		goto out;
	/* b's first event overwrites a's oldest record, not one of b's. */
	EVT_EXPECT_EQ(ctx, evt_push_n(&b, 0, 8), 0);
	EVT_EXPECT_SOURCE(ctx, &b, 1, 1, 0, 0, 0, 1);

	/* Three records of a, after the loss of its first, then b's one. */
	ret = evt_read(ctx, r, 8 * rs, true);
	EVT_EXPECT_RECORDS(ctx, q, ret, { 1, 1 }, { 1, 0 }, { 2, 0 }, { 3, 0 },
			   { 4, 0 });
	evt_count_ids(ctx, q, ret, ids, ARRAY_SIZE(ids));
	EVT_EXPECT_EQ(ctx, ids[1], 4);
	/* Only b's own record counts as delivered for b. */
	EVT_EXPECT_SOURCE(ctx, &b, 1, 1, 0, 0, 1, 1);
out:
	evt_unregister(&b);
	evt_unregister(&a);
	evt_reader_done(r);
	evt_queue_done(q);
}

/*
 * A producer thread pushing until its source is unregistered: every push
 * before that is queued or refused, every push after fails with -ENODEV.
 */
struct evt_unreg_pusher {
	struct evcore_source *src;
	struct completion running;
	u64 queued;
	u64 refused;
	u64 after;
	int err;
};

#define EVT_UNREG_WARMUP	200
#define EVT_UNREG_AFTER		100

static int evt_unreg_pusher_fn(struct evt_thread *t)
{
	struct evt_unreg_pusher *p = t->arg;
	u64 n = 0;
	int ret;

	while (!evt_thread_stopping()) {
		ret = evt_push_n(p->src, n, 8);
		if (ret == -ENODEV)
			break;
		if (!ret) {
			p->queued++;
		} else if (ret == -ENOSPC) {
			p->refused++;
		} else {
			p->err = ret;
			break;
		}
		if (++n == EVT_UNREG_WARMUP)
			complete(&p->running);
		if (!(n % 256))
			cond_resched();
	}
	complete(&p->running);
	/* Later pushes must keep failing the same way. */
	for (p->after = 0; p->after < EVT_UNREG_AFTER && !p->err; p->after++) {
		ret = evt_push_n(p->src, n, 8);
		if (ret != -ENODEV)
			p->err = ret;
	}
	return 0;
}

/* After the pushes stopped: the counters add up and the records are all there. */
static void evt_unreg_expect(struct evt_ctx *ctx, struct evcore_queue *q,
			     struct evcore_reader *r, struct evcore_source *src,
			     u64 queued, u64 refused)
{
	struct evcore_stats st;
	struct evt_stream s;

	evcore_queue_get_stats(q, &st);
	EVT_EXPECT_EQ(ctx, st.generated, queued + refused);
	EVT_EXPECT_EQ(ctx, st.queued, queued);
	EVT_EXPECT_EQ(ctx, st.dropped_full, refused);
	EVT_EXPECT_EQ(ctx, st.queued + st.dropped_full, st.generated);
	EVT_EXPECT_EQ(ctx, st.next_seq, queued);
	EVT_EXPECT(ctx, queued + refused >= EVT_UNREG_WARMUP);

	/* The records queued stay readable after the unregister. */
	evt_stream_init(&s, q, src, true);
	EVT_EXPECT_EQ(ctx, evt_drain(ctx, r, q, &s, 64), -EAGAIN);
	EVT_EXPECT_STREAM(ctx, &s);
	EVT_EXPECT_EQ(ctx, s.events, queued);
	EVT_EXPECT_EQ(ctx, s.lost, refused);
}

/*
 * Unregistering a source while a thread pushes on it in a loop: the
 * unregister returns, later pushes fail with -ENODEV, and queued plus
 * refused is what was generated.
 */
static void evt_unregister_while_pushing_thread(struct evt_ctx *ctx)
{
	struct evt_fix f;
	struct evt_unreg_pusher p = {};
	struct evt_thread t;
	bool running;

	if (!evt_fix_init(ctx, &f, 1024, 8, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	p.src = &f.src;
	init_completion(&p.running);
	if (!evt_thread_start(ctx, &t, evt_unreg_pusher_fn, &p, f.q, 1))
		goto out;
	running = wait_for_completion_timeout(&p.running,
					      msecs_to_jiffies(EVT_WAIT_MS));
	EVT_EXPECT(ctx, running);
	evcore_source_unregister(&f.src);
	EVT_EXPECT(ctx, !evcore_source_is_enabled(&f.src));
	evt_thread_join(ctx, &t);
	EVT_EXPECT_EQ(ctx, p.err, 0);
	EVT_EXPECT_EQ(ctx, p.after, EVT_UNREG_AFTER);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 0, 8), -ENODEV);
	EVT_NOTE(ctx, "%llu queued, %llu refused before the unregister took effect",
		 p.queued, p.refused);
	evt_unreg_expect(ctx, f.q, f.r, &f.src, p.queued, p.refused);
out:
	evt_fix_done(&f);
}

/* The same with an hrtimer pushing bursts from hard IRQ context. */
struct evt_unreg_timer {
	struct hrtimer timer;
	struct evcore_source *src;
	struct completion running;
	struct completion gone;
	u64 n;
	u64 queued;
	u64 refused;
	u64 after;
	unsigned int not_hardirq;
	int err;
	bool stop;
};

static enum hrtimer_restart evt_unreg_timer_fn(struct hrtimer *timer)
{
	struct evt_unreg_timer *u = container_of(timer, struct evt_unreg_timer,
						 timer);
	unsigned int i;
	int ret;

	if (!IS_ENABLED(CONFIG_PREEMPT_RT) && !in_hardirq())
		u->not_hardirq++;
	if (READ_ONCE(u->stop))
		return HRTIMER_NORESTART;
	for (i = 0; i < 8; i++) {
		ret = evt_push_n(u->src, u->n, 8);
		if (u->after) {
			/* Unregistered: every push fails the same way. */
			if (ret != -ENODEV)
				u->err = ret;
			if (++u->after > EVT_UNREG_AFTER) {
				complete(&u->gone);
				return HRTIMER_NORESTART;
			}
			continue;
		}
		if (!ret) {
			u->queued++;
		} else if (ret == -ENOSPC) {
			u->refused++;
		} else if (ret == -ENODEV) {
			u->after = 1;
			continue;
		} else {
			u->err = ret;
			complete(&u->gone);
			return HRTIMER_NORESTART;
		}
		if (++u->n == EVT_UNREG_WARMUP)
			complete(&u->running);
	}
	hrtimer_forward_now(timer, ns_to_ktime(20 * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void evt_unregister_while_pushing_hrtimer(struct evt_ctx *ctx)
{
	struct evt_fix f;
	struct evt_unreg_timer *u;
	bool ok;

	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!EVT_EXPECT(ctx, u))
		return;
	if (!evt_fix_init(ctx, &f, 1024, 8, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	u->src = &f.src;
	init_completion(&u->running);
	init_completion(&u->gone);
	hrtimer_setup(&u->timer, evt_unreg_timer_fn, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL);
	hrtimer_start(&u->timer, ns_to_ktime(20 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL);

	ok = wait_for_completion_timeout(&u->running,
					 msecs_to_jiffies(EVT_WAIT_MS));
	EVT_EXPECT(ctx, ok);
	evcore_source_unregister(&f.src);
	ok = wait_for_completion_timeout(&u->gone,
					 msecs_to_jiffies(EVT_WAIT_MS));
	EVT_EXPECT(ctx, ok);
	WRITE_ONCE(u->stop, true);
	hrtimer_cancel(&u->timer);

	EVT_EXPECT_EQ(ctx, u->err, 0);
	EVT_EXPECT_EQ(ctx, u->not_hardirq, 0);
	EVT_EXPECT_EQ(ctx, u->after, EVT_UNREG_AFTER + 1);
	EVT_NOTE(ctx, "%llu queued, %llu refused before the unregister took effect",
		 u->queued, u->refused);
	evt_unreg_expect(ctx, f.q, f.r, &f.src, u->queued, u->refused);
out:
	evt_fix_done(&f);
	kfree(u);
}

/*
 * A producer asleep in evcore_push_wait() is woken by the unregister of its
 * source and gets -ENODEV; the unregister waits for it to leave.
 */
static void evt_unregister_wakes_push_wait(struct evt_ctx *ctx)
{
	struct evt_fix f;
	struct evt_one_push o = {};
	struct evt_thread t;
	struct evt_heads h;

	if (!evt_fix_init(ctx, &f, 1, 8, EVCORE_POLICY_BLOCK))
		goto out;
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 0, 8), 0);
	o.src = &f.src;
	o.n = 1;
	o.payload_size = 8;
	if (!evt_heads_find(ctx, f.r, &h) ||
	    !evt_thread_start(ctx, &t, evt_one_push_fn, &o, f.q, 1))
		goto out;
	if (evt_wait_sleepers(ctx, &h, 1, &t)) {
		evcore_source_unregister(&f.src);
		EVT_EXPECT(ctx, evt_wait_for(evt_thread_done(&t)));
	}
	evt_thread_join(ctx, &t);
	EVT_EXPECT_EQ(ctx, o.ret, -ENODEV);
	EVT_EXPECT_STATS(ctx, f.q, 1, 1, 0, 0, 0, 1, 1);
out:
	evt_fix_done(&f);
}

/*
 * Unregistering the source whose registration holds the last reference
 * on the queue frees the queue, while pushers on another CPU (a thread, or
 * an hrtimer in hard IRQ context) go on pushing on the source. A probe on
 * the evcore_push_begin tracepoint holds each push for milliseconds
 * between finding the queue and taking its lock, so that pushes stand in
 * that window while the unregister frees the queue. Every push must queue,
 * be refused, or fail with -ENODEV, and none may touch the freed queue
 * (KASAN reports it on the debug kernel). Several rounds, so that the free
 * falls inside a held push in some of them whatever the timing.
 */
#define EVT_FREE_ROUNDS		5

struct evt_free_race {
	struct evcore_source src;
	struct hrtimer timer;
	struct completion started;
	bool use_timer;
	u32 delay_ms;
	/* Set while the unregister runs, then after it returned. */
	atomic_t phase;
	/* Pushes inside the probe now. */
	atomic_t inside;
	atomic_t pushes[3];
	atomic_t bad;
	atomic_t ok_after;
	bool stop;
};

static void evt_free_probe(void *data, const char *queue, u32 source_id)
{
	struct evt_free_race *f = data;

	if (source_id != f->src.id || READ_ONCE(f->stop))
		return;
	atomic_inc(&f->inside);
	mdelay(f->delay_ms);
	atomic_dec(&f->inside);
}

static void evt_free_push(struct evt_free_race *f)
{
	int phase = atomic_read(&f->phase);
	int ret = evcore_push(&f->src, 0, 0, NULL, 0);

	atomic_inc(&f->pushes[phase]);
	if (ret && ret != -ENOSPC && ret != -ENODEV)
		atomic_inc(&f->bad);
	/* Once the unregister returned, no push may get through. */
	if (phase == 2 && ret != -ENODEV)
		atomic_inc(&f->ok_after);
}

static enum hrtimer_restart evt_free_timer_fn(struct hrtimer *timer)
{
	struct evt_free_race *f = container_of(timer, struct evt_free_race,
					       timer);

	if (READ_ONCE(f->stop))
		return HRTIMER_NORESTART;
	evt_free_push(f);
	/* Idle time between pushes lets grace periods end. */
	hrtimer_forward_now(timer, ms_to_ktime(2 * f->delay_ms));
	return HRTIMER_RESTART;
}

static int evt_free_pusher_fn(void *data)
{
	struct evt_free_race *f = data;

	if (f->use_timer) {
		/* Hard IRQ context, but softirq on PREEMPT_RT. */
		hrtimer_setup(&f->timer, evt_free_timer_fn, CLOCK_MONOTONIC,
			      HRTIMER_MODE_REL_PINNED);
		hrtimer_start(&f->timer, 0, HRTIMER_MODE_REL_PINNED);
	}
	complete(&f->started);
	while (!kthread_should_stop()) {
		if (f->use_timer) {
			usleep_range(1000, 2000);
			continue;
		}
		evt_free_push(f);
		cond_resched();
	}
	if (f->use_timer)
		hrtimer_cancel(&f->timer);
	return 0;
}

static void evt_free_round(struct evt_ctx *ctx, struct evt_free_race *f,
			   int *held_during)
{
	struct task_struct *task;
	struct evcore_queue *q;
	unsigned int cpu;
	int ret;

	q = evt_queue(ctx, 64, 0, EVCORE_POLICY_DROP_NEWEST);
	if (!q || !evt_register(ctx, q, &f->src, "evt", 0)) {
		evt_queue_done(q);
		return;
	}
	/* The registration now holds the queue's last reference. */
	evcore_queue_put(q);

	ret = register_trace_evcore_push_begin(evt_free_probe, f);
	if (!EVT_EXPECT_EQ(ctx, ret, 0)) {
		evcore_source_unregister(&f->src);
		return;
	}
	init_completion(&f->started);
	task = kthread_create(evt_free_pusher_fn, f, "evt/free");
	if (!EVT_EXPECT_ERR(ctx, task, 0)) {
		evcore_source_unregister(&f->src);
		goto out_probe;
	}
	/* Another CPU than this one, when there is one. */
	cpu = cpumask_any_but(cpu_online_mask, raw_smp_processor_id());
	if (cpu < nr_cpu_ids)
		kthread_bind(task, cpu);
	get_task_struct(task);
	wake_up_process(task);
	wait_for_completion(&f->started);
	/* A few pushes first (awaited: a loaded emulator runs late). */
	evt_wait_for(atomic_read(&f->pushes[0]) >= 3);

	atomic_set(&f->phase, 1);
	*held_during += atomic_read(&f->inside);
	evcore_source_unregister(&f->src);
	atomic_set(&f->phase, 2);
	/* Pushes after the free are the ones that would touch it. */
	evt_wait_for(atomic_read(&f->pushes[2]) >= 3);
	WRITE_ONCE(f->stop, true);
	kthread_stop(task);
	put_task_struct(task);
out_probe:
	unregister_trace_evcore_push_begin(evt_free_probe, f);
	tracepoint_synchronize_unregister();
}

static void evt_unregister_frees_queue(struct evt_ctx *ctx, bool use_timer)
{
	struct evt_free_race *f;
	int round, held_during = 0;

	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!EVT_EXPECT(ctx, f))
		return;
	for (round = 0; round < EVT_FREE_ROUNDS; round++) {
		memset(f, 0, sizeof(*f));
		f->use_timer = use_timer;
		f->delay_ms = use_timer ? 3 : 2;
		evt_free_round(ctx, f, &held_during);
		EVT_EXPECT_EQ(ctx, atomic_read(&f->bad), 0);
		EVT_EXPECT_EQ(ctx, atomic_read(&f->ok_after), 0);
		EVT_EXPECT(ctx, atomic_read(&f->pushes[0]) > 0);
		EVT_EXPECT(ctx, atomic_read(&f->pushes[2]) > 0);
		EVT_EXPECT(ctx, !evcore_source_is_enabled(&f->src));
		EVT_EXPECT_EQ(ctx, evcore_push(&f->src, 0, 0, NULL, 0),
			      -ENODEV);
		/* A second unregister finds nothing to do. */
		evcore_source_unregister(&f->src);
	}
	EVT_NOTE(ctx, "%d of %d unregisters began with a push held in the window",
		 held_during, EVT_FREE_ROUNDS);
	/*
	 * On another CPU the thread is always inside a held push when the
	 * unregister starts. With one CPU (UML, as kunit.py runs it) it runs
	 * only while this thread waits, and leaves the probe before it
	 * yields: the window is never held there.
	 */
	if (!use_timer && num_online_cpus() > 1)
		EVT_EXPECT(ctx, held_during > 0);
	kfree(f);
}

static void evt_unregister_frees_queue_thread(struct evt_ctx *ctx)
{
	evt_unregister_frees_queue(ctx, false);
}

static void evt_unregister_frees_queue_hrtimer(struct evt_ctx *ctx)
{
	evt_unregister_frees_queue(ctx, true);
}

/*
 * A queue made with devm_evcore_queue_create() lives as long as its device:
 * when the device goes, the queue is shut down and the device's reference
 * dropped; a reader still open sees the shutdown and keeps the queue until
 * it is released (kmemleak and KASAN, in check-debug, see the rest). A bad
 * config fails as for evcore_queue_create() and binds nothing.
 */
static void evt_devm_queue(struct evt_ctx *ctx)
{
	struct evcore_config cfg = {
		.name = "evt-devm",
		.capacity = 4,
		.payload_size = 8,
		.policy = EVCORE_POLICY_DROP_NEWEST,
		.clock = CLOCK_MONOTONIC,
	};
	struct evcore_source a = {};
	struct evcore_reader *r;
	struct evcore_queue *q;
	struct device *dev;
	size_t rs;

	dev = root_device_register("evcore_test_devm");
	if (!EVT_EXPECT_ERR(ctx, dev, 0))
		return;
	cfg.capacity = 0;
	EVT_EXPECT_ERR(ctx, devm_evcore_queue_create(dev, &cfg), -EINVAL);
	cfg.capacity = 4;
	q = devm_evcore_queue_create(dev, &cfg);
	if (!EVT_EXPECT_ERR(ctx, q, 0)) {
		root_device_unregister(dev);
		return;
	}
	rs = evcore_record_size(q);
	r = evt_reader(ctx, q);
	if (!r || !evt_register(ctx, q, &a, "a", 1))
		goto out;
	EVT_EXPECT_EQ(ctx, evt_push_n(&a, 0, 8), 0);
	EVT_EXPECT(ctx, !evcore_queue_is_shutdown(q));

	root_device_unregister(dev);
	dev = NULL;
	EVT_EXPECT(ctx, evcore_queue_is_shutdown(q));
	EVT_EXPECT_EQ(ctx, evt_push_n(&a, 1, 8), -ESHUTDOWN);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, r, rs, true), -ENODEV);
	EVT_EXPECT_POLL(ctx, evt_poll(r), ~(__poll_t)0, EPOLLHUP | EPOLLERR);
out:
	evt_unregister(&a);
	evt_reader_done(r);
	if (dev)
		root_device_unregister(dev);
}

/*
 * Shutdown wakes every sleeper: a reader gets -ENODEV, a producer
 * -ESHUTDOWN, poll waiters EPOLLHUP. Afterwards pushes fail with
 * -ESHUTDOWN, reads with -ENODEV (records held or not), poll reports
 * EPOLLHUP | EPOLLERR, and nothing new can open or register.
 */
static void evt_shutdown(struct evt_ctx *ctx)
{
	struct evcore_reader *r = NULL, *sleeper = NULL;
	struct evcore_source a = {}, extra = {};
	struct evt_one_read orr = {};
	struct evt_one_push op = {};
	struct evt_poller *poller;
	struct evt_thread *t;
	struct evt_heads h;
	struct evcore_queue *q;
	bool tr_on = false, tp_on = false;
	__poll_t keys;
	size_t rs;

	/* Off the stack: threads and poll entries are large. */
	t = kcalloc(2, sizeof(*t), GFP_KERNEL);
	poller = kzalloc(sizeof(*poller), GFP_KERNEL);
	if (!EVT_EXPECT(ctx, t && poller))
		goto out_free;
	q = evt_queue(ctx, 2, 8, EVCORE_POLICY_BLOCK);
	if (!q)
		goto out_free;
	rs = evcore_record_size(q);
	r = evt_reader(ctx, q);
	sleeper = evt_reader(ctx, q);
	if (!r || !sleeper || !evt_register(ctx, q, &a, "a", 1))
		goto out;
	/* Full of source 1's events, which the sleeping reader filters out. */
	EVT_EXPECT_EQ(ctx, evt_push_n(&a, 0, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&a, 1, 8), 0);
	evcore_reader_set_filter(sleeper, BIT_ULL(2));

	if (!evt_heads_find(ctx, r, &h))
		goto out;
	orr.r = sleeper;
	orr.count = 4 * rs;
	tr_on = evt_thread_start(ctx, &t[0], evt_one_read_fn, &orr, q, 1);
	op.src = &a;
	op.n = 2;
	op.payload_size = 8;
	tp_on = evt_thread_start(ctx, &t[1], evt_one_push_fn, &op, q, 2);
	if (!tr_on || !tp_on || !evt_wait_sleepers(ctx, &h, 2, NULL)) {
		evcore_queue_shutdown(q);
		goto out_join;
	}
	EVT_EXPECT_POLL(ctx, evt_poller_add(poller, r), EPOLLIN | EPOLLHUP,
			EPOLLIN);

	evcore_queue_shutdown(q);
	EVT_EXPECT(ctx, evcore_queue_is_shutdown(q));
	keys = evt_poller_keys(poller);
	evt_check(ctx, (keys & (EPOLLHUP | EPOLLERR)) == (EPOLLHUP | EPOLLERR),
		  __FILE__, __LINE__,
		  "poll waiters woken with %#x, expected EPOLLHUP | EPOLLERR",
		  (__force unsigned int)keys);
	evt_poller_remove(poller);
out_join:
	if (tr_on)
		evt_thread_join(ctx, &t[0]);
	if (tp_on)
		evt_thread_join(ctx, &t[1]);
	if (!tr_on || !tp_on)
		goto out;
	EVT_EXPECT_EQ(ctx, orr.ret, -ENODEV);
	EVT_EXPECT_EQ(ctx, op.ret, -ESHUTDOWN);

	EVT_EXPECT_EQ(ctx, evt_push_n(&a, 2, 8), -ESHUTDOWN);
	EVT_EXPECT_EQ(ctx, evt_push_wait_n(&a, 2, 8, true), -ESHUTDOWN);
	EVT_EXPECT_EQ(ctx, evt_push_wait_n(&a, 2, 8, false), -ESHUTDOWN);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, r, 4 * rs, true), -ENODEV);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, r, 4 * rs, false), -ENODEV);
	EVT_EXPECT_POLL(ctx, evt_poll(r), ~(__poll_t)0, EPOLLHUP | EPOLLERR);
	EVT_EXPECT_POLL(ctx, evt_poll(sleeper), ~(__poll_t)0,
			EPOLLHUP | EPOLLERR);
	EVT_EXPECT_ERR(ctx, evcore_reader_open(q), -ENODEV);
	EVT_EXPECT_EQ(ctx, evcore_source_register(q, &extra, "late", 0),
		      -ESHUTDOWN);
	EVT_EXPECT_STATS(ctx, q, 2, 2, 0, 0, 0, 2, 2);
	/* A second shutdown changes nothing. */
	evcore_queue_shutdown(q);
	EVT_EXPECT(ctx, evcore_queue_is_shutdown(q));
out:
	evt_unregister(&a);
	evt_reader_done(sleeper);
	evt_reader_done(r);
	evt_queue_done(q);
out_free:
	kfree(poller);
	kfree(t);
}

/* poll waiters are woken with the events that concern them. */
static void evt_poll_wakeups(struct evt_ctx *ctx)
{
	struct evt_fix f;
	struct evt_poller poller;
	__poll_t keys;

	if (!evt_fix_init(ctx, &f, 1, 8, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	evt_poller_add(&poller, f.r);

	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 0, 8), 0);
	keys = evt_poller_keys(&poller);
	evt_check(ctx, keys & EPOLLIN, __FILE__, __LINE__,
		  "woken with %#x for an event, expected EPOLLIN",
		  (__force unsigned int)keys);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 1, 8), -ENOSPC);
	keys = evt_poller_keys(&poller);
	evt_check(ctx, keys & EPOLLPRI, __FILE__, __LINE__,
		  "woken with %#x for a refused event, expected EPOLLPRI",
		  (__force unsigned int)keys);

	/* Under block, a read that frees room wakes EPOLLOUT waiters. */
	EVT_EXPECT_EQ(ctx, evcore_queue_set_policy(f.q, EVCORE_POLICY_BLOCK), 0);
	evt_poller_keys(&poller);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, f.rs, true), f.rs);
	keys = evt_poller_keys(&poller);
	evt_check(ctx, keys & EPOLLOUT, __FILE__, __LINE__,
		  "woken with %#x when room came back, expected EPOLLOUT",
		  (__force unsigned int)keys);
	evt_poller_remove(&poller);
out:
	evt_fix_done(&f);
}

/* A payload larger than the queue's is refused and counts nowhere. */
static void evt_payload_too_large(struct evt_ctx *ctx)
{
	static const u32 sizes[] = { 0, 16 };
	u8 buf[32] = { 1, 2, 3 };
	struct evcore_source src = {};
	struct evcore_source_stats sst;
	struct evcore_queue *q;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		q = evt_queue(ctx, 4, sizes[i], EVCORE_POLICY_BLOCK);
		if (!q)
			return;
		memset(&src, 0, sizeof(src));
		if (!evt_register(ctx, q, &src, "big", 0))
			goto next;
		EVT_EXPECT_EQ(ctx, evcore_push(&src, 0, 0, buf, sizes[i] + 1),
			      -EMSGSIZE);
		EVT_EXPECT_EQ(ctx, evcore_push(&src, 0, 0, buf, sizes[i] + 8),
			      -EMSGSIZE);
		EVT_EXPECT_EQ(ctx, evcore_push(&src, 0, 0, buf, SIZE_MAX),
			      -EMSGSIZE);
		EVT_EXPECT_EQ(ctx, evcore_push_wait(&src, 0, 0, buf,
						    sizes[i] + 1, false),
			      -EMSGSIZE);
		EVT_EXPECT_STATS(ctx, q, 0, 0, 0, 0, 0, 0, 0);
		evcore_source_get_stats(&src, &sst);
		EVT_EXPECT_EQ(ctx, sst.next_seq, 0);
		EVT_EXPECT_EQ(ctx, evcore_push(&src, 0, 0, buf, sizes[i]), 0);
		EVT_EXPECT_EQ(ctx, evcore_push(&src, 0, 0, NULL, 0), 0);
		EVT_EXPECT_STATS(ctx, q, 2, 2, 0, 0, 0, 2, 2);
next:
		evt_unregister(&src);
		evt_queue_done(q);
	}
}

/*
 * Flags: only the source's 16 high bits may be set, and they reach the
 * record; anything else is -EINVAL and counts nowhere.
 */
static void evt_bad_flags(struct evt_ctx *ctx)
{
	struct evt_fix f;
	ssize_t ret;

	if (!evt_fix_init(ctx, &f, 4, 8, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	EVT_EXPECT_EQ(ctx, evcore_push(&f.src, EVCORE_EVENT_LOSS, 0, NULL, 0),
		      -EINVAL);
	EVT_EXPECT_EQ(ctx, evcore_push(&f.src, 1U << 15, 0, NULL, 0), -EINVAL);
	EVT_EXPECT_EQ(ctx, evcore_push_wait(&f.src, 1U << 1, 0, NULL, 0, true),
		      -EINVAL);
	EVT_EXPECT_STATS(ctx, f.q, 0, 0, 0, 0, 0, 0, 0);
	EVT_EXPECT_EQ(ctx, evcore_push(&f.src, EVCORE_EVENT_SOURCE_FLAGS,
				       0xdeadbeef, NULL, 0), 0);
	EVT_EXPECT_EQ(ctx, evcore_push(&f.src, 1U << 16, 7, NULL, 0), 0);
	ret = evt_read(ctx, f.r, 4 * f.rs, true);
	if (EVT_EXPECT_EQ(ctx, ret, 2 * f.rs)) {
		EVT_EXPECT_EQ(ctx, evt_rec(ctx, f.q, 0)->flags,
			      EVCORE_EVENT_SOURCE_FLAGS);
		EVT_EXPECT_EQ(ctx, evt_rec(ctx, f.q, 0)->aux, 0xdeadbeef);
		EVT_EXPECT_EQ(ctx, evt_rec(ctx, f.q, 0)->source_seq, 0);
		EVT_EXPECT_EQ(ctx, evt_rec(ctx, f.q, 1)->flags, 1U << 16);
		EVT_EXPECT_EQ(ctx, evt_rec(ctx, f.q, 1)->aux, 7);
		EVT_EXPECT_EQ(ctx, evt_rec(ctx, f.q, 1)->payload_len, 0);
	}
out:
	evt_fix_done(&f);
}

/* Timestamps are taken at the push, on the queue's clock. */
static void evt_clocks(struct evt_ctx *ctx)
{
	static const clockid_t clocks[] = {
		CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_REALTIME, CLOCK_TAI,
	};
	struct evcore_config cfg = {
		.name = "clock", .capacity = 4, .payload_size = 0,
		.policy = EVCORE_POLICY_DROP_NEWEST,
	};
	struct evcore_source src;
	struct evcore_reader *r;
	struct evcore_queue *q;
	unsigned int i;
	u64 before, after, ts;

	for (i = 0; i < ARRAY_SIZE(clocks); i++) {
		cfg.clock = clocks[i];
		q = evcore_queue_create(&cfg);
		if (!EVT_EXPECT_ERR(ctx, q, 0))
			continue;
		memset(&src, 0, sizeof(src));
		r = evt_reader(ctx, q);
		if (!r || !evt_register(ctx, q, &src, "clock", 0))
			goto next;
		before = ktime_get_clocktai_ns();
		switch (clocks[i]) {
		case CLOCK_MONOTONIC:
			before = ktime_get_ns();
			break;
		case CLOCK_BOOTTIME:
			before = ktime_get_boottime_ns();
			break;
		case CLOCK_REALTIME:
			before = ktime_get_real_ns();
			break;
		}
		EVT_EXPECT_EQ(ctx, evcore_push(&src, 0, 0, NULL, 0), 0);
		after = ktime_get_clocktai_ns();
		switch (clocks[i]) {
		case CLOCK_MONOTONIC:
			after = ktime_get_ns();
			break;
		case CLOCK_BOOTTIME:
			after = ktime_get_boottime_ns();
			break;
		case CLOCK_REALTIME:
			after = ktime_get_real_ns();
			break;
		}
		if (EVT_EXPECT_EQ(ctx, evt_read(ctx, r, 64, true), 48)) {
			ts = evt_rec(ctx, q, 0)->timestamp_ns;
			evt_check(ctx, ts >= before && ts <= after, __FILE__,
				  __LINE__,
				  "clock %d: timestamp %llu not within [%llu, %llu]",
				  clocks[i], ts, before, after);
		}
next:
		evt_unregister(&src);
		evt_reader_done(r);
		evt_queue_done(q);
	}
}

/*
 * Pushes from hard IRQ context, as a driver's interrupt handler does them,
 * while a thread reads: all of them arrive, in order, with contiguous
 * sequence numbers and intact payloads.
 */
#define EVT_IRQ_EVENTS		500

struct evt_irq_pusher {
	struct hrtimer timer;
	struct irq_work work;
	struct evcore_source *src;
	struct completion done;
	u64 n;
	unsigned int not_hardirq;
	int err;
};

static void evt_irq_push(struct evt_irq_pusher *ip)
{
	int ret;

	if (!IS_ENABLED(CONFIG_PREEMPT_RT) && !in_hardirq())
		ip->not_hardirq++;
	ret = evt_push_n(ip->src, ip->n, 8);
	if (ret && !ip->err)
		ip->err = ret;
	ip->n++;
}

static enum hrtimer_restart evt_irq_timer_fn(struct hrtimer *timer)
{
	struct evt_irq_pusher *ip = container_of(timer, struct evt_irq_pusher,
						 timer);

	evt_irq_push(ip);
	if (ip->n == EVT_IRQ_EVENTS) {
		complete(&ip->done);
		return HRTIMER_NORESTART;
	}
	hrtimer_forward_now(timer, ns_to_ktime(50 * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static void evt_irq_work_fn(struct irq_work *work)
{
	struct evt_irq_pusher *ip = container_of(work, struct evt_irq_pusher,
						 work);

	evt_irq_push(ip);
}

/* Run one kind of IRQ pusher while a consumer thread reads. */
static void evt_irq_push_run(struct evt_ctx *ctx, bool use_timer)
{
	struct evt_consumer c = {};
	struct evcore_source src = {};
	struct evt_irq_pusher *ip;
	struct evt_thread t;
	struct evcore_queue *q;
	bool ok;

	ip = kzalloc(sizeof(*ip), GFP_KERNEL);
	if (!EVT_EXPECT(ctx, ip))
		return;
	q = evt_queue(ctx, EVT_IRQ_EVENTS * 2, 8, EVCORE_POLICY_DROP_NEWEST);
	if (!q)
		goto out_free;
	c.r = evt_reader(ctx, q);
	if (!c.r || !evt_register(ctx, q, &src, "irq", 0))
		goto out;
	c.q = q;
	c.total = EVT_IRQ_EVENTS;
	c.chunk = 7;
	evt_stream_init(&c.s, q, &src, true);
	ip->src = &src;
	init_completion(&ip->done);
	if (!evt_thread_start(ctx, &t, evt_consumer_fn, &c, q, 1))
		goto out;

	if (use_timer) {
		hrtimer_setup(&ip->timer, evt_irq_timer_fn, CLOCK_MONOTONIC,
			      HRTIMER_MODE_REL);
		hrtimer_start(&ip->timer, ns_to_ktime(50 * NSEC_PER_USEC),
			      HRTIMER_MODE_REL);
		ok = wait_for_completion_timeout(&ip->done,
						 msecs_to_jiffies(EVT_WAIT_MS));
		EVT_EXPECT(ctx, ok);
		hrtimer_cancel(&ip->timer);
	} else {
		ip->work = IRQ_WORK_INIT(evt_irq_work_fn);
		while (ip->n < EVT_IRQ_EVENTS) {
			irq_work_queue(&ip->work);
			irq_work_sync(&ip->work);
		}
	}
	evt_thread_join(ctx, &t);

	EVT_EXPECT_EQ(ctx, ip->n, EVT_IRQ_EVENTS);
	EVT_EXPECT_EQ(ctx, ip->err, 0);
	EVT_EXPECT_EQ(ctx, ip->not_hardirq, 0);
	EVT_EXPECT_EQ(ctx, c.err, 0);
	EVT_EXPECT_STREAM(ctx, &c.s);
	EVT_EXPECT_EQ(ctx, c.s.events, EVT_IRQ_EVENTS);
	EVT_EXPECT_EQ(ctx, c.s.lost, 0);
	EVT_EXPECT_EQ(ctx, c.s.last_seq, EVT_IRQ_EVENTS - 1);
	EVT_EXPECT_STATS(ctx, q, EVT_IRQ_EVENTS, EVT_IRQ_EVENTS, 0, 0, 0,
			 EVT_IRQ_EVENTS, 0);
out:
	evt_unregister(&src);
	evt_reader_done(c.r);
	evt_queue_done(q);
out_free:
	kfree(ip);
}

static void evt_irq_push_hrtimer(struct evt_ctx *ctx)
{
	evt_irq_push_run(ctx, true);
}

static void evt_irq_push_irq_work(struct evt_ctx *ctx)
{
	evt_irq_push_run(ctx, false);
}

/*
 * An event refused while the queue is full is lost for every reader, and
 * the refusal wakes them: a reader with nothing it wants before the head
 * (one that wants nothing, one whose source has nothing queued) has the
 * loss record as its next record at once, in poll() and in a blocking
 * read, and not only once other readers' reads have moved the tail past
 * its position, which wakes nobody.
 */
static void evt_refused_wakes_filtered(struct evt_ctx *ctx)
{
	struct evcore_reader *none = NULL, *other = NULL;
	struct evcore_source b = {};
	struct evt_one_read o = {};
	struct evt_thread t;
	struct evt_heads h;
	struct evt_fix f;
	ssize_t ret;
	u32 i;

	if (!evt_fix_init(ctx, &f, 4, 8, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	none = evt_reader(ctx, f.q);
	other = evt_reader(ctx, f.q);
	if (!none || !other || !evt_register(ctx, f.q, &b, "b", 0))
		goto out;
	evcore_reader_set_filter(none, 0);
	evcore_reader_set_filter(other, BIT_ULL(b.id));
	for (i = 0; i < 4; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 8), 0);
	EVT_EXPECT_POLL(ctx, evt_poll(none), EPOLLIN | EPOLLPRI, 0);
	EVT_EXPECT_POLL(ctx, evt_poll(other), EPOLLIN | EPOLLPRI, 0);

	/* The reader that wants nothing sleeps in a blocking read. */
	o.r = none;
	o.count = 4 * f.rs;
	o.signal = SIGUSR1;
	if (!evt_heads_find(ctx, none, &h) ||
	    !evt_thread_start(ctx, &t, evt_one_read_fn, &o, f.q, 1))
		goto out;
	if (evt_wait_sleepers(ctx, &h, 1, &t)) {
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 4, 8), -ENOSPC);
		/* Woken by the refusal; a signal ends the check otherwise. */
		if (!EVT_EXPECT(ctx, evt_wait_for(evt_thread_done(&t))))
			send_sig(SIGUSR1, t.task, 1);
	}
	evt_thread_join(ctx, &t);
	EVT_EXPECT_EQ(ctx, o.ret, f.rs);
	EVT_EXPECT(ctx, o.first.flags & EVCORE_EVENT_LOSS);
	EVT_EXPECT_EQ(ctx, o.first.lost, 1);
	EVT_EXPECT_POLL(ctx, evt_poll(none), EPOLLIN | EPOLLPRI, 0);

	/* The other one sees it in poll(), then reads it. */
	EVT_EXPECT_POLL(ctx, evt_poll(other), EPOLLIN | EPOLLPRI,
			EPOLLIN | EPOLLPRI);
	ret = evt_read(ctx, other, 4 * f.rs, true);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 4, 1 });
	EVT_EXPECT_POLL(ctx, evt_poll(other), EPOLLIN | EPOLLPRI, 0);
out:
	evt_reader_done(other);
	evt_reader_done(none);
	evt_unregister(&b);
	evt_fix_done(&f);
}

#include "evcore_tests_hold.c"
#include "evcore_tests_group.c"
