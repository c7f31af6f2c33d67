/* SPDX-License-Identifier: MIT */
/* validate.c - checks of the combined policy, and the --check-policy listing. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

/* ---- validation ---- */

static int origin_len(const struct pol_mount *m)
{
	return (int)strnlen(m->origin, sizeof m->origin);
}

/* Checks one mount on its own (not its host directory). */
static int validate_mount(const struct pol_mount *m, char *err, size_t errlen)
{
	char qg[MSG_MAX / 2], qh[MSG_MAX / 2], norm[POL_PATH_MAX];
	const char *right = m->create ? "create" : m->remove ? "delete" : "mkdir";

	if (m->guest == NULL || m->host == NULL) {
		pol_seterr(err, errlen, "mount (%.*s): no guest or host path", origin_len(m),
			   m->origin);
		return -1;
	}
	pol_esc(qg, sizeof qg, m->guest, false);
	if (m->guest[0] != '/' || path_normalize(m->guest, norm, sizeof norm) != 0 ||
	    strcmp(norm, m->guest) != 0) {
		pol_seterr(err, errlen, "mount %s (%.*s): guest path is not normalised", qg,
			   origin_len(m), m->origin);
		return -1;
	}
	if (m->host[0] != '/') {
		pol_seterr(err, errlen, "mount %s (%.*s): host path %s is not absolute", qg,
			   origin_len(m), m->origin, pol_esc(qh, sizeof qh, m->host, false));
		return -1;
	}
	if (!m->writable && (m->create || m->remove || m->mkdir)) {
		pol_seterr(err, errlen, "mount %s (%.*s): %s needs rw", qg, origin_len(m),
			   m->origin, right);
		return -1;
	}
	if (m->symlinks != POL_SYMLINKS_DENY && m->symlinks != POL_SYMLINKS_WITHIN) {
		pol_seterr(err, errlen, "mount %s (%.*s): invalid symlinks setting", qg,
			   origin_len(m), m->origin);
		return -1;
	}
	return 0;
}

/* The host side of a mount: an existing directory, or a regular file (a single-file
 * mapping: exactly that file at exactly the guest path). */
static int validate_host(struct pol_mount *m, policy_stat_fn host_stat, char *err, size_t errlen)
{
	char qg[MSG_MAX / 2], qh[MSG_MAX / 2];
	struct stat st;

	pol_esc(qg, sizeof qg, m->guest, false);
	pol_esc(qh, sizeof qh, m->host, false);
	if (host_stat(m->host, &st) != 0) {
		pol_seterr(err, errlen, "mount %s (%.*s): host path %s: %s", qg, origin_len(m),
			   m->origin, qh, strerror(errno));
		return -1;
	}
	m->file = S_ISREG(st.st_mode);
	if (!S_ISDIR(st.st_mode) && !m->file) {
		pol_seterr(
		    err, errlen,
		    "mount %s (%.*s): host path %s is neither a directory nor a regular file", qg,
		    origin_len(m), m->origin, qh);
		return -1;
	}
	if (m->file && strcmp(m->guest, "/") == 0) {
		pol_seterr(err, errlen, "mount %s (%.*s): the file %s cannot be mounted at /", qg,
			   origin_len(m), m->origin, qh);
		return -1;
	}
	if (m->file) {
		m->create = m->remove = m->mkdir = false; /* nothing to create beneath a file */
	}
	return 0;
}

int policy_validate(struct policy *p, policy_stat_fn host_stat, char *err, size_t errlen)
{
	if (p == NULL || (p->nmounts > 0 && p->mounts == NULL)) {
		pol_seterr(err, errlen, "no policy");
		return -1;
	}
	if (p->nmounts > POL_MAX_MOUNTS) {
		pol_seterr(err, errlen, "too many mounts (%zu, at most %d)", p->nmounts,
			   POL_MAX_MOUNTS);
		return -1;
	}
	if (p->max_open_files < 1 || p->max_open_files > POL_MAX_OPEN_FILES) {
		pol_seterr(err, errlen, "limit open_files=%" PRIu32 " is out of range 1..%d",
			   p->max_open_files, POL_MAX_OPEN_FILES);
		return -1;
	}
	for (size_t j = 0; j < p->nmounts; j++) {
		struct pol_mount *m = &p->mounts[j];
		char qg[MSG_MAX / 2];

		if (validate_mount(m, err, errlen) != 0) {
			return -1;
		}
		pol_esc(qg, sizeof qg, m->guest, false);
		for (size_t i = 0; i < j; i++) {
			if (strcmp(p->mounts[i].guest, m->guest) == 0) {
				pol_seterr(err, errlen,
					   "mount %s (%.*s): guest path already mounted by %.*s",
					   qg, origin_len(m), m->origin, origin_len(&p->mounts[i]),
					   p->mounts[i].origin);
				return -1;
			}
		}
		if (host_stat != NULL && validate_host(m, host_stat, err, errlen) != 0) {
			return -1;
		}
	}
	return 0;
}

/* ---- printing ---- */

static void print_mount(const struct pol_mount *m, FILE *f)
{
	char origin[4 * sizeof m->origin + 4];

	fputs("mount ", f);
	pol_fput_esc(f, m->guest);
	fputs(" -> ", f);
	pol_fput_esc(f, m->host);
	if (m->file) {
		fprintf(f, " (file, %s) [from ", m->writable ? "rw" : "ro");
	} else {
		fprintf(f, " (%s%s%s%s, symlinks=%s, hardlinks=%s) [from ",
			m->writable ? "rw" : "ro", m->create ? ", create" : "",
			m->remove ? ", delete" : "", m->mkdir ? ", mkdir" : "",
			m->symlinks == POL_SYMLINKS_WITHIN ? "within" : "deny",
			m->hardlinks ? "allow" : "deny");
	}
	fputs(pol_esc_n(origin, sizeof origin, m->origin, (size_t)origin_len(m), sizeof m->origin,
			ESC_BACKSLASH),
	      f);
	fputs("]\n", f);
}

/* Mount a sorts before mount b: by guest path (bytewise), then by position. */
static bool before(const struct policy *p, size_t a, size_t b)
{
	const char *ga = p->mounts[a].guest != NULL ? p->mounts[a].guest : "";
	const char *gb = p->mounts[b].guest != NULL ? p->mounts[b].guest : "";
	int c = strcmp(ga, gb);

	return c < 0 || (c == 0 && a < b);
}

void policy_print(const struct policy *p, FILE *f)
{
	static const char units[] = "KMGT";
	size_t last = SIZE_MAX;

	if (p == NULL || f == NULL) {
		return;
	}
	/* Selection by (guest, index) without allocating: n is at most POL_MAX_MOUNTS. */
	for (size_t k = 0; p->mounts != NULL && k < p->nmounts; k++) {
		size_t next = SIZE_MAX;

		for (size_t i = 0; i < p->nmounts; i++) {
			if ((last == SIZE_MAX || before(p, last, i)) &&
			    (next == SIZE_MAX || before(p, i, next))) {
				next = i;
			}
		}
		print_mount(&p->mounts[next], f);
		last = next;
	}
	fprintf(f, "limit open_files=%" PRIu32 "\n", p->max_open_files);
	if (p->max_write_bytes == 0) {
		fputs("limit write_bytes=unlimited\n", f);
	} else {
		uint64_t v = p->max_write_bytes;
		int u = -1;

		while (u < 3 && v % 1024 == 0) {
			v /= 1024;
			u++;
		}
		fprintf(f, "limit write_bytes=%" PRIu64, p->max_write_bytes);
		if (u >= 0) {
			fprintf(f, " (%" PRIu64 "%c)", v, units[u]);
		}
		fputc('\n', f);
	}
	fprintf(f, "scratch=%s\n", p->scratch ? "on" : "off");
}
