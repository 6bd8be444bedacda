// SPDX-License-Identifier: MIT
/*
 * The aarch64 kernel's own SMP platform, and the library's broadcast TLB
 * invalidation seen from other CPUs. (The portable SMP cases, with the IPI
 * shootdown protocol, are in tests/boot/common/t_smp.c.)
 */
#include <vtlmem/aarch64.h>
#include <vtlmem/copy.h>
#include <vtlmem/vmap.h>

#include "ktest.h"
#include "kvtl.h"
#include "smp.h"

#define NEED_CPUS(n)                                                          \
	do {                                                                  \
		if (smp_ncpus < (n))                                          \
			KTEST_SKIP("needs " #n " CPUs");                      \
	} while (0)

struct cpu_seen {
	unsigned id, id_plat, el, gic;
	uintptr_t sp, sp_el1_top, tpidr, vbar;
	uint64_t mair, ttbr1, tcr, sctlr, mpidr;
	bool irqs_on;
};
static struct cpu_seen seen[MAX_CPUS];

static void who_am_i(unsigned cpu, void *arg)
{
	struct cpu_seen *s = &seen[cpu];
	uintptr_t sp;

	(void)arg;
	__asm__ volatile("mov %0, sp" : "=r"(sp));
	s->sp = sp;
	s->id = smp_cpu_id();
	s->id_plat = boot_platform.cpu_id(boot_platform.ctx);
	s->el = (unsigned)(read_sysreg(CurrentEL) >> 2) & 3;
	s->gic = this_cpu()->gic_mask;
	s->tpidr = read_sysreg(tpidr_el1);
	s->vbar = read_sysreg(vbar_el1);
	s->mair = read_sysreg(mair_el1);
	s->ttbr1 = read_sysreg(ttbr1_el1);
	s->tcr = read_sysreg(tcr_el1);
	s->sctlr = read_sysreg(sctlr_el1);
	s->mpidr = read_sysreg(mpidr_el1) & 0xff00ffffffUL;
	s->irqs_on = irqs_enabled();
}

/*
 * Every CPU at EL1 on its own per-CPU data (TPIDR_EL1), stack and GIC
 * interface bit, with the same vectors, the library's MAIR layout, the
 * kernel's TTBR1 root, TTBR0 walks off and WXN on, interrupts on.
 */
KTEST(arch_smp_every_cpu_has_its_own_data_and_stack_and_the_same_mmu_setup)
{
	extern char exception_vectors[];
	unsigned c, d;

	memset(seen, 0, sizeof(seen));
	smp_run(who_am_i, NULL);
	for (c = 0; c < smp_ncpus; c++) {
		struct cpu_seen *s = &seen[c];

		CHECK_INT(s->id, c);
		CHECK_INT(s->id_plat, c);
		CHECK_INT(s->el, 1);
		CHECK_EQ(s->tpidr, (uintptr_t)&cpus[c]);
		CHECK(s->sp < smp_stack_top(c) && s->sp >= smp_stack_top(c) - STACK_SIZE);
		CHECK_EQ(s->vbar, (uintptr_t)exception_vectors);
		CHECK_EQ(s->mair, VTLMEM_AARCH64_MAIR_VALUE);
		CHECK_EQ(s->ttbr1 & PTE_ADDR, kernel_root());
		CHECK(s->tcr & (1UL << 7));                     /* EPD0 */
		CHECK_EQ((s->tcr >> 16) & 63, 16);              /* T1SZ: 48-bit kernel half */
		CHECK_EQ((s->tcr >> 30) & 3, 2);                /* TG1: 4 KiB */
		CHECK((s->sctlr & 1) && (s->sctlr & (1UL << 19)));      /* M, WXN */
		CHECK(s->irqs_on);
		CHECK_EQ(s->mpidr, cpus[c].mpidr);
		CHECK(s->gic && !(s->gic & (s->gic - 1)));
		for (d = 0; d < c; d++) {
			CHECK(seen[d].gic != s->gic);
			CHECK(seen[d].mpidr != s->mpidr);
		}
	}
}

/* ---- the library's broadcast TLBI, with no IPI at all ---- */

enum { BX_READ = 1, BX_PURGED, BX_REMAPPED, BX_DONE };

static struct {
	unsigned phase;
	uintptr_t va;
	uint64_t vp, vq;
	uint64_t cached, after[MAX_CPUS], stale[MAX_CPUS], fresh[MAX_CPUS];
	uint64_t faults[MAX_CPUS];
} bx;

static unsigned bx_phase(void)
{
	return __atomic_load_n(&bx.phase, __ATOMIC_ACQUIRE);
}

static void bx_wait(const uint64_t *counter, uint64_t want, const char *what)
{
	uint64_t deadline = cycles() + us_to_cycles(120000000UL);

	while (__atomic_load_n(counter, __ATOMIC_ACQUIRE) < want) {
		if (cycles() > deadline)
			panic("waited 120 s for %s", what);
		cpu_relax();
	}
}

/* On each other CPU: read the VA until told, then count what it shows after the remap. */
static void bx_reader(unsigned cpu, void *arg)
{
	uint64_t v;
	unsigned p;
	bool counted = false;

	(void)arg;
	while ((p = bx_phase()) < BX_DONE) {
		if (vtlmem_load64((const void *)bx.va, &v)) {
			if (p == BX_REMAPPED)
				bx.faults[cpu]++;
			continue;
		}
		if (p == BX_READ && !counted && v == bx.vp) {
			__atomic_fetch_add(&bx.cached, 1, __ATOMIC_RELEASE);
			counted = true;
		}
		if (p == BX_REMAPPED) {
			if (v == bx.vp)
				bx.stale[cpu]++;
			else if (v == bx.vq)
				bx.fresh[cpu]++;
			__atomic_fetch_add(&bx.after[cpu], 1, __ATOMIC_RELEASE);
		}
	}
}

static int map_ro(uint64_t pa, struct vtlmem_mapping **m, uintptr_t *va)
{
	vtlmem_paddr_t page = vtlmem_pa(pa);
	struct vtlmem_map_req req = {
		.pages = &page, .npages = 1, .prot = VTLMEM_PROT_RO, .cache = VTLMEM_CACHE_WB,
	};
	vtlmem_vaddr_t v = vtlmem_va(0);
	int err = vtlmem_vmap_map(kv_vm, &req, m, &v);

	*va = vtlmem_va_val(v);
	return err;
}

/*
 * P mapped and cached by every other CPU, unmapped, purged with the
 * shootdown op sending nothing (smp_sw.skip_ipis), the VA remapped to Q:
 * returns how many reads on the other CPUs still showed P. local_only: the
 * platform's tlb_local op (TLBI VALE1, this CPU only) replaces the
 * library's TLBI VALE1IS for the purge.
 */
static uint64_t bx_run(bool local_only)
{
	uint64_t p = vtl0_pa(900), q = vtl0_pa(901), stale = 0;
	struct vtlmem_mapping *m, *m2 = NULL;
	uintptr_t va2;
	unsigned c;

	memset(&bx, 0, sizeof(bx));
	vtl0_fill(p, PAGE_SIZE, 5);
	vtl0_fill(q, PAGE_SIZE, 6);
	bx.vp = *(const uint64_t *)phys_to_virt(p);
	bx.vq = *(const uint64_t *)phys_to_virt(q);
	if (bx.vp == bx.vq || map_ro(p, &m, &bx.va)) {
		ktest_fail(__FILE__, __LINE__, "setup failed");
		return 0;
	}
	__atomic_store_n(&bx.phase, BX_READ, __ATOMIC_RELEASE);
	for (c = 1; c < smp_ncpus; c++)
		smp_start(c, bx_reader, NULL);
	bx_wait(&bx.cached, smp_ncpus - 1, "the readers to cache P");
	CHECK_INT(vtlmem_vmap_unmap(kv_vm, m), 0);
	smp_sw.skip_ipis = true;        /* the shootdown op sends nothing */
	if (local_only)
		boot_platform.tlb_local = smp_tlb_local_only;
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	boot_platform.tlb_local = NULL;
	smp_sw.skip_ipis = false;
	__atomic_store_n(&bx.phase, BX_PURGED, __ATOMIC_RELEASE);
	if (map_ro(q, &m2, &va2) == 0) {
		CHECK_EQ(va2, bx.va);   /* the VA is reused: what this case is about */
		__atomic_store_n(&bx.phase, BX_REMAPPED, __ATOMIC_RELEASE);
		for (c = 1; c < smp_ncpus; c++)
			bx_wait(&bx.after[c], 2000, "reads after the remap");
	} else {
		ktest_fail(__FILE__, __LINE__, "map Q failed");
		m2 = NULL;
	}
	__atomic_store_n(&bx.phase, BX_DONE, __ATOMIC_RELEASE);
	for (c = 1; c < smp_ncpus; c++)
		smp_wait(c);
	for (c = 1; c < smp_ncpus; c++) {
		stale += bx.stale[c];
		if (!local_only && !bx.fresh[c])
			ktest_fail(__FILE__, __LINE__, "cpu %u never read Q", c);
	}
	if (m2)
		CHECK_INT(vtlmem_vmap_unmap(kv_vm, m2), 0);
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	smp_flush_all_cpus();           /* stale entries must not outlive the case */
	return stale;
}

/*
 * The library's own invalidation reaches every CPU: with no shootdown IPI
 * at all, the purge's TLBI VALE1IS alone makes every other CPU drop P.
 */
KTEST(arch_smp_library_tlbi_is_reaches_every_cpu_without_ipis)
{
	NEED_CPUS(2);
	kv_init();
	CHECK_EQ(bx_run(false), 0);
}

/*
 * Negative control: the same purge with the library's invalidation made
 * local (the platform's tlb_local op: TLBI VALE1) leaves the other CPUs
 * reading P through the reused VA (QEMU keeps a vCPU's TLB entries until
 * an invalidation reaches that vCPU, as hardware may).
 */
KTEST(arch_smp_local_only_tlbi_leaves_other_cpus_the_old_page)
{
	NEED_CPUS(2);
	kv_init();
	CHECK(bx_run(true) > 0);
}
