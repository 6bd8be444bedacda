/* SPDX-License-Identifier: MIT */
/*
 * The aarch64 test kernel's arch header: the layout, the inline CPU helpers
 * the portable API (tests/boot/common/kernel.h) asks of every arch, and the
 * aarch64 kernel's own: system registers, TLBI, address translation
 * through the CPU (AT/PAR_EL1), descriptor bits, and its internal
 * interfaces. Included by kernel.h; the generic code uses only what
 * kernel.h lists.
 */
#ifndef BOOT_KARCH_H
#define BOOT_KARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "layout.h"

/* System registers. */
#define read_sysreg(r) ({                                                     \
	uint64_t _v;                                                          \
	__asm__ volatile("mrs %0, " #r : "=r"(_v));                           \
	_v;                                                                   \
})
#define write_sysreg(v, r) __asm__ volatile("msr " #r ", %0" : : "r"((uint64_t)(v)) : "memory")

static inline void isb(void)
{
	__asm__ volatile("isb" : : : "memory");
}

static inline void dsb_ish(void)
{
	__asm__ volatile("dsb ish" : : : "memory");
}

static inline void dsb_ishst(void)
{
	__asm__ volatile("dsb ishst" : : : "memory");
}

/* Invalidate one page of this CPU's TLB / of every CPU's (inner shareable). */
static inline void tlbi_page_local(uintptr_t va)
{
	__asm__ volatile("dsb nshst; tlbi vale1, %0; dsb nsh; isb"
			 : : "r"((va >> 12) & ((1UL << 44) - 1)) : "memory");
}

static inline void tlbi_page_all(uintptr_t va)
{
	__asm__ volatile("dsb ishst; tlbi vale1is, %0; dsb ish; isb"
			 : : "r"((va >> 12) & ((1UL << 44) - 1)) : "memory");
}

static inline void tlbi_all_local(void)
{
	__asm__ volatile("dsb nshst; tlbi vmalle1; dsb nsh; isb" : : : "memory");
}

static inline void tlbi_all_all(void)
{
	__asm__ volatile("dsb ishst; tlbi vmalle1is; dsb ish; isb" : : : "memory");
}

/* PSTATE.DAIF: mask everything, return the old value / restore it. */
static inline unsigned long irq_save(void)
{
	unsigned long flags;

	__asm__ volatile("mrs %0, daif; msr daifset, #0xf" : "=r"(flags) : : "memory");
	return flags;
}

static inline void irq_restore(unsigned long flags)
{
	__asm__ volatile("msr daif, %0" : : "r"(flags) : "memory");
}

/*
 * Address translation through the CPU (stage 1, EL1): PAR_EL1 after
 * "at s1e1r" / "at s1e1w". Bit 0 set: the translation faulted (FST in bits
 * 6:1); else PA in bits 47:12, the MAIR byte in 63:56, SH in 8:7.
 */
static inline uint64_t at_s1e1r(uintptr_t va)
{
	uint64_t par;
	unsigned long f = irq_save();

	__asm__ volatile("at s1e1r, %1; isb; mrs %0, par_el1" : "=r"(par) : "r"(va) : "memory");
	irq_restore(f);
	return par;
}

static inline uint64_t at_s1e1w(uintptr_t va)
{
	uint64_t par;
	unsigned long f = irq_save();

	__asm__ volatile("at s1e1w, %1; isb; mrs %0, par_el1" : "=r"(par) : "r"(va) : "memory");
	irq_restore(f);
	return par;
}
#define PAR_F          1UL
#define PAR_PA(par)    ((par) & PTE_ADDR)
#define PAR_ATTR(par)  ((unsigned)((par) >> 56))
#define PAR_SH(par)    ((unsigned)(((par) >> 7) & 3))

#define DAIF_I (1UL << 7)

static inline bool irqs_enabled(void)
{
	return !(read_sysreg(daif) & DAIF_I);
}

static inline void cpu_relax(void)
{
	__asm__ volatile("yield" : : : "memory");
}

/* The portable cycle counter: the generic timer's virtual count (CNTVCT_EL0). */
static inline uint64_t cycles(void)
{
	isb();
	return read_sysreg(cntvct_el0);
}

/* TPIDR_EL1 points at this CPU's struct cpu, whose second word is its number. */
static inline unsigned smp_cpu_id(void)
{
	return *(const unsigned *)(read_sysreg(tpidr_el1) + 8);
}

static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(DMAP_BASE + pa);
}

/* The library's leaf descriptors are global (nG clear: TLBI by VA reaches them). */
#define KPT_LIB_GLOBAL true

static inline _Noreturn void cpu_stop(void)
{
	for (;;)
		__asm__ volatile("msr daifset, #0xf; wfi" : : : "memory");
}

static inline void tlb_page_local(uintptr_t va)
{
	tlbi_page_local(va);
}

/*
 * smp_idle: WFI with IRQs masked still wakes on a pending IRQ (no wake-up
 * lost between the check and the WFI), taken once IRQs are unmasked.
 */
static inline void idle_irq_off(void)
{
	__asm__ volatile("msr daifset, #2" : : : "memory");
}

static inline void idle_irq_on(void)
{
	__asm__ volatile("msr daifclr, #2" : : : "memory");
}

static inline void idle_wait(void)
{
	__asm__ volatile("wfi; msr daifclr, #2; isb" : : : "memory");
}

/* Descriptors for ../common/kpt.c (kernel.h). */
static inline bool pt_present(uint64_t e)
{
	return e & PTE_VALID;
}

/* Levels 1-3 (Arm 0-2): a table descriptor, not a block. */
static inline bool pt_is_table(uint64_t e)
{
	return (e & PTE_VALID) && (e & PTE_TABLE);
}

static inline uint64_t pt_new_table(uint64_t pa)
{
	return pa | PTE_VALID | PTE_TABLE;
}

static inline uint64_t pt_root(void)
{
	return read_sysreg(ttbr1_el1) & PTE_ADDR;
}

/* console.c: the PL011 (nothing to set up under QEMU). */
void console_init(void);
/* PSCI (smc or hvc, as the device tree says). */
_Noreturn void psci_system_off(void);
int64_t psci_cpu_on(uint64_t mpidr, uint64_t entry_pa, uint64_t ctx);

/* mm.c: the page pool, the final tables, the library's MAIR layout. */
void mm_init(uint64_t ram_end);
/* This CPU: the library's MAIR, the final tables in TTBR1, no TTBR0 walks, WXN. */
void mm_cpu_init(void);
/* MAIR_EL1 index of Normal write-back / Device-nGnRnE in the library's layout. */
extern unsigned mair_idx_wb, mair_idx_dev;
/* Map a device page (Device-nGnRnE, RW, never executable) at DEV_BASE + pa. */
void kmap_device(uint64_t pa);

/* pt.c: pt_walk (kernel.h) walks the tables the CPU uses (TTBR1_EL1, upper half). */
/* The MAIR_EL1 byte a leaf selects. */
unsigned pt_memattr(uint64_t pte);

/* fdt.c: what the kernel reads from QEMU's device tree. */
struct boot_info {
	uint64_t ram_base, ram_size;
	bool psci_hvc;          /* PSCI conduit: hvc (else smc) */
	unsigned ncpus;         /* cpu nodes (at most MAX_CPUS) */
	uint64_t mpidr[MAX_CPUS];
};
extern struct boot_info boot_info;
void fdt_read(const void *fdt);

#endif
