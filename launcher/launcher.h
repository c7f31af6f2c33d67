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

#include "hermit_image.h"
#include "policy.h"
#include "uhyve_toml.h"
#include "vmm.h"

/* --net: which TAP (tap.c). */
#define NET_DEFAULT_TAP "tap10" /* uhyve's default */
struct net_spec {
	char name[16]; /* tap[:NAME] */
	int fd; /* fd:N, or -1 */
};

/* Settings that the command line, the environment and uhyve.toml may each set: every layer
 * fills only what no earlier one set (command line, then HERMIT_* environment, then the file,
 * then the default).  lc->given holds one bit per setting. */
enum lc_given {
	G_MEM = 1u << 0,
	G_CPUS = 1u << 1,
	G_OUTPUT = 1u << 2,
	G_STATS = 1u << 3,
	G_NO_ASLR = 1u << 4,
	G_AFFINITY = 1u << 5,
	G_TEMPDIR = 1u << 6,
	G_IMAGE_MODE = 1u << 7,
	G_ISOLATION = 1u << 8,
	G_IO_MODE = 1u << 9,
	G_THP = 1u << 10,
	G_KSM = 1u << 11,
	G_CPU_PM = 1u << 12,
	G_PIT = 1u << 13,
};

struct launch_config {
	struct vmm_config vm;
	bool has_net; /* -n/--net given: net holds the parsed value */
	struct net_spec net;
	unsigned given; /* enum lc_given */
	bool verbose; /* -v / HERMIT_VERBOSE: accepted, no effect (the kernel log is shown) */
	bool print_sandbox; /* --print-sandbox: print the confinement and exit */
	const char *config_file; /* --config FILE (uhyve.toml), or NULL */
	char *owned_output; /* uhyve.toml's output (vm.output points here) */
	char *tempdir; /* --tempdir / uhyve.toml tempdir: where a scratch directory goes */
	bool tempdir_scratch; /* --tempdir on the command line: unmapped creates go there */
	enum uhc_image_mode image_mode; /* --hermit-image-mode */
	enum uhc_isolation isolation; /* --file-isolation (every value: the strict sandbox) */
	struct uhc_io_mode io_mode; /* --io-mode: O_DIRECT / O_SYNC on host files */
	/* the guest's environment: -e as given (pointers into argv) and uhyve.toml's env_vars,
	 * merged in cli_finish */
	const char **cli_env;
	int ncli_env;
	char **file_env; /* owned */
	size_t nfile_env;
	/* a Hermit image's [input] env_vars (pointers into its blob), under everything else */
	const char *const *image_env;
	size_t nimage_env;
	/* guest arguments after KERNEL (pointers into argv; owned array) */
	char **args;
	int nargs;
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
/* After config_apply (and the image): the guest's environment (image, then uhyve.toml, then
 * -e on top; or -e host), argv[0] and the arguments.  0, or -1 after a message (ST_USAGE). */
int cli_finish(struct launch_config *lc, char *const envp[]);
void cli_free(struct launch_config *lc);
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
/* ---- cli_values.c: values shared by the command line, the environment and uhyve.toml;
 * each prints one line naming `what` and returns -1 when the value is invalid ---- */
/* A guest memory size: uhyve's syntax with binary prefixes ("64M", "4GiB", "1.5 G"),
 * 16 MiB to 64 GiB, a multiple of 2 MiB. */
int lc_set_mem(struct vmm_config *cfg, const char *s, const char *what);
int lc_check_mem(struct vmm_config *cfg, uint64_t bytes, const char *what);
/* A vCPU count: uhyve's syntax (digits, an optional '+'), 1 to CFG_MAX_CPUS. */
int lc_set_cpus(struct vmm_config *cfg, const char *s, const char *what);
int lc_check_cpus(struct vmm_config *cfg, uint64_t n, const char *what);
/* A host CPU list ("0-1,2", "0 1 2"): every CPU must be one this process may run on. */
int lc_set_affinity(struct vmm_config *cfg, const char *s, const char *what);
int lc_check_affinity(struct vmm_config *cfg, const uint32_t *cpus, size_t n, const char *what);
/* 1/0, true/false, yes/no, on/off (any case) or empty (false). */
int lc_set_bool(bool *b, const char *s, const char *what);
/* Adds "NAME=VALUE" to the guest environment; an entry with the same NAME is replaced. */
int lc_env_put(struct vmm_config *cfg, const char *kv);
/* An -e value: "NAME=VALUE" with a non-empty NAME, or "host". */
int lc_check_env(const char *kv, const char *what);

/* ---- config.c ---- */
/* Finds uhyve.toml in uhyve's order (--config, HERMIT_CONFIG, ./uhyve.toml,
 * $XDG_CONFIG_HOME/uhyve/uhyve.toml), reads it and fills what the command line and the
 * environment left unset.  Returns 0 (also without a file), or ST_POLICY after a one-line
 * "FILE:LINE:COLUMN: ..." message. */
int config_apply(struct launch_config *lc, char *const envp[]);

/* ---- image_parse.c: Hermit images ---- */
struct launch_image {
	bool is_image; /* KERNEL is a gzip'd Hermit image */
	bool loaded; /* img is valid (borrowed from blob) */
	int blob_fd; /* the sealed memfd of the validated blob (for the broker), or -1 */
	const uint8_t *blob; /* its read-only mapping */
	size_t blob_len;
	int tar_fd; /* --hermit-image-mode internal: the sealed memfd of the tar, or -1 */
	const uint8_t *tar;
	size_t tar_len;
	struct hermit_image img;
};
/* If the file at path is a Hermit image (gzip), parses it in a confined child (confine:
 * --sandbox=strict) into li; internal: also the decompressed tar.  Returns 0 (also for an
 * ELF or unreadable file: li->is_image false, the VMM deals with it), or an exit status after
 * a one-line message (65 for a refused image). */
int image_load(const char *path, bool internal, bool confine, struct launch_image *li);
void image_free(struct launch_image *li);
/* Closes the two memfds (their read-only mappings stay). */
void image_close_fds(struct launch_image *li);
/* --print-sandbox: the parser child's confinement. */
void image_print_sandbox(FILE *f);
/* image_apply.c: what a loaded image means for the run: its [requirements] against -m and -c
 * (a shortfall is an error, status 64), its kernel_args (and -- app_args) when the command
 * line gives no guest arguments, its env_vars under everything else (not with -e host), the
 * kernel bytes, the tar for internal mode.  Returns 0 or an exit status after a message. */
int image_apply(struct launch_config *lc, const struct launch_image *li);
/* The guest directories of an external image a newer kernel mounts (/uhyve,mounts): every
 * directory that directly holds a file, never "/", appended to the NULL-terminated list m of
 * *n entries (room for img.n_entries more).  0 or -1 (out of memory). */
int image_mount_dirs(const struct launch_image *li, char **m, size_t *n);

/* ---- cli_env.c ---- */
/* The HERMIT_* variables of envp fill what the command line left unset. */
int cli_env_apply(struct launch_config *lc, char *const envp[]);

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
	bool io_direct, io_sync; /* --io-mode host=direct / host=sync: O_DIRECT / O_SYNC */
	int image_fd; /* a Hermit image's sealed blob memfd to serve at / (external), or -1 */
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
