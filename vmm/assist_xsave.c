/* SPDX-License-Identifier: MIT */
/* assist_xsave.c - the instructions the VMM completes for the assist, against KVM's own state:
 * XGETBV (KVM_GET_XCRS), XSAVE/XSAVEOPT/XSAVEC and XRSTOR (KVM's XSAVE area, the guest's area
 * through gmem's guest-virtual range accessors after the whole range is checked), RDTSCP
 * (KVM_GET_MSRS).  The assist only names the instruction and the linear address of its
 * operand: a lie changes the guest's state, never the VMM's.  Faults are those of the
 * processor: #GP for a misaligned or non-canonical area or a bad header, #PF for an unmapped
 * page, #UD for RDTSCP where the host has none. */
#include <string.h>
#include <sys/ioctl.h>

#include "assist_vmm.h"

static enum done page_fault(struct fault *f, uint64_t va, bool write)
{
	*f = (struct fault){.vector = VEC_PF, .has_err = true, .err = write ? 2u : 0u, .cr2 = va};
	return DONE_FAULT;
}

static enum done gp_fault(struct fault *f)
{
	*f = (struct fault){.vector = VEC_GP, .has_err = true};
	return DONE_FAULT;
}

/* Checks all of [va, va + len) before anything is read or written, as the processor does: a
 * non-canonical byte is #GP(0); an unmapped one, or one mapped outside RAM, #PF there. */
static enum done probe(const struct vm *vm, uint64_t cr3, uint64_t va, size_t len, bool write,
		       struct fault *f)
{
	struct gva_fault gf;

	if (gmem_gva_check(&vm->mem, cr3, gva(va), len, &gf) == 0) {
		return DONE_OK;
	}
	return gf.why == GVA_NONCANONICAL ? gp_fault(f) : page_fault(f, gf.va, write);
}

/* After probe(): a failure here means another vCPU changed the tables in between. */
static int guest_read(const struct vm *vm, uint64_t cr3, uint64_t va, void *buf, size_t len)
{
	struct gva_fault gf;

	return gmem_gva_copy_from(&vm->mem, cr3, buf, gva(va), len, &gf);
}

static int guest_write(const struct vm *vm, uint64_t cr3, uint64_t va, const void *buf, size_t len)
{
	struct gva_fault gf;

	return gmem_gva_copy_to(&vm->mem, cr3, gva(va), buf, len, &gf);
}

/* The processor's CPUID, not KVM's table: on kvm_pvm the guest sees the host's XSAVE leaf
 * (XSAVEC, XGETBV1) whatever the table says (hermit-abi.md g.2), and the assist only ever
 * runs there.  Emulating what the processor would do is what the guest expects.  The leaves
 * used here are read once (assist_xsave_init, before any vCPU runs): CPUID is intercepted by
 * whatever runs this host, and cost 6 us here, four of them per XSAVE/XRSTOR before. */
static struct xsave_geom geom;
static uint32_t leaf_ext[2][4]; /* leaves 0x80000000 and 0x80000001 */

static void cpuid(uint32_t leaf, uint32_t r[4])
{
	__asm__ volatile("cpuid"
			 : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
			 : "a"(leaf), "c"(0));
}

void assist_xsave_init(void)
{
	xsave_geom_read(&geom);
	cpuid(0x80000000u, leaf_ext[0]);
	if (leaf_ext[0][0] >= 0x80000001u) {
		cpuid(0x80000001u, leaf_ext[1]);
	}
}

const struct xsave_geom *assist_xsave_geom(void)
{
	return &geom;
}

int assist_get_xcr0(struct vcpu *v, uint64_t *xcr0)
{
	struct kvm_xcrs x;

	if (ioctl(v->fd, KVM_GET_XCRS, &x) < 0) {
		return -1;
	}
	*xcr0 = 1; /* x87 is always enabled */
	for (uint32_t i = 0; i < x.nr_xcrs && i < KVM_MAX_XCRS; i++) {
		if (x.xcrs[i].xcr == 0) {
			*xcr0 = x.xcrs[i].value;
		}
	}
	return 0;
}

static void set_edx_eax(struct kvm_regs *r, uint64_t v)
{
	r->rax = (uint32_t)v;
	r->rdx = v >> 32;
}

static uint64_t edx_eax(const struct kvm_regs *r)
{
	return ((uint64_t)(uint32_t)r->rdx << 32) | (uint32_t)r->rax;
}

static enum done do_xgetbv(struct vcpu *v, struct assist_cpu *c, struct fault *f)
{
	uint32_t ecx = (uint32_t)c->req.regs.rcx;
	uint64_t xcr0;

	if (assist_get_xcr0(v, &xcr0) != 0) {
		return DONE_FAIL;
	}
	if (ecx == 0) {
		set_edx_eax(&c->req.regs, xcr0);
	} else if (ecx == 1 && xsave_geom_xgetbv1(&geom)) {
		/* XINUSE: KVM's XSTATE_BV tells which components are not in their initial state */
		set_edx_eax(&c->req.regs, xcr0 & area_u64(&c->req.xsave, XSAVE_HDR));
	} else {
		return gp_fault(f);
	}
	return DONE_OK;
}

static enum done do_rdtscp(struct vcpu *v, struct assist_cpu *c, struct fault *f)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[2];
	} m = {.h = {.nmsrs = 2}, .e = {{.index = MSR_IA32_TSC}, {.index = MSR_TSC_AUX}}};
	int n;

	if (!((leaf_ext[1][3] >> 27) & 1)) { /* RDTSCP */
		*f = (struct fault){.vector = VEC_UD};
		return DONE_FAULT;
	}
	if ((n = ioctl(v->fd, KVM_GET_MSRS, &m)) < 1) {
		return DONE_FAIL;
	}
	set_edx_eax(&c->req.regs, m.e[0].data);
	c->req.regs.rcx = n == 2 ? (uint32_t)m.e[1].data : 0;
	return DONE_OK;
}

/* XSAVE, XSAVEOPT (same result) and XSAVEC: the components in RFBM = XCR0 & EDX:EAX from
 * KVM's area to the guest's, then the header. */
static enum done do_xsave(struct vcpu *v, struct assist_cpu *c, bool compacted, struct fault *f)
{
	const uint8_t *k = (const uint8_t *)c->req.xsave.region;
	uint64_t xcr0, rfbm, ea = c->resp.insn.ea, cr3 = c->req.sregs.cr3, hdr[8] = {0};
	uint64_t inuse = area_u64(&c->req.xsave, XSAVE_HDR);
	uint32_t off[64], size[64];
	struct xsave_seg seg[XSAVE_SEGS_MAX];
	unsigned nseg;
	size_t len;
	int e = 0;
	enum done d;

	if (assist_get_xcr0(v, &xcr0) != 0) {
		return DONE_FAIL;
	}
	rfbm = xcr0 & edx_eax(&c->req.regs);
	if (ea % 64 != 0) {
		return gp_fault(f);
	}
	if ((len = xsave_layout(&geom, rfbm, compacted, off, size)) == 0) {
		return DONE_FAIL;
	}
	if ((d = probe(v->vm, cr3, ea, len, true, f)) != DONE_OK) {
		return d;
	}
	if (compacted) {
		hdr[0] = inuse & rfbm;
		hdr[1] = XCOMP_COMPACT | rfbm;
	} else if (guest_read(v->vm, cr3, ea + XSAVE_HDR, &hdr[0], 8) != 0) {
		return DONE_FAIL;
	} else {
		hdr[0] = (hdr[0] & ~rfbm) | (inuse & rfbm); /* XSAVE changes only XSTATE_BV */
	}
	nseg = xsave_segments(&geom, k, rfbm, off, size, seg);
	for (unsigned i = 0; i < nseg; i++) {
		e |= guest_write(v->vm, cr3, ea + seg[i].at, seg[i].src, seg[i].len);
	}
	e |= guest_write(v->vm, cr3, ea + XSAVE_HDR, hdr, compacted ? sizeof hdr : 8);
	return e == 0 ? DONE_OK : DONE_FAIL;
}

static enum done do_xrstor(struct vcpu *v, struct assist_cpu *c, struct fault *f)
{
	uint8_t img[sizeof c->req.xsave.region];
	uint8_t *k = (uint8_t *)c->req.xsave.region;
	uint64_t xcr0, rfbm, ea = c->resp.insn.ea, cr3 = c->req.sregs.cr3, hdr[8];
	uint32_t off[64], size[64], mxcsr;
	size_t len;
	bool compacted;
	enum done d;

	if (assist_get_xcr0(v, &xcr0) != 0) {
		return DONE_FAIL;
	}
	rfbm = xcr0 & edx_eax(&c->req.regs);
	if (ea % 64 != 0) {
		return gp_fault(f);
	}
	if ((d = probe(v->vm, cr3, ea, XSAVE_EXT, false, f)) != DONE_OK) {
		return d;
	}
	if (guest_read(v->vm, cr3, ea + XSAVE_HDR, hdr, sizeof hdr) != 0) {
		return DONE_FAIL;
	}
	if (!xsave_header_ok(&geom, hdr, xcr0, &compacted)) {
		return gp_fault(f);
	}
	if ((len = xsave_layout(&geom, compacted ? hdr[1] & ~XCOMP_COMPACT : rfbm, compacted, off,
				size)) == 0) {
		return DONE_FAIL;
	}
	if ((d = probe(v->vm, cr3, ea, len, false, f)) != DONE_OK) {
		return d;
	}
	if (guest_read(v->vm, cr3, ea, img, len) != 0) {
		return DONE_FAIL;
	}
	memcpy(&mxcsr, img + 24, sizeof mxcsr);
	if ((rfbm & 6) && (mxcsr & ~mxcsr_mask(&c->req.xsave))) {
		return gp_fault(f);
	}
	xsave_restore(&geom, k, img, rfbm, hdr[0], off, size);
	if (rfbm & 6) {
		mxcsr = compacted && !(hdr[0] & 6) ? 0x1f80 : mxcsr;
		memcpy(k + 24, &mxcsr, sizeof mxcsr);
	}
	area_put_u64(&c->req.xsave, XSAVE_HDR,
		     (area_u64(&c->req.xsave, XSAVE_HDR) & ~rfbm) | (hdr[0] & rfbm));
	c->xsave_dirty = true;
	return DONE_OK;
}

enum done assist_complete(struct vcpu *v, struct assist_cpu *c, struct fault *f)
{
	unsigned op = c->resp.insn.op;

	if (op >= ASSIST_OP_COUNT || op == ASSIST_OP_NONE || c->resp.insn.len == 0 ||
	    c->resp.insn.len > 15) {
		return DONE_FAIL;
	}
	c->st.ops[op]++;
	switch (op) {
	case ASSIST_OP_XGETBV:
		return do_xgetbv(v, c, f);
	case ASSIST_OP_XSAVE:
		return do_xsave(v, c, false, f);
	case ASSIST_OP_XSAVEC:
		return do_xsave(v, c, true, f);
	case ASSIST_OP_XRSTOR:
		return do_xrstor(v, c, f);
	case ASSIST_OP_RDTSCP:
		return do_rdtscp(v, c, f);
	default:
		return DONE_FAIL;
	}
}
