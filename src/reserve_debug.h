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

/*
 * Test-only: while set, a table initialised keeps its intervals in the
 * interval tree from the start and never moves them to the small arrays,
 * so a suite can run every case on the tree too (tests/unit/
 * test_reserve.c runs them both ways). Never set outside tests.
 */
extern bool vtlmem_rtable_test_tree_only;

#endif
