/* SPDX-License-Identifier: MIT */
/* TLB policy of the vmap manager (tlb.h) over the arch interface. */
#include "arch.h"
#include "tlb.h"

/* Pages to name one by one, or 0 for "the whole TLB". */
static uint64_t range_or_all(uint64_t n, struct vtlmem_tlb_count *c)
{
	if (n <= VTLMEM_ARCH_TLB_RANGE_MAX) {
		c->pages += n;
		return n;
	}
	c->all++;
	return 0;
}

void vtlmem_tlb_local(const struct vtlmem_platform *p, uintptr_t va, uint64_t n,
		      struct vtlmem_tlb_count *c)
{
	uint64_t k = range_or_all(n, c);

	if (p->tlb_local)
		p->tlb_local(p->ctx, k ? va : 0, k);
	else
		vtlmem_arch_tlb_local(va, k);
}

/* Every CPU by the arch's broadcast (the platform's tlb_local cannot). */
static void broadcast(const struct vtlmem_platform *p, uintptr_t va, uint64_t n,
		      struct vtlmem_tlb_count *c)
{
	uint64_t k;

	if (p->tlb_local) {            /* a platform that flushes for the library */
		vtlmem_tlb_local(p, va, n, c);
		return;
	}
	k = range_or_all(n, c);
	vtlmem_arch_tlb_broadcast(va, k);
}

void vtlmem_tlb_slot(const struct vtlmem_platform *p, uintptr_t va, uint64_t n,
		     struct vtlmem_tlb_count *c)
{
	if (VTLMEM_ARCH_SLOT_SCOPE == VTLMEM_TLB_BROADCAST)
		broadcast(p, va, n, c);
	else
		vtlmem_tlb_local(p, va, n, c);
}

int vtlmem_tlb_everywhere(const struct vtlmem_platform *p, uintptr_t va, uint64_t n,
			  struct vtlmem_tlb_count *c)
{
	unsigned long cookie = p->preempt_off(p->ctx);
	int ret = 0;

	if (VTLMEM_ARCH_TLB_BROADCAST)
		broadcast(p, va, n, c);
	else
		vtlmem_tlb_local(p, va, n, c);
	if (p->tlb_shootdown)
		ret = p->tlb_shootdown(p->ctx, va, n << VTLMEM_PAGE_SHIFT);
	p->preempt_on(p->ctx, cookie);
	return ret;
}
