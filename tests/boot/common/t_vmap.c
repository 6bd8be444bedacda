// SPDX-License-Identifier: MIT
/*
 * The vmap manager on the real MMU: what the CPU's page walk sees after a
 * map (walking the live tables in software: kpt_lookup), copies through the
 * mapping compared with the same bytes through the direct map, the guard
 * page and read-only mappings faulting for real, TLB invalidation proven by
 * a fault on a translation the TLB had cached, the memory type each cache
 * policy selects, per-CPU slots, and page-table allocation failure leaving
 * the live tables byte-identical.
 */
#include <vtlmem/copy.h>
#include <vtlmem/vmap.h>

#include "vtlmem_arch.h"        /* the arch's local-flush limit (VTLMEM_ARCH_TLB_RANGE_MAX) */
#include "ktest.h"
#include "kvtl.h"

static uint8_t buf[64 * 1024] __attribute__((aligned(64)));
static uint8_t snap_a[SNAP_MAX_PAGES][4096], snap_b[SNAP_MAX_PAGES][4096];

static struct vtlmem_vmap_stats stats(struct vtlmem_vmap *vm)
{
	struct vtlmem_vmap_stats st;

	vtlmem_vmap_get_stats(vm, &st);
	return st;
}

static int map_pages(struct vtlmem_vmap *vm, const vtlmem_paddr_t *pages, size_t n,
		     enum vtlmem_prot prot, enum vtlmem_cache cache,
		     struct vtlmem_mapping **m, uintptr_t *va)
{
	struct vtlmem_map_req req = {
		.pages = pages, .npages = n, .prot = prot, .cache = cache,
	};
	vtlmem_vaddr_t v = vtlmem_va(0);
	int err;

	err = vtlmem_vmap_map(vm, &req, m, &v);
	*va = vtlmem_va_val(v);
	return err;
}

/*
 * Every leaf of [va, va + n pages) as the MMU sees it: a 4 KiB page at
 * pages[i], never executable, global as the arch's library entries are
 * (KPT_LIB_GLOBAL), not user, writable iff rw, of
 * memory type memtype; and the guard page after them not mapped.
 */
static void check_leaves(uintptr_t va, const vtlmem_paddr_t *pages, size_t n, bool rw,
			 enum kmemtype memtype)
{
	struct kpt_info w;
	size_t i;

	for (i = 0; i < n; i++) {
		kpt_lookup(va + i * PAGE_SIZE, &w);
		if (w.level != 0 || w.pa != vtlmem_pa_val(pages[i]) || w.executable ||
		    w.global != KPT_LIB_GLOBAL || w.user || w.writable != rw ||
		    w.memtype != memtype) {
			ktest_fail(__FILE__, __LINE__,
				   "page %zu at %lx: level %d entry %lx (want pa %lx %s type %u)",
				   i, va + i * PAGE_SIZE, w.level, w.entry,
				   vtlmem_pa_val(pages[i]), rw ? "RW" : "RO", memtype);
			return;
		}
	}
	kpt_lookup(va + n * PAGE_SIZE, &w);
	if (w.level != -1)
		ktest_fail(__FILE__, __LINE__, "guard page %lx is mapped: entry %lx",
			   va + n * PAGE_SIZE, w.entry);
}

/* Compare n pages read through the mapping with the direct map's bytes. */
static bool mapping_matches(uintptr_t va, const vtlmem_paddr_t *pages, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (vtlmem_copy(buf, (const void *)(va + i * PAGE_SIZE), PAGE_SIZE))
			return false;
		if (memcmp(buf, phys_to_virt(vtlmem_pa_val(pages[i])), PAGE_SIZE))
			return false;
	}
	return true;
}

/* Does a load through va fault now, at va? */
static bool load_faults(uintptr_t va)
{
	uint64_t faults = fault_rec.count;
	uint8_t v = 0x77;

	return vtlmem_load8((const void *)va, &v) == -VTLMEM_EFAULT && v == 0x77 &&
	       fault_rec.count == faults + 1 && fault_rec.addr == va;
}

static void unmap_purge(struct vtlmem_vmap *vm, struct vtlmem_mapping *m)
{
	CHECK_INT(vtlmem_vmap_unmap(vm, m), 0);
	CHECK_INT(vtlmem_vmap_purge(vm), 0);
}

KTEST(vmap_noncontiguous_pages_map_in_request_order)
{
	static const unsigned idx[] = { 9, 2, 7, 3, 100, 1 };
	vtlmem_paddr_t pages[ARRAY_SIZE(idx)];
	struct vtlmem_mapping *m;
	uintptr_t va;
	size_t i, n = ARRAY_SIZE(idx);

	kv_init();
	for (i = 0; i < n; i++) {
		pages[i] = vtl0_page(idx[i]);
		vtl0_fill(vtl0_pa(idx[i]), PAGE_SIZE, 1);
	}
	REQUIRE_INT(map_pages(kv_vm, pages, n, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, &m, &va), 0);
	CHECK(va >= VMAP_BASE && va + (n + 1) * PAGE_SIZE <= VMAP_BASE + VMAP_SIZE);
	check_leaves(va, pages, n, true, KMEM_WB);
	CHECK(mapping_matches(va, pages, n));
	/* write through the mapping, see it through the direct map */
	for (i = 0; i < n * PAGE_SIZE; i++)
		buf[i] = vtl0_pattern(vtlmem_pa_val(pages[i / PAGE_SIZE]) + i % PAGE_SIZE, 2);
	CHECK_EQ(vtlmem_copy((void *)va, buf, n * PAGE_SIZE), 0);
	for (i = 0; i < n; i++)
		CHECK(vtl0_check(vtl0_pa(idx[i]), PAGE_SIZE, 2));
	unmap_purge(kv_vm, m);
}

KTEST(vmap_copy_into_guard_page_returns_exact_residual)
{
	vtlmem_paddr_t pages[3] = { vtl0_page(20), vtl0_page(22), vtl0_page(21) };
	struct vtlmem_mapping *m;
	uintptr_t va, guard;
	uint64_t faults;
	size_t i;

	kv_init();
	for (i = 0; i < 3; i++)
		vtl0_fill(vtlmem_pa_val(pages[i]), PAGE_SIZE, 3);
	REQUIRE_INT(map_pages(kv_vm, pages, 3, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, &m, &va), 0);
	guard = va + 3 * PAGE_SIZE;
	memset(buf, 0xee, 512);
	faults = fault_rec.count;
	CHECK_EQ(vtlmem_copy(buf, (const void *)(guard - 100), 300), 200);
	CHECK(fault_rec.count > faults);  /* a wide move, then the byte tail */
	CHECK(fault_rec.addr >= guard && fault_rec.addr < guard + PAGE_SIZE);
	CHECK(!memcmp(buf, (uint8_t *)phys_to_virt(vtlmem_pa_val(pages[2])) + PAGE_SIZE - 100,
		      100));
	CHECK_EQ(buf[100], 0xee);
	memset(buf, 0x3c, 512);
	CHECK_EQ(vtlmem_copy((void *)(guard - 10), buf, 50), 40);
	CHECK_EQ(fault_rec.kind, FAULT_WRITE);
	CHECK(!memcmp(buf, (uint8_t *)phys_to_virt(vtlmem_pa_val(pages[2])) + PAGE_SIZE - 10,
		      10));
	CHECK_EQ(vtlmem_copy(buf, (const void *)guard, 1), 1);
	CHECK(load_faults(guard));
	unmap_purge(kv_vm, m);
}

KTEST(vmap_read_only_mapping_refuses_writes_by_faulting)
{
	vtlmem_paddr_t pages[2] = { vtl0_page(31), vtl0_page(30) };
	struct vtlmem_mapping *m;
	uintptr_t va;
	uint64_t faults;

	kv_init();
	vtl0_fill(vtl0_pa(30), 2 * PAGE_SIZE, 4);
	REQUIRE_INT(map_pages(kv_vm, pages, 2, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, &m, &va), 0);
	check_leaves(va, pages, 2, false, KMEM_WB);
	CHECK(mapping_matches(va, pages, 2));
	memset(buf, 0x99, 64);
	faults = fault_rec.count;
	CHECK_EQ(vtlmem_copy((void *)(va + PAGE_SIZE - 5), buf, 10), 10);
	CHECK(fault_rec.count > faults);
	CHECK_EQ(fault_rec.addr, va + PAGE_SIZE - 5);
	CHECK_EQ(fault_rec.kind, FAULT_PRESENT | FAULT_WRITE);
	CHECK_EQ(vtlmem_fill((void *)va, 0, 100), 100);
	CHECK_INT(vtlmem_store64((void *)(va + 8), 1), -VTLMEM_EFAULT);
	CHECK(vtl0_check(vtl0_pa(30), 2 * PAGE_SIZE, 4));
	unmap_purge(kv_vm, m);
}

KTEST(vmap_unmap_invalidates_the_tlb_before_returning)
{
	vtlmem_paddr_t pages[4] = { vtl0_page(43), vtl0_page(40), vtl0_page(42), vtl0_page(41) };
	struct vtlmem_mapping *m;
	uintptr_t va;
	uint8_t v;
	size_t i;

	kv_init();
	REQUIRE_INT(map_pages(kv_vm, pages, 4, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, &m, &va), 0);
	for (i = 0; i < 4; i++)         /* the TLB now caches every page */
		CHECK_INT(vtlmem_load8((const void *)(va + i * PAGE_SIZE), &v), 0);
	CHECK_INT(vtlmem_vmap_unmap(kv_vm, m), 0);
	for (i = 0; i < 4; i++)         /* before any purge: the local invalidation */
		CHECK(load_faults(va + i * PAGE_SIZE));
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	for (i = 0; i < 4; i++)
		CHECK(load_faults(va + i * PAGE_SIZE));
}

/* More pages than the arch invalidates one by one (x86_64: 40, aarch64: 520). */
#define MANY_PAGES (VTLMEM_ARCH_TLB_RANGE_MAX + 8)

KTEST(vmap_unmap_of_many_pages_flushes_the_whole_local_tlb)
{
	static vtlmem_paddr_t pages[MANY_PAGES];
	struct vtlmem_vmap_stats st0, st1;
	struct vtlmem_mapping *m;
	uintptr_t va;
	uint8_t v;
	size_t i;

	kv_init();
	for (i = 0; i < MANY_PAGES; i++)        /* a permutation: 7 is prime to both counts */
		pages[i] = vtl0_page(200 + (i * 7) % MANY_PAGES);
	REQUIRE_INT(map_pages(kv_vm, pages, MANY_PAGES, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, &m, &va),
		    0);
	for (i = 0; i < MANY_PAGES; i++)
		CHECK_INT(vtlmem_load8((const void *)(va + i * PAGE_SIZE), &v), 0);
	st0 = stats(kv_vm);
	CHECK_INT(vtlmem_vmap_unmap(kv_vm, m), 0);
	st1 = stats(kv_vm);
	/* + one more whole-TLB flush if the unmap's quarantine ran a purge (aarch64) */
	CHECK_EQ(st1.local_flush_all, st0.local_flush_all + 1 +
		 (st1.remote_shootdowns + st1.shootdown_failures) -
		 (st0.remote_shootdowns + st0.shootdown_failures));
	CHECK_EQ(st1.local_flush_pages, st0.local_flush_pages);
	for (i = 0; i < MANY_PAGES; i++)
		CHECK(load_faults(va + i * PAGE_SIZE));
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
}

KTEST(vmap_purge_sends_one_shootdown_per_batch)
{
	struct vtlmem_mapping *m[5];
	struct vtlmem_vmap_stats st0, st1;
	vtlmem_paddr_t p;
	uint64_t sd0;
	uintptr_t va;
	size_t i;

	kv_init();
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	st0 = stats(kv_vm);
	sd0 = bps.shootdowns;
	for (i = 0; i < 5; i++) {
		p = vtl0_page(300 + i);
		REQUIRE_INT(map_pages(kv_vm, &p, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, &m[i], &va),
			    0);
	}
	for (i = 0; i < 5; i++)
		CHECK_INT(vtlmem_vmap_unmap(kv_vm, m[i]), 0);
	CHECK_EQ(bps.shootdowns, sd0);          /* unmap alone: local only */
	st1 = stats(kv_vm);
	CHECK(st1.quarantined_pages >= 5);
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	CHECK_EQ(bps.shootdowns, sd0 + 1);
	st1 = stats(kv_vm);
	CHECK_EQ(st1.remote_shootdowns, st0.remote_shootdowns + 1);
	CHECK_EQ(st1.quarantined_pages, 0);
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0); /* empty: nothing to send */
	CHECK_EQ(bps.shootdowns, sd0 + 1);
}

KTEST(vmap_failed_shootdown_keeps_va_quarantined)
{
	struct vtlmem_vmap_stats st0, st1;
	struct vtlmem_mapping *m;
	vtlmem_paddr_t p = vtl0_page(310);
	uintptr_t va;

	kv_init();
	REQUIRE_INT(map_pages(kv_vm, &p, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, &m, &va), 0);
	CHECK_INT(vtlmem_vmap_unmap(kv_vm, m), 0);
	st0 = stats(kv_vm);
	bps.shootdown_fail_next = 1;
	CHECK_INT(vtlmem_vmap_purge(kv_vm), -VTLMEM_EIO);
	st1 = stats(kv_vm);
	CHECK_EQ(st1.quarantined_pages, st0.quarantined_pages);
	CHECK_EQ(st1.shootdown_failures, st0.shootdown_failures + 1);
	CHECK(vtlmem_is_reserved(&kv_rt, p, PAGE_SIZE, VTLMEM_RES_SHARED));
	CHECK(load_faults(va));
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	CHECK_EQ(stats(kv_vm).quarantined_pages, 0);
	CHECK(!vtlmem_is_reserved(&kv_rt, p, PAGE_SIZE, VTLMEM_RES_SHARED));
}

/* A map that must fail with err and leave the tables and counters alone. */
static void refused(const vtlmem_paddr_t *pages, size_t n, int err, const char *what)
{
	struct vtlmem_vmap_stats st0 = stats(kv_vm);
	struct pt_snapshot a = { .data = snap_a }, b = { .data = snap_b };
	struct vtlmem_mapping *m = NULL;
	uint64_t pt0 = bps.pt_live, heap0 = bps.heap_live;
	uintptr_t va = 0;
	int got;

	pt_snapshot(&a, VMAP_BASE, VMAP_SIZE);
	got = map_pages(kv_vm, pages, n, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, &m, &va);
	pt_snapshot(&b, VMAP_BASE, VMAP_SIZE);
	if (got != err)
		ktest_fail(__FILE__, __LINE__, "%s: map returned %d, want %d", what, got, err);
	if (!pt_snapshot_equal(&a, &b) || bps.pt_live != pt0 || bps.heap_live != heap0 ||
	    stats(kv_vm).maps != st0.maps || stats(kv_vm).mapped_pages != st0.mapped_pages)
		ktest_fail(__FILE__, __LINE__, "%s: refused map changed state", what);
	if (!got)
		unmap_purge(kv_vm, m);
}

KTEST(vmap_refuses_secure_kernel_pages)
{
	static uint64_t image_var;
	void *heap = kmalloc(PAGE_SIZE);
	vtlmem_paddr_t p[2];

	kv_init();
	p[0] = vtlmem_pa(virt_to_phys(&image_var) & ~(PAGE_SIZE - 1));
	refused(p, 1, -VTLMEM_EPERM, "kernel image page");
	p[0] = vtlmem_pa(virt_to_phys(heap) & ~(PAGE_SIZE - 1));
	refused(p, 1, -VTLMEM_EPERM, "kernel heap page");
	p[0] = vtlmem_pa(kernel_root());
	refused(p, 1, -VTLMEM_EPERM, "the root page table");
	p[0] = vtlmem_pa(pool_start);
	refused(p, 1, -VTLMEM_EPERM, "page-table pool page");
	p[0] = vtlmem_pa(VTL0_START - PAGE_SIZE);
	refused(p, 1, -VTLMEM_EPERM, "page below VTL0");
	p[0] = vtlmem_pa(VTL0_END);
	refused(p, 1, -VTLMEM_EPERM, "page above VTL0");
	p[0] = vtlmem_pa(0);
	refused(p, 1, -VTLMEM_EPERM, "page 0");
	/* one bad page refuses the whole request and reserves nothing */
	p[0] = vtl0_page(400);
	p[1] = vtlmem_pa(virt_to_phys(&image_var) & ~(PAGE_SIZE - 1));
	refused(p, 2, -VTLMEM_EPERM, "VTL0 page + kernel page");
	CHECK(!vtlmem_is_reserved(&kv_rt, p[0], PAGE_SIZE, VTLMEM_RES_SHARED));
	kfree(heap, PAGE_SIZE);
}

KTEST(vmap_refuses_bad_page_arrays)
{
	vtlmem_paddr_t p[3];

	kv_init();
	p[0] = vtlmem_pa(vtl0_pa(410) + 8);
	refused(p, 1, -VTLMEM_EINVAL, "unaligned page");
	p[0] = vtl0_page(410);
	p[1] = vtl0_page(411);
	p[2] = vtl0_page(410);
	refused(p, 3, -VTLMEM_EINVAL, "duplicate page");
	p[0] = vtlmem_pa(1UL << boot_platform.pa_bits);
	refused(p, 1, -VTLMEM_ERANGE, "page beyond pa_bits");
	refused(p, 0, -VTLMEM_EINVAL, "no pages");
}

KTEST(vmap_refuses_pages_reserved_by_someone_else)
{
	struct vtlmem_range r = { vtl0_page(421), PAGE_SIZE };
	vtlmem_paddr_t p[2] = { vtl0_page(420), vtl0_page(421) };
	vtlmem_resv_t h;

	kv_init();
	REQUIRE_INT(vtlmem_reserve(&kv_rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &h, NULL), 0);
	refused(p, 2, -VTLMEM_EBUSY, "page reserved exclusive by another accessor");
	CHECK_INT(vtlmem_release(&kv_rt, h), 0);
}

KTEST(vmap_cache_policies_select_their_memory_type)
{
	static const struct {
		enum vtlmem_cache cache;
		enum kmemtype type;
	} c[] = {
		{ VTLMEM_CACHE_WB, KMEM_WB },
		{ VTLMEM_CACHE_UC, KMEM_UC },
		{ VTLMEM_CACHE_WC, KMEM_WC },
	};
	struct vtlmem_mapping *m;
	vtlmem_paddr_t p;
	uintptr_t va;
	size_t i;

	kv_init();
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		p = vtl0_page(500 + i);
		vtl0_fill(vtlmem_pa_val(p), PAGE_SIZE, 5);
		REQUIRE_INT(map_pages(kv_vm, &p, 1, VTLMEM_PROT_RW, c[i].cache, &m, &va), 0);
		check_leaves(va, &p, 1, true, c[i].type);
		CHECK(mapping_matches(va, &p, 1));
		unmap_purge(kv_vm, m);
	}
}

KTEST(slot_map_invalidates_locally_only)
{
	struct vtlmem_range r[2] = { { vtl0_page(600), PAGE_SIZE }, { vtl0_page(601), PAGE_SIZE } };
	struct vtlmem_vmap_stats st0, st1;
	struct vtlmem_slot s, s2;
	vtlmem_resv_t h;
	uint64_t sd0 = bps.shootdowns;
	uint8_t v;

	kv_init();
	vtl0_fill(vtl0_pa(600), 2 * PAGE_SIZE, 6);
	REQUIRE_INT(vtlmem_reserve(&kv_rt, r, 2, VTLMEM_RES_EXCLUSIVE, &h, NULL), 0);
	st0 = stats(kv_vm);
	REQUIRE_INT(vtlmem_slot_map(kv_vm, &r[0].pa, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, h, &s), 0);
	CHECK_EQ(preempt_depth_here(), 1);
	CHECK(!irqs_enabled());
	check_leaves(vtlmem_va_val(s.va), &r[0].pa, 1, true, KMEM_WB);
	CHECK_INT(vtlmem_load8((const void *)vtlmem_va_val(s.va), &v), 0);   /* cached now */
	CHECK_EQ(v, vtl0_pattern(vtl0_pa(600), 6));
	CHECK_INT(vtlmem_slot_unmap(kv_vm, &s), 0);
	CHECK_EQ(preempt_depth_here(), 0);
	CHECK(load_faults(vtlmem_va_val(s.va)));
	/* the same slot VA now maps the other page: a stale TLB would show 600 */
	REQUIRE_INT(vtlmem_slot_map(kv_vm, &r[1].pa, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, h, &s2),
		    0);
	CHECK_EQ(vtlmem_va_val(s2.va), vtlmem_va_val(s.va));
	CHECK_INT(vtlmem_load8((const void *)vtlmem_va_val(s2.va), &v), 0);
	CHECK_EQ(v, vtl0_pattern(vtl0_pa(601), 6));
	CHECK_INT(vtlmem_slot_unmap(kv_vm, &s2), 0);
	st1 = stats(kv_vm);
	CHECK_EQ(st1.slot_maps, st0.slot_maps + 2);
	CHECK_EQ(st1.slot_unmaps, st0.slot_unmaps + 2);
	CHECK(st1.local_flush_pages >= st0.local_flush_pages + 2);
	CHECK_EQ(st1.remote_shootdowns, st0.remote_shootdowns);
	CHECK_EQ(st1.quarantined_pages, st0.quarantined_pages);
	CHECK_EQ(bps.shootdowns, sd0);
	CHECK_INT(vtlmem_release(&kv_rt, h), 0);
}

KTEST(slot_unmap_out_of_order_is_refused)
{
	struct vtlmem_range r = { vtl0_page(610), 2 * PAGE_SIZE };
	vtlmem_paddr_t p[2] = { vtl0_page(610), vtl0_page(611) };
	struct vtlmem_slot s1, s2;
	vtlmem_resv_t h;

	kv_init();
	REQUIRE_INT(vtlmem_reserve(&kv_rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &h, NULL), 0);
	REQUIRE_INT(vtlmem_slot_map(kv_vm, &p[0], 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, h, &s1), 0);
	if (vtlmem_slot_map(kv_vm, &p[1], 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, h, &s2)) {
		vtlmem_slot_unmap(kv_vm, &s1);
		REQUIRE(0);
	}
	CHECK_EQ(preempt_depth_here(), 2);
	CHECK_INT(vtlmem_slot_unmap(kv_vm, &s1), -VTLMEM_EDEADLK);
	CHECK_EQ(preempt_depth_here(), 2);
	CHECK_INT(vtlmem_slot_unmap(kv_vm, &s2), 0);
	CHECK_INT(vtlmem_slot_unmap(kv_vm, &s1), 0);
	CHECK_INT(vtlmem_slot_unmap(kv_vm, &s1), -VTLMEM_EDEADLK);
	CHECK_EQ(preempt_depth_here(), 0);
	CHECK_INT(vtlmem_release(&kv_rt, h), 0);
}

/*
 * A second window, so a map needs new leaf tables: fail the i-th page-table
 * allocation (then the i-th bookkeeping allocation) for every i; each
 * failure must leave the live tables under the window byte-identical and every
 * page and allocation given back.
 */
static void map_with_injection(struct vtlmem_vmap *vm, bool pt)
{
	static vtlmem_paddr_t pages[600];
	struct pt_snapshot a = { .data = snap_a }, b = { .data = snap_b };
	struct vtlmem_mapping *m = NULL;
	uint64_t pt0, heap0, maps0;
	uintptr_t va;
	int64_t i;
	int err;

	for (i = 0; i < 600; i++)
		pages[i] = vtl0_page(1000 + i);
	vtl0_fill(vtl0_pa(1000), 600 * PAGE_SIZE, 7);
	for (i = 0; i < 64; i++) {
		pt_snapshot(&a, VMAP2_BASE, VMAP2_SIZE);
		pt0 = bps.pt_live;
		heap0 = bps.heap_live;
		maps0 = stats(vm).maps;
		if (pt)
			bps.pt_fail_after = i;
		else
			bps.heap_fail_after = i;
		err = map_pages(vm, pages, 600, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, &m, &va);
		platform_reset_injection();
		if (!err)
			break;
		pt_snapshot(&b, VMAP2_BASE, VMAP2_SIZE);
		if (err != -VTLMEM_ENOMEM || !pt_snapshot_equal(&a, &b) || bps.pt_live != pt0 ||
		    bps.heap_live != heap0 || stats(vm).maps != maps0 ||
		    vtlmem_is_reserved(&kv_rt, pages[0], PAGE_SIZE, VTLMEM_RES_SHARED)) {
			ktest_fail(__FILE__, __LINE__,
				   "%s failure %ld: err %d, tables %s, pt %lu->%lu heap %lu->%lu",
				   pt ? "pt" : "alloc", i, err,
				   pt_snapshot_equal(&a, &b) ? "same" : "CHANGED", pt0,
				   bps.pt_live, heap0, bps.heap_live);
			return;
		}
	}
	REQUIRE_INT(err, 0);
	if (pt)
		CHECK(i >= 2);  /* >2 MiB in a fresh window: at least two leaf tables */
	else
		CHECK(i >= 1);
	check_leaves(va, pages, 600, true, KMEM_WB);
	CHECK(mapping_matches(va, pages, 8));
	CHECK(mapping_matches(va + 590 * PAGE_SIZE, pages + 590, 10));
	unmap_purge(vm, m);
}

/*
 * Bookkeeping allocations outside the reservation table: a map's
 * reservations may leave freed objects in kv_rt's cache (bounded, reused
 * later), which belong to the table, not to the window under test.
 */
static uint64_t heap_live_outside_rtable(void)
{
	struct vtlmem_rtable_stats rs;

	vtlmem_rtable_stats(&kv_rt, &rs);
	return bps.heap_live - rs.objects;
}

static void second_window(bool pt)
{
	struct vtlmem_vmap_config cfg = {
		.base = vtlmem_va(VMAP2_BASE),
		.size = VMAP2_SIZE,
	};
	struct vtlmem_vmap *vm = NULL;
	uint64_t pt0, heap0;
	int64_t i;
	int err = -1;

	kv_init();      /* before sampling: run alone, this case creates the instance */
	pt0 = bps.pt_live;
	heap0 = heap_live_outside_rtable();
	/* creation failing at every allocation leaks nothing */
	for (i = 0; i < 64 && err; i++) {
		if (pt)
			bps.pt_fail_after = i;
		else
			bps.heap_fail_after = i;
		err = vtlmem_vmap_create(&boot_platform, &kv_rt, &cfg, &vm);
		platform_reset_injection();
		if (err && (err != -VTLMEM_ENOMEM || bps.pt_live != pt0 ||
			    heap_live_outside_rtable() != heap0)) {
			ktest_fail(__FILE__, __LINE__, "create failing at %ld: err %d, pt %lu->%lu",
				   i, err, pt0, bps.pt_live);
			return;
		}
	}
	REQUIRE_INT(err, 0);
	kv_install(vm);
	map_with_injection(vm, pt);
	kv_uninstall(vm);
	CHECK_INT(vtlmem_vmap_destroy(vm), 0);
	CHECK_EQ(bps.pt_live, pt0);
	CHECK_EQ(heap_live_outside_rtable(), heap0);
}

KTEST(vmap_pt_alloc_failure_leaves_the_live_tables_identical)
{
	second_window(true);
}

KTEST(vmap_bookkeeping_alloc_failure_leaves_the_live_tables_identical)
{
	second_window(false);
}

KTEST(vmap_quarantine_threshold_triggers_one_purge)
{
	static vtlmem_paddr_t pages[520];
	struct vtlmem_mapping *m;
	uint64_t sd0;
	uintptr_t va;
	size_t i;

	kv_init();
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	for (i = 0; i < 520; i++)
		pages[i] = vtl0_page(2000 + i);
	sd0 = bps.shootdowns;
	REQUIRE_INT(map_pages(kv_vm, pages, 520, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, &m, &va), 0);
	CHECK_INT(vtlmem_vmap_unmap(kv_vm, m), 0);      /* 520 >= 512: purges itself */
	CHECK_EQ(bps.shootdowns, sd0 + 1);
	CHECK_EQ(bps.last_shootdown_va, va);
	CHECK(bps.last_shootdown_len >= 520 * PAGE_SIZE);
	CHECK_EQ(stats(kv_vm).quarantined_pages, 0);
	CHECK(!vtlmem_is_reserved(&kv_rt, pages[0], PAGE_SIZE, VTLMEM_RES_SHARED));
}

/*
 * With every shootdown failing, no unmapped VA may ever be handed out
 * again: mappings keep getting fresh, disjoint VA until the window is
 * exhausted (-ENOSPC), and only a successful purge makes VA reusable.
 */
KTEST(vmap_va_is_never_reused_while_shootdowns_fail)
{
	static vtlmem_paddr_t pages[1000];
	uintptr_t va[8], v;
	struct vtlmem_mapping *m;
	size_t round, i, j;
	int err = 0;

	kv_init();
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	bps.shootdown_fail_next = ~0UL;
	for (round = 0; round < ARRAY_SIZE(va); round++) {
		for (i = 0; i < 1000; i++)
			pages[i] = vtl0_page(4000 + round * 1000 + i);
		err = map_pages(kv_vm, pages, 1000, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, &m, &v);
		if (err)
			break;
		for (j = 0; j < round; j++)
			if (v < va[j] + 1000 * PAGE_SIZE && va[j] < v + 1000 * PAGE_SIZE)
				ktest_fail(__FILE__, __LINE__, "round %zu reuses VA of round %zu",
					   round, j);
		va[round] = v;
		CHECK_INT(vtlmem_vmap_unmap(kv_vm, m), 0);
		CHECK(load_faults(v));
	}
	CHECK_INT(err, -VTLMEM_ENOSPC);
	CHECK(round >= 3);              /* 16 MiB window: ~4 rounds of 1000 pages */
	CHECK(stats(kv_vm).shootdown_failures > 0);
	CHECK(stats(kv_vm).quarantined_pages >= round * 1000);
	bps.shootdown_fail_next = 0;
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	CHECK_EQ(stats(kv_vm).quarantined_pages, 0);
	for (i = 0; i < 1000; i++)
		pages[i] = vtl0_page(4000 + i);
	REQUIRE_INT(map_pages(kv_vm, pages, 1000, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, &m, &v), 0);
	unmap_purge(kv_vm, m);
}
