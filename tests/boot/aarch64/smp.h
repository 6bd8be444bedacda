/* SPDX-License-Identifier: MIT */
/*
 * SMP on aarch64: per-CPU data (TPIDR_EL1), the GICv2 (software-generated
 * interrupts as IPIs), bringing up the other CPUs through PSCI CPU_ON, and
 * the shootdown IPI protocol behind smp_shootdown (the portable API of
 * tests/boot/common/kernel.h). See README.md ("SMP").
 */
#ifndef BOOT_SMP_H
#define BOOT_SMP_H

#include <stddef.h>

#include "kernel.h"

/* SGIs (interrupt ids 0-15) the kernel uses. */
#define SGI_SHOOTDOWN  0                /* TLB shootdown request */
#define SGI_WAKE       1                /* work posted to an idle CPU */

/*
 * One CPU; TPIDR_EL1 holds its address and the word at offset 8 its number
 * (karch.h: smp_cpu_id). Fields are written by their own CPU unless a
 * comment says otherwise; cross-CPU fields are accessed with __atomic.
 */
struct cpu {
	struct cpu *self;
	unsigned id;                    /* offset 8: 0 = the boot CPU         */
	unsigned online;                /* set (release) when ready for IPIs  */
	uint64_t mpidr;                 /* MPIDR_EL1 affinity (PSCI target)   */
	unsigned gic_mask;              /* its GIC CPU-interface bit          */
	unsigned dying;                 /* in an oops (a nested one stops)    */
	uint64_t align_faults;          /* of the fixed-up aborts, alignment
					 * faults (DFSC 0b100001; trap.c)     */
	struct kcpu k;                  /* the portable part (kernel.h)       */
} __attribute__((aligned(CPU_STRUCT_SIZE)));

extern struct cpu cpus[MAX_CPUS];

static inline struct cpu *this_cpu(void)
{
	return (struct cpu *)read_sysreg(tpidr_el1);
}

/* Is va one of the unmapped guard pages below a CPU's stacks? (mm.c) */
bool smp_is_guard_page(uintptr_t va);
/* Top of CPU cpu's stack (SP_EL0) and exception stack (SP_EL1); the guard pages. */
uintptr_t smp_stack_top(unsigned cpu);
uintptr_t smp_exc_stack_top(unsigned cpu);
uintptr_t smp_guard_page(unsigned cpu);
/* CPU 0's per-CPU data (head.S set TPIDR_EL1). */
void smp_early_init(void);
/* Timer frequency, the GIC, every CPU of the device tree up, IRQs on. */
void smp_init(void);
/* An IRQ (trap.c). */
void smp_irq(void);

/* The platform's tlb_local op while skip_ipis is on: TLBI VALE1 / VMALLE1. */
void smp_tlb_local_only(void *ctx, uintptr_t va, uint64_t npages);

#endif
