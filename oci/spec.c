/* SPDX-License-Identifier: MIT */
/* spec.c - parse an OCI config.json (runtime-spec 1.x) into struct oci_spec.
 *
 * Trust: the text is untrusted (the bundle may come from anyone who can write it).  Pure:
 * no system calls.  jansson parses with duplicate keys rejected; before that a linear scan
 * bounds the nesting depth.  Only the keys uhyve-sec-oci uses are read: each must have the
 * right type, arrays and strings are bounded, strings may not contain NUL.  Unknown keys are
 * ignored, as the runtime spec requires.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "oci.h"

struct pctx {
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct pctx *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
	for (char *c = p->err; *c != '\0'; c++) {
		*c = (unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c; /* quoted input: one line */
	}
	return -1;
}

unsigned spec_json_depth(const char *buf, size_t len)
{
	unsigned depth = 0, max = 0;
	bool str = false, esc = false;

	for (size_t i = 0; i < len; i++) {
		char ch = buf[i];
		if (str) {
			if (esc) {
				esc = false;
			} else if (ch == '\\') {
				esc = true;
			} else if (ch == '"') {
				str = false;
			}
		} else if (ch == '"') {
			str = true;
		} else if (ch == '[' || ch == '{') {
			if (++depth > max) {
				max = depth;
			}
		} else if ((ch == ']' || ch == '}') && depth > 0) {
			depth--;
		}
	}
	return max;
}

/* A string value named label in messages: at most max bytes, no NUL, copied to *out. */
static int str_value(struct pctx *p, const json_t *v, const char *label, size_t max, char **out)
{
	size_t n;

	if (!json_is_string(v)) {
		return fail(p, "config.json: %s must be a string", label);
	}
	n = json_string_length(v);
	if (n > max) {
		return fail(p, "config.json: %s is too long (%zu bytes, at most %zu)", label, n,
			    max);
	}
	if (strlen(json_string_value(v)) != n) {
		return fail(p, "config.json: %s contains a NUL byte", label);
	}
	if ((*out = strdup(json_string_value(v))) == NULL) {
		return fail(p, "out of memory");
	}
	return 0;
}

/* A string member: absent (or null) is fine (*out stays NULL) unless required. */
static int get_str(struct pctx *p, const json_t *obj, const char *key, const char *where,
		   size_t max, bool required, char **out)
{
	const json_t *v = json_object_get(obj, key);
	char label[160];

	snprintf(label, sizeof label, "%s%s", where, key);
	if (v == NULL || json_is_null(v)) {
		return required ? fail(p, "config.json: %s is missing", label) : 0;
	}
	return str_value(p, v, label, max, out);
}

static int get_obj(struct pctx *p, const json_t *obj, const char *key, const char *where,
		   const json_t **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		return 0;
	}
	if (!json_is_object(v)) {
		return fail(p, "config.json: %s%s must be an object", where, key);
	}
	*out = v;
	return 0;
}

static int get_int(struct pctx *p, const json_t *obj, const char *key, const char *where, bool *has,
		   int64_t *out)
{
	const json_t *v = json_object_get(obj, key);

	*has = false;
	if (v == NULL || json_is_null(v)) {
		return 0;
	}
	if (!json_is_integer(v)) {
		return fail(p, "config.json: %s%s must be an integer", where, key);
	}
	*has = true;
	*out = json_integer_value(v);
	return 0;
}

/* An array of strings, each at most max bytes, at most OCI_ARRAY_MAX of them. */
static int get_strv(struct pctx *p, const json_t *obj, const char *key, const char *where,
		    size_t max, char ***out, size_t *n)
{
	const json_t *v = json_object_get(obj, key);
	size_t cnt;

	*out = NULL;
	*n = 0;
	if (v == NULL || json_is_null(v)) {
		return 0;
	}
	if (!json_is_array(v)) {
		return fail(p, "config.json: %s%s must be an array of strings", where, key);
	}
	cnt = json_array_size(v);
	if (cnt > OCI_ARRAY_MAX) {
		return fail(p, "config.json: %s%s has too many elements (%zu, at most %d)", where,
			    key, cnt, OCI_ARRAY_MAX);
	}
	if ((*out = calloc(cnt + 1, sizeof **out)) == NULL) {
		return fail(p, "out of memory");
	}
	for (size_t i = 0; i < cnt; i++) {
		char label[160];
		snprintf(label, sizeof label, "%s%s[%zu]", where, key, i);
		if (str_value(p, json_array_get(v, i), label, max, &(*out)[i]) != 0) {
			return -1;
		}
		(*n)++;
	}
	return 0;
}

static int parse_process(struct pctx *p, const json_t *proc, struct oci_spec *s);

static int parse_rlimit_name(const char *t)
{
	static const struct {
		const char *name;
		int res;
	} names[] = {
	    {"RLIMIT_AS", RLIMIT_AS},
	    {"RLIMIT_CORE", RLIMIT_CORE},
	    {"RLIMIT_CPU", RLIMIT_CPU},
	    {"RLIMIT_DATA", RLIMIT_DATA},
	    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
	    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
	    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
	    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
	    {"RLIMIT_NICE", RLIMIT_NICE},
	    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
	    {"RLIMIT_NPROC", RLIMIT_NPROC},
	    {"RLIMIT_RSS", RLIMIT_RSS},
	    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
	    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
	    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
	    {"RLIMIT_STACK", RLIMIT_STACK},
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(names[i].name, t) == 0) {
			return names[i].res;
		}
	}
	return -1;
}

static int parse_rlimits(struct pctx *p, const json_t *proc, struct oci_spec *s)
{
	const json_t *v = json_object_get(proc, "rlimits");
	size_t n;

	if (v == NULL || json_is_null(v)) {
		return 0;
	}
	if (!json_is_array(v) || (n = json_array_size(v)) > 64) {
		return fail(p, "config.json: process.rlimits must be an array of at most 64");
	}
	if ((s->rlimits = calloc(n + 1, sizeof *s->rlimits)) == NULL) {
		return fail(p, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(v, i), *t = json_object_get(e, "type"),
			     *soft = json_object_get(e, "soft"), *hard = json_object_get(e, "hard");
		int res = json_is_string(t) ? parse_rlimit_name(json_string_value(t)) : -1;
		if (!json_is_object(e) || res < 0 || !json_is_integer(soft) ||
		    !json_is_integer(hard) || json_integer_value(soft) < 0 ||
		    json_integer_value(hard) < 0) {
			return fail(p,
				    "config.json: process.rlimits[%zu] needs a known type and "
				    "non-negative integer soft and hard",
				    i);
		}
		s->rlimits[i] = (struct oci_rlimit){res, (uint64_t)json_integer_value(soft),
						    (uint64_t)json_integer_value(hard)};
		s->nrlimits++;
	}
	return 0;
}

static int parse_process(struct pctx *p, const json_t *proc, struct oci_spec *s)
{
	const json_t *t = json_object_get(proc, "terminal"), *cs;

	if (t != NULL && !json_is_null(t) && !json_is_boolean(t)) {
		return fail(p, "config.json: process.terminal must be a boolean");
	}
	s->terminal = json_is_true(t);
	if (get_strv(p, proc, "args", "process.", OCI_STRING_MAX, &s->args, &s->nargs) != 0 ||
	    get_strv(p, proc, "env", "process.", OCI_STRING_MAX, &s->env, &s->nenv) != 0) {
		return -1;
	}
	if (s->nargs == 0 || s->args[0][0] == '\0') {
		return fail(p, "config.json: process.args must name a program (args[0])");
	}
	if (get_obj(p, proc, "consoleSize", "process.", &cs) != 0) {
		return -1;
	}
	if (cs != NULL) {
		const json_t *h = json_object_get(cs, "height"), *w = json_object_get(cs, "width");
		if (!json_is_integer(h) || !json_is_integer(w) || json_integer_value(h) < 0 ||
		    json_integer_value(h) > 65535 || json_integer_value(w) < 0 ||
		    json_integer_value(w) > 65535) {
			return fail(p, "config.json: process.consoleSize needs height and width "
				       "from 0 to 65535");
		}
		s->console_rows = (unsigned)json_integer_value(h);
		s->console_cols = (unsigned)json_integer_value(w);
	}
	return parse_rlimits(p, proc, s);
}

static void mount_options(const json_t *opts, struct oci_mount *m)
{
	for (size_t i = 0; i < json_array_size(opts); i++) {
		const char *o = json_string_value(json_array_get(opts, i));
		if (strcmp(o, "bind") == 0 || strcmp(o, "rbind") == 0) {
			m->bind = true;
		} else if (strcmp(o, "ro") == 0 || strcmp(o, "rro") == 0) {
			m->ro = true;
		} else if (strcmp(o, "rw") == 0 || strcmp(o, "rrw") == 0) {
			m->ro = false;
		}
	}
}

static int parse_mount(struct pctx *p, const json_t *e, size_t i, struct oci_mount *m)
{
	const json_t *opts = json_object_get(e, "options");
	char where[48];

	snprintf(where, sizeof where, "mounts[%zu].", i);
	if (!json_is_object(e)) {
		return fail(p, "config.json: mounts[%zu] must be an object", i);
	}
	if (get_str(p, e, "destination", where, OCI_PATH_MAX, true, &m->dest) != 0 ||
	    get_str(p, e, "source", where, OCI_PATH_MAX, false, &m->source) != 0 ||
	    get_str(p, e, "type", where, 64, false, &m->type) != 0) {
		return -1;
	}
	if (opts != NULL && !json_is_null(opts)) {
		if (!json_is_array(opts) || json_array_size(opts) > 64) {
			return fail(p,
				    "config.json: %soptions must be an array of at most 64 strings",
				    where);
		}
		for (size_t j = 0; j < json_array_size(opts); j++) {
			if (!json_is_string(json_array_get(opts, j))) {
				return fail(p, "config.json: %soptions[%zu] must be a string",
					    where, j);
			}
		}
		mount_options(opts, m);
	}
	if (m->type != NULL && strcmp(m->type, "bind") == 0) {
		m->bind = true;
	}
	return 0;
}

static int parse_mounts(struct pctx *p, const json_t *root, struct oci_spec *s)
{
	const json_t *v = json_object_get(root, "mounts");
	size_t n;

	if (v == NULL || json_is_null(v)) {
		return 0;
	}
	if (!json_is_array(v)) {
		return fail(p, "config.json: mounts must be an array");
	}
	if ((n = json_array_size(v)) > OCI_MOUNTS_MAX) {
		return fail(p, "config.json: too many mounts (%zu, at most %d)", n, OCI_MOUNTS_MAX);
	}
	if ((s->mounts = calloc(n + 1, sizeof *s->mounts)) == NULL) {
		return fail(p, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		s->nmounts++;
		if (parse_mount(p, json_array_get(v, i), i, &s->mounts[i]) != 0) {
			return -1;
		}
	}
	return 0;
}

static int parse_resources(struct pctx *p, const json_t *res, struct oci_spec *s)
{
	const json_t *mem, *cpu, *pids;
	bool has_period;
	int64_t period = 0;

	if (get_obj(p, res, "memory", "linux.resources.", &mem) != 0 ||
	    get_obj(p, res, "cpu", "linux.resources.", &cpu) != 0 ||
	    get_obj(p, res, "pids", "linux.resources.", &pids) != 0) {
		return -1;
	}
	if ((mem != NULL && get_int(p, mem, "limit", "linux.resources.memory.", &s->has_mem_limit,
				    &s->mem_limit) != 0) ||
	    (pids != NULL && get_int(p, pids, "limit", "linux.resources.pids.", &s->has_pids_limit,
				     &s->pids_limit) != 0)) {
		return -1;
	}
	if (cpu == NULL) {
		return 0;
	}
	if (get_int(p, cpu, "quota", "linux.resources.cpu.", &s->has_cpu_quota, &s->cpu_quota) !=
		0 ||
	    get_int(p, cpu, "period", "linux.resources.cpu.", &has_period, &period) != 0 ||
	    get_str(p, cpu, "cpus", "linux.resources.cpu.", 1024, false, &s->cpuset_cpus) != 0 ||
	    get_str(p, cpu, "mems", "linux.resources.cpu.", 1024, false, &s->cpuset_mems) != 0) {
		return -1;
	}
	if (has_period && (period <= 0 || period > 1000000)) {
		return fail(p, "config.json: linux.resources.cpu.period must be 1..1000000");
	}
	s->cpu_period = has_period ? (uint64_t)period : 100000;
	return 0;
}

static int parse_namespaces(struct pctx *p, const json_t *lin, struct oci_spec *s)
{
	const json_t *ns = json_object_get(lin, "namespaces");

	if (ns == NULL || json_is_null(ns)) {
		return 0;
	}
	if (!json_is_array(ns) || json_array_size(ns) > 16) {
		return fail(p, "config.json: linux.namespaces must be an array of at most 16");
	}
	for (size_t i = 0; i < json_array_size(ns); i++) {
		const json_t *e = json_array_get(ns, i), *t = json_object_get(e, "type");
		if (!json_is_object(e) || !json_is_string(t)) {
			return fail(p, "config.json: linux.namespaces[%zu] needs a string type", i);
		}
		if (strcmp(json_string_value(t), "network") != 0) {
			continue;
		}
		if (s->has_netns) {
			return fail(p, "config.json: linux.namespaces has two network entries");
		}
		s->has_netns = true;
		if (get_str(p, e, "path", "linux.namespaces[].", OCI_PATH_MAX, false,
			    &s->netns_path) != 0) {
			return -1;
		}
		if (s->netns_path != NULL && s->netns_path[0] == '\0') {
			free(s->netns_path); /* "" is no path, as in runc */
			s->netns_path = NULL;
		}
		if (s->netns_path != NULL && s->netns_path[0] != '/') {
			return fail(p, "config.json: the network namespace path must be absolute");
		}
	}
	return 0;
}

static int parse_linux(struct pctx *p, const json_t *root, struct oci_spec *s)
{
	const json_t *lin, *res;

	if (get_obj(p, root, "linux", "", &lin) != 0) {
		return -1;
	}
	if (lin == NULL) {
		return 0;
	}
	if (get_str(p, lin, "cgroupsPath", "linux.", OCI_PATH_MAX, false, &s->cgroups_path) != 0 ||
	    get_obj(p, lin, "resources", "linux.", &res) != 0 ||
	    (res != NULL && parse_resources(p, res, s) != 0)) {
		return -1;
	}
	return parse_namespaces(p, lin, s);
}

static int parse_annotations(struct pctx *p, const json_t *root, struct oci_spec *s)
{
	const json_t *ann;
	const char *k;
	json_t *v;
	const char *sandbox_keys[] = {"io.kubernetes.cri.container-type",
				      "io.kubernetes.cri-o.ContainerType"};

	if (get_obj(p, root, "annotations", "", &ann) != 0) {
		return -1;
	}
	if (ann == NULL) {
		s->annotations_json = strdup("{}");
		return s->annotations_json == NULL ? fail(p, "out of memory") : 0;
	}
	if (json_object_size(ann) > OCI_ARRAY_MAX) {
		return fail(p, "config.json: too many annotations (at most %d)", OCI_ARRAY_MAX);
	}
	json_t *annm = json_object_get(root, "annotations"); /* non-const view of ann */
	json_object_foreach(annm, k, v)
	{
		if (!json_is_string(v)) {
			return fail(p, "config.json: annotation '%.64s' must be a string", k);
		}
	}
	for (size_t i = 0; i < 2; i++) {
		const json_t *t = json_object_get(ann, sandbox_keys[i]);
		s->pod_sandbox |= json_is_string(t) && !strcmp(json_string_value(t), "sandbox");
	}
	if (get_str(p, ann, OCI_ANN_MEMORY, "annotations.", 64, false, &s->ann_memory) != 0 ||
	    get_str(p, ann, OCI_ANN_CPUS, "annotations.", 64, false, &s->ann_cpus) != 0 ||
	    get_str(p, ann, OCI_ANN_LINUX, "annotations.", 64, false, &s->ann_linux) != 0) {
		return -1;
	}
	s->annotations_json = json_dumps(ann, JSON_COMPACT | JSON_SORT_KEYS);
	return s->annotations_json == NULL ? fail(p, "config.json: annotations are not valid") : 0;
}

static int parse_root(struct pctx *p, const json_t *root, struct oci_spec *s)
{
	const json_t *r, *proc, *hooks;

	if (get_str(p, root, "ociVersion", "", 64, true, &s->oci_version) != 0) {
		return -1;
	}
	if (strncmp(s->oci_version, "1.", 2) != 0) {
		return fail(p, "config.json: unsupported ociVersion '%.32s' (1.x expected)",
			    s->oci_version);
	}
	if (get_obj(p, root, "root", "", &r) != 0 || get_obj(p, root, "process", "", &proc) != 0 ||
	    get_obj(p, root, "hooks", "", &hooks) != 0) {
		return -1;
	}
	if (r == NULL || proc == NULL) {
		return fail(p, "config.json: %s is missing", r == NULL ? "root" : "process");
	}
	if (hooks != NULL && json_object_size(hooks) > 0) {
		return fail(p, "config.json: hooks are not supported by uhyve-sec-oci");
	}
	if (get_str(p, r, "path", "root.", OCI_PATH_MAX, true, &s->root_path) != 0 ||
	    parse_process(p, proc, s) != 0 || parse_mounts(p, root, s) != 0 ||
	    parse_linux(p, root, s) != 0) {
		return -1;
	}
	return parse_annotations(p, root, s);
}

int spec_parse(const char *buf, size_t len, struct oci_spec *s, char *err, size_t errlen)
{
	struct pctx p = {err, errlen};
	json_error_t je;
	json_t *root;
	int rc;

	memset(s, 0, sizeof *s);
	err[0] = '\0';
	if (len > OCI_CONFIG_MAX) {
		return fail(&p, "config.json: larger than %u bytes", OCI_CONFIG_MAX);
	}
	if (spec_json_depth(buf, len) > OCI_DEPTH_MAX) {
		return fail(&p, "config.json: nested deeper than %d levels", OCI_DEPTH_MAX);
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		return fail(&p, "config.json:%d:%d: invalid JSON: %s", je.line, je.column, je.text);
	}
	rc = json_is_object(root) ? parse_root(&p, root, s)
				  : fail(&p, "config.json: the top level must be an object");
	json_decref(root);
	if (rc != 0) {
		spec_free(s);
	}
	return rc;
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n + 1; i++) {
		free(v[i]);
	}
	free(v);
}

void spec_free(struct oci_spec *s)
{
	free(s->oci_version);
	free(s->root_path);
	free_strv(s->args, s->nargs);
	free_strv(s->env, s->nenv);
	for (size_t i = 0; i < s->nmounts; i++) {
		free(s->mounts[i].dest);
		free(s->mounts[i].source);
		free(s->mounts[i].type);
	}
	free(s->mounts);
	free(s->rlimits);
	free(s->cgroups_path);
	free(s->cpuset_cpus);
	free(s->cpuset_mems);
	free(s->ann_memory);
	free(s->ann_cpus);
	free(s->ann_linux);
	free(s->annotations_json);
	free(s->netns_path);
	memset(s, 0, sizeof *s);
}
