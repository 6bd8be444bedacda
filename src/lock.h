/* SPDX-License-Identifier: MIT */
/*
 * Internal locking: the platform's lock when it gives lock ops, otherwise
 * the library's ticket spinlock (lock.c). Locks are not recursive and never
 * taken from the copy routines.
 *
 * acquire/release are inline: they sit on every reserve, release and
 * coverage check, and the uncontended ticket lock is one atomic add and
 * one load; only the spin on contention is out of line.
 */
#ifndef VTLMEM_SRC_LOCK_H
#define VTLMEM_SRC_LOCK_H

#include <vtlmem/platform.h>

/*
 * Are p's lock ops usable: lock_init, lock and unlock all set or all NULL,
 * and lock_fini only with them (platform.h)? Every init that takes a
 * platform checks this first (-VTLMEM_EINVAL), so acquire and release
 * below never mix the platform's lock with the ticket lock.
 */
bool vtlmem_lock_ops_ok(const struct vtlmem_platform *p);

/* Start l's life: the ticket lock, then the platform's lock_init (if any). */
void vtlmem_lock_init(const struct vtlmem_platform *p, struct vtlmem_lock *l);

/*
 * End l's life (not held, never used again): the platform's lock_fini, if
 * any. Called exactly once for each vtlmem_lock_init().
 */
void vtlmem_lock_fini(const struct vtlmem_platform *p, struct vtlmem_lock *l);

/* Spin until ticket is served (the lock is contended). */
void vtlmem_lock_wait(struct vtlmem_lock *l, uint32_t ticket);

static inline void vtlmem_lock_acquire(const struct vtlmem_platform *p, struct vtlmem_lock *l)
{
	uint32_t ticket;

	if (p->lock) {
		p->lock(p->ctx, l);
		return;
	}
	ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	if (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		vtlmem_lock_wait(l, ticket);
}

static inline void vtlmem_lock_release(const struct vtlmem_platform *p, struct vtlmem_lock *l)
{
	if (p->unlock) {
		p->unlock(p->ctx, l);
		return;
	}
	/* Only the holder writes owner, so a plain read is enough. */
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

#endif
