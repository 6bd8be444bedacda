// SPDX-License-Identifier: MIT
/*
 * Software walk of the tables the CPU is using (TTBR1_EL1), for the tests:
 * what the MMU sees, not what the library believes it wrote. Levels as in
 * the library: 3 is the root (Arm level 0), 0 the page level (Arm level 3).
 */
#include "kernel.h"

void pt_walk(uintptr_t va, struct pt_walk *w)
{
	uint64_t e = read_sysreg(ttbr1_el1) & PTE_ADDR;
	int l;

	memset(w, 0, sizeof(*w));
	w->level = -1;
	e |= PTE_VALID | PTE_TABLE;
	for (l = 3; l >= 0; l--) {
		const uint64_t *t = phys_to_virt(e & PTE_ADDR);

		w->table[3 - l] = e & PTE_ADDR;
		e = t[(va >> (12 + 9 * l)) & 511];
		w->entry[3 - l] = e;
		if (!(e & PTE_VALID))
			return;
		if (l == 0 || !(e & PTE_TABLE)) {
			if (l == 0 && !(e & PTE_TABLE))
				return;         /* reserved encoding at level 3 */
			break;
		}
	}
	w->level = l;
	w->leaf = e;
	w->pa = (e & PTE_ADDR & ~((1UL << (12 + 9 * l)) - 1)) | (va & ((1UL << (12 + 9 * l)) - 1));
}

unsigned pt_memattr(uint64_t pte)
{
	return (unsigned)(read_sysreg(mair_el1) >> (8 * ((pte >> 2) & 7))) & 0xff;
}

/* As the leaf descriptor itself says (the tests check the library's leaves). */
void pt_leaf_info(uint64_t leaf, int level, struct kpt_info *k)
{
	unsigned attr;

	k->writable = !(leaf & PTE_AP_RO);
	k->user = (leaf & PTE_AP_EL0) != 0;
	k->executable = !(leaf & PTE_PXN);
	k->global = !(leaf & PTE_NG);
	k->memtype = KMEM_OTHER;
	if (level == 0) {
		attr = pt_memattr(leaf);
		k->memtype = attr == 0xff ? KMEM_WB : attr == 0x44 ? KMEM_WC :
			     attr == 0x00 ? KMEM_UC : KMEM_OTHER;
	}
}
