/* SPDX-License-Identifier: MIT */
/* proc.c - processes of a container without a cgroup (the tree under its init process),
 * process start times (against pid reuse) and signal names.
 *
 * Trust: /proc of this host (trusted); the texts are parsed with bounds anyway.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci.h"

#define TREE_MAX 4096

/* Field 22 (starttime) of /proc/PID/stat, 0 if the process is gone or a zombie.  The
 * command name (field 2) may contain blanks and ')': parse after the last ')'. */
uint64_t proc_starttime(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	char state;
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		return 0;
	}
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0) {
		return 0;
	}
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 1,
		   " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
		   "%*d %llu",
		   &state, &start) != 2) {
		return 0;
	}
	return state == 'Z' || state == 'X' ? 0 : (uint64_t)start;
}

static int add_pid(pid_t **v, int n, pid_t pid)
{
	pid_t *nv;

	for (int i = 0; i < n; i++) {
		if ((*v)[i] == pid) {
			return n;
		}
	}
	if (n >= TREE_MAX || (nv = realloc(*v, sizeof *nv * (size_t)(n + 1))) == NULL) {
		return -1;
	}
	nv[n] = pid;
	*v = nv;
	return n + 1;
}

/* Appends the children of every thread of pid. */
static int add_children(pid_t pid, pid_t **v, int n)
{
	char path[64], buf[4096];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
	if ((d = opendir(path)) == NULL) {
		return n;
	}
	while (n >= 0 && (de = readdir(d)) != NULL) {
		char *p = buf, *end;
		ssize_t r;
		int fd;
		if (!isdigit((unsigned char)de->d_name[0])) {
			continue;
		}
		snprintf(path, sizeof path, "/proc/%d/task/%.16s/children", (int)pid, de->d_name);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			continue;
		}
		r = read(fd, buf, sizeof buf - 1);
		close(fd);
		buf[r > 0 ? r : 0] = '\0';
		for (long c; n >= 0 && (c = strtol(p, &end, 10)) > 0; p = end) {
			n = add_pid(v, n, (pid_t)c);
		}
	}
	closedir(d);
	return n;
}

int proc_tree(pid_t pid, pid_t **pids)
{
	int n;

	*pids = NULL;
	if ((n = add_pid(pids, 0, pid)) < 0) {
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if ((n = add_children((*pids)[i], pids, n)) < 0) {
			free(*pids);
			*pids = NULL;
			return -1;
		}
	}
	return n;
}

int parse_signal(const char *s)
{
	const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
	char *end;
	long v;

	if (isdigit((unsigned char)s[0])) {
		v = strtol(s, &end, 10);
		return *end == '\0' && v >= 1 && v <= SIGRTMAX ? (int)v : -1;
	}
	for (int sig = 1; sig < NSIG; sig++) {
		const char *abbrev = sigabbrev_np(sig);
		if (abbrev != NULL && strcasecmp(abbrev, name) == 0) {
			return sig;
		}
	}
	return -1;
}
