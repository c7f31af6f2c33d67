/* SPDX-License-Identifier: MIT */
/* hello, hello-v2, hello-exec: one line to fd 1 through FileWrite, exit 0.
 * Output: "Hello from uhyve-sec!\n"; exit code 0. */
#include "rt.h"

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	(void)bi;
	if (cpu != 0) {
		return 0;
	}
	rt_printf("Hello from uhyve-sec!\n");
	return 0;
}
