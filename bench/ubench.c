// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace half of make bench: /dev/mypoll against the kernel's own event
 * channels, in the same run, in alternating rounds.
 *
 *   ubench [--rows LIST] [--rounds N] [--side both|mypoll|peer]
 *          [--scale F] [--device PATH] [--list]
 *
 * Prints "record_size BYTES" (read from the device), then for each row and
 * round "round ROW N MYPOLL PEER UNIT" (a side not run prints "-").
 * scripts/bench turns the rounds into ratios, medians and TAP.
 * Needs root, mypoll_misc loaded, uinput and evdev for the evdev row, and
 * evcore_input too for the input rows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "ubench.h"

double ub_scale = 1.0;
const char *ub_device = "/dev/mypoll";

__u64 ub_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

void ub_die(const char *what)
{
	fprintf(stderr, "ubench: %s: %s\n", what, strerror(errno));
	exit(1);
}

void ub_xwrite(int fd, const void *buf, size_t len)
{
	ssize_t n = write(fd, buf, len);

	if (n != (ssize_t)len) {
		if (n >= 0)
			errno = EIO;
		ub_die("write");
	}
}

void ub_xread(int fd, void *buf, size_t len)
{
	ssize_t n = read(fd, buf, len);

	if (n != (ssize_t)len) {
		if (n >= 0) {
			fprintf(stderr, "ubench: read %zd bytes, wanted %zu\n",
				n, len);
			exit(1);
		}
		ub_die("read");
	}
}

unsigned long ub_scaled(unsigned long n)
{
	double v = n * ub_scale;

	return v < 1 ? 1 : (unsigned long)v;
}

int ub_open(int flags)
{
	int fd = open(ub_device, flags | O_CLOEXEC);

	if (fd < 0)
		ub_die(ub_device);
	return fd;
}

void ub_ioctl_u32(int fd, unsigned long cmd, __u32 val, const char *what)
{
	if (ioctl(fd, cmd, &val) < 0)
		ub_die(what);
}

/* Queue @count manual events; all must fit. */
void ub_trigger(int fd, __u32 count)
{
	__u32 chunk;
	int ret;

	while (count) {
		chunk = count < MYPOLL_TRIGGER_MAX ? count : MYPOLL_TRIGGER_MAX;
		ret = ioctl(fd, MYPOLL_IOC_TRIGGER, &chunk);
		if (ret < 0)
			ub_die("MYPOLL_IOC_TRIGGER");
		if ((__u32)ret != chunk) {
			fprintf(stderr, "ubench: trigger queued %d of %u\n",
				ret, chunk);
			exit(1);
		}
		count -= chunk;
	}
}

/* Pin the calling thread to @cpu (modulo the CPUs there are). */
void ub_pin(int cpu)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(n > 0 ? cpu % n : 0, &set);
	errno = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	if (errno)
		ub_die("pthread_setaffinity_np");
}

/*
 * The record size, as the device returns it: one event read into a large
 * buffer. The rows size their peers' records with it; it must also be the
 * uapi's struct mypoll_event, which they read into.
 */
size_t ub_record_size(void)
{
	static size_t size;
	char buf[4096];
	ssize_t n;
	int fd;

	if (size)
		return size;
	fd = ub_open(O_RDWR | O_NONBLOCK);
	ub_ioctl_u32(fd, MYPOLL_IOC_SET_POLICY, EVCORE_POLICY_DROP_NEWEST,
		     "MYPOLL_IOC_SET_POLICY");
	ub_trigger(fd, 1);
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		ub_die("read one record");
	close(fd);
	if ((size_t)n != sizeof(struct mypoll_event)) {
		fprintf(stderr, "ubench: the device returns %zd-byte records, the uapi says %zu\n",
			n, sizeof(struct mypoll_event));
		exit(1);
	}
	size = n;
	return size;
}

int ub_cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* The @pct-th percentile of @v (sorted in place), nearest rank. */
__u64 ub_percentile(__u64 *v, size_t n, unsigned int pct)
{
	size_t rank;

	qsort(v, n, sizeof(*v), ub_cmp_u64);
	rank = (n * pct + 99) / 100;
	return v[rank ? rank - 1 : 0];
}

/* The row tables, in the order their rows run. */
static const struct {
	const struct ub_row *rows;
	const size_t *n;
} ub_tables[] = {
	{ ub_read_rows, &ub_read_nrows },
	{ ub_rate_rows, &ub_rate_nrows },
	{ ub_input_rows, &ub_input_nrows },
};

/* Row @k of all the tables, in order; NULL past the last. */
static const struct ub_row *nth_row(size_t k)
{
	size_t t;

	for (t = 0; t < ARRAY_SIZE(ub_tables); t++) {
		if (k < *ub_tables[t].n)
			return &ub_tables[t].rows[k];
		k -= *ub_tables[t].n;
	}
	return NULL;
}

static const struct ub_row *find_row(const char *name)
{
	const struct ub_row *row;
	size_t k;

	for (k = 0; (row = nth_row(k)); k++)
		if (!strcmp(row->name, name))
			return row;
	return NULL;
}

static void print_value(int run, double v)
{
	if (run)
		printf(" %.1f", v);
	else
		printf(" -");
}

/*
 * One round of @row's two sides, each figure into @a and @b: once each, or
 * in the row's chunks, alternately, averaged (costs: the mean; rates, over
 * equal work: the harmonic mean).
 */
static void run_round(const struct ub_row *row, int mine, int peer,
		      double *a, double *b)
{
	unsigned int k, i, chunks = row->chunks ? row->chunks : 1;
	int rate = !strcmp(row->unit, "ev/s");
	double scale = ub_scale, ca[2] = { }, cb[2] = { };

	for (i = 0; i < 2; i++) {
		a[i] = 0;
		b[i] = 0;
	}
	ub_scale = scale / chunks;
	for (k = 0; k < chunks; k++) {
		/* A side that hangs ends the run. */
		alarm(120);
		if (mine)
			row->mypoll(ca);
		alarm(120);
		if (peer)
			row->peer_fn(cb);
		alarm(0);
		for (i = 0; i < row->nout; i++) {
			if (mine)
				a[i] += rate ? 1 / ca[i] : ca[i];
			if (peer)
				b[i] += rate ? 1 / cb[i] : cb[i];
		}
	}
	ub_scale = scale;
	for (i = 0; i < row->nout; i++) {
		a[i] = rate ? chunks / a[i] : a[i] / chunks;
		b[i] = rate ? chunks / b[i] : b[i] / chunks;
	}
}

/* Rounds alternate the sides: mypoll, peer, mypoll, peer, ... */
static void run_row(const struct ub_row *row, int rounds, int mine,
		    int peer)
{
	double a[2], b[2];
	unsigned int i;
	int r;

	for (r = 1; r <= rounds; r++) {
		run_round(row, mine, peer, a, b);
		for (i = 0; i < row->nout; i++) {
			printf("round %s %d", row->out[i] ? row->out[i] :
			       row->name, r);
			print_value(mine, a[i]);
			print_value(peer, b[i]);
			printf(" %s\n", row->unit);
		}
		fflush(stdout);
	}
}

static void print_usage(FILE *f, int status)
{
	const struct ub_row *row;
	size_t k;

	fprintf(f, "usage: ubench [--rows LIST] [--rounds N] [--side both|mypoll|peer]\n"
		"              [--scale F] [--device PATH] [--list]\n"
		"Rows (comma-separated LIST, default all):");
	for (k = 0; (row = nth_row(k)); k++)
		fprintf(f, " %s", row->name);
	fprintf(f, "\n");
	exit(status);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "rows", required_argument, NULL, 'r' },
		{ "rounds", required_argument, NULL, 'n' },
		{ "side", required_argument, NULL, 's' },
		{ "scale", required_argument, NULL, 'x' },
		{ "device", required_argument, NULL, 'd' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	const char *rows = NULL;
	int rounds = 5, mine = 1, peer = 1, c;
	char *list, *name, *save;
	const struct ub_row *row;
	size_t k;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			rows = optarg;
			break;
		case 'n':
			rounds = atoi(optarg);
			break;
		case 's':
			mine = strcmp(optarg, "peer") != 0;
			peer = strcmp(optarg, "mypoll") != 0;
			if (strcmp(optarg, "both") && (mine && peer))
				print_usage(stderr, 2);
			break;
		case 'x':
			ub_scale = atof(optarg);
			break;
		case 'd':
			ub_device = optarg;
			break;
		case 'l':
			for (k = 0; (row = nth_row(k)); k++)
				printf("%s %s %s\n", row->name, row->peer,
				       row->unit);
			return 0;
		case 'h':
			print_usage(stdout, 0);
			break;
		default:
			print_usage(stderr, 2);
		}
	}
	if (optind != argc || rounds < 1 || !(ub_scale > 0))
		print_usage(stderr, 2);

	ub_pin(0);
	printf("record_size %zu\n", ub_record_size());
	if (!rows) {
		for (k = 0; (row = nth_row(k)); k++)
			run_row(row, rounds, mine, peer);
		return 0;
	}
	list = strdup(rows);
	if (!list)
		ub_die("strdup");
	for (name = strtok_r(list, ",", &save); name;
	     name = strtok_r(NULL, ",", &save)) {
		row = find_row(name);
		if (!row) {
			fprintf(stderr, "ubench: no row %s\n", name);
			print_usage(stderr, 2);
		}
		run_row(row, rounds, mine, peer);
	}
	free(list);
	return 0;
}
