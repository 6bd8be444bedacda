# SPDX-License-Identifier: MIT
# vtlmem - safe VTL0 physical-memory access for a VTL1 secure kernel.
#
#   make                 libvtlmem.a for ARCH (freestanding kernel code)
#   make check           every test: build checks, host unit tests (plain,
#                        ASan+UBSan, TSan for threaded ones), fuzz corpora and
#                        short fuzz runs, QEMU boot tests; one JUnit XML file
#                        per suite in $(O)/test-results/ (FORMAT=tap: TAP)
#   make check-exhaustive  the full copy / physptr offset matrices (~50 min)
#   make coverage        host suites under gcov: $(O)/coverage/index.html
#   make docs            API reference from the headers: $(O)/docs/html/
#   make fuzz            each libFuzzer target for FUZZ_SECONDS (tests/fuzz/)
#   make demo            boot the demo secure kernel in QEMU
#   make bench           benchmarks, as ratios against in-process baselines
#   make install         DESTDIR=... PREFIX=... (lib, headers, .pc, linker fragment)
#   make deps            install missing Debian packages (idempotent)
#   make help            the targets and variables
#
# Kernel conventions: ARCH=, CROSS_COMPILE=, CC=, O=<build dir>, V=1.

ARCH          ?= x86_64
O             ?= build
V             ?= 0
PREFIX        ?= /usr/local
DESTDIR       ?=
CROSS_COMPILE ?=
FORMAT        ?= human
FUZZ_SECONDS  ?= 60
FUZZ_CC       ?= clang
COV_CC        ?= gcc

# ARCH=arm64 (the kernel's spelling) and ARCH=aarch64 both mean arch/aarch64.
ifeq ($(ARCH),arm64)
override ARCH := aarch64
endif
# ARCH=arm64 on another host with neither CROSS_COMPILE nor CC given (e.g.
# make demo ARCH=arm64 on x86_64): the GNU cross toolchain.
ifeq ($(ARCH)/$(origin CROSS_COMPILE)/$(origin CC),aarch64/file/default)
ifneq ($(shell uname -m),aarch64)
CROSS_COMPILE := aarch64-linux-gnu-
endif
endif

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

# The arch's flags and rules: arch/$(ARCH)/arch.mk (ARCH_KFLAGS, ARCH_DEBS,
# ARCH_BAD_RELOCS, ARCH_FP_INSNS). ARCHES: every arch with a fragment.
ARCHES := $(patsubst arch/%/arch.mk,%,$(wildcard arch/*/arch.mk))
ifeq ($(wildcard arch/$(ARCH)/arch.mk),)
$(error ARCH=$(ARCH) is not supported (no arch/$(ARCH)/arch.mk; supported: $(ARCHES)))
endif
include arch/$(ARCH)/arch.mk

WARN   := -Wall -Wextra -Werror
INCS   := -Iinclude -Iarch/$(ARCH)
DEPF   := -MMD -MP

# Freestanding kernel code: no libc, no builtins turned into libc calls, no
# PIC, no stack protector (the kernel provides no canary), plus the arch's
# ARCH_KFLAGS (x86_64: kernel code model, no red zone, no SSE/x87 state).
# The .S files assemble under the same flags.
KCFLAGS := -std=c11 -O2 -g $(WARN) -ffreestanding -nostdlib -fno-builtin \
           -fno-pic -fno-pie -fno-stack-protector -fno-common \
           -fno-asynchronous-unwind-tables $(ARCH_KFLAGS) $(INCS) $(DEPF)

# Host builds of the same sources, for tests and benchmarks only: position
# independent (the .S too, so host tests fault for real), VTLMEM_HOST set.
HBASE   := -O2 -g -fno-omit-frame-pointer $(WARN) $(INCS) $(DEPF) -DVTLMEM_HOST
HLIBFLAGS   := -std=c11 -ffreestanding -fno-builtin -mgeneral-regs-only
# Host tests find the arch under test's entry format (hostmmu_arch.h) in
# tests/unit/common/arch/$(ARCH).
HTESTFLAGS  := -std=gnu11 -D_GNU_SOURCE -Itests/unit/common -Itests/unit/common/arch/$(ARCH)
SAN_asan := -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_tsan := -fsanitize=thread
SAN_host :=
SAN_bench :=
# Coverage (make coverage): gcc's gcov instrumentation, unoptimised so lines
# and branches map to the source; atomic counters for the threaded suites.
SAN_cov  := --coverage -fprofile-update=atomic -O0
# Fuzzing (make fuzz): clang; the library and the test platform carry the
# fuzzer's coverage hooks, the targets link libFuzzer's main.
SAN_fuzz := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
# Compiler and link flags per host flavour.
HCC_host  = $(CC)
HCC_asan  = $(CC)
HCC_tsan  = $(CC)
HCC_bench = $(CC)
HCC_cov   = $(COV_CC)
HCC_fuzz  = $(FUZZ_CC)
HLD_host  = $(SAN_host)
HLD_asan  = $(SAN_asan)
HLD_tsan  = $(SAN_tsan)
HLD_bench = $(SAN_bench)
HLD_cov   = --coverage
HLD_fuzz  = -fsanitize=fuzzer,address,undefined

LIB_SRCS  := $(sort $(wildcard src/*.c) $(wildcard arch/$(ARCH)/*.c) $(wildcard arch/$(ARCH)/*.S))
# Host flavours: the arch's privileged CPU half (cpu.c) is replaced by
# tests/unit/common/hostarch.c, linked into every host binary.
HOST_LIB_SRCS := $(filter-out arch/$(ARCH)/cpu.c,$(LIB_SRCS))
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
MT_SRCS   := $(sort $(wildcard tests/unit/test_*_threads.c))
COMMON_SRCS := $(sort $(wildcard tests/unit/common/*.c))
BENCH_SRCS  := $(sort $(wildcard tests/bench/bench_*.c))
FUZZ_SRCS   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
TEST_LIBS := -lcmocka -lpthread

objs = $(patsubst %,$(O)/$(1)/%.o,$(basename $(2)))

KOBJS := $(call objs,kernel,$(LIB_SRCS))
LIB   := $(O)/libvtlmem.a

.PHONY: all lib check check-exhaustive demo bench install deps unit-build clean help \
	coverage docs fuzz fuzz-build FORCE
all: lib
lib: $(LIB)

# Flags stamps (Kbuild's if_changed, one per flavour): every object of a
# flavour depends on $(O)/<flavour>/.flags, which holds the compiler and the
# flags the flavour builds with and is rewritten only when they change. So
# `make CC=clang` after `make`, or another ARCH, CROSS_COMPILE or flag,
# rebuilds (and relinks) everything it affects, and nothing otherwise.
FORCE:
STAMP_kernel = ARCH=$(ARCH) $(CC) $(KCFLAGS) AR=$(AR)
define stamp_rule
$(O)/$(1)/.flags: FORCE
	@mkdir -p $$(dir $$@)
	@printf '%s\n' '$$(subst ','\'',$$(STAMP_$(1)))' | cmp -s - $$@ 2>/dev/null || \
	  printf '%s\n' '$$(subst ','\'',$$(STAMP_$(1)))' > $$@
endef
$(eval $(call stamp_rule,kernel))
$(KOBJS): $(O)/kernel/.flags

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

# Host flavours: host (plain), asan (ASan+UBSan), tsan, bench (plain -O2),
# cov (gcov), fuzz (clang, libFuzzer + ASan + UBSan).
define host_flavour
$(1)_LOBJS := $$(call objs,$(1),$$(HOST_LIB_SRCS))
$(1)_COBJS := $$(call objs,$(1),$$(COMMON_SRCS))
STAMP_$(1) = ARCH=$$(ARCH) $$(HCC_$(1)) $$(HBASE) $$(HLIBFLAGS) $$(HTESTFLAGS) $$(SAN_$(1)) LD $$(HLD_$(1)) $$(TEST_LIBS) AR=$$(AR)
$$(eval $$(call stamp_rule,$(1)))
$$($(1)_LOBJS) $$($(1)_COBJS) $$(call objs,$(1),$$(UNIT_SRCS) $$(BENCH_SRCS) $$(FUZZ_SRCS)): $(O)/$(1)/.flags

$(O)/$(1)/src/%.o: src/%.c
	@mkdir -p $$(dir $$@)
	$$(if $$(QE),@echo "  HOSTCC  $$@")
	$$(Q)$$(HCC_$(1)) $$(HBASE) $$(HLIBFLAGS) $$(SAN_$(1)) -c $$< -o $$@

$(O)/$(1)/arch/%.o: arch/%.c
	@mkdir -p $$(dir $$@)
	$$(if $$(QE),@echo "  HOSTCC  $$@")
	$$(Q)$$(HCC_$(1)) $$(HBASE) $$(HLIBFLAGS) $$(SAN_$(1)) -c $$< -o $$@

$(O)/$(1)/arch/%.o: arch/%.S
	@mkdir -p $$(dir $$@)
	$$(if $$(QE),@echo "  HOSTAS  $$@")
	$$(Q)$$(HCC_$(1)) $$(HBASE) -D__ASSEMBLY__ -c $$< -o $$@

$(O)/$(1)/tests/%.o: tests/%.c
	@mkdir -p $$(dir $$@)
	$$(if $$(QE),@echo "  HOSTCC  $$@")
	$$(Q)$$(HCC_$(1)) $$(HBASE) $$(HTESTFLAGS) $$(SAN_$(1)) -c $$< -o $$@

$(O)/$(1)/libvtlmem.a: $$($(1)_LOBJS)
	$$(Q)rm -f $$@ && $$(AR) rcs $$@ $$^

$(O)/$(1)/bin/%: $(O)/$(1)/tests/unit/%.o $$($(1)_COBJS) $(O)/$(1)/libvtlmem.a
	@mkdir -p $$(dir $$@)
	$$(if $$(QE),@echo "  LD      $$@")
	$$(Q)$$(HCC_$(1)) $$(HLD_$(1)) -o $$@ $$^ $$(TEST_LIBS)

$(O)/$(1)/bin/%: $(O)/$(1)/tests/bench/%.o $$($(1)_COBJS) $(O)/$(1)/libvtlmem.a
	@mkdir -p $$(dir $$@)
	$$(if $$(QE),@echo "  LD      $$@")
	$$(Q)$$(HCC_$(1)) $$(HLD_$(1)) -o $$@ $$^ $$(TEST_LIBS)

$(O)/$(1)/bin/%: $(O)/$(1)/tests/fuzz/%.o $$($(1)_COBJS) $(O)/$(1)/libvtlmem.a
	@mkdir -p $$(dir $$@)
	$$(if $$(QE),@echo "  LD      $$@")
	$$(Q)$$(HCC_$(1)) $$(HLD_$(1)) -o $$@ $$^ -lpthread
endef
$(foreach f,host asan tsan bench cov fuzz,$(eval $(call host_flavour,$(f))))

UNIT_NAMES  := $(notdir $(basename $(UNIT_SRCS)))
MT_NAMES    := $(notdir $(basename $(MT_SRCS)))
BENCH_NAMES := $(notdir $(basename $(BENCH_SRCS)))
FUZZ_NAMES  := $(notdir $(basename $(FUZZ_SRCS)))
UNIT_BINS   := $(addprefix $(O)/host/bin/,$(UNIT_NAMES)) \
               $(addprefix $(O)/asan/bin/,$(UNIT_NAMES)) \
               $(addprefix $(O)/tsan/bin/,$(MT_NAMES))
BENCH_BINS  := $(addprefix $(O)/bench/bin/,$(BENCH_NAMES))
FUZZ_BINS   := $(addprefix $(O)/fuzz/bin/,$(FUZZ_NAMES))
COV_BINS    := $(addprefix $(O)/cov/bin/,$(UNIT_NAMES))
SMP_FLAVOURS := host asan
# Host suites of another arch's objects (ARCH=arm64 on x86_64: HOST_RUN is
# qemu-aarch64, set by arch/aarch64/arch.mk) run under qemu-user, plain
# flavour only (tests/unit/cross-aarch64.mk says why), without the fake-arch
# and fuzz binaries (built for this host: ARCH=x86_64's make check has them).
ifneq ($(HOST_RUN),)
UNIT_BINS    := $(addprefix $(O)/host/bin/,$(UNIT_NAMES))
FUZZ_BINS    :=
SMP_FLAVOURS := host
endif
host_run = $(if $(HOST_RUN),$(HOST_RUN) )$(1)

.SECONDARY:

# The generic page-table code and TLB policy over the fake architecture
# (arch/fake/: a made-up entry format, 3 levels, broadcast TLBI), so src/
# is tested against no x86_64 assumption; one binary per test file under
# tests/unit/fake/, with ASan + UBSan.
FAKE_LIB_SRCS := src/pgtable.c src/bug.c src/tlb.c arch/fake/fake.c
FAKE_SRCS     := $(sort $(wildcard tests/unit/fake/test_*.c))
FAKE_BINS     := $(patsubst tests/unit/fake/%.c,$(O)/fake/bin/%,$(FAKE_SRCS))
STAMP_fake     = $(CC) $(WARN) $(HTESTFLAGS) $(SAN_asan) $(TEST_LIBS)
$(eval $(call stamp_rule,fake))
$(O)/fake/bin/%: tests/unit/fake/%.c $(FAKE_LIB_SRCS) tests/unit/common/hostplat.c \
		 $(wildcard src/*.h arch/fake/*.h include/vtlmem/*.h) $(O)/fake/.flags
	@mkdir -p $(dir $@)
	$(if $(QE),@echo "  LD      $@")
	$(Q)$(CC) -O1 -g -fno-omit-frame-pointer $(WARN) -Iinclude -Iarch/fake -DVTLMEM_HOST \
	  $(HTESTFLAGS) $(SAN_asan) -o $@ $(filter %.c,$^) $(TEST_LIBS)

unit-build: $(LIB) $(UNIT_BINS) $(if $(HOST_RUN),,$(FAKE_BINS))

# Boot tests and the demo live with their test kernel.
-include tests/boot/$(ARCH)/boot.mk
BOOT_SUITES ?=
# Other architectures' boot suites this host runs too: on a non-aarch64 host
# the aarch64 test kernel, cross-built in $(O)/arm64 (tests/boot/aarch64/cross.mk).
ifneq ($(ARCH),aarch64)
ifneq ($(wildcard arch/aarch64/arch.mk),)
include tests/boot/aarch64/cross.mk
endif
endif
# The boot kernels' objects build with KCFLAGS: same flags stamp as the library.
$(BOOT_OBJS): $(O)/kernel/.flags

# Build-level checks of the freestanding library, with both compilers, and
# of the API reference (every exported symbol documented).
export ARCH
BUILD_SUITES := "tests/build/check-lib $(CROSS_COMPILE)gcc $(O)/check-lib-gcc" \
                "tests/build/check-lib clang $(O)/check-lib-clang" \
                "tests/build/check-docs $(O)/check-docs"

# Fuzz targets in make check: each replays its seed corpus, then fuzzes for
# FUZZ_CHECK_SECONDS (about 20 s in all; make fuzz runs longer).
FUZZ_CHECK_SECONDS ?= 5
FUZZ_SUITES := $(foreach n,$(FUZZ_NAMES),"tests/fuzz/run-fuzz --fresh --seconds $(FUZZ_CHECK_SECONDS) \
	$(O)/fuzz/bin/$(n) tests/fuzz/corpus/$(n:fuzz_%=%) $(O)/fuzz/check/$(n:fuzz_%=%)")
FUZZ_SUITES := $(if $(HOST_RUN),,$(FUZZ_SUITES))
fuzz-build: $(FUZZ_BINS)

# The vmap, physptr, VTL0 and ring suites once more on simulated SMP: 4 CPUs,
# a TLB per CPU in the host MMU model and a random CPU switch at every
# preemption point, drawn from SMP_SEED (tests/unit/common/hostplat.h and
# hostmmu.h); plain and ASan. A failing run prints its seed.
SMP_SEED   ?= 1
SMP_NAMES  := test_vmap test_physptr test_vtl0 test_vtl0_ring
SMP_SUITES := $(foreach f,$(SMP_FLAVOURS),$(foreach n,$(SMP_NAMES),"VTLMEM_TEST_SMP=$(SMP_SEED) $(call host_run,$(O)/$(f)/bin/$(n))"))

# The aarch64 host suites (cross-built, under qemu-user) in another host
# arch's make check: tests/unit/cross-aarch64.mk.
CROSS_BUILD  :=
CROSS_SUITES :=
ifeq ($(HOST_RUN)$(filter aarch64,$(ARCH)),)
include tests/unit/cross-aarch64.mk
endif

# Every suite prints its own results; tests/run-suites prints the total and
# writes one JUnit XML file per suite to $(O)/test-results/ (validated
# against tests/build/junit.xsd, counts against the printed ones), plus
# check.tap; FORMAT=tap prints TAP instead. A suite still running after
# SUITE_TIMEOUT seconds is killed and counts as a failure.
RESULTS := $(O)/test-results
SUITE_TIMEOUT ?= 900
check: deps
	$(Q)$(MAKE) --no-print-directory unit-build fuzz-build $(BOOT_BUILD) $(CROSS_BUILD)
	$(Q)tests/run-suites --results $(RESULTS) --format $(FORMAT) --timeout $(SUITE_TIMEOUT) \
	  $(BUILD_SUITES) \
	  $(foreach b,$(UNIT_BINS),"$(call host_run,$(b))") $(if $(HOST_RUN),,$(foreach b,$(FAKE_BINS),"$(b)")) \
	  $(SMP_SUITES) $(FUZZ_SUITES) \
	  $(BOOT_SUITES) $(CROSS_SUITES)

# The full "every length x every fault offset" matrices of test_copy and
# test_physptr: ~50 minutes on a 2-CPU machine, so not part of make check
# (which runs their tiered coverage; see the tests' header comments).
check-exhaustive: deps
	$(Q)$(MAKE) --no-print-directory $(O)/host/bin/test_copy $(O)/host/bin/test_physptr
	$(Q)VTLMEM_TEST_EXHAUSTIVE=1 tests/run-suites --results $(O)/test-results-exhaustive \
	  --format $(FORMAT) "$(O)/host/bin/test_copy" "$(O)/host/bin/test_physptr"

# Line and branch coverage of src/ and arch/ by the host suites (gcc
# --coverage, -O0), as HTML in $(O)/coverage/ and one summary line; fails
# if a suite fails (the report is written either way).
coverage: deps
	$(Q)$(MAKE) --no-print-directory $(COV_BINS)
	$(Q)find $(O)/cov -name '*.gcda' -delete
	$(Q)rc=0; tests/run-suites --results $(O)/coverage/test-results --format $(FORMAT) \
	  --timeout $(SUITE_TIMEOUT) \
	  $(foreach b,$(COV_BINS),"$(b)") || rc=1; \
	  tests/build/coverage-report $(O)/cov $(O)/coverage || rc=1; exit $$rc

# The API reference: Doxygen over include/vtlmem/*.h (docs/Doxyfile; the
# headers' plain C comments pass through docs/doxy-filter). An undocumented
# exported function, type or constant is an error.
docs: deps
	$(Q)tests/build/make-docs $(O)/docs

# libFuzzer targets (tests/fuzz/): each runs FUZZ_SECONDS, new inputs go to
# $(O)/fuzz/corpus/<target>, findings to $(O)/fuzz/findings/. FUZZ=<name>
# runs one target only.
FUZZ ?=
fuzz: deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_BINS)
	$(Q)rc=0; for n in $(if $(FUZZ),fuzz_$(FUZZ:fuzz_%=%),$(FUZZ_NAMES)); do \
	  tests/fuzz/run-fuzz --seconds $(FUZZ_SECONDS) $(O)/fuzz/bin/$$n \
	    tests/fuzz/corpus/$${n#fuzz_} $(O)/fuzz/corpus/$${n#fuzz_} || rc=1; \
	done; exit $$rc

# Timing tables (ratios against baselines measured in the same run), the
# 2-thread one-shot throughput, then the exact instruction counts of the
# same paths under callgrind (tests/bench/counts: stable on a loaded host).
bench: deps
	$(Q)$(MAKE) --no-print-directory $(BENCH_BINS)
	$(Q)for b in $(BENCH_BINS); do echo "== $$b"; $$b || exit 1; done
	$(Q)echo "== $(O)/bench/bin/bench_vtl0 threads"; $(O)/bench/bin/bench_vtl0 threads
	$(Q)echo "== tests/bench/counts (valgrind --tool=callgrind)"; tests/bench/counts $(O)/bench/bin
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

# python3 + libxml2-utils: test results (JUnit XML, schema check); gcovr:
# make coverage; doxygen: make docs; libclang-rt-dev: libFuzzer runtime.
DEBS := make gcc binutils pkg-config libcmocka-dev clang lld llvm valgrind \
        python3 libxml2-utils gcovr doxygen libclang-rt-dev $(ARCH_DEBS)
deps:
	$(Q)missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed$$' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing$$missing"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "deps: need root (or sudo) to install$$missing" >&2; exit 1; fi; \
	  case "$$missing" in *:arm64*) dpkg --print-foreign-architectures | grep -qx arm64 || \
	    $$SUDO dpkg --add-architecture arm64;; esac; \
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

help:
	@echo 'vtlmem targets:'
	@echo '  all (default)     $$(O)/libvtlmem.a for ARCH (freestanding kernel code)'
	@echo '  check             every test (build checks, host unit tests plain + ASan/UBSan'
	@echo '                    + TSan, fuzz corpora + short fuzz runs, QEMU boot tests);'
	@echo '                    JUnit XML per suite in $$(O)/test-results/, ends with'
	@echo '                    "check: N passed, M failed"'
	@echo '  check-exhaustive  the full copy / physptr fault-offset matrices (~50 min)'
	@echo '  coverage          host suites under gcov: $$(O)/coverage/index.html + summary'
	@echo '  docs              API reference from include/vtlmem/*.h: $$(O)/docs/html/index.html'
	@echo '  fuzz              run each libFuzzer target FUZZ_SECONDS (FUZZ=<name>: one)'
	@echo '  demo              boot the demo secure kernel in QEMU'
	@echo '  bench             benchmarks (ratios against in-run baselines)'
	@echo '  install           lib, headers, vtlmem.pc, linker fragment to DESTDIR/PREFIX'
	@echo '  deps              install missing Debian packages (idempotent)'
	@echo '  clean             remove $$(O)'
	@echo '  help              this text'
	@$(if $(DEMO_TARGET),echo '  boot-test         the QEMU test kernel only (BOOT_ONLY=<test prefix>)')
	@$(if $(DEMO_TARGET),echo '  boot-gdb          how to debug it under gdb')
	@$(if $(DEMO_TARGET),echo '  boot-alone        every boot test alone on 1 and 4 CPUs (in check)')
	@echo
	@echo 'Variables (current value):'
	@echo '  O=dir             build directory ($(O))'
	@echo '  ARCH=arch         target architecture ($(ARCH); one of: $(ARCHES))'
	@echo '  CROSS_COMPILE=p   prefix of the kernel toolchain ($(CROSS_COMPILE))'
	@echo '  CC=cc, AR=ar      compiler and archiver ($(CC), $(AR))'
	@echo '  V=1               print the commands'
	@echo '  FORMAT=human|tap  what make check prints ($(FORMAT))'
	@echo '  FUZZ_SECONDS=N    seconds per target for make fuzz ($(FUZZ_SECONDS))'
	@echo '  FUZZ_CHECK_SECONDS=N  seconds per target in make check ($(FUZZ_CHECK_SECONDS))'
	@echo '  SUITE_TIMEOUT=S   a test suite running longer is killed, a failure ($(SUITE_TIMEOUT))'
	@echo '  FUZZ_CC, COV_CC   compilers of the fuzz and coverage builds ($(FUZZ_CC), $(COV_CC))'
	@echo '  PREFIX, DESTDIR   install location ($(PREFIX), $(DESTDIR))'
	@echo 'Objects rebuild when CC, ARCH, CROSS_COMPILE or flags change ($$(O)/*/.flags).'

-include $(shell find $(O) -name '*.d' 2>/dev/null)
