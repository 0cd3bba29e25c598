/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What <linux/evcore.h> needs to look the same on every kernel it builds
 * against (6.1 to 7.2): the form of the symbol namespace. Shims for other
 * kernel APIs are not pushed on evcore's users: a driver that wants them
 * includes <linux/evcore_kcompat.h>. Nothing tests the kernel version: code
 * is written against the newest API, and what an older kernel lacks is
 * found by testing for the feature.
 */
#ifndef _LINUX_EVCORE_COMPAT_H
#define _LINUX_EVCORE_COMPAT_H

/*
 * What an older kernel lacks is marked by the EVCORE_COMPAT_* macros of
 * generated/evcore_compat.h, which scripts/compat-header writes per kernel
 * at build time by testing that kernel's headers. evcore's Kbuild writes it
 * into include/ of its build directory, so a module built with -I to that
 * include/ finds it too. A kernel tree with evcore in it has the newest
 * API and needs no such header; outside one, a build without it would get
 * the wrong API for an older kernel, so it fails here instead.
 */
#ifdef __has_include
#if __has_include("generated/evcore_compat.h")
#include "generated/evcore_compat.h"
#elif !defined(CONFIG_EVCORE) && !defined(CONFIG_EVCORE_MODULE)
#error "no generated/evcore_compat.h: add -I<evcore build for this kernel>/include"
#endif
#else
/* sparse 0.6.4 lacks __has_include; evcore's Kbuild wrote the header. */
#include "generated/evcore_compat.h"
#endif

#ifdef EVCORE_COMPAT_NS_IDENTIFIER
/* Symbol namespaces are bare identifiers up to 6.12. */
#define EVCORE_NS EVCORE
#else
/* Use in EXPORT_SYMBOL_NS_GPL(sym, EVCORE_NS) and MODULE_IMPORT_NS(). */
#define EVCORE_NS "EVCORE"
#endif

#endif /* _LINUX_EVCORE_COMPAT_H */
