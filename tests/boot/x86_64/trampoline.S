/* SPDX-License-Identifier: MIT */
/*
 * The application processors' way into the kernel.
 *
 * tramp_start..tramp_end is a position-dependent blob that smp_init() copies
 * to physical TRAMP_PA (below 1 MiB, page-aligned: the SIPI vector is
 * TRAMP_PA >> 12, so the AP starts in real mode at CS = TRAMP_PA >> 4,
 * IP = 0). It is assembled here, in .rodata, and never runs in place, so
 * every address in it is written as TRAMP_PA + (label - tramp_start).
 *
 *   16-bit: load the blob's GDT, set CR0.PE, far jump to 32-bit code;
 *   32-bit: CR3 = head.S's boot PML4 (tramp_cr3, filled in by smp_init: it
 *           still identity-maps [0, 1 GiB) and maps the kernel image), PAE,
 *           EFER.LME and NXE, CR0.PG and WP (caches on: CD/NW cleared, INIT
 *           leaves them set), far jump to 64-bit code;
 *   64-bit: jump to ap_entry64 at the kernel's link address.
 *
 * The blob's GDT has the kernel's layout (64-bit code KERNEL_CS, data
 * KERNEL_DS) plus a 32-bit code segment for the middle step, so CS needs no
 * reload when ap_main() loads the CPU's own GDT.
 */
#include "layout.h"

#define T(x)            (TRAMP_PA + ((x) - tramp_start))
#define TRAMP_CS32      0x18

#define CR0_PE          (1 << 0)
#define CR0_NW          (1 << 29)
#define CR0_CD          (1 << 30)
#define CR0_WP          (1 << 16)
#define CR0_PG          (1 << 31)
#define CR4_PAE         (1 << 5)
#define MSR_EFER        0xc0000080
#define EFER_LME        (1 << 8)
#define EFER_NXE        (1 << 11)

	.section .rodata
	.balign 16
	.globl tramp_start, tramp_end, tramp_cr3
	.code16
tramp_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	lgdtl tramp_gdtr - tramp_start
	movl %cr0, %eax
	andl $~(CR0_CD | CR0_NW), %eax
	orl $CR0_PE, %eax
	movl %eax, %cr0
	ljmpl $TRAMP_CS32, $T(tramp32)

	.code32
tramp32:
	movl $KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl T(tramp_cr3), %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	rdmsr
	orl $(EFER_LME | EFER_NXE), %eax
	wrmsr
	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP), %eax
	movl %eax, %cr0
	ljmp $KERNEL_CS, $T(tramp64)

	.code64
tramp64:
	movabsq $ap_entry64, %rax
	jmp *%rax

	.balign 8
tramp_gdt:
	.quad 0
	.quad 0x00af9a000000ffff        /* KERNEL_CS: 64-bit code */
	.quad 0x00cf92000000ffff        /* KERNEL_DS: data        */
	.quad 0x00cf9a000000ffff        /* TRAMP_CS32: 32-bit code */
tramp_gdt_end:
tramp_gdtr:
	.word tramp_gdt_end - tramp_gdt - 1
	.long T(tramp_gdt)
	.balign 4
tramp_cr3:
	.long 0
tramp_end:

/*
 * 64-bit, at the link address, still on the boot tables (they map the
 * kernel image, so the stack is there): segments, this AP's stack, then
 * ap_main(ap_boot_cpu) loads the CPU's GDT/TSS/IDT and the kernel's CR3.
 */
	.text
	.globl ap_entry64
ap_entry64:
	movl $KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq ap_boot_stack(%rip), %rsp
	movl ap_boot_cpu(%rip), %edi
	xorl %ebp, %ebp
	call ap_main
1:	cli
	hlt
	jmp 1b

	.section .note.GNU-stack, "", @progbits
