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

char boot_cmdline[256];

void cmdline_get(const char *key, char *buf, size_t size)
{
	const char *p = boot_cmdline;
	size_t klen = strlen(key), n;

	buf[0] = '\0';
	while (*p) {
		while (*p == ' ')
			p++;
		if (!memcmp(p, key, klen) && p[klen] == '=') {
			p += klen + 1;
			for (n = 0; n + 1 < size && p[n] && p[n] != ' '; n++)
				buf[n] = p[n];
			buf[n] = '\0';
			return;
		}
		while (*p && *p != ' ')
			p++;
	}
}

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
