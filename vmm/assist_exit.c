/* SPDX-License-Identifier: MIT */
/* assist_exit.c - the VMM's handler of KVM_EXIT_INTERNAL_ERROR/EMULATION (hermit-abi.md g):
 * the vCPU thread sends its state to its worker in the assist process, checks every reply
 * (assist_reply_check, common/assist_proto.c) before it uses anything of it, takes from it
 * only the general-purpose registers, RIP, the arithmetic flags and the x87/SSE state,
 * completes what the VMM must (assist_xsave.c), injects exceptions, and writes the state back.
 * Per burst: KVM_GET_XSAVE, one message each way, KVM_SET_XSAVE when x87/SSE state changed;
 * registers travel in the kvm_run area (KVM_CAP_SYNC_REGS); nothing is allocated. */
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "assist_vmm.h"
#include "gdb.h"
#include "pagewalk.h"

uint64_t assist_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool get_state(struct vcpu *v, struct assist_cpu *c)
{
	const struct assist_vm *a = v->vm->assist;

	if (v->vm->sync_regs) {
		c->req.regs = v->run->s.regs.regs;
	} else if (ioctl(v->fd, KVM_GET_REGS, &c->req.regs) < 0) {
		return false;
	}
	if (c->sregs_sync) {
		c->req.sregs = v->run->s.regs.sregs;
	} else if (ioctl(v->fd, KVM_GET_SREGS, &c->req.sregs) < 0) {
		return false;
	} else if (v->vm->sync_regs && (a->sync_mask & KVM_SYNC_X86_SREGS)) {
		/* this guest needs the assist: from the next exit on, sregs come for free */
		v->run->kvm_valid_regs |= KVM_SYNC_X86_SREGS;
		c->sregs_sync = true;
	}
	c->xsave_dirty = c->sregs_dirty = false;
	return ioctl(v->fd, KVM_GET_XSAVE, &c->req.xsave) == 0;
}

static bool put_state(struct vcpu *v, struct assist_cpu *c)
{
	if (v->vm->sync_regs) {
		v->run->s.regs.regs = c->req.regs;
		v->run->kvm_dirty_regs |= KVM_SYNC_X86_REGS;
	} else if (ioctl(v->fd, KVM_SET_REGS, &c->req.regs) < 0) {
		return false;
	}
	if (c->sregs_dirty && ioctl(v->fd, KVM_SET_SREGS, &c->req.sregs) < 0) {
		return false;
	}
	if (c->xsave_dirty) {
		c->st.xsave_sets++;
		return ioctl(v->fd, KVM_SET_XSAVE, &c->req.xsave) == 0;
	}
	return true;
}

/* JIT mode, the guest's XCR0 in the request: a burst that completed XRSTOR also changed the
 * components beyond x87 and SSE (AVX's upper halves): those of XCR0, at their standard offsets,
 * and their XSTATE_BV bits.  Returns those bits (a subset of XCR0: KVM takes them). */
static uint64_t take_ext(struct assist_cpu *c)
{
	uint32_t off[64], size[64];
	uint64_t ext = c->req.xcr0 & ~3ull;

	if (ext == 0 || xsave_layout(assist_xsave_geom(), ext, false, off, size) == 0) {
		return 0;
	}
	for (unsigned i = 2; i < 63; i++) {
		if (size[i] != 0) {
			memcpy((uint8_t *)c->req.xsave.region + off[i],
			       (const uint8_t *)c->resp.xsave.region + off[i], size[i]);
		}
	}
	return area_u64(&c->resp.xsave, XSAVE_HDR) & ext;
}

bool assist_take_reply(struct assist_cpu *c, uint64_t rflags_from)
{
	const struct assist_resp *r = &c->resp;
	uint64_t fl = c->req.regs.rflags;
	uint32_t mxcsr, mask = mxcsr_mask(&c->req.xsave);
	uint64_t bv;

	c->req.regs = r->regs;
	c->req.regs.rflags = (fl & ~rflags_from) | (r->regs.rflags & rflags_from);
	if (!r->fpu_dirty) {
		return false;
	}
	memcpy(&mxcsr, (const uint8_t *)r->xsave.region + 24, sizeof mxcsr);
	mxcsr &= mask; /* KVM_SET_XSAVE rejects reserved bits */
	memcpy(c->req.xsave.region, r->xsave.region, 24);
	memcpy((uint8_t *)c->req.xsave.region + 24, &mxcsr, sizeof mxcsr);
	memcpy((uint8_t *)c->req.xsave.region + 32, (const uint8_t *)r->xsave.region + 32,
	       416 - 32);
	bv = area_u64(&c->req.xsave, XSAVE_HDR) | 3;
	if (c->req.flags & ASSIST_F_XCR0) {
		bv |= take_ext(c);
	}
	area_put_u64(&c->req.xsave, XSAVE_HDR, bv);
	return true;
}

/* Reads a message of at most `len` bytes; -2 when the VM is stopping. */
static ssize_t read_msg(struct vcpu *v, int sock, void *buf, size_t len)
{
	ssize_t n;

	do {
		n = read(sock, buf, len);
	} while (n < 0 && errno == EINTR && !atomic_load(&v->vm->stopping));
	return n < 0 && errno == EINTR ? -2 : n;
}

/* One vCPU: the reply to a short burst comes within tens of microseconds, sooner than a
 * wake-up from another CPU would take here (40-90 us); look for it with poll(2) and no
 * timeout for up to ASSIST_SPIN_VMM_NS before read(2) sleeps (assist_proto.h). */
static void spin_for_reply(const struct vcpu *v, int sock)
{
	struct pollfd p = {.fd = sock, .events = POLLIN};
	uint64_t t0, limit;

	if (v->vm->ncpu != 1) {
		return;
	}
	/* with a NIC, short: its thread needs the other CPU */
	limit = v->vm->net != NULL ? ASSIST_SPIN_SHORT_NS : ASSIST_SPIN_VMM_NS;
	t0 = assist_now_ns();
	while (poll(&p, 1, 0) == 0 && assist_now_ns() - t0 < limit &&
	       !atomic_load(&v->vm->stopping)) {
		__builtin_ia32_pause();
	}
}

/* JIT mode: every worker first says it is ready (struct assist_ready). */
bool assist_read_ready(struct vcpu *v, struct assist_cpu *c)
{
	struct assist_vm *a = v->vm->assist;
	struct assist_ready r;
	ssize_t n;

	if (c->ready || !a->jit) {
		return true;
	}
	n = read_msg(v, c->sock, &r, sizeof r);
	if (n == (ssize_t)sizeof r && r.magic == ASSIST_READY_MAGIC && r.vcpu == v->id) {
		c->ready = true;
		atomic_store(&a->alive, true);
		return true;
	}
	if (n > 0) {
		assist_lost(v, c, "a bad ready message");
	}
	c->dead = true;
	return false;
}

/* The reply to the request just sent, checked (assist_reply_check) before anything of it is
 * used.  Returns 0, -1 (the assist is gone), -2 (the VM is stopping), or -3 (a reply that
 * breaks the protocol: *why says how). */
int assist_roundtrip(struct vcpu *v, struct assist_cpu *c, const char **why)
{
	struct assist_vm *a = v->vm->assist;
	ssize_t n;
	int cpu = sched_getcpu(); /* vDSO: no system call */

	c->req.magic = ASSIST_PROTO_MAGIC;
	c->req.flags |= v->vm->net != NULL ? ASSIST_F_SPIN_SHORT : 0;
	c->req.cpu = c->engaged ? ASSIST_CPU_ANY : cpu < 0 ? ~0u : (uint32_t)cpu;
	do {
		n = write(c->sock, &c->req, sizeof c->req);
	} while (n < 0 && errno == EINTR && !atomic_load(&v->vm->stopping));
	if (n != (ssize_t)sizeof c->req) {
		return n < 0 && errno == EINTR ? -2 : -1;
	}
	if (a->ctl != NULL && v->id < ASSIST_MAX_VCPUS) {
		__atomic_store_n(&a->ctl->sent[v->id], ++c->sent, __ATOMIC_RELEASE);
	}
	spin_for_reply(v, c->sock);
	n = read_msg(v, c->sock, &c->resp, sizeof c->resp);
	if (n == -2) {
		return -2;
	}
	if (n <= 0) {
		return -1; /* EOF or an error: the assist is gone */
	}
	atomic_store(&((struct assist_vm *)v->vm->assist)->alive, true);
	*why = assist_reply_check(&c->resp, (size_t)n);
	return *why == NULL ? 0 : -3;
}

bool assist_has_error_code(unsigned vector)
{
	return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21;
}

/* Queues an exception for the next KVM_RUN (RIP stays on the faulting instruction). */
static bool inject(struct vcpu *v, struct assist_cpu *c, const struct fault *f)
{
	struct kvm_vcpu_events ev;

	if (f->vector >= 32 || ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0) {
		return false;
	}
	if (f->vector == VEC_PF) {
		c->req.sregs.cr2 = f->cr2;
		c->sregs_dirty = true;
	}
	ev.exception.injected = 1;
	ev.exception.nr = (uint8_t)f->vector;
	ev.exception.has_error_code = f->has_err;
	ev.exception.error_code = f->err;
	ev.flags = 0; /* leave NMI pending, SIPI, interrupt shadow and SMM as they are */
	c->st.injected[f->vector]++;
	return ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) == 0;
}

/* A fault raised by the rejected instruction itself: only we can deliver it. */
void assist_fault_from_reply(const struct vm *vm, const struct assist_cpu *c, struct fault *f)
{
	unsigned vec = c->resp.insn.vector;
	gpa_t pa;
	uint64_t contig;

	*f = (struct fault){.vector = vec, .has_err = assist_has_error_code(vec)};
	if (vec == VEC_PF && !pw_canonical(c->resp.insn.ea)) {
		/* no page fault at a non-canonical address: the processor raises #GP(0) */
		*f = (struct fault){.vector = VEC_GP, .has_err = true};
	} else if (vec == VEC_PF) {
		bool present = gmem_gva_to_gpa(&vm->mem, c->req.sregs.cr3, gva(c->resp.insn.ea),
					       &pa, &contig) == 0;
		f->err = (present ? 1u : 0u) | (c->resp.insn.write ? 2u : 0u);
		f->cr2 = c->resp.insn.ea;
	}
}

/* Ends the VM with the usual emulation-failure diagnostic plus the assist's reason. */
bool assist_fail(struct vcpu *v, const struct assist_cpu *c, const char *why)
{
	const struct kvm_run *r = v->run;
	char bytes[3 * 16 + 1] = "";
	const uint8_t *b = c->resp.insn.bytes;
	unsigned n = c->resp.insn.bytes_len;

	if (r->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) {
		b = r->emulation_failure.insn_bytes;
		n = r->emulation_failure.insn_size;
	}
	for (unsigned i = 0; i < n && i < 16; i++) {
		snprintf(bytes + 3 * i, 4, " %02x", b[i]);
	}
	vm_finish(v->vm, ST_KVM_INTERNAL,
		  "KVM internal error on vCPU %u: suberror 1 (instruction emulation failed) at RIP "
		  "0x%llx%s%s; the instruction assist cannot complete it: %s",
		  v->id, (unsigned long long)c->req.regs.rip,
		  bytes[0] ? ", instruction bytes:" : "", bytes, why);
	return false;
}

const char *assist_unsupported_reason(unsigned cls)
{
	switch (cls) {
	case ASSIST_C_VEX:
		return "AVX (VEX/EVEX) instructions are not supported";
	case ASSIST_C_NONE:
	case ASSIST_C_OTHER:
		return "unsupported instruction or processor mode";
	default:
		return "an instruction only KVM may execute";
	}
}

void assist_account(struct assist_cpu *c)
{
	const struct assist_resp *r = &c->resp;

	c->st.rounds++;
	c->st.insns += r->counts.insns;
	c->st.completed += r->counts.completed;
	c->st.atomics += r->counts.atomics;
	c->st.rebuilds += r->counts.rebuilds;
	c->st.emu_ns += r->counts.ns;
	c->st.stops[r->stop]++;
	if ((r->stop == ASSIST_STOP_KVM || r->stop == ASSIST_STOP_UNSUPPORTED) &&
	    r->insn.cls < ASSIST_C_COUNT) {
		c->st.classes[r->insn.cls]++;
	}
}

/* After a VMM completion: true to send the next burst right away (cheaper than re-entering
 * KVM, which would only reject the next SSE instruction again). */
static bool complete_and_go_on(struct vcpu *v, struct assist_cpu *c, uint64_t *budget, bool *ok)
{
	struct fault f;

	switch (assist_complete(v, c, &f)) {
	case DONE_OK:
		c->req.regs.rip += c->resp.insn.len;
		break;
	case DONE_FAULT:
		*ok = inject(v, c, &f) || assist_fail(v, c, "cannot inject the exception");
		return false;
	case DONE_FAIL:
	default:
		*ok = assist_fail(v, c, "completing it failed");
		return false;
	}
	*budget -= c->resp.counts.insns < *budget ? c->resp.counts.insns : *budget;
	*ok = true;
	return *budget > 0;
}

/* Decides after one reply: returns true to send another burst, with *ok the result. */
static bool after_reply(struct vcpu *v, struct assist_cpu *c, bool stuck, uint64_t *budget,
			bool *ok)
{
	struct fault f = {.vector = VEC_NM};

	*ok = true;
	switch (c->resp.stop) {
	case ASSIST_STOP_VMM:
		return complete_and_go_on(v, c, budget, ok);
	case ASSIST_STOP_NM:
		*ok = inject(v, c, &f) || assist_fail(v, c, "cannot inject #NM");
		return false;
	case ASSIST_STOP_FAULT:
		/* precise: the state is the one before the faulting instruction */
		assist_fault_from_reply(v->vm, c, &f);
		*ok = (f.vector < 32 && f.vector != 8 && inject(v, c, &f)) ||
		      assist_fail(v, c, "cannot deliver its exception");
		return false;
	case ASSIST_STOP_PAGE:
		*ok = !stuck ||
		      assist_fail(v, c, "it touches a page-table frame or memory outside RAM");
		return false;
	case ASSIST_STOP_UNSUPPORTED:
		*ok = assist_fail(v, c, assist_unsupported_reason(c->resp.insn.cls));
		return false;
	case ASSIST_STOP_ERROR:
		*ok = assist_fail(v, c, "the assist process failed");
		return false;
	default:
		return false; /* cap reached, or KVM's turn */
	}
}

/* The assist is gone (why == NULL) or broke the protocol: the VM ends.  Gone before it ever
 * answered: it could not start (status 71, like a missing helper). */
bool assist_lost(struct vcpu *v, const struct assist_cpu *c, const char *why)
{
	const struct assist_vm *a = v->vm->assist;

	if (why == NULL && !atomic_load(&a->alive)) {
		vm_finish(v->vm, ST_OSERR,
			  "vCPU %u needs the instruction assist at RIP 0x%llx, but %s could not "
			  "start",
			  v->id, (unsigned long long)c->req.regs.rip, ASSIST_HELPER_NAME);
		return false;
	}
	vm_finish(v->vm, ST_KVM_INTERNAL,
		  "KVM internal error on vCPU %u: suberror 1 (instruction emulation failed) at RIP "
		  "0x%llx; the instruction assist process %s%s%s",
		  v->id, (unsigned long long)c->req.regs.rip,
		  why == NULL ? "is gone" : "broke the protocol (", why == NULL ? "" : why,
		  why == NULL ? "" : ")");
	return false;
}

static bool run_bursts(struct vcpu *v, struct assist_cpu *c)
{
	uint64_t budget = ASSIST_DEFAULT_CAP;
	bool ok = false, first = true, one = gdb_assist_one_insn(v); /* a debugger checks */
	const char *why = NULL;

	for (unsigned round = 0; round < MAX_ROUNDS; round++) {
		uint64_t t = assist_now_ns();
		int rc;
		c->req.flags = (first ? ASSIST_F_FIRST_FAILED : 0) | (one ? ASSIST_F_ONE_INSN : 0);
		c->req.max_insns = one ? 1 : (uint32_t)budget;
		rc = assist_roundtrip(v, c, &why);
		c->st.burst_ns += assist_now_ns() - t;
		if (rc == -2) {
			return false; /* the VM is stopping */
		}
		if (rc != 0) {
			return assist_lost(v, c, rc == -3 ? why : NULL);
		}
		assist_account(c);
		if (c->resp.sys.flags != 0) { /* only JIT mode completes system instructions */
			return assist_lost(v, c, "system state from a burst in exits mode");
		}
		/* stopped again where KVM gave up: nobody else can run that instruction */
		bool stuck =
		    first && c->resp.regs.rip == c->req.regs.rip && c->resp.counts.completed == 0;
		c->xsave_dirty |= assist_take_reply(c, ASSIST_RFLAGS_FROM_EMU);
		if (!after_reply(v, c, stuck, &budget, &ok) || one) {
			return ok; /* one instruction: the debugger looks before the next */
		}
		first = false;
	}
	return true;
}

/* A packager may ship the helper separately: without it, only a guest that needs it fails. */
static bool missing(struct vcpu *v)
{
	const struct kvm_run *r = v->run;
	uint64_t rip = v->vm->sync_regs ? r->s.regs.regs.rip : 0;

	vm_finish(v->vm, ST_OSERR,
		  "KVM cannot execute an instruction of the guest (vCPU %u, RIP 0x%llx) and the "
		  "instruction assist (%s) is not installed next to uhyve-sec",
		  v->id, (unsigned long long)rip, ASSIST_HELPER_NAME);
	return false;
}

bool assist_emulation_failure(struct vcpu *v)
{
	struct assist_cpu *c = v->assist;
	const struct assist_vm *a = v->vm->assist;
	uint64_t t0 = assist_now_ns();
	bool ok;

	if (c == NULL || a == NULL) {
		return false;
	}
	if (a->missing) {
		return missing(v);
	}
	if (c->sock < 0) {
		return false;
	}
	if (!c->ready && !c->dead && !assist_read_ready(v, c)) {
		return atomic_load(&v->vm->stopping) ? false : assist_lost(v, c, NULL);
	}
	if (c->dead) {
		return assist_lost(v, c, NULL);
	}
	if (!get_state(v, c)) {
		vm_finish(v->vm, ST_KVM_FAIL,
			  "instruction assist on vCPU %u: cannot read its state: %s", v->id,
			  strerror(errno));
		return false;
	}
	c->st.exits++;
	ok = run_bursts(v, c);
	if (ok && !put_state(v, c)) {
		vm_finish(v->vm, ST_KVM_FAIL,
			  "instruction assist on vCPU %u: cannot write its state: %s", v->id,
			  strerror(errno));
		ok = false;
	}
	c->st.total_ns += assist_now_ns() - t0;
	return ok;
}

static void sum_stats(const struct vm *vm, struct assist_stats *s)
{
	memset(s, 0, sizeof *s);
	for (unsigned i = 0; vm->vcpus != NULL && i < vm->ncpu; i++) {
		const struct assist_cpu *c = vm->vcpus[i].assist;
		const uint64_t *src = (const uint64_t *)(const void *)&c->st;
		uint64_t *dst = (uint64_t *)(void *)s;
		for (size_t k = 0; c != NULL && k < sizeof *s / sizeof(uint64_t); k++) {
			dst[k] += src[k]; /* every field is a uint64_t counter */
		}
	}
}

static void print_list(const char *title, const uint64_t *n, unsigned count,
		       const char *(*name)(unsigned))
{
	bool any = false;

	for (unsigned i = 0; i < count; i++) {
		if (n[i] != 0) {
			fprintf(stderr, "%s %s %llu", any ? "," : title, name(i),
				(unsigned long long)n[i]);
			any = true;
		}
	}
	if (any) {
		fprintf(stderr, "\n");
	}
}

static const char *vector_name(unsigned v)
{
	static const char *const n[32] = {"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD",
					  "#NM", "#DF", "09",  "#TS", "#NP", "#SS", "#GP",
					  "#PF", "15",	"#MF", "#AC", "#MC", "#XM"};
	return v < 32 && n[v] != NULL ? n[v] : "?";
}

void assist_print_stats(const struct vm *vm)
{
	struct assist_stats s;

	_Static_assert(sizeof s % sizeof(uint64_t) == 0, "assist_stats holds only counters");
	sum_stats(vm, &s);
	if (s.exits == 0 && s.rounds == 0 && s.engaged == 0) {
		return; /* never engaged (e.g. hardware virtualization) */
	}
	fprintf(
	    stderr,
	    "  instruction assist: %llu emulation exits, %llu bursts, %llu instructions emulated\n"
	    "    time in bursts %.3f ms (%.1f us per burst, %.3f ms of it in the assist process), "
	    "in the assist path %.3f ms\n",
	    (unsigned long long)s.exits, (unsigned long long)s.rounds, (unsigned long long)s.insns,
	    (double)s.burst_ns / 1e6, s.rounds ? (double)s.burst_ns / 1e3 / (double)s.rounds : 0.0,
	    (double)s.emu_ns / 1e6, (double)s.total_ns / 1e6);
	print_list("    completed in the VMM:", s.ops, ASSIST_OP_COUNT, assist_op_name);
	fprintf(stderr,
		"    completed in the assist: %llu (POPCNT/TZCNT/LZCNT; JIT mode also RDTSC, "
		"INVLPG, MFENCE, CR0.TS, the FS/GS bases, the TSC deadline, the x2APIC's LVT "
		"timer, EOI and ICR, #NM, IRETQ, XSAVE and XRSTOR); page-table changes followed: "
		"%llu; KVM_SET_XSAVE: %llu\n",
		(unsigned long long)s.completed, (unsigned long long)s.rebuilds,
		(unsigned long long)s.xsave_sets);
	print_list("    burst stops:", s.stops, ASSIST_STOP_COUNT, assist_stop_name);
	print_list("    stopped before:", s.classes, ASSIST_C_COUNT, assist_class_name);
	print_list("    injected:", s.injected, 32, vector_name);
	jit_print_stats(vm, &s);
}
