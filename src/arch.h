/* SPDX-License-Identifier: MIT */
/*
 * The arch MMU interface: the only way src/ reaches arch code. Each
 * architecture implements it under arch/<arch>/: vtlmem_arch.h (constants
 * and the inline entry encoding, found through -Iarch/<arch>) and the
 * out-of-line functions below (pte.c, cpu.c, copy.S).
 *
 * Division of labour: src/ decides WHAT to invalidate and WHEN (a slot's
 * pages when it is unmapped, a window mapping's pages when it is unmapped,
 * a purge batch on every CPU before its VA is reused: src/tlb.c); the arch
 * decides HOW (which instruction, whether one reaches other CPUs) and says
 * which scope a per-CPU slot needs.
 *
 * Page tables: levels are numbered from the leaf: a level-0 table holds
 * the 4 KiB page entries, level VTLMEM_ARCH_PT_LEVELS - 1 is the root. Every
 * table is one 4 KiB page of VTLMEM_PT_ENTRIES 64-bit entries; an all-zero
 * entry is invalid on every supported architecture, so a zeroed table maps
 * nothing. The library only ever changes an entry from invalid to valid
 * (map, table link) or from valid to invalid (unmap), never from one valid
 * value to another, so no break-before-make sequence is ever needed inside
 * a live mapping (src/pgtable.c checks it with VTLMEM_BUG_ON).
 */
#ifndef VTLMEM_SRC_ARCH_H
#define VTLMEM_SRC_ARCH_H

#include <vtlmem/types.h>

/* Who an invalidation reaches. */
enum vtlmem_tlb_scope {
	VTLMEM_TLB_THIS_CPU,    /* this CPU's TLB only                         */
	VTLMEM_TLB_BROADCAST,   /* every CPU, by a hardware-broadcast invalidation */
};

#include "vtlmem_arch.h"

#define VTLMEM_PT_ENTRIES (1u << VTLMEM_ARCH_PT_BITS)

_Static_assert(VTLMEM_PT_ENTRIES * sizeof(uint64_t) == VTLMEM_PAGE_SIZE,
	       "a page table is one page of 64-bit entries");
_Static_assert(VTLMEM_ARCH_PT_LEVELS >= 3 && VTLMEM_ARCH_PT_LEVELS <= 5,
	       "pgtable.c owns the tables from below the root down to level 1");
_Static_assert(VTLMEM_PAGE_SHIFT + VTLMEM_ARCH_PT_BITS * VTLMEM_ARCH_PT_LEVELS >=
	       VTLMEM_ARCH_VA_BITS, "the levels cover the virtual address");
_Static_assert(VTLMEM_ARCH_PA_BITS_MAX < 64, "an entry keeps bits above the address");
_Static_assert(VTLMEM_ARCH_TLB_RANGE_MAX >= 2, "a 2-page slot is invalidated page by page");

/* log2 of the bytes one entry of a level-l table maps. */
static inline unsigned vtlmem_pt_shift(unsigned level)
{
	return VTLMEM_PAGE_SHIFT + VTLMEM_ARCH_PT_BITS * level;
}

/* ---- CPU ------------------------------------------------------------- */

/* Spin-wait hint (x86_64: pause). */
void vtlmem_arch_cpu_relax(void);

/*
 * Order this CPU's earlier stores to memory (VTL0 data written through the
 * copy routines) before its later stores, as seen by other agents (VTL0,
 * other CPUs): Linux's smp_wmb().
 */
void vtlmem_arch_smp_wmb(void);

/* ---- entries ---------------------------------------------------------- */

/*
 * Is [base, base + size) a usable window: size > 0, no wrap, canonical and
 * in the kernel (upper) half? Alignment is the caller's check.
 */
bool vtlmem_arch_va_window_ok(uintptr_t base, uint64_t size);

/* Mask of the physical-address bits of an entry for pa_bits-wide addresses
 * (pa_bits <= VTLMEM_ARCH_PA_BITS_MAX). */
uint64_t vtlmem_arch_pte_addr_mask(unsigned pa_bits);

/*
 * Attribute bits of a leaf entry: valid, never executable, never global,
 * never user-accessible, writable iff prot is RW, memory type from cache.
 * Returns 0 (invalid: an error for the caller) for an invalid prot or
 * cache value.
 */
uint64_t vtlmem_arch_leaf_attrs(enum vtlmem_prot prot, enum vtlmem_cache cache);

/* A table entry pointing at the table page at physical address table. */
uint64_t vtlmem_arch_pte_table(vtlmem_paddr_t table);

/*
 * Also from vtlmem_arch.h (inline, on the map/unmap paths):
 *   uint64_t vtlmem_arch_pte_leaf(vtlmem_paddr_t pa, uint64_t attrs, uint64_t mask);
 *                                      pa only through pa & mask, and linear
 *                                      in it: the entry of pa + k pages is the
 *                                      entry of pa plus k times the entry of
 *                                      one page with attrs 0 (pgtable.c's
 *                                      vtlmem_pgt_set_run steps entries so)
 *   bool vtlmem_arch_pte_valid(uint64_t e);
 *   vtlmem_paddr_t vtlmem_arch_pte_addr(uint64_t e, uint64_t mask);
 *   void vtlmem_arch_publish(void);   after a batch of entry writes, before
 *                                      any access through them
 */

/* ---- TLB ---------------------------------------------------------------- */

/* Invalidate npages pages from va on this CPU; npages 0: its whole TLB. */
void vtlmem_arch_tlb_local(uintptr_t va, uint64_t npages);

/*
 * The same on every CPU by a hardware broadcast, waiting until done
 * (VTLMEM_ARCH_TLB_BROADCAST architectures only; never called elsewhere).
 */
void vtlmem_arch_tlb_broadcast(uintptr_t va, uint64_t npages);

#endif
