/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What <linux/evcore.h> needs to look the same on every kernel it builds
 * against (6.1 to 7.2): the form of the symbol namespace. Shims for other
 * kernel APIs are not pushed on evcore's users: evcore's own modules
 * include <linux/evcore_kcompat.h> for them. Nothing tests the kernel
 * version: code is written against the newest API, and what an older
 * kernel lacks is found by testing for the feature.
 */
#ifndef _LINUX_EVCORE_COMPAT_H
#define _LINUX_EVCORE_COMPAT_H

/*
 * What an older kernel lacks is marked by the EVCORE_COMPAT_* macros of
 * generated/evcore_compat.h, which evcore's Kbuild writes per kernel
 * (scripts/compat-header tests that kernel's headers) and announces with
 * -DEVCORE_COMPAT_GENERATED. A kernel tree with evcore in it
 * (CONFIG_EVCORE set) has the newest API. A driver built outside both
 * gets no EVCORE_COMPAT_* flag and needs none: it imports the namespace
 * with MODULE_IMPORT_NS_EVCORE(), the same on every kernel.
 */
#ifdef EVCORE_COMPAT_GENERATED
#include "generated/evcore_compat.h"
#endif

#if defined(EVCORE_COMPAT_GENERATED) || defined(CONFIG_EVCORE) || \
	defined(CONFIG_EVCORE_MODULE)
#define EVCORE_COMPAT_KNOWN 1
#endif

#ifdef EVCORE_COMPAT_NS_IDENTIFIER
/* Symbol namespaces are bare identifiers up to 6.12. */
#define EVCORE_NS EVCORE
#elif defined(EVCORE_COMPAT_KNOWN)
/* For evcore's EXPORT_SYMBOL_NS_GPL(sym, EVCORE_NS). */
#define EVCORE_NS "EVCORE"
#endif

/**
 * MODULE_IMPORT_NS_EVCORE() - import evcore's symbol namespace
 *
 * MODULE_IMPORT_NS() records "import_ns=<namespace>" in .modinfo, where
 * modpost and the module loader look for it; up to 6.12 it takes the
 * namespace as an identifier, from 6.13 as a string. This records the
 * same entry on every kernel, so that a driver needs to know neither the
 * kernel's form nor evcore's build: use it where MODULE_IMPORT_NS() would
 * go, with <linux/module.h> included.
 */
#define MODULE_IMPORT_NS_EVCORE()	MODULE_INFO(import_ns, "EVCORE")

#endif /* _LINUX_EVCORE_COMPAT_H */
