/* SPDX-License-Identifier: MIT */
/*
 * arch/x86_64/copy.S - every fallible memory access of the library:
 * vtlmem_copy, vtlmem_fill, vtlmem_load8..64, vtlmem_store8..64, and the
 * copy's aliasing rule, vtlmem_copy_set_alias / vtlmem_copy_get_alias
 * (contracts in include/vtlmem/copy.h).
 *
 * These routines are the only code that dereferences a VTL0 mapping. Every
 * instruction that may fault lies inside a range registered in the exception
 * table; the page-fault handler (the kernel's #PF handler, or the host
 * tests' SIGSEGV handler) calls vtlmem_fixup(ip) and resumes at the range's
 * fixup.
 *
 * Exception table format (struct vtlmem_extable_entry in src/extable.h):
 * one 12-byte entry per range, three signed 32-bit offsets, EACH RELATIVE TO
 * THE ADDRESS OF THE ENTRY ITSELF (its first byte):
 *	+0  start	first byte of the faulting range
 *	+4  end		one past the last byte of the range (exclusive)
 *	+8  fixup	where to resume after a fault at any ip in [start, end)
 * The entries go to the read-only section "vtlmem_extable" (a C identifier,
 * so a host link defines __start_vtlmem_extable / __stop_vtlmem_extable; a
 * kernel link gets them from linker/vtlmem-extable.ld). Relative offsets
 * need no load-time relocation, in a PIE or in a kernel linked anywhere.
 *
 * Sorted by construction: every fallible routine is in this one file, in one
 * text section, and each EXTABLE() directly follows the range it registers,
 * in address order; so the entries come out sorted by start and disjoint.
 * vtlmem_extable_check() verifies that at boot anyway.
 *
 * Position independence: no absolute address anywhere (relative branches,
 * and link-time PC-relative differences in the table), so the same source
 * assembles for the kernel (-mcmodel=kernel, non-PIC) and into a host PIE.
 *
 * Residual contract of vtlmem_copy/vtlmem_fill: after a fault at byte k of
 * n, return n - k with dst[0, k) done and dst[k, n) untouched. Why it holds:
 *  - Every store is issued only after the loads of the data it stores
 *    succeeded, and an x86 store that faults writes nothing (also when it
 *    straddles two pages). So no byte at or beyond the first faulting byte
 *    k is ever written (on either side of the copy).
 *  - At every instruction inside a copy/fill fault range,
 *    (rdi, rsi, rdx) = (dst + p, src + p, n - p) for a progress point p <= k
 *    with dst[0, p) done. Its fixup is the byte-by-byte tail, which restarts
 *    from p (rewriting [p, k) with the same bytes is harmless), faults at
 *    exactly byte k, and its own fixup returns the bytes left: n - k.
 *    The register-move paths keep p at the start of the current block.
 *  - rep movsb/stosb stop with (rdi, rsi, rcx) at a restartable point; only
 *    "at or before the faulting byte" is architectural (fast-string
 *    microcode works in chunks), so their fixup also finishes through the
 *    byte tail rather than trusting rcx to be exact.
 *
 * SysV calling convention; DF is clear on entry (ABI, and kernel entry
 * code). No stack use, no SIMD/x87 state (kernel code may not touch it).
 * One writable word (.Lalias_mask, the aliasing rule), read only on the
 * path that decides between rep movsb and the block loop.
 */

#include <vtlmem/types.h>

#define RET_EFAULT	(-VTLMEM_EFAULT)

/*
 * Copies and fills of at most SMALL_MAX bytes use register moves (no loop
 * up to 64 bytes, a 64-byte block loop above); larger ones use rep movsb /
 * rep stosb (fast strings: ERMS/FSRM), except copies whose destination is
 * 1..63 bytes ahead of the source modulo the CPU's aliasing period (4 KiB
 * or 4 GiB, see .Lcopy_gt64), which stay in the block loop. Chosen with
 * tests/bench/bench_copy
 * (its threshold table): on AMD Zen 5 rep movsb takes 11-13 ns from 128
 * bytes up (25 ns and more below 2 KiB when the destination is
 * misaligned), the block loop about 1 ns per 64 bytes (9.5 ns for 512
 * aligned, 12 ns misaligned), so the loop wins up to ~600 bytes.
 */
#define SMALL_MAX	512

/*
 * EXTABLE(from, to, fixup): a fault at any ip in [from, to) resumes at
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
	.type name, @function;					\
	.p2align 4;						\
name:

#define FUNC_END(name)						\
	.size name, . - name

/*
 * The aliasing rule: which (dst - src) the copy keeps away from rep movsb.
 * MASK_4K: (dst - src) mod 4096 in [1, 63]; MASK_4G: mod 2^32 in [1, 63];
 * 0: not decided (VTLMEM_COPY_ALIAS_AUTO). Written by
 * vtlmem_copy_set_alias (plain store) and by ALIAS_RESOLVE (lock cmpxchg
 * from 0 only, so it never overwrites a rule a caller set meanwhile).
 */
#define MASK_4K		0xfff
#define MASK_4G		0xffffffff

	.pushsection .data
	.balign 4
.Lalias_mask:
	.long	0
	.popsection

/*
 * ALIAS_RESOLVE: ecx = the rule in force, deciding it first if it is still
 * 0: an Intel CPU with fast short rep movsb (CPUID leaf 0's vendor
 * "GenuineIntel" and CPUID.(7,0):EDX[4] FSRM, the generation measured)
 * gives MASK_4G; any other CPU MASK_4K (the measured AMD behaviour, and the
 * safe one: it keeps the loop for every distance either CPU is slow at). Installed with lock cmpxchg from
 * 0, so a racing vtlmem_copy_set_alias() or a racing resolver on another
 * CPU wins or loses whole; ecx is whatever the word holds afterwards
 * (never 0). Clobbers rax, r8; keeps rbx and rdx (in r10, r11 across
 * CPUID), rdi, rsi. Runs at most once per decision (CPUID may exit to the
 * hypervisor); no stack use.
 */
.macro ALIAS_RESOLVE
	mov	%rbx, %r10
	mov	%rdx, %r11
	xor	%eax, %eax
	xor	%ecx, %ecx
	cpuid
	mov	$MASK_4K, %r8d
	cmp	$0x756e6547, %ebx	/* "Genu" */
	jne	9f
	cmp	$0x49656e69, %edx	/* "ineI" */
	jne	9f
	cmp	$0x6c65746e, %ecx	/* "ntel" */
	jne	9f
	cmp	$7, %eax		/* leaf 0's eax: the highest leaf */
	jb	9f
	mov	$7, %eax
	xor	%ecx, %ecx
	cpuid
	test	$0x10, %edx		/* CPUID.(7,0):EDX[4] FSRM */
	jz	9f
	mov	$MASK_4G, %r8d
9:	mov	%r10, %rbx
	mov	%r11, %rdx
	xor	%eax, %eax
	lock cmpxchg %r8d, .Lalias_mask(%rip)
	mov	%r8d, %ecx
	cmovnz	%eax, %ecx		/* lost the race: the word's value */
.endm

	.text

/*
 * One 64-byte block from src + bias to dst + bias: six loads, their six
 * stores, then the last two (every load of a register before its store;
 * a fault anywhere in a block is recovered from the block's start, p).
 */
.macro COPY64 src:req, dst:req, bias=0
	mov	\bias+0\src, %rax
	mov	\bias+8\src, %rcx
	mov	\bias+16\src, %r8
	mov	\bias+24\src, %r9
	mov	\bias+32\src, %r10
	mov	\bias+40\src, %r11
	mov	%rax, \bias+0\dst
	mov	%rcx, \bias+8\dst
	mov	%r8, \bias+16\dst
	mov	%r9, \bias+24\dst
	mov	%r10, \bias+32\dst
	mov	%r11, \bias+40\dst
	mov	\bias+48\src, %rax
	mov	\bias+56\src, %rcx
	mov	%rax, \bias+48\dst
	mov	%rcx, \bias+56\dst
.endm

/*
 * size_t vtlmem_copy(void *dst, const void *src, size_t n)
 * rdi = dst, rsi = src, rdx = n; returns the bytes not copied in rax.
 * Scratch: rax, rcx, r8-r11.
 */
FUNC_START(vtlmem_copy)
	cmp	$64, %rdx
	ja	.Lcopy_gt64
	cmp	$16, %rdx
	jb	.Lcopy_lt16
/* 0..64 bytes: a head and an (overlapping) tail move; p = 0 throughout. */
.Lcopy_small:
	cmp	$32, %rdx
	jbe	.Lcopy_16_32
	/* 33..64: 32 bytes from the head, 32 from the tail. */
	mov	(%rsi), %rax
	mov	8(%rsi), %rcx
	mov	16(%rsi), %r8
	mov	24(%rsi), %r9
	mov	-32(%rsi,%rdx), %r10
	mov	-24(%rsi,%rdx), %r11
	mov	%rax, (%rdi)
	mov	%rcx, 8(%rdi)
	mov	%r8, 16(%rdi)
	mov	%r9, 24(%rdi)
	mov	-16(%rsi,%rdx), %rax
	mov	-8(%rsi,%rdx), %rcx
	mov	%r10, -32(%rdi,%rdx)
	mov	%r11, -24(%rdi,%rdx)
	mov	%rax, -16(%rdi,%rdx)
	mov	%rcx, -8(%rdi,%rdx)
	xor	%eax, %eax
	ret
.Lcopy_16_32:
	mov	(%rsi), %rax
	mov	8(%rsi), %rcx
	mov	-16(%rsi,%rdx), %r8
	mov	-8(%rsi,%rdx), %r9
	mov	%rax, (%rdi)
	mov	%rcx, 8(%rdi)
	mov	%r8, -16(%rdi,%rdx)
	mov	%r9, -8(%rdi,%rdx)
	xor	%eax, %eax
	ret
.Lcopy_lt16:
	cmp	$4, %rdx
	jb	.Lcopy_lt4
	cmp	$8, %rdx
	jb	.Lcopy_4_7
	mov	(%rsi), %rax
	mov	-8(%rsi,%rdx), %rcx
	mov	%rax, (%rdi)
	mov	%rcx, -8(%rdi,%rdx)
	xor	%eax, %eax
	ret
.Lcopy_4_7:
	mov	(%rsi), %eax
	mov	-4(%rsi,%rdx), %ecx
	mov	%eax, (%rdi)
	mov	%ecx, -4(%rdi,%rdx)
	xor	%eax, %eax
	ret
.Lcopy_lt4:
	test	%rdx, %rdx
	jz	.Lcopy_ret0
	cmp	$2, %rdx
	jb	.Lcopy_1
	movzwl	(%rsi), %eax
	movzwl	-2(%rsi,%rdx), %ecx
	mov	%ax, (%rdi)
	mov	%cx, -2(%rdi,%rdx)
	xor	%eax, %eax
	ret
.Lcopy_1:
	movzbl	(%rsi), %eax
	mov	%al, (%rdi)
.Lcopy_ret0:
	xor	%eax, %eax
	ret
.Lcopy_small_end:
	EXTABLE(.Lcopy_small, .Lcopy_small_end, .Lcopy_tail)

/*
 * 65..SMALL_MAX bytes, and longer copies whose destination is 1..63 bytes
 * ahead of the source modulo the aliasing period: 64-byte blocks, pointers
 * advanced after each block's stores (p = start of the current block), then
 * the last 64 bytes ending at n (overlapping the previous block, so at most
 * 64 bytes are redone).
 *
 * Why the distance test: fast-string microcode moves whole cache lines,
 * and when the destination is a few bytes ahead of the source, each line's
 * loads alias the stores still in flight for the previous one: rep movsb
 * then runs 30-60x slower, while the block loop, whose loads of a block all
 * precede its stores, is not hurt. Where "a few bytes ahead" is counted
 * depends on the CPU (tests/bench/bench_copy's distance sweeps):
 *  - AMD Zen 3: modulo 4 KiB (4K aliasing): 2.1-2.7 GB/s instead of
 *    38-45 GB/s at (dst - src) mod 4096 in [1, 63];
 *  - Intel (a Sapphire Rapids-class Xeon under KVM measured): modulo 4 GiB
 *    only: 0.6-0.7 bytes per cycle instead of 33-45 at 4 KiB when
 *    (dst - src) mod 2^32 is in [1, 63] (for every power of two from 2^15
 *    to 2^31 as the period it ran at full speed; with the source ahead,
 *    also full speed). There the loop is 7-16x faster than the host's
 *    glibc 2.36 memcpy, which falls into the same trap (bench_copy's
 *    4 GiB table). In [1, 63] modulo 4 KiB only, rep movsb runs at
 *    glibc's speed, 2-4x the loop's (8-byte stores: at most 16 bytes per
 *    cycle in L1, glibc's vector stores 33-45).
 * The rule (.Lalias_mask: 0xfff, 0xffffffff, or 0 = not decided yet) is
 * set by vtlmem_copy_set_alias() or, on first need, from the CPU vendor
 * (ALIAS_RESOLVE). Every mask holds the low 12 bits, so a distance outside
 * [1, 63] modulo 4 KiB goes to rep movsb without reading it; in the range,
 * (distance & mask) - 1 <= 62 (unsigned; distance 0 wraps) takes the loop.
 * None of this touches dst or src: it lies outside every fault range.
 */
.Lcopy_gt64:
	cmp	$SMALL_MAX, %rdx
	jbe	.Lcopy_loop
	mov	%edi, %eax
	sub	%esi, %eax		/* eax = (dst - src) mod 2^32 */
	mov	%eax, %ecx
	and	$0xfff, %ecx
	sub	$1, %ecx
	cmp	$62, %ecx
	ja	.Lcopy_rep
	mov	.Lalias_mask(%rip), %ecx
	test	%ecx, %ecx
	jz	.Lcopy_alias_resolve
.Lcopy_alias:
	and	%ecx, %eax
	sub	$1, %eax
	cmp	$62, %eax
	ja	.Lcopy_rep
/*
 * More than SMALL_MAX bytes in the loop: first one 64-byte block at p = 0,
 * then advance by a = 64 - (dst mod 64) (1..64: 64 when dst is aligned),
 * so every following block's stores fill exactly one cache line and no
 * store straddles two lines (the block starts at p = a <= 64: bytes
 * [a, 64) are written twice, with the same values). n - a >= 449, so the
 * loop's first block and the final one stay inside [0, n).
 */
.Lcopy_align:
	COPY64	(%rsi), (%rdi)
	mov	%edi, %eax
	not	%eax
	and	$63, %eax
	inc	%eax			/* a = ((-dst - 1) mod 64) + 1: 1..64 */
	add	%rax, %rsi
	add	%rax, %rdi
	sub	%rax, %rdx
.Lcopy_loop:
	COPY64	(%rsi), (%rdi)
	add	$64, %rsi
	add	$64, %rdi
	sub	$64, %rdx
	cmp	$64, %rdx
	ja	.Lcopy_loop
	/* 1..64 left, and at least 64 bytes behind: one block ending at n. */
	COPY64	"(%rsi,%rdx)", "(%rdi,%rdx)", -64
	xor	%eax, %eax
	ret
.Lcopy_loop_end:
	EXTABLE(.Lcopy_align, .Lcopy_loop_end, .Lcopy_tail)

/* More than SMALL_MAX bytes: fast strings. */
.Lcopy_rep:
	mov	%rdx, %rcx
.Lcopy_rep_insn:
	rep movsb
.Lcopy_rep_end:
	EXTABLE(.Lcopy_rep_insn, .Lcopy_rep_end, .Lcopy_rep_fixup)
	xor	%eax, %eax
	ret
.Lcopy_rep_fixup:
	mov	%rcx, %rdx		/* p = where rep movsb stopped */
	/* fall through */

/* Byte tail (fixup target): copy rdx >= 1 bytes from rsi to rdi. */
.Lcopy_tail:
	movzbl	(%rsi), %ecx
	mov	%cl, (%rdi)
	inc	%rsi
	inc	%rdi
	dec	%rdx
	jnz	.Lcopy_tail
.Lcopy_tail_end:
	EXTABLE(.Lcopy_tail, .Lcopy_tail_end, .Lcopy_tail_fault)
	xor	%eax, %eax
	ret
.Lcopy_tail_fault:
	mov	%rdx, %rax		/* exact: byte n - rdx faulted */
	ret

/* First copy that needs the rule while it is undecided (outside every range). */
.Lcopy_alias_resolve:
	ALIAS_RESOLVE
	mov	%edi, %eax
	sub	%esi, %eax
	jmp	.Lcopy_alias
FUNC_END(vtlmem_copy)

/*
 * size_t vtlmem_fill(void *dst, int c, size_t n)
 * rdi = dst, esi = c, rdx = n; returns the bytes not written in rax.
 * Same structure as vtlmem_copy, stores only; rax holds c in all 8 bytes
 * (al = c for rep stosb and the byte tail). Scratch: rax, rcx.
 */
FUNC_START(vtlmem_fill)
	movzbl	%sil, %eax
	movabs	$0x0101010101010101, %rcx
	imul	%rcx, %rax
	cmp	$64, %rdx
	ja	.Lfill_gt64
	cmp	$16, %rdx
	jb	.Lfill_lt16
/* 0..64 bytes: head and (overlapping) tail stores; p = 0 throughout. */
.Lfill_small:
	cmp	$32, %rdx
	jbe	.Lfill_16_32
	mov	%rax, (%rdi)
	mov	%rax, 8(%rdi)
	mov	%rax, 16(%rdi)
	mov	%rax, 24(%rdi)
	mov	%rax, -32(%rdi,%rdx)
	mov	%rax, -24(%rdi,%rdx)
	mov	%rax, -16(%rdi,%rdx)
	mov	%rax, -8(%rdi,%rdx)
	xor	%eax, %eax
	ret
.Lfill_16_32:
	mov	%rax, (%rdi)
	mov	%rax, 8(%rdi)
	mov	%rax, -16(%rdi,%rdx)
	mov	%rax, -8(%rdi,%rdx)
	xor	%eax, %eax
	ret
.Lfill_lt16:
	cmp	$4, %rdx
	jb	.Lfill_lt4
	cmp	$8, %rdx
	jb	.Lfill_4_7
	mov	%rax, (%rdi)
	mov	%rax, -8(%rdi,%rdx)
	xor	%eax, %eax
	ret
.Lfill_4_7:
	mov	%eax, (%rdi)
	mov	%eax, -4(%rdi,%rdx)
	xor	%eax, %eax
	ret
.Lfill_lt4:
	test	%rdx, %rdx
	jz	.Lfill_ret0
	mov	%al, (%rdi)
	mov	%al, -1(%rdi,%rdx)
	cmp	$2, %rdx
	jbe	.Lfill_ret0
	mov	%al, 1(%rdi)
.Lfill_ret0:
	xor	%eax, %eax
	ret
.Lfill_small_end:
	EXTABLE(.Lfill_small, .Lfill_small_end, .Lfill_tail)

/* 65..SMALL_MAX bytes: 64-byte blocks, then the last 64 bytes ending at n. */
.Lfill_gt64:
	cmp	$SMALL_MAX, %rdx
	ja	.Lfill_rep
.Lfill_loop:
	mov	%rax, (%rdi)
	mov	%rax, 8(%rdi)
	mov	%rax, 16(%rdi)
	mov	%rax, 24(%rdi)
	mov	%rax, 32(%rdi)
	mov	%rax, 40(%rdi)
	mov	%rax, 48(%rdi)
	mov	%rax, 56(%rdi)
	add	$64, %rdi
	sub	$64, %rdx
	cmp	$64, %rdx
	ja	.Lfill_loop
	mov	%rax, -64(%rdi,%rdx)
	mov	%rax, -56(%rdi,%rdx)
	mov	%rax, -48(%rdi,%rdx)
	mov	%rax, -40(%rdi,%rdx)
	mov	%rax, -32(%rdi,%rdx)
	mov	%rax, -24(%rdi,%rdx)
	mov	%rax, -16(%rdi,%rdx)
	mov	%rax, -8(%rdi,%rdx)
	xor	%eax, %eax
	ret
.Lfill_loop_end:
	EXTABLE(.Lfill_loop, .Lfill_loop_end, .Lfill_tail)

.Lfill_rep:
	mov	%rdx, %rcx
.Lfill_rep_insn:
	rep stosb
.Lfill_rep_end:
	EXTABLE(.Lfill_rep_insn, .Lfill_rep_end, .Lfill_rep_fixup)
	xor	%eax, %eax
	ret
.Lfill_rep_fixup:
	mov	%rcx, %rdx		/* p = where rep stosb stopped */
	/* fall through */

/* Byte tail (fixup target): store al to rdx >= 1 bytes at rdi. */
.Lfill_tail:
	mov	%al, (%rdi)
	inc	%rdi
	dec	%rdx
	jnz	.Lfill_tail
.Lfill_tail_end:
	EXTABLE(.Lfill_tail, .Lfill_tail_end, .Lfill_tail_fault)
	xor	%eax, %eax
	ret
.Lfill_tail_fault:
	mov	%rdx, %rax		/* exact: byte n - rdx faulted */
	ret
FUNC_END(vtlmem_fill)

/*
 * int vtlmem_copy_set_alias(enum vtlmem_copy_alias rule)
 * edi = rule: 0 AUTO (mask 0: decide on next need), 1 4K, 2 4G; returns 0
 * or -VTLMEM_EINVAL (any other value; the rule is left as it was).
 */
FUNC_START(vtlmem_copy_set_alias)
	xor	%eax, %eax
	cmp	$1, %edi
	jb	1f
	mov	$MASK_4K, %eax
	je	1f
	cmp	$2, %edi
	jne	2f
	mov	$MASK_4G, %eax
1:	mov	%eax, .Lalias_mask(%rip)
	xor	%eax, %eax
	ret
2:	mov	$-VTLMEM_EINVAL, %eax
	ret
FUNC_END(vtlmem_copy_set_alias)

/*
 * enum vtlmem_copy_alias vtlmem_copy_get_alias(void)
 * Returns 1 (4K) or 2 (4G), deciding an AUTO rule first (ALIAS_RESOLVE).
 */
FUNC_START(vtlmem_copy_get_alias)
	mov	.Lalias_mask(%rip), %ecx
	test	%ecx, %ecx
	jnz	1f
	ALIAS_RESOLVE
1:	mov	$1, %eax
	cmp	$MASK_4K, %ecx
	je	2f
	mov	$2, %eax
2:	ret
FUNC_END(vtlmem_copy_get_alias)

/*
 * Single-copy-atomic accessors: exactly one load or store on the fallible
 * side, and that one instruction is the whole fault range.
 *   int vtlmem_loadN(const void *src, uintN_t *out): rdi = src, rsi = out.
 *   int vtlmem_storeN(void *dst, uintN_t v):         rdi = dst, rsi = v.
 * Return 0, or RET_EFAULT through .Lacc_efault. A faulting load never
 * reaches the store to *out (caller memory, deliberately outside the
 * range: a fault there is a caller bug and must not be fixed up).
 */
#define LOAD(name, insn, reg, outreg)				\
FUNC_START(name);						\
.L##name##_insn:						\
	insn	(%rdi), reg;					\
.L##name##_end:							\
	EXTABLE(.L##name##_insn, .L##name##_end, .Lacc_efault);	\
	mov	outreg, (%rsi);					\
	xor	%eax, %eax;					\
	ret;							\
FUNC_END(name)

#define STORE(name, reg)					\
FUNC_START(name);						\
.L##name##_insn:						\
	mov	reg, (%rdi);					\
.L##name##_end:							\
	EXTABLE(.L##name##_insn, .L##name##_end, .Lacc_efault);	\
	xor	%eax, %eax;					\
	ret;							\
FUNC_END(name)

LOAD(vtlmem_load8, movzbl, %eax, %al)
LOAD(vtlmem_load16, movzwl, %eax, %ax)
LOAD(vtlmem_load32, mov, %eax, %eax)
LOAD(vtlmem_load64, mov, %rax, %rax)
STORE(vtlmem_store8, %sil)
STORE(vtlmem_store16, %si)
STORE(vtlmem_store32, %esi)
STORE(vtlmem_store64, %rsi)

/* The accessors' shared fixup (after, so outside, every range it serves). */
	.p2align 4
.Lacc_efault:
	mov	$RET_EFAULT, %eax
	ret
	.size	.Lacc_efault, . - .Lacc_efault

#if defined(__linux__) && defined(__ELF__)
	/* This object needs no executable stack. */
	.section .note.GNU-stack, "", @progbits
#endif
