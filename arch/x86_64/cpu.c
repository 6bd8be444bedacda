/* SPDX-License-Identifier: MIT */
/*
 * x86_64 CPU and address-space helpers behind src/arch.h: spin hint, store
 * ordering, the kernel-half window rule and local TLB invalidation. All of
 * it is kernel-only; host test builds link tests/unit/common/hostarch.c in
 * its place (user mode cannot invlpg, and user windows are in the lower
 * half), so nothing here depends on VTLMEM_HOST.
 */
#include "../../src/arch.h"

void vtlmem_arch_cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* x86_64 never reorders a store with an earlier store (TSO). */
void vtlmem_arch_smp_wmb(void)
{
	__asm__ volatile("" ::: "memory");
}

/* Canonical and in the kernel half: bits 63..47 all set, no wrap. */
bool vtlmem_arch_va_window_ok(uintptr_t base, uint64_t size)
{
	uintptr_t last, lo = ~(((uintptr_t)1 << (VTLMEM_ARCH_VA_BITS - 1)) - 1);

	if (size == 0 || __builtin_add_overflow(base, size - 1, &last))
		return false;
	return base >= lo;
}

/* invlpg per page; npages 0: a CR3 reload drops every non-global entry. */
void vtlmem_arch_tlb_local(uintptr_t va, uint64_t npages)
{
	uintptr_t cr3;
	uint64_t i;

	if (npages) {
		for (i = 0; i < npages; i++)
			__asm__ volatile("invlpg (%0)" : : "r"(va + (i << VTLMEM_PAGE_SHIFT)) : "memory");
		return;
	}
	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

/* No broadcast invalidation on x86_64 (VTLMEM_ARCH_TLB_BROADCAST is 0). */
void vtlmem_arch_tlb_broadcast(uintptr_t va, uint64_t npages)
{
	(void)va;
	(void)npages;
	__builtin_trap();
}
