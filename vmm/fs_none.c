/* SPDX-License-Identifier: MIT */
/* fs_none.c - the file system a guest sees when nothing is mounted.
 *
 * Paths do not exist (ENOENT), creating anything is refused (EACCES), and no guest fd is
 * ever valid (EBADF).  This is the complete answer until a mount is configured.
 */
#include <errno.h>

#include "vmm_internal.h"

static int none_open(void *ctx, const char *path, int flags, uint32_t mode)
{
	(void)ctx, (void)path, (void)mode;
	return (flags & UH_O_CREAT) ? -EACCES : -ENOENT;
}

static int none_close(void *ctx, int fd)
{
	(void)ctx, (void)fd;
	return -EBADF;
}

static ssize_t none_rw(void *ctx, int fd, const struct iovec *iov, int iovcnt)
{
	(void)ctx, (void)fd, (void)iov, (void)iovcnt;
	return -EBADF;
}

static int64_t none_lseek(void *ctx, int fd, int64_t off, int whence)
{
	(void)ctx, (void)fd, (void)off, (void)whence;
	return -EBADF;
}

static int none_unlink(void *ctx, const char *path)
{
	(void)ctx, (void)path;
	return -ENOENT;
}

static int none_mkdir(void *ctx, const char *path, uint32_t mode)
{
	(void)ctx, (void)path, (void)mode;
	return -EACCES;
}

static int none_stat(void *ctx, const char *path, bool nofollow, struct uh_v2_file_attr *out)
{
	(void)ctx, (void)path, (void)nofollow, (void)out;
	return -ENOENT;
}

static int none_fstat(void *ctx, int fd, struct uh_v2_file_attr *out)
{
	(void)ctx, (void)fd, (void)out;
	return -EBADF;
}

static ssize_t none_getdents(void *ctx, int fd, void *buf, size_t len)
{
	(void)ctx, (void)fd, (void)buf, (void)len;
	return -EBADF;
}

const struct fs_ops fs_none_ops = {
    .open = none_open,
    .close = none_close,
    .readv = none_rw,
    .writev = none_rw,
    .lseek = none_lseek,
    .unlink = none_unlink,
    .mkdir = none_mkdir,
    .stat = none_stat,
    .fstat = none_fstat,
    .getdents = none_getdents,
};
