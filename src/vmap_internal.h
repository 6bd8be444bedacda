/* SPDX-License-Identifier: MIT */
/*
 * Internals of the vmap manager (include/vtlmem/vmap.h), shared by its
 * files: vmap.c (create/destroy, map), vmap_pages.c (request validation:
 * pages to sorted physical runs), vmap_purge.c (unmap, quarantine, purge),
 * vmap_slot.c (per-CPU slots), vmap_stats.c (statistics, dump, debug views,
 * self-check).
 *
 * Lifecycle of a mapping struct: FREE (in the pool) -> LIVE (handed out)
 * -> DYING (unmap is clearing it; taken by compare-and-swap, so of two
 * racing unmaps exactly one proceeds) -> QUAR (in the quarantine) -> FREE
 * after a successful purge. Structs are recycled through the pool and only
 * given back to the platform by destroy, so a stale handle always points at
 * a struct of this manager and is rejected as not live (until a later map
 * reuses that struct: handles are not generation-checked).
 *
 * Lock order: vmap lock -> reservation-table lock (the table is only
 * called without the vmap lock here, which the order also allows). The
 * shootdown and protect/unprotect ops are never called with the vmap lock
 * held; pt_alloc/pt_free and alloc/free are only called with it held (but
 * for create/destroy).
 */
#ifndef VTLMEM_SRC_VMAP_INTERNAL_H
#define VTLMEM_SRC_VMAP_INTERNAL_H

#include <vtlmem/vmap.h>

#include "arch.h"
#include "lock.h"
#include "pgtable.h"
#include "reserve_held.h"
#include "tlb.h"
#include "vaspace.h"

#define PG VTLMEM_PAGE_SIZE
#define MAX_SLOTS 64u
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
			uintptr_t va;          /* slot page 0's VA  */
			uint64_t maps, unmaps, flush_pages, flush_all;
			uint64_t **pte;        /* leaf entry of each slot page */
		} s;
		char line[64];
	};
};

/* One cache line per CPU: no false sharing between slot stacks. */
_Static_assert(sizeof(struct slot_cpu) == 64, "slot_cpu is one 64-byte line");

struct vmap_counters {
	uint64_t maps, unmaps, flush_pages, flush_all;
	uint64_t shootdowns, failures, mapped;
};

/*
 * The manager. "const" fields are set at create and only read afterwards
 * (no lock needed); "lock" fields only with vm->lock held; per-CPU slot
 * state only by its CPU with preemption off.
 */
struct vtlmem_vmap {
	const struct vtlmem_platform *p;   /* const                              */
	struct vtlmem_rtable *rt;          /* const (the table has its own lock) */
	struct vtlmem_lock lock;
	uintptr_t base, slot_base;         /* const                              */
	uint64_t size;                     /* const                              */
	unsigned spc, ncpus;               /* const                              */
	uint64_t threshold;                /* const                              */
	struct pgt pt;                     /* links: lock; leaf entries: owner of
					    * the range (map/unmap/slot) without it */
	struct vas vas;                    /* lock                               */
	struct slot_cpu *cpus;             /* array const; cpus[c]: CPU c only,
					    * 64-byte aligned inside cpus_mem     */
	void *cpus_mem;                    /* const: the allocation holding cpus  */
	struct slot_ent *ents;             /* const array; entries: their CPU     */
	uint64_t **slot_pte;               /* const: ncpus * spc entry pointers   */
	uint64_t slot_attrs[2];            /* const: one-shot leaf attrs, RO / RW */
	struct vtlmem_mapping *pool;       /* lock                               */
	uint64_t npool;                    /* lock                               */
	struct qlist q;                    /* lock: the quarantine               */
	bool purging;                      /* lock: a batch is out for a shootdown */
	uint64_t inflight;                 /* lock: its pages (still quarantined) */
	uint64_t live;                     /* lock: LIVE + DYING mappings         */
	struct vmap_counters st;           /* lock                               */
};


/* Physical runs of a request, on the stack when few, else borrowed. */
struct runs {
	struct vtlmem_range *r;
	size_t n;
	bool sorted;                   /* runs already strictly ascending */
	struct vtlmem_range stack[RUNS_STACK];
};


/* Mapping state: written under the lock, also read and CASed by unmap. */
static inline uint32_t state_get(const struct vtlmem_mapping *m)
{
	return __atomic_load_n(&m->state, __ATOMIC_ACQUIRE);
}

static inline void state_set(struct vtlmem_mapping *m, uint32_t st)
{
	__atomic_store_n(&m->state, st, __ATOMIC_RELEASE);
}

static inline void vm_lock(struct vtlmem_vmap *vm)
{
	vtlmem_lock_acquire(vm->p, &vm->lock);
}

static inline void vm_unlock(struct vtlmem_vmap *vm)
{
	vtlmem_lock_release(vm->p, &vm->lock);
}

static inline void qlist_init(struct qlist *l)
{
	l->head = l->tail = NULL;
	l->dhead = NULL;
	l->pages = 0;
	l->lo = l->hi = 0;
}

/*
 * The physical-address width pages are mapped under: the platform's
 * pa_bits, never more than an entry holds (create refuses a wider one; the
 * cap also holds if the platform struct changes later).
 */
static inline unsigned vmap_pa_bits(const struct vtlmem_platform *p)
{
	unsigned bits = vtlmem_pa_bits(p), max = VTLMEM_ARCH_PA_BITS_MAX;

	return bits < max ? bits : max;
}

/* Release the mapping's own reservation, if it has one. */
static inline void unclaim(struct vtlmem_vmap *vm, vtlmem_resv_t own)
{
	if (own.id)
		vtlmem_release_own(vm->rt, own);   /* the map's own: by its record */
}

/*
 * vmap.c: give a mapping struct back to the pool, or to the platform if
 * fresh (it never was handed out). Lock held.
 */
void vtlmem_vmap_struct_put(struct vtlmem_vmap *vm, struct vtlmem_mapping *m, bool fresh);

/* vmap_pages.c: a map request's pages as sorted, disjoint, maximal runs. */
int vtlmem_vmap_runs_get(const struct vtlmem_platform *p, const struct vtlmem_map_req *req,
		  struct runs *rs, size_t *cap);
void vtlmem_vmap_runs_put(const struct vtlmem_platform *p, struct runs *rs, size_t cap);

/*
 * vmap_slot.c: vtlmem_slot_map() without its argument and reservation
 * checks, for a caller that has just established them itself (the one-shot
 * VTL0 calls: pages aligned, distinct and below vmap_pa_bits(), 1 <= npages
 * <= vm->spc, attrs from vtlmem_arch_leaf_attrs(), covered by a live
 * reservation that the same call took and releases only after
 * vtlmem_slot_unmap()). Returns 0, -VTLMEM_EINVAL (cpu_id >= ncpus) or
 * -VTLMEM_ENOSPC (stack full), with preemption as before on error.
 */
int vtlmem_slot_enter(struct vtlmem_vmap *vm, const vtlmem_paddr_t *pages, uint32_t npages,
		      uint64_t attrs, struct vtlmem_slot *s);

/* vmap_slot.c: the per-CPU slot stacks (create/destroy, no lock). */
int vtlmem_vmap_slots_init(struct vtlmem_vmap *vm);
/* After the slot area's leaf tables exist: find each slot page's entry. */
void vtlmem_vmap_slots_link(struct vtlmem_vmap *vm);
void vtlmem_vmap_slots_fini(struct vtlmem_vmap *vm);
bool vtlmem_vmap_slots_busy(const struct vtlmem_vmap *vm);

#endif
