/* SPDX-License-Identifier: MIT */
/*
 * rtree: an intrusive AVL tree with parent pointers and optional
 * augmentation, used by the reservation table (intervals, live handles).
 *
 * The caller embeds struct vtlmem_rtree_node in its objects, keeps a root
 * pointer (NULL = empty) and does its own lookups by walking left/right.
 * Insert and erase rebalance and keep augmented data (e.g. the maximum end
 * of the intervals in a subtree) exact, children before parents, in one of
 * two ways:
 *  - update() (insert/erase): called on every node from the change up to the
 *    root, O(log n) calls each time;
 *  - augment() (insert_aug/erase_aug): returns whether the node's data
 *    changed; the repair stops at the first node above the structural
 *    change whose height and data are both unchanged (its ancestors cannot
 *    change), which is O(1) amortised for random keys.
 * With update NULL there is no augmentation and the repair stops as soon as
 * a height is unchanged. No allocation, no locking: the caller serialises
 * access.
 *
 * Invariants (checked by vtlmem_rtree_check): in-order traversal is sorted
 * by the caller's order; every node's height is 1 + the larger child
 * height (NULL child: 0) and the child heights differ by at most 1, so a
 * tree of n nodes is at most 1.44 log2(n + 2) high; parent pointers match.
 */
#ifndef VTLMEM_SRC_RTREE_H
#define VTLMEM_SRC_RTREE_H

#include <vtlmem/types.h>

struct vtlmem_rtree_node {
	struct vtlmem_rtree_node *left, *right, *parent;
	int height;
};

/* <0, 0, >0 as a orders before, equal to, after b. */
typedef int (*vtlmem_rtree_cmp_fn)(const struct vtlmem_rtree_node *a,
				   const struct vtlmem_rtree_node *b);
/* Recompute n's augmented data from n and its (already updated) children. */
typedef void (*vtlmem_rtree_update_fn)(struct vtlmem_rtree_node *n);
/* The same, returning true iff the data stored in n changed. */
typedef bool (*vtlmem_rtree_augment_fn)(struct vtlmem_rtree_node *n);

static inline int vtlmem_rtree_height(const struct vtlmem_rtree_node *n)
{
	return n ? n->height : 0;
}

/*
 * Insert n (its link fields need no initialisation). Equal keys go after
 * the existing ones. O(log n).
 */
void vtlmem_rtree_insert(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
			 vtlmem_rtree_cmp_fn cmp, vtlmem_rtree_update_fn update);

/* Remove n, which must be in the tree at *root. O(log n). */
void vtlmem_rtree_erase(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
			vtlmem_rtree_update_fn update);

/* Insert / erase with early-stopping augmentation (augment not NULL). */
void vtlmem_rtree_insert_aug(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
			     vtlmem_rtree_cmp_fn cmp, vtlmem_rtree_augment_fn augment);
void vtlmem_rtree_erase_aug(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
			    vtlmem_rtree_augment_fn augment);

/* In-order traversal: first node or NULL; next/prev node or NULL. */
struct vtlmem_rtree_node *vtlmem_rtree_first(struct vtlmem_rtree_node *root);
struct vtlmem_rtree_node *vtlmem_rtree_next(const struct vtlmem_rtree_node *n);
struct vtlmem_rtree_node *vtlmem_rtree_prev(const struct vtlmem_rtree_node *n);

/*
 * Debug check of every invariant above (O(n), recursion depth = height).
 * Returns the number of nodes, or -1 if an invariant is broken.
 */
long vtlmem_rtree_check(const struct vtlmem_rtree_node *root, vtlmem_rtree_cmp_fn cmp);

#endif
