/* SPDX-License-Identifier: MIT */
/* read.c - the only file-system access of config/: an existence test and a bounded reader
 * for uhyve.toml.  The file is the operator's but may be anything (a FIFO, a device, huge):
 * only a regular file of at most the cap is read; the fd is O_CLOEXEC and closed on every
 * path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uhs_toml.h"
#include "uhyve_toml.h"

bool uhc_path_exists(const char *path, void *ctx)
{
	struct stat st;

	(void)ctx;
	return stat(path, &st) == 0;
}

static int read_fd(int fd, size_t cap, char *buf, size_t *len)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = read(fd, buf + got, cap + 1 - got);

		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			return -errno;
		}
		if (n == 0) {
			break;
		}
		got += (size_t)n;
		if (got > cap) {
			return -EFBIG;
		}
	}
	*len = got;
	return 0;
}

int uhc_read_file(const char *path, size_t cap, char **buf, size_t *len, char *err, size_t errlen)
{
	char q[300];
	struct stat st;
	int fd, rc;

	*buf = NULL;
	*len = 0;
	cap = cap == 0 ? UHC_FILE_MAX : cap;
	cap = cap > SIZE_MAX / 2 ? SIZE_MAX / 2 : cap;
	uhs_toml_escape(q, sizeof q, path, strlen(path), 200);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", q, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", q);
		close(fd);
		return -1;
	}
	*buf = malloc(cap + 2);
	rc = *buf == NULL ? -ENOMEM : read_fd(fd, cap, *buf, len);
	close(fd);
	if (rc != 0) {
		if (rc == -EFBIG) {
			snprintf(err, errlen, "%s: larger than %zu bytes", q, cap);
		} else {
			snprintf(err, errlen, "%s: %s", q, strerror(-rc));
		}
		free(*buf);
		*buf = NULL;
		*len = 0;
		return -1;
	}
	(*buf)[*len] = '\0';
	return 0;
}
