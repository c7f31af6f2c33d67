/* SPDX-License-Identifier: MIT */
/* assist_state.c - the vCPU's state between KVM's layout (kvm_regs, the XSAVE area) and
 * Unicorn's registers.  The state is the guest's (hostile) but only copied: no value here
 * selects memory or code. */
#include <string.h>

#include "assist_internal.h"

/* kvm_regs order -> Unicorn register ids */
static int gpr_ids[16] = {/* not const: uc_reg_*_batch take int * */
			  UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX,
			  UC_X86_REG_RSI, UC_X86_REG_RDI, UC_X86_REG_RSP, UC_X86_REG_RBP,
			  UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
			  UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};

__u64 *gpr_field(struct kvm_regs *r, unsigned i)
{
	__u64 *f[16] = {&r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rsp, &r->rbp,
			&r->r8,	 &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15};
	return f[i];
}

/* FXSAVE keeps one "not empty" bit per physical x87 register; Unicorn takes the full tag word
 * (2 bits each, 3 = empty) and only distinguishes empty from not empty. */
uint16_t ftw_full(uint8_t abridged)
{
	uint16_t t = 0;

	for (unsigned i = 0; i < 8; i++) {
		t |= (uint16_t)(((abridged >> i) & 1) ? 0 : 3) << (2 * i);
	}
	return t;
}

uint8_t ftw_abridged(uint16_t full)
{
	uint8_t a = 0;

	for (unsigned i = 0; i < 8; i++) {
		a |= (uint8_t)((((full >> (2 * i)) & 3) != 3) << i);
	}
	return a;
}

static int fpu_to_uc(uc_engine *uc, const struct fxarea *fx)
{
	uint16_t tag = ftw_full(fx->ftw);
	uc_err e = UC_ERR_OK;

	/* FPSW first: it carries TOP, and ST(i) is relative to TOP */
	e |= uc_reg_write(uc, UC_X86_REG_FPSW, &fx->fsw);
	e |= uc_reg_write(uc, UC_X86_REG_FPCW, &fx->fcw);
	e |= uc_reg_write(uc, UC_X86_REG_FPTAG, &tag);
	for (int i = 0; i < 8; i++) {
		e |= uc_reg_write(uc, UC_X86_REG_ST0 + i, fx->st[i]);
	}
	e |= uc_reg_write(uc, UC_X86_REG_FIP, &fx->fip);
	e |= uc_reg_write(uc, UC_X86_REG_FDP, &fx->fdp);
	e |= uc_reg_write(uc, UC_X86_REG_FOP, &fx->fop);
	e |= uc_reg_write(uc, UC_X86_REG_MXCSR, &fx->mxcsr);
	for (int i = 0; i < 16; i++) {
		e |= uc_reg_write(uc, UC_X86_REG_XMM0 + i, fx->xmm[i]);
	}
	return e == UC_ERR_OK ? 0 : -1;
}

static int fpu_from_uc(uc_engine *uc, struct fxarea *fx)
{
	uint16_t tag = 0;
	uc_err e = UC_ERR_OK;

	e |= uc_reg_read(uc, UC_X86_REG_FPSW, &fx->fsw);
	e |= uc_reg_read(uc, UC_X86_REG_FPCW, &fx->fcw);
	e |= uc_reg_read(uc, UC_X86_REG_FPTAG, &tag);
	fx->ftw = ftw_abridged(tag);
	for (int i = 0; i < 8; i++) {
		uint8_t st[16] = {0};
		e |= uc_reg_read(uc, UC_X86_REG_ST0 + i, st);
		memcpy(fx->st[i], st, 10); /* bytes 10-15 of each slot are reserved: kept */
	}
	e |= uc_reg_read(uc, UC_X86_REG_FIP, &fx->fip);
	e |= uc_reg_read(uc, UC_X86_REG_FDP, &fx->fdp);
	e |= uc_reg_read(uc, UC_X86_REG_FOP, &fx->fop);
	e |= uc_reg_read(uc, UC_X86_REG_MXCSR, &fx->mxcsr);
	for (int i = 0; i < 16; i++) {
		e |= uc_reg_read(uc, UC_X86_REG_XMM0 + i, fx->xmm[i]);
	}
	return e == UC_ERR_OK ? 0 : -1;
}

int assist_fpu_to_uc(uc_engine *uc, const struct kvm_xsave *x)
{
	struct fxarea fx;

	memcpy(&fx, x->region, sizeof fx);
	return fpu_to_uc(uc, &fx);
}

int assist_state_to_uc(uc_engine *uc, const struct kvm_regs *r, const struct kvm_sregs *s,
		       const struct kvm_xsave *x)
{
	struct kvm_regs copy = *r;
	void *vals[16];
	struct fxarea fx;

	for (unsigned i = 0; i < 16; i++) {
		vals[i] = gpr_field(&copy, i);
	}
	memcpy(&fx, x->region, sizeof fx);
	if (uc_reg_write_batch(uc, gpr_ids, vals, 16) != UC_ERR_OK ||
	    uc_reg_write(uc, UC_X86_REG_RFLAGS, &r->rflags) != UC_ERR_OK ||
	    uc_reg_write(uc, UC_X86_REG_FS_BASE, &s->fs.base) != UC_ERR_OK ||
	    uc_reg_write(uc, UC_X86_REG_GS_BASE, &s->gs.base) != UC_ERR_OK) {
		return -1;
	}
	return fpu_to_uc(uc, &fx);
}

int assist_state_from_uc(uc_engine *uc, struct kvm_regs *r, struct kvm_xsave *x, uint32_t *dirty)
{
	void *vals[16];
	struct fxarea old, fx;
	uint64_t bv;

	for (unsigned i = 0; i < 16; i++) {
		vals[i] = gpr_field(r, i);
	}
	memcpy(&old, x->region, sizeof old);
	fx = old;
	if (uc_reg_read_batch(uc, gpr_ids, vals, 16) != UC_ERR_OK ||
	    uc_reg_read(uc, UC_X86_REG_RIP, &r->rip) != UC_ERR_OK ||
	    uc_reg_read(uc, UC_X86_REG_RFLAGS, &r->rflags) != UC_ERR_OK ||
	    fpu_from_uc(uc, &fx) != 0) {
		return -1;
	}
	/* XSTATE_BV (bytes 512-519): a component written back must not read as "init" */
	memcpy(&bv, (const uint8_t *)x->region + 512, sizeof bv);
	bool x87 = fx.fcw != old.fcw || fx.fsw != old.fsw || fx.ftw != old.ftw ||
		   fx.fop != old.fop || fx.fip != old.fip || fx.fdp != old.fdp ||
		   memcmp(fx.st, old.st, sizeof fx.st) != 0;
	bool sse = fx.mxcsr != old.mxcsr || memcmp(fx.xmm, old.xmm, sizeof fx.xmm) != 0;
	bv |= (x87 ? 1u : 0u) | (sse ? 2u : 0u);
	memcpy(x->region, &fx, sizeof fx);
	memcpy((uint8_t *)x->region + 512, &bv, sizeof bv);
	*dirty = x87 || sse;
	return 0;
}
