/* SPDX-License-Identifier: MIT */
/* assist_spawn.c - the assist helper's lifecycle, on the VMM side.  assist_init (before
 * confinement, before the kernel image is parsed) forks a child that holds only guest RAM,
 * one socket per vCPU and the read end of a pipe, and waits: first for guest RAM's start
 * and size, which assist_set_ram writes once the image is parsed and the layout chosen (by
 * then the VMM is confined and could not exec anything), then for the first request, at
 * which it execs uhyve-sec-assist (assist/, looked up only next to uhyve-sec), so a guest
 * that never needs the assist never pays for the emulator.  Also the vCPU ioctls the
 * assist adds to the VMM's allowlist.  Trusts nothing from the helper: it only ever reads its
 * replies (assist_exit.c). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "assist_vmm.h"
#include "helper_path.h"

bool assist_available(void)
{
	return true;
}

/* The vCPU ioctls assist_emulation_failure() and JIT mode may issue, for the VMM's seccomp
 * allowlist (the run loop's own KVM_RUN, KVM_GET_REGS and KVM_GET_SREGS are not repeated);
 * KVM_SET_GUEST_DEBUG turns on single-stepping when a vCPU engages JIT mode. */
#define ASSIST_IOCTLS(X)                                                                           \
	X(KVM_GET_XSAVE)                                                                           \
	X(KVM_SET_XSAVE)                                                                           \
	X(KVM_GET_XCRS)                                                                            \
	X(KVM_SET_REGS)                                                                            \
	X(KVM_SET_SREGS)                                                                           \
	X(KVM_GET_MSRS)                                                                            \
	X(KVM_SET_MSRS)                                                                            \
	X(KVM_GET_VCPU_EVENTS)                                                                     \
	X(KVM_SET_VCPU_EVENTS)                                                                     \
	X(KVM_SET_GUEST_DEBUG)
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
	fprintf(
	    f,
	    "\nInstruction assist (%s, built in; where this KVM emulates CPL-0 code (no VMX/SVM) "
	    "it runs guest code by default (JIT mode), elsewhere it starts at the first "
	    "instruction KVM cannot emulate; never with --assist=off):\n",
	    ASSIST_HELPER_NAME);
	fprintf(f, "  VMM: while the assist is enabled, ioctl on the vCPU fds also accepts");
	for (size_t i = 0; i < sizeof assist_ioctl_name / sizeof assist_ioctl_name[0]; i++) {
		fprintf(f, "%s%s", i == 0 ? " " : ", ", assist_ioctl_name[i]);
	}
	fprintf(f, "\n");
}

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

/* What the forked child holds before it execs the helper: the helper's fds (RAM, the control
 * page, one socket per vCPU), all duplicated above every target number so that no dup2 in
 * the child overwrites a source it still needs, and the read end of the geometry pipe. */
struct helper_fds {
	int mem, ctl, geo;
	int *sock; /* n of them */
	unsigned n;
	bool jit; /* exec at once (JIT mode), not at the first request */
};

/* Decimal digits of v into buf (async-signal-safe: no snprintf in the child). */
static void u64_dec(uint64_t v, char buf[24])
{
	char tmp[24];
	unsigned n = 0, i = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n > 0) {
		buf[i++] = tmp[--n];
	}
	buf[i] = '\0';
}

/* Reads guest RAM's start and size from the geometry pipe (written by assist_set_ram once the
 * kernel image is parsed, after confinement).  EOF before that: the VMM ended its setup. */
static void read_geometry(int fd, char start[24], char size[24])
{
	uint64_t g[2];
	size_t got = 0;

	while (got < sizeof g) {
		ssize_t r = read(fd, (char *)g + got, sizeof g - got);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			_exit(0);
		}
		got += (size_t)r;
	}
	close(fd);
	u64_dec(g[0], start);
	u64_dec(g[1], size);
}

/* Child side of the fork: only async-signal-safe calls (another VMM thread may exist).
 * fds of the helper: 3 = RAM, 4 + i = socket of vCPU i (assist_proto.h); stdin and stdout on
 * /dev/null, stderr kept for its start-up diagnostics; its own session (no terminal signals:
 * the VMM decides when it ends), default signal handling, an empty mask (ours blocks the stop
 * signals), an empty environment.  Before the exec it waits for the RAM geometry (argv), then
 * for the first request. */
static void exec_helper(const char *path, char *argv[], const struct helper_fds *h)
{
	char *const envp[] = {NULL};
	int geo = ASSIST_FD_SOCK0 + (int)h->n; /* just above the helper's fds */
	sigset_t none;
	int null = open("/dev/null", O_RDWR);

	if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(h->mem, ASSIST_FD_MEM) < 0 ||
	    dup2(h->ctl, ASSIST_FD_CTL) < 0) {
		_exit(127);
	}
	for (unsigned i = 0; i < h->n; i++) {
		if (dup2(h->sock[i], ASSIST_FD_SOCK0 + (int)i) < 0) {
			_exit(127);
		}
	}
	if (dup2(h->geo, geo) < 0) {
		_exit(127);
	}
	close_range((unsigned)geo + 1, ~0u, 0); /* also our copy of the pipe's write end */
	setsid();
	prctl(PR_SET_NAME, ASSIST_HELPER_NAME); /* not "uhyve-sec": that child is the broker */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	read_geometry(geo, argv[1], argv[2]);
	if (!h->jit) {
		wait_first_request(h->n);
	}
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	execve(path, argv, envp);
	_exit(127);
}

/* fork, not posix_spawn: the child execs the helper only when the first request arrives, so
 * setup costs the VMM one fork (a few hundred microseconds) and a guest that never needs the
 * assist costs nothing more. */
static int spawn_helper(struct vm *vm, const char *path, const struct helper_fds *h, pid_t *pid)
{
	char name[] = ASSIST_HELPER_NAME, start[24] = "", size[24] = "", ncpu[16], mode[8];
	char *argv[] = {name, start, size, ncpu, mode, NULL};

	snprintf(mode, sizeof mode, "%s", h->jit ? "jit" : "exits");

	snprintf(ncpu, sizeof ncpu, "%u", vm->ncpu);
	*pid = fork();
	if (*pid == 0) {
		exec_helper(path, argv, h);
	}
	return *pid < 0 ? errno : 0;
}

/* A SOCK_SEQPACKET pair for vCPU i: our end in its assist_cpu, the helper's end above `floor`
 * in *peer. */
static int vcpu_socket(struct vm *vm, unsigned i, int floor, int *peer)
{
	struct assist_cpu *c = vm->vcpus[i].assist;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		return errno;
	}
	c->sock = sv[0];
	*peer = fcntl(sv[1], F_DUPFD_CLOEXEC, floor);
	close(sv[1]);
	return *peer < 0 ? errno : 0;
}

/* The geometry pipe: the child's read end above `floor`, our write end in a->geo_fd. */
static int geometry_pipe(struct assist_vm *a, int floor, int *rd)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) != 0) {
		return errno;
	}
	a->geo_fd = p[1];
	*rd = fcntl(p[0], F_DUPFD_CLOEXEC, floor);
	close(p[0]);
	return *rd < 0 ? errno : 0;
}

static int start_helper(struct vm *vm, struct assist_vm *a, const char *path, int ctl)
{
	int floor = ASSIST_FD_SOCK0 + (int)vm->ncpu + 1;
	struct helper_fds h = {.mem = -1, .ctl = -1, .geo = -1, .n = vm->ncpu, .jit = a->jit};
	int rc = 0;

	if ((h.sock = malloc(vm->ncpu * sizeof *h.sock)) == NULL) {
		return ENOMEM;
	}
	for (unsigned i = 0; i < vm->ncpu; i++) {
		h.sock[i] = -1;
	}
	h.mem = fcntl(vm->mem.fd, F_DUPFD_CLOEXEC, floor);
	h.ctl = fcntl(ctl, F_DUPFD_CLOEXEC, floor);
	rc = h.mem < 0 || h.ctl < 0 ? errno : geometry_pipe(a, floor, &h.geo);
	for (unsigned i = 0; rc == 0 && i < vm->ncpu; i++) {
		rc = vcpu_socket(vm, i, floor, &h.sock[i]);
	}
	if (rc == 0) {
		rc = spawn_helper(vm, path, &h, &a->pid);
	}
	for (unsigned i = 0; i < vm->ncpu; i++) {
		if (h.sock[i] >= 0) {
			close(h.sock[i]);
		}
	}
	if (h.mem >= 0) {
		close(h.mem);
	}
	if (h.ctl >= 0) {
		close(h.ctl);
	}
	if (h.geo >= 0) {
		close(h.geo);
	}
	free(h.sock);
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

/* The control page (struct assist_ctl): a sealed memfd the VMM maps read-write; the assist
 * can only map it read-only (F_SEAL_FUTURE_WRITE) and nobody can resize it. */
static int control_page(struct assist_vm *a, int *fd)
{
	void *p;

	*fd = memfd_create("uhyve-sec-assist-ctl", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*fd < 0 || ftruncate(*fd, 4096) != 0 ||
	    fcntl(*fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
		return errno;
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (p == MAP_FAILED) {
		return errno;
	}
	a->ctl = p;
	gmem_count_writes_at(&a->ctl->ram_writes);
	return fcntl(*fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) == 0 ? 0 : errno;
}

int assist_init(struct vm *vm)
{
	struct assist_vm *a = calloc(1, sizeof *a);
	char path[PATH_MAX];
	int rc, ctl = -1;

	if (a == NULL || alloc_cpus(vm) != 0) {
		free(a);
		uhs_msg("out of memory");
		return ST_OSERR;
	}
	a->pid = -1;
	a->geo_fd = -1;
	vm->assist = a;
	rc = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	a->sync_mask = rc > 0 ? (uint32_t)rc : 0;
	rc = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2);
	a->blockirq = rc > 0 && (rc & KVM_GUESTDBG_BLOCKIRQ);
	a->jit = assist_jit_wanted(vm);
	assist_xsave_init();
	if (helper_path(ASSIST_HELPER_NAME, "assist", path, sizeof path) != 0) {
		/* not fatal: a guest that never needs it runs (status 71 when one does) */
		a->missing = true;
		a->jit = false;
		return 0;
	}
	if ((rc = check_memfd(vm)) != 0) {
		return rc;
	}
	/* The helper starts in the background: a guest that never needs it does not wait. */
	if ((rc = control_page(a, &ctl)) != 0 || (rc = start_helper(vm, a, path, ctl)) != 0) {
		uhs_msg("cannot start the instruction assist %s: %s", path, strerror(rc));
		if (ctl >= 0) {
			close(ctl);
		}
		return ST_OSERR;
	}
	close(ctl);
	return 0;
}

int assist_set_ram(struct vm *vm)
{
	struct assist_vm *a = vm->assist;
	uint64_t g[2] = {vm->mem.start, vm->mem.size};
	ssize_t n;

	if (a->missing) {
		return 0;
	}
	do {
		n = write(a->geo_fd, g, sizeof g); /* 16 bytes into an empty pipe: all or nothing */
	} while (n < 0 && errno == EINTR);
	close(a->geo_fd);
	a->geo_fd = -1;
	if (n != (ssize_t)sizeof g) {
		uhs_msg("cannot hand the guest RAM geometry to the instruction assist: %s",
			n < 0 ? strerror(errno) : "short write");
		return ST_OSERR;
	}
	return a->jit ? assist_jit_setup(vm) : 0;
}

/* The helper exits on EOF (and by PR_SET_PDEATHSIG when we exit), but it is our child: we
 * reap it, so that no zombie is left for PID 1 (issue 16 item 12).  SIGKILL first: a
 * compromised helper might ignore the EOF, and one still starting has not seen it yet. */
static void reap(struct assist_vm *a)
{
	int st;

	if (a->pid <= 0) {
		return;
	}
	kill(a->pid, SIGKILL);
	while (waitpid(a->pid, &st, 0) < 0 && errno == EINTR) {
	}
	a->pid = -1;
}

void assist_fini(struct vm *vm)
{
	struct assist_vm *a = vm->assist;

	if (a != NULL && a->geo_fd >= 0) {
		close(a->geo_fd); /* EOF: a child still waiting for the geometry exits */
	}
	for (unsigned i = 0; vm->vcpus != NULL && i < vm->ncpu; i++) {
		struct assist_cpu *c = vm->vcpus[i].assist;
		if (c != NULL && c->sock >= 0) {
			close(c->sock); /* EOF: the helper exits */
		}
		free(c);
		vm->vcpus[i].assist = NULL;
	}
	if (a != NULL) {
		reap(a);
		if (a->ctl != NULL) {
			munmap(a->ctl, 4096);
		}
	}
	free(a);
	vm->assist = NULL;
}

pid_t assist_pid(const struct vm *vm)
{
	const struct assist_vm *a = vm->assist;

	return a != NULL ? a->pid : -1;
}
