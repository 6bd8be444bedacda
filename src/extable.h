/* SPDX-License-Identifier: MIT */
/*
 * src/extable.h - the exception table (internal).
 *
 * One entry per range of fallible instructions in arch/<arch>/copy.S: a
 * fault at any ip in [start, end) resumes at fixup. The three fields are
 * signed 32-bit offsets, each RELATIVE TO THE ADDRESS OF THE ENTRY (its first
 * byte), so the table needs no relocation and stays read-only. The entries
 * are in the section "vtlmem_extable", bounded by __start_vtlmem_extable and
 * __stop_vtlmem_extable (defined automatically by a host link, by
 * linker/vtlmem-extable.ld in a kernel link).
 *
 * A valid table (vtlmem_extable_check_range() == 0): every entry has
 * start < end and fixup outside [start, end); entries are sorted by start and
 * do not overlap (prev.end <= next.start). The lookup relies on that.
 */
#ifndef VTLMEM_SRC_EXTABLE_H
#define VTLMEM_SRC_EXTABLE_H

#include <vtlmem/types.h>

struct vtlmem_extable_entry {
	int32_t start;   /* first faulting-range byte, relative to the entry */
	int32_t end;     /* one past the range (exclusive), relative          */
	int32_t fixup;   /* resume address, relative                          */
};

/* arch/<arch>/copy.S emits each entry as three .long words, 4-aligned. */
_Static_assert(sizeof(struct vtlmem_extable_entry) == 12, "extable entry: three 32-bit words");
_Static_assert(_Alignof(struct vtlmem_extable_entry) == 4, "extable entries are 4-aligned");

/* The table of the linked image (read-only; never written). */
extern const struct vtlmem_extable_entry __start_vtlmem_extable[];
extern const struct vtlmem_extable_entry __stop_vtlmem_extable[];

/* Absolute address encoded by one field (off) of entry e. */
static inline uintptr_t vtlmem_extable_addr(const struct vtlmem_extable_entry *e,
					    int32_t off)
{
	return (uintptr_t)e + (uintptr_t)(intptr_t)off;
}

static inline uintptr_t vtlmem_extable_start(const struct vtlmem_extable_entry *e)
{
	return vtlmem_extable_addr(e, e->start);
}

static inline uintptr_t vtlmem_extable_end(const struct vtlmem_extable_entry *e)
{
	return vtlmem_extable_addr(e, e->end);
}

static inline uintptr_t vtlmem_extable_fixup(const struct vtlmem_extable_entry *e)
{
	return vtlmem_extable_addr(e, e->fixup);
}

/*
 * Binary search of the table [begin, end) for the entry whose range holds
 * ip. Returns its fixup address, or 0 if no range holds ip (also for an
 * empty table). Correct only on a table that passes
 * vtlmem_extable_check_range(). Context: any (read-only, no locks).
 */
uintptr_t vtlmem_extable_search(const struct vtlmem_extable_entry *begin,
				const struct vtlmem_extable_entry *end,
				uintptr_t ip);

/*
 * Validate the table [begin, end): returns 0 if every entry has
 * start < end, its fixup outside [start, end), and each entry starts at or
 * after the end of the previous one (sorted, non-overlapping); an empty table
 * is valid here. Returns -VTLMEM_EINVAL otherwise, or if end < begin or the
 * span is not a whole number of entries.
 * Context: any.
 */
int vtlmem_extable_check_range(const struct vtlmem_extable_entry *begin,
			       const struct vtlmem_extable_entry *end);

#endif /* VTLMEM_SRC_EXTABLE_H */
