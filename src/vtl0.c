/* SPDX-License-Identifier: MIT */
/*
 * The VTL0 copy calls: one call each, built on a physical pointer that lives
 * on the stack for the duration of the call. The pointer asks for slots
 * (VTLMEM_PHYSPTR_SLOTS), so a copy of any length maps at most
 * VTLMEM_PHYSPTR_SLOT_PAGES pages at a time on this CPU and allocates
 * nothing; its reservation is released at once on return (no window
 * mapping was made, so no flush is pending).
 */
#include <vtlmem/vtl0.h>

#include "lock.h"

#define PG   VTLMEM_PAGE_SIZE
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

static int contig(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa, void *buf, size_t len,
		  bool write, size_t *done)
{
	struct vtlmem_physptr p;
	size_t dummy;
	int ret;

	if (!done)
		done = &dummy;
	*done = 0;
	if (!ctx || (!buf && len))
		return -VTLMEM_EINVAL;
	if (len == 0)
		return 0;
	ret = vtlmem_physptr_create_contig(&p, ctx->rt, ctx->vm, pa, len,
					   write ? &wr_attr : &rd_attr);
	if (ret)
		return ret;
	return copy_and_destroy(&p, buf, len, write, done);
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

int vtlmem_vtl0_load(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa, unsigned width,
		     uint64_t *out)
{
	struct vtlmem_physptr p;
	int ret;

	if (!ctx || !out || !field_ok(pa, width))
		return -VTLMEM_EINVAL;
	ret = vtlmem_physptr_create_contig(&p, ctx->rt, ctx->vm, pa, width, &rd_attr);
	if (ret)
		return ret;
	ret = vtlmem_physptr_load(&p, 0, width, out);
	vtlmem_physptr_destroy(&p);
	return ret;
}

int vtlmem_vtl0_store(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa, unsigned width, uint64_t v)
{
	struct vtlmem_physptr p;
	int ret;

	if (!ctx || !field_ok(pa, width) || (width < 8 && (v >> (width * 8))))
		return -VTLMEM_EINVAL;
	ret = vtlmem_physptr_create_contig(&p, ctx->rt, ctx->vm, pa, width, &wr_attr);
	if (ret)
		return ret;
	ret = vtlmem_physptr_store(&p, 0, width, v);
	vtlmem_physptr_destroy(&p);
	return ret;
}
