/* SPDX-License-Identifier: MIT */
/*
 * vtlmem/vmap.h - the vmap manager: maps VTL0 physical pages into one kernel
 * virtual-address window, owns the page-table subtree under it, and keeps
 * unmapped VA in quarantine until every CPU has dropped its translations.
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
 * outside the library must not dereference them (docs/design.md, rule 2); use
 * physptr.h / vtl0.h instead.
 *
 * Lock order: vmap lock -> reservation-table lock. The shootdown and the
 * protect/unprotect ops are called with no lock held; pt_alloc/pt_free and
 * alloc/free with the vmap lock held.
 *
 * Page tables: the library owns every top-level (x86_64: PML4, 512 GiB)
 * slot the window touches; the kernel maps nothing else there. Upper-level
 * tables for the whole window exist from create on; leaf tables are added
 * on demand and kept until destroy (an emptied one is never freed, so no
 * table page is reused while a paging-structure cache may still hold it).
 * x86_64 requirements (PAT layout, EFER.NXE): see vtlmem/x86_64.h.
 *
 * TLB: a mapping's VA, and the reservation it was made under, are only
 * reused after every CPU has dropped its translations of it, whichever CPUs
 * used the mapping and whichever CPU unmaps or purges. Unmap invalidates
 * the unmapping CPU and puts the VA in a quarantine; a purge takes the whole
 * quarantine, and with preemption off invalidates the span [lowest VA,
 * highest mapped end) of that batch on its own CPU (it may have used a
 * mapping another CPU unmapped) and calls the shootdown op ONCE for the same
 * span on every other CPU (the platform picks per-page or full flushes);
 * only if that succeeded does it free the VA and release the reservations.
 * Purges run when the quarantine reaches purge_threshold pages, when map
 * runs out of VA, on vtlmem_vmap_purge() and at destroy. At most one purge
 * is in flight. Giving VA back needs no allocation, so a purge whose
 * shootdown succeeded always makes all of its batch's VA reusable.
 *
 * Interrupt context: vtlmem_slot_map() and vtlmem_slot_unmap() take no lock
 * and allocate nothing (their reservation check is lock-free), so they may
 * run in an interrupt handler, also one that interrupted a library call
 * holding a lock on the same CPU, provided the platform's preempt_off
 * disables interrupts (and nests). The copy routines (copy.h) may run in
 * any context. Every other call here takes the vmap lock and/or the
 * reservation-table lock: from interrupt context it would deadlock against
 * an interrupted holder on the same CPU unless the platform's lock ops
 * disable interrupts while held (as spin_lock_irqsave does); with the
 * library's own ticket spinlock they are not interrupt-safe. The purge
 * (also inside unmap and map) waits for the shootdown op, so it must never
 * run in interrupt context.
 */
#ifndef VTLMEM_VMAP_H
#define VTLMEM_VMAP_H

#include <vtlmem/platform.h>
#include <vtlmem/reserve.h>

struct vtlmem_vmap;
struct vtlmem_mapping;

/* The window and tunables of a vmap manager (vtlmem_vmap_create()). */
struct vtlmem_vmap_config {
	vtlmem_vaddr_t base;        /* page-aligned, canonical, kernel half        */
	uint64_t size;              /* bytes, page-aligned, non-zero               */
	unsigned slots_per_cpu;     /* per-CPU temporary slot pages, 1..64; 0 means 8 */
	uint64_t purge_threshold;   /* quarantined pages (guard pages not counted)
				     * that trigger a purge; 0 means 512            */
	bool prepopulate;           /* allocate every leaf table at create time    */
};

/* Map request flags. */
#define VTLMEM_MAP_PROTECT  (1u << 0)  /* call the platform protect op per page */

/* What vtlmem_vmap_map() maps, and how. */
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

/* Counters of vtlmem_vmap_get_stats(). */
struct vtlmem_vmap_stats {
	uint64_t maps;               /* successful vtlmem_vmap_map() calls         */
	uint64_t unmaps;
	uint64_t slot_maps;
	uint64_t slot_unmaps;
	uint64_t local_flush_pages;  /* pages invalidated one by one (up to 32 at
				      * once on x86_64, 512 on aarch64; slots,
				      * unmaps and purges)                         */
	uint64_t local_flush_all;    /* whole-TLB invalidations (longer ranges)    */
	uint64_t remote_shootdowns;  /* shootdown op calls that succeeded          */
	uint64_t shootdown_failures;
	uint64_t quarantined_pages;  /* now: unmapped, awaiting a shootdown (guard
				      * pages not counted; includes a batch whose
				      * shootdown is in flight)                    */
	uint64_t mapped_pages;       /* now, window mappings (not slots)           */
	uint64_t pt_pages;           /* page-table pages owned now                 */
};

/*
 * A per-CPU temporary mapping; filled by vtlmem_slot_map(), caller storage.
 * Slot page i of CPU c lies at the window's slot area + (c * (slots_per_cpu
 * + 1) + i) pages: each CPU's slot stack is followed by a guard page.
 */
struct vtlmem_slot {
	vtlmem_vaddr_t va;
	unsigned cpu;
	unsigned first;              /* first slot page index on that CPU */
	unsigned npages;
	unsigned long cookie;        /* from preempt_off                  */
	unsigned long gen;           /* per-CPU sequence: detects a stale slot */
};

/*
 * Create a vmap manager for cfg's window, mapping under reservations of rt.
 * Allocates the upper-level tables covering the window, the leaf tables of
 * the per-CPU slot area (and every leaf table if cfg->prepopulate); the
 * kernel installs vtlmem_vmap_top_entries() in each of its roots before
 * the first map. The window is split into the mapping area and, at its
 * top, ncpus * (slots_per_cpu + 1) slot pages. Calls p's lock_init (if
 * any) once, for the manager's lock, and lock_fini (if set) again when it
 * fails after that. Returns 0 and *out, or (checked in this order)
 *   -VTLMEM_EINVAL  NULL argument; p's lock ops mixed (lock_init, lock and
 *                   unlock not all set or all NULL, or lock_fini without
 *                   them: platform.h)
 *   -VTLMEM_ENOSYS  missing pt_alloc/pt_free/pt_phys_to_virt/alloc/free,
 *                   cpu_id, preempt_off or preempt_on op, or tlb_shootdown
 *                   on an architecture without broadcast TLB invalidation
 *                   (x86_64: required)
 *   -VTLMEM_EINVAL  window unaligned, empty, wrapping, not canonical, not in
 *                   the kernel half (host builds: either canonical half);
 *                   slots_per_cpu > 64; ncpus 0; p's pa_bits wider than a
 *                   page-table entry holds (x86_64: 52); or the window too
 *                   small for the slot area plus one 1-page mapping and its
 *                   guard
 *   -VTLMEM_ENOMEM  allocation failed (everything allocated is freed)
 * Not thread-safe against other calls on the same manager (init time).
 */
int vtlmem_vmap_create(const struct vtlmem_platform *p, struct vtlmem_rtable *rt,
		       const struct vtlmem_vmap_config *cfg, struct vtlmem_vmap **out);

/*
 * Destroy: requires every mapping unmapped and every slot released
 * (-VTLMEM_EBUSY otherwise, nothing changes). Purges the quarantine
 * (-VTLMEM_EIO if that shootdown fails: nothing freed, call again), then
 * frees every page-table page, every bookkeeping object and the manager,
 * and ends its lock (lock_fini, if set; not on an error return).
 * -VTLMEM_EINVAL for NULL. The kernel must have removed the top entries
 * first. Not thread-safe against other calls on the same manager.
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
 * Two-phase: prepare (validate, reserve or check held, protect, then under
 * the lock a handle, VA and any missing leaf tables) then commit (link the
 * tables, write the leaf entries: present, NX, RW or RO, cache policy, not
 * global, not user; cannot fail). req and its page array are read more
 * than once (validated, then written into the entries): they must be the
 * caller's memory and must not change during the call. Returns 0 with
 * *out and *va set, or,
 * with no state changed (tables byte-identical, allocator and reservation
 * table as before, nothing leaked), the first of these that applies:
 *   -VTLMEM_EINVAL    NULL argument or req->pages, npages 0, bad
 *                     prot/cache/flags
 *   -VTLMEM_EOVERFLOW npages * page size wraps
 *   -VTLMEM_ENOSYS    VTLMEM_MAP_PROTECT without protect/unprotect ops
 *   -VTLMEM_ENOSPC    npages + 1 guard page exceed the whole mapping area
 *   per page, in array order:
 *   -VTLMEM_EINVAL    unaligned page
 *   -VTLMEM_ERANGE    a page at or above 2^pa_bits, or above the widest
 *                     address an entry holds (x86_64: 2^52; create refuses
 *                     a wider pa_bits, this holds also if the platform's
 *                     pa_bits grows later)
 *   then:
 *   -VTLMEM_ENOMEM    (requests of more than 16 discontiguous runs) the
 *                     scratch array for the duplicate check
 *   -VTLMEM_EINVAL    a page repeated in the request
 *   held == 0: any error of vtlmem_reserve() on the request's runs
 *                     (-EPERM page 0 / secure-kernel owned, -EBUSY reserved
 *                     by someone else, -ENOMEM, ...)
 *   held != 0: -VTLMEM_EPERM held not live, not exclusive for an RW
 *                     mapping, not covering a page, or a page now failing
 *                     the ownership check
 *   any error from the protect op (earlier pages are unprotected again)
 *   -VTLMEM_ENOMEM    handle or page-table allocation failed
 *   -VTLMEM_ENOSPC    no VA range large enough, even after a purge (map
 *                     runs one when VA is short and something is
 *                     quarantined; it does not wait for another CPU's
 *                     purge in flight). That purge is not undone when the
 *                     map then fails: the quarantine it emptied, the VA
 *                     it freed and the reservations it released stay so,
 *                     exactly as after a vtlmem_vmap_purge() call; only
 *                     what the map itself took is given back.
 * Duplicate detection is O(n) when the pages' runs ascend (no memory),
 * else O(n log n) (heapsort of the runs). Takes the vmap lock; may run a
 * purge (shootdown) without it; writes the leaf entries after dropping it.
 */
int vtlmem_vmap_map(struct vtlmem_vmap *vm, const struct vtlmem_map_req *req,
		    struct vtlmem_mapping **out, vtlmem_vaddr_t *va);

/*
 * Unmap: clear the PTEs (unprotecting each page right after its entry is
 * cleared, for VTLMEM_MAP_PROTECT mappings), invalidate this CPU's TLB
 * (per page up to the arch's limit, else whole: 32 pages on x86_64, 512
 * on aarch64), and quarantine the VA together
 * with the mapping's own reservation. Both are released only by a purge
 * whose shootdown succeeded; reaching the purge threshold runs one (unless
 * one is in flight). Returns 0 (the mapping is gone even if that purge
 * failed: see stats), or -VTLMEM_EINVAL for NULL or a handle that is not
 * live (already unmapped, or another manager's). Handles are recycled
 * after the purge, so a stale handle is only detected until a later map
 * reuses it: unmapping twice is a caller bug. The PTEs are cleared and
 * flushed without the lock. An unprotect op error is not reported (there
 * is nothing to undo: the page is unmapped either way).
 */
int vtlmem_vmap_unmap(struct vtlmem_vmap *vm, struct vtlmem_mapping *m);

/*
 * Purge the quarantine now: invalidate every quarantined range on this CPU
 * and, with one shootdown, on every other CPU (preemption off across both:
 * preempt_off/preempt_on), then the VA becomes reusable and the
 * quarantined mappings' and deferred reservations are released. Returns 0
 * (also when empty: no invalidation, no shootdown), -VTLMEM_EIO if the
 * shootdown failed (everything stays quarantined, stats.shootdown_failures
 * counts it), -VTLMEM_EBUSY if another CPU's purge is in flight (nothing
 * done; that purge or the next covers the rest), -VTLMEM_EINVAL for NULL.
 * Called without library locks held; not from interrupt context.
 */
int vtlmem_vmap_purge(struct vtlmem_vmap *vm);

/*
 * Release caller-held reservation r after the next successful purge (at
 * once if nothing is quarantined and no purge is in flight): for a
 * reservation whose pages were mapped under it (req.held) and are all
 * unmapped now. Returns 0 (r is no longer the caller's), or -VTLMEM_ENOMEM
 * (then r is still held by the caller), -VTLMEM_ENOENT if r is not live,
 * -VTLMEM_EINVAL for NULL vm.
 */
int vtlmem_vmap_release_after_flush(struct vtlmem_vmap *vm, vtlmem_resv_t r);

/*
 * Per-CPU slots (kmap_local style), the fast path for 1-2 page accesses.
 * Disables preemption (platform op), maps npages (1..slots_per_cpu)
 * distinct pages covered by held on this CPU's slot stack. No lock, no
 * allocation, no remote shootdown: held is checked without the table lock
 * (O(1) per page when held's ranges form one contiguous run, else O(k) for
 * k ranges), slot VAs are only used by their CPU, and slot_unmap
 * invalidates locally. Interrupt-safe (see the top of this header).
 * held must stay live until the slot is unmapped. Slots must be released
 * in reverse order of mapping, on the same CPU. Returns 0 and fills *s, or
 * (checked in this order) -VTLMEM_EINVAL (NULL, npages 0 or above
 * slots_per_cpu, bad prot/cache, unaligned or repeated page),
 * -VTLMEM_ERANGE (a page at or above 2^pa_bits of the manager's platform:
 * held may come from a table that allows wider addresses), -VTLMEM_EPERM
 * (held not live, not exclusive for RW, or not covering a page),
 * -VTLMEM_EINVAL (cpu_id >= ncpus), -VTLMEM_ENOSPC (this CPU's slot stack
 * is full); on error preemption is as before. If slots
 * are used from interrupt context, preempt_off must disable interrupts.
 */
int vtlmem_slot_map(struct vtlmem_vmap *vm, const vtlmem_paddr_t *pages, size_t npages,
		    enum vtlmem_prot prot, enum vtlmem_cache cache, vtlmem_resv_t held,
		    struct vtlmem_slot *s);

/*
 * Release a slot: clear its PTEs, invalidate locally (this CPU only),
 * re-enable preemption (s->cookie). Returns 0, or -VTLMEM_EDEADLK if s is
 * not the top of the current CPU's slot stack (wrong order, wrong CPU,
 * already released, or a stale copy: checked with s->gen): nothing
 * changes. -VTLMEM_EINVAL for NULL.
 */
int vtlmem_slot_unmap(struct vtlmem_vmap *vm, struct vtlmem_slot *s);

/* Copy out the statistics (under the lock; slot counters are per CPU). */
void vtlmem_vmap_get_stats(struct vtlmem_vmap *vm, struct vtlmem_vmap_stats *st);

/* One CPU's slot counters (vtlmem_vmap_get_cpu_stats). */
struct vtlmem_vmap_cpu_stats {
	uint64_t slot_maps;          /* slots mapped on this CPU, ever            */
	uint64_t slot_unmaps;
	uint64_t slot_flush_pages;   /* slot pages invalidated one by one         */
	uint64_t slot_flush_all;     /* whole-TLB invalidations at slot unmap     */
};

/*
 * Copy out CPU cpu's slot counters (those vtlmem_vmap_get_stats() sums
 * over all CPUs). No lock: each counter is read atomically, so a snapshot
 * taken while that CPU maps slots may mix values from before and after one
 * slot call. Returns 0, or -VTLMEM_EINVAL for NULL vm or st or cpu >= ncpus.
 * Any context.
 */
int vtlmem_vmap_get_cpu_stats(struct vtlmem_vmap *vm, unsigned cpu,
			      struct vtlmem_vmap_cpu_stats *st);

/*
 * Print the window layout (bounds, slot area, free VA, pooled handles) and
 * the statistics through puts, one line per call, no newlines, e.g.
 *   "vmap: maps 12 unmaps 10". puts runs without library locks held.
 */
void vtlmem_vmap_dump(struct vtlmem_vmap *vm, void (*puts)(void *arg, const char *line),
		      void *arg);

#endif /* VTLMEM_VMAP_H */
