/* SPDX-License-Identifier: MIT */
/* scratch.c - the scratch directory: made in the operator's TMPDIR before confinement,
 * removed at exit with the rights Landlock leaves the broker (read_dir, remove_file and
 * remove_dir beneath it, remove_dir on its parent).  Its contents are the guest's choice:
 * any depth the guest-path limit allows, any names. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "broker.h"
#include "scratch.h"
#include "uhs_status.h"

#define REMOVE_STEPS (1ul << 26) /* a bound, so that no loop can be endless */

int scratch_make(struct scratch *s, const char *tmpdir)
{
	*s = (struct scratch){.fd = -1, .parent_fd = -1};
	snprintf(s->path, sizeof s->path, "%s/uhyve-sec-XXXXXX", tmpdir);
	if (mkdtemp(s->path) == NULL) {
		bmsg("cannot create the scratch directory in %s: %s", tmpdir, strerror(errno));
		s->path[0] = '\0';
		return ST_BROKER;
	}
	s->fd = open(s->path, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	s->parent_fd = open(tmpdir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (s->fd < 0 || s->parent_fd < 0) {
		bmsg("cannot open the scratch directory %s: %s", s->path, strerror(errno));
		return ST_BROKER;
	}
	return 0;
}

/* Opens directory `rel` below root for reading, never through a symlink or mount. */
static int open_dir_beneath(int root, const char *rel)
{
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV};

	return (int)syscall(SYS_openat2, root, rel, &how, sizeof how);
}

/* Unlinks every non-directory in the directory fd (which it closes).  Returns 1 with the
 * name of a subdirectory in sub (not yet removed), 0 when none is left, -1 on an error. */
static int empty_files(int fd, char *sub, size_t cap)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int rc = 0;

	if (d == NULL) {
		close(fd);
		return -1;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    unlinkat(fd, e->d_name, 0) == 0) {
			continue;
		}
		rc = errno == EISDIR && snprintf(sub, cap, "%s", e->d_name) < (int)cap ? 1 : -1;
	}
	closedir(d);
	return rc;
}

/* Depth-first without recursion and without an fd per level: `rel` (relative to the root)
 * grows by a component on the way down and shrinks on the way up; every directory is opened
 * again from the root.  Scratch paths are guest paths, shorter than PATH_MAX. */
static int remove_below(int root)
{
	char rel[PATH_MAX] = ".", sub[NAME_MAX + 1];

	for (unsigned long step = 0; step < REMOVE_STEPS; step++) {
		int fd = open_dir_beneath(root, rel), r;
		size_t len = strlen(rel);

		r = fd < 0 ? -1 : empty_files(fd, sub, sizeof sub);
		if (r == 1 && len + 1 + strlen(sub) < sizeof rel) {
			snprintf(rel + len, sizeof rel - len, "/%s", sub);
			continue; /* down */
		}
		if (r != 0) {
			return -1;
		}
		if (strcmp(rel, ".") == 0) {
			return 0; /* the root is empty */
		}
		if (unlinkat(root, rel, AT_REMOVEDIR) != 0) {
			return -1; /* never loop over what cannot go */
		}
		*strrchr(rel, '/') = '\0'; /* up */
	}
	errno = ELOOP;
	return -1;
}

int scratch_remove(struct scratch *s)
{
	const char *name = strrchr(s->path, '/');
	int rc = 0;

	if (s->path[0] == '\0' || s->fd < 0 || s->parent_fd < 0) {
		rc = s->path[0] == '\0' ? 0 : -1;
	} else if (remove_below(s->fd) != 0 ||
		   unlinkat(s->parent_fd, name + 1, AT_REMOVEDIR) != 0) {
		bmsg("cannot remove the scratch directory %s: %s", s->path, strerror(errno));
		rc = -1;
	}
	if (s->fd >= 0) {
		close(s->fd);
	}
	if (s->parent_fd >= 0) {
		close(s->parent_fd);
	}
	*s = (struct scratch){.fd = -1, .parent_fd = -1};
	return rc;
}
