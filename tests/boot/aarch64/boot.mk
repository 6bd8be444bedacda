# SPDX-License-Identifier: MIT
# QEMU boot tests and the demo kernel (aarch64: QEMU virt), included by the
# top Makefile for ARCH=arm64 (= aarch64).
#
#   make ARCH=arm64 check       builds $(BOOT_BUILD), runs $(BOOT_SUITES)
#   make ARCH=arm64 demo        boots the demo secure kernel (4 CPUs)
#   make ARCH=arm64 boot-test   the test kernel only (BOOT_ONLY=<prefix>, BOOT_SMP=<n>)
#   make ARCH=arm64 boot-gdb    prints how to debug the test kernel with gdb
#   make ARCH=arm64 boot-bench  the test kernel's bench mode on 4 CPUs
#   make ARCH=arm64 boot-alone  every boot test alone, on 1 and 4 CPUs (in make check)
#
# Both kernels link the same $(LIB) as any secure kernel would, with the
# library's linker fragment (linker/vtlmem-extable.ld) INCLUDEd by
# linker/boot-aarch64.ld. The compiler driver links (-nostdlib -static -T):
# CROSS_COMPILE=aarch64-linux-gnu- with gcc, or CC=clang (its
# --target=aarch64-none-elf from arch/aarch64/arch.mk) with
# BOOT_LDFLAGS_EXTRA=-fuse-ld=lld.

BOOT_DIR  := tests/boot/aarch64
BOOT_OUT  := $(O)/boot
BOOT_LDS  := linker/boot-aarch64.ld
BOOT_QEMU := $(BOOT_DIR)/run-qemu

include tests/boot/common/common.mk

# The aarch64 half: entry and vectors, traps, MMU setup, device tree, PSCI
# and GIC SMP, console, and its own test cases (t_arch_*.c).
BOOT_A_KERNEL := head.S entry.S boot.c console.c lib.c trap.c mm.c smp.c pt.c fdt.c
BOOT_A_TESTS  := t_arch_mmu.c t_arch_smp.c

bootaobjs = $(patsubst %,$(BOOT_OUT)/aarch64/%.o,$(basename $(1)))
BOOT_KOBJS := $(call bootcobjs,$(BOOT_C_KERNEL)) $(call bootaobjs,$(BOOT_A_KERNEL))
BOOT_TOBJS := $(call bootcobjs,$(BOOT_C_TESTS)) $(call bootaobjs,$(BOOT_A_TESTS))
BOOT_DOBJS := $(call bootcobjs,$(BOOT_C_DEMO))
# Every boot object: they build with KCFLAGS (the top Makefile makes them
# depend on the kernel flavour's flags stamp).
BOOT_OBJS := $(BOOT_KOBJS) $(BOOT_TOBJS) $(BOOT_DOBJS)

BOOT_LDFLAGS_EXTRA ?=
BOOT_LDFLAGS := -nostdlib -static -Wl,--build-id=none \
                -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack \
                -Llinker -T $(BOOT_LDS) $(BOOT_LDFLAGS_EXTRA)

BOOT_TESTKERNEL := $(BOOT_OUT)/testkernel.elf
BOOT_DEMOKERNEL := $(BOOT_OUT)/demokernel.elf

.PHONY: boot-test boot-gdb boot-demo boot-bench boot-alone

$(BOOT_OUT)/aarch64/%.o: $(BOOT_DIR)/%.c
	@mkdir -p $(dir $@)
	$(if $(QE),@echo "  CC      $@")
	$(Q)$(CC) $(BOOT_CFLAGS) -c $< -o $@

$(BOOT_OUT)/aarch64/%.o: $(BOOT_DIR)/%.S
	@mkdir -p $(dir $@)
	$(if $(QE),@echo "  AS      $@")
	$(Q)$(CC) $(BOOT_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

define boot_link
	$(if $(QE),@echo "  LD      $@")
	$(Q)$(CC) $(BOOT_LDFLAGS) -o $@ $(filter %.o,$^) $(LIB)
endef

$(BOOT_TESTKERNEL): $(BOOT_KOBJS) $(BOOT_TOBJS) $(LIB) $(BOOT_LDS) linker/vtlmem-extable.ld
	$(boot_link)

$(BOOT_DEMOKERNEL): $(BOOT_KOBJS) $(BOOT_DOBJS) $(LIB) $(BOOT_LDS) linker/vtlmem-extable.ld
	$(boot_link)

# BOOT_ONLY=<prefix>: only the boot tests whose name starts with it.
# BOOT_SMP=<n>: CPUs for boot-test and boot-gdb (4: every case runs; with 1
# the cases that need more CPUs report "skipped").
BOOT_ONLY ?=
BOOT_SMP ?= 4
BOOT_ONLY_ARG := $(if $(BOOT_ONLY),--only $(BOOT_ONLY))

boot-test: $(BOOT_TESTKERNEL)
	$(Q)$(BOOT_QEMU) --smp $(BOOT_SMP) $(BOOT_ONLY_ARG) $(BOOT_TESTKERNEL)

boot-gdb: $(BOOT_TESTKERNEL)
	@echo "Start QEMU halted, with a gdb stub on tcp::1234 (-s -S), no timeout:"
	@echo "  $(BOOT_QEMU) --gdb --smp $(BOOT_SMP) $(BOOT_ONLY_ARG) $(BOOT_TESTKERNEL)"
	@echo "then, in another terminal:"
	@echo "  gdb-multiarch -ex 'target remote :1234' -ex 'break kernel_main' -ex continue $(BOOT_TESTKERNEL)"
	@echo "(BOOT_ONLY=<test name prefix> runs only those tests.)"

boot-demo: $(BOOT_DEMOKERNEL)
	$(Q)$(BOOT_QEMU) --smp 4 --demo $(BOOT_DEMOKERNEL)

boot-bench: $(BOOT_TESTKERNEL)
	$(Q)$(BOOT_QEMU) --smp 4 --bench $(BOOT_TESTKERNEL)

# Every case booted alone (tests/boot/common/run-alone), on each CPU count
# in BOOT_ALONE_CPUS.
BOOT_ALONE_CPUS ?= 1,4
boot-alone: $(BOOT_TESTKERNEL)
	$(Q)$(BOOT_CDIR)/run-alone $(BOOT_QEMU) $(BOOT_TESTKERNEL) $(BOOT_ALONE_CPUS)

# make check: tests/boot/aarch64/suites.mk (1 CPU at EL2 on a Cortex-A57, 4
# CPUs at EL1 on -cpu max, every case alone, the harness self-test).
include tests/boot/aarch64/suites.mk
BOOT_BUILD := $(BOOT_TESTKERNEL)
BOOT_SUITES := $(call a64_boot_suites,$(BOOT_TESTKERNEL))
DEMO_TARGET := boot-demo
BOOT_BENCH := boot-bench
