/* SPDX-License-Identifier: MIT */
/*
 * Memory-type encodings of IA32_PAT entries (what pt_memtype() returns), for
 * checking the type a leaf entry selects under the PAT the kernel programmed
 * (VTLMEM_X86_PAT_VALUE, see include/vtlmem/x86_64.h).
 */
#ifndef BOOT_PAT_H
#define BOOT_PAT_H

#define PAT_UC  0x00
#define PAT_WC  0x01
#define PAT_WT  0x04
#define PAT_WP  0x05
#define PAT_WB  0x06
#define PAT_UCM 0x07    /* UC- */

#endif
