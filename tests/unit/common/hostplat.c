/* SPDX-License-Identifier: MIT */
#include "hostplat.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG VTLMEM_PAGE_SIZE

static __thread unsigned cur_cpu;
static __thread unsigned preempt_depth;
static void (*cpu_hook)(unsigned from, unsigned to);

void hostplat_set_cpu(unsigned cpu)
{
	void (*fn)(unsigned, unsigned) = __atomic_load_n(&cpu_hook, __ATOMIC_ACQUIRE);
	unsigned from = cur_cpu;

	if (cpu == from)
		return;
	cur_cpu = cpu;
	if (fn)
		fn(from, cpu);
}

unsigned hostplat_get_cpu(void) { return cur_cpu; }

void hostplat_set_cpu_hook(void (*fn)(unsigned from, unsigned to))
{
	__atomic_store_n(&cpu_hook, fn, __ATOMIC_RELEASE);
}

unsigned hostplat_preempt_depth(void) { return preempt_depth; }

static void die(const char *what)
{
	perror(what);
	abort();
}

/* ---- simulated SMP ---- */

/* The seed in use, printed if the process fails (0 and unset: none). */
static unsigned long last_seed;
static int seed_printed_at_exit;

static void print_seed_on_failure(int status, void *arg)
{
	(void)arg;
	if (status)
		fprintf(stderr, "hostplat: simulated SMP was on, last seed %lu (a suite run "
			"with VTLMEM_TEST_SMP=%lu repeats the same CPU switches)\n", last_seed,
			last_seed);
}

bool hostplat_smp_env(unsigned long *seed)
{
	const char *v = getenv("VTLMEM_TEST_SMP");
	char *end;

	if (!v || !*v)
		return false;
	*seed = strtoul(v, &end, 10);
	if (*end) {
		fprintf(stderr, "hostplat: VTLMEM_TEST_SMP=%s is not a decimal seed\n", v);
		abort();
	}
	return true;
}

/* splitmix64: a deterministic stream from any seed (0 included). */
static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void hostplat_smp(struct hostplat *hp, unsigned ncpus, unsigned long seed)
{
	if (ncpus == 0) {
		fprintf(stderr, "hostplat_smp: 0 CPUs\n");
		abort();
	}
	hp->ops.ncpus = ncpus;
	hp->smp = true;
	hp->smp_ncpus = ncpus;
	hp->smp_seed = seed;
	hp->smp_rng = seed;
	hp->smp_owner = (unsigned long)pthread_self();
	hp->smp_pin = 0;
	hp->smp_points = 0;
	hp->smp_switches = 0;
	last_seed = seed;
	if (!seed_printed_at_exit) {
		seed_printed_at_exit = 1;
		on_exit(print_seed_on_failure, NULL);
	}
}

void hostplat_smp_off(struct hostplat *hp)
{
	hp->smp = false;
}

void hostplat_pin(struct hostplat *hp)
{
	hp->smp_pin++;
}

void hostplat_unpin(struct hostplat *hp)
{
	if (hp->smp_pin <= 0) {
		fprintf(stderr, "hostplat_unpin without hostplat_pin\n");
		abort();
	}
	hp->smp_pin--;
}

/*
 * A preemption point: an op called with preemption on (or preempt_on going
 * back to 0). In SMP mode, on the owner thread, unpinned: move the current
 * CPU to a random one (possibly the same).
 */
static void preemption_point(struct hostplat *hp)
{
	unsigned cpu;

	if (!hp->smp || preempt_depth || hp->smp_pin ||
	    !pthread_equal(pthread_self(), (pthread_t)hp->smp_owner))
		return;
	hp->smp_points++;
	cpu = (unsigned)(rng_next(&hp->smp_rng) % hp->smp_ncpus);
	if (cpu != cur_cpu)
		hp->smp_switches++;
	hostplat_set_cpu(cpu);
}

void hostplat_preemption_point(struct hostplat *hp)
{
	preemption_point(hp);
}

/* Returns true when the N-th call from arming has come (then disarms). */
static bool inject(long *at)
{
	long v = __atomic_load_n(at, __ATOMIC_RELAXED);

	if (v <= 0)
		return false;
	if (__atomic_sub_fetch(at, 1, __ATOMIC_RELAXED) == 0)
		return true;
	return false;
}

static void *hp_alloc(void *ctx, size_t size)
{
	struct hostplat *hp = ctx;
	void *p;

	preemption_point(hp);

	if (inject(&hp->fail_alloc_at)) {
		__atomic_add_fetch(&hp->alloc_fails, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	p = malloc(size ? size : 1);
	if (!p)
		die("malloc");
	memset(p, 0xa5, size);  /* the library must not rely on zeroed memory */
	__atomic_add_fetch(&hp->allocs, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&hp->alloc_live, 1, __ATOMIC_RELAXED);
	return p;
}

static void hp_free(void *ctx, void *p, size_t size)
{
	struct hostplat *hp = ctx;

	preemption_point(hp);

	(void)size;
	if (!p)
		return;
	free(p);
	__atomic_add_fetch(&hp->frees, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&hp->alloc_live, 1, __ATOMIC_RELAXED);
}

/* Page-table pages are only allocated under the vmap lock: no atomics. */
static void *hp_pt_alloc(void *ctx, vtlmem_paddr_t *pa)
{
	struct hostplat *hp = ctx;
	uint64_t a;

	preemption_point(hp);

	if (inject(&hp->fail_pt_at) || hp->pt_nfree == 0) {
		hp->pt_fails++;
		return NULL;
	}
	a = hp->pt_free_stack[--hp->pt_nfree];
	hp->pt_used[(a - HOSTPLAT_PT_BASE) / PG] = 1;
	memset(hp->phys + a, 0, PG);
	hp->pt_allocs++;
	hp->pt_live++;
	*pa = vtlmem_pa(a);
	return hp->phys + a;
}

static void hp_pt_free(void *ctx, void *va, vtlmem_paddr_t pa)
{
	struct hostplat *hp = ctx;
	uint64_t a = vtlmem_pa_val(pa);

	preemption_point(hp);

	if (a < HOSTPLAT_PT_BASE || a >= HOSTPLAT_PT_END || (a & (PG - 1)) ||
	    va != hp->phys + a || !hp->pt_used[(a - HOSTPLAT_PT_BASE) / PG]) {
		fprintf(stderr, "hostplat: bad pt_free pa=%#llx va=%p\n", (unsigned long long)a, va);
		abort();
	}
	hp->pt_used[(a - HOSTPLAT_PT_BASE) / PG] = 0;
	memset(hp->phys + a, 0x5a, PG);  /* catch use after free */
	hp->pt_free_stack[hp->pt_nfree++] = a;
	hp->pt_frees++;
	hp->pt_live--;
}

static void *hp_pt_phys_to_virt(void *ctx, vtlmem_paddr_t pa)
{
	struct hostplat *hp = ctx;
	uint64_t a = vtlmem_pa_val(pa);

	preemption_point(hp);

	if (a < HOSTPLAT_PT_BASE || a >= HOSTPLAT_PT_END) {
		fprintf(stderr, "hostplat: pt_phys_to_virt of non-table pa %#llx\n",
			(unsigned long long)a);
		abort();
	}
	return hp->phys + a;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int hp_ownership(void *ctx, vtlmem_paddr_t pa, uint64_t len)
{
	struct hostplat *hp = ctx;
	uint64_t a = vtlmem_pa_val(pa);
	unsigned i;

	preemption_point(hp);

	__atomic_add_fetch(&hp->ownership_calls, 1, __ATOMIC_RELAXED);
	if (a < hp->vtl0_start || len > hp->vtl0_end - hp->vtl0_start ||
	    a - hp->vtl0_start > hp->vtl0_end - hp->vtl0_start - len)
		return VTLMEM_OWNER_SECURE;
	for (i = 0; i < hp->nsecure; i++)
		if (overlaps(a, len, vtlmem_pa_val(hp->secure[i].pa), hp->secure[i].len))
			return VTLMEM_OWNER_SECURE;
	return VTLMEM_OWNER_VTL0;
}

static int hp_protect(void *ctx, vtlmem_paddr_t pa, enum vtlmem_prot prot)
{
	struct hostplat *hp = ctx;

	preemption_point(hp);

	(void)pa;
	(void)prot;
	if (inject(&hp->fail_protect_at))
		return -VTLMEM_EIO;
	__atomic_add_fetch(&hp->protects, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&hp->protected_live, 1, __ATOMIC_RELAXED);
	return 0;
}

static int hp_unprotect(void *ctx, vtlmem_paddr_t pa)
{
	struct hostplat *hp = ctx;

	preemption_point(hp);

	(void)pa;
	__atomic_add_fetch(&hp->unprotects, 1, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&hp->protected_live, 1, __ATOMIC_RELAXED);
	return 0;
}

static void hp_tlb_local(void *ctx, uintptr_t va, uint64_t npages)
{
	struct hostplat *hp = ctx;
	unsigned long n = __atomic_fetch_add(&hp->tlb_log_n, 1, __ATOMIC_RELAXED);

	preemption_point(hp);

	__atomic_add_fetch(&hp->tlb_local_calls, 1, __ATOMIC_RELAXED);
	if (npages)
		__atomic_add_fetch(&hp->tlb_local_pages, npages, __ATOMIC_RELAXED);
	else
		__atomic_add_fetch(&hp->tlb_local_all, 1, __ATOMIC_RELAXED);
	/* threads may share a ring slot after 256 events: atomic, last one wins */
	__atomic_store_n(&hp->tlb_log[n % HOSTPLAT_TLB_LOG].va, va, __ATOMIC_RELAXED);
	__atomic_store_n(&hp->tlb_log[n % HOSTPLAT_TLB_LOG].npages, npages, __ATOMIC_RELAXED);
	if (hp->on_tlb_local && !hp->skip_tlb_local)
		hp->on_tlb_local(hp, va, npages);
}

static int hp_shootdown(void *ctx, uintptr_t va, uint64_t len)
{
	struct hostplat *hp = ctx;

	preemption_point(hp);

	if (__atomic_load_n(&hp->fail_shootdowns, __ATOMIC_RELAXED) > 0) {
		__atomic_sub_fetch(&hp->fail_shootdowns, 1, __ATOMIC_RELAXED);
		__atomic_add_fetch(&hp->shootdown_fails, 1, __ATOMIC_RELAXED);
		return -VTLMEM_EIO;
	}
	__atomic_add_fetch(&hp->shootdowns, 1, __ATOMIC_RELAXED);
	hp->last_shootdown_va = va;
	hp->last_shootdown_len = len;
	if (hp->on_shootdown && !hp->skip_shootdown_invalidate)
		hp->on_shootdown(hp, va, len);
	return 0;
}

static unsigned hp_cpu_id(void *ctx)
{
	preemption_point(ctx);
	return cur_cpu;
}

static unsigned long hp_preempt_off(void *ctx)
{
	struct hostplat *hp = ctx;

	preemption_point(hp);
	preempt_depth++;
	__atomic_add_fetch(&hp->preempt_offs, 1, __ATOMIC_RELAXED);
	return 0x1234;
}

static void hp_preempt_on(void *ctx, unsigned long cookie)
{
	struct hostplat *hp = ctx;

	if (cookie != 0x1234) {
		fprintf(stderr, "hostplat: preempt_on with a foreign cookie %#lx\n", cookie);
		abort();
	}
	if (preempt_depth == 0) {
		fprintf(stderr, "hostplat: preempt_on with preemption on\n");
		abort();
	}
	__atomic_add_fetch(&hp->preempt_ons, 1, __ATOMIC_RELAXED);
	if (--preempt_depth == 0)
		preemption_point(hp);
}

void hostplat_init(struct hostplat *hp, uint64_t phys_size)
{
	unsigned long seed;
	uint64_t a;

	if (phys_size < (32ull << 20) || phys_size % (2ull << 20)) {
		fprintf(stderr, "hostplat: bad phys_size\n");
		abort();
	}
	memset(hp, 0, sizeof(*hp));
	hp->phys_size = phys_size;
	hp->memfd = memfd_create("vtlmem-phys", 0);
	if (hp->memfd < 0)
		die("memfd_create");
	if (ftruncate(hp->memfd, (off_t)phys_size))
		die("ftruncate");
	hp->phys = mmap(NULL, phys_size, PROT_READ | PROT_WRITE, MAP_SHARED, hp->memfd, 0);
	if (hp->phys == MAP_FAILED)
		die("mmap phys");

	hp->vtl0_start = HOSTPLAT_VTL0_BASE;
	hp->vtl0_end = phys_size;

	hp->pt_cap = (HOSTPLAT_PT_END - HOSTPLAT_PT_BASE) / PG;
	hp->pt_free_stack = malloc(hp->pt_cap * sizeof(uint64_t));
	hp->pt_used = calloc(hp->pt_cap, 1);
	if (!hp->pt_free_stack || !hp->pt_used)
		die("malloc");
	/* Hand out low addresses first (stack: push high to low). */
	for (a = HOSTPLAT_PT_END; a > HOSTPLAT_PT_BASE; a -= PG)
		hp->pt_free_stack[hp->pt_nfree++] = a - PG;

	hp->ops = (struct vtlmem_platform){
		.ctx = hp,
		.pa_bits = HOSTPLAT_PA_BITS,
		.allow_page0 = false,
		.pt_alloc = hp_pt_alloc,
		.pt_free = hp_pt_free,
		.pt_phys_to_virt = hp_pt_phys_to_virt,
		.ownership = hp_ownership,
		.protect = hp_protect,
		.unprotect = hp_unprotect,
		.tlb_local = hp_tlb_local,
		.tlb_shootdown = hp_shootdown,
		.ncpus = 4,
		.cpu_id = hp_cpu_id,
		.preempt_off = hp_preempt_off,
		.preempt_on = hp_preempt_on,
		.alloc = hp_alloc,
		.free = hp_free,
	};
	/* a test that failed with preemption off or on another CPU must not
	 * change the next one */
	preempt_depth = 0;
	hostplat_set_cpu(0);
	if (hostplat_smp_env(&seed))
		hostplat_smp(hp, 4, seed);
}

void hostplat_fini(struct hostplat *hp)
{
	munmap(hp->phys, hp->phys_size);
	close(hp->memfd);
	free(hp->pt_free_stack);
	free(hp->pt_used);
	hp->phys = NULL;
}

void hostplat_add_secure(struct hostplat *hp, uint64_t pa, uint64_t len)
{
	if (hp->nsecure == HOSTPLAT_MAX_SECURE)
		abort();
	hp->secure[hp->nsecure].pa = vtlmem_pa(pa);
	hp->secure[hp->nsecure].len = len;
	hp->nsecure++;
}

void *hostplat_va(struct hostplat *hp, uint64_t pa)
{
	if (pa >= hp->phys_size)
		abort();
	return hp->phys + pa;
}
