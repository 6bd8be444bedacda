// SPDX-License-Identifier: MIT
/*
 * The platform the test kernel gives the library: what a secure kernel
 * implements to embed vtlmem (the worked example of the README).
 *
 *   pt_alloc/pt_free/pt_phys_to_virt  kernel page pool, via the direct map
 *   ownership                         only [VTL0_START, VTL0_END) is VTL0
 *   tlb_local                         NULL: the library's arch code
 *                                     invalidates itself, on the real MMU
 *   tlb_shootdown                     an IPI to every other online CPU,
 *                                     waiting for each one's acknowledgement
 *                                     (smp_shootdown; -EIO on timeout)
 *   lock ops                          NULL: the library's ticket spinlock
 *   cpu_id/ncpus                      the arch's per-CPU data; the CPUs online
 *   preempt_off/on                    interrupts off on this CPU / restored
 *                                     (nothing migrates: one thread per CPU)
 *   alloc/free                        kernel heap
 *   bug                               panic (a library invariant broke)
 * Each op counts its calls (atomically: any CPU may call); page-table
 * pages, allocations and shootdowns can be made to fail on demand (tests
 * arm that from one CPU while the others are idle).
 */
#include <vtlmem/types.h>

#include "platform.h"

struct boot_plat_state bps;

static void count(uint64_t *c, int64_t d)
{
	__atomic_fetch_add(c, (uint64_t)d, __ATOMIC_RELAXED);
}

static bool inject(int64_t *fail_after, uint64_t *injected)
{
	if (*fail_after < 0)
		return false;
	if (*fail_after > 0) {
		(*fail_after)--;
		return false;
	}
	*fail_after = -1;
	(*injected)++;
	return true;
}

static void *plat_pt_alloc(void *ctx, vtlmem_paddr_t *pa)
{
	uint64_t p;

	(void)ctx;
	if (inject(&bps.pt_fail_after, &bps.pt_injected))
		return NULL;
	p = page_alloc();
	if (!p)
		return NULL;
	count(&bps.pt_allocs, 1);
	count(&bps.pt_live, 1);
	*pa = vtlmem_pa(p);
	return phys_to_virt(p);
}

static void plat_pt_free(void *ctx, void *va, vtlmem_paddr_t pa)
{
	(void)ctx;
	if (va != phys_to_virt(vtlmem_pa_val(pa)))
		panic("pt_free(%p, %lx): address mismatch", va, vtlmem_pa_val(pa));
	if (!bps.pt_live)
		panic("pt_free(%lx): more frees than allocations", vtlmem_pa_val(pa));
	count(&bps.pt_frees, 1);
	count(&bps.pt_live, -1);
	page_free(vtlmem_pa_val(pa));
}

static void *plat_pt_phys_to_virt(void *ctx, vtlmem_paddr_t pa)
{
	uint64_t p = vtlmem_pa_val(pa);

	(void)ctx;
	if (p < pool_start || p >= HEAP_START || (p & (PAGE_SIZE - 1)))
		panic("pt_phys_to_virt(%lx): not a page-table page", p);
	return phys_to_virt(p);
}

static int plat_ownership(void *ctx, vtlmem_paddr_t pa, uint64_t len)
{
	uint64_t start = vtlmem_pa_val(pa), end;

	(void)ctx;
	count(&bps.ownership_calls, 1);
	if (!len || __builtin_add_overflow(start, len, &end))
		return VTLMEM_OWNER_SECURE;
	if (start >= VTL0_START && end <= VTL0_END)
		return VTLMEM_OWNER_VTL0;
	return VTLMEM_OWNER_SECURE;
}

static int plat_tlb_shootdown(void *ctx, uintptr_t va, uint64_t len)
{
	uint64_t fail;

	(void)ctx;
	count(&bps.shootdowns, 1);
	__atomic_store_n(&bps.last_shootdown_va, va, __ATOMIC_RELAXED);
	__atomic_store_n(&bps.last_shootdown_len, len, __ATOMIC_RELAXED);
	fail = __atomic_load_n(&bps.shootdown_fail_next, __ATOMIC_RELAXED);
	while (fail && !__atomic_compare_exchange_n(&bps.shootdown_fail_next, &fail, fail - 1,
						    false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	if (fail)
		return -VTLMEM_EIO;
	return smp_shootdown(va, len);
}

static unsigned plat_cpu_id(void *ctx)
{
	(void)ctx;
	return smp_cpu_id();
}

static unsigned long plat_preempt_off(void *ctx)
{
	unsigned long flags = irq_save();

	(void)ctx;
	kcpu(smp_cpu_id())->preempt_depth++;
	count(&bps.preempt_offs, 1);
	return flags;
}

static void plat_preempt_on(void *ctx, unsigned long cookie)
{
	struct kcpu *c = kcpu(smp_cpu_id());

	(void)ctx;
	if (!c->preempt_depth)
		panic("preempt_on without preempt_off on cpu %u", smp_cpu_id());
	c->preempt_depth--;
	irq_restore(cookie);
}

unsigned preempt_depth_here(void)
{
	return kcpu(smp_cpu_id())->preempt_depth;
}

unsigned preempt_depth_all(void)
{
	unsigned i, d = 0;

	for (i = 0; i < smp_ncpus; i++)
		d += __atomic_load_n(&kcpu(i)->preempt_depth, __ATOMIC_RELAXED);
	return d;
}

static void *plat_alloc(void *ctx, size_t size)
{
	void *p;

	(void)ctx;
	if (inject(&bps.heap_fail_after, &bps.heap_injected))
		return NULL;
	p = kmalloc(size);
	if (!p)
		return NULL;
	memset(p, 0xa5, size);  /* the library must initialise what it uses */
	count(&bps.heap_allocs, 1);
	count(&bps.heap_live, 1);
	count(&bps.heap_live_bytes, (int64_t)size);
	return p;
}

static void plat_free(void *ctx, void *p, size_t size)
{
	(void)ctx;
	if (!p)
		return;
	if (!bps.heap_live || bps.heap_live_bytes < size)
		panic("free(%p, %zu): more freed than allocated", p, size);
	memset(p, 0x5a, size);
	count(&bps.heap_frees, 1);
	count(&bps.heap_live, -1);
	count(&bps.heap_live_bytes, -(int64_t)size);
	kfree(p, size);
}

static void plat_bug(void *ctx, const char *file, unsigned line)
{
	(void)ctx;
	panic("vtlmem bug at %s:%u (a library invariant is broken)", file, line);
}

/* Completed by platform_init() (pa_bits from the arch, ncpus: CPUs online). */
struct vtlmem_platform boot_platform = {
	.ctx = &bps,
	.allow_page0 = false,
	.pt_alloc = plat_pt_alloc,
	.pt_free = plat_pt_free,
	.pt_phys_to_virt = plat_pt_phys_to_virt,
	.ownership = plat_ownership,
	.tlb_local = NULL,
	.tlb_shootdown = plat_tlb_shootdown,
	.ncpus = 1,
	.cpu_id = plat_cpu_id,
	.preempt_off = plat_preempt_off,
	.preempt_on = plat_preempt_on,
	.alloc = plat_alloc,
	.free = plat_free,
	.bug = plat_bug,
};

void platform_reset_injection(void)
{
	bps.pt_fail_after = -1;
	bps.heap_fail_after = -1;
	bps.shootdown_fail_next = 0;
}

void platform_init(void)
{
	boot_platform.pa_bits = arch_pa_bits();
	boot_platform.ncpus = smp_ncpus;
	platform_reset_injection();
}
