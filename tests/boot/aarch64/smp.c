// SPDX-License-Identifier: MIT
/*
 * SMP for the aarch64 boot kernel: per-CPU data through TPIDR_EL1, the
 * GICv2 of QEMU virt (distributor and CPU interface mapped Device at
 * DEV_BASE + physical), bring-up through PSCI CPU_ON, work posted to idle
 * CPUs, and the TLB shootdown IPI.
 *
 * Bring-up (one CPU at a time, in device-tree order): PSCI CPU_ON (hvc or
 * smc, the device tree's /psci method: hvc when QEMU starts the kernel at
 * EL1, smc with virtualization=on) with the physical address of head.S's
 * secondary_entry and the CPU's number as context. The CPU drops to EL1 if
 * it started at EL2, turns its MMU on through the boot identity tables
 * straight into the final kernel tables (boot_ttbr1), takes its stacks and
 * TPIDR_EL1, and arrives in ap_main: the library's MAIR (mm_cpu_init), its
 * banked GIC state (SGIs enabled, priority mask open, CPU interface on),
 * online, then idles (WFI with IRQs on). A CPU not online within 10 s is
 * fatal.
 *
 * The library does not need IPIs on arm64 (TLBI ...IS is broadcast by the
 * hardware and the library uses it), but the platform's tlb_shootdown op,
 * optional on arm64, is set here like on x86_64: a hypervisor-aware kernel
 * may need to know, and the same shootdown tests (acknowledgements, a CPU
 * that does not answer -> -EIO, deadlock avoidance with interrupts off) run
 * on both. The protocol is x86_64's (tests/boot/x86_64/smp.c): sender s
 * publishes (va, len) under a sequence count (sd_seq, odd while being
 * written; generation sd_seq / 2), sets bit s in every target's sd_pending
 * and sends each an SGI_SHOOTDOWN; a target, in its IRQ handler or when
 * polling, invalidates locally (TLBI VALE1 per page, VMALLE1 above
 * SD_FLUSH_PAGES or when the request changed while it read it) and stores
 * the generation in its sd_ack[s]; the sender spins, servicing its own
 * mailbox, until all acknowledged or smp_sw.sd_timeout_us passed (-EIO).
 *
 * smp_sw.skip_ipis on arm64 must also keep the LIBRARY's invalidation from
 * reaching other CPUs (else the hardware broadcast hides a missing
 * shootdown): while smp_set_skip_ipis(true) has it on, the platform's
 * tlb_local op is installed, invalidating this CPU only (TLBI VALE1 /
 * VMALLE1) in place of the library's TLBI VALE1IS / VMALLE1IS; otherwise
 * tlb_local is NULL and the library invalidates with its own code.
 */
#include <vtlmem/types.h>

#include "platform.h"
#include "smp.h"

_Static_assert(sizeof(struct cpu) == CPU_STRUCT_SIZE, "head.S indexes cpus[] by CPU_STRUCT_SIZE");
_Static_assert(offsetof(struct cpu, id) == 8, "karch.h: smp_cpu_id() reads offset 8");

struct cpu cpus[MAX_CPUS];
unsigned smp_ncpus = 1;
uint64_t cycles_khz;
struct smp_test_switches smp_sw = { .sd_timeout_us = SD_TIMEOUT_US_DEFAULT };

extern char cpu_stacks[];
extern char secondary_entry[];
extern uint64_t boot_ttbr1;

/* GICv2 (QEMU virt): distributor and CPU interface registers. */
#define GICD_PHYS      0x08000000UL
#define GICC_PHYS      0x08010000UL
#define GICD_CTLR      0x000
#define GICD_ISENABLER 0x100
#define GICD_IPRIORITY 0x400
#define GICD_ITARGETS  0x800
#define GICD_SGIR      0xf00
#define GICC_CTLR      0x000
#define GICC_PMR       0x004
#define GICC_IAR       0x00c
#define GICC_EOIR      0x010

static inline volatile uint32_t *gicd(unsigned off)
{
	return (volatile uint32_t *)(DEV_BASE + GICD_PHYS + off);
}

static inline volatile uint32_t *gicc(unsigned off)
{
	return (volatile uint32_t *)(DEV_BASE + GICC_PHYS + off);
}

volatile struct fault_record *cpu_fault_rec(void)
{
	return &this_cpu()->k.fault;
}

uintptr_t smp_guard_page(unsigned cpu)
{
	return (uintptr_t)cpu_stacks + (uintptr_t)cpu * CPU_STACK_BLOCK;
}

uintptr_t smp_stack_top(unsigned cpu)
{
	return smp_guard_page(cpu) + PAGE_SIZE + STACK_SIZE;
}

uintptr_t smp_exc_stack_top(unsigned cpu)
{
	return smp_guard_page(cpu) + CPU_STACK_BLOCK;
}

bool smp_is_guard_page(uintptr_t va)
{
	uintptr_t off;

	if (va < (uintptr_t)cpu_stacks ||
	    va >= (uintptr_t)cpu_stacks + (uintptr_t)MAX_CPUS * CPU_STACK_BLOCK)
		return false;
	off = (va - (uintptr_t)cpu_stacks) % CPU_STACK_BLOCK;
	return off < PAGE_SIZE || (off >= PAGE_SIZE + STACK_SIZE &&
				   off < 2 * PAGE_SIZE + STACK_SIZE);
}

void smp_early_init(void)
{
	cpus[0].self = &cpus[0];
	cpus[0].id = 0;
	cpus[0].mpidr = read_sysreg(mpidr_el1) & 0xff00ffffffUL;
}

struct kcpu *kcpu(unsigned cpu)
{
	return &cpus[cpu].k;
}

uint64_t smp_sum(size_t offset)
{
	uint64_t s = 0;
	unsigned i;

	for (i = 0; i < smp_ncpus; i++)
		s += __atomic_load_n((uint64_t *)((char *)&cpus[i].k + offset), __ATOMIC_RELAXED);
	return s;
}

static void bump(uint64_t *c)
{
	__atomic_fetch_add(c, 1, __ATOMIC_RELAXED);
}

/* ---- PSCI ---- */

#define PSCI_CPU_ON_64   0xc4000003UL
#define PSCI_SYSTEM_OFF  0x84000008UL

static uint64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fn;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;

	if (boot_info.psci_hvc)
		__asm__ volatile("hvc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
	else
		__asm__ volatile("smc #0" : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3) : : "memory");
	return x0;
}

noreturn void psci_system_off(void)
{
	psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
	cpu_stop();
}

int64_t psci_cpu_on(uint64_t mpidr, uint64_t entry_pa, uint64_t ctx)
{
	return (int64_t)psci_call(PSCI_CPU_ON_64, mpidr, entry_pa, ctx);
}

/* ---- GIC ---- */

/* This CPU's banked GIC state: SGIs 0-15 enabled at priority 0x80, interface on. */
static void gic_cpu_init(struct cpu *c)
{
	unsigned i;

	for (i = 0; i < 16; i += 4)
		*gicd(GICD_IPRIORITY + i) = 0x80808080u;
	*gicd(GICD_ISENABLER) = 0xffffu;
	c->gic_mask = *gicd(GICD_ITARGETS) & 0xff;     /* banked: this CPU's bit */
	if (!c->gic_mask && boot_info.ncpus == 1)
		c->gic_mask = 1;        /* uniprocessor GIC: ITARGETSR reads as zero */
	if (!c->gic_mask)
		panic("smp: cpu %u has no GIC CPU interface bit", c->id);
	*gicc(GICC_PMR) = 0xf0;
	*gicc(GICC_CTLR) = 1;
}

static void gic_send(const struct cpu *to, unsigned sgi)
{
	__asm__ volatile("dsb ishst" : : : "memory");   /* the request before the SGI */
	*gicd(GICD_SGIR) = (to->gic_mask << 16) | sgi;
}

/* ---- shootdown ---- */

static void flush_all_local(void)
{
	tlbi_all_local();
}

/* Service every pending request addressed to this CPU (interrupts off). */
static void sd_service(struct cpu *me)
{
	uint32_t pending;

	if (__atomic_load_n(&me->deaf, __ATOMIC_ACQUIRE))
		return;
	pending = __atomic_exchange_n(&me->sd_pending, 0, __ATOMIC_ACQ_REL);
	while (pending) {
		unsigned s = (unsigned)__builtin_ctz(pending);
		struct cpu *from = &cpus[s];
		uint64_t s1, s2, len, i;
		uintptr_t va;

		pending &= pending - 1;
		s1 = __atomic_load_n(&from->sd_seq, __ATOMIC_ACQUIRE);
		va = __atomic_load_n(&from->sd_va, __ATOMIC_RELAXED);
		len = __atomic_load_n(&from->sd_len, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		s2 = __atomic_load_n(&from->sd_seq, __ATOMIC_RELAXED);
		if (s1 != s2 || (s1 & 1) || len > SD_FLUSH_PAGES * PAGE_SIZE) {
			flush_all_local();      /* covers every request published by s2 */
		} else {
			for (i = va & ~(PAGE_SIZE - 1); i < va + len; i += PAGE_SIZE)
				tlbi_page_local(i);
		}
		__atomic_store_n(&me->sd_ack[s], s2 / 2, __ATOMIC_RELEASE);
		bump(&me->k.acks);
	}
}

void smp_poll(void)
{
	unsigned long flags = irq_save();

	sd_service(this_cpu());
	irq_restore(flags);
}

static bool all_acked(const struct cpu *me, uint64_t gen)
{
	unsigned t;

	for (t = 0; t < smp_ncpus; t++)
		if (t != me->id && __atomic_load_n(&cpus[t].sd_ack[me->id], __ATOMIC_ACQUIRE) < gen)
			return false;
	return true;
}

int smp_shootdown(uintptr_t va, uint64_t len)
{
	unsigned long flags = irq_save();
	struct cpu *me = this_cpu();
	uint64_t seq, gen, t0, deadline;
	unsigned t;
	int ret = 0;

	bump(&me->k.shootdowns_sent);
	if (smp_ncpus == 1 || __atomic_load_n(&smp_sw.skip_ipis, __ATOMIC_RELAXED)) {
		irq_restore(flags);
		return 0;
	}
	t0 = cycles();
	seq = me->sd_seq;
	__atomic_store_n(&me->sd_seq, seq + 1, __ATOMIC_RELAXED);      /* writing */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&me->sd_va, va, __ATOMIC_RELAXED);
	__atomic_store_n(&me->sd_len, len, __ATOMIC_RELAXED);
	__atomic_store_n(&me->sd_seq, seq + 2, __ATOMIC_RELEASE);      /* published */
	gen = (seq + 2) / 2;
	for (t = 0; t < smp_ncpus; t++) {
		if (t == me->id)
			continue;
		__atomic_fetch_or(&cpus[t].sd_pending, 1u << me->id, __ATOMIC_ACQ_REL);
		gic_send(&cpus[t], SGI_SHOOTDOWN);
		bump(&me->k.ipis_sent);
	}
	deadline = t0 + us_to_cycles(smp_sw.sd_timeout_us);
	while (!all_acked(me, gen)) {
		if (!__atomic_load_n(&smp_sw.no_poll, __ATOMIC_RELAXED))
			sd_service(me);
		if (cycles() > deadline) {
			bump(&me->k.sd_timeouts);
			ret = -VTLMEM_EIO;
			break;
		}
		cpu_relax();
	}
	me->k.sd_cycles += cycles() - t0;
	me->k.sd_rounds++;
	irq_restore(flags);
	return ret;
}

void smp_flush_all_cpus(void)
{
	tlbi_all_all();
}

/* The platform's tlb_local op while skip_ipis is on: this CPU only. */
void smp_tlb_local_only(void *ctx, uintptr_t va, uint64_t npages)
{
	uint64_t i;

	(void)ctx;
	if (!npages) {
		tlbi_all_local();
		return;
	}
	for (i = 0; i < npages; i++)
		tlbi_page_local(va + i * PAGE_SIZE);
}

void smp_set_skip_ipis(bool on)
{
	__atomic_store_n(&smp_sw.skip_ipis, on, __ATOMIC_RELAXED);
	boot_platform.tlb_local = on ? smp_tlb_local_only : NULL;
}

void smp_set_deaf(unsigned cpu, bool deaf)
{
	__atomic_store_n(&cpus[cpu].deaf, deaf, __ATOMIC_RELEASE);
}

bool smp_is_deaf(unsigned cpu)
{
	return __atomic_load_n(&cpus[cpu].deaf, __ATOMIC_ACQUIRE);
}

void smp_irq(void)
{
	struct cpu *me = this_cpu();
	uint32_t iar = *gicc(GICC_IAR);
	unsigned id = iar & 0x3ff;

	if (id == 1023)
		return;                 /* spurious */
	switch (id) {
	case SGI_SHOOTDOWN:
		bump(&me->k.ipis_received);
		sd_service(me);
		break;
	case SGI_WAKE:
		bump(&me->k.wakes);
		break;
	default:
		break;
	}
	*gicc(GICC_EOIR) = iar;
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
	struct cpu *c = &cpus[cpu];

	if (cpu == smp_cpu_id() || cpu >= smp_ncpus)
		panic("smp_start(%u): not another online CPU", cpu);
	if (__atomic_load_n(&c->work_done, __ATOMIC_ACQUIRE) != c->work_posted)
		panic("smp_start(%u): that CPU is still busy", cpu);
	c->work_fn = fn;
	c->work_arg = arg;
	__atomic_store_n(&c->work_posted, c->work_posted + 1, __ATOMIC_RELEASE);
	gic_send(c, SGI_WAKE);
}

void smp_wait(unsigned cpu)
{
	struct cpu *c = &cpus[cpu];
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
 * A CPU's life after ap_main: run posted work (IRQs on), else sleep in WFI
 * with IRQs masked (a pending IRQ still wakes it: no wake-up is lost
 * between the check and the WFI) and take the IRQ after it.
 */
static noreturn void ap_idle(struct cpu *c)
{
	uint64_t posted;

	for (;;) {
		__asm__ volatile("msr daifset, #2" : : : "memory");
		posted = __atomic_load_n(&c->work_posted, __ATOMIC_ACQUIRE);
		if (posted != c->work_done) {
			__asm__ volatile("msr daifclr, #2" : : : "memory");
			c->work_fn(c->id, c->work_arg);
			__atomic_store_n(&c->work_done, posted, __ATOMIC_RELEASE);
			continue;
		}
		__asm__ volatile("wfi; msr daifclr, #2; isb" : : : "memory");
	}
}

noreturn void ap_main(unsigned id);

noreturn void ap_main(unsigned id)
{
	struct cpu *c = &cpus[id];

	mm_cpu_init();
	gic_cpu_init(c);
	__atomic_store_n(&c->online, 1, __ATOMIC_RELEASE);
	ap_idle(c);
}

static uint64_t cmdline_uint(const char *key, uint64_t dflt)
{
	char buf[16];
	uint64_t v = 0;
	size_t i;

	cmdline_get(key, buf, sizeof(buf));
	if (!buf[0])
		return dflt;
	for (i = 0; buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(buf[i] - '0');
	return v;
}

/*
 * The GIC, then the device tree's CPUs one at a time (at most maxcpus=),
 * then IRQs on. The kernel dies unless exactly cpus=N came up, when given
 * (run-qemu passes it), so an SMP run never quietly tests fewer CPUs.
 */
void smp_init(void)
{
	uint64_t want = cmdline_uint("cpus", 0), max = cmdline_uint("maxcpus", MAX_CPUS);
	uint64_t me = cpus[0].mpidr, t0;
	unsigned i, n = 1;
	int64_t err;

	cycles_khz = read_sysreg(cntfrq_el0) / 1000;
	if (!cycles_khz)
		panic("smp: CNTFRQ_EL0 is 0");
	kmap_device(GICD_PHYS);
	kmap_device(GICC_PHYS);
	*gicd(GICD_CTLR) = 1;
	gic_cpu_init(&cpus[0]);
	cpus[0].online = 1;
	if (max > MAX_CPUS)
		max = MAX_CPUS;
	boot_ttbr1 = kernel_root();
	__asm__ volatile("dsb sy" : : : "memory");
	for (i = 0; i < boot_info.ncpus && n < max; i++) {
		struct cpu *c = &cpus[n];

		if (boot_info.mpidr[i] == me)
			continue;
		c->self = c;
		c->id = n;
		c->mpidr = boot_info.mpidr[i];
		__asm__ volatile("dsb sy" : : : "memory");
		err = psci_cpu_on(c->mpidr, (uint64_t)secondary_entry - KERNEL_VMA, n);
		if (err)
			panic("smp: PSCI CPU_ON(mpidr %lx) = %ld", c->mpidr, (long)err);
		t0 = cycles();
		while (!__atomic_load_n(&c->online, __ATOMIC_ACQUIRE)) {
			cpu_relax();
			if (cycles() - t0 > 10 * 1000 * cycles_khz)
				panic("smp: cpu %u (mpidr %lx) not online after 10 s", n, c->mpidr);
		}
		n++;
	}
	smp_ncpus = n;
	__asm__ volatile("msr daifclr, #2" : : : "memory");    /* IRQs on */
	if (want && want != n)
		panic("smp: cpus=%lu on the command line, %u online", want, n);
}
