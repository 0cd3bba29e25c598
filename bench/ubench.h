/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace half of make bench: what the harness (ubench.c) and the rows
 * (rows_read.c, rows_rate.c, rows_input.c) share.
 *
 * Each row measures one side of a comparison: /dev/mypoll, or the kernel
 * channel it is compared with (eventfd, a pipe, timerfd, uinput -> evdev).
 * A side returns one number per round, a cost (nanoseconds) or a rate
 * (events per second); the harness runs the two sides alternately and
 * prints both. Clock reads are part of the cost, so the two sides of a row
 * read the clock the same number of times at the same places.
 */
#ifndef UBENCH_H
#define UBENCH_H

#include <stddef.h>

#include <linux/mypoll.h>
#include <linux/types.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Chunks per round of the rows whose figures are means (ub_row.chunks). */
#define UB_CHUNKS	8

/* Records per read() in the batch rows. */
#define UB_BATCH	64

/**
 * struct ub_row - one comparison
 * @name: short name, for --rows
 * @peer: what mypoll is compared with
 * @unit: "ns" for a cost, "ev/s" for a rate
 * @nout: how many figures one measurement gives (1 or 2)
 * @out: their names, as scripts/bench knows them; @name when NULL
 * @mypoll: measure mypoll once: the figures of one round in @v
 * @peer_fn: measure the peer once, the same way
 * @chunks: when not 0, a round runs each side this many times with
 *	1/@chunks of the work, alternately, and averages them: the two
 *	sides then share the same stretch of time, whatever the host's load
 *	does meanwhile (for figures that are means: costs and rates)
 */
struct ub_row {
	const char *name;
	const char *peer;
	const char *unit;
	unsigned int nout;
	const char *out[2];
	void (*mypoll)(double *v);
	void (*peer_fn)(double *v);
	unsigned int chunks;
};

/*
 * Every row, in the order they run (rows_read.c, rows_rate.c,
 * rows_input.c; in the last, the mypoll side is evcore_input's).
 */
extern const struct ub_row ub_read_rows[];
extern const size_t ub_read_nrows;
extern const struct ub_row ub_rate_rows[];
extern const size_t ub_rate_nrows;
extern const struct ub_row ub_input_rows[];
extern const size_t ub_input_nrows;

/* Work per round is multiplied by this (--scale). */
extern double ub_scale;
/* The mypoll device the rows use (--device). */
extern const char *ub_device;

__u64 ub_now(void);
void ub_die(const char *what);
void ub_xwrite(int fd, const void *buf, size_t len);
void ub_xread(int fd, void *buf, size_t len);
unsigned long ub_scaled(unsigned long n);
int ub_open(int flags);
void ub_ioctl_u32(int fd, unsigned long cmd, __u32 val, const char *what);
void ub_trigger(int fd, __u32 count);
void ub_pin(int cpu);
size_t ub_record_size(void);
int ub_cmp_u64(const void *a, const void *b);
__u64 ub_percentile(__u64 *v, size_t n, unsigned int pct);

#endif /* UBENCH_H */
