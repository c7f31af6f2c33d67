/* SPDX-License-Identifier: MIT */
/* main.c - uhyve-sec-broker, the file broker program.  The launcher (launcher/broker_spawn.c)
 * forks and execs it before the VMM touches anything guest-controlled, so the broker is a
 * fresh program image: its own address-space layout and stack canary, none of the VMM's code
 * or state.  Contract (common/include/broker_proto.h): fd 3 its socket to the VMM, fd 4 the
 * audit log (with --audit-fd), fd 5 the packed policy, fd 6 a Hermit image's sealed blob
 * (with --image; image_fs.c); an empty environment.
 *
 * Trust: the broker is the only process with host-path rights, exactly those the policy
 * grants; it treats every request from the VMM as hostile (broker.c). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker.h"
#include "broker_proto.h"
#include "image_fs.h"
#include "uhs_status.h"

#define POLICY_MAX (4u << 20)

static void on_term(int sig)
{
	(void)sig;
	broker_terminate = 1;
}

/* SIGTERM (the VMM's death, through the parent-death signal) ends the serve loop; terminal
 * signals are the VMM's business: the launcher put us in our own process group. */
static void setup_signals(void)
{
	static const int ignored[] = {SIGINT, SIGHUP, SIGPIPE, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2};
	struct sigaction term = {.sa_handler = on_term};
	sigset_t none;

	sigemptyset(&term.sa_mask);
	sigaction(SIGTERM, &term, NULL);
	for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
		signal(ignored[i], SIG_IGN);
	}
	signal(SIGCHLD, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static int read_policy(struct policy *pol)
{
	struct stat st;
	char *buf;
	ssize_t n;
	int rc;

	if (fstat(BRK_FD_POLICY, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > POLICY_MAX || (buf = malloc((size_t)st.st_size)) == NULL) {
		return -1;
	}
	n = pread(BRK_FD_POLICY, buf, (size_t)st.st_size, 0);
	rc = n == st.st_size ? policy_unpack(pol, buf, (size_t)n) : -1;
	free(buf);
	close(BRK_FD_POLICY);
	return rc;
}

static bool is_socket(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

static bool want_image;

static int parse_args(int argc, char **argv, struct broker_opts *o)
{
	static const struct option opts[] = {
	    {"audit-all", no_argument, NULL, 'a'},  {"audit-fd", no_argument, NULL, 'f'},
	    {"no-confine", no_argument, NULL, 'n'}, {"tmpdir", required_argument, NULL, 't'},
	    {"io-direct", no_argument, NULL, 'd'},  {"io-sync", no_argument, NULL, 's'},
	    {"image", no_argument, NULL, 'i'},	    {NULL, 0, NULL, 0}};
	int c;

	*o = (struct broker_opts){.audit_fd = STDERR_FILENO, .confine = true, .tmpdir = "/tmp"};
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->audit_all = true;
			break;
		case 'f':
			o->audit_fd = BRK_FD_AUDIT;
			break;
		case 'n':
			o->confine = false;
			break;
		case 't':
			o->tmpdir = optarg;
			break;
		case 'd':
			o->io_flags |= O_DIRECT;
			break;
		case 's':
			o->io_flags |= O_SYNC;
			break;
		case 'i':
			want_image = true;
			break;
		default:
			return -1;
		}
	}
	return optind == argc && o->tmpdir[0] == '/' ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct broker_opts o;
	struct image_fs image = {0};
	struct policy pol;
	char err[300];
	int rc;

	setup_signals();
	if (parse_args(argc, argv, &o) != 0 || !is_socket(BRK_FD_SOCK)) {
		fprintf(stderr,
			"usage: uhyve-sec-broker [--audit-all] [--audit-fd] [--no-confine] "
			"[--tmpdir DIR] [--io-direct] [--io-sync] [--image] (started by uhyve-sec "
			"with its fds 3-6)\n");
		return ST_USAGE;
	}
	if (read_policy(&pol) != 0) {
		bmsg("the policy from uhyve-sec is malformed");
		return ST_BROKER;
	}
	if (want_image && image_fs_load(BRK_FD_IMAGE, &image, err, sizeof err) != 0) {
		bmsg("the Hermit image from uhyve-sec: %s", err);
		policy_free(&pol);
		return ST_BROKER;
	}
	o.image = want_image ? &image : NULL;
	/* nothing but stdio, the socket and the audit log, close-on-exec like every other fd */
	close_range(o.audit_fd == BRK_FD_AUDIT ? BRK_FD_AUDIT + 1 : BRK_FD_AUDIT, ~0u, 0);
	fcntl(BRK_FD_SOCK, F_SETFD, FD_CLOEXEC);
	if (o.audit_fd == BRK_FD_AUDIT) {
		fcntl(BRK_FD_AUDIT, F_SETFD, FD_CLOEXEC);
	}
	rc = broker_serve(BRK_FD_SOCK, &pol, &o);
	image_fs_free(&image);
	policy_free(&pol);
	return rc;
}
