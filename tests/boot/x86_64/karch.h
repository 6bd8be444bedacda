/* SPDX-License-Identifier: MIT */
/*
 * The x86_64 test kernel's arch header: the layout, the inline CPU helpers
 * the portable API (tests/boot/common/kernel.h) asks of every arch, and
 * the x86_64 kernel's own: port I/O, MSRs, control registers, invlpg,
 * CPUID, the 4-level paging entry bits, and its internal interfaces.
 * Included by kernel.h; the generic code uses only what kernel.h lists.
 */
#ifndef BOOT_KARCH_H
#define BOOT_KARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

static inline uint64_t read_cr0(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_cr2(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_cr3(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline uint64_t read_cr4(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline void write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline void invlpg(uintptr_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static inline unsigned long irq_save(void)
{
	unsigned long flags;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

static inline void irq_restore(unsigned long flags)
{
	__asm__ volatile("pushq %0; popfq" : : "r"(flags) : "memory", "cc");
}

#define MSR_EFER 0xc0000080
#define MSR_PAT  0x277
#define EFER_NXE (1UL << 11)
#define CR0_WP   (1UL << 16)
#define CR4_PGE  (1UL << 7)

/* PTE bits (4-level paging). */
#define PTE_P    (1UL << 0)
#define PTE_W    (1UL << 1)
#define PTE_U    (1UL << 2)
#define PTE_PWT  (1UL << 3)
#define PTE_PCD  (1UL << 4)
#define PTE_A    (1UL << 5)
#define PTE_D    (1UL << 6)
#define PTE_PS   (1UL << 7)     /* large page (PDE/PDPTE)       */
#define PTE_PAT  (1UL << 7)     /* PAT bit of a 4 KiB PTE       */
#define PTE_G    (1UL << 8)
#define PTE_NX   (1UL << 63)
#define PTE_ADDR 0x000ffffffffff000UL

static inline bool irqs_enabled(void)
{
	unsigned long f;

	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	return f & (1UL << 9);
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" : : : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* The portable cycle counter: the TSC (invariant under QEMU TCG). */
static inline uint64_t cycles(void)
{
	return rdtsc();
}

/* %gs:8 is this CPU's number (smp.h: struct cpu). */
static inline unsigned smp_cpu_id(void)
{
	unsigned id;

	__asm__ volatile("movl %%gs:8, %0" : "=r"(id));
	return id;
}

static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(DMAP_BASE + pa);
}

/* The library's leaf entries are never global (a CR3 reload drops them). */
#define KPT_LIB_GLOBAL false

static inline _Noreturn void cpu_stop(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

static inline void tlb_page_local(uintptr_t va)
{
	invlpg(va);
}

/* smp_idle: hlt right after sti (its one-instruction shadow) loses no wake-up. */
static inline void idle_irq_off(void)
{
	__asm__ volatile("cli" : : : "memory");
}

static inline void idle_irq_on(void)
{
	__asm__ volatile("sti" : : : "memory");
}

static inline void idle_wait(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

/* Page-table entries for ../common/kpt.c (kernel.h). */
static inline bool pt_present(uint64_t e)
{
	return e & PTE_P;
}

/* Levels 1-3: present and not a large page (PS: reserved at level 3). */
static inline bool pt_is_table(uint64_t e)
{
	return (e & PTE_P) && !(e & PTE_PS);
}

static inline uint64_t pt_new_table(uint64_t pa)
{
	return pa | PTE_P | PTE_W;
}

static inline uint64_t pt_root(void)
{
	return read_cr3() & PTE_ADDR;
}

/* console.c: COM1. */
void console_init(void);
/* trap.c: per-CPU data (GS) of the boot CPU, its GDT, TSS and IDT. */
void trap_init(void);
/* mm.c: PAT, the page pool, the final tables (from the multiboot RAM size). */
void mm_init(uint64_t ram_bytes);
/* Map one 4 KiB page with these PTE bits (0: unmap), invlpg on this CPU. */
void kmap_pte(uintptr_t va, uint64_t pa, uint64_t pte_flags);

/* pt.c: pt_walk (kernel.h) walks the tables the CPU uses (from CR3). */
/* Memory type (0 UC, 1 WC, 4 WT, 5 WP, 6 WB, 7 UC-) a 4 KiB leaf selects via PAT. */
unsigned pt_memtype(uint64_t pte);

#endif
