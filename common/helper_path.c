/* SPDX-License-Identifier: MIT */
/* helper_path.c - locating helper programs next to the running binary (helper_path.h). */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helper_path.h"

/* libexecdir relative to bindir, set by meson for installed binaries */
#ifndef UHS_LIBEXEC_REL
#define UHS_LIBEXEC_REL "../libexec"
#endif

int helper_path(const char *name, const char *builddir, char *buf, size_t len)
{
	char exe[PATH_MAX], dir[PATH_MAX];
	const char *where[3];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	char *slash;

	if (n <= 0) {
		return -1;
	}
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL) {
		return -1;
	}
	*slash = '\0';
	/* the build tree: <build>/uhyve-sec and <build>/<builddir>/<name>; tests/ binaries
	 * one level down find it through "..". */
	snprintf(dir, sizeof dir, "%s", builddir);
	where[0] = ".";
	where[1] = dir;
	where[2] = UHS_LIBEXEC_REL;
	for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
		int w = snprintf(buf, len, "%s/%s/%s", exe, where[i], name);
		if (w > 0 && (size_t)w < len && access(buf, X_OK) == 0) {
			return 0;
		}
	}
	return -1;
}
