/* SPDX-License-Identifier: MIT */
/*
 * Page claims (reserve_claim.h): the reservation table's path for the
 * one-shot VTL0 calls, which reserve up to CL_MAX_PAGES whole pages (64 KiB
 * at any offset) for the duration of one call. It takes no table lock, so
 * one-shot calls on different pages from different CPUs do not serialise
 * on the table.
 *
 * Structure: a set-associative table of CL_BUCKETS buckets. Pages are
 * grouped by CL_GROUP_PAGES (the page number shifted right by
 * CL_GROUP_SHIFT); group g's bucket is g mod CL_BUCKETS. A bucket is a
 * 128-byte, spinlock-protected set of CL_WAYS ways, one claim each {first
 * page, pages, mode, held}, plus `tree`, the number of tree reservations (handles of
 * the interval tree) that touch a page of one of its groups (a range over
 * CL_BUCKETS groups marks every bucket once). A claim spans at most two groups
 * (CL_MAX_PAGES <= CL_GROUP_PAGES + 1) and is recorded in the bucket of
 * each group it touches, so two claims that share a page meet in that
 * page's bucket. The claim table is made by vtlmem_claims_prepare() on the
 * first one-shot call (vtlmem_rtable_init allocates nothing).
 *
 * Exactness against the interval tree (the only other place reservations
 * live). A claim locks its buckets and proceeds only if no tree
 * reservation marks them; otherwise the call reserves through the tree.
 * A tree reservation (table lock held) marks the bucket of each of its
 * pages' groups and checks it for conflicting claims, both under one hold
 * of the bucket's lock. Two accessors of one page meet in that page's
 * bucket (a claim is recorded in every bucket it touches), and for that
 * bucket B either the claim's critical section on B comes first, and the
 * tree's check of B finds the claim (-EBUSY: the tree unmarks what it
 * marked), or the tree's mark-and-check of B comes first, and the claim,
 * taking B's lock after it, sees the mark and goes to the tree, where the
 * table lock orders it after the tree reservation. So a claim and a tree
 * reservation of one page never both succeed in conflicting modes.
 *
 * Cost: a claim is one lock (one locked atomic operation), a scan of the
 * CL_WAYS ways (one line), a few stores and the unlock (a release
 * store). Its release is one release store per bucket, no lock: every
 * claim has a way of its own (shared claims of the same pages do not
 * join; a seventh live claim in one bucket goes to the tree), so nobody
 * else writes that way until it is free. The lock-free release is exact:
 * a way's page, pages and mode are only written under the lock while it
 * is free, and whoever finds it free (a claim, or the tree's check, both
 * under the lock) does so with an acquire load that pairs with the
 * release store, after everything the holder did.
 *
 * Scaling (64 CPUs): a claim touches only its 1-2 buckets' lines (lock,
 * entries, counters); more than CL_WAYS claims live at once in one bucket
 * (e.g. many CPUs reading one 64 KiB stretch) spill to the tree. CPUs on pages of different
 * groups meet only if the groups agree mod CL_BUCKETS (one group in 256
 * across 16 MiB of VTL0 memory); CPUs on pages of one group (a 64 KiB
 * stretch) share its bucket line. Nothing global is written. Tree
 * reservations cost one bucket lock round trip more per group they touch,
 * at most CL_BUCKETS (ranges over CL_BUCKETS groups mark and scan the whole
 * claim table: O(CL_BUCKETS * CL_WAYS), bounded).
 *
 * Context: claims and their release run with preemption off (the caller's
 * preempt_off, which disables interrupts wherever slots are used from
 * interrupts), so an interrupt never spins on a bucket lock its own CPU
 * holds; the tree side holds bucket locks only under the table lock.
 */
#include "arch.h"
#include "lock.h"
#include "reserve_claim.h"
#include "reserve_internal.h"

#define PG VTLMEM_PAGE_SIZE
#define CL_ALLOC (sizeof(struct vtlmem_cl_table) + 127)   /* room to align */

bool vtlmem_claim_test_no_exclusion;
bool vtlmem_claim_test_no_tree_mark;

/* What one tree mark adds to a bucket's count: 1 (0 under the test switch). */
static uint32_t mark_unit(void)
{
	return !__atomic_load_n(&vtlmem_claim_test_no_tree_mark, __ATOMIC_RELAXED);
}

/*
 * The first group of tree range [s, e) and how many buckets its groups
 * cover (a range over CL_BUCKETS groups: every bucket, once).
 */
static uint64_t groups_of(uint64_t s, uint64_t e, uint64_t *cnt)
{
	uint64_t first = s / PG >> CL_GROUP_SHIFT, last = (e - 1) / PG >> CL_GROUP_SHIFT;

	*cnt = last - first < CL_BUCKETS ? last - first + 1 : CL_BUCKETS;
	return first;
}

/* Mark (+1) or unmark (-1) the buckets of tree range [s, e). Table lock held. */
static void mark_span(struct vtlmem_cl_table *ct, uint64_t s, uint64_t e, int d)
{
	uint64_t k, cnt, g = groups_of(s, e, &cnt);
	struct vtlmem_cl_bucket *b;

	for (k = 0; k < cnt; k++) {
		b = cl_bucket_of(ct, g + k);
		cl_lock(b);
		b->s.tree += (uint32_t)d * mark_unit();
		cl_unlock(b);
	}
}

/* mark_span() of h's first nref ranges. Table lock held. */
static void mark(struct vtlmem_cl_table *ct, const struct rt_handle *h, uint32_t nref, int d)
{
	const struct rt_node *n;
	struct ref_cursor c;
	uint32_t i;

	cursor_init(&c, (struct rt_handle *)h);
	for (i = 0; i < nref; i++) {
		n = *cursor_next(&c);
		mark_span(ct, n->start, n->end, d);
	}
}

/* A live claim in b of a page in [first, last] conflicting with mode. */
static const struct vtlmem_cl_ent *find_in(struct vtlmem_cl_bucket *b, uint64_t first,
					    uint64_t last, uint32_t mode)
{
	const struct vtlmem_cl_ent *best = NULL;
	unsigned w;

	for (w = 0; w < CL_WAYS; w++) {
		const struct vtlmem_cl_ent *e = &b->s.e[w];

		if (cl_held(e) && cl_overlaps(e, first, last) && cl_conflicts(mode, e->mode) &&
		    (!best || e->page < best->page || (e->page == best->page && e->n < best->n)))
			best = e;
	}
	return best;
}

/*
 * Mark the buckets of tree range [s, e), and find in each, under the same
 * hold of its lock, the conflicting claim with the lowest (start, end):
 * into *best (held 0: none). Buckets locked one at a time; table lock
 * held.
 */
static void mark_check_span(struct vtlmem_cl_table *ct, uint64_t s, uint64_t end, uint32_t mode,
			    struct vtlmem_cl_ent *best)
{
	uint64_t first = s / PG, last = (end - 1) / PG, k, cnt, g = groups_of(s, end, &cnt);
	const struct vtlmem_cl_ent *e;
	struct vtlmem_cl_bucket *b;

	for (k = 0; k < cnt; k++) {
		b = cl_bucket_of(ct, g + k);
		cl_lock(b);
		b->s.tree += mark_unit();
		e = find_in(b, first, last, mode);
		if (e && (!best->held || e->page < best->page ||
			  (e->page == best->page && e->n < best->n))) {
			best->page = e->page;   /* field by field: held is atomic */
			best->n = e->n;
			best->mode = e->mode;
			best->held = 1;
		}
		cl_unlock(b);
	}
}

/* The conflicting claim found, as a conflict report (if asked for). */
static void report(const struct vtlmem_cl_ent *best, struct vtlmem_conflict *conf)
{
	if (conf) {
		conf->pa = vtlmem_pa(best->page * PG);
		conf->len = (uint64_t)best->n * PG;
		conf->mode = (enum vtlmem_rmode)best->mode;
	}
}

/*
 * Mark and check h's ranges in order, up to the first range with a
 * conflicting claim; on one, unmark what was marked and report the lowest
 * conflicting claim of that range into *conf, its index into *range. One lock hold per bucket
 * is exact (see the top of the file: the argument is per bucket, and a
 * claim is recorded in every bucket it touches).
 */
int vtlmem_claims_mark(struct vtlmem_rtable *t, const struct rt_handle *h,
		       struct vtlmem_conflict *conf, uint32_t *range)
{
	struct vtlmem_cl_table *ct = t->claims;
	struct vtlmem_cl_ent best = { 0, 0, 0, 0 };
	const struct rt_node *n;
	struct ref_cursor c;
	uint32_t i;

	if (!ct)
		return 0;
	cursor_init(&c, (struct rt_handle *)h);
	for (i = 0; i < h->nref && !best.held; i++) {
		n = *cursor_next(&c);
		mark_check_span(ct, n->start, n->end, h->mode, &best);
	}
	if (!best.held)
		return 0;
	mark(ct, h, i, -1);
	report(&best, conf);
	*range = i - 1;
	return -VTLMEM_EBUSY;
}

int vtlmem_claims_mark_range(struct vtlmem_rtable *t, uint64_t s, uint64_t e, uint32_t mode,
			     struct vtlmem_conflict *conf)
{
	struct vtlmem_cl_table *ct = t->claims;
	struct vtlmem_cl_ent best = { 0, 0, 0, 0 };

	if (!ct)
		return 0;
	mark_check_span(ct, s, e, mode, &best);
	if (!best.held)
		return 0;
	mark_span(ct, s, e, -1);
	report(&best, conf);
	return -VTLMEM_EBUSY;
}

void vtlmem_claims_unmark_range(struct vtlmem_rtable *t, uint64_t s, uint64_t e)
{
	if (t->claims)
		mark_span(t->claims, s, e, -1);
}

void vtlmem_claims_unmark(struct vtlmem_rtable *t, const struct rt_handle *h)
{
	if (t->claims)
		mark(t->claims, h, h->nref, -1);
}

int vtlmem_claims_prepare(struct vtlmem_rtable *t)
{
	const struct vtlmem_platform *p = t->plat;
	struct vtlmem_cl_table *ct, *have;
	struct rt_handle *h;
	void *mem;
	volatile uint8_t *z;
	size_t i;

	if (__atomic_load_n(&t->claims, __ATOMIC_ACQUIRE))
		return 0;
	mem = p->alloc(p->ctx, CL_ALLOC);
	if (!mem)
		return -VTLMEM_ENOMEM;
	/* buckets on 128-byte boundaries: CPUs on neighbouring groups share no line */
	ct = (struct vtlmem_cl_table *)(((uintptr_t)mem + 127) & ~(uintptr_t)127);
	z = (volatile uint8_t *)ct;
	for (i = 0; i < sizeof(*ct); i++)   /* freestanding: no memset */
		z[i] = 0;
	ct->mem = mem;
	vtlmem_lock_acquire(p, &t->lock);
	have = t->claims;
	if (!have) {
		/* every live tree handle marks its buckets before any claim */
		for (h = rt_handle_first(t); h; h = rt_handle_next(t, h))
			mark(ct, h, h->nref, 1);
		__atomic_store_n(&t->claims, ct, __ATOMIC_RELEASE);
	}
	vtlmem_lock_release(p, &t->lock);
	if (have)
		p->free(p->ctx, mem, CL_ALLOC);
	return 0;
}

/* Both buckets locked, unmarked: record the claim in each. */
static int claim_two(struct vtlmem_cl_bucket *b0, struct vtlmem_cl_bucket *b1,
		     uint64_t page, unsigned n, uint32_t mode, struct vtlmem_claim *c)
{
	int w0 = cl_pick(b0, page, n, mode), w1 = w0 == -2 ? 0 : cl_pick(b1, page, n, mode);

	if (w0 == -2 || w1 == -2) {
		b0->s.conflicts++;
		return -VTLMEM_EBUSY;
	}
	if (w0 < 0 || w1 < 0)
		return 1;   /* a bucket is full */
	cl_take(b0, (unsigned)w0, page, n, mode);
	cl_take(b1, (unsigned)w1, page, n, mode);
	b0->s.claims++;
	c->b[0] = b0;
	c->b[1] = b1;
	c->w[0] = (uint8_t)w0;
	c->w[1] = (uint8_t)w1;
	return 0;
}

/* A claim across two groups: both buckets, the lower address first. */
int vtlmem_claim_pair(struct vtlmem_cl_table *ct, uint64_t page, unsigned n, uint32_t mode,
		      struct vtlmem_claim *c)
{
	struct vtlmem_cl_bucket *b0 = cl_bucket_of(ct, page >> CL_GROUP_SHIFT);
	struct vtlmem_cl_bucket *b1 = cl_bucket_of(ct, (page + n - 1) >> CL_GROUP_SHIFT);
	int ret = 1;

	cl_lock(b0 < b1 ? b0 : b1);
	cl_lock(b0 < b1 ? b1 : b0);
	if (!b0->s.tree && !b1->s.tree)
		ret = claim_two(b0, b1, page, n, mode, c);
	cl_unlock(b0);
	cl_unlock(b1);
	return ret;
}

/* Is way w of b a shared claim of the same pages as a live way before it? */
static bool same_as_earlier(const struct vtlmem_cl_bucket *b, unsigned w)
{
	const struct vtlmem_cl_ent *e = &b->s.e[w], *f;
	unsigned v;

	for (v = 0; v < w; v++) {
		f = &b->s.e[v];
		if (cl_held(f) && f->page == e->page && f->n == e->n &&
		    e->mode == VTLMEM_RES_SHARED && f->mode == VTLMEM_RES_SHARED)
			return true;
	}
	return false;
}

/*
 * The live claims recorded first in b (a claim across two groups is in
 * two buckets), and the intervals they make (shared claims of the same
 * pages counted once, as the tree counts its shared intervals). Bucket
 * locked: no way changes but by a release (held 1 -> 0).
 */
static void primaries(struct vtlmem_cl_table *ct, const struct vtlmem_cl_bucket *b,
		      uint64_t *intervals, uint64_t *claims)
{
	unsigned w;

	for (w = 0; w < CL_WAYS; w++) {
		const struct vtlmem_cl_ent *e = &b->s.e[w];

		if (cl_held(e) && cl_bucket_of(ct, e->page >> CL_GROUP_SHIFT) == b) {
			++*claims;
			if (!same_as_earlier(b, w))
				++*intervals;
		}
	}
}

void vtlmem_claims_count(struct vtlmem_rtable *t, uint64_t *live, uint64_t *reserves,
			 uint64_t *releases, uint64_t *conflicts)
{
	struct vtlmem_cl_table *ct = t->claims;
	struct vtlmem_cl_bucket *b;
	uint64_t held;
	unsigned k;

	*live = *reserves = *releases = *conflicts = 0;
	if (!ct)
		return;
	for (k = 0; k < CL_BUCKETS; k++) {
		b = &ct->b[k];
		cl_lock(b);
		/* released = claimed - still held (the release has no counter) */
		held = 0;
		primaries(ct, b, live, &held);
		*reserves += b->s.claims;
		*releases += b->s.claims - held;
		*conflicts += b->s.conflicts;
		cl_unlock(b);
	}
}

void vtlmem_claims_free(struct vtlmem_rtable *t)
{
	struct vtlmem_cl_table *ct = t->claims;

	if (ct) {
		t->claims = NULL;
		t->plat->free(t->plat->ctx, ct->mem, CL_ALLOC);
	}
}
