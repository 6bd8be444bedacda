/* SPDX-License-Identifier: MIT */
/*
 * vtlmem/vtl0.h - the VTL0 access calls a secure kernel makes: copy a
 * physical range or a page list in or out, read a structure, atomic fields,
 * walk a VTL0 page chain, append to a log ring in VTL0 memory.
 *
 * Every call is one call: it reserves what it touches (shared-read to read,
 * exclusive to write), maps it through per-CPU slots at most
 * VTLMEM_PHYSPTR_SLOT_PAGES pages at a time (no window mapping, so no
 * mapping record is allocated and no VA is quarantined), copies with the
 * fallible copy routines, unmaps and releases before returning. The
 * reservation table keeps a node cache, so in steady state these calls make
 * no platform allocation at all (the log ring allocates once, at init).
 *
 * Why slots and not one window mapping for long ranges (measured with
 * tests/bench/bench_vtl0.c and callgrind, 64 KiB read, instructions
 * outside the copy itself, before the one-shot path was specialised):
 * slots 2 pages at a time cost ~6700 library instructions, 16 local
 * invalidations, 0 allocations and 0 remote shootdowns per call (now
 * far fewer: tests/bench/counts prints today's figures); one window
 * mapping costs
 * ~2800 instructions and 16 local invalidations, but 1 allocation per call
 * (the deferred reservation release) and one remote shootdown (an IPI to
 * every CPU) per 32 calls, and it spends window VA the quarantine must
 * purge. The calls keep the no-allocation, no-IPI path; a caller that
 * copies the same long buffer often should hold a physical pointer with a
 * persistent mapping instead (about 30 library instructions per access).
 *
 * Everything read from VTL0 is hostile: lengths, counts and addresses found
 * in VTL0 memory are read once (single-copy-atomic) and bounds-checked
 * before use; a cycle or an over-long chain is an error, never a hang.
 *
 * Granularity: the calls reserve, check and map whole pages: the pages the
 * bytes lie in, [align_down(pa), align_up(pa + len)) for a contiguous
 * range, each page the bytes reach for a page list. So
 *  - a call conflicts (-VTLMEM_EBUSY) with another accessor's reservation
 *    of any byte of those pages in a conflicting mode, even where the bytes
 *    themselves do not overlap: with [X + 8, X + 16) of page X reserved
 *    exclusive by another accessor, a read of [X + 16, X + 24) is
 *    -VTLMEM_EBUSY (and a write of [X + 16, X + 24) conflicts with a
 *    shared-read reservation of [X + 8, X + 16));
 *  - the page checks (-VTLMEM_ERANGE, -VTLMEM_EPERM, the ownership op)
 *    apply to whole pages: bytes ending exactly at 2^pa_bits are fine,
 *    bytes in the last page of the 64-bit space (whose end, 2^64, no range
 *    may reach: see vtlmem_reserve()) are -VTLMEM_ERANGE under any pa_bits;
 *  - of a page list, only the entries the bytes reach are looked at: an
 *    entry past them is never checked, reserved or mapped, so pages
 *    {A, B, A} with the bytes in pages[0] and pages[1] only copy fine
 *    (returns 0), and only bytes reaching pages[2] make A "given twice"
 *    (-VTLMEM_EINVAL).
 *
 * Faults: -VTLMEM_EFAULT with *done = the bytes copied before the fault
 * (a log-ring write counts from the start of its buffer: see
 * vtlmem_ring_write). Calls with a done parameter accept NULL for it and,
 * when it is given, always set it (0 on argument errors).
 *
 * Context: as for vtlmem_slot_map(): preemption is disabled (platform op)
 * while slots are mapped. A contiguous read or write of up to 17 pages
 * (64 KiB at any offset) usually claims its pages in the reservation
 * table's page-claim buckets, without the table lock, and then keeps
 * preemption disabled from the claim to its release (the whole copy);
 * a longer one, or one whose pages a reservation made with
 * vtlmem_reserve() may touch, reserves through the table (its lock) and
 * disables preemption for 16 pages' copy at a time. Callbacks run with
 * nothing mapped and no lock held. The context struct is read-only after
 * init, so any number of calls may run on it concurrently. Every call may
 * take the reservation-table lock, and the claim buckets' spinlocks are
 * taken with preemption off: not from interrupt context unless both the
 * platform's lock ops and its preempt_off disable interrupts (vmap.h); the
 * ring calls also take the ring's lock and may purge.
 */
#ifndef VTLMEM_VTL0_H
#define VTLMEM_VTL0_H

#include <vtlmem/physptr.h>

/* What the calls use: set up by vtlmem_vtl0_init(); caller storage. */
struct vtlmem_vtl0 {
	const struct vtlmem_platform *plat;
	struct vtlmem_rtable *rt;
	struct vtlmem_vmap *vm;
};

/*
 * Fill ctx to reserve in rt and map through vm (vm must have been created
 * over rt). Returns 0, or -VTLMEM_EINVAL if an argument is NULL, rt has no
 * platform, or that platform's lock ops are mixed (lock_init, lock and
 * unlock not all set or all NULL, or lock_fini without them: platform.h).
 */
int vtlmem_vtl0_init(struct vtlmem_vtl0 *ctx, struct vtlmem_rtable *rt,
		     struct vtlmem_vmap *vm);

/*
 * Copy len bytes of VTL0 physical memory [pa, pa + len) to dst / from src
 * (any length, any alignment, crossing pages). Returns 0 (every byte
 * copied), or
 *   -VTLMEM_EINVAL    ctx NULL; dst/src NULL with len > 0
 *   len == 0: returns 0, touches nothing (pa is not checked)
 *   -VTLMEM_EOVERFLOW pa + len wraps past 2^64 (> 2^64)
 *   -VTLMEM_ERANGE    the pages the bytes lie in end beyond 2^pa_bits, or
 *                     include the last page of the 64-bit space
 *                     (Granularity)
 *   -VTLMEM_EPERM     page 0, or not VTL0 memory (ownership op)
 *   -VTLMEM_EBUSY     reserved by another accessor in a conflicting mode
 *   -VTLMEM_ENOMEM    the reservation table could not allocate
 *   -VTLMEM_EFAULT    fault while copying; *done bytes were copied
 *   -VTLMEM_ENOSPC    this CPU's slots are all in use
 *   -VTLMEM_EINVAL    (after the checks above) the bytes touch more than
 *                     one page and vm was created with slots_per_cpu 1
 *                     (a page-crossing copy maps two pages at a time), or
 *                     the platform's cpu_id answers >= vm's ncpus; *done
 *                     bytes were copied (0 in the first case) and nothing
 *                     stays reserved
 */
int vtlmem_vtl0_read(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa, void *dst, size_t len,
		     size_t *done);
int vtlmem_vtl0_write(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa, const void *src, size_t len,
		      size_t *done);

/*
 * Copy len bytes starting offset bytes into pages[0] of a page list (any
 * order; the bytes run on through pages[1], pages[2], ...) to dst / from
 * src. Only the pages the copy touches are reserved and mapped; npages may
 * be larger. Returns 0, or the errors of vtlmem_vtl0_read() and
 *   -VTLMEM_EINVAL    pages NULL or npages 0 (len > 0), offset >= page
 *                     size, a touched page unaligned or given twice
 *   -VTLMEM_EOVERFLOW offset + len wraps
 *   -VTLMEM_ERANGE    offset + len does not fit in npages pages, or a
 *                     touched page beyond pa_bits or the last page of the
 *                     64-bit space (Granularity)
 *   -VTLMEM_E2BIG     the touched pages form more than
 *                     VTLMEM_PHYSPTR_MAX_RUNS contiguous runs (split the
 *                     copy)
 */
int vtlmem_vtl0_read_pages(struct vtlmem_vtl0 *ctx, const vtlmem_paddr_t *pages, size_t npages,
			   uint64_t offset, void *dst, size_t len, size_t *done);
int vtlmem_vtl0_write_pages(struct vtlmem_vtl0 *ctx, const vtlmem_paddr_t *pages,
			    size_t npages, uint64_t offset, const void *src, size_t len,
			    size_t *done);

/*
 * Read / write the object *objp (its exact size) at physical address pa:
 * typed wrappers of the copies above; evaluate to their return value.
 */
#define VTLMEM_VTL0_READ(ctx, pa, objp) \
	vtlmem_vtl0_read((ctx), (pa), (objp), sizeof(*(objp)), NULL)
#define VTLMEM_VTL0_WRITE(ctx, pa, objp) \
	vtlmem_vtl0_write((ctx), (pa), (objp), sizeof(*(objp)), NULL)

/*
 * Single-copy-atomic load / store of a width-byte (1, 2, 4, 8) field at
 * physical address pa, which must be width-aligned. Returns 0, or
 *   -VTLMEM_EINVAL    ctx NULL, out NULL, width not 1/2/4/8, pa not
 *                     width-aligned, v does not fit in width bytes
 *   the reservation errors of vtlmem_vtl0_read(); -VTLMEM_EFAULT if the
 *   access faulted (nothing loaded / stored); -VTLMEM_ENOSPC (slots).
 */
int vtlmem_vtl0_load(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa, unsigned width,
		     uint64_t *out);
int vtlmem_vtl0_store(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t pa, unsigned width, uint64_t v);

/* ---- page chains ---- */

/*
 * A VTL0 page chain: every page starts with this header, followed by count
 * entries of the caller's entry size (packed, from byte
 * VTLMEM_CHAIN_HDR_SIZE). next is the physical address of the next page
 * (page-aligned) or 0 at the end of the chain (so physical page 0 can never
 * be a chain page). flags is not interpreted by the walker.
 */
struct vtlmem_chain_hdr {
	uint64_t next;
	uint32_t count;
	uint32_t flags;
};
#define VTLMEM_CHAIN_HDR_SIZE 16u
/* Most entries of esz bytes one chain page can hold. */
#define VTLMEM_CHAIN_CAPACITY(esz) ((VTLMEM_PAGE_SIZE - VTLMEM_CHAIN_HDR_SIZE) / (esz))

/*
 * Called once per chain page, in chain order, after the page's entries were
 * copied out of VTL0 (entries points to the caller's buf, count entries;
 * VTL0 can no longer change them). index counts pages from 0; page is the
 * page's physical address. Return 0 to go on, > 0 to stop the walk
 * successfully, < 0 to stop it with that error.
 */
typedef int (*vtlmem_chain_fn)(void *arg, size_t index, vtlmem_paddr_t page,
			       const void *entries, uint32_t count);

/* One walk: entry size, bounds, the caller's storage and the per-page callback. */
struct vtlmem_chain_walk {
	size_t entry_size;   /* 1 .. page size - VTLMEM_CHAIN_HDR_SIZE             */
	size_t max_pages;    /* most pages the chain may have, >= 1                */
	uint64_t *visited;   /* caller storage for max_pages addresses (scratch)   */
	void *buf;           /* caller storage for one page's entries              */
	size_t buf_size;     /* bytes of buf                                       */
	vtlmem_chain_fn fn;
	void *arg;
};

/*
 * Walk the VTL0 page chain starting at page head. For each page: check
 * (aligned, not seen before, within max_pages), reserve it shared-read,
 * map it (one slot page), read next and count once each with
 * single-copy-atomic loads, check count, copy the entries to w->buf, unmap,
 * release, then call w->fn. Cycles are found exactly, before a page is
 * visited twice: w->visited holds the addresses seen (kept sorted, binary
 * search: O(log n) per page, O(n) insertion), so the walk never calls fn
 * twice for one page and allocates nothing. *pages (if not NULL) is always
 * set to the number of pages delivered to fn, also on error. Returns 0 at
 * the end of the chain or when fn returned > 0, or
 *   -VTLMEM_EINVAL    ctx, w, w->fn, w->visited or w->buf NULL; entry_size
 *                     0 or > page size - 16; max_pages 0; head (or a next
 *                     address read from VTL0) not page-aligned, or 0 (head)
 *   -VTLMEM_ELOOP     a next address names a page already walked
 *   -VTLMEM_E2BIG     the chain has more than max_pages pages, or a count
 *                     read from VTL0 exceeds VTLMEM_CHAIN_CAPACITY or what
 *                     buf_size holds
 *   the reservation errors of vtlmem_vtl0_read() for a chain page
 *                     (-VTLMEM_ERANGE, -VTLMEM_EPERM, -VTLMEM_EBUSY, ...)
 *   -VTLMEM_EFAULT    a fault while reading a chain page
 *   fn's negative return value.
 * Pages delivered to fn before an error stay delivered (the walk streams;
 * VTL0 may change the chain at any time, so no pre-check could prevent it).
 */
int vtlmem_vtl0_chain_walk(struct vtlmem_vtl0 *ctx, vtlmem_paddr_t head,
			   const struct vtlmem_chain_walk *w, size_t *pages);

/* ---- log ring ---- */

/*
 * A log ring in VTL0 memory, as VTL0 sees it: the ring's pages, virtually
 * concatenated in list order, hold this header at byte 0 and the data
 * bytes at [VTLMEM_RING_HDR_SIZE, VTLMEM_RING_HDR_SIZE + size).
 *   head: total bytes ever written (mod 2^64). The ring is a byte stream:
 *         stream byte k lives at data[k % size], so the write offset is
 *         head % size and the valid data are the last min(head, size)
 *         bytes before it. Published with one single-copy-atomic 8-byte
 *         store after the data it covers are written (release order), so a
 *         reader that loads head and then data sees at least those bytes.
 *   size: data bytes, written once at init.
 */
struct vtlmem_ring_hdr {
	uint64_t head;
	uint64_t size;
};
#define VTLMEM_RING_HDR_SIZE 64u

/* A ring writer; caller storage, not movable or copyable (see physptr.h). */
struct vtlmem_ring {
	struct vtlmem_physptr p;         /* header + data, RW, persistently mapped */
	const struct vtlmem_platform *plat;
	struct vtlmem_lock lock;         /* serializes writers                  */
	uint64_t size;
	uint64_t head;                   /* last published head                 */
};

/*
 * Set up a ring writer over npages pages (any order; arrays longer than
 * VTLMEM_PHYSPTR_INLINE_PAGES must outlive the ring) holding
 * VTLMEM_RING_HDR_SIZE + size bytes. Reserves them exclusive and maps them
 * once, for the ring's lifetime (one window mapping: the only allocation),
 * then publishes head = 0 and size. Returns 0, or (checked in this order)
 *   -VTLMEM_EINVAL    r, ctx or pages NULL; ctx's platform's lock ops
 *                     mixed (see vtlmem_vtl0_init); npages 0; size 0
 *   -VTLMEM_EOVERFLOW VTLMEM_RING_HDR_SIZE + size wraps
 *   -VTLMEM_ERANGE    header + size do not fit in npages pages
 *   per page, in array order:
 *   -VTLMEM_EINVAL    page unaligned
 *   -VTLMEM_ERANGE    page beyond pa_bits, or the last page of the 64-bit
 *                     space
 *   -VTLMEM_EPERM     page 0 and page 0 not allowed
 *   then the remaining vtlmem_physptr_create() errors, in its order
 *   (-VTLMEM_E2BIG, then the reservation's: -VTLMEM_EPERM, -VTLMEM_EINVAL
 *   for a page given twice, -VTLMEM_EBUSY, -VTLMEM_ENOMEM, ..., then the
 *   window mapping's: -VTLMEM_ENOMEM, -VTLMEM_ENOSPC, ...);
 *   -VTLMEM_EFAULT    publishing the header faulted.
 * On error nothing stays reserved or mapped. The ring's lock (the
 * platform's lock_init, if any) starts only once nothing can fail any more,
 * so a failed init calls no lock op.
 */
int vtlmem_ring_init(struct vtlmem_ring *r, struct vtlmem_vtl0 *ctx,
		     const vtlmem_paddr_t *pages, size_t npages, uint64_t size);

/*
 * Append len bytes to the ring. Stream semantics: the ring afterwards holds
 * exactly what writing the bytes one by one would leave, so a write longer
 * than the ring stores only its last size bytes (at the offsets they would
 * have reached) and the first len - size are never stored; a write that
 * passes the end of the data area wraps to its start (the ring is mapped
 * once, so even a one-page ring never maps a page twice). Then publishes
 * head += len. Writers are serialized by the ring's lock (a spinlock:
 * callable from any context that may take it).
 *
 * *done (if done is not NULL; always set, 0 on argument errors) counts
 * bytes of buf from its start: buf[0, *done) are written, where the first
 * len - size bytes of a write longer than the ring count as written (they
 * are never stored, by design), and buf[*done, len) are not. Returns 0
 * (*done = len), or
 *   -VTLMEM_EINVAL    r NULL, not live or a copy; buf NULL with len > 0
 *   -VTLMEM_EFAULT    a fault writing the data (*done < len: the skipped
 *                     len - size, if any, plus the bytes stored before the
 *                     fault) or publishing head (*done = len): head is not
 *                     advanced, so nothing of the write is published (ring
 *                     data after the published head may have changed). To
 *                     resume, write the same len bytes again: the
 *                     published stream is exactly as before the call, so a
 *                     write of buf + *done would land at the wrong stream
 *                     position.
 * len == 0 returns 0 and writes nothing.
 */
int vtlmem_ring_write(struct vtlmem_ring *r, const void *buf, size_t len, size_t *done);

/* The head last published (total bytes written), or 0 for a bad ring. */
uint64_t vtlmem_ring_head(struct vtlmem_ring *r);

/*
 * Finish a ring: unmap and release (after the flush covering the mapping),
 * then end the ring's lock (the platform's lock_fini, if set). Returns 0,
 * or the errors of vtlmem_physptr_destroy() (-VTLMEM_EINVAL, -VTLMEM_EIO:
 * the ring stays live, its lock too; call again).
 */
int vtlmem_ring_fini(struct vtlmem_ring *r);

#endif /* VTLMEM_VTL0_H */
