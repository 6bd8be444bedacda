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

void arch_cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
	sched_yield();
}
#else
void arch_cpu_relax(void)
{
	__asm__ volatile("pause" ::: "memory");
}
#endif

/* x86_64 never reorders a store with an earlier store (TSO). */
void arch_smp_wmb(void)
{
	__asm__ volatile("" ::: "memory");
}

#ifdef VTLMEM_HOST
/*
 * Host builds run in user mode: invlpg and CR3 writes would fault. The host
 * platform always supplies tlb_local, so these are never reached; trap if
 * they are, rather than pretend to have flushed.
 */
void arch_tlb_flush_page(uintptr_t va)
{
	(void)va;
	__builtin_trap();
}

void arch_tlb_flush_all(void)
{
	__builtin_trap();
}
#else
void arch_tlb_flush_page(uintptr_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

/* Reloading CR3 drops every non-global translation of this CPU. */
void arch_tlb_flush_all(void)
{
	uintptr_t cr3;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}
#endif
