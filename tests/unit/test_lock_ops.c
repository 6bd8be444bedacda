/* SPDX-License-Identifier: MIT */
/*
 * The platform's lock ops (platform.h), across every init that takes a
 * platform: lock_init, lock and unlock are set together or not at all, and
 * lock_fini only with them, else the init returns -VTLMEM_EINVAL and calls
 * nothing; lock_fini runs exactly once per lock_init, when that lock's life
 * ends (a successful rtable fini, vmap destroy or ring fini, or an init that
 * fails after its lock_init), with the lock free; and every lock is taken
 * and released through the platform's ops, never through the library's
 * ticket lock (whose fields stay 0).
 *
 * The counting ops below keep each lock's state in a slot of a static pool
 * (l->plat), so a lock used before its lock_init, after its lock_fini, or
 * released without being held fails an assertion.
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
#define NSLOTS 32

static struct vtl0env env;
#define E (&env)
#define CTX (&env.ctx)

struct plock {
	bool used;
	bool held;
};

static struct {
	struct plock slot[NSLOTS];
	unsigned long inits, finis, locks, unlocks;
	unsigned long fini_held;      /* lock_fini of a held lock            */
	unsigned long fini_ticket;    /* lock_fini of a lock whose ticket fields moved */
} lc;

static long live_locks(void)
{
	return (long)(lc.inits - lc.finis);
}

static void c_lock_init(void *ctx, struct vtlmem_lock *l)
{
	unsigned i;

	(void)ctx;
	assert_null(l->plat);
	for (i = 0; i < NSLOTS && lc.slot[i].used; i++)
		;
	assert_true(i < NSLOTS);
	lc.slot[i].used = true;
	lc.slot[i].held = false;
	l->plat = &lc.slot[i];
	lc.inits++;
}

static struct plock *plock_of(struct vtlmem_lock *l)
{
	struct plock *pl = l->plat;

	assert_true(pl >= lc.slot && pl < lc.slot + NSLOTS);
	assert_true(pl->used);
	return pl;
}

static void c_lock(void *ctx, struct vtlmem_lock *l)
{
	struct plock *pl = plock_of(l);

	(void)ctx;
	assert_false(pl->held);
	pl->held = true;
	lc.locks++;
}

static void c_unlock(void *ctx, struct vtlmem_lock *l)
{
	struct plock *pl = plock_of(l);

	(void)ctx;
	assert_true(pl->held);
	pl->held = false;
	lc.unlocks++;
}

static void c_lock_fini(void *ctx, struct vtlmem_lock *l)
{
	struct plock *pl = plock_of(l);

	(void)ctx;
	lc.fini_held += pl->held;
	lc.fini_ticket += l->next != 0 || l->owner != 0;
	pl->used = false;
	l->plat = NULL;
	lc.finis++;
}

/* The lock ops of bits of mask: 1 lock_init, 2 lock, 4 unlock, 8 lock_fini. */
static void set_lock_ops(struct vtlmem_platform *p, unsigned mask)
{
	p->lock_init = (mask & 1) ? c_lock_init : NULL;
	p->lock = (mask & 2) ? c_lock : NULL;
	p->unlock = (mask & 4) ? c_unlock : NULL;
	p->lock_fini = (mask & 8) ? c_lock_fini : NULL;
}

static void all_lock_ops(struct vtlmem_platform *p)
{
	set_lock_ops(p, 15);
}

/*
 * Every one of the 16 combinations of the four ops at every init: the 14
 * mixed ones are -VTLMEM_EINVAL with no op called and nothing reserved,
 * mapped or allocated; none and lock_init + lock + unlock (with or without
 * lock_fini) are accepted. vtlmem_vtl0_init and vtlmem_ring_init get their
 * platform through the table, which vtlmem_rtable_init checked already: to
 * reach their own check, the platform struct is changed after the table's
 * init (its lock is a ticket lock, so nothing is locked while it is).
 */
static void every_init_refuses_mixed_lock_ops(void **state)
{
	struct vtlmem_vmap_config cfg = { .slots_per_cpu = 4 };
	vtlmem_paddr_t pg[1] = { vtl0env_page(10) };
	struct vtl0env_snap s0, s1;
	struct vtlmem_rtable t;
	struct vtlmem_vmap *vm;
	struct vtlmem_vtl0 c;
	struct vtlmem_ring ring;
	unsigned mask, accepted = 0;

	(void)state;
	memset(&lc, 0, sizeof(lc));
	vtl0env_init(E, 4);
	hostmmu_config(&E->mmu, &cfg);
	/* the ring's own init with no lock ops (its first mapping adds a leaf table) */
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 1, 100), 0);
	assert_int_equal(vtlmem_ring_fini(&ring), 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);
	for (mask = 0; mask < 16; mask++) {
		bool ok = mask == 0 || (mask & 7) == 7;
		int want = ok ? 0 : -VTLMEM_EINVAL;
		long allocs = E->hp.alloc_live, pts = E->hp.pt_live;

		vtl0env_snap(E, &s0);
		set_lock_ops(&E->hp.ops, mask);
		assert_int_equal(vtlmem_rtable_init(&t, &E->hp.ops), want);
		if (ok)
			assert_int_equal(vtlmem_rtable_fini(&t), 0);
		assert_int_equal(vtlmem_vmap_create(&E->hp.ops, &E->rt, &cfg, &vm), want);
		if (ok)
			assert_int_equal(vtlmem_vmap_destroy(vm), 0);
		assert_int_equal(vtlmem_vtl0_init(&c, &E->rt, E->vm), want);
		if (!ok)
			assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 1, 100), -VTLMEM_EINVAL);
		assert_int_equal(lc.inits, ok && mask ? 2 * ++accepted : 2 * accepted);
		assert_int_equal(lc.locks, lc.unlocks);
		set_lock_ops(&E->hp.ops, 0);
		vtl0env_snap(E, &s1);
		assert_true(vtl0env_same_state(&s0, &s1));
		assert_int_equal(E->hp.alloc_live, allocs);
		assert_int_equal(E->hp.pt_live, pts);
		if (mask < 8)   /* no lock_fini op: the platform's slots stay taken */
			memset(lc.slot, 0, sizeof(lc.slot));
	}
	assert_int_equal(accepted, 2);
	assert_int_equal(lc.finis, 2);   /* mask 15: table and manager */
	assert_int_equal(vtl0env_fini(E), 0);
}

/*
 * lock_fini is called exactly once per lock_init over init/fini cycles of
 * every object with a lock (table, manager, ring), including inits that fail
 * (before their lock_init: no call; after it: lock_fini too) and finis that
 * fail (the lock lives on). Each lock_fini sees its lock free and its ticket
 * fields untouched; at the end no lock is live.
 */
static void lock_fini_matches_lock_init_over_init_fini_cycles(void **state)
{
	struct vtlmem_vmap_config cfg = { .slots_per_cpu = 4 };
	vtlmem_paddr_t pg[1] = { vtl0env_page(20) };
	struct vtlmem_range r = { vtl0env_page(21), PG };
	struct vtlmem_platform noalloc;
	struct vtlmem_ring ring;
	struct vtlmem_rtable t;
	struct vtlmem_vmap *vm;
	struct vtlmem_mapping *m;
	struct vtlmem_map_req req = { pg, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, 0, { 0 } };
	vtlmem_vaddr_t va;
	vtlmem_resv_t h;
	unsigned i;

	(void)state;
	memset(&lc, 0, sizeof(lc));
	vtl0env_init_with(E, 4, all_lock_ops);
	hostmmu_config(&E->mmu, &cfg);
	assert_int_equal(lc.inits, 2);   /* the environment's table and manager */
	assert_int_equal(lc.finis, 0);

	/* tables */
	for (i = 0; i < 3; i++) {
		assert_int_equal(vtlmem_rtable_init(&t, &E->hp.ops), 0);
		assert_int_equal(live_locks(), 3);
		assert_int_equal(vtlmem_rtable_fini(&t), 0);
		assert_int_equal(live_locks(), 2);
	}
	noalloc = E->hp.ops;
	noalloc.alloc = NULL;
	assert_int_equal(vtlmem_rtable_init(&t, &noalloc), -VTLMEM_ENOSYS);
	assert_int_equal(vtlmem_rtable_init(&t, &E->hp.ops), 0);
	assert_int_equal(vtlmem_reserve(&t, &r, 1, VTLMEM_RES_SHARED, &h, NULL), 0);
	assert_int_equal(vtlmem_rtable_fini(&t), -VTLMEM_EBUSY);
	assert_int_equal(live_locks(), 3);
	assert_int_equal(vtlmem_release(&t, h), 0);
	assert_int_equal(vtlmem_rtable_fini(&t), 0);
	assert_int_equal(vtlmem_rtable_fini(NULL), -VTLMEM_EINVAL);
	assert_int_equal(live_locks(), 2);

	/* managers */
	for (i = 0; i < 3; i++) {
		assert_int_equal(vtlmem_vmap_create(&E->hp.ops, &E->rt, &cfg, &vm), 0);
		assert_int_equal(live_locks(), 3);
		assert_int_equal(vtlmem_vmap_destroy(vm), 0);
		assert_int_equal(live_locks(), 2);
	}
	E->hp.fail_alloc_at = 1;   /* the manager itself: before its lock_init */
	assert_int_equal(vtlmem_vmap_create(&E->hp.ops, &E->rt, &cfg, &vm), -VTLMEM_ENOMEM);
	assert_int_equal(lc.inits, 2 + 4 + 3);
	E->hp.fail_pt_at = 1;      /* a page table: after its lock_init */
	assert_int_equal(vtlmem_vmap_create(&E->hp.ops, &E->rt, &cfg, &vm), -VTLMEM_ENOMEM);
	assert_int_equal(lc.inits, 2 + 4 + 4);
	assert_int_equal(live_locks(), 2);
	assert_int_equal(vtlmem_vmap_create(&E->hp.ops, &E->rt, &cfg, &vm), 0);
	assert_int_equal(vtlmem_vmap_map(vm, &req, &m, &va), 0);
	assert_int_equal(vtlmem_vmap_destroy(vm), -VTLMEM_EBUSY);
	assert_int_equal(live_locks(), 3);
	assert_int_equal(vtlmem_vmap_unmap(vm, m), 0);
	assert_int_equal(vtlmem_vmap_destroy(vm), 0);
	assert_int_equal(live_locks(), 2);

	/* rings */
	for (i = 0; i < 3; i++) {
		assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 1, 100), 0);
		assert_int_equal(live_locks(), 3);
		assert_int_equal(vtlmem_ring_write(&ring, "abc", 3, NULL), 0);
		assert_int_equal(vtlmem_ring_fini(&ring), 0);
		assert_int_equal(vtlmem_vmap_purge(E->vm), 0);   /* its deferred release */
		assert_int_equal(live_locks(), 2);
	}
	assert_int_equal(vtlmem_reserve(&E->rt, &r, 1, VTLMEM_RES_SHARED, &h, NULL), 0);
	pg[0] = r.pa;   /* reserved by another accessor */
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 1, 100), -VTLMEM_EBUSY);
	assert_int_equal(vtlmem_release(&E->rt, h), 0);
	vtl0env_refuse(E, vtl0env_pa(21));   /* publishing the header faults */
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 1, 100), -VTLMEM_EFAULT);
	vtl0env_refuse(E, 0);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);   /* its deferred release */
	assert_int_equal(live_locks(), 2);
	assert_int_equal(vtlmem_ring_init(&ring, CTX, pg, 1, 100), 0);
	E->hp.fail_alloc_at = 1;   /* fini cannot defer the release, */
	E->hp.fail_shootdowns = 1; /* and the purge it tries fails: the ring stays */
	assert_int_equal(vtlmem_ring_fini(&ring), -VTLMEM_EIO);
	assert_int_equal(live_locks(), 3);
	assert_int_equal(vtlmem_ring_write(&ring, "d", 1, NULL), 0);
	assert_int_equal(vtlmem_ring_fini(&ring), 0);
	assert_int_equal(live_locks(), 2);
	assert_int_equal(vtlmem_vmap_purge(E->vm), 0);

	assert_int_equal(vtl0env_fini(E), 0);
	assert_int_equal(live_locks(), 0);
	assert_int_equal(lc.inits, 2 + 4 + 5 + 4);   /* env, tables, managers, rings */
	assert_int_equal(lc.fini_held, 0);
	assert_int_equal(lc.fini_ticket, 0);
	assert_true(lc.locks > 0);
	assert_int_equal(lc.locks, lc.unlocks);
}

/*
 * Without lock_fini (lock_init, lock and unlock only) the same cycles run,
 * and no op but the three is ever needed: the library never calls a NULL op.
 */
static void lock_fini_is_optional(void **state)
{
	struct vtlmem_rtable t;
	unsigned i;

	(void)state;
	memset(&lc, 0, sizeof(lc));
	vtl0env_init_with(E, 4, all_lock_ops);
	E->hp.ops.lock_fini = NULL;
	for (i = 0; i < 3; i++) {
		assert_int_equal(vtlmem_rtable_init(&t, &E->hp.ops), 0);
		assert_int_equal(vtlmem_rtable_fini(&t), 0);
	}
	assert_int_equal(lc.inits, 2 + 3);
	assert_int_equal(lc.finis, 0);
	E->hp.ops.lock_fini = c_lock_fini;
	assert_int_equal(vtl0env_fini(E), 0);
	assert_int_equal(lc.finis, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_init_refuses_mixed_lock_ops),
		cmocka_unit_test(lock_fini_matches_lock_init_over_init_fini_cycles),
		cmocka_unit_test(lock_fini_is_optional),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
