/* SPDX-License-Identifier: MIT */
/* policy.c - the policy object: initialisation, freeing, appending mounts (policy.h).
 *
 * Threat: the policy file and --mount specs come from the operator, who is trusted but may
 * make mistakes; the parser is fuzzed.  So every input is checked strictly (unknown keys,
 * wrong types and out-of-range values are errors), every error names the place it was found,
 * and every error path frees what it allocated.  A failed load leaves the policy unchanged.
 * Format and messages: docs/policy.md.  The library is pure: the launcher reads the file,
 * supplies the current directory and checks the host directories (launcher/policy_file.c). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "policy_internal.h"

void policy_init(struct policy *p)
{
	if (p == NULL) {
		return;
	}
	*p = (struct policy){.max_open_files = POL_DEFAULT_OPEN_FILES};
}

void pol_mount_free(struct pol_mount *m)
{
	free(m->host);
	free(m->guest);
	m->host = m->guest = NULL;
}

void policy_free(struct policy *p)
{
	if (p == NULL) {
		return;
	}
	for (size_t i = 0; p->mounts != NULL && i < p->nmounts; i++) {
		pol_mount_free(&p->mounts[i]);
	}
	free(p->mounts);
	free(p->source);
	policy_init(p);
}

/* Moves n mounts to the end of p->mounts.  On failure the caller still owns them. */
int pol_mounts_append(struct policy *p, const struct pol_mount *m, size_t n)
{
	struct pol_mount *nm;

	if (n == 0) {
		return 0;
	}
	if (p->nmounts > SIZE_MAX / sizeof *nm - n) {
		return -1;
	}
	nm = realloc(p->mounts, (p->nmounts + n) * sizeof *nm);
	if (nm == NULL) {
		return -1;
	}
	memcpy(nm + p->nmounts, m, n * sizeof *nm);
	p->mounts = nm;
	p->nmounts += n;
	return 0;
}

/* Sets origin to file + suffix; if that does not fit, the start of file is cut ("..."). */
void pol_set_origin(char *o, size_t cap, const char *file, const char *suffix)
{
	size_t fl = strlen(file), sl = strlen(suffix);

	if (fl + sl < cap) {
		pol_seterr(o, cap, "%s%s", file, suffix);
	} else if (sl + 4 < cap) {
		pol_seterr(o, cap, "...%s%s", file + fl - (cap - 4 - sl), suffix);
	} else {
		pol_seterr(o, cap, "%s", suffix);
	}
}
