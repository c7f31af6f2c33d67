/* SPDX-License-Identifier: MIT */
/* fsops: a tiny command interpreter for file hypercalls, driven by argv (v1 and v2 builds).
 *
 * Each argument is one command, fields separated by ':'.  One output line per command:
 *   cat:PATH            open O_RDONLY, read all (<= 64 KiB), close
 *                       -> "cat PATH = N 'content'" or "cat PATH = -errno"
 *   put:PATH:TEXT       open O_WRONLY|O_CREAT|O_TRUNC 0644, write TEXT, close
 *                       -> "put PATH = fd,written,close" (v1: written is always "-")
 *   append:PATH:TEXT    the same with O_WRONLY|O_APPEND
 *   open:PATH:FLAGS     open with FLAGS (octal), keep it open -> "open PATH FLAGS = ret"
 *   openmany:PATH:N     open O_RDONLY N times, keep them -> "openmany PATH = ok K first E"
 *   close:FD            -> "close FD = ret"
 *   unlink:PATH         -> "unlink PATH = ret"
 *   seek:PATH:OFF       open, lseek(OFF, SEEK_SET), read 8 bytes -> "seek PATH OFF = pos 'data'"
 *   bigwrite:PATH:N     create PATH, write N bytes of 'x' in 4 KiB pieces
 *                       -> "bigwrite PATH = total"
 *   mkdir:PATH          (v2) -> "mkdir PATH = 0" or "= -errno"
 *   deep:PATH:N         (v2) mkdir PATH/d, PATH/d/d, ... N levels, stopping at the first
 *                       error -> "deep PATH = levels made, last result"
 *   stat:PATH, lstat:PATH (v2)
 *                       -> "stat PATH = 0 type=reg|dir|lnk|other size=N perm=0NNN" or "= -errno"
 *   ls:PATH             (v2) open O_DIRECTORY, getdents until the end, names sorted
 *                       -> "ls PATH = name1 name2 ..." or "= -errno"
 *   fstat:PATH          (v2) open O_RDONLY, fstat, close -> the same line as stat
 *   ids:DIR:NAME        (v2) the identity of DIR/NAME three ways: stat, fstat of an open fd,
 *                       and the d_ino of NAME in DIR's listing
 *                       -> "ids DIR/NAME = stat dev=D ino=I uid=U gid=G rdev=R nlink=N |
 *                           fstat dev=D ino=I uid=U gid=G rdev=R | ls ino=I" (-errno for any
 *                           that fails, ino=none if NAME is not listed)
 *   lsseek:PATH:LEN     (v2) count the entries of directory PATH read LEN bytes at a time,
 *                       rewind with lseek, count again -> "lsseek PATH LEN = N,pos,M"
 *                       (-errno in place of a count whose getdents failed)
 *   hold:PATH           (v2) open the directory PATH, read its listing once, print
 *                       "hold PATH = fd N entries K" and spin forever (stopped from outside)
 *   seekwrite:PATH:OFF:TEXT  open O_WRONLY|O_CREAT 0644, lseek(OFF), write TEXT, close
 *                       -> "seekwrite PATH OFF = fd,pos,written,close"
 *   createmany:PREFIX:N open PREFIX0 .. PREFIX<N-1> O_WRONLY|O_CREAT|O_EXCL 0644 and close
 *                       each -> "createmany PREFIX = ok K first E"
 *   mkdirmany:PREFIX:N  (v2) mkdir PREFIX0 .. PREFIX<N-1> -> "mkdirmany PREFIX = ok K first E"
 * Bytes outside printable ASCII in paths and data are printed as \xNN.  Exit code 0, or 2 for
 * an unknown command. */
#include "rt.h"

#define O_RDONLY    0
#define O_WRONLY    1
#define O_CREAT	    0100
#define O_EXCL	    0200
#define O_TRUNC	    01000
#define O_APPEND    02000
#define O_DIRECTORY 0200000

#ifdef RT_V2
#define F(name) rt_v2_##name
#else
#define F(name) rt_v1_##name
#endif

static char data[65536];
static char esc[4 * 65536 + 1];

static const char *escape(const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			esc[o++] = (char)c;
		} else {
			esc[o++] = '\\';
			esc[o++] = 'x';
			esc[o++] = hex[c >> 4];
			esc[o++] = hex[c & 15];
		}
	}
	esc[o] = '\0';
	return esc;
}

/* Splits "a:b:c" in place into at most max fields; returns the count. */
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

static long num(const char *s, int base)
{
	long v = 0;
	int neg = *s == '-';

	for (s += neg; *s >= '0' && *s < '0' + base; s++) {
		v = v * base + (*s - '0');
	}
	return neg ? -v : v;
}

/* Writes v (>= 0) in decimal and a NUL at p. */
static void put_num(char *p, long v)
{
	char tmp[24];
	int i = 0;

	do {
		tmp[i++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	while (i > 0) {
		*p++ = tmp[--i];
	}
	*p = '\0';
}

static int64_t do_write(int fd, const void *buf, size_t len)
{
#ifdef RT_V2
	return rt_v2_write(fd, buf, len);
#else
	rt_v1_write(fd, buf, len);
	return (int64_t)len;
#endif
}

static void cmd_cat(const char *path)
{
	int fd = F(open)(path, O_RDONLY, 0);
	int64_t n, total = 0;

	if (fd < 0) {
		rt_printf("cat %s = %d\n", escape(path, strlen(path)), fd);
		return;
	}
	while (total < (int64_t)sizeof data &&
	       (n = F(read)(fd, data + total, sizeof data - (size_t)total)) > 0) {
		total += n;
	}
	F(close)(fd);
	rt_printf("cat %s = %ld ", escape(path, strlen(path)), (long)total);
	rt_printf("'%s'\n", escape(data, (size_t)total));
}

static void cmd_put(const char *path, const char *text, int flags)
{
	int fd = F(open)(path, flags, 0644), c = 0;
	int64_t w = -1;

	if (fd >= 0) {
		w = do_write(fd, text, strlen(text));
		c = F(close)(fd);
	}
#ifdef RT_V2
	rt_printf("%s %s = %d,%ld,%d\n", flags & O_APPEND ? "append" : "put",
		  escape(path, strlen(path)), fd, (long)w, c);
#else
	(void)w;
	rt_printf("%s %s = %d,-,%d\n", flags & O_APPEND ? "append" : "put",
		  escape(path, strlen(path)), fd, c);
#endif
}

static void cmd_openmany(const char *path, long n)
{
	long ok = 0;
	int first = 0;

	for (long i = 0; i < n; i++) {
		int fd = F(open)(path, O_RDONLY, 0);
		if (fd >= 0) {
			ok++;
		} else if (first == 0) {
			first = fd;
		}
	}
	rt_printf("openmany %s = ok %ld first %d\n", escape(path, strlen(path)), ok, first);
}

static void cmd_seek(const char *path, long off)
{
	int fd = F(open)(path, O_RDONLY, 0);
	int64_t pos, n;

	if (fd < 0) {
		rt_printf("seek %s %ld = %d\n", path, off, fd);
		return;
	}
	pos = F(lseek)(fd, off, RT_SEEK_SET);
	n = F(read)(fd, data, 8);
	F(close)(fd);
	rt_printf("seek %s %ld = %ld '%s'\n", path, off, (long)pos,
		  escape(data, n > 0 ? (size_t)n : 0));
}

static void cmd_bigwrite(const char *path, long n)
{
	int fd = F(open)(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	long total = 0;

	memset(data, 'x', 4096);
	if (fd < 0) {
		rt_printf("bigwrite %s = %d\n", path, fd);
		return;
	}
	while (total < n) {
		size_t piece = n - total < 4096 ? (size_t)(n - total) : 4096;
		int64_t w = do_write(fd, data, piece);
		if (w <= 0) {
			break;
		}
		total += w;
	}
	F(close)(fd);
	rt_printf("bigwrite %s = %ld\n", path, total);
}

#ifdef RT_V2
static const char *type_name(uint32_t mode)
{
	switch (mode & 0170000) {
	case 0100000:
		return "reg";
	case 0040000:
		return "dir";
	case 0120000:
		return "lnk";
	default:
		return "other";
	}
}

static void cmd_stat(const char *path, int nofollow)
{
	struct uh_v2_file_attr a;
	struct uh_v2_ret r;

	memset(&a, 0, sizeof a);
	r = nofollow ? rt_v2_lstat(path, &a) : rt_v2_stat(path, &a);
	if (r.tag != UH_V2_RET_SUCCESS) {
		rt_printf("%s %s = -%d\n", nofollow ? "lstat" : "stat", escape(path, strlen(path)),
			  r.err);
		return;
	}
	char perm[6] = {'0',
			(char)('0' + ((a.mode >> 9) & 7)),
			(char)('0' + ((a.mode >> 6) & 7)),
			(char)('0' + ((a.mode >> 3) & 7)),
			(char)('0' + (a.mode & 7)),
			'\0'};
	rt_printf("%s %s = 0 type=%s size=%ld perm=%s\n", nofollow ? "lstat" : "stat",
		  escape(path, strlen(path)), type_name(a.mode), (long)a.size, perm);
}

static char names[256][64];

static void cmd_ls(const char *path)
{
	static uint8_t buf[4096];
	int fd = rt_v2_open(path, O_RDONLY | O_DIRECTORY, 0), n = 0;
	struct uh_v2_dents_ret r;

	if (fd < 0) {
		rt_printf("ls %s = %d\n", path, fd);
		return;
	}
	while ((r = rt_v2_getdents(fd, buf, sizeof buf)).tag == UH_V2_DENTS_SUCCESS) {
		for (uint64_t off = 0; off + 19 < r.bytes;) {
			uint16_t reclen;
			memcpy(&reclen, buf + off + 16, 2);
			const char *name = (const char *)buf + off + 19;
			if (reclen == 0 || off + reclen > r.bytes) {
				break;
			}
			if (n < 256 && !rt_streq(name, ".") && !rt_streq(name, "..")) {
				size_t l = strlen(name) < 63 ? strlen(name) : 63;
				memcpy(names[n], name, l);
				names[n++][l] = '\0';
			}
			off += reclen;
		}
	}
	rt_v2_close(fd);
	for (int i = 1; i < n; i++) { /* insertion sort: deterministic output */
		for (int j = i; j > 0 && memcmp(names[j - 1], names[j], 64) > 0; j--) {
			char t[64];
			memcpy(t, names[j], 64);
			memcpy(names[j], names[j - 1], 64);
			memcpy(names[j - 1], t, 64);
		}
	}
	if (r.tag == UH_V2_DENTS_ERROR) {
		rt_printf("ls %s = -%d\n", path, r.err);
		return;
	}
	rt_printf("ls %s =", path);
	for (int i = 0; i < n; i++) {
		rt_printf(" %s", escape(names[i], strlen(names[i])));
	}
	rt_printf("\n");
}
#endif

#ifdef RT_V2
static void cmd_fstat(const char *path)
{
	struct uh_v2_file_attr a;
	struct uh_v2_ret r = {.tag = UH_V2_RET_ERROR, .err = 0};
	int fd = rt_v2_open(path, O_RDONLY, 0);

	memset(&a, 0, sizeof a);
	if (fd < 0) {
		rt_printf("fstat %s = %d\n", escape(path, strlen(path)), fd);
		return;
	}
	r = rt_v2_fstat(fd, &a);
	rt_v2_close(fd);
	if (r.tag != UH_V2_RET_SUCCESS) {
		rt_printf("fstat %s = -%d\n", escape(path, strlen(path)), r.err);
		return;
	}
	rt_printf("fstat %s = 0 type=%s size=%ld perm=0%c%c%c%c\n", escape(path, strlen(path)),
		  type_name(a.mode), (long)a.size, (char)('0' + ((a.mode >> 9) & 7)),
		  (char)('0' + ((a.mode >> 6) & 7)), (char)('0' + ((a.mode >> 3) & 7)),
		  (char)('0' + (a.mode & 7)));
}

/* The d_ino of `name` in the listing of `dir` in *ino (0 if it is not listed).  Returns 0 or
 * the -errno of the open. */
static int listed_ino(const char *dir, const char *name, uint64_t *ino)
{
	static uint8_t buf[4096];
	int fd = rt_v2_open(dir, O_RDONLY | O_DIRECTORY, 0);
	struct uh_v2_dents_ret r;

	*ino = 0;
	if (fd < 0) {
		return fd;
	}
	while (*ino == 0 && (r = rt_v2_getdents(fd, buf, sizeof buf)).tag == UH_V2_DENTS_SUCCESS) {
		for (uint64_t off = 0; off + 19 < r.bytes;) {
			uint16_t reclen;
			memcpy(&reclen, buf + off + 16, 2);
			if (reclen == 0 || off + reclen > r.bytes) {
				break;
			}
			if (rt_streq((const char *)buf + off + 19, name)) {
				memcpy(ino, buf + off, 8);
			}
			off += reclen;
		}
	}
	rt_v2_close(fd);
	return 0;
}

static void print_ids(const char *what, struct uh_v2_ret r, const struct uh_v2_file_attr *a)
{
	if (r.tag != UH_V2_RET_SUCCESS) {
		rt_printf("%s -%d", what, r.err);
		return;
	}
	rt_printf("%s dev=%lu ino=%lu uid=%u gid=%u rdev=%lu", what, (unsigned long)a->dev,
		  (unsigned long)a->ino, a->uid, a->gid, (unsigned long)a->rdev);
}

static char ids_path[4096];

static void cmd_ids(const char *dir, const char *name)
{
	struct uh_v2_file_attr a, b;
	struct uh_v2_ret rs, rf = {.tag = UH_V2_RET_ERROR, .err = 9};
	size_t dl = strlen(dir), nl = strlen(name);
	uint64_t ino;
	int fd, lrc;

	if (dl + nl + 2 > sizeof ids_path) {
		return;
	}
	memcpy(ids_path, dir, dl);
	if (dl == 0 || dir[dl - 1] != '/') {
		ids_path[dl++] = '/';
	}
	memcpy(ids_path + dl, name, nl + 1);
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	rs = rt_v2_stat(ids_path, &a);
	fd = rt_v2_open(ids_path, O_RDONLY, 0);
	if (fd >= 0) {
		rf = rt_v2_fstat(fd, &b);
		rt_v2_close(fd);
	}
	lrc = listed_ino(dir, name, &ino);
	rt_printf("ids %s = ", escape(ids_path, strlen(ids_path)));
	print_ids("stat", rs, &a);
	rt_printf(" nlink=%lu | ", (unsigned long)a.nlink);
	print_ids("fstat", rf, &b);
	if (lrc < 0) {
		rt_printf(" | ls %d\n", lrc);
	} else if (ino == 0) {
		rt_printf(" | ls ino=none\n");
	} else {
		rt_printf(" | ls ino=%lu\n", (unsigned long)ino);
	}
}

/* Counts the records of an open directory read with `len`-byte getdents calls: >= 0, or
 * -errno of the first failing call. */
static long count_dents(int fd, size_t len)
{
	static uint8_t buf[65536];
	struct uh_v2_dents_ret r;
	long k = 0;

	while ((r = rt_v2_getdents(fd, buf, len)).tag == UH_V2_DENTS_SUCCESS) {
		for (uint64_t off = 0; off + 19 < r.bytes; k++) {
			uint16_t reclen;
			memcpy(&reclen, buf + off + 16, 2);
			if (reclen == 0) {
				break;
			}
			off += reclen;
		}
	}
	return r.tag == UH_V2_DENTS_ERROR ? -(long)r.err : k;
}

static void cmd_lsseek(const char *path, long len)
{
	int fd = rt_v2_open(path, O_RDONLY | O_DIRECTORY, 0);
	long first, second;
	int64_t pos;

	if (fd < 0 || len <= 0 || len > 65536) {
		rt_printf("lsseek %s %ld = %d\n", path, len, fd);
		return;
	}
	first = count_dents(fd, (size_t)len);
	pos = rt_v2_lseek(fd, 0, RT_SEEK_SET);
	second = count_dents(fd, (size_t)len);
	rt_v2_close(fd);
	rt_printf("lsseek %s %ld = %ld,%ld,%ld\n", path, len, first, (long)pos, second);
}

static void cmd_hold(const char *path)
{
	static uint8_t buf[4096];
	int fd = rt_v2_open(path, O_RDONLY | O_DIRECTORY, 0);
	struct uh_v2_dents_ret r;
	long k = 0;

	if (fd >= 0 && (r = rt_v2_getdents(fd, buf, sizeof buf)).tag == UH_V2_DENTS_SUCCESS) {
		for (uint64_t off = 0; off + 19 < r.bytes; k++) {
			uint16_t reclen;
			memcpy(&reclen, buf + off + 16, 2);
			if (reclen == 0) {
				break;
			}
			off += reclen;
		}
	}
	rt_printf("hold %s = fd %d entries %ld\n", path, fd, k);
	for (;;) {
		rt_pause();
	}
}

static void cmd_mkdirmany(const char *prefix, long n)
{
	static char p[4096];
	size_t len = strlen(prefix);
	long ok = 0;
	int first = 0;

	for (long i = 0; i < n && len + 24 < sizeof p; i++) {
		struct uh_v2_ret r;
		memcpy(p, prefix, len);
		put_num(p + len, i);
		r = rt_v2_mkdir(p);
		if (r.tag == UH_V2_RET_SUCCESS) {
			ok++;
		} else if (first == 0) {
			first = -r.err;
		}
	}
	rt_printf("mkdirmany %s = ok %ld first %d\n", escape(prefix, len), ok, first);
}
#endif

static void cmd_seekwrite(const char *path, long off, const char *text)
{
	int fd = F(open)(path, O_WRONLY | O_CREAT, 0644), c = 0;
	int64_t pos = -1, w = -1;

	if (fd >= 0) {
		pos = F(lseek)(fd, off, RT_SEEK_SET);
		w = do_write(fd, text, strlen(text));
		c = F(close)(fd);
	}
	rt_printf("seekwrite %s %ld = %d,%ld,%ld,%d\n", escape(path, strlen(path)), off, fd,
		  (long)pos, (long)w, c);
}

static void cmd_createmany(const char *prefix, long n)
{
	static char p[4096];
	size_t len = strlen(prefix);
	long ok = 0;
	int first = 0;

	for (long i = 0; i < n && len + 24 < sizeof p; i++) {
		int fd;
		memcpy(p, prefix, len);
		put_num(p + len, i);
		fd = F(open)(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0) {
			ok++;
			F(close)(fd);
		} else if (first == 0) {
			first = fd;
		}
	}
	rt_printf("createmany %s = ok %ld first %d\n", escape(prefix, len), ok, first);
}

#ifdef RT_V2
static char deep_path[4096];

static void cmd_deep(const char *base, uint64_t n)
{
	size_t len = strlen(base);
	uint64_t made = 0;
	int rc = 0;

	if (len >= sizeof deep_path) {
		rt_printf("deep %s = 0, -36\n", escape(base, len));
		return;
	}
	memcpy(deep_path, base, len + 1);
	while (made < n && len + 3 <= sizeof deep_path) {
		/* the hypercall without rt_v2_mkdir's strlen: on a KVM that emulates guest code
		 * (kvm_pvm), 2,000 strlens of 4 KiB paths take many seconds */
		struct uh_v2_mkdir p;
		memcpy(deep_path + len, "/d", 3);
		len += 2;
		p = (struct uh_v2_mkdir){.path = rt_gpa(deep_path), .len = len + 1};
		rt_hc2(UH_V2_MKDIR, rt_gpa(&p));
		rc = p.ret.tag == UH_V2_RET_SUCCESS ? 0 : -p.ret.err;
		if (rc != 0) {
			break;
		}
		made++;
	}
	rt_printf("deep %s = %lu, %d\n", escape(base, strlen(base)), (unsigned long)made, rc);
}
#endif

static int run(char *cmd)
{
	char *f[4];
	int n = split(cmd, f, 4);

	if (n >= 2 && rt_streq(f[0], "cat")) {
		cmd_cat(f[1]);
	} else if (n >= 3 && rt_streq(f[0], "put")) {
		cmd_put(f[1], f[2], O_WRONLY | O_CREAT | O_TRUNC);
	} else if (n >= 3 && rt_streq(f[0], "append")) {
		cmd_put(f[1], f[2], O_WRONLY | O_APPEND);
	} else if (n >= 3 && rt_streq(f[0], "open")) {
		rt_printf("open %s %s = %d\n", escape(f[1], strlen(f[1])), f[2],
			  F(open)(f[1], (int)num(f[2], 8), 0644));
	} else if (n >= 3 && rt_streq(f[0], "openmany")) {
		cmd_openmany(f[1], num(f[2], 10));
	} else if (n >= 2 && rt_streq(f[0], "close")) {
		rt_printf("close %s = %d\n", f[1], F(close)((int)num(f[1], 10)));
	} else if (n >= 2 && rt_streq(f[0], "unlink")) {
		rt_printf("unlink %s = %d\n", escape(f[1], strlen(f[1])), F(unlink)(f[1]));
	} else if (n >= 3 && rt_streq(f[0], "seek")) {
		cmd_seek(f[1], num(f[2], 10));
	} else if (n >= 3 && rt_streq(f[0], "bigwrite")) {
		cmd_bigwrite(f[1], num(f[2], 10));
#ifdef RT_V2
	} else if (n >= 2 && rt_streq(f[0], "mkdir")) {
		struct uh_v2_ret r = rt_v2_mkdir(f[1]);
		rt_printf("mkdir %s = %d\n", escape(f[1], strlen(f[1])),
			  r.tag == UH_V2_RET_SUCCESS ? 0 : -r.err);
	} else if (n >= 3 && rt_streq(f[0], "deep")) {
		cmd_deep(f[1], num(f[2], 10));
	} else if (n >= 2 && (rt_streq(f[0], "stat") || rt_streq(f[0], "lstat"))) {
		cmd_stat(f[1], rt_streq(f[0], "lstat"));
	} else if (n >= 2 && rt_streq(f[0], "ls")) {
		cmd_ls(f[1]);
	} else if (n >= 2 && rt_streq(f[0], "fstat")) {
		cmd_fstat(f[1]);
	} else if (n >= 3 && rt_streq(f[0], "ids")) {
		cmd_ids(f[1], f[2]);
	} else if (n >= 3 && rt_streq(f[0], "lsseek")) {
		cmd_lsseek(f[1], num(f[2], 10));
	} else if (n >= 2 && rt_streq(f[0], "hold")) {
		cmd_hold(f[1]);
	} else if (n >= 3 && rt_streq(f[0], "mkdirmany")) {
		cmd_mkdirmany(f[1], num(f[2], 10));
#endif
	} else if (n >= 4 && rt_streq(f[0], "seekwrite")) {
		cmd_seekwrite(f[1], num(f[2], 10), f[3]);
	} else if (n >= 3 && rt_streq(f[0], "createmany")) {
		cmd_createmany(f[1], num(f[2], 10));
	} else {
		rt_printf("unknown command %s\n", f[0]);
		return 2;
	}
	return 0;
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	int rc = 0;

	(void)bi;
	if (cpu != 0 || rt_args_init() != 0) {
		return cpu != 0 ? 0 : 1;
	}
	for (int i = 1; i < rt_argc && rc == 0; i++) {
		rc = run(rt_argv[i]);
	}
	return rc;
}
