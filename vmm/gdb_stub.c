/* SPDX-License-Identifier: MIT */
/* gdb_stub.c - the debugger's thread in the VMM (gdb.h): it owns the connected socket the
 * launcher accepted, reads packets (gdb_proto.c), acknowledges them, dispatches them
 * (gdb_cmd.c onto gdb_target.c) while the machine is stopped, sends the stop reply when every
 * vCPU has parked (gdb_vcpu.c), and the exit status (W/X) when the run ends.  It is created
 * before the seccomp filter and handles no packet before every vCPU has parked at its first
 * KVM_RUN, i.e. after the filter is in: the VMM's allowlist gains nothing for the socket
 * (read, write, poll and close on any fd it already holds), only the vCPU ioctls of
 * gdb_vcpu_ioctls().  A detach or a lost connection removes every breakpoint and lets the
 * guest run on; `kill` ends the run with status 137. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gdb.h"

#define SEND_POLL_MS   200
#define SEND_GIVEUP_MS 3000 /* once the run is over, a debugger that reads nothing is left */

static bool ended(struct gdb *g)
{
	bool e;

	pthread_mutex_lock(&g->mu);
	e = g->ended;
	pthread_mutex_unlock(&g->mu);
	return e;
}

static int send_bytes(struct gdb *g, const uint8_t *b, size_t n)
{
	size_t off = 0;
	int waited = 0;

	while (off < n && g->fd >= 0) {
		ssize_t w = write(g->fd, b + off, n - off);
		if (w > 0) {
			off += (size_t)w;
		} else if (w < 0 && errno == EAGAIN) {
			struct pollfd p = {.fd = g->fd, .events = POLLOUT};
			if (poll(&p, 1, SEND_POLL_MS) == 0 &&
			    (waited += SEND_POLL_MS) >= SEND_GIVEUP_MS && ended(g)) {
				return -1;
			}
		} else if (w < 0 && errno != EINTR) {
			return -1;
		}
	}
	return g->fd >= 0 ? 0 : -1;
}

static int send_packet(struct gdb *g, const char *data, size_t len)
{
	g->out_len = gdb_frame((const uint8_t *)data, len, g->out, sizeof g->out);
	return send_bytes(g, g->out, g->out_len);
}

static void close_conn(struct gdb *g)
{
	if (g->fd >= 0) {
		close(g->fd);
		g->fd = -1;
	}
}

/* Detach, or the debugger went away: breakpoints out, guest debug off, everyone runs. */
static void detach_locked(struct gdb *g)
{
	enum gdb_run all[GDB_MAX_CPUS];

	gdb_clear_breakpoints_locked(g);
	atomic_store(&g->attached, false);
	for (unsigned i = 0; i < g->vm->ncpu; i++) {
		all[i] = GDB_RUN_CONT;
		g->cpu[i].has_event = false;
	}
	gdb_release_locked(g, all);
	g->state = GDB_ST_GONE;
}

static void detach(struct gdb *g, const char *why)
{
	pthread_mutex_lock(&g->mu);
	detach_locked(g);
	pthread_mutex_unlock(&g->mu);
	close_conn(g);
	uhs_msg("gdb: %s; breakpoints removed, the guest runs on", why);
}

/* The event to report for a halted machine: the one that halted it, any other, or Ctrl-C. */
static struct gdb_stop pick_event_locked(struct gdb *g)
{
	struct gdb_stop ev = {.why = GDB_WHY_SIGNAL, .sig = GDB_SIGINT, .cpu = g->sess.gcpu};
	int i = g->event_cpu;

	for (unsigned k = 0; (i < 0 || !g->cpu[i].has_event) && k < g->vm->ncpu; k++) {
		i = g->cpu[k].has_event ? (int)k : -1;
	}
	if (i >= 0 && g->cpu[i].has_event) {
		ev = g->cpu[i].ev;
		g->cpu[i].has_event = false;
	}
	return ev;
}

/* Machine state changes: the first stop, a stop to report, the end of the run.  Returns
 * false when the thread must leave its loop. */
static bool check_machine(struct gdb *g)
{
	bool report = false;

	pthread_mutex_lock(&g->mu);
	if (g->ended) {
		pthread_mutex_unlock(&g->mu);
		return false;
	}
	if (g->state == GDB_ST_INIT && g->nparked == g->vm->ncpu) {
		g->state = GDB_ST_STOPPED; /* every vCPU waits before its first instruction */
	} else if (g->state == GDB_ST_RUNNING && g->halt && g->nparked == g->vm->ncpu) {
		struct gdb_stop ev = pick_event_locked(g);
		gdb_stop_reply(&g->sess, &ev);
		g->state = GDB_ST_STOPPED;
		report = true;
	}
	pthread_mutex_unlock(&g->mu);
	if (report && send_packet(g, g->sess.reply, g->sess.reply_len) != 0) {
		detach(g, "the debugger's connection failed");
	}
	return g->state != GDB_ST_GONE;
}

static void kill_run(struct gdb *g)
{
	pthread_mutex_lock(&g->mu);
	g->state = GDB_ST_GONE;
	pthread_mutex_unlock(&g->mu);
	vm_finish(g->vm, ST_SIGNAL_BASE + SIGKILL, "killed by the debugger (gdb kill)");
}

static void handle_packet(struct gdb *g)
{
	enum gdb_verdict v;

	if (g->state != GDB_ST_STOPPED) {
		send_packet(g, "E16", 3); /* all-stop: only Ctrl-C while the guest runs */
		return;
	}
	pthread_mutex_lock(&g->mu);
	v = gdb_dispatch(&g->sess, g->rx.buf, g->rx.len);
	if (v == GDB_V_RESUMED) {
		g->state = GDB_ST_RUNNING;
	} else if (v == GDB_V_DETACH) {
		detach_locked(g);
	}
	pthread_mutex_unlock(&g->mu);
	if (v == GDB_V_RESUMED) {
		return;
	}
	if ((v != GDB_V_KILL || g->sess.reply_len > 0) &&
	    send_packet(g, g->sess.reply, g->sess.reply_len) != 0 && v == GDB_V_REPLY) {
		detach(g, "the debugger's connection failed");
		return;
	}
	if (v == GDB_V_DETACH) {
		close_conn(g);
		uhs_msg("gdb: the debugger detached; breakpoints removed, the guest runs on");
	} else if (v == GDB_V_KILL) {
		close_conn(g);
		kill_run(g);
	}
}

static void interrupt(struct gdb *g)
{
	pthread_mutex_lock(&g->mu);
	if (g->state == GDB_ST_RUNNING && !g->halt) {
		g->interrupted = true;
		gdb_halt_locked(g);
	}
	pthread_mutex_unlock(&g->mu);
}

static void on_byte(struct gdb *g, uint8_t b)
{
	switch (gdb_rx_byte(&g->rx, b)) {
	case GDB_RX_PACKET:
		if (!g->sess.noack && send_bytes(g, (const uint8_t *)"+", 1) != 0) {
			return;
		}
		handle_packet(g);
		break;
	case GDB_RX_BADSUM:
	case GDB_RX_TOOLONG:
		if (!g->sess.noack) {
			send_bytes(g, (const uint8_t *)"-", 1);
		}
		break;
	case GDB_RX_NAK:
		if (!g->sess.noack && g->out_len > 0) {
			send_bytes(g, g->out, g->out_len);
		}
		break;
	case GDB_RX_INTERRUPT:
		interrupt(g);
		break;
	default:
		break;
	}
}

static void read_socket(struct gdb *g)
{
	uint8_t buf[4096];
	ssize_t n = read(g->fd, buf, sizeof buf);

	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return;
	}
	if (n <= 0) {
		detach(g, "the debugger disconnected");
		return;
	}
	for (ssize_t i = 0; i < n && g->state != GDB_ST_GONE; i++) {
		on_byte(g, buf[i]);
	}
}

static void drain(int fd)
{
	char b[64];

	while (read(fd, b, sizeof b) > 0) {
	}
}

static void *stub_main(void *arg)
{
	struct gdb *g = arg;

	/* past glibc's thread start (rseq, robust list): seccomp may come now (gdb_start) */
	pthread_mutex_lock(&g->mu);
	g->thread_running = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
	while (g->state != GDB_ST_GONE) {
		struct pollfd p[2] = {{.fd = g->wake[0], .events = POLLIN},
				      {.fd = g->fd, .events = POLLIN}};
		nfds_t n = g->state == GDB_ST_INIT ? 1 : 2; /* no packet before the first stop */
		if (poll(p, n, -1) < 0 && errno != EINTR) {
			break;
		}
		if (p[0].revents != 0) {
			drain(g->wake[0]);
		}
		if (!check_machine(g)) {
			break;
		}
		if (n == 2 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
			read_socket(g);
			(void)check_machine(g); /* a resume may report at once (a pending watch) */
		}
	}
	if (g->state != GDB_ST_GONE && g->state != GDB_ST_INIT && g->fd >= 0) {
		gdb_exit_reply(&g->sess, g->end_status);
		send_packet(g, g->sess.reply, g->sess.reply_len);
	}
	close_conn(g);
	return NULL;
}

static void print_probe(const struct gdb_probe *p)
{
	uhs_msg("gdb: this KVM: single step %s (%.1f us), execution breakpoints %s, software "
		"breakpoints %s, data watchpoints %s",
		p->step ? "yes" : "no", (double)p->step_ns / 1e3, p->hw_exec ? "yes" : "no",
		p->sw_exit	  ? "trap"
		: p->sw_emul_fail ? "seen as emulation failures"
				  : "no",
		p->hw_data ? "in the debug registers"
		: p->step  ? "emulated (write only: compared after every instruction)"
			   : "no");
}

int gdb_init(struct vm *vm)
{
	struct gdb *g = calloc(1, sizeof *g + vm->ncpu * sizeof(struct gdb_cpu));
	pthread_condattr_t ca;

	if (g == NULL || pipe2(g->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		uhs_msg("gdb: cannot set up the debugger: %s",
			g ? strerror(errno) : "out of memory");
		free(g);
		return ST_OSERR;
	}
	g->vm = vm;
	g->pid = getpid();
	g->fd = vm->cfg->gdb_fd;
	g->halt = true; /* the debugger sees the machine before its first instruction */
	g->event_cpu = -1;
	atomic_store(&g->attached, true);
	pthread_mutex_init(&g->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->cv, &ca);
	pthread_condattr_destroy(&ca);
	gdb_rx_init(&g->rx);
	gdb_session_init(&g->sess, &gdb_kvm_ops, g, vm->ncpu);
	gdb_probe(vm->kvm_fd, &g->probe);
	print_probe(&g->probe);
	vm->dbg = g;
	return 0;
}

void gdb_loaded(struct vm *vm, uint64_t load_offset)
{
	if (vm->dbg != NULL) {
		((struct gdb *)vm->dbg)->load_offset = load_offset;
	}
}

int gdb_start(struct vm *vm)
{
	struct gdb *g = vm->dbg;
	int rc;

	if (g == NULL) {
		return 0;
	}
	rc = pthread_create(&g->thread, NULL, stub_main, g);
	if (rc != 0) {
		uhs_msg("gdb: cannot start the debugger's thread: %s", strerror(rc));
		return ST_OSERR;
	}
	g->thread_started = true;
	pthread_mutex_lock(&g->mu);
	while (!g->thread_running) {
		pthread_cond_wait(&g->cv, &g->mu);
	}
	pthread_mutex_unlock(&g->mu);
	return 0;
}

void gdb_finish(struct vm *vm, int status)
{
	struct gdb *g = vm->dbg;

	if (g == NULL) {
		if (vm->cfg->gdb_fd > 2) {
			close(vm->cfg->gdb_fd); /* the run ended before the debugger was set up */
		}
		return;
	}
	pthread_mutex_lock(&g->mu);
	g->ended = true;
	g->end_status = status;
	pthread_mutex_unlock(&g->mu);
	gdb_wake(g);
	if (g->thread_started) {
		pthread_join(g->thread, NULL);
	}
	close_conn(g);
	close(g->wake[0]);
	close(g->wake[1]);
	pthread_cond_destroy(&g->cv);
	pthread_mutex_destroy(&g->mu);
	vm->dbg = NULL;
	free(g);
}
