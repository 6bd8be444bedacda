/* SPDX-License-Identifier: MIT */
/*
 * The AVL algorithms of rtree (see rtree.h, rtree.c), as always-inline
 * functions taking the order and augmentation callbacks as arguments.
 * rtree.c builds the exported generic calls from them; a user on a hot path
 * (the reservation table) builds its own copies with constant callbacks, so
 * the compiler inlines the comparison and the augmentation into the walk
 * instead of making an indirect call per level. Same code, same invariants.
 *
 * After any structural change the tree is repaired bottom-up from the lowest
 * changed node (fixup): each node on that path gets its height and
 * augmented data recomputed and is rebalanced by at most two rotations.
 * A node's height and data depend only on its own key/data and on its
 * children's height and data, so once a node that was not rotated and is
 * not the node moved by an erase comes out unchanged, nothing above it can
 * change and the walk stops. With a void update() the change cannot be
 * seen, so the walk goes to the root: O(height) = O(log n) either way.
 */
#ifndef VTLMEM_SRC_RTREE_IMPL_H
#define VTLMEM_SRC_RTREE_IMPL_H

#include "rtree.h"

#define RTREE_INLINE static inline __attribute__((always_inline))

/* How augmented data is kept: at most one of the two is set. */
struct rtree_fix {
	vtlmem_rtree_update_fn update;
	vtlmem_rtree_augment_fn augment;
};

/* Recompute height and augmented data of n; true if anything changed. */
RTREE_INLINE bool rtree_refresh(struct vtlmem_rtree_node *n, const struct rtree_fix *f)
{
	int l = vtlmem_rtree_height(n->left), r = vtlmem_rtree_height(n->right);
	int h = 1 + (l > r ? l : r);
	bool changed = h != n->height;

	n->height = h;
	if (f->augment)
		changed |= f->augment(n);
	else if (f->update) {
		f->update(n);
		changed = true;
	}
	return changed;
}

/* Make whatever pointed at old (its parent's link or the root) point at new. */
RTREE_INLINE void rtree_replace_child(struct vtlmem_rtree_node **root,
				      struct vtlmem_rtree_node *parent,
				      struct vtlmem_rtree_node *old, struct vtlmem_rtree_node *new)
{
	if (!parent)
		*root = new;
	else if (parent->left == old)
		parent->left = new;
	else
		parent->right = new;
	if (new)
		new->parent = parent;
}

/* Rotate x's right child y up into x's place; returns y. */
static inline struct vtlmem_rtree_node *rtree_rotate_left(struct vtlmem_rtree_node **root,
							  struct vtlmem_rtree_node *x, const struct rtree_fix *f)
{
	struct vtlmem_rtree_node *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	rtree_replace_child(root, x->parent, x, y);
	y->left = x;
	x->parent = y;
	rtree_refresh(x, f);
	rtree_refresh(y, f);
	return y;
}

/* Rotate x's left child y up into x's place; returns y. */
static inline struct vtlmem_rtree_node *rtree_rotate_right(struct vtlmem_rtree_node **root,
							   struct vtlmem_rtree_node *x, const struct rtree_fix *f)
{
	struct vtlmem_rtree_node *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	rtree_replace_child(root, x->parent, x, y);
	y->right = x;
	x->parent = y;
	rtree_refresh(x, f);
	rtree_refresh(y, f);
	return y;
}

/*
 * Restore the AVL balance at x, whose children are valid AVL trees with
 * exact heights and data. Returns the node now at x's position; *changed
 * tells whether that subtree's height or data may differ from before.
 */
RTREE_INLINE struct vtlmem_rtree_node *rtree_rebalance(struct vtlmem_rtree_node **root,
						       struct vtlmem_rtree_node *x, const struct rtree_fix *f,
						       bool *changed)
{
	int l = vtlmem_rtree_height(x->left), r = vtlmem_rtree_height(x->right);
	int h = 1 + (l > r ? l : r);
	bool c;

	if (__builtin_expect(l - r > 1, 0)) {
		*changed = true;
		if (vtlmem_rtree_height(x->left->left) < vtlmem_rtree_height(x->left->right))
			rtree_rotate_left(root, x->left, f);
		return rtree_rotate_right(root, x, f);
	}
	if (__builtin_expect(r - l > 1, 0)) {
		*changed = true;
		if (vtlmem_rtree_height(x->right->right) < vtlmem_rtree_height(x->right->left))
			rtree_rotate_right(root, x->right, f);
		return rtree_rotate_left(root, x, f);
	}
	/* rtree_refresh() with the child heights already at hand */
	c = h != x->height;
	x->height = h;
	if (f->augment)
		c |= f->augment(x);
	else if (f->update) {
		f->update(x);
		c = true;
	}
	*changed = c;
	return x;
}

/*
 * Repair heights, balance and augmented data from x upwards. moved, if not
 * NULL, is a node an erase put in a new position: its stored data says
 * nothing about its new subtree, so the walk never stops at or below it.
 */
RTREE_INLINE void rtree_fixup(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *x,
			      const struct rtree_fix *f, const struct vtlmem_rtree_node *moved)
{
	bool changed;

	while (x) {
		bool was_moved = x == moved;

		x = rtree_rebalance(root, x, f, &changed);
		if (was_moved)
			moved = NULL;
		else if (!changed && !moved)
			return;
		x = x->parent;
	}
}

RTREE_INLINE void rtree_insert_impl(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
				    vtlmem_rtree_cmp_fn cmp, const struct rtree_fix *f)
{
	struct vtlmem_rtree_node *parent = NULL, **link = root;

	while (*link) {
		parent = *link;
		link = cmp(n, parent) < 0 ? &parent->left : &parent->right;
	}
	n->left = NULL;
	n->right = NULL;
	n->parent = parent;
	n->height = 0;
	*link = n;
	rtree_refresh(n, f);
	rtree_fixup(root, parent, f, NULL);
}

RTREE_INLINE struct vtlmem_rtree_node *rtree_leftmost(struct vtlmem_rtree_node *n)
{
	while (n->left)
		n = n->left;
	return n;
}

RTREE_INLINE struct vtlmem_rtree_node *rtree_rightmost(struct vtlmem_rtree_node *n)
{
	while (n->right)
		n = n->right;
	return n;
}

/*
 * Put n's in-order successor s (the leftmost node of n's right subtree) in
 * n's place; returns the lowest node whose subtree changed.
 */
RTREE_INLINE struct vtlmem_rtree_node *rtree_splice_successor(struct vtlmem_rtree_node **root,
							      struct vtlmem_rtree_node *n)
{
	struct vtlmem_rtree_node *s = rtree_leftmost(n->right), *low = s;

	if (s->parent != n) {
		low = s->parent;
		/* s has no left child: lift its right subtree into its place. */
		rtree_replace_child(root, s->parent, s, s->right);
		s->right = n->right;
		s->right->parent = s;
	}
	s->left = n->left;
	s->left->parent = s;
	rtree_replace_child(root, n->parent, n, s);
	return low;
}

RTREE_INLINE void rtree_erase_impl(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
				   const struct rtree_fix *f)
{
	struct vtlmem_rtree_node *low, *moved = NULL;

	if (n->left && n->right) {
		moved = rtree_leftmost(n->right);
		low = rtree_splice_successor(root, n);
	} else {
		low = n->parent;
		rtree_replace_child(root, n->parent, n, n->left ? n->left : n->right);
	}
	n->left = n->right = n->parent = NULL;
	rtree_fixup(root, low, f, moved);
}

#endif
