/* SPDX-License-Identifier: MIT */
/*
 * Ticket spinlock, used when the platform supplies no lock ops.
 *
 * Invariant: owner <= next (mod 2^32); the lock is free iff owner == next.
 * Acquire takes a ticket with one atomic add and spins (read-only) until it
 * is served, so waiters are served in FIFO order. The library only holds a
 * lock for bounded work (no allocation loops over VTL0-chosen counts, no
 * remote shootdown), so spinning never waits forever.
 */
#include "lock.h"
#include "arch.h"

bool vtlmem_lock_ops_ok(const struct vtlmem_platform *p)
{
	if (p->lock_init || p->lock || p->unlock)
		return p->lock_init && p->lock && p->unlock;
	return !p->lock_fini;
}

void vtlmem_lock_init(const struct vtlmem_platform *p, struct vtlmem_lock *l)
{
	l->next = 0;
	l->owner = 0;
	l->plat = NULL;
	if (p->lock_init)
		p->lock_init(p->ctx, l);
}

void vtlmem_lock_fini(const struct vtlmem_platform *p, struct vtlmem_lock *l)
{
	if (p->lock_fini)
		p->lock_fini(p->ctx, l);
}

void vtlmem_lock_wait(struct vtlmem_lock *l, uint32_t ticket)
{
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		vtlmem_arch_cpu_relax();
}
