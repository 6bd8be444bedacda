/* SPDX-License-Identifier: MIT */
/*
 * The VTL0 calls and physical pointers from several simulated CPUs at once
 * (one thread per CPU), through the MMU mirror. Built plain, with ASan and
 * with TSan. The library's locks use the platform lock ops, pthread mutexes
 * here: the library's own ticket spinlock in user space, with more runnable
 * threads than host CPUs, convoys behind descheduled ticket holders (a
 * kernel holds it with preemption off, which user space cannot do).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>
#include <cmocka.h>

#include <vtlmem/vtl0.h>
#include "mutexops.h"
#include "vtl0env.h"
#include "../../src/reserve_claim.h"

#define PG VTLMEM_PAGE_SIZE
#define NTHREADS 4
#define ITERS 300

static struct vtl0env env;
#define E (&env)
#define CTX (&env.ctx)

struct worker {
	unsigned id;
	unsigned errors;
	unsigned ok, busy;
	pthread_t t;
};

/*
 * The TLB op: only the mirror's hook (these tests read no TLB counters or
 * log, which hostplat's own op keeps for single-threaded tests).
 */
static void tlb_mirror_only(void *ctx, uintptr_t va, uint64_t npages)
{
	struct hostplat *hp = ctx;

	if (hp->on_tlb_local)
		hp->on_tlb_local(hp, va, npages);
}

static void mutex_locks(struct vtlmem_platform *ops)
{
	mutexops_install(ops);
	ops->tlb_local = tlb_mirror_only;
}

static void start(void)
{
	vtl0env_init_with(E, 4, mutex_locks);
	hostmmu_mirror_shared(&E->mmu);   /* threads: one TLB shared by all CPUs */
}

static void finish(void)
{
	assert_int_equal(vtl0env_fini(E), 0);
}

static void run_workers(struct worker *w, void *(*fn)(void *))
{
	unsigned i;

	for (i = 0; i < NTHREADS; i++) {
		w[i].id = i;
		w[i].errors = w[i].ok = w[i].busy = 0;
		assert_int_equal(pthread_create(&w[i].t, NULL, fn, &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(pthread_join(w[i].t, NULL), 0);
}

/* The shared region every thread reads: 3 pages of a fixed pattern. */
#define SHARED_PAGE 100

static uint8_t shared_byte(size_t i)
{
	return (uint8_t)(i * 11 + 3);
}

static void *copier(void *arg)
{
	struct worker *w = arg;
	uint64_t mine = vtl0env_pa(200 + 8 * w->id) + 100;
	uint8_t in[3 * PG], out[3 * PG];
	size_t done, i, k;

	hostplat_set_cpu(w->id);
	for (k = 0; k < ITERS; k++) {
		for (i = 0; i < sizeof(in); i++)
			in[i] = (uint8_t)(i + k + w->id * 7);
		if (vtlmem_vtl0_write(CTX, vtlmem_pa(mine), in, sizeof(in), &done) ||
		    done != sizeof(in))
			w->errors++;
		memset(out, 0, sizeof(out));
		if (vtlmem_vtl0_read(CTX, vtlmem_pa(mine), out, sizeof(out), &done) ||
		    memcmp(in, out, sizeof(in)))
			w->errors++;
		if (vtlmem_vtl0_read(CTX, vtlmem_pa(vtl0env_pa(SHARED_PAGE) + 7), out, 2 * PG,
				     &done))
			w->errors++;
		for (i = 0; i < 2 * PG; i++)
			if (out[i] != shared_byte(i + 7))
				break;
		if (i != 2 * PG)
			w->errors++;
	}
	return NULL;
}

static void copies_from_every_cpu_at_once_are_exact(void **state)
{
	struct worker w[NTHREADS];
	struct vtl0env_snap s;
	size_t i;

	(void)state;
	start();
	for (i = 0; i < 3 * PG; i++)
		vtl0env_dm(E, vtl0env_pa(SHARED_PAGE))[i] = shared_byte(i);
	run_workers(w, copier);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(w[i].errors, 0);
	vtl0env_snap(E, &s);
	assert_int_equal(s.rt.handles, 0);
	assert_int_equal(s.preempt_offs, s.preempt_ons);
	assert_int_equal(s.vm.maps, 0);
	finish();
}

/* Two writers of one page: each call either wins the page or gets -EBUSY. */
static void *contender(void *arg)
{
	struct worker *w = arg;
	uint8_t b[64];
	size_t done;
	unsigned k;
	int ret;

	hostplat_set_cpu(w->id);
	memset(b, (int)w->id + 1, sizeof(b));
	for (k = 0; k < ITERS * 4; k++) {
		ret = vtlmem_vtl0_write(CTX, vtlmem_pa(vtl0env_pa(300) + 2000), b, sizeof(b), &done);
		if (ret == 0 && done == sizeof(b))
			w->ok++;
		else if (ret == -VTLMEM_EBUSY && done == 0)
			w->busy++;
		else
			w->errors++;
	}
	return NULL;
}

static void concurrent_writers_of_one_page_win_or_get_ebusy(void **state)
{
	struct worker w[NTHREADS];
	unsigned i, ok = 0;
	uint8_t v;

	(void)state;
	start();
	run_workers(w, contender);
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(w[i].errors, 0);
		assert_int_equal(w[i].ok + w[i].busy, ITERS * 4);
		ok += w[i].ok;
	}
	assert_true(ok > 0);
	/* the page holds one writer's bytes, whole */
	v = vtl0env_dm(E, vtl0env_pa(300) + 2000)[0];
	assert_true(v >= 1 && v <= NTHREADS);
	for (i = 0; i < 64; i++)
		assert_int_equal(vtl0env_dm(E, vtl0env_pa(300) + 2000)[i], v);
	assert_false(vtlmem_is_reserved(&E->rt, vtl0env_page(300), PG, VTLMEM_RES_SHARED));
	finish();
}

/*
 * Exclusion on the one-shot path (page claims, no table lock) and between
 * it and the tree (physical pointers): writers fill pages [X, X + 2) with
 * their own byte, by one-shot writes of both pages (a 2-page claim), of
 * page X + 1 alone, and every third time through a RW physical pointer
 * (a tree reservation); readers read page X + 1 whole, or the 4 KiB from
 * X + 2048 (a 2-page claim), and every third time through a RO physical
 * pointer. If two writers, or a writer and a reader, ever held a page at
 * once, a reader would see bytes of two writers within one page (the
 * copies take long enough to interleave; across the page boundary bytes
 * of two writers are legitimate: page X + 1 is also written alone).
 * A second run pits writers holding exclusive tree reservations against
 * readers using claims only. Negative controls (automated, below): with
 * vtlmem_claim_test_no_exclusion set, claims ignore each other, and with
 * vtlmem_claim_test_no_tree_mark set (in the second mix), claims do not
 * see the tree reservations made meanwhile; either way mixed pages must
 * be seen.
 */
/*
 * X is the last page of a claim group (16-page groups; the VTL0 base is
 * 16-page aligned): X + 1 begins the next, so the 2-page claims here lie
 * in two buckets and meet the single-page claims of X + 1 in the second.
 */
#define XPAGE 335
_Static_assert(HOSTPLAT_VTL0_BASE % (16 * PG) == 0, "XPAGE sits at a group boundary");

struct excl_worker {
	unsigned id;
	unsigned long calls, mixed, errors;
	volatile bool *stop;
	pthread_t t;
};

static bool uniform(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (b[i] != b[0])
			return false;
	return true;
}

/* The tree-against-claims mix: writers use the tree only, readers claims only. */
static bool tree_mix;

static bool tree_only(void)
{
	return __atomic_load_n(&tree_mix, __ATOMIC_RELAXED);
}

/*
 * The writers of the tree-against-claims mix: an exclusive tree reservation of
 * [x, x + 2 pages) held while page x + 1 is written in two halves, a pause
 * between them (the writes go through the direct map, as any holder of an
 * exclusive reservation may write its pages), so a claim that does not see
 * the reservation reads a page of two writers.
 */
static void tree_write(struct excl_worker *w, uint64_t x)
{
	struct vtlmem_range r = { vtlmem_pa(x), 2 * PG };
	uint8_t *dm = vtl0env_dm(E, x);
	vtlmem_resv_t h;
	volatile unsigned spin;
	int ret;

	ret = vtlmem_reserve(&E->rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &h, NULL);
	if (ret) {
		if (ret != -VTLMEM_EBUSY)
			w->errors++;
		return;
	}
	memset(dm, (int)w->id + 1, PG + PG / 2);
	for (spin = 0; spin < 100000; spin++)
		;
	memset(dm + PG + PG / 2, (int)w->id + 1, PG / 2);
	if (vtlmem_release(&E->rt, h))
		w->errors++;
}

static void *excl_writer(void *arg)
{
	struct excl_worker *w = arg;
	const struct vtlmem_physptr_attr a = { 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, 0 };
	static __thread uint8_t b[2 * PG];
	struct vtlmem_physptr p;
	uint64_t x = vtl0env_pa(XPAGE);
	size_t done;
	int ret;

	hostplat_set_cpu(w->id);
	memset(b, (int)w->id + 1, sizeof(b));
	while (!__atomic_load_n(w->stop, __ATOMIC_RELAXED)) {
		if (tree_only()) {
			tree_write(w, x);
			continue;
		}
		switch (__atomic_fetch_add(&w->calls, 1, __ATOMIC_RELAXED) % 3) {
		case 0:
			ret = vtlmem_vtl0_write(CTX, vtlmem_pa(x), b, 2 * PG, &done);
			break;
		case 1:
			ret = vtlmem_vtl0_write(CTX, vtlmem_pa(x + PG), b, PG, &done);
			break;
		default:
			ret = vtlmem_physptr_create_contig(&p, &E->rt, E->vm, vtlmem_pa(x), 2 * PG,
							   &a);
			if (ret == 0) {
				ret = vtlmem_physptr_write_slice(&p, 0, 2 * PG, b, &done);
				if (vtlmem_physptr_destroy(&p))
					w->errors++;
			}
		}
		if (ret && ret != -VTLMEM_EBUSY)
			w->errors++;
	}
	return NULL;
}

/* Bytes of one page are one writer's: [0, split) and [split, PG) each uniform. */
static bool page_parts_uniform(const uint8_t *b, size_t split)
{
	return uniform(b, split) && uniform(b + split, PG - split);
}

static void *excl_reader(void *arg)
{
	struct excl_worker *w = arg;
	const struct vtlmem_physptr_attr a = { 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, 0 };
	static __thread uint8_t b[PG];
	struct vtlmem_physptr p;
	uint64_t x = vtl0env_pa(XPAGE);
	size_t done, split;
	int ret;

	hostplat_set_cpu(w->id);
	while (!__atomic_load_n(w->stop, __ATOMIC_RELAXED)) {
		split = PG;
		/* the tree-mark control: readers through claims only */
		switch (__atomic_fetch_add(&w->calls, 1, __ATOMIC_RELAXED) % (tree_only() ? 2 : 3)) {
		case 0:
			ret = vtlmem_vtl0_read(CTX, vtlmem_pa(x + PG), b, PG, &done);
			break;
		case 1:
			ret = vtlmem_vtl0_read(CTX, vtlmem_pa(x + PG / 2), b, PG, &done);
			split = PG / 2;
			break;
		default:
			ret = vtlmem_physptr_create_contig(&p, &E->rt, E->vm, vtlmem_pa(x + PG), PG,
							   &a);
			if (ret == 0) {
				ret = vtlmem_physptr_read_slice(&p, 0, PG, b, &done);
				if (vtlmem_physptr_destroy(&p))
					w->errors++;
			}
		}
		if (ret == 0 && !page_parts_uniform(b, split))
			__atomic_fetch_add(&w->mixed, 1, __ATOMIC_RELAXED);
		else if (ret && ret != -VTLMEM_EBUSY)
			w->errors++;
	}
	return NULL;
}

/* Run 2 writers and 2 readers until calls readers' calls or mixed is seen. */
static unsigned long excl_run(unsigned long calls, double max_s, bool stop_on_mixed)
{
	struct excl_worker w[NTHREADS];
	volatile bool stop = false;
	struct timespec t0, t1;
	unsigned long mixed = 0;
	unsigned i;

	memset(vtl0env_dm(E, vtl0env_pa(XPAGE)), 9, 2 * PG);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < NTHREADS; i++) {
		w[i] = (struct excl_worker){ .id = i, .stop = &stop };
		assert_int_equal(pthread_create(&w[i].t, NULL, i < 2 ? excl_writer : excl_reader,
						&w[i]), 0);
	}
	for (;;) {
		struct timespec d = { 0, 2000000 };

		nanosleep(&d, NULL);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		mixed = __atomic_load_n(&w[2].mixed, __ATOMIC_RELAXED) +
			__atomic_load_n(&w[3].mixed, __ATOMIC_RELAXED);
		if ((stop_on_mixed && mixed) ||
		    (__atomic_load_n(&w[2].calls, __ATOMIC_RELAXED) >= calls &&
		     __atomic_load_n(&w[3].calls, __ATOMIC_RELAXED) >= calls) ||
		    (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9 > max_s)
			break;
	}
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	mixed = 0;
	for (i = 0; i < NTHREADS; i++) {
		assert_int_equal(pthread_join(w[i].t, NULL), 0);
		assert_int_equal(w[i].errors, 0);
		mixed += w[i].mixed;
	}
	return mixed;
}

static void one_shot_pages_are_never_held_by_two_writers_or_a_writer_and_a_reader(void **state)
{
	struct vtl0env_snap s;

	(void)state;
	start();
	assert_int_equal(excl_run(3000, 20.0, false), 0);
	vtl0env_snap(E, &s);
	assert_int_equal(s.rt.handles, 0);
	assert_int_equal(s.rt.intervals, 0);
	/* negative control: claims that ignore each other are caught */
	__atomic_store_n(&vtlmem_claim_test_no_exclusion, true, __ATOMIC_RELAXED);
	assert_true(excl_run(~0ul, 30.0, true) > 0);
	__atomic_store_n(&vtlmem_claim_test_no_exclusion, false, __ATOMIC_RELAXED);
	/*
	 * tree writers against claim readers: never mixed; negative control:
	 * tree reservations that do not mark the claim buckets are caught
	 * mixing with claims made meanwhile
	 */
	__atomic_store_n(&tree_mix, true, __ATOMIC_RELAXED);
	assert_int_equal(excl_run(3000, 20.0, false), 0);
	vtl0env_snap(E, &s);
	assert_int_equal(s.rt.handles, 0);
	__atomic_store_n(&vtlmem_claim_test_no_tree_mark, true, __ATOMIC_RELAXED);
	assert_true(excl_run(~0ul, 30.0, true) > 0);
	__atomic_store_n(&vtlmem_claim_test_no_tree_mark, false, __ATOMIC_RELAXED);
	__atomic_store_n(&tree_mix, false, __ATOMIC_RELAXED);
	finish();
}

/* Ring records: 16 bytes, "R", thread id, 32-bit sequence, filler. */
struct rec {
	uint8_t tag;
	uint8_t thread;
	uint8_t pad[2];
	uint32_t seq;
	uint64_t check;
};

static struct vtlmem_ring ring;
#define RECS 40                       /* ring size in records */

static void *ring_writer(void *arg)
{
	struct worker *w = arg;
	struct rec r;
	size_t done;
	uint32_t k;

	hostplat_set_cpu(w->id);
	for (k = 0; k < ITERS; k++) {
		r.tag = 'R';
		r.thread = (uint8_t)w->id;
		r.pad[0] = r.pad[1] = 0;
		r.seq = k;
		r.check = ((uint64_t)w->id << 32 | k) * 0x9e3779b97f4a7c15ull;
		if (vtlmem_ring_write(&ring, &r, sizeof(r), &done) || done != sizeof(r))
			w->errors++;
	}
	return NULL;
}

static void ring_writers_on_every_cpu_append_whole_records(void **state)
{
	vtlmem_paddr_t pg[1] = { vtl0env_page(400) };
	struct worker w[NTHREADS];
	struct rec recs[RECS];
	uint64_t head, first;
	int64_t last[NTHREADS];
	unsigned i;

	(void)state;
	start();
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 1, RECS * sizeof(struct rec)), 0);
	run_workers(w, ring_writer);
	for (i = 0; i < NTHREADS; i++)
		assert_int_equal(w[i].errors, 0);
	head = (uint64_t)NTHREADS * ITERS * sizeof(struct rec);
	assert_int_equal(vtlmem_ring_head(&ring), head);
	memcpy(&first, vtl0env_dm(E, vtl0env_pa(400)), 8);
	assert_int_equal(first, head);
	/* the last RECS records, oldest first, are whole and in per-thread order */
	memcpy(recs, vtl0env_dm(E, vtl0env_pa(400) + VTLMEM_RING_HDR_SIZE), sizeof(recs));
	for (i = 0; i < NTHREADS; i++)
		last[i] = -1;
	for (i = 0; i < RECS; i++) {
		/* head is a multiple of the ring size here: slot 0 is the oldest */
		struct rec *r = &recs[i];

		assert_int_equal(r->tag, 'R');
		assert_true(r->thread < NTHREADS);
		assert_int_equal(r->check, ((uint64_t)r->thread << 32 | r->seq) *
					   0x9e3779b97f4a7c15ull);
		assert_true((int64_t)r->seq > last[r->thread]);
		last[r->thread] = r->seq;
	}
	assert_int_equal(vtlmem_ring_fini(&ring), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	finish();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(copies_from_every_cpu_at_once_are_exact),
		cmocka_unit_test(concurrent_writers_of_one_page_win_or_get_ebusy),
		cmocka_unit_test(one_shot_pages_are_never_held_by_two_writers_or_a_writer_and_a_reader),
		cmocka_unit_test(ring_writers_on_every_cpu_append_whole_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
