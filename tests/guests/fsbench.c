/* SPDX-License-Identifier: MIT */
/* fsbench (v2): times file hypercalls from inside the guest with RDTSC; the TSC frequency
 * comes from the boot info.  Commands (argv, one each):
 *   noop:BS:N          N FileRead calls on fd 0 with a BS-byte buffer: the VMM validates the
 *                      buffer and answers EBADF without touching data (the exit floor);
 *                      each preceded, untimed, by a failing lseek, as read/write rewind
 *   openclose:PATH:N   N x (open O_RDONLY + close)
 *   read:PATH:BS:N     N reads of BS bytes (rewinding with lseek outside the timed part)
 *   write:PATH:BS:N    N writes of BS bytes (rewinding likewise)
 *   readseq:PATH:BS:N  N reads of BS bytes, sequential, no rewind (the file must be large enough)
 * Each prints "<cmd> bs=<BS> n=<N> median_ns=<m> p10_ns=<a> p90_ns=<b>". */
#include "rt.h"

#define O_RDONLY 0
#define O_WRONLY 1
#define O_CREAT	 0100
#define O_TRUNC	 01000
#define MAXN	 20000

static uint64_t samples[MAXN];
static uint8_t buf[1 << 20] __attribute__((aligned(4096)));
static uint64_t khz;

static inline uint64_t tsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return ((uint64_t)hi << 32) | lo;
}

static uint64_t ns(uint64_t cycles)
{
	return cycles * 1000000ull / khz;
}

static void sort(uint64_t *a, long n)
{
	for (long gap = n / 2; gap > 0; gap /= 2) { /* shell sort */
		for (long i = gap; i < n; i++) {
			uint64_t t = a[i];
			long j = i;
			for (; j >= gap && a[j - gap] > t; j -= gap) {
				a[j] = a[j - gap];
			}
			a[j] = t;
		}
	}
}

static void report(const char *what, long bs, long n)
{
	sort(samples, n);
	rt_printf("%s bs=%ld n=%ld median_ns=%lu p10_ns=%lu p90_ns=%lu\n", what, bs, n,
		  (unsigned long)ns(samples[n / 2]), (unsigned long)ns(samples[n / 10]),
		  (unsigned long)ns(samples[n * 9 / 10]));
}

static long num(const char *s)
{
	long v = 0;

	while (*s >= '0' && *s <= '9') {
		v = v * 10 + (*s++ - '0');
	}
	return v;
}

static int split(char *s, char **f, int max)
{
	int n = 0;

	f[n++] = s;
	for (char *p = s; *p && n < max; p++) {
		if (*p == ':') {
			*p = '\0';
			f[n++] = p + 1;
		}
	}
	return n;
}

static void run(char *cmd)
{
	char *f[4];
	int k = split(cmd, f, 4), fd = -1;
	long bs = 0, n;

	if (rt_streq(f[0], "noop") && k == 3) {
		bs = num(f[1]);
		n = num(f[2]);
	} else if (rt_streq(f[0], "openclose") && k == 3) {
		n = num(f[2]);
	} else if ((rt_streq(f[0], "read") || rt_streq(f[0], "write") ||
		    rt_streq(f[0], "readseq")) &&
		   k == 4) {
		bs = num(f[2]);
		n = num(f[3]);
		fd = rt_v2_open(f[1], f[0][0] == 'r' ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC,
				0644);
		if (fd < 0) {
			rt_printf("%s: open %s = %d\n", f[0], f[1], fd);
			return;
		}
	} else {
		rt_printf("bad command %s\n", f[0]);
		return;
	}
	if (n > MAXN || bs > (long)sizeof buf) {
		n = n > MAXN ? MAXN : n;
		bs = bs > (long)sizeof buf ? (long)sizeof buf : bs;
	}
	for (long i = 0; i < n; i++) {
		uint64_t t0, t1;
		if (f[0][0] == 'n') {
			/* the same untimed extra exit as the rewind of read/write */
			rt_v2_lseek(-1, 0, RT_SEEK_SET);
			t0 = tsc();
			rt_v2_read(0, buf, (size_t)bs);
			t1 = tsc();
		} else if (f[0][0] == 'o') {
			t0 = tsc();
			int o = rt_v2_open(f[1], O_RDONLY, 0);
			rt_v2_close(o);
			t1 = tsc();
			if (o < 0) {
				rt_printf("openclose: open %s = %d\n", f[1], o);
				return;
			}
		} else {
			if (f[0][4] != 's') { /* readseq: no rewind */
				rt_v2_lseek(fd, 0, RT_SEEK_SET);
			}
			t0 = tsc();
			int64_t r = f[0][0] == 'r' ? rt_v2_read(fd, buf, (size_t)bs)
						   : rt_v2_write(fd, buf, (size_t)bs);
			t1 = tsc();
			if (r != bs) {
				rt_printf("%s: %ld bytes instead of %ld\n", f[0], (long)r, bs);
				return;
			}
		}
		samples[i] = t1 - t0;
	}
	if (fd >= 0) {
		rt_v2_close(fd);
	}
	report(f[0], bs, n);
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	if (cpu != 0 || rt_args_init() != 0) {
		return cpu != 0 ? 0 : 1;
	}
	khz = bi->cpu_freq_khz;
	if (khz == 0) {
		rt_printf("no TSC frequency in the boot info\n");
		return 1;
	}
	memset(buf, 'b', sizeof buf);
	for (int i = 1; i < rt_argc; i++) {
		run(rt_argv[i]);
	}
	return 0;
}
