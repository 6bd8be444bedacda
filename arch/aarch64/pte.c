/* SPDX-License-Identifier: MIT */
/*
 * aarch64 translation-table descriptors behind src/arch.h (geometry and the
 * inline encoding: vtlmem_arch.h). Stage 1, EL1&0, 4 KiB granule. Memory
 * types through the MAIR layout of include/vtlmem/aarch64.h:
 * WB = Normal write-back, WC = Normal non-cacheable, UC = Device-nGnRnE.
 */
#include "../../src/arch.h"

/* Bits 47:12, narrowed to pa_bits (at most 48). */
uint64_t vtlmem_arch_pte_addr_mask(unsigned pa_bits)
{
	if (pa_bits > VTLMEM_ARCH_PA_BITS_MAX)
		pa_bits = VTLMEM_ARCH_PA_BITS_MAX;
	return (((uint64_t)1 << pa_bits) - 1) & ~VTLMEM_PAGE_MASK;
}

/*
 * Page descriptor: valid page, AF preset, inner shareable, EL1 read-only
 * or read-write with no EL0 access (AP[1] clear), never executable (UXN
 * and PXN), global (nG clear), DBM and Contiguous clear.
 */
uint64_t vtlmem_arch_leaf_attrs(enum vtlmem_prot prot, enum vtlmem_cache cache)
{
	uint64_t e = A64_DESC_VALID | A64_DESC_PAGE | A64_SH_INNER | A64_AF |
		     A64_PXN | A64_UXN;

	switch (prot) {
	case VTLMEM_PROT_RO:
		e |= A64_AP_RO;
		break;
	case VTLMEM_PROT_RW:
		break;
	default:
		return 0;
	}
	switch (cache) {
	case VTLMEM_CACHE_WB:
		e |= A64_ATTRINDX(VTLMEM_AARCH64_ATTR_WB);
		break;
	case VTLMEM_CACHE_WC:
		e |= A64_ATTRINDX(VTLMEM_AARCH64_ATTR_NC);
		break;
	case VTLMEM_CACHE_UC:
		e |= A64_ATTRINDX(VTLMEM_AARCH64_ATTR_DEVICE_nGnRnE);
		break;
	default:
		return 0;
	}
	return e;
}

/*
 * Table descriptor: valid table, with the hierarchical controls set so
 * nothing under the window can ever be executable (PXNTable, UXNTable) or
 * reached from EL0 (APTable[0]) whatever a leaf says; write access is not
 * restricted (APTable[1] clear), NSTable clear.
 */
uint64_t vtlmem_arch_pte_table(vtlmem_paddr_t table)
{
	return (vtlmem_pa_val(table) & vtlmem_arch_pte_addr_mask(VTLMEM_ARCH_PA_BITS_MAX)) |
	       A64_DESC_VALID | A64_DESC_TABLE | A64_PXNTABLE | A64_UXNTABLE |
	       A64_APTABLE_NOEL0;
}
