/* SPDX-License-Identifier: MIT */
/* cgroup.c - place the container (VMM, broker, assist, monitor) in linux.cgroupsPath on
 * cgroup v1, v2 and hybrid hosts, apply the limits, list, signal and remove.
 *
 * Every cgroup file system in /proc/self/mountinfo is a hierarchy: each v1 mount (cpu,
 * memory, pids, cpuset, name=systemd...) and the v2 one (/sys/fs/cgroup on a v2 host,
 * /sys/fs/cgroup/unified on a hybrid one such as this project's CI host).  The container gets
 * the same path in each.  Limits go where their controller is: memory.limit_in_bytes or
 * memory.max, pids.max, cpu.cfs_quota_us or cpu.max, cpuset.cpus/mems (a new v1 cpuset
 * cgroup first inherits its parent's, or nothing could join it).  On v2 the controllers are
 * enabled in the ancestors' cgroup.subtree_control.
 *
 * Trust: cgroupsPath comes from config.json: it may not contain "." or ".." components, so
 * it never leaves the hierarchy.  With --systemd-cgroup "slice:prefix:name" is mapped to the
 * path systemd would use (slice/prefix-name.scope); systemd itself is not asked (no D-Bus).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "oci.h"

#define MAX_HIER 32

struct hier {
	char mnt[512]; /* mount point */
	char root[512]; /* mountinfo root field */
	char ctrl[256]; /* v1: "cpu,cpuacct" / "name=systemd"; v2: "" */
	bool v2;
	char own[1024]; /* our cgroup (from /proc/self/cgroup) */
};

static int write_file(const char *dir, const char *name, const char *val)
{
	char path[1200];
	int fd, rc;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
		return -1;
	}
	rc = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -1;
	close(fd);
	return rc;
}

static ssize_t read_file(const char *dir, const char *name, char *buf, size_t len)
{
	char path[1200];
	ssize_t n;
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		return -1;
	}
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static bool has_ctrl(const struct hier *h, const char *c)
{
	char list[256], *save = NULL;

	snprintf(list, sizeof list, "%s", h->ctrl);
	for (char *t = strtok_r(list, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, c) == 0) {
			return true;
		}
	}
	return false;
}

/* A v1 mount's controllers: the super options minus rw/ro and other flags. */
static void v1_controllers(char *super, char *out, size_t len)
{
	char *save = NULL;

	out[0] = '\0';
	for (char *t = strtok_r(super, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "rw") != 0 && strcmp(t, "ro") != 0 &&
		    strncmp(t, "release_agent", 13) && strcmp(t, "clone_children") != 0 &&
		    strcmp(t, "noprefix") != 0 && strcmp(t, "xattr") != 0 &&
		    strcmp(t, "cpuset_v2_mode") != 0) {
			snprintf(out + strlen(out), len - strlen(out), "%s%s", out[0] ? "," : "",
				 t);
		}
	}
}

static int parse_mountinfo(struct hier *hs)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int n = 0;

	if (f == NULL) {
		return -1;
	}
	while (n < MAX_HIER && fgets(line, sizeof line, f) != NULL) {
		char root[512], mnt[512], fstype[64], super[512], *dash = strstr(line, " - ");
		if (dash == NULL || sscanf(line, "%*s %*s %*s %511s %511s", root, mnt) != 2 ||
		    sscanf(dash + 3, "%63s %*s %511s", fstype, super) != 2) {
			continue;
		}
		if (strcmp(fstype, "cgroup") != 0 && strcmp(fstype, "cgroup2") != 0) {
			continue;
		}
		memset(&hs[n], 0, sizeof hs[n]);
		snprintf(hs[n].mnt, sizeof hs[n].mnt, "%s", mnt);
		snprintf(hs[n].root, sizeof hs[n].root, "%s", root);
		hs[n].v2 = strcmp(fstype, "cgroup2") == 0;
		if (!hs[n].v2) {
			v1_controllers(super, hs[n].ctrl, sizeof hs[n].ctrl);
		} else {
			read_file(mnt, "cgroup.controllers", hs[n].ctrl, sizeof hs[n].ctrl);
			for (char *p = hs[n].ctrl; *p != '\0'; p++) {
				*p = *p == ' ' || *p == '\n' ? ',' : *p;
			}
		}
		n++;
	}
	fclose(f);
	return n;
}

/* Our own cgroup in each hierarchy, from /proc/self/cgroup ("id:ctrls:/path"). */
static void own_cgroups(struct hier *hs, int n)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[2048];

	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (c2 == NULL) {
			continue;
		}
		*c2 = '\0';
		c2[strcspn(c2 + 1, "\n") + 1] = '\0';
		for (int i = 0; i < n; i++) {
			struct hier *h = &hs[i];
			bool match = h->v2 ? c1[1] == '\0' : strcmp(c1 + 1, h->ctrl) == 0;
			if (match) {
				snprintf(h->own, sizeof h->own, "%s", c2 + 1);
			}
		}
	}
	if (f != NULL) {
		fclose(f);
	}
}

/* "a-b.slice" -> "/a.slice/a-b.slice" into out. */
static void expand_slice(const char *slice, char *out, size_t len)
{
	size_t n = strlen(slice) - strlen(".slice");

	out[0] = '\0';
	for (size_t i = 0; i <= n; i++) {
		if (i == n || slice[i] == '-') {
			snprintf(out + strlen(out), len - strlen(out), "/%.*s.slice", (int)i,
				 slice);
		}
	}
}

/* cgroupsPath to a path below a hierarchy root (absolute) or our cgroup (relative). */
static int logical_path(const char *cg, bool systemd, char *out, size_t len, bool *relative)
{
	*relative = false;
	if (systemd && strchr(cg, ':') != NULL) {
		char slice[256], prefix[256], name[256], sl[768];
		if (sscanf(cg, "%255[^:]:%255[^:]:%255s", slice, prefix, name) != 3) {
			if (sscanf(cg, ":%255[^:]:%255s", prefix, name) != 2) {
				return -1;
			}
			snprintf(slice, sizeof slice, "system.slice");
		}
		if (strlen(slice) < 7 || strcmp(slice + strlen(slice) - 6, ".slice") != 0) {
			return -1;
		}
		expand_slice(slice, sl, sizeof sl);
		snprintf(out, len, "%s/%s-%s.scope", sl, prefix, name);
		return 0;
	}
	*relative = cg[0] != '/';
	return snprintf(out, len, "%s", cg) >= (int)len ? -1 : 0;
}

/* No "", "." or ".." components (a leading '/' and one trailing '/' aside). */
static bool safe_path(const char *p)
{
	const char *c = p[0] == '/' ? p + 1 : p;

	if (*c == '\0' || strlen(p) > 900) {
		return false;
	}
	while (*c != '\0') {
		size_t n = strcspn(c, "/");
		if (n == 0 || (n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.')) {
			return false;
		}
		c += n;
		c += *c == '/';
	}
	return true;
}

static int hier_dir(const struct hier *h, const char *logical, bool relative, char *out, size_t len)
{
	const char *base = relative ? h->own : "";
	const char *rest = logical;
	size_t rl = strlen(h->root);
	char full[2048];

	snprintf(full, sizeof full, "%s%s%s", strcmp(base, "/") == 0 ? "" : base,
		 relative ? "/" : "", rest);
	if (strcmp(h->root, "/") != 0 && strncmp(full, h->root, rl) == 0 &&
	    (full[rl] == '/' || full[rl] == '\0')) {
		memmove(full, full + rl, strlen(full + rl) + 1);
	}
	return snprintf(out, len, "%s%s", h->mnt, full) >= (int)len ? -1 : 0;
}

/* mkdir -p below the mount point; on v1 cpuset every new level copies its parent's
 * cpus/mems; on v2 the needed controllers are enabled on the way down. */
/* cgroup v2: lets the controllers we use reach the children of parent (may be refused). */
static void enable_controllers(const struct hier *h, const char *parent)
{
	static const char *const want[] = {"memory", "pids", "cpu", "cpuset"};
	char tok[16];

	for (int i = 0; h->v2 && i < 4; i++) {
		snprintf(tok, sizeof tok, "+%s", want[i]);
		if (has_ctrl(h, want[i])) {
			write_file(parent, "cgroup.subtree_control", tok);
		}
	}
}

/* cgroup v1 cpuset: a new cgroup starts with no CPUs and memory nodes; take the parent's. */
static void inherit_cpuset(const struct hier *h, const char *dir, const char *parent)
{
	const char *const f[] = {"cpuset.cpus", "cpuset.mems"};
	char v[1024];

	if (h->v2 || !has_ctrl(h, "cpuset")) {
		return;
	}
	for (int i = 0; i < 2; i++) {
		if (read_file(dir, f[i], v, sizeof v) <= 1 &&
		    read_file(parent, f[i], v, sizeof v) > 1) {
			write_file(dir, f[i], v);
		}
	}
}

static int make_dirs(const struct hier *h, const char *dir)
{
	char buf[2048], parent[2048];
	size_t ml = strlen(h->mnt);

	snprintf(buf, sizeof buf, "%s", dir);
	for (char *p = buf + ml + 1; p <= buf + strlen(buf); p++) {
		if (*p != '/' && *p != '\0') {
			continue;
		}
		char save = *p;
		*p = '\0';
		snprintf(parent, sizeof parent, "%.*s", (int)(strrchr(buf, '/') - buf), buf);
		enable_controllers(h, parent);
		if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
			return -1;
		}
		inherit_cpuset(h, buf, parent);
		*p = save;
	}
	return 0;
}

static int set_limit(const char *dir, const char *file, const char *val, char *err, size_t errlen)
{
	if (write_file(dir, file, val) != 0) {
		int e = errno;
		snprintf(err, errlen, "cgroup %.256s: cannot set %s to %.64s: %s", dir, file, val,
			 strerror(e));
		return -1;
	}
	return 0;
}

static int apply_limits(const struct hier *h, const char *dir, const struct cg_limits *l, char *err,
			size_t errlen)
{
	char v[128];
	int rc = 0;

	if (l->mem > 0 && has_ctrl(h, "memory")) {
		snprintf(v, sizeof v, "%lld", (long long)l->mem);
		rc |=
		    set_limit(dir, h->v2 ? "memory.max" : "memory.limit_in_bytes", v, err, errlen);
	}
	if (l->pids > 0 && has_ctrl(h, "pids")) {
		snprintf(v, sizeof v, "%lld", (long long)l->pids);
		rc |= set_limit(dir, "pids.max", v, err, errlen);
	}
	if (l->cpu_quota > 0 && has_ctrl(h, "cpu")) {
		if (h->v2) {
			snprintf(v, sizeof v, "%lld %llu", (long long)l->cpu_quota,
				 (unsigned long long)l->cpu_period);
			rc |= set_limit(dir, "cpu.max", v, err, errlen);
		} else {
			snprintf(v, sizeof v, "%llu", (unsigned long long)l->cpu_period);
			rc |= set_limit(dir, "cpu.cfs_period_us", v, err, errlen);
			snprintf(v, sizeof v, "%lld", (long long)l->cpu_quota);
			rc |= set_limit(dir, "cpu.cfs_quota_us", v, err, errlen);
		}
	}
	if (l->cpus != NULL && has_ctrl(h, "cpuset")) {
		rc |= set_limit(dir, "cpuset.cpus", l->cpus, err, errlen);
	}
	if (l->mems != NULL && has_ctrl(h, "cpuset")) {
		rc |= set_limit(dir, "cpuset.mems", l->mems, err, errlen);
	}
	return rc;
}

int cg_create(const char *cgpath, bool systemd, const struct cg_limits *lim, char ***dirs,
	      char *err, size_t errlen)
{
	struct hier hs[MAX_HIER];
	char logical[1024], dir[2048];
	bool rel;
	int n = parse_mountinfo(hs), k = 0;

	*dirs = NULL;
	if (logical_path(cgpath, systemd, logical, sizeof logical, &rel) != 0 ||
	    !safe_path(logical)) {
		snprintf(err, errlen, "invalid cgroupsPath '%.256s'", cgpath);
		return -1;
	}
	if (n <= 0 || (*dirs = calloc((size_t)n + 1, sizeof **dirs)) == NULL) {
		snprintf(err, errlen, "no cgroup file system is mounted");
		return -1;
	}
	own_cgroups(hs, n);
	for (int i = 0; i < n; i++) {
		if (hier_dir(&hs[i], logical, rel, dir, sizeof dir) != 0 ||
		    make_dirs(&hs[i], dir) != 0) {
			int e = errno;
			snprintf(err, errlen, "cannot create cgroup %.256s: %s", dir, strerror(e));
			return -1;
		}
		if (((*dirs)[k++] = strdup(dir)) == NULL ||
		    apply_limits(&hs[i], dir, lim, err, errlen) != 0) {
			return -1;
		}
	}
	return 0;
}

int cg_join(char *const *dirs, char *err, size_t errlen)
{
	for (size_t i = 0; dirs != NULL && dirs[i] != NULL; i++) {
		if (write_file(dirs[i], "cgroup.procs", "0") != 0) {
			int e = errno;
			snprintf(err, errlen, "cannot join cgroup %.256s: %s", dirs[i],
				 strerror(e));
			return -1;
		}
	}
	return 0;
}

int cg_pids(char *const *dirs, pid_t **pids)
{
	int n = 0;

	*pids = NULL;
	for (size_t i = 0; dirs != NULL && dirs[i] != NULL; i++) {
		char path[1200];
		FILE *f;
		long p;
		snprintf(path, sizeof path, "%s/cgroup.procs", dirs[i]);
		if ((f = fopen(path, "re")) == NULL) {
			continue;
		}
		while (n < 65536 && fscanf(f, "%ld", &p) == 1) {
			bool dup = false;
			for (int j = 0; j < n && !dup; j++) {
				dup = (*pids)[j] == (pid_t)p;
			}
			pid_t *nv = dup ? *pids : realloc(*pids, sizeof *nv * (size_t)(n + 1));
			if (nv == NULL) {
				fclose(f);
				return -1;
			}
			*pids = nv;
			if (!dup) {
				nv[n++] = (pid_t)p;
			}
		}
		fclose(f);
	}
	return n;
}

void cg_kill_all(char *const *dirs, int sig)
{
	for (int round = 0; round < 3; round++) {
		pid_t *pids;
		int n = cg_pids(dirs, &pids);
		for (size_t i = 0; sig == SIGKILL && dirs != NULL && dirs[i] != NULL; i++) {
			write_file(dirs[i], "cgroup.kill", "1"); /* v2, Linux >= 5.14 */
		}
		for (int i = 0; i < n; i++) {
			kill(pids[i], sig);
		}
		free(pids);
		if (n <= 0 || sig != SIGKILL) {
			return;
		}
	}
}

int cg_remove(char *const *dirs, unsigned ms)
{
	int rc = 0;

	for (size_t i = 0; dirs != NULL && dirs[i] != NULL; i++) {
		unsigned waited = 0;
		while (rmdir(dirs[i]) != 0 && errno == EBUSY && waited < ms) {
			struct timespec ts = {0, 10 * 1000000L};
			nanosleep(&ts, NULL);
			waited += 10;
		}
		if (access(dirs[i], F_OK) == 0) {
			rc = -1;
		}
	}
	return rc;
}
