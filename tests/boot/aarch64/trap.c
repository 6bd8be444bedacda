// SPDX-License-Identifier: MIT
/*
 * The exception handler (entry.S saves the frame). The data-abort path is
 * what an embedding kernel copies: the very first thing it does is ask the
 * library whether the faulting instruction is one of its fallible accesses
 * (vtlmem_fixup(ELR_EL1)), and if so it resumes there; everything else is a
 * kernel bug: print and fail the run ("OOPS: unexpected exception ...").
 * IRQs (from the kernel at EL1, on SP_EL0) go to smp_irq (the GIC's SGIs).
 */
#include <vtlmem/copy.h>

#include "smp.h"

struct trap_frame {
	uint64_t x[31];
	uint64_t sp_el0;
	uint64_t elr, spsr;
	uint64_t esr, far;
};
_Static_assert(sizeof(struct trap_frame) == 36 * 8, "entry.S FRAME_SIZE");

const char *oops_context;

#define EC_DABT_CUR  0x25
#define EC_IABT_CUR  0x21
#define DFSC_ALIGN   0x21       /* alignment fault (e.g. unaligned, Device memory) */

static const char *ec_name(unsigned ec)
{
	switch (ec) {
	case 0x00: return "unknown (undefined instruction)";
	case 0x07: return "FP/SIMD access trapped";
	case 0x15: return "SVC";
	case 0x16: return "HVC";
	case 0x17: return "SMC";
	case 0x18: return "system register access trapped";
	case 0x20: return "instruction abort from EL0";
	case 0x21: return "instruction abort";
	case 0x22: return "PC alignment";
	case 0x24: return "data abort from EL0";
	case 0x25: return "data abort";
	case 0x26: return "SP alignment";
	case 0x2f: return "SError";
	case 0x3c: return "BRK";
	default: return "other";
	}
}

static const char *const kinds[16] = {
	"synchronous", "IRQ", "FIQ", "SError",
	"synchronous (nested, on the exception stack)", "IRQ (nested)", "FIQ (nested)",
	"SError (nested)", "from EL0", "IRQ from EL0", "FIQ from EL0", "SError from EL0",
	"from AArch32", "IRQ from AArch32", "FIQ from AArch32", "SError from AArch32",
};

static void dump_frame(const struct trap_frame *f)
{
	unsigned i;

	kprintf("  esr %08lx  elr %016lx  far %016lx  spsr %08lx\n", f->esr, f->elr, f->far,
		f->spsr);
	kprintf("  sp_el0 %016lx  ttbr1 %016lx  tcr %016lx\n", f->sp_el0,
		read_sysreg(ttbr1_el1), read_sysreg(tcr_el1));
	for (i = 0; i < 28; i += 4)
		kprintf("  x%-2u %016lx  x%-2u %016lx  x%-2u %016lx  x%-2u %016lx\n", i, f->x[i],
			i + 1, f->x[i + 1], i + 2, f->x[i + 2], i + 3, f->x[i + 3]);
	kprintf("  x28 %016lx  x29 %016lx  x30 %016lx\n", f->x[28], f->x[29], f->x[30]);
}

void trap_entry(struct trap_frame *f, unsigned kind);

void trap_entry(struct trap_frame *f, unsigned kind)
{
	unsigned ec = (unsigned)(f->esr >> 26) & 0x3f;
	struct cpu *c = this_cpu();
	unsigned dfsc = (unsigned)f->esr & 0x3f;
	uintptr_t fix;

	if (kind == 1) {
		smp_irq();
		return;
	}
	if (kind == 0 && ec == EC_DABT_CUR) {
		fix = vtlmem_fixup(f->elr);
		if (fix) {
			fault_rec.count++;
			if (dfsc == DFSC_ALIGN)
				c->align_faults++;
			fault_rec.addr = f->far;
			/* DFSC 0b0001xx: translation fault (nothing mapped) */
			fault_rec.kind = ((dfsc & 0x3c) != 0x04 ? FAULT_PRESENT : 0) |
					 ((f->esr & (1u << 6)) ? FAULT_WRITE : 0);
			fault_rec.error = f->esr;
			fault_rec.ip = f->elr;
			fault_rec.fixup = fix;
			f->elr = fix;
			return;
		}
	}
	if (__atomic_exchange_n(&c->dying, 1, __ATOMIC_RELAXED)) {
		/* an exception in the oops report or kexit itself */
		kputs("\nOOPS: nested exception while dying\n");
		psci_system_off();
	}
	kprintf("\nOOPS: unexpected exception 0x%02x (%s, %s) on cpu %u\n", ec, ec_name(ec),
		kinds[kind & 15], c->id);
	if ((ec == EC_DABT_CUR || ec == EC_IABT_CUR) && smp_is_guard_page(f->far & ~0xfffUL))
		kprintf("  stack overflow: fault on the guard page %lx\n", f->far);
	if (oops_context)
		kprintf("  while running %s\n", oops_context);
	dump_frame(f);
	kexit(EXIT_OOPS);
}
