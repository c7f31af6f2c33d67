/* SPDX-License-Identifier: MIT */
/* vmm.h - the public interface of the VMM library (vmm/): what the launcher needs to run a
 * guest.  The VMM runs guest code and is untrusted once the guest has started: it never sees
 * a host path of the guest's files (file operations go through struct fs_ops, implemented by
 * the broker client), and it confines itself before the first KVM_RUN (vmm_sandbox.h).
 */
#ifndef UHS_VMM_H
#define UHS_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <sys/uio.h>

/* ---- configuration (parsed by the launcher) ---- */
#define CFG_MAX_CPUS	256
#define CFG_MIN_MEM	(16ull << 20)
#define CFG_DEFAULT_MEM (64ull << 20)
#define CFG_MAX_MEM	(64ull << 30)
#define CFG_ENV_PAD_MIN 8 /* v1 environment padding for kernel 0.6.x, see cmdsize */

/* ---- networking (--net): everything the launcher prepared before confinement ----
 * The VMM never opens /dev/net/tun: it gets the configured TAP and the eventfds that it
 * registers with KVM (ioeventfd on the queue notify registers, irqfd) while it sets up. */
struct vmm_net {
	int tap_fd; /* IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, 12-byte header, O_NONBLOCK */
	int notify_fd[2]; /* eventfds: RX (queue 0) and TX (queue 1) notifications */
	int irq_fd; /* eventfd: the device's interrupt (irqfd) */
	int stop_fd; /* eventfd: wakes the VMM's I/O thread when the VM stops */
	uint8_t mac[6]; /* the TAP's own MAC address (uhyve's choice) */
	uint16_t mtu; /* the TAP's MTU */
	bool csum; /* the TAP took TUN_F_CSUM: offer VIRTIO_NET_F_CSUM */
	char name[16]; /* interface name, for messages */
};

struct vmm_config {
	const char *kernel_path;
	const char *argv0; /* the guest's argv[0]: --argv0 NAME, default KERNEL as given */
	char *const *args; /* guest arguments after KERNEL */
	int nargs;
	char **env; /* "KEY=VALUE" strings from -e (owned) */
	int nenv;
	uint64_t mem_size;
	unsigned cpus;
	bool stats;
	bool aslr;
	const char *output; /* NULL: stdout; "none"; or a file to create */
	int affinity[CFG_MAX_CPUS]; /* --affinity: host CPUs; vCPU i runs on affinity[i % n] */
	int naffinity; /* 0: no pinning */
	bool assist; /* --assist=auto (default) or exits: complete rejected instructions */
	bool assist_jit; /* --assist=auto: on a KVM that emulates CPL-0 code, run guest code in
			  * the assist by default (JIT mode); false with --assist=exits */
	bool assist_jit_pit; /* --assist=jit: JIT mode with --pit too (experimental) */
	bool sandbox; /* --sandbox=strict (default); false: --sandbox=off */
	const struct vmm_net *net; /* --net: a virtio-net NIC; NULL: none */
	int gdb_fd; /* a debugger's connected socket (launcher/gdb_listen.c), -1: none; vmm_run
		     * owns it and closes it */
	bool thp; /* --thp: transparent huge pages for guest RAM (MADV_HUGEPAGE) */
	bool ksm; /* --ksm: same-page merging of guest RAM (MADV_MERGEABLE) */
	bool pit; /* --pit: an in-kernel i8254 PIT (needs the full in-kernel irqchip) */
	bool cpu_pm; /* --cpu-pm: the guest's HLT/PAUSE/MWAIT/C-states do not exit */
	/* A Hermit image: its kernel, from the launcher's checked blob (a read-only mapping that
	 * outlives the run), or NULL: kernel_path is mapped and parsed */
	const uint8_t *kernel_data;
	size_t kernel_len;
	/* --hermit-image-mode internal: the image's tar, placed in guest RAM after the kernel and
	 * named in the FDT (/chosen linux,initrd-start/end, a memory reservation), or NULL */
	const uint8_t *initrd;
	size_t initrd_len;
};

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

/* Whether this build has the instruction assist (vmm/assist_*.c) at all. */
bool assist_available(void);
/* --print-sandbox: what the assist adds to the VMM's allowlist, and its process. */
void assist_print_sandbox(FILE *f);

#endif
