/* SPDX-License-Identifier: MIT */
/*
 * The vmap manager (src/vmap.c, src/pgtable.c, arch/$(ARCH)/pte.c): page
 * tables checked by an independent software walker (hostmmu), state
 * compared byte for byte around every failure.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vtlmem/copy.h>
#include <vtlmem/vmap.h>
#include "fault.h"
#include "hostmmu.h"
#include "hostplat.h"
#include "../../src/vaspace.h"
#include "../../src/vmap_debug.h"

#define PG 4096ull
#define MB (1ull << 20)
#define GB (1ull << 30)
#define PHYS (128 * MB)
#define WINDOW (64 * MB)
#define SPC 4u

/*
 * The exact entries the library must write: hmmu_leaf() and hmmu_table()
 * of the arch under test (tests/unit/common/arch/<arch>/hostmmu_arch.h,
 * independent of the library's encoders).
 */

struct fx {
	struct hostplat hp;
	struct hostmmu mmu;
	struct vtlmem_rtable rt;
	struct vtlmem_vmap *vm;
	struct vtlmem_vmap_config cfg;
	uint64_t arena;                 /* mapping-area pages */
};

static struct fx *fx_new_cfg(uint64_t window, uint64_t align, uint64_t offset, unsigned spc,
			     uint64_t threshold, bool prepopulate)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	hostplat_init(&f->hp, PHYS);
	hostmmu_init_at(&f->mmu, &f->hp, window, align, offset);
	f->cfg.slots_per_cpu = spc;
	f->cfg.purge_threshold = threshold;
	f->cfg.prepopulate = prepopulate;
	hostmmu_config(&f->mmu, &f->cfg);
	assert_int_equal(vtlmem_rtable_init(&f->rt, &f->hp.ops), 0);
	assert_int_equal(vtlmem_vmap_create(&f->hp.ops, &f->rt, &f->cfg, &f->vm), 0);
	hostmmu_install(&f->mmu, f->vm);
	f->arena = window / PG - f->hp.ops.ncpus * (spc + 1);
	return f;
}

/* 64 MiB window inside one 1 GiB region, 4 slots per CPU, threshold 1000. */
static struct fx *fx_new(void)
{
	return fx_new_cfg(WINDOW, GB, 0, SPC, 1000, false);
}

static void fx_free(struct fx *f)
{
	hostmmu_fini(&f->mmu);
	assert_int_equal(vtlmem_vmap_destroy(f->vm), 0);
	assert_int_equal(vtlmem_rtable_fini(&f->rt), 0);
	assert_int_equal(f->hp.pt_live, 0);
	assert_int_equal(f->hp.alloc_live, 0);
	assert_int_equal(f->hp.protected_live, 0);
	hostplat_fini(&f->hp);
	free(f);
}

/* The i-th page of VTL0 RAM (from 16 MiB). */
static vtlmem_paddr_t vpage(uint64_t i)
{
	return vtlmem_pa(HOSTPLAT_VTL0_BASE + i * PG);
}

static struct vtlmem_map_req req_of(const vtlmem_paddr_t *pages, size_t n, enum vtlmem_prot prot,
				    enum vtlmem_cache cache)
{
	struct vtlmem_map_req r = { .pages = pages, .npages = n, .prot = prot, .cache = cache };

	return r;
}

static struct vtlmem_mapping *map_ok(struct fx *f, const vtlmem_paddr_t *pages, size_t n,
				     enum vtlmem_prot prot, uintptr_t *va)
{
	struct vtlmem_map_req r = req_of(pages, n, prot, VTLMEM_CACHE_WB);
	struct vtlmem_mapping *m = NULL;
	vtlmem_vaddr_t v;

	assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &v), 0);
	assert_non_null(m);
	if (va)
		*va = vtlmem_va_val(v);
	return m;
}

static struct vtlmem_vmap_stats stats(struct fx *f)
{
	struct vtlmem_vmap_stats st;

	vtlmem_vmap_get_stats(f->vm, &st);
	return st;
}

static vtlmem_resv_t reserve_pages(struct fx *f, uint64_t first, uint64_t n,
				   enum vtlmem_rmode mode);

/* ---- whole-state snapshots (for "no change") -------------------------- */

#define MAXR 1024

struct ranges {
	uint64_t n, start[MAXR], len[MAXR];
};

static void collect_range(void *arg, uint64_t start, uint64_t len)
{
	struct ranges *r = arg;

	if (r->n < MAXR) {
		r->start[r->n] = start;
		r->len[r->n] = len;
	}
	r->n++;
}

static void collect_resv(void *arg, vtlmem_paddr_t pa, uint64_t len, enum vtlmem_rmode mode,
			 uint32_t readers)
{
	struct ranges *r = arg;

	if (r->n < MAXR) {
		r->start[r->n] = vtlmem_pa_val(pa);
		r->len[r->n] = len ^ ((uint64_t)mode << 60) ^ ((uint64_t)readers << 40);
	}
	r->n++;
}

struct state {
	struct hostmmu_snap snap;
	struct ranges va, resv;
	uint32_t ncache;
	uint64_t nalloc, pool, rt_handles;
	long pt_live, alloc_net, protected_live;
	struct vtlmem_vmap_stats st;
};

static struct state *state_take(struct fx *f)
{
	struct state *s = calloc(1, sizeof(*s));
	const struct vas *v = vtlmem_vmap_debug_vas(f->vm);
	struct vtlmem_rtable_stats rst;

	assert_non_null(s);
	hostmmu_snapshot(&f->mmu, &s->snap);
	vtlmem_vas_for_each(v, collect_range, &s->va);
	vtlmem_rtable_iterate(&f->rt, collect_resv, &s->resv);
	vtlmem_rtable_stats(&f->rt, &rst);
	s->ncache = v->ncache;
	s->nalloc = v->nalloc;
	s->pool = vtlmem_vmap_debug_pool(f->vm);
	s->rt_handles = rst.handles;
	s->pt_live = f->hp.pt_live;
	/*
	 * Every platform allocation, the reservation table's objects included:
	 * a failed map gives back what it allocated (issue 14).
	 */
	s->alloc_net = f->hp.alloc_live;
	s->protected_live = f->hp.protected_live;
	s->st = stats(f);
	return s;
}

static void ranges_equal(const struct ranges *a, const struct ranges *b)
{
	uint64_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n && i < MAXR; i++) {
		assert_int_equal(a->start[i], b->start[i]);
		assert_int_equal(a->len[i], b->len[i]);
	}
}

static void state_same(struct fx *f, struct state *a)
{
	struct state *b = state_take(f);

	assert_true(hostmmu_snap_equal(&a->snap, &b->snap));
	ranges_equal(&a->va, &b->va);
	ranges_equal(&a->resv, &b->resv);
	assert_int_equal(a->ncache, b->ncache);
	assert_int_equal(a->nalloc, b->nalloc);
	assert_int_equal(a->pool, b->pool);
	assert_int_equal(a->rt_handles, b->rt_handles);
	assert_int_equal(a->pt_live, b->pt_live);
	assert_int_equal(a->alloc_net, b->alloc_net);
	assert_int_equal(a->protected_live, b->protected_live);
	assert_int_equal(a->st.maps, b->st.maps);
	assert_int_equal(a->st.mapped_pages, b->st.mapped_pages);
	assert_int_equal(a->st.pt_pages, b->st.pt_pages);
	assert_int_equal(a->st.quarantined_pages, b->st.quarantined_pages);
	assert_int_equal(vtlmem_vmap_selfcheck(f->vm), 0);
	hostmmu_snap_free(&b->snap);
	free(b);
}

static void state_free(struct state *s)
{
	hostmmu_snap_free(&s->snap);
	free(s);
}

/* ---- create / destroy ---------------------------------------------------- */

static void create_builds_upper_tables_and_top_entries_once(void **state)
{
	struct fx *f;
	struct vtlmem_top_entry e[2];
	struct hostmmu_walk w;
	uintptr_t slot0;

	(void)state;
	f = fx_new();
	/* PDPT + PD + the slot area's leaf table (4 cpus x 5 pages, one table) */
	assert_int_equal(stats(f).pt_pages, 3);
	assert_int_equal(f->hp.pt_live, 3 + 1);   /* + hostmmu's root */
	assert_int_equal(vtlmem_vmap_top_entries(f->vm, NULL, 0), 1);
	assert_int_equal(vtlmem_vmap_top_entries(f->vm, e, 2), 1);
	assert_int_equal(e[0].index, (f->mmu.base >> 39) & 511);
	assert_int_equal(e[0].value, hmmu_table(hmmu_addr(e[0].value)));
	assert_true(hmmu_addr(e[0].value) >= HOSTPLAT_PT_BASE &&
		    hmmu_addr(e[0].value) < HOSTPLAT_PT_END);
	/* nothing is mapped, the slot area's leaf table exists */
	assert_int_equal(hostmmu_count_present(&f->mmu, f->mmu.base, WINDOW), 0);
	slot0 = vtlmem_vmap_debug_slot_base(f->vm);
	assert_int_equal(slot0, f->mmu.base + WINDOW - 4 * (SPC + 1) * PG);
	hostmmu_walk(&f->mmu, slot0, &w);
	assert_int_equal(w.level, 0);
	assert_false(w.present);
	hostmmu_walk(&f->mmu, f->mmu.base, &w);
	assert_int_equal(w.level, 1);   /* PD entry: no leaf table yet */
	assert_int_equal(w.entry, 0);
	fx_free(f);
}

static void create_across_1g_and_512g_boundaries_covers_both_sides(void **state)
{
	struct fx *f;
	struct vtlmem_top_entry e[4];
	vtlmem_paddr_t lo[2] = { vpage(0), vpage(1) }, hi[1] = { vpage(2) };
	struct vtlmem_mapping *m1, *m2;
	uintptr_t va1, va2;
	struct vtlmem_map_req r;
	vtlmem_vaddr_t v;
	size_t i;

	(void)state;
	/* 8 MiB window from 4 MiB below a 512 GiB boundary */
	f = fx_new_cfg(8 * MB, 512 * GB, 512 * GB - 4 * MB, 1, 5000, false);
	assert_int_equal(vtlmem_vmap_top_entries(f->vm, e, 4), 2);
	assert_int_equal(e[1].index, e[0].index + 1);
	/* 2 PDPTs + 2 PDs + the slot leaf table */
	assert_int_equal(stats(f).pt_pages, 5);
	m1 = map_ok(f, lo, 2, VTLMEM_PROT_RW, &va1);
	assert_int_equal(va1, f->mmu.base);
	/* fill the low half so the next map lands above the boundary */
	{
		static vtlmem_paddr_t big[1020];

		for (i = 0; i < 1020; i++)
			big[i] = vpage(100 + i);
		r = req_of(big, 1020, VTLMEM_PROT_RO, VTLMEM_CACHE_WB);
		assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m2, &v), 0);
		assert_int_equal(vtlmem_va_val(v), va1 + 3 * PG);
		assert_int_equal(vtlmem_vmap_unmap(f->vm, m2), 0);
	}
	m2 = map_ok(f, hi, 1, VTLMEM_PROT_RW, &va2);
	assert_int_equal(va2, va1 + 1024 * PG);
	assert_int_equal(va2 % (512 * GB), 0);   /* first page above the boundary */
	assert_int_equal(hostmmu_pte(&f->mmu, va1 + PG), hmmu_leaf(vtlmem_pa_val(lo[1]), VTLMEM_PROT_RW, VTLMEM_CACHE_WB));
	assert_int_equal(hostmmu_pte(&f->mmu, va2), hmmu_leaf(vtlmem_pa_val(hi[0]), VTLMEM_PROT_RW, VTLMEM_CACHE_WB));
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m1), 0);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m2), 0);
	fx_free(f);
}

static void create_rejects_bad_arguments_and_windows(void **state)
{
	struct hostplat hp;
	struct vtlmem_rtable rt;
	struct vtlmem_vmap_config c = { .base = vtlmem_va(0x100000000ull), .size = 64 * MB };
	struct vtlmem_vmap *vm = (void *)0x1;

	(void)state;
	hostplat_init(&hp, PHYS);
	assert_int_equal(vtlmem_rtable_init(&rt, &hp.ops), 0);
	assert_int_equal(vtlmem_vmap_create(NULL, &rt, &c, &vm), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vmap_create(&hp.ops, NULL, &c, &vm), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, NULL, &vm), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, NULL), -VTLMEM_EINVAL);
	c.base = vtlmem_va(0x100000800ull);
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), -VTLMEM_EINVAL);
	c.base = vtlmem_va(0x100000000ull);
	c.size = 64 * MB + 1;
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), -VTLMEM_EINVAL);
	c.size = 0;
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), -VTLMEM_EINVAL);
	/* non-canonical, straddling the hole, wrapping past 2^64 */
	c.size = 64 * MB;
	c.base = vtlmem_va(0x0000800000000000ull);
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), -VTLMEM_EINVAL);
	c.base = vtlmem_va(0x00007ffffff00000ull);
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), -VTLMEM_EINVAL);
	c.base = vtlmem_va(0xfffffffffff00000ull);
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), -VTLMEM_EINVAL);
	c.base = vtlmem_va(0xffff7ffffff00000ull);
	c.size = 2 * MB;
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), -VTLMEM_EINVAL);
	/* slots: too many per CPU, no CPUs, no room for one mapping */
	c.base = vtlmem_va(0x100000000ull);
	c.size = 64 * MB;
	c.slots_per_cpu = 65;
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), -VTLMEM_EINVAL);
	c.slots_per_cpu = 4;
	hp.ops.ncpus = 0;
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), -VTLMEM_EINVAL);
	hp.ops.ncpus = 4;
	c.size = (4 * 5 + 1) * PG;
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), -VTLMEM_EINVAL);
	assert_ptr_equal(vm, (void *)0x1);
	assert_int_equal(hp.alloc_live, 0);
	assert_int_equal(hp.pt_live, 0);
	/* a kernel-half window (tables only: host tests never touch it) */
	c.base = vtlmem_va(0xffffc90000000000ull);
	c.size = 64 * MB;
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), 0);
	{
		struct vtlmem_top_entry e;

		assert_int_equal(vtlmem_vmap_top_entries(vm, &e, 1), 1);
		assert_int_equal(e.index, 402);
	}
	assert_int_equal(vtlmem_vmap_destroy(vm), 0);
	/* the smallest window that fits: slots + one page + guard */
	c.size = (4 * 5 + 2) * PG;
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), 0);
	assert_int_equal(vtlmem_vmap_destroy(vm), 0);
	assert_int_equal(hp.alloc_live, 0);
	assert_int_equal(hp.pt_live, 0);
	hostplat_fini(&hp);
}

static void create_without_a_required_op_is_enosys(void **state)
{
	struct hostplat hp;
	struct vtlmem_rtable rt;
	struct vtlmem_vmap_config c = { .base = vtlmem_va(0x100000000ull), .size = 64 * MB };
	struct vtlmem_platform saved;
	struct vtlmem_vmap *vm;
	int i;

	(void)state;
	hostplat_init(&hp, PHYS);
	assert_int_equal(vtlmem_rtable_init(&rt, &hp.ops), 0);
	saved = hp.ops;
	for (i = 0; i < 9; i++) {
		hp.ops = saved;
		switch (i) {
		case 0: hp.ops.pt_alloc = NULL; break;
		case 1: hp.ops.pt_free = NULL; break;
		case 2: hp.ops.pt_phys_to_virt = NULL; break;
		case 3: hp.ops.alloc = NULL; break;
		case 4: hp.ops.free = NULL; break;
		case 5: hp.ops.tlb_shootdown = NULL; break;
		case 6: hp.ops.cpu_id = NULL; break;
		case 7: hp.ops.preempt_off = NULL; break;
		case 8: hp.ops.preempt_on = NULL; break;
		}
		if (i == 5 && HMMU_TLB_BROADCAST) {
			/* hardware-broadcast TLBI (arm64): the shootdown op is optional */
			assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), 0);
			assert_int_equal(vtlmem_vmap_destroy(vm), 0);
			continue;
		}
		assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), -VTLMEM_ENOSYS);
	}
	hp.ops = saved;
	/* optional ops: no protect, no tlb_local (the kernel path) */
	hp.ops.protect = NULL;
	hp.ops.unprotect = NULL;
	hp.ops.ownership = NULL;
	assert_int_equal(vtlmem_vmap_create(&hp.ops, &rt, &c, &vm), 0);
	assert_int_equal(vtlmem_vmap_destroy(vm), 0);
	assert_int_equal(hp.alloc_live, 0);
	hostplat_fini(&hp);
}

static void create_failing_any_allocation_frees_everything(void **state)
{
	struct hostplat hp;
	struct vtlmem_rtable rt;
	struct vtlmem_vmap_config c = { .base = vtlmem_va(0x100000000ull - 2 * MB), .size = 8 * MB,
					.prepopulate = true };
	struct vtlmem_vmap *vm;
	long i, fails = 0;
	int ret;

	(void)state;
	hostplat_init(&hp, PHYS);
	assert_int_equal(vtlmem_rtable_init(&rt, &hp.ops), 0);
	for (i = 1;; i++) {
		hp.fail_alloc_at = i;
		ret = vtlmem_vmap_create(&hp.ops, &rt, &c, &vm);
		if (ret == 0)
			break;
		assert_int_equal(ret, -VTLMEM_ENOMEM);
		assert_int_equal(hp.alloc_live, 0);
		assert_int_equal(hp.pt_live, 0);
		fails++;
	}
	hp.fail_alloc_at = 0;
	/* vm, cpus, slot entries, slot entry pointers, VA node, top and dirs
	 * arrays, 2 dir shadows */
	assert_int_equal(fails, 9);
	assert_int_equal(vtlmem_vmap_destroy(vm), 0);
	fails = 0;
	for (i = 1;; i++) {
		hp.fail_pt_at = i;
		ret = vtlmem_vmap_create(&hp.ops, &rt, &c, &vm);
		if (ret == 0)
			break;
		assert_int_equal(ret, -VTLMEM_ENOMEM);
		assert_int_equal(hp.alloc_live, 0);
		assert_int_equal(hp.pt_live, 0);
		fails++;
	}
	hp.fail_pt_at = 0;
	/* PDPT, 2 PDs (window straddles 4 GiB), 4 leaf tables (prepopulated) */
	assert_int_equal(fails, 7);
	assert_int_equal(hp.pt_live, 7);
	assert_int_equal(vtlmem_vmap_destroy(vm), 0);
	assert_int_equal(hp.pt_live, 0);
	assert_int_equal(hp.alloc_live, 0);
	hostplat_fini(&hp);
}

static void create_prepopulated_has_every_leaf_table_and_maps_without_pt_alloc(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[1] = { vpage(3) };
	struct vtlmem_mapping *m;
	uintptr_t va;

	(void)state;
	f = fx_new_cfg(WINDOW, GB, 0, SPC, 0, true);
	assert_int_equal(stats(f).pt_pages, 2 + WINDOW / (2 * MB));
	f->hp.fail_pt_at = 1;
	m = map_ok(f, p, 1, VTLMEM_PROT_RO, &va);
	assert_int_equal(f->hp.fail_pt_at, 1);   /* no page-table allocation */
	f->hp.fail_pt_at = 0;
	assert_int_equal(hostmmu_pte(&f->mmu, va), hmmu_leaf(vtlmem_pa_val(p[0]), VTLMEM_PROT_RO, VTLMEM_CACHE_WB));
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	fx_free(f);
}

static void destroy_refuses_while_mapped_or_slotted_and_purges(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[2] = { vpage(0), vpage(1) };
	struct vtlmem_range r = { vpage(1), PG };
	struct vtlmem_mapping *m;
	struct vtlmem_slot s;
	vtlmem_resv_t h;

	(void)state;
	f = fx_new();
	m = map_ok(f, p, 1, VTLMEM_PROT_RW, NULL);
	assert_int_equal(vtlmem_vmap_destroy(f->vm), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	assert_int_equal(vtlmem_reserve(&f->rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &h, NULL), 0);
	assert_int_equal(vtlmem_slot_map(f->vm, &p[1], 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, h, &s), 0);
	assert_int_equal(vtlmem_vmap_destroy(f->vm), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s), 0);
	assert_int_equal(vtlmem_release(&f->rt, h), 0);
	/* a failing shootdown keeps the manager and its quarantine */
	f->hp.fail_shootdowns = 1;
	assert_int_equal(vtlmem_vmap_destroy(f->vm), -VTLMEM_EIO);
	assert_true(vtlmem_is_reserved(&f->rt, p[0], PG, VTLMEM_RES_EXCLUSIVE));
	assert_int_equal(stats(f).quarantined_pages, 1);
	assert_int_equal(f->hp.shootdowns, 0);
	hostmmu_fini(&f->mmu);
	assert_int_equal(vtlmem_vmap_destroy(f->vm), 0);
	assert_int_equal(f->hp.shootdowns, 1);
	assert_false(vtlmem_is_reserved(&f->rt, p[0], PG, VTLMEM_RES_SHARED));
	assert_int_equal(vtlmem_vmap_destroy(NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_rtable_fini(&f->rt), 0);
	assert_int_equal(f->hp.pt_live, 0);
	assert_int_equal(f->hp.alloc_live, 0);
	hostplat_fini(&f->hp);
	free(f);
}

/* ---- map: entries ------------------------------------------------------------ */

static void map_writes_exactly_the_requested_pages_and_nothing_else(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[5] = { vpage(40), vpage(7), vpage(8), vpage(1000), vpage(2) };
	struct hostmmu_snap before, after;
	struct hostmmu_walk w;
	struct vtlmem_mapping *m, *keep;
	uintptr_t va, kva;
	size_t i;

	(void)state;
	f = fx_new();
	keep = map_ok(f, &p[4], 1, VTLMEM_PROT_RO, &kva);
	hostmmu_snapshot(&f->mmu, &before);
	m = map_ok(f, p, 4, VTLMEM_PROT_RW, &va);
	hostmmu_snapshot(&f->mmu, &after);
	assert_int_equal(va, kva + 2 * PG);      /* after the first map and its guard */
	for (i = 0; i < 4; i++) {
		hostmmu_walk(&f->mmu, va + i * PG, &w);
		assert_true(w.present);
		assert_false(w.bad);
		assert_int_equal(w.pa, vtlmem_pa_val(p[i]));
		assert_int_equal(w.entry, hmmu_leaf(vtlmem_pa_val(p[i]), VTLMEM_PROT_RW, VTLMEM_CACHE_WB));
		assert_int_equal(w.entry & HMMU_LEAF_NEVER, 0);
	}
	hostmmu_walk(&f->mmu, va + 4 * PG, &w);   /* guard */
	assert_int_equal(w.level, 0);
	assert_false(w.present);
	assert_int_equal(w.entry, 0);
	assert_int_equal(hostmmu_pte(&f->mmu, kva), hmmu_leaf(vtlmem_pa_val(p[4]), VTLMEM_PROT_RO, VTLMEM_CACHE_WB));
	assert_int_equal(hostmmu_count_present(&f->mmu, f->mmu.base, WINDOW), 5);
	assert_int_equal(hostmmu_snap_unexplained(&before, &after, va, va + 4 * PG), 0);
	/* the check itself sees changes outside the range */
	assert_int_not_equal(hostmmu_snap_unexplained(&before, &after, va, va + 3 * PG), 0);
	assert_int_equal(stats(f).mapped_pages, 5);
	assert_int_equal(stats(f).maps, 2);
	hostmmu_snap_free(&before);
	hostmmu_snap_free(&after);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, keep), 0);
	fx_free(f);
}

static void map_sets_prot_and_cache_bits_exactly(void **state)
{
	static const struct {
		enum vtlmem_prot prot;
		enum vtlmem_cache cache;
	} c[] = {
		{ VTLMEM_PROT_RO, VTLMEM_CACHE_WB },
		{ VTLMEM_PROT_RW, VTLMEM_CACHE_WB },
		{ VTLMEM_PROT_RO, VTLMEM_CACHE_UC },
		{ VTLMEM_PROT_RW, VTLMEM_CACHE_UC },
		{ VTLMEM_PROT_RO, VTLMEM_CACHE_WC },
		{ VTLMEM_PROT_RW, VTLMEM_CACHE_WC },
	};
	struct fx *f;
	struct vtlmem_map_req r;
	struct vtlmem_mapping *m;
	vtlmem_paddr_t p[2];
	vtlmem_vaddr_t va;
	size_t i;

	(void)state;
	f = fx_new();
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		p[0] = vpage(10 * i);
		p[1] = vpage(10 * i + 5);
		r = req_of(p, 2, c[i].prot, c[i].cache);
		assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), 0);
		assert_int_equal(hostmmu_pte(&f->mmu, vtlmem_va_val(va)),
				 hmmu_leaf(vtlmem_pa_val(p[0]), c[i].prot, c[i].cache));
		assert_int_equal(hostmmu_pte(&f->mmu, vtlmem_va_val(va) + PG),
				 hmmu_leaf(vtlmem_pa_val(p[1]), c[i].prot, c[i].cache));
		assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	}
	fx_free(f);
}

static void map_across_leaf_tables_links_new_tables_only_for_the_range(void **state)
{
	struct fx *f;
	static vtlmem_paddr_t p[1100];
	struct hostmmu_snap before, after;
	struct vtlmem_mapping *m, *first;
	uintptr_t va, fva;
	uint64_t pt0;
	size_t i;

	(void)state;
	f = fx_new();
	for (i = 0; i < 1100; i++)
		p[i] = vpage(3000 - 2 * i);          /* descending, discontiguous */
	first = map_ok(f, p, 500, VTLMEM_PROT_RO, &fva);
	pt0 = stats(f).pt_pages;
	hostmmu_snapshot(&f->mmu, &before);
	m = map_ok(f, p + 500, 600, VTLMEM_PROT_RW, &va);
	hostmmu_snapshot(&f->mmu, &after);
	assert_int_equal(va, fva + 501 * PG);
	/* pages [501, 1101) of the window: tables 0 (exists), 1 and 2 (new) */
	assert_int_equal(stats(f).pt_pages, pt0 + 2);
	assert_int_equal(after.n, before.n + 2);
	assert_int_equal(hostmmu_snap_unexplained(&before, &after, va, va + 600 * PG), 0);
	for (i = 0; i < 600; i++)
		assert_int_equal(hostmmu_pte(&f->mmu, va + i * PG),
				 hmmu_leaf(vtlmem_pa_val(p[500 + i]), VTLMEM_PROT_RW, VTLMEM_CACHE_WB));
	assert_int_equal(hostmmu_pte(&f->mmu, va + 600 * PG), 0);
	hostmmu_snap_free(&before);
	hostmmu_snap_free(&after);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, first), 0);
	/* emptied leaf tables are kept until destroy */
	assert_int_equal(stats(f).pt_pages, pt0 + 2);
	fx_free(f);
}

/* ---- map: every error, no change ------------------------------------------------ */

static void expect_map_error(struct fx *f, const struct vtlmem_map_req *r, int err)
{
	struct state *s = state_take(f);
	struct vtlmem_mapping *m = (void *)0x1;
	vtlmem_vaddr_t va = { 0x2 };

	assert_int_equal(vtlmem_vmap_map(f->vm, r, &m, &va), err);
	assert_ptr_equal(m, (void *)0x1);
	assert_int_equal(vtlmem_va_val(va), 0x2);
	state_same(f, s);
	state_free(s);
}

static void map_rejects_bad_arguments_with_no_change(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[2] = { vpage(0), vpage(1) };
	struct vtlmem_map_req r;
	struct vtlmem_mapping *m;
	vtlmem_vaddr_t va;

	(void)state;
	f = fx_new();
	r = req_of(p, 2, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
	assert_int_equal(vtlmem_vmap_map(NULL, &r, &m, &va), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vmap_map(f->vm, NULL, &m, &va), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vmap_map(f->vm, &r, NULL, &va), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, NULL), -VTLMEM_EINVAL);
	r.pages = NULL;
	expect_map_error(f, &r, -VTLMEM_EINVAL);
	r = req_of(p, 0, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
	expect_map_error(f, &r, -VTLMEM_EINVAL);
	r = req_of(p, 2, (enum vtlmem_prot)2, VTLMEM_CACHE_WB);
	expect_map_error(f, &r, -VTLMEM_EINVAL);
	r = req_of(p, 2, VTLMEM_PROT_RW, (enum vtlmem_cache)3);
	expect_map_error(f, &r, -VTLMEM_EINVAL);
	r = req_of(p, 2, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
	r.flags = 1u << 5;
	expect_map_error(f, &r, -VTLMEM_EINVAL);
	r = req_of(p, (SIZE_MAX >> 12) + 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
	expect_map_error(f, &r, -VTLMEM_EOVERFLOW);
	r = req_of(p, f->arena, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);   /* + guard: too big */
	expect_map_error(f, &r, -VTLMEM_ENOSPC);
	{
		int (*unprot)(void *, vtlmem_paddr_t) = f->hp.ops.unprotect;

		f->hp.ops.unprotect = NULL;
		r = req_of(p, 2, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
		r.flags = VTLMEM_MAP_PROTECT;
		expect_map_error(f, &r, -VTLMEM_ENOSYS);
		f->hp.ops.unprotect = unprot;
		f->hp.ops.protect = NULL;
		expect_map_error(f, &r, -VTLMEM_ENOSYS);
	}
	fx_free(f);
}

static void map_rejects_bad_pages_with_no_change(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[4];
	struct vtlmem_map_req r;

	(void)state;
	f = fx_new();
	r = req_of(p, 3, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
	p[0] = vpage(0);
	p[1] = vtlmem_pa(vtlmem_pa_val(vpage(1)) + 1);
	p[2] = vpage(2);
	expect_map_error(f, &r, -VTLMEM_EINVAL);               /* unaligned by 1 */
	p[1] = vtlmem_pa(vtlmem_pa_val(vpage(1)) + PG - 1);
	expect_map_error(f, &r, -VTLMEM_EINVAL);               /* page - 1 */
	p[1] = vtlmem_pa(1ull << HMMU_PA_BITS);
	expect_map_error(f, &r, -VTLMEM_ERANGE);               /* 2^HMMU_PA_BITS */
	p[1] = vtlmem_pa(UINT64_MAX & ~(PG - 1));
	expect_map_error(f, &r, -VTLMEM_ERANGE);               /* wraps */
	p[1] = vtlmem_pa((1ull << HMMU_PA_BITS) - PG);                    /* in range, not RAM */
	expect_map_error(f, &r, -VTLMEM_EPERM);
	/* the first bad page in array order decides */
	p[0] = vtlmem_pa(1ull << HMMU_PA_BITS);
	p[1] = vtlmem_pa(vtlmem_pa_val(vpage(1)) + 8);
	expect_map_error(f, &r, -VTLMEM_ERANGE);
	f->hp.ops.pa_bits = 30;
	p[0] = vpage(0);
	p[1] = vtlmem_pa(1ull << 30);
	expect_map_error(f, &r, -VTLMEM_ERANGE);
	p[1] = vtlmem_pa((1ull << 30) - PG);
	expect_map_error(f, &r, -VTLMEM_EPERM);                /* in range, not RAM */
	f->hp.ops.pa_bits = HMMU_PA_BITS;
	p[1] = vtlmem_pa(0);
	expect_map_error(f, &r, -VTLMEM_EPERM);                /* page 0 */
	p[1] = vtlmem_pa(HOSTPLAT_PT_BASE);
	expect_map_error(f, &r, -VTLMEM_EPERM);                /* a page-table page */
	hostplat_add_secure(&f->hp, vtlmem_pa_val(vpage(5)), PG);
	p[1] = vpage(5);
	expect_map_error(f, &r, -VTLMEM_EPERM);                /* secure, inside VTL0 RAM */
	fx_free(f);
}

static void map_rejects_repeated_pages_in_any_order(void **state)
{
	struct fx *f;
	static vtlmem_paddr_t p[600];
	struct vtlmem_map_req r;
	size_t i;

	(void)state;
	f = fx_new();
	r = req_of(p, 2, VTLMEM_PROT_RO, VTLMEM_CACHE_WB);
	p[0] = p[1] = vpage(9);
	expect_map_error(f, &r, -VTLMEM_EINVAL);
	r.npages = 3;
	p[0] = vpage(1);
	p[1] = vpage(9);
	p[2] = vpage(1);
	expect_map_error(f, &r, -VTLMEM_EINVAL);
	/* inside runs: 1 2 3 | 2 */
	r.npages = 4;
	p[0] = vpage(1);
	p[1] = vpage(2);
	p[2] = vpage(3);
	p[3] = vpage(2);
	expect_map_error(f, &r, -VTLMEM_EINVAL);
	/* > 16 runs (sorted in a borrowed array), the repeat far apart */
	for (i = 0; i < 600; i++)
		p[i] = vpage((i * 7919) % 600 * 3);
	r.npages = 600;
	p[599] = p[3];
	expect_map_error(f, &r, -VTLMEM_EINVAL);
	/* the same 600 pages without the repeat map, in that order */
	p[599] = vpage(5000);
	{
		struct vtlmem_mapping *m;
		uintptr_t va;

		m = map_ok(f, p, 600, VTLMEM_PROT_RO, &va);
		for (i = 0; i < 600; i++)
			assert_int_equal(hostmmu_pte(&f->mmu, va + i * PG),
					 hmmu_leaf(vtlmem_pa_val(p[i]), VTLMEM_PROT_RO, VTLMEM_CACHE_WB));
		assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	}
	/* adjacent runs in descending order are not repeats */
	r.npages = 4;
	p[0] = vpage(10);
	p[1] = vpage(11);
	p[2] = vpage(8);
	p[3] = vpage(9);
	{
		struct vtlmem_mapping *m;
		vtlmem_vaddr_t va;

		assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), 0);
		assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	}
	fx_free(f);
}

/* ---- map: one ascending run (vmap_pages.c one_run, vtlmem_pgt_set_run) ------------ */

static void assert_maps_exactly(struct fx *f, uintptr_t va, const vtlmem_paddr_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(hostmmu_pte(&f->mmu, va + i * PG),
				 hmmu_leaf(vtlmem_pa_val(p[i]), VTLMEM_PROT_RW, VTLMEM_CACHE_WB));
	assert_int_equal(hostmmu_pte(&f->mmu, va + n * PG), 0);   /* guard */
	assert_int_equal(hostmmu_count_present(&f->mmu, f->mmu.base, WINDOW), n);
}

/*
 * One ascending physically contiguous run takes the run path (one comparing
 * pass; entries formed from the first page, the array not read again):
 * every length 1..40 (the unrolled loops' remainders), each map one page
 * further into the window than the last ends (so runs start at every
 * offset of a leaf table and straddle table boundaries), and 1100 pages
 * over three leaf tables, own reservation and held.
 */
static void map_of_one_ascending_run_writes_exactly_its_pages_at_any_length(void **state)
{
	static vtlmem_paddr_t p[1101];
	const size_t big = 1100;
	struct vtlmem_mapping *m;
	struct vtlmem_map_req r;
	uint64_t next = 0;
	vtlmem_resv_t h;
	vtlmem_vaddr_t va;
	struct fx *f;
	uintptr_t at;
	size_t n, i;

	(void)state;
	f = fx_new();
	for (n = 1; n <= 41; n++) {
		size_t len = n == 41 ? big : n;

		for (i = 0; i < len; i++)
			p[i] = vpage(next + i);
		m = map_ok(f, p, len, VTLMEM_PROT_RW, &at);
		assert_maps_exactly(f, at, p, len);
		assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
		next += len;
	}
	/* under a held reservation covering exactly the run */
	h = reserve_pages(f, next, big, VTLMEM_RES_EXCLUSIVE);
	for (i = 0; i < big; i++)
		p[i] = vpage(next + i);
	r = req_of(p, big, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
	r.held = h;
	assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), 0);
	assert_maps_exactly(f, vtlmem_va_val(va), p, big);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	/* a run one page longer than the held reservation */
	p[big] = vpage(next + big);
	r.npages = big + 1;
	expect_map_error(f, &r, -VTLMEM_EPERM);
	assert_int_equal(vtlmem_vmap_release_after_flush(f->vm, h), 0);
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	fx_free(f);
}

/*
 * A 19-page run (two unrolled blocks of eight and a remainder) with page k
 * changed, for every k. Another free page: not a run any more (for k < 18
 * the last page still sits where the run would end), mapped exactly. A
 * repeated page: -EINVAL; unaligned: -EINVAL; at 2^pa_bits: -ERANGE; each
 * with no change. A run whose last page is the last one below 2^pa_bits
 * passes the range check (-EPERM: not VTL0 RAM); one page longer, or
 * wrapping past 2^64, is -ERANGE.
 */
static void map_of_a_run_with_one_page_changed_is_exact_at_every_position(void **state)
{
	const uint64_t top = 1ull << HMMU_PA_BITS;
	vtlmem_paddr_t p[19];
	struct vtlmem_mapping *m;
	struct vtlmem_map_req r;
	vtlmem_vaddr_t va;
	struct fx *f;
	size_t k, i;

	(void)state;
	f = fx_new();
	r = req_of(p, 19, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
	for (k = 0; k < 19; k++) {
		for (i = 0; i < 19; i++)
			p[i] = vpage(100 + i);
		p[k] = vpage(500 + k);
		assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), 0);
		assert_maps_exactly(f, vtlmem_va_val(va), p, 19);
		assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
		assert_int_equal(vtlmem_vmap_purge(f->vm), 0);   /* free the pages again */
		p[k] = p[k ? k - 1 : 1];
		expect_map_error(f, &r, -VTLMEM_EINVAL);          /* repeated */
		p[k] = vtlmem_pa(vtlmem_pa_val(vpage(100 + k)) + 8);
		expect_map_error(f, &r, -VTLMEM_EINVAL);          /* unaligned */
		p[k] = vtlmem_pa(top + k * PG);
		expect_map_error(f, &r, -VTLMEM_ERANGE);          /* at 2^pa_bits */
	}
	for (i = 0; i < 4; i++)
		p[i] = vtlmem_pa(top - 3 * PG + i * PG);
	r.npages = 3;
	expect_map_error(f, &r, -VTLMEM_EPERM);                   /* last page below */
	r.npages = 4;
	expect_map_error(f, &r, -VTLMEM_ERANGE);                  /* one page longer */
	for (i = 0; i < 4; i++)
		p[i] = vtlmem_pa(0 - 2 * PG + i * PG);                /* ..., 0, PG */
	expect_map_error(f, &r, -VTLMEM_ERANGE);
	assert_int_equal(stats(f).maps, 19);
	fx_free(f);
}

static vtlmem_paddr_t unprotected;

static int record_unprotect(void *ctx, vtlmem_paddr_t pa)
{
	struct hostplat *hp = ctx;

	unprotected = pa;
	hp->protected_live--;
	return 0;
}

/*
 * Entries hold every address bit the arch has, whatever the platform's
 * pa_bits was at create: with 40 at create and HMMU_PA_BITS later (a
 * platform may grow it), a page at 2^41 maps at 2^41 and unmap hands
 * unprotect 2^41 (a mask cut to 40 bits made both page 0).
 */
static void map_after_pa_bits_grew_keeps_every_address_bit(void **state)
{
	const vtlmem_paddr_t hi = vtlmem_pa((1ull << 41) + 3 * PG);
	struct vtlmem_map_req r = req_of(&hi, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
	struct fx *f = calloc(1, sizeof(*f));
	struct vtlmem_mapping *m;
	vtlmem_vaddr_t va;

	(void)state;
	assert_non_null(f);
	hostplat_init(&f->hp, PHYS);
	f->hp.ops.pa_bits = 40;
	hostmmu_init_at(&f->mmu, &f->hp, WINDOW, GB, 0);
	f->cfg.slots_per_cpu = SPC;
	hostmmu_config(&f->mmu, &f->cfg);
	assert_int_equal(vtlmem_rtable_init(&f->rt, &f->hp.ops), 0);
	assert_int_equal(vtlmem_vmap_create(&f->hp.ops, &f->rt, &f->cfg, &f->vm), 0);
	hostmmu_install(&f->mmu, f->vm);
	expect_map_error(f, &r, -VTLMEM_ERANGE);                  /* 2^41 > 2^40 */
	f->hp.ops.pa_bits = HMMU_PA_BITS;
	f->hp.vtl0_end = UINT64_MAX;
	f->hp.ops.unprotect = record_unprotect;
	r.flags = VTLMEM_MAP_PROTECT;
	assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), 0);
	assert_int_equal(hostmmu_pte(&f->mmu, vtlmem_va_val(va)),
			 hmmu_leaf(vtlmem_pa_val(hi), VTLMEM_PROT_RW, VTLMEM_CACHE_WB));
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	assert_int_equal(vtlmem_pa_val(unprotected), vtlmem_pa_val(hi));
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	fx_free(f);
}

static void map_respects_other_reservations(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[2] = { vpage(20), vpage(21) };
	struct vtlmem_range excl = { vpage(21), PG }, shr = { vpage(20), 2 * PG };
	struct vtlmem_map_req r;
	struct vtlmem_mapping *m;
	vtlmem_vaddr_t va;
	vtlmem_resv_t h;

	(void)state;
	f = fx_new();
	assert_int_equal(vtlmem_reserve(&f->rt, &excl, 1, VTLMEM_RES_EXCLUSIVE, &h, NULL), 0);
	r = req_of(p, 2, VTLMEM_PROT_RO, VTLMEM_CACHE_WB);
	expect_map_error(f, &r, -VTLMEM_EBUSY);
	r.prot = VTLMEM_PROT_RW;
	expect_map_error(f, &r, -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_release(&f->rt, h), 0);
	/* a shared reader elsewhere: RO maps share, RW conflicts */
	assert_int_equal(vtlmem_reserve(&f->rt, &shr, 1, VTLMEM_RES_SHARED, &h, NULL), 0);
	expect_map_error(f, &r, -VTLMEM_EBUSY);
	r.prot = VTLMEM_PROT_RO;
	assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), 0);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	assert_int_equal(vtlmem_release(&f->rt, h), 0);
	/* a RW map holds its pages exclusively until purged */
	r.prot = VTLMEM_PROT_RW;
	assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), 0);
	assert_false(vtlmem_reserve(&f->rt, &shr, 1, VTLMEM_RES_SHARED, &h, NULL) == 0);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	fx_free(f);
}

static void map_under_held_checks_cover_mode_and_liveness(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[3] = { vpage(30), vpage(31), vpage(40) };
	struct vtlmem_range rr[2] = { { vpage(30), 2 * PG }, { vpage(40), PG } };
	struct vtlmem_map_req r;
	struct vtlmem_mapping *m;
	vtlmem_vaddr_t va;
	vtlmem_resv_t hx, hs, stale;
	long handles;

	(void)state;
	f = fx_new();
	assert_int_equal(vtlmem_reserve(&f->rt, rr, 2, VTLMEM_RES_EXCLUSIVE, &hx, NULL), 0);
	r = req_of(p, 3, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
	r.held = hx;
	handles = (long)f->rt.handles;
	assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), 0);
	assert_int_equal((long)f->rt.handles, handles);   /* took no reservation */
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	assert_true(vtlmem_is_reserved(&f->rt, p[2], PG, VTLMEM_RES_EXCLUSIVE));
	/* not covering one page */
	p[2] = vpage(41);
	expect_map_error(f, &r, -VTLMEM_EPERM);
	p[2] = vpage(40);
	/* covered, but a page the platform no longer lets us access */
	hostplat_add_secure(&f->hp, vtlmem_pa_val(vpage(31)), PG);
	expect_map_error(f, &r, -VTLMEM_EPERM);
	f->hp.nsecure = 0;
	/* shared held: RO fine, RW refused */
	assert_int_equal(vtlmem_release(&f->rt, hx), 0);
	stale = hx;
	assert_int_equal(vtlmem_reserve(&f->rt, rr, 2, VTLMEM_RES_SHARED, &hs, NULL), 0);
	r.held = hs;
	expect_map_error(f, &r, -VTLMEM_EPERM);
	r.prot = VTLMEM_PROT_RO;
	assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), 0);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	/* a released handle */
	r.held = stale;
	expect_map_error(f, &r, -VTLMEM_EPERM);
	assert_int_equal(vtlmem_vmap_release_after_flush(f->vm, hs), 0);
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	fx_free(f);
}

/* A map that needs 3 new leaf tables, 40 runs (scratch array) and its own
 * reservation: every allocation it makes fails once, in turn. */
static void map_survives_allocation_failure_at_every_point(void **state)
{
	struct fx *f;
	static vtlmem_paddr_t p[1100];
	struct vtlmem_map_req r;
	struct vtlmem_mapping *m, *first;
	vtlmem_vaddr_t va;
	struct state *s;
	long i, fails;
	uint64_t pt_before;
	int ret;

	(void)state;
	f = fx_new();
	for (i = 0; i < 1100; i++)
		p[i] = vpage((uint64_t)(i % 40) * 100 + (uint64_t)i / 40);   /* 40 runs */
	first = map_ok(f, &p[0], 1, VTLMEM_PROT_RO, NULL);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, first), 0);
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);   /* one pooled handle */
	r = req_of(p + 1, 1099, VTLMEM_PROT_RW, VTLMEM_CACHE_UC);
	for (fails = 0, i = 1;; i++) {
		s = state_take(f);
		f->hp.fail_alloc_at = i;
		ret = vtlmem_vmap_map(f->vm, &r, &m, &va);
		f->hp.fail_alloc_at = 0;
		if (ret == 0) {
			state_free(s);
			break;
		}
		assert_int_equal(ret, -VTLMEM_ENOMEM);
		state_same(f, s);
		state_free(s);
		fails++;
	}
	assert_true(fails >= 2);   /* the scratch array, reservation objects */
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	fx_free(f);
	f = fx_new();
	pt_before = stats(f).pt_pages;
	for (fails = 0, i = 1;; i++) {
		s = state_take(f);
		f->hp.fail_pt_at = i;
		ret = vtlmem_vmap_map(f->vm, &r, &m, &va);
		f->hp.fail_pt_at = 0;
		if (ret == 0) {
			state_free(s);
			break;
		}
		assert_int_equal(ret, -VTLMEM_ENOMEM);
		state_same(f, s);
		state_free(s);
		fails++;
	}
	assert_int_equal(fails, 3);   /* window pages [0, 1100): leaf tables 0, 1, 2 */
	assert_int_equal(stats(f).pt_pages, pt_before + 3);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	fx_free(f);
}

static void map_protect_failure_at_every_page_undoes_the_earlier_ones(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[8];
	struct vtlmem_map_req r;
	struct vtlmem_mapping *m;
	vtlmem_vaddr_t va;
	struct state *s;
	long j;

	(void)state;
	f = fx_new();
	for (j = 0; j < 8; j++)
		p[j] = vpage(50 + 3 * (uint64_t)j);
	r = req_of(p, 8, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
	r.flags = VTLMEM_MAP_PROTECT;
	for (j = 1; j <= 8; j++) {
		unsigned long prot0 = f->hp.protects, unprot0 = f->hp.unprotects;

		s = state_take(f);
		f->hp.fail_protect_at = j;
		assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), -VTLMEM_EIO);
		assert_int_equal(f->hp.protects - prot0, (unsigned long)j - 1);
		assert_int_equal(f->hp.unprotects - unprot0, (unsigned long)j - 1);
		assert_int_equal(f->hp.protected_live, 0);
		state_same(f, s);
		state_free(s);
	}
	assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), 0);
	assert_int_equal(f->hp.protected_live, 8);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	assert_int_equal(f->hp.protected_live, 0);
	/* later failures unprotect too: no VA left after protecting */
	r.npages = 1;
	{
		static vtlmem_paddr_t big[16384];
		struct vtlmem_mapping *hog;
		uint64_t i, n = f->arena - 1;

		for (i = 0; i < n; i++)
			big[i] = vpage(100 + i);
		r.pages = big;
		r.npages = n;
		r.flags = 0;
		assert_int_equal(vtlmem_vmap_map(f->vm, &r, &hog, &va), 0);
		r.pages = p;
		r.npages = 1;
		r.flags = VTLMEM_MAP_PROTECT;
		s = state_take(f);
		assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), -VTLMEM_ENOSPC);
		assert_int_equal(f->hp.protected_live, 0);
		state_same(f, s);
		state_free(s);
		assert_int_equal(vtlmem_vmap_unmap(f->vm, hog), 0);
	}
	fx_free(f);
}

/* ---- unmap, quarantine, purge ----------------------------------------------------- */

static void unmap_clears_entries_and_flushes_exactly_those_pages(void **state)
{
	/* around the arch's page-by-page limit (x86_64: 32, aarch64: 512) */
	static const size_t sizes[] = { 1, 5, HMMU_TLB_RANGE_MAX, HMMU_TLB_RANGE_MAX + 1,
					HMMU_TLB_RANGE_MAX + 68 };
	struct fx *f;
	static vtlmem_paddr_t p[HMMU_TLB_RANGE_MAX + 68];
	struct hostplat_tlb_event *ev;
	struct vtlmem_mapping *m;
	struct hostmmu_snap before, after;
	uint64_t pages0, all0;
	uintptr_t va;
	size_t k, i;

	(void)state;
	/* a purge threshold above all these pages together: no purge runs */
	f = fx_new_cfg(WINDOW, GB, 0, SPC, 16 * HMMU_TLB_RANGE_MAX, false);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		unsigned long calls = f->hp.tlb_local_calls;

		for (i = 0; i < sizes[k]; i++)
			p[i] = vpage(1000 * k + 7 * i);

		m = map_ok(f, p, sizes[k], VTLMEM_PROT_RW, &va);
		assert_int_equal(f->hp.tlb_local_calls, calls);   /* map flushes nothing */
		hostmmu_snapshot(&f->mmu, &before);
		pages0 = stats(f).local_flush_pages;
		all0 = stats(f).local_flush_all;
		assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
		hostmmu_snapshot(&f->mmu, &after);
		assert_int_equal(hostmmu_count_present(&f->mmu, va, sizes[k] * PG), 0);
		assert_int_equal(hostmmu_snap_unexplained(&before, &after, va, va + sizes[k] * PG), 0);
		assert_int_equal(f->hp.tlb_local_calls, calls + 1);
		ev = &f->hp.tlb_log[(f->hp.tlb_log_n - 1) % HOSTPLAT_TLB_LOG];
		if (sizes[k] <= HMMU_TLB_RANGE_MAX) {
			assert_int_equal(ev->va, va);
			assert_int_equal(ev->npages, sizes[k]);
			assert_int_equal(stats(f).local_flush_pages, pages0 + sizes[k]);
			assert_int_equal(stats(f).local_flush_all, all0);
		} else {
			assert_int_equal(ev->npages, 0);
			assert_int_equal(stats(f).local_flush_pages, pages0);
			assert_int_equal(stats(f).local_flush_all, all0 + 1);
		}
		hostmmu_snap_free(&before);
		hostmmu_snap_free(&after);
	}
	assert_int_equal(f->hp.shootdowns, 0);   /* threshold not reached */
	assert_int_equal(stats(f).unmaps, 5);
	assert_int_equal(stats(f).quarantined_pages, 1 + 5 + 3 * HMMU_TLB_RANGE_MAX + 1 + 68);
	assert_int_equal(vtlmem_vmap_selfcheck(f->vm), 0);
	fx_free(f);
}

/* What the shootdown op saw of the purge's own local invalidation. */
static struct {
	unsigned long local_calls, preempt_depth;
	struct hostplat_tlb_event last;
} at_shootdown;

static void record_at_shootdown(struct hostplat *hp, uintptr_t va, uint64_t len)
{
	(void)va;
	(void)len;
	at_shootdown.local_calls = hp->tlb_local_calls;
	at_shootdown.preempt_depth = hp->preempt_offs - hp->preempt_ons;
	at_shootdown.last = hp->tlb_log[(hp->tlb_log_n - 1) % HOSTPLAT_TLB_LOG];
}

/*
 * Issue 9, defect 1: the shootdown op covers every OTHER CPU, so a purge
 * must invalidate the batch on its own CPU too (that CPU may have used a
 * mapping another CPU unmapped), first, with preemption off across both so
 * that "this CPU" and "the others" are all CPUs. The batch span is
 * [lowest va, highest mapped end): 2 + 1 guard + 3 pages = 6 pages here; a
 * span over HMMU_TLB_RANGE_MAX pages (x86_64: 32) is one whole local flush. (The per-CPU TLB model in
 * test_smp_tlb.c shows the stale access this prevents.)
 */
static void purge_invalidates_its_own_cpu_before_the_shootdown_with_preemption_off(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[2] = { vpage(1), vpage(2) }, q[3] = { vpage(3), vpage(4), vpage(5) };
	static vtlmem_paddr_t big[HMMU_TLB_RANGE_MAX + 8];
	struct vtlmem_mapping *m1, *m2, *mb;
	struct vtlmem_vmap_stats st0;
	uintptr_t v1, v2, vb;
	unsigned long calls;
	unsigned i;

	(void)state;
	f = fx_new();
	m1 = map_ok(f, p, 2, VTLMEM_PROT_RW, &v1);
	m2 = map_ok(f, q, 3, VTLMEM_PROT_RO, &v2);
	assert_int_equal(v2, v1 + 3 * PG);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m2), 0);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m1), 0);
	calls = f->hp.tlb_local_calls;
	st0 = stats(f);
	f->hp.on_shootdown = record_at_shootdown;
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	assert_int_equal(at_shootdown.local_calls, calls + 1);
	assert_int_equal(at_shootdown.preempt_depth, 1);
	assert_int_equal(at_shootdown.last.va, v1);
	assert_int_equal(at_shootdown.last.npages, 6);
	assert_int_equal(f->hp.last_shootdown_va, v1);
	assert_int_equal(f->hp.last_shootdown_len, 6 * PG);
	assert_int_equal(f->hp.preempt_offs, f->hp.preempt_ons);
	assert_int_equal(stats(f).local_flush_pages, st0.local_flush_pages + 6);
	assert_int_equal(stats(f).local_flush_all, st0.local_flush_all);
	/* a batch of HMMU_TLB_RANGE_MAX + 8 pages: one whole local flush */
	for (i = 0; i < HMMU_TLB_RANGE_MAX + 8; i++)
		big[i] = vpage(100 + i);
	mb = map_ok(f, big, HMMU_TLB_RANGE_MAX + 8, VTLMEM_PROT_RW, &vb);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, mb), 0);
	st0 = stats(f);
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	assert_int_equal(at_shootdown.last.npages, 0);
	assert_int_equal(at_shootdown.preempt_depth, 1);
	assert_int_equal(stats(f).local_flush_all, st0.local_flush_all + 1);
	/* a failed shootdown: the local invalidation happened, the VA stays */
	mb = map_ok(f, big, 1, VTLMEM_PROT_RW, &vb);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, mb), 0);
	calls = f->hp.tlb_local_calls;
	f->hp.fail_shootdowns = 1;
	assert_int_equal(vtlmem_vmap_purge(f->vm), -VTLMEM_EIO);
	assert_int_equal(f->hp.tlb_local_calls, calls + 1);
	assert_int_equal(f->hp.preempt_offs, f->hp.preempt_ons);
	assert_int_equal(stats(f).quarantined_pages, 1);
	f->hp.on_shootdown = NULL;
	fx_free(f);
}

static void unmap_rejects_handles_that_are_not_live(void **state)
{
	struct fx *f, *g;
	vtlmem_paddr_t p[1] = { vpage(1) };
	struct vtlmem_mapping *m;

	(void)state;
	f = fx_new();
	g = fx_new();
	m = map_ok(f, p, 1, VTLMEM_PROT_RO, NULL);
	assert_int_equal(vtlmem_vmap_unmap(g->vm, m), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vmap_unmap(NULL, m), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), -VTLMEM_EINVAL);   /* quarantined */
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), -VTLMEM_EINVAL);   /* pooled */
	assert_int_equal(stats(f).unmaps, 1);
	fx_free(g);
	fx_free(f);
}

static void va_is_reused_only_after_a_successful_shootdown(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[3] = { vpage(1), vpage(2), vpage(3) };
	vtlmem_paddr_t q[3] = { vpage(11), vpage(12), vpage(13) }, o[1] = { vpage(21) };
	struct vtlmem_mapping *a, *b, *c;
	uintptr_t va, vb, vc;

	(void)state;
	f = fx_new();
	a = map_ok(f, p, 3, VTLMEM_PROT_RW, &va);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, a), 0);
	b = map_ok(f, q, 3, VTLMEM_PROT_RW, &vb);
	assert_int_equal(vb, va + 4 * PG);          /* not a's quarantined VA */
	assert_int_equal(vtlmem_vmap_unmap(f->vm, b), 0);
	/* a failing shootdown: everything stays quarantined, nothing reused */
	f->hp.fail_shootdowns = 1;
	assert_int_equal(vtlmem_vmap_purge(f->vm), -VTLMEM_EIO);
	assert_int_equal(stats(f).shootdown_failures, 1);
	assert_int_equal(stats(f).remote_shootdowns, 0);
	assert_int_equal(stats(f).quarantined_pages, 6);
	assert_true(vtlmem_is_reserved(&f->rt, p[0], 3 * PG, VTLMEM_RES_EXCLUSIVE));
	c = map_ok(f, o, 1, VTLMEM_PROT_RO, &vc);
	assert_int_equal(vc, va + 8 * PG);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, c), 0);
	assert_int_equal(vtlmem_vmap_selfcheck(f->vm), 0);
	/* success: one shootdown covering all three, VA reusable */
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	assert_int_equal(f->hp.shootdowns, 1);
	assert_int_equal(f->hp.last_shootdown_va, va);
	assert_int_equal(f->hp.last_shootdown_len, 9 * PG);
	assert_int_equal(stats(f).remote_shootdowns, 1);
	assert_int_equal(stats(f).quarantined_pages, 0);
	assert_false(vtlmem_is_reserved(&f->rt, p[0], PG, VTLMEM_RES_SHARED));
	c = map_ok(f, p, 3, VTLMEM_PROT_RW, &vc);
	assert_int_equal(vc, va);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, c), 0);
	/* an empty purge calls nothing */
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	assert_int_equal(f->hp.shootdowns, 2);
	assert_int_equal(vtlmem_vmap_purge(NULL), -VTLMEM_EINVAL);
	fx_free(f);
}

static void reservation_is_released_only_after_the_flush(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[2] = { vpage(60), vpage(61) };
	struct vtlmem_range rr = { vpage(60), 2 * PG };
	struct vtlmem_mapping *m;
	vtlmem_resv_t h;

	(void)state;
	f = fx_new();
	m = map_ok(f, p, 2, VTLMEM_PROT_RW, NULL);
	assert_int_equal(vtlmem_reserve(&f->rt, &rr, 1, VTLMEM_RES_SHARED, &h, NULL), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	assert_int_equal(vtlmem_reserve(&f->rt, &rr, 1, VTLMEM_RES_SHARED, &h, NULL), -VTLMEM_EBUSY);
	f->hp.fail_shootdowns = 1;
	assert_int_equal(vtlmem_vmap_purge(f->vm), -VTLMEM_EIO);
	assert_int_equal(vtlmem_reserve(&f->rt, &rr, 1, VTLMEM_RES_SHARED, &h, NULL), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	assert_int_equal(vtlmem_reserve(&f->rt, &rr, 1, VTLMEM_RES_SHARED, &h, NULL), 0);
	assert_int_equal(vtlmem_release(&f->rt, h), 0);
	fx_free(f);
}

static void purge_threshold_makes_one_shootdown_per_batch(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[1];
	struct vtlmem_mapping *m[8];
	uintptr_t va[8];
	int i;

	(void)state;
	f = fx_new_cfg(WINDOW, GB, 0, SPC, 8, false);
	for (i = 0; i < 8; i++) {
		p[0] = vpage(100 + (uint64_t)i);
		m[i] = map_ok(f, p, 1, VTLMEM_PROT_RW, &va[i]);
	}
	for (i = 0; i < 7; i++)
		assert_int_equal(vtlmem_vmap_unmap(f->vm, m[i]), 0);
	assert_int_equal(f->hp.shootdowns, 0);
	assert_int_equal(stats(f).quarantined_pages, 7);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m[7]), 0);
	assert_int_equal(f->hp.shootdowns, 1);
	assert_int_equal(f->hp.last_shootdown_va, va[0]);
	assert_int_equal(f->hp.last_shootdown_len, va[7] + PG - va[0]);
	assert_int_equal(stats(f).quarantined_pages, 0);
	assert_int_equal(vtlmem_vmap_debug_pool(f->vm), 8);
	fx_free(f);
}

static void map_out_of_va_purges_once_then_reports_enospc(void **state)
{
	struct fx *f;
	static vtlmem_paddr_t big[16384];
	vtlmem_paddr_t one[1] = { vpage(20000) };
	struct vtlmem_map_req r;
	struct vtlmem_mapping *hog, *m;
	vtlmem_vaddr_t va;
	uintptr_t hva;
	struct state *s;
	uint64_t i, n;

	(void)state;
	f = fx_new();
	n = f->arena - 3;                  /* with its guard: leaves a 2-page hole */
	for (i = 0; i < n; i++)
		big[i] = vpage(i);
	hog = map_ok(f, big, n, VTLMEM_PROT_RO, &hva);
	m = map_ok(f, one, 1, VTLMEM_PROT_RO, NULL);        /* the last hole */
	/* nothing quarantined: no purge, -ENOSPC, no change */
	r = req_of(one, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB);
	expect_map_error(f, &r, -VTLMEM_ENOSPC);
	assert_int_equal(f->hp.shootdowns, 0);
	/* the hole is quarantined: the map purges and reuses it */
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), 0);
	assert_int_equal(f->hp.shootdowns, 1);
	assert_int_equal(vtlmem_va_val(va), hva + (n + 1) * PG);
	/* quarantined but the shootdown fails: -ENOSPC, still quarantined */
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	f->hp.fail_shootdowns = 1;
	s = state_take(f);
	assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), -VTLMEM_ENOSPC);
	s->st.shootdown_failures++;
	state_same(f, s);
	state_free(s);
	assert_int_equal(stats(f).shootdown_failures, 1);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, hog), 0);
	fx_free(f);
}

static void release_after_flush_waits_for_the_covering_purge(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[2] = { vpage(70), vpage(71) };
	struct vtlmem_range rr = { vpage(70), 2 * PG };
	struct vtlmem_map_req r;
	struct vtlmem_mapping *m;
	enum vtlmem_rmode mode;
	vtlmem_vaddr_t va;
	vtlmem_resv_t h, h2;

	(void)state;
	f = fx_new();
	/* nothing quarantined: released at once */
	assert_int_equal(vtlmem_reserve(&f->rt, &rr, 1, VTLMEM_RES_EXCLUSIVE, &h, NULL), 0);
	assert_int_equal(vtlmem_vmap_release_after_flush(f->vm, h), 0);
	assert_int_equal(vtlmem_resv_mode(&f->rt, h, &mode), -VTLMEM_ENOENT);
	assert_int_equal(vtlmem_vmap_release_after_flush(f->vm, h), -VTLMEM_ENOENT);
	assert_int_equal(vtlmem_vmap_release_after_flush(NULL, h), -VTLMEM_EINVAL);
	/* mapped under it and unmapped: held until the purge */
	assert_int_equal(vtlmem_reserve(&f->rt, &rr, 1, VTLMEM_RES_EXCLUSIVE, &h, NULL), 0);
	r = req_of(p, 2, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
	r.held = h;
	assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), 0);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	f->hp.fail_alloc_at = 1;
	assert_int_equal(vtlmem_vmap_release_after_flush(f->vm, h), -VTLMEM_ENOMEM);
	assert_int_equal(vtlmem_resv_mode(&f->rt, h, &mode), 0);
	assert_int_equal(vtlmem_vmap_release_after_flush(f->vm, h), 0);
	assert_int_equal(vtlmem_resv_mode(&f->rt, h, &mode), 0);
	f->hp.fail_shootdowns = 1;
	assert_int_equal(vtlmem_vmap_purge(f->vm), -VTLMEM_EIO);
	assert_int_equal(vtlmem_resv_mode(&f->rt, h, &mode), 0);
	assert_int_equal(vtlmem_reserve(&f->rt, &rr, 1, VTLMEM_RES_SHARED, &h2, NULL), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	assert_int_equal(vtlmem_resv_mode(&f->rt, h, &mode), -VTLMEM_ENOENT);
	assert_int_equal(vtlmem_reserve(&f->rt, &rr, 1, VTLMEM_RES_SHARED, &h2, NULL), 0);
	assert_int_equal(vtlmem_release(&f->rt, h2), 0);
	fx_free(f);
}

/* A shootdown hook that tries to purge again: the purge in flight wins. */
static struct fx *nested_fx;
static int nested_ret;

static void nested_purge(struct hostplat *hp, uintptr_t va, uint64_t len)
{
	(void)hp;
	(void)va;
	(void)len;
	nested_ret = vtlmem_vmap_purge(nested_fx->vm);
}

static void purge_while_another_is_in_flight_is_ebusy(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[1] = { vpage(5) };
	struct vtlmem_mapping *m;

	(void)state;
	f = fx_new();
	m = map_ok(f, p, 1, VTLMEM_PROT_RW, NULL);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	nested_fx = f;
	f->hp.on_shootdown = nested_purge;
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	assert_int_equal(nested_ret, -VTLMEM_EBUSY);
	assert_int_equal(stats(f).quarantined_pages, 0);
	f->hp.on_shootdown = NULL;
	fx_free(f);
}

/*
 * Issue 9, defect 3: giving VA back never allocates. Map A, B, C, unmap A
 * and C (each free then needs a range of its own), make the next platform
 * allocation fail: the purge still frees all of it, makes no allocation,
 * leaves nothing quarantined, and both VAs are reusable at once. (Before the
 * fix the purge returned 0 with C's page still quarantined for good.)
 */
static void purge_gives_every_va_back_without_allocating(void **state)
{
	struct fx *f;
	vtlmem_paddr_t a[1] = { vpage(1) }, b[1] = { vpage(2) }, c[1] = { vpage(3) };
	struct vtlmem_mapping *ma, *mb, *mc;
	uintptr_t va, vb, vc, vn;
	unsigned long allocs;

	(void)state;
	f = fx_new();
	ma = map_ok(f, a, 1, VTLMEM_PROT_RW, &va);
	mb = map_ok(f, b, 1, VTLMEM_PROT_RW, &vb);
	mc = map_ok(f, c, 1, VTLMEM_PROT_RW, &vc);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, ma), 0);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, mc), 0);
	allocs = f->hp.allocs;
	f->hp.fail_alloc_at = 1;
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	assert_int_equal(f->hp.fail_alloc_at, 1);               /* never asked */
	f->hp.fail_alloc_at = 0;
	assert_int_equal(f->hp.allocs, allocs);
	assert_int_equal(f->hp.shootdowns, 1);
	assert_int_equal(stats(f).quarantined_pages, 0);
	assert_false(vtlmem_is_reserved(&f->rt, a[0], PG, VTLMEM_RES_SHARED));
	assert_false(vtlmem_is_reserved(&f->rt, c[0], PG, VTLMEM_RES_SHARED));
	assert_int_equal(vtlmem_vmap_selfcheck(f->vm), 0);
	ma = map_ok(f, a, 1, VTLMEM_PROT_RW, &vn);
	assert_int_equal(vn, va);                                /* reusable now */
	mc = map_ok(f, c, 1, VTLMEM_PROT_RW, &vn);
	assert_int_equal(vn, vc);
	/* a second purge has nothing left to shoot down */
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	assert_int_equal(f->hp.shootdowns, 1);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, ma), 0);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, mb), 0);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, mc), 0);
	(void)vb;
	fx_free(f);
}

/* release_after_flush while a purge's shootdown is in flight: the
 * quarantine list is empty then, but that shootdown may not cover the
 * mapping yet; the release waits for the next successful purge. */
static struct fx *raf_fx;
static vtlmem_resv_t raf_h;
static int raf_ret = 99;

static void raf_during_shootdown(struct hostplat *hp, uintptr_t va, uint64_t len)
{
	(void)hp;
	(void)va;
	(void)len;
	raf_ret = vtlmem_vmap_release_after_flush(raf_fx->vm, raf_h);
}

static void release_after_flush_during_a_shootdown_waits_for_the_next_purge(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[1] = { vpage(80) }, q[1] = { vpage(81) };
	struct vtlmem_map_req r;
	struct vtlmem_mapping *m, *other;
	enum vtlmem_rmode mode;
	vtlmem_vaddr_t va;

	(void)state;
	f = fx_new();
	raf_fx = f;
	raf_h = reserve_pages(f, 80, 1, VTLMEM_RES_EXCLUSIVE);
	r = req_of(p, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
	r.held = raf_h;
	assert_int_equal(vtlmem_vmap_map(f->vm, &r, &m, &va), 0);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	other = map_ok(f, q, 1, VTLMEM_PROT_RW, NULL);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, other), 0);
	f->hp.on_shootdown = raf_during_shootdown;
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	f->hp.on_shootdown = NULL;
	assert_int_equal(raf_ret, 0);
	assert_int_equal(vtlmem_resv_mode(&f->rt, raf_h, &mode), 0);   /* still held */
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);                  /* no shootdown needed */
	assert_int_equal(f->hp.shootdowns, 1);
	assert_int_equal(vtlmem_resv_mode(&f->rt, raf_h, &mode), -VTLMEM_ENOENT);
	fx_free(f);
}

/* Random maps and unmaps against a model of the live mappings. */
struct rlive {
	struct vtlmem_mapping *m;
	uintptr_t va;
	size_t n;
	uint64_t first;
};

static void random_maps_keep_guards_exact_entries_and_disjoint_ranges(void **state)
{
	struct fx *f;
	static struct rlive live[64];
	static vtlmem_paddr_t p[64];
	static uint8_t pused[4096];
	size_t nlive = 0, i, k, j;
	unsigned seed = 4242;
	uint64_t present = 0, first;
	int op, ret;
	struct vtlmem_map_req r;
	vtlmem_vaddr_t va;

	(void)state;
	f = fx_new_cfg(8 * MB, GB, 0, SPC, 40, false);
	for (op = 0; op < 20000; op++) {
		if (nlive && (nlive == 64 || rand_r(&seed) % 2)) {
			k = (size_t)rand_r(&seed) % nlive;
			assert_int_equal(vtlmem_vmap_unmap(f->vm, live[k].m), 0);
			assert_int_equal(hostmmu_count_present(&f->mmu, live[k].va, live[k].n * PG), 0);
			for (j = 0; j < live[k].n; j++)
				pused[live[k].first + j] = 0;
			present -= live[k].n;
			live[k] = live[--nlive];
		} else {
			size_t n = 1 + (size_t)rand_r(&seed) % (rand_r(&seed) % 4 ? 8 : 64);

			first = (uint64_t)rand_r(&seed) % (4096 - 64);
			for (j = 0; j < n && !pused[first + j]; j++)
				;
			if (j < n)
				continue;
			/* the run, rotated: not ascending, no repeats */
			for (j = 0; j < n; j++)
				p[j] = vpage(10000 + first + (j + n / 2) % n);
			r = req_of(p, n, VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
			ret = vtlmem_vmap_map(f->vm, &r, &live[nlive].m, &va);
			if (ret == -VTLMEM_EBUSY)        /* its pages await a purge */
				continue;
			assert_int_equal(ret, 0);
			for (j = 0; j < n; j++) {
				pused[first + j] = 1;
				assert_int_equal(hostmmu_pte(&f->mmu, vtlmem_va_val(va) + j * PG),
						 hmmu_leaf(vtlmem_pa_val(p[j]), VTLMEM_PROT_RW, VTLMEM_CACHE_WB));
			}
			assert_int_equal(hostmmu_pte(&f->mmu, vtlmem_va_val(va) + n * PG), 0);
			for (i = 0; i < nlive; i++)      /* ranges with guards are disjoint */
				assert_true(vtlmem_va_val(va) + (n + 1) * PG <= live[i].va ||
					    live[i].va + (live[i].n + 1) * PG <= vtlmem_va_val(va));
			live[nlive].va = vtlmem_va_val(va);
			live[nlive].n = n;
			live[nlive].first = first;
			nlive++;
			present += n;
		}
		if (op % 500 == 0) {
			assert_int_equal(hostmmu_count_present(&f->mmu, f->mmu.base, 8 * MB), present);
			assert_int_equal(vtlmem_vmap_selfcheck(f->vm), 0);
			for (i = 0; i < nlive; i++)
				assert_int_equal(hostmmu_pte(&f->mmu, live[i].va + live[i].n * PG), 0);
		}
	}
	assert_true(stats(f).remote_shootdowns > 100);
	assert_true(stats(f).maps > 8000);
	while (nlive)
		assert_int_equal(vtlmem_vmap_unmap(f->vm, live[--nlive].m), 0);
	assert_int_equal(stats(f).mapped_pages, 0);
	assert_int_equal(stats(f).maps, stats(f).unmaps);
	fx_free(f);
}

/* ---- per-CPU slots ---------------------------------------------------------------- */

static uintptr_t slot_addr(struct fx *f, unsigned cpu, unsigned i)
{
	return vtlmem_vmap_debug_slot_base(f->vm) + ((uint64_t)cpu * (SPC + 1) + i) * PG;
}

static vtlmem_resv_t reserve_pages(struct fx *f, uint64_t first, uint64_t n,
				   enum vtlmem_rmode mode)
{
	struct vtlmem_range rr = { vpage(first), n * PG };
	vtlmem_resv_t h;

	assert_int_equal(vtlmem_reserve(&f->rt, &rr, 1, mode, &h, NULL), 0);
	return h;
}

static void slots_map_on_this_cpus_stack_in_order_and_flush_locally(void **state)
{
	struct fx *f;
	vtlmem_paddr_t a[1] = { vpage(200) }, b[2] = { vpage(203), vpage(201) };
	struct vtlmem_slot s1, s2;
	struct hostplat_tlb_event *ev;
	vtlmem_resv_t h;

	(void)state;
	f = fx_new();
	/* SMP runs (VTLMEM_TEST_SMP): stay on CPU 2, whose exact slot addresses are checked */
	hostplat_pin(&f->hp);
	h = reserve_pages(f, 200, 4, VTLMEM_RES_EXCLUSIVE);
	hostplat_set_cpu(2);
	assert_int_equal(vtlmem_slot_map(f->vm, a, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, h, &s1), 0);
	assert_int_equal(vtlmem_va_val(s1.va), slot_addr(f, 2, 0));
	assert_int_equal(s1.cpu, 2);
	assert_int_equal(s1.first, 0);
	assert_int_equal(s1.npages, 1);
	assert_int_equal(vtlmem_slot_map(f->vm, b, 2, VTLMEM_PROT_RO, VTLMEM_CACHE_WC, h, &s2), 0);
	assert_int_equal(vtlmem_va_val(s2.va), slot_addr(f, 2, 1));
	assert_int_equal(s2.first, 1);
	assert_int_equal(f->hp.preempt_offs, 2);
	assert_int_equal(f->hp.preempt_ons, 0);
	assert_int_equal(hostmmu_pte(&f->mmu, slot_addr(f, 2, 0)), hmmu_leaf(vtlmem_pa_val(a[0]), VTLMEM_PROT_RW, VTLMEM_CACHE_WB));
	assert_int_equal(hostmmu_pte(&f->mmu, slot_addr(f, 2, 1)),
			 hmmu_leaf(vtlmem_pa_val(b[0]), VTLMEM_PROT_RO, VTLMEM_CACHE_WC));
	assert_int_equal(hostmmu_pte(&f->mmu, slot_addr(f, 2, 2)),
			 hmmu_leaf(vtlmem_pa_val(b[1]), VTLMEM_PROT_RO, VTLMEM_CACHE_WC));
	assert_int_equal(hostmmu_pte(&f->mmu, slot_addr(f, 2, 3)), 0);
	assert_int_equal(hostmmu_pte(&f->mmu, slot_addr(f, 2, 4)), 0);   /* guard */
	assert_int_equal(hostmmu_count_present(&f->mmu, f->mmu.base, WINDOW), 3);
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s2), 0);
	ev = &f->hp.tlb_log[(f->hp.tlb_log_n - 1) % HOSTPLAT_TLB_LOG];
	assert_int_equal(ev->va, slot_addr(f, 2, 1));
	assert_int_equal(ev->npages, 2);
	assert_int_equal(hostmmu_count_present(&f->mmu, f->mmu.base, WINDOW), 1);
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s1), 0);
	assert_int_equal(hostmmu_count_present(&f->mmu, f->mmu.base, WINDOW), 0);
	assert_int_equal(f->hp.preempt_ons, 2);
	assert_int_equal(f->hp.shootdowns, 0);
	assert_int_equal(stats(f).slot_maps, 2);
	assert_int_equal(stats(f).slot_unmaps, 2);
	assert_int_equal(stats(f).local_flush_pages, 3);
	assert_int_equal(stats(f).maps, 0);
	/* the stack is reusable from its bottom again */
	assert_int_equal(vtlmem_slot_map(f->vm, a, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_UC, h, &s1), 0);
	assert_int_equal(vtlmem_va_val(s1.va), slot_addr(f, 2, 0));
	assert_int_equal(hostmmu_pte(&f->mmu, slot_addr(f, 2, 0)),
			 hmmu_leaf(vtlmem_pa_val(a[0]), VTLMEM_PROT_RW, VTLMEM_CACHE_UC));
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s1), 0);
	hostplat_set_cpu(0);
	hostplat_unpin(&f->hp);
	assert_int_equal(vtlmem_release(&f->rt, h), 0);
	fx_free(f);
}

/* Per-CPU slot counters: each CPU's own, summing to the global ones. */
static void cpu_stats_count_each_cpus_slots(void **state)
{
	struct fx *f;
	vtlmem_paddr_t a[2] = { vpage(210), vpage(211) };
	struct vtlmem_vmap_cpu_stats c1, c2, c0;
	struct vtlmem_slot s;
	vtlmem_resv_t h;

	(void)state;
	f = fx_new();
	hostplat_pin(&f->hp);
	h = reserve_pages(f, 210, 2, VTLMEM_RES_EXCLUSIVE);
	hostplat_set_cpu(1);
	assert_int_equal(vtlmem_slot_map(f->vm, a, 2, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, h, &s), 0);
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s), 0);
	assert_int_equal(vtlmem_slot_map(f->vm, a, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, h, &s), 0);
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s), 0);
	hostplat_set_cpu(2);
	assert_int_equal(vtlmem_slot_map(f->vm, a, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, h, &s), 0);
	assert_int_equal(vtlmem_vmap_get_cpu_stats(f->vm, 1, &c1), 0);
	assert_int_equal(vtlmem_vmap_get_cpu_stats(f->vm, 2, &c2), 0);
	assert_int_equal(vtlmem_vmap_get_cpu_stats(f->vm, 0, &c0), 0);
	assert_int_equal(c1.slot_maps, 2);
	assert_int_equal(c1.slot_unmaps, 2);
	assert_int_equal(c1.slot_flush_pages, 3);
	assert_int_equal(c1.slot_flush_all, 0);
	assert_int_equal(c2.slot_maps, 1);
	assert_int_equal(c2.slot_unmaps, 0);
	assert_int_equal(c0.slot_maps, 0);
	assert_int_equal(stats(f).slot_maps, 3);
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s), 0);
	assert_int_equal(vtlmem_vmap_get_cpu_stats(f->vm, 4, &c0), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vmap_get_cpu_stats(NULL, 0, &c0), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vmap_get_cpu_stats(f->vm, 0, NULL), -VTLMEM_EINVAL);
	hostplat_set_cpu(0);
	hostplat_unpin(&f->hp);
	assert_int_equal(vtlmem_release(&f->rt, h), 0);
	fx_free(f);
}

static void slot_misuse_is_edeadlk_and_changes_nothing(void **state)
{
	struct fx *f;
	vtlmem_paddr_t a[1] = { vpage(300) }, b[1] = { vpage(301) };
	struct vtlmem_slot s1, s2, old;
	vtlmem_resv_t h;

	(void)state;
	f = fx_new();
	/* SMP runs: no migration, so each -EDEADLK has exactly the cause named */
	hostplat_pin(&f->hp);
	h = reserve_pages(f, 300, 2, VTLMEM_RES_EXCLUSIVE);
	hostplat_set_cpu(1);
	assert_int_equal(vtlmem_slot_map(f->vm, a, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, h, &s1), 0);
	assert_int_equal(vtlmem_slot_map(f->vm, b, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, h, &s2), 0);
	/* wrong order */
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s1), -VTLMEM_EDEADLK);
	assert_int_equal(hostmmu_count_present(&f->mmu, f->mmu.base, WINDOW), 2);
	/* wrong CPU */
	hostplat_set_cpu(3);
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s2), -VTLMEM_EDEADLK);
	hostplat_set_cpu(1);
	assert_int_equal(f->hp.preempt_ons, 0);
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s2), 0);
	/* already released */
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s2), -VTLMEM_EDEADLK);
	/* a stale copy of the slot now occupying the same place */
	old = s1;
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s1), 0);
	assert_int_equal(vtlmem_slot_map(f->vm, a, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, h, &s1), 0);
	assert_int_equal(old.first, s1.first);
	assert_int_equal(vtlmem_slot_unmap(f->vm, &old), -VTLMEM_EDEADLK);
	assert_int_equal(hostmmu_count_present(&f->mmu, f->mmu.base, WINDOW), 1);
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s1), 0);
	assert_int_equal(f->hp.preempt_ons, f->hp.preempt_offs);
	assert_int_equal(stats(f).slot_unmaps, 3);
	assert_int_equal(vtlmem_slot_unmap(f->vm, NULL), -VTLMEM_EINVAL);
	hostplat_set_cpu(0);
	hostplat_unpin(&f->hp);
	assert_int_equal(vtlmem_release(&f->rt, h), 0);
	fx_free(f);
}

static void slot_map_errors_leave_preemption_as_before(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[SPC + 1];
	struct vtlmem_slot s[SPC];
	vtlmem_resv_t hx, hs, none = { 0 };
	unsigned i;

	(void)state;
	f = fx_new();
	for (i = 0; i <= SPC; i++)
		p[i] = vpage(400 + i);
	hx = reserve_pages(f, 400, SPC, VTLMEM_RES_EXCLUSIVE);
	hs = reserve_pages(f, 500, 1, VTLMEM_RES_SHARED);
	assert_int_equal(vtlmem_slot_map(NULL, p, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hx, s), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_slot_map(f->vm, NULL, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hx, s), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_slot_map(f->vm, p, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hx, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_slot_map(f->vm, p, 0, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hx, s), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_slot_map(f->vm, p, SPC + 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hx, s), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_slot_map(f->vm, p, 1, (enum vtlmem_prot)7, VTLMEM_CACHE_WB, hx, s), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_slot_map(f->vm, p, 1, VTLMEM_PROT_RO, (enum vtlmem_cache)7, hx, s), -VTLMEM_EINVAL);
	p[1] = vtlmem_pa(vtlmem_pa_val(p[1]) + 16);
	assert_int_equal(vtlmem_slot_map(f->vm, p, 2, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hx, s), -VTLMEM_EINVAL);
	p[1] = p[0];
	assert_int_equal(vtlmem_slot_map(f->vm, p, 2, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hx, s), -VTLMEM_EINVAL);
	p[1] = vpage(401);
	/* not covered, shared for RW, no reservation */
	assert_int_equal(vtlmem_slot_map(f->vm, &p[SPC], 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hx, s), -VTLMEM_EPERM);
	p[SPC] = vpage(500);
	assert_int_equal(vtlmem_slot_map(f->vm, &p[SPC], 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, hs, s), -VTLMEM_EPERM);
	assert_int_equal(vtlmem_slot_map(f->vm, &p[SPC], 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, none, s), -VTLMEM_EPERM);
	assert_int_equal(f->hp.preempt_offs, 0);
	/* a bad CPU id from the platform (SMP runs: pinned, no switch away from it) */
	hostplat_pin(&f->hp);
	hostplat_set_cpu(4);
	assert_int_equal(vtlmem_slot_map(f->vm, p, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hx, s), -VTLMEM_EINVAL);
	assert_int_equal(f->hp.preempt_ons, f->hp.preempt_offs);
	/* full stack */
	hostplat_set_cpu(0);
	hostplat_unpin(&f->hp);
	assert_int_equal(vtlmem_slot_map(f->vm, p, 3, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hx, &s[0]), 0);
	assert_int_equal(vtlmem_slot_map(f->vm, &p[3], 2, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hs, &s[1]), -VTLMEM_EPERM);
	p[SPC] = vpage(403);
	assert_int_equal(vtlmem_slot_map(f->vm, &p[3], 2, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hx, &s[1]), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_slot_map(f->vm, &p[3], 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hx, &s[1]), 0);
	assert_int_equal(vtlmem_slot_map(f->vm, &p[3], 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hx, &s[2]), -VTLMEM_ENOSPC);
	assert_int_equal(f->hp.preempt_offs - f->hp.preempt_ons, 2);
	assert_int_equal(hostmmu_pte(&f->mmu, slot_addr(f, 0, 4)), 0);   /* guard */
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s[1]), 0);
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s[0]), 0);
	assert_int_equal(f->hp.preempt_ons, f->hp.preempt_offs);
	assert_int_equal(stats(f).local_flush_pages, 4);
	assert_int_equal(f->hp.shootdowns, 0);
	assert_int_equal(vtlmem_release(&f->rt, hx), 0);
	assert_int_equal(vtlmem_release(&f->rt, hs), 0);
	fx_free(f);
}

/*
 * The slot path checks its held handle without the table lock (issue 9,
 * defect 2): only the handle's own record, reached through the handle and
 * trusted only while it carries the handle's id. Every way a handle can be
 * wrong is -EPERM: released (its record then serves a newer handle), only
 * an id without its record, another table's, from before a fini + init of
 * the table (never dereferenced: ASan would see a read of freed memory),
 * or a page in a gap of a multi-range handle. Preemption is untouched.
 */
static void slot_map_checks_the_held_handle_without_the_table_lock(void **state)
{
	struct fx *f, *g;
	vtlmem_paddr_t p410 = vpage(410), p411 = vpage(411), p412 = vpage(412);
	struct vtlmem_range two[2] = { { vpage(410), PG }, { vpage(412), PG } };
	vtlmem_resv_t h, old, other, gapped;
	struct vtlmem_slot s;
	struct vtlmem_rtable_stats st;

	(void)state;
	f = fx_new();
	g = fx_new();
	/* released: the record is retired, then reused by a newer handle */
	old = reserve_pages(f, 410, 1, VTLMEM_RES_EXCLUSIVE);
	assert_int_equal(vtlmem_release(&f->rt, old), 0);
	assert_int_equal(vtlmem_slot_map(f->vm, &p410, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, old, &s),
			 -VTLMEM_EPERM);
	h = reserve_pages(f, 410, 1, VTLMEM_RES_EXCLUSIVE);
	assert_ptr_equal(h.rec, old.rec);                 /* the same record */
	assert_int_not_equal(h.id, old.id);
	assert_int_equal(vtlmem_slot_map(f->vm, &p410, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, old, &s),
			 -VTLMEM_EPERM);
	/* the id alone, without the record */
	assert_int_equal(vtlmem_slot_map(f->vm, &p410, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB,
					 (vtlmem_resv_t){ .id = h.id }, &s), -VTLMEM_EPERM);
	/* another table's live handle (an id this table issued too) */
	other = reserve_pages(g, 410, 1, VTLMEM_RES_EXCLUSIVE);
	assert_int_equal(vtlmem_slot_map(f->vm, &p410, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, other, &s),
			 -VTLMEM_EPERM);
	/* a multi-range handle: its pages map, the gap between them does not */
	assert_int_equal(vtlmem_reserve(&f->rt, two, 2, VTLMEM_RES_SHARED, &gapped, NULL), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_release(&f->rt, h), 0);
	assert_int_equal(vtlmem_reserve(&f->rt, two, 2, VTLMEM_RES_SHARED, &gapped, NULL), 0);
	assert_int_equal(vtlmem_slot_map(f->vm, &p412, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, gapped, &s), 0);
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s), 0);
	assert_int_equal(vtlmem_slot_map(f->vm, &p411, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, gapped, &s),
			 -VTLMEM_EPERM);
	assert_int_equal(vtlmem_slot_map(f->vm, &p410, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, gapped, &s),
			 -VTLMEM_EPERM);                      /* shared: no RW */
	assert_int_equal(vtlmem_release(&f->rt, gapped), 0);
	assert_int_equal(f->hp.preempt_offs, 1);
	assert_int_equal(f->hp.preempt_ons, 1);
	/* from before a fini + init of the table: its record was given back */
	hostmmu_fini(&g->mmu);
	assert_int_equal(vtlmem_release(&g->rt, other), 0);
	assert_int_equal(vtlmem_vmap_destroy(g->vm), 0);
	assert_int_equal(vtlmem_rtable_fini(&g->rt), 0);
	assert_int_equal(vtlmem_rtable_init(&g->rt, &g->hp.ops), 0);
	vtlmem_rtable_stats(&g->rt, &st);
	assert_int_equal(st.retired, 0);
	hostmmu_init(&g->mmu, &g->hp, WINDOW);
	hostmmu_config(&g->mmu, &g->cfg);
	assert_int_equal(vtlmem_vmap_create(&g->hp.ops, &g->rt, &g->cfg, &g->vm), 0);
	hostmmu_install(&g->mmu, g->vm);
	assert_int_equal(vtlmem_slot_map(g->vm, &p410, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, other, &s),
			 -VTLMEM_EPERM);
	fx_free(g);
	fx_free(f);
}

/*
 * A page-table entry holds HMMU_PA_BITS address bits (x86_64: 52): the vmap
 * never maps a page at or above 2^HMMU_PA_BITS, whatever pa_bits says (higher bits would be cut off
 * and another page mapped). Create refuses a wider pa_bits; a window map
 * after the platform's pa_bits grew, and a slot under a table whose
 * platform allows wide addresses, are -ERANGE, with nothing mapped.
 */
static void nothing_is_mapped_above_what_an_entry_holds(void **state)
{
	struct fx *f;
	struct hostplat wide;
	struct vtlmem_rtable wrt;
	struct vtlmem_vmap *vm;
	struct vtlmem_vmap_config cfg;
	vtlmem_paddr_t hi = vtlmem_pa((1ull << HMMU_PA_BITS) + 5 * PG);
	struct vtlmem_range r = { hi, PG };
	struct vtlmem_map_req req = { &hi, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, 0, { 0 } };
	struct vtlmem_mapping *m;
	struct vtlmem_slot s;
	vtlmem_resv_t h;
	vtlmem_vaddr_t va;

	(void)state;
	f = fx_new();
	cfg = f->cfg;
	f->hp.ops.pa_bits = HMMU_PA_BITS + 1;
	assert_int_equal(vtlmem_vmap_create(&f->hp.ops, &f->rt, &cfg, &vm), -VTLMEM_EINVAL);
	f->hp.ops.pa_bits = 64;
	assert_int_equal(vtlmem_vmap_create(&f->hp.ops, &f->rt, &cfg, &vm), -VTLMEM_EINVAL);
	/* the platform's pa_bits grows after create: still nothing above 2^HMMU_PA_BITS */
	f->hp.vtl0_end = UINT64_MAX;
	assert_int_equal(vtlmem_vmap_map(f->vm, &req, &m, &va), -VTLMEM_ERANGE);
	f->hp.ops.pa_bits = HMMU_PA_BITS;
	/* a held reservation from a table whose platform allows 64 bits */
	hostplat_init(&wide, 32 << 20);
	wide.ops.pa_bits = 64;
	wide.vtl0_end = UINT64_MAX;
	assert_int_equal(vtlmem_rtable_init(&wrt, &wide.ops), 0);
	assert_int_equal(vtlmem_reserve(&wrt, &r, 1, VTLMEM_RES_EXCLUSIVE, &h, NULL), 0);
	assert_int_equal(vtlmem_slot_map(f->vm, &hi, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, h, &s),
			 -VTLMEM_ERANGE);
	assert_int_equal(f->hp.preempt_offs, 0);
	assert_int_equal(hostmmu_count_present(&f->mmu, f->mmu.base, f->mmu.size), 0);
	assert_int_equal(stats(f).maps, 0);
	assert_int_equal(vtlmem_release(&wrt, h), 0);
	assert_int_equal(vtlmem_rtable_fini(&wrt), 0);
	hostplat_fini(&wide);
	fx_free(f);
}

/* ---- through a real mirror -------------------------------------------------------------- */

static void copy_through_the_mirror_reaches_the_physical_pages(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[3] = { vpage(900), vpage(77), vpage(901) };
	struct vtlmem_mapping *m;
	uint8_t buf[3 * 4096 + 100], back[3 * 4096];
	uintptr_t va;
	size_t i;

	(void)state;
	f = fx_new();
	hostmmu_mirror_enable(&f->mmu);
	m = map_ok(f, p, 3, VTLMEM_PROT_RW, &va);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 13 + 1);
	/* 100 bytes past the end run into the guard page: exactly 100 left */
	assert_int_equal(vtlmem_copy((void *)(va + 0), buf, sizeof(buf)), 100);
	for (i = 0; i < 3; i++)
		assert_memory_equal(hostplat_va(&f->hp, vtlmem_pa_val(p[i])), buf + i * PG, PG);
	memset(hostplat_va(&f->hp, vtlmem_pa_val(p[1])), 0x5c, PG);
	assert_int_equal(vtlmem_copy(back, (void *)va, sizeof(back)), 0);
	assert_memory_equal(back, buf, PG);
	for (i = 0; i < PG; i++)
		assert_int_equal(back[PG + i], 0x5c);
	assert_true(hostmmu_mirrored(&f->mmu, va));
	/* unmap drops the translation: a later access faults, no stale page */
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	assert_false(hostmmu_mirrored(&f->mmu, va));
	assert_int_equal(vtlmem_copy(back, (void *)va, 10), 10);
	/* read-only: reads work, writes fault with nothing written */
	assert_int_equal(vtlmem_vmap_purge(f->vm), 0);
	m = map_ok(f, p, 1, VTLMEM_PROT_RO, &va);
	assert_int_equal(vtlmem_copy(back, (void *)va, 64), 0);
	assert_memory_equal(back, buf, 64);
	assert_int_equal(vtlmem_copy((void *)va, back + 100, 64), 64);
	assert_memory_equal(hostplat_va(&f->hp, vtlmem_pa_val(p[0])), buf, 64);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m), 0);
	assert_true(f->mmu.fills >= 4);
	fx_free(f);
}

static void slot_copy_through_the_mirror_and_local_drop(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[1] = { vpage(1234) };
	struct vtlmem_slot s;
	vtlmem_resv_t h;
	uint64_t v = 0x1122334455667788ull, out = 0;

	(void)state;
	f = fx_new();
	hostmmu_mirror_enable(&f->mmu);
	h = reserve_pages(f, 1234, 1, VTLMEM_RES_EXCLUSIVE);
	assert_int_equal(vtlmem_slot_map(f->vm, p, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, h, &s), 0);
	assert_int_equal(vtlmem_store64((void *)(vtlmem_va_val(s.va) + 8), v), 0);
	assert_int_equal(vtlmem_load64((void *)(vtlmem_va_val(s.va) + 8), &out), 0);
	assert_int_equal(out, v);
	assert_memory_equal((uint8_t *)hostplat_va(&f->hp, vtlmem_pa_val(p[0])) + 8, &v, 8);
	assert_int_equal(vtlmem_slot_unmap(f->vm, &s), 0);
	assert_int_equal(vtlmem_load64((void *)(vtlmem_va_val(s.va) + 8), &out), -VTLMEM_EFAULT);
	assert_int_equal(vtlmem_release(&f->rt, h), 0);
	fx_free(f);
}

/* ---- statistics and dump ------------------------------------------------------------ */

struct dumpbuf {
	char text[4096];
	size_t len;
	int lines;
};

static void dump_puts(void *arg, const char *line)
{
	struct dumpbuf *d = arg;

	assert_null(strchr(line, '\n'));
	d->len += (size_t)snprintf(d->text + d->len, sizeof(d->text) - d->len, "%s\n", line);
	d->lines++;
}

static void stats_and_dump_report_the_window(void **state)
{
	struct fx *f;
	vtlmem_paddr_t p[2] = { vpage(1), vpage(2) };
	struct vtlmem_mapping *m1, *m2;
	struct vtlmem_vmap_stats st;
	struct dumpbuf d = { .len = 0 };
	char want[128];

	(void)state;
	f = fx_new();
	m1 = map_ok(f, p, 2, VTLMEM_PROT_RO, NULL);
	m2 = map_ok(f, p, 1, VTLMEM_PROT_RO, NULL);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m1), 0);
	vtlmem_vmap_get_stats(f->vm, &st);
	assert_int_equal(st.maps, 2);
	assert_int_equal(st.unmaps, 1);
	assert_int_equal(st.mapped_pages, 1);
	assert_int_equal(st.quarantined_pages, 2);
	assert_int_equal(st.local_flush_pages, 2);
	assert_int_equal(st.local_flush_all, 0);
	assert_int_equal(st.remote_shootdowns, 0);
	assert_int_equal(st.pt_pages, 4);
	vtlmem_vmap_dump(f->vm, dump_puts, &d);
	assert_int_equal(d.lines, 10);
	snprintf(want, sizeof(want), "vmap: window 0x%016lx - 0x%016lx, slots from 0x%016lx (4 cpus x 4 pages)",
		 (unsigned long)f->mmu.base, (unsigned long)(f->mmu.base + WINDOW - 1),
		 (unsigned long)vtlmem_vmap_debug_slot_base(f->vm));
	assert_non_null(strstr(d.text, want));
	assert_non_null(strstr(d.text, "vmap: maps 2 unmaps 1\n"));
	assert_non_null(strstr(d.text, "vmap: mapped pages 1 page-table pages 4\n"));
	/* from a walk: the slot area's leaf table and the mappings' one */
	assert_non_null(strstr(d.text, "vmap: leaf tables 2 valid leaf entries 1\n"));
	assert_non_null(strstr(d.text, "vmap: quarantined pages 2 in mappings 1\n"));
	assert_non_null(strstr(d.text, "vmap: remote shootdowns 0 failed 0\n"));
	snprintf(want, sizeof(want), "vmap: free va pages %llu in ranges 1\n",
		 (unsigned long long)(f->arena - 5));
	assert_non_null(strstr(d.text, want));
	vtlmem_vmap_dump(NULL, dump_puts, &d);
	vtlmem_vmap_get_stats(NULL, &st);
	assert_int_equal(d.lines, 10);
	assert_int_equal(vtlmem_vmap_unmap(f->vm, m2), 0);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_builds_upper_tables_and_top_entries_once),
		cmocka_unit_test(create_across_1g_and_512g_boundaries_covers_both_sides),
		cmocka_unit_test(create_rejects_bad_arguments_and_windows),
		cmocka_unit_test(create_without_a_required_op_is_enosys),
		cmocka_unit_test(create_failing_any_allocation_frees_everything),
		cmocka_unit_test(create_prepopulated_has_every_leaf_table_and_maps_without_pt_alloc),
		cmocka_unit_test(destroy_refuses_while_mapped_or_slotted_and_purges),
		cmocka_unit_test(map_writes_exactly_the_requested_pages_and_nothing_else),
		cmocka_unit_test(map_sets_prot_and_cache_bits_exactly),
		cmocka_unit_test(map_across_leaf_tables_links_new_tables_only_for_the_range),
		cmocka_unit_test(map_rejects_bad_arguments_with_no_change),
		cmocka_unit_test(map_rejects_bad_pages_with_no_change),
		cmocka_unit_test(map_rejects_repeated_pages_in_any_order),
		cmocka_unit_test(map_of_one_ascending_run_writes_exactly_its_pages_at_any_length),
		cmocka_unit_test(map_of_a_run_with_one_page_changed_is_exact_at_every_position),
		cmocka_unit_test(map_after_pa_bits_grew_keeps_every_address_bit),
		cmocka_unit_test(map_respects_other_reservations),
		cmocka_unit_test(map_under_held_checks_cover_mode_and_liveness),
		cmocka_unit_test(map_survives_allocation_failure_at_every_point),
		cmocka_unit_test(map_protect_failure_at_every_page_undoes_the_earlier_ones),
		cmocka_unit_test(unmap_clears_entries_and_flushes_exactly_those_pages),
		cmocka_unit_test(purge_invalidates_its_own_cpu_before_the_shootdown_with_preemption_off),
		cmocka_unit_test(unmap_rejects_handles_that_are_not_live),
		cmocka_unit_test(va_is_reused_only_after_a_successful_shootdown),
		cmocka_unit_test(reservation_is_released_only_after_the_flush),
		cmocka_unit_test(purge_threshold_makes_one_shootdown_per_batch),
		cmocka_unit_test(map_out_of_va_purges_once_then_reports_enospc),
		cmocka_unit_test(release_after_flush_waits_for_the_covering_purge),
		cmocka_unit_test(purge_while_another_is_in_flight_is_ebusy),
		cmocka_unit_test(purge_gives_every_va_back_without_allocating),
		cmocka_unit_test(release_after_flush_during_a_shootdown_waits_for_the_next_purge),
		cmocka_unit_test(random_maps_keep_guards_exact_entries_and_disjoint_ranges),
		cmocka_unit_test(slots_map_on_this_cpus_stack_in_order_and_flush_locally),
		cmocka_unit_test(cpu_stats_count_each_cpus_slots),
		cmocka_unit_test(slot_misuse_is_edeadlk_and_changes_nothing),
		cmocka_unit_test(slot_map_errors_leave_preemption_as_before),
		cmocka_unit_test(slot_map_checks_the_held_handle_without_the_table_lock),
		cmocka_unit_test(nothing_is_mapped_above_what_an_entry_holds),
		cmocka_unit_test(copy_through_the_mirror_reaches_the_physical_pages),
		cmocka_unit_test(slot_copy_through_the_mirror_and_local_drop),
		cmocka_unit_test(stats_and_dump_report_the_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
