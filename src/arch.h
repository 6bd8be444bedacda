/* SPDX-License-Identifier: MIT */
/*
 * The small internal arch interface: the only way src/ reaches arch code.
 * Implemented in arch/<arch>/. In host builds (VTLMEM_HOST) the privileged
 * operations are never reached: the host platform supplies tlb_local.
 */
#ifndef VTLMEM_SRC_ARCH_H
#define VTLMEM_SRC_ARCH_H

#include <vtlmem/types.h>

/* Spin-wait hint (pause). */
void arch_cpu_relax(void);

/* Invalidate one page / this CPU's whole non-global TLB (kernel builds). */
void arch_tlb_flush_page(uintptr_t va);
void arch_tlb_flush_all(void);

#endif
