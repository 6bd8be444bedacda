// SPDX-License-Identifier: MIT
/*
 * memcpy, memmove and memset, which the compiler may emit calls to: loops
 * through volatile pointers, so the compiler cannot turn them back into
 * calls to themselves; memcmp and strlen: ../common/string.c.
 */
#include "kernel.h"

void *memcpy(void *dst, const void *src, size_t n)
{
	volatile unsigned char *d = dst;
	const volatile unsigned char *s = src;

	while (n >= 8 && !(((uintptr_t)d | (uintptr_t)s) & 7)) {
		*(volatile uint64_t *)d = *(const volatile uint64_t *)s;
		d += 8;
		s += 8;
		n -= 8;
	}
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	volatile unsigned char *d = dst;
	const volatile unsigned char *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n--)
		d[n] = s[n];
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	volatile unsigned char *d = dst;
	uint64_t v = (uint8_t)c * 0x0101010101010101UL;

	while (n && ((uintptr_t)d & 7)) {
		*d++ = (unsigned char)c;
		n--;
	}
	while (n >= 8) {
		*(volatile uint64_t *)d = v;
		d += 8;
		n -= 8;
	}
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}
