/* SPDX-License-Identifier: MIT */
/* fdt.c - the device-tree walker of fdt.h.  Every offset is checked against the header's
 * totalsize, which must lie inside guest RAM. */
#include "fdt.h"

#define FDT_MAGIC      0xd00dfeedu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE   2u
#define FDT_PROP       3u
#define FDT_NOP	       4u

uint32_t rt_be32(const volatile uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) |
	       (uint32_t)p[3];
}

uint64_t rt_be64(const volatile uint8_t *p)
{
	return ((uint64_t)rt_be32(p) << 32) | rt_be32(p + 4);
}

struct walk {
	const volatile uint8_t *fdt;
	uint32_t pos, end, off_strings, size_strings;
	int depth;
};

/* Copies the NUL-terminated string at fdt[at..limit) (cut to the buffer); -1 if unterminated. */
static int copy_name(const volatile uint8_t *fdt, uint32_t at, uint32_t limit, char *out,
		     uint32_t *len)
{
	uint32_t i = 0;

	while (at + i < limit && fdt[at + i] != '\0') {
		if (i < RT_FDT_NAME_MAX - 1) {
			out[i] = (char)fdt[at + i];
		}
		i++;
	}
	if (at + i >= limit) {
		return -1;
	}
	out[i < RT_FDT_NAME_MAX - 1 ? i : RT_FDT_NAME_MAX - 1] = '\0';
	*len = i;
	return 0;
}

static int prop(struct walk *w, const struct rt_fdt_visitor *v)
{
	char name[RT_FDT_NAME_MAX];
	uint32_t len, nameoff, nlen;

	if (w->end - w->pos < 8) {
		return -1;
	}
	len = rt_be32(w->fdt + w->pos);
	nameoff = rt_be32(w->fdt + w->pos + 4);
	w->pos += 8;
	if (len > w->end - w->pos || nameoff >= w->size_strings ||
	    copy_name(w->fdt, w->off_strings + nameoff, w->off_strings + w->size_strings, name,
		      &nlen) != 0) {
		return -1;
	}
	if (v->prop != 0) {
		v->prop(v->ctx, w->depth, name, w->fdt + w->pos, len);
	}
	w->pos = (w->pos + len + 3) & ~3u;
	return 0;
}

static int step(struct walk *w, const struct rt_fdt_visitor *v, uint32_t tok)
{
	char name[RT_FDT_NAME_MAX];
	uint32_t len;

	if (tok == FDT_BEGIN_NODE) {
		if (copy_name(w->fdt, w->pos, w->end, name, &len) != 0) {
			return -1;
		}
		w->pos = (w->pos + len + 1 + 3) & ~3u;
		w->depth++;
		if (v->node != 0) {
			v->node(v->ctx, w->depth, name);
		}
		return 0;
	}
	if (tok == FDT_END_NODE) {
		if (w->depth == 0) {
			return -1;
		}
		if (v->end != 0) {
			v->end(v->ctx, w->depth);
		}
		w->depth--;
		return 0;
	}
	if (tok == FDT_PROP) {
		return prop(w, v);
	}
	return tok == FDT_NOP ? 0 : 1; /* FDT_END or anything else: stop */
}

int rt_fdt_walk(const struct uh_boot_info *bi, const struct rt_fdt_visitor *v)
{
	struct walk w = {0};
	uint32_t total, off_struct, size_struct;
	int rc = 0;

	if (bi->device_tree == 0 || bi->device_tree < bi->phys_addr_start ||
	    bi->device_tree >= bi->phys_addr_end || bi->phys_addr_end - bi->device_tree < 40) {
		return -1;
	}
	w.fdt = (const volatile uint8_t *)(uintptr_t)bi->device_tree;
	total = rt_be32(w.fdt + 4);
	off_struct = rt_be32(w.fdt + 8);
	w.off_strings = rt_be32(w.fdt + 12);
	w.size_strings = rt_be32(w.fdt + 32);
	size_struct = rt_be32(w.fdt + 36);
	if (rt_be32(w.fdt) != FDT_MAGIC || total > bi->phys_addr_end - bi->device_tree ||
	    off_struct > total || size_struct > total - off_struct || w.off_strings > total ||
	    w.size_strings > total - w.off_strings) {
		return -1;
	}
	w.pos = off_struct;
	w.end = off_struct + size_struct;
	while (rc == 0 && w.pos + 4 <= w.end) {
		uint32_t tok = rt_be32(w.fdt + w.pos);

		w.pos += 4;
		rc = step(&w, v, tok);
	}
	return rc < 0 ? -1 : 0;
}
