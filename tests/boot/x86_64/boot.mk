# SPDX-License-Identifier: MIT
# QEMU boot tests and the demo kernel (x86_64), included by the top Makefile.
#
#   make check       builds $(BOOT_BUILD) and runs $(BOOT_SUITES) (tests/run-suites)
#   make demo        boots the demo secure kernel
#   make boot-test   builds and boots the test kernel only (BOOT_ONLY=<prefix>)
#   make boot-gdb    prints how to debug the test kernel with gdb
#   make boot-bench  the test kernel's bench mode on 4 CPUs (run by make bench)
#
# Both kernels link the same $(LIB) as any secure kernel would, with the
# library's linker fragment (linker/vtlmem-extable.ld) INCLUDEd by
# linker/boot-x86_64.ld. The compiler driver links (-nostdlib -static -T), so
# CC=clang works too (with the system ld; BOOT_LDFLAGS_EXTRA=-fuse-ld=lld for lld).

BOOT_DIR  := tests/boot/x86_64
BOOT_OUT  := $(O)/boot
BOOT_LDS  := linker/boot-x86_64.ld
BOOT_QEMU := $(BOOT_DIR)/run-qemu

# Listed, not wildcarded: a test file joins when the library code it needs has.
BOOT_COMMON := head.S entry.S trampoline.S boot.c console.c lib.c trap.c mm.c heap.c smp.c \
               platform.c pt.c kvtl.c
BOOT_TESTS  := testmain.c t_copy.c t_vmap.c t_physptr.c t_vtl0.c t_smp.c bench.c
BOOT_DEMO   := demo.c

bootobjs = $(patsubst %,$(BOOT_OUT)/%.o,$(basename $(1)))
# Every boot object: they build with KCFLAGS (the top Makefile makes them
# depend on the kernel flavour's flags stamp).
BOOT_OBJS := $(call bootobjs,$(BOOT_COMMON) $(BOOT_TESTS) $(BOOT_DEMO))

BOOT_CFLAGS := $(KCFLAGS) -I$(BOOT_DIR)
BOOT_LDFLAGS_EXTRA ?=
BOOT_LDFLAGS := -nostdlib -static -Wl,--build-id=none \
                -Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack \
                -Llinker -T $(BOOT_LDS) $(BOOT_LDFLAGS_EXTRA)

BOOT_TESTKERNEL := $(BOOT_OUT)/testkernel.elf
BOOT_DEMOKERNEL := $(BOOT_OUT)/demokernel.elf

.PHONY: boot-test boot-gdb boot-demo boot-bench

$(BOOT_OUT)/%.o: $(BOOT_DIR)/%.c
	@mkdir -p $(dir $@)
	$(if $(QE),@echo "  CC      $@")
	$(Q)$(CC) $(BOOT_CFLAGS) -c $< -o $@

$(BOOT_OUT)/%.o: $(BOOT_DIR)/%.S
	@mkdir -p $(dir $@)
	$(if $(QE),@echo "  AS      $@")
	$(Q)$(CC) $(BOOT_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

# Link, then check that the file layout is what the multiboot loader needs.
define boot_link
	$(if $(QE),@echo "  LD      $@")
	$(Q)$(CC) $(BOOT_LDFLAGS) -o $@ $(filter %.o,$^) $(LIB)
	$(Q)$(BOOT_DIR)/check-layout $@
endef

$(BOOT_TESTKERNEL): $(call bootobjs,$(BOOT_COMMON) $(BOOT_TESTS)) $(LIB) $(BOOT_LDS) \
		    linker/vtlmem-extable.ld $(BOOT_DIR)/check-layout
	$(boot_link)

$(BOOT_DEMOKERNEL): $(call bootobjs,$(BOOT_COMMON) $(BOOT_DEMO)) $(LIB) $(BOOT_LDS) \
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

# make check: the boot suite on 1 CPU and on 4 (tcg,thread=multi), then the
# harness self-test. Every QEMU run is under a timeout (run-qemu).
BOOT_BUILD := $(BOOT_TESTKERNEL)
BOOT_SUITES := "$(BOOT_QEMU) --smp 1 $(BOOT_TESTKERNEL)" \
               "$(BOOT_QEMU) --smp 4 $(BOOT_TESTKERNEL)" \
               "$(BOOT_DIR)/harness-selftest $(BOOT_TESTKERNEL)"
DEMO_TARGET := boot-demo
BOOT_BENCH := boot-bench
