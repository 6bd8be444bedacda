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
 * Invariants (checked by vtlmem_vas_check):
 *   - free ranges are non-empty, inside the arena, sorted, and never
 *     adjacent (freeing always coalesces with both neighbours), so
 *     nfree <= nalloc + 1;
 *   - every node's maxlen is the largest len in its subtree;
 *   - free_pages is the sum of the free ranges' lengths.
 *
 * Memory: a free never needs memory, so giving VA back cannot fail. Free
 * ranges are never adjacent, so nfree <= nalloc + 1 at all times, and each
 * free adds at most one range; vtlmem_vas_alloc therefore keeps the invariant
 *   nfree + ncache >= nalloc + 1      (every node a later free can need)
 * by taking one node from the platform into the spare cache when it is
 * short (the only allocation; -ENOMEM then, nothing changed). Spares beyond
 * VAS_CACHE_MAX that the invariant does not need are given back.
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

_Static_assert(__builtin_offsetof(struct vas_node, rb) == 0, "a node pointer is an rb pointer");

struct vas {
	const struct vtlmem_platform *p;
	struct vtlmem_rtree_node *root;   /* free ranges by start              */
	struct vas_node *cache;           /* spare nodes, linked through rb.left */
	uint32_t ncache;
	uint64_t start, len;              /* the arena                         */
	uint64_t free_pages;              /* sum of free range lengths         */
	uint64_t nfree;                   /* free ranges (nodes in the tree)   */
	uint64_t nalloc;                  /* live allocations                  */
	bool grew;                        /* last vtlmem_vas_alloc took a node        */
};

/*
 * Initialise v over the arena [start, start + len) pages, all free, using
 * p's alloc/free for nodes. Returns 0, -VTLMEM_EINVAL (len 0 or the arena
 * wraps), -VTLMEM_ENOMEM (the first node could not be allocated).
 */
int vtlmem_vas_init(struct vas *v, const struct vtlmem_platform *p, uint64_t start, uint64_t len);

/* Give every node (tree and cache) back to the platform. */
void vtlmem_vas_fini(struct vas *v);

/*
 * Allocate len pages: *out = the lowest start of a free range of at least
 * len pages. Returns 0, -VTLMEM_EINVAL (len 0), -VTLMEM_ENOSPC (no free
 * range that long), -VTLMEM_ENOMEM (the spare node the invariant needs
 * could not be allocated); nothing changes on error. O(log n).
 */
int vtlmem_vas_alloc(struct vas *v, uint64_t len, uint64_t *out);

/*
 * Undo the directly preceding vtlmem_vas_alloc(): restores the exact previous
 * state (free ranges, counters, spare cache, platform allocations) and
 * cannot fail. start/len are what that call allocated.
 */
void vtlmem_vas_unalloc(struct vas *v, uint64_t start, uint64_t len);

/*
 * Free [start, start + len), which must be a range no free range overlaps
 * (normally exactly what one vtlmem_vas_alloc returned). Coalesces with the free
 * neighbours. Returns 0, or -VTLMEM_EINVAL (len 0, outside the arena, or
 * overlapping free space: nothing changes). Never allocates. O(log n).
 */
int vtlmem_vas_free(struct vas *v, uint64_t start, uint64_t len);

/*
 * vtlmem_vas_free() of [start, start + len) made of count adjacent allocations
 * (nalloc drops by count): a batch of neighbours freed at once.
 */
int vtlmem_vas_free_many(struct vas *v, uint64_t start, uint64_t len, uint64_t count);

/* Call fn for every free range in address order; returns the count. */
uint64_t vtlmem_vas_for_each(const struct vas *v,
			     void (*fn)(void *arg, uint64_t start, uint64_t len),
			     void *arg);

/* Largest free range (0 if none). O(1). */
uint64_t vtlmem_vas_largest(const struct vas *v);

/*
 * Debug check of every invariant above. O(n). Returns the number of free
 * ranges, or -1 if an invariant is broken.
 */
long vtlmem_vas_check(const struct vas *v);

#endif
