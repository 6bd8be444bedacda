// SPDX-License-Identifier: MIT
/*
 * IDT for the 32 exceptions, a TSS whose IST1 stack catches double faults
 * (a kernel stack overflow is reported, not a silent triple fault), and the
 * dispatcher. The page-fault path is what an embedding kernel copies: the
 * very first thing it does is ask the library whether the faulting
 * instruction is one of its fallible accesses (vtlmem_fixup), and if so it
 * resumes there; everything else is a kernel bug: print and fail the run.
 */
#include <vtlmem/copy.h>

#include "kernel.h"

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

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

extern const uint64_t trap_vectors[32];
extern uint64_t gdt[5];

static struct idt_entry idt[32] __attribute__((aligned(16)));
static struct tss tss __attribute__((aligned(16)));
static uint8_t df_stack[IST_STACK_SIZE] __attribute__((aligned(16)));

volatile struct fault_record fault_rec;
const char *oops_context;

static const char *const vec_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization",
	"#CP control protection", "reserved", "reserved", "reserved", "reserved",
	"reserved", "reserved", "#HV hypervisor injection", "#VC VMM communication",
	"#SX security", "reserved",
};

static void set_gate(unsigned vec, uint64_t handler, unsigned ist)
{
	struct idt_entry *e = &idt[vec];

	e->off_lo = (uint16_t)handler;
	e->sel = KERNEL_CS;
	e->ist = (uint8_t)ist;
	e->type = 0x8e;         /* present, DPL 0, 64-bit interrupt gate */
	e->off_mid = (uint16_t)(handler >> 16);
	e->off_hi = (uint32_t)(handler >> 32);
	e->zero = 0;
}

static void tss_install(void)
{
	uint64_t base = (uint64_t)&tss;
	uint64_t limit = sizeof(tss) - 1;

	tss.ist[0] = (uint64_t)(df_stack + sizeof(df_stack));
	tss.iomap = sizeof(tss);
	gdt[KERNEL_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
			      (0x89UL << 40) | (((limit >> 16) & 0xf) << 48) |
			      (((base >> 24) & 0xff) << 56);
	gdt[KERNEL_TSS / 8 + 1] = base >> 32;
	__asm__ volatile("ltr %w0" : : "r"(KERNEL_TSS));
}

void trap_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uint64_t)idt };
	unsigned v;

	tss_install();
	for (v = 0; v < 32; v++)
		set_gate(v, trap_vectors[v], v == 8 ? 1 : 0);
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

static void dump_frame(const struct trap_frame *f, uint64_t cr2)
{
	kprintf("  error 0x%lx  rip %016lx  cs %lx  rflags %lx\n", f->error, f->rip, f->cs,
		f->rflags);
	kprintf("  cr2 %016lx  cr3 %016lx  rsp %016lx  ss %lx\n", cr2, read_cr3(), f->rsp,
		f->ss);
	kprintf("  rax %016lx  rbx %016lx  rcx %016lx  rdx %016lx\n", f->rax, f->rbx,
		f->rcx, f->rdx);
	kprintf("  rsi %016lx  rdi %016lx  rbp %016lx  r8  %016lx\n", f->rsi, f->rdi,
		f->rbp, f->r8);
	kprintf("  r9  %016lx  r10 %016lx  r11 %016lx  r12 %016lx\n", f->r9, f->r10,
		f->r11, f->r12);
	kprintf("  r13 %016lx  r14 %016lx  r15 %016lx\n", f->r13, f->r14, f->r15);
}

void trap_dispatch(struct trap_frame *f);

void trap_dispatch(struct trap_frame *f)
{
	uint64_t cr2 = read_cr2();
	uintptr_t fix;

	if (f->vector == 14) {
		fix = vtlmem_fixup(f->rip);
		if (fix) {
			fault_rec.count++;
			fault_rec.cr2 = cr2;
			fault_rec.error = f->error;
			fault_rec.rip = f->rip;
			fault_rec.fixup = fix;
			f->rip = fix;
			return;
		}
	}
	kprintf("\nOOPS: unexpected exception %lu (%s)\n", f->vector,
		f->vector < 32 ? vec_names[f->vector] : "?");
	if (oops_context)
		kprintf("  while running %s\n", oops_context);
	dump_frame(f, cr2);
	kexit(EXIT_OOPS);
}
