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
NEED_KDIR	= @test -n "$(KDIR)" || { echo "no kernel headers found: run make deps, or set KDIR" >&2; exit 1; }

# The release the modules are built for, as their vermagic names it.
KVER		= $(shell sed -n 's/^\#define UTS_RELEASE "\(.*\)"$$/\1/p' $(KDIR)/include/generated/utsrelease.h 2>/dev/null)

EVCORE_ROOT	:= $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export EVCORE_ROOT

CONFIG_EVCORE		?= m
CONFIG_EVCORE_SELFTEST	?= m
CONFIG_EVCORE_TORTURE	?= m
CONFIG_MYPOLL_MISC	?= m
# Lock-hold accounting, for the self-tests: on when they are built.
CONFIG_EVCORE_DEBUG	?= $(if $(CONFIG_EVCORE_SELFTEST),y)
export CONFIG_EVCORE CONFIG_EVCORE_SELFTEST CONFIG_EVCORE_TORTURE \
	CONFIG_MYPOLL_MISC CONFIG_EVCORE_DEBUG

KBUILD_ARGS	:= -C $(KDIR) M=$(EVCORE_ROOT)

.PHONY: all modules selftests deps lint check demo bench check-build \
	check-debug torture-mutants install clean help

all: modules

modules:
	$(NEED_KDIR)
	$(MAKE) $(KBUILD_ARGS) modules

selftests:
	$(MAKE) -C $(EVCORE_ROOT)/selftests/mypoll

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

# LANES=kasan or LANES=rt runs one of the two debug kernels.
check-debug:
	$(EVCORE_ROOT)/scripts/check-debug $(foreach l,$(LANES),--lane $(l))

torture-mutants: modules
	$(EVCORE_ROOT)/scripts/torture-mutants

# INSTALL_MOD_PATH (a staging root) is honoured by kbuild and by depmod.
install: modules
	$(MAKE) $(KBUILD_ARGS) modules_install
	depmod -a $(if $(INSTALL_MOD_PATH),-b $(INSTALL_MOD_PATH)) $(KVER)

clean:
	$(NEED_KDIR)
	$(MAKE) $(KBUILD_ARGS) clean
	$(MAKE) -C $(EVCORE_ROOT)/selftests/mypoll clean
	rm -rf $(EVCORE_ROOT)/build/check $(EVCORE_ROOT)/build/demo \
		$(EVCORE_ROOT)/build/vm $(EVCORE_ROOT)/build/torture-mutants

help:
	@echo 'Targets (KDIR=$(KDIR)):'
	@echo '  modules      build evcore.ko, mypoll_misc.ko and the test modules (default)'
	@echo '  selftests    build the kselftests in selftests/mypoll'
	@echo '  deps         install missing Debian packages (root), extract kernel tools'
	@echo '  lint         checkpatch, sparse (C=2), W=1, kernel-doc, shellcheck, size, as TAP'
	@echo '  check        deps, build, lint, then the tests in one VM boot, as TAP'
	@echo '  demo         boot a VM and show events arriving from every source'
	@echo "  bench        mypoll against eventfd, pipe, timerfd, evdev, in a VM under"
	@echo '               HPET and TSC, as TAP (BENCH_ARGS: scripts/bench --help)'
	@echo '  check-build  build against every supported kernel with W=1'
	@echo '  check-debug  the tests on two debug kernels: KASAN, and PREEMPT_RT + KCSAN'
	@echo '               (LANES=kasan or LANES=rt for one)'
	@echo '  torture-mutants  show that the torture case catches the bugs in'
	@echo '               evcore/tests/mutants/, each put back in a scratch copy'
	@echo '  install      modules_install and depmod (INSTALL_MOD_PATH honoured)'
	@echo '  clean        remove build products (not build/ksrc)'
