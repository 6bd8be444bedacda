/* SPDX-License-Identifier: MIT */
/*
 * The host test MMU's per-CPU TLB model (hostmmu.h) and the simulated SMP
 * platform (hostplat.h) themselves: the regression tests of the library's
 * TLB promises (test_smp_tlb.c) and the SMP runs of the vmap, physptr,
 * VTL0 and ring suites rely on exactly these facts. Single-threaded; the
 * mappings are made with the vmap manager, but every invalidation here is a
 * direct call of the platform's TLB ops (or a leaf entry rewritten behind
 * the library's back), so nothing depends on the library's own flushing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <vtlmem/copy.h>
#include "hostmmu.h"
#include "hostplat.h"
#include "vtl0env.h"

#define PG VTLMEM_PAGE_SIZE

static struct vtl0env env;
#define E (&env)

static void three_cpus(struct vtlmem_platform *ops)
{
	ops->ncpus = 3;
}

/* 3 simulated CPUs, no random switches (even with VTLMEM_TEST_SMP set), CPU 0. */
static void start(void)
{
	vtl0env_init_with(E, 4, three_cpus);
	hostplat_smp_off(&E->hp);
	E->mmu.fill_ahead = 0;
	hostplat_set_cpu(0);
}

static void finish(void)
{
	hostplat_set_cpu(0);
	assert_int_equal(vtl0env_fini(E), 0);
}

/* Map n VTL0 pages (page numbers first, first + 1, ...) RW; returns the VA. */
static uintptr_t map_rw(unsigned first, size_t n, struct vtlmem_mapping **m)
{
	vtlmem_paddr_t p[8];
	struct vtlmem_map_req r = { .pages = p, .npages = n, .prot = VTLMEM_PROT_RW,
				    .cache = VTLMEM_CACHE_WB };
	vtlmem_vaddr_t va;
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = vtl0env_page(first + (unsigned)i);
	assert_int_equal(vtlmem_vmap_map(E->vm, &r, m, &va), 0);
	return vtlmem_va_val(va);
}

/* The leaf entry of va, found by walking the tables in simulated memory. */
static uint64_t *leaf_slot(uintptr_t va)
{
	uint64_t *t = E->mmu.root, e;
	int level;

	for (level = HMMU_LEVELS - 1; level > 0; level--) {
		e = t[(va >> (12 + HMMU_PT_BITS * level)) & ((1u << HMMU_PT_BITS) - 1)];
		assert_true(hmmu_valid(e) && !hmmu_block(e, level));
		t = hostplat_va(&E->hp, hmmu_addr(e));
	}
	return &t[(va >> 12) & ((1u << HMMU_PT_BITS) - 1)];
}

/* Is va readable in the host right now (the host kernel reads it: no fault)? */
static bool host_accessible(uintptr_t va)
{
	int fd[2];
	ssize_t r;

	assert_int_equal(pipe(fd), 0);
	r = write(fd[1], (const void *)va, 1);
	close(fd[0]);
	close(fd[1]);
	return r == 1;
}

static uint64_t dm64(unsigned page)
{
	uint64_t v;

	memcpy(&v, vtl0env_dm(E, vtl0env_pa(page)), 8);
	return v;
}

static void set_dm64(unsigned page, uint64_t v)
{
	memcpy(vtl0env_dm(E, vtl0env_pa(page)), &v, 8);
}

static uint64_t load(uintptr_t va)
{
	uint64_t v = 0;

	assert_int_equal(vtlmem_load64((const void *)va, &v), 0);
	return v;
}

static void fills_go_to_the_current_cpu_only(void **state)
{
	struct vtlmem_mapping *m;
	uintptr_t va;
	uint64_t pa;
	bool rw;

	(void)state;
	start();
	va = map_rw(10, 1, &m);
	set_dm64(10, 0x1111);
	assert_false(hostmmu_tlb_lookup(&E->mmu, 0, va, NULL, NULL));
	assert_int_equal(load(va), 0x1111);
	assert_true(hostmmu_tlb_lookup(&E->mmu, 0, va, &pa, &rw));
	assert_int_equal(pa, vtl0env_pa(10));
	assert_true(rw);
	assert_int_equal(hostmmu_tlb_entries(&E->mmu, 0), 1);
	assert_int_equal(hostmmu_tlb_entries(&E->mmu, 1), 0);
	assert_int_equal(hostmmu_tlb_entries(&E->mmu, 2), 0);
	assert_int_equal(E->mmu.fills, 1);
	hostplat_set_cpu(1);
	assert_int_equal(load(va), 0x1111);
	assert_true(hostmmu_tlb_lookup(&E->mmu, 1, va, NULL, NULL));
	assert_int_equal(hostmmu_tlb_entries(&E->mmu, 2), 0);
	assert_int_equal(E->mmu.fills, 2);
	hostplat_set_cpu(0);
	assert_int_equal(vtlmem_vmap_unmap(E->vm, m), 0);
	finish();
}

static void a_cpu_switch_hides_the_old_cpus_pages_and_restores_the_new_ones(void **state)
{
	struct vtlmem_mapping *m;
	uintptr_t va;

	(void)state;
	start();
	va = map_rw(20, 1, &m);
	set_dm64(20, 0x2020);
	assert_int_equal(load(va), 0x2020);
	assert_true(host_accessible(va));
	assert_true(hostmmu_mirrored(&E->mmu, va));
	hostplat_set_cpu(2);
	assert_false(host_accessible(va));         /* CPU 2 cached nothing */
	assert_false(hostmmu_mirrored(&E->mmu, va));
	hostplat_set_cpu(0);
	assert_true(hostmmu_mirrored(&E->mmu, va));  /* cached, mapped in on use */
	assert_false(host_accessible(va));
	assert_int_equal(load(va), 0x2020);
	assert_true(host_accessible(va));
	assert_int_equal(E->mmu.fills, 1);          /* no second walk */
	assert_int_equal(E->mmu.reinstalls, 1);
	assert_int_equal(vtlmem_vmap_unmap(E->vm, m), 0);
	finish();
}

/*
 * The property every invalidation test relies on: a translation a CPU
 * cached survives the page-table change until THAT CPU is invalidated, and
 * an access through it reaches the old physical page.
 */
static void a_stale_entry_reaches_the_old_page_until_its_cpu_is_invalidated(void **state)
{
	struct vtlmem_mapping *m;
	uintptr_t va;
	uint64_t *pte, pa;

	(void)state;
	start();
	va = map_rw(30, 1, &m);
	set_dm64(30, 0x3030);
	set_dm64(31, 0x3131);
	hostplat_set_cpu(1);
	assert_int_equal(load(va), 0x3030);
	/* retarget the entry to page 31 without any invalidation */
	pte = leaf_slot(va);
	__atomic_store_n(pte, hmmu_with_addr(*pte, vtl0env_pa(31)), __ATOMIC_RELEASE);
	hostplat_set_cpu(2);                          /* no cached entry: walks */
	assert_int_equal(load(va), 0x3131);
	hostplat_set_cpu(1);                          /* stale: the old page */
	assert_int_equal(load(va), 0x3030);
	assert_int_equal(vtlmem_store64((void *)va, 0xdead), 0);
	assert_int_equal(dm64(30), 0xdead);
	assert_int_equal(dm64(31), 0x3131);
	/* a shootdown from CPU 1 covers every CPU but CPU 1 */
	assert_int_equal(E->hp.ops.tlb_shootdown(&E->hp, va, PG), 0);
	assert_true(hostmmu_tlb_lookup(&E->mmu, 1, va, &pa, NULL));
	assert_int_equal(pa, vtl0env_pa(30));
	assert_false(hostmmu_tlb_lookup(&E->mmu, 2, va, NULL, NULL));
	assert_int_equal(load(va), 0xdead);
	/* tlb_local on CPU 1 drops it: the next access walks to page 31 */
	E->hp.ops.tlb_local(&E->hp, va, 1);
	assert_false(hostmmu_tlb_lookup(&E->mmu, 1, va, NULL, NULL));
	assert_int_equal(load(va), 0x3131);
	/* a shootdown from another CPU drops CPU 1's entry too */
	__atomic_store_n(pte, hmmu_with_addr(*pte, vtl0env_pa(30)), __ATOMIC_RELEASE);
	assert_int_equal(load(va), 0x3131);
	hostplat_set_cpu(0);
	assert_int_equal(E->hp.ops.tlb_shootdown(&E->hp, va, PG), 0);
	hostplat_set_cpu(1);
	assert_int_equal(load(va), 0xdead);           /* page 30 again */
	hostplat_set_cpu(0);
	assert_int_equal(vtlmem_vmap_unmap(E->vm, m), 0);
	finish();
}

static void tlb_local_drops_only_the_current_cpus_pages_in_the_range(void **state)
{
	struct vtlmem_mapping *m;
	uintptr_t va;
	unsigned c;

	(void)state;
	start();
	va = map_rw(40, 3, &m);
	for (c = 0; c < 2; c++) {
		hostplat_set_cpu(c);
		load(va);
		load(va + PG);
		load(va + 2 * PG);
		assert_int_equal(hostmmu_tlb_entries(&E->mmu, c), 3);
	}
	hostplat_set_cpu(0);
	E->hp.ops.tlb_local(&E->hp, va + PG, 1);
	assert_true(hostmmu_tlb_lookup(&E->mmu, 0, va, NULL, NULL));
	assert_false(hostmmu_tlb_lookup(&E->mmu, 0, va + PG, NULL, NULL));
	assert_true(hostmmu_tlb_lookup(&E->mmu, 0, va + 2 * PG, NULL, NULL));
	assert_int_equal(hostmmu_tlb_entries(&E->mmu, 1), 3);
	/* the pages in use now follow: va mapped in again, va + PG not */
	load(va);
	assert_true(host_accessible(va));
	assert_false(host_accessible(va + PG));
	/* npages 0: the whole TLB of this CPU, no other */
	E->hp.ops.tlb_local(&E->hp, 0, 0);
	assert_int_equal(hostmmu_tlb_entries(&E->mmu, 0), 0);
	assert_false(host_accessible(va));
	assert_int_equal(hostmmu_tlb_entries(&E->mmu, 1), 3);
	assert_int_equal(vtlmem_vmap_unmap(E->vm, m), 0);
	finish();
}

static void a_shootdown_drops_every_other_cpu_in_its_range_only(void **state)
{
	struct vtlmem_mapping *m;
	uintptr_t va;
	unsigned c;

	(void)state;
	start();
	va = map_rw(50, 2, &m);
	for (c = 0; c < 3; c++) {
		hostplat_set_cpu(c);
		load(va);
		load(va + PG);
	}
	hostplat_set_cpu(1);
	load(va + PG);                                /* mapped in for CPU 1 */
	assert_int_equal(E->hp.ops.tlb_shootdown(&E->hp, va + PG, PG), 0);
	for (c = 0; c < 3; c++) {
		assert_true(hostmmu_tlb_lookup(&E->mmu, c, va, NULL, NULL));
		assert_int_equal(hostmmu_tlb_lookup(&E->mmu, c, va + PG, NULL, NULL), c == 1);
	}
	assert_true(host_accessible(va + PG));        /* CPU 1 is current: untouched */
	hostplat_set_cpu(0);
	assert_int_equal(vtlmem_vmap_unmap(E->vm, m), 0);
	finish();
}

static void a_write_through_a_read_only_entry_faults_and_walks_again(void **state)
{
	struct vtlmem_mapping *m;
	uintptr_t va;
	uint64_t *pte;
	bool rw = true;

	(void)state;
	start();
	va = map_rw(60, 1, &m);
	pte = leaf_slot(va);
	__atomic_store_n(pte, hmmu_with_write(*pte, false), __ATOMIC_RELEASE);
	set_dm64(60, 0x6060);
	assert_int_equal(load(va), 0x6060);
	assert_true(hostmmu_tlb_lookup(&E->mmu, 0, va, NULL, &rw));
	assert_false(rw);
	/* still read-only in the tables: the write faults, nothing written */
	assert_int_equal(vtlmem_store64((void *)va, 1), -VTLMEM_EFAULT);
	assert_int_equal(dm64(60), 0x6060);
	assert_false(hostmmu_tlb_lookup(&E->mmu, 0, va, NULL, NULL));
	/* made writable without a flush: the faulting write walks and succeeds */
	load(va);
	__atomic_store_n(pte, hmmu_with_write(*pte, true), __ATOMIC_RELEASE);
	assert_int_equal(vtlmem_store64((void *)va, 2), 0);
	assert_int_equal(dm64(60), 2);
	assert_true(hostmmu_tlb_lookup(&E->mmu, 0, va, NULL, &rw));
	assert_true(rw);
	assert_int_equal(vtlmem_vmap_unmap(E->vm, m), 0);
	finish();
}

static void fill_ahead_filter_and_flush_all(void **state)
{
	struct vtlmem_mapping *m;
	uintptr_t va;
	unsigned c;

	(void)state;
	start();
	E->mmu.fill_ahead = 3;
	va = map_rw(70, 5, &m);
	load(va);
	/* the faulting page and 3 more; the 5th waits for its own fault */
	assert_int_equal(hostmmu_tlb_entries(&E->mmu, 0), 4);
	assert_false(hostmmu_tlb_lookup(&E->mmu, 0, va + 4 * PG, NULL, NULL));
	hostplat_set_cpu(1);
	load(va + 3 * PG);                   /* the guard page stops the fill-ahead */
	assert_int_equal(hostmmu_tlb_entries(&E->mmu, 1), 2);
	/* refusal: every CPU forgets everything, and the page is never cached */
	vtl0env_refuse(E, vtl0env_pa(71));
	for (c = 0; c < 3; c++)
		assert_int_equal(hostmmu_tlb_entries(&E->mmu, c), 0);
	assert_int_equal(vtlmem_store64((void *)(va + PG), 7), -VTLMEM_EFAULT);
	load(va);                            /* fill-ahead stops at the refused page */
	assert_int_equal(hostmmu_tlb_entries(&E->mmu, 1), 1);
	vtl0env_refuse(E, 0);
	assert_int_equal(vtlmem_store64((void *)(va + PG), 7), 0);
	hostplat_set_cpu(0);
	assert_int_equal(vtlmem_vmap_unmap(E->vm, m), 0);
	finish();
}

/* The negative-control switches remove exactly the invalidation. */
static void skip_switches_keep_the_counts_and_invalidate_nothing(void **state)
{
	struct vtlmem_mapping *m;
	unsigned long calls, shootdowns;
	uintptr_t va;

	(void)state;
	start();
	va = map_rw(80, 1, &m);
	hostplat_set_cpu(1);
	load(va);
	hostplat_set_cpu(0);
	load(va);
	calls = E->hp.tlb_local_calls;
	shootdowns = E->hp.shootdowns;
	E->hp.skip_tlb_local = true;
	E->hp.ops.tlb_local(&E->hp, va, 1);
	E->hp.ops.tlb_local(&E->hp, 0, 0);
	assert_int_equal(E->hp.tlb_local_calls, calls + 2);
	assert_true(hostmmu_tlb_lookup(&E->mmu, 0, va, NULL, NULL));
	E->hp.skip_tlb_local = false;
	E->hp.skip_shootdown_invalidate = true;
	assert_int_equal(E->hp.ops.tlb_shootdown(&E->hp, va, PG), 0);
	assert_int_equal(E->hp.shootdowns, shootdowns + 1);
	assert_true(hostmmu_tlb_lookup(&E->mmu, 1, va, NULL, NULL));
	E->hp.skip_shootdown_invalidate = false;
	assert_int_equal(E->hp.ops.tlb_shootdown(&E->hp, va, PG), 0);
	assert_false(hostmmu_tlb_lookup(&E->mmu, 1, va, NULL, NULL));
	E->hp.ops.tlb_local(&E->hp, va, 1);
	assert_false(hostmmu_tlb_lookup(&E->mmu, 0, va, NULL, NULL));
	assert_int_equal(vtlmem_vmap_unmap(E->vm, m), 0);
	finish();
}

/* Shared (threaded) model: one TLB; any invalidation drops for every CPU. */
static void the_shared_model_invalidates_for_every_cpu(void **state)
{
	struct vtlmem_mapping *m;
	uintptr_t va;

	(void)state;
	start();
	hostmmu_mirror_shared(&E->mmu);
	va = map_rw(90, 1, &m);
	hostplat_set_cpu(1);
	load(va);
	hostplat_set_cpu(2);
	assert_true(host_accessible(va));             /* CPU 1's fill is everyone's */
	assert_false(hostmmu_tlb_lookup(&E->mmu, 1, va, NULL, NULL));   /* no per-CPU view */
	E->hp.ops.tlb_local(&E->hp, va, 1);           /* a local flush on CPU 2 ... */
	hostplat_set_cpu(1);
	assert_false(host_accessible(va));            /* ... drops it for CPU 1 too */
	load(va);
	assert_int_equal(E->hp.ops.tlb_shootdown(&E->hp, va, PG), 0);
	assert_false(host_accessible(va));            /* even the shooting CPU */
	hostplat_set_cpu(0);
	assert_int_equal(vtlmem_vmap_unmap(E->vm, m), 0);
	finish();
}

/* ---- simulated SMP: random switches at preemption points ---- */

static unsigned cpu_now(void)
{
	return E->hp.ops.cpu_id(&E->hp);
}

static void random_switches_happen_only_with_preemption_on(void **state)
{
	unsigned seen[3] = { 0, 0, 0 }, c, i;
	unsigned long cookie, pts;

	(void)state;
	start();
	hostplat_smp(&E->hp, 3, 12345);
	assert_int_equal(E->hp.ops.ncpus, 3);
	for (i = 0; i < 300; i++)
		seen[cpu_now()]++;            /* cpu_id with preemption on: a point */
	assert_int_equal(E->hp.smp_points, 300);
	for (c = 0; c < 3; c++)
		assert_true(seen[c] > 50);
	assert_true(E->hp.smp_switches > 100);
	/* preemption off: no point, no switch, whatever op is called */
	cookie = E->hp.ops.preempt_off(&E->hp);
	assert_int_equal(hostplat_preempt_depth(), 1);
	c = hostplat_get_cpu();
	pts = E->hp.smp_points;
	for (i = 0; i < 100; i++) {
		assert_int_equal(cpu_now(), c);
		E->hp.ops.free(&E->hp, E->hp.ops.alloc(&E->hp, 8), 8);
		E->hp.ops.ownership(&E->hp, vtl0env_page(1), PG);
	}
	assert_int_equal(E->hp.smp_points, pts);
	/* nested: still off after the inner preempt_on */
	E->hp.ops.preempt_on(&E->hp, E->hp.ops.preempt_off(&E->hp));
	assert_int_equal(E->hp.smp_points, pts);
	assert_int_equal(cpu_now(), c);
	E->hp.ops.preempt_on(&E->hp, cookie);       /* back to 0: a point */
	assert_int_equal(E->hp.smp_points, pts + 1);
	assert_int_equal(hostplat_preempt_depth(), 0);
	/* pinned: no points */
	hostplat_pin(&E->hp);
	c = hostplat_get_cpu();
	for (i = 0; i < 100; i++)
		assert_int_equal(cpu_now(), c);
	hostplat_unpin(&E->hp);
	assert_int_equal(E->hp.smp_points, pts + 1);
	finish();
}

static void the_same_seed_gives_the_same_switches(void **state)
{
	unsigned a[64], i;

	(void)state;
	start();
	hostplat_smp(&E->hp, 4, 777);
	for (i = 0; i < 64; i++)
		a[i] = cpu_now();
	hostplat_smp(&E->hp, 4, 777);
	for (i = 0; i < 64; i++)
		assert_int_equal(cpu_now(), a[i]);
	hostplat_smp(&E->hp, 4, 778);
	for (i = 0; i < 64 && cpu_now() == a[i]; i++)
		;
	assert_true(i < 64);
	hostplat_smp_off(&E->hp);
	finish();
}

/*
 * Through the library: a window copy (no preemption control) may run on
 * any CPU; the switches swap the visible TLB, so the accessing CPU's own
 * cache is what the copy sees.
 */
static void switches_at_ops_change_the_cpu_the_next_access_runs_on(void **state)
{
	struct vtlmem_mapping *m;
	uintptr_t va;
	unsigned c, i, cached = 0;

	(void)state;
	start();
	hostplat_smp(&E->hp, 3, 99);
	va = map_rw(100, 1, &m);
	load(va);
	c = hostplat_get_cpu();
	assert_true(hostmmu_tlb_lookup(&E->mmu, c, va, NULL, NULL));
	for (i = 0; i < 30; i++) {
		cpu_now();                               /* a preemption point */
		load(va);
	}
	for (c = 0; c < 3; c++)
		cached += hostmmu_tlb_lookup(&E->mmu, c, va, NULL, NULL);
	assert_int_equal(cached, 3);                    /* every CPU used it */
	hostplat_smp_off(&E->hp);
	hostplat_set_cpu(0);
	assert_int_equal(vtlmem_vmap_unmap(E->vm, m), 0);
	finish();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fills_go_to_the_current_cpu_only),
		cmocka_unit_test(a_cpu_switch_hides_the_old_cpus_pages_and_restores_the_new_ones),
		cmocka_unit_test(a_stale_entry_reaches_the_old_page_until_its_cpu_is_invalidated),
		cmocka_unit_test(tlb_local_drops_only_the_current_cpus_pages_in_the_range),
		cmocka_unit_test(a_shootdown_drops_every_other_cpu_in_its_range_only),
		cmocka_unit_test(a_write_through_a_read_only_entry_faults_and_walks_again),
		cmocka_unit_test(fill_ahead_filter_and_flush_all),
		cmocka_unit_test(skip_switches_keep_the_counts_and_invalidate_nothing),
		cmocka_unit_test(the_shared_model_invalidates_for_every_cpu),
		cmocka_unit_test(random_switches_happen_only_with_preemption_on),
		cmocka_unit_test(the_same_seed_gives_the_same_switches),
		cmocka_unit_test(switches_at_ops_change_the_cpu_the_next_access_runs_on),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
