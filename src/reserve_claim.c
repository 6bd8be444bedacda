/* SPDX-License-Identifier: MIT */
/*
 * Page claims (reserve_claim.h): the reservation table's path for the
 * one-shot VTL0 calls, which reserve 1-2 whole pages for the duration of
 * one call. It takes no table lock, so one-shot calls on different pages
 * from different CPUs do not serialise on the table.
 *
 * Structure: a set-associative table of CL_BUCKETS buckets (page number
 * mod CL_BUCKETS), each a cache-line-sized spinlock-protected set of
 * CL_WAYS claims {page, mode, readers} plus `tree`, the number of tree
 * reservations (handles of the interval tree) that touch a page of this
 * bucket, and `big`, for the whole table, the number of tree ranges longer
 * than CL_BUCKETS pages (which would mark every bucket). The claim table
 * is allocated on the first claim (vtlmem_rtable_init allocates nothing).
 *
 * Exactness against the interval tree (the only other place reservations
 * live). A claim locks its buckets and proceeds only if no tree
 * reservation marks them and big is 0; otherwise the call reserves
 * through the tree. A tree reservation (table lock held) first marks the
 * buckets of all its pages (or increments big), each under the bucket's
 * lock, then checks every such bucket under its lock for conflicting
 * claims. For one bucket B, either the claim's critical section on B comes
 * first, and the tree's later check of B finds the claim (-EBUSY), or the
 * tree's mark of B comes first, and the claim, taking B's lock after it,
 * sees the mark (or big: incremented before any bucket is checked) and
 * goes to the tree, where the table lock orders it after the tree
 * reservation. So a claim and a tree reservation of one page never both
 * succeed in conflicting modes, and two claims of one page meet in its
 * bucket under its lock.
 *
 * Scaling (64 CPUs): a claim touches only its 1-2 buckets' lines (its own
 * lock, entries and counters) and reads big, a line written only when a
 * tree range of more than CL_BUCKETS pages comes or goes. Different pages
 * map to different buckets unless their page numbers agree mod
 * CL_BUCKETS, so CPUs on different pages rarely share a line; nothing
 * global is written. Tree reservations of small ranges cost O(pages)
 * bucket lock round trips more; ranges above CL_BUCKETS pages scan the
 * whole claim table (O(CL_BUCKETS * CL_WAYS), bounded).
 *
 * Interrupt context: a claim holds its bucket locks with preemption off
 * (the platform's preempt_off, which disables interrupts wherever slots
 * are used from interrupts), so an interrupt never spins on a bucket lock
 * its own CPU holds; the tree side holds bucket locks only under the table
 * lock. Without preemption ops the fast path is not used.
 */
#include "arch.h"
#include "lock.h"
#include "reserve_claim.h"
#include "reserve_internal.h"

#define CL_BUCKETS 256u
#define CL_WAYS    4u
#define PG         VTLMEM_PAGE_SIZE

struct cl_ent {
	uint64_t page;           /* page number                          */
	uint32_t mode;           /* enum vtlmem_rmode                    */
	uint32_t readers;        /* 0: free way                          */
};

struct cl_bucket {
	union {
		struct {
			uint32_t lock;
			uint32_t tree;            /* tree handles touching a page here */
			uint32_t live;            /* ways in use (intervals)           */
			uint32_t conflicts;
			uint64_t reserves, releases;
			struct cl_ent e[CL_WAYS];
		} s;
		char line[128];
	};
};

_Static_assert(sizeof(struct cl_bucket) == 128, "a bucket is two cache lines");

struct cl_table {
	struct cl_bucket b[CL_BUCKETS];
	uint64_t big;                             /* tree ranges of > CL_BUCKETS pages */
};

bool vtlmem_claim_test_no_exclusion;

static void bl_lock(struct cl_bucket *b)
{
	while (__atomic_exchange_n(&b->s.lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&b->s.lock, __ATOMIC_RELAXED))
			vtlmem_arch_cpu_relax();
}

static void bl_unlock(struct cl_bucket *b)
{
	__atomic_store_n(&b->s.lock, 0, __ATOMIC_RELEASE);
}

static unsigned bucket_of(uint64_t page)
{
	return (unsigned)(page & (CL_BUCKETS - 1));
}

static bool conflicts(uint32_t a, uint32_t b)
{
	return a == VTLMEM_RES_EXCLUSIVE || b == VTLMEM_RES_EXCLUSIVE;
}

/* First and last page of tree range [start, end). */
static void pages_of(const struct rt_node *n, uint64_t *first, uint64_t *last)
{
	*first = n->start / PG;
	*last = (n->end - 1) / PG;
}

/* Mark (+1) or unmark (-1) the buckets of h's pages. Table lock held. */
static void mark(struct cl_table *ct, const struct rt_handle *h, int d)
{
	struct ref_cursor c;
	uint64_t first, last, pg;
	struct cl_bucket *b;
	uint32_t i;

	cursor_init(&c, (struct rt_handle *)h);
	for (i = 0; i < h->nref; i++) {
		pages_of(*cursor_next(&c), &first, &last);
		if (last - first >= CL_BUCKETS) {
			__atomic_store_n(&ct->big, ct->big + (uint64_t)(int64_t)d, __ATOMIC_RELAXED);
			continue;
		}
		for (pg = first; pg <= last; pg++) {
			b = &ct->b[bucket_of(pg)];
			bl_lock(b);
			b->s.tree += (uint32_t)d;
			bl_unlock(b);
		}
	}
}

/* A live claim in b of a page in [first, last] conflicting with mode. */
static const struct cl_ent *find_in(struct cl_bucket *b, uint64_t first, uint64_t last,
				    uint32_t mode)
{
	unsigned w;

	for (w = 0; w < CL_WAYS; w++) {
		const struct cl_ent *e = &b->s.e[w];

		if (e->readers && e->page >= first && e->page <= last && conflicts(mode, e->mode))
			return e;
	}
	return NULL;
}

/* The lowest conflicting claim of h's pages, into *conf. Table lock held. */
static bool check(struct cl_table *ct, const struct rt_handle *h, struct vtlmem_conflict *conf)
{
	struct ref_cursor c;
	const struct cl_ent *e;
	uint64_t first, last, pg, lo, hi;
	struct cl_bucket *b;
	uint32_t i;
	unsigned k;

	cursor_init(&c, (struct rt_handle *)h);
	for (i = 0; i < h->nref; i++) {
		pages_of(*cursor_next(&c), &first, &last);
		lo = first;
		hi = last;
		for (k = 0; k < CL_BUCKETS; k++) {
			/* small range: its own pages' buckets; big: every bucket */
			if (last - first < CL_BUCKETS) {
				if (first + k > last)
					break;
				pg = first + k;
				lo = hi = pg;
			} else {
				pg = k;
			}
			b = &ct->b[bucket_of(pg)];
			bl_lock(b);
			e = find_in(b, lo, hi, h->mode);
			if (e && conf) {
				conf->pa = vtlmem_pa(e->page * PG);
				conf->len = PG;
				conf->mode = (enum vtlmem_rmode)e->mode;
			}
			bl_unlock(b);
			if (e)
				return true;
		}
	}
	return false;
}

int vtlmem_claims_mark(struct vtlmem_rtable *t, const struct rt_handle *h,
		       struct vtlmem_conflict *conf)
{
	struct cl_table *ct = t->claims;

	if (!ct)
		return 0;
	/* every mark before any check: see the top of the file */
	mark(ct, h, 1);
	if (!check(ct, h, conf))
		return 0;
	mark(ct, h, -1);
	return -VTLMEM_EBUSY;
}

void vtlmem_claims_unmark(struct vtlmem_rtable *t, const struct rt_handle *h)
{
	if (t->claims)
		mark(t->claims, h, -1);
}

/* The claim table, made on first use: marks every live tree handle. */
static struct cl_table *create(struct vtlmem_rtable *t)
{
	const struct vtlmem_platform *p = t->plat;
	struct cl_table *ct = p->alloc(p->ctx, sizeof(*ct)), *have;
	struct vtlmem_rtree_node *l;
	volatile uint8_t *z = (volatile uint8_t *)ct;
	size_t i;

	if (!ct)
		return NULL;
	for (i = 0; i < sizeof(*ct); i++)   /* freestanding: no memset */
		z[i] = 0;
	vtlmem_lock_acquire(p, &t->lock);
	have = t->claims;
	if (!have) {
		for (l = vtlmem_rtree_first(t->hroot); l; l = vtlmem_rtree_next(l))
			mark(ct, TO_HANDLE(l), 1);
		__atomic_store_n(&t->claims, ct, __ATOMIC_RELEASE);
	}
	vtlmem_lock_release(p, &t->lock);
	if (have) {
		p->free(p->ctx, ct, sizeof(*ct));
		return have;
	}
	return ct;
}

/* The way in b for a claim of page in mode: join, free, or -1 (full). */
static int way_for(struct cl_bucket *b, uint64_t page, uint32_t mode, bool *busy)
{
	int free = -1;
	unsigned w;

	for (w = 0; w < CL_WAYS; w++) {
		struct cl_ent *e = &b->s.e[w];

		if (!e->readers) {
			if (free < 0)
				free = (int)w;
			continue;
		}
		if (e->page != page || __atomic_load_n(&vtlmem_claim_test_no_exclusion,
							       __ATOMIC_RELAXED))
			continue;
		if (conflicts(mode, e->mode)) {
			*busy = true;
			return -1;
		}
		return (int)w;   /* shared: join the readers */
	}
	return free;
}

static void unlock_pair(struct cl_table *ct, const unsigned *bk, unsigned n)
{
	bl_unlock(&ct->b[bk[0]]);
	if (n == 2 && bk[1] != bk[0])
		bl_unlock(&ct->b[bk[1]]);
}

int vtlmem_claim_pages(struct vtlmem_rtable *t, uint64_t pa, unsigned npages,
		       enum vtlmem_rmode mode, struct vtlmem_claim *c)
{
	const struct vtlmem_platform *p = t->plat;
	struct cl_table *ct = __atomic_load_n(&t->claims, __ATOMIC_ACQUIRE);
	uint64_t page = pa / PG;
	unsigned bk[2], lo, hi, i;
	unsigned long cookie;
	bool busy = false;
	int w[2] = { -1, -1 };

	if (!p->preempt_off || !p->preempt_on)
		return 1;
	if (!ct) {
		ct = create(t);
		if (!ct)
			return -VTLMEM_ENOMEM;
	}
	bk[0] = bucket_of(page);
	bk[1] = bucket_of(page + 1);
	lo = npages == 2 && bk[1] < bk[0] ? bk[1] : bk[0];
	hi = npages == 2 && bk[1] > bk[0] ? bk[1] : bk[0];
	cookie = p->preempt_off(p->ctx);
	bl_lock(&ct->b[lo]);
	if (hi != lo)
		bl_lock(&ct->b[hi]);
	if (__atomic_load_n(&ct->big, __ATOMIC_RELAXED) || ct->b[lo].s.tree || ct->b[hi].s.tree)
		goto slow;
	for (i = 0; i < npages; i++) {
		w[i] = way_for(&ct->b[bk[i]], page + i, (uint32_t)mode, &busy);
		if (busy) {
			ct->b[bk[0]].s.conflicts++;
			unlock_pair(ct, bk, npages);
			p->preempt_on(p->ctx, cookie);
			return -VTLMEM_EBUSY;
		}
		if (w[i] < 0)
			goto slow;   /* bucket full */
	}
	for (i = 0; i < npages; i++) {
		struct cl_ent *e = &ct->b[bk[i]].s.e[w[i]];

		if (!e->readers) {
			e->page = page + i;
			e->mode = (uint32_t)mode;
			ct->b[bk[i]].s.live++;
		}
		e->readers++;
		c->b[i] = (uint16_t)bk[i];
		c->w[i] = (uint8_t)w[i];
	}
	c->n = (uint8_t)npages;
	ct->b[bk[0]].s.reserves++;
	unlock_pair(ct, bk, npages);
	p->preempt_on(p->ctx, cookie);
	return 0;
slow:
	unlock_pair(ct, bk, npages);
	p->preempt_on(p->ctx, cookie);
	return 1;
}

void vtlmem_claim_release(struct vtlmem_rtable *t, const struct vtlmem_claim *c)
{
	const struct vtlmem_platform *p = t->plat;
	struct cl_table *ct = t->claims;
	unsigned long cookie = p->preempt_off(p->ctx);
	struct cl_bucket *b;
	unsigned i;

	for (i = 0; i < c->n; i++) {
		b = &ct->b[c->b[i]];
		bl_lock(b);
		if (--b->s.e[c->w[i]].readers == 0)
			b->s.live--;
		if (i == 0)
			b->s.releases++;
		bl_unlock(b);
	}
	p->preempt_on(p->ctx, cookie);
}

void vtlmem_claims_count(struct vtlmem_rtable *t, uint64_t *live, uint64_t *reserves,
			 uint64_t *releases, uint64_t *conflicts)
{
	struct cl_table *ct = t->claims;
	struct cl_bucket *b;
	unsigned k;

	*live = *reserves = *releases = *conflicts = 0;
	if (!ct)
		return;
	for (k = 0; k < CL_BUCKETS; k++) {
		b = &ct->b[k];
		bl_lock(b);
		*live += b->s.live;
		*reserves += b->s.reserves;
		*releases += b->s.releases;
		*conflicts += b->s.conflicts;
		bl_unlock(b);
	}
}

void vtlmem_claims_free(struct vtlmem_rtable *t)
{
	struct cl_table *ct = t->claims;

	if (ct) {
		t->claims = NULL;
		t->plat->free(t->plat->ctx, ct, sizeof(*ct));
	}
}
