/* SPDX-License-Identifier: MIT */
/* stdin (v1) and stdin-v2 (v2): FileRead on fd 0 reads uhyve-sec's stdin, as newer Hermit
 * kernels read their stdin (src/fd/stdio/uhyve.rs UhyveStdin: one FileRead per read).
 * Output: "read1=<ret>" (a read of fd 1: uhyve-sec answers -EBADF), then everything read from
 * fd 0 in reads of at most 5 bytes until a read returns 0, written back verbatim, then
 * "stdin=<n> bytes"; a negative read: "read0=<ret>", exit 1.
 * With argv[1] = "exit-on-cpu1" (run with -c 2): vCPU 1 waits until vCPU 0 is about to read
 * fd 0, lets it block for a while and exits the VM with code 7 (the read must not keep the
 * run alive). */
#include "rt.h"

#ifdef RT_V2
#define READ rt_v2_read
#else
#define READ rt_v1_read
#endif

static char buf[1 << 16];
static volatile int mode_known, exit_on_cpu1, reading;

static void cpu1(void)
{
	while (!mode_known) {
		rt_pause();
	}
	if (!exit_on_cpu1) {
		return;
	}
	while (!reading) {
		rt_pause();
	}
	for (volatile unsigned long i = 0; i < 20000; i++) {
		rt_pause(); /* vCPU 0 is in its read by now */
	}
	rt_exit(7);
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	char one[4];
	size_t total = 0;

	(void)bi;
	if (cpu == 1) {
		cpu1();
		return 0;
	}
	if (cpu != 0) {
		return 0;
	}
	if (rt_args_init() != 0) {
		return 1;
	}
	exit_on_cpu1 = rt_argc > 1 && rt_streq(rt_argv[1], "exit-on-cpu1");
	mode_known = 1;
	rt_printf("read1=%ld\n", (long)READ(1, one, sizeof one));
	reading = 1;
	for (;;) {
		size_t want = sizeof buf - total < 5 ? sizeof buf - total : 5;
		int64_t n = READ(0, buf + total, want);

		if (n < 0) {
			rt_printf("read0=%ld\n", (long)n);
			return 1;
		}
		if (n == 0) {
			break;
		}
		total += (size_t)n;
	}
	rt_write(1, buf, total);
	rt_printf("stdin=%lu bytes\n", (unsigned long)total);
	return 0;
}
