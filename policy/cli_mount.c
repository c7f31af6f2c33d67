/* SPDX-License-Identifier: MIT */
/* cli_mount.c - command-line mounts: "HOST:GUEST[:ro|:rw]" (--mount, --file-mapping).  A
 * relative GUEST is relative to '/' (uhyve's "file.txt:guest_file.txt"). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

/* Splits "HOST:GUEST[:MODE]" (q: the spec quoted for messages).  Returns 0 with the
 * pointers into spec (guest ends at *gend) or -1 with a message. */
static int cli_split(const char *spec, int index, const char *q, const char **gend,
		     const char **mode, char *err, size_t errlen)
{
	const char *c1 = strchr(spec, ':'), *c2 = c1 != NULL ? strchr(c1 + 1, ':') : NULL;
	char qm[MSG_MAX / 2];

	if (c1 == NULL) {
		pol_seterr(err, errlen, "--mount #%d: \"%s\": expected %s", index, q, CLI_SYNTAX);
		return -1;
	}
	if (c1 == spec || c1[1] == '\0' || c1 + 1 == c2) {
		pol_seterr(err, errlen, "--mount #%d: \"%s\": empty %s (expected %s)", index, q,
			   c1 == spec ? "HOST" : "GUEST", CLI_SYNTAX);
		return -1;
	}
	if (c2 != NULL && strchr(c2 + 1, ':') != NULL) {
		pol_seterr(err, errlen, "--mount #%d: \"%s\": too many ':' (expected %s)", index, q,
			   CLI_SYNTAX);
		return -1;
	}
	*mode = c2 != NULL ? c2 + 1 : "rw";
	if (strcmp(*mode, "ro") != 0 && strcmp(*mode, "rw") != 0) {
		pol_seterr(err, errlen,
			   "--mount #%d: \"%s\": mode must be \"ro\" or \"rw\", got \"%s\"", index,
			   q, pol_esc(qm, sizeof qm, *mode, true));
		return -1;
	}
	*gend = c2 != NULL ? c2 : c1 + strlen(c1);
	return 0;
}

/* Fills m->guest and m->host from spec; the caller frees them on failure. */
static int cli_paths(struct pol_mount *m, const char *spec, const char *gend, int index,
		     const char *q, const char *cwd, char *err, size_t errlen)
{
	const char *c1 = strchr(spec, ':');
	char norm[POL_PATH_MAX], *s;
	int rc;

	s = strndup(c1 + 1, (size_t)(gend - c1 - 1));
	if (s == NULL) {
		pol_seterr(err, errlen, "--mount #%d: out of memory", index);
		return -1;
	}
	rc = path_normalize(s, norm, sizeof norm);
	free(s);
	if (rc != 0) {
		pol_seterr(err, errlen, "--mount #%d: \"%s\": GUEST %s", index, q,
			   rc == -EACCES ? "leaves /" : "is too long");
		return -1;
	}
	if (spec[0] != '/' && (cwd == NULL || cwd[0] != '/')) {
		pol_seterr(err, errlen, "--mount #%d: a relative HOST needs the current directory",
			   index);
		return -1;
	}
	s = strndup(spec, (size_t)(c1 - spec));
	m->host = s != NULL ? pol_host_join(spec[0] == '/' ? NULL : cwd, s) : NULL;
	if (m->host == NULL) {
		pol_seterr(err, errlen, "--mount #%d: \"%s\": HOST: %s", index, q,
			   strerror(s != NULL ? errno : ENOMEM));
		free(s);
		return -1;
	}
	free(s);
	m->guest = strdup(norm);
	if (m->guest == NULL) {
		pol_seterr(err, errlen, "--mount #%d: out of memory", index);
		return -1;
	}
	return 0;
}

int policy_add_cli_mount(struct policy *p, const char *spec, int index, const char *cwd, char *err,
			 size_t errlen)
{
	struct pol_mount m = {.symlinks = POL_SYMLINKS_DENY};
	const char *gend, *mode;
	char q[MSG_MAX / 2];

	if (p == NULL || spec == NULL) {
		pol_seterr(err, errlen, "--mount #%d: no mount given", index);
		return -1;
	}
	pol_esc(q, sizeof q, spec, true);
	if (p->nmounts >= POL_MAX_MOUNTS) {
		pol_seterr(err, errlen, "--mount #%d: \"%s\": too many mounts (at most %d)", index,
			   q, POL_MAX_MOUNTS);
		return -1;
	}
	if (cli_split(spec, index, q, &gend, &mode, err, errlen) != 0) {
		return -1;
	}
	m.writable = m.create = m.remove = m.mkdir = strcmp(mode, "rw") == 0;
	snprintf(m.origin, sizeof m.origin, "--mount #%d", index);
	if (cli_paths(&m, spec, gend, index, q, cwd, err, errlen) != 0) {
		pol_mount_free(&m);
		return -1;
	}
	if (pol_mounts_append(p, &m, 1) != 0) {
		pol_seterr(err, errlen, "--mount #%d: out of memory", index);
		pol_mount_free(&m);
		return -1;
	}
	return 0;
}
