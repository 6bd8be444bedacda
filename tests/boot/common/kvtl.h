/* SPDX-License-Identifier: MIT */
/*
 * The kernel's vtlmem instance: one reservation table, one vmap manager over
 * [VMAP_BASE, VMAP_BASE + VMAP_SIZE) whose top-level entries are installed
 * in the kernel's root table. Plus helpers that play
 * "VTL0": they read and write VTL0 RAM through the kernel's direct map,
 * never through the library.
 */
#ifndef BOOT_KVTL_H
#define BOOT_KVTL_H

#include <vtlmem/vmap.h>

#include "kernel.h"
#include "platform.h"

extern struct vtlmem_rtable kv_rt;
extern struct vtlmem_vmap *kv_vm;

/* Create the instance (once; panics on failure). */
void kv_init(void);
/* Install / remove vm's top-level entries in the kernel's root table. */
void kv_install(struct vtlmem_vmap *vm);
void kv_uninstall(struct vtlmem_vmap *vm);

/* Physical address of VTL0 page i. */
static inline uint64_t vtl0_pa(uint64_t i)
{
	return VTL0_START + i * PAGE_SIZE;
}

static inline vtlmem_paddr_t vtl0_page(uint64_t i)
{
	return vtlmem_pa(vtl0_pa(i));
}

/* The byte pattern tests write: a function of (physical address, seed). */
static inline uint8_t vtl0_pattern(uint64_t pa, unsigned seed)
{
	return (uint8_t)((pa * 13) ^ (pa >> 9) ^ (seed * 101));
}

/* The bytes [offset, offset + len) of a page list, through the direct map. */
void vtl0_gather(const vtlmem_paddr_t *pages, uint64_t offset, uint8_t *out, size_t len);

/* The VA in the kernel's vmap window that maps physical page pa, or 0. */
uintptr_t window_va_of(uint64_t pa);

/* Fill / check [pa, pa + len) with the pattern through the direct map. */
void vtl0_fill(uint64_t pa, uint64_t len, unsigned seed);
bool vtl0_check(uint64_t pa, uint64_t len, unsigned seed);

#endif
