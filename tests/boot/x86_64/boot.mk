# SPDX-License-Identifier: MIT
# QEMU boot tests and the demo kernel (x86_64), included by the top Makefile.
#
#   make check       builds $(BOOT_BUILD) and runs $(BOOT_SUITES) (tests/run-suites)
#   make demo        boots the demo secure kernel
#   make boot-test   builds and boots the test kernel only (BOOT_ONLY=<prefix>)
#   make boot-gdb    prints how to debug the test kernel with gdb
#   make boot-bench  the test kernel's bench mode on 4 CPUs (run by make bench)
#   make boot-alone  every boot test alone, on 1 and 4 CPUs (in make check)
#
# Both kernels link the same $(LIB) as any secure kernel would, with the
# library's linker fragment (linker/vtlmem-extable.ld) INCLUDEd by
# linker/boot-x86_64.ld. The compiler driver links (-nostdlib -static -T), so
# CC=clang works too (with the system ld; BOOT_LDFLAGS_EXTRA=-fuse-ld=lld for lld).

BOOT_DIR  := tests/boot/x86_64
BOOT_OUT  := $(O)/boot
BOOT_LDS  := linker/boot-x86_64.ld
BOOT_QEMU := $(BOOT_DIR)/run-qemu

include tests/boot/common/common.mk

# The x86_64 half: entry, traps, MMU setup, SMP bring-up and IPIs, console,
# and its own test cases (t_arch_*.c).
BOOT_A_KERNEL := head.S entry.S trampoline.S boot.c console.c lib.c trap.c mm.c smp.c pt.c
BOOT_A_TESTS  := t_arch_smp.c

bootaobjs = $(patsubst %,$(BOOT_OUT)/x86_64/%.o,$(basename $(1)))
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

$(BOOT_OUT)/x86_64/%.o: $(BOOT_DIR)/%.c
	@mkdir -p $(dir $@)
	$(if $(QE),@echo "  CC      $@")
	$(Q)$(CC) $(BOOT_CFLAGS) -c $< -o $@

$(BOOT_OUT)/x86_64/%.o: $(BOOT_DIR)/%.S
	@mkdir -p $(dir $@)
	$(if $(QE),@echo "  AS      $@")
	$(Q)$(CC) $(BOOT_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

# Link, then check that the file layout is what the multiboot loader needs.
define boot_link
	$(if $(QE),@echo "  LD      $@")
	$(Q)$(CC) $(BOOT_LDFLAGS) -o $@ $(filter %.o,$^) $(LIB)
	$(Q)$(BOOT_DIR)/check-layout $@
endef

$(BOOT_TESTKERNEL): $(BOOT_KOBJS) $(BOOT_TOBJS) $(LIB) $(BOOT_LDS) \
		    linker/vtlmem-extable.ld $(BOOT_DIR)/check-layout
	$(boot_link)

$(BOOT_DEMOKERNEL): $(BOOT_KOBJS) $(BOOT_DOBJS) $(LIB) $(BOOT_LDS) \
		    linker/vtlmem-extable.ld $(BOOT_DIR)/check-layout
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
	@echo "  gdb -ex 'target remote :1234' -ex 'break kernel_main' -ex continue $(BOOT_TESTKERNEL)"
	@echo "(BOOT_ONLY=<test name prefix> runs only those tests.)"

boot-demo: $(BOOT_DEMOKERNEL)
	$(Q)$(BOOT_QEMU) --smp 4 --demo $(BOOT_DEMOKERNEL)

boot-bench: $(BOOT_TESTKERNEL)
	$(Q)$(BOOT_QEMU) --smp 4 --bench $(BOOT_TESTKERNEL)

# Every boot test passes when run alone: one boot per case and per CPU
# count in BOOT_ALONE_CPUS (comma-separated; tests/boot/common/run-alone;
# 1-2 minutes in all on a loaded 2-core host, so make check runs it too).
BOOT_ALONE_CPUS ?= 1,4
BOOT_ALONE := $(BOOT_CDIR)/run-alone $(BOOT_QEMU) $(BOOT_TESTKERNEL) $(BOOT_ALONE_CPUS)
boot-alone: $(BOOT_TESTKERNEL)
	$(Q)$(BOOT_ALONE)

# make check: the boot suite on 1 CPU and on 4 (tcg,thread=multi), every
# case alone on 1 and on 4 CPUs, then the harness self-test. Every QEMU run
# is under a timeout (run-qemu).
BOOT_BUILD := $(BOOT_TESTKERNEL)
BOOT_SUITES := "$(BOOT_QEMU) --smp 1 $(BOOT_TESTKERNEL)" \
               "$(BOOT_QEMU) --smp 4 $(BOOT_TESTKERNEL)" \
               "$(BOOT_ALONE)" \
               "$(BOOT_DIR)/harness-selftest $(BOOT_TESTKERNEL)"
DEMO_TARGET := boot-demo
BOOT_BENCH := boot-bench
