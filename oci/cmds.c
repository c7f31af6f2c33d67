/* SPDX-License-Identifier: MIT */
/* cmds.c - start, state, kill, delete, ps and features (docs/oci.md, "Commands").
 *
 * The container's processes are those of its cgroups, or, without one, the tree under its
 * init process.  A pid is the container's only while /proc/PID/stat shows the start time
 * recorded by create (pid reuse).  SIGKILL always goes to every process of the container,
 * as it would in a PID namespace whose init dies: nothing of a killed container (broker,
 * assist, monitor) outlives it, with or without --all.  Other signals go to the VMM only, with
 * or without --all: the broker, assist and monitor are parts of it (a SIGTERM to the broker
 * would end the run with "broker died", status 74, instead of the VMM's 143).
 *
 * delete also gives the container's network namespace back its interface's address and
 * routes (netns.c) once every process is gone.
 *
 * Trust: the state directory is ours; the container ID is checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net.h"
#include "oci.h"

struct loaded {
	struct oci_state st;
	int dirfd;
	enum oci_status status;
};

/* Opens and loads container id.  missing_ok: a missing container is not an error (1). */
static int load(const struct oci_ctx *c, const char *id, struct loaded *l, bool missing_ok)
{
	char err[600];

	l->dirfd = -1;
	if (state_valid_id(id) != 0) {
		log_error("invalid container ID '%.256s'", id);
		return -1;
	}
	if ((l->dirfd = state_dir(c, id)) < 0) {
		if (errno == ENOENT && missing_ok) {
			return 1;
		}
		log_error("container %.256s does not exist", id);
		return -1;
	}
	if (state_load(l->dirfd, id, &l->st, err, sizeof err) != 0) {
		close(l->dirfd);
		l->dirfd = -1;
		log_error("%s", err);
		return -1;
	}
	l->status = state_status(l->dirfd, &l->st);
	return 0;
}

static void unload(struct loaded *l)
{
	if (l->dirfd >= 0) {
		close(l->dirfd);
		state_free(&l->st);
	}
	l->dirfd = -1;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* One container ID and nothing else after the options. */
static const char *one_id(int argc, char **argv, const char *cmd)
{
	if (optind != argc - 1) {
		log_error("%s: expected exactly one container ID", cmd);
		return NULL;
	}
	return argv[optind];
}

int cmd_start(struct oci_ctx *c, int argc, char **argv)
{
	struct loaded l;
	const char *id;
	char b = 0;
	int fd, rc = 1;

	optind = 1;
	if ((id = one_id(argc, argv, "start")) == NULL || load(c, id, &l, false) != 0) {
		return 1;
	}
	if (l.status != ST_CREATED) {
		log_error("cannot start container %.256s: it is %s, not created", id,
			  state_status_name(l.status));
		goto out;
	}
	/* Non-blocking open: init has the write end open or is about to; it dies, we see it. */
	fd = openat(l.dirfd, "exec.fifo", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	for (unsigned waited = 0; fd >= 0 && waited < 10000; waited += 20) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 20) > 0 && read(fd, &b, 1) == 1) {
			break;
		}
		if (proc_starttime(l.st.pid) != l.st.starttime) {
			break;
		}
	}
	if (fd >= 0) {
		close(fd);
	}
	if (b != '0') {
		log_error("cannot start container %.256s: its init process is gone", id);
		goto out;
	}
	unlinkat(l.dirfd, "exec.fifo", 0);
	rc = 0;
out:
	unload(&l);
	return rc;
}

int cmd_state(struct oci_ctx *c, int argc, char **argv)
{
	struct loaded l;
	const char *id;
	json_t *o, *ann;
	char *text;

	optind = 1;
	if ((id = one_id(argc, argv, "state")) == NULL || load(c, id, &l, false) != 0) {
		return 1;
	}
	ann = json_loads(l.st.annotations_json ? l.st.annotations_json : "{}", 0, NULL);
	o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:o}", "ociVersion", "1.0.2", "id",
		      id, "status", state_status_name(l.status), "pid",
		      l.status == ST_STOPPED ? 0 : (int)l.st.pid, "bundle", l.st.bundle, "rootfs",
		      l.st.rootfs ? l.st.rootfs : "", "created", l.st.created, "owner", "",
		      "annotations", ann ? ann : json_object());
	text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
	json_decref(o);
	unload(&l);
	if (text == NULL) {
		log_error("out of memory");
		return 1;
	}
	printf("%s\n", text);
	free(text);
	return fflush(stdout) == 0 ? 0 : 1;
}

/* The container's processes: its cgroups', or the tree under init while init lives. */
static int container_pids(const struct loaded *l, pid_t **pids)
{
	if (l->st.cgroups != NULL && l->st.cgroups[0] != NULL) {
		return cg_pids(l->st.cgroups, pids);
	}
	*pids = NULL;
	if (l->st.starttime == 0 || proc_starttime(l->st.pid) != l->st.starttime) {
		return 0; /* init is gone (now, not when the state was loaded) */
	}
	return proc_tree(l->st.pid, pids);
}

static void signal_all(const struct loaded *l, int sig)
{
	pid_t *pids;
	int n;

	if (l->st.cgroups != NULL && l->st.cgroups[0] != NULL) {
		cg_kill_all(l->st.cgroups, sig);
		return;
	}
	n = container_pids(l, &pids);
	for (int i = 0; i < n; i++) {
		kill(pids[i], sig);
	}
	free(pids);
}

int cmd_kill(struct oci_ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {NULL, 0, NULL, 0}};
	struct loaded l;
	int opt, sig = SIGTERM, rc = 1;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "a", opts, NULL)) != -1) {
		if (opt != 'a') { /* --all: see the top of this file */
			log_error("kill: unknown option '%s'", argv[optind - 1]);
			return 1;
		}
	}
	if (optind >= argc || argc - optind > 2 ||
	    (argc - optind == 2 && (sig = parse_signal(argv[optind + 1])) < 0)) {
		log_error("kill: expected ID [SIGNAL] with a signal such as 15, TERM or SIGKILL");
		return 1;
	}
	if (load(c, argv[optind], &l, false) != 0) {
		return 1;
	}
	if (l.status != ST_CREATED && l.status != ST_RUNNING) {
		log_error("container %.256s: container not running", argv[optind]);
	} else if (sig == SIGKILL) {
		signal_all(&l, sig); /* the tree is found from init, so init goes last */
		kill(l.st.pid, sig);
		rc = 0;
	} else {
		rc = kill(l.st.pid, sig) == 0 ? 0 : 1;
		if (rc != 0) {
			log_error("kill %d: %s", (int)l.st.pid, strerror(errno));
		}
	}
	unload(&l);
	return rc;
}

/* Waits up to ms for the container to be empty, killing what is left from grace ms on (a
 * stopped container's monitor is still writing uhyve-sec's end record to the log). */
static bool reap_all(const struct loaded *l, unsigned grace, unsigned ms)
{
	for (unsigned waited = 0;; waited += 10) {
		pid_t *pids;
		int n = container_pids(l, &pids);
		bool init_alive = proc_starttime(l->st.pid) == l->st.starttime && l->st.starttime;
		free(pids);
		if (n <= 0 && !init_alive) {
			return true;
		}
		if (waited >= ms) {
			return false;
		}
		if (waited >= grace && waited % 100 == 0) {
			if (init_alive) {
				kill(l->st.pid, SIGKILL);
			}
			signal_all(l, SIGKILL);
		}
		sleep_ms(10);
	}
}

/* Gives the container interface back to its network namespace (net.json, netns.c): the
 * guest's TAP went with uhyve-sec.  A namespace or interface already gone is fine; a
 * failure is logged and does not stop the delete (the engine could never delete it). */
static void restore_net(const struct loaded *l, const char *id)
{
	char text[16384], err[512];
	int fd = openat(l->dirfd, "net.json", O_RDONLY | O_NOFOLLOW | O_CLOEXEC), rc;
	ssize_t n;

	if (fd < 0) {
		if (errno != ENOENT) {
			log_warn("container %.256s: cannot open net.json: %s", id, strerror(errno));
		}
		return;
	}
	n = read(fd, text, sizeof text);
	close(fd);
	rc = n < 0 || (size_t)n == sizeof text ? -1 : net_restore(text, (size_t)n, err, sizeof err);
	if (rc < 0) {
		log_warn("container %.256s: cannot restore its network namespace: %s", id,
			 n < 0 || (size_t)n == sizeof text ? "net.json unreadable" : err);
	} else {
		log_debug("container %.256s: network namespace %s", id,
			  rc == 0 ? "restored" : "or its interface is gone: nothing to restore");
	}
}

/* What is left of a container whose processes are gone: its network, cgroups and state. */
static int remove_all(const struct oci_ctx *c, const struct loaded *l, const char *id)
{
	restore_net(l, id);
	if (l->st.cgroups != NULL && cg_remove(l->st.cgroups, 2000) != 0) {
		log_error("container %.256s: cannot remove its cgroups", id);
		return 1;
	}
	if (state_remove(c, id) != 0) {
		log_error("container %.256s: cannot remove its state: %s", id, strerror(errno));
		return 1;
	}
	return 0;
}

int cmd_delete(struct oci_ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {{"force", no_argument, NULL, 'f'}, {NULL, 0, NULL, 0}};
	struct loaded l;
	const char *id;
	bool force = false;
	int opt, rc = 1;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		if (opt != 'f') {
			log_error("delete: unknown option '%s'", argv[optind - 1]);
			return 1;
		}
		force = true;
	}
	if ((id = one_id(argc, argv, "delete")) == NULL || (rc = load(c, id, &l, force)) != 0) {
		return rc == 1 ? 0 : 1; /* --force on a missing container: nothing to do */
	}
	rc = 1;
	if ((l.status == ST_CREATED || l.status == ST_RUNNING) && !force) {
		log_error("cannot delete container %.256s: it is %s (use --force)", id,
			  state_status_name(l.status));
	} else if (!reap_all(&l, l.status == ST_STOPPED ? 500 : 0, 5000)) {
		log_error("container %.256s: processes are still running after SIGKILL", id);
	} else {
		rc = remove_all(c, &l, id);
	}
	unload(&l);
	return rc;
}

int cmd_ps(struct oci_ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
					     {NULL, 0, NULL, 0}};
	const char *format = "table", *id;
	struct loaded l;
	pid_t *pids = NULL;
	int opt, n;

	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
		if (opt != 'f' || (strcmp(optarg, "json") && strcmp(optarg, "table"))) {
			log_error("ps: expected [--format table|json] ID");
			return 1;
		}
		format = optarg;
	}
	if ((id = one_id(argc, argv, "ps")) == NULL || load(c, id, &l, false) != 0) {
		return 1;
	}
	n = container_pids(&l, &pids);
	unload(&l);
	if (strcmp(format, "json") == 0) {
		printf("[");
		for (int i = 0; i < n; i++) {
			printf("%s%d", i ? "," : "", (int)pids[i]);
		}
		printf("]\n");
	} else {
		printf("PID\n");
		for (int i = 0; i < n; i++) {
			printf("%d\n", (int)pids[i]);
		}
	}
	free(pids);
	return n < 0 || fflush(stdout) != 0 ? 1 : 0;
}

int cmd_features(struct oci_ctx *c, int argc, char **argv)
{
	(void)c;
	(void)argc;
	(void)argv;
	printf("{\n"
	       "  \"ociVersionMin\": \"1.0.0\",\n"
	       "  \"ociVersionMax\": \"1.2.0\",\n"
	       "  \"hooks\": [],\n"
	       "  \"mountOptions\": [\"bind\", \"rbind\", \"ro\", \"rro\", \"rw\", \"rrw\"],\n"
	       "  \"linux\": {\n"
	       "    \"namespaces\": [],\n"
	       "    \"capabilities\": [],\n"
	       "    \"cgroup\": {\"v1\": true, \"v2\": true, \"systemd\": false, "
	       "\"systemdUser\": false},\n"
	       "    \"seccomp\": {\"enabled\": false},\n"
	       "    \"apparmor\": {\"enabled\": false},\n"
	       "    \"selinux\": {\"enabled\": false}\n"
	       "  },\n"
	       "  \"annotations\": {\n"
	       "    \"org.hermit-os.uhyve-sec-oci.version\": \"%s\",\n"
	       "    \"org.hermit-os.uhyve-sec-oci.annotations\": \"%s %s %s\"\n"
	       "  }\n"
	       "}\n",
	       UHS_VERSION, OCI_ANN_MEMORY, OCI_ANN_CPUS, OCI_ANN_LINUX);
	return fflush(stdout) == 0 ? 0 : 1;
}
