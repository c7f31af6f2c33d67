/* SPDX-License-Identifier: MIT */
/* fuzz_hc.c - the hypercall dispatcher (vmm/hc.c) over a synthetic guest RAM image.
 *
 * Input (little-endian; reads past the end yield zeros):
 *   u16 ram      RAM size: 256 + ram % (HC_RAM_MAX - 255) bytes
 *   u8  start    GPA of RAM: start % 4 selects 0, 0x1000, 4 GiB, or just below 2^64
 *   u8  flags    bit 0: reading CR3 fails; bit 1: interface v2; bit 2: show serial output
 *   u8  nargs    guest arguments (% 128), u8 nenv: environment entries (% 128)
 *   u64 cr3      as the vCPU would report it (v1 read/write walk the page tables at cr3)
 *   u32 fsseed   drives the fake file system's answers
 *   u8  ncalls   1 + ncalls % 8 exits, each:
 *       u8 kind    < 0xe0: port hc_ports[kind % N]; < 0xf0: the port is a following u16;
 *                  else an MMIO exit at address `arg`
 *       u8 size    port I/O: {4, 1, 2}[size % 3] (KVM only ever reports these); MMIO: 1 + size % 8
 *       u8 dir     bit 0 set: a read (in / MMIO read); clear: a write
 *       u32 value  the bytes written (port I/O data; v1: the parameter struct's GPA)
 *       u64 arg    RDI (v2: parameter GPA or value), or the MMIO address
 *   rest         the first bytes of guest RAM (the remainder of RAM is zero)
 *
 * Oracles: RAM sits at the end of a guarded mapping (fuzz.h), so any access beyond it faults;
 * every buffer the dispatcher hands to the fake file system must lie inside RAM, and every
 * byte of it is touched; file-system arguments must be what the ABI allows (paths
 * NUL-terminated, fds >= 3, flags masked), and every path operation must be one the broker
 * accepts: the fake builds the request vmm/broker_client.c would send and runs the broker's own
 * brk_req_check on it (a rejected request is a "protocol violation from the VMM" that ends
 * the VM); a broker loss (FS_LOST) must end in HC_FATAL and nothing else may; violation
 * messages are non-empty strings.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "broker_proto.h"
#include "fuzz.h"
#include "vmm_internal.h"

#define HC_RAM_MAX   (64u << 10)
#define HC_MAX_CALLS 8
#define HC_PATH_MAX  4096
#define HC_IOV_MAX   256

static const uint16_t hc_ports[] = {UH_V1_FILE_WRITE,
				    UH_V1_FILE_OPEN,
				    UH_V1_FILE_CLOSE,
				    UH_V1_FILE_READ,
				    UH_V1_EXIT,
				    UH_V1_FILE_LSEEK,
				    UH_V1_NETWRITE,
				    UH_V1_NETREAD,
				    UH_V1_NETSTAT,
				    UH_V1_CMDSIZE,
				    UH_V1_CMDVAL,
				    UH_V1_UART,
				    UH_V1_FILE_UNLINK,
				    UH_V1_SERIAL_BUFFER,
				    UH_V2_EXIT,
				    UH_V2_SERIAL_WRITE_BYTE,
				    UH_V2_SERIAL_WRITE_BUFFER,
				    UH_V2_SERIAL_READ_BYTE,
				    UH_V2_SERIAL_READ_BUFFER,
				    UH_V2_FILE_WRITE,
				    UH_V2_FILE_OPEN,
				    UH_V2_FILE_CLOSE,
				    UH_V2_FILE_READ,
				    UH_V2_FILE_LSEEK,
				    UH_V2_FILE_UNLINK,
				    UH_V2_GETDENTS,
				    UH_V2_FILE_STAT,
				    UH_V2_FILE_FSTAT,
				    UH_V2_MKDIR,
				    UH_V2_SHMEM_OPEN,
				    UH_V2_SHMEM_CLOSE,
				    UH_PCI_CONFIG_ADDRESS,
				    UH_PCI_CONFIG_DATA,
				    0xcfe,
				    0x20,
				    0x21,
				    0xa0,
				    0xa1,
				    0x3f8,
				    0x0};
#define HC_NPORTS (sizeof hc_ports / sizeof hc_ports[0])

/* ---- the fake file system: plausible answers, strict argument checks ---- */

struct fake_fs {
	uint32_t state; /* xorshift32, seeded from the input */
	bool lost; /* returned FS_LOST during the current exit */
	const struct garena *ram;
};

static struct fake_fs g_fs;

static uint32_t fs_rand(struct fake_fs *f)
{
	uint32_t x = f->state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	f->state = x;
	return x;
}

/* One of: FS_LOST, a -errno, or "ok" (returns 1).  Mostly ok. */
static int fs_outcome(struct fake_fs *f)
{
	static const int errs[] = {-ENOENT, -EACCES, -EROFS, -EBADF, -EEXIST, -EISDIR, -EIO};
	uint32_t r = fs_rand(f) % 16;

	if (r == 0) {
		f->lost = true;
		return FS_LOST;
	}
	if (r < 5) {
		return errs[fs_rand(f) % (sizeof errs / sizeof errs[0])];
	}
	return 1;
}

/* The path operation as vmm/broker_client.c puts it on the wire must pass the broker's check;
 * otherwise the broker ends the run ("protocol violation from the VMM"). */
static void check_path(const char *path, enum brk_op op, int32_t flags, uint32_t mode)
{
	static struct brk_req req;
	const char *why = NULL;

	if (strnlen(path, HC_PATH_MAX) == HC_PATH_MAX) {
		FUZZ_BUG("op %d: path is not NUL-terminated within %d bytes", (int)op, HC_PATH_MAX);
	}
	if (brk_req_build(&req, op, 1, flags, mode, path) != 0) {
		return; /* fs_broker.c answers -ENAMETOOLONG itself */
	}
	if (brk_req_check(&req, sizeof req, &why) != 0) {
		FUZZ_BUG("op %d path \"%.64s\" flags 0%o mode 0%o: the broker would reject it (%s) "
			 "and end the VM",
			 (int)op, path, (unsigned)flags, mode, why);
	}
}

static void check_fd(int fd, const char *op)
{
	if (fd < 3) {
		FUZZ_BUG("%s: fd %d (< 3) reached the file system", op, fd);
	}
}

/* The buffer must lie inside guest RAM: touch every byte (read, or write a pattern). */
static size_t check_buf(const struct fake_fs *f, const void *p, size_t len, bool write,
			const char *op)
{
	const uint8_t *b = p, *lo = f->ram->base, *hi = f->ram->base + f->ram->size;
	volatile uint8_t sink = 0;

	if (len == 0) {
		return 0;
	}
	if (b < lo || b > hi || len > (size_t)(hi - b)) {
		FUZZ_BUG("%s: buffer %p+%zu is not inside guest RAM [%p, %p)", op, p, len,
			 (const void *)lo, (const void *)hi);
	}
	for (size_t i = 0; i < len; i++) {
		if (write) {
			((uint8_t *)(uintptr_t)b)[i] = (uint8_t)i;
		} else {
			sink ^= b[i];
		}
	}
	(void)sink;
	return len;
}

static size_t check_iov(const struct fake_fs *f, const struct iovec *iov, int n, bool write,
			const char *op)
{
	size_t total = 0;

	if (n < 0 || n > HC_IOV_MAX) {
		FUZZ_BUG("%s: iovcnt %d", op, n);
	}
	for (int i = 0; i < n; i++) {
		total += check_buf(f, iov[i].iov_base, iov[i].iov_len, write, op);
	}
	return total;
}

static int ff_open(void *ctx, const char *path, int flags, uint32_t mode)
{
	struct fake_fs *f = ctx;
	int r;

	if ((flags & ~UH_O_ALLOWED) != 0 ||
	    (flags & (UH_O_CREAT | UH_O_DIRECTORY)) == (UH_O_CREAT | UH_O_DIRECTORY)) {
		FUZZ_BUG("open: flags 0%o not masked/validated", (unsigned)flags);
	}
	if (mode > 07777) {
		FUZZ_BUG("open: mode 0%o", mode);
	}
	check_path(path, BRK_OP_OPEN, flags, (flags & UH_O_CREAT) ? mode & 0777 : 0);
	r = fs_outcome(f);
	return r < 1 ? r : 3 + (int)(fs_rand(f) % 64);
}

static int ff_close(void *ctx, int fd)
{
	struct fake_fs *f = ctx;
	int r;

	check_fd(fd, "close");
	r = fs_outcome(f);
	return r < 1 ? r : 0;
}

static ssize_t ff_rw(struct fake_fs *f, int fd, const struct iovec *iov, int n, bool read,
		     const char *op)
{
	size_t total;
	int r;

	check_fd(fd, op);
	total = check_iov(f, iov, n, read, op);
	r = fs_outcome(f);
	if (r < 1) {
		return r;
	}
	/* Full transfer, or a short one (end of file, partial write). */
	return (ssize_t)(fs_rand(f) % 2 ? total : fs_rand(f) % (total + 1));
}

static ssize_t ff_readv(void *ctx, int fd, const struct iovec *iov, int n)
{
	return ff_rw(ctx, fd, iov, n, true, "readv");
}

static ssize_t ff_writev(void *ctx, int fd, const struct iovec *iov, int n)
{
	return ff_rw(ctx, fd, iov, n, false, "writev");
}

static int64_t ff_lseek(void *ctx, int fd, int64_t off, int whence)
{
	struct fake_fs *f = ctx;
	int r;

	check_fd(fd, "lseek");
	if (whence < 0 || whence > 2) {
		FUZZ_BUG("lseek: whence %d", whence);
	}
	r = fs_outcome(f);
	return r < 1 ? r : (off < 0 ? -EINVAL : off);
}

static int ff_unlink(void *ctx, const char *path)
{
	struct fake_fs *f = ctx;
	int r;

	check_path(path, BRK_OP_UNLINK, 0, 0);
	r = fs_outcome(f);
	return r < 1 ? r : 0;
}

static int ff_mkdir(void *ctx, const char *path, uint32_t mode)
{
	struct fake_fs *f = ctx;
	int r;

	if (mode > 07777) {
		FUZZ_BUG("mkdir: mode 0%o", mode);
	}
	check_path(path, BRK_OP_MKDIR, 0, mode & 0777);
	r = fs_outcome(f);
	return r < 1 ? r : 0;
}

static void fill_attr(struct fake_fs *f, struct uh_v2_file_attr *out)
{
	memset(out, 0, sizeof *out);
	out->ino = fs_rand(f);
	out->mode = 0100644;
	out->nlink = 1;
	out->size = (int64_t)(fs_rand(f) % 100000);
}

static int ff_stat(void *ctx, const char *path, bool nofollow, struct uh_v2_file_attr *out)
{
	struct fake_fs *f = ctx;
	int r;

	check_path(path, nofollow ? BRK_OP_LSTAT : BRK_OP_STAT, 0, 0);
	r = fs_outcome(f);
	if (r < 1) {
		return r;
	}
	fill_attr(f, out);
	return 0;
}

static int ff_fstat(void *ctx, int fd, struct uh_v2_file_attr *out)
{
	struct fake_fs *f = ctx;
	int r;

	check_fd(fd, "fstat");
	r = fs_outcome(f);
	if (r < 1) {
		return r;
	}
	fill_attr(f, out);
	return 0;
}

static ssize_t ff_getdents(void *ctx, int fd, void *buf, size_t len)
{
	struct fake_fs *f = ctx;
	int r;

	check_fd(fd, "getdents");
	check_buf(f, buf, len, true, "getdents");
	r = fs_outcome(f);
	if (r < 1) {
		return r;
	}
	return (ssize_t)(fs_rand(f) % (len + 1));
}

static const struct fs_ops fake_ops = {
    .open = ff_open,
    .close = ff_close,
    .readv = ff_readv,
    .writev = ff_writev,
    .lseek = ff_lseek,
    .unlink = ff_unlink,
    .mkdir = ff_mkdir,
    .stat = ff_stat,
    .fstat = ff_fstat,
    .getdents = ff_getdents,
};

/* ---- the VM around the dispatcher ---- */

/* Guest fd 0 is uhyve-sec's stdin (vmm/stdin.c, not linked here): the operator's bytes, not
 * the guest's.  The harness answers "end of input", so that no input waits for a terminal;
 * the buffer it would fill is still checked like any read buffer. */
ssize_t stdin_readv(const atomic_int *stopping, const struct iovec *iov, int iovcnt)
{
	(void)stopping;
	check_iov(&g_fs, iov, iovcnt, false, "stdin");
	return 0;
}

static void nolock(struct hc_vm *vm, bool lock)
{
	(void)vm;
	(void)lock;
}

static bool g_cr3_fails;
static uint64_t g_cr3;

static int get_cr3(void *opaque, uint64_t *cr3)
{
	(void)opaque;
	if (g_cr3_fails) {
		return -1;
	}
	*cr3 = g_cr3;
	return 0;
}

/* Argument and environment strings of assorted lengths (the CLI allows up to 127 of each). */
static char *g_args[UH_MAX_ARGC_ENVC], *g_env[UH_MAX_ARGC_ENVC];

static void init_strings(void)
{
	static char pool[2][UH_MAX_ARGC_ENVC][48];

	for (int i = 0; i < UH_MAX_ARGC_ENVC; i++) {
		snprintf(pool[0][i], sizeof pool[0][i], "arg%d%.*s", i, i % 40,
			 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		snprintf(pool[1][i], sizeof pool[1][i], "K%d=%.*s", i, i % 37,
			 "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv");
		g_args[i] = pool[0][i];
		g_env[i] = pool[1][i];
	}
}

static uint64_t ram_start(uint8_t sel)
{
	switch (sel % 4) {
	case 0:
		return 0;
	case 1:
		return 0x1000;
	case 2:
		return 1ull << 32;
	default:
		return (UINT64_MAX - 2 * (uint64_t)HC_RAM_MAX) & ~0xfffull;
	}
}

struct exit_rec {
	uint8_t kind, size, dir;
	uint16_t port;
	uint32_t value;
	uint64_t arg;
};

static struct exit_rec read_exit(struct fin *in)
{
	struct exit_rec e = {0};

	e.kind = fin_u8(in);
	e.port = hc_ports[e.kind % HC_NPORTS];
	if (e.kind >= 0xe0 && e.kind < 0xf0) {
		e.port = fin_u16(in);
	}
	e.size = fin_u8(in);
	e.dir = fin_u8(in);
	e.value = fin_u32(in);
	e.arg = fin_u64(in);
	return e;
}

/* Runs one exit; returns false when the VM would end. */
static bool run_exit(struct hc_vm *vm, struct hc_stats *stats, struct garena *io,
		     const struct exit_rec *e)
{
	static const uint8_t sizes[] = {4, 1, 2};
	struct hc_call c = {.vm = vm, .rdi = e->arg, .get_cr3 = get_cr3, .stats = stats};
	bool mmio = e->kind >= 0xf0, read = e->dir & 1;
	uint8_t size = mmio ? (uint8_t)(1 + e->size % 8) : sizes[e->size % 3];
	uint8_t *data = garena_place(io, size); /* ends at a guard page */
	uint64_t before = 0, after = 0;
	enum hc_action a;

	memcpy(data, &e->value, size < 4 ? size : 4);
	if (size > 4) {
		memset(data + 4, 0, size - 4u);
	}
	for (unsigned i = 0; i < hc_count(); i++) {
		before += stats->count[i];
	}
	g_fs.lost = false;
	a = mmio ? hc_mmio(&c, e->arg, !read, size, data)
		 : hc_port_io(&c, e->port, !read, size, data);
	for (unsigned i = 0; i < hc_count(); i++) {
		after += stats->count[i];
	}
	garena_check(g_fs.ram, "hc");
	garena_check(io, "hc (exit data)");
	if (after - before > 1) {
		FUZZ_BUG("one exit counted %llu times", (unsigned long long)(after - before));
	}
	if (g_fs.lost != (a == HC_FATAL)) {
		FUZZ_BUG("broker loss %d but action %d", g_fs.lost, (int)a);
	}
	switch (a) {
	case HC_CONTINUE:
		return true;
	case HC_VIOLATION:
	case HC_FATAL:
		if (strnlen(c.msg, sizeof c.msg) == 0 ||
		    strnlen(c.msg, sizeof c.msg) == sizeof c.msg) {
			FUZZ_BUG("action %d with an empty or unterminated message", (int)a);
		}
		return false;
	case HC_EXIT:
		return false;
	default:
		FUZZ_BUG("unknown action %d", (int)a);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct garena ram, io;
	static bool ready;
	struct fin in = {data, size};
	struct output out;
	struct hc_stats stats;
	struct gmem mem;
	struct hc_vm vm;
	size_t ramsz, n;
	uint8_t *base, flags, start, ncalls;
	struct exit_rec exits[HC_MAX_CALLS];

	if (!ready) {
		garena_init(&ram, HC_RAM_MAX);
		garena_init(&io, 8);
		init_strings();
		ready = true;
	}
	ramsz = 256 + fin_u16(&in) % (HC_RAM_MAX - 255);
	start = fin_u8(&in);
	flags = fin_u8(&in);
	memset(&vm, 0, sizeof vm);
	vm.nargs = fin_u8(&in) % UH_MAX_ARGC_ENVC;
	vm.nenv = fin_u8(&in) % UH_MAX_ARGC_ENVC;
	g_cr3 = fin_u64(&in);
	g_cr3_fails = flags & 1;
	g_fs = (struct fake_fs){.state = fin_u32(&in) | 1, .ram = &ram};
	ncalls = (uint8_t)(1 + fin_u8(&in) % HC_MAX_CALLS);
	for (unsigned i = 0; i < ncalls; i++) {
		exits[i] = read_exit(&in);
	}

	base = garena_place(&ram, ramsz);
	n = in.n < ramsz ? in.n : ramsz;
	memcpy(base, in.p, n);
	memset(base + n, 0, ramsz - n);
	gmem_init_arena(&mem, base, ram_start(start), ramsz);

	memset(&out, 0, sizeof out);
	out.fd = -1; /* discard, but still scanned for panics */
	out.show_serial = flags & 4;
	memset(&stats, 0, sizeof stats);
	vm.mem = &mem;
	vm.fs = &fake_ops;
	vm.fs_ctx = &g_fs;
	vm.out = &out;
	vm.out_lock = nolock;
	vm.argv0 = "/kernel";
	vm.args = g_args;
	vm.env = g_env;
	vm.iface = flags & 2 ? 2 : 1;

	for (unsigned i = 0; i < ncalls; i++) {
		if (!run_exit(&vm, &stats, &io, &exits[i])) {
			break;
		}
	}
	return 0;
}
