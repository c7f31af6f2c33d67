/* SPDX-License-Identifier: MIT */
#include "netdev.h"
int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	(void)bi;
	(void)cpu;
	return 0;
}
