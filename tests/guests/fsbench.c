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
 *   pread:PATH:BS:N    like read (pwrite: like write), but each timed call alternates with a
 *                      timed call of the same kind and size on fd 0 (the exit floor: EBADF, no
 *                      data; after its untimed extra exit, as noop), so both see the same
 *                      moments of a noisy host and run the same guest code (timed_rw); also
 *                      prints the floor's line as "floor-pread" ("floor-pwrite")
 * Each prints "<cmd> bs=<BS> n=<N> median_ns=<m> p10_ns=<a> p90_ns=<b>". */
#include "rt.h"

#define O_RDONLY 0
#define O_WRONLY 1
#define O_CREAT	 0100
#define O_TRUNC	 01000
#define MAXN	 20000

static uint64_t samples[MAXN], floor_samples[MAXN];
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

static void report(const char *what, uint64_t *v, long bs, long n)
{
	sort(v, n);
	rt_printf("%s bs=%ld n=%ld median_ns=%lu p10_ns=%lu p90_ns=%lu\n", what, bs, n,
		  (unsigned long)ns(v[n / 2]), (unsigned long)ns(v[n / 10]),
		  (unsigned long)ns(v[n * 9 / 10]));
}

/* One timed read or write of `bs` bytes on fd: the paired commands time the operation (a file
 * fd) and its floor (fd 0: validated buffer, EBADF, no data) through this one function, so both
 * run the same guest instructions (which this host executes at about 1 us each, in KVM's
 * emulator) and differ only in what the VMM does.  Returns the cycles, the result in *r. */
static __attribute__((noinline)) uint64_t timed_rw(int rd, int fd, long bs, int64_t *r)
{
	uint64_t t0 = tsc();

	*r = rd ? rt_v2_read(fd, buf, (size_t)bs) : rt_v2_write(fd, buf, (size_t)bs);
	return tsc() - t0;
}

/* One iteration of read, write, readseq, pread or pwrite: samples[i] (and, paired,
 * floor_samples[i]).  Returns 0, or -1 after a message if the call moved fewer bytes. */
static int rw_once(const char *cmd, int rd, int paired, int fd, long bs, long i)
{
	uint64_t t0;
	int64_t r;

	if (paired) { /* the floor's untimed extra exit fails, as noop's */
		rt_v2_lseek(-1, 0, RT_SEEK_SET);
		floor_samples[i] = timed_rw(rd, 0, bs, &r);
	}
	if (!rt_streq(cmd, "readseq")) {
		rt_v2_lseek(fd, 0, RT_SEEK_SET);
	}
	if (paired) {
		samples[i] = timed_rw(rd, fd, bs, &r);
	} else {
		t0 = tsc();
		r = rd ? rt_v2_read(fd, buf, (size_t)bs) : rt_v2_write(fd, buf, (size_t)bs);
		samples[i] = tsc() - t0;
	}
	if (r != bs) {
		rt_printf("%s: %ld bytes instead of %ld\n", cmd, (long)r, bs);
		return -1;
	}
	return 0;
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
	int k = split(cmd, f, 4), fd = -1, rd = 0, paired = f[0][0] == 'p';
	long bs = 0, n;

	if (rt_streq(f[0], "noop") && k == 3) {
		bs = num(f[1]);
		n = num(f[2]);
	} else if (rt_streq(f[0], "openclose") && k == 3) {
		n = num(f[2]);
	} else if ((rt_streq(f[0], "read") || rt_streq(f[0], "write") ||
		    rt_streq(f[0], "readseq") || rt_streq(f[0], "pread") ||
		    rt_streq(f[0], "pwrite")) &&
		   k == 4) {
		bs = num(f[2]);
		n = num(f[3]);
		rd = f[0][0] == 'r' || rt_streq(f[0], "pread");
		fd = rt_v2_open(f[1], rd ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC, 0644);
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
			if (rw_once(f[0], rd, paired, fd, bs, i) != 0) {
				return;
			}
			continue;
		}
		samples[i] = t1 - t0;
	}
	if (fd >= 0) {
		rt_v2_close(fd);
	}
	report(f[0], samples, bs, n);
	if (paired) {
		report(rd ? "floor-pread" : "floor-pwrite", floor_samples, bs, n);
	}
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
