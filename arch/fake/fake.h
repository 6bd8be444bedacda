/* SPDX-License-Identifier: MIT */
/* What the fake architecture records, for tests (arch/fake/fake.c). */
#ifndef VTLMEM_ARCH_FAKE_FAKE_H
#define VTLMEM_ARCH_FAKE_FAKE_H

#include <stdint.h>

#define VTLMEM_FAKE_TLB_LOG 64

struct vtlmem_fake_tlb_event {
	uintptr_t va;
	uint64_t npages;           /* 0: the whole TLB */
};

struct vtlmem_fake_tlb {
	unsigned nlocal, nbroadcast;
	struct vtlmem_fake_tlb_event local[VTLMEM_FAKE_TLB_LOG];
	struct vtlmem_fake_tlb_event broadcast[VTLMEM_FAKE_TLB_LOG];
};

extern struct vtlmem_fake_tlb vtlmem_fake_tlb;
extern unsigned long vtlmem_fake_publishes;

#endif
