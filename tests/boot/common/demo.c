// SPDX-License-Identifier: MIT
/*
 * The demo secure kernel: what an LVBS-style VTL1 kernel does with VTL0
 * memory, through the library only, on the real (emulated) MMU of 4 CPUs
 * (make demo boots QEMU -smp 4; each step says which CPU serves it).
 *
 * At boot it plays VTL0 itself: through its direct map it writes, into the
 * VTL0 region [64 MiB, 192 MiB), a chain of HEKI-style range pages, "kernel
 * text" with text-patch requests, an SMC argument block, and the pages of a
 * log ring. Then, as VTL1, it serves those requests with the VTL0 calls:
 *   1. walk the range chain (bounded, cycle-checked);
 *   2. read 24-byte text-patch requests and write 1-5 patch bytes into the
 *      text, one of them across a page boundary into a non-contiguous page;
 *   3. append log lines to the VTL0 ring (wrapping), from every CPU at once;
 *   4. read a 72-byte SMC argument block and write the results back;
 *   5. hostile requests: a cyclic chain, a VTL1 address, pages that are not
 *      accessible (beyond the address width, above RAM, revoked under a
 *      mapping: on another CPU), a text patch while another CPU holds the
 *      text page for writing (-EBUSY, then served once it lets go), a bogus
 *      count;
 * and prints what happened and the library's statistics, per CPU too.
 * Every outcome is checked: the demo exits with EXIT_PASS only if each one
 * was as expected. With fewer CPUs (run-qemu --demo without --smp 4) the
 * steps meant for another CPU run on CPU 0.
 */
#include <vtlmem/copy.h>
#include <vtlmem/physptr.h>
#include <vtlmem/vtl0.h>

#include "kvtl.h"

/* ---- VTL0's side: the structures, laid out in VTL0 pages ---- */

/* One protected range of a HEKI-style page chain (entries after the header). */
struct heki_range {
	uint64_t va;
	uint64_t pa;
	uint64_t len;
	uint64_t attrs;         /* bit 0 read, 1 write, 2 execute */
};

/* A text-patch request: 24 bytes. */
struct text_patch {
	uint64_t page_pa[2];    /* the page holding offset, and the next one */
	uint16_t offset;        /* of the first byte in page_pa[0] */
	uint8_t len;            /* 1..5 */
	uint8_t insn[5];
};

/* An SMC argument block: 72 bytes (function id, 8 arguments / results). */
struct smc_args {
	uint64_t fid;
	uint64_t a[8];
};

_Static_assert(sizeof(struct text_patch) == 24, "text patch request is 24 bytes");
_Static_assert(sizeof(struct smc_args) == 72, "SMC block is 72 bytes");

/* Where VTL0 put things (page numbers in the VTL0 region). */
enum {
	CHAIN_P0 = 10, CHAIN_P1 = 17, CHAIN_P2 = 12,    /* range chain */
	CYCLE_P0 = 30, CYCLE_P1 = 31, CYCLE_P2 = 32,    /* hostile chain */
	TEXT_P0 = 40, TEXT_P1 = 47,                     /* "kernel text" pages */
	REQ_P = 50,                                     /* patch requests */
	SMC_P = 60,                                     /* SMC block, crosses into 61 */
	RING_P0 = 70, RING_P1 = 75,                     /* log ring */
};

#define RING_SIZE (2 * PAGE_SIZE - VTLMEM_RING_HDR_SIZE - 1000)
#define SMC_PA    (vtl0_pa(SMC_P) + PAGE_SIZE - 40)

static struct vtlmem_vtl0 ctx;
static unsigned checks_failed;          /* any CPU adds to it (atomic) */

static void failed(void)
{
	__atomic_fetch_add(&checks_failed, 1, __ATOMIC_RELAXED);
}

/*
 * Per-CPU slot maps. The library counts slot maps per CPU but reports the
 * sum; the demo runs its steps one CPU at a time (except the ring, which
 * maps no slot) and charges each step's growth of the sum to the CPU that
 * ran it.
 */
static uint64_t slot_maps_by_cpu[MAX_CPUS], slot_mark;

static uint64_t slot_maps_now(void)
{
	struct vtlmem_vmap_stats st;

	vtlmem_vmap_get_stats(kv_vm, &st);
	return st.slot_maps;
}

static void charge(unsigned cpu)
{
	uint64_t now = slot_maps_now();

	slot_maps_by_cpu[cpu] += now - slot_mark;
	slot_mark = now;
}

/* CPU c if it is online, else CPU 0. */
static unsigned cpu_or0(unsigned c)
{
	return c < smp_ncpus ? c : 0;
}

static void call_void(unsigned cpu, void *arg)
{
	(void)cpu;
	((void (*)(void))arg)();
}

/* Run fn on CPU c (or CPU 0) and charge its slot maps to it. */
static void run_on(unsigned c, void (*fn)(void))
{
	c = cpu_or0(c);
	if (c == smp_cpu_id()) {
		fn();
	} else {
		smp_start(c, call_void, (void *)fn);
		smp_wait(c);
	}
	charge(c);
}

static const char *errname(int err)
{
	switch (err) {
	case 0: return "ok";
	case -VTLMEM_EPERM: return "-EPERM";
	case -VTLMEM_ENOENT: return "-ENOENT";
	case -VTLMEM_EIO: return "-EIO";
	case -VTLMEM_E2BIG: return "-E2BIG";
	case -VTLMEM_ENOMEM: return "-ENOMEM";
	case -VTLMEM_EACCES: return "-EACCES";
	case -VTLMEM_EFAULT: return "-EFAULT";
	case -VTLMEM_EBUSY: return "-EBUSY";
	case -VTLMEM_EINVAL: return "-EINVAL";
	case -VTLMEM_ENOSPC: return "-ENOSPC";
	case -VTLMEM_ERANGE: return "-ERANGE";
	case -VTLMEM_EDEADLK: return "-EDEADLK";
	case -VTLMEM_ENOSYS: return "-ENOSYS";
	case -VTLMEM_ELOOP: return "-ELOOP";
	case -VTLMEM_EOVERFLOW: return "-EOVERFLOW";
	default: return "?";
	}
}

/* Print "what: result" and count it if it is not what the demo expects. */
static void expect(const char *what, int got, int want)
{
	kprintf("    %-58s %s%s\n", what, errname(got),
		got == want ? "" : "   <-- UNEXPECTED");
	if (got != want)
		failed();
}

static void expect_true(const char *what, bool ok)
{
	kprintf("    %-58s %s\n", what, ok ? "yes" : "NO   <-- UNEXPECTED");
	if (!ok)
		failed();
}

static void vtl0_chain_page(unsigned page, uint64_t next, unsigned first, unsigned count)
{
	struct vtlmem_chain_hdr *h = phys_to_virt(vtl0_pa(page));
	struct heki_range *r = (struct heki_range *)((uint8_t *)h + VTLMEM_CHAIN_HDR_SIZE);
	unsigned i;

	h->next = next;
	h->count = count;
	h->flags = 0;
	for (i = 0; i < count; i++) {
		r[i].va = 0xffffffff81000000UL + (first + i) * 0x200000UL;
		r[i].pa = 0x1000000UL + (first + i) * 0x200000UL;
		r[i].len = 0x200000UL;
		r[i].attrs = (first + i) % 3 == 0 ? 5 : 1;      /* text RX, rodata R */
	}
}

static void vtl0_patch_req(unsigned slot, unsigned p0, unsigned p1, uint16_t off,
			   const uint8_t *insn, uint8_t len)
{
	struct text_patch *t = (struct text_patch *)phys_to_virt(vtl0_pa(REQ_P)) + slot;
	unsigned i;

	t->page_pa[0] = vtl0_pa(p0);
	t->page_pa[1] = p1 ? vtl0_pa(p1) : 0;
	t->offset = off;
	t->len = len;
	for (i = 0; i < 5; i++)
		t->insn[i] = i < len ? insn[i] : 0;
}

/* VTL0 prepares its region (through the direct map: this is "VTL0"). */
static void vtl0_prepare(void)
{
	static const uint8_t jmp[5] = { 0xe9, 0x10, 0x32, 0x54, 0x00 };
	static const uint8_t int3[1] = { 0xcc };
	static const uint8_t nop2[2] = { 0x66, 0x90 };
	static const uint8_t bad[5] = { 0x0f, 0x0b, 0, 0, 0 };
	struct smc_args *smc;
	unsigned i;

	vtl0_chain_page(CHAIN_P0, vtl0_pa(CHAIN_P1), 0, 16);
	vtl0_chain_page(CHAIN_P1, vtl0_pa(CHAIN_P2), 16, 16);
	vtl0_chain_page(CHAIN_P2, 0, 32, 8);
	vtl0_chain_page(CYCLE_P0, vtl0_pa(CYCLE_P1), 0, 4);
	vtl0_chain_page(CYCLE_P1, vtl0_pa(CYCLE_P2), 4, 4);
	vtl0_chain_page(CYCLE_P2, vtl0_pa(CYCLE_P0), 8, 4);     /* back to the head */
	for (i = 0; i < PAGE_SIZE; i++) {                        /* "text": nops */
		((uint8_t *)phys_to_virt(vtl0_pa(TEXT_P0)))[i] = 0x90;
		((uint8_t *)phys_to_virt(vtl0_pa(TEXT_P1)))[i] = 0x90;
	}
	vtl0_patch_req(0, TEXT_P0, TEXT_P1, PAGE_SIZE - 2, jmp, 5);     /* crosses */
	vtl0_patch_req(1, TEXT_P0, 0, 0x100, int3, 1);
	vtl0_patch_req(2, TEXT_P1, 0, 0x200, nop2, 2);
	vtl0_patch_req(3, TEXT_P0, 0, 0x300, bad, 9);                   /* bad len */
	smc = (struct smc_args *)phys_to_virt(SMC_PA);
	smc->fid = 0xc3000001;          /* "sum and product of a[0..3]" */
	for (i = 0; i < 8; i++)
		smc->a[i] = i < 4 ? i + 2 : 0;
}

static void dump_bytes(const char *label, uint64_t pa, unsigned n)
{
	const uint8_t *p = phys_to_virt(pa);
	unsigned i;

	kprintf("    %s", label);
	for (i = 0; i < n; i++)
		kprintf(" %02x", p[i]);
	kprintf("\n");
}

/* ---- VTL1's side: serving the requests through the library ---- */

struct chain_sum {
	bool quiet;
	size_t ranges;
	uint64_t bytes, exec_bytes;
};

static int chain_cb(void *arg, size_t index, vtlmem_paddr_t page, const void *entries,
		    uint32_t count)
{
	struct chain_sum *s = arg;
	const struct heki_range *r = entries;
	uint32_t i;

	if (!s->quiet)
		kprintf("      page %zu at 0x%lx: %u ranges, first va 0x%lx pa 0x%lx\n", index,
			vtlmem_pa_val(page), count, count ? r[0].va : 0, count ? r[0].pa : 0);
	for (i = 0; i < count; i++) {
		s->ranges++;
		s->bytes += r[i].len;
		if (r[i].attrs & 4)
			s->exec_bytes += r[i].len;
	}
	return 0;
}

static int walk_chain(uint64_t head, size_t max_pages, struct chain_sum *s, size_t *pages,
		      bool quiet)
{
	static uint64_t visited[16];
	static uint8_t entries[PAGE_SIZE];
	struct vtlmem_chain_walk w = {
		.entry_size = sizeof(struct heki_range),
		.max_pages = max_pages,
		.visited = visited,
		.buf = entries,
		.buf_size = sizeof(entries),
		.fn = chain_cb,
		.arg = s,
	};

	memset(s, 0, sizeof(*s));
	s->quiet = quiet;
	return vtlmem_vtl0_chain_walk(&ctx, vtlmem_pa(head), &w, pages);
}

static void demo_chain(void)
{
	struct chain_sum s;
	size_t pages = 0;
	int err;

	kprintf("\n[1] HEKI range chain at 0x%lx (VTL0 pages %u -> %u -> %u), on CPU %u\n",
		vtl0_pa(CHAIN_P0), CHAIN_P0, CHAIN_P1, CHAIN_P2, smp_cpu_id());
	err = walk_chain(vtl0_pa(CHAIN_P0), 16, &s, &pages, false);
	kprintf("      %zu pages, %zu ranges, %lu MiB protected, %lu MiB executable\n", pages,
		s.ranges, s.bytes >> 20, s.exec_bytes >> 20);
	expect("walk the chain", err, 0);
	expect_true("3 pages and 40 ranges seen", pages == 3 && s.ranges == 40);
}

/* Serve text-patch request slot: read it (24 bytes), check it, write the bytes. */
static int serve_patch(unsigned slot, struct text_patch *t)
{
	vtlmem_paddr_t pages[2];
	size_t done = 0;
	int err;

	err = VTLMEM_VTL0_READ(&ctx, vtlmem_pa(vtl0_pa(REQ_P) + slot * sizeof(*t)), t);
	if (err)
		return err;
	/* values from VTL0 are checked before use */
	if (t->len < 1 || t->len > 5 || t->offset >= PAGE_SIZE)
		return -VTLMEM_EINVAL;
	pages[0] = vtlmem_pa(t->page_pa[0]);
	pages[1] = vtlmem_pa(t->page_pa[1]);
	return vtlmem_vtl0_write_pages(&ctx, pages, t->page_pa[1] ? 2 : 1, t->offset, t->insn,
				       t->len, &done);
}

static void demo_text_patch(void)
{
	struct text_patch t;
	int err;

	kprintf("\n[2] text patches (24-byte requests at 0x%lx; text pages 0x%lx, 0x%lx), on CPU 0\n",
		vtl0_pa(REQ_P), vtl0_pa(TEXT_P0), vtl0_pa(TEXT_P1));
	dump_bytes("before, end of page 0 + start of page 1:", vtl0_pa(TEXT_P0) + PAGE_SIZE - 4, 4);
	dump_bytes("                                        ", vtl0_pa(TEXT_P1), 4);
	err = serve_patch(0, &t);
	expect("5-byte jmp across the page boundary", err, 0);
	dump_bytes("after,  end of page 0 + start of page 1:", vtl0_pa(TEXT_P0) + PAGE_SIZE - 4, 4);
	dump_bytes("                                        ", vtl0_pa(TEXT_P1), 4);
	expect_true("bytes landed in both pages",
		    !memcmp(phys_to_virt(vtl0_pa(TEXT_P0) + PAGE_SIZE - 2), "\xe9\x10", 2) &&
		    !memcmp(phys_to_virt(vtl0_pa(TEXT_P1)), "\x32\x54\x00\x90", 4));
	expect("1-byte int3 at page 0 + 0x100", serve_patch(1, &t), 0);
	expect("2-byte nop at page 1 + 0x200", serve_patch(2, &t), 0);
	expect_true("int3 and nop in place",
		    *(uint8_t *)phys_to_virt(vtl0_pa(TEXT_P0) + 0x100) == 0xcc &&
		    !memcmp(phys_to_virt(vtl0_pa(TEXT_P1) + 0x200), "\x66\x90\x90", 3));
	expect("request with len 9 (refused by the kernel's check)", serve_patch(3, &t),
	       -VTLMEM_EINVAL);
}

static struct vtlmem_ring ring;

static void ring_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void ring_log(const char *fmt, ...)
{
	char line[128];
	size_t done = 0;
	va_list ap;
	int n, err;

	va_start(ap, fmt);
	n = kvsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1;
	err = vtlmem_ring_write(&ring, line, (size_t)n, &done);
	if (err) {
		kprintf("    ring write failed: %s\n", errname(err));
		failed();
	}
}

/* The byte of ring stream position k, read as VTL0 does (direct map). */
static char vtl0_ring_byte(uint64_t k, uint64_t size)
{
	uint64_t off = VTLMEM_RING_HDR_SIZE + k % size;

	return ((char *)phys_to_virt(vtl0_pa(off < PAGE_SIZE ? RING_P0 : RING_P1)))
		[off % PAGE_SIZE];
}

/* Print the ring's last few lines as VTL0 reads them. */
static void vtl0_show_ring(void)
{
	const struct vtlmem_ring_hdr *h = phys_to_virt(vtl0_pa(RING_P0));
	uint64_t head = h->head, size = h->size, k;
	char c;

	kprintf("    VTL0 sees head %lu, size %lu; its last lines:\n", head, size);
	k = head > 400 ? head - 400 : 0;
	while (k > 0 && k < head && vtl0_ring_byte(k - 1, size) != '\n')
		k++;
	kprintf("      ");
	for (; k < head; k++) {
		c = vtl0_ring_byte(k, size);
		kprintf("%c", c);
		if (c == '\n' && k + 1 < head)
			kprintf("      ");
	}
}

static unsigned heartbeats[MAX_CPUS];
static struct smp_barrier ring_go;

/* Every CPU at once: heartbeats until the ring has wrapped. */
static void ring_heartbeats(unsigned cpu, void *arg)
{
	(void)arg;
	smp_barrier_wait(&ring_go);
	while (vtlmem_ring_head(&ring) < RING_SIZE + 300)
		ring_log("vtl1 cpu %u: heartbeat %u, filling the ring until it wraps\n", cpu,
			 heartbeats[cpu]++);
}

static void demo_ring(void)
{
	vtlmem_paddr_t pages[2] = { vtl0_page(RING_P0), vtl0_page(RING_P1) };
	unsigned i, n = 0;
	int err;

	kprintf("\n[3] log ring in VTL0 pages %u and %u (%lu data bytes), set up on CPU %u,"
		" written by every CPU at once\n", RING_P0, RING_P1, (unsigned long)RING_SIZE,
		smp_cpu_id());
	err = vtlmem_ring_init(&ring, &ctx, pages, 2, RING_SIZE);
	expect("map the ring once (kept mapped)", err, 0);
	if (err)
		return;
	ring_log("vtl1: secure kernel up, %lu MiB VTL0, %u CPUs\n",
		 (VTL0_END - VTL0_START) >> 20, smp_ncpus);
	ring_log("vtl1: protected %u ranges from the HEKI chain\n", 40);
	ring_log("vtl1: applied 3 text patches, refused 1\n");
	ring_go.n = smp_ncpus;
	smp_run(ring_heartbeats, NULL);
	for (i = 0; i < smp_ncpus; i++)
		n += heartbeats[i];
	ring_log("vtl1: ring wrapped after %u heartbeats from %u CPUs\n", n, smp_ncpus);
	vtl0_show_ring();
	expect_true("head published past the ring size (wrapped)",
		    vtlmem_ring_head(&ring) > RING_SIZE);
}

static void demo_smc(void)
{
	struct smc_args a;
	int err;

	kprintf("\n[4] SMC argument block, 72 bytes at 0x%lx (crosses a page boundary), on CPU %u\n",
		SMC_PA, smp_cpu_id());
	err = VTLMEM_VTL0_READ(&ctx, vtlmem_pa(SMC_PA), &a);
	expect("read the block", err, 0);
	kprintf("      fid 0x%lx args %lu %lu %lu %lu\n", a.fid, a.a[0], a.a[1], a.a[2], a.a[3]);
	if (a.fid == 0xc3000001) {
		a.a[4] = a.a[0] + a.a[1] + a.a[2] + a.a[3];
		a.a[5] = a.a[0] * a.a[1] * a.a[2] * a.a[3];
		a.fid = 0;              /* SMCCC_RET_SUCCESS */
	}
	err = VTLMEM_VTL0_WRITE(&ctx, vtlmem_pa(SMC_PA), &a);
	expect("write the results back", err, 0);
	a = *(const struct smc_args *)phys_to_virt(SMC_PA);
	kprintf("      VTL0 sees status %lu, sum %lu, product %lu\n", a.fid, a.a[4], a.a[5]);
	expect_true("results correct", a.fid == 0 && a.a[4] == 14 && a.a[5] == 120);
}

/*
 * A VTL0 page becomes inaccessible while the secure kernel has it mapped
 * (what a hypervisor revoking access does; simulated by clearing its leaf
 * entry and invalidating it on this CPU, the one that reads): the copy
 * faults, the fault handler resumes in the library, the call fails. Runs
 * on CPU 2.
 */
static void demo_revoked_page(void)
{
	vtlmem_paddr_t pages[2] = { vtl0_page(90), vtl0_page(93) };
	struct vtlmem_physptr_attr attr = { .elem_size = 1, .prot = VTLMEM_PROT_RO,
					    .cache = VTLMEM_CACHE_WB,
					    .flags = VTLMEM_PHYSPTR_PERSISTENT };
	static uint8_t buf[2 * 4096];
	struct vtlmem_physptr p;
	uint64_t saved, faults = fault_rec.count;
	char what[64];
	size_t done = 0;
	uintptr_t va;
	int err;

	err = vtlmem_physptr_create(&p, &kv_rt, kv_vm, pages, 2, 0, 2 * PAGE_SIZE, &attr);
	if (err) {
		expect("map two VTL0 pages persistently", err, 0);
		return;
	}
	va = window_va_of(vtl0_pa(93));
	saved = kpt_revoke(va);
	err = vtlmem_physptr_read_slice(&p, 1000, 5000, buf, &done);
	ksnprintf(what, sizeof(what), "CPU %u: read 5000 bytes from 1000, 2nd page revoked",
		  smp_cpu_id());
	expect(what, err, -VTLMEM_EFAULT);
	kprintf("      %zu bytes copied, %lu page fault(s) resolved by vtlmem_fixup()\n", done,
		fault_rec.count - faults);
	expect_true("  exactly the bytes before the revoked page", done == PAGE_SIZE - 1000);
	kpt_restore(va, saved);
	vtlmem_physptr_destroy(&p);
}

/* Another CPU holds the text page for writing while CPU 0 serves a patch. */
static struct {
	struct vtlmem_physptr busy;
	int hold_err, write_err, release_err;
	unsigned held, tried;
} cr;

static void text_hold(void)
{
	struct vtlmem_physptr_attr attr = { .elem_size = 1, .prot = VTLMEM_PROT_RW,
					    .cache = VTLMEM_CACHE_WB };
	size_t done;

	cr.hold_err = vtlmem_physptr_create_contig(&cr.busy, &kv_rt, kv_vm, vtl0_page(TEXT_P1),
						   PAGE_SIZE, &attr);
	if (!cr.hold_err)       /* it writes the page: a nop over a nop */
		cr.write_err = vtlmem_physptr_write(&cr.busy, 0x800, "\x90", &done);
}

static void text_release(void)
{
	if (!cr.hold_err)
		cr.release_err = vtlmem_physptr_destroy(&cr.busy);
}

/* On CPU 1: hold, let CPU 0 try, release. */
static void text_holder(unsigned cpu, void *arg)
{
	(void)cpu;
	(void)arg;
	text_hold();
	__atomic_store_n(&cr.held, 1, __ATOMIC_RELEASE);
	smp_wait_flag(&cr.tried, 1, "CPU 0's patch attempt");
	text_release();
}

static void demo_busy_text(void)
{
	unsigned c = cpu_or0(1);
	struct text_patch t;

	kprintf("    CPU %u holds text page %u for writing while CPU 0 serves patch 0:\n", c,
		TEXT_P1);
	if (c) {
		smp_start(c, text_holder, NULL);
		smp_wait_flag(&cr.held, 1, "CPU 1 to hold the text page");
		charge(c);
	} else {
		text_hold();
	}
	expect("  CPU 1: hold the text page for writing, write a byte", cr.hold_err | cr.write_err,
	       0);
	expect("  CPU 0: patch while CPU 1 holds the text page", serve_patch(0, &t),
	       -VTLMEM_EBUSY);
	charge(0);
	if (c) {
		__atomic_store_n(&cr.tried, 1, __ATOMIC_RELEASE);
		smp_wait(c);
		charge(c);
	} else {
		text_release();
	}
	expect("  CPU 1: let go of the text page", cr.release_err, 0);
	expect("  CPU 0: the same patch once CPU 1 let go", serve_patch(0, &t), 0);
	expect_true("  the patch is in place",
		    !memcmp(phys_to_virt(vtl0_pa(TEXT_P1)), "\x32\x54\x00\x90", 4));
	charge(0);
}

static void demo_hostile(void)
{
	static uint64_t secret = 0x5ec2e7;
	struct smc_args a;
	struct chain_sum s;
	size_t pages = 0;
	int err;

	kprintf("\n[5] hostile requests (CPU 0, and CPUs 1 and 2 where said)\n");
	err = walk_chain(vtl0_pa(CYCLE_P0), 16, &s, &pages, true);
	expect("cyclic page chain (page 3 names page 1 again)", err, -VTLMEM_ELOOP);
	expect_true("  stopped after the 3 distinct pages", pages == 3);
	((struct vtlmem_chain_hdr *)phys_to_virt(vtl0_pa(CHAIN_P1)))->count = 0x7fffffff;
	err = walk_chain(vtl0_pa(CHAIN_P0), 16, &s, &pages, true);
	expect("chain whose 2nd page claims 2^31 entries", err, -VTLMEM_E2BIG);
	err = walk_chain(vtl0_pa(CHAIN_P0), 1, &s, &pages, true);
	expect("chain longer than the kernel's bound (1 page)", err, -VTLMEM_E2BIG);
	err = walk_chain(vtl0_pa(CHAIN_P0) + 8, 16, &s, &pages, true);
	expect("chain head not page-aligned", err, -VTLMEM_EINVAL);
	err = VTLMEM_VTL0_READ(&ctx, vtlmem_pa(virt_to_phys(&secret)), &a);
	expect("SMC block at a VTL1 address (kernel data)", err, -VTLMEM_EPERM);
	err = VTLMEM_VTL0_WRITE(&ctx, vtlmem_pa(kernel_root()), &a);
	expect("results written to a VTL1 page table", err, -VTLMEM_EPERM);
	err = VTLMEM_VTL0_READ(&ctx, vtlmem_pa(1UL << boot_platform.pa_bits), &a);
	expect("SMC block beyond the physical-address width", err, -VTLMEM_ERANGE);
	err = VTLMEM_VTL0_READ(&ctx, vtlmem_pa(ram_top + PAGE_SIZE), &a);
	expect("SMC block above RAM (no memory there)", err, -VTLMEM_EPERM);
	charge(0);
	run_on(2, demo_revoked_page);
	demo_busy_text();
	err = VTLMEM_VTL0_WRITE(&ctx, vtlmem_pa(vtl0_pa(RING_P1) + 64), &a);
	expect("SMC results aimed into the live log ring", err, -VTLMEM_EBUSY);
	expect_true("the secure kernel's data is intact", secret == 0x5ec2e7);
}

static void print_stats(void)
{
	struct vtlmem_vmap_stats st;
	unsigned c;

	kprintf("\n[6] library statistics\n");
	vtlmem_vmap_get_stats(kv_vm, &st);
	kprintf("    window maps %lu, unmaps %lu, slot maps %lu, slot unmaps %lu\n", st.maps,
		st.unmaps, st.slot_maps, st.slot_unmaps);
	kprintf("    local flushes: %lu single pages, %lu whole TLB\n", st.local_flush_pages,
		st.local_flush_all);
	kprintf("    remote shootdowns %lu (failed %lu), quarantined pages %lu\n",
		st.remote_shootdowns, st.shootdown_failures, st.quarantined_pages);
	kprintf("    mapped pages %lu, page-table pages %lu\n", st.mapped_pages, st.pt_pages);
	kprintf("    platform: %lu faults fixed up, %lu bookkeeping allocations, %lu table pages\n",
		SMP_SUM(fault.count), bps.heap_allocs, bps.pt_allocs);
	kprintf("    per CPU     slot maps   shootdowns sent   shootdown IPIs received   "
		"acknowledged\n");
	for (c = 0; c < smp_ncpus; c++)
		kprintf("    cpu %u    %10lu   %15lu   %23lu   %12lu\n", c, slot_maps_by_cpu[c],
			kcpu(c)->shootdowns_sent, kcpu(c)->ipis_received, kcpu(c)->acks);
	kprintf("  vtlmem_vmap_dump:\n");
	vtlmem_vmap_dump(kv_vm, kputs_line, "    ");
	kprintf("  vtlmem_rtable_dump:\n");
	vtlmem_rtable_dump(&kv_rt, kputs_line, "    ");
}

noreturn void kernel_main(void)
{
	int err;

	kprintf("\nvtlmem demo secure kernel\n");
	kprintf("  VTL0 RAM [0x%lx, 0x%lx); VTL1: kernel image, page tables, heap\n",
		VTL0_START, VTL0_END);
	kv_init();
	err = vtlmem_vtl0_init(&ctx, &kv_rt, kv_vm);
	if (err)
		panic("vtlmem_vtl0_init: %d", err);
	vtl0_prepare();
	kprintf("  VTL0 prepared: a range chain, kernel text + patch requests, an SMC block\n");
	kprintf("  %u CPUs online; the shootdown op IPIs every other one\n", smp_ncpus);
	slot_mark = slot_maps_now();
	run_on(0, demo_chain);
	run_on(0, demo_text_patch);
	run_on(0, demo_ring);
	run_on(3, demo_smc);
	run_on(0, demo_hostile);
	err = vtlmem_ring_fini(&ring);
	if (err)
		expect("close the ring", err, 0);
	err = vtlmem_vmap_purge(kv_vm);
	if (err)
		expect("final purge", err, 0);
	charge(0);
	print_stats();
	if (checks_failed) {
		kprintf("\ndemo: %u outcome(s) were not as expected\n", checks_failed);
		kexit(EXIT_FAIL);
	}
	kprintf("\ndemo: every request served or refused as expected\n");
	kexit(EXIT_PASS);
}
