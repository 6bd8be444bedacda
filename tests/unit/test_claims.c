/* SPDX-License-Identifier: MIT */
/*
 * Page claims (src/reserve_claim.c), single-threaded: the reservation
 * table's lock-free path for the one-shot VTL0 calls. Claims hold up to
 * VTLMEM_CLAIM_MAX_PAGES pages; pages are grouped 16 to a group, group g's
 * bucket is g mod 256 (so page P and page P + 4096 share a bucket), a
 * bucket has 6 ways. Specified here: exact conflicts both ways with tree
 * reservations (and their reports), the fall-back answer (1) whenever a
 * tree reservation may touch a bucket or a bucket is full, sharing,
 * two-bucket claims, counting, fini, the claim table's allocation.
 * The threaded exclusion test (with its negative control) is in
 * test_vtl0_threads.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vtlmem/reserve.h>
#include "hostplat.h"
#include "../../src/reserve_claim.h"
#include "../../src/reserve_debug.h"

#define PG    VTLMEM_PAGE_SIZE
#define EXCL  VTLMEM_RES_EXCLUSIVE
#define SHR   VTLMEM_RES_SHARED
#define P52   (1ull << 52)
#define CX    0x200ull            /* page number: first page of group 0x20  */
#define SAME  4096ull             /* pages apart: another group, same bucket */

struct fx {
	struct hostplat hp;
	struct vtlmem_rtable t;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	hostplat_init(&f->hp, 32ull << 20);
	f->hp.ops.pa_bits = 52;
	f->hp.vtl0_start = PG;
	f->hp.vtl0_end = P52;
	assert_int_equal(vtlmem_rtable_init(&f->t, &f->hp.ops), 0);
	assert_int_equal(vtlmem_claims_prepare(&f->t), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
	assert_int_equal(vtlmem_rtable_fini(&f->t), 0);
	assert_int_equal(f->hp.alloc_live, 0);
	assert_int_equal(f->hp.allocs, f->hp.frees);
	hostplat_fini(&f->hp);
	free(f);
	return 0;
}

static struct vtlmem_range R(uint64_t pa, uint64_t len)
{
	struct vtlmem_range r = { vtlmem_pa(pa), len };

	return r;
}

/* Claims run with preemption off (their caller's): so do these. */
static int claim(struct fx *f, uint64_t page, unsigned n, enum vtlmem_rmode m,
		 struct vtlmem_claim *c)
{
	unsigned long cookie = f->hp.ops.preempt_off(f->hp.ops.ctx);
	int ret = vtlmem_claim_pages(&f->t, page, n, m, c);

	f->hp.ops.preempt_on(f->hp.ops.ctx, cookie);
	return ret;
}

static void unclaim(struct fx *f, struct vtlmem_claim *c)
{
	unsigned long cookie = f->hp.ops.preempt_off(f->hp.ops.ctx);

	vtlmem_claim_release(c);
	f->hp.ops.preempt_on(f->hp.ops.ctx, cookie);
}

static void claims_and_tree_reservations_exclude_each_other_exactly(void **state)
{
	struct fx *f = *state;
	struct vtlmem_conflict conf = { vtlmem_pa(1), 1, SHR };
	struct vtlmem_range r = R(CX * PG + 8, 8);
	struct vtlmem_claim a, b;
	vtlmem_resv_t h;

	assert_int_equal(claim(f, CX, 1, EXCL, &a), 0);
	/* any byte of a claimed page conflicts, reported as the claim's pages */
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, SHR, &h, &conf), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_pa_val(conf.pa), CX * PG);
	assert_int_equal(conf.len, PG);
	assert_int_equal(conf.mode, EXCL);
	/* a second claim of the page: -EBUSY; of the next page: fine */
	assert_int_equal(claim(f, CX, 1, SHR, &b), -VTLMEM_EBUSY);
	assert_int_equal(claim(f, CX + 1, 1, EXCL, &b), 0);
	unclaim(f, &b);
	unclaim(f, &a);
	/* shared claims coexist with shared tree reservations */
	assert_int_equal(claim(f, CX, 2, SHR, &a), 0);
	assert_int_equal(claim(f, CX + 1, 1, SHR, &b), 0);
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, SHR, &h, NULL), 0);
	assert_int_equal(vtlmem_release(&f->t, h), 0);
	/* an exclusive one is refused, the lowest (start, end) claim reported */
	r = R((CX + 1) * PG + 100, 1);
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, EXCL, &h, &conf), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_pa_val(conf.pa), CX * PG);
	assert_int_equal(conf.len, 2 * PG);
	assert_int_equal(conf.mode, SHR);
	unclaim(f, &a);
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, EXCL, &h, &conf), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_pa_val(conf.pa), (CX + 1) * PG);
	assert_int_equal(conf.len, PG);
	unclaim(f, &b);
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, EXCL, &h, NULL), 0);
	/* a tree reservation in the group: claims of its bucket fall back (1) */
	assert_int_equal(claim(f, CX + 1, 1, SHR, &a), 1);
	assert_int_equal(claim(f, CX + 15, 1, SHR, &a), 1);
	assert_int_equal(claim(f, CX + 1 + SAME, 1, SHR, &a), 1);
	assert_int_equal(claim(f, CX - 1, 2, SHR, &a), 1);
	/* other groups' buckets are not marked */
	assert_int_equal(claim(f, CX + 16, 1, SHR, &a), 0);
	unclaim(f, &a);
	assert_int_equal(claim(f, CX - 1, 1, SHR, &a), 0);
	unclaim(f, &a);
	assert_int_equal(vtlmem_release(&f->t, h), 0);
	assert_int_equal(claim(f, CX + 1, 1, SHR, &a), 0);
	unclaim(f, &a);
	assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
}

/*
 * A request of three ranges whose second conflicts with a claim: -EBUSY,
 * that claim reported, and the marks of the ranges it had already marked
 * (the first and second) are gone again, the third was never marked: a
 * claim succeeds in each of their groups afterwards. The same request
 * without the conflict marks all three groups' buckets until released.
 */
static void a_refused_request_of_several_ranges_leaves_no_mark(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range r[3] = { R(CX * PG, PG), R((CX + 40) * PG, 2 * PG),
				     R((CX + 80) * PG, PG) };
	struct vtlmem_conflict conf = { vtlmem_pa(1), 1, SHR };
	struct vtlmem_claim a, b;
	vtlmem_resv_t h;
	int i;

	assert_int_equal(claim(f, CX + 41, 1, SHR, &a), 0);
	assert_int_equal(vtlmem_reserve(&f->t, r, 3, EXCL, &h, &conf), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_pa_val(conf.pa), (CX + 41) * PG);
	assert_int_equal(conf.len, PG);
	assert_int_equal(conf.mode, SHR);
	for (i = 0; i < 3; i++) {
		assert_int_equal(claim(f, CX + 40 * (uint64_t)i + 2, 1, EXCL, &b), 0);
		unclaim(f, &b);
	}
	unclaim(f, &a);
	assert_int_equal(vtlmem_reserve(&f->t, r, 3, EXCL, &h, &conf), 0);
	for (i = 0; i < 3; i++)
		assert_int_equal(claim(f, CX + 40 * (uint64_t)i + 2, 1, SHR, &b), 1);
	assert_int_equal(vtlmem_release(&f->t, h), 0);
	for (i = 0; i < 3; i++) {
		assert_int_equal(claim(f, CX + 40 * (uint64_t)i + 2, 1, SHR, &b), 0);
		unclaim(f, &b);
	}
}

/*
 * Exclusive one-range reservations in the table's steady state (a
 * released handle's record and node to reuse: the straight paths, with
 * the intervals in the small arrays and, past VTLMEM_RTABLE_SMALL, in the
 * tree) check and mark the claim buckets like any other: a conflicting
 * claim is reported and counted and leaves no mark; a granted one marks
 * its group until released, by the young-handle release too.
 */
static void steady_state_reservations_mark_and_check_the_claims(void **state)
{
	struct fx *f = *state;
	struct vtlmem_conflict conf;
	struct vtlmem_rtable_stats st;
	struct vtlmem_claim a, b;
	vtlmem_resv_t h, many[VTLMEM_RTABLE_SMALL + 1];
	struct vtlmem_range r;
	unsigned round, i, k;

	for (round = 0; round < 2; round++) {
		k = round ? VTLMEM_RTABLE_SMALL + 1 : 0;   /* round 1: in the tree */
		for (i = 0; i < k; i++) {
			r = R((CX + 1000 + 2 * (uint64_t)i) * PG, PG);
			assert_int_equal(vtlmem_reserve(&f->t, &r, 1, EXCL, &many[i], NULL), 0);
		}
		r = R(CX * PG, PG);   /* leave a record and a node to reuse */
		assert_int_equal(vtlmem_reserve(&f->t, &r, 1, EXCL, &h, NULL), 0);
		assert_int_equal(vtlmem_release(&f->t, h), 0);
		assert_int_equal(claim(f, CX + 3, 2, SHR, &a), 0);
		vtlmem_rtable_stats(&f->t, &st);
		r = R((CX + 4) * PG + 8, 8);
		memset(&conf, 0, sizeof(conf));
		assert_int_equal(vtlmem_reserve(&f->t, &r, 1, EXCL, &h, &conf), -VTLMEM_EBUSY);
		assert_int_equal(vtlmem_pa_val(conf.pa), (CX + 3) * PG);
		assert_int_equal(conf.len, 2 * PG);
		assert_int_equal(conf.mode, SHR);
		{
			struct vtlmem_rtable_stats st2;

			vtlmem_rtable_stats(&f->t, &st2);
			assert_int_equal(st2.conflicts, st.conflicts + 1);
			assert_int_equal(st2.handles, st.handles);
			assert_int_equal(st2.intervals, st.intervals);
			assert_int_equal(st2.objects, st.objects);
		}
		assert_int_equal(claim(f, CX + 8, 1, EXCL, &b), 0);   /* group not marked */
		unclaim(f, &b);
		unclaim(f, &a);
		assert_int_equal(vtlmem_reserve(&f->t, &r, 1, EXCL, &h, &conf), 0);
		assert_int_equal(claim(f, CX + 8, 1, SHR, &b), 1);    /* marked */
		assert_int_equal(vtlmem_release(&f->t, h), 0);
		assert_int_equal(claim(f, CX + 8, 1, SHR, &b), 0);    /* and unmarked */
		unclaim(f, &b);
		for (i = 0; i < k; i++)
			assert_int_equal(vtlmem_release(&f->t, many[i]), 0);
		assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
	}
}

/*
 * When claims and reservations both conflict with a request, the report
 * is reserve.h's: of the request's lowest-addressed conflicting range,
 * the lowest (start, end) of claims and intervals alike.
 */
static void the_conflict_reported_is_the_lowest_of_claims_and_intervals(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range lo = R(CX * PG - 8, 16), mid = R((CX + 1) * PG, 8);
	struct vtlmem_range same = R(CX * PG, PG), longer = R(CX * PG, 4 * PG);
	struct vtlmem_range far = R((CX + 64) * PG, PG), two[2];
	struct vtlmem_range r;
	struct vtlmem_conflict c;
	struct vtlmem_claim a;
	vtlmem_resv_t h1, h2, h3;

	assert_int_equal(claim(f, CX, 3, SHR, &a), 0);   /* [CX, CX + 3) shared */
	assert_int_equal(vtlmem_reserve(&f->t, &mid, 1, SHR, &h1, NULL), 0);
	r = R(CX * PG + 100, 2 * PG);                     /* both conflict: the claim is lower */
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, EXCL, &h2, &c), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_pa_val(c.pa), CX * PG);
	assert_int_equal(c.len, 3 * PG);
	assert_int_equal(c.mode, SHR);
	r = R((CX + 1) * PG, 1);
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, EXCL, &h2, &c), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_pa_val(c.pa), CX * PG);
	assert_int_equal(c.len, 3 * PG);
	/* of several ranges, the lowest-addressed one that conflicts decides */
	assert_int_equal(vtlmem_reserve(&f->t, &far, 1, EXCL, &h3, NULL), 0);   /* CX + 64 */
	two[0] = R(CX * PG + 5, 1);                    /* the claim */
	two[1] = R((CX + 64) * PG + 5, 1);             /* the interval */
	assert_int_equal(vtlmem_reserve(&f->t, two, 2, EXCL, &h2, &c), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_pa_val(c.pa), CX * PG);
	assert_int_equal(c.len, 3 * PG);
	assert_int_equal(vtlmem_release(&f->t, h3), 0);
	far = R((CX - 70) * PG, PG);
	assert_int_equal(vtlmem_reserve(&f->t, &far, 1, EXCL, &h3, NULL), 0);
	two[0] = R((CX - 70) * PG, 1);                 /* the interval */
	two[1] = R((CX + 2) * PG, 1);                  /* the claim */
	assert_int_equal(vtlmem_reserve(&f->t, two, 2, EXCL, &h2, &c), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_pa_val(c.pa), (CX - 70) * PG);
	assert_int_equal(c.len, PG);
	assert_int_equal(c.mode, EXCL);
	assert_int_equal(vtlmem_release(&f->t, h3), 0);
	assert_int_equal(vtlmem_release(&f->t, h1), 0);
	/* an interval starting lower is reported */
	assert_int_equal(vtlmem_reserve(&f->t, &lo, 1, SHR, &h1, NULL), 0);
	r = R(CX * PG - 4, 2 * PG);
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, EXCL, &h2, &c), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_pa_val(c.pa), CX * PG - 8);
	assert_int_equal(c.len, 16);
	assert_int_equal(vtlmem_release(&f->t, h1), 0);
	/* the same start: the lower end wins, interval or claim */
	assert_int_equal(vtlmem_reserve(&f->t, &same, 1, SHR, &h1, NULL), 0);
	r = R(CX * PG, 1);
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, EXCL, &h2, &c), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_pa_val(c.pa), CX * PG);
	assert_int_equal(c.len, PG);
	assert_int_equal(vtlmem_release(&f->t, h1), 0);
	assert_int_equal(vtlmem_reserve(&f->t, &longer, 1, SHR, &h1, NULL), 0);
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, EXCL, &h2, &c), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_pa_val(c.pa), CX * PG);
	assert_int_equal(c.len, 3 * PG);
	assert_int_equal(vtlmem_release(&f->t, h1), 0);
	unclaim(f, &a);
	/* nothing was left marked by the refused requests */
	assert_int_equal(claim(f, CX + 1, 1, EXCL, &a), 0);
	unclaim(f, &a);
	assert_int_equal(claim(f, CX + 64, 1, EXCL, &a), 0);
	unclaim(f, &a);
	assert_int_equal(claim(f, CX - 70, 1, EXCL, &a), 0);
	unclaim(f, &a);
}

/* Overlap, not identity: claims of different ranges sharing a page. */
static void overlapping_claims_conflict_and_adjacent_ones_do_not(void **state)
{
	struct fx *f = *state;
	struct vtlmem_claim a, b, c;

	assert_int_equal(claim(f, CX + 2, 5, EXCL, &a), 0);            /* pages 2..6 */
	assert_int_equal(claim(f, CX + 6, 1, SHR, &b), -VTLMEM_EBUSY);
	assert_int_equal(claim(f, CX, 3, SHR, &b), -VTLMEM_EBUSY);
	assert_int_equal(claim(f, CX, 17, SHR, &b), -VTLMEM_EBUSY);
	assert_int_equal(claim(f, CX, 2, EXCL, &b), 0);                 /* 0..1 */
	assert_int_equal(claim(f, CX + 7, 10, EXCL, &c), 0);            /* 7..16 */
	unclaim(f, &c);
	unclaim(f, &b);
	unclaim(f, &a);
	/* shared overlapping claims of different ranges coexist */
	assert_int_equal(claim(f, CX + 2, 5, SHR, &a), 0);
	assert_int_equal(claim(f, CX + 6, 3, SHR, &b), 0);
	assert_int_equal(claim(f, CX + 4, 1, EXCL, &c), -VTLMEM_EBUSY);
	unclaim(f, &a);
	assert_int_equal(claim(f, CX + 4, 1, EXCL, &c), 0);
	unclaim(f, &c);
	unclaim(f, &b);
}

/*
 * A claim crossing a group boundary is recorded in both buckets: it meets
 * claims and tree reservations of either group, and buckets 255 and 0
 * (the wrap of the group number) lock in address order.
 */
static void a_claim_across_two_groups_is_seen_from_both(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range r = R((CX + 16) * PG + 4, 4);
	struct vtlmem_conflict conf;
	struct vtlmem_claim a, b;
	vtlmem_resv_t h;

	assert_int_equal(claim(f, CX + 8, 17, EXCL, &a), 0);   /* groups 0x20, 0x21 */
	assert_int_equal(claim(f, CX + 24, 1, SHR, &b), -VTLMEM_EBUSY);
	assert_int_equal(claim(f, CX + 25, 1, SHR, &b), 0);
	unclaim(f, &b);
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, SHR, &h, &conf), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_pa_val(conf.pa), (CX + 8) * PG);
	assert_int_equal(conf.len, 17 * PG);
	assert_int_equal(conf.mode, EXCL);
	unclaim(f, &a);
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, SHR, &h, NULL), 0);
	assert_int_equal(vtlmem_release(&f->t, h), 0);
	/* group 255 and group 256 (bucket 0) */
	assert_int_equal(claim(f, 255 * 16 + 10, 12, SHR, &a), 0);
	assert_ptr_equal(a.b[1], a.b[0] - 255);   /* buckets 255 and 0 */
	assert_int_equal(claim(f, 256 * 16 + 1, 1, EXCL, &b), -VTLMEM_EBUSY);
	assert_int_equal(claim(f, 256 * 16 + 6, 1, EXCL, &b), 0);
	unclaim(f, &b);
	unclaim(f, &a);
}

static void a_range_over_256_groups_sends_every_claim_to_the_tree(void **state)
{
	struct fx *f = *state;
	uint64_t base = 0x10000000, pages = 256 * 16 + 1;
	struct vtlmem_range big = R(base, pages * PG), small = R(base, 256 * 16 * PG);
	struct vtlmem_conflict conf;
	struct vtlmem_claim a;
	vtlmem_resv_t h;

	/* a live claim inside the big range: the big reservation is -EBUSY */
	assert_int_equal(claim(f, base / PG + 200, 1, SHR, &a), 0);
	assert_int_equal(vtlmem_reserve(&f->t, &big, 1, EXCL, &h, &conf), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_pa_val(conf.pa), base + 200 * PG);
	assert_int_equal(vtlmem_reserve(&f->t, &big, 1, SHR, &h, NULL), 0);
	unclaim(f, &a);
	/* while it lives, every claim falls back, wherever its page is */
	assert_int_equal(claim(f, CX, 1, SHR, &a), 1);
	assert_int_equal(vtlmem_release(&f->t, h), 0);
	assert_int_equal(claim(f, CX, 1, EXCL, &a), 0);
	unclaim(f, &a);
	/* exactly 256 groups mark every bucket once: big stays 0 */
	assert_int_equal(vtlmem_reserve(&f->t, &small, 1, SHR, &h, NULL), 0);
	assert_int_equal(claim(f, CX, 1, SHR, &a), 1);
	assert_int_equal(vtlmem_release(&f->t, h), 0);
	assert_int_equal(claim(f, CX, 1, SHR, &a), 0);
	unclaim(f, &a);
}

static void claims_count_in_the_stats_and_keep_fini_busy(void **state)
{
	struct fx *f = *state;
	struct vtlmem_rtable_stats st;
	struct vtlmem_claim a, b, c, d;

	assert_int_equal(claim(f, CX, 2, SHR, &a), 0);
	assert_int_equal(claim(f, CX, 2, SHR, &b), 0);      /* a way of its own */
	assert_true(b.b[0] == a.b[0] && b.w[0] != a.w[0]);
	assert_int_equal(claim(f, CX + 15, 2, SHR, &d), 0); /* two buckets, one claim */
	assert_int_equal(claim(f, CX, 1, EXCL, &c), -VTLMEM_EBUSY);
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.handles, 3);
	assert_int_equal(st.intervals, 2);   /* [CX, CX + 2) twice (one interval), [CX + 15, CX + 17) */
	assert_int_equal(st.reserves, 3);
	assert_int_equal(st.releases, 0);
	assert_int_equal(st.conflicts, 1);
	assert_int_equal(vtlmem_rtable_fini(&f->t), -VTLMEM_EBUSY);
	unclaim(f, &a);
	unclaim(f, &b);
	unclaim(f, &d);
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.handles, 0);
	assert_int_equal(st.intervals, 0);
	assert_int_equal(st.releases, 3);
}

/*
 * A release takes no lock: it completes while another CPU holds the
 * bucket's lock, and the way is free for the next claim at once.
 */
static void a_release_is_one_store_and_takes_no_lock(void **state)
{
	struct fx *f = *state;
	struct vtlmem_claim a, b;
	struct vtlmem_cl_bucket *bk;

	assert_int_equal(claim(f, CX, 2, EXCL, &a), 0);
	bk = a.b[0];
	assert_int_equal(bk->s.e[a.w[0]].held, 1);
	cl_lock(bk);                        /* another CPU inside the bucket */
	vtlmem_claim_release(&a);           /* would spin forever if it locked */
	assert_int_equal(bk->s.lock, 1);
	assert_int_equal(bk->s.e[a.w[0]].held, 0);
	cl_unlock(bk);
	assert_int_equal(claim(f, CX, 2, EXCL, &b), 0);
	assert_int_equal(b.w[0], a.w[0]);   /* the freed way, taken again */
	unclaim(f, &b);
}

/*
 * 6 ways per bucket: a seventh claim in one bucket falls back (1), also
 * a shared claim of pages a live shared claim holds (no joining: each
 * claim's release is a store to a way of its own).
 */
static void a_full_bucket_sends_the_claim_to_the_tree(void **state)
{
	struct fx *f = *state;
	struct vtlmem_claim c[7];
	unsigned i;

	for (i = 0; i < 6; i++)
		assert_int_equal(claim(f, CX + i * SAME, 1, EXCL, &c[i]), 0);
	assert_int_equal(claim(f, CX + 6 * SAME, 1, EXCL, &c[6]), 1);
	/* a conflict is still found in a full bucket */
	assert_int_equal(claim(f, CX + 5 * SAME, 1, SHR, &c[6]), -VTLMEM_EBUSY);
	/* a shared claim of an identical range needs a way of its own too */
	unclaim(f, &c[5]);
	assert_int_equal(claim(f, CX + 5 * SAME, 3, SHR, &c[5]), 0);
	assert_int_equal(claim(f, CX + 5 * SAME, 3, SHR, &c[6]), 1);
	unclaim(f, &c[4]);
	assert_int_equal(claim(f, CX + 5 * SAME, 3, SHR, &c[6]), 0);
	assert_ptr_equal(c[6].b[0], c[5].b[0]);
	assert_int_equal(c[6].w[0], 4);   /* the way c[4] gave back */
	unclaim(f, &c[6]);
	assert_int_equal(claim(f, CX + 4 * SAME, 1, EXCL, &c[4]), 0);
	for (i = 0; i < 6; i++)
		unclaim(f, &c[i]);
	assert_int_equal(claim(f, CX + 6 * SAME, 1, EXCL, &c[6]), 0);
	unclaim(f, &c[6]);
}

/*
 * Without a claim table a claim falls back (1); vtlmem_claims_prepare
 * makes it (its allocation failure is -ENOMEM and changes nothing) and
 * marks the tree reservations already live.
 */
static void the_claim_table_is_made_by_prepare_and_marks_live_handles(void **state)
{
	struct fx *f = *state;
	struct vtlmem_rtable t;
	struct vtlmem_range r = R(CX * PG, PG);
	struct vtlmem_claim a = { { NULL, NULL }, { 0, 0 } };
	vtlmem_resv_t h;
	unsigned long cookie;
	unsigned long allocs;

	assert_int_equal(vtlmem_rtable_init(&t, &f->hp.ops), 0);
	assert_int_equal(vtlmem_reserve(&t, &r, 1, SHR, &h, NULL), 0);
	cookie = f->hp.ops.preempt_off(f->hp.ops.ctx);
	assert_int_equal(vtlmem_claim_pages(&t, CX + 1, 1, SHR, &a), 1);
	f->hp.ops.preempt_on(f->hp.ops.ctx, cookie);
	allocs = f->hp.allocs;
	f->hp.fail_alloc_at = 1;
	assert_int_equal(vtlmem_claims_prepare(&t), -VTLMEM_ENOMEM);
	assert_int_equal(f->hp.allocs, allocs);
	assert_null(t.claims);
	assert_int_equal(vtlmem_claims_prepare(&t), 0);
	assert_int_equal(vtlmem_claims_prepare(&t), 0);   /* once */
	assert_int_equal(f->hp.allocs, allocs + 1);
	cookie = f->hp.ops.preempt_off(f->hp.ops.ctx);
	assert_int_equal(vtlmem_claim_pages(&t, CX + 1, 1, SHR, &a), 1);   /* h marks it */
	assert_int_equal(vtlmem_claim_pages(&t, CX + 16, 1, SHR, &a), 0);
	vtlmem_claim_release(&a);
	f->hp.ops.preempt_on(f->hp.ops.ctx, cookie);
	assert_int_equal(vtlmem_release(&t, h), 0);
	assert_int_equal(vtlmem_rtable_fini(&t), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(claims_and_tree_reservations_exclude_each_other_exactly),
		T(overlapping_claims_conflict_and_adjacent_ones_do_not),
		T(a_refused_request_of_several_ranges_leaves_no_mark),
		T(the_conflict_reported_is_the_lowest_of_claims_and_intervals),
		T(steady_state_reservations_mark_and_check_the_claims),
		T(a_claim_across_two_groups_is_seen_from_both),
		T(a_range_over_256_groups_sends_every_claim_to_the_tree),
		T(claims_count_in_the_stats_and_keep_fini_busy),
		T(a_release_is_one_store_and_takes_no_lock),
		T(a_full_bucket_sends_the_claim_to_the_tree),
		T(the_claim_table_is_made_by_prepare_and_marks_live_handles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
