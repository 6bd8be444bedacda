/* SPDX-License-Identifier: MIT */
/*
 * Bounded walk of a VTL0 page chain (vtl0.h). VTL0 owns the chain and may
 * rewrite it while we walk, so:
 *  - each page's next and count are loaded once, single-copy-atomic, and
 *    only those loaded values are used;
 *  - count is checked against the page's capacity and the caller's buffer
 *    before a byte is copied, and the entries are copied out before the
 *    callback sees them;
 *  - every page address is recorded in the caller's visited array (sorted)
 *    before the page is read, so a page can never be walked twice: a cycle
 *    of any length is -ELOOP at the first repeated address, and the walk
 *    ends after at most max_pages pages whatever VTL0 writes.
 */
#include <vtlmem/vtl0.h>
#include <vtlmem/copy.h>

#define PG   VTLMEM_PAGE_SIZE
#define MASK VTLMEM_PAGE_MASK

/* Binary search of sorted v[0..n): true if pa is there; *pos = its slot. */
static bool seen(const uint64_t *v, size_t n, uint64_t pa, size_t *pos)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v[mid] == pa) {
			*pos = mid;
			return true;
		}
		if (v[mid] < pa)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return false;
}

static void insert(uint64_t *v, size_t n, size_t pos, uint64_t pa)
{
	size_t k;

	for (k = n; k > pos; k--)
		v[k] = v[k - 1];
	v[pos] = pa;
}

/* Read next/count and copy the entries of the mapped page at va. */
static int read_mapped(uintptr_t va, const struct vtlmem_chain_walk *w, uint64_t *next,
		       uint32_t *count)
{
	uint64_t bytes;
	int ret;

	ret = vtlmem_load64((const void *)(va + offsetof(struct vtlmem_chain_hdr, next)), next);
	if (ret)
		return ret;
	ret = vtlmem_load32((const void *)(va + offsetof(struct vtlmem_chain_hdr, count)),
			    count);
	if (ret)
		return ret;
	if (*count > VTLMEM_CHAIN_CAPACITY(w->entry_size))
		return -VTLMEM_E2BIG;
	bytes = (uint64_t)*count * w->entry_size;  /* < page size: no overflow */
	if (bytes > w->buf_size)
		return -VTLMEM_E2BIG;
	if (vtlmem_copy(w->buf, (const void *)(va + VTLMEM_CHAIN_HDR_SIZE), bytes))
		return -VTLMEM_EFAULT;
	return 0;
}

/* Reserve page pa shared-read, map it in a slot, read it, undo both. */
static int read_page(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa,
		     const struct vtlmem_chain_walk *w, uint64_t *next, uint32_t *count)
{
	struct vtlmem_range r = { .pa = pa, .len = PG };
	struct vtlmem_slot s;
	vtlmem_resv_t res;
	int ret, ret2;

	ret = vtlmem_reserve(ctx->rt, &r, 1, VTLMEM_RES_SHARED, &res, NULL);
	if (ret)
		return ret;
	ret = vtlmem_slot_map(ctx->vm, &pa, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, res, &s);
	if (!ret) {
		ret = read_mapped(vtlmem_va_val(s.va), w, next, count);
		ret2 = vtlmem_slot_unmap(ctx->vm, &s);
		if (!ret)
			ret = ret2;
	}
	/* A slot is invalidated locally on unmap: nothing else can use it. */
	vtlmem_release(ctx->rt, res);
	return ret;
}

static int check_walk(const struct vtlmem_vtl0 *ctx, const struct vtlmem_chain_walk *w)
{
	if (!ctx || !w || !w->fn || !w->visited || !w->buf)
		return -VTLMEM_EINVAL;
	if (w->entry_size == 0 || w->entry_size > PG - VTLMEM_CHAIN_HDR_SIZE)
		return -VTLMEM_EINVAL;
	if (w->max_pages == 0)
		return -VTLMEM_EINVAL;
	return 0;
}

int vtlmem_vtl0_chain_walk(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t head,
			   const struct vtlmem_chain_walk *w, size_t *pages)
{
	uint64_t pa = vtlmem_pa_val(head), next;
	size_t dummy, n = 0, pos;
	uint32_t count;
	int ret;

	if (!pages)
		pages = &dummy;
	*pages = 0;
	ret = check_walk(ctx, w);
	if (ret)
		return ret;
	if (pa == 0 || (pa & MASK))
		return -VTLMEM_EINVAL;
	for (;;) {
		if (seen(w->visited, n, pa, &pos))
			return -VTLMEM_ELOOP;
		if (n == w->max_pages)
			return -VTLMEM_E2BIG;
		insert(w->visited, n, pos, pa);
		ret = read_page(ctx, vtlmem_pa(pa), w, &next, &count);
		if (ret)
			return ret;
		ret = w->fn(w->arg, n, vtlmem_pa(pa), w->buf, count);
		n++;
		*pages = n;
		if (ret)
			return ret < 0 ? ret : 0;
		if (next == 0)
			return 0;
		if (next & MASK)
			return -VTLMEM_EINVAL;
		pa = next;
	}
}
