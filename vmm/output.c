/* SPDX-License-Identifier: MIT */
/* output.c - where guest console output goes: stdout, a new file, or nowhere.
 *
 * The guest controls every byte, so nothing here interprets output except a bounded scan of
 * the current line for a Hermit/Rust panic message ("panicked at"), which turns a non-zero
 * guest exit into the documented "guest panic" status.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm_internal.h"

int output_open(struct output *o, const char *spec, char *err, size_t errlen)
{
	memset(o, 0, sizeof *o);
	if (spec == NULL || strcmp(spec, "-") == 0 || strcmp(spec, "stdout") == 0) {
		o->fd = STDOUT_FILENO;
		return 0;
	}
	if (strcmp(spec, "none") == 0) {
		o->fd = -1;
		return 0;
	}
	/* Never truncate or follow into an existing file: the guest's output is untrusted. */
	o->fd = open(spec, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (o->fd < 0) {
		snprintf(err, errlen, "cannot create output file %s: %s", spec, strerror(errno));
		return -1;
	}
	return 0;
}

static void scan_panic(struct output *o, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\n') {
			o->line_len = 0;
			continue;
		}
		if (o->line_len < sizeof o->line - 1) {
			o->line[o->line_len++] = p[i];
			o->line[o->line_len] = '\0';
			if (p[i] == 't' && o->line_len >= 11 &&
			    memcmp(o->line + o->line_len - 11, "panicked at", 11) == 0) {
				o->panic_seen = 1;
			}
		}
	}
}

/* blocked: the write has waited OUTPUT_WAIT_MS (the callback may then look for a stop). */
static bool abandoned(const struct output *o, bool blocked)
{
	if (o->abandon == NULL) {
		return false;
	}
	return blocked ? o->abandon(o->abandon_ctx) : atomic_load(o->abandoned);
}

/* Writes everything, as slowly as the reader reads, unless the run is being stopped: a write
 * never blocks longer than OUTPUT_WAIT_MS without asking o->abandon (a stopped reader must not
 * keep a stop signal from ending the run), and once the output is abandoned nothing waits.  Each
 * write is at most PIPE_BUF bytes after POLLOUT, so that it cannot block on a pipe. */
static void write_all(struct output *o, const char *p, size_t len)
{
	while (len > 0 && !abandoned(o, false)) {
		struct pollfd pfd = {.fd = o->fd, .events = POLLOUT};
		int r = poll(&pfd, 1, OUTPUT_WAIT_MS);
		ssize_t n;

		if (r == 0 || (r < 0 && errno == EINTR)) {
			if (abandoned(o, true)) {
				return;
			}
			continue;
		}
		if (r < 0 || (pfd.revents & (POLLERR | POLLNVAL))) {
			return; /* a closed stdout must not kill the VM */
		}
		n = write(o->fd, p, len < PIPE_BUF ? len : PIPE_BUF);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return;
		}
		p += n;
		len -= (size_t)n;
	}
}

static void flush_bytes(struct output *o)
{
	if (o->byte_len > 0 && o->fd >= 0) {
		write_all(o, o->byte_buf, o->byte_len);
	}
	o->byte_len = 0;
}

void output_write(struct output *o, const void *buf, size_t len)
{
	flush_bytes(o);
	scan_panic(o, buf, len);
	if (o->fd >= 0) {
		write_all(o, buf, len);
	}
}

void output_writev(struct output *o, const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++) {
		output_write(o, iov[i].iov_base, iov[i].iov_len);
	}
}

void output_serial_writev(struct output *o, const struct iovec *iov, int iovcnt)
{
	for (int i = 0; i < iovcnt; i++) {
		if (o->show_serial) {
			output_write(o, iov[i].iov_base, iov[i].iov_len);
		} else {
			scan_panic(o, iov[i].iov_base, iov[i].iov_len);
		}
	}
}

void output_byte(struct output *o, uint8_t b)
{
	char c = (char)b;

	scan_panic(o, &c, 1);
	if (!o->show_serial) {
		return;
	}
	o->byte_buf[o->byte_len++] = c;
	if (c == '\n' || o->byte_len == sizeof o->byte_buf) {
		flush_bytes(o);
	}
}

void output_flush(struct output *o)
{
	flush_bytes(o);
}

void output_close(struct output *o)
{
	flush_bytes(o);
	if (o->fd > STDERR_FILENO) {
		close(o->fd);
	}
	o->fd = -1;
}
