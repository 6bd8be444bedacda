// SPDX-License-Identifier: MIT
/*
 * Software walk of the page tables the CPU is using (CR3), for the tests:
 * what the MMU sees, not what the library believes it wrote.
 */
#include "kernel.h"

static const uint64_t *table_at(uint64_t entry)
{
	return phys_to_virt(entry & PTE_ADDR);
}

void pt_walk(uintptr_t va, struct pt_walk *w)
{
	uint64_t e = read_cr3();
	int l;

	memset(w, 0, sizeof(*w));
	w->level = -1;
	for (l = 3; l >= 0; l--) {
		const uint64_t *t = table_at(e);

		w->table[3 - l] = e & PTE_ADDR;
		e = t[(va >> (12 + 9 * l)) & 511];
		w->entry[3 - l] = e;
		if (!(e & PTE_P))
			return;
		if (l == 0 || (l <= 2 && (e & PTE_PS)))
			break;
	}
	w->level = l;
	w->leaf = e;
	w->pa = (e & PTE_ADDR & ~((1UL << (12 + 9 * l)) - 1)) |
		(va & ((1UL << (12 + 9 * l)) - 1));
}

unsigned pt_memtype(uint64_t pte)
{
	unsigned idx = ((pte & PTE_PAT) ? 4 : 0) | ((pte & PTE_PCD) ? 2 : 0) |
		       ((pte & PTE_PWT) ? 1 : 0);

	return (unsigned)(rdmsr(MSR_PAT) >> (8 * idx)) & 7;
}

/* As the leaf entry itself says (the tests check the library's leaves). */
void pt_leaf_info(uint64_t leaf, int level, struct kpt_info *k)
{
	static const enum kmemtype pat_types[8] = {
		[0] = KMEM_UC, [1] = KMEM_WC, [4] = KMEM_WT, [5] = KMEM_WP, [6] = KMEM_WB,
		[7] = KMEM_UC_MINUS, [2] = KMEM_OTHER, [3] = KMEM_OTHER,
	};

	k->writable = (leaf & PTE_W) != 0;
	k->user = (leaf & PTE_U) != 0;
	k->executable = !(leaf & PTE_NX);
	k->global = (leaf & PTE_G) != 0;
	k->memtype = level == 0 ? pat_types[pt_memtype(leaf)] : KMEM_OTHER;
}
