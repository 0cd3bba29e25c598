/* SPDX-License-Identifier: GPL-2.0 */
/*
 * mypollctl: what its files share. mypollctl.c parses the options, opens
 * the device and explains its errors; mypollctl-cmd.c has the commands;
 * mypollctl-show.c prints records, statistics and the device's description
 * as text or JSON, and follows events (watch, read). The JSON keys and the
 * exit statuses are an interface: the man page, mypollctl(1), documents
 * them.
 */
#ifndef MYPOLLCTL_H
#define MYPOLLCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <linux/evcore.h>
#include <linux/mypoll.h>

#define PROGNAME	"mypollctl"

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

/* Exit statuses: success is 0. */
#define EXIT_RUNTIME	1	/* the device or the system said no */
#define EXIT_USAGE	2	/* the command line is wrong */

/* How text output shows an event's CLOCK_MONOTONIC timestamp. */
enum time_format {
	TS_MONOTONIC,		/* seconds since boot, as the kernel log */
	TS_LOCAL,		/* wall clock, local time zone */
	TS_UTC,		/* wall clock, UTC */
};

/**
 * struct ctl - what the command line asked for
 * @device: device node
 * @json: print JSON objects, one per line, instead of text
 * @time: how text output shows timestamps
 * @count: watch, read: stop after this many events (0: no limit)
 * @filter: watch, read: source filter bits, valid when @set_filter
 * @set_filter: --filter was given
 * @watermark: watch, read: the file's watermark, 0 to leave it alone
 * @banner: watch: say on stderr when it is ready
 */
struct ctl {
	const char *device;
	bool json;
	enum time_format time;
	unsigned long long count;
	__u64 filter;
	bool set_filter;
	__u32 watermark;
	bool banner;
};

/* &struct command.flags */
#define CMD_FOLLOWS	0x1	/* takes --count, --filter, --watermark */
#define CMD_WATCH	0x2	/* takes --banner */

/**
 * struct job - a command, its arguments checked before the device is opened
 * @ctl: the options
 * @name: the command's name
 * @argc: how many arguments it has
 * @argv: its arguments
 * @oflags: how the command opens the device
 * @fd: the open device
 * @mode: start: timer mode, -1 to keep the current one
 * @period_us: start: period in microseconds, 0 to keep the current one
 * @period_arg: start: the period as given, NULL when none was
 * @count: trigger: events to generate
 * @policy: policy: the policy to set, -1 to print it
 * @size: size: the queue size to set, 0 to print it
 * @data: write: the bytes to queue
 * @len: write: how many
 */
struct job {
	struct ctl ctl;
	const char *name;
	int argc;
	char **argv;
	int oflags;
	int fd;
	int mode;
	unsigned long long period_us;
	const char *period_arg;
	__u32 count;
	int policy;
	__u32 size;
	const char *data;
	size_t len;
};

/**
 * struct command - one subcommand
 * @name: its name on the command line
 * @args: its arguments, for the help text
 * @max_args: how many arguments it takes at most
 * @oflags: how it opens the device, unless @parse changes &struct job.oflags
 * @parse: checks the arguments into the &struct job, NULL when there are
 *	none to check; 0 or %EXIT_USAGE
 * @run: does it on the open device; an exit status
 * @flags: %CMD_FOLLOWS, %CMD_WATCH
 * @help: what it does, for the help text
 */
struct command {
	const char *name;
	const char *args;
	int max_args;
	int oflags;
	int (*parse)(struct job *j);
	int (*run)(struct job *j);
	unsigned int flags;
	const char *help;
};

extern const struct command commands[];
extern const size_t n_commands;
extern const char * const policy_names[3];
extern const char * const mode_names[2];

const char *name_of(const char * const *names, size_t n, unsigned int v);
int name_index(const char * const *names, size_t n, const char *s);
const char *source_name(unsigned int id);
int source_by_name(const char *s);

/* An error message on stderr, "mypollctl: " first; @fmt a literal. */
#define ctl_err(fmt, ...)						\
	fprintf(stderr, PROGNAME ": " fmt "\n", ##__VA_ARGS__)

/*
 * The same for a usage error, and a pointer to --help; its value is
 * %EXIT_USAGE, for "return usage_err(...)".
 */
#define usage_err(fmt, ...) ({						\
	fprintf(stderr, PROGNAME ": " fmt "\n"				\
		"Try '" PROGNAME " --help' for more information.\n",	\
		##__VA_ARGS__);						\
	EXIT_USAGE;							\
})
int parse_range(const char *s, const char *what, unsigned long long min,
		unsigned long long max, unsigned long long *val);
int ioctl_failed(const struct ctl *ctl, const char *what, int err);

int show_info(const struct ctl *ctl, int fd);
int show_stats(const struct ctl *ctl, int fd);
int show_timer(const struct ctl *ctl, int fd);
int follow(const struct ctl *ctl, int fd, bool watch);

#endif /* MYPOLLCTL_H */
