// SPDX-License-Identifier: MIT
/*
 * The portable part of the kernel's own page tables (4 levels of 512
 * entries, 3 = root ... 0 = 4 KiB leaves, on both arches): finding or
 * creating an entry (kpt_slot, for the arch's mm.c), revoking a live leaf
 * (kpt_revoke), kpt_lookup and the snapshots of a table subtree the tests compare. The
 * arch's karch.h says what an entry is: PTE_ADDR (its address bits),
 * pt_present(e), pt_is_table(e) (at levels 1-3: it points at a table, not a
 * large page/block), pt_new_table(pa) (an entry pointing at table pa) and
 * pt_root() (the root the CPU walks now); its pt.c walks the live tables
 * (pt_walk) and decodes a leaf's attributes (pt_leaf_info).
 */
#include "kernel.h"

static uint64_t *table(uint64_t entry)
{
	return phys_to_virt(entry & PTE_ADDR);
}

uint64_t *kpt_slot(uintptr_t va, int level)
{
	uint64_t *t = table(kernel_root());
	uint64_t pa;
	int l;

	for (l = 3; l > level; l--) {
		uint64_t *e = &t[(va >> (12 + 9 * l)) & 511];

		if (!pt_present(*e)) {
			pa = page_alloc();
			if (!pa)
				panic("out of page-table pages");
			*e = pt_new_table(pa);
		}
		if (!pt_is_table(*e))
			panic("kpt_slot(%lx): large page or block at level %d", (unsigned long)va, l);
		t = table(*e);
	}
	return &t[(va >> (12 + 9 * level)) & 511];
}

void kpt_lookup(uintptr_t va, struct kpt_info *k)
{
	struct pt_walk w;

	pt_walk(va, &w);
	memset(k, 0, sizeof(*k));
	k->level = w.level;
	if (w.level < 0)
		return;
	k->entry = w.leaf;
	k->pa = w.pa;
	pt_leaf_info(w.leaf, w.level, k);
}

/* The live 4 KiB leaf entry of va (the tables this CPU uses), or panic. */
static uint64_t *leaf_of(uintptr_t va)
{
	struct pt_walk w;

	pt_walk(va, &w);
	if (w.level != 0)
		panic("%lx is not mapped by a 4 KiB page (level %d)", (unsigned long)va, w.level);
	return (uint64_t *)phys_to_virt(w.table[3]) + ((va >> 12) & 511);
}

uint64_t kpt_revoke(uintptr_t va)
{
	uint64_t *e = leaf_of(va), old = *e;

	__atomic_store_n(e, 0, __ATOMIC_RELAXED);
	tlb_page_local(va);
	return old;
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
		if (pt_is_table(t[i]))
			snap_tree(s, t[i] & PTE_ADDR, l - 1);
}

void pt_snapshot(struct pt_snapshot *s, uintptr_t va, uint64_t size)
{
	uint64_t root = pt_root();
	const uint64_t *top = phys_to_virt(root);
	unsigned first = (va >> 39) & 511, last = ((va + size - 1) >> 39) & 511, i;

	s->npages = 0;
	s->overflow = false;
	snap_page(s, root);
	for (i = first; i <= last; i++)
		if (pt_is_table(top[i]))
			snap_tree(s, top[i] & PTE_ADDR, 2);
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
