/* SPDX-License-Identifier: MIT */
/*
 * The portable API of the boot test kernels: everything the generic code
 * (tests/boot/common/: the harness, the heap, the platform, the kernel's
 * vtlmem instance, the t_*.c tests, the bench and the demo) calls. Each
 * architecture implements it under tests/boot/<arch>/ (see
 * tests/boot/README.md for the list) and provides karch.h, included below,
 * with:
 *   - the layout constants (physical and virtual): KERNEL_VMA, DMAP_BASE,
 *     RAM_BASE (where RAM starts, physical), PROBE_BASE (a VA range with nothing mapped unless a test maps it with
 *     kmap_page()), VMAP_BASE/VMAP_SIZE (the library's window), VMAP2_BASE/
 *     VMAP2_SIZE (a second window tests create), HEAP_START, POOL_END,
 *     VTL0_START/VTL0_END, MAX_CPUS, EXIT_PASS/EXIT_FAIL/EXIT_OOPS;
 *   - static inline: cpu_relax(), irq_save(), irq_restore(flags),
 *     irqs_enabled(), cycles(), smp_cpu_id(), phys_to_virt(pa), cpu_stop(),
 *     tlb_page_local(va), idle_irq_off(), idle_irq_on(), idle_wait();
 *   - what a page-table entry is (kpt.c): PTE_ADDR, pt_present(e),
 *     pt_is_table(e), pt_new_table(pa), pt_root().
 * Nothing here names an instruction, a register or an entry bit.
 */
#ifndef BOOT_KERNEL_H
#define BOOT_KERNEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PAGE_SIZE     4096UL
#define noreturn      _Noreturn

/*
 * From karch.h (inline, any CPU, any context):
 *   void cpu_relax(void)                  spin-wait hint
 *   unsigned long irq_save(void)          interrupts off on this CPU, returns
 *   void irq_restore(unsigned long f)     ... the state irq_restore puts back
 *   bool irqs_enabled(void)               are interrupts on on this CPU?
 *   uint64_t cycles(void)                 a free-running counter, comparable
 *                                         across CPUs, cycles_khz per ms
 *   unsigned smp_cpu_id(void)             this CPU's number, 0 = boot CPU
 *   void *phys_to_virt(uint64_t pa)       the direct map's address of pa
 *   noreturn void cpu_stop(void)          interrupts off, halt for ever
 *   void tlb_page_local(uintptr_t va)     drop va's translation from this
 *                                         CPU's TLB only
 *   void idle_irq_off(void)               (smp_idle) interrupts off,
 *   void idle_irq_on(void)                ... on,
 *   void idle_wait(void)                  ... sleep until one is pending
 *                                         (none lost since idle_irq_off),
 *                                         then on again and take it
 * and KPT_LIB_GLOBAL: whether the library's leaf entries are global (kept
 * across an address-space switch) on this arch (x86_64: never; aarch64:
 * always, nG clear, so TLBI by VA reaches them whatever the ASID).
 */
#include "karch.h"

/* lib: what the compiler may emit calls to (the arch's lib.c; memcmp, strlen: string.c). */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* ---- console (kprint.c over the arch's console_putc) ---- */

/* %s %c %d %u %x %p, l/ll/z, width, 0, -. Each call's output goes out whole. */
void kputs(const char *s);
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For the library's dump callbacks: prints arg (a prefix or NULL), line, newline. */
void kputs_line(void *arg, const char *line);
/* arch: put one character on the console (polled, any CPU, interrupts off). */
void console_putc(char c);

/* arch: leave QEMU with EXIT_PASS, EXIT_FAIL or EXIT_OOPS (from any CPU). */
noreturn void kexit(unsigned code);
/* Print "PANIC: ..." and leave with EXIT_OOPS. */
noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The kernel command line ("" if none; the arch fills boot_cmdline). */
extern char boot_cmdline[256];
/* The value of "key=" on the command line, copied into buf ("" if absent). */
void cmdline_get(const char *key, char *buf, size_t size);
/* "key=N" as a decimal number (its leading digits), or dflt if absent. */
uint64_t cmdline_uint(const char *key, uint64_t dflt);

/* ---- time ---- */

/* cycles() ticks per millisecond (set once at boot, before kernel_main). */
extern uint64_t cycles_khz;

static inline uint64_t us_to_cycles(uint64_t us)
{
	return us * cycles_khz / 1000;
}

/* ---- faults fixed up by the library ---- */

/*
 * The data-access faults (x86_64: #PF) the kernel's handler resolved
 * through vtlmem_fixup(), counted per CPU; fault_rec is the running CPU's
 * record. Any other fault is an oops (EXIT_OOPS).
 */
struct fault_record {
	uint64_t count;         /* faults resolved through vtlmem_fixup() */
	uint64_t addr;          /* the last one's data address            */
	unsigned kind;          /* its FAULT_* bits                       */
	uint64_t error;         /* the arch's raw syndrome (for messages) */
	uint64_t ip;            /* where it happened, and the fixup taken */
	uint64_t fixup;
};
#define FAULT_PRESENT 1u        /* a permission fault on a mapped page (else: no translation) */
#define FAULT_WRITE   2u        /* the access was a write */
volatile struct fault_record *cpu_fault_rec(void);
#define fault_rec (*cpu_fault_rec())
/* Named in an oops report (the running test case), or NULL. */
extern const char *oops_context;

/* ---- memory ---- */

uint64_t virt_to_phys(const void *va);
extern uint64_t ram_top;
extern uint64_t pool_start;     /* first page of the page pool */
/* Kernel page pool (VTL1): zeroed pages, or 0 when empty. Any CPU. */
uint64_t page_alloc(void);
void page_free(uint64_t pa);
uint64_t pages_free_count(void);
/* pool.c: for the arch's mm_init, once ram_top is set: fill the pool. */
void pool_init(void);

/* heap.c: kernel bookkeeping allocator (size classes, VTL1 memory). */
void heap_init(void);
void *kmalloc(size_t size);
void kfree(void *p, size_t size);

/* ---- the kernel's page tables, as the MMU sees them ---- */

/* What kmap_page() maps: never executable, write-back. */
enum kmap_prot {
	KMAP_NONE,              /* unmap */
	KMAP_RO,
	KMAP_RW,
};
/*
 * Map (or unmap) one 4 KiB page at va (the probe area) in the kernel's own
 * tables and invalidate va in this CPU's TLB only (other CPUs may keep a
 * stale translation: the shootdown tests rely on it).
 */
void kmap_page(uintptr_t va, uint64_t pa, enum kmap_prot prot);
/* Set entry idx of the kernel's root table (every CPU uses that root). */
void kernel_set_top(unsigned idx, uint64_t value);
/* The physical address of the kernel's root table. */
uint64_t kernel_root(void);
/* Drop this CPU's cached translations of the library's (non-global) entries. */
void tlb_flush_local(void);
/*
 * kpt.c, for the arch's mm.c: the kernel's entry for va at level (3 = root
 * ... 0 = 4 KiB leaf), creating the tables above from the pool (panics on
 * a large page in the way or an empty pool).
 */
uint64_t *kpt_slot(uintptr_t va, int level);

/* Memory types a leaf entry can select (the arch decodes its attributes). */
enum kmemtype {
	KMEM_UC,                /* uncached (x86_64: UC; aarch64: Device)        */
	KMEM_WC,                /* write-combining (aarch64: Normal non-cacheable) */
	KMEM_WT,
	KMEM_WP,
	KMEM_WB,                /* write-back                                     */
	KMEM_UC_MINUS,          /* x86_64's UC- (PAT overridable by MTRRs)        */
	KMEM_OTHER,
};

/* One walk of the tables this CPU uses now (what the MMU sees). */
struct kpt_info {
	int level;              /* the leaf's level: 0 = a 4 KiB page, 1.. = a
				 * larger block; -1 = not mapped */
	uint64_t entry;         /* the leaf entry as read (for messages) */
	uint64_t pa;            /* what va translates to */
	/* what the leaf entry itself says (the tests check the library's leaves): */
	bool writable;          /* by the kernel */
	bool executable;        /* by the kernel */
	bool user;              /* accessible from user mode */
	bool global;            /* survives an address-space switch */
	enum kmemtype memtype;  /* 4 KiB leaves only (else KMEM_OTHER) */
};
void kpt_lookup(uintptr_t va, struct kpt_info *w);

/*
 * arch (pt.c): a raw walk of the tables this CPU uses, levels as in the
 * library (3 = root ... 0 = 4 KiB leaves); kpt.c's kpt_lookup is pt_walk
 * then pt_leaf_info, which fills what the leaf entry itself says (writable,
 * executable, user, global, memory type).
 */
struct pt_walk {
	uint64_t entry[4];      /* the entries read, root first (0 past the end) */
	uint64_t table[4];      /* physical address of each table visited */
	int level;              /* level of the leaf found: 0 = 4 KiB page, 1 = 2 MiB,
				 * 2 = 1 GiB; -1 = not present/valid */
	uint64_t leaf;          /* the leaf entry (0 when not present) */
	uint64_t pa;            /* translated physical address */
};
void pt_walk(uintptr_t va, struct pt_walk *w);
void pt_leaf_info(uint64_t leaf, int level, struct kpt_info *k);

/*
 * Remove the 4 KiB leaf entry mapping va from the live tables (as a
 * hypervisor revoking access would), invalidating it on this CPU only;
 * returns the entry removed, which kpt_restore puts back. Panics if va is
 * not mapped by a 4 KiB leaf.
 */
uint64_t kpt_revoke(uintptr_t va);
void kpt_restore(uintptr_t va, uint64_t entry);

/* A copy of every table page under a VA range (the library's subtree). */
#define SNAP_MAX_PAGES 64
struct pt_snapshot {
	unsigned npages;
	uint64_t pa[SNAP_MAX_PAGES];
	uint8_t (*data)[4096];  /* SNAP_MAX_PAGES pages, owned by the caller */
	bool overflow;
};
void pt_snapshot(struct pt_snapshot *s, uintptr_t va, uint64_t size);
bool pt_snapshot_equal(const struct pt_snapshot *a, const struct pt_snapshot *b);

/* ---- CPUs ---- */

extern unsigned smp_ncpus;      /* CPUs online (fixed before kernel_main) */

/*
 * The portable part of a CPU's data (the arch's per-CPU data embeds it;
 * kcpu(cpu) finds it). Counters are read by anyone (relaxed loads) and
 * summed over the CPUs by SMP_SUM.
 */
struct kcpu {
	unsigned preempt_depth;                 /* platform preempt_off nesting */
	volatile struct fault_record fault;     /* faults fixed up on this CPU  */
	uint64_t ipis_received __attribute__((aligned(64)));  /* shootdown IPIs taken */
	uint64_t acks;                  /* requests serviced and acknowledged  */
	uint64_t shootdowns_sent;       /* shootdown op calls on this CPU      */
	uint64_t ipis_sent;             /* shootdown IPIs sent                 */
	uint64_t sd_timeouts;           /* shootdowns that returned -EIO       */
	uint64_t sd_rounds, sd_cycles;  /* rounds with IPIs, cycles() in them  */
	uint64_t wakes;                 /* wake-up interrupts (posted work)    */
};
struct kcpu *kcpu(unsigned cpu);
/* Sum of a per-CPU counter over the CPUs online (a field of struct kcpu). */
uint64_t smp_sum(size_t offset);
#define SMP_SUM(field) smp_sum(offsetof(struct kcpu, field))

/*
 * Work on other CPUs. smp_start posts fn(cpu, arg) to an idle CPU (not
 * this one) and wakes it; smp_wait waits (bounded: panics after 120 s, the
 * CPU hung) until it returned; smp_run runs fn on every online CPU (this
 * one too) and waits for all. Every wait services this CPU's shootdown
 * requests.
 */
typedef void (*smp_fn)(unsigned cpu, void *arg);
void smp_start(unsigned cpu, smp_fn fn, void *arg);
void smp_wait(unsigned cpu);
void smp_run(smp_fn fn, void *arg);
/* Spin until *flag == want (acquire), servicing shootdowns; bounded (panics). */
void smp_wait_flag(const unsigned *flag, unsigned want, const char *what);
/* Service this CPU's pending shootdown requests (any context). */
void smp_poll(void);

/* A barrier for n CPUs (reusable); bounded wait, services shootdowns. */
struct smp_barrier {
	unsigned n;
	unsigned count;
	unsigned gen;
};
void smp_barrier_wait(struct smp_barrier *b);

/*
 * The kernel's shootdown round (the platform's tlb_shootdown op):
 * invalidate [va, va + len) on every other online CPU and wait for each
 * one's acknowledgement; callable with interrupts off. Returns 0, or
 * -VTLMEM_EIO when some CPU did not acknowledge within smp_sw.sd_timeout_us.
 */
int smp_shootdown(uintptr_t va, uint64_t len);
/* Invalidate the whole TLB of every online CPU now (tests' clean-up). */
void smp_flush_all_cpus(void);

/*
 * For the arch's SMP code (common/smp.c): the IPIs the portable half sends
 * through arch_send_ipi; the arch's interrupt handler passes each one it
 * takes to smp_handle_ipi (which services shootdown requests and counts);
 * a CPU brought up ends in smp_idle (runs posted work, sleeps otherwise).
 */
enum smp_ipi {
	SMP_IPI_SHOOTDOWN,      /* TLB shootdown request   */
	SMP_IPI_WAKE,           /* work posted to idle CPU */
};
/* arch: send ipi to online CPU cpu (not this one); any context. */
void arch_send_ipi(unsigned cpu, enum smp_ipi ipi);
void smp_handle_ipi(enum smp_ipi ipi);
noreturn void smp_idle(unsigned cpu);

/* Test switches (set from CPU 0; the harness checks they are off after each case). */
struct smp_test_switches {
	bool skip_ipis;         /* shootdown returns 0 without sending anything */
	bool no_poll;           /* a waiting sender does not service its own mailbox */
	uint64_t sd_timeout_us; /* how long a sender waits for acknowledgements */
};
extern struct smp_test_switches smp_sw;
#define SD_TIMEOUT_US_DEFAULT 2000000   /* 2 s: see tests/boot/x86_64/README.md */
/*
 * Turn smp_sw.skip_ipis on or off (tests set it only through this): with it
 * on, no invalidation the kernel or the library does reaches another CPU.
 * x86_64: the shootdown op sends no IPI. aarch64: also the library's own
 * broadcast TLBI is replaced by a this-CPU-only one (the platform's
 * tlb_local op is installed while the switch is on).
 */
void smp_set_skip_ipis(bool on);
/* Make cpu ignore (deaf) or answer shootdown IPIs again; is it deaf? */
void smp_set_deaf(unsigned cpu, bool deaf);
bool smp_is_deaf(unsigned cpu);

/* A spinlock for the kernel's own data (heap, page pool, console, tests). */
struct spinlock {
	uint32_t locked;
};

static inline unsigned long spin_lock_irqsave(struct spinlock *l)
{
	unsigned long flags = irq_save();

	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		cpu_relax();
	return flags;
}

static inline void spin_unlock_irqrestore(struct spinlock *l, unsigned long flags)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	irq_restore(flags);
}

/* ---- arch hooks of the generic code ---- */

/* The physical-address width the library may map (x86_64: CPUID 0x80000008). */
unsigned arch_pa_bits(void);
/*
 * testmain's crash=<how> for the harness self-test: the arch's own ways to
 * die (x86_64: "triple", a triple fault). Returns only if how is not one.
 */
void arch_crash(const char *how);

/* Entry of the kernel flavour (testmain.c or demo.c). */
noreturn void kernel_main(void);

#endif
