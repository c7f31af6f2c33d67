/* SPDX-License-Identifier: MIT */
/* assist_jit.c - JIT mode (docs/assist.md): bursts run all guest code they can, not only what
 * KVM rejected.  Its stop list is shorter (CLI, STI and POPF run here; IN and OUT go to the
 * VMM's hypercall table; HLT is the VMM's; RDTSC, PAUSE, MFENCE, RDMSR/WRMSR of the FS and GS
 * bases and changes of CR0.TS are completed here; locked instructions run here with one vCPU
 * and as host atomics with several, assist_atomic.c), and a burst also ends where an
 * interrupt is due and IF is 1: at the timer deadline the request names, when the VMM rang
 * this vCPU's doorbell, or when the request says one is pending.
 * Everything here works on guest-chosen bytes and registers; a wrong answer misleads only the
 * guest (docs/threat-model.md 3.9). */
#include <string.h>
#include <x86intrin.h>

#include "assist_internal.h"
#include "pagewalk.h"

static bool is_fence(ZydisMnemonic m)
{
	return m == ZYDIS_MNEMONIC_MFENCE;
}

/* Instructions exits mode leaves to KVM that JIT mode runs or completes itself. */
static struct verdict jit_named(struct verdict v, const ZydisDecodedInstruction *in)
{
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_CLI:
	case ZYDIS_MNEMONIC_STI:
	case ZYDIS_MNEMONIC_POPF:
	case ZYDIS_MNEMONIC_POPFQ:
		v.action = A_RUN; /* IF lives in the burst; the VMM takes it from the reply */
		break;
	case ZYDIS_MNEMONIC_RDTSC:
		v.action = A_SELF;
		break;
	case ZYDIS_MNEMONIC_PAUSE:
		v.action = A_RUN; /* a no-op in Unicorn; the block hook counts spin rounds */
		break;
	case ZYDIS_MNEMONIC_HLT:
		v.action = A_VMM;
		v.op = ASSIST_OP_HLT;
		break;
	default:
		break;
	}
	return v;
}

/* Reads of system state the request carries: MOV from CR0/CR2/CR3/CR4 or from a segment
 * register, into a general-purpose register. */
static bool system_read(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	ZydisRegisterClass c;

	if (in->operand_count_visible != 2 || ops[0].type != ZYDIS_OPERAND_TYPE_REGISTER ||
	    ops[1].type != ZYDIS_OPERAND_TYPE_REGISTER ||
	    ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, ops[0].reg.value) <
		ZYDIS_REGISTER_RAX ||
	    ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, ops[0].reg.value) >
		ZYDIS_REGISTER_R15) {
		return false;
	}
	c = ZydisRegisterGetClass(ops[1].reg.value);
	if (in->mnemonic != ZYDIS_MNEMONIC_MOV) {
		return false;
	}
	return c == ZYDIS_REGCLASS_SEGMENT || ops[1].reg.value == ZYDIS_REGISTER_CR0 ||
	       ops[1].reg.value == ZYDIS_REGISTER_CR2 || ops[1].reg.value == ZYDIS_REGISTER_CR3 ||
	       ops[1].reg.value == ZYDIS_REGISTER_CR4;
}

/* MOV to CR0 from a general-purpose register. */
static bool cr0_write(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	return in->mnemonic == ZYDIS_MNEMONIC_MOV && in->operand_count_visible == 2 &&
	       ops[0].type == ZYDIS_OPERAND_TYPE_REGISTER &&
	       ops[0].reg.value == ZYDIS_REGISTER_CR0 && ops[1].type == ZYDIS_OPERAND_TYPE_REGISTER;
}

/* With several vCPUs, whether a locked instruction runs in Unicorn, translated for a parallel
 * context (assist_ucfix.c): its atomic helpers are the host's locked instructions on guest RAM.
 * Not XCHG: Unicorn 2.0.1's helper for it (accel/tcg/atomic_template.h) is a plain load and
 * store, not QEMU's atomic exchange (found: the pio guest's spinlock, taken with XCHG, was
 * lost between its two vCPUs in 6 of 10 runs, which then spun for ever; test `xchg_lock`).
 * Not CMPXCHG8B/16B, which Unicorn compiles atomically only under the block's own
 * CF_PARALLEL, nor the two forms where Unicorn 2.0.1's result differs from the processor's:
 * a 32-bit CMPXCHG (it zero-extends EAX into RAX also where the comparison succeeds) and NEG
 * (its SF).  Those are host twins (assist_atomic.c), as everything is where CF_PARALLEL could
 * not be set. */
static bool lock_in_unicorn(const ZydisDecodedInstruction *in)
{
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_CMPXCHG8B:
	case ZYDIS_MNEMONIC_CMPXCHG16B:
	case ZYDIS_MNEMONIC_NEG:
	case ZYDIS_MNEMONIC_XCHG:
		return false;
	case ZYDIS_MNEMONIC_CMPXCHG:
		return in->operand_width != 32 && ucfix_parallel();
	default:
		return ucfix_parallel();
	}
}

struct verdict jit_verdict(const struct worker *w, struct verdict v,
			   const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	if (v.action == A_KVM && v.cls == ASSIST_C_SYSTEM &&
	    (in->mnemonic == ZYDIS_MNEMONIC_INVLPG || in->mnemonic == ZYDIS_MNEMONIC_RDMSR ||
	     in->mnemonic == ZYDIS_MNEMONIC_WRMSR || in->mnemonic == ZYDIS_MNEMONIC_CLTS ||
	     cr0_write(in, ops) || system_read(in, ops))) {
		v.action = A_SELF;
		return v;
	}
	if (v.action == A_KVM && in->mnemonic == ZYDIS_MNEMONIC_IRETQ &&
	    !(w->in.flags & ASSIST_F_NMI_BLOCKED)) {
		v.action = A_SELF; /* a return to the same segments (iret_complete) */
		return v;
	}
	if (v.cls == ASSIST_C_BITCOUNT && w->bitcounts_native &&
	    in->mnemonic != ZYDIS_MNEMONIC_POPCNT) {
		v.action = A_RUN; /* TZCNT/LZCNT: Unicorn's are bitcount()'s (the probe, warm_up) */
		return v;
	}
	if (v.action == A_RUN && w->smp && is_fence(in->mnemonic) && !ucfix_parallel()) {
		/* a host fence: Unicorn's code has one only when translated for a parallel
		 * context (assist_ucfix.c; TCG's barrier, a locked OR on the host stack) */
		v.action = A_SELF;
		return v;
	}
	if (v.action != A_KVM) {
		return v;
	}
	if (v.cls == ASSIST_C_LOCK) {
		/* one vCPU: nothing else touches RAM; several: Unicorn's atomic code (CF_PARALLEL)
		 * or the host twin */
		v.action = !w->smp || lock_in_unicorn(in) ? A_RUN : A_ATOMIC;
		return v;
	}
	if (v.cls == ASSIST_C_IO && in->meta.category == ZYDIS_CATEGORY_IO) {
		v.action = A_VMM; /* IN/OUT; string I/O stays KVM's */
		v.op = ASSIST_OP_PIO;
		return v;
	}
	return jit_named(v, in);
}

uint32_t insn_flags(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	struct verdict v = classify(in, ops);
	uint32_t f = v.fpu ? ASSIST_I_FPU : 0;

	for (unsigned i = 0; i < in->operand_count; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    (ops[i].actions & ZYDIS_OPERAND_ACTION_MASK_WRITE)) {
			f |= ASSIST_I_STORE; /* hidden operands too: PUSH, CALL, string stores */
		}
	}

	if (in->meta.branch_type != ZYDIS_BRANCH_TYPE_NONE ||
	    (in->attributes &
	     (ZYDIS_ATTRIB_HAS_REP | ZYDIS_ATTRIB_HAS_REPE | ZYDIS_ATTRIB_HAS_REPNE)) ||
	    v.cls == ASSIST_C_FAR || v.cls == ASSIST_C_IFLAG) {
		f |= ASSIST_I_BRANCH; /* IRET, INT, far transfers, REP: not simply the next one */
	}
	return f;
}

static bool if_set(struct worker *w)
{
	uint64_t fl = 0;

	uc_reg_read(w->uc, UC_X86_REG_EFLAGS, &fl);
	return (fl & RF_IF) != 0;
}

static bool irq_due(const struct worker *w)
{
	return (w->in.flags & ASSIST_F_IRQ) ||
	       __atomic_load_n(w->doorbell, __ATOMIC_RELAXED) != w->in.doorbell ||
	       (w->in.deadline != 0 && __rdtsc() >= w->in.deadline);
}

/* A block with a PAUSE: a spin loop looks at the interrupt sources every round, and after
 * PAUSE_SPIN rounds lets the host CPU go (like KVM's pause-loop exiting). */
bool spin_round(struct worker *w)
{
	w->limit = w->insns; /* at_limit looks at every block while spinning */
	if (++w->pauses < PAUSE_SPIN) {
		return false;
	}
	w->why = w->why == W_NONE ? W_PAUSE : w->why;
	uc_emu_stop(w->uc);
	return true;
}

bool at_limit(struct worker *w, uint32_t ninsn, bool shadow)
{
	if (w->insns + ninsn > w->cap) {
		w->why = w->why == W_NONE ? W_CAP : w->why;
		uc_emu_stop(w->uc);
		return true;
	}
	w->limit = w->insns + CHECK_EVERY < w->cap ? w->insns + CHECK_EVERY : w->cap;
	if (!w->jit) {
		return false;
	}
	w->irq_want = w->irq_want || irq_due(w);
	if (!w->irq_want) {
		return false;
	}
	if (shadow || !if_set(w)) {
		w->limit = w->insns; /* look again at the next block, until IF is 1 */
		return false;
	}
	w->why = w->why == W_NONE ? W_IRQ : w->why;
	uc_emu_stop(w->uc);
	return true;
}

static int set_rdx_rax(struct worker *w, uint64_t v)
{
	uint64_t lo = v & 0xffffffffull, hi = v >> 32;

	return uc_reg_write(w->uc, UC_X86_REG_RAX, &lo) == UC_ERR_OK &&
		       uc_reg_write(w->uc, UC_X86_REG_RDX, &hi) == UC_ERR_OK
		   ? 0
		   : -1;
}

/* A serializing instruction completed in the burst: from here the guest sees code others wrote
 * (cross-modifying code), so the blocks are checked again (a new epoch) if anything else can
 * have written RAM since the burst began: another vCPU, or (one vCPU) the VMM, whose count of
 * its writes in the control page moved. */
static void serialize(struct worker *w)
{
	if (w->smp || w->ram_writes == NULL ||
	    __atomic_load_n(w->ram_writes, __ATOMIC_SEQ_CST) != w->ram_writes0) {
		w->epoch++;
	}
}

/* The value of a system register the request carries. */
static uint64_t system_value(const struct worker *w, ZydisRegister r)
{
	const struct kvm_sregs *s = &w->in.sregs;

	switch (r) {
	case ZYDIS_REGISTER_CR0:
		return s->cr0;
	case ZYDIS_REGISTER_CR2:
		return s->cr2;
	case ZYDIS_REGISTER_CR3:
		return s->cr3;
	case ZYDIS_REGISTER_CR4:
		return s->cr4;
	case ZYDIS_REGISTER_CS:
		return s->cs.selector;
	case ZYDIS_REGISTER_DS:
		return s->ds.selector;
	case ZYDIS_REGISTER_ES:
		return s->es.selector;
	case ZYDIS_REGISTER_SS:
		return s->ss.selector;
	case ZYDIS_REGISTER_FS:
		return s->fs.selector;
	default:
		return s->gs.selector;
	}
}

/* MOV r, CRn / MOV r, Sreg: a 16-bit destination keeps its upper bits, wider ones are
 * zero-extended (processors since the Pentium Pro). */
static int system_read_complete(struct worker *w, const ZydisDecodedOperand *ops)
{
	ZydisRegister big =
	    ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, ops[0].reg.value);
	int id = gpr_uc_id((unsigned)(big - ZYDIS_REGISTER_RAX));
	uint64_t v = system_value(w, ops[1].reg.value), old = 0;

	if (ops[0].size == 16) {
		if (uc_reg_read(w->uc, id, &old) != UC_ERR_OK) {
			return -1;
		}
		v = (old & ~0xffffull) | (v & 0xffff);
	}
	return uc_reg_write(w->uc, id, &v) == UC_ERR_OK ? 0 : -1;
}

/* RDMSR of the FS or GS base (a task switch reads the one it saves): the bases the burst runs
 * with, which only a stop-list instruction changes.  Any other MSR is KVM's (1). */
static int rdmsr_complete(struct worker *w)
{
	uint64_t rcx = 0, base = 0;

	if (uc_reg_read(w->uc, UC_X86_REG_RCX, &rcx) != UC_ERR_OK) {
		return -1;
	}
	if ((uint32_t)rcx != MSR_FS_BASE && (uint32_t)rcx != MSR_GS_BASE) {
		return 1;
	}
	if (uc_reg_read(w->uc,
			(uint32_t)rcx == MSR_FS_BASE ? UC_X86_REG_FS_BASE : UC_X86_REG_GS_BASE,
			&base) != UC_ERR_OK) {
		return -1;
	}
	return set_rdx_rax(w, base);
}

/* WRMSR IA32_TSC_DEADLINE (the guest arms or disarms its timer, each time it schedules): the
 * burst goes on and ends at the new deadline (host TSC: the guest's minus KVM's offset), the
 * reply carries it (assist_sys) and the VMM hands it to KVM, whose LAPIC timer it is.  Not
 * serializing (SDM: WRMSR to IA32_TSC_DEADLINE and the x2APIC MSRs is the exception). */
static int deadline_complete(struct worker *w, uint64_t v)
{
	uint64_t host = v - (uint64_t)w->in.tsc_offset;

	if ((w->in.flags & ASSIST_F_X2APIC) &&
	    (w->lvtt & ASSIST_LVTT_MODE) != ASSIST_LVTT_DEADLINE) {
		return 0; /* the LAPIC ignores it outside TSC-deadline mode (SDM 11.5.4.1) */
	}
	w->in.deadline = v == 0 ? 0 : host != 0 ? host : 1; /* 0 means none */
	w->out.sys.tsc_deadline = v;
	w->out.sys.flags |= ASSIST_SYS_TSC_DEADLINE;
	return 0;
}

/* WRMSR of the x2APIC LVT timer register: Hermit masks its timer each time it schedules with
 * no timer pending (1,010 times in rusty_demo, each a KVM step before), and sets TSC-deadline
 * mode before it arms one.  The burst goes on; the reply carries the last value, and whether
 * the register left TSC-deadline mode on the way, which disarmed the timer (assist_sys: the
 * VMM replays that in order, KVM_SET_MSRS).  Only with the LAPIC in x2APIC mode (the request
 * says so; otherwise the WRMSR faults, in KVM), a value assist_lvtt_ok accepts, and no
 * interrupt due: neither the timer KVM has armed nor the burst's own, no kick, none owed
 * (a timer that fired before this write stays KVM's to deliver).  A timer that fires after it
 * but before the VMM replays it is dropped by that write, as the guest's own write, which came
 * first, would have.  Not serializing (SDM 9.3). */
static int lvtt_complete(struct worker *w, uint64_t v)
{
	uint64_t now = __rdtsc();

	if (!(w->in.flags & ASSIST_F_X2APIC) || !assist_lvtt_ok(v) || irq_due(w) ||
	    (w->deadline0 != 0 && now >= w->deadline0)) {
		return 1;
	}
	if ((w->lvtt & ASSIST_LVTT_MODE) == ASSIST_LVTT_DEADLINE &&
	    (v & ASSIST_LVTT_MODE) != ASSIST_LVTT_DEADLINE) {
		w->out.sys.flags |= ASSIST_SYS_LVTT_RESET; /* the timer is disarmed */
		w->out.sys.flags &= ~ASSIST_SYS_TSC_DEADLINE;
		w->in.deadline = 0;
	}
	w->lvtt = (uint32_t)v;
	w->out.sys.lvtt = (uint32_t)v;
	w->out.sys.flags |= ASSIST_SYS_LVTT;
	return 0;
}

/* WRMSR of the x2APIC EOI register (the end of an interrupt handler), value 0, once per burst:
 * the burst goes on; the reply carries it and the VMM writes it (assist_sys).  Nothing of the
 * guest can tell it came later: a new interrupt rings the doorbell or is the timer, and ends
 * the burst where IF is 1, after which the VMM writes the EOI before KVM delivers.  Only a
 * vector KVM already held in IRR (ASSIST_F_IRR) may be uncovered by the EOI itself: then the
 * burst ends where IF is 1 again (after the handler's IRETQ), like a burst for which an
 * interrupt is due.  Before, a KVM step each (1,014 in rusty_demo with two vCPUs), and then a
 * stop at IRETQ and a step each. */
static int eoi_complete(struct worker *w, uint64_t v)
{
	if (!(w->in.flags & ASSIST_F_X2APIC) || v != 0 || (w->out.sys.flags & ASSIST_SYS_EOI)) {
		return 1;
	}
	w->out.sys.flags |= ASSIST_SYS_EOI;
	if (w->in.flags & ASSIST_F_IRR) {
		w->irq_want = true;
		w->limit = w->insns; /* at_limit looks at the next block */
	}
	return 0;
}

/* WRMSR of the x2APIC ICR with a fixed interrupt (Hermit wakes another vCPU: 1,008 in
 * rusty_demo with two vCPUs, a KVM step each before): the burst ends right after it, the reply
 * carries the value, and the VMM writes it (KVM sends the IPI) and rings the other vCPUs'
 * doorbells (assist_sys).  Any other value (INIT, SIPI, NMI, reserved bits) is KVM's. */
static int icr_complete(struct worker *w, uint64_t v)
{
	if (!(w->in.flags & ASSIST_F_X2APIC) || !assist_icr_ok(v)) {
		return 1;
	}
	w->out.sys.icr = v;
	w->out.sys.flags |= ASSIST_SYS_ICR;
	w->end_after = true;
	return 0;
}

/* WRMSR of the FS or GS base (a task switch loads the next task's): the burst goes on with it,
 * the reply carries it (assist_sys).  IA32_TSC_DEADLINE: deadline_complete; the x2APIC's LVT
 * timer, EOI and ICR: lvtt_complete, eoi_complete, icr_complete.  Any other MSR,
 * or an address that is not canonical (#GP), is KVM's (1).  This WRMSR serializes
 * (serialize()). */
static int wrmsr_complete(struct worker *w)
{
	uint64_t rcx = 0, rax = 0, rdx = 0, v;
	bool fs;

	if (uc_reg_read(w->uc, UC_X86_REG_RCX, &rcx) != UC_ERR_OK ||
	    uc_reg_read(w->uc, UC_X86_REG_RAX, &rax) != UC_ERR_OK ||
	    uc_reg_read(w->uc, UC_X86_REG_RDX, &rdx) != UC_ERR_OK) {
		return -1;
	}
	v = (rdx << 32) | (rax & 0xffffffffull);
	if ((uint32_t)rcx == MSR_TSC_DEADLINE) {
		return deadline_complete(w, v);
	}
	if ((uint32_t)rcx == MSR_X2APIC_LVTT) {
		return lvtt_complete(w, v);
	}
	if ((uint32_t)rcx == MSR_X2APIC_EOI) {
		return eoi_complete(w, v);
	}
	if ((uint32_t)rcx == MSR_X2APIC_ICR) {
		return icr_complete(w, v);
	}
	if (((uint32_t)rcx != MSR_FS_BASE && (uint32_t)rcx != MSR_GS_BASE) || !pw_canonical(v)) {
		return 1;
	}
	fs = (uint32_t)rcx == MSR_FS_BASE;
	if (uc_reg_write(w->uc, fs ? UC_X86_REG_FS_BASE : UC_X86_REG_GS_BASE, &v) != UC_ERR_OK) {
		return -1;
	}
	if (fs) {
		w->in.sregs.fs.base = w->out.sys.fs_base = v;
		w->out.sys.flags |= ASSIST_SYS_FS_BASE;
	} else {
		w->in.sregs.gs.base = w->out.sys.gs_base = v;
		w->out.sys.flags |= ASSIST_SYS_GS_BASE;
	}
	serialize(w);
	return 0;
}

/* MOV to CR0 or CLTS that changes CR0.TS alone (Hermit's lazy FPU switch): CR0.TS stays out of
 * Unicorn (load_context), so only the burst's view of it changes: from here the block hook
 * stops before x87/SSE code, or no longer.  Any other change is KVM's (1).  Serializing
 * (serialize()). */
static int cr0_complete(struct worker *w, const ZydisDecodedInstruction *in,
			const ZydisDecodedOperand *ops)
{
	uint64_t cr0 = w->in.sregs.cr0, v = cr0 & ~CR0_TS;

	if (in->mnemonic == ZYDIS_MNEMONIC_MOV) {
		ZydisRegister big =
		    ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, ops[1].reg.value);
		if (big < ZYDIS_REGISTER_RAX || big > ZYDIS_REGISTER_R15) {
			return 1;
		}
		if (uc_reg_read(w->uc, gpr_uc_id((unsigned)(big - ZYDIS_REGISTER_RAX)), &v) !=
		    UC_ERR_OK) {
			return -1;
		}
	}
	if (((v ^ cr0) & ~CR0_TS) != 0) {
		return 1;
	}
	w->in.sregs.cr0 = w->out.sys.cr0 = v;
	w->out.sys.flags |= ASSIST_SYS_CR0;
	if ((v & CR0_TS) && !w->ts) {
		/* the hot blocks were taken with TS clear: x87/SSE code among them must stop now
		 * (Hermit's task switch, twice per Laplace iteration of rusty_demo) */
		hot_drop_fpu(w);
	}
	w->ts = (v & CR0_TS) != 0;
	serialize(w);
	return 0;
}

/* IRETQ that returns to the code and stack segments it runs with and changes no flag the
 * reply does not carry (Hermit's return from an exception or interrupt handler to the
 * interrupted kernel code): RIP, RSP and RFLAGS from the frame, read once.  The segment
 * registers stay as they are: the processor would reload the same selectors from the GDT,
 * whose entries Hermit never changes (and whose change would mislead only the guest).  Any
 * other IRET (another selector or privilege level, a flag such as IOPL, a frame that cannot be
 * read, a non-canonical RIP) is KVM's (1), as is every IRET while NMIs are blocked
 * (ASSIST_F_NMI_BLOCKED: IRET unblocks them, in KVM).  TF and RF in the frame are dropped: KVM
 * leaves them in the frames it pushes while it single-steps (JIT mode's steps; measured:
 * 0x306 and 0x10206 where the guest ran with 0x206), and after KVM's own IRET it hides TF, so
 * a burst never saw either. */
static int iret_complete(struct worker *w)
{
	uint64_t rsp = 0, fl = 0, f[5]; /* RIP, CS, RFLAGS, RSP, SS */

	if (uc_reg_read(w->uc, UC_X86_REG_RSP, &rsp) != UC_ERR_OK ||
	    uc_reg_read(w->uc, UC_X86_REG_RFLAGS, &fl) != UC_ERR_OK) {
		return -1;
	}
	if (read_virt(w, rsp, f, sizeof f) != 0) {
		return 1;
	}
	f[2] &= ~(RF_TF | RF_RF); /* KVM's, not the guest's: see above */
	if ((uint16_t)f[1] != w->in.sregs.cs.selector ||
	    (uint16_t)f[4] != w->in.sregs.ss.selector || ((f[2] ^ fl) & ~ASSIST_RFLAGS_FROM_JIT) ||
	    !pw_canonical(f[0])) {
		return 1;
	}
	if (uc_reg_write(w->uc, UC_X86_REG_RFLAGS, &f[2]) != UC_ERR_OK ||
	    uc_reg_write(w->uc, UC_X86_REG_RSP, &f[3]) != UC_ERR_OK) {
		return -1;
	}
	w->jump = f[0];
	w->jumped = true;
	serialize(w); /* IRET serializes */
	return 0;
}

/* #NM of an x87/SSE instruction under CR0.TS (Hermit's lazy FPU switch, twice per thread
 * switch: 2,017 times in rusty_demo, each a KVM run before), delivered here as the processor
 * delivers an exception in 64-bit mode to its own privilege level (SDM 6.14.2), the mirror
 * image of iret_complete: the IDT's gate for vector 7, read once; the stack (the gate's IST
 * stack if it names one: Hermit's does) aligned down to 16 bytes; SS, RSP, RFLAGS (with RF, as
 * for any fault), CS and the faulting RIP pushed; TF, RF, NT (and for an interrupt gate IF)
 * cleared; RIP the handler's.  Only the simple case: CPL 0, a present 64-bit interrupt or trap
 * gate to the code segment the burst runs in, a canonical handler, a frame on RAM pages that
 * are mapped writable and hold no page table and no translated code.  Anything else is KVM's, as
 * before (1).  The frame and the gate are the guest's: a wrong one misleads only the guest. */
#define VEC_NM	  7u
#define GATE_INTR 0xeu
#define GATE_TRAP 0xfu

/* The stack of IST entry `ist` (1-7): the 64-bit TSS's field at 0x24 + 8 * (ist - 1) (SDM
 * 7.7), read once; TR must hold a present 64-bit TSS whose limit covers it.  Without a change of
 * privilege level SS stays as it is (SDM 6.14.4). */
static int ist_stack(const struct worker *w, unsigned ist, uint64_t *rsp)
{
	const struct kvm_segment *tr = &w->in.sregs.tr;
	uint64_t at = 0x24u + 8u * (uint64_t)(ist - 1), v;

	if (!tr->present || (tr->type != 9 && tr->type != 11) || at + 7 > tr->limit ||
	    read_virt(w, tr->base + at, &v, sizeof v) != 0 || !pw_canonical(v)) {
		return 1;
	}
	*rsp = v;
	return 0;
}

int nm_deliver(struct worker *w, uint64_t *rip)
{
	const struct kvm_segment *cs = &w->in.sregs.cs;
	const struct kvm_dtable *idt = &w->in.sregs.idt;
	uint8_t g[16];
	uint64_t rsp = 0, fl = 0, handler, top, f[5];
	unsigned type;

	if ((uint64_t)VEC_NM * 16 + 15 > idt->limit ||
	    read_virt(w, idt->base + (uint64_t)VEC_NM * 16, g, sizeof g) != 0) {
		return 1;
	}
	handler = assist_gate_offset(g);
	type = g[5] & 0x1fu; /* the type and the S bit (0: a system descriptor) */
	if (!(g[5] & 0x80u) || (type != GATE_INTR && type != GATE_TRAP) ||
	    (uint16_t)(g[2] | g[3] << 8) != cs->selector || (cs->selector & 3u) != 0 ||
	    cs->dpl != 0 || !cs->l || !pw_canonical(handler)) {
		return 1;
	}
	if (uc_reg_read(w->uc, UC_X86_REG_RSP, &rsp) != UC_ERR_OK ||
	    uc_reg_read(w->uc, UC_X86_REG_RFLAGS, &fl) != UC_ERR_OK) {
		return -1;
	}
	top = rsp;
	if ((g[4] & 7u) != 0 && ist_stack(w, g[4] & 7u, &top) != 0) {
		return 1;
	}
	top &= ~0xfull;
	f[0] = *rip;
	f[1] = cs->selector;
	f[2] = fl | RF_RF;
	f[3] = rsp;
	f[4] = w->in.sregs.ss.selector;
	if (top < sizeof f || !pw_canonical(top - sizeof f) ||
	    !virt_area_ok(w, top - sizeof f, sizeof f, true)) {
		return 1;
	}
	write_virt(w, top - sizeof f, f, sizeof f);
	fl &= ~(RF_TF | RF_RF | RF_NT | RF_VM | (type == GATE_INTR ? RF_IF : 0));
	rsp = top - sizeof f;
	if (uc_reg_write(w->uc, UC_X86_REG_RFLAGS, &fl) != UC_ERR_OK ||
	    uc_reg_write(w->uc, UC_X86_REG_RSP, &rsp) != UC_ERR_OK) {
		return -1;
	}
	*rip = handler;
	return 0;
}

int jit_complete(struct worker *w, const ZydisDecodedInstruction *in,
		 const ZydisDecodedOperand *ops)
{
	if (in->mnemonic == ZYDIS_MNEMONIC_CLTS || cr0_write(in, ops)) {
		return cr0_complete(w, in, ops);
	}
	switch (in->mnemonic) {
	case ZYDIS_MNEMONIC_IRETQ:
		return iret_complete(w);
	case ZYDIS_MNEMONIC_RDMSR:
		return rdmsr_complete(w);
	case ZYDIS_MNEMONIC_WRMSR:
		return wrmsr_complete(w);
	case ZYDIS_MNEMONIC_INVLPG:
		/* the guest changed its tables: follow them before the next instruction (KVM
		 * emulates CPL-0 code with software walks of the guest's tables: it keeps no
		 * translation of its own to invalidate) */
		w->resync = true;
		return 0;
	case ZYDIS_MNEMONIC_MOV:
		return system_read_complete(w, ops);
	case ZYDIS_MNEMONIC_RDTSC:
		/* the guest's TSC: the host's plus KVM's offset (the VMM read it) */
		return set_rdx_rax(w, __rdtsc() + (uint64_t)w->in.tsc_offset);
	case ZYDIS_MNEMONIC_MFENCE:
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		return 0;
	default:
		return -1;
	}
}

bool jit_pio(struct worker *w, const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	struct assist_insn *ii = &w->out.insn;
	bool have_port = false;
	uint64_t dx;

	ii->io_out = in->mnemonic == ZYDIS_MNEMONIC_OUT;
	ii->io_size = 0;
	for (unsigned i = 0; i < in->operand_count; i++) {
		const ZydisDecodedOperand *o = &ops[i];
		if (o->type == ZYDIS_OPERAND_TYPE_IMMEDIATE) {
			ii->port = (uint16_t)o->imm.value.u;
			have_port = true;
		} else if (o->type == ZYDIS_OPERAND_TYPE_REGISTER &&
			   o->reg.value == ZYDIS_REGISTER_DX) {
			if (uc_reg_read(w->uc, UC_X86_REG_RDX, &dx) != UC_ERR_OK) {
				return false;
			}
			ii->port = (uint16_t)dx;
			have_port = true;
		} else if (o->type == ZYDIS_OPERAND_TYPE_REGISTER &&
			   (o->reg.value == ZYDIS_REGISTER_AL ||
			    o->reg.value == ZYDIS_REGISTER_AX ||
			    o->reg.value == ZYDIS_REGISTER_EAX)) {
			ii->io_size = (uint8_t)(o->size / 8);
		}
	}
	return have_port && (ii->io_size == 1 || ii->io_size == 2 || ii->io_size == 4);
}

void jit_switch(struct worker *w)
{
	for (unsigned i = 0; i < BLOCKS; i++) {
		w->blocks[i].addr = ~0ull; /* decoded under the other rules */
		w->blocks[i].size = 0;
	}
	exits_clear(w);
	w->jit = true;
	w->valid = false; /* rebuild the shadow with the recursive slot */
}

bool jit_pio_absent(struct worker *w)
{
	const struct assist_insn *ii = &w->out.insn;
	uint64_t rax;

	if (w->in.absent_len == 0 || ii->port < w->in.absent_port ||
	    (uint32_t)(ii->port - w->in.absent_port) + ii->io_size > w->in.absent_len) {
		return false;
	}
	if (ii->io_out) {
		return true;
	}
	if (uc_reg_read(w->uc, UC_X86_REG_RAX, &rax) != UC_ERR_OK) {
		return false;
	}
	/* IN EAX zero-extends into RAX; IN AL and IN AX keep the rest */
	rax = ii->io_size == 4 ? 0xffffffffull : rax | (ii->io_size == 2 ? 0xffffull : 0xffull);
	return uc_reg_write(w->uc, UC_X86_REG_RAX, &rax) == UC_ERR_OK;
}

bool jit_pio_batch(struct worker *w)
{
	struct assist_insn *ii = &w->out.insn;
	uint64_t rax;

	if (!ii->io_out || w->out.npio >= ASSIST_PIO_BATCH ||
	    uc_reg_read(w->uc, UC_X86_REG_RAX, &rax) != UC_ERR_OK) {
		return false;
	}
	for (unsigned i = 0; i < ASSIST_PIO_PORTS; i++) {
		const struct assist_pio *b = &w->in.batch[i];
		if (b->size != 0 && b->port == ii->port && b->size == ii->io_size) {
			w->out.pio[w->out.npio++] = (struct assist_pio){
			    .port = ii->port,
			    .size = ii->io_size,
			    .value = (uint32_t)(rax & (ii->io_size == 4	  ? 0xffffffffull
						       : ii->io_size == 2 ? 0xffffull
									  : 0xffull))};
			/* several vCPUs: a byte '\n' ends the burst right after it, so a line
			 * written under the guest's lock is out before that lock is let go, ahead
			 * of any line another vCPU writes next (test pio-smp-order) */
			w->line_end = w->smp && ii->io_size == 1 && (rax & 0xff) == '\n';
			return true;
		}
	}
	return false;
}
