// SPDX-License-Identifier: MIT
/*
 * The boot bench: the test kernel booted with "bench=1" (make bench, via
 * BOOT_BENCH = boot-bench, 4 CPUs). What the quarantine saves on real
 * (emulated) CPUs with real IPIs: single-page window maps and unmaps, and
 * per 1000 unmaps the remote shootdowns the library issued and the IPIs
 * the platform sent, plus cycles() per shootdown round (send the IPIs,
 * every other CPU invalidates and acknowledges). Three runs:
 *   - CPU 0 maps and unmaps, the other CPUs idle (woken by each IPI);
 *   - every CPU maps and unmaps at once (1000 unmaps in all; a map that
 *     finds the window full while another CPU's purge is in flight gets
 *     -ENOSPC, as vmap.h says, and is retried and counted);
 *   - baseline: CPU 0 purges after every unmap (a shootdown per unmap, as
 *     a vmap without quarantine would).
 * Cycle counts are informational: under QEMU TCG the counter (x86_64: the
 * TSC) is the host's and
 * the CPUs are emulated (4 vCPU threads on however many host cores there
 * are: a vCPU that waits on a spinlock or for an acknowledgement may wait
 * for another vCPU the host has descheduled), so they are not hardware
 * times; the counts of shootdowns and IPIs are exact.
 */
#include <vtlmem/vmap.h>

#include "ktest.h"
#include "kvtl.h"

#define UNMAPS 1000
#define BENCH_PAGE0 21000       /* CPU c uses VTL0 pages BENCH_PAGE0 + c * UNMAPS + i */

struct bench_run {
	bool purge_each;
	unsigned per_cpu;
	struct smp_barrier go;
	uint64_t errors, enospc;
	uint64_t cycles[MAX_CPUS];
};
static struct bench_run br;

struct snap {
	struct vtlmem_vmap_stats st;
	uint64_t ipis_sent, ipis_received, acks, rounds, sd_cycles, timeouts, t;
};

static void snap_take(struct snap *s)
{
	vtlmem_vmap_get_stats(kv_vm, &s->st);
	s->ipis_sent = SMP_SUM(ipis_sent);
	s->ipis_received = SMP_SUM(ipis_received);
	s->acks = SMP_SUM(acks);
	s->rounds = SMP_SUM(sd_rounds);
	s->sd_cycles = SMP_SUM(sd_cycles);
	s->timeouts = SMP_SUM(sd_timeouts);
	s->t = cycles();
}

static void map_unmap_loop(unsigned cpu, void *arg)
{
	struct vtlmem_mapping *m;
	vtlmem_vaddr_t va;
	uint64_t t0;
	unsigned i;

	(void)arg;
	smp_barrier_wait(&br.go);
	t0 = cycles();
	for (i = 0; i < br.per_cpu; i++) {
		vtlmem_paddr_t p = vtl0_page(BENCH_PAGE0 + cpu * UNMAPS + i);
		struct vtlmem_map_req req = {
			.pages = &p, .npages = 1, .prot = VTLMEM_PROT_RO,
			.cache = VTLMEM_CACHE_WB,
		};
		unsigned tries = 0;
		int err;

		while ((err = vtlmem_vmap_map(kv_vm, &req, &m, &va)) == -VTLMEM_ENOSPC &&
		       ++tries < 1000000) {
			__atomic_fetch_add(&br.enospc, 1, __ATOMIC_RELAXED);
			smp_poll();
		}
		if (err || vtlmem_vmap_unmap(kv_vm, m)) {
			__atomic_fetch_add(&br.errors, 1, __ATOMIC_RELAXED);
			continue;
		}
		if (br.purge_each && vtlmem_vmap_purge(kv_vm))
			__atomic_fetch_add(&br.errors, 1, __ATOMIC_RELAXED);
	}
	br.cycles[cpu] = cycles() - t0;
}

static void idle(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
}

static bool bench(const char *what, unsigned ncpus, bool purge_each)
{
	struct snap a, b;
	uint64_t unmaps = UNMAPS, sd, ipis, rounds, cyc = 0;
	unsigned c;

	memset(&br, 0, sizeof(br));
	br.purge_each = purge_each;
	br.per_cpu = UNMAPS / ncpus;
	unmaps = (uint64_t)br.per_cpu * ncpus;
	br.go.n = ncpus;
	if (vtlmem_vmap_purge(kv_vm))
		br.errors++;
	snap_take(&a);
	if (ncpus == 1)
		map_unmap_loop(0, NULL);
	else
		smp_run(map_unmap_loop, NULL);
	if (vtlmem_vmap_purge(kv_vm))   /* what is left in quarantine */
		br.errors++;
	smp_run(idle, NULL);            /* every CPU has taken its IPIs */
	snap_take(&b);
	sd = b.st.remote_shootdowns - a.st.remote_shootdowns;
	ipis = b.ipis_sent - a.ipis_sent;
	rounds = b.rounds - a.rounds;
	for (c = 0; c < ncpus; c++)
		cyc += br.cycles[c];
	kprintf("\n%s (%u CPU%s x %u single-page map + unmap):\n", what, ncpus,
		ncpus > 1 ? "s" : "", br.per_cpu);
	kprintf("  remote shootdowns   %6lu  = %lu.%03lu per 1000 unmaps\n", sd,
		sd * 1000 / unmaps, sd * 1000 * 1000 / unmaps % 1000);
	kprintf("  shootdown IPIs sent %6lu  = %lu.%03lu per 1000 unmaps (received %lu, "
		"requests acknowledged %lu)\n", ipis, ipis * 1000 / unmaps,
		ipis * 1000 * 1000 / unmaps % 1000, b.ipis_received - a.ipis_received,
		b.acks - a.acks);
	if (rounds)
		kprintf("  cycles per shootdown round: %lu (%lu rounds)\n",
			(b.sd_cycles - a.sd_cycles) / rounds, rounds);
	kprintf("  cycles per map + unmap (mean over CPUs): %lu\n", cyc / unmaps);
	if (br.enospc)
		kprintf("  maps retried after -ENOSPC (window full, a purge in flight): %lu\n",
			br.enospc);
	if (br.errors || b.timeouts != a.timeouts ||
	    b.st.shootdown_failures != a.st.shootdown_failures ||
	    b.st.quarantined_pages) {
		kprintf("  ERROR: %lu failed calls, %lu shootdown timeouts, %lu pages left "
			"quarantined\n", br.errors, b.timeouts - a.timeouts,
			b.st.quarantined_pages);
		return false;
	}
	return true;
}

noreturn void boot_bench(void)
{
	bool ok = true;

	kv_init();
	kprintf("boot bench: %u CPUs, cycle counter %lu MHz, purge threshold 512 pages\n",
		smp_ncpus, cycles_khz / 1000);
	kprintf("(QEMU TCG: emulated CPUs on the host's cycle counter, so cycle counts are not "
		"hardware times; shootdown and IPI counts are exact)\n");
	ok &= bench("CPU 0 unmaps, the others idle", 1, false);
	if (smp_ncpus > 1)
		ok &= bench("every CPU unmaps at once", smp_ncpus, false);
	ok &= bench("baseline: CPU 0 purges after every unmap", 1, true);
	kprintf("\nboot bench: %s\n", ok ? "done" : "FAILED");
	kexit(ok ? EXIT_PASS : EXIT_FAIL);
}
