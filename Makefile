# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of evcore and mypoll_misc (Documentation/kbuild/modules.rst)
# and the project's build, lint and test entry points. `make` builds both
# modules (and the test modules present) against KDIR in one kbuild pass.
# `make help` lists the targets.

KVER_RUNNING	:= $(shell uname -r)
KVER_DEBIAN	:= $(shell ls -1 /usr/src 2>/dev/null | sed -n 's/^linux-headers-\(.*-amd64\)$$/\1/p' | sort -V | tail -n 1)
# Decided anew by each make, not inherited empty from one that ran before
# `make deps` installed the headers (as `make check` does).
ifeq ($(strip $(KDIR)),)
ifneq ($(wildcard /lib/modules/$(KVER_RUNNING)/build/Makefile),)
KDIR		:= /lib/modules/$(KVER_RUNNING)/build
else ifneq ($(KVER_DEBIAN),)
KDIR		:= /usr/src/linux-headers-$(KVER_DEBIAN)
endif
endif
ifneq ($(strip $(KDIR)),)
export KDIR
endif
NEED_KDIR	= @test -n "$(KDIR)" || { echo "make: no kernel headers found for $(KVER_RUNNING): install linux-headers-$(KVER_RUNNING) (make deps does), or set KDIR to a configured kernel tree" >&2; exit 1; }; \
		  test -f "$(KDIR)/Makefile" || { echo "make: KDIR=$(KDIR) is not a kernel build tree (it has no Makefile): install the headers of the kernel to build for, or set KDIR to a configured kernel tree" >&2; exit 1; }

# The release the modules are built for, as their vermagic names it.
KVER		= $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)

EVCORE_ROOT	:= $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export EVCORE_ROOT

CONFIG_EVCORE		?= m
CONFIG_EVCORE_SELFTEST	?= m
CONFIG_EVCORE_TORTURE	?= m
CONFIG_MYPOLL_MISC	?= m
CONFIG_EVCORE_INPUT	?= m
# Lock-hold accounting, for the self-tests: on when they are built.
CONFIG_EVCORE_DEBUG	?= $(if $(CONFIG_EVCORE_SELFTEST),y)
export CONFIG_EVCORE CONFIG_EVCORE_SELFTEST CONFIG_EVCORE_TORTURE \
	CONFIG_MYPOLL_MISC CONFIG_EVCORE_INPUT CONFIG_EVCORE_DEBUG

KBUILD_ARGS	:= -C $(KDIR) M=$(EVCORE_ROOT)
# What `make install` builds and installs: the two modules users load.
INSTALL_ARGS	:= CONFIG_EVCORE_SELFTEST= CONFIG_EVCORE_TORTURE= \
		   CONFIG_EVCORE_BENCH=
# Where kbuild installs external modules, below lib/modules/KVER.
INSTALL_MOD_DIR	?= extra
export INSTALL_MOD_DIR
MODDIR		= $(INSTALL_MOD_PATH)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR)
# depmod runs for the live root only: a staging root (INSTALL_MOD_PATH)
# holds a few modules, not the tree depmod would index.
LIVE_ROOT	= $(if $(INSTALL_MOD_PATH),,y)
DEPMOD_LIVE	= $(if $(LIVE_ROOT),depmod -a $(KVER),@echo "make: INSTALL_MOD_PATH is a staging root: depmod $(KVER) is left to whoever installs it")

# Signing (README, "Secure Boot"): only with a key given, MODSIGN_KEY and
# MODSIGN_CERT (as DKMS's mok.key and mok.pub); kbuild's own attempt, with
# the distribution's key that headers never carry, is turned off.
MODSIGN_HASH	?= sha256
SIGN_FILE	= $(KDIR)/scripts/sign-file
SIGN_MODULES	= $(if $(MODSIGN_KEY),for m in $(1); do \
		  $(SIGN_FILE) $(MODSIGN_HASH) $(MODSIGN_KEY) $(MODSIGN_CERT) \
		  $(MODDIR)/$$m.ko || exit 1; done,@:)
MODINST_ARGS	:= DEPMOD=true CONFIG_MODULE_SIG_ALL=

# tools-install and headers_install: DESTDIR is a staging root.
PREFIX		?= /usr/local
INCLUDEDIR	?= /usr/include

# What other drivers build against (install-dev): evcore's kernel headers,
# the same for every kernel, in EVCORE_DEV/include, and the symbols of the
# evcore.ko built for each kernel in EVCORE_DEV/symvers/KVER/Module.symvers
# (Documentation/driver-api/evcore.rst, "Using evcore from your driver").
# The staging root is DESTDIR, else INSTALL_MOD_PATH, so that
# `make install INSTALL_MOD_PATH=...` stages all it installs.
EVCORE_VERSION	:= $(shell cat $(EVCORE_ROOT)/VERSION)
EVCORE_DEV	= $(or $(DESTDIR),$(INSTALL_MOD_PATH))/usr/src/evcore-$(EVCORE_VERSION)
DEV_HEADERS	:= linux/evcore.h linux/evcore_compat.h uapi/linux/evcore.h
DEV_SYMVERS	= $(EVCORE_DEV)/symvers/$(KVER)/Module.symvers
# samples: the sample driver against this tree's build, installed here.
SAMPLES_STAGE	:= $(EVCORE_ROOT)/build/samples/stage
TOOLS_ARGS	= -C $(EVCORE_ROOT)/tools PREFIX=$(PREFIX) \
		  $(if $(DESTDIR),DESTDIR=$(DESTDIR))

.PHONY: all modules selftests tools deps lint check demo bench check-build \
	check-debug torture-mutants install install-tests install-dev samples \
	uninstall headers_install tools-install tools-uninstall htmldocs deb \
	check-package clean help

all: modules

modules:
	$(NEED_KDIR)
	$(MAKE) $(KBUILD_ARGS) modules

selftests:
	$(MAKE) -C $(EVCORE_ROOT)/selftests/mypoll

tools:
	$(MAKE) $(TOOLS_ARGS)

deps:
	$(EVCORE_ROOT)/scripts/deps

lint:
	$(EVCORE_ROOT)/scripts/lint

check:
	$(EVCORE_ROOT)/scripts/check

demo:
	$(EVCORE_ROOT)/scripts/demo

# BENCH_ARGS: scripts/bench's options, e.g. BENCH_ARGS="--clocksource tsc".
bench:
	$(EVCORE_ROOT)/scripts/bench $(BENCH_ARGS)

check-build:
	$(EVCORE_ROOT)/scripts/check-build

htmldocs:
	$(EVCORE_ROOT)/scripts/htmldocs

# LANES=kasan or LANES=rt runs one of the two debug kernels.
check-debug:
	$(EVCORE_ROOT)/scripts/check-debug $(foreach l,$(LANES),--lane $(l))

torture-mutants: modules
	$(EVCORE_ROOT)/scripts/torture-mutants

# evcore.ko, mypoll_misc.ko and evcore_input.ko, built without the test
# modules, into
# lib/modules/KVER/$(INSTALL_MOD_DIR) (INSTALL_MOD_PATH: a staging root).
# kbuild's own depmod is turned off; ours runs for the live root only.
install:
	$(NEED_KDIR)
	$(MAKE) $(KBUILD_ARGS) $(INSTALL_ARGS) modules
	$(MAKE) $(KBUILD_ARGS) $(INSTALL_ARGS) $(MODINST_ARGS) modules_install
	$(call SIGN_MODULES,evcore/evcore mypoll_misc/mypoll_misc \
		evcore_input/evcore_input)
	$(DEPMOD_LIVE)
	$(MAKE) -f $(EVCORE_ROOT)/Makefile install-dev

# The test modules too (evcore_selftest, evcore_torture), for guest-check
# on an installed system.
install-tests:
	$(NEED_KDIR)
	$(MAKE) $(KBUILD_ARGS) modules
	$(MAKE) $(KBUILD_ARGS) $(MODINST_ARGS) modules_install
	$(call SIGN_MODULES,evcore/evcore mypoll_misc/mypoll_misc \
		evcore_input/evcore_input evcore/tests/evcore_selftest evcore/tests/evcore_torture)
	$(DEPMOD_LIVE)
	$(MAKE) -f $(EVCORE_ROOT)/Makefile install-dev

# The headers and the symbols of the evcore.ko built here for KDIR, so that
# a driver built against them loads with that evcore.ko (CRCs included):
# install runs this after its own build. Only evcore's exports, named after
# the module as installed rather than after this build directory.
install-dev:
	$(NEED_KDIR)
	@awk -F '\t' '$$3 ~ /(^|\/)evcore\/evcore$$/ { n++ } END { exit !n }' \
		$(EVCORE_ROOT)/Module.symvers 2>/dev/null || { \
		echo "make: no evcore symbols in $(EVCORE_ROOT)/Module.symvers: build for $(KDIR) first (make or make install)" >&2; \
		exit 1; }
	@v=$$(modinfo -F vermagic $(EVCORE_ROOT)/evcore/evcore.ko | cut -d ' ' -f 1); \
	test "$$v" = "$(KVER)" || { \
		echo "make: evcore/evcore.ko is built for $${v:-no kernel}, not $(KVER) ($(KDIR)): build for it first" >&2; \
		exit 1; }
	install -d $(EVCORE_DEV)/include/linux $(EVCORE_DEV)/include/uapi/linux \
		$(dir $(DEV_SYMVERS))
	$(foreach h,$(DEV_HEADERS),install -m 0644 \
		$(EVCORE_ROOT)/include/$(h) $(EVCORE_DEV)/include/$(h) &&) :
	awk -F '\t' -v OFS='\t' '$$3 ~ /(^|\/)evcore\/evcore$$/ { \
		$$3 = "evcore/evcore"; print }' $(EVCORE_ROOT)/Module.symvers \
		> $(DEV_SYMVERS).tmp
	mv $(DEV_SYMVERS).tmp $(DEV_SYMVERS)
	chmod 0644 $(DEV_SYMVERS)

# samples/evcore built as a driver outside this project would be: against
# this tree's build (make or make modules first) installed with install-dev
# into build/samples/stage, and nothing else of it.
samples:
	$(NEED_KDIR)
	rm -rf $(SAMPLES_STAGE)
	$(MAKE) -f $(EVCORE_ROOT)/Makefile install-dev DESTDIR=$(SAMPLES_STAGE)
	$(MAKE) -C $(EVCORE_ROOT)/samples/evcore KDIR=$(KDIR) \
		EVCORE_DIR=$(SAMPLES_STAGE)/usr/src/evcore-$(EVCORE_VERSION)

uninstall:
	$(NEED_KDIR)
	rm -f $(MODDIR)/evcore/evcore.ko* $(MODDIR)/mypoll_misc/mypoll_misc.ko* \
		$(MODDIR)/evcore_input/evcore_input.ko* \
		$(MODDIR)/evcore/tests/evcore_*.ko* $(MODDIR)/bench/evcore_bench.ko*
	-rmdir $(MODDIR)/evcore/tests $(MODDIR)/evcore $(MODDIR)/mypoll_misc \
		$(MODDIR)/evcore_input \
		$(MODDIR)/bench 2>/dev/null
	$(DEPMOD_LIVE)
	rm -f $(DEV_SYMVERS)
	-rmdir $(dir $(DEV_SYMVERS)) $(EVCORE_DEV)/symvers 2>/dev/null
	@# The headers serve every kernel: they go with the last symbols.
	if [ ! -d $(EVCORE_DEV)/symvers ]; then \
		rm -f $(addprefix $(EVCORE_DEV)/include/,$(DEV_HEADERS)); \
		for d in include/uapi/linux include/uapi include/linux include; \
		do rmdir $(EVCORE_DEV)/$$d 2>/dev/null || :; done; \
		rmdir $(EVCORE_DEV) 2>/dev/null || :; \
	fi

# The uapi headers, for userspace programs using the ioctls and records.
headers_install:
	install -d $(DESTDIR)$(INCLUDEDIR)/linux
	install -m 0644 $(EVCORE_ROOT)/include/uapi/linux/evcore.h \
		$(EVCORE_ROOT)/include/uapi/linux/mypoll.h \
		$(EVCORE_ROOT)/include/uapi/linux/evcore_input.h \
		$(DESTDIR)$(INCLUDEDIR)/linux/

tools-install:
	$(MAKE) $(TOOLS_ARGS) install

tools-uninstall:
	$(MAKE) $(TOOLS_ARGS) uninstall

# evcore-dkms and mypoll-utils, by dpkg-buildpackage in a scratch copy of
# the tree; the .debs land in build/deb/.
deb:
	$(EVCORE_ROOT)/scripts/deb

check-package:
	$(EVCORE_ROOT)/scripts/check-package

# Works with no kernel headers at all: kbuild cleans when KDIR is a kernel
# tree; what it would remove is removed by name otherwise.
clean:
	if [ -f "$(KDIR)/Makefile" ]; then \
		$(MAKE) $(KBUILD_ARGS) clean; \
	else \
		find $(wildcard $(EVCORE_ROOT)/evcore $(EVCORE_ROOT)/mypoll_misc \
			$(EVCORE_ROOT)/evcore_input \
			$(EVCORE_ROOT)/bench) \( -name '*.o' -o -name '*.ko' \
			-o -name '*.mod' -o -name '*.mod.c' -o -name '.*.cmd' \
			-o -name '*.a' -o -name 'modules.order' \) -delete; \
		rm -rf $(EVCORE_ROOT)/include/generated $(EVCORE_ROOT)/.tmp_versions; \
		rm -f $(EVCORE_ROOT)/Module.symvers $(EVCORE_ROOT)/modules.order \
			$(EVCORE_ROOT)/.*.cmd; \
	fi
	if [ -d $(EVCORE_ROOT)/selftests/mypoll ]; then \
		$(MAKE) -C $(EVCORE_ROOT)/selftests/mypoll clean; fi
	if [ -d $(EVCORE_ROOT)/samples ]; then \
		find $(EVCORE_ROOT)/samples \( -name '*.o' -o -name '*.ko' \
		-o -name '*.mod' -o -name '*.mod.c' -o -name '.*.cmd' \
		-o -name 'modules.order' -o -name 'Module.symvers' \) -delete; fi
	rm -f $(EVCORE_ROOT)/samples/evcore/evcore_sample_test
	if [ -f $(EVCORE_ROOT)/tools/Makefile ]; then $(MAKE) -C $(EVCORE_ROOT)/tools clean; fi
	rm -rf $(EVCORE_ROOT)/build/check $(EVCORE_ROOT)/build/demo \
		$(EVCORE_ROOT)/build/vm $(EVCORE_ROOT)/build/torture-mutants \
		$(EVCORE_ROOT)/build/samples $(EVCORE_ROOT)/build/htmldocs \
		$(EVCORE_ROOT)/build/deb $(EVCORE_ROOT)/build/check-package

# One target per line: "name<TAB>what it does". Printed with printf, so
# no quoting can end early.
define HELP_TEXT
modules	build evcore.ko, mypoll_misc.ko, evcore_input.ko and the test modules (default)
selftests	build the kselftests in selftests/mypoll
tools	build tools/mypollctl and tools/mypoll_demo
deps	install missing Debian packages (root), extract kernel tools
lint	checkpatch, sparse (C=2), W=1, kernel-doc, shellcheck, size, htmldocs, as TAP
htmldocs	the HTML documentation in build/htmldocs/html: Sphinx with the 7.2 tree's kernel-doc and ABI extensions; fails on any warning
check	deps, build, lint, then the tests in one VM boot, as TAP
demo	boot a VM and show events arriving from every source
bench	mypoll against eventfd, pipe, timerfd, evdev in a VM under HPET and TSC, as TAP (BENCH_ARGS: scripts/bench --help)
check-build	build against every supported kernel with W=1, the sample driver against each, the kselftests in 6.1 and 7.2 trees, kunit.py (UML)
check-debug	the tests on two debug kernels: KASAN, and PREEMPT_RT + KCSAN (LANES=kasan or LANES=rt for one)
torture-mutants	show that the torture case catches each bug in evcore/tests/mutants/, put back in a scratch copy
install	build and install evcore.ko, mypoll_misc.ko and evcore_input.ko, then install-dev; depmod for the live root only (INSTALL_MOD_PATH: a staging root; MODSIGN_KEY, MODSIGN_CERT: sign them)
install-tests	install the test modules as well, then install-dev
install-dev	for other drivers: the headers and this build's symbols into $$(DESTDIR)/usr/src/evcore-VERSION (DESTDIR, else INSTALL_MOD_PATH)
samples	build samples/evcore against this build installed with install-dev into build/samples/stage
uninstall	remove what install, install-tests and install-dev installed
headers_install	the uapi headers into $$(DESTDIR)$$(INCLUDEDIR)/linux (INCLUDEDIR: /usr/include)
tools-install	mypollctl, its man page and completion, the udev rule and sysusers file (DESTDIR, PREFIX: /usr/local)
tools-uninstall	remove what tools-install installed
deb	build the Debian packages evcore-dkms and mypoll-utils in a scratch copy (dpkg-buildpackage), into build/deb/
check-package	build the packages, lintian, DKMS build into a private tree, load and use them in a VM, as TAP
clean	remove build products (not build/ksrc); works without kernel headers
help	this list
endef
export HELP_TEXT

help:
	@printf 'Targets (KDIR=%s):\n' '$(KDIR)'
	@printf '%s\n' "$$HELP_TEXT" | awk -F '\t' '{ printf "  %-16s %s\n", $$1, $$2 }'
