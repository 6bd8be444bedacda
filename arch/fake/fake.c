/* SPDX-License-Identifier: MIT */
/* The fake architecture's out-of-line half (see vtlmem_arch.h): records. */
#include "../../src/arch.h"
#include "fake.h"

unsigned long vtlmem_fake_publishes;
struct vtlmem_fake_tlb vtlmem_fake_tlb;

void vtlmem_arch_cpu_relax(void)
{
}

void vtlmem_arch_smp_wmb(void)
{
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

/* Any window inside the low 2^39 bytes. */
bool vtlmem_arch_va_window_ok(uintptr_t base, uint64_t size)
{
	return size && base < ((uintptr_t)1 << VTLMEM_ARCH_VA_BITS) &&
	       size <= ((uintptr_t)1 << VTLMEM_ARCH_VA_BITS) - base;
}

uint64_t vtlmem_arch_pte_addr_mask(unsigned pa_bits)
{
	if (pa_bits > VTLMEM_ARCH_PA_BITS_MAX)
		pa_bits = VTLMEM_ARCH_PA_BITS_MAX;
	return (((uint64_t)1 << pa_bits) - 1) & ~VTLMEM_PAGE_MASK;
}

uint64_t vtlmem_arch_leaf_attrs(enum vtlmem_prot prot, enum vtlmem_cache cache)
{
	if ((prot != VTLMEM_PROT_RO && prot != VTLMEM_PROT_RW) || (unsigned)cache > 2)
		return 0;
	return FAKE_VALID | FAKE_READ | (prot == VTLMEM_PROT_RW ? FAKE_WRITE : 0) |
	       FAKE_CACHE(cache);
}

uint64_t vtlmem_arch_pte_table(vtlmem_paddr_t table)
{
	return vtlmem_arch_pte_leaf(table, FAKE_VALID | FAKE_TABLE,
				    vtlmem_arch_pte_addr_mask(VTLMEM_ARCH_PA_BITS_MAX));
}

static void record(unsigned *n, struct vtlmem_fake_tlb_event *ev, uintptr_t va,
		   uint64_t npages)
{
	ev[*n % VTLMEM_FAKE_TLB_LOG].va = va;
	ev[*n % VTLMEM_FAKE_TLB_LOG].npages = npages;
	(*n)++;
}

void vtlmem_arch_tlb_local(uintptr_t va, uint64_t npages)
{
	record(&vtlmem_fake_tlb.nlocal, vtlmem_fake_tlb.local, va, npages);
}

void vtlmem_arch_tlb_broadcast(uintptr_t va, uint64_t npages)
{
	record(&vtlmem_fake_tlb.nbroadcast, vtlmem_fake_tlb.broadcast, va, npages);
}
