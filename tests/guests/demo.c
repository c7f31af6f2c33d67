/* demo (v1): the README quick-start guest.  Output:
 *   uhyve-sec demo guest
 *   argc=<n>
 *   argv[<i>]=<s>          one line per argument
 *   env[<j>]=<s>           one line per non-empty environment entry
 *   vcpus=<num_cpus>
 *   ram=<MiB> MiB
 * exit code 0. */
#include "rt.h"

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	int j = 0;

	if (cpu != 0) {
		return 0;
	}
	rt_printf("uhyve-sec demo guest\n");
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
	rt_printf("vcpus=%lu\n", (unsigned long)bi->num_cpus);
	rt_printf("ram=%lu MiB\n",
		  (unsigned long)((bi->phys_addr_end - bi->phys_addr_start) >> 20));
	return 0;
}
