/* SPDX-License-Identifier: MIT */
/*
 * Page claims: the reservation table's O(1) path for the one-shot VTL0
 * calls (up to 17 whole pages, held only for the duration of one call), taken
 * without the table lock. See reserve_claim.c for the design and why it is
 * exact against the interval tree.
 */
#ifndef VTLMEM_SRC_RESERVE_CLAIM_H
#define VTLMEM_SRC_RESERVE_CLAIM_H

#include <vtlmem/reserve.h>

#include "arch.h"
#include "compiler.h"

struct rt_handle;

/* Most pages one claim holds: 64 KiB at any offset within its first page. */
#define VTLMEM_CLAIM_MAX_PAGES 17u

/* A claim, released by index (the buckets and ways it occupies). */
struct vtlmem_cl_bucket;

struct vtlmem_claim {
	struct vtlmem_cl_bucket *b[2];   /* b[1] == b[0]: one bucket */
	uint8_t w[2];
};

/*
 * Make the claim table if it does not exist yet (one allocation, then the
 * table lock to mark every live tree handle). Preemption on: it allocates.
 * Returns 0 (the table exists) or -VTLMEM_ENOMEM (nothing changed).
 */
int vtlmem_claims_prepare(struct vtlmem_rtable *t);

/*
 * Test-only negative control (tests/unit/test_vtl0_threads.c): while set,
 * claims ignore each other (no conflict, no joining), so two writers of a
 * page may both hold it. Never set outside tests.
 */
extern bool vtlmem_claim_test_no_exclusion;

/*
 * Test-only negative control (test_vtl0_threads.c): while set, tree
 * reservations neither mark the claim buckets nor unmark them, so a claim
 * does not see a tree reservation made meanwhile and both may hold a
 * page. Set and cleared only while no tree reservation is live.
 */
extern bool vtlmem_claim_test_no_tree_mark;

/*
 * Tree side, table lock held (reserve.c): before handle h is committed,
 * mark the buckets of its pages' groups and check them for
 * conflicting claims. Returns 0, or -VTLMEM_EBUSY with nothing marked,
 * *conf (if not NULL) set to the lowest conflicting claim (pages and
 * mode) of h's first range that has one, and *range to that range's
 * index among h's ranges.
 */
int vtlmem_claims_mark(struct vtlmem_rtable *t, const struct rt_handle *h,
		       struct vtlmem_conflict *conf, uint32_t *range);

/*
 * vtlmem_claims_mark() of the one tree range [s, e) (bytes, non-empty) in
 * mode, for a reservation of one range that has no handle built yet.
 */
int vtlmem_claims_mark_range(struct vtlmem_rtable *t, uint64_t s, uint64_t e, uint32_t mode,
			     struct vtlmem_conflict *conf);

/* Undo vtlmem_claims_mark_range() of [s, e). Table lock held. */
void vtlmem_claims_unmark_range(struct vtlmem_rtable *t, uint64_t s, uint64_t e);

/* Undo vtlmem_claims_mark() for h (release). Table lock held. */
void vtlmem_claims_unmark(struct vtlmem_rtable *t, const struct rt_handle *h);

/*
 * For stats, table lock held: *live the intervals of the live claims
 * (shared claims of the same pages once), *reserves the claims ever,
 * *releases those released, *conflicts the claims refused with -EBUSY.
 */
void vtlmem_claims_count(struct vtlmem_rtable *t, uint64_t *live, uint64_t *reserves,
			 uint64_t *releases, uint64_t *conflicts);

/* Give the claim table back (fini: no claim live). Table lock NOT held. */
void vtlmem_claims_free(struct vtlmem_rtable *t);

/*
 * The claim table, inline here because the one-shot path runs through it
 * on every call (reserve_claim.c has the design and the tree side).
 */
#define CL_BUCKETS     256u
#define CL_WAYS        6u
#define CL_GROUP_SHIFT 4u
#define CL_GROUP_PAGES (1u << CL_GROUP_SHIFT)

_Static_assert(VTLMEM_CLAIM_MAX_PAGES <= CL_GROUP_PAGES + 1, "a claim spans at most 2 groups");
_Static_assert((CL_BUCKETS & (CL_BUCKETS - 1)) == 0, "bucket index is a mask");
_Static_assert(CL_BUCKETS <= 256 && CL_WAYS <= 256, "struct vtlmem_claim indexes");

/*
 * A way: one claim. page, n and mode are written under the bucket lock
 * while held is 0; held is set under the lock and cleared by the claim's
 * release without it (an atomic release store), so it is only ever
 * accessed atomically.
 */
struct vtlmem_cl_ent {
	uint64_t page;           /* first page number                    */
	uint16_t n;              /* pages                                */
	uint16_t mode;           /* enum vtlmem_rmode                    */
	uint32_t held;           /* 1: a live claim; 0: a free way       */
};

struct vtlmem_cl_bucket {
	union {
		struct {
			uint32_t lock;
			uint32_t tree;            /* tree handles touching a group here */
			uint32_t conflicts;       /* lock                                */
			uint32_t hw;              /* lock: ways from hw up are free      */
			uint64_t claims;          /* lock: claims recorded first here, ever */
			struct vtlmem_cl_ent e[CL_WAYS];
		} s;
		char line[128];
	};
};

_Static_assert(sizeof(struct vtlmem_cl_bucket) == 128, "a bucket is two cache lines");

struct vtlmem_cl_table {
	struct vtlmem_cl_bucket b[CL_BUCKETS];
	void *mem;                                /* the allocation holding the table   */
};


static inline void cl_lock(struct vtlmem_cl_bucket *b)
{
	while (__atomic_exchange_n(&b->s.lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&b->s.lock, __ATOMIC_RELAXED))
			vtlmem_arch_cpu_relax();
}

static inline void cl_unlock(struct vtlmem_cl_bucket *b)
{
	__atomic_store_n(&b->s.lock, 0, __ATOMIC_RELEASE);
}

static inline struct vtlmem_cl_bucket *cl_bucket_of(struct vtlmem_cl_table *ct, uint64_t group)
{
	return &ct->b[group & (CL_BUCKETS - 1)];
}

static inline bool cl_held(const struct vtlmem_cl_ent *e)
{
	return __atomic_load_n(&e->held, __ATOMIC_ACQUIRE) != 0;
}

static inline bool cl_conflicts(uint32_t a, uint32_t b)
{
	return a == VTLMEM_RES_EXCLUSIVE || b == VTLMEM_RES_EXCLUSIVE;
}

/* Does e's claim share a page with [first, last]? */
static inline bool cl_overlaps(const struct vtlmem_cl_ent *e, uint64_t first, uint64_t last)
{
	return e->page <= last && first <= e->page + e->n - 1;
}

/*
 * The way in b for a claim of [page, page + n) in mode (bucket locked):
 * the first free one; -1 if b is full, -2 on a conflict. Every claim has
 * a way of its own (shared claims of the same pages do not join), so its
 * release is one store and takes no lock. Only ways below hw are looked
 * at (the others are free); hw drops to just above the last live way
 * seen, so a bucket used by one claim at a time costs one way's check.
 */
VTLMEM_HOT_INLINE int cl_way_for(struct vtlmem_cl_bucket *b, uint64_t page, unsigned n,
				 uint32_t mode)
{
	int free = -1;
	unsigned w, hw = 0;

	for (w = 0; w < b->s.hw; w++) {
		const struct vtlmem_cl_ent *e = &b->s.e[w];

		if (!cl_held(e)) {
			if (free < 0)
				free = (int)w;
			continue;
		}
		hw = w + 1;
		if (cl_overlaps(e, page, page + n - 1) && cl_conflicts(mode, e->mode) &&
		    !__atomic_load_n(&vtlmem_claim_test_no_exclusion, __ATOMIC_RELAXED))
			return -2;
	}
	if (free < 0 && hw < CL_WAYS)
		free = (int)hw;
	b->s.hw = free >= (int)hw ? (unsigned)free + 1 : hw;   /* may stay above a way not taken */
	return free;
}

/* cl_way_for, with a bucket holding no live claim done at once (way 0). */
VTLMEM_HOT_INLINE int cl_pick(struct vtlmem_cl_bucket *b, uint64_t page, unsigned n,
			      uint32_t mode)
{
	if (b->s.hw <= 1 && !cl_held(&b->s.e[0])) {
		b->s.hw = 1;
		return 0;
	}
	return cl_way_for(b, page, n, mode);
}

/* Record the claim in free way w of b (bucket locked; w < hw: cl_pick). */
VTLMEM_HOT_INLINE void cl_take(struct vtlmem_cl_bucket *b, unsigned w, uint64_t page, unsigned n,
			       uint32_t mode)
{
	struct vtlmem_cl_ent *e = &b->s.e[w];

	e->page = page;
	e->n = (uint16_t)n;
	e->mode = (uint16_t)mode;
	__atomic_store_n(&e->held, 1, __ATOMIC_RELAXED);   /* published by the unlock */
}

/* A claim across two groups (reserve_claim.c). Preemption off. */
int vtlmem_claim_pair(struct vtlmem_cl_table *ct, uint64_t page, unsigned n, uint32_t mode,
		      struct vtlmem_claim *c);

/*
 * Claim pages [page, page + npages) (page numbers; 1 <= npages <=
 * VTLMEM_CLAIM_MAX_PAGES; checked by vtlmem_check_pages_args and the
 * ownership op) in mode, without the table lock. Preemption must be off
 * (bucket spinlocks). Returns 0 (claimed: release with
 * vtlmem_claim_release), -VTLMEM_EBUSY (another accessor's claim of one
 * of the pages conflicts: nothing changes), or 1: the fast path does not
 * apply (no claim table yet: vtlmem_claims_prepare; a tree reservation
 * may touch one of the pages' groups; a bucket is full): reserve through
 * the tree instead.
 */

VTLMEM_HOT_INLINE int vtlmem_claim_pages(struct vtlmem_rtable *t, uint64_t page, unsigned npages,
		       enum vtlmem_rmode mode, struct vtlmem_claim *c)
{
	struct vtlmem_cl_table *ct = (struct vtlmem_cl_table *)__atomic_load_n(&t->claims,
									     __ATOMIC_ACQUIRE);
	uint64_t g = page >> CL_GROUP_SHIFT;
	struct vtlmem_cl_bucket *b;
	int w, ret = 1;

	if (!ct)
		return 1;
	if ((page + npages - 1) >> CL_GROUP_SHIFT != g)
		return vtlmem_claim_pair(ct, page, npages, (uint32_t)mode, c);
	b = cl_bucket_of(ct, g);
	cl_lock(b);
	if (b->s.tree)
		goto out;
	w = cl_pick(b, page, npages, (uint32_t)mode);
	if (w == -2) {
		b->s.conflicts++;
		ret = -VTLMEM_EBUSY;
	} else if (w >= 0) {
		cl_take(b, (unsigned)w, page, npages, (uint32_t)mode);
		b->s.claims++;
		c->b[0] = c->b[1] = b;
		c->w[0] = c->w[1] = (uint8_t)w;
		ret = 0;
	}
out:
	cl_unlock(b);
	return ret;
}

/*
 * Release claim c: free its way(s), no lock taken. The release store
 * orders everything the claim's holder did (its copy, the slot entries
 * cleared, the invalidation) before a later claim or tree reservation
 * that finds the way free (an acquire load under the bucket lock).
 */
VTLMEM_HOT_INLINE void vtlmem_claim_release(const struct vtlmem_claim *c)
{
	__atomic_store_n(&c->b[0]->s.e[c->w[0]].held, 0, __ATOMIC_RELEASE);
	if (c->b[1] != c->b[0])
		__atomic_store_n(&c->b[1]->s.e[c->w[1]].held, 0, __ATOMIC_RELEASE);
}

#endif
