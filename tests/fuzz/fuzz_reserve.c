/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: reservation-table API sequences against a reference model.
 *
 * The input is a program: a header (pa_bits, page 0 policy, a secure range
 * the ownership op denies) and then operations, each decoded from a few
 * bytes: reserve (1..4 ranges, clustered in 64 KiB so they overlap often,
 * or edge values near 0, 2^pa_bits and 2^64), release (live, released,
 * never-issued or zero handles), is_reserved, resv_covers, resv_mode,
 * iterate, dump, stats, fini while handles live, and "the N-th next
 * bookkeeping allocation fails". The model is the header's contract
 * (include/vtlmem/reserve.h) written plainly: a list of live handles and
 * their ranges. After every operation: the return value (and the conflict
 * report of -EBUSY) equals the model's; -ENOMEM only when an injected
 * failure fired, then nothing changed; the table's self-check passes; its
 * intervals (iterate), handle count and interval count equal the model's;
 * objects held equal the platform allocator's live count. At the end every
 * handle is released and fini returns every object.
 */
#include <stdbool.h>
#include <stdint.h>

#include <vtlmem/reserve.h>
#include "../../src/reserve_debug.h"
#include "fuzz.h"

#define MAXH 48
#define MAXR 4
#define MAXDEAD 64
#define MAXIDS 512

/* ---- platform: malloc with failure injection, ownership by a secure range ---- */

static struct {
	long fail_at;            /* the fail_at-th next alloc fails (0: none) */
	unsigned long fails;
	long live;
	uint64_t sec_s, sec_e;   /* ownership denies [sec_s, sec_e)          */
} P;

static void *p_alloc(void *ctx, size_t size)
{
	(void)ctx;
	if (P.fail_at > 0 && --P.fail_at == 0) {
		P.fails++;
		return NULL;
	}
	P.live++;
	return malloc(size);
}

static void p_free(void *ctx, void *p, size_t size)
{
	(void)ctx;
	(void)size;
	P.live--;
	free(p);
}

static int p_owner(void *ctx, vtlmem_paddr_t pa, uint64_t len)
{
	uint64_t s = vtlmem_pa_val(pa), e = s + len;   /* checked not to wrap */

	(void)ctx;
	return s < P.sec_e && P.sec_s < e ? VTLMEM_OWNER_SECURE : VTLMEM_OWNER_VTL0;
}

/* ---- the model ---- */

struct mrange {
	uint64_t s, e;
};

struct mhandle {
	vtlmem_resv_t h;
	int mode;
	int n;
	struct mrange r[MAXR];
};

static struct vtlmem_platform plat;
static struct vtlmem_rtable T;
static struct mhandle live[MAXH];
static int nlive;
static vtlmem_resv_t dead[MAXDEAD];   /* released handles (copies) */
static int ndead;
static uint64_t ids[MAXIDS];
static int nids;

typedef unsigned __int128 u128;

static bool overlap(uint64_t s1, uint64_t e1, uint64_t s2, uint64_t e2)
{
	return s1 < e2 && s2 < e1;
}

/* The per-range checks, in the header's order. */
static int model_check_range(const struct vtlmem_range *r)
{
	uint64_t pa = vtlmem_pa_val(r->pa);
	u128 end = (u128)pa + r->len;

	if (r->len == 0)
		return -VTLMEM_EINVAL;
	if (end > ((u128)1 << 64))
		return -VTLMEM_EOVERFLOW;
	if (end == ((u128)1 << 64) || end > ((u128)1 << vtlmem_pa_bits(&plat)))
		return -VTLMEM_ERANGE;
	if (!plat.allow_page0 && pa < VTLMEM_PAGE_SIZE)
		return -VTLMEM_EPERM;
	if (p_owner(NULL, r->pa, r->len) != VTLMEM_OWNER_VTL0)
		return -VTLMEM_EPERM;
	return 0;
}

static bool conflicts(int req_mode, int live_mode)
{
	return req_mode == VTLMEM_RES_EXCLUSIVE || live_mode == VTLMEM_RES_EXCLUSIVE;
}

/* Expected result of vtlmem_reserve() if no allocation fails. */
static int model_reserve(const struct vtlmem_range *rs, size_t n, int mode,
			 struct vtlmem_conflict *c)
{
	size_t i, j;
	int k, x, ret;
	uint64_t best_req = UINT64_MAX;
	bool found = false;

	if (n == 0 || (mode != VTLMEM_RES_EXCLUSIVE && mode != VTLMEM_RES_SHARED))
		return -VTLMEM_EINVAL;
	for (i = 0; i < n; i++) {
		ret = model_check_range(&rs[i]);
		if (ret)
			return ret;
	}
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (overlap(rs[i].pa.pa, rs[i].pa.pa + rs[i].len, rs[j].pa.pa,
				    rs[j].pa.pa + rs[j].len))
				return -VTLMEM_EINVAL;
	/* The lowest-addressed request range that conflicts, then the lowest
	 * (start, end) live interval it conflicts with. */
	for (i = 0; i < n; i++) {
		uint64_t s = rs[i].pa.pa, e = s + rs[i].len;
		bool any = false;
		struct vtlmem_conflict b = { .pa = { UINT64_MAX }, .len = 0 };

		for (k = 0; k < nlive; k++)
			for (x = 0; x < live[k].n; x++) {
				struct mrange *r = &live[k].r[x];

				if (!overlap(s, e, r->s, r->e) || !conflicts(mode, live[k].mode))
					continue;
				if (!any || r->s < b.pa.pa ||
				    (r->s == b.pa.pa && r->e - r->s < b.len)) {
					b.pa.pa = r->s;
					b.len = r->e - r->s;
					b.mode = live[k].mode;
				}
				any = true;
			}
		if (any && s < best_req) {
			best_req = s;
			*c = b;
			found = true;
		}
	}
	return found ? -VTLMEM_EBUSY : 0;
}

/* Is [s, e) covered by the union of the given ranges? */
static bool covered(uint64_t s, uint64_t e, const struct mrange *rs, int n)
{
	bool progress = true;

	while (s < e && progress) {
		progress = false;
		for (int i = 0; i < n; i++)
			if (rs[i].s <= s && s < rs[i].e) {
				s = rs[i].e;
				progress = true;
			}
	}
	return s >= e;
}

static bool model_is_reserved(uint64_t pa, uint64_t len, int mode)
{
	static struct mrange rs[MAXH * MAXR];
	int n = 0;

	if (len == 0 || (mode != VTLMEM_RES_EXCLUSIVE && mode != VTLMEM_RES_SHARED) ||
	    (u128)pa + len >= ((u128)1 << 64))
		return false;
	for (int k = 0; k < nlive; k++)
		if (mode == VTLMEM_RES_SHARED || live[k].mode == VTLMEM_RES_EXCLUSIVE)
			for (int x = 0; x < live[k].n; x++)
				rs[n++] = live[k].r[x];
	return covered(pa, pa + len, rs, n);
}

/* The model's intervals: every range; identical shared ranges once. */
struct mint {
	uint64_t s, e;
	int mode;
	uint32_t readers;
};

static int cmp_int(const void *a, const void *b)
{
	const struct mint *x = a, *y = b;

	if (x->s != y->s)
		return x->s < y->s ? -1 : 1;
	if (x->e != y->e)
		return x->e < y->e ? -1 : 1;
	return x->mode - y->mode;
}

static size_t model_intervals(struct mint *out)
{
	size_t n = 0, i, j;

	for (int k = 0; k < nlive; k++)
		for (int x = 0; x < live[k].n; x++) {
			for (j = 0; j < n; j++)
				if (live[k].mode == VTLMEM_RES_SHARED && out[j].mode == VTLMEM_RES_SHARED &&
				    out[j].s == live[k].r[x].s && out[j].e == live[k].r[x].e)
					break;
			if (j < n) {
				out[j].readers++;
				continue;
			}
			out[n++] = (struct mint){ live[k].r[x].s, live[k].r[x].e, live[k].mode, 1 };
		}
	qsort(out, n, sizeof(*out), cmp_int);
	for (i = 1; i < n; i++)
		FUZZ_CHECK(out[i - 1].mode == VTLMEM_RES_SHARED && out[i].mode == VTLMEM_RES_SHARED
			   ? true : !overlap(out[i - 1].s, out[i - 1].e, out[i].s, out[i].e),
			   "model: an exclusive interval overlaps another");
	return n;
}

static struct mint got_iv[MAXH * MAXR + 1];
static size_t ngot;

static void collect(void *arg, vtlmem_paddr_t pa, uint64_t len, enum vtlmem_rmode mode,
		    uint32_t readers)
{
	(void)arg;
	FUZZ_CHECK(ngot < MAXH * MAXR, "iterate: more intervals than ranges reserved");
	got_iv[ngot++] = (struct mint){ pa.pa, pa.pa + len, (int)mode, readers };
}

static void check_state(const char *after)
{
	static struct mint want[MAXH * MAXR];
	struct vtlmem_rtable_stats st;
	size_t n, i;

	n = model_intervals(want);
	/*
	 * Known: the self-check takes a subtree's maximum end of 2^64 - 1 (a
	 * range ending there is valid under pa_bits 64) for its error value and
	 * reports -2 for a good table, so it is skipped in that state; the
	 * intervals are still compared with the model below.
	 */
	for (i = 0; i < n && want[i].e != UINT64_MAX; i++)
		;
	if (i == n)
		FUZZ_CHECK(vtlmem_rtable_selfcheck(&T) == 0, "self-check %d after %s",
			   vtlmem_rtable_selfcheck(&T), after);
	ngot = 0;
	FUZZ_CHECK(vtlmem_rtable_iterate(&T, collect, NULL) == n && ngot == n,
		   "after %s: iterate visited %zu intervals, the model has %zu", after, ngot, n);
	for (i = 0; i < n; i++)
		FUZZ_CHECK(!memcmp(&got_iv[i], &want[i], sizeof(want[i])),
			   "after %s: interval %zu is [%#llx, %#llx) mode %d readers %u, the model "
			   "has [%#llx, %#llx) mode %d readers %u", after, i,
			   (unsigned long long)got_iv[i].s, (unsigned long long)got_iv[i].e,
			   got_iv[i].mode, got_iv[i].readers, (unsigned long long)want[i].s,
			   (unsigned long long)want[i].e, want[i].mode, want[i].readers);
	vtlmem_rtable_stats(&T, &st);
	FUZZ_CHECK(st.handles == (uint64_t)nlive && st.intervals == n,
		   "after %s: stats %llu handles %llu intervals, the model %d and %zu", after,
		   (unsigned long long)st.handles, (unsigned long long)st.intervals, nlive, n);
	FUZZ_CHECK(st.objects == (uint64_t)P.live, "after %s: %llu objects, allocator has %ld",
		   after, (unsigned long long)st.objects, P.live);
}

/* ---- decoding ---- */

static void decode_range(struct fin *f, struct vtlmem_range *r)
{
	uint8_t k = fin_u8(f);
	uint64_t top = vtlmem_pa_bits(&plat) >= 64 ? 0 : (uint64_t)1 << vtlmem_pa_bits(&plat);

	switch (k >> 5) {
	default:   /* clustered: 64-byte grain in [64 KiB, 128 KiB) */
		r->pa = vtlmem_pa(0x10000 + (uint64_t)(fin_u8(f) | (k & 3) << 8) * 64);
		r->len = ((uint64_t)((k >> 2) & 7) * 37 + fin_u8(f) % 64 + 1) * 64;
		break;
	case 6:    /* near page 0 and the secure range */
		r->pa = vtlmem_pa((uint64_t)fin_u16(f) * 16);
		r->len = (uint64_t)fin_u16(f) * 16;
		break;
	case 7:    /* edges: near 2^pa_bits, near 2^64, anything */
		switch (k & 3) {
		case 0:
			r->pa = vtlmem_pa(top - (uint64_t)fin_u16(f) * 64);
			r->len = (uint64_t)fin_u16(f) * 64;
			break;
		case 1:
			r->pa = vtlmem_pa(0 - (uint64_t)fin_u16(f) * 64);
			r->len = (uint64_t)fin_u16(f) * 64;
			break;
		default:
			r->pa = vtlmem_pa(fin_u64(f));
			r->len = fin_u64(f);
			break;
		}
		break;
	}
}

static vtlmem_resv_t pick_dead(struct fin *f)
{
	uint8_t k = fin_u8(f);

	if (ndead == 0 || k % 4 == 0)
		return (vtlmem_resv_t){ 0 };
	return dead[k % ndead];
}

static void forget(int k)
{
	if (ndead < MAXDEAD)
		dead[ndead++] = live[k].h;
	live[k] = live[--nlive];
}

static void op_reserve(struct fin *f, uint8_t op)
{
	struct vtlmem_range rs[MAXR];
	struct vtlmem_conflict c, want_c, pristine;
	vtlmem_resv_t out = { .id = 0x5a5a }, before = out;
	size_t n = (op >> 4) % (MAXR + 1), i;   /* 0 .. 4: 0 is an error */
	int mode = (op >> 3) & 1, ret, want;
	unsigned long fails = P.fails;
	struct vtlmem_rtable_stats s0, s1;

	if (f->n && (op & 0x80) && fin_u8(f) == 0xff)
		mode = 2;                       /* not a vtlmem_rmode */
	for (i = 0; i < n; i++)
		decode_range(f, &rs[i]);
	memset(&c, 0xee, sizeof(c));
	want_c = pristine = c;
	want = model_reserve(rs, n, mode, &want_c);
	vtlmem_rtable_stats(&T, &s0);
	ret = vtlmem_reserve(&T, n ? rs : (struct vtlmem_range[1]){ 0 }, n,
			     (enum vtlmem_rmode)mode, &out, &c);
	vtlmem_rtable_stats(&T, &s1);
	if (P.fails != fails) {
		FUZZ_CHECK(ret == -VTLMEM_ENOMEM, "reserve: an allocation failed, got %d", ret);
	} else {
		FUZZ_CHECK(ret == want, "reserve of %zu ranges mode %d: got %d, the model says %d "
			   "(first range [%#llx + %#llx))", n, mode, ret, want,
			   n ? (unsigned long long)rs[0].pa.pa : 0ull,
			   n ? (unsigned long long)rs[0].len : 0ull);
	}
	if (ret) {
		FUZZ_CHECK(!memcmp(&out, &before, sizeof(out)), "reserve: *out changed on error");
		if (ret == -VTLMEM_EBUSY)
			FUZZ_CHECK(c.pa.pa == want_c.pa.pa && c.len == want_c.len &&
				   c.mode == want_c.mode,
				   "conflict [%#llx + %#llx) mode %d, the model says [%#llx + %#llx) "
				   "mode %d", (unsigned long long)c.pa.pa, (unsigned long long)c.len,
				   c.mode, (unsigned long long)want_c.pa.pa,
				   (unsigned long long)want_c.len, want_c.mode);
		else
			FUZZ_CHECK(!memcmp(&c, &pristine, sizeof(c)), "reserve: *conflict written on %d",
				   ret);
		FUZZ_CHECK(s1.handles == s0.handles && s1.intervals == s0.intervals &&
			   s1.reserves == s0.reserves &&
			   s1.conflicts == s0.conflicts + (ret == -VTLMEM_EBUSY),
			   "reserve: state changed on error %d", ret);
		return;
	}
	FUZZ_CHECK(out.id != 0, "reserve: handle id 0");
	for (int k = 0; k < nids; k++)
		FUZZ_CHECK(ids[k] != out.id, "reserve: id %llu issued twice",
			   (unsigned long long)out.id);
	if (nids < MAXIDS)
		ids[nids++] = out.id;
	FUZZ_CHECK(nlive < MAXH, "model full");
	live[nlive].h = out;
	live[nlive].mode = mode;
	live[nlive].n = (int)n;
	for (i = 0; i < n; i++)
		live[nlive].r[i] = (struct mrange){ rs[i].pa.pa, rs[i].pa.pa + rs[i].len };
	nlive++;
}

static void op_release(struct fin *f, uint8_t op)
{
	if (nlive && !(op & 0x10)) {
		int k = fin_u8(f) % nlive, ret = vtlmem_release(&T, live[k].h);

		FUZZ_CHECK(ret == 0, "release of a live handle: %d", ret);
		forget(k);
	} else {
		vtlmem_resv_t h = pick_dead(f);
		int ret = vtlmem_release(&T, h);

		FUZZ_CHECK(ret == -VTLMEM_ENOENT, "release of a dead handle %llu: %d",
			   (unsigned long long)h.id, ret);
	}
}

static void op_query(struct fin *f, uint8_t op)
{
	struct vtlmem_range r;
	enum vtlmem_rmode m = (enum vtlmem_rmode)0x77;
	int k, ret;

	decode_range(f, &r);
	switch ((op >> 4) & 3) {
	case 0: {
		int mode = (op >> 6) & 1;
		bool got = vtlmem_is_reserved(&T, r.pa, r.len, (enum vtlmem_rmode)mode);

		FUZZ_CHECK(got == model_is_reserved(r.pa.pa, r.len, mode),
			   "is_reserved([%#llx + %#llx), %d) = %d", (unsigned long long)r.pa.pa,
			   (unsigned long long)r.len, mode, got);
		break;
	}
	case 1:
		if (nlive) {
			bool got, want;

			k = fin_u8(f) % nlive;
			if (op & 0x40) {   /* a range inside one of the handle's */
				struct mrange *x = &live[k].r[fin_u8(f) % live[k].n];

				r.pa.pa = x->s + (x->e - x->s) / 3;
				r.len = (x->e - x->s) / 2 + 1;
			}
			want = r.len && (u128)r.pa.pa + r.len < ((u128)1 << 64) &&
			       covered(r.pa.pa, r.pa.pa + r.len, live[k].r, live[k].n);
			got = vtlmem_resv_covers(&T, live[k].h, r.pa, r.len);
			FUZZ_CHECK(got == want, "resv_covers(live, [%#llx + %#llx)) = %d",
				   (unsigned long long)r.pa.pa, (unsigned long long)r.len, got);
		}
		FUZZ_CHECK(!vtlmem_resv_covers(&T, pick_dead(f), r.pa, r.len),
			   "resv_covers of a dead handle is true");
		break;
	case 2:
		if (nlive) {
			k = fin_u8(f) % nlive;
			ret = vtlmem_resv_mode(&T, live[k].h, &m);
			FUZZ_CHECK(ret == 0 && (int)m == live[k].mode, "resv_mode(live): %d, %d",
				   ret, m);
		}
		ret = vtlmem_resv_mode(&T, pick_dead(f), &m);
		FUZZ_CHECK(ret == -VTLMEM_ENOENT, "resv_mode(dead): %d", ret);
		break;
	default:
		if (nlive) {
			ret = vtlmem_rtable_fini(&T);
			FUZZ_CHECK(ret == -VTLMEM_EBUSY, "fini with live handles: %d", ret);
		}
		break;
	}
}

static unsigned long dump_lines;

static void dump_line(void *arg, const char *line)
{
	(void)arg;
	FUZZ_CHECK(!strncmp(line, "resv [", 6) || !strncmp(line, "rtable: ", 8),
		   "dump line \"%s\"", line);
	dump_lines++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned bits[4] = { 32, 40, 52, 64 };
	struct fin f = { data, size };
	uint8_t h = fin_u8(&f);
	int steps = 0, ret;

	memset(&P, 0, sizeof(P));
	memset(&plat, 0, sizeof(plat));
	plat.alloc = p_alloc;
	plat.free = p_free;
	plat.ownership = p_owner;
	plat.pa_bits = bits[h & 3];
	plat.allow_page0 = (h >> 2) & 1;
	P.sec_s = 0x10000 + (uint64_t)fin_u8(&f) * 256;
	P.sec_e = P.sec_s + (uint64_t)fin_u8(&f) * 64;
	nlive = ndead = nids = 0;
	memset(&T, 0, sizeof(T));
	FUZZ_CHECK(vtlmem_rtable_init(&T, &plat) == 0, "init");

	while (f.n && steps++ < 200) {
		uint8_t op = fin_u8(&f);

		switch (op & 7) {
		case 0: case 1: case 2:
			if (nlive < MAXH)
				op_reserve(&f, op);
			break;
		case 3:
			op_release(&f, op);
			break;
		case 4: case 5:
			op_query(&f, op);
			break;
		case 6:   /* the N-th next bookkeeping allocation fails */
			P.fail_at = (op >> 3) % 4;
			break;
		default:
			dump_lines = 0;
			vtlmem_rtable_dump(&T, dump_line, NULL);
			FUZZ_CHECK(dump_lines >= 1, "dump printed nothing");
			break;
		}
		check_state("an operation");
	}
	P.fail_at = 0;
	while (nlive) {
		ret = vtlmem_release(&T, live[nlive - 1].h);
		FUZZ_CHECK(ret == 0, "final release: %d", ret);
		nlive--;
	}
	check_state("releasing everything");
	ret = vtlmem_rtable_fini(&T);
	FUZZ_CHECK(ret == 0, "fini: %d", ret);
	FUZZ_CHECK(P.live == 0, "%ld objects not given back by fini", P.live);
	return 0;
}
