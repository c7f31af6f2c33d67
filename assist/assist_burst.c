/* SPDX-License-Identifier: MIT */
/* assist_burst.c - one burst: check the processor mode, bring the shadow up to date, load the
 * state, then screen, run and complete instructions until the cap, a stop point, a fault or
 * an instruction that is not ours; the reply says why it ended.  The request comes from the
 * VMM (trusted for its shape), its contents from the guest. */
#include <stdint.h>
#include <string.h>

#include "assist_internal.h"

static void set_stop(struct worker *w, enum assist_stop s, enum assist_class cls)
{
	w->out.stop = s;
	w->out.insn.cls = cls;
}

static bool mode_ok(const struct kvm_regs *r, const struct kvm_sregs *s)
{
	/* 64-bit mode, paging, CPL 0, 4-level tables, no single-stepping: Hermit's only mode */
	return (s->efer & EFER_LMA) && s->cs.l && (s->cr0 & CR0_PG) && (s->cr4 & CR4_PAE) &&
	       !(s->cr4 & CR4_LA57) && s->cs.dpl == 0 && !(r->rflags & RF_TF);
}

static int fetch_insn(struct worker *w, uint64_t rip, uint8_t *buf, size_t *len)
{
	*len = 15;
	while (*len > 0 && read_virt(w, rip, buf, *len) != 0) {
		(*len)--; /* the tail may lie on an unmapped page */
	}
	return *len > 0 ? 0 : -1;
}

static enum screen screen_vmm(struct worker *w, const struct verdict *v,
			      const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
			      uint64_t rip)
{
	set_stop(w, ASSIST_STOP_VMM, (enum assist_class)v->cls);
	w->out.insn.op = v->op;
	if (v->op == ASSIST_OP_PIO && !jit_pio(w, in, ops)) {
		set_stop(w, ASSIST_STOP_KVM, ASSIST_C_IO); /* not understood: KVM's */
		w->out.insn.op = ASSIST_OP_NONE;
		return SCR_STOP;
	}
	if (v->op == ASSIST_OP_PIO && jit_pio_absent(w)) {
		set_stop(w, ASSIST_STOP_CAP, ASSIST_C_NONE); /* nothing there: the burst goes on */
		w->out.insn.op = ASSIST_OP_NONE;
		return SCR_DONE;
	}
	if (v->op == ASSIST_OP_PIO && jit_pio_batch(w)) {
		set_stop(w, ASSIST_STOP_CAP, ASSIST_C_NONE); /* collected: the burst goes on */
		w->out.insn.op = ASSIST_OP_NONE;
		return SCR_DONE;
	}
	for (unsigned i = 0; i < in->operand_count; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    ops[i].mem.type == ZYDIS_MEMOP_TYPE_MEM &&
		    effective_address(w, in, &ops[i], rip, &w->out.insn.ea) != 0) {
			set_stop(w, ASSIST_STOP_ERROR, ASSIST_C_OTHER);
		}
	}
	return SCR_STOP;
}

/* An instruction completed here: the burst goes on after it (or where it jumped: IRETQ). */
static enum screen completed(struct worker *w, uint64_t *rip, unsigned len)
{
	*rip = w->jumped ? w->jump : *rip + len;
	w->jumped = false;
	w->sti_next = 0; /* whatever shadow there was, this instruction used it up */
	if (w->end_after) { /* the reply carries it now (an ICR write: the IPI goes out) */
		w->end_after = false;
		return SCR_STOP;
	}
	return SCR_DONE;
}

/* Completes the instruction at *rip here (POPCNT/TZCNT/LZCNT; in JIT mode also RDTSC, PAUSE,
 * MFENCE and, with several vCPUs, locked instructions) and moves past it; or ends the burst. */
static enum screen screen_self(struct worker *w, const struct verdict *v,
			       const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
			       uint64_t *rip, bool first_failed)
{
	int rc;

	if (v->action == A_ATOMIC) {
		rc = atomic_complete(w, in, ops, *rip);
		w->out.counts.atomics += rc == 0;
	} else {
		rc = v->cls == ASSIST_C_BITCOUNT ? bitcount(w, in, ops, *rip)
						 : jit_complete(w, in, ops);
		w->out.counts.completed += rc == 0;
	}
	if (rc > 0) { /* not here (an atomic misaligned or not on RAM, an MSR it does not
		       * hold): KVM's */
		set_stop(w, first_failed ? ASSIST_STOP_UNSUPPORTED : ASSIST_STOP_KVM,
			 (enum assist_class)v->cls);
		w->out.insn.flags = insn_flags(in, ops);
		return SCR_STOP;
	}
	if (rc != 0) {
		if (w->out.stop != ASSIST_STOP_FAULT) {
			set_stop(w, ASSIST_STOP_ERROR, (enum assist_class)v->cls);
		}
		return SCR_STOP;
	}
	return completed(w, rip, in->length);
}

/* An instruction left to KVM (or to nobody, where KVM already rejected it). */
static enum screen screen_kvm(struct worker *w, const struct verdict *v,
			      const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
			      uint64_t rip, bool first_failed)
{
	set_stop(w, first_failed ? ASSIST_STOP_UNSUPPORTED : ASSIST_STOP_KVM,
		 (enum assist_class)v->cls);
	w->out.insn.flags |= insn_flags(in, ops);
	(void)rip;
	return SCR_STOP;
}

/* An instruction of the VMM's list: JIT mode completes XSAVE and XRSTOR of the standard format
 * here, and port I/O the burst may collect or answer (screen_vmm) is gone past; anything else
 * ends the burst before it. */
static enum screen screen_vmm_op(struct worker *w, const struct verdict *v,
				 const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops,
				 uint64_t *rip)
{
	if (w->jit && (v->op == ASSIST_OP_XSAVE || v->op == ASSIST_OP_XRSTOR)) {
		int rc = xsave_complete(w, in, ops, *rip, v->op);
		if (rc < 0) {
			set_stop(w, ASSIST_STOP_ERROR, (enum assist_class)v->cls);
			return SCR_STOP;
		}
		if (rc == 0) {
			w->out.counts.completed++;
			return completed(w, rip, in->length);
		}
	}
	if (screen_vmm(w, v, in, ops, *rip) == SCR_STOP) {
		return SCR_STOP;
	}
	*rip += in->length;
	w->sti_next = 0;
	if (w->line_end) { /* several vCPUs: the line goes out now (jit_pio_batch) */
		w->line_end = false;
		return SCR_STOP;
	}
	return SCR_DONE;
}

/* Decides what to do with the instruction at *rip: run a burst from it, complete it here
 * (and go on), or end the burst before it. */
static enum screen screen(struct worker *w, uint64_t *rip, bool first_failed)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	struct assist_insn *ii = &w->out.insn;
	bool ts = (w->in.sregs.cr0 & CR0_TS) != 0;
	struct verdict v;
	size_t n;

	ii->flags = *rip == w->sti_next ? ASSIST_I_SHADOW : 0;
	if (fetch_insn(w, *rip, ii->bytes, &n) != 0 || !decode(w, ii->bytes, n, &in, ops)) {
		set_stop(w, first_failed ? ASSIST_STOP_UNSUPPORTED : ASSIST_STOP_KVM,
			 ASSIST_C_OTHER);
		ii->flags |= ASSIST_I_FPU | ASSIST_I_BRANCH; /* unknown: assume the worst */
		return SCR_STOP;
	}
	ii->bytes_len = (uint32_t)n;
	ii->len = in.length;
	v = classify(&in, ops);
	if (w->jit) {
		v = jit_verdict(w, v, &in, ops);
	}
	if (ts && v.fpu) { /* lazy FPU switch: #NM, delivered here where it can be */
		int rc = w->jit ? nm_deliver(w, rip) : 1;
		if (rc == 0) {
			w->out.counts.completed++;
			w->sti_next = 0;
			return SCR_DONE;
		}
		set_stop(w, rc < 0 ? ASSIST_STOP_ERROR : ASSIST_STOP_NM, (enum assist_class)v.cls);
		return SCR_STOP;
	}
	switch (v.action) {
	case A_RUN:
		exit_remove(w, *rip); /* a stale exit would stop the burst right here */
		if (!ts || w->jit) {
			return SCR_RUN; /* JIT mode: the block hook stops before x87/SSE (#NM) */
		}
		/* exits mode: no bursts while CR0.TS is set */
		v.cls = ASSIST_C_OTHER;
		return screen_kvm(w, &v, &in, ops, *rip, first_failed);
	case A_SELF:
	case A_ATOMIC:
		return screen_self(w, &v, &in, ops, rip, first_failed);
	case A_VMM:
		return screen_vmm_op(w, &v, &in, ops, rip);
	default:
		/* KVM rejected an instruction only KVM may run: nobody can */
		return screen_kvm(w, &v, &in, ops, *rip, first_failed);
	}
}

/* The instruction at rip, where a burst stops for KVM without screening it (an interrupt is
 * due, a page a burst must not touch): its length, bytes and flags for the VMM. */
static void describe(struct worker *w, uint64_t rip)
{
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	size_t n;

	w->out.insn.flags = ASSIST_I_FPU | ASSIST_I_BRANCH; /* never in a shadow: see at_limit */
	if (fetch_insn(w, rip, w->out.insn.bytes, &n) == 0 &&
	    decode(w, w->out.insn.bytes, n, &in, ops)) {
		w->out.insn.bytes_len = (uint32_t)n;
		w->out.insn.len = in.length;
		w->out.insn.flags &= ~(ASSIST_I_FPU | ASSIST_I_BRANCH);
		w->out.insn.flags |= insn_flags(&in, ops);
	}
}

/* A fault raised inside a burst: the guest's own #PF (its mapping is missing), a page the
 * shadow leaves out (KVM must do that access), or another exception. */
static void classify_fault(struct worker *w, uint64_t rip)
{
	uint64_t pa, eff;
	ZydisDecodedInstruction in;
	ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
	size_t n;
	bool write = false;

	w->out.insn.flags = ASSIST_I_FPU | ASSIST_I_BRANCH;
	if (fetch_insn(w, rip, w->out.insn.bytes, &n) == 0 &&
	    decode(w, w->out.insn.bytes, n, &in, ops)) {
		w->out.insn.bytes_len = (uint32_t)n;
		w->out.insn.len = in.length;
		w->out.insn.flags = insn_flags(&in, ops);
		for (unsigned i = 0; i < in.operand_count; i++) {
			write |= ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
				 (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE);
		}
	}
	if (w->vector != 14) {
		set_fault(w, w->vector, 0, false);
		return;
	}
	if (w->jit && frames_changed(w)) {
		/* the guest mapped a page since the burst began (no INVLPG is needed for that):
		 * the next burst follows its tables and runs the instruction again */
		set_stop(w, ASSIST_STOP_CAP, ASSIST_C_NONE);
		return;
	}
	if (gwalk(w, w->cr2, &pa, &eff) != 0 || (write && !(eff & PTE_W) && !w->wp_off)) {
		set_fault(w, 14, w->cr2, write); /* the guest's own page fault */
		return;
	}
	set_stop(w, ASSIST_STOP_PAGE, ASSIST_C_NONE);
	w->out.insn.ea = w->cr2;
	w->out.insn.write = write;
}

static void load_context(struct worker *w, const struct kvm_sregs *s)
{
	uint64_t cr3 = pool_pa(w->active, 0);

	if (w->tainted) {
		uc_context_restore(w->uc, w->pristine);
		uc_reg_write(w->uc, UC_X86_REG_CR3, &cr3);
		w->tainted = false;
	}
	/* CR0.TS stays out of Unicorn, which ignores it anyway: the block hook stops before
	 * x87/SSE code while it is set (assist_hooks.c) */
	w->ts = w->jit && (s->cr0 & CR0_TS);
}

/* ASSIST_F_ONE_INSN: Unicorn's own instruction counter ends the run after one instruction.
 * Once used it stays installed (a count that is never reached): removing it makes Unicorn
 * 2.0.1 flush its whole translation cache, about 5 s here. */
static size_t insn_count(struct worker *w)
{
	if (w->one) {
		w->counting = true;
		return 1;
	}
	return w->counting ? SIZE_MAX : 0;
}

/* KVM rejected the instruction at this RIP: whatever ran in between, if a burst stops here
 * again, nobody else will run it (block counts cannot tell: they are taken when a block
 * starts). */
static bool first_failed_at(const struct worker *w, uint64_t rip)
{
	return (w->in.flags & ASSIST_F_FIRST_FAILED) && rip == w->in.regs.rip &&
	       w->out.counts.completed == 0;
}

/* One uc_emu_start from rip; returns false when the burst is over. */
static bool run_once(struct worker *w, uint64_t *rip)
{
	uc_err e;

	w->why = W_NONE;
	e = uc_emu_start(w->uc, *rip, 0, 0, insn_count(w));
	w->out.counts.runs++;
	uc_reg_read(w->uc, UC_X86_REG_RIP, rip);
	if (w->why == W_CAP || w->why == W_RESTART || w->why == W_NX || w->why == W_IRQ ||
	    w->why == W_PAUSE) {
		/* stopped by the block hook, before the block's first instruction: Unicorn syncs
		 * RIP only at code hooks and exceptions (and, without any code hook, on every
		 * early block exit), so after chained blocks its RIP is stale */
		*rip = w->block_rip;
	}
	switch (w->why) {
	case W_CAP:
		set_stop(w, ASSIST_STOP_CAP, ASSIST_C_NONE);
		return false;
	case W_IRQ:
		set_stop(w, ASSIST_STOP_IRQ, ASSIST_C_NONE);
		describe(w, *rip);
		return false;
	case W_PAUSE:
		/* a spin loop: like KVM's pause-loop exiting, the VMM lets the host CPU go (to
		 * the vCPU this one waits for, on a host with fewer CPUs than vCPUs) and goes on
		 * at RIP, the start of the loop's block */
		describe(w, *rip);
		set_stop(w, ASSIST_STOP_VMM, ASSIST_C_HLT);
		w->out.insn.op = ASSIST_OP_PAUSE;
		return false;
	case W_FAULT:
		classify_fault(w, *rip);
		return false;
	case W_ATOMIC:
		/* a locked access Unicorn cannot make atomic (misaligned, not on RAM): KVM's, as
		 * for a host twin (screen_self); Unicorn's RIP is the instruction's */
		describe(w, *rip);
		set_stop(w, first_failed_at(w, *rip) ? ASSIST_STOP_UNSUPPORTED : ASSIST_STOP_KVM,
			 ASSIST_C_LOCK);
		return false;
	case W_NX:
		set_stop(w, ASSIST_STOP_PAGE, ASSIST_C_NONE);
		w->out.insn.ea = *rip;
		return false;
	case W_RESTART:
		return true;
	case W_STOP:
		return true; /* before a stop point: screen() decides */
	case W_NONE:
	default:
		break;
	}
	if (w->bad_access) {
		w->bad_access = false;
		w->tainted = true;
		set_stop(w, ASSIST_STOP_ERROR, ASSIST_C_OTHER);
		return false;
	}
	if (w->one && e == UC_ERR_OK) {
		w->insns = 1; /* the counter stopped it after the one instruction */
		set_stop(w, ASSIST_STOP_CAP, ASSIST_C_NONE);
		return false;
	}
	if (e == UC_ERR_INSN_INVALID) {
		w->tainted = true;
		set_stop(w, ASSIST_STOP_KVM, ASSIST_C_OTHER); /* KVM may know it; if not: #UD */
		return false;
	}
	/* Unicorn stopped by itself (a HLT it ran, an unexpected error): not exact */
	w->tainted = true;
	set_stop(w, ASSIST_STOP_ERROR, ASSIST_C_OTHER);
	(void)e;
	return false;
}

/* After INVLPG: the shadow follows the guest's tables again (a rebuild if they changed). */
static bool resync(struct worker *w)
{
	w->resync = false;
	if (shadow_sync(w, &w->in.sregs) != 0) {
		set_stop(w, ASSIST_STOP_UNSUPPORTED, ASSIST_C_OTHER); /* tables beyond our limits */
		return false;
	}
	return true;
}

/* Screens the instruction at *rip: SCR_RUN (a run starts there), SCR_DONE (completed here,
 * screen the next one) or SCR_STOP (the burst ends). */
static enum screen screen_at(struct worker *w, uint64_t *rip)
{
	enum screen s = screen(w, rip, first_failed_at(w, *rip));

	if (s == SCR_DONE && w->resync && !resync(w)) {
		return SCR_STOP;
	}
	return s;
}

static uint64_t burst_loop(struct worker *w)
{
	uint64_t rip = w->in.regs.rip;
	bool screen_next = true;
	unsigned max = w->jit ? MAX_STARTS_JIT : MAX_STARTS;

	for (unsigned starts = 0; starts < max; starts++) {
		enum screen s = screen_next ? screen_at(w, &rip) : SCR_RUN;
		if (s == SCR_STOP) {
			break;
		}
		if (s == SCR_DONE && w->one) {
			set_stop(w, ASSIST_STOP_CAP, ASSIST_C_NONE); /* that was the one (gdb) */
			break;
		}
		if (s == SCR_DONE) {
			/* JIT mode: the next instruction is screened where it runs (the block hook,
			 * its stop point), not decoded here once more; a stop point there ends the
			 * run before it (rusty_demo: 45,000 completions, each screened the next) */
			screen_next = !w->jit;
			continue;
		}
		if (w->insns >= w->cap) {
			set_stop(w, ASSIST_STOP_CAP, ASSIST_C_NONE);
			break;
		}
		if (!run_once(w, &rip)) {
			break;
		}
		screen_next = w->why != W_RESTART;
	}
	return rip;
}

static void burst_in(struct worker *w);

/* Unicorn's TLB gets guest-physical addresses for the whole burst (also where it translates an
 * address to drop translated code), except while the ALU runs (assist_atomic.c). */
void burst(struct worker *w)
{
	ucfix_enter(w);
	burst_in(w);
	ucfix_leave();
}

static void burst_in(struct worker *w)
{
	struct assist_resp *o = &w->out;
	const struct assist_req *q = &w->in;
	uint64_t rip;

	memset(o, 0, ASSIST_RESP_SHORT);
	o->magic = ASSIST_PROTO_MAGIC;
	o->regs = q->regs;
	if ((q->flags & ASSIST_F_JIT) && !w->jit) {
		jit_switch(w);
	}
	w->ram_writes0 =
	    w->ram_writes != NULL ? __atomic_load_n(w->ram_writes, __ATOMIC_SEQ_CST) : 0;
	/* a new epoch (every block checked again), unless RAM is as the last burst left it; the
	 * hot blocks were taken with CR0.TS as it was: if it is set now, x87/SSE code must stop */
	if (!(q->flags & ASSIST_F_SAME_RAM) || !w->jit) {
		w->epoch++;
	} else if ((q->sregs.cr0 & CR0_TS) && !w->ts) {
		hot_drop_fpu(w);
	}
	w->insns = 0;
	w->one = (q->flags & ASSIST_F_ONE_INSN) != 0;
	w->cap = w->one ? 1 : q->max_insns;
	w->limit = w->jit && CHECK_EVERY < w->cap ? CHECK_EVERY : w->cap;
	w->irq_want = false;
	w->deadline0 = q->deadline;
	w->end_after = false;
	w->lvtt = q->lvtt;
	w->line_end = false;
	w->pauses = 0;
	w->sti_next = 0;
	w->block_rip = ~0ull;
	if (!mode_ok(&q->regs, &q->sregs)) {
		set_stop(w, ASSIST_STOP_UNSUPPORTED, ASSIST_C_OTHER);
		return;
	}
	if (shadow_sync(w, &q->sregs) != 0) {
		set_stop(w, ASSIST_STOP_UNSUPPORTED, ASSIST_C_OTHER); /* tables beyond our limits */
		return;
	}
	load_context(w, &q->sregs);
	o->xsave = q->xsave; /* the burst's copy: XSAVE and XRSTOR use it (assist_xsave.c) */
	w->xs_dirty = false;
	if (assist_state_to_uc(w->uc, &q->regs, &q->sregs, &q->xsave) != 0) {
		set_stop(w, ASSIST_STOP_ERROR, ASSIST_C_OTHER);
		return;
	}
	o->stop = ASSIST_STOP_CAP;
	rip = burst_loop(w);
	o->counts.insns = w->insns;
	if (assist_state_from_uc(w->uc, &o->regs, &o->xsave, &o->fpu_dirty) != 0) {
		set_stop(w, ASSIST_STOP_ERROR, ASSIST_C_OTHER);
		o->fpu_dirty = 0;
		o->regs = q->regs;
		return;
	}
	o->fpu_dirty |= w->xs_dirty ? 1u : 0u;
	o->regs.rip = rip; /* Unicorn's RIP is stale after an instruction completed here */
}
