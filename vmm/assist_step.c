/* SPDX-License-Identifier: MIT */
/* assist_step.c - JIT mode: one guest instruction in KVM.  KVM single-steps (KVM_GUESTDBG_
 * SINGLESTEP, set when the vCPU engaged): the state goes in and comes back through the kvm_run
 * area (registers, system registers, events), so a step costs one KVM_RUN.  KVM delivers any
 * pending interrupt at entry when IF is 1 (and executes the first instruction of its handler),
 * so a step is also how interrupts reach the guest.  Exits on the way (port I/O, MMIO of an
 * instruction KVM ran, a triple fault) go to the same handler as without JIT mode.
 *
 * x87/SSE state: the VMM's copy (c->req.xsave) is the newest while bursts run; KVM gets it
 * (KVM_SET_XSAVE) only before a step in which KVM may use it: an instruction that uses it, an
 * exception or interrupt delivered (whose handler's first instruction runs in KVM); and it is
 * read back (KVM_GET_XSAVE) only after such a step. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "assist_vmm.h"

void jit_inject(struct vcpu *v, struct assist_cpu *c, const struct fault *f)
{
	struct kvm_vcpu_events *ev = &v->run->s.regs.events;

	if (f->vector == VEC_PF) {
		c->req.sregs.cr2 = f->cr2;
		c->sregs_dirty = true;
	}
	ev->exception.injected = 1;
	ev->exception.nr = (uint8_t)f->vector;
	ev->exception.has_error_code = f->has_err;
	ev->exception.error_code = f->err;
	ev->flags = 0; /* NMI, SIPI, shadow and SMM as they are */
	c->events_dirty = true;
	c->st.injected[f->vector & 31]++;
}

/* What the instruction at RIP is, as far as the step must know: the reply's description when
 * the step follows a burst that stopped there, else nothing (assume the worst). */
struct step_insn {
	bool known, fpu, branch, shadow, store;
	uint32_t len, cls;
};

static struct step_insn describe(const struct assist_cpu *c, bool after_burst)
{
	const struct assist_insn *in = &c->resp.insn;
	bool known = after_burst && in->len > 0 && c->resp.stop != ASSIST_STOP_FAULT &&
		     c->resp.stop != ASSIST_STOP_NM && !c->first_failed;

	if (!known) {
		return (struct step_insn){.fpu = true, .branch = true};
	}
	return (struct step_insn){.known = true,
				  .fpu = (in->flags & ASSIST_I_FPU) != 0,
				  .branch = (in->flags & ASSIST_I_BRANCH) != 0,
				  .shadow = (in->flags & ASSIST_I_SHADOW) != 0,
				  .store = (in->flags & ASSIST_I_STORE) != 0,
				  .len = in->len,
				  .cls = in->cls};
}

/* The state into the run area; KVM_SET_XSAVE first where KVM may use x87/SSE state. */
static bool put(struct vcpu *v, struct assist_cpu *c, const struct step_insn *si, bool deliver)
{
	struct kvm_run *r = v->run;

	/* a branch (IRET above all) may take KVM one instruction further: measured, the step of
	 * an IRET back to a MOVAPS also ran the MOVAPS */
	if (c->fpu_stale && (si->fpu || si->branch || deliver)) {
		if (ioctl(v->fd, KVM_SET_XSAVE, &c->req.xsave) < 0) {
			return false;
		}
		c->fpu_stale = false;
		c->st.fpu_sets++;
	}
	r->s.regs.regs = c->req.regs;
	r->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	if (c->sregs_dirty) {
		r->s.regs.sregs = c->req.sregs;
		r->kvm_dirty_regs |= KVM_SYNC_X86_SREGS;
		c->sregs_dirty = false;
	}
	if (si->shadow && !c->events_dirty) {
		r->s.regs.events.interrupt.shadow = KVM_X86_SHADOW_INT_STI;
		r->s.regs.events.flags = KVM_VCPUEVENT_VALID_SHADOW;
		c->events_dirty = true;
	}
	if (c->events_dirty) {
		r->kvm_dirty_regs |= KVM_SYNC_X86_EVENTS;
		c->events_dirty = false;
	}
	return true;
}

/* KVM_RUN once; the exits a step can end with.  False when the VM stops. */
static bool run_once(struct vcpu *v, struct assist_cpu *c)
{
	struct kvm_run *r = v->run;
	uint64_t t0 = uhs_now_ns();
	int rc = ioctl(v->fd, KVM_RUN, 0);

	v->guest_ns += uhs_now_ns() - t0;
	c->st.step_ns += uhs_now_ns() - t0;
	if (rc < 0) {
		if (errno == EINTR || errno == EAGAIN) {
			return true; /* a kick: nothing ran, or the VM is stopping */
		}
		vm_finish(v->vm, ST_KVM_FAIL, "KVM_RUN on vCPU %u: %s", v->id, strerror(errno));
		return false;
	}
	if (r->exit_reason == KVM_EXIT_DEBUG) {
		v->exits[KVM_EXIT_DEBUG]++;
		return true;
	}
	c->st.step_exits++;
	if (r->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
	    r->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		v->exits[KVM_EXIT_INTERNAL_ERROR]++;
		c->first_failed = true; /* KVM cannot run it: the next burst does */
		return true;
	}
	if (!vcpu_handle_exit(v)) {
		return false;
	}
	if (r->exit_reason == KVM_EXIT_IO || r->exit_reason == KVM_EXIT_MMIO) {
		/* KVM completes the access (IN, an MMIO read) at the next entry: do just that */
		r->immediate_exit = 1;
		rc = ioctl(v->fd, KVM_RUN, 0);
		r->immediate_exit = 0;
		if (rc < 0 && errno != EINTR && errno != EAGAIN) {
			vm_finish(v->vm, ST_KVM_FAIL, "KVM_RUN on vCPU %u: %s", v->id,
				  strerror(errno));
			return false;
		}
	}
	return true;
}

/* Whether KVM may have changed XCR0 in this step.  Only XSETBV does, and a single step runs at
 * most one instruction (the one stepped, or the first of a handler KVM delivered to), which a
 * completed XSETBV leaves right before the new RIP: unless the three bytes there are its 0F 01
 * D1 (its prefixes come before them), it did not run.  The bytes are read once through gmem's
 * checked accessor; they are the guest's and can only cause an extra KVM_GET_XCRS.  Anything
 * else may have: a free run that was not clean, another exit, bytes that cannot be read.
 * rusty_demo -c 2: KVM_GET_XCRS 1,183 -> 4-6; each vCPU ioctl costs 6-9 us here. */
static bool xcr0_may_change(struct vcpu *v)
{
	const struct kvm_run *r = v->run;
	uint64_t rip = r->s.regs.regs.rip;
	struct gva_fault gf;
	uint8_t b[3];

	if (r->exit_reason != KVM_EXIT_DEBUG || rip < 3 ||
	    gmem_gva_copy_from(&v->vm->mem, r->s.regs.sregs.cr3, b, gva(rip - 3), sizeof b, &gf) !=
		0) {
		return true;
	}
	return b[0] == 0x0f && b[1] == 0x01 && b[2] == 0xd1;
}

/* After the step: KVM's x87/SSE state is read back if KVM may have changed it; XCR0 is read
 * again before the next burst if KVM may have run an XSETBV (xcr0_may_change; never in a
 * clean free run). */
static bool get(struct vcpu *v, struct assist_cpu *c, const struct step_insn *si, bool deliver,
		uint64_t rip)
{
	struct kvm_run *r = v->run;
	bool sequential = si->known && !si->branch && r->s.regs.regs.rip == rip + si->len;

	c->clean =
	    c->free_bp != 0 && r->exit_reason == KVM_EXIT_DEBUG && r->s.regs.regs.rip == c->free_bp;
	c->xcr0_valid &= c->clean || (c->free_bp == 0 && !xcr0_may_change(v));
	c->lapic_valid &= c->clean;
	/* RAM may have changed under the bursts, unless KVM ran one known instruction that does
	 * not store and delivered nothing, or a clean free run (only the exception frame) */
	c->kvm_stored |= !c->clean && (!si->known || si->store || deliver);
	c->req.regs = r->s.regs.regs;
	c->req.sregs = r->s.regs.sregs;
	if (c->clean) {
		return true; /* the faulting instruction did not run: KVM's x87/SSE state is ours */
	}
	if (si->fpu || si->branch || (deliver && !sequential)) {
		if (ioctl(v->fd, KVM_GET_XSAVE, &c->req.xsave) < 0) {
			return false;
		}
		c->fpu_stale = false;
		c->st.fpu_gets++;
	}
	return true;
}

bool jit_step(struct vcpu *v, struct assist_cpu *c)
{
	struct step_insn si = describe(c, c->resp.stop != ASSIST_STOP_CAP);
	const struct kvm_vcpu_events *ev = &v->run->s.regs.events;
	bool inject = c->events_dirty && ev->exception.injected;
	bool deliver = inject || ((c->req.regs.rflags & RFLAGS_IF) && !si.shadow);
	uint64_t rip = c->req.regs.rip;
	struct step_ctx s = {.cls = si.known ? si.cls : ASSIST_C_NONE};

	jit_irq_before(v, c, &s);
	s.if_on = s.if_on && !si.shadow && !inject && c->free_bp == 0; /* BLOCKIRQ: none */
	if (!put(v, c, &si, deliver)) {
		vm_finish(v->vm, ST_KVM_FAIL, "JIT mode on vCPU %u: KVM_SET_XSAVE: %s", v->id,
			  strerror(errno));
		return false;
	}
	c->st.steps++;
	if (!run_once(v, c)) {
		return false;
	}
	if (!get(v, c, &si, deliver, rip)) {
		vm_finish(v->vm, ST_KVM_FAIL, "JIT mode on vCPU %u: KVM_GET_XSAVE: %s", v->id,
			  strerror(errno));
		return false;
	}
	c->resp.stop = ASSIST_STOP_CAP; /* the reply is used up */
	return jit_irq_after(v, c, &s);
}

/* Where the guest's handler of `vector` begins: its IDT entry, a present 64-bit gate, read
 * once from guest memory (gmem's checked accessor); 0 where there is none.  The value is the
 * guest's to choose: it only says where a free run ends (jit_step_free). */
static uint64_t handler_of(struct vcpu *v, const struct assist_cpu *c, uint32_t vector)
{
	const struct kvm_dtable *idt = &c->req.sregs.idt;
	struct gva_fault gf;
	uint8_t g[16];

	if (vector >= 32 || (uint64_t)vector * 16 + 15 > idt->limit ||
	    gmem_gva_copy_from(&v->vm->mem, c->req.sregs.cr3, g,
			       gva(idt->base + (uint64_t)vector * 16), sizeof g, &gf) != 0 ||
	    !(g[5] & 0x80)) {
		return 0;
	}
	return assist_gate_offset(g);
}

/* A step without single-stepping: KVM runs until its next exit (an instruction it cannot
 * emulate, I/O), handling HLT and interrupts itself, as without JIT mode.  Used for an
 * instruction that faults with `vector` (kvm_pvm pushes the address of the next instruction
 * when an instruction it emulates raises an exception while single-stepping: measured with
 * MOVAPS under CR0.TS, whose #NM handler then returned past it).  An execution breakpoint
 * (DR0 through KVM_SET_GUEST_DEBUG, not the guest's own) on the first instruction of that
 * vector's handler ends the run once KVM has delivered the exception, so the handler runs in
 * bursts rather than in KVM's emulator (rusty_demo: time in KVM 248 -> 119-149 ms, its
 * Laplace part 8-17% faster; docs/assist.md).  Not for interrupts: those come by a single step
 * (assist_jit_run).  KVM's emulator is slow and the guest may not leave it for long (integer
 * code, HLT): the main thread kicks a free run after about FREE_RUN_NS (assist_jit_tick),
 * which kvm_pvm notices only at the host's next scheduler tick. */
bool jit_step_free(struct vcpu *v, struct assist_cpu *c, uint32_t vector)
{
	struct kvm_guest_debug dbg = {.control = 0};
	uint64_t h = handler_of(v, c, vector);
	bool ok;

	if (h != 0) {
		dbg.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
		dbg.arch.debugreg[0] = h;
		dbg.arch.debugreg[7] = DR7_G0 | DR7_GE;
	}
	if (h != 0 && ((const struct assist_vm *)v->vm->assist)->blockirq) {
		/* no interrupt in the run: it ends at the handler having run nothing else, so
		 * what it could have changed is known (c->clean) */
		dbg.control |= KVM_GUESTDBG_BLOCKIRQ;
		c->free_bp = h;
	}
	if (ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0) {
		vm_finish(v->vm, ST_KVM_FAIL, "JIT mode on vCPU %u: %s", v->id, strerror(errno));
		return false;
	}
	c->st.free_steps++;
	c->free_run = true;
	__atomic_store_n(&c->free_since, assist_now_ns(), __ATOMIC_SEQ_CST);
	ok = jit_step(v, c);
	__atomic_store_n(&c->free_since, 0, __ATOMIC_SEQ_CST);
	c->free_run = false;
	c->free_bp = 0;
	c->clean = false;
	dbg = (struct kvm_guest_debug){.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP};
	if (ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0) {
		vm_finish(v->vm, ST_KVM_FAIL, "JIT mode on vCPU %u: %s", v->id, strerror(errno));
		return false;
	}
	return ok;
}
