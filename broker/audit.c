/* SPDX-License-Identifier: MIT */
/* audit.c - the broker's audit log: one JSON object per line, written with one writev so lines
 * never interleave.  Guest paths are guest-chosen bytes: they are escaped (audit.h). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "audit.h"
#include "broker_proto.h"

void audit_prepare(void)
{
	struct timespec now;
	struct tm tm;

	/* jansson seeds its hash function on first use, from /dev/urandom; glibc's gmtime_r
	 * loads the time zone once (/etc/localtime). */
	json_object_seed(0);
	tzset();
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
}

/* jansson needs UTF-8: bytes outside printable ASCII, and the backslash itself (so the
 * escaping is unambiguous), become \xNN, flagged by the caller. */
static json_t *path_json(const char *path, bool *escaped)
{
	char buf[BRK_PATH_MAX * 4 + 1];
	size_t o = 0;
	json_t *j = json_string(path);

	*escaped = false;
	if (j != NULL) {
		return j;
	}
	*escaped = true;
	for (const unsigned char *p = (const unsigned char *)path; *p && o + 5 < sizeof buf; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			buf[o++] = (char)*p;
		} else {
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", *p);
		}
	}
	buf[o] = '\0';
	return json_string(buf);
}

void audit_op(const struct audit *a, const char *op, const char *path, int rc,
	      const struct resolve_verdict *v)
{
	bool denied = rc != 0 && v->reason != NULL && strcmp(v->reason, RESOLVE_REASON_HOST) != 0;
	const char *verdict = rc == 0 ? "allow" : denied ? "deny" : "error";
	char ts[64];
	struct timespec now;
	struct tm tm;
	bool escaped;
	json_t *o;
	char *line;

	if (!denied && !a->all) {
		return; /* by default only denials are logged */
	}
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm); /* pure arithmetic; strftime would load the time zone */
	snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 now.tv_nsec / 1000000);
	o = json_pack("{s:s, s:s, s:o, s:s}", "time", ts, "op", op, "path",
		      path_json(path, &escaped), "verdict", verdict);
	if (o == NULL) {
		return;
	}
	if (escaped) {
		json_object_set_new(o, "path_escaped", json_true());
	}
	if (v->reason != NULL) {
		json_object_set_new(o, "reason", json_string(v->reason));
	}
	if (rc != 0) {
		json_object_set_new(o, "errno", json_string(strerrorname_np(-rc)));
	}
	if (v->mount >= 0 && (size_t)v->mount < a->pol->nmounts) {
		json_object_set_new(o, "mount", json_string(a->pol->mounts[v->mount].guest));
	}
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (line != NULL) {
		static char nl[] = "\n";
		struct iovec iov[2] = {{line, strlen(line)}, {nl, 1}};
		if (writev(a->fd, iov, 2) < 0) {
			/* the audit log is best effort; the decision stands */
		}
		free(line);
	}
}
