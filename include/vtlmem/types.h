/* SPDX-License-Identifier: MIT */
/*
 * vtlmem/types.h - address types, error codes and page constants.
 *
 * Physical and virtual addresses are distinct one-field structs so that the
 * compiler rejects passing one where the other is expected, and so that no
 * arithmetic happens on them by accident. Convert explicitly with
 * vtlmem_pa()/vtlmem_pa_val() and vtlmem_va()/vtlmem_va_val().
 */
#ifndef VTLMEM_TYPES_H
#define VTLMEM_TYPES_H

/*
 * Error codes. Every call returns 0 on success or the negation of one of
 * these (Linux errno values, so a kernel can pass them through unchanged).
 * Each call's contract comment lists exactly which ones it can return.
 * Plain integers, so assembly (arch/x86_64/copy.S) includes them too.
 */
#define VTLMEM_EPERM      1   /* secure-kernel owned, denied, or no ownership op   */
#define VTLMEM_ENOENT     2   /* handle is not live (released twice, never valid)  */
#define VTLMEM_EIO        5   /* remote TLB shootdown failed; VA stays quarantined */
#define VTLMEM_E2BIG      7   /* VTL0-supplied count exceeds the caller's bound    */
#define VTLMEM_ENOMEM     12  /* bookkeeping or page-table page allocation failed  */
#define VTLMEM_EACCES     13  /* write through a read-only handle                  */
#define VTLMEM_EFAULT     14  /* fault while copying; a byte count says how far    */
#define VTLMEM_EBUSY      16  /* range reserved by another accessor                */
#define VTLMEM_EINVAL     22  /* bad argument: unaligned, zero, duplicate page     */
#define VTLMEM_ENOSPC     28  /* VA window exhausted                               */
#define VTLMEM_ERANGE     34  /* beyond physical-address width / index out of range */
#define VTLMEM_EDEADLK    35  /* per-CPU slot misuse (wrong order, not released)   */
#define VTLMEM_ENOSYS     38  /* required platform op missing                      */
#define VTLMEM_ELOOP      40  /* cycle in a VTL0 linked structure                  */
#define VTLMEM_EOVERFLOW  75  /* pa + len or count * size wraps                    */

#ifndef __ASSEMBLY__

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A physical address. */
typedef struct { uint64_t pa; } vtlmem_paddr_t;
/* A kernel virtual address. */
typedef struct { uintptr_t va; } vtlmem_vaddr_t;

/* Wrap a number as an address, and unwrap it (the only conversions). */
static inline vtlmem_paddr_t vtlmem_pa(uint64_t pa) { return (vtlmem_paddr_t){ pa }; }
static inline uint64_t vtlmem_pa_val(vtlmem_paddr_t pa) { return pa.pa; }
static inline vtlmem_vaddr_t vtlmem_va(uintptr_t va) { return (vtlmem_vaddr_t){ va }; }
static inline uintptr_t vtlmem_va_val(vtlmem_vaddr_t va) { return va.va; }

/* The page the library maps and reserves in: 4 KiB (shift, size, offset mask). */
#define VTLMEM_PAGE_SHIFT 12
#define VTLMEM_PAGE_SIZE  ((uint64_t)1 << VTLMEM_PAGE_SHIFT)
#define VTLMEM_PAGE_MASK  (VTLMEM_PAGE_SIZE - 1)

_Static_assert(VTLMEM_PAGE_SIZE == 4096, "the library works in 4 KiB pages");

/*
 * Default physical-address width when the platform does not give one: the
 * widest address a page-table entry of the target architecture holds.
 */
#if defined(__aarch64__)
#define VTLMEM_DEFAULT_PA_BITS 48u
#else
#define VTLMEM_DEFAULT_PA_BITS 52u
#endif

/* Cache policy of a mapping (x86_64: PAT index chosen by arch code). */
enum vtlmem_cache {
	VTLMEM_CACHE_WB = 0,    /* write-back (normal RAM)            */
	VTLMEM_CACHE_UC = 1,    /* uncached                           */
	VTLMEM_CACHE_WC = 2,    /* write-combining                    */
};

/* Access a mapping or reservation allows. Mappings are never executable. */
enum vtlmem_prot {
	VTLMEM_PROT_RO = 0,
	VTLMEM_PROT_RW = 1,
};

/* A physical byte range [pa, pa + len). */
struct vtlmem_range {
	vtlmem_paddr_t pa;
	uint64_t len;
};

#endif /* !__ASSEMBLY__ */

#endif /* VTLMEM_TYPES_H */
