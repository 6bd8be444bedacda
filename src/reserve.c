/* SPDX-License-Identifier: MIT */
/*
 * Physical-range reservation table (include/vtlmem/reserve.h).
 *
 * Data structures (all under t->lock):
 *  - the interval nodes [start, end), ordered by (start, end, mode), in one
 *    of two places (reserve_internal.h): up to VTLMEM_RTABLE_SMALL of them
 *    in the small arrays inside the table (t->tree == 0; a reserve scans
 *    every slot without a branch per slot, a release moves the last slot
 *    into its own: O(1)), or in iroot (t->tree == 1). The arrays go to the
 *    tree when a 17th interval comes, the tree back to the arrays when 8
 *    are left: neither allocates, and a table hovering at either boundary
 *    does not switch at every call.
 *  - iroot: an augmented AVL tree (rtree) of the intervals. Each node
 *    knows the largest end of all intervals in its subtree (max_end) and
 *    of the exclusive ones (max_xend, 0 if none), so "does anything / any
 *    exclusive interval overlap [s, e)" is one O(log N) descent. While no
 *    interval is shared (t->nshared == 0) they are disjoint, and an
 *    exclusive request needs only its predecessor and successor.
 *    Invariant (enforced by the conflict check before every insert): an
 *    exclusive interval overlaps no other interval; shared intervals may
 *    overlap each other. Identical shared ranges are one node with a reader
 *    count (readers >= 1, exclusive nodes have readers == 1).
 *  - live handles by id: each is either in the young ring, in slot
 *    t->young[id % VTLMEM_RTABLE_YOUNG], or in hroot, an AVL tree keyed by
 *    id. A new handle takes its id's ring slot and moves the slot's
 *    previous handle (VTLMEM_RTABLE_YOUNG or more ids older) to the tree,
 *    so a handle released soon after its reserve is found and dropped in
 *    O(1) (reserve_internal.h). A handle lists its interval nodes sorted
 *    by start (3 inline, then chained blocks of 9); every node's readers
 *    equals the number of handles that list it.
 *  - cache: up to VTLMEM_RTABLE_CACHE free objects. Nodes, handles and
 *    blocks are one union type, so any free object serves any need.
 *
 * Lock discipline: no platform op is called with t->lock held. Validation
 * (ownership op) runs before the lock; allocations and frees beyond the
 * cache happen with the lock dropped, into/out of a private pool.
 *
 * Files: this one holds the small arrays and the two trees with their
 * invariants, reserve, release, init and fini; reserve_obj.h the object pools and the cache;
 * reserve_query.c the queries, dump, stats and the self-check.
 */
#include "bug.h"
#include "lock.h"
#include "reserve_claim.h"
#include "reserve_debug.h"
#include "reserve_held.h"
#include "pacheck.h"
#include "reserve_internal.h"
#include "reserve_obj.h"
#include "rtree_impl.h"

bool vtlmem_rtable_test_tree_only;

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
static struct rt_node *tree_conflict(struct vtlmem_rtable *t, uint64_t s, uint64_t e,
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
static struct rt_node *tree_shared(struct vtlmem_rtable *t, uint64_t s, uint64_t e)
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
 * Small mode (see reserve_internal.h): does any slot overlap [s, e) (an
 * exclusive request's conflict)? Every slot is looked at, without a branch
 * per slot. Each interval [x, y) ends at or before s, starts at or after
 * e, or overlaps [s, e); the first kind starts below e, the second ends
 * above s, an overlapping one does both. So the count c of starts below e
 * plus ends above s exceeds the number of intervals by the number that
 * overlap. A free slot (start ~0, end 0) counts in neither, so two slots a
 * step may read one past the last; one carry-add each test.
 */
static inline __attribute__((always_inline)) bool sm_overlaps(const struct vtlmem_rtable *t,
							       uint64_t s, uint64_t e)
{
	const uint64_t *st = t->sm_start, *stop = st + t->nsmall;
	const ptrdiff_t d = t->sm_end - t->sm_start;
	uint64_t c = 0;

	for (; st < stop; st += 2) {
		c += st[0] < e;
		c += st[d] > s;
		c += st[1] < e;
		c += st[d + 1] > s;
	}
	return c > t->nsmall;
}

/* Small mode: tree_conflict()'s answer (the in-order first), by a scan. */
static struct rt_node *sm_conflict(struct vtlmem_rtable *t, uint64_t s, uint64_t e,
				   uint32_t mode)
{
	struct rt_node *best = NULL, *n;
	uint32_t i;

	for (i = 0; i < t->nsmall; i++) {
		n = sm_node(t, i);
		if (t->sm_start[i] < e && t->sm_end[i] > s &&
		    (mode == VTLMEM_RES_EXCLUSIVE || n->mode == VTLMEM_RES_EXCLUSIVE) &&
		    (!best || node_cmp(&n->link, &best->link) < 0))
			best = n;
	}
	return best;
}

/* Small mode: tree_shared()'s answer, by a scan. */
static struct rt_node *sm_shared(struct vtlmem_rtable *t, uint64_t s, uint64_t e)
{
	uint32_t i;

	for (i = 0; i < t->nsmall; i++)
		if (t->sm_start[i] == s && t->sm_end[i] == e && sm_node(t, i)->mode ==
		    VTLMEM_RES_SHARED)
			return sm_node(t, i);
	return NULL;
}

static struct rt_node *find_conflict(struct vtlmem_rtable *t, uint64_t s, uint64_t e,
				     uint32_t mode)
{
	return t->tree ? tree_conflict(t, s, e, mode) : sm_conflict(t, s, e, mode);
}

static struct rt_node *find_shared(struct vtlmem_rtable *t, uint64_t s, uint64_t e)
{
	return t->tree ? tree_shared(t, s, e) : sm_shared(t, s, e);
}

/* Small mode: put n in slot i. */
static inline __attribute__((always_inline)) void sm_put(struct vtlmem_rtable *t, uint32_t i,
							  struct rt_node *n)
{
	t->sm_start[i] = n->start;
	t->sm_end[i] = n->end;
	t->sm_node[i] = n;
	n->idx = i;
}

/* Small mode: drop n's slot; the last slot's interval moves into it. */
static inline __attribute__((always_inline)) void sm_drop(struct vtlmem_rtable *t,
							   const struct rt_node *n)
{
	uint32_t i = n->idx, last = --t->nsmall;

	if (i != last) {
		t->sm_start[i] = t->sm_start[last];
		t->sm_end[i] = t->sm_end[last];
		t->sm_node[i] = t->sm_node[last];
		sm_node(t, i)->idx = i;
	}
	t->sm_start[last] = UINT64_MAX;   /* free */
	t->sm_end[last] = 0;
}

/*
 * The interval tree with its callbacks fixed at compile time, so the
 * comparison and the augmentation are inlined into the AVL walk (the same
 * algorithm as vtlmem_rtree_insert_aug() etc., see rtree_impl.h). Lock held.
 */

/*
 * What x's height and maxima are from its own interval and its children:
 * the children's heights (0: none) and the maxima of ends and exclusive
 * ends over x's subtree.
 */
static inline __attribute__((always_inline)) void iv_sum(struct vtlmem_rtree_node *x, int *hl,
							  int *hr, uint64_t *me, uint64_t *mx)
{
	struct vtlmem_rtree_node *l = x->left, *r = x->right;

	*hl = *hr = 0;
	*me = TO_NODE(x)->end;
	*mx = own_xend(TO_NODE(x));
	if (l) {
		*hl = l->height;
		*me = max_u64(*me, TO_NODE(l)->max_end);
		*mx = max_u64(*mx, TO_NODE(l)->max_xend);
	}
	if (r) {
		*hr = r->height;
		*me = max_u64(*me, TO_NODE(r)->max_end);
		*mx = max_u64(*mx, TO_NODE(r)->max_xend);
	}
}

/*
 * rtree_fixup() for the interval tree, with each node's children read
 * once for both its height and its augmentation (the generic walk reads
 * them three times, each behind a NULL test). Same steps and stopping
 * rule: a node that is not rotated, not the moved one and comes out
 * unchanged ends the walk. Rotations (rare) take the generic path.
 */
static inline __attribute__((always_inline)) void iv_fixup(struct vtlmem_rtable *t,
							    struct vtlmem_rtree_node *x,
							    const struct vtlmem_rtree_node *moved)
{
	const struct rtree_fix f = { NULL, node_augment };
	struct rt_node *n;
	uint64_t me, mx;
	int hl, hr, h;
	bool changed, was_moved;

	while (x) {
		n = TO_NODE(x);
		iv_sum(x, &hl, &hr, &me, &mx);
		was_moved = x == moved;
		if (__builtin_expect((unsigned)(hl - hr + 1) > 2u, 0)) {
			x = rtree_rebalance(&t->iroot, x, &f, &changed);
		} else {
			h = 1 + (hl > hr ? hl : hr);
			changed = h != x->height || me != n->max_end || mx != n->max_xend;
			x->height = h;
			n->max_end = me;
			n->max_xend = mx;
		}
		if (was_moved)
			moved = NULL;
		else if (!changed && !moved)
			return;
		x = x->parent;
	}
}

/* Height and maxima of interval node x from its own interval and its children. */
static inline __attribute__((always_inline)) void iv_refresh(struct vtlmem_rtree_node *x)
{
	struct rt_node *n = TO_NODE(x);
	uint64_t me, mx;
	int hl, hr;

	iv_sum(x, &hl, &hr, &me, &mx);
	x->height = 1 + (hl > hr ? hl : hr);
	n->max_end = me;
	n->max_xend = mx;
}

/*
 * Rotate x's right child (left: true) or left child up into x's place.
 * Every node's maxima must be exact before: the child then holds x's
 * subtree's maxima (the same intervals), x is recomputed from its new
 * children, the child's height from its.
 */
static inline __attribute__((always_inline)) void iv_rotate(struct vtlmem_rtable *t,
							     struct vtlmem_rtree_node *x, bool left)
{
	struct vtlmem_rtree_node *y = left ? x->right : x->left, *mid;
	int hl, hr;

	if (left) {
		mid = y->left;
		x->right = mid;
		y->left = x;
	} else {
		mid = y->right;
		x->left = mid;
		y->right = x;
	}
	if (mid)
		mid->parent = x;
	rtree_replace_child(&t->iroot, x->parent, x, y);
	x->parent = y;
	TO_NODE(y)->max_end = TO_NODE(x)->max_end;
	TO_NODE(y)->max_xend = TO_NODE(x)->max_xend;
	iv_refresh(x);
	hl = vtlmem_rtree_height(y->left);
	hr = vtlmem_rtree_height(y->right);
	y->height = 1 + (hl > hr ? hl : hr);
}

/*
 * Restore the AVL balance at x (children exact and balanced, heights
 * differing by 2) by one or two rotations; every node's maxima exact
 * before and after. Returns the node now in x's place.
 */
static __attribute__((noinline)) struct vtlmem_rtree_node *iv_rebalance(struct vtlmem_rtable *t,
									struct vtlmem_rtree_node *x)
{
	struct vtlmem_rtree_node *c;

	if (vtlmem_rtree_height(x->left) > vtlmem_rtree_height(x->right)) {
		c = x->left;
		if (vtlmem_rtree_height(c->left) < vtlmem_rtree_height(c->right))
			iv_rotate(t, c, true);
		iv_rotate(t, x, false);
	} else {
		c = x->right;
		if (vtlmem_rtree_height(c->right) < vtlmem_rtree_height(c->left))
			iv_rotate(t, c, false);
		iv_rotate(t, x, true);
	}
	return x->parent;
}

/*
 * Link n as a leaf at *link under parent and repair the tree, in two
 * short walks instead of iv_fixup()'s: the maxima go up while an ancestor
 * lacks n's ends (ancestors' maxima only grow towards the root), then the
 * heights go up while a subtree grew; where that would unbalance a node,
 * one rebalance there (from exact children) restores its old height and
 * ends the walk.
 */
static inline __attribute__((always_inline)) void tree_link(struct vtlmem_rtable *t,
							     struct rt_node *n,
							     struct vtlmem_rtree_node *parent,
							     struct vtlmem_rtree_node **link)
{
	struct vtlmem_rtree_node *x = &n->link, *p, *sib;
	uint64_t e = n->end, xe = own_xend(n);
	struct rt_node *a;
	int hs;

	x->left = NULL;
	x->right = NULL;
	x->parent = parent;
	x->height = 1;
	n->max_end = e;
	n->max_xend = xe;
	*link = x;
	for (p = parent; p; p = p->parent) {
		a = TO_NODE(p);
		if (a->max_end >= e && a->max_xend >= xe)
			break;
		a->max_end = max_u64(a->max_end, e);
		a->max_xend = max_u64(a->max_xend, xe);
	}
	for (p = parent; p && p->height == x->height; x = p, p = p->parent) {
		sib = p->left == x ? p->right : p->left;
		hs = sib ? sib->height : 0;
		if (__builtin_expect(x->height - hs > 1, 0)) {
			iv_rebalance(t, p);
			return;
		}
		p->height = x->height + 1;
	}
}

/* Insert n into the tree. O(log N). */
static void tree_insert(struct vtlmem_rtable *t, struct rt_node *n)
{
	struct vtlmem_rtree_node *parent = NULL, **link = &t->iroot;

	while (*link) {
		parent = *link;
		link = node_cmp(&n->link, parent) < 0 ? &parent->left : &parent->right;
	}
	tree_link(t, n, parent, link);
}

/*
 * Remove n from the tree. A node with two children: rtree_erase_impl()
 * with iv_fixup(). Otherwise its child takes its place and, as in
 * tree_link(), two short walks repair it: the maxima up while an
 * ancestor's may have been n's end and come out changed, then the heights
 * up while a subtree shrank, rebalancing where needed (a rebalance that
 * restores the old height ends the walk).
 */
static void tree_erase(struct vtlmem_rtable *t, struct rt_node *n)
{
	struct vtlmem_rtree_node *x = &n->link, *p = x->parent, *low, *moved;
	uint64_t e = n->end, xe = own_xend(n);
	int hl, hr, h, old;

	if (x->left && x->right) {
		moved = rtree_leftmost(x->right);
		low = rtree_splice_successor(&t->iroot, x);
		x->left = x->right = x->parent = NULL;
		iv_fixup(t, low, moved);
		return;
	}
	rtree_replace_child(&t->iroot, p, x, x->left ? x->left : x->right);
	x->left = x->right = x->parent = NULL;
	for (low = p; low; low = low->parent) {
		if (TO_NODE(low)->max_end != e && (!xe || TO_NODE(low)->max_xend != xe))
			break;
		if (!node_augment(low))
			break;
	}
	while (p) {
		hl = vtlmem_rtree_height(p->left);
		hr = vtlmem_rtree_height(p->right);
		if (__builtin_expect((unsigned)(hl - hr + 1) > 2u, 0)) {
			old = p->height;
			p = iv_rebalance(t, p);
			if (p->height == old)
				return;
		} else {
			h = 1 + (hl > hr ? hl : hr);
			if (h == p->height)
				return;
			p->height = h;
		}
		p = p->parent;
	}
}

/* Small mode -> tree: every slot's node into the tree (the arrays are full). */
static __attribute__((noinline)) void iv_to_tree(struct vtlmem_rtable *t)
{
	uint32_t i;

	t->iroot = NULL;
	for (i = 0; i < t->nsmall; i++) {
		tree_insert(t, sm_node(t, i));
		t->sm_start[i] = UINT64_MAX;   /* free */
		t->sm_end[i] = 0;
	}
	t->nodes = t->nsmall;
	t->nsmall = 0;
	t->tree = 1;
}

/* Tree -> small mode: every node of the tree into a slot (few are left). */
static __attribute__((noinline)) void iv_to_small(struct vtlmem_rtable *t)
{
	struct vtlmem_rtree_node *l, *next;
	uint32_t i = 0;

	for (l = vtlmem_rtree_first(t->iroot); l; l = next) {
		next = vtlmem_rtree_next(l);
		sm_put(t, i++, TO_NODE(l));
	}
	t->nsmall = i;
	t->nodes = 0;
	t->iroot = NULL;
	t->tree = 0;
}

/* Add interval node n to the set (either representation). */
static void iv_add(struct vtlmem_rtable *t, struct rt_node *n)
{
	if (!t->tree && t->nsmall == VTLMEM_RTABLE_SMALL)
		iv_to_tree(t);
	if (t->tree) {
		tree_insert(t, n);
		t->nodes++;
	} else {
		sm_put(t, t->nsmall++, n);
	}
	t->nshared += n->mode;   /* VTLMEM_RES_SHARED is 1 */
}

/* Remove interval node n from the set; half full small arrays take the tree back. */
static inline __attribute__((always_inline)) void iv_remove(struct vtlmem_rtable *t,
							     struct rt_node *n)
{
	if (n->mode == VTLMEM_RES_SHARED)
		t->nshared--;
	if (!t->tree) {
		sm_drop(t, n);
		return;
	}
	t->nodes--;
	tree_erase(t, n);
	if (__builtin_expect(t->nodes <= VTLMEM_RTABLE_SMALL / 2, 0) &&
	    !vtlmem_rtable_test_tree_only)
		iv_to_small(t);
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

/* Make published h findable: its ring slot, whose old handle goes to the tree. */
static inline void handle_link(struct vtlmem_rtable *t, struct rt_handle *h, uint64_t id)
{
	struct rt_handle **slot = young_slot(t, id);

	if (*slot)
		hd_insert(t, *slot);
	*slot = h;
}

/* Forget live handle h, whose id is id (from the ring or the tree). */
static inline void handle_unlink(struct vtlmem_rtable *t, struct rt_handle *h, uint64_t id)
{
	struct rt_handle **slot = young_slot(t, id);

	if (*slot == h)
		*slot = NULL;
	else
		hd_erase(t, h);
}

/*
 * Where the exclusive interval n = [s, e) goes in the interval tree, and
 * whether it overlaps a live interval, in one descent (instead of
 * tree_conflict's and the insert's). The intervals ordered before n start
 * at or before s: one overlaps iff the largest of their ends (the ends and
 * left subtrees' max_end where the descent turns right) is above s. Those
 * after n start at or after s, the first of them (where the descent last
 * turns left) lowest: one overlaps iff that start is below e. Sets
 * *parent and *link for tree_link(); returns true on an overlap.
 */
static inline bool excl_place(struct vtlmem_rtable *t, const struct rt_node *n,
			      struct vtlmem_rtree_node **parent, struct vtlmem_rtree_node ***link)
{
	struct vtlmem_rtree_node **l = &t->iroot, *p = NULL;
	uint64_t s = n->start, e = n->end, before = 0, after = UINT64_MAX;
	const struct rt_node *x;

	bool left;

	if (!t->nshared) {
		/*
		 * Every interval exclusive, so they are disjoint and the largest
		 * end before n is its predecessor's (where the descent last
		 * turns right). An interval starting at s overlaps n: the
		 * descent turns right there, so before > s.
		 */
		while (*l) {
			p = *l;
			x = TO_NODE(p);
			if (s < x->start) {
				after = x->start;
				l = &p->left;
			} else {
				before = x->end;
				l = &p->right;
			}
		}
		*parent = p;
		*link = l;
		return before > s || after < e;
	}
	/* one key comparison per level picks the turn and what it adds to either bound */
	while (*l) {
		p = *l;
		x = TO_NODE(p);
		left = s < x->start || (s == x->start && (e < x->end || (e == x->end &&
								      n->mode < x->mode)));
		after = left ? x->start : after;
		before = left ? before : max_u64(before, max_u64(x->end, sub_max_end(p->left)));
		l = left ? &p->left : &p->right;
	}
	*parent = p;
	*link = l;
	return before > s || after < e;
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

/*
 * Every record on t->retired has the shape of a one-range handle taken
 * from there (nref 1, no ext blocks, contig, fresh 0, retired_before), so
 * reserve_small() writes only what differs between two such handles. A
 * live record of one range needs only the last two (its ext is NULL and
 * it is contig already).
 */
static inline __attribute__((always_inline)) void record_clean(struct rt_handle *h)
{
	h->nref = 1;
	h->ext = NULL;
	h->contig = 1;
	h->fresh = 0;
	h->retired_before = 1;
}

/* Park a published record on t->retired, or give an unpublished one to pool. */
static void record_put(struct vtlmem_rtable *t, struct rt_pool *pool, struct rt_handle *h,
		       bool published)
{
	if (!published && !h->retired_before) {
		pool_push(pool, h);
		return;
	}
	record_clean(h);
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
/*
 * The live interval h conflicts with: of its lowest-addressed range that
 * conflicts (index into *range), the lowest (start, end). NULL: none.
 */
static struct rt_node *handle_conflict(struct vtlmem_rtable *t, struct rt_handle *h,
				       uint32_t *range)
{
	struct ref_cursor c;
	struct rt_node *n, *conf;
	uint32_t i;

	cursor_init(&c, h);
	for (i = 0; i < h->nref; i++) {
		n = *cursor_next(&c);
		conf = find_conflict(t, n->start, n->end, h->mode);
		if (conf) {
			*range = i;
			return conf;
		}
	}
	return NULL;
}

/*
 * Give h the next id and link it: every field of h written before is
 * published with the id (release store), for the lock-free held checks.
 * Returns the id. Lock held.
 */
static inline __attribute__((always_inline)) uint64_t handle_publish(struct vtlmem_rtable *t,
								     struct rt_handle *h)
{
	uint64_t id = t->next_id;

	__atomic_store_n(&h->id, id, __ATOMIC_RELEASE);
	__atomic_store_n(&t->next_id, id + 1, __ATOMIC_RELAXED);
	handle_link(t, h, id);
	t->handles++;
	t->reserves++;
	return id;
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
		iv_add(t, *slot);
	}
	handle_publish(t, h);
}

static void report(struct vtlmem_conflict *conflict, const struct rt_node *n)
{
	if (!conflict)
		return;
	conflict->pa = vtlmem_pa(n->start);
	conflict->len = n->end - n->start;
	conflict->mode = (enum vtlmem_rmode)n->mode;
}

/*
 * The one-shot calls' page claims against h, whose conflict with the
 * intervals (if any, conf) is in its range number range: mark h's claim
 * buckets and check them. Returns 0 (no conflict at all: h's buckets
 * marked), 1 (a claim is the conflict to report: reported into *conflict,
 * nothing marked) or -VTLMEM_EBUSY (conf is: nothing marked). The report
 * follows reserve.h: of the lowest-addressed conflicting range, the lowest
 * (start, end), claims and intervals alike.
 */
static int claims_check(struct vtlmem_rtable *t, struct rt_handle *h, const struct rt_node *conf,
			uint32_t range, struct vtlmem_conflict *conflict)
{
	struct vtlmem_conflict cc;
	uint32_t crange;
	uint64_t cs;

	if (!vtlmem_claims_mark(t, h, &cc, &crange)) {
		if (!conf)
			return 0;
		vtlmem_claims_unmark(t, h);
		return -VTLMEM_EBUSY;
	}
	cs = vtlmem_pa_val(cc.pa);
	if (conf && (range < crange || (range == crange &&
					 (conf->start < cs || (conf->start == cs &&
							       conf->end - conf->start < cc.len)))))
		return -VTLMEM_EBUSY;
	if (conflict)
		*conflict = cc;
	return 1;
}

/* The request with all its objects in pool. Lock held. */
static int reserve_locked(struct vtlmem_rtable *t, const struct vtlmem_range *ranges, size_t n,
			  uint32_t mode, struct rt_pool *pool, uint64_t fresh, vtlmem_resv_t *out,
			  struct vtlmem_conflict *conflict)
{
	struct rt_handle *h = handle_build(t, pool, n, mode);
	struct rt_node *conf;
	uint32_t made = 0, range = 0;
	int ret;

	ret = nodes_build(pool, h, ranges, mode, &made);
	if (!ret)
		handle_span(h);
	if (!ret && t->next_id == 0)
		ret = -VTLMEM_ENOSPC;
	if (!ret) {
		conf = handle_conflict(t, h, &range);
		if (t->claims)
			ret = claims_check(t, h, conf, range, conflict);
		else
			ret = conf ? -VTLMEM_EBUSY : 0;
		if (ret == -VTLMEM_EBUSY)
			report(conflict, conf);
		if (ret) {
			ret = -VTLMEM_EBUSY;
			t->conflicts++;
		}
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

/*
 * The common request, one range with a retired record and a cached node at
 * hand (steady state), straight: the same steps and results as the general
 * path below (reserve_locked) without its pools and loops. Lock held on
 * entry, released on return. Nothing is taken from the cache or the
 * retired list before the request is known to succeed.
 */
static __attribute__((noinline)) int reserve_one(struct vtlmem_rtable *t,
							     const struct vtlmem_range *r,
							     uint32_t mode, vtlmem_resv_t *out,
							     struct vtlmem_conflict *conflict)
{
	struct rt_handle *h = t->retired;
	union rt_obj *o = t->cache, *next = o->next_free;
	struct rt_node *n = &o->node, *conf = NULL, *same = NULL;
	struct vtlmem_rtree_node *parent = NULL, **link = NULL;
	uint64_t id;
	int ret = 0;

	/* next_free overlays n's link, which excl_place() does not read */
	n->start = vtlmem_pa_val(r->pa);
	n->end = n->start + r->len;
	n->mode = mode;
	n->readers = 1;
	if (!t->tree) {
		conf = sm_conflict(t, n->start, n->end, mode);
		if (!conf && mode == VTLMEM_RES_SHARED)
			same = sm_shared(t, n->start, n->end);
	} else if (mode == VTLMEM_RES_EXCLUSIVE) {
		if (excl_place(t, n, &parent, &link)) {
			conf = tree_conflict(t, n->start, n->end, mode);   /* the one to report */
			VTLMEM_BUG_ON(t->plat, !conf);
		}
	} else {
		conf = tree_conflict(t, n->start, n->end, mode);
		if (!conf)
			same = tree_shared(t, n->start, n->end);
	}
	if (t->claims) {
		/* h is not live (id 0), so the lock-free check ignores these */
		h->nref = 1;
		h->mode = mode;
		h->ref[0] = n;
		ret = claims_check(t, h, conf, 0, conflict);
	} else if (conf) {
		ret = -VTLMEM_EBUSY;
	}
	if (ret == -VTLMEM_EBUSY)
		report(conflict, conf);
	if (ret) {
		ret = -VTLMEM_EBUSY;
		t->conflicts++;
		o->next_free = next;
		vtlmem_lock_release(t->plat, &t->lock);
		return ret;
	}
	if (same) {
		same->readers++;
		o->next_free = next;
		n = same;
	} else {
		t->cache = next;
		t->ncache--;
		if (!t->tree && t->nsmall < VTLMEM_RTABLE_SMALL) {
			sm_put(t, t->nsmall++, n);
			t->nshared += mode;
		} else if (link) {
			tree_link(t, n, parent, link);   /* exclusive */
			t->nodes++;
		} else {
			iv_add(t, n);
		}
	}
	t->retired = h->next_retired;
	t->nretired--;
	h->retired_before = 1;
	h->fresh = 0;
	h->nref = 1;
	h->mode = mode;
	h->ext = NULL;
	h->ref[0] = n;
	h->lo = n->start;
	h->hi = n->end;
	h->contig = 1;
	id = handle_publish(t, h);
	vtlmem_lock_release(t->plat, &t->lock);
	out->id = id;
	out->rec = h;
	return 0;
}

/*
 * The end of reserve_small() and reserve_tree(): exclusive node n for
 * [s, e), already placed, gets a record from the retired list (in
 * record_clean() shape: only what differs is written), is published and
 * unlocked.
 */
static inline __attribute__((always_inline)) int commit_excl(struct vtlmem_rtable *t,
							     struct rt_node *n, uint64_t s,
							     uint64_t e, vtlmem_resv_t *out)
{
	struct rt_handle *h = t->retired;
	uint64_t id;

	t->retired = h->next_retired;
	t->nretired--;
	h->mode = VTLMEM_RES_EXCLUSIVE;
	h->ref[0] = n;
	h->lo = s;
	h->hi = e;
	id = handle_publish(t, h);
	vtlmem_lock_release(t->plat, &t->lock);
	out->id = id;
	out->rec = h;
	return 0;
}

/* A cached object as exclusive node [s, e) (taken from the cache). */
static inline __attribute__((always_inline)) struct rt_node *node_take(struct vtlmem_rtable *t,
								       uint64_t s, uint64_t e)
{
	union rt_obj *o = t->cache;
	struct rt_node *n = &o->node;

	t->cache = o->next_free;
	t->ncache--;
	n->start = s;
	n->end = e;
	n->mode = VTLMEM_RES_EXCLUSIVE;
	n->readers = 1;
	return n;
}

/*
 * The straight paths' check against the one-shot calls' page claims
 * (the claim table exists): mark [s, e)'s buckets and check them; on a
 * conflict, nothing marked, counted and reported as reserve_locked()
 * does, the lock released. Lock held on entry.
 */
static __attribute__((noinline)) bool claims_refuse(struct vtlmem_rtable *t, uint64_t s,
						    uint64_t e, struct vtlmem_conflict *conflict)
{
	if (!vtlmem_claims_mark_range(t, s, e, VTLMEM_RES_EXCLUSIVE, conflict))
		return false;
	t->conflicts++;
	vtlmem_lock_release(t->plat, &t->lock);
	return true;
}

/*
 * reserve_one() of an exclusive range in small mode with a free slot
 * (steady state of a small table), straight: one scan, the claims' check
 * if there is a claim table, then the interval into the next slot. A
 * conflict with an interval goes to reserve_one() for its report. Lock held on entry, released on return.
 */
static inline __attribute__((always_inline)) int reserve_small(struct vtlmem_rtable *t,
							       const struct vtlmem_range *r,
							       vtlmem_resv_t *out,
							       struct vtlmem_conflict *conflict)
{
	uint64_t s = vtlmem_pa_val(r->pa), e = s + r->len;
	struct rt_node *n;

	if (sm_overlaps(t, s, e))
		return reserve_one(t, r, VTLMEM_RES_EXCLUSIVE, out, conflict);
	if (t->claims && claims_refuse(t, s, e, conflict))
		return -VTLMEM_EBUSY;
	n = node_take(t, s, e);
	sm_put(t, t->nsmall++, n);
	return commit_excl(t, n, s, e, out);
}

/*
 * reserve_one() of an exclusive range in tree mode when every interval is
 * exclusive, straight (with the claims' check if there is a claim table). The intervals are
 * disjoint, so [s, e) overlaps one iff its predecessor (the last node the
 * descent leaves to the right) ends after s or its successor (the last it
 * leaves to the left) starts before e; an interval starting at s is
 * a predecessor that overlaps. Of two in-order neighbours one is in the
 * other's subtree, so the new leaf goes under the predecessor if it has no
 * right child, else under the successor. A conflict goes to reserve_one()
 * for its report. Lock held on entry, released on return.
 */
static inline __attribute__((always_inline)) int reserve_tree(struct vtlmem_rtable *t,
							      const struct vtlmem_range *r,
							      vtlmem_resv_t *out,
							      struct vtlmem_conflict *conflict)
{
	uint64_t s = vtlmem_pa_val(r->pa), e = s + r->len;
	struct vtlmem_rtree_node *l = t->iroot, *pred = NULL, *succ = NULL, *parent, **link;
	struct rt_node *n;

	/* each turn tests its own child, so a level is one compare and one test */
	while (l) {
		if (s < TO_NODE(l)->start) {
			succ = l;
			l = l->left;
			if (!l)
				break;
		} else {
			pred = l;
			l = l->right;
			if (!l)
				break;
		}
	}
	if ((pred && TO_NODE(pred)->end > s) || (succ && TO_NODE(succ)->start < e))
		return reserve_one(t, r, VTLMEM_RES_EXCLUSIVE, out, conflict);
	if (t->claims && claims_refuse(t, s, e, conflict))
		return -VTLMEM_EBUSY;
	if (pred && !pred->right) {
		parent = pred;
		link = &pred->right;
	} else if (succ) {
		parent = succ;
		link = &succ->left;
	} else {
		parent = NULL;
		link = &t->iroot;
	}
	n = node_take(t, s, e);
	tree_link(t, n, parent, link);
	t->nodes++;
	return commit_excl(t, n, s, e, out);
}

/* reserve_checked() of any request, lock held on entry, released on return. */
static __attribute__((noinline)) int reserve_general(struct vtlmem_rtable *t,
						     const struct vtlmem_range *ranges, size_t n,
						     enum vtlmem_rmode mode, vtlmem_resv_t *out,
						     struct vtlmem_conflict *conflict)
{
	struct rt_pool pool = { NULL, 0 }, spare = { NULL, 0 };
	uint64_t fresh = 0;
	int ret;

	ret = pool_gather(t, &pool, n, &fresh);
	if (!ret)
		ret = reserve_locked(t, ranges, n, (uint32_t)mode, &pool, fresh, out, conflict);
	pool_return(t, &pool, ret ? fresh : 0, &spare);
	vtlmem_lock_release(t->plat, &t->lock);
	pool_free(t->plat, &spare);
	return ret;
}

/* vtlmem_reserve() after its argument and per-range checks. */
static inline __attribute__((always_inline)) int reserve_checked(struct vtlmem_rtable *t,
								  const struct vtlmem_range *ranges,
								  size_t n, enum vtlmem_rmode mode,
								  vtlmem_resv_t *out,
								  struct vtlmem_conflict *conflict)
{
	vtlmem_lock_acquire(t->plat, &t->lock);
	if (n == 1 && t->retired && t->cache && t->next_id) {
		if (mode == VTLMEM_RES_EXCLUSIVE) {
			if (!t->tree && t->nsmall < VTLMEM_RTABLE_SMALL)
				return reserve_small(t, ranges, out, conflict);
			if (t->tree && !t->nshared)
				return reserve_tree(t, ranges, out, conflict);
		}
		return reserve_one(t, ranges, (uint32_t)mode, out, conflict);
	}
	return reserve_general(t, ranges, n, mode, out, conflict);
}

/* vtlmem_reserve() of more than one range: every range's checks, then the general path. */
static __attribute__((noinline)) int reserve_many(struct vtlmem_rtable *t,
						  const struct vtlmem_range *ranges, size_t n,
						  enum vtlmem_rmode mode, vtlmem_resv_t *out,
						  struct vtlmem_conflict *conflict)
{
	int ret = check_request(t, ranges, n, mode, out);

	if (ret)
		return ret;
	vtlmem_lock_acquire(t->plat, &t->lock);
	return reserve_general(t, ranges, n, mode, out, conflict);
}

/*
 * The argument checks of check_request() and, for one range, the checks of
 * vtlmem_check_range() in its order, inline (the same errors in the same
 * order).
 */
int vtlmem_reserve(struct vtlmem_rtable *t, const struct vtlmem_range *ranges, size_t n,
		   enum vtlmem_rmode mode, vtlmem_resv_t *out, struct vtlmem_conflict *conflict)
{
	const struct vtlmem_platform *p;
	int ret;

	if (!t || !ranges || !out || n - 1 >= VTLMEM_RESV_MAX_RANGES || !mode_valid(mode))
		return -VTLMEM_EINVAL;
	if (n != 1)
		return reserve_many(t, ranges, n, mode, out, conflict);
	p = t->plat;
	ret = vtlmem_check_range_args(p, ranges->pa, ranges->len);
	if (ret)
		return ret;
	if (!p->ownership || p->ownership(p->ctx, ranges->pa, ranges->len) != VTLMEM_OWNER_VTL0)
		return -VTLMEM_EPERM;
	return reserve_checked(t, ranges, 1, mode, out, conflict);
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
	uint64_t id = h->id;
	uint32_t i;

	__atomic_store_n(&h->id, 0, __ATOMIC_RELEASE);   /* dead to lock-free checks */
	if (t->claims)
		vtlmem_claims_unmark(t, h);
	handle_unlink(t, h, id);
	cursor_init(&c, h);
	for (i = 0; i < h->nref; i++) {
		n = *cursor_next(&c);
		if (--n->readers)
			continue;
		iv_remove(t, n);
		pool_push(pool, n);
	}
	handle_unbuild(t, pool, h, 0, keep_record);
	t->handles--;
	t->releases++;
}

/*
 * Release h; undo: give back the objects its reserve allocated too. own:
 * h is known to be a handle t issued (an internal caller's own), so it is
 * found by its record (O(1)); otherwise it may be anything, also a handle
 * of another table whose records are gone, so only the handle tree is
 * searched (h.rec is never read).
 */
static __attribute__((noinline)) void release_general(struct vtlmem_rtable *t,
							  struct rt_handle *rh, bool undo)
{
	struct rt_pool pool = { NULL, 0 }, spare = { NULL, 0 };
	uint64_t fresh = 0;

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
	vtlmem_lock_release(t->plat, &t->lock);
	pool_free(t->plat, &spare);
}

/* Node n, no longer in the intervals, into the cache (room checked by the caller). */
static inline __attribute__((always_inline)) void node_to_cache(struct vtlmem_rtable *t,
								 struct rt_node *n)
{
	union rt_obj *o = (union rt_obj *)n;

	o->next_free = t->cache;
	t->cache = o;
	t->ncache++;
}

/*
 * The end of a straight release of a one-range record rh: retired in
 * record_clean() shape (a live one-range record differs only in fresh and
 * retired_before), counted, the lock released.
 */
static inline __attribute__((always_inline)) void release_finish(struct vtlmem_rtable *t,
								  struct rt_handle *rh)
{
	rh->fresh = 0;
	rh->retired_before = 1;
	rh->next_retired = t->retired;
	t->retired = rh;
	t->nretired++;
	t->handles--;
	t->releases++;
	vtlmem_lock_release(t->plat, &t->lock);
}

/*
 * The common release straight (a handle of one range, room in the cache):
 * handle_drop() + pool_return() without the pools. Lock held on entry,
 * released on return.
 */
static inline __attribute__((always_inline)) void release_one(struct vtlmem_rtable *t,
							      struct rt_handle *rh, uint64_t id)
{
	struct rt_node *n = rh->ref[0];

	__atomic_store_n(&rh->id, 0, __ATOMIC_RELEASE);   /* dead to lock-free checks */
	if (t->claims)
		vtlmem_claims_unmark(t, rh);
	handle_unlink(t, rh, id);
	if (--n->readers == 0) {
		iv_remove(t, n);
		node_to_cache(t, n);
	}
	release_finish(t, rh);
}

/*
 * release_one() of a young handle (its ring slot holds it) of one range
 * whose node it alone holds (its claim-bucket marks undone if there is a
 * claim table). Lock held on entry, released on return.
 */
static inline __attribute__((always_inline)) void release_young(struct vtlmem_rtable *t,
								struct rt_handle *rh,
								struct rt_handle **slot)
{
	struct rt_node *n = rh->ref[0];

	__atomic_store_n(&rh->id, 0, __ATOMIC_RELEASE);   /* dead to lock-free checks */
	*slot = NULL;
	if (t->claims)
		vtlmem_claims_unmark_range(t, n->start, n->end);
	iv_remove(t, n);   /* n, its readers 1, goes to the cache */
	node_to_cache(t, n);
	release_finish(t, rh);
}

/* release() after its straight path: lock held on entry, released on return. */
static __attribute__((noinline)) int release_locked(struct vtlmem_rtable *t, vtlmem_resv_t h,
						    bool undo, bool own)
{
	struct rt_handle *rh;

	if (own)
		rh = vtlmem_rt_lookup(t, h);
	else
		rh = h.id ? find_handle(t, h.id) : NULL;
	if (!rh) {
		vtlmem_lock_release(t->plat, &t->lock);
		return -VTLMEM_ENOENT;
	}
	if (!undo && rh->nref == 1 && t->ncache < VTLMEM_RTABLE_CACHE)
		release_one(t, rh, h.id);
	else
		release_general(t, rh, undo);
	return 0;
}

static inline __attribute__((always_inline)) int release(struct vtlmem_rtable *t,
							 vtlmem_resv_t h, bool undo, bool own)
{
	struct rt_handle *rh, **slot;

	if (!t)
		return -VTLMEM_EINVAL;
	vtlmem_lock_acquire(t->plat, &t->lock);
	if (!undo) {
		/* a young handle of one range whose node it alone holds */
		slot = young_slot(t, h.id);
		rh = *slot;
		if (rh && rh->id == h.id && rh->nref == 1 && t->ncache < VTLMEM_RTABLE_CACHE &&
		    rh->ref[0]->readers == 1) {
			release_young(t, rh, slot);
			return 0;
		}
	}
	return release_locked(t, h, undo, own);
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
	unsigned i;

	if (!t || !p || !vtlmem_lock_ops_ok(p))
		return -VTLMEM_EINVAL;
	if (!p->alloc || !p->free)
		return -VTLMEM_ENOSYS;
	t->plat = p;
	t->iroot = NULL;
	t->hroot = NULL;
	for (i = 0; i < VTLMEM_RTABLE_YOUNG; i++)
		t->young[i] = NULL;
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
	t->tree = vtlmem_rtable_test_tree_only;
	t->nsmall = 0;
	t->nshared = 0;
	for (i = 0; i < VTLMEM_RTABLE_SMALL; i++) {
		t->sm_start[i] = UINT64_MAX;   /* free */
		t->sm_end[i] = 0;
	}
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
	if (rt_handles(t) || res != rel) {
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
