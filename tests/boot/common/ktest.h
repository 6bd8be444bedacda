/* SPDX-License-Identifier: MIT */
/*
 * The boot test harness. A case is a function registered with KTEST(name)
 * in a t_*.c file; the kernel runs the cases in order of file name and line
 * and prints one line per case, "name: ok" or "name: FAIL <first failed
 * check>", then
 * "N passed, M failed". CHECK* record a failure and go on; REQUIRE* also
 * return from the case (for preconditions later checks depend on).
 * After each case the harness checks the platform is back to rest
 * (preemption on, no fault injection armed). Checks may fail on any CPU.
 */
#ifndef BOOT_KTEST_H
#define BOOT_KTEST_H

#include "kernel.h"

struct ktest {
	const char *name;
	void (*fn)(void);
	const char *file;
	int line;
};

#define KTEST(fn)                                                             \
	static void fn(void);                                                 \
	static const struct ktest ktest_##fn                                  \
		__attribute__((used, section(".boot_tests"), aligned(8))) =     \
		{ #fn, fn, __FILE__, __LINE__ };                              \
	static void fn(void)

/* Record a failed check of the running case (file:line and a message). */
void ktest_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Failed checks of the running case so far. */
unsigned ktest_failures(void);
/* Report a case that cannot run here (e.g. needs more CPUs): not counted. */
#define KTEST_SKIP(why)                                                       \
	do {                                                                  \
		ktest_skip(why);                                              \
		return;                                                       \
	} while (0)
void ktest_skip(const char *why);

/* bench.c: the boot bench ("bench=1" on the command line); exits QEMU. */
noreturn void boot_bench(void);

#define CHECK(cond)                                                           \
	do {                                                                  \
		if (!(cond))                                                  \
			ktest_fail(__FILE__, __LINE__, "%s", #cond);          \
	} while (0)

#define CHECK_EQ(a, b)                                                        \
	do {                                                                  \
		uint64_t _a = (uint64_t)(a), _b = (uint64_t)(b);              \
		if (_a != _b)                                                 \
			ktest_fail(__FILE__, __LINE__, "%s == %s (0x%lx != 0x%lx)", \
				   #a, #b, _a, _b);                           \
	} while (0)

#define CHECK_INT(a, b)                                                       \
	do {                                                                  \
		long _a = (long)(a), _b = (long)(b);                          \
		if (_a != _b)                                                 \
			ktest_fail(__FILE__, __LINE__, "%s == %s (%ld != %ld)", \
				   #a, #b, _a, _b);                           \
	} while (0)

#define REQUIRE(cond)                                                         \
	do {                                                                  \
		if (!(cond)) {                                                \
			ktest_fail(__FILE__, __LINE__, "%s", #cond);          \
			return;                                               \
		}                                                             \
	} while (0)

#define REQUIRE_INT(a, b)                                                     \
	do {                                                                  \
		long _a = (long)(a), _b = (long)(b);                          \
		if (_a != _b) {                                               \
			ktest_fail(__FILE__, __LINE__, "%s == %s (%ld != %ld)", \
				   #a, #b, _a, _b);                           \
			return;                                               \
		}                                                             \
	} while (0)

#endif
