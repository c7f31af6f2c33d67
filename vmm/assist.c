/* SPDX-License-Identifier: MIT */
/* assist.c - completing the guest instructions KVM's emulator rejects (hermit-abi.md g, issue 6).
 *
 * On KVM_EXIT_INTERNAL_ERROR/EMULATION the vCPU thread sends its state (registers, system
 * registers, XSAVE area) to its thread in the assist process (assist/assist_proc.c).  That
 * process runs a burst of guest instructions in Unicorn and returns the new state, or stops
 * before an instruction that is completed here, against KVM's own state: XGETBV (KVM_GET_XCRS),
 * XSAVE/XSAVEOPT/XSAVEC/XRSTOR (the XSAVE area from KVM_GET_XSAVE, guest memory through the
 * guest page tables and the gmem accessors), RDTSCP (the guest TSC and TSC_AUX from
 * KVM_GET_MSRS), or an exception to inject (#NM while CR0.TS is set, a fault of the rejected
 * instruction itself).
 *
 * Why a separate process: the JIT maps 1 GiB read-write-execute and eats guest-chosen bytes.
 * This process never maps executable memory and never loads the emulator; it only reads the
 * assist's replies, which it treats as hostile: it takes the general-purpose registers, RIP,
 * the arithmetic flags and the x87/SSE registers from them, nothing else.
 *
 * Per burst: KVM_GET_XSAVE, one message each way, KVM_SET_XSAVE when x87/SSE state changed;
 * registers travel in the kvm_run area (KVM_CAP_SYNC_REGS); nothing is allocated.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "assist.h"
#include "assist_proto.h"
#include "helper_path.h"
#include "vm.h"

#define MAX_ROUNDS	8 /* VMM completions chained into one exit */
#define MSR_IA32_TSC	0x10
#define MSR_TSC_AUX	0xc0000103
#define XSAVE_HDR	512
#define XSAVE_EXT	576
#define XCOMP_COMPACT	(1ull << 63)
#define X87_FCW_INIT	0x037f
#define MXCSR_MASK_DFLT 0xffbf
#define VEC_NM		7
#define VEC_GP		13
#define VEC_PF		14
#define VEC_UD		6

struct assist_stats {
	uint64_t exits; /* emulation failures handled */
	uint64_t rounds; /* round trips to the assist process */
	uint64_t insns; /* instructions run in the emulator */
	uint64_t completed; /* POPCNT/TZCNT/LZCNT completed in the assist process */
	uint64_t rebuilds; /* guest page-table changes the assist followed */
	uint64_t xsave_sets;
	uint64_t ops[ASSIST_OP_COUNT];
	uint64_t stops[ASSIST_STOP_COUNT];
	uint64_t classes[ASSIST_C_COUNT];
	uint64_t injected[32];
	uint64_t burst_ns, total_ns, emu_ns;
};

struct assist_cpu {
	int sock;
	bool sregs_sync; /* KVM_SYNC_X86_SREGS enabled: sregs arrive with every exit */
	bool xsave_dirty, sregs_dirty;
	struct assist_req req;
	struct assist_resp resp;
	struct assist_stats st;
};

struct assist_vm {
	pid_t pid;
	uint32_t sync_mask;
};

/* An instruction completed here ends with one of these. */
enum done { DONE_OK, DONE_FAULT, DONE_FAIL };

struct fault {
	unsigned vector;
	bool has_err;
	uint32_t err;
	uint64_t cr2;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool assist_available(void)
{
	return true;
}

/* The vCPU ioctls assist_emulation_failure() may issue, for the VMM's seccomp allowlist (the
 * run loop's own KVM_RUN, KVM_GET_REGS and KVM_GET_SREGS are not repeated). */
#define ASSIST_IOCTLS(X)                                                                           \
	X(KVM_GET_XSAVE)                                                                           \
	X(KVM_SET_XSAVE)                                                                           \
	X(KVM_GET_XCRS)                                                                            \
	X(KVM_SET_REGS)                                                                            \
	X(KVM_SET_SREGS)                                                                           \
	X(KVM_GET_MSRS)                                                                            \
	X(KVM_GET_VCPU_EVENTS)                                                                     \
	X(KVM_SET_VCPU_EVENTS)
#define IOCTL_REQ(r)  r,
#define IOCTL_NAME(r) #r,
static const unsigned long assist_ioctl_req[] = {ASSIST_IOCTLS(IOCTL_REQ)};
static const char *const assist_ioctl_name[] = {ASSIST_IOCTLS(IOCTL_NAME)};

const unsigned long *assist_vcpu_ioctls(int *n)
{
	*n = (int)(sizeof assist_ioctl_req / sizeof assist_ioctl_req[0]);
	return assist_ioctl_req;
}

void assist_print_sandbox(FILE *f)
{
	fprintf(f,
		"\nInstruction assist (%s, built in; started at the first instruction this KVM "
		"cannot emulate, never with --assist=off):\n",
		ASSIST_HELPER_NAME);
	fprintf(f, "  VMM: while the assist is enabled, ioctl on the vCPU fds also accepts");
	for (size_t i = 0; i < sizeof assist_ioctl_name / sizeof assist_ioctl_name[0]; i++) {
		fprintf(f, "%s%s", i == 0 ? " " : ", ", assist_ioctl_name[i]);
	}
	fprintf(f, "\n");
}

/* ======================= setup ======================= */

/* The helper maps guest RAM from the sealed memfd gmem_init created (size sealed: neither
 * process can shrink it under the other). */
static int check_memfd(const struct vm *vm)
{
	int seals = vm->mem.fd >= 0 ? fcntl(vm->mem.fd, F_GET_SEALS) : -1;

	if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
		uhs_msg("assist: guest RAM is not a sealed memfd");
		return ST_INTERNAL;
	}
	return 0;
}

/* Waits (in the forked child, before the exec) until the VMM first needs the assist: a
 * request on any socket.  A guest that never needs it never pays for the emulator's start
 * (about 10 ms of CPU); EOF on every socket (the VMM is done) ends the child. */
static void wait_first_request(unsigned n)
{
	struct pollfd p[ASSIST_MAX_VCPUS];

	for (unsigned i = 0; i < n; i++) {
		p[i] = (struct pollfd){.fd = ASSIST_FD_SOCK0 + (int)i, .events = POLLIN};
	}
	for (;;) {
		int r = poll(p, n, -1);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			_exit(71);
		}
		/* EOF first: a closed socket also polls readable, and the VMM is gone */
		for (unsigned i = 0; i < n; i++) {
			if (p[i].revents & (POLLHUP | POLLERR | POLLNVAL)) {
				_exit(0);
			}
		}
		for (unsigned i = 0; i < n; i++) {
			if (p[i].revents & POLLIN) {
				return;
			}
		}
	}
}

/* Child side of the fork: only async-signal-safe calls (another VMM thread may exist).
 * fds of the helper: 3 = RAM, 4 + i = socket of vCPU i (assist_proc.h); stdin and stdout on
 * /dev/null, stderr kept for its start-up diagnostics; its own session (no terminal signals:
 * the VMM decides when it ends), default signal handling, an empty mask (ours blocks the stop
 * signals), an empty environment. */
static void exec_helper(const char *path, char *const argv[], const int *peer, unsigned n)
{
	char *const envp[] = {NULL};
	sigset_t none;
	int null = open("/dev/null", O_RDWR);

	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 ||
	    dup2(peer[0], ASSIST_FD_MEM) < 0) {
		_exit(127);
	}
	for (unsigned i = 0; i < n; i++) {
		if (dup2(peer[i + 1], ASSIST_FD_SOCK0 + (int)i) < 0) {
			_exit(127);
		}
	}
	close_range(ASSIST_FD_SOCK0 + n, ~0u, 0);
	setsid();
	prctl(PR_SET_NAME, ASSIST_HELPER_NAME); /* not "uhyve-sec": that child is the broker */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	wait_first_request(n);
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, argv, envp);
	_exit(127);
}

/* fork, not posix_spawn: the child execs the helper only when the first request arrives, so
 * setup costs the VMM one fork (a few hundred microseconds) and a guest that never needs the
 * assist costs nothing more. */
static int spawn_helper(struct vm *vm, const char *path, const int *peer, pid_t *pid)
{
	char name[] = ASSIST_HELPER_NAME, start[24], size[24], ncpu[16];
	char *argv[] = {name, start, size, ncpu, NULL};

	snprintf(start, sizeof start, "%llu", (unsigned long long)vm->mem.start);
	snprintf(size, sizeof size, "%llu", (unsigned long long)vm->mem.size);
	snprintf(ncpu, sizeof ncpu, "%u", vm->ncpu);
	*pid = fork();
	if (*pid == 0) {
		exec_helper(path, argv, peer, vm->ncpu);
	}
	return *pid < 0 ? errno : 0;
}

/* The helper-side fds are duplicated above every target number first, so no dup2 in the
 * child can overwrite a source it still needs. */
static int start_helper(struct vm *vm, struct assist_vm *a, const char *path)
{
	int floor = ASSIST_FD_SOCK0 + (int)vm->ncpu, *peer = calloc(vm->ncpu + 1, sizeof *peer);
	int rc = 0;

	if (peer == NULL) {
		return ENOMEM;
	}
	peer[0] = fcntl(vm->mem.fd, F_DUPFD_CLOEXEC, floor);
	rc = peer[0] < 0 ? errno : 0;
	for (unsigned i = 0; rc == 0 && i < vm->ncpu; i++) {
		int sv[2];
		struct assist_cpu *c = vm->vcpus[i].assist;
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
			rc = errno;
			break;
		}
		c->sock = sv[0];
		peer[i + 1] = fcntl(sv[1], F_DUPFD_CLOEXEC, floor);
		rc = peer[i + 1] < 0 ? errno : 0;
		close(sv[1]);
	}
	if (rc == 0) {
		rc = spawn_helper(vm, path, peer, &a->pid);
	}
	for (unsigned i = 0; i <= vm->ncpu; i++) {
		if (peer[i] > 0) {
			close(peer[i]);
		}
	}
	free(peer);
	return rc;
}

static int alloc_cpus(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpu; i++) {
		struct assist_cpu *c = calloc(1, sizeof *c);
		if (c == NULL) {
			return -1;
		}
		c->sock = -1;
		vm->vcpus[i].assist = c;
	}
	return 0;
}

int assist_init(struct vm *vm)
{
	struct assist_vm *a = calloc(1, sizeof *a);
	char path[PATH_MAX];
	int rc;

	if (a == NULL || alloc_cpus(vm) != 0) {
		free(a);
		uhs_msg("out of memory");
		return ST_OSERR;
	}
	a->pid = -1;
	vm->assist = a;
	if (helper_path(ASSIST_HELPER_NAME, "assist", path, sizeof path) != 0) {
		uhs_msg("the instruction assist (%s) is not installed next to uhyve-sec; "
			"run with --assist=off to do without it",
			ASSIST_HELPER_NAME);
		return ST_OSERR;
	}
	if ((rc = check_memfd(vm)) != 0) {
		return rc;
	}
	rc = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	a->sync_mask = rc > 0 ? (uint32_t)rc : 0;
	/* The helper starts in the background: a guest that never needs it does not wait. */
	if ((rc = start_helper(vm, a, path)) != 0) {
		uhs_msg("cannot start the instruction assist %s: %s", path, strerror(rc));
		return ST_OSERR;
	}
	return 0;
}

void assist_fini(struct vm *vm)
{
	struct assist_vm *a = vm->assist;

	for (unsigned i = 0; vm->vcpus != NULL && i < vm->ncpu; i++) {
		struct assist_cpu *c = vm->vcpus[i].assist;
		if (c != NULL && c->sock >= 0) {
			close(c->sock); /* EOF: the helper exits */
		}
		free(c);
		vm->vcpus[i].assist = NULL;
	}
	/* Not reaped: it exits on EOF (or by PR_SET_PDEATHSIG when we exit), and the VMM's
	 * seccomp allowlist lets it wait for the broker only. */
	free(a);
	vm->assist = NULL;
}

/* ======================= KVM state ======================= */

static bool get_state(struct vcpu *v, struct assist_cpu *c)
{
	const struct assist_vm *a = v->vm->assist;

	if (v->vm->sync_regs) {
		c->req.regs = v->run->s.regs.regs;
	} else if (ioctl(v->fd, KVM_GET_REGS, &c->req.regs) < 0) {
		return false;
	}
	if (c->sregs_sync) {
		c->req.sregs = v->run->s.regs.sregs;
	} else if (ioctl(v->fd, KVM_GET_SREGS, &c->req.sregs) < 0) {
		return false;
	} else if (v->vm->sync_regs && (a->sync_mask & KVM_SYNC_X86_SREGS)) {
		/* this guest needs the assist: from the next exit on, sregs come for free */
		v->run->kvm_valid_regs |= KVM_SYNC_X86_SREGS;
		c->sregs_sync = true;
	}
	c->xsave_dirty = c->sregs_dirty = false;
	return ioctl(v->fd, KVM_GET_XSAVE, &c->req.xsave) == 0;
}

static bool put_state(struct vcpu *v, struct assist_cpu *c)
{
	if (v->vm->sync_regs) {
		v->run->s.regs.regs = c->req.regs;
		v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	} else if (ioctl(v->fd, KVM_SET_REGS, &c->req.regs) < 0) {
		return false;
	}
	if (c->sregs_dirty && ioctl(v->fd, KVM_SET_SREGS, &c->req.sregs) < 0) {
		return false;
	}
	if (c->xsave_dirty) {
		c->st.xsave_sets++;
		return ioctl(v->fd, KVM_SET_XSAVE, &c->req.xsave) == 0;
	}
	return true;
}

static uint64_t area_u64(const struct kvm_xsave *x, size_t off)
{
	uint64_t v;

	memcpy(&v, (const uint8_t *)x->region + off, sizeof v);
	return v;
}

static void area_put_u64(struct kvm_xsave *x, size_t off, uint64_t v)
{
	memcpy((uint8_t *)x->region + off, &v, sizeof v);
}

static uint32_t mxcsr_mask(const struct kvm_xsave *x)
{
	uint32_t m;

	memcpy(&m, (const uint8_t *)x->region + 28, sizeof m);
	return m != 0 ? m : MXCSR_MASK_DFLT;
}

/* Takes from a reply only what a burst can change: general-purpose registers, RIP, the
 * arithmetic flags, and the x87/SSE part of the legacy XSAVE region. */
static void take_reply(struct assist_cpu *c)
{
	const struct assist_resp *r = &c->resp;
	uint64_t fl = c->req.regs.rflags;
	uint32_t mxcsr, mask = mxcsr_mask(&c->req.xsave);

	c->req.regs = r->regs;
	c->req.regs.rflags =
	    (fl & ~ASSIST_RFLAGS_FROM_EMU) | (r->regs.rflags & ASSIST_RFLAGS_FROM_EMU);
	if (!r->fpu_dirty) {
		return;
	}
	memcpy(&mxcsr, (const uint8_t *)r->xsave.region + 24, sizeof mxcsr);
	mxcsr &= mask; /* KVM_SET_XSAVE rejects reserved bits */
	memcpy(c->req.xsave.region, r->xsave.region, 24);
	memcpy((uint8_t *)c->req.xsave.region + 24, &mxcsr, sizeof mxcsr);
	memcpy((uint8_t *)c->req.xsave.region + 32, (const uint8_t *)r->xsave.region + 32,
	       416 - 32);
	area_put_u64(&c->req.xsave, XSAVE_HDR, area_u64(&c->req.xsave, XSAVE_HDR) | 3);
	c->xsave_dirty = true;
}

/* The reply to the request just sent.  Returns 0, -1 (the assist failed or is gone), or -2
 * (the VM is stopping). */
static int roundtrip(struct vcpu *v, struct assist_cpu *c)
{
	ssize_t n;

	int cpu = sched_getcpu(); /* vDSO: no system call */

	c->req.magic = ASSIST_PROTO_MAGIC;
	c->req.cpu = cpu < 0 ? ~0u : (uint32_t)cpu;
	do {
		n = write(c->sock, &c->req, sizeof c->req);
	} while (n < 0 && errno == EINTR && !atomic_load(&v->vm->stopping));
	if (n != (ssize_t)sizeof c->req) {
		return n < 0 && errno == EINTR ? -2 : -1;
	}
	do {
		n = read(c->sock, &c->resp, sizeof c->resp);
	} while (n < 0 && errno == EINTR && !atomic_load(&v->vm->stopping));
	if (n < 0 && errno == EINTR) {
		return -2;
	}
	if ((n != (ssize_t)ASSIST_RESP_SHORT && n != (ssize_t)sizeof c->resp) ||
	    c->resp.magic != ASSIST_PROTO_MAGIC || c->resp.stop >= ASSIST_STOP_COUNT ||
	    (n == (ssize_t)sizeof c->resp) != (c->resp.fpu_dirty != 0)) {
		return -1;
	}
	return 0;
}

/* ======================= guest memory ======================= */

/* Checks that every page of [va, va + len) is mapped; *bad gets the first one that is not. */
static bool guest_probe(const struct vm *vm, uint64_t cr3, uint64_t va, size_t len, uint64_t *bad)
{
	while (len > 0) {
		gpa_t pa;
		uint64_t contig;
		if (gmem_gva_to_gpa(&vm->mem, cr3, gva(va), &pa, &contig) != 0 ||
		    !gmem_range_ok(&vm->mem, pa, contig < len ? contig : len)) {
			*bad = va;
			return false;
		}
		if (contig >= len) {
			return true;
		}
		va += contig, len -= contig;
	}
	return true;
}

/* Copies between buf and [va, va + len) through the guest's page tables, page run by page
 * run, every piece through the gmem accessors. */
static int guest_copy(struct vm *vm, uint64_t cr3, uint64_t va, uint8_t *buf, size_t len,
		      bool to_guest)
{
	while (len > 0) {
		gpa_t pa;
		uint64_t contig;
		if (gmem_gva_to_gpa(&vm->mem, cr3, gva(va), &pa, &contig) != 0) {
			return -1;
		}
		size_t n = contig < len ? (size_t)contig : len;
		if ((to_guest ? gmem_copy_to(&vm->mem, pa, buf, n)
			      : gmem_copy_from(&vm->mem, buf, pa, n)) != 0) {
			return -1;
		}
		buf += n, va += n, len -= n;
	}
	return 0;
}

static int guest_read(struct vm *vm, uint64_t cr3, uint64_t va, void *buf, size_t len)
{
	return guest_copy(vm, cr3, va, buf, len, false);
}

static int guest_write(struct vm *vm, uint64_t cr3, uint64_t va, const void *buf, size_t len)
{
	return guest_copy(vm, cr3, va, (uint8_t *)(uintptr_t)buf, len, true);
}

static enum done page_fault(struct fault *f, uint64_t va, bool write)
{
	*f = (struct fault){.vector = VEC_PF, .has_err = true, .err = write ? 2u : 0u, .cr2 = va};
	return DONE_FAULT;
}

static enum done gp_fault(struct fault *f)
{
	*f = (struct fault){.vector = VEC_GP, .has_err = true};
	return DONE_FAULT;
}

/* ======================= instructions completed here ======================= */

/* The processor's CPUID, not KVM's table: on kvm_pvm the guest sees the host's XSAVE leaf
 * (XSAVEC, XGETBV1) whatever the table says (hermit-abi.md g.2), and the assist only ever
 * runs there.  Emulating what the processor would do is what the guest expects. */
static void host_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

static bool host_has(uint32_t leaf, uint32_t sub, unsigned reg, unsigned bit)
{
	uint32_t r[4];

	host_cpuid(leaf & 0x80000000u, 0, r);
	if (r[0] < leaf) {
		return false;
	}
	host_cpuid(leaf, sub, r);
	return (r[reg] >> bit) & 1;
}

static int get_xcr0(struct vcpu *v, uint64_t *xcr0)
{
	struct kvm_xcrs x;

	if (ioctl(v->fd, KVM_GET_XCRS, &x) < 0) {
		return -1;
	}
	*xcr0 = 1; /* x87 is always enabled */
	for (uint32_t i = 0; i < x.nr_xcrs && i < KVM_MAX_XCRS; i++) {
		if (x.xcrs[i].xcr == 0) {
			*xcr0 = x.xcrs[i].value;
		}
	}
	return 0;
}

static void set_edx_eax(struct kvm_regs *r, uint64_t v)
{
	r->rax = (uint32_t)v;
	r->rdx = v >> 32;
}

static uint64_t edx_eax(const struct kvm_regs *r)
{
	return ((uint64_t)(uint32_t)r->rdx << 32) | (uint32_t)r->rax;
}

static enum done do_xgetbv(struct vcpu *v, struct assist_cpu *c, struct fault *f)
{
	uint32_t ecx = (uint32_t)c->req.regs.rcx;
	uint64_t xcr0;

	if (get_xcr0(v, &xcr0) != 0) {
		return DONE_FAIL;
	}
	if (ecx == 0) {
		set_edx_eax(&c->req.regs, xcr0);
	} else if (ecx == 1 && host_has(0xd, 1, 0, 2)) {
		/* XINUSE: KVM's XSTATE_BV tells which components are not in their initial state */
		set_edx_eax(&c->req.regs, xcr0 & area_u64(&c->req.xsave, XSAVE_HDR));
	} else {
		return gp_fault(f);
	}
	return DONE_OK;
}

static enum done do_rdtscp(struct vcpu *v, struct assist_cpu *c, struct fault *f)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[2];
	} m = {.h = {.nmsrs = 2}, .e = {{.index = MSR_IA32_TSC}, {.index = MSR_TSC_AUX}}};
	int n;

	if (!host_has(0x80000001, 0, 3, 27)) {
		*f = (struct fault){.vector = VEC_UD};
		return DONE_FAULT;
	}
	if ((n = ioctl(v->fd, KVM_GET_MSRS, &m)) < 1) {
		return DONE_FAIL;
	}
	set_edx_eax(&c->req.regs, m.e[0].data);
	c->req.regs.rcx = n == 2 ? (uint32_t)m.e[1].data : 0;
	return DONE_OK;
}

/* Standard-format offset and size of XSAVE component i >= 2 (CPUID leaf 0xD). */
static bool component(unsigned i, uint32_t *off, uint32_t *size, bool *align)
{
	uint32_t r[4];

	host_cpuid(0xd, i, r);
	if (r[0] == 0 || r[1] < XSAVE_EXT ||
	    (uint64_t)r[1] + r[0] > sizeof(((struct kvm_xsave *)0)->region)) {
		return false;
	}
	*off = r[1];
	*size = r[0];
	*align = (r[2] & 2) != 0;
	return true;
}

/* Where components >= 2 of `set` live in the guest's area: standard offsets, or packed after
 * the header in the compacted format.  Returns the bytes the area spans, 0 if too large. */
static size_t layout(uint64_t set, bool compacted, uint32_t off[64], uint32_t size[64])
{
	size_t end = XSAVE_EXT, cur = XSAVE_EXT;
	bool align;

	for (unsigned i = 2; i < 63; i++) {
		off[i] = size[i] = 0;
		if (!(set & (1ull << i))) {
			continue;
		}
		if (!component(i, &off[i], &size[i], &align)) {
			return 0; /* a component KVM's 4 KiB area cannot hold */
		}
		if (compacted) {
			cur = align ? (cur + 63) & ~(size_t)63 : cur;
			off[i] = (uint32_t)cur;
			cur += size[i];
		}
		end = off[i] + size[i] > end ? off[i] + size[i] : end;
	}
	return end <= sizeof(((struct kvm_xsave *)0)->region) ? end : 0;
}

/* XSAVE, XSAVEOPT (same result) and XSAVEC: the components in RFBM = XCR0 & EDX:EAX from
 * KVM's area to the guest's, then the header. */
static enum done do_xsave(struct vcpu *v, struct assist_cpu *c, bool compacted, struct fault *f)
{
	const uint8_t *k = (const uint8_t *)c->req.xsave.region;
	uint64_t xcr0, rfbm, ea = c->resp.insn.ea, cr3 = c->req.sregs.cr3, bad, hdr[8] = {0};
	uint64_t inuse = area_u64(&c->req.xsave, XSAVE_HDR);
	uint32_t off[64], size[64], so, ss;
	size_t len;
	bool al;
	int e = 0;

	if (get_xcr0(v, &xcr0) != 0) {
		return DONE_FAIL;
	}
	rfbm = xcr0 & edx_eax(&c->req.regs);
	if (ea % 64 != 0) {
		return gp_fault(f);
	}
	if ((len = layout(rfbm, compacted, off, size)) == 0) {
		return DONE_FAIL;
	}
	if (!guest_probe(v->vm, cr3, ea, len, &bad)) {
		return page_fault(f, bad, true);
	}
	if (compacted) {
		hdr[0] = inuse & rfbm;
		hdr[1] = XCOMP_COMPACT | rfbm;
	} else if (guest_read(v->vm, cr3, ea + XSAVE_HDR, &hdr[0], 8) != 0) {
		return DONE_FAIL;
	} else {
		hdr[0] = (hdr[0] & ~rfbm) | (inuse & rfbm); /* XSAVE changes only XSTATE_BV */
	}
	if (rfbm & 1) {
		e |= guest_write(v->vm, cr3, ea, k, 24) |
		     guest_write(v->vm, cr3, ea + 32, k + 32, 128);
	}
	if (rfbm & 6) {
		e |= guest_write(v->vm, cr3, ea + 24, k + 24, 8); /* MXCSR, MXCSR_MASK */
	}
	if (rfbm & 2) {
		e |= guest_write(v->vm, cr3, ea + 160, k + 160, 256);
	}
	for (unsigned i = 2; i < 63; i++) {
		if (size[i] != 0 && component(i, &so, &ss, &al)) {
			e |= guest_write(v->vm, cr3, ea + off[i], k + so, size[i]);
		}
	}
	e |= guest_write(v->vm, cr3, ea + XSAVE_HDR, hdr, compacted ? sizeof hdr : 8);
	return e == 0 ? DONE_OK : DONE_FAIL;
}

/* Checks an XRSTOR header; fills *compacted. */
static bool xrstor_header_ok(const uint64_t hdr[8], uint64_t xcr0, bool *compacted)
{
	*compacted = (hdr[1] & XCOMP_COMPACT) != 0;
	if (*compacted &&
	    (!host_has(0xd, 1, 0, 1) || (hdr[1] & ~XCOMP_COMPACT & ~xcr0) || (hdr[0] & ~hdr[1]))) {
		return false;
	}
	if ((!*compacted && hdr[1] != 0) || (hdr[0] & ~xcr0)) {
		return false;
	}
	for (unsigned i = 2; i < 8; i++) {
		if (hdr[i] != 0) {
			return false;
		}
	}
	return true;
}

/* Loads component i of `rfbm` into KVM's area: from the image if XSTATE_BV has it, else
 * its initial state. */
static void restore_components(uint8_t *k, const uint8_t *img, uint64_t rfbm, uint64_t bv,
			       const uint32_t off[64], const uint32_t size[64])
{
	static const uint16_t fcw_init = X87_FCW_INIT;
	uint32_t so, ss;
	bool al;

	if (rfbm & 1) {
		if (bv & 1) {
			memcpy(k, img, 24);
			memcpy(k + 32, img + 32, 128);
		} else {
			memset(k, 0, 24);
			memcpy(k, &fcw_init, sizeof fcw_init);
			memset(k + 32, 0, 128);
		}
	}
	if (rfbm & 2) {
		if (bv & 2) {
			memcpy(k + 160, img + 160, 256);
		} else {
			memset(k + 160, 0, 256);
		}
	}
	for (unsigned i = 2; i < 63; i++) {
		if ((rfbm & (1ull << i)) && component(i, &so, &ss, &al)) {
			if ((bv & (1ull << i)) && size[i] != 0) {
				memcpy(k + so, img + off[i], ss);
			} else {
				memset(k + so, 0, ss);
			}
		}
	}
}

static enum done do_xrstor(struct vcpu *v, struct assist_cpu *c, struct fault *f)
{
	uint8_t img[sizeof c->req.xsave.region];
	uint8_t *k = (uint8_t *)c->req.xsave.region;
	uint64_t xcr0, rfbm, ea = c->resp.insn.ea, cr3 = c->req.sregs.cr3, bad, hdr[8];
	uint32_t off[64], size[64], mxcsr;
	size_t len;
	bool compacted;

	if (get_xcr0(v, &xcr0) != 0) {
		return DONE_FAIL;
	}
	rfbm = xcr0 & edx_eax(&c->req.regs);
	if (ea % 64 != 0) {
		return gp_fault(f);
	}
	if (!guest_probe(v->vm, cr3, ea, XSAVE_EXT, &bad)) {
		return page_fault(f, bad, false);
	}
	if (guest_read(v->vm, cr3, ea + XSAVE_HDR, hdr, sizeof hdr) != 0) {
		return DONE_FAIL;
	}
	if (!xrstor_header_ok(hdr, xcr0, &compacted)) {
		return gp_fault(f);
	}
	if ((len = layout(compacted ? hdr[1] & ~XCOMP_COMPACT : rfbm, compacted, off, size)) == 0) {
		return DONE_FAIL;
	}
	if (!guest_probe(v->vm, cr3, ea, len, &bad)) {
		return page_fault(f, bad, false);
	}
	if (guest_read(v->vm, cr3, ea, img, len) != 0) {
		return DONE_FAIL;
	}
	memcpy(&mxcsr, img + 24, sizeof mxcsr);
	if ((rfbm & 6) && (mxcsr & ~mxcsr_mask(&c->req.xsave))) {
		return gp_fault(f);
	}
	restore_components(k, img, rfbm, hdr[0], off, size);
	if (rfbm & 6) {
		mxcsr = compacted && !(hdr[0] & 6) ? 0x1f80 : mxcsr;
		memcpy(k + 24, &mxcsr, sizeof mxcsr);
	}
	area_put_u64(&c->req.xsave, XSAVE_HDR,
		     (area_u64(&c->req.xsave, XSAVE_HDR) & ~rfbm) | (hdr[0] & rfbm));
	c->xsave_dirty = true;
	return DONE_OK;
}

static enum done complete(struct vcpu *v, struct assist_cpu *c, struct fault *f)
{
	unsigned op = c->resp.insn.op;

	if (op >= ASSIST_OP_COUNT || op == ASSIST_OP_NONE || c->resp.insn.len == 0 ||
	    c->resp.insn.len > 15) {
		return DONE_FAIL;
	}
	c->st.ops[op]++;
	switch (op) {
	case ASSIST_OP_XGETBV:
		return do_xgetbv(v, c, f);
	case ASSIST_OP_XSAVE:
		return do_xsave(v, c, false, f);
	case ASSIST_OP_XSAVEC:
		return do_xsave(v, c, true, f);
	case ASSIST_OP_XRSTOR:
		return do_xrstor(v, c, f);
	case ASSIST_OP_RDTSCP:
		return do_rdtscp(v, c, f);
	default:
		return DONE_FAIL;
	}
}

/* ======================= exceptions ======================= */

static bool has_error_code(unsigned vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21;
}

/* Queues an exception for the next KVM_RUN (RIP stays on the faulting instruction). */
static bool inject(struct vcpu *v, struct assist_cpu *c, const struct fault *f)
{
	struct kvm_vcpu_events ev;

	if (f->vector >= 32 || ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0) {
		return false;
	}
	if (f->vector == VEC_PF) {
		c->req.sregs.cr2 = f->cr2;
		c->sregs_dirty = true;
	}
	ev.exception.injected = 1;
	ev.exception.nr = (uint8_t)f->vector;
	ev.exception.has_error_code = f->has_err;
	ev.exception.error_code = f->err;
	ev.flags = 0; /* leave NMI pending, SIPI, interrupt shadow and SMM as they are */
	c->st.injected[f->vector]++;
	return ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) == 0;
}

/* A fault raised by the rejected instruction itself: only we can deliver it. */
static void fault_from_reply(const struct vm *vm, const struct assist_cpu *c, struct fault *f)
{
	unsigned vec = c->resp.insn.vector;
	gpa_t pa;
	uint64_t contig;

	*f = (struct fault){.vector = vec, .has_err = has_error_code(vec)};
	if (vec == VEC_PF) {
		bool present = gmem_gva_to_gpa(&vm->mem, c->req.sregs.cr3, gva(c->resp.insn.ea),
					       &pa, &contig) == 0;
		f->err = (present ? 1u : 0u) | (c->resp.insn.write ? 2u : 0u);
		f->cr2 = c->resp.insn.ea;
	}
}

/* ======================= the exit handler ======================= */

/* Ends the VM with the usual emulation-failure diagnostic plus the assist's reason. */
static bool fail(struct vcpu *v, const struct assist_cpu *c, const char *why)
{
	const struct kvm_run *r = v->run;
	char bytes[3 * 16 + 1] = "";
	const uint8_t *b = c->resp.insn.bytes;
	unsigned n = c->resp.insn.bytes_len;

	if (r->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) {
		b = r->emulation_failure.insn_bytes;
		n = r->emulation_failure.insn_size;
	}
	for (unsigned i = 0; i < n && i < 16; i++) {
		snprintf(bytes + 3 * i, 4, " %02x", b[i]);
	}
	vm_finish(v->vm, ST_KVM_INTERNAL,
		  "KVM internal error on vCPU %u: suberror 1 (instruction emulation failed) at RIP "
		  "0x%llx%s%s; the instruction assist cannot complete it: %s",
		  v->id, (unsigned long long)c->req.regs.rip,
		  bytes[0] ? ", instruction bytes:" : "", bytes, why);
	return false;
}

static const char *unsupported_reason(unsigned cls)
{
	switch (cls) {
	case ASSIST_C_VEX:
		return "AVX (VEX/EVEX) instructions are not supported";
	case ASSIST_C_NONE:
	case ASSIST_C_OTHER:
		return "unsupported instruction or processor mode";
	default:
		return "an instruction only KVM may execute";
	}
}

static void account(struct assist_cpu *c)
{
	const struct assist_resp *r = &c->resp;

	c->st.rounds++;
	c->st.insns += r->counts.insns;
	c->st.completed += r->counts.completed;
	c->st.rebuilds += r->counts.rebuilds;
	c->st.emu_ns += r->counts.ns;
	c->st.stops[r->stop]++;
	if ((r->stop == ASSIST_STOP_KVM || r->stop == ASSIST_STOP_UNSUPPORTED) &&
	    r->insn.cls < ASSIST_C_COUNT) {
		c->st.classes[r->insn.cls]++;
	}
}

/* After a VMM completion: true to send the next burst right away (cheaper than re-entering
 * KVM, which would only reject the next SSE instruction again). */
static bool complete_and_go_on(struct vcpu *v, struct assist_cpu *c, uint64_t *budget, bool *ok)
{
	struct fault f;

	switch (complete(v, c, &f)) {
	case DONE_OK:
		c->req.regs.rip += c->resp.insn.len;
		break;
	case DONE_FAULT:
		*ok = inject(v, c, &f) || fail(v, c, "cannot inject the exception");
		return false;
	case DONE_FAIL:
	default:
		*ok = fail(v, c, "completing it failed");
		return false;
	}
	*budget -= c->resp.counts.insns < *budget ? c->resp.counts.insns : *budget;
	*ok = true;
	return *budget > 0;
}

/* Decides after one reply: returns true to send another burst, with *ok the result. */
static bool after_reply(struct vcpu *v, struct assist_cpu *c, bool stuck, uint64_t *budget,
			bool *ok)
{
	struct fault f = {.vector = VEC_NM};

	*ok = true;
	switch (c->resp.stop) {
	case ASSIST_STOP_VMM:
		return complete_and_go_on(v, c, budget, ok);
	case ASSIST_STOP_NM:
		*ok = inject(v, c, &f) || fail(v, c, "cannot inject #NM");
		return false;
	case ASSIST_STOP_FAULT:
		/* precise: the state is the one before the faulting instruction */
		fault_from_reply(v->vm, c, &f);
		*ok = (f.vector < 32 && f.vector != 8 && inject(v, c, &f)) ||
		      fail(v, c, "cannot deliver its exception");
		return false;
	case ASSIST_STOP_PAGE:
		*ok = !stuck || fail(v, c, "it touches a page-table frame or memory outside RAM");
		return false;
	case ASSIST_STOP_UNSUPPORTED:
		*ok = fail(v, c, unsupported_reason(c->resp.insn.cls));
		return false;
	case ASSIST_STOP_ERROR:
		*ok = fail(v, c, "the assist process failed");
		return false;
	default:
		return false; /* cap reached, or KVM's turn */
	}
}

static bool run_bursts(struct vcpu *v, struct assist_cpu *c)
{
	uint64_t budget = ASSIST_DEFAULT_CAP;
	bool ok = false, first = true;

	for (unsigned round = 0; round < MAX_ROUNDS; round++) {
		uint64_t t = now_ns();
		int rc;
		c->req.flags = first ? ASSIST_F_FIRST_FAILED : 0;
		c->req.max_insns = (uint32_t)budget;
		rc = roundtrip(v, c);
		c->st.burst_ns += now_ns() - t;
		if (rc == -2) {
			return false; /* the VM is stopping */
		}
		if (rc != 0) {
			vm_finish(
			    v->vm, ST_KVM_INTERNAL,
			    "KVM internal error on vCPU %u: suberror 1 (instruction emulation "
			    "failed) at RIP 0x%llx; the instruction assist process is gone",
			    v->id, (unsigned long long)c->req.regs.rip);
			return false;
		}
		account(c);
		/* stopped again where KVM gave up: nobody else can run that instruction */
		bool stuck =
		    first && c->resp.regs.rip == c->req.regs.rip && c->resp.counts.completed == 0;
		take_reply(c);
		if (!after_reply(v, c, stuck, &budget, &ok)) {
			return ok;
		}
		first = false;
	}
	return true;
}

bool assist_emulation_failure(struct vcpu *v)
{
	struct assist_cpu *c = v->assist;
	uint64_t t0 = now_ns();
	bool ok;

	if (c == NULL || c->sock < 0) {
		return false;
	}
	if (!get_state(v, c)) {
		vm_finish(v->vm, ST_KVM_FAIL,
			  "instruction assist on vCPU %u: cannot read its state: %s", v->id,
			  strerror(errno));
		return false;
	}
	c->st.exits++;
	ok = run_bursts(v, c);
	if (ok && !put_state(v, c)) {
		vm_finish(v->vm, ST_KVM_FAIL,
			  "instruction assist on vCPU %u: cannot write its state: %s", v->id,
			  strerror(errno));
		ok = false;
	}
	c->st.total_ns += now_ns() - t0;
	return ok;
}

/* ======================= --stats ======================= */

static void sum_stats(const struct vm *vm, struct assist_stats *s)
{
	memset(s, 0, sizeof *s);
	for (unsigned i = 0; vm->vcpus != NULL && i < vm->ncpu; i++) {
		const struct assist_cpu *c = vm->vcpus[i].assist;
		const uint64_t *src = (const uint64_t *)(const void *)&c->st;
		uint64_t *dst = (uint64_t *)(void *)s;
		for (size_t k = 0; c != NULL && k < sizeof *s / sizeof(uint64_t); k++) {
			dst[k] += src[k]; /* every field is a uint64_t counter */
		}
	}
}

static void print_list(const char *title, const uint64_t *n, unsigned count,
		       const char *(*name)(unsigned))
{
	bool any = false;

	for (unsigned i = 0; i < count; i++) {
		if (n[i] != 0) {
			fprintf(stderr, "%s %s %llu", any ? "," : title, name(i),
				(unsigned long long)n[i]);
			any = true;
		}
	}
	if (any) {
		fprintf(stderr, "\n");
	}
}

static const char *vector_name(unsigned v)
{
	static const char *const n[32] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD",
					  "#NM", "#DF", "09",  "#TS", "#NP", "#SS", "#GP",
					  "#PF", "15",	"#MF", "#AC", "#MC", "#XM"};
	return v < 32 && n[v] != NULL ? n[v] : "?";
}

void assist_print_stats(const struct vm *vm)
{
	struct assist_stats s;

	_Static_assert(sizeof s % sizeof(uint64_t) == 0, "assist_stats holds only counters");
	sum_stats(vm, &s);
	if (s.exits == 0) {
		return; /* never engaged (e.g. hardware virtualization) */
	}
	fprintf(
	    stderr,
	    "  instruction assist: %llu emulation exits, %llu bursts, %llu instructions emulated\n"
	    "    time in bursts %.3f ms (%.1f us per burst, %.3f ms of it in the assist process), "
	    "in the assist path %.3f ms\n",
	    (unsigned long long)s.exits, (unsigned long long)s.rounds, (unsigned long long)s.insns,
	    (double)s.burst_ns / 1e6, s.rounds ? (double)s.burst_ns / 1e3 / (double)s.rounds : 0.0,
	    (double)s.emu_ns / 1e6, (double)s.total_ns / 1e6);
	print_list("    completed in the VMM:", s.ops, ASSIST_OP_COUNT, assist_op_name);
	fprintf(stderr,
		"    completed in the assist: %llu (POPCNT/TZCNT/LZCNT); page-table changes "
		"followed: %llu; KVM_SET_XSAVE: %llu\n",
		(unsigned long long)s.completed, (unsigned long long)s.rebuilds,
		(unsigned long long)s.xsave_sets);
	print_list("    burst stops:", s.stops, ASSIST_STOP_COUNT, assist_stop_name);
	print_list("    stopped before:", s.classes, ASSIST_C_COUNT, assist_class_name);
	print_list("    injected:", s.injected, 32, vector_name);
}
