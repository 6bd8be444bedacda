/* SPDX-License-Identifier: MIT */
/*
 * Host fault harness: SIGSEGV/SIGBUS -> resolver hook or vtlmem_fixup(pc),
 * and guarded buffers. See fault.h. Host architectures: x86_64 and aarch64
 * (natively, or under qemu-aarch64 user mode: make check).
 */
#include "fault.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <vtlmem/copy.h>

#if defined(__x86_64__)

/* x86_64 page-fault error code: bit 1 set for a write access. */
#define PF_ERR_WRITE 0x2

static uintptr_t ctx_pc(const ucontext_t *uc)
{
	return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
}

static void ctx_set_pc(ucontext_t *uc, uintptr_t pc)
{
	uc->uc_mcontext.gregs[REG_RIP] = (greg_t)pc;
}

static int ctx_is_write(const ucontext_t *uc)
{
	return (uc->uc_mcontext.gregs[REG_ERR] & PF_ERR_WRITE) != 0;
}

#elif defined(__aarch64__)

#include <asm/sigcontext.h>

/*
 * Does the A64 instruction i write memory? Loads and stores of every kind
 * (register, pair, exclusive/ordered, atomic, SIMD structure) and DC ZVA
 * (what a libc memset may use). For the resolver's is_write when the
 * signal frame carries no ESR (qemu-user before 8.1 gives none).
 */
static int a64_insn_writes(uint32_t i)
{
	if ((i & 0xffffffe0u) == 0xd50b7420u)           /* DC ZVA, Xt */
		return 1;
	if ((i & 0x0a000000u) != 0x08000000u)           /* not a load/store */
		return 0;
	if ((i & 0x3b000000u) == 0x18000000u)           /* load literal */
		return 0;
	if ((i & 0x3a000000u) == 0x28000000u)           /* pair (any addressing) */
		return !(i & (1u << 22));
	if ((i & 0x3f000000u) == 0x08000000u)           /* exclusive, ordered, CAS */
		return !(i & (1u << 22)) || (i & 0x00a00000u) == 0x00a00000u;
	if ((i & 0xbe000000u) == 0x0c000000u)           /* SIMD structures */
		return !(i & (1u << 22));
	if ((i & 0x3a000000u) == 0x38000000u) {         /* register forms */
		unsigned opc = (i >> 22) & 3;

		if ((i & 0x01000000u) == 0 && (i & (1u << 21)) && ((i >> 10) & 3) == 0)
			return 1;                       /* atomic read-modify-write */
		if (i & (1u << 26))                     /* SIMD&FP STR/LDR */
			return opc == 0 || opc == 2;
		return opc == 0;
	}
	return 0;
}

static uintptr_t ctx_pc(const ucontext_t *uc)
{
	return (uintptr_t)uc->uc_mcontext.pc;
}

static void ctx_set_pc(ucontext_t *uc, uintptr_t pc)
{
	uc->uc_mcontext.pc = pc;
}

/* ESR_EL1.WnR of the signal frame's esr_context, else decode the instruction. */
static int ctx_is_write(const ucontext_t *uc)
{
	const struct _aarch64_ctx *c = (const void *)uc->uc_mcontext.__reserved;
	const uint8_t *end = (const uint8_t *)uc->uc_mcontext.__reserved +
			     sizeof(uc->uc_mcontext.__reserved);

	while ((const uint8_t *)c + sizeof(*c) <= end && c->magic && c->size) {
		if (c->magic == ESR_MAGIC)
			return (((const struct esr_context *)c)->esr >> 6) & 1;
		c = (const void *)((const uint8_t *)c + c->size);
	}
	return a64_insn_writes(*(const uint32_t *)ctx_pc(uc));
}

#else
#error "tests/unit/common/fault.c: unsupported host architecture"
#endif

static struct sigaction prev_segv, prev_bus;
static int (*resolver)(void *addr, int is_write);
static unsigned long nfixups;
#define PC_RING 8
static uintptr_t pc_ring[PC_RING];    /* pc of fixup i at [i % PC_RING] */

static void die(const char *what)
{
	perror(what);
	abort();
}

static void fault_handler(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	int (*res)(void *, int) = __atomic_load_n(&resolver, __ATOMIC_ACQUIRE);
	uintptr_t fix;

	/* Only faults the kernel raised: a kill() has no faulting access. */
	if (si->si_code > 0) {
		if (res && res(si->si_addr, ctx_is_write(uc)))
			return;
		fix = vtlmem_fixup(ctx_pc(uc));
		if (fix) {
			unsigned long i = __atomic_add_fetch(&nfixups, 1, __ATOMIC_RELAXED);

			__atomic_store_n(&pc_ring[i % PC_RING], ctx_pc(uc), __ATOMIC_RELAXED);
			ctx_set_pc(uc, fix);
			return;
		}
	}
	/* A real crash: hand it to whoever handled it before us. */
	sigaction(sig, sig == SIGBUS ? &prev_bus : &prev_segv, NULL);
	if (si->si_code <= 0)
		raise(sig);
}

/*
 * Make fault_handler the action for sig. If it is not ours now, remember the
 * current action in *prev (real crashes are handed to it). If it is ours
 * but without SA_SIGINFO (restored through signal() by someone who had
 * saved it, as cmocka does after each test), reinstall it, keeping *prev.
 */
static void install_one(int sig, struct sigaction *prev)
{
	struct sigaction cur, sa;

	if (sigaction(sig, NULL, &cur))
		die("fault_install: sigaction");
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = fault_handler;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (cur.sa_sigaction == fault_handler) {
		if ((cur.sa_flags & (SA_SIGINFO | SA_ONSTACK)) ==
		    (SA_SIGINFO | SA_ONSTACK))
			return;
		if (sigaction(sig, &sa, NULL))
			die("fault_install: sigaction");
		return;
	}
	if (sigaction(sig, &sa, prev))
		die("fault_install: sigaction");
}

/* Give the calling thread an alternate signal stack unless it has one. */
static void install_altstack(void)
{
	stack_t ss;
	size_t size = 64 * 1024;

	if (sigaltstack(NULL, &ss))
		die("fault_install: sigaltstack");
	if (!(ss.ss_flags & SS_DISABLE))
		return;
	ss.ss_sp = mmap(NULL, size, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ss.ss_sp == MAP_FAILED)
		die("fault_install: mmap");
	ss.ss_size = size;
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL))
		die("fault_install: sigaltstack");
}

void fault_install(void)
{
	install_one(SIGSEGV, &prev_segv);
	install_one(SIGBUS, &prev_bus);
	install_altstack();
}

void fault_set_resolver(int (*fn)(void *addr, int is_write))
{
	__atomic_store_n(&resolver, fn, __ATOMIC_RELEASE);
}

unsigned long fault_fixups(void)
{
	return __atomic_load_n(&nfixups, __ATOMIC_RELAXED);
}

uintptr_t fault_fixup_pc(unsigned long i)
{
	unsigned long n = __atomic_load_n(&nfixups, __ATOMIC_RELAXED);

	if (i == 0 || i > n || n - i >= PC_RING)
		return 0;
	return __atomic_load_n(&pc_ring[i % PC_RING], __ATOMIC_RELAXED);
}

/* ---- guarded buffers ---- */

struct guard_map {
	void *p;          /* region start handed out, NULL = free slot */
	void *base;       /* whole mapping */
	size_t size;
};

static struct guard_map live[GUARD_MAX_LIVE];
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

size_t guard_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static void remember(void *p, void *base, size_t size)
{
	unsigned i;

	pthread_mutex_lock(&live_lock);
	for (i = 0; i < GUARD_MAX_LIVE && live[i].p; i++)
		;
	if (i == GUARD_MAX_LIVE) {
		fprintf(stderr, "guard_alloc: more than %d live buffers\n",
			GUARD_MAX_LIVE);
		abort();
	}
	live[i] = (struct guard_map){ p, base, size };
	pthread_mutex_unlock(&live_lock);
}

/* Fill a guard with GUARD_FILL and give it its final protection. */
static void make_guard(uint8_t *g, size_t len, unsigned flags)
{
	memset(g, GUARD_FILL, len);
	if (mprotect(g, len, (flags & GUARD_RO) ? PROT_READ : PROT_NONE))
		die("guard_alloc: mprotect");
}

void *guard_alloc(size_t len, unsigned flags)
{
	size_t pg = guard_page_size();
	size_t glen = GUARD_PAGES * pg;
	size_t body = (len + pg - 1) / pg * pg;
	size_t before = (flags & GUARD_BEFORE) ? glen : 0;
	size_t after = (flags & GUARD_AFTER) ? glen : 0;
	uint8_t *base, *p;

	if (!before && !after && !body)
		body = pg;	/* mmap needs at least a page */
	if ((flags & ~(GUARD_BEFORE | GUARD_AFTER | GUARD_RO)) ||
	    ((flags & GUARD_BEFORE) && (flags & GUARD_AFTER) && len % pg)) {
		fprintf(stderr, "guard_alloc: bad flags %#x for len %zu\n", flags, len);
		abort();
	}
	base = mmap(NULL, before + body + after, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		die("guard_alloc: mmap");
	if (before)
		make_guard(base, before, flags);
	if (after)
		make_guard(base + before + body, after, flags);
	/* With GUARD_AFTER, end the region at the guard (body == len if both). */
	p = base + before + (after ? body - len : 0);
	remember(p, base, before + body + after);
	return p;
}

void guard_free(void *p)
{
	unsigned i;

	if (!p)
		return;
	pthread_mutex_lock(&live_lock);
	for (i = 0; i < GUARD_MAX_LIVE && live[i].p != p; i++)
		;
	if (i == GUARD_MAX_LIVE) {
		fprintf(stderr, "guard_free: %p is not a live guarded buffer\n", p);
		abort();
	}
	if (munmap(live[i].base, live[i].size))
		die("guard_free: munmap");
	live[i].p = NULL;
	pthread_mutex_unlock(&live_lock);
}
