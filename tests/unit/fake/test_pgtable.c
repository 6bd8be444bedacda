/* SPDX-License-Identifier: MIT */
/*
 * src/pgtable.c and src/tlb.c over the fake architecture (arch/fake/): a
 * 3-level, 512-entry format with the valid bit at bit 62 and frame numbers
 * at bit 20, nothing like x86_64, and a broadcast TLBI. Table pages come
 * from the host platform's simulated physical memory, so every table is
 * read back byte for byte through the direct map. Built only against the
 * fake arch (Makefile: FAKE_TESTS), never with a real one.
 *
 * Window: [1 GiB + 2 MiB, 1 GiB + 10 MiB) = leaf tables 1..4 of the level-1
 * table covering [1 GiB, 2 GiB), i.e. root entry 1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hostplat.h"
#include "../../../arch/fake/fake.h"
#include "../../../src/arch.h"
#include "../../../src/pgtable.h"
#include "../../../src/tlb.h"

#define PG    4096ull
#define MB    (1ull << 20)
#define GB    (1ull << 30)
#define BASE  (GB + 2 * MB)
#define SIZE  (8 * MB)

static struct hostplat hp;
static jmp_buf bug_jmp;
static unsigned bugs;

static void on_bug(void *ctx, const char *file, unsigned line)
{
	(void)ctx;
	(void)file;
	(void)line;
	bugs++;
	longjmp(bug_jmp, 1);
}

static int setup(void **state)
{
	(void)state;
	hostplat_init(&hp, 64 * MB);
	hp.ops.bug = on_bug;
	bugs = 0;
	memset(&vtlmem_fake_tlb, 0, sizeof(vtlmem_fake_tlb));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	assert_int_equal(hp.pt_live, 0);
	assert_int_equal(hp.alloc_live, 0);
	hostplat_fini(&hp);
	return 0;
}

static uint64_t *table_at(uint64_t pa)
{
	return hostplat_va(&hp, pa);
}

static uint64_t entry_pa(uint64_t e)
{
	return ((e & ~FAKE_VALID) >> FAKE_PFN_SHIFT) << 12;
}

static vtlmem_paddr_t vpage(uint64_t i)
{
	return vtlmem_pa(HOSTPLAT_VTL0_BASE + i * PG);
}

/* init: one top (level-1) table, no leaf table; fini frees everything. */
static void init_builds_the_top_table_and_no_leaf_table(void **state)
{
	struct pgt t;
	struct pgt_census c;
	unsigned idx;
	uint64_t v, *top;
	unsigned i;

	(void)state;
	assert_int_equal(vtlmem_pgt_init(&t, &hp.ops, BASE, SIZE), 0);
	assert_int_equal(t.ntop, 1);
	assert_int_equal(t.pages, 1);
	assert_int_equal(hp.pt_live, 1);
	vtlmem_pgt_top_entry(&t, 0, &idx, &v);
	assert_int_equal(idx, 1);                                  /* root entry 1 */
	assert_int_equal(v, FAKE_VALID | FAKE_TABLE | (vtlmem_pa_val(t.top[0].pa) >> 12 << 20));
	top = table_at(vtlmem_pa_val(t.top[0].pa));
	for (i = 0; i < 512; i++)
		assert_int_equal(top[i], 0);
	assert_int_equal(vtlmem_pgt_missing(&t, BASE, SIZE / PG), 4);
	assert_int_equal(vtlmem_pgt_check(&t, 0, &c), 0);
	assert_int_equal(c.tables[0], 0);
	assert_int_equal(c.tables[1], 1);
	assert_int_equal(c.leaves, 0);
	vtlmem_pgt_fini(&t);
}

/* Every allocation init makes can fail: -ENOMEM, and everything is freed. */
static void init_failing_at_every_allocation_frees_everything(void **state)
{
	struct pgt t;
	long i;

	(void)state;
	for (i = 1; i <= 3; i++) {           /* top/dirs arrays, shadow, table */
		hp.fail_alloc_at = i;
		hp.fail_pt_at = 0;
		assert_int_equal(vtlmem_pgt_init(&t, &hp.ops, BASE, SIZE), -VTLMEM_ENOMEM);
		assert_int_equal(hp.pt_live, 0);
		assert_int_equal(hp.alloc_live, 0);
	}
	hp.fail_alloc_at = 0;
	hp.fail_pt_at = 1;
	assert_int_equal(vtlmem_pgt_init(&t, &hp.ops, BASE, SIZE), -VTLMEM_ENOMEM);
	assert_int_equal(hp.pt_live, 0);
	assert_int_equal(hp.alloc_live, 0);
	hp.fail_pt_at = 0;
	assert_int_equal(vtlmem_pgt_init(&t, &hp.ops, BASE, SIZE), 0);
	vtlmem_pgt_fini(&t);
}

/*
 * Spares, link, set, clear: exact bytes. Pages 511..513 of the window
 * straddle leaf tables 1 and 2 (window page 0 is leaf table 1's entry 0).
 */
static void set_and_clear_write_exact_entries_across_leaf_tables(void **state)
{
	const uintptr_t va = BASE + 511 * PG;
	vtlmem_paddr_t pages[3] = { vpage(7), vpage(3), vpage(9) };
	uint64_t attrs = vtlmem_arch_leaf_attrs(VTLMEM_PROT_RW, VTLMEM_CACHE_WC);
	struct pgt_spare s;
	struct pgt_census c;
	uint64_t *top, *l1, *l2;
	unsigned long pub;
	struct pgt t;
	unsigned i;

	(void)state;
	assert_int_equal(attrs, FAKE_VALID | FAKE_READ | FAKE_WRITE | FAKE_CACHE(2));
	assert_int_equal(vtlmem_pgt_init(&t, &hp.ops, BASE, SIZE), 0);
	assert_int_equal(vtlmem_pgt_missing(&t, va, 3), 2);
	assert_int_equal(vtlmem_pgt_spare_get(&t, &s, 2), 0);
	assert_int_equal(t.pages, 3);
	vtlmem_pgt_link(&t, va, 3, &s);
	assert_null(s.head);
	top = table_at(vtlmem_pa_val(t.top[0].pa));
	for (i = 0; i < 512; i++)
		if (i != 1 && i != 2)
			assert_int_equal(top[i], 0);
	assert_true(vtlmem_arch_pte_valid(top[1]) && vtlmem_arch_pte_valid(top[2]));
	assert_int_equal(top[1] & ~(~0ull << FAKE_PFN_SHIFT), FAKE_TABLE);
	l1 = table_at(entry_pa(top[1]));
	l2 = table_at(entry_pa(top[2]));
	pub = vtlmem_fake_publishes;
	vtlmem_pgt_set(&t, va, pages, 3, attrs);
	assert_true(vtlmem_fake_publishes > pub);
	assert_int_equal(l1[511], (vtlmem_pa_val(pages[0]) >> 12 << 20) | attrs);
	assert_int_equal(l2[0], (vtlmem_pa_val(pages[1]) >> 12 << 20) | attrs);
	assert_int_equal(l2[1], (vtlmem_pa_val(pages[2]) >> 12 << 20) | attrs);
	for (i = 0; i < 511; i++)
		assert_int_equal(l1[i], 0);
	for (i = 2; i < 512; i++)
		assert_int_equal(l2[i], 0);
	assert_int_equal(vtlmem_pgt_leaf_entry(&t, va + PG), l2[0]);
	assert_int_equal(vtlmem_pgt_check(&t, 0, &c), 0);
	assert_int_equal(c.tables[0], 2);
	assert_int_equal(c.leaves, 3);
	vtlmem_pgt_clear(&t, va, 3, NULL, NULL);
	assert_int_equal(l1[511], 0);
	assert_int_equal(l2[0], 0);
	assert_int_equal(l2[1], 0);
	assert_int_equal(vtlmem_pgt_check(&t, 0, &c), 0);
	assert_int_equal(c.leaves, 0);
	assert_int_equal(c.tables[0], 2);                /* kept until fini */
	vtlmem_pgt_fini(&t);
}

/* Break-before-make and the commit preconditions are library bugs. */
static void bbm_and_spare_count_violations_call_the_bug_op(void **state)
{
	const uintptr_t va = BASE;
	vtlmem_paddr_t pg[1] = { vpage(1) };
	uint64_t attrs = vtlmem_arch_leaf_attrs(VTLMEM_PROT_RO, VTLMEM_CACHE_WB);
	struct pgt_spare s;
	struct pgt t;

	(void)state;
	assert_int_equal(vtlmem_pgt_init(&t, &hp.ops, BASE, SIZE), 0);
	/* too few spares for the missing leaf table */
	s.head = NULL;
	s.n = 0;
	if (!setjmp(bug_jmp))
		vtlmem_pgt_link(&t, va, 1, &s);
	assert_int_equal(bugs, 1);
	/* one spare too many */
	assert_int_equal(vtlmem_pgt_spare_get(&t, &s, 2), 0);
	if (!setjmp(bug_jmp))
		vtlmem_pgt_link(&t, va, 1, &s);
	assert_int_equal(bugs, 2);
	vtlmem_pgt_spare_put(&t, &s);
	/* valid -> valid */
	vtlmem_pgt_set(&t, va, pg, 1, attrs);
	if (!setjmp(bug_jmp))
		vtlmem_pgt_set(&t, va, pg, 1, attrs);
	assert_int_equal(bugs, 3);
	vtlmem_pgt_clear(&t, va, 1, NULL, NULL);
	/* invalid -> invalid */
	if (!setjmp(bug_jmp))
		vtlmem_pgt_clear(&t, va, 1, NULL, NULL);
	assert_int_equal(bugs, 4);
	vtlmem_pgt_fini(&t);
}

/*
 * vtlmem_pgt_set_run (a physically contiguous run, entries formed from the
 * first page) and vtlmem_pgt_set with more pages than their unrolled loops
 * take at once: exact entries in the fake format (frame number at bit 20,
 * so the step between two entries is not the page size), every length
 * 1..20 at page offsets 509..511 of a leaf table (remainders on both sides
 * of a table boundary), and 1030 pages over three leaf tables.
 */
static void set_run_and_long_sets_write_exact_entries(void **state)
{
	static vtlmem_paddr_t pages[1030];
	uint64_t attrs = vtlmem_arch_leaf_attrs(VTLMEM_PROT_RW, VTLMEM_CACHE_UC);
	struct pgt_census c;
	uintptr_t va;
	uint64_t n, i, off, first;
	struct pgt t;
	int run;

	(void)state;
	assert_int_equal(vtlmem_pgt_init(&t, &hp.ops, BASE, SIZE), 0);
	assert_int_equal(vtlmem_pgt_populate(&t, BASE, SIZE / PG), 0);
	for (run = 0; run < 2; run++) {
		for (n = 1; n <= 1030; n = n == 20 ? 1030 : n + 1) {
			for (off = 509; off <= 511; off++) {
				va = BASE + off * PG;
				first = 3 * n + off;
				for (i = 0; i < n; i++)   /* set: any order; run: ascending */
					pages[i] = vpage(run ? first + i : first + (i * 7) % n);
				if (run)
					vtlmem_pgt_set_run(&t, va, pages[0], n, attrs);
				else
					vtlmem_pgt_set(&t, va, pages, n, attrs);
				for (i = 0; i < n; i++)
					assert_int_equal(vtlmem_pgt_leaf_entry(&t, va + i * PG),
							 (vtlmem_pa_val(pages[i]) >> 12 << 20) | attrs);
				assert_int_equal(vtlmem_pgt_leaf_entry(&t, va - PG), 0);
				assert_int_equal(vtlmem_pgt_leaf_entry(&t, va + n * PG), 0);
				assert_int_equal(vtlmem_pgt_check(&t, 0, &c), 0);
				assert_int_equal(c.leaves, n);
				vtlmem_pgt_clear(&t, va, n, NULL, NULL);
			}
			if (n == 1030)
				break;
		}
	}
	assert_int_equal(bugs, 0);
	vtlmem_pgt_fini(&t);
}

/*
 * Break-before-make in both writers: one valid entry at any position of an
 * 11-page range (each lane of the unrolled loops and the remainder) is a
 * library bug, reported once.
 */
static void set_and_set_run_over_a_valid_entry_at_any_position_call_the_bug_op(void **state)
{
	vtlmem_paddr_t pages[11], one;
	uint64_t attrs = vtlmem_arch_leaf_attrs(VTLMEM_PROT_RO, VTLMEM_CACHE_WB);
	unsigned j, i, expect = 0;
	struct pgt t;
	int run;

	(void)state;
	assert_int_equal(vtlmem_pgt_init(&t, &hp.ops, BASE, SIZE), 0);
	assert_int_equal(vtlmem_pgt_populate(&t, BASE, 16), 0);
	for (i = 0; i < 11; i++)
		pages[i] = vpage(20 + i);
	for (run = 0; run < 2; run++) {
		for (j = 0; j < 11; j++) {
			one = vpage(50);
			vtlmem_pgt_set(&t, BASE + j * PG, &one, 1, attrs);
			if (!setjmp(bug_jmp)) {
				if (run)
					vtlmem_pgt_set_run(&t, BASE, pages[0], 11, attrs);
				else
					vtlmem_pgt_set(&t, BASE, pages, 11, attrs);
			}
			assert_int_equal(bugs, ++expect);
			vtlmem_pgt_clear(&t, BASE, 11, NULL, NULL);   /* all 11 written */
		}
	}
	vtlmem_pgt_fini(&t);
}

/* The walker: visit order and flags, and a PRE visitor that stops it. */
struct trace {
	unsigned n;
	unsigned flag[16], level[16];
	uintptr_t va[16];
	int stop_at;
};

static int tracer(struct pgt *t, const struct vtlmem_pgt_visit *v, void *arg)
{
	struct trace *tr = arg;

	(void)t;
	if (tr->n < 16) {
		tr->flag[tr->n] = v->flag;
		tr->level[tr->n] = v->level;
		tr->va[tr->n] = v->va;
	}
	tr->n++;
	return (int)tr->n == tr->stop_at ? -99 : 0;
}

static void walker_visits_pre_subtree_post_in_va_order(void **state)
{
	vtlmem_paddr_t pg[2] = { vpage(1), vpage(2) };
	uint64_t attrs = vtlmem_arch_leaf_attrs(VTLMEM_PROT_RO, VTLMEM_CACHE_WB);
	struct trace tr = { .stop_at = 0 };
	struct vtlmem_pgt_walker w = { tracer, &tr, VTLMEM_PGT_LEAF | VTLMEM_PGT_TABLE_PRE |
						     VTLMEM_PGT_TABLE_POST };
	struct pgt t;

	(void)state;
	assert_int_equal(vtlmem_pgt_init(&t, &hp.ops, BASE, SIZE), 0);
	assert_int_equal(vtlmem_pgt_populate(&t, BASE + 2 * MB, 1), 0);
	vtlmem_pgt_set(&t, BASE + 2 * MB, pg, 2, attrs);
	/* [BASE + 2 MiB - 4 KiB, + 3 pages): two level-1 entries, 3 leaves */
	assert_int_equal(vtlmem_pgt_walk(&t, BASE + 2 * MB - PG, 3 * PG, &w), 0);
	assert_int_equal(tr.n, 6);
	/* entry 1 (no leaf table): PRE, POST; entry 2: PRE, 2 leaves, POST */
	assert_int_equal(tr.flag[0], VTLMEM_PGT_TABLE_PRE);
	assert_int_equal(tr.level[0], 1);
	assert_int_equal(tr.va[0], BASE);
	assert_int_equal(tr.flag[1], VTLMEM_PGT_TABLE_POST);
	assert_int_equal(tr.flag[2], VTLMEM_PGT_TABLE_PRE);
	assert_int_equal(tr.va[2], BASE + 2 * MB);
	assert_int_equal(tr.flag[3], VTLMEM_PGT_LEAF);
	assert_int_equal(tr.level[3], 0);
	assert_int_equal(tr.va[3], BASE + 2 * MB);
	assert_int_equal(tr.va[4], BASE + 2 * MB + PG);
	assert_int_equal(tr.flag[5], VTLMEM_PGT_TABLE_POST);
	/* without LEAF the walk does not enter leaf tables */
	tr.n = 0;
	w.flags = VTLMEM_PGT_TABLE_PRE;
	assert_int_equal(vtlmem_pgt_walk(&t, BASE, SIZE, &w), 0);
	assert_int_equal(tr.n, 4);                         /* 4 level-1 entries */
	/* a visitor's error stops it */
	tr.n = 0;
	tr.stop_at = 2;
	assert_int_equal(vtlmem_pgt_walk(&t, BASE, SIZE, &w), -99);
	assert_int_equal(tr.n, 2);
	vtlmem_pgt_clear(&t, BASE + 2 * MB, 2, NULL, NULL);
	vtlmem_pgt_fini(&t);
}

/* The check names each broken invariant. */
static void check_reports_each_broken_invariant(void **state)
{
	struct pgt_census c;
	uint64_t *top, saved, *shadow;
	struct pgt t;

	(void)state;
	assert_int_equal(vtlmem_pgt_init(&t, &hp.ops, BASE, SIZE), 0);
	assert_int_equal(vtlmem_pgt_populate(&t, BASE, 1), 0);
	top = table_at(vtlmem_pa_val(t.top[0].pa));
	saved = top[1];
	top[1] = saved | FAKE_WRITE;                   /* not a table entry's bits */
	assert_int_equal(vtlmem_pgt_check(&t, 0, &c), -2);
	top[1] = saved & ~FAKE_VALID;                  /* invalid but not zero */
	assert_int_equal(vtlmem_pgt_check(&t, 0, &c), -1);
	top[1] = saved;
	shadow = t.dirs[0].leaf[1];
	t.dirs[0].leaf[1] = NULL;                      /* shadow disagrees */
	assert_int_equal(vtlmem_pgt_check(&t, 0, &c), -3);
	t.dirs[0].leaf[1] = shadow;
	assert_int_equal(vtlmem_pgt_check(&t, 1, &c), -4);   /* a spare not counted */
	assert_int_equal(vtlmem_pgt_check(&t, 0, &c), 0);
	vtlmem_pgt_fini(&t);
}

static int recorded_shootdown(void *ctx, uintptr_t va, uint64_t len)
{
	(void)ctx;
	(void)va;
	return len == 8 * PG ? -VTLMEM_EIO : 0;
}

/* On a broadcast architecture slots and purges use the broadcast TLBI. */
static void broadcast_arch_invalidates_slots_and_purges_by_broadcast(void **state)
{
	struct vtlmem_tlb_count c = { 0, 0 };

	(void)state;
	hp.ops.tlb_local = NULL;               /* let the "arch" invalidate */
	vtlmem_tlb_slot(&hp.ops, BASE, 2, &c);
	assert_int_equal(vtlmem_fake_tlb.nbroadcast, 1);
	assert_int_equal(vtlmem_fake_tlb.broadcast[0].va, BASE);
	assert_int_equal(vtlmem_fake_tlb.broadcast[0].npages, 2);
	assert_int_equal(vtlmem_fake_tlb.nlocal, 0);
	vtlmem_tlb_local(&hp.ops, BASE, 3, &c);
	assert_int_equal(vtlmem_fake_tlb.nlocal, 1);
	/* no shootdown op: the broadcast alone, with preemption off around it */
	hp.ops.tlb_shootdown = NULL;
	assert_int_equal(vtlmem_tlb_everywhere(&hp.ops, BASE, 4, &c), 0);
	assert_int_equal(vtlmem_fake_tlb.nbroadcast, 2);
	assert_int_equal(vtlmem_fake_tlb.broadcast[1].npages, 4);
	assert_int_equal(hp.preempt_offs, 1);
	assert_int_equal(hp.preempt_ons, 1);
	/* with one: the broadcast (whole TLB above 4 pages), then the op */
	hp.ops.tlb_shootdown = recorded_shootdown;
	assert_int_equal(vtlmem_tlb_everywhere(&hp.ops, BASE, 8, &c), -VTLMEM_EIO);
	assert_int_equal(vtlmem_fake_tlb.broadcast[2].npages, 0);
	assert_int_equal(c.pages, 2 + 3 + 4);
	assert_int_equal(c.all, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(init_builds_the_top_table_and_no_leaf_table, setup, teardown),
		cmocka_unit_test_setup_teardown(init_failing_at_every_allocation_frees_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(set_and_clear_write_exact_entries_across_leaf_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(bbm_and_spare_count_violations_call_the_bug_op, setup, teardown),
		cmocka_unit_test_setup_teardown(set_run_and_long_sets_write_exact_entries, setup, teardown),
		cmocka_unit_test_setup_teardown(set_and_set_run_over_a_valid_entry_at_any_position_call_the_bug_op, setup, teardown),
		cmocka_unit_test_setup_teardown(walker_visits_pre_subtree_post_in_va_order, setup, teardown),
		cmocka_unit_test_setup_teardown(check_reports_each_broken_invariant, setup, teardown),
		cmocka_unit_test_setup_teardown(broadcast_arch_invalidates_slots_and_purges_by_broadcast, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
