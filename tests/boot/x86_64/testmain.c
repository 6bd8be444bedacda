// SPDX-License-Identifier: MIT
/*
 * The boot test suite's kernel_main: run every KTEST case (or, with
 * "only=<name>" on the command line, the cases whose name starts with it),
 * one result line each, then "N passed, M failed", and leave QEMU with
 * EXIT_PASS or EXIT_FAIL.
 *
 * "crash=<how>" instead makes the kernel fail in one way (a failed check,
 * a page fault outside the library, a stack overflow, a triple fault, a
 * hang, an exit without a summary), for harness-selftest: the runner must
 * report each as a failure.
 */
#include "ktest.h"
#include "kvtl.h"
#include "platform.h"

extern const struct ktest __boot_tests_start[], __boot_tests_end[];

#define MAX_SHOWN 4

static unsigned failures;
static char messages[MAX_SHOWN][200];

void ktest_fail(const char *file, int line, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (failures < MAX_SHOWN)
		ksnprintf(messages[failures], sizeof(messages[0]), "%s:%d: %s", file, line, msg);
	failures++;
}

unsigned ktest_failures(void)
{
	return failures;
}

/* The value of "key=" on the command line, copied into buf ("" if absent). */
static void cmdline_value(const char *key, char *buf, size_t size)
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

/*
 * The platform and the kernel's vtlmem instance must be at rest between
 * cases: nothing mapped, nothing reserved (after a purge), preemption on.
 */
static void check_at_rest(void)
{
	struct vtlmem_vmap_stats st;

	if (bps.preempt_depth)
		ktest_fail(__FILE__, __LINE__, "preemption still off (depth %u)",
			   bps.preempt_depth);
	if (bps.pt_fail_after >= 0 || bps.heap_fail_after >= 0 || bps.shootdown_fail_next)
		ktest_fail(__FILE__, __LINE__, "fault injection still armed");
	platform_reset_injection();
	if (!kv_vm)
		return;
	if (vtlmem_vmap_purge(kv_vm))
		ktest_fail(__FILE__, __LINE__, "final purge failed");
	vtlmem_vmap_get_stats(kv_vm, &st);
	if (st.mapped_pages || st.quarantined_pages || kv_rt.handles)
		ktest_fail(__FILE__, __LINE__,
			   "left behind: %lu mapped, %lu quarantined pages, %lu reservations",
			   st.mapped_pages, st.quarantined_pages, kv_rt.handles);
	if (st.pt_pages != bps.pt_live)
		ktest_fail(__FILE__, __LINE__, "library owns %lu table pages, platform gave %lu",
			   st.pt_pages, bps.pt_live);
}

static int strcmp_(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return (unsigned char)*a - (unsigned char)*b;
}

static bool before(const struct ktest *a, const struct ktest *b)
{
	int c = strcmp_(a->file, b->file);

	return c < 0 || (c == 0 && a->line < b->line);
}

/* The cases in source order (the linker keeps no useful order). */
static size_t sorted_cases(const struct ktest **out, size_t max)
{
	size_t n = 0, i, j;
	const struct ktest *t;

	for (t = __boot_tests_start; t < __boot_tests_end && n < max; t++) {
		for (i = n; i > 0 && before(t, out[i - 1]); i--)
			out[i] = out[i - 1];
		out[i] = t;
		n++;
	}
	for (j = 0; j + 1 < n; j++)
		if (!before(out[j], out[j + 1]))
			panic("boot tests %s and %s: same place?", out[j]->name, out[j + 1]->name);
	return n;
}

static bool run_one(const struct ktest *t)
{
	unsigned i;

	failures = 0;
	oops_context = t->name;
	t->fn();
	oops_context = NULL;
	check_at_rest();
	if (failures) {
		kprintf("%s: FAIL %s\n", t->name, messages[0]);
		for (i = 1; i < failures && i < MAX_SHOWN; i++)
			kprintf("    also %s\n", messages[i]);
		if (failures > MAX_SHOWN)
			kprintf("    and %u more failed checks\n", failures - MAX_SHOWN);
	} else
		kprintf("%s: ok\n", t->name);
	return !failures;
}

static int deep(volatile int n)
{
	volatile char frame[256];

	frame[0] = (char)n;
	return n > 1000000 ? 0 : deep(n + 1) + frame[0];
}

static void crash_check(void)
{
	CHECK_INT(1 + 1, 3);
}

static noreturn void crash(const char *how)
{
	static const struct ktest failing = { "harness_failing_check", crash_check, "", 0 };
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) no_idt = { 0, 0 };

	kprintf("crash=%s\n", how);
	if (!memcmp(how, "fail", 5)) {
		run_one(&failing);
		kprintf("0 passed, 1 failed\n");
		kexit(EXIT_FAIL);
	} else if (!memcmp(how, "pf", 3)) {
		kprintf("%u\n", *(volatile uint32_t *)(PROBE_BASE + 0x400000));
	} else if (!memcmp(how, "stack", 6)) {
		kprintf("%d\n", deep(0));
	} else if (!memcmp(how, "triple", 7)) {
		__asm__ volatile("lidt %0; int3" : : "m"(no_idt));
	} else if (!memcmp(how, "hang", 5)) {
		for (;;)
			__asm__ volatile("cli; hlt");
	} else if (!memcmp(how, "exit", 5)) {
		kexit(EXIT_PASS);
	}
	panic("crash=%s: unknown, or it did not crash", how);
}

noreturn void kernel_main(void)
{
	static const struct ktest *cases[256];
	const struct ktest *t;
	unsigned passed = 0, failed = 0;
	size_t n, i;
	char only[64];

	cmdline_value("crash", only, sizeof(only));
	if (only[0])
		crash(only);
	n = sorted_cases(cases, ARRAY_SIZE(cases));
	if (n < (size_t)(__boot_tests_end - __boot_tests_start))
		panic("more than %zu boot tests: enlarge cases[]", ARRAY_SIZE(cases));
	cmdline_value("only", only, sizeof(only));
	kprintf("boot tests: %zu cases%s%s\n", n, only[0] ? ", running only " : "", only);
	for (i = 0; i < n; i++) {
		t = cases[i];
		if (only[0] && memcmp(t->name, only, strlen(only)))
			continue;
		if (run_one(t))
			passed++;
		else
			failed++;
	}
	kprintf("%u passed, %u failed\n", passed, failed);
	kexit(failed || !passed ? EXIT_FAIL : EXIT_PASS);
}
