// SPDX-License-Identifier: MIT
/*
 * Per CPU: a GDT, an IDT for the 32 exceptions and the interrupt vectors,
 * a TSS whose IST1 stack catches double faults (a kernel stack overflow is
 * reported, not a silent triple fault); and the dispatcher. The page-fault path is what an embedding kernel copies: the
 * very first thing it does is ask the library whether the faulting
 * instruction is one of its fallible accesses (vtlmem_fixup), and if so it
 * resumes there; everything else is a kernel bug: print and fail the run.
 */
#include <vtlmem/copy.h>

#include "smp.h"

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

extern const uint64_t trap_vectors[32];
extern const uint64_t irq_vectors[][2];
extern uint64_t gdt[5];

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

static void set_gate(struct idt_entry *idt, unsigned vec, uint64_t handler, unsigned ist)
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

/* The CPU's GDT: head.S's code and data descriptors, then its own TSS. */
static void gdt_tss_init(struct cpu *c)
{
	uint64_t base = (uint64_t)&c->tss;
	uint64_t limit = sizeof(c->tss) - 1;

	c->gdt[0] = 0;
	c->gdt[KERNEL_CS / 8] = gdt[KERNEL_CS / 8];
	c->gdt[KERNEL_DS / 8] = gdt[KERNEL_DS / 8];
	memset(&c->tss, 0, sizeof(c->tss));
	c->tss.ist[0] = smp_ist_top(c->id);
	c->tss.iomap = sizeof(c->tss);
	c->gdt[KERNEL_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) |
				 (0x89UL << 40) | (((limit >> 16) & 0xf) << 48) |
				 (((base >> 24) & 0xff) << 56);
	c->gdt[KERNEL_TSS / 8 + 1] = base >> 32;
}

/*
 * Load this CPU's GDT, TSS (IST1: its double-fault stack) and IDT. The
 * code and data selectors keep their values and descriptors, so only the
 * data segment registers are reloaded (GS base is set after, in gs_init).
 */
void trap_cpu_init(struct cpu *c)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) gdtr = { sizeof(c->gdt) - 1, (uint64_t)c->gdt },
				  idtr = { sizeof(c->idt) - 1, (uint64_t)c->idt };
	unsigned v;

	gdt_tss_init(c);
	memset(c->idt, 0, sizeof(c->idt));
	for (v = 0; v < 32; v++)
		set_gate(c->idt, v, trap_vectors[v], v == 8 ? 1 : 0);
	for (v = 0; irq_vectors[v][1]; v++)
		set_gate(c->idt, (unsigned)irq_vectors[v][0], irq_vectors[v][1], 0);
	__asm__ volatile("lgdt %0" : : "m"(gdtr));
	__asm__ volatile("movl %0, %%ds; movl %0, %%es; movl %0, %%ss"
			 : : "r"((uint32_t)KERNEL_DS));
	__asm__ volatile("ltr %w0" : : "r"(KERNEL_TSS));
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

void trap_init(void)
{
	smp_early_init();
	trap_cpu_init(&cpus[0]);
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

	if (f->vector >= 32) {
		smp_irq((unsigned)f->vector);
		return;
	}
	if (f->vector == 14) {
		fix = vtlmem_fixup(f->rip);
		if (fix) {
			fault_rec.count++;
			fault_rec.addr = cr2;
			fault_rec.kind = ((f->error & 1) ? FAULT_PRESENT : 0) |
					 ((f->error & 2) ? FAULT_WRITE : 0);
			fault_rec.error = f->error;
			fault_rec.ip = f->rip;
			fault_rec.fixup = fix;
			f->rip = fix;
			return;
		}
	}
	kprintf("\nOOPS: unexpected exception %lu (%s) on cpu %u\n", f->vector,
		vec_names[f->vector], smp_cpu_id());
	if (oops_context)
		kprintf("  while running %s\n", oops_context);
	dump_frame(f, cr2);
	kexit(EXIT_OOPS);
}
