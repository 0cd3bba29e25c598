// SPDX-License-Identifier: GPL-2.0
/*
 * Load a module with each slab allocation of the load failing in turn,
 * through fail-nth (Documentation/fault-injection/fault-injection.rst):
 *
 *   modload_failslab MODULE.ko [PARAMS]
 *
 * PARAMS are the module's parameters, as one string (for example
 * "instances=2 timer_start=1", so that failures hit the unwinding of
 * instances already registered).
 *
 * For N = 1, 2, ...: fail the Nth allocation of finit_module(), which runs
 * the module's init. A load that fails must fail with ENOMEM and leave no
 * module behind; one that succeeds anyway (the allocation had a fallback
 * or was optional, as debugfs files are) must unload again with
 * delete_module(). The loop ends at the first N the load does not reach:
 * the module stays loaded then. Any report the kernel makes on the way
 * (lockdep, KASAN, kmemleak, ...) is for `make check-debug` to find.
 *
 * Only the allocations failslab's filters let through count as N: with
 * require-start and require-end set to the module area (as `make
 * check-debug` does), those made while the module's own code is on the
 * stack. A load with none to fail is an error: it would test nothing.
 *
 * Needs root and a kernel with CONFIG_FAILSLAB, with
 * /sys/kernel/debug/failslab/ignore-gfp-wait set to N so that GFP_KERNEL
 * allocations can fail. Prints what misbehaved and a summary; the exit
 * status is 0 when every load behaved, 1 otherwise, 2 on a usage or setup
 * error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fail_nth.h"

#define NTH_MAX	4096

static int loaded(const char *name)
{
	char path[256];
	struct stat st;

	snprintf(path, sizeof(path), "/sys/module/%s", name);
	return stat(path, &st) == 0;
}

int main(int argc, char **argv)
{
	int ko, nth, n, ret, err, fired, bad = 0, failed = 0, survived = 0;
	const char *params = argc > 2 ? argv[2] : "";
	char name[256], *dot;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: %s MODULE.ko [PARAMS]\n", argv[0]);
		return 2;
	}
	snprintf(name, sizeof(name), "%s", basename(argv[1]));
	dot = strstr(name, ".ko");
	if (dot)
		*dot = '\0';
	ko = open(argv[1], O_RDONLY | O_CLOEXEC);
	nth = fail_nth_open();
	if (ko < 0 || nth < 0) {
		perror(ko < 0 ? argv[1] : FAIL_NTH);
		return 2;
	}
	if (loaded(name)) {
		fprintf(stderr, "%s: already loaded\n", name);
		return 2;
	}

	for (n = 1; n < NTH_MAX; n++) {
		if (fail_nth_arm(nth, n)) {
			perror("fail-nth");
			return 2;
		}
		ret = syscall(SYS_finit_module, ko, params, 0);
		err = errno;
		fired = fail_nth_fired(nth);
		if (fired < 0) {
			perror("fail-nth");
			return 2;
		}
		if (ret) {
			failed++;
			if (!fired || err != ENOMEM) {
				printf("allocation %d: load failed: %s%s\n", n,
				       strerror(err),
				       fired ? "" : " (no allocation failed)");
				bad++;
			}
			if (loaded(name)) {
				printf("allocation %d: failed load left %s behind\n",
				       n, name);
				return 1;
			}
			continue;
		}
		if (!fired)
			break;
		survived++;
		if (syscall(SYS_delete_module, name, O_NONBLOCK)) {
			printf("allocation %d: loaded anyway, then unload failed: %s\n",
			       n, strerror(errno));
			return 1;
		}
	}
	if (n == 1) {
		/* e.g. a stack filter that matches none of its code */
		printf("%s: no allocation of the load could be failed\n", name);
		return 1;
	}
	if (n == NTH_MAX) {
		printf("%s: still failing after %d allocations\n", name, n - 1);
		return 1;
	}
	printf("%s: %d allocations; %d failed it with ENOMEM, %d were survived, %d misbehaved\n",
	       name, n - 1, failed - bad, survived, bad);
	return bad ? 1 : 0;
}
