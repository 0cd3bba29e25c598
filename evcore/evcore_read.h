/* SPDX-License-Identifier: GPL-2.0 */
/*
 * evcore: what the two halves of reading share: a read between its holds
 * of the queue lock, the copy of records to user space and their
 * accounting. read.c has the fast path and evcore_read(), read_slow.c the
 * hold that handles losses, filters and resizes.
 */
#ifndef _EVCORE_READ_H
#define _EVCORE_READ_H

#include <linux/uaccess.h>

#include "evcore_internal.h"

/* A read between its holds of the queue lock. */
struct evcore_rd {
	char __user *buf;
	size_t count;
	size_t done;
	u64 lost;
	u64 pos;
	bool nonblock;
	unsigned int gen;
	size_t fault_to;
};

/* How one hold of a read ended. */
enum evcore_rd_state {
	EVCORE_RD_MORE,		/* a budget ran out: hold the lock again */
	EVCORE_RD_DONE,		/* the buffer is full, or nothing more waits */
	EVCORE_RD_EMPTY,	/* nothing to read: wait for a wake-up after
				 * evcore_rd.gen
				 */
	EVCORE_RD_FAULT,	/* user memory up to evcore_rd.fault_to is not
				 * all mapped
				 */
	EVCORE_RD_SHUTDOWN,
	EVCORE_RD_SLOW,		/* not done without the read lock: nothing was
				 * changed
				 */
};

/*
 * A run of records to copy: consecutive in one ring, all wanted, with no
 * loss between them. @c is where the reader stands before the first.
 */
struct evcore_run {
	struct evcore_ring *ring;
	u32 idx;
	u32 n;
	struct evcore_cursor c;
};

/*
 * Copy @len bytes to the read's buffer at @off with page faults disabled:
 * the queue lock is held. Return the bytes not copied.
 */
static inline unsigned long
evcore_copy_out_locked(struct evcore_queue *q, struct evcore_rd *rd,
		       size_t off, const void *from, size_t len, u32 records)
{
	unsigned long left;

	lockdep_assert_held(&q->lock);
	pagefault_disable();
	left = copy_to_user(rd->buf + off, from, len);
	pagefault_enable();
	evcore_touch_copy(q, records, len);
	return left;
}

/*
 * Where the architecture has no user-access window of its own, the unsafe
 * accessors are the checked ones (one call each, with its barriers): a
 * word at a time would cost more than a copy per record.
 */
#ifdef unsafe_op_wrap
#define EVCORE_COPY_WORDS	0
#else
#define EVCORE_COPY_WORDS	1
#endif

/*
 * Copy @len bytes, a multiple of 8, from @from (8-byte aligned) to @to in
 * 8-byte words, four at a time, within a user-access window the caller
 * opened. Return false when a fault stopped it, at an unknown point.
 */
static __always_inline bool evcore_copy_words(char __user *to, const u8 *from,
					      size_t len)
{
	const u64 *w = (const u64 *)from;
	u64 __user *uw = (u64 __user *)to;

	for (; len >= 32; len -= 32, w += 4, uw += 4) {
		unsafe_put_user(w[0], &uw[0], fault);
		unsafe_put_user(w[1], &uw[1], fault);
		unsafe_put_user(w[2], &uw[2], fault);
		unsafe_put_user(w[3], &uw[3], fault);
	}
	for (; len; len -= 8, w++, uw++)
		unsafe_put_user(*w, uw, fault);
	return true;
fault:
	return false;
}

/*
 * Copy @n records from @ring, from index @idx on, to the read's buffer at
 * @off with page faults disabled: the queue lock is held. Return how many
 * whole records reached it; a fault stops the copy in the record it hit.
 *
 * The copy is one user-access window with the unsafe accessors, as
 * filldir() does: the source is the ring, in bounds by construction (the
 * caller's run never wraps), so copy_to_user()'s hardened-usercopy lookup
 * of the source object would only add its cost to every record. Records
 * are a multiple of 8 bytes and the ring is 8-byte aligned. Where the
 * architecture has a user-access window, and the buffer is aligned too or
 * unaligned words are stored cheaply, the run goes as one stream of words;
 * only a fault makes the copy go again record by record, to count the
 * whole ones.
 */
static __always_inline u32 evcore_copy_recs_locked(struct evcore_queue *q,
						   struct evcore_rd *rd,
						   size_t off,
						   const struct evcore_ring *ring,
						   u32 idx, u32 n)
{
	size_t rs = q->record_size;
	const u8 *from = ring->recs + (size_t)idx * rs;
	char __user *to = rd->buf + off;
	u32 i = 0;

	lockdep_assert_held(&q->lock);
	if (WARN_ON_ONCE(idx > ring->capacity || n > ring->capacity - idx))
		return 0;
	evcore_touch_copy(q, n, n * rs);
	pagefault_disable();
	if (!user_access_begin(to, n * rs))
		goto out;
	if (EVCORE_COPY_WORDS &&
	    (IS_ENABLED(CONFIG_HAVE_EFFICIENT_UNALIGNED_ACCESS) ||
	     IS_ALIGNED((unsigned long)to, 8)) &&
	    evcore_copy_words(to, from, n * rs)) {
		i = n;
		goto done;
	}
	for (; i < n; i++, from += rs, to += rs)
		unsafe_copy_to_user(to, from, rs, done);
done:
	user_access_end();
out:
	pagefault_enable();
	return i;
}

/*
 * Count @n records of @ring, from index @idx on, as delivered to @r: per
 * source, for the queue and for the reader.
 */
static inline void evcore_delivered_locked(struct evcore_reader *r,
					   const struct evcore_ring *ring,
					   u32 idx, u32 n)
{
	struct evcore_queue *q = r->q;
	size_t rs = q->record_size;
	const u8 *rec = ring->recs + (size_t)idx * rs;
	const struct evcore_event *ev;
	u32 i;

	lockdep_assert_held(&q->lock);
	for (i = 0; i < n; i++, rec += rs) {
		ev = (const struct evcore_event *)rec;
		q->src_delivered[ev->source_id] +=
			evcore_rec_owned_locked(q, ev);
	}
	r->read += n;
	q->cnt.delivered += n;
}

enum evcore_rd_state evcore_read_locked(struct evcore_reader *r,
					struct evcore_rd *rd, bool *pri);

#endif /* _EVCORE_READ_H */
