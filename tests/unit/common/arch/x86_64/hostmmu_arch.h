/* SPDX-License-Identifier: MIT */
/*
 * The x86_64 entry format as the host tests see it (found through
 * -Itests/unit/common/arch/$(ARCH); included by hostmmu.h): the walker's
 * geometry and decoder, and the exact entries the library must write.
 * Written from the Intel SDM (vol. 3, 4-level paging) and
 * include/vtlmem/x86_64.h's PAT layout, independently of arch/x86_64/, so
 * a wrong encoding in the library makes the host tests fail. Another arch
 * adds tests/unit/common/arch/<arch>/hostmmu_arch.h with the same names.
 */
#ifndef TESTS_HOSTMMU_ARCH_H
#define TESTS_HOSTMMU_ARCH_H

#include <stdbool.h>
#include <stdint.h>

#include <vtlmem/types.h>
#include <vtlmem/x86_64.h>

/* Geometry: 4 levels of 512 entries over 4 KiB pages, 48-bit canonical VAs. */
#define HMMU_LEVELS  4          /* level HMMU_LEVELS - 1 is the root (PML4) */
#define HMMU_PT_BITS 9
#define HMMU_VA_BITS 48
#define HMMU_PA_BITS 52         /* address bits an entry holds (51:12) */

/*
 * The arch's TLB policy as the tests expect it: invlpg per page up to 32
 * pages, else a CR3 reload; no broadcast invalidation (the shootdown op is
 * required).
 */
#define HMMU_TLB_RANGE_MAX 32
#define HMMU_TLB_BROADCAST 0

/* x86_64 entry bits. */
#define HMMU_P    (1ull << 0)
#define HMMU_RW   (1ull << 1)
#define HMMU_US   (1ull << 2)
#define HMMU_PWT  (1ull << 3)
#define HMMU_PCD  (1ull << 4)
#define HMMU_A    (1ull << 5)
#define HMMU_D    (1ull << 6)
#define HMMU_PS   (1ull << 7)   /* non-leaf levels: large page; PT level: PAT */
#define HMMU_G    (1ull << 8)
#define HMMU_NX   (1ull << 63)
#define HMMU_ADDR 0x000ffffffffff000ull

/* ---- decoding (the walker) ---- */

/* Does e map or point at anything? */
static inline bool hmmu_valid(uint64_t e)
{
	return e & HMMU_P;
}

/* Is the valid entry e, at a level above 0, a block (large page) rather than a table? */
static inline bool hmmu_block(uint64_t e, int level)
{
	return level > 0 && (e & HMMU_PS);
}

/* The physical address e maps (a leaf) or points at (a table). */
static inline uint64_t hmmu_addr(uint64_t e)
{
	return e & HMMU_ADDR;
}

/* Does the leaf e allow kernel writes? */
static inline bool hmmu_writable(uint64_t e)
{
	return e & HMMU_RW;
}

/* Leaf attribute bits the library must never set (global, user, PAT bit 7). */
#define HMMU_LEAF_NEVER (HMMU_G | HMMU_US | HMMU_PS)

/* ---- the exact entries the library writes ---- */

/*
 * The leaf for page pa: present, accessed preset, never executable, never
 * global or user, writable and dirty preset iff RW; memory type through the
 * PAT layout of include/vtlmem/x86_64.h: WB = PAT entry 0 (no bits),
 * WC = entry 1 (PWT), UC = entry 3 (PCD | PWT). 0 for another prot or cache.
 */
_Static_assert(((VTLMEM_X86_PAT_VALUE >> 0) & 0xff) == 0x06, "PAT entry 0 is WB");
_Static_assert(((VTLMEM_X86_PAT_VALUE >> 8) & 0xff) == 0x01, "PAT entry 1 is WC");
_Static_assert(((VTLMEM_X86_PAT_VALUE >> 24) & 0xff) == 0x00, "PAT entry 3 is UC");
_Static_assert(VTLMEM_X86_MSR_PAT == 0x277, "IA32_PAT is MSR 0x277");

static inline uint64_t hmmu_leaf(uint64_t pa, enum vtlmem_prot prot, enum vtlmem_cache cache)
{
	uint64_t e = (pa & HMMU_ADDR) | HMMU_P | HMMU_A | HMMU_NX;

	if (prot == VTLMEM_PROT_RW)
		e |= HMMU_RW | HMMU_D;
	else if (prot != VTLMEM_PROT_RO)
		return 0;
	if (cache == VTLMEM_CACHE_WC)
		e |= HMMU_PWT;
	else if (cache == VTLMEM_CACHE_UC)
		e |= HMMU_PCD | HMMU_PWT;
	else if (cache != VTLMEM_CACHE_WB)
		return 0;
	return e;
}

/* Attribute bits of a table entry: present, writable, accessed, NX (not user). */
#define HMMU_TABLE (HMMU_P | HMMU_RW | HMMU_A | HMMU_NX)

static inline uint64_t hmmu_table(uint64_t pa)
{
	return (pa & HMMU_ADDR) | HMMU_TABLE;
}

/* ---- rewriting entries (tests that change the tables behind the library's back) ---- */

/* e pointing at pa instead, attributes kept. */
static inline uint64_t hmmu_with_addr(uint64_t e, uint64_t pa)
{
	return (e & ~HMMU_ADDR) | (pa & HMMU_ADDR);
}

/* The leaf e made read-only (w false) or writable (w true). */
static inline uint64_t hmmu_with_write(uint64_t e, bool w)
{
	return w ? e | HMMU_RW : e & ~HMMU_RW;
}

#endif
