/* SPDX-License-Identifier: MIT */
/* fuzz_oci_spec.c - uhyve-sec-oci's config.json parser and translator (oci/spec.c,
 * oci/translate.c), plus the Hermit ELF screening (oci/hermit.c) and the end-record parser
 * (oci/endrec.c) on the same bytes.
 *
 * Input: config.json text, in a buffer of exactly its size.  When it parses, it is
 * translated with fixed facts; bind sources are classified without system calls (a path with
 * "file" in it is a file, "missing" does not exist, everything else a directory).
 *
 * Oracles: a refused config says why (non-empty, one line); an accepted one has args and a
 * root path; a translation either fails with a reason or gives an argv of the documented shape
 * (argv[0] "uhyve-sec", the options, "--argv0" args[0], the resolved kernel, args[1..]
 * unchanged, NULL at argc, at most 128 -e values each with a '=' after a non-empty key) and a
 * policy that the policy parser itself (policy/policy.c) accepts, with the rootfs read-only at
 * "/" first and at most 64 mounts, none of them under /proc, /sys or /dev.  The ELF check
 * and the end-record parser must not read out of bounds (ASan) and give consistent answers.
 */
#include <string.h>

#include "fuzz.h"
#include "oci.h"
#include "policy.h"

static enum src_kind kind(const char *path, void *ctx)
{
	(void)ctx;
	if (strstr(path, "missing") != NULL) {
		return SRC_MISSING;
	}
	return strstr(path, "file") != NULL ? SRC_FILE : SRC_DIR;
}

static void debug(void *ctx, const char *line)
{
	(void)ctx;
	if (line[0] == '\0' || strchr(line, '\n') != NULL) {
		FUZZ_BUG("bad debug line");
	}
}

static void check_argv(const struct oci_spec *s, const struct oci_plan *p)
{
	size_t i, env = 0;

	if (p->argc < 4 || p->argv[p->argc] != NULL || strcmp(p->argv[0], "uhyve-sec") != 0) {
		FUZZ_BUG("argv shape");
	}
	for (i = 1; i < p->argc && strcmp(p->argv[i], "--argv0") != 0; i++) {
		if (strcmp(p->argv[i], "--env") == 0) {
			const char *kv = p->argv[++i], *eq = kv ? strchr(kv, '=') : NULL;
			if (eq == NULL || eq == kv) {
				FUZZ_BUG("env without KEY=");
			}
			env++;
		}
	}
	/* --argv0 NAME -- KERNEL ARGS... */
	if (env > OCI_GUEST_ENV_MAX || i + 3 >= p->argc || strcmp(p->argv[i + 1], s->args[0]) ||
	    strcmp(p->argv[i + 2], "--") != 0 ||
	    strcmp(p->argv[i + 3], "/host/rootfs/kernel") != 0 ||
	    p->argc - (i + 4) != s->nargs - 1) {
		FUZZ_BUG("argv tail");
	}
	for (size_t k = 1; k < s->nargs; k++) {
		if (strcmp(p->argv[i + 3 + k], s->args[k]) != 0) {
			FUZZ_BUG("guest argument %zu changed", k);
		}
	}
}

static bool under(const char *g, const char *top)
{
	size_t n = strlen(top);

	return strncmp(g, top, n) == 0 && (g[n] == '/' || g[n] == '\0');
}

static void check_policy(const struct oci_plan *p)
{
	struct policy pol;
	char err[600];

	policy_init(&pol);
	if (policy_load_buffer(&pol, "policy.json", p->policy_json, strlen(p->policy_json), "/",
			       err, sizeof err) != 0) {
		FUZZ_BUG("generated policy refused: %s", err);
	}
	if (pol.nmounts == 0 || pol.nmounts > POL_MAX_MOUNTS ||
	    strcmp(pol.mounts[0].guest, "/") != 0 || pol.mounts[0].writable ||
	    strcmp(pol.mounts[0].host, "/host/rootfs") != 0) {
		FUZZ_BUG("policy: rootfs mount or count");
	}
	for (size_t i = 1; i < pol.nmounts; i++) {
		const char *g = pol.mounts[i].guest;
		if (strcmp(g, "/") == 0 || under(g, "/proc") || under(g, "/sys") ||
		    under(g, "/dev")) {
			FUZZ_BUG("policy mounts %s", g);
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(pol.mounts[j].guest, g) == 0) {
				FUZZ_BUG("guest path %s twice", g);
			}
		}
	}
	policy_free(&pol);
}

static void other_parsers(const uint8_t *data, size_t size)
{
	char why[160];
	struct endrec r;

	if (!hermit_elf_check(data, size, why, sizeof why) && why[0] == '\0') {
		FUZZ_BUG("ELF refusal without a reason");
	}
	endrec_parse((const char *)data, size, &r);
	if ((r.kind == END_GUEST && (r.status < 0 || r.status > 255)) ||
	    (r.kind == END_ERROR && (r.status < 1 || r.status > 255 || r.what[0] == '\0'))) {
		FUZZ_BUG("end record");
	}
	for (const char *m = r.msg; *m != '\0'; m++) {
		if ((unsigned char)*m < 0x20) {
			FUZZ_BUG("control byte in an end-record message");
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct oci_facts facts = {.kernel_host = "/host/rootfs/kernel",
					       .kernel_size = 1u << 20,
					       .rootfs_host = "/host/rootfs",
					       .bundle = "/host/bundle",
					       .policy_path = "/run/oci/x/policy.json",
					       .status_fd = 3,
					       .source_kind = kind,
					       .debug = debug};
	char *text = malloc(size ? size : 1), err[1024];
	struct oci_spec s;
	struct oci_plan p;

	if (text == NULL) {
		FUZZ_SETUP_FAIL("malloc");
	}
	memcpy(text, data, size);
	other_parsers(data, size);
	if (spec_parse(text, size, &s, err, sizeof err) != 0) {
		if (err[0] == '\0' || strchr(err, '\n') != NULL) {
			FUZZ_BUG("refusal without a one-line reason");
		}
		free(text);
		return 0;
	}
	if (s.nargs == 0 || s.args[0][0] == '\0' || s.root_path == NULL) {
		FUZZ_BUG("accepted without args or root");
	}
	if (translate(&s, &facts, &p, err, sizeof err) == 0) {
		check_argv(&s, &p);
		check_policy(&p);
		plan_free(&p);
	} else if (err[0] == '\0') {
		FUZZ_BUG("translation refused without a reason");
	}
	spec_free(&s);
	free(text);
	return 0;
}
