/* SPDX-License-Identifier: MIT */
/* xsave_area.c - see xsave_area.h.  Everything here works on the guest's bytes (hostile) and
 * the processor's CPUID; every offset it returns lies inside a 4 KiB area. */
#include <string.h>

#include "xsave_area.h"

static void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(sub));
}

void xsave_geom_read(struct xsave_geom *g)
{
	uint32_t r[4];
	uint64_t have;

	memset(g, 0, sizeof *g);
	cpuid(0, 0, r);
	if (r[0] < 0xd) {
		return; /* no XSAVE leaf: every component is unknown */
	}
	cpuid(0xd, 0, g->d[0]);
	cpuid(0xd, 1, g->d[1]);
	have = ((uint64_t)g->d[0][3] << 32) | g->d[0][0]; /* the components the processor has */
	for (unsigned i = 2; i < 63; i++) {
		if (have & (1ull << i)) {
			cpuid(0xd, i, g->d[i]);
		}
	}
}

bool xsave_geom_xsavec(const struct xsave_geom *g)
{
	return (g->d[1][0] >> 1) & 1;
}

bool xsave_geom_xgetbv1(const struct xsave_geom *g)
{
	return (g->d[1][0] >> 2) & 1;
}

/* Standard-format offset and size of component i >= 2, and whether the compacted format
 * aligns it to 64 bytes. */
static bool component(const struct xsave_geom *g, unsigned i, uint32_t *off, uint32_t *size,
		      bool *align)
{
	const uint32_t *r = g->d[i];

	if (i < 2 || i > 62 || r[0] == 0 || r[1] < XSAVE_EXT || (uint64_t)r[1] + r[0] > XSAVE_MAX) {
		return false;
	}
	*off = r[1];
	*size = r[0];
	*align = (r[2] & 2) != 0;
	return true;
}

size_t xsave_layout(const struct xsave_geom *g, uint64_t set, bool compacted, uint32_t off[64],
		    uint32_t size[64])
{
	size_t end = XSAVE_EXT, cur = XSAVE_EXT;
	bool align;

	for (unsigned i = 0; i < 64; i++) {
		off[i] = size[i] = 0;
	}
	for (unsigned i = 2; i < 63; i++) {
		if (!(set & (1ull << i))) {
			continue;
		}
		if (!component(g, i, &off[i], &size[i], &align)) {
			return 0; /* a component KVM's 4 KiB area cannot hold */
		}
		if (compacted) {
			cur = align ? (cur + 63) & ~(size_t)63 : cur;
			off[i] = (uint32_t)cur;
			cur += size[i];
		}
		end = off[i] + size[i] > end ? off[i] + size[i] : end;
	}
	return end <= XSAVE_MAX ? end : 0;
}

bool xsave_header_ok(const struct xsave_geom *g, const uint64_t hdr[8], uint64_t xcr0,
		     bool *compacted)
{
	*compacted = (hdr[1] & XCOMP_COMPACT) != 0;
	if (*compacted &&
	    (!xsave_geom_xsavec(g) || (hdr[1] & ~XCOMP_COMPACT & ~xcr0) || (hdr[0] & ~hdr[1]))) {
		return false;
	}
	if ((!*compacted && hdr[1] != 0) || (hdr[0] & ~xcr0)) {
		return false;
	}
	for (unsigned i = 2; i < 8; i++) {
		if (hdr[i] != 0) {
			return false;
		}
	}
	return true;
}

void xsave_restore(const struct xsave_geom *g, uint8_t *k, const uint8_t *img, uint64_t rfbm,
		   uint64_t bv, const uint32_t off[64], const uint32_t size[64])
{
	static const uint16_t fcw_init = X87_FCW_INIT;
	uint32_t so, ss;
	bool al;

	if (rfbm & 1) {
		if (bv & 1) {
			memcpy(k, img, 24);
			memcpy(k + 32, img + 32, 128);
		} else {
			memset(k, 0, 24);
			memcpy(k, &fcw_init, sizeof fcw_init);
			memset(k + 32, 0, 128);
		}
	}
	if (rfbm & 2) {
		if (bv & 2) {
			memcpy(k + 160, img + 160, 256);
		} else {
			memset(k + 160, 0, 256);
		}
	}
	for (unsigned i = 2; i < 63; i++) {
		if ((rfbm & (1ull << i)) && component(g, i, &so, &ss, &al)) {
			if ((bv & (1ull << i)) && size[i] != 0) {
				memcpy(k + so, img + off[i], ss);
			} else {
				memset(k + so, 0, ss);
			}
		}
	}
}

unsigned xsave_segments(const struct xsave_geom *g, const uint8_t *k, uint64_t rfbm,
			const uint32_t off[64], const uint32_t size[64],
			struct xsave_seg seg[XSAVE_SEGS_MAX])
{
	unsigned n = 0;
	uint32_t so, ss;
	bool al;

	if (rfbm & 1) {
		seg[n++] = (struct xsave_seg){.at = 0, .len = 24, .src = k};
		seg[n++] = (struct xsave_seg){.at = 32, .len = 128, .src = k + 32};
	}
	if (rfbm & 6) {
		seg[n++] =
		    (struct xsave_seg){.at = 24, .len = 8, .src = k + 24}; /* MXCSR, its mask */
	}
	if (rfbm & 2) {
		seg[n++] = (struct xsave_seg){.at = 160, .len = 256, .src = k + 160};
	}
	for (unsigned i = 2; i < 63 && n < XSAVE_SEGS_MAX; i++) {
		if (size[i] != 0 && component(g, i, &so, &ss, &al)) {
			seg[n++] = (struct xsave_seg){.at = off[i], .len = size[i], .src = k + so};
		}
	}
	return n;
}
