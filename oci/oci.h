/* SPDX-License-Identifier: MIT */
/* oci.h - internal API of uhyve-sec-oci, the OCI runtime that runs Hermit containers under
 * uhyve-sec (docs/oci.md).
 *
 * Trust: the bundle (config.json and the root file system) is untrusted input: spec.c parses
 * it with size, type and depth limits, rootfs.c resolves args[0] inside root.path without
 * leaving it, translate.c turns it into a uhyve-sec command line and a JSON policy.  The
 * engine's command line (container ID, paths) is trusted as far as the engine is.  The end
 * record read back from uhyve-sec (monitor in create.c) comes from a process that ran guest
 * code and is parsed as untrusted.
 *
 * Modules: spec.c and translate.c and hermit_elf_check() are pure (no system calls); the
 * rest touches the host.
 */
#ifndef UHS_OCI_H
#define UHS_OCI_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- limits on config.json (spec.c) ---- */
#define OCI_CONFIG_MAX	  (4u << 20) /* bytes */
#define OCI_DEPTH_MAX	  32 /* nesting of objects and arrays */
#define OCI_ARRAY_MAX	  4096 /* elements of any array we read */
#define OCI_STRING_MAX	  65536 /* bytes of any string we read */
#define OCI_PATH_MAX	  4095
#define OCI_MOUNTS_MAX	  1024 /* mounts in config.json */
#define OCI_GUEST_ENV_MAX 128 /* uhyve-sec -e values (its UH_MAX_ARGC_ENVC) */
#define OCI_GUEST_ARG_MAX 127 /* guest arguments after argv[0] */
#define OCI_BINDS_MAX	  63 /* policy mounts besides the rootfs (policy: 64 in all) */

/* Guest RAM the VMM needs besides the guest's own, inside a memory limit: the VMM, the file
 * broker and the instruction assist (Unicorn's code cache), plus the kernel image's page
 * cache (added per run). Measured peak here: 9-26 MiB (docs/oci.md). */
#define OCI_VMM_OVERHEAD (32ull << 20)
#define OCI_GUEST_MIN	 (16ull << 20)
#define OCI_GUEST_MAX	 (64ull << 30)

/* Annotations the runtime reads (docs/oci.md). */
#define OCI_ANN_MEMORY "org.hermit-os.uhyve-sec.memory"
#define OCI_ANN_CPUS   "org.hermit-os.uhyve-sec.cpus"
#define OCI_ANN_LINUX  "org.hermit-os.uhyve-sec.linux" /* "runc": hand non-Hermit to runc */

struct oci_mount {
	char *dest;
	char *source; /* NULL when absent */
	char *type; /* NULL when absent */
	bool bind; /* type "bind" or option bind/rbind */
	bool ro; /* option ro/rro (the last of ro/rw wins) */
};

struct oci_rlimit {
	int resource; /* RLIMIT_* */
	uint64_t soft, hard;
};

struct oci_spec {
	char *oci_version;
	char *root_path;
	char **args;
	size_t nargs;
	char **env;
	size_t nenv;
	bool terminal;
	unsigned console_rows, console_cols; /* process.consoleSize, 0 if absent */
	struct oci_mount *mounts;
	size_t nmounts;
	struct oci_rlimit *rlimits;
	size_t nrlimits;
	char *cgroups_path; /* NULL when absent */
	bool has_mem_limit;
	int64_t mem_limit; /* linux.resources.memory.limit; <= 0 means none */
	bool has_cpu_quota;
	int64_t cpu_quota; /* linux.resources.cpu.quota; <= 0 means none */
	uint64_t cpu_period;
	char *cpuset_cpus, *cpuset_mems; /* NULL when absent */
	bool has_pids_limit;
	int64_t pids_limit;
	char *ann_memory, *ann_cpus, *ann_linux; /* our annotations, NULL when absent */
	bool pod_sandbox; /* CRI annotations mark a pod sandbox (pause) container */
	char *annotations_json; /* the annotations object re-serialised ("{}" if none) */
	bool has_netns; /* linux.namespaces has "network" */
	char *netns_path; /* its path (absolute), NULL for a new namespace */
};

/* Parses config.json text (len bytes).  Returns 0, or -1 with a one-line reason in err.
 * Unknown keys are ignored (OCI); known keys of the wrong type, arrays longer than
 * OCI_ARRAY_MAX, strings longer than OCI_STRING_MAX (paths: OCI_PATH_MAX), embedded NULs,
 * nesting deeper than OCI_DEPTH_MAX and hooks are errors. */
int spec_parse(const char *buf, size_t len, struct oci_spec *s, char *err, size_t errlen);
void spec_free(struct oci_spec *s);
/* Nesting depth of a JSON text (objects and arrays), counted outside strings. */
unsigned spec_json_depth(const char *buf, size_t len);

/* ---- spec to uhyve-sec (translate.c) ---- */
enum src_kind { SRC_DIR, SRC_FILE, SRC_MISSING };

struct oci_facts {
	const char *kernel_host; /* resolved host path of args[0] */
	uint64_t kernel_size;
	const char *rootfs_host; /* canonical host path of root.path */
	const char *bundle; /* absolute bundle directory (relative bind sources) */
	const char *policy_path; /* where the policy will be written */
	int status_fd; /* --status-fd number */
	/* The guest's network (net.h): NULL, or HERMIT_IP=, HERMIT_GATEWAY=, HERMIT_MASK= values
	 * that replace the spec's and go with --net fd:net_fd. */
	const char *const *net_env;
	int net_fd;
	/* What a bind source is (follows symlinks, as mount(2) would).  */
	enum src_kind (*source_kind)(const char *path, void *ctx);
	void *source_ctx;
	/* Debug lines ("mount /proc (proc) skipped: ...").  May be NULL. */
	void (*debug)(void *ctx, const char *line);
	void *debug_ctx;
};

struct oci_plan {
	char **argv; /* uhyve-sec command line, argv[0] = "uhyve-sec"; NULL-terminated */
	size_t argc;
	char *policy_json; /* the generated policy (docs/policy.md) */
	uint64_t guest_mem; /* -m value, 0 = uhyve-sec's default */
	unsigned vcpus; /* -c value */
	char *affinity; /* --affinity value or NULL */
};

/* Builds the plan.  Returns 0, or -1 with a one-line reason in err. */
int translate(const struct oci_spec *s, const struct oci_facts *f, struct oci_plan *p, char *err,
	      size_t errlen);
void plan_free(struct oci_plan *p);
/* Parses a cpuset list "0-3,6"; returns the number of CPUs, or -1. */
int cpuset_count(const char *s);
/* "512M", "2G", "1048576": binary units, optional B/iB.  Returns 0 or -1. */
int parse_size(const char *s, uint64_t *out);

/* ---- Hermit kernel check (hermit.c) ---- */
/* Is the image (len bytes at buf, at least the headers and notes) a Hermit kernel: a 64-bit
 * x86_64 ELF executable with OSABI 0xff (standalone) or a HERMIT entry-version note in a
 * PT_NOTE segment?  why gets a short reason when it is not. */
bool hermit_elf_check(const uint8_t *buf, size_t len, char *why, size_t whylen);
/* The same on an open file (reads at most the first 1 MiB). */
bool hermit_fd_check(int fd, char *why, size_t whylen);

/* ---- uhyve-sec's end record (endrec.c; README "--status-fd") ---- */
enum endrec_kind { END_NONE, END_GUEST, END_DONE, END_ERROR, END_BAD };
struct endrec {
	enum endrec_kind kind;
	int status; /* the process status it reports */
	char what[24]; /* END_ERROR: the kind word ("nokvm", "signal", ...) */
	char msg[600]; /* END_ERROR: the message, sanitised */
};
/* Parses what uhyve-sec wrote (len bytes, untrusted: a compromised VMM may write anything):
 * exactly one line "uhyve-sec-end 1 ...\n" of printable ASCII.  len 0 is END_NONE. */
void endrec_parse(const char *buf, size_t len, struct endrec *r);

/* ---- log (log.c): --log FILE, --log-format json|text, --debug ---- */
enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
struct oci_log {
	int fd; /* -1: stderr */
	bool json;
	bool debug;
};
extern struct oci_log g_log;
int log_open(const char *path, const char *format, bool debug);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_vmsg(enum log_level lvl, const char *fmt, va_list ap);
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
/* Formats into buf for messages the engine shows: double quotes become single quotes and
 * backslashes slashes (conmon 2.1.6 passes them on unescaped), control bytes '?'. */
void log_sanitize(char *s);

/* ---- rootfs (rootfs.c) ---- */
/* Opens args0 inside the root directory rootfd (RESOLVE_IN_ROOT: absolute symlinks and ".."
 * stay inside).  Returns an O_RDONLY fd of a regular file, or -errno (-ENOENT, -EACCES,
 * -EISDIR for anything but a regular file, -ELOOP, -EXDEV...). */
int rootfs_open_kernel(int rootfd, const char *args0);
/* The host path of an open fd (readlink of /proc/self/fd/N) into buf.  Returns 0 or -1. */
int fd_path(int fd, char *buf, size_t len);

/* ---- state (state.c): <root>/<id>/ ---- */
enum oci_status { ST_CREATING, ST_CREATED, ST_RUNNING, ST_STOPPED };
struct oci_state {
	char id[1025];
	pid_t pid;
	uint64_t starttime; /* /proc/PID/stat field 22, against pid reuse */
	char *bundle;
	char *rootfs;
	char *created; /* RFC 3339 */
	char *annotations_json;
	char **cgroups; /* cgroup directories we made, NULL-terminated */
	bool runc; /* handed to runc (runc.c) */
};
struct oci_ctx {
	const char *root; /* --root */
	int rootfd;
	bool systemd_cgroup;
	bool no_cgroups; /* --cgroup-manager disabled */
	const char *log_path, *log_format;
	bool debug;
	char **orig_argv; /* for the runc hand-off */
	int orig_argc;
};
int state_valid_id(const char *id);
int state_open_root(struct oci_ctx *c);
/* Opens <root>/<id> (O_PATH|O_DIRECTORY); -1 with errno ENOENT if it does not exist. */
int state_dir(const struct oci_ctx *c, const char *id);
int state_load(int dirfd, const char *id, struct oci_state *st, char *err, size_t errlen);
int state_save(int dirfd, const struct oci_state *st);
void state_free(struct oci_state *st);
enum oci_status state_status(int dirfd, const struct oci_state *st);
const char *state_status_name(enum oci_status s);
/* Removes <root>/<id> and the files we put there. */
int state_remove(const struct oci_ctx *c, const char *id);
uint64_t proc_starttime(pid_t pid); /* 0 if gone or a zombie */
void rfc3339_now(char *buf, size_t len);

/* ---- cgroups (cgroup.c) ---- */
struct cg_limits {
	int64_t mem; /* <= 0: none */
	int64_t pids; /* <= 0: none */
	int64_t cpu_quota; /* <= 0: none */
	uint64_t cpu_period;
	const char *cpus, *mems;
};
/* Resolves cgroupsPath (cgroupfs "/a/b" or relative, or systemd "slice:prefix:name") in
 * every mounted hierarchy (v1 controllers, the v2 unified one), creates the directories and
 * writes the limits.  dirs gets a NULL-terminated list.  Returns 0 or -1 with err. */
int cg_create(const char *cgpath, bool systemd, const struct cg_limits *lim, char ***dirs,
	      char *err, size_t errlen);
/* Moves the calling process into every directory.  Returns 0 or -1 with err. */
int cg_join(char *const *dirs, char *err, size_t errlen);
/* Appends the pids of the cgroups (deduplicated) to *pids; returns their number or -1. */
int cg_pids(char *const *dirs, pid_t **pids);
/* SIGKILL for every process in them (cgroup.kill where there is one). */
void cg_kill_all(char *const *dirs, int sig);
/* rmdir of every directory, retrying for up to ms milliseconds while busy. */
int cg_remove(char *const *dirs, unsigned ms);

/* ---- processes (proc.c) ---- */
/* The process tree under pid (pid first), from /proc/PID/task/TID/children.  Returns the
 * count or -1. */
int proc_tree(pid_t pid, pid_t **pids);
int parse_signal(const char *s);

/* ---- commands ---- */
int cmd_create(struct oci_ctx *c, int argc, char **argv);
int cmd_start(struct oci_ctx *c, int argc, char **argv);
int cmd_state(struct oci_ctx *c, int argc, char **argv);
int cmd_kill(struct oci_ctx *c, int argc, char **argv);
int cmd_delete(struct oci_ctx *c, int argc, char **argv);
int cmd_ps(struct oci_ctx *c, int argc, char **argv);
int cmd_features(struct oci_ctx *c, int argc, char **argv);
/* The runc hand-off: exec runc for a container created through it. */
bool runc_owns(const struct oci_ctx *c, const char *id);
int runc_forward(const struct oci_ctx *c, const char *cmd, const char *id, int argc, char **argv);
/* Creates the container with runc (exec, returns only on failure). */
int runc_create(const struct oci_ctx *c, int argc, char **argv, const char *id);
/* Finds uhyve-sec next to this binary into buf.  Returns 0 or -1. */
int vmm_path(char *buf, size_t len);

#endif
