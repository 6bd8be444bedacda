/* SPDX-License-Identifier: MIT */
/*
 * The VTL0 copy calls (vtl0.h), end to end on the host (vtl0env: simulated
 * physical memory, real reservation table and vmap manager, MMU mirror with
 * real faults). VTL0 bytes are checked through the direct map.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vtlmem/vtl0.h>
#include "vtl0env.h"
#include "../../src/reserve_claim.h"

#define PG VTLMEM_PAGE_SIZE

static struct vtl0env env;
#define E (&env)
#define CTX (&env.ctx)

static void start(void)
{
	vtl0env_init(E, 4);
}

static void finish(void)
{
	assert_int_equal(vtl0env_fini(E), 0);
}

static void pattern(uint8_t *b, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)((i * 151 + seed * 37 + (i >> 10)) ^ 0xa3);
}

static void fill_phys(uint64_t pa, size_t len, unsigned seed)
{
	pattern(vtl0env_dm(E, pa), len, seed);
}

static bool reserved(uint64_t pa, uint64_t len)
{
	return vtlmem_is_reserved(&E->rt, vtlmem_pa(pa), len, VTLMEM_RES_SHARED);
}

static void init_rejects_null_arguments(void **state)
{
	struct vtlmem_vtl0 c;

	(void)state;
	start();
	assert_int_equal(vtlmem_vtl0_init(NULL, &E->rt, E->vm), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_init(&c, NULL, E->vm), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_init(&c, &E->rt, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_init(&c, &E->rt, E->vm), 0);
	assert_ptr_equal(c.rt, &E->rt);
	assert_ptr_equal(c.vm, E->vm);
	assert_ptr_equal(c.plat, &E->hp.ops);
	finish();
}

/*
 * Contiguous copies of many lengths at many offsets, crossing pages: the
 * exact bytes both ways, per-CPU slots only (2 pages at a time), nothing
 * reserved afterwards.
 */
static void contiguous_copies_cross_pages_with_slots_only(void **state)
{
	static const size_t lens[] = { 1, 7, 8, 72, 4095, 4096, 4097, 8191, 8192, 8193,
				       3 * 4096 + 5, 16 * 4096, 16 * 4096 + 3 };
	static const uint64_t offs[] = { 0, 1, 8, 100, 4095 };
	uint64_t base = vtl0env_pa(400);
	uint8_t *in, *out, *before;
	struct vtl0env_snap s0, s1;
	size_t i, j, done, len, region = 20 * PG;
	uint64_t pa, pages;

	(void)state;
	start();
	in = malloc(region);
	out = malloc(region);
	before = malloc(region);
	assert_non_null(in);
	assert_non_null(out);
	assert_non_null(before);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		for (j = 0; j < sizeof(offs) / sizeof(offs[0]); j++) {
			len = lens[i];
			pa = base + offs[j];
			pages = ((pa & (PG - 1)) + len + PG - 1) / PG;
			fill_phys(base, region, (unsigned)(i * 7 + j));
			memcpy(before, vtl0env_dm(E, base), region);
			vtl0env_snap(E, &s0);
			memset(out, 0, len + 1);
			assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa), out, len, &done), 0);
			assert_int_equal(done, len);
			assert_memory_equal(out, vtl0env_dm(E, pa), len);
			assert_int_equal(out[len], 0);
			vtl0env_snap(E, &s1);
			assert_int_equal(s1.vm.slot_maps - s0.vm.slot_maps, (pages + 1) / 2);
			assert_int_equal(s1.vm.maps, s0.vm.maps);
			assert_true(vtl0env_same_state(&s0, &s1));
			pattern(in, len, (unsigned)(i + 100 * j));
			assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(pa), in, len, &done), 0);
			assert_int_equal(done, len);
			assert_memory_equal(vtl0env_dm(E, pa), in, len);
			assert_memory_equal(vtl0env_dm(E, base), before, offs[j]);
			assert_memory_equal(vtl0env_dm(E, pa + len), before + offs[j] + len,
					    region - offs[j] - len);
			vtl0env_snap(E, &s1);
			assert_int_equal(s1.vm.maps, s0.vm.maps);
			assert_true(vtl0env_same_state(&s0, &s1));
		}
	}
	assert_false(reserved(base, region));
	free(in);
	free(out);
	free(before);
	finish();
}

static void zero_lengths_touch_nothing_and_bad_arguments_are_refused(void **state)
{
	vtlmem_paddr_t pg[1] = { vtl0env_page(1) };
	struct vtl0env_snap s0, s1;
	uint8_t b[8];
	size_t done = 4;

	(void)state;
	start();
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(0), NULL, 0, &done), 0);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(UINT64_MAX), b, 0, NULL), 0);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, NULL, 0, PG, NULL, 0, NULL), 0);
	assert_int_equal(vtlmem_vtl0_write_pages(CTX, pg, 1, 0, NULL, 0, NULL), 0);
	done = 4;
	assert_int_equal(vtlmem_vtl0_read(NULL, vtl0env_page(1), b, 8, &done), -VTLMEM_EINVAL);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtl0env_page(1), NULL, 8, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtl0env_page(1), NULL, 8, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_read_pages(NULL, pg, 1, 0, b, 8, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 1, 0, NULL, 8, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, NULL, 1, 0, b, 8, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 0, 0, b, 8, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_write_pages(CTX, pg, 1, PG, b, 8, NULL), -VTLMEM_EINVAL);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	finish();
}

static void contiguous_copies_refuse_what_is_not_vtl0_memory(void **state)
{
	struct vtl0env_snap s0, s1;
	uint8_t b[16];
	size_t done = 3;

	(void)state;
	start();
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(0), b, 16, &done), -VTLMEM_EPERM);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(PG - 8), b, 16, NULL), -VTLMEM_EPERM);
	/* page-table pages and the rest of the secure area */
	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(HOSTPLAT_PT_BASE), b, 16, NULL),
			 -VTLMEM_EPERM);
	/* straddling into VTL0 from below, out of VTL0 at the top */
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(HOSTPLAT_VTL0_BASE - 8), b, 16, NULL),
			 -VTLMEM_EPERM);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(VTL0ENV_PHYS - 8), b, 16, NULL),
			 -VTLMEM_EPERM);
	/* a hole the platform marks secure inside VTL0 RAM */
	hostplat_add_secure(&E->hp, vtl0env_pa(50), PG);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(vtl0env_pa(50) - 4), b, 16, NULL),
			 -VTLMEM_EPERM);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(1ull << 52), b, 16, NULL), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa((1ull << 52) - 8), b, 16, NULL),
			 -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(UINT64_MAX - 8), b, 16, NULL),
			 -VTLMEM_EOVERFLOW);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(vtl0env_pa(51)), b, 16, NULL), 0);
	finish();
}

static void copies_respect_other_accessors_reservations(void **state)
{
	struct vtlmem_range r = { vtl0env_page(60), PG };
	vtlmem_paddr_t pg[2] = { vtl0env_page(61), vtl0env_page(60) };
	uint8_t b[16] = { 0 };
	vtlmem_resv_t h;
	size_t done = 1;

	(void)state;
	start();
	assert_int_equal(vtlmem_reserve(&E->rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &h, NULL), 0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtl0env_page(60), b, 16, &done), -VTLMEM_EBUSY);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(vtl0env_pa(60) - 8), b, 16, NULL),
			 -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 2, PG - 8, b, 16, NULL), -VTLMEM_EBUSY);
	/* a copy that does not reach the reserved page is fine */
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 2, PG - 16, b, 16, NULL), 0);
	assert_int_equal(vtlmem_release(&E->rt, h), 0);
	assert_int_equal(vtlmem_reserve(&E->rt, &r, 1, VTLMEM_RES_SHARED, &h, NULL), 0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtl0env_page(60), b, 16, NULL), 0);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtl0env_page(60), b, 16, NULL), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_release(&E->rt, h), 0);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtl0env_page(60), b, 16, NULL), 0);
	finish();
}

static void page_list_copies_follow_the_list_and_reserve_only_touched_pages(void **state)
{
	vtlmem_paddr_t pg[5] = { vtl0env_page(74), vtl0env_page(70), vtl0env_page(73),
				 vtl0env_page(71), vtl0env_page(72) };
	struct vtlmem_range tail = { vtl0env_page(72), PG };
	uint8_t in[4 * PG], out[4 * PG + 1], span[5 * PG];
	struct vtl0env_snap s0, s1;
	vtlmem_resv_t other;
	size_t done;
	unsigned i;

	(void)state;
	start();
	for (i = 0; i < 5; i++)
		fill_phys(vtlmem_pa_val(pg[i]), PG, i);
	/* the last page of the list is someone else's: copies that stop short work */
	assert_int_equal(vtlmem_reserve(&E->rt, &tail, 1, VTLMEM_RES_EXCLUSIVE, &other, NULL), 0);
	vtl0env_snap(E, &s0);
	out[3 * PG + 50] = 0x11;
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 5, 300, out, 3 * PG + 50, &done), 0);
	assert_int_equal(done, 3 * PG + 50);
	assert_int_equal(out[3 * PG + 50], 0x11);
	vtl0env_gather(E, pg, 300, span, 3 * PG + 50);
	assert_memory_equal(out, span, 3 * PG + 50);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.slot_maps - s0.vm.slot_maps, 2);
	assert_int_equal(s1.vm.maps, s0.vm.maps);
	assert_true(vtl0env_same_state(&s0, &s1));
	pattern(in, sizeof(in), 9);
	assert_int_equal(vtlmem_vtl0_write_pages(CTX, pg, 5, 4095, in, 3 * PG + 1, &done), 0);
	assert_int_equal(done, 3 * PG + 1);
	vtl0env_gather(E, pg, 4095, span, 3 * PG + 1);
	assert_memory_equal(span, in, 3 * PG + 1);
	assert_int_equal(vtlmem_vtl0_write_pages(CTX, pg, 5, 4095, in, 3 * PG + 2, &done),
			 -VTLMEM_EBUSY);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_release(&E->rt, other), 0);
	/* the list must hold the whole copy */
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 2, 100, out, 2 * PG - 99, NULL),
			 -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 1, 0, out, PG + 1, NULL), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 5, 1, out, SIZE_MAX, NULL),
			 -VTLMEM_EOVERFLOW);
	/* touched pages are validated, untouched ones are not looked at */
	pg[1] = vtlmem_pa(vtl0env_pa(70) + 1);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 5, 0, out, PG + 1, NULL), -VTLMEM_EINVAL);
	pg[1] = pg[0];
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 5, 0, out, PG + 1, NULL), -VTLMEM_EINVAL);
	pg[1] = vtlmem_pa(HOSTPLAT_PT_BASE);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 5, 0, out, PG + 1, NULL), -VTLMEM_EPERM);
	pg[1] = vtlmem_pa(1ull << 52);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 5, 0, out, PG + 1, NULL), -VTLMEM_ERANGE);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 5, 0, out, PG, &done), 0);
	assert_int_equal(done, PG);
	finish();
}

static void page_lists_of_too_many_runs_are_refused(void **state)
{
	vtlmem_paddr_t pg[VTLMEM_PHYSPTR_MAX_RUNS + 1];
	struct vtl0env_snap s0, s1;
	uint8_t *buf = malloc((VTLMEM_PHYSPTR_MAX_RUNS + 1) * PG);
	size_t done;
	unsigned i;

	(void)state;
	start();
	assert_non_null(buf);
	for (i = 0; i <= VTLMEM_PHYSPTR_MAX_RUNS; i++)
		pg[i] = vtl0env_page(500 + 2 * i);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, VTLMEM_PHYSPTR_MAX_RUNS + 1, 0, buf,
						(VTLMEM_PHYSPTR_MAX_RUNS + 1) * PG, &done),
			 -VTLMEM_E2BIG);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	/* a copy touching fewer pages of the same list is fine */
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, VTLMEM_PHYSPTR_MAX_RUNS + 1, 0, buf,
						VTLMEM_PHYSPTR_MAX_RUNS * PG, &done), 0);
	assert_int_equal(done, VTLMEM_PHYSPTR_MAX_RUNS * PG);
	free(buf);
	finish();
}

struct smc_args {
	uint64_t a[9];
};

static void the_typed_macros_copy_exactly_one_object(void **state)
{
	uint64_t pa = vtl0env_pa(80) + PG - 40;   /* straddles two pages */
	struct smc_args in, out;
	unsigned i;

	(void)state;
	start();
	for (i = 0; i < 9; i++)
		in.a[i] = 0x0101010101010101ull * (i + 1);
	memset(vtl0env_dm(E, pa - 8), 0xcc, sizeof(in) + 16);
	assert_int_equal(VTLMEM_VTL0_WRITE(CTX, vtlmem_pa(pa), &in), 0);
	assert_memory_equal(vtl0env_dm(E, pa), &in, sizeof(in));
	assert_int_equal(vtl0env_dm(E, pa - 1)[0], 0xcc);
	assert_int_equal(vtl0env_dm(E, pa + sizeof(in))[0], 0xcc);
	memset(&out, 0, sizeof(out));
	assert_int_equal(VTLMEM_VTL0_READ(CTX, vtlmem_pa(pa), &out), 0);
	assert_memory_equal(&out, &in, sizeof(in));
	assert_int_equal(VTLMEM_VTL0_READ(CTX, vtlmem_pa(0), &out), -VTLMEM_EPERM);
	finish();
}

static void fields_are_loaded_and_stored_whole(void **state)
{
	static const unsigned widths[] = { 1, 2, 4, 8 };
	static const uint64_t vals[] = { 0x9a, 0x8b7c, 0x6d5e4f30, 0x0123456789abcdefull };
	uint64_t pa = vtl0env_pa(90), v;
	struct vtl0env_snap s0, s1;
	uint8_t before[PG];
	unsigned i;

	(void)state;
	start();
	fill_phys(pa, PG, 4);
	for (i = 0; i < 4; i++) {
		uint64_t at = pa + PG - widths[i];

		memcpy(before, vtl0env_dm(E, pa), PG);
		assert_int_equal(vtlmem_vtl0_store(CTX, vtlmem_pa(at), widths[i], vals[i]), 0);
		assert_memory_equal(vtl0env_dm(E, at), &vals[i], widths[i]);
		assert_memory_equal(vtl0env_dm(E, pa), before, PG - widths[i]);
		v = ~0ull;
		assert_int_equal(vtlmem_vtl0_load(CTX, vtlmem_pa(at), widths[i], &v), 0);
		assert_int_equal(v, vals[i]);
		if (widths[i] > 1) {
			assert_int_equal(vtlmem_vtl0_load(CTX, vtlmem_pa(at + 1), widths[i], &v),
					 -VTLMEM_EINVAL);
			assert_int_equal(vtlmem_vtl0_store(CTX, vtlmem_pa(pa + widths[i] / 2),
							   widths[i], 0), -VTLMEM_EINVAL);
		}
	}
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_vtl0_load(NULL, vtlmem_pa(pa), 8, &v), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_load(CTX, vtlmem_pa(pa), 8, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_load(CTX, vtlmem_pa(pa), 3, &v), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_load(CTX, vtlmem_pa(pa), 16, &v), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_store(NULL, vtlmem_pa(pa), 8, 0), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_store(CTX, vtlmem_pa(pa), 1, 0x100), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_store(CTX, vtlmem_pa(pa), 4, 1ull << 32), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_store(CTX, vtlmem_pa(pa), 0, 0), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_load(CTX, vtlmem_pa(0), 8, &v), -VTLMEM_EPERM);
	assert_int_equal(vtlmem_vtl0_store(CTX, vtlmem_pa(HOSTPLAT_PT_BASE), 8, 0), -VTLMEM_EPERM);
	assert_int_equal(vtlmem_vtl0_load(CTX, vtlmem_pa(1ull << 52), 8, &v), -VTLMEM_ERANGE);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	finish();
}

static void a_fault_mid_copy_reports_the_exact_count_and_releases_everything(void **state)
{
	vtlmem_paddr_t pg[3] = { vtl0env_page(102), vtl0env_page(100), vtl0env_page(101) };
	uint64_t pa = vtl0env_pa(110) + 10;
	uint8_t in[4 * PG], out[4 * PG], before[5 * PG];
	struct vtl0env_snap s0, s1;
	size_t done;
	uint64_t v = 5;

	(void)state;
	start();
	fill_phys(vtl0env_pa(110), 5 * PG, 1);
	memcpy(before, vtl0env_dm(E, vtl0env_pa(110)), sizeof(before));
	pattern(in, sizeof(in), 2);
	vtl0env_snap(E, &s0);
	/* the fourth of five pages is taken away */
	vtl0env_refuse(E, vtl0env_pa(113));
	memset(out, 0, sizeof(out));
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa), out, 4 * PG, &done), -VTLMEM_EFAULT);
	assert_int_equal(done, 3 * PG - 10);
	assert_memory_equal(out, before + 10, 3 * PG - 10);
	assert_int_equal(out[3 * PG - 10], 0);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(pa), in, 4 * PG, &done), -VTLMEM_EFAULT);
	assert_int_equal(done, 3 * PG - 10);
	assert_memory_equal(vtl0env_dm(E, pa), in, 3 * PG - 10);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(113)), before + 3 * PG, 2 * PG);
	assert_int_equal(vtlmem_vtl0_load(CTX, vtl0env_page(113), 8, &v), -VTLMEM_EFAULT);
	assert_int_equal(v, 5);
	assert_int_equal(vtlmem_vtl0_store(CTX, vtl0env_page(113), 8, 6), -VTLMEM_EFAULT);
	/* through a page list: the second listed page */
	vtl0env_refuse(E, vtl0env_pa(100));
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 3, 5, out, 3 * PG - 5, &done),
			 -VTLMEM_EFAULT);
	assert_int_equal(done, PG - 5);
	assert_int_equal(vtlmem_vtl0_write_pages(CTX, pg, 3, 0, in, 2, &done), 0);
	assert_int_equal(done, 2);
	vtl0env_refuse(E, 0);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_same_state(&s0, &s1));
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa), out, 4 * PG, &done), 0);
	assert_int_equal(done, 4 * PG);
	finish();
}

static void steady_state_calls_allocate_nothing(void **state)
{
	vtlmem_paddr_t pg[3] = { vtl0env_page(122), vtl0env_page(120), vtl0env_page(121) };
	uint8_t buf[16 * PG];
	unsigned long allocs;
	uint64_t v;
	size_t done;
	int i;

	(void)state;
	start();
	/* iteration 0 warms the reservation table's object cache */
	allocs = E->hp.allocs;
	for (i = 0; i < 101; i++) {
		if (i == 1)
			allocs = E->hp.allocs;
		assert_int_equal(vtlmem_vtl0_read(CTX, vtl0env_page(130), buf, 8, &done), 0);
		assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(vtl0env_pa(130) + 4000), buf, 72,
						   &done), 0);
		assert_int_equal(vtlmem_vtl0_read(CTX, vtl0env_page(140), buf, 16 * PG, &done), 0);
		assert_int_equal(vtlmem_vtl0_write_pages(CTX, pg, 3, 7, buf, 3 * PG - 7, &done), 0);
		assert_int_equal(vtlmem_vtl0_load(CTX, vtl0env_page(131), 8, &v), 0);
		assert_int_equal(vtlmem_vtl0_store(CTX, vtl0env_page(131), 4, 3), 0);
	}
	assert_int_equal(E->hp.allocs, allocs);
	finish();
}

static int count_pages(void *arg, size_t index, vtlmem_paddr_t page, const void *entries,
		       uint32_t count)
{
	(void)index;
	(void)page;
	(void)entries;
	(void)count;
	++*(size_t *)arg;
	return 0;
}

static void calls_fail_with_enospc_while_this_cpus_slots_are_taken(void **state)
{
	vtlmem_paddr_t mine[4], pg[1] = { vtl0env_page(151) };
	struct vtlmem_range r = { vtl0env_page(160), 4 * PG };
	struct vtlmem_chain_hdr ch = { .next = 0, .count = 0, .flags = 0 };
	uint64_t visited[2], v = 0;
	uint8_t b[8] = { 0 }, ents[64];
	struct vtlmem_chain_walk w = {
		.entry_size = 8, .max_pages = 2, .visited = visited, .buf = ents,
		.buf_size = sizeof(ents), .fn = count_pages,
	};
	struct vtl0env_snap s0, s1;
	struct vtlmem_slot s;
	vtlmem_resv_t res;
	size_t done = 5, seen = 0;
	unsigned i;

	(void)state;
	start();
	w.arg = &seen;
	memcpy(vtl0env_dm(E, vtl0env_pa(152)), &ch, sizeof(ch));
	for (i = 0; i < 4; i++)
		mine[i] = vtl0env_page(160 + i);
	assert_int_equal(vtlmem_reserve(&E->rt, &r, 1, VTLMEM_RES_SHARED, &res, NULL), 0);
	assert_int_equal(vtlmem_slot_map(E->vm, mine, 4, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, res, &s), 0);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtl0env_page(150), b, 8, &done), -VTLMEM_ENOSPC);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtl0env_page(150), b, 8, NULL), -VTLMEM_ENOSPC);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 1, 8, b, 8, NULL), -VTLMEM_ENOSPC);
	assert_int_equal(vtlmem_vtl0_load(CTX, vtl0env_page(150), 8, &v), -VTLMEM_ENOSPC);
	assert_int_equal(vtlmem_vtl0_store(CTX, vtl0env_page(150), 8, 1), -VTLMEM_ENOSPC);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(152), &w, &done), -VTLMEM_ENOSPC);
	assert_int_equal(done, 0);
	assert_int_equal(seen, 0);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_same_state(&s0, &s1));
	assert_int_equal(vtlmem_slot_unmap(E->vm, &s), 0);
	assert_int_equal(vtlmem_release(&E->rt, res), 0);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(152), &w, &done), 0);
	assert_int_equal(seen, 1);
	finish();
}

/* ---- the top of the address space (reserve.h, vtl0.h Granularity) ---- */

/*
 * Every VTL0 call on the 8 bytes at pa (or the page holding them): read,
 * write, load, store, the page-list copies, a chain walk and a ring over
 * that page. All must return want; nothing may be reserved or mapped
 * unless want is 0 (then the calls really copied).
 */
static void every_call_at(uint64_t pa, int want)
{
	uint64_t page = pa & ~(PG - 1), off = pa & (PG - 1), v = 0;
	vtlmem_paddr_t pg[1] = { vtlmem_pa(page) };
	uint64_t buf = 0x0123456789abcdefull, got = 0;
	uint64_t visited[1];
	uint8_t entries[16];
	size_t done = 99, pages = 99, fn_calls = 0;
	struct vtlmem_chain_walk w = { 16, 1, visited, entries, sizeof(entries), count_pages,
				       &fn_calls };
	struct vtlmem_ring ring;

	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(pa), &buf, 8, &done), want);
	assert_int_equal(done, want ? 0 : 8);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa), &got, 8, &done), want);
	assert_int_equal(done, want ? 0 : 8);
	assert_int_equal(got, want ? 0 : buf);
	assert_int_equal(vtlmem_vtl0_store(CTX, vtlmem_pa(pa), 8, ~buf), want);
	assert_int_equal(vtlmem_vtl0_load(CTX, vtlmem_pa(pa), 8, &v), want);
	assert_int_equal(v, want ? 0 : ~buf);
	assert_int_equal(vtlmem_vtl0_write_pages(CTX, pg, 1, off, &buf, 8, &done), want);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 1, off, &got, 8, &done), want);
	assert_int_equal(done, want ? 0 : 8);
	if (!want)   /* a chain page with no entries and no next */
		memset(vtl0env_dm(E, page), 0, VTLMEM_CHAIN_HDR_SIZE);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtlmem_pa(page), &w, &pages), want);
	assert_int_equal(pages, want ? 0 : 1);
	assert_int_equal(fn_calls, want ? 0 : 1);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 1, 100), want);
	if (!want) {
		assert_int_equal(vtlmem_ring_fini(&ring), 0);
		assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	}
}

/*
 * The calls' ranges are checked as whole pages, with the rule of
 * vtlmem_reserve() (reserve.h): under pa_bits 32, 48 and 52 the last page
 * below 2^pa_bits (and the page below it) pass the width checks and reach
 * the ownership op (which this platform answers "secure": -EPERM), bytes
 * past 2^pa_bits are -ERANGE; under pa_bits 64 the last page of the 64-bit
 * space is -ERANGE (no range reaches 2^64) and the page below it passes.
 * Bytes wrapping past 2^64 are -EOVERFLOW under every pa_bits. No call
 * reserves or maps anything; the ownership op is asked only for ranges
 * that passed the width checks.
 */
static void the_last_page_of_the_space_under_each_pa_bits(void **state)
{
	static const unsigned widths[] = { 32, 48, 52, 64 };
	const uint64_t top = UINT64_MAX - PG + 1;
	struct vtl0env_snap s0, s1;
	unsigned long asked;
	uint8_t b[16];
	unsigned i;

	(void)state;
	start();
	vtl0env_snap(E, &s0);
	for (i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
		unsigned bits = widths[i];
		uint64_t last = bits < 64 ? (1ull << bits) - PG : top;
		vtlmem_paddr_t across[2] = { vtlmem_pa(last), vtlmem_pa(last + PG) };

		E->hp.ops.pa_bits = bits;
		asked = E->hp.ownership_calls;
		every_call_at(last + PG - 8, bits < 64 ? -VTLMEM_EPERM : -VTLMEM_ERANGE);
		every_call_at(last, bits < 64 ? -VTLMEM_EPERM : -VTLMEM_ERANGE);
		assert_int_equal(E->hp.ownership_calls - asked, bits < 64 ? 16 : 0);
		every_call_at(last - 8, -VTLMEM_EPERM);
		asked = E->hp.ownership_calls;
		/* bytes across the limit (64: across 2^64, a wrap) */
		assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(last + PG - 8), b, 16, NULL),
				 bits < 64 ? -VTLMEM_ERANGE : -VTLMEM_EOVERFLOW);
		assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(last + PG - 8), b, 16, NULL),
				 bits < 64 ? -VTLMEM_ERANGE : -VTLMEM_EOVERFLOW);
		assert_int_equal(vtlmem_vtl0_read_pages(CTX, across, 2, PG - 8, b, 16, NULL),
				 -VTLMEM_ERANGE);
		assert_int_equal(vtlmem_vtl0_write_pages(CTX, across, 2, PG - 8, b, 16, NULL),
				 -VTLMEM_ERANGE);
		/* wrapping past 2^64 under every width; in the last 64-bit page: -ERANGE */
		assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(UINT64_MAX - 7), b, 16, NULL),
				 -VTLMEM_EOVERFLOW);
		assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(top), b, 16, NULL),
				 -VTLMEM_ERANGE);
		assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(UINT64_MAX), b, 1, NULL),
				 -VTLMEM_ERANGE);
		assert_int_equal(E->hp.ownership_calls, asked);
	}
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	E->hp.ops.pa_bits = 52;
	finish();
}

/*
 * Ending exactly at 2^pa_bits is fine all the way down: with pa_bits 26 the
 * last page of the space is the last page of this platform's VTL0 RAM, and
 * every call on its last 8 bytes copies; one byte more is -ERANGE.
 */
static void bytes_ending_exactly_at_2_pow_pa_bits_are_copied(void **state)
{
	const uint64_t end = 1ull << 26;
	uint8_t b[16];

	(void)state;
	start();
	assert_int_equal(end, VTL0ENV_PHYS);   /* the space ends with VTL0 RAM */
	E->hp.ops.pa_bits = 26;
	every_call_at(end - 8, 0);
	every_call_at(end - PG, 0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(end - 8), b, 9, NULL), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(end), b, 1, NULL), -VTLMEM_ERANGE);
	assert_false(reserved(end - PG, PG));
	E->hp.ops.pa_bits = 52;
	finish();
}

/*
 * Nothing above what a page-table entry holds (x86_64: 2^52) is ever mapped,
 * even when the platform's pa_bits grows to 64 after the vmap was created:
 * a store at 2^52 + page 5 used to be cut to physical page 5 and land there.
 * Now every call fails with -ERANGE and page 5 is untouched.
 */
static void addresses_above_what_an_entry_holds_never_alias_low_pages(void **state)
{
	const uint64_t hi = (1ull << 52) + vtl0env_pa(5);
	uint8_t b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, *low;
	uint64_t end;

	(void)state;
	start();
	low = vtl0env_dm(E, vtl0env_pa(5));
	end = E->hp.vtl0_end;
	memset(low, 0x3c, PG);
	E->hp.ops.pa_bits = 64;
	E->hp.vtl0_end = UINT64_MAX;
	assert_int_equal(vtlmem_vtl0_store(CTX, vtlmem_pa(hi), 8, 0x1122334455667788ull),
			 -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(hi), b, sizeof(b), NULL),
			 -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(hi), b, sizeof(b), NULL),
			 -VTLMEM_ERANGE);
	E->hp.ops.pa_bits = 52;
	E->hp.vtl0_end = end;
	assert_int_equal(low[0], 0x3c);
	assert_int_equal(low[PG - 1], 0x3c);
	assert_false(reserved(hi, PG));
	finish();
}

/* ---- granularity: whole pages (vtl0.h) ---- */

/*
 * The calls reserve whole pages: bytes [X + 8, X + 16) held exclusive by
 * another accessor make a read of the disjoint bytes [X + 16, X + 24) of
 * the same page -EBUSY (and a write too); held shared-read, they let the
 * read through but not a write. Bytes of the next page are unaffected.
 */
static void disjoint_bytes_of_a_page_held_by_another_accessor_conflict(void **state)
{
	uint64_t x = vtl0env_pa(120);
	struct vtlmem_range held = { vtlmem_pa(x + 8), 8 };
	struct vtl0env_snap s0, s1;
	vtlmem_resv_t other;
	uint8_t b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t done = 99;

	(void)state;
	start();
	assert_int_equal(vtlmem_reserve(&E->rt, &held, 1, VTLMEM_RES_EXCLUSIVE, &other, NULL), 0);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(x + 16), b, 8, &done), -VTLMEM_EBUSY);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(x + 16), b, 8, &done), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_vtl0_load(CTX, vtlmem_pa(x + PG - 8), 8, (uint64_t *)(void *)b),
			 -VTLMEM_EBUSY);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_same_state(&s0, &s1));
	/* the next page is someone else's business */
	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(x + PG), b, 8, &done), 0);
	assert_int_equal(vtlmem_release(&E->rt, other), 0);
	assert_int_equal(vtlmem_reserve(&E->rt, &held, 1, VTLMEM_RES_SHARED, &other, NULL), 0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(x + 16), b, 8, &done), 0);
	assert_int_equal(done, 8);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(x + 16), b, 8, &done), -VTLMEM_EBUSY);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_release(&E->rt, other), 0);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(x + 16), b, 8, &done), 0);
	assert_false(reserved(x, 2 * PG));
	finish();
}

/*
 * Only the page-list entries the bytes reach are looked at: {A, B, A}
 * copies fine while the bytes stay in pages[0] and pages[1] (A and B are
 * reserved and mapped once each), and is -EINVAL (A given twice) once they
 * reach pages[2]. An unaligned or secure entry past the bytes is ignored.
 */
static void a_page_list_is_only_checked_where_the_bytes_reach(void **state)
{
	vtlmem_paddr_t pg[3] = { vtl0env_page(130), vtl0env_page(131), vtl0env_page(130) };
	uint8_t in[2 * PG + 1], out[2 * PG + 1], span[2 * PG];
	struct vtl0env_snap s0, s1;
	size_t done = 99;

	(void)state;
	start();
	pattern(in, sizeof(in), 5);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_vtl0_write_pages(CTX, pg, 3, 0, in, 2 * PG, &done), 0);
	assert_int_equal(done, 2 * PG);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 3, 0, out, 2 * PG, &done), 0);
	assert_memory_equal(out, in, 2 * PG);
	vtl0env_gather(E, pg, 0, span, 2 * PG);
	assert_memory_equal(span, in, 2 * PG);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.rt.reserves - s0.rt.reserves, 2);
	assert_true(vtl0env_same_state(&s0, &s1));
	/* one byte into pages[2]: A is given twice */
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 3, 0, out, 2 * PG + 1, &done),
			 -VTLMEM_EINVAL);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_vtl0_write_pages(CTX, pg, 3, 1, in, 2 * PG, &done),
			 -VTLMEM_EINVAL);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	/* entries past the bytes are not validated at all */
	pg[2] = vtlmem_pa(vtl0env_pa(132) + 1);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 3, 0, out, 2 * PG, NULL), 0);
	pg[2] = vtlmem_pa(HOSTPLAT_PT_BASE);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 3, 0, out, 2 * PG, NULL), 0);
	assert_int_equal(vtlmem_vtl0_read_pages(CTX, pg, 3, 0, out, 2 * PG + 1, NULL),
			 -VTLMEM_EPERM);
	finish();
}

/*
 * The one-shot path (contiguous read/write) maps its pages itself through
 * this CPU's slots, two pages at a time: with one slot page per CPU a
 * 2-page span is -EINVAL (vtlmem_slot_map's code for more pages than the
 * stack holds), a 1-page one works, and nothing stays reserved or mapped.
 */
static void one_shot_copies_need_two_slot_pages_for_two_page_spans(void **state)
{
	struct vtl0env_snap s0, s1;
	uint8_t b[2 * PG], want[2 * PG];
	uint64_t pa = vtl0env_pa(40);
	size_t done = 7;

	(void)state;
	vtl0env_init(E, 1);
	fill_phys(pa, 2 * PG, 9);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa + PG - 8), b, 16, &done),
			 -VTLMEM_EINVAL);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(pa + PG - 8), b, 16, &done),
			 -VTLMEM_EINVAL);
	assert_int_equal(done, 0);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_same_state(&s0, &s1));
	assert_false(reserved(pa, 2 * PG));
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa + 8), b, PG - 8, &done), 0);
	assert_int_equal(done, PG - 8);
	memcpy(want, vtl0env_dm(E, pa + 8), PG - 8);
	assert_memory_equal(b, want, PG - 8);
	finish();
}

/*
 * A platform whose cpu_id answers a CPU the manager was not created for
 * (>= its ncpus): the one-shot calls return -EINVAL with *done 0, copy
 * nothing and leave nothing reserved or mapped, on the claim path and on
 * the tree path alike.
 */
static void a_cpu_id_beyond_the_managers_cpus_is_einval_and_changes_nothing(void **state)
{
	static uint8_t b[20 * PG], zero[20 * PG];
	struct vtl0env_snap s0, s1;
	uint64_t pa = vtl0env_pa(60);
	size_t done = 7;
	unsigned cpu;

	(void)state;
	start();
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa), b, 8, &done), 0);   /* warm */
	fill_phys(pa, 20 * PG, 4);
	vtl0env_snap(E, &s0);
	hostplat_pin(&E->hp);   /* simulated SMP (VTLMEM_TEST_SMP) would move it back */
	cpu = hostplat_get_cpu();
	hostplat_set_cpu(E->hp.ops.ncpus);
	memset(b, 0, sizeof(b));
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa + 8), b, PG, &done), -VTLMEM_EINVAL);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa + 8), b, 19 * PG, &done),
			 -VTLMEM_EINVAL);
	assert_int_equal(done, 0);
	assert_memory_equal(b, zero, sizeof(b));
	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(pa + 8), zero, 2 * PG, &done),
			 -VTLMEM_EINVAL);
	assert_int_equal(done, 0);
	hostplat_set_cpu(cpu);
	hostplat_unpin(&E->hp);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_same_state(&s0, &s1));
	assert_false(reserved(pa, 20 * PG));
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa + 8), b, PG, &done), 0);
	assert_memory_equal(b, vtl0env_dm(E, pa + 8), PG);
	finish();
}

/*
 * Every allocation the one-shot path can make, each failing with -ENOMEM,
 * *done 0 and no state change: the table's page-claim table (once, on the
 * first one-shot call of up to 17 pages: after that such calls allocate
 * nothing), and for longer spans the interval tree's node and handle
 * record (cold cache).
 */
static void one_shot_allocation_failures_change_nothing(void **state)
{
	static uint8_t b[18 * PG];
	struct vtl0env_snap s0, s1;
	uint64_t pa = vtl0env_pa(44);
	unsigned long a0;
	size_t done, len;
	long at;
	int w, k;

	(void)state;
	start();
	for (k = 0; k < 2; k++) {
		len = k ? 17 * PG + 1 : 64;   /* 1 page: the claim table; 18 pages: the tree */
		for (at = 1; at <= (k ? 2 : 1); at++) {
			for (w = 0; w < 2; w++) {
				vtl0env_snap(E, &s0);
				E->hp.fail_alloc_at = at;
				done = 3;
				if (w)
					assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(pa + 100), b,
									   len, &done), -VTLMEM_ENOMEM);
				else
					assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa + 100), b,
									  len, &done), -VTLMEM_ENOMEM);
				E->hp.fail_alloc_at = 0;
				assert_int_equal(done, 0);
				vtl0env_snap(E, &s1);
				assert_true(vtl0env_nothing_done(&s0, &s1));
			}
		}
		assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa + 100), b, len, &done), 0);
		assert_int_equal(done, len);
	}
	/* steady state: calls of up to 17 pages allocate nothing */
	a0 = E->hp.allocs;
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa + PG - 4), b, 8, &done), 0);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(pa + PG - 4), b, 8, &done), 0);
	assert_int_equal(E->hp.allocs, a0);
	finish();
}

/* The ownership op answers once per one-shot call, whatever its length. */
static void one_shot_calls_ask_the_ownership_op_once(void **state)
{
	static uint8_t b[5 * PG];
	uint64_t pa = vtl0env_pa(50);
	unsigned long c0;
	size_t done;

	(void)state;
	start();
	c0 = E->hp.ownership_calls;
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa + 1), b, 8, &done), 0);
	assert_int_equal(E->hp.ownership_calls - c0, 1);
	c0 = E->hp.ownership_calls;
	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(pa + 1), b, sizeof(b), &done), 0);
	assert_int_equal(done, sizeof(b));
	assert_int_equal(E->hp.ownership_calls - c0, 1);
	finish();
}

/*
 * The one-shot calls claim up to 17 pages (64 KiB at any offset) without
 * the table; longer spans, and spans whose 16-page group a reservation
 * made with vtlmem_reserve() touches, reserve through the tree (counted
 * in the table's own reserves field). VTL0 page n lies in group
 * (4096 + n) / 16 (HOSTPLAT_VTL0_BASE is 16 MiB).
 */
static void one_shot_calls_claim_up_to_17_pages_and_use_the_tree_otherwise(void **state)
{
	static uint8_t b[18 * PG], want[18 * PG];
	struct vtlmem_range held = { vtl0env_page(195), PG };
	vtlmem_resv_t h;
	uint64_t tree;
	size_t done;

	(void)state;
	start();
	fill_phys(vtl0env_pa(200), 18 * PG, 3);
	memcpy(want, vtl0env_dm(E, vtl0env_pa(200)), sizeof(want));
	tree = E->rt.reserves;
	assert_int_equal(vtlmem_vtl0_read(CTX, vtl0env_page(200), b, 8, &done), 0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(vtl0env_pa(200) + 100), b, 16 * PG, &done),
			 0);                                            /* 17 pages */
	assert_memory_equal(b, want + 100, 16 * PG);
	assert_int_equal(E->rt.reserves, tree);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(vtl0env_pa(200) + 100), b,
					  17 * PG - 99, &done), 0);      /* 18 pages */
	assert_int_equal(done, 17 * PG - 99);
	assert_memory_equal(b, want + 100, 17 * PG - 99);
	assert_int_equal(E->rt.reserves, tree + 1);
	/* page 195 held: group 12 (pages 192..207) is marked, group 13 is not */
	assert_int_equal(vtlmem_reserve(&E->rt, &held, 1, VTLMEM_RES_SHARED, &h, NULL), 0);
	tree = E->rt.reserves;
	assert_int_equal(vtlmem_vtl0_read(CTX, vtl0env_page(200), b, PG, &done), 0);
	assert_memory_equal(b, want, PG);
	assert_int_equal(E->rt.reserves, tree + 1);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtl0env_page(210), b, PG, &done), 0);
	assert_int_equal(E->rt.reserves, tree + 1);
	assert_int_equal(vtlmem_release(&E->rt, h), 0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtl0env_page(200), b, PG, &done), 0);
	assert_int_equal(E->rt.reserves, tree + 1);
	assert_false(reserved(vtl0env_pa(192), 32 * PG));
	finish();
}

/*
 * Six one-shot calls in flight on one page (their claims, taken here as
 * those calls take them) fill its bucket's ways: a seventh reader of the
 * page goes through the tree and reads the right bytes, while a writer
 * of it and an exclusive reservation are refused (the tree sees the six
 * shared claims) and change nothing; once they are released a write is a
 * claim again.
 */
static void a_page_read_by_six_calls_at_once_is_shared_with_the_tree(void **state)
{
	static uint8_t b[PG], want[PG], zero[PG];
	const uint64_t page = vtl0env_pa(200) >> 12;
	struct vtlmem_range r = { vtl0env_page(200), PG };
	struct vtlmem_conflict conf;
	struct vtlmem_claim c[6];
	vtlmem_resv_t h;
	unsigned long cookie;
	uint64_t tree;
	size_t done;
	unsigned i;

	(void)state;
	start();
	fill_phys(vtl0env_pa(200), PG, 5);
	memcpy(want, vtl0env_dm(E, vtl0env_pa(200)), PG);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtl0env_page(200), b, 8, &done), 0);  /* claim table */
	cookie = E->hp.ops.preempt_off(E->hp.ops.ctx);
	for (i = 0; i < 6; i++)
		assert_int_equal(vtlmem_claim_pages(&E->rt, page, 1, VTLMEM_RES_SHARED, &c[i]), 0);
	tree = E->rt.reserves;
	assert_int_equal(vtlmem_vtl0_read(CTX, vtl0env_page(200), b, PG, &done), 0);
	assert_int_equal(done, PG);
	assert_memory_equal(b, want, PG);
	assert_int_equal(E->rt.reserves, tree + 1);                 /* through the tree */
	assert_int_equal(vtlmem_vtl0_write(CTX, vtl0env_page(200), zero, PG, &done), -VTLMEM_EBUSY);
	assert_int_equal(done, 0);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(200)), want, PG);
	assert_int_equal(vtlmem_reserve(&E->rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &h, &conf),
			 -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_pa_val(conf.pa), vtl0env_pa(200));
	assert_int_equal(conf.len, PG);
	assert_int_equal(conf.mode, VTLMEM_RES_SHARED);
	for (i = 0; i < 6; i++)
		vtlmem_claim_release(&c[i]);
	E->hp.ops.preempt_on(E->hp.ops.ctx, cookie);
	tree = E->rt.reserves;
	assert_int_equal(vtlmem_vtl0_write(CTX, vtl0env_page(200), zero, PG, &done), 0);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(200)), zero, PG);
	assert_int_equal(E->rt.reserves, tree);                     /* a claim again */
	assert_false(reserved(vtl0env_pa(192), 32 * PG));
	finish();
}

/*
 * Pages the manager cannot map (above the width its entries hold, here
 * 2^52 with the platform's pa_bits raised to 64) are refused before any
 * byte moves, even when the first pages of the span could be mapped.
 */
static void a_span_reaching_past_what_the_manager_maps_copies_nothing(void **state)
{
	const uint64_t pa = (1ull << 52) - 2 * PG + 16;
	uint8_t b[3 * PG];
	uint64_t end;
	size_t done = 5;

	(void)state;
	start();
	end = E->hp.vtl0_end;
	E->hp.ops.pa_bits = 64;
	E->hp.vtl0_end = UINT64_MAX;
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa), b, 2 * PG, &done), -VTLMEM_ERANGE);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_vtl0_read(CTX, vtlmem_pa(pa), b, 40 * PG, &done), -VTLMEM_ERANGE);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_vtl0_write(CTX, vtlmem_pa(pa), b, 2 * PG, &done), -VTLMEM_ERANGE);
	assert_int_equal(done, 0);
	E->hp.ops.pa_bits = 52;
	E->hp.vtl0_end = end;
	assert_false(reserved(pa & ~(uint64_t)(PG - 1), 3 * PG));
	finish();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_rejects_null_arguments),
		cmocka_unit_test(contiguous_copies_cross_pages_with_slots_only),
		cmocka_unit_test(zero_lengths_touch_nothing_and_bad_arguments_are_refused),
		cmocka_unit_test(contiguous_copies_refuse_what_is_not_vtl0_memory),
		cmocka_unit_test(copies_respect_other_accessors_reservations),
		cmocka_unit_test(page_list_copies_follow_the_list_and_reserve_only_touched_pages),
		cmocka_unit_test(page_lists_of_too_many_runs_are_refused),
		cmocka_unit_test(the_typed_macros_copy_exactly_one_object),
		cmocka_unit_test(fields_are_loaded_and_stored_whole),
		cmocka_unit_test(a_fault_mid_copy_reports_the_exact_count_and_releases_everything),
		cmocka_unit_test(steady_state_calls_allocate_nothing),
		cmocka_unit_test(calls_fail_with_enospc_while_this_cpus_slots_are_taken),
		cmocka_unit_test(the_last_page_of_the_space_under_each_pa_bits),
		cmocka_unit_test(bytes_ending_exactly_at_2_pow_pa_bits_are_copied),
		cmocka_unit_test(addresses_above_what_an_entry_holds_never_alias_low_pages),
		cmocka_unit_test(disjoint_bytes_of_a_page_held_by_another_accessor_conflict),
		cmocka_unit_test(a_page_list_is_only_checked_where_the_bytes_reach),
		cmocka_unit_test(one_shot_copies_need_two_slot_pages_for_two_page_spans),
		cmocka_unit_test(one_shot_allocation_failures_change_nothing),
		cmocka_unit_test(one_shot_calls_ask_the_ownership_op_once),
		cmocka_unit_test(one_shot_calls_claim_up_to_17_pages_and_use_the_tree_otherwise),
		cmocka_unit_test(a_page_read_by_six_calls_at_once_is_shared_with_the_tree),
		cmocka_unit_test(a_span_reaching_past_what_the_manager_maps_copies_nothing),
		cmocka_unit_test(a_cpu_id_beyond_the_managers_cpus_is_einval_and_changes_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
