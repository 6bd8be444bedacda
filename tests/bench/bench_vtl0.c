/* SPDX-License-Identifier: MIT */
/*
 * bench_vtl0: end-to-end VTL0 accesses against a plain memcpy of the same
 * bytes in the same process. For 8 B, 72 B (an SMC argument block), 4 KiB
 * and 64 KiB reads and writes, and an 80-byte log-ring write, prints the
 * median time per call of the library path and of memcpy between the same
 * memory (the simulated physical page through the direct map and a host
 * buffer), their ratio (goals below), and per call: platform
 * heap allocations (goal 0), local TLB invalidations, remote shootdowns.
 * Never fails on timing.
 *
 * Platform ops: kernel-like ones (lean_ops below: a bounds-check
 * ownership op, no-op preemption, a counting TLB op), so the times are the
 * library's, not the test platform's instrumentation.
 *
 * Statistics: each round times one loop of library calls and one loop of
 * memcpy calls (~2 ms each), alternating; the table shows the fastest round
 * of each (robust against other load on the machine: interference only
 * ever adds time) and their ratio, then the ratio of the medians.
 *
 * Paths measured:
 *   vtl0        vtlmem_vtl0_read/write: claim (or reserve), per-CPU slot
 *               map (2 pages at a time), copy, unmap, release; one call,
 *               nothing kept.
 *   pp-persist  vtlmem_physptr_read/write_slice on a handle created with a
 *               persistent mapping: a bounds check and one copy.
 *   pp-window   (64 KiB) create a physptr without VTLMEM_PHYSPTR_SLOTS,
 *               read through one window mapping, destroy: the alternative
 *               to slot chunks the vtl0 calls do not take (see the report).
 *   ring        vtlmem_ring_write of 80 B into a mapped ring.
 *   memcpy+1 lock  the floor of a reserved one-shot read: memcpy plus
 *               one uncontended lock/unlock pair (the claim bucket's) and
 *               the release store, no other work.
 *
 * The host MMU. On the host, changing what a VA maps costs the mirror a
 * syscall and a signal, which is not what a kernel pays (a PTE write and an
 * invlpg), so the bench runs the mirror as a TLB that is never invalidated:
 * the resolver fills a page on first touch and the platform's invalidation
 * hooks are detached. The library still writes and clears every PTE and
 * calls the TLB op (counted, printed per call: add the CPU's invlpg cost to
 * the library time). Where every call maps the same pages at the same VAs
 * (all but the 64 KiB slot path) the bytes are verified after the timing;
 * the 64 KiB slot path maps 8 different page pairs at the same 2 slot VAs,
 * so with invalidations detached its copies all hit the first pair (timing
 * of the copy right, cache footprint 8 KiB instead of 64 KiB, bytes not
 * verified; the unit tests verify them with the strict mirror).
 *
 *   litebox     a LiteBox-style per-access model: heap page vector, a
 *               window mapping at a fresh VA with its own reservation, the
 *               copy, unmap and a flush on every CPU per unmap.
 *
 * Usage: bench_vtl0               timing table
 *        bench_vtl0 threads       one-shot reads on distinct pages, 2
 *                                 threads against 1 (throughput)
 *        bench_vtl0 count NAME N  run op NAME N times after a warm-up, for
 *                                 valgrind --tool=callgrind
 *                                 --toggle-collect=measured_loop
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vtlmem/copy.h>
#include <vtlmem/vtl0.h>
#include "mutexops.h"
#include "vtl0env.h"

#define PG VTLMEM_PAGE_SIZE
#define ROUNDS 15
#define RING_SIZE (16 * PG - VTLMEM_RING_HDR_SIZE)

static struct vtl0env env;
#define E (&env)

static void *(*volatile libc_copy)(void *, const void *, size_t) = memcpy;

/* Buffers and handles the ops use. */
static uint8_t *hbuf;                      /* host (caller) buffer, 64 KiB  */
static struct vtlmem_physptr pp;           /* persistent, over 16 pages    */
static struct vtlmem_ring ring;
static vtlmem_paddr_t ring_pages[16];
static uint64_t src_pa;                    /* 16 pages, VTL0               */
static uint64_t pp_pa;                     /* 16 pages under pp            */
static uint64_t win_pa;                    /* 16 pages for the window path */

/* Where an access of len bytes goes: SMC blocks mid-page, the rest aligned. */
static uint64_t off_for(size_t len)
{
	return len == 72 ? 200 : len == 8 ? 1000 : 0;
}

typedef int (*op_fn)(size_t len);

static int op_memcpy_read(size_t len)
{
	libc_copy(hbuf, vtl0env_dm(E, src_pa + off_for(len)), len);
	return 0;
}

static int op_memcpy_write(size_t len)
{
	libc_copy(vtl0env_dm(E, src_pa + off_for(len)), hbuf, len);
	return 0;
}

static int op_vtl0_read(size_t len)
{
	size_t done;

	return vtlmem_vtl0_read(&E->ctx, vtlmem_pa(src_pa + off_for(len)), hbuf, len, &done);
}

static int op_vtl0_write(size_t len)
{
	size_t done;

	return vtlmem_vtl0_write(&E->ctx, vtlmem_pa(src_pa + off_for(len)), hbuf, len, &done);
}

static int op_pp_read(size_t len)
{
	size_t done;

	return vtlmem_physptr_read_slice(&pp, off_for(len), len, hbuf, &done);
}

static int op_pp_write(size_t len)
{
	size_t done;

	return vtlmem_physptr_write_slice(&pp, off_for(len), len, hbuf, &done);
}

static int op_memcpy_pp_read(size_t len)
{
	libc_copy(hbuf, vtl0env_dm(E, pp_pa + off_for(len)), len);
	return 0;
}

static int op_memcpy_pp_write(size_t len)
{
	libc_copy(vtl0env_dm(E, pp_pa + off_for(len)), hbuf, len);
	return 0;
}

static const struct vtlmem_physptr_attr win_attr = {
	.elem_size = 1, .prot = VTLMEM_PROT_RO, .cache = VTLMEM_CACHE_WB, .flags = 0,
};

static int op_window_read(size_t len)
{
	struct vtlmem_physptr h;
	size_t done;
	int ret;

	ret = vtlmem_physptr_create_contig(&h, &E->rt, E->vm, vtlmem_pa(win_pa), len, &win_attr);
	if (ret)
		return ret;
	ret = vtlmem_physptr_read_slice(&h, 0, len, hbuf, &done);
	if (vtlmem_physptr_destroy(&h))
		return -1;
	return ret;
}

static int op_memcpy_window_read(size_t len)
{
	libc_copy(hbuf, vtl0env_dm(E, win_pa), len);
	return 0;
}

/*
 * A LiteBox-style per-access model (the shape of LiteBox's vmap path): a
 * page vector on the heap, a fresh VA for every access (a window mapping
 * that takes its own reservation), the copy, the unmap, and a flush of the
 * unmapped VA on every CPU per unmap (vtlmem_vmap_purge: local invalidation
 * plus the shootdown op), then the vector freed.
 */
static int op_litebox_read(size_t len)
{
	size_t off = off_for(len), n = (off + len + PG - 1) / PG, i;
	vtlmem_paddr_t *pages = malloc(n * sizeof(*pages));
	struct vtlmem_map_req req = { .npages = n, .prot = VTLMEM_PROT_RO,
				      .cache = VTLMEM_CACHE_WB };
	struct vtlmem_mapping *m;
	vtlmem_vaddr_t va;
	int ret;

	if (!pages)
		return -1;
	for (i = 0; i < n; i++)
		pages[i] = vtlmem_pa(win_pa + i * PG);
	req.pages = pages;
	ret = vtlmem_vmap_map(E->vm, &req, &m, &va);
	if (!ret) {
		ret = vtlmem_copy(hbuf, (const void *)(vtlmem_va_val(va) + off), len) ? -1 : 0;
		if (vtlmem_vmap_unmap(E->vm, m) || vtlmem_vmap_purge(E->vm))
			ret = -1;
	}
	free(pages);
	return ret;
}

static int op_ring_write(size_t len)
{
	size_t done;

	return vtlmem_ring_write(&ring, hbuf, len, &done);
}

static int op_memcpy_ring(size_t len)
{
	/* the same bytes into the ring's pages, at a moving offset like the ring's */
	static uint64_t at;

	if (at + len > RING_SIZE)
		at = 0;
	libc_copy(vtl0env_dm(E, vtlmem_pa_val(ring_pages[0]) + 64 + (at % (PG - 64 - len))), hbuf,
		  len);
	at += len;
	return 0;
}

/*
 * The contract's floor for a one-shot read: every access is reserved, and
 * a reservation that other CPUs can see costs the claim bucket's lock at
 * the claim (an uncontended exchange, then a release store; the release
 * of the claim is one more release store). This row is memcpy plus just
 * that on a line of its own: what a one-shot read costs with zero other
 * library instructions.
 */
static struct {
	_Alignas(128) unsigned lock;
} floor_line;

static int op_floor_read(size_t len)
{
	while (__atomic_exchange_n(&floor_line.lock, 1, __ATOMIC_ACQUIRE))
		;
	__atomic_store_n(&floor_line.lock, 0, __ATOMIC_RELEASE);
	libc_copy(hbuf, vtl0env_dm(E, src_pa + off_for(len)), len);
	__atomic_store_n(&floor_line.lock, 0, __ATOMIC_RELEASE);   /* the claim's release */
	return 0;
}

struct row {
	const char *name;
	size_t len;
	op_fn lib, base;
	bool verify_read, verify_write;
	uint64_t pa;            /* where verified bytes live */
};

static const struct row rows[] = {
	{ "read vtl0", 8, op_vtl0_read, op_memcpy_read, true, false, 0 },
	{ "read vtl0", 72, op_vtl0_read, op_memcpy_read, true, false, 0 },
	{ "read vtl0", 4096, op_vtl0_read, op_memcpy_read, true, false, 0 },
	{ "read vtl0", 65536, op_vtl0_read, op_memcpy_read, false, false, 0 },
	{ "write vtl0", 8, op_vtl0_write, op_memcpy_write, false, true, 0 },
	{ "write vtl0", 72, op_vtl0_write, op_memcpy_write, false, true, 0 },
	{ "write vtl0", 4096, op_vtl0_write, op_memcpy_write, false, true, 0 },
	{ "write vtl0", 65536, op_vtl0_write, op_memcpy_write, false, false, 0 },
	{ "read pp-persist", 8, op_pp_read, op_memcpy_pp_read, true, false, 1 },
	{ "read pp-persist", 72, op_pp_read, op_memcpy_pp_read, true, false, 1 },
	{ "read pp-persist", 4096, op_pp_read, op_memcpy_pp_read, true, false, 1 },
	{ "read pp-persist", 65536, op_pp_read, op_memcpy_pp_read, true, false, 1 },
	{ "write pp-persist", 8, op_pp_write, op_memcpy_pp_write, false, true, 1 },
	{ "write pp-persist", 72, op_pp_write, op_memcpy_pp_write, false, true, 1 },
	{ "write pp-persist", 4096, op_pp_write, op_memcpy_pp_write, false, true, 1 },
	{ "write pp-persist", 65536, op_pp_write, op_memcpy_pp_write, false, true, 1 },
	{ "read pp-window", 65536, op_window_read, op_memcpy_window_read, true, false, 2 },
	{ "read litebox", 8, op_litebox_read, op_memcpy_window_read, true, false, 2 },
	{ "read litebox", 4096, op_litebox_read, op_memcpy_window_read, true, false, 2 },
	{ "read litebox", 65536, op_litebox_read, op_memcpy_window_read, true, false, 2 },
	{ "ring write", 80, op_ring_write, op_memcpy_ring, false, false, 0 },
	{ "memcpy+1 lock", 8, op_floor_read, op_memcpy_read, true, false, 0 },
	{ "memcpy+1 lock", 4096, op_floor_read, op_memcpy_read, true, false, 0 },
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* The loop callgrind collects in (--toggle-collect=measured_loop). */
__attribute__((noinline)) int measured_loop(op_fn fn, size_t len, long iters)
{
	long i;
	int bad = 0;

	for (i = 0; i < iters; i++)
		bad |= fn(len);
	return bad;
}

/* Warm-up outside what callgrind collects (not folded into measured_loop). */
static volatile long warm_calls;

__attribute__((noinline)) static int warm_loop(op_fn fn, size_t len, long iters)
{
	long i;
	int bad = 0;

	for (i = 0; i < iters; i++) {
		bad |= fn(len);
		warm_calls++;
	}
	return bad;
}

static double run(op_fn fn, size_t len, long iters)
{
	double t0 = now_ns();

	if (measured_loop(fn, len, iters)) {
		fprintf(stderr, "bench_vtl0: an operation failed\n");
		exit(1);
	}
	return (now_ns() - t0) / (double)iters;
}

static long calibrate(op_fn fn, size_t len)
{
	long iters = 16;

	while (run(fn, len, iters) * (double)iters < 2e6 && iters < (1l << 24))
		iters *= 2;
	return iters;
}

static uint64_t row_pa(const struct row *r)
{
	return (r->pa == 0 ? src_pa : r->pa == 1 ? pp_pa : win_pa) + off_for(r->len);
}

static bool verify(const struct row *r)
{
	if (r->verify_read)
		return memcmp(hbuf, vtl0env_dm(E, row_pa(r)), r->len) == 0;
	if (r->verify_write)
		return memcmp(vtl0env_dm(E, row_pa(r)), hbuf, r->len) == 0;
	return true;
}

static void no_tlb(void *ctx, uintptr_t va, uint64_t npages)
{
	(void)ctx;
	(void)va;
	(void)npages;
}

/*
 * The host platform counts ownership and preemption calls in shared atomic
 * counters (for the tests): from 2 threads those lines bounce between the
 * cores on every call, which no kernel's preempt_disable does. The
 * threaded run uses counter-free ops: every page is VTL0 (the bench only
 * touches VTL0 RAM), preemption is a no-op (each thread is its own CPU).
 */
static int own_vtl0(void *ctx, vtlmem_paddr_t pa, uint64_t len)
{
	(void)ctx;
	(void)pa;
	(void)len;
	return VTLMEM_OWNER_VTL0;
}

static unsigned long no_preempt_off(void *ctx)
{
	(void)ctx;
	return 1;
}

static void no_preempt_on(void *ctx, unsigned long cookie)
{
	(void)ctx;
	(void)cookie;
}

static void mutex_locks(struct vtlmem_platform *ops)
{
	mutexops_install(ops);
	ops->tlb_local = no_tlb;    /* hostplat's counting op is not thread-safe */
	ops->ownership = own_vtl0;
	ops->preempt_off = no_preempt_off;
	ops->preempt_on = no_preempt_on;
}

/*
 * Kernel-like ops for the single-threaded timing table: the ownership
 * question is a bounds check against VTL0 RAM, preemption is a no-op (one
 * CPU), the TLB op only counts (single-threaded: plain increments). The
 * test platform's own ops count every call in atomic counters and pass a
 * preemption point each time, which would be timed as library cost.
 * allocations and shootdowns are still hostplat's (counted per call).
 */
static int no_own_check(void *ctx, vtlmem_paddr_t pa, uint64_t len)
{
	const struct hostplat *hp = ctx;
	uint64_t a = vtlmem_pa_val(pa);

	if (a < hp->vtl0_start || len > hp->vtl0_end - a)
		return VTLMEM_OWNER_SECURE;
	return VTLMEM_OWNER_VTL0;
}

static void no_tlb_count(void *ctx, uintptr_t va, uint64_t npages)
{
	struct hostplat *hp = ctx;

	(void)va;
	if (npages)
		hp->tlb_local_pages += npages;
	else
		hp->tlb_local_all++;
}

static void lean_ops(struct vtlmem_platform *ops)
{
	ops->ownership = no_own_check;
	ops->preempt_off = no_preempt_off;
	ops->preempt_on = no_preempt_on;
	ops->tlb_local = no_tlb_count;
}

static bool threaded;

static void setup(void)
{
	struct vtlmem_physptr_attr a = {
		.elem_size = 1, .prot = VTLMEM_PROT_RW, .cache = VTLMEM_CACHE_WB,
		.flags = VTLMEM_PHYSPTR_PERSISTENT,
	};
	unsigned i;

	if (threaded) {
		vtl0env_init_with(E, 8, mutex_locks);
		hostmmu_mirror_shared(&E->mmu);
	} else {
		vtl0env_init_with(E, 8, lean_ops);
	}
	/* a TLB that is never invalidated (see the top of the file) */
	E->hp.on_tlb_local = NULL;
	E->hp.on_shootdown = NULL;
	src_pa = vtl0env_pa(100);
	pp_pa = vtl0env_pa(200);
	win_pa = vtl0env_pa(300);
	for (i = 0; i < 16; i++)
		ring_pages[i] = vtl0env_page(400 + i);
	hbuf = aligned_alloc(PG, 16 * PG);
	if (!hbuf)
		exit(1);
	for (i = 0; i < 16 * PG; i++) {
		hbuf[i] = (uint8_t)(i * 7 + 1);
		vtl0env_dm(E, src_pa)[i] = (uint8_t)(i * 13 + 5);
		vtl0env_dm(E, win_pa)[i] = (uint8_t)(i * 17 + 3);
	}
	if (vtlmem_physptr_create_contig(&pp, &E->rt, E->vm, vtlmem_pa(pp_pa), 16 * PG, &a) ||
	    vtlmem_ring_init(&ring, &E->ctx, ring_pages, 16, RING_SIZE)) {
		fprintf(stderr, "bench_vtl0: setup failed\n");
		exit(1);
	}
}

static void teardown(void)
{
	vtlmem_ring_fini(&ring);
	vtlmem_physptr_destroy(&pp);
	if (vtl0env_fini(E))
		fprintf(stderr, "bench_vtl0: teardown found leaks\n");
	free(hbuf);
}

static const struct row *find_row(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < NROWS; i++)
		if (strcmp(rows[i].name, name) == 0 && rows[i].len == len)
			return &rows[i];
	return NULL;
}

/* bench_vtl0 count "NAME" LEN N: for callgrind. */
static int count_mode(int argc, char **argv)
{
	const struct row *r;
	long n;

	if (argc != 5)
		return 2;
	r = find_row(argv[2], strtoul(argv[3], NULL, 0));
	n = strtol(argv[4], NULL, 0);
	if (!r || n <= 0)
		return 2;
	setup();
	warm_loop(r->lib, r->len, 64);   /* warm-up: caches, first fills (not collected) */
	if (measured_loop(r->lib, r->len, n))
		return 1;
	printf("%s %zu: %ld calls\n", r->name, r->len, n);
	teardown();
	return 0;
}

/* ---- one-shot reads from 2 threads vs 1 ---- */

struct tjob {
	unsigned cpu;
	size_t len;
	long iters;
	int bad;
	pthread_t t;
};

static void *reader(void *arg)
{
	struct tjob *j = arg;
	uint64_t pa = vtl0env_pa(600 + 8 * j->cpu) + (j->len < PG ? 1000 : 0);
	size_t len = j->len, done;
	uint8_t *buf = malloc(len);
	long i, n = j->iters;
	int bad = !buf;

	/* locals only in the loop: the jobs share a cache line */
	hostplat_set_cpu(j->cpu);
	for (i = 0; buf && i < n; i++)
		bad |= vtlmem_vtl0_read(&E->ctx, vtlmem_pa(pa), buf, len, &done);
	free(buf);
	j->bad = bad;
	return NULL;
}

/* Calls per second of nthreads readers on distinct pages (best of rounds). */
static double throughput(unsigned nthreads, size_t len, long iters)
{
	struct tjob j[2];
	double best = 0, t0, r;
	unsigned i;
	int round;

	for (round = 0; round < 7; round++) {
		t0 = now_ns();
		for (i = 0; i < nthreads; i++) {
			j[i] = (struct tjob){ .cpu = i, .len = len, .iters = iters };
			if (pthread_create(&j[i].t, NULL, reader, &j[i]))
				exit(1);
		}
		for (i = 0; i < nthreads; i++) {
			pthread_join(j[i].t, NULL);
			if (j[i].bad) {
				fprintf(stderr, "bench_vtl0: a threaded read failed\n");
				exit(1);
			}
		}
		r = (double)iters * nthreads / ((now_ns() - t0) * 1e-9);
		if (r > best)
			best = r;
	}
	return best;
}

/*
 * bench_vtl0 threads: one-shot reads on distinct pages from 2 threads (2
 * simulated CPUs, pthread-mutex lock ops) against 1 thread, calls per
 * second, best of 7 rounds each. Goal: >= 1.7x. Only meaningful with 2 idle
 * host CPUs; a loaded machine lowers the 2-thread figure.
 */
static int threads_mode(void)
{
	static const size_t lens[] = { 8, 4096 };
	double one, two;
	unsigned k;

	threaded = true;
	setup();
	printf("one-shot vtl0_read on distinct pages, calls/s (best of 7 rounds)\n");
	printf("%7s %12s %12s %8s\n", "bytes", "1 thread", "2 threads", "2/1");
	for (k = 0; k < 2; k++) {
		long iters = lens[k] < PG ? 200000 : 50000;

		throughput(1, lens[k], iters / 10);   /* warm-up */
		one = throughput(1, lens[k], iters);
		two = throughput(2, lens[k], iters);
		printf("%7zu %12.0f %12.0f %7.2fx  (goal >= 1.7x)\n", lens[k], one, two, two / one);
	}
	teardown();
	return 0;
}

int main(int argc, char **argv)
{
	double tl[ROUNDS], tb[ROUNDS];
	unsigned long a0, f0, s0;
	size_t i;
	long it, k, calls;
	int j;

	if (argc > 1 && strcmp(argv[1], "count") == 0)
		return count_mode(argc, argv);
	if (argc > 1 && strcmp(argv[1], "threads") == 0)
		return threads_mode();
	setup();
	printf("bench_vtl0: ns per call, fastest of %d rounds; ratio = library / memcpy of the "
	       "same bytes (med: ratio of the medians); per call: allocs, local TLB "
	       "invalidations, remote shootdowns\n", ROUNDS);
	printf("%-18s %7s %9s %9s %6s %6s %7s %6s %7s %s\n", "path", "bytes", "lib ns", "memcpy ns",
	       "ratio", "med", "allocs", "inval", "shootdn", "bytes ok");
	for (i = 0; i < NROWS; i++) {
		const struct row *r = &rows[i];

		measured_loop(r->lib, r->len, 64);
		it = calibrate(r->lib, r->len);
		k = calibrate(r->base, r->len);
		a0 = E->hp.allocs;
		f0 = E->hp.tlb_local_pages + E->hp.tlb_local_all;
		s0 = E->hp.shootdowns;
		calls = 0;
		for (j = 0; j < ROUNDS; j++) {
			tl[j] = run(r->lib, r->len, it);
			calls += it;
			tb[j] = run(r->base, r->len, k);
		}
		qsort(tl, ROUNDS, sizeof(double), cmp_double);
		qsort(tb, ROUNDS, sizeof(double), cmp_double);
		/* the last library call decides what the verified bytes are */
		run(r->lib, r->len, 1);
		printf("%-18s %7zu %9.1f %9.1f %6.2f %6.2f %7.3f %6.2f %7.4f %s\n", r->name, r->len,
		       tl[0], tb[0], tl[0] / tb[0], tl[ROUNDS / 2] / tb[ROUNDS / 2],
		       (double)(E->hp.allocs - a0) / (double)calls,
		       (double)(E->hp.tlb_local_pages + E->hp.tlb_local_all - f0) / (double)calls,
		       (double)(E->hp.shootdowns - s0) / (double)calls,
		       (r->verify_read || r->verify_write) ? (verify(r) ? "yes" : "NO") : "n/a");
	}
	printf("goals (issue 12): read vtl0 4 KiB ratio <= 1.5, 8 B <= 60 ns; persistent 4 KiB "
	       "ratio <= 1.1; allocations per call 0 (see the vtl0 rows)\n");
	printf("memcpy+1 lock: memcpy plus the claim's uncontended lock/unlock pair and release "
	       "store, nothing else: the floor of a reserved one-shot read\n");
	teardown();
	return 0;
}
