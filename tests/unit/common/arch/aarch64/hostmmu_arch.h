/* SPDX-License-Identifier: MIT */
/*
 * The aarch64 descriptor format as the host tests see it (found through
 * -Itests/unit/common/arch/$(ARCH); included by hostmmu.h): the walker's
 * geometry and decoder, and the exact descriptors the library must write.
 * Written from the Arm ARM (VMSAv8-64 stage 1, 4 KiB granule, 48-bit
 * output addresses: D8.3 "Translation table descriptor formats") and
 * include/vtlmem/aarch64.h's MAIR layout, independently of arch/aarch64/,
 * so a wrong encoding in the library makes the host tests fail. The same
 * names as tests/unit/common/arch/x86_64/hostmmu_arch.h.
 */
#ifndef TESTS_HOSTMMU_ARCH_H
#define TESTS_HOSTMMU_ARCH_H

#include <stdbool.h>
#include <stdint.h>

#include <vtlmem/types.h>
#include <vtlmem/aarch64.h>

/* Geometry: 4 levels of 512 descriptors over 4 KiB pages, 48-bit VAs. */
#define HMMU_LEVELS  4          /* level HMMU_LEVELS - 1 is the root (Arm level 0) */
#define HMMU_PT_BITS 9
#define HMMU_VA_BITS 48
#define HMMU_PA_BITS 48         /* output-address bits a descriptor holds (47:12) */

/*
 * The arch's TLB policy as the tests expect it: TLBI by VA per page up to
 * 512 pages, else the whole TLB; hardware-broadcast TLBI (the shootdown op
 * is optional).
 */
#define HMMU_TLB_RANGE_MAX 512
#define HMMU_TLB_BROADCAST 1

/* Descriptor bits, as numbered in the Arm ARM. */
#define HMMU_VALID      (1ull << 0)
#define HMMU_TYPE       (1ull << 1)    /* levels 0-2: 1 = table, 0 = block; level 3: must be 1 */
#define HMMU_ATTRIDX(i) ((uint64_t)(i) << 2)
#define HMMU_NS         (1ull << 5)
#define HMMU_AP1        (1ull << 6)    /* EL0 access */
#define HMMU_AP2        (1ull << 7)    /* read-only */
#define HMMU_SH_IS      (3ull << 8)
#define HMMU_AF         (1ull << 10)
#define HMMU_NG         (1ull << 11)
#define HMMU_DBM        (1ull << 51)
#define HMMU_CONTIG     (1ull << 52)
#define HMMU_PXN        (1ull << 53)
#define HMMU_UXN        (1ull << 54)
#define HMMU_PXNTABLE   (1ull << 59)
#define HMMU_UXNTABLE   (1ull << 60)
#define HMMU_APTABLE0   (1ull << 61)   /* no EL0 access below */
#define HMMU_APTABLE1   (1ull << 62)   /* no writes below */
#define HMMU_NSTABLE    (1ull << 63)
#define HMMU_ADDR       0x0000fffffffff000ull   /* output address, bits 47:12 */

/* ---- decoding (the walker) ---- */

/* Does e map or point at anything? */
static inline bool hmmu_valid(uint64_t e)
{
	return e & HMMU_VALID;
}

/* Is the valid descriptor e, at a level above 0 (Arm levels 0-2), a block rather than a table? */
static inline bool hmmu_block(uint64_t e, int level)
{
	return level > 0 && !(e & HMMU_TYPE);
}

/* The physical address e maps (a leaf) or points at (a table). */
static inline uint64_t hmmu_addr(uint64_t e)
{
	return e & HMMU_ADDR;
}

/* Does the page descriptor e allow EL1 writes? (AP[2] clear; the tables above never restrict.) */
static inline bool hmmu_writable(uint64_t e)
{
	return !(e & HMMU_AP2);
}

/* Page-descriptor bits the library must never set (not global, EL0, non-secure, DBM, contiguous). */
#define HMMU_LEAF_NEVER (HMMU_NG | HMMU_AP1 | HMMU_NS | HMMU_DBM | HMMU_CONTIG)

/* ---- the exact descriptors the library writes ---- */

/*
 * The page descriptor for pa: valid page, AF set, inner shareable, EL1
 * read-only (AP[2]) or read-write, no EL0 access, never executable (UXN and
 * PXN), global; memory type by AttrIndx through include/vtlmem/aarch64.h's
 * MAIR layout: WB = Normal write-back, WC = Normal non-cacheable,
 * UC = Device-nGnRnE. 0 for another prot or cache.
 */
_Static_assert(((VTLMEM_AARCH64_MAIR_VALUE >> (8 * VTLMEM_AARCH64_ATTR_WB)) & 0xff) == 0xff,
	       "MAIR field of WB: Normal, inner and outer write-back, read/write-allocate");
_Static_assert(((VTLMEM_AARCH64_MAIR_VALUE >> (8 * VTLMEM_AARCH64_ATTR_NC)) & 0xff) == 0x44,
	       "MAIR field of WC: Normal, inner and outer non-cacheable");
_Static_assert(((VTLMEM_AARCH64_MAIR_VALUE >> (8 * VTLMEM_AARCH64_ATTR_DEVICE_nGnRnE)) & 0xff) ==
	       0x00, "MAIR field of UC: Device-nGnRnE");

static inline uint64_t hmmu_leaf(uint64_t pa, enum vtlmem_prot prot, enum vtlmem_cache cache)
{
	uint64_t e = (pa & HMMU_ADDR) | HMMU_VALID | HMMU_TYPE | HMMU_SH_IS | HMMU_AF |
		     HMMU_PXN | HMMU_UXN;

	if (prot == VTLMEM_PROT_RO)
		e |= HMMU_AP2;
	else if (prot != VTLMEM_PROT_RW)
		return 0;
	if (cache == VTLMEM_CACHE_WB)
		e |= HMMU_ATTRIDX(0);
	else if (cache == VTLMEM_CACHE_WC)
		e |= HMMU_ATTRIDX(2);
	else if (cache == VTLMEM_CACHE_UC)
		e |= HMMU_ATTRIDX(3);
	else
		return 0;
	return e;
}

/*
 * Attribute bits of a table descriptor: valid table, nothing below
 * executable at EL1 or EL0 (PXNTable, UXNTable), nothing below reachable
 * from EL0 (APTable[0]); writes not restricted, NSTable clear.
 */
#define HMMU_TABLE (HMMU_VALID | HMMU_TYPE | HMMU_PXNTABLE | HMMU_UXNTABLE | HMMU_APTABLE0)

static inline uint64_t hmmu_table(uint64_t pa)
{
	return (pa & HMMU_ADDR) | HMMU_TABLE;
}

/* ---- rewriting descriptors (tests that change the tables behind the library's back) ---- */

/* e pointing at pa instead, attributes kept. */
static inline uint64_t hmmu_with_addr(uint64_t e, uint64_t pa)
{
	return (e & ~HMMU_ADDR) | (pa & HMMU_ADDR);
}

/* The page descriptor e made read-only (w false) or writable (w true). */
static inline uint64_t hmmu_with_write(uint64_t e, bool w)
{
	return w ? e & ~HMMU_AP2 : e | HMMU_AP2;
}

#endif
