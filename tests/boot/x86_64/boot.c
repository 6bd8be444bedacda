// SPDX-License-Identifier: MIT
/*
 * kmain: what runs after head.S reached 64-bit mode at the link address.
 * Console, per-CPU data and exceptions, final page tables, heap, the other
 * CPUs (smp.c), the platform for vtlmem, the exception-table check, then
 * the kernel flavour's kernel_main() (the boot test suite or the demo) on
 * the boot CPU, while the others wait for work.
 */
#include <vtlmem/copy.h>

#include "platform.h"
#include "smp.h"

struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower;     /* KiB below 1 MiB (flags bit 0)  */
	uint32_t mem_upper;     /* KiB above 1 MiB (flags bit 0)  */
	uint32_t boot_device;
	uint32_t cmdline;       /* physical address (flags bit 2) */
};

/*
 * Read what we need from the multiboot info while the boot tables still map
 * it (QEMU puts it just past the image, in what becomes the page pool).
 */
static uint64_t read_multiboot(uint32_t mb_info)
{
	const struct multiboot_info *mbi = phys_to_virt(mb_info);
	const char *cmd;
	size_t i;

	if (mbi->flags & 4) {
		cmd = phys_to_virt(mbi->cmdline);
		for (i = 0; i + 1 < sizeof(boot_cmdline) && cmd[i]; i++)
			boot_cmdline[i] = cmd[i];
		boot_cmdline[i] = '\0';
	}
	if (!(mbi->flags & 1))
		panic("multiboot info has no memory size");
	return 0x100000 + (uint64_t)mbi->mem_upper * 1024;
}

noreturn void kmain(uint32_t mb_info);

noreturn void kmain(uint32_t mb_info)
{
	uint64_t ram;
	int err;

	console_init();
	trap_init();
	ram = read_multiboot(mb_info);
	mm_init(ram);
	heap_init();
	smp_init();
	platform_init();
	err = vtlmem_extable_check();
	if (err)
		panic("vtlmem_extable_check() = %d: the exception table is broken", err);
	kprintf("boot: %lu MiB RAM, VTL0 [0x%lx, 0x%lx), pa_bits %u, %lu free pool pages\n",
		ram_top >> 20, VTL0_START, VTL0_END, boot_platform.pa_bits,
		pages_free_count());
	kernel_main();
}

unsigned arch_pa_bits(void)
{
	uint32_t a, b, c, d;

	cpuid(0x80000008, &a, &b, &c, &d);
	return a & 0xff;
}

void arch_crash(const char *how)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) no_idt = { 0, 0 };

	if (!memcmp(how, "triple", 7))  /* no IDT: the breakpoint triple-faults */
		__asm__ volatile("lidt %0; int3" : : "m"(no_idt));
}
