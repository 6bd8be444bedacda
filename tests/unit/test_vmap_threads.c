/* SPDX-License-Identifier: MIT */
/*
 * The vmap manager under concurrency: threads, each its own simulated CPU,
 * map and unmap random sizes (private pages exclusively, common pages
 * shared-read), use their per-CPU slots, purge, and check every entry of
 * their mappings through the software walker and real copies through the
 * mirror. Built plain, with ASan and with TSan.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include <vtlmem/copy.h>
#include <vtlmem/vmap.h>
#include "hostmmu.h"
#include "hostplat.h"
#include "mutexops.h"
#include "../../src/vmap_debug.h"

#define PG 4096ull
#define MB (1ull << 20)
#define NTHREADS 6
#define PRIV_PAGES 2048          /* private VTL0 pages per thread          */
#define COMMON_PAGES 64          /* pages every thread maps read-only       */
#define LIVE_MAX 12              /* live mappings per thread at most        */
#define MAXN 48                  /* pages per mapping at most               */
#define OPS 3000

struct world {
	struct hostplat hp;
	struct hostmmu mmu;
	struct vtlmem_rtable rt;
	struct vtlmem_vmap *vm;
	bool mirror;                  /* accesses go through the hostmmu mirror */
	unsigned long enospc, ebusy_purges, quarantined_busy;
};

struct live {
	struct vtlmem_mapping *m;
	uintptr_t va;
	size_t n;
	bool rw;
	vtlmem_paddr_t pages[MAXN];
};

struct worker {
	struct world *w;
	unsigned cpu;
	unsigned seed;
	uint64_t first;               /* first private page number */
	uint8_t used[PRIV_PAGES];     /* private page mapped now   */
	struct live live[LIVE_MAX];
	size_t nlive;
	unsigned long maps, slot_maps, copies;
	int failed_line;
};

#define CHECK(c) do { if (!(c) && !wk->failed_line) wk->failed_line = __LINE__; } while (0)

static vtlmem_paddr_t priv_page(const struct worker *wk, uint64_t i)
{
	return vtlmem_pa(HOSTPLAT_VTL0_BASE + (wk->first + i) * PG);
}

static vtlmem_paddr_t common_page(uint64_t i)
{
	return vtlmem_pa(HOSTPLAT_VTL0_BASE + i * PG);
}

/* Every entry of a live mapping is exactly its page; its guard is empty. */
static void check_live(struct worker *wk, const struct live *l)
{
	enum vtlmem_prot prot = l->rw ? VTLMEM_PROT_RW : VTLMEM_PROT_RO;
	size_t i;

	for (i = 0; i < l->n; i++)
		CHECK(hostmmu_pte(&wk->w->mmu, l->va + i * PG) ==
		      hmmu_leaf(vtlmem_pa_val(l->pages[i]), prot, VTLMEM_CACHE_WB));
	CHECK(hostmmu_pte(&wk->w->mmu, l->va + l->n * PG) == 0);
}

/* Distinct unused private pages in random order (RW), or common pages (RO). */
static bool pick_pages(struct worker *wk, struct live *l)
{
	size_t i, tries;
	uint64_t k;

	l->n = 1 + (size_t)rand_r(&wk->seed) % (rand_r(&wk->seed) % 4 ? 4 : MAXN);
	l->rw = rand_r(&wk->seed) % 3 != 0;
	if (!l->rw) {
		k = (uint64_t)rand_r(&wk->seed) % (COMMON_PAGES - MAXN);
		for (i = 0; i < l->n; i++)
			l->pages[i] = common_page(k + i);
		return true;
	}
	for (i = 0; i < l->n; i++) {
		for (tries = 0; tries < 64; tries++) {
			k = (uint64_t)rand_r(&wk->seed) % PRIV_PAGES;
			if (!wk->used[k])
				break;
		}
		if (wk->used[k]) {
			while (i--)
				wk->used[(vtlmem_pa_val(l->pages[i]) - vtlmem_pa_val(priv_page(wk, 0))) / PG] = 0;
			return false;
		}
		wk->used[k] = 1;
		l->pages[i] = priv_page(wk, k);
	}
	return true;
}

static void release_pages(struct worker *wk, const struct live *l)
{
	size_t i;

	for (i = 0; l->rw && i < l->n; i++)
		wk->used[(vtlmem_pa_val(l->pages[i]) - vtlmem_pa_val(priv_page(wk, 0))) / PG] = 0;
}

/* Write a pattern through the mirror, read it back from physical memory. */
static void copy_check(struct worker *wk, const struct live *l)
{
	uint8_t buf[64], *phys;
	size_t i, page = (size_t)rand_r(&wk->seed) % l->n;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(wk->cpu * 31 + i + wk->copies);
	CHECK(vtlmem_copy((void *)(l->va + page * PG + 100), buf, sizeof(buf)) == 0);
	phys = hostplat_va(&wk->w->hp, vtlmem_pa_val(l->pages[page]));
	CHECK(memcmp(phys + 100, buf, sizeof(buf)) == 0);
	/* one byte past the mapping is the guard: the copy stops there */
	CHECK(vtlmem_copy(buf, (void *)(l->va + l->n * PG - 8), 16) == 8);
	wk->copies++;
}

static void do_map(struct worker *wk)
{
	struct live *l = &wk->live[wk->nlive];
	struct vtlmem_map_req r = { 0 };
	vtlmem_vaddr_t va;
	int ret;

	if (!pick_pages(wk, l))
		return;
	r.pages = l->pages;
	r.npages = l->n;
	r.prot = l->rw ? VTLMEM_PROT_RW : VTLMEM_PROT_RO;
	ret = vtlmem_vmap_map(wk->w->vm, &r, &l->m, &va);
	if (ret == -VTLMEM_ENOSPC) {
		__atomic_add_fetch(&wk->w->enospc, 1, __ATOMIC_RELAXED);
		release_pages(wk, l);
		return;
	}
	/* our own unmapped pages keep their reservation until a purge */
	if (ret == -VTLMEM_EBUSY && l->rw) {
		__atomic_add_fetch(&wk->w->quarantined_busy, 1, __ATOMIC_RELAXED);
		release_pages(wk, l);
		return;
	}
	CHECK(ret == 0);
	if (ret)
		return;
	l->va = vtlmem_va_val(va);
	wk->nlive++;
	wk->maps++;
	check_live(wk, l);
	if (wk->w->mirror && l->rw && rand_r(&wk->seed) % 4 == 0)
		copy_check(wk, l);
}

static void do_unmap(struct worker *wk)
{
	size_t k = (size_t)rand_r(&wk->seed) % wk->nlive;
	struct live *l = &wk->live[k];

	check_live(wk, l);
	/* (once unmap returns, a purge may hand the VA to another thread) */
	CHECK(vtlmem_vmap_unmap(wk->w->vm, l->m) == 0);
	release_pages(wk, l);
	*l = wk->live[--wk->nlive];
}

/* Two nested slots over private pages covered by a fresh reservation. */
static void do_slots(struct worker *wk)
{
	struct vtlmem_range rr;
	struct vtlmem_slot s1, s2;
	vtlmem_paddr_t p[2];
	vtlmem_resv_t h;
	uint64_t k = (uint64_t)rand_r(&wk->seed) % (PRIV_PAGES - 1), v = wk->cpu, out = 0;
	int ret;

	if (wk->used[k] || wk->used[k + 1])
		return;
	rr.pa = priv_page(wk, k);
	rr.len = 2 * PG;
	ret = vtlmem_reserve(&wk->w->rt, &rr, 1, VTLMEM_RES_EXCLUSIVE, &h, NULL);
	if (ret == -VTLMEM_EBUSY) {       /* unmapped, not purged yet */
		__atomic_add_fetch(&wk->w->quarantined_busy, 1, __ATOMIC_RELAXED);
		return;
	}
	CHECK(ret == 0);
	p[0] = priv_page(wk, k + 1);
	p[1] = priv_page(wk, k);
	CHECK(vtlmem_slot_map(wk->w->vm, p, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, h, &s1) == 0);
	CHECK(vtlmem_slot_map(wk->w->vm, &p[1], 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, h, &s2) == 0);
	CHECK(s1.cpu == wk->cpu && s2.first == s1.first + 1);
	CHECK(hostmmu_pte(&wk->w->mmu, vtlmem_va_val(s1.va)) == (hmmu_leaf(vtlmem_pa_val(p[0]), VTLMEM_PROT_RW, VTLMEM_CACHE_WB)));
	CHECK(hostmmu_pte(&wk->w->mmu, vtlmem_va_val(s2.va)) == (hmmu_leaf(vtlmem_pa_val(p[1]), VTLMEM_PROT_RO, VTLMEM_CACHE_WB)));
	if (wk->w->mirror) {
		CHECK(vtlmem_store64((void *)vtlmem_va_val(s1.va), v) == 0);
		CHECK(vtlmem_load64((void *)vtlmem_va_val(s1.va), &out) == 0 && out == v);
		CHECK(vtlmem_store64((void *)vtlmem_va_val(s2.va), v) == -VTLMEM_EFAULT);
	}
	CHECK(vtlmem_slot_unmap(wk->w->vm, &s1) == -VTLMEM_EDEADLK);
	CHECK(vtlmem_slot_unmap(wk->w->vm, &s2) == 0);
	CHECK(vtlmem_slot_unmap(wk->w->vm, &s1) == 0);
	CHECK(hostmmu_pte(&wk->w->mmu, vtlmem_va_val(s1.va)) == 0);
	CHECK(vtlmem_release(&wk->w->rt, h) == 0);
	wk->slot_maps += 2;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	unsigned r, i;
	int ret;

	hostplat_set_cpu(wk->cpu);
	for (i = 0; i < OPS && !wk->failed_line; i++) {
		r = (unsigned)rand_r(&wk->seed) % 100;
		if (r < 45 && wk->nlive < LIVE_MAX)
			do_map(wk);
		else if (r < 85 && wk->nlive)
			do_unmap(wk);
		else if (r < 97)
			do_slots(wk);
		else if ((ret = vtlmem_vmap_purge(wk->w->vm)) == -VTLMEM_EBUSY)
			__atomic_add_fetch(&wk->w->ebusy_purges, 1, __ATOMIC_RELAXED);
		else
			CHECK(ret == 0);
	}
	while (wk->nlive)
		do_unmap(wk);
	return NULL;
}

/*
 * Platform locks: pthread mutexes (mutexops.h says why not the library's
 * own spinlock).
 */
static void run_stress(uint64_t window, uint64_t threshold, bool mirror, bool tight)
{
	struct world *w = calloc(1, sizeof(*w));
	struct worker *wk = calloc(NTHREADS, sizeof(*wk));
	struct vtlmem_vmap_config cfg = { .slots_per_cpu = 2, .purge_threshold = threshold };
	struct vtlmem_vmap_stats st;
	pthread_t th[NTHREADS];
	unsigned long maps = 0, slots = 0;
	int i;

	assert_non_null(w);
	assert_non_null(wk);
	hostplat_init(&w->hp, 128 * MB);
	w->hp.ops.ncpus = NTHREADS;
	mutexops_install(&w->hp.ops);
	hostmmu_init(&w->mmu, &w->hp, window);
	hostmmu_config(&w->mmu, &cfg);
	assert_int_equal(vtlmem_rtable_init(&w->rt, &w->hp.ops), 0);
	assert_int_equal(vtlmem_vmap_create(&w->hp.ops, &w->rt, &cfg, &w->vm), 0);
	hostmmu_install(&w->mmu, w->vm);
	w->mirror = mirror;
	if (mirror) {
		hostmmu_mirror_enable(&w->mmu);
		hostmmu_mirror_shared(&w->mmu);   /* threads: one TLB shared by all CPUs */
	}
	for (i = 0; i < NTHREADS; i++) {
		wk[i].w = w;
		wk[i].cpu = (unsigned)i;
		wk[i].seed = 1000u + (unsigned)i;
		wk[i].first = COMMON_PAGES + (uint64_t)i * PRIV_PAGES;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &wk[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(wk[i].failed_line, 0);
		maps += wk[i].maps;
		slots += wk[i].slot_maps;
	}
	vtlmem_vmap_get_stats(w->vm, &st);
	assert_int_equal(st.maps, maps);
	assert_int_equal(st.unmaps, maps);
	assert_int_equal(st.slot_maps, slots);
	assert_int_equal(st.slot_unmaps, slots);
	assert_int_equal(st.mapped_pages, 0);
	assert_int_equal(st.shootdown_failures, 0);
	assert_int_equal(st.remote_shootdowns, w->hp.shootdowns);
	assert_true(st.remote_shootdowns > 0);
	assert_int_equal(vtlmem_vmap_selfcheck(w->vm), 0);
	if (tight)
		assert_true(w->enospc > 0);
	assert_int_equal(hostmmu_count_present(&w->mmu, w->mmu.base, window), 0);
	assert_int_equal(vtlmem_vmap_purge(w->vm), 0);
	assert_int_equal(w->rt.handles, 0);
	hostmmu_fini(&w->mmu);
	assert_int_equal(vtlmem_vmap_destroy(w->vm), 0);
	assert_int_equal(vtlmem_rtable_fini(&w->rt), 0);
	assert_int_equal(w->hp.pt_live, 0);
	assert_int_equal(w->hp.alloc_live, 0);
	hostplat_fini(&w->hp);
	free(wk);
	free(w);
}

static void threads_map_unmap_slots_and_purge_consistently(void **state)
{
	(void)state;
	run_stress(64 * MB, 64, false, false);
}

static void threads_copy_through_the_mirror(void **state)
{
	(void)state;
	run_stress(64 * MB, 256, true, false);
}

/* A window so small that VA runs out: -ENOSPC, purges from map, no error. */
static void threads_in_a_tight_window_run_out_and_recover(void **state)
{
	(void)state;
	run_stress(1 * MB, 1u << 20, false, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threads_map_unmap_slots_and_purge_consistently),
		cmocka_unit_test(threads_copy_through_the_mirror),
		cmocka_unit_test(threads_in_a_tight_window_run_out_and_recover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
