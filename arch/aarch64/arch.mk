# SPDX-License-Identifier: MIT
# aarch64 (ARCH=arm64 or ARCH=aarch64): the arch's make fragment, included by
# the top Makefile (variables: see arch/x86_64/arch.mk).
#
#   make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-    GNU cross toolchain
#   make ARCH=arm64 CC=clang                            clang's own aarch64
#                                                       target (no cross gcc)

# Small code model (the default: ADRP + ADD, PC-relative within +-4 GiB, so
# right for a kernel linked anywhere in the top half), no FP/SIMD register
# in C code, atomics inline (gcc's default outline atomics call libgcc's
# __aarch64_* helpers, which a kernel does not link: Linux builds with
# -mno-outline-atomics too; LL/SC, so ARMv8.0 cores without LSE work). clang needs the target named (--target=aarch64-none-elf, a
# freestanding ELF target: no libc, no system headers).
CC_IS_CLANG := $(shell $(CC) --version 2>/dev/null | grep -q clang && echo 1)
ARCH_KFLAGS := -mgeneral-regs-only -mno-outline-atomics $(if $(CC_IS_CLANG),--target=aarch64-none-elf)

# qemu-system-arm: the boot tests (tests/boot/aarch64); the cross toolchain,
# qemu-user and the arm64 cmocka (Debian multiarch): the host suites cross-built
# for aarch64 Linux and run under qemu-aarch64 (make check on any host).
ARCH_DEBS := qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user \
             libcmocka-dev:arm64

# The host suites of an aarch64 build on another machine run under qemu-user
# (the prefix of their command lines in make check).
ifneq ($(shell uname -m),aarch64)
HOST_RUN := qemu-aarch64
endif

# Relocations the library must not need (tests/build/check-lib, reading the
# objects with LLVM's binutils). Allowed: PC-relative ones (ADR_PREL_PG_HI21
# with its *_ABS_LO12_NC low halves, CALL26/JUMP26, branches, PREL32 of the
# exception table) and full-width ABS64 data pointers, which are right at any
# link address and which a self-relocating kernel processes like every other
# (as Linux's RELA fixups do). Refused: truncated absolute addresses (ABS32,
# ABS16: wrong for a kernel linked in the top half), absolute addresses
# built in registers (MOVW_UABS/SABS: the large or tiny-absolute code models,
# tied to one link address), GOT accesses (PIC: a kernel has no GOT) and TLS.
ARCH_BAD_RELOCS := R_AARCH64_(ABS32|ABS16|MOVW_[US]ABS_G[0-3](_NC)?|ADR_GOT_PAGE|LD64_GOT_LO12_NC|LD64_GOTPAGE_LO15|LD64_GOTOFF_LO15|GOTREL(32|64)|GOT_LD_PREL19|TLS[A-Z0-9_]*|TLSDESC[A-Z0-9_]*)

# FP/SIMD state in the disassembly (without the raw encoding): a b/h/s/d/q/v
# register operand, an FP mnemonic (f...), the SIMD-only moves and structure
# loads/stores, or the FP control/status registers.
ARCH_FP_INSNS := [[:space:],{[][bhsdqv]([0-9]|[12][0-9]|3[01])[^0-9:a-z_]|^[[:space:]]*[0-9a-f]+:[[:space:]]+f[a-z0-9]+[[:space:]]|[[:space:]](movi|dup|ins|umov|smov|ld[1-4]r?|st[1-4])[[:space:]]|[[:space:],]fp[cs]r\b
