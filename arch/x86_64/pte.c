/* SPDX-License-Identifier: MIT */
/*
 * x86_64 page-table entries and geometry behind src/arch.h: 4-level paging,
 * 4 KiB pages. Memory types use PAT entries 0-3 of the Linux PAT layout
 * (see include/vtlmem/x86_64.h): WB = no bits, WC = PWT, UC = PCD | PWT.
 */
#include "../../src/arch.h"

#define PTE_P   (1ull << 0)
#define PTE_RW  (1ull << 1)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_A   (1ull << 5)
#define PTE_D   (1ull << 6)
#define PTE_NX  (1ull << 63)

/* Architectural maximum physical-address width (bits 51:12 of an entry). */
#define X86_MAX_PA_BITS 52u

#define LEVELS 4u
#define VA_BITS 48u   /* 4-level paging: canonical addresses have 48 bits */

unsigned arch_pt_levels(void)
{
	return LEVELS;
}

unsigned arch_pt_shift(unsigned level)
{
	return VTLMEM_PAGE_SHIFT + 9 * level;
}

/* Kernel half: bits 63..47 all set. Lower half: bits 63..47 all clear. */
static bool in_kernel_half(uintptr_t first, uintptr_t last)
{
	uintptr_t lo = ~(((uintptr_t)1 << (VA_BITS - 1)) - 1);

	return first >= lo && last >= first;
}

static bool in_lower_half(uintptr_t first, uintptr_t last)
{
	return last < ((uintptr_t)1 << (VA_BITS - 1)) && last >= first;
}

bool arch_va_window_ok(uintptr_t base, uint64_t size)
{
	uintptr_t last;

	if (size == 0 || __builtin_add_overflow(base, size - 1, &last))
		return false;
	if (in_kernel_half(base, last))
		return true;
#ifdef VTLMEM_HOST
	return in_lower_half(base, last);
#else
	(void)in_lower_half;
	return false;
#endif
}

unsigned arch_pa_bits_max(void)
{
	return X86_MAX_PA_BITS;
}

uint64_t arch_pte_addr_mask(unsigned pa_bits)
{
	if (pa_bits > X86_MAX_PA_BITS)
		pa_bits = X86_MAX_PA_BITS;
	return (((uint64_t)1 << pa_bits) - 1) & ~VTLMEM_PAGE_MASK;
}

uint64_t arch_pte_leaf_attrs(enum vtlmem_prot prot, enum vtlmem_cache cache)
{
	uint64_t e = PTE_P | PTE_A | PTE_NX;

	switch (prot) {
	case VTLMEM_PROT_RO:
		break;
	case VTLMEM_PROT_RW:
		e |= PTE_RW | PTE_D;
		break;
	default:
		return 0;
	}
	switch (cache) {
	case VTLMEM_CACHE_WB:
		break;
	case VTLMEM_CACHE_WC:
		e |= PTE_PWT;               /* PAT entry 1 */
		break;
	case VTLMEM_CACHE_UC:
		e |= PTE_PCD | PTE_PWT;     /* PAT entry 3 */
		break;
	default:
		return 0;
	}
	return e;
}

void arch_pte_set_leaves(uint64_t *pte, const vtlmem_paddr_t *pages, size_t n,
			 uint64_t attrs, uint64_t addr_mask)
{
	size_t i;

	for (i = 0; i < n; i++)
		__atomic_store_n(&pte[i], (vtlmem_pa_val(pages[i]) & addr_mask) | attrs,
				 __ATOMIC_RELAXED);
}

void arch_pte_clear_leaves(uint64_t *pte, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		__atomic_store_n(&pte[i], 0, __ATOMIC_RELAXED);
}

/*
 * Table entries: present, writable, accessed preset, and NX, so nothing
 * under the window can ever be executable whatever a leaf says. Not user,
 * not global (G is ignored in non-leaf entries anyway).
 */
uint64_t arch_pte_table(uint64_t table_pa)
{
	return (table_pa & arch_pte_addr_mask(X86_MAX_PA_BITS)) | PTE_P | PTE_RW | PTE_A | PTE_NX;
}

bool arch_pte_present(uint64_t e)
{
	return e & PTE_P;
}

uint64_t arch_pte_pa(uint64_t e, uint64_t addr_mask)
{
	return e & addr_mask;
}
