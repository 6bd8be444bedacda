/* SPDX-License-Identifier: MIT */
/*
 * The window's page-table subtree (see pgtable.h). Tables are walked through
 * the platform's direct map (pt_phys_to_virt); entry formats come from
 * src/arch.h.
 */
#include "pgtable.h"
#include "arch.h"

#define IDX_MASK (ARCH_PT_ENTRIES - 1)

static unsigned pt_index(uintptr_t va, unsigned level)
{
	return (unsigned)(va >> arch_pt_shift(level)) & IDX_MASK;
}

/* Last byte of the level-`level` entry span that contains va. */
static uintptr_t span_last(uintptr_t va, unsigned level)
{
	return va | (((uintptr_t)1 << arch_pt_shift(level)) - 1);
}

static uint64_t *table_alloc(struct pgt *t, uint64_t *pa)
{
	vtlmem_paddr_t p;
	uint64_t *tab = t->p->pt_alloc(t->p->ctx, &p);

	if (!tab)
		return NULL;
	*pa = vtlmem_pa_val(p);
	t->pages++;
	return tab;
}

static void table_free(struct pgt *t, uint64_t *tab, uint64_t pa)
{
	t->p->pt_free(t->p->ctx, tab, vtlmem_pa(pa));
	t->pages--;
}

static uint64_t *entry_table(const struct pgt *t, uint64_t e)
{
	return t->p->pt_phys_to_virt(t->p->ctx, vtlmem_pa(arch_pte_pa(e, t->addr_mask)));
}

static uint64_t load(const uint64_t *e)
{
	return __atomic_load_n(e, __ATOMIC_ACQUIRE);
}

/*
 * Link a table: a release store, so the table's zeroed contents are
 * visible before the entry that points at it (to other CPUs and to their
 * page walkers; on x86_64 this is a plain store, ordered for the compiler).
 */
static void link_store(uint64_t *e, uint64_t v)
{
	__atomic_store_n(e, v, __ATOMIC_RELEASE);
}

/* Record a level-1 table and give it an empty shadow. */
static int dir_init(struct pgt *t, struct pgt_dir *d, uint64_t *table)
{
	unsigned i;

	d->table = table;
	d->leaf = t->p->alloc(t->p->ctx, ARCH_PT_ENTRIES * sizeof(*d->leaf));
	if (!d->leaf)
		return -VTLMEM_ENOMEM;
	for (i = 0; i < ARCH_PT_ENTRIES; i++)
		d->leaf[i] = NULL;
	return 0;
}

/*
 * Fill `table` (level `level`) with child tables covering [lo, last],
 * recursively down to level 1, whose tables are recorded in dirs.
 */
static int build(struct pgt *t, uint64_t *table, unsigned level, uintptr_t lo, uintptr_t last)
{
	uintptr_t a = lo, elast;
	uint64_t *child, pa;
	int ret;

	if (level == 1)
		return dir_init(t, &t->dirs[(lo - t->dirs_base) >> t->dir_shift], table);
	for (;;) {
		elast = span_last(a, level);
		if (elast > last)
			elast = last;
		child = table_alloc(t, &pa);
		if (!child)
			return -VTLMEM_ENOMEM;
		link_store(&table[pt_index(a, level)], arch_pte_table(pa));
		ret = build(t, child, level - 1, a, elast);
		if (ret || elast == last)
			return ret;
		a = elast + 1;
	}
}

/* Free table (at level) and everything under it. */
static void free_subtree(struct pgt *t, uint64_t *table, uint64_t pa, unsigned level)
{
	unsigned i;
	uint64_t e;

	for (i = 0; level > 0 && i < ARCH_PT_ENTRIES; i++) {
		e = load(&table[i]);
		if (arch_pte_present(e))
			free_subtree(t, entry_table(t, e), arch_pte_pa(e, t->addr_mask), level - 1);
	}
	table_free(t, table, pa);
}

static void free_arrays(struct pgt *t)
{
	size_t k;

	for (k = 0; t->dirs && k < t->ndirs; k++)
		if (t->dirs[k].leaf)
			t->p->free(t->p->ctx, t->dirs[k].leaf,
				   ARCH_PT_ENTRIES * sizeof(*t->dirs[k].leaf));
	if (t->top)
		t->p->free(t->p->ctx, t->top, t->ntop * sizeof(*t->top));
	if (t->dirs)
		t->p->free(t->p->ctx, t->dirs, t->ndirs * sizeof(*t->dirs));
	t->top = NULL;
	t->dirs = NULL;
}

void pgt_fini(struct pgt *t)
{
	size_t k;

	for (k = 0; t->top && k < t->ntop; k++)
		if (t->top[k].table)
			free_subtree(t, t->top[k].table, t->top[k].pa, t->levels - 2);
	free_arrays(t);
}

static int alloc_arrays(struct pgt *t, uintptr_t last)
{
	unsigned rs = arch_pt_shift(t->levels - 1);
	size_t k;

	t->ntop = (size_t)((last >> rs) - (t->base >> rs)) + 1;
	t->ndirs = (size_t)((last >> t->dir_shift) - (t->base >> t->dir_shift)) + 1;
	t->top = t->p->alloc(t->p->ctx, t->ntop * sizeof(*t->top));
	t->dirs = t->p->alloc(t->p->ctx, t->ndirs * sizeof(*t->dirs));
	for (k = 0; t->top && k < t->ntop; k++)
		t->top[k].table = NULL;
	for (k = 0; t->dirs && k < t->ndirs; k++) {
		t->dirs[k].table = NULL;
		t->dirs[k].leaf = NULL;
	}
	return t->top && t->dirs ? 0 : -VTLMEM_ENOMEM;
}

/* One top table per root entry covering the window, each filled by build. */
static int build_tops(struct pgt *t, uintptr_t last)
{
	unsigned root = t->levels - 1;
	uintptr_t a = t->base, elast;
	size_t k;
	int ret;

	for (k = 0; k < t->ntop; k++, a = elast + 1) {
		elast = span_last(a, root);
		if (elast > last)
			elast = last;
		t->top[k].index = pt_index(a, root);
		t->top[k].table = table_alloc(t, &t->top[k].pa);
		if (!t->top[k].table)
			return -VTLMEM_ENOMEM;
		ret = build(t, t->top[k].table, root - 1, a, elast);
		if (ret)
			return ret;
	}
	return 0;
}

int pgt_init(struct pgt *t, const struct vtlmem_platform *p, uintptr_t base, uint64_t size)
{
	uintptr_t last = base + (size - 1);
	int ret;

	t->p = p;
	t->base = base;
	t->size = size;
	t->levels = arch_pt_levels();
	t->top = NULL;
	t->dirs = NULL;
	t->ntop = t->ndirs = 0;
	t->pages = 0;
	if (t->levels < 2)
		return -VTLMEM_EINVAL;
	t->leaf_shift = arch_pt_shift(1);
	t->dir_shift = arch_pt_shift(2);
	t->dirs_base = base & ~(((uintptr_t)1 << t->dir_shift) - 1);
	t->addr_mask = arch_pte_addr_mask(vtlmem_pa_bits(p));
	ret = alloc_arrays(t, last);
	if (!ret)
		ret = build_tops(t, last);
	if (ret)
		pgt_fini(t);
	return ret;
}

static const struct pgt_dir *dir_of(const struct pgt *t, uintptr_t va)
{
	return &t->dirs[(va - t->dirs_base) >> t->dir_shift];
}

/* va's leaf table (direct-map address), from the shadow; NULL if none. */
static uint64_t *leaf_table(const struct pgt *t, uintptr_t va)
{
	return __atomic_load_n(&dir_of(t, va)->leaf[(va >> t->leaf_shift) & IDX_MASK],
			       __ATOMIC_ACQUIRE);
}

/* Number of leaf tables [va, va + npages pages) touches. */
static uint64_t leaf_count(const struct pgt *t, uintptr_t va, uint64_t npages)
{
	uintptr_t last = va + ((npages << VTLMEM_PAGE_SHIFT) - 1);

	if (npages == 0)
		return 0;
	return ((last >> t->leaf_shift) - (va >> t->leaf_shift)) + 1;
}

static uintptr_t leaf_va(const struct pgt *t, uintptr_t va, uint64_t k)
{
	return (va & ~(((uintptr_t)1 << t->leaf_shift) - 1)) + (k << t->leaf_shift);
}

size_t pgt_missing(const struct pgt *t, uintptr_t va, uint64_t npages)
{
	uint64_t k, n = leaf_count(t, va, npages);
	size_t missing = 0;

	for (k = 0; k < n; k++)
		missing += !leaf_table(t, leaf_va(t, va, k));
	return missing;
}

void pgt_spare_put(struct pgt *t, struct pgt_spare *s)
{
	uint64_t *pg;

	while ((pg = s->head) != NULL) {
		s->head = (uint64_t *)(uintptr_t)pg[0];
		table_free(t, pg, pg[1]);
		s->n--;
	}
}

int pgt_spare_get(struct pgt *t, struct pgt_spare *s, size_t n)
{
	uint64_t *pg, pa;

	s->head = NULL;
	s->n = 0;
	while (s->n < n) {
		pg = table_alloc(t, &pa);
		if (!pg) {
			pgt_spare_put(t, s);
			return -VTLMEM_ENOMEM;
		}
		pg[0] = (uint64_t)(uintptr_t)s->head;
		pg[1] = pa;
		s->head = pg;
		s->n++;
	}
	return 0;
}

/* Take one spare, re-zeroing the two link words: a table maps nothing. */
static uint64_t *spare_pop(struct pgt_spare *s, uint64_t *pa)
{
	uint64_t *pg = s->head;

	s->head = (uint64_t *)(uintptr_t)pg[0];
	*pa = pg[1];
	pg[0] = 0;
	pg[1] = 0;
	s->n--;
	return pg;
}

void pgt_link(struct pgt *t, uintptr_t va, uint64_t npages, struct pgt_spare *s)
{
	uint64_t k, n = leaf_count(t, va, npages), pa, *leaf;
	const struct pgt_dir *d;
	uintptr_t lva;
	unsigned i;

	for (k = 0; k < n && s->head; k++) {
		lva = leaf_va(t, va, k);
		if (leaf_table(t, lva))
			continue;
		d = dir_of(t, lva);
		i = (lva >> t->leaf_shift) & IDX_MASK;
		leaf = spare_pop(s, &pa);
		link_store(&d->table[i], arch_pte_table(pa));
		__atomic_store_n(&d->leaf[i], leaf, __ATOMIC_RELEASE);
	}
}

int pgt_populate(struct pgt *t, uintptr_t va, uint64_t npages)
{
	struct pgt_spare s;
	int ret = pgt_spare_get(t, &s, pgt_missing(t, va, npages));

	if (!ret)
		pgt_link(t, va, npages, &s);
	return ret;
}

/* Pages from va to the end of its leaf table, at most n. */
static uint64_t chunk(uintptr_t va, uint64_t n)
{
	uint64_t room = ARCH_PT_ENTRIES - ((va >> VTLMEM_PAGE_SHIFT) & IDX_MASK);

	return n < room ? n : room;
}

void pgt_set(const struct pgt *t, uintptr_t va, const vtlmem_paddr_t *pages, uint64_t n,
	     uint64_t attrs)
{
	uint64_t k;

	for (; n; n -= k, pages += k, va += k << VTLMEM_PAGE_SHIFT) {
		k = chunk(va, n);
		arch_pte_set_leaves(&leaf_table(t, va)[(va >> VTLMEM_PAGE_SHIFT) & IDX_MASK], pages,
				    k, attrs, t->addr_mask);
	}
}

static void clear_each(const struct pgt *t, uint64_t *pte, uint64_t k,
		       void (*each)(void *arg, vtlmem_paddr_t pa), void *arg)
{
	uint64_t i, e;

	for (i = 0; i < k; i++) {
		e = load(&pte[i]);
		arch_pte_clear_leaves(&pte[i], 1);
		each(arg, vtlmem_pa(arch_pte_pa(e, t->addr_mask)));
	}
}

void pgt_clear(const struct pgt *t, uintptr_t va, uint64_t n,
	       void (*each)(void *arg, vtlmem_paddr_t pa), void *arg)
{
	uint64_t k, *pte;

	for (; n; n -= k, va += k << VTLMEM_PAGE_SHIFT) {
		k = chunk(va, n);
		pte = &leaf_table(t, va)[(va >> VTLMEM_PAGE_SHIFT) & IDX_MASK];
		if (each)
			clear_each(t, pte, k, each, arg);
		else
			arch_pte_clear_leaves(pte, k);
	}
}

uint64_t pgt_leaf_entry(const struct pgt *t, uintptr_t va)
{
	uint64_t *leaf = leaf_table(t, va);

	return leaf ? load(&leaf[(va >> VTLMEM_PAGE_SHIFT) & IDX_MASK]) : 0;
}

void pgt_top_entry(const struct pgt *t, size_t k, unsigned *index, uint64_t *value)
{
	*index = t->top[k].index;
	*value = arch_pte_table(t->top[k].pa);
}
