/* SPDX-License-Identifier: MIT */
/* runc.c - containers that are not Hermit kernels, handed to runc (docs/oci.md, "Kubernetes").
 *
 * A pod's sandbox ("pause") container is a Linux program.  When create finds that args[0] is
 * not a Hermit kernel and the container is a pod sandbox (CRI annotation
 * io.kubernetes.cri.container-type or io.kubernetes.cri-o.ContainerType = "sandbox") or asks
 * for it (annotation org.hermit-os.uhyve-sec.linux = "runc"), the container is created by runc
 * with its own state root, <root>/runc, and every later command for that ID is passed on to
 * runc unchanged.  Any other non-Hermit container is an error: a Linux program never runs
 * unconfined by accident.
 *
 * Trust: runc is found in PATH (the engine's), like the engine itself would find it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci.h"

static int find_runc(char *buf, size_t len)
{
	const char *path = getenv("PATH");
	char dirs[4096];
	char *save = NULL;

	snprintf(dirs, sizeof dirs,
		 "%s:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		 path != NULL ? path : "");
	for (char *d = strtok_r(dirs, ":", &save); d != NULL; d = strtok_r(NULL, ":", &save)) {
		if (d[0] == '/' && snprintf(buf, len, "%s/runc", d) < (int)len &&
		    access(buf, X_OK) == 0) {
			return 0;
		}
	}
	return -1;
}

/* runc's global options: ours, with --root <root>/runc.  Strings are copies (for execv). */
static int runc_argv(const struct oci_ctx *c, char **av, const char *root)
{
	const char *g[12];
	int n = 0;

	g[n++] = "runc";
	g[n++] = "--root";
	g[n++] = root;
	if (c->log_path != NULL) {
		g[n++] = "--log";
		g[n++] = c->log_path;
	}
	if (c->log_format != NULL) {
		g[n++] = "--log-format";
		g[n++] = c->log_format;
	}
	if (c->systemd_cgroup) {
		g[n++] = "--systemd-cgroup";
	}
	if (c->debug) {
		g[n++] = "--debug";
	}
	for (int i = 0; i < n; i++) {
		if ((av[i] = strdup(g[i])) == NULL) {
			return -1;
		}
	}
	return n;
}

/* Runs runc CMD ARGS...; with wait, returns its status, else execs it. */
static int run_runc(const struct oci_ctx *c, const char *cmd, int argc, char **argv, bool wait)
{
	char runc[4096], root[4096];
	char **av = calloc((size_t)argc + 16, sizeof *av);
	int n, st;
	pid_t pid;

	if (av == NULL || find_runc(runc, sizeof runc) != 0 ||
	    snprintf(root, sizeof root, "%s/runc", c->root) >= (int)sizeof root ||
	    (n = runc_argv(c, av, root)) < 0 || (av[n++] = strdup(cmd)) == NULL) {
		log_error(
		    "runc is not installed (needed for a container that is not a Hermit kernel)");
		free(av);
		return 1;
	}
	mkdir(root, 0700);
	for (int i = 1; i < argc; i++) {
		av[n++] = argv[i];
	}
	av[n] = NULL;
	if (!wait || (pid = fork()) == 0) {
		execv(runc, av);
		log_error("cannot execute %.256s: %s", runc, strerror(errno));
		_exit(127);
	}
	for (int i = 0; i < n - argc + 1; i++) {
		free(av[i]);
	}
	free(av);
	if (pid < 0 || waitpid(pid, &st, 0) != pid) {
		return 1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

bool runc_owns(const struct oci_ctx *c, const char *id)
{
	struct oci_state st;
	char err[256];
	int dfd = state_valid_id(id) == 0 ? state_dir(c, id) : -1;
	bool owned = false;

	if (dfd >= 0 && state_load(dfd, id, &st, err, sizeof err) == 0) {
		owned = st.runc;
		state_free(&st);
	}
	if (dfd >= 0) {
		close(dfd);
	}
	return owned;
}

int runc_create(const struct oci_ctx *c, int argc, char **argv, const char *id)
{
	char empty[1] = "", runc[4096];
	struct oci_state st = {.bundle = empty, .created = empty, .runc = true};
	int dfd;

	if (find_runc(runc, sizeof runc) != 0) {
		log_error("args[0] is not a Hermit kernel, and runc (which would run this Linux "
			  "container) is not installed: permission denied");
		return 1;
	}
	snprintf(st.id, sizeof st.id, "%s", id);
	if (mkdirat(c->rootfd, id, 0700) != 0 || (dfd = state_dir(c, id)) < 0) {
		log_error("container %.256s: %s", id,
			  errno == EEXIST ? "a container with this ID already exists"
					  : strerror(errno));
		return 1;
	}
	if (state_save(dfd, &st) != 0) {
		close(dfd);
		state_remove(c, id);
		log_error("container %.256s: cannot save its state", id);
		return 1;
	}
	close(dfd);
	log_debug("%s: not a Hermit kernel, handed to runc", id);
	return run_runc(c, "create", argc, argv, false);
}

int runc_forward(const struct oci_ctx *c, const char *cmd, const char *id, int argc, char **argv)
{
	bool force = false;
	int rc;

	if (strcmp(cmd, "delete") != 0) {
		return run_runc(c, cmd, argc, argv, false);
	}
	rc = run_runc(c, cmd, argc, argv, true);
	/* ours goes with runc's, or with --force whatever runc says */
	for (int i = 1; i < argc; i++) {
		force |= strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0;
	}
	if (rc == 0 || force) {
		state_remove(c, id);
	}
	return rc;
}
