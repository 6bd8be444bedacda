/* SPDX-License-Identifier: MIT */
/*
 * vtl0env.h - an end-to-end environment for the physptr / VTL0-call tests
 * and benchmarks: host platform (simulated physical memory), reservation
 * table, vmap manager, the host MMU mirror (so every copy goes through a
 * real mapping of the simulated page the library's page tables name, and
 * unmapped or guard pages fault for real through the exception table), and
 * a struct vtlmem_vtl0 context over them.
 *
 * vtl0env_init() enables the mirror, which installs the fault handlers: call
 * it inside the test function (cmocka replaces signal handlers around each
 * test), not in a setup function. The mirror is hostmmu's per-CPU TLB model
 * (hostmmu.h), with fill-ahead 3; threaded tests switch it to the shared
 * model with hostmmu_mirror_shared(&e->mmu) before starting threads. With
 * VTLMEM_TEST_SMP=<seed> in the environment, the platform simulates 4 CPUs
 * with a random CPU switch at every preemption point (hostplat.h).
 *
 * Test knob: vtl0env_refuse(e, pa) makes the mirror refuse to fill any VA
 * that maps physical page pa, as if the page had been taken away from
 * VTL0 under a live mapping (every CPU's cached translations are dropped):
 * an access to it faults and is fixed up by the library's exception table.
 */
#ifndef TESTS_VTL0ENV_H
#define TESTS_VTL0ENV_H

#include <vtlmem/vtl0.h>
#include "hostmmu.h"
#include "hostplat.h"

#define VTL0ENV_PHYS   (64ull << 20)
#define VTL0ENV_WINDOW (64ull << 20)
/* VTL0 pages usable by tests: page n is at HOSTPLAT_VTL0_BASE + n * 4096. */
#define VTL0ENV_PAGES  ((VTL0ENV_PHYS - HOSTPLAT_VTL0_BASE) >> VTLMEM_PAGE_SHIFT)

struct vtl0env {
	struct hostplat hp;
	struct hostmmu mmu;
	struct vtlmem_rtable rt;
	struct vtlmem_vmap *vm;
	struct vtlmem_vtl0 ctx;
	bool refuse;
	uint64_t refuse_pa;
};

/*
 * Set up everything (slots_per_cpu 0 means the vmap default) with the
 * mirror on. Aborts on failure (test infrastructure).
 */
void vtl0env_init(struct vtl0env *e, unsigned slots_per_cpu);

/*
 * The same, with adjust(ops) called on the platform ops before anything is
 * built on them (e.g. to give threaded tests pthread-mutex lock ops: a
 * ticket spinlock in user space convoys behind descheduled holders).
 */
void vtl0env_init_with(struct vtl0env *e, unsigned slots_per_cpu,
		       void (*adjust)(struct vtlmem_platform *ops));

/*
 * Tear down: mirror off, vmap destroyed (which purges the quarantine), table
 * finished. Returns 0, or the first error (e.g. -VTLMEM_EBUSY: a mapping, a
 * slot or a reservation leaked); frees everything it can either way.
 */
int vtl0env_fini(struct vtl0env *e);

/* Physical page n of VTL0 RAM, and its direct-map address. */
vtlmem_paddr_t vtl0env_page(unsigned n);
uint64_t vtl0env_pa(unsigned n);
uint8_t *vtl0env_dm(struct vtl0env *e, uint64_t pa);

/*
 * Bytes [off, off + len) of the concatenation of pages[] (as the library
 * sees a span), through the direct map: gather copies them out, scatter in.
 */
void vtl0env_gather(struct vtl0env *e, const vtlmem_paddr_t *pages, uint64_t off, void *out,
		    size_t len);
void vtl0env_scatter(struct vtl0env *e, const vtlmem_paddr_t *pages, uint64_t off,
		     const void *in, size_t len);

/* Refuse (or, with pa 0, stop refusing) to mirror physical page pa. */
void vtl0env_refuse(struct vtl0env *e, uint64_t pa);

/* State the library could change, for "no state change" assertions. */
struct vtl0env_snap {
	struct vtlmem_rtable_stats rt;
	struct vtlmem_vmap_stats vm;
	long alloc_live;
	long pt_live;
	unsigned long preempt_offs, preempt_ons;
};

void vtl0env_snap(struct vtl0env *e, struct vtl0env_snap *s);

/*
 * Same live state: reservations (handles, intervals), window mappings
 * (mapped and quarantined pages), page-table pages, preemption balance?
 * (Bookkeeping objects the table or the vmap keep cached for reuse are not
 * state; vtl0env_fini() checks that none is leaked.)
 */
bool vtl0env_same_state(const struct vtl0env_snap *a, const struct vtl0env_snap *b);

/* Same live state, and no reservation, window map or slot map was even made. */
bool vtl0env_nothing_done(const struct vtl0env_snap *a, const struct vtl0env_snap *b);

#endif
