// SPDX-License-Identifier: MIT
/*
 * vtlmem_copy through the library's own mappings of each memory type, on
 * the emulated MMU (arch/aarch64/copy.S, include/vtlmem/aarch64.h):
 *   - VTLMEM_CACHE_UC maps Device-nGnRnE, where an unaligned access raises
 *     an alignment fault (DFSC 0b100001) whatever SCTLR_EL1.A says; the
 *     copy's fixup finishes the bytes one at a time, so the copy still
 *     returns 0 with every byte right. trap.c counts the alignment faults
 *     it fixed up (struct cpu's align_faults): the cases check they really
 *     happened, at most one per copy (the byte tail never faults).
 *     QEMU's TCG raises them only from QEMU 9.0 on ("target/arm: Do memory
 *     type alignment check when translation enabled", merged March 2024);
 *     7.2 (Debian 12) performs unaligned Device accesses. device_aligns()
 *     asks the emulator once; where it does not check, the Device cases
 *     check the bytes and that no fault happened, and the same sweeps run
 *     again "strict": with SCTLR_EL1.A set around each copy, so that every
 *     unaligned access of the copy (either side) takes the same alignment
 *     fault Device memory raises on hardware, and the fixup path is
 *     exercised at every misalignment on any QEMU.
 *   - VTLMEM_CACHE_WC maps Normal non-cacheable: unaligned accesses are
 *     allowed there (SCTLR_EL1.A is 0), so no fault at all.
 *   - A page revoked behind the first one (kpt_revoke, as a hypervisor
 *     taking VTL0 memory away would): the exact residual at every
 *     (length, bytes before the boundary) pair, both directions, on UC
 *     (plain and strict), WC and WB; an unaligned block faults on
 *     alignment first (where alignment is checked), then the byte tail on
 *     the translation.
 * The VTL0 pages are also reached through the direct map (Normal WB) to
 * prepare and check them: a mismatched-attribute alias, harmless under
 * TCG (no caches); real hardware would need cache maintenance.
 *
 * QEMU (TCG) performs a page-crossing store whole or not at all (it
 * translates both pages before writing), so the partially performed store
 * copy.h allows ("an unaligned store crossing into a faulting page may
 * leave bytes before the boundary on arm64") cannot happen here: these
 * cases check the residual and the untouched bytes, not that repair.
 */
#include <vtlmem/copy.h>
#include <vtlmem/vmap.h>

#include "ktest.h"
#include "kvtl.h"
#include "smp.h"

#define WIN_PAGES   3
#define WIN_PG0     1100                /* VTL0 pages 1100..1102 */
#define MAX_MIS     16                  /* misalignments 0..15 */
#define SWEEP_MAX   130                 /* every length 1..130 */
#define SCTLR_A     (1UL << 1)          /* SCTLR_EL1.A: alignment check on every access */
#define DFSC_ALIGN  0x21

static uint8_t kbuf[3 * PAGE_SIZE] __attribute__((aligned(64)));
static uint8_t ksrc[3 * PAGE_SIZE] __attribute__((aligned(64)));

struct win {
	struct vtlmem_mapping *m;
	uintptr_t va;
	vtlmem_paddr_t pages[WIN_PAGES];
};

static uint64_t align_faults(void)
{
	return __atomic_load_n(&this_cpu()->align_faults, __ATOMIC_RELAXED);
}

/* Run vtlmem_copy with SCTLR_EL1.A set (strict) or as the kernel runs it. */
static bool strict;

static size_t copy(void *dst, const void *src, size_t n)
{
	unsigned long flags;
	uint64_t sctlr;
	size_t left;

	if (!strict)
		return vtlmem_copy(dst, src, n);
	/*
	 * Interrupts off: the IRQ path runs with A clear. The abort handler
	 * (entry.S, trap.c, vtlmem_fixup) runs with A set: it makes no
	 * unaligned access.
	 */
	flags = irq_save();
	sctlr = read_sysreg(sctlr_el1);
	write_sysreg(sctlr | SCTLR_A, sctlr_el1);
	isb();
	left = vtlmem_copy(dst, src, n);
	write_sysreg(sctlr, sctlr_el1);
	isb();
	irq_restore(flags);
	return left;
}

/* The window's byte at offset off, through the direct map. */
static uint8_t *win_dm(const struct win *w, size_t off)
{
	return (uint8_t *)phys_to_virt(vtlmem_pa_val(w->pages[off / PAGE_SIZE])) +
	       off % PAGE_SIZE;
}

static uint8_t win_pattern(size_t off)
{
	return vtl0_pattern(vtl0_pa(WIN_PG0) + off, 31);
}

static int win_map(struct win *w, enum vtlmem_cache cache)
{
	struct vtlmem_map_req req = { .pages = w->pages, .npages = WIN_PAGES,
				      .prot = VTLMEM_PROT_RW, .cache = cache };
	vtlmem_vaddr_t v = vtlmem_va(0);
	unsigned i;
	int err;

	kv_init();
	for (i = 0; i < WIN_PAGES; i++)
		w->pages[i] = vtl0_page(WIN_PG0 + i);
	vtl0_fill(vtl0_pa(WIN_PG0), WIN_PAGES * PAGE_SIZE, 31);
	err = vtlmem_vmap_map(kv_vm, &req, &w->m, &v);
	w->va = vtlmem_va_val(v);
	return err;
}

static void win_unmap(struct win *w)
{
	CHECK_INT(vtlmem_vmap_unmap(kv_vm, w->m), 0);
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
}

static void ksrc_fill(void)
{
	size_t i;

	for (i = 0; i < sizeof(ksrc); i++)
		ksrc[i] = (uint8_t)~(i * 7 + (i >> 8) + 1);
}

/* The lengths of the sweeps: every one up to SWEEP_MAX, then page-sized ones. */
static const size_t long_lens[] = { 255, 256, 257, 4095, 4096, 4097, 5000, 8191 };

static size_t sweep_len(size_t i)
{
	return i < SWEEP_MAX ? i + 1 : long_lens[i - SWEEP_MAX];
}

#define SWEEP_COUNT (SWEEP_MAX + ARRAY_SIZE(long_lens))

/*
 * Copy n bytes from window offset woff (in) or to it (out), the kernel side
 * at kbuf/ksrc + koff; check the return, every byte copied and the bytes
 * around untouched. Returns false after reporting. *faults: the alignment
 * faults this copy took.
 */
static bool copy_one(struct win *w, bool in, size_t woff, size_t koff, size_t n,
		     uint64_t *faults)
{
	uint64_t a0 = align_faults(), f0 = fault_rec.count;
	const char *dir = in ? "in" : "out";
	size_t got, i;

	if (in) {
		memset(kbuf + koff - 1, 0xee, n + 2);
		got = copy(kbuf + koff, (const void *)(w->va + woff), n);
	} else {
		got = copy((void *)(w->va + woff), ksrc + koff, n);
	}
	*faults = align_faults() - a0;
	if (got != 0 || fault_rec.count - f0 != *faults) {
		ktest_fail(__FILE__, __LINE__,
			   "copy %s woff %zu koff %zu n %zu: returned %zu, faults %lu (%lu alignment)",
			   dir, woff, koff, n, got, fault_rec.count - f0, *faults);
		return false;
	}
	for (i = 0; i < n; i++) {
		uint8_t want = in ? win_pattern(woff + i) : ksrc[koff + i];
		uint8_t have = in ? kbuf[koff + i] : *win_dm(w, woff + i);

		if (have != want) {
			ktest_fail(__FILE__, __LINE__,
				   "copy %s woff %zu koff %zu n %zu: byte %zu is %02x, want %02x",
				   dir, woff, koff, n, i, have, want);
			return false;
		}
	}
	if (in ? kbuf[koff - 1] != 0xee || kbuf[koff + n] != 0xee :
		 *win_dm(w, woff - 1) != win_pattern(woff - 1) ||
			 *win_dm(w, woff + n) != win_pattern(woff + n)) {
		ktest_fail(__FILE__, __LINE__, "copy %s woff %zu koff %zu n %zu: wrote outside",
			   dir, woff, koff, n);
		return false;
	}
	if (!in)
		for (i = 0; i < n; i++)
			*win_dm(w, woff + i) = win_pattern(woff + i);
	return true;
}

/*
 * Does an unaligned access to a Device mapping fault here? (QEMU: from 9.0
 * on; hardware: always.) One unaligned vtlmem_load16 through w (UC).
 */
static bool device_aligns(const struct win *w)
{
	uint16_t v;

	return vtlmem_load16((const void *)(w->va + 1), &v) != 0;
}

/*
 * Every misalignment 0..15 of the window side and of the kernel side, every
 * length 1..130 and a few long ones, both directions, at two window
 * offsets: 16 + mis (a copy of 4081 bytes or more crosses into the next
 * page) and PAGE_SIZE - 16 + mis (one of more than 16 - mis bytes does). checked: unaligned accesses fault (Device memory where
 * the emulator checks it, or strict). Returns the alignment faults in all,
 * or ~0 after a failure; *unexpected counts the copies whose faults broke
 * the rule: more than one (the byte tail never faults), or any where
 * nothing is checked, or (checked) none although a block made a
 * multi-byte access at an odd window address (n >= 4), or one although
 * both addresses and the length are multiples of 16 (every access aligned).
 */
static uint64_t sweep(struct win *w, bool checked, uint64_t *unexpected)
{
	uint64_t total = 0, f;
	size_t wm, km, li, n, woff, base;
	int dir;

	*unexpected = 0;
	ksrc_fill();
	for (dir = 0; dir < 4; dir++) {
		base = dir < 2 ? 16 : PAGE_SIZE - 16;
		for (wm = 0; wm < MAX_MIS; wm++) {
			for (km = 0; km < MAX_MIS; km++) {
				for (li = 0; li < SWEEP_COUNT; li++) {
					n = sweep_len(li);
					woff = base + wm;
					if (!copy_one(w, dir % 2 == 0, woff, 64 + km, n, &f))
						return ~(uint64_t)0;
					total += f;
					if (f > 1 || (!checked && f) ||
					    (checked && !f && (woff & 1) && n >= 4) ||
					    (f && !(woff % 16) && !(km % 16) && !(n % 16)))
						(*unexpected)++;
				}
			}
		}
	}
	return total;
}

/* The sweep on a UC mapping; strict: with SCTLR_EL1.A set. */
static void device_sweep(bool strict_mode)
{
	uint64_t faults, unexpected, f0;
	struct win w;
	bool checked;

	REQUIRE_INT(win_map(&w, VTLMEM_CACHE_UC), 0);
	checked = strict_mode || device_aligns(&w);
	f0 = fault_rec.count;
	strict = strict_mode;
	faults = sweep(&w, checked, &unexpected);
	strict = false;
	kprintf("  %s: %lu alignment faults fixed up%s\n", strict_mode ? "SCTLR_EL1.A" : "device",
		faults == ~(uint64_t)0 ? 0 : faults,
		checked ? "" : " (this emulator does not check Device alignment)");
	if (faults != ~(uint64_t)0) {
		CHECK_EQ(unexpected, 0);
		CHECK_EQ(fault_rec.count - f0, faults);
		if (checked) {
			CHECK(faults > 0);
			CHECK_EQ(fault_rec.error & 0x3f, DFSC_ALIGN);   /* the last one */
			/* strict: the last one may be on the kernel side */
			CHECK((fault_rec.addr >= w.va &&
			       fault_rec.addr < w.va + WIN_PAGES * PAGE_SIZE) ||
			      (strict_mode && fault_rec.addr >= (uintptr_t)kbuf &&
			       fault_rec.addr < (uintptr_t)kbuf + sizeof(kbuf)) ||
			      (strict_mode && fault_rec.addr >= (uintptr_t)ksrc &&
			       fault_rec.addr < (uintptr_t)ksrc + sizeof(ksrc)));
		}
	}
	win_unmap(&w);
}

KTEST(arch_copy_through_device_mapping_is_exact_at_every_alignment)
{
	device_sweep(false);
}

KTEST(arch_copy_after_alignment_faults_on_device_mapping_is_exact_at_every_alignment)
{
	device_sweep(true);
}

KTEST(arch_copy_through_normal_nc_mapping_is_exact_without_faults)
{
	uint64_t faults, unexpected, f0 = fault_rec.count;
	struct win w;

	REQUIRE_INT(win_map(&w, VTLMEM_CACHE_WC), 0);
	faults = sweep(&w, false, &unexpected);
	CHECK_EQ(faults, 0);
	CHECK_EQ(unexpected, 0);
	CHECK_EQ(fault_rec.count, f0);
	win_unmap(&w);
}

/*
 * The accessors on Device memory: single-byte and aligned ones succeed;
 * an unaligned 16..64-bit one faults where Device alignment is checked
 * (-VTLMEM_EFAULT, nothing read or written), else it is performed.
 */
KTEST(arch_unaligned_accessors_on_device_mapping_fault_where_checked)
{
	uint64_t a0, v64 = 0x4444444444444444;
	uint32_t v32 = 0x33333333;
	uint16_t v16 = 0x2222;
	uint8_t v8 = 0;
	struct win w;
	bool checked;
	int want;

	REQUIRE_INT(win_map(&w, VTLMEM_CACHE_UC), 0);
	checked = device_aligns(&w);
	want = checked ? -VTLMEM_EFAULT : 0;
	a0 = align_faults();
	CHECK_INT(vtlmem_load8((const void *)(w.va + 3), &v8), 0);
	CHECK_EQ(v8, win_pattern(3));
	CHECK_INT(vtlmem_load64((const void *)(w.va + 8), &v64), 0);
	CHECK_EQ(v64 & 0xff, win_pattern(8));
	CHECK_INT(vtlmem_store32((void *)(w.va + 12), 0xa1a2a3a4), 0);
	CHECK_EQ(*win_dm(&w, 12), 0xa4);
	CHECK_EQ(align_faults(), a0);
	v64 = 0x4444444444444444;
	CHECK_INT(vtlmem_load16((const void *)(w.va + 1), &v16), want);
	CHECK_INT(vtlmem_load32((const void *)(w.va + 2), &v32), want);
	CHECK_INT(vtlmem_load64((const void *)(w.va + 4), &v64), want);
	CHECK_INT(vtlmem_store64((void *)(w.va + 20), 0x0102030405060708), want);
	if (checked) {
		CHECK_EQ(fault_rec.addr, w.va + 20);
		CHECK_EQ(fault_rec.kind, FAULT_PRESENT | FAULT_WRITE);
		CHECK_EQ(fault_rec.error & 0x3f, DFSC_ALIGN);
		CHECK_EQ(align_faults(), a0 + 4);
		CHECK_EQ(v16, 0x2222);
		CHECK_EQ(v32, 0x33333333);
		CHECK_EQ(v64, 0x4444444444444444);
		CHECK_EQ(*win_dm(&w, 20), win_pattern(20));
	} else {
		CHECK_EQ(align_faults(), a0);
		CHECK_EQ(v16, win_pattern(1) | win_pattern(2) << 8);
		CHECK_EQ(v32 & 0xff, win_pattern(2));
		CHECK_EQ(v64 & 0xff, win_pattern(4));
		CHECK_EQ(*win_dm(&w, 20), 0x08);
		CHECK_EQ(*win_dm(&w, 27), 0x01);
	}
	win_unmap(&w);
}

/* The residual sweep's lengths and bytes before the revoked page. */
static const size_t res_long[] = { 255, 256, 257, 4095, 4096, 4097, 8191 };
static const size_t res_before_long[] = { 255, 256, 4095, 4096 };

static bool res_interesting(size_t n, size_t k)
{
	return (n <= SWEEP_MAX && k <= SWEEP_MAX + 1) || k <= 1 || k == 15 || k == 16 ||
	       k + 1 == n || k == n || k == 4095;
}

/*
 * One copy across the boundary into the revoked page 1: k bytes of page 0
 * before it, n in all; the kernel side at koff. Returns false after
 * reporting; *aligned: the alignment faults taken.
 */
static bool residual_one(struct win *w, bool in, size_t n, size_t k, size_t koff,
			 uint64_t *aligned)
{
	size_t woff = PAGE_SIZE - k, want = n > k ? n - k : 0, done = n - want, got, i;
	uint64_t f0 = fault_rec.count, a0 = align_faults();
	const char *dir = in ? "in" : "out";

	if (in) {
		memset(kbuf + koff - 1, 0xee, n + 2);
		got = copy(kbuf + koff, (const void *)(w->va + woff), n);
	} else {
		got = copy((void *)(w->va + woff), ksrc + koff, n);
	}
	*aligned = align_faults() - a0;
	if (got != want) {
		ktest_fail(__FILE__, __LINE__,
			   "copy %s n %zu, %zu before the revoked page, koff %zu: residual %zu, want %zu",
			   dir, n, k, koff, got, want);
		return false;
	}
	for (i = 0; i < done; i++) {
		uint8_t wnt = in ? win_pattern(woff + i) : ksrc[koff + i];
		uint8_t have = in ? kbuf[koff + i] : *win_dm(w, woff + i);

		if (have != wnt) {
			ktest_fail(__FILE__, __LINE__,
				   "copy %s n %zu k %zu koff %zu: byte %zu is %02x, want %02x",
				   dir, n, k, koff, i, have, wnt);
			return false;
		}
	}
	/* nothing written past the copied bytes: kernel side, or page 0 and page 1 */
	for (i = done; i < n + (in ? 1 : 0) && (in || woff + i < 2 * PAGE_SIZE); i++) {
		bool bad = in ? kbuf[koff + i] != 0xee :
				*win_dm(w, woff + i) != win_pattern(woff + i);

		if (bad || (in && kbuf[koff - 1] != 0xee)) {
			ktest_fail(__FILE__, __LINE__,
				   "copy %s n %zu k %zu koff %zu: byte %zu written (residual %zu)",
				   dir, n, k, koff, i, got);
			return false;
		}
	}
	if (!in && woff && *win_dm(w, woff - 1) != win_pattern(woff - 1)) {
		ktest_fail(__FILE__, __LINE__, "copy out n %zu k %zu: wrote before dst", n, k);
		return false;
	}
	if (want && !(fault_rec.count > f0 && fault_rec.addr >= w->va + PAGE_SIZE &&
		      fault_rec.addr < w->va + 2 * PAGE_SIZE &&
		      fault_rec.kind == (in ? 0 : FAULT_WRITE))) {
		ktest_fail(__FILE__, __LINE__,
			   "copy %s n %zu k %zu: fault record %lu->%lu addr %lx error %lx",
			   dir, n, k, f0, fault_rec.count, fault_rec.addr, fault_rec.error);
		return false;
	}
	if (!want && fault_rec.count - f0 != *aligned) {
		ktest_fail(__FILE__, __LINE__, "copy %s n %zu k %zu: a fault but no residual",
			   dir, n, k);
		return false;
	}
	if (!in)
		for (i = 0; i < done; i++)
			*win_dm(w, woff + i) = win_pattern(woff + i);
	return true;
}

/*
 * Every (length, bytes before the boundary) pair up to 130 and some long
 * ones, both directions, with page 1 of the window revoked; the kernel
 * side's misalignment varies with the pair ((n + k) mod 16). Returns the
 * alignment faults taken, or ~0 after a failure.
 */
static uint64_t residual_sweep(enum vtlmem_cache cache, bool strict_mode, bool *checked)
{
	uint64_t total = 0, f;
	size_t ni, ki, n, k, nn = SWEEP_MAX + ARRAY_SIZE(res_long);
	size_t nk = SWEEP_MAX + 2 + ARRAY_SIZE(res_before_long);
	struct win w;
	uint64_t saved;
	int dir;

	if (win_map(&w, cache)) {
		ktest_fail(__FILE__, __LINE__, "map cache %d failed", cache);
		return ~(uint64_t)0;
	}
	ksrc_fill();
	*checked = strict_mode || (cache == VTLMEM_CACHE_UC && device_aligns(&w));
	saved = kpt_revoke(w.va + PAGE_SIZE);
	strict = strict_mode;
	for (dir = 0; dir < 2; dir++) {
		for (ni = 0; ni < nn; ni++) {
			n = ni < SWEEP_MAX ? ni + 1 : res_long[ni - SWEEP_MAX];
			for (ki = 0; ki < nk; ki++) {
				k = ki < SWEEP_MAX + 2 ? ki : res_before_long[ki - SWEEP_MAX - 2];
				if (!res_interesting(n, k))
					continue;
				if (!residual_one(&w, dir == 0, n, k, 64 + (n + k) % 16, &f)) {
					total = ~(uint64_t)0;
					goto out;
				}
				total += f;
			}
		}
	}
out:
	strict = false;
	kpt_restore(w.va + PAGE_SIZE, saved);
	win_unmap(&w);
	return total;
}

static void residual_case(enum vtlmem_cache cache, bool strict_mode, const char *what)
{
	bool checked = false;
	uint64_t faults = residual_sweep(cache, strict_mode, &checked);

	if (faults == ~(uint64_t)0)
		return;
	kprintf("  %s, page revoked: %lu alignment faults fixed up\n", what, faults);
	if (checked)
		CHECK(faults > 0);
	else
		CHECK_EQ(faults, 0);
}

KTEST(arch_copy_into_revoked_page_through_device_mapping_returns_exact_residual)
{
	residual_case(VTLMEM_CACHE_UC, false, "device");
}

KTEST(arch_copy_into_revoked_page_after_alignment_faults_returns_exact_residual)
{
	residual_case(VTLMEM_CACHE_UC, true, "device, SCTLR_EL1.A");
}

KTEST(arch_copy_into_revoked_page_through_normal_nc_mapping_returns_exact_residual)
{
	residual_case(VTLMEM_CACHE_WC, false, "normal NC");
}

KTEST(arch_copy_into_revoked_page_through_wb_mapping_returns_exact_residual)
{
	residual_case(VTLMEM_CACHE_WB, false, "WB");
}
