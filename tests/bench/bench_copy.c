/* SPDX-License-Identifier: MIT */
/*
 * bench_copy: vtlmem_copy() against the host's memcpy(), and vtlmem_fill()
 * against memset(), in the same process, for 1 B .. 1 MiB, aligned and
 * misaligned. Prints per size the median time per call of each, the time
 * ratio (vtlmem / libc: lower is better) and the throughput ratio (libc
 * time / vtlmem time: higher is better), and whether the goals hold:
 *   - 1..64 B:      time ratio <= 1.5
 *   - 4 KiB..1 MiB: throughput ratio >= 0.95
 * Never fails on timing (exit status 0 unless setup fails).
 *
 * Method: the libc routines are called through volatile function pointers
 * (not inlined or turned into moves), and so is vtlmem, so both pay the same
 * indirect call. Each measurement is a loop of calls on the same buffers
 * (warm cache; 1 MiB is about the L2 size here) lasting ~0.25 ms (short,
 * so that most rounds run without being preempted on a busy machine); the
 * two routines alternate, 61 rounds, and the medians are compared. "aligned":
 * source and destination page-aligned (separate mappings); "misaligned":
 * source + 3, destination + 5 bytes. Then the sweep over the distance
 * (dst - src) mod 4096 (see sweep()).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vtlmem/copy.h>
#include "fault.h"

#define ROUNDS 61
#define MAX_SIZE (1u << 20)

static void *(*volatile libc_copy)(void *, const void *, size_t) = memcpy;
static size_t (*volatile vtl_copy)(void *, const void *, size_t) = vtlmem_copy;
static void *(*volatile libc_fill)(void *, int, size_t) = memset;
static size_t (*volatile vtl_fill)(void *, int, size_t) = vtlmem_fill;

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp_double);
	return v[ROUNDS / 2];
}

/* One timed loop: ns per call. op 0 = vtlmem_copy, 1 = memcpy, 2/3 = fill. */
static double run(int op, uint8_t *dst, const uint8_t *src, size_t n, long iters)
{
	size_t sink = 0;
	double t0 = now_ns();
	long i;

	switch (op) {
	case 0:
		for (i = 0; i < iters; i++)
			sink += vtl_copy(dst, src, n);
		break;
	case 1:
		for (i = 0; i < iters; i++)
			libc_copy(dst, src, n);
		break;
	case 2:
		for (i = 0; i < iters; i++)
			sink += vtl_fill(dst, 0x5a, n);
		break;
	default:
		for (i = 0; i < iters; i++)
			libc_fill(dst, 0x5a, n);
		break;
	}
	if (sink) {
		fprintf(stderr, "bench_copy: unexpected residual %zu\n", sink);
		exit(1);
	}
	return (now_ns() - t0) / (double)iters;
}

struct result {
	double t_vtl, t_libc;
};

/* Median ns/call of vtlmem (op) and libc (op + 1), interleaved rounds. */
static struct result measure(int op, uint8_t *dst, const uint8_t *src, size_t n)
{
	double tv[ROUNDS], tl[ROUNDS];
	long iters = (long)(1.25e5 / (2.0 + (double)n / 16.0));  /* ~0.25 ms */
	struct result r;
	int i;

	if (iters < 4)
		iters = 4;
	run(op, dst, src, n, iters);             /* warm up both */
	run(op + 1, dst, src, n, iters);
	for (i = 0; i < ROUNDS; i++) {
		tv[i] = run(op, dst, src, n, iters);
		tl[i] = run(op + 1, dst, src, n, iters);
	}
	r.t_vtl = median(tv);
	r.t_libc = median(tl);
	return r;
}

static const char *goal(size_t n, double time_ratio)
{
	if (n <= 64)
		return time_ratio <= 1.5 ? "ok (<= 1.5x time)" : "MISS (> 1.5x time)";
	if (n >= 4096)
		return 1.0 / time_ratio >= 0.95 ? "ok (>= 0.95 thr)" : "MISS (< 0.95 thr)";
	return "-";
}

static unsigned misses;

static const size_t main_sizes[] = { 1, 8, 16, 32, 64, 256, 4096, 65536, MAX_SIZE, 0 };

/*
 * Around copy.S's SMALL_MAX (512): register moves up to it, rep movsb/stosb
 * above. Retune SMALL_MAX where vtlmem's curve jumps.
 */
static const size_t threshold_sizes[] = { 128, 192, 256, 384, 448, 512, 513,
					  576, 640, 768, 1024, 2048, 0 };

static void table(const char *what, int op, const size_t *sizes,
		  uint8_t *dbuf, uint8_t *sbuf)
{
	static const struct { const char *name; unsigned s, d; } al[] = {
		{ "aligned", 0, 0 }, { "misaligned", 3, 5 },
	};
	size_t i, a;

	printf("\n%s\n%-8s %-10s %11s %11s %9s %9s %10s  %s\n", what, "size", "align",
	       "vtlmem ns", op ? "memset ns" : "memcpy ns", "time x", "thr x",
	       "vtl GB/s", "goal");
	for (i = 0; sizes[i]; i++) {
		for (a = 0; a < 2; a++) {
			size_t n = sizes[i];
			struct result r = measure(op, dbuf + al[a].d, sbuf + al[a].s, n);
			double ratio = r.t_vtl / r.t_libc;
			const char *g = goal(n, ratio);

			if (g[0] == 'M')
				misses++;
			printf("%-8zu %-10s %11.2f %11.2f %9.3f %9.3f %10.2f  %s\n", n,
			       al[a].name, r.t_vtl, r.t_libc, ratio, 1.0 / ratio,
			       (double)n / r.t_vtl, g);
		}
	}
}

/*
 * The copy swept over the distance (dst - src) mod 4096: 0..64 (the 4K
 * aliasing range, 1..63 of which copy.S keeps in its register loop) and a
 * few large distances, at 64 B, 4 KiB, 256 KiB and 1 MiB, source page-
 * aligned. Prints the time ratio vtlmem/memcpy per cell and the worst per
 * size against the goals (64 B: time <= 1.5x; 4 KiB, 256 KiB: throughput
 * >= 0.95 of glibc, i.e. time <= 1.053x; 1 MiB: throughput >= 0.65).
 */
static void sweep(uint8_t *dbuf, uint8_t *sbuf)
{
	static const size_t sizes[] = { 64, 4096, 262144, MAX_SIZE };
	static const double max_time[] = { 1.5, 1.0 / 0.95, 1.0 / 0.95, 1.0 / 0.65 };
	static const size_t far[] = { 65, 128, 1024, 2048, 4032, 4064, 4095 };
	double worst[4] = { 0, 0, 0, 0 };
	size_t worst_d[4] = { 0, 0, 0, 0 };
	size_t d, k, j;

	printf("\nvtlmem_copy / memcpy time by distance (dst - src) mod 4096, src page-aligned\n");
	printf("%8s %9s %9s %9s %9s\n", "distance", "64 B", "4 KiB", "256 KiB", "1 MiB");
	for (j = 0; j < 65 + sizeof(far) / sizeof(far[0]); j++) {
		d = j < 65 ? j : far[j - 65];
		printf("%8zu", d);
		for (k = 0; k < 4; k++) {
			struct result r = measure(0, dbuf + d, sbuf, sizes[k]);
			double ratio = r.t_vtl / r.t_libc;

			if (ratio > worst[k]) {
				worst[k] = ratio;
				worst_d[k] = d;
			}
			printf(" %9.3f", ratio);
		}
		printf("\n");
	}
	for (k = 0; k < 4; k++) {
		bool ok = worst[k] <= max_time[k];

		if (!ok)
			misses++;
		printf("worst at %7zu B: %.3fx time at distance %zu (goal <= %.3fx): %s\n", sizes[k],
		       worst[k], worst_d[k], max_time[k], ok ? "ok" : "MISS");
	}
}

int main(void)
{
	uint8_t *sbuf = guard_alloc(MAX_SIZE + 4096, 0);
	uint8_t *dbuf = guard_alloc(MAX_SIZE + 4096, 0);

	memset(sbuf, 0x11, MAX_SIZE + 4096);
	memset(dbuf, 0x22, MAX_SIZE + 4096);
	printf("bench_copy: median of %d rounds of ~0.25 ms; time x = vtlmem/libc time "
	       "per call, thr x = throughput ratio (libc time / vtlmem time)\n", ROUNDS);
	table("vtlmem_copy vs memcpy", 0, main_sizes, dbuf, sbuf);
	table("vtlmem_fill vs memset", 2, main_sizes, dbuf, sbuf);
	table("vtlmem_copy vs memcpy around the rep movsb threshold", 0,
	      threshold_sizes, dbuf, sbuf);
	sweep(dbuf, sbuf);
	printf("\nbench_copy: %u goal miss(es) (informational; timing never fails)\n",
	       misses);
	guard_free(sbuf);
	guard_free(dbuf);
	return 0;
}
