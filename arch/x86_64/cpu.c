/* SPDX-License-Identifier: MIT */
/* x86_64 CPU helpers behind src/arch.h. */
#include "../../src/arch.h"

#ifdef VTLMEM_HOST
/*
 * Host builds: test threads are preemptible and may outnumber the CPUs, so a
 * ticket-lock waiter that only pauses can spin through whole time slices
 * while the holder (or the next ticket) is descheduled, convoying for
 * minutes. Yield instead; a kernel runs lock holders with preemption off and
 * never needs this.
 */
int sched_yield(void);

void vtlmem_arch_cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
	sched_yield();
}
#else
void vtlmem_arch_cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}
#endif

/* x86_64 never reorders a store with an earlier store (TSO). */
void vtlmem_arch_smp_wmb(void)
{
	__asm__ volatile("" ::: "memory");
}

#ifdef VTLMEM_HOST
/*
 * Host builds run in user mode: invlpg and CR3 writes would fault. The host
 * platform always supplies tlb_local, so these are never reached; trap if
 * they are, rather than pretend to have flushed.
 */
void vtlmem_arch_tlb_local(uintptr_t va, uint64_t npages)
{
	(void)va;
	(void)npages;
	__builtin_trap();
}
#else
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
#endif

/* No broadcast invalidation on x86_64 (VTLMEM_ARCH_TLB_BROADCAST is 0). */
void vtlmem_arch_tlb_broadcast(uintptr_t va, uint64_t npages)
{
	(void)va;
	(void)npages;
	__builtin_trap();
}
