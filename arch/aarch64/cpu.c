/* SPDX-License-Identifier: MIT */
/*
 * aarch64 CPU and address-space helpers behind src/arch.h: spin hint, store
 * ordering, the TTBR1-half window rule and TLB invalidation, local and
 * broadcast. All of it is EL1 code; host test builds link
 * tests/unit/common/hostarch.c in its place (EL0 cannot TLBI).
 *
 * TLBI operands: VA[55:12] in bits 43:0, ASID in bits 63:48 (0 here: the
 * library's descriptors are global, nG clear, and a TLBI by VA matches a
 * global entry whatever ASID it names). VALE1 ("last level") suffices: the
 * library only ever invalidates leaf descriptors it cleared; the tables
 * above them stay linked until the manager is destroyed.
 *
 * Barriers (Arm ARM D8.13, "TLB maintenance"): a DSB before the TLBI makes
 * the earlier descriptor stores (the unmap) visible to the walkers the
 * TLBI's scope covers, so no walk refills the old entry afterwards; a DSB
 * after it waits until the invalidation is complete on every CPU it
 * reaches; the ISB then discards instructions this CPU fetched or
 * translated under the old entry. Local: non-shareable domain (NSHST, NSH),
 * as Linux's local_flush_tlb_all; broadcast: inner shareable (ISHST, ISH).
 */
#include "../../src/arch.h"

void vtlmem_arch_cpu_relax(void)
{
	__asm__ volatile("yield" ::: "memory");
}

/* Earlier stores before later ones, for every observer in the inner-shareable domain. */
void vtlmem_arch_smp_wmb(void)
{
	__asm__ volatile("dmb ishst" ::: "memory");
}

/* In the TTBR1 half (bits 63..48 all set, T1SZ = 16), no wrap. */
bool vtlmem_arch_va_window_ok(uintptr_t base, uint64_t size)
{
	uintptr_t last, lo = ~(((uintptr_t)1 << VTLMEM_ARCH_VA_BITS) - 1);

	if (size == 0 || __builtin_add_overflow(base, size - 1, &last))
		return false;
	return base >= lo;
}

/* The TLBI operand of the page at va. */
static inline uint64_t tlbi_page(uintptr_t va)
{
	return (va >> VTLMEM_PAGE_SHIFT) & ((1ull << 44) - 1);
}

/* This CPU: TLBI VALE1 per page; npages 0: VMALLE1 (this CPU's whole EL1&0 TLB). */
void vtlmem_arch_tlb_local(uintptr_t va, uint64_t npages)
{
	uint64_t i;

	__asm__ volatile("dsb nshst" ::: "memory");
	if (npages) {
		for (i = 0; i < npages; i++)
			__asm__ volatile("tlbi vale1, %0"
					 : : "r"(tlbi_page(va + (i << VTLMEM_PAGE_SHIFT)))
					 : "memory");
	} else {
		__asm__ volatile("tlbi vmalle1" ::: "memory");
	}
	__asm__ volatile("dsb nsh\n\tisb" ::: "memory");
}

/* Every CPU of the inner-shareable domain: TLBI VALE1IS per page, or VMALLE1IS. */
void vtlmem_arch_tlb_broadcast(uintptr_t va, uint64_t npages)
{
	uint64_t i;

	__asm__ volatile("dsb ishst" ::: "memory");
	if (npages) {
		for (i = 0; i < npages; i++)
			__asm__ volatile("tlbi vale1is, %0"
					 : : "r"(tlbi_page(va + (i << VTLMEM_PAGE_SHIFT)))
					 : "memory");
	} else {
		__asm__ volatile("tlbi vmalle1is" ::: "memory");
	}
	__asm__ volatile("dsb ish\n\tisb" ::: "memory");
}
