// SPDX-License-Identifier: GPL-2.0
/*
 * mypollctl: control /dev/mypoll and watch its events from the command line,
 * in the manner of libgpiod's gpioset and gpiomon.
 *
 * Every argument is checked before the device is opened: a wrong command
 * line exits with status 2 whether or not the module is loaded. What the
 * device refuses exits with status 1 and a message saying why, in the
 * device's terms (the limit, the privilege, the policy). Builds with only
 * the uapi headers: -I include/uapi, and -DEVCORE_VERSION='"x.y.z"' from
 * the file VERSION (tools/Makefile passes it).
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mypollctl.h"

#ifndef EVCORE_VERSION
#error "build with -DEVCORE_VERSION='\"x.y.z\"' (tools/Makefile reads VERSION)"
#endif

#define DEFAULT_DEVICE	"/dev/mypoll"

const char * const policy_names[3] = {
	[EVCORE_POLICY_DROP_NEWEST] = "drop-newest",
	[EVCORE_POLICY_DROP_OLDEST] = "drop-oldest",
	[EVCORE_POLICY_BLOCK] = "block",
};

const char * const mode_names[2] = {
	[MYPOLL_TIMER_WORK] = "work",
	[MYPOLL_TIMER_HRTIMER] = "hrtimer",
};

const char *name_of(const char * const *names, size_t n, unsigned int v)
{
	return v < n && names[v] ? names[v] : "unknown";
}

int name_index(const char * const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] && !strcmp(names[i], s))
			return (int)i;
	return -1;
}

/* A decimal number, nothing else: no sign, no space, no suffix. */
static int parse_ull(const char *s, unsigned long long *val)
{
	unsigned long long v;
	char *end;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*val = v;
	return 0;
}

/*
 * A number from @min to @max, or a usage error naming @what; a @max of
 * UINT32_MAX or more is the type's limit, left to the device to narrow.
 */
int parse_range(const char *s, const char *what, unsigned long long min,
		unsigned long long max, unsigned long long *val)
{
	char range[64];

	if (max >= UINT32_MAX)
		snprintf(range, sizeof(range), "%llu or more", min);
	else
		snprintf(range, sizeof(range), "%llu to %llu", min, max);
	if (parse_ull(s, val))
		return usage_err("invalid %s '%s' (a number, %s)", what, s,
				 range);
	if (*val < min || *val > max)
		return usage_err("%s %s out of range: %s", what, s, range);
	return 0;
}

static void print_help(void)
{
	size_t i;
	char buf[64];

	printf("Usage: " PROGNAME " [OPTION]... COMMAND [ARG]...\n"
	       "Control /dev/mypoll and watch its events.\n\n"
	       "Commands:\n");
	for (i = 0; i < n_commands; i++) {
		snprintf(buf, sizeof(buf), "%s %s", commands[i].name,
			 commands[i].args);
		printf("  %-30s %s\n", buf, commands[i].help);
	}
	printf("\nOptions:\n"
	       "  -d, --device=PATH      the device (default " DEFAULT_DEVICE ")\n"
	       "  -j, --json             JSON output: one object per line\n"
	       "  -n, --count=N          watch, read: stop after N events\n"
	       "  -f, --filter=SOURCES   watch, read: only these sources, a comma-separated\n"
	       "                         list of timer, manual, write (or all, none)\n"
	       "  -w, --watermark=N      watch, read: wait for N events at a time\n"
	       "  -b, --banner           watch: say on stderr when watching has begun\n"
	       "  -l, --localtime        text output: timestamps as local wall-clock time\n"
	       "  -u, --utc              text output: timestamps as UTC wall-clock time\n"
	       "  -h, --help             show this help and exit\n"
	       "  -v, --version          show the version and exit\n\n"
	       "Policies: drop-newest, drop-oldest, block. Timer modes: work, hrtimer.\n"
	       "Exit status: 0 success, 1 the device or the system refused, 2 usage error.\n"
	       "See mypollctl(1).\n");
}

/* A comma-separated list of source names into filter bits. */
static int parse_filter(const char *s, __u64 *filter)
{
	char buf[128], *tok, *save;
	int id;

	if (strlen(s) >= sizeof(buf))
		return usage_err("invalid filter '%s'", s);
	strcpy(buf, s);
	*filter = 0;
	if (!strcmp(s, "all")) {
		*filter = MYPOLL_SOURCES_ALL;
		return 0;
	}
	if (!strcmp(s, "none"))
		return 0;
	for (tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		id = source_by_name(tok);
		if (id < 0) {
			usage_err("invalid source '%s' in filter '%s' (timer, manual, write; or all, none)",
				  tok, s);
			return EXIT_USAGE;
		}
		*filter |= 1ULL << id;
	}
	if (!*filter)
		return usage_err("invalid filter '%s'", s);
	return 0;
}

static const struct option long_opts[] = {
	{ "device", required_argument, NULL, 'd' },
	{ "json", no_argument, NULL, 'j' },
	{ "count", required_argument, NULL, 'n' },
	{ "filter", required_argument, NULL, 'f' },
	{ "watermark", required_argument, NULL, 'w' },
	{ "banner", no_argument, NULL, 'b' },
	{ "localtime", no_argument, NULL, 'l' },
	{ "utc", no_argument, NULL, 'u' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'v' },
	{ }
};

/* The options, wherever they are; the first word left is the command. */
static int parse_options(int argc, char **argv, struct ctl *ctl,
			 const char **follow_opt)
{
	unsigned long long v;
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":d:jn:f:w:bluhv", long_opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'd':
			ctl->device = optarg;
			break;
		case 'j':
			ctl->json = true;
			break;
		case 'n':
			if (parse_range(optarg, "count", 1, UINT32_MAX, &v))
				return EXIT_USAGE;
			ctl->count = v;
			*follow_opt = "--count";
			break;
		case 'f':
			if (parse_filter(optarg, &ctl->filter))
				return EXIT_USAGE;
			ctl->set_filter = true;
			*follow_opt = "--filter";
			break;
		case 'w':
			if (parse_range(optarg, "watermark", 1, UINT32_MAX, &v))
				return EXIT_USAGE;
			ctl->watermark = v;
			*follow_opt = "--watermark";
			break;
		case 'b':
			ctl->banner = true;
			break;
		case 'l':
			ctl->time = TS_LOCAL;
			break;
		case 'u':
			ctl->time = TS_UTC;
			break;
		case 'h':
			print_help();
			exit(0);
		case 'v':
			printf(PROGNAME " (evcore) " EVCORE_VERSION "\n");
			exit(0);
		case ':':
			return usage_err("option '%s' needs an argument",
					 argv[optind - 1]);
		default:
			return usage_err("unknown option '%s'", argv[optind - 1]);
		}
	}
	return 0;
}

static int open_device(const struct ctl *ctl, int oflags, int *fd)
{
	const char *dev = ctl->device;
	struct stat stbuf;

	*fd = open(dev, oflags | O_CLOEXEC);
	if (*fd >= 0 && !fstat(*fd, &stbuf) && S_ISCHR(stbuf.st_mode))
		return 0;
	if (*fd >= 0) {
		close(*fd);
		ctl_err("%s: not a mypoll device (not a character device)",
			dev);
		return EXIT_RUNTIME;
	}
	switch (errno) {
	case ENOENT:
		ctl_err("%s: no such device: is mypoll_misc loaded? (modprobe mypoll_misc)",
			dev);
		break;
	case ENXIO:
	case ENODEV:
		ctl_err("%s: no device behind this node: is mypoll_misc loaded?",
			dev);
		break;
	case EACCES:
	case EPERM:
		ctl_err("%s: permission denied: opening it for %s needs membership of the group that owns it ('mypoll' with the package's udev rule), or root",
			dev, (oflags & O_ACCMODE) == O_RDONLY ? "reading" :
								  "writing");
		break;
	default:
		ctl_err("%s: %s", dev, strerror(errno));
	}
	return EXIT_RUNTIME;
}

int ioctl_failed(const struct ctl *ctl, const char *what, int err)
{
	const char *dev = ctl->device;

	switch (err) {
	case ENOTTY:
		ctl_err("%s: %s: not a mypoll device (it does not know the ioctl)",
			dev, what);
		break;
	case ENODEV:
	case ENXIO:
		ctl_err("%s: %s: the device was removed (mypoll_misc unloaded?)",
			dev, what);
		break;
	case EBADF:
		ctl_err("%s: %s: needs the device open for writing", dev, what);
		break;
	case EPERM:
	case EACCES:
		ctl_err("%s: %s: not permitted: the limits of this device need CAP_SYS_ADMIN to exceed (%s)",
			dev, what, strerror(err));
		break;
	case EINVAL:
	case ERANGE:
		ctl_err("%s: %s: the device refused the value as out of its range (%s); see 'mypollctl info'",
			dev, what, strerror(err));
		break;
	case EBUSY:
		ctl_err("%s: %s: the device is busy (%s); try again when events were read",
			dev, what, strerror(err));
		break;
	default:
		ctl_err("%s: %s: %s", dev, what, strerror(err));
	}
	return EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
	struct job j = {
		.ctl.device = DEFAULT_DEVICE,
		.mode = -1,
		.policy = -1,
	};
	const struct command *cmd = NULL;
	const char *follow_opt = NULL;
	size_t i;
	int ret;

	ret = parse_options(argc, argv, &j.ctl, &follow_opt);
	if (ret)
		return ret;
	if (optind >= argc)
		return usage_err("missing COMMAND");
	for (i = 0; i < n_commands; i++)
		if (!strcmp(argv[optind], commands[i].name))
			cmd = &commands[i];
	if (!cmd)
		return usage_err("unknown command '%s'", argv[optind]);
	if (follow_opt && !(cmd->flags & CMD_FOLLOWS))
		return usage_err("%s: %s applies to watch and read only",
				 cmd->name, follow_opt);
	if (j.ctl.banner && !(cmd->flags & CMD_WATCH))
		return usage_err("%s: --banner applies to watch only",
				 cmd->name);
	j.name = cmd->name;
	j.argc = argc - optind - 1;
	j.argv = argv + optind + 1;
	j.oflags = cmd->oflags;
	if (j.argc > cmd->max_args)
		return usage_err("%s: too many arguments", cmd->name);
	ret = cmd->parse ? cmd->parse(&j) : 0;
	if (ret)
		return ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = open_device(&j.ctl, j.oflags, &j.fd);
	if (ret)
		return ret;
	ret = cmd->run(&j);
	close(j.fd);
	if (fflush(stdout) || ferror(stdout)) {
		ctl_err("standard output: %s", strerror(errno));
		return EXIT_RUNTIME;
	}
	return ret;
}
