/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - shared bits of the libFuzzer targets (tests/fuzz/fuzz_*.c): a
 * reader that decodes the fuzzer's bytes (0 once they run out, so every
 * input is a complete program), and FUZZ_CHECK, which reports a broken
 * property with its place and aborts (libFuzzer then saves the input).
 */
#ifndef TESTS_FUZZ_H
#define TESTS_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fin {
	const uint8_t *p;
	size_t n;
};

static inline uint8_t fin_u8(struct fin *f)
{
	if (!f->n)
		return 0;
	f->n--;
	return *f->p++;
}

static inline uint16_t fin_u16(struct fin *f)
{
	return (uint16_t)(fin_u8(f) | fin_u8(f) << 8);
}

static inline uint32_t fin_u32(struct fin *f)
{
	return fin_u16(f) | (uint32_t)fin_u16(f) << 16;
}

static inline uint64_t fin_u64(struct fin *f)
{
	return fin_u32(f) | (uint64_t)fin_u32(f) << 32;
}

/* Copy up to n bytes (zero-filling what the input lacks). */
static inline void fin_bytes(struct fin *f, void *dst, size_t n)
{
	size_t k = n < f->n ? n : f->n;

	memcpy(dst, f->p, k);
	memset((uint8_t *)dst + k, 0, n - k);
	f->p += k;
	f->n -= k;
}

#define FUZZ_CHECK(cond, ...)                                                       \
	do {                                                                        \
		if (!(cond)) {                                                      \
			fprintf(stderr, "%s:%d: check failed: %s\n  ", __FILE__,    \
				__LINE__, #cond);                                   \
			fprintf(stderr, __VA_ARGS__);                               \
			fprintf(stderr, "\n");                                      \
			abort();                                                    \
		}                                                                   \
	} while (0)

#endif
