/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: vmap API sequences against a model, with every page-table
 * entry of the window checked after every step.
 *
 * Each input builds a manager over a small window (its size, slots per CPU
 * and purge threshold come from the input) on the host platform
 * (tests/unit/common/hostplat.h: simulated physical memory, fault
 * injection) and the host MMU's walker (hostmmu.h), then runs operations:
 * map (1..8 pages from a pool of VTL0 pages plus page 0, a secure page, an
 * unaligned and an out-of-range address; RO/RW, every cache policy, the
 * protect flag, under the caller's reservation or its own), unmap, purge,
 * caller reservations and vtlmem_vmap_release_after_flush(), per-CPU slot
 * map/unmap (in and out of order), and "the N-th next bookkeeping
 * allocation / page-table page / protect op fails, the next shootdowns
 * fail".
 *
 * The model knows the live mappings and slots, the quarantine and the
 * reservations. Checked after every step:
 *   - return values: argument errors exactly; -EPERM / -EBUSY only where a
 *     page is secure or reserved in a conflicting mode; -ENOMEM only when an
 *     injected allocation failure fired; -ENOSPC only when no free VA gap
 *     (live and quarantined ranges with their guard pages excluded) fits;
 *   - a failed map changes nothing: tables byte-identical (snapshot),
 *     allocator, page-table pages, protections and reservations as before;
 *   - a new mapping's VA lies in the mapping area and overlaps no live or
 *     quarantined range or guard page: VA is reused only after a successful
 *     shootdown, whose range covers every quarantined mapping;
 *   - every page of the window: its leaf entry is exactly the model's
 *     (present, address, RW, NX, PWT/PCD, A/D, never G or U) or not present;
 *   - the manager's self-check, its statistics, the reservation count and
 *     the protected-page count.
 * At the end everything is unmapped, purged and destroyed, and every
 * page-table page and bookkeeping object is given back.
 */
#include <stdbool.h>
#include <stdint.h>

#include <vtlmem/vmap.h>
#include "hostmmu.h"
#include "hostplat.h"
#include "../../src/vmap_debug.h"
#include "fuzz.h"

#define PG VTLMEM_PAGE_SIZE
#define NPOOL 64                 /* VTL0 pages the inputs choose from */
#define MAXM 32
#define MAXP 8
#define MAXHELD 8
#define MAXQ 256

static struct hostplat hp;
static struct hostmmu mmu;
static struct vtlmem_rtable rt;
static struct vtlmem_vmap *vm;
static struct vtlmem_vmap_config cfg;
static uintptr_t area_lo, area_hi, slot_base;

struct mmap_ {
	struct vtlmem_mapping *m;
	uintptr_t va;
	int n;
	uint64_t pa[MAXP];
	int prot, cache, protect, held;   /* held: index + 1 of the held resv, 0: own */
};

struct qent {
	uintptr_t va;
	int n;
	bool own;                        /* carries its own reservation */
};

struct held {
	vtlmem_resv_t h;
	int mode;
	uint64_t first;                  /* pool index of the first page */
	int n;
	int users;                       /* live mappings and slots under it */
	bool pending;                    /* release_after_flush called: dies at the next purge */
	bool live;
};

struct slot {
	struct vtlmem_slot s;
	int n;
	uint64_t pa[MAXP];
	int prot, cache, held;
};

static struct mmap_ maps[MAXM];
static int nmaps;
static struct qent quar[MAXQ];
static int nquar;
static struct held helds[MAXHELD];
static struct slot slots[8];
static int nslots;
static unsigned long last_shootdowns;

/* Outcome counts, printed at exit with FUZZ_STATS=1 (is the input space reached?). */
static unsigned long n_map_ok, n_map_err[64], n_unmap, n_purge_ok, n_purge_eio, n_slot_ok,
	n_held, n_raf;

static void print_stats(void)
{
	fprintf(stderr, "fuzz_vmap: maps %lu ok, -EINVAL %lu -ERANGE %lu -EPERM %lu -EBUSY %lu "
		"-ENOMEM %lu -EIO %lu -ENOSPC %lu; unmaps %lu; purges %lu ok %lu -EIO; slots %lu; "
		"caller reservations %lu, release_after_flush %lu\n", n_map_ok,
		n_map_err[VTLMEM_EINVAL], n_map_err[VTLMEM_ERANGE], n_map_err[VTLMEM_EPERM],
		n_map_err[VTLMEM_EBUSY], n_map_err[VTLMEM_ENOMEM], n_map_err[VTLMEM_EIO],
		n_map_err[VTLMEM_ENOSPC], n_unmap, n_purge_ok, n_purge_eio, n_slot_ok, n_held, n_raf);
}

static uint64_t pool_pa(unsigned i)
{
	return HOSTPLAT_VTL0_BASE + (uint64_t)i * PG;
}

/* A page address from one input byte: mostly the pool, sometimes hostile. */
static uint64_t decode_page(uint8_t b)
{
	switch (b >> 6) {
	case 3:
		switch (b & 7) {
		case 0: return 0;                                /* page 0     */
		case 1: return 2 * 1024 * 1024;                  /* secure     */
		case 2: return pool_pa(b >> 3 & 7) + 64;         /* unaligned  */
		case 3: return 1ull << 52;                       /* > pa_bits  */
		default: return pool_pa(b & 7);
		}
	default:
		return pool_pa(b % NPOOL);
	}
}

static bool is_pool(uint64_t pa)
{
	return pa >= HOSTPLAT_VTL0_BASE && !(pa & (PG - 1)) && pa < pool_pa(NPOOL);
}

/* ---- model queries ---- */

static int own_handles(void)
{
	int n = 0, i;

	for (i = 0; i < nmaps; i++)
		n += !maps[i].held;
	for (i = 0; i < nquar; i++)
		n += quar[i].own;
	for (i = 0; i < MAXHELD; i++)
		n += helds[i].live;
	return n;
}

/* Does some live reservation of the model conflict with reserving pa in mode? */
static bool reserved_conflict(uint64_t pa, int mode)
{
	int i, j;

	for (i = 0; i < nmaps; i++)
		if (!maps[i].held)
			for (j = 0; j < maps[i].n; j++)
				if (maps[i].pa[j] == pa &&
				    (mode == VTLMEM_RES_EXCLUSIVE || maps[i].prot == VTLMEM_PROT_RW))
					return true;
	for (i = 0; i < MAXHELD; i++)
		if (helds[i].live && pa >= pool_pa((unsigned)helds[i].first) &&
		    pa < pool_pa((unsigned)(helds[i].first + helds[i].n)) &&
		    (mode == VTLMEM_RES_EXCLUSIVE || helds[i].mode == VTLMEM_RES_EXCLUSIVE))
			return true;
	return false;
}

/* Quarantined mappings keep their pages reserved too: the model keeps their pages. */
static uint64_t qpages[MAXQ][MAXP];
static int qmode[MAXQ];

static bool quar_conflict(uint64_t pa, int mode)
{
	for (int i = 0; i < nquar; i++)
		if (quar[i].own)
			for (int j = 0; j < quar[i].n; j++)
				if (qpages[i][j] == pa &&
				    (mode == VTLMEM_RES_EXCLUSIVE || qmode[i] == VTLMEM_RES_EXCLUSIVE))
					return true;
	return false;
}

/* Is there a free VA gap of n pages (guards included) in the mapping area? */
static bool gap_fits(uint64_t n)
{
	uintptr_t a;
	uint64_t run = 0;

	for (a = area_lo; a < area_hi; a += PG) {
		bool used = false;

		for (int i = 0; i < nmaps && !used; i++)
			used = a >= maps[i].va && a < maps[i].va + (maps[i].n + 1) * PG;
		for (int i = 0; i < nquar && !used; i++)
			used = a >= quar[i].va && a < quar[i].va + (quar[i].n + 1) * PG;
		run = used ? 0 : run + 1;
		if (run >= n)
			return true;
	}
	return false;
}

/* A successful shootdown happened: check its span, empty the quarantine. */
static void purged(void)
{
	int i;

	if (hp.shootdowns == last_shootdowns)
		return;
	last_shootdowns = hp.shootdowns;
	for (i = 0; i < nquar; i++)
		FUZZ_CHECK(hp.last_shootdown_va <= quar[i].va &&
			   quar[i].va + quar[i].n * PG <= hp.last_shootdown_va + hp.last_shootdown_len,
			   "shootdown [%#lx + %#llx) misses quarantined [%#lx + %d pages)",
			   (unsigned long)hp.last_shootdown_va,
			   (unsigned long long)hp.last_shootdown_len, (unsigned long)quar[i].va,
			   quar[i].n);
	nquar = 0;
	for (i = 0; i < MAXHELD; i++)
		if (helds[i].pending) {
			helds[i].pending = false;
			helds[i].live = false;
		}
}

/* ---- the whole-window check ---- */

/* The exact leaf the library must write (the arch's host-test encoder, hostmmu_arch.h). */
static uint64_t want_pte(uint64_t pa, int prot, int cache)
{
	return hmmu_leaf(pa, (enum vtlmem_prot)prot, (enum vtlmem_cache)cache);
}

static void check_window(const char *after)
{
	struct vtlmem_vmap_stats st;
	uint64_t mapped = 0, quarantined = 0, prot_live = 0;
	uintptr_t a;
	int i, j;

	for (a = cfg.base.va; a < cfg.base.va + cfg.size; a += PG) {
		uint64_t want = 0, got = hostmmu_pte(&mmu, a);

		for (i = 0; i < nmaps; i++)
			if (a >= maps[i].va && a < maps[i].va + maps[i].n * PG)
				want = want_pte(maps[i].pa[(a - maps[i].va) / PG], maps[i].prot,
						maps[i].cache);
		for (i = 0; i < nslots; i++)
			if (a >= slots[i].s.va.va && a < slots[i].s.va.va + slots[i].n * PG)
				want = want_pte(slots[i].pa[(a - slots[i].s.va.va) / PG], slots[i].prot,
						slots[i].cache);
		FUZZ_CHECK(got == want, "after %s: entry of %#lx is %#llx, the model "
			   "says %#llx", after, (unsigned long)a, (unsigned long long)got,
			   (unsigned long long)want);
	}
	for (i = 0; i < nmaps; i++) {
		mapped += maps[i].n;
		if (maps[i].protect)
			prot_live += maps[i].n;
	}
	for (i = 0; i < nquar; i++)
		quarantined += quar[i].n;
	vtlmem_vmap_get_stats(vm, &st);
	FUZZ_CHECK(st.mapped_pages == mapped && st.quarantined_pages == quarantined,
		   "after %s: stats %llu mapped %llu quarantined, the model %llu and %llu", after,
		   (unsigned long long)st.mapped_pages, (unsigned long long)st.quarantined_pages,
		   (unsigned long long)mapped, (unsigned long long)quarantined);
	FUZZ_CHECK(hp.protected_live == (long)prot_live, "after %s: %ld pages protected, the "
		   "model %llu", after, hp.protected_live, (unsigned long long)prot_live);
	j = vtlmem_vmap_selfcheck(vm);
	FUZZ_CHECK(j == 0, "after %s: vmap self-check %d", after, j);
	{
		struct vtlmem_rtable_stats rs;

		vtlmem_rtable_stats(&rt, &rs);
		FUZZ_CHECK(rs.handles == (uint64_t)own_handles(), "after %s: %llu reservations, the "
			   "model %d", after, (unsigned long long)rs.handles, own_handles());
	}
}

/* ---- operations ---- */

struct snapstate {
	struct hostmmu_snap snap;
	long alloc_live, pt_live, protected_live;
	uint64_t handles;
};

static void snap_take(struct snapstate *s)
{
	struct vtlmem_rtable_stats rs;

	hostmmu_snapshot(&mmu, &s->snap);
	s->alloc_live = hp.alloc_live;
	s->pt_live = hp.pt_live;
	s->protected_live = hp.protected_live;
	vtlmem_rtable_stats(&rt, &rs);
	s->handles = rs.handles;
}

static void op_map(struct fin *f, uint8_t op)
{
	struct vtlmem_map_req req = { 0 };
	vtlmem_paddr_t pages[MAXP];
	struct vtlmem_mapping *m = (void *)0x1;
	vtlmem_vaddr_t va = { 0x1 };
	int n = (op >> 3) % (MAXP + 1), i, j, ret, hi = 0;
	uint8_t b = fin_u8(f);
	bool einval = false, erange = false, eperm = false, ebusy = false, dup = false;
	unsigned long afail = hp.alloc_fails, pfail = hp.pt_fails;
	long protect_armed = hp.fail_protect_at;
	struct snapstate s0, s1;
	unsigned long sd0;

	req.prot = b & 1;
	req.cache = (b >> 1) & 3;          /* 3: not a vtlmem_cache */
	req.flags = (b >> 3) & 1 ? VTLMEM_MAP_PROTECT : 0;
	if ((b >> 4) == 0xf)
		req.flags |= 2;                /* an unknown flag */
	if ((b >> 4) & 1) {                /* under a caller reservation */
		hi = fin_u8(f) % MAXHELD;
		/* Maybe released (stale) or never issued (id 0: own reservation);
		 * one given to release_after_flush is no longer the caller's. */
		req.held = helds[hi].pending ? (vtlmem_resv_t){ 0 } : helds[hi].h;
		hi = helds[hi].live ? hi + 1 : -1;
		if (req.held.id == 0)
			hi = 0;
	}
	for (i = 0; i < n; i++)
		pages[i] = vtlmem_pa(decode_page(fin_u8(f)));
	req.pages = pages;
	req.npages = (size_t)n;

	/* The model's verdict, in the header's order. */
	if (n == 0 || req.prot > 1 || req.cache > 2 || (req.flags & ~VTLMEM_MAP_PROTECT))
		einval = true;
	for (i = 0; i < n && !einval; i++) {
		uint64_t pa = pages[i].pa;

		if (pa & (PG - 1)) {
			einval = true;
			break;
		}
		if (pa >= (1ull << 52)) {
			erange = true;
			break;
		}
	}
	for (i = 0; i < n && !einval && !erange; i++)
		for (j = i + 1; j < n; j++)
			dup |= pages[i].pa == pages[j].pa;
	for (i = 0; i < n; i++) {
		uint64_t pa = pages[i].pa;
		int mode = req.prot == VTLMEM_PROT_RW ? VTLMEM_RES_EXCLUSIVE : VTLMEM_RES_SHARED;

		if (!is_pool(pa))
			eperm = true;                 /* page 0, secure */
		else if (hi == 0 && (reserved_conflict(pa, mode) || quar_conflict(pa, mode)))
			ebusy = true;
		else if (hi != 0 && (hi < 0 || pa < pool_pa((unsigned)helds[hi - 1].first) ||
				     pa >= pool_pa((unsigned)(helds[hi - 1].first + helds[hi - 1].n)) ||
				     (req.prot == VTLMEM_PROT_RW &&
				      helds[hi - 1].mode != VTLMEM_RES_EXCLUSIVE)))
			eperm = true;
	}

	snap_take(&s0);
	sd0 = hp.shootdowns;
	ret = vtlmem_vmap_map(vm, &req, &m, &va);
	purged();
	if (ret)
		n_map_err[-ret & 63]++;
	else
		n_map_ok++;
	if (einval) {
		FUZZ_CHECK(ret == -VTLMEM_EINVAL, "map with bad arguments: %d", ret);
	} else if (erange) {
		FUZZ_CHECK(ret == -VTLMEM_ERANGE, "map of a page beyond pa_bits: %d", ret);
	} else if (dup) {
		FUZZ_CHECK(ret == -VTLMEM_EINVAL || (ret == -VTLMEM_ENOMEM && hp.alloc_fails != afail),
			   "map of a repeated page: %d", ret);
	} else if (eperm || ebusy) {
		FUZZ_CHECK((eperm && ret == -VTLMEM_EPERM) || (ebusy && ret == -VTLMEM_EBUSY) ||
			   (ret == -VTLMEM_ENOMEM && hp.alloc_fails != afail),
			   "map: %d, the model expects%s%s", ret, eperm ? " -EPERM" : "",
			   ebusy ? " -EBUSY" : "");
	} else if (ret == -VTLMEM_ENOMEM) {
		FUZZ_CHECK(hp.alloc_fails != afail || hp.pt_fails != pfail,
			   "map: -ENOMEM and no allocation failed");
	} else if (ret == -VTLMEM_EIO) {
		FUZZ_CHECK(protect_armed > 0 && hp.fail_protect_at == 0 &&
			   (req.flags & VTLMEM_MAP_PROTECT), "map: -EIO without a protect failure");
	} else if (ret == -VTLMEM_ENOSPC) {
		FUZZ_CHECK(!gap_fits((uint64_t)n + 1), "map of %d pages: -ENOSPC with a free gap", n);
	} else {
		FUZZ_CHECK(ret == 0, "map: unexpected %d", ret);
	}
	if (ret) {
		snap_take(&s1);
		FUZZ_CHECK(hostmmu_snap_equal(&s0.snap, &s1.snap), "map error %d changed the tables",
			   ret);
		/* A purge the map ran (VA short) releases what it freed: the
		 * model checks that (check_window); nothing else may change. */
		FUZZ_CHECK(s1.pt_live == s0.pt_live && s1.protected_live == s0.protected_live &&
			   (s1.handles == s0.handles || hp.shootdowns != sd0),
			   "map error %d changed state", ret);
		hostmmu_snap_free(&s0.snap);
		hostmmu_snap_free(&s1.snap);
		return;
	}
	hostmmu_snap_free(&s0.snap);
	FUZZ_CHECK(!(va.va & (PG - 1)) && va.va >= area_lo &&
		   va.va + (uint64_t)(n + 1) * PG <= area_hi,
		   "map: VA %#lx (+%d pages and a guard) outside the mapping area", (unsigned long)va.va, n);
	for (i = 0; i < nmaps; i++)
		FUZZ_CHECK(va.va + (n + 1) * PG <= maps[i].va || maps[i].va + (maps[i].n + 1) * PG <= va.va,
			   "map: VA %#lx overlaps a live mapping or its guard", (unsigned long)va.va);
	for (i = 0; i < nquar; i++)
		FUZZ_CHECK(va.va + (n + 1) * PG <= quar[i].va || quar[i].va + (quar[i].n + 1) * PG <= va.va,
			   "map: VA %#lx reuses quarantined VA before a shootdown", (unsigned long)va.va);
	FUZZ_CHECK(nmaps < MAXM, "model full");
	maps[nmaps] = (struct mmap_){ .m = m, .va = va.va, .n = n, .prot = req.prot,
				      .cache = req.cache, .protect = !!req.flags, .held = hi };
	for (i = 0; i < n; i++)
		maps[nmaps].pa[i] = pages[i].pa;
	if (hi > 0)
		helds[hi - 1].users++;
	nmaps++;
}

static void op_unmap(struct fin *f)
{
	int k, ret;

	if (!nmaps)
		return;
	k = fin_u8(f) % nmaps;
	FUZZ_CHECK(nquar < MAXQ, "model quarantine full");
	quar[nquar] = (struct qent){ maps[k].va, maps[k].n, !maps[k].held };
	memcpy(qpages[nquar], maps[k].pa, sizeof(maps[k].pa));
	qmode[nquar] = maps[k].prot == VTLMEM_PROT_RW ? VTLMEM_RES_EXCLUSIVE : VTLMEM_RES_SHARED;
	nquar++;
	if (maps[k].held > 0)
		helds[maps[k].held - 1].users--;
	ret = vtlmem_vmap_unmap(vm, maps[k].m);
	FUZZ_CHECK(ret == 0, "unmap of a live mapping: %d", ret);
	n_unmap++;
	maps[k] = maps[--nmaps];
	purged();
}

static void op_purge(void)
{
	unsigned long fails = hp.shootdown_fails;
	int ret = vtlmem_vmap_purge(vm);

	if (ret == -VTLMEM_EIO) {
		FUZZ_CHECK(hp.shootdown_fails != fails, "purge: -EIO without a failed shootdown");
		n_purge_eio++;
	} else {
		FUZZ_CHECK(ret == 0, "purge: %d", ret);
		n_purge_ok++;
	}
	purged();
	if (ret == 0)
		FUZZ_CHECK(nquar == 0, "purge returned 0 and left %d mappings quarantined", nquar);
}

static void op_held(struct fin *f, uint8_t op)
{
	int k = fin_u8(f) % MAXHELD, ret;
	struct held *h = &helds[k];

	if (!h->live) {                           /* reserve a run of pool pages */
		struct vtlmem_range r;
		unsigned long fails = hp.alloc_fails;
		bool busy = false;

		h->first = fin_u8(f) % NPOOL;
		h->n = 1 + fin_u8(f) % MAXP;
		if (h->first + (uint64_t)h->n > NPOOL)
			h->n = (int)(NPOOL - h->first);
		h->mode = (op >> 3) & 1;
		for (int i = 0; i < h->n; i++)
			busy |= reserved_conflict(pool_pa((unsigned)(h->first + i)), h->mode) ||
				quar_conflict(pool_pa((unsigned)(h->first + i)), h->mode);
		r.pa = vtlmem_pa(pool_pa((unsigned)h->first));
		r.len = (uint64_t)h->n * PG;
		ret = vtlmem_reserve(&rt, &r, 1, (enum vtlmem_rmode)h->mode, &h->h, NULL);
		if (ret == -VTLMEM_ENOMEM && hp.alloc_fails != fails)
			return;
		FUZZ_CHECK(ret == (busy ? -VTLMEM_EBUSY : 0), "caller reserve: %d, busy %d", ret, busy);
		h->live = !ret;
		n_held += h->live;
		h->users = 0;
		h->pending = false;
		return;
	}
	if (h->users || h->pending)
		return;
	{
		unsigned long fails = hp.alloc_fails;

		ret = vtlmem_vmap_release_after_flush(vm, h->h);
		if (ret == -VTLMEM_ENOMEM) {
			FUZZ_CHECK(hp.alloc_fails != fails, "release_after_flush: -ENOMEM, no failure");
			return;
		}
		FUZZ_CHECK(ret == 0, "release_after_flush: %d", ret);
		n_raf++;
		if (nquar)
			h->pending = true;
		else
			h->live = false;
	}
}

static void op_slot(struct fin *f, uint8_t op)
{
	if ((op & 0x08) && nslots) {              /* unmap: the top, or misuse */
		int k = (op & 0x10) ? fin_u8(f) % nslots : nslots - 1;
		int ret = vtlmem_slot_unmap(vm, &slots[k].s);

		if (k != nslots - 1) {
			FUZZ_CHECK(ret == -VTLMEM_EDEADLK, "slot unmap out of order: %d", ret);
			return;
		}
		FUZZ_CHECK(ret == 0, "slot unmap of the top slot: %d", ret);
		helds[slots[k].held].users--;
		nslots--;
		return;
	}
	{
		int k = fin_u8(f) % MAXHELD, n = 1 + (op >> 5) % MAXP, ret, i;
		struct held *h = &helds[k];
		vtlmem_paddr_t pages[MAXP];
		int prot = (op >> 4) & 1;
		struct slot *s = &slots[nslots];
		bool ok;

		if (!h->live || h->pending || nslots >= 8)
			return;
		for (i = 0; i < n; i++)
			pages[i] = vtlmem_pa(pool_pa((unsigned)(h->first + (fin_u8(f) % (h->n + 1)))));
		ok = n <= (int)cfg.slots_per_cpu && (prot == VTLMEM_PROT_RO ||
						     h->mode == VTLMEM_RES_EXCLUSIVE);
		for (i = 0; i < n; i++) {
			ok &= pages[i].pa < pool_pa((unsigned)(h->first + h->n));
			for (int j = i + 1; j < n; j++)
				ok &= pages[i].pa != pages[j].pa;
		}
		ret = vtlmem_slot_map(vm, pages, (size_t)n, (enum vtlmem_prot)prot, VTLMEM_CACHE_WB,
				      h->h, &s->s);
		if (ret == -VTLMEM_ENOSPC) {
			int used = 0;

			for (i = 0; i < nslots; i++)
				used += slots[i].n;
			FUZZ_CHECK(used + n > (int)cfg.slots_per_cpu, "slot map: -ENOSPC with room");
			return;
		}
		FUZZ_CHECK(ok ? ret == 0 : ret != 0, "slot map of %d pages (ok %d): %d", n, ok, ret);
		if (ret)
			return;
		s->n = n;
		s->prot = prot;
		s->cache = VTLMEM_CACHE_WB;
		s->held = k;
		for (i = 0; i < n; i++)
			s->pa[i] = pages[i].pa;
		h->users++;
		nslots++;
		n_slot_ok++;
	}
}

static void setup(struct fin *f)
{
	uint8_t a = fin_u8(f), b = fin_u8(f);
	uint64_t area = 10 + (uint64_t)(a & 0x3f) * 2;      /* mapping-area pages */
	int ret;

	memset(&cfg, 0, sizeof(cfg));
	cfg.slots_per_cpu = 1 + (a >> 6);
	cfg.purge_threshold = 1 + b % 48;
	cfg.prepopulate = b >> 7;
	hostmmu_init(&mmu, &hp, (area + hp.ops.ncpus * (cfg.slots_per_cpu + 1)) * PG);
	hostmmu_config(&mmu, &cfg);
	FUZZ_CHECK(vtlmem_rtable_init(&rt, &hp.ops) == 0, "rtable init");
	ret = vtlmem_vmap_create(&hp.ops, &rt, &cfg, &vm);
	FUZZ_CHECK(ret == 0, "vmap create: %d", ret);
	hostmmu_install(&mmu, vm);
	slot_base = vtlmem_vmap_debug_slot_base(vm);
	area_lo = cfg.base.va;
	area_hi = slot_base;
	nmaps = nquar = nslots = 0;
	memset(helds, 0, sizeof(helds));
	last_shootdowns = hp.shootdowns;
}

static void teardown(void)
{
	int ret, i;

	hp.fail_alloc_at = hp.fail_pt_at = hp.fail_protect_at = 0;
	hp.fail_shootdowns = 0;
	while (nslots) {
		ret = vtlmem_slot_unmap(vm, &slots[nslots - 1].s);
		FUZZ_CHECK(ret == 0, "final slot unmap: %d", ret);
		helds[slots[--nslots].held].users--;
	}
	while (nmaps) {
		if (maps[nmaps - 1].held > 0)
			helds[maps[nmaps - 1].held - 1].users--;
		ret = vtlmem_vmap_unmap(vm, maps[--nmaps].m);
		FUZZ_CHECK(ret == 0, "final unmap: %d", ret);
	}
	ret = vtlmem_vmap_purge(vm);
	FUZZ_CHECK(ret == 0, "final purge: %d", ret);
	for (i = 0; i < MAXHELD; i++)
		if (helds[i].live && !helds[i].pending)
			FUZZ_CHECK(vtlmem_release(&rt, helds[i].h) == 0, "final release");
	hostmmu_fini(&mmu);
	ret = vtlmem_vmap_destroy(vm);
	FUZZ_CHECK(ret == 0, "destroy: %d", ret);
	ret = vtlmem_rtable_fini(&rt);
	FUZZ_CHECK(ret == 0, "rtable fini: %d", ret);
	FUZZ_CHECK(hp.pt_live == 0 && hp.alloc_live == 0 && hp.protected_live == 0,
		   "leaked: %ld page-table pages, %ld objects, %ld protections", hp.pt_live,
		   hp.alloc_live, hp.protected_live);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct fin f = { data, size };
	int steps = 0;

	if (!init) {
		hostplat_init(&hp, 32ull << 20);
		init = true;
		if (getenv("FUZZ_STATS"))
			atexit(print_stats);
	}
	setup(&f);
	check_window("create");
	while (f.n && steps++ < 64) {
		uint8_t op = fin_u8(&f);

		switch (op & 7) {
		case 0: case 1:
			op_map(&f, op);
			break;
		case 2:
			op_unmap(&f);
			break;
		case 3:
			op_purge();
			break;
		case 4:
			op_held(&f, op);
			break;
		case 5:
			op_slot(&f, op);
			break;
		default:   /* failure injection */
			switch ((op >> 3) & 3) {
			case 0: hp.fail_alloc_at = op >> 5; break;
			case 1: hp.fail_pt_at = op >> 5; break;
			case 2: hp.fail_protect_at = op >> 5; break;
			default: hp.fail_shootdowns = op >> 5; break;
			}
			break;
		}
		check_window("an operation");
	}
	teardown();
	return 0;
}
