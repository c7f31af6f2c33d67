/* SPDX-License-Identifier: MIT */
/* lookup.c - which uhyve.toml to read, in uhyve's order (uhc_lookup in uhyve_toml.h).  Pure:
 * the environment, the current directory and the existence test are parameters; no global
 * state, no I/O of its own.  Environment values are untrusted only as far as their length.
 */
#include <stdio.h>
#include <string.h>

#include "uhyve_toml.h"

static const char *env_get(char *const envp[], const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; envp != NULL && envp[i] != NULL; i++) {
		if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=') {
			return envp[i] + n + 1;
		}
	}
	return NULL;
}

/* out = a "/" b (or just b when b is absolute or a is NULL); -1 if it does not fit. */
static int join(char *out, size_t outlen, const char *a, const char *b, const char *c)
{
	int n;

	if (b[0] == '/' || a == NULL) {
		n = snprintf(out, outlen, "%s%s", b, c);
	} else {
		n = snprintf(out, outlen, "%s%s%s%s", a,
			     a[0] != '\0' && a[strlen(a) - 1] == '/' ? "" : "/", b, c);
	}
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int named(const char *what, const char *path, char *out, size_t outlen, char *err,
		 size_t errlen)
{
	if (path[0] == '\0') {
		snprintf(err, errlen, "%s names no file (it is empty)", what);
		return -1;
	}
	if (join(out, outlen, NULL, path, "") != 0) {
		snprintf(err, errlen, "%s: the path is longer than %zu bytes", what, outlen - 1);
		return -1;
	}
	return 0;
}

int uhc_lookup(const char *cli_config, char *const envp[], const char *cwd,
	       bool (*exists)(const char *path, void *ctx), void *ctx, char *out, size_t outlen,
	       char *err, size_t errlen)
{
	const char *env = env_get(envp, "HERMIT_CONFIG");
	const char *xdg = env_get(envp, "XDG_CONFIG_HOME");

	if (cli_config != NULL) {
		return named("--config", cli_config, out, outlen, err, errlen) == 0 ? UHC_FOUND_CLI
										    : -1;
	}
	if (env != NULL) {
		return named("HERMIT_CONFIG", env, out, outlen, err, errlen) == 0 ? UHC_FOUND_ENV
										  : -1;
	}
	if (cwd != NULL && cwd[0] != '\0') {
		if (join(out, outlen, cwd, "uhyve.toml", "") != 0) {
			snprintf(err, errlen, "the current directory's path is too long");
			return -1;
		}
		if (exists(out, ctx)) {
			return UHC_FOUND_CWD;
		}
	}
	if (xdg != NULL && xdg[0] != '\0') {
		if (join(out, outlen, xdg[0] == '/' ? NULL : cwd, xdg, "/uhyve/uhyve.toml") != 0) {
			snprintf(err, errlen, "XDG_CONFIG_HOME is too long");
			return -1;
		}
		if (exists(out, ctx)) {
			return UHC_FOUND_XDG;
		}
	}
	if (outlen > 0) {
		out[0] = '\0';
	}
	return UHC_FOUND_NONE;
}
