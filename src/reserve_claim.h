/* SPDX-License-Identifier: MIT */
/*
 * Page claims: the reservation table's O(1) path for the one-shot VTL0
 * calls (1-2 whole pages, held only for the duration of one call), taken
 * without the table lock. See reserve_claim.c for the design and why it is
 * exact against the interval tree.
 */
#ifndef VTLMEM_SRC_RESERVE_CLAIM_H
#define VTLMEM_SRC_RESERVE_CLAIM_H

#include <vtlmem/reserve.h>

struct rt_handle;

/* A claim, released by index (the buckets and ways it occupies). */
struct vtlmem_claim {
	uint16_t b[2];
	uint8_t w[2];
	uint8_t n;       /* pages: 1 or 2 */
};

/*
 * Claim pages [pa, pa + npages * 4 KiB) (npages 1 or 2, pa page-aligned,
 * already checked by vtlmem_check_pages_args and the ownership op) in
 * mode, without the table lock. Returns 0 (claimed: release with
 * vtlmem_claim_release), -VTLMEM_EBUSY (another accessor's claim of one of
 * the pages conflicts: nothing changes), or 1: the fast path does not
 * apply (a tree reservation may touch one of the pages, the buckets are
 * full or contended, the claim table could not be allocated, or the
 * platform has no preemption ops): reserve through the tree instead.
 */
int vtlmem_claim_pages(struct vtlmem_rtable *t, uint64_t pa, unsigned npages,
		       enum vtlmem_rmode mode, struct vtlmem_claim *c);

/* A one-shot reservation: a claim (h.id == 0) or a tree handle. */
struct vtlmem_oneshot {
	vtlmem_resv_t h;
	struct vtlmem_claim c;
};

/*
 * Test-only negative control (tests/unit/test_vtl0_threads.c): while set,
 * claims ignore each other (no conflict, no joining), so two writers of a
 * page may both hold it. Never set outside tests.
 */
extern bool vtlmem_claim_test_no_exclusion;

/* Release a claim of vtlmem_claim_pages(). */
void vtlmem_claim_release(struct vtlmem_rtable *t, const struct vtlmem_claim *c);

/*
 * Tree side, table lock held (reserve.c): before handle h is committed,
 * mark the buckets of its pages (or count it as big) and check them for
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

#endif
