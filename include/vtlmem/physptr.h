/* SPDX-License-Identifier: MIT */
/*
 * vtlmem/physptr.h - physical pointers: a handle on an array of elements in
 * VTL0 physical memory, read and written by copy.
 *
 * A handle names count elements of elem_size bytes that start offset bytes
 * into the first of a list of physical pages (the pages need not be
 * contiguous; element k may straddle any page boundary and sit at any byte
 * offset: no alignment is required because no C pointer of element type is
 * ever formed into VTL0 memory, every access is a byte copy by vtlmem_copy()).
 *
 * Lifetime and ownership:
 *  - The handle is CALLER storage (stack or embedded), filled by a create call
 *    and finished by vtlmem_physptr_destroy(). It allocates nothing itself.
 *  - It holds a reservation of all its pages from create to destroy:
 *    exclusive for VTLMEM_PROT_RW, shared-read for VTLMEM_PROT_RO. So while
 *    a RW handle lives, no other accessor in the secure kernel can map its
 *    pages, and a RO handle excludes writers.
 *  - It cannot be duplicated: it records its own address (self), and every
 *    call on a byte copy of a handle (struct assignment, memcpy, a handle
 *    moved to other storage) fails with -VTLMEM_EINVAL and touches nothing.
 *    A destroyed handle, or one whose create failed, is dead: every call on
 *    it fails with -VTLMEM_EINVAL.
 *
 * Mappings: each access maps only the pages it spans, for the duration of
 * the call: a per-CPU slot (vtlmem_slot_map, no allocation, local TLB
 * invalidation only) when it spans at most VTLMEM_PHYSPTR_SLOT_PAGES pages,
 * otherwise a window mapping (vtlmem_vmap_map: allocates a mapping record;
 * the unmapped VA is quarantined until a remote flush), or, with
 * VTLMEM_PHYSPTR_SLOTS, slots VTLMEM_PHYSPTR_SLOT_PAGES pages at a time. A
 * handle with a persistent mapping (VTLMEM_PHYSPTR_PERSISTENT or
 * vtlmem_physptr_map_persistent) maps nothing per access. All mappings are
 * made under the handle's own reservation (vmap `held`); the vmap manager
 * must have at least VTLMEM_PHYSPTR_SLOT_PAGES slots per CPU (its default
 * is 8; with 1, two-page accesses fail with -VTLMEM_EINVAL). Once a window
 * mapping of the handle has been unmapped, destroy releases the reservation
 * only after the remote flush covering that VA (vtlmem_vmap_release_after_
 * flush), so no CPU can still write the pages through a stale translation
 * when another accessor reserves them.
 *
 * Faults: a fault while copying (VTL0 memory revoked under the mapping) makes
 * the call return -VTLMEM_EFAULT with *done = the bytes copied before it.
 * A write returns 0 only when every byte landed.
 *
 * Element size 0 is rejected (-VTLMEM_EINVAL): with zero-sized elements an
 * index no longer names any memory, so the bounds check would validate
 * nothing (any count fits in zero bytes), and C has no zero-sized object
 * type for which it could be meant; it is a caller bug, reported as one.
 *
 * Concurrency: read/write/load/store calls on one handle may run
 * concurrently (they change nothing in the handle but an atomic flag, set
 * when a window mapping is unmapped; an access through the persistent
 * mapping changes nothing in the handle); create,
 * vtlmem_physptr_map_persistent and destroy must not run concurrently with
 * any other call on the same handle. Accesses may sleep nowhere; per-CPU slot
 * use disables preemption (platform op) around each copy only.
 *
 * Interrupt context: an access (read/write/_slice/load/store) of a live
 * handle takes no lock and allocates nothing when it is served by slots
 * (it spans at most VTLMEM_PHYSPTR_SLOT_PAGES pages, or the handle has
 * VTLMEM_PHYSPTR_SLOTS) or by the handle's persistent mapping; then it may
 * run in an interrupt handler under the conditions vmap.h gives for
 * vtlmem_slot_map(). An access served by a window mapping, create,
 * map_persistent and destroy take locks and may purge: not from interrupt
 * context (see vmap.h).
 */
#ifndef VTLMEM_PHYSPTR_H
#define VTLMEM_PHYSPTR_H

#include <vtlmem/reserve.h>
#include <vtlmem/vmap.h>

/* Page arrays up to this many entries are copied into the handle. */
#define VTLMEM_PHYSPTR_INLINE_PAGES 4u
/*
 * Most physically contiguous runs a page array may form (the reservation's
 * ranges are built on the stack: 16 bytes each). More -> -VTLMEM_E2BIG.
 */
#define VTLMEM_PHYSPTR_MAX_RUNS 32u
/* Pages one window mapping of a contiguous handle may hold (stack array). */
#define VTLMEM_PHYSPTR_WINDOW_PAGES 32u
/* Largest span (in pages) an access maps with one per-CPU slot. */
#define VTLMEM_PHYSPTR_SLOT_PAGES 2u

/* Create flags. */
#define VTLMEM_PHYSPTR_PERSISTENT (1u << 0) /* map every page at create, until destroy */
#define VTLMEM_PHYSPTR_SLOTS      (1u << 1) /* > 2-page accesses: slots, 2 pages at a time */
#define VTLMEM_PHYSPTR_FLAGS      (VTLMEM_PHYSPTR_PERSISTENT | VTLMEM_PHYSPTR_SLOTS)

/* How the elements are accessed (the part common to both create calls). */
struct vtlmem_physptr_attr {
	size_t elem_size;            /* bytes per element, >= 1             */
	enum vtlmem_prot prot;       /* RO (shared-read) or RW (exclusive)  */
	enum vtlmem_cache cache;     /* cache policy of every mapping       */
	unsigned flags;              /* VTLMEM_PHYSPTR_*                    */
};

/*
 * The handle. Caller storage; every field is private to the library.
 * Not movable, not copyable (see above). An access through the persistent
 * mapping reads only the first six fields (self .. bytes).
 */
struct vtlmem_physptr {
	struct vtlmem_physptr *self;     /* == this handle while live          */
	size_t rlim;                     /* count + 1 while mapped, else 0     */
	size_t wlim;                     /* the same, 0 for a RO handle        */
	size_t elem_size;                /* bytes per element                  */
	uintptr_t pbase;                 /* map_va + offset while mapped       */
	uint64_t bytes;                  /* elem_size * count                  */
	struct vtlmem_rtable *rt;
	struct vtlmem_vmap *vm;
	const vtlmem_paddr_t *pages;     /* NULL: contiguous from base         */
	vtlmem_paddr_t base;             /* first page of a contiguous handle  */
	size_t npages;
	uint64_t offset;                 /* of element 0 in the first page     */
	size_t count;
	enum vtlmem_prot prot;
	enum vtlmem_cache cache;
	unsigned flags;
	unsigned quarantined;            /* a window mapping was unmapped (atomic) */
	vtlmem_resv_t resv;
	struct vtlmem_mapping *map;      /* persistent mapping, or NULL        */
	uintptr_t map_va;
	vtlmem_paddr_t inl[VTLMEM_PHYSPTR_INLINE_PAGES];
};

/*
 * Create a handle on count elements starting offset bytes into pages[0] of
 * the npages pages (any order, physically non-contiguous allowed). Arrays of
 * up to VTLMEM_PHYSPTR_INLINE_PAGES pages are copied into the handle; a
 * longer array is referenced and must stay unchanged until destroy (a page
 * changed behind the handle's back is not covered by its reservation, so
 * mapping it fails with -VTLMEM_EPERM). The span [offset, offset +
 * count * elem_size) must fit in the pages; pages after the span are
 * allowed and are reserved (and mapped by a persistent mapping) too.
 * count 0 is a valid, empty handle (npages still >= 1).
 *
 * Returns 0 with *h live, or, checked in this order (first failure wins;
 * nothing is reserved or mapped and *h is dead):
 *   -VTLMEM_EINVAL    h, rt, vm, pages or attr NULL; npages 0;
 *                     elem_size 0; offset >= page size; prot, cache or
 *                     flags not valid
 *   -VTLMEM_EOVERFLOW count * elem_size, offset + that, or npages * page
 *                     size does not fit in 64 bits
 *   -VTLMEM_ERANGE    the span does not fit in npages pages
 *   per page, in array order:
 *   -VTLMEM_EINVAL    page not page-aligned
 *   -VTLMEM_ERANGE    page beyond the platform's pa_bits (a page ending
 *                     exactly at 2^pa_bits is fine), or the last page of
 *                     the 64-bit space, which ends at 2^64, under any
 *                     pa_bits (the rule of vtlmem_reserve(), reserve.h)
 *   -VTLMEM_EPERM     page 0 and page 0 not allowed
 *   then:
 *   -VTLMEM_E2BIG     the pages form more than VTLMEM_PHYSPTR_MAX_RUNS
 *                     physically contiguous runs
 *   any vtlmem_reserve() error: -VTLMEM_EPERM (secure-kernel owned),
 *                     -VTLMEM_EINVAL (a page given twice), -VTLMEM_EBUSY,
 *                     -VTLMEM_ENOMEM, -VTLMEM_ENOSPC
 *   with VTLMEM_PHYSPTR_PERSISTENT, any vtlmem_physptr_map_persistent()
 *                     error (the reservation is released again).
 * Context: may take the reservation and vmap locks; no per-CPU state.
 */
int vtlmem_physptr_create(struct vtlmem_physptr *h, struct vtlmem_rtable *rt,
			  struct vtlmem_vmap *vm, const vtlmem_paddr_t *pages, size_t npages,
			  uint64_t offset, size_t count, const struct vtlmem_physptr_attr *attr);

/*
 * Create a handle on the physically contiguous bytes [pa, pa + bytes):
 * elements of attr->elem_size bytes, count = bytes / elem_size, over the
 * pages from align_down(pa) to align_up(pa + bytes), offset = pa % page.
 * Returns 0 with *h live, or (same order and no-change rule as above):
 *   -VTLMEM_EINVAL    h, rt, vm or attr NULL; bytes 0; elem_size 0;
 *                     bytes not a multiple of elem_size; prot, cache or
 *                     flags not valid
 *   -VTLMEM_EOVERFLOW pa + bytes wraps past 2^64 (> 2^64)
 *   -VTLMEM_ERANGE    the pages end beyond 2^pa_bits (ending exactly there
 *                     is fine), or a byte lies in the last page of the
 *                     64-bit space (its pages would end at 2^64: reserve.h)
 *   -VTLMEM_EPERM     touches page 0 and page 0 not allowed
 *   -VTLMEM_E2BIG     VTLMEM_PHYSPTR_PERSISTENT and the range spans more
 *                     than VTLMEM_PHYSPTR_WINDOW_PAGES pages (build a page
 *                     array for longer persistent mappings)
 *   any vtlmem_reserve() or vtlmem_physptr_map_persistent() error as above.
 */
int vtlmem_physptr_create_contig(struct vtlmem_physptr *h, struct vtlmem_rtable *rt,
				 struct vtlmem_vmap *vm, vtlmem_paddr_t pa, uint64_t bytes,
				 const struct vtlmem_physptr_attr *attr);

/*
 * Finish a handle: unmap its persistent mapping (if any), then release its
 * reservation: through vtlmem_vmap_release_after_flush() when a window
 * mapping of it was ever unmapped (released once the quarantine holding that
 * VA is flushed on every CPU), otherwise at once. h is dead afterwards.
 * Returns 0, or
 *   -VTLMEM_EINVAL  h NULL, dead, or a copy of a handle (nothing changes)
 *   -VTLMEM_EIO     the deferred release could not be recorded (no memory),
 *                   so a purge was tried to release at once, and its remote
 *                   shootdown failed: the persistent mapping is gone but the
 *                   reservation is still held and h stays live (accesses
 *                   work, mapping per access); call destroy again later.
 * Context: may take the vmap and reservation locks and run a purge.
 */
int vtlmem_physptr_destroy(struct vtlmem_physptr *h);

/*
 * Map every page of the handle at one window VA now and keep the mapping
 * until destroy; later accesses map nothing. Idempotent (0 when already
 * mapped). Returns 0, or
 *   -VTLMEM_EINVAL  h NULL, dead or a copy
 *   -VTLMEM_E2BIG   contiguous handle of more than VTLMEM_PHYSPTR_WINDOW_PAGES
 *   any vtlmem_vmap_map() error (-VTLMEM_ENOMEM, -VTLMEM_ENOSPC,
 *                   -VTLMEM_EPERM ...); then nothing changes.
 */
int vtlmem_physptr_map_persistent(struct vtlmem_physptr *h);

/*
 * Copy element i out to dst (elem_size bytes) / in from src.
 * Equivalent to the _slice calls with n = 1.
 */
int vtlmem_physptr_read(struct vtlmem_physptr *h, size_t i, void *dst, size_t *done);
int vtlmem_physptr_write(struct vtlmem_physptr *h, size_t i, const void *src, size_t *done);

/*
 * Copy elements [i, i + n) out to dst / in from src (n * elem_size bytes of
 * caller memory, which must not be VTL0 memory). *done (if done is not NULL)
 * is always set: the bytes copied, also on error (it may be written before
 * the copy too, so it must not lie in dst/src). Returns 0 (every byte
 * copied), or, checked in this order:
 *   -VTLMEM_EINVAL    h NULL, dead or a copy; dst/src NULL with n > 0
 *   -VTLMEM_EACCES    write through a RO handle
 *   -VTLMEM_EOVERFLOW i + n wraps
 *   -VTLMEM_ERANGE    i + n > count (so n == 0 is fine for i <= count)
 *   n == 0: returns 0 here, nothing mapped or copied
 *   -VTLMEM_EFAULT    a fault while copying; *done bytes were copied (for a
 *                     write, exactly those bytes of VTL0 memory changed)
 *   a mapping error (vtlmem_slot_map: -VTLMEM_ENOSPC when this CPU's slots
 *                     are in use; vtlmem_vmap_map: -VTLMEM_ENOMEM,
 *                     -VTLMEM_ENOSPC): nothing more is copied, *done says
 *                     how much was (0 unless an earlier chunk succeeded).
 */
int vtlmem_physptr_read_slice(struct vtlmem_physptr *h, size_t i, size_t n, void *dst,
			      size_t *done);
int vtlmem_physptr_write_slice(struct vtlmem_physptr *h, size_t i, size_t n,
			       const void *src, size_t *done);

/*
 * Single-copy-atomic access to a width-byte field (1, 2, 4 or 8) at byte off
 * of the handle's span (byte 0 = element 0's first byte), for values VTL0
 * may change concurrently: one load/store instruction, never torn. The
 * field's physical address must be naturally aligned (so it never crosses a
 * page). Returns 0 (load: *out zero-extended), or, in this order:
 *   -VTLMEM_EINVAL    h NULL, dead or a copy; out NULL (load); width not
 *                     1/2/4/8; v does not fit in width bytes (store)
 *   -VTLMEM_EACCES    store through a RO handle
 *   -VTLMEM_ERANGE    off + width beyond the span (or wraps)
 *   -VTLMEM_EINVAL    the field's physical address is not width-aligned
 *   -VTLMEM_EFAULT    the access faulted (load: *out untouched; store:
 *                     nothing written)
 *   a vtlmem_slot_map() error.
 */
int vtlmem_physptr_load(struct vtlmem_physptr *h, uint64_t off, unsigned width, uint64_t *out);
int vtlmem_physptr_store(struct vtlmem_physptr *h, uint64_t off, unsigned width, uint64_t v);

/* Elements of a live handle (0 for NULL, dead or a copy). */
size_t vtlmem_physptr_count(const struct vtlmem_physptr *h);

#endif /* VTLMEM_PHYSPTR_H */
