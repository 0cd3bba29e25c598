// SPDX-License-Identifier: GPL-2.0
/*
 * evcore_torture: every evcore operation against every other, from every
 * context a driver may use, with exact accounting checked after each phase.
 *
 * Loading the module runs the torture in the loading task and prints KTAP
 * to the kernel log: one result per phase, one for the queue lifetimes and
 * one for the final shutdown. The load fails with -EINVAL when any check
 * failed, as the self-test module's does.
 *
 * One queue, and on it:
 *  - producers: an hrtimer expiring in hard interrupt context (in softirq
 *    context on PREEMPT_RT, where evcore's lock sleeps: it is not of the
 *    _HARD kind, which lockdep's raw-lock nesting check would report on any
 *    kernel) and a softirq hrtimer, each pushing its bursts one event at a
 *    time or as one group (evcore_push_batch()), an irq_work queued by the timers, a thread
 *    calling evcore_push() (turning its source off and on now and then), a
 *    thread sleeping in evcore_push_wait(), a thread using its non-blocking
 *    form, and a source that a thread registers and unregisters while that
 *    thread and the softirq timer push on it;
 *  - readers: a blocking reader that takes everything, a blocking reader,
 *    a non-blocking reader, an epoll-style reader (a wait queue callback
 *    and evcore_poll(), as epoll does), a slow reader, a reader that wants
 *    nothing and never reads, and two threads that open readers, read, set
 *    filters and watermarks and close them again;
 *  - while a phase runs: resizes and policy flips;
 *  - beside it, queues created and freed while pushers push on them: the
 *    last reference goes with the source's unregister, a reader's release
 *    or the creator's put.
 *
 * Between phases the producers stop; every reader asleep in a read whose
 * condition is true must wake (also after the queue is shrunk to its
 * depth, which makes it full); then each reader drains what it has, and
 * the counts must add up exactly: for each reader, the records it read
 * plus the losses it was told of equal the events generated in the phase
 * by the sources it wants plus the events refused from the others (a
 * refused event leaves no record, so every reader is told of it). Records
 * come in sequence order, each source's in its own order, only of wanted
 * sources, with the payload their producer wrote; no loss record inside a
 * group or before the rest of one, and no read that cuts a group it could
 * have stopped before. The queue's and the
 * sources' statistics must match the producers' own counts. Then the
 * policy, the capacity and every reader's filter and watermark change, and
 * the next phase starts.
 *
 * Parameters: duration_s, phases, mix, seed, period_us, stall_s.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/evcore.h>
#include <linux/evcore_kcompat.h>
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/jiffies.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/poll.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/sched/debug.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

static unsigned int duration_s = 20;
module_param(duration_s, uint, 0444);
MODULE_PARM_DESC(duration_s, "Seconds of running phases, all phases together (default 20)");

static unsigned int phases = 4;
module_param(phases, uint, 0444);
MODULE_PARM_DESC(phases, "Phases, with checks and changes between them (default 4)");

static char *mix = "all";
module_param(mix, charp, 0444);
MODULE_PARM_DESC(mix, "Operations, comma-separated: all, hardirq, softirq, kthread, pushwait, blocking, nonblock, epoll, filter, watermark, resize, policy, sources, open, group; -NAME leaves one out (default all)");

static unsigned int seed;
module_param(seed, uint, 0444);
MODULE_PARM_DESC(seed, "Seed of the random choices, 0 for a random one (default 0)");

static unsigned int period_us = 200;
module_param(period_us, uint, 0444);
MODULE_PARM_DESC(period_us, "Mean period of the timer producers in microseconds (default 200)");

static unsigned int stall_s = 15;
module_param(stall_s, uint, 0444);
MODULE_PARM_DESC(stall_s, "Seconds a thread may make no progress while it could (default 15)");

enum {
	TT_HARDIRQ, TT_SOFTIRQ, TT_KTHREAD, TT_PUSHWAIT, TT_BLOCKING,
	TT_NONBLOCK, TT_EPOLL, TT_FILTER, TT_WATERMARK, TT_RESIZE, TT_POLICY,
	TT_SOURCES, TT_OPEN, TT_GROUP, TT_NR_OPS,
};

static const char *const tt_op_names[TT_NR_OPS] = {
	"hardirq", "softirq", "kthread", "pushwait", "blocking", "nonblock",
	"epoll", "filter", "watermark", "resize", "policy", "sources", "open",
	"group",
};

/* Producers, one per source id except the two on the registered source. */
enum {
	TT_P_HARD,	/* hrtimer, hard IRQ context but on PREEMPT_RT */
	TT_P_SOFT,	/* softirq hrtimer */
	TT_P_IRQWORK,	/* irq_work queued by the timers */
	TT_P_PUSH,	/* thread, evcore_push() */
	TT_P_WAIT,	/* thread, evcore_push_wait() */
	TT_P_NBWAIT,	/* thread, evcore_push_wait(nonblock) */
	TT_P_CHURN,	/* thread registering and unregistering its source */
	TT_P_CHURN_T,	/* the softirq timer, on the churned source */
	TT_NR_PROD,
};

#define TT_NR_SRC	7	/* source ids 1 to 7; the last is churned */
#define TT_CHURN_ID	TT_NR_SRC

/* Readers. */
enum {
	TT_R_ALL,	/* blocking, every source, watermark 1 */
	TT_R_BLOCK,	/* blocking */
	TT_R_NONBLOCK,	/* non-blocking, polling */
	TT_R_EPOLL,	/* wait queue callback + evcore_poll() */
	TT_R_SLOW,	/* one record per read, pauses */
	TT_R_IDLE,	/* wants nothing, never reads; drained between phases */
	TT_NR_READERS,
};

#define TT_NR_CHURN	2	/* threads opening and closing readers */
#define TT_SLOTS	(TT_NR_READERS + TT_NR_CHURN)
#define TT_SLOT_SIZE	SZ_16K
#define TT_MAX_RECORDS	64
/* Largest group a timer pushes; the capacity is never below it. */
#define TT_GROUP_MAX	4
/* Source flag of the records of a group but its first. */
#define TT_F_INNER	BIT(16)

/* The source id of each producer. */
static u32 tt_prod_id(unsigned int kind)
{
	return kind < TT_P_CHURN ? kind + 1 : TT_CHURN_ID;
}

/* What every producer writes as payload. */
struct tt_payload {
	u32 gen;	/* registration of the source, for the churned one */
	u32 producer;	/* TT_P_* */
	u64 k;		/* the producer's count of numbered pushes */
};

struct tt;

/*
 * A producer's counts, for the phase: pushes numbered by evcore (queued or
 * refused), of them refused, EAGAINs, and unexpected errors. Written by
 * the producer only; read by the controller once it has stopped.
 */
struct tt_producer {
	struct tt *tt;
	unsigned int kind;
	struct evcore_source *src;
	bool shared;
	struct task_struct *task;
	struct rnd_state rnd;
	u64 attempts;
	u64 refused;
	u64 eagain;
	u64 k;
	u32 gen;
	int bad_err;
	/* Jiffies since which a push has waited, 0 when none does. */
	unsigned long blocked_since;
};

struct tt_pollwait {
	wait_queue_entry_t wq;
	wait_queue_head_t *head;
	struct tt_reader *rd;
};

/* Per source id: where the records of the source stand. */
struct tt_last {
	u32 gen;
	u64 src_seq;
	bool seen;
};

/*
 * What a reader found. A stream is fed by one thread at a time: its
 * reader's thread, or the controller between phases.
 */
struct tt_stream {
	u64 read;
	u64 lost;
	u64 next_seq;
	/*
	 * Set for a reader taking every source all phase: each record is
	 * then exactly the next one, or comes after a loss record that
	 * counts at least the gap.
	 */
	bool exact;
	u64 bad;
	char why[160];
	struct tt_last last[TT_NR_SRC + 1];
	/* The last record read was a loss record. */
	bool after_loss;
};

struct tt_reader {
	struct tt *tt;
	unsigned int kind;
	/* Opens, reads and closes readers of its own (TT_OPEN). */
	bool churn;
	unsigned int slot;
	struct evcore_reader *r;
	struct task_struct *task;
	struct rnd_state rnd;
	u64 filter;
	u32 watermark;
	struct tt_stream s;
	/* The slow reader's pause between reads in the phase. */
	u32 pause_us;
	u8 *kbuf;
	/* In a read (or, for epoll, asleep), and reads returned so far. */
	bool in_read;
	unsigned long progress;
	/* The epoll-style reader's wait. */
	poll_table pt;
	struct tt_pollwait pw[2];
	unsigned int npw;
	wait_queue_head_t self;
	bool ready;
};

/* Stages of a phase, in tt.stage. */
enum { TT_IDLE, TT_RUN, TT_STOP, TT_DRAIN, TT_EXIT };

struct tt {
	unsigned long ops;
	struct evcore_queue *q;
	struct evcore_source src[TT_NR_SRC + 1];
	struct tt_producer prod[TT_NR_PROD];
	struct tt_reader rd[TT_NR_READERS];
	struct tt_reader churn[TT_NR_CHURN];
	struct hrtimer hard, soft;
	struct irq_work work;
	struct mm_struct *mm;
	unsigned long ubuf;
	struct rnd_state rnd;
	/* Ticks of the hard timer in hard interrupt context, this phase. */
	unsigned long hardirq_ticks;
	/* Set while tt_work_fn() pushes. */
	atomic_t work_busy;
	/* Set when a thread did not finish a stage: the run stops there. */
	bool aborted;
	/* Runs of the resize probe: the queue shrunk to its depth. */
	unsigned int probes;
	/* Producers' pace in the phase: 1, or 4 times slower. */
	u32 pace;
	/* Stage and phase number, set by the controller. */
	int stage;
	unsigned int gen;
	wait_queue_head_t go_wq;
	wait_queue_head_t ack_wq;
	atomic_t pending;
	/* Churn readers' records, summed for the delivered statistic. */
	atomic64_t churn_read;
	/* Set under churn_lock by a thread that found a bad record. */
	spinlock_t churn_lock;
	char churn_why[160];
	unsigned int churn_bad;
	unsigned int failures;
	unsigned int tests;
	bool churn_registered;
};

#define tt_fail(tt, fmt, ...) do {					\
	(tt)->failures++;						\
	pr_err("# FAIL: " fmt "\n", ##__VA_ARGS__);			\
} while (0)

static bool tt_on(struct tt *tt, unsigned int op)
{
	return tt->ops & BIT(op);
}

static u32 tt_rand(struct rnd_state *rnd, u32 n)
{
	return n ? prandom_u32_state(rnd) % n : 0;
}

/* Sleep briefly: the pace of a producer or a polling reader. */
static void tt_pause(struct rnd_state *rnd, unsigned int max_us)
{
	unsigned int us = 20 + tt_rand(rnd, max_us);

	usleep_range(us, us + 20);
}

static bool tt_running(struct tt *tt)
{
	return READ_ONCE(tt->stage) == TT_RUN;
}

/* --- producers --- */

/* One push by @p; counts it. Returns the push's result. */
static int tt_push(struct tt_producer *p, int mode)
{
	struct tt_payload pl = {
		.gen = p->gen, .producer = p->kind, .k = p->k,
	};
	int ret;

	if (mode < 0)
		ret = evcore_push(p->src, 0, p->kind, &pl, sizeof(pl));
	else
		ret = evcore_push_wait(p->src, 0, p->kind, &pl, sizeof(pl),
				       mode);
	switch (ret) {
	case -ENOSPC:
		p->refused++;
		fallthrough;
	case 0:
		p->attempts++;
		p->k++;
		break;
	case -EAGAIN:
		p->eagain++;
		break;
	case -ERESTARTSYS:
		/* A sleeping push signalled by the controller: not counted. */
		flush_signals(current);
		break;
	case -ENODEV:
		/* The churned source, while it is not registered. */
		if (p->kind == TT_P_CHURN || p->kind == TT_P_CHURN_T)
			break;
		fallthrough;
	default:
		if (!p->bad_err)
			p->bad_err = ret;
	}
	return ret;
}

/*
 * @n numbered pushes by @p as one group; counts them as tt_push() does.
 * A group larger than the capacity (the resize probe shrinks the queue
 * to its depth) is not numbered.
 */
static void tt_push_group(struct tt *tt, struct tt_producer *p, u32 n)
{
	struct evcore_push_item items[TT_GROUP_MAX];
	struct tt_payload pl[TT_GROUP_MAX];
	u32 i;
	int ret;

	for (i = 0; i < n; i++) {
		pl[i] = (struct tt_payload){
			.gen = p->gen, .producer = p->kind, .k = p->k + i,
		};
		items[i] = (struct evcore_push_item){
			.src = p->src, .payload = &pl[i], .len = sizeof(pl[i]),
			.flags = i ? TT_F_INNER : 0, .aux = p->kind,
		};
	}
	ret = evcore_push_batch(tt->q, items, n, 0);
	if (ret == -ENOSPC)
		p->refused += n;
	if (ret == -ENOSPC || ret == n) {
		p->attempts += n;
		p->k += n;
	} else if (ret != -E2BIG && !p->bad_err) {
		p->bad_err = ret;
	}
}

/* A tick of either timer: a burst on its source, and the irq_work. */
static enum hrtimer_restart tt_tick(struct tt *tt, struct hrtimer *t,
				    struct tt_producer *p, bool soft)
{
	u32 n, i;

	if (!tt_running(tt))
		return HRTIMER_NORESTART;
	n = 1 + tt_rand(&p->rnd, TT_GROUP_MAX);
	if (tt_on(tt, TT_GROUP) && tt_rand(&p->rnd, 2))
		tt_push_group(tt, p, n);
	else
		for (i = 0; i < n; i++)
			tt_push(p, -1);
	if (soft && tt_on(tt, TT_SOURCES))
		tt_push(&tt->prod[TT_P_CHURN_T], -1);
	irq_work_queue(&tt->work);
	hrtimer_forward_now(t, ns_to_ktime((u64)(period_us / 2 +
				tt_rand(&p->rnd, period_us)) *
				READ_ONCE(tt->pace) * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static enum hrtimer_restart tt_hard_fn(struct hrtimer *t)
{
	struct tt *tt = container_of(t, struct tt, hard);

	/* Where the pushes below really come from. */
	if (in_hardirq())
		WRITE_ONCE(tt->hardirq_ticks, tt->hardirq_ticks + 1);

	return tt_tick(tt, t, &tt->prod[TT_P_HARD], false);
}

static enum hrtimer_restart tt_soft_fn(struct hrtimer *t)
{
	struct tt *tt = container_of(t, struct tt, soft);

	return tt_tick(tt, t, &tt->prod[TT_P_SOFT], true);
}

static void tt_work_fn(struct irq_work *w)
{
	struct tt *tt = container_of(w, struct tt, work);

	/*
	 * The work is pending again as soon as it starts to run, so the
	 * other CPU's timer may run it a second time meanwhile: one push at
	 * a time, the producer's counts are its own.
	 */
	if (atomic_cmpxchg(&tt->work_busy, 0, 1))
		return;
	if (tt_running(tt))
		tt_push(&tt->prod[TT_P_IRQWORK], -1);
	atomic_set_release(&tt->work_busy, 0);
}

/* Tell the controller one more thread reached the end of a stage. */
static void tt_ack(struct tt *tt)
{
	if (atomic_dec_and_test(&tt->pending))
		wake_up(&tt->ack_wq);
}

/* Wait for the next phase; false when the threads must exit. */
static bool tt_next_phase(struct tt *tt, unsigned int *gen)
{
	wait_event_idle(tt->go_wq, READ_ONCE(tt->gen) != *gen ||
			READ_ONCE(tt->stage) == TT_EXIT);
	if (READ_ONCE(tt->stage) == TT_EXIT)
		return false;
	/* Pairs with tt_release(): the phase's configuration is visible. */
	*gen = smp_load_acquire(&tt->gen);
	return true;
}

/* The churned source: registered and unregistered under the pushes. */
static void tt_churn_step(struct tt *tt, struct tt_producer *p)
{
	struct evcore_source *src = &tt->src[TT_CHURN_ID];
	int ret;

	if (!tt->churn_registered) {
		/* The timer's pushes of the old registration are done. */
		ret = evcore_source_register(tt->q, src, "churn", TT_CHURN_ID);
		if (ret) {
			if (!p->bad_err)
				p->bad_err = ret;
			return;
		}
		tt->churn_registered = true;
		p->gen++;
		p->k = 0;
		return;
	}
	if (tt_rand(&p->rnd, 8))
		return;
	evcore_source_unregister(src);
	tt->churn_registered = false;
	/* Unregistered: every push from now on must fail. */
	ret = evcore_push(src, 0, 0, NULL, 0);
	if (ret != -ENODEV && !p->bad_err)
		p->bad_err = ret ? ret : -EEXIST;
}

static int tt_producer_fn(void *data)
{
	struct tt_producer *p = data;
	struct tt *tt = p->tt;
	unsigned int gen = 0, i, n;
	int ret;

	allow_signal(SIGUSR1);
	while (tt_next_phase(tt, &gen)) {
		while (tt_running(tt)) {
			n = 1 + tt_rand(&p->rnd, 8);
			switch (p->kind) {
			case TT_P_PUSH:
				for (i = 0; i < n; i++)
					tt_push(p, -1);
				if (!tt_rand(&p->rnd, 64)) {
					evcore_source_set_enabled(p->src, false);
					ret = evcore_push(p->src, 0, 0, NULL, 0);
					if (ret != -ENODATA && !p->bad_err)
						p->bad_err = ret ? ret : -EEXIST;
					if (evcore_source_is_enabled(p->src) &&
					    !p->bad_err)
						p->bad_err = -EEXIST;
					evcore_source_set_enabled(p->src, true);
				}
				break;
			case TT_P_WAIT:
			case TT_P_NBWAIT:
				for (i = 0; i < n && tt_running(tt); i++) {
					WRITE_ONCE(p->blocked_since, jiffies | 1);
					ret = tt_push(p, p->kind == TT_P_NBWAIT);
					WRITE_ONCE(p->blocked_since, 0);
					if (ret == -EAGAIN)
						tt_pause(&p->rnd, 200);
				}
				break;
			case TT_P_CHURN:
				tt_churn_step(tt, p);
				for (i = 0; i < n; i++)
					tt_push(p, -1);
				break;
			}
			tt_pause(&p->rnd, 4 * period_us * READ_ONCE(tt->pace));
		}
		tt_ack(tt);
	}
	return 0;
}

/* --- readers --- */

static __printf(2, 3) void tt_bad(struct tt_stream *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->bad++) {
		va_start(ap, fmt);
		vscnprintf(s->why, sizeof(s->why), fmt, ap);
		va_end(ap);
	}
}

/*
 * Check the groups in the @n records a read of at most @max records
 * returned: no loss record right after a record that announced more of its
 * group, none right before a record inside a group, and a group cut at the
 * end of the read only when the read was full and began with that group.
 */
static void tt_feed_groups(struct tt_stream *s, const u8 *buf, size_t n,
			   size_t max, size_t rs)
{
	const struct evcore_event *ev, *prev = NULL;
	size_t i, first = 0;

	for (i = 0; i < n; i++, prev = ev) {
		ev = (const struct evcore_event *)(buf + i * rs);
		if (ev->flags & EVCORE_EVENT_LOSS) {
			if (prev && (prev->flags & EVCORE_EVENT_GROUP_MORE))
				tt_bad(s, "loss record at %llu inside a group",
				       ev->seq);
			s->after_loss = true;
			continue;
		}
		if (s->after_loss && (ev->flags & TT_F_INNER))
			tt_bad(s, "seq %llu inside a group after a loss record",
			       ev->seq);
		s->after_loss = false;
		if (!(ev->flags & TT_F_INNER))
			first = i;
	}
	if (n && (ev->flags & EVCORE_EVENT_GROUP_MORE) &&
	    !(ev->flags & EVCORE_EVENT_LOSS) && (n < max || first))
		tt_bad(s, "read of %zu records (of %zu) cut the group at %zu",
		       n, max, first);
}

/* Check the @n records in @buf that a reader with @filter read. */
static void tt_feed(struct tt *tt, struct tt_stream *s, u64 filter,
		    const u8 *buf, size_t n)
{
	size_t rs = evcore_record_size(tt->q);
	const struct evcore_event *ev;
	const struct tt_payload *pl;
	struct tt_last *last;
	size_t i;

	for (i = 0; i < n; i++) {
		ev = (const struct evcore_event *)(buf + i * rs);
		pl = (const struct tt_payload *)(ev + 1);
		if (ev->seq < s->next_seq)
			tt_bad(s, "seq %llu after %llu", ev->seq, s->next_seq);
		if (ev->flags & EVCORE_EVENT_LOSS) {
			if (!ev->lost || ev->source_id != EVCORE_SOURCE_NONE ||
			    (s->exact && ev->seq - s->next_seq > ev->lost))
				tt_bad(s, "loss record at %llu after %llu: lost %llu",
				       ev->seq, s->next_seq, ev->lost);
			s->lost += ev->lost;
			s->next_seq = ev->seq;
			continue;
		}
		if (s->exact && ev->seq != s->next_seq)
			tt_bad(s, "seq %llu where %llu was next", ev->seq,
			       s->next_seq);
		s->next_seq = ev->seq + 1;
		s->read++;
		if (!ev->source_id || ev->source_id > TT_NR_SRC ||
		    !(filter & BIT_ULL(ev->source_id))) {
			tt_bad(s, "seq %llu of source %u, filter %#llx",
			       ev->seq, ev->source_id, filter);
			continue;
		}
		if (ev->payload_len != sizeof(*pl) ||
		    pl->producer >= TT_NR_PROD || ev->aux != pl->producer ||
		    tt_prod_id(pl->producer) != ev->source_id ||
		    (!tt->prod[pl->producer].shared && pl->k != ev->source_seq)) {
			tt_bad(s, "seq %llu: source %u seq %llu, payload %u/%u/%llu",
			       ev->seq, ev->source_id, ev->source_seq,
			       pl->gen, pl->producer, pl->k);
			continue;
		}
		/*
		 * The timer's records on the churned source do not know their
		 * registration: only the churning thread's are ordered.
		 */
		if (!pl->gen && tt->prod[pl->producer].shared)
			continue;
		last = &s->last[ev->source_id];
		if (last->seen && (pl->gen < last->gen ||
				   (pl->gen == last->gen &&
				    ev->source_seq <= last->src_seq)))
			tt_bad(s, "source %u: %u/%llu after %u/%llu",
			       ev->source_id, pl->gen, ev->source_seq,
			       last->gen, last->src_seq);
		last->seen = true;
		last->gen = pl->gen;
		last->src_seq = ev->source_seq;
	}
}

static char __user *tt_uslot(struct tt *tt, unsigned int slot)
{
	return (char __user *)(tt->ubuf + (unsigned long)slot * TT_SLOT_SIZE);
}

/*
 * One read of up to @max records by @rd into its slot, checked into @s.
 * Returns the read's result.
 */
static ssize_t tt_read(struct tt *tt, struct tt_reader *rd, struct tt_stream *s,
		       unsigned int max, bool nonblock)
{
	size_t rs = evcore_record_size(tt->q);
	char __user *ubuf = tt_uslot(tt, rd->slot);
	ssize_t ret;

	WRITE_ONCE(rd->in_read, true);
	ret = evcore_read(rd->r, ubuf, max * rs, nonblock);
	WRITE_ONCE(rd->in_read, false);
	WRITE_ONCE(rd->progress, rd->progress + 1);
	if (ret > 0) {
		if (ret % rs || copy_from_user(rd->kbuf, ubuf, ret))
			tt_bad(s, "read returned %zd", ret);
		else
			tt_feed(tt, s, READ_ONCE(rd->filter), rd->kbuf,
				ret / rs);
		/*
		 * Readers that come and go open at the tail, which may be
		 * inside a group that the others read the start of.
		 */
		if (ret > 0 && !(ret % rs) && !rd->churn)
			tt_feed_groups(s, rd->kbuf, ret / rs, max, rs);
	} else if (ret == -ERESTARTSYS) {
		flush_signals(current);
	} else if (ret != -EAGAIN && ret != -ENODEV) {
		tt_bad(s, "read returned %zd", ret);
	}
	return ret;
}

/* Read what @rd has, without blocking. */
static void tt_drain(struct tt *tt, struct tt_reader *rd)
{
	ssize_t ret;

	do {
		ret = tt_read(tt, rd, &rd->s, TT_MAX_RECORDS, true);
	} while (ret > 0 || ret == -ERESTARTSYS);
}

static int tt_poll_wake(wait_queue_entry_t *wq, unsigned int mode, int sync,
			void *key)
{
	struct tt_pollwait *pw = container_of(wq, struct tt_pollwait, wq);
	__poll_t mask = key_to_poll(key);

	/* As epoll: a wake for other events than the ones asked is ignored. */
	if (mask && !(mask & (EPOLLIN | EPOLLPRI | EPOLLHUP | EPOLLERR)))
		return 0;
	WRITE_ONCE(pw->rd->ready, true);
	wake_up(&pw->rd->self);
	return 0;
}

static void tt_poll_queue(struct file *file, wait_queue_head_t *head,
			  poll_table *pt)
{
	struct tt_reader *rd = container_of(pt, struct tt_reader, pt);
	struct tt_pollwait *pw;

	if (rd->npw >= ARRAY_SIZE(rd->pw))
		return;
	pw = &rd->pw[rd->npw++];
	pw->rd = rd;
	pw->head = head;
	init_waitqueue_func_entry(&pw->wq, tt_poll_wake);
	add_wait_queue(head, &pw->wq);
}

static void tt_poll_unqueue(struct tt_reader *rd)
{
	struct tt_pollwait *pw;

	while (rd->npw) {
		pw = &rd->pw[--rd->npw];
		remove_wait_queue(pw->head, &pw->wq);
	}
}

/* One step of a reader in a running phase. */
static void tt_reader_step(struct tt *tt, struct tt_reader *rd)
{
	unsigned int max = 1 + tt_rand(&rd->rnd, TT_MAX_RECORDS);
	__poll_t mask;
	ssize_t ret;

	switch (rd->kind) {
	case TT_R_ALL:
	case TT_R_BLOCK:
		/* After shutdown, until the stage ends. */
		if (tt_read(tt, rd, &rd->s, max, false) == -ENODEV)
			tt_pause(&rd->rnd, 500);
		break;
	case TT_R_NONBLOCK:
		ret = tt_read(tt, rd, &rd->s, max, true);
		if (ret == -EAGAIN || ret == -ENODEV)
			tt_pause(&rd->rnd, 500);
		break;
	case TT_R_EPOLL:
		WRITE_ONCE(rd->ready, false);
		mask = evcore_poll(rd->r, NULL, NULL);
		if (mask & EPOLLHUP) {
			tt_pause(&rd->rnd, 500);
			break;
		}
		if (mask & (EPOLLIN | EPOLLPRI)) {
			if (tt_read(tt, rd, &rd->s, max, true) == -EAGAIN &&
			    (mask & EPOLLIN))
				tt_bad(&rd->s, "EPOLLIN, then EAGAIN");
			break;
		}
		WRITE_ONCE(rd->in_read, true);
		if (wait_event_interruptible(rd->self, READ_ONCE(rd->ready) ||
					     READ_ONCE(tt->stage) >= TT_DRAIN))
			flush_signals(current);
		WRITE_ONCE(rd->in_read, false);
		WRITE_ONCE(rd->progress, rd->progress + 1);
		break;
	case TT_R_SLOW:
		tt_read(tt, rd, &rd->s, 1 + tt_rand(&rd->rnd, 4), false);
		if (rd->pause_us)
			tt_pause(&rd->rnd, rd->pause_us);
		break;
	}
}

/*
 * Readers that come and go: open, read a while (changing filter and
 * watermark now and then), close; between phases, none is open.
 */
static void tt_churn_reader(struct tt *tt, struct tt_reader *rd)
{
	struct tt_stream *s = &rd->s;
	unsigned int n = 1 + tt_rand(&rd->rnd, 32);
	u32 cap;

	memset(s, 0, sizeof(*s));
	rd->r = evcore_reader_open(tt->q);
	if (IS_ERR(rd->r)) {
		if (!evcore_queue_is_shutdown(tt->q))
			tt_bad(s, "open: %ld", PTR_ERR(rd->r));
		rd->r = NULL;
		tt_pause(&rd->rnd, 1000);
		goto out;
	}
	WRITE_ONCE(rd->filter, U64_MAX);
	while (n-- && tt_running(tt)) {
		if (tt_on(tt, TT_FILTER) && !tt_rand(&rd->rnd, 4)) {
			WRITE_ONCE(rd->filter, tt_rand(&rd->rnd, 2) ? U64_MAX :
				   (u64)tt_rand(&rd->rnd, 1U << TT_NR_SRC) << 1);
			evcore_reader_set_filter(rd->r, rd->filter);
		}
		if (tt_on(tt, TT_WATERMARK) && !tt_rand(&rd->rnd, 4)) {
			cap = evcore_queue_capacity(tt->q);
			/* -EINVAL when a resize came between: allowed. */
			evcore_reader_set_watermark(rd->r,
						    1 + tt_rand(&rd->rnd, cap));
		}
		if (tt_read(tt, rd, s, 1 + tt_rand(&rd->rnd, TT_MAX_RECORDS),
			    true) <= 0)
			tt_pause(&rd->rnd, 1000);
	}
	evcore_reader_release(rd->r);
	rd->r = NULL;
out:
	atomic64_add(s->read, &tt->churn_read);
	if (s->bad) {
		spin_lock(&tt->churn_lock);
		if (!tt->churn_bad++)
			strscpy(tt->churn_why, s->why, sizeof(tt->churn_why));
		spin_unlock(&tt->churn_lock);
	}
}

/*
 * A reader's thread. A churning one stops when the phase does; the others
 * read on while the producers stop, then drain what they have.
 */
static int tt_reader_fn(void *data)
{
	struct tt_reader *rd = data;
	struct tt *tt = rd->tt;
	unsigned int gen = 0;

	allow_signal(SIGUSR1);
	kthread_use_mm(tt->mm);
	while (tt_next_phase(tt, &gen)) {
		if (rd->churn) {
			while (tt_running(tt))
				tt_churn_reader(tt, rd);
		} else {
			while (READ_ONCE(tt->stage) == TT_RUN ||
			       READ_ONCE(tt->stage) == TT_STOP)
				tt_reader_step(tt, rd);
			flush_signals(current);
			tt_drain(tt, rd);
		}
		tt_ack(tt);
	}
	kthread_unuse_mm(tt->mm);
	return 0;
}

/* --- queue lifetimes --- */

/*
 * Queues that die under their pushers: each round creates a queue with a
 * source and a reader, has a thread and a timer push on it, then drops
 * the three references in a random order while they push. Every push
 * after the source's unregister must fail with -ENODEV; KASAN sees a push
 * that touches the freed queue.
 */
struct tt_life {
	struct tt *tt;
	struct evcore_source src;
	struct hrtimer timer;
	struct task_struct *pusher;
	struct rnd_state rnd;
	/* Rounds the source was unregistered in; pushes check it. */
	unsigned int unregistered;
	bool pushing;
	unsigned int rounds;
	atomic_long_t after_ok;
	int bad_err;
};

static enum hrtimer_restart tt_life_timer(struct hrtimer *t)
{
	struct tt_life *l = container_of(t, struct tt_life, timer);
	/* Pairs with the release in tt_life_round(), as below. */
	unsigned int before = smp_load_acquire(&l->unregistered);

	if (!READ_ONCE(l->pushing))
		return HRTIMER_NORESTART;
	if (!evcore_push(&l->src, 0, 0, NULL, 0) &&
	    before == READ_ONCE(l->rounds) + 1)
		atomic_long_inc(&l->after_ok);
	hrtimer_forward_now(t, ns_to_ktime(50 * NSEC_PER_USEC));
	return HRTIMER_RESTART;
}

static int tt_life_push_fn(void *data)
{
	struct tt_life *l = data;
	unsigned int before;
	int ret;

	while (!kthread_should_stop()) {
		if (!READ_ONCE(l->pushing)) {
			usleep_range(50, 100);
			continue;
		}
		/*
		 * Pairs with the release after the unregister: a round seen
		 * unregistered here was unregistered before this push began.
		 */
		before = smp_load_acquire(&l->unregistered);
		ret = evcore_push(&l->src, 0, 0, NULL, 0);
		if (!ret && before == READ_ONCE(l->rounds) + 1)
			atomic_long_inc(&l->after_ok);
		else if (ret && ret != -ENOSPC && ret != -ENODEV &&
			 ret != -ESHUTDOWN && !READ_ONCE(l->bad_err))
			WRITE_ONCE(l->bad_err, ret);
		usleep_range(10, 30);
	}
	return 0;
}

static void tt_life_round(struct tt_life *l)
{
	struct evcore_config cfg = {
		.name = "evcore_torture_life",
		.capacity = 1 + tt_rand(&l->rnd, 16),
		.policy = tt_rand(&l->rnd, 3),
		.clock = CLOCK_MONOTONIC,
	};
	struct evcore_reader *r;
	struct evcore_queue *q;
	unsigned int order = tt_rand(&l->rnd, 6), i, step;
	int ret;

	q = evcore_queue_create(&cfg);
	if (IS_ERR(q)) {
		WRITE_ONCE(l->bad_err, PTR_ERR(q));
		return;
	}
	ret = evcore_source_register(q, &l->src, "life", 1);
	if (ret) {
		WRITE_ONCE(l->bad_err, ret);
		evcore_queue_put(q);
		return;
	}
	r = evcore_reader_open(q);
	if (IS_ERR(r)) {
		WRITE_ONCE(l->bad_err, PTR_ERR(r));
		r = NULL;
	}
	WRITE_ONCE(l->pushing, true);
	hrtimer_start(&l->timer, ns_to_ktime(10 * NSEC_PER_USEC),
		      HRTIMER_MODE_REL);
	usleep_range(100, 300);
	if (tt_rand(&l->rnd, 4) == 0)
		evcore_queue_shutdown(q);
	/* The three references go in one of the six orders. */
	for (i = 0; i < 3; i++) {
		step = (order + i * (1 + order % 2)) % 3;
		switch (step) {
		case 0:
			evcore_source_unregister(&l->src);
			/* Pairs with the pushers' acquire. */
			smp_store_release(&l->unregistered, l->rounds + 1);
			break;
		case 1:
			evcore_reader_release(r);
			break;
		case 2:
			evcore_queue_put(q);
			break;
		}
		usleep_range(20, 100);
	}
	WRITE_ONCE(l->pushing, false);
	hrtimer_cancel(&l->timer);
	WRITE_ONCE(l->rounds, l->rounds + 1);
}

static int tt_life_fn(void *data)
{
	struct tt_life *l = data;
	struct task_struct *pusher;

	hrtimer_setup(&l->timer, tt_life_timer, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL);
	pusher = kthread_run(tt_life_push_fn, l, "evtt-lifepush");
	if (IS_ERR(pusher)) {
		WRITE_ONCE(l->bad_err, PTR_ERR(pusher));
		goto out;
	}
	get_task_struct(pusher);
	while (!kthread_should_stop() && !READ_ONCE(l->bad_err))
		tt_life_round(l);
	kthread_stop(pusher);
	put_task_struct(pusher);
out:
	while (!kthread_should_stop())
		schedule_timeout_idle(HZ / 10);
	return 0;
}

/* --- the controller --- */

/* Wait until every thread acknowledged the stage; false after a stall. */
static bool tt_wait_acks(struct tt *tt, const char *what)
{
	if (wait_event_timeout(tt->ack_wq, !atomic_read(&tt->pending),
			       stall_s * HZ))
		return true;
	tt_fail(tt, "%d thread(s) still busy %us after %s", atomic_read(&tt->pending),
		stall_s, what);
	return false;
}

static void tt_signal_all(struct tt *tt, bool readers_only)
{
	unsigned int i;

	for (i = 0; i < TT_NR_READERS; i++)
		if (tt->rd[i].task)
			send_sig(SIGUSR1, tt->rd[i].task, 1);
	for (i = 0; i < TT_NR_READERS; i++)
		wake_up_all(&tt->rd[i].self);
	if (readers_only)
		return;
	for (i = 0; i < TT_NR_PROD; i++)
		if (tt->prod[i].task)
			send_sig(SIGUSR1, tt->prod[i].task, 1);
	for (i = 0; i < TT_NR_CHURN; i++)
		if (tt->churn[i].task)
			send_sig(SIGUSR1, tt->churn[i].task, 1);
}

/* What a stuck reader was doing, for the log. */
static void tt_dump(struct tt *tt, struct tt_reader *rd)
{
	struct evcore_reader_stats rs;
	struct evcore_stats st;

	evcore_reader_get_stats(rd->r, &rs);
	evcore_queue_get_stats(tt->q, &st);
	pr_err("# reader at %llu, lag %llu, filter %#llx, watermark %u; queue next %llu, depth %u of %u, %s\n",
	       rs.position, rs.lag, rs.filter, rs.watermark, st.next_seq,
	       st.depth, st.capacity, evcore_policy_name(st.policy));
	sched_show_task(rd->task);
}

/*
 * No reader may stay asleep with its condition true: each one asleep that
 * poll says is readable (or, after shutdown, hung up) must return from its
 * read within stall_s, unless its condition turns false meanwhile (another
 * reader freed the room that made the queue full, say).
 */
static void tt_check_sleepers(struct tt *tt, const char *when)
{
	unsigned long before, deadline;
	struct tt_reader *rd;
	unsigned int i;
	__poll_t mask;

	for (i = 0; i < TT_NR_READERS; i++) {
		rd = &tt->rd[i];
		if (!rd->task)
			continue;
		before = READ_ONCE(rd->progress);
		deadline = jiffies + stall_s * HZ;
		for (;;) {
			if (!READ_ONCE(rd->in_read) ||
			    READ_ONCE(rd->progress) != before)
				break;
			mask = evcore_poll(rd->r, NULL, NULL);
			if (!(mask & (EPOLLIN | EPOLLPRI | EPOLLHUP)))
				break;
			if (time_after(jiffies, deadline)) {
				tt_fail(tt, "%s: reader %u asleep %us with poll %#x",
					when, i, stall_s,
					(__force unsigned int)mask);
				tt_dump(tt, rd);
				break;
			}
			schedule_timeout_idle(1);
		}
	}
}

/*
 * Wait until no reader's read would return: every blocking one asleep with
 * its condition false (the non-blocking one reads what there is anyway).
 * False when that took longer than stall_s: some reader kept reading.
 */
static bool tt_settle(struct tt *tt)
{
	unsigned long deadline = jiffies + stall_s * HZ;
	struct tt_reader *rd;
	unsigned int i;
	bool settled;

	do {
		settled = true;
		for (i = 0; i < TT_NR_READERS && settled; i++) {
			rd = &tt->rd[i];
			if (!rd->task || rd->kind == TT_R_NONBLOCK)
				continue;
			settled = READ_ONCE(rd->in_read) &&
				  !(evcore_poll(rd->r, NULL, NULL) &
				    (EPOLLIN | EPOLLPRI));
		}
		if (settled)
			return true;
		schedule_timeout_idle(1);
	} while (time_before(jiffies, deadline));
	return false;
}

/*
 * With the readers settled, shrink the queue to what it holds: full, it
 * makes every reader with an event waiting readable whatever its
 * watermark, and the resize must wake them. The first resize frees what
 * no reader needs, so the second one leaves the queue exactly full.
 */
static void tt_probe_resize(struct tt *tt)
{
	struct evcore_stats st;
	unsigned int i;

	for (i = 0; i < 2; i++) {
		evcore_queue_get_stats(tt->q, &st);
		if (!st.depth)
			return;
		if (st.depth == st.capacity)
			break;
		if (evcore_queue_resize(tt->q, st.depth))
			return;
	}
	tt->probes++;
	tt_check_sleepers(tt, "queue shrunk to its depth");
}

/* Mid-phase: the producers' waits end within stall_s. */
static void tt_watchdog(struct tt *tt)
{
	unsigned long since;
	unsigned int i;

	for (i = 0; i < TT_NR_PROD; i++) {
		since = READ_ONCE(tt->prod[i].blocked_since);
		if (since && time_after(jiffies, since + stall_s * HZ)) {
			tt_fail(tt, "producer %u waited %us in a push", i,
				stall_s);
			WRITE_ONCE(tt->prod[i].blocked_since, 0);
		}
	}
}

/* A random change of capacity or policy, while everything runs. */
static void tt_chaos(struct tt *tt)
{
	struct tt_reader *rd;
	u32 cap;
	int ret;

	if (tt_on(tt, TT_RESIZE) && !tt_rand(&tt->rnd, 3)) {
		cap = 2 + tt_rand(&tt->rnd, 255);
		ret = evcore_queue_resize(tt->q, cap);
		if (ret && ret != -EBUSY)
			tt_fail(tt, "resize to %u: %d", cap, ret);
	}
	if (tt_on(tt, TT_POLICY) && !tt_rand(&tt->rnd, 3)) {
		ret = evcore_queue_set_policy(tt->q, tt_rand(&tt->rnd, 3));
		if (ret)
			tt_fail(tt, "set_policy: %d", ret);
	}
	/* A watermark change under a running reader: only its wakes move. */
	if (tt_on(tt, TT_WATERMARK) && !tt_rand(&tt->rnd, 3)) {
		rd = &tt->rd[TT_R_BLOCK + tt_rand(&tt->rnd, TT_R_IDLE - TT_R_BLOCK)];
		cap = evcore_queue_capacity(tt->q);
		/* -EINVAL when a resize came between: allowed. */
		if (rd->r)
			evcore_reader_set_watermark(rd->r,
						    1 + tt_rand(&tt->rnd, cap));
	}
}

static void tt_start_timers(struct tt *tt)
{
	ktime_t t = ns_to_ktime((u64)period_us * NSEC_PER_USEC);

	if (tt_on(tt, TT_HARDIRQ))
		hrtimer_start(&tt->hard, t, HRTIMER_MODE_REL);
	if (tt_on(tt, TT_SOFTIRQ))
		hrtimer_start(&tt->soft, t, HRTIMER_MODE_REL_SOFT);
}

static void tt_stop_timers(struct tt *tt)
{
	hrtimer_cancel(&tt->hard);
	hrtimer_cancel(&tt->soft);
	irq_work_sync(&tt->work);
}

static unsigned int tt_threads(struct tt *tt, bool producers)
{
	unsigned int i, n = 0;

	for (i = 0; i < TT_NR_PROD; i++)
		n += producers && tt->prod[i].task;
	for (i = 0; i < TT_NR_CHURN; i++)
		n += producers && tt->churn[i].task;
	for (i = 0; i < TT_NR_READERS; i++)
		n += !producers && tt->rd[i].task;
	return n;
}

/* The expectations of one phase; returns the failures found. */
static unsigned int tt_check_phase(struct tt *tt, unsigned int phase)
{
	u64 gen[TT_NR_SRC + 1] = {}, ref[TT_NR_SRC + 1] = {};
	u64 attempts = 0, refused = 0, eagain = 0, read = 0, want, i, id;
	unsigned int before = tt->failures;
	struct evcore_source_stats ss;
	struct evcore_stats st;
	struct tt_producer *p;
	struct tt_reader *rd;

	for (i = 0; i < TT_NR_PROD; i++) {
		p = &tt->prod[i];
		gen[tt_prod_id(i)] += p->attempts;
		ref[tt_prod_id(i)] += p->refused;
		attempts += p->attempts;
		refused += p->refused;
		eagain += p->eagain;
		if (p->bad_err)
			tt_fail(tt, "phase %u: producer %llu got %d", phase, i,
				p->bad_err);
	}
	for (i = 0; i < TT_NR_READERS; i++) {
		rd = &tt->rd[i];
		if (!rd->r)
			continue;
		want = 0;
		for (id = 1; id <= TT_NR_SRC; id++)
			want += rd->filter & BIT_ULL(id) ? gen[id] : ref[id];
		pr_info("# phase %u: reader %llu filter %#llx watermark %u: %llu read + %llu lost, %llu expected\n",
			phase, i, rd->filter, rd->watermark, rd->s.read,
			rd->s.lost, want);
		if (rd->s.bad)
			tt_fail(tt, "phase %u: reader %llu: %llu bad records, first: %s",
				phase, i, rd->s.bad, rd->s.why);
		if (rd->s.read + rd->s.lost != want)
			tt_fail(tt, "phase %u: reader %llu: %llu read + %llu lost, %llu expected",
				phase, i, rd->s.read, rd->s.lost, want);
		read += rd->s.read;
	}
	if (tt->churn_bad)
		tt_fail(tt, "phase %u: %u churned readers saw bad records, first: %s",
			phase, tt->churn_bad, tt->churn_why);
	read += atomic64_read(&tt->churn_read);
	evcore_queue_get_stats(tt->q, &st);
	pr_info("# phase %u: %llu generated, %llu refused, %llu overwritten, %llu EAGAIN, %llu delivered, high water %u of %u\n",
		phase, st.generated, st.dropped_full, st.overwritten,
		st.would_block, st.delivered, st.high_water, st.capacity);
	if (st.generated != attempts || st.dropped_full != refused ||
	    st.would_block != eagain || st.delivered != read) {
		tt_fail(tt, "phase %u: the queue's statistics are not the threads' counts",
			phase);
		pr_err("# generated/refused/EAGAIN/delivered: queue %llu/%llu/%llu/%llu, threads %llu/%llu/%llu/%llu\n",
		       st.generated, st.dropped_full, st.would_block,
		       st.delivered, attempts, refused, eagain, read);
	}
	if (!IS_ENABLED(CONFIG_PREEMPT_RT) && tt->prod[TT_P_HARD].attempts &&
	    !READ_ONCE(tt->hardirq_ticks))
		tt_fail(tt, "phase %u: the hardirq timer never ran in hard interrupt context",
			phase);
	/* Sources registered for the whole run count since the start. */
	for (i = TT_P_HARD; i <= TT_P_NBWAIT; i++) {
		p = &tt->prod[i];
		evcore_source_get_stats(p->src, &ss);
		if (ss.next_seq != p->k)
			tt_fail(tt, "phase %u: source %u at seq %llu, its producer at %llu",
				phase, tt_prod_id(i), ss.next_seq, p->k);
	}
	return tt->failures - before;
}

/* Start a phase: every thread, then the timers. */
static void tt_release(struct tt *tt)
{
	WRITE_ONCE(tt->stage, TT_RUN);
	/* Pairs with tt_next_phase(): the configuration goes first. */
	smp_store_release(&tt->gen, tt->gen + 1);
	wake_up_all(&tt->go_wq);
	tt_start_timers(tt);
}

/* The configuration of the next phase. */
static void tt_reconfigure(struct tt *tt)
{
	struct evcore_stats st;
	struct tt_reader *rd;
	u32 cap, policy;
	unsigned int i;
	u64 filter;
	int ret;

	policy = tt_on(tt, TT_POLICY) ? tt_rand(&tt->rnd, 3) :
					 EVCORE_POLICY_DROP_OLDEST;
	ret = evcore_queue_set_policy(tt->q, policy);
	if (ret)
		tt_fail(tt, "set_policy(%u): %d", policy, ret);
	if (tt_on(tt, TT_RESIZE)) {
		cap = 4 + tt_rand(&tt->rnd, 509);
		ret = evcore_queue_resize(tt->q, cap);
		if (ret && ret != -EBUSY)
			tt_fail(tt, "resize to %u: %d", cap, ret);
	}
	cap = evcore_queue_capacity(tt->q);
	evcore_queue_get_stats(tt->q, &st);
	for (i = 0; i < TT_NR_READERS; i++) {
		rd = &tt->rd[i];
		if (!rd->r)
			continue;
		filter = U64_MAX;
		if (i == TT_R_IDLE)
			filter = 0;
		else if (i != TT_R_ALL && tt_on(tt, TT_FILTER) &&
			 tt_rand(&tt->rnd, 3))
			filter = (u64)tt_rand(&tt->rnd, 1U << TT_NR_SRC) << 1;
		evcore_reader_set_filter(rd->r, filter);
		rd->filter = filter;
		rd->watermark = 1;
		if (i != TT_R_ALL && tt_on(tt, TT_WATERMARK))
			rd->watermark = 1 + tt_rand(&tt->rnd, cap);
		ret = evcore_reader_set_watermark(rd->r, rd->watermark);
		if (ret)
			tt_fail(tt, "watermark %u of %u: %d", rd->watermark,
				cap, ret);
		rd->pause_us = tt_rand(&tt->rnd, 3) * 1000;
		/*
		 * Every reader has read up to the head: sequence order holds
		 * across phases too, and from there a reader taking every
		 * source reads every record.
		 */
		rd->s.next_seq = st.next_seq;
		rd->s.exact = filter == U64_MAX;
		rd->s.read = 0;
		rd->s.lost = 0;
		rd->s.bad = 0;
		rd->s.after_loss = false;
	}
	for (i = 0; i < TT_NR_PROD; i++) {
		tt->prod[i].attempts = 0;
		tt->prod[i].refused = 0;
		tt->prod[i].eagain = 0;
		tt->prod[i].bad_err = 0;
	}
	atomic64_set(&tt->churn_read, 0);
	tt->churn_bad = 0;
	WRITE_ONCE(tt->hardirq_ticks, 0);
	WRITE_ONCE(tt->pace, tt_rand(&tt->rnd, 2) ? 1 : 4);
	evcore_queue_reset_stats(tt->q);
}

/* Run one phase and check it. */
static void tt_phase(struct tt *tt, unsigned int phase, unsigned long len)
{
	unsigned long end = jiffies + len;
	struct tt_reader *idle = &tt->rd[TT_R_IDLE];
	unsigned int before = tt->failures, nprod, nread;
	u32 policy, cap;

	tt_reconfigure(tt);
	policy = evcore_queue_policy(tt->q);
	cap = evcore_queue_capacity(tt->q);
	nprod = tt_threads(tt, true);
	nread = tt_threads(tt, false);

	atomic_set(&tt->pending, nprod);
	tt_release(tt);
	while (time_before(jiffies, end)) {
		schedule_timeout_idle(HZ / 20);
		tt_watchdog(tt);
		if (!tt_rand(&tt->rnd, 10))
			tt_chaos(tt);
	}

	/* Producers stop; the readers go on. */
	WRITE_ONCE(tt->stage, TT_STOP);
	tt_stop_timers(tt);
	if (!tt_wait_acks(tt, "the producers were told to stop")) {
		tt_signal_all(tt, false);
		if (!tt_wait_acks(tt, "a signal"))
			goto abort;
	}
	tt_check_sleepers(tt, "producers stopped");
	if (tt_on(tt, TT_RESIZE) && tt_settle(tt))
		tt_probe_resize(tt);

	/* The readers drain and report. */
	atomic_set(&tt->pending, nread);
	WRITE_ONCE(tt->stage, TT_DRAIN);
	tt_signal_all(tt, true);
	if (!tt_wait_acks(tt, "the readers were told to drain"))
		goto abort;
	tt_drain(tt, idle);
	WRITE_ONCE(tt->stage, TT_IDLE);

	tt->tests++;
	pr_info("# phase %u: %s, capacity %u, producers at 1/%u pace\n", phase,
		evcore_policy_name(policy), cap, tt->pace);
	tt_check_phase(tt, phase);
	pr_info("%s %u - phase %u\n", tt->failures == before ? "ok" : "not ok",
		tt->tests, phase);
	return;

abort:
	/*
	 * A thread stuck in a stage would still touch what the next phase
	 * resets: stop here, and let the teardown shut the queue down.
	 */
	tt->aborted = true;
	tt->tests++;
	pr_info("not ok %u - phase %u\n", tt->tests, phase);
}

/*
 * The last stage: everything runs again and the queue is shut down under
 * it; every thread must leave its wait.
 */
static void tt_shutdown(struct tt *tt)
{
	unsigned int before = tt->failures;
	struct evcore_stats st;

	tt_reconfigure(tt);
	atomic_set(&tt->pending, tt_threads(tt, true));
	tt_release(tt);
	schedule_timeout_idle(HZ / 2);
	evcore_queue_shutdown(tt->q);
	if (tt_read(tt, &tt->rd[TT_R_IDLE], &tt->rd[TT_R_IDLE].s, 1, true) !=
	    -ENODEV)
		tt_fail(tt, "a read after shutdown did not fail with ENODEV");
	/* Shutdown wakes every reader: none may need the signal below. */
	tt_check_sleepers(tt, "shut down");
	schedule_timeout_idle(HZ / 10);
	WRITE_ONCE(tt->stage, TT_STOP);
	tt_stop_timers(tt);
	tt_wait_acks(tt, "shutdown, for the producers");
	atomic_set(&tt->pending, tt_threads(tt, false));
	WRITE_ONCE(tt->stage, TT_DRAIN);
	tt_signal_all(tt, true);
	tt_wait_acks(tt, "shutdown, for the readers");
	evcore_queue_get_stats(tt->q, &st);
	tt->tests++;
	pr_info("%s %u - shutdown: every thread left its wait (%llu generated)\n",
		tt->failures == before ? "ok" : "not ok", tt->tests,
		st.generated);
}

/* Parse the mix parameter into tt->ops. */
static int tt_parse_mix(struct tt *tt)
{
	char *buf, *p, *tok;
	bool off;
	int i, ret = 0;

	buf = kstrdup(mix, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	tt->ops = 0;
	p = buf;
	while ((tok = strsep(&p, ","))) {
		off = *tok == '-';
		tok += off;
		if (!*tok)
			continue;
		if (!strcmp(tok, "all")) {
			tt->ops = off ? 0 : BIT(TT_NR_OPS) - 1;
			continue;
		}
		i = match_string(tt_op_names, TT_NR_OPS, tok);
		if (i < 0) {
			pr_err("# mix: unknown operation '%s'\n", tok);
			ret = -EINVAL;
			break;
		}
		if (off)
			tt->ops &= ~BIT(i);
		else
			tt->ops |= BIT(i);
	}
	kfree(buf);
	return ret;
}

static int tt_start(struct tt *tt, struct task_struct **task,
		    int (*fn)(void *), void *arg, const char *name)
{
	struct task_struct *t = kthread_run(fn, arg, "evtt-%s", name);

	if (IS_ERR(t))
		return PTR_ERR(t);
	*task = get_task_struct(t);
	return 0;
}

static const char *const tt_prod_names[TT_NR_PROD] = {
	"hard", "soft", "irqwork", "push", "wait", "nbwait", "churn", "churn-t",
};

static int tt_setup(struct tt *tt)
{
	static const int needs[TT_NR_PROD] = {
		TT_HARDIRQ, TT_SOFTIRQ, -1, TT_KTHREAD, TT_PUSHWAIT,
		TT_PUSHWAIT, TT_SOURCES, TT_SOURCES,
	};
	static const int rneeds[TT_NR_READERS] = {
		TT_BLOCKING, TT_BLOCKING, TT_NONBLOCK, TT_EPOLL, TT_BLOCKING, -1,
	};
	struct evcore_config cfg = {
		.name = "evcore_torture",
		.capacity = 64,
		.payload_size = sizeof(struct tt_payload),
		.policy = EVCORE_POLICY_DROP_OLDEST,
		.clock = CLOCK_MONOTONIC,
	};
	struct tt_producer *p;
	struct tt_reader *rd;
	unsigned int i, id;
	int ret;

	tt->q = evcore_queue_create(&cfg);
	if (IS_ERR(tt->q))
		return PTR_ERR(tt->q);
	for (id = 1; id < TT_CHURN_ID; id++) {
		ret = evcore_source_register(tt->q, &tt->src[id],
					     tt_prod_names[id - 1], id);
		if (ret)
			return ret;
	}
	for (i = 0; i < TT_NR_PROD; i++) {
		p = &tt->prod[i];
		p->tt = tt;
		p->kind = i;
		p->src = &tt->src[tt_prod_id(i)];
		p->shared = i >= TT_P_CHURN;
		prandom_seed_state(&p->rnd, tt->rnd.s1 + 1000 + i);
		if (i < TT_P_PUSH || (needs[i] >= 0 && !tt_on(tt, needs[i])) ||
		    i == TT_P_CHURN_T)
			continue;
		ret = tt_start(tt, &p->task, tt_producer_fn, p,
			       tt_prod_names[i]);
		if (ret)
			return ret;
	}
	for (i = 0; i < TT_NR_READERS; i++) {
		rd = &tt->rd[i];
		rd->tt = tt;
		rd->kind = i;
		rd->slot = i;
		init_waitqueue_head(&rd->self);
		prandom_seed_state(&rd->rnd, tt->rnd.s1 + 2000 + i);
		/* A reader nobody reads would hold the queue: not opened. */
		if (rneeds[i] >= 0 && !tt_on(tt, rneeds[i]))
			continue;
		rd->kbuf = kvmalloc(TT_SLOT_SIZE, GFP_KERNEL);
		if (!rd->kbuf)
			return -ENOMEM;
		rd->r = evcore_reader_open(tt->q);
		if (IS_ERR(rd->r)) {
			ret = PTR_ERR(rd->r);
			rd->r = NULL;
			return ret;
		}
		if (i == TT_R_EPOLL) {
			init_poll_funcptr(&rd->pt, tt_poll_queue);
			evcore_poll(rd->r, NULL, &rd->pt);
		}
		if (rneeds[i] < 0)
			continue;
		ret = tt_start(tt, &rd->task, tt_reader_fn, rd, "reader");
		if (ret)
			return ret;
	}
	for (i = 0; tt_on(tt, TT_OPEN) && i < TT_NR_CHURN; i++) {
		rd = &tt->churn[i];
		rd->tt = tt;
		rd->slot = TT_NR_READERS + i;
		prandom_seed_state(&rd->rnd, tt->rnd.s1 + 3000 + i);
		rd->kbuf = kvmalloc(TT_SLOT_SIZE, GFP_KERNEL);
		if (!rd->kbuf)
			return -ENOMEM;
		rd->churn = true;
		ret = tt_start(tt, &rd->task, tt_reader_fn, rd, "open");
		if (ret)
			return ret;
	}
	return 0;
}

static void tt_teardown(struct tt *tt)
{
	struct tt_reader *rd;
	unsigned int i;

	/* Whatever still waits in evcore returns, and in its own waits. */
	if (!IS_ERR_OR_NULL(tt->q))
		evcore_queue_shutdown(tt->q);
	WRITE_ONCE(tt->stage, TT_EXIT);
	wake_up_all(&tt->go_wq);
	tt_signal_all(tt, false);
	tt_stop_timers(tt);
	for (i = 0; i < TT_NR_PROD; i++) {
		if (!tt->prod[i].task)
			continue;
		kthread_stop(tt->prod[i].task);
		put_task_struct(tt->prod[i].task);
	}
	for (i = 0; i < TT_NR_READERS + TT_NR_CHURN; i++) {
		rd = i < TT_NR_READERS ? &tt->rd[i] :
					 &tt->churn[i - TT_NR_READERS];
		if (rd->task) {
			kthread_stop(rd->task);
			put_task_struct(rd->task);
		}
		tt_poll_unqueue(rd);
		if (!IS_ERR_OR_NULL(tt->q) && rd->r)
			evcore_reader_release(rd->r);
		kvfree(rd->kbuf);
	}
	for (i = 1; i <= TT_NR_SRC; i++)
		evcore_source_unregister(&tt->src[i]);
	if (!IS_ERR_OR_NULL(tt->q))
		evcore_queue_put(tt->q);
}

static int __init tt_init(void)
{
	struct task_struct *life_task = NULL;
	struct tt_life *life = NULL;
	unsigned int i, n = max(phases, 1U);
	struct tt *tt;
	long after;
	int ret;

	tt = kzalloc(sizeof(*tt), GFP_KERNEL);
	if (!tt)
		return -ENOMEM;
	ret = tt_parse_mix(tt);
	if (ret)
		goto out_free;
	if (!seed)
		seed = get_random_u32() | 1;
	prandom_seed_state(&tt->rnd, seed);
	init_waitqueue_head(&tt->go_wq);
	init_waitqueue_head(&tt->ack_wq);
	spin_lock_init(&tt->churn_lock);
	hrtimer_setup(&tt->hard, tt_hard_fn, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	hrtimer_setup(&tt->soft, tt_soft_fn, CLOCK_MONOTONIC,
		      HRTIMER_MODE_REL_SOFT);
	init_irq_work(&tt->work, tt_work_fn);
	period_us = clamp(period_us, 10U, 100000U);
	stall_s = clamp(stall_s, 1U, 3600U);

	pr_info("KTAP version 1\n");
	pr_info("1..%u\n", n + 2);
	pr_info("# seed=%u duration_s=%u phases=%u period_us=%u mix=%#lx%s\n",
		seed, duration_s, n, period_us, tt->ops,
		IS_ENABLED(CONFIG_PREEMPT_RT) ?
		" (PREEMPT_RT: the hardirq timer expires in softirq context)" : "");

	if (!current->mm) {
		pr_err("# the loading task has no address space to read into\n");
		ret = -EINVAL;
		goto out_free;
	}
	tt->mm = current->mm;
	tt->ubuf = vm_mmap(NULL, 0, TT_SLOTS * TT_SLOT_SIZE,
			   PROT_READ | PROT_WRITE,
			   MAP_ANONYMOUS | MAP_PRIVATE | MAP_POPULATE, 0);
	if (IS_ERR_VALUE(tt->ubuf)) {
		ret = (int)tt->ubuf;
		goto out_free;
	}
	ret = tt_setup(tt);
	if (ret) {
		pr_err("# setup failed: %d\n", ret);
		goto out_teardown;
	}
	if (tt_on(tt, TT_SOURCES)) {
		life = kzalloc(sizeof(*life), GFP_KERNEL);
		ret = -ENOMEM;
		if (!life)
			goto out_teardown;
		life->tt = tt;
		prandom_seed_state(&life->rnd, seed + 4000);
		ret = tt_start(tt, &life_task, tt_life_fn, life, "life");
		if (ret)
			goto out_teardown;
	}

	for (i = 1; i <= n && !tt->aborted; i++)
		tt_phase(tt, i, msecs_to_jiffies(duration_s * 1000 / n));
	if (!tt->aborted)
		tt_shutdown(tt);
	else
		for (; i <= n + 1; i++)
			pr_info("not ok %u - %s: not run after a stall\n",
				++tt->tests, i <= n ? "phase" : "shutdown");
	pr_info("# resize probes that checked a reader: %u\n", tt->probes);

	tt->tests++;
	if (life_task) {
		kthread_stop(life_task);
		put_task_struct(life_task);
		life_task = NULL;
		after = atomic_long_read(&life->after_ok);
		if (life->bad_err || after)
			tt_fail(tt, "lifetimes: error %d, %ld pushes queued after unregister",
				life->bad_err, after);
		pr_info("%s %u - lifetimes: %u queues freed under their pushers\n",
			life->bad_err || after ? "not ok" : "ok",
			tt->tests, life->rounds);
	} else {
		pr_info("ok %u - lifetimes # SKIP sources not in the mix\n",
			tt->tests);
	}
	ret = tt->failures ? -EINVAL : 0;
	pr_info("# evcore_torture: %u failure(s)\n", tt->failures);

out_teardown:
	if (life_task) {
		kthread_stop(life_task);
		put_task_struct(life_task);
	}
	kfree(life);
	tt_teardown(tt);
	vm_munmap(tt->ubuf, TT_SLOTS * TT_SLOT_SIZE);
out_free:
	kfree(tt);
	return ret;
}

static void __exit tt_exit(void)
{
}

module_init(tt_init);
module_exit(tt_exit);

MODULE_IMPORT_NS_EVCORE();
MODULE_DESCRIPTION("evcore torture test: every operation against every other");
MODULE_AUTHOR("evcore developers");
MODULE_LICENSE("GPL");
