# SPDX-License-Identifier: MIT
# The portable half of the boot kernels' build (tests/boot/common/),
# included at the end of each arch's tests/boot/<arch>/boot.mk once it has
# set:
#   BOOT_DIR           its own directory (tests/boot/<arch>)
#   BOOT_OUT           the objects' directory
#   BOOT_LDS           its linker script
#   BOOT_QEMU          its run-qemu
#   BOOT_A_KERNEL      its kernel sources (both kernels), BOOT_A_TESTS its
#                      t_arch_*.c cases (test kernel only)
#   BOOT_LINK_CHECK    optional: a script run on every linked kernel
#   BOOT_GDB           the gdb boot-gdb names
# Provides the source lists, the compile and link rules, the test kernel
# and the demo kernel (BOOT_C_KERNEL + BOOT_A_KERNEL with BOOT_C_TESTS +
# BOOT_A_TESTS, resp. BOOT_C_DEMO), the include path and the targets:
#
#   make boot-test   builds and boots the test kernel only (BOOT_ONLY=<prefix>,
#                    BOOT_SMP=<n>)
#   make boot-gdb    prints how to debug the test kernel with gdb
#   make demo        boots the demo secure kernel on 4 CPUs (boot-demo)
#   make boot-bench  the test kernel's bench mode on 4 CPUs (run by make bench)
#   make boot-alone  every boot test alone, on 1 and 4 CPUs (in make check)
#
# Both kernels link the same $(LIB) as any secure kernel would, with the
# library's linker fragment (linker/vtlmem-extable.ld) INCLUDEd by the
# arch's linker script. The compiler driver links (-nostdlib -static -T).

BOOT_CDIR := tests/boot/common
BOOT_ARCH_DIR := $(notdir $(BOOT_DIR))

# Listed, not wildcarded: a test file joins when the library code it needs has.
BOOT_C_KERNEL := kprint.c heap.c platform.c kvtl.c smp.c pool.c kpt.c string.c
BOOT_C_TESTS  := testmain.c t_copy.c t_vmap.c t_physptr.c t_vtl0.c t_smp.c bench.c
BOOT_C_DEMO   := demo.c

# Common code includes "kernel.h" (portable API), which includes the arch's
# "karch.h"; arch code finds kernel.h through -I$(BOOT_CDIR).
BOOT_CFLAGS := $(KCFLAGS) -I$(BOOT_CDIR) -I$(BOOT_DIR)

bootcobjs = $(patsubst %,$(BOOT_OUT)/common/%.o,$(basename $(1)))
bootaobjs = $(patsubst %,$(BOOT_OUT)/$(BOOT_ARCH_DIR)/%.o,$(basename $(1)))
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

$(BOOT_OUT)/common/%.o: $(BOOT_CDIR)/%.c
	@mkdir -p $(dir $@)
	$(if $(QE),@echo "  CC      $@")
	$(Q)$(CC) $(BOOT_CFLAGS) -c $< -o $@

$(BOOT_OUT)/$(BOOT_ARCH_DIR)/%.o: $(BOOT_DIR)/%.c
	@mkdir -p $(dir $@)
	$(if $(QE),@echo "  CC      $@")
	$(Q)$(CC) $(BOOT_CFLAGS) -c $< -o $@

$(BOOT_OUT)/$(BOOT_ARCH_DIR)/%.o: $(BOOT_DIR)/%.S
	@mkdir -p $(dir $@)
	$(if $(QE),@echo "  AS      $@")
	$(Q)$(CC) $(BOOT_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

# Link, then run the arch's check of the result (if any).
define boot_link
	$(if $(QE),@echo "  LD      $@")
	$(Q)$(CC) $(BOOT_LDFLAGS) -o $@ $(filter %.o,$^) $(LIB)
	$(if $(BOOT_LINK_CHECK),$(Q)$(BOOT_LINK_CHECK) $@)
endef

$(BOOT_TESTKERNEL): $(BOOT_KOBJS) $(BOOT_TOBJS) $(LIB) $(BOOT_LDS) \
		    linker/vtlmem-extable.ld $(BOOT_LINK_CHECK)
	$(boot_link)

$(BOOT_DEMOKERNEL): $(BOOT_KOBJS) $(BOOT_DOBJS) $(LIB) $(BOOT_LDS) \
		    linker/vtlmem-extable.ld $(BOOT_LINK_CHECK)
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
	@echo "  $(BOOT_GDB) -ex 'target remote :1234' -ex 'break kernel_main' -ex continue $(BOOT_TESTKERNEL)"
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

# What the top Makefile runs: make check builds BOOT_BUILD and runs the
# arch's BOOT_SUITES (set in its boot.mk after this); make demo, make bench.
BOOT_BUILD := $(BOOT_TESTKERNEL)
DEMO_TARGET := boot-demo
BOOT_BENCH := boot-bench
