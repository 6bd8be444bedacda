// SPDX-License-Identifier: MIT
/*
 * The aarch64 kernel's MMU and the library's descriptors as the CPU itself
 * translates them: AT S1E1R / S1E1W and PAR_EL1 (the hardware walk, with
 * permissions and the MAIR attribute it resolved), next to a software walk
 * of the live tables (pt_walk) checked bit by bit and against the direct
 * map. (The portable cases are in tests/boot/common/.)
 */
#include <vtlmem/aarch64.h>
#include <vtlmem/copy.h>
#include <vtlmem/vmap.h>

#include "ktest.h"
#include "kvtl.h"
#include "smp.h"

extern char __image_start[], __text_end[], __rodata_end[], __bss_end[];
extern char __start_vtlmem_extable[];
extern char exception_vectors[];

static bool at_ok(uint64_t par)
{
	return !(par & PAR_F);
}

/* PAR_EL1.FST of a faulting AT: 0b0001LL translation, 0b0011LL permission. */
static unsigned at_fst(uint64_t par)
{
	return (unsigned)(par >> 1) & 0x3f;
}

static bool fst_translation(uint64_t par)
{
	return (par & PAR_F) && (at_fst(par) & 0x3c) == 0x04;
}

static bool fst_permission(uint64_t par)
{
	return (par & PAR_F) && (at_fst(par) & 0x3c) == 0x0c;
}

/* Text executable read-only, rodata and the exception table read-only, data RW; WXN on. */
KTEST(arch_kernel_image_is_w_xor_x_through_the_cpu)
{
	static int data_word;
	uintptr_t text = (uintptr_t)exception_vectors, ro = (uintptr_t)__start_vtlmem_extable;
	uintptr_t data = (uintptr_t)&data_word;
	struct pt_walk w;

	CHECK(read_sysreg(sctlr_el1) & (1UL << 19));            /* WXN */
	CHECK(at_ok(at_s1e1r(text)));
	CHECK_EQ(PAR_PA(at_s1e1r(text)), (text & ~0xfffUL) - KERNEL_VMA);
	CHECK(fst_permission(at_s1e1w(text)));
	pt_walk(text, &w);
	REQUIRE_INT(w.level, 0);
	CHECK(!(w.leaf & PTE_PXN));
	CHECK(w.leaf & PTE_UXN);
	CHECK(w.leaf & PTE_AP_RO);

	CHECK(ro >= (uintptr_t)__text_end && ro < (uintptr_t)__rodata_end);
	CHECK(at_ok(at_s1e1r(ro)));
	CHECK(fst_permission(at_s1e1w(ro)));
	pt_walk(ro, &w);
	CHECK((w.leaf & (PTE_PXN | PTE_UXN | PTE_AP_RO)) == (PTE_PXN | PTE_UXN | PTE_AP_RO));

	CHECK(at_ok(at_s1e1w(data)));
	CHECK_EQ(PAR_PA(at_s1e1w(data)), (data & ~0xfffUL) - KERNEL_VMA);
	pt_walk(data, &w);
	CHECK((w.leaf & (PTE_PXN | PTE_UXN)) == (PTE_PXN | PTE_UXN));
	CHECK(!(w.leaf & PTE_AP_RO));
	CHECK_EQ(PAR_ATTR(at_s1e1r(data)), 0xff);               /* Normal WB */
	CHECK_EQ(PAR_SH(at_s1e1r(data)), 3);                    /* inner shareable */
}

/* The guard page below each stack and exception stack is unmapped. */
KTEST(arch_stack_guard_pages_are_unmapped)
{
	unsigned c;

	for (c = 0; c < MAX_CPUS; c++) {
		uintptr_t g = smp_guard_page(c);

		CHECK(fst_translation(at_s1e1r(g)));
		CHECK(fst_translation(at_s1e1r(g + PAGE_SIZE + STACK_SIZE)));
		CHECK(at_ok(at_s1e1w(g + PAGE_SIZE)));
		CHECK(at_ok(at_s1e1w(smp_stack_top(c) - 8)));
		CHECK(at_ok(at_s1e1w(smp_exc_stack_top(c) - 8)));
	}
	CHECK(smp_is_guard_page(smp_guard_page(1)));
	CHECK(!smp_is_guard_page(smp_stack_top(1) - 8));
}

/* RAM at DMAP_BASE + pa (2 MiB blocks, RW, never executable); no identity map. */
KTEST(arch_direct_map_covers_ram_and_nothing_is_identity_mapped)
{
	uint64_t pas[] = { RAM_BASE, VTL0_START, VTL0_END - 8, ram_top - 8, pool_start };
	struct pt_walk w;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pas); i++) {
		uintptr_t va = (uintptr_t)phys_to_virt(pas[i]);
		uint64_t par = at_s1e1w(va);

		CHECK(at_ok(par));
		CHECK_EQ(PAR_PA(par), pas[i] & ~0xfffUL);
		CHECK_EQ(PAR_ATTR(par), 0xff);
		pt_walk(va, &w);
		CHECK_INT(w.level, 1);
		CHECK_EQ(w.pa, pas[i]);
		CHECK((w.leaf & (PTE_PXN | PTE_UXN)) == (PTE_PXN | PTE_UXN));
	}
	CHECK(fst_translation(at_s1e1r((uintptr_t)phys_to_virt(ram_top))));
	CHECK(fst_translation(at_s1e1r((uintptr_t)phys_to_virt(RAM_BASE - PAGE_SIZE))));
	/* TTBR0 walks are off (TCR_EL1.EPD0): physical addresses as VAs fault */
	CHECK(read_sysreg(tcr_el1) & (1UL << 7));
	CHECK(fst_translation(at_s1e1r(RAM_BASE)));
	CHECK(fst_translation(at_s1e1r(KERNEL_PHYS)));
}

/* MAIR_EL1 is the library's layout: its three fields where it wants them. */
KTEST(arch_mair_holds_the_library_layout)
{
	uint64_t mair = read_sysreg(mair_el1);

	CHECK_EQ(mair, VTLMEM_AARCH64_MAIR_VALUE);
	CHECK_EQ(mair & VTLMEM_AARCH64_MAIR_MASK,
		 VTLMEM_AARCH64_MAIR_VALUE & VTLMEM_AARCH64_MAIR_MASK);
	CHECK_EQ((mair >> (8 * VTLMEM_AARCH64_ATTR_WB)) & 0xff, 0xff);
	CHECK_EQ((mair >> (8 * VTLMEM_AARCH64_ATTR_NC)) & 0xff, 0x44);
	CHECK_EQ((mair >> (8 * VTLMEM_AARCH64_ATTR_DEVICE_nGnRnE)) & 0xff, 0x00);
}

static int map1(uint64_t pa, enum vtlmem_prot prot, enum vtlmem_cache cache,
		struct vtlmem_mapping **m, uintptr_t *va)
{
	vtlmem_paddr_t page = vtlmem_pa(pa);
	struct vtlmem_map_req req = { .pages = &page, .npages = 1, .prot = prot, .cache = cache };
	vtlmem_vaddr_t v = vtlmem_va(0);
	int err = vtlmem_vmap_map(kv_vm, &req, m, &v);

	*va = vtlmem_va_val(v);
	return err;
}

/*
 * Every descriptor on the way to a library leaf, in the live tables: the
 * table descriptors the window hangs from never allow execution or EL0
 * (PXNTable, UXNTable, APTable[0]), and the leaf is a page with AF set,
 * inner shareable, PXN and UXN, no EL0 access, global, and the AttrIndx the
 * cache policy names.
 */
static void check_walk(uintptr_t va, uint64_t pa, bool rw, unsigned attrindx)
{
	struct pt_walk w;
	int l;

	pt_walk(va, &w);
	REQUIRE_INT(w.level, 0);
	CHECK_EQ(w.pa, pa);
	for (l = 0; l < 3; l++) {
		CHECK((w.entry[l] & 3) == 3);                   /* table */
		CHECK(w.entry[l] & (1UL << 59));                /* PXNTable */
		CHECK(w.entry[l] & (1UL << 60));                /* UXNTable */
		CHECK(w.entry[l] & (1UL << 61));                /* APTable[0]: no EL0 */
		CHECK(!(w.entry[l] & (1UL << 62)));
		CHECK(!(w.entry[l] & (1UL << 63)));
		CHECK(w.table[l + 1] >= pool_start && w.table[l + 1] < HEAP_START);
	}
	CHECK((w.leaf & 3) == 3);                               /* page */
	CHECK(w.leaf & PTE_AF);
	CHECK_EQ(w.leaf & (3UL << 8), PTE_SH_INNER);
	CHECK(w.leaf & PTE_PXN);
	CHECK(w.leaf & PTE_UXN);
	CHECK(!(w.leaf & PTE_AP_EL0));
	CHECK(!(w.leaf & PTE_NG));
	CHECK(!(w.leaf & (1UL << 5)));                          /* NS */
	CHECK(!(w.leaf & (1UL << 51)));                         /* DBM */
	CHECK_EQ(!(w.leaf & PTE_AP_RO), rw);
	CHECK_EQ((w.leaf >> 2) & 7, attrindx);
	CHECK_EQ(w.leaf & PTE_ADDR, pa);
}

/* A library mapping as the CPU translates it, for each protection and cache policy. */
KTEST(arch_library_leaves_translate_through_the_cpu)
{
	static const struct {
		enum vtlmem_prot prot;
		enum vtlmem_cache cache;
		unsigned attrindx, mair;
	} cases[] = {
		{ VTLMEM_PROT_RW, VTLMEM_CACHE_WB, VTLMEM_AARCH64_ATTR_WB, 0xff },
		{ VTLMEM_PROT_RO, VTLMEM_CACHE_WB, VTLMEM_AARCH64_ATTR_WB, 0xff },
		{ VTLMEM_PROT_RW, VTLMEM_CACHE_WC, VTLMEM_AARCH64_ATTR_NC, 0x44 },
		{ VTLMEM_PROT_RW, VTLMEM_CACHE_UC, VTLMEM_AARCH64_ATTR_DEVICE_nGnRnE, 0x00 },
	};
	struct vtlmem_mapping *m;
	uintptr_t va;
	uint64_t pa, par;
	size_t i;

	kv_init();
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		bool rw = cases[i].prot == VTLMEM_PROT_RW;

		pa = vtl0_pa(700 + i);
		vtl0_fill(pa, PAGE_SIZE, (unsigned)i);
		REQUIRE_INT(map1(pa, cases[i].prot, cases[i].cache, &m, &va), 0);
		CHECK(va >= VMAP_BASE && va < VMAP_BASE + VMAP_SIZE);
		par = at_s1e1r(va + 0x123);
		CHECK(at_ok(par));
		CHECK_EQ(PAR_PA(par), pa);
		CHECK_EQ(PAR_ATTR(par), cases[i].mair);
		if (cases[i].mair == 0xff)
			CHECK_EQ(PAR_SH(par), 3);
		par = at_s1e1w(va);
		if (rw)
			CHECK(at_ok(par));
		else
			CHECK(fst_permission(par));
		check_walk(va, pa, rw, cases[i].attrindx);
		CHECK_EQ(*(volatile uint8_t *)(va + 77), vtl0_pattern(pa + 77, (unsigned)i));
		CHECK_INT(vtlmem_vmap_unmap(kv_vm, m), 0);
		/* unmapped: the CPU's own walk finds nothing (the TLB entry is gone too) */
		CHECK(fst_translation(at_s1e1r(va)));
		CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	}
}

/* The top-level entries the kernel installed are the library's, one per 512 GiB slot. */
KTEST(arch_window_top_entries_are_installed_in_the_ttbr1_root)
{
	struct vtlmem_top_entry e[4];
	const uint64_t *root = phys_to_virt(read_sysreg(ttbr1_el1) & PTE_ADDR);
	size_t n, i;

	kv_init();
	CHECK_EQ(read_sysreg(ttbr1_el1) & PTE_ADDR, kernel_root());
	n = vtlmem_vmap_top_entries(kv_vm, e, ARRAY_SIZE(e));
	REQUIRE_INT(n, 1);
	CHECK_EQ(e[0].index, (VMAP_BASE >> 39) & 511);
	for (i = 0; i < n; i++) {
		CHECK_EQ(root[e[i].index], e[i].value);
		CHECK((e[i].value & 3) == 3);
	}
}

/*
 * A data abort inside the library's copy is fixed up: the handler saw a
 * translation fault (read) at the probe address, ESR says data abort at
 * EL1, and the copy reports the exact bytes not copied.
 */
KTEST(arch_data_abort_in_the_copy_is_fixed_up_with_the_syndrome)
{
	uint8_t buf[64];
	uintptr_t probe = PROBE_BASE + 0x10000;
	uint64_t before = fault_rec.count;

	CHECK(fst_translation(at_s1e1r(probe)));
	CHECK_EQ(vtlmem_copy(buf, (const void *)(probe - 24), 64), 64);  /* nothing mapped */
	CHECK(fault_rec.count > before);
	CHECK_EQ(fault_rec.error >> 26, 0x25);          /* data abort, same EL */
	CHECK_EQ(fault_rec.kind & FAULT_PRESENT, 0);
	CHECK_EQ(fault_rec.kind & FAULT_WRITE, 0);
	CHECK(fault_rec.addr >= probe - 24 && fault_rec.addr < probe + 64);

	/* a write to a read-only page: a permission fault, FAULT_PRESENT | FAULT_WRITE */
	kmap_page(probe, vtl0_pa(800), KMAP_RO);
	vtl0_fill(vtl0_pa(800), PAGE_SIZE, 9);
	before = fault_rec.count;
	CHECK_EQ(vtlmem_copy((void *)(probe + 100), buf, 8), 8);
	CHECK(fault_rec.count > before);        /* the block, then its byte tail */
	CHECK_EQ(fault_rec.kind, FAULT_PRESENT | FAULT_WRITE);
	CHECK_EQ(fault_rec.addr, probe + 100);
	CHECK(vtl0_check(vtl0_pa(800), PAGE_SIZE, 9));
	kmap_page(probe, 0, KMAP_NONE);
}
