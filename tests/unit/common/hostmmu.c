/* SPDX-License-Identifier: MIT */
#include "hostmmu.h"
#include "fault.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PG 4096ull
#define NENT (1u << HMMU_PT_BITS)        /* entries per table */

static struct hostmmu *mirror_mmu;   /* the one with the mirror enabled */

static void die(const char *what)
{
	perror(what);
	abort();
}

void hostmmu_init_at(struct hostmmu *m, struct hostplat *hp, uint64_t size, uint64_t align,
		     uint64_t offset)
{
	uintptr_t start, base;

	if (!size || size % PG || align < PG || (align & (align - 1)) || offset >= align ||
	    offset % PG) {
		fprintf(stderr, "hostmmu: bad window geometry\n");
		abort();
	}
	memset(m, 0, sizeof(*m));
	m->hp = hp;
	m->resv_len = size + 2 * align;
	m->resv = mmap(NULL, m->resv_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (m->resv == MAP_FAILED)
		die("hostmmu: mmap window");
	start = (uintptr_t)m->resv;
	base = ((start + align - 1) & ~(uintptr_t)(align - 1)) + offset;
	m->base = base;
	m->size = size;
}

void hostmmu_init(struct hostmmu *m, struct hostplat *hp, uint64_t size)
{
	hostmmu_init_at(m, hp, size, 2ull << 20, 0);
}

void hostmmu_config(const struct hostmmu *m, struct vtlmem_vmap_config *cfg)
{
	cfg->base = vtlmem_va(m->base);
	cfg->size = m->size;
}

void hostmmu_install(struct hostmmu *m, struct vtlmem_vmap *vm)
{
	struct vtlmem_top_entry e[NENT];
	size_t i;

	m->root = m->hp->ops.pt_alloc(m->hp, &m->root_pa);
	if (!m->root)
		die("hostmmu: root table");
	m->ntop = vtlmem_vmap_top_entries(vm, e, NENT);
	if (m->ntop == 0 || m->ntop > NENT) {
		fprintf(stderr, "hostmmu: %zu top entries\n", m->ntop);
		abort();
	}
	for (i = 0; i < m->ntop; i++)
		__atomic_store_n(&m->root[e[i].index & (NENT - 1)], e[i].value, __ATOMIC_RELEASE);
}

void hostmmu_fini(struct hostmmu *m)
{
	if (m->mirror)
		hostmmu_mirror_disable(m);
	if (m->root)
		m->hp->ops.pt_free(m->hp, m->root, m->root_pa);
	m->root = NULL;
	munmap(m->resv, m->resv_len);
	m->resv = NULL;
}

/* ---- walking -------------------------------------------------------- */

/* log2 of the bytes one entry of a level-l table maps. */
static unsigned shift_of(int level)
{
	return 12 + HMMU_PT_BITS * (unsigned)level;
}

static unsigned idx(uintptr_t va, int level)
{
	return (unsigned)(va >> shift_of(level)) & (NENT - 1);
}

/* The table at pa, or NULL if pa is not inside simulated memory. */
static const uint64_t *table_at(const struct hostmmu *m, uint64_t pa)
{
	if (pa + PG > m->hp->phys_size)
		return NULL;
	return (const uint64_t *)(m->hp->phys + pa);
}

void hostmmu_walk(const struct hostmmu *m, uintptr_t va, struct hostmmu_walk *w)
{
	const uint64_t *t = m->root;
	int level;

	memset(w, 0, sizeof(*w));
	for (level = HMMU_LEVELS - 1; level >= 0; level--) {
		w->level = level;
		/* acquire: a table is linked with a release store */
		w->entry = __atomic_load_n(&t[idx(va, level)], __ATOMIC_ACQUIRE);
		if (!hmmu_valid(w->entry))
			return;
		if (level == 0) {
			w->present = true;
			w->pa = hmmu_addr(w->entry);
			return;
		}
		if (hmmu_block(w->entry, level) || !(t = table_at(m, hmmu_addr(w->entry)))) {
			w->bad = true;
			return;
		}
	}
}

uint64_t hostmmu_pte(const struct hostmmu *m, uintptr_t va)
{
	struct hostmmu_walk w;

	hostmmu_walk(m, va, &w);
	return w.level == 0 ? w.entry : 0;
}

uint64_t hostmmu_count_present(const struct hostmmu *m, uintptr_t va, uint64_t len)
{
	struct hostmmu_walk w;
	uint64_t off, n = 0;

	for (off = 0; off < len; off += PG) {
		hostmmu_walk(m, va + off, &w);
		n += w.present;
	}
	return n;
}

/* ---- snapshots ------------------------------------------------------- */

static uintptr_t sign_extend(uintptr_t va)
{
	uintptr_t top = (uintptr_t)1 << (HMMU_VA_BITS - 1);

	return (va & top) ? va | ~((top << 1) - 1) : va;
}

static void snap_add(struct hostmmu_snap *s, size_t *cap, uint64_t pa, int level, uintptr_t va,
		     const uint64_t *t)
{
	if (s->n == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		s->t = realloc(s->t, *cap * sizeof(*s->t));
		if (!s->t)
			die("hostmmu: realloc");
	}
	s->t[s->n].pa = pa;
	s->t[s->n].level = level;
	s->t[s->n].va = va;
	memcpy(s->t[s->n].bytes, t, PG);
	s->n++;
}

static void snap_walk(const struct hostmmu *m, struct hostmmu_snap *s, size_t *cap, uint64_t pa,
		      const uint64_t *t, int level, uintptr_t va)
{
	const uint64_t *child;
	uint64_t e;
	unsigned i;

	snap_add(s, cap, pa, level, va, t);
	for (i = 0; level > 0 && i < NENT; i++) {
		e = __atomic_load_n(&t[i], __ATOMIC_RELAXED);
		if (!hmmu_valid(e) || hmmu_block(e, level) || !(child = table_at(m, hmmu_addr(e))))
			continue;
		snap_walk(m, s, cap, hmmu_addr(e), child, level - 1,
			  sign_extend(va + ((uintptr_t)i << shift_of(level))));
	}
}

static int by_pa(const void *a, const void *b)
{
	const struct hostmmu_table *x = a, *y = b;

	return x->pa < y->pa ? -1 : x->pa > y->pa;
}

void hostmmu_snapshot(const struct hostmmu *m, struct hostmmu_snap *s)
{
	size_t cap = 0;

	s->n = 0;
	s->t = NULL;
	snap_walk(m, s, &cap, vtlmem_pa_val(m->root_pa), m->root, HMMU_LEVELS - 1, 0);
	qsort(s->t, s->n, sizeof(*s->t), by_pa);
}

void hostmmu_snap_free(struct hostmmu_snap *s)
{
	free(s->t);
	s->t = NULL;
	s->n = 0;
}

bool hostmmu_snap_equal(const struct hostmmu_snap *a, const struct hostmmu_snap *b)
{
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (a->t[i].pa != b->t[i].pa || a->t[i].level != b->t[i].level ||
		    memcmp(a->t[i].bytes, b->t[i].bytes, PG))
			return false;
	return true;
}

static const struct hostmmu_table *snap_find(const struct hostmmu_snap *s, uint64_t pa)
{
	struct hostmmu_table key = { .pa = pa };

	return bsearch(&key, s->t, s->n, sizeof(*s->t), by_pa);
}

static bool overlaps(uintptr_t a, uintptr_t alen, uintptr_t lo, uintptr_t hi)
{
	return a < hi && lo < a + alen;
}

/* Entries of table x (in a and b) that changed without the range's excuse. */
static size_t table_unexplained(const struct hostmmu_table *x, const struct hostmmu_table *y,
				uintptr_t lo, uintptr_t hi)
{
	const uint64_t *ea = (const uint64_t *)x->bytes, *eb = (const uint64_t *)y->bytes;
	uintptr_t span = (uintptr_t)1 << shift_of(x->level), eva;
	size_t i, bad = 0;

	for (i = 0; i < NENT; i++) {
		if (ea[i] == eb[i])
			continue;
		eva = sign_extend(x->va + i * span);
		if (x->level == 0 && eva >= lo && eva < hi)
			continue;
		if (x->level > 0 && ea[i] == 0 && overlaps(eva, span, lo, hi))
			continue;
		bad++;
	}
	return bad;
}

/* A table only in b: a leaf table mapping nothing outside [lo, hi). */
static size_t new_table_unexplained(const struct hostmmu_table *y, uintptr_t lo, uintptr_t hi)
{
	const uint64_t *e = (const uint64_t *)y->bytes;
	uintptr_t eva;
	size_t i, bad = 0;

	if (y->level != 0)
		return 1;
	for (i = 0; i < NENT; i++) {
		eva = y->va + i * PG;
		if (e[i] && !(eva >= lo && eva < hi))
			bad++;
	}
	return bad;
}

size_t hostmmu_snap_unexplained(const struct hostmmu_snap *a, const struct hostmmu_snap *b,
				uintptr_t lo, uintptr_t hi)
{
	const struct hostmmu_table *x, *y;
	size_t i, bad = 0;

	for (i = 0; i < a->n; i++) {
		x = &a->t[i];
		y = snap_find(b, x->pa);
		if (!y || y->level != x->level || y->va != x->va)
			bad++;
		else
			bad += table_unexplained(x, y, lo, hi);
	}
	for (i = 0; i < b->n; i++)
		if (!snap_find(a, b->t[i].pa))
			bad += new_table_unexplained(&b->t[i], lo, hi);
	return bad;
}

/* ---- the mirror ------------------------------------------------------ */

/*
 * Per-CPU model. Each simulated CPU has a direct-indexed array of entries
 * over the window's pages (0, or pa | E_VALID | E_RW | E_INST) plus a list
 * of the pages it caches (pos[] = place in the list), so a range or a whole
 * invalidation costs min(range, cached) steps. E_INST marks the pages of
 * the current CPU that are mapped into the host window now; they are also
 * listed in inst[] (ipos[] = place), so a CPU switch unmaps only those.
 * Everything is used from one thread (the owner); the resolver changes it
 * in signal context, which never interrupts the other functions here (they
 * touch no window page).
 */
#define E_VALID 1ull
#define E_RW    2ull
#define E_INST  4ull
#define E_PA    (~(uint64_t)(PG - 1))

struct tlb_cpu {
	uint64_t *ent;
	uint32_t *pos;
	uint32_t *list;
	uint32_t n;
};

struct hostmmu_tlb {
	struct tlb_cpu cpu[HOSTMMU_MAX_CPUS];
	uint32_t *inst, *ipos;
	uint32_t ninst;
	unsigned cur;               /* the CPU whose entries are visible */
	long owner;                 /* thread id of the only user        */
	void *mem;
	size_t len;
	uint64_t npages;
};

static bool in_window(const struct hostmmu *m, uintptr_t va)
{
	return va >= m->base && va - m->base < m->size;
}

static long my_tid(void)
{
	return syscall(SYS_gettid);   /* async-signal-safe */
}

/* Signal-safe fatal error of the test infrastructure. */
static void fatal(const char *msg)
{
	ssize_t r = write(2, msg, strlen(msg));

	(void)r;
	abort();
}

static void owner_check(const struct hostmmu_tlb *t)
{
	if (my_tid() != t->owner)
		fatal("hostmmu: the per-CPU TLB model is single-threaded: a second thread "
		      "faulted, invalidated or switched CPUs; threaded tests call "
		      "hostmmu_mirror_shared() before starting threads\n");
}

static void page_none(uintptr_t va, uint64_t len)
{
	if (mmap((void *)va, len, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
		fatal("hostmmu: mmap PROT_NONE failed\n");
}

static bool page_map(const struct hostmmu *m, uintptr_t va, uint64_t pa, bool rw)
{
	int prot = PROT_READ | (rw ? PROT_WRITE : 0);

	return mmap((void *)va, PG, prot, MAP_SHARED | MAP_FIXED, m->hp->memfd, (off_t)pa) !=
	       MAP_FAILED;
}

static uintptr_t page_va(const struct hostmmu *m, uint64_t i)
{
	return m->base + i * PG;
}

static void uninstall(struct hostmmu *m, uint32_t i)
{
	struct hostmmu_tlb *t = m->tlb;
	uint32_t k = t->ipos[i], last = t->inst[--t->ninst];

	t->inst[k] = last;
	t->ipos[last] = k;
	t->cpu[t->cur].ent[i] &= ~E_INST;
	page_none(page_va(m, i), PG);
}

/* Map the current CPU's entry of page i into the window. */
static bool install(struct hostmmu *m, uint32_t i)
{
	struct hostmmu_tlb *t = m->tlb;
	uint64_t e = t->cpu[t->cur].ent[i];

	if (!page_map(m, page_va(m, i), e & E_PA, (e & E_RW) != 0))
		return false;
	t->cpu[t->cur].ent[i] = e | E_INST;
	t->ipos[i] = t->ninst;
	t->inst[t->ninst++] = i;
	return true;
}

static void uninstall_all(struct hostmmu *m)
{
	struct hostmmu_tlb *t = m->tlb;
	uint64_t *ent = t->cpu[t->cur].ent;
	uint32_t k, lo = UINT32_MAX, hi = 0;

	if (!t->ninst)
		return;
	for (k = 0; k < t->ninst; k++) {
		ent[t->inst[k]] &= ~E_INST;
		if (t->inst[k] < lo)
			lo = t->inst[k];
		if (t->inst[k] > hi)
			hi = t->inst[k];
	}
	if (t->ninst <= 4)
		for (k = 0; k < t->ninst; k++)
			page_none(page_va(m, t->inst[k]), PG);
	else
		page_none(page_va(m, lo), (uint64_t)(hi - lo + 1) * PG);
	t->ninst = 0;
}

static void entry_add(struct hostmmu *m, unsigned cpu, uint32_t i, uint64_t pa, bool rw)
{
	struct tlb_cpu *c = &m->tlb->cpu[cpu];

	c->ent[i] = pa | E_VALID | (rw ? E_RW : 0);
	c->pos[i] = c->n;
	c->list[c->n++] = i;
}

static void entry_remove(struct hostmmu *m, unsigned cpu, uint32_t i)
{
	struct tlb_cpu *c = &m->tlb->cpu[cpu];
	uint32_t k = c->pos[i], last = c->list[--c->n];

	if (c->ent[i] & E_INST)
		uninstall(m, i);
	c->list[k] = last;
	c->pos[last] = k;
	c->ent[i] = 0;
}

/* Drop cpu's translations of window pages [lo, hi). */
static void cpu_invalidate(struct hostmmu *m, unsigned cpu, uint64_t lo, uint64_t hi)
{
	struct tlb_cpu *c = &m->tlb->cpu[cpu];
	uint64_t i;
	uint32_t k;

	if (hi - lo > c->n) {
		for (k = c->n; k-- > 0;)
			if (c->list[k] >= lo && c->list[k] < hi)
				entry_remove(m, cpu, c->list[k]);
		return;
	}
	for (i = lo; i < hi; i++)
		if (c->ent[i] & E_VALID)
			entry_remove(m, cpu, (uint32_t)i);
}

/* [va, va + len) as window page indices [*lo, *hi); false if disjoint. */
static bool window_pages(const struct hostmmu *m, uintptr_t va, uint64_t len, uint64_t *lo,
			 uint64_t *hi)
{
	uintptr_t a = va, b = va + len;

	if (b < a)
		b = UINTPTR_MAX;
	if (a < m->base)
		a = m->base;
	if (b > m->base + m->size)
		b = m->base + m->size;
	if (a >= b)
		return false;
	*lo = (a - m->base) / PG;
	*hi = (b - m->base + PG - 1) / PG;
	return true;
}

static struct hostmmu_tlb *tlb_new(const struct hostmmu *m)
{
	struct hostmmu_tlb *t = calloc(1, sizeof(*t));
	uint64_t n = m->size / PG;
	uint8_t *p;
	unsigned c;

	if (!t)
		die("hostmmu: calloc");
	if (n > UINT32_MAX) {
		fprintf(stderr, "hostmmu: window too large for the per-CPU model\n");
		abort();
	}
	t->npages = n;
	t->len = n * (HOSTMMU_MAX_CPUS * (8 + 4 + 4) + 8);
	t->mem = mmap(NULL, t->len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (t->mem == MAP_FAILED)
		die("hostmmu: mmap TLBs");
	p = t->mem;
	for (c = 0; c < HOSTMMU_MAX_CPUS; c++) {
		t->cpu[c].ent = (uint64_t *)p;
		p += n * 8;
		t->cpu[c].pos = (uint32_t *)p;
		p += n * 4;
		t->cpu[c].list = (uint32_t *)p;
		p += n * 4;
	}
	t->inst = (uint32_t *)p;
	p += n * 4;
	t->ipos = (uint32_t *)p;
	t->cur = hostplat_get_cpu();
	t->owner = my_tid();
	if (t->cur >= HOSTMMU_MAX_CPUS) {
		fprintf(stderr, "hostmmu: current CPU %u >= %d\n", t->cur, HOSTMMU_MAX_CPUS);
		abort();
	}
	return t;
}

static void tlb_free(struct hostmmu *m)
{
	if (!m->tlb)
		return;
	uninstall_all(m);
	munmap(m->tlb->mem, m->tlb->len);
	free(m->tlb);
	m->tlb = NULL;
}

/* Shared model: replace [va, va + len) (clipped) with inaccessible memory. */
static void drop(struct hostmmu *m, uintptr_t va, uint64_t len)
{
	uint64_t lo, hi;

	if (window_pages(m, va, len, &lo, &hi))
		page_none(page_va(m, lo), (hi - lo) * PG);
}

static struct hostmmu *mirror_of(struct hostplat *hp)
{
	struct hostmmu *m = __atomic_load_n(&mirror_mmu, __ATOMIC_ACQUIRE);

	return m && m->hp == hp ? m : NULL;
}

static void on_tlb_local(struct hostplat *hp, uintptr_t va, uint64_t npages)
{
	struct hostmmu *m = mirror_of(hp);
	uint64_t lo, hi, len;

	if (!m)
		return;
	__atomic_add_fetch(&m->drops, 1, __ATOMIC_RELAXED);
	len = npages > UINT64_MAX / PG ? UINT64_MAX : npages * PG;
	if (m->shared) {
		if (npages == 0)
			drop(m, m->base, m->size);
		else
			drop(m, va, len);
		return;
	}
	owner_check(m->tlb);
	if (npages == 0)
		cpu_invalidate(m, m->tlb->cur, 0, m->tlb->npages);
	else if (window_pages(m, va, len, &lo, &hi))
		cpu_invalidate(m, m->tlb->cur, lo, hi);
}

static void on_shootdown(struct hostplat *hp, uintptr_t va, uint64_t len)
{
	struct hostmmu *m = mirror_of(hp);
	uint64_t lo, hi;
	unsigned c;

	if (!m)
		return;
	__atomic_add_fetch(&m->drops, 1, __ATOMIC_RELAXED);
	if (m->shared) {
		drop(m, va, len);
		return;
	}
	owner_check(m->tlb);
	if (!window_pages(m, va, len, &lo, &hi))
		return;
	for (c = 0; c < HOSTMMU_MAX_CPUS; c++)
		if (c != m->tlb->cur)
			cpu_invalidate(m, c, lo, hi);
}

static void on_cpu_switch(unsigned from, unsigned to)
{
	struct hostmmu *m = __atomic_load_n(&mirror_mmu, __ATOMIC_ACQUIRE);

	(void)from;
	if (!m || m->shared || !m->tlb)
		return;
	owner_check(m->tlb);
	if (to >= HOSTMMU_MAX_CPUS) {
		fprintf(stderr, "hostmmu: simulated CPU %u >= %d\n", to, HOSTMMU_MAX_CPUS);
		abort();
	}
	uninstall_all(m);
	m->tlb->cur = to;
}

/*
 * Walk va's page; if the access is allowed and the filter agrees, cache the
 * translation (per-CPU: in the current CPU's TLB) and map the page in.
 */
static bool fill(struct hostmmu *m, uintptr_t va, int is_write)
{
	struct hostmmu_walk w;
	bool rw;

	hostmmu_walk(m, va, &w);
	if (!w.present || (is_write && !hmmu_writable(w.entry)) || w.pa + PG > m->hp->phys_size)
		return false;
	if (m->fill_ok && !m->fill_ok(m->fill_arg, w.pa))
		return false;
	rw = hmmu_writable(w.entry);
	if (m->shared) {
		if (!page_map(m, va, w.pa, rw))
			return false;
	} else {
		uint32_t i = (uint32_t)((va - m->base) / PG);

		entry_add(m, m->tlb->cur, i, w.pa, rw);
		if (!install(m, i)) {
			entry_remove(m, m->tlb->cur, i);
			return false;
		}
	}
	__atomic_add_fetch(&m->fills, 1, __ATOMIC_RELAXED);
	return true;
}

/* A cached translation of the current CPU for the access, or walk. */
static bool fill_percpu(struct hostmmu *m, uintptr_t va, int is_write)
{
	struct hostmmu_tlb *t = m->tlb;
	uint32_t i = (uint32_t)((va - m->base) / PG);
	uint64_t e = t->cpu[t->cur].ent[i];

	if (e & E_VALID) {
		if (is_write && !(e & E_RW)) {
			entry_remove(m, t->cur, i);   /* a #PF drops the read-only entry */
			return fill(m, va, is_write);
		}
		if (e & E_INST)
			return false;   /* mapped in, and still faulting: not allowed */
		if (!install(m, i))
			return false;
		__atomic_add_fetch(&m->reinstalls, 1, __ATOMIC_RELAXED);
		return true;
	}
	return fill(m, va, is_write);
}

/* Software TLB fill, in signal context. */
static int resolve(void *addr, int is_write)
{
	struct hostmmu *m = __atomic_load_n(&mirror_mmu, __ATOMIC_ACQUIRE);
	uintptr_t va = (uintptr_t)addr & ~(uintptr_t)(PG - 1), end;
	unsigned k;

	if (!m || !in_window(m, va))
		return 0;
	if (!m->shared) {
		owner_check(m->tlb);
		if (!fill_percpu(m, va, is_write))
			return 0;
	} else if (!fill(m, va, is_write)) {
		return 0;
	}
	/* fill-ahead: the next pages with present entries, read access */
	end = m->base + m->size;
	for (k = 1; k <= m->fill_ahead && va + k * PG < end; k++) {
		uintptr_t v = va + k * PG;

		if (!m->shared && (m->tlb->cpu[m->tlb->cur].ent[(v - m->base) / PG] & E_VALID))
			break;
		if (!fill(m, v, 0))
			break;
	}
	return 1;
}

void hostmmu_mirror_enable(struct hostmmu *m)
{
	fault_install();
	tlb_free(m);
	if (!m->shared)
		m->tlb = tlb_new(m);
	__atomic_store_n(&mirror_mmu, m, __ATOMIC_RELEASE);
	m->hp->on_tlb_local = on_tlb_local;
	m->hp->on_shootdown = on_shootdown;
	if (!m->shared)
		hostplat_set_cpu_hook(on_cpu_switch);
	fault_set_resolver(resolve);
	m->mirror = true;
}

void hostmmu_mirror_disable(struct hostmmu *m)
{
	fault_set_resolver(NULL);
	hostplat_set_cpu_hook(NULL);
	m->hp->on_tlb_local = NULL;
	m->hp->on_shootdown = NULL;
	__atomic_store_n(&mirror_mmu, NULL, __ATOMIC_RELEASE);
	tlb_free(m);
	drop(m, m->base, m->size);
	m->mirror = false;
}

void hostmmu_mirror_shared(struct hostmmu *m)
{
	if (m->mirror && !m->shared) {
		owner_check(m->tlb);
		hostplat_set_cpu_hook(NULL);
		tlb_free(m);
		drop(m, m->base, m->size);
	}
	m->shared = true;
}

void hostmmu_tlb_flush_all(struct hostmmu *m)
{
	unsigned c;

	if (!m->mirror)
		return;
	if (m->shared) {
		drop(m, m->base, m->size);
		return;
	}
	owner_check(m->tlb);
	for (c = 0; c < HOSTMMU_MAX_CPUS; c++)
		cpu_invalidate(m, c, 0, m->tlb->npages);
}

bool hostmmu_tlb_lookup(const struct hostmmu *m, unsigned cpu, uintptr_t va, uint64_t *pa,
			bool *rw)
{
	uint64_t e;

	if (!m->mirror || m->shared || !m->tlb || cpu >= HOSTMMU_MAX_CPUS || !in_window(m, va))
		return false;
	e = m->tlb->cpu[cpu].ent[(va - m->base) / PG];
	if (!(e & E_VALID))
		return false;
	if (pa)
		*pa = e & E_PA;
	if (rw)
		*rw = (e & E_RW) != 0;
	return true;
}

uint64_t hostmmu_tlb_entries(const struct hostmmu *m, unsigned cpu)
{
	if (!m->mirror || m->shared || !m->tlb || cpu >= HOSTMMU_MAX_CPUS)
		return 0;
	return m->tlb->cpu[cpu].n;
}

bool hostmmu_mirrored(const struct hostmmu *m, uintptr_t va)
{
	int fd[2];
	ssize_t r;

	if (m->mirror && !m->shared)
		return hostmmu_tlb_lookup(m, m->tlb->cur, va, NULL, NULL);
	if (pipe(fd))
		die("hostmmu: pipe");
	/* The kernel copies from va itself: no fault, EFAULT if inaccessible. */
	r = write(fd[1], (const void *)va, 1);
	close(fd[0]);
	close(fd[1]);
	return r == 1;
}
