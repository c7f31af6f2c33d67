/* SPDX-License-Identifier: MIT */
/* fuzz_toml.c - uhyve.toml (config/uhyve_toml.c) over the C interface to toml++
 * (config/toml.cpp), and the value parsers it shares with the command line.
 *
 * Input: the whole input is a uhyve.toml text, handed to uhs_toml_parse and uhc_parse in a
 * guarded buffer of exactly its size (no NUL after it).  Its first line (at most 200 bytes)
 * also goes, as a C string, to uhs_parse_size, uhc_parse_affinity, uhc_parse_io_mode and
 * uhc_parse_uint.
 *
 * Oracles: a refusal is one non-empty line without control characters, "u.toml:LINE:COLUMN: "
 * for the file (or "u.toml: " where toml++ gives no position), and leaves the config empty; the
 * TOML tree is well formed (strings and keys NUL-terminated at their length, table members in
 * source order, positions set); an accepted config holds only what the rules allow (NUL-free
 * strings, sizes that pass the memory check, CPU numbers and counts within the caps, NAME=VALUE
 * environment entries, never "host", a set flag exactly for each key present); a size that parses
 * re-parses identically with surrounding white space; an accepted affinity list is within the caps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byte_size.h"
#include "fuzz.h"
#include "uhs_toml.h"
#include "uhyve_toml.h"

#define MAX_INPUT (1U << 20)

static struct garena g_arena;
static bool g_ready;

static void one_line(const char *s, size_t cap, const char *what)
{
	size_t n = strnlen(s, cap);

	if (n == 0 || n == cap) {
		FUZZ_BUG("%s: empty or unterminated message", what);
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f) {
			FUZZ_BUG("%s: control byte 0x%02x in message: %s", what, c, s);
		}
	}
}

static void file_message(const char *err)
{
	unsigned line, col;
	int used = 0;

	one_line(err, 1024, "uhc_parse");
	if (strncmp(err, "u.toml: ", 8) == 0) {
		return; /* no position: out of memory, or toml++'s internal check */
	}
	if (sscanf(err, "u.toml:%u:%u: %n", &line, &col, &used) != 2 || used == 0) {
		FUZZ_BUG("message without u.toml:LINE:COLUMN: %s", err);
	}
}

static void check_tree(const struct uhs_toml_node *n, int depth)
{
	if (depth > 200) {
		FUZZ_BUG("TOML tree deeper than the limit");
	}
	if (n->type == UHS_TOML_STRING && (n->str == NULL || n->str[n->str_len] != '\0')) {
		FUZZ_BUG("string not NUL-terminated at its length");
	}
	if (n->type != UHS_TOML_TABLE && n->type != UHS_TOML_ARRAY && n->nitems != 0) {
		FUZZ_BUG("scalar with members");
	}
	for (size_t i = 0; i < n->nitems; i++) {
		const struct uhs_toml_node *m = &n->items[i];

		if (n->type == UHS_TOML_TABLE) {
			if (m->key == NULL || m->key[m->key_len] != '\0' || m->key_pos.line == 0) {
				FUZZ_BUG("table member without a well-formed key");
			}
			if (i > 0 && (n->items[i - 1].key_pos.line > m->key_pos.line ||
				      (n->items[i - 1].key_pos.line == m->key_pos.line &&
				       n->items[i - 1].key_pos.column > m->key_pos.column))) {
				FUZZ_BUG("table members not in source order");
			}
		} else if (m->key != NULL) {
			FUZZ_BUG("array element with a key");
		}
		check_tree(m, depth + 1);
	}
}

static void check_string(const char *s, bool set, const char *what)
{
	if ((s != NULL) && (!set || strlen(s) == 0 || strlen(s) > UHC_STRING_MAX)) {
		FUZZ_BUG("%s: string inconsistent with its flag", what);
	}
}

static void check_config(const struct uhyve_config *c)
{
	char err[300];

	check_string(c->output, c->output_src.set, "output");
	check_string(c->tempdir, c->tempdir_src.set, "tempdir");
	if (c->output_src.set != (c->output != NULL || c->output_none) ||
	    c->tempdir_src.set != (c->tempdir != NULL)) {
		FUZZ_BUG("output/tempdir set flags wrong");
	}
	if (c->memory_size_src.set && uhs_check_memory_size(c->memory_size, err, sizeof err) != 0) {
		FUZZ_BUG("accepted memory size %llu: %s", (unsigned long long)c->memory_size, err);
	}
	if (c->cpu_count == 0 || (c->gdb_port_src.set && c->gdb_port == 0) ||
	    c->affinity.n > UHC_AFFINITY_MAX || (c->affinity.n > 0 && !c->affinity_src.set)) {
		FUZZ_BUG("cpu count, port or affinity out of range");
	}
	for (size_t i = 0; i < c->affinity.n; i++) {
		if (c->affinity.cpus[i] > UHC_CPU_ID_MAX) {
			FUZZ_BUG("affinity CPU %u", c->affinity.cpus[i]);
		}
	}
	if (c->n_env_vars > 0 && !c->env_vars_src.set) {
		FUZZ_BUG("env vars without their flag");
	}
	for (size_t i = 0; i < c->n_env_vars; i++) {
		const char *e = c->env_vars[i];

		if (e == NULL || e[0] == '=' || strchr(e, '=') == NULL || !c->env_var_src[i].set) {
			FUZZ_BUG("bad environment entry %zu", i);
		}
	}
}

static bool is_empty(const struct uhyve_config *c)
{
	struct uhyve_config z;

	memset(&z, 0, sizeof z);
	z.cpu_count = 1;
	z.file_isolation = UHC_ISOLATION_NORMAL;
	return memcmp(&z, c, sizeof z) == 0;
}

static void values(const char *s)
{
	char err[300], padded[260];
	uint64_t a, b;
	struct uhc_affinity aff;
	struct uhc_io_mode io;

	if (uhs_parse_size(s, strlen(s), &a, err, sizeof err) == 0) {
		snprintf(padded, sizeof padded, " \t%s\n", s);
		if (uhs_parse_size(padded, strlen(padded), &b, err, sizeof err) != 0 || a != b) {
			FUZZ_BUG("size \"%s\" changes with surrounding white space", s);
		}
	} else {
		one_line(err, sizeof err, "uhs_parse_size");
	}
	if (uhc_parse_affinity(s, &aff, err, sizeof err) == 0) {
		if (aff.n == 0 || aff.n > UHC_AFFINITY_MAX) {
			FUZZ_BUG("affinity of %zu CPUs accepted", aff.n);
		}
		free(aff.cpus);
	} else if (aff.cpus != NULL) {
		FUZZ_BUG("refused affinity left a list");
	}
	if (uhc_parse_io_mode(s, &io, err, sizeof err) != 0) {
		one_line(err, sizeof err, "uhc_parse_io_mode");
	}
	if (uhc_parse_uint(s, 1000, &a, err, sizeof err) == 0 && a > 1000) {
		FUZZ_BUG("uint above its maximum");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uhyve_config cfg;
	struct uhs_toml_doc doc;
	char err[1024], line[201];
	size_t n = 0;
	char *buf;

	if (size > MAX_INPUT) {
		return 0;
	}
	if (!g_ready) {
		garena_init(&g_arena, MAX_INPUT);
		g_ready = true;
	}
	buf = (char *)garena_place(&g_arena, size > 0 ? size : 1);
	memcpy(buf, data, size);
	if (uhs_toml_parse("u.toml", buf, size, &doc, err, sizeof err) == 0) {
		check_tree(&doc.root, 0);
		uhs_toml_free(&doc);
	}
	if (uhc_parse("u.toml", buf, size, &cfg, err, sizeof err) == 0) {
		check_config(&cfg);
	} else {
		file_message(err);
		if (!is_empty(&cfg)) {
			FUZZ_BUG("a refused file left values behind");
		}
	}
	uhc_free(&cfg);
	garena_check(&g_arena, "uhc_parse");
	while (n < size && n < sizeof line - 1 && data[n] != '\n' && data[n] != '\0') {
		line[n] = (char)data[n];
		n++;
	}
	line[n] = '\0';
	values(line);
	return 0;
}
