# SPDX-License-Identifier: MIT
# The portable half of the boot kernels (tests/boot/common/), included by
# each arch's tests/boot/<arch>/boot.mk once it has set BOOT_DIR (its own
# directory) and BOOT_OUT (the objects' directory). Provides the source
# lists, the compile rule and the include path; the arch's fragment links
# BOOT_C_KERNEL + BOOT_C_TESTS (the test kernel) and BOOT_C_KERNEL +
# BOOT_C_DEMO (the demo) with its own objects.

BOOT_CDIR := tests/boot/common

# Listed, not wildcarded: a test file joins when the library code it needs has.
BOOT_C_KERNEL := kprint.c heap.c platform.c kvtl.c smp.c pool.c kpt.c
BOOT_C_TESTS  := testmain.c t_copy.c t_vmap.c t_physptr.c t_vtl0.c t_smp.c bench.c
BOOT_C_DEMO   := demo.c

# Common code includes "kernel.h" (portable API), which includes the arch's
# "karch.h"; arch code finds kernel.h through -I$(BOOT_CDIR).
BOOT_CFLAGS := $(KCFLAGS) -I$(BOOT_CDIR) -I$(BOOT_DIR)

bootcobjs = $(patsubst %,$(BOOT_OUT)/common/%.o,$(basename $(1)))

$(BOOT_OUT)/common/%.o: $(BOOT_CDIR)/%.c
	@mkdir -p $(dir $@)
	$(if $(QE),@echo "  CC      $@")
	$(Q)$(CC) $(BOOT_CFLAGS) -c $< -o $@
