/* SPDX-License-Identifier: MIT */
/*
 * Lock-free check of a held reservation handle (reserve_held.h), for the
 * per-CPU slot path: no lock, no platform op, O(1) per page for a handle of
 * one contiguous run.
 *
 * Why reading the record is safe without the lock: a record is reached
 * only through h.rec, and only when h.id lies in [first_id, next_id), i.e.
 * was issued by t since its last init; such a record stays a handle record
 * of t until vtlmem_rtable_fini() (released records are retired, never
 * given back or turned into another object type). Its id is stored last
 * when it is published (release) and cleared first when it is released, so
 * if the id reads h.id before and after reading the ranges, the handle was
 * live throughout, and the ranges read were its own.
 */
#include "reserve_held.h"
#include "reserve_internal.h"

static bool record_is(const struct rt_handle *r, uint64_t id)
{
	return __atomic_load_n(&r->id, __ATOMIC_ACQUIRE) == id;
}

int vtlmem_resv_check_held(const struct vtlmem_rtable *t, vtlmem_resv_t h,
			   const vtlmem_paddr_t *pages, size_t n, bool excl)
{
	const struct rt_handle *r = h.rec;
	uint64_t pa;
	size_t i;

	if (!r || !rt_issued_since_init(t, h.id) || !record_is(r, h.id) || r->table != t)
		return -VTLMEM_EPERM;
	if (excl && r->mode != VTLMEM_RES_EXCLUSIVE)
		return -VTLMEM_EPERM;
	for (i = 0; i < n; i++) {
		pa = vtlmem_pa_val(pages[i]);
		if (pa > UINT64_MAX - VTLMEM_PAGE_SIZE ||
		    !handle_covers(r, pa, pa + VTLMEM_PAGE_SIZE))
			return -VTLMEM_EPERM;
	}
	/* the ranges read were h's own only if h is still live now */
	return record_is(r, h.id) ? 0 : -VTLMEM_EPERM;
}
