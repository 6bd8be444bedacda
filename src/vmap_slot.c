/* SPDX-License-Identifier: MIT */
/*
 * Per-CPU temporary slots of the vmap manager: [slot_base, base + size)
 * holds ncpus stacks of slots_per_cpu slot pages, each stack followed by
 * one guard page. A slot is mapped and unmapped on one CPU with preemption
 * off, in stack order (unmap checks the slot is the top one: -EDEADLK).
 * Only that CPU touches its stack, so no lock is taken.
 */
#include "reserve_held.h"
#include "slot_copy.h"

int vtlmem_vmap_slots_init(struct vtlmem_vmap *vm)
{
	const struct vtlmem_platform *p = vm->p;
	unsigned c;

	/*
	 * One line per CPU only if the array starts on a line: the platform's
	 * allocator may align less, so allocate a line more and align here (two
	 * CPUs' slot counters in one line would bounce it on every slot map).
	 */
	vm->cpus_mem = p->alloc(p->ctx, (vm->ncpus + 1) * sizeof(*vm->cpus));
	vm->cpus = vm->cpus_mem ? (struct slot_cpu *)(((uintptr_t)vm->cpus_mem + 63) &
						      ~(uintptr_t)63) : NULL;
	vm->ents = p->alloc(p->ctx, (size_t)vm->ncpus * vm->spc * sizeof(*vm->ents));
	vm->slot_pte = p->alloc(p->ctx, (size_t)vm->ncpus * vm->spc * sizeof(*vm->slot_pte));
	if (!vm->cpus || !vm->ents || !vm->slot_pte)
		return -VTLMEM_ENOMEM;
	vm->slot_attrs[0] = vtlmem_arch_leaf_attrs(VTLMEM_PROT_RO, VTLMEM_CACHE_WB);
	vm->slot_attrs[1] = vtlmem_arch_leaf_attrs(VTLMEM_PROT_RW, VTLMEM_CACHE_WB);
	for (c = 0; c < vm->ncpus; c++) {
		struct slot_cpu *sc = &vm->cpus[c];

		sc->s.top = 0;
		sc->s.depth = 0;
		sc->s.gen = 0;
		sc->s.va = vm->slot_base + (uint64_t)c * (vm->spc + 1) * PG;
		sc->s.pte = &vm->slot_pte[(size_t)c * vm->spc];
		sc->s.maps = sc->s.unmaps = 0;
		sc->s.flush_pages = sc->s.flush_all = 0;
	}
	return 0;
}

void vtlmem_vmap_slots_fini(struct vtlmem_vmap *vm)
{
	const struct vtlmem_platform *p = vm->p;

	if (vm->cpus_mem)
		p->free(p->ctx, vm->cpus_mem, (vm->ncpus + 1) * sizeof(*vm->cpus));
	if (vm->ents)
		p->free(p->ctx, vm->ents, (size_t)vm->ncpus * vm->spc * sizeof(*vm->ents));
	if (vm->slot_pte)
		p->free(p->ctx, vm->slot_pte,
			(size_t)vm->ncpus * vm->spc * sizeof(*vm->slot_pte));
}

static int link_visit(struct pgt *t, const struct vtlmem_pgt_visit *v, void *arg)
{
	struct vtlmem_vmap *vm = arg;
	uint64_t k = (v->va - vm->slot_base) >> VTLMEM_PAGE_SHIFT;

	(void)t;
	if (k % (vm->spc + 1) != vm->spc)      /* not a guard page */
		vm->cpus[k / (vm->spc + 1)].s.pte[k % (vm->spc + 1)] = v->entry;
	return 0;
}

void vtlmem_vmap_slots_link(struct vtlmem_vmap *vm)
{
	const struct vtlmem_pgt_walker w = { link_visit, vm, VTLMEM_PGT_LEAF };

	vtlmem_pgt_walk(&vm->pt, vm->slot_base, vm->base + vm->size - vm->slot_base, &w);
}

bool vtlmem_vmap_slots_busy(const struct vtlmem_vmap *vm)
{
	unsigned c;

	for (c = 0; c < vm->ncpus; c++)
		if (vm->cpus[c].s.top)
			return true;
	return false;
}

/*
 * Arguments of a slot map, checked before preemption goes off: pages
 * aligned and distinct (n <= MAX_SLOTS: the pairwise check is bounded),
 * covered by the live reservation held, exclusive for RW. Lock-free (the
 * table's lock-free held check): a slot may be mapped in interrupt context
 * on a CPU that holds the table lock.
 */
static int slot_check(struct vtlmem_vmap *vm, const vtlmem_paddr_t *pages, size_t n,
		      enum vtlmem_prot prot, vtlmem_resv_t held)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (vtlmem_pa_val(pages[i]) & VTLMEM_PAGE_MASK)
			return -VTLMEM_EINVAL;
		for (j = 0; j < i; j++)
			if (vtlmem_pa_val(pages[j]) == vtlmem_pa_val(pages[i]))
				return -VTLMEM_EINVAL;
	}
	/* held may be of a table whose platform allows wider addresses */
	for (i = 0; i < n; i++)
		if (vtlmem_pa_val(pages[i]) >> vmap_pa_bits(vm->p))
			return -VTLMEM_ERANGE;
	return vtlmem_resv_check_held(vm->rt, held, pages, n, prot == VTLMEM_PROT_RW);
}

/* Map n pages on top of cpu's slot stack and describe the slot in *s. */
static void slot_push(struct vtlmem_vmap *vm, unsigned cpu, const vtlmem_paddr_t *pages,
		      uint32_t n, uint64_t attrs, struct vtlmem_slot *s)
{
	struct slot_cpu *c = &vm->cpus[cpu];
	struct slot_ent *e = &vm->ents[(size_t)cpu * vm->spc + c->s.depth++];

	e->first = c->s.top;
	e->n = n;
	e->gen = ++c->s.gen;
	c->s.top += n;
	s->va = vtlmem_va(slot_va(vm, cpu, e->first));
	vtlmem_pgt_set(&vm->pt, vtlmem_va_val(s->va), pages, n, attrs);
	s->cpu = cpu;
	s->first = e->first;
	s->npages = e->n;
	s->gen = e->gen;
	slot_bump(&c->s.maps, 1);
}

int vtlmem_slot_enter(struct vtlmem_vmap *vm, const vtlmem_paddr_t *pages, uint32_t npages,
		      uint64_t attrs, struct vtlmem_slot *s)
{
	const struct vtlmem_platform *p = vm->p;
	unsigned long cookie = p->preempt_off(p->ctx);
	unsigned cpu = p->cpu_id(p->ctx);

	if (cpu >= vm->ncpus || vm->cpus[cpu].s.top + npages > vm->spc) {
		p->preempt_on(p->ctx, cookie);
		return cpu >= vm->ncpus ? -VTLMEM_EINVAL : -VTLMEM_ENOSPC;
	}
	slot_push(vm, cpu, pages, npages, attrs, s);
	s->cookie = cookie;
	return 0;
}

int vtlmem_slot_map(struct vtlmem_vmap *vm, const vtlmem_paddr_t *pages, size_t npages,
		    enum vtlmem_prot prot, enum vtlmem_cache cache, vtlmem_resv_t held,
		    struct vtlmem_slot *s)
{
	uint64_t attrs;
	int ret;

	if (!vm || !pages || !s || npages == 0 || npages > vm->spc)
		return -VTLMEM_EINVAL;
	attrs = vtlmem_arch_leaf_attrs(prot, cache);
	if (!attrs)
		return -VTLMEM_EINVAL;
	ret = slot_check(vm, pages, npages, prot, held);
	if (ret)
		return ret;
	return vtlmem_slot_enter(vm, pages, (uint32_t)npages, attrs, s);
}

int vtlmem_slot_unmap(struct vtlmem_vmap *vm, struct vtlmem_slot *s)
{
	struct slot_cpu *c;
	struct slot_ent *e;
	struct vtlmem_tlb_count tc = { 0, 0 };
	unsigned cpu;

	if (!vm || !s)
		return -VTLMEM_EINVAL;
	cpu = vm->p->cpu_id(vm->p->ctx);
	if (cpu >= vm->ncpus || s->cpu != cpu || !vm->cpus[cpu].s.depth)
		return -VTLMEM_EDEADLK;
	c = &vm->cpus[cpu];
	e = &vm->ents[(size_t)cpu * vm->spc + c->s.depth - 1];
	if (e->first != s->first || e->n != s->npages || e->gen != s->gen ||
	    vtlmem_va_val(s->va) != slot_va(vm, cpu, e->first))
		return -VTLMEM_EDEADLK;
	vtlmem_pgt_clear(&vm->pt, vtlmem_va_val(s->va), e->n, NULL, NULL);
	vtlmem_tlb_slot(vm->p, vtlmem_va_val(s->va), e->n, &tc);
	c->s.top -= e->n;
	c->s.depth--;
	slot_bump(&c->s.unmaps, 1);
	slot_bump(&c->s.flush_pages, tc.pages);
	slot_bump(&c->s.flush_all, tc.all);
	vm->p->preempt_on(vm->p->ctx, s->cookie);
	return 0;
}
