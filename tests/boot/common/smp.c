// SPDX-License-Identifier: MIT
/*
 * The portable half of SMP (kernel.h, "CPUs"): per-CPU counters, the TLB
 * shootdown protocol, work posted to idle CPUs, barriers and an idle CPU's
 * loop. The arch half (tests/boot/<arch>/smp.c) brings the CPUs up, takes
 * the interrupts and provides the hooks: arch_send_ipi (kernel.h) and, in
 * karch.h, tlb_page_local and the idle_* helpers.
 *
 * The shootdown protocol (tests/boot/x86_64/README.md "SMP"): sender s
 * publishes its request (va, len) under a sequence count (sd_seq, odd while
 * being written; the request's generation is sd_seq / 2), sets bit s in
 * every target's sd_pending and sends each one an SMP_IPI_SHOOTDOWN. A
 * target, in its interrupt handler (smp_handle_ipi) or when polling, takes
 * its pending bits, reads each sender's request, invalidates locally
 * (tlb_page_local per page; tlb_flush_local above SD_FLUSH_PAGES pages or
 * when the request changed while it read it) and stores the generation it
 * covered in its sd_ack[s]. The sender spins until every target's
 * sd_ack[s] reached its generation, servicing its own pending requests
 * meanwhile (it runs with interrupts off, so two CPUs shooting down at each
 * other would otherwise wait for ever), and gives up with -EIO after
 * smp_sw.sd_timeout_us. Test switches: smp_sw.skip_ipis (the round returns
 * 0 at once), smp_sw.no_poll (a waiting sender does not service its own
 * mailbox) and a deaf CPU (it ignores its requests: the sender's -EIO).
 */
#include <vtlmem/types.h>

#include "kernel.h"

/* Over this many pages a target invalidates its whole TLB, not page by page. */
#define SD_FLUSH_PAGES 32

/* One CPU's mailbox; cross-CPU fields are accessed with __atomic. */
struct smp_mbox {
	/* shootdown: this CPU as a sender (the request; a seqlock, odd = being written) */
	uint64_t sd_seq __attribute__((aligned(64)));
	uintptr_t sd_va;
	uint64_t sd_len;
	/* shootdown: this CPU as a target (written by senders / by this CPU) */
	uint32_t sd_pending __attribute__((aligned(64)));  /* bit s: CPU s has a request */
	uint32_t deaf;                  /* test switch: ignore shootdown IPIs  */
	uint64_t sd_ack[MAX_CPUS] __attribute__((aligned(64))); /* gen of s acked */

	/* work posted by another CPU (smp_start) */
	smp_fn work_fn __attribute__((aligned(64)));
	void *work_arg;
	uint64_t work_posted, work_done;
};

static struct smp_mbox mbox[MAX_CPUS];
unsigned smp_ncpus = 1;
struct smp_test_switches smp_sw = { .sd_timeout_us = SD_TIMEOUT_US_DEFAULT };

volatile struct fault_record *cpu_fault_rec(void)
{
	return &kcpu(smp_cpu_id())->fault;
}

uint64_t smp_sum(size_t offset)
{
	uint64_t s = 0;
	unsigned i;

	for (i = 0; i < smp_ncpus; i++)
		s += __atomic_load_n((uint64_t *)((uint8_t *)kcpu(i) + offset), __ATOMIC_RELAXED);
	return s;
}

static void bump(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* ---- shootdown ---- */

/* Service every pending request addressed to CPU me (interrupts off). */
static void sd_service(unsigned me)
{
	struct smp_mbox *mb = &mbox[me];
	uint32_t pending;

	if (__atomic_load_n(&mb->deaf, __ATOMIC_ACQUIRE))
		return;
	pending = __atomic_exchange_n(&mb->sd_pending, 0, __ATOMIC_ACQ_REL);
	while (pending) {
		unsigned s = (unsigned)__builtin_ctz(pending);
		struct smp_mbox *from = &mbox[s];
		uint64_t s1, s2, len, i;
		uintptr_t va;

		pending &= pending - 1;
		s1 = __atomic_load_n(&from->sd_seq, __ATOMIC_ACQUIRE);
		va = __atomic_load_n(&from->sd_va, __ATOMIC_RELAXED);
		len = __atomic_load_n(&from->sd_len, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&from->sd_seq, __ATOMIC_RELAXED);
		if (s1 != s2 || (s1 & 1) || len > SD_FLUSH_PAGES * PAGE_SIZE) {
			tlb_flush_local();      /* covers every request published by s2 */
		} else {
			for (i = va & ~(PAGE_SIZE - 1); i < va + len; i += PAGE_SIZE)
				tlb_page_local(i);
		}
		__atomic_store_n(&mb->sd_ack[s], s2 / 2, __ATOMIC_RELEASE);
		bump(&kcpu(me)->acks);
	}
}

void smp_poll(void)
{
	unsigned long flags = irq_save();

	sd_service(smp_cpu_id());
	irq_restore(flags);
}

static bool all_acked(unsigned me, uint64_t gen)
{
	unsigned t;

	for (t = 0; t < smp_ncpus; t++)
		if (t != me && __atomic_load_n(&mbox[t].sd_ack[me], __ATOMIC_ACQUIRE) < gen)
			return false;
	return true;
}

int smp_shootdown(uintptr_t va, uint64_t len)
{
	unsigned long flags = irq_save();
	unsigned me = smp_cpu_id();
	struct smp_mbox *mb = &mbox[me];
	struct kcpu *k = kcpu(me);
	uint64_t seq, gen, t0, deadline;
	unsigned t;
	int ret = 0;

	bump(&k->shootdowns_sent);
	if (smp_ncpus == 1 || __atomic_load_n(&smp_sw.skip_ipis, __ATOMIC_RELAXED)) {
		irq_restore(flags);
		return 0;
	}
	t0 = cycles();
	seq = mb->sd_seq;
	__atomic_store_n(&mb->sd_seq, seq + 1, __ATOMIC_RELAXED);      /* writing */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&mb->sd_va, va, __ATOMIC_RELAXED);
	__atomic_store_n(&mb->sd_len, len, __ATOMIC_RELAXED);
	__atomic_store_n(&mb->sd_seq, seq + 2, __ATOMIC_RELEASE);      /* published */
	gen = (seq + 2) / 2;
	for (t = 0; t < smp_ncpus; t++) {
		if (t == me)
			continue;
		__atomic_fetch_or(&mbox[t].sd_pending, 1u << me, __ATOMIC_ACQ_REL);
		arch_send_ipi(t, SMP_IPI_SHOOTDOWN);
		bump(&k->ipis_sent);
	}
	deadline = t0 + us_to_cycles(smp_sw.sd_timeout_us);
	while (!all_acked(me, gen)) {
		if (!__atomic_load_n(&smp_sw.no_poll, __ATOMIC_RELAXED))
			sd_service(me);
		if (cycles() > deadline) {
			bump(&k->sd_timeouts);
			ret = -VTLMEM_EIO;
			break;
		}
		cpu_relax();
	}
	k->sd_cycles += cycles() - t0;
	k->sd_rounds++;
	irq_restore(flags);
	return ret;
}

void smp_handle_ipi(enum smp_ipi ipi)
{
	unsigned me = smp_cpu_id();

	switch (ipi) {
	case SMP_IPI_SHOOTDOWN:
		bump(&kcpu(me)->ipis_received);
		sd_service(me);
		break;
	case SMP_IPI_WAKE:
		bump(&kcpu(me)->wakes);
		break;
	}
}

void smp_set_deaf(unsigned cpu, bool deaf)
{
	__atomic_store_n(&mbox[cpu].deaf, deaf, __ATOMIC_RELEASE);
}

bool smp_is_deaf(unsigned cpu)
{
	return __atomic_load_n(&mbox[cpu].deaf, __ATOMIC_ACQUIRE);
}

/* ---- work on other CPUs ---- */

#define WAIT_TIMEOUT_US 120000000UL     /* 120 s: a CPU that long is hung */

void smp_wait_flag(const unsigned *flag, unsigned want, const char *what)
{
	uint64_t deadline = cycles() + us_to_cycles(WAIT_TIMEOUT_US);

	while (__atomic_load_n(flag, __ATOMIC_ACQUIRE) != want) {
		smp_poll();
		if (cycles() > deadline)
			panic("cpu %u: waited 120 s for %s", smp_cpu_id(), what);
		cpu_relax();
	}
}

void smp_barrier_wait(struct smp_barrier *b)
{
	unsigned gen = __atomic_load_n(&b->gen, __ATOMIC_ACQUIRE);

	if (__atomic_add_fetch(&b->count, 1, __ATOMIC_ACQ_REL) == b->n) {
		__atomic_store_n(&b->count, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&b->gen, gen + 1, __ATOMIC_RELEASE);
		return;
	}
	smp_wait_flag(&b->gen, gen + 1, "a barrier");
}

void smp_start(unsigned cpu, smp_fn fn, void *arg)
{
	struct smp_mbox *c = &mbox[cpu];

	if (cpu == smp_cpu_id() || cpu >= smp_ncpus)
		panic("smp_start(%u): not another online CPU", cpu);
	if (__atomic_load_n(&c->work_done, __ATOMIC_ACQUIRE) != c->work_posted)
		panic("smp_start(%u): that CPU is still busy", cpu);
	c->work_fn = fn;
	c->work_arg = arg;
	__atomic_store_n(&c->work_posted, c->work_posted + 1, __ATOMIC_RELEASE);
	arch_send_ipi(cpu, SMP_IPI_WAKE);
}

void smp_wait(unsigned cpu)
{
	struct smp_mbox *c = &mbox[cpu];
	uint64_t deadline = cycles() + us_to_cycles(WAIT_TIMEOUT_US);

	while (__atomic_load_n(&c->work_done, __ATOMIC_ACQUIRE) != c->work_posted) {
		smp_poll();
		if (cycles() > deadline)
			panic("cpu %u did not finish its work in 120 s (hung)", cpu);
		cpu_relax();
	}
}

void smp_run(smp_fn fn, void *arg)
{
	unsigned me = smp_cpu_id(), c;

	for (c = 0; c < smp_ncpus; c++)
		if (c != me)
			smp_start(c, fn, arg);
	fn(me, arg);
	for (c = 0; c < smp_ncpus; c++)
		if (c != me)
			smp_wait(c);
}

/*
 * An online CPU's life after bring-up: run posted work (interrupts on),
 * else sleep with interrupts masked until one is pending (idle_wait: no
 * wake-up is lost between the check and the sleep) and take it after.
 */
noreturn void smp_idle(unsigned id)
{
	struct smp_mbox *c = &mbox[id];
	uint64_t posted;

	for (;;) {
		idle_irq_off();
		posted = __atomic_load_n(&c->work_posted, __ATOMIC_ACQUIRE);
		if (posted != c->work_done) {
			idle_irq_on();
			c->work_fn(id, c->work_arg);
			__atomic_store_n(&c->work_done, posted, __ATOMIC_RELEASE);
			continue;
		}
		idle_wait();
	}
}
