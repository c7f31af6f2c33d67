/* SPDX-License-Identifier: MIT */
/* launcher.h - the uhyve-sec program: command line, start-up order, helper processes.
 *
 * Trust: the launcher runs with the caller's rights, before any confinement, and reads only
 * operator input (the command line, the environment, the policy file).  It never parses
 * guest-controlled bytes: the kernel image is parsed by the VMM after it confined itself.
 * It may include every folder's public headers (it is the top of the tree). */
#ifndef UHS_LAUNCHER_H
#define UHS_LAUNCHER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "policy.h"
#include "vmm.h"

/* --net: which TAP (tap.c). */
#define NET_DEFAULT_TAP "tap10" /* uhyve's default */
struct net_spec {
	char name[16]; /* tap[:NAME] */
	int fd; /* fd:N, or -1 */
};

struct launch_config {
	struct vmm_config vm;
	bool has_net; /* -n/--net given: net holds the parsed value */
	struct net_spec net;
	bool print_sandbox; /* --print-sandbox: print the confinement and exit */
	/* file-system policy (interpreted by policy/, never by the VMM) */
	const char **mount_specs; /* --mount / --file-mapping values, in order (owned array) */
	int nmount_specs;
	const char *policy_path; /* --policy */
	const char *check_policy; /* --check-policy: validate, print, exit */
	const char *audit_log; /* --audit-log FILE (default stderr) */
	bool audit_all; /* --audit=all: also log allowed operations */
	int status_fd; /* --status-fd N: end record written there; -1 without */
	int gdb_port; /* -s/--gdb-port, HERMIT_GDB_PORT: 0-65535 (0: any free port); -1: none */
	const char *gdb_socket; /* --gdb-socket PATH: a 0600 Unix socket instead */
};

/* ---- cli.c ---- */
/* Parses argv and the HERMIT_* environment.  Returns 0 to run, 1 when --help or --version
 * was handled (exit 0), or -1 after printing a one-line error (exit ST_USAGE). */
int cli_parse(int argc, char *const argv[], char *const envp[], struct launch_config *lc);
void cli_free(struct launch_config *lc);
/* Parses "512M", "8G", "64MiB", "1048576"...; returns 0 or -1. */
int cli_parse_size(const char *s, uint64_t *out);
void cli_usage(FILE *f);

/* ---- gdb_listen.c: the debugger's connection (issue 15) ---- */
#define GDB_DEFAULT_PORT 6677 /* uhyve's -s without a value */
/* A port value of -s/--gdb-port or HERMIT_GDB_PORT ("what" names it in the message).  Returns
 * 0, or -1 after a message. */
int gdb_parse_port(const char *s, const char *what, int *port);
/* Listens on 127.0.0.1 and ::1 at `port` (path NULL) or on a new Unix socket at `path` (mode
 * 0600, must not exist; removed again), waits for one connection (a stop signal ends the
 * wait with 128+N; call after vmm_block_signals), and returns 0 with the connected socket
 * (non-blocking, close-on-exec) in *fd, or an exit status after a message. */
int gdb_listen_accept(int port, const char *path, int *fd);

/* ---- policy_file.c: the host side of the policy ---- */
/* Reads a JSON policy file (regular, at most 1 MiB) and parses it with policy_load_buffer,
 * relative host paths relative to the file's directory.  Returns 0, or -1 with
 * "FILE:LINE:COLUMN: message" (or "FILE: message") in err. */
int policy_load_file(struct policy *p, const char *path, char *err, size_t errlen);
/* The current directory (for relative --mount HOST), or NULL if it cannot be had. */
const char *launcher_cwd(void);
/* stat(2), for policy_validate(). */
int launcher_stat(const char *path, struct stat *st);

/* ---- tap.c ---- */
/* Parses a --net value (tap, tap:NAME, fd:N).  Returns 0 or -1 after a one-line message. */
int net_parse_spec(const char *spec, struct net_spec *out);
/* Opens or adopts the TAP, configures it (12-byte vnet header, TUN_F_CSUM where accepted) and
 * creates the eventfds, all close-on-exec.  Call before vmm_run (before any confinement).
 * Returns 0, or ST_NET (TAP missing, busy or unusable) / ST_OSERR after a one-line message;
 * on failure nothing stays open. */
int net_open(const struct net_spec *s, struct vmm_net *n);
void net_close(struct vmm_net *n);

/* ---- broker_spawn.c ---- */
struct broker_launch {
	const char *audit_log; /* NULL: stderr */
	bool audit_all; /* log allowed operations too */
	int cpu; /* >= 0: run the broker on this host CPU (next to vCPU 0) */
	bool confine; /* --sandbox=strict */
	const char *tmpdir; /* absolute: where a scratch directory goes */
};

/* Forks and execs the broker with its end of a SOCK_SEQPACKET socketpair and the packed
 * policy.  Call before any thread exists.  Returns 0 with the VMM's socket end and the
 * broker's pid, or a process exit status after printing why.  The broker opens its roots and
 * confines itself while the VMM sets up the guest; broker_wait_ready() then waits for it. */
int broker_start(const struct policy *pol, const struct broker_launch *o, int *sock, pid_t *pid);
/* Waits for the broker's READY message.  Returns 0, or the broker's exit status (it printed
 * why) after reaping it. */
int broker_wait_ready(int sock, pid_t pid);
/* Waits for the broker to exit after the VMM closed its socket (no zombie, no orphan).
 * Returns its exit status, or -1 if it was already reaped. */
int broker_reap(pid_t pid);

#endif
