/* SPDX-License-Identifier: MIT */
/*
 * Physical pointers: bounds-checked element access to VTL0 pages by copy.
 *
 * Invariants of a live handle h (h->self == h), established by create and
 * kept until destroy:
 *  - h->resv is a live reservation of every page of the handle, exclusive
 *    iff h->prot is RW; nothing but destroy releases it.
 *  - offset < page size and offset + bytes <= npages * page size, so every
 *    byte position an in-bounds access computes is < 2^64 and its page
 *    index is < npages.
 *  - h->map, when set, maps all npages pages in order at h->map_va; then
 *    h->pbase = map_va + offset, h->rlim = count + 1 and h->wlim = count + 1
 *    for a RW handle; without a persistent mapping rlim = wlim = 0. So an
 *    access of elements [i, i + n) (no wrap) may take the persistent path
 *    iff i + n < rlim (wlim for a write): one compare covers "mapped",
 *    "RW" and "in bounds" (count + 1 cannot wrap: count <= bytes < 2^64).
 *  - h->quarantined is set (never cleared) once a window mapping of h was
 *    unmapped: from then on the reservation is only released after a
 *    flush (destroy).
 */
#include <vtlmem/physptr.h>
#include <vtlmem/copy.h>

#include "pacheck.h"
#include "reserve_held.h"

#define PG    VTLMEM_PAGE_SIZE
#define SHIFT VTLMEM_PAGE_SHIFT
#define MASK  VTLMEM_PAGE_MASK

static bool live(const struct vtlmem_physptr *h)
{
	return h && h->self == h;
}

static vtlmem_paddr_t page_at(const struct vtlmem_physptr *h, size_t i)
{
	if (h->pages)
		return h->pages[i];
	return vtlmem_pa(vtlmem_pa_val(h->base) + (uint64_t)i * PG);
}

/*
 * n page addresses from page index first: a pointer into the handle's own
 * array, or (contiguous handle) tmp filled with them; n <= tmp's capacity.
 */
static const vtlmem_paddr_t *pages_at(const struct vtlmem_physptr *h, size_t first, size_t n,
				      vtlmem_paddr_t *tmp)
{
	size_t k;

	if (h->pages)
		return h->pages + first;
	for (k = 0; k < n; k++)
		tmp[k] = page_at(h, first + k);
	return tmp;
}

static int check_attr(const struct vtlmem_physptr_attr *a)
{
	if (a->elem_size == 0)
		return -VTLMEM_EINVAL;
	if (a->prot != VTLMEM_PROT_RO && a->prot != VTLMEM_PROT_RW)
		return -VTLMEM_EINVAL;
	if ((unsigned)a->cache > VTLMEM_CACHE_WC)
		return -VTLMEM_EINVAL;
	if (a->flags & ~VTLMEM_PHYSPTR_FLAGS)
		return -VTLMEM_EINVAL;
	return 0;
}

/*
 * Each page: aligned (-EINVAL), ending at or below the limit (-ERANGE: an
 * aligned page cannot wrap, and the last page of the 64-bit space ends at
 * 2^64, past every limit, see pacheck.h), not page 0 unless allowed.
 */
static int check_pages(const struct vtlmem_platform *p, const vtlmem_paddr_t *pages,
		       size_t npages)
{
	size_t i;
	int ret;

	for (i = 0; i < npages; i++) {
		if (vtlmem_pa_val(pages[i]) & MASK)
			return -VTLMEM_EINVAL;
		ret = vtlmem_check_range_args(p, pages[i], PG);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Coalesce pages into physically contiguous runs (in array order). The
 * pages passed check_pages, so no run end wraps. A page given twice makes
 * two overlapping runs, which vtlmem_reserve() rejects with -EINVAL.
 */
static int build_runs(const vtlmem_paddr_t *pages, size_t npages, struct vtlmem_range *runs,
		      size_t *nruns)
{
	size_t i, n = 0;
	uint64_t p;

	for (i = 0; i < npages; i++) {
		p = vtlmem_pa_val(pages[i]);
		if (n && vtlmem_pa_val(runs[n - 1].pa) + runs[n - 1].len == p) {
			runs[n - 1].len += PG;
			continue;
		}
		if (n == VTLMEM_PHYSPTR_MAX_RUNS)
			return -VTLMEM_E2BIG;
		runs[n].pa = pages[i];
		runs[n].len = PG;
		n++;
	}
	*nruns = n;
	return 0;
}

static void fill(struct vtlmem_physptr *h, struct vtlmem_rtable *rt, struct vtlmem_vmap *vm,
		 size_t npages, uint64_t offset, size_t count,
		 const struct vtlmem_physptr_attr *attr)
{
	h->rt = rt;
	h->vm = vm;
	h->npages = npages;
	h->offset = offset;
	h->elem_size = attr->elem_size;
	h->count = count;
	h->bytes = (uint64_t)count * attr->elem_size;
	h->prot = attr->prot;
	h->cache = attr->cache;
	h->flags = attr->flags;
	h->quarantined = 0;
	h->map = NULL;
	h->map_va = 0;
	h->pbase = 0;
	h->rlim = 0;
	h->wlim = 0;
}

/* Reserve ranges for h, make it live, map it if asked. */
static int finish(struct vtlmem_physptr *h, const struct vtlmem_range *ranges, size_t n)
{
	enum vtlmem_rmode mode = h->prot == VTLMEM_PROT_RW ? VTLMEM_RES_EXCLUSIVE
							   : VTLMEM_RES_SHARED;
	int ret;

	ret = vtlmem_reserve(h->rt, ranges, n, mode, &h->resv, NULL);
	if (ret)
		return ret;
	h->self = h;
	if (h->flags & VTLMEM_PHYSPTR_PERSISTENT) {
		ret = vtlmem_physptr_map_persistent(h);
		if (ret) {
			vtlmem_release_own(h->rt, h->resv);
			h->self = NULL;
			return ret;
		}
	}
	return 0;
}

int vtlmem_physptr_create(struct vtlmem_physptr *h, struct vtlmem_rtable *rt,
			  struct vtlmem_vmap *vm, const vtlmem_paddr_t *pages, size_t npages,
			  uint64_t offset, size_t count, const struct vtlmem_physptr_attr *attr)
{
	struct vtlmem_range runs[VTLMEM_PHYSPTR_MAX_RUNS];
	uint64_t bytes, end, cap;
	size_t nruns, i;
	int ret;

	if (h)
		h->self = NULL;
	if (!h || !rt || !vm || !pages || !attr || npages == 0)
		return -VTLMEM_EINVAL;
	ret = check_attr(attr);
	if (ret)
		return ret;
	if (offset >= PG)
		return -VTLMEM_EINVAL;
	if (__builtin_mul_overflow((uint64_t)count, (uint64_t)attr->elem_size, &bytes) ||
	    __builtin_add_overflow(offset, bytes, &end) ||
	    __builtin_mul_overflow((uint64_t)npages, PG, &cap))
		return -VTLMEM_EOVERFLOW;
	if (end > cap)
		return -VTLMEM_ERANGE;
	ret = check_pages(rt->plat, pages, npages);
	if (ret)
		return ret;
	ret = build_runs(pages, npages, runs, &nruns);
	if (ret)
		return ret;

	fill(h, rt, vm, npages, offset, count, attr);
	h->base = pages[0];
	if (npages <= VTLMEM_PHYSPTR_INLINE_PAGES) {
		for (i = 0; i < npages; i++)
			h->inl[i] = pages[i];
		h->pages = h->inl;
	} else {
		h->pages = pages;
	}
	return finish(h, runs, nruns);
}

int vtlmem_physptr_create_contig(struct vtlmem_physptr *h, struct vtlmem_rtable *rt,
				 struct vtlmem_vmap *vm, vtlmem_paddr_t pa, uint64_t bytes,
				 const struct vtlmem_physptr_attr *attr)
{
	struct vtlmem_range r;
	int ret;

	if (h)
		h->self = NULL;
	if (!h || !rt || !vm || !attr || bytes == 0)
		return -VTLMEM_EINVAL;
	ret = check_attr(attr);
	if (ret)
		return ret;
	if (bytes % attr->elem_size)
		return -VTLMEM_EINVAL;
	/* The whole pages the bytes touch: -EOVERFLOW, -ERANGE, -EPERM. */
	ret = vtlmem_check_pages_args(rt->plat, pa, bytes, &r);
	if (ret)
		return ret;
	if ((attr->flags & VTLMEM_PHYSPTR_PERSISTENT) &&
	    r.len / PG > VTLMEM_PHYSPTR_WINDOW_PAGES)
		return -VTLMEM_E2BIG;

	fill(h, rt, vm, r.len / PG, vtlmem_pa_val(pa) & MASK, bytes / attr->elem_size, attr);
	h->base = r.pa;
	h->pages = NULL;
	return finish(h, &r, 1);
}

int vtlmem_physptr_map_persistent(struct vtlmem_physptr *h)
{
	vtlmem_paddr_t tmp[VTLMEM_PHYSPTR_WINDOW_PAGES];
	struct vtlmem_map_req req;
	struct vtlmem_mapping *m;
	vtlmem_vaddr_t va;
	int ret;

	if (!live(h))
		return -VTLMEM_EINVAL;
	if (h->map)
		return 0;
	if (!h->pages && h->npages > VTLMEM_PHYSPTR_WINDOW_PAGES)
		return -VTLMEM_E2BIG;
	req.pages = pages_at(h, 0, h->npages, tmp);
	req.npages = h->npages;
	req.prot = h->prot;
	req.cache = h->cache;
	req.flags = 0;
	req.held = h->resv;
	ret = vtlmem_vmap_map(h->vm, &req, &m, &va);
	if (ret)
		return ret;
	h->map = m;
	h->map_va = vtlmem_va_val(va);
	h->pbase = h->map_va + h->offset;
	h->rlim = h->count + 1;
	h->wlim = h->prot == VTLMEM_PROT_RW ? h->count + 1 : 0;
	return 0;
}

int vtlmem_physptr_destroy(struct vtlmem_physptr *h)
{
	int ret = 0;

	if (!live(h))
		return -VTLMEM_EINVAL;
	if (h->map) {
		h->rlim = 0;
		h->wlim = 0;
		h->pbase = 0;
		/* Cannot fail for our live mapping; it quarantines the VA. */
		vtlmem_vmap_unmap(h->vm, h->map);
		h->map = NULL;
		h->map_va = 0;
		__atomic_store_n(&h->quarantined, 1, __ATOMIC_RELAXED);
	}
	if (__atomic_load_n(&h->quarantined, __ATOMIC_RELAXED)) {
		ret = vtlmem_vmap_release_after_flush(h->vm, h->resv);
		if (ret == -VTLMEM_ENOMEM) {
			/* Cannot defer: flush now, then nothing maps the pages. */
			ret = vtlmem_vmap_purge(h->vm);
			if (!ret)
				ret = vtlmem_release_own(h->rt, h->resv);
		}
	} else {
		ret = vtlmem_release_own(h->rt, h->resv);
	}
	if (ret)
		return ret;
	h->self = NULL;
	return 0;
}

size_t vtlmem_physptr_count(const struct vtlmem_physptr *h)
{
	return live(h) ? h->count : 0;
}

/* ---- copies ---- */

static size_t copy_at(uintptr_t va, uint8_t *buf, size_t n, bool write)
{
	if (write)
		return vtlmem_copy((void *)va, buf, n);
	return vtlmem_copy(buf, (const void *)va, n);
}

/*
 * Copy n bytes at byte in of the np (<= SLOT_PAGES) pages from page index
 * first through a per-CPU slot. *copied = bytes copied. Returns 0,
 * -EFAULT, or the slot's error.
 */
static int copy_slot(struct vtlmem_physptr *h, size_t first, size_t np, uint64_t in,
		     uint8_t *buf, size_t n, bool write, size_t *copied)
{
	vtlmem_paddr_t tmp[VTLMEM_PHYSPTR_SLOT_PAGES];
	struct vtlmem_slot s;
	size_t left;
	int ret;

	*copied = 0;
	ret = vtlmem_slot_map(h->vm, pages_at(h, first, np, tmp), np,
			      write ? VTLMEM_PROT_RW : VTLMEM_PROT_RO, h->cache, h->resv, &s);
	if (ret)
		return ret;
	left = copy_at(vtlmem_va_val(s.va) + in, buf, n, write);
	ret = vtlmem_slot_unmap(h->vm, &s);
	*copied = n - left;
	return left ? -VTLMEM_EFAULT : ret;
}

/*
 * The same through a window mapping of np pages (kept out of the slot
 * path: its page array is the large stack user). Marks h quarantined once
 * the mapping is unmapped.
 */
static __attribute__((noinline)) int copy_window(struct vtlmem_physptr *h, size_t first,
						 size_t np, uint64_t in, uint8_t *buf, size_t n,
						 bool write, size_t *copied)
{
	vtlmem_paddr_t tmp[VTLMEM_PHYSPTR_WINDOW_PAGES];
	struct vtlmem_map_req req;
	struct vtlmem_mapping *m;
	vtlmem_vaddr_t va;
	size_t left;
	int ret;

	*copied = 0;
	req.pages = pages_at(h, first, np, tmp);
	req.npages = np;
	req.prot = write ? VTLMEM_PROT_RW : VTLMEM_PROT_RO;
	req.cache = h->cache;
	req.flags = 0;
	req.held = h->resv;
	ret = vtlmem_vmap_map(h->vm, &req, &m, &va);
	if (ret)
		return ret;
	left = copy_at(vtlmem_va_val(va) + in, buf, n, write);
	ret = vtlmem_vmap_unmap(h->vm, m);
	__atomic_store_n(&h->quarantined, 1, __ATOMIC_RELAXED);
	*copied = n - left;
	return left ? -VTLMEM_EFAULT : ret;
}

/*
 * Copy len >= 1 bytes at byte position pos (from the start of page 0) in
 * chunks: slots of at most SLOT_PAGES pages when the whole access spans at
 * most SLOT_PAGES pages or the handle asks for slots; windows otherwise (a
 * contiguous handle builds its page list on the stack, so its windows hold
 * at most WINDOW_PAGES pages).
 */
static int copy_chunks(struct vtlmem_physptr *h, uint64_t pos, uint8_t *buf, size_t len,
		       bool write, size_t *done)
{
	uint64_t span = (((pos & MASK) + len - 1) >> SHIFT) + 1;
	bool slot = span <= VTLMEM_PHYSPTR_SLOT_PAGES || (h->flags & VTLMEM_PHYSPTR_SLOTS);
	uint64_t maxp = slot ? VTLMEM_PHYSPTR_SLOT_PAGES
			     : h->pages ? UINT64_MAX : VTLMEM_PHYSPTR_WINDOW_PAGES;
	uint64_t in, np, n;
	size_t copied;
	int ret;

	while (len) {
		in = pos & MASK;
		np = (((in + len - 1) >> SHIFT) + 1);
		if (np > maxp)
			np = maxp;
		n = np * PG - in;
		if (n > len)
			n = len;
		if (slot)
			ret = copy_slot(h, pos >> SHIFT, np, in, buf, n, write, &copied);
		else
			ret = copy_window(h, pos >> SHIFT, np, in, buf, n, write, &copied);
		*done += copied;
		if (ret)
			return ret;
		pos += n;
		buf += n;
		len -= n;
	}
	return 0;
}

static __attribute__((noinline)) int slice(struct vtlmem_physptr *h, size_t i, size_t n,
					   void *buf, size_t *done, bool write)
{
	size_t dummy, end;
	uint64_t pos, len;

	if (!done)
		done = &dummy;
	*done = 0;
	if (!live(h) || (!buf && n))
		return -VTLMEM_EINVAL;
	if (write && h->prot != VTLMEM_PROT_RW)
		return -VTLMEM_EACCES;
	if (__builtin_add_overflow(i, n, &end))
		return -VTLMEM_EOVERFLOW;
	if (end > h->count)
		return -VTLMEM_ERANGE;
	if (n == 0)
		return 0;
	/*
	 * In bounds: both fit below offset + bytes <= npages * page size. A
	 * handle with a persistent mapping never gets here with every check
	 * passed (slice_fast served it): what is left maps per access.
	 */
	pos = h->offset + (uint64_t)i * h->elem_size;
	len = (uint64_t)n * h->elem_size;
	return copy_chunks(h, pos, buf, len, write, done);
}

/* What a fault on the persistent path needs to set *done exactly. */
struct fast_undo {
	size_t *done;
	size_t len;
};

static __attribute__((noinline, cold)) int fast_fault(const struct fast_undo *u, size_t left)
{
	if (u->done)
		*u->done = u->len - left;
	return -VTLMEM_EFAULT;
}

/*
 * The persistent-mapping path of slice(), for the common case: a live
 * handle with a persistent mapping (RW for a write), buf given, elements
 * [i, i + n) in bounds (n == 0 included: it copies nothing and returns 0):
 * exactly slice()'s checks, all passing, then the copy. The mapping, the RW
 * check and the bounds are one compare against rlim/wlim (invariants at the
 * top). Anything else falls back to slice(), which finds the error in the
 * documented order. Reads self and the four fields after it (40 contiguous
 * bytes), writes nothing in the handle (so no atomics: concurrent accesses
 * are plain reads of fields only create/map_persistent/destroy change).
 *
 * *done is set to the whole length before the copy, so the common case
 * keeps nothing live across it but what a fault needs (u, on the stack);
 * a fault then corrects *done to the bytes copied.
 */
static inline __attribute__((always_inline)) int slice_fast(struct vtlmem_physptr *h,
							      size_t i, size_t n, void *buf,
							      size_t *done, bool write)
{
	struct fast_undo u;
	size_t end, es, left;
	uintptr_t va;

	if (h && h->self == h && buf && !__builtin_add_overflow(i, n, &end) &&
	    end < (write ? h->wlim : h->rlim)) {
		/* In bounds: i * es and n * es fit below bytes. */
		es = h->elem_size;
		va = h->pbase + i * es;
		u.len = n * es;
		u.done = done;
		if (done)
			*done = u.len;
		left = copy_at(va, buf, u.len, write);
		if (__builtin_expect(left != 0, 0))
			return fast_fault(&u, left);
		return 0;
	}
	return slice(h, i, n, buf, done, write);
}

int vtlmem_physptr_read_slice(struct vtlmem_physptr *h, size_t i, size_t n, void *dst,
			      size_t *done)
{
	return slice_fast(h, i, n, dst, done, false);
}

int vtlmem_physptr_write_slice(struct vtlmem_physptr *h, size_t i, size_t n,
			       const void *src, size_t *done)
{
	/* The buffer is only read on this path (write == true). */
	return slice_fast(h, i, n, (void *)(uintptr_t)src, done, true);
}

int vtlmem_physptr_read(struct vtlmem_physptr *h, size_t i, void *dst, size_t *done)
{
	return slice_fast(h, i, 1, dst, done, false);
}

int vtlmem_physptr_write(struct vtlmem_physptr *h, size_t i, const void *src, size_t *done)
{
	return slice_fast(h, i, 1, (void *)(uintptr_t)src, done, true);
}

/* ---- single-copy-atomic fields ---- */

static int load_at(uintptr_t va, unsigned width, uint64_t *out)
{
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	int ret;

	switch (width) {
	case 1:
		ret = vtlmem_load8((const void *)va, &v8);
		if (!ret)
			*out = v8;
		return ret;
	case 2:
		ret = vtlmem_load16((const void *)va, &v16);
		if (!ret)
			*out = v16;
		return ret;
	case 4:
		ret = vtlmem_load32((const void *)va, &v32);
		if (!ret)
			*out = v32;
		return ret;
	default:
		return vtlmem_load64((const void *)va, out);
	}
}

static int store_at(uintptr_t va, unsigned width, uint64_t v)
{
	switch (width) {
	case 1:
		return vtlmem_store8((void *)va, (uint8_t)v);
	case 2:
		return vtlmem_store16((void *)va, (uint16_t)v);
	case 4:
		return vtlmem_store32((void *)va, (uint32_t)v);
	default:
		return vtlmem_store64((void *)va, v);
	}
}

static bool width_ok(unsigned width)
{
	return width == 1 || width == 2 || width == 4 || width == 8;
}

/* Common checks after the argument checks; *pos = byte position from page 0. */
static int field_pos(const struct vtlmem_physptr *h, uint64_t off, unsigned width,
		     uint64_t *pos)
{
	uint64_t end;

	if (__builtin_add_overflow(off, (uint64_t)width, &end) || end > h->bytes)
		return -VTLMEM_ERANGE;
	*pos = h->offset + off;
	/* Pages are page-aligned, so the PA's alignment is pos's. */
	if (*pos & (width - 1))
		return -VTLMEM_EINVAL;
	return 0;
}

/* The field at pos through a slot of its page. */
static int field_slot(struct vtlmem_physptr *h, uint64_t pos, unsigned width, uint64_t *val,
		      bool store)
{
	vtlmem_paddr_t page;
	struct vtlmem_slot s;
	uintptr_t va;
	int ret, ret2;

	page = page_at(h, pos >> SHIFT);
	ret = vtlmem_slot_map(h->vm, &page, 1, store ? VTLMEM_PROT_RW : VTLMEM_PROT_RO,
			      h->cache, h->resv, &s);
	if (ret)
		return ret;
	va = vtlmem_va_val(s.va) + (pos & MASK);
	ret = store ? store_at(va, width, *val) : load_at(va, width, val);
	ret2 = vtlmem_slot_unmap(h->vm, &s);
	return ret ? ret : ret2;
}

/*
 * load/store with the checks in the documented order, through a slot: what
 * the persistent paths below do not serve.
 */
static __attribute__((noinline)) int load_slow(struct vtlmem_physptr *h, uint64_t off,
					       unsigned width, uint64_t *out)
{
	uint64_t pos, v;
	int ret;

	if (!live(h) || !out || !width_ok(width))
		return -VTLMEM_EINVAL;
	ret = field_pos(h, off, width, &pos);
	if (ret)
		return ret;
	/* A persistently mapped handle gets here only by failing a check. */
	ret = field_slot(h, pos, width, &v, false);
	if (!ret)
		*out = v;
	return ret;
}

static __attribute__((noinline)) int store_slow(struct vtlmem_physptr *h, uint64_t off,
						unsigned width, uint64_t v)
{
	uint64_t pos;
	int ret;

	if (!live(h) || !width_ok(width) || (width < 8 && (v >> (width * 8))))
		return -VTLMEM_EINVAL;
	if (h->prot != VTLMEM_PROT_RW)
		return -VTLMEM_EACCES;
	ret = field_pos(h, off, width, &pos);
	if (ret)
		return ret;
	return field_slot(h, pos, width, &v, true);
}

/*
 * The persistent path of load/store: a live handle with a persistent
 * mapping (rlim != 0; wlim != 0: and RW), the other checks of the slow
 * path all passing (pbase is page-aligned + offset, so pbase + off is
 * aligned as the field's physical address is), then the access. Anything
 * else goes to the slow path, which finds the error in the documented order.
 */
int vtlmem_physptr_load(struct vtlmem_physptr *h, uint64_t off, unsigned width, uint64_t *out)
{
	uint64_t end;

	if (h && h->self == h && h->rlim && out && width_ok(width) &&
	    !__builtin_add_overflow(off, (uint64_t)width, &end) && end <= h->bytes &&
	    !((h->pbase + off) & (width - 1)))
		return load_at(h->pbase + off, width, out);
	return load_slow(h, off, width, out);
}

int vtlmem_physptr_store(struct vtlmem_physptr *h, uint64_t off, unsigned width, uint64_t v)
{
	uint64_t end;

	if (h && h->self == h && h->wlim && width_ok(width) &&
	    (width == 8 || !(v >> (width * 8))) &&
	    !__builtin_add_overflow(off, (uint64_t)width, &end) && end <= h->bytes &&
	    !((h->pbase + off) & (width - 1)))
		return store_at(h->pbase + off, width, v);
	return store_slow(h, off, width, v);
}
