/* SPDX-License-Identifier: MIT */
/*
 * Platform lock ops backed by pthread mutexes, for the threaded host tests
 * and benchmarks: the library's default ticket spinlock assumes, like any
 * kernel spinlock, that its holder is not preempted; with more threads than
 * host CPUs every hand-off would wait for the scheduler. Each lock_init
 * allocates its own mutex and lock_fini (called once per lock_init) frees
 * it, so tables, managers and rings may come and go in any number.
 */
#ifndef TESTS_MUTEXOPS_H
#define TESTS_MUTEXOPS_H

#include <vtlmem/platform.h>

/* Set ops' lock_init, lock, unlock and lock_fini to the mutex ops. */
void mutexops_install(struct vtlmem_platform *ops);

#endif
