// SPDX-License-Identifier: MIT
/*
 * The fallible copy, fill and single-copy-atomic accessors on a real page
 * fault.
 *
 * The kernel maps a probe area by hand (its own page tables, not the vmap
 * manager):
 *   page 0..7   read-write  (8 contiguous pages, for large copies)
 *   page 8      not present
 *   page 9      read-write
 *   page 10     read-only
 *   page 11     not present
 * A copy that runs into page 8 or page 10 faults for real; the fault handler
 * resumes at the library's fixup, and the routine must report exactly how
 * many bytes it did not copy, with nothing written past the fault.
 * The handler's fault record proves the fault was taken (address, kind:
 * FAULT_PRESENT for a permission fault on a mapped page, FAULT_WRITE).
 */
#include <vtlmem/copy.h>

#include "ktest.h"

#define P(i)        (PROBE_BASE + (i) * PAGE_SIZE)
#define RW_PAGES    8
#define HOLE        P(8)
#define RW2         P(9)
#define RO          P(10)
#define HOLE2       P(11)

static uint64_t probe_pa[12];
static uint8_t buf[RW_PAGES * PAGE_SIZE + 64] __attribute__((aligned(64)));

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + 3 + (i >> 8));
}

/* The probe area's bytes as the direct map sees them. */
static uint8_t *probe_dm(uintptr_t va)
{
	unsigned i = (unsigned)((va - PROBE_BASE) / PAGE_SIZE);

	return (uint8_t *)phys_to_virt(probe_pa[i]) + (va & (PAGE_SIZE - 1));
}

/* Compare len bytes at probe address va (page by page) with b. */
static bool probe_equal(uintptr_t va, const uint8_t *b, size_t len)
{
	size_t chunk;

	while (len) {
		chunk = PAGE_SIZE - (va & (PAGE_SIZE - 1));
		if (chunk > len)
			chunk = len;
		if (memcmp(probe_dm(va), b, chunk))
			return false;
		va += chunk;
		b += chunk;
		len -= chunk;
	}
	return true;
}

/* Map the probe area once; (re)fill every mapped page with the pattern. */
static void probe_setup(void)
{
	static bool mapped;
	unsigned i, j;

	if (!mapped) {
		for (i = 0; i < 12; i++) {
			if (P(i) == HOLE || P(i) == HOLE2)
				continue;
			probe_pa[i] = page_alloc();
			if (!probe_pa[i])
				panic("probe_setup: out of pages");
			kmap_page(P(i), probe_pa[i], P(i) == RO ? KMAP_RO : KMAP_RW);
		}
		mapped = true;
	}
	for (i = 0; i < 12; i++) {
		uint8_t *p;

		if (!probe_pa[i])
			continue;
		p = phys_to_virt(probe_pa[i]);
		for (j = 0; j < PAGE_SIZE; j++)
			p[j] = pattern(i * PAGE_SIZE + j);
	}
}

/* Did a fixed-up fault happen since count0, at an address in [lo, hi)? */
static bool faulted_in(uint64_t count0, uintptr_t lo, uintptr_t hi, unsigned kind)
{
	return fault_rec.count > count0 && fault_rec.addr >= lo && fault_rec.addr < hi &&
	       fault_rec.kind == kind;
}

static const size_t sizes[] = {
	1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 129,
	255, 256, 257, 511, 512, 513, 1000, 4095, 4096, 4097, 8191, 8192, 20000,
	RW_PAGES * PAGE_SIZE,
};

/* Bytes before the fault: small ones at every offset class, then large ones. */
static const size_t befores[] = {
	0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 256,
	4095, 4096, 4097, 8191, 12345, RW_PAGES * PAGE_SIZE - 1,
};

static bool interesting(size_t n, size_t k)
{
	/* every small pair; large copies at a few offsets (TCG is slow) */
	return (n <= 257 && k <= 300) || k <= 1 || k == 4095 || k + 1 == n ||
	       k == n || (n > 4096 && k == 12345);
}

KTEST(extable_check_accepts_the_linked_table)
{
	CHECK_INT(vtlmem_extable_check(), 0);
}

KTEST(fixup_is_zero_for_addresses_outside_the_library)
{
	CHECK_EQ(vtlmem_fixup(0), 0);
	CHECK_EQ(vtlmem_fixup((uintptr_t)kernel_main), 0);
	CHECK_EQ(vtlmem_fixup((uintptr_t)kputs), 0);
	CHECK_EQ(vtlmem_fixup((uintptr_t)probe_setup + 4), 0);
	CHECK_EQ(vtlmem_fixup(KERNEL_VMA), 0);
	CHECK_EQ(vtlmem_fixup(~(uintptr_t)0), 0);
}

KTEST(copy_within_mapped_pages_copies_every_byte)
{
	size_t n = RW_PAGES * PAGE_SIZE - 3;
	uint64_t faults = fault_rec.count;

	probe_setup();
	memset(buf, 0xee, sizeof(buf));
	CHECK_EQ(vtlmem_copy(buf, (const void *)(P(0) + 1), n), 0);
	CHECK(probe_equal(P(0) + 1, buf, n));
	CHECK_EQ(buf[n], 0xee);
	CHECK_EQ(fault_rec.count, faults);
}

KTEST(copy_zero_bytes_touches_nothing)
{
	uint64_t faults = fault_rec.count;

	CHECK_EQ(vtlmem_copy(buf, (const void *)HOLE, 0), 0);
	CHECK_EQ(vtlmem_copy((void *)HOLE, buf, 0), 0);
	CHECK_EQ(vtlmem_fill((void *)RO, 0, 0), 0);
	CHECK_EQ(fault_rec.count, faults);
}

/* Read [HOLE - k, HOLE - k + n): k bytes exist, then the hole. */
KTEST(copy_from_not_present_page_returns_exact_residual)
{
	size_t i, j, n, k, got, want, done;
	uint64_t faults;

	probe_setup();
	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (j = 0; j < ARRAY_SIZE(befores); j++) {
			n = sizes[i];
			k = befores[j];
			if (!interesting(n, k))
				continue;
			memset(buf, 0xee, n + 16);
			faults = fault_rec.count;
			got = vtlmem_copy(buf, (const void *)(HOLE - k), n);
			want = n > k ? n - k : 0;
			done = n - want;
			if (got != want || !probe_equal(HOLE - k, buf, done) ||
			    buf[done] != 0xee || (done + 1 < n && buf[n - 1] != 0xee) ||
			    buf[n] != 0xee) {
				ktest_fail(__FILE__, __LINE__,
					   "n %zu, %zu before the hole: residual %zu, want %zu",
					   n, k, got, want);
				return;
			}
			if (want ? !faulted_in(faults, HOLE, HOLE + PAGE_SIZE, 0) :
				   fault_rec.count != faults) {
				ktest_fail(__FILE__, __LINE__,
					   "n %zu, k %zu: fault record %lu->%lu addr %lx error %lx",
					   n, k, faults, fault_rec.count, fault_rec.addr,
					   fault_rec.error);
				return;
			}
		}
	}
}

/* Put the pattern back into [va, va + len) of the probe area. */
static void probe_restore(uintptr_t va, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		probe_dm(va + i)[0] = pattern(va + i - PROBE_BASE);
}

/*
 * Write [end - k, end - k + n) where the k bytes before end are writable and
 * the page at end is not present (kind FAULT_WRITE) or read-only (kind
 * FAULT_PRESENT | FAULT_WRITE). Returns false after reporting a failure.
 */
static bool write_one(uintptr_t end, unsigned kind, bool fill, size_t n, size_t k)
{
	size_t got, want = n > k ? n - k : 0, done = n - want, i;
	uintptr_t dst = end - k;
	uint64_t faults = fault_rec.count;
	const char *what = fill ? "fill" : "copy";

	got = fill ? vtlmem_fill((void *)dst, 0x5c, n) : vtlmem_copy((void *)dst, buf, n);
	if (got != want) {
		ktest_fail(__FILE__, __LINE__, "%s n %zu, %zu before the fault: residual %zu, want %zu",
			   what, n, k, got, want);
		return false;
	}
	for (i = 0; i < done; i++) {
		if (probe_dm(dst + i)[0] != (fill ? 0x5c : buf[i])) {
			ktest_fail(__FILE__, __LINE__, "%s n %zu k %zu: byte %zu not written",
				   what, n, k, i);
			return false;
		}
	}
	if (done < k && probe_dm(dst + done)[0] != pattern(dst + done - PROBE_BASE)) {
		ktest_fail(__FILE__, __LINE__, "%s n %zu k %zu: wrote past the end", what, n, k);
		return false;
	}
	if (end == RO) {
		for (i = 0; i < 64; i++) {
			if (probe_dm(RO + i)[0] != pattern(RO + i - PROBE_BASE)) {
				ktest_fail(__FILE__, __LINE__,
					   "%s n %zu k %zu: read-only byte %zu changed", what, n, k, i);
				return false;
			}
		}
	}
	if (want ? !faulted_in(faults, end, end + PAGE_SIZE, kind) : fault_rec.count != faults) {
		ktest_fail(__FILE__, __LINE__, "%s n %zu, k %zu: fault record %lu->%lu addr %lx error %lx",
			   what, n, k, faults, fault_rec.count, fault_rec.addr, fault_rec.error);
		return false;
	}
	probe_restore(dst, done);
	return true;
}

static void write_into(uintptr_t end, unsigned kind, bool fill)
{
	size_t avail = end == HOLE ? RW_PAGES * PAGE_SIZE : PAGE_SIZE, i, j;

	probe_setup();
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)~pattern(i);
	for (i = 0; i < ARRAY_SIZE(sizes); i++)
		for (j = 0; j < ARRAY_SIZE(befores); j++)
			if (interesting(sizes[i], befores[j]) && befores[j] <= avail &&
			    !write_one(end, kind, fill, sizes[i], befores[j]))
				return;
}

KTEST(copy_to_not_present_page_returns_exact_residual)
{
	write_into(HOLE, FAULT_WRITE, false);
}

KTEST(copy_to_read_only_page_faults_with_exact_residual)
{
	write_into(RO, FAULT_PRESENT | FAULT_WRITE, false);
}

KTEST(fill_to_not_present_page_returns_exact_residual)
{
	write_into(HOLE, FAULT_WRITE, true);
}

KTEST(fill_to_read_only_page_faults_with_exact_residual)
{
	write_into(RO, FAULT_PRESENT | FAULT_WRITE, true);
}

KTEST(atomic_loads_from_not_present_page_fault_and_leave_output)
{
	static const uintptr_t at[] = { HOLE, HOLE + 8, HOLE + PAGE_SIZE - 8, HOLE2 };
	uint64_t faults, v64;
	uint32_t v32;
	uint16_t v16;
	uint8_t v8;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(at); i++) {
		v8 = 0x11;
		v16 = 0x2222;
		v32 = 0x33333333;
		v64 = 0x4444444444444444;
		faults = fault_rec.count;
		CHECK_INT(vtlmem_load8((const void *)at[i], &v8), -VTLMEM_EFAULT);
		CHECK_EQ(fault_rec.addr, at[i]);
		CHECK_INT(vtlmem_load16((const void *)at[i], &v16), -VTLMEM_EFAULT);
		CHECK_EQ(fault_rec.addr, at[i]);
		CHECK_INT(vtlmem_load32((const void *)at[i], &v32), -VTLMEM_EFAULT);
		CHECK_EQ(fault_rec.addr, at[i]);
		CHECK_INT(vtlmem_load64((const void *)at[i], &v64), -VTLMEM_EFAULT);
		CHECK_EQ(fault_rec.addr, at[i]);
		CHECK_EQ(fault_rec.count, faults + 4);
		CHECK_EQ(fault_rec.kind, 0);
		CHECK_EQ(v8, 0x11);
		CHECK_EQ(v16, 0x2222);
		CHECK_EQ(v32, 0x33333333);
		CHECK_EQ(v64, 0x4444444444444444);
	}
}

KTEST(atomic_stores_to_read_only_page_fault_and_write_nothing)
{
	static const unsigned offs[] = { 0, 8, 2048, PAGE_SIZE - 8 };
	uint64_t faults, before, after;
	uintptr_t va;
	size_t i;

	probe_setup();
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		va = RO + offs[i];
		memcpy(&before, probe_dm(va), 8);
		faults = fault_rec.count;
		CHECK_INT(vtlmem_store8((void *)va, 0xa1), -VTLMEM_EFAULT);
		CHECK_EQ(fault_rec.addr, va);
		CHECK_INT(vtlmem_store16((void *)va, 0xa1a2), -VTLMEM_EFAULT);
		CHECK_EQ(fault_rec.addr, va);
		CHECK_INT(vtlmem_store32((void *)va, 0xa1a2a3a4), -VTLMEM_EFAULT);
		CHECK_EQ(fault_rec.addr, va);
		CHECK_INT(vtlmem_store64((void *)va, 0xa1a2a3a4a5a6a7a8), -VTLMEM_EFAULT);
		CHECK_EQ(fault_rec.addr, va);
		CHECK_EQ(fault_rec.count, faults + 4);
		CHECK_EQ(fault_rec.kind, FAULT_PRESENT | FAULT_WRITE);
		memcpy(&after, probe_dm(va), 8);
		CHECK_EQ(after, before);
	}
	faults = fault_rec.count;
	CHECK_INT(vtlmem_store64((void *)HOLE, 1), -VTLMEM_EFAULT);
	CHECK_EQ(fault_rec.count, faults + 1);
	CHECK_EQ(fault_rec.addr, HOLE);
	CHECK_EQ(fault_rec.kind, FAULT_WRITE);
}

KTEST(atomic_loads_and_stores_move_whole_values)
{
	uintptr_t va = RW2 + 64;
	uint64_t faults = fault_rec.count, v64 = 0;
	uint32_t v32 = 0;
	uint16_t v16 = 0;
	uint8_t v8 = 0;
	uint8_t *dm;

	probe_setup();
	dm = probe_dm(va);
	CHECK_INT(vtlmem_store64((void *)va, 0x0102030405060708), 0);
	CHECK_INT(vtlmem_load64((const void *)va, &v64), 0);
	CHECK_EQ(v64, 0x0102030405060708);
	CHECK_EQ(dm[0], 0x08);
	CHECK_EQ(dm[7], 0x01);
	CHECK_INT(vtlmem_store32((void *)(va + 8), 0xdeadbeef), 0);
	CHECK_INT(vtlmem_load32((const void *)(va + 8), &v32), 0);
	CHECK_EQ(v32, 0xdeadbeef);
	CHECK_EQ(dm[8], 0xef);
	CHECK_EQ(dm[12], pattern(va + 12 - PROBE_BASE));
	CHECK_INT(vtlmem_store16((void *)(va + 16), 0xcafe), 0);
	CHECK_INT(vtlmem_load16((const void *)(va + 16), &v16), 0);
	CHECK_EQ(v16, 0xcafe);
	CHECK_EQ(dm[18], pattern(va + 18 - PROBE_BASE));
	CHECK_INT(vtlmem_store8((void *)(va + 20), 0x7e), 0);
	CHECK_INT(vtlmem_load8((const void *)(va + 20), &v8), 0);
	CHECK_EQ(v8, 0x7e);
	CHECK_EQ(dm[21], pattern(va + 21 - PROBE_BASE));
	CHECK_INT(vtlmem_load64((const void *)(RO + 8), &v64), 0);
	CHECK_EQ(v64 & 0xff, pattern(RO + 8 - PROBE_BASE));
	CHECK_EQ(fault_rec.count, faults);
}

KTEST(fault_in_one_copy_leaves_the_next_copy_intact)
{
	uint8_t small[16];

	probe_setup();
	CHECK_EQ(vtlmem_copy(small, (const void *)(HOLE - 4), 16), 12);
	CHECK_EQ(vtlmem_copy(small, (const void *)RW2, 16), 0);
	CHECK(probe_equal(RW2, small, 16));
}
