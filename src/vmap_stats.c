/* SPDX-License-Identifier: MIT */
/*
 * Statistics, dump, debug views and self-check of the vmap manager. The
 * self-check verifies: VA allocator consistent, every free VA page and
 * every guard page has no present leaf entry, quarantine page count and
 * span match its list.
 */
#include "fmt.h"
#include "vmap_debug.h"
#include "vmap_internal.h"

/* CPU c's slot counters: each read atomically (only CPU c writes them). */
static void cpu_counters(const struct vtlmem_vmap *vm, unsigned c,
			 struct vtlmem_vmap_cpu_stats *st)
{
	const struct slot_cpu *sc = &vm->cpus[c];

	st->slot_maps = __atomic_load_n(&sc->s.maps, __ATOMIC_RELAXED);
	st->slot_unmaps = __atomic_load_n(&sc->s.unmaps, __ATOMIC_RELAXED);
	st->slot_flush_pages = __atomic_load_n(&sc->s.flush_pages, __ATOMIC_RELAXED);
	st->slot_flush_all = __atomic_load_n(&sc->s.flush_all, __ATOMIC_RELAXED);
}

static void slot_stats(const struct vtlmem_vmap *vm, struct vtlmem_vmap_stats *st)
{
	struct vtlmem_vmap_cpu_stats cs;
	unsigned c;

	for (c = 0; c < vm->ncpus; c++) {
		cpu_counters(vm, c, &cs);
		st->slot_maps += cs.slot_maps;
		st->slot_unmaps += cs.slot_unmaps;
		st->local_flush_pages += cs.slot_flush_pages;
		st->local_flush_all += cs.slot_flush_all;
	}
}

int vtlmem_vmap_get_cpu_stats(struct vtlmem_vmap *vm, unsigned cpu,
			      struct vtlmem_vmap_cpu_stats *st)
{
	if (!vm || !st || cpu >= vm->ncpus)
		return -VTLMEM_EINVAL;
	cpu_counters(vm, cpu, st);
	return 0;
}

void vtlmem_vmap_get_stats(struct vtlmem_vmap *vm, struct vtlmem_vmap_stats *st)
{
	if (!vm || !st)
		return;
	vm_lock(vm);
	st->maps = vm->st.maps;
	st->unmaps = vm->st.unmaps;
	st->slot_maps = st->slot_unmaps = 0;
	st->local_flush_pages = vm->st.flush_pages;
	st->local_flush_all = vm->st.flush_all;
	st->remote_shootdowns = vm->st.shootdowns;
	st->shootdown_failures = vm->st.failures;
	st->quarantined_pages = vm->q.pages + vm->inflight;
	st->mapped_pages = vm->st.mapped;
	st->pt_pages = vm->pt.pages;
	vm_unlock(vm);
	slot_stats(vm, st);
}

struct layout {
	uint64_t free_pages, free_ranges, largest, qmaps, pool;
	struct pgt_census tables;
};

static void dump_line2(void (*puts)(void *arg, const char *line), void *arg,
		       const char *a, uint64_t x, const char *b, uint64_t y)
{
	char line[96];
	size_t n = vtlmem_fmt_str(line, sizeof(line), 0, a);

	n = vtlmem_fmt_u64(line, sizeof(line), n, x);
	n = vtlmem_fmt_str(line, sizeof(line), n, b);
	vtlmem_fmt_u64(line, sizeof(line), n, y);
	puts(arg, line);
}

static void dump_window(const struct vtlmem_vmap *vm,
			void (*puts)(void *arg, const char *line), void *arg)
{
	char line[128];
	size_t n = vtlmem_fmt_str(line, sizeof(line), 0, "vmap: window ");

	n = vtlmem_fmt_hex(line, sizeof(line), n, vm->base, 16);
	n = vtlmem_fmt_str(line, sizeof(line), n, " - ");
	n = vtlmem_fmt_hex(line, sizeof(line), n, vm->base + (vm->size - 1), 16);
	n = vtlmem_fmt_str(line, sizeof(line), n, ", slots from ");
	n = vtlmem_fmt_hex(line, sizeof(line), n, vm->slot_base, 16);
	n = vtlmem_fmt_str(line, sizeof(line), n, " (");
	n = vtlmem_fmt_u64(line, sizeof(line), n, vm->ncpus);
	n = vtlmem_fmt_str(line, sizeof(line), n, " cpus x ");
	n = vtlmem_fmt_u64(line, sizeof(line), n, vm->spc);
	vtlmem_fmt_str(line, sizeof(line), n, " pages)");
	puts(arg, line);
}

void vtlmem_vmap_dump(struct vtlmem_vmap *vm, void (*puts)(void *arg, const char *line),
		      void *arg)
{
	struct vtlmem_vmap_stats st;
	struct vtlmem_mapping *m;
	struct layout l;

	if (!vm || !puts)
		return;
	vm_lock(vm);
	l.free_pages = vm->vas.free_pages;
	l.free_ranges = vm->vas.nfree;
	l.largest = vtlmem_vas_largest(&vm->vas);
	l.pool = vm->npool;
	for (l.qmaps = 0, m = vm->q.head; m; m = m->next)
		l.qmaps++;
	vtlmem_pgt_check(&vm->pt, 0, &l.tables);   /* a census: counts even if inconsistent */
	vm_unlock(vm);
	vtlmem_vmap_get_stats(vm, &st);
	dump_window(vm, puts, arg);
	dump_line2(puts, arg, "vmap: free va pages ", l.free_pages, " in ranges ", l.free_ranges);
	dump_line2(puts, arg, "vmap: largest free range ", l.largest, " pages, pooled handles ",
		   l.pool);
	dump_line2(puts, arg, "vmap: maps ", st.maps, " unmaps ", st.unmaps);
	dump_line2(puts, arg, "vmap: slot maps ", st.slot_maps, " slot unmaps ", st.slot_unmaps);
	dump_line2(puts, arg, "vmap: mapped pages ", st.mapped_pages, " page-table pages ",
		   st.pt_pages);
	dump_line2(puts, arg, "vmap: leaf tables ", l.tables.tables[0], " valid leaf entries ",
		   l.tables.leaves);
	dump_line2(puts, arg, "vmap: quarantined pages ", st.quarantined_pages, " in mappings ",
		   l.qmaps);
	dump_line2(puts, arg, "vmap: local flushes: pages ", st.local_flush_pages, " whole ",
		   st.local_flush_all);
	dump_line2(puts, arg, "vmap: remote shootdowns ", st.remote_shootdowns, " failed ",
		   st.shootdown_failures);
}

/* ---- debug views -------------------------------------------------------------- */

const struct vas *vtlmem_vmap_debug_vas(const struct vtlmem_vmap *vm)
{
	return &vm->vas;
}

const struct pgt *vtlmem_vmap_debug_pgt(const struct vtlmem_vmap *vm)
{
	return &vm->pt;
}

uintptr_t vtlmem_vmap_debug_slot_base(const struct vtlmem_vmap *vm)
{
	return vm->slot_base;
}

uint64_t vtlmem_vmap_debug_pool(const struct vtlmem_vmap *vm)
{
	return vm->npool;
}

struct clear_check {
	const struct pgt *pt;
	bool ok;
};

static void free_range_clear(void *arg, uint64_t start, uint64_t len)
{
	struct clear_check *cc = arg;
	uint64_t i;

	for (i = 0; i < len; i++)
		if (vtlmem_pgt_leaf_entry(cc->pt, (uintptr_t)(start + i) << VTLMEM_PAGE_SHIFT))
			cc->ok = false;
}

static int check_quarantine(const struct vtlmem_vmap *vm, struct clear_check *cc)
{
	const struct vtlmem_mapping *m;
	uint64_t pages = 0;

	for (m = vm->q.head; m; m = m->next) {
		if (state_get(m) != M_QUAR || m->va < vm->q.lo || m->va + m->npages * PG > vm->q.hi)
			return -3;
		free_range_clear(cc, m->va >> VTLMEM_PAGE_SHIFT, m->npages + 1);
		pages += m->npages;
	}
	return pages == vm->q.pages ? 0 : -4;
}

/*
 * The tables against their bookkeeping (vtlmem_pgt_check), and the valid leaf
 * entries: exactly the mapped window pages plus the slot pages in use
 * (callers run it with no map, unmap or slot call in flight).
 */
static int check_tables(struct vtlmem_vmap *vm)
{
	struct pgt_census c;
	uint64_t slots = 0;
	unsigned cpu;

	if (vtlmem_pgt_check(&vm->pt, 0, &c))
		return -6;
	for (cpu = 0; cpu < vm->ncpus; cpu++)
		slots += vm->cpus[cpu].s.top;
	return c.leaves == vm->st.mapped + slots ? 0 : -7;
}

int vtlmem_vmap_selfcheck(struct vtlmem_vmap *vm)
{
	struct clear_check cc = { &vm->pt, true };
	int ret = 0;

	vm_lock(vm);
	if (vtlmem_vas_check(&vm->vas) < 0)
		ret = -1;
	vtlmem_vas_for_each(&vm->vas, free_range_clear, &cc);
	if (!ret && !cc.ok)
		ret = -2;
	if (!ret)
		ret = check_quarantine(vm, &cc);
	if (!ret && !cc.ok)
		ret = -5;
	if (!ret)
		ret = check_tables(vm);
	vm_unlock(vm);
	return ret;
}
