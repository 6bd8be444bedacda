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
 * Tree side, table lock held (reserve.c): before handle h is committed,
 * mark the buckets of its pages' groups and check them for
 * conflicting claims. Returns 0, or -VTLMEM_EBUSY with *conf (if not
 * NULL) set to the conflicting claim's page and mode and nothing marked.
 */
int vtlmem_claims_mark(struct vtlmem_rtable *t, const struct rt_handle *h,
		       struct vtlmem_conflict *conf);

/* Undo vtlmem_claims_mark() for h (release). Table lock held. */
void vtlmem_claims_unmark(struct vtlmem_rtable *t, const struct rt_handle *h);

/* Live claims, and the counters of claims ever, for stats. Table lock held. */
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

struct vtlmem_cl_ent {
	uint64_t page;           /* first page number                    */
	uint16_t n;              /* pages                                */
	uint16_t mode;           /* enum vtlmem_rmode                    */
	uint32_t holders;        /* 0: free way                          */
};

struct vtlmem_cl_bucket {
	union {
		struct {
			uint32_t lock;
			uint32_t tree;            /* tree handles touching a group here */
			uint32_t used;            /* ways in use                        */
			uint32_t conflicts;
			uint64_t releases;        /* claims recorded first here, released */
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
 * The way in b for a claim of [page, page + n) in mode: a joinable one
 * (same pages, both shared), else a free one; -1 if b is full, -2 on a
 * conflict.
 */
VTLMEM_HOT_INLINE int cl_way_for(struct vtlmem_cl_bucket *b, uint64_t page, unsigned n,
				 uint32_t mode)
{
	int free = -1, join = -1;
	unsigned w;

	if (!b->s.used)
		return 0;
	for (w = 0; w < CL_WAYS; w++) {
		const struct vtlmem_cl_ent *e = &b->s.e[w];

		if (!e->holders) {
			if (free < 0)
				free = (int)w;
			continue;
		}
		if (!cl_overlaps(e, page, page + n - 1) ||
		    __atomic_load_n(&vtlmem_claim_test_no_exclusion, __ATOMIC_RELAXED))
			continue;
		if (cl_conflicts(mode, e->mode))
			return -2;
		if (e->page == page && e->n == n)
			join = (int)w;   /* shared: join the holders */
	}
	return join >= 0 ? join : free;
}

VTLMEM_HOT_INLINE void cl_take(struct vtlmem_cl_bucket *b, unsigned w, uint64_t page, unsigned n,
			       uint32_t mode)
{
	struct vtlmem_cl_ent *e = &b->s.e[w];

	if (!e->holders) {
		b->s.used++;
		e->page = page;
		e->n = (uint16_t)n;
		e->mode = (uint16_t)mode;
	}
	e->holders++;
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
	if (!b->s.used) {   /* an empty bucket: way 0 */
		b->s.e[0] = (struct vtlmem_cl_ent){ page, (uint16_t)npages, (uint16_t)mode, 1 };
		b->s.used = 1;
		c->b[0] = c->b[1] = b;
		c->w[0] = c->w[1] = 0;
		ret = 0;
		goto out;
	}
	w = cl_way_for(b, page, npages, (uint32_t)mode);
	if (w == -2) {
		b->s.conflicts++;
		ret = -VTLMEM_EBUSY;
	} else if (w >= 0) {
		cl_take(b, (unsigned)w, page, npages, (uint32_t)mode);
		c->b[0] = c->b[1] = b;
		c->w[0] = c->w[1] = (uint8_t)w;
		ret = 0;
	}
out:
	cl_unlock(b);
	return ret;
}

VTLMEM_HOT_INLINE void vtlmem_claim_release(const struct vtlmem_claim *c)
{
	struct vtlmem_cl_bucket *b = c->b[0];

	cl_lock(b);
	if (--b->s.e[c->w[0]].holders == 0)
		b->s.used--;
	b->s.releases++;
	cl_unlock(b);
	if (c->b[1] != c->b[0]) {
		b = c->b[1];
		cl_lock(b);
		if (--b->s.e[c->w[1]].holders == 0)
			b->s.used--;
		cl_unlock(b);
	}
}

#endif
