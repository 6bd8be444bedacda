# SPDX-License-Identifier: MIT
# QEMU boot tests and the demo kernel (x86_64), included by the top Makefile:
# the x86_64 half; tests/boot/common/common.mk has the rules and targets
# (make boot-test, boot-gdb, demo, boot-bench, boot-alone), make check
# builds $(BOOT_BUILD) and runs $(BOOT_SUITES) (tests/run-suites).
#
# The kernels link through linker/boot-x86_64.ld; CC=clang works too (with
# the system ld; BOOT_LDFLAGS_EXTRA=-fuse-ld=lld for lld).

BOOT_DIR  := tests/boot/x86_64
BOOT_OUT  := $(O)/boot
BOOT_LDS  := linker/boot-x86_64.ld
BOOT_QEMU := $(BOOT_DIR)/run-qemu
BOOT_GDB  := gdb
# Check that the file layout is what the multiboot loader needs.
BOOT_LINK_CHECK := $(BOOT_DIR)/check-layout

# The x86_64 half: entry, traps, MMU setup, SMP bring-up and IPIs, console,
# and its own test cases (t_arch_*.c).
BOOT_A_KERNEL := head.S entry.S trampoline.S boot.c console.c lib.c trap.c mm.c smp.c pt.c
BOOT_A_TESTS  := t_arch_smp.c

include tests/boot/common/common.mk

# make check: the boot suite on 1 CPU and on 4 (tcg,thread=multi), every
# case alone on 1 and on 4 CPUs, then the harness self-test. Every QEMU run
# is under a timeout (run-qemu).
BOOT_SUITES := "$(BOOT_QEMU) --smp 1 $(BOOT_TESTKERNEL)" \
               "$(BOOT_QEMU) --smp 4 $(BOOT_TESTKERNEL)" \
               "$(BOOT_ALONE)" \
               "$(BOOT_DIR)/harness-selftest $(BOOT_TESTKERNEL)"
