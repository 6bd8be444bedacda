/* SPDX-License-Identifier: MIT */
/*
 * Exception and interrupt entry: one stub per vector 0-31 and per interrupt
 * vector the kernel uses (the masked PICs' 32-47, VEC_SHOOTDOWN, VEC_WAKE,
 * VEC_SPURIOUS) pushes a zero error code where the CPU pushes none, then
 * the vector, and joins trap_common, which saves the general registers as
 * a struct trap_frame and calls trap_dispatch(). The handler may change
 * frame->rip (the #PF fixup); every other register is restored as it was.
 */
#include "layout.h"

/* Vectors for which the CPU pushes an error code: 8, 10-14, 17, 21, 29, 30. */
#define ERRCODE_VECTORS 0x60227d00

	.macro VEC n
	.balign 16
vec_\n:
	.if \n < 32
	.if ((ERRCODE_VECTORS >> \n) & 1) == 0
	pushq $0
	.endif
	.else
	pushq $0
	.endif
	pushq $\n
	jmp trap_common
	.endm

	.text
	.balign 16
vectors_begin:
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	VEC \n
	.endr
	.irp n, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	VEC \n
	.endr
	.irp n, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47
	VEC \n
	.endr
	.if VEC_SHOOTDOWN != 240 || VEC_WAKE != 241 || VEC_SPURIOUS != 255
	.error "entry.S: interrupt stubs do not match layout.h"
	.endif
	VEC 240
	VEC 241
	VEC 255

trap_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, %rdi
	cld
	call trap_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp
	iretq

	.section .rodata
	.balign 8
	.globl trap_vectors
trap_vectors:
	.irp n, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	.quad vec_\n
	.endr
	.irp n, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31
	.quad vec_\n
	.endr

	/* Interrupt vectors: (vector, stub) pairs, ended by a zero stub. */
	.globl irq_vectors
irq_vectors:
	.irp n, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47
	.quad \n, vec_\n
	.endr
	.quad VEC_SHOOTDOWN, vec_240
	.quad VEC_WAKE, vec_241
	.quad VEC_SPURIOUS, vec_255
	.quad 0, 0

	.section .note.GNU-stack, "", @progbits
