/* SPDX-License-Identifier: MIT */
/* log.c - the runtime's log: --log FILE (default stderr), --log-format json|text, --debug.
 *
 * Lines look like runc's, because engines parse them: JSON
 * {"level":"error","msg":"...","time":"2026-01-01T00:00:00Z"} or text
 * time="..." level=error msg="...".  podman shows the msg of the last error line; "no such file
 * or directory" in it makes podman exit 127, "permission denied" 126.  conmon 2.1.6 copies
 * the msg into its own JSON without escaping, so messages never contain '"' or '\' (they
 * become ' and /).  Debug lines only with --debug.  Each line is one write(2) to an O_APPEND
 * file, so the monitor process and later commands can share the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "oci.h"

struct oci_log g_log = {.fd = -1};

static const char *const level_names[] = {"debug", "info", "warning", "error"};

void rfc3339_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		buf[0] = '\0';
		return;
	}
	snprintf(buf + strlen(buf), len - strlen(buf), ".%09ldZ", ts.tv_nsec);
}

int log_open(const char *path, const char *format, bool debug)
{
	g_log.debug = debug;
	if (format != NULL && strcmp(format, "json") != 0 && strcmp(format, "text") != 0) {
		log_error("invalid --log-format '%.32s': expected json or text", format);
		return -1;
	}
	g_log.json = format != NULL && strcmp(format, "json") == 0;
	if (path == NULL || path[0] == '\0') {
		return 0;
	}
	g_log.fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	if (g_log.fd < 0) {
		int e = errno;
		log_error("cannot open --log %.256s: %s", path, strerror(e));
		return -1;
	}
	return 0;
}

void log_sanitize(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '"') {
			*s = '\'';
		} else if (*s == '\\') {
			*s = '/';
		} else if ((unsigned char)*s < 0x20 || *s == 0x7f) {
			*s = '?';
		}
	}
}

void log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	char msg[1024], when[48], line[1400];
	int n;

	if (lvl == LOG_DEBUG && !g_log.debug) {
		return;
	}
	vsnprintf(msg, sizeof msg, fmt, ap);
	log_sanitize(msg);
	rfc3339_now(when, sizeof when);
	if (g_log.json) {
		n = snprintf(line, sizeof line,
			     "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
			     level_names[lvl], msg, when);
	} else {
		n = snprintf(line, sizeof line, "time=\"%s\" level=%s msg=\"%s\"\n", when,
			     level_names[lvl], msg);
	}
	if (n <= 0) {
		return;
	}
	if ((size_t)n >= sizeof line) {
		n = (int)sizeof line - 1;
		line[n - 1] = '\n';
	}
	if (write(g_log.fd >= 0 ? g_log.fd : STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}
