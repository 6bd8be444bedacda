/* SPDX-License-Identifier: MIT */
#include "pacheck.h"

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
