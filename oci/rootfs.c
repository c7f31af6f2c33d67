/* SPDX-License-Identifier: MIT */
/* rootfs.c - find args[0] inside the container's root file system without leaving it.
 *
 * Trust: the root file system comes from the image (untrusted): its symlinks may point
 * anywhere, "/.." may be part of a name.  openat2(RESOLVE_IN_ROOT) makes the kernel resolve
 * the whole path, symlinks included, as if rootfd were "/": absolute links and ".." stay
 * inside it.  Magic links (/proc/self/...) are refused.  The result must be a regular file.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "oci.h"

int rootfs_open_kernel(int rootfd, const char *args0)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	struct stat st;
	int fd;

	do {
		fd = (int)syscall(SYS_openat2, rootfd, args0, &how, sizeof how);
	} while (fd < 0 && errno == EAGAIN);
	if (fd < 0) {
		return -errno;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EISDIR;
	}
	return fd;
}

int fd_path(int fd, char *buf, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	n = readlink(link, buf, len - 1);
	if (n <= 0 || (size_t)n >= len - 1 || buf[0] != '/') {
		return -1;
	}
	buf[n] = '\0';
	return 0;
}
