/* SPDX-License-Identifier: MIT */
/*
 * Physical-range reservation table (include/vtlmem/reserve.h).
 *
 * Data structures (all under t->lock):
 *  - iroot: an augmented AVL tree (rtree) of intervals [start, end), keyed by
 *    (start, end, mode). Each node knows the largest end of all intervals
 *    in its subtree (max_end) and of the exclusive ones (max_xend, 0 if
 *    none), so "does anything / any exclusive interval overlap [s, e)" is
 *    one O(log N) descent.
 *    Invariant (enforced by the conflict check before every insert): an
 *    exclusive interval overlaps no other interval; shared intervals may
 *    overlap each other. Identical shared ranges are one node with a reader
 *    count (readers >= 1, exclusive nodes have readers == 1).
 *  - hroot: an AVL tree of live handles keyed by id. A handle lists its
 *    interval nodes sorted by start (3 inline, then chained blocks of 9);
 *    every node's readers equals the number of handles that list it.
 *  - cache: up to VTLMEM_RTABLE_CACHE free objects. Nodes, handles and
 *    blocks are one union type, so any free object serves any need.
 *
 * Lock discipline: no platform op is called with t->lock held. Validation
 * (ownership op) runs before the lock; allocations and frees beyond the
 * cache happen with the lock dropped, into/out of a private pool.
 */
#include <vtlmem/reserve.h>

#include "lock.h"
#include "pacheck.h"
#include "rtree_impl.h"
#include "fmt.h"
#include "reserve_debug.h"

#define RT_INLINE_REFS 3
#define RT_EXT_REFS    9

struct rt_node {
	struct vtlmem_rtree_node link;     /* first member */
	uint64_t start, end;               /* [start, end), end > start */
	uint64_t max_end, max_xend;        /* subtree augmentation */
	uint64_t readers;
	uint32_t mode;                     /* enum vtlmem_rmode */
};

struct rt_ext {
	struct rt_ext *next;
	struct rt_node *ref[RT_EXT_REFS];
};

struct rt_handle {
	struct vtlmem_rtree_node link;     /* first member */
	uint64_t id;
	struct rt_ext *ext;                /* refs beyond the inline ones */
	uint32_t nref;
	uint32_t mode;
	struct rt_node *ref[RT_INLINE_REFS];
};

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

/* ---- object pools and the cache ---------------------------------------- */

static void pool_push(struct rt_pool *pool, void *obj)
{
	union rt_obj *o = obj;

	o->next_free = pool->head;
	pool->head = o;
	pool->count++;
}

static void *pool_pop(struct rt_pool *pool)
{
	union rt_obj *o = pool->head;

	pool->head = o->next_free;
	pool->count--;
	return o;
}

/* Objects a request of n ranges needs: nodes, the handle, ref blocks. */
static uint64_t objects_needed(size_t n)
{
	return (uint64_t)n + 1 + ((uint64_t)n + RT_EXT_REFS - RT_INLINE_REFS - 1) / RT_EXT_REFS;
}

/* Move up to need objects from the cache to pool. Lock held. */
static void cache_take(struct vtlmem_rtable *t, struct rt_pool *pool, uint64_t need)
{
	struct rt_pool cache = { t->cache, t->ncache };

	while (pool->count < need && cache.count)
		pool_push(pool, pool_pop(&cache));
	t->cache = cache.head;
	t->ncache = (uint32_t)cache.count;
}

/* Move pool's objects into the cache, the ones beyond its bound to spare. */
static void cache_put(struct vtlmem_rtable *t, struct rt_pool *pool, struct rt_pool *spare)
{
	struct rt_pool cache = { t->cache, t->ncache };

	while (pool->count) {
		if (cache.count < VTLMEM_RTABLE_CACHE)
			pool_push(&cache, pool_pop(pool));
		else
			pool_push(spare, pool_pop(pool));
	}
	t->cache = cache.head;
	t->ncache = (uint32_t)cache.count;
	t->objects -= spare->count;
}

/* Allocate objects from the platform into pool until it has need. No lock. */
static int pool_fill(const struct vtlmem_platform *p, struct rt_pool *pool, uint64_t need)
{
	void *o;

	while (pool->count < need) {
		o = p->alloc(p->ctx, sizeof(union rt_obj));
		if (!o)
			return -VTLMEM_ENOMEM;
		pool_push(pool, o);
	}
	return 0;
}

/* Give every object of pool back to the platform. No lock. */
static void pool_free(const struct vtlmem_platform *p, struct rt_pool *pool)
{
	while (pool->count)
		p->free(p->ctx, pool_pop(pool), sizeof(union rt_obj));
}

/* ---- interval tree ----------------------------------------------------- */

static int node_cmp(const struct vtlmem_rtree_node *a, const struct vtlmem_rtree_node *b)
{
	const struct rt_node *x = (const struct rt_node *)a, *y = (const struct rt_node *)b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return (int)x->mode - (int)y->mode;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static uint64_t sub_max_end(const struct vtlmem_rtree_node *l)
{
	return l ? TO_NODE(l)->max_end : 0;
}

static uint64_t sub_max_xend(const struct vtlmem_rtree_node *l)
{
	return l ? TO_NODE(l)->max_xend : 0;
}

static uint64_t own_xend(const struct rt_node *n)
{
	return n->mode == VTLMEM_RES_EXCLUSIVE ? n->end : 0;
}

/*
 * Augmentation: max_end / max_xend of the subtree at l; true if changed.
 * Inlined into every tree step that calls it (the hot part of a tree walk).
 */
static inline __attribute__((always_inline)) bool node_augment(struct vtlmem_rtree_node *l)
{
	struct rt_node *n = TO_NODE(l);
	uint64_t me, mx;

	me = max_u64(n->end, max_u64(sub_max_end(l->left), sub_max_end(l->right)));
	mx = max_u64(own_xend(n), max_u64(sub_max_xend(l->left), sub_max_xend(l->right)));
	if (me == n->max_end && mx == n->max_xend)
		return false;
	n->max_end = me;
	n->max_xend = mx;
	return true;
}

/* Subtree maximum end of what a request in mode conflicts with. */
static uint64_t sub_conf_end(const struct vtlmem_rtree_node *l, uint32_t mode)
{
	return mode == VTLMEM_RES_EXCLUSIVE ? sub_max_end(l) : sub_max_xend(l);
}

/*
 * The in-order first interval that overlaps [s, e) and conflicts with mode
 * (exclusive: any; shared: exclusive ones), or NULL. If a subtree's left
 * child holds a conflicting-kind interval ending after s, either it (or
 * another in that child) overlaps, or its start is >= e and so is every
 * start further right: either way the answer is not right of the left
 * child. One descent: O(log N).
 */
static struct rt_node *find_conflict(struct vtlmem_rtable *t, uint64_t s, uint64_t e,
				     uint32_t mode)
{
	struct vtlmem_rtree_node *l = t->iroot;
	struct rt_node *n;

	if (sub_conf_end(l, mode) <= s)
		return NULL;
	while (l) {
		if (sub_conf_end(l->left, mode) > s) {
			l = l->left;
			continue;
		}
		n = TO_NODE(l);
		if (n->start >= e)
			return NULL;
		if (n->end > s && (mode == VTLMEM_RES_EXCLUSIVE || n->mode == VTLMEM_RES_EXCLUSIVE))
			return n;
		l = sub_conf_end(l->right, mode) > s ? l->right : NULL;
	}
	return NULL;
}

/* The shared interval with exactly [s, e), or NULL. O(log N). */
static struct rt_node *find_shared(struct vtlmem_rtable *t, uint64_t s, uint64_t e)
{
	struct rt_node key = { .start = s, .end = e, .mode = VTLMEM_RES_SHARED };
	struct vtlmem_rtree_node *l = t->iroot;
	int c;

	while (l) {
		c = node_cmp(&key.link, l);
		if (c == 0)
			return TO_NODE(l);
		l = c < 0 ? l->left : l->right;
	}
	return NULL;
}

/* Subtree maximum end of the intervals that count for coverage in mode. */
static uint64_t sub_cover_end(const struct vtlmem_rtree_node *l, uint32_t mode)
{
	return mode == VTLMEM_RES_EXCLUSIVE ? sub_max_xend(l) : sub_max_end(l);
}

/*
 * Largest end among intervals starting at or before x that count for mode
 * (exclusive: exclusive ones; shared: all), 0 if none. Byte x is covered
 * iff the result is > x. O(log N).
 */
static uint64_t prefix_cover_end(struct vtlmem_rtable *t, uint64_t x, uint32_t mode)
{
	const struct vtlmem_rtree_node *l = t->iroot;
	const struct rt_node *n;
	uint64_t best = 0;

	while (l) {
		n = (const struct rt_node *)l;
		if (n->start > x) {
			l = l->left;
			continue;
		}
		best = max_u64(best, sub_cover_end(l->left, mode));
		if (mode == VTLMEM_RES_SHARED || n->mode == VTLMEM_RES_EXCLUSIVE)
			best = max_u64(best, n->end);
		l = l->right;
	}
	return best;
}

/* ---- handles ----------------------------------------------------------- */

static int handle_cmp(const struct vtlmem_rtree_node *a, const struct vtlmem_rtree_node *b)
{
	uint64_t x = ((const struct rt_handle *)a)->id, y = ((const struct rt_handle *)b)->id;

	return x < y ? -1 : x > y;
}

static struct rt_handle *find_handle(struct vtlmem_rtable *t, uint64_t id)
{
	struct vtlmem_rtree_node *l = t->hroot;
	struct rt_handle *h;

	while (l) {
		h = TO_HANDLE(l);
		if (id == h->id)
			return h;
		l = id < h->id ? l->left : l->right;
	}
	return NULL;
}

/* Sequential access to a handle's ref slots. */
struct ref_cursor {
	struct rt_handle *h;
	struct rt_ext *ext;
	uint32_t i;
};

static void cursor_init(struct ref_cursor *c, struct rt_handle *h)
{
	c->h = h;
	c->ext = NULL;
	c->i = 0;
}

/* The next ref slot; the handle's ext chain must already be long enough. */
static struct rt_node **cursor_next(struct ref_cursor *c)
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
 * The two tables' trees with their callbacks fixed at compile time, so the
 * comparison and the augmentation are inlined into the AVL walk (the same
 * algorithm as vtlmem_rtree_insert_aug() etc., see rtree_impl.h). Lock held.
 */
static void iv_insert(struct vtlmem_rtable *t, struct rt_node *n)
{
	const struct rtree_fix f = { NULL, node_augment };

	rtree_insert_impl(&t->iroot, &n->link, node_cmp, &f);
}

static void iv_erase(struct vtlmem_rtable *t, struct rt_node *n)
{
	const struct rtree_fix f = { NULL, node_augment };

	rtree_erase_impl(&t->iroot, &n->link, &f);
}

static void hd_insert(struct vtlmem_rtable *t, struct rt_handle *h)
{
	const struct rtree_fix f = { NULL, NULL };

	rtree_insert_impl(&t->hroot, &h->link, handle_cmp, &f);
}

static void hd_erase(struct vtlmem_rtable *t, struct rt_handle *h)
{
	const struct rtree_fix f = { NULL, NULL };

	rtree_erase_impl(&t->hroot, &h->link, &f);
}

/* ---- reserve ----------------------------------------------------------- */

static bool mode_valid(enum vtlmem_rmode mode)
{
	return mode == VTLMEM_RES_EXCLUSIVE || mode == VTLMEM_RES_SHARED;
}

/* Argument and per-range checks; calls the ownership op. No lock. */
static int check_request(struct vtlmem_rtable *t, const struct vtlmem_range *ranges, size_t n,
			 enum vtlmem_rmode mode, vtlmem_resv_t *out)
{
	size_t i;
	int ret;

	if (!t || !ranges || !out || n == 0 || n > VTLMEM_RESV_MAX_RANGES || !mode_valid(mode))
		return -VTLMEM_EINVAL;
	for (i = 0; i < n; i++) {
		ret = vtlmem_check_range(t->plat, ranges[i].pa, ranges[i].len);
		if (ret)
			return ret;
	}
	return 0;
}

/* Take a handle with n ref slots (and its ext blocks) from pool. */
static struct rt_handle *handle_build(struct rt_pool *pool, size_t n, uint32_t mode)
{
	struct rt_handle *h = pool_pop(pool);
	struct rt_ext **link = &h->ext;
	size_t have = RT_INLINE_REFS;

	h->nref = (uint32_t)n;
	h->mode = mode;
	while (have < n) {
		*link = pool_pop(pool);
		link = &(*link)->next;
		have += RT_EXT_REFS;
	}
	*link = NULL;
	return h;
}

/* Give h, its ext blocks and its first nnodes nodes back to pool. */
static void handle_unbuild(struct rt_pool *pool, struct rt_handle *h, uint32_t nnodes)
{
	struct ref_cursor c;
	struct rt_ext *e, *next;
	uint32_t i;

	cursor_init(&c, h);
	for (i = 0; i < nnodes; i++)
		pool_push(pool, *cursor_next(&c));
	for (e = h->ext; e; e = next) {
		next = e->next;
		pool_push(pool, e);
	}
	pool_push(pool, h);
}

/* A fresh interval node for range r from pool (not in any tree yet). */
static struct rt_node *node_make(struct rt_pool *pool, const struct vtlmem_range *r,
				 uint32_t mode)
{
	struct rt_node *n = pool_pop(pool);

	n->start = vtlmem_pa_val(r->pa);
	n->end = n->start + r->len;
	n->mode = mode;
	n->readers = 1;
	return n;
}

/*
 * Make a node per range (in h's refs, request order) and put them in a
 * scratch tree; a range overlapping its neighbour in address order overlaps
 * another range of the request: -EINVAL. Then rewrite h's refs in address
 * order. The scratch tree is dropped (the links are reset on insert).
 * A single range is sorted and overlaps nothing of its own request, so it
 * needs no scratch tree (the common case: one contiguous range).
 * *made: how many nodes were taken from pool (all n on success).
 */
static int nodes_build(struct rt_pool *pool, struct rt_handle *h,
		       const struct vtlmem_range *ranges, uint32_t mode, uint32_t *made)
{
	struct vtlmem_rtree_node *scratch = NULL, *l, *nb;
	struct ref_cursor c;
	struct rt_node *n;
	uint32_t i;

	if (h->nref == 1) {
		h->ref[0] = node_make(pool, &ranges[0], mode);
		*made = 1;
		return 0;
	}
	cursor_init(&c, h);
	for (i = 0; i < h->nref; i++) {
		n = node_make(pool, &ranges[i], mode);
		*cursor_next(&c) = n;
		*made = i + 1;
		vtlmem_rtree_insert(&scratch, &n->link, node_cmp, NULL);
		nb = vtlmem_rtree_prev(&n->link);
		if (nb && TO_NODE(nb)->end > n->start)
			return -VTLMEM_EINVAL;
		nb = vtlmem_rtree_next(&n->link);
		if (nb && TO_NODE(nb)->start < n->end)
			return -VTLMEM_EINVAL;
	}
	cursor_init(&c, h);
	for (l = vtlmem_rtree_first(scratch); l; l = vtlmem_rtree_next(l))
		*cursor_next(&c) = TO_NODE(l);
	return 0;
}

/* First conflict of h's ranges (address order) with the table, or NULL. */
static struct rt_node *handle_conflict(struct vtlmem_rtable *t, struct rt_handle *h)
{
	struct ref_cursor c;
	struct rt_node *n, *conf;
	uint32_t i;

	cursor_init(&c, h);
	for (i = 0; i < h->nref; i++) {
		n = *cursor_next(&c);
		conf = find_conflict(t, n->start, n->end, h->mode);
		if (conf)
			return conf;
	}
	return NULL;
}

/*
 * Record h and its nodes; cannot fail. A shared range identical to a live
 * shared interval joins it (readers + 1) and its new node goes to pool.
 */
static void handle_commit(struct vtlmem_rtable *t, struct rt_handle *h, struct rt_pool *pool)
{
	struct ref_cursor c;
	struct rt_node **slot, *same;
	uint32_t i;

	cursor_init(&c, h);
	for (i = 0; i < h->nref; i++) {
		slot = cursor_next(&c);
		same = NULL;
		if (h->mode == VTLMEM_RES_SHARED)
			same = find_shared(t, (*slot)->start, (*slot)->end);
		if (same) {
			same->readers++;
			pool_push(pool, *slot);
			*slot = same;
			continue;
		}
		iv_insert(t, *slot);
		t->nodes++;
	}
	h->id = t->next_id++;
	hd_insert(t, h);
	t->handles++;
	t->reserves++;
}

static void report(struct vtlmem_conflict *conflict, const struct rt_node *n)
{
	if (!conflict)
		return;
	conflict->pa = vtlmem_pa(n->start);
	conflict->len = n->end - n->start;
	conflict->mode = (enum vtlmem_rmode)n->mode;
}

/* The request with all its objects in pool. Lock held. */
static int reserve_locked(struct vtlmem_rtable *t, const struct vtlmem_range *ranges, size_t n,
			  uint32_t mode, struct rt_pool *pool, vtlmem_resv_t *out,
			  struct vtlmem_conflict *conflict)
{
	struct rt_handle *h = handle_build(pool, n, mode);
	struct rt_node *conf;
	uint32_t made = 0;
	int ret;

	ret = nodes_build(pool, h, ranges, mode, &made);
	if (!ret && t->next_id == 0)
		ret = -VTLMEM_ENOSPC;
	if (!ret) {
		conf = handle_conflict(t, h);
		if (conf) {
			report(conflict, conf);
			t->conflicts++;
			ret = -VTLMEM_EBUSY;
		}
	}
	if (ret) {
		handle_unbuild(pool, h, made);
		return ret;
	}
	handle_commit(t, h, pool);
	out->id = h->id;
	return 0;
}

int vtlmem_reserve(struct vtlmem_rtable *t, const struct vtlmem_range *ranges, size_t n,
		   enum vtlmem_rmode mode, vtlmem_resv_t *out, struct vtlmem_conflict *conflict)
{
	struct rt_pool pool = { NULL, 0 }, spare = { NULL, 0 };
	uint64_t need;
	int ret = check_request(t, ranges, n, mode, out);

	if (ret)
		return ret;
	need = objects_needed(n);
	vtlmem_lock_acquire(t->plat, &t->lock);
	cache_take(t, &pool, need);
	if (pool.count < need) {
		uint64_t had = pool.count;

		vtlmem_lock_release(t->plat, &t->lock);
		ret = pool_fill(t->plat, &pool, need);
		vtlmem_lock_acquire(t->plat, &t->lock);
		t->objects += pool.count - had;
	}
	if (!ret)
		ret = reserve_locked(t, ranges, n, (uint32_t)mode, &pool, out, conflict);
	cache_put(t, &pool, &spare);
	vtlmem_lock_release(t->plat, &t->lock);
	pool_free(t->plat, &spare);
	return ret;
}

/* ---- release ----------------------------------------------------------- */

/* Unlink h and drop its references; freed objects go to pool. Lock held. */
static void handle_drop(struct vtlmem_rtable *t, struct rt_handle *h, struct rt_pool *pool)
{
	struct ref_cursor c;
	struct rt_node *n;
	uint32_t i;

	hd_erase(t, h);
	t->handles--;
	cursor_init(&c, h);
	for (i = 0; i < h->nref; i++) {
		n = *cursor_next(&c);
		if (--n->readers)
			continue;
		iv_erase(t, n);
		t->nodes--;
		pool_push(pool, n);
	}
	handle_unbuild(pool, h, 0);
	t->releases++;
}

int vtlmem_release(struct vtlmem_rtable *t, vtlmem_resv_t h)
{
	struct rt_pool pool = { NULL, 0 }, spare = { NULL, 0 };
	struct rt_handle *rh;
	int ret = -VTLMEM_ENOENT;

	if (!t)
		return -VTLMEM_EINVAL;
	vtlmem_lock_acquire(t->plat, &t->lock);
	rh = h.id ? find_handle(t, h.id) : NULL;
	if (rh) {
		handle_drop(t, rh, &pool);
		cache_put(t, &pool, &spare);
		ret = 0;
	}
	vtlmem_lock_release(t->plat, &t->lock);
	pool_free(t->plat, &spare);
	return ret;
}

/* ---- queries ----------------------------------------------------------- */

/* [pa, pa + len) as [*s, *e); false for len 0 or a wrapping range. */
static bool range_of(vtlmem_paddr_t pa, uint64_t len, uint64_t *s, uint64_t *e)
{
	*s = vtlmem_pa_val(pa);
	return len && !__builtin_add_overflow(*s, len, e);
}

bool vtlmem_is_reserved(struct vtlmem_rtable *t, vtlmem_paddr_t pa, uint64_t len,
			enum vtlmem_rmode mode)
{
	uint64_t cur, end, m;
	bool ok = false;

	if (!t || !mode_valid(mode) || !range_of(pa, len, &cur, &end))
		return false;
	vtlmem_lock_acquire(t->plat, &t->lock);
	/* cur only grows: each step jumps to the end of the covered run. */
	for (;;) {
		m = prefix_cover_end(t, cur, (uint32_t)mode);
		if (m <= cur)
			break;
		if (m >= end) {
			ok = true;
			break;
		}
		cur = m;
	}
	vtlmem_lock_release(t->plat, &t->lock);
	return ok;
}

/* Do h's ranges (sorted, disjoint) cover [s, e)? Lock held. */
static bool handle_covers(struct rt_handle *h, uint64_t s, uint64_t e)
{
	struct ref_cursor c;
	struct rt_node *n;
	uint32_t i;

	cursor_init(&c, h);
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

bool vtlmem_resv_covers(struct vtlmem_rtable *t, vtlmem_resv_t h, vtlmem_paddr_t pa,
			uint64_t len)
{
	struct rt_handle *rh;
	uint64_t s, e;
	bool ok = false;

	if (!t || !h.id || !range_of(pa, len, &s, &e))
		return false;
	vtlmem_lock_acquire(t->plat, &t->lock);
	rh = find_handle(t, h.id);
	if (rh)
		ok = handle_covers(rh, s, e);
	vtlmem_lock_release(t->plat, &t->lock);
	return ok;
}

int vtlmem_resv_mode(struct vtlmem_rtable *t, vtlmem_resv_t h, enum vtlmem_rmode *mode)
{
	struct rt_handle *rh;
	int ret = -VTLMEM_ENOENT;

	if (!t || !mode)
		return -VTLMEM_EINVAL;
	vtlmem_lock_acquire(t->plat, &t->lock);
	rh = h.id ? find_handle(t, h.id) : NULL;
	if (rh) {
		*mode = (enum vtlmem_rmode)rh->mode;
		ret = 0;
	}
	vtlmem_lock_release(t->plat, &t->lock);
	return ret;
}

size_t vtlmem_rtable_iterate(struct vtlmem_rtable *t,
			     void (*fn)(void *arg, vtlmem_paddr_t pa, uint64_t len,
					enum vtlmem_rmode mode, uint32_t readers),
			     void *arg)
{
	struct vtlmem_rtree_node *l;
	struct rt_node *n;
	size_t count = 0;

	if (!t || !fn)
		return 0;
	vtlmem_lock_acquire(t->plat, &t->lock);
	for (l = vtlmem_rtree_first(t->iroot); l; l = vtlmem_rtree_next(l)) {
		n = TO_NODE(l);
		fn(arg, vtlmem_pa(n->start), n->end - n->start, (enum vtlmem_rmode)n->mode,
		   n->readers > UINT32_MAX ? UINT32_MAX : (uint32_t)n->readers);
		count++;
	}
	vtlmem_lock_release(t->plat, &t->lock);
	return count;
}

/* ---- dump, stats ------------------------------------------------------- */

static void dump_node(const struct rt_node *n, void (*puts)(void *arg, const char *line),
		      void *arg)
{
	char b[128];
	size_t k;

	k = vtlmem_fmt_str(b, sizeof(b), 0, "resv [");
	k = vtlmem_fmt_hex(b, sizeof(b), k, n->start, 0);
	k = vtlmem_fmt_str(b, sizeof(b), k, ", ");
	k = vtlmem_fmt_hex(b, sizeof(b), k, n->end, 0);
	k = vtlmem_fmt_str(b, sizeof(b), k, ") len ");
	k = vtlmem_fmt_hex(b, sizeof(b), k, n->end - n->start, 0);
	if (n->mode == VTLMEM_RES_EXCLUSIVE) {
		vtlmem_fmt_str(b, sizeof(b), k, " excl");
	} else {
		k = vtlmem_fmt_str(b, sizeof(b), k, " shared readers ");
		vtlmem_fmt_u64(b, sizeof(b), k, n->readers);
	}
	puts(arg, b);
}

static void dump_summary(const struct vtlmem_rtable *t,
			 void (*puts)(void *arg, const char *line), void *arg)
{
	char b[128];
	size_t k;

	k = vtlmem_fmt_str(b, sizeof(b), 0, "rtable: ");
	k = vtlmem_fmt_u64(b, sizeof(b), k, t->nodes);
	k = vtlmem_fmt_str(b, sizeof(b), k, " intervals, ");
	k = vtlmem_fmt_u64(b, sizeof(b), k, t->handles);
	k = vtlmem_fmt_str(b, sizeof(b), k, " handles, ");
	k = vtlmem_fmt_u64(b, sizeof(b), k, t->ncache);
	k = vtlmem_fmt_str(b, sizeof(b), k, " cached, ");
	k = vtlmem_fmt_u64(b, sizeof(b), k, t->objects);
	vtlmem_fmt_str(b, sizeof(b), k, " objects");
	puts(arg, b);
}

void vtlmem_rtable_dump(struct vtlmem_rtable *t, void (*puts)(void *arg, const char *line),
			void *arg)
{
	struct vtlmem_rtree_node *l;

	if (!t || !puts)
		return;
	vtlmem_lock_acquire(t->plat, &t->lock);
	for (l = vtlmem_rtree_first(t->iroot); l; l = vtlmem_rtree_next(l))
		dump_node(TO_NODE(l), puts, arg);
	dump_summary(t, puts, arg);
	vtlmem_lock_release(t->plat, &t->lock);
}

void vtlmem_rtable_stats(struct vtlmem_rtable *t, struct vtlmem_rtable_stats *st)
{
	if (!t || !st)
		return;
	vtlmem_lock_acquire(t->plat, &t->lock);
	st->intervals = t->nodes;
	st->handles = t->handles;
	st->cached = t->ncache;
	st->objects = t->objects;
	st->reserves = t->reserves;
	st->releases = t->releases;
	st->conflicts = t->conflicts;
	vtlmem_lock_release(t->plat, &t->lock);
}

/* ---- init, fini -------------------------------------------------------- */

int vtlmem_rtable_init(struct vtlmem_rtable *t, const struct vtlmem_platform *p)
{
	if (!t || !p)
		return -VTLMEM_EINVAL;
	if (!p->alloc || !p->free)
		return -VTLMEM_ENOSYS;
	t->plat = p;
	t->iroot = NULL;
	t->hroot = NULL;
	t->cache = NULL;
	t->ncache = 0;
	t->next_id = 1;
	t->nodes = 0;
	t->handles = 0;
	t->objects = 0;
	t->reserves = 0;
	t->releases = 0;
	t->conflicts = 0;
	vtlmem_lock_init(p, &t->lock);
	return 0;
}

int vtlmem_rtable_fini(struct vtlmem_rtable *t)
{
	struct rt_pool spare = { NULL, 0 };

	if (!t)
		return -VTLMEM_EINVAL;
	vtlmem_lock_acquire(t->plat, &t->lock);
	if (t->handles) {
		vtlmem_lock_release(t->plat, &t->lock);
		return -VTLMEM_EBUSY;
	}
	spare.head = t->cache;
	spare.count = t->ncache;
	t->cache = NULL;
	t->ncache = 0;
	t->objects -= spare.count;
	vtlmem_lock_release(t->plat, &t->lock);
	pool_free(t->plat, &spare);
	return 0;
}

/* ---- self-check (debug) ------------------------------------------------ */

/* Augmentation of the subtree at l is exact; returns its max_end or ~0. */
static uint64_t check_aug(const struct vtlmem_rtree_node *l, uint64_t *xend)
{
	const struct rt_node *n = (const struct rt_node *)l;
	uint64_t le, lx, re, rx, me;

	*xend = 0;
	if (!l)
		return 0;
	le = check_aug(l->left, &lx);
	re = check_aug(l->right, &rx);
	if (le == UINT64_MAX || re == UINT64_MAX)
		return UINT64_MAX;
	me = max_u64(n->end, max_u64(le, re));
	*xend = max_u64(own_xend(n), max_u64(lx, rx));
	if (n->max_end != me || n->max_xend != *xend)
		return UINT64_MAX;
	return me;
}

/* Intervals: valid, exclusive ones overlap nothing, readers consistent. */
static int check_intervals(struct vtlmem_rtable *t, uint64_t *readers)
{
	const struct vtlmem_rtree_node *l;
	const struct rt_node *n;
	uint64_t all_end = 0, x_end = 0, xe;

	if (vtlmem_rtree_check(t->iroot, node_cmp) != (long)t->nodes)
		return -1;
	if (check_aug(t->iroot, &xe) == UINT64_MAX)
		return -2;
	*readers = 0;
	for (l = vtlmem_rtree_first(t->iroot); l; l = vtlmem_rtree_next(l)) {
		n = (const struct rt_node *)l;
		if (n->end <= n->start || n->readers == 0 || n->mode > VTLMEM_RES_SHARED)
			return -3;
		if (n->mode == VTLMEM_RES_EXCLUSIVE && (n->readers != 1 || all_end > n->start))
			return -4;
		if (x_end > n->start)
			return -4;
		all_end = max_u64(all_end, n->end);
		if (n->mode == VTLMEM_RES_EXCLUSIVE)
			x_end = max_u64(x_end, n->end);
		*readers += n->readers;
	}
	return 0;
}

/* Handles: ids below next_id, refs sorted and disjoint, modes match. */
static int check_handles(struct vtlmem_rtable *t, uint64_t *refs)
{
	const struct vtlmem_rtree_node *l;
	struct rt_handle *h;
	struct ref_cursor c;
	struct rt_node *n;
	uint64_t prev_end;
	uint32_t i;

	if (vtlmem_rtree_check(t->hroot, handle_cmp) != (long)t->handles)
		return -5;
	*refs = 0;
	for (l = vtlmem_rtree_first(t->hroot); l; l = vtlmem_rtree_next(l)) {
		h = TO_HANDLE(l);
		if (h->id == 0 || (t->next_id && h->id >= t->next_id) || h->nref == 0)
			return -6;
		cursor_init(&c, h);
		prev_end = 0;
		for (i = 0; i < h->nref; i++) {
			n = *cursor_next(&c);
			if (n->mode != h->mode || n->start < prev_end)
				return -7;
			prev_end = n->end;
		}
		*refs += h->nref;
	}
	return 0;
}

int vtlmem_rtable_selfcheck(struct vtlmem_rtable *t)
{
	struct rt_pool cache;
	uint64_t readers = 0, refs = 0, k = 0;
	int ret;

	vtlmem_lock_acquire(t->plat, &t->lock);
	ret = check_intervals(t, &readers);
	if (!ret)
		ret = check_handles(t, &refs);
	if (!ret && readers != refs)
		ret = -8;
	for (cache.head = t->cache; !ret && cache.head; cache.head = cache.head->next_free)
		k++;
	if (!ret && (k != t->ncache || k > VTLMEM_RTABLE_CACHE || t->objects < k))
		ret = -9;
	vtlmem_lock_release(t->plat, &t->lock);
	return ret;
}
