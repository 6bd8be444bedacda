// SPDX-License-Identifier: MIT
/*
 * Physical memory and the kernel's own page tables.
 *
 * mm_init() takes the RAM size from the multiboot info, programs PAT as the
 * library requires (include/vtlmem/x86_64.h), sets up the page pool
 * (../common/pool.c) and replaces the boot tables with the final ones:
 *   - the kernel image at KERNEL_VMA in 4 KiB pages: text read-only and
 *     executable, rodata read-only NX, data/bss read-write NX, the page
 *     below the boot stack and below each CPU's stacks (smp.c) left
 *     unmapped (a stack overflow faults);
 *   - the direct map of all RAM at DMAP_BASE, 2 MiB pages, read-write NX;
 *   - no identity map (a stray physical-address dereference faults).
 * Kernel mappings are global (CR4.PGE on); the library's never are, so a
 * CR3 reload drops them and keeps the kernel's. Every CPU uses these
 * tables; the page pool is shared under a spinlock.
 */
#include <vtlmem/x86_64.h>

#include "smp.h"

extern char __image_start[], __text_end[], __rodata_end[], __bss_end[];
extern char boot_stack_guard[];

static uint64_t kernel_pml4;

static uint64_t *table(uint64_t pa)
{
	return phys_to_virt(pa & PTE_ADDR);
}

void kmap_pte(uintptr_t va, uint64_t pa, uint64_t pte_flags)
{
	uint64_t *e = kpt_slot(va, 0);

	*e = pte_flags ? (pa | pte_flags) : 0;
	invlpg(va);
}

void kmap_page(uintptr_t va, uint64_t pa, enum kmap_prot prot)
{
	kmap_pte(va, pa, prot == KMAP_NONE ? 0 :
			 PTE_P | PTE_NX | (prot == KMAP_RW ? PTE_W : 0));
}

void kpt_restore(uintptr_t va, uint64_t entry)
{
	struct pt_walk w;

	pt_walk(va, &w);
	if (w.level != -1 || !w.table[3] || w.entry[3])
		panic("kpt_restore(%lx): no empty 4 KiB leaf entry", (unsigned long)va);
	((uint64_t *)phys_to_virt(w.table[3]))[(va >> 12) & 511] = entry;
	invlpg(va);
}

void tlb_flush_local(void)
{
	write_cr3(read_cr3());  /* drops every non-global entry: the library's */
}

void kernel_set_top(unsigned idx, uint64_t value)
{
	table(kernel_pml4)[idx & 511] = value;
}

uint64_t kernel_root(void)
{
	return kernel_pml4;
}

static void map_image(void)
{
	uintptr_t va;
	uint64_t flags;

	for (va = (uintptr_t)__image_start; va < (uintptr_t)__bss_end; va += PAGE_SIZE) {
		if (va == (uintptr_t)boot_stack_guard || smp_is_guard_page(va))
			continue;
		if (va < (uintptr_t)__text_end)
			flags = PTE_P | PTE_G;
		else if (va < (uintptr_t)__rodata_end)
			flags = PTE_P | PTE_G | PTE_NX;
		else
			flags = PTE_P | PTE_W | PTE_G | PTE_NX;
		*kpt_slot(va, 0) = (va - KERNEL_VMA) | flags;
	}
}

static void map_direct(void)
{
	uint64_t pa;

	for (pa = 0; pa < ram_top; pa += 0x200000)
		*kpt_slot(DMAP_BASE + pa, 1) =
			pa | PTE_P | PTE_W | PTE_PS | PTE_G | PTE_NX;
}

static void check_cpu(void)
{
	uint32_t a, b, c, d;

	cpuid(1, &a, &b, &c, &d);
	if (!(d & (1u << 16)))
		panic("CPU has no PAT");
	if (!(d & (1u << 13)))
		panic("CPU has no PGE");
}

void mm_init(uint64_t ram_bytes)
{
	ram_top = ram_bytes;
	if (ram_top < RAM_MIN)
		panic("need at least %lu MiB of RAM, have %lu MiB", RAM_MIN >> 20, ram_top >> 20);
	if (ram_top > (1UL << 30))
		ram_top = 1UL << 30;    /* the boot tables only map 1 GiB */
	check_cpu();
	/* the memory types the library's mappings rely on (vtlmem/x86_64.h) */
	wrmsr(VTLMEM_X86_MSR_PAT, VTLMEM_X86_PAT_VALUE);
	pool_init();
	kernel_pml4 = page_alloc();
	map_image();
	map_direct();
	write_cr3(kernel_pml4);
	write_cr4(read_cr4() | CR4_PGE);
}
