// SPDX-License-Identifier: MIT
/*
 * The kernel's page pool ("VTL1" memory page tables and the heap's pages
 * come from) and virt_to_phys: every page between the end of the image and
 * HEAP_START (layout.h), on a free list threaded through the pages
 * themselves (the first word of a free page holds the next one's physical
 * address) under a spinlock; pages are zeroed when freed and again when
 * handed out. The arch's mm_init sets ram_top, then calls pool_init before
 * it allocates its tables.
 */
#include "kernel.h"

extern char __bss_end[];

uint64_t ram_top;
uint64_t pool_start;
static uint64_t free_head;      /* physical address of the first free page */
static uint64_t free_pages;
static struct spinlock pool_lock;

uint64_t virt_to_phys(const void *p)
{
	uintptr_t va = (uintptr_t)p;

	if (va >= KERNEL_VMA)
		return va - KERNEL_VMA;
	if (va >= DMAP_BASE + RAM_BASE && va - DMAP_BASE < ram_top)
		return va - DMAP_BASE;
	panic("virt_to_phys(%p): not a kernel or direct-map address", p);
}

uint64_t page_alloc(void)
{
	unsigned long flags = spin_lock_irqsave(&pool_lock);
	uint64_t pa = free_head;

	if (pa) {
		free_head = *(uint64_t *)phys_to_virt(pa);
		free_pages--;
	}
	spin_unlock_irqrestore(&pool_lock, flags);
	if (pa)
		memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

void page_free(uint64_t pa)
{
	unsigned long flags;

	if ((pa & (PAGE_SIZE - 1)) || pa < pool_start || pa >= HEAP_START)
		panic("page_free(%lx): not a pool page", pa);
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	flags = spin_lock_irqsave(&pool_lock);
	*(uint64_t *)phys_to_virt(pa) = free_head;
	free_head = pa;
	free_pages++;
	spin_unlock_irqrestore(&pool_lock, flags);
}

uint64_t pages_free_count(void)
{
	return free_pages;
}

void pool_init(void)
{
	uint64_t pa;

	pool_start = ((uint64_t)__bss_end - KERNEL_VMA + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	for (pa = HEAP_START - PAGE_SIZE; pa >= pool_start; pa -= PAGE_SIZE)
		page_free(pa);
}
