/* SPDX-License-Identifier: MIT */
/* spin (v1): prints "spinning\n", then loops forever on `pause`; never exits (the VMM must be
 * stopped from outside, e.g. by a signal or a timeout). */
#include "rt.h"

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	(void)bi;
	if (cpu != 0) {
		return 0;
	}
	rt_printf("spinning\n");
	for (;;) {
		rt_pause();
	}
}
