/* SPDX-License-Identifier: MIT */
/*
 * The test kernel's struct vtlmem_platform and the knobs and counters the
 * tests use: fault injection for page-table pages, bookkeeping allocations
 * and the remote shootdown, and a count of every op the library called
 * (on any CPU). The SMP test switches (skip the IPIs, a CPU that stops
 * answering them, the shootdown timeout) are smp_sw / smp_set_deaf() in
 * kernel.h.
 */
#ifndef BOOT_PLATFORM_H
#define BOOT_PLATFORM_H

#include <vtlmem/platform.h>

#include "kernel.h"

struct boot_plat_state {
	/* page-table pages */
	uint64_t pt_allocs, pt_frees, pt_live;
	int64_t pt_fail_after;          /* < 0: never; n: n more succeed, then fail */
	uint64_t pt_injected;           /* failures injected so far */
	/* bookkeeping allocations */
	uint64_t heap_allocs, heap_frees, heap_live, heap_live_bytes;
	int64_t heap_fail_after;
	uint64_t heap_injected;
	/* TLB */
	uint64_t shootdowns;            /* calls of the shootdown op */
	uint64_t shootdown_fail_next;   /* fail this many calls (-EIO) */
	uint64_t last_shootdown_va, last_shootdown_len;
	/* preemption (the nesting depth is per CPU: preempt_depth_*()) */
	uint64_t preempt_offs;
	/* ownership */
	uint64_t ownership_calls;
};

extern struct boot_plat_state bps;
extern struct vtlmem_platform boot_platform;

void platform_init(void);
/* Turn every fault injection off. */
void platform_reset_injection(void);
/* preempt_off nesting on this CPU / summed over every CPU. */
unsigned preempt_depth_here(void);
unsigned preempt_depth_all(void);

#endif
