/* SPDX-License-Identifier: MIT */
/* rt.c - tiny freestanding runtime for the uhyve-sec test guests (see rt.h). */
#include "rt.h"

const struct uh_boot_info *rt_boot_info;
rt_lock_t rt_print_lock;

RT_NORETURN void rt_main(const struct uh_boot_info *bi, uint64_t cpu);

/* Pointers in initialised data: each one needs an R_X86_64_RELATIVE relocation, which the
 * VMM must apply (the runtime never relocates itself).  rt_main() checks the first one, the
 * number formatter depends on the second. */
static const char rt_anchor = 0;
static const char *volatile rt_anchor_ptr = &rt_anchor;
static const char *volatile rt_digits = "0123456789abcdef";

/* ---- libc pieces: string instructions, so the compiler cannot turn the loops back into
 * calls to themselves ---- */

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n) {
		return memcpy(dst, src, n);
	}
	while (n > 0) {
		n--;
		((volatile unsigned char *)d)[n] = s[n];
	}
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a;
	const unsigned char *y = b;

	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i]) {
			return x[i] < y[i] ? -1 : 1;
		}
	}
	return 0;
}

size_t strlen(const char *s)
{
	const volatile char *p = s;

	while (*p != '\0') {
		p++;
	}
	return (size_t)(p - s);
}

int rt_streq(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

RT_NORETURN void rt_halt(void)
{
	for (;;) {
		__asm__ volatile("cli; hlt" ::: "memory");
	}
}

/* ---- v1 hypercalls: packed struct on the stack, outl of its address ---- */

RT_NORETURN void rt_v1_exit(int code)
{
	struct uh_v1_exit p = {.arg = code};

	rt_hc1(UH_V1_EXIT, rt_gpa(&p));
	rt_halt();
}

void rt_v1_write(int fd, const void *buf, size_t len)
{
	struct uh_v1_write p = {.fd = fd, .buf = rt_gpa(buf), .len = len};

	rt_hc1(UH_V1_FILE_WRITE, rt_gpa(&p));
}

void rt_v1_serial_byte(uint8_t c)
{
	outb(UH_V1_UART, c);
}

void rt_v1_serial_buf(const void *buf, size_t len)
{
	struct uh_v1_serial_buffer p = {.buf = rt_gpa(buf), .len = len};

	rt_hc1(UH_V1_SERIAL_BUFFER, rt_gpa(&p));
}

int rt_v1_open(const char *path, int flags, int mode)
{
	struct uh_v1_open p = {.name = rt_gpa(path), .flags = flags, .mode = mode, .ret = -1};

	rt_hc1(UH_V1_FILE_OPEN, rt_gpa(&p));
	return p.ret;
}

int rt_v1_close(int fd)
{
	struct uh_v1_close p = {.fd = fd, .ret = -1};

	rt_hc1(UH_V1_FILE_CLOSE, rt_gpa(&p));
	return p.ret;
}

int64_t rt_v1_read(int fd, void *buf, size_t len)
{
	struct uh_v1_read p = {.fd = fd, .buf = rt_gpa(buf), .len = len, .ret = -1};

	rt_hc1(UH_V1_FILE_READ, rt_gpa(&p));
	return p.ret;
}

int64_t rt_v1_lseek(int fd, int64_t off, int whence)
{
	struct uh_v1_lseek p = {.fd = fd, .offset = off, .whence = whence};

	rt_hc1(UH_V1_FILE_LSEEK, rt_gpa(&p));
	return p.offset;
}

int rt_v1_unlink(const char *path)
{
	struct uh_v1_unlink p = {.name = rt_gpa(path), .ret = -1};

	rt_hc1(UH_V1_FILE_UNLINK, rt_gpa(&p));
	return p.ret;
}

void rt_v1_cmdsize(struct uh_v1_cmdsize *cs)
{
	rt_hc1(UH_V1_CMDSIZE, rt_gpa(cs));
}

void rt_v1_cmdval(uint64_t argv_gpa, uint64_t envp_gpa)
{
	struct uh_v1_cmdval p = {.argv = argv_gpa, .envp = envp_gpa};

	rt_hc1(UH_V1_CMDVAL, rt_gpa(&p));
}

/* ---- v2 hypercalls: naturally aligned struct, RDI = its GPA (or the value itself) ---- */

RT_NORETURN void rt_v2_exit(int code)
{
	rt_hc2(UH_V2_EXIT, (uint32_t)code);
	rt_halt();
}

int64_t rt_v2_write(int fd, const void *buf, size_t len)
{
	struct uh_v2_file_rw p = {.len = len, .ret = -1, .buf = rt_gpa(buf), .fd = fd};

	rt_hc2(UH_V2_FILE_WRITE, rt_gpa(&p));
	return p.ret;
}

void rt_v2_serial_byte(uint8_t c)
{
	rt_hc2(UH_V2_SERIAL_WRITE_BYTE, c);
}

void rt_v2_serial_buf(const void *buf, size_t len)
{
	struct uh_v2_serial_write_buffer p = {.len = len, .buf = rt_gpa(buf)};

	rt_hc2(UH_V2_SERIAL_WRITE_BUFFER, rt_gpa(&p));
}

int rt_v2_open(const char *path, int flags, int mode)
{
	struct uh_v1_open p = {.name = rt_gpa(path), .flags = flags, .mode = mode, .ret = -1};

	rt_hc2(UH_V2_FILE_OPEN, rt_gpa(&p));
	return p.ret;
}

int rt_v2_close(int fd)
{
	struct uh_v1_close p = {.fd = fd, .ret = -1};

	rt_hc2(UH_V2_FILE_CLOSE, rt_gpa(&p));
	return p.ret;
}

int64_t rt_v2_read(int fd, void *buf, size_t len)
{
	struct uh_v2_file_rw p = {.len = len, .ret = -1, .buf = rt_gpa(buf), .fd = fd};

	rt_hc2(UH_V2_FILE_READ, rt_gpa(&p));
	return p.ret;
}

int64_t rt_v2_lseek(int fd, int64_t off, int whence)
{
	struct uh_v2_lseek p = {.offset = off, .whence = (uint32_t)whence, .fd = fd};

	rt_hc2(UH_V2_FILE_LSEEK, rt_gpa(&p));
	return p.offset;
}

int rt_v2_unlink(const char *path)
{
	struct uh_v1_unlink p = {.name = rt_gpa(path), .ret = -1};

	rt_hc2(UH_V2_FILE_UNLINK, rt_gpa(&p));
	return p.ret;
}

struct uh_v2_dents_ret rt_v2_getdents(int fd, void *buf, size_t len)
{
	struct uh_v2_getdents p = {.fd = fd, .buf = rt_gpa(buf), .len = len};

	rt_hc2(UH_V2_GETDENTS, rt_gpa(&p));
	return p.ret;
}

struct uh_v2_ret rt_v2_stat(const char *path, struct uh_v2_file_attr *attr)
{
	struct uh_v2_stat p = {.name = rt_gpa(path), .kind = 0, .attr = rt_gpa(attr)};

	rt_hc2(UH_V2_FILE_STAT, rt_gpa(&p));
	return p.ret;
}

struct uh_v2_ret rt_v2_lstat(const char *path, struct uh_v2_file_attr *attr)
{
	struct uh_v2_stat p = {.name = rt_gpa(path), .kind = 1, .attr = rt_gpa(attr)};

	rt_hc2(UH_V2_FILE_STAT, rt_gpa(&p));
	return p.ret;
}

struct uh_v2_ret rt_v2_fstat(int fd, struct uh_v2_file_attr *attr)
{
	struct uh_v2_fstat p = {.fd = fd, .attr = rt_gpa(attr)};

	rt_hc2(UH_V2_FILE_FSTAT, rt_gpa(&p));
	return p.ret;
}

struct uh_v2_ret rt_v2_mkdir(const char *path)
{
	struct uh_v2_mkdir p = {.path = rt_gpa(path), .len = strlen(path) + 1};

	rt_hc2(UH_V2_MKDIR, rt_gpa(&p));
	return p.ret;
}

/* ---- interface-neutral wrappers ---- */

RT_NORETURN void rt_exit(int code)
{
#ifdef RT_V2
	rt_v2_exit(code);
#else
	rt_v1_exit(code);
#endif
}

void rt_write(int fd, const void *buf, size_t len)
{
#ifdef RT_V2
	(void)rt_v2_write(fd, buf, len);
#else
	rt_v1_write(fd, buf, len);
#endif
}

/* ---- formatted output ---- */

struct rt_out {
	int fd;
	size_t n;
	char buf[512];
};

static void out_flush(struct rt_out *o)
{
	if (o->n > 0) {
		rt_write(o->fd, o->buf, o->n);
		o->n = 0;
	}
}

static void out_char(struct rt_out *o, char c)
{
	if (o->n == sizeof(o->buf)) {
		out_flush(o);
	}
	o->buf[o->n++] = c;
}

static void out_str(struct rt_out *o, const char *s)
{
	if (s == NULL) {
		s = "(null)";
	}
	while (*s != '\0') {
		out_char(o, *s++);
	}
}

static void out_unsigned(struct rt_out *o, uint64_t v, unsigned base)
{
	char tmp[24];
	int i = 0;

	do {
		tmp[i++] = rt_digits[v % base];
		v /= base;
	} while (v != 0);
	while (i > 0) {
		out_char(o, tmp[--i]);
	}
}

static void out_signed(struct rt_out *o, int64_t v)
{
	if (v < 0) {
		out_char(o, '-');
		out_unsigned(o, (uint64_t)0 - (uint64_t)v, 10);
	} else {
		out_unsigned(o, (uint64_t)v, 10);
	}
}

void rt_vfdprintf(int fd, const char *fmt, va_list ap)
{
	struct rt_out o;

	o.fd = fd;
	o.n = 0;
	for (; *fmt != '\0'; fmt++) {
		int is_long = 0;

		if (*fmt != '%') {
			out_char(&o, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == 'l') {
			is_long = 1;
			fmt++;
		}
		switch (*fmt) {
		case 's':
			out_str(&o, va_arg(ap, const char *));
			break;
		case 'c':
			out_char(&o, (char)va_arg(ap, int));
			break;
		case 'd':
			out_signed(&o, is_long ? va_arg(ap, long) : va_arg(ap, int));
			break;
		case 'u':
			out_unsigned(&o, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned),
				     10);
			break;
		case 'x':
			out_unsigned(&o, is_long ? va_arg(ap, unsigned long) : va_arg(ap, unsigned),
				     16);
			break;
		case '%':
			out_char(&o, '%');
			break;
		case '\0':
			fmt--; /* lone '%' at the end: print it, stop at the NUL */
			out_char(&o, '%');
			break;
		default:
			out_char(&o, '%');
			out_char(&o, *fmt);
			break;
		}
	}
	out_flush(&o);
}

void rt_fdprintf(int fd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rt_vfdprintf(fd, fmt, ap);
	va_end(ap);
}

void rt_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	rt_vfdprintf(1, fmt, ap);
	va_end(ap);
}

/* ---- numbers ---- */

int rt_parse_long(const char *s, int64_t *out)
{
	uint64_t v = 0;
	int neg = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s == '\0') {
		return -1;
	}
	for (; *s != '\0'; s++) {
		unsigned d;

		if (*s < '0' || *s > '9') {
			return -1;
		}
		d = (unsigned)(*s - '0');
		if (v > (UINT64_C(0x8000000000000000) - d) / 10) {
			return -1;
		}
		v = v * 10 + d;
	}
	if (!neg && v > (uint64_t)INT64_MAX) {
		return -1;
	}
	*out = neg ? (int64_t)((uint64_t)0 - v) : (int64_t)v;
	return 0;
}

/* ---- page tables ---- */

#define PTE_P	 0x1ull
#define PTE_PS	 0x80ull
#define PTE_ADDR 0x000ffffffffff000ull

static int table_in_ram(const struct uh_boot_info *bi, uint64_t t)
{
	return t >= bi->phys_addr_start && t < bi->phys_addr_end && bi->phys_addr_end - t >= 4096;
}

int rt_is_mapped(const struct uh_boot_info *bi, uint64_t va)
{
	uint64_t t = rt_read_cr3() & PTE_ADDR;
	unsigned shift = 39;

	for (int level = 4; level >= 1; level--, shift -= 9) {
		uint64_t e;

		if (!table_in_ram(bi, t)) {
			return 0;
		}
		e = ((const volatile uint64_t *)(uintptr_t)t)[(va >> shift) & 511];
		if ((e & PTE_P) == 0) {
			return 0;
		}
		if (level == 1 || ((level == 2 || level == 3) && (e & PTE_PS) != 0)) {
			return 1;
		}
		t = e & PTE_ADDR;
	}
	return 0;
}

/* ---- argv / environment ---- */

int rt_argc;
char *rt_argv[UH_MAX_ARGC_ENVC + 1];
int rt_envc;
char *rt_envp[UH_MAX_ARGC_ENVC + 1];

#ifndef RT_V2

#define RT_ARG_POOL_SIZE (64 * 1024)

static struct uh_v1_cmdsize rt_cmdsize;
static uint64_t rt_argv_gpa[UH_MAX_ARGC_ENVC];
static uint64_t rt_envp_gpa[UH_MAX_ARGC_ENVC];
static char rt_arg_pool[RT_ARG_POOL_SIZE];

/* Carves `n` sizes out of the pool; returns -1 if a size is bad or the pool is exhausted. */
static int carve(const int32_t *sizes, int n, char **ptrs, uint64_t *gpas, size_t *used)
{
	for (int i = 0; i < n; i++) {
		int32_t sz = sizes[i];

		if (sz <= 0 || (size_t)sz > RT_ARG_POOL_SIZE - *used) {
			return -1;
		}
		ptrs[i] = &rt_arg_pool[*used];
		ptrs[i][0] = '\0';
		gpas[i] = rt_gpa(ptrs[i]);
		*used += (size_t)sz;
	}
	ptrs[n] = NULL;
	return 0;
}

int rt_args_init(void)
{
	int32_t argsz[UH_MAX_ARGC_ENVC], envsz[UH_MAX_ARGC_ENVC];
	int32_t argc, envc;
	size_t used = 0;

	memset(&rt_cmdsize, 0, sizeof(rt_cmdsize));
	rt_v1_cmdsize(&rt_cmdsize);
	/* Snapshot the answer (the struct is packed: copy, never take member addresses). */
	argc = rt_cmdsize.argc;
	envc = rt_cmdsize.envc;
	if (argc < 0 || argc > UH_MAX_ARGC_ENVC || envc < 0 || envc > UH_MAX_ARGC_ENVC) {
		rt_fdprintf(2, "rt: Cmdsize answered argc=%d envc=%d\n", argc, envc);
		return -1;
	}
	memcpy(argsz, (const char *)&rt_cmdsize + offsetof(struct uh_v1_cmdsize, argsz),
	       sizeof(argsz));
	memcpy(envsz, (const char *)&rt_cmdsize + offsetof(struct uh_v1_cmdsize, envsz),
	       sizeof(envsz));
	if (carve(argsz, argc, rt_argv, rt_argv_gpa, &used) != 0 ||
	    carve(envsz, envc, rt_envp, rt_envp_gpa, &used) != 0) {
		rt_fdprintf(2, "rt: Cmdsize sizes do not fit the %d-byte pool\n", RT_ARG_POOL_SIZE);
		return -1;
	}
	rt_v1_cmdval(rt_gpa(rt_argv_gpa), rt_gpa(rt_envp_gpa));
	/* Force termination inside each buffer whatever the VMM wrote. */
	for (int i = 0; i < argc; i++) {
		rt_argv[i][argsz[i] - 1] = '\0';
	}
	for (int i = 0; i < envc; i++) {
		rt_envp[i][envsz[i] - 1] = '\0';
	}
	rt_argc = argc;
	rt_envc = envc;
	return 0;
}

#else /* RT_V2 */

static uint32_t be32(const volatile uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
	       (uint32_t)p[3];
}

#define FDT_MAGIC      0xd00dfeedu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE   2u
#define FDT_PROP       3u
#define FDT_NOP	       4u
#define FDT_END	       9u

static char rt_bootargs_buf[UH_FDT_SIZE + 1];

/* Returns 1 if the NUL-terminated node name at s[0..max) is "chosen" or "chosen@...". */
static int is_chosen(const volatile uint8_t *s, uint32_t max)
{
	static const char want[] = "chosen";

	if (max < sizeof(want)) {
		return 0;
	}
	for (uint32_t i = 0; i < sizeof(want) - 1; i++) {
		if (s[i] != (uint8_t)want[i]) {
			return 0;
		}
	}
	return s[sizeof(want) - 1] == '\0' || s[sizeof(want) - 1] == '@';
}

/* Minimal walker of the FDT structure block: finds the "bootargs" property of the node
 * /chosen and copies it, NUL-terminated, into rt_bootargs_buf.  Every offset is checked
 * against the header's totalsize and the FDT window of the memory layout. */
const char *rt_bootargs(const struct uh_boot_info *bi)
{
	const volatile uint8_t *fdt;
	uint32_t total, off_struct, size_struct, off_strings, size_strings, pos, end;
	int depth = 0, in_chosen = 0;

	if (bi->device_tree == 0 || bi->device_tree < bi->phys_addr_start ||
	    bi->device_tree >= bi->phys_addr_end ||
	    bi->phys_addr_end - bi->device_tree < UH_FDT_SIZE) {
		return NULL;
	}
	fdt = (const volatile uint8_t *)(uintptr_t)bi->device_tree;
	if (be32(fdt) != FDT_MAGIC) {
		return NULL;
	}
	total = be32(fdt + 4);
	off_struct = be32(fdt + 8);
	off_strings = be32(fdt + 12);
	size_strings = be32(fdt + 32);
	size_struct = be32(fdt + 36);
	if (total > UH_FDT_SIZE || off_struct > total || size_struct > total - off_struct ||
	    off_strings > total || size_strings > total - off_strings) {
		return NULL;
	}
	pos = off_struct;
	end = off_struct + size_struct;
	while (pos + 4 <= end) {
		uint32_t tok = be32(fdt + pos);

		pos += 4;
		if (tok == FDT_BEGIN_NODE) {
			uint32_t start = pos;

			while (pos < end && fdt[pos] != '\0') {
				pos++;
			}
			if (pos >= end) {
				return NULL;
			}
			depth++;
			in_chosen = depth == 2 && is_chosen(fdt + start, end - start);
			pos = (pos + 1 + 3) & ~3u;
		} else if (tok == FDT_END_NODE) {
			if (depth == 0) {
				return NULL;
			}
			depth--;
			in_chosen = 0;
		} else if (tok == FDT_PROP) {
			uint32_t len, nameoff;

			if (end - pos < 8) {
				return NULL;
			}
			len = be32(fdt + pos);
			nameoff = be32(fdt + pos + 4);
			pos += 8;
			if (len > end - pos || nameoff >= size_strings) {
				return NULL;
			}
			if (in_chosen && depth == 2) {
				const volatile uint8_t *name = fdt + off_strings + nameoff;
				static const char want[] = "bootargs";
				uint32_t i = 0;

				while (i < sizeof(want) && nameoff + i < size_strings &&
				       name[i] == (uint8_t)want[i]) {
					i++;
				}
				if (i == sizeof(want)) {
					for (i = 0; i < len; i++) {
						rt_bootargs_buf[i] = (char)fdt[pos + i];
					}
					rt_bootargs_buf[len] = '\0';
					return rt_bootargs_buf;
				}
			}
			pos = (pos + len + 3) & ~3u;
		} else if (tok == FDT_NOP) {
			continue;
		} else {
			break; /* FDT_END or garbage */
		}
	}
	return NULL;
}

static char rt_words[UH_FDT_SIZE + 1];
static char rt_kernel_name[] = "kernel";

int rt_args_init(void)
{
	const char *ba = rt_bootargs(rt_boot_info);
	char *words[UH_MAX_ARGC_ENVC];
	int n = 0, first = 0;
	size_t len;

	rt_argv[0] = rt_kernel_name;
	rt_argc = 1;
	rt_envc = 0;
	rt_envp[0] = NULL;
	if (ba == NULL) {
		rt_argv[1] = NULL;
		return 0;
	}
	len = strlen(ba);
	memcpy(rt_words, ba, len + 1);
	for (char *p = rt_words; *p != '\0';) {
		while (*p == ' ' || *p == '\t' || *p == '\n') {
			*p++ = '\0';
		}
		if (*p == '\0') {
			break;
		}
		if (n == UH_MAX_ARGC_ENVC) {
			rt_fdprintf(2, "rt: more than %d bootargs words\n", UH_MAX_ARGC_ENVC);
			return -1;
		}
		words[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\n') {
			p++;
		}
	}
	for (int i = 0; i < n; i++) {
		if (rt_streq(words[i], "--")) {
			first = i + 1;
			break;
		}
	}
	for (int i = first; i < n && rt_argc < UH_MAX_ARGC_ENVC; i++) {
		rt_argv[rt_argc++] = words[i];
	}
	rt_argv[rt_argc] = NULL;
	return 0;
}

#endif /* RT_V2 */

/* ---- entry from start.S ---- */

RT_NORETURN void rt_main(const struct uh_boot_info *bi, uint64_t cpu)
{
	int rc;

	if (cpu == 0) {
		rt_boot_info = bi;
		if (rt_anchor_ptr != &rt_anchor) {
			static const char msg[] = "rt: relocations were not applied\n";

			rt_write(2, msg, sizeof(msg) - 1);
			rt_exit(99);
		}
	}
	rc = guest_main(bi, (unsigned)cpu);
	if (cpu == 0) {
		rt_exit(rc);
	}
	rt_halt();
}
