/* SPDX-License-Identifier: MIT */
/* hc.c - the hypercall dispatcher: one table for uhyve interfaces v1 and v2.
 *
 * Threat: everything here is driven by a hostile guest, with other vCPUs running and free
 * to change guest memory concurrently.  For each call the dispatcher (1) finds the port in
 * the table and checks direction and access width, (2) copies the parameter struct out of
 * guest memory exactly once into an aligned host copy, (3) lets the handler validate and
 * act on that copy only, and (4) writes back only the struct's OUT bytes.  Any malformed
 * parameter (address outside RAM, wrapping length, unterminated string, untranslatable
 * virtual buffer) ends the VM with HC_VIOLATION and a one-line reason.  Semantic errors
 * (bad fd, missing file, policy denial) go back to the guest as -errno.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "vmm_internal.h"

#define HC_PATH_MAX 4096
#define HC_IOV_MAX  256

enum hc_param {
	P_NONE, /* no parameter (UART: the byte is the out value) */
	P_V1_GPA32, /* struct at the 32-bit GPA written to the port */
	P_V2_RDI_GPA, /* struct at the GPA in RDI */
	P_V2_RDI_VALUE /* RDI is the value itself */
};

union hc_params {
	struct uh_v1_write v1_write;
	struct uh_v1_open v1_open;
	struct uh_v1_close v1_close;
	struct uh_v1_read v1_read;
	struct uh_v1_exit v1_exit;
	struct uh_v1_lseek v1_lseek;
	struct uh_v1_cmdsize v1_cmdsize;
	struct uh_v1_cmdval v1_cmdval;
	struct uh_v1_unlink v1_unlink;
	struct uh_v1_serial_buffer v1_serial;
	struct uh_v2_serial_write_buffer v2_serial;
	struct uh_v2_file_rw v2_rw;
	struct uh_v2_lseek v2_lseek;
	struct uh_v2_getdents v2_dents;
	struct uh_v2_stat v2_stat;
	struct uh_v2_fstat v2_fstat;
	struct uh_v2_mkdir v2_mkdir;
	uint64_t value;
	uint8_t raw[sizeof(struct uh_v1_cmdsize)];
};

typedef enum hc_action (*hc_fn)(struct hc_call *c, union hc_params *p);

struct hc_desc {
	uint16_t port;
	uint8_t width; /* required access size in bytes */
	uint8_t param; /* enum hc_param */
	uint16_t size; /* bytes copied in */
	uint16_t out_off, out_len; /* bytes written back */
	const char *name;
	hc_fn fn;
};

enum hc_action hc_violation(struct hc_call *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof c->msg, fmt, ap);
	va_end(ap);
	return HC_VIOLATION;
}

/* ---- guest buffers ---- */

/* A guest buffer as host iovecs, built once from validated addresses. */
struct gbuf {
	struct iovec iov[HC_IOV_MAX];
	int n;
};

static bool len_ok(const struct hc_call *c, uint64_t len)
{
	return len <= c->vm->mem->size;
}

/* Guest-physical buffer (all v2 calls, v1 serial buffer). */
static enum hc_action gpa_buf(struct hc_call *c, const char *what, uint64_t addr, uint64_t len,
			      struct gbuf *b)
{
	void *p = gmem_ptr(c->vm->mem, gpa(addr), len);

	b->n = 0;
	if (p == NULL) {
		return hc_violation(c, "%s buffer [0x%llx, +0x%llx) is not inside guest RAM", what,
				    (unsigned long long)addr, (unsigned long long)len);
	}
	if (len > 0) {
		b->iov[b->n++] = (struct iovec){.iov_base = p, .iov_len = len};
	}
	return HC_CONTINUE;
}

/* Guest-virtual buffer (v1 read/write): translated page by page through the guest's page
 * tables (gmem_gva_iov); up to HC_IOV_MAX physically discontiguous pieces per round.  *done
 * receives how many bytes the iovecs cover (the caller loops). */
static enum hc_action gva_buf(struct hc_call *c, const char *what, uint64_t va, uint64_t len,
			      struct gbuf *b, uint64_t *done)
{
	struct gva_fault f;
	uint64_t cr3;

	b->n = 0;
	*done = 0;
	if (c->get_cr3(c->opaque, &cr3) != 0) {
		return hc_violation(c, "%s: cannot read the guest's CR3", what);
	}
	if (gmem_gva_iov(c->vm->mem, cr3, gva(va), len, b->iov, HC_IOV_MAX, &b->n, done, &f) == 0) {
		return HC_CONTINUE;
	}
	switch (f.why) {
	case GVA_NONCANONICAL:
		return hc_violation(c, "%s buffer: virtual address 0x%llx is not canonical", what,
				    (unsigned long long)f.va);
	case GVA_OUTSIDE_RAM:
		return hc_violation(c, "%s buffer: virtual 0x%llx maps to 0x%llx outside guest RAM",
				    what, (unsigned long long)f.va, (unsigned long long)f.pa);
	case GVA_UNMAPPED:
	default:
		return hc_violation(c, "%s buffer: virtual address 0x%llx is not mapped", what,
				    (unsigned long long)f.va);
	}
}

/* Copies a NUL-terminated guest path.  Returns HC_CONTINUE with *err = 0, -ENAMETOOLONG or
 * -ENOENT (empty path): semantic errors for the guest; or a violation if the string leaves
 * RAM. */
static enum hc_action gpath(struct hc_call *c, uint64_t addr, char *dst, int *err)
{
	long n = gmem_strcpy_from(c->vm->mem, dst, HC_PATH_MAX, gpa(addr));

	*err = 0;
	if (n == -ENAMETOOLONG || n == 0) {
		/* "" is ENOENT, as POSIX calls answer; it must not reach the broker, whose protocol
		 * has no empty path (it would take it for a compromised VMM). */
		*err = n == 0 ? -ENOENT : -ENAMETOOLONG;
		return HC_CONTINUE;
	}
	if (n < 0) {
		return hc_violation(
		    c, "path at 0x%llx is not a NUL-terminated string inside guest RAM",
		    (unsigned long long)addr);
	}
	return HC_CONTINUE;
}

/* Every fs_ops result passes through here: FS_LOST (broker gone) ends the VM. */
static long fsr(struct hc_call *c, long rc)
{
	if (rc == FS_LOST) {
		c->lost = true;
		return -EIO;
	}
	return rc;
}

/* ---- console and exit ---- */

static void out_iov(struct hc_call *c, const struct gbuf *b, bool serial)
{
	c->vm->out_lock(c->vm, true);
	if (serial) {
		output_serial_writev(c->vm->out, b->iov, b->n);
	} else {
		output_writev(c->vm->out, b->iov, b->n);
	}
	c->vm->out_lock(c->vm, false);
}

static enum hc_action hc_uart(struct hc_call *c, union hc_params *p)
{
	c->vm->out_lock(c->vm, true);
	output_byte(c->vm->out, (uint8_t)p->value);
	c->vm->out_lock(c->vm, false);
	return HC_CONTINUE;
}

static enum hc_action serial_buffer(struct hc_call *c, uint64_t buf, uint64_t len)
{
	struct gbuf b;

	if (!len_ok(c, len)) {
		return hc_violation(c, "serial buffer length 0x%llx exceeds guest RAM",
				    (unsigned long long)len);
	}
	if (gpa_buf(c, "serial", buf, len, &b) != HC_CONTINUE) {
		return HC_VIOLATION;
	}
	out_iov(c, &b, true);
	return HC_CONTINUE;
}

static enum hc_action hc_v1_serial(struct hc_call *c, union hc_params *p)
{
	return serial_buffer(c, p->v1_serial.buf, p->v1_serial.len);
}

static enum hc_action hc_v2_serial(struct hc_call *c, union hc_params *p)
{
	return serial_buffer(c, p->v2_serial.buf, p->v2_serial.len);
}

static enum hc_action hc_v1_exit(struct hc_call *c, union hc_params *p)
{
	c->exit_code = p->v1_exit.arg;
	return HC_EXIT;
}

static enum hc_action hc_v2_exit(struct hc_call *c, union hc_params *p)
{
	c->exit_code = (int32_t)(uint32_t)p->value;
	return HC_EXIT;
}

static enum hc_action hc_unsupported(struct hc_call *c, union hc_params *p)
{
	(void)p;
	return hc_violation(c, "hypercall not supported by uhyve-sec");
}

/* ---- file data ---- */

/* Writes or reads `b` on guest fd `fd`; fds 1 and 2 are the console, reads of fd 0 are
 * uhyve-sec's stdin (as in uhyve). */
static ssize_t file_io(struct hc_call *c, int fd, bool write, const struct gbuf *b)
{
	size_t total = 0;

	if (!write && fd == 0) {
		return stdin_readv(c->vm->stopping, b->iov, b->n);
	}

	if (write && (fd == 1 || fd == 2)) {
		out_iov(c, b, false);
		for (int i = 0; i < b->n; i++) {
			total += b->iov[i].iov_len;
		}
		return (ssize_t)total;
	}
	if (fd < 3) {
		return -EBADF;
	}
	return fsr(c, write ? c->vm->fs->writev(c->vm->fs_ctx, fd, b->iov, b->n)
			    : c->vm->fs->readv(c->vm->fs_ctx, fd, b->iov, b->n));
}

/* v1 read/write: guest-virtual buffer, processed in rounds of HC_IOV_MAX pieces. */
static enum hc_action v1_rw(struct hc_call *c, int fd, uint64_t va, uint64_t len, bool write,
			    int64_t *ret)
{
	uint64_t off = 0;

	*ret = 0;
	if (!len_ok(c, len)) {
		return hc_violation(c, "file %s length 0x%llx exceeds guest RAM",
				    write ? "write" : "read", (unsigned long long)len);
	}
	while (off < len) {
		struct gbuf b;
		uint64_t got;
		ssize_t n;

		if (gva_buf(c, write ? "file write" : "file read", va + off, len - off, &b, &got) !=
		    HC_CONTINUE) {
			return HC_VIOLATION;
		}
		n = file_io(c, fd, write, &b);
		if (n < 0) {
			*ret = off > 0 ? (int64_t)off : n;
			return HC_CONTINUE;
		}
		off += (uint64_t)n;
		if ((uint64_t)n < got) {
			break; /* short transfer (end of file) */
		}
	}
	*ret = (int64_t)off;
	return HC_CONTINUE;
}

static enum hc_action hc_v1_write(struct hc_call *c, union hc_params *p)
{
	int64_t ret; /* v1 write has no result field: the guest assumes success */

	return v1_rw(c, p->v1_write.fd, p->v1_write.buf, p->v1_write.len, true, &ret);
}

static enum hc_action hc_v1_read(struct hc_call *c, union hc_params *p)
{
	int64_t ret;
	enum hc_action a = v1_rw(c, p->v1_read.fd, p->v1_read.buf, p->v1_read.len, false, &ret);

	p->v1_read.ret = ret;
	return a;
}

static enum hc_action v2_rw(struct hc_call *c, union hc_params *p, bool write)
{
	struct uh_v2_file_rw *rw = &p->v2_rw;
	struct gbuf b;
	ssize_t n;

	if (!len_ok(c, rw->len)) {
		return hc_violation(c, "file %s length 0x%llx exceeds guest RAM",
				    write ? "write" : "read", (unsigned long long)rw->len);
	}
	if (gpa_buf(c, write ? "file write" : "file read", rw->buf, rw->len, &b) != HC_CONTINUE) {
		return HC_VIOLATION;
	}
	n = file_io(c, rw->fd, write, &b);
	rw->ret = n;
	return HC_CONTINUE;
}

static enum hc_action hc_v2_write(struct hc_call *c, union hc_params *p)
{
	return v2_rw(c, p, true);
}

static enum hc_action hc_v2_read(struct hc_call *c, union hc_params *p)
{
	return v2_rw(c, p, false);
}

/* ---- file metadata ---- */

static int do_open(struct hc_call *c, const char *path, int32_t flags, int32_t mode)
{
	int f = flags & UH_O_ALLOWED; /* the ABI masks unknown bits (kernel 0.6.x sends O_DIRECT) */

	if (((f & UH_O_DIRECTORY) && (f & UH_O_CREAT)) || (f & 3) == 3) {
		return -EINVAL; /* O_ACCMODE 3 is no access mode at all */
	}
	if (path[0] == '\0') {
		return -ENOENT;
	}
	return (int)fsr(c, c->vm->fs->open(c->vm->fs_ctx, path, f, (uint32_t)mode & 07777));
}

static enum hc_action hc_open(struct hc_call *c, union hc_params *p)
{
	char path[HC_PATH_MAX];
	int err;

	if (gpath(c, p->v1_open.name, path, &err) != HC_CONTINUE) {
		return HC_VIOLATION;
	}
	p->v1_open.ret = err ? err : do_open(c, path, p->v1_open.flags, p->v1_open.mode);
	return HC_CONTINUE;
}

static enum hc_action hc_close(struct hc_call *c, union hc_params *p)
{
	int fd = p->v1_close.fd;

	p->v1_close.ret = fd < 0   ? -EBADF
			  : fd < 3 ? 0
				   : (int)fsr(c, c->vm->fs->close(c->vm->fs_ctx, fd));
	return HC_CONTINUE;
}

static int64_t do_lseek(struct hc_call *c, int fd, int64_t off, int64_t whence)
{
	if (whence < 0 || whence > 2) { /* SEEK_SET, SEEK_CUR, SEEK_END */
		return -EINVAL;
	}
	if (fd < 3) {
		return -ESPIPE;
	}
	return fsr(c, c->vm->fs->lseek(c->vm->fs_ctx, fd, off, (int)whence));
}

static enum hc_action hc_v1_lseek(struct hc_call *c, union hc_params *p)
{
	int64_t r = do_lseek(c, p->v1_lseek.fd, p->v1_lseek.offset, p->v1_lseek.whence);

	p->v1_lseek.offset = r < 0 ? -1 : r; /* v1: any error is -1 */
	return HC_CONTINUE;
}

static enum hc_action hc_v2_lseek(struct hc_call *c, union hc_params *p)
{
	p->v2_lseek.offset = do_lseek(c, p->v2_lseek.fd, p->v2_lseek.offset, p->v2_lseek.whence);
	return HC_CONTINUE;
}

static enum hc_action hc_unlink(struct hc_call *c, union hc_params *p)
{
	char path[HC_PATH_MAX];
	int err;

	if (gpath(c, p->v1_unlink.name, path, &err) != HC_CONTINUE) {
		return HC_VIOLATION;
	}
	p->v1_unlink.ret = err ? err : (int)fsr(c, c->vm->fs->unlink(c->vm->fs_ctx, path));
	return HC_CONTINUE;
}

static void v2_ret(struct uh_v2_ret *r, int rc)
{
	r->tag = rc < 0 ? UH_V2_RET_ERROR : UH_V2_RET_SUCCESS;
	r->err = rc < 0 ? -rc : 0;
}

static enum hc_action hc_v2_mkdir(struct hc_call *c, union hc_params *p)
{
	char path[HC_PATH_MAX];
	int err;

	if (p->v2_mkdir.len > HC_PATH_MAX) {
		v2_ret(&p->v2_mkdir.ret, -ENAMETOOLONG);
		return HC_CONTINUE;
	}
	if (!gmem_range_ok(c->vm->mem, gpa(p->v2_mkdir.path), p->v2_mkdir.len)) {
		return hc_violation(c, "mkdir path [0x%llx, +0x%llx) is not inside guest RAM",
				    (unsigned long long)p->v2_mkdir.path,
				    (unsigned long long)p->v2_mkdir.len);
	}
	if (gpath(c, p->v2_mkdir.path, path, &err) != HC_CONTINUE) {
		return HC_VIOLATION;
	}
	v2_ret(&p->v2_mkdir.ret,
	       err ? err : (int)fsr(c, c->vm->fs->mkdir(c->vm->fs_ctx, path, 0777)));
	return HC_CONTINUE;
}

static enum hc_action put_attr(struct hc_call *c, uint64_t addr, int rc,
			       const struct uh_v2_file_attr *attr, struct uh_v2_ret *ret)
{
	if (!gmem_range_ok(c->vm->mem, gpa(addr), sizeof *attr)) {
		return hc_violation(c, "stat buffer at 0x%llx is not inside guest RAM",
				    (unsigned long long)addr);
	}
	if (rc >= 0 && gmem_copy_to(c->vm->mem, gpa(addr), attr, sizeof *attr) != 0) {
		return hc_violation(c, "stat buffer at 0x%llx is not inside guest RAM",
				    (unsigned long long)addr);
	}
	v2_ret(ret, rc);
	return HC_CONTINUE;
}

static enum hc_action hc_v2_stat(struct hc_call *c, union hc_params *p)
{
	struct uh_v2_file_attr attr = {0};
	char path[HC_PATH_MAX];
	int err, rc;

	if (p->v2_stat.kind > 1) {
		return hc_violation(c, "stat kind %u is neither stat (0) nor lstat (1)",
				    p->v2_stat.kind);
	}
	if (gpath(c, p->v2_stat.name, path, &err) != HC_CONTINUE) {
		return HC_VIOLATION;
	}
	rc = err ? err
		 : (int)fsr(c, c->vm->fs->stat(c->vm->fs_ctx, path, p->v2_stat.kind == 1, &attr));
	return put_attr(c, p->v2_stat.attr, rc, &attr, &p->v2_stat.ret);
}

static enum hc_action hc_v2_fstat(struct hc_call *c, union hc_params *p)
{
	struct uh_v2_file_attr attr = {0};
	int fd = p->v2_fstat.fd;
	int rc = fd < 3 ? -EBADF : (int)fsr(c, c->vm->fs->fstat(c->vm->fs_ctx, fd, &attr));

	return put_attr(c, p->v2_fstat.attr, rc, &attr, &p->v2_fstat.ret);
}

static enum hc_action hc_v2_getdents(struct hc_call *c, union hc_params *p)
{
	struct uh_v2_getdents *d = &p->v2_dents;
	void *buf;
	ssize_t n;

	if (!len_ok(c, d->len) || (buf = gmem_ptr(c->vm->mem, gpa(d->buf), d->len)) == NULL) {
		return hc_violation(c, "getdents buffer [0x%llx, +0x%llx) is not inside guest RAM",
				    (unsigned long long)d->buf, (unsigned long long)d->len);
	}
	n = d->fd < 3 ? -EBADF : fsr(c, c->vm->fs->getdents(c->vm->fs_ctx, d->fd, buf, d->len));
	d->ret.tag = n < 0 ? UH_V2_DENTS_ERROR : n == 0 ? UH_V2_DENTS_EOD : UH_V2_DENTS_SUCCESS;
	d->ret.err = n < 0 ? (int32_t)-n : 0;
	d->ret.bytes = n > 0 ? (uint64_t)n : 0;
	return HC_CONTINUE;
}

/* ---- argv and environment (v1): hc_cmdline.c ---- */

static enum hc_action hc_cmdsize(struct hc_call *c, union hc_params *p)
{
	return hc_v1_cmdsize(c, &p->v1_cmdsize);
}

static enum hc_action hc_cmdval(struct hc_call *c, union hc_params *p)
{
	return hc_v1_cmdval(c, &p->v1_cmdval);
}

/* ---- the table ---- */

#define V1(port_, name_, type_, fn_, out_off_, out_len_)                                           \
	{                                                                                          \
		port_, 4, P_V1_GPA32, sizeof(type_), out_off_, out_len_, name_, fn_                \
	}
#define V2(port_, name_, type_, fn_, out_off_, out_len_)                                           \
	{                                                                                          \
		port_, 4, P_V2_RDI_GPA, sizeof(type_), out_off_, out_len_, name_, fn_              \
	}
#define V2VAL(port_, name_, fn_)                                                                   \
	{                                                                                          \
		port_, 4, P_V2_RDI_VALUE, 0, 0, 0, name_, fn_                                      \
	}

static const struct hc_desc hc_table[] = {
    V1(UH_V1_FILE_WRITE, "v1_file_write", struct uh_v1_write, hc_v1_write, 0, 0),
    V1(UH_V1_FILE_OPEN, "v1_file_open", struct uh_v1_open, hc_open, 16, 4),
    V1(UH_V1_FILE_CLOSE, "v1_file_close", struct uh_v1_close, hc_close, 4, 4),
    V1(UH_V1_FILE_READ, "v1_file_read", struct uh_v1_read, hc_v1_read, 20, 8),
    V1(UH_V1_EXIT, "v1_exit", struct uh_v1_exit, hc_v1_exit, 0, 0),
    V1(UH_V1_FILE_LSEEK, "v1_file_lseek", struct uh_v1_lseek, hc_v1_lseek, 4, 8),
    {UH_V1_NETWRITE, 4, P_NONE, 0, 0, 0, "v1_netwrite", hc_unsupported},
    {UH_V1_NETREAD, 4, P_NONE, 0, 0, 0, "v1_netread", hc_unsupported},
    {UH_V1_NETSTAT, 4, P_NONE, 0, 0, 0, "v1_netstat", hc_unsupported},
    V1(UH_V1_CMDSIZE, "v1_cmdsize", struct uh_v1_cmdsize, hc_cmdsize, 0,
       sizeof(struct uh_v1_cmdsize)),
    V1(UH_V1_CMDVAL, "v1_cmdval", struct uh_v1_cmdval, hc_cmdval, 0, 0),
    {UH_V1_UART, 1, P_NONE, 0, 0, 0, "v1_uart", hc_uart},
    V1(UH_V1_FILE_UNLINK, "v1_file_unlink", struct uh_v1_unlink, hc_unlink, 8, 4),
    V1(UH_V1_SERIAL_BUFFER, "v1_serial_buffer", struct uh_v1_serial_buffer, hc_v1_serial, 0, 0),
    V2VAL(UH_V2_EXIT, "v2_exit", hc_v2_exit),
    V2VAL(UH_V2_SERIAL_WRITE_BYTE, "v2_serial_write_byte", hc_uart),
    V2(UH_V2_SERIAL_WRITE_BUFFER, "v2_serial_write_buffer", struct uh_v2_serial_write_buffer,
       hc_v2_serial, 0, 0),
    V2VAL(UH_V2_SERIAL_READ_BYTE, "v2_serial_read_byte", hc_unsupported),
    V2VAL(UH_V2_SERIAL_READ_BUFFER, "v2_serial_read_buffer", hc_unsupported),
    V2(UH_V2_FILE_WRITE, "v2_file_write", struct uh_v2_file_rw, hc_v2_write, 8, 8),
    V2(UH_V2_FILE_OPEN, "v2_file_open", struct uh_v1_open, hc_open, 16, 4),
    V2(UH_V2_FILE_CLOSE, "v2_file_close", struct uh_v1_close, hc_close, 4, 4),
    V2(UH_V2_FILE_READ, "v2_file_read", struct uh_v2_file_rw, hc_v2_read, 8, 8),
    V2(UH_V2_FILE_LSEEK, "v2_file_lseek", struct uh_v2_lseek, hc_v2_lseek, 0, 8),
    V2(UH_V2_FILE_UNLINK, "v2_file_unlink", struct uh_v1_unlink, hc_unlink, 8, 4),
    V2(UH_V2_GETDENTS, "v2_getdents", struct uh_v2_getdents, hc_v2_getdents, 24, 16),
    V2(UH_V2_FILE_STAT, "v2_file_stat", struct uh_v2_stat, hc_v2_stat, 24, 8),
    V2(UH_V2_FILE_FSTAT, "v2_file_fstat", struct uh_v2_fstat, hc_v2_fstat, 16, 8),
    V2(UH_V2_MKDIR, "v2_mkdir", struct uh_v2_mkdir, hc_v2_mkdir, 16, 8),
    V2VAL(UH_V2_SHMEM_OPEN, "v2_shared_mem_open", hc_unsupported),
    V2VAL(UH_V2_SHMEM_CLOSE, "v2_shared_mem_close", hc_unsupported),
};
#define HC_N (sizeof hc_table / sizeof hc_table[0])
_Static_assert(HC_N <= sizeof(((struct hc_stats *)0)->count) / sizeof(uint64_t), "stats");

const char *hc_name(unsigned i)
{
	return i < HC_N ? hc_table[i].name : NULL;
}

unsigned hc_count(void)
{
	return HC_N;
}

static const struct hc_desc *hc_lookup(uint16_t port)
{
	for (size_t i = 0; i < HC_N; i++) {
		if (hc_table[i].port == port) {
			return &hc_table[i];
		}
	}
	return NULL;
}

uint32_t hc_le_value(const uint8_t *data, uint8_t size)
{
	uint32_t v = 0;

	memcpy(&v, data, size); /* x86 is little-endian */
	return v;
}

static enum hc_action hc_call_desc(struct hc_call *c, const struct hc_desc *d, uint32_t value)
{
	union hc_params p;
	uint64_t addr = d->param == P_V1_GPA32 ? value : c->rdi;
	enum hc_action a;

	memset(&p, 0, sizeof p);
	c->stats->count[d - hc_table]++;
	if (d->param == P_NONE) {
		p.value = value;
	} else if (d->param == P_V2_RDI_VALUE) {
		p.value = c->rdi;
	} else if (gmem_copy_from(c->vm->mem, &p, gpa(addr), d->size) != 0) {
		return hc_violation(c, "%s: parameter struct [0x%llx, +%u) is not inside guest RAM",
				    d->name, (unsigned long long)addr, (unsigned)d->size);
	}
	a = d->fn(c, &p);
	if (c->lost) {
		c->exit_code = ST_BROKER;
		snprintf(c->msg, sizeof c->msg, "%s: the file broker is gone", d->name);
		return HC_FATAL;
	}
	if (a == HC_VIOLATION) {
		char reason[sizeof c->msg];
		memcpy(reason, c->msg, sizeof reason);
		snprintf(c->msg, sizeof c->msg, "%s: %.160s", d->name, reason);
	}
	if (a == HC_CONTINUE && d->out_len > 0 &&
	    gmem_copy_to(c->vm->mem, gpa(addr + d->out_off), p.raw + d->out_off, d->out_len) != 0) {
		return hc_violation(c, "%s: cannot write the result back", d->name);
	}
	return a;
}

enum hc_action hc_port_io(struct hc_call *c, uint16_t port, bool out, uint8_t size, uint8_t *data)
{
	const struct hc_desc *d = hc_lookup(port);

	if (size != 1 && size != 2 && size != 4) {
		return hc_violation(c, "I/O access of %u bytes at port 0x%x", size, port);
	}
	if (d == NULL && platform_port(port)) {
		return platform_port_io(c, port, out, size, data);
	}
	if (d == NULL) {
		return hc_violation(c, "%s of %u byte(s) at unknown I/O port 0x%x",
				    out ? "write" : "read", size, port);
	}
	if (!out) {
		return hc_violation(c, "%s: read from a hypercall port", d->name);
	}
	if (size != d->width) {
		return hc_violation(c, "%s: access width %u, expected %u", d->name, size, d->width);
	}
	return hc_call_desc(c, d, hc_le_value(data, size));
}

enum hc_action hc_mmio(struct hc_call *c, uint64_t addr, bool write, uint32_t len, uint8_t *data)
{
	return platform_mmio(c, addr, write, len, data);
}
