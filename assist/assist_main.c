/* SPDX-License-Identifier: MIT */
/* assist_main.c - uhyve-sec-assist: runs bursts of guest instructions in Unicorn for the VMM.
 * This file is the process: arguments, guest RAM, privileges, confinement and the serve loop;
 * assist_internal.h lists the others.  common/include/assist_proto.h has the process model and
 * the protocol, docs/assist.md the design.
 *
 * How a burst stays exact despite Unicorn 2.0.1's defects (hermit-abi.md g.3):
 *  - Shadow page tables.  Unicorn never walks the guest's tables: its CR3 points at tables we
 *    build from a snapshot of the guest's, in which a page is present only if a burst may
 *    touch it: backed by guest RAM, and not a page-table frame (those are read-only: page-table
 *    writes must happen in KVM, whose shadow MMU tracks them).  Unicorn uses the virtual
 *    address as the physical one (defect 1), and it never walks guest tables, so its address
 *    space is purely virtual: every present page is mapped at its virtual address onto the host
 *    memory of its frame (identity pages are no special case, so Hermit's stacks, whose
 *    virtual addresses overlap guest-physical RAM, work too).  Unicorn 2.0.1 looks for a
 *    memory region at the virtual address *before* it walks the tables and stops imprecisely
 *    (RIP at the start of the block, the block partly executed: defect 4) where it finds none,
 *    so an unmapped-memory hook puts a 4 KiB placeholder there and lets the access go on to
 *    the walk.  Every access a burst must not make is then a precise #PF inside Unicorn, and
 *    the burst stops before the instruction.  Guest NX bits never reach Unicorn (so defect 3 cannot
 *    arise); the block hook refuses NX code pages instead.
 *  - The snapshot is compared with the guest's tables before every burst (accessed/dirty bits
 *    ignored).  On a change the shadow is rebuilt into the other of two pools and Unicorn's TLB
 *    is flushed by mapping a dummy page (defect 2: Unicorn's CR3 writes do not flush).
 *  - Screening per translated block: a block hook decodes each block once with Zydis (cached,
 *    compared with the current bytes every time the block runs), counts instructions for the
 *    cap, and puts a code hook bounded to the address of every instruction on the stop list,
 *    so a burst ends exactly before it (defect 5).  Per-block hooks, and code hooks only where
 *    a burst must stop, keep the cost at 1-2 ns per instruction.
 *  - Unicorn never delivers exceptions: the interrupt hook stops the burst, and the CPU
 *    context is restored from a pristine copy before the next burst (QEMU would otherwise turn
 *    the next #PF into a double fault: its nested-exception state is reset only by a delivery).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "assist_internal.h"
#include "assist_sandbox.h"
#include "uhs_slice.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define ASSIST_SANITIZED 1 /* sanitizer runtimes need syscalls no allowlist should hold */
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define ASSIST_SANITIZED 1
#endif
#endif
#ifndef ASSIST_SANITIZED
#define ASSIST_SANITIZED 0
#endif

static struct ram g_ram;
static const struct assist_ctl *g_ctl;
static pthread_barrier_t g_ready, g_go;
static unsigned g_ncpu;
static bool g_jit; /* argv MODE "jit": each worker announces itself once confined */
static pid_t g_vmm; /* our parent */
static volatile int g_init_failed;

static void die(const char *what)
{
	fprintf(stderr, "%s: %s: %s\n", ASSIST_HELPER_NAME, what, strerror(errno));
	_exit(71);
}

/* The vCPU thread sleeps while its burst runs: on its CPU the two wake each other with a
 * context switch instead of an inter-processor interrupt (15 us instead of 40-90 per burst
 * here).  The request says where that thread is; a failure (a CPU we may not use) is
 * remembered and not retried.  In JIT mode bursts are most of the guest's time: pinned to
 * one CPU, a worker waits there while the other CPU may be free (measured: 18 ms for one
 * burst beside a busy vCPU), so there the request says ASSIST_CPU_ANY. */
static void follow_cpu(struct worker *w, uint32_t cpu)
{
	cpu_set_t set;

	if (cpu == w->cpu || (cpu >= CPU_SETSIZE && cpu != ASSIST_CPU_ANY)) {
		return;
	}
	CPU_ZERO(&set);
	for (unsigned i = 0; i < CPU_SETSIZE && cpu == ASSIST_CPU_ANY; i++) {
		CPU_SET(i, &set); /* JIT mode: wherever the scheduler finds room */
	}
	if (cpu != ASSIST_CPU_ANY) {
		CPU_SET(cpu, &set);
	}
	w->cpu = cpu;
	sched_setaffinity(0, sizeof set, &set);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One vCPU: after a reply the VMM's next request usually follows within a KVM step or a
 * hypercall (tens of us); look for it on the control page a little before sleeping in
 * read(2), whose wake-up from another CPU would cost more than the wait.  The count is only
 * a hint (a stale one costs a blocking read, as without it); `served` counts requests read. */
static void spin_for_request(struct worker *w, uint32_t served)
{
	const struct assist_resp *o = &w->out;
	uint64_t t0, t, limit = ASSIST_SPIN_NS;

	if (g_ncpu != 1 || g_ctl == NULL) {
		return;
	}
	t0 = now_ns();
	if ((o->stop == ASSIST_STOP_VMM &&
	     (o->insn.op == ASSIST_OP_PIO || o->insn.op == ASSIST_OP_HLT ||
	      o->insn.op == ASSIST_OP_PAUSE)) ||
	    (w->in.flags & ASSIST_F_SPIN_SHORT) || t0 < w->spin_backoff_until) {
		/* a hypercall (the broker, a file), HLT; a NIC thread in the VMM; a busy host */
		limit = ASSIST_SPIN_SHORT_NS;
	}
	while ((int32_t)(__atomic_load_n(&g_ctl->sent[w->id], __ATOMIC_ACQUIRE) - served) <= 0) {
		if ((t = now_ns()) - t0 >= limit) {
			if (limit == ASSIST_SPIN_NS) { /* in vain: no CPU to spare, or a slow VMM */
				w->spin_backoff_until = t + ASSIST_SPIN_BACKOFF_NS;
			}
			return;
		}
		__builtin_ia32_pause();
	}
}

static void serve(struct worker *w)
{
	uint32_t served = 0;

	for (;;) {
		ssize_t n;
		spin_for_request(w, served);
		n = read(w->sock, &w->in, sizeof w->in);
		uint64_t t0;
		size_t len;
		if (n == 0) {
			_exit(0); /* the VMM is gone or done */
		}
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			_exit(0);
		}
		t0 = now_ns();
		served++;
		if ((size_t)n == sizeof w->in) {
			follow_cpu(w, w->in.cpu);
		}
		if ((size_t)n != sizeof w->in || w->in.magic != ASSIST_PROTO_MAGIC) {
			memset(&w->out, 0, ASSIST_RESP_SHORT);
			w->out.magic = ASSIST_PROTO_MAGIC;
			w->out.stop = ASSIST_STOP_ERROR;
		} else {
			burst(w);
		}
		w->out.counts.ns = now_ns() - t0;
		len = w->out.fpu_dirty ? sizeof w->out : ASSIST_RESP_SHORT;
		if (write(w->sock, &w->out, len) != (ssize_t)len) {
			_exit(0);
		}
	}
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct assist_ready hello = {.magic = ASSIST_READY_MAGIC, .vcpu = w->id};

	if (alloc_worker(w) != 0 || init_uc(w) != 0 || (w->smp && g_jit && alu_init(w) != 0)) {
		fprintf(stderr, "%s: vCPU %u: cannot set up the emulator\n", ASSIST_HELPER_NAME,
			w->id);
		g_init_failed = 1;
	}
	pthread_barrier_wait(&g_ready);
	pthread_barrier_wait(&g_go);
	if (g_jit && write(w->sock, &hello, sizeof hello) != (ssize_t)sizeof hello) {
		_exit(0);
	}
	serve(w);
	return NULL;
}

/* Before any thread exists: no privileges worth keeping. */
static void drop_privileges(void)
{
	if (getuid() == 0 || geteuid() == 0) {
		/* nobody: whatever the JIT might do is done without root */
		if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
		    setresuid(65534, 65534, 65534) != 0) {
			die("cannot drop root");
		}
	}
	/* changing credentials cleared the parent-death signal: set it again, then make sure
	 * the VMM did not die in between */
	if (getppid() != g_vmm) {
		_exit(0); /* the VMM ended before we were needed: nothing to report */
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != g_vmm ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		die("prctl");
	}
}

static void confine(unsigned n)
{
	char err[256];
	int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	struct rlimit none = {0, 0};

	/* no diagnostics once guest bytes run: stderr is the operator's terminal */
	if (null < 0 || dup2(null, 2) < 0 || close(null) != 0 ||
	    setrlimit(RLIMIT_NOFILE, &none) != 0 || setrlimit(RLIMIT_CORE, &none) != 0) {
		die("cannot detach from stderr");
	}
	if (!ASSIST_SANITIZED && assist_install_filter(n, err, sizeof err) != 0) {
		_exit(75);
	}
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno != 0 || end == s || *end != '\0' ? -1 : 0;
}

/* JIT mode: the MP-table probe ranges read as zeros where RAM does not cover them (as KVM's
 * read-only slots or the VMM's MMIO answers do); one read-only anonymous mapping backs both. */
static void map_zero(void)
{
	uint64_t s, n, lo = ~0ull, hi = 0;
	void *p;

	for (unsigned i = 0; i < ASSIST_ZERO_RANGES; i++) {
		assist_zero_range(i, &s, &n);
		lo = s < lo ? s : lo;
		hi = s + n > hi ? s + n : hi;
	}
	p = mmap(NULL, hi - lo, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) {
		die("cannot map the zero ranges");
	}
	g_ram.zero = p;
	g_ram.zero_start = lo;
	g_ram.zero_end = hi;
}

static void map_ram(const char *start, const char *size)
{
	void *p;

	if (parse_u64(start, &g_ram.start) != 0 || parse_u64(size, &g_ram.size) != 0 ||
	    g_ram.size == 0 || g_ram.size % PAGE != 0 || g_ram.start % PAGE != 0 ||
	    g_ram.start + g_ram.size < g_ram.start) {
		errno = EINVAL;
		die("bad guest RAM arguments");
	}
	p = mmap(NULL, g_ram.size, PROT_READ | PROT_WRITE, MAP_SHARED, ASSIST_FD_MEM, 0);
	if (p == MAP_FAILED) {
		die("cannot map guest RAM");
	}
	g_ram.base = p;
	close(ASSIST_FD_MEM);
	map_zero();
	/* the doorbells: written by the VMM only, read here */
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, ASSIST_FD_CTL, 0);
	if (p == MAP_FAILED) {
		die("cannot map the control page");
	}
	g_ctl = p;
	close(ASSIST_FD_CTL);
}

int main(int argc, char **argv)
{
	uint64_t n;
	struct worker *ws;

	g_vmm = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || g_vmm == 1) {
		return 71; /* the VMM died before we could watch it */
	}
	if (argc != 5 || parse_u64(argv[3], &n) != 0 || n == 0 || n > ASSIST_MAX_VCPUS ||
	    (strcmp(argv[4], "jit") != 0 && strcmp(argv[4], "exits") != 0)) {
		fprintf(stderr,
			"usage: %s RAM_START RAM_SIZE NCPU jit|exits (started by uhyve-sec)\n",
			ASSIST_HELPER_NAME);
		return 64;
	}
	g_ncpu = (unsigned)n;
	g_jit = strcmp(argv[4], "jit") == 0;
	/* One malloc arena: glibc trims a thread arena by first reading
	 * /proc/sys/vm/overcommit_memory, a file the filter (rightly) does not allow. */
	mallopt(M_ARENA_MAX, 1);
	map_ram(argv[1], argv[2]);
	drop_privileges();
	if (g_jit) {
		uhs_short_slice(); /* the workers inherit it: a burst starts as soon as it is asked
				    */
	}
	ws = calloc(g_ncpu, sizeof *ws);
	if (ws == NULL || pthread_barrier_init(&g_ready, NULL, g_ncpu + 1) != 0 ||
	    pthread_barrier_init(&g_go, NULL, g_ncpu + 1) != 0) {
		die("out of memory");
	}
	for (unsigned i = 0; i < g_ncpu; i++) {
		ws[i] = (struct worker){.id = i,
					.sock = ASSIST_FD_SOCK0 + (int)i,
					.ram = &g_ram,
					.cpu = ~0u,
					.smp = g_ncpu > 1,
					.doorbell = &g_ctl->doorbell[i],
					.ram_writes = &g_ctl->ram_writes};
		if (pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]) != 0) {
			die("cannot start a thread");
		}
	}
	pthread_barrier_wait(&g_ready);
	if (g_init_failed) {
		_exit(71);
	}
	confine(g_ncpu);
	pthread_barrier_wait(&g_go);
	pthread_join(ws[0].thread, NULL); /* never returns: a worker ends the process */
	_exit(0);
}
