/* SPDX-License-Identifier: MIT */
#include "vtl0env.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PG VTLMEM_PAGE_SIZE

static void die(const char *what, int err)
{
	fprintf(stderr, "vtl0env: %s failed: %d\n", what, err);
	abort();
}

/* The mirror's fill filter: the refusal knob (vtl0env_refuse). */
static bool fill_ok(void *arg, uint64_t pa)
{
	struct vtl0env *e = arg;

	return !(__atomic_load_n(&e->refuse, __ATOMIC_ACQUIRE) && pa == e->refuse_pa);
}

void vtl0env_init(struct vtl0env *e, unsigned slots_per_cpu)
{
	vtl0env_init_with(e, slots_per_cpu, NULL);
}

void vtl0env_init_with(struct vtl0env *e, unsigned slots_per_cpu,
		       void (*adjust)(struct vtlmem_platform *ops))
{
	struct vtlmem_vmap_config cfg = { .slots_per_cpu = slots_per_cpu };
	int ret;

	memset(e, 0, sizeof(*e));
	hostplat_init(&e->hp, VTL0ENV_PHYS);
	if (adjust)
		adjust(&e->hp.ops);
	ret = vtlmem_rtable_init(&e->rt, &e->hp.ops);
	if (ret)
		die("vtlmem_rtable_init", ret);
	hostmmu_init(&e->mmu, &e->hp, VTL0ENV_WINDOW);
	hostmmu_config(&e->mmu, &cfg);
	ret = vtlmem_vmap_create(&e->hp.ops, &e->rt, &cfg, &e->vm);
	if (ret)
		die("vtlmem_vmap_create", ret);
	hostmmu_install(&e->mmu, e->vm);
	/*
	 * Fill-ahead: a fault also caches the next pages of the window that
	 * have present entries (up to 3, stopping at the first that cannot
	 * be), which saves a signal per page of a multi-page access.
	 */
	e->mmu.fill_ahead = 3;
	e->mmu.fill_ok = fill_ok;
	e->mmu.fill_arg = e;
	hostmmu_mirror_enable(&e->mmu);
	ret = vtlmem_vtl0_init(&e->ctx, &e->rt, e->vm);
	if (ret)
		die("vtlmem_vtl0_init", ret);
}

int vtl0env_fini(struct vtl0env *e)
{
	int ret, first = 0;

	hostmmu_fini(&e->mmu);   /* mirror off (resolver cleared), root freed */
	ret = vtlmem_vmap_destroy(e->vm);
	if (ret)
		first = ret;
	ret = vtlmem_rtable_fini(&e->rt);
	if (ret && !first)
		first = ret;
	if (!first && (e->hp.alloc_live || e->hp.pt_live))
		first = -VTLMEM_EBUSY;
	hostplat_fini(&e->hp);
	return first;
}

uint64_t vtl0env_pa(unsigned n)
{
	if (n >= VTL0ENV_PAGES)
		abort();
	return HOSTPLAT_VTL0_BASE + (uint64_t)n * PG;
}

vtlmem_paddr_t vtl0env_page(unsigned n)
{
	return vtlmem_pa(vtl0env_pa(n));
}

uint8_t *vtl0env_dm(struct vtl0env *e, uint64_t pa)
{
	return hostplat_va(&e->hp, pa);
}

static void span(struct vtl0env *e, const vtlmem_paddr_t *pages, uint64_t off, uint8_t *buf,
		 size_t len, bool in)
{
	uint64_t pos = off, n;
	uint8_t *p;

	while (len) {
		n = PG - (pos & (PG - 1));
		if (n > len)
			n = len;
		p = vtl0env_dm(e, vtlmem_pa_val(pages[pos / PG]) + (pos & (PG - 1)));
		if (in)
			memcpy(p, buf, n);
		else
			memcpy(buf, p, n);
		pos += n;
		buf += n;
		len -= n;
	}
}

void vtl0env_gather(struct vtl0env *e, const vtlmem_paddr_t *pages, uint64_t off, void *out,
		    size_t len)
{
	span(e, pages, off, out, len, false);
}

void vtl0env_scatter(struct vtl0env *e, const vtlmem_paddr_t *pages, uint64_t off,
		     const void *in, size_t len)
{
	span(e, pages, off, (uint8_t *)(uintptr_t)in, len, true);
}

void vtl0env_refuse(struct vtl0env *e, uint64_t pa)
{
	e->refuse_pa = pa;
	__atomic_store_n(&e->refuse, pa != 0, __ATOMIC_RELEASE);
	/* Every CPU forgets every cached page, so the refusal holds from now on. */
	hostmmu_tlb_flush_all(&e->mmu);
}

void vtl0env_snap(struct vtl0env *e, struct vtl0env_snap *s)
{
	memset(s, 0, sizeof(*s));
	vtlmem_rtable_stats(&e->rt, &s->rt);
	vtlmem_vmap_get_stats(e->vm, &s->vm);
	s->alloc_live = e->hp.alloc_live;
	s->pt_live = e->hp.pt_live;
	s->preempt_offs = e->hp.preempt_offs;
	s->preempt_ons = e->hp.preempt_ons;
}

bool vtl0env_same_state(const struct vtl0env_snap *a, const struct vtl0env_snap *b)
{
	return a->rt.handles == b->rt.handles && a->rt.intervals == b->rt.intervals &&
	       a->vm.mapped_pages == b->vm.mapped_pages &&
	       a->vm.quarantined_pages == b->vm.quarantined_pages && a->pt_live == b->pt_live &&
	       a->preempt_offs - a->preempt_ons == b->preempt_offs - b->preempt_ons;
}

bool vtl0env_nothing_done(const struct vtl0env_snap *a, const struct vtl0env_snap *b)
{
	return vtl0env_same_state(a, b) && a->rt.reserves == b->rt.reserves &&
	       a->vm.maps == b->vm.maps && a->vm.slot_maps == b->vm.slot_maps;
}
