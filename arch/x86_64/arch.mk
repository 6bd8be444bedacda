# SPDX-License-Identifier: MIT
# x86_64: the arch's make fragment, included by the top Makefile for
# ARCH=x86_64. Adding an architecture means adding arch/<arch>/ (this file,
# vtlmem_arch.h and the functions of src/arch.h), tests/boot/<arch>/ (its
# boot.mk) and tests/unit/common/arch/<arch>/ (the host tests' independent
# entry decoder): nothing in src/ changes.
#
#   ARCH_KFLAGS        compiler flags of the freestanding library and of the
#                      boot kernels, on top of the common ones
#   ARCH_DEBS          Debian packages the arch's boot tests need (make deps)
#   ARCH_BAD_RELOCS    extended regex of relocation types the library must not
#                      contain (tests/build/check-lib)
#   ARCH_FP_INSNS      extended regex of disassembly showing FP/SIMD state
#                      (tests/build/check-lib: the library touches none)

# Kernel code model (linked in the top 2 GiB), no red zone (interrupts use
# the kernel stack), no SSE/x87 state in C code.
ARCH_KFLAGS := -mcmodel=kernel -mno-red-zone -mgeneral-regs-only
ARCH_DEBS := qemu-system-x86
ARCH_BAD_RELOCS := R_X86_64_(32|GOTPCREL|GOTPCRELX|REX_GOTPCRELX|GOTOFF64|GOT32)
ARCH_FP_INSNS := %[xyz]mm[0-9]|%st\(|\bf(ld|st|x)
