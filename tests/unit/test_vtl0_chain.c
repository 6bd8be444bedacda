/* SPDX-License-Identifier: MIT */
/*
 * Bounded walks of VTL0 page chains (vtlmem_vtl0_chain_walk), end to end on
 * the host. VTL0 is the attacker here: chains with cycles, too many pages,
 * counts no page can hold, addresses of secure memory, chains rewritten
 * while they are walked.
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

#define PG VTLMEM_PAGE_SIZE
#define MAXP 256

static struct vtl0env env;
#define E (&env)
#define CTX (&env.ctx)

struct entry {
	uint64_t pa;
	uint64_t len;
	uint64_t attr;
};

#define CAP VTLMEM_CHAIN_CAPACITY(sizeof(struct entry))

/* What the callback saw. */
struct seen {
	size_t pages;
	size_t index[MAXP];
	uint64_t page[MAXP];
	uint32_t count[MAXP];
	uint64_t sum;              /* over every entry's fields      */
	size_t stop_at;            /* return stop_ret at this index  */
	int stop_ret;
	void (*hook)(size_t index);/* runs in the callback (VTL0 acting) */
	bool raw;                  /* entries are not struct entry   */
};

static struct seen seen;
static uint64_t visited[MAXP];
static uint8_t entries[PG];

static int record(void *arg, size_t index, vtlmem_paddr_t page, const void *ents,
		  uint32_t count)
{
	struct seen *s = arg;
	const struct entry *e = ents;
	uint32_t i;

	s->index[s->pages] = index;
	s->page[s->pages] = vtlmem_pa_val(page);
	s->count[s->pages] = count;
	s->pages++;
	for (i = 0; !s->raw && i < count; i++)
		s->sum += e[i].pa ^ (e[i].len * 3) ^ (e[i].attr * 7);
	if (s->hook)
		s->hook(index);
	if (s->stop_ret && index == s->stop_at)
		return s->stop_ret;
	return 0;
}

static struct vtlmem_chain_walk walker(size_t max_pages)
{
	struct vtlmem_chain_walk w = {
		.entry_size = sizeof(struct entry),
		.max_pages = max_pages,
		.visited = visited,
		.buf = entries,
		.buf_size = sizeof(entries),
		.fn = record,
		.arg = &seen,
	};

	memset(&seen, 0, sizeof(seen));
	return w;
}

static uint64_t entry_sum;

/* Write chain page n (the VTL0 side): header and count entries. */
static void chain_page(unsigned n, uint64_t next, uint32_t count)
{
	uint8_t *p = vtl0env_dm(E, vtl0env_pa(n));
	struct vtlmem_chain_hdr h = { .next = next, .count = count, .flags = 0xffffffff };
	struct entry e;
	uint32_t i;

	memset(p, 0xdd, PG);
	memcpy(p, &h, sizeof(h));
	for (i = 0; i < count && i < CAP; i++) {
		e.pa = ((uint64_t)n << 32) | i;
		e.len = i * PG;
		e.attr = n + i;
		memcpy(p + VTLMEM_CHAIN_HDR_SIZE + i * sizeof(e), &e, sizeof(e));
		entry_sum += e.pa ^ (e.len * 3) ^ (e.attr * 7);
	}
}

static void set_next(unsigned n, uint64_t next)
{
	memcpy(vtl0env_dm(E, vtl0env_pa(n)), &next, 8);
}

static void set_count(unsigned n, uint32_t count)
{
	memcpy(vtl0env_dm(E, vtl0env_pa(n)) + 8, &count, 4);
}

static void start(void)
{
	vtl0env_init(E, 4);
	entry_sum = 0;
}

static void finish(void)
{
	assert_int_equal(vtl0env_fini(E), 0);
}

static void the_on_page_format_is_fixed(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct vtlmem_chain_hdr), VTLMEM_CHAIN_HDR_SIZE);
	assert_int_equal(offsetof(struct vtlmem_chain_hdr, next), 0);
	assert_int_equal(offsetof(struct vtlmem_chain_hdr, count), 8);
	assert_int_equal(offsetof(struct vtlmem_chain_hdr, flags), 12);
	assert_int_equal(VTLMEM_CHAIN_CAPACITY(1), PG - 16);
	assert_int_equal(VTLMEM_CHAIN_CAPACITY(24), 170);
	assert_int_equal(VTLMEM_CHAIN_CAPACITY(PG - 16), 1);
}

static void a_walk_delivers_every_page_in_chain_order(void **state)
{
	struct vtlmem_chain_walk w;
	struct vtl0env_snap s0, s1;
	size_t pages = 99;

	(void)state;
	start();
	chain_page(10, vtl0env_pa(17), 3);
	chain_page(17, vtl0env_pa(12), (uint32_t)CAP);
	chain_page(12, vtl0env_pa(11), 0);
	chain_page(11, 0, 1);
	w = walker(8);
	vtl0env_snap(E, &s0);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(10), &w, &pages), 0);
	vtl0env_snap(E, &s1);
	assert_int_equal(pages, 4);
	assert_int_equal(seen.pages, 4);
	assert_int_equal(seen.page[0], vtl0env_pa(10));
	assert_int_equal(seen.page[1], vtl0env_pa(17));
	assert_int_equal(seen.page[2], vtl0env_pa(12));
	assert_int_equal(seen.page[3], vtl0env_pa(11));
	assert_int_equal(seen.index[3], 3);
	assert_int_equal(seen.count[0], 3);
	assert_int_equal(seen.count[1], CAP);
	assert_int_equal(seen.count[2], 0);
	assert_int_equal(seen.count[3], 1);
	assert_int_equal(seen.sum, entry_sum);
	/* one slot per page, nothing left reserved or mapped */
	assert_int_equal(s1.vm.slot_maps - s0.vm.slot_maps, 4);
	assert_int_equal(s1.vm.maps, s0.vm.maps);
	assert_true(vtl0env_same_state(&s0, &s1));
	/* the visited scratch holds the pages, sorted */
	assert_int_equal(visited[0], vtl0env_pa(10));
	assert_int_equal(visited[1], vtl0env_pa(11));
	assert_int_equal(visited[2], vtl0env_pa(12));
	assert_int_equal(visited[3], vtl0env_pa(17));
	/* pages is optional */
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(10), &w, NULL), 0);
	assert_int_equal(seen.pages, 4);
	finish();
}

static void cycles_of_any_length_are_eloop_before_a_page_is_seen_twice(void **state)
{
	struct vtlmem_chain_walk w;
	size_t pages;

	(void)state;
	start();
	/* a page naming itself */
	chain_page(20, vtl0env_pa(20), 1);
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(20), &w, &pages), -VTLMEM_ELOOP);
	assert_int_equal(pages, 1);
	assert_int_equal(seen.pages, 1);
	/* back to the head */
	chain_page(21, vtl0env_pa(22), 1);
	chain_page(22, vtl0env_pa(21), 1);
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(21), &w, &pages), -VTLMEM_ELOOP);
	assert_int_equal(pages, 2);
	/* a tail into the middle: 23 -> 24 -> 25 -> 26 -> 24 */
	chain_page(23, vtl0env_pa(24), 2);
	chain_page(24, vtl0env_pa(25), 2);
	chain_page(25, vtl0env_pa(26), 2);
	chain_page(26, vtl0env_pa(24), 2);
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(23), &w, &pages), -VTLMEM_ELOOP);
	assert_int_equal(pages, 4);
	assert_int_equal(seen.page[3], vtl0env_pa(26));
	/* exact even when the bound would be reached right after: -ELOOP, not -E2BIG */
	w = walker(4);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(23), &w, &pages), -VTLMEM_ELOOP);
	assert_int_equal(pages, 4);
	w = walker(2);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(21), &w, &pages), -VTLMEM_ELOOP);
	assert_int_equal(pages, 2);
	assert_false(vtlmem_is_reserved(&E->rt, vtl0env_page(20), 7 * PG, VTLMEM_RES_SHARED));
	finish();
}

static void a_chain_longer_than_the_bound_is_e2big(void **state)
{
	struct vtlmem_chain_walk w;
	size_t pages;
	unsigned i;

	(void)state;
	start();
	for (i = 0; i < 200; i++)
		chain_page(1000 + 3 * i, i < 199 ? vtl0env_pa(1000 + 3 * (i + 1)) : 0, 1);
	w = walker(200);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(1000), &w, &pages), 0);
	assert_int_equal(pages, 200);
	for (i = 1; i < 200; i++)
		assert_true(visited[i - 1] < visited[i]);
	w = walker(199);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(1000), &w, &pages), -VTLMEM_E2BIG);
	assert_int_equal(pages, 199);
	w = walker(1);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(1000), &w, &pages), -VTLMEM_E2BIG);
	assert_int_equal(pages, 1);
	/* a chain of one page fits a bound of one */
	chain_page(30, 0, 5);
	w = walker(1);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(30), &w, &pages), 0);
	assert_int_equal(pages, 1);
	/* descending addresses exercise the sorted insertion from the other side */
	for (i = 0; i < 50; i++)
		chain_page(2000 - 2 * i, i < 49 ? vtl0env_pa(2000 - 2 * (i + 1)) : 0, 0);
	w = walker(50);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(2000), &w, &pages), 0);
	assert_int_equal(pages, 50);
	assert_int_equal(visited[0], vtl0env_pa(1902));
	assert_int_equal(visited[49], vtl0env_pa(2000));
	finish();
}

static void counts_read_from_vtl0_are_bounded(void **state)
{
	struct vtlmem_chain_walk w;
	uint8_t small[48];
	size_t pages;

	(void)state;
	start();
	chain_page(40, vtl0env_pa(41), 2);
	chain_page(41, 0, 0);
	set_count(41, (uint32_t)CAP + 1);
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(40), &w, &pages), -VTLMEM_E2BIG);
	assert_int_equal(pages, 1);
	set_count(41, UINT32_MAX);
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(40), &w, &pages), -VTLMEM_E2BIG);
	assert_int_equal(pages, 1);
	set_count(41, 0x80000000u);
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(40), &w, &pages), -VTLMEM_E2BIG);
	/* the caller's buffer bounds it too: 48 bytes hold 2 entries, not 3 */
	chain_page(41, 0, 3);
	w = walker(8);
	w.buf = small;
	w.buf_size = sizeof(small);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(40), &w, &pages), -VTLMEM_E2BIG);
	assert_int_equal(pages, 1);
	chain_page(41, 0, 2);
	w = walker(8);
	w.buf = small;
	w.buf_size = sizeof(small);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(40), &w, &pages), 0);
	assert_int_equal(pages, 2);
	/* one-byte entries: the whole page after the header */
	chain_page(42, 0, 0);
	set_count(42, PG - 16);
	w = walker(8);
	seen.raw = true;
	w.entry_size = 1;
	w.fn = NULL;
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(42), &w, &pages), -VTLMEM_EINVAL);
	w.fn = record;
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(42), &w, &pages), 0);
	assert_int_equal(seen.count[0], PG - 16);
	assert_int_equal(entries[PG - 17], 0xdd);
	set_count(42, PG - 15);
	w = walker(8);
	seen.raw = true;
	w.entry_size = 1;
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(42), &w, &pages), -VTLMEM_E2BIG);
	assert_int_equal(pages, 0);
	finish();
}

static void addresses_read_from_vtl0_are_checked(void **state)
{
	struct vtlmem_chain_walk w;
	struct vtlmem_range r = { vtl0env_page(55), PG };
	vtlmem_resv_t other;
	size_t pages;

	(void)state;
	start();
	chain_page(50, vtl0env_pa(51) + 8, 1);
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(50), &w, &pages), -VTLMEM_EINVAL);
	assert_int_equal(pages, 1);
	set_next(50, HOSTPLAT_PT_BASE);
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(50), &w, &pages), -VTLMEM_EPERM);
	assert_int_equal(pages, 1);
	set_next(50, 1ull << 52);
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(50), &w, &pages), -VTLMEM_ERANGE);
	set_next(50, UINT64_MAX & ~(PG - 1));   /* ends at 2^64: -ERANGE (reserve.h) */
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(50), &w, &pages),
			 -VTLMEM_ERANGE);
	set_next(50, VTL0ENV_PHYS);
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(50), &w, &pages), -VTLMEM_EPERM);
	/* a page someone else holds exclusively */
	chain_page(55, 0, 1);
	set_next(50, vtl0env_pa(55));
	assert_int_equal(vtlmem_reserve(&E->rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &other, NULL), 0);
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(50), &w, &pages), -VTLMEM_EBUSY);
	assert_int_equal(pages, 1);
	assert_int_equal(vtlmem_release(&E->rt, other), 0);
	/* shared with a reader is fine */
	assert_int_equal(vtlmem_reserve(&E->rt, &r, 1, VTLMEM_RES_SHARED, &other, NULL), 0);
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(50), &w, &pages), 0);
	assert_int_equal(pages, 2);
	assert_int_equal(vtlmem_release(&E->rt, other), 0);
	/* the head itself */
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtlmem_pa(0), &w, &pages), -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtlmem_pa(vtl0env_pa(50) + 16), &w, &pages),
			 -VTLMEM_EINVAL);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtlmem_pa(HOSTPLAT_PT_BASE), &w, &pages),
			 -VTLMEM_EPERM);
	assert_int_equal(pages, 0);
	finish();
}

static void bad_walk_arguments_are_refused(void **state)
{
	struct vtlmem_chain_walk w;
	struct vtl0env_snap s0, s1;
	size_t pages = 7;

	(void)state;
	start();
	chain_page(60, 0, 1);
	vtl0env_snap(E, &s0);
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(NULL, vtl0env_page(60), &w, &pages), -VTLMEM_EINVAL);
	assert_int_equal(pages, 0);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(60), NULL, &pages), -VTLMEM_EINVAL);
	w.visited = NULL;
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(60), &w, &pages), -VTLMEM_EINVAL);
	w = walker(8);
	w.buf = NULL;
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(60), &w, &pages), -VTLMEM_EINVAL);
	w = walker(0);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(60), &w, &pages), -VTLMEM_EINVAL);
	w = walker(8);
	w.entry_size = 0;
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(60), &w, &pages), -VTLMEM_EINVAL);
	w.entry_size = PG - 15;
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(60), &w, &pages), -VTLMEM_EINVAL);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_nothing_done(&s0, &s1));
	assert_int_equal(seen.pages, 0);
	w.entry_size = PG - 16;
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(60), &w, &pages), 0);
	assert_int_equal(pages, 1);
	finish();
}

static void the_callback_can_stop_the_walk(void **state)
{
	struct vtlmem_chain_walk w;
	size_t pages;

	(void)state;
	start();
	chain_page(70, vtl0env_pa(71), 1);
	chain_page(71, vtl0env_pa(72), 1);
	chain_page(72, 0, 1);
	w = walker(8);
	seen.stop_at = 1;
	seen.stop_ret = 1;
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(70), &w, &pages), 0);
	assert_int_equal(pages, 2);
	w = walker(8);
	seen.stop_at = 0;
	seen.stop_ret = -VTLMEM_EACCES;
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(70), &w, &pages), -VTLMEM_EACCES);
	assert_int_equal(pages, 1);
	assert_false(vtlmem_is_reserved(&E->rt, vtl0env_page(70), 3 * PG, VTLMEM_RES_SHARED));
	finish();
}

/* VTL0 acting during the walk: after page 0 was read, page 1 is made to point back. */
static void rewrite_after_first(size_t index)
{
	if (index == 0)
		set_next(81, vtl0env_pa(80));
	/* and the counts of page 0 are meaningless now: they were copied out */
	set_count(80, UINT32_MAX);
}

static void a_chain_rewritten_during_the_walk_cannot_make_it_loop(void **state)
{
	struct vtlmem_chain_walk w;
	size_t pages;

	(void)state;
	start();
	chain_page(80, vtl0env_pa(81), 2);
	chain_page(81, vtl0env_pa(82), 2);
	chain_page(82, 0, 2);
	w = walker(8);
	seen.hook = rewrite_after_first;
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(80), &w, &pages), -VTLMEM_ELOOP);
	assert_int_equal(pages, 2);
	assert_int_equal(seen.count[0], 2);
	assert_int_equal(seen.count[1], 2);
	finish();
}

static void a_fault_on_a_chain_page_is_efault(void **state)
{
	struct vtlmem_chain_walk w;
	struct vtl0env_snap s0, s1;
	size_t pages;

	(void)state;
	start();
	chain_page(90, vtl0env_pa(91), 1);
	chain_page(91, 0, 1);
	vtl0env_snap(E, &s0);
	vtl0env_refuse(E, vtl0env_pa(91));
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(90), &w, &pages), -VTLMEM_EFAULT);
	assert_int_equal(pages, 1);
	vtl0env_refuse(E, 0);
	vtl0env_snap(E, &s1);
	assert_true(vtl0env_same_state(&s0, &s1));
	w = walker(8);
	assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(90), &w, &pages), 0);
	assert_int_equal(pages, 2);
	finish();
}

static void steady_state_walks_allocate_nothing(void **state)
{
	struct vtlmem_chain_walk w;
	unsigned long allocs = 0;
	size_t pages;
	unsigned i;

	(void)state;
	start();
	for (i = 0; i < 16; i++)
		chain_page(100 + i, i < 15 ? vtl0env_pa(101 + i) : 0, 10);
	for (i = 0; i < 21; i++) {
		if (i == 1)
			allocs = E->hp.allocs;
		w = walker(16);
		assert_int_equal(vtlmem_vtl0_chain_walk(CTX, vtl0env_page(100), &w, &pages), 0);
		assert_int_equal(pages, 16);
	}
	assert_int_equal(E->hp.allocs, allocs);
	finish();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_on_page_format_is_fixed),
		cmocka_unit_test(a_walk_delivers_every_page_in_chain_order),
		cmocka_unit_test(cycles_of_any_length_are_eloop_before_a_page_is_seen_twice),
		cmocka_unit_test(a_chain_longer_than_the_bound_is_e2big),
		cmocka_unit_test(counts_read_from_vtl0_are_bounded),
		cmocka_unit_test(addresses_read_from_vtl0_are_checked),
		cmocka_unit_test(bad_walk_arguments_are_refused),
		cmocka_unit_test(the_callback_can_stop_the_walk),
		cmocka_unit_test(a_chain_rewritten_during_the_walk_cannot_make_it_loop),
		cmocka_unit_test(a_fault_on_a_chain_page_is_efault),
		cmocka_unit_test(steady_state_walks_allocate_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
