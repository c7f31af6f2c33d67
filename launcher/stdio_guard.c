/* SPDX-License-Identifier: MIT */
/* stdio_guard.c - makes sure fds 0, 1 and 2 are open before uhyve-sec opens anything.
 *
 * A guest's FileRead on fd 0 reads host fd 0 (vmm/stdin.c) and its console writes go to
 * fd 1.  Started with one of them closed, the first file uhyve-sec opens (uhyve.toml,
 * /dev/kvm, the broker socket) would take that number and the guest would read or write it.
 * Closed ones are opened on /dev/null instead (inherited like stdio, not close-on-exec).
 *
 * Trust: none needed; runs first thing in main(), with the caller's rights. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "launcher.h"

int lc_stdio_guard(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		int n;

		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF) {
			continue;
		}
		n = open("/dev/null", O_RDWR); /* the lowest free number: fd itself */
		if (n != fd) {
			if (n >= 0) {
				close(n);
			}
			return -1;
		}
	}
	return 0;
}
