/* SPDX-License-Identifier: MIT */
/* gdb_listen.c - the privileged half of the debugger (issue 15): before anything is confined,
 * the launcher listens on 127.0.0.1 and ::1 (-s/--gdb-port, HERMIT_GDB_PORT) or on a new Unix
 * socket of mode 0600 (--gdb-socket PATH), accepts exactly one connection, closes the
 * listeners (and removes the socket file) and hands the connected socket to the VMM
 * (vmm_config.gdb_fd), which serves the GDB protocol confined (vmm/gdb.h).  The VMM never
 * creates, binds or accepts a socket.
 *
 * Trusts: the operator's port or path.  Not the peer: on TCP anyone on this host may connect
 * first (the Unix socket admits only our own user and root); whatever connects gets the
 * guest's registers and memory, nothing of the host. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "launcher.h"
#include "uhs_msg.h"
#include "uhs_status.h"

#define POLL_MS	   200
#define PORT_TRIES 8 /* ephemeral port 0: both families must get the same number */

struct listeners {
	int fd[2];
	int n;
	int port;
	const char *path; /* the Unix socket we created, removed when done */
};

int gdb_parse_port(const char *s, const char *what, int *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end != '\0' || errno != 0 || v < 0 || v > 65535) {
		uhs_msg("invalid %s '%s': expected a TCP port from 1 to 65535 (0: any free port)",
			what, s);
		return -1;
	}
	*port = (int)v;
	return 0;
}

/* One loopback listener; *port 0 picks a free one and returns it.  0 or -errno. */
static int tcp_listen(int family, int *port, int *out)
{
	int one = 1, s = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
				  .sin6_port = htons((uint16_t)*port),
				  .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	struct sockaddr_storage got;
	socklen_t len = sizeof got;
	int rc;

	a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0) {
		return -errno;
	}
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (family == AF_INET6) {
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	}
	rc = family == AF_INET ? bind(s, (struct sockaddr *)&a4, sizeof a4)
			       : bind(s, (struct sockaddr *)&a6, sizeof a6);
	if (rc != 0 || listen(s, 1) != 0 || getsockname(s, (struct sockaddr *)&got, &len) != 0) {
		rc = -errno;
		close(s);
		return rc;
	}
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&got)->sin_port
					: ((struct sockaddr_in6 *)&got)->sin6_port);
	*out = s;
	return 0;
}

static void close_listeners(struct listeners *l)
{
	for (int i = 0; i < l->n; i++) {
		close(l->fd[i]);
	}
	l->n = 0;
	if (l->path != NULL) {
		unlink(l->path);
		l->path = NULL;
	}
}

/* 127.0.0.1 and ::1 on the same port (::1 may be missing: IPv4 alone then). */
static int listen_tcp(int want, struct listeners *l)
{
	int rc = -EADDRINUSE;

	for (int t = 0; t < PORT_TRIES && rc == -EADDRINUSE; t++) {
		int port = want;
		close_listeners(l);
		if ((rc = tcp_listen(AF_INET, &port, &l->fd[0])) != 0) {
			break;
		}
		l->n = 1;
		l->port = port;
		rc = tcp_listen(AF_INET6, &port, &l->fd[1]);
		if (rc == 0) {
			l->n = 2;
		} else if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT) {
			rc = 0; /* no IPv6 loopback on this host */
		} else if (want != 0) {
			break; /* someone else has [::1]:PORT: a debugger could reach them instead
				*/
		}
	}
	if (rc != 0) {
		close_listeners(l);
		uhs_msg("gdb: cannot listen on 127.0.0.1 and ::1, port %d: %s", want,
			strerror(-rc));
		return ST_OSERR;
	}
	if (l->n == 2) {
		uhs_msg("gdb: waiting for a debugger on 127.0.0.1:%d and [::1]:%d (gdb -ex "
			"'target remote :%d' KERNEL)",
			l->port, l->port, l->port);
	} else {
		uhs_msg("gdb: waiting for a debugger on 127.0.0.1:%d (gdb -ex 'target remote :%d' "
			"KERNEL)",
			l->port, l->port);
	}
	return 0;
}

static int listen_unix(const char *path, struct listeners *l)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int s, rc, e;
	mode_t old;

	if (strlen(path) >= sizeof a.sun_path) {
		uhs_msg("invalid --gdb-socket '%s': longer than %zu bytes", path,
			sizeof a.sun_path - 1);
		return ST_USAGE;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		uhs_msg("gdb: socket: %s", strerror(errno));
		return ST_OSERR;
	}
	old = umask(0177); /* born 0600: no moment in which others could connect */
	rc = bind(s, (struct sockaddr *)&a, sizeof a);
	e = errno;
	umask(old);
	if (rc != 0) {
		uhs_msg("cannot create --gdb-socket %s: %s", path,
			e == EADDRINUSE ? "it exists (a stale socket? remove it first)"
					: strerror(e));
		close(s);
		return e == EADDRINUSE || e == EEXIST ? ST_CANTCREAT : ST_OSERR;
	}
	l->fd[l->n++] = s;
	l->path = path;
	if (listen(s, 1) != 0) {
		uhs_msg("gdb: listen on %s: %s", path, strerror(errno));
		close_listeners(l);
		return ST_OSERR;
	}
	uhs_msg("gdb: waiting for a debugger on %s (gdb -ex 'target remote %s' KERNEL)", path,
		path);
	return 0;
}

/* Unix socket: only our own user (or root) may debug. */
static bool peer_ok(int c, const struct listeners *l)
{
	struct ucred cr;
	socklen_t len = sizeof cr;

	if (l->path == NULL) {
		return true;
	}
	if (getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 ||
	    (cr.uid != geteuid() && cr.uid != 0)) {
		uhs_msg("gdb: refused a connection from uid %d",
			len == sizeof cr ? (int)cr.uid : -1);
		return false;
	}
	return true;
}

static void describe_peer(const struct sockaddr_storage *a, char *buf, size_t n)
{
	const void *addr = a->ss_family == AF_INET6
			       ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
			       : (const void *)&((const struct sockaddr_in *)a)->sin_addr;

	if (a->ss_family != AF_INET && a->ss_family != AF_INET6) {
		snprintf(buf, n, "the Unix socket");
	} else if (inet_ntop(a->ss_family, addr, buf, (socklen_t)n) == NULL) {
		snprintf(buf, n, "?");
	}
}

/* Accepts a connection on listener i if one waits: 1 with *fd, 0 none. */
static int try_accept(const struct listeners *l, int i, int *fd)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof a;
	char peer[INET6_ADDRSTRLEN + 32];
	int one = 1,
	    c = accept4(l->fd[i], (struct sockaddr *)&a, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (c < 0) {
		return 0;
	}
	if (!peer_ok(c, l)) {
		close(c);
		return 0;
	}
	if (a.ss_family != AF_UNIX) {
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* small packets */
	}
	describe_peer(&a, peer, sizeof peer);
	uhs_msg("gdb: debugger connected from %s", peer);
	*fd = c;
	return 1;
}

/* Waits for the connection; a stop signal (blocked by vmm_block_signals) ends the wait. */
static int wait_conn(const struct listeners *l, int *fd)
{
	const struct timespec zero = {0, 0};
	sigset_t stop;
	int sig;

	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	for (;;) {
		struct pollfd p[2] = {{.fd = l->fd[0], .events = POLLIN},
				      {.fd = l->n > 1 ? l->fd[1] : -1, .events = POLLIN}};
		poll(p, 2, POLL_MS);
		if ((sig = sigtimedwait(&stop, NULL, &zero)) > 0) {
			uhs_msg("stopped by SIG%s while waiting for the debugger",
				sigabbrev_np(sig));
			return ST_SIGNAL_BASE + sig;
		}
		for (int i = 0; i < l->n; i++) {
			if ((p[i].revents & POLLIN) && try_accept(l, i, fd)) {
				return 0;
			}
		}
	}
}

int gdb_listen_accept(int port, const char *path, int *fd)
{
	struct listeners l = {.n = 0};
	int rc = path != NULL ? listen_unix(path, &l) : listen_tcp(port, &l);

	*fd = -1;
	if (rc == 0) {
		rc = wait_conn(&l, fd);
	}
	close_listeners(&l);
	return rc;
}
