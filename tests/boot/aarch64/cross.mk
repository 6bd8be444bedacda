# SPDX-License-Identifier: MIT
# The aarch64 boot suites in another arch's make check (on an x86_64 host),
# included by the top Makefile when ARCH is not aarch64: the aarch64 test
# kernel and its libvtlmem.a are cross-built in $(O)/arm64 (the GNU cross
# toolchain, A64_CROSS_COMPILE) by a sub-make with ARCH=arm64, and the same
# suites as ARCH=arm64's make check run under qemu-system-aarch64.

A64_O                ?= $(O)/arm64
A64_CROSS_COMPILE    ?= aarch64-linux-gnu-
A64_TESTKERNEL       := $(A64_O)/boot/testkernel.elf

include tests/boot/aarch64/suites.mk

ARCH_DEBS += qemu-system-arm gcc-aarch64-linux-gnu

.PHONY: boot-arm64-build
boot-arm64-build:
	$(Q)$(MAKE) --no-print-directory ARCH=arm64 CROSS_COMPILE=$(A64_CROSS_COMPILE) \
	  CC=$(A64_CROSS_COMPILE)gcc AR=$(A64_CROSS_COMPILE)ar O=$(A64_O) $(A64_TESTKERNEL)

BOOT_BUILD  += boot-arm64-build
BOOT_SUITES += $(call a64_boot_suites,$(A64_TESTKERNEL))
