/* SPDX-License-Identifier: MIT */
/* panic (v1): mimics a Hermit kernel panic: prints
 * "[0][PANIC] panicked at guest/panic.c:1:1: test panic\n" to fd 2, then Exit(1). */
#include "rt.h"

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	(void)bi;
	if (cpu != 0) {
		return 0;
	}
	rt_fdprintf(2, "[0][PANIC] panicked at guest/panic.c:1:1: test panic\n");
	rt_exit(1);
}
