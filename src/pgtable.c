/* SPDX-License-Identifier: MIT */
/*
 * The window's page-table subtree (see pgtable.h). Tables are reached
 * through the platform's direct map (pt_phys_to_virt); entry formats and
 * geometry come from the arch interface (src/arch.h). init, fini and the
 * check are visitors of one walker; map and unmap go straight to the leaf
 * table through the shadow.
 */
#include "arch.h"
#include "bug.h"
#include "pgtable.h"

#define IDX_MASK (VTLMEM_PT_ENTRIES - 1)
#define TOP_LEVEL (VTLMEM_ARCH_PT_LEVELS - 2)   /* level of the top tables */
#define ROOT_LEVEL (VTLMEM_ARCH_PT_LEVELS - 1)

_Static_assert(TOP_LEVEL >= 1 && TOP_LEVEL < 8, "census levels");

static unsigned pt_index(uintptr_t va, unsigned level)
{
	return (unsigned)(va >> vtlmem_pt_shift(level)) & IDX_MASK;
}

/* Last byte of the level-`level` entry span that contains va. */
static uintptr_t span_last(uintptr_t va, unsigned level)
{
	return va | (((uintptr_t)1 << vtlmem_pt_shift(level)) - 1);
}

static uint64_t *table_alloc(struct pgt *t, vtlmem_paddr_t *pa)
{
	uint64_t *tab = t->p->pt_alloc(t->p->ctx, pa);

	if (tab)
		t->pages++;
	return tab;
}

static void table_free(struct pgt *t, uint64_t *tab, vtlmem_paddr_t pa)
{
	t->p->pt_free(t->p->ctx, tab, pa);
	t->pages--;
}

static uint64_t *entry_table(const struct pgt *t, uint64_t e)
{
	return t->p->pt_phys_to_virt(t->p->ctx, vtlmem_arch_pte_addr(e, t->addr_mask));
}

static uint64_t load(const uint64_t *e)
{
	return __atomic_load_n(e, __ATOMIC_ACQUIRE);
}

/*
 * Link a table: a release store, so the table's zeroed contents are
 * visible before the entry that points at it (to other CPUs and to their
 * page walkers), then published for this CPU's walker.
 */
static void link_store(uint64_t *e, vtlmem_paddr_t table)
{
	__atomic_store_n(e, vtlmem_arch_pte_table(table), __ATOMIC_RELEASE);
	vtlmem_arch_publish();
}

/* ---- the walker --------------------------------------------------------- */

struct walk {
	struct pgt *t;
	const struct vtlmem_pgt_walker *w;
};

static int visit(struct walk *k, unsigned level, unsigned flag, uintptr_t va, uint64_t *e)
{
	const struct vtlmem_pgt_visit v = { level, flag, va, e };

	if (!(k->w->flags & flag))
		return 0;
	return k->w->visit(k->t, &v, k->w->arg);
}

static int walk_table(struct walk *k, uint64_t *table, unsigned level, uintptr_t first,
		      uintptr_t last);

/* One entry of a level >= 1 table: PRE, its subtree, POST. */
static int walk_entry(struct walk *k, uint64_t *e, unsigned level, uintptr_t a, uintptr_t elast)
{
	uintptr_t start = a & ~(((uintptr_t)1 << vtlmem_pt_shift(level)) - 1);
	uint64_t v;
	int ret = visit(k, level, VTLMEM_PGT_TABLE_PRE, start, e);

	if (ret)
		return ret;
	v = load(e);   /* re-read: PRE may have linked a table */
	if (vtlmem_arch_pte_valid(v) && (level > 1 || (k->w->flags & VTLMEM_PGT_LEAF))) {
		ret = walk_table(k, entry_table(k->t, v), level - 1, a, elast);
		if (ret)
			return ret;
	}
	return visit(k, level, VTLMEM_PGT_TABLE_POST, start, e);
}

/* The entries of table (at level) that map [first, last], in VA order. */
static int walk_table(struct walk *k, uint64_t *table, unsigned level, uintptr_t first,
		      uintptr_t last)
{
	uintptr_t a = first, elast;
	uint64_t *e;
	int ret;

	for (;;) {
		elast = span_last(a, level);
		if (elast > last)
			elast = last;
		e = &table[pt_index(a, level)];
		if (level == 0)
			ret = visit(k, 0, VTLMEM_PGT_LEAF, a & ~(uintptr_t)VTLMEM_PAGE_MASK, e);
		else
			ret = walk_entry(k, e, level, a, elast);
		if (ret || elast == last)
			return ret;
		a = elast + 1;
	}
}

int vtlmem_pgt_walk(struct pgt *t, uintptr_t va, uint64_t size, const struct vtlmem_pgt_walker *w)
{
	struct walk k = { t, w };
	uintptr_t last = va + (size - 1), tfirst, tlast;
	size_t i;
	int ret;

	/* top table i: root entry i after the one holding base (filled in order) */
	for (i = 0; i < t->ntop && t->top[i].table; i++) {
		tfirst = (t->base & ~(((uintptr_t)1 << vtlmem_pt_shift(ROOT_LEVEL)) - 1)) +
			 ((uintptr_t)i << vtlmem_pt_shift(ROOT_LEVEL));
		tlast = span_last(tfirst, ROOT_LEVEL);
		if (tlast < va || tfirst > last)
			continue;
		ret = walk_table(&k, t->top[i].table, TOP_LEVEL, tfirst > va ? tfirst : va,
				 tlast < last ? tlast : last);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- init, fini ---------------------------------------------------------- */

/* Record a level-1 table and give it an empty shadow. */
static int dir_init(struct pgt *t, uintptr_t va, uint64_t *table)
{
	struct pgt_dir *d = &t->dirs[(va - t->dirs_base) >> t->dir_shift];
	unsigned i;

	d->table = table;
	d->leaf = t->p->alloc(t->p->ctx, VTLMEM_PT_ENTRIES * sizeof(*d->leaf));
	if (!d->leaf)
		return -VTLMEM_ENOMEM;
	for (i = 0; i < VTLMEM_PT_ENTRIES; i++)
		d->leaf[i] = NULL;
	return 0;
}

/* init: every entry above level 1 gets its child table (TABLE_PRE). */
static int build_visit(struct pgt *t, const struct vtlmem_pgt_visit *v, void *arg)
{
	vtlmem_paddr_t pa;
	uint64_t *child;

	(void)arg;
	if (v->level < 2 || vtlmem_arch_pte_valid(load(v->entry)))
		return 0;
	child = table_alloc(t, &pa);
	if (!child)
		return -VTLMEM_ENOMEM;
	link_store(v->entry, pa);
	return v->level == 2 ? dir_init(t, v->va, child) : 0;
}

/* fini: every table below the top ones, after its own subtree (TABLE_POST). */
static int free_visit(struct pgt *t, const struct vtlmem_pgt_visit *v, void *arg)
{
	uint64_t e = load(v->entry);

	(void)arg;
	if (vtlmem_arch_pte_valid(e))
		table_free(t, entry_table(t, e), vtlmem_arch_pte_addr(e, t->addr_mask));
	return 0;
}

static void free_arrays(struct pgt *t)
{
	size_t k;

	for (k = 0; t->dirs && k < t->ndirs; k++)
		if (t->dirs[k].leaf)
			t->p->free(t->p->ctx, t->dirs[k].leaf,
				   VTLMEM_PT_ENTRIES * sizeof(*t->dirs[k].leaf));
	if (t->top)
		t->p->free(t->p->ctx, t->top, t->ntop * sizeof(*t->top));
	if (t->dirs)
		t->p->free(t->p->ctx, t->dirs, t->ndirs * sizeof(*t->dirs));
	t->top = NULL;
	t->dirs = NULL;
}

void vtlmem_pgt_fini(struct pgt *t)
{
	const struct vtlmem_pgt_walker w = { free_visit, NULL, VTLMEM_PGT_TABLE_POST };
	size_t k;

	if (t->top)
		vtlmem_pgt_walk(t, t->base, t->size, &w);
	for (k = 0; t->top && k < t->ntop; k++)
		if (t->top[k].table)
			table_free(t, t->top[k].table, t->top[k].pa);
	free_arrays(t);
}

static int alloc_arrays(struct pgt *t, uintptr_t last)
{
	unsigned rs = vtlmem_pt_shift(ROOT_LEVEL);
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

/*
 * One top table per root entry the window touches (the walk fills them).
 * With 3 levels the top tables are the level-1 tables themselves.
 */
static int alloc_tops(struct pgt *t)
{
	uintptr_t a = t->base;
	size_t k;
	int ret;

	for (k = 0; k < t->ntop; k++, a = span_last(a, ROOT_LEVEL) + 1) {
		t->top[k].index = pt_index(a, ROOT_LEVEL);
		t->top[k].table = table_alloc(t, &t->top[k].pa);
		if (!t->top[k].table)
			return -VTLMEM_ENOMEM;
		if (TOP_LEVEL == 1) {
			ret = dir_init(t, a, t->top[k].table);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int vtlmem_pgt_init(struct pgt *t, const struct vtlmem_platform *p, uintptr_t base, uint64_t size)
{
	const struct vtlmem_pgt_walker w = { build_visit, NULL, VTLMEM_PGT_TABLE_PRE };
	int ret;

	t->p = p;
	t->base = base;
	t->size = size;
	t->top = NULL;
	t->dirs = NULL;
	t->ntop = t->ndirs = 0;
	t->pages = 0;
	t->leaf_shift = vtlmem_pt_shift(1);
	t->dir_shift = vtlmem_pt_shift(2);
	t->dirs_base = base & ~(((uintptr_t)1 << t->dir_shift) - 1);
	t->addr_mask = vtlmem_arch_pte_addr_mask(VTLMEM_ARCH_PA_BITS_MAX);
	ret = alloc_arrays(t, base + (size - 1));
	if (!ret)
		ret = alloc_tops(t);
	if (!ret)
		ret = vtlmem_pgt_walk(t, base, size, &w);
	if (ret)
		vtlmem_pgt_fini(t);
	return ret;
}

/* ---- leaf tables: the shadow, spares, linking ----------------------------- */

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

size_t vtlmem_pgt_missing(const struct pgt *t, uintptr_t va, uint64_t npages)
{
	uint64_t k, n = leaf_count(t, va, npages);
	size_t missing = 0;

	for (k = 0; k < n; k++)
		missing += !leaf_table(t, leaf_va(t, va, k));
	return missing;
}

void vtlmem_pgt_spare_put(struct pgt *t, struct pgt_spare *s)
{
	uint64_t *pg;

	while ((pg = s->head) != NULL) {
		s->head = (uint64_t *)(uintptr_t)pg[0];
		table_free(t, pg, vtlmem_pa(pg[1]));
		s->n--;
	}
}

int vtlmem_pgt_spare_get(struct pgt *t, struct pgt_spare *s, size_t n)
{
	vtlmem_paddr_t pa;
	uint64_t *pg;

	s->head = NULL;
	s->n = 0;
	while (s->n < n) {
		pg = table_alloc(t, &pa);
		if (!pg) {
			vtlmem_pgt_spare_put(t, s);
			return -VTLMEM_ENOMEM;
		}
		pg[0] = (uint64_t)(uintptr_t)s->head;
		pg[1] = vtlmem_pa_val(pa);
		s->head = pg;
		s->n++;
	}
	return 0;
}

/* Take one spare, re-zeroing the two link words: a table maps nothing. */
static uint64_t *spare_pop(const struct pgt *t, struct pgt_spare *s, vtlmem_paddr_t *pa)
{
	uint64_t *pg = s->head;

	VTLMEM_BUG_ON(t->p, !pg);   /* fewer spares than vtlmem_pgt_missing() said */
	s->head = (uint64_t *)(uintptr_t)pg[0];
	*pa = vtlmem_pa(pg[1]);
	pg[0] = 0;
	pg[1] = 0;
	s->n--;
	return pg;
}

void vtlmem_pgt_link(struct pgt *t, uintptr_t va, uint64_t npages, struct pgt_spare *s)
{
	uint64_t k, n = leaf_count(t, va, npages), *leaf;
	const struct pgt_dir *d;
	vtlmem_paddr_t pa;
	uintptr_t lva;
	unsigned i;

	for (k = 0; k < n; k++) {
		lva = leaf_va(t, va, k);
		if (leaf_table(t, lva))
			continue;
		d = dir_of(t, lva);
		i = (lva >> t->leaf_shift) & IDX_MASK;
		leaf = spare_pop(t, s, &pa);
		VTLMEM_BUG_ON(t->p, vtlmem_arch_pte_valid(load(&d->table[i])));
		link_store(&d->table[i], pa);
		__atomic_store_n(&d->leaf[i], leaf, __ATOMIC_RELEASE);
	}
	VTLMEM_BUG_ON(t->p, s->head != NULL);   /* more spares than were missing */
}

int vtlmem_pgt_populate(struct pgt *t, uintptr_t va, uint64_t npages)
{
	struct pgt_spare s;
	int ret = vtlmem_pgt_spare_get(t, &s, vtlmem_pgt_missing(t, va, npages));

	if (!ret)
		vtlmem_pgt_link(t, va, npages, &s);
	return ret;
}

/* ---- leaf entries ------------------------------------------------------------- */

/* Pages from va to the end of its leaf table, at most n. */
static uint64_t chunk(uintptr_t va, uint64_t n)
{
	uint64_t room = VTLMEM_PT_ENTRIES - ((va >> VTLMEM_PAGE_SHIFT) & IDX_MASK);

	return n < room ? n : room;
}

static uint64_t *leaf_entry(const struct pgt *t, uintptr_t va)
{
	uint64_t *leaf = leaf_table(t, va);

	VTLMEM_BUG_ON(t->p, !leaf);   /* the caller linked the range's tables */
	return &leaf[(va >> VTLMEM_PAGE_SHIFT) & IDX_MASK];
}

/*
 * The entry writers. invalid -> valid only: every old entry is ORed into
 * `bad` (on x86_64 one `or` from memory per page) and checked once per leaf
 * table (break-before-make, VTLMEM_BUG_ON). Each new entry is written with
 * one single-copy-atomic store; the old ones are read with plain loads (the
 * range is this caller's: no other CPU writes those entries). The pages
 * are validated (aligned, below 2^VTLMEM_ARCH_PA_BITS_MAX), so masking them
 * with addr_mask would change nothing: LEAF() leaves the mask out and the
 * compiler folds it away. Unrolled by four: loop overhead is most of a
 * per-page cost this small.
 */
#define LEAF(pa, attrs) vtlmem_arch_pte_leaf((pa), (attrs), ~(uint64_t)0)

static void put(uint64_t *e, uint64_t v)
{
	__atomic_store_n(e, v, __ATOMIC_RELAXED);
}

static void set_leaves(const struct pgt *t, uint64_t *pte, const vtlmem_paddr_t *pages,
		       uint64_t k, uint64_t attrs)
{
	uint64_t i = 0, bad = 0;

	for (; i + 4 <= k; i += 4) {
		bad |= pte[i] | pte[i + 1] | pte[i + 2] | pte[i + 3];
		put(&pte[i], LEAF(pages[i], attrs));
		put(&pte[i + 1], LEAF(pages[i + 1], attrs));
		put(&pte[i + 2], LEAF(pages[i + 2], attrs));
		put(&pte[i + 3], LEAF(pages[i + 3], attrs));
	}
	for (; i < k; i++) {
		bad |= pte[i];
		put(&pte[i], LEAF(pages[i], attrs));
	}
	VTLMEM_BUG_ON(t->p, vtlmem_arch_pte_valid(bad));   /* break-before-make */
}

void vtlmem_pgt_set(const struct pgt *t, uintptr_t va, const vtlmem_paddr_t *pages, uint64_t n,
	     uint64_t attrs)
{
	uint64_t k;

	for (; n; n -= k, pages += k, va += k << VTLMEM_PAGE_SHIFT) {
		k = chunk(va, n);
		set_leaves(t, leaf_entry(t, va), pages, k, attrs);
	}
	vtlmem_arch_publish();
}

/*
 * Entries e, e + step, ... for k pages: a run's entries differ by the
 * entry of one page (the address field is a linear image of the page
 * address on every arch: src/arch.h). Unrolled by eight: the loop is three
 * instructions per page on x86_64 (the old entry ORed from memory, the new
 * one formed by lea and stored).
 */
static void run_leaves(const struct pgt *t, uint64_t *pte, uint64_t e, uint64_t step, uint64_t k)
{
	uint64_t i = 0, bad = 0;

	for (; i + 8 <= k; i += 8, e += 8 * step) {
		bad |= pte[i] | pte[i + 1] | pte[i + 2] | pte[i + 3] |
		       pte[i + 4] | pte[i + 5] | pte[i + 6] | pte[i + 7];
		put(&pte[i], e);
		put(&pte[i + 1], e + step);
		put(&pte[i + 2], e + 2 * step);
		put(&pte[i + 3], e + 3 * step);
		put(&pte[i + 4], e + 4 * step);
		put(&pte[i + 5], e + 5 * step);
		put(&pte[i + 6], e + 6 * step);
		put(&pte[i + 7], e + 7 * step);
	}
	for (; i < k; i++, e += step) {
		bad |= pte[i];
		put(&pte[i], e);
	}
	VTLMEM_BUG_ON(t->p, vtlmem_arch_pte_valid(bad));   /* break-before-make */
}

void vtlmem_pgt_set_run(const struct pgt *t, uintptr_t va, vtlmem_paddr_t pa, uint64_t n,
			uint64_t attrs)
{
	const uint64_t step = LEAF(vtlmem_pa(VTLMEM_PAGE_SIZE), 0);
	uint64_t k, e = LEAF(pa, attrs);

	/* the arch's entries are linear in the address (checked at the run's end) */
	VTLMEM_BUG_ON(t->p, n && LEAF(vtlmem_pa(vtlmem_pa_val(pa) + ((n - 1) << VTLMEM_PAGE_SHIFT)),
				  attrs) != e + (n - 1) * step);
	for (; n; n -= k, e += k * step, va += k << VTLMEM_PAGE_SHIFT) {
		k = chunk(va, n);
		run_leaves(t, leaf_entry(t, va), e, step, k);
	}
	vtlmem_arch_publish();
}

/* valid -> invalid only. */
static void clear_leaves(const struct pgt *t, uint64_t *pte, uint64_t k,
			 void (*each)(void *arg, vtlmem_paddr_t pa), void *arg)
{
	uint64_t i, e;

	for (i = 0; i < k; i++) {
		e = __atomic_load_n(&pte[i], __ATOMIC_RELAXED);   /* the range is ours */
		__atomic_store_n(&pte[i], 0, __ATOMIC_RELAXED);
		VTLMEM_BUG_ON(t->p, !vtlmem_arch_pte_valid(e));
		if (each)
			each(arg, vtlmem_arch_pte_addr(e, t->addr_mask));
	}
}

void vtlmem_pgt_clear(const struct pgt *t, uintptr_t va, uint64_t n,
	       void (*each)(void *arg, vtlmem_paddr_t pa), void *arg)
{
	uint64_t k;

	for (; n; n -= k, va += k << VTLMEM_PAGE_SHIFT) {
		k = chunk(va, n);
		clear_leaves(t, leaf_entry(t, va), k, each, arg);
	}
	vtlmem_arch_publish();
}

uint64_t vtlmem_pgt_leaf_entry(const struct pgt *t, uintptr_t va)
{
	uint64_t *leaf = leaf_table(t, va);

	return leaf ? load(&leaf[(va >> VTLMEM_PAGE_SHIFT) & IDX_MASK]) : 0;
}

void vtlmem_pgt_top_entry(const struct pgt *t, size_t k, unsigned *index, uint64_t *value)
{
	*index = t->top[k].index;
	*value = vtlmem_arch_pte_table(t->top[k].pa);
}

/* ---- the check --------------------------------------------------------------- */

struct census_arg {
	struct pgt_census *c;
};

static int check_visit(struct pgt *t, const struct vtlmem_pgt_visit *v, void *arg)
{
	struct pgt_census *c = ((struct census_arg *)arg)->c;
	uint64_t e = load(v->entry);
	const uint64_t *shadow;
	vtlmem_paddr_t pa;

	if (v->flag == VTLMEM_PGT_LEAF) {
		c->leaves += vtlmem_arch_pte_valid(e);
		return 0;
	}
	shadow = v->level == 1 ?
		 dir_of(t, v->va)->leaf[(v->va >> t->leaf_shift) & IDX_MASK] : NULL;
	if (!vtlmem_arch_pte_valid(e))
		return (e || shadow) ? -1 : 0;   /* an invalid entry is 0 */
	pa = vtlmem_arch_pte_addr(e, t->addr_mask);
	if (e != vtlmem_arch_pte_table(pa))
		return -2;
	if (v->level == 1 && shadow != entry_table(t, e))
		return -3;
	c->tables[v->level - 1]++;
	return 0;
}

int vtlmem_pgt_check(struct pgt *t, size_t spares, struct pgt_census *c)
{
	struct census_arg a = { c };
	const struct vtlmem_pgt_walker w = { check_visit, &a,
					     VTLMEM_PGT_TABLE_PRE | VTLMEM_PGT_LEAF };
	uint64_t n = 0;
	unsigned l;
	int ret;

	for (l = 0; l < 8; l++)
		c->tables[l] = 0;
	c->leaves = 0;
	ret = vtlmem_pgt_walk(t, t->base, t->size, &w);
	if (ret)
		return ret;
	c->tables[TOP_LEVEL] = t->ntop;
	for (l = 0; l <= TOP_LEVEL; l++)
		n += c->tables[l];
	return n + spares == t->pages ? 0 : -4;
}
