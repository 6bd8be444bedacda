/* SPDX-License-Identifier: MIT */
/*
 * Tests for vtlmem_copy() and vtlmem_fill() (arch/x86_64/copy.S): the exact
 * residual contract under real page faults. A case is (n, k, side, mis):
 * copy n bytes where byte k is the first one that faults (k == n: the
 * faulting page starts right after the last byte), the fault on the source
 * side (inaccessible page) or the destination side (read-only page, so the
 * untouched bytes can be read back), and mis the misalignment (0..15) of the
 * OTHER side's buffer. The faulting side's start is P - k for a page
 * boundary P, so its misalignment is (-k) mod 16: it runs through all 16
 * values as k does. Every case checks:
 *   - the return value is exactly n - k;
 *   - dst[0, k) equals src[0, k) (the source bytes are < 0x80, different
 *     from every canary, and vary byte to byte, so shifts are caught);
 *   - dst[k, n) and 64 bytes after it still hold their canary (the read-only
 *     guard's GUARD_FILL, or CANARY in an ordinary buffer), and so do the 64
 *     bytes before dst;
 *   - a fixup was taken iff k < n.
 *
 * Coverage (MAXLEN = 3 pages = 12288; SMALL_MAX = 512 is the register-move
 * limit of copy.S, above it rep movsb/stosb):
 *   T1  every n in 0..576 x every k in 0..n, both sides, mis cycling with
 *       (7n + k) mod 16: all register-move paths, every block/overlap
 *       position, the switch to rep movsb, every faulting-side alignment.
 *   T2  every n in 577..MAXLEN x k in {0, 1, n/2, n-1, n} plus one
 *       pseudo-random k, both sides.
 *   T3  every n within 16 of a page multiple (4096, 8192, 12288) and
 *       577..600 x every k within 64 of 0, of n, and of every page multiple
 *       below n, both sides.
 *   T4  every (faulting-side, other-side) misalignment pair, 16 x 16, for
 *       19 lengths from 1 to MAXLEN (16 consecutive k around n/2), both sides.
 *   T5  50000 fixed-seed random (n, k, side, mis).
 *   Distance matrices (the aliasing rule, copy.h): 8 lengths above 512 x
 *       8 fault offsets x both sides x distances 0..64 and 4032..4095,
 *       modulo 4 KiB under each rule, and exactly 4 GiB multiples apart
 *       under both, checking on x86_64 which path (rep movsb or the block
 *       loop) took the first fault (elsewhere only the 4K matrix runs: the
 *       rule has no effect there); and every fault offset of 513, 700
 *       and 1500 bytes at every distance 1..63 (the loop's aligned
 *       blocks). Negative controls (by hand): copy.S
 *       masking with 0xfff whatever the rule fails the 4G matrix ("took
 *       the other path") and the AUTO tests; an AUTO that always picks 4K
 *       fails the AUTO tests on an Intel FSRM host.
 *   Plus no-fault copies of every n in 0..MAXLEN at every destination
 *   misalignment (source misalignment varying with it), all 256 pairs for
 *   n <= 300, both sides faulting at once, and n == 0 touching nothing.
 * Fill: the same tiers with the destination side only (T1 to T3, random),
 * no-fault fills at every n and misalignment, and c truncated to a byte.
 *
 * The full matrix "every n in 0..MAXLEN x every k in 0..n" (75.5 million
 * pairs, both copy sides and fill, mis 0: 226.5 million cases) takes two
 * real faults per case (~5 us): 46 minutes on the shared 2-vCPU machine it
 * was written on (passed there). It runs only with VTLMEM_TEST_EXHAUSTIVE=1
 * in the environment, instead of the tests above (test
 * copy_and_fill_every_length_every_offset).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include <vtlmem/copy.h>
#include "fault.h"

#define PG        4096u
#define MAXLEN    (3 * PG)
#define MARGIN    64u
#define CANARY    0xc3
#define FILLC     0x5a
#define T1_MAX    576u

enum side { FAULT_SRC, FAULT_DST };

static struct {
	uint8_t *fsrc_end;     /* first byte of an inaccessible guard */
	uint8_t *fdst_end;     /* first byte of a read-only guard (GUARD_FILL) */
	uint8_t *fsrc, *fdst;  /* MAXLEN + MARGIN bytes before those */
	uint8_t *psrc, *pdst;  /* plain buffers, MAXLEN + 2 * MARGIN + 16 */
	uint8_t *canary_ref;   /* MAXLEN + 2 * MARGIN bytes of CANARY */
	uint8_t *guard_ref;    /* GUARD_PAGES pages of GUARD_FILL */
	unsigned long cases, failures;
} B;

#define PLAIN_LEN (MAXLEN + 2 * MARGIN + 16)
#define GUARD_LEN ((size_t)GUARD_PAGES * PG)

/* Source pattern: varies byte to byte, always < 0x80. */
static uint8_t pattern(size_t i)
{
	uint32_t x = (uint32_t)i * 2654435761u;

	return (uint8_t)((x >> 17) & 0x7f);
}

static int setup(void **state)
{
	size_t i;

	(void)state;
	if (guard_page_size() != PG)
		return -1;
	B.fsrc = guard_alloc(MAXLEN + MARGIN, GUARD_AFTER);
	B.fdst = guard_alloc(MAXLEN + MARGIN, GUARD_AFTER | GUARD_RO);
	B.fsrc_end = B.fsrc + MAXLEN + MARGIN;
	B.fdst_end = B.fdst + MAXLEN + MARGIN;
	B.psrc = guard_alloc(PLAIN_LEN, 0);
	B.pdst = guard_alloc(PLAIN_LEN, 0);
	B.canary_ref = malloc(PLAIN_LEN);
	B.guard_ref = malloc(GUARD_LEN);
	if (!B.canary_ref || !B.guard_ref)
		return -1;
	for (i = 0; i < MAXLEN + MARGIN; i++)
		B.fsrc[i] = pattern(i);
	for (i = 0; i < PLAIN_LEN; i++)
		B.psrc[i] = pattern(i + 12345);
	memset(B.fdst, CANARY, MAXLEN + MARGIN);
	memset(B.pdst, CANARY, PLAIN_LEN);
	memset(B.canary_ref, CANARY, PLAIN_LEN);
	memset(B.guard_ref, GUARD_FILL, GUARD_LEN);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	guard_free(B.fsrc);
	guard_free(B.fdst);
	guard_free(B.psrc);
	guard_free(B.pdst);
	free(B.canary_ref);
	free(B.guard_ref);
	return 0;
}

static void begin(void)
{
	fault_install();
	B.cases = 0;
	B.failures = 0;
}

/* Record a failed case (the first few are printed with their parameters). */
static void failed(const char *op, size_t n, size_t k, enum side side,
		   unsigned mis, const char *what)
{
	if (B.failures++ < 10)
		print_error("%s n=%zu k=%zu side=%s mis=%u: %s\n", op, n, k,
			    side == FAULT_SRC ? "src" : "dst", mis, what);
}

/* Finish a test: no failures, and exactly the expected number of cases. */
static void end(unsigned long expected_cases)
{
	if (B.failures)
		fail_msg("%lu of %lu cases failed", B.failures, B.cases);
	assert_int_equal(B.cases, expected_cases);
}

static int same(const uint8_t *p, const uint8_t *ref, size_t len)
{
	return memcmp(p, ref, len) == 0;
}

/*
 * Bytes at and after the first faulting destination byte: in the read-only
 * guard (checked up to its end) or in the plain buffer (up to n + MARGIN).
 */
static int suffix_untouched(const uint8_t *dst, size_t n, size_t k, enum side side)
{
	size_t len = n - k + MARGIN;

	if (side == FAULT_DST)
		return same(dst + k, B.guard_ref, len < GUARD_LEN ? len : GUARD_LEN);
	return same(dst + k, B.canary_ref, len);
}

static void copy_case(size_t n, size_t k, enum side side, unsigned mis)
{
	const uint8_t *src;
	uint8_t *dst;
	unsigned long fixups = fault_fixups();
	size_t r;

	if (side == FAULT_SRC) {
		src = B.fsrc_end - k;
		dst = B.pdst + MARGIN + mis;
	} else {
		src = B.psrc + MARGIN + mis;
		dst = B.fdst_end - k;
	}
	B.cases++;
	r = vtlmem_copy(dst, src, n);
	if (r != n - k)
		failed("copy", n, k, side, mis, "wrong residual");
	else if (!same(dst, src, k))
		failed("copy", n, k, side, mis, "copied prefix differs");
	else if (!suffix_untouched(dst, n, k, side))
		failed("copy", n, k, side, mis, "bytes from k on were written");
	else if (!same(dst - MARGIN, B.canary_ref, MARGIN))
		failed("copy", n, k, side, mis, "bytes before dst were written");
	else if ((fault_fixups() != fixups) != (k < n))
		failed("copy", n, k, side, mis, "fixup taken iff k < n violated");
	if (side == FAULT_SRC)
		memset(dst - MARGIN, CANARY, n + 2 * MARGIN);
	else
		memset(dst - MARGIN, CANARY, k + MARGIN);
}

/* Fill: the destination side faults (read-only guard); mis is unused. */
static void fill_case(size_t n, size_t k)
{
	uint8_t *dst = B.fdst_end - k;
	unsigned long fixups = fault_fixups();
	size_t r, i;

	B.cases++;
	r = vtlmem_fill(dst, FILLC, n);
	for (i = 0; i < k && dst[i] == FILLC; i++)
		;
	if (r != n - k)
		failed("fill", n, k, FAULT_DST, 0, "wrong residual");
	else if (i != k)
		failed("fill", n, k, FAULT_DST, 0, "filled prefix differs");
	else if (!suffix_untouched(dst, n, k, FAULT_DST))
		failed("fill", n, k, FAULT_DST, 0, "bytes from k on were written");
	else if (!same(dst - MARGIN, B.canary_ref, MARGIN))
		failed("fill", n, k, FAULT_DST, 0, "bytes before dst were written");
	else if ((fault_fixups() != fixups) != (k < n))
		failed("fill", n, k, FAULT_DST, 0, "fixup taken iff k < n violated");
	memset(dst - MARGIN, CANARY, k + MARGIN);
}

/* Run one (n, k) for copy (both sides) or fill; returns cases run. */
static unsigned long one(int is_fill, size_t n, size_t k, unsigned mis)
{
	if (is_fill) {
		fill_case(n, k);
		return 1;
	}
	copy_case(n, k, FAULT_SRC, mis);
	copy_case(n, k, FAULT_DST, mis);
	return 2;
}

/* Fixed-seed generator (xorshift64). */
static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* ---- tiers, shared by copy and fill ---- */

static unsigned long tier1(int is_fill)
{
	unsigned long c = 0;
	size_t n, k;

	for (n = 0; n <= T1_MAX; n++)
		for (k = 0; k <= n; k++)
			c += one(is_fill, n, k, (unsigned)(7 * n + k) & 15);
	return c;
}

static unsigned long tier2(int is_fill)
{
	unsigned long c = 0;
	size_t n, i;

	rng_state = 0x9e3779b97f4a7c15ull;
	for (n = T1_MAX + 1; n <= MAXLEN; n++) {
		const size_t ks[] = { 0, 1, n / 2, n - 1, n,
				      (size_t)(rng() % (n + 1)) };

		for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++)
			c += one(is_fill, n, ks[i], (unsigned)(n + i) & 15);
	}
	return c;
}

/* k within 64 of 0, of n, or of a page multiple below n. */
static int near_boundary(size_t n, size_t k)
{
	size_t m = (k + 64) % PG;

	return k <= 64 || n - k <= 64 || (k >= 64 && m <= 128);
}

static int boundary_length(size_t n)
{
	size_t m = (n + 16) % PG;

	return (n > T1_MAX && n <= 600) || (n >= PG - 16 && m <= 32);
}

/* (n, k) pairs T3 selects, counted independently (by a Python one-liner). */
#define T3_PAIRS 22825ul

static unsigned long tier3(int is_fill)
{
	unsigned long c = 0;
	size_t n, k;

	for (n = T1_MAX + 1; n <= MAXLEN; n++) {
		if (!boundary_length(n))
			continue;
		for (k = 0; k <= n; k++)
			if (near_boundary(n, k))
				c += one(is_fill, n, k, (unsigned)(n + 3 * k) & 15);
	}
	return c;
}

static unsigned long tier5(int is_fill, unsigned long count)
{
	unsigned long c = 0, i;

	rng_state = 0x2545f4914f6cdd1dull;
	for (i = 0; i < count; i++) {
		size_t n = (size_t)(rng() % (MAXLEN + 1));
		size_t k = (size_t)(rng() % (n + 1));
		unsigned mis = (unsigned)(rng() & 15);

		if (is_fill) {
			fill_case(n, k);
		} else {
			copy_case(n, k, (rng() & 1) ? FAULT_SRC : FAULT_DST, mis);
		}
		c++;
	}
	return c;
}

/* ---- copy ---- */

static void copy_of_zero_bytes_touches_nothing(void **state)
{
	uint8_t *g = guard_alloc(0, GUARD_AFTER);     /* g: inaccessible */
	unsigned long fixups;

	(void)state;
	fault_install();
	fixups = fault_fixups();
	assert_int_equal(vtlmem_copy(g, g + 100, 0), 0);
	assert_int_equal(vtlmem_copy(NULL, NULL, 0), 0);
	assert_int_equal(vtlmem_fill(g, 0x11, 0), 0);
	assert_int_equal(vtlmem_fill(NULL, 0, 0), 0);
	assert_int_equal(fault_fixups(), fixups);
	guard_free(g);
}

/*
 * No faults: every n in 0..MAXLEN at every destination misalignment (the
 * source misalignment varies with it), and all 256 misalignment pairs for
 * n <= 300. dst must equal src and the margins keep their canary.
 */
static void nofault_copy(size_t n, unsigned smis, unsigned dmis)
{
	const uint8_t *src = B.psrc + MARGIN + smis;
	uint8_t *dst = B.pdst + MARGIN + dmis;
	size_t r;

	B.cases++;
	r = vtlmem_copy(dst, src, n);
	if (r != 0)
		failed("copy", n, n, FAULT_SRC, dmis, "no fault, nonzero residual");
	else if (!same(dst, src, n))
		failed("copy", n, n, FAULT_SRC, dmis, "no fault, copy differs");
	else if (!same(dst - MARGIN, B.canary_ref, MARGIN) ||
		 !same(dst + n, B.canary_ref, MARGIN))
		failed("copy", n, n, FAULT_SRC, dmis, "no fault, wrote outside");
	memset(dst - MARGIN, CANARY, n + 2 * MARGIN);
}

static void copy_without_fault_all_lengths_and_alignments(void **state)
{
	unsigned long fixups;
	size_t n;
	unsigned s, d;

	(void)state;
	begin();
	fixups = fault_fixups();
	for (n = 0; n <= MAXLEN; n++)
		for (d = 0; d < 16; d++)
			nofault_copy(n, (unsigned)(n + 5 * d) & 15, d);
	for (n = 0; n <= 300; n++)
		for (s = 0; s < 16; s++)
			for (d = 0; d < 16; d++)
				nofault_copy(n, s, d);
	assert_int_equal(fault_fixups(), fixups);
	end((MAXLEN + 1) * 16ul + 301 * 256ul);
}

static void copy_t1_every_fault_offset_up_to_576_bytes(void **state)
{
	(void)state;
	begin();
	end(tier1(0));
	assert_int_equal(B.cases, (T1_MAX + 1) * (T1_MAX + 2ul));   /* 2 sides */
}

static void copy_t2_chosen_fault_offsets_every_length(void **state)
{
	(void)state;
	begin();
	end(tier2(0));
	assert_int_equal(B.cases, 12ul * (MAXLEN - T1_MAX));
}

static void copy_t3_fault_offsets_near_boundaries_at_boundary_lengths(void **state)
{
	(void)state;
	begin();
	end(tier3(0));
	assert_int_equal(B.cases, 2 * T3_PAIRS);
}

/*
 * T4: all 16 x 16 misalignment pairs. The faulting side's misalignment is
 * (-k) mod 16, so 16 consecutive k times 16 values of mis cover every pair.
 */
static void copy_t4_every_misalignment_pair(void **state)
{
	static const size_t lens[] = { 1, 2, 7, 8, 15, 16, 31, 33, 63, 64, 65,
				       100, 511, 512, 513, 1000, 4096, 4097, MAXLEN };
	unsigned long c = 0;
	size_t i, k, k0;
	unsigned mis;

	(void)state;
	begin();
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i];

		k0 = n / 2 > 8 ? n / 2 - 8 : 0;
		for (k = k0; k < k0 + 16 && k <= n; k++)
			for (mis = 0; mis < 16; mis++)
				c += one(0, n, k, mis);
	}
	end(c);
	assert_true(B.cases > 8000);
}

static void copy_t5_random_cases(void **state)
{
	(void)state;
	begin();
	end(tier5(0, 50000));
}

/*
 * The aliasing rule (copy.h: vtlmem_copy_set_alias): a copy longer than
 * SMALL_MAX whose destination is 1..63 bytes ahead of the source modulo the
 * rule's period (4 KiB or 4 GiB) takes the block loop, any other takes
 * rep movsb (x86_64). Both paths keep the exact residual at every fault
 * offset: the matrices below run each chosen fault offset, both sides, for
 * every distance 0..64 (0 and 64: the edges of the range) and 4032..4095
 * (the source ahead), under each rule, and check on x86_64 which path the
 * copy took: the first fault's instruction (fault_fixup_pc) is rep movsb
 * (f3 a4) exactly when the rule and the real distance say so, as
 * route_is_rep() restates the rule independently of copy.S. The other side
 * is placed in a plain buffer (bigbuf) at the distance asked for modulo
 * 4 KiB, or, for the 4 GiB period, at exactly a multiple of 4 GiB plus the
 * distance (far_map).
 */
static uint8_t *bigbuf;
#define BIG_LEN (MAXLEN + 2 * PG + 2 * MARGIN)
#define GIB4 (1ull << 32)

/* Far placements: the other side at fault address +/- (far_off + d). */
static uint8_t *far_map[2];
static size_t far_len[2];
static int64_t far_off[2];

static int rule_in_test = VTLMEM_COPY_ALIAS_AUTO;

#if defined(__x86_64__)
/* The path the rule gives a copy longer than SMALL_MAX: 1 = rep movsb. */
static int route_is_rep(int rule, const void *dst, const void *src)
{
	uint64_t dist = (uint64_t)((uintptr_t)dst - (uintptr_t)src);
	uint64_t mask = rule == VTLMEM_COPY_ALIAS_4G ? 0xffffffffull : 0xfffull;

	return !((dist & mask) >= 1 && (dist & mask) <= 63);
}

/* 1 if the instruction at pc is rep movsb (x86_64: f3 a4). */
static int is_rep_movsb(uintptr_t pc)
{
	const uint8_t *p = (const uint8_t *)pc;

	return p != NULL && p[0] == 0xf3 && p[1] == 0xa4;
}
#endif

/* The rule AUTO decides on this host (copy.h), restated: Intel + FSRM 4G. */
static int cpu_rule(void)
{
#if defined(__x86_64__)
	uint32_t a = 0, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	if (memcmp(&b, "Genu", 4) == 0 && memcmp(&d, "ineI", 4) == 0 &&
	    memcmp(&c, "ntel", 4) == 0 && a >= 7) {
		a = 7;
		c = 0;
		__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
		if (d & (1u << 4))                      /* FSRM */
			return VTLMEM_COPY_ALIAS_4G;
	}
#endif
	return VTLMEM_COPY_ALIAS_4K;
}

/*
 * One case at distance d: far 0 places the other side in bigbuf with
 * (dst - src) mod 4 KiB == d; far 1 places it at exactly
 * (dst - src) == far_off[side] + d (a multiple of 4 GiB plus d).
 */
static void copy_case_dist(size_t n, size_t k, enum side side, unsigned d, int far)
{
	uintptr_t base = (uintptr_t)bigbuf + MARGIN, want, at;
	const uint8_t *src;
	uint8_t *dst;
	unsigned long fixups = fault_fixups();
	size_t r;

	B.cases++;
	if (side == FAULT_SRC) {
		src = B.fsrc_end - k;
		want = ((uintptr_t)src + d) & (PG - 1);          /* dst - src == d */
		at = base + ((want - base) & (PG - 1));
		dst = far ? (uint8_t *)((uintptr_t)src + (uintptr_t)far_off[side] + d)
			  : (uint8_t *)at;
		memset(dst - MARGIN, CANARY, n + 2 * MARGIN);
	} else {
		dst = B.fdst_end - k;
		want = ((uintptr_t)dst - d) & (PG - 1);          /* src = dst - d */
		at = base + ((want - base) & (PG - 1));
		src = far ? (const uint8_t *)((uintptr_t)dst - (uintptr_t)far_off[side] - d)
			  : (const uint8_t *)at;
		memcpy((uint8_t *)src, B.psrc, n);
	}
	if ((((uintptr_t)dst - (uintptr_t)src) & (PG - 1)) != d ||
	    (far && (uint32_t)((uintptr_t)dst - (uintptr_t)src) != d)) {
		failed("copy", n, k, side, d, "test placement");
		return;
	}
	r = vtlmem_copy(dst, src, n);
	if (r != n - k)
		failed("copy", n, k, side, d, "wrong residual");
	else if (!same(dst, src, k))
		failed("copy", n, k, side, d, "copied prefix differs");
	else if (!suffix_untouched(dst, n, k, side))
		failed("copy", n, k, side, d, "bytes from k on were written");
	else if ((fault_fixups() != fixups) != (k < n))
		failed("copy", n, k, side, d, "fixup taken iff k < n violated");
#if defined(__x86_64__)
	else if (k < n && n > 512 &&
		 is_rep_movsb(fault_fixup_pc(fixups + 1)) != route_is_rep(rule_in_test, dst, src))
		failed("copy", n, k, side, d, "took the other path than the rule says");
#endif
	if (side == FAULT_DST)
		memset(dst - MARGIN, CANARY, k + MARGIN);
}

/* Lengths above SMALL_MAX x 8 fault offsets x 2 sides x 129 distances. */
static unsigned long dist_matrix(int rule, int far)
{
	static const size_t lens[] = { 513, 576, 1000, 4095, 4096, 4097, 8191, MAXLEN };
	unsigned long c = 0;
	size_t i, j, n, ks[8];
	unsigned d, side;

	assert_int_equal(vtlmem_copy_set_alias((enum vtlmem_copy_alias)rule), 0);
	rule_in_test = rule;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		n = lens[i];
		ks[0] = 0, ks[1] = 1, ks[2] = 63, ks[3] = 64, ks[4] = n / 2;
		ks[5] = n - 65, ks[6] = n - 1, ks[7] = n;
		for (d = 0; d <= 4095; d = d == 64 ? 4032 : d + 1)
			for (side = 0; side < 2; side++)
				for (j = 0; j < 8; j++, c++)
					copy_case_dist(n, ks[j], (enum side)side, d, far);
	}
	assert_int_equal(vtlmem_copy_set_alias(VTLMEM_COPY_ALIAS_AUTO), 0);
	return c;
}

static void dist_test(int rule)
{
	unsigned long c;

	bigbuf = guard_alloc(BIG_LEN, 0);
	assert_non_null(bigbuf);
	begin();
	c = dist_matrix(rule, 0);
	end(c);
	assert_int_equal(c, 8 * (65 + 64) * 2 * 8);
	guard_free(bigbuf);
}

/* Under 4K, distances 1..63 take the loop (the AMD trap: 4K aliasing). */
static void copy_short_distance_under_rule_4k_takes_the_loop_with_exact_residuals(void **state)
{
	(void)state;
	dist_test(VTLMEM_COPY_ALIAS_4K);
}

/*
 * The loop above SMALL_MAX (copy.S's .Lcopy_align): one block at p = 0,
 * then blocks from the destination's next 64-byte boundary, then the last
 * 64 bytes ending at n. Every fault offset k of three lengths, at every
 * distance 1..63 under the 4K rule, both sides: the faulting side's start
 * moves with k, so the destination takes every alignment mod 64 and k
 * falls on every position of the head block, of the aligned blocks and of
 * the final one. x86_64 only (arm64 has no such path: its loop runs in
 * T1..T5 at every length).
 */
static void copy_loop_above_512_every_fault_offset_at_every_short_distance(void **state)
{
	static const size_t lens[] = { 513, 700, 1500 };
	unsigned long c = 0, want = 0;
	size_t i, n, k;
	unsigned d, side;

	(void)state;
#if !defined(__x86_64__)
	skip();
#endif
	bigbuf = guard_alloc(BIG_LEN, 0);
	assert_non_null(bigbuf);
	begin();
	assert_int_equal(vtlmem_copy_set_alias(VTLMEM_COPY_ALIAS_4K), 0);
	rule_in_test = VTLMEM_COPY_ALIAS_4K;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		n = lens[i];
		want += (n + 1) * 63 * 2;
		for (d = 1; d <= 63; d++)
			for (side = 0; side < 2; side++)
				for (k = 0; k <= n; k++, c++)
					copy_case_dist(n, k, (enum side)side, d, 0);
	}
	assert_int_equal(vtlmem_copy_set_alias(VTLMEM_COPY_ALIAS_AUTO), 0);
	end(c);
	assert_int_equal(c, want);
	guard_free(bigbuf);
}

/*
 * Under 4G, the same distances (4 KiB, not 4 GiB, aliased) take rep movsb.
 * Off x86_64 the rule has no effect (the 4K matrix already ran the same
 * code): skipped.
 */
static void copy_short_distance_under_rule_4g_takes_rep_movsb_with_exact_residuals(void **state)
{
	(void)state;
#if defined(__x86_64__)
	dist_test(VTLMEM_COPY_ALIAS_4G);
#else
	skip();
#endif
}

/*
 * Map the far side for one guard buffer g (len bytes ending at its guard):
 * [g - 2 pages, g + len + MAXLEN + 2 pages) moved by +/- m * 4 GiB for the
 * first m in 1..64 whose range is free (MAP_FIXED_NOREPLACE). sign: +1 for
 * the destination of a source-side fault (dst = src + off + d), -1 for the
 * source of a destination-side fault (src = dst - off - d), so the stored
 * offset is the distance dst - src minus d either way.
 */
static int map_far(int side, const uint8_t *g, size_t len)
{
	uintptr_t lo = ((uintptr_t)g & ~(uintptr_t)(PG - 1)) - 2 * PG;
	size_t span = len + MAXLEN + 4 * PG;
	int m, sgn;

	for (m = 1; m <= 64; m++) {
		for (sgn = 1; sgn >= -1; sgn -= 2) {
			int64_t off = (int64_t)m * (int64_t)GIB4 * sgn;
			uintptr_t at = lo + (uintptr_t)(side == FAULT_SRC ? off : -off);
			void *p = mmap((void *)at, span, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

			if (p == MAP_FAILED)
				continue;
			if ((uintptr_t)p != at) {     /* a kernel without NOREPLACE */
				munmap(p, span);
				continue;
			}
			far_map[side] = p;
			far_len[side] = span;
			far_off[side] = off;
			return 0;
		}
	}
	return -1;
}

/*
 * Buffers whose distance is a multiple of 4 GiB plus 0..64 or 4032..4095:
 * distances 1..63 take the loop under both rules (rep movsb is slow there
 * on Intel too), the others rep movsb. Needs two mappings exactly 4 GiB
 * multiples away from the guard buffers (found by MAP_FIXED_NOREPLACE).
 * x86_64 only.
 */
static void copy_4g_aliased_distance_takes_the_loop_under_both_rules(void **state)
{
	unsigned long c;

	(void)state;
#if !defined(__x86_64__)
	skip();         /* no rule has an effect: the 4K matrix ran this code */
#endif
	if (map_far(FAULT_SRC, B.fsrc, MAXLEN + MARGIN) || map_far(FAULT_DST, B.fdst, MAXLEN + MARGIN))
		fail_msg("no free range 4 GiB multiples away from the guard buffers");
	begin();
	c = dist_matrix(VTLMEM_COPY_ALIAS_4K, 1);
	c += dist_matrix(VTLMEM_COPY_ALIAS_4G, 1);
	end(c);
	assert_int_equal(c, 2 * 8 * (65 + 64) * 2 * 8);
	munmap(far_map[FAULT_SRC], far_len[FAULT_SRC]);
	munmap(far_map[FAULT_DST], far_len[FAULT_DST]);
}

/*
 * AUTO (the initial rule) is decided from the CPU: GenuineIntel with FSRM
 * 4G, any other CPU 4K (arm64: 4K); get never reports AUTO, and a rule set
 * explicitly is the one in force until the next set.
 */
static void copy_alias_rule_auto_is_decided_by_the_cpu(void **state)
{
	(void)state;
	assert_int_equal(vtlmem_copy_set_alias(VTLMEM_COPY_ALIAS_AUTO), 0);
	assert_int_equal(vtlmem_copy_get_alias(), cpu_rule());
	assert_int_equal(vtlmem_copy_get_alias(), cpu_rule());
	assert_int_equal(vtlmem_copy_set_alias(VTLMEM_COPY_ALIAS_4K), 0);
	assert_int_equal(vtlmem_copy_get_alias(), VTLMEM_COPY_ALIAS_4K);
	assert_int_equal(vtlmem_copy_set_alias(VTLMEM_COPY_ALIAS_4G), 0);
	assert_int_equal(vtlmem_copy_get_alias(), VTLMEM_COPY_ALIAS_4G);
	assert_int_equal(vtlmem_copy_set_alias(VTLMEM_COPY_ALIAS_AUTO), 0);
	assert_int_equal(vtlmem_copy_get_alias(), cpu_rule());
}

/*
 * A copy is what decides AUTO when nothing asked before: right after
 * set(AUTO), a faulting copy of 1000 bytes at distance 5 (4 KiB-aliased,
 * not 4 GiB) takes the path of the CPU's rule (x86_64: rep movsb on an
 * Intel CPU with FSRM, the loop elsewhere), with the exact residual, and
 * the rule in force afterwards is the CPU's.
 */
static void copy_decides_an_auto_rule_on_first_need(void **state)
{
	(void)state;
	bigbuf = guard_alloc(BIG_LEN, 0);
	assert_non_null(bigbuf);
	begin();
	assert_int_equal(vtlmem_copy_set_alias(VTLMEM_COPY_ALIAS_AUTO), 0);
	rule_in_test = cpu_rule();
	copy_case_dist(1000, 700, FAULT_SRC, 5, 0);
	end(1);
	assert_int_equal(vtlmem_copy_get_alias(), cpu_rule());
	guard_free(bigbuf);
}

/* Any other value is -VTLMEM_EINVAL and leaves the rule in force alone. */
static void copy_alias_rule_rejects_unknown_values(void **state)
{
	(void)state;
	assert_int_equal(vtlmem_copy_set_alias(VTLMEM_COPY_ALIAS_4G), 0);
	assert_int_equal(vtlmem_copy_set_alias((enum vtlmem_copy_alias)3), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_copy_get_alias(), VTLMEM_COPY_ALIAS_4G);
	assert_int_equal(vtlmem_copy_set_alias((enum vtlmem_copy_alias)-1), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_copy_get_alias(), VTLMEM_COPY_ALIAS_4G);
	assert_int_equal(vtlmem_copy_set_alias(VTLMEM_COPY_ALIAS_4K), 0);
	assert_int_equal(vtlmem_copy_set_alias((enum vtlmem_copy_alias)100), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_copy_get_alias(), VTLMEM_COPY_ALIAS_4K);
	assert_int_equal(vtlmem_copy_set_alias(VTLMEM_COPY_ALIAS_AUTO), 0);
}

/* Both sides fault: the residual counts from the earlier fault. */
static void copy_with_both_sides_faulting_stops_at_first_fault(void **state)
{
	static const size_t lens[] = { 10, 100, 600, 5000 };
	unsigned long fixups;
	size_t i, ks, kd;

	(void)state;
	fault_install();
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t n = lens[i];

		for (ks = 0; ks < n; ks += n / 5 + 1) {
			for (kd = 0; kd < n; kd += n / 7 + 1) {
				const uint8_t *src = B.fsrc_end - ks;
				uint8_t *dst = B.fdst_end - kd;
				size_t first = ks < kd ? ks : kd;

				fixups = fault_fixups();
				assert_int_equal(vtlmem_copy(dst, src, n), n - first);
				assert_memory_equal(dst, src, first);
				assert_memory_equal(B.fdst_end, B.guard_ref, 64);
				if (kd > first)
					assert_memory_equal(dst + first, B.canary_ref,
							    kd - first);
				assert_true(fault_fixups() > fixups);
				memset(dst, CANARY, kd);
			}
		}
	}
}

/* ---- fill ---- */

static void nofault_fill(size_t n, unsigned mis, int c)
{
	uint8_t *dst = B.pdst + MARGIN + mis;
	size_t r, i;

	B.cases++;
	r = vtlmem_fill(dst, c, n);
	for (i = 0; i < n && dst[i] == (uint8_t)c; i++)
		;
	if (r != 0)
		failed("fill", n, n, FAULT_DST, mis, "no fault, nonzero residual");
	else if (i != n)
		failed("fill", n, n, FAULT_DST, mis, "no fault, wrong bytes");
	else if (!same(dst - MARGIN, B.canary_ref, MARGIN) ||
		 !same(dst + n, B.canary_ref, MARGIN))
		failed("fill", n, n, FAULT_DST, mis, "no fault, wrote outside");
	memset(dst - MARGIN, CANARY, n + 2 * MARGIN);
}

static void fill_without_fault_all_lengths_and_alignments(void **state)
{
	unsigned long fixups;
	size_t n;
	unsigned d;

	(void)state;
	begin();
	fixups = fault_fixups();
	for (n = 0; n <= MAXLEN; n++)
		for (d = 0; d < 16; d++)
			nofault_fill(n, d, (int)((n * 16 + d) % 255) + 1);
	assert_int_equal(fault_fixups(), fixups);
	end((MAXLEN + 1) * 16ul);
}

static void fill_uses_the_low_byte_of_c(void **state)
{
	static const int cs[] = { 0, 0xff, 0x1ff, -1, 0x100, -256, 0x12345678 };
	static const size_t lens[] = { 1, 3, 7, 16, 64, 65, 512, 513, 4096 };
	size_t i, j;

	(void)state;
	begin();
	for (i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		for (j = 0; j < sizeof(lens) / sizeof(lens[0]); j++)
			nofault_fill(lens[j], (unsigned)j & 15, cs[i]);
	end(7 * 9);
}

static void fill_t1_every_fault_offset_up_to_576_bytes(void **state)
{
	(void)state;
	begin();
	end(tier1(1));
	assert_int_equal(B.cases, (T1_MAX + 1) * (T1_MAX + 2ul) / 2);
}

static void fill_t2_chosen_fault_offsets_every_length(void **state)
{
	(void)state;
	begin();
	end(tier2(1));
	assert_int_equal(B.cases, 6ul * (MAXLEN - T1_MAX));
}

static void fill_t3_fault_offsets_near_boundaries_at_boundary_lengths(void **state)
{
	(void)state;
	begin();
	end(tier3(1));
	assert_int_equal(B.cases, T3_PAIRS);
}

static void fill_t5_random_cases(void **state)
{
	(void)state;
	begin();
	end(tier5(1, 25000));
}

/* ---- opt-in: the full matrix ---- */

static void copy_and_fill_every_length_every_offset(void **state)
{
	unsigned long c = 0;
	size_t n, k;

	(void)state;
	begin();
	for (n = 0; n <= MAXLEN; n++) {
		for (k = 0; k <= n; k++) {
			c += one(0, n, k, 0);
			c += one(1, n, k, 0);
		}
	}
	end(c);
	assert_int_equal(B.cases, 3ul * (MAXLEN + 1) * (MAXLEN + 2) / 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(copy_of_zero_bytes_touches_nothing),
		cmocka_unit_test(copy_without_fault_all_lengths_and_alignments),
		cmocka_unit_test(copy_t1_every_fault_offset_up_to_576_bytes),
		cmocka_unit_test(copy_t2_chosen_fault_offsets_every_length),
		cmocka_unit_test(copy_t3_fault_offsets_near_boundaries_at_boundary_lengths),
		cmocka_unit_test(copy_t4_every_misalignment_pair),
		cmocka_unit_test(copy_t5_random_cases),
		cmocka_unit_test(copy_with_both_sides_faulting_stops_at_first_fault),
		cmocka_unit_test(copy_short_distance_under_rule_4k_takes_the_loop_with_exact_residuals),
		cmocka_unit_test(copy_loop_above_512_every_fault_offset_at_every_short_distance),
		cmocka_unit_test(copy_short_distance_under_rule_4g_takes_rep_movsb_with_exact_residuals),
		cmocka_unit_test(copy_4g_aliased_distance_takes_the_loop_under_both_rules),
		cmocka_unit_test(copy_alias_rule_auto_is_decided_by_the_cpu),
		cmocka_unit_test(copy_decides_an_auto_rule_on_first_need),
		cmocka_unit_test(copy_alias_rule_rejects_unknown_values),
		cmocka_unit_test(fill_without_fault_all_lengths_and_alignments),
		cmocka_unit_test(fill_uses_the_low_byte_of_c),
		cmocka_unit_test(fill_t1_every_fault_offset_up_to_576_bytes),
		cmocka_unit_test(fill_t2_chosen_fault_offsets_every_length),
		cmocka_unit_test(fill_t3_fault_offsets_near_boundaries_at_boundary_lengths),
		cmocka_unit_test(fill_t5_random_cases),
	};
	const struct CMUnitTest full[] = {
		cmocka_unit_test(copy_and_fill_every_length_every_offset),
	};
	const char *ex = getenv("VTLMEM_TEST_EXHAUSTIVE");

	if (ex && strcmp(ex, "1") == 0)
		return cmocka_run_group_tests(full, setup, teardown);
	return cmocka_run_group_tests(tests, setup, teardown);
}
