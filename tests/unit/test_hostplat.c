/* SPDX-License-Identifier: MIT */
/* The host platform itself: the tests of the library rely on these facts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "hostplat.h"

static void pt_pages_come_from_the_secure_table_area_zeroed(void **state)
{
	struct hostplat hp;
	vtlmem_paddr_t pa;
	uint8_t *v;

	(void)state;
	hostplat_init(&hp, 64 << 20);
	v = hp.ops.pt_alloc(&hp, &pa);
	assert_non_null(v);
	assert_int_equal(vtlmem_pa_val(pa), HOSTPLAT_PT_BASE);
	assert_ptr_equal(v, hostplat_va(&hp, HOSTPLAT_PT_BASE));
	assert_int_equal(v[0] | v[4095], 0);
	assert_int_equal(hp.pt_live, 1);
	hp.ops.pt_free(&hp, v, pa);
	assert_int_equal(hp.pt_live, 0);
	hostplat_fini(&hp);
}

static void ownership_answers_vtl0_only_inside_vtl0_ram(void **state)
{
	struct hostplat hp;

	(void)state;
	hostplat_init(&hp, 64 << 20);
	assert_int_equal(hp.ops.ownership(&hp, vtlmem_pa(16 << 20), 4096), VTLMEM_OWNER_VTL0);
	assert_int_equal(hp.ops.ownership(&hp, vtlmem_pa((16 << 20) - 1), 4096), VTLMEM_OWNER_SECURE);
	assert_int_equal(hp.ops.ownership(&hp, vtlmem_pa((64 << 20) - 4096), 4096), VTLMEM_OWNER_VTL0);
	assert_int_equal(hp.ops.ownership(&hp, vtlmem_pa((64 << 20) - 4096), 4097), VTLMEM_OWNER_SECURE);
	assert_int_equal(hp.ops.ownership(&hp, vtlmem_pa(UINT64_MAX - 10), 4096), VTLMEM_OWNER_SECURE);
	hostplat_add_secure(&hp, 20 << 20, 4096);
	assert_int_equal(hp.ops.ownership(&hp, vtlmem_pa((20 << 20) - 4096), 4097), VTLMEM_OWNER_SECURE);
	assert_int_equal(hp.ops.ownership(&hp, vtlmem_pa((20 << 20) - 4096), 4096), VTLMEM_OWNER_VTL0);
	hostplat_fini(&hp);
}

static void fail_alloc_at_fails_exactly_the_nth_call(void **state)
{
	struct hostplat hp;
	void *a, *b, *c;

	(void)state;
	hostplat_init(&hp, 32 << 20);
	hp.fail_alloc_at = 2;
	a = hp.ops.alloc(&hp, 8);
	b = hp.ops.alloc(&hp, 8);
	c = hp.ops.alloc(&hp, 8);
	assert_non_null(a);
	assert_null(b);
	assert_non_null(c);
	assert_int_equal(hp.alloc_live, 2);
	hp.ops.free(&hp, a, 8);
	hp.ops.free(&hp, c, 8);
	assert_int_equal(hp.alloc_live, 0);
	hostplat_fini(&hp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pt_pages_come_from_the_secure_table_area_zeroed),
		cmocka_unit_test(ownership_answers_vtl0_only_inside_vtl0_ram),
		cmocka_unit_test(fail_alloc_at_fails_exactly_the_nth_call),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
