/* SPDX-License-Identifier: MIT */
/*
 * Tests for the physical-range reservation table (src/reserve.c):
 * the overlap matrix, conflict reports, multi-range atomicity, every error
 * code, allocation-failure injection at every allocation point, handle
 * liveness, address-width / wrap-around / page-0 boundaries, the queries,
 * iterate and dump output, the object cache, lock discipline, and a
 * randomized comparison against a flat-array reference model. Every case
 * runs twice: as the table comes (up to VTLMEM_RTABLE_SMALL intervals in
 * its small arrays) and with the intervals in the tree from the first one
 * (vtlmem_rtable_test_tree_only); the switch between the two has its own
 * cases.
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
#include "hostmmu_arch.h"
#include "hostplat.h"
#include "../../src/reserve_debug.h"
#include "../../src/reserve_held.h"

#define PG    VTLMEM_PAGE_SIZE
#define EXCL  VTLMEM_RES_EXCLUSIVE
#define SHR   VTLMEM_RES_SHARED
#define P52   (1ull << 52)

struct fx {
	struct hostplat hp;
	struct vtlmem_rtable t;
};

/* A table on a host platform whose VTL0 RAM is [1 page, 2^52). */
static struct fx *fx_new(void)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	hostplat_init(&f->hp, 32ull << 20);
	f->hp.ops.pa_bits = 52;   /* not the host arch's entry width (aarch64: 48) */
	f->hp.vtl0_start = PG;
	f->hp.vtl0_end = P52;
	assert_int_equal(vtlmem_rtable_init(&f->t, &f->hp.ops), 0);
	return f;
}

/* Invariants hold, the table is empty and every allocation went back. */
static void fx_done(struct fx *f)
{
	assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
	assert_int_equal(vtlmem_rtable_fini(&f->t), 0);
	assert_int_equal(f->hp.alloc_live, 0);
	assert_int_equal(f->hp.allocs, f->hp.frees);
	hostplat_fini(&f->hp);
	free(f);
}

static int setup(void **state)
{
	*state = fx_new();
	return 0;
}

static int teardown(void **state)
{
	fx_done(*state);
	return 0;
}

/*
 * The tree-only run (vtlmem_rtable_test_tree_only, set from setup to
 * teardown): of the cases with the fixture, and of those making their own.
 */
static int setup_tree(void **state)
{
	vtlmem_rtable_test_tree_only = true;
	return setup(state);
}

static int teardown_tree(void **state)
{
	int ret = teardown(state);

	vtlmem_rtable_test_tree_only = false;
	return ret;
}

static int tree_only_on(void **state)
{
	(void)state;
	vtlmem_rtable_test_tree_only = true;
	return 0;
}

static int tree_only_off(void **state)
{
	(void)state;
	vtlmem_rtable_test_tree_only = false;
	return 0;
}

static struct vtlmem_range R(uint64_t pa, uint64_t len)
{
	struct vtlmem_range r = { vtlmem_pa(pa), len };

	return r;
}

/* Reserve one range. */
static int res1(struct fx *f, uint64_t pa, uint64_t len, enum vtlmem_rmode mode,
		vtlmem_resv_t *h, struct vtlmem_conflict *c)
{
	struct vtlmem_range r = R(pa, len);

	return vtlmem_reserve(&f->t, &r, 1, mode, h, c);
}

static void rel(struct fx *f, vtlmem_resv_t h)
{
	assert_int_equal(vtlmem_release(&f->t, h), 0);
}

/* ---- table snapshots through vtlmem_rtable_iterate ----------------------- */

struct iv {
	uint64_t pa, len;
	int mode;
	uint32_t readers;
};

#define SNAP_MAX 8192
struct snap {
	size_t n;
	struct iv iv[SNAP_MAX];
};

static void snap_cb(void *arg, vtlmem_paddr_t pa, uint64_t len, enum vtlmem_rmode mode,
		    uint32_t readers)
{
	struct snap *s = arg;

	assert_true(s->n < SNAP_MAX);
	s->iv[s->n].pa = vtlmem_pa_val(pa);
	s->iv[s->n].len = len;
	s->iv[s->n].mode = (int)mode;
	s->iv[s->n].readers = readers;
	s->n++;
}

static struct snap *snap_take(struct fx *f)
{
	struct snap *s = calloc(1, sizeof(*s));
	size_t visited;

	assert_non_null(s);
	visited = vtlmem_rtable_iterate(&f->t, snap_cb, s);
	assert_int_equal(visited, s->n);
	return s;
}

static void snap_expect(const struct snap *s, const struct iv *want, size_t n)
{
	size_t i;

	assert_int_equal(s->n, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(s->iv[i].pa, want[i].pa);
		assert_int_equal(s->iv[i].len, want[i].len);
		assert_int_equal(s->iv[i].mode, want[i].mode);
		assert_int_equal(s->iv[i].readers, want[i].readers);
	}
}

/* The table's intervals are exactly want[0..n). */
static void expect_table(struct fx *f, const struct iv *want, size_t n)
{
	struct snap *s = snap_take(f);

	snap_expect(s, want, n);
	free(s);
	assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
}

/* The table is unchanged since snapshot before (intervals and counters). */
static void expect_unchanged(struct fx *f, struct snap *before,
			     const struct vtlmem_rtable_stats *st0)
{
	struct vtlmem_rtable_stats st;

	expect_table(f, before->iv, before->n);
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.intervals, st0->intervals);
	assert_int_equal(st.handles, st0->handles);
	assert_int_equal(st.reserves, st0->reserves);
	assert_int_equal(st.releases, st0->releases);
}

#define CONFLICT_POISON { vtlmem_pa(0xdeadbeef), 0x5a5a, (enum vtlmem_rmode)7 }

static void expect_conflict(const struct vtlmem_conflict *c, uint64_t pa, uint64_t len, int mode)
{
	assert_int_equal(vtlmem_pa_val(c->pa), pa);
	assert_int_equal(c->len, len);
	assert_int_equal(c->mode, mode);
}

static void expect_conflict_untouched(const struct vtlmem_conflict *c)
{
	expect_conflict(c, 0xdeadbeef, 0x5a5a, 7);
}

/* ---- the overlap matrix ---------------------------------------------------- */

/*
 * A live reservation A = [0x10000, 0x14000) in mode `held`, then a request B
 * placed relative to A in mode `want`. B overlaps A -> -EBUSY (reporting A)
 * unless both are shared; otherwise both live side by side (identical shared
 * ranges as one interval with 2 readers).
 */
#define A_PA  0x10000ull
#define A_LEN 0x4000ull

struct place {
	const char *name;
	uint64_t pa, len;
	bool overlaps;
};

static const struct place places[] = {
	{ "before",                 0x8000,  0x4000,  false },
	{ "adjacent_left",          0xc000,  0x4000,  false },
	{ "straddling_left",        0xe000,  0x4000,  true  },
	{ "straddling_left_1_byte", 0xc000,  0x4001,  true  },
	{ "inside",                 0x11000, 0x2000,  true  },
	{ "inside_1_byte",          0x13fff, 1,       true  },
	{ "exactly_equal",          A_PA,    A_LEN,   true  },
	{ "containing",             0xf000,  0x6000,  true  },
	{ "straddling_right",       0x13000, 0x3000,  true  },
	{ "straddling_right_1_byte", 0x13fff, 0x4001, true  },
	{ "adjacent_right",         0x14000, 0x4000,  false },
	{ "after",                  0x18000, 0x4000,  false },
};
#define NPLACES (sizeof(places) / sizeof(places[0]))

struct matrix_case {
	enum vtlmem_rmode held, want;
	const struct place *pl;
	char name[96];
};

static struct matrix_case matrix[4 * NPLACES];

static void overlap_matrix_case(void **state)
{
	const struct matrix_case *mc = *state;
	const struct place *pl = mc->pl;
	struct vtlmem_conflict c = CONFLICT_POISON;
	vtlmem_resv_t a, b = { .id = 77 };
	struct fx *f = fx_new();
	bool busy = pl->overlaps && (mc->held == EXCL || mc->want == EXCL);
	struct vtlmem_rtable_stats st;

	assert_int_equal(res1(f, A_PA, A_LEN, mc->held, &a, NULL), 0);
	assert_int_equal(a.id, 1);
	if (busy) {
		struct iv only[] = { { A_PA, A_LEN, (int)mc->held, 1 } };

		assert_int_equal(res1(f, pl->pa, pl->len, mc->want, &b, &c), -VTLMEM_EBUSY);
		expect_conflict(&c, A_PA, A_LEN, (int)mc->held);
		assert_int_equal(b.id, 77);
		expect_table(f, only, 1);
		vtlmem_rtable_stats(&f->t, &st);
		assert_int_equal(st.conflicts, 1);
	} else if (pl->pa == A_PA && pl->len == A_LEN) {
		struct iv one[] = { { A_PA, A_LEN, SHR, 2 } };

		assert_int_equal(res1(f, pl->pa, pl->len, mc->want, &b, &c), 0);
		expect_conflict_untouched(&c);
		assert_int_equal(b.id, 2);
		expect_table(f, one, 1);
		rel(f, b);
	} else {
		struct iv a_iv = { A_PA, A_LEN, (int)mc->held, 1 };
		struct iv b_iv = { pl->pa, pl->len, (int)mc->want, 1 };
		struct iv two[2];
		bool b_first = pl->pa < A_PA || (pl->pa == A_PA && pl->len < A_LEN);

		two[0] = b_first ? b_iv : a_iv;
		two[1] = b_first ? a_iv : b_iv;
		assert_int_equal(res1(f, pl->pa, pl->len, mc->want, &b, &c), 0);
		expect_conflict_untouched(&c);
		assert_int_equal(b.id, 2);
		expect_table(f, two, 2);
		rel(f, b);
	}
	rel(f, a);
	fx_done(f);
}

static void matrix_fill(void)
{
	static const enum vtlmem_rmode m[2] = { EXCL, SHR };
	static const char *mn[2] = { "exclusive", "shared" };
	size_t i, k = 0, p;

	for (i = 0; i < 4; i++) {
		for (p = 0; p < NPLACES; p++, k++) {
			struct matrix_case *mc = &matrix[k];
			bool busy;

			mc->held = m[i / 2];
			mc->want = m[i % 2];
			mc->pl = &places[p];
			busy = places[p].overlaps && (mc->held == EXCL || mc->want == EXCL);
			snprintf(mc->name, sizeof(mc->name), "overlap_%s_request_%s_of_live_%s_%s",
				 mn[i % 2], places[p].name, mn[i / 2], busy ? "is_busy" : "succeeds");
		}
	}
}

/* ---- conflict reports ------------------------------------------------------ */

static void conflict_reports_lowest_overlapping_interval(void **state)
{
	struct fx *f = *state;
	struct vtlmem_conflict c = CONFLICT_POISON;
	vtlmem_resv_t s1, s2, s3, x;

	/* Three overlapping shared intervals; an exclusive request over all. */
	assert_int_equal(res1(f, 0x20000, 0x3000, SHR, &s1, NULL), 0);
	assert_int_equal(res1(f, 0x21000, 0x1000, SHR, &s2, NULL), 0);
	assert_int_equal(res1(f, 0x1f000, 0x8000, SHR, &s3, NULL), 0);
	assert_int_equal(res1(f, 0x21800, 0x100, EXCL, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x1f000, 0x8000, SHR);
	assert_int_equal(res1(f, 0x26fff, 0x10, EXCL, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x1f000, 0x8000, SHR);
	rel(f, s3);
	assert_int_equal(res1(f, 0x21800, 0x100, EXCL, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x20000, 0x3000, SHR);
	rel(f, s1);
	assert_int_equal(res1(f, 0x21800, 0x100, EXCL, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x21000, 0x1000, SHR);
	rel(f, s2);
}

static void conflict_same_start_reports_shorter_interval(void **state)
{
	struct fx *f = *state;
	struct vtlmem_conflict c = CONFLICT_POISON;
	vtlmem_resv_t s1, s2, x;

	assert_int_equal(res1(f, 0x40000, 0x4000, SHR, &s1, NULL), 0);
	assert_int_equal(res1(f, 0x40000, 0x2000, SHR, &s2, NULL), 0);
	assert_int_equal(res1(f, 0x41000, 0x1, EXCL, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x40000, 0x2000, SHR);
	/* Only the longer one reaches 0x43000. */
	assert_int_equal(res1(f, 0x43000, 0x1000, EXCL, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x40000, 0x4000, SHR);
	rel(f, s1);
	rel(f, s2);
}

static void shared_request_conflicts_only_with_exclusive_neighbours(void **state)
{
	struct fx *f = *state;
	struct vtlmem_conflict c = CONFLICT_POISON;
	vtlmem_resv_t s1, s2, x1, r;

	/* Shared intervals left and right, one exclusive in the middle. */
	assert_int_equal(res1(f, 0x10000, 0x3000, SHR, &s1, NULL), 0);
	assert_int_equal(res1(f, 0x13000, 0x1000, EXCL, &x1, NULL), 0);
	assert_int_equal(res1(f, 0x14000, 0x3000, SHR, &s2, NULL), 0);
	assert_int_equal(res1(f, 0x11000, 0x5000, SHR, &r, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x13000, 0x1000, EXCL);
	rel(f, x1);
	assert_int_equal(res1(f, 0x11000, 0x5000, SHR, &r, &c), 0);
	rel(f, r);
	rel(f, s1);
	rel(f, s2);
}

static void conflict_may_be_null(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t a, b = { .id = 5 };

	assert_int_equal(res1(f, 0x10000, PG, EXCL, &a, NULL), 0);
	assert_int_equal(res1(f, 0x10000, PG, EXCL, &b, NULL), -VTLMEM_EBUSY);
	assert_int_equal(b.id, 5);
	rel(f, a);
}

static void conflict_untouched_on_other_errors(void **state)
{
	struct fx *f = *state;
	struct vtlmem_conflict c = CONFLICT_POISON;
	vtlmem_resv_t a, b;
	struct vtlmem_range rr[2] = { R(0x30000, PG), R(0x30800, PG) };

	assert_int_equal(res1(f, 0x10000, PG, EXCL, &a, NULL), 0);
	/* The cache is empty: the conflicting request fails allocating. */
	f->hp.fail_alloc_at = 1;
	assert_int_equal(res1(f, 0x10000, PG, EXCL, &b, &c), -VTLMEM_ENOMEM);
	assert_int_equal(res1(f, 0x10000, 0, EXCL, &b, &c), -VTLMEM_EINVAL);
	assert_int_equal(res1(f, 0, PG, EXCL, &b, &c), -VTLMEM_EPERM);
	assert_int_equal(vtlmem_reserve(&f->t, rr, 2, EXCL, &b, &c), -VTLMEM_EINVAL);
	expect_conflict_untouched(&c);
	rel(f, a);
}

/* ---- multi-range requests -------------------------------------------------- */

static void multi_range_request_records_every_range_in_order(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range rr[5] = {
		R(0x50000, PG), R(0x10000, 2 * PG), R(0x90000, 0x10), R(0x12000, PG),
		R(0x30000, PG),
	};
	struct iv want[5] = {
		{ 0x10000, 2 * PG, EXCL, 1 }, { 0x12000, PG, EXCL, 1 }, { 0x30000, PG, EXCL, 1 },
		{ 0x50000, PG, EXCL, 1 }, { 0x90000, 0x10, EXCL, 1 },
	};
	struct vtlmem_rtable_stats st;
	vtlmem_resv_t h;

	assert_int_equal(vtlmem_reserve(&f->t, rr, 5, EXCL, &h, NULL), 0);
	assert_int_equal(h.id, 1);
	expect_table(f, want, 5);
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.intervals, 5);
	assert_int_equal(st.handles, 1);
	/* One release drops every range. */
	rel(f, h);
	expect_table(f, NULL, 0);
}

/* The k-th of five ranges conflicts: nothing is recorded, for every k. */
static void multi_range_kth_conflict_records_nothing(void **state)
{
	struct fx *f = *state;
	static const uint64_t pas[5] = { 0x10000, 0x20000, 0x30000, 0x40000, 0x50000 };
	struct vtlmem_range rr[5];
	struct vtlmem_rtable_stats st0;
	struct snap *before;
	vtlmem_resv_t other, h;
	struct vtlmem_conflict c;
	unsigned k, i, m;

	for (m = 0; m < 2; m++) {
		enum vtlmem_rmode mode = m ? SHR : EXCL;

		for (k = 0; k < 5; k++) {
			for (i = 0; i < 5; i++)
				rr[i] = R(pas[i], 2 * PG);
			/* Someone else holds the second page of range k. */
			assert_int_equal(res1(f, pas[k] + PG, PG, EXCL, &other, NULL), 0);
			before = snap_take(f);
			vtlmem_rtable_stats(&f->t, &st0);
			h.id = 0xabc;
			assert_int_equal(vtlmem_reserve(&f->t, rr, 5, mode, &h, &c), -VTLMEM_EBUSY);
			expect_conflict(&c, pas[k] + PG, PG, EXCL);
			assert_int_equal(h.id, 0xabc);
			expect_unchanged(f, before, &st0);
			free(before);
			rel(f, other);
			assert_int_equal(vtlmem_reserve(&f->t, rr, 5, mode, &h, NULL), 0);
			rel(f, h);
		}
	}
}

static void multi_range_reports_lowest_addressed_conflicting_range(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range rr[3] = { R(0x70000, PG), R(0x20000, PG), R(0x50000, PG) };
	struct vtlmem_conflict c;
	vtlmem_resv_t a, b, h;

	assert_int_equal(res1(f, 0x70000, PG, EXCL, &a, NULL), 0);
	assert_int_equal(res1(f, 0x50000, PG, SHR, &b, NULL), 0);
	assert_int_equal(vtlmem_reserve(&f->t, rr, 3, EXCL, &h, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x50000, PG, SHR);
	assert_int_equal(vtlmem_reserve(&f->t, rr, 3, SHR, &h, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x70000, PG, EXCL);
	rel(f, a);
	rel(f, b);
}

/* A shared request joining a live interval and conflicting elsewhere. */
static void multi_range_shared_conflict_leaves_reader_counts(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range rr[2] = { R(0x10000, PG), R(0x20000, PG) };
	struct iv want[2] = { { 0x10000, PG, SHR, 1 }, { 0x20000, PG, EXCL, 1 } };
	struct iv after[2] = { { 0x10000, PG, SHR, 2 }, { 0x20000, PG, SHR, 1 } };
	struct vtlmem_conflict c;
	vtlmem_resv_t s, x, h;

	assert_int_equal(res1(f, 0x10000, PG, SHR, &s, NULL), 0);
	assert_int_equal(res1(f, 0x20000, PG, EXCL, &x, NULL), 0);
	assert_int_equal(vtlmem_reserve(&f->t, rr, 2, SHR, &h, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x20000, PG, EXCL);
	expect_table(f, want, 2);
	rel(f, x);
	assert_int_equal(vtlmem_reserve(&f->t, rr, 2, SHR, &h, &c), 0);
	expect_table(f, after, 2);
	rel(f, s);
	rel(f, h);
}

static void multi_range_adjacent_ranges_are_allowed(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range rr[3] = { R(0x11000, PG), R(0x10000, PG), R(0x12000, 1) };
	struct iv want[3] = {
		{ 0x10000, PG, SHR, 1 }, { 0x11000, PG, SHR, 1 }, { 0x12000, 1, SHR, 1 },
	};
	vtlmem_resv_t h;

	assert_int_equal(vtlmem_reserve(&f->t, rr, 3, SHR, &h, NULL), 0);
	expect_table(f, want, 3);
	assert_true(vtlmem_resv_covers(&f->t, h, vtlmem_pa(0x10000), 2 * PG + 1));
	rel(f, h);
}

/* Ranges of one request that overlap each other: -EINVAL, either mode. */
static void multi_range_overlapping_ranges_are_invalid(void **state)
{
	struct fx *f = *state;
	static const struct vtlmem_range bad[][3] = {
		{ { { 0x10000 }, PG }, { { 0x10000 }, PG }, { { 0x90000 }, PG } },  /* equal */
		{ { { 0x10000 }, PG }, { { 0x90000 }, PG }, { { 0x10fff }, 2 } },   /* 1 byte */
		{ { { 0x10800 }, 1 }, { { 0x90000 }, PG }, { { 0x10000 }, PG } },   /* inside */
		{ { { 0x90000 }, PG }, { { 0x0f000 }, 3 * PG }, { { 0x10000 }, PG } },
		{ { { 0x90000 }, PG }, { { 0x20000 }, PG }, { { 0x1f000 }, 0x1001 } },
	};
	struct vtlmem_conflict c = CONFLICT_POISON;
	unsigned long calls;
	vtlmem_resv_t h = { .id = 9 };
	size_t i, m;

	for (m = 0; m < 2; m++) {
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			calls = f->hp.ownership_calls;
			assert_int_equal(vtlmem_reserve(&f->t, bad[i], 3, m ? SHR : EXCL, &h, &c),
					 -VTLMEM_EINVAL);
			/* Each range passed validation first. */
			assert_int_equal(f->hp.ownership_calls, calls + 3);
			assert_int_equal(h.id, 9);
			expect_conflict_untouched(&c);
			expect_table(f, NULL, 0);
		}
	}
}

/* A request's own overlap is found among many ranges (scratch tree). */
static void multi_range_overlap_found_among_many(void **state)
{
	struct fx *f = *state;
	enum { N = 600 };
	struct vtlmem_range *rr = calloc(N, sizeof(*rr));
	vtlmem_resv_t h;
	size_t i;

	assert_non_null(rr);
	for (i = 0; i < N; i++)   /* descending, disjoint pages */
		rr[i] = R(0x100000 + (N - i) * 2 * PG, PG);
	assert_int_equal(vtlmem_reserve(&f->t, rr, N, EXCL, &h, NULL), 0);
	assert_true(vtlmem_resv_covers(&f->t, h, vtlmem_pa(0x100000 + 2 * PG), PG));
	assert_false(vtlmem_resv_covers(&f->t, h, vtlmem_pa(0x100000 + 3 * PG), PG));
	rel(f, h);
	rr[N - 1] = R(0x100000 + 300 * 2 * PG + PG - 1, 2);  /* last overlaps one */
	assert_int_equal(vtlmem_reserve(&f->t, rr, N, EXCL, &h, NULL), -VTLMEM_EINVAL);
	expect_table(f, NULL, 0);
	free(rr);
}

/* ---- error codes ----------------------------------------------------------- */

static void init_rejects_null_and_missing_allocator(void **state)
{
	struct fx *f = *state;
	struct vtlmem_platform p = f->hp.ops;
	struct vtlmem_rtable t;

	assert_int_equal(vtlmem_rtable_init(NULL, &p), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_rtable_init(&t, NULL), -VTLMEM_EINVAL);
	p.alloc = NULL;
	assert_int_equal(vtlmem_rtable_init(&t, &p), -VTLMEM_ENOSYS);
	p = f->hp.ops;
	p.free = NULL;
	assert_int_equal(vtlmem_rtable_init(&t, &p), -VTLMEM_ENOSYS);
}

static void init_allocates_nothing_and_starts_empty(void **state)
{
	struct fx *f = *state;
	struct vtlmem_rtable_stats st;

	memset(&st, 0xff, sizeof(st));
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.intervals, 0);
	assert_int_equal(st.handles, 0);
	assert_int_equal(st.cached, 0);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.reserves, 0);
	assert_int_equal(st.releases, 0);
	assert_int_equal(st.conflicts, 0);
	assert_int_equal(f->hp.allocs, 0);
	assert_int_equal(vtlmem_rtable_iterate(&f->t, snap_cb, NULL), 0);
}

static void reserve_rejects_bad_arguments(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range r = R(0x10000, PG);
	vtlmem_resv_t h = { .id = 3 };

	assert_int_equal(vtlmem_reserve(NULL, &r, 1, EXCL, &h, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_reserve(&f->t, NULL, 1, EXCL, &h, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, EXCL, NULL, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_reserve(&f->t, &r, 0, EXCL, &h, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_reserve(&f->t, &r, VTLMEM_RESV_MAX_RANGES + 1, EXCL, &h, NULL),
			 -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_reserve(&f->t, &r, SIZE_MAX, EXCL, &h, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, (enum vtlmem_rmode)2, &h, NULL),
			 -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_reserve(&f->t, &r, 1, (enum vtlmem_rmode)-1, &h, NULL),
			 -VTLMEM_EINVAL);
	assert_int_equal(h.id, 3);
	/* Argument errors come before any platform call. */
	assert_int_equal(f->hp.ownership_calls, 0);
	assert_int_equal(f->hp.allocs, 0);
	expect_table(f, NULL, 0);
}

static void reserve_accepts_max_ranges(void **state)
{
	struct fx *f = *state;
	size_t n = VTLMEM_RESV_MAX_RANGES, i;
	struct vtlmem_range *rr = calloc(n, sizeof(*rr));
	struct vtlmem_rtable_stats st;
	vtlmem_resv_t h;

	assert_non_null(rr);
	for (i = 0; i < n; i++)
		rr[i] = R(PG * (i + 1), PG);
	assert_int_equal(vtlmem_reserve(&f->t, rr, n, EXCL, &h, NULL), 0);
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.intervals, n);
	/* n nodes + 1 handle + (n - 3 + 8) / 9 ref blocks. */
	assert_int_equal(st.objects, n + 1 + (n + 5) / 9);
	assert_int_equal(f->hp.alloc_live, n + 1 + (n + 5) / 9);
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(PG), n * PG, EXCL));
	assert_true(vtlmem_resv_covers(&f->t, h, vtlmem_pa(PG), n * PG));
	assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
	rel(f, h);
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.cached, VTLMEM_RTABLE_CACHE);
	assert_int_equal(st.retired, 1);                  /* the handle's record */
	assert_int_equal(st.objects, VTLMEM_RTABLE_CACHE + 1);
	assert_int_equal(f->hp.alloc_live, VTLMEM_RTABLE_CACHE + 1);
	free(rr);
}

/* Each validation error, in vtlmem_check_range order, and no change. */
static void reserve_validates_each_range(void **state)
{
	struct fx *f = *state;
	struct vtlmem_conflict c = CONFLICT_POISON;
	vtlmem_resv_t h = { .id = 11 };

	assert_int_equal(res1(f, 0x10000, 0, EXCL, &h, &c), -VTLMEM_EINVAL);
	assert_int_equal(res1(f, UINT64_MAX - PG + 1, 2 * PG, EXCL, &h, &c), -VTLMEM_EOVERFLOW);
	assert_int_equal(res1(f, P52, PG, EXCL, &h, &c), -VTLMEM_ERANGE);
	assert_int_equal(res1(f, 0, PG, EXCL, &h, &c), -VTLMEM_EPERM);
	hostplat_add_secure(&f->hp, 0x40000, PG);
	assert_int_equal(res1(f, 0x3f000, 0x1001, EXCL, &h, &c), -VTLMEM_EPERM);
	assert_int_equal(h.id, 11);
	expect_conflict_untouched(&c);
	assert_int_equal(f->hp.allocs, 0);
	expect_table(f, NULL, 0);
}

/* The first bad range in array order decides; later ones are not looked at. */
static void reserve_reports_first_bad_range_in_array_order(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range a[3] = { R(0x10000, PG), R(0x20000, 0), R(UINT64_MAX, 2) };
	struct vtlmem_range b[3] = { R(0x10000, PG), R(UINT64_MAX, 2), R(0x20000, 0) };
	struct vtlmem_range c[2] = { R(0x10000, PG), R(P52 - 1, 2) };
	struct vtlmem_range d[2] = { R(0x10000, PG), R(0x20000, PG) };
	vtlmem_resv_t h;

	assert_int_equal(vtlmem_reserve(&f->t, a, 3, EXCL, &h, NULL), -VTLMEM_EINVAL);
	assert_int_equal(f->hp.ownership_calls, 1);
	assert_int_equal(vtlmem_reserve(&f->t, b, 3, EXCL, &h, NULL), -VTLMEM_EOVERFLOW);
	assert_int_equal(f->hp.ownership_calls, 2);
	assert_int_equal(vtlmem_reserve(&f->t, c, 2, SHR, &h, NULL), -VTLMEM_ERANGE);
	assert_int_equal(f->hp.ownership_calls, 3);
	hostplat_add_secure(&f->hp, 0x20fff, 1);
	assert_int_equal(vtlmem_reserve(&f->t, d, 2, SHR, &h, NULL), -VTLMEM_EPERM);
	assert_int_equal(f->hp.ownership_calls, 5);
	expect_table(f, NULL, 0);
}

static void reserve_without_ownership_op_is_denied(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t h;

	f->hp.ops.ownership = NULL;
	assert_int_equal(res1(f, 0x10000, PG, EXCL, &h, NULL), -VTLMEM_EPERM);
	assert_int_equal(res1(f, 0x10000, PG, SHR, &h, NULL), -VTLMEM_EPERM);
	expect_table(f, NULL, 0);
}

static void reserve_next_to_secure_range_is_fine(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t a, b;

	hostplat_add_secure(&f->hp, 0x40000, PG);
	assert_int_equal(res1(f, 0x3f000, PG, EXCL, &a, NULL), 0);
	assert_int_equal(res1(f, 0x41000, PG, EXCL, &b, NULL), 0);
	assert_int_equal(res1(f, 0x40fff, 1, SHR, &b, NULL), -VTLMEM_EPERM);
	assert_int_equal(res1(f, 0x40000, 1, SHR, &b, NULL), -VTLMEM_EPERM);
	rel(f, a);
	rel(f, b);
}

/* Validation errors take precedence over conflicts. */
static void reserve_validation_precedes_conflict(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range rr[2] = { R(0x10000, PG), R(P52, PG) };
	struct vtlmem_conflict c = CONFLICT_POISON;
	vtlmem_resv_t a, h;

	assert_int_equal(res1(f, 0x10000, PG, EXCL, &a, NULL), 0);
	assert_int_equal(vtlmem_reserve(&f->t, rr, 2, EXCL, &h, &c), -VTLMEM_ERANGE);
	expect_conflict_untouched(&c);
	rel(f, a);
}

/* -ENOMEM comes before the request's own overlap and before conflicts. */
static void reserve_allocation_failure_precedes_overlap_and_conflict(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range rr[2] = { R(0x10000, PG), R(0x10000, PG) };
	struct vtlmem_conflict c = CONFLICT_POISON;
	vtlmem_resv_t a, h;

	f->hp.fail_alloc_at = 1;
	assert_int_equal(vtlmem_reserve(&f->t, rr, 2, EXCL, &h, &c), -VTLMEM_ENOMEM);
	assert_int_equal(vtlmem_reserve(&f->t, rr, 2, EXCL, &h, &c), -VTLMEM_EINVAL);
	assert_int_equal(res1(f, 0x10000, PG, EXCL, &a, NULL), 0);
	/* The cache holds 1 object; a 2-range request needs 3. */
	f->hp.fail_alloc_at = 1;
	rr[1] = R(0x20000, PG);
	assert_int_equal(vtlmem_reserve(&f->t, rr, 2, EXCL, &h, &c), -VTLMEM_ENOMEM);
	expect_conflict_untouched(&c);
	rel(f, a);
}

static void reserve_fails_with_enospc_when_ids_run_out(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t a, b = { .id = 4 };

	f->t.next_id = UINT64_MAX;
	assert_int_equal(res1(f, 0x10000, PG, EXCL, &a, NULL), 0);
	assert_int_equal(a.id, UINT64_MAX);
	assert_int_equal(res1(f, 0x20000, PG, EXCL, &b, NULL), -VTLMEM_ENOSPC);
	assert_int_equal(b.id, 4);
	assert_int_equal(res1(f, 0x20000, PG, SHR, &b, NULL), -VTLMEM_ENOSPC);
	{
		struct iv only[] = { { 0x10000, PG, EXCL, 1 } };

		expect_table(f, only, 1);
	}
	rel(f, a);
	assert_int_equal(vtlmem_release(&f->t, a), -VTLMEM_ENOENT);
}

static void release_rejects_null_table(void **state)
{
	(void)state;
	assert_int_equal(vtlmem_release(NULL, (vtlmem_resv_t){ .id = 1 }), -VTLMEM_EINVAL);
}

static void release_twice_is_enoent_and_changes_nothing(void **state)
{
	struct fx *f = *state;
	struct vtlmem_rtable_stats st0;
	vtlmem_resv_t a, b;
	struct snap *before;

	assert_int_equal(res1(f, 0x10000, PG, SHR, &a, NULL), 0);
	assert_int_equal(res1(f, 0x10000, PG, SHR, &b, NULL), 0);
	rel(f, a);
	before = snap_take(f);
	vtlmem_rtable_stats(&f->t, &st0);
	assert_int_equal(vtlmem_release(&f->t, a), -VTLMEM_ENOENT);
	assert_int_equal(vtlmem_release(&f->t, a), -VTLMEM_ENOENT);
	expect_unchanged(f, before, &st0);
	{
		struct iv one[] = { { 0x10000, PG, SHR, 1 } };

		expect_table(f, one, 1);
	}
	free(before);
	rel(f, b);
	assert_int_equal(vtlmem_release(&f->t, b), -VTLMEM_ENOENT);
}

static void release_of_id_zero_or_never_issued_is_enoent(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t a;

	assert_int_equal(vtlmem_release(&f->t, (vtlmem_resv_t){ 0 }), -VTLMEM_ENOENT);
	assert_int_equal(vtlmem_release(&f->t, (vtlmem_resv_t){ .id = 1 }), -VTLMEM_ENOENT);
	assert_int_equal(res1(f, 0x10000, PG, EXCL, &a, NULL), 0);
	assert_int_equal(vtlmem_release(&f->t, (vtlmem_resv_t){ 0 }), -VTLMEM_ENOENT);
	assert_int_equal(vtlmem_release(&f->t, (vtlmem_resv_t){ .id = 2 }), -VTLMEM_ENOENT);
	assert_int_equal(vtlmem_release(&f->t, (vtlmem_resv_t){ .id = UINT64_MAX }), -VTLMEM_ENOENT);
	{
		struct iv one[] = { { 0x10000, PG, EXCL, 1 } };

		expect_table(f, one, 1);
	}
	rel(f, a);
}

static void ids_are_never_reused(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t h;
	uint64_t i;

	for (i = 1; i <= 100; i++) {
		assert_int_equal(res1(f, 0x10000, PG, i & 1 ? SHR : EXCL, &h, NULL), 0);
		assert_int_equal(h.id, i);
		rel(f, h);
	}
	/* Failed requests consume no id. */
	assert_int_equal(res1(f, 0x10000, 0, EXCL, &h, NULL), -VTLMEM_EINVAL);
	assert_int_equal(res1(f, 0x10000, PG, EXCL, &h, NULL), 0);
	assert_int_equal(h.id, 101);
	rel(f, h);
}

/* fini(NULL) is -EINVAL (reserve.h) and leaves every table alone. */
static void fini_of_a_null_table_is_einval(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t a;

	assert_int_equal(res1(f, 0x10000, PG, EXCL, &a, NULL), 0);
	assert_int_equal(vtlmem_rtable_fini(NULL), -VTLMEM_EINVAL);
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), PG, EXCL));
	rel(f, a);
}

static void fini_refuses_live_handles(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t a;

	assert_int_equal(vtlmem_rtable_fini(NULL), -VTLMEM_EINVAL);
	assert_int_equal(res1(f, 0x10000, PG, EXCL, &a, NULL), 0);
	assert_int_equal(vtlmem_rtable_fini(&f->t), -VTLMEM_EBUSY);
	assert_int_equal(f->hp.alloc_live, 2);
	{
		struct iv one[] = { { 0x10000, PG, EXCL, 1 } };

		expect_table(f, one, 1);
	}
	rel(f, a);
}

/*
 * Issue 14: a request that fails validation after its objects were
 * allocated (100 ranges, two of them overlapping: -EINVAL) gives them back:
 * the table's stats and the platform's allocations are as before.
 */
static void a_failed_reserve_leaves_the_cache_and_the_allocator_as_before(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range rr[100];
	struct vtlmem_rtable_stats st0, st;
	vtlmem_resv_t h = { .id = 0x77 };
	long live = f->hp.alloc_live;
	unsigned i;

	for (i = 0; i < 100; i++)
		rr[i] = R(0x100000 + 2 * i * PG, PG);
	rr[60] = R(0x100000 + 2 * 7 * PG, 2 * PG);     /* overlaps range 7 */
	vtlmem_rtable_stats(&f->t, &st0);
	assert_int_equal(vtlmem_reserve(&f->t, rr, 100, EXCL, &h, NULL), -VTLMEM_EINVAL);
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(h.id, 0x77);
	assert_int_equal(st0.cached, 0);
	assert_int_equal(st.cached, 0);
	assert_int_equal(st.objects, 0);
	assert_int_equal(st.retired, 0);
	assert_int_equal(st.handles, 0);
	assert_int_equal(f->hp.alloc_live, live);
	assert_true(f->hp.allocs > 100);                /* it had allocated them */
	assert_int_equal(f->hp.allocs, f->hp.frees);
	assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
}

/*
 * The retired record another reserve takes while this one has the lock
 * dropped to allocate: the retired record was counted as this request's
 * handle, so the request must gather one object more after re-locking.
 * (A race test_vmap_threads hit: the pool ran dry and pool_pop read NULL.)
 * The "other CPU" is a reserve made from inside the platform's alloc op,
 * which the table calls with its lock dropped.
 */
static struct fx *steal_fx;
static vtlmem_resv_t stolen;
static void *(*real_alloc)(void *ctx, size_t size);

static void *alloc_and_steal(void *ctx, size_t size)
{
	struct fx *f = steal_fx;

	steal_fx = NULL;
	if (f)
		assert_int_equal(res1(f, 0x80000, PG, EXCL, &stolen, NULL), 0);
	return real_alloc(ctx, size);
}

static void a_retired_record_taken_while_the_lock_is_dropped_is_replaced(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range two[2] = { R(0x10000, PG), R(0x20000, PG) };
	struct vtlmem_rtable_stats st;
	vtlmem_resv_t a, b;

	assert_int_equal(res1(f, 0x10000, PG, EXCL, &a, NULL), 0);
	rel(f, a);                          /* retired 1, cached 1 (the node) */
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.retired, 1);
	assert_int_equal(st.cached, 1);
	real_alloc = f->hp.ops.alloc;
	f->hp.ops.alloc = alloc_and_steal;
	steal_fx = f;
	assert_int_equal(vtlmem_reserve(&f->t, two, 2, EXCL, &b, NULL), 0);
	f->hp.ops.alloc = real_alloc;
	assert_null(steal_fx);              /* the steal happened */
	assert_ptr_equal(stolen.rec, a.rec);
	assert_ptr_not_equal(b.rec, a.rec);
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), PG, EXCL));
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x20000), PG, EXCL));
	assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
	rel(f, b);
	rel(f, stolen);
}

/*
 * fini gives back the cached node and the retired handle record; a re-init
 * of the same struct continues the ids (issue 14: ids are never reused),
 * so a handle released before the fini cannot release a new reservation.
 */
static void fini_frees_cache_and_table_can_be_reinitialised(void **state)
{
	struct fx *f = *state;
	struct vtlmem_rtable_stats st;
	vtlmem_resv_t a, old;

	assert_int_equal(res1(f, 0x10000, PG, EXCL, &a, NULL), 0);
	assert_int_equal(a.id, 1);
	old = a;
	rel(f, a);
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.cached, 1);
	assert_int_equal(st.retired, 1);
	assert_int_equal(f->hp.alloc_live, 2);
	assert_int_equal(vtlmem_rtable_fini(&f->t), 0);
	assert_int_equal(f->hp.alloc_live, 0);
	assert_int_equal(vtlmem_rtable_init(&f->t, &f->hp.ops), 0);
	assert_int_equal(res1(f, 0x20000, PG, EXCL, &a, NULL), 0);
	assert_int_equal(a.id, 2);
	assert_int_equal(vtlmem_release(&f->t, (vtlmem_resv_t){ .id = old.id }), -VTLMEM_ENOENT);
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x20000), PG, EXCL));
	assert_int_equal(vtlmem_rtable_fini(&f->t), -VTLMEM_EBUSY);
	rel(f, a);
	/* and again: three inits of one struct, no id twice */
	assert_int_equal(vtlmem_rtable_fini(&f->t), 0);
	assert_int_equal(vtlmem_rtable_init(&f->t, &f->hp.ops), 0);
	assert_int_equal(res1(f, 0x20000, PG, EXCL, &a, NULL), 0);
	assert_int_equal(a.id, 3);
	rel(f, a);
}

static void resv_mode_reports_mode_of_live_handle(void **state)
{
	struct fx *f = *state;
	enum vtlmem_rmode m = (enum vtlmem_rmode)9;
	vtlmem_resv_t a, b;

	assert_int_equal(res1(f, 0x10000, PG, EXCL, &a, NULL), 0);
	assert_int_equal(res1(f, 0x20000, PG, SHR, &b, NULL), 0);
	assert_int_equal(vtlmem_resv_mode(&f->t, a, &m), 0);
	assert_int_equal(m, EXCL);
	assert_int_equal(vtlmem_resv_mode(&f->t, b, &m), 0);
	assert_int_equal(m, SHR);
	assert_int_equal(vtlmem_resv_mode(NULL, a, &m), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_resv_mode(&f->t, a, NULL), -VTLMEM_EINVAL);
	rel(f, a);
	m = (enum vtlmem_rmode)9;
	assert_int_equal(vtlmem_resv_mode(&f->t, a, &m), -VTLMEM_ENOENT);
	assert_int_equal(vtlmem_resv_mode(&f->t, (vtlmem_resv_t){ 0 }, &m), -VTLMEM_ENOENT);
	assert_int_equal(m, 9);
	rel(f, b);
}

/* ---- allocation failure at every allocation point -------------------------- */

struct inj {
	void (*prep)(struct fx *f, vtlmem_resv_t *held, size_t *nheld);
	const struct vtlmem_range *rr;
	size_t n;
	enum vtlmem_rmode mode;
	unsigned long need;       /* platform allocations the request makes */
};

/*
 * For i = 1 .. need: on a fresh table prepared by prep, fail the i-th
 * allocation: -ENOMEM, table unchanged, the objects already allocated are
 * accounted for (cached), nothing leaks at fini. With i = need + 1 the
 * request succeeds after exactly need allocations.
 */
static void inject_every_allocation(const struct inj *c)
{
	struct vtlmem_rtable_stats st0, st;
	struct vtlmem_conflict cf = CONFLICT_POISON;
	vtlmem_resv_t held[8], h;
	unsigned long i, allocs0;
	size_t nheld, k;
	struct snap *before;
	struct fx *f;
	int ret;

	for (i = 1; i <= c->need + 1; i++) {
		f = fx_new();
		nheld = 0;
		if (c->prep)
			c->prep(f, held, &nheld);
		before = snap_take(f);
		vtlmem_rtable_stats(&f->t, &st0);
		allocs0 = f->hp.allocs;
		f->hp.fail_alloc_at = (long)i;
		h.id = 0x77;
		ret = vtlmem_reserve(&f->t, c->rr, c->n, c->mode, &h, &cf);
		vtlmem_rtable_stats(&f->t, &st);
		if (i <= c->need) {
			assert_int_equal(ret, -VTLMEM_ENOMEM);
			assert_int_equal(h.id, 0x77);
			expect_conflict_untouched(&cf);
			expect_unchanged(f, before, &st0);
			assert_int_equal(f->hp.alloc_fails, 1);
			assert_int_equal(f->hp.allocs - allocs0, i - 1);
			/* what it allocated went back (issue 14): nothing cached */
			assert_int_equal(st.cached, st0.cached);
			assert_int_equal(st.objects, st0.objects);
		} else {
			assert_int_equal(ret, 0);
			assert_int_equal(f->hp.alloc_fails, 0);
			assert_int_equal(f->hp.allocs - allocs0, c->need);
			f->hp.fail_alloc_at = 0;
			held[nheld++] = h;
		}
		assert_int_equal(st.objects, (uint64_t)f->hp.alloc_live);
		assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
		for (k = 0; k < nheld; k++)
			rel(f, held[k]);
		free(before);
		fx_done(f);
	}
}

static void prep_shared_live(struct fx *f, vtlmem_resv_t *held, size_t *nheld)
{
	assert_int_equal(res1(f, 0x10000, 4 * PG, SHR, &held[(*nheld)++], NULL), 0);
	assert_int_equal(res1(f, 0x80000, PG, EXCL, &held[(*nheld)++], NULL), 0);
}

static void prep_warm_cache_of_two(struct fx *f, vtlmem_resv_t *held, size_t *nheld)
{
	vtlmem_resv_t h;

	(void)held;
	(void)nheld;
	assert_int_equal(res1(f, 0x10000, PG, EXCL, &h, NULL), 0);
	rel(f, h);
}

static const struct vtlmem_range one_range[1] = { { { 0x10000 }, 4 * PG } };
static const struct vtlmem_range four_ranges[4] = {
	{ { 0x30000 }, PG }, { { 0x10000 }, PG }, { { 0x50000 }, PG }, { { 0x11000 }, PG },
};
static const struct vtlmem_range thirteen_ranges[13] = {
	{ { 0x10000 }, PG }, { { 0x12000 }, PG }, { { 0x14000 }, PG }, { { 0x16000 }, PG },
	{ { 0x18000 }, PG }, { { 0x1a000 }, PG }, { { 0x1c000 }, PG }, { { 0x1e000 }, PG },
	{ { 0x20000 }, PG }, { { 0x22000 }, PG }, { { 0x24000 }, PG }, { { 0x26000 }, PG },
	{ { 0x28000 }, PG },
};

static void alloc_failure_single_range_on_empty_table(void **state)
{
	struct inj c = { NULL, one_range, 1, EXCL, 2 };   /* node, handle */

	(void)state;
	inject_every_allocation(&c);
}

static void alloc_failure_shared_range_joining_live_interval(void **state)
{
	/* The new node is allocated, then cached when the range joins. */
	struct inj c = { prep_shared_live, one_range, 1, SHR, 2 };

	(void)state;
	inject_every_allocation(&c);
}

static void alloc_failure_four_ranges_with_ref_block(void **state)
{
	struct inj c = { NULL, four_ranges, 4, EXCL, 4 + 1 + 1 };

	(void)state;
	inject_every_allocation(&c);
}

static void alloc_failure_thirteen_ranges_with_two_ref_blocks(void **state)
{
	struct inj c = { prep_shared_live, thirteen_ranges, 13, SHR, 13 + 1 + 2 };

	(void)state;
	inject_every_allocation(&c);
}

static void alloc_failure_with_partly_warm_cache(void **state)
{
	struct inj c = { prep_warm_cache_of_two, four_ranges, 4, SHR, 6 - 2 };

	(void)state;
	inject_every_allocation(&c);
}

/* ---- address boundaries ---------------------------------------------------- */

static void range_may_end_exactly_at_2_pow_52(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t a, b;

	assert_int_equal(res1(f, P52 - PG, PG, EXCL, &a, NULL), 0);
	assert_int_equal(res1(f, P52 - PG, PG + 1, SHR, &b, NULL), -VTLMEM_ERANGE);
	assert_int_equal(res1(f, P52 - 1, 2, SHR, &b, NULL), -VTLMEM_ERANGE);
	assert_int_equal(res1(f, P52, 1, SHR, &b, NULL), -VTLMEM_ERANGE);
	assert_int_equal(res1(f, P52 - PG - 1, 1, SHR, &b, NULL), 0);
	assert_int_equal(res1(f, P52 - 1, 1, SHR, &b, NULL), -VTLMEM_EBUSY);
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(P52 - PG), PG, EXCL));
	{
		struct iv want[] = { { P52 - PG - 1, 1, SHR, 1 }, { P52 - PG, PG, EXCL, 1 } };

		expect_table(f, want, 2);
	}
	rel(f, a);
	rel(f, b);
}

static void pa_bits_limits_the_address_width(void **state)
{
	struct fx *f = *state;
	uint64_t top = 1ull << 40;
	vtlmem_resv_t a, b;

	f->hp.ops.pa_bits = 40;
	assert_int_equal(res1(f, top - PG, PG, EXCL, &a, NULL), 0);
	assert_int_equal(res1(f, top - PG, PG + 1, EXCL, &b, NULL), -VTLMEM_ERANGE);
	assert_int_equal(res1(f, top, PG, EXCL, &b, NULL), -VTLMEM_ERANGE);
	rel(f, a);
	/* 0 means VTLMEM_DEFAULT_PA_BITS: what the target's entries hold */
	f->hp.ops.pa_bits = 0;
	assert_int_equal(VTLMEM_DEFAULT_PA_BITS, HMMU_PA_BITS);
	assert_int_equal(res1(f, top, PG, EXCL, &a, NULL), 0);
	assert_int_equal(res1(f, (1ull << VTLMEM_DEFAULT_PA_BITS) - 1, 2, EXCL, &b, NULL),
			 -VTLMEM_ERANGE);
	assert_int_equal(res1(f, (1ull << VTLMEM_DEFAULT_PA_BITS) - PG, PG, EXCL, &b, NULL), 0);
	rel(f, b);
	rel(f, a);
}

static void pa_bits_64_allows_the_whole_space_below_2_pow_64(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t a, b;

	f->hp.ops.pa_bits = 64;
	f->hp.vtl0_end = UINT64_MAX;
	assert_int_equal(res1(f, UINT64_MAX - PG, PG, EXCL, &a, NULL), 0);
	/* Ending exactly at 2^64 does not wrap, but no end reaches 2^64: -ERANGE. */
	assert_int_equal(res1(f, UINT64_MAX - PG + 1, PG, EXCL, &b, NULL), -VTLMEM_ERANGE);
	assert_int_equal(res1(f, UINT64_MAX - PG - 1, 2, EXCL, &b, NULL), -VTLMEM_EBUSY);
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(UINT64_MAX - PG), PG, EXCL));
	/* the highest end there is, 2^64 - 1: the self-check accepts it too */
	assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
	rel(f, a);
}

static void wrapping_range_is_eoverflow(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t h;

	assert_int_equal(res1(f, UINT64_MAX, 2, EXCL, &h, NULL), -VTLMEM_EOVERFLOW);
	assert_int_equal(res1(f, UINT64_MAX - 0xfff, 0x2000, EXCL, &h, NULL), -VTLMEM_EOVERFLOW);
	/* Ending exactly at 2^64 is no wrap: -ERANGE (reserve.h), not -EOVERFLOW. */
	assert_int_equal(res1(f, UINT64_MAX, 1, EXCL, &h, NULL), -VTLMEM_ERANGE);
	assert_int_equal(res1(f, PG, UINT64_MAX, SHR, &h, NULL), -VTLMEM_EOVERFLOW);
	assert_int_equal(res1(f, UINT64_MAX, UINT64_MAX, SHR, &h, NULL), -VTLMEM_EOVERFLOW);
	/* Just below wrapping: not an overflow, but beyond 2^52. */
	assert_int_equal(res1(f, UINT64_MAX - 0xfff, 0xfff, EXCL, &h, NULL), -VTLMEM_ERANGE);
	assert_int_equal(f->hp.ownership_calls, 0);
	expect_table(f, NULL, 0);
}

/*
 * The top of the address space: one rule under every pa_bits (reserve.h).
 * With limit L = 2^pa_bits (pa_bits < 64) the last page [L - 4K, L) and
 * the page below it are reservable and a range past L is -ERANGE. A range
 * ending exactly at 2^64 is -ERANGE under every pa_bits, 64 included (ends
 * are 64-bit values: with pa_bits 64 the highest end is 2^64 - 1), one
 * wrapping past 2^64 -EOVERFLOW. The width checks run before the ownership
 * op, which is asked exactly once per accepted range. The queries agree.
 */
static void last_page_of_the_space_under_each_pa_bits(void **state)
{
	static const unsigned widths[] = { 32, 48, 52, 64 };
	const uint64_t top = UINT64_MAX - PG + 1;   /* [top, 2^64): the last 64-bit page */
	struct fx *f = *state;
	vtlmem_resv_t a, b, c, x;
	unsigned i;

	f->hp.vtl0_end = UINT64_MAX;
	for (i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		unsigned bits = widths[i];
		uint64_t last = bits < 64 ? (1ull << bits) - PG : top;
		int last_ret = bits < 64 ? 0 : -VTLMEM_ERANGE;

		f->hp.ops.pa_bits = bits;
		f->hp.ownership_calls = 0;
		/* the last page below the limit, and the page below it */
		assert_int_equal(res1(f, last, PG, EXCL, &a, NULL), last_ret);
		assert_int_equal(res1(f, last - PG, PG, SHR, &b, NULL), 0);
		/* one byte past the limit; pa_bits 64: past 2^64, a wrap */
		assert_int_equal(res1(f, last, PG + 1, EXCL, &x, NULL),
				 bits < 64 ? -VTLMEM_ERANGE : -VTLMEM_EOVERFLOW);
		assert_int_equal(res1(f, last + PG - 1, 2, SHR, &x, NULL),
				 bits < 64 ? -VTLMEM_ERANGE : -VTLMEM_EOVERFLOW);
		/* ending exactly at 2^64, and wrapping past it */
		assert_int_equal(res1(f, top, PG, EXCL, &x, NULL), -VTLMEM_ERANGE);
		assert_int_equal(res1(f, UINT64_MAX, 1, EXCL, &x, NULL), -VTLMEM_ERANGE);
		assert_int_equal(res1(f, top, 2 * PG, EXCL, &x, NULL), -VTLMEM_EOVERFLOW);
		assert_int_equal(res1(f, UINT64_MAX, 2, SHR, &x, NULL), -VTLMEM_EOVERFLOW);
		/* the highest end of all, 2^64 - 1, needs pa_bits 64 */
		assert_int_equal(res1(f, top, PG - 1, SHR, &c, NULL), bits < 64 ? -VTLMEM_ERANGE : 0);
		assert_int_equal(f->hp.ownership_calls, 2);   /* a or c, and b */

		assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(last - PG), PG, SHR));
		assert_true(vtlmem_resv_covers(&f->t, b, vtlmem_pa(last - PG), PG));
		assert_int_equal(vtlmem_is_reserved(&f->t, vtlmem_pa(last), PG, EXCL), bits < 64);
		assert_int_equal(vtlmem_resv_covers(&f->t, a, vtlmem_pa(last), PG), bits < 64);
		assert_int_equal(vtlmem_is_reserved(&f->t, vtlmem_pa(top), PG - 1, SHR), bits == 64);
		assert_int_equal(vtlmem_resv_covers(&f->t, c, vtlmem_pa(top), PG - 1), bits == 64);
		/* a range ending at 2^64 is never covered; a wrapping one neither */
		assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(top), PG, SHR));
		assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(UINT64_MAX), 1, SHR));
		assert_false(vtlmem_resv_covers(&f->t, c, vtlmem_pa(top), PG));
		assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(top), 2 * PG, SHR));
		if (bits < 64) {
			rel(f, a);
		} else {
			rel(f, c);
		}
		rel(f, b);
		expect_table(f, NULL, 0);
	}
}

static void page_zero_is_refused_unless_allowed(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t a, b;

	f->hp.vtl0_start = 0;
	assert_int_equal(res1(f, 0, PG, EXCL, &a, NULL), -VTLMEM_EPERM);
	assert_int_equal(res1(f, 0, 1, SHR, &a, NULL), -VTLMEM_EPERM);
	assert_int_equal(res1(f, PG - 1, 2, SHR, &a, NULL), -VTLMEM_EPERM);
	assert_int_equal(res1(f, 0x800, 0x10, SHR, &a, NULL), -VTLMEM_EPERM);
	assert_int_equal(f->hp.ownership_calls, 0);
	assert_int_equal(res1(f, PG, PG, EXCL, &b, NULL), 0);
	f->hp.ops.allow_page0 = true;
	assert_int_equal(res1(f, 0, PG, EXCL, &a, NULL), 0);
	assert_int_equal(res1(f, PG - 1, 1, SHR, &a, NULL), -VTLMEM_EBUSY);
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0), 2 * PG, EXCL));
	rel(f, a);
	rel(f, b);
}

/* ---- queries --------------------------------------------------------------- */

static void is_reserved_requires_every_byte_covered(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t a, b, c;

	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), PG, SHR));
	assert_int_equal(res1(f, 0x10000, PG, EXCL, &a, NULL), 0);
	assert_int_equal(res1(f, 0x11000, PG, EXCL, &b, NULL), 0);   /* adjacent */
	assert_int_equal(res1(f, 0x13000, PG, EXCL, &c, NULL), 0);   /* gap before */
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), PG, EXCL));
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10800), 0x10, EXCL));
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), 2 * PG, EXCL));
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10fff), 2, EXCL));
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), 2 * PG, SHR));
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), 2 * PG + 1, EXCL));
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0xffff), 2, EXCL));
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), 4 * PG, SHR));
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x12000), 1, SHR));
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x13fff), 1, SHR));
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x14000), 1, SHR));
	rel(f, a);
	rel(f, b);
	rel(f, c);
}

static void is_reserved_exclusive_needs_exclusive_intervals(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t a, b, c, d;

	assert_int_equal(res1(f, 0x10000, 3 * PG, SHR, &a, NULL), 0);
	assert_int_equal(res1(f, 0x12000, 3 * PG, SHR, &b, NULL), 0);   /* overlaps a */
	assert_int_equal(res1(f, 0x15000, PG, EXCL, &c, NULL), 0);      /* adjacent */
	assert_int_equal(res1(f, 0x11000, PG, SHR, &d, NULL), 0);       /* inside a */
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), 6 * PG, SHR));
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), 6 * PG, EXCL));
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x11000), PG, EXCL));
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x15000), PG, EXCL));
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x14fff), 2, EXCL));
	rel(f, a);  /* [0x10000, 0x12000) now only partly covered, by d */
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), 6 * PG, SHR));
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x11000), 5 * PG, SHR));
	rel(f, b);
	rel(f, c);
	rel(f, d);
}

/* Many nested shared intervals: coverage follows the longest reach. */
static void is_reserved_over_nested_shared_intervals(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t h[40];
	unsigned i;

	for (i = 0; i < 40; i++)   /* [0x100000, +i+1 pages) and chained ones */
		assert_int_equal(res1(f, 0x100000 + (i / 2) * PG, (i % 2 ? 1 : 3) * PG, SHR,
				      &h[i], NULL), 0);
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x100000), 22 * PG, SHR));
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x100000), 22 * PG + 1, SHR));
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0xfffff), 2, SHR));
	for (i = 0; i < 40; i++)
		rel(f, h[i]);
}

static void is_reserved_rejects_empty_wrapping_and_bad_mode(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t a;

	assert_int_equal(res1(f, 0x10000, PG, EXCL, &a, NULL), 0);
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), 0, SHR));
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(UINT64_MAX), 2, SHR));
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), PG, (enum vtlmem_rmode)2));
	assert_false(vtlmem_is_reserved(NULL, vtlmem_pa(0x10000), PG, SHR));
	rel(f, a);
	assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), PG, SHR));
}

static void resv_covers_checks_the_handles_own_ranges(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range rr[4] = {
		R(0x20000, PG), R(0x10000, PG), R(0x11000, PG), R(0x30000, 0x10),
	};
	vtlmem_resv_t h, other;

	assert_int_equal(vtlmem_reserve(&f->t, rr, 4, SHR, &h, NULL), 0);
	assert_int_equal(res1(f, 0x12000, PG, SHR, &other, NULL), 0);
	assert_true(vtlmem_resv_covers(&f->t, h, vtlmem_pa(0x10000), 2 * PG));
	assert_true(vtlmem_resv_covers(&f->t, h, vtlmem_pa(0x10fff), 2));
	assert_true(vtlmem_resv_covers(&f->t, h, vtlmem_pa(0x20000), PG));
	assert_true(vtlmem_resv_covers(&f->t, h, vtlmem_pa(0x3000f), 1));
	assert_false(vtlmem_resv_covers(&f->t, h, vtlmem_pa(0x30010), 1));
	assert_false(vtlmem_resv_covers(&f->t, h, vtlmem_pa(0x10000), 3 * PG)); /* other's */
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), 3 * PG, SHR));
	assert_false(vtlmem_resv_covers(&f->t, h, vtlmem_pa(0xffff), 2));
	assert_false(vtlmem_resv_covers(&f->t, h, vtlmem_pa(0x11000), 0x10000));
	assert_false(vtlmem_resv_covers(&f->t, h, vtlmem_pa(0x10000), 0));
	assert_false(vtlmem_resv_covers(&f->t, h, vtlmem_pa(UINT64_MAX), 2));
	assert_false(vtlmem_resv_covers(&f->t, other, vtlmem_pa(0x10000), PG));
	assert_false(vtlmem_resv_covers(&f->t, (vtlmem_resv_t){ 0 }, vtlmem_pa(0x10000), 1));
	assert_false(vtlmem_resv_covers(NULL, h, vtlmem_pa(0x10000), 1));
	rel(f, h);
	assert_false(vtlmem_resv_covers(&f->t, h, vtlmem_pa(0x10000), PG));
	rel(f, other);
}

static void resv_covers_of_joined_shared_interval(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t a, b;

	assert_int_equal(res1(f, 0x10000, PG, SHR, &a, NULL), 0);
	assert_int_equal(res1(f, 0x10000, PG, SHR, &b, NULL), 0);
	assert_true(vtlmem_resv_covers(&f->t, a, vtlmem_pa(0x10000), PG));
	assert_true(vtlmem_resv_covers(&f->t, b, vtlmem_pa(0x10000), PG));
	rel(f, a);
	assert_false(vtlmem_resv_covers(&f->t, a, vtlmem_pa(0x10000), PG));
	assert_true(vtlmem_resv_covers(&f->t, b, vtlmem_pa(0x10000), PG));
	rel(f, b);
}

/* ---- iterate and dump ------------------------------------------------------ */

static void shared_reservations_of_one_range_are_counted_in_one_interval(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t h[5], x;
	struct vtlmem_rtable_stats st;
	int i;

	for (i = 0; i < 5; i++)
		assert_int_equal(res1(f, 0x10000, 2 * PG, SHR, &h[i], NULL), 0);
	{
		struct iv one[] = { { 0x10000, 2 * PG, SHR, 5 } };

		expect_table(f, one, 1);
	}
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.intervals, 1);
	assert_int_equal(st.handles, 5);
	/* 5 handles + 1 node live; one joined node's object is cached. */
	assert_int_equal(st.objects, 7);
	assert_int_equal(st.cached, 1);
	assert_int_equal(res1(f, 0x11000, 1, EXCL, &x, NULL), -VTLMEM_EBUSY);
	for (i = 0; i < 4; i++)
		rel(f, h[i]);
	{
		struct iv one[] = { { 0x10000, 2 * PG, SHR, 1 } };

		expect_table(f, one, 1);
	}
	assert_int_equal(res1(f, 0x11000, 1, EXCL, &x, NULL), -VTLMEM_EBUSY);
	rel(f, h[4]);
	assert_int_equal(res1(f, 0x11000, 1, EXCL, &x, NULL), 0);
	rel(f, x);
}

static void iterate_rejects_null(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t a;

	assert_int_equal(res1(f, 0x10000, PG, EXCL, &a, NULL), 0);
	assert_int_equal(vtlmem_rtable_iterate(NULL, snap_cb, NULL), 0);
	assert_int_equal(vtlmem_rtable_iterate(&f->t, NULL, NULL), 0);
	rel(f, a);
}

struct lines {
	int n;
	char l[16][128];
};

static void lines_cb(void *arg, const char *line)
{
	struct lines *ls = arg;

	assert_true(ls->n < 16);
	assert_true(strlen(line) < 128);
	strcpy(ls->l[ls->n++], line);
}

static void dump_prints_one_line_per_interval_and_a_summary(void **state)
{
	struct fx *f = *state;
	struct lines ls = { 0 };
	vtlmem_resv_t a, b, c, d;

	assert_int_equal(res1(f, 0x5000, PG, SHR, &a, NULL), 0);
	assert_int_equal(res1(f, 0x5000, PG, SHR, &b, NULL), 0);
	assert_int_equal(res1(f, 0x5000, PG, SHR, &c, NULL), 0);
	assert_int_equal(res1(f, 0x1000, 0x2000, EXCL, &d, NULL), 0);
	rel(f, c);
	vtlmem_rtable_dump(&f->t, lines_cb, &ls);
	assert_int_equal(ls.n, 3);
	assert_string_equal(ls.l[0], "resv [0x1000, 0x3000) len 0x2000 excl");
	assert_string_equal(ls.l[1], "resv [0x5000, 0x6000) len 0x1000 shared readers 2");
	/* c's node joined a's; c's record is retired, not cached */
	assert_string_equal(ls.l[2], "rtable: 2 intervals, 3 handles, 0 cached, 1 retired, 6 objects");
	vtlmem_rtable_dump(NULL, lines_cb, &ls);
	vtlmem_rtable_dump(&f->t, NULL, &ls);
	assert_int_equal(ls.n, 3);
	rel(f, a);
	rel(f, b);
	rel(f, d);
}

static void dump_of_empty_table_and_top_of_address_space(void **state)
{
	struct fx *f = *state;
	struct lines ls = { 0 };
	vtlmem_resv_t a;

	vtlmem_rtable_dump(&f->t, lines_cb, &ls);
	assert_int_equal(ls.n, 1);
	assert_string_equal(ls.l[0], "rtable: 0 intervals, 0 handles, 0 cached, 0 retired, 0 objects");
	assert_int_equal(res1(f, P52 - 1, 1, EXCL, &a, NULL), 0);
	ls.n = 0;
	vtlmem_rtable_dump(&f->t, lines_cb, &ls);
	assert_int_equal(ls.n, 2);
	assert_string_equal(ls.l[0], "resv [0xfffffffffffff, 0x10000000000000) len 0x1 excl");
	rel(f, a);
}

/* ---- the object cache ------------------------------------------------------ */

static void steady_state_reserve_release_makes_no_platform_allocation(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range rr[5] = {
		R(0x900000, PG), R(0x902000, PG), R(0x904000, PG), R(0x906000, PG),
		R(0x908000, PG),
	};
	vtlmem_resv_t live[100], h, s;
	unsigned long allocs, frees;
	unsigned i;

	for (i = 0; i < 100; i++)
		assert_int_equal(res1(f, 0x100000 + i * 2 * PG, PG, i % 3 ? EXCL : SHR, &live[i],
				      NULL), 0);
	assert_int_equal(res1(f, 0x700000, PG, SHR, &s, NULL), 0);
	/* Warm up each kind of request once. */
	assert_int_equal(vtlmem_reserve(&f->t, rr, 5, EXCL, &h, NULL), 0);
	rel(f, h);
	allocs = f->hp.allocs;
	frees = f->hp.frees;
	for (i = 0; i < 10000; i++) {
		assert_int_equal(res1(f, 0x800000 + (i % 64) * PG, PG, EXCL, &h, NULL), 0);
		rel(f, h);
		assert_int_equal(res1(f, 0x700000, PG, SHR, &h, NULL), 0);   /* joins s */
		rel(f, h);
		assert_int_equal(vtlmem_reserve(&f->t, rr, 5, i & 1 ? SHR : EXCL, &h, NULL), 0);
		rel(f, h);
		assert_int_equal(res1(f, 0x100000, PG, EXCL, &h, NULL), -VTLMEM_EBUSY);
	}
	assert_int_equal(f->hp.allocs, allocs);
	assert_int_equal(f->hp.frees, frees);
	for (i = 0; i < 100; i++)
		rel(f, live[i]);
	rel(f, s);
}

static void cache_keeps_at_most_its_bound(void **state)
{
	struct fx *f = *state;
	struct vtlmem_rtable_stats st;
	vtlmem_resv_t h[100];
	unsigned i;

	for (i = 0; i < 100; i++)
		assert_int_equal(res1(f, 0x100000 + i * PG, PG, EXCL, &h[i], NULL), 0);
	assert_int_equal(f->hp.allocs, 200);
	for (i = 0; i < 100; i++)
		rel(f, h[i]);
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.cached, VTLMEM_RTABLE_CACHE);
	assert_int_equal(st.retired, 100);            /* records wait until fini */
	assert_int_equal(st.objects, VTLMEM_RTABLE_CACHE + 100);
	assert_int_equal(f->hp.alloc_live, VTLMEM_RTABLE_CACHE + 100);
	assert_int_equal(f->hp.frees, 100 - VTLMEM_RTABLE_CACHE);
	/* 32 single-range reservations now come from the cache alone. */
	for (i = 0; i < 32; i++)
		assert_int_equal(res1(f, 0x100000 + i * PG, PG, EXCL, &h[i], NULL), 0);
	assert_int_equal(f->hp.allocs, 200);
	for (i = 0; i < 32; i++)
		rel(f, h[i]);
}

/* ---- lock discipline ------------------------------------------------------- */

static struct {
	struct vtlmem_platform inner;
	bool held;
	unsigned long locks, unlocks, inits, under_lock, cb_unlocked;
	unsigned long allocs, frees, owns;
	size_t size;
} ld;

static void ld_lock_init(void *ctx, struct vtlmem_lock *l)
{
	(void)ctx;
	l->plat = &ld;
	ld.inits++;
}

static void ld_lock(void *ctx, struct vtlmem_lock *l)
{
	(void)ctx;
	assert_ptr_equal(l->plat, &ld);
	assert_false(ld.held);
	ld.held = true;
	ld.locks++;
}

static void ld_unlock(void *ctx, struct vtlmem_lock *l)
{
	(void)ctx;
	(void)l;
	assert_true(ld.held);
	ld.held = false;
	ld.unlocks++;
}

static void *ld_alloc(void *ctx, size_t size)
{
	void *p;

	ld.under_lock += ld.held;
	if (!ld.size)
		ld.size = size;
	assert_int_equal(size, ld.size);   /* one object size for everything */
	p = ld.inner.alloc(ctx, size);
	ld.allocs += p != NULL;
	return p;
}

static void ld_free(void *ctx, void *p, size_t size)
{
	ld.under_lock += ld.held;
	ld.frees++;
	assert_int_equal(size, ld.size);
	ld.inner.free(ctx, p, size);
}

static int ld_ownership(void *ctx, vtlmem_paddr_t pa, uint64_t len)
{
	ld.under_lock += ld.held;
	ld.owns++;
	return ld.inner.ownership(ctx, pa, len);
}

static void ld_iter(void *arg, vtlmem_paddr_t pa, uint64_t len, enum vtlmem_rmode mode,
		    uint32_t readers)
{
	(void)arg, (void)pa, (void)len, (void)mode, (void)readers;
	ld.cb_unlocked += !ld.held;
}

static void ld_puts(void *arg, const char *line)
{
	(void)arg, (void)line;
	ld.cb_unlocked += !ld.held;
}

static void platform_ops_never_run_under_the_table_lock(void **state)
{
	struct fx *f = *state;
	struct vtlmem_platform p;
	struct vtlmem_rtable t;
	struct vtlmem_range rr[20];
	vtlmem_resv_t h[80], x, y, z;
	unsigned i;

	memset(&ld, 0, sizeof(ld));
	ld.inner = f->hp.ops;
	p = f->hp.ops;
	p.lock_init = ld_lock_init;
	p.lock = ld_lock;
	p.unlock = ld_unlock;
	p.alloc = ld_alloc;
	p.free = ld_free;
	p.ownership = ld_ownership;
	assert_int_equal(vtlmem_rtable_init(&t, &p), 0);
	assert_int_equal(ld.inits, 1);
	for (i = 0; i < 80; i++) {
		struct vtlmem_range r = R(0x100000 + i * PG, PG);

		assert_int_equal(vtlmem_reserve(&t, &r, 1, EXCL, &h[i], NULL), 0);
	}
	for (i = 0; i < 20; i++)
		rr[i] = R(0x200000 + i * 2 * PG, PG);
	assert_int_equal(vtlmem_reserve(&t, rr, 20, SHR, &x, NULL), 0);   /* id 81 */
	f->hp.fail_alloc_at = 2;
	rr[0] = R(0x300000, PG);
	assert_int_equal(vtlmem_reserve(&t, rr, 1, SHR, &y, NULL), -VTLMEM_ENOMEM);
	assert_int_equal(vtlmem_reserve(&t, rr, 1, SHR, &y, NULL), 0);    /* id 82 */
	assert_int_equal(vtlmem_reserve(&t, rr, 1, EXCL, &z, NULL), -VTLMEM_EBUSY);
	assert_true(vtlmem_is_reserved(&t, vtlmem_pa(0x100000), 80 * PG, EXCL));
	assert_true(vtlmem_resv_covers(&t, y, vtlmem_pa(0x300000), PG));
	assert_int_equal(vtlmem_rtable_iterate(&t, ld_iter, NULL), 80 + 20 + 1);
	vtlmem_rtable_dump(&t, ld_puts, NULL);
	for (i = 0; i < 80; i++)
		assert_int_equal(vtlmem_release(&t, h[i]), 0);
	assert_int_equal(vtlmem_release(&t, x), 0);
	assert_int_equal(vtlmem_release(&t, y), 0);
	assert_int_equal(vtlmem_release(&t, y), -VTLMEM_ENOENT);
	assert_int_equal(vtlmem_rtable_fini(&t), 0);
	assert_int_equal(ld.under_lock, 0);
	assert_int_equal(ld.cb_unlocked, 0);
	assert_false(ld.held);
	assert_int_equal(ld.locks, ld.unlocks);
	assert_true(ld.allocs > 160 && ld.frees == ld.allocs);
	assert_int_equal(ld.owns, 80 + 20 + 3);
	assert_int_equal(f->hp.alloc_fails, 1);
	assert_int_equal(f->hp.alloc_live, 0);
}

/* ---- randomized comparison with a flat-array reference model ---------------- */

#define M_MAXR 3
#define M_MAXLIVE 4096
#define M_PAGES 1000
#define M_TARGET 500

struct mres {
	uint64_t id;
	int mode;
	int n;
	uint64_t s[M_MAXR], e[M_MAXR];   /* sorted by start */
};

struct model {
	struct mres live[M_MAXLIVE];
	size_t nlive;
	uint64_t next_id;
	uint64_t rng;
};

static uint64_t rnd(struct model *m)
{
	/* xorshift64*: the same sequence on every libc */
	m->rng ^= m->rng >> 12;
	m->rng ^= m->rng << 25;
	m->rng ^= m->rng >> 27;
	return m->rng * 2685821657736338717ull;
}

static uint64_t rnd_below(struct model *m, uint64_t n)
{
	return (rnd(m) >> 11) % n;
}

static bool ovl(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
	return s1 < e2 && s2 < e1;
}

/* Expected result of a request, and the conflict the model reports. */
static int model_reserve(struct model *m, const struct vtlmem_range *rr, int n, int mode,
			 struct vtlmem_conflict *c, bool alloc_fails)
{
	uint64_t s[M_MAXR], e[M_MAXR], t;
	bool found = false;
	uint64_t bs = 0, be = 0;
	int i, j, bm = 0;
	size_t k;

	for (i = 0; i < n; i++) {
		s[i] = vtlmem_pa_val(rr[i].pa);
		if (rr[i].len == 0)
			return -VTLMEM_EINVAL;
		e[i] = s[i] + rr[i].len;
		if (e[i] > P52)
			return -VTLMEM_ERANGE;
		if (s[i] < PG)
			return -VTLMEM_EPERM;
	}
	if (alloc_fails)
		return -VTLMEM_ENOMEM;
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (ovl(s[i], e[i], s[j], e[j]))
				return -VTLMEM_EINVAL;
	for (i = 0; i < n; i++)   /* sort the request by start */
		for (j = i + 1; j < n; j++)
			if (s[j] < s[i]) {
				t = s[i], s[i] = s[j], s[j] = t;
				t = e[i], e[i] = e[j], e[j] = t;
			}
	for (i = 0; i < n && !found; i++) {
		for (k = 0; k < m->nlive; k++) {
			const struct mres *r = &m->live[k];

			if (mode == SHR && r->mode == SHR)
				continue;
			for (j = 0; j < r->n; j++) {
				if (!ovl(s[i], e[i], r->s[j], r->e[j]))
					continue;
				if (!found || r->s[j] < bs || (r->s[j] == bs && r->e[j] < be)) {
					bs = r->s[j];
					be = r->e[j];
					bm = r->mode;
				}
				found = true;
			}
		}
	}
	if (found) {
		c->pa = vtlmem_pa(bs);
		c->len = be - bs;
		c->mode = (enum vtlmem_rmode)bm;
		return -VTLMEM_EBUSY;
	}
	for (i = 0; i < n; i++) {
		m->live[m->nlive].s[i] = s[i];
		m->live[m->nlive].e[i] = e[i];
	}
	m->live[m->nlive].n = n;
	m->live[m->nlive].mode = mode;
	m->live[m->nlive].id = m->next_id++;
	m->nlive++;
	return 0;
}

struct seg {
	uint64_t s, e;
	int mode;
};

static int seg_cmp(const void *a, const void *b)
{
	const struct seg *x = a, *y = b;

	if (x->s != y->s)
		return x->s < y->s ? -1 : 1;
	if (x->e != y->e)
		return x->e < y->e ? -1 : 1;
	return x->mode - y->mode;
}

/* Every range of every live handle, sorted. */
static size_t model_segs(const struct model *m, struct seg *out, int only_mode, uint64_t id)
{
	size_t k, n = 0;
	int j;

	for (k = 0; k < m->nlive; k++) {
		const struct mres *r = &m->live[k];

		if ((only_mode >= 0 && r->mode != only_mode) || (id && r->id != id))
			continue;
		for (j = 0; j < r->n; j++) {
			out[n].s = r->s[j];
			out[n].e = r->e[j];
			out[n].mode = r->mode;
			n++;
		}
	}
	qsort(out, n, sizeof(*out), seg_cmp);
	return n;
}

static bool segs_cover(const struct seg *g, size_t n, uint64_t s, uint64_t e)
{
	size_t i;

	for (i = 0; i < n && s < e; i++) {
		if (g[i].e <= s)
			continue;
		if (g[i].s > s)
			return false;
		s = g[i].e;
	}
	return s >= e;
}

/* The table's iterate output equals the model's distinct intervals. */
static void model_compare_table(struct fx *f, const struct model *m, struct seg *g)
{
	size_t n = model_segs(m, g, -1, 0), i, k = 0;
	struct snap *s = snap_take(f);
	struct vtlmem_rtable_stats st;

	for (i = 0; i < n; k++) {
		size_t j = i;

		while (j < n && !seg_cmp(&g[j], &g[i]))
			j++;
		assert_true(k < s->n);
		assert_int_equal(s->iv[k].pa, g[i].s);
		assert_int_equal(s->iv[k].len, g[i].e - g[i].s);
		assert_int_equal(s->iv[k].mode, g[i].mode);
		assert_int_equal(s->iv[k].readers, j - i);
		i = j;
	}
	assert_int_equal(s->n, k);
	free(s);
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.handles, m->nlive);
	assert_int_equal(st.intervals, k);
	assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
}

static void random_range(struct model *m, struct vtlmem_range *r)
{
	uint64_t pg = 1 + rnd_below(m, M_PAGES), x = rnd_below(m, 100);

	if (x < 12) {            /* byte granular */
		r->pa = vtlmem_pa(pg * PG + rnd_below(m, PG));
		r->len = 1 + rnd_below(m, 3 * PG);
	} else if (x == 12) {    /* invalid: empty */
		r->pa = vtlmem_pa(pg * PG);
		r->len = 0;
	} else if (x == 13) {    /* invalid: beyond 2^52 */
		r->pa = vtlmem_pa(P52 - PG);
		r->len = PG + 1;
	} else if (x == 14) {    /* invalid: page 0 */
		r->pa = vtlmem_pa(rnd_below(m, PG));
		r->len = PG;
	} else {
		r->pa = vtlmem_pa(pg * PG);
		r->len = (1 + rnd_below(m, 4)) * PG;
	}
}

static void op_reserve(struct fx *f, struct model *m)
{
	struct vtlmem_range rr[M_MAXR];
	struct vtlmem_conflict got = CONFLICT_POISON, want = CONFLICT_POISON;
	struct vtlmem_rtable_stats st;
	int n = 1 + (int)rnd_below(m, M_MAXR), mode = (int)rnd_below(m, 2), i, ret, exp;
	vtlmem_resv_t h = { .id = 0x5a5a };
	bool inject = rnd_below(m, 10) == 0;

	for (i = 0; i < n; i++)
		random_range(m, &rr[i]);
	vtlmem_rtable_stats(&f->t, &st);
	/*
	 * Make the next platform allocation fail: it happens only if the
	 * cache holds fewer than the objects the request needs: n nodes
	 * (n <= 3) and a handle record, unless a retired record serves.
	 */
	if (inject)
		f->hp.fail_alloc_at = 1;
	exp = model_reserve(m, rr, n, mode, &want,
			    inject && st.cached < (uint64_t)n + (st.retired ? 0 : 1));
	ret = vtlmem_reserve(&f->t, rr, (size_t)n, (enum vtlmem_rmode)mode, &h, &got);
	f->hp.fail_alloc_at = 0;
	assert_int_equal(ret, exp);
	if (ret == -VTLMEM_EBUSY) {
		expect_conflict(&got, vtlmem_pa_val(want.pa), want.len, (int)want.mode);
	} else {
		expect_conflict_untouched(&got);
	}
	assert_int_equal(h.id, ret ? 0x5a5a : m->live[m->nlive - 1].id);
}

static void op_release(struct fx *f, struct model *m)
{
	size_t k;

	if (!m->nlive)
		return;
	k = rnd_below(m, m->nlive);
	assert_int_equal(vtlmem_release(&f->t, (vtlmem_resv_t){ .id = m->live[k].id }), 0);
	m->live[k] = m->live[--m->nlive];
}

static bool model_live(const struct model *m, uint64_t id)
{
	size_t k;

	for (k = 0; k < m->nlive; k++)
		if (m->live[k].id == id)
			return true;
	return false;
}

static void op_release_bogus(struct fx *f, struct model *m)
{
	uint64_t id = rnd_below(m, m->next_id + 5);

	if (model_live(m, id))
		return;
	assert_int_equal(vtlmem_release(&f->t, (vtlmem_resv_t){ .id = id }), -VTLMEM_ENOENT);
}

static void op_is_reserved(struct fx *f, struct model *m, struct seg *g)
{
	uint64_t s = PG + rnd_below(m, (M_PAGES + 4) * PG), len = 1 + rnd_below(m, 6 * PG);
	int mode = (int)rnd_below(m, 2);
	size_t n = model_segs(m, g, mode == EXCL ? EXCL : -1, 0);

	assert_int_equal(vtlmem_is_reserved(&f->t, vtlmem_pa(s), len, (enum vtlmem_rmode)mode),
			 segs_cover(g, n, s, s + len));
}

static void op_covers(struct fx *f, struct model *m, struct seg *g)
{
	uint64_t id, s, len;
	size_t n;

	if (!m->nlive)
		return;
	id = m->live[rnd_below(m, m->nlive)].id;
	if (rnd_below(m, 10) == 0)
		id = rnd_below(m, m->next_id + 2);
	n = model_live(m, id) ? model_segs(m, g, -1, id) : 0;
	if (n && rnd_below(m, 2)) {   /* around one of its ranges */
		size_t i = rnd_below(m, n);

		s = rnd_below(m, 2) * rnd_below(m, 2 * PG);   /* start before it */
		s = g[i].s - (s < g[i].s ? s : g[i].s);
		len = g[i].e - s + rnd_below(m, 2) * rnd_below(m, 2 * PG) -
		      rnd_below(m, 2) * rnd_below(m, g[i].e - s);
		if (len == 0)
			len = 1;
	} else {
		s = PG + rnd_below(m, (M_PAGES + 4) * PG);
		len = 1 + rnd_below(m, 6 * PG);
	}
	assert_int_equal(vtlmem_resv_covers(&f->t, (vtlmem_resv_t){ .id = id }, vtlmem_pa(s), len),
			 n && segs_cover(g, n, s, s + len));
}

static void randomized_against_flat_array_model_100k_ops(void **state)
{
	struct fx *f = *state;
	struct model *m = calloc(1, sizeof(*m));
	struct seg *g = calloc(M_MAXLIVE * M_MAXR, sizeof(*g));
	unsigned long op, maxlive = 0;
	uint64_t x;

	assert_non_null(m);
	assert_non_null(g);
	m->next_id = 1;
	m->rng = 0x9e3779b97f4a7c15ull;
	for (op = 0; op < 100000; op++) {
		x = rnd_below(m, 100);
		/* Grow to M_TARGET live reservations, then churn there. */
		if (x < 50 && m->nlive < M_TARGET)
			op_reserve(f, m);
		else if (x < 65)
			op_release(f, m);
		else if (x < 70)
			op_release_bogus(f, m);
		else if (x < 85)
			op_is_reserved(f, m, g);
		else
			op_covers(f, m, g);
		if (m->nlive > maxlive)
			maxlive = m->nlive;
		if (op % 1000 == 999)
			model_compare_table(f, m, g);
	}
	model_compare_table(f, m, g);
	{
		struct vtlmem_rtable_stats st;

		vtlmem_rtable_stats(&f->t, &st);
		/* The mix really exercised successes, conflicts and failures. */
		assert_true(st.reserves > 10000);
		assert_true(st.conflicts > 5000);
		assert_true(f->hp.alloc_fails > 20);
		assert_int_equal(maxlive, M_TARGET);
	}
	while (m->nlive)
		op_release(f, m);
	model_compare_table(f, m, g);
	free(g);
	free(m);
}

/* ---- main --------------------------------------------------------------------- */

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/*
 * The internal entry points of the one-shot VTL0 path: reserve of one
 * pre-checked range (one ownership question, the table's errors in
 * vtlmem_reserve()'s order) and release by the handle's record.
 */
static void reserve_range_asks_ownership_once_and_keeps_the_error_order(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range r = R(0x10000, 2 * PG), s = R(0x11000, PG);
	vtlmem_resv_t h = { 77, NULL }, g;
	unsigned long calls = f->hp.ownership_calls;

	assert_int_equal(vtlmem_reserve_range(&f->t, &r, EXCL, &h), 0);
	assert_int_equal(f->hp.ownership_calls - calls, 1);
	assert_true(vtlmem_resv_covers(&f->t, h, vtlmem_pa(0x10000), 2 * PG));
	/* -EBUSY, *out unchanged */
	g.id = 99;
	g.rec = NULL;
	assert_int_equal(vtlmem_reserve_range(&f->t, &s, SHR, &g), -VTLMEM_EBUSY);
	assert_int_equal(g.id, 99);
	/* -EPERM: not VTL0 (no reservation made, nothing allocated) */
	f->hp.vtl0_start = 0x100000;
	s = R(0x20000, PG);
	assert_int_equal(vtlmem_reserve_range(&f->t, &s, SHR, &g),
			 -VTLMEM_EPERM);
	f->hp.vtl0_start = PG;
	assert_int_equal(g.id, 99);
	assert_int_equal(vtlmem_release_own(&f->t, h), 0);
}

static void reserve_range_allocation_failures_change_nothing(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range r = R(0x10000, PG);
	vtlmem_resv_t h = { 5, NULL };
	long at;

	/* a cold table needs a node and a handle record: each can fail */
	for (at = 1; at <= 2; at++) {
		f->hp.fail_alloc_at = at;
		assert_int_equal(vtlmem_reserve_range(&f->t, &r, SHR, &h), -VTLMEM_ENOMEM);
		assert_int_equal(h.id, 5);
		assert_int_equal(f->hp.alloc_live, 0);
		assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), PG, SHR));
	}
	f->hp.fail_alloc_at = 0;
	assert_int_equal(vtlmem_reserve_range(&f->t, &r, SHR, &h), 0);
	assert_int_equal(vtlmem_release_own(&f->t, h), 0);
}

static void release_own_finds_the_record_and_refuses_stale_handles(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range r = R(0x10000, PG);
	vtlmem_resv_t a, b, c;

	assert_int_equal(vtlmem_reserve_range(&f->t, &r, EXCL, &a), 0);
	assert_int_equal(vtlmem_release_own(&f->t, a), 0);
	assert_int_equal(vtlmem_release_own(&f->t, a), -VTLMEM_ENOENT);
	/* b reuses a's retired record: a stays dead, b stays live */
	assert_int_equal(vtlmem_reserve_range(&f->t, &r, EXCL, &b), 0);
	assert_ptr_equal(b.rec, a.rec);
	assert_int_equal(vtlmem_release_own(&f->t, a), -VTLMEM_ENOENT);
	assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(0x10000), PG, EXCL));
	/* a handle without its record is still found (by the handle tree) */
	c = b;
	c.rec = NULL;
	assert_int_equal(vtlmem_release_own(&f->t, c), 0);
	assert_int_equal(vtlmem_release_own(&f->t, b), -VTLMEM_ENOENT);
	c.id = 0;
	assert_int_equal(vtlmem_release_own(&f->t, c), -VTLMEM_ENOENT);
	assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
}

/*
 * After fini + init the old handle's record went back to the platform:
 * its id was issued before the new init, so the record is never read (ASan
 * would report a use after free) and the answer is -ENOENT.
 */
static void release_own_never_reads_a_record_of_an_earlier_init(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range r = R(0x10000, PG);
	vtlmem_resv_t a, b;

	assert_int_equal(vtlmem_reserve_range(&f->t, &r, EXCL, &a), 0);
	assert_int_equal(vtlmem_release_own(&f->t, a), 0);
	assert_int_equal(vtlmem_rtable_fini(&f->t), 0);
	assert_int_equal(f->hp.alloc_live, 0);
	assert_int_equal(vtlmem_rtable_init(&f->t, &f->hp.ops), 0);
	assert_int_equal(vtlmem_release_own(&f->t, a), -VTLMEM_ENOENT);
	assert_int_equal(vtlmem_reserve_range(&f->t, &r, EXCL, &b), 0);
	assert_true(b.id > a.id);
	assert_int_equal(vtlmem_release_own(&f->t, a), -VTLMEM_ENOENT);
	assert_int_equal(vtlmem_release_own(&f->t, b), 0);
}

/*
 * The newest VTLMEM_RTABLE_YOUNG handles live in the table's young ring,
 * older ones in its handle tree (reserve_internal.h): every handle is
 * found, by id and by record, whichever holds it. 3 * YOUNG + 1 handles
 * (every third shared), then released in steps of 5 modulo their number,
 * which mixes old and young ones, the public release and release_own, and
 * a fresh reservation between releases that keeps evicting from the ring.
 */
static void handles_older_than_the_young_ring_stay_found(void **state)
{
	struct fx *f = *state;
	enum { K = 3 * VTLMEM_RTABLE_YOUNG + 1 };
	vtlmem_resv_t h[K], x;
	struct vtlmem_rtable_stats st;
	enum vtlmem_rmode m;
	unsigned i, j;

	for (i = 0; i < K; i++) {
		assert_int_equal(res1(f, 0x100000 + 2 * i * PG, PG, i % 3 ? EXCL : SHR, &h[i], NULL),
				 0);
		assert_int_equal(h[i].id, i + 1);
		assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
	}
	for (i = 0; i < K; i++) {
		assert_true(vtlmem_resv_covers(&f->t, h[i], vtlmem_pa(0x100000 + 2 * i * PG), PG));
		assert_false(vtlmem_resv_covers(&f->t, h[i], vtlmem_pa(0x100000 + 2 * i * PG + PG),
						PG));
		assert_int_equal(vtlmem_resv_mode(&f->t, h[i], &m), 0);
		assert_int_equal(m, i % 3 ? EXCL : SHR);
	}
	for (i = 0, j = 0; i < K; i++, j = (j + 5) % K) {
		if (i & 1)
			assert_int_equal(vtlmem_release_own(&f->t, h[j]), 0);
		else
			rel(f, h[j]);
		assert_int_equal(vtlmem_release(&f->t, h[j]), -VTLMEM_ENOENT);
		assert_int_equal(vtlmem_release_own(&f->t, h[j]), -VTLMEM_ENOENT);
		assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(0x100000 + 2 * j * PG), PG, SHR));
		assert_int_equal(res1(f, 0x100000 + 2 * j * PG + PG, PG, EXCL, &x, NULL), 0);
		assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
		rel(f, x);
		vtlmem_rtable_stats(&f->t, &st);
		assert_int_equal(st.handles, K - 1 - i);
		assert_int_equal(st.intervals, K - 1 - i);
		assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
	}
}

/*
 * An exclusive request finds its place and its conflicts in one descent
 * (reserve.c, excl_place): an overlap by an interval ordered before it
 * that starts far below (a long shared one, with disjoint ones between)
 * and by the one right after it are both -EBUSY, reported as the lowest
 * overlapping interval, and change nothing; the gaps between are free.
 */
static void exclusive_request_sees_overlaps_on_both_sides_of_its_place(void **state)
{
	struct fx *f = *state;
	struct vtlmem_conflict c = CONFLICT_POISON;
	struct vtlmem_rtable_stats s0, s1;
	vtlmem_resv_t a, b, d, e, x = { 0x5a5a, NULL };

	assert_int_equal(res1(f, 0x10000, 0x10000, SHR, &a, NULL), 0);   /* [0x10000, 0x20000) */
	assert_int_equal(res1(f, 0x11000, PG, SHR, &b, NULL), 0);
	assert_int_equal(res1(f, 0x30000, PG, EXCL, &d, NULL), 0);
	assert_int_equal(res1(f, 0x40000, PG, EXCL, &e, NULL), 0);
	vtlmem_rtable_stats(&f->t, &s0);
	/* before: the long shared interval, not its neighbour in order */
	assert_int_equal(res1(f, 0x18000, PG, EXCL, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x10000, 0x10000, SHR);
	assert_int_equal(res1(f, 0x1f000, 0x2000, EXCL, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x10000, 0x10000, SHR);
	/* after: the next interval only */
	assert_int_equal(res1(f, 0x2f000, 0x1800, EXCL, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x30000, PG, EXCL);
	/* identical ranges, either mode */
	assert_int_equal(res1(f, 0x30000, PG, EXCL, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x30000, PG, EXCL);
	assert_int_equal(res1(f, 0x11000, PG, EXCL, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x10000, 0x10000, SHR);
	/* both sides at once: the lower one */
	assert_int_equal(res1(f, 0x1f800, 0x11000, EXCL, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, 0x10000, 0x10000, SHR);
	assert_int_equal(x.id, 0x5a5a);
	vtlmem_rtable_stats(&f->t, &s1);
	assert_int_equal(s1.conflicts - s0.conflicts, 6);
	assert_int_equal(s1.handles, s0.handles);
	assert_int_equal(s1.intervals, s0.intervals);
	/* the gaps are free, to the byte */
	assert_int_equal(res1(f, 0x20000, 0x10000, EXCL, &x, NULL), 0);
	rel(f, x);
	assert_int_equal(res1(f, 0x31000, 0xf000, EXCL, &x, NULL), 0);
	assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
	rel(f, x);
	rel(f, a);
	rel(f, b);
	rel(f, d);
	rel(f, e);
}

/* ---- small arrays and the interval tree -------------------------------------- */

#define SM   VTLMEM_RTABLE_SMALL
#define SBASE 0x100000ull

/* Page j of the test area is [SBASE + 2 j PG, + PG); its mode by j. */
static uint64_t spage(unsigned j)
{
	return SBASE + 2ull * j * PG;
}

static int smode(unsigned j)
{
	return j % 3 == 0 ? SHR : EXCL;
}

static vtlmem_resv_t sres(struct fx *f, unsigned j)
{
	vtlmem_resv_t h;

	assert_int_equal(res1(f, spage(j), PG, (enum vtlmem_rmode)smode(j), &h, NULL), 0);
	return h;
}

/*
 * The table holds exactly pages j with held[j] (in address order, with
 * readers[j] readers, or 1 if readers is NULL) and is consistent.
 */
static void expect_pages_r(struct fx *f, const bool *held, const unsigned *readers, unsigned n)
{
	struct iv want[64];
	unsigned j, k = 0;

	for (j = 0; j < n; j++)
		if (held[j]) {
			want[k].pa = spage(j);
			want[k].len = PG;
			want[k].mode = smode(j);
			want[k].readers = readers ? readers[j] : 1;
			k++;
		}
	expect_table(f, want, k);
	for (j = 0; j < n; j++) {
		assert_int_equal(vtlmem_is_reserved(&f->t, vtlmem_pa(spage(j)), PG, SHR), held[j]);
		assert_false(vtlmem_is_reserved(&f->t, vtlmem_pa(spage(j) + PG), PG, SHR));
	}
}

static void expect_pages(struct fx *f, const bool *held, unsigned n)
{
	expect_pages_r(f, held, NULL, n);
}

/*
 * Up to VTLMEM_RTABLE_SMALL intervals stay in the small arrays; the next
 * one moves them all into the tree; the walk (iterate) is in address order
 * either way, whatever order they came in.
 */
static void small_arrays_hold_16_intervals_and_the_17th_moves_them_to_the_tree(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t h[SM + 1];
	bool held[SM + 1] = { false };
	unsigned i;

	for (i = 0; i < SM; i++) {   /* pages SM .. 1, descending */
		h[i] = sres(f, SM - i);
		held[SM - i] = true;
		assert_int_equal(f->t.tree, 0);
		assert_int_equal(f->t.nsmall, i + 1);
		expect_pages(f, held, SM + 1);
	}
	h[SM] = sres(f, 0);
	held[0] = true;
	assert_int_equal(f->t.tree, 1);
	assert_int_equal(f->t.nsmall, 0);
	expect_pages(f, held, SM + 1);
	for (i = 0; i <= SM; i++)
		rel(f, h[i]);
}

/*
 * The tree gives its intervals back to the small arrays only when they
 * drop to half of VTLMEM_RTABLE_SMALL, and takes them again above
 * VTLMEM_RTABLE_SMALL: a table going up and down around either boundary
 * does not switch at every call.
 */
static void the_tree_goes_back_to_the_small_arrays_at_half(void **state)
{
	struct fx *f = *state;
	vtlmem_resv_t h[SM + 1];
	bool held[SM + 1] = { false };
	unsigned i, round;

	for (round = 0; round < 3; round++) {
		for (i = 0; i <= SM; i++) {
			h[i] = sres(f, i);
			held[i] = true;
			assert_int_equal(f->t.tree, i == SM);
		}
		expect_pages(f, held, SM + 1);
		for (i = 0; i < SM / 2 + 1; i++) {   /* 17 -> 9: still the tree */
			rel(f, h[i]);
			held[i] = false;
			assert_int_equal(f->t.tree, i < SM / 2);
			expect_pages(f, held, SM + 1);
		}
		/* 8 left, in the arrays; up to 16 stays there */
		assert_int_equal(f->t.nsmall, SM / 2);
		for (i = 0; i < SM / 2; i++) {
			h[i] = sres(f, i);
			held[i] = true;
			assert_int_equal(f->t.tree, 0);
		}
		expect_pages(f, held, SM + 1);
		for (i = 0; i < SM; i++)
			if (held[i]) {
				rel(f, h[i]);
				held[i] = false;
			}
		assert_int_equal(f->t.tree, 0);
		assert_int_equal(f->t.nsmall, 1);
		rel(f, h[SM]);
		held[SM] = false;
		expect_pages(f, held, SM + 1);
	}
}

/*
 * With the small arrays full, a request that conflicts (exclusive, shared,
 * the third range of three) changes nothing and does not switch; a shared
 * range joining a live interval adds none and does not switch; three free
 * ranges do (in the middle of their commit) and land in address order.
 */
static void conflicts_at_the_switch_change_nothing(void **state)
{
	struct fx *f = *state;
	struct vtlmem_conflict c = CONFLICT_POISON;
	struct vtlmem_rtable_stats st0, st;
	struct vtlmem_range rr[3];
	vtlmem_resv_t h[SM], j, x = { 0x5a5a, NULL };
	struct snap *before;
	bool held[SM + 8] = { false };
	unsigned i;

	for (i = 0; i < SM; i++) {
		h[i] = sres(f, i);
		held[i] = true;
	}
	before = snap_take(f);
	vtlmem_rtable_stats(&f->t, &st0);
	assert_int_equal(res1(f, spage(5) + 0x800, PG, EXCL, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, spage(5), PG, EXCL);
	assert_int_equal(res1(f, spage(4) - 1, PG + 2, SHR, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, spage(4), PG, EXCL);
	/* over pages 7 .. 9: the lowest conflicting one (7 is exclusive, 9 shared) */
	assert_int_equal(res1(f, spage(6) + PG, 3 * 2 * PG, EXCL, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, spage(7), PG, EXCL);
	rr[0] = R(spage(SM + 2), PG);
	rr[1] = R(spage(SM + 1), PG);
	rr[2] = R(spage(SM - 2), PG);   /* exclusive, held */
	assert_int_equal(vtlmem_reserve(&f->t, rr, 3, SHR, &x, &c), -VTLMEM_EBUSY);
	expect_conflict(&c, spage(SM - 2), PG, EXCL);
	assert_int_equal(x.id, 0x5a5a);
	assert_int_equal(f->t.tree, 0);
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.conflicts - st0.conflicts, 4);
	expect_unchanged(f, before, &st0);
	free(before);
	/* page 3 is shared: another reader joins its interval, no switch */
	assert_int_equal(res1(f, spage(3), PG, SHR, &j, NULL), 0);
	assert_int_equal(f->t.tree, 0);
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.intervals, SM);
	rel(f, j);
	/* three free ranges: 16 + 3 intervals, in the tree */
	rr[2] = R(spage(SM + 3), PG);
	assert_int_equal(vtlmem_reserve(&f->t, rr, 3, EXCL, &x, NULL), 0);
	assert_int_equal(f->t.tree, 1);
	vtlmem_rtable_stats(&f->t, &st);
	assert_int_equal(st.intervals, SM + 3);
	assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
	for (i = SM + 1; i <= SM + 3; i++)
		assert_true(vtlmem_is_reserved(&f->t, vtlmem_pa(spage(i)), PG, EXCL));
	assert_true(vtlmem_resv_covers(&f->t, x, vtlmem_pa(spage(SM + 2)), PG));
	rel(f, x);
	assert_int_equal(f->t.tree, 1);
	expect_pages(f, held, SM + 8);
	for (i = 0; i < SM; i++)
		rel(f, h[i]);
}

/*
 * Releases in any order, across both switches: forward, backward, every
 * third, and with a second reader on the shared intervals (a node leaves
 * only with its last reader). After every release the table holds exactly
 * the rest.
 */
static void releases_in_every_order_across_the_switch(void **state)
{
	struct fx *f = *state;
	enum { N = SM + 6 };
	vtlmem_resv_t h[N], extra[N];
	bool held[N];
	unsigned order, i, k, j, readers[N];

	for (order = 0; order < 4; order++) {
		for (i = 0; i < N; i++) {
			h[i] = sres(f, i);
			held[i] = true;
			readers[i] = order == 3 && smode(i) == SHR ? 2 : 1;
			if (readers[i] == 2)
				assert_int_equal(res1(f, spage(i), PG, SHR, &extra[i], NULL), 0);
		}
		assert_int_equal(f->t.tree, 1);   /* N > VTLMEM_RTABLE_SMALL */
		expect_pages_r(f, held, readers, N);
		for (k = 0; k < N; k++) {
			j = order == 0 ? k : order == 1 ? N - 1 - k : (k * 7) % N;
			if (readers[j] == 2) {   /* the first reader goes: the interval stays */
				rel(f, extra[j]);
				readers[j] = 1;
				expect_pages_r(f, held, readers, N);
			}
			rel(f, h[j]);
			held[j] = false;
			expect_pages_r(f, held, readers, N);
		}
		assert_int_equal(f->t.tree, vtlmem_rtable_test_tree_only);
	}
}

/*
 * A request at the switch that needs objects from the platform, and does
 * not get them, changes nothing (the switch itself allocates nothing:
 * the table stays in the arrays); once they come, it switches.
 */
static void allocation_failure_at_the_switch_changes_nothing(void **state)
{
	struct fx *f = *state;
	struct vtlmem_rtable_stats st0, st;
	vtlmem_resv_t h[SM], x = { 0x5a5a, NULL };
	struct snap *before;
	long allocs;
	unsigned i, at;

	for (i = 0; i < SM; i++)
		h[i] = sres(f, i);
	vtlmem_rtable_stats(&f->t, &st0);
	assert_int_equal(st0.cached, 0);   /* the next node and record come from the platform */
	assert_int_equal(st0.retired, 0);
	before = snap_take(f);
	for (at = 1; at <= 2; at++) {
		allocs = f->hp.alloc_live;
		f->hp.fail_alloc_at = at;
		assert_int_equal(res1(f, spage(SM), PG, EXCL, &x, NULL), -VTLMEM_ENOMEM);
		f->hp.fail_alloc_at = 0;
		assert_int_equal(x.id, 0x5a5a);
		assert_int_equal(f->hp.alloc_live, allocs);
		assert_int_equal(f->t.tree, 0);
		vtlmem_rtable_stats(&f->t, &st);
		assert_int_equal(st.objects, st0.objects);
		expect_unchanged(f, before, &st0);
	}
	free(before);
	assert_int_equal(res1(f, spage(SM), PG, EXCL, &x, NULL), 0);
	assert_int_equal(f->t.tree, 1);
	assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
	rel(f, x);
	for (i = 0; i < SM; i++)
		rel(f, h[i]);
}

/*
 * An exclusive request among exclusive intervals only (in the tree: the
 * predecessor/successor path) sees an overlap on either side of its place
 * and reports the one that overlaps, the lower one when both do; the gaps
 * between are free to the byte. Run with enough intervals for the tree.
 */
static void exclusive_request_among_exclusive_intervals_sees_both_neighbours(void **state)
{
	struct fx *f = *state;
	struct vtlmem_conflict c = CONFLICT_POISON;
	vtlmem_resv_t h[SM + 4], x;
	unsigned i;

	for (i = 0; i < SM + 4; i++)   /* [SBASE + 4 i PG, + 2 PG) */
		assert_int_equal(res1(f, SBASE + 4ull * i * PG, 2 * PG, EXCL, &h[i], NULL), 0);
	for (i = 0; i < SM + 4; i++) {
		uint64_t a = SBASE + 4ull * i * PG;

		assert_int_equal(res1(f, a - 1, 1, EXCL, &x, NULL), 0);   /* the byte before */
		rel(f, x);
		assert_int_equal(res1(f, a + 2 * PG - 1, 1, EXCL, &x, &c), -VTLMEM_EBUSY);
		expect_conflict(&c, a, 2 * PG, EXCL);
		assert_int_equal(res1(f, a - PG, PG + 1, EXCL, &x, &c), -VTLMEM_EBUSY);
		expect_conflict(&c, a, 2 * PG, EXCL);
		assert_int_equal(res1(f, a, 2 * PG, EXCL, &x, &c), -VTLMEM_EBUSY);
		expect_conflict(&c, a, 2 * PG, EXCL);
		assert_int_equal(res1(f, a + 2 * PG, 2 * PG, EXCL, &x, &c), 0);   /* the gap */
		rel(f, x);
		if (i) {   /* both neighbours: the lower one */
			assert_int_equal(res1(f, a - 2 * PG - 1, 2 * PG + 2, EXCL, &x, &c),
					 -VTLMEM_EBUSY);
			expect_conflict(&c, a - 4 * PG, 2 * PG, EXCL);
		}
	}
	assert_int_equal(vtlmem_rtable_selfcheck(&f->t), 0);
	for (i = 0; i < SM + 4; i++)
		rel(f, h[i]);
}

/*
 * The randomized model again, with the number of live reservations swept
 * up and down across both switch points (1 .. 20 handles of up to three
 * ranges: about 1 .. 40 intervals), compared after every
 * operation; the table really switched many times each way.
 */
static void randomized_across_the_switch_compared_after_every_op(void **state)
{
	struct fx *f = *state;
	struct model *m = calloc(1, sizeof(*m));
	struct seg *g = calloc(M_MAXLIVE * M_MAXR, sizeof(*g));
	unsigned long op, ups = 0, downs = 0;
	uint32_t was = f->t.tree;
	bool grow = true;
	uint64_t x;

	assert_non_null(m);
	assert_non_null(g);
	m->next_id = 1;
	m->rng = 0x2545f4914f6cdd1dull;
	for (op = 0; op < 20000; op++) {
		if (m->nlive >= 20)
			grow = false;
		else if (m->nlive <= 1)
			grow = true;
		x = rnd_below(m, 100);
		if (x < 60)
			grow ? op_reserve(f, m) : op_release(f, m);
		else if (x < 70)
			grow ? op_release(f, m) : op_reserve(f, m);
		else if (x < 75)
			op_release_bogus(f, m);
		else if (x < 88)
			op_is_reserved(f, m, g);
		else
			op_covers(f, m, g);
		if (f->t.tree != was) {
			ups += f->t.tree;
			downs += !f->t.tree;
			was = f->t.tree;
		}
		model_compare_table(f, m, g);
	}
	assert_true(ups > 100);
	assert_true(downs > 100);
	while (m->nlive)
		op_release(f, m);
	model_compare_table(f, m, g);
	free(g);
	free(m);
}

/*
 * The vmap's check of a held reservation for all runs at once: the index
 * of the first run the handle does not cover (n: none), its mode, one
 * lock hold for all; -ENOENT for a handle that is not live.
 */
static void covers_runs_finds_the_first_uncovered_run_under_one_lock(void **state)
{
	struct fx *f = *state;
	struct vtlmem_range two[2] = { R(0x10000, 2 * PG), R(0x20000, PG) };
	struct vtlmem_range runs[5] = { R(0x10000, PG), R(0x20000, PG), R(0x11000, PG),
					R(0x11fff, 2), R(0x20000, 0) };
	enum vtlmem_rmode mode = SHR;
	uint32_t locks;
	vtlmem_resv_t h, dead = { 12345, NULL };
	size_t first = 99;

	assert_int_equal(vtlmem_reserve(&f->t, two, 2, EXCL, &h, NULL), 0);
	locks = f->t.lock.next;                     /* tickets taken (the library's lock) */
	assert_int_equal(vtlmem_resv_covers_runs(&f->t, h, runs, 3, &first, &mode), 0);
	assert_int_equal(first, 3);                 /* all three covered */
	assert_int_equal(mode, EXCL);
	assert_int_equal(f->t.lock.next - locks, 1);
	assert_int_equal(vtlmem_resv_covers_runs(&f->t, h, runs, 5, &first, &mode), 0);
	assert_int_equal(first, 3);                 /* [0x11fff, 0x12001) leaves the range */
	runs[3] = R(0x20000, 0);
	assert_int_equal(vtlmem_resv_covers_runs(&f->t, h, runs, 4, &first, &mode), 0);
	assert_int_equal(first, 3);                 /* an empty run is never covered */
	runs[3] = R(UINT64_MAX - PG + 1, PG);
	assert_int_equal(vtlmem_resv_covers_runs(&f->t, h, runs, 4, &first, &mode), 0);
	assert_int_equal(first, 3);                 /* nor one reaching 2^64 */
	assert_int_equal(vtlmem_resv_covers_runs(&f->t, h, runs, 0, &first, &mode), 0);
	assert_int_equal(first, 0);
	first = 99;
	mode = SHR;
	assert_int_equal(vtlmem_resv_covers_runs(&f->t, dead, runs, 3, &first, &mode),
			 -VTLMEM_ENOENT);
	assert_int_equal(first, 99);
	assert_int_equal(mode, SHR);
	rel(f, h);
	assert_int_equal(vtlmem_resv_covers_runs(&f->t, h, runs, 3, &first, &mode),
			 -VTLMEM_ENOENT);
	assert_int_equal(first, 99);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(covers_runs_finds_the_first_uncovered_run_under_one_lock),
		T(reserve_range_asks_ownership_once_and_keeps_the_error_order),
		T(reserve_range_allocation_failures_change_nothing),
		T(release_own_finds_the_record_and_refuses_stale_handles),
		T(release_own_never_reads_a_record_of_an_earlier_init),
		T(handles_older_than_the_young_ring_stay_found),
		T(exclusive_request_sees_overlaps_on_both_sides_of_its_place),
		T(conflict_reports_lowest_overlapping_interval),
		T(conflict_same_start_reports_shorter_interval),
		T(shared_request_conflicts_only_with_exclusive_neighbours),
		T(conflict_may_be_null),
		T(conflict_untouched_on_other_errors),
		T(multi_range_request_records_every_range_in_order),
		T(multi_range_kth_conflict_records_nothing),
		T(multi_range_reports_lowest_addressed_conflicting_range),
		T(multi_range_shared_conflict_leaves_reader_counts),
		T(multi_range_adjacent_ranges_are_allowed),
		T(multi_range_overlapping_ranges_are_invalid),
		T(multi_range_overlap_found_among_many),
		T(init_rejects_null_and_missing_allocator),
		T(init_allocates_nothing_and_starts_empty),
		T(reserve_rejects_bad_arguments),
		T(reserve_accepts_max_ranges),
		T(reserve_validates_each_range),
		T(reserve_reports_first_bad_range_in_array_order),
		T(reserve_without_ownership_op_is_denied),
		T(reserve_next_to_secure_range_is_fine),
		T(reserve_validation_precedes_conflict),
		T(reserve_allocation_failure_precedes_overlap_and_conflict),
		T(reserve_fails_with_enospc_when_ids_run_out),
		T(release_rejects_null_table),
		T(release_twice_is_enoent_and_changes_nothing),
		T(release_of_id_zero_or_never_issued_is_enoent),
		T(ids_are_never_reused),
		T(fini_of_a_null_table_is_einval),
		T(fini_refuses_live_handles),
		T(a_failed_reserve_leaves_the_cache_and_the_allocator_as_before),
		T(a_retired_record_taken_while_the_lock_is_dropped_is_replaced),
		T(fini_frees_cache_and_table_can_be_reinitialised),
		T(resv_mode_reports_mode_of_live_handle),
		cmocka_unit_test(alloc_failure_single_range_on_empty_table),
		cmocka_unit_test(alloc_failure_shared_range_joining_live_interval),
		cmocka_unit_test(alloc_failure_four_ranges_with_ref_block),
		cmocka_unit_test(alloc_failure_thirteen_ranges_with_two_ref_blocks),
		cmocka_unit_test(alloc_failure_with_partly_warm_cache),
		T(range_may_end_exactly_at_2_pow_52),
		T(pa_bits_limits_the_address_width),
		T(pa_bits_64_allows_the_whole_space_below_2_pow_64),
		T(wrapping_range_is_eoverflow),
		T(last_page_of_the_space_under_each_pa_bits),
		T(page_zero_is_refused_unless_allowed),
		T(is_reserved_requires_every_byte_covered),
		T(is_reserved_exclusive_needs_exclusive_intervals),
		T(is_reserved_over_nested_shared_intervals),
		T(is_reserved_rejects_empty_wrapping_and_bad_mode),
		T(resv_covers_checks_the_handles_own_ranges),
		T(resv_covers_of_joined_shared_interval),
		T(shared_reservations_of_one_range_are_counted_in_one_interval),
		T(iterate_rejects_null),
		T(dump_prints_one_line_per_interval_and_a_summary),
		T(dump_of_empty_table_and_top_of_address_space),
		T(steady_state_reserve_release_makes_no_platform_allocation),
		T(cache_keeps_at_most_its_bound),
		T(platform_ops_never_run_under_the_table_lock),
		T(randomized_against_flat_array_model_100k_ops),
		T(releases_in_every_order_across_the_switch),
		T(exclusive_request_among_exclusive_intervals_sees_both_neighbours),
	};
	/* the small arrays' switch to the tree and back (not in the tree-only run) */
	const struct CMUnitTest sw[] = {
		T(small_arrays_hold_16_intervals_and_the_17th_moves_them_to_the_tree),
		T(the_tree_goes_back_to_the_small_arrays_at_half),
		T(conflicts_at_the_switch_change_nothing),
		T(allocation_failure_at_the_switch_changes_nothing),
		T(randomized_across_the_switch_compared_after_every_op),
	};
	enum {
		NT = sizeof(tests) / sizeof(tests[0]),
		NA = NT + 4 * NPLACES,
		NS = sizeof(sw) / sizeof(sw[0]),
	};
	static struct CMUnitTest all[2 * NA + NS];
	static char names[NA][160];
	size_t i;

	matrix_fill();
	for (i = 0; i < 4 * NPLACES; i++) {
		all[i].name = matrix[i].name;
		all[i].test_func = overlap_matrix_case;
		all[i].initial_state = &matrix[i];
	}
	for (i = 0; i < NT; i++)
		all[4 * NPLACES + i] = tests[i];
	for (i = 0; i < NS; i++)
		all[NA + i] = sw[i];
	/* every case again with the intervals in the tree from the first one */
	for (i = 0; i < NA; i++) {
		all[NA + NS + i] = all[i];
		snprintf(names[i], sizeof(names[i]), "tree_only_%s", all[i].name);
		all[NA + NS + i].name = names[i];
		all[NA + NS + i].setup_func = all[i].setup_func ? setup_tree : tree_only_on;
		all[NA + NS + i].teardown_func = all[i].setup_func ? teardown_tree : tree_only_off;
	}
	return _cmocka_run_group_tests("reserve", all, 2 * NA + NS, NULL, NULL);
}
