/* SPDX-License-Identifier: MIT */
/* cli_values.c - the values the command line, the HERMIT_* environment and uhyve.toml share:
 * memory size, vCPU count, host CPU list, booleans, guest environment entries.
 *
 * Trust: operator input only; the text is still checked strictly (the syntax parsers are
 * config/'s, fuzzed).  Each setter prints one line naming where the value came from. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "byte_size.h"
#include "launcher.h"
#include "uhs_msg.h"
#include "uhyve_toml.h"

/* The checks after the syntax; 0, or -1 with the reason in err. */
static int mem_ok(uint64_t v, char *err, size_t errlen)
{
	if (uhs_check_memory_size(v, err, errlen) != 0) {
		return -1;
	}
	if (v > CFG_MAX_MEM) {
		snprintf(err, errlen, "at most 64 GiB of guest memory (is %llu MiB)",
			 (unsigned long long)(v >> 20));
		return -1;
	}
	return 0;
}

int lc_check_mem(struct vmm_config *cfg, uint64_t v, const char *what)
{
	char err[200];

	if (mem_ok(v, err, sizeof err) != 0) {
		uhs_msg("%s: %s", what, err);
		return -1;
	}
	cfg->mem_size = v;
	return 0;
}

int lc_set_mem(struct vmm_config *cfg, const char *s, const char *what)
{
	char err[300];
	uint64_t v;

	if (uhs_parse_size_binary(s, strlen(s), &v, err, sizeof err) != 0 ||
	    mem_ok(v, err, sizeof err) != 0) {
		uhs_msg("invalid %s '%s': %s", what, s, err);
		return -1;
	}
	cfg->mem_size = v;
	return 0;
}

static int cpus_ok(uint64_t n, char *err, size_t errlen)
{
	if (n < 1 || n > CFG_MAX_CPUS) {
		snprintf(err, errlen, "%llu vCPUs requested; uhyve-sec runs 1 to %d",
			 (unsigned long long)n, CFG_MAX_CPUS);
		return -1;
	}
	return 0;
}

int lc_check_cpus(struct vmm_config *cfg, uint64_t n, const char *what)
{
	char err[200];

	if (cpus_ok(n, err, sizeof err) != 0) {
		uhs_msg("%s: %s", what, err);
		return -1;
	}
	cfg->cpus = (unsigned)n;
	return 0;
}

int lc_set_cpus(struct vmm_config *cfg, const char *s, const char *what)
{
	char err[200];
	uint32_t n;

	if (uhc_parse_cpu_count(s, &n, err, sizeof err) != 0 || cpus_ok(n, err, sizeof err) != 0) {
		uhs_msg("invalid %s '%s': %s", what, s, err);
		return -1;
	}
	cfg->cpus = n;
	return 0;
}

/* Every listed CPU must be one this process may run on (uhyve: one of the host's cores). */
static int affinity_ok(const uint32_t *cpus, size_t n, char *err, size_t errlen)
{
	cpu_set_t allowed;

	if (n > CFG_MAX_CPUS) {
		snprintf(err, errlen, "%zu host CPUs listed; at most %d", n, CFG_MAX_CPUS);
		return -1;
	}
	CPU_ZERO(&allowed);
	if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
		snprintf(err, errlen, "cannot read this process's CPU affinity");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (cpus[i] >= CPU_SETSIZE || !CPU_ISSET(cpus[i], &allowed)) {
			snprintf(err, errlen, "host CPU %u is not one this process may run on",
				 cpus[i]);
			return -1;
		}
	}
	return 0;
}

static void set_cpus_list(struct vmm_config *cfg, const uint32_t *cpus, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		cfg->affinity[i] = (int)cpus[i];
	}
	cfg->naffinity = (int)n;
}

int lc_check_affinity(struct vmm_config *cfg, const uint32_t *cpus, size_t n, const char *what)
{
	char err[200];

	if (affinity_ok(cpus, n, err, sizeof err) != 0) {
		uhs_msg("%s: %s", what, err);
		return -1;
	}
	set_cpus_list(cfg, cpus, n);
	return 0;
}

int lc_set_affinity(struct vmm_config *cfg, const char *s, const char *what)
{
	struct uhc_affinity aff = {0};
	char err[200];
	int rc = 0;

	if (uhc_parse_affinity(s, &aff, err, sizeof err) != 0 ||
	    affinity_ok(aff.cpus, aff.n, err, sizeof err) != 0) {
		uhs_msg("invalid %s '%s': %s", what, s, err);
		rc = -1;
	} else {
		set_cpus_list(cfg, aff.cpus, aff.n);
	}
	free(aff.cpus);
	return rc;
}

int lc_set_bool(bool *b, const char *s, const char *what)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off", ""};

	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = true;
			return 0;
		}
	}
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
		if (strcasecmp(s, no[i]) == 0) {
			*b = false;
			return 0;
		}
	}
	uhs_msg("invalid %s '%s': expected 1, true, yes, on (any case) or 0, false, no, off, or "
		"an empty value",
		what, s);
	return -1;
}

int lc_check_env(const char *kv, const char *what)
{
	const char *eq = strchr(kv, '=');

	if (strcmp(kv, "host") == 0) {
		return 0;
	}
	if (eq == NULL || eq == kv) {
		uhs_msg("invalid %s '%s': expected NAME=VALUE (or 'host')", what, kv);
		return -1;
	}
	return 0;
}

static size_t name_len(const char *kv)
{
	const char *eq = strchr(kv, '=');

	return eq != NULL ? (size_t)(eq - kv) : strlen(kv);
}

int lc_env_put(struct vmm_config *cfg, const char *kv)
{
	size_t n = name_len(kv);
	char *dup = strdup(kv), **grown;

	if (dup == NULL) {
		uhs_msg("out of memory");
		return -1;
	}
	for (int i = 0; i < cfg->nenv; i++) {
		if (name_len(cfg->env[i]) == n && memcmp(cfg->env[i], kv, n) == 0) {
			free(cfg->env[i]);
			cfg->env[i] = dup;
			return 0;
		}
	}
	grown = realloc(cfg->env, sizeof *grown * ((size_t)cfg->nenv + 1));
	if (grown == NULL) {
		free(dup);
		uhs_msg("out of memory");
		return -1;
	}
	grown[cfg->nenv++] = dup;
	cfg->env = grown;
	return 0;
}
