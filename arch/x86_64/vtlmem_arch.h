/* SPDX-License-Identifier: MIT */
/*
 * x86_64 side of the arch MMU interface (src/arch.h): constants and the
 * inline entry encoding. 4-level paging, 4 KiB pages, 48-bit VA, entries
 * hold up to 52 physical-address bits (bits 51:12).
 */
#ifndef VTLMEM_ARCH_X86_64_H
#define VTLMEM_ARCH_X86_64_H

#define VTLMEM_ARCH_NAME         "x86_64"
#define VTLMEM_ARCH_PT_LEVELS    4u    /* PML4 -> PDPT -> PD -> PT             */
#define VTLMEM_ARCH_PT_BITS      9u    /* index bits per level: 512 entries     */
#define VTLMEM_ARCH_VA_BITS      48u
#define VTLMEM_ARCH_PA_BITS_MAX  52u

/*
 * Local invalidation: invlpg per page up to this many pages; above, one CR3
 * reload drops every translation of this CPU that is not global (the
 * library's entries never are), which is cheaper than the invlpg loop and
 * only makes the library's own mappings (and non-global kernel ones) refill.
 */
#define VTLMEM_ARCH_TLB_RANGE_MAX 32u

/*
 * No broadcast TLB invalidation instruction: other CPUs are reached only by
 * the platform's shootdown op (IPIs), which vmap_create therefore requires.
 */
#define VTLMEM_ARCH_TLB_BROADCAST 0

/*
 * A per-CPU slot is invalidated on its own CPU only: x86 CPUs cache only
 * translations for addresses they access, and no code on another CPU
 * accesses a slot VA of this one (the kmap_local argument, as Linux makes
 * it). Architectures whose CPUs may speculatively walk any VA and cache the
 * result (arm64) must broadcast instead.
 */
#define VTLMEM_ARCH_SLOT_SCOPE VTLMEM_TLB_THIS_CPU

#define X86_PTE_P   (1ull << 0)
#define X86_PTE_RW  (1ull << 1)
#define X86_PTE_PWT (1ull << 3)
#define X86_PTE_PCD (1ull << 4)
#define X86_PTE_A   (1ull << 5)
#define X86_PTE_D   (1ull << 6)
#define X86_PTE_NX  (1ull << 63)

/* A leaf entry for page pa (already validated against addr_mask). */
static inline uint64_t vtlmem_arch_pte_leaf(vtlmem_paddr_t pa, uint64_t attrs,
					    uint64_t addr_mask)
{
	return (vtlmem_pa_val(pa) & addr_mask) | attrs;
}

/* Does entry e map or point at anything (leaf or table)? */
static inline bool vtlmem_arch_pte_valid(uint64_t e)
{
	return e & X86_PTE_P;
}

/* The physical address entry e maps or points at. */
static inline vtlmem_paddr_t vtlmem_arch_pte_addr(uint64_t e, uint64_t addr_mask)
{
	return vtlmem_pa(e & addr_mask);
}

/*
 * Make entry stores visible to this CPU's (and other CPUs') page walks
 * before any access through them: x86 walks are coherent with stores in
 * program order (TSO), so ordering for the compiler is enough.
 */
static inline void vtlmem_arch_publish(void)
{
	__asm__ volatile("" ::: "memory");
}

#endif
