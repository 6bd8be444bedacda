/* SPDX-License-Identifier: MIT */
/*
 * The reservation table as the vmap manager uses it internally: the
 * lock-free check of a handle a caller holds, and the undo of a
 * reservation nobody else has seen.
 */
#ifndef VTLMEM_SRC_RESERVE_HELD_H
#define VTLMEM_SRC_RESERVE_HELD_H

#include <vtlmem/reserve.h>

/*
 * Is h a live handle of t, exclusive when excl, whose ranges cover every
 * page [pages[i], pages[i] + 4 KiB) (each page-aligned, checked by the
 * caller)? Returns 0, or -VTLMEM_EPERM when not.
 *
 * Takes no lock and calls no platform op, so it may run in interrupt
 * context on a CPU that holds t's lock. It reads h's record (type-stable
 * until fini, see reserve_internal.h) only when h's id was issued since
 * t's last init, and trusts the answer only if the record still carries
 * h's id afterwards. A release of h itself racing with this check is the
 * caller's bug (the answer then is unspecified). O(n) when h's ranges are
 * one contiguous run, else O(n k) for k ranges.
 */
int vtlmem_resv_check_held(const struct vtlmem_rtable *t, vtlmem_resv_t h,
			   const vtlmem_paddr_t *pages, size_t n, bool excl);

/*
 * The vmap's check of a held reservation, for all of a request's runs at
 * once (one table lock hold, one handle lookup): if h is live, *mode is
 * its mode and *first the index of the first of r[0..n) that h does not
 * cover (n: it covers them all; an empty or wrapping range is never
 * covered), and it returns 0; else -VTLMEM_ENOENT (nothing written).
 * Takes the table lock; calls no platform op under it.
 */
int vtlmem_resv_covers_runs(struct vtlmem_rtable *t, vtlmem_resv_t h,
			    const struct vtlmem_range *r, size_t n, size_t *first,
			    enum vtlmem_rmode *mode);

/*
 * vtlmem_reserve() of the single range *r in mode, for a caller that has
 * already run vtlmem_check_range_args() on it (or
 * vtlmem_check_pages_args(), whose result it is): only the ownership
 * question is asked here (once), then the table's own errors follow in
 * vtlmem_reserve()'s order. Returns 0 with *out, or -VTLMEM_EPERM (no
 * ownership op, or not VTL0), -VTLMEM_ENOMEM, -VTLMEM_ENOSPC,
 * -VTLMEM_EBUSY (no conflict report). t, r and out must be valid. Takes
 * the table lock, as vtlmem_reserve().
 */
int vtlmem_reserve_range(struct vtlmem_rtable *t, const struct vtlmem_range *r,
			 enum vtlmem_rmode mode, vtlmem_resv_t *out);

/*
 * vtlmem_reserve_range() for a caller that has asked the ownership
 * question itself (the one-shot VTL0 calls, whose page claim fell back to
 * the tree): the table's own errors only, -VTLMEM_ENOMEM, -VTLMEM_ENOSPC,
 * -VTLMEM_EBUSY (no conflict report). Takes the table lock.
 */
int vtlmem_reserve_owned(struct vtlmem_rtable *t, const struct vtlmem_range *r,
			 enum vtlmem_rmode mode, vtlmem_resv_t *out);

/*
 * vtlmem_release() of a handle the caller got from vtlmem_reserve() (or
 * vtlmem_reserve_range()) on this same t, since its last init: found by
 * its record in O(1) instead of the handle tree (release by index).
 * Returns what vtlmem_release() returns. Takes the table lock.
 */
int vtlmem_release_own(struct vtlmem_rtable *t, vtlmem_resv_t h);

/*
 * Undo a vtlmem_reserve() whose handle nobody else has seen: release h and
 * give the platform back the objects that reserve allocated, so that the
 * table's counters and the platform's allocations are as before it.
 * Returns what vtlmem_release() returns. Takes the table lock.
 */
int vtlmem_unreserve(struct vtlmem_rtable *t, vtlmem_resv_t h);

#endif
