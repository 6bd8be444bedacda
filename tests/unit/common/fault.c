/* SPDX-License-Identifier: MIT */
/*
 * Host fault harness: SIGSEGV/SIGBUS -> resolver hook or vtlmem_fixup(rip),
 * and guarded buffers. See fault.h.
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

/* x86_64 page-fault error code: bit 1 set for a write access. */
#define PF_ERR_WRITE 0x2

static struct sigaction prev_segv, prev_bus;
static int (*resolver)(void *addr, int is_write);
static unsigned long nfixups;

static void die(const char *what)
{
	perror(what);
	abort();
}

static void fault_handler(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;
	greg_t *gr = uc->uc_mcontext.gregs;
	int (*res)(void *, int) = __atomic_load_n(&resolver, __ATOMIC_ACQUIRE);
	uintptr_t fix;

	/* Only faults the kernel raised: a kill() has no faulting access. */
	if (si->si_code > 0) {
		if (res && res(si->si_addr, (gr[REG_ERR] & PF_ERR_WRITE) != 0))
			return;
		fix = vtlmem_fixup((uintptr_t)gr[REG_RIP]);
		if (fix) {
			gr[REG_RIP] = (greg_t)fix;
			__atomic_add_fetch(&nfixups, 1, __ATOMIC_RELAXED);
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
