/* SPDX-License-Identifier: MIT */
/*
 * Internal-invariant hook. VTLMEM_BUG_ON(p, cond) is for conditions that no
 * caller argument and no VTL0 data can make true: only a bug in the library
 * itself. Errors a caller or VTL0 can cause are error codes, never this.
 * It calls the platform's bug op (which should not return) and then traps.
 */
#ifndef VTLMEM_SRC_BUG_H
#define VTLMEM_SRC_BUG_H

#include <vtlmem/platform.h>

_Noreturn void vtlmem_bug(const struct vtlmem_platform *p, const char *file, unsigned line);

#define VTLMEM_BUG_ON(p, cond)                                           \
	do {                                                             \
		if (__builtin_expect(!!(cond), 0))                       \
			vtlmem_bug((p), __FILE__, __LINE__);             \
	} while (0)

#endif
