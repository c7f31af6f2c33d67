/* SPDX-License-Identifier: MIT */
/* cli_env.c - the HERMIT_* environment variables: defaults for what the command line did not
 * set (uhyve reads HERMIT_MEMORY_SIZE and HERMIT_CPU_COUNT through clap, which lets the
 * command line win; they also beat uhyve.toml).  uhyve-sec also reads its older names
 * HERMIT_MEM and HERMIT_CPUS, and HERMIT_VERBOSE, which is accepted and checked but changes
 * nothing any more (uhyve always shows the kernel log); HERMIT_GDB_PORT (the port -s/--gdb-port
 * and --gdb-socket did not set).
 *
 * Trust: operator input (the caller's environment). */
#include <string.h>

#include "launcher.h"
#include "uhs_msg.h"

static const char *getenv_from(char *const envp[], const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++) {
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=') {
			return *envp + n + 1;
		}
	}
	return NULL;
}

/* The uhyve name is read last, so it wins when both are set. */
static const char *pick(char *const envp[], const char *old, const char *uhyve, const char **name)
{
	const char *v = getenv_from(envp, uhyve);

	*name = uhyve;
	if (v == NULL) {
		v = getenv_from(envp, old);
		*name = old;
	}
	return v;
}

int cli_env_apply(struct launch_config *lc, char *const envp[])
{
	const char *v, *name;
	int port = -1;

	if (!(lc->given & G_MEM) &&
	    (v = pick(envp, "HERMIT_MEM", "HERMIT_MEMORY_SIZE", &name)) != NULL) {
		if (lc_set_mem(&lc->vm, v, name) != 0) {
			return -1;
		}
		lc->given |= G_MEM;
	}
	if (!(lc->given & G_CPUS) &&
	    (v = pick(envp, "HERMIT_CPUS", "HERMIT_CPU_COUNT", &name)) != NULL) {
		if (lc_set_cpus(&lc->vm, v, name) != 0) {
			return -1;
		}
		lc->given |= G_CPUS;
	}
	if ((v = getenv_from(envp, "HERMIT_VERBOSE")) != NULL &&
	    lc_set_bool(&lc->verbose, v, "HERMIT_VERBOSE") != 0) {
		return -1;
	}
	if (lc->gdb_socket != NULL && lc->gdb_port >= 0) {
		uhs_msg("--gdb-port and --gdb-socket exclude each other");
		return -1;
	}
	/* HERMIT_GDB_PORT applies when neither -s nor --gdb-socket is given */
	if ((v = getenv_from(envp, "HERMIT_GDB_PORT")) != NULL &&
	    (gdb_parse_port(v, "HERMIT_GDB_PORT", &port) != 0)) {
		return -1;
	}
	if (lc->gdb_socket == NULL && lc->gdb_port < 0) {
		lc->gdb_port = port;
	}
	return 0;
}
