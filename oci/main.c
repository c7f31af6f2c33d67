/* SPDX-License-Identifier: MIT */
/* main.c - uhyve-sec-oci: an OCI runtime (runc's command line) that runs Hermit containers
 * in uhyve-sec (docs/oci.md).
 *
 *   uhyve-sec-oci [--root DIR] [--log FILE] [--log-format json|text] [--debug]
 *                 [--systemd-cgroup] [--cgroup-manager cgroupfs|systemd|disabled]
 *                 COMMAND [OPTIONS] ID ...
 *
 * Trust: the command line comes from the engine (podman/conmon, containerd's shim).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci.h"

#ifndef UHS_OCI_VMM_REL
#define UHS_OCI_VMM_REL "uhyve-sec"
#endif

static void usage(FILE *f)
{
	fputs("Usage: uhyve-sec-oci [GLOBAL OPTIONS] COMMAND [OPTIONS] ID\n"
	      "An OCI runtime for Hermit unikernels: each container's args[0] is a Hermit\n"
	      "kernel in the image, run by uhyve-sec (docs/oci.md).\n"
	      "\n"
	      "Commands:\n"
	      "  create --bundle DIR --pid-file FILE [--console-socket SOCK] ID\n"
	      "  start ID           state ID           delete [--force] ID\n"
	      "  kill [--all] ID [SIGNAL]              ps [--format table|json] ID\n"
	      "  features\n"
	      "  exec, pause, resume, update, checkpoint, restore: not supported (error)\n"
	      "\n"
	      "Global options:\n"
	      "  --root DIR            state directory (default /run/uhyve-sec-oci, or\n"
	      "                        $XDG_RUNTIME_DIR/uhyve-sec-oci when not root)\n"
	      "  --log FILE            log file (default stderr)\n"
	      "  --log-format FORMAT   text (default) or json\n"
	      "  --debug               also log debug lines\n"
	      "  --systemd-cgroup      cgroupsPath is slice:prefix:name\n"
	      "  --cgroup-manager M    cgroupfs (default), systemd, or disabled (no cgroups)\n"
	      "  -v, --version         print the version\n"
	      "  -h, --help            print this help\n",
	      f);
}

int vmm_path(char *buf, size_t len)
{
	static const char *const rel[] = {"uhyve-sec", "../uhyve-sec", UHS_OCI_VMM_REL};
	char exe[4096];
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
	for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
		int w = snprintf(buf, len, "%s/%s", exe, rel[i]);
		if (w > 0 && (size_t)w < len && access(buf, X_OK) == 0) {
			return 0;
		}
	}
	return -1;
}

static int parse_global(int argc, char **argv, struct oci_ctx *c)
{
	static const struct option opts[] = {
	    {"root", required_argument, NULL, 'r'},
	    {"log", required_argument, NULL, 'l'},
	    {"log-format", required_argument, NULL, 'f'},
	    {"debug", no_argument, NULL, 'd'},
	    {"systemd-cgroup", no_argument, NULL, 's'},
	    {"cgroup-manager", required_argument, NULL, 'm'},
	    {"rootless", required_argument, NULL, 'x'},
	    {"version", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			c->root = optarg;
			break;
		case 'l':
			c->log_path = optarg;
			break;
		case 'f':
			c->log_format = optarg;
			break;
		case 'd':
			c->debug = true;
			break;
		case 's':
			c->systemd_cgroup = true;
			break;
		case 'm':
			c->no_cgroups = strcmp(optarg, "disabled") == 0;
			c->systemd_cgroup |= strcmp(optarg, "systemd") == 0;
			break;
		case 'x':
			break; /* --rootless: we work the same either way */
		case 'v':
			printf("uhyve-sec-oci version %s\nspec: 1.0.2\n", UHS_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			log_error("unknown global option '%s' (try --help)", argv[optind - 1]);
			return 1;
		}
	}
	return -1; /* go on */
}

/* The container ID of a command line (for the runc hand-off): the first word that is not an
 * option or an option's value. */
static const char *find_id(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--format") == 0 || strcmp(argv[i], "-f") == 0) {
			i++;
		} else if (argv[i][0] != '-') {
			return argv[i];
		}
	}
	return NULL;
}

static int unsupported(const char *cmd)
{
	static const struct {
		const char *cmd, *why;
	} tab[] = {
	    {"exec", "a Hermit container is one unikernel in a VM: there is no second process to "
		     "start (no shell, no kubectl exec)"},
	    {"pause", "uhyve-sec cannot freeze a running VM"},
	    {"resume", "uhyve-sec cannot freeze a running VM"},
	    {"update", "the VM's memory and vCPUs are fixed when it starts"},
	    {"checkpoint", "there are no VM snapshots"},
	    {"restore", "there are no VM snapshots"},
	};

	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		if (strcmp(cmd, tab[i].cmd) == 0) {
			log_error("%s is not supported by uhyve-sec-oci: %s", cmd, tab[i].why);
			return 1;
		}
	}
	log_error("unknown command '%.64s' (try --help)", cmd);
	return 1;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct oci_ctx *, int, char **);
	} cmds[] = {{"create", cmd_create},    {"start", cmd_start},   {"state", cmd_state},
		    {"kill", cmd_kill},	       {"delete", cmd_delete}, {"ps", cmd_ps},
		    {"features", cmd_features}};
	struct oci_ctx c = {.rootfd = -1, .orig_argv = argv, .orig_argc = argc};
	const char *cmd, *id;
	int rc = parse_global(argc, argv, &c);

	if (rc >= 0) {
		return rc;
	}
	if (log_open(c.log_path, c.log_format, c.debug) != 0) {
		return 1;
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "features") == 0) {
		return cmd_features(&c, argc, argv);
	}
	if (state_open_root(&c) != 0) {
		return 1;
	}
	id = find_id(argc, argv);
	if (strcmp(cmd, "create") != 0 && id != NULL && runc_owns(&c, id)) {
		return runc_forward(&c, cmd, id, argc, argv);
	}
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		if (strcmp(cmd, cmds[i].name) == 0) {
			return cmds[i].fn(&c, argc, argv);
		}
	}
	return unsupported(cmd);
}
