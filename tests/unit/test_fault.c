/* SPDX-License-Identifier: MIT */
/*
 * Tests for the host fault harness (tests/unit/common/fault.[ch]) that the
 * other tests rely on: guarded-buffer layouts, fixups counted, the resolver
 * hook (address and access type), and real crashes not swallowed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <vtlmem/copy.h>
#include "fault.h"


/* Does a fallible read of one byte at p succeed? (No crash either way.) */
static int readable(const void *p)
{
	uint8_t v;

	return vtlmem_load8(p, &v) == 0;
}

static int writable(void *p)
{
	uint8_t v;

	if (vtlmem_load8(p, &v))
		return 0;
	return vtlmem_store8(p, v) == 0;
}

static void guard_after_ends_region_at_inaccessible_page(void **state)
{
	size_t pg = guard_page_size();
	uint8_t *p = guard_alloc(100, GUARD_AFTER);

	(void)state;
	fault_install();
	assert_int_equal(((uintptr_t)p + 100) % pg, 0);
	assert_true(writable(p) && writable(p + 99));
	assert_false(readable(p + 100));
	assert_false(readable(p + GUARD_PAGES * pg + 99));  /* last guard byte */
	assert_int_equal(p[0], 0);                          /* zero-filled */
	guard_free(p);
}

static void guard_before_starts_region_after_inaccessible_page(void **state)
{
	size_t pg = guard_page_size();
	uint8_t *p = guard_alloc(100, GUARD_BEFORE);

	(void)state;
	fault_install();
	assert_int_equal((uintptr_t)p % pg, 0);
	assert_true(writable(p) && writable(p + 99));
	assert_false(readable(p - 1));
	assert_false(readable(p - GUARD_PAGES * pg));
	guard_free(p);
}

static void guard_both_sides_needs_whole_pages(void **state)
{
	size_t pg = guard_page_size();
	uint8_t *p = guard_alloc(2 * pg, GUARD_BEFORE | GUARD_AFTER);

	(void)state;
	fault_install();
	assert_false(readable(p - 1));
	assert_true(writable(p) && writable(p + 2 * pg - 1));
	assert_false(readable(p + 2 * pg));
	guard_free(p);
}

static void guard_ro_is_readable_filled_and_not_writable(void **state)
{
	uint8_t *p = guard_alloc(64, GUARD_AFTER | GUARD_RO);
	uint8_t v = 0;

	(void)state;
	fault_install();
	assert_int_equal(vtlmem_load8(p + 64, &v), 0);
	assert_int_equal(v, GUARD_FILL);
	assert_int_equal(vtlmem_store8(p + 64, 1), -VTLMEM_EFAULT);
	assert_int_equal(p[64], GUARD_FILL);
	assert_true(writable(p + 63));
	guard_free(p);
}

static void guard_zero_length_and_free_null(void **state)
{
	uint8_t *p = guard_alloc(0, GUARD_AFTER);

	(void)state;
	fault_install();
	assert_false(readable(p));
	guard_free(p);
	p = guard_alloc(0, 0);
	assert_non_null(p);
	guard_free(p);
	guard_free(NULL);
}

static void fixup_counter_counts_each_fixup(void **state)
{
	uint8_t *p = guard_alloc(0, GUARD_AFTER);
	unsigned long before = fault_fixups();
	uint64_t v = 7;

	(void)state;
	fault_install();
	assert_int_equal(vtlmem_load64(p, &v), -VTLMEM_EFAULT);
	assert_int_equal(vtlmem_store64(p, 1), -VTLMEM_EFAULT);
	assert_int_equal(fault_fixups(), before + 2);
	assert_int_equal(v, 7);
	guard_free(p);
}

/* Resolver: records what it saw; makes the page accessible when asked. */
static void *seen_addr;
static int seen_write, seen_calls, resolve;

static int test_resolver(void *addr, int is_write)
{
	seen_addr = addr;
	seen_write = is_write;
	seen_calls++;
	if (!resolve)
		return 0;
	mprotect((void *)((uintptr_t)addr & ~(guard_page_size() - 1)),
		 guard_page_size(), PROT_READ | PROT_WRITE);
	return 1;
}

static void resolver_sees_address_and_access_type(void **state)
{
	uint8_t *p = guard_alloc(8, GUARD_AFTER);
	uint32_t v;
	unsigned long before = fault_fixups();

	(void)state;
	fault_install();
	fault_set_resolver(test_resolver);
	resolve = 0;
	seen_calls = 0;
	assert_int_equal(vtlmem_load32(p + 8 + 5, &v), -VTLMEM_EFAULT);
	assert_ptr_equal(seen_addr, p + 13);
	assert_int_equal(seen_write, 0);
	assert_int_equal(vtlmem_store32(p + 8 + 9, 1), -VTLMEM_EFAULT);
	assert_ptr_equal(seen_addr, p + 17);
	assert_int_equal(seen_write, 1);
	assert_int_equal(seen_calls, 2);
	assert_int_equal(fault_fixups(), before + 2);
	fault_set_resolver(NULL);
	guard_free(p);
}

static void resolver_that_maps_the_page_makes_the_access_succeed(void **state)
{
	uint8_t *p = guard_alloc(8, GUARD_AFTER);
	unsigned long before = fault_fixups();
	uint64_t v = 0;

	(void)state;
	fault_install();
	fault_set_resolver(test_resolver);
	resolve = 1;
	seen_calls = 0;
	assert_int_equal(vtlmem_store64(p + 8, 0x1122334455667788ull), 0);
	assert_int_equal(seen_calls, 1);
	assert_int_equal(seen_write, 1);
	assert_int_equal(vtlmem_load64(p + 8, &v), 0);
	assert_int_equal(v, 0x1122334455667788ull);
	assert_int_equal(seen_calls, 1);              /* no second fault */
	assert_int_equal(fault_fixups(), before);     /* no fixup taken */
	fault_set_resolver(NULL);
	resolve = 0;
	guard_free(p);
}

/*
 * In a child: make the default action the "previous" one (instead of
 * cmocka's, which would longjmp into the child's copy of the test runner),
 * install the harness, run fn, and report how the child ended.
 */
static int child_status(void (*fn)(void *), void *arg)
{
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		fault_install();
		fn(arg);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static void touch(void *p)
{
	*(volatile uint8_t *)p = 1;
}

static void raise_segv(void *unused)
{
	(void)unused;
	raise(SIGSEGV);
}

static void copy_then_touch(void *p)
{
	uint8_t b[8];

	fault_install();        /* twice: must not make itself "previous" */
	if (vtlmem_copy(b, p, 8) != 8)
		_exit(3);
	touch(p);
}

/* A fault outside the fallible routines is a real crash, not fixed up. */
static void fault_outside_library_routines_still_crashes(void **state)
{
	uint8_t *p = guard_alloc(0, GUARD_AFTER);
	int st;

	(void)state;
	st = child_status(touch, p);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
	/* also after fixups were taken and with fault_install() repeated */
	st = child_status(copy_then_touch, p);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
	guard_free(p);
}

/* A SIGSEGV sent with kill()/raise() is not a fault: never "fixed up". */
static void signal_sent_by_kill_is_not_fixed_up(void **state)
{
	int st;

	(void)state;
	st = child_status(raise_segv, NULL);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guard_after_ends_region_at_inaccessible_page),
		cmocka_unit_test(guard_before_starts_region_after_inaccessible_page),
		cmocka_unit_test(guard_both_sides_needs_whole_pages),
		cmocka_unit_test(guard_ro_is_readable_filled_and_not_writable),
		cmocka_unit_test(guard_zero_length_and_free_null),
		cmocka_unit_test(fixup_counter_counts_each_fixup),
		cmocka_unit_test(resolver_sees_address_and_access_type),
		cmocka_unit_test(resolver_that_maps_the_page_makes_the_access_succeed),
		cmocka_unit_test(fault_outside_library_routines_still_crashes),
		cmocka_unit_test(signal_sent_by_kill_is_not_fixed_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
