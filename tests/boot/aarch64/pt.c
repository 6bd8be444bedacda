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

void kpt_lookup(uintptr_t va, struct kpt_info *k)
{
	struct pt_walk w;
	unsigned attr;

	pt_walk(va, &w);
	memset(k, 0, sizeof(*k));
	k->level = w.level;
	if (w.level < 0)
		return;
	k->entry = w.leaf;
	k->pa = w.pa;
	/* as the leaf descriptor itself says (the tests check the library's leaves) */
	k->writable = !(w.leaf & PTE_AP_RO);
	k->user = (w.leaf & PTE_AP_EL0) != 0;
	k->executable = !(w.leaf & PTE_PXN);
	k->global = !(w.leaf & PTE_NG);
	k->memtype = KMEM_OTHER;
	if (w.level == 0) {
		attr = pt_memattr(w.leaf);
		k->memtype = attr == 0xff ? KMEM_WB : attr == 0x44 ? KMEM_WC :
			     attr == 0x00 ? KMEM_UC : KMEM_OTHER;
	}
}
