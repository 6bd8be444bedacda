/* SPDX-License-Identifier: MIT */
/*
 * Host platform for unit tests and benchmarks: a struct vtlmem_platform
 * backed by simulated physical memory, with counters and fault injection.
 *
 * Simulated physical memory is a memfd of phys_size bytes, mapped once at
 * hp->phys (the "direct map": physical address pa is at hp->phys + pa).
 * Default layout (hostplat_init):
 *   [0, 1 MiB)            secure, never handed out (page 0 lives here)
 *   [1 MiB, 16 MiB)       secure: page-table pages come from here
 *   [16 MiB, phys_size)   VTL0 RAM (the ownership op answers VTL0)
 * The ownership policy is separate from the memory: vtl0_start/vtl0_end
 * may be widened (e.g. to 2^52) for tests that only reserve, and extra
 * secure ranges can be added inside VTL0.
 *
 * Fault injection: fail_alloc_at / fail_pt_at = N makes the N-th following
 * call fail (1 = the next one); 0 disables. fail_shootdowns = N makes the
 * next N shootdowns fail. Counters are atomic (threaded tests).
 *
 * Simulated CPUs. The current CPU is per thread (hostplat_set_cpu, default
 * 0): cpu_id answers it, and the hostmmu mirror keeps one TLB per CPU
 * (hostmmu.h), so switching it changes which cached translations an access
 * sees. The TLB ops act on CPUs: tlb_local invalidates the CURRENT CPU,
 * tlb_shootdown every CPU but the current one (platform.h), through the
 * on_tlb_local / on_shootdown hooks the mirror sets.
 *
 * Simulated SMP (hostplat_smp): smp_ncpus CPUs and a random CPU switch at
 * every preemption point of the thread that turned the mode on: at the
 * entry of every platform op it calls while its preemption is on (the
 * preempt_off/preempt_on depth is tracked per thread; preempt_off switches
 * before disabling), and in preempt_on once the depth is back to 0 (after
 * re-enabling). So the library may be migrated at every point where it
 * hands control to the platform with preemption on, and never while it
 * holds preemption off (a migration in the middle of a copy, between two
 * ops, is not simulated; tests can add points with
 * hostplat_preemption_point). The CPU is drawn by a deterministic PRNG
 * from the seed; a failing process prints the seed (VTLMEM_TEST_SMP=<seed>
 * reproduces a suite run). hostplat_init turns the mode on
 * with 4 CPUs when the environment variable VTLMEM_TEST_SMP is set to a
 * seed (a decimal number), so whole suites run on it unchanged. A test that
 * inherently needs a fixed CPU (e.g. it checks that a slot is refused on
 * the wrong CPU) wraps that part in hostplat_pin / hostplat_unpin. Other
 * threads never switch (threaded tests run real concurrency instead).
 *
 * Negative controls (test-only switches): skip_tlb_local makes tlb_local
 * count and log the call but invalidate nothing (the on_tlb_local hook is
 * not called); skip_shootdown_invalidate makes a shootdown succeed (count
 * it, return 0) without invalidating anything (on_shootdown not called).
 */
#ifndef HOSTPLAT_H
#define HOSTPLAT_H

#include <vtlmem/platform.h>

#define HOSTPLAT_MAX_SECURE 16
#define HOSTPLAT_TLB_LOG 256
#define HOSTPLAT_PT_BASE  (1ull << 20)
#define HOSTPLAT_PT_END   (16ull << 20)
#define HOSTPLAT_VTL0_BASE (16ull << 20)
/* The widest physical address an entry of the host arch holds (arch/<arch>/). */
#if defined(__aarch64__)
#define HOSTPLAT_PA_BITS 48u
#else
#define HOSTPLAT_PA_BITS 52u
#endif

struct hostplat_tlb_event {
	uintptr_t va;
	uint64_t npages;   /* 0 = whole local TLB */
};

struct hostplat {
	struct vtlmem_platform ops;

	/* simulated physical memory */
	int memfd;
	uint8_t *phys;
	uint64_t phys_size;

	/* ownership policy */
	uint64_t vtl0_start, vtl0_end;
	struct vtlmem_range secure[HOSTPLAT_MAX_SECURE];
	unsigned nsecure;
	unsigned long ownership_calls;

	/* bookkeeping allocator */
	long fail_alloc_at;
	unsigned long allocs, frees, alloc_fails;
	long alloc_live;

	/* page-table pages: a stack of free page addresses in [PT_BASE, PT_END) */
	uint64_t *pt_free_stack;
	size_t pt_nfree, pt_cap;
	uint8_t *pt_used;          /* 1 byte per PT page: live? (double-free check) */
	long fail_pt_at;
	unsigned long pt_allocs, pt_frees, pt_fails;
	long pt_live;

	/* TLB */
	unsigned long tlb_local_calls, tlb_local_pages, tlb_local_all;
	struct hostplat_tlb_event tlb_log[HOSTPLAT_TLB_LOG];
	unsigned long tlb_log_n;   /* events ever logged; log holds the last 256 */
	unsigned long shootdowns, shootdown_fails;
	long fail_shootdowns;
	uintptr_t last_shootdown_va;
	uint64_t last_shootdown_len;
	/* optional hooks (e.g. the MMU mirror drops its cached pages) */
	void (*on_tlb_local)(struct hostplat *hp, uintptr_t va, uint64_t npages);
	void (*on_shootdown)(struct hostplat *hp, uintptr_t va, uint64_t len);

	/* protect */
	long fail_protect_at;
	unsigned long protects, unprotects;
	long protected_live;

	/* preemption */
	unsigned long preempt_offs, preempt_ons;

	/* simulated SMP (hostplat_smp) */
	bool smp;                  /* random CPU switches at preemption points */
	unsigned smp_ncpus;
	unsigned long smp_seed;
	uint64_t smp_rng;          /* PRNG state                              */
	unsigned long smp_owner;   /* thread that switches (pthread_t)        */
	int smp_pin;               /* > 0: no switches (hostplat_pin)         */
	unsigned long smp_points;  /* preemption points passed                */
	unsigned long smp_switches;/* of which changed the current CPU        */

	/* negative controls (see above) */
	bool skip_tlb_local;
	bool skip_shootdown_invalidate;
};

/*
 * Set up hp with phys_size bytes of simulated physical memory (a multiple of
 * 2 MiB, >= 32 MiB), every op filled in (protect ops included; set them to
 * NULL in the test if unwanted), ncpus 4, pa_bits HOSTPLAT_PA_BITS (52 on
 * x86_64, 48 on aarch64), page 0 not allowed.
 * Aborts on host failure (test infrastructure).
 */
void hostplat_init(struct hostplat *hp, uint64_t phys_size);
void hostplat_fini(struct hostplat *hp);

/* Add [pa, pa + len) to the secure (VTL1-owned) ranges. */
void hostplat_add_secure(struct hostplat *hp, uint64_t pa, uint64_t len);

/* Direct-map address of physical address pa (must be inside phys_size). */
void *hostplat_va(struct hostplat *hp, uint64_t pa);

/*
 * Which simulated CPU the calling thread is (default 0). Setting it runs
 * the CPU-switch hook (the mirror's: it swaps the visible TLB) when the CPU
 * changes.
 */
void hostplat_set_cpu(unsigned cpu);
unsigned hostplat_get_cpu(void);

/*
 * The CPU-switch hook, called by hostplat_set_cpu (on the calling thread)
 * with the old and the new CPU whenever the CPU changes; NULL clears it.
 * One process-wide hook (hostmmu's mirror sets it).
 */
void hostplat_set_cpu_hook(void (*fn)(unsigned from, unsigned to));

/* The calling thread's preemption depth (preempt_off calls not yet undone). */
unsigned hostplat_preempt_depth(void);

/*
 * Simulated SMP (see above): ops.ncpus = ncpus (>= 1; the random mode is
 * meant for >= 3), random switches from now on, on the calling thread,
 * PRNG seeded with seed, smp_points and smp_switches zeroed. Calling it
 * again re-seeds. hostplat_smp_off stops the switches (ops.ncpus stays).
 */
void hostplat_smp(struct hostplat *hp, unsigned ncpus, unsigned long seed);
void hostplat_smp_off(struct hostplat *hp);

/* The seed VTLMEM_TEST_SMP asks for: true and *seed, or false if unset. */
bool hostplat_smp_env(unsigned long *seed);

/*
 * A preemption point outside the library (e.g. a timer interrupt between
 * two accesses of a test): in SMP mode, unpinned, with preemption on, the
 * calling thread may move to another CPU, as at a platform op.
 */
void hostplat_preemption_point(struct hostplat *hp);

/*
 * Pin the calling thread to its current CPU (no random switches) until the
 * matching unpin; nests. For tests that inherently need a fixed CPU.
 */
void hostplat_pin(struct hostplat *hp);
void hostplat_unpin(struct hostplat *hp);

#endif
