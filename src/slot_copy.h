/* SPDX-License-Identifier: MIT */
/*
 * The per-CPU slots' inline parts: a slot page's VA, the counters, and the
 * one-shot VTL0 calls' copy through this CPU's slots (vtlmem_slot_copy),
 * inline because it runs on every such call; the slot stack itself is in
 * vmap_slot.c.
 */
#ifndef VTLMEM_SRC_SLOT_COPY_H
#define VTLMEM_SRC_SLOT_COPY_H

#include <vtlmem/copy.h>
#include <vtlmem/physptr.h>

#include "compiler.h"
#include "bug.h"
#include "tlb.h"
#include "vmap_internal.h"

_Static_assert(VTLMEM_PHYSPTR_SLOT_PAGES == 2, "vtlmem_slot_copy maps 1 or 2 pages a slot");

static inline uintptr_t slot_va(const struct vtlmem_vmap *vm, unsigned cpu, uint32_t first)
{
	return vm->cpus[cpu].s.va + (uint64_t)first * PG;
}

/* A per-CPU counter: written by its CPU only, read from anywhere. */
static inline void slot_bump(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

/*
 * Map np pages from pa at slot pages [first, first + np) of c (entries
 * invalid before: break-before-make, a library bug otherwise).
 */
VTLMEM_HOT_INLINE void slot_ptes_set(const struct vtlmem_vmap *vm, uint64_t **pte, uint64_t pa,
				      uint32_t np, uint64_t attrs)
{
	uint64_t bad = __atomic_load_n(pte[0], __ATOMIC_RELAXED);

	__atomic_store_n(pte[0], vtlmem_arch_pte_leaf(vtlmem_pa(pa), attrs, vm->pt.addr_mask),
			 __ATOMIC_RELAXED);
	if (np == 2) {
		bad |= __atomic_load_n(pte[1], __ATOMIC_RELAXED);
		__atomic_store_n(pte[1], vtlmem_arch_pte_leaf(vtlmem_pa(pa + PG), attrs,
							      vm->pt.addr_mask), __ATOMIC_RELAXED);
	}
	VTLMEM_BUG_ON(vm->p, vtlmem_arch_pte_valid(bad));
	vtlmem_arch_publish();
}

VTLMEM_HOT_INLINE void slot_ptes_clear(uint64_t **pte, uint32_t np)
{
	__atomic_store_n(pte[0], 0, __ATOMIC_RELAXED);
	if (np == 2)
		__atomic_store_n(pte[1], 0, __ATOMIC_RELAXED);
	vtlmem_arch_publish();
}

/*
 * The one-shot VTL0 calls' copy (vtl0.c). With preemption off (the
 * caller's), copy len >= 1 bytes at byte in of the pages from pa
 * (page-aligned, below 2^pa_bits of vm's platform, covered by the
 * caller's live reservation in the mode write needs) through this CPU's
 * slots, VTLMEM_PHYSPTR_SLOT_PAGES pages at a time, writing the slot
 * entries directly (no reservation check, no table walk). *done is
 * increased by the bytes copied. Returns 0, -VTLMEM_EFAULT, -VTLMEM_EINVAL
 * (cpu_id >= ncpus) or
 * -VTLMEM_ENOSPC (this CPU's slot stack is full); the slots are unmapped
 * (locally invalidated) before it returns. "more than one page and
 * slots_per_cpu 1" is the caller's to exclude.
 *
 * The slot pages are taken by raising top only (no stack entry: nothing
 * unmaps them but this function): a slot an interrupt maps meanwhile on
 * this CPU stacks above them and is gone before the interrupt returns.
 */
/*
 * One slot of np pages at slot page first of CPU cpu (c): map, copy n
 * bytes from byte in, unmap, invalidate. Returns the bytes not copied.
 */
VTLMEM_HOT_INLINE size_t slot_copy_one(struct vtlmem_vmap *vm, struct slot_cpu *c, uintptr_t va,
				       uint32_t first, uint64_t pa, uint32_t np, uint64_t in,
				       uint8_t *buf, size_t n, bool write)
{
	uint64_t **pte = c->s.pte + first;
	size_t left;

	c->s.top = first + np;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);   /* taken before mapped */
	slot_ptes_set(vm, pte, pa, np, vm->slot_attrs[write]);
	if (write)
		left = vtlmem_copy((void *)(va + in), buf, n);
	else
		left = vtlmem_copy(buf, (const void *)(va + in), n);
	slot_ptes_clear(pte, np);
	vtlmem_tlb_slot_few(vm->p, va, np);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);   /* unmapped before given back */
	c->s.top = first;
	return left;
}

VTLMEM_HOT_INLINE int vtlmem_slot_copy(struct vtlmem_vmap *vm, uint64_t pa, uint64_t in,
				       uint8_t *buf, size_t len, bool write, size_t *done)
{
	const struct vtlmem_platform *p = vm->p;
	unsigned cpu = p->cpu_id(p->ctx);
	uint64_t chunks = 0, pages = 0;
	size_t n, left = 0, copied = 0;
	struct slot_cpu *c;
	uint32_t first, np;
	uintptr_t va;

	if (cpu >= vm->ncpus)
		return -VTLMEM_EINVAL;
	c = &vm->cpus[cpu];
	first = c->s.top;
	np = in + len > PG ? VTLMEM_PHYSPTR_SLOT_PAGES : 1;
	/* every slot but maybe the last maps two pages */
	if (first + np > vm->spc)
		return -VTLMEM_ENOSPC;
	va = slot_va(vm, cpu, first);
	if (in + len <= VTLMEM_PHYSPTR_SLOT_PAGES * PG) {   /* one slot */
		left = slot_copy_one(vm, c, va, first, pa, np, in, buf, len, write);
		slot_bump(&c->s.maps, 1);
		slot_bump(&c->s.unmaps, 1);
		slot_bump(&c->s.flush_pages, np);
		*done += len - left;
		return left ? -VTLMEM_EFAULT : 0;
	}
	for (;;) {
		np = in + len > PG ? VTLMEM_PHYSPTR_SLOT_PAGES : 1;
		n = (size_t)((uint64_t)np * PG - in);
		if (n > len)
			n = len;
		left = slot_copy_one(vm, c, va, first, pa, np, in, buf, n, write);
		chunks++;
		pages += np;
		copied += n - left;
		len -= n;
		if (left || !len)
			break;
		pa += (uint64_t)np * PG;
		buf += n;
		in = 0;
	}
	slot_bump(&c->s.maps, chunks);
	slot_bump(&c->s.unmaps, chunks);
	slot_bump(&c->s.flush_pages, pages);
	*done += copied;
	return left ? -VTLMEM_EFAULT : 0;
}

#endif
