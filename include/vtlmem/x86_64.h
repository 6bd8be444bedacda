/* SPDX-License-Identifier: MIT */
/*
 * vtlmem/x86_64.h - what an x86_64 kernel must set up for the vmap manager.
 *
 * Memory types. The library selects a leaf entry's memory type with the
 * PWT/PCD bits only (PTE bit 7, the PAT bit, is never set), so it uses PAT
 * entries 0-3 and relies on the Linux PAT layout:
 *
 *   PAT entry  PTE bits   type   used for
 *   0          -          WB     VTLMEM_CACHE_WB
 *   1          PWT        WC     VTLMEM_CACHE_WC
 *   2          PCD        UC-    (unused)
 *   3          PCD|PWT    UC     VTLMEM_CACHE_UC
 *   4-7        PAT|...    WB, WP, UC-, WT (unused by the library)
 *
 * The power-on PAT has WT (not WC) in entry 1, so the kernel MUST write
 * VTLMEM_X86_PAT_VALUE to MSR VTLMEM_X86_MSR_PAT on every CPU before the
 * first WC mapping (WB and UC come out right under either value). Linux
 * programs exactly this value, so a secure kernel that shares the memory
 * type conventions of a Linux VTL0 can keep it.
 *
 * Other requirements on the kernel:
 *   - EFER.NXE set on every CPU: every entry the library writes, table
 *     entries included, has the NX bit (bit 63).
 *   - 4-level paging (CR4.LA57 clear), 4 KiB leaf pages.
 *   - The window's top-level (PML4) slots belong wholly to the library:
 *     vtlmem_vmap_top_entries() gives one entry per 512 GiB slot the window
 *     touches, and the kernel maps nothing else in those slots.
 *   - Library entries are never global (G clear) and never user (U/S clear),
 *     so a CR3 reload drops them; leaf entries come with A (and D when
 *     writable) preset, so the CPU never updates them.
 */
#ifndef VTLMEM_X86_64_H
#define VTLMEM_X86_64_H

/* IA32_PAT. */
#define VTLMEM_X86_MSR_PAT 0x277u

/* PAT entries 0..7 = WB, WC, UC-, UC, WB, WP, UC-, WT (byte i = entry i). */
#define VTLMEM_X86_PAT_VALUE 0x0407050600070106ull

#endif /* VTLMEM_X86_64_H */
