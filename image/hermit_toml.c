/* SPDX-License-Identifier: MIT */
/* hermit_toml.c - hermit.toml, version "1" (hermit-entry's config.rs), and the kernel's ELF
 * check.  Pure; the text comes from the image author.  Stricter than hermit-entry: unknown
 * keys and tables are refused (hermit-entry ignores them), strings may not hold NUL bytes,
 * environment entries need a non-empty name.  As uhyve, entries without '=' are dropped.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byte_size.h"
#include "hermit_image.h"
#include "uhs_toml.h"

#define NAME HI_CONFIG_NAME

static int fail(char *err, size_t errlen, struct uhs_toml_pos at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, struct uhs_toml_pos at, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (at.line == 0) {
		snprintf(err, errlen, NAME ": %s", msg);
	} else {
		snprintf(err, errlen, NAME ":%u:%u: %s", (unsigned)at.line, (unsigned)at.column,
			 msg);
	}
	return -1;
}

static const struct uhs_toml_pos nowhere = {0, 0};

/* The members of t must all be in allowed (NULL-terminated). */
static int only_keys(const struct uhs_toml_node *t, const char *table, const char *const allowed[],
		     char *err, size_t errlen)
{
	char q[100];

	for (size_t i = 0; i < t->nitems; i++) {
		const struct uhs_toml_node *m = &t->items[i];
		size_t j = 0;

		while (allowed[j] != NULL && !(strlen(allowed[j]) == m->key_len &&
					       memcmp(allowed[j], m->key, m->key_len) == 0)) {
			j++;
		}
		if (allowed[j] == NULL) {
			return fail(err, errlen, m->key_pos, "unknown key \"%s\"%s%s",
				    uhs_toml_escape(q, sizeof q, m->key, m->key_len, 40),
				    table[0] != '\0' ? " in " : "", table);
		}
	}
	return 0;
}

static int want_string(const struct uhs_toml_node *v, const char *what, char *err, size_t errlen)
{
	if (v->type != UHS_TOML_STRING) {
		return fail(err, errlen, v->pos, "%s: expected a string, got %s", what,
			    uhs_toml_type_name(v->type));
	}
	if (strlen(v->str) != v->str_len) {
		return fail(err, errlen, v->pos, "%s: the string contains a NUL character", what);
	}
	if (v->str_len > HI_ARG_MAX) {
		return fail(err, errlen, v->pos, "%s: longer than %d bytes", what, HI_ARG_MAX);
	}
	return 0;
}

/* An array of strings into a malloc'd NULL-terminated list; env: keep only NAME=VALUE. */
static int string_list(const struct uhs_toml_node *v, const char *what, bool env, const char ***out,
		       size_t *n, char *err, size_t errlen)
{
	char q[100];

	if (v->type != UHS_TOML_ARRAY) {
		return fail(err, errlen, v->pos, "%s: expected an array of strings, got %s", what,
			    uhs_toml_type_name(v->type));
	}
	*out = calloc(v->nitems + 1, sizeof **out);
	if (*out == NULL) {
		return fail(err, errlen, v->pos, "out of memory");
	}
	for (size_t i = 0; i < v->nitems; i++) {
		const struct uhs_toml_node *e = &v->items[i];

		if (want_string(e, what, err, errlen) != 0) {
			return -1;
		}
		if (env && strchr(e->str, '=') == NULL) {
			continue; /* uhyve: "don't pass privileged env-var commands through" */
		}
		if (env && e->str[0] == '=') {
			return fail(err, errlen, e->pos, "%s: \"%s\" has an empty name", what,
				    uhs_toml_escape(q, sizeof q, e->str, e->str_len, 40));
		}
		(*out)[*n] = strdup(e->str);
		if ((*out)[*n] == NULL) {
			return fail(err, errlen, e->pos, "out of memory");
		}
		(*n)++;
	}
	return 0;
}

static const struct uhs_toml_node *need(const struct uhs_toml_node *t, const char *key,
					const char *where, char *err, size_t errlen)
{
	const struct uhs_toml_node *v = uhs_toml_get(t, key);

	if (v == NULL) {
		fail(err, errlen, t == NULL ? nowhere : t->pos, "missing key \"%s\"%s", key, where);
	}
	return v;
}

static int input(const struct uhs_toml_node *in, struct hi_config *cfg, char *err, size_t errlen)
{
	static const char *const allowed[] = {"kernel_args", "app_args", "env_vars", NULL};
	const struct uhs_toml_node *ka, *aa, *ev;

	if (in->type != UHS_TOML_TABLE) {
		return fail(err, errlen, in->pos, "input: expected a table, got %s",
			    uhs_toml_type_name(in->type));
	}
	if (only_keys(in, "[input]", allowed, err, errlen) != 0 ||
	    (ka = need(in, "kernel_args", " in [input]", err, errlen)) == NULL ||
	    (aa = need(in, "app_args", " in [input]", err, errlen)) == NULL) {
		return -1;
	}
	ev = uhs_toml_get(in, "env_vars");
	if (string_list(ka, "kernel_args", false, &cfg->kernel_args, &cfg->n_kernel_args, err,
			errlen) != 0 ||
	    string_list(aa, "app_args", false, &cfg->app_args, &cfg->n_app_args, err, errlen) !=
		0) {
		return -1;
	}
	if (ev == NULL) {
		cfg->env_vars = calloc(1, sizeof *cfg->env_vars);
		return cfg->env_vars == NULL ? fail(err, errlen, in->pos, "out of memory") : 0;
	}
	return string_list(ev, "env_vars", true, &cfg->env_vars, &cfg->n_env_vars, err, errlen);
}

static int requirements(const struct uhs_toml_node *rq, struct hi_config *cfg, char *err,
			size_t errlen)
{
	static const char *const allowed[] = {"memory", "cpus", NULL};
	const struct uhs_toml_node *m, *c;
	char why[300];

	if (rq->type != UHS_TOML_TABLE) {
		return fail(err, errlen, rq->pos, "requirements: expected a table, got %s",
			    uhs_toml_type_name(rq->type));
	}
	if (only_keys(rq, "[requirements]", allowed, err, errlen) != 0) {
		return -1;
	}
	m = uhs_toml_get(rq, "memory");
	if (m != NULL) {
		if (want_string(m, "memory", err, errlen) != 0) {
			return -1;
		}
		if (uhs_parse_size(m->str, m->str_len, &cfg->memory, why, sizeof why) != 0) {
			return fail(err, errlen, m->pos, "memory: %s", why);
		}
		cfg->memory_set = true;
	}
	c = uhs_toml_get(rq, "cpus");
	if (c != NULL) {
		if (c->type != UHS_TOML_INTEGER || c->integer < 0 || c->integer > UINT32_MAX) {
			return fail(err, errlen, c->pos, "cpus: expected an integer 0-%u",
				    UINT32_MAX);
		}
		cfg->cpus = (uint32_t)c->integer;
	}
	return 0;
}

static int top(const struct uhs_toml_node *root, struct hi_config *cfg, char **kernel, char *err,
	       size_t errlen)
{
	static const char *const allowed[] = {"version", "kernel", "input", "requirements", NULL};
	const struct uhs_toml_node *v, *k, *in, *rq;
	char q[100];

	if ((v = need(root, "version", "", err, errlen)) == NULL ||
	    want_string(v, "version", err, errlen) != 0) {
		return -1;
	}
	if (strcmp(v->str, "1") != 0) {
		return fail(err, errlen, v->pos, "unsupported version \"%s\" (only \"1\")",
			    uhs_toml_escape(q, sizeof q, v->str, v->str_len, 20));
	}
	if (only_keys(root, "", allowed, err, errlen) != 0 ||
	    (k = need(root, "kernel", "", err, errlen)) == NULL ||
	    want_string(k, "kernel", err, errlen) != 0 ||
	    (in = need(root, "input", "", err, errlen)) == NULL ||
	    input(in, cfg, err, errlen) != 0) {
		return -1;
	}
	rq = uhs_toml_get(root, "requirements");
	if (rq != NULL && requirements(rq, cfg, err, errlen) != 0) {
		return -1;
	}
	*kernel = strdup(k->str);
	return *kernel == NULL ? fail(err, errlen, k->pos, "out of memory") : 0;
}

int hi_config_parse(const char *buf, size_t len, struct hi_config *cfg, char **kernel, char *err,
		    size_t errlen)
{
	struct uhs_toml_doc doc;
	int rc;

	memset(cfg, 0, sizeof *cfg);
	*kernel = NULL;
	if (len > HI_CONFIG_MAX) {
		return fail(err, errlen, nowhere, "larger than %u bytes", HI_CONFIG_MAX);
	}
	if (uhs_toml_parse(NAME, buf, len, &doc, err, errlen) != 0) {
		return -1;
	}
	rc = top(&doc.root, cfg, kernel, err, errlen);
	uhs_toml_free(&doc);
	if (rc != 0) {
		hi_config_free(cfg);
		free(*kernel);
		*kernel = NULL;
	}
	return rc;
}
