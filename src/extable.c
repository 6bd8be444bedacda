/* SPDX-License-Identifier: MIT */
/*
 * src/extable.c - exception-table lookup and verification.
 *
 * The table format is described in src/extable.h; the entries are produced
 * by the EXTABLE() macro of arch/<arch>/copy.S.
 */
#include <vtlmem/copy.h>

#include "extable.h"

/*
 * Number of entries in [begin, end), computed on integers: begin and end may
 * be the linker's start/stop symbols, distinct objects to the compiler.
 * A reversed pair counts as empty.
 */
static size_t extable_count(const struct vtlmem_extable_entry *begin,
			    const struct vtlmem_extable_entry *end)
{
	if ((uintptr_t)end < (uintptr_t)begin)
		return 0;
	return ((uintptr_t)end - (uintptr_t)begin) /
	       sizeof(struct vtlmem_extable_entry);
}

uintptr_t vtlmem_extable_search(const struct vtlmem_extable_entry *begin,
				const struct vtlmem_extable_entry *end,
				uintptr_t ip)
{
	size_t lo = 0, hi = extable_count(begin, end);

	/*
	 * Find the last entry with start <= ip: the only one that can hold ip,
	 * since the ranges are sorted and disjoint. Invariant: entries below
	 * lo start at or before ip, entries at or above hi start after it.
	 */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (vtlmem_extable_start(&begin[mid]) <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0 || ip >= vtlmem_extable_end(&begin[lo - 1]))
		return 0;
	return vtlmem_extable_fixup(&begin[lo - 1]);
}

/* One entry on its own: a non-empty range whose fixup lies outside it. */
static int extable_entry_ok(const struct vtlmem_extable_entry *e)
{
	uintptr_t start = vtlmem_extable_start(e);
	uintptr_t end = vtlmem_extable_end(e);
	uintptr_t fixup = vtlmem_extable_fixup(e);

	return start < end && (fixup < start || fixup >= end);
}

int vtlmem_extable_check_range(const struct vtlmem_extable_entry *begin,
			       const struct vtlmem_extable_entry *end)
{
	size_t i, n;

	if ((uintptr_t)end < (uintptr_t)begin ||
	    ((uintptr_t)end - (uintptr_t)begin) %
	    sizeof(struct vtlmem_extable_entry) != 0)
		return -VTLMEM_EINVAL;
	n = extable_count(begin, end);
	for (i = 0; i < n; i++) {
		if (!extable_entry_ok(&begin[i]))
			return -VTLMEM_EINVAL;
		/* Sorted and disjoint: this one starts where the last ended. */
		if (i > 0 && vtlmem_extable_start(&begin[i]) <
			     vtlmem_extable_end(&begin[i - 1]))
			return -VTLMEM_EINVAL;
	}
	return 0;
}

/*
 * The linker's bounds, hidden from the optimizer: it may otherwise assume two
 * distinct extern arrays never compare equal and fold the emptiness check.
 */
static const struct vtlmem_extable_entry *table_begin(void)
{
	const struct vtlmem_extable_entry *p = __start_vtlmem_extable;

	__asm__("" : "+r"(p));
	return p;
}

static const struct vtlmem_extable_entry *table_end(void)
{
	const struct vtlmem_extable_entry *p = __stop_vtlmem_extable;

	__asm__("" : "+r"(p));
	return p;
}

uintptr_t vtlmem_fixup(uintptr_t ip)
{
	return vtlmem_extable_search(table_begin(), table_end(), ip);
}

/*
 * An empty table, or one without the library's own entries, means the
 * kernel's linker script dropped the section (fragment not INCLUDEd, or no
 * KEEP): no fault could be fixed up. vtlmem_load8 stands for the library's
 * routines (every one of them is in the same object, arch/<arch>/copy.S);
 * referring to it also makes every link that uses this file pull in that
 * object, and with it the table.
 */
int vtlmem_extable_check(void)
{
	const struct vtlmem_extable_entry *begin = table_begin();
	const struct vtlmem_extable_entry *end = table_end();

	if ((uintptr_t)end <= (uintptr_t)begin ||
	    vtlmem_extable_check_range(begin, end))
		return -VTLMEM_EINVAL;
	if (!vtlmem_extable_search(begin, end, (uintptr_t)vtlmem_load8))
		return -VTLMEM_EINVAL;
	return 0;
}
