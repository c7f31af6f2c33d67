/* SPDX-License-Identifier: MIT */
/* demo (v1): the README quick-start guest, run as
 *     uhyve-sec -c 2 -e GREETING=hello --mount demo/data:/data demo hello world
 * It prints its arguments, environment and machine, reads /data/hello.txt, appends a line
 * to /data/guestbook.txt (creating it) and reads it back, then shows that a path outside
 * every mount is refused.  Output:
 *   uhyve-sec demo guest
 *   argv[<i>]=<s>           one line per argument
 *   env: <KEY=VALUE>        one line per non-empty environment entry
 *   vcpus=<n> ram=<MiB> MiB
 *   /data/hello.txt: <first line of the file>   (or: cannot open /data/hello.txt: <ret>)
 *   /data/guestbook.txt: now <n> line(s); this run wrote: <line>
 *   /etc/passwd: <ret> (refused: outside every mount)
 * exit code 0. */
#include "rt.h"

#define O_RDONLY 0
#define O_WRONLY 1
#define O_CREAT	 0100
#define O_APPEND 02000

static char buf[8192];

static int64_t read_file(const char *path)
{
	int fd = rt_v1_open(path, O_RDONLY, 0);
	int64_t n, total = 0;

	if (fd < 0) {
		return fd;
	}
	while (total < (int64_t)sizeof buf - 1 &&
	       (n = rt_v1_read(fd, buf + total, sizeof buf - 1 - (size_t)total)) > 0) {
		total += n;
	}
	rt_v1_close(fd);
	buf[total] = '\0';
	return total;
}

static void guestbook(const struct uh_boot_info *bi)
{
	static char line[96];
	int64_t n = read_file("/data/guestbook.txt");
	long lines = 0;
	int fd, len;

	for (int64_t i = 0; i < n; i++) {
		lines += buf[i] == '\n';
	}
	len = 0;
	for (const char *s = "visit #"; *s; s++) {
		line[len++] = *s;
	}
	char num[24];
	int d = 0;
	for (long v = lines + 1; v > 0 && d < 20; v /= 10) {
		num[d++] = (char)('0' + v % 10);
	}
	while (d > 0) {
		line[len++] = num[--d];
	}
	for (const char *s = " from the demo guest\n"; *s; s++) {
		line[len++] = *s;
	}
	fd = rt_v1_open("/data/guestbook.txt", O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd < 0) {
		rt_printf("cannot open /data/guestbook.txt for appending: %d\n", fd);
		return;
	}
	rt_v1_write(fd, line, (size_t)len);
	rt_v1_close(fd);
	n = read_file("/data/guestbook.txt");
	lines = 0;
	for (int64_t i = 0; i < n; i++) {
		lines += buf[i] == '\n';
	}
	(void)bi;
	rt_printf("/data/guestbook.txt: now %ld line(s); this run wrote: %s", lines, line);
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	int64_t n;

	if (cpu != 0) {
		return 0;
	}
	rt_printf("uhyve-sec demo guest\n");
	if (rt_args_init() != 0) {
		return 1;
	}
	for (int i = 0; i < rt_argc; i++) {
		rt_printf("argv[%d]=%s\n", i, rt_argv[i]);
	}
	for (int i = 0; i < rt_envc; i++) {
		if (rt_envp[i][0] != '\0') {
			rt_printf("env: %s\n", rt_envp[i]);
		}
	}
	rt_printf("vcpus=%lu ram=%lu MiB\n", (unsigned long)bi->num_cpus,
		  (unsigned long)((bi->phys_addr_end - bi->phys_addr_start) >> 20));
	n = read_file("/data/hello.txt");
	if (n < 0) {
		rt_printf("cannot open /data/hello.txt: %ld\n", (long)n);
	} else {
		for (int64_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				buf[i] = '\0';
				break;
			}
		}
		rt_printf("/data/hello.txt: %s\n", buf);
	}
	guestbook(bi);
	rt_printf("/etc/passwd: %d (refused: outside every mount)\n",
		  rt_v1_open("/etc/passwd", O_RDONLY, 0));
	return 0;
}
