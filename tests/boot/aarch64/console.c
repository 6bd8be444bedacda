// SPDX-License-Identifier: MIT
/*
 * The aarch64 console: QEMU virt's PL011 (polled; mapped Device-nGnRnE at
 * UART_VA by the boot tables and by the final ones), and leaving QEMU
 * through semihosting. The formatter and the console lock are portable
 * (tests/boot/common/kprint.c).
 */
#include "kernel.h"
#include "smp.h"

#define UART_DR 0x00
#define UART_FR 0x18
#define FR_TXFF (1u << 5)

void console_init(void)
{
	/* QEMU's PL011 needs no setup: enabled, 8N1, any baud rate. */
}

void console_putc(char c)
{
	volatile uint32_t *uart = (volatile uint32_t *)UART_VA;
	unsigned spin = 0;

	while ((uart[UART_FR / 4] & FR_TXFF) && ++spin < 100000)
		;
	uart[UART_DR / 4] = (uint8_t)c;
}

/*
 * Semihosting (QEMU -semihosting): SYS_EXIT_EXTENDED (0x20) with
 * ADP_Stopped_ApplicationExit and the status, which QEMU exits with. Any
 * CPU may call it. Without semihosting the HLT is undefined (an exception:
 * a nested oops); PSCI SYSTEM_OFF then stops QEMU with status 0, which
 * run-qemu reports as "no result".
 */
noreturn void kexit(unsigned code)
{
	static uint64_t block[MAX_CPUS][2];
	unsigned cpu = smp_cpu_id() % MAX_CPUS;
	register uint64_t x0 __asm__("x0") = 0x20;
	register uint64_t x1 __asm__("x1") = (uint64_t)block[cpu];

	irq_save();
	block[cpu][0] = 0x20026;        /* ADP_Stopped_ApplicationExit */
	block[cpu][1] = code;
	__asm__ volatile("hlt #0xf000" : "+r"(x0) : "r"(x1) : "memory");
	psci_system_off();
}
