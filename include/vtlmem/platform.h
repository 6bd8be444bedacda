/* SPDX-License-Identifier: MIT */
/*
 * vtlmem/platform.h - what the embedding secure kernel supplies.
 *
 * The kernel fills one struct vtlmem_platform and passes it to every
 * vtlmem_*_init() call; the library keeps the pointer, so the struct must
 * outlive the library's use of it. There are no permissive defaults: a call
 * that needs a missing op fails with -VTLMEM_ENOSYS, and a missing ownership
 * op makes every reservation fail with -VTLMEM_EPERM.
 *
 * Context: unless an op says otherwise it is called with one of the
 * library's locks held, so it must not sleep and must not call back into the
 * library. The shootdown op is the exception: it is never called with a
 * library lock held.
 */
#ifndef VTLMEM_PLATFORM_H
#define VTLMEM_PLATFORM_H

#include <vtlmem/types.h>

/* Answers of the ownership op. */
#define VTLMEM_OWNER_VTL0   0   /* every byte is VTL0 RAM the library may access */
#define VTLMEM_OWNER_SECURE 1   /* some byte is the secure kernel's (or denied)  */

/*
 * A lock. With the lock ops NULL, it is the library's own ticket spinlock
 * (next/owner); otherwise the platform's ops get this struct and may keep
 * their own lock object in plat (set by lock_init, plat is NULL before).
 */
struct vtlmem_lock {
	uint32_t next;
	uint32_t owner;
	void *plat;
};

/* The ops and parameters the kernel supplies (see the top of this file). */
struct vtlmem_platform {
	void *ctx;              /* first argument of every op */
	unsigned pa_bits;       /* physical-address width; 0 means
				 * VTLMEM_DEFAULT_PA_BITS (x86_64 52, arm64 48) */
	bool allow_page0;       /* may physical page 0 be reserved/mapped? */

	/*
	 * Page-table pages. pt_alloc returns the direct-map virtual address of
	 * a zeroed, 4 KiB-aligned page and stores its physical address in *pa,
	 * or returns NULL. pt_free gives one back. pt_phys_to_virt translates a
	 * page-table page's physical address (only ever one pt_alloc returned).
	 */
	void *(*pt_alloc)(void *ctx, vtlmem_paddr_t *pa);
	void (*pt_free)(void *ctx, void *va, vtlmem_paddr_t pa);
	void *(*pt_phys_to_virt)(void *ctx, vtlmem_paddr_t pa);

	/*
	 * Ownership: VTLMEM_OWNER_VTL0 when every byte of [pa, pa + len) is
	 * VTL0 memory the library may map; anything else (VTLMEM_OWNER_SECURE,
	 * a negative error) is a denial. Must be callable with a lock held.
	 */
	int (*ownership)(void *ctx, vtlmem_paddr_t pa, uint64_t len);

	/*
	 * Optional hypervisor permission change for one page while the secure
	 * kernel maps it (e.g. remove VTL0 write access). 0 or a negative error;
	 * the library undoes earlier pages when a later one fails.
	 */
	int (*protect)(void *ctx, vtlmem_paddr_t pa, enum vtlmem_prot prot);
	int (*unprotect)(void *ctx, vtlmem_paddr_t pa);

	/*
	 * TLB. tlb_local, when set, replaces the library's own invalidation
	 * instructions (x86_64: invlpg / CR3 reload): invalidate npages pages
	 * from va on this CPU, or this CPU's whole TLB when npages is 0;
	 * called with preemption off when the CPU matters (slots, purge). On
	 * an architecture with broadcast invalidation (arm64) it replaces the
	 * broadcast too, and must then reach every CPU the broadcast would. tlb_shootdown invalidates [va, va + len)
	 * on every CPU but the calling one and returns 0 only once all have
	 * done so, or a negative error (e.g. a CPU did not acknowledge in
	 * time: it must never wait forever; the library then keeps the VA
	 * quarantined and reports -VTLMEM_EIO). The library calls it with no
	 * library lock held, only from a purge, right after invalidating the
	 * same range on the calling CPU, and with preemption disabled through
	 * preempt_off across both, so that "this CPU" and "every other CPU"
	 * cover all CPUs. If preempt_off also disables interrupts, the op
	 * waits with interrupts off: it must then make progress on requests
	 * other CPUs send to this one meanwhile (e.g. by handling its own
	 * pending shootdown requests while it waits), or two CPUs purging at
	 * once deadlock. Required on x86_64 (no broadcast TLB invalidation).
	 * On an architecture whose invalidation instructions reach every CPU
	 * (arm64), the library invalidates all CPUs itself and the op is
	 * optional: when set it is still called after that invalidation
	 * (e.g. for a hypervisor that must know), and its error still keeps
	 * the VA quarantined.
	 */
	void (*tlb_local)(void *ctx, uintptr_t va, uint64_t npages);
	int (*tlb_shootdown)(void *ctx, uintptr_t va, uint64_t len);

	/*
	 * Optional platform lock, used for every lock the library keeps (a
	 * reservation table's, a vmap manager's, a log ring's); all NULL means
	 * the library's ticket spinlock. The one exception: the page-claim
	 * buckets of the one-shot VTL0 calls are the library's own spinlocks,
	 * taken only with preemption off (preempt_off; vtl0.h). lock_init, lock and unlock are set
	 * together or not at all, and lock_fini only with them: every init
	 * that takes a platform (vtlmem_rtable_init, vtlmem_vmap_create,
	 * vtlmem_vtl0_init, vtlmem_ring_init) returns -VTLMEM_EINVAL
	 * otherwise, so a lock is never taken one way and released the other.
	 * lock_init runs once when a lock's life begins, before its first
	 * use. lock_fini, if set, runs once when that life ends, with the
	 * lock free and never used again: at a successful vtlmem_rtable_fini,
	 * vtlmem_vmap_destroy or vtlmem_ring_fini (a failed one keeps the
	 * lock), or inside an init that fails after its lock_init. So
	 * lock_fini is called exactly once per lock_init call, and no lock
	 * outlives the object it belongs to. lock and unlock follow the
	 * context rule above (must not sleep; another of the library's locks
	 * may be held, see each header's lock order).
	 */
	void (*lock_init)(void *ctx, struct vtlmem_lock *l);
	void (*lock)(void *ctx, struct vtlmem_lock *l);
	void (*unlock)(void *ctx, struct vtlmem_lock *l);
	void (*lock_fini)(void *ctx, struct vtlmem_lock *l);

	/*
	 * Per-CPU slots: cpu_id() in [0, ncpus) is only stable between
	 * preempt_off() and preempt_on(); preempt_off disables preemption (and
	 * interrupts if the kernel maps slots from IRQ context) and returns a
	 * cookie that preempt_on restores. Pairs nest (an interrupt may map a
	 * slot inside another slot's preempt_off section on its CPU).
	 */
	unsigned ncpus;
	unsigned (*cpu_id)(void *ctx);
	unsigned long (*preempt_off)(void *ctx);
	void (*preempt_on)(void *ctx, unsigned long cookie);

	/* Bookkeeping allocation (never on a copy path). NULL on failure. */
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p, size_t size);

	/*
	 * Optional: called when the library finds one of its own internal
	 * invariants broken, with the library source file and line. That is a
	 * bug in the library: no argument a caller passes and no data VTL0
	 * writes can reach it (those get error codes). It should not return
	 * (panic, or stop the CPU); if it returns, or is NULL, the library
	 * executes a trap instruction (__builtin_trap()). May be called in any
	 * context, with library locks held.
	 */
	void (*bug)(void *ctx, const char *file, unsigned line);
};

/* The platform's physical-address width in bits (pa_bits, or VTLMEM_DEFAULT_PA_BITS if 0). */
static inline unsigned vtlmem_pa_bits(const struct vtlmem_platform *p)
{
	return p->pa_bits ? p->pa_bits : VTLMEM_DEFAULT_PA_BITS;
}

#endif /* VTLMEM_PLATFORM_H */
