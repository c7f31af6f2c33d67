/* SPDX-License-Identifier: MIT */
/* create.c - `uhyve-sec-oci create --bundle DIR --pid-file FILE [--console-socket SOCK] ID`.
 *
 * Checks the bundle, gives the guest the network of the container's network namespace when
 * config.json names one (netns.c; net.json records it for delete), translates it
 * (translate.c), validates the generated policy with the
 * same code uhyve-sec uses, makes the cgroups and the exec FIFO, forks the container's init
 * process (init.c) and returns once it is ready, with the pid file written.  A container
 * whose args[0] is not a Hermit kernel is an error, or, for a pod sandbox (Kubernetes' pause
 * container) or with the annotation OCI_ANN_LINUX=runc, handed to runc (runc.c).
 *
 * Trust: config.json and the root file system are untrusted (see oci.h); the engine's
 * options are not.  Errors are worded for podman: "no such file or directory" (exit 127) for
 * a missing args[0], "permission denied" (126) where the kernel refused access.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "create.h"
#include "policy.h"

struct create_opts {
	const char *bundle, *pid_file, *console, *id;
};

static int parse_opts(int argc, char **argv, struct create_opts *o)
{
	static const struct option opts[] = {
	    {"bundle", required_argument, NULL, 'b'},
	    {"pid-file", required_argument, NULL, 'p'},
	    {"console-socket", required_argument, NULL, 'c'},
	    {"preserve-fds", required_argument, NULL, 'f'},
	    {"no-pivot", no_argument, NULL, 'n'},
	    {"no-new-keyring", no_argument, NULL, 'k'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	memset(o, 0, sizeof *o);
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "b:", opts, NULL)) != -1) {
		switch (opt) {
		case 'b':
			o->bundle = optarg;
			break;
		case 'p':
			o->pid_file = optarg;
			break;
		case 'c':
			o->console = optarg;
			break;
		case 'f':
			log_debug("--preserve-fds %s ignored: uhyve-sec keeps no inherited fds",
				  optarg);
			break;
		case 'n':
		case 'k':
			break;
		default:
			log_error("create: unknown option '%s'", argv[optind - 1]);
			return -1;
		}
	}
	if (optind != argc - 1) {
		log_error("create: expected exactly one container ID");
		return -1;
	}
	o->id = argv[optind];
	return 0;
}

static char *read_config(int bundlefd, size_t *len, char *err, size_t errlen)
{
	int fd = openat(bundlefd, "config.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t got = 0;

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		int e = fd < 0 ? errno : EINVAL;
		snprintf(err, errlen, "config.json in the bundle: %s",
			 e == ELOOP    ? "is a symbolic link"
			 : e == EINVAL ? "not a regular file"
				       : strerror(e));
		goto out;
	}
	if (st.st_size > (off_t)OCI_CONFIG_MAX || (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "config.json: larger than %u bytes", OCI_CONFIG_MAX);
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n <= 0) {
			snprintf(err, errlen, "config.json: read error");
			free(buf);
			buf = NULL;
			goto out;
		}
		got += (size_t)n;
	}
	*len = got;
out:
	if (fd >= 0) {
		close(fd);
	}
	return buf;
}

static int load_bundle(struct job *j, const char *bundle, char *err, size_t errlen)
{
	char *text;
	size_t len = 0;
	int bfd, rc;

	if (realpath(bundle, j->bundle) == NULL ||
	    (bfd = open(j->bundle, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		int e = errno;
		snprintf(err, errlen, "bundle %.256s: %s", bundle, strerror(e));
		return -1;
	}
	text = read_config(bfd, &len, err, errlen);
	rc = text != NULL ? spec_parse(text, len, &j->spec, err, errlen) : -1;
	free(text);
	if (rc == 0) {
		/* root.path: absolute (podman) or relative to the bundle (containerd) */
		j->rootfd = openat(bfd, j->spec.root_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (j->rootfd < 0 || fd_path(j->rootfd, j->rootfs, sizeof j->rootfs) != 0) {
			int e = errno;
			snprintf(err, errlen, "root.path %.256s: %s", j->spec.root_path,
				 strerror(e));
			rc = -1;
		}
	}
	close(bfd);
	return rc;
}

/* args[0] inside the rootfs.  Returns 0, 1 (not a Hermit kernel: why says so) or -1. */
static int open_kernel(struct job *j, char *why, size_t whylen, char *err, size_t errlen)
{
	const char *a0 = j->spec.args[0];
	int fd = rootfs_open_kernel(j->rootfd, a0);

	if (fd == -ENOENT || fd == -ENOTDIR) {
		snprintf(err, errlen,
			 "args[0] '%.256s' in the container: no such file or directory", a0);
		return -1;
	}
	if (fd == -EACCES || fd == -EPERM) {
		snprintf(err, errlen, "args[0] '%.256s' in the container: permission denied", a0);
		return -1;
	}
	if (fd < 0) {
		snprintf(err, errlen, "args[0] '%.256s' in the container: %s", a0,
			 fd == -EISDIR ? "not a regular file" : strerror(-fd));
		return -1;
	}
	j->kfd = fd;
	if (fd_path(fd, j->kernel, sizeof j->kernel) != 0) {
		snprintf(err, errlen, "args[0] '%.256s': cannot tell its host path", a0);
		return -1;
	}
	return hermit_fd_check(fd, why, whylen) ? 0 : 1;
}

static int fail_msg(char *err, size_t errlen, const char *msg)
{
	snprintf(err, errlen, "%s", msg);
	return -1;
}

static enum src_kind source_kind(const char *path, void *ctx)
{
	struct stat st;

	(void)ctx;
	if (stat(path, &st) != 0) {
		return SRC_MISSING;
	}
	return S_ISDIR(st.st_mode) ? SRC_DIR : SRC_FILE;
}

static void debug_line(void *ctx, const char *line)
{
	(void)ctx;
	log_debug("%s", line);
}

/* Writes policy.json into the container directory and checks it as uhyve-sec will. */
static int write_policy(struct job *j, const char *path, char *err, size_t errlen)
{
	int fd = openat(j->dirfd, "policy.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t n = strlen(j->plan.policy_json);
	struct policy pol;
	char perr[600];
	int rc;

	if (fd < 0 || write(fd, j->plan.policy_json, n) != (ssize_t)n) {
		snprintf(err, errlen, "cannot write %.256s", path);
		if (fd >= 0) {
			close(fd);
		}
		return -1;
	}
	close(fd);
	/* the same text through the same parser and checks as uhyve-sec's (host paths are
	 * absolute: no base directory is needed) */
	policy_init(&pol);
	rc = policy_load_buffer(&pol, path, j->plan.policy_json, n, "/", perr, sizeof perr);
	if (rc == 0) {
		rc = policy_validate(&pol, stat, perr, sizeof perr);
	}
	policy_free(&pol);
	if (rc != 0) {
		snprintf(err, errlen, "file policy from config.json: %s", perr);
	}
	return rc;
}

/* The guest's network: the namespace is set up (netns.c) and recorded in net.json. */
static int make_net(struct job *j, char *err, size_t errlen)
{
	char *text;
	size_t n;
	int fd, rc;

	if (j->net.ns_fd < 0) {
		return 0;
	}
	if ((rc = net_setup(&j->net, err, errlen)) != 0) {
		if (rc == 1) {
			log_debug(
			    "network namespace %s has no interface but loopback: the guest has "
			    "no network",
			    j->spec.netns_path);
		}
		return rc < 0 ? -1 : 0;
	}
	net_guest_env(&j->net.cfg, j->net_env);
	log_debug("network: %s (MTU %u) given to the guest through " NET_TAP_NAME ": %s %s %s",
		  j->net.cfg.ifname, j->net.cfg.mtu, j->net_env[0], j->net_env[1], j->net_env[2]);
	text = net_save(&j->net.cfg);
	fd = openat(j->dirfd, "net.json", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	n = text != NULL ? strlen(text) : 0;
	rc = text != NULL && fd >= 0 && write(fd, text, n) == (ssize_t)n ? 0 : -1;
	if (fd >= 0) {
		close(fd);
	}
	free(text);
	return rc == 0 ? 0 : fail_msg(err, errlen, "cannot write net.json");
}

static int make_plan(struct job *j, char *err, size_t errlen)
{
	char policy[4200], root[4096];
	const char *net_env[3] = {j->net_env[0], j->net_env[1], j->net_env[2]};
	struct stat st;
	struct oci_facts f = {.kernel_host = j->kernel,
			      .rootfs_host = j->rootfs,
			      .bundle = j->bundle,
			      .policy_path = policy,
			      .status_fd = 3,
			      .source_kind = source_kind,
			      .debug = debug_line,
			      .net_env = j->net.tap_fd >= 0 ? net_env : NULL,
			      .net_fd = NET_TAP_FD};

	if (fstat(j->kfd, &st) != 0 || fd_path(j->ctx->rootfd, root, sizeof root) != 0) {
		snprintf(err, errlen, "cannot stat args[0] or --root");
		return -1;
	}
	f.kernel_size = (uint64_t)st.st_size;
	snprintf(policy, sizeof policy, "%s/%s/policy.json", root, j->id);
	if (translate(&j->spec, &f, &j->plan, err, errlen) != 0) {
		return -1;
	}
	for (j->kernel_arg = 0; j->plan.argv[j->kernel_arg] != NULL; j->kernel_arg++) {
		if (strcmp(j->plan.argv[j->kernel_arg], "--argv0") == 0) {
			j->kernel_arg += 3; /* --argv0 NAME -- KERNEL */
			break;
		}
	}
	return write_policy(j, policy, err, errlen);
}

static int make_cgroups(struct job *j, char *err, size_t errlen)
{
	const struct oci_spec *s = &j->spec;
	struct cg_limits lim = {
	    .mem = s->has_mem_limit ? s->mem_limit : 0,
	    .pids = s->has_pids_limit ? s->pids_limit : 0,
	    .cpu_quota = s->has_cpu_quota ? s->cpu_quota : 0,
	    .cpu_period = s->cpu_period,
	    .cpus = s->cpuset_cpus != NULL && s->cpuset_cpus[0] ? s->cpuset_cpus : NULL,
	    .mems = s->cpuset_mems != NULL && s->cpuset_mems[0] ? s->cpuset_mems : NULL,
	};

	if (j->ctx->no_cgroups || s->cgroups_path == NULL || s->cgroups_path[0] == '\0') {
		log_debug("no cgroup: %s", j->ctx->no_cgroups ? "--cgroup-manager disabled"
							      : "config.json has no cgroupsPath");
		return 0;
	}
	return cg_create(s->cgroups_path, j->ctx->systemd_cgroup, &lim, &j->cgroups, err, errlen);
}

/* The pid file: written to a temporary name in the same directory, then renamed. */
static int write_pid_file(const char *path, pid_t pid)
{
	char tmp[PATH_MAX], text[32];
	int fd, n = snprintf(text, sizeof text, "%d", (int)pid);

	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		return -1;
	}
	if (write(fd, text, (size_t)n) != n || close(fd) != 0) {
		unlink(tmp);
		return -1;
	}
	return rename(tmp, path);
}

static int save_state(struct job *j, pid_t pid)
{
	struct oci_state st = {.pid = pid,
			       .starttime = proc_starttime(pid),
			       .bundle = j->bundle,
			       .rootfs = j->rootfs,
			       .annotations_json = j->spec.annotations_json,
			       .cgroups = j->cgroups};
	char when[48];

	rfc3339_now(when, sizeof when);
	st.created = when;
	snprintf(st.id, sizeof st.id, "%s", j->id);
	return st.starttime == 0 ? -1 : state_save(j->dirfd, &st);
}

static void job_free(struct job *j, bool failed)
{
	if (failed) {
		net_undo(&j->net); /* the init process, which held the TAP too, is gone */
	}
	net_job_free(&j->net);
	if (failed && j->cgroups != NULL) {
		cg_remove(j->cgroups, 0);
	}
	for (size_t i = 0; j->cgroups != NULL && j->cgroups[i] != NULL; i++) {
		free(j->cgroups[i]);
	}
	free(j->cgroups);
	if (failed && j->made_dir) {
		state_remove(j->ctx, j->id);
	}
	const int fds[] = {j->rootfd, j->kfd, j->dirfd, j->pty_slave};

	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		if (fds[i] >= 0) {
			close(fds[i]);
		}
	}
	spec_free(&j->spec);
	plan_free(&j->plan);
}

/* Everything up to the fork.  Returns 0, 1 (hand to runc), or -1 with err. */
static int prepare(struct job *j, const struct create_opts *o, char *err, size_t errlen)
{
	char why[160];
	int rc;

	if (load_bundle(j, o->bundle != NULL ? o->bundle : ".", err, errlen) != 0 ||
	    (rc = open_kernel(j, why, sizeof why, err, errlen)) < 0) {
		return -1;
	}
	if (rc == 1) {
		bool runc = j->spec.pod_sandbox ||
			    (j->spec.ann_linux != NULL && strcmp(j->spec.ann_linux, "runc") == 0);
		if (runc) {
			return 1;
		}
		snprintf(err, errlen,
			 "args[0] '%.256s' is not a Hermit kernel: %s; uhyve-sec-oci runs Hermit "
			 "unikernels only",
			 j->spec.args[0], why);
		return -1;
	}
	if (vmm_path(j->vmm, sizeof j->vmm) != 0) {
		snprintf(err, errlen, "uhyve-sec is not installed next to uhyve-sec-oci");
		return -1;
	}
	if (j->spec.netns_path != NULL) {
		if (net_open_ns(j->spec.netns_path, &j->net, err, errlen) != 0) {
			return -1;
		}
	} else {
		log_debug("%s: the guest has no network",
			  j->spec.has_netns ? "a new network namespace" : "no network namespace");
	}
	if (mkdirat(j->ctx->rootfd, o->id, 0700) != 0) {
		int e = errno;
		snprintf(err, errlen, "container %.256s: %s", o->id,
			 e == EEXIST ? "a container with this ID already exists" : strerror(e));
		return -1;
	}
	j->made_dir = true;
	if ((j->dirfd = state_dir(j->ctx, o->id)) < 0 || make_net(j, err, errlen) != 0 ||
	    make_plan(j, err, errlen) != 0 || make_cgroups(j, err, errlen) != 0) {
		return -1;
	}
	if (mkfifoat(j->dirfd, "exec.fifo", 0600) != 0) {
		snprintf(err, errlen, "cannot create exec.fifo: %s", strerror(errno));
		return -1;
	}
	if (j->spec.terminal != (o->console != NULL)) {
		snprintf(err, errlen, "%s",
			 j->spec.terminal ? "process.terminal needs --console-socket"
					  : "--console-socket without process.terminal");
		return -1;
	}
	return o->console != NULL ? console_setup(j, o->console, err, errlen) : 0;
}

int cmd_create(struct oci_ctx *c, int argc, char **argv)
{
	struct create_opts o;
	struct job j = {.ctx = c,
			.rootfd = -1,
			.kfd = -1,
			.dirfd = -1,
			.pty_slave = -1,
			.net = {.ns_fd = -1, .tap_fd = -1}};
	char err[1024] = "";
	pid_t pid;
	int rc;

	if (parse_opts(argc, argv, &o) != 0) {
		return 1;
	}
	if (state_valid_id(o.id) != 0) {
		log_error("invalid container ID '%.256s'", o.id);
		return 1;
	}
	j.id = o.id;
	rc = prepare(&j, &o, err, sizeof err);
	if (rc == 1) {
		job_free(&j, true);
		return runc_create(c, argc, argv, o.id);
	}
	pid = rc == 0 ? init_spawn(&j, err, sizeof err) : -1;
	if (pid > 0 && (save_state(&j, pid) != 0 ||
			(o.pid_file != NULL && write_pid_file(o.pid_file, pid) != 0))) {
		snprintf(err, sizeof err, "cannot write the state or --pid-file %.256s: %s",
			 o.pid_file ? o.pid_file : "", strerror(errno));
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	if (pid < 0) {
		log_error("%s", err);
		job_free(&j, true);
		return 1;
	}
	log_debug("created %s: init pid %d, %s", o.id, (int)pid, j.kernel);
	job_free(&j, false);
	return 0;
}
