/* SPDX-License-Identifier: MIT */
/*
 * The VTL0 copy calls: one call each. The contiguous read and write (the
 * one-shot path) are specialised: validate the arguments once, reserve the
 * whole pages with one ownership question (vtlmem_reserve_range), map them
 * VTLMEM_PHYSPTR_SLOT_PAGES at a time on this CPU's slot stack without
 * checking the reservation the same call just took (vtlmem_slot_enter),
 * copy, unmap (local invalidation), and release by the handle's record.
 * The page-list calls and the field accesses are built on a physical
 * pointer that lives on the stack for the duration of the call, asking for
 * slots (VTLMEM_PHYSPTR_SLOTS). Either way a copy of any length maps at
 * most VTLMEM_PHYSPTR_SLOT_PAGES pages at a time on this CPU and allocates
 * nothing; the reservation is released at once on return (no window
 * mapping was made, so no flush is pending).
 */
#include <vtlmem/vtl0.h>
#include <vtlmem/copy.h>

#include "lock.h"
#include "pacheck.h"
#include "reserve_claim.h"
#include "reserve_held.h"
#include "vmap_internal.h"

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
 * Copy len >= 1 bytes starting in byte in of the pages from pa (whole
 * pages, reserved by the caller in the mode prot needs) through this CPU's
 * slots, SLOT_PAGES pages at a time; *done counts the bytes copied. The
 * checks vtlmem_slot_map() would make hold by construction: the pages are
 * aligned, distinct and covered by the caller's live reservation; only the
 * manager's own limits are checked here (slot stack depth, and pages below
 * the width the manager maps: its platform may be narrower than the
 * table's), with vtlmem_slot_map()'s error codes.
 */
static int copy_slots(struct vtlmem_vmap *vm, uint64_t pa, uint64_t in, uint8_t *buf,
		      size_t len, bool write, size_t *done)
{
	uint64_t attrs = vtlmem_arch_leaf_attrs(write ? VTLMEM_PROT_RW : VTLMEM_PROT_RO,
						VTLMEM_CACHE_WB);
	unsigned bits = vmap_pa_bits(vm->p);
	vtlmem_paddr_t pg[VTLMEM_PHYSPTR_SLOT_PAGES];
	struct vtlmem_slot s;
	uint64_t np, n, left;
	int ret;

	while (len) {
		np = ((in + len - 1) >> VTLMEM_PAGE_SHIFT) + 1;
		if (np > VTLMEM_PHYSPTR_SLOT_PAGES)
			np = VTLMEM_PHYSPTR_SLOT_PAGES;
		if (np > vm->spc)
			return -VTLMEM_EINVAL;
		n = np * PG - in;
		if (n > len)
			n = len;
		pg[0] = vtlmem_pa(pa);
		pg[1] = vtlmem_pa(pa + PG);
		if ((pa + (np - 1) * PG) >> bits)
			return -VTLMEM_ERANGE;
		ret = vtlmem_slot_enter(vm, pg, (uint32_t)np, attrs, &s);
		if (ret)
			return ret;
		if (write)
			left = vtlmem_copy((void *)(vtlmem_va_val(s.va) + in), buf, n);
		else
			left = vtlmem_copy(buf, (const void *)(vtlmem_va_val(s.va) + in), n);
		ret = vtlmem_slot_unmap(vm, &s);
		*done += n - left;
		if (left)
			return -VTLMEM_EFAULT;
		if (ret)
			return ret;
		pa += np * PG;
		in = 0;
		buf += n;
		len -= n;
	}
	return 0;
}

static int contig(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa, void *buf, size_t len,
		  bool write, size_t *done)
{
	struct vtlmem_oneshot o;
	struct vtlmem_range r;
	size_t dummy;
	int ret;

	if (!done)
		done = &dummy;
	*done = 0;
	if (!ctx || (!buf && len))
		return -VTLMEM_EINVAL;
	if (len == 0)
		return 0;
	/* The whole pages the bytes touch: -EOVERFLOW, -ERANGE, -EPERM. */
	ret = vtlmem_check_pages_args(ctx->rt->plat, pa, len, &r);
	if (ret)
		return ret;
	ret = vtlmem_reserve_oneshot(ctx->rt, &r,
				     write ? VTLMEM_RES_EXCLUSIVE : VTLMEM_RES_SHARED, &o);
	if (ret)
		return ret;
	ret = copy_slots(ctx->vm, vtlmem_pa_val(r.pa), vtlmem_pa_val(pa) & MASK, buf, len, write,
			 done);
	vtlmem_release_oneshot(ctx->rt, &o);   /* cannot fail: o is live */
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
	struct vtlmem_oneshot o;
	struct vtlmem_range r;
	struct vtlmem_slot s;
	uint64_t v = *val;
	int ret, ret2;

	ret = vtlmem_check_pages_args(ctx->rt->plat, pa, width, &r);
	if (ret)
		return ret;
	ret = vtlmem_reserve_oneshot(ctx->rt, &r, store ? VTLMEM_RES_EXCLUSIVE : VTLMEM_RES_SHARED,
				     &o);
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
	vtlmem_release_oneshot(ctx->rt, &o);
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
