/* SPDX-License-Identifier: MIT */
/* kargs (v1) and kargs-v2 (v2): FDT /chosen/bootargs read the way Hermit's kernel reads it
 * (hermit-os/kernel src/env/mod.rs Cli::default at b0678ba0; the same loop in src/env.rs
 * since September 2024, when v1 kernels too began to take their words from the FDT):
 *   - words as the shlex crate splits them (blanks; '...' and "..." quoting; backslash
 *     escapes; '#' at the start of a word comments out the rest of the line; an unterminated
 *     quote ends the words);
 *   - before "--": "-freq N" (a u16), "-ip A", "-mask M", "-gateway G", "-mount P" (HERMIT_IP,
 *     HERMIT_MASK, HERMIT_GATEWAY, UHYVE_MOUNT), "virtio_mmio.device=X", "env=KEY=VALUE",
 *     the first other word is the image path, any further one an error;
 *   - every word after the first "--" is the application's (argv[0] is "bin").
 * Output, one line per word as it is read:
 *   freq=<n> | env <KEY>=<VALUE> | mmio=<x> | image_path=<w> |
 *   error could not parse bootarg: <w> | arg=<w>
 * then "argc=<1 + application words>".  The kernel keeps variables in a hash map (the last of
 * a repeated KEY wins, printed in hash order); this guest prints them in the order read.
 * A missing value or a bad -freq panics as the kernel does: a "panicked at" line on fd 2,
 * exit 1.  No bootargs at all: "bootargs=(none)", exit 0. */
#include <stdbool.h>

#include "fdt.h"

#define WORD_MAX (256u << 10)

struct lexer {
	const volatile uint8_t *s;
	uint32_t len, pos;
	bool error;
	char word[WORD_MAX + 1];
	uint32_t n;
};

struct chosen {
	bool in_chosen, found;
	const volatile uint8_t *val;
	uint32_t len;
};

static void on_node(void *ctx, int depth, const char *name)
{
	struct chosen *c = ctx;

	if (depth == 2) {
		c->in_chosen = rt_streq(name, "chosen");
	}
}

static void on_prop(void *ctx, int depth, const char *name, const volatile uint8_t *val,
		    uint32_t len)
{
	struct chosen *c = ctx;

	if (depth == 2 && c->in_chosen && rt_streq(name, "bootargs")) {
		c->found = true;
		c->val = val;
		c->len = len;
	}
}

static void on_end(void *ctx, int depth)
{
	struct chosen *c = ctx;

	if (depth == 2) {
		c->in_chosen = false;
	}
}

static int next_char(struct lexer *lx, char *c)
{
	if (lx->pos >= lx->len) {
		return 0;
	}
	*c = (char)lx->s[lx->pos++];
	return 1;
}

static int push(struct lexer *lx, char c)
{
	if (lx->n >= WORD_MAX) {
		rt_fdprintf(2, "kargs: a word longer than %u bytes\n", WORD_MAX);
		rt_exit(2);
	}
	lx->word[lx->n++] = c;
	return 0;
}

/* '...' (no escapes) or "..." (backslash escapes only $ ` " \ and newline). */
static int quoted(struct lexer *lx, char q)
{
	char c, d;

	while (next_char(lx, &c)) {
		if (c == q) {
			return 0;
		}
		if (q == '"' && c == '\\') {
			if (!next_char(lx, &d)) {
				return -1;
			}
			if (d != '$' && d != '`' && d != '"' && d != '\\' && d != '\n') {
				push(lx, '\\');
			}
			if (d != '\n') {
				push(lx, d);
			}
			continue;
		}
		push(lx, c);
	}
	return -1;
}

/* The word starting with c (shlex's parse_word). */
static int word_from(struct lexer *lx, char c)
{
	char d;

	for (;;) {
		if (c == '"' || c == '\'') {
			if (quoted(lx, c) != 0) {
				return -1;
			}
		} else if (c == '\\') {
			if (!next_char(lx, &d)) {
				return -1;
			}
			if (d != '\n') {
				push(lx, d);
			}
		} else if (c == ' ' || c == '\t' || c == '\n') {
			break;
		} else {
			push(lx, c);
		}
		if (!next_char(lx, &c)) {
			break;
		}
	}
	lx->word[lx->n] = '\0';
	return 0;
}

/* The next word into lx->word: 1, or 0 at the end (and after an error, as shlex stops). */
static int next_word(struct lexer *lx)
{
	char c;

	lx->n = 0;
	if (lx->error || !next_char(lx, &c)) {
		return 0;
	}
	while (c == ' ' || c == '\t' || c == '\n' || c == '#') {
		if (c == '#') {
			while (next_char(lx, &c) && c != '\n') {
			}
		}
		if (!next_char(lx, &c)) {
			return 0;
		}
	}
	if (word_from(lx, c) != 0) {
		lx->error = true;
		return 0;
	}
	return 1;
}

static int starts_with(const char *s, const char *p)
{
	while (*p != '\0') {
		if (*s++ != *p++) {
			return 0;
		}
	}
	return 1;
}

static const char *find_char(const char *s, char c)
{
	for (; *s != '\0'; s++) {
		if (*s == c) {
			return s;
		}
	}
	return NULL;
}

RT_NORETURN static void kernel_panic(const char *what, const char *name)
{
	rt_fdprintf(2, "[0][PANIC] panicked at src/env/mod.rs:1:1:\n%s '%s'\n", what, name);
	rt_exit(1);
}

static struct lexer lx;

/* "-ip A" and friends: the value is the next word. */
static void option_value(const char *name, const char *var)
{
	int64_t v;

	if (!next_word(&lx)) {
		kernel_panic("requires a value but none was supplied: the argument", name);
	}
	if (var != NULL) {
		rt_printf("env %s=%s\n", var, lx.word);
	} else if (rt_parse_long(lx.word, &v) != 0 || v < 0 || v > 65535) {
		kernel_panic("called `Result::unwrap()` on an `Err` value: -freq", lx.word);
	} else {
		rt_printf("freq=%ld\n", (long)v);
	}
}

/* A KEY=VALUE word before "--". */
static void assignment(const char *w, const char *eq)
{
	const char *eq2 = find_char(eq + 1, '=');

	if (eq - w == 3 && starts_with(w, "env") && eq2 != NULL) {
		rt_printf("env %s\n", eq + 1);
	} else {
		rt_printf("error could not parse bootarg: %s\n", w);
	}
}

static int kernel_word(bool *have_image)
{
	const char *w = lx.word, *eq = find_char(w, '=');

	if (starts_with(w, "virtio_mmio.device=")) {
		char *end = (char *)(uintptr_t)find_char(eq + 1, '=');
		if (end != NULL) {
			*end = '\0'; /* split('=')[1]: up to a further '=' */
		}
		rt_printf("mmio=%s\n", eq + 1);
	} else if (rt_streq(w, "-freq")) {
		option_value("-freq", NULL);
	} else if (rt_streq(w, "-ip") || rt_streq(w, "-mask") || rt_streq(w, "-gateway") ||
		   rt_streq(w, "-mount")) {
		option_value(w, rt_streq(w, "-ip")	  ? "HERMIT_IP"
				: rt_streq(w, "-mask")	  ? "HERMIT_MASK"
				: rt_streq(w, "-gateway") ? "HERMIT_GATEWAY"
							  : "UHYVE_MOUNT");
	} else if (rt_streq(w, "--")) {
		return 1;
	} else if (eq != NULL) {
		assignment(w, eq);
	} else if (!*have_image) {
		*have_image = true;
		rt_printf("image_path=%s\n", w);
	} else {
		rt_printf("error could not parse bootarg: %s\n", w);
	}
	return 0;
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	struct chosen c = {0};
	struct rt_fdt_visitor v = {on_node, on_prop, on_end, &c};
	bool have_image = false, app = false;
	int argc = 1;

	if (cpu != 0) {
		return 0;
	}
	if (rt_fdt_walk(bi, &v) != 0 || !c.found) {
		rt_printf("bootargs=(none)\n");
		return 0;
	}
	lx.s = c.val;
	lx.len = c.len;
	while (lx.len > 0 && lx.s[lx.len - 1] == '\0') {
		lx.len--; /* the fdt crate's as_str() trims the NUL */
	}
	while (next_word(&lx)) {
		if (app) {
			rt_printf("arg=%s\n", lx.word);
			argc++;
		} else {
			app = kernel_word(&have_image) == 1;
		}
	}
	rt_printf("argc=%d\n", argc);
	return 0;
}
