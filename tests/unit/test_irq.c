/* SPDX-License-Identifier: MIT */
/*
 * Interrupt safety (issue 9, defect 2). vmap.h and physptr.h name the calls
 * that may run in interrupt context: the per-CPU slot calls and physical-
 * pointer accesses served by slots or by a persistent mapping. None of them
 * may take a library lock: an interrupt that arrives while its CPU holds
 * that lock would spin on it forever.
 *
 * The platform here gives lock ops that simulate an interrupt on the same
 * CPU right after every acquisition: while the reservation-table or vmap
 * lock is held inside reserve, release, map, unmap, purge,
 * release_after_flush, physptr create/destroy and the VTL0 calls, the
 * "interrupt" runs every interrupt-safe entry. A lock taken again by the
 * interrupt is a deadlock on real hardware; the lock op detects it (the
 * lock is already held by this CPU) and records it instead of spinning.
 *
 * Negative control (automated): an interrupt that calls a lock-taking
 * query (vtlmem_resv_covers, which is documented as taking the table lock)
 * is caught as a deadlock: the detector works. Before the fix,
 * vtlmem_slot_map called vtlmem_resv_mode / vtlmem_resv_covers and this
 * test reported a deadlock at every table-lock point.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <vtlmem/copy.h>
#include <vtlmem/vtl0.h>
#include "vtl0env.h"
#include "../../src/vmap_debug.h"

#define PG 4096ull

static struct {
	struct vtl0env *e;
	bool armed;             /* interrupts fire at lock acquisitions      */
	bool in_irq;            /* an interrupt is running (no nesting)      */
	bool call_locked_query; /* the negative control                      */
	unsigned fires;         /* interrupts that ran                       */
	unsigned deadlocks;     /* a lock taken again by its holding CPU     */
	unsigned failures;      /* an interrupt-safe entry did not return 0  */
	vtlmem_resv_t held;     /* exclusive over page 0 and 1               */
	struct vtlmem_physptr slotptr, persist;
} irq;

/* A non-recursive lock that knows it is held (one simulated CPU). */
static void lk_init(void *ctx, struct vtlmem_lock *l)
{
	(void)ctx;
	l->next = 0;
}

static void fire_interrupt(void);

static void lk_lock(void *ctx, struct vtlmem_lock *l)
{
	(void)ctx;
	if (l->next) {           /* held by this CPU: a real spinlock hangs */
		irq.deadlocks++;
		return;
	}
	l->next = 1;
	fire_interrupt();
}

static void lk_unlock(void *ctx, struct vtlmem_lock *l)
{
	(void)ctx;
	l->next = 0;
}

static void lock_ops(struct vtlmem_platform *ops)
{
	ops->lock_init = lk_init;
	ops->lock = lk_lock;
	ops->unlock = lk_unlock;
}

static void check(int ret)
{
	if (ret)
		irq.failures++;
}

/* Every interrupt-safe entry, once. */
static void interrupt_body(void)
{
	vtlmem_paddr_t pages[2] = { vtl0env_page(0), vtl0env_page(1) };
	struct vtlmem_slot s1, s2;
	uint8_t b[16] = { 0 };
	uint64_t v = 0;
	size_t done;

	check(vtlmem_slot_map(irq.e->vm, pages, 2, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, irq.held,
			      &s1));
	check(vtlmem_slot_map(irq.e->vm, pages, 1, VTLMEM_PROT_RO, VTLMEM_CACHE_WB, irq.held,
			      &s2));
	check((int)vtlmem_copy(b, (void *)vtlmem_va_val(s2.va), sizeof(b)));
	check((int)vtlmem_copy((void *)(vtlmem_va_val(s1.va) + PG), b, sizeof(b)));
	check(vtlmem_slot_unmap(irq.e->vm, &s2));
	check(vtlmem_slot_unmap(irq.e->vm, &s1));
	check(vtlmem_physptr_read_slice(&irq.slotptr, 0, 16, b, &done));
	check(vtlmem_physptr_write_slice(&irq.slotptr, 16, 16, b, &done));
	check(vtlmem_physptr_load(&irq.slotptr, 8, 8, &v));
	check(vtlmem_physptr_store(&irq.slotptr, 8, 8, v));
	check(vtlmem_physptr_read_slice(&irq.persist, 0, 16, b, &done));
	check(vtlmem_physptr_store(&irq.persist, 0, 4, 7));
	if (irq.call_locked_query)
		vtlmem_resv_covers(&irq.e->rt, irq.held, pages[0], PG);
}

static void fire_interrupt(void)
{
	if (!irq.armed || irq.in_irq)
		return;
	irq.in_irq = true;
	irq.fires++;
	interrupt_body();
	irq.in_irq = false;
}

static void setup_env(struct vtl0env *e)
{
	struct vtlmem_physptr_attr a = { .elem_size = 1, .prot = VTLMEM_PROT_RW };
	vtlmem_paddr_t p2 = vtl0env_page(2), p3 = vtl0env_page(3);
	struct vtlmem_range r = { vtl0env_page(0), 2 * PG };

	memset(&irq, 0, sizeof(irq));
	vtl0env_init_with(e, 4, lock_ops);
	irq.e = e;
	assert_int_equal(vtlmem_reserve(&e->rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &irq.held, NULL), 0);
	assert_int_equal(vtlmem_physptr_create(&irq.slotptr, &e->rt, e->vm, &p2, 1, 0, PG, &a),
			 0);
	a.flags = VTLMEM_PHYSPTR_PERSISTENT;
	assert_int_equal(vtlmem_physptr_create(&irq.persist, &e->rt, e->vm, &p3, 1, 0, PG, &a),
			 0);
}

static void teardown_env(struct vtl0env *e)
{
	irq.armed = false;
	assert_int_equal(vtlmem_physptr_destroy(&irq.persist), 0);
	assert_int_equal(vtlmem_physptr_destroy(&irq.slotptr), 0);
	assert_int_equal(vtlmem_release(&e->rt, irq.held), 0);
	assert_int_equal(vtl0env_fini(e), 0);
}

/* Every library call that takes a lock, each once (interrupts armed). */
static void run_locking_calls(struct vtl0env *e)
{
	vtlmem_paddr_t p[2] = { vtl0env_page(10), vtl0env_page(11) };
	struct vtlmem_physptr_attr a = { .elem_size = 1, .prot = VTLMEM_PROT_RO };
	struct vtlmem_map_req req = { p, 2, VTLMEM_PROT_RW, VTLMEM_CACHE_WB, 0, { 0 } };
	struct vtlmem_range r = { vtl0env_page(20), PG };
	struct vtlmem_physptr h;
	struct vtlmem_mapping *m;
	vtlmem_resv_t x;
	vtlmem_vaddr_t va;
	uint8_t b[64];
	size_t done;

	assert_int_equal(vtlmem_reserve(&e->rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &x, NULL), 0);
	assert_true(vtlmem_is_reserved(&e->rt, r.pa, PG, VTLMEM_RES_EXCLUSIVE));
	assert_int_equal(vtlmem_release(&e->rt, x), 0);
	assert_int_equal(vtlmem_vmap_map(e->vm, &req, &m, &va), 0);
	assert_int_equal(vtlmem_vmap_unmap(e->vm, m), 0);
	assert_int_equal(vtlmem_vmap_purge(e->vm), 0);
	assert_int_equal(vtlmem_reserve(&e->rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &x, NULL), 0);
	req.held = x;
	req.pages = &r.pa;
	req.npages = 1;
	assert_int_equal(vtlmem_vmap_map(e->vm, &req, &m, &va), 0);
	assert_int_equal(vtlmem_vmap_unmap(e->vm, m), 0);
	assert_int_equal(vtlmem_vmap_release_after_flush(e->vm, x), 0);
	assert_int_equal(vtlmem_vmap_purge(e->vm), 0);
	assert_int_equal(vtlmem_physptr_create(&h, &e->rt, e->vm, p, 2, 0, 2 * PG, &a), 0);
	assert_int_equal(vtlmem_physptr_map_persistent(&h), 0);
	assert_int_equal(vtlmem_physptr_destroy(&h), 0);
	assert_int_equal(vtlmem_vtl0_read(&e->ctx, vtl0env_page(30), b, sizeof(b), &done), 0);
	assert_int_equal(vtlmem_vtl0_write(&e->ctx, vtl0env_page(31), b, sizeof(b), &done), 0);
	assert_int_equal(vtlmem_vmap_purge(e->vm), 0);
}

static void interrupt_safe_calls_take_no_lock_at_any_lock_held_point(void **state)
{
	struct vtl0env e;

	(void)state;
	setup_env(&e);
	irq.armed = true;
	run_locking_calls(&e);
	irq.armed = false;
	/* reserve, release, map, unmap, purge, ... each took a lock at least once */
	assert_true(irq.fires >= 20);
	assert_int_equal(irq.deadlocks, 0);
	assert_int_equal(irq.failures, 0);
	/* the slots are all released: the interrupts left the stacks as found */
	assert_int_equal(vtlmem_vmap_selfcheck(e.vm), 0);
	teardown_env(&e);
}

/* Negative control: a lock-taking call in the interrupt is caught. */
static void a_locking_call_in_the_interrupt_is_detected_as_a_deadlock(void **state)
{
	struct vtl0env e;
	struct vtlmem_range r = { vtl0env_page(20), PG };
	vtlmem_resv_t x;

	(void)state;
	setup_env(&e);
	irq.call_locked_query = true;
	irq.armed = true;
	assert_int_equal(vtlmem_reserve(&e.rt, &r, 1, VTLMEM_RES_EXCLUSIVE, &x, NULL), 0);
	irq.armed = false;
	/* each table-lock acquisition of the reserve (1 or 2) hit it */
	assert_true(irq.fires >= 1);
	assert_int_equal(irq.deadlocks, irq.fires);
	assert_int_equal(irq.failures, 0);
	irq.call_locked_query = false;
	assert_int_equal(vtlmem_release(&e.rt, x), 0);
	teardown_env(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(interrupt_safe_calls_take_no_lock_at_any_lock_held_point),
		cmocka_unit_test(a_locking_call_in_the_interrupt_is_detected_as_a_deadlock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
