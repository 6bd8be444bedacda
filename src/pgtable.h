/* SPDX-License-Identifier: MIT */
/*
 * pgtable: the page-table subtree of the vmap window.
 *
 * The table-ops seam: table memory comes from the platform (pt_alloc,
 * pt_free, pt_phys_to_virt: zeroed 4 KiB pages and their direct-map
 * addresses), entry formats and level geometry from src/arch.h. Nothing
 * here knows x86_64 bit layouts.
 *
 * Structure. The window [base, base + size) is covered by:
 *   - top tables: one level (L-2) table per root (level L-1) entry the
 *     window touches; the kernel installs those root entries
 *     (vtlmem_pgt_top_entry) in every address space, so all of them see one window;
 *   - every intermediate table down to level 1 ("dirs"), created with the
 *     top tables at init, so the window never grows an upper-level table
 *     later and no root needs updating after init;
 *   - a software shadow per dir: the direct-map address of each leaf
 *     table it points at (NULL: none yet), so the hot paths find a leaf
 *     table with one load, without walking or translating (the hardware
 *     entries stay the MMU's truth; the shadow is written with them);
 *   - leaf (level-0) tables, created on demand (or at init by
 *     vtlmem_pgt_populate) and kept until vtlmem_pgt_fini: an emptied leaf table is not
 *     freed, so no paging-structure cache ever holds a pointer to a table
 *     page that went back to the kernel (freeing one would need a remote
 *     flush of its own). The cost is at most one leaf table page per 2 MiB
 *     of window ever used.
 *
 * Two-phase use by the vmap manager (under its lock):
 *   n = vtlmem_pgt_missing(range); vtlmem_pgt_spare_get(n)   fallible, changes no table
 *   vtlmem_pgt_link(range, spares)                     cannot fail
 *   vtlmem_pgt_set(range, pages) or vtlmem_pgt_set_run  cannot fail
 * so a failed prepare leaves every table byte-identical.
 *
 * Concurrency: vtlmem_pgt_missing, pgt_spare_*, vtlmem_pgt_link, vtlmem_pgt_populate and
 * vtlmem_pgt_fini are serialised by the caller. vtlmem_pgt_set(_run) and vtlmem_pgt_clear may run
 * concurrently with them and each other on disjoint ranges whose leaf
 * tables are linked: a present table entry never changes until vtlmem_pgt_fini.
 * A table is linked (hardware entry and shadow) with release stores after
 * it is zeroed, and read with acquire loads, so any CPU that finds the link
 * sees an empty table, never the spare-list words it carried before.
 */
#ifndef VTLMEM_SRC_PGTABLE_H
#define VTLMEM_SRC_PGTABLE_H

#include <vtlmem/platform.h>

/* A level-1 table and the shadow of the leaf tables its entries point at. */
struct pgt_dir {
	uint64_t *table;
	uint64_t **leaf;          /* VTLMEM_PT_ENTRIES direct-map addresses    */
};

struct pgt_top {
	unsigned index;           /* entry index in the root table             */
	uint64_t *table;          /* the table that entry points at            */
	vtlmem_paddr_t pa;
};

struct pgt {
	const struct vtlmem_platform *p;
	uintptr_t base;
	uint64_t size;
	unsigned leaf_shift;      /* bytes one leaf table maps: 2^leaf_shift  */
	unsigned dir_shift;       /* bytes one level-1 table maps             */
	uint64_t addr_mask;       /* physical-address bits an entry holds
				   * (VTLMEM_ARCH_PA_BITS_MAX wide, whatever
				   * the platform's pa_bits: it may grow)   */
	struct pgt_top *top;
	size_t ntop;
	struct pgt_dir *dirs;     /* level-1 tables, from dirs_base upwards   */
	size_t ndirs;
	uintptr_t dirs_base;
	uint64_t pages;           /* table pages held (spares included)       */
};

/* Page-table pages allocated but not linked yet, threaded through word 0. */
struct pgt_spare {
	uint64_t *head;
	size_t n;
};

/*
 * The walker (in the shape of Linux's kvm_pgtable_walk): visits the
 * entries of the window's tables that map [va, va + size), top tables
 * down. Per entry of a table at level >= 1: TABLE_PRE before descending
 * (the entry is re-read afterwards, so a PRE visitor may link a new table
 * and the walk descends into it), the subtree (leaf tables only when LEAF
 * is asked for), then TABLE_POST; per leaf entry: LEAF. A visitor's
 * non-zero return stops the walk and is returned. The root entries are the
 * kernel's, so the top tables themselves are never visited.
 */
#define VTLMEM_PGT_LEAF       1u
#define VTLMEM_PGT_TABLE_PRE  2u
#define VTLMEM_PGT_TABLE_POST 4u

struct vtlmem_pgt_visit {
	unsigned level;           /* of the table holding the entry            */
	unsigned flag;            /* which visit: one VTLMEM_PGT_* value       */
	uintptr_t va;             /* first VA the entry maps                   */
	uint64_t *entry;
};

struct vtlmem_pgt_walker {
	int (*visit)(struct pgt *t, const struct vtlmem_pgt_visit *v, void *arg);
	void *arg;
	unsigned flags;           /* VTLMEM_PGT_* visits wanted                */
};

int vtlmem_pgt_walk(struct pgt *t, uintptr_t va, uint64_t size, const struct vtlmem_pgt_walker *w);

/*
 * Build the top and intermediate tables for the window (size > 0, both
 * page-aligned, already validated by vtlmem_arch_va_window_ok). Returns 0
 * or -VTLMEM_ENOMEM (everything freed).
 */
int vtlmem_pgt_init(struct pgt *t, const struct vtlmem_platform *p, uintptr_t base, uint64_t size);

/* Free every table page (leaves included) and the bookkeeping arrays. */
void vtlmem_pgt_fini(struct pgt *t);

/*
 * Make sure leaf tables exist for [va, va + npages pages) (inside the
 * window). Returns 0 or -VTLMEM_ENOMEM; on failure the tables already
 * linked stay (the caller is tearing down anyway).
 */
int vtlmem_pgt_populate(struct pgt *t, uintptr_t va, uint64_t npages);

/* Leaf tables [va, va + npages pages) still lacks. */
size_t vtlmem_pgt_missing(const struct pgt *t, uintptr_t va, uint64_t npages);

/* Allocate n spare table pages, all or none: 0 or -VTLMEM_ENOMEM. */
int vtlmem_pgt_spare_get(struct pgt *t, struct pgt_spare *s, size_t n);

/* Give unused spares back to the platform. */
void vtlmem_pgt_spare_put(struct pgt *t, struct pgt_spare *s);

/*
 * Link spare pages as the missing leaf tables of [va, va + npages pages).
 * s must hold exactly vtlmem_pgt_missing() pages for that range (same lock hold):
 * a shortfall or a leftover is a library bug (VTLMEM_BUG_ON).
 */
void vtlmem_pgt_link(struct pgt *t, uintptr_t va, uint64_t npages, struct pgt_spare *s);

/*
 * Write leaf entries for n pages from va: pages[i] with attrs, then publish
 * them (vtlmem_arch_publish). The caller validated both: every page
 * aligned and below 2^VTLMEM_ARCH_PA_BITS_MAX (vmap_pa_bits() is never
 * more), attrs from vtlmem_arch_leaf_attrs(). Every entry must be invalid
 * before (break-before-make: a library bug otherwise, VTLMEM_BUG_ON).
 */
void vtlmem_pgt_set(const struct pgt *t, uintptr_t va, const vtlmem_paddr_t *pages, uint64_t n,
	     uint64_t attrs);

/*
 * vtlmem_pgt_set() for the n >= 1 physically contiguous pages from pa
 * (page i is pa + i pages; validated likewise: pa aligned, the last page
 * below 2^VTLMEM_ARCH_PA_BITS_MAX): reads no page array, so it writes
 * exactly the run the caller validated.
 */
void vtlmem_pgt_set_run(const struct pgt *t, uintptr_t va, vtlmem_paddr_t pa, uint64_t n,
			uint64_t attrs);

/*
 * Clear the leaf entries of n pages from va (each must be valid). If each
 * is not NULL it is called with every cleared entry's physical address,
 * right after that entry is cleared.
 */
void vtlmem_pgt_clear(const struct pgt *t, uintptr_t va, uint64_t n,
	       void (*each)(void *arg, vtlmem_paddr_t pa), void *arg);

/* The leaf entry of va (0 if its leaf table does not exist). */
uint64_t vtlmem_pgt_leaf_entry(const struct pgt *t, uintptr_t va);

/* Root-table entry k (< ntop): its index and the value to install. */
void vtlmem_pgt_top_entry(const struct pgt *t, size_t k, unsigned *index, uint64_t *value);

/*
 * Tables by level and valid leaf entries, counted by one walk of the whole
 * window (levels below the top tables; tables[VTLMEM_ARCH_PT_LEVELS - 2] is
 * the number of top tables).
 */
struct pgt_census {
	uint64_t tables[8];
	uint64_t leaves;
};

/*
 * Check the tables against their bookkeeping (one walk): every table entry
 * is exactly vtlmem_arch_pte_table() of its child, every level-1 entry
 * agrees with the leaf shadow, and the tables found plus spares s (may be
 * 0) are t->pages. Fills *c. Returns 0 or a negative number naming the
 * broken invariant. Caller serialises (the vmap lock).
 */
int vtlmem_pgt_check(struct pgt *t, size_t spares, struct pgt_census *c);

#endif
