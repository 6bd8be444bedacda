/* SPDX-License-Identifier: MIT */
/*
 * Validation of a physical range before anything is recorded or mapped.
 * Shared by the reservation table, the vmap manager and physical pointers so
 * that every entry point applies the same checks in the same order.
 */
#ifndef VTLMEM_SRC_PACHECK_H
#define VTLMEM_SRC_PACHECK_H

#include <vtlmem/platform.h>

/*
 * Check [pa, pa + len) in this order and return the first failure:
 *   -VTLMEM_EINVAL    len == 0
 *   -VTLMEM_EOVERFLOW pa + len wraps past 2^64
 *   -VTLMEM_ERANGE    pa + len > 2^pa_bits
 *   -VTLMEM_EPERM     touches page 0 and !allow_page0; no ownership op; or
 *                     the ownership op does not answer VTLMEM_OWNER_VTL0
 * Returns 0 when the range may be accessed. Calls only the ownership op.
 */
int vtlmem_check_range(const struct vtlmem_platform *p, vtlmem_paddr_t pa, uint64_t len);

/* The same checks without the ownership op (arguments only). */
int vtlmem_check_range_args(const struct vtlmem_platform *p, vtlmem_paddr_t pa, uint64_t len);

#endif
