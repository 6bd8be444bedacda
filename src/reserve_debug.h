/* SPDX-License-Identifier: MIT */
/*
 * Internal debug checks of the reservation table (tests, debugging).
 */
#ifndef VTLMEM_SRC_RESERVE_DEBUG_H
#define VTLMEM_SRC_RESERVE_DEBUG_H

#include <vtlmem/reserve.h>

/*
 * Verify every invariant of t (tree shapes and order, interval
 * augmentation, no exclusive interval overlapping another interval, reader
 * counts equal handle references, handle refs sorted and disjoint, cache
 * length). Returns 0, or a negative number naming the first broken
 * invariant (-1 .. -9, see reserve_query.c). Takes the table lock; O(N).
 */
int vtlmem_rtable_selfcheck(struct vtlmem_rtable *t);

#endif
