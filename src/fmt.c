/* SPDX-License-Identifier: MIT */
/*
 * Text formatting into caller buffers (see fmt.h).
 *
 * Invariant kept by every function: when size > 0, pos < size and
 * buf[pos] == '\0' on return.
 */
#include "fmt.h"

/* Append character c (not NUL) if it fits; always re-terminate. */
static size_t put_char(char *buf, size_t size, size_t pos, char c)
{
	if (size == 0)
		return 0;
	if (pos >= size)
		pos = size - 1;
	if (pos + 1 < size)
		buf[pos++] = c;
	buf[pos] = '\0';
	return pos;
}

size_t vtlmem_fmt_str(char *buf, size_t size, size_t pos, const char *s)
{
	if (size == 0)
		return 0;
	if (pos >= size)
		pos = size - 1;
	buf[pos] = '\0';
	while (*s && pos + 1 < size)
		pos = put_char(buf, size, pos, *s++);
	return pos;
}

size_t vtlmem_fmt_hex(char *buf, size_t size, size_t pos, uint64_t v, unsigned min_digits)
{
	static const char digits[] = "0123456789abcdef";
	unsigned n = 1, i;

	while (n < 16 && (v >> (4 * n)))
		n++;
	if (min_digits > 16)
		min_digits = 16;
	if (n < min_digits)
		n = min_digits;
	pos = vtlmem_fmt_str(buf, size, pos, "0x");
	for (i = n; i > 0; i--)
		pos = put_char(buf, size, pos, digits[(v >> (4 * (i - 1))) & 0xf]);
	return pos;
}

size_t vtlmem_fmt_u64(char *buf, size_t size, size_t pos, uint64_t v)
{
	char tmp[20];
	unsigned n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n > 0)
		pos = put_char(buf, size, pos, tmp[--n]);
	return pos;
}
