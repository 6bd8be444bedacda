/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdlib.h>

#include "mutexops.h"

static void mx_init(void *ctx, struct vtlmem_lock *l)
{
	pthread_mutex_t *m = malloc(sizeof(*m));

	(void)ctx;
	if (!m || pthread_mutex_init(m, NULL))
		abort();
	l->plat = m;
}

static void mx_lock(void *ctx, struct vtlmem_lock *l)
{
	(void)ctx;
	pthread_mutex_lock(l->plat);
}

static void mx_unlock(void *ctx, struct vtlmem_lock *l)
{
	(void)ctx;
	pthread_mutex_unlock(l->plat);
}

static void mx_fini(void *ctx, struct vtlmem_lock *l)
{
	(void)ctx;
	pthread_mutex_destroy(l->plat);
	free(l->plat);
	l->plat = NULL;
}

void mutexops_install(struct vtlmem_platform *ops)
{
	ops->lock_init = mx_init;
	ops->lock = mx_lock;
	ops->unlock = mx_unlock;
	ops->lock_fini = mx_fini;
}
