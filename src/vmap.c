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
 * sort-free duplicate detection (vmap_pages.c), reserve or check `held`,
 * protect; then under the lock: a mapping struct, VA, spare leaf tables.
 * Every step undoes the earlier ones on failure, so a failed map changes
 * nothing. Commit links the spare tables (under the lock) and writes the
 * leaf entries (after it: the range is this call's alone); it cannot fail.
 *
 * The lifecycle of mapping structs and the lock order are described in
 * vmap_internal.h; unmap, quarantine and purge live in vmap_purge.c.
 */
#include "bug.h"
#include "pacheck.h"
#include "reserve_held.h"
#include "vmap_internal.h"

#define DEFAULT_SLOTS 8u
#define DEFAULT_PURGE 512u

/* ---- create / destroy -------------------------------------------------- */

static bool ops_complete(const struct vtlmem_platform *p)
{
	return p->pt_alloc && p->pt_free && p->pt_phys_to_virt && p->alloc && p->free &&
	       (p->tlb_shootdown || VTLMEM_ARCH_TLB_BROADCAST) && p->cpu_id && p->preempt_off &&
	       p->preempt_on;
}

/* Window and slot geometry; fills spc and the slot area's page count. */
static int check_config(const struct vtlmem_platform *p, const struct vtlmem_vmap_config *cfg,
			unsigned *spc, uint64_t *slot_pages)
{
	uintptr_t base = vtlmem_va_val(cfg->base);

	if (((uint64_t)base | cfg->size) & VTLMEM_PAGE_MASK || !vtlmem_arch_va_window_ok(base, cfg->size))
		return -VTLMEM_EINVAL;
	*spc = cfg->slots_per_cpu ? cfg->slots_per_cpu : DEFAULT_SLOTS;
	if (*spc > MAX_SLOTS || p->ncpus == 0 || vtlmem_pa_bits(p) > VTLMEM_ARCH_PA_BITS_MAX)
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
	vm->cpus_mem = NULL;
	vm->ents = NULL;
	vm->pool = NULL;
	vm->npool = 0;
	qlist_init(&vm->q);
	vm->purging = false;
	vm->inflight = 0;
	vm->live = 0;
	counters_zero(&vm->st);
}

/* Tables, allocator and slots; on failure frees what it made. */
static int vm_build(struct vtlmem_vmap *vm, bool prepopulate)
{
	uint64_t slot_pages = (vm->base + vm->size - vm->slot_base) >> VTLMEM_PAGE_SHIFT;
	int ret = vtlmem_vmap_slots_init(vm);

	if (ret)
		goto fail_slots;
	ret = vtlmem_vas_init(&vm->vas, vm->p, vm->base >> VTLMEM_PAGE_SHIFT,
		       (vm->slot_base - vm->base) >> VTLMEM_PAGE_SHIFT);
	if (ret)
		goto fail_slots;
	ret = vtlmem_pgt_init(&vm->pt, vm->p, vm->base, vm->size);
	if (ret)
		goto fail_vas;
	ret = vtlmem_pgt_populate(&vm->pt, vm->slot_base, slot_pages);
	if (!ret && prepopulate)
		ret = vtlmem_pgt_populate(&vm->pt, vm->base, vm->size >> VTLMEM_PAGE_SHIFT);
	if (!ret) {
		vtlmem_vmap_slots_link(vm);
		return 0;
	}
	vtlmem_pgt_fini(&vm->pt);
fail_vas:
	vtlmem_vas_fini(&vm->vas);
fail_slots:
	vtlmem_vmap_slots_fini(vm);
	return ret;
}

int vtlmem_vmap_create(const struct vtlmem_platform *p, struct vtlmem_rtable *rt,
		       const struct vtlmem_vmap_config *cfg, struct vtlmem_vmap **out)
{
	struct vtlmem_vmap *vm;
	uint64_t slot_pages;
	unsigned spc;
	int ret;

	if (!p || !rt || !cfg || !out || !vtlmem_lock_ops_ok(p))
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
		vtlmem_lock_fini(p, &vm->lock);
		p->free(p->ctx, vm, sizeof(*vm));
		return ret;
	}
	*out = vm;
	return 0;
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
	busy = vm->live || vm->purging || vtlmem_vmap_slots_busy(vm);
	vm_unlock(vm);
	if (busy)
		return -VTLMEM_EBUSY;
	if (vm->q.head || vm->q.dhead) {
		ret = vtlmem_vmap_purge(vm);
		if (ret)
			return ret;
	}
	p = vm->p;
	/* nothing live, nothing purging: a successful purge emptied the list */
	VTLMEM_BUG_ON(p, vm->q.head || vm->q.dhead);
	free_list(vm, vm->pool);
	vtlmem_vas_fini(&vm->vas);
	vtlmem_pgt_fini(&vm->pt);
	vtlmem_vmap_slots_fini(vm);
	vtlmem_lock_fini(p, &vm->lock);
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
		vtlmem_pgt_top_entry(&vm->pt, k, &out[k].index, &out[k].value);
	return vm->pt.ntop;
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
	enum vtlmem_rmode mode = VTLMEM_RES_SHARED;
	size_t i, bad = 0;
	int ret;

	/* every run's coverage and the mode in one lookup; a dead handle covers nothing */
	if (vtlmem_resv_covers_runs(vm->rt, held, r, n, &bad, &mode))
		bad = 0;   /* mode stays shared: RW is refused below */
	if (prot == VTLMEM_PROT_RW && mode != VTLMEM_RES_EXCLUSIVE)
		return -VTLMEM_EPERM;
	/* in run order, as one run at a time: its checks, then its coverage */
	for (i = 0; i < n; i++) {
		ret = vtlmem_check_range(vm->p, r[i].pa, r[i].len);
		if (ret)
			return ret;
		if (i == bad)
			return -VTLMEM_EPERM;
	}
	return 0;
}

/*
 * Reserve the runs (own reservation) or check the held one. *run is the
 * first page if the pages are one ascending contiguous run in array order
 * (then commit writes the entries from it, not from req->pages), else 0
 * (page 0 never maps).
 */
static int claim(struct vtlmem_vmap *vm, const struct vtlmem_map_req *req, vtlmem_resv_t *own,
		 vtlmem_paddr_t *run)
{
	const struct vtlmem_platform *p = vm->p;
	struct runs rs;
	size_t cap;
	int ret = vtlmem_vmap_runs_get(p, req, &rs, &cap);

	own->id = 0;
	own->rec = NULL;
	if (ret)
		return ret;
	*run = vtlmem_pa(rs.sorted && rs.n == 1 ? vtlmem_pa_val(rs.r[0].pa) : 0);
	if (req->held.id)
		ret = check_held(vm, req->held, req->prot, rs.r, rs.n);
	else
		ret = vtlmem_reserve(vm->rt, rs.r, rs.n,
				     req->prot == VTLMEM_PROT_RW ? VTLMEM_RES_EXCLUSIVE :
								   VTLMEM_RES_SHARED,
				     own, NULL);
	vtlmem_vmap_runs_put(p, &rs, cap);
	return ret;
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

void vtlmem_vmap_struct_put(struct vtlmem_vmap *vm, struct vtlmem_mapping *m, bool fresh)
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
	int ret = vtlmem_vas_alloc(&vm->vas, npages + 1, vpage);

	if (ret != -VTLMEM_ENOSPC || vm->purging || (!vm->q.head && !vm->q.dhead))
		return ret;
	vm_unlock(vm);
	vtlmem_vmap_purge(vm);
	vm_lock(vm);
	return vtlmem_vas_alloc(&vm->vas, npages + 1, vpage);
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
	pl->spare.n = vtlmem_pgt_missing(&vm->pt, va, npages);
	ret = pl->spare.n ? vtlmem_pgt_spare_get(&vm->pt, &pl->spare, pl->spare.n) : 0;
	if (!ret)
		return 0;
	vtlmem_vas_unalloc(&vm->vas, pl->vpage, npages + 1);   /* exact undo, cannot fail */
fail_struct:
	vtlmem_vmap_struct_put(vm, pl->m, pl->fresh);
	return ret;
}

/* Link the tables and make the mapping live (under the lock). */
static void commit_locked(struct vtlmem_vmap *vm, const struct vtlmem_map_req *req,
			  struct place *pl, vtlmem_resv_t own)
{
	struct vtlmem_mapping *m = pl->m;

	m->va = (uintptr_t)pl->vpage << VTLMEM_PAGE_SHIFT;
	if (pl->spare.n)
		vtlmem_pgt_link(&vm->pt, m->va, req->npages, &pl->spare);
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
	*attrs = vtlmem_arch_leaf_attrs(req->prot, req->cache);
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
	vtlmem_paddr_t run;
	vtlmem_resv_t own;
	struct place pl;
	uint64_t attrs;
	int ret;

	if (!vm || !req || !out || !va)
		return -VTLMEM_EINVAL;
	ret = check_req(vm, req, &attrs);
	if (!ret)
		ret = claim(vm, req, &own, &run);
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
	if (vtlmem_pa_val(run))
		vtlmem_pgt_set_run(&vm->pt, pl.m->va, run, req->npages, attrs);
	else
		vtlmem_pgt_set(&vm->pt, pl.m->va, req->pages, req->npages, attrs);
	*out = pl.m;
	*va = vtlmem_va(pl.m->va);
	return 0;

fail_protect:
	if (req->flags & VTLMEM_MAP_PROTECT)
		unprotect_pages(vm->p, req->pages, req->npages);
fail_claim:
	if (own.id)   /* nobody saw it: give back what its reserve allocated */
		vtlmem_unreserve(vm->rt, own);
	return ret;
}
