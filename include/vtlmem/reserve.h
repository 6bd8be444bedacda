/* SPDX-License-Identifier: MIT */
/*
 * vtlmem/reserve.h - physical-range reservation table.
 *
 * Enforces "at most one writer per physical range": a range is reserved
 * exclusive (one read-write accessor) or shared-read (any number of readers)
 * before the library maps it. Conflicts fail at once with -VTLMEM_EBUSY;
 * nothing ever waits.
 *
 * Lock order: the table's lock is a leaf. The vmap manager may call into the
 * table while holding its own locks (vmap lock -> reservation lock); the
 * table never calls back into the vmap manager.
 */
#ifndef VTLMEM_RESERVE_H
#define VTLMEM_RESERVE_H

#include <vtlmem/platform.h>

enum vtlmem_rmode {
	VTLMEM_RES_EXCLUSIVE = 0,  /* read-write: conflicts with any overlap */
	VTLMEM_RES_SHARED = 1,     /* shared-read: conflicts with exclusive  */
};

/*
 * A reservation handle: a value, not a pointer. id 0 is never a live handle;
 * ids are never reused, so a stale or doubly released handle is detected.
 */
typedef struct { uint64_t id; } vtlmem_resv_t;

/* What a conflicting reservation covers (reported with -VTLMEM_EBUSY). */
struct vtlmem_conflict {
	vtlmem_paddr_t pa;
	uint64_t len;
	enum vtlmem_rmode mode;
};

struct vtlmem_rtable_node;
struct vtlmem_rtable_handle;

/* The table. Treat as opaque; embed it wherever the kernel likes. */
struct vtlmem_rtable {
	const struct vtlmem_platform *plat;
	struct vtlmem_lock lock;
	struct vtlmem_rtable_node *root;     /* intervals, ordered by start */
	struct vtlmem_rtable_handle *hroot;  /* live handles, ordered by id */
	uint64_t next_id;
	uint64_t nodes;                      /* interval nodes in the tree  */
	uint64_t handles;                    /* live handles                */
};

/*
 * Initialise an empty table using platform p (its alloc/free, ownership,
 * lock ops and pa_bits). Returns 0, or -VTLMEM_EINVAL if t or p is NULL,
 * -VTLMEM_ENOSYS if p has no alloc/free.
 */
int vtlmem_rtable_init(struct vtlmem_rtable *t, const struct vtlmem_platform *p);

/*
 * Reserve the n ranges atomically in mode: all of them or none. Every range
 * is validated first (len 0 -> -EINVAL, wrap -> -EOVERFLOW, beyond pa_bits
 * -> -ERANGE, page 0 unless allowed / secure-kernel owned / no ownership op
 * -> -EPERM); ranges of one request overlapping each other -> -EINVAL;
 * n == 0 or a NULL pointer -> -EINVAL. A conflict with a live reservation
 * returns -VTLMEM_EBUSY and, if conflict is not NULL, the conflicting
 * reservation's range and mode. Allocation failure -> -VTLMEM_ENOMEM. On any
 * error nothing is recorded and *out is unchanged. On success *out is the
 * new handle. O(n log N) for N live reservations. Takes the table lock.
 */
int vtlmem_reserve(struct vtlmem_rtable *t, const struct vtlmem_range *ranges, size_t n,
		   enum vtlmem_rmode mode, vtlmem_resv_t *out, struct vtlmem_conflict *conflict);

/*
 * Release a handle returned by vtlmem_reserve(). Returns 0, or
 * -VTLMEM_ENOENT if h is not live (never issued, or already released); then
 * nothing changes. O(k log N) for a handle of k ranges. Takes the table lock.
 */
int vtlmem_release(struct vtlmem_rtable *t, vtlmem_resv_t h);

/*
 * Is [pa, pa + len) reserved such that an access in mode is covered?
 *   mode EXCLUSIVE: every byte lies in some exclusive reservation.
 *   mode SHARED:    every byte lies in some reservation (either mode).
 * Returns true/false; false for len 0 or a wrapping range. Takes the lock.
 */
bool vtlmem_is_reserved(struct vtlmem_rtable *t, vtlmem_paddr_t pa, uint64_t len,
			enum vtlmem_rmode mode);

/*
 * Does live handle h cover every byte of [pa, pa + len)? Used by the vmap
 * manager to map pages under a reservation the caller already holds.
 * Returns false if h is not live. Takes the lock.
 */
bool vtlmem_resv_covers(struct vtlmem_rtable *t, vtlmem_resv_t h, vtlmem_paddr_t pa,
			uint64_t len);

/*
 * Call fn once per reserved interval in address order (shared intervals once,
 * with their reader count), under the table lock: fn must not call back into
 * the table. Returns the number of intervals visited.
 */
size_t vtlmem_rtable_iterate(struct vtlmem_rtable *t,
			     void (*fn)(void *arg, vtlmem_paddr_t pa, uint64_t len,
					enum vtlmem_rmode mode, uint32_t readers),
			     void *arg);

/* Print the table through puts (one line per interval, then a summary). */
void vtlmem_rtable_dump(struct vtlmem_rtable *t, void (*puts)(void *arg, const char *line),
			void *arg);

#endif /* VTLMEM_RESERVE_H */
