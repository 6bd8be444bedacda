// SPDX-License-Identifier: MIT
#include "ktest.h"

noreturn void boot_bench(void)
{
	panic("bench: not yet");
}
