/* SPDX-License-Identifier: MIT */
#include "pacheck.h"

int vtlmem_check_range_args(const struct vtlmem_platform *p, vtlmem_paddr_t pa, uint64_t len)
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

int vtlmem_check_range(const struct vtlmem_platform *p, vtlmem_paddr_t pa, uint64_t len)
{
	int ret = vtlmem_check_range_args(p, pa, len);

	if (ret)
		return ret;
	/* No answer means no: the library never assumes memory is VTL0's. */
	if (!p->ownership || p->ownership(p->ctx, pa, len) != VTLMEM_OWNER_VTL0)
		return -VTLMEM_EPERM;
	return 0;
}

int vtlmem_check_pages_args(const struct vtlmem_platform *p, vtlmem_paddr_t pa, uint64_t len,
			    struct vtlmem_range *r)
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
