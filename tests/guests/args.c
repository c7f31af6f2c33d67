/* SPDX-License-Identifier: MIT */
/* args (v1): argv and the non-empty environment entries from Cmdsize/Cmdval.
 * Output: "argc=N\n", "argv[i]=<s>\n" for every argument, "env[j]=<s>\n" for every
 * non-empty environment entry (j counts the printed entries); exit code 0 (1 if the VMM's
 * Cmdsize answer does not fit the runtime's pool). */
#include "rt.h"

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	int j = 0;

	(void)bi;
	if (cpu != 0) {
		return 0;
	}
	if (rt_args_init() != 0) {
		return 1;
	}
	rt_printf("argc=%d\n", rt_argc);
	for (int i = 0; i < rt_argc; i++) {
		rt_printf("argv[%d]=%s\n", i, rt_argv[i]);
	}
	for (int i = 0; i < rt_envc; i++) {
		if (rt_envp[i][0] != '\0') {
			rt_printf("env[%d]=%s\n", j++, rt_envp[i]);
		}
	}
	return 0;
}
