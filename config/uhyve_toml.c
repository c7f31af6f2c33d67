/* SPDX-License-Identifier: MIT */
/* uhyve_toml.c - uhyve.toml: every key uhyve reads, checked against uhyve's value syntax, into
 * struct uhyve_config.  Pure (no I/O, no global state); the text is untrusted.  TOML itself
 * is parsed by toml++ (toml.cpp); this file walks the tree it gives and refuses anything it
 * does not know, anything of the wrong type and anything the file may never carry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byte_size.h"
#include "uhs_toml.h"
#include "uhyve_toml.h"

enum kind {
	K_OUTPUT,
	K_PATH,
	K_BOOL,
	K_IMAGE_MODE,
	K_ISOLATION,
	K_IO_MODE,
	K_PORT,
	K_SIZE,
	K_CPU_COUNT,
	K_AFFINITY,
	K_ENV,
	K_REFUSED,
};

struct key_desc {
	const char *table;
	const char *key;
	enum kind kind;
	size_t src; /* offsetof the struct uhc_src */
	size_t val; /* offsetof the value */
	const char *refusal; /* K_REFUSED: why */
};

#define KEY(t, k, kind)                                                                            \
	{                                                                                          \
		t, #k, kind, offsetof(struct uhyve_config, k##_src),                               \
		    offsetof(struct uhyve_config, k), NULL                                         \
	}
#define REFUSED(t, k, why)                                                                         \
	{                                                                                          \
		t, k, K_REFUSED, 0, 0, why                                                         \
	}

static const struct key_desc keys[] = {
    KEY("uhyve", output, K_OUTPUT),
    KEY("uhyve", stats, K_BOOL),
    KEY("uhyve", tempdir, K_PATH),
    KEY("uhyve", hermit_image_mode, K_IMAGE_MODE),
    KEY("uhyve", file_isolation, K_ISOLATION),
    KEY("uhyve", io_mode, K_IO_MODE),
    KEY("uhyve", gdb_port, K_PORT),
    KEY("memory", memory_size, K_SIZE),
    KEY("memory", no_aslr, K_BOOL),
    KEY("memory", thp, K_BOOL),
    KEY("memory", ksm, K_BOOL),
    KEY("cpu", cpu_count, K_CPU_COUNT),
    KEY("cpu", cpu_pm, K_BOOL),
    KEY("cpu", pit, K_BOOL),
    KEY("cpu", affinity, K_AFFINITY),
    KEY("guest", env_vars, K_ENV),
    REFUSED("uhyve", "file_mapping",
	    "file mappings are never taken from a configuration file (give them on the "
	    "command line)"),
    REFUSED("uhyve", "net",
	    "a network is never taken from a configuration file (give it on the command "
	    "line)"),
    REFUSED("uhyve", "config", "a configuration file cannot name another one"),
    REFUSED("guest", "kernel",
	    "the kernel is never taken from a configuration file (name it on the command "
	    "line)"),
    REFUSED("guest", "kernel_args",
	    "kernel arguments are never taken from a configuration file (give them on the "
	    "command line)"),
};

static const char *const tables[] = {"uhyve", "memory", "cpu", "guest"};

struct ctx {
	const char *name;
	struct uhyve_config *cfg;
	char *err;
	size_t errlen;
};

/* "NAME:LINE:COLUMN: TABLE.KEY: message" */
static int fail(const struct ctx *c, struct uhs_toml_pos at, const struct key_desc *k,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int fail(const struct ctx *c, struct uhs_toml_pos at, const struct key_desc *k,
		const char *fmt, ...)
{
	char msg[512], nm[160], where[64] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (k != NULL) {
		snprintf(where, sizeof where, "%s.%s: ", k->table, k->key);
	}
	uhs_toml_escape(nm, sizeof nm, c->name, strlen(c->name), 120);
	snprintf(c->err, c->errlen, "%s:%u:%u: %s%s", nm, (unsigned)at.line, (unsigned)at.column,
		 where, msg);
	return -1;
}

static int want(const struct ctx *c, const struct uhs_toml_node *v, const struct key_desc *k,
		enum uhs_toml_type t, const char *what)
{
	if (v->type == t) {
		return 0;
	}
	return fail(c, v->pos, k, "expected %s, got %s", what, uhs_toml_type_name(v->type));
}

/* A string value without NUL bytes, at most UHC_STRING_MAX bytes, optionally non-empty. */
static int want_string(const struct ctx *c, const struct uhs_toml_node *v, const struct key_desc *k,
		       bool nonempty)
{
	if (want(c, v, k, UHS_TOML_STRING, "a string") != 0) {
		return -1;
	}
	if (strlen(v->str) != v->str_len) {
		return fail(c, v->pos, k, "the string contains a NUL character");
	}
	if (v->str_len > UHC_STRING_MAX) {
		return fail(c, v->pos, k, "longer than %d bytes", UHC_STRING_MAX);
	}
	if (nonempty && v->str_len == 0) {
		return fail(c, v->pos, k, "must not be empty");
	}
	return 0;
}

static int set_string(const struct ctx *c, const struct uhs_toml_node *v, const struct key_desc *k,
		      char **dst)
{
	if (want_string(c, v, k, true) != 0) {
		return -1;
	}
	*dst = strdup(v->str);
	return *dst == NULL ? fail(c, v->pos, k, "out of memory") : 0;
}

static int set_output(const struct ctx *c, const struct uhs_toml_node *v, const struct key_desc *k)
{
	if (want_string(c, v, k, true) != 0) {
		return -1;
	}
	if (strcmp(v->str, "none") == 0 || strcmp(v->str, "None") == 0) {
		c->cfg->output_none = true;
		return 0;
	}
	return set_string(c, v, k, &c->cfg->output);
}

static int set_size(const struct ctx *c, const struct uhs_toml_node *v, const struct key_desc *k,
		    uint64_t *dst)
{
	char why[300];

	if (v->type != UHS_TOML_STRING) {
		return fail(c, v->pos, k,
			    "expected a size in a string such as \"64MiB\" or \"4 GiB\", got %s",
			    uhs_toml_type_name(v->type));
	}
	if (want_string(c, v, k, false) != 0) {
		return -1;
	}
	if (uhs_parse_size_binary(v->str, v->str_len, dst, why, sizeof why) != 0 ||
	    uhs_check_memory_size(*dst, why, sizeof why) != 0) {
		return fail(c, v->pos, k, "%s", why);
	}
	return 0;
}

static int set_int(const struct ctx *c, const struct uhs_toml_node *v, const struct key_desc *k,
		   int64_t lo, int64_t hi, int64_t *out)
{
	if (want(c, v, k, UHS_TOML_INTEGER, "an integer") != 0) {
		return -1;
	}
	if (v->integer < lo || v->integer > hi) {
		return fail(c, v->pos, k, "%lld is out of range (%lld-%lld)", (long long)v->integer,
			    (long long)lo, (long long)hi);
	}
	*out = v->integer;
	return 0;
}

static int set_affinity_array(const struct ctx *c, const struct uhs_toml_node *v,
			      const struct key_desc *k, struct uhc_affinity *aff)
{
	int64_t id;

	if (v->nitems > UHC_AFFINITY_MAX) {
		return fail(c, v->pos, k, "more than %d CPUs", UHC_AFFINITY_MAX);
	}
	aff->cpus = calloc(v->nitems > 0 ? v->nitems : 1, sizeof *aff->cpus);
	if (aff->cpus == NULL) {
		return fail(c, v->pos, k, "out of memory");
	}
	for (size_t i = 0; i < v->nitems; i++) {
		if (set_int(c, &v->items[i], k, 0, UHC_CPU_ID_MAX, &id) != 0) {
			return -1;
		}
		aff->cpus[aff->n++] = (uint32_t)id;
	}
	return 0;
}

static int set_affinity(const struct ctx *c, const struct uhs_toml_node *v,
			const struct key_desc *k)
{
	char why[300];

	if (v->type == UHS_TOML_ARRAY) {
		return set_affinity_array(c, v, k, &c->cfg->affinity);
	}
	if (v->type != UHS_TOML_STRING) {
		return fail(
		    c, v->pos, k,
		    "expected a string such as \"0-1,2\" or an array of CPU numbers, got %s",
		    uhs_toml_type_name(v->type));
	}
	if (want_string(c, v, k, false) != 0) {
		return -1;
	}
	if (uhc_parse_affinity(v->str, &c->cfg->affinity, why, sizeof why) != 0) {
		return fail(c, v->pos, k, "%s", why);
	}
	return 0;
}

static int set_env(const struct ctx *c, const struct uhs_toml_node *v, const struct key_desc *k)
{
	struct uhyve_config *cfg = c->cfg;
	char why[300];

	if (want(c, v, k, UHS_TOML_ARRAY, "an array of \"NAME=VALUE\" strings") != 0) {
		return -1;
	}
	if (v->nitems > UHC_ENV_MAX) {
		return fail(c, v->pos, k, "more than %d entries", UHC_ENV_MAX);
	}
	cfg->env_vars = calloc(v->nitems + 1, sizeof *cfg->env_vars);
	cfg->env_var_src = calloc(v->nitems + 1, sizeof *cfg->env_var_src);
	if (cfg->env_vars == NULL || cfg->env_var_src == NULL) {
		return fail(c, v->pos, k, "out of memory");
	}
	for (size_t i = 0; i < v->nitems; i++) {
		const struct uhs_toml_node *e = &v->items[i];

		if (want_string(c, e, k, true) != 0) {
			return -1;
		}
		if (uhc_check_env(e->str, why, sizeof why) != 0) {
			return fail(c, e->pos, k, "%s", why);
		}
		cfg->env_var_src[i] = (struct uhc_src){true, e->pos.line, e->pos.column};
		cfg->env_vars[i] = strdup(e->str);
		if (cfg->env_vars[i] == NULL) {
			return fail(c, e->pos, k, "out of memory");
		}
		cfg->n_env_vars = i + 1;
	}
	return 0;
}

/* Values parsed by a values.c function from a string. */
static int set_named(const struct ctx *c, const struct uhs_toml_node *v, const struct key_desc *k,
		     void *dst)
{
	char why[300];
	int rc = 0;

	if (want_string(c, v, k, false) != 0) {
		return -1;
	}
	if (k->kind == K_IMAGE_MODE) {
		rc = uhc_parse_image_mode(v->str, dst, why, sizeof why);
	} else if (k->kind == K_ISOLATION) {
		rc = uhc_parse_isolation(v->str, dst, why, sizeof why);
	} else {
		rc = uhc_parse_io_mode(v->str, dst, why, sizeof why);
	}
	return rc != 0 ? fail(c, v->pos, k, "%s", why) : 0;
}

static int set_value(const struct ctx *c, const struct uhs_toml_node *v, const struct key_desc *k)
{
	char *base = (char *)c->cfg;
	int64_t i;

	switch (k->kind) {
	case K_OUTPUT:
		return set_output(c, v, k);
	case K_PATH:
		return set_string(c, v, k, (char **)(base + k->val));
	case K_BOOL:
		if (want(c, v, k, UHS_TOML_BOOL, "a boolean (true or false)") != 0) {
			return -1;
		}
		*(bool *)(base + k->val) = v->boolean;
		return 0;
	case K_IMAGE_MODE:
	case K_ISOLATION:
	case K_IO_MODE:
		return set_named(c, v, k, base + k->val);
	case K_PORT:
		if (set_int(c, v, k, 1, 65535, &i) != 0) {
			return -1;
		}
		c->cfg->gdb_port = (uint16_t)i;
		return 0;
	case K_SIZE:
		return set_size(c, v, k, &c->cfg->memory_size);
	case K_CPU_COUNT:
		if (set_int(c, v, k, 1, UINT32_MAX, &i) != 0) {
			return -1;
		}
		c->cfg->cpu_count = (uint32_t)i;
		return 0;
	case K_AFFINITY:
		return set_affinity(c, v, k);
	case K_ENV:
		return set_env(c, v, k);
	case K_REFUSED:
	default:
		return fail(c, v->key_pos, k, "%s", k->refusal);
	}
}

static const struct key_desc *find_key(const char *table, const struct uhs_toml_node *m)
{
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (strcmp(keys[i].table, table) == 0 && strlen(keys[i].key) == m->key_len &&
		    memcmp(keys[i].key, m->key, m->key_len) == 0) {
			return &keys[i];
		}
	}
	return NULL;
}

static int walk_table(const struct ctx *c, const char *table, const struct uhs_toml_node *t)
{
	char q[100];

	if (t->type != UHS_TOML_TABLE) {
		return fail(c, t->pos, NULL, "[%s] must be a table, got %s", table,
			    uhs_toml_type_name(t->type));
	}
	for (size_t i = 0; i < t->nitems; i++) {
		const struct uhs_toml_node *m = &t->items[i];
		const struct key_desc *k = find_key(table, m);

		if (k == NULL) {
			return fail(c, m->key_pos, NULL, "unknown key \"%s\" in [%s]",
				    uhs_toml_escape(q, sizeof q, m->key, m->key_len, 40), table);
		}
		if (set_value(c, m, k) != 0) {
			return -1;
		}
		if (k->kind != K_REFUSED) {
			*(struct uhc_src *)((char *)c->cfg + k->src) =
			    (struct uhc_src){true, m->pos.line, m->pos.column};
		}
	}
	return 0;
}

static int walk(const struct ctx *c, const struct uhs_toml_node *root)
{
	char q[100];

	for (size_t i = 0; i < root->nitems; i++) {
		const struct uhs_toml_node *m = &root->items[i];
		const char *table = NULL;

		for (size_t j = 0; j < sizeof tables / sizeof tables[0]; j++) {
			if (strlen(tables[j]) == m->key_len &&
			    memcmp(tables[j], m->key, m->key_len) == 0) {
				table = tables[j];
			}
		}
		if (table == NULL) {
			return fail(c, m->key_pos, NULL,
				    "unknown %s \"%s\" (tables: [uhyve], [memory], [cpu], [guest])",
				    m->type == UHS_TOML_TABLE ? "table" : "key",
				    uhs_toml_escape(q, sizeof q, m->key, m->key_len, 40));
		}
		if (walk_table(c, table, m) != 0) {
			return -1;
		}
	}
	return 0;
}

int uhc_parse(const char *name, const char *buf, size_t len, struct uhyve_config *cfg, char *err,
	      size_t errlen)
{
	struct ctx c = {name, cfg, err, errlen};
	struct uhs_toml_doc doc;
	int rc;

	memset(cfg, 0, sizeof *cfg);
	cfg->cpu_count = 1;
	cfg->file_isolation = UHC_ISOLATION_NORMAL;
	if (uhs_toml_parse(name, buf, len, &doc, err, errlen) != 0) {
		return -1;
	}
	rc = walk(&c, &doc.root);
	uhs_toml_free(&doc);
	if (rc != 0) {
		uhc_free(cfg);
	}
	return rc;
}

void uhc_free(struct uhyve_config *cfg)
{
	free(cfg->output);
	free(cfg->tempdir);
	free(cfg->affinity.cpus);
	for (size_t i = 0; i < cfg->n_env_vars; i++) {
		free(cfg->env_vars[i]);
	}
	free(cfg->env_vars);
	free(cfg->env_var_src);
	memset(cfg, 0, sizeof *cfg);
	cfg->cpu_count = 1;
	cfg->file_isolation = UHC_ISOLATION_NORMAL;
}
