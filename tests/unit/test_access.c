/* SPDX-License-Identifier: MIT */
/*
 * Tests for the single-copy-atomic fallible accessors vtlmem_load8..64 and
 * vtlmem_store8..64 (arch/x86_64/copy.S): exact values and exact bytes
 * touched for every width, aligned and at every misalignment within a page;
 * -VTLMEM_EFAULT (-14) with nothing written for loads from an inaccessible
 * page, stores to an inaccessible or read-only page, and accesses straddling
 * into one; and no tearing against a concurrent writer (naturally aligned,
 * or unaligned within an aligned quadword).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include <vtlmem/copy.h>
#include "fault.h"

#define SENTINEL 0x5a

/* Width-generic wrappers: value in/out as uint64_t, w in {1, 2, 4, 8}. */
static int load_w(unsigned w, const void *src, void *out)
{
	switch (w) {
	case 1: return vtlmem_load8(src, out);
	case 2: return vtlmem_load16(src, out);
	case 4: return vtlmem_load32(src, out);
	default: return vtlmem_load64(src, out);
	}
}

static int store_w(unsigned w, void *dst, uint64_t v)
{
	switch (w) {
	case 1: return vtlmem_store8(dst, (uint8_t)v);
	case 2: return vtlmem_store16(dst, (uint16_t)v);
	case 4: return vtlmem_store32(dst, (uint32_t)v);
	default: return vtlmem_store64(dst, v);
	}
}

/* Little-endian value of w bytes at p. */
static uint64_t le(const uint8_t *p, unsigned w)
{
	uint64_t v = 0;
	unsigned i;

	for (i = 0; i < w; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static const unsigned widths[] = { 1, 2, 4, 8 };
#define NWIDTHS (sizeof(widths) / sizeof(widths[0]))

/*
 * The output: an 8-aligned slot of the width's type inside a byte array
 * whose other bytes are SENTINEL, so a load that writes more (or other)
 * bytes than its width is caught.
 */
struct outbuf {
	_Alignas(8) uint8_t b[24];
};

static void out_reset(struct outbuf *o)
{
	memset(o->b, SENTINEL, sizeof(o->b));
}

static void *out_slot(struct outbuf *o)
{
	return &o->b[8];
}

/* Bytes of o outside [8, 8 + w) still SENTINEL? */
static int out_rest_intact(const struct outbuf *o, unsigned w)
{
	unsigned i;

	for (i = 0; i < sizeof(o->b); i++)
		if ((i < 8 || i >= 8 + w) && o->b[i] != SENTINEL)
			return 0;
	return 1;
}

static void efault_is_minus_14(void **state)
{
	(void)state;
	assert_int_equal(VTLMEM_EFAULT, 14);
}

/* Every width at every offset 0..127 of a page (aligned and unaligned). */
static void loads_return_exact_little_endian_value_at_every_offset(void **state)
{
	uint8_t *p = guard_alloc(4096, 0);
	struct outbuf o;
	unsigned i, w, off;

	(void)state;
	fault_install();
	for (i = 0; i < 4096; i++)
		p[i] = (uint8_t)(i * 37 + 11);
	for (w = 0; w < NWIDTHS; w++) {
		for (off = 0; off < 128; off++) {
			out_reset(&o);
			assert_int_equal(load_w(widths[w], p + off, out_slot(&o)), 0);
			assert_int_equal(le(out_slot(&o), widths[w]), le(p + off, widths[w]));
			assert_true(out_rest_intact(&o, widths[w]));
		}
	}
	guard_free(p);
}

/*
 * A load ending exactly at the inaccessible page succeeds; one that starts
 * in it or straddles into it fails with -14 and leaves the output (and the
 * bytes around it) untouched.
 */
static void load_faults_exactly_when_touching_the_guard(void **state)
{
	uint8_t *p = guard_alloc(64, GUARD_AFTER);
	uint8_t *end = p + 64;
	unsigned long fixups = fault_fixups();
	unsigned long faults = 0;
	struct outbuf o;
	unsigned w, j;

	(void)state;
	fault_install();
	memset(p, 0xc3, 64);
	for (w = 0; w < NWIDTHS; w++) {
		out_reset(&o);
		assert_int_equal(load_w(widths[w], end - widths[w], out_slot(&o)), 0);
		assert_int_equal(le(out_slot(&o), widths[w]), le(end - widths[w], widths[w]));
		for (j = 1; j <= widths[w]; j++) {
			out_reset(&o);
			assert_int_equal(load_w(widths[w], end - widths[w] + j, out_slot(&o)),
					 -VTLMEM_EFAULT);
			assert_true(out_rest_intact(&o, 0));   /* all SENTINEL */
			faults++;
		}
	}
	assert_int_equal(fault_fixups() - fixups, faults);
	guard_free(p);
}

/* Loads from a read-only page work (VTL0 mappings may be read-only). */
static void load_from_read_only_page_succeeds(void **state)
{
	uint8_t *p = guard_alloc(0, GUARD_AFTER | GUARD_RO);
	struct outbuf o;
	unsigned w;

	(void)state;
	fault_install();
	for (w = 0; w < NWIDTHS; w++) {
		out_reset(&o);
		assert_int_equal(load_w(widths[w], p + 3, out_slot(&o)), 0);
		assert_int_equal(le(out_slot(&o), widths[w]),
				 le((const uint8_t[8]){ GUARD_FILL, GUARD_FILL, GUARD_FILL,
					GUARD_FILL, GUARD_FILL, GUARD_FILL, GUARD_FILL,
					GUARD_FILL }, widths[w]));
	}
	guard_free(p);
}

/* Stores write exactly their width, little-endian, at every offset 0..127. */
static void stores_write_exact_bytes_at_every_offset(void **state)
{
	uint8_t *p = guard_alloc(4096, 0);
	const uint64_t v = 0x8877665544332211ull;
	unsigned w, off, i;

	(void)state;
	fault_install();
	for (w = 0; w < NWIDTHS; w++) {
		for (off = 0; off < 128; off++) {
			memset(p, SENTINEL, 256);
			assert_int_equal(store_w(widths[w], p + off, v), 0);
			for (i = 0; i < 256; i++) {
				uint8_t want = SENTINEL;

				if (i >= off && i < off + widths[w])
					want = (uint8_t)(v >> (8 * (i - off)));
				assert_int_equal(p[i], want);
			}
		}
	}
	guard_free(p);
}

/*
 * Stores into or straddling into a guard fail with -14 and write nothing:
 * neither the guard (read-only: readable, still GUARD_FILL) nor the
 * accessible bytes before it.
 */
static void store_fault_writes_nothing(unsigned guard_flags)
{
	uint8_t *p = guard_alloc(64, GUARD_AFTER | guard_flags);
	uint8_t *end = p + 64;
	unsigned w, j, i;

	fault_install();
	memset(p, SENTINEL, 64);
	for (w = 0; w < NWIDTHS; w++) {
		for (j = 1; j <= widths[w]; j++) {
			assert_int_equal(store_w(widths[w], end - widths[w] + j,
						 0x0102030405060708ull), -VTLMEM_EFAULT);
			for (i = 0; i < 64; i++)
				assert_int_equal(p[i], SENTINEL);
			if (guard_flags & GUARD_RO)
				for (i = 0; i < 16; i++)
					assert_int_equal(end[i], GUARD_FILL);
		}
		/* ending exactly at the guard is fine */
		assert_int_equal(store_w(widths[w], end - widths[w], 0), 0);
		for (i = 0; i < widths[w]; i++)
			assert_int_equal(end[-1 - (int)i], 0);
		memset(p, SENTINEL, 64);
	}
	guard_free(p);
}

static void store_to_inaccessible_page_faults_and_writes_nothing(void **state)
{
	(void)state;
	store_fault_writes_nothing(0);
}

static void store_to_read_only_page_faults_and_writes_nothing(void **state)
{
	(void)state;
	store_fault_writes_nothing(GUARD_RO);
}

/*
 * Single-copy atomicity: a writer thread flips a field between all-zeros and
 * all-ones with vtlmem_storeN while this thread reads it with vtlmem_loadN;
 * a torn access would show a mixed value. Fields: naturally aligned, and
 * unaligned but inside one aligned quadword (what x86_64 guarantees on
 * every vendor). A reader made of narrower accesses fails this within a few
 * thousand iterations (checked by hand with a byte-wise reader).
 */
struct flipper {
	uint8_t *field;
	unsigned w;
	int stop;	/* __atomic */
};

static void *flip(void *arg)
{
	struct flipper *f = arg;
	uint64_t v = 0;

	while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
		v = ~v;
		store_w(f->w, f->field, v);
	}
	return NULL;
}

static void race_one(uint8_t *field, unsigned w)
{
	struct flipper f = { field, w, 0 };
	const uint64_t ones = w == 8 ? UINT64_MAX : (1ull << (8 * w)) - 1;
	struct outbuf o;
	pthread_t t;
	unsigned i;

	memset(field, 0, w);	/* a valid value before the writer starts */
	assert_int_equal(pthread_create(&t, NULL, flip, &f), 0);
	for (i = 0; i < 200000; i++) {
		uint64_t got;

		assert_int_equal(load_w(w, field, out_slot(&o)), 0);
		got = le(out_slot(&o), w);
		if (got != 0 && got != ones) {
			__atomic_store_n(&f.stop, 1, __ATOMIC_RELAXED);
			pthread_join(t, NULL);
			fail_msg("torn %u-byte access at %p: %#llx", w, (void *)field,
				 (unsigned long long)got);
		}
	}
	__atomic_store_n(&f.stop, 1, __ATOMIC_RELAXED);
	assert_int_equal(pthread_join(t, NULL), 0);
}

static void loads_and_stores_never_tear(void **state)
{
	uint8_t *q = guard_alloc(4096, 0);	/* page-aligned */
	unsigned w, off;

	(void)state;
	fault_install();
	for (w = 1; w < NWIDTHS; w++) {
		race_one(q + 64, widths[w]);
		race_one(q + 64 + widths[w], widths[w]);
		/* unaligned, within the quadword at q + 128 */
		for (off = 1; off + widths[w] <= 8; off += 3)
			race_one(q + 128 + off, widths[w]);
	}
	guard_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(efault_is_minus_14),
		cmocka_unit_test(loads_return_exact_little_endian_value_at_every_offset),
		cmocka_unit_test(load_faults_exactly_when_touching_the_guard),
		cmocka_unit_test(load_from_read_only_page_succeeds),
		cmocka_unit_test(stores_write_exact_bytes_at_every_offset),
		cmocka_unit_test(store_to_inaccessible_page_faults_and_writes_nothing),
		cmocka_unit_test(store_to_read_only_page_faults_and_writes_nothing),
		cmocka_unit_test(loads_and_stores_never_tear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
