/* SPDX-License-Identifier: MIT */
/*
 * The CPU half of the arch interface for host test builds, in place of
 * arch/<arch>/cpu.c (the Makefile leaves that file out of the host
 * flavours). Privileged instructions cannot run in user mode, so the host
 * platform always supplies tlb_local and these invalidations trap if ever
 * reached; test windows live in the user (lower) half, which a kernel
 * build never accepts. Generic: the same for every arch under test.
 */
#include <sched.h>

#include "../../src/arch.h"

/*
 * Test threads are preemptible and may outnumber the CPUs, so a ticket-lock
 * waiter that only spins can burn whole time slices while the holder is
 * descheduled, convoying for minutes: yield. A kernel runs lock holders
 * with preemption off and never needs this.
 */
void vtlmem_arch_cpu_relax(void)
{
	sched_yield();
}

void vtlmem_arch_smp_wmb(void)
{
	__sync_synchronize();   /* any host arch; TSan rejects thread fences */
}

/* Either canonical half, no wrap (host windows are user mappings). */
bool vtlmem_arch_va_window_ok(uintptr_t base, uint64_t size)
{
	uintptr_t last, half = (uintptr_t)1 << (VTLMEM_ARCH_VA_BITS - 1);

	if (size == 0 || __builtin_add_overflow(base, size - 1, &last))
		return false;
	return last < half || base >= ~(half - 1);
}

void vtlmem_arch_tlb_local(uintptr_t va, uint64_t npages)
{
	(void)va;
	(void)npages;
	__builtin_trap();
}

void vtlmem_arch_tlb_broadcast(uintptr_t va, uint64_t npages)
{
	(void)va;
	(void)npages;
	__builtin_trap();
}
