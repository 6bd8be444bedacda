// SPDX-License-Identifier: MIT
/*
 * Console output and a small printf-style formatter: %s %c %d %i %u %x %X
 * %p %%, length l/ll/z, width, '0' and '-'. Output is plain "\n" line ends
 * (the runner parses lines). Each kputs() (so each kprintf()) goes out
 * whole, through the arch's console_putc(), under a lock shared by all
 * CPUs; the lock gives up after ~0.1 s so a CPU dying inside kputs cannot
 * silence the others' oops reports. Plus panic() and the command line.
 */
#include "kernel.h"

static uint32_t console_locked;

void kputs(const char *s)
{
	unsigned long flags = irq_save(), n = 0;
	bool held = true;

	while (__atomic_exchange_n(&console_locked, 1, __ATOMIC_ACQUIRE)) {
		if (++n > 10000000UL) {
			held = false;
			break;
		}
		cpu_relax();
	}
	while (*s)
		console_putc(*s++);
	if (held)
		__atomic_store_n(&console_locked, 0, __ATOMIC_RELEASE);
	irq_restore(flags);
}

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_padded(struct out *o, const char *s, size_t n, int width, bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;

	if (!left)
		while (fill-- > 0)
			put(o, pad);
	while (n--)
		put(o, *s++);
	if (left)
		while (fill-- > 0)
			put(o, ' ');
}

static void put_num(struct out *o, uint64_t v, bool neg, unsigned base, bool upper,
		    int width, bool left, char pad)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n++] = digits[v % base];
		v /= base;
	} while (v);
	if (neg) {
		if (pad == '0') {
			put(o, '-');
			width--;
		} else {
			tmp[sizeof(tmp) - 1 - n++] = '-';
		}
	}
	put_padded(o, tmp + sizeof(tmp) - n, (size_t)n, width, left, pad);
}

static const char *fmt_one(struct out *o, const char *f, va_list *ap)
{
	bool left = false, is_long = false, neg = false;
	char pad = ' ';
	int width = 0;
	uint64_t v;
	const char *s;

	for (; *f == '-' || *f == '0'; f++) {
		if (*f == '-')
			left = true;
		else
			pad = '0';
	}
	for (; *f >= '0' && *f <= '9'; f++)
		width = width * 10 + (*f - '0');
	while (*f == 'l' || *f == 'z') {
		is_long = true;
		f++;
	}
	switch (*f) {
	case 's':
		s = va_arg(*ap, const char *);
		if (!s)
			s = "(null)";
		put_padded(o, s, strlen(s), width, left, ' ');
		break;
	case 'c':
		put(o, (char)va_arg(*ap, int));
		break;
	case 'd':
	case 'i':
		if (is_long) {
			long x = va_arg(*ap, long);

			neg = x < 0;
			v = neg ? -(uint64_t)x : (uint64_t)x;
		} else {
			int x = va_arg(*ap, int);

			neg = x < 0;
			v = neg ? -(uint64_t)(int64_t)x : (uint64_t)x;
		}
		put_num(o, v, neg, 10, false, width, left, pad);
		break;
	case 'u':
	case 'x':
	case 'X':
		v = is_long ? va_arg(*ap, unsigned long) : va_arg(*ap, unsigned int);
		put_num(o, v, false, *f == 'u' ? 10 : 16, *f == 'X', width, left, pad);
		break;
	case 'p':
		put(o, '0');
		put(o, 'x');
		put_num(o, (uintptr_t)va_arg(*ap, void *), false, 16, false, 16, false, '0');
		break;
	case '%':
		put(o, '%');
		break;
	default:
		put(o, '%');
		if (*f)
			put(o, *f);
		else
			return f;
	}
	return f + 1;
}

int kvsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	va_list aq;

	va_copy(aq, ap);
	while (*fmt) {
		if (*fmt != '%')
			put(&o, *fmt++);
		else
			fmt = fmt_one(&o, fmt + 1, &aq);
	}
	va_end(aq);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = kvsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

void kprintf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	kputs(buf);
}

void kputs_line(void *arg, const char *line)
{
	const char *prefix = arg;

	kprintf("%s%s\n", prefix ? prefix : "", line);
}

noreturn void panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	n = ksnprintf(buf, sizeof(buf), "PANIC: ");
	va_start(ap, fmt);
	kvsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(buf);
	buf[n] = '\n';
	buf[n + 1] = '\0';
	kputs(buf);
	kexit(EXIT_OOPS);
}

char boot_cmdline[256];

void cmdline_get(const char *key, char *buf, size_t size)
{
	const char *p = boot_cmdline;
	size_t klen = strlen(key), n;

	buf[0] = '\0';
	while (*p) {
		while (*p == ' ')
			p++;
		if (!memcmp(p, key, klen) && p[klen] == '=') {
			p += klen + 1;
			for (n = 0; n + 1 < size && p[n] && p[n] != ' '; n++)
				buf[n] = p[n];
			buf[n] = '\0';
			return;
		}
		while (*p && *p != ' ')
			p++;
	}
}

uint64_t cmdline_uint(const char *key, uint64_t dflt)
{
	char buf[16];
	uint64_t v = 0;
	size_t i;

	cmdline_get(key, buf, sizeof(buf));
	if (!buf[0])
		return dflt;
	for (i = 0; buf[i] >= '0' && buf[i] <= '9'; i++)
		v = v * 10 + (uint64_t)(buf[i] - '0');
	return v;
}
