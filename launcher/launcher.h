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
#include "uhyve_toml.h"
#include "vmm.h"

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

/* ---- stdio_guard.c ---- */
/* Opens /dev/null on whichever of fds 0-2 is closed (so no later open takes the number a
 * guest reads or writes as stdio).  Returns 0, or -1 if that failed. */
int lc_stdio_guard(void);

/* ---- guest_words.c ---- */
/* A Hermit image's hermit.toml [input] kernel_args and app_args as the guest's words, as
 * uhyve uses them: only when the command line gave no words after KERNEL, and then as
 * "KERNEL_ARGS -- APP_ARGS" (the "--" only with app_args), which the VMM splits into the
 * kernel's command line and the application's arguments.  The strings are borrowed (they
 * must outlive the run); the array is lc->args (freed by cli_free).  Call before cli_finish.
 * Returns 0, or -1 after a message (out of memory). */
int lc_image_words(struct launch_config *lc, const char *const *kernel_args, size_t nkernel,
		   const char *const *app_args, size_t napp);

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

/* ---- broker_spawn.c ---- */
struct broker_launch {
	const char *audit_log; /* NULL: stderr */
	bool audit_all; /* log allowed operations too */
	int cpu; /* >= 0: run the broker on this host CPU (next to vCPU 0) */
	bool confine; /* --sandbox=strict */
	const char *tmpdir; /* absolute: where a scratch directory goes */
	bool io_direct, io_sync; /* --io-mode host=direct / host=sync: O_DIRECT / O_SYNC */
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
