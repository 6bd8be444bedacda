/* SPDX-License-Identifier: MIT */
/*
 * Compiler hints of the library's internal headers. VTLMEM_HOT_INLINE marks
 * the few helpers of the one-shot VTL0 path that must fold into their
 * caller (measured: tests/bench/counts; gcc's size heuristics otherwise
 * keep them out of line, each call then saving and restoring six
 * registers).
 */
#ifndef VTLMEM_SRC_COMPILER_H
#define VTLMEM_SRC_COMPILER_H

#define VTLMEM_HOT_INLINE static inline __attribute__((always_inline))

#endif
