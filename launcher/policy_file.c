/* SPDX-License-Identifier: MIT */
/* policy_file.c - the host side of the policy: reading the policy file, the current directory
 * relative paths are resolved against, and stat(2) of the host directories.  policy/ itself
 * makes no system call. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher.h"

#define POL_FILE_MAX (1u << 20) /* policy files larger than 1 MiB are refused */

__attribute__((format(printf, 3, 4))) static void seterr(char *err, size_t errlen, const char *fmt,
							 ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Reads a regular file of at most POL_FILE_MAX bytes into a malloc'd, NUL-terminated
 * buffer. */
static int read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	size_t n = 0;
	char *b = NULL;

	*buf = NULL;
	if (fd < 0) {
		seterr(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s: not a regular file", path);
		goto fail;
	}
	if (st.st_size > (off_t)POL_FILE_MAX) {
		seterr(err, errlen, "%s: larger than %u bytes", path, POL_FILE_MAX);
		goto fail;
	}
	b = malloc(POL_FILE_MAX + 2);
	if (b == NULL) {
		seterr(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	for (;;) {
		ssize_t r = read(fd, b + n, POL_FILE_MAX + 1 - n);

		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			seterr(err, errlen, "%s: read error: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0) {
			break;
		}
		n += (size_t)r;
		if (n > POL_FILE_MAX) {
			seterr(err, errlen, "%s: larger than %u bytes", path, POL_FILE_MAX);
			goto fail;
		}
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
fail:
	free(b);
	close(fd);
	return -1;
}

/* The directory of file, made absolute with the current directory (not cleaned: the policy
 * library joins and cleans). */
static int file_dir(const char *file, char *dir, size_t cap)
{
	const char *slash = strrchr(file, '/');
	size_t dlen = slash != NULL ? (size_t)(slash - file) : 0;
	char cwd[PATH_MAX];
	int n;

	if (file[0] == '/') {
		n = snprintf(dir, cap, "%.*s", dlen > 0 ? (int)dlen : 1, dlen > 0 ? file : "/");
	} else if (getcwd(cwd, sizeof cwd) == NULL) {
		return -1;
	} else {
		n = snprintf(dir, cap, "%s/%.*s", cwd, (int)dlen, file);
	}
	if (n < 0 || (size_t)n >= cap) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int policy_load_file(struct policy *p, const char *path, char *err, size_t errlen)
{
	char base[2 * PATH_MAX];
	size_t len;
	char *buf;
	int rc;

	if (p == NULL || path == NULL) {
		seterr(err, errlen, "no policy or no file name");
		return -1;
	}
	if (file_dir(path, base, sizeof base) != 0) {
		seterr(err, errlen, "%s: cannot find the policy file's directory: %s", path,
		       strerror(errno));
		return -1;
	}
	if (read_file(path, &buf, &len, err, errlen) != 0) {
		return -1;
	}
	rc = policy_load_buffer(p, path, buf, len, base, err, errlen);
	free(buf);
	return rc;
}

const char *launcher_cwd(void)
{
	static char cwd[PATH_MAX];

	if (cwd[0] == '\0' && getcwd(cwd, sizeof cwd) == NULL) {
		cwd[0] = '\0';
	}
	return cwd[0] == '/' ? cwd : NULL;
}

int launcher_stat(const char *path, struct stat *st)
{
	return stat(path, st);
}
