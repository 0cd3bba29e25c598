/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Tracepoints of the evcore event queue: every push as it reaches the
 * queue lock, every queued event, every refused or overwritten event,
 * every read call, and each pass of a walk over a reader's records.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM evcore

#if !defined(_EVCORE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _EVCORE_TRACE_H

#include <linux/evcore_compat.h>
#include <linux/tracepoint.h>

/* __assign_str() lost its second argument in 6.10. */
#ifdef EVCORE_COMPAT_ASSIGN_STR_SRC
#define evcore_assign_str(dst, src)	__assign_str(dst, src)
#else
#define evcore_assign_str(dst, src)	__assign_str(dst)
#endif

/*
 * A producer found its source's queue and is about to take the queue lock;
 * with evcore_push or evcore_drop it gives the time spent waiting for it.
 */
TRACE_EVENT(evcore_push_begin,
	    TP_PROTO(const char *queue, u32 source_id),
	    TP_ARGS(queue, source_id),
	    TP_STRUCT__entry(__string(queue, queue)
			     __field(u32, source_id)),
	    TP_fast_assign(evcore_assign_str(queue, queue);
			   __entry->source_id = source_id;),
	    TP_printk("queue=%s source=%u", __get_str(queue),
		      __entry->source_id)
);

TRACE_EVENT(evcore_push,
	    TP_PROTO(const char *queue, u64 seq, u32 source_id,
		     u64 source_seq, u32 depth),
	    TP_ARGS(queue, seq, source_id, source_seq, depth),
	    TP_STRUCT__entry(__string(queue, queue)
			     __field(u64, seq)
			     __field(u64, source_seq)
			     __field(u32, source_id)
			     __field(u32, depth)),
	    TP_fast_assign(evcore_assign_str(queue, queue);
			   __entry->seq = seq;
			   __entry->source_seq = source_seq;
			   __entry->source_id = source_id;
			   __entry->depth = depth;),
	    TP_printk("queue=%s seq=%llu source=%u source_seq=%llu depth=%u",
		      __get_str(queue), __entry->seq, __entry->source_id,
		      __entry->source_seq, __entry->depth)
);

TRACE_EVENT(evcore_drop,
	    TP_PROTO(const char *queue, u64 seq, u32 source_id,
		     u64 source_seq, bool overwritten),
	    TP_ARGS(queue, seq, source_id, source_seq, overwritten),
	    TP_STRUCT__entry(__string(queue, queue)
			     __field(u64, seq)
			     __field(u64, source_seq)
			     __field(u32, source_id)
			     __field(bool, overwritten)),
	    TP_fast_assign(evcore_assign_str(queue, queue);
			   __entry->seq = seq;
			   __entry->source_seq = source_seq;
			   __entry->source_id = source_id;
			   __entry->overwritten = overwritten;),
	    TP_printk("queue=%s %s seq=%llu source=%u source_seq=%llu",
		      __get_str(queue),
		      __entry->overwritten ? "overwritten" : "refused",
		      __entry->seq, __entry->source_id, __entry->source_seq)
);

TRACE_EVENT(evcore_read,
	    TP_PROTO(const char *queue, u64 position, unsigned int records,
		     u64 lost, long ret),
	    TP_ARGS(queue, position, records, lost, ret),
	    TP_STRUCT__entry(__string(queue, queue)
			     __field(u64, position)
			     __field(u64, lost)
			     __field(long, ret)
			     __field(unsigned int, records)),
	    TP_fast_assign(evcore_assign_str(queue, queue);
			   __entry->position = position;
			   __entry->lost = lost;
			   __entry->ret = ret;
			   __entry->records = records;),
	    TP_printk("queue=%s position=%llu records=%u lost=%llu ret=%ld",
		      __get_str(queue), __entry->position, __entry->records,
		      __entry->lost, __entry->ret)
);

/*
 * A filter change or a release walks a reader's records, a bounded batch
 * per lock hold: one pass is about to start at @seq; the walk ends at
 * @until.
 */
TRACE_EVENT(evcore_walk,
	    TP_PROTO(const char *queue, u64 seq, u64 until),
	    TP_ARGS(queue, seq, until),
	    TP_STRUCT__entry(__string(queue, queue)
			     __field(u64, seq)
			     __field(u64, until)),
	    TP_fast_assign(evcore_assign_str(queue, queue);
			   __entry->seq = seq;
			   __entry->until = until;),
	    TP_printk("queue=%s seq=%llu until=%llu", __get_str(queue),
		      __entry->seq, __entry->until)
);

#endif /* _EVCORE_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE evcore_trace
#include <trace/define_trace.h>
