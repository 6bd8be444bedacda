/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the VTL0 log ring writer (vtlmem_ring_*) with VTL0 writing
 * the fuzzer's bytes into the ring's memory between the writes.
 *
 * The input picks the ring (1..4 of 8 VTL0 pages in any order, repeated or
 * unaligned pages, any data size, some too large) and then a sequence of
 * writes (any length, longer than the ring too) and of VTL0 scribbles:
 * fuzzer bytes stored straight into the ring's pages, over the header
 * (head, size) and the data. Everything runs end to end through the host
 * software MMU (tests/unit/common/vtl0env.h); a write can be made to fault
 * by refusing one of the ring's pages.
 *
 * The model is the header's contract (include/vtlmem/vtl0.h): init's
 * errors (any one that applies: the header gives no order among them); the ring is a byte stream (stream byte k at data[k %
 * size], a write longer than the ring keeps its last size bytes), the head
 * is published after the data, and the writer never trusts what VTL0 left
 * in the header. After every write: the data area as VTL0 sees it equals
 * the model (scribbles included), the header's head equals the model's,
 * vtlmem_ring_head() too; a faulting write returns -EFAULT with *done <=
 * len and does not advance the head. fini leaves nothing reserved or
 * mapped.
 */
#include <stdbool.h>
#include <stdint.h>

#include <vtlmem/vtl0.h>
#include "vtl0env.h"
#include "fuzz.h"

#define PG VTLMEM_PAGE_SIZE
#define HDR VTLMEM_RING_HDR_SIZE
#define FIRST 200
#define MAXRP 4

static struct vtl0env env;
static uint8_t model[MAXRP * PG];     /* the ring's bytes as VTL0 sees them */
static uint8_t wbuf[3 * MAXRP * PG];
static bool trace;

/*
 * Nothing left reserved or mapped (page-table pages are not compared: a
 * leaf table the first window mapping needed stays until destroy).
 */
static bool nothing_left(const struct vtl0env_snap *a, const struct vtl0env_snap *b)
{
	return a->rt.handles == b->rt.handles && a->rt.intervals == b->rt.intervals &&
	       a->vm.mapped_pages == b->vm.mapped_pages &&
	       a->vm.quarantined_pages == b->vm.quarantined_pages &&
	       b->preempt_offs - a->preempt_offs == b->preempt_ons - a->preempt_ons;
}

static void gather(const vtlmem_paddr_t *pages, uint64_t total, uint8_t *out)
{
	vtl0env_gather(&env, pages, 0, out, total);
}

static void check_ring(const vtlmem_paddr_t *pages, uint64_t total, uint64_t head,
		       struct vtlmem_ring *r, const char *after)
{
	static uint8_t mem[MAXRP * PG];
	uint64_t h;

	gather(pages, total, mem);
	memcpy(&h, mem, 8);
	FUZZ_CHECK(!memcmp(mem, model, 8), "after %s: published head %llu, the model %llu", after,
		   (unsigned long long)h, (unsigned long long)head);
	FUZZ_CHECK(!memcmp(mem + 8, model + 8, total - 8),
		   "after %s: ring bytes differ from the stream model", after);
	FUZZ_CHECK(vtlmem_ring_head(r) == head, "after %s: vtlmem_ring_head %llu, the model %llu",
		   after, (unsigned long long)vtlmem_ring_head(r), (unsigned long long)head);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	struct fin f = { data, size };
	struct vtlmem_ring ring;
	struct vtl0env_snap s0, s1;
	vtlmem_paddr_t pages[MAXRP];
	uint8_t c = fin_u8(&f);
	size_t np = 1 + (c & 3), i, j, done;
	uint64_t rsize, total, head = 0;
	bool dup = false, unaligned = false;
	int ret, exp, steps = 0;

	if (!init) {
		vtl0env_init(&env, 4);
		init = true;
		trace = getenv("FUZZ_TRACE") != NULL;   /* print every step */
	}
	for (i = 0; i < np; i++) {
		uint8_t b = fin_u8(&f);

		pages[i] = vtlmem_pa(vtl0env_pa(FIRST + (b & 7)) + ((b >> 3) == 31 ? 8 : 0));
		unaligned |= (b >> 3) == 31;
	}
	for (i = 0; i < np; i++)
		for (j = i + 1; j < np; j++)
			dup |= pages[i].pa == pages[j].pa;
	switch (c >> 6) {
	case 0:  rsize = 1 + fin_u8(&f); break;                   /* small  */
	case 1:  rsize = 1 + fin_u16(&f) % (np * PG - HDR); break; /* fits   */
	case 2:  rsize = np * PG - HDR; break;                     /* full   */
	default: rsize = fin_u64(&f); break;                       /* any    */
	}
	/* init's errors (the header lists them, without an order among them) */
	bool einval = rsize == 0 || dup || unaligned;
	bool eoverflow = rsize > UINT64_MAX - HDR;
	bool erange = !eoverflow && rsize + HDR > np * PG;

	exp = einval ? -VTLMEM_EINVAL : eoverflow ? -VTLMEM_EOVERFLOW : erange ? -VTLMEM_ERANGE : 0;
	for (i = 0; i < 8; i++)                /* VTL0's initial contents */
		fin_bytes(&f, vtl0env_dm(&env, vtl0env_pa(FIRST + i)), 32);
	vtl0env_snap(&env, &s0);
	ret = vtlmem_ring_init(&ring, &env.ctx, pages, np, rsize);
	FUZZ_CHECK(ret == exp || (ret == -VTLMEM_EINVAL && einval) ||
		   (ret == -VTLMEM_EOVERFLOW && eoverflow) || (ret == -VTLMEM_ERANGE && erange),
		   "ring_init(%zu pages, size %llu): %d, the model %d", np,
		   (unsigned long long)rsize, ret, exp);
	if (ret) {
		vtl0env_snap(&env, &s1);
		FUZZ_CHECK(nothing_left(&s0, &s1), "failed init left state behind");
		return 0;
	}
	total = HDR + rsize;
	gather(pages, total, model);
	{
		uint64_t z = 0;

		FUZZ_CHECK(!memcmp(model, &z, 8) && !memcmp(model + 8, &rsize, 8),
			   "init did not publish head 0 and the size");
	}
	while (f.n && steps++ < 48) {
		uint8_t op = fin_u8(&f);

		if (op & 1) {                  /* VTL0 scribbles on the ring */
			uint64_t off = fin_u16(&f) % total;
			size_t n = 1 + (op >> 1) % 24;
			uint8_t bytes[24];

			if (n > total - off)
				n = (size_t)(total - off);
			fin_bytes(&f, bytes, n);
			vtl0env_scatter(&env, pages, off, bytes, n);
			if (trace)
				fprintf(stderr, "VTL0 writes %zu bytes at %llu\n", n,
					(unsigned long long)off);
			memcpy(model + off, bytes, n);
			continue;
		}
		{
			size_t len, skip, k;
			uint64_t refuse = 0;

			switch ((op >> 1) & 3) {
			case 0:  len = fin_u8(&f); break;
			case 1:  len = fin_u16(&f) % (rsize + 64); break;
			case 2:  len = (size_t)(rsize + 1 + fin_u16(&f) % (2 * rsize + 1)); break;
			default: len = fin_u16(&f); break;
			}
			if (len > sizeof(wbuf))
				len = sizeof(wbuf);
			for (k = 0; k < len; k++)
				wbuf[k] = (uint8_t)(k * 7 + op + steps);
			if ((op >> 3) == 31)
				refuse = pages[fin_u8(&f) % np].pa;
			vtl0env_refuse(&env, refuse);
			done = 12345;
			ret = vtlmem_ring_write(&ring, wbuf, len, &done);
			vtl0env_refuse(&env, 0);
			if (trace)
				fprintf(stderr, "write %zu (size %llu, head %llu, refused %#llx): %d, "
					"done %zu\n", len, (unsigned long long)rsize,
					(unsigned long long)head, (unsigned long long)refuse, ret, done);
			if (ret == -VTLMEM_EFAULT) {
				FUZZ_CHECK(refuse, "ring write faulted with no page refused");
				FUZZ_CHECK(done <= len, "faulting write: *done %zu > len %zu", done, len);
				/* the bytes stored are VTL0's now; the head did not move */
				{
					uint8_t hb[8];

					memcpy(hb, model, 8);   /* the head is not published */
					gather(pages, total, model);
					memcpy(model, hb, 8);
				}
				check_ring(pages, total, head, &ring, "a faulting write");
				continue;
			}
			FUZZ_CHECK(ret == 0 && done == len, "ring write of %zu: %d, done %zu", len, ret,
				   done);
			skip = len > rsize ? len - rsize : 0;
			for (k = skip; k < len; k++)
				model[HDR + (head + k) % rsize] = wbuf[k];
			head += len;
			if (len)                   /* len 0 writes nothing, not even head */
				memcpy(model, &head, 8);
			check_ring(pages, total, head, &ring, "a write");
		}
	}
	ret = vtlmem_ring_fini(&ring);
	FUZZ_CHECK(ret == 0, "ring fini: %d", ret);
	ret = vtlmem_vmap_purge(env.vm);
	FUZZ_CHECK(ret == 0, "purge after fini: %d", ret);
	vtl0env_snap(&env, &s1);
	FUZZ_CHECK(nothing_left(&s0, &s1), "the ring left something reserved or mapped");
	return 0;
}
