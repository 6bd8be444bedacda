/* SPDX-License-Identifier: MIT */
/*
 * bench_vmap: vmap + vunmap of 1, 16 and 512 pages through the library,
 * against a LiteBox-kind baseline built in the same process: a first-fit
 * linear free list for VA, a 4-level walk per page to write and clear each
 * PTE (tables allocated on demand from the same platform), an invlpg per
 * page and a remote shootdown on every vunmap. Both map the same pages (a
 * contiguous buffer) under the same platform (host: flush ops are counters,
 * no MMU mirror). The library maps under a held reservation (the physical
 * pointers' pattern: it checks the pages are covered) and the baseline
 * takes none; a second table has both reserve their pages per map (the
 * library's own reservation, the baseline calling the same table).
 *
 * "fragmented" first leaves 1000 two-page holes below the free space (1000
 * one-page mappings, every other one unmapped and purged): the baseline's
 * first fit then scans 1000 list entries for every map that does not fit a
 * hole, the library's descends its tree.
 *
 * Also printed: remote shootdowns and local invalidation calls per 1000
 * single-page vunmaps (library goal: <= 10 shootdowns), platform
 * allocations per map (steady state).
 *
 * Usage: bench_vmap              timing table, ratios baseline/library
 *        bench_vmap phase N      run phase N (see the list it prints) once,
 *                                warm, inside measured_loop(), for
 *        valgrind --tool=callgrind --toggle-collect=measured_loop \
 *                 build/bench/bin/bench_vmap phase N
 *                                instructions per page = Ir / (iters * pages)
 *                                as printed; --toggle-collect=vtlmem_pgt_set_run
 *                                (one contiguous run, as here; vtlmem_pgt_set
 *                                for any other page array)
 *                                --toggle-collect=vtlmem_pgt_clear (instead of
 *                                measured_loop) counts the PTE work alone,
 *                                warm-up included: use the second divisor;
 *                                --toggle-collect=vtlmem_vmap_map the whole
 *                                map call (tests/bench/counts' figure).
 * Never fails on timing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vtlmem/vmap.h>
#include "hostplat.h"

#define PG VTLMEM_PAGE_SIZE
#define MAXP 512
#define ROT 8192                        /* maps rotate through ROT + MAXP pages */
#define ROUNDS 9
#define WINDOW (1ull << 30)
#define LIB_BASE 0x100000000000ull     /* never accessed: no mirror */
#define BASE_BASE 0x200000000000ull

/* ---- the baseline: LiteBox kind ---------------------------------------- */

struct frange {
	uint64_t start, len;           /* pages */
};

struct base {
	struct hostplat *hp;
	uint64_t *root;
	vtlmem_paddr_t root_pa;
	struct frange *fl;             /* free list, address order, linear */
	size_t nfl, cap;
	uint64_t tables;
};

struct base_map {
	uintptr_t va;
	size_t n;
	vtlmem_resv_t resv;
};

#define B_P  (1ull << 0)
#define B_RW (1ull << 1)
#define B_A  (1ull << 5)
#define B_D  (1ull << 6)
#define B_NX (1ull << 63)
#define B_ADDR 0x000ffffffffff000ull

static void base_init(struct base *b, struct hostplat *hp)
{
	b->hp = hp;
	b->root = hp->ops.pt_alloc(hp, &b->root_pa);
	b->cap = 4096;
	b->fl = malloc(b->cap * sizeof(*b->fl));
	b->fl[0].start = BASE_BASE / PG;
	b->fl[0].len = WINDOW / PG;
	b->nfl = 1;
	b->tables = 0;
}

/* First fit: scan the list from the lowest address. */
static int base_va_alloc(struct base *b, uint64_t len, uint64_t *out)
{
	size_t i;

	for (i = 0; i < b->nfl; i++) {
		if (b->fl[i].len < len)
			continue;
		*out = b->fl[i].start;
		b->fl[i].start += len;
		b->fl[i].len -= len;
		if (!b->fl[i].len) {
			memmove(&b->fl[i], &b->fl[i + 1], (b->nfl - i - 1) * sizeof(*b->fl));
			b->nfl--;
		}
		return 0;
	}
	return -1;
}

/* Linear search for the place, then coalesce. */
static void base_va_free(struct base *b, uint64_t start, uint64_t len)
{
	size_t i = 0;

	while (i < b->nfl && b->fl[i].start < start)
		i++;
	if (i > 0 && b->fl[i - 1].start + b->fl[i - 1].len == start) {
		b->fl[i - 1].len += len;
		if (i < b->nfl && start + len == b->fl[i].start) {
			b->fl[i - 1].len += b->fl[i].len;
			memmove(&b->fl[i], &b->fl[i + 1], (b->nfl - i - 1) * sizeof(*b->fl));
			b->nfl--;
		}
		return;
	}
	if (i < b->nfl && start + len == b->fl[i].start) {
		b->fl[i].start = start;
		b->fl[i].len += len;
		return;
	}
	if (b->nfl == b->cap) {
		b->cap *= 2;
		b->fl = realloc(b->fl, b->cap * sizeof(*b->fl));
	}
	memmove(&b->fl[i + 1], &b->fl[i], (b->nfl - i) * sizeof(*b->fl));
	b->fl[i].start = start;
	b->fl[i].len = len;
	b->nfl++;
}

/* The leaf entry of va, walking all four levels (creating tables). */
static uint64_t *base_walk(struct base *b, uintptr_t va, bool create)
{
	uint64_t *t = b->root, e;
	vtlmem_paddr_t pa;
	int level;

	for (level = 3; level > 0; level--) {
		uint64_t *slot = &t[(va >> (12 + 9 * level)) & 511];

		e = *slot;
		if (!(e & B_P)) {
			if (!create)
				return NULL;
			t = b->hp->ops.pt_alloc(b->hp, &pa);
			*slot = vtlmem_pa_val(pa) | B_P | B_RW | B_A;
			b->tables++;
			continue;
		}
		t = b->hp->ops.pt_phys_to_virt(b->hp, vtlmem_pa(e & B_ADDR));
	}
	return &t[(va >> 12) & 511];
}

static struct base_map *base_vmap(struct base *b, const vtlmem_paddr_t *pages, size_t n,
				  bool reserve, struct vtlmem_rtable *rt)
{
	struct base_map *m = b->hp->ops.alloc(b->hp, sizeof(*m));
	struct vtlmem_range r = { pages[0], n * PG };
	uint64_t vp;
	size_t i;

	m->resv.id = 0;
	if (reserve && vtlmem_reserve(rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &m->resv, NULL))
		abort();
	if (base_va_alloc(b, n + 1, &vp))
		abort();
	m->va = vp * PG;
	m->n = n;
	for (i = 0; i < n; i++)
		*base_walk(b, m->va + i * PG, true) =
			vtlmem_pa_val(pages[i]) | B_P | B_RW | B_A | B_D | B_NX;
	return m;
}

static void base_vunmap(struct base *b, struct base_map *m, struct vtlmem_rtable *rt)
{
	const struct vtlmem_platform *p = &b->hp->ops;
	size_t i;

	for (i = 0; i < m->n; i++) {
		*base_walk(b, m->va + i * PG, false) = 0;
		p->tlb_local(p->ctx, m->va + i * PG, 1);
	}
	p->tlb_shootdown(p->ctx, m->va, m->n * PG);
	base_va_free(b, m->va / PG, m->n + 1);
	if (m->resv.id)
		vtlmem_release(rt, m->resv);
	p->free(p->ctx, m, sizeof(*m));
}

static void base_free_tables(struct base *b, uint64_t *t, vtlmem_paddr_t pa, int level)
{
	int i;

	for (i = 0; level > 0 && i < 512; i++)
		if (t[i] & B_P)
			base_free_tables(b, b->hp->ops.pt_phys_to_virt(b->hp, vtlmem_pa(t[i] & B_ADDR)),
					 vtlmem_pa(t[i] & B_ADDR), level - 1);
	b->hp->ops.pt_free(b->hp, t, pa);
}

static void base_fini(struct base *b)
{
	base_free_tables(b, b->root, b->root_pa, 3);
	free(b->fl);
}

/* ---- the environment ------------------------------------------------------ */

struct env {
	struct hostplat hp;
	struct vtlmem_rtable rt;
	struct vtlmem_vmap *vm;
	struct base base;
	vtlmem_resv_t held;
	vtlmem_paddr_t pages[ROT + MAXP];
	size_t cur;                    /* first page of the next map          */
	bool own;                      /* library takes its own reservation */
};

static struct env env;

static void env_init(bool own)
{
	struct vtlmem_vmap_config cfg = { .base = vtlmem_va(LIB_BASE), .size = WINDOW };
	struct vtlmem_range r;
	size_t i;

	hostplat_init(&env.hp, 64ull << 20);
	if (vtlmem_rtable_init(&env.rt, &env.hp.ops) ||
	    vtlmem_vmap_create(&env.hp.ops, &env.rt, &cfg, &env.vm)) {
		fprintf(stderr, "bench_vmap: setup failed\n");
		exit(1);
	}
	base_init(&env.base, &env.hp);
	for (i = 0; i < ROT + MAXP; i++)
		env.pages[i] = vtlmem_pa(HOSTPLAT_VTL0_BASE + i * PG);
	env.cur = 0;
	env.own = own;
	env.held.id = 0;
	r.pa = env.pages[0];
	r.len = (ROT + MAXP) * PG;
	if (!own && vtlmem_reserve(&env.rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &env.held, NULL))
		abort();
}

static void unfragment(void);

static void env_fini(void)
{
	int ret;

	unfragment();
	ret = vtlmem_vmap_destroy(env.vm);

	if (ret) {
		fprintf(stderr, "bench_vmap: destroy: %d\n", ret);
		abort();
	}
	if (env.held.id)
		vtlmem_release(&env.rt, env.held);
	base_fini(&env.base);
	vtlmem_rtable_fini(&env.rt);
	hostplat_fini(&env.hp);
}

/* 1000 one-page mappings, every other one unmapped and purged: holes. */
static struct vtlmem_mapping *lm[2000];
static struct base_map *bm[2000];
static bool fragmented;

static void fragment(void)
{
	struct vtlmem_map_req r = { .npages = 1, .prot = VTLMEM_PROT_RW };
	vtlmem_vaddr_t va;
	int i;

	for (i = 0; i < 2000; i++) {
		r.pages = &env.pages[ROT + MAXP - 1];
		r.held = env.held;
		r.prot = VTLMEM_PROT_RO;
		if (env.own) {
			/* shared-read reservations may overlap each other */
			r.held.id = 0;
		}
		if (vtlmem_vmap_map(env.vm, &r, &lm[i], &va))
			abort();
		bm[i] = base_vmap(&env.base, &env.pages[ROT + MAXP - 1], 1, false, NULL);
	}
	for (i = 0; i < 2000; i += 2) {
		vtlmem_vmap_unmap(env.vm, lm[i]);
		base_vunmap(&env.base, bm[i], NULL);
	}
	vtlmem_vmap_purge(env.vm);
	fragmented = true;
}

static void unfragment(void)
{
	int i;

	for (i = 1; fragmented && i < 2000; i += 2) {
		vtlmem_vmap_unmap(env.vm, lm[i]);
		base_vunmap(&env.base, bm[i], NULL);
	}
	fragmented = false;
}

/* ---- the measured operations -------------------------------------------------- */

/*
 * Successive maps take successive pages (a quarantined mapping keeps its
 * own reservation until the purge, so its pages cannot be mapped RW again
 * before that).
 */
static const vtlmem_paddr_t *next_pages(size_t n)
{
	const vtlmem_paddr_t *p = &env.pages[env.cur];

	env.cur = (env.cur + n) % ROT;
	return p;
}

static void lib_op(size_t n)
{
	struct vtlmem_map_req r = { .pages = next_pages(n), .npages = n, .prot = VTLMEM_PROT_RW,
				    .held = env.held };
	struct vtlmem_mapping *m;
	vtlmem_vaddr_t va;

	if (vtlmem_vmap_map(env.vm, &r, &m, &va) || vtlmem_vmap_unmap(env.vm, m))
		abort();
}

/*
 * n pages, every other one (n runs of one page each, all under the held
 * reservation), rotating like next_pages().
 */
static const vtlmem_paddr_t *scattered_pages(size_t n)
{
	static vtlmem_paddr_t scat[MAXP];
	const vtlmem_paddr_t *p = next_pages(n);
	size_t i, at = (size_t)(p - env.pages);

	for (i = 0; i < n; i++)
		scat[i] = env.pages[(at + 2 * i) % (ROT + MAXP)];
	return scat;
}

static void lib_scattered_op(size_t n)
{
	struct vtlmem_map_req r = { .pages = scattered_pages(n), .npages = n,
				    .prot = VTLMEM_PROT_RW, .held = env.held };
	struct vtlmem_mapping *m;
	vtlmem_vaddr_t va;

	if (vtlmem_vmap_map(env.vm, &r, &m, &va) || vtlmem_vmap_unmap(env.vm, m))
		abort();
}

static void base_scattered_op(size_t n)
{
	const vtlmem_paddr_t *p = scattered_pages(n);

	base_vunmap(&env.base, base_vmap(&env.base, p, n, env.own, &env.rt), &env.rt);
}

static void base_op(size_t n)
{
	const vtlmem_paddr_t *p = next_pages(n);

	base_vunmap(&env.base, base_vmap(&env.base, p, n, env.own, &env.rt), &env.rt);
}

/* The loop callgrind counts (--toggle-collect=measured_loop). */
__attribute__((noinline)) void measured_loop(void (*op)(size_t), size_t n, long iters);
__attribute__((noinline)) void measured_loop(void (*op)(size_t), size_t n, long iters)
{
	long i;

	for (i = 0; i < iters; i++)
		op(n);
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median over ROUNDS of the time per page. */
/*
 * Warm-up, not counted by callgrind. (Not the same code as measured_loop:
 * the compiler would fold the two into one symbol.)
 */
static volatile long warm_ops;

__attribute__((noinline)) static void warm_loop(void (*op)(size_t), size_t n, long iters)
{
	long i;

	for (i = 0; i < iters; i++) {
		op(n);
		warm_ops++;
	}
}

static double time_per_page(void (*op)(size_t), size_t n, long iters)
{
	double t[ROUNDS], t0;
	int k;

	warm_loop(op, n, iters / 4 + 1);   /* warm: tables, caches, pools */
	for (k = 0; k < ROUNDS; k++) {
		t0 = now_ns();
		measured_loop(op, n, iters);
		t[k] = (now_ns() - t0) / ((double)iters * (double)n);
	}
	qsort(t, ROUNDS, sizeof(t[0]), cmp_d);
	return t[ROUNDS / 2];
}

static long iters_for(size_t n)
{
	return n == 1 ? 20000 : n == 16 ? 4000 : 200;
}

/* Measured 1-page times (held, clean window), for the model line. */
static double lib1_ns, base1_ns;

static void table(bool own, bool frag)
{
	static const size_t sizes[] = { 1, 16, 512 };
	size_t k;

	env_init(own);
	if (frag)
		fragment();
	printf("  %s, %s window\n", own ? "own reservation per map (both)"
				       : "held reservation (library checks it, baseline takes none)",
	       frag ? "fragmented" : "clean");
	printf("    pages   library ns/page   baseline ns/page   baseline/library\n");
	for (k = 0; k < 3; k++) {
		double l = time_per_page(lib_op, sizes[k], iters_for(sizes[k]));
		double b;

		vtlmem_vmap_purge(env.vm);   /* release its pages for the baseline */
		b = time_per_page(base_op, sizes[k], iters_for(sizes[k]));

		printf("    %5zu   %15.1f   %16.1f   %16.2f\n", sizes[k], l, b, b / l);
		if (!own && !frag && sizes[k] == 1) {
			lib1_ns = l;
			base1_ns = b;
		}
	}
	env_fini();
}

/* Shootdowns, local invalidations and allocations per 1000 1-page cycles. */
#define IPI_NS 2000.0   /* assumed cost of one remote shootdown (model only) */

static void counts(void)
{
	unsigned long sd0, lc0, al0;
	double lsd, bsd;
	const long n = 100000;

	env_init(false);
	warm_loop(lib_op, 1, 1000);
	sd0 = env.hp.shootdowns;
	lc0 = env.hp.tlb_local_calls;
	al0 = env.hp.allocs;
	measured_loop(lib_op, 1, n);
	printf("  per 1000 single-page vmap+vunmap (default purge threshold 512 pages):\n");
	lsd = (double)(env.hp.shootdowns - sd0) / n;
	printf("    library:  %6.1f remote shootdowns, %6.1f local invalidation calls, "
	       "%6.2f platform allocations\n",
	       (double)(env.hp.shootdowns - sd0) * 1000 / n,
	       (double)(env.hp.tlb_local_calls - lc0) * 1000 / n,
	       (double)(env.hp.allocs - al0) * 1000 / n);
	sd0 = env.hp.shootdowns;
	lc0 = env.hp.tlb_local_calls;
	al0 = env.hp.allocs;
	measured_loop(base_op, 1, n);
	bsd = (double)(env.hp.shootdowns - sd0) / n;
	printf("    baseline: %6.1f remote shootdowns, %6.1f local invalidation calls, "
	       "%6.2f platform allocations\n",
	       (double)(env.hp.shootdowns - sd0) * 1000 / n,
	       (double)(env.hp.tlb_local_calls - lc0) * 1000 / n,
	       (double)(env.hp.allocs - al0) * 1000 / n);
	printf("  MODEL (not measured): charging %.0f ns per remote shootdown (an IPI round\n"
	       "  trip; the host op is a counter), 1-page vmap+vunmap, held: library %.0f ns,\n"
	       "  baseline %.0f ns, baseline/library %.1f\n", IPI_NS, lib1_ns + lsd * IPI_NS,
	       base1_ns + bsd * IPI_NS, (base1_ns + bsd * IPI_NS) / (lib1_ns + lsd * IPI_NS));
	env_fini();
}

/* ---- phases for callgrind ------------------------------------------------------------ */

struct phase {
	const char *name;
	void (*op)(size_t);
	size_t n;
	bool own, frag;
};

static const struct phase phases[] = {
	{ "library  1 page, held", lib_op, 1, false, false },
	{ "library  16 pages, held", lib_op, 16, false, false },
	{ "library  512 pages, held", lib_op, 512, false, false },
	{ "baseline 1 page", base_op, 1, false, false },
	{ "baseline 16 pages", base_op, 16, false, false },
	{ "baseline 512 pages", base_op, 512, false, false },
	{ "library  1 page, own reservation", lib_op, 1, true, false },
	{ "baseline 1 page, reservation", base_op, 1, true, false },
	{ "library  16 pages, held, fragmented", lib_op, 16, false, true },
	{ "baseline 16 pages, fragmented", base_op, 16, false, true },
	{ "library  512 pages, held, scattered (512 runs)", lib_scattered_op, 512, false, false },
	{ "baseline 512 pages, scattered", base_scattered_op, 512, false, false },
};

#define NPHASES (sizeof(phases) / sizeof(phases[0]))

#define WARM 600

static int run_phase(unsigned k)
{
	const struct phase *ph;
	long iters;

	if (k < 1 || k > NPHASES) {
		fprintf(stderr, "bench_vmap: phase 1..%zu\n", NPHASES);
		return 1;
	}
	ph = &phases[k - 1];
	iters = iters_for(ph->n) / 4;
	env_init(ph->own);
	if (ph->frag)
		fragment();
	warm_loop(ph->op, ph->n, WARM);     /* warm: tables, pools, a purge cycle */
	measured_loop(ph->op, ph->n, iters);
	printf("phase %u: %s: iters %ld pages %zu -> instructions per page = Ir / %ld\n"
	       "  (with --toggle-collect=<a library function>, which also counts the %d\n"
	       "  warm-up iterations: Ir / %ld)\n", k,
	       ph->name, iters, ph->n, iters * (long)ph->n, WARM, (iters + WARM) * (long)ph->n);
	env_fini();
	return 0;
}

int main(int argc, char **argv)
{
	unsigned k;

	if (argc == 3 && !strcmp(argv[1], "phase"))
		return run_phase((unsigned)atoi(argv[2]));
	printf("bench_vmap: vmap + vunmap per page, host platform (flush ops are counters)\n");
	table(false, false);
	table(true, false);
	table(false, true);
	counts();
	printf("  phases for callgrind (bench_vmap phase N):");
	for (k = 0; k < NPHASES; k++)
		printf("%s %u = %s", k ? ";" : "", k + 1, phases[k].name);
	printf("\n");
	return 0;
}
