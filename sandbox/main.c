/* main.c - uhyve-sec: parse the command line and policy, start the file broker, run the VMM.
 *
 * Process model: this process becomes the VMM.  Before any thread exists it forks the
 * broker (when the policy mounts anything), which alone keeps the host paths and root
 * dirfds.  The VMM keeps only its socket end and the guest mount points, and frees the
 * policy before the guest runs.  When the VMM ends it closes the socket; the broker sees
 * EOF, removes its scratch directory and exits; we reap it.  If the VMM dies, the broker
 * gets SIGTERM (PR_SET_PDEATHSIG) or EOF; if the broker dies, the VMM gets SIGCHLD or EOF
 * and ends the run with status 74.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "assist.h"
#include "broker.h"
#include "confine.h"
#include "policy.h"
#include "vmm.h"

/* Builds the policy from --policy and --mount.  Returns 0 or ST_POLICY after a message. */
static int build_policy(const struct vmm_config *cfg, const char *file, struct policy *pol)
{
	char err[600];

	policy_init(pol);
	if (file != NULL && policy_load_file(pol, file, err, sizeof err) != 0) {
		uhs_msg("%s", err);
		return ST_POLICY;
	}
	for (int i = 0; i < cfg->nmount_specs; i++) {
		if (policy_add_cli_mount(pol, cfg->mount_specs[i], i + 1, err, sizeof err) != 0) {
			uhs_msg("%s", err);
			return ST_POLICY;
		}
	}
	if (policy_validate(pol, err, sizeof err) != 0) {
		uhs_msg("%s", err);
		return ST_POLICY;
	}
	return 0;
}

static int check_policy(const struct vmm_config *cfg)
{
	struct policy pol;
	int rc = build_policy(cfg, cfg->check_policy, &pol);

	if (rc == 0) {
		policy_print(&pol, stdout);
	}
	policy_free(&pol);
	return rc;
}

/* Copies the guest mount points (the only part of the policy the VMM keeps). */
static char **guest_mounts(const struct policy *pol)
{
	char **m = calloc(pol->nmounts + 1, sizeof *m);

	for (size_t i = 0; m != NULL && i < pol->nmounts; i++) {
		if ((m[i] = strdup(pol->mounts[i].guest)) == NULL) {
			return NULL;
		}
	}
	return m;
}

/* Closes every fd above stderr except keep (the --status-fd, or -1). */
static void close_fds_but(int keep)
{
	if (keep < 3) {
		close_range(3, ~0u, 0);
		return;
	}
	if (keep > 3) {
		close_range(3, (unsigned)keep - 1, 0);
	}
	close_range((unsigned)keep + 1, ~0u, 0);
}

/* The end of every run: the --status-fd record, then the process status. */
static int finish(struct vmm_config *cfg, int rc)
{
	fflush(stdout);
	uhs_write_end_record(cfg->status_fd, rc);
	cli_free(cfg);
	return rc;
}

int main(int argc, char *argv[])
{
	extern char **environ;
	struct vmm_config cfg;
	struct policy pol;
	struct vmm_files files = {.ops = &fs_none_ops, .broker_sock = -1};
	struct fs_broker *fsb = NULL;
	char **mounts = NULL;
	pid_t pid = -1;
	int rc, sock = -1;

	/* Whatever the parent left open (a shell's pipes, a leaked directory fd) must not
	 * reach the guest-facing process: only stdio and the --status-fd survive
	 * (CVE-2024-21626 class).  Parsing opens nothing. */
	rc = cli_parse(argc, argv, environ, &cfg);
	close_fds_but(cfg.status_fd);
	if (rc != 0) {
		return finish(&cfg, rc > 0 ? 0 : ST_USAGE);
	}
	if (cfg.check_policy != NULL) {
		return finish(&cfg, check_policy(&cfg));
	}
	if (cfg.print_sandbox) {
		rc = build_policy(&cfg, cfg.policy_path, &pol);
		if (rc == 0) {
			sbx_print(stdout, &pol);
			assist_print_sandbox(stdout);
		}
		policy_free(&pol);
		return finish(&cfg, rc);
	}
	if (!cfg.sandbox) {
		uhs_msg(
		    "WARNING: --sandbox=off: the VMM and the file broker run unconfined (no "
		    "seccomp, Landlock, namespaces or capability drop); a guest that breaks the "
		    "VMM gets your full rights. For debugging only.");
	}
	vmm_block_signals();
	rc = build_policy(&cfg, cfg.policy_path, &pol);
	if (rc == 0 && (pol.nmounts > 0 || pol.scratch)) {
		struct broker_opts bo = {.audit_log = cfg.audit_log,
					 .audit_all = cfg.audit_all,
					 .cpu = cfg.naffinity > 0 ? cfg.affinity[0] : -1,
					 .confine = cfg.sandbox};
		rc = broker_start(&pol, &bo, &sock, &pid);
		if (rc == 0) {
			fsb = fs_broker_new(sock, pol.max_open_files, pol.max_write_bytes);
			mounts = guest_mounts(&pol);
			if (fsb == NULL || mounts == NULL) {
				uhs_msg("out of memory");
				rc = ST_OSERR;
			}
			files = (struct vmm_files){.ops = &fs_broker_ops,
						   .ctx = fsb,
						   .mounts = mounts,
						   .nmounts = (int)pol.nmounts,
						   .broker_pid = pid,
						   .broker_sock = sock,
						   .broker_ready = broker_wait_ready};
		}
	}
	policy_free(&pol); /* the VMM never needs a host path again */
	if (rc == 0) {
		rc = vmm_run(&cfg, &files);
	}
	if (fsb != NULL) {
		fs_broker_free(fsb); /* closes the socket: the broker sees EOF */
	} else if (sock >= 0) {
		close(sock);
	}
	if (pid > 0) {
		broker_reap(pid);
	}
	for (int i = 0; mounts != NULL && mounts[i] != NULL; i++) {
		free(mounts[i]);
	}
	free(mounts);
	return finish(&cfg, rc);
}
