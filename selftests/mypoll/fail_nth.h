/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Failing the Nth slab allocation of a system call through
 * /proc/thread-self/fail-nth (CONFIG_FAULT_INJECTION; see
 * Documentation/fault-injection/fault-injection.rst). Open the file once,
 * arm it right before the call, and ask right after whether the failure
 * was injected: between the two the thread must make no other call that
 * allocates.
 */
#ifndef FAIL_NTH_H
#define FAIL_NTH_H

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define FAIL_NTH	"/proc/thread-self/fail-nth"

static inline int fail_nth_open(void)
{
	return open(FAIL_NTH, O_RDWR | O_CLOEXEC);
}

/* Fail the @n-th allocation from now on; 0 disarms. Returns 0 or -1. */
static inline int fail_nth_arm(int fd, unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	return pwrite(fd, buf, len, 0) == len ? 0 : -1;
}

/*
 * Whether the failure armed before the last call was injected (fail-nth
 * reads 0 once it was), then disarm. Returns 1, 0, or -1 on an error.
 */
static inline int fail_nth_fired(int fd)
{
	char buf[16] = "";
	ssize_t len = pread(fd, buf, sizeof(buf) - 1, 0);
	int fired = len > 0 ? strtoul(buf, NULL, 10) == 0 : -1;

	if (fail_nth_arm(fd, 0))
		return -1;
	return fired;
}

#endif /* FAIL_NTH_H */
