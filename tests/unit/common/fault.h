/* SPDX-License-Identifier: MIT */
/*
 * fault.h - host fault harness for the unit tests: real page faults, fixed
 * up through the library's exception table, and guarded buffers to provoke
 * them at an exact byte.
 *
 * Fault handling. fault_install() installs one SIGSEGV and one SIGBUS
 * handler for the process (SA_SIGINFO, SA_ONSTACK). For a fault raised by
 * the kernel (not a kill()), the handler:
 *   1. calls the resolver hook, if set, with the faulting data address and
 *      whether the access was a write (x86_64: page-fault error code bit 1;
 *      aarch64: ESR WnR, or the faulting instruction decoded when the frame
 *      has no ESR, as under qemu-user); if it
 *      returns nonzero it has made the access possible (e.g. mmapped the
 *      simulated page: a software TLB fill) and the access is retried;
 *   2. otherwise looks up vtlmem_fixup(pc): if the faulting instruction is
 *      in one of the library's fallible routines, pc is set to the fixup,
 *      the fixup counter is incremented, and execution resumes there (the
 *      routine returns its error), exactly as the kernel's #PF handler does;
 *   3. otherwise it is a real crash: the handler puts back the action that
 *      was installed before (the default one, or a sanitizer's, which then
 *      reports it) and returns, so the access faults again and dies there.
 *
 * Sanitizers: ASan installs its own SIGSEGV/SIGBUS handlers at startup and,
 * by default (allow_user_segv_handler=1), lets the program replace them;
 * fault_install() replaces them and chains to them in step 3, so ASan still
 * reports real crashes. Nothing needs to be set in ASAN_OPTIONS.
 *
 * cmocka: the test runner installs its own SIGSEGV/SIGBUS handlers around
 * every test function (and every setup/teardown), and puts the previous
 * ones back afterwards with signal(). So call fault_install() at the start
 * of each test function that may fault (not in a setup function: that
 * installation would not survive into the test). A real crash inside a
 * test then goes to cmocka's handler, which fails that test.
 *
 * Threads: the handlers are process-wide; install them from the main thread
 * before starting others. The alternate signal stack is per thread:
 * fault_install() gives the calling thread one if it has none (a thread
 * without one handles the signal on its own stack, which is also fine).
 */
#ifndef TESTS_FAULT_H
#define TESTS_FAULT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Make the harness's handlers the current SIGSEGV/SIGBUS actions, keeping
 * whatever was installed before (default, sanitizer, cmocka) as the action
 * for real crashes; give the calling thread an alternate signal stack if it
 * has none. Idempotent: calling it again when the handlers are in place
 * changes nothing. Aborts if sigaction/sigaltstack/mmap fail.
 */
void fault_install(void);

/*
 * Set (or clear, with NULL) the resolver hook. fn(addr, is_write) returns
 * nonzero if it made addr accessible for that access (the faulting
 * instruction is then retried), 0 to let the fixup/crash logic proceed. It
 * runs in signal context: async-signal-safe calls only (mmap, mprotect).
 */
void fault_set_resolver(int (*fn)(void *addr, int is_write));

/* Number of fixups taken (pc moved to a fixup) since the process started. */
unsigned long fault_fixups(void);

/*
 * The pc of the faulting instruction of fixup number i (the i-th fixup the
 * process took, counting from 1 as fault_fixups() does), if it is one of
 * the last 8; 0 otherwise. Tells which instruction of a routine faulted
 * first: e.g. a copy's rep movsb or its register loop, at
 * fault_fixup_pc(fixups before the copy + 1). Single-threaded use.
 */
uintptr_t fault_fixup_pc(unsigned long i);

/*
 * Guarded buffers.
 *
 * guard_alloc(len, flags) maps a fresh read-write, zero-filled region of len
 * bytes (len may be 0) with guard pages next to it, and returns its start p:
 *   GUARD_AFTER   p + len is the first byte of a guard page (the region is
 *                 placed at the END of its pages, so p is page-aligned only
 *                 when len is a multiple of the page size);
 *   GUARD_BEFORE  p is page-aligned and p - 1 is the last byte of a guard
 *                 page;
 *   both          both, which needs len to be a multiple of the page size;
 *   GUARD_RO      guard pages are read-only instead of inaccessible: reads
 *                 succeed (every guard byte is GUARD_FILL), writes fault.
 * Each guard is GUARD_PAGES pages long (more than 3 pages, so a 3-page
 * access that runs into one never reaches past it). Without GUARD_BEFORE /
 * GUARD_AFTER there is no guard on that side: the neighbouring address
 * space is whatever the kernel put there. Aborts on bad flags or if mmap fails (a test bug, not
 * a test result).
 *
 * guard_free(p) unmaps a region returned by guard_alloc (NULL is ignored;
 * any other pointer aborts). Thread-safe; at most GUARD_MAX_LIVE live.
 */
#define GUARD_BEFORE	0x1u
#define GUARD_AFTER	0x2u
#define GUARD_RO	0x4u

#define GUARD_PAGES	4
#define GUARD_FILL	0xa5
#define GUARD_MAX_LIVE	64

void *guard_alloc(size_t len, unsigned flags);
void guard_free(void *p);

/* The host page size (sysconf), as used for the layouts above. */
size_t guard_page_size(void);

#endif /* TESTS_FAULT_H */
