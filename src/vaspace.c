/* SPDX-License-Identifier: MIT */
/*
 * Address-ordered first-fit VA allocator over an augmented AVL tree of free
 * ranges (see vaspace.h for the invariants).
 */
#include "vaspace.h"
#include "bug.h"

static struct vas_node *vnode(const struct vtlmem_rtree_node *rb)
{
	return (struct vas_node *)rb;
}

static uint64_t sub_max(const struct vtlmem_rtree_node *rb)
{
	return rb ? vnode(rb)->maxlen : 0;
}

static uint64_t max3(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t m = a > b ? a : b;

	return m > c ? m : c;
}

/* Augmentation: largest free length in the subtree. */
static void vas_update(struct vtlmem_rtree_node *rb)
{
	struct vas_node *x = vnode(rb);

	x->maxlen = max3(x->len, sub_max(rb->left), sub_max(rb->right));
}

static int vas_cmp(const struct vtlmem_rtree_node *a, const struct vtlmem_rtree_node *b)
{
	uint64_t sa = vnode(a)->start, sb = vnode(b)->start;

	return sa < sb ? -1 : sa > sb;
}

/* x's length changed in place (order unchanged): refresh its ancestors. */
static void propagate(struct vas_node *x)
{
	struct vtlmem_rtree_node *rb;

	for (rb = &x->rb; rb; rb = rb->parent)
		vas_update(rb);
}

static void cache_put(struct vas *v, struct vas_node *x)
{
	x->rb.left = (struct vtlmem_rtree_node *)v->cache;  /* rb is the first member */
	v->cache = x;
	v->ncache++;
}

/* A spare node; the invariant (vaspace.h) guarantees there is one. */
static struct vas_node *node_get(struct vas *v)
{
	struct vas_node *x = v->cache;

	if (!x)
		return NULL;
	v->cache = vnode(x->rb.left);
	v->ncache--;
	return x;
}

/* Spare nodes the invariant needs when nalloc allocations are live. */
static bool nodes_short(const struct vas *v, uint64_t nalloc)
{
	return v->nfree + v->ncache < nalloc + 1;
}

/* Give back spares beyond the cache bound that the invariant does not need. */
static void cache_trim(struct vas *v)
{
	struct vas_node *x;

	while (v->ncache > VAS_CACHE_MAX && v->nfree + v->ncache > v->nalloc + 1) {
		x = v->cache;
		v->cache = vnode(x->rb.left);
		v->ncache--;
		v->p->free(v->p->ctx, x, sizeof(*x));
	}
}

static void tree_add(struct vas *v, struct vas_node *x, uint64_t start, uint64_t len)
{
	x->start = start;
	x->len = len;
	x->maxlen = len;
	vtlmem_rtree_insert(&v->root, &x->rb, vas_cmp, vas_update);
	v->nfree++;
}

static void tree_del(struct vas *v, struct vas_node *x)
{
	vtlmem_rtree_erase(&v->root, &x->rb, vas_update);
	v->nfree--;
	cache_put(v, x);
}

int vtlmem_vas_init(struct vas *v, const struct vtlmem_platform *p, uint64_t start, uint64_t len)
{
	struct vas_node *x;
	uint64_t end;

	if (len == 0 || __builtin_add_overflow(start, len, &end))
		return -VTLMEM_EINVAL;
	v->p = p;
	v->root = NULL;
	v->cache = NULL;
	v->ncache = 0;
	v->start = start;
	v->len = len;
	v->free_pages = len;
	v->nfree = 0;
	v->nalloc = 0;
	v->grew = false;
	x = v->p->alloc(v->p->ctx, sizeof(*x));
	if (!x)
		return -VTLMEM_ENOMEM;
	tree_add(v, x, start, len);
	return 0;
}

void vtlmem_vas_fini(struct vas *v)
{
	struct vtlmem_rtree_node *rb;

	while ((rb = v->root) != NULL)
		tree_del(v, vnode(rb));
	v->free_pages = 0;
	while (v->cache) {
		struct vas_node *x = v->cache;

		v->cache = vnode(x->rb.left);
		v->p->free(v->p->ctx, x, sizeof(*x));
	}
	v->ncache = 0;
}

/* Lowest-addressed free range of at least len pages (maxlen(root) >= len). */
static struct vas_node *first_fit(const struct vas *v, uint64_t len)
{
	const struct vtlmem_rtree_node *rb = v->root;

	for (;;) {
		if (sub_max(rb->left) >= len)
			rb = rb->left;
		else if (vnode(rb)->len >= len)
			return vnode(rb);
		else
			rb = rb->right;   /* its maxlen must be >= len */
	}
}

int vtlmem_vas_alloc(struct vas *v, uint64_t len, uint64_t *out)
{
	struct vas_node *x;

	if (len == 0)
		return -VTLMEM_EINVAL;
	if (sub_max(v->root) < len)
		return -VTLMEM_ENOSPC;
	v->grew = nodes_short(v, v->nalloc + 1);
	if (v->grew) {
		x = v->p->alloc(v->p->ctx, sizeof(*x));
		if (!x)
			return -VTLMEM_ENOMEM;
		cache_put(v, x);
	}
	x = first_fit(v, len);
	*out = x->start;
	if (x->len == len) {
		tree_del(v, x);          /* the node waits in the cache (undo) */
	} else {
		x->start += len;
		x->len -= len;
		propagate(x);
	}
	v->free_pages -= len;
	v->nalloc++;
	return 0;
}

void vtlmem_vas_unalloc(struct vas *v, uint64_t start, uint64_t len)
{
	struct vas_node *x;
	bool grew = v->grew;
	int ret = vtlmem_vas_free(v, start, len);

	VTLMEM_BUG_ON(v->p, ret != 0);   /* the caller's own last allocation */
	if (grew) {
		x = node_get(v);
		VTLMEM_BUG_ON(v->p, !x);
		v->p->free(v->p->ctx, x, sizeof(*x));
	}
	v->grew = false;
}

/* Free ranges just below and at-or-above page s (NULL where none). */
static void neighbours(const struct vas *v, uint64_t s, struct vas_node **pred,
		       struct vas_node **succ)
{
	struct vtlmem_rtree_node *rb = v->root;

	*pred = NULL;
	*succ = NULL;
	while (rb) {
		if (vnode(rb)->start < s) {
			*pred = vnode(rb);
			rb = rb->right;
		} else {
			*succ = vnode(rb);
			rb = rb->left;
		}
	}
}

static bool in_arena(const struct vas *v, uint64_t start, uint64_t len)
{
	return len && start >= v->start && start - v->start <= v->len &&
	       len <= v->len - (start - v->start);
}

/* Insert [start, start + len) as a range of its own, on a spare node. */
static void free_alone(struct vas *v, uint64_t start, uint64_t len)
{
	struct vas_node *x = node_get(v);

	VTLMEM_BUG_ON(v->p, !x);   /* the node invariant of vaspace.h */
	tree_add(v, x, start, len);
}

int vtlmem_vas_free(struct vas *v, uint64_t start, uint64_t len)
{
	return vtlmem_vas_free_many(v, start, len, 1);
}

int vtlmem_vas_free_many(struct vas *v, uint64_t start, uint64_t len, uint64_t count)
{
	struct vas_node *pred, *succ;
	bool joinl, joinr;

	if (!in_arena(v, start, len))
		return -VTLMEM_EINVAL;
	neighbours(v, start, &pred, &succ);
	if ((pred && pred->start + pred->len > start) || (succ && succ->start - start < len))
		return -VTLMEM_EINVAL;
	joinl = pred && pred->start + pred->len == start;
	joinr = succ && succ->start == start + len;
	if (joinl && joinr) {
		pred->len += len + succ->len;
		propagate(pred);
		tree_del(v, succ);
	} else if (joinl) {
		pred->len += len;
		propagate(pred);
	} else if (joinr) {
		succ->start = start;
		succ->len += len;
		propagate(succ);
	} else {
		free_alone(v, start, len);
	}
	v->free_pages += len;
	v->nalloc -= count < v->nalloc ? count : v->nalloc;
	cache_trim(v);
	return 0;
}

uint64_t vtlmem_vas_for_each(const struct vas *v,
			     void (*fn)(void *arg, uint64_t start, uint64_t len),
			     void *arg)
{
	struct vtlmem_rtree_node *rb;
	uint64_t n = 0;

	for (rb = vtlmem_rtree_first(v->root); rb; rb = vtlmem_rtree_next(rb), n++)
		fn(arg, vnode(rb)->start, vnode(rb)->len);
	return n;
}

uint64_t vtlmem_vas_largest(const struct vas *v)
{
	return sub_max(v->root);
}

/* Recompute maxlen bottom-up and compare; ~0 if any node is wrong. */
static uint64_t check_max(const struct vtlmem_rtree_node *rb)
{
	uint64_t l, r, m;

	if (!rb)
		return 0;
	l = check_max(rb->left);
	r = check_max(rb->right);
	if (l == ~0ull || r == ~0ull)
		return ~0ull;
	m = max3(vnode(rb)->len, l, r);
	return m == vnode(rb)->maxlen ? m : ~0ull;
}

long vtlmem_vas_check(const struct vas *v)
{
	const struct vtlmem_rtree_node *rb;
	uint64_t sum = 0, prev_end = 0, n = 0;
	long count = vtlmem_rtree_check(v->root, vas_cmp);

	if (count < 0 || check_max(v->root) == ~0ull)
		return -1;
	for (rb = vtlmem_rtree_first(v->root); rb; rb = vtlmem_rtree_next(rb), n++) {
		const struct vas_node *x = vnode(rb);

		if (!in_arena(v, x->start, x->len) || (n && x->start <= prev_end))
			return -1;
		prev_end = x->start + x->len;
		sum += x->len;
	}
	if (n != (uint64_t)count || n != v->nfree || sum != v->free_pages ||
	    nodes_short(v, v->nalloc))
		return -1;
	return count;
}
