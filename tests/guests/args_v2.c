/* SPDX-License-Identifier: MIT */
/* args-v2 (v2): the raw FDT /chosen/bootargs string.
 * Output: "bootargs=<raw string>\n" ("bootargs=(none)\n" if the FDT has no such property);
 * exit code 0. */
#include "rt.h"

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	const char *ba;

	if (cpu != 0) {
		return 0;
	}
	ba = rt_bootargs(bi);
	rt_printf("bootargs=%s\n", ba != NULL ? ba : "(none)");
	return 0;
}
