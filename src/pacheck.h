/* SPDX-License-Identifier: MIT */
/*
 * Validation of a physical range before anything is recorded or mapped.
 * Shared by the reservation table, the vmap manager, physical pointers and
 * the VTL0 calls so that every entry point applies the same checks in the
 * same order.
 *
 * The top of the address space (one rule for every call that takes a
 * range): ranges are [pa, pa + len) with a 64-bit end, so
 *   - pa + len > 2^64 wraps:                        -VTLMEM_EOVERFLOW;
 *   - the end may be at most the limit, 2^pa_bits, or 2^64 - 1 when
 *     pa_bits >= 64 (2^64 itself does not fit in an end): -VTLMEM_ERANGE.
 * So a range ending exactly at 2^pa_bits is fine below 64 bits, and a range
 * ending exactly at 2^64 (the last page of the 64-bit space) is -ERANGE
 * under every pa_bits. Calls that work on whole pages check the range
 * widened to whole pages (vtlmem_check_pages_args).
 */
#ifndef VTLMEM_SRC_PACHECK_H
#define VTLMEM_SRC_PACHECK_H

#include <vtlmem/platform.h>

/* The highest end a range may have: 2^pa_bits, or 2^64 - 1 for pa_bits >= 64. */
static inline uint64_t vtlmem_pa_limit(const struct vtlmem_platform *p)
{
	unsigned bits = vtlmem_pa_bits(p);

	return bits < 64 ? (uint64_t)1 << bits : UINT64_MAX;
}

/* Does [pa, pa + len) wrap past 2^64 (pa + len > 2^64)? len >= 1. */
static inline bool vtlmem_range_wraps(uint64_t pa, uint64_t len)
{
	return len - 1 > UINT64_MAX - pa;
}

/*
 * Check [pa, pa + len) in this order and return the first failure:
 *   -VTLMEM_EINVAL    len == 0
 *   -VTLMEM_EOVERFLOW pa + len wraps past 2^64 (> 2^64)
 *   -VTLMEM_ERANGE    pa + len > vtlmem_pa_limit(p)
 *   -VTLMEM_EPERM     touches page 0 and !allow_page0; no ownership op; or
 *                     the ownership op does not answer VTLMEM_OWNER_VTL0
 * Returns 0 when the range may be accessed. Calls only the ownership op.
 */
int vtlmem_check_range(const struct vtlmem_platform *p, vtlmem_paddr_t pa, uint64_t len);

/* The same checks without the ownership op (arguments only). */
static inline int vtlmem_check_range_args(const struct vtlmem_platform *p, vtlmem_paddr_t pa,
					  uint64_t len)
{
	uint64_t start = vtlmem_pa_val(pa), limit = vtlmem_pa_limit(p);

	if (len == 0)
		return -VTLMEM_EINVAL;
	if (vtlmem_range_wraps(start, len))
		return -VTLMEM_EOVERFLOW;
	/* end = start + len <= limit, computed without forming the end. */
	if (len > limit || start > limit - len)
		return -VTLMEM_ERANGE;
	if (!p->allow_page0 && start < VTLMEM_PAGE_SIZE)
		return -VTLMEM_EPERM;
	return 0;
}


/*
 * vtlmem_check_range_args() of the whole pages [pa, pa + len) touches: the
 * same errors in the same order (-EOVERFLOW when the bytes wrap; -ERANGE
 * when the last touched page ends past the limit, so also for any byte in
 * the last page of the 64-bit space). On 0, *r is the page range.
 */
static inline int vtlmem_check_pages_args(const struct vtlmem_platform *p, vtlmem_paddr_t pa,
					   uint64_t len, struct vtlmem_range *r)
{
	uint64_t start = vtlmem_pa_val(pa), first, last;

	if (len == 0)
		return -VTLMEM_EINVAL;
	if (vtlmem_range_wraps(start, len))
		return -VTLMEM_EOVERFLOW;
	first = start & ~VTLMEM_PAGE_MASK;
	last = (start + (len - 1)) & ~VTLMEM_PAGE_MASK;
	/* The last page of the 64-bit space ends at 2^64: past every limit. */
	if (last == (UINT64_MAX & ~VTLMEM_PAGE_MASK))
		return -VTLMEM_ERANGE;
	r->pa = vtlmem_pa(first);
	r->len = last + VTLMEM_PAGE_SIZE - first;
	return vtlmem_check_range_args(p, r->pa, r->len);
}

#endif
