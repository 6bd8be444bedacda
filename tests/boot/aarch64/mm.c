// SPDX-License-Identifier: MIT
/*
 * Physical memory and the kernel's own page tables (TTBR1_EL1).
 *
 * mm_init() sets up the page pool (../common/pool.c) and builds the final
 * tables, then mm_cpu_init() switches this CPU to them (every other CPU
 * does the same in ap_main):
 *   - the kernel image at KERNEL_VMA + physical in 4 KiB pages: text
 *     read-only and executable at EL1, rodata (with the library's exception
 *     table) read-only, data/bss read-write, both never executable; the
 *     guard pages below every CPU's stack and exception stack unmapped (a
 *     stack overflow faults);
 *   - the direct map of RAM at DMAP_BASE + physical, 2 MiB blocks,
 *     read-write, never executable;
 *   - the PL011 page at UART_VA, Device-nGnRnE;
 *   - no identity map: TCR_EL1.EPD0 stops every TTBR0 walk.
 * Every kernel descriptor is Normal write-back (or Device) through the
 * library's MAIR_EL1 layout (include/vtlmem/aarch64.h), inner shareable,
 * AF set, global, no EL0 access; SCTLR_EL1.WXN makes every writable page
 * never executable as well. All CPUs share these tables; the page pool is
 * shared under a spinlock.
 */
#include <vtlmem/aarch64.h>

#include "smp.h"

extern char __image_start[], __text_end[], __rodata_end[], __bss_end[];

unsigned mair_idx_wb, mair_idx_dev;
static uint64_t kernel_l0;

static uint64_t *table(uint64_t desc)
{
	return phys_to_virt(desc & PTE_ADDR);
}

static uint64_t attrs(unsigned idx)
{
	return PTE_VALID | PTE_ATTR((uint64_t)idx) | PTE_SH_INNER | PTE_AF;
}

static uint64_t kmap_rw(void)
{
	return attrs(mair_idx_wb) | PTE_PXN | PTE_UXN;
}

static uint64_t kmap_ro(void)
{
	return kmap_rw() | PTE_AP_RO;
}

/*
 * Set va's page descriptor to desc (0: invalid), invalidating va on this
 * CPU only (TLBI VALE1): other CPUs may keep a stale translation (the
 * shootdown tests rely on it). A valid -> valid change goes through
 * invalid first (break before make).
 */
static void set_page(uintptr_t va, uint64_t desc)
{
	uint64_t *e = kpt_slot(va, 0);

	if (*e & PTE_VALID) {
		__atomic_store_n(e, 0, __ATOMIC_RELAXED);
		tlbi_page_local(va);
	}
	if (desc) {
		__atomic_store_n(e, desc, __ATOMIC_RELAXED);
		dsb_ishst();
		isb();
	}
}

void kmap_page(uintptr_t va, uint64_t pa, enum kmap_prot prot)
{
	set_page(va, prot == KMAP_NONE ? 0 :
		 pa | PTE_TABLE | (prot == KMAP_RW ? kmap_rw() : kmap_ro()));
}

void kmap_device(uint64_t pa)
{
	set_page(DEV_BASE + pa, pa | attrs(mair_idx_dev) | PTE_PXN | PTE_UXN | PTE_TABLE);
}

void kpt_restore(uintptr_t va, uint64_t entry)
{
	struct pt_walk w;
	uint64_t *e;

	pt_walk(va, &w);
	if (w.level >= 0 || !w.table[3])
		panic("kpt_restore(%lx): mapped, or no page table", (unsigned long)va);
	e = (uint64_t *)phys_to_virt(w.table[3]) + ((va >> 12) & 511);
	__atomic_store_n(e, entry, __ATOMIC_RELAXED);
	dsb_ishst();
	isb();
}

void tlb_flush_local(void)
{
	tlbi_all_local();
}

void kernel_set_top(unsigned idx, uint64_t value)
{
	__atomic_store_n(&table(kernel_l0)[idx & 511], value, __ATOMIC_RELAXED);
	dsb_ishst();
	isb();
}

uint64_t kernel_root(void)
{
	return kernel_l0;
}

static void map_image(void)
{
	uintptr_t va;
	uint64_t flags;

	for (va = (uintptr_t)__image_start; va < (uintptr_t)__bss_end; va += PAGE_SIZE) {
		if (smp_is_guard_page(va))
			continue;
		if (va < (uintptr_t)__text_end)
			flags = attrs(mair_idx_wb) | PTE_AP_RO | PTE_UXN;
		else if (va < (uintptr_t)__rodata_end)
			flags = kmap_ro();
		else
			flags = kmap_rw();
		*kpt_slot(va, 0) = (va - KERNEL_VMA) | flags | PTE_TABLE;
	}
}

static void map_direct(void)
{
	uint64_t pa;

	for (pa = RAM_BASE; pa < ram_top; pa += 0x200000)
		*kpt_slot(DMAP_BASE + pa, 1) = pa | kmap_rw();  /* block: bit 1 clear */
	*kpt_slot(UART_VA, 0) = UART_PHYS | attrs(mair_idx_dev) | PTE_PXN | PTE_UXN | PTE_TABLE;
}

static int mair_index(uint8_t attr)
{
	int i;

	for (i = 0; i < 8; i++)
		if (((VTLMEM_AARCH64_MAIR_VALUE >> (8 * i)) & 0xff) == attr)
			return i;
	return -1;
}

#define TCR_EPD0     (1UL << 7)
#define SCTLR_WXN    (1UL << 19)

void mm_cpu_init(void)
{
	__asm__ volatile("msr mair_el1, %0\n\t"
			 "msr ttbr1_el1, %1\n\t"
			 "isb\n\t"
			 "tlbi vmalle1\n\t"
			 "dsb nsh\n\t"
			 "isb"
			 : : "r"((uint64_t)VTLMEM_AARCH64_MAIR_VALUE), "r"(kernel_l0) : "memory");
	write_sysreg(read_sysreg(tcr_el1) | TCR_EPD0, tcr_el1);
	write_sysreg(read_sysreg(sctlr_el1) | SCTLR_WXN, sctlr_el1);
	tlbi_all_local();
}

void mm_init(uint64_t ram_end)
{
	int wb = mair_index(0xff), dev = mair_index(0x00);

	if (wb < 0 || dev < 0)
		panic("MAIR layout %lx has no Normal WB (0xff) or Device-nGnRnE (0x00) field",
		      (uint64_t)VTLMEM_AARCH64_MAIR_VALUE);
	mair_idx_wb = (unsigned)wb;
	mair_idx_dev = (unsigned)dev;
	ram_top = ram_end;
	if (ram_top < RAM_BASE + RAM_MIN)
		panic("need at least %lu MiB of RAM, have %lu MiB", RAM_MIN >> 20,
		      (ram_top - RAM_BASE) >> 20);
	if (ram_top > RAM_BASE + (1UL << 30))
		ram_top = RAM_BASE + (1UL << 30);       /* the boot tables map 1 GiB */
	pool_init();
	kernel_l0 = page_alloc();
	map_image();
	map_direct();
	dsb_ishst();
	mm_cpu_init();
}
