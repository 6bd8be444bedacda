/* SPDX-License-Identifier: MIT */
/*
 * hostmmu.h - a software x86_64 MMU over the vmap manager's page tables, for
 * host tests: a window of host VA, a root (PML4) table, a walker that decodes
 * entries independently of the library, table snapshots, and an optional
 * "mirror" that makes the window really accessible.
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
 * The mirror (a software TLB): hostmmu_mirror_enable() registers a resolver
 * with the fault harness (fault.h). A fault inside the window walks the
 * tables; if the leaf entry is present (and writable, for a write) the
 * simulated physical page (hp->memfd at offset pa) is mmapped MAP_FIXED at
 * that VA with the entry's protection and the access is retried; otherwise
 * the library's exception-table fixup runs, as on a real #PF. The host
 * platform's on_tlb_local / on_shootdown hooks drop the mirrored pages
 * again (PROT_NONE over them), so an invalidation the library forgets
 * leaves a stale, still-accessible page, exactly as a stale TLB entry
 * would on hardware. The host has one address space for all simulated
 * CPUs, so every invalidation drops the pages for every thread.
 *
 * At most one hostmmu has the mirror enabled at a time (the fault
 * resolver is process-wide). Walks and snapshots read entries with atomic
 * loads (threaded tests); snapshots are for single-threaded tests.
 */
#ifndef TESTS_HOSTMMU_H
#define TESTS_HOSTMMU_H

#include <vtlmem/vmap.h>
#include "hostplat.h"

/* x86_64 entry bits, as the walker decodes them (independent of the library). */
#define HMMU_P    (1ull << 0)
#define HMMU_RW   (1ull << 1)
#define HMMU_US   (1ull << 2)
#define HMMU_PWT  (1ull << 3)
#define HMMU_PCD  (1ull << 4)
#define HMMU_A    (1ull << 5)
#define HMMU_D    (1ull << 6)
#define HMMU_PS   (1ull << 7)   /* non-leaf levels: large page; PT level: PAT */
#define HMMU_G    (1ull << 8)
#define HMMU_NX   (1ull << 63)
#define HMMU_ADDR 0x000ffffffffff000ull

struct hostmmu {
	struct hostplat *hp;
	uint8_t *resv;               /* the host reservation          */
	uint64_t resv_len;
	uintptr_t base;              /* the window                    */
	uint64_t size;
	uint64_t *root;              /* PML4, from hp's pt_alloc      */
	vtlmem_paddr_t root_pa;
	size_t ntop;                 /* top entries installed         */
	bool mirror;
	unsigned long fills;         /* pages mirrored in (atomic)    */
	unsigned long drops;         /* invalidations seen (atomic)   */
};

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
	int level;          /* level of the last entry read: 3 = PML4 .. 0 = PTE */
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
 * thread and sets the resolver and hp's TLB hooks; disable clears them and
 * drops every mirrored page.
 */
void hostmmu_mirror_enable(struct hostmmu *m);
void hostmmu_mirror_disable(struct hostmmu *m);

/* Is va currently backed by a mirrored page (mincore-free check: a probe)? */
bool hostmmu_mirrored(const struct hostmmu *m, uintptr_t va);

#endif
