// SPDX-License-Identifier: MIT
/*
 * The x86_64 console: COM1 (115200 8N1, polled), and leaving QEMU through
 * isa-debug-exit. The formatter and the console lock are portable
 * (tests/boot/common/kprint.c).
 */
#include "kernel.h"

#define COM1 0x3f8

void console_init(void)
{
	outb(COM1 + 1, 0x00);   /* no interrupts */
	outb(COM1 + 3, 0x80);   /* DLAB */
	outb(COM1 + 0, 0x01);   /* divisor 1: 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);   /* 8N1 */
	outb(COM1 + 2, 0xc7);   /* FIFO on, cleared */
	outb(COM1 + 4, 0x03);   /* DTR, RTS */
}

void console_putc(char c)
{
	unsigned spin = 0;

	while (!(inb(COM1 + 5) & 0x20) && ++spin < 100000)
		;
	outb(COM1, (uint8_t)c);
}

noreturn void kexit(unsigned code)
{
	outl(EXIT_PORT, code);
	cpu_stop();
}

