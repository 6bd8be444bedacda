/* SPDX-License-Identifier: MIT */
/*
 * Validation of a vmap map request's pages (vmap.c calls it before taking
 * any lock): every page aligned (-EINVAL) and below pa_bits (-ERANGE), no
 * page repeated (-EINVAL), and the pages turned into sorted, disjoint,
 * maximal physical runs for the reservation table. The common request, one
 * ascending contiguous run, is recognised by one comparing pass (one_run:
 * ~3.6 instructions per page on x86_64, no memory) and its pages are then
 * distinct by construction. Otherwise one validating pass (scan_pages)
 * counts the runs in array order; duplicate detection is sort-free when
 * they ascend (O(n), no memory), else the runs are heapsorted (O(n log n)
 * whatever order VTL0 chose, no recursion) and any overlap is a repeated
 * page.
 */
#include "vmap_internal.h"

/* Does page pa directly follow page prev (no wrap past 2^64)? */
static bool follows(uint64_t prev, uint64_t pa)
{
	return pa - prev == PG && pa;
}

/*
 * Bits no page address may have: the page offset and everything at or
 * above the width pages are mapped under (vmap_pa_bits: < 64).
 */
static uint64_t bad_bits(const struct vtlmem_platform *p)
{
	return VTLMEM_PAGE_MASK | ~(((uint64_t)1 << vmap_pa_bits(p)) - 1);
}

/* The error for a page with a bad bit: offset first, then width. */
static int bad_page(uint64_t pa)
{
	return (pa & VTLMEM_PAGE_MASK) ? -VTLMEM_EINVAL : -VTLMEM_ERANGE;
}

/* Close the run [start, start + len) as run number k (first RUNS_STACK kept). */
static void run_end(struct runs *rs, size_t k, uint64_t start, uint64_t len)
{
	if (k < RUNS_STACK) {
		rs->stack[k].pa = vtlmem_pa(start);
		rs->stack[k].len = len;
	}
}

/*
 * One pass over the pages in array order: the first unaligned page gives
 * -EINVAL, the first beyond pa_bits -ERANGE. Counts maximal runs of
 * consecutive pages (in array order), records the first RUNS_STACK of them
 * on the stack, and notes whether the runs ascend strictly (then no page
 * can repeat and no sort is needed: the common case costs O(n) and no
 * memory). Returns the run count in *nruns. (n >= 1.)
 */
static int scan_pages(const struct vtlmem_platform *p, const vtlmem_paddr_t *pages, size_t n,
		      struct runs *rs, size_t *nruns)
{
	uint64_t bad = bad_bits(p), pa = vtlmem_pa_val(pages[0]), prev, start = pa;
	size_t i, k = 0;

	if (pa & bad)
		return bad_page(pa);
	rs->sorted = true;
	for (i = 1; i < n; i++) {
		prev = pa;
		pa = vtlmem_pa_val(pages[i]);
		if (pa & bad)
			return bad_page(pa);
		if (follows(prev, pa))
			continue;
		if (pa <= prev)
			rs->sorted = false;
		run_end(rs, k++, start, prev + PG - start);
		start = pa;
	}
	run_end(rs, k++, start, pa + PG - start);
	*nruns = k;
	return 0;
}

/*
 * The common request, one ascending physically contiguous run of good
 * pages: page i is exactly pages[0] + i pages (mod 2^64). Then pages[0]
 * aligned makes every page aligned, and the last page below 2^bits with
 * no wrap past 2^64 makes every page below it: the pass only compares,
 * three instructions per page on x86_64 (lea, xor from memory, or),
 * unrolled by eight. A request whose last page is not where the run would
 * end is turned away before the pass. Exact: true iff every page is good
 * and the pages form one ascending run (so they are distinct).
 */
static bool one_run(const vtlmem_paddr_t *pages, size_t n, uint64_t bad)
{
	uint64_t first = vtlmem_pa_val(pages[0]), w = first, acc = 0;
	uint64_t last = first + ((uint64_t)(n - 1) << VTLMEM_PAGE_SHIFT);
	size_t i = 0;

	if (vtlmem_pa_val(pages[n - 1]) != last || last < first || ((first | last) & bad))
		return false;
	for (; i + 8 <= n; i += 8, w += 8 * PG)
		acc |= (vtlmem_pa_val(pages[i]) ^ w) | (vtlmem_pa_val(pages[i + 1]) ^ (w + PG)) |
		       (vtlmem_pa_val(pages[i + 2]) ^ (w + 2 * PG)) |
		       (vtlmem_pa_val(pages[i + 3]) ^ (w + 3 * PG)) |
		       (vtlmem_pa_val(pages[i + 4]) ^ (w + 4 * PG)) |
		       (vtlmem_pa_val(pages[i + 5]) ^ (w + 5 * PG)) |
		       (vtlmem_pa_val(pages[i + 6]) ^ (w + 6 * PG)) |
		       (vtlmem_pa_val(pages[i + 7]) ^ (w + 7 * PG));
	for (; i < n; i++, w += PG)
		acc |= vtlmem_pa_val(pages[i]) ^ w;
	return acc == 0;
}

/* Runs in array order into r (second pass, when more than RUNS_STACK). */
static void fill_runs(const vtlmem_paddr_t *pages, size_t n, struct vtlmem_range *r)
{
	uint64_t pa, prev = 0;
	size_t i, k = 0;

	for (i = 0; i < n; i++, prev = pa) {
		pa = vtlmem_pa_val(pages[i]);
		if (i && follows(prev, pa)) {
			r[k - 1].len += PG;
			continue;
		}
		r[k].pa = vtlmem_pa(pa);
		r[k++].len = PG;
	}
}

static void swap_range(struct vtlmem_range *a, struct vtlmem_range *b)
{
	struct vtlmem_range t = *a;

	*a = *b;
	*b = t;
}

static void sift_down(struct vtlmem_range *r, size_t i, size_t n)
{
	size_t c;

	while ((c = 2 * i + 1) < n) {
		if (c + 1 < n && vtlmem_pa_val(r[c + 1].pa) > vtlmem_pa_val(r[c].pa))
			c++;
		if (vtlmem_pa_val(r[c].pa) <= vtlmem_pa_val(r[i].pa))
			return;
		swap_range(&r[i], &r[c]);
		i = c;
	}
}

/* Heapsort by start: O(n log n) whatever order VTL0 chose, no recursion. */
static void sort_runs(struct vtlmem_range *r, size_t n)
{
	size_t i;

	for (i = n / 2; i-- > 0;)
		sift_down(r, i, n);
	for (i = n; i-- > 1;) {
		swap_range(&r[0], &r[i]);
		sift_down(r, 0, i);
	}
}

/* Sorted runs: overlap means a repeated page (-EINVAL); join adjacent ones. */
static int merge_runs(struct vtlmem_range *r, size_t *n)
{
	size_t i, k = 0;
	uint64_t end;

	for (i = 1; i < *n; i++) {
		end = vtlmem_pa_val(r[k].pa) + r[k].len;
		if (vtlmem_pa_val(r[i].pa) < end)
			return -VTLMEM_EINVAL;
		if (vtlmem_pa_val(r[i].pa) == end)
			r[k].len += r[i].len;
		else
			r[++k] = r[i];
	}
	*n = k + 1;
	return 0;
}

void vtlmem_vmap_runs_put(const struct vtlmem_platform *p, struct runs *rs, size_t cap)
{
	if (rs->r != rs->stack)
		p->free(p->ctx, rs->r, cap * sizeof(*rs->r));
}

/*
 * The request's pages as sorted, disjoint, maximal physical runs in
 * rs->r[0..rs->n). Requests of more than RUNS_STACK runs borrow an array
 * from the bookkeeping allocator (-ENOMEM), released by vtlmem_vmap_runs_put(cap).
 */
int vtlmem_vmap_runs_get(const struct vtlmem_platform *p, const struct vtlmem_map_req *req,
		  struct runs *rs, size_t *cap)
{
	int ret;

	if (one_run(req->pages, req->npages, bad_bits(p))) {
		rs->r = rs->stack;
		rs->n = 1;
		rs->sorted = true;
		rs->stack[0].pa = req->pages[0];
		rs->stack[0].len = (uint64_t)req->npages * PG;
		*cap = 1;
		return 0;
	}
	ret = scan_pages(p, req->pages, req->npages, rs, &rs->n);
	if (ret)
		return ret;
	*cap = rs->n;
	rs->r = rs->stack;
	if (rs->n > RUNS_STACK) {
		rs->r = p->alloc(p->ctx, rs->n * sizeof(*rs->r));
		if (!rs->r)
			return -VTLMEM_ENOMEM;
		fill_runs(req->pages, req->npages, rs->r);
	}
	if (rs->sorted)
		return 0;
	sort_runs(rs->r, rs->n);
	ret = merge_runs(rs->r, &rs->n);
	if (ret)
		vtlmem_vmap_runs_put(p, rs, *cap);
	return ret;
}
