/* SPDX-License-Identifier: MIT */
/*
 * The IA32_PAT value the kernel programs at boot (the layout Linux uses):
 *   index: 0 WB, 1 WC, 2 UC-, 3 UC, 4 WB, 5 WP, 6 UC-, 7 WT
 * so PWT alone selects WC and PCD|PWT selects UC.
 */
#ifndef BOOT_PAT_H
#define BOOT_PAT_H

#define PAT_UC  0x00
#define PAT_WC  0x01
#define PAT_WT  0x04
#define PAT_WP  0x05
#define PAT_WB  0x06
#define PAT_UCM 0x07

#define PAT_ENTRY(i, t) ((uint64_t)(t) << (8 * (i)))
#define BOOT_PAT_VALUE (PAT_ENTRY(0, PAT_WB) | PAT_ENTRY(1, PAT_WC) | \
			PAT_ENTRY(2, PAT_UCM) | PAT_ENTRY(3, PAT_UC) | \
			PAT_ENTRY(4, PAT_WB) | PAT_ENTRY(5, PAT_WP) | \
			PAT_ENTRY(6, PAT_UCM) | PAT_ENTRY(7, PAT_WT))

#endif
