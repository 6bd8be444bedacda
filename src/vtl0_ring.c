/* SPDX-License-Identifier: MIT */
/*
 * The VTL0 log ring writer (vtl0.h). The ring is one physical pointer over
 * header + data, mapped once (persistent window mapping) for the ring's
 * lifetime, so a write is a bounds check and one or two copies, never a
 * mapping; a wrap just splits the copy inside that one mapping.
 *
 * Invariants (under r->lock): r->head is the head last published to VTL0;
 * the write offset is r->head % r->size. Only the ring's own copy of head
 * is trusted: VTL0 may scribble on the published header, and the writer
 * never reads it back.
 */
#include <vtlmem/vtl0.h>

#include "lock.h"
#include "arch.h"

#define HDR VTLMEM_RING_HDR_SIZE

static const struct vtlmem_physptr_attr ring_attr = {
	.elem_size = 1, .prot = VTLMEM_PROT_RW, .cache = VTLMEM_CACHE_WB,
	.flags = VTLMEM_PHYSPTR_PERSISTENT,
};

static bool ring_live(const struct vtlmem_ring *r)
{
	return r && r->p.self == &r->p;
}

int vtlmem_ring_init(struct vtlmem_ring *r, struct vtlmem_vtl0 *ctx,
		     const vtlmem_paddr_t *pages, size_t npages, uint64_t size)
{
	uint64_t total;
	int ret;

	if (r)
		r->p.self = NULL;
	if (!r || !ctx || !ctx->plat || !vtlmem_lock_ops_ok(ctx->plat) || !pages ||
	    npages == 0 || size == 0)
		return -VTLMEM_EINVAL;
	if (__builtin_add_overflow(size, (uint64_t)HDR, &total) || total > SIZE_MAX)
		return -VTLMEM_EOVERFLOW;
	ret = vtlmem_physptr_create(&r->p, ctx->rt, ctx->vm, pages, npages, 0, (size_t)total,
				    &ring_attr);
	if (ret)
		return ret;
	r->plat = ctx->plat;
	r->size = size;
	r->head = 0;
	ret = vtlmem_physptr_store(&r->p, offsetof(struct vtlmem_ring_hdr, size), 8, size);
	if (!ret)
		ret = vtlmem_physptr_store(&r->p, offsetof(struct vtlmem_ring_hdr, head), 8, 0);
	if (ret) {
		vtlmem_physptr_destroy(&r->p);
		return ret;
	}
	/* Last: nothing fails after it, so a failed init leaves no lock. */
	vtlmem_lock_init(r->plat, &r->lock);
	return 0;
}

/* Store n bytes of src at stream position pos (n <= size): 1 or 2 copies. */
static int put(struct vtlmem_ring *r, uint64_t pos, const uint8_t *src, size_t n,
	       size_t *stored)
{
	uint64_t off = pos % r->size;
	size_t first = n, d1 = 0, d2 = 0;
	int ret;

	if (first > r->size - off)
		first = (size_t)(r->size - off);
	ret = vtlmem_physptr_write_slice(&r->p, (size_t)(HDR + off), first, src, &d1);
	if (!ret && n > first)
		ret = vtlmem_physptr_write_slice(&r->p, HDR, n - first, src + first, &d2);
	*stored = d1 + d2;
	return ret;
}

int vtlmem_ring_write(struct vtlmem_ring *r, const void *buf, size_t len, size_t *done)
{
	const uint8_t *src = buf;
	uint64_t skip, head;
	size_t dummy, stored;
	int ret;

	if (!done)
		done = &dummy;
	*done = 0;
	if (!ring_live(r) || (!buf && len))
		return -VTLMEM_EINVAL;
	if (len == 0)
		return 0;
	/* Bytes the same write would overwrite again are never stored. */
	skip = len > r->size ? len - r->size : 0;
	vtlmem_lock_acquire(r->plat, &r->lock);
	head = r->head;
	ret = put(r, head + skip, src + skip, (size_t)(len - skip), &stored);
	/* buf[0, skip) is done by design: those bytes need no store. */
	*done = (size_t)skip + stored;
	if (!ret) {
		/* The data before the head that covers them. */
		vtlmem_arch_smp_wmb();
		ret = vtlmem_physptr_store(&r->p, offsetof(struct vtlmem_ring_hdr, head), 8,
					   head + len);
	}
	if (!ret)
		__atomic_store_n(&r->head, head + len, __ATOMIC_RELAXED);
	vtlmem_lock_release(r->plat, &r->lock);
	return ret;
}

uint64_t vtlmem_ring_head(struct vtlmem_ring *r)
{
	return ring_live(r) ? __atomic_load_n(&r->head, __ATOMIC_RELAXED) : 0;
}

int vtlmem_ring_fini(struct vtlmem_ring *r)
{
	int ret;

	if (!ring_live(r))
		return -VTLMEM_EINVAL;
	ret = vtlmem_physptr_destroy(&r->p);
	if (!ret)
		vtlmem_lock_fini(r->plat, &r->lock);
	return ret;
}
