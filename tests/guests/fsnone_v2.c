/* SPDX-License-Identifier: MIT */
/* fsnone-v2 (v2): file hypercalls through the v2 ports with no file system mounted.
 * One line per call:
 *   open=<ret>        open("/root/x", O_RDONLY)
 *   creat=<ret>       open("/root/new", O_CREAT|O_WRONLY, 0644)
 *   read=<ret>        read(7, buf, 16)
 *   lseek=<ret>       lseek(7, 0, SEEK_SET)
 *   close=<ret>       close(7)
 *   unlink=<ret>      unlink("/root/x")
 *   stat=<tag>,<err>  stat("/root/x")
 *   fstat=<tag>,<err> fstat(7)
 *   mkdir=<tag>,<err> mkdir("/root/d") (len includes the NUL)
 *   getdents=<tag>,<err> getdents(7, buf, 256)
 *   write=<ret>       write(9, "fd9\n", 4)
 *   openlong=<ret>    open() of a 5000-byte path (5000 'a', then NUL)
 * then "done\n"; exit code 0.  <ret> = fd/bytes/offset or -errno; <tag> 1 success,
 * 2 error (getdents: 1 success, 2 end of directory, 3 error); <err> positive errno. */
#include "rt.h"

static char longpath[5001];
static struct uh_v2_file_attr attr;
static char dents[256];

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	static const char fd9[] = "fd9\n";
	struct uh_v2_ret r;
	struct uh_v2_dents_ret d;
	char buf[16];

	(void)bi;
	if (cpu != 0) {
		return 0;
	}
	rt_printf("open=%d\n", rt_v2_open("/root/x", UH_O_RDONLY, 0));
	rt_printf("creat=%d\n", rt_v2_open("/root/new", UH_O_CREAT | UH_O_WRONLY, 0644));
	rt_printf("read=%ld\n", (long)rt_v2_read(7, buf, sizeof(buf)));
	rt_printf("lseek=%ld\n", (long)rt_v2_lseek(7, 0, RT_SEEK_SET));
	rt_printf("close=%d\n", rt_v2_close(7));
	rt_printf("unlink=%d\n", rt_v2_unlink("/root/x"));
	r = rt_v2_stat("/root/x", &attr);
	rt_printf("stat=%u,%d\n", r.tag, r.err);
	r = rt_v2_fstat(7, &attr);
	rt_printf("fstat=%u,%d\n", r.tag, r.err);
	r = rt_v2_mkdir("/root/d");
	rt_printf("mkdir=%u,%d\n", r.tag, r.err);
	d = rt_v2_getdents(7, dents, sizeof(dents));
	rt_printf("getdents=%u,%d\n", d.tag, d.err);
	rt_printf("write=%ld\n", (long)rt_v2_write(9, fd9, sizeof(fd9) - 1));
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[sizeof(longpath) - 1] = '\0';
	rt_printf("openlong=%d\n", rt_v2_open(longpath, UH_O_RDONLY, 0));
	rt_printf("done\n");
	return 0;
}
