/* SPDX-License-Identifier: MIT */
/*
 * Physical pointers (physptr.h), end to end on the host: simulated physical
 * memory, the real reservation table and vmap manager, and the MMU mirror,
 * so every copy goes through a real mapping of the page the library's page
 * tables name and a refused page faults for real (fixed up through the
 * exception table). VTL0 bytes are checked through the direct map.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <vtlmem/physptr.h>
#include "fault.h"
#include "vtl0env.h"

#define PG VTLMEM_PAGE_SIZE

static struct vtl0env env;
#define E (&env)

static struct vtlmem_physptr_attr attr(size_t esz, enum vtlmem_prot prot, unsigned flags)
{
	struct vtlmem_physptr_attr a = {
		.elem_size = esz, .prot = prot, .cache = VTLMEM_CACHE_WB, .flags = flags,
	};
	return a;
}

static void fill_page(uint64_t pa, uint8_t seed)
{
	uint8_t *p = vtl0env_dm(E, pa);
	size_t i;

	for (i = 0; i < PG; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

static void fill_pages(const vtlmem_paddr_t *pages, size_t n, uint8_t seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		fill_page(vtlmem_pa_val(pages[i]), (uint8_t)(seed + 17 * i));
}

static void pattern(uint8_t *b, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)((i * 131 + seed * 29 + (i >> 9)) ^ 0x5c);
}

static bool reserved(uint64_t pa, uint64_t len, enum vtlmem_rmode mode)
{
	return vtlmem_is_reserved(&E->rt, vtlmem_pa(pa), len, mode);
}

static void start(void)
{
	vtl0env_init(E, 4);
}

static void finish(void)
{
	assert_int_equal(vtl0env_fini(E), 0);
}

/* ---- creation ---------------------------------------------------------- */

static void create_rejects_null_and_bad_attributes_with_no_state_change(void **state)
{
	vtlmem_paddr_t pg[2] = { vtl0env_page(1), vtl0env_page(2) };
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, 0), b;
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;
	uint8_t x;

	(void)state;
	start();
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_create(NULL, &E->rt, E->vm, pg, 2, 0, 1, &a), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_create(&h, NULL, E->vm, pg, 2, 0, 1, &a), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, NULL, pg, 2, 0, 1, &a), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, NULL, 2, 0, 1, &a), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 0, 0, 0, &a), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 0, 1, NULL), -VTLMEM_EINVAL);
	b = attr(0, VTLMEM_PROT_RW, 0);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 0, 1, &b), -VTLMEM_EINVAL);
	b = attr(1, (enum vtlmem_prot)2, 0);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 0, 1, &b), -VTLMEM_EINVAL);
	b = a;
	b.cache = (enum vtlmem_cache)3;
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 0, 1, &b), -VTLMEM_EINVAL);
	b = attr(1, VTLMEM_PROT_RW, 1u << 2);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 0, 1, &b), -VTLMEM_EINVAL);
	/* offset must lie in the first page */
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, PG, 1, &a), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, UINT64_MAX, 0, &a),
			 -VTLMEM_EINVAL);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	/* a failed create leaves the handle dead */
	assert_int_equal(vtlmem_physptr_read(&h, 0, &x, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_destroy(&h), -VTLMEM_EINVAL);
	/* the boundary offset works */
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, PG - 1, 1, &a), 0);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	finish();
}

static void create_checks_overflow_and_that_the_span_fits_the_pages(void **state)
{
	vtlmem_paddr_t pg[2] = { vtl0env_page(1), vtl0env_page(2) };
	struct vtlmem_physptr_attr a1 = attr(1, VTLMEM_PROT_RW, 0), a2 = attr(2, VTLMEM_PROT_RW, 0);
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;

	(void)state;
	start();
	vtl0env_snap(E, &s0);
	/* count * elem_size wraps */
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 0, SIZE_MAX, &a2),
			 -VTLMEM_EOVERFLOW);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 0,
					       ((size_t)1 << 63), &a2), -VTLMEM_EOVERFLOW);
	/* offset + bytes wraps */
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 1, SIZE_MAX, &a1),
			 -VTLMEM_EOVERFLOW);
	/* npages * page size wraps (the array is not read before this check) */
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, ((size_t)1 << 52) + 1, 0, 1,
					       &a1), -VTLMEM_EOVERFLOW);
	/* the span must fit: offset + count * size <= npages * page size */
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 100, 2 * PG - 99, &a1),
			 -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 1, 1, PG, &a1),
			 -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 0, PG + 1, &a2),
			 -VTLMEM_ERANGE);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	/* exactly full is fine */
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 100, 2 * PG - 100, &a1), 0);
	assert_int_equal(vtlmem_physptr_count(&h), 2 * PG - 100);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 0, PG, &a2), 0);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	finish();
}

static void create_validates_every_page_in_order(void **state)
{
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, 0);
	vtlmem_paddr_t pg[3] = { vtl0env_page(1), vtl0env_page(2), vtl0env_page(3) };
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;

	(void)state;
	start();
	vtl0env_snap(E, &s0);
	pg[1] = vtlmem_pa(vtl0env_pa(2) + 8);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 3, 0, 1, &a), -VTLMEM_EINVAL);
	pg[1] = vtlmem_pa(1ull << 52);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 3, 0, 1, &a), -VTLMEM_ERANGE);
	/* the last page of the 64-bit space ends at 2^64: -ERANGE (pacheck.h) */
	pg[1] = vtlmem_pa(UINT64_MAX & ~(PG - 1));
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 3, 0, 1, &a),
			 -VTLMEM_ERANGE);
	pg[1] = vtlmem_pa(0);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 3, 0, 1, &a), -VTLMEM_EPERM);
	/* an unaligned page after a page beyond the width: the first one wins */
	pg[1] = vtlmem_pa(1ull << 52);
	pg[2] = vtlmem_pa(vtl0env_pa(3) + 1);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 3, 0, 1, &a), -VTLMEM_ERANGE);
	pg[2] = vtl0env_page(3);
	/* secure-kernel memory (the ownership op, through the reservation) */
	pg[1] = vtlmem_pa(HOSTPLAT_PT_BASE);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 3, 0, 1, &a), -VTLMEM_EPERM);
	hostplat_add_secure(&E->hp, vtl0env_pa(2), PG);
	pg[1] = vtl0env_page(2);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 3, 0, 1, &a), -VTLMEM_EPERM);
	/* a page given twice (in any position) */
	pg[1] = vtl0env_page(5);
	pg[2] = vtl0env_page(1);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 3, 0, 1, &a), -VTLMEM_EINVAL);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_same_state(&s0, &s1));
	assert_int_equal(s0.rt.reserves, s1.rt.reserves);
	assert_int_equal(s0.vm.slot_maps + s0.vm.maps, s1.vm.slot_maps + s1.vm.maps);
	finish();
}

static void create_limits_the_runs_of_a_page_array(void **state)
{
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RO, 0);
	vtlmem_paddr_t pg[VTLMEM_PHYSPTR_MAX_RUNS + 1];
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;
	unsigned i;

	(void)state;
	start();
	/* every other page: one run per page */
	for (i = 0; i <= VTLMEM_PHYSPTR_MAX_RUNS; i++)
		pg[i] = vtl0env_page(10 + 2 * i);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, VTLMEM_PHYSPTR_MAX_RUNS + 1,
					       0, 1, &a), -VTLMEM_E2BIG);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, VTLMEM_PHYSPTR_MAX_RUNS, 0, 1,
					       &a), 0);
	assert_int_equal(s0.rt.intervals + VTLMEM_PHYSPTR_MAX_RUNS,
			 (vtl0env_snap(E, &s1), s1.rt.intervals));
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	/* contiguous pages coalesce into one run: many pages, one range */
	for (i = 0; i <= VTLMEM_PHYSPTR_MAX_RUNS; i++)
		pg[i] = vtl0env_page(200 + i);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, VTLMEM_PHYSPTR_MAX_RUNS + 1,
					       0, 1, &a), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.rt.intervals, s0.rt.intervals + 1);
	assert_true(reserved(vtl0env_pa(200), (VTLMEM_PHYSPTR_MAX_RUNS + 1) * PG,
			     VTLMEM_RES_SHARED));
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	finish();
}

static void rw_handles_reserve_exclusive_and_ro_handles_shared_for_their_lifetime(void **state)
{
	struct vtlmem_physptr_attr rw = attr(8, VTLMEM_PROT_RW, 0), ro = attr(8, VTLMEM_PROT_RO, 0);
	vtlmem_paddr_t a[2] = { vtl0env_page(7), vtl0env_page(3) };
	vtlmem_paddr_t b[1] = { vtl0env_page(3) };
	struct vtlmem_physptr h1, h2, h3;
	struct vtlmem_range r = { vtl0env_page(9), PG };
	vtlmem_resv_t other;

	(void)state;
	start();
	assert_int_equal(vtlmem_physptr_create(&h1, &E->rt, E->vm, a, 2, 0, 1024, &rw), 0);
	assert_true(reserved(vtl0env_pa(7), PG, VTLMEM_RES_EXCLUSIVE));
	assert_true(reserved(vtl0env_pa(3), PG, VTLMEM_RES_EXCLUSIVE));
	assert_false(reserved(vtl0env_pa(4), PG, VTLMEM_RES_SHARED));
	/* a writer excludes everyone */
	assert_int_equal(vtlmem_physptr_create(&h2, &E->rt, E->vm, b, 1, 0, 1, &ro), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_physptr_create(&h2, &E->rt, E->vm, b, 1, 0, 1, &rw), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_physptr_destroy(&h1), 0);
	assert_false(reserved(vtl0env_pa(7), PG, VTLMEM_RES_SHARED));
	assert_false(reserved(vtl0env_pa(3), PG, VTLMEM_RES_SHARED));
	/* readers share, and exclude writers */
	assert_int_equal(vtlmem_physptr_create(&h2, &E->rt, E->vm, b, 1, 0, 1, &ro), 0);
	assert_int_equal(vtlmem_physptr_create(&h3, &E->rt, E->vm, b, 1, 0, 1, &ro), 0);
	assert_true(reserved(vtl0env_pa(3), PG, VTLMEM_RES_SHARED));
	assert_false(reserved(vtl0env_pa(3), PG, VTLMEM_RES_EXCLUSIVE));
	assert_int_equal(vtlmem_physptr_create(&h1, &E->rt, E->vm, a, 2, 0, 1024, &rw),
			 -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_physptr_destroy(&h2), 0);
	assert_true(reserved(vtl0env_pa(3), PG, VTLMEM_RES_SHARED));
	assert_int_equal(vtlmem_physptr_destroy(&h3), 0);
	assert_false(reserved(vtl0env_pa(3), PG, VTLMEM_RES_SHARED));
	/* another accessor's reservation */
	assert_int_equal(vtlmem_reserve(&E->rt, &r, 1, VTLMEM_RES_SHARED, &other, NULL), 0);
	b[0] = vtl0env_page(9);
	assert_int_equal(vtlmem_physptr_create(&h1, &E->rt, E->vm, b, 1, 0, 1, &rw), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_physptr_create(&h1, &E->rt, E->vm, b, 1, 0, 1, &ro), 0);
	assert_int_equal(vtlmem_physptr_destroy(&h1), 0);
	assert_int_equal(vtlmem_release(&E->rt, other), 0);
	finish();
}

static void a_copied_handle_is_refused_by_every_call(void **state)
{
	struct vtlmem_physptr_attr a = attr(4, VTLMEM_PROT_RW, 0);
	vtlmem_paddr_t pg[1] = { vtl0env_page(5) };
	struct vtlmem_physptr h, c;
	struct vtl0env_snap s0, s1;
	uint32_t v = 0x12345678;
	uint64_t w = 0;
	size_t done = 99;

	(void)state;
	start();
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 1, 0, 16, &a), 0);
	memcpy(&c, &h, sizeof(h));
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_read(&c, 0, &v, &done), -VTLMEM_EINVAL);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_physptr_write(&c, 0, &v, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_read_slice(&c, 0, 1, &v, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_write_slice(&c, 0, 1, &v, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_read_slice(&c, 0, 0, NULL, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_load(&c, 0, 4, &w), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_store(&c, 0, 4, 1), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_map_persistent(&c), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_count(&c), 0);
	assert_int_equal(vtlmem_physptr_destroy(&c), -VTLMEM_EINVAL);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	assert_true(reserved(vtl0env_pa(5), PG, VTLMEM_RES_EXCLUSIVE));
	/* the original still works, and is finished once */
	assert_int_equal(vtlmem_physptr_write(&h, 3, &v, &done), 0);
	assert_int_equal(done, 4);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(5) + 12), &v, 4);
	assert_int_equal(vtlmem_physptr_count(&h), 16);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_false(reserved(vtl0env_pa(5), PG, VTLMEM_RES_SHARED));
	/* a dead handle: every call refused, destroy too */
	assert_int_equal(vtlmem_physptr_read(&h, 0, &v, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_destroy(&h), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_count(&h), 0);
	assert_int_equal(vtlmem_physptr_count(NULL), 0);
	assert_int_equal(vtlmem_physptr_destroy(NULL), -VTLMEM_EINVAL);
	finish();
}

static void a_failed_create_kills_a_handle_that_looked_live(void **state)
{
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, 0);
	vtlmem_paddr_t pg[1] = { vtlmem_pa(0) };
	struct vtlmem_physptr h;
	uint8_t x;

	(void)state;
	start();
	memset(&h, 0, sizeof(h));
	h.self = &h;   /* stale storage that happens to look live */
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 1, 0, 1, &a), -VTLMEM_EPERM);
	assert_int_equal(vtlmem_physptr_read(&h, 0, &x, NULL), -VTLMEM_EINVAL);
	h.self = &h;
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm, vtlmem_pa(0), 1, &a),
			 -VTLMEM_EPERM);
	assert_int_equal(vtlmem_physptr_read(&h, 0, &x, NULL), -VTLMEM_EINVAL);
	finish();
}

static void contig_create_covers_the_pages_of_the_byte_range(void **state)
{
	struct vtlmem_physptr_attr a = attr(3, VTLMEM_PROT_RW, 0);
	struct vtlmem_physptr_attr p = attr(1, VTLMEM_PROT_RW, VTLMEM_PHYSPTR_PERSISTENT);
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;
	uint64_t pa = vtl0env_pa(20) + 4000;
	uint8_t buf[300], back[300];
	size_t done;

	(void)state;
	start();
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_create_contig(NULL, &E->rt, E->vm, vtlmem_pa(pa), 3, &a),
			 -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_create_contig(&h, NULL, E->vm, vtlmem_pa(pa), 3, &a),
			 -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, NULL, vtlmem_pa(pa), 3, &a),
			 -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm, vtlmem_pa(pa), 3, NULL),
			 -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm, vtlmem_pa(pa), 0, &a),
			 -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm, vtlmem_pa(pa), 4, &a),
			 -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm,
						      vtlmem_pa(UINT64_MAX - 10), 33, &a),
			 -VTLMEM_EOVERFLOW);
	/* no wrap, but the bytes lie in the last page of the 64-bit space */
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm,
						      vtlmem_pa(UINT64_MAX - PG + 2), 3, &a),
			 -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm,
						      vtlmem_pa((1ull << 52) - 3), 6, &a),
			 -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm, vtlmem_pa(PG - 3), 6, &a),
			 -VTLMEM_EPERM);
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm,
						      vtlmem_pa(HOSTPLAT_VTL0_BASE - 3), 6, &a),
			 -VTLMEM_EPERM);
	/* a persistent mapping of a contiguous range is limited to the stack array */
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm, vtlmem_pa(pa),
						      VTLMEM_PHYSPTR_WINDOW_PAGES * PG, &p),
			 -VTLMEM_E2BIG);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));

	/* 300 bytes from 4000 into page 20: pages 20 and 21, 100 elements */
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm, vtlmem_pa(pa), 300, &a), 0);
	assert_int_equal(vtlmem_physptr_count(&h), 100);
	assert_true(reserved(vtl0env_pa(20), 2 * PG, VTLMEM_RES_EXCLUSIVE));
	assert_false(reserved(vtl0env_pa(19), 1, VTLMEM_RES_SHARED));
	assert_false(reserved(vtl0env_pa(22), 1, VTLMEM_RES_SHARED));
	pattern(buf, sizeof(buf), 3);
	assert_int_equal(vtlmem_physptr_write_slice(&h, 0, 100, buf, &done), 0);
	assert_int_equal(done, 300);
	assert_memory_equal(vtl0env_dm(E, pa), buf, 300);
	memset(back, 0, sizeof(back));
	assert_int_equal(vtlmem_physptr_read(&h, 99, back, &done), 0);
	assert_int_equal(done, 3);
	assert_memory_equal(back, buf + 297, 3);
	assert_int_equal(vtlmem_physptr_read(&h, 100, back, &done), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	/* one page short of the limit is fine, persistently mapped */
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm, vtlmem_pa(vtl0env_pa(40)),
						      VTLMEM_PHYSPTR_WINDOW_PAGES * PG, &p), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.mapped_pages, VTLMEM_PHYSPTR_WINDOW_PAGES);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	finish();
}

/* ---- access: bounds, empty accesses, read-only ------------------------- */

/* create, create_contig and a vmap mapping of the page at last: all return want. */
static void creates_at(uint64_t last, int want)
{
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, 0);
	vtlmem_paddr_t pg[1] = { vtlmem_pa(last) };
	struct vtlmem_map_req req = { pg, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, 0, { 0 } };
	struct vtlmem_mapping *m;
	struct vtlmem_physptr h;
	vtlmem_vaddr_t va;

	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 1, PG - 8, 8, &a), want);
	if (!want)
		assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm, vtlmem_pa(last + PG - 8),
						      8, &a), want);
	if (!want)
		assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	/* the vmap never maps above what an entry holds (x86_64: 2^52, aarch64: 2^48) */
	assert_int_equal(vtlmem_vmap_map(E->vm, &req, &m, &va),
			 last >= (1ull << HMMU_PA_BITS) ? -VTLMEM_ERANGE : want);
	if (!want)
		assert_int_equal(vtlmem_vmap_unmap(E->vm, m), 0);
}

/*
 * The top of the address space (reserve.h; physptr.h per page): under
 * pa_bits 32, 48 and 52 the last page below 2^pa_bits and the page below it
 * pass the width checks (this platform's ownership op then says "secure":
 * -EPERM), a page or bytes past 2^pa_bits are -ERANGE; under pa_bits 64
 * the last page of the 64-bit space, ending at 2^64, is -ERANGE, bytes
 * across 2^64 -EOVERFLOW. Nothing is reserved or mapped.
 */
static void create_at_the_last_page_of_the_space_under_each_pa_bits(void **state)
{
	static const unsigned widths[] = { 32, 48, 52, 64 };
	const uint64_t top = UINT64_MAX - PG + 1;
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RO, 0);
	struct vtl0env_snap s0, s1;
	struct vtlmem_physptr h;
	unsigned long asked;
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
		creates_at(last, bits < 64 ? -VTLMEM_EPERM : -VTLMEM_ERANGE);
		/* the vmap refuses a page no entry holds before asking (aarch64, 52) */
		assert_int_equal(E->hp.ownership_calls - asked,
				 bits == 64 ? 0 : last >= (1ull << HMMU_PA_BITS) ? 2 : 3);
		creates_at(last - PG, -VTLMEM_EPERM);
		asked = E->hp.ownership_calls;
		/* a page past 2^pa_bits; 64: the top page itself, checked first */
		assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, across, 2, 0, 1, &a),
				 -VTLMEM_ERANGE);
		assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm,
							      vtlmem_pa(last + PG - 8), 16, &a),
				 bits < 64 ? -VTLMEM_ERANGE : -VTLMEM_EOVERFLOW);
		assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm,
							      vtlmem_pa(UINT64_MAX), 1, &a),
				 -VTLMEM_ERANGE);
		assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm,
							      vtlmem_pa(UINT64_MAX), 2, &a),
				 -VTLMEM_EOVERFLOW);
		assert_int_equal(E->hp.ownership_calls, asked);
	}
	E->hp.ops.pa_bits = 52;
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	finish();
}

/* Ending exactly at 2^pa_bits is fine: pa_bits 26 ends with this platform's VTL0 RAM. */
static void handles_may_end_exactly_at_2_pow_pa_bits(void **state)
{
	const uint64_t end = 1ull << 26;

	(void)state;
	start();
	assert_int_equal(end, VTL0ENV_PHYS);
	E->hp.ops.pa_bits = 26;
	creates_at(end - PG, 0);
	E->hp.ops.pa_bits = 52;
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	finish();
}

static void empty_accesses_succeed_and_map_nothing(void **state)
{
	struct vtlmem_physptr_attr a = attr(8, VTLMEM_PROT_RW, 0);
	vtlmem_paddr_t pg[1] = { vtl0env_page(4) };
	struct vtlmem_physptr h, z;
	struct vtl0env_snap s0, s1;
	uint64_t x;
	size_t done = 5;

	(void)state;
	start();
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 1, 8, 10, &a), 0);
	struct vtlmem_physptr_attr ro = attr(8, VTLMEM_PROT_RO, 0);

	assert_int_equal(vtlmem_physptr_create(&z, &E->rt, E->vm, pg, 1, 8, 0, &ro), -VTLMEM_EBUSY);
	pg[0] = vtl0env_page(6);
	assert_int_equal(vtlmem_physptr_create(&z, &E->rt, E->vm, pg, 1, 8, 0, &a), 0);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 0, 0, NULL, &done), 0);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 5, 0, NULL, NULL), 0);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 10, 0, NULL, NULL), 0);
	assert_int_equal(vtlmem_physptr_write_slice(&h, 10, 0, NULL, NULL), 0);
	assert_int_equal(vtlmem_physptr_read_slice(&z, 0, 0, NULL, NULL), 0);
	assert_int_equal(vtlmem_physptr_write_slice(&z, 0, 0, &x, NULL), 0);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	/* an empty slice past the end is still out of bounds */
	done = 5;
	assert_int_equal(vtlmem_physptr_read_slice(&h, 11, 0, NULL, &done), -VTLMEM_ERANGE);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_physptr_read_slice(&z, 1, 0, NULL, NULL), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_read(&z, 0, &x, NULL), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_load(&z, 0, 1, &x), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_destroy(&z), 0);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	finish();
}

static void out_of_bounds_accesses_fail_before_anything_is_mapped(void **state)
{
	struct vtlmem_physptr_attr a = attr(24, VTLMEM_PROT_RW, 0);
	vtlmem_paddr_t pg[2] = { vtl0env_page(12), vtl0env_page(11) };
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;
	uint8_t buf[48];
	size_t done = 7;

	(void)state;
	start();
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 4000, 10, &a), 0);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_read(&h, 10, buf, &done), -VTLMEM_ERANGE);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_physptr_write(&h, SIZE_MAX, buf, NULL), -VTLMEM_EOVERFLOW);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 9, 2, buf, NULL), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 0, 11, buf, NULL), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 2, SIZE_MAX - 1, buf, NULL),
			 -VTLMEM_EOVERFLOW);
	assert_int_equal(vtlmem_physptr_read_slice(&h, SIZE_MAX, 1, buf, NULL), -VTLMEM_EOVERFLOW);
	assert_int_equal(vtlmem_physptr_write_slice(&h, 1, 10, buf, NULL), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_read(&h, 0, NULL, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_write_slice(&h, 0, 1, NULL, NULL), -VTLMEM_EINVAL);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	/* the last element is in bounds: it straddles into the second page */
	memset(buf, 0x3c, 24);
	assert_int_equal(vtlmem_physptr_write(&h, 9, buf, &done), 0);
	assert_int_equal(done, 24);
	assert_int_equal(vtl0env_dm(E, vtl0env_pa(11))[4000 + 216 - PG + 23], 0x3c);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	finish();
}

static void read_only_handles_refuse_every_write(void **state)
{
	struct vtlmem_physptr_attr a = attr(8, VTLMEM_PROT_RO, 0);
	vtlmem_paddr_t pg[1] = { vtl0env_page(14) };
	uint8_t before[PG];
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;
	uint64_t v = 0xfeed, back = 0;
	size_t done = 3;

	(void)state;
	start();
	fill_page(vtl0env_pa(14), 9);
	memcpy(before, vtl0env_dm(E, vtl0env_pa(14)), PG);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 1, 0, 512, &a), 0);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_write(&h, 0, &v, &done), -VTLMEM_EACCES);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_physptr_write_slice(&h, 0, 4, &v, NULL), -VTLMEM_EACCES);
	/* refused before the bounds are even looked at */
	assert_int_equal(vtlmem_physptr_write_slice(&h, 600, 1, &v, NULL), -VTLMEM_EACCES);
	assert_int_equal(vtlmem_physptr_write_slice(&h, 0, 0, &v, NULL), -VTLMEM_EACCES);
	assert_int_equal(vtlmem_physptr_store(&h, 0, 8, v), -VTLMEM_EACCES);
	assert_int_equal(vtlmem_physptr_store(&h, 1, 8, v), -VTLMEM_EACCES);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(14)), before, PG);
	/* reads work */
	assert_int_equal(vtlmem_physptr_read(&h, 511, &back, &done), 0);
	assert_int_equal(done, 8);
	assert_memory_equal(&back, before + PG - 8, 8);
	assert_int_equal(vtlmem_physptr_load(&h, 8, 8, &back), 0);
	assert_memory_equal(&back, before + 8, 8);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	finish();
}

/* ---- round trips -------------------------------------------------------- */

/* Offsets 0..64 and page-4..page-1. */
static size_t all_offsets(size_t *offs)
{
	size_t n = 0, off;

	for (off = 0; off <= 64; off++)
		offs[n++] = off;
	for (off = PG - 4; off < PG; off++)
		offs[n++] = off;
	return n;
}

/* Every size 0..3 pages. */
static bool every_size(size_t len)
{
	(void)len;
	return true;
}

/* Sizes within 8 bytes of 0, 1, 2 or 3 pages. */
static bool near_page_multiples(size_t len)
{
	size_t r = len % PG;

	return r <= 8 || r >= PG - 8;
}

/*
 * Round trips through a RW byte handle over 4 pages in a scrambled
 * physical order: for each offset and each selected size from 0 to 3
 * pages, write a slice, check VTL0 through the direct map (the slice and
 * the untouched byte on each side), read it back (and the byte after the
 * destination stays untouched), restore. Returns the failures.
 */
static size_t round_trips(unsigned flags, const size_t *offs, size_t noffs,
			  bool (*sizes)(size_t))
{
	vtlmem_paddr_t pg[4] = { vtl0env_page(37), vtl0env_page(32), vtl0env_page(39),
				 vtl0env_page(34) };
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, flags);
	size_t maxlen = 3 * PG, len, off, done = 0, k, fails = 0, lo, hi;
	uint8_t *bg, *src, *dst, *got;
	const uint8_t *s;
	struct vtlmem_physptr h;
	int ret;

	bg = malloc(4 * PG);
	src = malloc(maxlen + 256);
	dst = malloc(maxlen + 1);
	got = malloc(maxlen + 2);
	assert_non_null(bg);
	assert_non_null(src);
	assert_non_null(dst);
	assert_non_null(got);
	fill_pages(pg, 4, 0x21);
	vtl0env_gather(E, pg, 0, bg, 4 * PG);
	pattern(src, maxlen + 256, 77);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 4, 0, 4 * PG, &a), 0);
	for (k = 0; k < noffs; k++) {
		off = offs[k];
		for (len = 0; len <= maxlen; len++) {
			if (!sizes(len))
				continue;
			s = src + (off * 31 + len) % 251;
			lo = off ? off - 1 : 0;
			hi = off + len < 4 * PG ? off + len + 1 : off + len;
			ret = vtlmem_physptr_write_slice(&h, off, len, s, &done);
			if (ret || done != len)
				goto fail;
			vtl0env_gather(E, pg, lo, got, hi - lo);
			if (memcmp(got + (off - lo), s, len))
				goto fail;
			if (off > 0 && got[0] != bg[off - 1])
				goto fail;
			if (off + len < 4 * PG && got[hi - lo - 1] != bg[off + len])
				goto fail;
			dst[len] = 0xe7;
			ret = vtlmem_physptr_read_slice(&h, off, len, dst, &done);
			if (ret || done != len || memcmp(dst, s, len) || dst[len] != 0xe7)
				goto fail;
			vtl0env_scatter(E, pg, off, bg + off, len);
			continue;
fail:
			if (fails++ < 5)
				print_error("flags %u off %zu len %zu: ret %d done %zu\n", flags, off,
					    len, ret, done);
			vtl0env_scatter(E, pg, off, bg + off, len);
		}
	}
	vtl0env_gather(E, pg, 0, got, 2 * PG);
	if (memcmp(got, bg, 2 * PG))
		fails++;
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	assert_false(reserved(vtl0env_pa(37), PG, VTLMEM_RES_SHARED));
	free(bg);
	free(src);
	free(dst);
	free(got);
	return fails;
}

/*
 * Every size 0..3 pages at every offset 0..64 and page-4..page-1, through a
 * persistent mapping of the 4 pages (no mapping per access: one call is a
 * bounds check and one copy through the mirrored window).
 */
static void round_trips_of_every_size_at_every_offset(void **state)
{
	size_t offs[69], n = all_offsets(offs);
	struct vtl0env_snap s0, s1;

	(void)state;
	start();
	assert_int_equal(n, 69);
	vtl0env_snap(E, &s0);
	assert_int_equal(round_trips(VTLMEM_PHYSPTR_PERSISTENT, offs, n, every_size), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.maps - s0.vm.maps, 1);
	assert_int_equal(s1.vm.slot_maps, s0.vm.slot_maps);
	finish();
}

/*
 * The same through per-access mappings (a slot for 1-2 pages, a window
 * beyond), and through slots only: every size at the offsets where the
 * page arithmetic changes (0, 1, 63, 64, page-4, page-1), and every offset
 * at the sizes within 8 bytes of a page multiple. Each per-access mapping
 * costs the host mirror two syscalls and a signal, so the full product
 * through per-access mappings (about 1.7 million mapped accesses, a minute
 * or more) runs only with VTLMEM_TEST_EXHAUSTIVE=1 (next test).
 */
static void round_trips_through_slots_and_windows(void **state)
{
	static const size_t key[6] = { 0, 1, 63, 64, PG - 4, PG - 1 };
	size_t offs[69], n = all_offsets(offs);
	struct vtl0env_snap s0, s1;

	(void)state;
	start();
	vtl0env_snap(E, &s0);
	assert_int_equal(round_trips(0, key, 6, every_size), 0);
	vtl0env_snap(E, &s1);
	/* 1-2 page accesses: one slot each; 3-4 pages: one window each */
	assert_true(s1.vm.slot_maps - s0.vm.slot_maps > 6 * 2 * PG);
	assert_true(s1.vm.maps - s0.vm.maps > 6 * PG);
	assert_int_equal(round_trips(0, offs, n, near_page_multiples), 0);
	vtl0env_snap(E, &s0);
	assert_int_equal(round_trips(VTLMEM_PHYSPTR_SLOTS, offs, n, near_page_multiples), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.maps, s0.vm.maps);
	finish();
}

struct rec24 {
	uint64_t a, b, c;
};

static void elements_straddle_pages_in_any_physical_order(void **state)
{
	static const unsigned orders[3][3] = { { 50, 51, 52 }, { 52, 51, 50 }, { 51, 50, 52 } };
	struct vtlmem_physptr_attr a = attr(sizeof(struct rec24), VTLMEM_PROT_RW, 0);
	struct rec24 r[500], back[500];
	struct vtlmem_physptr h;
	vtlmem_paddr_t pg[3];
	uint8_t span[3 * PG];
	size_t i, o, done;

	(void)state;
	start();
	for (i = 0; i < 500; i++) {
		r[i].a = i;
		r[i].b = ~i * 0x9e3779b97f4a7c15ull;
		r[i].c = i << 40;
	}
	for (o = 0; o < 3; o++) {
		for (i = 0; i < 3; i++)
			pg[i] = vtl0env_page(orders[o][i]);
		fill_pages(pg, 3, (uint8_t)o);
		/* 500 * 24 = 12000 bytes from offset 13: elements at odd offsets */
		assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 3, 13, 500, &a), 0);
		for (i = 0; i < 500; i++) {
			assert_int_equal(vtlmem_physptr_write(&h, i, &r[i], &done), 0);
			assert_int_equal(done, 24);
		}
		vtl0env_gather(E, pg, 0, span, sizeof(span));
		assert_memory_equal(span + 13, r, sizeof(r));
		memset(back, 0, sizeof(back));
		assert_int_equal(vtlmem_physptr_read_slice(&h, 0, 500, back, &done), 0);
		assert_int_equal(done, sizeof(r));
		assert_memory_equal(back, r, sizeof(r));
		/* element 170 straddles pages 0 and 1 (bytes 4093..4116) */
		memset(&back[0], 0, 24);
		assert_int_equal(vtlmem_physptr_read(&h, 170, &back[0], &done), 0);
		assert_memory_equal(&back[0], &r[170], 24);
		assert_int_equal(vtlmem_physptr_destroy(&h), 0);
		assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	}
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	finish();
}

static void elements_larger_than_a_page_round_trip(void **state)
{
	struct vtlmem_physptr_attr a = attr(PG + 3, VTLMEM_PROT_RW, 0);
	vtlmem_paddr_t pg[4] = { vtl0env_page(63), vtl0env_page(61), vtl0env_page(60),
				 vtl0env_page(62) };
	uint8_t in[PG + 3], out[PG + 3], span[4 * PG];
	struct vtlmem_physptr h;
	size_t i, done;

	(void)state;
	start();
	/* 3 * (PG + 3) bytes from 4000: 16297 <= 4 pages */
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 4, 4000, 3, &a), 0);
	for (i = 0; i < 3; i++) {
		pattern(in, sizeof(in), (unsigned)i + 40);
		assert_int_equal(vtlmem_physptr_write(&h, i, in, &done), 0);
		assert_int_equal(done, PG + 3);
		assert_int_equal(vtlmem_physptr_read(&h, i, out, &done), 0);
		assert_memory_equal(in, out, sizeof(in));
		vtl0env_gather(E, pg, 4000 + i * (PG + 3), span, PG + 3);
		assert_memory_equal(span, in, PG + 3);
	}
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	finish();
}

/* ---- mapping choice and reservation lifetime --------------------------- */

static void accesses_use_a_slot_up_to_two_pages_and_a_window_beyond(void **state)
{
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, 0);
	vtlmem_paddr_t pg[4] = { vtl0env_page(70), vtl0env_page(72), vtl0env_page(74),
				 vtl0env_page(76) };
	uint8_t buf[4 * PG];
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;
	size_t done;

	(void)state;
	start();
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 4, 0, 4 * PG, &a), 0);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 100, PG - 100, buf, &done), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.slot_maps - s0.vm.slot_maps, 1);
	assert_int_equal(s1.vm.maps - s0.vm.maps, 0);
	/* two pages: still one slot */
	assert_int_equal(vtlmem_physptr_write_slice(&h, PG - 1, PG + 1, buf, &done), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.slot_maps - s0.vm.slot_maps, 2);
	assert_int_equal(s1.vm.maps - s0.vm.maps, 0);
	assert_int_equal(s1.vm.quarantined_pages, 0);
	/* three pages: one window mapping, quarantined once unmapped */
	assert_int_equal(vtlmem_physptr_read_slice(&h, PG - 1, PG + 2, buf, &done), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.slot_maps - s0.vm.slot_maps, 2);
	assert_int_equal(s1.vm.maps - s0.vm.maps, 1);
	assert_int_equal(s1.vm.mapped_pages, 0);
	assert_int_equal(s1.vm.quarantined_pages, 3);
	/* the reservation outlives the handle until the flush */
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_true(reserved(vtl0env_pa(70), PG, VTLMEM_RES_EXCLUSIVE));
	assert_true(reserved(vtl0env_pa(76), PG, VTLMEM_RES_EXCLUSIVE));
	E->hp.fail_shootdowns = 1;
	assert_int_equal(vtlmem_vmap_purge(E->vm), -VTLMEM_EIO);
	assert_true(reserved(vtl0env_pa(72), PG, VTLMEM_RES_EXCLUSIVE));
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	assert_false(reserved(vtl0env_pa(70), 7 * PG, VTLMEM_RES_SHARED));
	finish();
}

static void a_handle_used_only_through_slots_releases_at_once(void **state)
{
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, 0);
	vtlmem_paddr_t pg[2] = { vtl0env_page(80), vtl0env_page(82) };
	uint8_t buf[2 * PG];
	struct vtlmem_physptr h, w;
	unsigned long shoots;
	size_t done;

	(void)state;
	start();
	/* something else quarantined: a deferred release would wait for it */
	pg[0] = vtl0env_page(90);
	pg[1] = vtl0env_page(91);
	struct vtlmem_physptr_attr ro = attr(1, VTLMEM_PROT_RO, VTLMEM_PHYSPTR_PERSISTENT);

	assert_int_equal(vtlmem_physptr_create(&w, &E->rt, E->vm, pg, 2, 0, 1, &ro), 0);
	assert_int_equal(vtlmem_physptr_destroy(&w), 0);
	assert_true(reserved(vtl0env_pa(90), PG, VTLMEM_RES_SHARED));
	pg[0] = vtl0env_page(80);
	pg[1] = vtl0env_page(82);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 0, 2 * PG, &a), 0);
	assert_int_equal(vtlmem_physptr_write_slice(&h, 0, 2 * PG, buf, &done), 0);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 10, PG, buf, &done), 0);
	shoots = E->hp.shootdowns;
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_false(reserved(vtl0env_pa(80), PG, VTLMEM_RES_SHARED));
	assert_false(reserved(vtl0env_pa(82), PG, VTLMEM_RES_SHARED));
	assert_int_equal(E->hp.shootdowns, shoots);
	assert_true(reserved(vtl0env_pa(90), PG, VTLMEM_RES_SHARED));
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	assert_false(reserved(vtl0env_pa(90), PG, VTLMEM_RES_SHARED));
	finish();
}

static void the_slots_flag_chunks_long_accesses_two_pages_at_a_time(void **state)
{
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, VTLMEM_PHYSPTR_SLOTS);
	vtlmem_paddr_t pg[5] = { vtl0env_page(104), vtl0env_page(100), vtl0env_page(103),
				 vtl0env_page(101), vtl0env_page(102) };
	uint8_t in[5 * PG], out[5 * PG], span[5 * PG];
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;
	size_t done;

	(void)state;
	start();
	pattern(in, sizeof(in), 5);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 5, 0, 5 * PG, &a), 0);
	vtl0env_snap(E, &s0);
	/* 5 pages from byte 1: touches all 5 pages -> slots of 2, 2, 1 */
	assert_int_equal(vtlmem_physptr_write_slice(&h, 1, 5 * PG - 1, in, &done), 0);
	assert_int_equal(done, 5 * PG - 1);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.slot_maps - s0.vm.slot_maps, 3);
	assert_int_equal(s1.vm.maps, s0.vm.maps);
	vtl0env_gather(E, pg, 1, span, 5 * PG - 1);
	assert_memory_equal(span, in, 5 * PG - 1);
	/* from byte PG - 1 over 3 pages + 2 bytes: pages 0..4 -> 2, 2, 1 again */
	assert_int_equal(vtlmem_physptr_read_slice(&h, PG - 1, 3 * PG + 2, out, &done), 0);
	assert_memory_equal(out, span + PG - 2, 3 * PG + 2);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.slot_maps - s0.vm.slot_maps, 6);
	assert_int_equal(s1.vm.quarantined_pages, 0);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_false(reserved(vtl0env_pa(100), 5 * PG, VTLMEM_RES_SHARED));
	finish();
}

static void contiguous_windows_hold_at_most_the_stack_array(void **state)
{
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, 0);
	size_t n = VTLMEM_PHYSPTR_WINDOW_PAGES + 8, done;
	vtlmem_paddr_t pg[VTLMEM_PHYSPTR_WINDOW_PAGES + 8];
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;
	uint8_t *in, *out;
	size_t i;

	(void)state;
	start();
	in = malloc(n * PG);
	out = malloc(n * PG);
	assert_non_null(in);
	assert_non_null(out);
	pattern(in, n * PG, 8);
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm,
						      vtlmem_pa(vtl0env_pa(300)), n * PG, &a), 0);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_write_slice(&h, 0, n * PG, in, &done), 0);
	assert_int_equal(done, n * PG);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.maps - s0.vm.maps, 2);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(300)), in, n * PG);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	/* the same pages as an (external) array: one window */
	for (i = 0; i < n; i++)
		pg[i] = vtl0env_page(300 + (unsigned)i);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, n, 0, n * PG, &a), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, n, 0, n * PG, &a), 0);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 0, n * PG, out, &done), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.maps - s0.vm.maps, 1);
	assert_memory_equal(out, in, n * PG);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	free(in);
	free(out);
	finish();
}

static void a_persistent_mapping_is_made_once_and_released_after_the_flush(void **state)
{
	struct vtlmem_physptr_attr a = attr(2, VTLMEM_PROT_RW, VTLMEM_PHYSPTR_PERSISTENT);
	vtlmem_paddr_t pg[3] = { vtl0env_page(112), vtl0env_page(110), vtl0env_page(114) };
	uint8_t in[3 * PG], out[3 * PG];
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;
	uint64_t v;
	size_t done;

	(void)state;
	start();
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 3, 2, 3 * PG / 2 - 1, &a), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.maps - s0.vm.maps, 1);
	assert_int_equal(s1.vm.mapped_pages, 3);
	pattern(in, sizeof(in), 12);
	s0 = s1;
	assert_int_equal(vtlmem_physptr_write_slice(&h, 0, 3 * PG / 2 - 1, in, &done), 0);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 1, 3 * PG / 2 - 2, out, &done), 0);
	assert_memory_equal(out, in + 2, 3 * PG - 4);
	assert_int_equal(vtlmem_physptr_store(&h, 4094, 2, 0xbeef), 0);
	assert_int_equal(vtlmem_physptr_load(&h, 4094, 2, &v), 0);
	assert_int_equal(v, 0xbeef);
	assert_int_equal(vtl0env_dm(E, vtl0env_pa(110))[0], 0xef);
	assert_int_equal(vtlmem_physptr_map_persistent(&h), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.maps, s0.vm.maps);
	assert_int_equal(s1.vm.slot_maps, s0.vm.slot_maps);
	/* destroy unmaps; the reservation waits for the flush */
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.mapped_pages, 0);
	assert_int_equal(s1.vm.quarantined_pages, 3);
	assert_true(reserved(vtl0env_pa(110), PG, VTLMEM_RES_EXCLUSIVE));
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	assert_false(reserved(vtl0env_pa(110), PG, VTLMEM_RES_SHARED));
	assert_false(reserved(vtl0env_pa(112), PG, VTLMEM_RES_SHARED));
	/* asked for later, on a handle that already made slot accesses */
	a.flags = 0;
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 3, 0, 10, &a), 0);
	assert_int_equal(vtlmem_physptr_read(&h, 9, &v, NULL), 0);
	assert_int_equal(vtlmem_physptr_map_persistent(&h), 0);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_read(&h, 9, &v, NULL), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.slot_maps, s0.vm.slot_maps);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_true(reserved(vtl0env_pa(112), PG, VTLMEM_RES_EXCLUSIVE));
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	finish();
}

static void destroy_purges_at_once_when_the_deferred_release_cannot_be_recorded(void **state)
{
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, VTLMEM_PHYSPTR_PERSISTENT);
	vtlmem_paddr_t pg[1] = { vtl0env_page(120) };
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;
	unsigned long shoots;
	uint8_t x = 1;

	(void)state;
	start();
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 1, 0, 1, &a), 0);
	shoots = E->hp.shootdowns;
	E->hp.fail_alloc_at = 1;
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_int_equal(E->hp.alloc_fails, 1);
	assert_int_equal(E->hp.shootdowns, shoots + 1);
	assert_false(reserved(vtl0env_pa(120), PG, VTLMEM_RES_SHARED));
	/* and when that purge's shootdown fails too: -EIO, the handle lives on */
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 1, 0, 1, &a), 0);
	E->hp.fail_alloc_at = 1;
	E->hp.fail_shootdowns = 1;
	assert_int_equal(vtlmem_physptr_destroy(&h), -VTLMEM_EIO);
	assert_true(reserved(vtl0env_pa(120), PG, VTLMEM_RES_EXCLUSIVE));
	/* no persistent mapping any more: reads and writes map a slot each */
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_write(&h, 0, &x, NULL), 0);
	assert_int_equal(vtl0env_dm(E, vtl0env_pa(120))[0], 1);
	vtl0env_dm(E, vtl0env_pa(120))[0] = 2;
	assert_int_equal(vtlmem_physptr_read(&h, 0, &x, NULL), 0);
	assert_int_equal(x, 2);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.slot_maps, s0.vm.slot_maps + 2);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_true(reserved(vtl0env_pa(120), PG, VTLMEM_RES_EXCLUSIVE));
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	assert_false(reserved(vtl0env_pa(120), PG, VTLMEM_RES_SHARED));
	finish();
}

/*
 * One access through handle p (persistent mapping) and q (same geometry,
 * mapping per access), with buffers pb/qb (NULL when nb) and *done (NULL
 * when nd): same return value, same *done, same bytes in the buffers.
 * The buffers are reset first; n == 1 also tries read/write.
 */
static void same_answer(struct vtlmem_physptr *p, struct vtlmem_physptr *q, size_t i,
			size_t n, bool write, const uint8_t *src, uint8_t *pbuf, uint8_t *qbuf,
			size_t blen, bool nb, bool nd)
{
	void *pb = nb ? NULL : write ? (void *)(uintptr_t)src : pbuf;
	void *qb = nb ? NULL : write ? (void *)(uintptr_t)src : qbuf;
	size_t pd = 77, qd = 77;
	int pr, qr;

	memset(pbuf, 0xa5, blen);
	memset(qbuf, 0xa5, blen);
	if (write) {
		pr = vtlmem_physptr_write_slice(p, i, n, pb, nd ? NULL : &pd);
		qr = vtlmem_physptr_write_slice(q, i, n, qb, nd ? NULL : &qd);
	} else {
		pr = vtlmem_physptr_read_slice(p, i, n, pb, nd ? NULL : &pd);
		qr = vtlmem_physptr_read_slice(q, i, n, qb, nd ? NULL : &qd);
	}
	if (pr != qr || pd != qd)
		print_error("i %zu n %zu write %d buf %d done %d: %d/%zu, per access %d/%zu\n", i,
			    n, write, !nb, !nd, pr, pd, qr, qd);
	assert_int_equal(pr, qr);
	assert_int_equal(pd, qd);
	assert_memory_equal(pbuf, qbuf, blen);
	if (n != 1)
		return;
	pd = qd = 77;
	pr = write ? vtlmem_physptr_write(p, i, pb, nd ? NULL : &pd)
		   : vtlmem_physptr_read(p, i, pb, nd ? NULL : &pd);
	qr = write ? vtlmem_physptr_write(q, i, qb, nd ? NULL : &qd)
		   : vtlmem_physptr_read(q, i, qb, nd ? NULL : &qd);
	assert_int_equal(pr, qr);
	assert_int_equal(pd, qd);
	assert_memory_equal(pbuf, qbuf, blen);
}

/*
 * The persistent path (a bounds compare and one copy) must answer exactly
 * what the per-access path answers, for every argument: two handles of the
 * same geometry (3-byte elements from offset 5 over 2 pages), one with a
 * persistent mapping, one mapping a slot per access, RW and RO, get the
 * same calls (h NULL; i and n at 0, 1, mid, the end, one past it and
 * wrapping; buf given or NULL; done given or NULL) and must return the
 * same value, set the same *done and move the same bytes (both handles'
 * VTL0 pages stay equal).
 */
static void persistent_accesses_answer_exactly_what_mapped_accesses_answer(void **state)
{
	static const size_t v[] = { 0, 1, 2, 1000, 1999, 2000, 2001, SIZE_MAX - 1, SIZE_MAX };
	const size_t nv = sizeof(v) / sizeof(v[0]);
	vtlmem_paddr_t pp[2] = { vtl0env_page(241), vtl0env_page(240) };
	vtlmem_paddr_t qp[2] = { vtl0env_page(243), vtl0env_page(242) };
	enum vtlmem_prot prots[2] = { VTLMEM_PROT_RW, VTLMEM_PROT_RO };
	uint8_t src[6000], pbuf[6001], qbuf[6001], pv[2 * PG], qv[2 * PG];
	struct vtlmem_physptr p, q;
	struct vtl0env_snap s0, s1;
	unsigned k, c, calls = 0;
	size_t a, b;

	(void)state;
	start();
	pattern(src, sizeof(src), 5);
	assert_int_equal(vtlmem_physptr_read_slice(NULL, 0, 1, pbuf, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_write_slice(NULL, 0, 1, src, NULL), -VTLMEM_EINVAL);
	for (k = 0; k < 2; k++) {
		struct vtlmem_physptr_attr pa = attr(3, prots[k], VTLMEM_PHYSPTR_PERSISTENT);
		struct vtlmem_physptr_attr qa = attr(3, prots[k], 0);

		fill_pages(pp, 2, 40);
		fill_pages(qp, 2, 40);
		assert_int_equal(vtlmem_physptr_create(&p, &E->rt, E->vm, pp, 2, 5, 2000, &pa), 0);
		assert_int_equal(vtlmem_physptr_create(&q, &E->rt, E->vm, qp, 2, 5, 2000, &qa), 0);
		vtl0env_snap(E, &s0);
		for (a = 0; a < nv; a++) {
			for (b = 0; b < nv; b++) {
				/* c: bit 0 write, bit 1 no buffer, bit 2 no done */
				for (c = 0; c < 8; c++, calls++)
					same_answer(&p, &q, v[a], v[b], c & 1, src, pbuf, qbuf,
						    sizeof(pbuf), c & 2, c & 4);
				vtl0env_gather(E, pp, 0, pv, sizeof(pv));
				vtl0env_gather(E, qp, 0, qv, sizeof(qv));
				assert_memory_equal(pv, qv, sizeof(pv));
			}
		}
		vtl0env_snap(E, &s1);
		assert_true(s1.vm.slot_maps > s0.vm.slot_maps);
		assert_int_equal(s1.vm.maps, s0.vm.maps);
		assert_int_equal(vtlmem_physptr_destroy(&p), 0);
		assert_int_equal(vtlmem_physptr_destroy(&q), 0);
		assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	}
	assert_int_equal(calls, 2 * 9 * 9 * 8);
	finish();
}

/*
 * One field access through p (persistent mapping) and q (slot per access):
 * loads with out given and NULL, stores of a value that fits and of one
 * that does not: the same return values, the same *out (untouched on
 * error).
 */
static void same_field(struct vtlmem_physptr *p, struct vtlmem_physptr *q, uint64_t off,
		       unsigned w)
{
	uint64_t pv = 0x5a5a5a5a5a5a5a5aull, qv = pv;
	uint64_t fits = w == 0 ? 0 : 0x8877665544332211ull >> (w < 8 ? 64 - 8 * w : 0);
	uint64_t big = w < 8 ? 1ull << (8 * w) : UINT64_MAX;
	int pr, qr;

	pr = vtlmem_physptr_load(p, off, w, &pv);
	qr = vtlmem_physptr_load(q, off, w, &qv);
	if (pr != qr || pv != qv)
		print_error("load off %llu width %u: %d vs %d\n", (unsigned long long)off, w, pr,
			    qr);
	assert_int_equal(pr, qr);
	assert_int_equal(pv, qv);
	assert_int_equal(vtlmem_physptr_load(p, off, w, NULL), vtlmem_physptr_load(q, off, w, NULL));
	pr = vtlmem_physptr_store(p, off, w, fits);
	qr = vtlmem_physptr_store(q, off, w, fits);
	if (pr != qr)
		print_error("store off %llu width %u: %d vs %d\n", (unsigned long long)off, w, pr,
			    qr);
	assert_int_equal(pr, qr);
	assert_int_equal(vtlmem_physptr_store(p, off, w, big), vtlmem_physptr_store(q, off, w, big));
}

/*
 * The same for the field accessors: load and store through a persistent
 * mapping and through a slot (handles of 5-byte elements from offset 3 to
 * the end of 2 pages, RW and RO) at every offset near the start, the page
 * boundary and the end of the span, and wrapping ones, every width 0..9:
 * same_field, and the same VTL0 bytes.
 */
static void persistent_fields_answer_exactly_what_slot_fields_answer(void **state)
{
	vtlmem_paddr_t pp[2] = { vtl0env_page(245), vtl0env_page(244) };
	vtlmem_paddr_t qp[2] = { vtl0env_page(247), vtl0env_page(246) };
	enum vtlmem_prot prots[2] = { VTLMEM_PROT_RW, VTLMEM_PROT_RO };
	const uint64_t bytes = 2 * PG - 3;
	uint8_t pm[2 * PG], qm[2 * PG];
	struct vtlmem_physptr p, q;
	unsigned k, w, no = 0, j;
	uint64_t offs[64];

	(void)state;
	start();
	for (j = 0; j < 17; j++) {
		offs[no++] = j;
		offs[no++] = PG - 3 - 8 + j;
		offs[no++] = bytes - 9 + j;
	}
	offs[no++] = UINT64_MAX;
	offs[no++] = UINT64_MAX - 7;
	offs[no++] = UINT64_MAX - 8;
	for (k = 0; k < 2; k++) {
		struct vtlmem_physptr_attr pa = attr(5, prots[k], VTLMEM_PHYSPTR_PERSISTENT);
		struct vtlmem_physptr_attr qa = attr(5, prots[k], 0);

		fill_pages(pp, 2, 90);
		fill_pages(qp, 2, 90);
		assert_int_equal(vtlmem_physptr_create(&p, &E->rt, E->vm, pp, 2, 3, bytes / 5, &pa),
				 0);
		assert_int_equal(vtlmem_physptr_create(&q, &E->rt, E->vm, qp, 2, 3, bytes / 5, &qa),
				 0);
		for (j = 0; j < no; j++) {
			for (w = 0; w <= 9; w++)
				same_field(&p, &q, offs[j], w);
			vtl0env_gather(E, pp, 0, pm, sizeof(pm));
			vtl0env_gather(E, qp, 0, qm, sizeof(qm));
			assert_memory_equal(pm, qm, sizeof(pm));
		}
		assert_int_equal(vtlmem_physptr_destroy(&p), 0);
		assert_int_equal(vtlmem_physptr_destroy(&q), 0);
		assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	}
	finish();
}

/*
 * Exact answers of the persistent path at its edges, by value: an RW
 * handle of 4-byte elements from offset 8 in one page, count 10.
 */
static void persistent_accesses_check_bounds_handle_and_buffer_exactly(void **state)
{
	struct vtlmem_physptr_attr a = attr(4, VTLMEM_PROT_RW, VTLMEM_PHYSPTR_PERSISTENT);
	struct vtlmem_physptr_attr r = attr(4, VTLMEM_PROT_RO, VTLMEM_PHYSPTR_PERSISTENT);
	vtlmem_paddr_t pg[1] = { vtl0env_page(250) }, pg2[1] = { vtl0env_page(251) };
	struct vtlmem_physptr h, c, o;
	uint8_t *dm;
	struct vtl0env_snap s0, s1;
	uint8_t buf[44];
	uint32_t v = 0x01020304, back;
	uint64_t f = 0;
	size_t done;

	(void)state;
	start();
	dm = vtl0env_dm(E, vtl0env_pa(250));
	fill_page(vtl0env_pa(250), 3);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 1, 8, 10, &a), 0);
	vtl0env_snap(E, &s0);
	/* the whole span and the last element: in bounds */
	done = 0;
	assert_int_equal(vtlmem_physptr_read_slice(&h, 0, 10, buf, &done), 0);
	assert_int_equal(done, 40);
	assert_memory_equal(buf, dm + 8, 40);
	done = 0;
	assert_int_equal(vtlmem_physptr_write(&h, 9, &v, &done), 0);
	assert_int_equal(done, 4);
	assert_memory_equal(dm + 8 + 36, &v, 4);
	assert_int_equal(vtlmem_physptr_read(&h, 9, &back, NULL), 0);
	assert_int_equal(back, v);
	/* empty at the end: 0, nothing copied; one past it: -ERANGE */
	done = 5;
	assert_int_equal(vtlmem_physptr_read_slice(&h, 10, 0, buf, &done), 0);
	assert_int_equal(done, 0);
	done = 5;
	assert_int_equal(vtlmem_physptr_write_slice(&h, 10, 0, buf, &done), 0);
	assert_int_equal(done, 0);
	done = 5;
	assert_int_equal(vtlmem_physptr_read_slice(&h, 11, 0, buf, &done), -VTLMEM_ERANGE);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 9, 2, buf, &done), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 0, 11, buf, &done), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_read(&h, 10, buf, &done), -VTLMEM_ERANGE);
	assert_int_equal(done, 0);
	/* i + n wraps (also to a sum that would be in bounds) */
	assert_int_equal(vtlmem_physptr_read_slice(&h, SIZE_MAX, 1, buf, &done), -VTLMEM_EOVERFLOW);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 2, SIZE_MAX - 1, buf, &done),
			 -VTLMEM_EOVERFLOW);
	assert_int_equal(vtlmem_physptr_write_slice(&h, SIZE_MAX, SIZE_MAX, buf, &done),
			 -VTLMEM_EOVERFLOW);
	/* no buffer */
	done = 5;
	assert_int_equal(vtlmem_physptr_read_slice(&h, 0, 1, NULL, &done), -VTLMEM_EINVAL);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_physptr_write(&h, 0, NULL, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 3, 0, NULL, NULL), 0);
	assert_int_equal(vtlmem_physptr_read_slice(NULL, 0, 1, buf, &done), -VTLMEM_EINVAL);
	/* a copy of the mapped handle: every access refused */
	memcpy(&c, &h, sizeof(h));
	done = 5;
	assert_int_equal(vtlmem_physptr_read_slice(&c, 0, 1, buf, &done), -VTLMEM_EINVAL);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_physptr_write_slice(&c, 0, 1, buf, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_read(&c, 0, buf, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_write(&c, 0, &v, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_read_slice(&c, 0, 0, buf, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_load(&c, 0, 4, &f), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_store(&c, 0, 4, 1), -VTLMEM_EINVAL);
	/* fields: through the mapping, exactly in bounds */
	assert_int_equal(vtlmem_physptr_store(&h, 32, 8, 0x1122334455667788ull), 0);
	assert_int_equal(vtlmem_physptr_load(&h, 32, 8, &f), 0);
	assert_int_equal(f, 0x1122334455667788ull);
	assert_memory_equal(&f, dm + 40, 8);
	assert_int_equal(vtlmem_physptr_load(&h, 33, 8, &f), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_load(&h, 36, 8, &f), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_load(&h, 28, 8, &f), -VTLMEM_EINVAL);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.maps, s0.vm.maps);
	assert_int_equal(s1.vm.slot_maps, s0.vm.slot_maps);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	/* destroyed: dead, although its storage still names the old mapping */
	done = 5;
	assert_int_equal(vtlmem_physptr_read_slice(&h, 0, 1, buf, &done), -VTLMEM_EINVAL);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_physptr_write_slice(&h, 0, 1, buf, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_load(&h, 0, 4, &f), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_store(&h, 0, 4, 1), -VTLMEM_EINVAL);
	/* a failed create over storage that looked live and mapped: dead */
	memcpy(&o, &c, sizeof(o));
	o.self = &o;
	assert_int_equal(vtlmem_physptr_create(&o, &E->rt, E->vm, pg, 1, PG, 1, &a),
			 -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_read_slice(&o, 0, 1, buf, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_write_slice(&o, 0, 1, buf, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_load(&o, 0, 4, &f), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_store(&o, 0, 4, 1), -VTLMEM_EINVAL);
	/* RO and mapped: reads take the persistent path, writes are refused */
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	fill_page(vtl0env_pa(251), 8);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg2, 1, 8, 10, &r), 0);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 1, 9, buf, &done), 0);
	assert_int_equal(done, 36);
	assert_memory_equal(buf, vtl0env_dm(E, vtl0env_pa(251)) + 12, 36);
	done = 5;
	assert_int_equal(vtlmem_physptr_write_slice(&h, 0, 1, &v, &done), -VTLMEM_EACCES);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_physptr_write_slice(&h, 10, 0, &v, NULL), -VTLMEM_EACCES);
	assert_int_equal(vtlmem_physptr_write(&h, 0, &v, NULL), -VTLMEM_EACCES);
	assert_int_equal(vtlmem_physptr_store(&h, 0, 4, 1), -VTLMEM_EACCES);
	assert_int_equal(vtlmem_physptr_load(&h, 4, 4, &f), 0);
	assert_memory_equal(&f, vtl0env_dm(E, vtl0env_pa(251)) + 12, 4);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.slot_maps, s0.vm.slot_maps);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	finish();
}

/* ---- faults -------------------------------------------------------------- */

static void a_page_taken_away_mid_access_gives_efault_with_the_exact_count(void **state)
{
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, 0);
	vtlmem_paddr_t pg[4] = { vtl0env_page(133), vtl0env_page(130), vtl0env_page(132),
				 vtl0env_page(131) };
	uint8_t in[4 * PG], out[4 * PG + 1], before[4 * PG], span[4 * PG];
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;
	unsigned long fix;
	size_t done;

	(void)state;
	start();
	fill_pages(pg, 4, 0x40);
	vtl0env_gather(E, pg, 0, before, sizeof(before));
	pattern(in, sizeof(in), 13);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 4, 100, 4 * PG - 100, &a), 0);
	vtl0env_snap(E, &s0);

	/* window path: third page refused -> bytes of pages 0 and 1 only */
	vtl0env_refuse(E, vtl0env_pa(132));
	fix = fault_fixups();
	memset(out, 0xee, sizeof(out));
	assert_int_equal(vtlmem_physptr_read_slice(&h, 0, 4 * PG - 100, out, &done), -VTLMEM_EFAULT);
	assert_int_equal(done, 2 * PG - 100);
	assert_true(fault_fixups() > fix);
	assert_memory_equal(out, before + 100, 2 * PG - 100);
	assert_int_equal(out[2 * PG - 100], 0xee);
	assert_int_equal(out[4 * PG - 101], 0xee);
	assert_int_equal(vtlmem_physptr_write_slice(&h, 0, 4 * PG - 100, in, &done), -VTLMEM_EFAULT);
	assert_int_equal(done, 2 * PG - 100);
	vtl0env_gather(E, pg, 0, span, sizeof(span));
	assert_memory_equal(span, before, 100);
	assert_memory_equal(span + 100, in, 2 * PG - 100);
	assert_memory_equal(span + 2 * PG, before + 2 * PG, 2 * PG);

	/* slot path: a 2-page access whose second page is refused */
	vtl0env_refuse(E, vtl0env_pa(130));
	assert_int_equal(vtlmem_physptr_write_slice(&h, PG - 150, 96, in, &done), -VTLMEM_EFAULT);
	assert_int_equal(done, 50);
	assert_int_equal(vtlmem_physptr_read_slice(&h, 0, PG, out, &done), -VTLMEM_EFAULT);
	assert_int_equal(done, PG - 100);
	/* the very first byte refused: nothing copied */
	vtl0env_refuse(E, vtl0env_pa(133));
	assert_int_equal(vtlmem_physptr_read(&h, 0, out, &done), -VTLMEM_EFAULT);
	assert_int_equal(done, 0);

	/* every mapping was undone on the way out */
	vtl0env_refuse(E, 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.mapped_pages, 0);
	assert_int_equal(s1.preempt_offs, s1.preempt_ons);
	assert_int_equal(s1.rt.handles, s0.rt.handles);
	/* and with the page back the same access succeeds */
	assert_int_equal(vtlmem_physptr_read_slice(&h, 0, 4 * PG - 100, out, &done), 0);
	assert_int_equal(done, 4 * PG - 100);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	finish();
}

static void faults_through_a_persistent_mapping_and_on_fields_are_reported(void **state)
{
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, VTLMEM_PHYSPTR_PERSISTENT);
	struct vtlmem_physptr_attr s = attr(1, VTLMEM_PROT_RW, 0);
	vtlmem_paddr_t pg[2] = { vtl0env_page(141), vtl0env_page(140) };
	uint8_t in[2 * PG], out[2 * PG];
	struct vtlmem_physptr h;
	uint64_t v = 0x77;
	size_t done;

	(void)state;
	start();
	fill_pages(pg, 2, 3);
	pattern(in, sizeof(in), 1);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 0, 2 * PG, &a), 0);
	vtl0env_refuse(E, vtl0env_pa(140));
	assert_int_equal(vtlmem_physptr_write_slice(&h, 1000, PG, in, &done), -VTLMEM_EFAULT);
	assert_int_equal(done, PG - 1000);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(141) + 1000), in, PG - 1000);
	assert_int_equal(vtlmem_physptr_read_slice(&h, PG, 1, out, &done), -VTLMEM_EFAULT);
	assert_int_equal(done, 0);
	/* a read into the refused page: exactly the bytes before it, or no count */
	memset(out, 0xee, sizeof(out));
	assert_int_equal(vtlmem_physptr_read_slice(&h, PG - 100, 300, out, &done), -VTLMEM_EFAULT);
	assert_int_equal(done, 100);
	assert_memory_equal(out, vtl0env_dm(E, vtl0env_pa(141) + PG - 100), 100);
	assert_int_equal(out[100], 0xee);
	assert_int_equal(vtlmem_physptr_read_slice(&h, PG - 100, 300, out, NULL), -VTLMEM_EFAULT);
	assert_int_equal(vtlmem_physptr_write(&h, PG + 1, in, NULL), -VTLMEM_EFAULT);
	assert_int_equal(vtlmem_physptr_load(&h, PG + 8, 8, &v), -VTLMEM_EFAULT);
	assert_int_equal(v, 0x77);
	assert_int_equal(vtlmem_physptr_store(&h, PG, 4, 0xabcd), -VTLMEM_EFAULT);
	assert_int_not_equal(*(uint32_t *)vtl0env_dm(E, vtl0env_pa(140)), 0xabcd);
	vtl0env_refuse(E, 0);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	/* the slot path of the field accessors */
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 0, 2 * PG, &s), 0);
	vtl0env_refuse(E, vtl0env_pa(141));
	assert_int_equal(vtlmem_physptr_load(&h, 16, 4, &v), -VTLMEM_EFAULT);
	assert_int_equal(v, 0x77);
	assert_int_equal(vtlmem_physptr_store(&h, 16, 4, 5), -VTLMEM_EFAULT);
	assert_int_equal(E->hp.preempt_offs, E->hp.preempt_ons);
	vtl0env_refuse(E, 0);
	assert_int_equal(vtlmem_physptr_store(&h, 16, 4, 5), 0);
	assert_int_equal(*(uint32_t *)vtl0env_dm(E, vtl0env_pa(141) + 16), 5);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	finish();
}

/* ---- fields -------------------------------------------------------------- */

static void fields_are_whole_naturally_aligned_accesses(void **state)
{
	static const unsigned widths[] = { 1, 2, 4, 8 };
	static const uint64_t vals[] = { 0xa1, 0xb2c3, 0xd4e5f607, 0x1122334455667788ull };
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, 0);
	vtlmem_paddr_t pg[2] = { vtl0env_page(151), vtl0env_page(150) };
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;
	uint8_t before[2 * PG], span[2 * PG];
	uint64_t v, off;
	unsigned i;

	(void)state;
	start();
	fill_pages(pg, 2, 7);
	/* span byte 0 is physical offset 4 of page 151 */
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 2, 4, 2 * PG - 4, &a), 0);
	for (i = 0; i < 4; i++) {
		unsigned w = widths[i];
		/* fields at the start, at the end of the first page, in the second */
		uint64_t offs[3] = { PG - 4 - w, PG - 4, 2 * PG - 4 - w };
		unsigned k;

		for (k = 0; k < 3; k++) {
			off = offs[k];
			vtl0env_gather(E, pg, 0, before, sizeof(before));
			assert_int_equal(vtlmem_physptr_store(&h, off, w, vals[i]), 0);
			vtl0env_gather(E, pg, 0, span, sizeof(span));
			assert_memory_equal(span + 4 + off, &vals[i], w);
			assert_memory_equal(span, before, 4 + off);
			assert_memory_equal(span + 4 + off + w, before + 4 + off + w,
					    2 * PG - 4 - off - w);
			v = 0x5a5a5a5a5a5a5a5aull;
			assert_int_equal(vtlmem_physptr_load(&h, off, w, &v), 0);
			assert_int_equal(v, vals[i]);
		}
		if (w > 1) {
			/* not naturally aligned physically (span offset 4 included) */
			assert_int_equal(vtlmem_physptr_load(&h, w == 8 ? 0 : 1, w, &v),
					 -VTLMEM_EINVAL);
			assert_int_equal(vtlmem_physptr_store(&h, PG - 3 - w, w, 0), -VTLMEM_EINVAL);
		}
	}
	vtl0env_snap(E, &s0);
	/* bad widths, values, ranges */
	assert_int_equal(vtlmem_physptr_load(&h, 4, 3, &v), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_load(&h, 4, 0, &v), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_load(&h, 12, 16, &v), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_load(&h, 4, 4, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_store(&h, 4, 1, 0x100), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_store(&h, 4, 2, 0x10000), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_store(&h, 4, 4, 0x100000000ull), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_physptr_load(&h, 2 * PG - 8, 8, &v), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_load(&h, 2 * PG - 4, 1, &v), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_store(&h, UINT64_MAX - 3, 8, 0), -VTLMEM_ERANGE);
	assert_int_equal(vtlmem_physptr_load(&h, UINT64_MAX, 1, &v), -VTLMEM_ERANGE);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	finish();
}

/* ---- allocation failures, slots, external arrays -------------------------- */

static void allocation_failure_at_every_point_changes_nothing(void **state)
{
	struct vtlmem_physptr_attr p = attr(1, VTLMEM_PROT_RW, VTLMEM_PHYSPTR_PERSISTENT);
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, 0);
	vtlmem_paddr_t pg[3] = { vtl0env_page(162), vtl0env_page(160), vtl0env_page(164) };
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;
	uint8_t buf[3 * PG];
	unsigned k, failed = 0;
	size_t done;
	int ret;

	(void)state;
	start();
	/* create with a persistent mapping: reservation + mapping allocations */
	for (k = 1; k < 100; k++) {
		vtl0env_snap(E, &s0);
		E->hp.fail_alloc_at = k;
		ret = vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 3, 0, 3 * PG, &p);
		E->hp.fail_alloc_at = 0;
		if (ret == 0)
			break;
		assert_int_equal(ret, -VTLMEM_ENOMEM);
		vtl0env_snap(E, &s1);
		assert_true(vtl0env_same_state(&s0, &s1));
		assert_int_equal(s1.rt.handles, s0.rt.handles);
		assert_int_equal(s1.vm.mapped_pages, 0);
		assert_int_equal(vtlmem_physptr_read(&h, 0, buf, NULL), -VTLMEM_EINVAL);
		failed++;
	}
	assert_true(failed >= 1);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	/* a window access: every allocation of the map, then a page table */
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 3, 0, 3 * PG, &a), 0);
	failed = 0;
	for (k = 1; k < 100; k++) {
		vtl0env_snap(E, &s0);
		E->hp.fail_alloc_at = k;
		ret = vtlmem_physptr_read_slice(&h, 0, 3 * PG, buf, &done);
		E->hp.fail_alloc_at = 0;
		if (ret == 0)
			break;
		assert_int_equal(ret, -VTLMEM_ENOMEM);
		assert_int_equal(done, 0);
		vtl0env_snap(E, &s1);
		assert_int_equal(s1.vm.maps, s0.vm.maps);
		assert_int_equal(s1.vm.quarantined_pages, s0.vm.quarantined_pages);
		failed++;
	}
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	finish();
	/* a fresh manager: the first window map needs a leaf table */
	start();
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 3, 0, 3 * PG, &a), 0);
	vtl0env_snap(E, &s0);
	E->hp.fail_pt_at = 1;
	assert_int_equal(vtlmem_physptr_write_slice(&h, 0, 3 * PG, buf, &done), -VTLMEM_ENOMEM);
	assert_int_equal(done, 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.maps, s0.vm.maps);
	assert_int_equal(s1.pt_live, s0.pt_live);
	assert_int_equal(vtlmem_physptr_write_slice(&h, 0, 3 * PG, buf, &done), 0);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	finish();
}

static void accesses_fail_with_enospc_while_this_cpus_slots_are_taken(void **state)
{
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RO, 0);
	vtlmem_paddr_t pg[1] = { vtl0env_page(170) }, mine[4];
	struct vtlmem_range r = { vtl0env_page(180), 4 * PG };
	struct vtlmem_physptr h;
	struct vtlmem_slot s;
	vtlmem_resv_t res;
	uint64_t v;
	uint8_t b;
	size_t done = 9;
	unsigned i;

	(void)state;
	start();
	for (i = 0; i < 4; i++)
		mine[i] = vtl0env_page(180 + i);
	assert_int_equal(vtlmem_reserve(&E->rt, &r, 1, VTLMEM_RES_SHARED, &res, NULL), 0);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 1, 0, PG, &a), 0);
	assert_int_equal(vtlmem_slot_map(E->vm, mine, 4, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, res, &s), 0);
	assert_int_equal(vtlmem_physptr_read(&h, 5, &b, &done), -VTLMEM_ENOSPC);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_physptr_load(&h, 8, 8, &v), -VTLMEM_ENOSPC);
	assert_int_equal(vtlmem_slot_unmap(E->vm, &s), 0);
	/* another simulated CPU has its own slots (SMP runs: s.cpu is any CPU) */
	assert_int_equal(vtlmem_slot_map(E->vm, mine, 4, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, res, &s), 0);
	hostplat_set_cpu((s.cpu + 2) % E->hp.ops.ncpus);
	assert_int_equal(vtlmem_physptr_read(&h, 5, &b, &done), 0);
	hostplat_set_cpu(s.cpu);
	assert_int_equal(vtlmem_slot_unmap(E->vm, &s), 0);
	assert_int_equal(vtlmem_physptr_read(&h, 5, &b, &done), 0);
	assert_int_equal(done, 1);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_int_equal(vtlmem_release(&E->rt, res), 0);
	finish();
}

static void a_long_page_array_is_referenced_and_checked_against_the_reservation(void **state)
{
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RW, 0);
	vtlmem_paddr_t pg[6], small[2];
	struct vtlmem_physptr h, s;
	uint8_t buf[16] = "0123456789abcdef";
	size_t done;
	unsigned i;

	(void)state;
	start();
	for (i = 0; i < 6; i++)
		pg[i] = vtl0env_page(190 + 2 * i);
	small[0] = vtl0env_page(220);
	small[1] = vtl0env_page(221);
	assert_int_equal(vtlmem_physptr_create(&h, &E->rt, E->vm, pg, 6, 0, 6 * PG, &a), 0);
	assert_int_equal(vtlmem_physptr_create(&s, &E->rt, E->vm, small, 2, 0, 2 * PG, &a), 0);
	/* a short array is copied: changing the caller's copy changes nothing */
	small[1] = vtl0env_page(300);
	assert_int_equal(vtlmem_physptr_write_slice(&s, PG, 16, buf, &done), 0);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(221)), buf, 16);
	/* a long one is referenced: a page swapped in behind the handle's back is not reserved */
	pg[5] = vtl0env_page(230);
	assert_int_equal(vtlmem_physptr_write_slice(&h, 5 * PG, 16, buf, &done), -VTLMEM_EPERM);
	assert_int_equal(done, 0);
	assert_int_equal(vtl0env_dm(E, vtl0env_pa(230))[0], 0);
	pg[5] = vtl0env_page(200);
	assert_int_equal(vtlmem_physptr_write_slice(&h, 5 * PG, 16, buf, &done), 0);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(200)), buf, 16);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_int_equal(vtlmem_physptr_destroy(&s), 0);
	finish();
}

static void round_trips_through_slots_and_windows_every_size_every_offset(void **state)
{
	size_t offs[69], n = all_offsets(offs);

	(void)state;
	start();
	assert_int_equal(round_trips(0, offs, n, every_size), 0);
	assert_int_equal(round_trips(VTLMEM_PHYSPTR_SLOTS, offs, n, every_size), 0);
	finish();
}

static void map_persistent_is_refused_for_a_contiguous_handle_beyond_the_stack_array(void **state)
{
	struct vtlmem_physptr_attr a = attr(1, VTLMEM_PROT_RO, 0);
	struct vtlmem_physptr h;
	struct vtl0env_snap s0, s1;
	uint8_t b;

	(void)state;
	start();
	assert_int_equal(vtlmem_physptr_create_contig(&h, &E->rt, E->vm, vtlmem_pa(vtl0env_pa(600)),
						      (VTLMEM_PHYSPTR_WINDOW_PAGES + 1) * PG, &a), 0);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_physptr_map_persistent(&h), -VTLMEM_E2BIG);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	/* accesses still map per access */
	assert_int_equal(vtlmem_physptr_read(&h, VTLMEM_PHYSPTR_WINDOW_PAGES * PG, &b, NULL), 0);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_false(reserved(vtl0env_pa(600), PG, VTLMEM_RES_SHARED));
	finish();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_rejects_null_and_bad_attributes_with_no_state_change),
		cmocka_unit_test(create_checks_overflow_and_that_the_span_fits_the_pages),
		cmocka_unit_test(create_validates_every_page_in_order),
		cmocka_unit_test(create_limits_the_runs_of_a_page_array),
		cmocka_unit_test(rw_handles_reserve_exclusive_and_ro_handles_shared_for_their_lifetime),
		cmocka_unit_test(a_copied_handle_is_refused_by_every_call),
		cmocka_unit_test(a_failed_create_kills_a_handle_that_looked_live),
		cmocka_unit_test(contig_create_covers_the_pages_of_the_byte_range),
		cmocka_unit_test(create_at_the_last_page_of_the_space_under_each_pa_bits),
		cmocka_unit_test(handles_may_end_exactly_at_2_pow_pa_bits),
		cmocka_unit_test(empty_accesses_succeed_and_map_nothing),
		cmocka_unit_test(out_of_bounds_accesses_fail_before_anything_is_mapped),
		cmocka_unit_test(read_only_handles_refuse_every_write),
		cmocka_unit_test(round_trips_of_every_size_at_every_offset),
		cmocka_unit_test(round_trips_through_slots_and_windows),
		cmocka_unit_test(elements_straddle_pages_in_any_physical_order),
		cmocka_unit_test(elements_larger_than_a_page_round_trip),
		cmocka_unit_test(accesses_use_a_slot_up_to_two_pages_and_a_window_beyond),
		cmocka_unit_test(a_handle_used_only_through_slots_releases_at_once),
		cmocka_unit_test(the_slots_flag_chunks_long_accesses_two_pages_at_a_time),
		cmocka_unit_test(contiguous_windows_hold_at_most_the_stack_array),
		cmocka_unit_test(a_persistent_mapping_is_made_once_and_released_after_the_flush),
		cmocka_unit_test(destroy_purges_at_once_when_the_deferred_release_cannot_be_recorded),
		cmocka_unit_test(a_page_taken_away_mid_access_gives_efault_with_the_exact_count),
		cmocka_unit_test(persistent_accesses_answer_exactly_what_mapped_accesses_answer),
		cmocka_unit_test(persistent_accesses_check_bounds_handle_and_buffer_exactly),
		cmocka_unit_test(persistent_fields_answer_exactly_what_slot_fields_answer),
		cmocka_unit_test(faults_through_a_persistent_mapping_and_on_fields_are_reported),
		cmocka_unit_test(fields_are_whole_naturally_aligned_accesses),
		cmocka_unit_test(allocation_failure_at_every_point_changes_nothing),
		cmocka_unit_test(accesses_fail_with_enospc_while_this_cpus_slots_are_taken),
		cmocka_unit_test(a_long_page_array_is_referenced_and_checked_against_the_reservation),
		cmocka_unit_test(map_persistent_is_refused_for_a_contiguous_handle_beyond_the_stack_array),
	};
	const struct CMUnitTest full[] = {
		cmocka_unit_test(round_trips_through_slots_and_windows_every_size_every_offset),
	};
	const char *ex = getenv("VTLMEM_TEST_EXHAUSTIVE");

	if (ex && strcmp(ex, "1") == 0)
		return cmocka_run_group_tests(full, NULL, NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
