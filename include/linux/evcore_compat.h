/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place where evcore and its users hide differences between the
 * kernel versions they build against. Nothing else tests the version.
 */
#ifndef _LINUX_EVCORE_COMPAT_H
#define _LINUX_EVCORE_COMPAT_H

#include <linux/version.h>

/*
 * Symbol namespaces are bare identifiers up to 6.12 and strings from 6.13
 * on; EVCORE_NS is right for the kernel being built against.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 13, 0)
#define EVCORE_NS "EVCORE"
#else
#define EVCORE_NS EVCORE
#endif

#endif /* _LINUX_EVCORE_COMPAT_H */
