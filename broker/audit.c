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

/* Guest paths are guest-chosen bytes.  Valid UTF-8 goes to jansson, and the line is written
 * with JSON_ENSURE_ASCII (every non-ASCII character, U+009B and U+202E among them, becomes
 * \uXXXX; controls are always escaped).  jansson leaves DEL (0x7f) alone, and cannot take
 * invalid UTF-8: such a path is written with every byte outside printable ASCII, and the
 * backslash itself (so the escaping is unambiguous), as \xNN, flagged by the caller.  The log
 * line is printable ASCII whatever the guest sends. */
static json_t *path_json(const char *path, bool *escaped)
{
	char buf[BRK_PATH_MAX * 4 + 1];
	size_t o = 0;
	json_t *j = strchr(path, 0x7f) == NULL ? json_string(path) : NULL;

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

static void write_line(const struct audit *a, json_t *o)
{
	char *line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);

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

static void timestamp(char *ts, size_t cap)
{
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm); /* pure arithmetic; strftime would load the time zone */
	snprintf(ts, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
}

/* The line that stands for the lines the rate limit dropped since the last one written. */
static void write_dropped(struct audit *a)
{
	char ts[64];
	json_t *o;

	if (a->dropped == 0) {
		return;
	}
	timestamp(ts, sizeof ts);
	o = json_pack("{s:s, s:s, s:s, s:I, s:s}", "time", ts, "op", "audit", "verdict", "dropped",
		      "count", (json_int_t)a->dropped, "reason", AUDIT_LIMIT_TEXT);
	a->dropped = 0;
	if (o != NULL) {
		write_line(a, o);
	}
}

/* A token bucket of AUDIT_BURST lines, refilled at AUDIT_RATE lines per second (in units of a
 * billionth of a line).  Returns whether a line may be written now. */
static bool take_token(struct audit *a)
{
	const uint64_t cap = (uint64_t)AUDIT_BURST * 1000000000u;
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (a->last_ns == 0) {
		a->tokens = cap;
	} else if (now > a->last_ns) {
		uint64_t add = (now - a->last_ns) * AUDIT_RATE;
		a->tokens = add >= cap - a->tokens ? cap : a->tokens + add;
	}
	a->last_ns = now;
	if (a->tokens < 1000000000u) {
		a->dropped++;
		return false;
	}
	a->tokens -= 1000000000u;
	return true;
}

void audit_finish(struct audit *a)
{
	write_dropped(a);
}

void audit_op(struct audit *a, const char *op, const char *path, int rc,
	      const struct resolve_verdict *v)
{
	bool denied = rc != 0 && v->reason != NULL && strcmp(v->reason, RESOLVE_REASON_HOST) != 0;
	const char *verdict = rc == 0 ? "allow" : denied ? "deny" : "error";
	char ts[64];
	bool escaped;
	json_t *o;

	if (!denied && !a->all) {
		return; /* by default only denials are logged */
	}
	if (!take_token(a)) {
		return;
	}
	write_dropped(a);
	timestamp(ts, sizeof ts);
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
	write_line(a, o);
}
