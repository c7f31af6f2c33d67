/* SPDX-License-Identifier: MIT */
/* vcpu.c - one thread per vCPU running KVM_RUN, exit handling, and the stop protocol.
 *
 * Stop protocol: the first terminal event (guest exit, violation, fault, signal) is
 * recorded by vm_finish(), which sets `stopping` and wakes the main thread with SIGUSR1.
 * The main thread then sets immediate_exit in every vCPU's run area and kicks each thread
 * with SIGUSR2, so a thread either sees `stopping` or gets EINTR from KVM_RUN; then it
 * joins them all.  SIGINT/SIGTERM/SIGHUP are taken by the main thread the same way.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#ifdef UHS_TEST_HOOKS
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#endif
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "assist.h"
#include "gdb.h"
#include "net.h"
#include "vm.h"
#include "vmm_sandbox.h"

#define SIG_DONE SIGUSR1
#define SIG_KICK SIGUSR2

static pid_t self_pid;

static pid_t getpid_cached(void)
{
	return self_pid;
}

/* tgkill(2) on a thread id recorded before confinement: pthread_kill would also call
 * getpid/gettid/rt_sigprocmask, which the seccomp allowlist need not contain. */
static void kick(pid_t tid, int sig)
{
	if (tid > 0) {
		syscall(SYS_tgkill, getpid_cached(), tid, sig);
	}
}

void vm_finish(struct vm *vm, int status, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&vm->res_mu);
	if (!vm->have_result) {
		vm->have_result = true;
		vm->status = status;
		if (fmt != NULL) {
			char line[400];
			va_start(ap, fmt);
			vsnprintf(line, sizeof line, fmt, ap);
			va_end(ap);
			uhs_msg("%s", line);
		}
		atomic_store(&vm->stopping, 1);
		kick(vm->main_tid, SIG_DONE);
	}
	pthread_mutex_unlock(&vm->res_mu);
}

static void guest_exit(struct vm *vm, int code)
{
	pthread_mutex_lock(&vm->res_mu);
	if (!vm->have_result) {
		vm->guest_exit = true;
		vm->guest_code = code;
	}
	pthread_mutex_unlock(&vm->res_mu);
	vm_finish(vm, code & 0xff, NULL);
}

static int get_cr3(void *opaque, uint64_t *cr3)
{
	struct vcpu *v = opaque;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		return -1;
	}
	*cr3 = s.cr3;
	return 0;
}

static uint64_t get_rip(struct vcpu *v)
{
	struct kvm_regs r;

	return ioctl(v->fd, KVM_GET_REGS, &r) < 0 ? 0 : r.rip;
}

static uint64_t get_rdi(struct vcpu *v)
{
	struct kvm_regs r;

	if (v->vm->sync_regs) {
		return v->run->s.regs.regs.rdi;
	}
	return ioctl(v->fd, KVM_GET_REGS, &r) < 0 ? 0 : r.rdi;
}

static void out_lock(struct hc_vm *hv, bool lock)
{
	struct vm *vm = (struct vm *)((char *)hv - offsetof(struct vm, hc));

	if (lock) {
		pthread_mutex_lock(&vm->out_mu);
	} else {
		pthread_mutex_unlock(&vm->out_mu);
	}
}

#ifdef UHS_TEST_HOOKS
/* Test-only (meson -Dtest_hooks=true; never in a release build): `in eax, 0x1ff0` with RDI =
 * action | 0x100 for "on the main thread" makes the VMM attempt something its sandbox must
 * forbid, after confinement; EAX receives the result (-errno), if the process survives. */
#define TEST_HOOK_PORT 0x1ff0
static volatile int test_action, test_result;

static int test_attempt(struct vm *vm, int action)
{
	static char page[8192] __attribute__((aligned(4096)));
	long r = -EINVAL;

	switch (action) {
	case 1:
		/* The VMM's root is an empty tmpfs, so /etc/passwd is not even there; the root
		 * directory itself is, and Landlock refuses it (EACCES). */
		r = open("/etc/passwd", O_RDONLY | O_CLOEXEC);
		if (r < 0 && errno == ENOENT) {
			r = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		}
		break;
	case 2:
		r = execve("/bin/true", (char *[]){(char[]){"true"}, NULL}, (char *[]){NULL});
		break;
	case 3:
		r = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		break;
	case 4:
		r = ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		break;
	case 5:
		r = mprotect(page, 4096, PROT_READ | PROT_EXEC);
		break;
	case 6:
		r = ioctl(vm->vcpus[0].fd, KVM_GET_FPU, page); /* a vCPU ioctl not on the list */
		break;
	case 7:
		r = (long)mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		r = r == (long)MAP_FAILED ? -1 : 0;
		break;
	case 8: /* control: the hook path itself makes no forbidden call */
		return 0;
	case 9: /* a VM ioctl other than the one the ring needs (vm_fd may be -1: also SIGSYS) */
		r = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 200);
		break;
	default:
		return -EINVAL;
	}
	return r < 0 ? -errno : (int)(r > 0 ? 0 : r);
}

static bool test_hook(struct vcpu *v, uint8_t *data, uint64_t rdi)
{
	int action = (int)(rdi & 0xff), result;

	if (rdi & 0x100) { /* on the main thread: hand it over and wait */
		__atomic_store_n(&test_result, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&test_action, action, __ATOMIC_RELEASE);
		kick(v->vm->main_tid, SIG_DONE);
		while (__atomic_load_n(&test_result, __ATOMIC_ACQUIRE) == 1) {
		}
		result = test_result;
	} else {
		result = test_attempt(v->vm, action);
	}
	memcpy(data, &result, 4);
	return true;
}
#endif

/* One IN or OUT of the guest, from a KVM exit or from a burst in JIT mode (assist_jit.c):
 * the one dispatch path of port I/O.  Returns false when the vCPU must stop. */
bool vcpu_port_io(struct vcpu *v, uint16_t port, bool out, uint8_t size, uint8_t *data,
		  uint64_t rdi)
{
	struct hc_call c = {
	    .vm = &v->vm->hc, .vcpu = v->id, .get_cr3 = get_cr3, .opaque = v, .stats = &v->hcs};
	enum hc_action a;

#ifdef UHS_TEST_HOOKS
	if (port == TEST_HOOK_PORT && !out && size == 4) {
		return test_hook(v, data, rdi);
	}
#endif
	if (out) {
		pio_ring_saw_write(v->vm, port);
	}
	c.rdi = rdi;
	a = hc_port_io(&c, port, out, size, data);
	if (a == HC_EXIT) {
		guest_exit(v->vm, c.exit_code);
	} else if (a == HC_FATAL) {
		vm_finish(v->vm, c.exit_code, "%s", c.msg);
	} else if (a == HC_VIOLATION) {
		vm_finish(v->vm, ST_GUEST_VIOLATION, "guest protocol violation on vCPU %u: %s",
			  v->id, c.msg);
	}
	return a == HC_CONTINUE;
}

static bool handle_io(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	if (r->io.count != 1) {
		vm_finish(v->vm, ST_GUEST_VIOLATION,
			  "guest protocol violation on vCPU %u: string I/O (count %u) at port 0x%x",
			  v->id, r->io.count, r->io.port);
		return false;
	}
	return vcpu_port_io(v, r->io.port, r->io.direction == KVM_EXIT_IO_OUT, r->io.size,
			    (uint8_t *)r + r->io.data_offset, get_rdi(v));
}

static bool handle_mmio(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	struct hc_call c = {.vm = &v->vm->hc, .vcpu = v->id, .stats = &v->hcs};

	if (hc_mmio(&c, r->mmio.phys_addr, r->mmio.is_write, r->mmio.len, r->mmio.data) ==
	    HC_CONTINUE) {
		return true;
	}
	vm_finish(v->vm, ST_GUEST_VIOLATION, "guest protocol violation on vCPU %u: %s", v->id,
		  c.msg);
	return false;
}

static void internal_error(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	char bytes[3 * 16 + 1] = "";

	if (r->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    (r->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
		unsigned n = r->emulation_failure.insn_size;
		for (unsigned i = 0; i < n && i < 16; i++) {
			snprintf(bytes + 3 * i, 4, " %02x", r->emulation_failure.insn_bytes[i]);
		}
	}
	vm_finish(v->vm, ST_KVM_INTERNAL,
		  "KVM internal error on vCPU %u: suberror %u%s at RIP 0x%llx%s%s", v->id,
		  r->internal.suberror,
		  r->internal.suberror == KVM_INTERNAL_ERROR_EMULATION
		      ? " (instruction emulation failed)"
		      : "",
		  (unsigned long long)get_rip(v), bytes[0] ? ", instruction bytes:" : "", bytes);
}

bool vcpu_handle_exit(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	v->exits[r->exit_reason < VM_EXIT_REASONS ? r->exit_reason : 0]++;
	/* port writes KVM queued before this exit come first (pio_ring.c) */
	if (!pio_ring_drain(v->vm, v->id, &v->hcs)) {
		return false;
	}
	if (v->vm->dbg != NULL && gdb_vcpu_exit(v)) {
		return true; /* a breakpoint, a step or a watchpoint (gdb_vcpu.c) */
	}
	switch (r->exit_reason) {
	case KVM_EXIT_IO:
		return handle_io(v);
	case KVM_EXIT_MMIO:
		return handle_mmio(v);
	case KVM_EXIT_HLT:
		return true;
	case KVM_EXIT_SHUTDOWN:
		vm_finish(v->vm, ST_TRIPLE_FAULT,
			  "guest triple fault (KVM_EXIT_SHUTDOWN) on vCPU %u at RIP 0x%llx", v->id,
			  (unsigned long long)get_rip(v));
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		if (r->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && v->vm->cfg->assist &&
		    assist_emulation_failure(v)) {
			if (v->vm->dbg != NULL) {
				gdb_vcpu_assisted(v);
			}
			return true;
		}
		internal_error(v);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		vm_finish(v->vm, ST_KVM_FAIL, "KVM entry failure on vCPU %u: reason 0x%llx", v->id,
			  (unsigned long long)r->fail_entry.hardware_entry_failure_reason);
		return false;
	default:
		vm_finish(v->vm, ST_KVM_FAIL, "unexpected KVM exit reason %u on vCPU %u",
			  r->exit_reason, v->id);
		return false;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	sigset_t kick_set;
	bool ok = true;

	__atomic_store_n(&v->tid, gettid(), __ATOMIC_RELEASE);
	sigemptyset(&kick_set);
	sigaddset(&kick_set, SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &kick_set, NULL);
	if (v->vm->cfg->naffinity > 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(v->vm->cfg->affinity[v->id % (unsigned)v->vm->cfg->naffinity], &set);
		if (sched_setaffinity(0, sizeof set, &set) != 0) {
			vm_finish(v->vm, ST_USAGE,
				  "--affinity: cannot run vCPU %u on host CPU %d: %s", v->id,
				  v->vm->cfg->affinity[v->id % (unsigned)v->vm->cfg->naffinity],
				  strerror(errno));
			ok = false;
		}
	}
	/* Two rendezvous: "every thread is past glibc's thread start-up (rseq, robust list)",
	 * then "the seccomp filter is in for all of us". */
	pthread_barrier_wait(&v->vm->start);
	pthread_barrier_wait(&v->vm->start);
	if (!ok) {
		return NULL;
	}
	assist_jit_await(v, 1000);
	while (!atomic_load(&v->vm->stopping)) {
		if (v->vm->dbg != NULL && !gdb_vcpu_run(v)) {
			break; /* parked while a debugger holds the machine, then stopping */
		}
		if (assist_jit_ready(v)) { /* JIT mode (assist_jit.c) from now on */
			assist_jit_run(v);
			break;
		}
		uint64_t t0 = uhs_now_ns();
		int rc = ioctl(v->fd, KVM_RUN, 0);
		v->guest_ns += uhs_now_ns() - t0;
		if (rc < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				continue;
			}
			vm_finish(v->vm, ST_KVM_FAIL, "KVM_RUN on vCPU %u: %s", v->id,
				  strerror(errno));
			break;
		}
		if (!vcpu_handle_exit(v)) {
			break;
		}
	}
	return NULL;
}

/* Step 11 of vm_setup.c: the allowlist, for every thread at once (TSYNC). */
static void confine_seccomp(struct vm *vm)
{
	int fds[CFG_MAX_CPUS];
	char err[256];
	struct vmm_confinement sv = {.vcpu_fds = fds,
				     .nvcpu = (int)vm->ncpu,
				     .vm_fd = vm->vm_fd,
				     .broker_sock = vm->files->broker_sock,
				     .broker_pid = vm->broker_pid,
				     .net_vm_fd = -1,
				     .assist_pid = assist_pid(vm)};

	if (!vm->cfg->sandbox) {
		return;
	}
#ifdef UHS_TEST_HOOKS
	if (getenv("UHS_TEST_NO_SECCOMP") != NULL) {
		return; /* test builds only: show what Landlock alone does */
	}
#endif
	for (unsigned i = 0; i < vm->ncpu; i++) {
		fds[i] = vm->vcpus[i].fd;
	}
	if (vm->assist != NULL) {
		sv.ioctls = assist_vcpu_ioctls(&sv.nioctls);
	}
	if (vm->net != NULL) {
		sv.net = true;
		sv.net_vm_fd = vm->vm_fd;
		sv.stats_fds = net_stats_fds(vm, &sv.nstats);
	}
	if (vm->dbg != NULL) {
		sv.dbg_ioctls = gdb_vcpu_ioctls(&sv.ndbg_ioctls); /* only with a debugger */
	}
	if (vmm_confine_seccomp(&sv, err, sizeof err) != 0) {
		vm_finish(vm, ST_SANDBOX, "sandbox: %s", err);
	}
}

static void on_kick(int sig)
{
	(void)sig;
}

void vcpu_kick(struct vcpu *v)
{
	kick(__atomic_load_n(&v->tid, __ATOMIC_ACQUIRE), SIG_KICK);
}

static void stop_all(struct vm *vm)
{
	atomic_store(&vm->stopping, 1);
	assist_wake_all(vm); /* vCPUs waiting in HLT in JIT mode */
	if (vm->hc.fs != NULL && vm->hc.fs->stop != NULL) {
		vm->hc.fs->stop(vm->hc.fs_ctx);
	}
	for (unsigned i = 0; i < vm->ncpu; i++) {
		if (vm->vcpus[i].started) {
			vm->vcpus[i].run->immediate_exit = 1;
			kick(__atomic_load_n(&vm->vcpus[i].tid, __ATOMIC_ACQUIRE), SIG_KICK);
		}
	}
	for (unsigned i = 0; i < vm->ncpu; i++) {
		if (vm->vcpus[i].started) {
			pthread_join(vm->vcpus[i].thread, NULL);
			vm->vcpus[i].started = false;
		}
	}
}

/* The broker is our only child.  Returns true (and ends the VM) if it has exited. */
static bool broker_exited(struct vm *vm)
{
	int st;

	if (vm->broker_pid <= 0 || waitpid(vm->broker_pid, &st, WNOHANG) != vm->broker_pid) {
		return false;
	}
	vm->broker_pid = -1; /* reaped */
	if (WIFSIGNALED(st)) {
		vm_finish(vm, ST_BROKER, "the file broker was killed by SIG%s",
			  sigabbrev_np(WTERMSIG(st)));
	} else {
		vm_finish(vm, ST_BROKER, "the file broker exited unexpectedly with status %d",
			  WEXITSTATUS(st));
	}
	return true;
}

#define PIO_RING_POLL_MS 20

static void stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
}

/* A stop signal ends the run: whatever output cannot be written is given up from now on. */
static void stop_by_signal(struct vm *vm, int sig)
{
	atomic_store(&vm->abandon_output, true);
	vm_finish(vm, ST_SIGNAL_BASE + sig, "stopped by SIG%s", sigabbrev_np(sig));
}

/* Asked by the output when a write has waited for its reader (output.c).  The stop signals
 * are blocked in every thread and normally taken by the main thread in wait_for_stop; but the
 * main thread may itself be writing (the serial bytes KVM batched) or wait for a lock a
 * blocked writer holds, so whichever thread waits on the output takes a pending one. */
static bool output_abandon(void *ctx)
{
	struct vm *vm = ctx;
	const struct timespec now = {0, 0};
	sigset_t set;
	int sig;

	stop_signals(&set);
	if ((sig = sigtimedwait(&set, NULL, &now)) > 0) {
		stop_by_signal(vm, sig);
	}
	return atomic_load(&vm->abandon_output);
}

/* The next signal of `set`, or -1 when the VM is done (the coalesced-write ring says so). */
static int next_signal(struct vm *vm, const sigset_t *set, siginfo_t *si)
{
	const struct timespec ring_poll = {0, PIO_RING_POLL_MS * 1000000L};
	const struct timespec jit_poll = {0, 2 * 1000000L};
	int sig;

	do {
		/* with a coalesced-write ring, wake up to drain it (pio_ring.c); while a vCPU may
		 * still switch to JIT mode, kick it now and then (assist_jit.c) */
		bool jit = assist_jit_pending(vm);
		sig = vm->ring != NULL || jit ? sigtimedwait(set, si, jit ? &jit_poll : &ring_poll)
					      : sigwaitinfo(set, si);
		if (sig < 0 && errno == EAGAIN && jit) {
			assist_jit_tick(vm);
		}
		if (sig < 0 && errno == EAGAIN &&
		    !pio_ring_drain(vm, vm->ncpu == 1 ? 0 : ~0u, &vm->ring_hcs)) {
			return -1;
		}
	} while (sig < 0 && (errno == EINTR || errno == EAGAIN));
	return sig;
}

static void wait_for_stop(struct vm *vm)
{
	sigset_t set;
	siginfo_t si;
	int sig;

	stop_signals(&set);
	sigaddset(&set, SIG_DONE);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		if ((sig = next_signal(vm, &set, &si)) < 0) {
			return;
		}
#ifdef UHS_TEST_HOOKS
		if (sig == SIG_DONE && __atomic_load_n(&test_action, __ATOMIC_ACQUIRE) != 0) {
			int action = __atomic_exchange_n(&test_action, 0, __ATOMIC_ACQ_REL);
			__atomic_store_n(&test_result, test_attempt(vm, action), __ATOMIC_RELEASE);
			continue;
		}
#endif
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
			stop_by_signal(vm, sig);
		} else if (sig == SIGCHLD && !broker_exited(vm)) {
			continue; /* some other child: not ours to reap */
		}
		return;
	}
}

int vm_run(struct vm *vm)
{
	struct sigaction sa = {.sa_handler = on_kick};
	int rc;

	sigemptyset(&sa.sa_mask);
	sigaction(SIG_KICK, &sa, NULL);
	vm->hc.out_lock = out_lock;
	vm->out.abandon = output_abandon;
	vm->out.abandon_ctx = vm;
	vm->out.abandoned = &vm->abandon_output;
	self_pid = getpid();
	vm->main_tid = gettid();
	if ((rc = net_start(vm)) != 0) {
		return rc;
	}
	pthread_barrier_init(&vm->start, NULL, vm->ncpu + 1);
	for (unsigned i = 0; i < vm->ncpu; i++) {
		rc = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (rc != 0) {
			/* Threads already parked would wait for ever: give up on the whole VM. */
			uhs_msg("cannot start vCPU thread %u: %s", i, strerror(rc));
			exit(ST_OSERR);
		}
		vm->vcpus[i].started = true;
	}
	pthread_barrier_wait(&vm->start);
	confine_seccomp(vm);
	pthread_barrier_wait(&vm->start);
	wait_for_stop(vm);
	stop_all(vm);
	pio_ring_drain(vm, vm->ncpu == 1 ? 0 : ~0u, &vm->ring_hcs);
	pthread_mutex_lock(&vm->out_mu);
	output_flush(&vm->out);
	pthread_mutex_unlock(&vm->out_mu);
	if (vm->guest_exit && vm->guest_code != 0 && vm->out.panic_seen) {
		uhs_msg("guest panicked (guest exit code %d)", vm->guest_code);
		return ST_GUEST_PANIC;
	}
	if (vm->guest_exit) {
		uhs_note_guest_exit(); /* for --status-fd */
	}
	return vm->status;
}

static const char *const exit_names[VM_EXIT_REASONS] = {
    [KVM_EXIT_IO] = "io",
    [KVM_EXIT_MMIO] = "mmio",
    [KVM_EXIT_HLT] = "hlt",
    [KVM_EXIT_SHUTDOWN] = "shutdown",
    [KVM_EXIT_INTR] = "intr",
    [KVM_EXIT_INTERNAL_ERROR] = "internal_error",
    [KVM_EXIT_FAIL_ENTRY] = "fail_entry",
    [KVM_EXIT_DEBUG] = "debug (JIT mode single steps, debugger)",
};

void vm_print_stats(const struct vm *vm, uint64_t wall_ns)
{
	uint64_t exits[VM_EXIT_REASONS] = {0}, hcs[64] = {0}, total = 0, guest = 0;

	for (unsigned i = 0; i < vm->ncpu; i++) {
		for (unsigned r = 0; r < VM_EXIT_REASONS; r++) {
			exits[r] += vm->vcpus[i].exits[r];
			total += vm->vcpus[i].exits[r];
		}
		for (unsigned h = 0; h < hc_count(); h++) {
			hcs[h] += vm->vcpus[i].hcs.count[h];
		}
		guest += vm->vcpus[i].guest_ns;
	}
	for (unsigned h = 0; h < hc_count(); h++) {
		hcs[h] += vm->ring_hcs.count[h];
	}
	fprintf(stderr, "uhyve-sec stats:\n  vm exits: %llu\n", (unsigned long long)total);
	for (unsigned r = 0; r < VM_EXIT_REASONS; r++) {
		if (exits[r] != 0) {
			fprintf(stderr, "    %-24s %llu\n", exit_names[r] ? exit_names[r] : "other",
				(unsigned long long)exits[r]);
		}
	}
	fprintf(stderr, "  hypercalls:\n");
	for (unsigned h = 0; h < hc_count(); h++) {
		if (hcs[h] != 0) {
			fprintf(stderr, "    %-24s %llu\n", hc_name(h), (unsigned long long)hcs[h]);
		}
	}
	for (unsigned i = 0; i < vm->ncpu; i++) {
		fprintf(stderr, "  vcpu %u: %.3f ms in KVM_RUN\n", i,
			(double)vm->vcpus[i].guest_ns / 1e6);
	}
	fprintf(stderr, "  time in guest: %.3f ms (all vCPUs), wall %.3f ms\n", (double)guest / 1e6,
		(double)wall_ns / 1e6);
}
