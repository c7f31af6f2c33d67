/* SPDX-License-Identifier: MIT */
/* assist_jit.c - JIT mode, the default where KVM emulates CPL-0 guest code (docs/assist.md):
 * guest code runs in bursts in the assist process, and KVM executes, one instruction at a time
 * (single-step), only what the assist leaves to it; port I/O goes straight from a burst to the
 * hypercall table (the same dispatcher as a KVM exit), HLT waits here (assist_irq.c).
 *
 * A vCPU starts in KVM as usual; it engages JIT mode at its first exit after its worker said it
 * is ready (the main thread kicks vCPUs that do not exit by themselves).  From then on the VMM
 * holds the vCPU's state (c->req: registers, system registers, XSAVE area) and hands it to KVM
 * for each step through the kvm_run area.  Replies are checked (assist_reply_check) and only
 * registers, RIP, the flags of ASSIST_RFLAGS_FROM_JIT and x87/SSE state are taken from them;
 * system registers never come from the assist (docs/threat-model.md 3.9). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "assist_vmm.h"
#include "uhs_slice.h"
#include "uhyve_abi.h"

#define SYNC_ALL (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS)

/* KVM without hardware virtualization: the host processor has neither VMX nor SVM, so KVM
 * (kvm_pvm here) runs CPL-0 guest code in its instruction emulator (hermit-abi.md g).  With
 * VMX or SVM JIT mode never engages. */
static bool software_kvm(void)
{
	uint32_t a, b, c, d, max;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (c & (1u << 5)) {
		return false; /* VMX */
	}
	__asm__ volatile("cpuid" : "=a"(max), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000u), "c"(0));
	if (max >= 0x80000001u) {
		__asm__ volatile("cpuid"
				 : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
				 : "a"(0x80000001u), "c"(0));
		if (c & (1u << 2)) {
			return false; /* SVM */
		}
	}
	return true;
}

bool assist_jit_wanted(const struct vm *vm)
{
	const struct assist_vm *a = vm->assist;

	/* the in-kernel PIT (whose interrupts do not wake a vCPU in a burst or HLT yet) only when
	 * asked for (--assist=jit); with several vCPUs an AP starts once the boot vCPU first
	 * waits (jit_hold_ap); never under a debugger, whose stub parks vCPUs, steps and sets
	 * breakpoints through KVM (docs/gdb.md): the classic assist path obeys it */
	return vm->cfg->assist_jit && vm->dbg == NULL &&
	       (!vm->cfg->pit || vm->cfg->assist_jit_pit) && vm->sync_regs &&
	       (a->sync_mask & SYNC_ALL) == SYNC_ALL && software_kvm();
}

/* KVM's TSC offset of a vCPU: exact where KVM has the attribute, else bracketed around a read
 * of IA32_TSC (a few microseconds off). */
static int64_t tsc_offset(const struct vcpu *v)
{
	uint64_t off = 0, t0, t1;
	struct kvm_device_attr at = {
	    .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET, .addr = (uintptr_t)&off};
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h = {.nmsrs = 1}, .e = {.index = MSR_IA32_TSC}};

	if (ioctl(v->fd, KVM_GET_DEVICE_ATTR, &at) == 0) {
		return (int64_t)off;
	}
	t0 = jit_rdtsc();
	if (ioctl(v->fd, KVM_GET_MSRS, &m) != 1) {
		return 0;
	}
	t1 = jit_rdtsc();
	return (int64_t)(m.e.data - (t0 + (t1 - t0) / 2));
}

int assist_jit_setup(struct vm *vm)
{
	struct assist_vm *a = vm->assist;
	int khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);

	a->tsc_khz = khz > 0 ? (uint32_t)khz : 1000000;
	for (unsigned i = 0; i < vm->ncpu; i++) {
		struct assist_cpu *c = vm->vcpus[i].assist;
		c->tsc_offset = tsc_offset(&vm->vcpus[i]);
	}
	/* HLT waits end at the guest's timer deadline: 1 us of slack, not the default 50 */
	prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
	uhs_short_slice(); /* inherited by the vCPU threads, created later */
	return 0;
}

bool assist_jit_ready(struct vcpu *v)
{
	struct assist_cpu *c = v->assist;
	const struct assist_vm *a = v->vm->assist;
	struct pollfd p;

	if (c == NULL || a == NULL || !a->jit || c->dead || c->engaged) {
		return false;
	}
	if (!c->ready) {
		p = (struct pollfd){.fd = c->sock, .events = POLLIN};
		if (poll(&p, 1, 0) <= 0 || !assist_read_ready(v, c)) {
			return false;
		}
	}
	return true;
}

void assist_jit_await(struct vcpu *v, int ms)
{
	struct assist_cpu *c = v->assist;
	const struct assist_vm *a = v->vm->assist;
	struct pollfd p;

	if (c == NULL || a == NULL || !a->jit || c->dead || c->engaged) {
		return;
	}
	p = (struct pollfd){.fd = c->sock, .events = POLLIN};
	if (!c->ready && poll(&p, 1, ms) > 0) {
		(void)assist_read_ready(v, c); /* a bad message ends JIT mode there (c->dead) */
	}
	/* else: not ready in time, or a kick (the VM is stopping): KVM starts, and the vCPU
	 * engages at a later exit as before */
	if (v->id != 0 && !c->dead) {
		jit_hold_ap(v, c);
	}
}

bool assist_jit_pending(const struct vm *vm)
{
	const struct assist_vm *a = vm->assist;

	for (unsigned i = 0; a != NULL && a->jit && i < vm->ncpu; i++) {
		const struct assist_cpu *c = vm->vcpus[i].assist;
		if (c != NULL && !c->dead) {
			return true; /* to engage, or to end its free runs (assist_jit_tick) */
		}
	}
	return false;
}

/* What KVM has not applied yet goes in before engage() reads KVM's state: KVM_GET_* return
 * KVM's copy, not the run area's.  (1) Registers left in the run area for the next KVM_RUN
 * (kvm_dirty_regs): the classic assist path (assist_exit.c put_state) writes them there after
 * the burst that handled the exit JIT mode engages at; reading KVM's stale copy instead re-ran
 * that burst from its first instruction on RAM it had already changed (gdbtest: the stack was
 * no longer the burst's, and the first printf's hypercall was lost).  (2) An IN or an MMIO read
 * KVM completes only at its next entry: a KVM_RUN with immediate_exit completes it and runs
 * nothing (as assist_step.c run_once), so the burst does not execute the IN a second time. */
static bool settle(struct vcpu *v)
{
	struct kvm_run *r = v->run;
	int rc;

	if ((r->kvm_dirty_regs & KVM_SYNC_X86_REGS) &&
	    ioctl(v->fd, KVM_SET_REGS, &r->s.regs.regs) < 0) {
		return false;
	}
	r->kvm_dirty_regs &= ~(uint64_t)KVM_SYNC_X86_REGS;
	for (;;) {
		r->immediate_exit = 1;
		rc = ioctl(v->fd, KVM_RUN, 0);
		r->immediate_exit = 0;
		if (rc < 0) {
			return errno == EINTR || errno == EAGAIN;
		}
		if (!vcpu_handle_exit(v)) { /* completing it needed another exit */
			return false;
		}
	}
}

/* The state KVM left, once: from now on it lives here and travels through the run area. */
static bool engage(struct vcpu *v, struct assist_cpu *c)
{
	struct kvm_guest_debug dbg = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP};

	/* ioctls, not the run area: it is filled only by an exit, and this may be the first
	 * entry */
	if (!settle(v) || ioctl(v->fd, KVM_GET_REGS, &c->req.regs) < 0 ||
	    ioctl(v->fd, KVM_GET_SREGS, &c->req.sregs) < 0 ||
	    ioctl(v->fd, KVM_GET_XSAVE, &c->req.xsave) < 0 ||
	    ioctl(v->fd, KVM_GET_VCPU_EVENTS, &v->run->s.regs.events) < 0 ||
	    ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0 || !jit_read_deadline(v, c)) {
		vm_finish(v->vm, ST_KVM_FAIL, "JIT mode on vCPU %u: %s", v->id, strerror(errno));
		return false;
	}
	v->run->kvm_valid_regs |= SYNC_ALL;
	c->sregs_sync = true;
	c->engaged = true;
	c->handled = __atomic_load_n(&c->kicks, __ATOMIC_SEQ_CST);
	c->owed = true; /* whatever KVM holds is delivered at the first chance */
	c->kvm_stored = true; /* KVM ran the guest until now: no burst's RAM to keep */
	c->st.engaged = 1;
	return true;
}

/* Ports KVM serves in the kernel, without an exit: with the full in-kernel irqchip (--pit, or
 * a KVM without the split one: kvm.c) its PIC and ELCR, with --pit its i8254 (kvm_opts.c).
 * From a burst these must reach KVM too, by a step: the hypercall table knows none of them
 * (pio-pit ended with "unknown I/O port 0x43", status 76, whenever JIT mode had engaged). */
static bool kvm_port(const struct vm *vm, uint16_t port)
{
	bool pic = port == 0x20 || port == 0x21 || port == 0xa0 || port == 0xa1 || port == 0x4d0 ||
		   port == 0x4d1;
	bool pit = port >= 0x40 && port <= 0x43;

	return (!vm->split_irqchip && pic) || (vm->cfg->pit && pit);
}

/* IN or OUT of a burst, through the hypercall table: AL, AX or EAX in RAX. */
static bool pio(struct vcpu *v, struct assist_cpu *c)
{
	const struct assist_insn *in = &c->resp.insn;
	__u64 *rax = &c->req.regs.rax;
	uint8_t data[4] = {0};

	memcpy(data, rax, in->io_size);
	c->st.pio++;
	v->exits[KVM_EXIT_IO]++; /* an exit to the VMM, as from KVM (--stats) */
	if (!vcpu_port_io(v, in->port, in->io_out, in->io_size, data, c->req.regs.rdi)) {
		return false;
	}
	if (!in->io_out) {
		uint32_t val = 0;
		memcpy(&val, data, in->io_size);
		if (in->io_size == 4) {
			*rax = val; /* a 32-bit destination zero-extends */
		} else {
			uint64_t mask = in->io_size == 1 ? 0xffull : 0xffffull;
			*rax = (*rax & ~mask) | val;
		}
	}
	c->req.regs.rip += in->len;
	return true;
}

/* An instruction the VMM completes: false when the VM stops. */
static bool vmm_op(struct vcpu *v, struct assist_cpu *c)
{
	struct fault f;

	/* KVM's port: a step of the very instruction the reply describes */
	if (c->resp.insn.op == ASSIST_OP_PIO && kvm_port(v->vm, c->resp.insn.port)) {
		return jit_step(v, c);
	}
	/* the reply describes this instruction, not the next one: a step after it must not
	 * take its flags (an HLT in the shadow of STI kept the next step from delivering) */
	c->resp.stop = ASSIST_STOP_CAP;
	switch (c->resp.insn.op) {
	case ASSIST_OP_PIO:
		return pio(v, c);
	case ASSIST_OP_HLT:
		c->req.regs.rip += c->resp.insn.len;
		jit_release_aps(v);
		jit_halt(v, c);
		return true;
	case ASSIST_OP_PAUSE: /* RIP is where the spin loop goes on */
		jit_release_aps(v);
		jit_pause(v, c);
		return true;
	default:
		break;
	}
	switch (assist_complete(v, c, &f)) {
	case DONE_OK:
		c->req.regs.rip += c->resp.insn.len;
		c->fpu_stale |= c->xsave_dirty;
		c->xsave_dirty = false;
		return true;
	case DONE_FAULT:
		jit_inject(v, c, &f);
		return jit_step(v, c);
	case DONE_FAIL:
	default:
		return assist_fail(v, c, "completing it failed");
	}
}

/* The port writes KVM batches without an exit (pio_ring.c) are batched by bursts too: a
 * byte of the v1 UART, any write to the PCI address latch.  Neither has a result nor can be
 * a protocol violation, so handling them a little later changes nothing for the guest, with
 * one vCPU.  With several, a burst's writes reached the console only when it ended, after a
 * line another vCPU wrote later under the guest's lock (test pio-smp-order: lines out of order):
 * there a byte '\n' ends the burst right after it (assist_jit.c jit_pio_batch), so a line is
 * out before the lock it was written under is let go. */
static const struct assist_pio batched[ASSIST_PIO_PORTS] = {
    {.port = UH_V1_UART, .size = 1},
    {.port = UH_PCI_CONFIG_ADDRESS, .size = 4},
};

/* The batched writes of a reply, in order, before its stop; only ports we asked for. */
static bool batch(struct vcpu *v, struct assist_cpu *c)
{
	for (uint32_t i = 0; i < c->resp.npio; i++) {
		struct assist_pio p = c->resp.pio[i];
		uint8_t data[4];
		bool ok = false;
		for (unsigned k = 0; k < ASSIST_PIO_PORTS; k++) {
			ok |= c->req.batch[k].size != 0 && p.port == c->req.batch[k].port &&
			      p.size == c->req.batch[k].size;
		}
		if (!ok) {
			return assist_lost(v, c, "a batched write to a port not batched");
		}
		memcpy(data, &p.value, sizeof data);
		c->st.pio++;
		if (!vcpu_port_io(v, p.port, true, p.size, data, c->req.regs.rdi)) {
			return false;
		}
	}
	return true;
}

/* An instruction that faults (#NM under CR0.TS, #PF, ...): KVM runs it first, freely (see
 * jit_step_free), and raises the exception itself; only where KVM cannot emulate it is the
 * exception injected (kvm_pvm emulates the instruction at RIP before it delivers an injected
 * exception where it can: MOVAPS under CR0.TS then returned past itself). */
static bool fault_step(struct vcpu *v, struct assist_cpu *c, const struct fault *f)
{
	uint64_t rip = c->req.regs.rip;

	if (!jit_step_free(v, c, f->vector)) {
		return false;
	}
	if (!c->first_failed || c->req.regs.rip != rip) {
		return true;
	}
	c->first_failed = false;
	jit_inject(v, c, f);
	return jit_step(v, c);
}

/* What the reply asks for next: false when the VM stops. */
static bool dispatch(struct vcpu *v, struct assist_cpu *c, bool first, uint64_t rip0)
{
	struct fault f = {.vector = VEC_NM};

	if (c->resp.npio > 0 && !batch(v, c)) {
		return false;
	}
	switch (c->resp.stop) {
	case ASSIST_STOP_CAP:
		return true;
	case ASSIST_STOP_VMM:
		return vmm_op(v, c);
	case ASSIST_STOP_NM:
		return fault_step(v, c, &f);
	case ASSIST_STOP_FAULT:
		assist_fault_from_reply(v->vm, c, &f);
		if (f.vector >= 32 || f.vector == 8) {
			return assist_fail(v, c, "cannot deliver its exception");
		}
		return fault_step(v, c, &f);
	case ASSIST_STOP_PAGE:
		if (first && c->req.regs.rip == rip0) {
			return assist_fail(v, c,
					   "it touches a page-table frame or memory outside RAM");
		}
		return jit_step(v, c);
	case ASSIST_STOP_UNSUPPORTED:
		if (first) {
			return assist_fail(v, c, assist_unsupported_reason(c->resp.insn.cls));
		}
		return jit_step(v, c); /* not for a burst (a mode it does not run): KVM's */
	case ASSIST_STOP_ERROR:
		return assist_fail(v, c, "the assist process failed");
	default: /* KVM, IRQ */
		return jit_step(v, c);
	}
}

/* System state the burst changed (CR0.TS, the FS and GS bases, the x2APIC's EOI, ICR and LVT
 * timer, the TSC deadline: assist_sys), checked against the request: CR0 may differ in TS
 * alone, the x2APIC only if the request allowed it (the bases are canonical and the ICR and LVT
 * values ones the burst may complete: assist_reply_check; any deadline is one the guest could
 * write).  KVM gets the registers with the next step (sregs_dirty), the x2APIC writes and then
 * the deadline now (its LAPIC runs meanwhile). */
static bool take_sys(struct vcpu *v, struct assist_cpu *c)
{
	const struct assist_sys *s = &c->resp.sys;
	const char *why = assist_sys_check(s, c->req.sregs.cr0, c->req.flags), *what = "";

	if (why != NULL) {
		return assist_lost(v, c, why);
	}
	if (s->flags & ASSIST_SYS_CR0) {
		c->req.sregs.cr0 = s->cr0;
	}
	if (s->flags & ASSIST_SYS_FS_BASE) {
		c->req.sregs.fs.base = s->fs_base;
	}
	if (s->flags & ASSIST_SYS_GS_BASE) {
		c->req.sregs.gs.base = s->gs_base;
	}
	c->sregs_dirty |=
	    (s->flags & (ASSIST_SYS_CR0 | ASSIST_SYS_FS_BASE | ASSIST_SYS_GS_BASE)) != 0;
	if (!jit_write_sys(v, c, s, &what)) {
		vm_finish(v->vm, ST_KVM_FAIL, "JIT mode on vCPU %u: cannot write %s", v->id, what);
		return false;
	}
	return true;
}

/* One vCPU: whether guest RAM is as the last burst left it (nothing wrote it since but that
 * burst's own instance): no write by the VMM (any thread: gmem counts them) and no KVM_RUN that
 * may have stored (jit_step; engage counts as one).  Read before the request goes: a write
 * after it shows at the next. */
static bool same_ram(const struct vcpu *v, struct assist_cpu *c)
{
	uint64_t g = gmem_write_gen();
	bool same = v->vm->ncpu == 1 && c->ram_gen == g && !c->kvm_stored;

	c->ram_gen = g;
	c->kvm_stored = false;
	return same;
}

/* One burst and what follows it: false when the VM stops. */
static bool burst(struct vcpu *v, struct assist_cpu *c)
{
	const char *why = NULL;
	bool first = c->first_failed, absent;
	uint64_t rip0 = c->req.regs.rip, t = assist_now_ns();
	int rc;

	c->req.flags = ASSIST_F_JIT | (first ? ASSIST_F_FIRST_FAILED : 0) |
		       (v->run->s.regs.events.nmi.masked ? ASSIST_F_NMI_BLOCKED : 0);
	if (!c->xcr0_valid) {
		c->st.xcr0_reads++;
		if (assist_get_xcr0(v, &c->xcr0) != 0) {
			vm_finish(v->vm, ST_KVM_FAIL, "JIT mode on vCPU %u: KVM_GET_XCRS: %s",
				  v->id, strerror(errno));
			return false;
		}
		c->xcr0_valid = true;
	}
	c->req.flags |= ASSIST_F_XCR0;
	c->req.xcr0 = c->xcr0;
	if (!c->lapic_valid && !jit_read_lapic(v, c)) {
		vm_finish(v->vm, ST_KVM_FAIL, "JIT mode on vCPU %u: cannot read the LAPIC", v->id);
		return false;
	}
	c->req.flags |= c->x2apic ? ASSIST_F_X2APIC : 0;
	c->req.lvtt = c->lvtt;
	/* an unmasked LVT timer in one-shot or periodic mode raises vectors nobody announces (its
	 * count is KVM's): an EOI ends the burst then, as KVM's next one may be waiting */
	c->req.flags |=
	    c->x2apic && (c->irr || ((c->lvtt & ASSIST_LVTT_MASKED) == 0 &&
				     (c->lvtt & ASSIST_LVTT_MODE) != ASSIST_LVTT_DEADLINE))
		? ASSIST_F_IRR
		: 0;
	if (same_ram(v, c)) {
		c->req.flags |= ASSIST_F_SAME_RAM;
	}
	c->req.max_insns = ASSIST_JIT_CAP;
	c->req.tsc_offset = c->tsc_offset;
	memcpy(c->req.batch, batched, sizeof batched);
	/* no PCI device: the configuration data port answers nothing (platform.c) */
	absent = pci_bus_empty(&v->vm->pci);
	c->req.absent_port = absent ? UH_PCI_CONFIG_DATA : 0;
	c->req.absent_len = absent ? 4 : 0;
	jit_irq_request(v->vm, v, c);
	rc = assist_roundtrip(v, c, &why);
	c->st.burst_ns += assist_now_ns() - t;
	if (rc == -2) {
		return false; /* the VM is stopping */
	}
	if (rc != 0) {
		return assist_lost(v, c, rc == -3 ? why : NULL);
	}
	assist_account(c);
	if (!take_sys(v, c)) {
		return false;
	}
	c->first_failed = false;
	c->fpu_stale |= assist_take_reply(c, ASSIST_RFLAGS_FROM_JIT);
	return dispatch(v, c, first, rip0);
}

bool assist_jit_run(struct vcpu *v)
{
	struct assist_cpu *c = v->assist;

	if (!engage(v, c)) {
		return false;
	}
	while (!atomic_load(&v->vm->stopping)) {
		bool ok;
		if (jit_irq_due(c, jit_rdtsc()) && (c->req.regs.rflags & RFLAGS_IF)) {
			/* KVM delivers it at the entry of a single step, which ends in the
			 * handler: its code then runs in bursts.  Not a free run: on kvm_pvm a
			 * free run of CPL-0 code leaves KVM's emulator only at its next exit or
			 * the host's scheduler tick (a kick is not seen sooner: measured 2.9-4.7
			 * ms), and the handler, the guest's scheduler and the woken task all ran
			 * there at KVM's emulator speed (rusty_demo's 100 ms sleep overshot its 5
			 * ms limit about one run in four; docs/assist.md). */
			ok = jit_step(v, c);
		} else {
			ok = burst(v, c);
		}
		if (!ok) {
			return false;
		}
	}
	return true;
}

void assist_jit_tick(struct vm *vm)
{
	uint64_t now = assist_now_ns();

	for (unsigned i = 0; i < vm->ncpu; i++) {
		struct assist_cpu *c = vm->vcpus[i].assist;
		uint64_t since = c != NULL ? __atomic_load_n(&c->free_since, __ATOMIC_SEQ_CST) : 0;
		if (c != NULL && !c->dead &&
		    (!__atomic_load_n(&c->engaged, __ATOMIC_SEQ_CST) ||
		     (since != 0 && now - since > FREE_RUN_NS))) {
			vcpu_kick(&vm->vcpus[i]); /* engage, or back from a long free run */
		}
	}
}
