/* SPDX-License-Identifier: MIT */
/*
 * The VTL0 log ring writer (vtlmem_ring_*), end to end on the host: the
 * exact bytes in VTL0 memory against a byte-by-byte model of the stream,
 * and the published head, for wraps, writes longer than the ring, one-page
 * rings and rings over scattered pages.
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

#define PG  VTLMEM_PAGE_SIZE
#define HDR VTLMEM_RING_HDR_SIZE

static struct vtl0env env;
#define E (&env)
#define CTX (&env.ctx)

/* The stream model: what writing every byte one by one leaves. */
struct model {
	uint8_t *data;
	uint64_t size;
	uint64_t head;
};

static void model_init(struct model *m, uint64_t size, const uint8_t *initial)
{
	m->data = malloc(size);
	assert_non_null(m->data);
	memcpy(m->data, initial, size);
	m->size = size;
	m->head = 0;
}

static void model_write(struct model *m, const uint8_t *b, size_t len)
{
	size_t j;

	for (j = 0; j < len; j++)
		m->data[(m->head + j) % m->size] = b[j];
	m->head += len;
}

static void pattern(uint8_t *b, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		b[i] = (uint8_t)(i * 13 + seed * 101 + (i >> 8) + 1);
}

static void start(void)
{
	vtl0env_init(E, 4);
}

static void finish(void)
{
	assert_int_equal(vtl0env_fini(E), 0);
}

static uint64_t hdr_field(const vtlmem_paddr_t *pages, size_t off)
{
	uint64_t v;

	vtl0env_gather(E, pages, off, &v, 8);
	return v;
}

/* The ring's data area as VTL0 sees it equals the model, and head is published. */
static void check_ring(const vtlmem_paddr_t *pages, const struct model *m)
{
	uint8_t *got = malloc(m->size);

	assert_non_null(got);
	vtl0env_gather(E, pages, HDR, got, m->size);
	assert_memory_equal(got, m->data, m->size);
	assert_int_equal(hdr_field(pages, offsetof(struct vtlmem_ring_hdr, head)), m->head);
	assert_int_equal(hdr_field(pages, offsetof(struct vtlmem_ring_hdr, size)), m->size);
	free(got);
}

static void the_header_layout_is_fixed(void **state)
{
	(void)state;
	assert_int_equal(offsetof(struct vtlmem_ring_hdr, head), 0);
	assert_int_equal(offsetof(struct vtlmem_ring_hdr, size), 8);
	assert_int_equal(HDR, 64);
}

static void init_validates_and_changes_nothing_on_error(void **state)
{
	vtlmem_paddr_t pg[2] = { vtl0env_page(11), vtl0env_page(10) }, dup[2];
	struct vtlmem_range r = { vtl0env_page(10), PG };
	struct vtlmem_ring ring;
	struct vtl0env_snap s0, s1;
	vtlmem_resv_t other;
	uint8_t b = 1;

	(void)state;
	start();
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_ring_init(NULL, CTX, pg, 2, 100), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_ring_init(&ring, NULL, pg, 2, 100), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, NULL, 2, 100), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 0, 100), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 2, 0), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 2, UINT64_MAX - 10), -VTLMEM_EOVERFLOW);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 2, 2 * PG - HDR + 1), -VTLMEM_ERANGE);
	dup[0] = dup[1] = vtl0env_page(12);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, dup, 2, 100), -VTLMEM_EINVAL);
	dup[1] = vtlmem_pa(vtl0env_pa(13) + 64);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, dup, 2, 100), -VTLMEM_EINVAL);
	dup[1] = vtlmem_pa(HOSTPLAT_PT_BASE);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, dup, 2, 100), -VTLMEM_EPERM);
	assert_int_equal(vtlmem_reserve(&E->rt, &r, 1, VTLMEM_RES_SHARED, &other, NULL), 0);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 2, 100), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_release(&E->rt, other), 0);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_same_state(&s0, &s1));
	assert_int_equal(s1.vm.maps, s0.vm.maps);
	/* a failed init leaves a dead ring */
	assert_int_equal(vtlmem_ring_write(&ring, &b, 1, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_ring_fini(&ring), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_ring_head(&ring), 0);
	/* the largest ring the pages hold */
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 2, 2 * PG - HDR), 0);
	assert_int_equal(vtlmem_ring_fini(&ring), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	finish();
}

static void init_maps_once_and_publishes_an_empty_ring(void **state)
{
	vtlmem_paddr_t pg[3] = { vtl0env_page(22), vtl0env_page(20), vtl0env_page(21) };
	uint64_t size = 3 * PG - HDR - 5;
	struct vtlmem_ring ring;
	struct vtl0env_snap s0, s1;
	uint64_t junk = 0x1234;

	(void)state;
	start();
	vtl0env_scatter(E, pg, 0, &junk, 8);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 3, size), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.maps - s0.vm.maps, 1);
	assert_int_equal(s1.vm.mapped_pages, 3);
	assert_int_equal(s1.rt.handles - s0.rt.handles, 1);
	assert_int_equal(hdr_field(pg, 0), 0);
	assert_int_equal(hdr_field(pg, 8), size);
	assert_int_equal(vtlmem_ring_head(&ring), 0);
	assert_true(vtlmem_is_reserved(&E->rt, vtl0env_page(20), 3 * PG, VTLMEM_RES_EXCLUSIVE));
	/* fini unmaps; the pages stay reserved until the flush */
	assert_int_equal(vtlmem_ring_fini(&ring), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.mapped_pages, 0);
	assert_true(vtlmem_is_reserved(&E->rt, vtl0env_page(20), 3 * PG, VTLMEM_RES_EXCLUSIVE));
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	assert_false(vtlmem_is_reserved(&E->rt, vtl0env_page(20), 3 * PG, VTLMEM_RES_SHARED));
	assert_int_equal(vtlmem_ring_write(&ring, &junk, 1, NULL), -VTLMEM_EINVAL);
	finish();
}

/* Run writes of the given lengths on a ring over pages, checking each against the model. */
static void run_writes(const vtlmem_paddr_t *pages, size_t npages, uint64_t size,
		       const size_t *lens, size_t n)
{
	struct vtlmem_ring ring;
	struct vtl0env_snap s0, s1;
	struct model m;
	uint8_t *initial, *buf;
	size_t i, done, maxlen = 0;

	for (i = 0; i < n; i++)
		if (lens[i] > maxlen)
			maxlen = lens[i];
	initial = malloc(size);
	buf = malloc(maxlen + 1);
	assert_non_null(initial);
	assert_non_null(buf);
	for (i = 0; i < npages; i++)
		pattern(vtl0env_dm(E, vtlmem_pa_val(pages[i])), PG, 200 + (unsigned)i);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pages, npages, size), 0);
	vtl0env_gather(E, pages, HDR, initial, size);
	model_init(&m, size, initial);
	check_ring(pages, &m);
	vtl0env_snap(E, &s0);
	for (i = 0; i < n; i++) {
		pattern(buf, lens[i], (unsigned)i + 1);
		done = 12345;
		assert_int_equal(vtlmem_ring_write(&ring, buf, lens[i], &done), 0);
		assert_int_equal(done, lens[i]);
		model_write(&m, buf, lens[i]);
		check_ring(pages, &m);
		assert_int_equal(vtlmem_ring_head(&ring), m.head);
	}
	/* writes map nothing and allocate nothing */
	vtl0env_snap(E, &s1);
	assert_int_equal(s1.vm.maps, s0.vm.maps);
	assert_int_equal(s1.vm.slot_maps, s0.vm.slot_maps);
	assert_int_equal(s1.alloc_live, s0.alloc_live);
	assert_int_equal(vtlmem_ring_fini(&ring), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	free(m.data);
	free(initial);
	free(buf);
}

static void writes_wrap_at_the_end_of_the_data_area(void **state)
{
	vtlmem_paddr_t pg[2] = { vtl0env_page(31), vtl0env_page(30) };
	uint64_t size = 2 * PG - HDR - 96;   /* 8032 */
	/* fill to 8020, cross the end, land exactly on it, then from 0 */
	const size_t lens[] = { 12, 8000, 8, 100, 7912, 20, 1, 8031, 2, 0, 5000 };

	(void)state;
	start();
	run_writes(pg, 2, size, lens, sizeof(lens) / sizeof(lens[0]));
	finish();
}

static void writes_of_ring_size_and_longer_keep_the_last_size_bytes(void **state)
{
	vtlmem_paddr_t pg[2] = { vtl0env_page(41), vtl0env_page(43) };
	uint64_t size = 5000;
	const size_t lens[] = { 5000, 7, 5000, 5001, 9999, 10000, 10001, 3, 3 * 5000 + 17, 4999 };

	(void)state;
	start();
	run_writes(pg, 2, size, lens, sizeof(lens) / sizeof(lens[0]));
	finish();
}

/* One page: header and data share it; the wrap maps nothing (the page is mapped once). */
static void a_one_page_ring_wraps_inside_its_single_mapping(void **state)
{
	vtlmem_paddr_t pg[1] = { vtl0env_page(50) };
	const size_t lens[] = { 4000, 100, PG - HDR, 33, PG - HDR + 1, 2 * (PG - HDR) + 5, 80 };
	const size_t tiny[] = { 1, 1, 2, 3, 5, 1, 0, 9 };

	(void)state;
	start();
	run_writes(pg, 1, PG - HDR, lens, sizeof(lens) / sizeof(lens[0]));
	/* a ring of one byte, and one of three */
	run_writes(pg, 1, 1, tiny, sizeof(tiny) / sizeof(tiny[0]));
	run_writes(pg, 1, 3, tiny, sizeof(tiny) / sizeof(tiny[0]));
	finish();
}

static void random_writes_match_the_stream_model(void **state)
{
	vtlmem_paddr_t pg[4] = { vtl0env_page(63), vtl0env_page(60), vtl0env_page(62),
				 vtl0env_page(61) };
	uint64_t size = 4 * PG - HDR - 1000;
	size_t lens[300], i;
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	start();
	for (i = 0; i < 300; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* mostly short log lines, some longer than the ring */
		lens[i] = (i % 29 == 0) ? (size_t)(x % (3 * size)) : (size_t)(x % 200);
	}
	run_writes(pg, 4, size, lens, 300);
	finish();
}

static void the_head_is_vtl1s_own_and_vtl0_scribbles_are_overwritten(void **state)
{
	vtlmem_paddr_t pg[1] = { vtl0env_page(70) };
	struct vtlmem_ring ring;
	uint64_t evil = 4000, size = 1000;

	(void)state;
	start();
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 1, size), 0);
	assert_int_equal(vtlmem_ring_write(&ring, "abc", 3, NULL), 0);
	/* VTL0 moves the head and shrinks the size: the writer ignores both */
	memcpy(vtl0env_dm(E, vtl0env_pa(70)), &evil, 8);
	memcpy(vtl0env_dm(E, vtl0env_pa(70)) + 8, &evil, 8);
	assert_int_equal(vtlmem_ring_write(&ring, "defg", 4, NULL), 0);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(70) + HDR), "abcdefg", 7);
	assert_int_equal(hdr_field(pg, 0), 7);
	assert_int_equal(vtlmem_ring_head(&ring), 7);
	assert_int_equal(vtlmem_ring_fini(&ring), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	finish();
}

static void a_faulting_write_publishes_nothing(void **state)
{
	vtlmem_paddr_t pg[2] = { vtl0env_page(81), vtl0env_page(80) };
	uint64_t size = 2 * PG - HDR;
	uint8_t buf[300];
	struct vtlmem_ring ring;
	size_t done;

	(void)state;
	start();
	pattern(buf, sizeof(buf), 3);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 2, size), 0);
	assert_int_equal(vtlmem_ring_write(&ring, buf, PG - HDR - 100, &done), 0);
	vtl0env_refuse(E, vtl0env_pa(80));
	assert_int_equal(vtlmem_ring_write(&ring, buf, 300, &done), -VTLMEM_EFAULT);
	assert_int_equal(done, 100);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(81) + PG - 100), buf, 100);
	assert_int_equal(hdr_field(pg, 0), PG - HDR - 100);
	assert_int_equal(vtlmem_ring_head(&ring), PG - HDR - 100);
	/* the page with the header and the write position taken away */
	vtl0env_refuse(E, vtl0env_pa(81));
	assert_int_equal(vtlmem_ring_write(&ring, buf, 300, &done), -VTLMEM_EFAULT);
	assert_int_equal(done, 0);
	vtl0env_refuse(E, 0);
	assert_int_equal(vtlmem_ring_head(&ring), PG - HDR - 100);
	/* with the pages back, the next write goes where the failed one went */
	assert_int_equal(vtlmem_ring_write(&ring, buf, 300, &done), 0);
	assert_int_equal(done, 300);
	assert_int_equal(hdr_field(pg, 0), PG - HDR + 200);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(81) + PG - 100), buf, 100);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(80)), buf + 100, 200);
	assert_int_equal(vtlmem_ring_fini(&ring), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	finish();
}

/*
 * *done of a write longer than the ring counts from the start of buf: the
 * first len - size bytes (skipped by design) count as written, then the
 * bytes stored before the fault. buf[0, *done) is in the ring, buf[*done,
 * len) is not; head stays, so the caller resumes by writing the same bytes
 * again, which leaves exactly the stream of one successful write.
 */
static void a_faulting_write_longer_than_the_ring_counts_the_skipped_bytes_as_done(void **state)
{
	vtlmem_paddr_t pg[2] = { vtl0env_page(71), vtl0env_page(70) };
	const uint64_t size = 2 * PG - HDR;         /* data [0, 4032) in page 71 */
	const size_t len = (size_t)size + 100;      /* skips 100, stores from 100 */
	uint8_t *buf = malloc(len), *initial = malloc(size);
	struct vtlmem_ring ring;
	struct model m;
	size_t done;

	(void)state;
	assert_non_null(buf);
	assert_non_null(initial);
	start();
	pattern(buf, len, 9);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 2, size), 0);
	vtl0env_gather(E, pg, HDR, initial, size);
	model_init(&m, size, initial);
	vtl0env_refuse(E, vtl0env_pa(70));
	done = 12345;
	assert_int_equal(vtlmem_ring_write(&ring, buf, len, &done), -VTLMEM_EFAULT);
	/* 100 skipped + data [100, 4032) stored in page 71, then the fault */
	assert_int_equal(done, PG - HDR);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(71) + HDR + 100), buf + 100, done - 100);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(70)), initial + (PG - HDR), PG);
	assert_int_equal(hdr_field(pg, 0), 0);
	assert_int_equal(vtlmem_ring_head(&ring), 0);
	/* the whole data area behind the header page refused: only the skip is done */
	vtl0env_refuse(E, vtl0env_pa(71));
	assert_int_equal(vtlmem_ring_write(&ring, buf, len, &done), -VTLMEM_EFAULT);
	assert_int_equal(done, 100);
	vtl0env_refuse(E, 0);
	/* resume: the same bytes again */
	assert_int_equal(vtlmem_ring_write(&ring, buf, len, &done), 0);
	assert_int_equal(done, len);
	model_write(&m, buf, len);
	check_ring(pg, &m);
	assert_int_equal(vtlmem_ring_head(&ring), len);
	assert_int_equal(vtlmem_ring_fini(&ring), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	finish();
	free(m.data);
	free(initial);
	free(buf);
}

/*
 * Writes that fit, for comparison: *done is the bytes stored (no skip), and
 * a fault in the wrapped part counts the part before the wrap.
 */
static void a_faulting_wrapped_write_counts_the_part_before_the_wrap(void **state)
{
	vtlmem_paddr_t pg[2] = { vtl0env_page(73), vtl0env_page(72) };
	const uint64_t size = 2 * PG - HDR;
	uint8_t buf[2 * PG];
	struct vtlmem_ring ring;
	size_t done;

	(void)state;
	start();
	pattern(buf, sizeof(buf), 4);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 2, size), 0);
	assert_int_equal(vtlmem_ring_write(&ring, buf, (size_t)size - 50, NULL), 0);
	/* 50 bytes to the end (page 72), then wrap to data 0 (page 73, refused) */
	vtl0env_refuse(E, vtl0env_pa(73));
	assert_int_equal(vtlmem_ring_write(&ring, buf, 200, &done), -VTLMEM_EFAULT);
	assert_int_equal(done, 50);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(72) + PG - 50), buf, 50);
	vtl0env_refuse(E, 0);
	assert_int_equal(vtlmem_ring_head(&ring), size - 50);
	assert_int_equal(vtlmem_ring_fini(&ring), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	finish();
}

static void a_copied_ring_and_bad_arguments_are_refused(void **state)
{
	vtlmem_paddr_t pg[1] = { vtl0env_page(90) };
	struct vtlmem_ring ring, copy;
	size_t done = 3;

	(void)state;
	start();
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 1, 100), 0);
	memcpy(&copy, &ring, sizeof(ring));
	assert_int_equal(vtlmem_ring_write(&copy, "x", 1, &done), -VTLMEM_EINVAL);
	assert_int_equal(done, 0);
	assert_int_equal(vtlmem_ring_fini(&copy), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_ring_head(&copy), 0);
	assert_int_equal(vtlmem_ring_write(NULL, "x", 1, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_ring_write(&ring, NULL, 1, NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_ring_write(&ring, NULL, 0, &done), 0);
	assert_int_equal(done, 0);
	assert_int_equal(hdr_field(pg, 0), 0);
	assert_int_equal(vtlmem_ring_fini(NULL), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_ring_fini(&ring), 0);
	assert_int_equal(vtlmem_ring_fini(&ring), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	finish();
}

static void a_fini_that_cannot_flush_keeps_the_ring_live(void **state)
{
	vtlmem_paddr_t pg[1] = { vtl0env_page(95) };
	struct vtlmem_ring ring;

	(void)state;
	start();
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 1, 100), 0);
	/* the deferred release cannot be recorded, and the purge tried instead fails */
	E->hp.fail_alloc_at = 1;
	E->hp.fail_shootdowns = 1;
	assert_int_equal(vtlmem_ring_fini(&ring), -VTLMEM_EIO);
	assert_true(vtlmem_is_reserved(&E->rt, vtl0env_page(95), PG, VTLMEM_RES_EXCLUSIVE));
	/* still live: writes work (mapping per access now) */
	assert_int_equal(vtlmem_ring_write(&ring, "xy", 2, NULL), 0);
	assert_memory_equal(vtl0env_dm(E, vtl0env_pa(95) + HDR), "xy", 2);
	assert_int_equal(hdr_field(pg, 0), 2);
	assert_int_equal(vtlmem_ring_fini(&ring), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	assert_false(vtlmem_is_reserved(&E->rt, vtl0env_page(95), PG, VTLMEM_RES_SHARED));
	finish();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_header_layout_is_fixed),
		cmocka_unit_test(init_validates_and_changes_nothing_on_error),
		cmocka_unit_test(init_maps_once_and_publishes_an_empty_ring),
		cmocka_unit_test(writes_wrap_at_the_end_of_the_data_area),
		cmocka_unit_test(writes_of_ring_size_and_longer_keep_the_last_size_bytes),
		cmocka_unit_test(a_one_page_ring_wraps_inside_its_single_mapping),
		cmocka_unit_test(random_writes_match_the_stream_model),
		cmocka_unit_test(the_head_is_vtl1s_own_and_vtl0_scribbles_are_overwritten),
		cmocka_unit_test(a_faulting_write_publishes_nothing),
		cmocka_unit_test(a_faulting_write_longer_than_the_ring_counts_the_skipped_bytes_as_done),
		cmocka_unit_test(a_faulting_wrapped_write_counts_the_part_before_the_wrap),
		cmocka_unit_test(a_copied_ring_and_bad_arguments_are_refused),
		cmocka_unit_test(a_fini_that_cannot_flush_keeps_the_ring_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
