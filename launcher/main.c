/* SPDX-License-Identifier: MIT */
/* main.c - uhyve-sec: parse the command line and policy, start the file broker, run the VMM.
 *
 * Start-up order (acquire, then drop; docs/threat-model.md section 3):
 *   1. close every inherited fd but stdio (and the TAP fd named by --net fd:N); parse the
 *      command line and environment, then uhyve.toml (config.c) under them;
 *   2. a Hermit image (.hermit): parsed by a confined child into a sealed, re-checked blob
 *      (image_parse.c), its hermit.toml applied (image_apply.c); build and validate the
 *      policy (operator input);
 *   3. block the stop signals (before any child or thread);
 *   4. with a mount: fork and exec the broker (uhyve-sec-broker) with the packed policy; it
 *      opens its roots and confines itself while the VMM sets up;
 *   5. free the policy: the VMM never sees a host path; with --net, open and configure the
 *      TAP and create the eventfds (tap.c): the VMM never opens /dev/net/tun;
 *   6. run the VMM (vmm/vm_setup.c: KVM, guest RAM, confinement, then the kernel image);
 *   7. close the broker socket (the broker sees EOF, removes its scratch, exits) and reap it.
 * If the VMM dies the broker gets SIGTERM (parent-death signal) or EOF; if the broker dies
 * the VMM gets SIGCHLD or EOF and ends the run with status 74.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker_sandbox.h"
#include "launcher.h"
#include "sbx.h"
#include "uhs_msg.h"
#include "uhs_status.h"
#include "vmm_gdb.h"
#include "vmm_sandbox.h"
#ifdef UHS_HAVE_ASSIST
#include "assist_sandbox.h"
#endif

/* Builds the policy from --policy and --mount.  Returns 0 or ST_POLICY after a message. */
static int build_policy(const struct launch_config *lc, const char *file, struct policy *pol)
{
	char err[600];

	policy_init(pol);
	if (file != NULL && policy_load_file(pol, file, err, sizeof err) != 0) {
		uhs_msg("%s", err);
		return ST_POLICY;
	}
	for (int i = 0; i < lc->nmount_specs; i++) {
		if (policy_add_cli_mount(pol, lc->mount_specs[i], i + 1, launcher_cwd(), err,
					 sizeof err) != 0) {
			uhs_msg("%s", err);
			return ST_POLICY;
		}
	}
	if (policy_validate(pol, launcher_stat, err, sizeof err) != 0) {
		uhs_msg("%s", err);
		return ST_POLICY;
	}
	return 0;
}

static int check_policy(const struct launch_config *lc)
{
	struct policy pol;
	int rc = build_policy(lc, lc->check_policy, &pol);

	if (rc == 0) {
		policy_print(&pol, stdout);
	}
	policy_free(&pol);
	return rc;
}

/* --print-sandbox: every process's confinement, from the tables the filters are built from. */
static int print_sandbox(const struct launch_config *lc)
{
	struct policy pol;
	int rc = build_policy(lc, lc->policy_path, &pol);

	if (rc == 0) {
		int abi = sbx_landlock_abi();
		printf("Landlock ABI of this kernel: %d (minimum %d)\n", abi, SBX_LANDLOCK_MIN_ABI);
		if (sbx_seccomp_compiled_out()) {
			printf(
			    "THIS IS A SANITIZER BUILD: none of the confinement below is applied "
			    "(the sanitizer runtimes need the syscalls and /proc files it "
			    "forbids)\n");
		}
		printf("\n");
		vmm_print_sandbox(stdout);
		if (lc->has_net) {
			vmm_print_sandbox_net(stdout);
		}
		broker_print_sandbox(stdout, &pol);
		assist_print_sandbox(stdout);
		image_print_sandbox(stdout);
#ifdef UHS_HAVE_ASSIST
		assist_print_process_sandbox(stdout);
#endif
		gdb_print_sandbox(stdout);
	}
	policy_free(&pol);
	return rc;
}

static void free_list(char **m)
{
	for (size_t i = 0; m != NULL && m[i] != NULL; i++) {
		free(m[i]);
	}
	free(m);
}

/* Adds dir to the NULL-terminated list m of n entries unless it is "/" or already there.
 * Returns 0 or -1 (out of memory). */
static int add_mount_dir(char **m, size_t *n, const char *dir, size_t len)
{
	if (len == 0 || (len == 1 && dir[0] == '/')) {
		return 0; /* a kernel cannot mount "/" (uhyve leaves it out too) */
	}
	for (size_t i = 0; i < *n; i++) {
		if (strlen(m[i]) == len && memcmp(m[i], dir, len) == 0) {
			return 0;
		}
	}
	return (m[(*n)++] = strndup(dir, len)) != NULL ? 0 : -1;
}

/* The guest directories a newer kernel mounts from the FDT (/uhyve,mounts), as uhyve lists
 * them: a directory mapping's guest path, a file mapping's guest directory; never "/".  The
 * only part of the policy the VMM keeps. */
static char **guest_mounts(const struct policy *pol, const struct launch_image *li)
{
	size_t n = 0, cap = pol->nmounts + (li->loaded ? li->img.n_entries : 0);
	char **m = calloc(cap + 1, sizeof *m);

	for (size_t i = 0; m != NULL && i < pol->nmounts; i++) {
		const char *g = pol->mounts[i].guest;
		size_t len = pol->mounts[i].file ? (size_t)(strrchr(g, '/') - g) : strlen(g);

		if (add_mount_dir(m, &n, g, len) != 0) {
			free_list(m);
			return NULL;
		}
	}
	if (m != NULL && image_mount_dirs(li, m, &n) != 0) {
		free_list(m);
		return NULL;
	}
	return m;
}

/* Run with a Hermit image in external mode: the broker serves its files at / (read-only). */
static bool external_image(const struct launch_config *lc, const struct launch_image *li)
{
	return li->loaded && lc->image_mode == UHC_IMAGE_EXTERNAL;
}

/* Where a scratch directory goes: --tempdir / uhyve.toml's tempdir (made absolute), else
 * $TMPDIR (if absolute), else /tmp.  NULL after a message if --tempdir is no directory. */
static const char *tmpdir(const struct launch_config *lc, char *buf, size_t cap)
{
	const char *t = getenv("TMPDIR"), *cwd = launcher_cwd();
	struct stat st;

	if (lc->tempdir == NULL) {
		return t != NULL && t[0] == '/' ? t : "/tmp";
	}
	if (lc->tempdir[0] == '/') {
		snprintf(buf, cap, "%s", lc->tempdir);
	} else if (cwd == NULL || snprintf(buf, cap, "%s/%s", cwd, lc->tempdir) >= (int)cap) {
		uhs_msg("tempdir '%s': cannot make it an absolute path", lc->tempdir);
		return NULL;
	}
	if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
		uhs_msg("tempdir '%s': not a directory", lc->tempdir);
		return NULL;
	}
	return buf;
}

/* Step 4: the broker and the VMM's view of it.  Returns 0 or an exit status. */
static int start_files(const struct launch_config *lc, const struct launch_image *li,
		       const struct policy *pol, struct vmm_files *files, char ***mounts)
{
	char tmp[PATH_MAX];
	struct broker_launch bl = {.audit_log = lc->audit_log,
				   .audit_all = lc->audit_all,
				   .cpu = lc->vm.naffinity > 0 ? lc->vm.affinity[0] : -1,
				   .confine = lc->vm.sandbox,
				   .tmpdir = tmpdir(lc, tmp, sizeof tmp),
				   .io_direct = lc->io_mode.direct,
				   .io_sync = lc->io_mode.sync,
				   .image_fd = external_image(lc, li) ? li->blob_fd : -1};
	struct fs_broker *fsb;
	pid_t pid;
	int rc, sock;

	if (bl.tmpdir == NULL) {
		return ST_USAGE;
	}
	if ((rc = broker_start(pol, &bl, &sock, &pid)) != 0) {
		return rc;
	}
	fsb = fs_broker_new(sock, pol->max_open_files, pol->max_write_bytes);
	*mounts = guest_mounts(pol, external_image(lc, li) ? li : &(struct launch_image){0});
	*files = (struct vmm_files){.ops = &fs_broker_ops,
				    .ctx = fsb,
				    .mounts = *mounts,
				    .nmounts = 0,
				    .broker_pid = pid,
				    .broker_sock = sock,
				    .broker_ready = broker_wait_ready};
	if (fsb == NULL || *mounts == NULL) {
		uhs_msg("out of memory");
		return ST_OSERR;
	}
	while ((*mounts)[files->nmounts] != NULL) {
		files->nmounts++;
	}
	return 0;
}

static int run(const struct launch_config *lc, struct launch_image *li)
{
	struct vmm_files files = {.ops = &fs_none_ops, .broker_sock = -1};
	struct vmm_config cfg = lc->vm;
	struct vmm_net net = {.tap_fd = -1, .notify_fd = {-1, -1}, .irq_fd = -1, .stop_fd = -1};
	struct policy pol;
	char **mounts = NULL;
	int rc;

	if (!lc->vm.sandbox) {
		uhs_msg(
		    "WARNING: --sandbox=off: the VMM and the file broker run unconfined (no "
		    "seccomp, Landlock, namespaces or capability drop); a guest that breaks the "
		    "VMM gets your full rights. For debugging only.");
	}
	vmm_block_signals();
	rc = build_policy(lc, lc->policy_path, &pol);
	if (rc == 0 && (lc->gdb_port >= 0 || lc->gdb_socket != NULL)) {
		/* the debugger connects before anything runs; the VMM gets the connected socket */
		rc = gdb_listen_accept(lc->gdb_port, lc->gdb_socket, &cfg.gdb_fd);
	}
	pol.scratch |= lc->tempdir_scratch; /* --tempdir: unmapped creates go there, as in uhyve */
	if (rc == 0 && (pol.nmounts > 0 || pol.scratch || external_image(lc, li))) {
		rc = start_files(lc, li, &pol, &files, &mounts);
	}
	policy_free(&pol); /* the VMM never needs a host path again */
	image_close_fds(li); /* the broker has its copy; the VMM keeps only read-only mappings */
	if (rc == 0 && lc->has_net) {
		rc = net_open(&lc->net, &net);
		cfg.net = &net;
	}
	if (rc == 0) {
		rc = vmm_run(&cfg, &files); /* closes cfg.gdb_fd */
	} else if (cfg.gdb_fd >= 0) {
		close(cfg.gdb_fd);
	}
	net_close(&net);
	if (files.ctx != NULL) {
		fs_broker_free(files.ctx); /* closes the socket: the broker sees EOF */
	} else if (files.broker_sock >= 0) {
		close(files.broker_sock);
	}
	if (files.broker_pid > 0) {
		broker_reap(files.broker_pid);
	}
	free_list(mounts);
	return rc;
}

/* uhyve.toml, the image (parsed confined), the guest's arguments and environment, the run. */
static int prepare_and_run(struct launch_config *lc, char *const envp[])
{
	struct launch_image li;
	int rc = config_apply(lc, envp);

	if (rc == 0) {
		rc = image_load(lc->vm.kernel_path, lc->image_mode == UHC_IMAGE_INTERNAL,
				lc->vm.sandbox, &li);
	} else {
		memset(&li, 0, sizeof li);
		li.blob_fd = li.tar_fd = -1;
	}
	if (rc == 0) {
		rc = image_apply(lc, &li);
	}
	if (rc == 0) {
		rc = cli_finish(lc, envp) != 0 ? ST_USAGE : run(lc, &li);
	}
	image_free(&li);
	return rc;
}

/* Closes every fd above stderr except a and b (the --status-fd and the --net fd:N; -1: none). */
static void close_fds_but(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;
	unsigned next = 3;

	for (int k = 0; k < 2; k++) {
		int fd = k == 0 ? lo : hi;
		if (fd < 3 || (unsigned)fd < next) {
			continue;
		}
		if ((unsigned)fd > next) {
			close_range(next, (unsigned)fd - 1, 0);
		}
		next = (unsigned)fd + 1;
	}
	close_range(next, ~0u, 0);
}

int main(int argc, char *argv[])
{
	extern char **environ;
	struct launch_config lc;
	int rc;

	/* Whatever the parent left open (a shell's pipes, a leaked directory fd) must not
	 * reach the guest-facing process: only stdio, the --status-fd and the TAP an
	 * orchestrator handed over with --net fd:N survive (CVE-2024-21626 class).  Parsing
	 * opens nothing. */
	rc = cli_parse(argc, argv, environ, &lc);
	close_fds_but(lc.status_fd, lc.has_net ? lc.net.fd : -1);
	if (rc != 0) {
		rc = rc > 0 ? 0 : ST_USAGE;
	} else if (lc.check_policy != NULL) {
		rc = check_policy(&lc);
	} else if (lc.print_sandbox) {
		rc = print_sandbox(&lc);
	} else {
		rc = prepare_and_run(&lc, environ);
	}
	/* the end of every run: the --status-fd record, then the process status */
	fflush(stdout);
	uhs_write_end_record(lc.status_fd, rc);
	cli_free(&lc);
	return rc;
}
