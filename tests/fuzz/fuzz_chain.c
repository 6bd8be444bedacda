/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the VTL0 page-chain walk (vtlmem_vtl0_chain_walk) with the
 * fuzzer's bytes as VTL0 memory.
 *
 * The input sets the walk (entry size, max_pages, the caller's buffer
 * size, the head, where the callback stops the walk or fails it, a page
 * whose mapping faults) and the contents of 8 VTL0 pages: each page's
 * header (next, count, flags) and first entry bytes come from the input,
 * the rest of the page is a fixed pattern. next is used as read: any
 * value, so chains run into cycles, unaligned or huge addresses, secure
 * memory, page 0 and pages past the end of memory. Everything runs end
 * to end through the host software MMU (tests/unit/common/vtl0env.h): the
 * library reserves, maps through a per-CPU slot and copies with its
 * fallible routines; a refused page faults for real and is fixed up
 * through the exception table.
 *
 * A reference walk computed from the same memory (the header's contract,
 * include/vtlmem/vtl0.h) must agree exactly: the return value, *pages, and
 * every page delivered to the callback (index, address, count and entry
 * bytes); no page is delivered twice; the visited scratch stays sorted;
 * and nothing is left reserved or mapped afterwards.
 */
#include <stdbool.h>
#include <stdint.h>

#include <vtlmem/vtl0.h>
#include "vtl0env.h"
#include "fuzz.h"

#define PG VTLMEM_PAGE_SIZE
#define NPG 8            /* chain pages the input fills            */
#define FIRST 100        /* they are VTL0 pages FIRST .. FIRST + 7 */
#define HEAD_BYTES 64    /* bytes of each page taken from the input */
#define MAXPAGES 16

static struct vtl0env env;
static uint64_t visited[MAXPAGES];
static uint8_t buf[PG];

struct delivered {
	size_t n;
	size_t index[MAXPAGES + 1];
	uint64_t page[MAXPAGES + 1];
	uint32_t count[MAXPAGES + 1];
	bool entries_ok[MAXPAGES + 1];
	size_t stop_at;
	int stop_ret;
	size_t esz;
};

static struct delivered got;

static int record(void *arg, size_t index, vtlmem_paddr_t page, const void *entries,
		  uint32_t count)
{
	struct delivered *d = arg;
	uint8_t *dm;

	FUZZ_CHECK(d->n <= MAXPAGES, "callback called more than max_pages times");
	FUZZ_CHECK(entries == buf, "entries not in the caller's buffer");
	d->index[d->n] = index;
	d->page[d->n] = vtlmem_pa_val(page);
	d->count[d->n] = count;
	dm = vtl0env_dm(&env, vtlmem_pa_val(page));
	d->entries_ok[d->n] = !memcmp(entries, dm + VTLMEM_CHAIN_HDR_SIZE, count * d->esz);
	d->n++;
	return index == d->stop_at ? d->stop_ret : 0;
}

static bool is_vtl0(uint64_t pa)
{
	return pa >= HOSTPLAT_VTL0_BASE && pa < VTL0ENV_PHYS;
}

/* The reference walk: what the header promises for this memory. */
static int model_walk(uint64_t head, const struct vtlmem_chain_walk *w, uint64_t refused,
		      struct delivered *d, bool *either_e2big)
{
	uint64_t seen[MAXPAGES + 1], pa = head;
	size_t n = 0, k;

	*either_e2big = false;
	if (pa == 0 || (pa & (PG - 1)))
		return -VTLMEM_EINVAL;
	for (;;) {
		struct vtlmem_chain_hdr h;
		bool loop = false;

		for (k = 0; k < n; k++)
			loop |= seen[k] == pa;
		if (loop && n == w->max_pages)
			*either_e2big = true;      /* both apply: the order is not promised */
		if (loop)
			return -VTLMEM_ELOOP;
		if (n == w->max_pages)
			return -VTLMEM_E2BIG;
		seen[n] = pa;
		if (pa >= (1ull << 52) || pa == (UINT64_MAX & ~(PG - 1)))
			return -VTLMEM_ERANGE;
		if (!is_vtl0(pa))
			return -VTLMEM_EPERM;
		if (pa == refused)
			return -VTLMEM_EFAULT;
		memcpy(&h, vtl0env_dm(&env, pa), sizeof(h));
		if (h.count > VTLMEM_CHAIN_CAPACITY(w->entry_size) ||
		    (uint64_t)h.count * w->entry_size > w->buf_size)
			return -VTLMEM_E2BIG;
		d->index[d->n] = n;
		d->page[d->n] = pa;
		d->count[d->n] = h.count;
		d->n++;
		n++;
		if (n - 1 == d->stop_at && d->stop_ret)
			return d->stop_ret < 0 ? d->stop_ret : 0;
		if (h.next == 0)
			return 0;
		if (h.next & (PG - 1))
			return -VTLMEM_EINVAL;
		pa = h.next;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	static const size_t esizes[8] = { 1, 8, 24, 48, 100, 4080, 3, 16 };
	struct fin f = { data, size };
	struct vtlmem_chain_walk w;
	struct delivered want;
	struct vtl0env_snap s0, s1;
	uint8_t cfg = fin_u8(&f), cfg2 = fin_u8(&f), cfg3 = fin_u8(&f);
	uint64_t head, refused = 0;
	size_t pages = 777, i;
	bool either;
	int ret, exp;

	if (!init) {
		vtl0env_init(&env, 4);
		init = true;
	}
	memset(&w, 0, sizeof(w));
	w.entry_size = esizes[cfg & 7];
	w.max_pages = 1 + ((cfg >> 3) & 15);
	w.buf_size = (cfg >> 7) ? PG : (size_t)fin_u16(&f) % PG;
	w.visited = visited;
	w.buf = buf;
	w.fn = record;
	w.arg = &got;
	memset(&got, 0, sizeof(got));
	got.esz = w.entry_size;
	got.stop_at = cfg2 & 15;
	got.stop_ret = (cfg2 >> 4) == 1 ? 1 : (cfg2 >> 4) == 2 ? -VTLMEM_EIO : 0;
	head = vtl0env_pa(FIRST + (cfg3 & 7));
	if ((cfg3 >> 3) == 31)
		head = fin_u64(&f);                       /* any head */
	if ((cfg3 >> 3) == 30)
		refused = vtl0env_pa(FIRST + fin_u8(&f) % NPG);
	for (i = 0; i < NPG; i++) {
		uint8_t *p = vtl0env_dm(&env, vtl0env_pa(FIRST + i));

		memset(p, (int)(0xd0 + i), PG);
		fin_bytes(&f, p, HEAD_BYTES);
	}
	memset(&want, 0, sizeof(want));
	want.stop_at = got.stop_at;
	want.stop_ret = got.stop_ret;
	exp = model_walk(head, &w, refused, &want, &either);

	vtl0env_refuse(&env, refused);
	vtl0env_snap(&env, &s0);
	ret = vtlmem_vtl0_chain_walk(&env.ctx, vtlmem_pa(head), &w, &pages);
	vtl0env_snap(&env, &s1);
	vtl0env_refuse(&env, 0);

	FUZZ_CHECK(ret == exp || (either && ret == -VTLMEM_E2BIG),
		   "walk from %#llx: returned %d, the reference walk %d",
		   (unsigned long long)head, ret, exp);
	FUZZ_CHECK(pages == want.n && got.n == want.n, "walk: *pages %zu, callback saw %zu pages, "
		   "the reference %zu", pages, got.n, want.n);
	for (i = 0; i < want.n; i++) {
		FUZZ_CHECK(got.index[i] == i && got.page[i] == want.page[i] &&
			   got.count[i] == want.count[i], "page %zu: index %zu page %#llx count %u, "
			   "the reference %#llx count %u", i, got.index[i],
			   (unsigned long long)got.page[i], got.count[i],
			   (unsigned long long)want.page[i], want.count[i]);
		FUZZ_CHECK(got.entries_ok[i], "page %zu: entries differ from VTL0 memory", i);
	}
	for (i = 1; i < want.n; i++)
		FUZZ_CHECK(visited[i - 1] < visited[i], "visited scratch not sorted");
	FUZZ_CHECK(vtl0env_same_state(&s0, &s1), "the walk left something reserved or mapped");
	return 0;
}
