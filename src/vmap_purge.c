/* SPDX-License-Identifier: MIT */
/*
 * Unmap, quarantine and purge of the vmap manager.
 *
 * Quarantine and purge. Unmap appends the mapping to the quarantine list.
 * A purge takes the whole list (and the deferred reservation releases) out
 * under the lock, drops the lock, invalidates the span [lowest va, highest
 * mapped end) of the batch on this CPU and, with ONE shootdown, on every
 * other CPU (preemption off across both), and re-locks: on success
 * the batch's VA goes back to the allocator and its reservations are
 * released (without the vmap lock); on failure the batch goes back into the
 * quarantine and stays there. Mappings unmapped while a shootdown is in
 * flight go to the fresh list and wait for the next purge: a shootdown only
 * ever releases what was unmapped before it started. Purges are serialised
 * (one in flight per manager, `purging`), so "a purge succeeded" always
 * covers everything unmapped before that purge took its batch.
 */
#include "bug.h"
#include "vmap_internal.h"

static void quarantine_add(struct qlist *q, struct vtlmem_mapping *m)
{
	uintptr_t end = m->va + m->npages * PG;

	m->next = NULL;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	if (!q->pages || m->va < q->lo)
		q->lo = m->va;
	if (!q->pages || end > q->hi)
		q->hi = end;
	q->pages += m->npages;
}

static void unprotect_one(void *arg, vtlmem_paddr_t pa)
{
	const struct vtlmem_platform *p = arg;

	p->unprotect(p->ctx, pa);
}

int vtlmem_vmap_unmap(struct vtlmem_vmap *vm, struct vtlmem_mapping *m)
{
	struct vtlmem_tlb_count tc = { 0, 0 };
	uint32_t live = M_LIVE;
	bool purge;

	if (!vm || !m || m->vm != vm)
		return -VTLMEM_EINVAL;
	/* LIVE -> DYING exactly once, even against a racing second unmap */
	if (!__atomic_compare_exchange_n(&m->state, &live, M_DYING, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return -VTLMEM_EINVAL;

	vtlmem_pgt_clear(&vm->pt, m->va, m->npages,
		  (m->flags & VTLMEM_MAP_PROTECT) ? unprotect_one : NULL, (void *)vm->p);
	vtlmem_tlb_local(vm->p, m->va, m->npages, &tc);

	vm_lock(vm);
	vm->st.unmaps++;
	vm->st.flush_pages += tc.pages;
	vm->st.flush_all += tc.all;
	vm->st.mapped -= m->npages;
	state_set(m, M_QUAR);
	quarantine_add(&vm->q, m);
	vm->live--;
	purge = vm->q.pages >= vm->threshold && !vm->purging;
	vm_unlock(vm);
	if (purge)
		vtlmem_vmap_purge(vm);
	return 0;
}

/* Move the quarantine into batch b (under the lock). */
static void batch_take(struct vtlmem_vmap *vm, struct qlist *b)
{
	b->head = vm->q.head;
	b->tail = vm->q.tail;
	b->dhead = vm->q.dhead;
	b->pages = vm->q.pages;
	b->lo = vm->q.lo;
	b->hi = vm->q.hi;
	qlist_init(&vm->q);
	vm->purging = true;
	vm->inflight = b->pages;
}

/* A failed batch goes back into the quarantine (under the lock). */
static void batch_requeue(struct vtlmem_vmap *vm, struct qlist *b)
{
	struct deferred *d;

	while (b->head) {
		struct vtlmem_mapping *m = b->head;

		b->head = m->next;
		quarantine_add(&vm->q, m);
	}
	while ((d = b->dhead) != NULL) {
		b->dhead = d->next;
		d->next = vm->q.dhead;
		vm->q.dhead = d;
	}
}

/* After a successful shootdown, without the lock: the batch is ours alone. */
static void batch_release(struct vtlmem_vmap *vm, struct qlist *b)
{
	struct vtlmem_mapping *m;
	struct deferred *d;

	for (m = b->head; m; m = m->next) {
		unclaim(vm, m->resv);
		m->resv.id = 0;
	}
	while ((d = b->dhead) != NULL) {
		b->dhead = d->next;
		vtlmem_release(vm->rt, d->r);
		vm->p->free(vm->p->ctx, d, sizeof(*d));
	}
}

/* A run of batch mappings whose VA ranges (guards included) touch. */
struct va_run {
	struct vtlmem_mapping *head, *tail;
	uint64_t start, len, count;     /* pages */
};

/*
 * Free one run's VA with one allocator call and pool its mapping structs.
 * Cannot fail: freeing VA never needs memory (vaspace.h), so a purge whose
 * shootdown succeeded always makes all of its VA reusable.
 */
static void run_free(struct vtlmem_vmap *vm, struct va_run *r)
{
	struct vtlmem_mapping *m, *next;
	int ret;

	r->tail->next = NULL;
	ret = vtlmem_vas_free_many(&vm->vas, r->start, r->len, r->count);
	VTLMEM_BUG_ON(vm->p, ret != 0);   /* the run is VA this manager allocated */
	for (m = r->head; m; m = next) {
		next = m->next;
		vtlmem_vmap_struct_put(vm, m, false);
	}
}

/*
 * Give the batch's VA back (under the lock), joining mappings that follow
 * each other in the list and in VA (the common map/unmap order) into one
 * free: a purge costs one allocator call per run, not per mapping.
 */
static void batch_free_va(struct vtlmem_vmap *vm, struct qlist *b)
{
	struct vtlmem_mapping *m, *next;
	struct va_run r = { NULL, NULL, 0, 0, 0 };
	uint64_t s;

	for (m = b->head; m; m = next) {
		next = m->next;
		s = m->va >> VTLMEM_PAGE_SHIFT;
		if (r.head && s == r.start + r.len) {
			r.tail->next = m;
			r.tail = m;
			r.len += m->npages + 1;
			r.count++;
			continue;
		}
		if (r.head)
			run_free(vm, &r);
		r.head = r.tail = m;
		r.start = s;
		r.len = m->npages + 1;
		r.count = 1;
	}
	if (r.head)
		run_free(vm, &r);
}

int vtlmem_vmap_purge(struct vtlmem_vmap *vm)
{
	struct vtlmem_tlb_count tc = { 0, 0 };
	struct qlist b;
	int ret = 0;

	if (!vm)
		return -VTLMEM_EINVAL;
	vm_lock(vm);
	if (vm->purging) {
		vm_unlock(vm);
		return -VTLMEM_EBUSY;
	}
	if (!vm->q.head && !vm->q.dhead) {
		vm_unlock(vm);
		return 0;
	}
	batch_take(vm, &b);
	vm_unlock(vm);

	/*
	 * Every CPU, the purging one included: it may have used a mapping that
	 * another CPU unmapped (tlb.c keeps preemption off across both parts).
	 */
	if (b.head)
		ret = vtlmem_tlb_everywhere(vm->p, b.lo, (b.hi - b.lo) >> VTLMEM_PAGE_SHIFT, &tc);
	if (!ret)
		batch_release(vm, &b);

	vm_lock(vm);
	vm->st.flush_pages += tc.pages;
	vm->st.flush_all += tc.all;
	if (ret) {
		vm->st.failures++;
		batch_requeue(vm, &b);
	} else {
		vm->st.shootdowns += b.head != NULL;
		batch_free_va(vm, &b);
	}
	vm->purging = false;
	vm->inflight = 0;
	vm_unlock(vm);
	return ret ? -VTLMEM_EIO : 0;
}

int vtlmem_vmap_release_after_flush(struct vtlmem_vmap *vm, vtlmem_resv_t r)
{
	enum vtlmem_rmode mode;
	struct deferred *d;

	if (!vm)
		return -VTLMEM_EINVAL;
	if (vtlmem_resv_mode(vm->rt, r, &mode))
		return -VTLMEM_ENOENT;
	vm_lock(vm);
	if (!vm->q.head && !vm->purging) {
		vm_unlock(vm);
		return vtlmem_release(vm->rt, r);
	}
	d = vm->p->alloc(vm->p->ctx, sizeof(*d));
	if (!d) {
		vm_unlock(vm);
		return -VTLMEM_ENOMEM;
	}
	d->r = r;
	d->next = vm->q.dhead;
	vm->q.dhead = d;
	vm_unlock(vm);
	return 0;
}
