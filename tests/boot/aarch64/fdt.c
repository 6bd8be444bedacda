// SPDX-License-Identifier: MIT
/*
 * The little the kernel needs from the flattened device tree QEMU puts at
 * the base of RAM: /memory's reg (RAM), /chosen's bootargs (the -append
 * command line), /psci's method (hvc or smc) and the /cpus/cpu@* regs
 * (MPIDR affinities, PSCI CPU_ON targets). A flat walk of the structure
 * block, depth-tracked; a malformed tree panics.
 */
#include "kernel.h"

struct boot_info boot_info;

#define FDT_MAGIC      0xd00dfeed
#define FDT_BEGIN_NODE 1
#define FDT_END_NODE   2
#define FDT_PROP       3
#define FDT_NOP        4
#define FDT_END        9

static uint32_t be32(const void *p)
{
	const uint8_t *b = p;

	return ((uint32_t)b[0] << 24) | ((uint32_t)b[1] << 16) | ((uint32_t)b[2] << 8) | b[3];
}

static uint64_t cells(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < n; i++)
		v = (v << 32) | be32(p + 4 * i);
	return v;
}

static bool prefix(const char *s, const char *p)
{
	while (*p)
		if (*s++ != *p++)
			return false;
	return *s == '\0' || *s == '@';
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

void fdt_read(const void *fdt)
{
	const uint8_t *base = fdt, *p, *end;
	const char *strings;
	const char *path[8] = { 0 };
	unsigned depth = 0, cpus_addr_cells = 1;
	uint32_t tok, len;

	if (be32(base) != FDT_MAGIC)
		panic("no device tree at %p (magic %x)", fdt, be32(base));
	p = base + be32(base + 8);
	end = p + be32(base + 36);
	strings = (const char *)base + be32(base + 12);
	while (p < end) {
		tok = be32(p);
		p += 4;
		if (tok == FDT_BEGIN_NODE) {
			const char *name = (const char *)p;

			if (depth < ARRAY_SIZE(path))
				path[depth] = name;
			depth++;
			p += (strlen(name) + 4) & ~3UL;
			if (depth == 3 && prefix(path[1], "cpus") && prefix(name, "cpu") &&
			    boot_info.ncpus < MAX_CPUS)
				boot_info.ncpus++;      /* its reg follows */
		} else if (tok == FDT_END_NODE) {
			if (!depth)
				panic("device tree: unbalanced nodes");
			depth--;
		} else if (tok == FDT_PROP) {
			const char *pname;
			const uint8_t *val;

			len = be32(p);
			pname = strings + be32(p + 4);
			val = p + 8;
			p += 8 + ((len + 3) & ~3U);
			if (depth == 2 && prefix(path[1], "memory") && streq(pname, "reg") &&
			    len >= 16 && !boot_info.ram_size) {
				boot_info.ram_base = cells(val, 2);
				boot_info.ram_size = cells(val + 8, 2);
			} else if (depth == 2 && prefix(path[1], "chosen") &&
				   streq(pname, "bootargs")) {
				size_t n = len < sizeof(boot_cmdline) ? len : sizeof(boot_cmdline) - 1;

				memcpy(boot_cmdline, val, n);
				boot_cmdline[n] = '\0';
			} else if (depth == 2 && prefix(path[1], "psci") && streq(pname, "method")) {
				boot_info.psci_hvc = len >= 3 && !memcmp(val, "hvc", 3);
			} else if (depth == 2 && prefix(path[1], "cpus") &&
				   streq(pname, "#address-cells")) {
				cpus_addr_cells = be32(val);
			} else if (depth == 3 && prefix(path[1], "cpus") && prefix(path[2], "cpu") &&
				   streq(pname, "reg") && boot_info.ncpus &&
				   boot_info.ncpus <= MAX_CPUS) {
				boot_info.mpidr[boot_info.ncpus - 1] =
					cells(val, cpus_addr_cells > 2 ? 2 : cpus_addr_cells);
			}
		} else if (tok == FDT_NOP) {
			continue;
		} else if (tok == FDT_END) {
			break;
		} else {
			panic("device tree: bad token %u", tok);
		}
	}
	if (!boot_info.ram_size)
		panic("device tree: no /memory");
	if (!boot_info.ncpus)
		panic("device tree: no /cpus/cpu@*");
}
