/* SPDX-License-Identifier: MIT */
/* gdb.h - the debugger in the VMM (issue 15): a GDB remote stub on the connected socket the
 * launcher accepted (launcher/gdb_listen.c), served by one thread of the VMM, under the VMM's
 * confinement.  Files:
 *   gdb_proto.c, gdb_regs.c, gdb_cmd.c  the protocol, pure (gdb_proto.h)
 *   gdb_stub.c    the stub thread: socket, packets, stop replies, the end of the run
 *   gdb_target.c  what packets do to the VM: registers, memory through gmem's checked page
 *                 walk, software breakpoints (int3), hardware breakpoints and watchpoints
 *   gdb_vcpu.c    the vCPU side: all-stop parking, KVM_SET_GUEST_DEBUG, debug exits, the
 *                 breakpoint and step checks between instructions the assist runs, emulated
 *                 write watchpoints
 *   gdb_probe.c   what this host's KVM can do for a debugger (a throwaway VM at start)
 * vcpu.c and vm_setup.c call the hooks below only when vm->dbg is set (-s/--gdb-port,
 * --gdb-socket); without a debugger nothing of this runs.
 *
 * Threat: the debugger's bytes are hostile (gdb_proto.h); what a debugger can do is what the
 * guest can do to itself (its registers and memory, through gmem), plus stopping it.
 */
#ifndef UHS_GDB_H
#define UHS_GDB_H

#include <pthread.h>
#include <stdatomic.h>

#include "gdb_proto.h"
#include "vm.h"

#define GDB_MAX_SWBP 64
#define GDB_MAX_HW   4 /* debug registers DR0-DR3 */

/* What KVM_SET_GUEST_DEBUG does on this host, found out by gdb_probe(). */
struct gdb_probe {
	bool done;
	bool sw_exit; /* int3 with KVM_GUESTDBG_USE_SW_BP ends KVM_RUN with KVM_EXIT_DEBUG */
	bool sw_emul_fail; /* ... or with an emulation failure at the int3 (kvm_pvm) */
	bool step; /* KVM_GUESTDBG_SINGLESTEP: a debug exit after one instruction */
	bool hw_exec; /* DR0-DR3 execution breakpoints exit */
	bool hw_data; /* DR0-DR3 data breakpoints exit (otherwise: emulated write watchpoints) */
	bool blockirq; /* KVM_GUESTDBG_BLOCKIRQ is supported */
	uint64_t step_ns; /* cost of one single step (KVM_RUN round trip) */
};

struct gdb_cpu {
	bool parked; /* waiting in gdb_vcpu_run */
	enum gdb_run mode; /* what the last resume asked of this vCPU */
	bool has_event; /* a stop event not yet reported */
	struct gdb_stop ev;
	bool dirty; /* KVM_SET_GUEST_DEBUG must be applied before the next KVM_RUN */
	uint32_t ctl; /* the control last applied */
};

struct gdb_swbp {
	bool used;
	uint64_t addr; /* guest-virtual */
	uint64_t gpa;
	uint8_t orig;
};

struct gdb_hwbp {
	bool used;
	enum gdb_bp_type type; /* GDB_BP_HW, GDB_WP_WRITE, GDB_WP_ACCESS */
	uint64_t addr;
	unsigned len;
	bool emulated; /* a write watchpoint checked after every instruction (no data DRs) */
	bool copied; /* write watchpoints: gpa and old are valid */
	uint64_t gpa; /* where the watched bytes are */
	uint8_t old[8]; /* their last value (compared after each stepped or assisted insn) */
};

enum gdb_state { GDB_ST_INIT = 0, GDB_ST_STOPPED, GDB_ST_RUNNING, GDB_ST_GONE };

struct gdb {
	struct vm *vm;
	pid_t pid; /* ours, for tgkill (getpid is not on the allowlist) */
	int fd; /* the connection (non-blocking); -1 once closed */
	int wake[2]; /* pipe: vCPUs and the main thread wake the stub thread */
	pthread_t thread;
	bool thread_started;
	bool thread_running; /* the thread has started (before seccomp: glibc's rseq call) */
	pthread_mutex_t mu; /* everything below, and the vCPUs' parking */
	pthread_cond_t cv;
	bool halt; /* every vCPU parks at its next gdb_vcpu_run */
	unsigned nparked;
	int event_cpu; /* the vCPU whose event halted the machine, or -1 */
	bool interrupted; /* Ctrl-C halted it */
	enum gdb_state state; /* stub thread only */
	bool ended; /* the run is over (gdb_finish) */
	int end_status;
	atomic_bool one_insn; /* assist bursts of one instruction (hw breakpoints, watches) */
	atomic_bool attached; /* breakpoints may be in memory; debug exits are ours */
	uint64_t load_offset;
	struct gdb_probe probe;
	struct gdb_swbp sw[GDB_MAX_SWBP];
	struct gdb_hwbp hw[GDB_MAX_HW];
	struct gdb_session sess;
	struct gdb_rx rx;
	struct kvm_xsave xs; /* scratch of the stub thread */
	uint8_t out[2 * GDB_PKT_MAX + 8];
	size_t out_len;
	struct gdb_cpu cpu[]; /* one per vCPU */
};

/* ---- vm_setup.c ---- */
/* Before confinement, with /dev/kvm open: probes KVM, allocates vm->dbg, the wake pipe.
 * Returns 0 or an exit status after a message.  Takes ownership of cfg->gdb_fd. */
int gdb_init(struct vm *vm);
/* The kernel image is loaded: its relocation for qOffsets. */
void gdb_loaded(struct vm *vm, uint64_t load_offset);
/* Starts the stub thread (before the vCPU threads, before seccomp).  0 or an exit status. */
int gdb_start(struct vm *vm);
/* The run is over with process status `status`: tells the debugger (W/X packet), closes the
 * connection, joins the thread, frees vm->dbg. */
void gdb_finish(struct vm *vm, int status);

/* ---- vcpu.c ---- */
/* Before every KVM_RUN: parks while the debugger holds the machine, applies guest debug.
 * Returns false if the VM is stopping. */
bool gdb_vcpu_run(struct vcpu *v);
/* Called first for every exit: true if the debugger consumed it (a debug exit, or the
 * emulation failure of a software breakpoint); the vCPU then goes on with gdb_vcpu_run. */
bool gdb_vcpu_exit(struct vcpu *v);
/* After the instruction assist completed instructions: the step, breakpoint and watchpoint
 * checks the assist cannot do. */
void gdb_vcpu_assisted(struct vcpu *v);
/* For assist_exit.c: whether bursts must be of exactly one instruction (ASSIST_F_ONE_INSN). */
bool gdb_assist_one_insn(const struct vcpu *v);
/* The extra vCPU ioctl requests the debugger needs (seccomp allowlist). */
const unsigned long *gdb_vcpu_ioctls(int *n);

/* ---- internal: gdb_vcpu.c for gdb_stub.c and gdb_target.c ---- */
/* Holds every vCPU (all-stop); caller holds g->mu.  Kicks those in KVM_RUN. */
void gdb_halt_locked(struct gdb *g);
/* Lets the vCPUs run with mode[i] each; caller holds g->mu. */
void gdb_release_locked(struct gdb *g, const enum gdb_run *mode);
/* Marks every vCPU's guest debug for re-application; caller holds g->mu. */
void gdb_dirty_all_locked(struct gdb *g);
/* Wakes the stub thread. */
void gdb_wake(struct gdb *g);

/* ---- internal: gdb_target.c ---- */
extern const struct gdb_ops gdb_kvm_ops;
/* Removes every breakpoint and watchpoint (detach, disconnect); caller holds g->mu. */
void gdb_clear_breakpoints_locked(struct gdb *g);
/* The DR0-DR7 values for KVM_SET_GUEST_DEBUG, and whether any is used. */
bool gdb_debugregs(const struct gdb *g, __u64 dr[8]);
/* Whether rip is a software breakpoint we placed / a hardware execution breakpoint. */
bool gdb_is_swbp(const struct gdb *g, uint64_t rip);
bool gdb_is_hwbp(const struct gdb *g, uint64_t rip);
/* Emulated write watchpoints: the first whose bytes changed (updates its copy); caller holds
 * g->mu.  Returns its index or -1. */
int gdb_watch_hit_locked(struct gdb *g);
bool gdb_has_emulated_watch(const struct gdb *g);

/* ---- gdb_probe.c ---- */
/* Runs the probe VMs on kvm_fd (before confinement). */
void gdb_probe(int kvm_fd, struct gdb_probe *p);

#endif
