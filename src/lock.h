/* SPDX-License-Identifier: MIT */
/*
 * Internal locking: the platform's lock when it gives lock ops, otherwise
 * the library's ticket spinlock. Locks are not recursive and never taken
 * from the copy routines.
 */
#ifndef VTLMEM_SRC_LOCK_H
#define VTLMEM_SRC_LOCK_H

#include <vtlmem/platform.h>

void vtlmem_lock_init(const struct vtlmem_platform *p, struct vtlmem_lock *l);
void vtlmem_lock_acquire(const struct vtlmem_platform *p, struct vtlmem_lock *l);
void vtlmem_lock_release(const struct vtlmem_platform *p, struct vtlmem_lock *l);

#endif
