/* SPDX-License-Identifier: MIT */
/*
 * Internals of the physical-range reservation table (include/vtlmem/
 * reserve.h), shared by its files: reserve.c (the two trees, reserve,
 * release, init/fini), reserve_obj.h (object pools and the cache),
 * reserve_query.c (queries, iteration, dump, stats, self-check). The data
 * structures and their invariants are described in reserve.c.
 *
 * The small helpers more than one file needs (tree comparisons and
 * augmentation reads, handle lookup, the ref cursor) are static inline
 * here, so that each file's hot paths still inline them.
 */
#ifndef VTLMEM_SRC_RESERVE_INTERNAL_H
#define VTLMEM_SRC_RESERVE_INTERNAL_H

#include <vtlmem/reserve.h>

#include "rtree.h"

#define RT_INLINE_REFS 3
#define RT_EXT_REFS    9

struct rt_node {
	struct vtlmem_rtree_node link;     /* first member */
	uint64_t start, end;               /* [start, end), end > start */
	uint64_t max_end, max_xend;        /* subtree augmentation */
	uint64_t readers;
	uint32_t mode;                     /* enum vtlmem_rmode */
	uint32_t idx;                      /* small mode: its slot in t->sm_* */
};

struct rt_ext {
	struct rt_ext *next;
	struct rt_node *ref[RT_EXT_REFS];
};

/*
 * A handle record. Once a record has been published (its id stored), it
 * stays a handle record of its table until vtlmem_rtable_fini(): released
 * records wait on t->retired and are reused only for later handles. That
 * makes them type-stable, so the lock-free check of a held handle
 * (reserve_held.c) may read a record its caller's handle points at even if
 * that handle was released long ago: the id no longer matches.
 * id: written under the lock with release stores after every other field
 * (0 while not live), read without the lock with acquire loads.
 */
struct rt_handle {
	struct vtlmem_rtree_node link;     /* first member */
	uint64_t id;
	struct rt_ext *ext;                /* refs beyond the inline ones */
	uint32_t nref;
	uint32_t mode;
	struct rt_node *ref[RT_INLINE_REFS];
	const struct vtlmem_rtable *table; /* owner, for the lock-free check  */
	uint64_t lo, hi;                   /* span of the ranges              */
	uint32_t contig;                   /* ranges tile [lo, hi) exactly     */
	uint32_t retired_before;           /* record came from t->retired     */
	uint32_t fresh;                    /* objects its reserve allocated   */
	struct rt_handle *next_retired;
};

/* TO_NODE / TO_HANDLE cast a tree link back to its object. */
_Static_assert(__builtin_offsetof(struct rt_node, link) == 0, "link first in rt_node");
_Static_assert(__builtin_offsetof(struct rt_handle, link) == 0, "link first in rt_handle");

union rt_obj {
	struct rt_node node;
	struct rt_handle handle;
	struct rt_ext ext;
	union rt_obj *next_free;
};

/* A private list of objects, owned by one call. */
struct rt_pool {
	union rt_obj *head;
	uint64_t count;
};

#define TO_NODE(l)   ((struct rt_node *)(l))
#define TO_HANDLE(l) ((struct rt_handle *)(l))

static inline int node_cmp(const struct vtlmem_rtree_node *a, const struct vtlmem_rtree_node *b)
{
	const struct rt_node *x = (const struct rt_node *)a, *y = (const struct rt_node *)b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return (int)x->mode - (int)y->mode;
}

static inline uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static inline uint64_t sub_max_end(const struct vtlmem_rtree_node *l)
{
	return l ? TO_NODE(l)->max_end : 0;
}

static inline uint64_t sub_max_xend(const struct vtlmem_rtree_node *l)
{
	return l ? TO_NODE(l)->max_xend : 0;
}

static inline uint64_t own_xend(const struct rt_node *n)
{
	return n->mode == VTLMEM_RES_EXCLUSIVE ? n->end : 0;
}
/*
 * The interval set (lock held) is in one of two representations: up to
 * VTLMEM_RTABLE_SMALL intervals in t's small arrays (t->tree == 0: slot i
 * < nsmall holds node sm_node[i], its start and end, and the node's idx is
 * i; a free slot has start ~0 and end 0; iroot is NULL), or the augmented
 * tree at iroot (t->tree == 1, every slot free).
 * Queries see one sequence either way: iv_first() / iv_next() walk the
 * nodes in node_cmp order (in small mode by a scan for the next larger
 * node, O(VTLMEM_RTABLE_SMALL) a step); nothing may change during a walk.
 */
/* Live interval nodes (the tree's or the small arrays'). */
static inline uint64_t rt_nodes(const struct vtlmem_rtable *t)
{
	return t->tree ? t->nodes : t->nsmall;
}

/* Live handles (tests read t->handles too). */
static inline uint64_t rt_handles(const struct vtlmem_rtable *t)
{
	return t->handles;
}

static inline struct rt_node *sm_node(const struct vtlmem_rtable *t, uint32_t i)
{
	return (struct rt_node *)t->sm_node[i];
}

/* Small mode: the least node after prev in node_cmp order (prev NULL: the least). */
static inline struct rt_node *sm_after(const struct vtlmem_rtable *t, const struct rt_node *prev)
{
	struct rt_node *best = NULL, *n;
	uint32_t i;

	for (i = 0; i < t->nsmall; i++) {
		n = sm_node(t, i);
		if (prev && node_cmp(&n->link, &prev->link) <= 0)
			continue;
		if (!best || node_cmp(&n->link, &best->link) < 0)
			best = n;
	}
	return best;
}

static inline struct rt_node *iv_first(const struct vtlmem_rtable *t)
{
	if (!t->tree)
		return sm_after(t, NULL);
	return t->iroot ? TO_NODE(vtlmem_rtree_first(t->iroot)) : NULL;
}

static inline struct rt_node *iv_next(const struct vtlmem_rtable *t, const struct rt_node *n)
{
	if (!t->tree)
		return sm_after(t, n);
	return TO_NODE(vtlmem_rtree_next(&n->link));
}

static inline int handle_cmp(const struct vtlmem_rtree_node *a, const struct vtlmem_rtree_node *b)
{
	uint64_t x = ((const struct rt_handle *)a)->id, y = ((const struct rt_handle *)b)->id;

	return x < y ? -1 : x > y;
}

/*
 * Live handles live in one of two places (lock held): the young ring,
 * t->young[id % VTLMEM_RTABLE_YOUNG], which a new handle always enters, or
 * the handle tree t->hroot, which takes the ring slot's previous handle
 * when a new id needs the slot. Ids are issued in order, so a handle that
 * is released within VTLMEM_RTABLE_YOUNG reservations never touches the
 * tree (O(1)); older ones cost O(log N) once more, on their eviction.
 */
static inline struct rt_handle **young_slot(struct vtlmem_rtable *t, uint64_t id)
{
	return (struct rt_handle **)&t->young[id % VTLMEM_RTABLE_YOUNG];
}

/* The live handle with id, or NULL (id 0 is never live). O(1) or O(log N). */
static inline struct rt_handle *find_handle(struct vtlmem_rtable *t, uint64_t id)
{
	struct vtlmem_rtree_node *l = t->hroot;
	struct rt_handle *h = *young_slot(t, id);

	if (h && h->id == id)
		return h;
	while (l) {
		h = TO_HANDLE(l);
		if (id == h->id)
			return h;
		l = id < h->id ? l->left : l->right;
	}
	return NULL;
}

/*
 * Every live handle: the young ring's (slot order), then the tree's (id
 * order). Lock held; nothing may be added or removed during the walk.
 */
static inline struct rt_handle *rt_young_from(struct vtlmem_rtable *t, unsigned i)
{
	for (; i < VTLMEM_RTABLE_YOUNG; i++)
		if (t->young[i])
			return t->young[i];
	return t->hroot ? TO_HANDLE(vtlmem_rtree_first(t->hroot)) : NULL;
}

static inline struct rt_handle *rt_handle_first(struct vtlmem_rtable *t)
{
	return rt_young_from(t, 0);
}

static inline struct rt_handle *rt_handle_next(struct vtlmem_rtable *t, const struct rt_handle *h)
{
	unsigned i = (unsigned)(h->id % VTLMEM_RTABLE_YOUNG);

	if (t->young[i] == h)
		return rt_young_from(t, i + 1);
	return TO_HANDLE(vtlmem_rtree_next(&h->link));
}

/*
 * Was id issued by t since its last init? (next_id 0: every id up to
 * 2^64 - 1 was.) Read without the lock by the held check, so atomically.
 */
static inline bool rt_issued_since_init(const struct vtlmem_rtable *t, uint64_t id)
{
	uint64_t next = __atomic_load_n(&t->next_id, __ATOMIC_ACQUIRE);

	return id && id >= t->first_id && (next == 0 || id < next);
}

/*
 * The live record of handle h, or NULL. Lock held. By index: h.rec is
 * read only when h.id was issued since the last init, and such a record
 * stays a handle record of t until fini (type-stable), so it is trusted
 * when it still carries h.id and t is its table (ids are never reissued:
 * O(1)). A handle without a record, or whose record does not carry its id,
 * is looked up in the handle tree (O(log N)), which finds it only if it is
 * live.
 */
static inline struct rt_handle *vtlmem_rt_lookup(struct vtlmem_rtable *t, vtlmem_resv_t h)
{
	struct rt_handle *r = (struct rt_handle *)(uintptr_t)h.rec;

	if (!rt_issued_since_init(t, h.id))
		return NULL;
	if (r && __atomic_load_n(&r->id, __ATOMIC_RELAXED) == h.id && r->table == t)
		return r;
	return find_handle(t, h.id);
}

/* Sequential access to a handle's ref slots. */
struct ref_cursor {
	struct rt_handle *h;
	struct rt_ext *ext;
	uint32_t i;
};

static inline void cursor_init(struct ref_cursor *c, struct rt_handle *h)
{
	c->h = h;
	c->ext = NULL;
	c->i = 0;
}

/* The next ref slot; the handle's ext chain must already be long enough. */
static inline struct rt_node **cursor_next(struct ref_cursor *c)
{
	uint32_t j;

	if (c->i < RT_INLINE_REFS)
		return &c->h->ref[c->i++];
	j = (c->i++ - RT_INLINE_REFS) % RT_EXT_REFS;
	if (j == 0)
		c->ext = c->ext ? c->ext->next : c->h->ext;
	return &c->ext->ref[j];
}
/*
 * Do h's ranges (sorted, disjoint) cover [s, e)? Reads only what was
 * written before h was published, so it serves both the locked queries and
 * the lock-free check of a live handle.
 */
static inline bool handle_covers(const struct rt_handle *h, uint64_t s, uint64_t e)
{
	struct ref_cursor c;
	const struct rt_node *n;
	uint32_t i;

	if (h->contig)
		return s >= h->lo && e <= h->hi;
	cursor_init(&c, (struct rt_handle *)h);
	for (i = 0; i < h->nref; i++) {
		n = *cursor_next(&c);
		if (n->end <= s)
			continue;
		if (n->start > s)
			return false;
		s = n->end;
		if (s >= e)
			return true;
	}
	return false;
}

static inline bool mode_valid(enum vtlmem_rmode mode)
{
	return mode == VTLMEM_RES_EXCLUSIVE || mode == VTLMEM_RES_SHARED;
}

#endif
