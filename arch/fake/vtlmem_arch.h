/* SPDX-License-Identifier: MIT */
/*
 * A fake architecture for host unit tests of the generic page-table code
 * (the way Hafnium keeps src/arch/fake): nothing here is a real MMU's
 * format, on purpose, so a test over it shows that src/ assumes no x86_64
 * bit layout. 3 levels of 512 entries (39-bit VA), 40-bit physical
 * addresses stored as a frame number at bit 20, the valid bit at bit 62,
 * attributes in bits 0..7. Invalidation is recorded, not done
 * (arch/fake/fake.c), and it claims a broadcast TLBI and broadcast slots, so
 * the broadcast policy paths of src/tlb.c run on the host too.
 */
#ifndef VTLMEM_ARCH_FAKE_H
#define VTLMEM_ARCH_FAKE_H

#define VTLMEM_ARCH_NAME          "fake"
#define VTLMEM_ARCH_PT_LEVELS     3u
#define VTLMEM_ARCH_PT_BITS       9u
#define VTLMEM_ARCH_VA_BITS       39u
#define VTLMEM_ARCH_PA_BITS_MAX   40u
#define VTLMEM_ARCH_TLB_RANGE_MAX 4u
#define VTLMEM_ARCH_TLB_BROADCAST 1
#define VTLMEM_ARCH_SLOT_SCOPE    VTLMEM_TLB_BROADCAST

#define FAKE_VALID     (1ull << 62)
#define FAKE_PFN_SHIFT 20
#define FAKE_TABLE     (1ull << 0)   /* attribute bits of a table entry */
#define FAKE_READ      (1ull << 1)
#define FAKE_WRITE     (1ull << 2)
#define FAKE_CACHE(c)  ((uint64_t)(c) << 4)

/* addr_mask is a mask of physical-address bits, as on every arch. */
static inline uint64_t vtlmem_arch_pte_leaf(vtlmem_paddr_t pa, uint64_t attrs,
					    uint64_t addr_mask)
{
	return ((vtlmem_pa_val(pa) & addr_mask) >> 12 << FAKE_PFN_SHIFT) | attrs;
}

static inline bool vtlmem_arch_pte_valid(uint64_t e)
{
	return e & FAKE_VALID;
}

static inline vtlmem_paddr_t vtlmem_arch_pte_addr(uint64_t e, uint64_t addr_mask)
{
	return vtlmem_pa((((e & ~FAKE_VALID) >> FAKE_PFN_SHIFT) << 12) & addr_mask);
}

/* Counts publishes (arch/fake/fake.c). */
extern unsigned long vtlmem_fake_publishes;

static inline void vtlmem_arch_publish(void)
{
	vtlmem_fake_publishes++;
}

#endif
