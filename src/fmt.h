/* SPDX-License-Identifier: MIT */
/*
 * Tiny text formatting for dumps and debug output (the library has no
 * printf). Every function appends to a caller buffer buf of size bytes at
 * position pos and returns the new position; the buffer always stays
 * NUL-terminated (when size > 0) and output that does not fit is cut off
 * silently, so calls chain without checks:
 *
 *	char line[64];
 *	size_t n = vtlmem_fmt_str(line, sizeof(line), 0, "pa ");
 *	n = vtlmem_fmt_hex(line, sizeof(line), n, pa, 0);
 *
 * The returned position never exceeds size - 1 (0 when size == 0), so it
 * is always the length of the string in buf. No locks, no allocation.
 */
#ifndef VTLMEM_SRC_FMT_H
#define VTLMEM_SRC_FMT_H

#include <vtlmem/types.h>

/* Append the NUL-terminated string s. */
size_t vtlmem_fmt_str(char *buf, size_t size, size_t pos, const char *s);

/*
 * Append v as "0x" followed by lower-case hex digits, at least min_digits
 * of them (zero padded; 0 or 1 means as few as needed, "0x0" for 0;
 * min_digits above 16 counts as 16).
 */
size_t vtlmem_fmt_hex(char *buf, size_t size, size_t pos, uint64_t v, unsigned min_digits);

/* Append v in decimal. */
size_t vtlmem_fmt_u64(char *buf, size_t size, size_t pos, uint64_t v);

#endif
