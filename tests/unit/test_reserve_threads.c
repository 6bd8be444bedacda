/* SPDX-License-Identifier: MIT */
/*
 * Threaded stress of the reservation table: NTHREADS threads reserve and
 * release random page ranges (exclusive and shared, one or two ranges per
 * request) for a bounded number of operations, with allocation failures
 * injected now and then. Each page has a shadow: the id of the thread
 * holding it exclusive, and a reader count. A thread that gets an exclusive
 * reservation claims every page (atomic exchange: the old owner must be 0,
 * the reader count 0) and checks its claim is intact before it releases; a
 * shared holder counts itself in and checks no owner appears. Invariant:
 * no two live overlapping exclusive reservations, and no reader alongside
 * an exclusive one. Built plain, with ASan and with TSan.
 *
 * Two lock flavours: the platform's lock (a pthread mutex here) with
 * NTHREADS threads, and the library's ticket spinlock with at most one
 * thread per online CPU: a FIFO spinlock in user space with more runnable
 * threads than CPUs convoys behind descheduled ticket holders (a kernel
 * holds it with preemption off, which user space cannot do).
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <vtlmem/reserve.h>
#include "hostplat.h"
#include "../../src/reserve_debug.h"

#define PG        VTLMEM_PAGE_SIZE
#define NTHREADS  6
#define OPS       20000
#define NPAGES    96
#define BASE      HOSTPLAT_VTL0_BASE
#define HOLD_MAX  4
#define BIG_N     70      /* ranges of thread 0's big request (> cache) */

struct shared_state {
	struct hostplat hp;
	struct vtlmem_rtable t;
	int owner[NPAGES];              /* thread id + 1 holding it exclusive */
	int readers[NPAGES];
	unsigned long violations;
	unsigned long ok_excl, ok_shared, busy, nomem, bad_conflict;
	pthread_mutex_t mutex;          /* for the platform-lock variant */
	pthread_barrier_t start;        /* all threads begin together */
};

struct held {
	vtlmem_resv_t h;
	int mode;
	int n;
	unsigned first[2], npg[2];
};

struct worker {
	struct shared_state *s;
	int id;
	uint64_t rng;
	struct held held[HOLD_MAX];
	int nheld;
	int ops;
};

static uint64_t rnd(struct worker *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return (w->rng * 2685821657736338717ull) >> 11;
}

static void violation(struct shared_state *s)
{
	__atomic_add_fetch(&s->violations, 1, __ATOMIC_RELAXED);
}

static void count(unsigned long *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

/* Claim (or join) the pages of a fresh reservation in the shadow. */
static void claim(struct worker *w, const struct held *hd)
{
	struct shared_state *s = w->s;
	int i, p;

	for (i = 0; i < hd->n; i++) {
		for (p = (int)hd->first[i]; p < (int)(hd->first[i] + hd->npg[i]); p++) {
			if (hd->mode == VTLMEM_RES_EXCLUSIVE) {
				if (__atomic_exchange_n(&s->owner[p], w->id + 1, __ATOMIC_ACQ_REL))
					violation(s);
				if (__atomic_load_n(&s->readers[p], __ATOMIC_ACQUIRE))
					violation(s);
			} else {
				__atomic_add_fetch(&s->readers[p], 1, __ATOMIC_ACQ_REL);
				if (__atomic_load_n(&s->owner[p], __ATOMIC_ACQUIRE))
					violation(s);
			}
		}
	}
}

/* Check the claim is intact and drop it (before the release). */
static void unclaim(struct worker *w, const struct held *hd)
{
	struct shared_state *s = w->s;
	int i, p;

	for (i = 0; i < hd->n; i++) {
		for (p = (int)hd->first[i]; p < (int)(hd->first[i] + hd->npg[i]); p++) {
			if (hd->mode == VTLMEM_RES_EXCLUSIVE) {
				if (__atomic_load_n(&s->readers[p], __ATOMIC_ACQUIRE))
					violation(s);
				if (__atomic_exchange_n(&s->owner[p], 0, __ATOMIC_ACQ_REL) != w->id + 1)
					violation(s);
			} else {
				if (__atomic_load_n(&s->owner[p], __ATOMIC_ACQUIRE))
					violation(s);
				__atomic_sub_fetch(&s->readers[p], 1, __ATOMIC_ACQ_REL);
			}
		}
	}
}

/* A reported conflict must overlap a requested range and really conflict. */
static void check_conflict(struct worker *w, const struct held *hd,
			   const struct vtlmem_conflict *c)
{
	uint64_t cs = vtlmem_pa_val(c->pa), ce = cs + c->len, s, e;
	bool hit = false;
	int i;

	for (i = 0; i < hd->n; i++) {
		s = BASE + hd->first[i] * PG;
		e = s + hd->npg[i] * PG;
		hit |= cs < e && s < ce;
	}
	if (!hit || c->len == 0 ||
	    (hd->mode == VTLMEM_RES_SHARED && c->mode != VTLMEM_RES_EXCLUSIVE))
		count(&w->s->bad_conflict);
}

static void try_reserve(struct worker *w)
{
	struct shared_state *s = w->s;
	struct vtlmem_range rr[2];
	struct vtlmem_conflict c;
	struct held hd;
	int i, ret;

	hd.mode = rnd(w) % 3 ? VTLMEM_RES_SHARED : VTLMEM_RES_EXCLUSIVE;
	hd.n = 1 + (int)(rnd(w) % 4 == 0);
	hd.first[0] = (unsigned)(rnd(w) % (NPAGES / 2 - 4));
	hd.first[1] = NPAGES / 2 + (unsigned)(rnd(w) % (NPAGES / 2 - 4));
	for (i = 0; i < hd.n; i++) {
		hd.npg[i] = 1 + (unsigned)(rnd(w) % 4);
		rr[i].pa = vtlmem_pa(BASE + hd.first[i] * PG);
		rr[i].len = hd.npg[i] * PG;
	}
	ret = vtlmem_reserve(&s->t, rr, (size_t)hd.n, (enum vtlmem_rmode)hd.mode, &hd.h, &c);
	if (ret == -VTLMEM_EBUSY) {
		count(&s->busy);
		check_conflict(w, &hd, &c);
		return;
	}
	if (ret == -VTLMEM_ENOMEM) {
		count(&s->nomem);
		return;
	}
	if (ret) {
		violation(s);
		return;
	}
	count(hd.mode == VTLMEM_RES_EXCLUSIVE ? &s->ok_excl : &s->ok_shared);
	claim(w, &hd);
	for (i = 0; i < hd.n; i++) {
		if (!vtlmem_resv_covers(&s->t, hd.h, rr[i].pa, rr[i].len) ||
		    !vtlmem_is_reserved(&s->t, rr[i].pa, rr[i].len, (enum vtlmem_rmode)hd.mode))
			violation(s);
	}
	w->held[w->nheld++] = hd;
}

/*
 * Thread 0 now and then: arm an allocation failure, then ask for BIG_N
 * single pages shared, which needs more objects than the cache holds, so
 * some allocation after the arming fails (here or in another thread).
 */
static void big_request(struct worker *w)
{
	struct shared_state *s = w->s;
	struct vtlmem_range rr[BIG_N];
	struct held hd = { .mode = VTLMEM_RES_SHARED, .n = 1, .npg = { 1, 0 } };
	vtlmem_resv_t h;
	int i, ret;

	for (i = 0; i < BIG_N; i++) {
		rr[i].pa = vtlmem_pa(BASE + (uint64_t)(NPAGES - 1 - i) * PG);
		rr[i].len = PG;
	}
	__atomic_store_n(&s->hp.fail_alloc_at, 1 + (long)(rnd(w) % 8), __ATOMIC_RELAXED);
	ret = vtlmem_reserve(&s->t, rr, BIG_N, VTLMEM_RES_SHARED, &h, NULL);
	if (ret == -VTLMEM_ENOMEM || ret == -VTLMEM_EBUSY) {
		count(ret == -VTLMEM_EBUSY ? &s->busy : &s->nomem);
		return;
	}
	if (ret) {
		violation(s);
		return;
	}
	count(&s->ok_shared);
	for (i = 0; i < BIG_N; i++) {
		hd.first[0] = (unsigned)(NPAGES - 1 - i);
		claim(w, &hd);
	}
	for (i = 0; i < BIG_N; i++) {
		hd.first[0] = (unsigned)(NPAGES - 1 - i);
		unclaim(w, &hd);
	}
	if (vtlmem_release(&s->t, h))
		violation(s);
}

static void release_one(struct worker *w)
{
	int k = (int)(rnd(w) % (uint64_t)w->nheld);
	struct held hd = w->held[k];

	w->held[k] = w->held[--w->nheld];
	unclaim(w, &hd);
	if (vtlmem_release(&w->s->t, hd.h))
		violation(w->s);
	if (vtlmem_release(&w->s->t, hd.h) != -VTLMEM_ENOENT)
		violation(w->s);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int op;

	pthread_barrier_wait(&w->s->start);
	for (op = 0; op < w->ops; op++) {
		if (w->id == 0 && op % 512 == 511)
			big_request(w);
		if (w->nheld < HOLD_MAX && (w->nheld == 0 || rnd(w) % 2))
			try_reserve(w);
		else
			release_one(w);
		if (rnd(w) % 16 == 0)
			sched_yield();
	}
	while (w->nheld)
		release_one(w);
	return NULL;
}

static void pm_lock(void *ctx, struct vtlmem_lock *l)
{
	(void)ctx;
	pthread_mutex_lock(l->plat);
}

static void pm_unlock(void *ctx, struct vtlmem_lock *l)
{
	(void)ctx;
	pthread_mutex_unlock(l->plat);
}

static struct shared_state *pm_state;

static void pm_lock_init(void *ctx, struct vtlmem_lock *l)
{
	(void)ctx;
	l->plat = &pm_state->mutex;
}

static void run_stress(bool platform_lock, int nthreads, int ops)
{
	struct shared_state *s = calloc(1, sizeof(*s));
	struct worker w[NTHREADS];
	pthread_t th[NTHREADS];
	struct vtlmem_rtable_stats st;
	unsigned long total;
	int i;

	assert_non_null(s);
	hostplat_init(&s->hp, 32ull << 20);
	pthread_mutex_init(&s->mutex, NULL);
	pthread_barrier_init(&s->start, NULL, (unsigned)nthreads);
	if (platform_lock) {
		pm_state = s;
		s->hp.ops.lock_init = pm_lock_init;
		s->hp.ops.lock = pm_lock;
		s->hp.ops.unlock = pm_unlock;
	}
	assert_int_equal(vtlmem_rtable_init(&s->t, &s->hp.ops), 0);
	for (i = 0; i < nthreads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].s = s;
		w[i].id = i;
		w[i].ops = ops;
		w[i].rng = 0x1234567ull * (uint64_t)(i + 1) + 99;
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < nthreads; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);

	print_message("%d threads x %d ops: %lu exclusive, %lu shared, %lu busy, %lu nomem\n",
		      nthreads, ops, s->ok_excl, s->ok_shared, s->busy, s->nomem);
	assert_int_equal(s->violations, 0);
	assert_int_equal(s->bad_conflict, 0);
	/* The threads really contended. */
	total = (unsigned long)nthreads * (unsigned long)ops;
	assert_true(s->ok_excl > total / 20);
	assert_true(s->ok_shared > total / 10);
	assert_true(s->busy > total / 50);
	assert_true(s->nomem > 0);
	for (i = 0; i < NPAGES; i++) {
		assert_int_equal(s->owner[i], 0);
		assert_int_equal(s->readers[i], 0);
	}
	vtlmem_rtable_stats(&s->t, &st);
	assert_int_equal(st.intervals, 0);
	assert_int_equal(st.handles, 0);
	assert_int_equal(st.reserves, s->ok_excl + s->ok_shared);
	assert_int_equal(st.releases, st.reserves);
	assert_int_equal(st.conflicts, s->busy);
	assert_int_equal(vtlmem_rtable_selfcheck(&s->t), 0);
	assert_int_equal(vtlmem_rtable_fini(&s->t), 0);
	assert_int_equal(s->hp.alloc_live, 0);
	pthread_mutex_destroy(&s->mutex);
	pthread_barrier_destroy(&s->start);
	hostplat_fini(&s->hp);
	free(s);
}

static void threads_never_hold_overlapping_exclusive_with_platform_lock(void **state)
{
	(void)state;
	run_stress(true, NTHREADS, OPS);
}

static void threads_never_hold_overlapping_exclusive_with_ticket_lock(void **state)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int n = cpus < 2 ? 2 : cpus > NTHREADS ? NTHREADS : (int)cpus;

	(void)state;
	run_stress(false, n, OPS / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threads_never_hold_overlapping_exclusive_with_platform_lock),
		cmocka_unit_test(threads_never_hold_overlapping_exclusive_with_ticket_lock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
