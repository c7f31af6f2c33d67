/* SPDX-License-Identifier: MIT */
/* exitcode (v1): Exit(argv[1]) where argv[1] is a signed decimal ("-1", "42", ...).  The
 * value is truncated to the 32-bit Exit argument.  No output; a missing or malformed
 * argument prints "exitcode: bad argument\n" to fd 2 and exits 125. */
#include "rt.h"

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	int64_t v;

	(void)bi;
	if (cpu != 0) {
		return 0;
	}
	if (rt_args_init() != 0 || rt_argc < 2 || rt_parse_long(rt_argv[1], &v) != 0) {
		rt_fdprintf(2, "exitcode: bad argument\n");
		return 125;
	}
	rt_exit((int)(int32_t)(uint32_t)(uint64_t)v);
}
