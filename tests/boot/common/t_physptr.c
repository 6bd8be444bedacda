// SPDX-License-Identifier: MIT
/*
 * Physical pointers on the real MMU: elements straddling non-contiguous
 * pages read and written through the library and compared with the direct
 * map, and a page revoked under a persistent mapping reported as -EFAULT
 * with the exact byte count.
 */
#include <vtlmem/physptr.h>

#include "ktest.h"
#include "kvtl.h"

static uint8_t buf[4 * 4096 + 64] __attribute__((aligned(64)));
static uint8_t want[4 * 4096 + 64];

struct rec24 {
	uint64_t a, b, c;
};

KTEST(physptr_elements_straddle_noncontiguous_pages)
{
	vtlmem_paddr_t pages[2] = { vtl0_page(792), vtl0_page(790) };
	struct vtlmem_physptr_attr attr = { .elem_size = sizeof(struct rec24),
					    .prot = VTLMEM_PROT_RW,
					    .cache = VTLMEM_CACHE_WB };
	struct vtlmem_physptr p;
	struct rec24 r[10], back[10];
	size_t i, done = 0;

	kv_init();
	REQUIRE_INT(vtlmem_physptr_create(&p, &kv_rt, kv_vm, pages, 2, 4090, 10, &attr), 0);
	for (i = 0; i < 10; i++) {
		r[i].a = i;
		r[i].b = ~i;
		r[i].c = i * 0x0101010101010101UL;
	}
	CHECK_INT(vtlmem_physptr_write_slice(&p, 0, 10, r, &done), 0);
	CHECK_EQ(done, sizeof(r));
	vtl0_gather(pages, 4090, want, sizeof(r));
	CHECK(!memcmp(want, r, sizeof(r)));
	memset(back, 0, sizeof(back));
	CHECK_INT(vtlmem_physptr_read(&p, 0, &back[0], &done), 0);
	CHECK_EQ(back[0].b, ~0UL);
	CHECK_INT(vtlmem_physptr_read_slice(&p, 1, 9, &back[1], &done), 0);
	CHECK(!memcmp(back, r, sizeof(r)));
	CHECK_INT(vtlmem_physptr_read(&p, 10, &back[0], &done), -VTLMEM_ERANGE);
	CHECK_INT(vtlmem_physptr_destroy(&p), 0);
	CHECK_INT(vtlmem_physptr_read(&p, 0, &back[0], &done), -VTLMEM_EINVAL);
}

/*
 * A page taken away under a persistent mapping (as a hypervisor revoking
 * VTL0 access would): clear its leaf entry by hand. The next copy faults
 * on it and reports exactly the bytes before it.
 */
KTEST(physptr_revoked_page_reports_efault_with_bytes_done)
{
	vtlmem_paddr_t pages[3] = { vtl0_page(795), vtl0_page(797), vtl0_page(796) };
	struct vtlmem_physptr_attr attr = { .elem_size = 1,
					    .prot = VTLMEM_PROT_RO,
					    .cache = VTLMEM_CACHE_WB,
					    .flags = VTLMEM_PHYSPTR_PERSISTENT };
	struct vtlmem_physptr p;
	struct kpt_info w;
	uint64_t saved;
	uintptr_t va;
	size_t done = 0;

	kv_init();
	vtl0_fill(vtl0_pa(795), 3 * PAGE_SIZE, 12);
	REQUIRE_INT(vtlmem_physptr_create(&p, &kv_rt, kv_vm, pages, 3, 0, 3 * PAGE_SIZE, &attr),
		    0);
	va = window_va_of(vtl0_pa(797));             /* the second page */
	REQUIRE(va != 0);
	kpt_lookup(va, &w);
	REQUIRE_INT(w.level, 0);
	CHECK_EQ(w.pa, vtl0_pa(797));
	saved = kpt_revoke(va);
	CHECK_INT(vtlmem_physptr_read_slice(&p, 100, 2 * PAGE_SIZE, buf, &done), -VTLMEM_EFAULT);
	CHECK_EQ(done, PAGE_SIZE - 100);
	CHECK_EQ(fault_rec.addr & ~(PAGE_SIZE - 1), va);
	CHECK(!memcmp(buf, phys_to_virt(vtl0_pa(795) + 100), PAGE_SIZE - 100));
	kpt_restore(va, saved);
	CHECK_INT(vtlmem_physptr_read_slice(&p, 100, 2 * PAGE_SIZE, buf, &done), 0);
	CHECK_EQ(done, 2 * PAGE_SIZE);
	CHECK_INT(vtlmem_physptr_destroy(&p), 0);
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
}

static struct vtlmem_vmap_stats stats(void)
{
	struct vtlmem_vmap_stats st;

	vtlmem_vmap_get_stats(kv_vm, &st);
	return st;
}

/*
 * An access spanning at most two pages goes through a per-CPU slot; a wider
 * one maps a window range, and its VA (and the handle's reservation, at
 * destroy) stays quarantined until a purge.
 */
KTEST(physptr_maps_slots_for_short_and_window_for_long_accesses)
{
	vtlmem_paddr_t pages[4] = { vtl0_page(853), vtl0_page(850), vtl0_page(852),
				    vtl0_page(851) };
	struct vtlmem_physptr_attr attr = { .elem_size = 8, .prot = VTLMEM_PROT_RW,
					    .cache = VTLMEM_CACHE_WB };
	struct vtlmem_vmap_stats st0, st1;
	struct vtlmem_physptr p;
	uint64_t v = 0;
	size_t done = 0;

	kv_init();
	vtl0_fill(vtl0_pa(850), 4 * PAGE_SIZE, 13);
	REQUIRE_INT(vtlmem_physptr_create(&p, &kv_rt, kv_vm, pages, 4, 0, 2048, &attr), 0);
	st0 = stats();
	CHECK_INT(vtlmem_physptr_read(&p, 511, &v, &done), 0);          /* end of page 0 */
	CHECK_INT(vtlmem_physptr_read_slice(&p, 510, 4, buf, &done), 0); /* pages 0-1 */
	st1 = stats();
	CHECK_EQ(st1.slot_maps, st0.slot_maps + 2);
	CHECK_EQ(st1.maps, st0.maps);
	vtl0_gather(pages, 511 * 8, want, 8);
	CHECK(!memcmp(&v, want, 8));
	CHECK_INT(vtlmem_physptr_read_slice(&p, 0, 2048, buf, &done), 0); /* all 4 pages */
	CHECK_EQ(done, 4 * PAGE_SIZE);
	vtl0_gather(pages, 0, want, 4 * PAGE_SIZE);
	CHECK(!memcmp(buf, want, 4 * PAGE_SIZE));
	st1 = stats();
	CHECK_EQ(st1.maps, st0.maps + 1);
	CHECK_EQ(st1.unmaps, st0.unmaps + 1);
	CHECK_EQ(st1.quarantined_pages, st0.quarantined_pages + 4);
	CHECK_INT(vtlmem_physptr_destroy(&p), 0);
	/* the reservation outlives the handle until the flush covering its VA */
	CHECK(vtlmem_is_reserved(&kv_rt, pages[0], PAGE_SIZE, VTLMEM_RES_EXCLUSIVE));
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
	CHECK(!vtlmem_is_reserved(&kv_rt, pages[0], PAGE_SIZE, VTLMEM_RES_SHARED));
}

KTEST(physptr_read_only_handle_refuses_writes)
{
	struct vtlmem_physptr_attr attr = { .elem_size = 4, .prot = VTLMEM_PROT_RO,
					    .cache = VTLMEM_CACHE_WB };
	struct vtlmem_physptr p;
	uint32_t v = 0xdeadbeef;
	size_t done = 1;

	kv_init();
	vtl0_fill(vtl0_pa(860), PAGE_SIZE, 14);
	REQUIRE_INT(vtlmem_physptr_create_contig(&p, &kv_rt, kv_vm, vtl0_page(860), PAGE_SIZE,
						 &attr), 0);
	CHECK_INT(vtlmem_physptr_write(&p, 3, &v, &done), -VTLMEM_EACCES);
	CHECK_EQ(done, 0);
	CHECK_INT(vtlmem_physptr_store(&p, 12, 4, v), -VTLMEM_EACCES);
	CHECK(vtl0_check(vtl0_pa(860), PAGE_SIZE, 14));
	CHECK_INT(vtlmem_physptr_read(&p, 3, &v, &done), 0);
	CHECK(!memcmp(&v, phys_to_virt(vtl0_pa(860) + 12), 4));
	CHECK_INT(vtlmem_physptr_destroy(&p), 0);
}
