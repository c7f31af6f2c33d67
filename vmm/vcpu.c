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
#include <sys/wait.h>
#include <time.h>

#include "assist.h"
#include "vm.h"

#define SIG_DONE SIGUSR1
#define SIG_KICK SIGUSR2

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
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
		pthread_kill(vm->main_thread, SIG_DONE);
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

/* Returns false when the vCPU must stop. */
static bool handle_io(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	struct hc_call c = {
	    .vm = &v->vm->hc, .vcpu = v->id, .get_cr3 = get_cr3, .opaque = v, .stats = &v->hcs};
	enum hc_action a;

	if (r->io.count != 1) {
		vm_finish(v->vm, ST_GUEST_VIOLATION,
			  "guest protocol violation on vCPU %u: string I/O (count %u) at port 0x%x",
			  v->id, r->io.count, r->io.port);
		return false;
	}
	c.rdi = get_rdi(v);
	a = hc_port_io(&c, r->io.port, r->io.direction == KVM_EXIT_IO_OUT, r->io.size,
		       (uint8_t *)r + r->io.data_offset);
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

static bool handle_exit(struct vcpu *v)
{
	struct kvm_run *r = v->run;

	v->exits[r->exit_reason < VM_EXIT_REASONS ? r->exit_reason : 0]++;
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
	sigset_t kick;

	sigemptyset(&kick);
	sigaddset(&kick, SIG_KICK);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	if (v->vm->cfg->naffinity > 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(v->vm->cfg->affinity[v->id % (unsigned)v->vm->cfg->naffinity], &set);
		if (sched_setaffinity(0, sizeof set, &set) != 0) {
			vm_finish(v->vm, ST_USAGE, "--affinity: cannot run vCPU %u on host CPU %d: %s",
				  v->id, v->vm->cfg->affinity[v->id % (unsigned)v->vm->cfg->naffinity],
				  strerror(errno));
			return NULL;
		}
	}
	while (!atomic_load(&v->vm->stopping)) {
		uint64_t t0 = now_ns();
		int rc = ioctl(v->fd, KVM_RUN, 0);
		v->guest_ns += now_ns() - t0;
		if (rc < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				continue;
			}
			vm_finish(v->vm, ST_KVM_FAIL, "KVM_RUN on vCPU %u: %s", v->id,
				  strerror(errno));
			break;
		}
		if (!handle_exit(v)) {
			break;
		}
	}
	return NULL;
}

static void on_kick(int sig)
{
	(void)sig;
}

static void stop_all(struct vm *vm)
{
	atomic_store(&vm->stopping, 1);
	if (vm->hc.fs != NULL && vm->hc.fs->stop != NULL) {
		vm->hc.fs->stop(vm->hc.fs_ctx);
	}
	for (unsigned i = 0; i < vm->ncpu; i++) {
		if (vm->vcpus[i].started) {
			vm->vcpus[i].run->immediate_exit = 1;
			pthread_kill(vm->vcpus[i].thread, SIG_KICK);
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

static void wait_for_stop(struct vm *vm)
{
	sigset_t set;
	siginfo_t si;
	int sig;

	sigemptyset(&set);
	sigaddset(&set, SIG_DONE);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	for (;;) {
		do {
			sig = sigwaitinfo(&set, &si);
		} while (sig < 0 && errno == EINTR);
		if (sig == SIGINT || sig == SIGTERM || sig == SIGHUP) {
			vm_finish(vm, ST_SIGNAL_BASE + sig, "stopped by SIG%s", sigabbrev_np(sig));
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
	for (unsigned i = 0; i < vm->ncpu; i++) {
		rc = pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (rc != 0) {
			vm_finish(vm, ST_OSERR, "cannot start vCPU thread %u: %s", i, strerror(rc));
			break;
		}
		vm->vcpus[i].started = true;
	}
	wait_for_stop(vm);
	stop_all(vm);
	pthread_mutex_lock(&vm->out_mu);
	output_flush(&vm->out);
	pthread_mutex_unlock(&vm->out_mu);
	if (vm->guest_exit && vm->guest_code != 0 && vm->out.panic_seen) {
		uhs_msg("guest panicked (guest exit code %d)", vm->guest_code);
		return ST_GUEST_PANIC;
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
