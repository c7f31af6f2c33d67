/* SPDX-License-Identifier: MIT */
/* toml.cpp - the only C++ in uhyve-sec: toml++ (header-only, Debian's libtomlplusplus-dev)
 * behind the C interface of uhs_toml.h.
 *
 * Trusts nothing in the bytes.  toml++ reports parse errors as values (TOML_EXCEPTIONS=0);
 * anything else C++ may throw (std::bad_alloc, std::length_error) is caught in
 * uhs_toml_parse, so no exception ever crosses into C.  The tree toml++ builds is copied into
 * malloc'd C nodes (table members sorted into source order) and freed before returning.
 */
#define TOML_HEADER_ONLY	     1
#define TOML_EXCEPTIONS		     0
#define TOML_ENABLE_FORMATTERS	     0
#define TOML_ENABLE_UNRELEASED_FEATURES 0
#include <toml++/toml.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string_view>

#include "uhs_toml.h"

namespace
{

/* toml++ keeps nesting of arrays and inline tables below 256; headers and dotted keys are
 * bounded by the input size.  The copy below recurses once per level and stops here. */
constexpr int max_depth = 128;

void set_err(char *err, size_t errlen, const char *name, uint32_t line, uint32_t col,
	     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

void set_err(char *err, size_t errlen, const char *name, uint32_t line, uint32_t col,
	     const char *fmt, ...)
{
	char msg[512], nm[160];
	va_list ap;

	if (errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* toml++ quotes what it saw; keep the text, but never a control character */
	for (char *p = msg; *p != '\0'; p++) {
		if (static_cast<unsigned char>(*p) < 0x20 || *p == 0x7f) {
			*p = ' ';
		}
	}
	uhs_toml_escape(nm, sizeof nm, name, strlen(name), 120);
	snprintf(err, errlen, "%s:%u:%u: %s", nm, static_cast<unsigned>(line),
		 static_cast<unsigned>(col), msg);
}

struct copier {
	const char *name;
	char *err;
	size_t errlen;
};

char *dup_bytes(const char *s, size_t n)
{
	char *d = static_cast<char *>(malloc(n + 1));

	if (d != nullptr) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

void set_pos(uhs_toml_pos *p, const toml::source_region &r)
{
	p->line = r.begin.line;
	p->column = r.begin.column;
}

int copy_node(const copier &c, const toml::node &in, uhs_toml_node *out, int depth);

int cmp_pos(const void *a, const void *b)
{
	const uhs_toml_node *x = static_cast<const uhs_toml_node *>(a);
	const uhs_toml_node *y = static_cast<const uhs_toml_node *>(b);

	if (x->key_pos.line != y->key_pos.line) {
		return x->key_pos.line < y->key_pos.line ? -1 : 1;
	}
	if (x->key_pos.column != y->key_pos.column) {
		return x->key_pos.column < y->key_pos.column ? -1 : 1;
	}
	return strcmp(x->key, y->key);
}

int copy_table(const copier &c, const toml::table &t, uhs_toml_node *out, int depth)
{
	size_t i = 0;

	out->type = UHS_TOML_TABLE;
	if (t.size() == 0) {
		return 0;
	}
	out->items = static_cast<uhs_toml_node *>(calloc(t.size(), sizeof *out->items));
	if (out->items == nullptr) {
		return -1;
	}
	for (auto &&[k, v] : t) {
		uhs_toml_node *m = &out->items[i++];

		out->nitems = i;
		m->key = dup_bytes(k.str().data(), k.str().size());
		m->key_len = k.str().size();
		set_pos(&m->key_pos, k.source());
		if (m->key == nullptr) {
			return -1;
		}
		int rc = copy_node(c, v, m, depth + 1);
		if (rc != 0) {
			return rc;
		}
	}
	qsort(out->items, out->nitems, sizeof *out->items, cmp_pos);
	return 0;
}

int copy_array(const copier &c, const toml::array &a, uhs_toml_node *out, int depth)
{
	out->type = UHS_TOML_ARRAY;
	if (a.size() == 0) {
		return 0;
	}
	out->items = static_cast<uhs_toml_node *>(calloc(a.size(), sizeof *out->items));
	if (out->items == nullptr) {
		return -1;
	}
	for (size_t i = 0; i < a.size(); i++) {
		out->nitems = i + 1;
		int rc = copy_node(c, a[i], &out->items[i], depth + 1);
		if (rc != 0) {
			return rc;
		}
	}
	return 0;
}

int copy_scalar(const toml::node &in, uhs_toml_node *out)
{
	switch (in.type()) {
	case toml::node_type::string: {
		const std::string &s = in.as_string()->get();

		out->type = UHS_TOML_STRING;
		out->str = dup_bytes(s.data(), s.size());
		out->str_len = s.size();
		return out->str == nullptr ? -1 : 0;
	}
	case toml::node_type::integer:
		out->type = UHS_TOML_INTEGER;
		out->integer = in.as_integer()->get();
		return 0;
	case toml::node_type::floating_point:
		out->type = UHS_TOML_FLOAT;
		out->real = in.as_floating_point()->get();
		return 0;
	case toml::node_type::boolean:
		out->type = UHS_TOML_BOOL;
		out->boolean = in.as_boolean()->get();
		return 0;
	case toml::node_type::date:
		out->type = UHS_TOML_DATE;
		return 0;
	case toml::node_type::time:
		out->type = UHS_TOML_TIME;
		return 0;
	case toml::node_type::date_time:
		out->type = UHS_TOML_DATETIME;
		return 0;
	case toml::node_type::none:
	case toml::node_type::table:
	case toml::node_type::array:
	default:
		return -1;
	}
}

int copy_node(const copier &c, const toml::node &in, uhs_toml_node *out, int depth)
{
	set_pos(&out->pos, in.source());
	if (depth > max_depth) {
		set_err(c.err, c.errlen, c.name, out->pos.line, out->pos.column,
			"nested more than %d levels deep", max_depth);
		return -2;
	}
	if (const toml::table *t = in.as_table()) {
		return copy_table(c, *t, out, depth);
	}
	if (const toml::array *a = in.as_array()) {
		return copy_array(c, *a, out, depth);
	}
	return copy_scalar(in, out);
}

void free_node(uhs_toml_node *n)
{
	for (size_t i = 0; i < n->nitems; i++) {
		free_node(&n->items[i]);
	}
	free(n->items);
	free(const_cast<char *>(n->key));
	free(const_cast<char *>(n->str));
	memset(n, 0, sizeof *n);
}

/* toml++ 3.3 recurses once per level of table nesting while it parses and frees a document
 * (parser::update_region_ends, the table destructors), and bounds only arrays and inline
 * tables (256 levels): 100,000 dotted keys "a.a.a...." on one line overflow the stack.  Every
 * level of table nesting beyond those needs a '.' in a table header or a dotted key, and
 * neither can span lines, so at most max_dots_per_line dots per line bounds the depth
 * (header + key + 256).  Dots in string values count too; no sane configuration has a
 * thousand on one line. */
constexpr size_t max_dots_per_line = 1000;

int check_dots(const char *name, const char *buf, size_t len, char *err, size_t errlen)
{
	size_t dots = 0;
	uint32_t line = 1;

	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n') {
			line++;
			dots = 0;
		} else if (buf[i] == '.' && ++dots > max_dots_per_line) {
			set_err(err, errlen, name, line, 1,
				"more than %zu '.' on one line (a limit on nesting)",
				max_dots_per_line);
			return -1;
		}
	}
	return 0;
}

/* A NUL byte is never valid TOML; refuse it here so that no parser can mistake it for the
 * end of the document. */
int check_nul(const char *name, const char *buf, size_t len, char *err, size_t errlen)
{
	const char *z = static_cast<const char *>(memchr(buf, 0, len));
	uint32_t line = 1, col = 1;

	if (z == nullptr) {
		return 0;
	}
	for (const char *p = buf; p < z; p++) {
		if (*p == '\n') {
			line++;
			col = 1;
		} else if ((static_cast<unsigned char>(*p) & 0xc0) != 0x80) {
			col++;
		}
	}
	set_err(err, errlen, name, line, col, "NUL byte in the document");
	return -1;
}

int parse(const char *name, const char *buf, size_t len, uhs_toml_doc *doc, char *err,
	  size_t errlen)
{
	copier c{name, err, errlen};
	toml::parse_result res = toml::parse(std::string_view(buf, len), std::string_view(name));

	if (!res) {
		const toml::parse_error &e = res.error();
		std::string_view d = e.description();

		set_err(err, errlen, name, e.source().begin.line, e.source().begin.column, "%.*s",
			static_cast<int>(d.size() > 400 ? 400 : d.size()), d.data());
		return -1;
	}
	int rc = copy_table(c, res.table(), &doc->root, 0);
	if (rc == -1) {
		set_err(err, errlen, name, 0, 0, "out of memory");
	}
	return rc == 0 ? 0 : -1;
}

} // namespace

extern "C" int uhs_toml_parse(const char *name, const char *buf, size_t len, uhs_toml_doc *doc,
			      char *err, size_t errlen)
{
	int rc = -1;

	memset(doc, 0, sizeof *doc);
	doc->root.type = UHS_TOML_TABLE;
	if (check_nul(name, buf, len, err, errlen) != 0 ||
	    check_dots(name, buf, len, err, errlen) != 0) {
		return -1;
	}
	try {
		rc = parse(name, buf, len, doc, err, errlen);
	} catch (const std::bad_alloc &) {
		set_err(err, errlen, name, 0, 0, "out of memory");
		rc = -1;
	} catch (...) {
		set_err(err, errlen, name, 0, 0, "internal error in the TOML parser");
		rc = -1;
	}
	if (rc != 0) {
		uhs_toml_free(doc);
	}
	return rc;
}

extern "C" void uhs_toml_free(uhs_toml_doc *doc)
{
	free_node(&doc->root);
	doc->root.type = UHS_TOML_TABLE;
}
