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

void vtlmem_lock_init(const struct vtlmem_platform *p, struct vtlmem_lock *l)
{
	l->next = 0;
	l->owner = 0;
	l->plat = NULL;
	if (p->lock_init)
		p->lock_init(p->ctx, l);
}

void vtlmem_lock_acquire(const struct vtlmem_platform *p, struct vtlmem_lock *l)
{
	uint32_t ticket;

	if (p->lock) {
		p->lock(p->ctx, l);
		return;
	}
	ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		arch_cpu_relax();
}

void vtlmem_lock_release(const struct vtlmem_platform *p, struct vtlmem_lock *l)
{
	if (p->unlock) {
		p->unlock(p->ctx, l);
		return;
	}
	/* Only the holder writes owner, so a plain read is enough. */
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}
