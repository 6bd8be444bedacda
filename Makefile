# SPDX-License-Identifier: MIT
# vtlmem - safe VTL0 physical-memory access for a VTL1 secure kernel.
#
#   make                 libvtlmem.a for ARCH (freestanding kernel code)
#   make check           every test: build checks, host unit tests (plain,
#                        ASan+UBSan, TSan for threaded ones), QEMU boot tests
#   make check-exhaustive  the full copy / physptr offset matrices (~50 min)
#   make demo            boot the demo secure kernel in QEMU
#   make bench           benchmarks, as ratios against in-process baselines
#   make install         DESTDIR=... PREFIX=... (lib, headers, .pc, linker fragment)
#   make deps            install missing Debian packages (idempotent)
#
# Kernel conventions: ARCH=, CROSS_COMPILE=, CC=, O=<build dir>, V=1.

ARCH          ?= x86_64
O             ?= build
V             ?= 0
PREFIX        ?= /usr/local
DESTDIR       ?=
CROSS_COMPILE ?=

ifeq ($(origin CC),default)
CC := $(CROSS_COMPILE)gcc
endif
ifeq ($(origin AR),default)
AR := $(CROSS_COMPILE)ar
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif
# QE: print the short "  CC  file" lines (not with V=1, not with make -s).
ifneq ($(findstring s,$(firstword -$(MAKEFLAGS))),)
QE :=
else
QE := $(Q)
endif

ifeq ($(ARCH),x86_64)
ARCH_KFLAGS := -mcmodel=kernel -mno-red-zone -mgeneral-regs-only
else
$(error ARCH=$(ARCH) is not supported yet (x86_64 only))
endif

WARN   := -Wall -Wextra -Werror
INCS   := -Iinclude
DEPF   := -MMD -MP

# Freestanding kernel code: no libc, no builtins turned into libc calls, no
# red zone (interrupts use the kernel stack), no SSE/x87 state in C code,
# kernel code model (linked in the top 2 GiB), no PIC, no stack protector
# (the kernel provides no canary). The .S files assemble under the same flags.
KCFLAGS := -std=c11 -O2 -g $(WARN) -ffreestanding -nostdlib -fno-builtin \
           -fno-pic -fno-pie -fno-stack-protector -fno-common \
           -fno-asynchronous-unwind-tables $(ARCH_KFLAGS) $(INCS) $(DEPF)

# Host builds of the same sources, for tests and benchmarks only: position
# independent (the .S too, so host tests fault for real), VTLMEM_HOST set.
HBASE   := -O2 -g -fno-omit-frame-pointer $(WARN) $(INCS) $(DEPF) -DVTLMEM_HOST
HLIBFLAGS   := -std=c11 -ffreestanding -fno-builtin -mgeneral-regs-only
HTESTFLAGS  := -std=gnu11 -D_GNU_SOURCE -Itests/unit/common
SAN_asan := -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_tsan := -fsanitize=thread
SAN_host :=
SAN_bench :=

LIB_SRCS  := $(sort $(wildcard src/*.c) $(wildcard arch/$(ARCH)/*.c) $(wildcard arch/$(ARCH)/*.S))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
MT_SRCS   := $(sort $(wildcard tests/unit/test_*_threads.c))
COMMON_SRCS := $(sort $(wildcard tests/unit/common/*.c))
BENCH_SRCS  := $(sort $(wildcard tests/bench/bench_*.c))
TEST_LIBS := -lcmocka -lpthread

objs = $(patsubst %,$(O)/$(1)/%.o,$(basename $(2)))

KOBJS := $(call objs,kernel,$(LIB_SRCS))
LIB   := $(O)/libvtlmem.a

.PHONY: all lib check check-exhaustive demo bench install deps unit-build clean help
all: lib
lib: $(LIB)

$(O)/kernel/%.o: %.c
	@mkdir -p $(dir $@)
	$(if $(QE),@echo "  CC      $@")
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@

$(O)/kernel/%.o: %.S
	@mkdir -p $(dir $@)
	$(if $(QE),@echo "  AS      $@")
	$(Q)$(CC) $(KCFLAGS) -D__ASSEMBLY__ -c $< -o $@

$(LIB): $(KOBJS)
	$(if $(QE),@echo "  AR      $@")
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# Host flavours: host (plain), asan (ASan+UBSan), tsan, bench (plain -O2).
define host_flavour
$(1)_LOBJS := $$(call objs,$(1),$$(LIB_SRCS))
$(1)_COBJS := $$(call objs,$(1),$$(COMMON_SRCS))

$(O)/$(1)/src/%.o: src/%.c
	@mkdir -p $$(dir $$@)
	$$(if $$(QE),@echo "  HOSTCC  $$@")
	$$(Q)$$(CC) $$(HBASE) $$(HLIBFLAGS) $$(SAN_$(1)) -c $$< -o $$@

$(O)/$(1)/arch/%.o: arch/%.c
	@mkdir -p $$(dir $$@)
	$$(if $$(QE),@echo "  HOSTCC  $$@")
	$$(Q)$$(CC) $$(HBASE) $$(HLIBFLAGS) $$(SAN_$(1)) -c $$< -o $$@

$(O)/$(1)/arch/%.o: arch/%.S
	@mkdir -p $$(dir $$@)
	$$(if $$(QE),@echo "  HOSTAS  $$@")
	$$(Q)$$(CC) $$(HBASE) -D__ASSEMBLY__ -c $$< -o $$@

$(O)/$(1)/tests/%.o: tests/%.c
	@mkdir -p $$(dir $$@)
	$$(if $$(QE),@echo "  HOSTCC  $$@")
	$$(Q)$$(CC) $$(HBASE) $$(HTESTFLAGS) $$(SAN_$(1)) -c $$< -o $$@

$(O)/$(1)/libvtlmem.a: $$($(1)_LOBJS)
	$$(Q)rm -f $$@ && $$(AR) rcs $$@ $$^

$(O)/$(1)/bin/%: $(O)/$(1)/tests/unit/%.o $$($(1)_COBJS) $(O)/$(1)/libvtlmem.a
	@mkdir -p $$(dir $$@)
	$$(if $$(QE),@echo "  LD      $$@")
	$$(Q)$$(CC) $$(SAN_$(1)) -o $$@ $$^ $$(TEST_LIBS)

$(O)/$(1)/bin/%: $(O)/$(1)/tests/bench/%.o $$($(1)_COBJS) $(O)/$(1)/libvtlmem.a
	@mkdir -p $$(dir $$@)
	$$(if $$(QE),@echo "  LD      $$@")
	$$(Q)$$(CC) $$(SAN_$(1)) -o $$@ $$^ $$(TEST_LIBS)
endef
$(foreach f,host asan tsan bench,$(eval $(call host_flavour,$(f))))

UNIT_NAMES  := $(notdir $(basename $(UNIT_SRCS)))
MT_NAMES    := $(notdir $(basename $(MT_SRCS)))
BENCH_NAMES := $(notdir $(basename $(BENCH_SRCS)))
UNIT_BINS   := $(addprefix $(O)/host/bin/,$(UNIT_NAMES)) \
               $(addprefix $(O)/asan/bin/,$(UNIT_NAMES)) \
               $(addprefix $(O)/tsan/bin/,$(MT_NAMES))
BENCH_BINS  := $(addprefix $(O)/bench/bin/,$(BENCH_NAMES))

.SECONDARY:

unit-build: $(LIB) $(UNIT_BINS)

# Boot tests and the demo live with their test kernel.
-include tests/boot/$(ARCH)/boot.mk
BOOT_SUITES ?=

# Build-level checks of the freestanding library, with both compilers.
BUILD_SUITES := "tests/build/check-lib gcc $(O)/check-lib-gcc" \
                "tests/build/check-lib clang $(O)/check-lib-clang"

# Every suite prints its own results; tests/run-suites prints the total.
check: deps
	$(Q)$(MAKE) --no-print-directory unit-build $(BOOT_BUILD)
	$(Q)tests/run-suites $(BUILD_SUITES) $(foreach b,$(UNIT_BINS),"$(b)") $(BOOT_SUITES)

# The full "every length x every fault offset" matrices of test_copy and
# test_physptr: ~50 minutes on a 2-CPU machine, so not part of make check
# (which runs their tiered coverage; see the tests' header comments).
check-exhaustive: deps
	$(Q)$(MAKE) --no-print-directory $(O)/host/bin/test_copy $(O)/host/bin/test_physptr
	$(Q)VTLMEM_TEST_EXHAUSTIVE=1 tests/run-suites "$(O)/host/bin/test_copy" "$(O)/host/bin/test_physptr"

bench: deps
	$(Q)$(MAKE) --no-print-directory $(BENCH_BINS)
	$(Q)for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done
	$(Q)$(if $(BOOT_BENCH),$(MAKE) --no-print-directory $(BOOT_BENCH))

ifeq ($(DEMO_TARGET),)
demo: deps
	@echo "make demo: the demo secure kernel (tests/boot/$(ARCH)/) is not built yet."
	@echo "It will boot under QEMU, read and write its VTL0 region through the library"
	@echo "(page chains, a text patch, a log ring, an SMC argument block, hostile inputs)"
	@echo "and print the library's statistics."
	@false
else
demo: deps
	$(Q)$(MAKE) --no-print-directory $(DEMO_TARGET)
endif

DEBS := make gcc binutils pkg-config libcmocka-dev clang lld llvm valgrind qemu-system-x86
deps:
	$(Q)missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "deps: need root (or sudo) to install$$missing" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(O)/vtlmem.pc: Makefile
	@mkdir -p $(dir $@)
	$(Q)printf 'prefix=%s\nlibdir=$${prefix}/lib\nincludedir=$${prefix}/include\n\nName: vtlmem\nDescription: safe VTL0 physical-memory access for a VTL1 secure kernel\nVersion: 0.1.0\nCflags: -I$${includedir}\nLibs: -L$${libdir} -lvtlmem\n' '$(PREFIX)' > $@

install: $(LIB) $(O)/vtlmem.pc
	$(Q)install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include/vtlmem $(DESTDIR)$(PREFIX)/share/vtlmem
	$(Q)install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	$(Q)install -m 644 include/vtlmem/*.h $(DESTDIR)$(PREFIX)/include/vtlmem/
	$(Q)install -m 644 $(O)/vtlmem.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/
	$(Q)install -m 644 linker/vtlmem-extable.ld $(DESTDIR)$(PREFIX)/share/vtlmem/

clean:
	$(Q)rm -rf $(O)

-include $(shell find $(O) -name '*.d' 2>/dev/null)
