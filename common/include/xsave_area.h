/* SPDX-License-Identifier: MIT */
/* xsave_area.h - the rules of an XSAVE area (Intel SDM vol. 1, 13.4-13.8), shared by the two
 * processes that complete XSAVE and XRSTOR for the guest: the VMM (vmm/assist_xsave.c, against
 * KVM's copy of the state) and, in JIT mode, the assist (assist/assist_xsave.c, inside a
 * burst).  Pure functions over byte arrays: no guest memory, no I/O; the callers probe and copy
 * the guest's area through their own checked accessors.  Only the layout comes from the
 * processor (CPUID leaf 0xD, read once: xsave_geom_read). */
#ifndef UHS_XSAVE_AREA_H
#define UHS_XSAVE_AREA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XSAVE_HDR	512 /* the header: XSTATE_BV, XCOMP_BV, 48 reserved bytes */
#define XSAVE_EXT	576 /* the first byte after the header */
#define XSAVE_MAX	4096 /* KVM's area (struct kvm_xsave) */
#define XCOMP_COMPACT	(1ull << 63)
#define X87_FCW_INIT	0x037f
#define MXCSR_MASK_DFLT 0xffbf /* an area's MXCSR_MASK of 0 means this one */
#define XSAVE_SEGS_MAX	68 /* xsave_segments: x87 (2), MXCSR, XMM, components 2-62 */

/* CPUID leaf 0xD of the processor, subleaves 0-63 (only those of components it has are read). */
struct xsave_geom {
	uint32_t d[64][4];
};

/* Reads the leaf (about ten CPUIDs, each a VM exit on a host that is itself a VM). */
void xsave_geom_read(struct xsave_geom *g);
/* XSAVEC and the compacted format (CPUID.(0xD,1):EAX[1]); XGETBV with ECX 1 (EAX[2]). */
bool xsave_geom_xsavec(const struct xsave_geom *g);
bool xsave_geom_xgetbv1(const struct xsave_geom *g);

/* Where components >= 2 of `set` live in an area: standard offsets, or packed after the header
 * in the compacted format.  Returns the bytes the area spans, 0 if KVM's 4 KiB cannot hold a
 * component of `set` or the processor does not name it. */
size_t xsave_layout(const struct xsave_geom *g, uint64_t set, bool compacted, uint32_t off[64],
		    uint32_t size[64]);

/* Whether XRSTOR takes this header (else #GP); fills *compacted. */
bool xsave_header_ok(const struct xsave_geom *g, const uint64_t hdr[8], uint64_t xcr0,
		     bool *compacted);

/* XRSTOR into the standard-format state `k` (KVM's layout): each component of `rfbm` from the
 * guest's image `img` (laid out as off/size say) where XSTATE_BV `bv` has it, else its initial
 * state.  MXCSR is the caller's (it differs with the format). */
void xsave_restore(const struct xsave_geom *g, uint8_t *k, const uint8_t *img, uint64_t rfbm,
		   uint64_t bv, const uint32_t off[64], const uint32_t size[64]);

/* XSAVE's writes to the guest's area, header aside: `len` bytes at `at` from `src` (inside the
 * standard-format state `k`).  Bytes XSAVE leaves alone (the reserved parts of the legacy
 * region) are in no segment.  Returns the count. */
struct xsave_seg {
	uint32_t at, len;
	const uint8_t *src;
};
unsigned xsave_segments(const struct xsave_geom *g, const uint8_t *k, uint64_t rfbm,
			const uint32_t off[64], const uint32_t size[64],
			struct xsave_seg seg[XSAVE_SEGS_MAX]);

#endif
