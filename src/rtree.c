/* SPDX-License-Identifier: MIT */
/*
 * Intrusive AVL tree with parent pointers and augmentation (see rtree.h).
 *
 * The algorithms live in rtree_impl.h (always-inline, shared with the
 * reservation table's specialised copies); this file exports them with
 * the callbacks as run-time arguments, plus traversal and the check.
 */
#include "rtree_impl.h"

void vtlmem_rtree_insert(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
			 vtlmem_rtree_cmp_fn cmp, vtlmem_rtree_update_fn update)
{
	struct rtree_fix f = { update, NULL };

	rtree_insert_impl(root, n, cmp, &f);
}

void vtlmem_rtree_insert_aug(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
			     vtlmem_rtree_cmp_fn cmp, vtlmem_rtree_augment_fn augment)
{
	struct rtree_fix f = { NULL, augment };

	rtree_insert_impl(root, n, cmp, &f);
}

void vtlmem_rtree_erase(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
			vtlmem_rtree_update_fn update)
{
	struct rtree_fix f = { update, NULL };

	rtree_erase_impl(root, n, &f);
}

void vtlmem_rtree_erase_aug(struct vtlmem_rtree_node **root, struct vtlmem_rtree_node *n,
			    vtlmem_rtree_augment_fn augment)
{
	struct rtree_fix f = { NULL, augment };

	rtree_erase_impl(root, n, &f);
}

struct vtlmem_rtree_node *vtlmem_rtree_first(struct vtlmem_rtree_node *root)
{
	return root ? rtree_leftmost(root) : NULL;
}

struct vtlmem_rtree_node *vtlmem_rtree_next(const struct vtlmem_rtree_node *n)
{
	if (n->right)
		return rtree_leftmost(n->right);
	while (n->parent && n->parent->right == n)
		n = n->parent;
	return n->parent;
}

struct vtlmem_rtree_node *vtlmem_rtree_prev(const struct vtlmem_rtree_node *n)
{
	if (n->left)
		return rtree_rightmost(n->left);
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
	for (n = rtree_leftmost((struct vtlmem_rtree_node *)root); n; n = vtlmem_rtree_next(n)) {
		if (prev && cmp(prev, n) > 0)
			return -1;
		prev = n;
		seen++;
	}
	return seen == count ? count : -1;
}
