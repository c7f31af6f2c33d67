/* SPDX-License-Identifier: MIT */
/* assist_vmm.h - what the VMM side of the instruction assist shares between its files
 * (vmm/ only; the public interface is assist.h):
 *   assist_spawn.c  the helper process: fork before confinement, exec at the first request,
 *                   the VMM's extra ioctls for its allowlist, start and end
 *   assist_exit.c   the exit handler: KVM state, the burst loop, the check of every reply
 *                   (assist_reply_check), exceptions, --stats
 *   assist_xsave.c  XGETBV, XSAVE/XSAVEOPT/XSAVEC, XRSTOR and RDTSCP completed against KVM's
 *                   state, guest memory through gmem's guest-virtual range accessors
 *   assist_jit.c    JIT mode (docs/assist.md): detection, engaging a vCPU, its burst loop,
 *                   port I/O through the hypercall table
 *   assist_step.c   JIT mode: one instruction in KVM (single-step), interrupt and exception
 *                   delivery, keeping KVM's x87/SSE state coherent
 *   assist_irq.c    JIT mode: when an interrupt is due (TSC deadline, doorbells), HLT,
 *                   delivery latency, the JIT part of --stats
 * The assist process is hostile (docs/threat-model.md 3.9): nothing of a reply is used before
 * assist_reply_check() accepted it, and then only registers, RIP, arithmetic flags, x87/SSE
 * state, the operation and a linear address that gmem checks.
 */
#ifndef UHS_ASSIST_VMM_H
#define UHS_ASSIST_VMM_H

#include <string.h>

#include "assist.h"
#include "assist_proto.h"
#include "vm.h"
#include "xsave_area.h"

#define MAX_ROUNDS	 8 /* VMM completions chained into one exit */
#define MSR_IA32_TSC	 0x10
#define MSR_TSC_AUX	 0xc0000103
#define VEC_NM		 7
#define VEC_GP		 13
#define VEC_PF		 14
#define VEC_UD		 6
#define RFLAGS_IF	 0x200ull
#define MSR_TSC_DEADLINE 0x6e0
#define MSR_X2APIC_EOI	 0x80b
#define MSR_X2APIC_ICR	 0x830
#define MSR_X2APIC_SELF	 0x83f
#define MSR_X2APIC_LVTT	 0x832
#define MSR_X2APIC_IRR	 0x820 /* to 0x827 */
#define MSR_APIC_BASE	 0x1b
#define APIC_BASE_X2APIC (1ull << 10) /* EXTD */
#define FREE_RUN_NS	 1000000ull /* a free run longer than this is ended by a kick */
#define LAT_FINE	 1000 /* delivery-latency buckets of 1 us up to 1 ms */
#define LAT_COARSE	 1000 /* then of 100 us up to 100 ms, then one for the rest */
#define LAT_BUCKETS	 (LAT_FINE + LAT_COARSE + 1)

struct assist_stats {
	uint64_t exits; /* emulation failures handled */
	uint64_t rounds; /* round trips to the assist process */
	uint64_t insns; /* instructions run in the emulator */
	uint64_t completed; /* POPCNT/TZCNT/LZCNT completed in the assist process */
	uint64_t rebuilds; /* guest page-table changes the assist followed */
	uint64_t xsave_sets;
	uint64_t ops[ASSIST_OP_COUNT];
	uint64_t stops[ASSIST_STOP_COUNT];
	uint64_t classes[ASSIST_C_COUNT];
	uint64_t injected[32];
	uint64_t burst_ns, total_ns, emu_ns;
	/* JIT mode */
	uint64_t engaged; /* vCPUs whose code the JIT ran */
	uint64_t steps, step_ns; /* single instructions in KVM */
	uint64_t free_steps; /* of those, runs until KVM's next exit (faulting instructions) */
	uint64_t step_exits; /* of those, exits other than the single-step one (I/O, MMIO...) */
	uint64_t pio; /* IN/OUT completed through the hypercall table */
	uint64_t halts, halt_ns; /* HLT: waits for an interrupt */
	uint64_t pauses; /* PAUSE loops that let the host CPU go */
	uint64_t ap_hold_ns; /* an AP held before its first instruction (jit_hold_ap) */
	uint64_t deadline_reads, deadline_writes, fpu_sets, fpu_gets, xcr0_reads;
	uint64_t lapic_reads; /* KVM_GET_MSRS of x2APIC mode, LVT timer and IRR (jit_read_lapic) */
	uint64_t lvtt_writes; /* LVT timer writes replayed */
	uint64_t eoi_writes, icr_writes; /* x2APIC EOIs and IPIs completed in bursts */
	uint64_t msr_writes; /* KVM_SET_MSRS of them and of the TSC deadline (jit_write_sys) */
	uint64_t atomics; /* locked instructions done with host atomics in the assist */
	uint64_t lat_n, lat[LAT_BUCKETS]; /* interrupt-delivery latency */
};

struct assist_cpu {
	uint32_t sent; /* requests written to the worker (the control page's `sent`) */
	int sock;
	bool sregs_sync; /* KVM_SYNC_X86_SREGS enabled: sregs arrive with every exit */
	bool xsave_dirty, sregs_dirty;
	struct assist_req req;
	struct assist_resp resp;
	struct assist_stats st;
	/* JIT mode (assist_jit.c, assist_step.c, assist_irq.c) */
	bool ready; /* the worker's ready message was read */
	bool dead; /* the assist did not start: KVM runs everything */
	bool engaged; /* the JIT runs this vCPU's code; req.regs/sregs/xsave are the state */
	bool fpu_stale; /* KVM's x87/SSE state is older than req.xsave */
	bool first_failed; /* KVM just rejected the instruction at RIP */
	bool events_dirty; /* v->run->s.regs.events changed: hand it to KVM */
	int64_t tsc_offset; /* guest TSC - host TSC */
	uint64_t deadline; /* guest TSC of the armed TSC-deadline timer (0: none) */
	/* the guest's XCR0 for the bursts (ASSIST_F_XCR0), read again after any KVM_RUN: KVM may
	 * have run an XSETBV there */
	uint64_t xcr0;
	bool xcr0_valid;
	/* what the bursts need of KVM's LAPIC (jit_read_lapic): x2APIC mode, its LVT timer, a
	 * vector in IRR; read again after any KVM_RUN but a clean free run, as XCR0 is (a WRMSR or
	 * an INIT there; a vector that arrives otherwise rings the doorbell or is the timer's) */
	bool x2apic, irr, lapic_valid;
	uint32_t lvtt;
	/* gmem_write_gen() when the last burst was sent, and whether KVM ran guest code since that
	 * may have stored to RAM (ASSIST_F_SAME_RAM) */
	uint64_t ram_gen;
	bool kvm_stored;
	uint32_t kicks; /* interrupts other threads may have made pending (__atomic_*, futex) */
	uint64_t kick_tsc; /* host TSC of the first kick not yet handled (__atomic_*) */
	uint32_t handled; /* `kicks` at the last KVM entry with interrupts enabled */
	bool owed; /* KVM may hold an interrupt it could not deliver (IF was 0) */
	bool free_run; /* the step under way runs until KVM's next exit (jit_step_free) */
	/* ...with KVM_GUESTDBG_BLOCKIRQ and a breakpoint at this handler (0: none); `clean` when
	 * it ended there: KVM ran the faulting instruction and delivered its exception, nothing
	 * else (no interrupt, no other guest code) */
	uint64_t free_bp;
	bool clean;
	uint64_t free_since; /* its start (ns), 0: none; the main thread ends it (__atomic_*) */
	bool halted; /* waits in HLT: a kick also wakes the futex (__atomic_*) */
	uint64_t lat_max; /* ns */
};

struct assist_vm {
	pid_t pid;
	uint32_t sync_mask;
	int geo_fd; /* write end of the geometry pipe until assist_set_ram, else -1 */
	bool jit; /* JIT mode: this host's KVM emulates CPL-0 code (assist_jit_host) */
	bool blockirq; /* KVM_GUESTDBG_BLOCKIRQ (KVM_CAP_SET_GUEST_DEBUG2) */
	bool missing; /* the helper is not installed: status 71 when first needed */
	_Atomic bool alive; /* a message came from the helper: it started */
	struct assist_ctl *ctl; /* the control page (doorbells), mapped read-write */
	uint32_t tsc_khz;
	/* JIT mode, several vCPUs: the boot vCPU waited once (HLT, a spin loop) and the APs may
	 * start (jit_hold_ap) */
	uint32_t aps_go;
};

/* An instruction completed here ends with one of these. */
enum done { DONE_OK, DONE_FAULT, DONE_FAIL };

struct fault {
	unsigned vector;
	bool has_err;
	uint32_t err;
	uint64_t cr2;
};

static inline uint64_t area_u64(const struct kvm_xsave *x, size_t off)
{
	uint64_t v;

	memcpy(&v, (const uint8_t *)x->region + off, sizeof v);
	return v;
}

static inline void area_put_u64(struct kvm_xsave *x, size_t off, uint64_t v)
{
	memcpy((uint8_t *)x->region + off, &v, sizeof v);
}

/* MXCSR_MASK of an XSAVE area (0 there means the default mask). */
static inline uint32_t mxcsr_mask(const struct kvm_xsave *x)
{
	uint32_t m;

	memcpy(&m, (const uint8_t *)x->region + 28, sizeof m);
	return m != 0 ? m : MXCSR_MASK_DFLT;
}

/* assist_xsave.c: completes the instruction the reply in c->resp names (c->req holds KVM's
 * state, updated in place); DONE_FAULT fills *f with the exception to inject. */
enum done assist_complete(struct vcpu *v, struct assist_cpu *c, struct fault *f);
/* Reads the host CPUID leaves assist_complete uses, once, before any vCPU runs. */
void assist_xsave_init(void);
/* The processor's XSAVE layout (CPUID leaf 0xD) as read by assist_xsave_init. */
const struct xsave_geom *assist_xsave_geom(void);
/* The guest's XCR0 (KVM_GET_XCRS). */
int assist_get_xcr0(struct vcpu *v, uint64_t *xcr0);

/* ---- assist_exit.c, shared with JIT mode ---- */
uint64_t assist_now_ns(void);
/* Sends c->req, reads and checks the reply: 0, -1 (the assist is gone), -2 (the VM is
 * stopping) or -3 (a reply that breaks the protocol: *why says how). */
int assist_roundtrip(struct vcpu *v, struct assist_cpu *c, const char **why);
/* Takes from the (checked) reply only what a burst can change: general-purpose registers,
 * RIP, the rflags bits in rflags_from (ASSIST_RFLAGS_FROM_EMU, or _FROM_JIT in JIT mode), and
 * the x87/SSE part of the legacy XSAVE region (MXCSR masked to what KVM accepts).  Returns
 * true when it took x87/SSE state (the caller marks it for KVM_SET_XSAVE). */
bool assist_take_reply(struct assist_cpu *c, uint64_t rflags_from);
void assist_account(struct assist_cpu *c);
/* The exception a fault stop names (#PF error code from the guest's tables). */
void assist_fault_from_reply(const struct vm *vm, const struct assist_cpu *c, struct fault *f);
bool assist_has_error_code(unsigned vector);
/* End the VM (status 81) with the emulation-failure diagnostic and `why`; false. */
bool assist_fail(struct vcpu *v, const struct assist_cpu *c, const char *why);
bool assist_lost(struct vcpu *v, const struct assist_cpu *c, const char *why);
const char *assist_unsupported_reason(unsigned cls);
/* The first message of a JIT-mode worker, if not read yet (blocking). */
bool assist_read_ready(struct vcpu *v, struct assist_cpu *c);

/* ---- assist_jit.c ---- */
/* Whether this VM runs in JIT mode: asked for (--assist=auto), a KVM without VMX/SVM in the
 * host processor, and registers, system registers and events in the kvm_run area. */
bool assist_jit_wanted(const struct vm *vm);
/* Before confinement, once the vCPUs exist: TSC offsets, timer slack. */
int assist_jit_setup(struct vm *vm);

/* ---- assist_step.c ---- */
/* One instruction in KVM: the state goes to KVM (x87/SSE only where KVM may use it), KVM_RUN
 * single-steps, exits on the way (port I/O, MMIO) are handled as without JIT mode, the state
 * comes back.  False if the VM stops. */
bool jit_step(struct vcpu *v, struct assist_cpu *c);
/* Queues an exception for the next step (CR2 for #PF). */
void jit_inject(struct vcpu *v, struct assist_cpu *c, const struct fault *f);
/* As jit_step, but KVM runs freely until its next exit (an instruction that faults). */
bool jit_step_free(struct vcpu *v, struct assist_cpu *c, uint32_t vector);

/* ---- assist_irq.c ---- */
uint64_t jit_rdtsc(void);
/* Whether an interrupt is due for this vCPU (before a burst or step). */
bool jit_irq_due(const struct assist_cpu *c, uint64_t tsc);
/* Fills the request's deadline, doorbell and IRQ flag. */
void jit_irq_request(const struct vm *vm, const struct vcpu *v, struct assist_cpu *c);
/* Bookkeeping around a step: before (entry IF, kicks) and after (deadline, kicks sent). */
struct step_ctx {
	uint64_t tsc; /* at entry */
	uint32_t kicks;
	bool if_on; /* interrupts could be delivered at entry */
	uint64_t rcx; /* RCX at entry (the MSR of a WRMSR/RDMSR) */
	uint32_t cls; /* the stopped instruction's class */
};
void jit_irq_before(struct vcpu *v, struct assist_cpu *c, struct step_ctx *s);
bool jit_irq_after(struct vcpu *v, struct assist_cpu *c, const struct step_ctx *s);
/* HLT with interrupts enabled: waits until one is due or the VM stops. */
void jit_halt(struct vcpu *v, struct assist_cpu *c);
/* A PAUSE loop: waits JIT_PAUSE_NS (or until a kick), so the host CPU goes to whoever the
 * guest waits for. */
void jit_pause(struct vcpu *v, struct assist_cpu *c);
/* Several vCPUs: an AP's first instruction waits until the boot vCPU first waits itself (a
 * burst stopped at HLT or in a spin loop: jit_release_aps) or AP_HOLD_MS passed. */
void jit_hold_ap(struct vcpu *v, struct assist_cpu *c);
void jit_release_aps(struct vcpu *v);
/* Reads the TSC-deadline MSR (KVM_GET_MSRS). */
bool jit_read_deadline(struct vcpu *v, struct assist_cpu *c);
bool jit_read_lapic(struct vcpu *v, struct assist_cpu *c);
/* The x2APIC and TSC-deadline writes a burst completed: into KVM's LAPIC, in one KVM_SET_MSRS;
 * on failure *what names the refused write. */
bool jit_write_sys(struct vcpu *v, struct assist_cpu *c, const struct assist_sys *s,
		   const char **what);
void jit_print_stats(const struct vm *vm, const struct assist_stats *s);

#endif
