/* SPDX-License-Identifier: MIT */
/*
 * Test kernel internals: console, CPU helpers, memory management, the
 * platform for vtlmem, the page-table walker and the test harness.
 */
#ifndef BOOT_KERNEL_H
#define BOOT_KERNEL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "layout.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PAGE_SIZE     4096UL
#define noreturn      _Noreturn

/* lib.c: what the compiler may emit calls to. */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* console.c: COM1 output and formatting (%s %c %d %u %x %p, l/ll, width, 0, -). */
void console_init(void);
void kputs(const char *s);
int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* For the library's dump callbacks: prints line and a newline. */
void kputs_line(void *arg, const char *line);

/* Leave QEMU through isa-debug-exit (EXIT_PASS, EXIT_FAIL, EXIT_OOPS). */
noreturn void kexit(unsigned code);
noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cpu.h-like helpers. */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

static inline uint64_t read_cr0(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_cr2(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_cr3(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void write_cr3(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline uint64_t read_cr4(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline void write_cr4(uint64_t v)
{
	__asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory");
}

static inline void invlpg(uintptr_t va)
{
	__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static inline unsigned long irq_save(void)
{
	unsigned long flags;

	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) : : "memory");
	return flags;
}

static inline void irq_restore(unsigned long flags)
{
	__asm__ volatile("pushq %0; popfq" : : "r"(flags) : "memory", "cc");
}

#define MSR_EFER 0xc0000080
#define MSR_PAT  0x277
#define EFER_NXE (1UL << 11)
#define CR0_WP   (1UL << 16)
#define CR4_PGE  (1UL << 7)

/* PTE bits (4-level paging). */
#define PTE_P    (1UL << 0)
#define PTE_W    (1UL << 1)
#define PTE_U    (1UL << 2)
#define PTE_PWT  (1UL << 3)
#define PTE_PCD  (1UL << 4)
#define PTE_A    (1UL << 5)
#define PTE_D    (1UL << 6)
#define PTE_PS   (1UL << 7)     /* large page (PDE/PDPTE)       */
#define PTE_PAT  (1UL << 7)     /* PAT bit of a 4 KiB PTE       */
#define PTE_G    (1UL << 8)
#define PTE_NX   (1UL << 63)
#define PTE_ADDR 0x000ffffffffff000UL

/*
 * trap.c: GDT, IDT, TSS, the fault handler and its record of fixed-up
 * faults: one record per CPU (smp.c), fault_rec is the running CPU's.
 */
struct fault_record {
	uint64_t count;         /* #PFs resolved through vtlmem_fixup() */
	uint64_t cr2;           /* the last one's address, error, rip    */
	uint64_t error;
	uint64_t rip;
	uint64_t fixup;
};
volatile struct fault_record *cpu_fault_rec(void);
#define fault_rec (*cpu_fault_rec())
/* Named in an oops report (the running test case), or NULL. */
extern const char *oops_context;
/* Per-CPU data (GS) of the boot CPU, its GDT, TSS and IDT. */
void trap_init(void);

/* mm.c: physical memory, direct map, the kernel's own page tables. */
static inline void *phys_to_virt(uint64_t pa)
{
	return (void *)(DMAP_BASE + pa);
}

uint64_t virt_to_phys(const void *va);
extern uint64_t ram_top;
extern uint64_t pool_start;     /* first page of the page pool */
void mm_init(uint64_t ram_bytes);
/* Kernel page pool (VTL1): zeroed pages, or 0 when empty. */
uint64_t page_alloc(void);
void page_free(uint64_t pa);
uint64_t pages_free_count(void);
/* Map one 4 KiB page in the kernel's own tables (probe area); pte_flags 0 unmaps. */
void kmap_page(uintptr_t va, uint64_t pa, uint64_t pte_flags);
/* Set the kernel's top-level entry idx (for the vmap window). */
void kernel_set_top(unsigned idx, uint64_t value);
uint64_t kernel_root(void);

/* heap.c: kernel bookkeeping allocator (size classes, VTL1 memory). */
void heap_init(void);
void *kmalloc(size_t size);
void kfree(void *p, size_t size);

/* pt.c: walk the tables the CPU uses (from CR3). */
struct pt_walk {
	uint64_t entry[4];      /* PML4E, PDPTE, PDE, PTE as read (0 past the end) */
	uint64_t table[4];      /* physical address of each table visited */
	int level;              /* level of the leaf found: 0 = 4 KiB PTE, 1 = 2 MiB,
				 * 2 = 1 GiB; -1 = not present */
	uint64_t leaf;          /* the leaf entry (0 when not present) */
	uint64_t pa;            /* translated physical address */
};
void pt_walk(uintptr_t va, struct pt_walk *w);
/* Memory type (0 UC, 1 WC, 4 WT, 5 WP, 6 WB, 7 UC-) a 4 KiB leaf selects via PAT. */
unsigned pt_memtype(uint64_t pte);

/* A copy of every table page under a range of top-level slots. */
#define SNAP_MAX_PAGES 64
struct pt_snapshot {
	unsigned npages;
	uint64_t pa[SNAP_MAX_PAGES];
	uint8_t (*data)[4096];  /* SNAP_MAX_PAGES pages, owned by the caller */
	bool overflow;
};
void pt_snapshot(struct pt_snapshot *s, uintptr_t va, uint64_t size);
bool pt_snapshot_equal(const struct pt_snapshot *a, const struct pt_snapshot *b);

/* boot.c: the multiboot command line (-append), "" if none. */
extern char boot_cmdline[256];
/* The value of "key=" on the command line, copied into buf ("" if absent). */
void cmdline_get(const char *key, char *buf, size_t size);

/* Entry of the kernel flavour (testmain.c or demo.c). */
noreturn void kernel_main(void);

#endif
