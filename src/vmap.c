/* SPDX-License-Identifier: MIT */
/*
 * The vmap manager (include/vtlmem/vmap.h): one kernel VA window, its page
 * tables (pgtable.c), a VA allocator (vaspace.c), a quarantine of unmapped
 * VA purged in batches by remote shootdowns, and per-CPU temporary slots.
 *
 * Window layout: [base, slot_base) is the allocator's arena, where every
 * mapping takes npages + 1 pages (the last one is its guard page, never
 * mapped); [slot_base, base + size) holds ncpus stacks of slots_per_cpu
 * slot pages, each stack followed by one guard page.
 *
 * Map is prepare + commit. Prepare, with no vmap lock: validate the request,
 * sort-free duplicate detection (see scan_pages), reserve or check `held`,
 * protect; then under the lock: a mapping struct, VA, spare leaf tables.
 * Every step undoes the earlier ones on failure, so a failed map changes
 * nothing. Commit links the spare tables (under the lock) and writes the
 * leaf entries (after it: the range is this call's alone); it cannot fail.
 *
 * Lifecycle of a mapping struct: FREE (in the pool) -> LIVE (handed out)
 * -> DYING (unmap is clearing it; taken by compare-and-swap, so of two
 * racing unmaps exactly one proceeds) -> QUAR (in the quarantine) -> FREE
 * after a successful purge. Structs are recycled through the pool and only
 * given back to the platform by destroy, so a stale handle always points at
 * a struct of this manager and is rejected as not live (until a later map
 * reuses that struct: handles are not generation-checked).
 *
 * Quarantine and purge. Unmap appends the mapping to the quarantine list.
 * A purge takes the whole list (and the deferred reservation releases) out
 * under the lock, drops the lock, issues ONE shootdown covering the span
 * [lowest va, highest mapped end) of the batch, and re-locks: on success
 * the batch's VA goes back to the allocator and its reservations are
 * released (without the vmap lock); on failure the batch goes back into the
 * quarantine and stays there. Mappings unmapped while a shootdown is in
 * flight go to the fresh list and wait for the next purge: a shootdown only
 * ever releases what was unmapped before it started. Purges are serialised
 * (one in flight per manager, `purging`), so "a purge succeeded" always
 * covers everything unmapped before that purge took its batch.
 *
 * Lock order: vmap lock -> reservation-table lock (the table is only
 * called without the vmap lock here, which the order also allows). The
 * shootdown and protect/unprotect ops are never called with the vmap lock
 * held; pt_alloc/pt_free and alloc/free are only called with it held (but
 * for create/destroy).
 */
#include <vtlmem/vmap.h>

#include "arch.h"
#include "fmt.h"
#include "lock.h"
#include "pacheck.h"
#include "pgtable.h"
#include "vaspace.h"
#include "vmap_debug.h"

#define PG VTLMEM_PAGE_SIZE
#define DEFAULT_SLOTS 8u
#define MAX_SLOTS 64u
#define DEFAULT_PURGE 512u
#define FLUSH_PAGES_MAX 32u     /* above this, one whole local flush */
#define RUNS_STACK 16u          /* runs sorted on the stack before allocating */

enum { M_FREE, M_LIVE, M_DYING, M_QUAR };

struct vtlmem_mapping {
	struct vtlmem_vmap *vm;
	struct vtlmem_mapping *next;   /* pool or quarantine list */
	uintptr_t va;
	uint64_t npages;               /* mapped pages, guard not counted */
	vtlmem_resv_t resv;            /* own reservation (id 0: none/released) */
	uint32_t state;
	uint32_t flags;
};

/* A reservation to release after the next successful purge. */
struct deferred {
	struct deferred *next;
	vtlmem_resv_t r;
};

/* Quarantined mappings plus deferred releases: the quarantine or a batch. */
struct qlist {
	struct vtlmem_mapping *head, *tail;
	struct deferred *dhead;
	uint64_t pages;                /* mapped pages of the listed mappings */
	uintptr_t lo, hi;              /* span of their mapped pages          */
};

struct slot_ent {
	uint32_t first, n;
	unsigned long gen;
};

/*
 * One CPU's slot stack. Only that CPU touches it, with preemption off; the
 * counters are read by vtlmem_vmap_get_stats() from any CPU, so they are
 * written with relaxed atomic stores. Padded to a cache line.
 */
struct slot_cpu {
	union {
		struct {
			uint32_t top;          /* slot pages in use */
			uint32_t depth;        /* slots in use      */
			unsigned long gen;
			struct slot_ent *stack;
			uint64_t maps, unmaps, flush_pages, flush_all;
		} s;
		char line[64];
	};
};

struct vmap_counters {
	uint64_t maps, unmaps, flush_pages, flush_all;
	uint64_t shootdowns, failures, mapped;
};

struct vtlmem_vmap {
	const struct vtlmem_platform *p;
	struct vtlmem_rtable *rt;
	struct vtlmem_lock lock;
	uintptr_t base, slot_base;
	uint64_t size;
	unsigned spc, ncpus;
	uint64_t threshold;
	struct pgt pt;
	struct vas vas;
	struct slot_cpu *cpus;
	struct slot_ent *ents;
	struct vtlmem_mapping *pool;
	uint64_t npool;
	struct qlist q;                /* the quarantine                      */
	bool purging;                  /* a batch is out for a shootdown      */
	uint64_t inflight;             /* its pages (still quarantined)       */
	uint64_t live;                 /* LIVE + DYING mappings               */
	struct vmap_counters st;
};

/* Mapping state: written under the lock, also read and CASed by unmap. */
static uint32_t state_get(const struct vtlmem_mapping *m)
{
	return __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
}

static void state_set(struct vtlmem_mapping *m, uint32_t st)
{
	__atomic_store_n(&m->state, st, __ATOMIC_RELEASE);
}

static void vm_lock(struct vtlmem_vmap *vm)
{
	vtlmem_lock_acquire(vm->p, &vm->lock);
}

static void vm_unlock(struct vtlmem_vmap *vm)
{
	vtlmem_lock_release(vm->p, &vm->lock);
}

static void qlist_init(struct qlist *l)
{
	l->head = l->tail = NULL;
	l->dhead = NULL;
	l->pages = 0;
	l->lo = l->hi = 0;
}

/* ---- local TLB invalidation ------------------------------------------ */

/*
 * Invalidate n pages from va on this CPU: page by page up to
 * FLUSH_PAGES_MAX pages, else the whole local TLB (the library's entries
 * are never global, so a CR3 reload drops them). Adds to *pages or *all.
 */
static void flush_local(const struct vtlmem_platform *p, uintptr_t va, uint64_t n,
			uint64_t *pages, uint64_t *all)
{
	uint64_t i;

	if (n <= FLUSH_PAGES_MAX) {
		if (p->tlb_local)
			p->tlb_local(p->ctx, va, n);
		else
			for (i = 0; i < n; i++)
				arch_tlb_flush_page(va + i * PG);
		*pages += n;
	} else {
		if (p->tlb_local)
			p->tlb_local(p->ctx, 0, 0);
		else
			arch_tlb_flush_all();
		*all += 1;
	}
}

/* ---- create / destroy -------------------------------------------------- */

static bool ops_complete(const struct vtlmem_platform *p)
{
	return p->pt_alloc && p->pt_free && p->pt_phys_to_virt && p->alloc && p->free &&
	       p->tlb_shootdown && p->cpu_id && p->preempt_off && p->preempt_on;
}

/* Window and slot geometry; fills spc and the slot area's page count. */
static int check_config(const struct vtlmem_platform *p, const struct vtlmem_vmap_config *cfg,
			unsigned *spc, uint64_t *slot_pages)
{
	uintptr_t base = vtlmem_va_val(cfg->base);

	if (((uint64_t)base | cfg->size) & VTLMEM_PAGE_MASK || !arch_va_window_ok(base, cfg->size))
		return -VTLMEM_EINVAL;
	*spc = cfg->slots_per_cpu ? cfg->slots_per_cpu : DEFAULT_SLOTS;
	if (*spc > MAX_SLOTS || p->ncpus == 0)
		return -VTLMEM_EINVAL;
	*slot_pages = (uint64_t)p->ncpus * (*spc + 1);
	/* room for the slots and at least one 1-page mapping with its guard */
	if ((cfg->size >> VTLMEM_PAGE_SHIFT) < *slot_pages + 2)
		return -VTLMEM_EINVAL;
	return 0;
}

static void counters_zero(struct vmap_counters *c)
{
	c->maps = c->unmaps = c->flush_pages = c->flush_all = 0;
	c->shootdowns = c->failures = c->mapped = 0;
}

static void vm_init_fields(struct vtlmem_vmap *vm, const struct vtlmem_platform *p,
			   struct vtlmem_rtable *rt, const struct vtlmem_vmap_config *cfg,
			   unsigned spc, uint64_t slot_pages)
{
	vm->p = p;
	vm->rt = rt;
	vtlmem_lock_init(p, &vm->lock);
	vm->base = vtlmem_va_val(cfg->base);
	vm->size = cfg->size;
	vm->slot_base = vm->base + (cfg->size - slot_pages * PG);
	vm->spc = spc;
	vm->ncpus = p->ncpus;
	vm->threshold = cfg->purge_threshold ? cfg->purge_threshold : DEFAULT_PURGE;
	vm->cpus = NULL;
	vm->ents = NULL;
	vm->pool = NULL;
	vm->npool = 0;
	qlist_init(&vm->q);
	vm->purging = false;
	vm->inflight = 0;
	vm->live = 0;
	counters_zero(&vm->st);
}

static int slots_init(struct vtlmem_vmap *vm)
{
	const struct vtlmem_platform *p = vm->p;
	unsigned c;

	vm->cpus = p->alloc(p->ctx, vm->ncpus * sizeof(*vm->cpus));
	vm->ents = p->alloc(p->ctx, (size_t)vm->ncpus * vm->spc * sizeof(*vm->ents));
	if (!vm->cpus || !vm->ents)
		return -VTLMEM_ENOMEM;
	for (c = 0; c < vm->ncpus; c++) {
		struct slot_cpu *sc = &vm->cpus[c];

		sc->s.top = 0;
		sc->s.depth = 0;
		sc->s.gen = 0;
		sc->s.stack = &vm->ents[(size_t)c * vm->spc];
		sc->s.maps = sc->s.unmaps = 0;
		sc->s.flush_pages = sc->s.flush_all = 0;
	}
	return 0;
}

static void slots_fini(struct vtlmem_vmap *vm)
{
	const struct vtlmem_platform *p = vm->p;

	if (vm->cpus)
		p->free(p->ctx, vm->cpus, vm->ncpus * sizeof(*vm->cpus));
	if (vm->ents)
		p->free(p->ctx, vm->ents, (size_t)vm->ncpus * vm->spc * sizeof(*vm->ents));
}

/* Tables, allocator and slots; on failure frees what it made. */
static int vm_build(struct vtlmem_vmap *vm, bool prepopulate)
{
	uint64_t slot_pages = (vm->base + vm->size - vm->slot_base) >> VTLMEM_PAGE_SHIFT;
	int ret = slots_init(vm);

	if (ret)
		goto fail_slots;
	ret = vas_init(&vm->vas, vm->p, vm->base >> VTLMEM_PAGE_SHIFT,
		       (vm->slot_base - vm->base) >> VTLMEM_PAGE_SHIFT);
	if (ret)
		goto fail_slots;
	ret = pgt_init(&vm->pt, vm->p, vm->base, vm->size);
	if (ret)
		goto fail_vas;
	ret = pgt_populate(&vm->pt, vm->slot_base, slot_pages);
	if (!ret && prepopulate)
		ret = pgt_populate(&vm->pt, vm->base, vm->size >> VTLMEM_PAGE_SHIFT);
	if (!ret)
		return 0;
	pgt_fini(&vm->pt);
fail_vas:
	vas_fini(&vm->vas);
fail_slots:
	slots_fini(vm);
	return ret;
}

int vtlmem_vmap_create(const struct vtlmem_platform *p, struct vtlmem_rtable *rt,
		       const struct vtlmem_vmap_config *cfg, struct vtlmem_vmap **out)
{
	struct vtlmem_vmap *vm;
	uint64_t slot_pages;
	unsigned spc;
	int ret;

	if (!p || !rt || !cfg || !out)
		return -VTLMEM_EINVAL;
	if (!ops_complete(p))
		return -VTLMEM_ENOSYS;
	ret = check_config(p, cfg, &spc, &slot_pages);
	if (ret)
		return ret;
	vm = p->alloc(p->ctx, sizeof(*vm));
	if (!vm)
		return -VTLMEM_ENOMEM;
	vm_init_fields(vm, p, rt, cfg, spc, slot_pages);
	ret = vm_build(vm, cfg->prepopulate);
	if (ret) {
		p->free(p->ctx, vm, sizeof(*vm));
		return ret;
	}
	*out = vm;
	return 0;
}

static bool slots_busy(const struct vtlmem_vmap *vm)
{
	unsigned c;

	for (c = 0; c < vm->ncpus; c++)
		if (vm->cpus[c].s.depth)
			return true;
	return false;
}

static void free_list(struct vtlmem_vmap *vm, struct vtlmem_mapping *m)
{
	struct vtlmem_mapping *next;

	for (; m; m = next) {
		next = m->next;
		vm->p->free(vm->p->ctx, m, sizeof(*m));
	}
}

int vtlmem_vmap_destroy(struct vtlmem_vmap *vm)
{
	const struct vtlmem_platform *p;
	bool busy;
	int ret;

	if (!vm)
		return -VTLMEM_EINVAL;
	vm_lock(vm);
	busy = vm->live || vm->purging || slots_busy(vm);
	vm_unlock(vm);
	if (busy)
		return -VTLMEM_EBUSY;
	if (vm->q.head || vm->q.dhead) {
		ret = vtlmem_vmap_purge(vm);
		if (ret)
			return ret;
	}
	/* Anything still listed was flushed (its VA only lacked a node). */
	p = vm->p;
	free_list(vm, vm->q.head);
	free_list(vm, vm->pool);
	vas_fini(&vm->vas);
	pgt_fini(&vm->pt);
	slots_fini(vm);
	p->free(p->ctx, vm, sizeof(*vm));
	return 0;
}

size_t vtlmem_vmap_top_entries(const struct vtlmem_vmap *vm, struct vtlmem_top_entry *out,
			       size_t max)
{
	size_t k;

	if (!vm)
		return 0;
	for (k = 0; out && k < max && k < vm->pt.ntop; k++)
		pgt_top_entry(&vm->pt, k, &out[k].index, &out[k].value);
	return vm->pt.ntop;
}

/* ---- map: validation ---------------------------------------------------- */

/* Physical runs of a request, on the stack when few, else borrowed. */
struct runs {
	struct vtlmem_range *r;
	size_t n;
	bool sorted;                   /* runs already strictly ascending */
	struct vtlmem_range stack[RUNS_STACK];
};

/* Does page pa directly follow page prev (no wrap past 2^64)? */
static bool follows(uint64_t prev, uint64_t pa)
{
	return pa - prev == PG && pa;
}

/* Bits no page address may have: the page offset and everything >= pa_bits. */
static uint64_t bad_bits(const struct vtlmem_platform *p)
{
	unsigned bits = vtlmem_pa_bits(p);

	return VTLMEM_PAGE_MASK | (bits < 64 ? ~(((uint64_t)1 << bits) - 1) : 0);
}

/* The error for a page with a bad bit: offset first, then width. */
static int bad_page(uint64_t pa)
{
	return (pa & VTLMEM_PAGE_MASK) ? -VTLMEM_EINVAL : -VTLMEM_ERANGE;
}

/* Close the run [start, start + len) as run number k (first RUNS_STACK kept). */
static void run_end(struct runs *rs, size_t k, uint64_t start, uint64_t len)
{
	if (k < RUNS_STACK) {
		rs->stack[k].pa = vtlmem_pa(start);
		rs->stack[k].len = len;
	}
}

/*
 * One pass over the pages in array order: the first unaligned page gives
 * -EINVAL, the first beyond pa_bits -ERANGE. Counts maximal runs of
 * consecutive pages (in array order), records the first RUNS_STACK of them
 * on the stack, and notes whether the runs ascend strictly (then no page
 * can repeat and no sort is needed: the common case costs O(n) and no
 * memory). Returns the run count in *nruns. (n >= 1.)
 */
static int scan_pages(const struct vtlmem_platform *p, const vtlmem_paddr_t *pages, size_t n,
		      struct runs *rs, size_t *nruns)
{
	uint64_t bad = bad_bits(p), pa = vtlmem_pa_val(pages[0]), prev, start = pa;
	size_t i, k = 0;

	if (pa & bad)
		return bad_page(pa);
	rs->sorted = true;
	for (i = 1; i < n; i++) {
		prev = pa;
		pa = vtlmem_pa_val(pages[i]);
		if (pa & bad)
			return bad_page(pa);
		if (follows(prev, pa))
			continue;
		if (pa <= prev)
			rs->sorted = false;
		run_end(rs, k++, start, prev + PG - start);
		start = pa;
	}
	run_end(rs, k++, start, pa + PG - start);
	*nruns = k;
	return 0;
}

/* Runs in array order into r (second pass, when more than RUNS_STACK). */
static void fill_runs(const vtlmem_paddr_t *pages, size_t n, struct vtlmem_range *r)
{
	uint64_t pa, prev = 0;
	size_t i, k = 0;

	for (i = 0; i < n; i++, prev = pa) {
		pa = vtlmem_pa_val(pages[i]);
		if (i && follows(prev, pa)) {
			r[k - 1].len += PG;
			continue;
		}
		r[k].pa = vtlmem_pa(pa);
		r[k++].len = PG;
	}
}

static void swap_range(struct vtlmem_range *a, struct vtlmem_range *b)
{
	struct vtlmem_range t = *a;

	*a = *b;
	*b = t;
}

static void sift_down(struct vtlmem_range *r, size_t i, size_t n)
{
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && vtlmem_pa_val(r[c + 1].pa) > vtlmem_pa_val(r[c].pa))
			c++;
		if (vtlmem_pa_val(r[c].pa) <= vtlmem_pa_val(r[i].pa))
			return;
		swap_range(&r[i], &r[c]);
		i = c;
	}
}

/* Heapsort by start: O(n log n) whatever order VTL0 chose, no recursion. */
static void sort_runs(struct vtlmem_range *r, size_t n)
{
	size_t i;

	for (i = n / 2; i-- > 0;)
		sift_down(r, i, n);
	for (i = n; i-- > 1;) {
		swap_range(&r[0], &r[i]);
		sift_down(r, 0, i);
	}
}

/* Sorted runs: overlap means a repeated page (-EINVAL); join adjacent ones. */
static int merge_runs(struct vtlmem_range *r, size_t *n)
{
	size_t i, k = 0;
	uint64_t end;

	for (i = 1; i < *n; i++) {
		end = vtlmem_pa_val(r[k].pa) + r[k].len;
		if (vtlmem_pa_val(r[i].pa) < end)
			return -VTLMEM_EINVAL;
		if (vtlmem_pa_val(r[i].pa) == end)
			r[k].len += r[i].len;
		else
			r[++k] = r[i];
	}
	*n = k + 1;
	return 0;
}

static void runs_put(const struct vtlmem_platform *p, struct runs *rs, size_t cap)
{
	if (rs->r != rs->stack)
		p->free(p->ctx, rs->r, cap * sizeof(*rs->r));
}

/*
 * The request's pages as sorted, disjoint, maximal physical runs in
 * rs->r[0..rs->n). Requests of more than RUNS_STACK runs borrow an array
 * from the bookkeeping allocator (-ENOMEM), released by runs_put(cap).
 */
static int runs_get(const struct vtlmem_platform *p, const struct vtlmem_map_req *req,
		    struct runs *rs, size_t *cap)
{
	int ret = scan_pages(p, req->pages, req->npages, rs, &rs->n);

	if (ret)
		return ret;
	*cap = rs->n;
	rs->r = rs->stack;
	if (rs->n > RUNS_STACK) {
		rs->r = p->alloc(p->ctx, rs->n * sizeof(*rs->r));
		if (!rs->r)
			return -VTLMEM_ENOMEM;
		fill_runs(req->pages, req->npages, rs->r);
	}
	if (rs->sorted)
		return 0;
	sort_runs(rs->r, rs->n);
	ret = merge_runs(rs->r, &rs->n);
	if (ret)
		runs_put(p, rs, *cap);
	return ret;
}

/* ---- map: reservation and protection -------------------------------------- */

/*
 * Mapping under the caller's reservation: it must be live, exclusive for a
 * writable mapping, and cover every run; every run must still pass the
 * ownership check. -EPERM otherwise.
 */
static int check_held(struct vtlmem_vmap *vm, vtlmem_resv_t held, enum vtlmem_prot prot,
		      const struct vtlmem_range *r, size_t n)
{
	enum vtlmem_rmode mode;
	size_t i;
	int ret;

	/* (RO needs no mode: a handle that is not live covers nothing) */
	if (prot == VTLMEM_PROT_RW &&
	    (vtlmem_resv_mode(vm->rt, held, &mode) || mode != VTLMEM_RES_EXCLUSIVE))
		return -VTLMEM_EPERM;
	for (i = 0; i < n; i++) {
		ret = vtlmem_check_range(vm->p, r[i].pa, r[i].len);
		if (ret)
			return ret;
		if (!vtlmem_resv_covers(vm->rt, held, r[i].pa, r[i].len))
			return -VTLMEM_EPERM;
	}
	return 0;
}

/* Reserve the runs (own reservation) or check the held one. */
static int claim(struct vtlmem_vmap *vm, const struct vtlmem_map_req *req, vtlmem_resv_t *own)
{
	const struct vtlmem_platform *p = vm->p;
	struct runs rs;
	size_t cap;
	int ret = runs_get(p, req, &rs, &cap);

	own->id = 0;
	if (ret)
		return ret;
	if (req->held.id)
		ret = check_held(vm, req->held, req->prot, rs.r, rs.n);
	else
		ret = vtlmem_reserve(vm->rt, rs.r, rs.n,
				     req->prot == VTLMEM_PROT_RW ? VTLMEM_RES_EXCLUSIVE :
								   VTLMEM_RES_SHARED,
				     own, NULL);
	runs_put(p, &rs, cap);
	return ret;
}

static void unclaim(struct vtlmem_vmap *vm, vtlmem_resv_t own)
{
	if (own.id)
		vtlmem_release(vm->rt, own);
}

static void unprotect_pages(const struct vtlmem_platform *p, const vtlmem_paddr_t *pages,
			    size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p->unprotect(p->ctx, pages[i]);
}

/* Protect every page; on failure at page j, unprotect pages 0..j-1. */
static int protect_pages(const struct vtlmem_platform *p, const struct vtlmem_map_req *req)
{
	size_t i;
	int ret;

	if (!(req->flags & VTLMEM_MAP_PROTECT))
		return 0;
	for (i = 0; i < req->npages; i++) {
		ret = p->protect(p->ctx, req->pages[i], req->prot);
		if (ret) {
			unprotect_pages(p, req->pages, i);
			return ret < 0 ? ret : -VTLMEM_EIO;
		}
	}
	return 0;
}

/* ---- map: placement (under the lock) ------------------------------------ */

struct place {
	struct vtlmem_mapping *m;
	bool fresh;                    /* m came from the platform, not the pool */
	uint64_t vpage;                /* first VA page */
	struct pgt_spare spare;
};

static int struct_get(struct vtlmem_vmap *vm, struct place *pl)
{
	pl->m = vm->pool;
	pl->fresh = !pl->m;
	if (pl->m) {
		vm->pool = pl->m->next;
		vm->npool--;
		return 0;
	}
	pl->m = vm->p->alloc(vm->p->ctx, sizeof(*pl->m));
	if (!pl->m)
		return -VTLMEM_ENOMEM;
	pl->m->vm = vm;
	state_set(pl->m, M_FREE);
	return 0;
}

static void struct_put(struct vtlmem_vmap *vm, struct vtlmem_mapping *m, bool fresh)
{
	if (fresh) {
		vm->p->free(vm->p->ctx, m, sizeof(*m));
		return;
	}
	state_set(m, M_FREE);
	m->next = vm->pool;
	vm->pool = m;
	vm->npool++;
}

/* VA for npages + guard; on -ENOSPC purge once (dropping the lock) and retry. */
static int va_get(struct vtlmem_vmap *vm, uint64_t npages, uint64_t *vpage)
{
	int ret = vas_alloc(&vm->vas, npages + 1, vpage);

	if (ret != -VTLMEM_ENOSPC || vm->purging || (!vm->q.head && !vm->q.dhead))
		return ret;
	vm_unlock(vm);
	vtlmem_vmap_purge(vm);
	vm_lock(vm);
	return vas_alloc(&vm->vas, npages + 1, vpage);
}

/*
 * Mapping struct, VA and every missing leaf table, all or nothing; the
 * lock is held on entry and on return (va_get may drop it for a purge,
 * before anything is taken from the allocator or the tables).
 */
static int place_locked(struct vtlmem_vmap *vm, uint64_t npages, struct place *pl)
{
	uintptr_t va;
	int ret = struct_get(vm, pl);

	if (ret)
		return ret;
	ret = va_get(vm, npages, &pl->vpage);
	if (ret)
		goto fail_struct;
	va = (uintptr_t)pl->vpage << VTLMEM_PAGE_SHIFT;
	pl->spare.head = NULL;
	pl->spare.n = pgt_missing(&vm->pt, va, npages);
	ret = pl->spare.n ? pgt_spare_get(&vm->pt, &pl->spare, pl->spare.n) : 0;
	if (!ret)
		return 0;
	vas_free(&vm->vas, pl->vpage, npages + 1);   /* exact undo, cannot fail */
fail_struct:
	struct_put(vm, pl->m, pl->fresh);
	return ret;
}

/* Link the tables and make the mapping live (under the lock). */
static void commit_locked(struct vtlmem_vmap *vm, const struct vtlmem_map_req *req,
			  struct place *pl, vtlmem_resv_t own)
{
	struct vtlmem_mapping *m = pl->m;

	m->va = (uintptr_t)pl->vpage << VTLMEM_PAGE_SHIFT;
	if (pl->spare.n)
		pgt_link(&vm->pt, m->va, req->npages, &pl->spare);
	m->npages = req->npages;
	m->resv = own;
	m->flags = req->flags;
	m->next = NULL;
	state_set(m, M_LIVE);
	vm->live++;
	vm->st.maps++;
	vm->st.mapped += req->npages;
}

static int check_req(const struct vtlmem_vmap *vm, const struct vtlmem_map_req *req,
		     uint64_t *attrs)
{
	const struct vtlmem_platform *p = vm->p;

	if (!req->pages || req->npages == 0 || (req->flags & ~VTLMEM_MAP_PROTECT))
		return -VTLMEM_EINVAL;
	*attrs = arch_pte_leaf_attrs(req->prot, req->cache);
	if (!*attrs)
		return -VTLMEM_EINVAL;
	if ((uint64_t)req->npages > (UINT64_MAX >> VTLMEM_PAGE_SHIFT))
		return -VTLMEM_EOVERFLOW;
	if ((req->flags & VTLMEM_MAP_PROTECT) && (!p->protect || !p->unprotect))
		return -VTLMEM_ENOSYS;
	if ((uint64_t)req->npages >= vm->vas.len)   /* + guard > whole arena */
		return -VTLMEM_ENOSPC;
	return 0;
}

int vtlmem_vmap_map(struct vtlmem_vmap *vm, const struct vtlmem_map_req *req,
		    struct vtlmem_mapping **out, vtlmem_vaddr_t *va)
{
	vtlmem_resv_t own;
	struct place pl;
	uint64_t attrs;
	int ret;

	if (!vm || !req || !out || !va)
		return -VTLMEM_EINVAL;
	ret = check_req(vm, req, &attrs);
	if (!ret)
		ret = claim(vm, req, &own);
	if (ret)
		return ret;
	ret = protect_pages(vm->p, req);
	if (ret)
		goto fail_claim;
	vm_lock(vm);
	ret = place_locked(vm, req->npages, &pl);
	if (ret) {
		vm_unlock(vm);
		goto fail_protect;
	}
	commit_locked(vm, req, &pl, own);
	vm_unlock(vm);
	pgt_set(&vm->pt, pl.m->va, req->pages, req->npages, attrs);
	*out = pl.m;
	*va = vtlmem_va(pl.m->va);
	return 0;

fail_protect:
	if (req->flags & VTLMEM_MAP_PROTECT)
		unprotect_pages(vm->p, req->pages, req->npages);
fail_claim:
	unclaim(vm, own);
	return ret;
}

/* ---- unmap, quarantine, purge -------------------------------------------- */

static void quarantine_add(struct qlist *q, struct vtlmem_mapping *m)
{
	uintptr_t end = m->va + m->npages * PG;

	m->next = NULL;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	if (!q->pages || m->va < q->lo)
		q->lo = m->va;
	if (!q->pages || end > q->hi)
		q->hi = end;
	q->pages += m->npages;
}

static void unprotect_one(void *arg, vtlmem_paddr_t pa)
{
	const struct vtlmem_platform *p = arg;

	p->unprotect(p->ctx, pa);
}

int vtlmem_vmap_unmap(struct vtlmem_vmap *vm, struct vtlmem_mapping *m)
{
	uint64_t fpages = 0, fall = 0;
	uint32_t live = M_LIVE;
	bool purge;

	if (!vm || !m || m->vm != vm)
		return -VTLMEM_EINVAL;
	/* LIVE -> DYING exactly once, even against a racing second unmap */
	if (!__atomic_compare_exchange_n(&m->state, &live, M_DYING, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return -VTLMEM_EINVAL;

	pgt_clear(&vm->pt, m->va, m->npages,
		  (m->flags & VTLMEM_MAP_PROTECT) ? unprotect_one : NULL, (void *)vm->p);
	flush_local(vm->p, m->va, m->npages, &fpages, &fall);

	vm_lock(vm);
	vm->st.unmaps++;
	vm->st.flush_pages += fpages;
	vm->st.flush_all += fall;
	vm->st.mapped -= m->npages;
	state_set(m, M_QUAR);
	quarantine_add(&vm->q, m);
	vm->live--;
	purge = vm->q.pages >= vm->threshold && !vm->purging;
	vm_unlock(vm);
	if (purge)
		vtlmem_vmap_purge(vm);
	return 0;
}

/* Move the quarantine into batch b (under the lock). */
static void batch_take(struct vtlmem_vmap *vm, struct qlist *b)
{
	b->head = vm->q.head;
	b->tail = vm->q.tail;
	b->dhead = vm->q.dhead;
	b->pages = vm->q.pages;
	b->lo = vm->q.lo;
	b->hi = vm->q.hi;
	qlist_init(&vm->q);
	vm->purging = true;
	vm->inflight = b->pages;
}

/* A failed batch goes back into the quarantine (under the lock). */
static void batch_requeue(struct vtlmem_vmap *vm, struct qlist *b)
{
	struct deferred *d;

	while (b->head) {
		struct vtlmem_mapping *m = b->head;

		b->head = m->next;
		quarantine_add(&vm->q, m);
	}
	while ((d = b->dhead) != NULL) {
		b->dhead = d->next;
		d->next = vm->q.dhead;
		vm->q.dhead = d;
	}
}

/* After a successful shootdown, without the lock: the batch is ours alone. */
static void batch_release(struct vtlmem_vmap *vm, struct qlist *b)
{
	struct vtlmem_mapping *m;
	struct deferred *d;

	for (m = b->head; m; m = m->next) {
		unclaim(vm, m->resv);
		m->resv.id = 0;
	}
	while ((d = b->dhead) != NULL) {
		b->dhead = d->next;
		vtlmem_release(vm->rt, d->r);
		vm->p->free(vm->p->ctx, d, sizeof(*d));
	}
}

/* A run of batch mappings whose VA ranges (guards included) touch. */
struct va_run {
	struct vtlmem_mapping *head, *tail;
	uint64_t start, len, count;     /* pages */
};

/*
 * Free one run's VA with one allocator call. If that needs a node the
 * allocator cannot get, the run's mappings stay quarantined (flushed,
 * reservations released: only their VA waits for the next purge).
 */
static void run_free(struct vtlmem_vmap *vm, struct va_run *r)
{
	struct vtlmem_mapping *m, *next;
	bool keep;

	r->tail->next = NULL;
	keep = vas_free_many(&vm->vas, r->start, r->len, r->count) != 0;
	for (m = r->head; m; m = next) {
		next = m->next;
		if (keep)
			quarantine_add(&vm->q, m);
		else
			struct_put(vm, m, false);
	}
}

/*
 * Give the batch's VA back (under the lock), joining mappings that follow
 * each other in the list and in VA (the common map/unmap order) into one
 * free: a purge costs one allocator call per run, not per mapping.
 */
static void batch_free_va(struct vtlmem_vmap *vm, struct qlist *b)
{
	struct vtlmem_mapping *m, *next;
	struct va_run r = { NULL, NULL, 0, 0, 0 };
	uint64_t s;

	for (m = b->head; m; m = next) {
		next = m->next;
		s = m->va >> VTLMEM_PAGE_SHIFT;
		if (r.head && s == r.start + r.len) {
			r.tail->next = m;
			r.tail = m;
			r.len += m->npages + 1;
			r.count++;
			continue;
		}
		if (r.head)
			run_free(vm, &r);
		r.head = r.tail = m;
		r.start = s;
		r.len = m->npages + 1;
		r.count = 1;
	}
	if (r.head)
		run_free(vm, &r);
}

int vtlmem_vmap_purge(struct vtlmem_vmap *vm)
{
	const struct vtlmem_platform *p;
	struct qlist b;
	int ret = 0;

	if (!vm)
		return -VTLMEM_EINVAL;
	p = vm->p;
	vm_lock(vm);
	if (vm->purging) {
		vm_unlock(vm);
		return -VTLMEM_EBUSY;
	}
	if (!vm->q.head && !vm->q.dhead) {
		vm_unlock(vm);
		return 0;
	}
	batch_take(vm, &b);
	vm_unlock(vm);

	if (b.head)
		ret = p->tlb_shootdown(p->ctx, b.lo, b.hi - b.lo);
	if (!ret)
		batch_release(vm, &b);

	vm_lock(vm);
	if (ret) {
		vm->st.failures++;
		batch_requeue(vm, &b);
	} else {
		vm->st.shootdowns += b.head != NULL;
		batch_free_va(vm, &b);
	}
	vm->purging = false;
	vm->inflight = 0;
	vm_unlock(vm);
	return ret ? -VTLMEM_EIO : 0;
}

int vtlmem_vmap_release_after_flush(struct vtlmem_vmap *vm, vtlmem_resv_t r)
{
	enum vtlmem_rmode mode;
	struct deferred *d;

	if (!vm)
		return -VTLMEM_EINVAL;
	if (vtlmem_resv_mode(vm->rt, r, &mode))
		return -VTLMEM_ENOENT;
	vm_lock(vm);
	if (!vm->q.head && !vm->purging) {
		vm_unlock(vm);
		return vtlmem_release(vm->rt, r);
	}
	d = vm->p->alloc(vm->p->ctx, sizeof(*d));
	if (!d) {
		vm_unlock(vm);
		return -VTLMEM_ENOMEM;
	}
	d->r = r;
	d->next = vm->q.dhead;
	vm->q.dhead = d;
	vm_unlock(vm);
	return 0;
}

/* ---- per-CPU slots --------------------------------------------------------- */

static uintptr_t slot_va(const struct vtlmem_vmap *vm, unsigned cpu, uint32_t first)
{
	return vm->slot_base + ((uint64_t)cpu * (vm->spc + 1) + first) * PG;
}

static void bump(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/*
 * Arguments of a slot map, checked before preemption goes off: pages
 * aligned and distinct (n <= MAX_SLOTS: the pairwise check is bounded),
 * covered by the live reservation held, exclusive for RW.
 */
static int slot_check(struct vtlmem_vmap *vm, const vtlmem_paddr_t *pages, size_t n,
		      enum vtlmem_prot prot, vtlmem_resv_t held)
{
	enum vtlmem_rmode mode;
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (vtlmem_pa_val(pages[i]) & VTLMEM_PAGE_MASK)
			return -VTLMEM_EINVAL;
		for (j = 0; j < i; j++)
			if (vtlmem_pa_val(pages[j]) == vtlmem_pa_val(pages[i]))
				return -VTLMEM_EINVAL;
	}
	if (prot == VTLMEM_PROT_RW &&
	    (vtlmem_resv_mode(vm->rt, held, &mode) || mode != VTLMEM_RES_EXCLUSIVE))
		return -VTLMEM_EPERM;
	for (i = 0; i < n; i++)
		if (!vtlmem_resv_covers(vm->rt, held, pages[i], PG))
			return -VTLMEM_EPERM;
	return 0;
}

/* Map n pages on top of cpu's slot stack and describe the slot in *s. */
static void slot_push(struct vtlmem_vmap *vm, unsigned cpu, const vtlmem_paddr_t *pages,
		      uint32_t n, uint64_t attrs, struct vtlmem_slot *s)
{
	struct slot_cpu *c = &vm->cpus[cpu];
	struct slot_ent *e = &c->s.stack[c->s.depth++];

	e->first = c->s.top;
	e->n = n;
	e->gen = ++c->s.gen;
	c->s.top += n;
	s->va = vtlmem_va(slot_va(vm, cpu, e->first));
	pgt_set(&vm->pt, vtlmem_va_val(s->va), pages, n, attrs);
	s->cpu = cpu;
	s->first = e->first;
	s->npages = e->n;
	s->gen = e->gen;
	bump(&c->s.maps, 1);
}

int vtlmem_slot_map(struct vtlmem_vmap *vm, const vtlmem_paddr_t *pages, size_t npages,
		    enum vtlmem_prot prot, enum vtlmem_cache cache, vtlmem_resv_t held,
		    struct vtlmem_slot *s)
{
	const struct vtlmem_platform *p;
	unsigned long cookie;
	uint64_t attrs;
	unsigned cpu;
	int ret;

	if (!vm || !pages || !s || npages == 0 || npages > vm->spc)
		return -VTLMEM_EINVAL;
	attrs = arch_pte_leaf_attrs(prot, cache);
	if (!attrs)
		return -VTLMEM_EINVAL;
	ret = slot_check(vm, pages, npages, prot, held);
	if (ret)
		return ret;
	p = vm->p;
	cookie = p->preempt_off(p->ctx);
	cpu = p->cpu_id(p->ctx);
	if (cpu >= vm->ncpus || vm->cpus[cpu].s.top + npages > vm->spc) {
		p->preempt_on(p->ctx, cookie);
		return cpu >= vm->ncpus ? -VTLMEM_EINVAL : -VTLMEM_ENOSPC;
	}
	slot_push(vm, cpu, pages, (uint32_t)npages, attrs, s);
	s->cookie = cookie;
	return 0;
}

int vtlmem_slot_unmap(struct vtlmem_vmap *vm, struct vtlmem_slot *s)
{
	struct slot_cpu *c;
	struct slot_ent *e;
	uint64_t fpages = 0, fall = 0;
	unsigned cpu;

	if (!vm || !s)
		return -VTLMEM_EINVAL;
	cpu = vm->p->cpu_id(vm->p->ctx);
	if (cpu >= vm->ncpus || s->cpu != cpu || !vm->cpus[cpu].s.depth)
		return -VTLMEM_EDEADLK;
	c = &vm->cpus[cpu];
	e = &c->s.stack[c->s.depth - 1];
	if (e->first != s->first || e->n != s->npages || e->gen != s->gen ||
	    vtlmem_va_val(s->va) != slot_va(vm, cpu, e->first))
		return -VTLMEM_EDEADLK;
	pgt_clear(&vm->pt, vtlmem_va_val(s->va), e->n, NULL, NULL);
	flush_local(vm->p, vtlmem_va_val(s->va), e->n, &fpages, &fall);
	c->s.top -= e->n;
	c->s.depth--;
	bump(&c->s.unmaps, 1);
	bump(&c->s.flush_pages, fpages);
	bump(&c->s.flush_all, fall);
	vm->p->preempt_on(vm->p->ctx, s->cookie);
	return 0;
}

/* ---- statistics and dump ---------------------------------------------------- */

static void slot_stats(const struct vtlmem_vmap *vm, struct vtlmem_vmap_stats *st)
{
	unsigned c;

	for (c = 0; c < vm->ncpus; c++) {
		const struct slot_cpu *sc = &vm->cpus[c];

		st->slot_maps += __atomic_load_n(&sc->s.maps, __ATOMIC_RELAXED);
		st->slot_unmaps += __atomic_load_n(&sc->s.unmaps, __ATOMIC_RELAXED);
		st->local_flush_pages += __atomic_load_n(&sc->s.flush_pages, __ATOMIC_RELAXED);
		st->local_flush_all += __atomic_load_n(&sc->s.flush_all, __ATOMIC_RELAXED);
	}
}

void vtlmem_vmap_get_stats(struct vtlmem_vmap *vm, struct vtlmem_vmap_stats *st)
{
	if (!vm || !st)
		return;
	vm_lock(vm);
	st->maps = vm->st.maps;
	st->unmaps = vm->st.unmaps;
	st->slot_maps = st->slot_unmaps = 0;
	st->local_flush_pages = vm->st.flush_pages;
	st->local_flush_all = vm->st.flush_all;
	st->remote_shootdowns = vm->st.shootdowns;
	st->shootdown_failures = vm->st.failures;
	st->quarantined_pages = vm->q.pages + vm->inflight;
	st->mapped_pages = vm->st.mapped;
	st->pt_pages = vm->pt.pages;
	vm_unlock(vm);
	slot_stats(vm, st);
}

struct layout {
	uint64_t free_pages, free_ranges, largest, qmaps, pool;
};

static void dump_line2(void (*puts)(void *arg, const char *line), void *arg,
		       const char *a, uint64_t x, const char *b, uint64_t y)
{
	char line[96];
	size_t n = vtlmem_fmt_str(line, sizeof(line), 0, a);

	n = vtlmem_fmt_u64(line, sizeof(line), n, x);
	n = vtlmem_fmt_str(line, sizeof(line), n, b);
	vtlmem_fmt_u64(line, sizeof(line), n, y);
	puts(arg, line);
}

static void dump_window(const struct vtlmem_vmap *vm,
			void (*puts)(void *arg, const char *line), void *arg)
{
	char line[128];
	size_t n = vtlmem_fmt_str(line, sizeof(line), 0, "vmap: window ");

	n = vtlmem_fmt_hex(line, sizeof(line), n, vm->base, 16);
	n = vtlmem_fmt_str(line, sizeof(line), n, " - ");
	n = vtlmem_fmt_hex(line, sizeof(line), n, vm->base + (vm->size - 1), 16);
	n = vtlmem_fmt_str(line, sizeof(line), n, ", slots from ");
	n = vtlmem_fmt_hex(line, sizeof(line), n, vm->slot_base, 16);
	n = vtlmem_fmt_str(line, sizeof(line), n, " (");
	n = vtlmem_fmt_u64(line, sizeof(line), n, vm->ncpus);
	n = vtlmem_fmt_str(line, sizeof(line), n, " cpus x ");
	n = vtlmem_fmt_u64(line, sizeof(line), n, vm->spc);
	vtlmem_fmt_str(line, sizeof(line), n, " pages)");
	puts(arg, line);
}

void vtlmem_vmap_dump(struct vtlmem_vmap *vm, void (*puts)(void *arg, const char *line),
		      void *arg)
{
	struct vtlmem_vmap_stats st;
	struct vtlmem_mapping *m;
	struct layout l;

	if (!vm || !puts)
		return;
	vm_lock(vm);
	l.free_pages = vm->vas.free_pages;
	l.free_ranges = vm->vas.nfree;
	l.largest = vas_largest(&vm->vas);
	l.pool = vm->npool;
	for (l.qmaps = 0, m = vm->q.head; m; m = m->next)
		l.qmaps++;
	vm_unlock(vm);
	vtlmem_vmap_get_stats(vm, &st);
	dump_window(vm, puts, arg);
	dump_line2(puts, arg, "vmap: free va pages ", l.free_pages, " in ranges ", l.free_ranges);
	dump_line2(puts, arg, "vmap: largest free range ", l.largest, " pages, pooled handles ",
		   l.pool);
	dump_line2(puts, arg, "vmap: maps ", st.maps, " unmaps ", st.unmaps);
	dump_line2(puts, arg, "vmap: slot maps ", st.slot_maps, " slot unmaps ", st.slot_unmaps);
	dump_line2(puts, arg, "vmap: mapped pages ", st.mapped_pages, " page-table pages ",
		   st.pt_pages);
	dump_line2(puts, arg, "vmap: quarantined pages ", st.quarantined_pages, " in mappings ",
		   l.qmaps);
	dump_line2(puts, arg, "vmap: local flushes: pages ", st.local_flush_pages, " whole ",
		   st.local_flush_all);
	dump_line2(puts, arg, "vmap: remote shootdowns ", st.remote_shootdowns, " failed ",
		   st.shootdown_failures);
}

/* ---- debug views -------------------------------------------------------------- */

const struct vas *vtlmem_vmap_debug_vas(const struct vtlmem_vmap *vm)
{
	return &vm->vas;
}

const struct pgt *vtlmem_vmap_debug_pgt(const struct vtlmem_vmap *vm)
{
	return &vm->pt;
}

uintptr_t vtlmem_vmap_debug_slot_base(const struct vtlmem_vmap *vm)
{
	return vm->slot_base;
}

uint64_t vtlmem_vmap_debug_pool(const struct vtlmem_vmap *vm)
{
	return vm->npool;
}

struct clear_check {
	const struct pgt *pt;
	bool ok;
};

static void free_range_clear(void *arg, uint64_t start, uint64_t len)
{
	struct clear_check *cc = arg;
	uint64_t i;

	for (i = 0; i < len; i++)
		if (pgt_leaf_entry(cc->pt, (uintptr_t)(start + i) << VTLMEM_PAGE_SHIFT))
			cc->ok = false;
}

static int check_quarantine(const struct vtlmem_vmap *vm, struct clear_check *cc)
{
	const struct vtlmem_mapping *m;
	uint64_t pages = 0;

	for (m = vm->q.head; m; m = m->next) {
		if (state_get(m) != M_QUAR || m->va < vm->q.lo || m->va + m->npages * PG > vm->q.hi)
			return -3;
		free_range_clear(cc, m->va >> VTLMEM_PAGE_SHIFT, m->npages + 1);
		pages += m->npages;
	}
	return pages == vm->q.pages ? 0 : -4;
}

int vtlmem_vmap_selfcheck(struct vtlmem_vmap *vm)
{
	struct clear_check cc = { &vm->pt, true };
	int ret = 0;

	vm_lock(vm);
	if (vas_check(&vm->vas) < 0)
		ret = -1;
	vas_for_each(&vm->vas, free_range_clear, &cc);
	if (!ret && !cc.ok)
		ret = -2;
	if (!ret)
		ret = check_quarantine(vm, &cc);
	if (!ret && !cc.ok)
		ret = -5;
	vm_unlock(vm);
	return ret;
}
