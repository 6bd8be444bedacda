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
 * table never calls back into the vmap manager, and calls no platform op
 * while holding its lock: the ownership op runs before the lock is taken,
 * alloc/free with it dropped. Only the caller's own iterate/dump callbacks
 * run under it. The lock is held for O(k log N + p) work per call (k ranges,
 * at most VTLMEM_RESV_MAX_RANGES; p the page-claim groups of 16 pages the
 * request's ranges touch, at most 256 per range: each range marks and
 * checks the page-claim bucket of each of its groups, all 256 buckets for a
 * range over 256 groups), never across a wait.
 *
 * Page claims: the one-shot VTL0 calls (vtl0.h) reserve their pages (up to
 * 17, i.e. 64 KiB at any offset) for the duration of one call in the
 * buckets of their 16-page groups under the buckets' own spinlocks,
 * without the table lock (src/reserve_claim.c); a claim and a reservation
 * made here exclude each other exactly as two reservations do. Claims are
 * counted in vtlmem_rtable_stats(); vtlmem_is_reserved, vtlmem_resv_covers,
 * iterate and dump see only reservations made with vtlmem_reserve().
 */
#ifndef VTLMEM_RESERVE_H
#define VTLMEM_RESERVE_H

#include <vtlmem/platform.h>

/* The mode of a reservation. */
enum vtlmem_rmode {
	VTLMEM_RES_EXCLUSIVE = 0,  /* read-write: conflicts with any overlap */
	VTLMEM_RES_SHARED = 1,     /* shared-read: conflicts with exclusive  */
};

/*
 * A reservation handle: a value the caller copies whole, never dereferences
 * and never edits. id 0 is never a live handle. A table never issues an id
 * twice, also across vtlmem_rtable_fini() + vtlmem_rtable_init() of the
 * same struct, so a stale or doubly released handle is detected. rec is the
 * table's record of the handle, which lets the per-CPU slot path
 * (vtlmem_slot_map) check a held handle without the table lock; a handle
 * whose rec was changed, or one of a table that was finished and not
 * re-initialised, must not be passed to it.
 */
typedef struct {
	uint64_t id;
	const void *rec;
} vtlmem_resv_t;

/* What a conflicting reservation covers (reported with -VTLMEM_EBUSY). */
struct vtlmem_conflict {
	vtlmem_paddr_t pa;
	uint64_t len;
	enum vtlmem_rmode mode;
};

/* Most ranges one vtlmem_reserve() call accepts (bounds the lock hold time). */
#define VTLMEM_RESV_MAX_RANGES 65536u

/*
 * Free bookkeeping objects the table keeps for reuse, so that steady-state
 * reserve/release makes no platform allocation; more are given back.
 * Not counted here: the records of released handles, which the table keeps
 * (and reuses for later handles) until vtlmem_rtable_fini(), so that a
 * stale handle can be recognised without the table lock. Their number is
 * at most the peak number of live handles.
 */
#define VTLMEM_RTABLE_CACHE 64u

/*
 * The table keeps its newest live handles (by id modulo this number) in a
 * small array inside struct vtlmem_rtable instead of its handle tree, so a
 * short-lived reservation is found and released in O(1).
 */
#define VTLMEM_RTABLE_YOUNG 16u

/*
 * Up to this many intervals the table keeps them in small arrays inside
 * struct vtlmem_rtable (a reserve scans them; a release drops its entry in
 * O(1)); above it in an interval tree (O(log N)), back to the arrays when
 * they drop to half of it. Neither switch allocates.
 */
#define VTLMEM_RTABLE_SMALL 16u

struct vtlmem_rtree_node;

/* The table. Treat as opaque; embed it wherever the kernel likes. */
struct vtlmem_rtable {
	const struct vtlmem_platform *plat;
	struct vtlmem_lock lock;
	struct vtlmem_rtree_node *iroot;     /* intervals, by (start, end, mode) */
	struct vtlmem_rtree_node *hroot;     /* older live handles, by id        */
	void *young[VTLMEM_RTABLE_YOUNG];    /* newer live handles, by id mod
					      * VTLMEM_RTABLE_YOUNG             */
	void *cache;                         /* free objects, singly linked      */
	uint32_t ncache;
	void *retired;                       /* records of released handles      */
	uint64_t nretired;
	uint64_t next_id;                    /* never reused; 0 = ids exhausted  */
	uint64_t first_id;                   /* first id since the last init     */
	uint64_t state;                      /* live / finished marker           */
	uint64_t nodes;                      /* interval nodes in the tree       */
	uint64_t handles;                    /* live handles                     */
	uint64_t objects;                    /* objects held from plat->alloc    */
	uint64_t reserves, releases, conflicts;
	void *claims;                        /* page claims of the one-shot VTL0
					      * calls, made on first use        */
	uint32_t tree;                       /* 1: intervals in iroot, 0: below  */
	uint32_t nsmall;                     /* intervals in the small arrays    */
	uint64_t nshared;                    /* shared intervals (either place)  */
	uint64_t sm_start[VTLMEM_RTABLE_SMALL];  /* their starts (free: ~0),     */
	uint64_t sm_end[VTLMEM_RTABLE_SMALL];    /* ends (free: 0)               */
	void *sm_node[VTLMEM_RTABLE_SMALL];      /* and nodes                    */
};

/*
 * Counters of vtlmem_rtable_stats(). handles, intervals, reserves, releases
 * and conflicts include the one-shot VTL0 calls' page claims.
 */
struct vtlmem_rtable_stats {
	uint64_t intervals;   /* interval nodes now (shared ones counted once)  */
	uint64_t handles;     /* live handles now                               */
	uint64_t cached;      /* free objects kept for reuse now                */
	uint64_t retired;     /* records of released handles kept until fini    */
	uint64_t objects;     /* objects now held from the platform allocator
			       * (live, cached and retired ones)                */
	uint64_t reserves;    /* successful vtlmem_reserve() calls, ever        */
	uint64_t releases;    /* successful vtlmem_release() calls, ever        */
	uint64_t conflicts;   /* vtlmem_reserve() calls that returned -EBUSY    */
};

/*
 * Initialise an empty table using platform p (its alloc/free, ownership,
 * lock ops and pa_bits); p must outlive the table. Allocates nothing; calls
 * p's lock_init (if any) once, for the table's lock. Returns 0, or
 * -VTLMEM_EINVAL if t or p is NULL or p's lock ops are mixed (lock_init,
 * lock and unlock not all set or all NULL, or lock_fini without them: see
 * platform.h), -VTLMEM_ENOSYS if p has no alloc or no free op (then no
 * lock_init was called). Not thread-safe against other calls on t.
 */
int vtlmem_rtable_init(struct vtlmem_rtable *t, const struct vtlmem_platform *p);

/*
 * Tear down an empty table: give every cached object back to the platform,
 * then end the table's lock (the platform's lock_fini, if set). Returns 0,
 * or -VTLMEM_EINVAL if t is NULL, -VTLMEM_EBUSY (nothing changes, the lock
 * lives on) while any handle is live. After 0, t may only be passed to
 * vtlmem_rtable_init() again. The caller guarantees no other call on t
 * runs concurrently.
 */
int vtlmem_rtable_fini(struct vtlmem_rtable *t);

/*
 * Reserve the n ranges atomically in mode: all of them or none.
 *
 * Errors, checked in this order (the first one found is returned):
 *   -VTLMEM_EINVAL    t, ranges or out NULL; n == 0 or n >
 *                     VTLMEM_RESV_MAX_RANGES; mode not a vtlmem_rmode
 *   per range, in array order (vtlmem_check_range order):
 *   -VTLMEM_EINVAL    len == 0
 *   -VTLMEM_EOVERFLOW pa + len wraps past 2^64 (pa + len > 2^64)
 *   -VTLMEM_ERANGE    pa + len > 2^pa_bits (ending exactly there is fine);
 *                     and pa + len == 2^64 under any pa_bits: range ends
 *                     are 64-bit values, so with pa_bits 64 the highest
 *                     end is 2^64 - 1 and the last page of the 64-bit
 *                     space, [2^64 - 4096, 2^64), is never reservable
 *   -VTLMEM_EPERM     touches page 0 and !allow_page0; no ownership op; or
 *                     the ownership op does not answer VTLMEM_OWNER_VTL0
 *   then:
 *   -VTLMEM_ENOMEM    a bookkeeping allocation failed
 *   -VTLMEM_EINVAL    two ranges of the request overlap (adjacent is fine)
 *   -VTLMEM_ENOSPC    the 2^64 - 1 handle ids are used up
 *   -VTLMEM_EBUSY     a range overlaps a live reservation it conflicts with:
 *                     exclusive conflicts with any overlapping reservation,
 *                     shared with any overlapping exclusive one. If conflict
 *                     is not NULL it receives the conflicting reservation's
 *                     range and mode: of the request's lowest-addressed
 *                     range that conflicts, the live interval with the lowest
 *                     (start, end) among those it conflicts with (a one-shot
 *                     call's page claim is reported as the whole pages it
 *                     claims, with its mode).
 * On any error nothing is recorded and *out is unchanged (*conflict only
 * written with -EBUSY). On success returns 0 and *out is the new handle, a
 * never-before-issued id. Adjacent reservations never conflict; shared
 * reservations of the identical range share one interval (counted).
 *
 * Never waits. The ownership op is called once per range before the table
 * lock is taken (no platform op runs under the table lock), so ranges is
 * read more than once: it must be the caller's memory and not change during
 * the call. Platform alloc is called (without the lock) only when the cache
 * of free objects runs short: a request of k ranges needs at most
 * k + 1 + (k + 5) / 9 objects. O(k log k + k log N) for N live intervals.
 */
int vtlmem_reserve(struct vtlmem_rtable *t, const struct vtlmem_range *ranges, size_t n,
		   enum vtlmem_rmode mode, vtlmem_resv_t *out, struct vtlmem_conflict *conflict);

/*
 * Release a handle returned by vtlmem_reserve(). Returns 0, or
 * -VTLMEM_EINVAL if t is NULL, -VTLMEM_ENOENT if h is not live (id 0, never
 * issued, or already released); then nothing changes. Never fails for a
 * live handle. May give objects beyond the cache bound back to the platform
 * (after dropping the lock). O(k log N) for a handle of k ranges.
 */
int vtlmem_release(struct vtlmem_rtable *t, vtlmem_resv_t h);

/*
 * Is [pa, pa + len) reserved such that an access in mode is covered?
 *   mode EXCLUSIVE: every byte lies in some exclusive reservation.
 *   mode SHARED:    every byte lies in some reservation (either mode).
 * The bytes may be covered by several adjacent or overlapping reservations.
 * Returns false for t NULL, len 0, an invalid mode, and a range that wraps
 * past 2^64 or ends exactly at 2^64 (no reservation reaches 2^64, see
 * vtlmem_reserve(): such a range is never covered).
 * Takes the table lock; O(p log N) where p is the number of intervals
 * needed to cover the range.
 */
bool vtlmem_is_reserved(struct vtlmem_rtable *t, vtlmem_paddr_t pa, uint64_t len,
			enum vtlmem_rmode mode);

/*
 * Does live handle h cover every byte of [pa, pa + len) with its own
 * ranges (adjacent ranges of the handle join)? Used by the vmap manager to
 * map pages under a reservation the caller already holds. Returns false if
 * t is NULL, h is not live, len is 0, or the range wraps past or ends
 * exactly at 2^64 (never reserved, as for vtlmem_is_reserved()). Takes the
 * table lock; O(log N + k) for a handle of k ranges.
 */
bool vtlmem_resv_covers(struct vtlmem_rtable *t, vtlmem_resv_t h, vtlmem_paddr_t pa,
			uint64_t len);

/*
 * The mode of live handle h (all its ranges share it) in *mode. Returns 0,
 * -VTLMEM_EINVAL for NULL arguments, -VTLMEM_ENOENT if h is not live.
 * Takes the table lock; O(log N).
 */
int vtlmem_resv_mode(struct vtlmem_rtable *t, vtlmem_resv_t h, enum vtlmem_rmode *mode);

/*
 * Call fn once per reserved interval in address order (by start, then end;
 * an exclusive and a shared interval never overlap), shared intervals once
 * with their reader count (exclusive: 1; saturates at UINT32_MAX), under the
 * table lock: fn must not call into the table. Returns the number of
 * intervals visited; 0 if t or fn is NULL.
 */
size_t vtlmem_rtable_iterate(struct vtlmem_rtable *t,
			     void (*fn)(void *arg, vtlmem_paddr_t pa, uint64_t len,
					enum vtlmem_rmode mode, uint32_t readers),
			     void *arg);

/*
 * Print the table through puts, one line per interval in address order,
 *   "resv [0x1000, 0x3000) len 0x2000 excl"
 *   "resv [0x5000, 0x6000) len 0x1000 shared readers 3"
 * then a summary line
 *   "rtable: 2 intervals, 4 handles, 3 cached, 1 retired, 9 objects"
 * Lines carry no newline. puts runs under the table lock and must not call
 * into the table. Does nothing if t or puts is NULL.
 */
void vtlmem_rtable_dump(struct vtlmem_rtable *t, void (*puts)(void *arg, const char *line),
			void *arg);

/* Snapshot of the table's counters into *st (under the lock); no-op on NULL. */
void vtlmem_rtable_stats(struct vtlmem_rtable *t, struct vtlmem_rtable_stats *st);

#endif /* VTLMEM_RESERVE_H */
