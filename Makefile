# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree build of evcore and mypoll_misc (Documentation/kbuild/modules.rst).
# `make` builds both modules against KDIR in one kbuild pass.

KVER_RUNNING	:= $(shell uname -r)
KVER_DEBIAN	:= $(shell ls -1 /usr/src 2>/dev/null | sed -n 's/^linux-headers-\(.*-amd64\)$$/\1/p' | sort -V | tail -n 1)
ifneq ($(wildcard /lib/modules/$(KVER_RUNNING)/build/Makefile),)
KDIR		?= /lib/modules/$(KVER_RUNNING)/build
else
KDIR		?= /usr/src/linux-headers-$(KVER_DEBIAN)
endif

EVCORE_ROOT	:= $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
export EVCORE_ROOT

CONFIG_EVCORE		?= m
CONFIG_EVCORE_SELFTEST	?= m
CONFIG_MYPOLL_MISC	?= m
export CONFIG_EVCORE CONFIG_EVCORE_SELFTEST CONFIG_MYPOLL_MISC

KBUILD_ARGS	:= -C $(KDIR) M=$(EVCORE_ROOT)

.PHONY: all modules clean
all: modules

modules:
	$(MAKE) $(KBUILD_ARGS) modules

clean:
	$(MAKE) $(KBUILD_ARGS) clean
