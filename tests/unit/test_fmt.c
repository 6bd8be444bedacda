/* SPDX-License-Identifier: MIT */
/* Tests for src/fmt.c: text formatting into caller buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "../../src/fmt.h"

static void hex_of_zero_is_0x0(void **state)
{
	char b[32];

	(void)state;
	assert_int_equal(vtlmem_fmt_hex(b, sizeof(b), 0, 0, 0), 3);
	assert_string_equal(b, "0x0");
}

static void hex_uses_minimal_lower_case_digits(void **state)
{
	char b[32];

	(void)state;
	assert_int_equal(vtlmem_fmt_hex(b, sizeof(b), 0, 0xabc123, 0), 8);
	assert_string_equal(b, "0xabc123");
	assert_int_equal(vtlmem_fmt_hex(b, sizeof(b), 0, UINT64_MAX, 0), 18);
	assert_string_equal(b, "0xffffffffffffffff");
	assert_int_equal(vtlmem_fmt_hex(b, sizeof(b), 0, 1ull << 52, 0), 16);
	assert_string_equal(b, "0x10000000000000");
}

static void hex_pads_to_min_digits_and_caps_at_16(void **state)
{
	char b[32];

	(void)state;
	assert_int_equal(vtlmem_fmt_hex(b, sizeof(b), 0, 0x1f, 6), 8);
	assert_string_equal(b, "0x00001f");
	assert_int_equal(vtlmem_fmt_hex(b, sizeof(b), 0, 0x123456, 2), 8);
	assert_string_equal(b, "0x123456");
	assert_int_equal(vtlmem_fmt_hex(b, sizeof(b), 0, 5, 99), 18);
	assert_string_equal(b, "0x0000000000000005");
}

static void u64_prints_decimal_extremes(void **state)
{
	char b[32];

	(void)state;
	assert_int_equal(vtlmem_fmt_u64(b, sizeof(b), 0, 0), 1);
	assert_string_equal(b, "0");
	assert_int_equal(vtlmem_fmt_u64(b, sizeof(b), 0, 1234567890), 10);
	assert_string_equal(b, "1234567890");
	assert_int_equal(vtlmem_fmt_u64(b, sizeof(b), 0, UINT64_MAX), 20);
	assert_string_equal(b, "18446744073709551615");
}

static void calls_chain_by_position(void **state)
{
	char b[64];
	size_t n;

	(void)state;
	n = vtlmem_fmt_str(b, sizeof(b), 0, "[");
	n = vtlmem_fmt_hex(b, sizeof(b), n, 0x1000, 0);
	n = vtlmem_fmt_str(b, sizeof(b), n, ", ");
	n = vtlmem_fmt_u64(b, sizeof(b), n, 42);
	n = vtlmem_fmt_str(b, sizeof(b), n, ")");
	assert_int_equal(n, 12);
	assert_string_equal(b, "[0x1000, 42)");
}

static void output_is_truncated_and_stays_terminated(void **state)
{
	char b[8];
	size_t n;

	(void)state;
	memset(b, 'X', sizeof(b));
	n = vtlmem_fmt_str(b, sizeof(b), 0, "abcdefghijk");
	assert_int_equal(n, 7);
	assert_string_equal(b, "abcdefg");
	n = vtlmem_fmt_hex(b, sizeof(b), n, 0xff, 0);
	assert_int_equal(n, 7);
	assert_string_equal(b, "abcdefg");

	n = vtlmem_fmt_hex(b, sizeof(b), 0, 0x123456789, 0);
	assert_int_equal(n, 7);
	assert_string_equal(b, "0x12345");
	n = vtlmem_fmt_u64(b, sizeof(b), 0, 123456789);
	assert_int_equal(n, 7);
	assert_string_equal(b, "1234567");
}

static void position_beyond_buffer_is_clamped(void **state)
{
	char b[4] = "abc";

	(void)state;
	assert_int_equal(vtlmem_fmt_str(b, sizeof(b), 100, "zz"), 3);
	assert_string_equal(b, "abc");
	assert_int_equal(vtlmem_fmt_u64(b, sizeof(b), 100, 7), 3);
	assert_string_equal(b, "abc");
}

static void size_zero_writes_nothing(void **state)
{
	char b[4] = "xyz";

	(void)state;
	assert_int_equal(vtlmem_fmt_str(b, 0, 0, "abc"), 0);
	assert_int_equal(vtlmem_fmt_hex(b, 0, 0, 0xabc, 0), 0);
	assert_int_equal(vtlmem_fmt_u64(b, 0, 5, 99), 0);
	assert_string_equal(b, "xyz");
}

static void size_one_holds_only_the_terminator(void **state)
{
	char b[2] = "q";

	(void)state;
	assert_int_equal(vtlmem_fmt_hex(b, 1, 0, 0xabc, 0), 0);
	assert_int_equal(b[0], '\0');
	assert_int_equal(b[1], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hex_of_zero_is_0x0),
		cmocka_unit_test(hex_uses_minimal_lower_case_digits),
		cmocka_unit_test(hex_pads_to_min_digits_and_caps_at_16),
		cmocka_unit_test(u64_prints_decimal_extremes),
		cmocka_unit_test(calls_chain_by_position),
		cmocka_unit_test(output_is_truncated_and_stays_terminated),
		cmocka_unit_test(position_beyond_buffer_is_clamped),
		cmocka_unit_test(size_zero_writes_nothing),
		cmocka_unit_test(size_one_holds_only_the_terminator),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
