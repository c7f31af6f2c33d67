/* SPDX-License-Identifier: MIT */
/* create.h - what `create` (create.c) hands to the container's init process (init.c). */
#ifndef UHS_OCI_CREATE_H
#define UHS_OCI_CREATE_H

#include "net.h"
#include "oci.h"

struct job {
	const struct oci_ctx *ctx;
	const char *id;
	struct oci_spec spec;
	struct oci_plan plan;
	size_t kernel_arg; /* index of KERNEL in plan.argv */
	char vmm[4096]; /* uhyve-sec */
	char bundle[4096]; /* absolute */
	char rootfs[4096]; /* canonical host path */
	char kernel[4096]; /* canonical host path of args[0] */
	int rootfd, kfd; /* rootfs directory, args[0] (O_RDONLY) */
	int dirfd; /* <root>/<id> */
	char **cgroups; /* NULL-terminated, or NULL */
	int pty_slave; /* -1 without a terminal */
	bool made_dir;
	struct net_job net; /* the guest's network (net.h); net.tap_fd -1 without one */
	char net_env[3][40]; /* HERMIT_IP=, HERMIT_GATEWAY=, HERMIT_MASK= */
};

/* Forks the init process: it joins the container's network namespace and the cgroups, takes the
 * terminal, applies the rlimits, reports through the pipe, waits on exec.fifo for `start`, forks
 * the monitor and becomes uhyve-sec.  Returns its pid, or -1 with err (then nothing is left
 * running). */
pid_t init_spawn(struct job *j, char *err, size_t errlen);
/* Creates the pty for process.terminal and sends its master to the engine's console socket.
 * Returns 0 (j->pty_slave set) or -1 with err. */
int console_setup(struct job *j, const char *sock_path, char *err, size_t errlen);

#endif
