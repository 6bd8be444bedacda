# SPDX-License-Identifier: MIT
# The aarch64 host suites in another arch's make check (on an x86_64 host),
# included by the top Makefile when ARCH is not aarch64: every cmocka suite
# of tests/unit/ is cross-built for aarch64 Linux (GNU cross toolchain and
# Debian's multiarch arm64 cmocka) in $(O)/arm64 by a sub-make with
# ARCH=arm64, and run under qemu-aarch64 (user mode), so the real arm64
# copy routines and their fixups run against real SIGSEGVs, and the tables
# are checked by the independent aarch64 decoder
# (tests/unit/common/arch/aarch64/hostmmu_arch.h). Plus check-lib for the
# arm64 library with both compilers.
#
# Plain flavour only: under qemu-user (without binfmt_misc), ASan and TSan
# cannot run the suites. TSan re-executes itself at startup and ASan does so
# on the deadly-signal path the fault tests provoke on purpose; an execve of
# an aarch64 binary from inside qemu-user fails (ENOEXEC). The x86_64 check
# runs every suite under both sanitizers.

A64_O             ?= $(O)/arm64
A64_CROSS_COMPILE ?= aarch64-linux-gnu-
A64_QEMU          := qemu-aarch64
A64_UNIT_BINS     := $(addprefix $(A64_O)/host/bin/,$(UNIT_NAMES))

ARCH_DEBS += gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libcmocka-dev:arm64

.PHONY: unit-arm64-build
unit-arm64-build:
	$(Q)$(MAKE) --no-print-directory ARCH=arm64 CROSS_COMPILE=$(A64_CROSS_COMPILE) \
	  CC=$(A64_CROSS_COMPILE)gcc AR=$(A64_CROSS_COMPILE)ar O=$(A64_O) $(A64_UNIT_BINS)

CROSS_BUILD  += unit-arm64-build
CROSS_SUITES += $(foreach b,$(A64_UNIT_BINS),"$(A64_QEMU) $(b)") \
                "ARCH=aarch64 tests/build/check-lib $(A64_CROSS_COMPILE)gcc $(O)/check-lib-arm64-gcc" \
                "ARCH=aarch64 tests/build/check-lib clang $(O)/check-lib-arm64-clang"
# ... and the simulated-SMP reruns (SMP_NAMES, SMP_SEED: see the Makefile).
CROSS_SUITES += $(foreach n,$(SMP_NAMES),"VTLMEM_TEST_SMP=$(SMP_SEED) $(A64_QEMU) $(A64_O)/host/bin/$(n)")
