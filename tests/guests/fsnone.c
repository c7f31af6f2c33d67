/* SPDX-License-Identifier: MIT */
/* fsnone (v1): file hypercalls with no file system mounted.  One line per call:
 *   open=<ret>    open("/root/x", O_RDONLY)
 *   creat=<ret>   open("/root/new", O_CREAT|O_WRONLY, 0644)
 *   read=<ret>    read(7, buf, 16)
 *   lseek=<ret>   lseek(7, 0, SEEK_SET)
 *   close=<ret>   close(7)
 *   unlink=<ret>  unlink("/root/x")
 *   openlong=<ret> open() of a 5000-byte path (5000 'a', then NUL)
 * then a FileWrite of "fd9\n" to fd 9 (v1 has no result field, so no line), then "done\n";
 * exit code 0.  <ret> is the value the VMM stored (fd or -errno; lseek: offset or negative). */
#include "rt.h"

static char longpath[5001];

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	static const char fd9[] = "fd9\n";
	char buf[16];

	(void)bi;
	if (cpu != 0) {
		return 0;
	}
	rt_printf("open=%d\n", rt_v1_open("/root/x", UH_O_RDONLY, 0));
	rt_printf("creat=%d\n", rt_v1_open("/root/new", UH_O_CREAT | UH_O_WRONLY, 0644));
	rt_printf("read=%ld\n", (long)rt_v1_read(7, buf, sizeof(buf)));
	rt_printf("lseek=%ld\n", (long)rt_v1_lseek(7, 0, RT_SEEK_SET));
	rt_printf("close=%d\n", rt_v1_close(7));
	rt_printf("unlink=%d\n", rt_v1_unlink("/root/x"));
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	rt_printf("openlong=%d\n", rt_v1_open(longpath, UH_O_RDONLY, 0));
	rt_v1_write(9, fd9, sizeof(fd9) - 1);
	rt_printf("done\n");
	return 0;
}
