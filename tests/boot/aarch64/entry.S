/* SPDX-License-Identifier: MIT */
/*
 * Exception vectors (VBAR_EL1). The kernel runs at EL1 on SP_EL0, so its
 * exceptions arrive at the "current EL with SP0" group and the handler runs
 * on SP_EL1, the CPU's exception stack. An exception while handling one
 * (current EL with SPx) is fatal, and so is anything from a lower EL.
 * Every vector saves the full register frame (struct trap_frame in trap.c)
 * and calls trap_entry(frame, kind); on return ELR/SPSR are reloaded from
 * the frame (the data-abort handler sets frame->elr to the library's fixup
 * address) and the registers restored.
 */
#define FRAME_SIZE (36 * 8)

	.macro	vector kind
	.balign	0x80
	sub	sp, sp, #FRAME_SIZE
	stp	x0, x1, [sp, #0]
	mov	x0, #\kind
	b	trap_common
	.endm

	.section .text
	.balign	2048
	.global exception_vectors
exception_vectors:
	vector 0        /* current EL, SP0: synchronous */
	vector 1        /*                 IRQ */
	vector 2        /*                 FIQ */
	vector 3        /*                 SError */
	vector 4        /* current EL, SPx: synchronous (nested) */
	vector 5
	vector 6
	vector 7
	vector 8        /* lower EL, AArch64 */
	vector 9
	vector 10
	vector 11
	vector 12       /* lower EL, AArch32 */
	vector 13
	vector 14
	vector 15

trap_common:
	stp	x2, x3, [sp, #16]
	stp	x4, x5, [sp, #32]
	stp	x6, x7, [sp, #48]
	stp	x8, x9, [sp, #64]
	stp	x10, x11, [sp, #80]
	stp	x12, x13, [sp, #96]
	stp	x14, x15, [sp, #112]
	stp	x16, x17, [sp, #128]
	stp	x18, x19, [sp, #144]
	stp	x20, x21, [sp, #160]
	stp	x22, x23, [sp, #176]
	stp	x24, x25, [sp, #192]
	stp	x26, x27, [sp, #208]
	stp	x28, x29, [sp, #224]
	mrs	x1, sp_el0
	stp	x30, x1, [sp, #240]
	mrs	x1, elr_el1
	mrs	x2, spsr_el1
	stp	x1, x2, [sp, #256]
	mrs	x1, esr_el1
	mrs	x2, far_el1
	stp	x1, x2, [sp, #272]
	mov	x1, x0
	mov	x0, sp
	bl	trap_entry
	ldp	x1, x2, [sp, #256]
	msr	elr_el1, x1
	msr	spsr_el1, x2
	ldp	x0, x1, [sp, #0]
	ldp	x2, x3, [sp, #16]
	ldp	x4, x5, [sp, #32]
	ldp	x6, x7, [sp, #48]
	ldp	x8, x9, [sp, #64]
	ldp	x10, x11, [sp, #80]
	ldp	x12, x13, [sp, #96]
	ldp	x14, x15, [sp, #112]
	ldp	x16, x17, [sp, #128]
	ldp	x18, x19, [sp, #144]
	ldp	x20, x21, [sp, #160]
	ldp	x22, x23, [sp, #176]
	ldp	x24, x25, [sp, #192]
	ldp	x26, x27, [sp, #208]
	ldp	x28, x29, [sp, #224]
	ldr	x30, [sp, #240]
	add	sp, sp, #FRAME_SIZE
	eret
