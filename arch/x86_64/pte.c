/* SPDX-License-Identifier: MIT */
/*
 * x86_64 page-table entries behind src/arch.h (geometry and the inline
 * encoding: vtlmem_arch.h). Memory types use PAT entries 0-3 of the Linux PAT layout
 * (see include/vtlmem/x86_64.h): WB = no bits, WC = PWT, UC = PCD | PWT.
 */
#include "../../src/arch.h"

uint64_t vtlmem_arch_pte_addr_mask(unsigned pa_bits)
{
	if (pa_bits > VTLMEM_ARCH_PA_BITS_MAX)
		pa_bits = VTLMEM_ARCH_PA_BITS_MAX;
	return (((uint64_t)1 << pa_bits) - 1) & ~VTLMEM_PAGE_MASK;
}

uint64_t vtlmem_arch_leaf_attrs(enum vtlmem_prot prot, enum vtlmem_cache cache)
{
	uint64_t e = X86_PTE_P | X86_PTE_A | X86_PTE_NX;

	switch (prot) {
	case VTLMEM_PROT_RO:
		break;
	case VTLMEM_PROT_RW:
		e |= X86_PTE_RW | X86_PTE_D;
		break;
	default:
		return 0;
	}
	switch (cache) {
	case VTLMEM_CACHE_WB:
		break;
	case VTLMEM_CACHE_WC:
		e |= X86_PTE_PWT;                   /* PAT entry 1 */
		break;
	case VTLMEM_CACHE_UC:
		e |= X86_PTE_PCD | X86_PTE_PWT;     /* PAT entry 3 */
		break;
	default:
		return 0;
	}
	return e;
}

/*
 * Table entries: present, writable, accessed preset, and NX, so nothing
 * under the window can ever be executable whatever a leaf says. Not user,
 * not global (G is ignored in non-leaf entries anyway).
 */
uint64_t vtlmem_arch_pte_table(vtlmem_paddr_t table)
{
	return (vtlmem_pa_val(table) & vtlmem_arch_pte_addr_mask(VTLMEM_ARCH_PA_BITS_MAX)) |
	       X86_PTE_P | X86_PTE_RW | X86_PTE_A | X86_PTE_NX;
}
