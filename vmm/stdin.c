/* SPDX-License-Identifier: MIT */
/* stdin.c - a guest FileRead on fd 0 reads uhyve-sec's standard input, as in uhyve (its fd
 * table maps guest fd 0 to host fd 0: src/isolation/fd.rs, src/hypercall/mod.rs read), which
 * newer Hermit kernels use for their stdin (src/fd/stdio/uhyve.rs UhyveStdin).
 *
 * Trust: the guest chooses only the length and the (already validated) buffer; the host fd is
 * always STDIN_FILENO, whatever the guest asks (main.c makes sure fd 0 is open, on /dev/null
 * if need be, so it can never be another of the VMM's descriptors).  The bytes are the
 * operator's input.  A read may wait for ever for input: it waits in poll(2) at most
 * STDIN_WAIT_MS at a time and gives up once the VM is stopping, so a stop (guest exit on
 * another vCPU, a signal, a broker failure) still ends the run; the kick signal that stops
 * vCPUs also interrupts the poll.  System calls: poll and read only (both in the VMM's
 * seccomp allowlist, vmm_sandbox.c). */
#include <errno.h>
#include <poll.h>
#include <unistd.h>

#include "vmm_internal.h"

#define STDIN_WAIT_MS 50

/* Waits until fd 0 is readable (or at its end): 0, -EINTR once stopping, or -errno. */
static int wait_readable(const atomic_int *stopping)
{
	for (;;) {
		struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
		int r;

		if (stopping != NULL && atomic_load(stopping)) {
			return -EINTR;
		}
		r = poll(&pfd, 1, STDIN_WAIT_MS);
		if (r < 0 && errno != EINTR) {
			return -errno;
		}
		if (r > 0) {
			return (pfd.revents & POLLNVAL) ? -EBADF
							: 0; /* POLLHUP/POLLERR: read says */
		}
	}
}

ssize_t stdin_readv(const atomic_int *stopping, const struct iovec *iov, int iovcnt)
{
	int rc;

	while (iovcnt > 0 && iov->iov_len == 0) {
		iov++;
		iovcnt--;
	}
	if (iovcnt == 0) {
		return 0;
	}
	for (;;) {
		ssize_t n;

		if ((rc = wait_readable(stopping)) != 0) {
			return rc;
		}
		/* one piece: what is there now (a short read, as read(2) on a pipe or tty) */
		n = read(STDIN_FILENO, iov->iov_base, iov->iov_len);
		if (n >= 0) {
			return n;
		}
		if (errno != EINTR && errno != EAGAIN) {
			return -errno;
		}
	}
}
