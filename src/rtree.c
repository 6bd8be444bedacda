/* SPDX-License-Identifier: MIT */
/*
 * Intrusive AVL tree with parent pointers and augmentation (see rtree.h).
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
#include "rtree.h"

/* How augmented data is kept: at most one of the two is set. */
struct fix {
	vtlmem_rtree_update_fn update;
	vtlmem_rtree_augment_fn augment;
};

/* Recompute height and augmented data of n; true if anything changed. */
static bool refresh(struct vtlmem_rtree_node *n, const struct fix *f)
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
static void replace_child(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *parent,
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
static struct vtlmem_rtree_node *rotate_left(struct vtlmem_rtree_node **root,
					     struct vtlmem_rtree_node *x, const struct fix *f)
{
	struct vtlmem_rtree_node *y = x->right;

	x->right = y->left;
	if (y->left)
		y->left->parent = x;
	replace_child(root, x->parent, x, y);
	y->left = x;
	x->parent = y;
	refresh(x, f);
	refresh(y, f);
	return y;
}

/* Rotate x's left child y up into x's place; returns y. */
static struct vtlmem_rtree_node *rotate_right(struct vtlmem_rtree_node **root,
					      struct vtlmem_rtree_node *x, const struct fix *f)
{
	struct vtlmem_rtree_node *y = x->left;

	x->left = y->right;
	if (y->right)
		y->right->parent = x;
	replace_child(root, x->parent, x, y);
	y->right = x;
	x->parent = y;
	refresh(x, f);
	refresh(y, f);
	return y;
}

/*
 * Restore the AVL balance at x, whose children are valid AVL trees with
 * exact heights and data. Returns the node now at x's position; *changed
 * tells whether that subtree's height or data may differ from before.
 */
static struct vtlmem_rtree_node *rebalance(struct vtlmem_rtree_node **root,
					   struct vtlmem_rtree_node *x, const struct fix *f,
					   bool *changed)
{
	int bal = vtlmem_rtree_height(x->left) - vtlmem_rtree_height(x->right);

	*changed = true;
	if (bal > 1) {
		if (vtlmem_rtree_height(x->left->left) < vtlmem_rtree_height(x->left->right))
			rotate_left(root, x->left, f);
		return rotate_right(root, x, f);
	}
	if (bal < -1) {
		if (vtlmem_rtree_height(x->right->right) < vtlmem_rtree_height(x->right->left))
			rotate_right(root, x->right, f);
		return rotate_left(root, x, f);
	}
	*changed = refresh(x, f);
	return x;
}

/*
 * Repair heights, balance and augmented data from x upwards. moved, if not
 * NULL, is a node an erase put in a new position: its stored data says
 * nothing about its new subtree, so the walk never stops at or below it.
 */
static void fixup(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *x,
		  const struct fix *f, const struct vtlmem_rtree_node *moved)
{
	bool changed;

	while (x) {
		bool was_moved = x == moved;

		x = rebalance(root, x, f, &changed);
		if (was_moved)
			moved = NULL;
		else if (!changed && !moved)
			return;
		x = x->parent;
	}
}

static void insert(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
		   vtlmem_rtree_cmp_fn cmp, const struct fix *f)
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
	refresh(n, f);
	fixup(root, parent, f, NULL);
}

void vtlmem_rtree_insert(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
			 vtlmem_rtree_cmp_fn cmp, vtlmem_rtree_update_fn update)
{
	struct fix f = { update, NULL };

	insert(root, n, cmp, &f);
}

void vtlmem_rtree_insert_aug(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
			     vtlmem_rtree_cmp_fn cmp, vtlmem_rtree_augment_fn augment)
{
	struct fix f = { NULL, augment };

	insert(root, n, cmp, &f);
}

static struct vtlmem_rtree_node *leftmost(struct vtlmem_rtree_node *n)
{
	while (n->left)
		n = n->left;
	return n;
}

static struct vtlmem_rtree_node *rightmost(struct vtlmem_rtree_node *n)
{
	while (n->right)
		n = n->right;
	return n;
}

/*
 * Put n's in-order successor s (the leftmost node of n's right subtree) in
 * n's place; returns the lowest node whose subtree changed.
 */
static struct vtlmem_rtree_node *splice_successor(struct vtlmem_rtree_node **root,
						  struct vtlmem_rtree_node *n)
{
	struct vtlmem_rtree_node *s = leftmost(n->right), *low = s;

	if (s->parent != n) {
		low = s->parent;
		/* s has no left child: lift its right subtree into its place. */
		replace_child(root, s->parent, s, s->right);
		s->right = n->right;
		s->right->parent = s;
	}
	s->left = n->left;
	s->left->parent = s;
	replace_child(root, n->parent, n, s);
	return low;
}

static void erase(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
		  const struct fix *f)
{
	struct vtlmem_rtree_node *low, *moved = NULL;

	if (n->left && n->right) {
		moved = leftmost(n->right);
		low = splice_successor(root, n);
	} else {
		low = n->parent;
		replace_child(root, n->parent, n, n->left ? n->left : n->right);
	}
	n->left = n->right = n->parent = NULL;
	fixup(root, low, f, moved);
}

void vtlmem_rtree_erase(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
			vtlmem_rtree_update_fn update)
{
	struct fix f = { update, NULL };

	erase(root, n, &f);
}

void vtlmem_rtree_erase_aug(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
			    vtlmem_rtree_augment_fn augment)
{
	struct fix f = { NULL, augment };

	erase(root, n, &f);
}

struct vtlmem_rtree_node *vtlmem_rtree_first(struct vtlmem_rtree_node *root)
{
	return root ? leftmost(root) : NULL;
}

struct vtlmem_rtree_node *vtlmem_rtree_next(const struct vtlmem_rtree_node *n)
{
	if (n->right)
		return leftmost(n->right);
	while (n->parent && n->parent->right == n)
		n = n->parent;
	return n->parent;
}

struct vtlmem_rtree_node *vtlmem_rtree_prev(const struct vtlmem_rtree_node *n)
{
	if (n->left)
		return rightmost(n->left);
	while (n->parent && n->parent->left == n)
		n = n->parent;
	return n->parent;
}

/* Heights, balance and parent links of the subtree at n; -1 if broken. */
static long check_shape(const struct vtlmem_rtree_node *n, const struct vtlmem_rtree_node *parent)
{
	long l, r;
	int hl, hr;

	if (!n)
		return 0;
	if (n->parent != parent)
		return -1;
	l = check_shape(n->left, n);
	r = check_shape(n->right, n);
	if (l < 0 || r < 0)
		return -1;
	hl = vtlmem_rtree_height(n->left);
	hr = vtlmem_rtree_height(n->right);
	if (n->height != 1 + (hl > hr ? hl : hr) || hl - hr > 1 || hr - hl > 1)
		return -1;
	return l + r + 1;
}

long vtlmem_rtree_check(const struct vtlmem_rtree_node *root, vtlmem_rtree_cmp_fn cmp)
{
	const struct vtlmem_rtree_node *n, *prev = NULL;
	long count = check_shape(root, NULL), seen = 0;

	if (count <= 0)
		return count;
	for (n = leftmost((struct vtlmem_rtree_node *)root); n; n = vtlmem_rtree_next(n)) {
		if (prev && cmp(prev, n) > 0)
			return -1;
		prev = n;
		seen++;
	}
	return seen == count ? count : -1;
}
