/* SPDX-License-Identifier: MIT */
/*
 * vtlmem/copy.h - fallible copy, fill and single-copy-atomic accessors, and
 * the fault-fixup lookup the kernel's page-fault handler calls.
 *
 * Every routine here may touch memory that faults (a VTL0 mapping that was
 * revoked, a guard page, a read-only mapping written). A fault inside one of
 * them does not crash: the #PF handler calls vtlmem_fixup(ip), which returns
 * the address to resume at, and the routine returns an error. They are the
 * only code that dereferences a VTL0 mapping (docs/design.md, safety contract
 * rules 2 and 3).
 *
 * Context: any; no locks, no allocation. Pointers are plain kernel virtual
 * addresses; at most one of dst/src is expected to fault, but either may.
 */
#ifndef VTLMEM_COPY_H
#define VTLMEM_COPY_H

#include <vtlmem/types.h>

/*
 * Copy n bytes from src to dst (non-overlapping). Returns the number of bytes
 * NOT copied: 0 on success; after a fault at byte k (of either side) returns
 * n - k, bytes [0, k) of dst hold the copy and bytes [k, n) are untouched.
 */
size_t vtlmem_copy(void *dst, const void *src, size_t n);

/*
 * The copy's aliasing rule (a speed tuning: it never changes what
 * vtlmem_copy() copies, returns or leaves untouched). On x86_64, a copy of
 * more than 512 bytes uses rep movsb, whose fast-string microcode runs
 * 30-60x slower when the destination is 1..63 bytes ahead of the source
 * modulo a period that depends on the CPU; such copies take a general-
 * register loop instead (slower than rep movsb at full speed, much faster
 * than its trap). The rule names the period.
 */
enum vtlmem_copy_alias {
	VTLMEM_COPY_ALIAS_AUTO = 0, /* decide from the CPU on first need     */
	VTLMEM_COPY_ALIAS_4K = 1,   /* (dst - src) mod 4 KiB in [1, 63]: AMD */
	VTLMEM_COPY_ALIAS_4G = 2,   /* (dst - src) mod 4 GiB in [1, 63]: Intel FSRM */
};

/*
 * Set the aliasing rule. VTLMEM_COPY_ALIAS_AUTO (the initial rule) is
 * decided once, by the first copy that needs it (a copy of more than 512
 * bytes whose distance is in [1, 63] modulo 4 KiB) or by
 * vtlmem_copy_get_alias(): an Intel CPU with fast short rep movsb (CPUID
 * vendor "GenuineIntel" and CPUID.(7,0):EDX[4] FSRM) selects
 * VTLMEM_COPY_ALIAS_4G, any other CPU VTLMEM_COPY_ALIAS_4K (measured on AMD
 * Zen 3, and it avoids rep movsb's trap on every CPU measured). A kernel
 * that must not execute CPUID at copy time (it exits to the hypervisor, or
 * raises #VE/#VC in a confidential guest), or knows its CPU better, sets
 * 4K or 4G at boot; then CPUID never runs (with AUTO, it runs on each CPU
 * that takes part in deciding: usually one, more if they race). arm64: the copy has no string
 * instruction, so the rule is recorded and returned but has no effect, and
 * AUTO decides VTLMEM_COPY_ALIAS_4K without reading the CPU.
 * Returns 0, or -VTLMEM_EINVAL if rule is not one of the three (the rule in
 * force does not change). Context: any; no locks. Copies ordered after the
 * call (on the same CPU, or after the caller's own synchronization) use the
 * new rule; a copy running concurrently uses either (both copy correctly).
 * A rule set here is never overwritten by a concurrent AUTO decision.
 */
int vtlmem_copy_set_alias(enum vtlmem_copy_alias rule);

/*
 * The aliasing rule in force: VTLMEM_COPY_ALIAS_4K or VTLMEM_COPY_ALIAS_4G,
 * never AUTO (an AUTO rule is decided by this call, as described at
 * vtlmem_copy_set_alias()). Context: any; no locks.
 */
enum vtlmem_copy_alias vtlmem_copy_get_alias(void);

/*
 * Set n bytes at dst to (uint8_t)c. Returns the bytes NOT written, with the
 * same exactness as vtlmem_copy().
 */
size_t vtlmem_fill(void *dst, int c, size_t n);

/*
 * Single-copy-atomic loads and stores: one instruction each, so a value VTL0
 * changes concurrently is read or written whole, when the field is
 * naturally aligned (on WB memory). An unaligned field may tear: x86_64
 * guarantees atomicity for it only inside one aligned quadword (AMD; Intel:
 * inside one cache line), never across a cache line.
 * Unaligned is still allowed, and still one instruction. Return 0, or
 * -VTLMEM_EFAULT if the access faulted; a faulting load leaves *out
 * untouched, a faulting store of a naturally aligned field writes nothing
 * (it lies in one page). An unaligned store that crosses into a page that
 * faults may, on arm64, have written its bytes in the page before (Arm
 * cores split such a store in two); on x86_64 it writes nothing.
 * Context: any.
 */
int vtlmem_load8(const void *src, uint8_t *out);
int vtlmem_load16(const void *src, uint16_t *out);
int vtlmem_load32(const void *src, uint32_t *out);
int vtlmem_load64(const void *src, uint64_t *out);
int vtlmem_store8(void *dst, uint8_t v);
int vtlmem_store16(void *dst, uint16_t v);
int vtlmem_store32(void *dst, uint32_t v);
int vtlmem_store64(void *dst, uint64_t v);

/*
 * The exception-table lookup. ip is the faulting instruction pointer; returns
 * the address to resume at, or 0 if ip is not inside a fallible routine (a
 * real kernel bug: the handler goes on to its usual oops path). Needs no
 * context but ip and the read-only table, so it is safe as the very first
 * thing a #PF handler does. O(log n) binary search.
 */
uintptr_t vtlmem_fixup(uintptr_t ip);

/*
 * Verify the exception table: every entry has start < end, entries are
 * sorted by start and do not overlap, every fixup lies outside its own
 * range, and the library's own entries are present (an empty table means
 * the kernel's linker script dropped the section: see
 * linker/vtlmem-extable.ld). Returns 0 or -VTLMEM_EINVAL. Call once at boot,
 * before the first fault can happen; the lookup is only correct on a
 * verified table. Context: any; read-only.
 */
int vtlmem_extable_check(void);

#endif /* VTLMEM_COPY_H */
