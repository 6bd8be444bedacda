/* SPDX-License-Identifier: MIT */
/*
 * The small internal arch interface: the only way src/ reaches arch code.
 * Implemented in arch/<arch>/. In host builds (VTLMEM_HOST) the privileged
 * operations are never reached: the host platform supplies tlb_local.
 */
#ifndef VTLMEM_SRC_ARCH_H
#define VTLMEM_SRC_ARCH_H

#include <vtlmem/types.h>

/* Spin-wait hint (pause). */
void arch_cpu_relax(void);

/*
 * Order this CPU's earlier stores to memory (VTL0 data written through the
 * copy routines) before its later stores, as seen by other agents (VTL0,
 * other CPUs): Linux's smp_wmb(). x86_64 is TSO, so a compiler barrier is
 * enough there; it is spelled as an arch call so weaker architectures can
 * put their barrier instruction here.
 */
void arch_smp_wmb(void);

/* Invalidate one page / this CPU's whole non-global TLB (kernel builds). */
void arch_tlb_flush_page(uintptr_t va);
void arch_tlb_flush_all(void);

/*
 * Page tables (arch/<arch>/pte.c): the table-entry seam of the vmap
 * manager's page-table code (src/pgtable.c), in the spirit of Hyperlight's
 * TableOps. Levels are numbered from the leaf: a level-0 table holds the
 * 4 KiB page entries, level arch_pt_levels() - 1 is the root. Every table is
 * one 4 KiB page of ARCH_PT_ENTRIES 64-bit entries; an all-zero entry is
 * "not present" on every supported architecture, so a freshly zeroed table
 * maps nothing.
 */
#define ARCH_PT_ENTRIES 512u

/* Translation levels (x86_64: 4, PML4 -> PDPT -> PD -> PT). */
unsigned arch_pt_levels(void);

/* log2 of the bytes one entry of a level-l table maps (x86_64: 12 + 9 l). */
unsigned arch_pt_shift(unsigned level);

/*
 * Is [base, base + size) a usable window: size > 0, no wrap, canonical and
 * in the kernel half (VTLMEM_HOST builds: in either canonical half, since
 * host tests map inside a user-space reservation)? Alignment is the
 * caller's check.
 */
bool arch_va_window_ok(uintptr_t base, uint64_t size);

/*
 * The widest physical address an entry can hold (x86_64: 52 bits). The vmap
 * manager refuses a platform with a wider pa_bits and never maps a page at
 * or above 2^arch_pa_bits_max(): an entry would silently drop the high bits
 * and map a different page.
 */
unsigned arch_pa_bits_max(void);

/* Mask of the physical-address bits of an entry for pa_bits-wide addresses. */
uint64_t arch_pte_addr_mask(unsigned pa_bits);

/*
 * Attribute bits of a leaf entry: present, never executable, never global,
 * never user-accessible, writable iff prot is RW, memory type from cache.
 * Returns 0 (not present: an error for the caller) for an invalid prot or
 * cache value.
 */
uint64_t arch_pte_leaf_attrs(enum vtlmem_prot prot, enum vtlmem_cache cache);

/*
 * Write n leaf entries pte[0..n) = (pages[i] & addr_mask) | attrs, each with
 * one single-copy-atomic store. The caller has validated the addresses.
 */
void arch_pte_set_leaves(uint64_t *pte, const vtlmem_paddr_t *pages, size_t n,
			 uint64_t attrs, uint64_t addr_mask);

/* Clear n leaf entries (single-copy-atomic stores of "not present"). */
void arch_pte_clear_leaves(uint64_t *pte, size_t n);

/* A non-leaf entry pointing at the table at physical address table_pa. */
uint64_t arch_pte_table(uint64_t table_pa);

/* Is entry e present? */
bool arch_pte_present(uint64_t e);

/* The physical address entry e points at (a page or a table). */
uint64_t arch_pte_pa(uint64_t e, uint64_t addr_mask);

#endif
