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
 * on both: the protocol, posted work and the idle loop are portable
 * (tests/boot/common/smp.c); here: SGI_SHOOTDOWN and SGI_WAKE as its IPIs
 * (arch_send_ipi, smp_irq), TLBI VALE1 / VMALLE1 (this CPU only) as its
 * invalidations.
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
uint64_t cycles_khz;

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

void arch_send_ipi(unsigned cpu, enum smp_ipi ipi)
{
	gic_send(&cpus[cpu], ipi == SMP_IPI_SHOOTDOWN ? SGI_SHOOTDOWN : SGI_WAKE);
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

void smp_irq(void)
{
	uint32_t iar = *gicc(GICC_IAR);
	unsigned id = iar & 0x3ff;

	if (id == 1023)
		return;                 /* spurious */
	switch (id) {
	case SGI_SHOOTDOWN:
		smp_handle_ipi(SMP_IPI_SHOOTDOWN);
		break;
	case SGI_WAKE:
		smp_handle_ipi(SMP_IPI_WAKE);
		break;
	default:
		break;
	}
	*gicc(GICC_EOIR) = iar;
}

noreturn void ap_main(unsigned id);

noreturn void ap_main(unsigned id)
{
	struct cpu *c = &cpus[id];

	mm_cpu_init();
	gic_cpu_init(c);
	__atomic_store_n(&c->online, 1, __ATOMIC_RELEASE);
	smp_idle(id);
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
