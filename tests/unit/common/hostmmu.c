/* SPDX-License-Identifier: MIT */
#include "hostmmu.h"
#include "fault.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096ull

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
	struct vtlmem_top_entry e[512];
	size_t i;

	m->root = m->hp->ops.pt_alloc(m->hp, &m->root_pa);
	if (!m->root)
		die("hostmmu: root table");
	m->ntop = vtlmem_vmap_top_entries(vm, e, 512);
	if (m->ntop == 0 || m->ntop > 512) {
		fprintf(stderr, "hostmmu: %zu top entries\n", m->ntop);
		abort();
	}
	for (i = 0; i < m->ntop; i++)
		__atomic_store_n(&m->root[e[i].index & 511], e[i].value, __ATOMIC_RELEASE);
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

static unsigned idx(uintptr_t va, int level)
{
	return (unsigned)(va >> (12 + 9 * level)) & 511;
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
	for (level = 3; level >= 0; level--) {
		w->level = level;
		/* acquire: a table is linked with a release store */
		w->entry = __atomic_load_n(&t[idx(va, level)], __ATOMIC_ACQUIRE);
		if (!(w->entry & HMMU_P))
			return;
		if (level == 0) {
			w->present = true;
			w->pa = w->entry & HMMU_ADDR;
			return;
		}
		if ((w->entry & HMMU_PS) || !(t = table_at(m, w->entry & HMMU_ADDR))) {
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
	return (va & (1ull << 47)) ? va | 0xffff000000000000ull : va;
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
	for (i = 0; level > 0 && i < 512; i++) {
		e = __atomic_load_n(&t[i], __ATOMIC_RELAXED);
		if (!(e & HMMU_P) || (e & HMMU_PS) || !(child = table_at(m, e & HMMU_ADDR)))
			continue;
		snap_walk(m, s, cap, e & HMMU_ADDR, child, level - 1,
			  sign_extend(va + ((uintptr_t)i << (12 + 9 * level))));
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
	snap_walk(m, s, &cap, vtlmem_pa_val(m->root_pa), m->root, 3, 0);
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
	uintptr_t span = (uintptr_t)1 << (12 + 9 * x->level), eva;
	size_t i, bad = 0;

	for (i = 0; i < 512; i++) {
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
	for (i = 0; i < 512; i++) {
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

static bool in_window(const struct hostmmu *m, uintptr_t va)
{
	return va >= m->base && va - m->base < m->size;
}

/* Replace [va, va + len) (clipped to the window) with inaccessible memory. */
static void drop(struct hostmmu *m, uintptr_t va, uint64_t len)
{
	uintptr_t lo = va, hi = va + len;

	if (lo < m->base)
		lo = m->base;
	if (hi > m->base + m->size || hi < va)
		hi = m->base + m->size;
	lo &= ~(uintptr_t)(PG - 1);
	__atomic_add_fetch(&m->drops, 1, __ATOMIC_RELAXED);
	if (lo >= hi)
		return;
	if (mmap((void *)lo, hi - lo, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0) == MAP_FAILED)
		abort();
}

static void on_tlb_local(struct hostplat *hp, uintptr_t va, uint64_t npages)
{
	struct hostmmu *m = __atomic_load_n(&mirror_mmu, __ATOMIC_ACQUIRE);

	(void)hp;
	if (!m)
		return;
	if (npages == 0)
		drop(m, m->base, m->size);
	else
		drop(m, va, npages * PG);
}

static void on_shootdown(struct hostplat *hp, uintptr_t va, uint64_t len)
{
	struct hostmmu *m = __atomic_load_n(&mirror_mmu, __ATOMIC_ACQUIRE);

	(void)hp;
	if (m)
		drop(m, va, len);
}

/* Software TLB fill, in signal context: walk, then mmap the page. */
static int resolve(void *addr, int is_write)
{
	struct hostmmu *m = __atomic_load_n(&mirror_mmu, __ATOMIC_ACQUIRE);
	uintptr_t va = (uintptr_t)addr & ~(uintptr_t)(PG - 1);
	struct hostmmu_walk w;
	int prot;

	if (!m || !in_window(m, va))
		return 0;
	hostmmu_walk(m, va, &w);
	if (!w.present || (is_write && !(w.entry & HMMU_RW)) || w.pa + PG > m->hp->phys_size)
		return 0;
	prot = PROT_READ | ((w.entry & HMMU_RW) ? PROT_WRITE : 0);
	if (mmap((void *)va, PG, prot, MAP_SHARED | MAP_FIXED, m->hp->memfd, (off_t)w.pa) ==
	    MAP_FAILED)
		return 0;
	__atomic_add_fetch(&m->fills, 1, __ATOMIC_RELAXED);
	return 1;
}

void hostmmu_mirror_enable(struct hostmmu *m)
{
	fault_install();
	__atomic_store_n(&mirror_mmu, m, __ATOMIC_RELEASE);
	m->hp->on_tlb_local = on_tlb_local;
	m->hp->on_shootdown = on_shootdown;
	fault_set_resolver(resolve);
	m->mirror = true;
}

void hostmmu_mirror_disable(struct hostmmu *m)
{
	fault_set_resolver(NULL);
	m->hp->on_tlb_local = NULL;
	m->hp->on_shootdown = NULL;
	__atomic_store_n(&mirror_mmu, NULL, __ATOMIC_RELEASE);
	drop(m, m->base, m->size);
	m->mirror = false;
}

bool hostmmu_mirrored(const struct hostmmu *m, uintptr_t va)
{
	int fd[2];
	ssize_t r;

	(void)m;
	if (pipe(fd))
		die("hostmmu: pipe");
	/* The kernel copies from va itself: no fault, EFAULT if inaccessible. */
	r = write(fd[1], (const void *)va, 1);
	close(fd[0]);
	close(fd[1]);
	return r == 1;
}
