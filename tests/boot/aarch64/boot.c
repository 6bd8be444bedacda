// SPDX-License-Identifier: MIT
/*
 * kmain: what runs after head.S turned the MMU on and jumped to the link
 * address, on CPU 0's stack with TPIDR_EL1 set. Console, per-CPU data, the
 * device tree (RAM, command line, PSCI conduit, CPUs), final page tables,
 * heap, the other CPUs and the GIC (smp.c), the platform for vtlmem, the
 * exception-table check, then the kernel flavour's kernel_main() (the boot
 * test suite or the demo) on CPU 0 while the others wait for work.
 */
#include <vtlmem/copy.h>

#include "platform.h"
#include "smp.h"

noreturn void kmain(void);

noreturn void kmain(void)
{
	int err;

	console_init();
	smp_early_init();
	fdt_read(phys_to_virt(DTB_PHYS));       /* the boot tables map it */
	if (boot_info.ram_base != RAM_BASE)
		panic("RAM at %lx, expected %lx (QEMU -M virt)", boot_info.ram_base, RAM_BASE);
	mm_init(boot_info.ram_base + boot_info.ram_size);
	heap_init();
	smp_init();
	platform_init();
	err = vtlmem_extable_check();
	if (err)
		panic("vtlmem_extable_check() = %d: the exception table is broken", err);
	kprintf("boot: %lu MiB RAM, VTL0 [0x%lx, 0x%lx), pa_bits %u, %lu free pool pages, "
		"%u CPU(s), PSCI %s\n", (ram_top - RAM_BASE) >> 20, VTL0_START, VTL0_END,
		boot_platform.pa_bits, pages_free_count(), smp_ncpus,
		boot_info.psci_hvc ? "hvc" : "smc");
	kernel_main();
}

/* ID_AA64MMFR0_EL1.PARange, capped at the 48 bits the library's descriptors hold. */
unsigned arch_pa_bits(void)
{
	static const unsigned bits[] = { 32, 36, 40, 42, 44, 48, 52 };
	unsigned r = (unsigned)read_sysreg(id_aa64mmfr0_el1) & 0xf;
	unsigned b = r < ARRAY_SIZE(bits) ? bits[r] : 48;

	return b > 48 ? 48 : b;
}

/*
 * The aarch64 kernel's own ways to die for harness-selftest: "undef" (an
 * undefined instruction: an oops), "vbar" (exception vectors unmapped: every
 * exception faults again at once, a lockup the runner must report as a
 * hang), "nosemi" (leave with PSCI SYSTEM_OFF instead of semihosting: QEMU
 * stops with status 0, "no result").
 */
void arch_crash(const char *how)
{
	if (!memcmp(how, "undef", 6))
		__asm__ volatile("udf #0");
	if (!memcmp(how, "vbar", 5)) {
		write_sysreg(PROBE_BASE + 0x7ff000, vbar_el1);
		isb();
		__asm__ volatile("udf #1");
	}
	if (!memcmp(how, "nosemi", 7)) {
		kprintf("0 passed, 0 failed\n");
		psci_system_off();
	}
}
