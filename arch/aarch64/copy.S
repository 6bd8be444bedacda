/* SPDX-License-Identifier: MIT */
/*
 * arch/aarch64/copy.S - every fallible memory access of the library:
 * vtlmem_copy, vtlmem_fill, vtlmem_load8..64, vtlmem_store8..64, and the
 * x86_64 copy tuning vtlmem_copy_set_alias / vtlmem_copy_get_alias, which
 * only records its rule here (contracts in include/vtlmem/copy.h).
 *
 * These routines are the only code that dereferences a VTL0 mapping. Every
 * instruction that may fault lies inside a range registered in the exception
 * table; the kernel's synchronous-abort handler (or the host tests' SIGSEGV
 * handler) calls vtlmem_fixup(ELR_EL1 / the signal frame's pc) and resumes
 * at the range's fixup.
 *
 * Exception table: the same format as arch/x86_64/copy.S (src/extable.h):
 * one 12-byte entry per range, three signed 32-bit offsets (start, end,
 * fixup), EACH RELATIVE TO THE ENTRY'S FIRST BYTE, in the read-only section
 * "vtlmem_extable". The assembler turns each into an R_AARCH64_PREL32
 * relocation (or resolves it outright): no load-time relocation, so the
 * table is position independent and stays read-only in a kernel linked
 * anywhere. Sorted by construction: every fallible routine is in this one
 * file and text section, and each EXTABLE() directly follows the range it
 * registers, in address order. vtlmem_extable_check() verifies it at boot.
 *
 * Residual contract of vtlmem_copy/vtlmem_fill: after a fault at byte k of
 * n, return n - k with dst[0, k) done and dst[k, n) untouched. Why it holds
 * on arm64:
 *  - Exceptions are precise: when an instruction faults, no later
 *    instruction has had an architectural effect, and the faulting one has
 *    updated no register (this file never uses base writeback inside a fault
 *    range, so nothing depends on how a faulting writeback behaves; a
 *    faulting load's destination registers are UNKNOWN and never used).
 *  - Every store is issued only after the loads of the data it stores
 *    succeeded, so a source-side fault at byte k writes no byte at or
 *    beyond k. Destination side: unlike x86, a store that faults may have
 *    been PARTIALLY performed: an unaligned STR/STP that crosses into a
 *    faulting page may have written its bytes on the page before (Arm ARM:
 *    an access that is not single-copy atomic behaves as several smaller
 *    accesses; Cortex-A cores document page-crossing stores as two
 *    stores). Those bytes all lie before k, never at or after it: the
 *    faulting page itself is never written.
 *  - At every instruction inside a copy/fill fault range,
 *    (x0, x1, x2) = (dst + p, src + p, n - p) for a progress point p that
 *    is at or below the start of every access the current block makes, so
 *    p <= k, with dst[0, p) done. The fixup is the byte-by-byte tail, which
 *    restarts from p: it rewrites [p, k) with the source bytes (repairing
 *    whatever a partially performed store left there), faults at exactly
 *    byte k (a single-byte access is never split), and its own fixup
 *    returns the bytes left: n - k. Pointers only advance after a block's
 *    stores, with plain adds (no memory access can fault between them).
 *  - Alignment faults (Device memory, VTLMEM_CACHE_UC) go to the same
 *    fixup: the byte tail never faults on alignment, so such a copy
 *    completes, one byte at a time, and returns 0.
 *
 * AAPCS64; no stack, no FP/SIMD register (the library builds with
 * -mgeneral-regs-only, and kernel code may not touch FP state). Only
 * position-independent addressing: relative branches and the PC-relative
 * table.
 */

#include <vtlmem/types.h>

#define RET_EFAULT	(-VTLMEM_EFAULT)

/*
 * EXTABLE(from, to, fixup): a fault at any pc in [from, to) resumes at
 * fixup. Each offset is relative to the entry's first byte (". - 4" and
 * ". - 8" rewind the location counter to it for the 2nd and 3rd word).
 */
#define EXTABLE(from, to, fixup)				\
	.pushsection vtlmem_extable, "a";			\
	.balign 4;						\
	.long (from) - .;					\
	.long (to) - (. - 4);					\
	.long (fixup) - (. - 8);				\
	.popsection

#define FUNC_START(name)					\
	.globl name;						\
	.type name, %function;					\
	.p2align 4;						\
name:

#define FUNC_END(name)						\
	.size name, . - name

	.text

/*
 * size_t vtlmem_copy(void *dst, const void *src, size_t n)
 * x0 = dst, x1 = src, x2 = n; returns the bytes not copied in x0.
 * Scratch: x3-x13.
 */
FUNC_START(vtlmem_copy)
	cmp	x2, #64
	b.hi	.Lcopy_loop
/* 0..64 bytes: a head and an (overlapping) tail; p = 0 throughout. */
.Lcopy_small:
	add	x4, x1, x2			/* src end */
	add	x5, x0, x2			/* dst end */
	cmp	x2, #16
	b.lo	.Lcopy_lt16
	cmp	x2, #32
	b.hi	.Lcopy_33_64
	/* 16..32 */
	ldp	x6, x7, [x1]
	ldp	x8, x9, [x4, #-16]
	stp	x6, x7, [x0]
	stp	x8, x9, [x5, #-16]
	mov	x0, #0
	ret
.Lcopy_33_64:
	ldp	x6, x7, [x1]
	ldp	x8, x9, [x1, #16]
	ldp	x10, x11, [x4, #-32]
	ldp	x12, x13, [x4, #-16]
	stp	x6, x7, [x0]
	stp	x8, x9, [x0, #16]
	stp	x10, x11, [x5, #-32]
	stp	x12, x13, [x5, #-16]
	mov	x0, #0
	ret
.Lcopy_lt16:
	tbz	x2, #3, .Lcopy_lt8
	ldr	x6, [x1]			/* 8..15 */
	ldr	x7, [x4, #-8]
	str	x6, [x0]
	str	x7, [x5, #-8]
	mov	x0, #0
	ret
.Lcopy_lt8:
	tbz	x2, #2, .Lcopy_lt4
	ldr	w6, [x1]			/* 4..7 */
	ldr	w7, [x4, #-4]
	str	w6, [x0]
	str	w7, [x5, #-4]
	mov	x0, #0
	ret
.Lcopy_lt4:
	cbz	x2, .Lcopy_ret0
	ldrb	w6, [x1]			/* 1..3 */
	tbz	x2, #1, .Lcopy_1
	ldrh	w7, [x4, #-2]
	strb	w6, [x0]
	strh	w7, [x5, #-2]
	mov	x0, #0
	ret
.Lcopy_1:
	strb	w6, [x0]
.Lcopy_small_end:
	EXTABLE(.Lcopy_small, .Lcopy_small_end, .Lcopy_tail)
.Lcopy_ret0:
	mov	x0, #0
	ret

/*
 * 65 bytes and more: 64-byte blocks, all four loads before the four stores,
 * pointers advanced after the stores (p = start of the current block); then
 * the last 64 bytes ending at n (overlapping the previous block, so at most
 * 64 bytes are redone). 13 instructions per 64 bytes.
 */
.Lcopy_loop:
	ldp	x6, x7, [x1]
	ldp	x8, x9, [x1, #16]
	ldp	x10, x11, [x1, #32]
	ldp	x12, x13, [x1, #48]
	stp	x6, x7, [x0]
	stp	x8, x9, [x0, #16]
	stp	x10, x11, [x0, #32]
	stp	x12, x13, [x0, #48]
	add	x1, x1, #64
	add	x0, x0, #64
	sub	x2, x2, #64
	cmp	x2, #64
	b.hi	.Lcopy_loop
	/* 1..64 left, and at least 64 bytes behind: one block ending at n. */
	add	x4, x1, x2
	add	x5, x0, x2
	ldp	x6, x7, [x4, #-64]
	ldp	x8, x9, [x4, #-48]
	ldp	x10, x11, [x4, #-32]
	ldp	x12, x13, [x4, #-16]
	stp	x6, x7, [x5, #-64]
	stp	x8, x9, [x5, #-48]
	stp	x10, x11, [x5, #-32]
	stp	x12, x13, [x5, #-16]
.Lcopy_loop_end:
	EXTABLE(.Lcopy_loop, .Lcopy_loop_end, .Lcopy_tail)
	mov	x0, #0
	ret

/* Byte tail (fixup target): copy x2 >= 1 bytes from x1 to x0; x3 = done. */
.Lcopy_tail:
	mov	x3, #0
.Lcopy_tail_loop:
	ldrb	w6, [x1, x3]
	strb	w6, [x0, x3]
	add	x3, x3, #1
	cmp	x3, x2
	b.lo	.Lcopy_tail_loop
.Lcopy_tail_end:
	EXTABLE(.Lcopy_tail_loop, .Lcopy_tail_end, .Lcopy_tail_fault)
	mov	x0, #0
	ret
.Lcopy_tail_fault:
	sub	x0, x2, x3			/* exact: byte n - (x2 - x3) faulted */
	ret
FUNC_END(vtlmem_copy)

/*
 * size_t vtlmem_fill(void *dst, int c, size_t n)
 * x0 = dst, w1 = c, x2 = n; returns the bytes not written in x0.
 * Same structure as vtlmem_copy, stores only; x1 holds c in all 8 bytes
 * (its low byte is c for the byte tail). Scratch: x3, x5.
 */
FUNC_START(vtlmem_fill)
	and	x1, x1, #0xff
	mov	x3, #0x0101010101010101
	mul	x1, x1, x3
	cmp	x2, #64
	b.hi	.Lfill_loop
/* 0..64 bytes: head and (overlapping) tail stores; p = 0 throughout. */
.Lfill_small:
	add	x5, x0, x2
	cmp	x2, #16
	b.lo	.Lfill_lt16
	cmp	x2, #32
	b.hi	.Lfill_33_64
	stp	x1, x1, [x0]			/* 16..32 */
	stp	x1, x1, [x5, #-16]
	mov	x0, #0
	ret
.Lfill_33_64:
	stp	x1, x1, [x0]
	stp	x1, x1, [x0, #16]
	stp	x1, x1, [x5, #-32]
	stp	x1, x1, [x5, #-16]
	mov	x0, #0
	ret
.Lfill_lt16:
	tbz	x2, #3, .Lfill_lt8
	str	x1, [x0]			/* 8..15 */
	str	x1, [x5, #-8]
	mov	x0, #0
	ret
.Lfill_lt8:
	tbz	x2, #2, .Lfill_lt4
	str	w1, [x0]			/* 4..7 */
	str	w1, [x5, #-4]
	mov	x0, #0
	ret
.Lfill_lt4:
	cbz	x2, .Lfill_ret0
	strb	w1, [x0]			/* 1..3 */
	tbz	x2, #1, .Lfill_ret0
	strh	w1, [x5, #-2]
.Lfill_small_end:
	EXTABLE(.Lfill_small, .Lfill_small_end, .Lfill_tail)
.Lfill_ret0:
	mov	x0, #0
	ret

/* 65 bytes and more: 64-byte blocks, then the last 64 bytes ending at n. */
.Lfill_loop:
	stp	x1, x1, [x0]
	stp	x1, x1, [x0, #16]
	stp	x1, x1, [x0, #32]
	stp	x1, x1, [x0, #48]
	add	x0, x0, #64
	sub	x2, x2, #64
	cmp	x2, #64
	b.hi	.Lfill_loop
	add	x5, x0, x2
	stp	x1, x1, [x5, #-64]
	stp	x1, x1, [x5, #-48]
	stp	x1, x1, [x5, #-32]
	stp	x1, x1, [x5, #-16]
.Lfill_loop_end:
	EXTABLE(.Lfill_loop, .Lfill_loop_end, .Lfill_tail)
	mov	x0, #0
	ret

/* Byte tail (fixup target): store w1's low byte to x2 >= 1 bytes at x0. */
.Lfill_tail:
	mov	x3, #0
.Lfill_tail_loop:
	strb	w1, [x0, x3]
	add	x3, x3, #1
	cmp	x3, x2
	b.lo	.Lfill_tail_loop
.Lfill_tail_end:
	EXTABLE(.Lfill_tail_loop, .Lfill_tail_end, .Lfill_tail_fault)
	mov	x0, #0
	ret
.Lfill_tail_fault:
	sub	x0, x2, x3			/* exact: byte n - (x2 - x3) faulted */
	ret
FUNC_END(vtlmem_fill)

/*
 * Single-copy-atomic accessors: exactly one load or store on the fallible
 * side, and that one instruction is the whole fault range. An aligned
 * access of 1, 2, 4 or 8 bytes is single-copy atomic on arm64 (Arm ARM
 * B2.2.1); an unaligned one is not (it may be performed as smaller
 * accesses), and one that crosses into a faulting page may have written
 * its bytes on the other page before the abort (see the residual argument
 * above).
 *   int vtlmem_loadN(const void *src, uintN_t *out): x0 = src, x1 = out.
 *   int vtlmem_storeN(void *dst, uintN_t v):         x0 = dst, x1 = v.
 * Return 0, or RET_EFAULT through .Lacc_efault. A faulting load never
 * reaches the store to *out (caller memory, deliberately outside the
 * range: a fault there is a caller bug and must not be fixed up).
 */
#define LOAD(name, insn, reg, outinsn)				\
FUNC_START(name);						\
.L##name##_insn:						\
	insn	reg, [x0];					\
.L##name##_end:							\
	EXTABLE(.L##name##_insn, .L##name##_end, .Lacc_efault);	\
	outinsn	reg, [x1];					\
	mov	w0, #0;						\
	ret;							\
FUNC_END(name)

#define STORE(name, insn, reg)					\
FUNC_START(name);						\
.L##name##_insn:						\
	insn	reg, [x0];					\
.L##name##_end:							\
	EXTABLE(.L##name##_insn, .L##name##_end, .Lacc_efault);	\
	mov	w0, #0;						\
	ret;							\
FUNC_END(name)

LOAD(vtlmem_load8, ldrb, w2, strb)
LOAD(vtlmem_load16, ldrh, w2, strh)
LOAD(vtlmem_load32, ldr, w2, str)
LOAD(vtlmem_load64, ldr, x2, str)
STORE(vtlmem_store8, strb, w1)
STORE(vtlmem_store16, strh, w1)
STORE(vtlmem_store32, str, w1)
STORE(vtlmem_store64, str, x1)

/*
 * The copy's aliasing rule: recorded, no effect (this copy has no string
 * instruction to keep away from the x86 fast-string trap). 0 = AUTO, which
 * vtlmem_copy_get_alias() reports as 1 (4K) without reading the CPU.
 *   int vtlmem_copy_set_alias(enum vtlmem_copy_alias rule): w0 = rule;
 *     0, or -VTLMEM_EINVAL for a rule other than 0..2 (unchanged).
 *   enum vtlmem_copy_alias vtlmem_copy_get_alias(void): 1 or 2.
 */
	.pushsection .data
	.balign 4
.Lalias_rule:
	.long	0
	.popsection

FUNC_START(vtlmem_copy_set_alias)
	cmp	w0, #2
	b.hi	1f
	adrp	x1, .Lalias_rule
	str	w0, [x1, :lo12:.Lalias_rule]
	mov	w0, #0
	ret
1:	mov	w0, #-VTLMEM_EINVAL
	ret
FUNC_END(vtlmem_copy_set_alias)

FUNC_START(vtlmem_copy_get_alias)
	adrp	x1, .Lalias_rule
	ldr	w0, [x1, :lo12:.Lalias_rule]
	cmp	w0, #0
	mov	w1, #1
	csel	w0, w1, w0, eq
	ret
FUNC_END(vtlmem_copy_get_alias)

/* The accessors' shared fixup (after, so outside, every range it serves). */
	.p2align 4
.Lacc_efault:
	mov	w0, #RET_EFAULT
	ret
	.size	.Lacc_efault, . - .Lacc_efault

#if defined(__linux__) && defined(__ELF__)
	/* This object needs no executable stack. */
	.section .note.GNU-stack, "", %progbits
#endif
