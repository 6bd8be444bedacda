/* SPDX-License-Identifier: MIT */
/*
 * aarch64 side of the arch MMU interface (src/arch.h): constants and the
 * inline descriptor encoding. VMSAv8-64 stage 1, EL1&0 translation regime,
 * 4 KiB granule, 48-bit VA (T1SZ = 16: the window lives in the TTBR1 half),
 * 4 levels (Arm's levels 0..3 are the library's 3..0), 48-bit output
 * addresses (bits 47:12 of a descriptor; FEAT_LPA2's 52-bit layout is not
 * supported). What the kernel must program (MAIR_EL1, TCR_EL1): see
 * include/vtlmem/aarch64.h.
 */
#ifndef VTLMEM_ARCH_AARCH64_H
#define VTLMEM_ARCH_AARCH64_H

#include <vtlmem/aarch64.h>

#define VTLMEM_ARCH_NAME         "aarch64"
#define VTLMEM_ARCH_PT_LEVELS    4u    /* Arm levels 0 -> 1 -> 2 -> 3 (page)   */
#define VTLMEM_ARCH_PT_BITS      9u    /* 4 KiB granule: 512 descriptors        */
#define VTLMEM_ARCH_VA_BITS      48u
#define VTLMEM_ARCH_PA_BITS_MAX  48u

/*
 * Invalidate page by page (one TLBI VALE1[IS] per page) up to this many
 * pages; above, the whole EL1&0 TLB (VMALLE1[IS]). This is Linux's
 * MAX_DVM_OPS (PTRS_PER_PTE = 512) for kernel ranges: a broadcast TLBI is
 * one DVM message to every CPU, all completed by one DSB, so 512 of them
 * still cost less than what VMALLE1IS throws away on EVERY CPU (its kernel
 * text, direct map and all other translations refill afterwards); and it
 * keeps a default purge batch (512 quarantined pages) on the per-page path.
 * Far above it, a DVM storm could stall the other CPUs: then the whole TLB.
 */
#define VTLMEM_ARCH_TLB_RANGE_MAX 512u

/*
 * TLBI ...IS is broadcast by the hardware to every CPU of the
 * inner-shareable domain and completed by DSB ISH: no IPIs are needed, and
 * vmap_create does not require the platform's tlb_shootdown op.
 */
#define VTLMEM_ARCH_TLB_BROADCAST 1

/*
 * A per-CPU slot is invalidated on every CPU: the architecture lets any CPU
 * walk the tables speculatively for any VA (no access needed, none
 * forbidden by the code it runs) and keep the result in its TLB, so another
 * CPU may hold a translation of this CPU's slot VA. pKVM's fixmap
 * broadcasts its per-CPU slots for that reason (kmap_local's "only this
 * CPU used it" argument holds on x86 only).
 */
#define VTLMEM_ARCH_SLOT_SCOPE VTLMEM_TLB_BROADCAST

/* Descriptor bits (Arm ARM D8.3, VMSAv8-64 translation table format). */
#define A64_DESC_VALID      (1ull << 0)
#define A64_DESC_TABLE      (1ull << 1)   /* levels 0-2: table; level 3: page */
#define A64_DESC_PAGE       (1ull << 1)
#define A64_ATTRINDX(i)     ((uint64_t)(i) << 2)   /* bits 4:2: MAIR_EL1 field */
#define A64_ATTRINDX_MASK   (7ull << 2)
#define A64_AP_EL0          (1ull << 6)   /* AP[1]: EL0 access (never set)     */
#define A64_AP_RO           (1ull << 7)   /* AP[2]: read-only                  */
#define A64_SH_INNER        (3ull << 8)   /* SH[1:0] = 0b11 inner shareable    */
#define A64_SH_MASK         (3ull << 8)
#define A64_AF              (1ull << 10)  /* access flag (preset: no AF fault) */
#define A64_NG              (1ull << 11)  /* not global (never set)            */
#define A64_DBM             (1ull << 51)
#define A64_CONT            (1ull << 52)
#define A64_PXN             (1ull << 53)
#define A64_UXN             (1ull << 54)
#define A64_PXNTABLE        (1ull << 59)  /* table descriptors               */
#define A64_UXNTABLE        (1ull << 60)
#define A64_APTABLE_NOEL0   (1ull << 61)  /* APTable[0]: no EL0 access below  */
#define A64_APTABLE_RO      (1ull << 62)  /* APTable[1] (never set)           */
#define A64_NSTABLE         (1ull << 63)  /* (never set)                      */
#define A64_OA_MASK         0x0000fffffffff000ull   /* bits 47:12 */

/* A leaf (page) descriptor for page pa (already validated against addr_mask). */
static inline uint64_t vtlmem_arch_pte_leaf(vtlmem_paddr_t pa, uint64_t attrs,
					    uint64_t addr_mask)
{
	return (vtlmem_pa_val(pa) & addr_mask) | attrs;
}

/* Does descriptor e map or point at anything (page or table)? */
static inline bool vtlmem_arch_pte_valid(uint64_t e)
{
	return e & A64_DESC_VALID;
}

/* The physical address descriptor e maps or points at. */
static inline vtlmem_paddr_t vtlmem_arch_pte_addr(uint64_t e, uint64_t addr_mask)
{
	return vtlmem_pa(e & addr_mask);
}

/*
 * Make descriptor stores visible to the table walkers before any access
 * through them: walks are not ordered with this CPU's stores (unlike x86),
 * so DSB ISHST completes the stores for every CPU's walker in the
 * inner-shareable domain, and ISB discards instructions already fetched
 * (and translated) past this point.
 */
static inline void vtlmem_arch_publish(void)
{
	__asm__ volatile("dsb ishst\n\tisb" ::: "memory");
}

#endif
