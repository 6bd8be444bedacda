/* SPDX-License-Identifier: MIT */
/*
 * Boot entry: a multiboot (v1) header with the "a.out kludge" address fields
 * (QEMU's -kernel loads an ELF64 image only that way: it copies the file from
 * the header's offset to load_addr and zeroes the bss), a 32-bit entry that
 * builds throw-away page tables, enters long mode and jumps to the kernel's
 * link address in the top 2 GiB.
 *
 * The whole image is one loadable segment linked at KERNEL_VMA + physical
 * address, so the 32-bit code addresses everything as (symbol - KERNEL_VMA).
 *
 * Boot tables: one page directory of 2 MiB pages mapping physical [0, 1 GiB),
 * reached from three places: the identity map (needed while the far jump
 * switches to 64-bit code), the direct map (DMAP_BASE) and the kernel map
 * (KERNEL_VMA). kmain() replaces them with the final tables (no identity
 * map, W^X kernel image).
 */
#include "layout.h"

#define MB_MAGIC        0x1badb002
#define MB_BOOT_MAGIC   0x2badb002
#define MB_FLAGS        ((1 << 1) | (1 << 16))  /* memory info, address fields */

#define PHYS(x)         ((x) - KERNEL_VMA)
#define PML4_INDEX(va)  (((va) >> 39) & 511)
#define PDPT_INDEX(va)  (((va) >> 30) & 511)

#define CR0_WP          (1 << 16)
#define CR0_PG          (1 << 31)
#define CR4_PAE         (1 << 5)
#define MSR_EFER        0xc0000080
#define EFER_LME        (1 << 8)
#define EFER_NXE        (1 << 11)

	.section .multiboot, "a"
	.balign 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long PHYS(mb_header)           /* header_addr   */
	.long PHYS(__image_start)       /* load_addr     */
	.long PHYS(__load_end)          /* load_end_addr */
	.long PHYS(__bss_end)           /* bss_end_addr  */
	.long PHYS(_start32)            /* entry_addr    */

	.section .boot.text, "ax"
	.code32
	.globl _start32
_start32:
	cli
	cld
	movl $PHYS(boot_stack_top), %esp
	cmpl $MB_BOOT_MAGIC, %eax
	jne early_fail
	movl %ebx, PHYS(boot_mb_info)

	/* Long mode and NX are required (PAT is checked in C). */
	movl $0x80000000, %eax
	cpuid
	cmpl $0x80000001, %eax
	jb early_fail
	movl $0x80000001, %eax
	cpuid
	testl $(1 << 29), %edx
	jz early_fail
	testl $(1 << 20), %edx
	jz early_fail

	/* Boot page directory: 512 x 2 MiB, present, writable. */
	movl $PHYS(boot_pd), %edi
	movl $0x83, %eax
	movl $512, %ecx
1:	movl %eax, (%edi)
	movl $0, 4(%edi)
	addl $0x200000, %eax
	addl $8, %edi
	loop 1b

	movl $(PHYS(boot_pd) + 3), %eax
	movl %eax, PHYS(boot_pdpt_low)
	movl %eax, PHYS(boot_pdpt_high) + 8 * PDPT_INDEX(KERNEL_VMA)
	movl $(PHYS(boot_pdpt_low) + 3), %eax
	movl %eax, PHYS(boot_pml4)
	movl %eax, PHYS(boot_pml4) + 8 * PML4_INDEX(DMAP_BASE)
	movl $(PHYS(boot_pdpt_high) + 3), %eax
	movl %eax, PHYS(boot_pml4) + 8 * PML4_INDEX(KERNEL_VMA)

	movl $PHYS(boot_pml4), %eax
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

	lgdt PHYS(gdt_ptr32)
	ljmp $KERNEL_CS, $PHYS(start64_low)

	/* Not a multiboot boot or no long mode: fail through isa-debug-exit. */
early_fail:
	movw $EXIT_PORT, %dx
	movl $EXIT_OOPS, %eax
	outl %eax, %dx
2:	hlt
	jmp 2b

	.code64
start64_low:
	movabsq $start64, %rax
	jmp *%rax

	.text
start64:
	lgdt gdt_ptr64(%rip)
	movl $KERNEL_DS, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs
	movq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	movl boot_mb_info(%rip), %edi
	call kmain
3:	cli
	hlt
	jmp 3b

	/* GDT: null, 64-bit code, data, 64-bit TSS (16 bytes, filled by C). */
	.data
	.balign 16
	.globl gdt
gdt:
	.quad 0
	.quad 0x00af9a000000ffff
	.quad 0x00cf92000000ffff
	.quad 0, 0
gdt_end:

	.balign 8
gdt_ptr32:
	.word gdt_end - gdt - 1
	.long PHYS(gdt)
	.balign 8
	.word 0, 0, 0
gdt_ptr64:
	.word gdt_end - gdt - 1
	.quad gdt

	.globl boot_mb_info
	.balign 4
boot_mb_info:
	.long 0

	/* boot_pml4 stays: the APs' trampoline enters long mode on it. */
	.section .bss.boot, "aw", @nobits
	.balign 4096
	.globl boot_pml4
boot_pml4:
	.skip 4096
boot_pdpt_low:
	.skip 4096
boot_pdpt_high:
	.skip 4096
boot_pd:
	.skip 4096

	/* The page below the stack stays unmapped in the final tables. */
	.section .bss.stack, "aw", @nobits
	.balign 4096
	.globl boot_stack_guard, boot_stack_top
boot_stack_guard:
	.skip 4096
boot_stack:
	.skip STACK_SIZE
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
