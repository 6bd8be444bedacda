/* SPDX-License-Identifier: MIT */
/*
 * Entry of the aarch64 test kernel. QEMU virt loads the ELF at its physical
 * addresses (linker/boot-aarch64.ld) and starts CPU 0 at _start with the MMU
 * off, at EL1 (or at EL2 with -M virt,virtualization=on: dropped to EL1
 * here). The other CPUs arrive at secondary_entry through PSCI CPU_ON with
 * their CPU number in x0.
 *
 * Until the MMU is on this code runs at its physical address: only
 * PC-relative addressing (adr/adrp) is used. The boot tables built here
 * (boot_l0_id for TTBR0, boot_l0_k for TTBR1; kept: the other CPUs turn
 * their MMU on through them) map
 *   - RAM's first GiB 1:1 (TTBR0), so the instruction after the MMU switch
 *     is still mapped;
 *   - the same GiB at KERNEL_VMA + physical (the image) and at DMAP_BASE +
 *     physical (the direct map), one 1 GiB block each;
 *   - physical [0, 1 GiB) at DEV_BASE as Device-nGnRnE (the PL011).
 * Memory attributes: the boot MAIR has Normal write-back at index 0 and
 * Device-nGnRnE at index 1; mm.c switches to the library's MAIR layout with
 * the final tables.
 *
 * Stacks: the kernel runs on SP_EL0 (PSTATE.SP = 0, "EL1t"); an exception
 * switches to SP_EL1, the CPU's separate exception stack, so even a stack
 * overflow (a fault on the guard page below SP_EL0's stack) is reported.
 */
#include "layout.h"

#define BOOT_MAIR      0x00ff          /* idx 0: Normal WB RA WA, idx 1: Device-nGnRnE */
#define BLK_NORMAL     (PTE_VALID | PTE_ATTR(0) | PTE_SH_INNER | PTE_AF)
#define BLK_DEVICE     (PTE_VALID | PTE_ATTR(1) | PTE_AF | PTE_PXN | PTE_UXN)

/* TCR_EL1: 48-bit VA both halves, 4 KiB granules, WB WA inner-shareable walks. */
#define TCR_T0SZ       16
#define TCR_T1SZ       (16 << 16)
#define TCR_WALK0      ((1 << 8) | (1 << 10) | (3 << 12))      /* IRGN0, ORGN0, SH0 */
#define TCR_WALK1      ((1 << 24) | (1 << 26) | (3 << 28))     /* IRGN1, ORGN1, SH1 */
#define TCR_TG1_4K     (2 << 30)
#define TCR_BASE       (TCR_T0SZ | TCR_T1SZ | TCR_WALK0 | TCR_WALK1 | TCR_TG1_4K)

/* SCTLR_EL1: RES1 bits of v8.0 + M, C, SA, SA0, I. (WXN is set by mm.c.) */
#define SCTLR_RES1     0x30d00800
#define SCTLR_MMU_ON   (SCTLR_RES1 | (1 << 0) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 12))

	.section .boot.text, "ax"
	.global _start
_start:
	msr	daifset, #0xf
	bl	drop_to_el1
	/* boot tables */
	adrp	x0, boot_l0_id
	adrp	x1, boot_l1_id
	orr	x2, x1, #(PTE_VALID | PTE_TABLE)
	str	x2, [x0]                        /* L0[0] -> L1 */
	ldr	x2, =(RAM_BASE | BLK_NORMAL)
	str	x2, [x1, #((RAM_BASE >> 30) * 8)]   /* 1:1 RAM GiB */

	adrp	x0, boot_l0_k
	adrp	x1, boot_l1_k
	orr	x2, x1, #(PTE_VALID | PTE_TABLE)
	str	x2, [x0, #(((KERNEL_VMA + RAM_BASE) >> 39) & 511) * 8]
	ldr	x2, =(RAM_BASE | BLK_NORMAL)
	str	x2, [x1, #(((KERNEL_VMA + RAM_BASE) >> 30) & 511) * 8]
	adrp	x1, boot_l1_d
	orr	x2, x1, #(PTE_VALID | PTE_TABLE)
	str	x2, [x0, #(((DMAP_BASE + RAM_BASE) >> 39) & 511) * 8]
	ldr	x2, =(RAM_BASE | BLK_NORMAL | PTE_PXN | PTE_UXN)
	str	x2, [x1, #(((DMAP_BASE + RAM_BASE) >> 30) & 511) * 8]
	adrp	x1, boot_l1_dev
	orr	x2, x1, #(PTE_VALID | PTE_TABLE)
	str	x2, [x0, #((DEV_BASE >> 39) & 511) * 8]
	ldr	x2, =BLK_DEVICE
	str	x2, [x1, #((DEV_BASE >> 30) & 511) * 8]
	dsb	sy

	adrp	x0, boot_l0_k
	bl	mmu_on
	ldr	x0, =boot_high
	br	x0

	/* CPU 0 at its link address, MMU on. */
boot_high:
	ldr	x0, =exception_vectors
	msr	vbar_el1, x0
	mov	x19, #0
	bl	cpu_regs
	mov	x29, #0
	mov	x30, #0
	bl	kmain
1:	wfe
	b	1b

/*
 * Another CPU, from PSCI CPU_ON: x0 = its CPU number. The final kernel
 * tables (boot_ttbr1, set by the boot CPU before CPU_ON) go in TTBR1, the
 * boot identity tables in TTBR0 until the MMU is on.
 */
	.global secondary_entry
secondary_entry:
	msr	daifset, #0xf
	mov	x19, x0
	bl	drop_to_el1
	adr	x0, boot_ttbr1
	ldr	x0, [x0]
	bl	mmu_on
	ldr	x0, =secondary_high
	br	x0
secondary_high:
	ldr	x0, =exception_vectors
	msr	vbar_el1, x0
	bl	cpu_regs
	mov	x29, #0
	mov	x30, #0
	mov	x0, x19
	bl	ap_main
1:	wfe
	b	1b

/*
 * CPU x19's registers: TPIDR_EL1 = &cpus[x19], SP_EL1 = top of its exception
 * stack, then SP_EL0 = top of its stack, selected. Stack block of CPU n at
 * cpu_stacks + n * CPU_STACK_BLOCK: guard page, stack, guard page,
 * exception stack (the guard pages are left unmapped by mm.c).
 */
cpu_regs:
	ldr	x0, =cpus
	mov	x1, #CPU_STRUCT_SIZE
	madd	x0, x1, x19, x0
	msr	tpidr_el1, x0
	ldr	x0, =cpu_stacks
	mov	x1, #CPU_STACK_BLOCK
	madd	x0, x1, x19, x0
	add	x1, x0, #CPU_STACK_BLOCK
	mov	sp, x1                          /* SP_EL1: exception stack */
	add	x1, x0, #(4096 + STACK_SIZE)
	msr	spsel, #0
	mov	sp, x1                          /* SP_EL0 from here on */
	isb
	ret

/*
 * At EL2 (virtualization=on): EL1 is AArch64, no traps of EL1 timers, FP or
 * ID registers, then eret to EL1h with every exception masked. At EL1:
 * nothing. Clobbers x0, x1.
 */
drop_to_el1:
	mrs	x0, CurrentEL
	cmp	x0, #(2 << 2)
	b.ne	1f
	mov	x0, #(1 << 31)                  /* HCR_EL2.RW: EL1 is AArch64 */
	msr	hcr_el2, x0
	mov	x0, #3                          /* CNTHCTL_EL2.EL1PCTEN | EL1PCEN */
	msr	cnthctl_el2, x0
	msr	cntvoff_el2, xzr
	mov	x0, #0x33ff                     /* CPTR_EL2: RES1 bits, no traps */
	msr	cptr_el2, x0
	msr	hstr_el2, xzr
	mrs	x0, midr_el1
	msr	vpidr_el2, x0
	mrs	x0, mpidr_el1
	msr	vmpidr_el2, x0
	ldr	x0, =SCTLR_RES1
	msr	sctlr_el1, x0
	mov	x0, #0x3c5                      /* SPSR: EL1h, DAIF masked */
	msr	spsr_el2, x0
	msr	elr_el2, x30
	isb
	eret
1:	ret

/*
 * MMU on with TTBR1 = x0, TTBR0 = boot_l0_id, the boot MAIR and TCR (IPS
 * from ID_AA64MMFR0_EL1.PARange, at most 48 bits). Returns to a physical
 * address, which the identity map keeps valid. Clobbers x0-x3.
 */
mmu_on:
	msr	ttbr1_el1, x0
	adrp	x0, boot_l0_id
	msr	ttbr0_el1, x0
	ldr	x0, =BOOT_MAIR
	msr	mair_el1, x0
	mrs	x1, id_aa64mmfr0_el1
	and	x1, x1, #7
	cmp	x1, #5
	mov	x2, #5
	csel	x1, x1, x2, ls
	ldr	x0, =TCR_BASE
	orr	x0, x0, x1, lsl #32             /* IPS */
	msr	tcr_el1, x0
	isb
	tlbi	vmalle1
	dsb	nsh
	isb
	ldr	x0, =SCTLR_MMU_ON
	msr	sctlr_el1, x0
	isb
	ret

	.ltorg

	.section .data
	.balign 8
	.global boot_ttbr1
boot_ttbr1:
	.quad	0

	.section .bss.stack, "aw", %nobits
	.balign 4096
	.global cpu_stacks
cpu_stacks:
	.space	CPU_STACK_BLOCK * MAX_CPUS

	.section .bss.boot, "aw", %nobits
	.balign 4096
	.global boot_l0_id
boot_l0_id:	.space 4096
boot_l1_id:	.space 4096
	.global boot_l0_k
boot_l0_k:	.space 4096
boot_l1_k:	.space 4096
boot_l1_d:	.space 4096
boot_l1_dev:	.space 4096
