/* SPDX-License-Identifier: MIT */
/*
 * SMP on x86_64: per-CPU data (reached through GS), the local APIC,
 * bringing up the application processors, and the TLB shootdown IPI
 * protocol behind the platform's tlb_shootdown op (README.md, "SMP"). The
 * portable half (smp_start/smp_run, barriers, smp_shootdown, the test
 * switches, struct kcpu) is declared in kernel.h, implemented in
 * tests/boot/common/smp.c.
 */
#ifndef BOOT_SMP_H
#define BOOT_SMP_H

#include <stddef.h>

#include "kernel.h"

/* A 64-bit IDT gate and the TSS (trap.c fills them, one set per CPU). */
struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

struct tss {
	uint32_t rsvd0;
	uint64_t rsp[3];
	uint64_t rsvd1;
	uint64_t ist[7];
	uint64_t rsvd2;
	uint16_t rsvd3;
	uint16_t iomap;
} __attribute__((packed));

/*
 * One CPU. GS base points at its struct cpu (MSR 0xC0000101): %gs:0 is
 * self, %gs:8 the CPU number. Fields are written by their own CPU unless a
 * comment says otherwise; cross-CPU fields are accessed with __atomic.
 */
struct cpu {
	struct cpu *self;               /* %gs:0                               */
	unsigned id;                    /* %gs:8: 0 = the BSP, 1.. = APs       */
	unsigned apic_id;
	unsigned online;                /* set (release) when ready for IPIs   */
	struct kcpu k;                  /* the portable part (kernel.h): preempt
					 * depth, fault record, counters */

	uint64_t gdt[5] __attribute__((aligned(16)));  /* null, code, data, TSS */
	struct tss tss __attribute__((aligned(16)));
	struct idt_entry idt[256] __attribute__((aligned(16)));
} __attribute__((aligned(4096)));

extern struct cpu cpus[MAX_CPUS];

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}

/* smp.c */
/* Is va one of the unmapped guard pages below a CPU's stacks? (mm.c) */
bool smp_is_guard_page(uintptr_t va);
/* Per-CPU stack tops (the BSP runs on head.S's boot stack). */
uintptr_t smp_stack_top(unsigned cpu);
uintptr_t smp_ist_top(unsigned cpu);
uintptr_t smp_guard_page(unsigned cpu);
/* CPU 0's per-CPU data and GS base; before anything uses this_cpu(). */
void smp_early_init(void);
/* TSC, local APIC, PICs masked, bring up every AP (MADT), interrupts on. */
void smp_init(void);
/* Interrupt vectors >= 32 (trap.c). */
void smp_irq(unsigned vector);

#endif
