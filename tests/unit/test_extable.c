/* SPDX-License-Identifier: MIT */
/*
 * Tests for src/extable.c: the real exception table (verified, and every
 * range found by the lookup), and the checker and the binary search on
 * synthetic tables built in memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <vtlmem/copy.h>
#include "../../src/extable.h"

typedef struct vtlmem_extable_entry entry_t;

static size_t real_count(void)
{
	return ((uintptr_t)__stop_vtlmem_extable -
		(uintptr_t)__start_vtlmem_extable) / sizeof(entry_t);
}

/* Reference lookup: linear scan, no ordering assumed. */
static uintptr_t linear_fixup(const entry_t *t, size_t n, uintptr_t ip)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (vtlmem_extable_start(&t[i]) <= ip && ip < vtlmem_extable_end(&t[i]))
			return vtlmem_extable_fixup(&t[i]);
	return 0;
}

/* Make entry e describe [start, end) -> fixup (addresses, not offsets). */
static void set_entry(entry_t *e, uintptr_t start, uintptr_t end, uintptr_t fixup)
{
	e->start = (int32_t)(intptr_t)(start - (uintptr_t)e);
	e->end = (int32_t)(intptr_t)(end - (uintptr_t)e);
	e->fixup = (int32_t)(intptr_t)(fixup - (uintptr_t)e);
}

static void real_table_is_valid_and_nonempty(void **state)
{
	(void)state;
	assert_int_equal(vtlmem_extable_check(), 0);
	assert_int_equal(vtlmem_extable_check_range(__start_vtlmem_extable,
						    __stop_vtlmem_extable), 0);
	/* copy, fill and the 8 accessors each register at least one range. */
	assert_true(real_count() >= 10);
	assert_int_equal(((uintptr_t)__stop_vtlmem_extable -
			  (uintptr_t)__start_vtlmem_extable) % sizeof(entry_t), 0);
}

/*
 * The encoding (offsets relative to the entry's first byte) decodes to the
 * right addresses: each accessor's range is exactly its first instruction,
 * which is the function's entry point, and all share one fixup.
 */
static void accessor_ranges_start_at_their_function(void **state)
{
	const uintptr_t fn[] = {
		(uintptr_t)vtlmem_load8, (uintptr_t)vtlmem_load16,
		(uintptr_t)vtlmem_load32, (uintptr_t)vtlmem_load64,
		(uintptr_t)vtlmem_store8, (uintptr_t)vtlmem_store16,
		(uintptr_t)vtlmem_store32, (uintptr_t)vtlmem_store64,
	};
	const entry_t *t = __start_vtlmem_extable;
	size_t i, j, n = real_count();
	uintptr_t shared_fixup = 0;

	(void)state;
	for (i = 0; i < sizeof(fn) / sizeof(fn[0]); i++) {
		for (j = 0; j < n && vtlmem_extable_start(&t[j]) != fn[i]; j++)
			;
		assert_true(j < n);
		/* one instruction: 2..4 bytes for these loads and stores */
		assert_in_range(vtlmem_extable_end(&t[j]) - fn[i], 2, 4);
		if (!shared_fixup)
			shared_fixup = vtlmem_extable_fixup(&t[j]);
		assert_int_equal(vtlmem_extable_fixup(&t[j]), shared_fixup);
		assert_int_equal(vtlmem_fixup(fn[i]), shared_fixup);
	}
}

static void lookup_hits_every_real_range_and_misses_around_it(void **state)
{
	const entry_t *t = __start_vtlmem_extable;
	size_t i, n = real_count();

	(void)state;
	for (i = 0; i < n; i++) {
		uintptr_t s = vtlmem_extable_start(&t[i]);
		uintptr_t e = vtlmem_extable_end(&t[i]);
		uintptr_t f = vtlmem_extable_fixup(&t[i]);

		assert_int_not_equal(f, 0);
		assert_int_equal(vtlmem_fixup(s), f);
		assert_int_equal(vtlmem_fixup(s + (e - s) / 2), f);
		assert_int_equal(vtlmem_fixup(e - 1), f);
		/* The routines never put two ranges back to back. */
		assert_int_equal(vtlmem_fixup(s - 1), 0);
		assert_int_equal(vtlmem_fixup(e), 0);
		/* The fixup is outside this range (it may start another one). */
		assert_true(f < s || f >= e);
		assert_int_equal(vtlmem_fixup(f), linear_fixup(t, n, f));
	}
}

static void lookup_of_unrelated_addresses_is_zero(void **state)
{
	(void)state;
	assert_int_equal(vtlmem_fixup(0), 0);
	assert_int_equal(vtlmem_fixup(UINTPTR_MAX), 0);
	assert_int_equal(vtlmem_fixup((uintptr_t)lookup_of_unrelated_addresses_is_zero), 0);
	assert_int_equal(vtlmem_fixup((uintptr_t)vtlmem_fixup), 0);
	/* vtlmem_copy's entry point is a size test, not a fallible access. */
	assert_int_equal(vtlmem_fixup((uintptr_t)vtlmem_copy), 0);
}

/* ---- synthetic tables ---- */

#define SYN_MAX 64
static entry_t syn[SYN_MAX];

/* Fake code addresses near the table (offsets must fit in 32 bits). */
static uintptr_t code(unsigned off)
{
	return (uintptr_t)syn + 0x100000 + off;
}

static void check_accepts_empty_and_well_formed_tables(void **state)
{
	(void)state;
	assert_int_equal(vtlmem_extable_check_range(syn, syn), 0);
	set_entry(&syn[0], code(0), code(1), code(100));        /* 1-byte range */
	assert_int_equal(vtlmem_extable_check_range(syn, syn + 1), 0);
	set_entry(&syn[1], code(1), code(10), code(0));          /* adjacent, fixup before */
	set_entry(&syn[2], code(20), code(30), code(30));        /* fixup == end: outside */
	assert_int_equal(vtlmem_extable_check_range(syn, syn + 3), 0);
}

static void check_rejects_empty_or_reversed_range(void **state)
{
	(void)state;
	set_entry(&syn[0], code(10), code(10), code(100));
	assert_int_equal(vtlmem_extable_check_range(syn, syn + 1), -VTLMEM_EINVAL);
	set_entry(&syn[0], code(11), code(10), code(100));
	assert_int_equal(vtlmem_extable_check_range(syn, syn + 1), -VTLMEM_EINVAL);
	/* ... also as the last of several good entries */
	set_entry(&syn[0], code(0), code(5), code(100));
	set_entry(&syn[1], code(6), code(8), code(100));
	set_entry(&syn[2], code(9), code(9), code(100));
	assert_int_equal(vtlmem_extable_check_range(syn, syn + 2), 0);
	assert_int_equal(vtlmem_extable_check_range(syn, syn + 3), -VTLMEM_EINVAL);
}

static void check_rejects_fixup_inside_its_range(void **state)
{
	(void)state;
	set_entry(&syn[0], code(10), code(20), code(10));
	assert_int_equal(vtlmem_extable_check_range(syn, syn + 1), -VTLMEM_EINVAL);
	set_entry(&syn[0], code(10), code(20), code(19));
	assert_int_equal(vtlmem_extable_check_range(syn, syn + 1), -VTLMEM_EINVAL);
	set_entry(&syn[0], code(10), code(20), code(9));
	assert_int_equal(vtlmem_extable_check_range(syn, syn + 1), 0);
}

static void check_rejects_unsorted_and_overlapping(void **state)
{
	(void)state;
	set_entry(&syn[0], code(20), code(30), code(100));
	set_entry(&syn[1], code(0), code(10), code(100));        /* before the first */
	assert_int_equal(vtlmem_extable_check_range(syn, syn + 2), -VTLMEM_EINVAL);
	set_entry(&syn[1], code(29), code(40), code(100));       /* overlaps by one */
	assert_int_equal(vtlmem_extable_check_range(syn, syn + 2), -VTLMEM_EINVAL);
	set_entry(&syn[1], code(22), code(25), code(100));       /* nested */
	assert_int_equal(vtlmem_extable_check_range(syn, syn + 2), -VTLMEM_EINVAL);
	set_entry(&syn[1], code(20), code(30), code(100));       /* duplicate */
	assert_int_equal(vtlmem_extable_check_range(syn, syn + 2), -VTLMEM_EINVAL);
	set_entry(&syn[1], code(30), code(40), code(100));       /* adjacent: fine */
	assert_int_equal(vtlmem_extable_check_range(syn, syn + 2), 0);
}

static void check_rejects_reversed_or_ragged_bounds(void **state)
{
	(void)state;
	set_entry(&syn[0], code(0), code(10), code(100));
	set_entry(&syn[1], code(20), code(30), code(100));
	assert_int_equal(vtlmem_extable_check_range(syn + 2, syn), -VTLMEM_EINVAL);
	/* a span that is not a whole number of entries */
	assert_int_equal(vtlmem_extable_check_range(syn,
		(const entry_t *)(const void *)((const char *)syn + sizeof(entry_t) + 4)),
		-VTLMEM_EINVAL);
}

/*
 * Binary search against the linear reference on valid tables of every size
 * 0..SYN_MAX: entry i covers [10i + 2, 10i + 2 + len_i) with len_i in 1..8
 * (so some ranges are adjacent to gaps of 0..7 bytes); every address from
 * before the first range to after the last is looked up.
 */
static void search_matches_linear_scan_on_every_table_size(void **state)
{
	size_t n, i;
	uintptr_t ip;

	(void)state;
	for (n = 0; n <= SYN_MAX; n++) {
		for (i = 0; i < n; i++)
			set_entry(&syn[i], code(10 * i + 2),
				  code(10 * i + 2 + 1 + (i * 5) % 8),
				  code(10000 + 16 * i));
		assert_int_equal(vtlmem_extable_check_range(syn, syn + n), 0);
		for (ip = code(0); ip <= code(10 * SYN_MAX + 20); ip++)
			assert_int_equal(vtlmem_extable_search(syn, syn + n, ip),
					 linear_fixup(syn, n, ip));
		if (n) {
			assert_int_equal(vtlmem_extable_search(syn, syn + n, code(2)),
					 code(10000));
			assert_int_equal(vtlmem_extable_search(syn, syn + n, code(1)), 0);
		}
	}
}

static void search_of_empty_or_reversed_table_is_zero(void **state)
{
	(void)state;
	set_entry(&syn[0], code(0), code(10), code(100));
	assert_int_equal(vtlmem_extable_search(syn, syn, code(5)), 0);
	assert_int_equal(vtlmem_extable_search(syn + 1, syn, code(5)), 0);
	assert_int_equal(vtlmem_extable_search(syn, syn + 1, code(5)), code(100));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(real_table_is_valid_and_nonempty),
		cmocka_unit_test(accessor_ranges_start_at_their_function),
		cmocka_unit_test(lookup_hits_every_real_range_and_misses_around_it),
		cmocka_unit_test(lookup_of_unrelated_addresses_is_zero),
		cmocka_unit_test(check_accepts_empty_and_well_formed_tables),
		cmocka_unit_test(check_rejects_empty_or_reversed_range),
		cmocka_unit_test(check_rejects_fixup_inside_its_range),
		cmocka_unit_test(check_rejects_unsorted_and_overlapping),
		cmocka_unit_test(check_rejects_reversed_or_ragged_bounds),
		cmocka_unit_test(search_matches_linear_scan_on_every_table_size),
		cmocka_unit_test(search_of_empty_or_reversed_table_is_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
