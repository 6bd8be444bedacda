// SPDX-License-Identifier: MIT
/*
 * The VTL0 calls end to end on the real MMU: bytes
 * read and written through the library compared with the same bytes
 * through the kernel's direct map, non-contiguous page lists, elements
 * secure-kernel memory refused, other accessors' reservations respected,
 * page chains (cycles and over-long chains rejected), the log ring, and the
 * steady state: slots only, no allocation, no remote shootdown.
 */
#include <vtlmem/copy.h>
#include <vtlmem/vtl0.h>

#include "ktest.h"
#include "kvtl.h"

static struct vtlmem_vtl0 kv_vtl0;
static uint8_t buf[4 * 4096 + 64] __attribute__((aligned(64)));
static uint8_t want[4 * 4096 + 64];

/* The kernel's vtlmem instance plus the VTL0 call context over it. */
static void vtl0_ctx_init(void)
{
	kv_init();
	if (!kv_vtl0.vm && vtlmem_vtl0_init(&kv_vtl0, &kv_rt, kv_vm))
		panic("vtlmem_vtl0_init failed");
}

static struct vtlmem_vmap_stats stats(void)
{
	struct vtlmem_vmap_stats st;

	vtlmem_vmap_get_stats(kv_vm, &st);
	return st;
}

KTEST(vtl0_read_pages_matches_direct_map_at_any_offset)
{
	static const uint64_t offs[] = { 0, 1, 63, 2048, 4095 };
	static const size_t lens[] = { 1, 8, 72, 4096, 2 * 4096 + 1 };
	vtlmem_paddr_t pages[4] = { vtl0_page(707), vtl0_page(703), vtl0_page(705),
				    vtl0_page(701) };
	size_t i, j, done;
	int err;

	vtl0_ctx_init();
	for (i = 0; i < 4; i++)
		vtl0_fill(vtlmem_pa_val(pages[i]), PAGE_SIZE, 8);
	for (i = 0; i < ARRAY_SIZE(offs); i++) {
		for (j = 0; j < ARRAY_SIZE(lens); j++) {
			memset(buf, 0xee, lens[j] + 1);
			done = 12345;
			err = vtlmem_vtl0_read_pages(&kv_vtl0, pages, 4, offs[i], buf, lens[j], &done);
			vtl0_gather(pages, offs[i], want, lens[j]);
			if (err || done != lens[j] || memcmp(buf, want, lens[j]) ||
			    buf[lens[j]] != 0xee) {
				ktest_fail(__FILE__, __LINE__, "offset %lu len %zu: err %d done %zu",
					   offs[i], lens[j], err, done);
				return;
			}
		}
	}
}

KTEST(vtl0_write_pages_lands_in_each_page)
{
	vtlmem_paddr_t pages[3] = { vtl0_page(712), vtl0_page(710), vtl0_page(711) };
	uint64_t off = 4000;
	size_t len = 2 * PAGE_SIZE, i, done = 0;

	vtl0_ctx_init();
	for (i = 0; i < 3; i++)
		vtl0_fill(vtlmem_pa_val(pages[i]), PAGE_SIZE, 9);
	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 3 + 1);
	CHECK_INT(vtlmem_vtl0_write_pages(&kv_vtl0, pages, 3, off, buf, len, &done), 0);
	CHECK_EQ(done, len);
	vtl0_gather(pages, off, want, len);
	CHECK(!memcmp(want, buf, len));
	/* the bytes around the write are untouched */
	CHECK(vtl0_check(vtlmem_pa_val(pages[0]), off, 9));
	CHECK(vtl0_check(vtlmem_pa_val(pages[2]) + (off + len) % PAGE_SIZE,
			 PAGE_SIZE - (off + len) % PAGE_SIZE, 9));
}

KTEST(vtl0_read_and_write_contiguous_ranges_cross_pages)
{
	uint64_t pa = vtl0_pa(720) + 4000;
	size_t done = 0, i;

	vtl0_ctx_init();
	vtl0_fill(vtl0_pa(720), 4 * PAGE_SIZE, 10);
	CHECK_INT(vtlmem_vtl0_read(&kv_vtl0, vtlmem_pa(pa), buf, 9000, &done), 0);
	CHECK_EQ(done, 9000);
	CHECK(!memcmp(buf, phys_to_virt(pa), 9000));
	for (i = 0; i < 300; i++)
		buf[i] = (uint8_t)~i;
	CHECK_INT(vtlmem_vtl0_write(&kv_vtl0, vtlmem_pa(vtl0_pa(721) - 100), buf, 300, &done), 0);
	CHECK_EQ(done, 300);
	CHECK(!memcmp(phys_to_virt(vtl0_pa(721) - 100), buf, 300));
	CHECK(vtl0_check(vtl0_pa(721) + 200, 100, 10));
}

KTEST(vtl0_calls_refuse_secure_kernel_memory)
{
	static uint64_t image_var = 42;
	struct vtlmem_vmap_stats st0 = stats();
	size_t done = 99;

	vtl0_ctx_init();
	CHECK_INT(vtlmem_vtl0_read(&kv_vtl0, vtlmem_pa(virt_to_phys(&image_var)), buf, 8, &done),
		  -VTLMEM_EPERM);
	CHECK_EQ(done, 0);
	CHECK_INT(vtlmem_vtl0_write(&kv_vtl0, vtlmem_pa(kernel_root()), buf, 8, &done),
		  -VTLMEM_EPERM);
	CHECK_INT(vtlmem_vtl0_read(&kv_vtl0, vtlmem_pa(VTL0_END - 8), buf, 16, &done),
		  -VTLMEM_EPERM);
	CHECK_INT(vtlmem_vtl0_read(&kv_vtl0, vtlmem_pa(VTL0_START - 8), buf, 16, &done),
		  -VTLMEM_EPERM);
	CHECK_INT(vtlmem_vtl0_read(&kv_vtl0, vtlmem_pa(0), buf, 16, &done), -VTLMEM_EPERM);
	CHECK_INT(vtlmem_vtl0_read(&kv_vtl0, vtlmem_pa(1UL << boot_platform.pa_bits), buf, 16,
				   &done), -VTLMEM_ERANGE);
	CHECK_INT(vtlmem_vtl0_read(&kv_vtl0, vtlmem_pa(~0UL - 8), buf, 16, &done),
		  -VTLMEM_EOVERFLOW);
	CHECK_EQ(image_var, 42);
	CHECK_EQ(stats().slot_maps, st0.slot_maps);
	CHECK_EQ(stats().maps, st0.maps);
}

KTEST(vtl0_calls_map_slots_only_and_allocate_nothing)
{
	struct vtlmem_vmap_stats st0, st1;
	uint64_t heap0, pt0, sd0, x = 0;
	size_t i, done;

	vtl0_ctx_init();
	/* warm up the reservation table's node cache */
	CHECK_INT(vtlmem_vtl0_read(&kv_vtl0, vtl0_page(730), buf, 72, &done), 0);
	heap0 = bps.heap_allocs;
	pt0 = bps.pt_allocs;
	sd0 = bps.shootdowns;
	st0 = stats();
	for (i = 0; i < 100; i++) {
		CHECK_INT(vtlmem_vtl0_read(&kv_vtl0, vtlmem_pa(vtl0_pa(730) + i * 40), buf, 72,
					   &done), 0);
		CHECK_INT(vtlmem_vtl0_write(&kv_vtl0, vtlmem_pa(vtl0_pa(731) + i * 40), buf, 72,
					    &done), 0);
		CHECK_INT(vtlmem_vtl0_load(&kv_vtl0, vtlmem_pa(vtl0_pa(732) + i * 8), 8, &x), 0);
	}
	st1 = stats();
	CHECK_EQ(bps.heap_allocs, heap0);
	CHECK_EQ(bps.pt_allocs, pt0);
	CHECK_EQ(bps.shootdowns, sd0);
	CHECK_EQ(st1.maps, st0.maps);
	CHECK_EQ(st1.quarantined_pages, st0.quarantined_pages);
	CHECK(st1.slot_maps >= st0.slot_maps + 300);
	CHECK_EQ(st1.slot_maps - st0.slot_maps, st1.slot_unmaps - st0.slot_unmaps);
}

KTEST(vtl0_load_store_move_whole_fields)
{
	uint64_t pa = vtl0_pa(735) + 64, v = 0;
	static const unsigned widths[] = { 1, 2, 4, 8 };
	size_t i;

	vtl0_ctx_init();
	vtl0_fill(vtl0_pa(735), PAGE_SIZE, 11);
	for (i = 0; i < ARRAY_SIZE(widths); i++) {
		uint64_t val = 0x8877665544332211UL >> (64 - 8 * widths[i]);

		CHECK_INT(vtlmem_vtl0_store(&kv_vtl0, vtlmem_pa(pa + 8 * i), widths[i], val), 0);
		CHECK(!memcmp(phys_to_virt(pa + 8 * i), &val, widths[i]));
		CHECK_INT(vtlmem_vtl0_load(&kv_vtl0, vtlmem_pa(pa + 8 * i), widths[i], &v), 0);
		CHECK_EQ(v, val);
		if (widths[i] > 1)
			CHECK_INT(vtlmem_vtl0_load(&kv_vtl0, vtlmem_pa(pa + 1), widths[i], &v),
				  -VTLMEM_EINVAL);
	}
	CHECK_INT(vtlmem_vtl0_store(&kv_vtl0, vtlmem_pa(pa), 1, 0x100), -VTLMEM_EINVAL);
	CHECK_INT(vtlmem_vtl0_load(&kv_vtl0, vtlmem_pa(pa), 3, &v), -VTLMEM_EINVAL);
}

KTEST(vtl0_calls_respect_other_accessors_reservations)
{
	struct vtlmem_range r = { vtl0_page(740), PAGE_SIZE };
	vtlmem_resv_t h;
	size_t done;

	vtl0_ctx_init();
	REQUIRE_INT(vtlmem_reserve(&kv_rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &h, NULL), 0);
	CHECK_INT(vtlmem_vtl0_read(&kv_vtl0, vtl0_page(740), buf, 8, &done), -VTLMEM_EBUSY);
	CHECK_INT(vtlmem_vtl0_write(&kv_vtl0, vtlmem_pa(vtl0_pa(740) - 4), buf, 8, &done),
		  -VTLMEM_EBUSY);
	CHECK_INT(vtlmem_release(&kv_rt, h), 0);
	REQUIRE_INT(vtlmem_reserve(&kv_rt, &r, 1, VTLMEM_RES_SHARED, &h, NULL), 0);
	CHECK_INT(vtlmem_vtl0_read(&kv_vtl0, vtl0_page(740), buf, 8, &done), 0);
	CHECK_INT(vtlmem_vtl0_write(&kv_vtl0, vtl0_page(740), buf, 8, &done), -VTLMEM_EBUSY);
	CHECK_INT(vtlmem_release(&kv_rt, h), 0);
	CHECK_INT(vtlmem_vtl0_write(&kv_vtl0, vtl0_page(740), buf, 8, &done), 0);
}

/* ---- page chains ---- */

struct range_entry {
	uint64_t pa;
	uint64_t len;
};

struct chain_seen {
	size_t pages;
	size_t entries;
	uint64_t sum;
	uint64_t page_pa[8];
};

static int chain_fn(void *arg, size_t index, vtlmem_paddr_t page, const void *entries,
		    uint32_t count)
{
	struct chain_seen *s = arg;
	const struct range_entry *e = entries;
	uint32_t i;

	if (index < ARRAY_SIZE(s->page_pa))
		s->page_pa[index] = vtlmem_pa_val(page);
	s->pages++;
	for (i = 0; i < count; i++) {
		s->entries++;
		s->sum += e[i].pa + e[i].len;
	}
	return 0;
}

/* Write chain page idx (VTL0 side): next, count and count range entries. */
static void chain_page(uint64_t idx, uint64_t next_pa, uint32_t count)
{
	struct vtlmem_chain_hdr *h = phys_to_virt(vtl0_pa(idx));
	struct range_entry *e = (struct range_entry *)((uint8_t *)h + VTLMEM_CHAIN_HDR_SIZE);
	uint32_t i;

	h->next = next_pa;
	h->count = count;
	h->flags = 0;
	for (i = 0; i < count && i < VTLMEM_CHAIN_CAPACITY(sizeof(*e)); i++) {
		e[i].pa = (idx << 32) + i * PAGE_SIZE;
		e[i].len = PAGE_SIZE;
	}
}

static int walk(uint64_t head, size_t max_pages, struct chain_seen *s, size_t *pages)
{
	static uint64_t visited[8];
	static uint8_t entries[PAGE_SIZE];
	struct vtlmem_chain_walk w = {
		.entry_size = sizeof(struct range_entry),
		.max_pages = max_pages,
		.visited = visited,
		.buf = entries,
		.buf_size = sizeof(entries),
		.fn = chain_fn,
		.arg = s,
	};

	memset(s, 0, sizeof(*s));
	return vtlmem_vtl0_chain_walk(&kv_vtl0, vtlmem_pa(head), &w, pages);
}

KTEST(chain_walk_reads_every_page_in_chain_order)
{
	struct chain_seen s;
	size_t pages = 0;

	vtl0_ctx_init();
	chain_page(750, vtl0_pa(757), 3);
	chain_page(757, vtl0_pa(752), 255);
	chain_page(752, 0, 1);
	CHECK_INT(walk(vtl0_pa(750), 8, &s, &pages), 0);
	CHECK_EQ(pages, 3);
	CHECK_EQ(s.pages, 3);
	CHECK_EQ(s.entries, 3 + 255 + 1);
	CHECK_EQ(s.page_pa[0], vtl0_pa(750));
	CHECK_EQ(s.page_pa[1], vtl0_pa(757));
	CHECK_EQ(s.page_pa[2], vtl0_pa(752));
}

KTEST(chain_walk_rejects_hostile_chains)
{
	struct chain_seen s;
	size_t pages = 0;

	vtl0_ctx_init();
	/* a cycle back to the second page */
	chain_page(760, vtl0_pa(761), 1);
	chain_page(761, vtl0_pa(762), 1);
	chain_page(762, vtl0_pa(761), 1);
	CHECK_INT(walk(vtl0_pa(760), 8, &s, &pages), -VTLMEM_ELOOP);
	CHECK_EQ(pages, 3);
	/* a page naming itself */
	chain_page(763, vtl0_pa(763), 1);
	CHECK_INT(walk(vtl0_pa(763), 8, &s, &pages), -VTLMEM_ELOOP);
	CHECK_EQ(pages, 1);
	/* longer than the caller's bound */
	chain_page(764, vtl0_pa(765), 1);
	chain_page(765, vtl0_pa(766), 1);
	chain_page(766, 0, 1);
	CHECK_INT(walk(vtl0_pa(764), 2, &s, &pages), -VTLMEM_E2BIG);
	CHECK_EQ(pages, 2);
	/* a count no page can hold */
	chain_page(767, 0, 1);
	((struct vtlmem_chain_hdr *)phys_to_virt(vtl0_pa(767)))->count = 0xffffffff;
	CHECK_INT(walk(vtl0_pa(767), 8, &s, &pages), -VTLMEM_E2BIG);
	CHECK_EQ(pages, 0);
	/* next names secure-kernel memory, or is not page-aligned */
	chain_page(768, virt_to_phys(buf) & ~(PAGE_SIZE - 1), 1);
	CHECK_INT(walk(vtl0_pa(768), 8, &s, &pages), -VTLMEM_EPERM);
	CHECK_EQ(pages, 1);
	chain_page(769, vtl0_pa(770) + 8, 1);
	CHECK_INT(walk(vtl0_pa(769), 8, &s, &pages), -VTLMEM_EINVAL);
	CHECK_EQ(pages, 1);
}

/* ---- log ring ---- */

KTEST(ring_writes_wrap_and_publish_head)
{
	vtlmem_paddr_t pages[2] = { vtl0_page(782), vtl0_page(780) };
	uint64_t size = 2 * PAGE_SIZE - VTLMEM_RING_HDR_SIZE - 96;
	struct vtlmem_ring ring;
	struct vtlmem_ring_hdr *hdr = phys_to_virt(vtl0_pa(782));
	size_t done = 0, i;
	uint64_t k;

	vtl0_ctx_init();
	REQUIRE_INT(vtlmem_ring_init(&ring, &kv_vtl0, pages, 2, size), 0);
	CHECK_EQ(hdr->head, 0);
	CHECK_EQ(hdr->size, size);
	CHECK_INT(vtlmem_ring_write(&ring, "hello, VTL0\n", 12, &done), 0);
	CHECK_EQ(done, 12);
	CHECK_EQ(hdr->head, 12);
	vtl0_gather(pages, VTLMEM_RING_HDR_SIZE, want, 12);
	CHECK(!memcmp(want, "hello, VTL0\n", 12));
	/* a write that passes the end wraps to the start of the data */
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i % 251);
	CHECK_INT(vtlmem_ring_write(&ring, buf, size - 12 + 100, &done), 0);
	CHECK_EQ(hdr->head, size + 100);
	CHECK_EQ(vtlmem_ring_head(&ring), size + 100);
	vtl0_gather(pages, VTLMEM_RING_HDR_SIZE, want, size);
	CHECK(!memcmp(want, buf + size - 12, 100));
	for (k = 12; k < size; k++)
		if (want[k] != buf[k - 12])
			break;
	CHECK_EQ(k, size);
	/* longer than the ring: only the last size bytes stay */
	CHECK_INT(vtlmem_ring_write(&ring, buf, size + 500, &done), 0);
	CHECK_EQ(hdr->head, 2 * size + 600);
	vtl0_gather(pages, VTLMEM_RING_HDR_SIZE, want, size);
	for (k = 0; k < size + 500; k++)  /* stream byte (size + 100 + k) */
		if (k >= 500 && want[(size + 100 + k) % size] != buf[k])
			break;
	CHECK_EQ(k, size + 500);
	CHECK_INT(vtlmem_ring_fini(&ring), 0);
	CHECK_INT(vtlmem_vmap_purge(kv_vm), 0);
}
