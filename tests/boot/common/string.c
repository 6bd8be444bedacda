// SPDX-License-Identifier: MIT
/*
 * memcmp and strlen for the boot kernels (kernel.h "lib"): loops through
 * volatile pointers, so the compiler cannot turn them back into calls to
 * themselves. The arch's lib.c has memcpy, memmove and memset (its fast
 * ones: string instructions on x86_64).
 */
#include "kernel.h"

int memcmp(const void *a, const void *b, size_t n)
{
	const volatile unsigned char *x = a, *y = b;
	size_t i;

	for (i = 0; i < n; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	const volatile char *p = s;

	while (*p)
		p++;
	return (size_t)(p - s);
}
