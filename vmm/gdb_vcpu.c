/* SPDX-License-Identifier: MIT */
/* gdb_vcpu.c - the vCPU side of the debugger (gdb.h): all-stop parking, guest debug
 * (KVM_SET_GUEST_DEBUG: software and hardware breakpoints, single step), the debug exits,
 * and the checks KVM cannot make on this host: a software breakpoint that KVM's instruction
 * emulator rejects instead of trapping (kvm_pvm), and, while the instruction assist runs
 * guest code one instruction at a time, single steps, hardware execution breakpoints and
 * write watchpoints between its instructions.
 *
 * All-stop protocol: the stub thread or a vCPU with a stop event sets g->halt under g->mu and
 * kicks every vCPU out of KVM_RUN (immediate_exit, then SIGUSR2, as vcpu.c's stop protocol
 * does); each vCPU parks in gdb_vcpu_run; the last one to park wakes the stub thread, which
 * then owns the machine (registers, memory, breakpoints) until it releases it.  A parked vCPU
 * rechecks `stopping` every PARK_POLL_MS, so the end of the run never waits for the debugger.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gdb.h"
#include "vmm_gdb.h"

#define PARK_POLL_MS 50
#define DR6_BS	     0x4000ull

static const unsigned long gdb_ioctls[] = {KVM_SET_GUEST_DEBUG, KVM_SET_REGS, KVM_GET_XSAVE,
					   KVM_SET_XSAVE};

const unsigned long *gdb_vcpu_ioctls(int *n)
{
	*n = (int)(sizeof gdb_ioctls / sizeof gdb_ioctls[0]);
	return gdb_ioctls;
}

void gdb_wake(struct gdb *g)
{
	char b = 1;

	if (write(g->wake[1], &b, 1) < 0) {
		/* the pipe is full: the stub thread has wake-ups pending anyway */
	}
}

/* tgkill on a thread id recorded before confinement (the seccomp rule pins the pid and the
 * signal, see vcpu.c). */
static void kick(const struct gdb *g, pid_t tid)
{
	if (tid > 0) {
		syscall(SYS_tgkill, g->pid, tid, SIGUSR2);
	}
}

void gdb_halt_locked(struct gdb *g)
{
	g->halt = true;
	for (unsigned i = 0; i < g->vm->ncpu; i++) {
		struct vcpu *v = &g->vm->vcpus[i];
		if (!g->cpu[i].parked) {
			v->run->immediate_exit = 1;
			kick(g, __atomic_load_n(&v->tid, __ATOMIC_ACQUIRE));
		}
	}
}

void gdb_dirty_all_locked(struct gdb *g)
{
	for (unsigned i = 0; i < g->vm->ncpu; i++) {
		g->cpu[i].dirty = true;
	}
}

void gdb_release_locked(struct gdb *g, const enum gdb_run *mode)
{
	for (unsigned i = 0; i < g->vm->ncpu; i++) {
		g->cpu[i].mode = mode[i];
		g->cpu[i].dirty = true; /* single-step on or off */
	}
	g->halt = false;
	pthread_cond_broadcast(&g->cv);
}

static bool must_park(const struct gdb *g, const struct gdb_cpu *c)
{
	return g->halt || (atomic_load(&g->attached) && c->mode == GDB_RUN_STOP);
}

/* Registers the assist left in the run area for the next KVM_RUN go to KVM now, so that the
 * stub thread reads (KVM_GET_REGS) what the vCPU really holds. */
static bool flush_sync_regs(struct vcpu *v)
{
	if (!v->vm->sync_regs || !(v->run->kvm_dirty_regs & KVM_SYNC_X86_REGS)) {
		return true;
	}
	v->run->kvm_dirty_regs &= ~(uint64_t)KVM_SYNC_X86_REGS;
	return ioctl(v->fd, KVM_SET_REGS, &v->run->s.regs.regs) == 0;
}

/* Undoes a halt kick (immediate_exit) unless the run is stopping: vcpu.c's stop_all sets
 * `stopping` before immediate_exit, so either we see it or its store comes after ours. */
static void clear_kick(struct vcpu *v)
{
	v->run->immediate_exit = 0;
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&v->vm->stopping)) {
		v->run->immediate_exit = 1;
	}
}

static void park_wait(struct gdb *g)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += PARK_POLL_MS * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&g->cv, &g->mu, &ts);
}

static uint32_t control(const struct gdb *g, const struct gdb_cpu *c, __u64 dr[8])
{
	uint32_t ctl = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;

	memset(dr, 0, 8 * sizeof *dr);
	if (!atomic_load(&g->attached)) {
		return 0;
	}
	if (gdb_debugregs(g, dr)) {
		ctl |= KVM_GUESTDBG_USE_HW_BP;
	}
	if (c->mode == GDB_RUN_STEP) {
		/* a step executes the next instruction, not an interrupt handler */
		ctl |= KVM_GUESTDBG_SINGLESTEP | (g->probe.blockirq ? KVM_GUESTDBG_BLOCKIRQ : 0);
	} else if (gdb_has_emulated_watch(g)) {
		ctl |= KVM_GUESTDBG_SINGLESTEP; /* compare after every instruction */
	}
	return ctl;
}

static bool apply_debug(struct vcpu *v, struct gdb *g, struct gdb_cpu *c)
{
	struct kvm_guest_debug d = {0};

	d.control = control(g, c, d.arch.debugreg);
	c->dirty = false;
	if (d.control == 0 && c->ctl == 0) {
		return true;
	}
	c->ctl = d.control;
	if (ioctl(v->fd, KVM_SET_GUEST_DEBUG, &d) != 0) {
		vm_finish(v->vm, ST_KVM_FAIL, "gdb: KVM_SET_GUEST_DEBUG on vCPU %u: %s", v->id,
			  strerror(errno));
		return false;
	}
	return true;
}

static void park(struct vcpu *v, struct gdb *g, struct gdb_cpu *c)
{
	if (!flush_sync_regs(v)) {
		vm_finish(v->vm, ST_KVM_FAIL, "gdb: KVM_SET_REGS on vCPU %u: %s", v->id,
			  strerror(errno));
		return;
	}
	c->parked = true;
	if (++g->nparked == g->vm->ncpu) {
		gdb_wake(g); /* the whole machine is stopped */
	}
}

bool gdb_vcpu_run(struct vcpu *v)
{
	struct gdb *g = v->vm->dbg;
	struct gdb_cpu *c = &g->cpu[v->id];
	bool ok = true;

	pthread_mutex_lock(&g->mu);
	while (must_park(g, c) && !atomic_load(&v->vm->stopping)) {
		if (!c->parked) {
			park(v, g, c);
		}
		park_wait(g);
	}
	if (c->parked) {
		c->parked = false;
		g->nparked--;
	}
	if (atomic_load(&v->vm->stopping)) {
		ok = false;
	} else {
		clear_kick(v);
		ok = !c->dirty || apply_debug(v, g, c);
	}
	pthread_mutex_unlock(&g->mu);
	return ok;
}

/* A stop event of vCPU v: remembered, and the whole machine halts. */
static void event_locked(struct gdb *g, struct vcpu *v, const struct gdb_stop *ev)
{
	struct gdb_cpu *c = &g->cpu[v->id];

	if (!c->has_event) {
		c->has_event = true;
		c->ev = *ev;
	}
	if (!g->halt) {
		g->event_cpu = (int)v->id;
		gdb_halt_locked(g);
	}
}

static void event(struct gdb *g, struct vcpu *v, const struct gdb_stop *ev)
{
	pthread_mutex_lock(&g->mu);
	event_locked(g, v, ev);
	pthread_mutex_unlock(&g->mu);
}

static uint64_t cur_rip(struct vcpu *v)
{
	struct kvm_regs r;

	if (v->vm->sync_regs) {
		return v->run->s.regs.regs.rip; /* valid after an exit, or as the assist left it */
	}
	return ioctl(v->fd, KVM_GET_REGS, &r) == 0 ? r.rip : ~0ull;
}

/* DR6 names a debug register: its slot says what it is. */
static void dr_event(struct gdb *g, unsigned i, struct gdb_stop *ev)
{
	const struct gdb_hwbp *h = &g->hw[i];

	if (!h->used || h->type == GDB_BP_HW) {
		ev->why = GDB_WHY_HWBREAK;
		return;
	}
	ev->why = h->type == GDB_WP_WRITE ? GDB_WHY_WATCH : GDB_WHY_AWATCH;
	ev->addr = h->addr;
}

/* After one instruction (a KVM single step, or one the assist ran): which event, if any. */
static bool after_insn_locked(struct gdb *g, struct vcpu *v, struct gdb_stop *ev, bool check_hw)
{
	int w = gdb_watch_hit_locked(g);

	if (w >= 0) {
		ev->why = g->hw[w].type == GDB_WP_WRITE ? GDB_WHY_WATCH : GDB_WHY_AWATCH;
		ev->addr = g->hw[w].addr;
		return true;
	}
	if (g->cpu[v->id].mode == GDB_RUN_STEP) {
		return true; /* a plain SIGTRAP: the step is done */
	}
	if (check_hw && gdb_is_hwbp(g, cur_rip(v))) {
		ev->why = GDB_WHY_HWBREAK;
		return true;
	}
	return false;
}

static void debug_exit(struct gdb *g, struct vcpu *v)
{
	const struct kvm_debug_exit_arch *d = &v->run->debug.arch;
	struct gdb_stop ev = {.why = GDB_WHY_SIGNAL, .sig = GDB_SIGTRAP, .cpu = v->id};

	pthread_mutex_lock(&g->mu);
	if (d->exception == 3) {
		ev.why = GDB_WHY_SWBREAK; /* hardware KVM: the int3 trapped, RIP is on it */
	} else if (d->dr6 & 0xf) {
		dr_event(g, (unsigned)__builtin_ctzll(d->dr6 & 0xf), &ev);
		if (ev.why == GDB_WHY_WATCH) {
			(void)gdb_watch_hit_locked(g); /* its copy of the value follows */
		}
	} else if ((d->dr6 & DR6_BS) && !after_insn_locked(g, v, &ev, false)) {
		pthread_mutex_unlock(&g->mu); /* a step of the watchpoint emulation: go on */
		return;
	}
	event_locked(g, v, &ev);
	pthread_mutex_unlock(&g->mu);
}

/* kvm_pvm: KVM's emulator rejects int3 (and whatever instruction holds a breakpoint that KVM
 * checks after decoding).  Ours when RIP is on one we placed. */
static bool emulation_break(struct gdb *g, struct vcpu *v)
{
	const struct kvm_run *r = v->run;
	struct gdb_stop ev = {.sig = GDB_SIGTRAP, .cpu = v->id};
	uint64_t rip = cur_rip(v);
	bool bytes =
	    r->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;

	if (gdb_is_swbp(g, rip) && (!bytes || r->emulation_failure.insn_bytes[0] == 0xcc)) {
		ev.why = GDB_WHY_SWBREAK;
	} else if (gdb_is_hwbp(g, rip)) {
		ev.why = GDB_WHY_HWBREAK;
	} else {
		return false; /* the instruction assist's turn */
	}
	event(g, v, &ev);
	return true;
}

bool gdb_vcpu_exit(struct vcpu *v)
{
	struct gdb *g = v->vm->dbg;
	const struct kvm_run *r = v->run;

	if (!atomic_load(&g->attached)) {
		return r->exit_reason == KVM_EXIT_DEBUG; /* left over from before a detach */
	}
	switch (r->exit_reason) {
	case KVM_EXIT_DEBUG:
		debug_exit(g, v);
		return true;
	case KVM_EXIT_INTERNAL_ERROR:
		return r->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
		       emulation_break(g, v);
	default:
		return false;
	}
}

bool gdb_assist_one_insn(const struct vcpu *v)
{
	const struct gdb *g = v->vm->dbg;

	return g != NULL && atomic_load(&g->attached) &&
	       (atomic_load(&g->one_insn) || g->cpu[v->id].mode == GDB_RUN_STEP);
}

void gdb_vcpu_assisted(struct vcpu *v)
{
	struct gdb *g = v->vm->dbg;
	struct gdb_stop ev = {.why = GDB_WHY_SIGNAL, .sig = GDB_SIGTRAP, .cpu = v->id};

	if (!gdb_assist_one_insn(v)) {
		return; /* bursts ran freely: software breakpoints stopped them (int3 is KVM's) */
	}
	pthread_mutex_lock(&g->mu);
	if (after_insn_locked(g, v, &ev, true)) {
		event_locked(g, v, &ev);
	}
	pthread_mutex_unlock(&g->mu);
}

void gdb_print_sandbox(FILE *f)
{
	fprintf(f,
		"\nDebugger (only with -s/--gdb-port or --gdb-socket):\n"
		"  launcher: before any confinement, listens on 127.0.0.1 and ::1 (or a new "
		"Unix socket, mode 0600, own user and root only), accepts one connection, "
		"closes the listeners and hands the connected socket to the VMM\n"
		"  VMM: serves the GDB protocol on that socket with read, write, poll and close "
		"(already on its allowlist for the fds it holds; no socket, bind, listen, accept "
		"or connect); ioctl on the vCPU fds also accepts");
	for (size_t i = 0; i < sizeof gdb_ioctls / sizeof gdb_ioctls[0]; i++) {
		static const char *const names[] = {"KVM_SET_GUEST_DEBUG", "KVM_SET_REGS",
						    "KVM_GET_XSAVE", "KVM_SET_XSAVE"};
		fprintf(f, "%s%s", i == 0 ? " " : ", ", names[i]);
	}
	fprintf(f, "\n");
}
