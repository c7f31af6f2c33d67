/* SPDX-License-Identifier: MIT */
/* uhyve_toml.h - uhyve.toml, the operator's configuration file, and the value syntax it
 * shares with uhyve's command line (-a, -c, -s, --io-mode, --file-isolation, ...).
 *
 * What it trusts: nothing in the file's bytes (a typo or a hostile file gets a one-line
 * "FILE:LINE:COLUMN: message").  What it may touch: uhc_parse and the value parsers are
 * pure (no I/O, no global state); uhc_lookup decides which file to read from the
 * arguments it is given (environment, cwd, an existence test); uhc_read_file and
 * uhc_path_exists (config/read.c) are the only functions that touch the file system.
 *
 * The file can never carry file mappings, a network, another config file, the kernel or its
 * arguments, or "host" in env_vars (passing the host environment): those keys are refused
 * with a message saying so, so the file can never widen what the guest reaches.  uhyve
 * ignores unknown keys and tables; uhyve-sec refuses them (a typo must not silently drop a
 * setting).  docs in config/README.md.
 */
#ifndef UHS_UHYVE_TOML_H
#define UHS_UHYVE_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UHC_FILE_MAX	 (1U << 20) /* uhc_read_file's default cap: 1 MiB */
#define UHC_AFFINITY_MAX 4096 /* entries in an affinity list */
#define UHC_CPU_ID_MAX	 65535 /* largest host CPU number in an affinity list */
#define UHC_ENV_MAX	 65536 /* entries in [guest] env_vars */
#define UHC_STRING_MAX	 4096 /* bytes of any string value (paths, env entries) */

/* Where a value came from: set = the key was present; line/column of its value. */
struct uhc_src {
	bool set;
	uint32_t line;
	uint32_t column;
};

enum uhc_image_mode { UHC_IMAGE_EXTERNAL = 0, UHC_IMAGE_INTERNAL = 1 };
enum uhc_isolation { UHC_ISOLATION_NONE = 0, UHC_ISOLATION_NORMAL = 1, UHC_ISOLATION_STRICT = 2 };

struct uhc_io_mode {
	bool direct; /* host=direct: O_DIRECT on host files */
	bool sync; /* host=sync: O_SYNC */
};

struct uhc_affinity {
	uint32_t *cpus; /* host CPU numbers in the order given; ranges expanded */
	size_t n;
};

struct uhyve_config {
	/* [uhyve] */
	struct uhc_src output_src;
	char *output; /* a file name; NULL with output_none */
	bool output_none; /* "none" or "None": discard the guest's output */
	struct uhc_src stats_src;
	bool stats;
	struct uhc_src tempdir_src;
	char *tempdir;
	struct uhc_src hermit_image_mode_src;
	enum uhc_image_mode hermit_image_mode;
	struct uhc_src file_isolation_src;
	enum uhc_isolation file_isolation;
	struct uhc_src io_mode_src;
	struct uhc_io_mode io_mode;
	struct uhc_src gdb_port_src;
	uint16_t gdb_port;
	/* [memory] */
	struct uhc_src memory_size_src;
	uint64_t memory_size; /* bytes; checked with uhs_check_memory_size */
	struct uhc_src no_aslr_src;
	bool no_aslr;
	struct uhc_src thp_src;
	bool thp;
	struct uhc_src ksm_src;
	bool ksm;
	/* [cpu] */
	struct uhc_src cpu_count_src;
	uint32_t cpu_count;
	struct uhc_src cpu_pm_src;
	bool cpu_pm;
	struct uhc_src pit_src;
	bool pit;
	struct uhc_src affinity_src;
	struct uhc_affinity affinity;
	/* [guest] */
	struct uhc_src env_vars_src;
	char **env_vars; /* "NAME=VALUE", in file order */
	struct uhc_src *env_var_src; /* where each entry is written */
	size_t n_env_vars;
};

/* Parses len bytes at buf (uhyve.toml text; no NUL needed after it) into cfg, which it
 * initialises first.  name is the file name used in messages.  Returns 0, or -1 with
 * "NAME:LINE:COLUMN: message" in err and cfg empty (uhc_free on it is harmless). */
int uhc_parse(const char *name, const char *buf, size_t len, struct uhyve_config *cfg, char *err,
	      size_t errlen);

void uhc_free(struct uhyve_config *cfg);

/* ---- which file (uhyve's order) ---- */

enum uhc_found {
	UHC_FOUND_NONE = 0, /* no configuration file: use the defaults */
	UHC_FOUND_CLI, /* --config FILE */
	UHC_FOUND_ENV, /* HERMIT_CONFIG */
	UHC_FOUND_CWD, /* CWD/uhyve.toml */
	UHC_FOUND_XDG, /* $XDG_CONFIG_HOME/uhyve/uhyve.toml */
};

/* Decides which configuration file to read, in uhyve's order: cli_config (the --config
 * argument, or NULL), else $HERMIT_CONFIG, else CWD/uhyve.toml if it exists, else
 * $XDG_CONFIG_HOME/uhyve/uhyve.toml if XDG_CONFIG_HOME is set, non-empty and that file
 * exists.  Nothing else: uhyve has no fallback when XDG_CONFIG_HOME is unset (no
 * ~/.config).  A named file (--config, HERMIT_CONFIG) is used whether or not it exists (the
 * reader then fails); an empty one is an error.  envp: the environment (NULL-terminated
 * "NAME=VALUE" array; NULL = empty).  cwd: the current directory (NULL: skip that step, as
 * uhyve does when it cannot get it).  exists(path, ctx): whether path exists, following
 * symlinks (uhc_path_exists, or a test double).  A relative XDG_CONFIG_HOME is taken
 * relative to cwd.  Returns the enum uhc_found and the path in out, or -1 with a message in
 * err (empty name, path longer than outlen). */
int uhc_lookup(const char *cli_config, char *const envp[], const char *cwd,
	       bool (*exists)(const char *path, void *ctx), void *ctx, char *out, size_t outlen,
	       char *err, size_t errlen);

/* ---- the only I/O (config/read.c) ---- */

/* stat() succeeds (symlinks followed): Rust's Path::exists, as uhyve tests. */
bool uhc_path_exists(const char *path, void *ctx);

/* Reads the regular file path (O_CLOEXEC, O_NOCTTY, O_NONBLOCK: a FIFO or device is refused,
 * never waited on) into a malloc'd buffer of *len bytes plus a NUL.  More than cap bytes
 * (0 = UHC_FILE_MAX) is an error.  Returns 0, or -1 with "PATH: reason" in err. */
int uhc_read_file(const char *path, size_t cap, char **buf, size_t *len, char *err, size_t errlen);

/* ---- value syntax shared with the command line; all return 0 or -1 with a reason ---- */

/* Rust's FromStr for unsigned integers: an optional '+', then decimal digits only (no
 * spaces, no sign, no 0x); value <= max. */
int uhc_parse_uint(const char *s, uint64_t max, uint64_t *out, char *err, size_t errlen);

/* -c/--cpu-count and [cpu] cpu_count: 1 .. 2^32-1 (uhyve's NonZero<u32>). */
int uhc_parse_cpu_count(const char *s, uint32_t *out, char *err, size_t errlen);

/* -a/--affinity: items separated by single ',' or ' ' ("0-1,2", "0 1 2"); an item is N or
 * N-M (inclusive).  uhyve-sec refuses an empty item ("0,,1", "0, 1": as uhyve), a reversed
 * range ("3-1": uhyve silently adds nothing), numbers above UHC_CPU_ID_MAX and more than
 * UHC_AFFINITY_MAX CPUs.  Duplicates are kept (uhyve keeps them).  aff->cpus is malloc'd. */
int uhc_parse_affinity(const char *s, struct uhc_affinity *aff, char *err, size_t errlen);

/* --hermit-image-mode: "external" | "internal", any ASCII case (uhyve lower-cases). */
int uhc_parse_image_mode(const char *s, enum uhc_image_mode *out, char *err, size_t errlen);

/* --file-isolation: "none" | "normal" | "strict", any ASCII case. */
int uhc_parse_isolation(const char *s, enum uhc_isolation *out, char *err, size_t errlen);

/* --io-mode: "default", "host=direct", "host=sync", "host=direct,sync" (either order), any
 * ASCII case.  Stricter than uhyve, which treats any string without '=' (even "direct") as
 * default, ignores unknown flags after "host=" and panics on other prefixes. */
int uhc_parse_io_mode(const char *s, struct uhc_io_mode *out, char *err, size_t errlen);

/* -e/--env-vars entry from the file: "NAME=VALUE" with a non-empty NAME (uhyve allows an
 * empty one).  "host" is refused here (allowed only as -e host on the command line). */
int uhc_check_env(const char *s, char *err, size_t errlen);

#endif
