/* SPDX-License-Identifier: MIT */
/*
 * hostmmu.h - a software MMU over the vmap manager's page tables, for host
 * tests: a window of host VA, a root table, a walker that decodes entries
 * independently of the library (in the arch's format: hostmmu_arch.h),
 * table snapshots, and an optional "mirror" that makes the window really
 * accessible.
 *
 * Typical use:
 *
 *	struct hostplat hp;  struct hostmmu mmu;
 *	struct vtlmem_vmap_config cfg = { .slots_per_cpu = 4 };
 *	hostplat_init(&hp, 64 << 20);
 *	hostmmu_init(&mmu, &hp, 64 << 20);           // reserve the window
 *	hostmmu_config(&mmu, &cfg);                   // cfg.base/size
 *	vtlmem_vmap_create(&hp.ops, &rt, &cfg, &vm);
 *	hostmmu_install(&mmu, vm);                    // root + top entries
 *	hostmmu_mirror_enable(&mmu);                  // optional: real accesses
 *	... vtlmem_vmap_map(), hostmmu_walk(), vtlmem_copy() through the VA ...
 *	hostmmu_fini(&mmu);                           // before destroying vm
 *
 * The window is a PROT_NONE, MAP_NORESERVE reservation in the lower half of
 * the host address space (VTLMEM_HOST builds accept lower-half windows).
 *
 * The mirror (a software TLB per simulated CPU): hostmmu_mirror_enable()
 * registers a resolver with the fault harness (fault.h). The window's host
 * memory shows the translations the CURRENT simulated CPU (hostplat.h) has
 * cached, and nothing else:
 *   - a fault inside the window on CPU c first looks at c's cached
 *     translation of that page: if c has one that allows the access, its
 *     physical page is mapped there again (whatever the page tables say
 *     now: a stale entry reaches the OLD page, exactly as on hardware);
 *     a write through a cached read-only entry drops that entry (a #PF
 *     invalidates it) and walks. Otherwise the tables are walked; if the
 *     leaf entry is present (and writable, for a write) and the fill filter
 *     agrees, c caches VA page -> PA (with the entry's writability) and the
 *     simulated physical page (hp->memfd at offset pa) is mmapped MAP_FIXED
 *     at that VA with the entry's protection, and the access is retried
 *     (fill_ahead more pages with present entries are cached too: real
 *     CPUs may cache translations speculatively). Else the library's
 *     exception-table fixup runs, as on a real #PF.
 *   - switching the current CPU (hostplat_set_cpu, or the random switches
 *     of hostplat_smp) makes every mirrored page inaccessible again; the
 *     new CPU's cached translations come back on its next access to them.
 *   - the hostplat TLB ops act per CPU (through the on_tlb_local /
 *     on_shootdown hooks the mirror sets): tlb_local(va, n) drops the
 *     CURRENT CPU's translations of those pages (n == 0: all of them);
 *     tlb_shootdown(va, len) drops those of EVERY OTHER CPU (platform.h),
 *     never the current one's.
 * So an invalidation the library forgets, on any one CPU, leaves a stale,
 * still-usable translation on that CPU, and an access through it reaches
 * the old physical page. This is exact for single-threaded tests that
 * simulate CPUs by switching the current CPU (the per-CPU model, the
 * default): only the thread that enabled the mirror may use it, and a
 * fault, an invalidation or a CPU switch from another thread aborts with a
 * pointer to hostmmu_mirror_shared().
 *
 * Threaded tests (test_*_threads.c: threads really run at the same time,
 * each as its own simulated CPU, in one host address space) call
 * hostmmu_mirror_shared() before starting threads. Then all CPUs share
 * ONE TLB: a fill by any thread is visible to all, and any invalidation
 * (a tlb_local on any CPU, or a shootdown) drops the translation for all
 * CPUs. That models a translation no invalidation at all covers before the
 * VA or the page is reused, and accesses racing with an unmap or a purge;
 * it cannot show an invalidation missing on one particular CPU (e.g. a
 * purge that skips the purging CPU): that is the per-CPU model's job.
 *
 * At most one hostmmu has the mirror enabled at a time (the fault
 * resolver and the CPU-switch hook are process-wide). Walks and snapshots
 * read entries with atomic loads (threaded tests); snapshots are for
 * single-threaded tests.
 */
#ifndef TESTS_HOSTMMU_H
#define TESTS_HOSTMMU_H

#include <vtlmem/vmap.h>
#include "hostplat.h"

/*
 * The entry format of the arch under test (tests/unit/common/arch/<arch>/
 * hostmmu_arch.h, independent of the library): the walker's geometry and
 * decoder (HMMU_LEVELS, hmmu_valid, hmmu_block, hmmu_addr, hmmu_writable)
 * and the exact entries the library must write (hmmu_leaf, hmmu_table).
 */
#include "hostmmu_arch.h"

struct hostmmu_tlb;

struct hostmmu {
	struct hostplat *hp;
	uint8_t *resv;               /* the host reservation          */
	uint64_t resv_len;
	uintptr_t base;              /* the window                    */
	uint64_t size;
	uint64_t *root;              /* root table, from hp's pt_alloc */
	vtlmem_paddr_t root_pa;
	size_t ntop;                 /* top entries installed         */
	bool mirror;
	bool shared;                 /* one TLB for all CPUs (threads) */
	unsigned fill_ahead;         /* extra pages cached per fill    */
	/* optional fill filter: false = refuse to cache a page at pa */
	bool (*fill_ok)(void *arg, uint64_t pa);
	void *fill_arg;
	struct hostmmu_tlb *tlb;     /* per-CPU TLBs (private)         */
	unsigned long fills;         /* translations cached by a walk (atomic) */
	unsigned long reinstalls;    /* cached ones mapped in again    */
	unsigned long drops;         /* invalidations seen (atomic)    */
};

/* Simulated CPUs the per-CPU model holds TLBs for (ids 0 .. this - 1). */
#define HOSTMMU_MAX_CPUS 16

/*
 * Reserve a window of size bytes (page multiple). hostmmu_init aligns its
 * base to 2 MiB; hostmmu_init_at places it so that base % align == offset
 * (align a power of two >= 4 KiB, offset < align, page-aligned), e.g. to
 * make a window straddle a 1 GiB or 512 GiB boundary. Aborts on failure.
 */
void hostmmu_init(struct hostmmu *m, struct hostplat *hp, uint64_t size);
void hostmmu_init_at(struct hostmmu *m, struct hostplat *hp, uint64_t size, uint64_t align,
		     uint64_t offset);

/* Fill cfg->base and cfg->size with the window (other fields untouched). */
void hostmmu_config(const struct hostmmu *m, struct vtlmem_vmap_config *cfg);

/*
 * Allocate the root table (hp's pt_alloc: it counts in hp->pt_live) and
 * install vtlmem_vmap_top_entries(vm) into it. Aborts on failure.
 */
void hostmmu_install(struct hostmmu *m, struct vtlmem_vmap *vm);

/* Disable the mirror, free the root table, release the window. */
void hostmmu_fini(struct hostmmu *m);

/* One walk from the root. */
struct hostmmu_walk {
	int level;          /* level of the last entry read: HMMU_LEVELS - 1 =
			     * the root .. 0 = a 4 KiB leaf */
	uint64_t entry;     /* that entry                                        */
	bool present;       /* a present 4 KiB leaf was reached                  */
	bool bad;           /* a large page or an entry pointing outside memory  */
	uint64_t pa;        /* the leaf's physical address (present only)        */
};

/* Walk va (anywhere; outside the window it stops at a non-present entry). */
void hostmmu_walk(const struct hostmmu *m, uintptr_t va, struct hostmmu_walk *w);

/* The leaf entry of va, or 0 when the walk stops above the leaf level. */
uint64_t hostmmu_pte(const struct hostmmu *m, uintptr_t va);

/* Present leaf entries in [va, va + len): count them. */
uint64_t hostmmu_count_present(const struct hostmmu *m, uintptr_t va, uint64_t len);

/*
 * Snapshot of every table page reachable from the root (root included):
 * physical address, level, first VA it maps and its bytes, sorted by pa.
 */
struct hostmmu_table {
	uint64_t pa;
	int level;
	uintptr_t va;
	uint8_t bytes[4096];
};

struct hostmmu_snap {
	size_t n;
	struct hostmmu_table *t;
};

void hostmmu_snapshot(const struct hostmmu *m, struct hostmmu_snap *s);
void hostmmu_snap_free(struct hostmmu_snap *s);

/* Byte-identical: same table pages at the same addresses with the same bytes. */
bool hostmmu_snap_equal(const struct hostmmu_snap *a, const struct hostmmu_snap *b);

/*
 * Changes from a to b that a map or unmap of [lo, hi) does not explain:
 * returns the number of 8-byte entries that differ and are neither a leaf
 * entry of a page in [lo, hi), nor a previously empty non-leaf entry over
 * [lo, hi) (a new table), plus every table page that disappeared, plus
 * every new table page that is not a leaf table whose present entries all
 * lie in [lo, hi). 0 means "nothing outside the range changed".
 */
size_t hostmmu_snap_unexplained(const struct hostmmu_snap *a, const struct hostmmu_snap *b,
				uintptr_t lo, uintptr_t hi);

/*
 * The mirror (see above). Enable calls fault_install() for the calling
 * thread (which becomes the per-CPU model's only user), sets the resolver,
 * hp's TLB hooks and the CPU-switch hook, with empty TLBs; disable clears
 * them and drops every mirrored page and cached translation.
 */
void hostmmu_mirror_enable(struct hostmmu *m);
void hostmmu_mirror_disable(struct hostmmu *m);

/*
 * Switch an enabled mirror to the shared (threaded) model: every cached
 * translation is dropped, the CPU-switch hook removed; from then on any
 * thread may fault and invalidate. Call it before starting the threads.
 */
void hostmmu_mirror_shared(struct hostmmu *m);

/*
 * Is va accessible without a fault right now? Per-CPU model: the current
 * CPU has a cached translation of its page. Shared model: a probe (the
 * host kernel reads one byte: no fault).
 */
bool hostmmu_mirrored(const struct hostmmu *m, uintptr_t va);

/*
 * Per-CPU model inspection, for tests of the model and of invalidation:
 * does cpu hold a translation of va's page? If so, *pa (if not NULL) gets
 * the physical page it points to and *rw (if not NULL) its writability.
 * Always false in the shared model.
 */
bool hostmmu_tlb_lookup(const struct hostmmu *m, unsigned cpu, uintptr_t va, uint64_t *pa,
			bool *rw);

/* Translations cpu holds now (per-CPU model; 0 in the shared model). */
uint64_t hostmmu_tlb_entries(const struct hostmmu *m, unsigned cpu);

/*
 * Drop every cached translation of every CPU (and every mirrored page), as
 * if all TLBs were flushed: e.g. when a test revokes a page behind the
 * library's back and wants the refusal to hold at once.
 */
void hostmmu_tlb_flush_all(struct hostmmu *m);

#endif
