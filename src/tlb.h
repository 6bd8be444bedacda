/* SPDX-License-Identifier: MIT */
/*
 * TLB policy: what the vmap manager invalidates, where, and how that maps
 * onto the arch interface (src/arch.h) and the platform's TLB ops.
 *
 *   slot unmap     vtlmem_tlb_slot        VTLMEM_ARCH_SLOT_SCOPE (x86_64:
 *                                         this CPU; arm64: broadcast)
 *   window unmap   vtlmem_tlb_local       this CPU (the VA waits in the
 *                                         quarantine for the purge)
 *   purge          vtlmem_tlb_everywhere  every CPU, before the VA or the
 *                                         reservation behind it is reused
 *
 * Ranges of more than VTLMEM_ARCH_TLB_RANGE_MAX pages invalidate the whole
 * TLB instead. When the platform gives tlb_local, it replaces the arch's
 * own invalidation (host tests, or a kernel with its own flush code); on a
 * broadcast architecture it then replaces the broadcast too, and must reach
 * what that would have.
 */
#ifndef VTLMEM_SRC_TLB_H
#define VTLMEM_SRC_TLB_H

#include <vtlmem/platform.h>

#include "arch.h"

/* Invalidations done, for the statistics: page by page, and whole TLBs. */
struct vtlmem_tlb_count {
	uint64_t pages, all;
};

/* [va, va + n pages) on this CPU (the caller keeps the CPU from changing). */
void vtlmem_tlb_local(const struct vtlmem_platform *p, uintptr_t va, uint64_t n,
		      struct vtlmem_tlb_count *c);

/* A per-CPU slot's pages, on its CPU (preemption off), in the arch's scope. */
void vtlmem_tlb_slot(const struct vtlmem_platform *p, uintptr_t va, uint64_t n,
		     struct vtlmem_tlb_count *c);

/*
 * vtlmem_tlb_slot() of n <= VTLMEM_ARCH_TLB_RANGE_MAX pages (always named
 * page by page, so nothing to count but n), inline for the one-shot path.
 */
static inline void vtlmem_tlb_slot_few(const struct vtlmem_platform *p, uintptr_t va,
				       uint64_t n)
{
	if (p->tlb_local)
		p->tlb_local(p->ctx, va, n);
	else if (VTLMEM_ARCH_SLOT_SCOPE == VTLMEM_TLB_BROADCAST)
		vtlmem_arch_tlb_broadcast(va, n);
	else
		vtlmem_arch_tlb_local(va, n);
}

/*
 * [va, va + n pages) on every CPU: this one (or a hardware broadcast) and,
 * through the platform's shootdown op, every other one, with preemption off
 * across both so that "this CPU" and "the others" are all CPUs. Returns 0,
 * or the shootdown op's error (some CPU may still hold the translations).
 * No library lock may be held; never from interrupt context.
 */
int vtlmem_tlb_everywhere(const struct vtlmem_platform *p, uintptr_t va, uint64_t n,
			  struct vtlmem_tlb_count *c);

#endif
