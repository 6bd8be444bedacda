/* SPDX-License-Identifier: MIT */
/*
 * Internal views of a vmap manager, for tests and debugging only: kernel
 * code uses include/vtlmem/vmap.h.
 */
#ifndef VTLMEM_SRC_VMAP_DEBUG_H
#define VTLMEM_SRC_VMAP_DEBUG_H

#include <vtlmem/vmap.h>

struct vas;
struct pgt;

/* The VA allocator (read it only while no other call runs on vm). */
const struct vas *vtlmem_vmap_debug_vas(const struct vtlmem_vmap *vm);

/* The page-table subtree (same rule). */
const struct pgt *vtlmem_vmap_debug_pgt(const struct vtlmem_vmap *vm);

/* First VA of the per-CPU slot area; slot page i of cpu c is at
 * slot_base + (c * (slots_per_cpu + 1) + i) * page size. */
uintptr_t vtlmem_vmap_debug_slot_base(const struct vtlmem_vmap *vm);

/* Mapping structs held in the manager's free pool. */
uint64_t vtlmem_vmap_debug_pool(const struct vtlmem_vmap *vm);

/*
 * Verify the manager's invariants: VA allocator consistent, every free VA
 * page and every guard page has no present leaf entry, quarantine page
 * count and span match its list. Returns 0 or a negative number naming the
 * broken invariant. Takes the lock; O(window pages) (tests only).
 */
int vtlmem_vmap_selfcheck(struct vtlmem_vmap *vm);

#endif
