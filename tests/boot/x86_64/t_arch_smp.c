// SPDX-License-Identifier: MIT
/*
 * The x86_64 kernel's own SMP platform: every CPU on its own GS data,
 * stack (with an unmapped guard page below), double-fault IST stack, GDT,
 * TSS and IDT, with interrupts on and a distinct local APIC id; the local
 * APIC's registers mapped uncached. (The portable SMP cases are in
 * tests/boot/common/t_smp.c.)
 */
#include "ktest.h"
#include "pat.h"
#include "platform.h"
#include "smp.h"

struct cpu_seen {
	unsigned id_gs, id_plat, apic;
	uintptr_t rsp, gdtr, idtr, ist;
	uint16_t tr;
	bool if_on;
};
static struct cpu_seen seen[MAX_CPUS];

static void who_am_i(unsigned cpu, void *arg)
{
	struct cpu_seen *s = &seen[cpu];
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr, idtr;
	unsigned long f;

	(void)arg;
	__asm__ volatile("sgdt %0; sidt %1; str %2" : "=m"(gdtr), "=m"(idtr), "=r"(s->tr));
	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	__asm__ volatile("movq %%rsp, %0" : "=r"(s->rsp));
	s->id_gs = smp_cpu_id();
	s->id_plat = boot_platform.cpu_id(boot_platform.ctx);
	s->apic = this_cpu()->apic_id;
	s->gdtr = gdtr.base;
	s->idtr = idtr.base;
	s->ist = this_cpu()->tss.ist[0];
	s->if_on = f & (1UL << 9);
}

/* Each CPU has its own GS data, stack (guard page below), GDT, TSS and IDT. */
KTEST(smp_every_cpu_has_its_own_gs_data_stack_gdt_tss_and_idt)
{
	extern char boot_stack_top[];
	struct pt_walk w;
	char want[8];
	unsigned c, d;

	cmdline_get("cpus", want, sizeof(want));
	if (want[0])
		CHECK_INT(smp_ncpus, want[0] - '0');
	CHECK_EQ(boot_platform.ncpus, smp_ncpus);
	memset(seen, 0, sizeof(seen));
	smp_run(who_am_i, NULL);
	for (c = 0; c < smp_ncpus; c++) {
		uintptr_t top = c ? smp_stack_top(c) : (uintptr_t)boot_stack_top;

		CHECK_INT(seen[c].id_gs, c);
		CHECK_INT(seen[c].id_plat, c);
		CHECK(seen[c].rsp < top && seen[c].rsp >= top - STACK_SIZE);
		CHECK_EQ(seen[c].gdtr, (uintptr_t)cpus[c].gdt);
		CHECK_EQ(seen[c].idtr, (uintptr_t)cpus[c].idt);
		CHECK_EQ(seen[c].ist, smp_ist_top(c));
		CHECK_EQ(seen[c].tr, KERNEL_TSS);
		CHECK(seen[c].if_on);
		for (d = 0; d < c; d++)
			CHECK(seen[d].apic != seen[c].apic);
		pt_walk(c ? smp_guard_page(c) : (uintptr_t)boot_stack_top - STACK_SIZE - PAGE_SIZE,
			&w);
		CHECK_INT(w.level, -1);
		pt_walk(smp_ist_top(c) - IST_STACK_SIZE - PAGE_SIZE, &w);
		CHECK_INT(w.level, -1);
	}
	pt_walk(LAPIC_VA, &w);
	CHECK_EQ(w.pa, LAPIC_PA);
	CHECK_EQ(pt_memtype(w.leaf), PAT_UC);
}
