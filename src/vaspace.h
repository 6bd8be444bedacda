/* SPDX-License-Identifier: MIT */
/*
 * vaspace: the vmap window's virtual-address allocator.
 *
 * Manages an arena of page numbers [start, start + len). The free space is a
 * set of maximal free ranges, one node each, in an address-ordered AVL tree
 * (src/rtree.h) augmented with the largest free length in every subtree.
 * Allocation is address-ordered first fit: the lowest-addressed free range
 * long enough, found by one descent guided by the augmentation, and carved
 * from its low end. O(log n) for n free ranges; nothing scans a list.
 *
 * Invariants (checked by vas_check):
 *   - free ranges are non-empty, inside the arena, sorted, and never
 *     adjacent (freeing always coalesces with both neighbours), so
 *     nfree <= nalloc + 1;
 *   - every node's maxlen is the largest len in its subtree;
 *   - free_pages is the sum of the free ranges' lengths.
 *
 * Memory: allocation never needs a node (it shrinks or removes one); a free
 * that coalesces with neither neighbour needs one, taken from a small cache
 * of spare nodes or else from the platform allocator. Up to VAS_CACHE_MAX
 * spares are kept; more are given back.
 *
 * No locking: the caller (the vmap manager) serialises every call.
 */
#ifndef VTLMEM_SRC_VASPACE_H
#define VTLMEM_SRC_VASPACE_H

#include <vtlmem/platform.h>
#include "rtree.h"

#define VAS_CACHE_MAX 64u

struct vas_node {
	struct vtlmem_rtree_node rb;  /* first: a node pointer is an rb pointer */
	uint64_t start, len;          /* one free range, in pages               */
	uint64_t maxlen;              /* largest len in this subtree            */
};

struct vas {
	const struct vtlmem_platform *p;
	struct vtlmem_rtree_node *root;   /* free ranges by start              */
	struct vas_node *cache;           /* spare nodes, linked through rb.left */
	uint32_t ncache;
	uint64_t start, len;              /* the arena                         */
	uint64_t free_pages;              /* sum of free range lengths         */
	uint64_t nfree;                   /* free ranges (nodes in the tree)   */
	uint64_t nalloc;                  /* live allocations                  */
};

/*
 * Initialise v over the arena [start, start + len) pages, all free, using
 * p's alloc/free for nodes. Returns 0, -VTLMEM_EINVAL (len 0 or the arena
 * wraps), -VTLMEM_ENOMEM (the first node could not be allocated).
 */
int vas_init(struct vas *v, const struct vtlmem_platform *p, uint64_t start, uint64_t len);

/* Give every node (tree and cache) back to the platform. */
void vas_fini(struct vas *v);

/*
 * Allocate len pages: *out = the lowest start of a free range of at least
 * len pages. Returns 0, -VTLMEM_EINVAL (len 0), -VTLMEM_ENOSPC (no free
 * range that long; nothing changes). Never allocates memory. O(log n).
 */
int vas_alloc(struct vas *v, uint64_t len, uint64_t *out);

/*
 * Free [start, start + len), which must be a range no free range overlaps
 * (normally exactly what one vas_alloc returned). Coalesces with the free
 * neighbours. Returns 0, -VTLMEM_EINVAL (len 0, outside the arena, or
 * overlapping free space: nothing changes), -VTLMEM_ENOMEM (a node was
 * needed, the cache was empty and the platform allocator failed: nothing
 * changes). O(log n).
 *
 * Undo: vas_free() of what the directly preceding vas_alloc() returned
 * restores the exact previous state (free ranges, counters, cache) and
 * cannot fail: an allocation that consumed a whole free range left that
 * range's node in the cache, and the free takes it back.
 */
int vas_free(struct vas *v, uint64_t start, uint64_t len);

/*
 * vas_free() of [start, start + len) made of count adjacent allocations
 * (nalloc drops by count): a batch of neighbours freed at once.
 */
int vas_free_many(struct vas *v, uint64_t start, uint64_t len, uint64_t count);

/* Call fn for every free range in address order; returns the count. */
uint64_t vas_for_each(const struct vas *v, void (*fn)(void *arg, uint64_t start, uint64_t len),
		      void *arg);

/* Largest free range (0 if none). O(1). */
uint64_t vas_largest(const struct vas *v);

/*
 * Debug check of every invariant above. O(n). Returns the number of free
 * ranges, or -1 if an invariant is broken.
 */
long vas_check(const struct vas *v);

#endif
