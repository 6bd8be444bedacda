/* SPDX-License-Identifier: MIT */
/* The vmap window's VA allocator (src/vaspace.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hostplat.h"
#include "../../src/vaspace.h"

#define MAXR 4096

struct ranges {
	uint64_t n;
	uint64_t start[MAXR], len[MAXR];
};

static void collect(void *arg, uint64_t start, uint64_t len)
{
	struct ranges *r = arg;

	if (r->n < MAXR) {
		r->start[r->n] = start;
		r->len[r->n] = len;
	}
	r->n++;
}

static struct ranges *snap(const struct vas *v)
{
	struct ranges *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	vtlmem_vas_for_each(v, collect, r);
	return r;
}

static void assert_same(const struct ranges *a, const struct ranges *b)
{
	uint64_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n && i < MAXR; i++) {
		assert_int_equal(a->start[i], b->start[i]);
		assert_int_equal(a->len[i], b->len[i]);
	}
}

static int setup(void **state)
{
	struct hostplat *hp = calloc(1, sizeof(*hp));

	hostplat_init(hp, 32 << 20);
	*state = hp;
	return 0;
}

static int teardown(void **state)
{
	struct hostplat *hp = *state;

	assert_int_equal(hp->alloc_live, 0);
	hostplat_fini(hp);
	free(hp);
	return 0;
}

static void init_makes_one_free_range_of_the_whole_arena(void **state)
{
	struct hostplat *hp = *state;
	struct vas v;

	assert_int_equal(vtlmem_vas_init(&v, &hp->ops, 100, 1000), 0);
	assert_int_equal(vtlmem_vas_check(&v), 1);
	assert_int_equal(v.free_pages, 1000);
	assert_int_equal(vtlmem_vas_largest(&v), 1000);
	assert_int_equal(hp->alloc_live, 1);
	vtlmem_vas_fini(&v);
	assert_int_equal(hp->alloc_live, 0);
}

static void init_rejects_empty_and_wrapping_arenas_and_reports_enomem(void **state)
{
	struct hostplat *hp = *state;
	struct vas v;

	assert_int_equal(vtlmem_vas_init(&v, &hp->ops, 0, 0), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vas_init(&v, &hp->ops, UINT64_MAX, 2), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vas_init(&v, &hp->ops, UINT64_MAX - 1, 1), 0);
	vtlmem_vas_fini(&v);
	hp->fail_alloc_at = 1;
	assert_int_equal(vtlmem_vas_init(&v, &hp->ops, 0, 10), -VTLMEM_ENOMEM);
	assert_int_equal(hp->alloc_live, 0);
}

static void alloc_is_lowest_address_first_fit(void **state)
{
	struct hostplat *hp = *state;
	struct vas v;
	uint64_t a, b, c, d, e;

	assert_int_equal(vtlmem_vas_init(&v, &hp->ops, 0, 100), 0);
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &a), 0);
	assert_int_equal(vtlmem_vas_alloc(&v, 5, &b), 0);
	assert_int_equal(vtlmem_vas_alloc(&v, 20, &c), 0);
	assert_int_equal(a, 0);
	assert_int_equal(b, 10);
	assert_int_equal(c, 15);
	/* holes: [0,10) and [15,35) free; [35,100) free */
	assert_int_equal(vtlmem_vas_free(&v, 0, 10), 0);
	assert_int_equal(vtlmem_vas_free(&v, 15, 20), 0);
	assert_int_equal(vtlmem_vas_check(&v), 2);   /* [0,10) and [15,100) */
	assert_int_equal(vtlmem_vas_alloc(&v, 11, &d), 0);
	assert_int_equal(d, 15);              /* [0,10) too small */
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &e), 0);
	assert_int_equal(e, 0);               /* exact fit of the lowest hole */
	assert_int_equal(vtlmem_vas_check(&v), 1);
	assert_int_equal(v.free_pages, 100 - 10 - 11 - 5);
	vtlmem_vas_fini(&v);
}

static void alloc_rejects_zero_and_reports_enospc_without_change(void **state)
{
	struct hostplat *hp = *state;
	struct vas v;
	struct ranges *before, *after;
	uint64_t a = 77;

	assert_int_equal(vtlmem_vas_init(&v, &hp->ops, 0, 64), 0);
	assert_int_equal(vtlmem_vas_alloc(&v, 0, &a), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vas_alloc(&v, 30, &a), 0);
	before = snap(&v);
	assert_int_equal(vtlmem_vas_alloc(&v, 35, &a), -VTLMEM_ENOSPC);
	assert_int_equal(a, 0);
	after = snap(&v);
	assert_same(before, after);
	assert_int_equal(vtlmem_vas_alloc(&v, 34, &a), 0);
	assert_int_equal(a, 30);
	assert_int_equal(vtlmem_vas_alloc(&v, 1, &a), -VTLMEM_ENOSPC);
	assert_int_equal(vtlmem_vas_check(&v), 0);
	assert_int_equal(v.free_pages, 0);
	free(before);
	free(after);
	vtlmem_vas_fini(&v);
}

static void free_coalesces_left_right_both_and_alone(void **state)
{
	struct hostplat *hp = *state;
	struct vas v;
	uint64_t a[5], i;

	assert_int_equal(vtlmem_vas_init(&v, &hp->ops, 0, 50), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(vtlmem_vas_alloc(&v, 10, &a[i]), 0);
	assert_int_equal(vtlmem_vas_check(&v), 0);
	assert_int_equal(vtlmem_vas_free(&v, a[1], 10), 0);   /* alone */
	assert_int_equal(vtlmem_vas_check(&v), 1);
	assert_int_equal(vtlmem_vas_free(&v, a[3], 10), 0);   /* alone */
	assert_int_equal(vtlmem_vas_check(&v), 2);
	assert_int_equal(vtlmem_vas_free(&v, a[2], 10), 0);   /* both: [10,40) */
	assert_int_equal(vtlmem_vas_check(&v), 1);
	assert_int_equal(vtlmem_vas_largest(&v), 30);
	assert_int_equal(vtlmem_vas_free(&v, a[0], 10), 0);   /* right neighbour */
	assert_int_equal(vtlmem_vas_check(&v), 1);
	assert_int_equal(vtlmem_vas_free(&v, a[4], 10), 0);   /* left neighbour */
	assert_int_equal(vtlmem_vas_check(&v), 1);
	assert_int_equal(vtlmem_vas_largest(&v), 50);
	assert_int_equal(v.free_pages, 50);
	assert_int_equal(v.nalloc, 0);
	vtlmem_vas_fini(&v);
}

static void free_rejects_ranges_outside_or_overlapping_free_space(void **state)
{
	struct hostplat *hp = *state;
	struct vas v;
	struct ranges *before, *after;
	uint64_t a, b;

	assert_int_equal(vtlmem_vas_init(&v, &hp->ops, 10, 40), 0);
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &a), 0);
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &b), 0);
	before = snap(&v);
	assert_int_equal(vtlmem_vas_free(&v, a, 0), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vas_free(&v, 9, 1), -VTLMEM_EINVAL);          /* below arena */
	assert_int_equal(vtlmem_vas_free(&v, 45, 6), -VTLMEM_EINVAL);         /* past the end */
	assert_int_equal(vtlmem_vas_free(&v, UINT64_MAX, 2), -VTLMEM_EINVAL); /* wraps */
	assert_int_equal(vtlmem_vas_free(&v, b, 11), -VTLMEM_EINVAL);         /* into free tail */
	assert_int_equal(vtlmem_vas_free(&v, 29, 2), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vas_free(&v, a, 10), 0);
	assert_int_equal(vtlmem_vas_free(&v, a, 10), -VTLMEM_EINVAL);         /* double free */
	assert_int_equal(vtlmem_vas_free(&v, a + 5, 1), -VTLMEM_EINVAL);      /* inside free */
	assert_int_equal(vtlmem_vas_free(&v, b - 1, 2), -VTLMEM_EINVAL);      /* straddles */
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &a), 0);
	after = snap(&v);
	assert_same(before, after);
	assert_int_equal(vtlmem_vas_check(&v), 1);
	free(before);
	free(after);
	vtlmem_vas_fini(&v);
}

/*
 * A free never allocates: the spare node a free of a lone range needs was
 * taken by the allocation, so even with the platform allocator failing
 * every free succeeds. The allocation that cannot get its spare node fails
 * with -ENOMEM and changes nothing.
 */
static void free_never_allocates_and_alloc_takes_the_spare_node(void **state)
{
	struct hostplat *hp = *state;
	struct vas v;
	struct ranges *before, *after;
	uint64_t a, b, c, x;
	long live;

	assert_int_equal(vtlmem_vas_init(&v, &hp->ops, 0, 40), 0);
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &a), 0);
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &b), 0);
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &c), 0);
	/* 1 free range + spares >= 3 live allocations + 1 */
	assert_int_equal(v.nfree + v.ncache, 4);
	live = hp->alloc_live;
	hp->fail_alloc_at = 1;
	assert_int_equal(vtlmem_vas_free(&v, a, 10), 0);     /* alone: [0,10) */
	assert_int_equal(vtlmem_vas_free(&v, c, 10), 0);     /* joins [30,40) */
	assert_int_equal(vtlmem_vas_free(&v, b, 10), 0);     /* joins both */
	assert_int_equal(hp->fail_alloc_at, 1);       /* the allocator was never asked */
	assert_int_equal(hp->alloc_live, live);
	assert_int_equal(vtlmem_vas_check(&v), 1);
	/* three allocations again; the fourth cannot get its spare node */
	hp->fail_alloc_at = 0;
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &a), 0);
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &b), 0);
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &c), 0);
	before = snap(&v);
	live = hp->alloc_live;
	hp->fail_alloc_at = 1;
	assert_int_equal(vtlmem_vas_alloc(&v, 5, &x), -VTLMEM_ENOMEM);
	hp->fail_alloc_at = 0;
	after = snap(&v);
	assert_same(before, after);
	assert_int_equal(v.nalloc, 3);
	assert_int_equal(hp->alloc_live, live);
	assert_int_equal(vtlmem_vas_check(&v), 1);
	free(before);
	free(after);
	vtlmem_vas_fini(&v);
}

/* vtlmem_vas_unalloc() of an allocation that took a spare node gives it back. */
static void unalloc_gives_back_the_spare_node_it_took(void **state)
{
	struct hostplat *hp = *state;
	struct vas v;
	struct ranges *before, *after;
	uint64_t a, x;
	uint32_t ncache;
	long live;

	assert_int_equal(vtlmem_vas_init(&v, &hp->ops, 0, 40), 0);
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &a), 0);
	before = snap(&v);
	ncache = v.ncache;
	live = hp->alloc_live;
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &x), 0);
	assert_true(v.grew);
	assert_int_equal(hp->alloc_live, live + 1);
	vtlmem_vas_unalloc(&v, x, 10);
	after = snap(&v);
	assert_same(before, after);
	assert_int_equal(v.ncache, ncache);
	assert_int_equal(hp->alloc_live, live);
	assert_int_equal(vtlmem_vas_check(&v), 1);
	free(before);
	free(after);
	vtlmem_vas_fini(&v);
}

static void free_of_the_last_alloc_restores_the_exact_state(void **state)
{
	struct hostplat *hp = *state;
	struct vas v;
	struct ranges *before, *after;
	uint64_t a, b, x;
	uint32_t ncache;
	long live;

	assert_int_equal(vtlmem_vas_init(&v, &hp->ops, 0, 40), 0);
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &a), 0);
	assert_int_equal(vtlmem_vas_alloc(&v, 5, &b), 0);
	assert_int_equal(vtlmem_vas_free(&v, a, 10), 0);     /* free: [0,10) [15,40) */
	/* shrinking case */
	before = snap(&v);
	ncache = v.ncache;
	live = hp->alloc_live;
	assert_int_equal(vtlmem_vas_alloc(&v, 3, &x), 0);
	vtlmem_vas_unalloc(&v, x, 3);
	after = snap(&v);
	assert_same(before, after);
	assert_int_equal(v.ncache, ncache);
	assert_int_equal(hp->alloc_live, live);
	free(after);
	/* exact-fit case, with the platform allocator failing throughout */
	hp->fail_alloc_at = 1;
	assert_int_equal(vtlmem_vas_alloc(&v, 10, &x), 0);
	assert_int_equal(x, 0);
	vtlmem_vas_unalloc(&v, x, 10);
	hp->fail_alloc_at = 0;
	after = snap(&v);
	assert_same(before, after);
	assert_int_equal(v.ncache, ncache);
	assert_int_equal(hp->alloc_live, live);
	assert_int_equal(vtlmem_vas_check(&v), 2);
	free(before);
	free(after);
	vtlmem_vas_fini(&v);
}

/*
 * Spares: at peak every live allocation holds one (nfree + ncache ==
 * nalloc + 1); once freed, spares the invariant no longer needs are given
 * back down to the cache bound.
 */
static void spare_nodes_are_bounded_by_the_cache_limit(void **state)
{
	struct hostplat *hp = *state;
	struct vas v;
	uint64_t a[400], i;

	assert_int_equal(vtlmem_vas_init(&v, &hp->ops, 0, 800), 0);
	for (i = 0; i < 400; i++)
		assert_int_equal(vtlmem_vas_alloc(&v, 2, &a[i]), 0);
	assert_int_equal(v.nfree + v.ncache, 401);
	assert_int_equal(hp->alloc_live, 401);
	for (i = 0; i < 400; i += 2)       /* 200 separate holes */
		assert_int_equal(vtlmem_vas_free(&v, a[i], 2), 0);
	assert_int_equal(vtlmem_vas_check(&v), 200);
	/* trimmed to nalloc + 1 until 64 spares are left, then each hole used one */
	assert_int_equal(v.nfree + v.ncache, 233);
	assert_true(v.nfree + v.ncache >= v.nalloc + 1);
	for (i = 1; i < 400; i += 2)       /* every free joins two holes */
		assert_int_equal(vtlmem_vas_free(&v, a[i], 2), 0);
	assert_int_equal(vtlmem_vas_check(&v), 1);
	assert_true(v.ncache <= VAS_CACHE_MAX);
	assert_int_equal(hp->alloc_live, (long)(v.nfree + v.ncache));
	vtlmem_vas_fini(&v);
}

/* Reference model: a bitmap of allocated pages and a linear first fit. */
struct model {
	uint64_t npages;
	uint8_t *used;
};

static int64_t model_fit(const struct model *m, uint64_t len)
{
	uint64_t i, run = 0;

	for (i = 0; i < m->npages; i++) {
		run = m->used[i] ? 0 : run + 1;
		if (run == len)
			return (int64_t)(i + 1 - len);
	}
	return -1;
}

static void model_set(struct model *m, uint64_t start, uint64_t len, uint8_t val)
{
	uint64_t i;

	for (i = start; i < start + len; i++) {
		assert_int_not_equal(m->used[i], val);
		m->used[i] = val;
	}
}

static uint64_t model_free_pages(const struct model *m)
{
	uint64_t i, n = 0;

	for (i = 0; i < m->npages; i++)
		n += !m->used[i];
	return n;
}

struct cmp_ctx {
	const struct model *m;
	uint64_t base, next;
	bool ok;
};

/* Each free range must be exactly a maximal run of free model pages. */
static void cmp_range(void *arg, uint64_t start, uint64_t len)
{
	struct cmp_ctx *c = arg;
	uint64_t i, s = start - c->base;

	for (i = c->next; i < s; i++)
		if (!c->m->used[i])
			c->ok = false;
	for (i = s; i < s + len; i++)
		if (c->m->used[i])
			c->ok = false;
	c->next = s + len;
}

static bool same_as_model(const struct vas *v, const struct model *m)
{
	struct cmp_ctx c = { m, v->start, 0, true };
	uint64_t i;

	vtlmem_vas_for_each(v, cmp_range, &c);
	for (i = c.next; i < m->npages; i++)
		if (!m->used[i])
			c.ok = false;
	return c.ok && v->free_pages == model_free_pages(m);
}

static uint64_t rnd_len(unsigned *seed)
{
	unsigned r = (unsigned)rand_r(seed) % 100;

	if (r < 50)
		return 1 + (unsigned)rand_r(seed) % 2;     /* 1-page map + guard */
	if (r < 85)
		return 2 + (unsigned)rand_r(seed) % 17;
	return 1 + (unsigned)rand_r(seed) % 200;
}

static void random_alloc_free_matches_a_first_fit_bitmap_model(void **state)
{
	struct hostplat *hp = *state;
	struct vas v;
	struct model m;
	uint64_t *as = calloc(100000, sizeof(*as)), *al = calloc(100000, sizeof(*al));
	uint64_t nlive = 0, ops, base = 1000, x;
	unsigned seed = 12345;
	int64_t want;
	unsigned long enospc = 0;

	m.npages = 4096;
	m.used = calloc(m.npages, 1);
	assert_int_equal(vtlmem_vas_init(&v, &hp->ops, base, m.npages), 0);
	for (ops = 0; ops < 100000; ops++) {
		if (nlive && (rand_r(&seed) % 100 < 45 || nlive == 100000)) {
			uint64_t k = (uint64_t)rand_r(&seed) % nlive;

			assert_int_equal(vtlmem_vas_free(&v, as[k], al[k]), 0);
			model_set(&m, as[k] - base, al[k], 0);
			as[k] = as[nlive - 1];
			al[k] = al[nlive - 1];
			nlive--;
		} else {
			uint64_t len = rnd_len(&seed);

			want = model_fit(&m, len);
			if (want < 0) {
				assert_int_equal(vtlmem_vas_alloc(&v, len, &x), -VTLMEM_ENOSPC);
				enospc++;
				continue;
			}
			assert_int_equal(vtlmem_vas_alloc(&v, len, &x), 0);
			assert_int_equal(x, base + (uint64_t)want);
			model_set(&m, (uint64_t)want, len, 1);
			as[nlive] = x;
			al[nlive++] = len;
		}
		if (ops % 997 == 0) {
			assert_true(vtlmem_vas_check(&v) >= 0);
			assert_true(same_as_model(&v, &m));
		}
	}
	assert_true(vtlmem_vas_check(&v) >= 0);
	assert_true(same_as_model(&v, &m));
	assert_int_equal(v.nalloc, nlive);
	assert_true(enospc > 0);   /* the pattern did reach exhaustion */
	while (nlive) {
		nlive--;
		assert_int_equal(vtlmem_vas_free(&v, as[nlive], al[nlive]), 0);
	}
	assert_int_equal(vtlmem_vas_check(&v), 1);
	assert_int_equal(v.free_pages, m.npages);
	vtlmem_vas_fini(&v);
	free(m.used);
	free(as);
	free(al);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(init_makes_one_free_range_of_the_whole_arena, setup, teardown),
		cmocka_unit_test_setup_teardown(init_rejects_empty_and_wrapping_arenas_and_reports_enomem, setup, teardown),
		cmocka_unit_test_setup_teardown(alloc_is_lowest_address_first_fit, setup, teardown),
		cmocka_unit_test_setup_teardown(alloc_rejects_zero_and_reports_enospc_without_change, setup, teardown),
		cmocka_unit_test_setup_teardown(free_coalesces_left_right_both_and_alone, setup, teardown),
		cmocka_unit_test_setup_teardown(free_rejects_ranges_outside_or_overlapping_free_space, setup, teardown),
		cmocka_unit_test_setup_teardown(free_never_allocates_and_alloc_takes_the_spare_node, setup, teardown),
		cmocka_unit_test_setup_teardown(unalloc_gives_back_the_spare_node_it_took, setup, teardown),
		cmocka_unit_test_setup_teardown(free_of_the_last_alloc_restores_the_exact_state, setup, teardown),
		cmocka_unit_test_setup_teardown(spare_nodes_are_bounded_by_the_cache_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(random_alloc_free_matches_a_first_fit_bitmap_model, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
