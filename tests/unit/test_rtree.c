/* SPDX-License-Identifier: MIT */
/*
 * Tests for src/rtree.c, the augmented AVL tree under the reservation
 * table: shape invariants, order, traversal and augmentation after every
 * insert and erase, checked against a plain array.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../src/rtree.h"

struct item {
	struct vtlmem_rtree_node link;   /* first member: casts are exact */
	uint64_t key;
	uint64_t size;                   /* augmentation: nodes in subtree */
	uint64_t sum;                    /* augmentation: sum of keys      */
};

#define ITEM(n) ((struct item *)(n))

static int cmp(const struct vtlmem_rtree_node *a, const struct vtlmem_rtree_node *b)
{
	uint64_t x = ((const struct item *)a)->key, y = ((const struct item *)b)->key;

	return x < y ? -1 : x > y;
}

static unsigned long updates;

static void update(struct vtlmem_rtree_node *n)
{
	struct item *it = ITEM(n);

	updates++;
	it->size = 1;
	it->sum = it->key;
	if (n->left) {
		it->size += ITEM(n->left)->size;
		it->sum += ITEM(n->left)->sum;
	}
	if (n->right) {
		it->size += ITEM(n->right)->size;
		it->sum += ITEM(n->right)->sum;
	}
}

/* Augmented fields of every node equal a recomputation from scratch. */
static uint64_t check_aug(struct vtlmem_rtree_node *n, uint64_t *sum)
{
	uint64_t ls = 0, rs = 0, size;

	if (!n) {
		*sum = 0;
		return 0;
	}
	size = 1 + check_aug(n->left, &ls) + check_aug(n->right, &rs);
	*sum = ls + rs + ITEM(n)->key;
	assert_int_equal(ITEM(n)->size, size);
	assert_int_equal(ITEM(n)->sum, *sum);
	return size;
}

static size_t min_nodes(int h)
{
	size_t a = 0, b = 1, c;

	if (h == 0)
		return 0;
	while (--h > 0) {
		c = a + b + 1;
		a = b;
		b = c;
	}
	return b;
}

/* The tree holds exactly keys[0..n) (sorted) in order, forwards and back. */
static void check_tree(struct vtlmem_rtree_node *root, const uint64_t *keys, size_t n)
{
	struct vtlmem_rtree_node *it;
	uint64_t sum;
	size_t i = 0;
	int h = vtlmem_rtree_height(root);

	assert_int_equal(vtlmem_rtree_check(root, cmp), (long)n);
	assert_int_equal(check_aug(root, &sum), n);
	for (it = vtlmem_rtree_first(root); it; it = vtlmem_rtree_next(it))
		assert_int_equal(ITEM(it)->key, keys[i++]);
	assert_int_equal(i, n);
	if (root) {
		for (it = root; it->right; it = it->right)
			;
		for (; it; it = vtlmem_rtree_prev(it))
			assert_int_equal(ITEM(it)->key, keys[--i]);
		assert_int_equal(i, 0);
	}
	/* AVL bound: a tree of height h has at least m(h) nodes,
	 * m(0) = 0, m(1) = 1, m(h) = m(h-1) + m(h-2) + 1. */
	assert_true(n >= min_nodes(h));
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void empty_tree_has_no_first_and_checks_zero(void **state)
{
	(void)state;
	assert_null(vtlmem_rtree_first(NULL));
	assert_int_equal(vtlmem_rtree_check(NULL, cmp), 0);
	assert_int_equal(vtlmem_rtree_height(NULL), 0);
}

static void single_node_insert_and_erase(void **state)
{
	struct vtlmem_rtree_node *root = NULL;
	struct item a = { .key = 7 };
	uint64_t k = 7;

	(void)state;
	memset(&a.link, 0xa5, sizeof(a.link));
	vtlmem_rtree_insert(&root, &a.link, cmp, update);
	assert_ptr_equal(root, &a.link);
	assert_null(a.link.parent);
	assert_int_equal(a.link.height, 1);
	check_tree(root, &k, 1);
	vtlmem_rtree_erase(&root, &a.link, update);
	assert_null(root);
}

static void ascending_inserts_stay_balanced(void **state)
{
	enum { N = 1023 };
	static struct item items[N];
	static uint64_t keys[N];
	struct vtlmem_rtree_node *root = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		items[i].key = keys[i] = i * 3;
		vtlmem_rtree_insert(&root, &items[i].link, cmp, update);
	}
	check_tree(root, keys, N);
	/* 1023 nodes inserted in order: a perfect tree of height 10. */
	assert_int_equal(vtlmem_rtree_height(root), 10);
}

static void descending_erases_stay_balanced(void **state)
{
	enum { N = 1000 };
	static struct item items[N];
	static uint64_t keys[N];
	struct vtlmem_rtree_node *root = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		items[i].key = keys[i] = i;
		vtlmem_rtree_insert(&root, &items[i].link, cmp, update);
	}
	for (i = N; i > 0; i--) {
		vtlmem_rtree_erase(&root, &items[i - 1].link, update);
		if (i % 97 == 0)
			check_tree(root, keys, i - 1);
	}
	assert_null(root);
}

static void erase_of_node_with_two_children_keeps_order(void **state)
{
	/* Keys 1..7 inserted in order form a perfect tree rooted at 4. */
	struct item items[7];
	uint64_t rest[6] = { 1, 2, 3, 5, 6, 7 };
	uint64_t rest2[5] = { 1, 3, 5, 6, 7 };
	struct vtlmem_rtree_node *root = NULL;
	int i;

	(void)state;
	for (i = 0; i < 7; i++) {
		items[i].key = (uint64_t)i + 1;
		vtlmem_rtree_insert(&root, &items[i].link, cmp, update);
	}
	assert_ptr_equal(root, &items[3].link);
	vtlmem_rtree_erase(&root, &items[3].link, update);  /* root, successor 5 */
	assert_ptr_equal(root, &items[4].link);
	check_tree(root, rest, 6);
	vtlmem_rtree_erase(&root, &items[1].link, update);  /* successor is child 3 */
	check_tree(root, rest2, 5);
}

static void equal_keys_are_kept_in_insertion_order(void **state)
{
	struct item items[5];
	uint64_t keys[5] = { 4, 4, 4, 4, 4 };
	struct vtlmem_rtree_node *root = NULL, *it;
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		items[i].key = 4;
		vtlmem_rtree_insert(&root, &items[i].link, cmp, update);
	}
	check_tree(root, keys, 5);
	for (i = 0, it = vtlmem_rtree_first(root); it; it = vtlmem_rtree_next(it), i++)
		assert_ptr_equal(it, &items[i].link);
}

static void random_inserts_and_erases_match_sorted_array(void **state)
{
	enum { N = 2000, OPS = 40000 };
	static struct item items[N];
	static bool in[N];
	static uint64_t keys[N];
	struct vtlmem_rtree_node *root = NULL;
	unsigned seed = 12345;
	size_t i, n = 0, op;

	(void)state;
	memset(in, 0, sizeof(in));
	for (op = 0; op < OPS; op++) {
		i = (size_t)rand_r(&seed) % N;
		if (in[i]) {
			vtlmem_rtree_erase(&root, &items[i].link, update);
			in[i] = false;
			n--;
		} else {
			items[i].key = (uint64_t)rand_r(&seed) % 5000;
			vtlmem_rtree_insert(&root, &items[i].link, cmp, update);
			in[i] = true;
			n++;
		}
		if (op % 1000 == 999 || n < 4) {
			size_t k = 0, j;

			for (j = 0; j < N; j++)
				if (in[j])
					keys[k++] = items[j].key;
			qsort(keys, k, sizeof(keys[0]), cmp_u64);
			check_tree(root, keys, k);
		}
	}
}

static void update_runs_only_on_the_changed_path(void **state)
{
	enum { N = 4096 };
	static struct item items[N + 1];
	struct vtlmem_rtree_node *root = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		items[i].key = i * 2;
		vtlmem_rtree_insert(&root, &items[i].link, cmp, update);
	}
	updates = 0;
	items[N].key = 1001;
	vtlmem_rtree_insert(&root, &items[N].link, cmp, update);
	/* O(log n): path to the root plus at most 2 rotations (4 refreshes). */
	assert_true(updates <= (unsigned long)vtlmem_rtree_height(root) + 4);
	assert_true(updates >= 2);
	updates = 0;
	vtlmem_rtree_erase(&root, &items[N / 2].link, update);
	assert_true(updates <= 3ul * (unsigned long)vtlmem_rtree_height(root) + 4);
}

static void check_reports_broken_height_parent_and_order(void **state)
{
	struct item items[3];
	struct vtlmem_rtree_node *root = NULL;
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		items[i].key = (uint64_t)i * 10;
		vtlmem_rtree_insert(&root, &items[i].link, cmp, update);
	}
	assert_int_equal(vtlmem_rtree_check(root, cmp), 3);
	items[0].link.height = 2;
	assert_int_equal(vtlmem_rtree_check(root, cmp), -1);
	items[0].link.height = 1;
	items[2].link.parent = NULL;
	assert_int_equal(vtlmem_rtree_check(root, cmp), -1);
	items[2].link.parent = root;
	items[2].key = 5;  /* right child now smaller than the root */
	assert_int_equal(vtlmem_rtree_check(root, cmp), -1);
	items[2].key = 20;
	assert_int_equal(vtlmem_rtree_check(root, cmp), 3);
}

/* ---- early-stopping augmentation (insert_aug / erase_aug) ---- */

struct mitem {
	struct vtlmem_rtree_node link;   /* first member */
	uint64_t key, val;
	uint64_t maxv;                   /* max val in subtree */
};

#define MITEM(n) ((struct mitem *)(n))

static unsigned long augments;

static bool maxv_augment(struct vtlmem_rtree_node *n)
{
	struct mitem *it = MITEM(n);
	uint64_t m = it->val;

	augments++;
	if (n->left && MITEM(n->left)->maxv > m)
		m = MITEM(n->left)->maxv;
	if (n->right && MITEM(n->right)->maxv > m)
		m = MITEM(n->right)->maxv;
	if (m == it->maxv)
		return false;
	it->maxv = m;
	return true;
}

static int mcmp(const struct vtlmem_rtree_node *a, const struct vtlmem_rtree_node *b)
{
	uint64_t x = ((const struct mitem *)a)->key, y = ((const struct mitem *)b)->key;

	return x < y ? -1 : x > y;
}

static uint64_t check_maxv(const struct vtlmem_rtree_node *n)
{
	uint64_t m, c;

	if (!n)
		return 0;
	m = MITEM(n)->val;
	c = check_maxv(n->left);
	m = c > m ? c : m;
	c = check_maxv(n->right);
	m = c > m ? c : m;
	assert_int_equal(MITEM(n)->maxv, m);
	return m;
}

/* Exact after every operation, including erases that splice a successor. */
static void aug_random_operations_keep_max_exact(void **state)
{
	enum { N = 1500, OPS = 30000 };
	static struct mitem items[N];
	static bool in[N];
	struct vtlmem_rtree_node *root = NULL;
	unsigned seed = 777;
	size_t i, n = 0, op;

	(void)state;
	memset(in, 0, sizeof(in));
	for (op = 0; op < OPS; op++) {
		i = (size_t)rand_r(&seed) % N;
		if (in[i]) {
			vtlmem_rtree_erase_aug(&root, &items[i].link, maxv_augment);
			in[i] = false;
			n--;
		} else {
			memset(&items[i].link, 0xa5, sizeof(items[i].link));
			items[i].maxv = 0xa5a5a5a5;
			items[i].key = (uint64_t)rand_r(&seed) % 4000;
			items[i].val = (uint64_t)rand_r(&seed) % 100000;
			vtlmem_rtree_insert_aug(&root, &items[i].link, mcmp, maxv_augment);
			in[i] = true;
			n++;
		}
		assert_int_equal(vtlmem_rtree_check(root, mcmp), (long)n);
		if (n < 50 || op % 17 == 0)
			check_maxv(root);
	}
	check_maxv(root);
}

/* The repair stops early: O(1) augment calls per operation on average. */
static void aug_repair_stops_when_nothing_changes(void **state)
{
	enum { N = 8192 };
	static struct mitem items[N];
	struct vtlmem_rtree_node *root = NULL;
	unsigned seed = 4242;
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		items[i].key = (uint64_t)rand_r(&seed);
		items[i].val = (uint64_t)rand_r(&seed) % 1000;
		vtlmem_rtree_insert_aug(&root, &items[i].link, mcmp, maxv_augment);
	}
	check_maxv(root);
	augments = 0;
	for (i = 0; i < N; i += 2)
		vtlmem_rtree_erase_aug(&root, &items[i].link, maxv_augment);
	for (i = 0; i < N; i += 2)
		vtlmem_rtree_insert_aug(&root, &items[i].link, mcmp, maxv_augment);
	check_maxv(root);
	/*
	 * N operations. A walk to the root would cost >= height - 1 >= 13
	 * calls each; stopping early costs < 6 on average (about 4.4 here).
	 */
	assert_true(vtlmem_rtree_height(root) >= 14);
	assert_true(augments < 6ul * N);
}

/* Without augmentation the repair stops once a height is unchanged. */
static void plain_tree_repair_stops_on_unchanged_height(void **state)
{
	enum { N = 8192 };
	static struct item items[N];
	struct vtlmem_rtree_node *root = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		items[i].key = i;
		vtlmem_rtree_insert(&root, &items[i].link, cmp, NULL);
	}
	assert_int_equal(vtlmem_rtree_check(root, cmp), N);
	for (i = 0; i < N; i += 3)
		vtlmem_rtree_erase(&root, &items[i].link, NULL);
	assert_int_equal(vtlmem_rtree_check(root, cmp), N - (N + 2) / 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_tree_has_no_first_and_checks_zero),
		cmocka_unit_test(single_node_insert_and_erase),
		cmocka_unit_test(ascending_inserts_stay_balanced),
		cmocka_unit_test(descending_erases_stay_balanced),
		cmocka_unit_test(erase_of_node_with_two_children_keeps_order),
		cmocka_unit_test(equal_keys_are_kept_in_insertion_order),
		cmocka_unit_test(random_inserts_and_erases_match_sorted_array),
		cmocka_unit_test(update_runs_only_on_the_changed_path),
		cmocka_unit_test(check_reports_broken_height_parent_and_order),
		cmocka_unit_test(aug_random_operations_keep_max_exact),
		cmocka_unit_test(aug_repair_stops_when_nothing_changes),
		cmocka_unit_test(plain_tree_repair_stops_on_unchanged_height),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
