/* SPDX-License-Identifier: MIT */
/*
 * vtlmem/aarch64.h - what an aarch64 kernel must set up for the vmap
 * manager. Plain constants: C and assembly (boot code) include it alike.
 *
 * Memory types. A leaf descriptor selects its memory type with AttrIndx
 * (bits 4:2), an index into MAIR_EL1. The library uses three attribute
 * fields, at the indices of the Linux MAIR layout:
 *
 *   index  MAIR field  type                            used for
 *   0      0xff        Normal, inner+outer WB RW-alloc  VTLMEM_CACHE_WB
 *   2      0x44        Normal, inner+outer NC           VTLMEM_CACHE_WC
 *   3      0x00        Device-nGnRnE                    VTLMEM_CACHE_UC
 *   1, 4   0xff, 0x04  Normal WB (Linux: MT_NORMAL_TAGGED without MTE),
 *                      Device-nGnRE: unused by the library
 *
 * The kernel MUST program MAIR_EL1 on every CPU, before the first access
 * through the window, with a value that has these three fields: e.g.
 * VTLMEM_AARCH64_MAIR_VALUE (Linux's boot value), or any value v with
 * (v & VTLMEM_AARCH64_MAIR_MASK) == (VTLMEM_AARCH64_MAIR_VALUE &
 * VTLMEM_AARCH64_MAIR_MASK).
 *
 * Other requirements on the kernel:
 *   - Stage 1 of the EL1&0 regime, 4 KiB granule (TCR_EL1.TG1 = 0b10),
 *     48-bit kernel half (T1SZ = 16), so the window is in the TTBR1 half
 *     (top 16 bits set). Physical addresses up to 48 bits (pa_bits <= 48;
 *     FEAT_LPA2's 52-bit descriptor layout is not used). Hardware
 *     access-flag and dirty-state management need not be enabled: leaf
 *     descriptors come with AF set and DBM clear.
 *   - Every descriptor the library writes is never executable (leaf: UXN
 *     and PXN; table: UXNTable and PXNTable), never accessible from EL0
 *     (leaf: AP[1] clear; table: APTable[0] set), global (nG clear: TLBI by
 *     VA reaches it whatever the ASID), inner shareable, and has NS (and
 *     NSTable) clear: a TrustZone secure-world kernel that maps non-secure
 *     memory would need NS set, which this layout does not do.
 *   - The window's level-0 slots (512 GiB each) belong wholly to the
 *     library: vtlmem_vmap_top_entries() gives one table descriptor per
 *     slot the window touches, and the kernel maps nothing else there.
 *   - Invalidation is TLBI VALE1IS / VMALLE1IS (broadcast to the
 *     inner-shareable domain) + DSB ISH + ISB, so every CPU that may hold a
 *     translation of the window must be in the kernel's inner-shareable
 *     domain (as on every SMP system). The platform's tlb_shootdown op is
 *     optional (src/tlb.h).
 *   - The synchronous-exception handler calls vtlmem_fixup(ELR_EL1) for
 *     every data abort taken at EL1 (translation, access flag, permission,
 *     alignment, synchronous external abort) and resumes at the returned
 *     address when it is not 0. Alignment faults matter: VTLMEM_CACHE_UC
 *     maps Device memory, where an unaligned access aborts; the copy
 *     routines then finish the bytes one at a time from their fixup, so a
 *     copy to or from a UC mapping still succeeds at any alignment, while
 *     an unaligned vtlmem_load16..64 / vtlmem_store16..64 on it returns
 *     -VTLMEM_EFAULT where the CPU checks Device alignment (every Armv8
 *     CPU; QEMU's TCG only from version 9.0: before it, the unaligned
 *     access is performed and the accessor returns 0).
 *   - The library code uses no FP/SIMD register (-mgeneral-regs-only) and
 *     no stack beyond its C frames; CPACR_EL1.FPEN may trap.
 */
#ifndef VTLMEM_AARCH64_H
#define VTLMEM_AARCH64_H

/* A 64-bit constant usable from C and from assembly (no ull suffix there). */
#ifdef __ASSEMBLY__
#define VTLMEM_A64_U64(x) x        /* a 64-bit constant: plain in assembly */
#else
#define VTLMEM_A64_U64(x) x##ull   /* a 64-bit constant: unsigned long long in C */
#endif

/* AttrIndx values the library writes. */
#define VTLMEM_AARCH64_ATTR_WB 0
#define VTLMEM_AARCH64_ATTR_NC 2
#define VTLMEM_AARCH64_ATTR_DEVICE_nGnRnE 3

/* MAIR_EL1 fields 0..4 = 0xff, 0xff, 0x44, 0x00, 0x04 (byte i = field i). */
#define VTLMEM_AARCH64_MAIR_VALUE VTLMEM_A64_U64(0x000000040044ffff)

/* The fields the library relies on: 0, 2 and 3. */
#define VTLMEM_AARCH64_MAIR_MASK VTLMEM_A64_U64(0x00000000ffff00ff)

#endif /* VTLMEM_AARCH64_H */
