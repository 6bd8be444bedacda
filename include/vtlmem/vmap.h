/* SPDX-License-Identifier: MIT */
/*
 * vtlmem/vmap.h - the vmap manager: maps VTL0 physical pages into one kernel
 * virtual-address window, owns the page-table subtree under it, and keeps
 * unmapped VA in quarantine until a remote TLB shootdown covers it.
 *
 *   window: [ mappings + guard pages ............ | per-CPU slots ]
 *           ^ base                                               base+size ^
 *
 * Every mapping is followed by at least one unmapped guard page, is never
 * executable (NX), never global, and has an explicit cache policy. Pages are
 * only mapped under a live reservation (taken by the map call, or held by
 * the caller and checked).
 *
 * The virtual addresses this header hands out are for the library's own copy
 * routines and for tests. They are raw pointers into VTL0 memory: kernel code
 * outside the library must not dereference them (DESIGN.md rule 2); use
 * physptr.h / vtl0.h instead.
 *
 * Lock order: vmap lock -> reservation-table lock. The shootdown op is
 * called with no lock held.
 */
#ifndef VTLMEM_VMAP_H
#define VTLMEM_VMAP_H

#include <vtlmem/platform.h>
#include <vtlmem/reserve.h>

struct vtlmem_vmap;
struct vtlmem_mapping;

struct vtlmem_vmap_config {
	vtlmem_vaddr_t base;        /* page-aligned, canonical, kernel half        */
	uint64_t size;              /* bytes, page-aligned, non-zero               */
	unsigned slots_per_cpu;     /* per-CPU temporary slot pages; 0 means 8     */
	uint64_t purge_threshold;   /* quarantined pages that trigger a purge; 0 means 64 */
	bool prepopulate;           /* allocate every leaf table at create time    */
};

/* Map request flags. */
#define VTLMEM_MAP_PROTECT  (1u << 0)  /* call the platform protect op per page */

struct vtlmem_map_req {
	const vtlmem_paddr_t *pages; /* page-aligned physical pages, any order     */
	size_t npages;               /* >= 1                                      */
	enum vtlmem_prot prot;       /* RO or RW; NX is always set                 */
	enum vtlmem_cache cache;
	unsigned flags;              /* VTLMEM_MAP_*                               */
	vtlmem_resv_t held;          /* id 0: the mapping reserves its pages (RW ->
				      * exclusive, RO -> shared); otherwise a live
				      * reservation of the caller's that must cover
				      * every page (checked), and the mapping takes
				      * none of its own                            */
};

/* An x86_64 top-level (PML4) entry the kernel must install in every root. */
struct vtlmem_top_entry {
	unsigned index;
	uint64_t value;
};

struct vtlmem_vmap_stats {
	uint64_t maps;               /* successful vtlmem_vmap_map() calls         */
	uint64_t unmaps;
	uint64_t slot_maps;
	uint64_t slot_unmaps;
	uint64_t local_flush_pages;  /* single-page local invalidations            */
	uint64_t local_flush_all;    /* whole local TLB flushes                    */
	uint64_t remote_shootdowns;  /* shootdown op calls that succeeded          */
	uint64_t shootdown_failures;
	uint64_t quarantined_pages;  /* now                                        */
	uint64_t mapped_pages;       /* now, window mappings (not slots)           */
	uint64_t pt_pages;           /* page-table pages owned now                 */
};

/* A per-CPU temporary mapping; fill by vtlmem_slot_map(), caller storage. */
struct vtlmem_slot {
	vtlmem_vaddr_t va;
	unsigned cpu;
	unsigned first;              /* first slot page index on that CPU */
	unsigned npages;
	unsigned long cookie;        /* from preempt_off                  */
};

/*
 * Create a vmap manager for cfg's window, mapping under reservations of rt.
 * Allocates the upper-level tables covering the window (and every leaf
 * table if cfg->prepopulate); the kernel installs vtlmem_vmap_top_entries()
 * in each of its roots before the first map. Returns 0 and *out, or
 *   -VTLMEM_EINVAL  NULL argument, window unaligned, empty, not canonical,
 *                   not in the kernel half (host builds: any canonical half),
 *                   or too small for the per-CPU slots plus one mapping
 *   -VTLMEM_ENOSYS  missing pt_alloc/pt_free/pt_phys_to_virt/alloc/free,
 *                   tlb_shootdown, cpu_id or preempt ops
 *   -VTLMEM_ENOMEM  allocation failed (everything allocated is freed)
 * Not thread-safe against other calls on the same manager (init time).
 */
int vtlmem_vmap_create(const struct vtlmem_platform *p, struct vtlmem_rtable *rt,
		       const struct vtlmem_vmap_config *cfg, struct vtlmem_vmap **out);

/*
 * Destroy: requires every mapping unmapped and every slot released
 * (-VTLMEM_EBUSY otherwise, nothing changes). Purges the quarantine
 * (-VTLMEM_EIO if that shootdown fails, nothing freed), then frees every
 * page-table page and the manager. The kernel must have removed the top
 * entries first.
 */
int vtlmem_vmap_destroy(struct vtlmem_vmap *vm);

/*
 * The top-level entries covering the window: fills up to max entries and
 * returns how many exist (call with max 0 to count).
 */
size_t vtlmem_vmap_top_entries(const struct vtlmem_vmap *vm, struct vtlmem_top_entry *out,
			       size_t max);

/*
 * Map req's pages, in order, at one contiguous VA followed by a guard page.
 * Two-phase: prepare (validate, reserve, allocate VA and any missing leaf
 * tables, protect) then commit (write PTEs; cannot fail). Returns 0 with
 * *out and *va set, or, with no state changed:
 *   -VTLMEM_EINVAL    NULL argument, npages 0, unaligned page, duplicate
 *                     page, bad prot/cache/flags
 *   -VTLMEM_EOVERFLOW npages * page size wraps
 *   -VTLMEM_ERANGE    a page beyond pa_bits
 *   -VTLMEM_EPERM     a page owned by the secure kernel (or page 0), or
 *                     held does not cover every page
 *   -VTLMEM_EBUSY     a page reserved by someone else
 *   -VTLMEM_ENOMEM    bookkeeping or page-table allocation failed
 *   -VTLMEM_ENOSPC    no VA range large enough, even after a purge
 *   -VTLMEM_ENOSYS    VTLMEM_MAP_PROTECT without protect/unprotect ops
 *   any error from the protect op (earlier pages are unprotected again)
 * Takes the vmap lock; may run a purge (shootdown) without it.
 */
int vtlmem_vmap_map(struct vtlmem_vmap *vm, const struct vtlmem_map_req *req,
		    struct vtlmem_mapping **out, vtlmem_vaddr_t *va);

/*
 * Unmap: clear the PTEs, invalidate this CPU's TLB (per page up to 32
 * pages, else whole), unprotect, and quarantine the VA together with the
 * mapping's own reservation. Both are released only by a purge whose
 * shootdown succeeded; passing the purge threshold runs one. Returns 0
 * (the mapping is gone even if that purge failed: see stats), or
 * -VTLMEM_EINVAL for NULL or a handle that is not live.
 */
int vtlmem_vmap_unmap(struct vtlmem_vmap *vm, struct vtlmem_mapping *m);

/*
 * Purge the quarantine now: one shootdown covering every quarantined range,
 * then the VA becomes reusable and deferred reservations are released.
 * Returns 0 (also when empty), or -VTLMEM_EIO if the shootdown failed
 * (everything stays quarantined). Called without locks held.
 */
int vtlmem_vmap_purge(struct vtlmem_vmap *vm);

/*
 * Release caller-held reservation r after the next successful purge (at
 * once if nothing is quarantined): for a reservation whose pages were mapped
 * under it (req.held) and unmapped. Returns 0, or -VTLMEM_ENOMEM (then r is
 * still held by the caller), -VTLMEM_ENOENT if r is not live.
 */
int vtlmem_vmap_release_after_flush(struct vtlmem_vmap *vm, vtlmem_resv_t r);

/*
 * Per-CPU slots (kmap_local style), the fast path for 1-2 page accesses.
 * Disables preemption (platform op), maps npages (1..slots_per_cpu) pages
 * covered by held on this CPU's slot stack, invalidating locally only.
 * Slots must be released in reverse order of mapping, on the same CPU.
 * Returns 0 and fills *s, or -VTLMEM_EINVAL (bad argument/unaligned page),
 * -VTLMEM_EPERM (held does not cover a page), -VTLMEM_ENOSPC (this CPU's
 * slot stack is full); on error preemption is as before.
 */
int vtlmem_slot_map(struct vtlmem_vmap *vm, const vtlmem_paddr_t *pages, size_t npages,
		    enum vtlmem_prot prot, enum vtlmem_cache cache, vtlmem_resv_t held,
		    struct vtlmem_slot *s);

/*
 * Release a slot: clear its PTEs, invalidate locally, re-enable preemption.
 * Returns 0, or -VTLMEM_EDEADLK if s is not the top of the current CPU's
 * slot stack (wrong order, wrong CPU, or already released): nothing changes.
 */
int vtlmem_slot_unmap(struct vtlmem_vmap *vm, struct vtlmem_slot *s);

/* Copy out the statistics (under the lock). */
void vtlmem_vmap_get_stats(struct vtlmem_vmap *vm, struct vtlmem_vmap_stats *st);

/* Print the statistics and the window layout through puts. */
void vtlmem_vmap_dump(struct vtlmem_vmap *vm, void (*puts)(void *arg, const char *line),
		      void *arg);

#endif /* VTLMEM_VMAP_H */
