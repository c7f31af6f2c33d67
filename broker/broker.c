/* SPDX-License-Identifier: MIT */
/* broker.c - the file broker: the only process that touches the host file system for the
 * guest.  It holds the policy and one O_PATH dirfd per mount root, receives fixed-size
 * requests from the VMM, decides each against the policy (broker/resolve.c does the
 * resolution with openat2 under the root dirfds), logs denials, and answers with an errno
 * or an fd.
 *
 * Threat: the VMM end of the socket is assumed compromised.  Every request is validated
 * exactly (brk_req_check) before anything else happens; a malformed request, or any fd
 * sent to us, ends the run (the VMM is not behaving, so nothing it says can be trusted).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "broker.h"
#include "broker_proto.h"
#include "broker_sandbox.h"
#include "image_fs.h"
#include "listing.h"
#include "meta.h"
#include "scratch.h"
#include "uhs_status.h"

struct broker {
	const struct policy *pol;
	int dirfds[POL_MAX_MOUNTS]; /* a file mapping's: its directory (O_PATH) */
	int filefds[POL_MAX_MOUNTS]; /* a file mapping's: the file itself (O_PATH); else -1 */
	char *filepaths[POL_MAX_MOUNTS]; /* a file mapping's resolved host path; else NULL */
	struct scratch scratch;
	const char *tmpdir; /* where the scratch directory is made */
	struct audit audit;
	struct resolve_roots roots;
	struct meta_key key; /* of the inode numbers the guest sees; never leaves the broker */
	const struct image_fs *image; /* a Hermit image's files at / (--image), or NULL */
};

volatile sig_atomic_t broker_terminate;

void bmsg(const char *fmt, ...)
{
	char line[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	fprintf(stderr, "uhyve-sec: broker: %s\n", line);
}

/* ---- requests ---- */

static const char *const op_names[BRK_OP_MAX] = {
    [BRK_OP_OPEN] = "open", [BRK_OP_UNLINK] = "unlink", [BRK_OP_MKDIR] = "mkdir",
    [BRK_OP_STAT] = "stat", [BRK_OP_LSTAT] = "lstat",
};

static const char R_LISTING[] = "directory listing over 16 MiB";

/* A successful open: the reply carries the object's metadata, and a directory is passed as
 * its listing (listing.c), never as a directory fd.  Returns 0 with *fd replaced, or -errno
 * with *fd closed. */
static int open_reply(const struct broker *br, int *fd, struct brk_stat *out,
		      struct resolve_verdict *v)
{
	struct listing_ids ids = {.key = &br->key};
	struct stat st;
	int rc = 0, memfd;

	if (fstat(*fd, &st) < 0) {
		rc = -errno;
		v->reason = RESOLVE_REASON_HOST;
	} else if (S_ISDIR(st.st_mode)) {
		ids.host_dev = st.st_dev;
		rc = listing_build(*fd, &ids, BRK_LISTING_MAX, &memfd);
		v->reason = rc == -ENOMEM ? R_LISTING : RESOLVE_REASON_HOST;
		close(*fd);
		*fd = rc == 0 ? memfd : -1;
	}
	if (rc < 0) {
		if (*fd >= 0) {
			close(*fd);
		}
		*fd = -1;
		return rc;
	}
	meta_stat(&br->key, v->mount, &st, out);
	v->reason = NULL;
	return 0;
}

/* Decides one validated request.  Returns the fd to pass, or -1. */
static int handle(struct broker *br, const struct brk_req *req, struct brk_reply *rep)
{
	struct resolve_verdict v = {.reason = NULL, .mount = -1, .created = 0};
	struct stat st;
	int rc = -EINVAL, fd = -1;

	memset(rep, 0, sizeof *rep);
	rep->h = (struct brk_hdr){.version = BRK_VERSION, .op = req->h.op, .seq = req->h.seq};
	if (br->image != NULL &&
	    image_fs_handle(br->image, &(struct image_req){br->pol, &br->key, br->scratch.fd >= 0},
			    req, &rc, &fd, &rep->st, &v)) {
		goto reply;
	}
	switch ((enum brk_op)req->h.op) {
	case BRK_OP_OPEN:
		rc = resolve_open_counted(&br->roots, req->path, req->flags, req->mode,
					  req->new_max, &fd, &v);
		if (rc == 0) {
			rc = open_reply(br, &fd, &rep->st, &v);
		}
		break;
	case BRK_OP_UNLINK:
		rc = resolve_unlink(&br->roots, req->path, &v);
		break;
	case BRK_OP_MKDIR:
		rc = resolve_mkdir(&br->roots, req->path, req->mode, &v);
		break;
	case BRK_OP_STAT:
	case BRK_OP_LSTAT:
		rc = resolve_stat(&br->roots, req->path, req->h.op == BRK_OP_LSTAT, &st, &v);
		if (rc == 0) {
			meta_stat(&br->key, v.mount, &st, &rep->st);
		}
		break;
	case BRK_OP_READY:
	case BRK_OP_MAX:
	default:
		break; /* brk_req_check admits none of these */
	}
reply:
	if (rc > 0 || rc < -4095) {
		rc = -EIO; /* never put something that is not an errno on the wire */
	}
	rep->err = -rc;
	rep->has_fd = rc == 0 && fd >= 0;
	/* what the VMM's write budget pays for; resolve never exceeds the request's new_max */
	rep->created = (uint16_t)(v.created <= req->new_max ? v.created : req->new_max);
	audit_op(&br->audit, op_names[req->h.op], req->path, rc, &v);
	return rc == 0 ? fd : -1;
}

/* ---- setup and teardown ---- */

static int open_roots(struct broker *br)
{
	struct open_how how = {.flags = O_PATH | O_CLOEXEC | O_DIRECTORY,
			       .resolve =
				   RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV};
	const struct policy *pol = br->pol;
	int probe = -1;

	for (size_t i = 0; i < pol->nmounts; i++) {
		if (pol->mounts[i].file) {
			int rc = file_map_open_root(&pol->mounts[i], &br->dirfds[i],
						    &br->filefds[i], &br->filepaths[i]);
			if (rc != 0) {
				bmsg("mapping %s: cannot open host file %s: %s",
				     pol->mounts[i].guest, pol->mounts[i].host,
				     rc == -EINVAL ? "not a regular file" : strerror(-rc));
				return ST_POLICY;
			}
			continue;
		}
		br->dirfds[i] = open(pol->mounts[i].host, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (br->dirfds[i] < 0) {
			bmsg("mount %s: cannot open host directory %s: %s", pol->mounts[i].guest,
			     pol->mounts[i].host, strerror(errno));
			return ST_POLICY;
		}
	}
	/* openat2 is what confines every lookup: without it, stop (never fall back). */
	probe = (int)syscall(SYS_openat2, pol->nmounts > 0 ? br->dirfds[0] : AT_FDCWD, ".", &how,
			     sizeof how);
	if (probe < 0 && errno == ENOSYS) {
		bmsg("openat2(2) is not available (Linux 5.6 or newer is required); uhyve-sec "
		     "does not fall back to path strings");
		return ST_BROKER;
	}
	if (probe >= 0) {
		close(probe);
	}
	return 0;
}

/* One request off the socket.  Returns 1 with a checked request in *req, 0 when the VMM is
 * gone (a normal end), or -1 after a protocol violation (said on stderr). */
static int next_request(int sock, struct brk_req *req)
{
	const char *why;
	int fd, nfds;
	ssize_t n = brk_recv(sock, req, sizeof *req, &fd, &nfds);

	if (n == 0 || n == -ECONNRESET) {
		/* The VMM is gone: a normal end.  ECONNRESET: it went before reading something
		 * we sent (READY, when its set-up failed); it said why. */
		return 0;
	}
	if (n < 0 || nfds > 0) {
		if (fd >= 0) {
			close(fd);
		}
		bmsg("protocol violation from the VMM: %s",
		     n < 0 ? strerror((int)-n) : "it sent a file descriptor");
		return -1;
	}
	if (brk_req_check(req, (size_t)n, &why) != 0) {
		bmsg("protocol violation from the VMM: %s", why);
		return -1;
	}
	return 1;
}

static int serve_loop(struct broker *br, int sock)
{
	struct brk_req req;
	struct brk_reply rep;
	int out_fd, rc;

	for (;;) {
		struct pollfd p = {.fd = sock, .events = POLLIN};
		if (broker_terminate) {
			return 0;
		}
		if (poll(&p, 1, -1) < 0) {
			continue; /* EINTR: re-check broker_terminate */
		}
		rc = next_request(sock, &req);
		if (rc <= 0) {
			return rc == 0 ? 0 : ST_BROKER;
		}
		out_fd = handle(br, &req, &rep);
		rc = brk_send(sock, &rep, sizeof rep, out_fd);
		if (out_fd >= 0) {
			close(out_fd);
		}
		if (rc != 0) {
			return rc == -EPIPE ? 0 : ST_BROKER;
		}
	}
	return rc;
}

static int confine(struct broker *br, int sock)
{
	struct broker_confinement b = {.pol = br->pol,
				       .dirfds = br->dirfds,
				       .filefds = br->filefds,
				       .scratch_fd = br->scratch.fd,
				       .scratch_parent_fd = br->scratch.parent_fd,
				       .sock = sock};
	char err[256];

	audit_prepare(); /* while files can still be opened */
	if (broker_confine(&b, err, sizeof err) != 0) {
		bmsg("sandbox: %s", err);
		return ST_SANDBOX;
	}
	return 0;
}

int broker_serve(int sock, const struct policy *pol, const struct broker_opts *o)
{
	struct broker br = {.pol = pol,
			    .scratch = {.fd = -1, .parent_fd = -1},
			    .tmpdir = o->tmpdir,
			    .image = o->image,
			    .audit = {.fd = o->audit_fd, .all = o->audit_all, .pol = pol}};
	struct brk_reply ready = {.h = {.version = BRK_VERSION, .op = BRK_OP_READY, .seq = 0}};
	int rc;

	for (size_t i = 0; i < POL_MAX_MOUNTS; i++) {
		br.dirfds[i] = br.filefds[i] = -1;
	}
	rc = open_roots(&br);
	if (rc == 0 && (rc = meta_key_init(&br.key)) != 0) {
		bmsg("cannot draw the key of the guest's inode numbers: %s", strerror(-rc));
		rc = ST_BROKER;
	}
	if (rc == 0 && pol->scratch) {
		rc = scratch_make(&br.scratch, br.tmpdir);
	}
	br.roots = (struct resolve_roots){.pol = pol,
					  .dirfds = br.dirfds,
					  .scratch_fd = br.scratch.fd,
					  .io_flags = o->io_flags,
					  .filefds = br.filefds,
					  .filepaths = br.filepaths};
	if (rc == 0 && o->confine) {
		rc = confine(&br, sock);
	}
	if (rc == 0 && brk_send(sock, &ready, sizeof ready, -1) != 0) {
		rc = ST_BROKER;
	}
	if (rc == 0) {
		rc = serve_loop(&br, sock);
	}
	audit_finish(&br.audit);
	scratch_remove(&br.scratch);
	for (size_t i = 0; i < pol->nmounts; i++) {
		if (br.dirfds[i] >= 0) {
			close(br.dirfds[i]);
		}
		if (br.filefds[i] >= 0) {
			close(br.filefds[i]);
		}
		free(br.filepaths[i]);
	}
	return rc;
}
