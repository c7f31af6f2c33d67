/* SPDX-License-Identifier: MIT */
/* assist_vmm.h - what the VMM side of the instruction assist shares between its files
 * (vmm/ only; the public interface is assist.h):
 *   assist_spawn.c  the helper process: fork before confinement, exec at the first request,
 *                   the VMM's extra ioctls for its allowlist, start and end
 *   assist_exit.c   the exit handler: KVM state, the burst loop, the check of every reply
 *                   (assist_reply_check), exceptions, --stats
 *   assist_xsave.c  XGETBV, XSAVE/XSAVEOPT/XSAVEC, XRSTOR and RDTSCP completed against KVM's
 *                   state, guest memory through gmem's guest-virtual range accessors
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

#define MAX_ROUNDS	8 /* VMM completions chained into one exit */
#define MSR_IA32_TSC	0x10
#define MSR_TSC_AUX	0xc0000103
#define XSAVE_HDR	512
#define XSAVE_EXT	576
#define XCOMP_COMPACT	(1ull << 63)
#define X87_FCW_INIT	0x037f
#define MXCSR_MASK_DFLT 0xffbf
#define VEC_NM		7
#define VEC_GP		13
#define VEC_PF		14
#define VEC_UD		6

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
};

struct assist_cpu {
	int sock;
	bool sregs_sync; /* KVM_SYNC_X86_SREGS enabled: sregs arrive with every exit */
	bool xsave_dirty, sregs_dirty;
	struct assist_req req;
	struct assist_resp resp;
	struct assist_stats st;
};

struct assist_vm {
	pid_t pid;
	uint32_t sync_mask;
	int geo_fd; /* write end of the geometry pipe until assist_set_ram, else -1 */
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

#endif
