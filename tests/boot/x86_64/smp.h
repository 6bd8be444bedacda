/* SPDX-License-Identifier: MIT */
/*
 * SMP: per-CPU data (reached through GS), the local APIC, bringing up the
 * application processors, running work on them, and the TLB shootdown IPI
 * protocol behind the platform's tlb_shootdown op. See README.md ("SMP").
 */
#ifndef BOOT_SMP_H
#define BOOT_SMP_H

#include <stddef.h>

#include "kernel.h"

/* A 64-bit IDT gate and the TSS (trap.c fills them, one set per CPU). */
struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

struct tss {
	uint32_t rsvd0;
	uint64_t rsp[3];
	uint64_t rsvd1;
	uint64_t ist[7];
	uint64_t rsvd2;
	uint16_t rsvd3;
	uint16_t iomap;
} __attribute__((packed));

typedef void (*smp_fn)(unsigned cpu, void *arg);

/*
 * One CPU. GS base points at its struct cpu (MSR 0xC0000101): %gs:0 is
 * self, %gs:8 the CPU number. Fields are written by their own CPU unless a
 * comment says otherwise; cross-CPU fields are accessed with __atomic.
 */
struct cpu {
	struct cpu *self;               /* %gs:0                               */
	unsigned id;                    /* %gs:8: 0 = the BSP, 1.. = APs       */
	unsigned apic_id;
	unsigned online;                /* set (release) when ready for IPIs   */
	unsigned preempt_depth;         /* platform preempt_off nesting        */
	volatile struct fault_record fault;     /* #PFs fixed up on this CPU   */

	/* shootdown: this CPU as a sender (the request; a seqlock, odd = being written) */
	uint64_t sd_seq __attribute__((aligned(64)));
	uintptr_t sd_va;
	uint64_t sd_len;
	/* shootdown: this CPU as a target (written by senders / by this CPU) */
	uint32_t sd_pending __attribute__((aligned(64)));  /* bit s: CPU s has a request */
	uint32_t deaf;                  /* test switch: ignore shootdown IPIs  */
	uint64_t sd_ack[MAX_CPUS] __attribute__((aligned(64))); /* gen of s acked */

	/* counters (read by anyone, relaxed) */
	uint64_t ipis_received __attribute__((aligned(64)));  /* shootdown IPIs taken */
	uint64_t acks;                  /* requests serviced and acknowledged  */
	uint64_t shootdowns_sent;       /* shootdown op calls on this CPU       */
	uint64_t ipis_sent;             /* shootdown IPIs sent                  */
	uint64_t sd_timeouts;           /* shootdowns that returned -EIO        */
	uint64_t sd_rounds, sd_cycles;  /* rounds with IPIs, TSC cycles in them */
	uint64_t wakes;                 /* VEC_WAKE interrupts                  */

	/* work posted by another CPU (smp_start) */
	smp_fn work_fn __attribute__((aligned(64)));
	void *work_arg;
	uint64_t work_posted, work_done;

	uint64_t gdt[5] __attribute__((aligned(16)));  /* null, code, data, TSS */
	struct tss tss __attribute__((aligned(16)));
	struct idt_entry idt[256] __attribute__((aligned(16)));
} __attribute__((aligned(4096)));

extern struct cpu cpus[MAX_CPUS];
extern unsigned smp_ncpus;              /* CPUs online (fixed after smp_init) */
extern uint64_t tsc_khz;

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;

	__asm__ volatile("movq %%gs:0, %0" : "=r"(c));
	return c;
}

static inline unsigned smp_cpu_id(void)
{
	unsigned id;

	__asm__ volatile("movl %%gs:8, %0" : "=r"(id));
	return id;
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static inline void cpu_relax(void)
{
	__asm__ volatile("pause" : : : "memory");
}

static inline uint64_t us_to_tsc(uint64_t us)
{
	return us * tsc_khz / 1000;
}

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

/* smp.c */
/* Is va one of the unmapped guard pages below a CPU's stacks? (mm.c) */
bool smp_is_guard_page(uintptr_t va);
/* Per-CPU stack tops (the BSP runs on head.S's boot stack). */
uintptr_t smp_stack_top(unsigned cpu);
uintptr_t smp_ist_top(unsigned cpu);
uintptr_t smp_guard_page(unsigned cpu);
/* CPU 0's per-CPU data and GS base; before anything uses this_cpu(). */
void smp_early_init(void);
/* TSC, local APIC, PICs masked, bring up every AP (MADT), interrupts on. */
void smp_init(void);
/* Interrupt vectors >= 32 (trap.c). */
void smp_irq(unsigned vector);

/*
 * Work on other CPUs. smp_start posts fn(cpu, arg) to an idle AP and wakes
 * it; smp_wait waits (bounded: panics after 120 s, the CPU hung) until it
 * returned; smp_run runs fn on every online CPU (this one too) and waits
 * for all. All waits service this CPU's shootdown requests.
 */
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
 * The shootdown IPI round: invalidate [va, va + len) on every other online
 * CPU (invlpg per page, a CR3 reload above SD_FLUSH_PAGES pages) and wait
 * for each one's acknowledgement; callable with interrupts disabled.
 * Returns 0, or -VTLMEM_EIO when some CPU did not acknowledge within
 * smp_sd_timeout_us.
 */
#define SD_FLUSH_PAGES 32
int smp_shootdown(uintptr_t va, uint64_t len);
/* Invalidate the whole TLB of every online CPU now (tests' clean-up). */
void smp_flush_all_cpus(void);

/* Test switches and tunables (see README.md). */
struct smp_test_switches {
	bool skip_ipis;         /* shootdown returns 0 without sending anything */
	bool no_poll;           /* a waiting sender does not service its own mailbox */
	uint64_t sd_timeout_us; /* how long a sender waits for acknowledgements */
};
extern struct smp_test_switches smp_sw;
#define SD_TIMEOUT_US_DEFAULT 2000000   /* 2 s: see README.md */
/* Make cpu ignore (deaf) or answer shootdown IPIs again. */
void smp_set_deaf(unsigned cpu, bool deaf);

/* Sum of a per-CPU counter (offset of a uint64_t in struct cpu). */
uint64_t smp_sum(size_t offset);
#define SMP_SUM(field) smp_sum(offsetof(struct cpu, field))

#endif
