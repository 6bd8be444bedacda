/* SPDX-License-Identifier: MIT */
#include "pacheck.h"

int vtlmem_check_range_args(const struct vtlmem_platform *p, vtlmem_paddr_t pa, uint64_t len)
{
	uint64_t start = vtlmem_pa_val(pa), end;
	unsigned bits = vtlmem_pa_bits(p);

	if (len == 0)
		return -VTLMEM_EINVAL;
	if (__builtin_add_overflow(start, len, &end))
		return -VTLMEM_EOVERFLOW;
	/* end is exclusive: a range may end exactly at 2^bits. */
	if (bits < 64 && end > ((uint64_t)1 << bits))
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
