// SPDX-License-Identifier: GPL-2.0
/*
 * evcore's checks of groups: evcore_push_batch() and how reads return the
 * groups it queues. Included by evcore_tests.c, which has the helpers.
 */

/*
 * Push a group of @n records, alternating between @a and @b (@b may be
 * NULL), each carrying the 8-byte payload @first + i and aux i.
 */
static int evt_group(struct evcore_queue *q, struct evcore_source *a,
		     struct evcore_source *b, u32 n, u64 first, u64 ts)
{
	struct evcore_push_item *items;
	u64 *vals;
	u32 i;
	int ret;

	if (WARN_ON(n > EVCORE_GROUP_MAX))
		return -E2BIG;
	/* Too big for the stack; the checks run in process context. */
	items = kcalloc(n, sizeof(*items) + sizeof(*vals), GFP_KERNEL);
	if (!items)
		return -ENOMEM;
	vals = (u64 *)(items + n);
	for (i = 0; i < n; i++) {
		vals[i] = first + i;
		items[i] = (struct evcore_push_item){
			.src = b && (i & 1) ? b : a, .payload = &vals[i],
			.len = sizeof(vals[i]), .aux = i,
		};
	}
	ret = evcore_push_batch(q, items, n, ts);
	kfree(items);
	return ret;
}

/*
 * Check the @n records a read returned against groups of @size records
 * pushed by evt_group() with consecutive payloads: each record carries
 * the payload after the one before it (or after @gap lost ones: a loss
 * record must say so and stand between groups), and the group flag says
 * whether its group goes on. Return the payload expected next.
 */
/* @v modulo @size, which 32-bit kernels cannot write as v % size. */
static u32 evt_mod(u64 v, u32 size)
{
	return do_div(v, size);
}

static u64 evt_group_feed(struct evt_ctx *ctx, struct evcore_queue *q,
			  u32 n, u32 size, u64 next)
{
	struct evcore_event *ev;
	u32 i;
	u64 v;

	for (i = 0; i < n; i++) {
		ev = evt_rec(ctx, q, i);
		if (ev->flags & EVCORE_EVENT_LOSS) {
			EVT_EXPECT_EQ(ctx, evt_mod(next, size), 0);
			next += ev->lost;
			continue;
		}
		v = *(u64 *)(ev + 1);
		EVT_EXPECT_EQ(ctx, v, next);
		EVT_EXPECT_EQ(ctx, ev->aux, evt_mod(v, size));
		EVT_EXPECT_EQ(ctx, !!(ev->flags & EVCORE_EVENT_GROUP_MORE),
			      evt_mod(v, size) != size - 1);
		next = v + 1;
	}
	return next;
}

/* Bad groups change nothing and say why. */
static void evt_push_batch_errors(struct evt_ctx *ctx)
{
	struct evcore_push_item it[2] = {};
	struct evcore_source other = {};
	struct evcore_queue *q2, *q3;
	struct evcore_stats st;
	struct evt_fix f;
	u64 big[16] = {};

	if (!evt_fix_init(ctx, &f, 8, 8, EVCORE_POLICY_DROP_NEWEST))
		goto out;
	q2 = evt_queue(ctx, 8, 8, EVCORE_POLICY_DROP_NEWEST);
	if (!q2 || !evt_register(ctx, q2, &other, "other", 0))
		goto out_q2;
	EVT_EXPECT_EQ(ctx, evcore_queue_max_group(f.q), EVCORE_GROUP_MAX);
	/* Larger records, fewer: no more than 16 KiB of them. */
	q3 = evt_queue(ctx, 8, 64, EVCORE_POLICY_DROP_NEWEST);
	if (q3)
		EVT_EXPECT_EQ(ctx, evcore_queue_max_group(q3),
			      EVCORE_GROUP_BYTES / evcore_record_size(q3));
	evt_queue_done(q3);
	it[0].src = &f.src;
	it[1].src = &f.src;
	EVT_EXPECT_EQ(ctx, evcore_push_batch(f.q, it, 0, 0), -EINVAL);
	EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 9, 0, 0), -E2BIG);
	EVT_EXPECT_EQ(ctx, evcore_push_batch(f.q, it, EVCORE_GROUP_MAX + 1, 0),
		      -E2BIG);
	it[1].flags = EVCORE_EVENT_LOSS;
	EVT_EXPECT_EQ(ctx, evcore_push_batch(f.q, it, 2, 0), -EINVAL);
	it[1].flags = 0;
	it[1].payload = big;
	it[1].len = sizeof(big);
	EVT_EXPECT_EQ(ctx, evcore_push_batch(f.q, it, 2, 0), -EMSGSIZE);
	it[1].len = 0;
	it[1].src = NULL;
	EVT_EXPECT_EQ(ctx, evcore_push_batch(f.q, it, 2, 0), -EINVAL);
	it[1].src = &other;
	EVT_EXPECT_EQ(ctx, evcore_push_batch(f.q, it, 2, 0), -ENODEV);
	it[1].src = &f.src;
	evcore_source_set_enabled(&f.src, false);
	EVT_EXPECT_EQ(ctx, evcore_push_batch(f.q, it, 2, 0), -ENODATA);
	evcore_source_set_enabled(&f.src, true);
	evcore_queue_get_stats(f.q, &st);
	EVT_EXPECT_EQ(ctx, st.generated, 0);
	EVT_EXPECT_EQ(ctx, st.next_seq, 0);
	/* A capacity too small for the group, after a resize. */
	EVT_EXPECT_EQ(ctx, evcore_queue_resize(f.q, 2), 0);
	EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 3, 0, 0), -E2BIG);
	EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 2, 0, 0), 2);
	evcore_queue_shutdown(f.q);
	EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 1, 0, 0), -ESHUTDOWN);
out_q2:
	evt_unregister(&other);
	evt_queue_done(q2);
out:
	evt_fix_done(&f);
}

/*
 * A group's records: consecutive, one timestamp (the caller's, never
 * older than the record before), the group flag on all but the last, the
 * items of a disabled source left out.
 */
static void evt_push_batch_records(struct evt_ctx *ctx)
{
	/* Records 1 to 8: source (1: a, 2: b), its seq, payload. */
	static const u32 ids[9] = { 1, 1, 2, 1, 2, 1, 2, 1, 1 };
	static const u64 src_seqs[9] = { 0, 1, 0, 2, 1, 3, 2, 4, 5 };
	static const u64 vals[9] = { 0, 0, 1, 2, 3, 4, 5, 6, 8 };
	struct evcore_source b = {};
	struct evcore_event *ev;
	struct evt_fix f;
	u64 ts;
	ssize_t ret;
	u32 i;

	if (!evt_fix_init(ctx, &f, 16, 8, EVCORE_POLICY_DROP_NEWEST) ||
	    !evt_register(ctx, f.q, &b, "b", 0))
		goto out;
	EVT_EXPECT_EQ(ctx, f.src.id, 1);
	EVT_EXPECT_EQ(ctx, b.id, 2);
	EVT_EXPECT_EQ(ctx, evt_push_n(&f.src, 0, 8), 0);
	ts = ktime_get_ns() + NSEC_PER_SEC;
	EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, &b, 4, 0, ts), 4);
	/* An older timestamp than the last record's: the last one's. */
	EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, &b, 2, 4, 1), 2);
	evcore_source_set_enabled(&b, false);
	EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, &b, 3, 6, 0), 2);
	ret = evt_read(ctx, f.r, 16 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 9 * f.rs);
	for (i = 1; i < 9; i++) {
		ev = evt_rec(ctx, f.q, i);
		EVT_EXPECT_EQ(ctx, ev->seq, i);
		EVT_EXPECT_EQ(ctx, ev->timestamp_ns, ts);
		EVT_EXPECT_EQ(ctx, ev->source_id, ids[i]);
		EVT_EXPECT_EQ(ctx, ev->source_seq, src_seqs[i]);
		EVT_EXPECT_EQ(ctx, *(u64 *)(ev + 1), vals[i]);
		EVT_EXPECT_EQ(ctx, ev->flags, i == 4 || i == 6 || i == 8 ?
			      0 : EVCORE_EVENT_GROUP_MORE);
	}
	EVT_EXPECT_EQ(ctx, evt_rec(ctx, f.q, 0)->flags, 0);
out:
	evt_unregister(&b);
	evt_fix_done(&f);
}

/*
 * A drop-newest queue of 1024 records with its reader and a filtered one
 * (which wants the same source, but reads by the other path), @nr groups
 * of @size pushed.
 */
static bool evt_group_fix(struct evt_ctx *ctx, struct evt_fix *f,
			  struct evcore_reader **fr, u32 nr, u32 size)
{
	u32 i;

	*fr = NULL;
	if (!evt_fix_init(ctx, f, 1024, 8, EVCORE_POLICY_DROP_NEWEST))
		return false;
	*fr = evt_reader(ctx, f->q);
	if (!*fr)
		return false;
	evcore_reader_set_filter(*fr, BIT_ULL(f->src.id));
	for (i = 0; i < nr; i++)
		if (!EVT_EXPECT_EQ(ctx, evt_group(f->q, &f->src, NULL, size,
						  size * i, 0), size))
			return false;
	return true;
}

/*
 * Reads return whole groups: they stop before a group the buffer cannot
 * hold, unless they have nothing yet; the fast path (a reader of every
 * source), the other path (a filtered reader, a reader with a loss to
 * report) and a batch's end all cut between groups.
 */
static void evt_push_batch_reads(struct evt_ctx *ctx)
{
	struct evcore_reader *fr;
	u64 next = 0, fnext = 0;
	struct evt_fix f;
	ssize_t ret;
	u32 i;

	if (!evt_group_fix(ctx, &f, &fr, 40, 3))
		goto out;
	/* 5 records of room: one group; 2 of room: part of one. */
	ret = evt_read(ctx, f.r, 5 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 3 * f.rs);
	next = evt_group_feed(ctx, f.q, ret / f.rs, 3, next);
	ret = evt_read(ctx, fr, 5 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 3 * f.rs);
	fnext = evt_group_feed(ctx, f.q, ret / f.rs, 3, fnext);
	ret = evt_read(ctx, f.r, 2 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 2 * f.rs);
	next = evt_group_feed(ctx, f.q, ret / f.rs, 3, next);
	ret = evt_read(ctx, fr, 2 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 2 * f.rs);
	fnext = evt_group_feed(ctx, f.q, ret / f.rs, 3, fnext);
	/* The rest of that group, then whole groups only. */
	ret = evt_read(ctx, f.r, 6 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 4 * f.rs);
	next = evt_group_feed(ctx, f.q, ret / f.rs, 3, next);
	ret = evt_read(ctx, fr, 6 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 4 * f.rs);
	fnext = evt_group_feed(ctx, f.q, ret / f.rs, 3, fnext);
	/* 100 records of room, past a batch of 64: 99, whole groups. */
	ret = evt_read(ctx, f.r, 100 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 99 * f.rs);
	next = evt_group_feed(ctx, f.q, ret / f.rs, 3, next);
	ret = evt_read(ctx, fr, 100 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 99 * f.rs);
	fnext = evt_group_feed(ctx, f.q, ret / f.rs, 3, fnext);
	/* A loss to report first: the loss record, then whole groups. */
	EVT_EXPECT_EQ(ctx, evcore_queue_resize(f.q, 12), 0);
	EVT_EXPECT_EQ(ctx, evcore_queue_set_policy(f.q,
						   EVCORE_POLICY_DROP_OLDEST), 0);
	for (i = 40; i < 45; i++)
		evt_group(f.q, &f.src, NULL, 3, 3 * i, 0);
	ret = evt_read(ctx, f.r, 8 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 7 * f.rs);
	EVT_EXPECT(ctx, evt_rec(ctx, f.q, 0)->flags & EVCORE_EVENT_LOSS);
	next = evt_group_feed(ctx, f.q, ret / f.rs, 3, next);
	ret = evt_read(ctx, f.r, 64 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 6 * f.rs);
	next = evt_group_feed(ctx, f.q, ret / f.rs, 3, next);
	EVT_EXPECT_EQ(ctx, next, 3 * 45);
	ret = evt_read(ctx, fr, 64 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 13 * f.rs);
	fnext = evt_group_feed(ctx, f.q, ret / f.rs, 3, fnext);
	EVT_EXPECT_EQ(ctx, fnext, 3 * 45);
out:
	evt_reader_done(fr);
	evt_fix_done(&f);
}

/*
 * Groups longer than a read's batch (64 records) and its scan (128 slots)
 * come whole: a hold that starts at one takes it all, on the fast path (a
 * reader of every source) and on the other (a filtered reader); a read
 * stops before one that does not fit, and a buffer smaller than one gets
 * what fits. No hold copies more than a group's bytes.
 */
static void evt_push_batch_big_reads(struct evt_ctx *ctx)
{
	const u32 g = 200;
	struct evcore_debug_stats st;
	struct evcore_reader *fr;
	u64 next = 0, fnext = 0;
	struct evt_fix f;
	ssize_t ret;
	u32 i;

	if (!evt_group_fix(ctx, &f, &fr, 5, g))
		goto out;
	evt_holds_start(f.q);
	/* Room for a group and a half: one group. */
	ret = evt_read(ctx, f.r, (g + g / 2) * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, g * f.rs);
	next = evt_group_feed(ctx, f.q, ret / f.rs, g, next);
	ret = evt_read(ctx, fr, (g + g / 2) * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, g * f.rs);
	fnext = evt_group_feed(ctx, f.q, ret / f.rs, g, fnext);
	/* Room for two and a half: two. */
	ret = evt_read(ctx, f.r, (2 * g + g / 2) * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 2 * g * f.rs);
	next = evt_group_feed(ctx, f.q, ret / f.rs, g, next);
	ret = evt_read(ctx, fr, (2 * g + g / 2) * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, 2 * g * f.rs);
	fnext = evt_group_feed(ctx, f.q, ret / f.rs, g, fnext);
	evt_debug_stats(f.q, &st, true);
	EVT_EXPECT_EQ(ctx, st.max_bytes, g * f.rs);
	EVT_EXPECT(ctx, st.max_bytes <= EVCORE_GROUP_BYTES);
	/* Room for half a group: half, then the rest and the last group. */
	ret = evt_read(ctx, f.r, g / 2 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, g / 2 * f.rs);
	next = evt_group_feed(ctx, f.q, ret / f.rs, g, next);
	ret = evt_read(ctx, fr, g / 2 * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, g / 2 * f.rs);
	fnext = evt_group_feed(ctx, f.q, ret / f.rs, g, fnext);
	ret = evt_read(ctx, f.r, 4 * g * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, (g + g / 2) * f.rs);
	next = evt_group_feed(ctx, f.q, ret / f.rs, g, next);
	ret = evt_read(ctx, fr, 4 * g * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, (g + g / 2) * f.rs);
	fnext = evt_group_feed(ctx, f.q, ret / f.rs, g, fnext);
	EVT_EXPECT_EQ(ctx, next, 5 * g);
	EVT_EXPECT_EQ(ctx, fnext, 5 * g);
	/* The largest group, whole, after a loss record. */
	evcore_queue_set_policy(f.q, EVCORE_POLICY_DROP_OLDEST);
	for (i = 0; i < 5; i++)
		EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL,
					     EVCORE_GROUP_MAX,
					     EVCORE_GROUP_MAX * i, 0),
			      EVCORE_GROUP_MAX);
	ret = evt_read(ctx, f.r, (2 + 4 * EVCORE_GROUP_MAX) * f.rs, true);
	EVT_EXPECT_EQ(ctx, ret, (1 + 4 * EVCORE_GROUP_MAX) * f.rs);
	EVT_EXPECT(ctx, evt_rec(ctx, f.q, 0)->flags & EVCORE_EVENT_LOSS);
	EVT_EXPECT_EQ(ctx, evt_group_feed(ctx, f.q, ret / f.rs,
					  EVCORE_GROUP_MAX, 0),
		      5 * EVCORE_GROUP_MAX);
	evt_debug_stats(f.q, &st, true);
	EVT_EXPECT_EQ(ctx, st.max_bytes, EVCORE_GROUP_MAX * f.rs);
out:
	evt_reader_done(fr);
	evt_fix_done(&f);
}

/* Record @i of the last read: payload @val (or a loss of @lost), @flags. */
#define EVT_EXPECT_REC(ctx, q, i, val, flags)				\
	evt_expect_rec(ctx, q, i, val, flags, __FILE__, __LINE__)

static void evt_expect_rec(struct evt_ctx *ctx, struct evcore_queue *q,
			   u32 i, u64 val, u32 flags, const char *file,
			   int line)
{
	struct evcore_event *ev = evt_rec(ctx, q, i);
	u64 got = flags & EVCORE_EVENT_LOSS ? ev->lost : *(u64 *)(ev + 1);

	evt_check(ctx, ev->flags == flags && got == val, file, line,
		  "record %u: flags %#x, %s %llu; expected %#x, %llu", i,
		  ev->flags, flags & EVCORE_EVENT_LOSS ? "lost" : "payload",
		  got, flags, val);
}

/*
 * The policies take or refuse a group whole and count every event of it:
 * drop-newest and block refuse it (the loss record stands before the next
 * group), drop-oldest overwrites whole groups at the tail, also for a
 * single push and for a tail inside a group a reader read part of.
 */
static void evt_push_batch_policies(struct evt_ctx *ctx)
{
	static const u32 policies[] = {
		EVCORE_POLICY_DROP_NEWEST, EVCORE_POLICY_BLOCK,
		EVCORE_POLICY_DROP_OLDEST,
	};
	const u32 more = EVCORE_EVENT_GROUP_MORE, loss = EVCORE_EVENT_LOSS;
	struct evcore_source_stats ss;
	struct evcore_stats st;
	struct evt_fix f;
	bool oldest;
	u32 p;

	for (p = 0; p < ARRAY_SIZE(policies); p++) {
		oldest = policies[p] == EVCORE_POLICY_DROP_OLDEST;
		if (!evt_fix_init(ctx, &f, 8, 8, policies[p]))
			goto next;
		EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 3, 0, 0), 3);
		EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 3, 3, 0), 3);
		/* 2 free, 3 wanted. */
		EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 3, 6, 0),
			      oldest ? 3 : -ENOSPC);
		evcore_queue_get_stats(f.q, &st);
		EVT_EXPECT_EQ(ctx, st.generated, 9);
		EVT_EXPECT_EQ(ctx, st.dropped_full, oldest ? 0 : 3);
		EVT_EXPECT_EQ(ctx, st.overwritten, oldest ? 3 : 0);
		EVT_EXPECT_EQ(ctx, st.depth, 6);
		evcore_source_get_stats(&f.src, &ss);
		EVT_EXPECT_EQ(ctx, ss.next_seq, 9);
		EVT_EXPECT_EQ(ctx, ss.dropped + ss.overwritten, 3);
		if (oldest) {
			/* The loss alone: the next group does not fit. */
			EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, 2 * f.rs, true),
				      f.rs);
			EVT_EXPECT_REC(ctx, f.q, 0, 3, loss);
			/* Part of a group: the tail is then inside it. */
			EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, 2 * f.rs, true),
				      2 * f.rs);
			EVT_EXPECT_REC(ctx, f.q, 1, 4, more);
			/* Its rest and the next group overwritten whole. */
			EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 3, 9,
						     0), 3);
			EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 3, 12,
						     0), 3);
			EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 1, 15,
						     0), 1);
			EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 1, 16,
						     0), 1);
			/* One alone overwrites a whole group. */
			EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 1, 17,
						     0), 1);
			EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, 64 * f.rs, true),
				      7 * f.rs);
			EVT_EXPECT_REC(ctx, f.q, 0, 7, loss);
			EVT_EXPECT_REC(ctx, f.q, 1, 12, more);
			EVT_EXPECT_REC(ctx, f.q, 3, 14, 0);
			EVT_EXPECT_REC(ctx, f.q, 4, 15, 0);
			EVT_EXPECT_REC(ctx, f.q, 6, 17, 0);
			evcore_queue_get_stats(f.q, &st);
			EVT_EXPECT_EQ(ctx, st.overwritten, 10);
		} else {
			EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, 2 * f.rs, true),
				      2 * f.rs);
			EVT_EXPECT_REC(ctx, f.q, 1, 1, more);
			EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 3, 9,
						     0), 3);
			EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 3, 12,
						     0), -ENOSPC);
			EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 1, 15,
						     0), 1);
			EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, 64 * f.rs, true),
				      10 * f.rs);
			EVT_EXPECT_REC(ctx, f.q, 0, 2, 0);
			EVT_EXPECT_REC(ctx, f.q, 3, 5, 0);
			EVT_EXPECT_REC(ctx, f.q, 4, 3, loss);
			EVT_EXPECT_REC(ctx, f.q, 5, 9, more);
			EVT_EXPECT_REC(ctx, f.q, 7, 11, 0);
			EVT_EXPECT_REC(ctx, f.q, 8, 3, loss);
			EVT_EXPECT_REC(ctx, f.q, 9, 15, 0);
			evcore_queue_get_stats(f.q, &st);
			EVT_EXPECT_EQ(ctx, st.dropped_full, 6);
		}
next:
		evt_fix_done(&f);
	}
}

/*
 * One hold per group, its work bounded by the group's size whatever the
 * capacity, the depth or the readers: a full drop-oldest queue overwrites
 * at most a group and a group's worth more. Reading such a queue, each
 * hold takes at most one group (or one batch), within the bounds of every
 * read.
 */
static void evt_push_batch_holds(struct evt_ctx *ctx)
{
	static const u32 caps[] = { 1024, EVCORE_MAX_CAPACITY };
	const u32 big = EVCORE_GROUP_MAX, prev = EVCORE_GROUP_MAX - 1;
	struct evcore_debug_stats st[ARRAY_SIZE(caps)][2], rd;
	struct evcore_reader *r[64] = {};
	struct evcore_source a = {};
	struct evcore_queue *q;
	u32 c, n, i, nr;

	if (!evt_debug_built(ctx))
		return;
	for (c = 0; c < ARRAY_SIZE(caps); c++) {
		for (n = 0; n < 2; n++) {
			nr = n ? 64 : 1;
			q = evt_queue(ctx, caps[c], 8,
				      EVCORE_POLICY_DROP_OLDEST);
			if (!q || !evt_register(ctx, q, &a, "a", 0))
				goto out;
			for (i = 0; i < nr; i++)
				r[i] = evt_reader(ctx, q);
			/* Full of groups of 255, then one of 256. */
			for (i = 0; i + prev <= caps[c]; i += prev)
				evt_group(q, &a, NULL, prev, i, 0);
			for (; i < caps[c]; i++)
				evcore_push(&a, 0, 0, NULL, 0);
			evt_holds_start(q);
			EVT_EXPECT_EQ(ctx, evt_group(q, &a, NULL, big, 0, 0),
				      big);
			evt_debug_stats(q, &st[c][n], false);
			EVT_EXPECT_EQ(ctx, st[c][n].holds, 1);
			EVT_EXPECT(ctx, st[c][n].max_slots <=
				   16 * EVCORE_GROUP_MAX);
			EVT_EXPECT_EQ(ctx, st[c][n].max_readers, 0);
			/* One reader reads it all, a group whole a hold. */
			evt_holds_start(q);
			evt_read_dry(ctx, r[0], EVT_SLOT_SIZE);
			evt_debug_stats(q, &rd, false);
			EVT_EXPECT_EQ(ctx, rd.max_bytes,
				      big * evcore_record_size(q));
			EVT_EXPECT(ctx, rd.max_bytes <= EVT_HOLD_BYTES_MAX);
			EVT_EXPECT(ctx, rd.max_slots <= EVT_HOLD_SLOTS_MAX);
			EVT_EXPECT_EQ(ctx, rd.max_readers, 1);
out:
			for (i = 0; i < nr; i++) {
				evt_reader_done(r[i]);
				r[i] = NULL;
			}
			evt_unregister(&a);
			memset(&a, 0, sizeof(a));
			evt_queue_done(q);
			if (!q)
				return;
		}
	}
	EVT_NOTE(ctx, "a group of %u over groups of %u: %u slots looked at",
		 big, prev, st[0][0].max_slots);
	/* The same work at every capacity and with any number of readers. */
	EVT_EXPECT_EQ(ctx, st[1][0].max_slots, st[0][0].max_slots);
	EVT_EXPECT_EQ(ctx, st[0][1].max_slots, st[0][0].max_slots);
	EVT_EXPECT_EQ(ctx, st[1][1].max_slots, st[0][0].max_slots);
}

/*
 * A page of the buffer that cannot be written inside a group: the read
 * stops before the group, not inside it, so the reader stands at its start
 * (were it inside, an overwrite while the read faults the page in would
 * put a loss record there). The next read gets the group whole. Both ways
 * of reading: an unfiltered reader's fast path and a filtered reader's.
 * Then the same group into pages not faulted in yet comes whole in one
 * read.
 */
static void evt_push_batch_read_fault(struct evt_ctx *ctx)
{
	struct evcore_reader_stats rst;
	unsigned long map = 0, ro;
	char __user *at;
	struct evt_fix f;
	unsigned int pass;
	u64 next;
	ssize_t ret;

	for (pass = 0; pass < 3; pass++) {
		/* The second page read-only, or not faulted in yet. */
		map = evt_map_two(ctx, pass < 2);
		if (!map)
			return;
		ro = map + PAGE_SIZE;
		if (!evt_fix_init(ctx, &f, 64, 8, EVCORE_POLICY_DROP_OLDEST))
			goto out_unmap;
		if (pass == 1)
			evcore_reader_set_filter(f.r, BIT_ULL(f.src.id));
		/* A record alone (0), a group of four (4..7), one alone (8). */
		EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 1, 0, 1), 1);
		EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 4, 4, 2), 4);
		EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 1, 8, 3), 1);

		/* Room for six; the page ends in the group's second record. */
		at = u64_to_user_ptr((u64)ro - 2 * f.rs - 8);
		ret = evcore_read(f.r, at, 6 * f.rs, true);
		evcore_reader_get_stats(f.r, &rst);
		next = 0;
		if (pass < 2) {
			EVT_EXPECT_EQ(ctx, ret, f.rs);
			EVT_EXPECT_EQ(ctx, rst.position, 1);
			EVT_EXPECT_EQ(ctx, rst.read, 1);
			ret = evt_read(ctx, f.r, 8 * f.rs, true);
			if (EVT_EXPECT_EQ(ctx, ret, 5 * f.rs))
				next = evt_group_feed(ctx, f.q, 4, 4, 4);
		} else {
			/* Not faulted in yet: all of it, the group whole. */
			EVT_EXPECT_EQ(ctx, ret, 6 * f.rs);
			EVT_EXPECT_EQ(ctx, rst.position, 6);
			if (ret == 6 * f.rs &&
			    EVT_EXPECT_EQ(ctx, copy_from_user(ctx->kbuf,
							      at + f.rs,
							      5 * f.rs), 0))
				next = evt_group_feed(ctx, f.q, 4, 4, 4);
		}
		EVT_EXPECT_EQ(ctx, next, 8);
		EVT_EXPECT_EQ(ctx, *(u64 *)(evt_rec(ctx, f.q, 4) + 1), 8);
		evt_fix_done(&f);
out_unmap:
		vm_munmap(map, 2 * PAGE_SIZE);
	}
}

/*
 * The same where the slow path copies the group in more than one run: a
 * filtered reader whose group wraps around the ring (the run ends at the
 * wrap), and one that skips the group's records of another source. The
 * fault in a later run must take back what the earlier runs gave: the
 * reader stays at the group's start, and the read, with nothing before
 * the group, fails with EFAULT.
 */
static void evt_push_batch_read_fault_runs(struct evt_ctx *ctx)
{
	struct evcore_reader_stats rst;
	struct evcore_source b = {};
	unsigned long map, ro;
	char __user *at;
	struct evt_fix f;
	unsigned int i;
	ssize_t ret;

	map = evt_map_two(ctx, true);
	if (!map)
		return;
	ro = map + PAGE_SIZE;

	/* Wrapped: six records read, then a group at indexes 6, 7, 0, 1. */
	if (!evt_fix_init(ctx, &f, 8, 8, EVCORE_POLICY_DROP_OLDEST))
		goto out_unmap;
	evcore_reader_set_filter(f.r, BIT_ULL(f.src.id));
	for (i = 0; i < 6; i++)
		EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 1, i, 1), 1);
	EVT_EXPECT_EQ(ctx, evt_read(ctx, f.r, 8 * f.rs, true), 6 * f.rs);
	EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, NULL, 4, 8, 2), 4);
	/* The page ends in the group's third record, the first after the wrap. */
	at = u64_to_user_ptr((u64)ro - 2 * f.rs - 8);
	EVT_EXPECT_EQ(ctx, evcore_read(f.r, at, 4 * f.rs, true), -EFAULT);
	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.position, 6);
	EVT_EXPECT_EQ(ctx, rst.read, 6);
	ret = evt_read(ctx, f.r, 8 * f.rs, true);
	if (EVT_EXPECT_EQ(ctx, ret, 4 * f.rs))
		EVT_EXPECT_EQ(ctx, evt_group_feed(ctx, f.q, 4, 4, 8), 12);
	evt_fix_done(&f);

	/* Mixed: a0 b1 a2 b3, read by a reader of a only. */
	if (!evt_fix_init(ctx, &f, 64, 8, EVCORE_POLICY_DROP_OLDEST))
		goto out_unmap;
	if (!evt_register(ctx, f.q, &b, "b", 0))
		goto out;
	evcore_reader_set_filter(f.r, BIT_ULL(f.src.id));
	EVT_EXPECT_EQ(ctx, evt_group(f.q, &f.src, &b, 4, 0, 1), 4);
	/* Room for a0; a2, in the next run, meets the read-only page. */
	at = u64_to_user_ptr((u64)ro - f.rs - 8);
	EVT_EXPECT_EQ(ctx, evcore_read(f.r, at, 2 * f.rs, true), -EFAULT);
	evcore_reader_get_stats(f.r, &rst);
	EVT_EXPECT_EQ(ctx, rst.position, 0);
	EVT_EXPECT_EQ(ctx, rst.read, 0);
	ret = evt_read(ctx, f.r, 8 * f.rs, true);
	if (EVT_EXPECT_EQ(ctx, ret, 2 * f.rs)) {
		EVT_EXPECT_EQ(ctx, *(u64 *)(evt_rec(ctx, f.q, 0) + 1), 0);
		EVT_EXPECT_EQ(ctx, *(u64 *)(evt_rec(ctx, f.q, 1) + 1), 2);
	}
out:
	evt_unregister(&b);
	evt_fix_done(&f);
out_unmap:
	vm_munmap(map, 2 * PAGE_SIZE);
}
