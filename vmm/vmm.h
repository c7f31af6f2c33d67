/* vmm.h - internal API of the uhyve-sec VMM (everything outside gmem and the ELF loader).
 *
 * Users inside vmm/ should not need any other project header except gmem.h, elf_load.h and
 * uhyve_abi.h.  The VMM never sees host paths of the guest's files: file operations go
 * through struct fs_ops (fsops below), whose implementation lives outside the VMM.
 */
#ifndef UHS_VMM_H
#define UHS_VMM_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "elf_load.h"
#include "gmem.h"
#include "uhyve_abi.h"

#include "status.h"

/* CLOCK_MONOTONIC in nanoseconds (vDSO: no syscall, allowed after confinement). */
uint64_t uhs_now_ns(void);

/* Prints "uhyve-sec: <message>\n" to stderr. */
void uhs_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the message and exits with `status`. */
__attribute__((noreturn, format(printf, 2, 3))) void uhs_die(int status, const char *fmt, ...);
/* --status-fd: the run's status is the guest's own exit code (vm_run calls this). */
void uhs_note_guest_exit(void);
/* Writes the end record for process status `status` to fd (nothing if fd < 0): "guest N",
 * "done 0" (nothing ran), or "error STATUS KIND LAST-MESSAGE" (README "--status-fd"). */
void uhs_write_end_record(int fd, int status);

/* ---- configuration (cli.c) ---- */
#define CFG_MAX_CPUS	256
#define CFG_MIN_MEM	(16ull << 20)
#define CFG_DEFAULT_MEM (64ull << 20)
#define CFG_MAX_MEM	(64ull << 30)
#define CFG_ENV_PAD_MIN 8 /* v1 environment padding for kernel 0.6.x, see cmdsize */

struct vmm_config {
	const char *kernel_path;
	char *const *args; /* guest arguments after KERNEL */
	int nargs;
	char **env; /* "KEY=VALUE" strings from -e (owned) */
	int nenv;
	uint64_t mem_size;
	unsigned cpus;
	bool verbose; /* show the kernel log (serial port output) */
	bool stats;
	bool aslr;
	const char *output; /* NULL: stdout; "none"; or a file to create */
	int affinity[CFG_MAX_CPUS]; /* --affinity: host CPUs; vCPU i runs on affinity[i % n] */
	int naffinity; /* 0: no pinning */
	bool assist; /* --assist=auto (default): complete rejected instructions */
	bool sandbox; /* --sandbox=strict (default); false: --sandbox=off */
	bool print_sandbox; /* --print-sandbox: print the confinement and exit */
	/* file-system policy (interpreted by policy/, never by the VMM) */
	const char **mount_specs; /* --mount / --file-mapping values, in order (owned array) */
	int nmount_specs;
	const char *policy_path; /* --policy */
	const char *check_policy; /* --check-policy: validate, print, exit */
	const char *audit_log; /* --audit-log FILE (default stderr) */
	bool audit_all; /* --audit=all: also log allowed operations */
	int status_fd; /* --status-fd N: end record written there; -1 without */
	const char *argv0; /* --argv0 NAME: the guest's argv[0] (default KERNEL) */
};

/* Parses argv and the HERMIT_* environment into cfg.  Returns 0 to run, 1 when --help or
 * --version was handled (exit 0), or -1 after printing a one-line error (exit ST_USAGE). */
int cli_parse(int argc, char *const argv[], char *const envp[], struct vmm_config *cfg);
void cli_free(struct vmm_config *cfg);
/* Parses "512M", "8G", "64MiB", "1048576"...; returns 0 or -1. */
int cli_parse_size(const char *s, uint64_t *out);
void cli_usage(FILE *f);

/* ---- guest layout (layout.c) ---- */
struct vm_layout {
	uint32_t iface; /* hypercall interface version: 1, or 2/3 (v2 call set) */
	int legacy_mapping; /* map the whole first 1 GiB region (hermit-abi.md b.3) */
	uint64_t guest_address; /* GPA of the start of RAM */
	uint64_t mem_size;
	uint64_t load_addr; /* GPA of the first PT_LOAD */
	uint64_t entry; /* guest RIP */
	uint64_t image_end; /* load_addr + span */
};

/* Chooses where RAM and the kernel go (hermit-abi.md a.2).  `rnd` is a random value used
 * for ASLR.  Returns 0, or -1 with a one-line reason in err. */
int layout_choose(const struct elf_image *img, uint64_t mem_size, bool aslr, uint64_t rnd,
		  struct vm_layout *lay, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Writes GDT and identity-mapping page tables (with the recursive PML4 slot) into RAM. */
int layout_write_tables(struct gmem *m, const struct vm_layout *lay)
    __attribute__((warn_unused_result));

struct boot_params {
	unsigned cpus;
	uint32_t tsc_khz; /* 0 = unknown */
	int64_t boot_time_ns; /* ns since the epoch */
	const char *bootargs; /* FDT /chosen/bootargs */
	char *const *mounts; /* FDT /uhyve,mounts (guest paths) */
	int nmounts;
};
int layout_write_boot_info(struct gmem *m, const struct vm_layout *lay, const struct elf_image *img,
			   const struct boot_params *bp) __attribute__((warn_unused_result));
/* Builds the FDT with libfdt into buf (cap bytes).  Returns 0 or -1. */
int layout_build_fdt(void *buf, size_t cap, const struct vm_layout *lay,
		     const struct boot_params *bp) __attribute__((warn_unused_result));
/* Builds "[env=K=V ...] -- [args...]" (shell-quoted words) into a malloc'd string. */
char *layout_bootargs(const struct vmm_config *cfg);

/* ---- file operations seen by hypercalls (fs_none.c now, the broker later) ----
 * Every function returns >= 0 on success or -errno (positive errno values equal Hermit's). */
struct uh_v2_file_attr;
struct fs_ops {
	int (*open)(void *ctx, const char *path, int flags, uint32_t mode); /* guest fd >= 3 */
	int (*close)(void *ctx, int fd);
	ssize_t (*readv)(void *ctx, int fd, const struct iovec *iov, int iovcnt);
	ssize_t (*writev)(void *ctx, int fd, const struct iovec *iov, int iovcnt);
	int64_t (*lseek)(void *ctx, int fd, int64_t off, int whence);
	int (*unlink)(void *ctx, const char *path);
	int (*mkdir)(void *ctx, const char *path, uint32_t mode);
	int (*stat)(void *ctx, const char *path, bool nofollow, struct uh_v2_file_attr *out);
	int (*fstat)(void *ctx, int fd, struct uh_v2_file_attr *out);
	ssize_t (*getdents)(void *ctx, int fd, void *buf, size_t len); /* 0 = end */
	/* Optional: wake and fail every operation still waiting (VM shutdown). */
	void (*stop)(void *ctx);
};
/* The file system when nothing is mounted: paths do not exist, creation is refused. */
extern const struct fs_ops fs_none_ops;

/* A fs_ops result meaning "the broker is gone or broke protocol": the VM must end with
 * ST_BROKER.  Never a valid -errno. */
#define FS_LOST (-100000)

/* The broker client (fs_broker.c): guest fd table plus requests over the broker socket.
 * Limits: at most max_open guest fds, at most max_write bytes written (0 = unlimited). */
struct fs_broker;
struct fs_broker *fs_broker_new(int sock, unsigned max_open, uint64_t max_write);
void fs_broker_free(struct fs_broker *b);
/* Why the broker was lost (for the message), or NULL. */
const char *fs_broker_lost_reason(const struct fs_broker *b);
extern const struct fs_ops fs_broker_ops;

/* Everything the VMM is told about files: how to reach them and the guest mount points (for
 * the FDT `uhyve,mounts` node).  Host paths never reach the VMM. */
struct vmm_files {
	const struct fs_ops *ops;
	void *ctx;
	char *const *mounts; /* normalised guest paths */
	int nmounts;
	int broker_pid; /* > 0: a broker process whose death ends the VM */
	int broker_sock; /* its socket, for the seccomp filter; -1 without a broker */
	/* Waits until the broker serves (called before confinement); 0 or an exit status. */
	int (*broker_ready)(int sock, int pid);
};

/* Blocks the signals the VMM's main thread waits for; call before any thread or child. */
void vmm_block_signals(void);
/* Runs the VM described by cfg (vm_main.c).  Returns the process exit status. */
int vmm_run(const struct vmm_config *cfg, const struct vmm_files *files);

/* ---- output sink (output.c): serial bytes and guest writes to fd 1/2 ---- */
struct output {
	int fd; /* -1: discard */
	bool show_serial; /* print the serial port (kernel log); otherwise only scan it */
	int panic_seen; /* a "panicked at" line went through */
	char line[256]; /* tail of the current line, for panic detection */
	size_t line_len;
	char byte_buf[256]; /* byte-serial buffering */
	size_t byte_len;
};
/* Opens the sink described by `spec` (NULL = stdout, "none", or a new file). */
int output_open(struct output *o, const char *spec, char *err, size_t errlen);
void output_write(struct output *o, const void *buf, size_t len);
void output_writev(struct output *o, const struct iovec *iov, int iovcnt);
void output_byte(struct output *o, uint8_t b);
/* Serial-port data (the guest kernel's log): printed only with show_serial. */
void output_serial_writev(struct output *o, const struct iovec *iov, int iovcnt);
void output_flush(struct output *o);
void output_close(struct output *o);

/* ---- hypercalls (hc.c) ---- */
enum hc_action { HC_CONTINUE, HC_EXIT, HC_VIOLATION, HC_FATAL };

struct hc_stats {
	uint64_t count[64]; /* per table entry */
};

/* What the dispatcher needs from the VM; shared by all vCPUs (read-only after boot except
 * the output, which is locked by the caller's output lock). */
struct hc_vm {
	struct gmem *mem;
	const struct fs_ops *fs;
	void *fs_ctx;
	struct output *out;
	void (*out_lock)(struct hc_vm *vm, bool lock);
	const char *argv0; /* kernel path */
	char *const *args;
	int nargs;
	char *const *env;
	int nenv;
	uint32_t iface;
	uint32_t pci_addr; /* last value written to 0xCF8 (racy by design, like real hardware) */
	uint8_t pic[2][2]; /* 8259 register file (split irqchip): [master/slave][cmd/data] */
};

/* One exit's worth of context from a vCPU. */
struct hc_call {
	struct hc_vm *vm;
	unsigned vcpu;
	uint64_t rdi;
	int (*get_cr3)(void *opaque, uint64_t *cr3); /* lazily, for v1 GVA buffers */
	void *opaque;
	struct hc_stats *stats;
	/* results */
	int exit_code; /* with HC_EXIT; with HC_FATAL the process status */
	bool lost; /* a file operation found the broker gone (FS_LOST) */
	char msg[200]; /* with HC_VIOLATION: one-line reason */
};

/* Handles a port I/O exit.  `data` points at the exit's data bytes (size 1, 2 or 4, count
 * 1); for `in` the handler fills it.  Returns what the vCPU must do next. */
enum hc_action hc_port_io(struct hc_call *c, uint16_t port, bool out, uint8_t size, uint8_t *data);
/* Handles an MMIO exit the same way. */
enum hc_action hc_mmio(struct hc_call *c, uint64_t addr, bool write, uint32_t len, uint8_t *data);
/* Name of hypercall table entry i, or NULL past the end (for --stats). */
const char *hc_name(unsigned i);
unsigned hc_count(void);

#endif
