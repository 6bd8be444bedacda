/* SPDX-License-Identifier: MIT */
/*
 * The VTL0 copy calls: one call each. The contiguous read and write and
 * the field accesses (the one-shot path) are specialised: validate the
 * arguments once, ask the ownership question once, claim the whole pages
 * (up to VTLMEM_CLAIM_MAX_PAGES, with preemption off until the release;
 * reserve_claim.h) or else reserve them through the tree
 * (vtlmem_reserve_owned), map them VTLMEM_PHYSPTR_SLOT_PAGES at a time on
 * this CPU's slot stack without checking the reservation the same call
 * just took (vtlmem_slot_copy, slot_copy.h), copy, unmap (local
 * invalidation), release. The page-list calls are built on a physical
 * pointer that lives on the stack for the duration of the call, asking for
 * slots (VTLMEM_PHYSPTR_SLOTS). Either way a copy of any length maps at
 * most VTLMEM_PHYSPTR_SLOT_PAGES pages at a time on this CPU and allocates
 * nothing in steady state; the reservation is released at once on return
 * (no window mapping was made, so no flush is pending).
 */
#include <vtlmem/vtl0.h>
#include <vtlmem/copy.h>

#include "compiler.h"
#include "lock.h"
#include "pacheck.h"
#include "reserve_claim.h"
#include "reserve_held.h"
#include "slot_copy.h"

#define MASK VTLMEM_PAGE_MASK

static const struct vtlmem_physptr_attr rd_attr = {
	.elem_size = 1, .prot = VTLMEM_PROT_RO, .cache = VTLMEM_CACHE_WB,
	.flags = VTLMEM_PHYSPTR_SLOTS,
};
static const struct vtlmem_physptr_attr wr_attr = {
	.elem_size = 1, .prot = VTLMEM_PROT_RW, .cache = VTLMEM_CACHE_WB,
	.flags = VTLMEM_PHYSPTR_SLOTS,
};

int vtlmem_vtl0_init(struct vtlmem_vtl0 *ctx, struct vtlmem_rtable *rt,
		     struct vtlmem_vmap *vm)
{
	if (!ctx || !rt || !vm || !rt->plat || !vtlmem_lock_ops_ok(rt->plat))
		return -VTLMEM_EINVAL;
	ctx->plat = rt->plat;
	ctx->rt = rt;
	ctx->vm = vm;
	return 0;
}

/* The copy through p, then p's destroy (slots only: releases at once). */
static int copy_and_destroy(struct vtlmem_physptr *p, void *buf, size_t len, bool write,
			    size_t *done)
{
	int ret;

	if (write)
		ret = vtlmem_physptr_write_slice(p, 0, len, buf, done);
	else
		ret = vtlmem_physptr_read_slice(p, 0, len, buf, done);
	vtlmem_physptr_destroy(p);
	return ret;
}

/*
 * A one-shot reservation: a page claim (h.id == 0), held with preemption
 * off from the claim to its release, or a tree handle.
 */
struct shot {
	vtlmem_resv_t h;
	struct vtlmem_claim c;
	unsigned long cookie;
};

/* A page claim of r, with preemption off from here if it is taken (0). */
VTLMEM_HOT_INLINE int shot_claim(struct vtlmem_vtl0 *ctx, const struct vtlmem_range *r,
				 enum vtlmem_rmode mode, struct shot *s)
{
	const struct vtlmem_platform *vp = ctx->vm->p;
	int ret;

	s->cookie = vp->preempt_off(vp->ctx);
	ret = vtlmem_claim_pages(ctx->rt, vtlmem_pa_val(r->pa) >> VTLMEM_PAGE_SHIFT,
				 (unsigned)(r->len >> VTLMEM_PAGE_SHIFT), mode, &s->c);
	if (__builtin_expect(ret != 0, 0))
		vp->preempt_on(vp->ctx, s->cookie);
	return ret;
}

/*
 * Reserve the whole pages r (checked by vtlmem_check_pages_args) for one
 * call: one ownership question, then for up to VTLMEM_CLAIM_MAX_PAGES
 * pages a page claim (preemption stays off until shot_release), else, or
 * when the claim path does not apply, a tree reservation. Returns 0,
 * -VTLMEM_EPERM, -VTLMEM_ENOMEM (the claim table, made on the first call,
 * or a tree object), -VTLMEM_ENOSPC or -VTLMEM_EBUSY; nothing changes on
 * error.
 */
VTLMEM_HOT_INLINE int shot_reserve(struct vtlmem_vtl0 *ctx, const struct vtlmem_range *r,
				   bool write, struct shot *s)
{
	const struct vtlmem_platform *p = ctx->plat;
	enum vtlmem_rmode mode = write ? VTLMEM_RES_EXCLUSIVE : VTLMEM_RES_SHARED;
	uint64_t np = r->len >> VTLMEM_PAGE_SHIFT;
	int ret;

	if (!p->ownership || p->ownership(p->ctx, r->pa, r->len) != VTLMEM_OWNER_VTL0)
		return -VTLMEM_EPERM;
	s->h.id = 0;
	if (np <= VTLMEM_CLAIM_MAX_PAGES) {
		ret = shot_claim(ctx, r, mode, s);
		if (ret == 1 && !__atomic_load_n(&ctx->rt->claims, __ATOMIC_ACQUIRE)) {
			ret = vtlmem_claims_prepare(ctx->rt);   /* the first call */
			if (!ret)
				ret = shot_claim(ctx, r, mode, s);
		}
		if (ret <= 0)
			return ret;
	}
	return vtlmem_reserve_owned(ctx->rt, r, mode, &s->h);
}

VTLMEM_HOT_INLINE void shot_release(struct vtlmem_vtl0 *ctx, const struct shot *s)
{
	const struct vtlmem_platform *vp = ctx->vm->p;

	if (s->h.id) {
		vtlmem_release_own(ctx->rt, s->h);   /* cannot fail: h is live */
		return;
	}
	vtlmem_claim_release(&s->c);
	vp->preempt_on(vp->ctx, s->cookie);
}

/* Pages the tree path maps between two preemption points. */
#define BATCH_PAGES 16u

/*
 * The copy under a tree reservation (any length): vtlmem_slot_copy() of
 * BATCH_PAGES pages at a time, each batch with preemption off.
 */
static int copy_batches(struct vtlmem_vmap *vm, uint64_t pa, uint64_t in, uint8_t *buf,
			size_t len, bool write, size_t *done)
{
	const struct vtlmem_platform *p = vm->p;
	unsigned long cookie;
	size_t n;
	int ret;

	for (;;) {
		n = BATCH_PAGES * PG - in;
		if (n > len)
			n = len;
		cookie = p->preempt_off(p->ctx);
		ret = vtlmem_slot_copy(vm, pa, in, buf, n, write, done);
		p->preempt_on(p->ctx, cookie);
		len -= n;
		if (ret || !len)
			return ret;
		pa += BATCH_PAGES * PG;
		buf += n;
		in = 0;
	}
}

VTLMEM_HOT_INLINE int contig(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa, void *buf,
			     size_t len, bool write, size_t *done)
{
	struct vtlmem_vmap *vm;
	struct vtlmem_range r;
	struct shot s;
	size_t dummy;
	uint64_t in;
	int ret;

	if (!done)
		done = &dummy;
	*done = 0;
	if (!ctx || (!buf && len))
		return -VTLMEM_EINVAL;
	if (len == 0)
		return 0;
	/* The whole pages the bytes touch: -EOVERFLOW, -ERANGE. */
	ret = vtlmem_check_pages_args(ctx->rt->plat, pa, len, &r);
	if (ret)
		return ret;
	ret = shot_reserve(ctx, &r, write, &s);
	if (ret)
		return ret;
	vm = ctx->vm;
	in = vtlmem_pa_val(pa) & MASK;
	/* the manager's own limits, before any byte moves */
	if (r.len > PG && vm->spc < VTLMEM_PHYSPTR_SLOT_PAGES)
		ret = -VTLMEM_EINVAL;
	else if ((vtlmem_pa_val(r.pa) + r.len - 1) >> vmap_pa_bits(vm->p))
		ret = -VTLMEM_ERANGE;
	else if (s.h.id)
		ret = copy_batches(vm, vtlmem_pa_val(r.pa), in, buf, len, write, done);
	else
		ret = vtlmem_slot_copy(vm, vtlmem_pa_val(r.pa), in, buf, len, write, done);
	shot_release(ctx, &s);
	return ret;
}

int vtlmem_vtl0_read(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa, void *dst, size_t len,
		     size_t *done)
{
	return contig(ctx, pa, dst, len, false, done);
}

int vtlmem_vtl0_write(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa, const void *src, size_t len,
		      size_t *done)
{
	/* src is only read when write is true. */
	return contig(ctx, pa, (void *)(uintptr_t)src, len, true, done);
}

static int paged(struct vtlmem_vtl0 *ctx, const vtlmem_paddr_t *pages, size_t npages,
		 uint64_t offset, void *buf, size_t len, bool write, size_t *done)
{
	struct vtlmem_physptr p;
	uint64_t end;
	size_t dummy;
	int ret;

	if (!done)
		done = &dummy;
	*done = 0;
	if (!ctx || (!buf && len))
		return -VTLMEM_EINVAL;
	if (len == 0)
		return 0;
	if (!pages || npages == 0 || offset >= PG)
		return -VTLMEM_EINVAL;
	if (__builtin_add_overflow(offset, (uint64_t)len, &end))
		return -VTLMEM_EOVERFLOW;
	/* Touch only the pages the bytes lie in. */
	end = (end - 1) / PG + 1;
	if (end > npages)
		return -VTLMEM_ERANGE;
	ret = vtlmem_physptr_create(&p, ctx->rt, ctx->vm, pages, (size_t)end, offset, len,
				    write ? &wr_attr : &rd_attr);
	if (ret)
		return ret;
	return copy_and_destroy(&p, buf, len, write, done);
}

int vtlmem_vtl0_read_pages(struct vtlmem_vtl0 *ctx, const vtlmem_paddr_t *pages, size_t npages,
			   uint64_t offset, void *dst, size_t len, size_t *done)
{
	return paged(ctx, pages, npages, offset, dst, len, false, done);
}

int vtlmem_vtl0_write_pages(struct vtlmem_vtl0 *ctx, const vtlmem_paddr_t *pages,
			    size_t npages, uint64_t offset, const void *src, size_t len,
			    size_t *done)
{
	return paged(ctx, pages, npages, offset, (void *)(uintptr_t)src, len, true, done);
}

static bool field_ok(vtlmem_paddr_t pa, unsigned width)
{
	if (width != 1 && width != 2 && width != 4 && width != 8)
		return false;
	return (vtlmem_pa_val(pa) & (width - 1)) == 0;
}

/* One single-copy-atomic access of width bytes at va (copy.h routines). */
static int field_at(uintptr_t va, unsigned width, uint64_t *val, bool store)
{
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;
	int ret;

	if (store) {
		switch (width) {
		case 1:
			return vtlmem_store8((void *)va, (uint8_t)*val);
		case 2:
			return vtlmem_store16((void *)va, (uint16_t)*val);
		case 4:
			return vtlmem_store32((void *)va, (uint32_t)*val);
		default:
			return vtlmem_store64((void *)va, *val);
		}
	}
	switch (width) {
	case 1:
		ret = vtlmem_load8((const void *)va, &v8);
		*val = v8;
		return ret;
	case 2:
		ret = vtlmem_load16((const void *)va, &v16);
		*val = v16;
		return ret;
	case 4:
		ret = vtlmem_load32((const void *)va, &v32);
		*val = v32;
		return ret;
	default:
		return vtlmem_load64((const void *)va, val);
	}
}

/*
 * The one-shot path for a field (width-aligned, so within one page):
 * reserve its page (a page claim when it can), map it in one slot, one
 * access, unmap, release.
 */
static int field(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa, unsigned width, uint64_t *val,
		 bool store)
{
	struct vtlmem_range r;
	struct vtlmem_slot s;
	struct shot o;
	uint64_t v = *val;
	int ret, ret2;

	ret = vtlmem_check_pages_args(ctx->rt->plat, pa, width, &r);
	if (ret)
		return ret;
	ret = shot_reserve(ctx, &r, store, &o);
	if (ret)
		return ret;
	if (vtlmem_pa_val(r.pa) >> vmap_pa_bits(ctx->vm->p)) {
		ret = -VTLMEM_ERANGE;
	} else {
		ret = vtlmem_slot_enter(ctx->vm, &r.pa, 1,
					vtlmem_arch_leaf_attrs(store ? VTLMEM_PROT_RW : VTLMEM_PROT_RO,
							       VTLMEM_CACHE_WB), &s);
		if (!ret) {
			ret = field_at(vtlmem_va_val(s.va) + (vtlmem_pa_val(pa) & MASK), width, &v,
				       store);
			ret2 = vtlmem_slot_unmap(ctx->vm, &s);
			if (!ret)
				ret = ret2;
		}
	}
	shot_release(ctx, &o);
	if (!ret && !store)
		*val = v;
	return ret;
}

int vtlmem_vtl0_load(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa, unsigned width,
		     uint64_t *out)
{
	uint64_t v = 0;
	int ret;

	if (!ctx || !out || !field_ok(pa, width))
		return -VTLMEM_EINVAL;
	ret = field(ctx, pa, width, &v, false);
	if (!ret)
		*out = v;
	return ret;
}

int vtlmem_vtl0_store(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa, unsigned width, uint64_t v)
{
	if (!ctx || !field_ok(pa, width) || (width < 8 && (v >> (width * 8))))
		return -VTLMEM_EINVAL;
	return field(ctx, pa, width, &v, true);
}
