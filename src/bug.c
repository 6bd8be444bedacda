/* SPDX-License-Identifier: MIT */
/* The internal-invariant hook of bug.h. */
#include "bug.h"

_Noreturn void vtlmem_bug(const struct vtlmem_platform *p, const char *file, unsigned line)
{
	if (p && p->bug)
		p->bug(p->ctx, file, line);
	__builtin_trap();
}
