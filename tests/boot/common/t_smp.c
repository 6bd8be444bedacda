// SPDX-License-Identifier: MIT
/*
 * Many CPUs at once on the real (emulated) MMU: every online CPU works at
 * the same time (QEMU -smp 4 -accel tcg,thread=multi: one host thread per
 * vCPU, each with its own TLB), and every byte is checked against the
 * direct map. The cases:
 *   - the platform: the shootdown IPI invalidates other CPUs' TLBs (and
 *     without it they
 *     keep the stale translation: QEMU's TLBs are per vCPU and hold an
 *     entry until that vCPU invalidates it); concurrent shootdowns with
 *     interrupts off complete (and deadlock without mailbox polling);
 *   - reservations contended by all CPUs, shadowed to prove two writers or
 *     a writer and a reader never overlap (and the shadow catches overlap
 *     when nothing is reserved);
 *   - per-CPU slots on every CPU at once;
 *   - stale translations: a VA reused after a purge never shows the old
 *     page on any CPU (negative control: with the IPIs skipped it does);
 *   - the purging CPU's own TLB (issue 9, defect 1): a mapping used on CPU
 *     1, unmapped on CPU 0 and purged on CPU 1; the ring re-init of the
 *     issue's reproduction; a persistent physical pointer destroyed on one
 *     CPU and purged from another;
 *   - a CPU that stops answering IPIs: the purge fails with -EIO and
 *     nothing is reused until it answers again;
 *   - the log ring written from every CPU at once;
 *   - one-shot VTL0 reads and writes from every CPU at once on the same
 *     pages (page claims; negative control: claims that ignore each other).
 * On one CPU the cases that need more are reported as skipped.
 */
#include <vtlmem/copy.h>
#include <vtlmem/physptr.h>
#include <vtlmem/vtl0.h>

#include "ktest.h"
#include "kvtl.h"

#define NEED_CPUS(n)                                                          \
	do {                                                                  \
		if (smp_ncpus < (n))                                          \
			KTEST_SKIP("needs " #n " CPUs");                      \
	} while (0)

/* A test's phases, published by the CPU driving it (release / acquire). */
static unsigned phase;

static void set_phase(unsigned p)
{
	__atomic_store_n(&phase, p, __ATOMIC_RELEASE);
}

static unsigned get_phase(void)
{
	return __atomic_load_n(&phase, __ATOMIC_ACQUIRE);
}

/* Start fn on every AP; wait for all of them. */
static void start_aps(smp_fn fn, void *arg)
{
	unsigned c;

	set_phase(0);
	for (c = 1; c < smp_ncpus; c++)
		smp_start(c, fn, arg);
}

static void wait_aps(void)
{
	unsigned c;

	for (c = 1; c < smp_ncpus; c++)
		smp_wait(c);
}

/* Wait until *counter reaches want (acquire), bounded, servicing IPIs. */
static void wait_count(const uint64_t *counter, uint64_t want, const char *what)
{
	uint64_t deadline = cycles() + us_to_cycles(120000000UL);

	while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < want) {
		smp_poll();
		if (cycles() > deadline)
			panic("waited 120 s for %s", what);
		cpu_relax();
	}
}

static void inc(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_ACQ_REL);
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static struct vtlmem_vmap_stats stats(void)
{
	struct vtlmem_vmap_stats st;

	vtlmem_vmap_get_stats(kv_vm, &st);
	return st;
}

static int map1(vtlmem_paddr_t p, enum vtlmem_prot prot, struct vtlmem_mapping **m,
		uintptr_t *va)
{
	struct vtlmem_map_req req = {
		.pages = &p, .npages = 1, .prot = prot, .cache = VTLMEM_CACHE_WB,
	};
	vtlmem_vaddr_t v = vtlmem_va(0);
	int err = vtlmem_vmap_map(kv_vm, &req, m, &v);

	*va = vtlmem_va_val(v);
	return err;
}

/* The first 8 bytes of physical page pa, through the direct map. */
static uint64_t dm_u64(uint64_t pa)
{
	return *(volatile uint64_t *)phys_to_virt(pa);
}

/* Does a load through va fault on this CPU (without touching *out)? */
static bool load_faults(uintptr_t va)
{
	uint64_t v = 0x7777;

	return vtlmem_load64((const void *)va, &v) == -VTLMEM_EFAULT && v == 0x7777;
}

/* ---- the platform: the shootdown IPI on the emulated TLBs ---- */

#define SD_PROBE (PROBE_BASE + 0x10000000UL)   /* mapped by hand, not by the library */

struct probe_run {
	uint64_t vp, vq;                /* first 8 bytes of P and Q */
	uint64_t cached;                /* readers that read P through the probe */
	uint64_t after[MAX_CPUS];       /* reads after the switch */
	uint64_t stale[MAX_CPUS];       /* ... that still returned P */
	uint64_t fresh[MAX_CPUS];       /* ... that returned Q */
};
static struct probe_run pr;

enum { PH_GO = 1, PH_SWITCHED, PH_DONE };

/* Read SD_PROBE in a loop: P before the switch, and what after it? */
static void probe_reader(unsigned cpu, void *arg)
{
	bool cached = false;
	unsigned ph;
	uint64_t v;

	(void)arg;
	while (get_phase() < PH_GO)
		smp_poll();
	while ((ph = get_phase()) != PH_DONE) {
		if (vtlmem_load64((const void *)SD_PROBE, &v))
			continue;
		if (ph < PH_SWITCHED) {
			if (v == pr.vp && !cached) {
				cached = true;
				inc(&pr.cached);
			}
			continue;
		}
		pr.stale[cpu] += v == pr.vp;
		pr.fresh[cpu] += v == pr.vq;
		inc(&pr.after[cpu]);
	}
}

/*
 * Map P at SD_PROBE, let every other CPU read it (caching the
 * translation), point its entry at Q with a local invalidation only, then run
 * shoot(), and let the readers read again: returns how many reads after
 * the switch still showed P, summed over the readers.
 */
static uint64_t probe_switch(int (*shoot)(void), int *shoot_ret)
{
	uint64_t p = vtl0_pa(20010), q = vtl0_pa(20011), stale = 0;
	unsigned c;

	vtl0_fill(p, PAGE_SIZE, 1);
	vtl0_fill(q, PAGE_SIZE, 2);
	memset(&pr, 0, sizeof(pr));
	pr.vp = dm_u64(p);
	pr.vq = dm_u64(q);
	kmap_page(SD_PROBE, p, KMAP_RO);
	start_aps(probe_reader, NULL);
	set_phase(PH_GO);
	wait_count(&pr.cached, smp_ncpus - 1, "the readers to cache P");
	kmap_page(SD_PROBE, q, KMAP_RO);        /* invalidated here only */
	*shoot_ret = shoot();
	set_phase(PH_SWITCHED);
	for (c = 1; c < smp_ncpus; c++)
		wait_count(&pr.after[c], 2000, "reads after the switch");
	set_phase(PH_DONE);
	wait_aps();
	for (c = 1; c < smp_ncpus; c++) {
		stale += pr.stale[c];
		if (!pr.fresh[c] && !pr.stale[c])
			ktest_fail(__FILE__, __LINE__, "cpu %u read neither P nor Q", c);
	}
	kmap_page(SD_PROBE, 0, KMAP_NONE);
	smp_flush_all_cpus();
	return stale;
}

static int shoot_one_page(void)
{
	return smp_shootdown(SD_PROBE, PAGE_SIZE);
}

static int shoot_wide(void)             /* 64 pages: a whole-TLB flush on the targets */
{
	return smp_shootdown(SD_PROBE - 32 * PAGE_SIZE, 64 * PAGE_SIZE);
}

static int shoot_nothing(void)
{
	return 0;
}

/* After the IPI round no other CPU reads through the old translation. */
KTEST(smp_shootdown_ipi_invalidates_the_range_on_every_other_cpu)
{
	uint64_t acks0 = SMP_SUM(acks), ipis0 = SMP_SUM(ipis_received);
	int ret = -1;

	NEED_CPUS(2);
	CHECK_EQ(probe_switch(shoot_one_page, &ret), 0);
	CHECK_INT(ret, 0);
	CHECK_EQ(probe_switch(shoot_wide, &ret), 0);
	CHECK_INT(ret, 0);
	/* two rounds, each acknowledged by every other CPU (IPI or mailbox poll) */
	CHECK(SMP_SUM(acks) >= acks0 + 2 * (smp_ncpus - 1));
	CHECK(SMP_SUM(ipis_received) >= ipis0 + 2 * (smp_ncpus - 1));
}

/*
 * Negative control of the case above (and of every stale-translation case
 * below): without the IPI the other CPUs keep reading P through the
 * translation they cached, because QEMU keeps a vCPU's TLB entries until
 * that vCPU invalidates them. So the emulated MMU does show a missing
 * shootdown, and the readers' check sees it.
 */
KTEST(smp_without_the_ipi_other_cpus_keep_the_stale_translation)
{
	int ret = -1;

	NEED_CPUS(2);
	CHECK(probe_switch(shoot_nothing, &ret) > 0);
}

/* ---- the platform: concurrent shootdowns with interrupts off ---- */

struct storm {
	struct smp_barrier go;
	uint64_t rounds[MAX_CPUS], fails[MAX_CPUS];
	unsigned stop;
	unsigned max_rounds;
};
static struct storm st_storm;

/* Shoot down in a loop with interrupts off, as the library's purge does. */
static void storm_fn(unsigned cpu, void *arg)
{
	struct storm *s = arg;
	unsigned long flags;
	unsigned i;

	smp_barrier_wait(&s->go);
	flags = irq_save();
	for (i = 0; i < s->max_rounds && !__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE); i++) {
		s->rounds[cpu]++;
		if (smp_shootdown(SD_PROBE, PAGE_SIZE)) {
			s->fails[cpu]++;
			__atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
		}
	}
	irq_restore(flags);
}

static uint64_t storm(unsigned max_rounds)
{
	uint64_t fails = 0;
	unsigned c;

	memset(&st_storm, 0, sizeof(st_storm));
	st_storm.go.n = smp_ncpus;
	st_storm.max_rounds = max_rounds;
	smp_run(storm_fn, &st_storm);
	for (c = 0; c < smp_ncpus; c++)
		fails += st_storm.fails[c];
	return fails;
}

/*
 * Every CPU shoots down at every other one at the same time, interrupts
 * off: each sender services the requests addressed to it while it waits,
 * so all complete.
 */
KTEST(smp_concurrent_shootdowns_with_interrupts_off_all_complete)
{
	uint64_t timeouts0 = SMP_SUM(sd_timeouts);
	unsigned c;

	NEED_CPUS(2);
	CHECK_EQ(storm(100), 0);
	for (c = 0; c < smp_ncpus; c++)
		CHECK_EQ(st_storm.rounds[c], 100);
	CHECK_EQ(SMP_SUM(sd_timeouts), timeouts0);
}

/*
 * Negative control: with the senders not polling their own mailbox
 * (smp_sw.no_poll) the same storm deadlocks, each sender waiting for a CPU
 * that waits for it with interrupts off; the bounded wait turns that into
 * -EIO (after 20 ms here) instead of a hang.
 */
KTEST(smp_concurrent_shootdowns_deadlock_without_mailbox_polling)
{
	NEED_CPUS(2);
	smp_sw.no_poll = true;
	smp_sw.sd_timeout_us = 20000;
	CHECK(storm(100000) > 0);
	smp_sw.no_poll = false;
	smp_sw.sd_timeout_us = SD_TIMEOUT_US_DEFAULT;
	smp_flush_all_cpus();   /* and let everyone catch up on requests */
}

/* ---- reservations contended by every CPU ---- */

#define CT_FIRST 20100
#define CT_PAGES 16

struct contention {
	struct smp_barrier go;
	bool fake;                      /* negative control: reserve nothing */
	unsigned min_iters, max_iters;  /* past min: stop once the point is made */
	unsigned iters[MAX_CPUS];
	uint32_t writers[CT_PAGES], readers[CT_PAGES];   /* the shadow */
	uint64_t overlaps;              /* shadow violations */
	uint64_t bad_bytes;             /* pages whose bytes were not as written */
	uint64_t ok[MAX_CPUS][2], busy[MAX_CPUS][2];  /* [mode] */
	uint64_t other_err[MAX_CPUS];
};
static struct contention ct;
static uint8_t ct_buf[MAX_CPUS][PAGE_SIZE] __attribute__((aligned(64)));

/* A page "whole": tag in bytes 0-7, its pa in 8-15, then a function of both. */
static void ct_pattern(uint8_t *b, uint64_t tag, uint64_t pa)
{
	size_t i;

	memcpy(b, &tag, 8);
	memcpy(b + 8, &pa, 8);
	for (i = 16; i < PAGE_SIZE; i++)
		b[i] = (uint8_t)(tag * 31 + i * 7 + (tag >> 8));
}

static bool ct_whole(const uint8_t *b, uint64_t pa)
{
	static uint8_t want[MAX_CPUS][PAGE_SIZE];
	uint8_t *w = want[smp_cpu_id()];
	uint64_t tag;

	memcpy(&tag, b, 8);
	ct_pattern(w, tag, pa);
	return !memcmp(w, b, PAGE_SIZE);
}

static void shadow_enter(unsigned first, unsigned n, bool excl)
{
	unsigned i;

	for (i = first; i < first + n; i++) {
		if (excl) {
			if (__atomic_add_fetch(&ct.writers[i], 1, __ATOMIC_ACQ_REL) != 1 ||
			    __atomic_load_n(&ct.readers[i], __ATOMIC_ACQUIRE))
				inc(&ct.overlaps);
		} else {
			__atomic_add_fetch(&ct.readers[i], 1, __ATOMIC_ACQ_REL);
			if (__atomic_load_n(&ct.writers[i], __ATOMIC_ACQUIRE))
				inc(&ct.overlaps);
		}
	}
}

static void shadow_leave(unsigned first, unsigned n, bool excl)
{
	unsigned i;

	for (i = first; i < first + n; i++)
		__atomic_sub_fetch(excl ? &ct.writers[i] : &ct.readers[i], 1, __ATOMIC_ACQ_REL);
}

/*
 * While holding [first, first + n): a writer writes each page whole through
 * a slot and finds exactly its bytes through the direct map; a reader
 * reads each page through a slot and finds the direct map's bytes, a whole
 * page of one writer. (Fake mode: the same through the direct map.)
 */
static void ct_hold(unsigned cpu, unsigned first, unsigned n, bool excl, vtlmem_resv_t h,
		    uint64_t tag)
{
	uint8_t *b = ct_buf[cpu];
	struct vtlmem_slot s;
	unsigned i;

	for (i = first; i < first + n; i++) {
		uint64_t pa = vtl0_pa(CT_FIRST + i);
		vtlmem_paddr_t p = vtlmem_pa(pa);
		uint8_t *dm = phys_to_virt(pa);

		if (excl) {
			ct_pattern(b, tag, pa);
			if (ct.fake) {
				memcpy(dm, b, PAGE_SIZE);
			} else if (vtlmem_slot_map(kv_vm, &p, 1, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, h,
						   &s) == 0) {
				if (vtlmem_copy((void *)vtlmem_va_val(s.va), b, PAGE_SIZE))
					inc(&ct.bad_bytes);
				vtlmem_slot_unmap(kv_vm, &s);
			} else {
				inc(&ct.bad_bytes);
			}
			if (memcmp(dm, b, PAGE_SIZE))
				inc(&ct.bad_bytes);
		} else {
			if (ct.fake) {
				memcpy(b, dm, PAGE_SIZE);
			} else if (vtlmem_slot_map(kv_vm, &p, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, h,
						   &s) == 0) {
				if (vtlmem_copy(b, (const void *)vtlmem_va_val(s.va), PAGE_SIZE))
					inc(&ct.bad_bytes);
				vtlmem_slot_unmap(kv_vm, &s);
			} else {
				inc(&ct.bad_bytes);
			}
			if (memcmp(dm, b, PAGE_SIZE) || !ct_whole(b, pa))
				inc(&ct.bad_bytes);
		}
	}
}

/*
 * Has the run shown what it is for: some -EBUSY (real), some overlap
 * (fake)? Until then CPUs go on past min_iters (host threads need not run
 * at the same time on a loaded host), so the checks below cannot flake.
 */
static bool contended(void)
{
	uint64_t busy = 0;
	unsigned c;

	if (ct.fake)
		return __atomic_load_n(&ct.overlaps, __ATOMIC_RELAXED) > 0;
	for (c = 0; c < smp_ncpus; c++)
		busy += __atomic_load_n(&ct.busy[c][0], __ATOMIC_RELAXED) +
			__atomic_load_n(&ct.busy[c][1], __ATOMIC_RELAXED);
	return busy > 0 || smp_ncpus == 1;
}

static void contend(unsigned cpu, void *arg)
{
	uint64_t seed = 0x9e3779b97f4a7c15UL * (cpu + 1), r;
	vtlmem_resv_t h = { 0 };
	struct vtlmem_range range;
	unsigned it, first, n;
	bool excl;
	int err;

	(void)arg;
	smp_barrier_wait(&ct.go);
	for (it = 0; it < ct.max_iters; it++) {
		if (it >= ct.min_iters && contended())
			break;
		r = xorshift(&seed);
		first = (unsigned)(r % CT_PAGES);
		n = 1 + (unsigned)((r >> 8) % 4);
		if (first + n > CT_PAGES)
			n = CT_PAGES - first;
		excl = (r >> 16) & 1;
		range.pa = vtlmem_pa(vtl0_pa(CT_FIRST + first));
		range.len = n * PAGE_SIZE;
		err = ct.fake ? 0 : vtlmem_reserve(&kv_rt, &range, 1,
				excl ? VTLMEM_RES_EXCLUSIVE : VTLMEM_RES_SHARED, &h, NULL);
		if (err == -VTLMEM_EBUSY) {
			__atomic_fetch_add(&ct.busy[cpu][excl], 1, __ATOMIC_RELAXED);
			continue;
		}
		if (err) {
			ct.other_err[cpu]++;
			continue;
		}
		ct.ok[cpu][excl]++;
		shadow_enter(first, n, excl);
		ct_hold(cpu, first, n, excl, h, ((uint64_t)cpu << 32) | it);
		shadow_leave(first, n, excl);
		if (!ct.fake && vtlmem_release(&kv_rt, h))
			ct.other_err[cpu]++;
	}
	ct.iters[cpu] = it;
}

static void contention_run(bool fake, unsigned min_iters, unsigned max_iters)
{
	unsigned i;

	memset(&ct, 0, sizeof(ct));
	ct.go.n = smp_ncpus;
	ct.fake = fake;
	ct.min_iters = min_iters;
	ct.max_iters = max_iters;
	for (i = 0; i < CT_PAGES; i++)          /* every page starts whole */
		ct_pattern(phys_to_virt(vtl0_pa(CT_FIRST + i)), 0xffUL << 32,
			   vtl0_pa(CT_FIRST + i));
	smp_run(contend, NULL);
}

/*
 * All CPUs reserve random overlapping ranges of 16 pages, exclusive or
 * shared, in a loop, and use each range while they hold it. A shadow count
 * per page (writers, readers; entered after the reservation succeeded and
 * left before it is released) proves that two writers, or a writer and a
 * reader, never held a page at the same time; the bytes prove no one wrote
 * under a reader or another writer. The -EBUSY counts are reported (and
 * with several CPUs must not be zero: otherwise nothing was contended;
 * each CPU runs 200 rounds, more, up to 20000, until some -EBUSY is seen).
 */
KTEST(smp_reservations_contended_by_every_cpu_never_overlap)
{
	uint64_t busy = 0;
	unsigned c;

	kv_init();
	contention_run(false, 200, 20000);
	for (c = 0; c < smp_ncpus; c++) {
		kprintf("    cpu %u: reserved %lu exclusive + %lu shared, -EBUSY %lu exclusive + "
			"%lu shared\n", c, ct.ok[c][1], ct.ok[c][0], ct.busy[c][1], ct.busy[c][0]);
		busy += ct.busy[c][0] + ct.busy[c][1];
		CHECK_EQ(ct.other_err[c], 0);
		CHECK_EQ(ct.ok[c][0] + ct.ok[c][1] + ct.busy[c][0] + ct.busy[c][1], ct.iters[c]);
		CHECK(ct.iters[c] >= 200);
	}
	CHECK_EQ(ct.overlaps, 0);
	CHECK_EQ(ct.bad_bytes, 0);
	if (smp_ncpus > 1)
		CHECK(busy > 0);
	CHECK_EQ(kv_rt.handles, 0);
}

/*
 * Negative control of the shadow: the same loop reserving nothing (every
 * "reserve" succeeds) must be caught overlapping (the CPUs go on until it
 * is, up to 100000 rounds each).
 */
KTEST(smp_reservation_shadow_catches_overlap_without_reservations)
{
	NEED_CPUS(2);
	kv_init();
	contention_run(true, 0, 100000);
	CHECK(ct.overlaps > 0);
}

/* ---- per-CPU slots on every CPU at once ---- */

#define SL_OWN    20200         /* + 4 * cpu: two pages of its own */
#define SL_SHARED 20240         /* four pages every CPU reads */

struct slot_run {
	struct smp_barrier go;
	uint64_t bad[MAX_CPUS], maps[MAX_CPUS];
};
static struct slot_run sr;
static uint8_t sl_buf[MAX_CPUS][2 * PAGE_SIZE] __attribute__((aligned(64)));

static uintptr_t slot_va_expected(unsigned cpu, unsigned first)
{
	uintptr_t slot_base = VMAP_BASE + VMAP_SIZE - (uint64_t)smp_ncpus * 9 * PAGE_SIZE;

	return slot_base + ((uint64_t)cpu * 9 + first) * PAGE_SIZE;     /* 8 slots + guard */
}

static void slot_worker(unsigned cpu, void *arg)
{
	vtlmem_paddr_t own[2] = { vtl0_page(SL_OWN + 4 * cpu + 1), vtl0_page(SL_OWN + 4 * cpu) };
	struct vtlmem_range r_own = { vtl0_page(SL_OWN + 4 * cpu), 2 * PAGE_SIZE };
	struct vtlmem_range r_sh = { vtl0_page(SL_SHARED), 4 * PAGE_SIZE };
	uint8_t *b = sl_buf[cpu];
	struct vtlmem_slot s1, s2;
	vtlmem_resv_t ho, hs;
	unsigned it, i;

	(void)arg;
	if (vtlmem_reserve(&kv_rt, &r_own, 1, VTLMEM_RES_EXCLUSIVE, &ho, NULL) ||
	    vtlmem_reserve(&kv_rt, &r_sh, 1, VTLMEM_RES_SHARED, &hs, NULL)) {
		sr.bad[cpu] = ~0UL;
		return;
	}
	smp_barrier_wait(&sr.go);
	for (it = 0; it < 300; it++) {
		vtlmem_paddr_t sh = vtl0_page(SL_SHARED + it % 4);

		for (i = 0; i < 2 * PAGE_SIZE; i++)
			b[i] = (uint8_t)(cpu * 67 + it * 13 + i);
		if (vtlmem_slot_map(kv_vm, own, 2, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, ho, &s1)) {
			sr.bad[cpu]++;
			continue;
		}
		if (s1.cpu != cpu || vtlmem_va_val(s1.va) != slot_va_expected(cpu, 0))
			sr.bad[cpu]++;
		if (vtlmem_copy((void *)vtlmem_va_val(s1.va), b, 2 * PAGE_SIZE))
			sr.bad[cpu]++;
		if (!vtlmem_slot_map(kv_vm, &sh, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, hs, &s2)) {
			if (vtlmem_va_val(s2.va) != slot_va_expected(cpu, 2) ||
			    vtlmem_copy(b, (const void *)vtlmem_va_val(s2.va), PAGE_SIZE) ||
			    memcmp(b, phys_to_virt(vtlmem_pa_val(sh)), PAGE_SIZE))
				sr.bad[cpu]++;
			vtlmem_slot_unmap(kv_vm, &s2);
		} else {
			sr.bad[cpu]++;
		}
		if (vtlmem_slot_unmap(kv_vm, &s1))
			sr.bad[cpu]++;
		sr.maps[cpu] += 2;
		for (i = 0; i < 2 * PAGE_SIZE; i++)     /* own pages, through the direct map */
			if (((uint8_t *)phys_to_virt(vtlmem_pa_val(own[i / PAGE_SIZE])))
				    [i % PAGE_SIZE] != (uint8_t)(cpu * 67 + it * 13 + i))
				break;
		if (i != 2 * PAGE_SIZE)
			sr.bad[cpu]++;
	}
	vtlmem_release(&kv_rt, ho);
	vtlmem_release(&kv_rt, hs);
}

/*
 * Every CPU maps its own two pages (a 2-page slot, written) and, nested on
 * top, one of four pages all CPUs share (read), 300 times, all at once: each
 * CPU's slots sit at its own slot VAs, every byte written lands in that
 * CPU's pages, every byte read is the shared page's. (No switch can make two
 * CPUs share a slot stack without corrupting the library's per-CPU state;
 * the distinct bytes per CPU and page would show any cross-CPU write.)
 */
KTEST(smp_slots_map_on_every_cpu_at_once)
{
	struct vtlmem_vmap_stats st0;
	uint64_t maps = 0;
	unsigned c;

	kv_init();
	for (c = 0; c < 4; c++)
		vtl0_fill(vtl0_pa(SL_SHARED + c), PAGE_SIZE, 40 + c);
	memset(&sr, 0, sizeof(sr));
	sr.go.n = smp_ncpus;
	st0 = stats();
	smp_run(slot_worker, NULL);
	for (c = 0; c < smp_ncpus; c++) {
		CHECK_EQ(sr.bad[c], 0);
		maps += sr.maps[c];
	}
	CHECK_EQ(stats().slot_maps, st0.slot_maps + maps);
	CHECK_EQ(stats().remote_shootdowns, st0.remote_shootdowns);
	for (c = 0; c < 4; c++)
		CHECK(vtl0_check(vtl0_pa(SL_SHARED + c), PAGE_SIZE, 40 + c));
}

/* ---- stale translations of reused VA ---- */

struct stale_run {
	uintptr_t va;
	uint64_t vp, vq;
	uint64_t p, q;                  /* physical pages */
	uint64_t cached;
	uint64_t after[MAX_CPUS], stale[MAX_CPUS], fresh[MAX_CPUS], faults[MAX_CPUS];
	uint64_t page_checks[MAX_CPUS], bad_pages[MAX_CPUS];
};
static struct stale_run sx;
static uint8_t sx_buf[MAX_CPUS][PAGE_SIZE] __attribute__((aligned(64)));

enum { SX_READ = 1, SX_PURGED, SX_REMAPPED, SX_DONE };

/* A reader: P before the purge; after it only Q's bytes or a fault. */
static void stale_reader(unsigned cpu, void *arg)
{
	bool cached = false;
	unsigned ph;
	uint64_t v;

	(void)arg;
	while (get_phase() < SX_READ)
		smp_poll();
	while ((ph = get_phase()) != SX_DONE) {
		if (vtlmem_load64((const void *)sx.va, &v)) {
			if (ph >= SX_PURGED)
				sx.faults[cpu]++;
		} else if (ph < SX_PURGED) {
			if (v == sx.vp && !cached) {
				cached = true;
				inc(&sx.cached);
			}
		} else {
			sx.stale[cpu] += v == sx.vp;
			sx.fresh[cpu] += v == sx.vq;
		}
		if (ph < SX_REMAPPED)
			continue;
		/* every byte, now and then: Q's page or a fault */
		if (sx.after[cpu] % 256 == 0) {
			size_t left = vtlmem_copy(sx_buf[cpu], (const void *)sx.va, PAGE_SIZE);

			sx.page_checks[cpu]++;
			if (!memcmp(sx_buf[cpu], phys_to_virt(sx.p), PAGE_SIZE - left) && left < 64)
				sx.bad_pages[cpu]++;
			else if (!left && memcmp(sx_buf[cpu], phys_to_virt(sx.q), PAGE_SIZE))
				sx.bad_pages[cpu]++;
		}
		inc(&sx.after[cpu]);
	}
}

/*
 * CPU 0 maps P at VA, the others read through it, CPU 0 unmaps and purges
 * (skip: with the shootdown IPIs switched off) and maps Q at the same VA.
 * Returns the reads after the purge that still showed P, over all readers.
 */
static uint64_t stale_run(bool skip_ipis)
{
	struct vtlmem_mapping *m, *m2;
	uint64_t stale = 0;
	uintptr_t va2 = 0;
	unsigned c;

	memset(&sx, 0, sizeof(sx));
	sx.p = vtl0_pa(20300);
	sx.q = vtl0_pa(20301);
	vtl0_fill(sx.p, PAGE_SIZE, 3);
	vtl0_fill(sx.q, PAGE_SIZE, 4);
	sx.vp = dm_u64(sx.p);
	sx.vq = dm_u64(sx.q);
	if (map1(vtlmem_pa(sx.p), VTLMEM_PROT_RO, &m, &sx.va)) {
		ktest_fail(__FILE__, __LINE__, "map P failed");
		return 0;
	}
	start_aps(stale_reader, NULL);
	set_phase(SX_READ);
	wait_count(&sx.cached, smp_ncpus - 1, "the readers to cache P");
	CHECK_INT(vtlmem_vmap_unmap(kv_vm, m), 0);
	smp_set_skip_ipis(skip_ipis);
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	smp_set_skip_ipis(false);
	set_phase(SX_PURGED);
	if (map1(vtlmem_pa(sx.q), VTLMEM_PROT_RO, &m2, &va2) == 0) {
		CHECK_EQ(va2, sx.va);   /* the VA is reused: what this case is about */
		set_phase(SX_REMAPPED);
		for (c = 1; c < smp_ncpus; c++)
			wait_count(&sx.after[c], 3000, "reads after the remap");
	} else {
		ktest_fail(__FILE__, __LINE__, "map Q failed");
		m2 = NULL;
	}
	set_phase(SX_DONE);
	wait_aps();
	for (c = 1; c < smp_ncpus; c++) {
		stale += sx.stale[c] + sx.bad_pages[c];
		if (!skip_ipis && (!sx.fresh[c] || !sx.page_checks[c]))
			ktest_fail(__FILE__, __LINE__, "cpu %u never read Q (%lu faults)", c,
				   sx.faults[c]);
	}
	if (m2)
		CHECK_INT(vtlmem_vmap_unmap(kv_vm, m2), 0);
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	if (skip_ipis)
		smp_flush_all_cpus();   /* the stale entries must not outlive the case */
	return stale;
}

/*
 * A VA mapped to P and read on every other CPU, unmapped and purged, then
 * mapped to Q: from the moment the purge returned, each CPU reads Q's bytes
 * (or faults, before Q is mapped), never P's.
 */
KTEST(smp_reused_va_never_shows_the_old_page_on_any_cpu)
{
	NEED_CPUS(2);
	kv_init();
	CHECK_EQ(stale_run(false), 0);
}

/*
 * Negative control (smp_sw.skip_ipis: the shootdown op returns 0 without
 * an IPI): the other CPUs keep reading P through the reused VA.
 */
KTEST(smp_reused_va_shows_the_old_page_without_shootdown_ipis)
{
	NEED_CPUS(2);
	kv_init();
	CHECK(stale_run(true) > 0);
}

/* ---- issue 9 defect 1: the purging CPU's own translation ---- */

struct purger_run {
	uintptr_t va, va2;
	uint64_t vp, vq;
	uint64_t p, q;
	struct vtlmem_mapping *m, *m2;
	int map_err, purge_err, map2_err, load_err;
	uint64_t seen;
	unsigned mapped, unmapped, done;
	size_t left;
};
static struct purger_run pg;
static uint8_t pg_buf[PAGE_SIZE];

/* On CPU 1: map P, keep reading it; after CPU 0 unmapped it, purge, map Q. */
static void purger_fn(unsigned cpu, void *arg)
{
	uint64_t v;

	(void)cpu;
	(void)arg;
	pg.map_err = map1(vtlmem_pa(pg.p), VTLMEM_PROT_RO, &pg.m, &pg.va);
	__atomic_store_n(&pg.mapped, 1, __ATOMIC_RELEASE);
	if (pg.map_err)
		return;
	while (!__atomic_load_n(&pg.unmapped, __ATOMIC_ACQUIRE)) {
		vtlmem_load64((const void *)pg.va, &v);         /* keep the entry hot */
		smp_poll();
	}
	pg.purge_err = vtlmem_vmap_purge(kv_vm);
	pg.map2_err = map1(vtlmem_pa(pg.q), VTLMEM_PROT_RO, &pg.m2, &pg.va2);
	if (!pg.map2_err) {
		pg.load_err = vtlmem_load64((const void *)pg.va2, &pg.seen);
		pg.left = vtlmem_copy(pg_buf, (const void *)pg.va2, PAGE_SIZE);
	}
}

/*
 * A window mapping made and read on CPU 1, unmapped on CPU 0 (which only
 * invalidates CPU 0) and purged on CPU 1: the purge's shootdown covers the
 * other CPUs, so unless the purge also invalidates CPU 1 itself, CPU 1
 * still translates the VA to P when the purge hands it out again. Mapping
 * Q at the reused VA on CPU 1 must show Q. (Issue 9, defect 1; the host's
 * per-CPU TLB model tests the same; negative control: the stale-VA cases
 * above show QEMU keeps such an entry.)
 */
KTEST(smp_purge_invalidates_the_purging_cpu_too)
{
	NEED_CPUS(2);
	kv_init();
	memset(&pg, 0, sizeof(pg));
	pg.p = vtl0_pa(20310);
	pg.q = vtl0_pa(20311);
	vtl0_fill(pg.p, PAGE_SIZE, 5);
	vtl0_fill(pg.q, PAGE_SIZE, 6);
	pg.vp = dm_u64(pg.p);
	pg.vq = dm_u64(pg.q);
	smp_start(1, purger_fn, NULL);
	smp_wait_flag(&pg.mapped, 1, "CPU 1's map");
	if (!pg.map_err)
		CHECK_INT(vtlmem_vmap_unmap(kv_vm, pg.m), 0);
	__atomic_store_n(&pg.unmapped, 1, __ATOMIC_RELEASE);
	smp_wait(1);
	REQUIRE_INT(pg.map_err, 0);
	CHECK_INT(pg.purge_err, 0);
	REQUIRE_INT(pg.map2_err, 0);
	CHECK_EQ(pg.va2, pg.va);
	CHECK_INT(pg.load_err, 0);
	if (pg.seen == pg.vp)
		ktest_fail(__FILE__, __LINE__, "CPU 1 read P's bytes through the reused VA");
	CHECK_EQ(pg.seen, pg.vq);
	CHECK_EQ(pg.left, 0);
	CHECK(!memcmp(pg_buf, phys_to_virt(pg.q), PAGE_SIZE));
	CHECK_INT(vtlmem_vmap_unmap(kv_vm, pg.m2), 0);
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	smp_flush_all_cpus();
}

/* The reproduction with the log ring (3 CPUs). */
static struct vtlmem_vtl0 sm_vtl0;
static struct vtlmem_ring ring_a, ring_b;

struct ring_reinit {
	int err[8];
	uintptr_t va_a, va_b;
	vtlmem_resv_t other;
};
static struct ring_reinit rr;
static const vtlmem_paddr_t rr_p0[2] = { { 20320 * PAGE_SIZE + VTL0_START },
					 { 20321 * PAGE_SIZE + VTL0_START } };
static const vtlmem_paddr_t rr_p1[2] = { { 20322 * PAGE_SIZE + VTL0_START },
					 { 20323 * PAGE_SIZE + VTL0_START } };
#define RR_SIZE (2 * PAGE_SIZE - VTLMEM_RING_HDR_SIZE)

static void sm_vtl0_init(void)
{
	kv_init();
	if (!sm_vtl0.vm && vtlmem_vtl0_init(&sm_vtl0, &kv_rt, kv_vm))
		panic("vtlmem_vtl0_init failed");
}

static void rr_cpu1_write(unsigned cpu, void *arg)
{
	size_t done;

	(void)cpu;
	(void)arg;
	rr.err[1] = vtlmem_ring_write(&ring_a, "cpu 1 was here\n", 15, &done);
}

static void rr_cpu1_purge(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	rr.err[3] = vtlmem_vmap_purge(kv_vm);
}

static void rr_cpu2_reserve(unsigned cpu, void *arg)
{
	struct vtlmem_range r = { rr_p0[0], 2 * PAGE_SIZE };

	(void)cpu;
	(void)arg;
	rr.err[4] = vtlmem_reserve(&kv_rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &rr.other, NULL);
}

static void rr_cpu1_reinit(unsigned cpu, void *arg)
{
	size_t done;

	(void)cpu;
	(void)arg;
	rr.err[5] = vtlmem_ring_init(&ring_b, &sm_vtl0, rr_p1, 2, RR_SIZE);
	if (!rr.err[5]) {
		rr.va_b = ring_b.p.map_va;
		rr.err[6] = vtlmem_ring_write(&ring_b, "new ring\n", 9, &done);
		rr.err[7] = vtlmem_ring_fini(&ring_b);
	}
}

/*
 * Issue 9's reproduction: CPU 0 sets up a ring on P0 and writes; CPU 1
 * writes (caching the ring's VA); CPU 0 finishes the ring; CPU 1 purges;
 * CPU 2 reserves P0 exclusively (it is free now); CPU 1 sets up a new ring
 * on P1, which gets the same VA: its header and data must land in P1, and
 * P0, now CPU 2's, must not change.
 */
KTEST(smp_ring_reinit_after_a_purge_on_the_writing_cpu_lands_in_the_new_pages)
{
	static uint8_t p0_before[2 * PAGE_SIZE];
	const struct vtlmem_ring_hdr *h1 = phys_to_virt(vtlmem_pa_val(rr_p1[0]));
	size_t done;

	NEED_CPUS(3);
	sm_vtl0_init();
	memset(&rr, 0, sizeof(rr));
	vtl0_fill(vtlmem_pa_val(rr_p1[0]), 2 * PAGE_SIZE, 7);
	REQUIRE_INT(vtlmem_ring_init(&ring_a, &sm_vtl0, rr_p0, 2, RR_SIZE), 0);
	rr.va_a = ring_a.p.map_va;
	CHECK_INT(vtlmem_ring_write(&ring_a, "cpu 0 was here\n", 15, &done), 0);
	smp_start(1, rr_cpu1_write, NULL);
	smp_wait(1);
	CHECK_INT(rr.err[1], 0);
	CHECK_INT(vtlmem_ring_fini(&ring_a), 0);
	memcpy(p0_before, phys_to_virt(vtlmem_pa_val(rr_p0[0])), 2 * PAGE_SIZE);
	smp_start(1, rr_cpu1_purge, NULL);
	smp_wait(1);
	CHECK_INT(rr.err[3], 0);
	smp_start(2, rr_cpu2_reserve, NULL);
	smp_wait(2);
	CHECK_INT(rr.err[4], 0);
	smp_start(1, rr_cpu1_reinit, NULL);
	smp_wait(1);
	CHECK_INT(rr.err[5], 0);
	CHECK_INT(rr.err[6], 0);
	CHECK_INT(rr.err[7], 0);
	CHECK_EQ(rr.va_b, rr.va_a);
	CHECK_EQ(h1->size, RR_SIZE);
	CHECK_EQ(h1->head, 9);
	CHECK(!memcmp((const uint8_t *)h1 + VTLMEM_RING_HDR_SIZE, "new ring\n", 9));
	if (memcmp(p0_before, phys_to_virt(vtlmem_pa_val(rr_p0[0])), 2 * PAGE_SIZE))
		ktest_fail(__FILE__, __LINE__, "the new ring wrote into P0 (stale translation)");
	if (rr.err[4] == 0)
		CHECK_INT(vtlmem_release(&kv_rt, rr.other), 0);
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	smp_flush_all_cpus();
}

/* ---- a CPU that stops answering IPIs ---- */

static unsigned deaf_ready, deaf_release;

static void deaf_fn(unsigned cpu, void *arg)
{
	(void)arg;
	smp_set_deaf(cpu, true);
	__atomic_store_n(&deaf_ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&deaf_release, __ATOMIC_ACQUIRE))
		cpu_relax();    /* interrupts on: the IPIs arrive and are ignored */
	smp_set_deaf(cpu, false);
	smp_poll();
}

/*
 * One CPU ignores the shootdown IPIs (test switch): a purge fails with -EIO
 * after the (here 50 ms) timeout, the unmapped VA stays quarantined and its
 * page reserved, later maps never get that VA; once the CPU answers again
 * the next purge succeeds and releases everything.
 */
KTEST(smp_purge_fails_with_eio_while_a_cpu_ignores_ipis_and_reuses_nothing)
{
	unsigned deaf = smp_ncpus - 1, i;
	struct vtlmem_vmap_stats st0, st1;
	struct vtlmem_range r = { vtl0_page(20330), PAGE_SIZE };
	struct vtlmem_mapping *m, *m2;
	uint64_t ipis0, acks0;
	uintptr_t va, va2;
	vtlmem_resv_t h;

	NEED_CPUS(2);
	kv_init();
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	REQUIRE_INT(map1(vtl0_page(20330), VTLMEM_PROT_RW, &m, &va), 0);
	deaf_ready = deaf_release = 0;
	smp_start(deaf, deaf_fn, NULL);
	smp_wait_flag(&deaf_ready, 1, "the CPU to turn deaf");
	ipis0 = kcpu(deaf)->ipis_received;
	acks0 = kcpu(deaf)->acks;
	CHECK_INT(vtlmem_vmap_unmap(kv_vm, m), 0);
	st0 = stats();
	smp_sw.sd_timeout_us = 50000;
	CHECK_INT(vtlmem_vmap_purge(kv_vm), -VTLMEM_EIO);
	st1 = stats();
	CHECK_EQ(st1.quarantined_pages, st0.quarantined_pages);
	CHECK(st1.quarantined_pages >= 1);
	CHECK_EQ(st1.shootdown_failures, st0.shootdown_failures + 1);
	CHECK(vtlmem_is_reserved(&kv_rt, r.pa, PAGE_SIZE, VTLMEM_RES_EXCLUSIVE));
	CHECK_INT(vtlmem_reserve(&kv_rt, &r, 1, VTLMEM_RES_SHARED, &h, NULL), -VTLMEM_EBUSY);
	for (i = 0; i < 3; i++) {       /* nothing reuses the quarantined VA */
		REQUIRE_INT(map1(vtl0_page(20331 + i), VTLMEM_PROT_RO, &m2, &va2), 0);
		CHECK(va2 != va);
		CHECK_INT(vtlmem_vmap_unmap(kv_vm, m2), 0);
		CHECK_INT(vtlmem_vmap_purge(kv_vm), -VTLMEM_EIO);
	}
	wait_count(&kcpu(deaf)->ipis_received, ipis0 + 1, "the deaf CPU to take an IPI");
	CHECK_EQ(kcpu(deaf)->acks, acks0);      /* it takes them and answers none */
	__atomic_store_n(&deaf_release, 1, __ATOMIC_RELEASE);
	smp_wait(deaf);
	smp_sw.sd_timeout_us = SD_TIMEOUT_US_DEFAULT;
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	CHECK_EQ(stats().quarantined_pages, 0);
	CHECK(!vtlmem_is_reserved(&kv_rt, r.pa, PAGE_SIZE, VTLMEM_RES_SHARED));
	CHECK(load_faults(va));
}

/* ---- the log ring from every CPU at once ---- */

#define RING_RECORDS 250

struct ring_rec {
	uint32_t magic;
	uint16_t cpu;
	uint16_t len;
	uint64_t seq;
	uint8_t body[16];
	uint64_t sum;
};
_Static_assert(sizeof(struct ring_rec) == 40, "40-byte records");
#define RING_MAGIC 0x52494e47u
#define RA_SIZE (3 * PAGE_SIZE - VTLMEM_RING_HDR_SIZE - 5)     /* not a multiple of 40 */

static const vtlmem_paddr_t ra_pages[3] = { { 20402 * PAGE_SIZE + VTL0_START },
					    { 20400 * PAGE_SIZE + VTL0_START },
					    { 20401 * PAGE_SIZE + VTL0_START } };
static struct vtlmem_ring ring_all;

struct ring_run {
	struct smp_barrier go;
	uint64_t errs[MAX_CPUS], nonmono[MAX_CPUS], torn_head[MAX_CPUS];
};
static struct ring_run ra;

static uint64_t rec_sum(const struct ring_rec *r)
{
	const uint8_t *b = (const uint8_t *)r;
	uint64_t s = 0xcbf29ce484222325UL;
	size_t i;

	for (i = 0; i < offsetof(struct ring_rec, sum); i++)
		s = (s ^ b[i]) * 0x100000001b3UL;
	return s;
}

static void ring_writer(unsigned cpu, void *arg)
{
	const volatile struct vtlmem_ring_hdr *h = phys_to_virt(vtlmem_pa_val(ra_pages[0]));
	uint64_t last = 0, last_vtl0 = 0, now, seen;
	struct ring_rec r;
	size_t done, i;
	unsigned n;

	(void)arg;
	smp_barrier_wait(&ra.go);
	for (n = 0; n < RING_RECORDS; n++) {
		r.magic = RING_MAGIC;
		r.cpu = (uint16_t)cpu;
		r.len = sizeof(r);
		r.seq = n;
		for (i = 0; i < sizeof(r.body); i++)
			r.body[i] = (uint8_t)(cpu * 16 + n + i);
		r.sum = rec_sum(&r);
		if (vtlmem_ring_write(&ring_all, &r, sizeof(r), &done) || done != sizeof(r))
			ra.errs[cpu]++;
		now = vtlmem_ring_head(&ring_all);
		seen = h->head;                 /* what VTL0 sees */
		if (now < last + sizeof(r) || seen < last_vtl0)
			ra.nonmono[cpu]++;
		if (seen % sizeof(r))
			ra.torn_head[cpu]++;    /* a partial record published */
		last = now;
		last_vtl0 = seen;
	}
}

/*
 * Check the ring's valid window (the last min(head, size) stream bytes, in
 * data): whole records only, each CPU's sequence numbers consecutive.
 * Returns NULL or what is wrong.
 */
static const char *ring_records_ok(const uint8_t *data, uint64_t size, uint64_t head,
				   unsigned ncpus)
{
	uint64_t k = head > size ? head - size : 0, next[MAX_CPUS];
	struct ring_rec r;
	unsigned c;
	size_t i;

	if (head % sizeof(r))
		return "head is not a whole number of records";
	for (c = 0; c < MAX_CPUS; c++)
		next[c] = ~0UL;
	k = (k + sizeof(r) - 1) / sizeof(r) * sizeof(r);        /* first whole record */
	for (; k < head; k += sizeof(r)) {
		for (i = 0; i < sizeof(r); i++)
			((uint8_t *)&r)[i] = data[(k + i) % size];
		if (r.magic != RING_MAGIC || r.len != sizeof(r) || r.cpu >= ncpus ||
		    r.sum != rec_sum(&r))
			return "a torn or foreign record";
		if (next[r.cpu] != ~0UL && r.seq != next[r.cpu])
			return "a CPU's records out of order or missing";
		next[r.cpu] = r.seq + 1;
	}
	return NULL;
}

/*
 * Every CPU appends 250 40-byte records to one VTL0 log ring at once (it
 * wraps ~3 times; records straddle the wrap): VTL0 only ever sees head at
 * a record boundary, each writer sees head grow by at least its record,
 * the final head counts every record, and the ring holds whole records
 * with each CPU's in order. Negative control of the checker: one flipped
 * byte in a copy of the ring is reported.
 */
KTEST(smp_ring_written_by_every_cpu_at_once_holds_whole_records)
{
	static uint8_t data[RA_SIZE];
	const struct vtlmem_ring_hdr *h = phys_to_virt(vtlmem_pa_val(ra_pages[0]));
	const char *why;
	unsigned c;
	size_t i;

	sm_vtl0_init();
	memset(&ra, 0, sizeof(ra));
	ra.go.n = smp_ncpus;
	REQUIRE_INT(vtlmem_ring_init(&ring_all, &sm_vtl0, ra_pages, 3, RA_SIZE), 0);
	smp_run(ring_writer, NULL);
	for (c = 0; c < smp_ncpus; c++) {
		CHECK_EQ(ra.errs[c], 0);
		CHECK_EQ(ra.nonmono[c], 0);
		CHECK_EQ(ra.torn_head[c], 0);
	}
	CHECK_EQ(h->head, (uint64_t)smp_ncpus * RING_RECORDS * sizeof(struct ring_rec));
	CHECK_EQ(vtlmem_ring_head(&ring_all), h->head);
	CHECK_EQ(h->size, RA_SIZE);
	vtl0_gather(ra_pages, VTLMEM_RING_HDR_SIZE, data, RA_SIZE);
	why = ring_records_ok(data, RA_SIZE, h->head, smp_ncpus);
	if (why)
		ktest_fail(__FILE__, __LINE__, "ring: %s", why);
	i = (h->head - 3 * sizeof(struct ring_rec) + 9) % RA_SIZE;
	data[i] ^= 0x40;
	CHECK(ring_records_ok(data, RA_SIZE, h->head, smp_ncpus) != NULL);
	CHECK_INT(vtlmem_ring_fini(&ring_all), 0);
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
}

/* ---- a persistent physical pointer across CPUs ---- */

static struct vtlmem_physptr pp;
static const vtlmem_paddr_t pp_pages[2] = { { 20502 * PAGE_SIZE + VTL0_START },
					    { 20500 * PAGE_SIZE + VTL0_START } };

struct pp_run {
	uintptr_t va;
	uint64_t bad[MAX_CPUS];
	int destroy_err, purge_err;
	int probe_load[MAX_CPUS];
	size_t probe_left[MAX_CPUS];
};
static struct pp_run ppr;
static uint8_t pp_buf[MAX_CPUS][1024];

static void pp_use(unsigned cpu, void *arg)
{
	uint8_t *b = pp_buf[cpu];
	size_t done, i, off = cpu * 1024;
	uint8_t v;

	(void)arg;
	for (i = 0; i < 1024; i++)
		b[i] = (uint8_t)(cpu * 29 + i);
	if (vtlmem_physptr_write_slice(&pp, off, 1024, b, &done))
		ppr.bad[cpu]++;
	memset(b, 0, 1024);
	if (vtlmem_physptr_read_slice(&pp, off, 1024, b, &done))
		ppr.bad[cpu]++;
	for (i = 0; i < 1024; i++)
		if (b[i] != (uint8_t)(cpu * 29 + i) ||
		    ((uint8_t *)phys_to_virt(vtlmem_pa_val(pp_pages[0])))[off + i] != b[i])
			ppr.bad[cpu]++;
	if (vtlmem_load8((const void *)(ppr.va + off), &v) || v != b[0])   /* cached */
		ppr.bad[cpu]++;
}

static void pp_destroy(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	ppr.destroy_err = vtlmem_physptr_destroy(&pp);
}

static void pp_purge(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	ppr.purge_err = vtlmem_vmap_purge(kv_vm);
}

static void pp_probe(unsigned cpu, void *arg)
{
	uint8_t v = 0x5a, b[64];

	(void)arg;
	ppr.probe_load[cpu] = vtlmem_load8((const void *)ppr.va, &v);
	ppr.probe_left[cpu] = vtlmem_copy(b, (const void *)(ppr.va + PAGE_SIZE + 8), 64);
}

/*
 * A persistent RW physical pointer (two non-contiguous pages) written and
 * read by every CPU at once (each caches the translation), destroyed on
 * CPU 1 and purged from another CPU: until the purge the pages stay
 * reserved; afterwards no CPU reaches them through the old VA (a probe
 * load faults, a copy returns its whole length) and they can be reserved
 * again.
 */
KTEST(smp_persistent_physptr_destroyed_on_one_cpu_purged_on_another_is_gone_everywhere)
{
	struct vtlmem_physptr_attr attr = { .elem_size = 1, .prot = VTLMEM_PROT_RW,
					    .cache = VTLMEM_CACHE_WB,
					    .flags = VTLMEM_PHYSPTR_PERSISTENT };
	struct vtlmem_range r = { pp_pages[1], PAGE_SIZE };
	unsigned purger = smp_ncpus >= 3 ? 2 : 0, c;
	vtlmem_resv_t h;

	NEED_CPUS(2);
	kv_init();
	memset(&ppr, 0, sizeof(ppr));
	REQUIRE_INT(vtlmem_physptr_create(&pp, &kv_rt, kv_vm, pp_pages, 2, 0, 2 * PAGE_SIZE,
					  &attr), 0);
	ppr.va = window_va_of(vtlmem_pa_val(pp_pages[0]));
	REQUIRE(ppr.va != 0);
	smp_run(pp_use, NULL);
	for (c = 0; c < smp_ncpus; c++)
		CHECK_EQ(ppr.bad[c], 0);
	smp_start(1, pp_destroy, NULL);
	smp_wait(1);
	CHECK_INT(ppr.destroy_err, 0);
	/* the reservation waits for the flush covering the old VA */
	CHECK_INT(vtlmem_reserve(&kv_rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &h, NULL), -VTLMEM_EBUSY);
	if (purger) {
		smp_start(purger, pp_purge, NULL);
		smp_wait(purger);
	} else {
		pp_purge(0, NULL);
	}
	CHECK_INT(ppr.purge_err, 0);
	smp_run(pp_probe, NULL);
	for (c = 0; c < smp_ncpus; c++) {
		if (ppr.probe_load[c] != -VTLMEM_EFAULT || ppr.probe_left[c] != 64)
			ktest_fail(__FILE__, __LINE__,
				   "cpu %u still reaches the page: load %d, copy left %zu%s", c,
				   ppr.probe_load[c], ppr.probe_left[c],
				   c == purger ? " (the purging CPU)" : "");
	}
	REQUIRE_INT(vtlmem_reserve(&kv_rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &h, NULL), 0);
	CHECK_INT(vtlmem_release(&kv_rt, h), 0);
	smp_flush_all_cpus();
}

/* ---- one-shot VTL0 calls contended by every CPU ---- */

/*
 * Three pages, the second the first of a 16-page claim group, so the
 * one-shot calls' 2-page spans lie in two claim buckets and meet the
 * 1-page calls of either page in one of them (src/reserve_claim.c).
 */
#define OS_REGION 20600
#define OS_PAGES  3

struct shot_run {
	struct smp_barrier go;
	bool no_exclusion;              /* negative control */
	unsigned min_iters, max_iters;
	uint64_t first;                 /* page index of the first of the three */
	unsigned iters[MAX_CPUS];
	uint64_t ok[MAX_CPUS][2], busy[MAX_CPUS][2], other_err[MAX_CPUS];  /* [write] */
	uint64_t torn;                  /* pages read that were not one writer's */
};
static struct shot_run os;
static uint8_t os_buf[MAX_CPUS][2 * PAGE_SIZE] __attribute__((aligned(64)));

/* The claims' test-only switch (src/reserve_claim.h): claims ignore each other. */
extern bool vtlmem_claim_test_no_exclusion;

static bool os_done(void)
{
	uint64_t busy = 0;
	unsigned c;

	if (os.no_exclusion)
		return __atomic_load_n(&os.torn, __ATOMIC_RELAXED) > 0;
	for (c = 0; c < smp_ncpus; c++)
		busy += __atomic_load_n(&os.busy[c][0], __ATOMIC_RELAXED) +
			__atomic_load_n(&os.busy[c][1], __ATOMIC_RELAXED);
	return busy > 0 || smp_ncpus == 1;
}

static void shot_worker(unsigned cpu, void *arg)
{
	uint64_t seed = 0x2545f4914f6cdd1dUL * (cpu + 3), r, pa;
	uint8_t *b = os_buf[cpu];
	unsigned it, f, n, k;
	size_t done;
	bool write;
	int err;

	(void)arg;
	smp_barrier_wait(&os.go);
	for (it = 0; it < os.max_iters; it++) {
		if (it >= os.min_iters && os_done())
			break;
		r = xorshift(&seed);
		f = (unsigned)(r % OS_PAGES);
		n = f + 1 < OS_PAGES ? 1 + (unsigned)((r >> 8) & 1) : 1;
		write = (r >> 16) & 1;
		pa = vtl0_pa(os.first + f);
		if (write) {
			for (k = 0; k < n; k++)
				ct_pattern(b + k * PAGE_SIZE, ((uint64_t)cpu << 32) | it,
					   pa + k * PAGE_SIZE);
			err = vtlmem_vtl0_write(&sm_vtl0, vtlmem_pa(pa), b, n * PAGE_SIZE, &done);
		} else {
			err = vtlmem_vtl0_read(&sm_vtl0, vtlmem_pa(pa), b, n * PAGE_SIZE, &done);
			for (k = 0; !err && k < n; k++)
				if (!ct_whole(b + k * PAGE_SIZE, pa + k * PAGE_SIZE))
					inc(&os.torn);
		}
		if (err == -VTLMEM_EBUSY)
			os.busy[cpu][write]++;
		else if (err)
			os.other_err[cpu]++;
		else
			os.ok[cpu][write]++;
	}
	os.iters[cpu] = it;
}

static void shot_run(bool no_exclusion, unsigned min_iters, unsigned max_iters)
{
	uint64_t i;

	memset(&os, 0, sizeof(os));
	os.go.n = smp_ncpus;
	os.no_exclusion = no_exclusion;
	os.min_iters = min_iters;
	os.max_iters = max_iters;
	os.first = OS_REGION;
	while ((vtl0_pa(os.first + 1) / PAGE_SIZE) % 16)
		os.first++;
	for (i = 0; i < OS_PAGES; i++)          /* every page starts whole */
		ct_pattern(phys_to_virt(vtl0_pa(os.first + i)), 0xffUL << 32,
			   vtl0_pa(os.first + i));
	__atomic_store_n(&vtlmem_claim_test_no_exclusion, no_exclusion, __ATOMIC_RELAXED);
	smp_run(shot_worker, NULL);
	__atomic_store_n(&vtlmem_claim_test_no_exclusion, false, __ATOMIC_RELAXED);
}

/*
 * Every CPU makes one-shot reads and writes of one or two of three pages
 * (whole pages, 2-page spans across a claim-group boundary) in a loop: the
 * page claims, taken under a bucket lock and released by a plain store,
 * must keep two writers, or a writer and a reader, apart: every page a
 * read returns is one writer's whole page. Each CPU runs 200 rounds, more
 * (up to 20000) until some call was refused (-EBUSY), so the calls really
 * met. Nothing stays claimed.
 */
KTEST(smp_one_shot_calls_on_every_cpu_never_mix_writers_or_a_writer_and_a_reader)
{
	struct vtlmem_rtable_stats st;
	uint64_t busy = 0;
	unsigned c;

	sm_vtl0_init();
	shot_run(false, 200, 20000);
	for (c = 0; c < smp_ncpus; c++) {
		kprintf("    cpu %u: %lu writes + %lu reads, -EBUSY %lu writes + %lu reads\n", c,
			os.ok[c][1], os.ok[c][0], os.busy[c][1], os.busy[c][0]);
		busy += os.busy[c][0] + os.busy[c][1];
		CHECK_EQ(os.other_err[c], 0);
		CHECK(os.iters[c] >= 200);
	}
	CHECK_EQ(os.torn, 0);
	if (smp_ncpus > 1)
		CHECK(busy > 0);
	vtlmem_rtable_stats(&kv_rt, &st);
	CHECK_EQ(st.handles, 0);
}

/*
 * Negative control: with the claims' test switch set (claims ignore each
 * other) the same loop must be caught returning a page of two writers
 * (each CPU goes on until it is, up to 200000 rounds).
 */
KTEST(smp_one_shot_claims_that_ignore_each_other_are_caught)
{
	NEED_CPUS(2);
	sm_vtl0_init();
	shot_run(true, 0, 200000);
	kprintf("    torn pages read: %lu\n", os.torn);
	CHECK(os.torn > 0);
}
