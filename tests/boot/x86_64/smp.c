// SPDX-License-Identifier: MIT
/*
 * SMP for the boot kernel: per-CPU data through GS, the local APIC (xAPIC
 * registers mapped UC at LAPIC_VA), application-processor bring-up with
 * INIT-SIPI-SIPI, work posted to idle CPUs, and the TLB shootdown IPI.
 *
 * AP bring-up (one AP at a time): the BSP copies the real-mode trampoline
 * (trampoline.S) to TRAMP_PA, tells it which CPU and stack come next
 * (ap_boot_*), sends INIT, waits 10 ms, sends SIPI (vector TRAMP_PA >> 12)
 * and, if the AP is not up 200 us later, a second SIPI. The AP goes real ->
 * protected -> long mode on head.S's boot tables (which still identity-map
 * low memory), jumps to ap_entry64 at the kernel's link address, loads its
 * own GDT/TSS/IDT and GS base (ap_main), switches to the kernel's tables,
 * programs PAT, enables its local APIC, marks itself online and idles in
 * hlt with interrupts on. A CPU that does not come up in 1 s is fatal.
 *
 * The shootdown protocol, posted work and the idle loop are portable
 * (tests/boot/common/smp.c, README.md "SMP"); here: VEC_SHOOTDOWN and
 * VEC_WAKE as its IPIs (arch_send_ipi, smp_irq), a CR3 reload / invlpg as
 * its invalidations.
 */
#include <vtlmem/types.h>
#include <vtlmem/x86_64.h>

#include "smp.h"

/* xAPIC registers (offsets from the base) and ICR bits. */
#define APIC_ID         0x020
#define APIC_TPR        0x080
#define APIC_EOI        0x0b0
#define APIC_SVR        0x0f0
#define APIC_ESR        0x280
#define APIC_ICR_LO     0x300
#define APIC_ICR_HI     0x310
#define APIC_LVT_TIMER  0x320
#define APIC_LVT_LINT0  0x350
#define APIC_LVT_ERROR  0x370
#define APIC_SVR_ENABLE (1u << 8)
#define APIC_LVT_MASKED (1u << 16)
#define ICR_BUSY        (1u << 12)
#define ICR_INIT        0x500u
#define ICR_STARTUP     0x600u
#define ICR_LEVEL       (1u << 15)
#define ICR_ASSERT      (1u << 14)
#define MSR_APIC_BASE   0x1b
#define APIC_BASE_EN    (1UL << 11)
#define APIC_BASE_X2    (1UL << 10)
#define MSR_GS_BASE     0xc0000101

struct cpu_stacks {
	uint8_t guard[PAGE_SIZE];       /* unmapped: an overflow faults */
	uint8_t stack[STACK_SIZE];
	uint8_t ist_guard[PAGE_SIZE];   /* unmapped */
	uint8_t ist[IST_STACK_SIZE];    /* #DF stack (TSS IST1) */
};

struct cpu cpus[MAX_CPUS];
static struct cpu_stacks cpu_stacks[MAX_CPUS]
	__attribute__((aligned(4096), section(".bss.stack")));
uint64_t cycles_khz = 1000000;     /* until calibrated: assume 1 GHz */

/* Read by the AP in ap_entry64 (trampoline.S) and ap_main. */
uint64_t ap_boot_stack;
unsigned ap_boot_cpu;

extern const uint8_t tramp_start[], tramp_end[], tramp_cr3[];
extern uint8_t boot_pml4[];
extern char boot_cmdline[];

/* ---- per-CPU data, stacks ---- */

uintptr_t smp_stack_top(unsigned cpu)
{
	return (uintptr_t)(cpu_stacks[cpu].stack + STACK_SIZE);
}

uintptr_t smp_ist_top(unsigned cpu)
{
	return (uintptr_t)(cpu_stacks[cpu].ist + IST_STACK_SIZE);
}

uintptr_t smp_guard_page(unsigned cpu)
{
	return (uintptr_t)cpu_stacks[cpu].guard;
}

bool smp_is_guard_page(uintptr_t va)
{
	unsigned i;

	for (i = 0; i < MAX_CPUS; i++)
		if (va == (uintptr_t)cpu_stacks[i].guard ||
		    va == (uintptr_t)cpu_stacks[i].ist_guard)
			return true;
	return false;
}

static void gs_init(struct cpu *c, unsigned id)
{
	c->self = c;
	c->id = id;
	wrmsr(MSR_GS_BASE, (uint64_t)c);
}

void smp_early_init(void)
{
	_Static_assert(offsetof(struct cpu, self) == 0, "this_cpu() reads %gs:0");
	_Static_assert(offsetof(struct cpu, id) == 8, "smp_cpu_id() reads %gs:8");
	gs_init(&cpus[0], 0);
}

struct kcpu *kcpu(unsigned cpu)
{
	return &cpus[cpu].k;
}

/* ---- time ---- */

static void udelay(uint64_t us)
{
	uint64_t end = rdtsc() + us_to_cycles(us);

	while (rdtsc() < end)
		cpu_relax();
}

/* TSC ticks in 10 ms of PIT channel 2 (mode 0, gate on, speaker off). */
static void tsc_calibrate(void)
{
	const unsigned latch = 1193182 / 100;
	uint64_t t0, t1;
	unsigned long n = 0;

	outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
	outb(0x43, 0xb0);
	outb(0x42, latch & 0xff);
	outb(0x42, latch >> 8);
	t0 = rdtsc();
	while (!(inb(0x61) & 0x20) && ++n < 100000000UL)
		;
	t1 = rdtsc();
	if (n < 100000000UL && t1 - t0 >= 10000)
		cycles_khz = (t1 - t0) / 10;
	else
		kprintf("smp: PIT calibration failed, assuming a 1 GHz TSC\n");
}

/* ---- local APIC ---- */

static inline uint32_t lapic_read(unsigned reg)
{
	return *(volatile uint32_t *)(LAPIC_VA + reg);
}

static inline void lapic_write(unsigned reg, uint32_t v)
{
	*(volatile uint32_t *)(LAPIC_VA + reg) = v;
}

static unsigned lapic_id(void)
{
	return lapic_read(APIC_ID) >> 24;
}

/* Software-enable this CPU's APIC: spurious vector, timer and LINT0 masked. */
static void lapic_init(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);

	if ((base & ~0xfffUL) != LAPIC_PA)
		panic("local APIC at 0x%lx, expected 0x%lx", base & ~0xfffUL, LAPIC_PA);
	if (base & APIC_BASE_X2)
		panic("local APIC in x2APIC mode: this kernel drives the xAPIC registers");
	wrmsr(MSR_APIC_BASE, base | APIC_BASE_EN);
	lapic_write(APIC_TPR, 0);
	lapic_write(APIC_LVT_TIMER, APIC_LVT_MASKED);
	lapic_write(APIC_LVT_LINT0, APIC_LVT_MASKED);
	lapic_write(APIC_LVT_ERROR, APIC_LVT_MASKED);
	lapic_write(APIC_SVR, APIC_SVR_ENABLE | VEC_SPURIOUS);
	lapic_write(APIC_ESR, 0);
	lapic_write(APIC_ESR, 0);
	lapic_write(APIC_EOI, 0);
}

/* Send an IPI (ICR low word lo) to one APIC id; interrupts off around it. */
static void lapic_send(unsigned apic_id, uint32_t lo)
{
	unsigned long flags = irq_save();
	unsigned n = 0;

	while ((lapic_read(APIC_ICR_LO) & ICR_BUSY) && ++n < 1000000)
		cpu_relax();
	lapic_write(APIC_ICR_HI, apic_id << 24);
	lapic_write(APIC_ICR_LO, lo);
	irq_restore(flags);
}

/* Mask both 8259 PICs, remapped to 32-47 (a spurious IRQ 7 is then harmless). */
static void pic_disable(void)
{
	outb(0x20, 0x11);
	outb(0xa0, 0x11);
	outb(0x21, VEC_PIC_BASE);
	outb(0xa1, VEC_PIC_BASE + 8);
	outb(0x21, 4);
	outb(0xa1, 2);
	outb(0x21, 1);
	outb(0xa1, 1);
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}

/* ---- ACPI MADT: the local APIC ids of the enabled processors ---- */

/*
 * A table through the direct map. The firmware's tables lie just above the
 * RAM the multiboot info reports (reserved memory at its top), inside the
 * last 2 MiB page of the direct map.
 */
static const void *acpi_phys(uint64_t pa, uint64_t len)
{
	uint64_t end = (ram_top + 0x1fffff) & ~0x1fffffUL;

	if (pa >= end || len > end - pa)
		return NULL;
	return phys_to_virt(pa);
}

static bool acpi_sum_ok(const uint8_t *p, uint64_t len)
{
	uint8_t s = 0;
	uint64_t i;

	for (i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s == 0;
}

static const uint8_t *rsdp_find(void)
{
	uint64_t ebda = (uint64_t)*(const uint16_t *)phys_to_virt(0x40e) << 4;
	uint64_t ranges[2][2] = { { ebda, ebda + 1024 }, { 0xe0000, 0x100000 } };
	unsigned r;
	uint64_t pa;

	for (r = 0; r < 2; r++)
		for (pa = ranges[r][0] & ~15UL; pa + 20 <= ranges[r][1]; pa += 16) {
			const uint8_t *p = phys_to_virt(pa);

			if (pa && !memcmp(p, "RSD PTR ", 8) && acpi_sum_ok(p, 20))
				return p;
		}
	return NULL;
}

/* The MADT, found through the RSDT or XSDT; NULL if there is none. */
static const uint8_t *madt_find(void)
{
	const uint8_t *rsdp = rsdp_find(), *sdt, *t;
	uint32_t len, i, n, esz;
	uint64_t pa;
	bool x;

	if (!rsdp)
		return NULL;
	x = rsdp[15] >= 2 && *(const uint64_t *)(rsdp + 24);
	pa = x ? *(const uint64_t *)(rsdp + 24) : *(const uint32_t *)(rsdp + 16);
	sdt = acpi_phys(pa, 36);
	if (!sdt)
		return NULL;
	len = *(const uint32_t *)(sdt + 4);
	if (len < 36 || !acpi_phys(pa, len))
		return NULL;
	esz = x ? 8 : 4;
	n = (len - 36) / esz;
	for (i = 0; i < n; i++) {
		pa = x ? *(const uint64_t *)(sdt + 36 + i * 8) : *(const uint32_t *)(sdt + 36 + i * 4);
		t = acpi_phys(pa, 36);
		if (t && !memcmp(t, "APIC", 4) && acpi_phys(pa, *(const uint32_t *)(t + 4)))
			return t;
	}
	return NULL;
}

/* Enabled processors' APIC ids other than self, in MADT order; returns how many. */
static unsigned madt_ap_ids(unsigned self, unsigned *ids, unsigned max)
{
	const uint8_t *m = madt_find(), *e, *end;
	unsigned n = 0;

	if (!m) {
		kprintf("smp: no ACPI MADT, running on the boot CPU only\n");
		return 0;
	}
	end = m + *(const uint32_t *)(m + 4);
	for (e = m + 44; e + 2 <= end && e[1] >= 2 && e + e[1] <= end; e += e[1])
		if (e[0] == 0 && e[1] >= 8 && (*(const uint32_t *)(e + 4) & 1) && e[3] != self &&
		    n < max)
			ids[n++] = e[3];
	return n;
}

/* ---- shootdown ---- */

void arch_send_ipi(unsigned cpu, enum smp_ipi ipi)
{
	lapic_send(cpus[cpu].apic_id, ipi == SMP_IPI_SHOOTDOWN ? VEC_SHOOTDOWN : VEC_WAKE);
}

static void flush_fn(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	tlb_flush_local();
}

void smp_flush_all_cpus(void)
{
	smp_run(flush_fn, NULL);
}

void smp_set_skip_ipis(bool on)
{
	__atomic_store_n(&smp_sw.skip_ipis, on, __ATOMIC_RELAXED);
}

void smp_irq(unsigned vector)
{
	switch (vector) {
	case VEC_SHOOTDOWN:
		smp_handle_ipi(SMP_IPI_SHOOTDOWN);
		lapic_write(APIC_EOI, 0);
		break;
	case VEC_WAKE:
		smp_handle_ipi(SMP_IPI_WAKE);
		lapic_write(APIC_EOI, 0);
		break;
	default:
		break;  /* spurious (APIC or a masked PIC line): no EOI */
	}
}

/* ---- bring-up ---- */

void trap_cpu_init(struct cpu *c);
noreturn void ap_main(unsigned id);

noreturn void ap_main(unsigned id)
{
	struct cpu *c = &cpus[id];

	gs_init(c, id);
	trap_cpu_init(c);
	write_cr3(kernel_root());       /* off head.S's boot tables */
	write_cr4(read_cr4() | CR4_PGE);
	wrmsr(VTLMEM_X86_MSR_PAT, VTLMEM_X86_PAT_VALUE);
	lapic_init();
	c->apic_id = lapic_id();
	__atomic_store_n(&c->online, 1, __ATOMIC_RELEASE);
	smp_idle(id);
}

static bool ap_wait_online(struct cpu *c, uint64_t us)
{
	uint64_t end = rdtsc() + us_to_cycles(us);

	while (rdtsc() < end)
		if (__atomic_load_n(&c->online, __ATOMIC_ACQUIRE))
			return true;
	return false;
}

static void ap_boot(unsigned id, unsigned apic_id)
{
	struct cpu *c = &cpus[id];

	ap_boot_cpu = id;
	ap_boot_stack = smp_stack_top(id);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	lapic_send(apic_id, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
	udelay(10000);
	lapic_send(apic_id, ICR_INIT | ICR_LEVEL);
	lapic_send(apic_id, ICR_STARTUP | (TRAMP_PA >> 12));
	if (!ap_wait_online(c, 200)) {
		lapic_send(apic_id, ICR_STARTUP | (TRAMP_PA >> 12));
		if (!ap_wait_online(c, 1000000))
			panic("smp: CPU %u (APIC id %u) did not come up", id, apic_id);
	}
	if (c->apic_id != apic_id)
		panic("smp: CPU %u came up with APIC id %u, started %u", id, c->apic_id, apic_id);
}

void smp_init(void)
{
	unsigned ids[MAX_CPUS], n, i, max = (unsigned)cmdline_uint("maxcpus", MAX_CPUS), want;
	uint64_t tramp_len = (uint64_t)(tramp_end - tramp_start);

	tsc_calibrate();
	kmap_pte(LAPIC_VA, LAPIC_PA, PTE_P | PTE_W | PTE_PCD | PTE_PWT | PTE_G | PTE_NX);
	pic_disable();
	lapic_init();
	cpus[0].apic_id = lapic_id();
	cpus[0].online = 1;
	if (max > MAX_CPUS || max == 0)
		max = MAX_CPUS;
	n = madt_ap_ids(cpus[0].apic_id, ids, max - 1);
	if (n) {
		memcpy(phys_to_virt(TRAMP_PA), tramp_start, tramp_len);
		*(uint32_t *)phys_to_virt(TRAMP_PA + (uint64_t)(tramp_cr3 - tramp_start)) =
			(uint32_t)((uintptr_t)boot_pml4 - KERNEL_VMA);
	}
	for (i = 0; i < n; i++) {
		ap_boot(i + 1, ids[i]);
		smp_ncpus = i + 2;
	}
	__asm__ volatile("sti" : : : "memory");
	want = (unsigned)cmdline_uint("cpus", 0);
	kprintf("smp: %u CPU(s) online (APIC ids", smp_ncpus);
	for (i = 0; i < smp_ncpus; i++)
		kprintf(" %u", cpus[i].apic_id);
	kprintf("), TSC %lu MHz\n", cycles_khz / 1000);
	if (want && want != smp_ncpus)
		panic("smp: cpus=%u on the command line, %u online", want, smp_ncpus);
}
