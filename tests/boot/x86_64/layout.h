/* SPDX-License-Identifier: MIT */
/*
 * Test kernel memory layout (shared by C, assembly and the linker script).
 *
 * Physical:
 *   [0, 1M)             firmware, not used, except one page at TRAMP_PA:
 *                       the application processors' real-mode trampoline
 *   [1M, image end)     kernel image ("VTL1")
 *   [image end, 56M)    kernel page pool: page tables ("VTL1")
 *   [56M, 64M)          kernel heap ("VTL1")
 *   [64M, 192M)         "VTL0" RAM: the only memory the ownership op allows
 *   [192M, RAM top)     unused, denied like VTL1 (RAM: at least 192 MiB)
 *
 * Virtual:
 *   0xffff888000000000  direct map of all RAM (2 MiB pages, RW, NX, global)
 *   0xffffc80000000000  the local APIC's registers (one page, UC)
 *   0xffffc88000000000  test probe area: pages the kernel maps by hand for
 *                       the copy tests (independent of the vmap manager)
 *   0xffffc90000000000  the library's vmap window (VMAP_SIZE)
 *   0xffffc98000000000  a second window, created and destroyed by tests
 *   0xffffffff80000000  kernel image (KERNEL_VMA + physical address)
 */
#ifndef BOOT_LAYOUT_H
#define BOOT_LAYOUT_H

#ifdef __ASSEMBLY__
#define _UL(x) x
#else
#define _UL(x) x##UL
#endif

#define KERNEL_VMA     _UL(0xffffffff80000000)
#define RAM_BASE       _UL(0)                  /* physical start of RAM */
#define KERNEL_PHYS    _UL(0x100000)
#define DMAP_BASE      _UL(0xffff888000000000)
#define LAPIC_VA       _UL(0xffffc80000000000)
#define PROBE_BASE     _UL(0xffffc88000000000)
#define VMAP_BASE      _UL(0xffffc90000000000)
#define VMAP_SIZE      _UL(0x1000000)          /* 16 MiB */
#define VMAP2_BASE     _UL(0xffffc98000000000)
#define VMAP2_SIZE     _UL(0x800000)           /* 8 MiB */

#define POOL_END       _UL(0x4000000)          /* 64 MiB */
#define HEAP_SIZE      _UL(0x800000)           /* 8 MiB, the top of the pool */
#define HEAP_START     (POOL_END - HEAP_SIZE)
#define VTL0_START     _UL(0x4000000)          /* 64 MiB */
#define VTL0_END       _UL(0xc000000)          /* 192 MiB */
#define RAM_MIN        VTL0_END                /* QEMU runs with -m 256M */

#define KERNEL_CS      0x08
#define KERNEL_DS      0x10
#define KERNEL_TSS     0x18

#define STACK_SIZE     0x8000                  /* each CPU's stack, 32 KiB */
#define IST_STACK_SIZE 0x2000                  /* each CPU's double-fault stack */

/* SMP: CPUs brought up at most (the rest of the MADT is ignored). */
#define MAX_CPUS       8
#define TRAMP_PA       _UL(0x8000)             /* SIPI vector 0x08 */
#define LAPIC_PA       _UL(0xfee00000)

/* Interrupt vectors (0-31 exceptions; the 8259 PICs, masked, at 32-47). */
#define VEC_PIC_BASE   32
#define VEC_SHOOTDOWN  0xf0                    /* TLB shootdown request */
#define VEC_WAKE       0xf1                    /* work posted to an idle CPU */
#define VEC_SPURIOUS   0xff                    /* local APIC spurious vector */

/* isa-debug-exit: QEMU exits with status (code << 1) | 1. */
#define EXIT_PORT      0xf4
#define EXIT_PASS      0x10                    /* QEMU status 33 */
#define EXIT_FAIL      0x11                    /* QEMU status 35: a test failed */
#define EXIT_OOPS      0x12                    /* QEMU status 37: kernel died */

#endif
