/* SPDX-License-Identifier: MIT */
/* escape (v2): asks a test build of the VMM (meson -Dtest_hooks=true) to attempt something
 * its sandbox must forbid, after confinement: argv[1] is the action (open, execve, socket,
 * ptrace, mprotect, ioctl, mmap, vmioctl: a VM-fd ioctl other than the one allowed; noop is
 * the control), argv[2] the thread (vcpu or main).  If the
 * VMM survives, prints "<action> on <thread> = <result>" (-errno) and exits 0. */
#include "rt.h"

static const char *const actions[] = {"",	  "open",  "execve", "socket", "ptrace",
				      "mprotect", "ioctl", "mmap",   "noop",   "vmioctl"};

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	uint64_t action = 0, main_thread;
	uint32_t result;

	(void)bi;
	if (cpu != 0 || rt_args_init() != 0 || rt_argc < 3) {
		return cpu != 0 ? 0 : 2;
	}
	for (uint64_t i = 1; i < sizeof actions / sizeof actions[0]; i++) {
		if (rt_streq(rt_argv[1], actions[i])) {
			action = i;
		}
	}
	main_thread = rt_streq(rt_argv[2], "main") ? 0x100 : 0;
	if (action == 0) {
		rt_printf("unknown action %s\n", rt_argv[1]);
		return 2;
	}
	__asm__ volatile("inl %%dx, %%eax"
			 : "=a"(result)
			 : "d"((uint16_t)0x1ff0), "D"(action | main_thread)
			 : "memory");
	rt_printf("%s on %s = %d\n", rt_argv[1], rt_argv[2], (int)result);
	return 0;
}
