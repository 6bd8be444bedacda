# SPDX-License-Identifier: MIT
# The aarch64 boot suites, for a test kernel $(1): included by boot.mk
# (ARCH=arm64's make check) and by cross.mk (another host arch's make check),
# so both run the same three:
#   - the whole suite on 1 CPU entered at EL2 (virtualization=on: head.S drops
#     to EL1, PSCI goes through smc) with -cpu cortex-a57 (ARMv8.0);
#   - the whole suite on 4 CPUs entered at EL1 with -cpu max (PSCI: hvc);
#   - every case alone, on 1 and on 4 CPUs (tests/boot/common/run-alone);
#   - the harness self-test (hang, unhandled abort, failed check, missing
#     summary, ... each must fail the run).
# Every QEMU run is under a timeout (run-qemu).
A64_BOOT_DIR := tests/boot/aarch64
a64_boot_suites = "$(A64_BOOT_DIR)/run-qemu --smp 1 --el2 --cpu cortex-a57 $(1)" \
                  "$(A64_BOOT_DIR)/run-qemu --smp 4 $(1)" \
                  "tests/boot/common/run-alone $(A64_BOOT_DIR)/run-qemu $(1) 1,4" \
                  "$(A64_BOOT_DIR)/harness-selftest $(1)"
