// SPDX-License-Identifier: GPL-2.0
/*
 * evcore's checks of the queue lock: what one hold of it may do, counted by
 * CONFIG_EVCORE_DEBUG's accounting. Included at the end of evcore_tests.c,
 * which has the helpers.
 */

/*
 * The most one hold of the lock may touch, whatever the capacity, depth or
 * number of readers: a read looks at up to 128 slots, or at the 256 of a
 * group it takes whole, and frees up to 64 records (at most two looks each); it
 * copies 8 KiB, or a group's 16 KiB; a resize moves 8 KiB of records a
 * hold; evcore_push_many() pushes 32 events a hold.
 */
#define EVT_HOLD_SLOTS_MAX	512
#define EVT_HOLD_BYTES_MAX	EVCORE_GROUP_BYTES

#ifdef CONFIG_EVCORE_DEBUG
static void evt_debug_stats(struct evcore_queue *q,
			    struct evcore_debug_stats *st, bool reset)
{
	evcore_queue_debug_stats(q, st, reset);
}
#else
static void evt_debug_stats(struct evcore_queue *q,
			    struct evcore_debug_stats *st, bool reset)
{
	memset(st, 0, sizeof(*st));
}
#endif

static bool evt_debug_built(struct evt_ctx *ctx)
{
	return evt_check(ctx, IS_ENABLED(CONFIG_EVCORE_DEBUG), __FILE__,
			 __LINE__, "no CONFIG_EVCORE_DEBUG: holds not counted");
}

/* Read @r dry without waiting, @count bytes at a time. */
static void evt_read_dry(struct evt_ctx *ctx, struct evcore_reader *r,
			 size_t count)
{
	ssize_t ret;

	do {
		ret = evcore_read(r, evt_uslot(ctx, 0), count, true);
	} while (ret > 0);
	EVT_EXPECT_EQ(ctx, ret, -EAGAIN);
}

/*
 * Every operation on a queue of @cap records, half full then full, with
 * @nr readers; with @filter the first reader wants only the one record of
 * source 2, queued after all those of source 1.
 */
static void evt_hold_bounds_one(struct evt_ctx *ctx, u32 cap, u32 nr,
				bool filter, struct evcore_debug_stats *st)
{
	struct evcore_source a = {}, b = {};
	struct evcore_reader **r;
	struct evcore_queue *q;
	u32 i;

	memset(st, 0, sizeof(*st));
	r = kcalloc(nr, sizeof(*r), GFP_KERNEL);
	if (!EVT_EXPECT(ctx, r))
		return;
	q = evt_queue(ctx, cap, 8, EVCORE_POLICY_DROP_OLDEST);
	if (!q)
		goto out_free;
	if (!evt_register(ctx, q, &a, "a", 1) ||
	    !evt_register(ctx, q, &b, "b", 2))
		goto out;
	for (i = 0; i < nr; i++) {
		r[i] = evt_reader(ctx, q);
		if (!r[i])
			goto out;
	}
	if (filter)
		evcore_reader_set_filter(r[0], BIT_ULL(2));
	for (i = 0; i < cap / 2; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&a, i, 8), 0);
	EVT_EXPECT_EQ(ctx, evt_push_n(&b, 0, 8), 0);
	evt_debug_stats(q, st, true);

	/* A resize moves what the readers hold, both ways. */
	EVT_EXPECT_EQ(ctx, evcore_queue_resize(q, cap - 1), 0);
	EVT_EXPECT_EQ(ctx, evcore_queue_resize(q, cap), 0);
	/* Full, then overwriting. */
	for (i = cap / 2; i < cap + 16; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&a, i, 8), 0);
	/* Overwriting a queue's worth again, in batches. */
	EVT_EXPECT_EQ(ctx, evcore_push_many(&a, 0, 0, NULL, 0, cap), cap);
	for (i = 0; i < nr; i++)
		evt_poll(r[i]);
	/* The filtered reader finds its record behind all the others. */
	evt_read_dry(ctx, r[0], 64 * evcore_record_size(q));
	if (nr > 1) {
		evt_read_dry(ctx, r[nr - 1], 64 * evcore_record_size(q));
		evcore_reader_set_filter(r[1], BIT_ULL(1));
		evcore_reader_set_filter(r[1], U64_MAX);
	}
	for (i = 0; i < nr; i++) {
		evt_reader_done(r[i]);
		r[i] = NULL;
	}
	evcore_queue_reset_stats(q);
	evt_debug_stats(q, st, false);
out:
	for (i = 0; i < nr; i++)
		evt_reader_done(r[i]);
	evt_unregister(&b);
	evt_unregister(&a);
	evt_queue_done(q);
out_free:
	kfree(r);
}

static void evt_hold_bounds_check(struct evt_ctx *ctx, u32 cap, u32 nr,
				  bool filter, struct evcore_debug_stats *st)
{
	evt_hold_bounds_one(ctx, cap, nr, filter, st);
	EVT_NOTE(ctx, "cap %u, %u reader(s)%s: %llu holds, each <= %u slots, %u readers, %u B",
		 cap, nr, filter ? ", filtered" : "", st->holds,
		 st->max_slots, st->max_readers, st->max_bytes);
	EVT_EXPECT(ctx, st->holds > cap / 2);
	EVT_EXPECT(ctx, st->max_slots > 0);
	EVT_EXPECT(ctx, st->max_slots <= EVT_HOLD_SLOTS_MAX);
	EVT_EXPECT(ctx, st->max_readers <= 1);
	EVT_EXPECT(ctx, st->max_bytes <= EVT_HOLD_BYTES_MAX);
}

/*
 * Nothing done under the queue lock grows with the capacity, the depth or
 * the number of readers: resizes, reads that skip a full queue of records
 * for a filter, filter changes and releases all work in bounded holds.
 */
static void evt_lock_hold_bounds(struct evt_ctx *ctx)
{
	static const u32 caps[] = { 1024, EVCORE_MAX_CAPACITY };
	static const u32 readers[] = { 1, 64 };
	struct evcore_debug_stats st[2];
	unsigned int c, n, f;

	if (!evt_debug_built(ctx))
		return;
	for (n = 0; n < ARRAY_SIZE(readers); n++) {
		for (f = 0; f < 2; f++) {
			for (c = 0; c < ARRAY_SIZE(caps); c++)
				evt_hold_bounds_check(ctx, caps[c], readers[n],
						      f, &st[c]);
			/* The same constant at both sizes. */
			EVT_EXPECT_EQ(ctx, st[1].max_slots, st[0].max_slots);
		}
	}
}

/* Start counting the lock holds of @q from zero. */
static void evt_holds_start(struct evcore_queue *q)
{
	struct evcore_debug_stats st;

	evt_debug_stats(q, &st, true);
}

/* The holds, copies and records copied since evt_holds_start(). */
#define EVT_EXPECT_HOLDS(ctx, q, holds, copies, records)		\
	evt_expect_holds(ctx, q, holds, copies, records, __FILE__, __LINE__)

static void evt_expect_holds(struct evt_ctx *ctx, struct evcore_queue *q,
			     u64 holds, u64 copies, u64 records,
			     const char *file, int line)
{
	struct evcore_debug_stats st;

	evt_debug_stats(q, &st, true);
	evt_check(ctx, st.holds == holds && st.copies == copies &&
		  st.records_copied == records, file, line,
		  "%llu lock holds, %llu copies of %llu records; expected %llu, %llu, %llu",
		  st.holds, st.copies, st.records_copied, holds, copies,
		  records);
}

/*
 * A read takes the queue lock once per batch and copies each record once,
 * straight from the ring to user space; a read that sleeps takes it once
 * before and once after.
 */
static void evt_read_lock_holds(struct evt_ctx *ctx)
{
	struct evcore_source a = {}, b = {};
	struct evcore_reader *fr = NULL;
	struct evt_one_read o = {};
	struct evt_thread t;
	struct evt_heads h;
	struct evt_fix f;
	unsigned int i;
	ssize_t ret;

	if (!evt_debug_built(ctx))
		return;
	/* 112-byte records, as /dev/mypoll's. */
	if (!evt_fix_init(ctx, &f, 256, 64, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	for (i = 0; i < 64; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 64), 0);
	/* 64 records: one hold, one copy. */
	evt_holds_start(f.q);
	ret = evt_read(ctx, f.r, 64 * f.rs, true);
	EVT_EXPECT_HOLDS(ctx, f.q, 1, 1, 64);
	EVT_EXPECT_EQ(ctx, ret, 64 * f.rs);
	/* One record. */
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 64, 64), 0);
	evt_holds_start(f.q);
	ret = evt_read(ctx, f.r, 64 * f.rs, true);
	EVT_EXPECT_HOLDS(ctx, f.q, 1, 1, 1);
	EVT_EXPECT_EQ(ctx, ret, f.rs);
	/* Nothing: one hold, no copy. */
	evt_holds_start(f.q);
	ret = evt_read(ctx, f.r, 64 * f.rs, true);
	EVT_EXPECT_HOLDS(ctx, f.q, 1, 0, 0);
	EVT_EXPECT_EQ(ctx, ret, -EAGAIN);
	/* 128 records across the end of the ring: two batches, three runs. */
	for (i = 65; i < 200; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 64), 0);
	evt_read_dry(ctx, f.r, 64 * f.rs);
	for (i = 200; i < 328; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, i, 64), 0);
	evt_holds_start(f.q);
	ret = evt_read(ctx, f.r, 128 * f.rs, true);
	EVT_EXPECT_HOLDS(ctx, f.q, 2, 3, 128);
	EVT_EXPECT_EQ(ctx, ret, 128 * f.rs);

	/* A filtered reader copies only its own records. */
	fr = evt_reader(ctx, f.q);
	if (!fr || !evt_register(ctx, f.q, &a, "a", 0) ||
	    !evt_register(ctx, f.q, &b, "b", 0))
		goto out;
	evcore_reader_set_filter(fr, BIT_ULL(b.id));
	evt_read_dry(ctx, f.r, 64 * f.rs);
	for (i = 0; i < 32; i++) {
		EVT_EXPECT_EQ(ctx, evt_push_n(&a, i, 64), 0);
		EVT_EXPECT_EQ(ctx, evt_push_n(&b, i, 64), 0);
	}
	evt_holds_start(f.q);
	ret = evt_read(ctx, fr, 64 * f.rs, true);
	EVT_EXPECT_HOLDS(ctx, f.q, 1, 32, 32);
	EVT_EXPECT_EQ(ctx, ret, 32 * f.rs);
	evt_read_dry(ctx, f.r, 64 * f.rs);

	/* A read that sleeps: one hold when it finds nothing, one after. */
	o.r = f.r;
	o.count = 64 * f.rs;
	if (!evt_heads_find(ctx, f.r, &h) ||
	    !evt_thread_start(ctx, &t, evt_one_read_fn, &o, f.q, 1))
		goto out;
	if (evt_wait_sleepers(ctx, &h, 1, &t)) {
		evt_holds_start(f.q);
		EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 328, 64), 0);
		evt_thread_join(ctx, &t);
		EVT_EXPECT_HOLDS(ctx, f.q, 2, 1, 1);
	} else {
		evt_thread_join(ctx, &t);
	}
	EVT_EXPECT_EQ(ctx, o.ret, f.rs);
out:
	evt_reader_done(fr);
	evt_unregister(&b);
	evt_unregister(&a);
	evt_fix_done(&f);
}

/*
 * poll() puts a file on the wait queue of producers only when it asks for
 * EPOLLOUT: a read that makes room does not call every reader's epoll
 * callback.
 */
static void evt_poll_out_waiters(struct evt_ctx *ctx)
{
	struct evt_heads h;
	struct evt_fix f;

	if (!evt_fix_init(ctx, &f, 4, 8, EVCORE_POLICY_BLOCK))
		goto out;
	h.n = 0;
	init_poll_funcptr(&h.pt, evt_heads_qproc);
	h.pt._key = EPOLLIN | EPOLLRDNORM | EPOLLPRI;
	evcore_poll(f.r, NULL, &h.pt);
	EVT_EXPECT_EQ(ctx, h.n, 1);
	h.n = 0;
	h.pt._key = EPOLLOUT;
	evcore_poll(f.r, NULL, &h.pt);
	EVT_EXPECT_EQ(ctx, h.n, 2);
	EVT_EXPECT(ctx, h.n == 2 && h.head[0] != h.head[1]);
out:
	evt_fix_done(&f);
}

#define EVT_MOVE_PUSHES	30000

/* Pushes EVT_MOVE_PUSHES events while the check resizes and reads. */
static int evt_move_pusher_fn(struct evt_thread *t)
{
	struct evcore_source *src = t->arg;
	unsigned int i;
	int ret;

	for (i = 0; i < EVT_MOVE_PUSHES && !evt_thread_stopping(); i++) {
		ret = evt_push_n(src, i, 4096);
		if (ret)
			return ret;
		cond_resched();
	}
	return 0;
}

/*
 * A resize moves records a bounded batch per lock hold while a producer
 * overwrites the oldest and the reader reads: every record arrives once,
 * in order, with its payload, what was overwritten is reported, and no
 * hold copies more than its bound.
 */
static void evt_resize_moves(struct evt_ctx *ctx)
{
	struct evcore_debug_stats st;
	struct evt_stream s;
	struct evt_thread t;
	struct evt_fix f;
	unsigned int resizes = 0, busy = 0;
	ssize_t ret;
	int err;

	/* 4 KiB payloads: a resize moves one record per lock hold. */
	if (!evt_fix_init(ctx, &f, 48, 4096, EVCORE_POLICY_DROP_OLDEST))
		goto out;
	evt_stream_init(&s, f.q, &f.src, false);
	evt_debug_stats(f.q, &st, true);
	if (!evt_thread_start(ctx, &t, evt_move_pusher_fn, &f.src, f.q, 1))
		goto out;
	while (!evt_thread_done(&t)) {
		err = evcore_queue_resize(f.q, resizes % 2 ? 40 : 56);
		if (err == -EBUSY)
			busy++;
		else if (EVT_EXPECT_EQ(ctx, err, 0))
			resizes++;
		ret = evt_read(ctx, f.r, 8 * f.rs, true);
		if (ret > 0)
			evt_stream_feed(&s, ctx->kbuf, ret, f.rs);
		else
			EVT_EXPECT_EQ(ctx, ret, -EAGAIN);
	}
	evt_thread_join(ctx, &t);
	EVT_EXPECT_EQ(ctx, t.ret, 0);
	EVT_EXPECT_EQ(ctx, evt_drain(ctx, f.r, f.q, &s, 8), -EAGAIN);
	EVT_EXPECT_STREAM(ctx, &s);
	EVT_EXPECT_EQ(ctx, s.events + s.lost, EVT_MOVE_PUSHES);
	EVT_NOTE(ctx, "%u resizes (%u refused busy), %llu events read, %llu lost",
		 resizes, busy, s.events, s.lost);
	EVT_EXPECT(ctx, resizes > 0);
	evt_debug_stats(f.q, &st, false);
	EVT_EXPECT(ctx, !IS_ENABLED(CONFIG_EVCORE_DEBUG) ||
		   (st.max_bytes <= EVT_HOLD_BYTES_MAX &&
		    st.max_slots <= EVT_HOLD_SLOTS_MAX));
out:
	evt_fix_done(&f);
}

/*
 * Check @n records in ctx->kbuf: copies of one event (aux 7, payload
 * "abc"), seq from @seq and source_seq from @src_seq on, pushed by
 * evcore_push_many() from seq @first on, so that each batch of
 * EVCORE_PUSH_BATCH shares a timestamp.
 */
static void evt_expect_copies(struct evt_ctx *ctx, struct evcore_queue *q,
			      u32 n, u64 seq, u64 src_seq, u64 first)
{
	const struct evcore_event *ev, *prev = NULL;
	u32 i;

	for (i = 0; i < n; i++, prev = ev) {
		ev = evt_rec(ctx, q, i);
		if (!EVT_EXPECT(ctx, !(ev->flags & EVCORE_EVENT_LOSS) &&
				ev->seq == seq + i &&
				ev->source_seq == src_seq + i &&
				ev->aux == 7 && ev->payload_len == 3 &&
				!memcmp(ev + 1, "abc", 4)))
			break;
		if (!prev)
			continue;
		if ((ev->seq - first) % EVCORE_PUSH_BATCH)
			EVT_EXPECT_EQ(ctx, ev->timestamp_ns, prev->timestamp_ns);
		else
			EVT_EXPECT(ctx, ev->timestamp_ns >= prev->timestamp_ns);
	}
}

/*
 * evcore_push_many() queues as that many evcore_push() calls would, in
 * lock holds of EVCORE_PUSH_BATCH events, fewer for large records; errors
 * as evcore_push()'s, with nothing changed.
 */
static void evt_push_many(struct evt_ctx *ctx)
{
	struct evcore_source_stats sst;
	struct evcore_reader_stats rst;
	struct evt_fix f, g;
	ssize_t ret;

	/* Drop-newest: the first 16 of 40 are queued, 24 refused. */
	if (!evt_fix_init(ctx, &f, 16, 8, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	EVT_EXPECT_EQ(ctx, evcore_push_many(&f.src, 0, 7, "abc", 3, 0), 0);
	evt_holds_start(f.q);
	EVT_EXPECT_EQ(ctx, evcore_push_many(&f.src, 0, 7, "abc", 3, 40), 16);
	/* 40 pushes: two holds of 32 and 8. */
	if (IS_ENABLED(CONFIG_EVCORE_DEBUG))
		EVT_EXPECT_HOLDS(ctx, f.q, 2, 0, 0);
	EVT_EXPECT_STATS(ctx, f.q, 40, 16, 24, 0, 0, 16, 16);
	evcore_source_get_stats(&f.src, &sst);
	EVT_EXPECT_EQ(ctx, sst.generated, 40);
	EVT_EXPECT_EQ(ctx, sst.dropped, 24);
	ret = evt_read(ctx, f.r, 16 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 16 * f.rs);
	if (ret == 16 * f.rs)
		evt_expect_copies(ctx, f.q, 16, 0, 0, 0);
	ret = evt_read(ctx, f.r, 16 * f.rs, true);
	EVT_EXPECT_RECORDS(ctx, f.q, ret, { 16, 24 });

	/* What evcore_push() refuses, it refuses, and nothing changes. */
	EVT_EXPECT_EQ(ctx, evcore_push_many(&f.src, EVCORE_EVENT_LOSS, 7,
					    "abc", 3, 4), -EINVAL);
	EVT_EXPECT_EQ(ctx, evcore_push_many(&f.src, 0, 7, "abc", 9, 4),
		      -EMSGSIZE);
	evcore_source_set_enabled(&f.src, false);
	EVT_EXPECT_EQ(ctx, evcore_push_many(&f.src, 0, 7, "abc", 3, 4),
		      -ENODATA);
	/* With none to push, only the arguments checked first fail it. */
	EVT_EXPECT_EQ(ctx, evcore_push_many(&f.src, 0, 7, "abc", 3, 0), 0);
	evcore_source_set_enabled(&f.src, true);
	EVT_EXPECT_EQ(ctx, evcore_push_many(&f.src, EVCORE_EVENT_LOSS, 7,
					    "abc", 3, 0), -EINVAL);
	EVT_EXPECT_EQ(ctx, evcore_push_many(&f.src, 0, 7, "abc", 3,
					    (u32)INT_MAX + 1), -EINVAL);
	EVT_EXPECT_EQ(ctx, evcore_push_many(&f.src, 0, 7, "abc", 9, 0), 0);
	EVT_EXPECT_STATS(ctx, f.q, 40, 16, 24, 0, 0, 16, 0);

	/* Drop-oldest: all 40 are queued, the 24 oldest overwritten. */
	EVT_EXPECT_EQ(ctx, evcore_queue_set_policy(f.q,
						   EVCORE_POLICY_DROP_OLDEST), 0);
	EVT_EXPECT_EQ(ctx, evcore_push_many(&f.src, 0, 7, "abc", 3, 40), 40);
	EVT_EXPECT_STATS(ctx, f.q, 80, 56, 24, 24, 0, 56, 16);
	ret = evt_read(ctx, f.r, 17 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 17 * f.rs);
	if (ret == 17 * f.rs &&
	    EVT_EXPECT_EQ(ctx, evt_rec(ctx, f.q, 0)->lost, 24)) {
		memmove(ctx->kbuf, ctx->kbuf + f.rs, 16 * f.rs);
		evt_expect_copies(ctx, f.q, 16, 40, 64, 16);
	}
	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.lost, 48);

	/* 4 KiB records: one per hold. */
	if (!evt_fix_init(ctx, &g, 8, EVCORE_MAX_PAYLOAD,
			  EVCORE_POLICY_DROP_NEWEST))
		goto out_g;
	evt_holds_start(g.q);
	EVT_EXPECT_EQ(ctx, evcore_push_many(&g.src, 0, 7, "abc", 3, 3), 3);
	if (IS_ENABLED(CONFIG_EVCORE_DEBUG))
		EVT_EXPECT_HOLDS(ctx, g.q, 3, 0, 0);

	/* An unregistered source, even with none to push. */
	evcore_source_unregister(&g.src);
	EVT_EXPECT_EQ(ctx, evcore_push_many(&g.src, 0, 7, "abc", 3, 3),
		      -ENODEV);
	EVT_EXPECT_EQ(ctx, evcore_push_many(&g.src, 0, 7, "abc", 3, 0),
		      -ENODEV);
out_g:
	evt_fix_done(&g);
out:
	evt_fix_done(&f);
}

/*
 * A filter change walks the records queued when it began, a bounded batch
 * per lock hold, and ends however fast producers push. Before each pass a
 * probe on the evcore_walk tracepoint has a thread on another CPU push
 * more records than one pass walks, overwriting the oldest: the walk must
 * still end within the passes that the records queued at its start need,
 * not chase the head for as long as the producers keep up. The reader,
 * standing on its records while it walked, is told of every event
 * overwritten under it, and reads none of the source it no longer wants.
 */
#define EVT_WALK_CAP		256
#define EVT_WALK_PUSH		128
#define EVT_WALK_PASSES_MAX	1000

struct evt_walk_race {
	struct evcore_source a, b;
	bool armed;
	bool stop;
	bool failed;
	u32 passes;
	/* Pushes asked for by the probe, and done by the thread. */
	atomic_t asked;
	atomic_t done;
};

/*
 * Called with preemption disabled, where a push may not be made on
 * PREEMPT_RT: the thread pushes, the probe waits for it.
 */
static void evt_walk_probe(void *data, const char *queue, u64 seq, u64 until)
{
	struct evt_walk_race *w = data;
	u64 end = local_clock() + (u64)EVT_WAIT_MS * NSEC_PER_MSEC;
	int asked;

	if (!READ_ONCE(w->armed) || strcmp(queue, "evt") ||
	    ++w->passes > EVT_WALK_PASSES_MAX)
		return;
	asked = atomic_inc_return(&w->asked);
	while (atomic_read_acquire(&w->done) < asked) {
		if (local_clock() > end) {
			WRITE_ONCE(w->failed, true);
			break;
		}
		cpu_relax();
	}
}

static int evt_walk_pusher_fn(struct evt_thread *t)
{
	struct evt_walk_race *w = t->arg;
	int asked, done = 0;
	u32 i;

	while (!evt_thread_stopping() && !READ_ONCE(w->stop) &&
	       !READ_ONCE(w->failed)) {
		asked = atomic_read(&w->asked);
		if (asked == done) {
			cond_resched();
			continue;
		}
		for (i = 0; i < EVT_WALK_PUSH; i++)
			if (evt_push_n(&w->a, i, 8))
				WRITE_ONCE(w->failed, true);
		atomic_set_release(&w->done, ++done);
	}
	return 0;
}

static void evt_filter_walk_ends(struct evt_ctx *ctx)
{
	struct evt_walk_race *w;
	struct evcore_reader *r;
	struct evcore_queue *q;
	struct evt_thread t;
	unsigned int cpu;
	ssize_t ret;
	u32 i;

	if (num_online_cpus() < 2) {
		ctx->skip = "one CPU: the producer cannot run beside the walk";
		return;
	}
	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!EVT_EXPECT(ctx, w))
		return;
	q = evt_queue(ctx, EVT_WALK_CAP, 8, EVCORE_POLICY_DROP_OLDEST);
	if (!q)
		goto out_free;
	r = evt_reader(ctx, q);
	if (!r || !evt_register(ctx, q, &w->a, "a", 1) ||
	    !evt_register(ctx, q, &w->b, "b", 2))
		goto out;
	for (i = 0; i < EVT_WALK_CAP / 2; i++) {
		EVT_EXPECT_EQ(ctx, evt_push_n(&w->a, i, 8), 0);
		EVT_EXPECT_EQ(ctx, evt_push_n(&w->b, i, 8), 0);
	}
	if (!EVT_EXPECT_EQ(ctx, register_trace_evcore_walk(evt_walk_probe, w),
			   0))
		goto out;
	if (!evt_thread_start(ctx, &t, evt_walk_pusher_fn, w, q, 1))
		goto out_probe;
	cpu = cpumask_any_but(cpu_online_mask, raw_smp_processor_id());
	set_cpus_allowed_ptr(t.task, cpumask_of(cpu));

	WRITE_ONCE(w->armed, true);
	evcore_reader_set_filter(r, BIT_ULL(w->b.id));
	WRITE_ONCE(w->armed, false);
	/* The probe waited for every push it asked for. */
	WRITE_ONCE(w->stop, true);
	evt_thread_join(ctx, &t);
	EVT_EXPECT(ctx, !READ_ONCE(w->failed));
	EVT_NOTE(ctx, "the walk took %u passes", w->passes);
	/* 256 records, 64 a pass, and more pushed before each: <= 4 passes. */
	EVT_EXPECT(ctx, w->passes <= EVT_WALK_CAP / 64);

	/* Everything under it was overwritten; only source a is left. */
	ret = evt_read(ctx, r, 8 * evcore_record_size(q), true);
	if (EVT_EXPECT_EQ(ctx, ret, evcore_record_size(q))) {
		EVT_EXPECT(ctx, evt_rec(ctx, q, 0)->flags & EVCORE_EVENT_LOSS);
		EVT_NOTE(ctx, "lost %llu", evt_rec(ctx, q, 0)->lost);
	}
	EVT_EXPECT_EQ(ctx, evt_read(ctx, r, 8 * evcore_record_size(q), true),
		      -EAGAIN);
out_probe:
	unregister_trace_evcore_walk(evt_walk_probe, w);
	tracepoint_synchronize_unregister();
out:
	evt_reader_done(r);
	evt_unregister(&w->b);
	evt_unregister(&w->a);
	evt_queue_done(q);
out_free:
	kfree(w);
}

/*
 * A filter change walks the records of the sources it no longer wants and
 * lets them go behind its cursor, where nobody else needs them. When an
 * overwrite then passes the cursor, the reader is told of the events
 * overwritten, not of those it let go: those it skipped with its new
 * filter count as filtered. The probe on the evcore_walk tracepoint pushes
 * in the walk's second pass, before it takes the queue lock.
 */
#define EVT_WALKLOSS_CAP	128
#define EVT_WALKLOSS_B		100

struct evt_walk_loss {
	struct evcore_source a, b;
	bool armed;
	u32 passes;
	u32 pushed;
	int err;
};

static void evt_walk_loss_probe(void *data, const char *queue, u64 seq,
				u64 until)
{
	struct evt_walk_loss *w = data;
	int ret;

	if (!READ_ONCE(w->armed) || strcmp(queue, "evt") || ++w->passes != 2)
		return;
	/*
	 * The first pass let go of source b's records before its cursor:
	 * fill the queue with source a's, and one more, which overwrites
	 * the record under the cursor.
	 */
	for (w->pushed = 0; w->pushed < EVT_WALKLOSS_CAP - (until - seq) + 1;
	     w->pushed++) {
		ret = evt_push_n(&w->a, w->pushed, 8);
		if (ret && !w->err)
			w->err = ret;
	}
}

static void evt_filter_walk_loss(struct evt_ctx *ctx)
{
	struct evcore_reader_stats rst;
	struct evcore_reader *r = NULL;
	struct evt_walk_loss *w;
	struct evcore_queue *q;
	struct evcore_stats st;
	ssize_t ret;
	u32 i;

	/* The probe runs with preemption off, where RT may not push. */
	if (IS_ENABLED(CONFIG_PREEMPT_RT)) {
		ctx->skip = "PREEMPT_RT: no push from a tracepoint probe";
		return;
	}
	w = kzalloc(sizeof(*w), GFP_KERNEL);
	if (!EVT_EXPECT(ctx, w))
		return;
	q = evt_queue(ctx, EVT_WALKLOSS_CAP, 8, EVCORE_POLICY_DROP_OLDEST);
	if (!q)
		goto out_free;
	r = evt_reader(ctx, q);
	if (!r || !evt_register(ctx, q, &w->a, "a", 1) ||
	    !evt_register(ctx, q, &w->b, "b", 2))
		goto out;
	for (i = 0; i < EVT_WALKLOSS_B; i++)
		EVT_EXPECT_EQ(ctx, evt_push_n(&w->b, i, 8), 0);
	if (!EVT_EXPECT_EQ(ctx,
			   register_trace_evcore_walk(evt_walk_loss_probe, w),
			   0))
		goto out;
	WRITE_ONCE(w->armed, true);
	evcore_reader_set_filter(r, BIT_ULL(w->a.id));
	WRITE_ONCE(w->armed, false);
	unregister_trace_evcore_walk(evt_walk_loss_probe, w);
	tracepoint_synchronize_unregister();
	EVT_EXPECT_EQ(ctx, w->err, 0);
	EVT_EXPECT_EQ(ctx, w->passes, 2);

	evcore_queue_get_stats(q, &st);
	EVT_NOTE(ctx, "pushed %u of a, %llu overwritten", w->pushed,
		 st.overwritten);
	EVT_EXPECT_EQ(ctx, st.overwritten, 1);
	/* The loss of the one event overwritten, then every event of a. */
	ret = evt_read(ctx, r, EVT_SLOT_SIZE, true);
	EVT_EXPECT_EQ(ctx, ret, (w->pushed + 1) * evcore_record_size(q));
	if (ret > 0) {
		EVT_EXPECT(ctx, evt_rec(ctx, q, 0)->flags & EVCORE_EVENT_LOSS);
		EVT_EXPECT_EQ(ctx, evt_rec(ctx, q, 0)->lost, st.overwritten);
	}
	evcore_reader_get_stats(r, &rst);
	EVT_EXPECT_EQ(ctx, rst.lost, st.overwritten);
	EVT_EXPECT_EQ(ctx, rst.read, w->pushed);
	EVT_EXPECT_EQ(ctx, rst.read + rst.lost + rst.filtered,
		      EVT_WALKLOSS_B + w->pushed);
out:
	evt_reader_done(r);
	evt_unregister(&w->b);
	evt_unregister(&w->a);
	evt_queue_done(q);
out_free:
	kfree(w);
}
