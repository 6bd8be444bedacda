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

static void snap_page(struct pt_snapshot *s, uint64_t pa)
{
	if (s->npages == SNAP_MAX_PAGES) {
		s->overflow = true;
		return;
	}
	s->pa[s->npages] = pa;
	memcpy(s->data[s->npages], phys_to_virt(pa), PAGE_SIZE);
	s->npages++;
}

/* Copy the table at pa (level l) and every table below it. */
static void snap_tree(struct pt_snapshot *s, uint64_t pa, int l)
{
	const uint64_t *t = phys_to_virt(pa);
	unsigned i;

	snap_page(s, pa);
	if (l == 0)
		return;
	for (i = 0; i < 512; i++)
		if ((t[i] & PTE_VALID) && (t[i] & PTE_TABLE))
			snap_tree(s, t[i] & PTE_ADDR, l - 1);
}

void pt_snapshot(struct pt_snapshot *s, uintptr_t va, uint64_t size)
{
	uint64_t root = read_sysreg(ttbr1_el1) & PTE_ADDR;
	const uint64_t *l0 = phys_to_virt(root);
	unsigned first = (va >> 39) & 511, last = ((va + size - 1) >> 39) & 511, i;

	s->npages = 0;
	s->overflow = false;
	snap_page(s, root);
	for (i = first; i <= last; i++)
		if ((l0[i] & PTE_VALID) && (l0[i] & PTE_TABLE))
			snap_tree(s, l0[i] & PTE_ADDR, 2);
}

bool pt_snapshot_equal(const struct pt_snapshot *a, const struct pt_snapshot *b)
{
	unsigned i;

	if (a->overflow || b->overflow || a->npages != b->npages)
		return false;
	for (i = 0; i < a->npages; i++)
		if (a->pa[i] != b->pa[i] || memcmp(a->data[i], b->data[i], PAGE_SIZE))
			return false;
	return true;
}
