/* SPDX-License-Identifier: MIT */
/* translate.c - an OCI spec to a uhyve-sec command line and file policy (docs/oci.md,
 * "Translation").
 *
 * Trust: the spec is untrusted (parsed by spec.c); the facts (resolved kernel and rootfs host
 * paths) come from rootfs.c.  Pure apart from the callbacks in struct oci_facts (a stat of
 * bind sources, debug lines), so the unit tests and the fuzz target drive it with fakes.
 *
 *   args[0]          --argv0 args[0] (as written), then '--' (options end: guest words may
 *                    start with '-') and KERNEL = its resolved host path
 *   args[1..]        guest arguments after KERNEL (at most 127)
 *   env              one -e per entry (KEY=VALUE, at most 128)
 *   root.path        policy mount "/" read-only, symlinks followed only inside it
 *   bind mounts      policy mounts, "ro" honoured; proc/sys/dev, non-bind and single-file
 *                    mounts skipped with a debug line
 *   memory.limit     -m = limit - OCI_VMM_OVERHEAD - kernel size, 2 MiB aligned
 *   cpu quota/cpus   -c = ceil(quota / period), at most the cpuset's size; --affinity cpus
 *   annotations      OCI_ANN_MEMORY (-m), OCI_ANN_CPUS (-c) override
 *   network          (a namespace path, set up by netns.c) --net fd:N and the namespace's
 *                    HERMIT_IP/GATEWAY/MASK, which replace any the spec's env has
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "oci.h"

#define MIB (1ull << 20)

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	for (char *c = err; *c != '\0'; c++) {
		*c = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c; /* quoted input: one line */
	}
	return -1;
}

int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!isdigit((unsigned char)s[0])) {
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0) {
		return -1;
	}
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	default:
		return -1;
	}
	if (*end != '\0' && strcmp(end + 1, "") != 0 && strcmp(end + 1, "iB") != 0 &&
	    strcmp(end + 1, "B") != 0) {
		return -1;
	}
	if (v > (UINT64_MAX >> shift)) {
		return -1;
	}
	*out = (uint64_t)v << shift;
	return 0;
}

int cpuset_count(const char *s)
{
	const char *p = s;
	long total = 0;

	if (*p == '\0') {
		return -1;
	}
	while (*p != '\0') {
		char *end;
		long lo, hi;
		if (!isdigit((unsigned char)*p)) {
			return -1;
		}
		lo = hi = strtol(p, &end, 10);
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1])) {
				return -1;
			}
			hi = strtol(end + 1, &end, 10);
		}
		if (lo < 0 || hi < lo || hi >= 1024) {
			return -1;
		}
		total += hi - lo + 1;
		if (*end == ',' && end[1] == '\0') {
			return -1;
		}
		p = *end == ',' ? end + 1 : end;
		if (*end != ',' && *end != '\0') {
			return -1;
		}
	}
	return total > 1024 ? -1 : (int)total;
}

/* ---- argv builder ---- */
struct argv_b {
	char **v;
	size_t n, cap;
	bool oom;
};

static void add(struct argv_b *b, const char *s)
{
	if (b->oom) {
		return;
	}
	if (b->n + 2 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 32;
		char **nv = realloc(b->v, cap * sizeof *nv);
		if (nv == NULL) {
			b->oom = true;
			return;
		}
		nv[b->n] = NULL;
		b->v = nv;
		b->cap = cap;
	}
	if ((b->v[b->n] = strdup(s)) == NULL) {
		b->oom = true;
		return;
	}
	b->v[++b->n] = NULL;
}

__attribute__((format(printf, 2, 3))) static void addf(struct argv_b *b, const char *fmt, ...)
{
	char buf[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	add(b, buf);
}

/* ---- resources ---- */

static int guest_memory(const struct oci_spec *s, const struct oci_facts *f, uint64_t *mem,
			char *err, size_t errlen)
{
	uint64_t need = OCI_VMM_OVERHEAD + ((f->kernel_size + 2 * MIB - 1) & ~(2 * MIB - 1));
	uint64_t limit = s->has_mem_limit && s->mem_limit > 0 ? (uint64_t)s->mem_limit : 0;

	*mem = 0;
	if (s->ann_memory != NULL) {
		if (parse_size(s->ann_memory, mem) != 0 || *mem < OCI_GUEST_MIN ||
		    *mem > OCI_GUEST_MAX || *mem % (2 * MIB) != 0) {
			return fail(err, errlen,
				    "annotation %s: '%.64s' is not a guest RAM size (a multiple of "
				    "2M from 16M to 64G)",
				    OCI_ANN_MEMORY, s->ann_memory);
		}
		if (limit != 0 && (limit < need || *mem > limit - need)) {
			return fail(
			    err, errlen,
			    "annotation %s asks for %llu MiB of guest RAM, but the memory "
			    "limit of %llu MiB leaves at most %lld MiB (uhyve-sec needs %llu "
			    "MiB itself)",
			    OCI_ANN_MEMORY, (unsigned long long)(*mem / MIB),
			    (unsigned long long)(limit / MIB),
			    limit > need ? (long long)((limit - need) / MIB) : 0,
			    (unsigned long long)(need / MIB));
		}
		return 0;
	}
	if (limit == 0) {
		return 0; /* uhyve-sec's default */
	}
	if (limit < need + OCI_GUEST_MIN) {
		return fail(err, errlen,
			    "memory limit of %llu MiB is too small for a Hermit guest: uhyve-sec "
			    "needs %llu MiB itself (with the kernel image) and the guest at least "
			    "16 MiB",
			    (unsigned long long)(limit / MIB), (unsigned long long)(need / MIB));
	}
	*mem = (limit - need) & ~(2 * MIB - 1);
	if (*mem > OCI_GUEST_MAX) {
		*mem = OCI_GUEST_MAX;
	}
	return 0;
}

static int guest_cpus(const struct oci_spec *s, struct oci_plan *p, char *err, size_t errlen)
{
	int nset = 0;

	p->vcpus = 1;
	if (s->cpuset_cpus != NULL && s->cpuset_cpus[0] != '\0') {
		if ((nset = cpuset_count(s->cpuset_cpus)) <= 0) {
			return fail(err, errlen,
				    "linux.resources.cpu.cpus: invalid CPU list '%.64s'",
				    s->cpuset_cpus);
		}
		if ((p->affinity = strdup(s->cpuset_cpus)) == NULL) {
			return fail(err, errlen, "out of memory");
		}
		p->vcpus = (unsigned)nset;
	}
	if (s->has_cpu_quota && s->cpu_quota > 0) {
		uint64_t q = (uint64_t)s->cpu_quota, n = (q + s->cpu_period - 1) / s->cpu_period;
		p->vcpus = (unsigned)(n > 256 ? 256 : n);
		if (nset > 0 && p->vcpus > (unsigned)nset) {
			p->vcpus = (unsigned)nset;
		}
	}
	if (s->ann_cpus != NULL) {
		char *end;
		long v = strtol(s->ann_cpus, &end, 10);
		if (!isdigit((unsigned char)s->ann_cpus[0]) || *end != '\0' || v < 1 || v > 256) {
			return fail(err, errlen,
				    "annotation %s: '%.64s' is not a number of vCPUs from 1 to 256",
				    OCI_ANN_CPUS, s->ann_cpus);
		}
		p->vcpus = (unsigned)v;
	}
	return 0;
}

/* ---- mounts to policy ---- */

__attribute__((format(printf, 2, 3))) static void debug(const struct oci_facts *f, const char *fmt,
							...)
{
	char line[600];
	va_list ap;

	if (f->debug == NULL) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	for (char *c = line; *c != '\0'; c++) {
		*c = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c;
	}
	f->debug(f->debug_ctx, line);
}

/* Lexical normalisation of a destination into out (OCI_PATH_MAX + 1 bytes): "//a/./b/" is
 * "/a/b", ".." removes a component.  Returns -1 if it leaves "/". */
static int norm_dest(const char *in, char *out)
{
	size_t n = 0;
	const char *p = in;

	out[0] = '\0';
	while (*p != '\0') {
		const char *c = p;
		size_t len;
		while (*p != '\0' && *p != '/') {
			p++;
		}
		len = (size_t)(p - c);
		if (*p == '/') {
			p++;
		}
		if (len == 0 || (len == 1 && c[0] == '.')) {
			continue;
		}
		if (len == 2 && c[0] == '.' && c[1] == '.') {
			if (n == 0) {
				return -1;
			}
			while (n > 0 && out[--n] != '/') {
			}
			out[n] = '\0';
			continue;
		}
		if (n + 1 + len > OCI_PATH_MAX) {
			return -1;
		}
		out[n++] = '/';
		memcpy(out + n, c, len);
		n += len;
		out[n] = '\0';
	}
	if (n == 0) {
		strcpy(out, "/");
	}
	return 0;
}

/* A normalised path equal to or below /proc, /sys or /dev. */
static bool pseudo_fs(const char *dest)
{
	static const char *const top[] = {"proc", "sys", "dev"};
	const char *p = dest + 1;

	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(top[i]);
		if (strncmp(p, top[i], n) == 0 && (p[n] == '/' || p[n] == '\0')) {
			return true;
		}
	}
	return false;
}

/* Bind source as an absolute host path (relative ones are relative to the bundle). */
static char *source_path(const struct oci_facts *f, const char *src)
{
	char *out;

	if (src[0] == '/') {
		return strdup(src);
	}
	return asprintf(&out, "%s/%s", f->bundle, src) < 0 ? NULL : out;
}

static int add_bind(json_t *mounts, const struct oci_mount *m, const char *dest, const char *host,
		    char *err, size_t errlen)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "host", host, "guest", dest, "access",
			      m->ro ? "ro" : "rw");
	size_t i;
	json_t *old;

	if (o == NULL) {
		return fail(err, errlen, "out of memory");
	}
	/* A later mount at the same destination hides the earlier one (as in Linux). */
	json_array_foreach(mounts, i, old)
	{
		if (i > 0 && strcmp(json_string_value(json_object_get(old, "guest")), dest) == 0) {
			json_array_remove(mounts, i);
			break;
		}
	}
	if (json_array_size(mounts) > OCI_BINDS_MAX) {
		json_decref(o);
		return fail(err, errlen, "too many bind mounts (at most %d directories)",
			    OCI_BINDS_MAX);
	}
	json_array_append_new(mounts, o);
	return 0;
}

static int one_mount(const struct oci_facts *f, const struct oci_mount *m, json_t *mounts,
		     char *err, size_t errlen)
{
	const char *type = m->type != NULL ? m->type : "none";
	char dest[OCI_PATH_MAX + 1], *host;
	int rc = 0;

	if (m->dest[0] != '/' || norm_dest(m->dest, dest) != 0) {
		return fail(err, errlen,
			    "mount destination '%.256s' is not an absolute path inside /", m->dest);
	}
	if (pseudo_fs(dest)) {
		debug(f, "mount %s (%s) skipped: a unikernel has no /proc, /sys or /dev", dest,
		      type);
		return 0;
	}
	if (!m->bind) {
		debug(f, "mount %s (%s) skipped: only bind mounts of directories reach the guest",
		      dest, type);
		return 0;
	}
	if (m->source == NULL || m->source[0] == '\0') {
		return fail(err, errlen, "bind mount %.256s has no source", dest);
	}
	if (strcmp(dest, "/") == 0) {
		return fail(err, errlen,
			    "a bind mount at / would hide the image's root file system");
	}
	if ((host = source_path(f, m->source)) == NULL) {
		return fail(err, errlen, "out of memory");
	}
	if (strlen(host) > OCI_PATH_MAX) {
		free(host);
		return fail(err, errlen, "bind mount %.256s: source path too long", dest);
	}
	switch (f->source_kind(host, f->source_ctx)) {
	case SRC_DIR:
		rc = add_bind(mounts, m, dest, host, err, errlen);
		break;
	case SRC_FILE:
		debug(
		    f,
		    "mount %s skipped: %s is not a directory (single-file binds are not supported)",
		    dest, host);
		break;
	case SRC_MISSING:
	default:
		rc = fail(err, errlen, "bind mount source %.256s: no such file or directory", host);
		break;
	}
	free(host);
	return rc;
}

static int build_policy(const struct oci_spec *s, const struct oci_facts *f, struct oci_plan *p,
			char *err, size_t errlen)
{
	json_t *pol, *mounts = json_array(), *rootm;

	rootm = json_pack("{s:s, s:s, s:s, s:s}", "host", f->rootfs_host, "guest", "/", "access",
			  "ro", "symlinks", "within");
	if (mounts == NULL || rootm == NULL || json_array_append_new(mounts, rootm) != 0) {
		json_decref(mounts);
		return fail(err, errlen, "out of memory");
	}
	for (size_t i = 0; i < s->nmounts; i++) {
		if (one_mount(f, &s->mounts[i], mounts, err, errlen) != 0) {
			json_decref(mounts);
			return -1;
		}
	}
	pol = json_pack("{s:i, s:o}", "version", 1, "mounts", mounts);
	if (pol == NULL) {
		return fail(err, errlen, "out of memory");
	}
	p->policy_json = json_dumps(pol, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(pol);
	return p->policy_json == NULL ? fail(err, errlen, "out of memory") : 0;
}

/* ---- the command line ---- */

/* An entry the network set-up replaces: HERMIT_IP=, HERMIT_GATEWAY=, HERMIT_MASK=. */
static bool net_key(const struct oci_facts *f, const char *kv)
{
	static const char *const keys[] = {"HERMIT_IP=", "HERMIT_GATEWAY=", "HERMIT_MASK="};

	for (size_t i = 0; f->net_env != NULL && i < 3; i++) {
		if (strncmp(kv, keys[i], strlen(keys[i])) == 0) {
			return true;
		}
	}
	return false;
}

static int check_env(const struct oci_spec *s, const struct oci_facts *f, char *err, size_t errlen)
{
	size_t n = f->net_env != NULL ? 3 : 0;

	for (size_t i = 0; i < s->nenv; i++) {
		const char *eq = strchr(s->env[i], '=');
		if (eq == NULL || eq == s->env[i]) {
			return fail(err, errlen, "process.env[%zu] is not KEY=VALUE", i);
		}
		n += net_key(f, s->env[i]) ? 0 : 1;
	}
	if (n > OCI_GUEST_ENV_MAX) {
		return fail(err, errlen,
			    "too many environment variables (%zu%s; uhyve-sec passes at most %d)",
			    n, f->net_env != NULL ? " with the network's 3" : "",
			    OCI_GUEST_ENV_MAX);
	}
	if (s->nargs - 1 > OCI_GUEST_ARG_MAX) {
		return fail(err, errlen, "too many arguments (%zu; uhyve-sec passes at most %d)",
			    s->nargs - 1, OCI_GUEST_ARG_MAX);
	}
	return 0;
}

static void build_argv(const struct oci_spec *s, const struct oci_facts *f, struct oci_plan *p,
		       struct argv_b *b)
{
	add(b, "uhyve-sec");
	addf(b, "--status-fd=%d", f->status_fd);
	if (p->guest_mem != 0) {
		addf(b, "--memory-size=%lluM", (unsigned long long)(p->guest_mem / MIB));
	}
	addf(b, "--cpu-count=%u", p->vcpus);
	if (p->affinity != NULL) {
		add(b, "--affinity");
		add(b, p->affinity);
	}
	add(b, "--policy");
	add(b, f->policy_path);
	if (f->net_env != NULL) {
		add(b, "--net");
		addf(b, "fd:%d", f->net_fd);
	}
	for (size_t i = 0; i < s->nenv; i++) {
		if (net_key(f, s->env[i])) {
			debug(f,
			      "process.env %.*s replaced: the guest takes the network namespace's "
			      "address",
			      (int)(strchr(s->env[i], '=') - s->env[i]), s->env[i]);
			continue;
		}
		add(b, "--env");
		add(b, s->env[i]);
	}
	for (size_t i = 0; f->net_env != NULL && i < 3; i++) {
		add(b, "--env");
		add(b, f->net_env[i]);
	}
	add(b, "--argv0");
	add(b, s->args[0]);
	add(b, "--"); /* options end here: KERNEL and the rest belong to the guest */
	add(b, f->kernel_host);
	for (size_t i = 1; i < s->nargs; i++) {
		add(b, s->args[i]);
	}
}

int translate(const struct oci_spec *s, const struct oci_facts *f, struct oci_plan *p, char *err,
	      size_t errlen)
{
	struct argv_b b = {0};

	memset(p, 0, sizeof *p);
	if (check_env(s, f, err, errlen) != 0 ||
	    guest_memory(s, f, &p->guest_mem, err, errlen) != 0 ||
	    guest_cpus(s, p, err, errlen) != 0 || build_policy(s, f, p, err, errlen) != 0) {
		plan_free(p);
		return -1;
	}
	build_argv(s, f, p, &b);
	p->argv = b.v;
	p->argc = b.n;
	if (b.oom) {
		plan_free(p);
		return fail(err, errlen, "out of memory");
	}
	return 0;
}

void plan_free(struct oci_plan *p)
{
	for (size_t i = 0; p->argv != NULL && p->argv[i] != NULL; i++) {
		free(p->argv[i]);
	}
	free(p->argv);
	free(p->policy_json);
	free(p->affinity);
	memset(p, 0, sizeof *p);
}
