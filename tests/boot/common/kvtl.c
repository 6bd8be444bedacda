// SPDX-License-Identifier: MIT
/*
 * The kernel's vtlmem instance: how a secure kernel brings the library up.
 *   1. vtlmem_rtable_init(): the reservation table, with the platform.
 *   2. vtlmem_vmap_create(): the vmap window; the library allocates the
 *      upper-level tables covering it.
 *   3. Install vtlmem_vmap_top_entries() in every root page table (here:
 *      the kernel's one root table), before the first map.
 */
#include "kvtl.h"

struct vtlmem_rtable kv_rt;
struct vtlmem_vmap *kv_vm;

void kv_install(struct vtlmem_vmap *vm)
{
	struct vtlmem_top_entry e[8];
	size_t n, i;

	n = vtlmem_vmap_top_entries(vm, e, ARRAY_SIZE(e));
	if (n == 0 || n > ARRAY_SIZE(e))
		panic("vmap window has %zu top-level entries", n);
	for (i = 0; i < n; i++)
		kernel_set_top(e[i].index, e[i].value);
}

void kv_uninstall(struct vtlmem_vmap *vm)
{
	struct vtlmem_top_entry e[8];
	size_t n, i;

	n = vtlmem_vmap_top_entries(vm, e, ARRAY_SIZE(e));
	for (i = 0; i < n && i < ARRAY_SIZE(e); i++)
		kernel_set_top(e[i].index, 0);
	tlb_flush_local();      /* drop cached upper-level entries */
}

void kv_init(void)
{
	struct vtlmem_vmap_config cfg = {
		.base = vtlmem_va(VMAP_BASE),
		.size = VMAP_SIZE,
	};
	int err;

	if (kv_vm)
		return;
	err = vtlmem_rtable_init(&kv_rt, &boot_platform);
	if (err)
		panic("vtlmem_rtable_init: %d", err);
	err = vtlmem_vmap_create(&boot_platform, &kv_rt, &cfg, &kv_vm);
	if (err)
		panic("vtlmem_vmap_create: %d", err);
	kv_install(kv_vm);
}

void vtl0_fill(uint64_t pa, uint64_t len, unsigned seed)
{
	uint8_t *p = phys_to_virt(pa);
	uint64_t i;

	if (pa < VTL0_START || pa + len > VTL0_END)
		panic("vtl0_fill(%lx, %lx): outside VTL0", pa, len);
	for (i = 0; i < len; i++)
		p[i] = vtl0_pattern(pa + i, seed);
}

bool vtl0_check(uint64_t pa, uint64_t len, unsigned seed)
{
	const uint8_t *p = phys_to_virt(pa);
	uint64_t i;

	for (i = 0; i < len; i++)
		if (p[i] != vtl0_pattern(pa + i, seed))
			return false;
	return true;
}

void vtl0_gather(const vtlmem_paddr_t *pages, uint64_t offset, uint8_t *out, size_t len)
{
	size_t i;
	uint64_t page, off;

	for (i = 0; i < len; i++) {
		page = (offset + i) / PAGE_SIZE;
		off = (offset + i) % PAGE_SIZE;
		out[i] = ((uint8_t *)phys_to_virt(vtlmem_pa_val(pages[page])))[off];
	}
}

uintptr_t window_va_of(uint64_t pa)
{
	struct kpt_info w;
	uintptr_t va;

	for (va = VMAP_BASE; va < VMAP_BASE + VMAP_SIZE; va += PAGE_SIZE) {
		kpt_lookup(va, &w);
		if (w.level == 0 && w.pa == pa)
			return va;
	}
	return 0;
}
