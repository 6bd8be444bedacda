# SPDX-License-Identifier: MIT
# QEMU boot tests and the demo kernel (aarch64: QEMU virt), included by the
# top Makefile for ARCH=arm64 (= aarch64): the aarch64 half;
# tests/boot/common/common.mk has the rules and targets (make ARCH=arm64
# boot-test, boot-gdb, demo, boot-bench, boot-alone), make ARCH=arm64 check
# builds $(BOOT_BUILD) and runs $(BOOT_SUITES).
#
# The kernels link through linker/boot-aarch64.ld:
# CROSS_COMPILE=aarch64-linux-gnu- with gcc, or CC=clang (its
# --target=aarch64-none-elf from arch/aarch64/arch.mk) with
# BOOT_LDFLAGS_EXTRA=-fuse-ld=lld.

BOOT_DIR  := tests/boot/aarch64
BOOT_OUT  := $(O)/boot
BOOT_LDS  := linker/boot-aarch64.ld
BOOT_QEMU := $(BOOT_DIR)/run-qemu
BOOT_GDB  := gdb-multiarch
BOOT_LINK_CHECK :=

# The aarch64 half: entry and vectors, traps, MMU setup, device tree, PSCI
# and GIC SMP, console, and its own test cases (t_arch_*.c).
BOOT_A_KERNEL := head.S entry.S boot.c console.c lib.c trap.c mm.c smp.c pt.c fdt.c
BOOT_A_TESTS  := t_arch_copy.c t_arch_mmu.c t_arch_smp.c

include tests/boot/common/common.mk

# make check: tests/boot/aarch64/suites.mk (1 CPU at EL2 on a Cortex-A57, 4
# CPUs at EL1 on -cpu max, every case alone, the harness self-test).
include tests/boot/aarch64/suites.mk
BOOT_SUITES := $(call a64_boot_suites,$(BOOT_TESTKERNEL))
