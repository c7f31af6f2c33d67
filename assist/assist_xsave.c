/* SPDX-License-Identifier: MIT */
/* assist_xsave.c - JIT mode: XSAVE, XSAVEOPT and XRSTOR of the standard format completed in
 * the burst (Hermit's lazy FPU switch saves the old task's state and loads the new one's in its
 * #NM handler: two round trips to the VMM per thread switch before), by the rules the VMM uses
 * (common/xsave_area.c) against the burst's own state: x87/SSE in Unicorn, the other
 * components (AVX's upper halves, which no instruction of a burst touches) in the reply's copy
 * of the XSAVE area.  Only with the guest's XCR0 in the request (ASSIST_F_XCR0).
 *
 * Anything unusual is the VMM's, which completes it as in exits mode, faults included (1): a
 * misaligned or compacted area, a bad header or MXCSR (#GP), a page that is not mapped,
 * writable or RAM (#PF), a page-table frame, a page Unicorn translated code from (a store there
 * must drop that code: only Unicorn's own stores do), an area KVM's 4 KiB cannot hold.  So a
 * completion here changes the guest's area or state exactly as the VMM would, or not at all.
 * The area's bytes are the guest's (hostile): read once into a copy, checked, then used. */
#include <string.h>

#include "assist_internal.h"
#include "xsave_area.h"

static uint64_t edx_eax(struct worker *w)
{
	uint64_t rax = 0, rdx = 0;

	uc_reg_read(w->uc, UC_X86_REG_RAX, &rax);
	uc_reg_read(w->uc, UC_X86_REG_RDX, &rdx);
	return ((uint64_t)(uint32_t)rdx << 32) | (uint32_t)rax;
}

/* The burst's x87/SSE state into the reply's area (w->out.xsave), as the reply would carry it. */
static int sync_out(struct worker *w)
{
	struct kvm_regs r;
	uint32_t dirty = 0;

	if (assist_state_from_uc(w->uc, &r, &w->out.xsave, &dirty) != 0) {
		return -1;
	}
	w->xs_dirty |= dirty != 0;
	return 0;
}

static int do_xsave(struct worker *w, uint64_t ea, uint64_t rfbm)
{
	uint8_t *k = (uint8_t *)w->out.xsave.region;
	uint32_t off[64], size[64];
	struct xsave_seg seg[XSAVE_SEGS_MAX];
	uint64_t bv, inuse;
	size_t len = xsave_layout(&w->geom, rfbm, false, off, size);
	unsigned n;

	if (len == 0 || !virt_area_ok(w, ea, len, true) ||
	    read_virt(w, ea + XSAVE_HDR, &bv, 8) != 0) {
		return 1;
	}
	if (sync_out(w) != 0) {
		return -1;
	}
	memcpy(&inuse, k + XSAVE_HDR, sizeof inuse);
	bv = (bv & ~rfbm) | (inuse & rfbm); /* XSAVE changes only XSTATE_BV of the header */
	n = xsave_segments(&w->geom, k, rfbm, off, size, seg);
	for (unsigned i = 0; i < n; i++) {
		write_virt(w, ea + seg[i].at, seg[i].src, seg[i].len);
	}
	write_virt(w, ea + XSAVE_HDR, &bv, sizeof bv);
	return 0;
}

static int do_xrstor(struct worker *w, uint64_t ea, uint64_t rfbm)
{
	uint8_t img[XSAVE_MAX];
	uint8_t *k = (uint8_t *)w->out.xsave.region;
	uint32_t off[64], size[64], mxcsr, mask;
	uint64_t hdr[8], bv;
	bool compacted;
	size_t len;

	if (read_virt(w, ea + XSAVE_HDR, hdr, sizeof hdr) != 0 ||
	    !xsave_header_ok(&w->geom, hdr, w->in.xcr0, &compacted) || compacted ||
	    (len = xsave_layout(&w->geom, rfbm, false, off, size)) == 0 ||
	    !virt_area_ok(w, ea, len, false) || read_virt(w, ea, img, len) != 0) {
		return 1;
	}
	memcpy(hdr, img + XSAVE_HDR, sizeof hdr); /* the copy is what counts from here */
	memcpy(&mxcsr, img + 24, sizeof mxcsr);
	memcpy(&mask, k + 28, sizeof mask); /* MXCSR_MASK; 0 means the default */
	mask = mask != 0 ? mask : MXCSR_MASK_DFLT;
	if (!xsave_header_ok(&w->geom, hdr, w->in.xcr0, &compacted) || compacted ||
	    ((rfbm & 6) && (mxcsr & ~mask))) {
		return 1; /* #GP: the VMM raises it */
	}
	if (sync_out(w) != 0) {
		return -1;
	}
	xsave_restore(&w->geom, k, img, rfbm, hdr[0], off, size);
	if (rfbm & 6) {
		memcpy(k + 24, &mxcsr, sizeof mxcsr);
	}
	memcpy(&bv, k + XSAVE_HDR, sizeof bv);
	bv = (bv & ~rfbm) | (hdr[0] & rfbm);
	memcpy(k + XSAVE_HDR, &bv, sizeof bv);
	w->xs_dirty = true;
	return assist_fpu_to_uc(w->uc, &w->out.xsave) == 0 ? 0 : -1;
}

int xsave_complete(struct worker *w, const ZydisDecodedInstruction *in,
		   const ZydisDecodedOperand *ops, uint64_t rip, unsigned op)
{
	uint64_t ea = 0, rfbm;
	unsigned i;

	if (!(w->in.flags & ASSIST_F_XCR0) || (op != ASSIST_OP_XSAVE && op != ASSIST_OP_XRSTOR)) {
		return 1;
	}
	for (i = 0; i < in->operand_count; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    ops[i].mem.type == ZYDIS_MEMOP_TYPE_MEM) {
			break;
		}
	}
	if (i == in->operand_count || effective_address(w, in, &ops[i], rip, &ea) != 0 ||
	    ea % 64 != 0 || ea + XSAVE_MAX < ea) {
		return 1;
	}
	rfbm = w->in.xcr0 & edx_eax(w);
	return op == ASSIST_OP_XSAVE ? do_xsave(w, ea, rfbm) : do_xrstor(w, ea, rfbm);
}
