/* SPDX-License-Identifier: MIT */
/*
 * Object pools and the cache of the reservation table. Nodes, handles and
 * ref blocks are one union type (union rt_obj), so any free object serves
 * any need. A pool is a private list owned by one call; the table's cache
 * keeps up to VTLMEM_RTABLE_CACHE free objects between calls (t->lock).
 * Platform allocations and frees happen only with the lock dropped, into
 * and out of a private pool (no platform op is called with t->lock held).
 *
 * Static inline: reserve and release run these on every call, and they
 * must stay inlined into them (reserve.c is their only user).
 */
#ifndef VTLMEM_SRC_RESERVE_OBJ_H
#define VTLMEM_SRC_RESERVE_OBJ_H

#include "reserve_internal.h"

static inline void pool_push(struct rt_pool *pool, void *obj)
{
	union rt_obj *o = obj;

	o->next_free = pool->head;
	pool->head = o;
	pool->count++;
}

static inline void *pool_pop(struct rt_pool *pool)
{
	union rt_obj *o = pool->head;

	pool->head = o->next_free;
	pool->count--;
	return o;
}
/* Move up to need objects from the cache to pool. Lock held. */
static inline void cache_take(struct vtlmem_rtable *t, struct rt_pool *pool, uint64_t need)
{
	struct rt_pool cache = { t->cache, t->ncache };

	while (pool->count < need && cache.count)
		pool_push(pool, pool_pop(&cache));
	t->cache = cache.head;
	t->ncache = (uint32_t)cache.count;
}

/* Move pool's objects into the cache, the ones beyond its bound to spare. */
static inline void cache_put(struct vtlmem_rtable *t, struct rt_pool *pool,
			     struct rt_pool *spare)
{
	struct rt_pool cache = { t->cache, t->ncache };

	while (pool->count) {
		if (cache.count < VTLMEM_RTABLE_CACHE)
			pool_push(&cache, pool_pop(pool));
		else
			pool_push(spare, pool_pop(pool));
	}
	t->cache = cache.head;
	t->ncache = (uint32_t)cache.count;
	t->objects -= spare->count;
}

/* Allocate objects from the platform into pool until it has need. No lock. */
static inline int pool_fill(const struct vtlmem_platform *p, struct rt_pool *pool,
			    uint64_t need)
{
	void *o;

	while (pool->count < need) {
		o = p->alloc(p->ctx, sizeof(union rt_obj));
		if (!o)
			return -VTLMEM_ENOMEM;
		pool_push(pool, o);
	}
	return 0;
}

/* Give every object of pool back to the platform. No lock. */
static inline void pool_free(const struct vtlmem_platform *p, struct rt_pool *pool)
{
	while (pool->count)
		p->free(p->ctx, pool_pop(pool), sizeof(union rt_obj));
}

#endif
