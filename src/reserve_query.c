/* SPDX-License-Identifier: MIT */
/*
 * Queries on the reservation table (is_reserved, resv_covers, resv_mode,
 * iterate), dump, statistics and the debug self-check, which verifies every
 * invariant stated in reserve.c: the small arrays' slots, tree shapes and
 * order, exact interval augmentation, the shared intervals counted, no
 * exclusive interval overlapping another interval, reader
 * counts equal handle references, handle refs sorted and disjoint, cache
 * length. All take t->lock and change nothing.
 */
#include "fmt.h"
#include "lock.h"
#include "reserve_debug.h"
#include "reserve_claim.h"
#include "reserve_internal.h"

/* ---- queries ----------------------------------------------------------- */

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
	uint32_t i;

	if (!t->tree) {
		/* small mode: every slot */
		for (i = 0; i < t->nsmall; i++)
			if (t->sm_start[i] <= x && (mode == VTLMEM_RES_SHARED ||
						    sm_node(t, i)->mode == VTLMEM_RES_EXCLUSIVE))
				best = max_u64(best, t->sm_end[i]);
		return best;
	}
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

/*
 * [pa, pa + len) as [*s, *e); false for len 0 and for a range that wraps
 * past 2^64 or ends exactly at 2^64: no reservation reaches 2^64 (ends are
 * at most 2^64 - 1, pacheck.h), so such a range is never covered.
 */
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

int vtlmem_resv_covers_runs(struct vtlmem_rtable *t, vtlmem_resv_t h,
			    const struct vtlmem_range *r, size_t n, size_t *first,
			    enum vtlmem_rmode *mode)
{
	struct rt_handle *rh;
	uint64_t s, e;
	size_t i;

	vtlmem_lock_acquire(t->plat, &t->lock);
	rh = h.id ? find_handle(t, h.id) : NULL;
	if (!rh) {
		vtlmem_lock_release(t->plat, &t->lock);
		return -VTLMEM_ENOENT;
	}
	for (i = 0; i < n; i++)
		if (!range_of(r[i].pa, r[i].len, &s, &e) || !handle_covers(rh, s, e))
			break;
	*first = i;
	*mode = (enum vtlmem_rmode)rh->mode;
	vtlmem_lock_release(t->plat, &t->lock);
	return 0;
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
	struct rt_node *n;
	size_t count = 0;

	if (!t || !fn)
		return 0;
	vtlmem_lock_acquire(t->plat, &t->lock);
	for (n = iv_first(t); n; n = iv_next(t, n)) {
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
	k = vtlmem_fmt_u64(b, sizeof(b), k, rt_nodes(t));
	k = vtlmem_fmt_str(b, sizeof(b), k, " intervals, ");
	k = vtlmem_fmt_u64(b, sizeof(b), k, rt_handles(t));
	k = vtlmem_fmt_str(b, sizeof(b), k, " handles, ");
	k = vtlmem_fmt_u64(b, sizeof(b), k, t->ncache);
	k = vtlmem_fmt_str(b, sizeof(b), k, " cached, ");
	k = vtlmem_fmt_u64(b, sizeof(b), k, t->nretired);
	k = vtlmem_fmt_str(b, sizeof(b), k, " retired, ");
	k = vtlmem_fmt_u64(b, sizeof(b), k, t->objects);
	vtlmem_fmt_str(b, sizeof(b), k, " objects");
	puts(arg, b);
}

void vtlmem_rtable_dump(struct vtlmem_rtable *t, void (*puts)(void *arg, const char *line),
			void *arg)
{
	const struct rt_node *n;

	if (!t || !puts)
		return;
	vtlmem_lock_acquire(t->plat, &t->lock);
	for (n = iv_first(t); n; n = iv_next(t, n))
		dump_node(n, puts, arg);
	dump_summary(t, puts, arg);
	vtlmem_lock_release(t->plat, &t->lock);
}

void vtlmem_rtable_stats(struct vtlmem_rtable *t, struct vtlmem_rtable_stats *st)
{
	uint64_t live, res, rel, conf;

	if (!t || !st)
		return;
	vtlmem_lock_acquire(t->plat, &t->lock);
	/* the one-shot calls' page claims count as handles and intervals */
	vtlmem_claims_count(t, &live, &res, &rel, &conf);
	st->intervals = rt_nodes(t) + live;
	st->handles = rt_handles(t) + (res - rel);
	st->cached = t->ncache;
	st->retired = t->nretired;
	st->objects = t->objects;
	st->reserves = t->reserves + res;
	st->releases = t->releases + rel;
	st->conflicts = t->conflicts + conf;
	vtlmem_lock_release(t->plat, &t->lock);
}

/* ---- self-check (debug) ------------------------------------------------ */

/* Augmentation of the subtree at l is exact; returns its max_end or ~0. */
/*
 * Recompute the augmentation of the subtree at l into *end / *xend and
 * compare it with the stored one; false if any node disagrees. (Ends go up
 * to 2^64 - 1, so no end value can double as an error marker.)
 */
static bool check_aug(const struct vtlmem_rtree_node *l, uint64_t *end, uint64_t *xend)
{
	const struct rt_node *n = (const struct rt_node *)l;
	uint64_t le, lx, re, rx;

	*end = 0;
	*xend = 0;
	if (!l)
		return true;
	if (!check_aug(l->left, &le, &lx) || !check_aug(l->right, &re, &rx))
		return false;
	*end = max_u64(n->end, max_u64(le, re));
	*xend = max_u64(own_xend(n), max_u64(lx, rx));
	return n->max_end == *end && n->max_xend == *xend;
}

/*
 * The small arrays: at most VTLMEM_RTABLE_SMALL slots in use (none in tree
 * mode), each slot's keys its node's and the node's idx the slot, no node
 * twice (the idx of each is its own slot), every other slot free (start
 * ~0, end 0); in small mode no tree.
 */
static bool check_small(const struct vtlmem_rtable *t)
{
	const struct rt_node *n;
	uint32_t i;

	if ((!t->tree && (t->iroot || t->nodes)) || t->nsmall > VTLMEM_RTABLE_SMALL)
		return false;
	for (i = 0; i < VTLMEM_RTABLE_SMALL; i++) {
		if (i >= t->nsmall) {
			if (t->sm_start[i] != UINT64_MAX || t->sm_end[i])
				return false;
			continue;
		}
		n = sm_node(t, i);
		if (!n || n->idx != i || t->sm_start[i] != n->start || t->sm_end[i] != n->end)
			return false;
	}
	return true;
}

/* Intervals: valid, exclusive ones overlap nothing, readers and shared ones counted. */
static int check_intervals(struct vtlmem_rtable *t, uint64_t *readers)
{
	const struct rt_node *n, *prev = NULL;
	uint64_t all_end = 0, x_end = 0, e, xe, count = 0, shared = 0;

	if (!t->tree) {
		if (!check_small(t))
			return -1;
	} else {
		if (t->tree != 1 || t->nsmall || !check_small(t) ||
		    vtlmem_rtree_check(t->iroot, node_cmp) != (long)t->nodes)
			return -1;
		if (!check_aug(t->iroot, &e, &xe))
			return -2;
	}
	*readers = 0;
	for (n = iv_first(t); n; prev = n, n = iv_next(t, n)) {
		if (prev && node_cmp(&prev->link, &n->link) >= 0)
			return -1;
		count++;
		shared += n->mode == VTLMEM_RES_SHARED;
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
	return count == rt_nodes(t) && shared == t->nshared ? 0 : -1;
}

/* Is a handle with id in the handle tree? */
static bool in_tree(const struct vtlmem_rtable *t, uint64_t id)
{
	const struct vtlmem_rtree_node *l = t->hroot;

	while (l && TO_HANDLE(l)->id != id)
		l = id < TO_HANDLE(l)->id ? l->left : l->right;
	return l != NULL;
}

/* Handles: ids below next_id, refs sorted and disjoint, modes match. */
static int check_handles(struct vtlmem_rtable *t, uint64_t *refs)
{
	struct rt_handle *h;
	struct ref_cursor c;
	struct rt_node *n;
	uint64_t prev_end, young = 0;
	uint32_t i;

	/* the young ring: each handle in its id's slot, none also in the tree */
	for (i = 0; i < VTLMEM_RTABLE_YOUNG; i++) {
		h = t->young[i];
		if (!h)
			continue;
		if (h->id % VTLMEM_RTABLE_YOUNG != i || in_tree(t, h->id))
			return -5;
		young++;
	}
	if (vtlmem_rtree_check(t->hroot, handle_cmp) != (long)(rt_handles(t) - young))
		return -5;
	*refs = 0;
	for (h = rt_handle_first(t); h; h = rt_handle_next(t, h)) {
		if (h->id == 0 || (t->next_id && h->id >= t->next_id) || h->nref == 0 ||
		    h->id < t->first_id)
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

/*
 * Retired records: counted, not live, this table's, in the shape of a
 * one-range handle taken from the retired list (record_clean() in
 * reserve.c).
 */
static int check_retired(const struct vtlmem_rtable *t)
{
	const struct rt_handle *h;
	uint64_t n = 0;

	for (h = t->retired; h; h = h->next_retired, n++)
		if (__atomic_load_n(&h->id, __ATOMIC_RELAXED) || h->table != t || h->nref != 1 ||
		    h->ext || !h->contig || h->fresh || !h->retired_before)
			return -10;
	return n == t->nretired && t->objects >= n + t->ncache ? 0 : -10;
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
	if (!ret)
		ret = check_retired(t);
	vtlmem_lock_release(t->plat, &t->lock);
	return ret;
}
