// SPDX-License-Identifier: MIT
/*
 * The boot test suite's kernel_main: run every KTEST case (or, with
 * "only=<name>" on the command line, the cases whose name starts with it),
 * one result line each, then "N passed, M failed", and leave QEMU with
 * EXIT_PASS or EXIT_FAIL.
 *
 * "crash=<how>" instead makes the kernel fail in one way (a failed check,
 * a page fault outside the library, a stack overflow, a hang, an exit
 * without a summary; on another CPU: a page fault, a hang; and the arch's
 * own, arch_crash(): x86_64's triple fault), for harness-selftest: the
 * runner must report each as a failure.
 * "bench=1" runs the boot bench (bench.c) instead of the tests; "list=1"
 * prints "boot test <name>" for each case, in order, and exits.
 */
#include "ktest.h"
#include "kvtl.h"
#include "platform.h"

extern const struct ktest __boot_tests_start[], __boot_tests_end[];

#define MAX_SHOWN 4

static unsigned failures;
static char messages[MAX_SHOWN][200];
static struct spinlock fail_lock;       /* checks fail on any CPU */

void ktest_fail(const char *file, int line, const char *fmt, ...)
{
	unsigned long flags;
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	kvsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	flags = spin_lock_irqsave(&fail_lock);
	if (failures < MAX_SHOWN)
		ksnprintf(messages[failures], sizeof(messages[0]), "%s:%d: %s%s", file, line, msg,
			  smp_cpu_id() ? " (on an AP)" : "");
	failures++;
	spin_unlock_irqrestore(&fail_lock, flags);
}

unsigned ktest_failures(void)
{
	return __atomic_load_n(&failures, __ATOMIC_RELAXED);
}

/*
 * The platform and the kernel's vtlmem instance must be at rest between
 * cases: nothing mapped, nothing reserved (after a purge), preemption on
 * on every CPU, no SMP test switch left on.
 */
static void check_at_rest(void)
{
	struct vtlmem_vmap_stats st;
	unsigned i;

	if (preempt_depth_all())
		ktest_fail(__FILE__, __LINE__, "preemption still off (depth %u)",
			   preempt_depth_all());
	if (bps.pt_fail_after >= 0 || bps.heap_fail_after >= 0 || bps.shootdown_fail_next)
		ktest_fail(__FILE__, __LINE__, "fault injection still armed");
	platform_reset_injection();
	if (smp_sw.skip_ipis || smp_sw.no_poll || smp_sw.sd_timeout_us != SD_TIMEOUT_US_DEFAULT)
		ktest_fail(__FILE__, __LINE__, "an SMP test switch is still on");
	smp_set_skip_ipis(false);
	smp_sw.no_poll = false;
	smp_sw.sd_timeout_us = SD_TIMEOUT_US_DEFAULT;
	for (i = 0; i < smp_ncpus; i++)
		if (smp_is_deaf(i)) {
			ktest_fail(__FILE__, __LINE__, "cpu %u still ignores IPIs", i);
			smp_set_deaf(i, false);
		}
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

static const char *skipped;

void ktest_skip(const char *why)
{
	skipped = why;
}

/* Run one case: 1 passed, 0 failed, -1 skipped (not counted either way). */
static int run_one(const struct ktest *t)
{
	uint64_t t0 = cycles(), ms;
	unsigned i;

	failures = 0;
	skipped = NULL;
	oops_context = t->name;
	t->fn();
	oops_context = NULL;
	check_at_rest();
	ms = (cycles() - t0) / (cycles_khz ? cycles_khz : 1);
	if (ms >= 2000)
		kprintf("    (%s took %lu ms)\n", t->name, ms);
	if (skipped && !failures) {
		kprintf("%s: skipped (%s)\n", t->name, skipped);
		return -1;
	}
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

static void ap_fault(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	kprintf("%u\n", *(volatile uint32_t *)(PROBE_BASE + 0x400000));
}

static void ap_hang(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	cpu_stop();
}

static noreturn void crash(const char *how)
{
	static const struct ktest failing = { "harness_failing_check", crash_check, "", 0 };

	kprintf("crash=%s\n", how);
	if (!memcmp(how, "fail", 5)) {
		run_one(&failing);
		kprintf("0 passed, 1 failed\n");
		kexit(EXIT_FAIL);
	} else if (!memcmp(how, "pf", 3)) {
		kprintf("%u\n", *(volatile uint32_t *)(PROBE_BASE + 0x400000));
	} else if (!memcmp(how, "stack", 6)) {
		kprintf("%d\n", deep(0));
	} else if (!memcmp(how, "hang", 5)) {
		cpu_stop();
	} else if (!memcmp(how, "exit", 5)) {
		kexit(EXIT_PASS);
	} else if (!memcmp(how, "appf", 5) && smp_ncpus > 1) {
		smp_start(1, ap_fault, NULL);
		smp_wait(1);
	} else if (!memcmp(how, "aphang", 7) && smp_ncpus > 1) {
		smp_start(1, ap_hang, NULL);
		smp_wait(1);
	}
	arch_crash(how);
	panic("crash=%s: unknown, or it did not crash", how);
}

noreturn void kernel_main(void)
{
	static const struct ktest *cases[256];
	const struct ktest *t;
	unsigned passed = 0, failed = 0;
	size_t n, i;
	char only[64];

	cmdline_get("crash", only, sizeof(only));
	if (only[0])
		crash(only);
	cmdline_get("bench", only, sizeof(only));
	if (only[0])
		boot_bench();
	n = sorted_cases(cases, ARRAY_SIZE(cases));
	if (n < (size_t)(__boot_tests_end - __boot_tests_start))
		panic("more than %zu boot tests: enlarge cases[]", ARRAY_SIZE(cases));
	cmdline_get("list", only, sizeof(only));
	if (only[0]) {
		for (i = 0; i < n; i++)
			kprintf("boot test %s\n", cases[i]->name);
		kexit(EXIT_PASS);
	}
	cmdline_get("only", only, sizeof(only));
	kprintf("boot tests: %zu cases on %u CPU(s)%s%s\n", n, smp_ncpus,
		only[0] ? ", running only " : "", only);
	for (i = 0; i < n; i++) {
		t = cases[i];
		if (only[0] && memcmp(t->name, only, strlen(only)))
			continue;
		switch (run_one(t)) {
		case 1:
			passed++;
			break;
		case 0:
			failed++;
			break;
		default:
			break;
		}
	}
	kprintf("%u passed, %u failed\n", passed, failed);
	kexit(failed || !passed ? EXIT_FAIL : EXIT_PASS);
}
