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
 *
 * Files: this one holds the two trees with their invariants, reserve,
 * release, init and fini; reserve_obj.h the object pools and the cache;
 * reserve_query.c the queries, dump, stats and the self-check.
 */
#include "lock.h"
#include "reserve_claim.h"
#include "reserve_held.h"
#include "pacheck.h"
#include "reserve_internal.h"
#include "reserve_obj.h"
#include "rtree_impl.h"

/* Objects a request of n ranges needs: nodes, the handle, ref blocks. */
static uint64_t objects_needed(size_t n)
{
	return (uint64_t)n + 1 + ((uint64_t)n + RT_EXT_REFS - RT_INLINE_REFS - 1) / RT_EXT_REFS;
}

/* ---- interval tree ----------------------------------------------------- */

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

/*
 * A handle record: a retired one of t's (type-stable, see
 * reserve_internal.h), else one from pool. Lock held.
 */
static struct rt_handle *record_get(struct vtlmem_rtable *t, struct rt_pool *pool)
{
	struct rt_handle *h = t->retired;

	if (h) {
		t->retired = h->next_retired;
		t->nretired--;
		h->retired_before = 1;
		return h;
	}
	h = pool_pop(pool);
	__atomic_store_n(&h->id, 0, __ATOMIC_RELAXED);
	h->table = t;
	h->retired_before = 0;
	return h;
}

/* Park a published record on t->retired, or give an unpublished one to pool. */
static void record_put(struct vtlmem_rtable *t, struct rt_pool *pool, struct rt_handle *h,
		       bool published)
{
	if (!published && !h->retired_before) {
		pool_push(pool, h);
		return;
	}
	h->next_retired = t->retired;
	t->retired = h;
	t->nretired++;
}

/* Take a handle with n ref slots (and its ext blocks) from pool. */
static struct rt_handle *handle_build(struct vtlmem_rtable *t, struct rt_pool *pool, size_t n,
				      uint32_t mode)
{
	struct rt_handle *h = record_get(t, pool);
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

/*
 * Give h's ext blocks and its first nnodes nodes back to pool, and h to
 * t->retired if it was ever published, else to pool.
 */
static void handle_unbuild(struct vtlmem_rtable *t, struct rt_pool *pool, struct rt_handle *h,
			   uint32_t nnodes, bool published)
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
	record_put(t, pool, h, published);
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

/* h's span and whether its ranges (sorted, disjoint) tile it exactly. */
static void handle_span(struct rt_handle *h)
{
	struct ref_cursor c;
	const struct rt_node *n;
	uint64_t bytes = 0;
	uint32_t i;

	cursor_init(&c, h);
	for (i = 0; i < h->nref; i++) {
		n = *cursor_next(&c);
		if (i == 0)
			h->lo = n->start;
		h->hi = n->end;
		bytes += n->end - n->start;
	}
	h->contig = bytes == h->hi - h->lo;
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
	/* publish: every field above is written before the id (release) */
	__atomic_store_n(&h->id, t->next_id, __ATOMIC_RELEASE);
	__atomic_store_n(&t->next_id, t->next_id + 1, __ATOMIC_RELAXED);
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
			  uint32_t mode, struct rt_pool *pool, uint64_t fresh, vtlmem_resv_t *out,
			  struct vtlmem_conflict *conflict)
{
	struct rt_handle *h = handle_build(t, pool, n, mode);
	struct rt_node *conf;
	uint32_t made = 0;
	int ret;

	ret = nodes_build(pool, h, ranges, mode, &made);
	if (!ret)
		handle_span(h);
	if (!ret && t->next_id == 0)
		ret = -VTLMEM_ENOSPC;
	if (!ret) {
		conf = handle_conflict(t, h);
		if (conf) {
			report(conflict, conf);
			ret = -VTLMEM_EBUSY;
		} else {
			/* and against the one-shot calls' page claims */
			ret = vtlmem_claims_mark(t, h, conflict);
		}
		if (ret)
			t->conflicts++;
	}
	if (ret) {
		handle_unbuild(t, pool, h, made, false);
		return ret;
	}
	h->fresh = (uint32_t)fresh;
	handle_commit(t, h, pool);
	out->id = h->id;
	out->rec = h;
	return 0;
}

/*
 * Return pool's objects: to the cache (beyond its bound: to spare, for the
 * platform), except that a failed call gives the fresh objects it took
 * from the platform straight back (spare), so it leaves the table's
 * objects and the platform's allocations as they were. Lock held.
 */
static void pool_return(struct vtlmem_rtable *t, struct rt_pool *pool, uint64_t fresh,
			struct rt_pool *spare)
{
	while (fresh-- && pool->count)
		pool_push(spare, pool_pop(pool));
	cache_put(t, pool, spare);   /* counts every object of spare out */
}

/*
 * Gather the objects a request of n ranges needs into pool: from the cache,
 * else from the platform with the lock dropped. A retired handle record
 * serves as the handle, so one object fewer is needed while there is one;
 * another CPU may take it while the lock is dropped, hence the re-check.
 * *fresh counts the platform's objects. Lock held on entry and return.
 */
static int pool_gather(struct vtlmem_rtable *t, struct rt_pool *pool, size_t n, uint64_t *fresh)
{
	uint64_t need, had;
	int ret;

	for (;;) {
		need = objects_needed(n) - (t->retired != NULL);
		cache_take(t, pool, need);
		if (pool->count >= need)
			return 0;
		had = pool->count;
		vtlmem_lock_release(t->plat, &t->lock);
		ret = pool_fill(t->plat, pool, need);
		vtlmem_lock_acquire(t->plat, &t->lock);
		*fresh += pool->count - had;
		t->objects += pool->count - had;
		if (ret)
			return ret;
	}
}

/* vtlmem_reserve() after its argument and per-range checks. */
static int reserve_checked(struct vtlmem_rtable *t, const struct vtlmem_range *ranges, size_t n,
			   enum vtlmem_rmode mode, vtlmem_resv_t *out,
			   struct vtlmem_conflict *conflict)
{
	struct rt_pool pool = { NULL, 0 }, spare = { NULL, 0 };
	uint64_t fresh = 0;
	int ret;

	vtlmem_lock_acquire(t->plat, &t->lock);
	ret = pool_gather(t, &pool, n, &fresh);
	if (!ret)
		ret = reserve_locked(t, ranges, n, (uint32_t)mode, &pool, fresh, out, conflict);
	pool_return(t, &pool, ret ? fresh : 0, &spare);
	vtlmem_lock_release(t->plat, &t->lock);
	pool_free(t->plat, &spare);
	return ret;
}

int vtlmem_reserve(struct vtlmem_rtable *t, const struct vtlmem_range *ranges, size_t n,
		   enum vtlmem_rmode mode, vtlmem_resv_t *out, struct vtlmem_conflict *conflict)
{
	int ret = check_request(t, ranges, n, mode, out);

	if (ret)
		return ret;
	return reserve_checked(t, ranges, n, mode, out, conflict);
}

int vtlmem_reserve_range(struct vtlmem_rtable *t, const struct vtlmem_range *r,
			 enum vtlmem_rmode mode, vtlmem_resv_t *out)
{
	const struct vtlmem_platform *p = t->plat;

	/* the one ownership question of the call (vtlmem_check_range's) */
	if (!p->ownership || p->ownership(p->ctx, r->pa, r->len) != VTLMEM_OWNER_VTL0)
		return -VTLMEM_EPERM;
	return reserve_checked(t, r, 1, mode, out, NULL);
}

int vtlmem_reserve_owned(struct vtlmem_rtable *t, const struct vtlmem_range *r,
			 enum vtlmem_rmode mode, vtlmem_resv_t *out)
{
	return reserve_checked(t, r, 1, mode, out, NULL);
}

/* ---- release ----------------------------------------------------------- */

/*
 * Unlink h and drop its references; freed objects go to pool, h itself to
 * t->retired (type-stable) if keep_record, else to pool unless it came
 * from there. Lock held.
 */
static void handle_drop(struct vtlmem_rtable *t, struct rt_handle *h, struct rt_pool *pool,
			bool keep_record)
{
	struct ref_cursor c;
	struct rt_node *n;
	uint32_t i;

	__atomic_store_n(&h->id, 0, __ATOMIC_RELEASE);   /* dead to lock-free checks */
	vtlmem_claims_unmark(t, h);
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
	handle_unbuild(t, pool, h, 0, keep_record);
	t->releases++;
}

/*
 * Release h; undo: give back the objects its reserve allocated too. own:
 * h is known to be a handle t issued (an internal caller's own), so it is
 * found by its record (O(1)); otherwise it may be anything, also a handle
 * of another table whose records are gone, so only the handle tree is
 * searched (h.rec is never read).
 */
static int release(struct vtlmem_rtable *t, vtlmem_resv_t h, bool undo, bool own)
{
	struct rt_pool pool = { NULL, 0 }, spare = { NULL, 0 };
	struct rt_handle *rh;
	uint64_t fresh = 0;
	int ret = -VTLMEM_ENOENT;

	if (!t)
		return -VTLMEM_EINVAL;
	vtlmem_lock_acquire(t->plat, &t->lock);
	if (own)
		rh = vtlmem_rt_lookup(t, h);
	else
		rh = h.id ? find_handle(t, h.id) : NULL;
	if (rh) {
		if (undo) {
			fresh = rh->fresh;
			t->releases--;   /* as if it had never been reserved */
			t->reserves--;
		}
		/* an undone handle was seen by its internal caller only */
		handle_drop(t, rh, &pool, !undo);
		if (fresh)
			cache_take(t, &pool, fresh);   /* what its commit cached */
		pool_return(t, &pool, fresh, &spare);
		ret = 0;
	}
	vtlmem_lock_release(t->plat, &t->lock);
	pool_free(t->plat, &spare);
	return ret;
}

int vtlmem_release(struct vtlmem_rtable *t, vtlmem_resv_t h)
{
	return release(t, h, false, false);
}

int vtlmem_release_own(struct vtlmem_rtable *t, vtlmem_resv_t h)
{
	return release(t, h, false, true);
}

int vtlmem_unreserve(struct vtlmem_rtable *t, vtlmem_resv_t h)
{
	return release(t, h, true, true);
}

/* ---- init, fini -------------------------------------------------------- */

/* fini leaves this in t->state: a re-init continues the ids. */
#define RT_STATE_FINI 0x76746c6d72746669ull   /* "vtlmrtfi" */
#define RT_STATE_LIVE 0x76746c6d72746c76ull   /* "vtlmrtlv" */

int vtlmem_rtable_init(struct vtlmem_rtable *t, const struct vtlmem_platform *p)
{
	if (!t || !p || !vtlmem_lock_ops_ok(p))
		return -VTLMEM_EINVAL;
	if (!p->alloc || !p->free)
		return -VTLMEM_ENOSYS;
	t->plat = p;
	t->iroot = NULL;
	t->hroot = NULL;
	t->cache = NULL;
	t->ncache = 0;
	t->retired = NULL;
	t->nretired = 0;
	/* ids never repeat for one struct, across fini + init too */
	if (t->state != RT_STATE_FINI)
		t->next_id = 1;
	t->first_id = t->next_id;
	t->state = RT_STATE_LIVE;
	t->nodes = 0;
	t->handles = 0;
	t->objects = 0;
	t->reserves = 0;
	t->releases = 0;
	t->conflicts = 0;
	t->claims = NULL;
	vtlmem_lock_init(p, &t->lock);
	return 0;
}

int vtlmem_rtable_fini(struct vtlmem_rtable *t)
{
	struct rt_pool spare = { NULL, 0 };
	struct rt_handle *h;
	uint64_t live, res, rel, conf;

	if (!t)
		return -VTLMEM_EINVAL;
	vtlmem_lock_acquire(t->plat, &t->lock);
	vtlmem_claims_count(t, &live, &res, &rel, &conf);
	if (t->handles || res != rel) {
		vtlmem_lock_release(t->plat, &t->lock);
		return -VTLMEM_EBUSY;
	}
	spare.head = t->cache;
	spare.count = t->ncache;
	t->cache = NULL;
	t->ncache = 0;
	while ((h = t->retired) != NULL) {
		t->retired = h->next_retired;
		pool_push(&spare, h);
	}
	t->nretired = 0;
	t->objects -= spare.count;
	t->state = RT_STATE_FINI;
	vtlmem_lock_release(t->plat, &t->lock);
	pool_free(t->plat, &spare);
	vtlmem_claims_free(t);
	vtlmem_lock_fini(t->plat, &t->lock);
	return 0;
}
