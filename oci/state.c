/* SPDX-License-Identifier: MIT */
/* state.c - the runtime's state: --root (default /run/uhyve-sec-oci, rootless
 * $XDG_RUNTIME_DIR/uhyve-sec-oci), one directory per container:
 *
 *   <root>/<id>/state.json   pid, its start time, bundle, rootfs, creation time, annotations,
 *                            cgroup directories, runc hand-off flag
 *   <root>/<id>/policy.json  the generated file policy (uhyve-sec --policy)
 *   <root>/<id>/exec.fifo    exists from create until start: init blocks opening it
 *
 * Trust: the root is ours (mode 0700); the container ID comes from the engine and is
 * checked to be one path component.  state.json is parsed with the same care as any file.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "oci.h"

#define STATE_MAX (1u << 20)

int state_valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n > 1024 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0) {
		return -1;
	}
	for (const char *p = id; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.' ||
		      *p == '+')) {
			return -1;
		}
	}
	return 0;
}

/* mkdir -p with mode 0700 for the last component. */
static int mkdirs(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof buf) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, n + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
				return -1;
			}
			*p = '/';
		}
	}
	return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

int state_open_root(struct oci_ctx *c)
{
	static char def[4096];

	if (c->root == NULL) {
		const char *xdg = getenv("XDG_RUNTIME_DIR");
		if (geteuid() == 0) {
			c->root = "/run/uhyve-sec-oci";
		} else if (xdg != NULL && xdg[0] == '/') {
			snprintf(def, sizeof def, "%s/uhyve-sec-oci", xdg);
			c->root = def;
		} else {
			log_error("no --root given and XDG_RUNTIME_DIR is not set");
			return -1;
		}
	}
	if (mkdirs(c->root) != 0 ||
	    (c->rootfd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
	    fd_path(c->rootfd, def, sizeof def) != 0) {
		int e = errno;
		log_error("cannot use --root %.256s: %s", c->root, strerror(e));
		return -1;
	}
	c->root = def; /* absolute from here on */
	return 0;
}

int state_dir(const struct oci_ctx *c, const char *id)
{
	return openat(c->rootfd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static char *read_small(int dirfd, const char *name, size_t max, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	char *buf;
	struct stat st;
	ssize_t n;

	if (fd < 0) {
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > max ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	n = read(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(buf);
		errno = EIO;
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

static char *dup_member(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? strdup(s) : NULL;
}

static int load_cgroups(const json_t *o, struct oci_state *st)
{
	const json_t *cg = json_object_get(o, "cgroups");
	size_t n = json_array_size(cg);

	if ((st->cgroups = calloc(n + 1, sizeof *st->cgroups)) == NULL) {
		return -1;
	}
	for (size_t i = 0; i < n && i < 64; i++) {
		const char *s = json_string_value(json_array_get(cg, i));
		if (s == NULL || s[0] != '/' || (st->cgroups[i] = strdup(s)) == NULL) {
			return -1;
		}
	}
	return 0;
}

int state_load(int dirfd, const char *id, struct oci_state *st, char *err, size_t errlen)
{
	size_t len;
	char *text = read_small(dirfd, "state.json", STATE_MAX, &len);
	json_t *o;
	json_int_t pid;

	memset(st, 0, sizeof *st);
	snprintf(st->id, sizeof st->id, "%s", id);
	if (text == NULL) {
		snprintf(err, errlen, "container %.256s has no state (being created?)", id);
		return -1;
	}
	o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	pid = json_integer_value(json_object_get(o, "pid"));
	if (!json_is_object(o) || pid < 0 || pid > 4194304) {
		json_decref(o);
		snprintf(err, errlen, "container %.256s: state.json is damaged", id);
		return -1;
	}
	st->pid = (pid_t)pid;
	st->starttime = (uint64_t)json_integer_value(json_object_get(o, "starttime"));
	st->bundle = dup_member(o, "bundle");
	st->rootfs = dup_member(o, "rootfs");
	st->created = dup_member(o, "created");
	st->annotations_json = json_dumps(json_object_get(o, "annotations"), JSON_COMPACT);
	st->runc = json_is_true(json_object_get(o, "runc"));
	if (load_cgroups(o, st) != 0 || st->bundle == NULL || st->created == NULL) {
		json_decref(o);
		state_free(st);
		snprintf(err, errlen, "container %.256s: state.json is damaged", id);
		return -1;
	}
	json_decref(o);
	return 0;
}

static json_t *state_json(const struct oci_state *st)
{
	json_t *o = json_object(), *cg = json_array(), *ann;

	ann = json_loads(st->annotations_json ? st->annotations_json : "{}", 0, NULL);
	for (size_t i = 0; st->cgroups != NULL && st->cgroups[i] != NULL; i++) {
		json_array_append_new(cg, json_string(st->cgroups[i]));
	}
	json_object_set_new(o, "pid", json_integer(st->pid));
	json_object_set_new(o, "starttime", json_integer((json_int_t)st->starttime));
	json_object_set_new(o, "bundle", json_string(st->bundle));
	json_object_set_new(o, "rootfs", json_string(st->rootfs ? st->rootfs : ""));
	json_object_set_new(o, "created", json_string(st->created));
	json_object_set_new(o, "annotations", ann ? ann : json_object());
	json_object_set_new(o, "cgroups", cg);
	json_object_set_new(o, "runc", json_boolean(st->runc));
	return o;
}

/* Written to a temporary name and renamed: readers never see half a file. */
int state_save(int dirfd, const struct oci_state *st)
{
	json_t *o = state_json(st);
	char *text = json_dumps(o, JSON_COMPACT);
	int fd, rc = -1;

	json_decref(o);
	if (text == NULL) {
		return -1;
	}
	unlinkat(dirfd, "state.json.tmp", 0);
	fd = openat(dirfd, "state.json.tmp", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		size_t n = strlen(text);
		rc = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0 ? 0 : -1;
		close(fd);
		if (rc == 0) {
			rc = renameat(dirfd, "state.json.tmp", dirfd, "state.json");
		}
	}
	free(text);
	return rc;
}

void state_free(struct oci_state *st)
{
	free(st->bundle);
	free(st->rootfs);
	free(st->created);
	free(st->annotations_json);
	for (size_t i = 0; st->cgroups != NULL && st->cgroups[i] != NULL; i++) {
		free(st->cgroups[i]);
	}
	free(st->cgroups);
	st->bundle = st->rootfs = st->created = st->annotations_json = NULL;
	st->cgroups = NULL;
}

enum oci_status state_status(int dirfd, const struct oci_state *st)
{
	if (st->pid <= 0) {
		return ST_CREATING;
	}
	if (proc_starttime(st->pid) != st->starttime || st->starttime == 0) {
		return ST_STOPPED;
	}
	return faccessat(dirfd, "exec.fifo", F_OK, AT_SYMLINK_NOFOLLOW) == 0 ? ST_CREATED
									     : ST_RUNNING;
}

const char *state_status_name(enum oci_status s)
{
	static const char *const names[] = {"creating", "created", "running", "stopped"};

	return names[s];
}

int state_remove(const struct oci_ctx *c, const char *id)
{
	static const char *const files[] = {"state.json", "state.json.tmp", "policy.json",
					    "exec.fifo", "net.json"};
	int dfd = state_dir(c, id);

	if (dfd < 0) {
		return errno == ENOENT ? 0 : -1;
	}
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		unlinkat(dfd, files[i], 0);
	}
	close(dfd);
	return unlinkat(c->rootfd, id, AT_REMOVEDIR);
}
