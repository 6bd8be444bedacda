/* SPDX-License-Identifier: MIT */
/*
 * aarch64 test kernel memory layout (shared by C, assembly and the linker
 * script). QEMU virt: RAM from 0x40000000 (-m 256M), PL011 at 0x09000000.
 *
 * Physical:
 *   [RAM, RAM+2M)         the device tree QEMU places at the base of RAM
 *   [RAM+2M, image end)   kernel image ("VTL1")
 *   [image end, RAM+56M)  kernel page pool: page tables ("VTL1")
 *   [RAM+56M, RAM+64M)    kernel heap ("VTL1")
 *   [RAM+64M, RAM+192M)   "VTL0" RAM: the only memory the ownership op allows
 *   [RAM+192M, RAM top)   unused, denied like VTL1
 *
 * Virtual (all in the TTBR1 half; TTBR0 walks are disabled once the final
 * tables are live, so there is no identity map):
 *   0xffff888000000000  direct map of RAM (DMAP_BASE + physical address,
 *                       2 MiB blocks, RW, never executable)
 *   0xffffc80000000000  devices: the PL011 page at UART_VA (Device-nGnRnE)
 *   0xffffc88000000000  test probe area: pages the kernel maps by hand
 *   0xffffc90000000000  the library's vmap window (VMAP_SIZE)
 *   0xffffc98000000000  a second window, created and destroyed by tests
 *   0xffffffff80000000  + physical address: the kernel image (KERNEL_VMA)
 */
#ifndef BOOT_LAYOUT_H
#define BOOT_LAYOUT_H

#ifdef __ASSEMBLY__
#define _UL(x) x
#else
#define _UL(x) x##UL
#endif

#define RAM_BASE       _UL(0x40000000)
#define KERNEL_VMA     _UL(0xffffffff80000000)
#define KERNEL_PHYS    _UL(0x40200000)
#define DTB_PHYS       RAM_BASE
#define DMAP_BASE      _UL(0xffff888000000000)
#define DEV_BASE       _UL(0xffffc80000000000)
#define UART_PHYS      _UL(0x09000000)
#define UART_VA        (DEV_BASE + UART_PHYS)
#define PROBE_BASE     _UL(0xffffc88000000000)
#define VMAP_BASE      _UL(0xffffc90000000000)
#define VMAP_SIZE      _UL(0x1000000)          /* 16 MiB */
#define VMAP2_BASE     _UL(0xffffc98000000000)
#define VMAP2_SIZE     _UL(0x800000)           /* 8 MiB */

#define POOL_END       (RAM_BASE + _UL(0x4000000))     /* RAM + 64 MiB */
#define HEAP_SIZE      _UL(0x800000)                   /* 8 MiB, the top of the pool */
#define HEAP_START     (POOL_END - HEAP_SIZE)
#define VTL0_START     (RAM_BASE + _UL(0x4000000))     /* RAM + 64 MiB */
#define VTL0_END       (RAM_BASE + _UL(0xc000000))     /* RAM + 192 MiB */
#define RAM_MIN        (VTL0_END - RAM_BASE)           /* QEMU runs with -m 256M */

#define STACK_SIZE     0x8000                  /* each CPU's stack (SP_EL0), 32 KiB */
#define EXC_STACK_SIZE 0x2000                  /* each CPU's exception stack (SP_EL1) */

#define MAX_CPUS       8
/* Per CPU: guard page, stack, guard page, exception stack (head.S, mm.c). */
#define CPU_STACK_BLOCK (4096 + STACK_SIZE + 4096 + EXC_STACK_SIZE)
#define CPU_STRUCT_SIZE 4096                   /* sizeof(struct cpu), checked in smp.c */

/* Semihosting SYS_EXIT_EXTENDED: QEMU exits with these statuses (as x86_64). */
#define EXIT_PASS      33
#define EXIT_FAIL      35                      /* a test failed */
#define EXIT_OOPS      37                      /* the kernel died */

/* Stage-1 descriptor bits (VMSAv8-64, 4 KiB granule). */
#define PTE_VALID      (_UL(1) << 0)
#define PTE_TABLE      (_UL(1) << 1)           /* table (levels 0-2) / page (level 3) */
#define PTE_ATTR(i)    ((i) << 2)              /* AttrIndx[2:0] into MAIR_EL1 */
#define PTE_AP_RO      (_UL(1) << 7)           /* AP[2]: read-only */
#define PTE_AP_EL0     (_UL(1) << 6)           /* AP[1]: EL0 access */
#define PTE_SH_INNER   (_UL(3) << 8)
#define PTE_AF         (_UL(1) << 10)
#define PTE_NG         (_UL(1) << 11)
#define PTE_PXN        (_UL(1) << 53)
#define PTE_UXN        (_UL(1) << 54)
#define PTE_ADDR       _UL(0x0000fffffffff000)

#endif
