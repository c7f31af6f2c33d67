/* SPDX-License-Identifier: MIT */
/* assist_proto.h - the instruction-assist process (uhyve-sec-assist): its process model and
 * its wire protocol with the VMM.
 *
 * Why a separate process: completing what KVM's instruction emulator rejects (hermit-abi.md
 * g.3) runs guest-chosen bytes through Unicorn 2.0.1, a TCG JIT with a 1 GiB read-write-
 * execute code buffer.  A JIT bug is code execution wherever the JIT runs, so it runs here,
 * in a process that holds no KVM fd, no broker socket and no file system, and that is confined
 * by seccomp to its channel once its JIT buffer exists.  The VMM stays write-xor-execute.
 *
 * Process model: the VMM starts one assist process per VM before the guest runs (vmm/assist_spawn.c
 * assist_init) with
 *   fd 3        the guest-RAM memfd (mapped MAP_SHARED, then closed),
 *   fd 4        the control page (struct assist_ctl: written by the VMM only; mapped read-only
 *               here, sealed against writable mappings and resizing, then closed),
 *   fd 5 + i    a SOCK_SEQPACKET socket per vCPU i (one thread each),
 *   argv        "uhyve-sec-assist" RAM_START RAM_SIZE NCPU MODE (decimal; MODE "jit" or
 *               "exits", docs/assist.md),
 * and an empty environment.  In "jit" mode each worker first sends one ready message (struct
 * assist_ready) once it is confined; then, in both modes, each request is one message VMM ->
 * assist, answered by exactly one message assist -> VMM.  EOF on any socket ends the process.
 *
 * Trust: the VMM treats every reply as hostile input (a compromised assist can already write
 * all of guest RAM, so it can corrupt the guest, never the host): assist_reply_check() below
 * accepts it before anything of it is used, and the VMM takes only the general-purpose
 * registers, RIP, the arithmetic flags and the x87/SSE state from a reply.  Control
 * registers, segments and the interrupt flag never come from the assist.
 */
#ifndef UHS_ASSIST_PROTO_H
#define UHS_ASSIST_PROTO_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ASSIST_FD_MEM	       3
#define ASSIST_FD_CTL	       4
#define ASSIST_FD_SOCK0	       5
#define ASSIST_MAX_VCPUS       256
#define ASSIST_DEFAULT_CAP     200000 /* instructions per burst (about 1 ms here) */
#define ASSIST_JIT_CAP	       2000000 /* per burst in JIT mode, where interrupts end bursts */
#define ASSIST_HELPER_NAME     "uhyve-sec-assist"
#define ASSIST_PROTO_MAGIC     0x55415332u /* "UAS2" */
#define ASSIST_READY_MAGIC     0x52454459u /* "REDY" */
#define ASSIST_RFLAGS_FROM_EMU 0x0cd5ull /* CF PF AF ZF SF DF OF: what a burst may change */
/* In JIT mode bursts also run CLI, STI and POPF: the interrupt flag, and the other flags POPF
 * may change at CPL 0 (NT, AC, ID; never TF, RF or VM), come from the reply too. */
#define ASSIST_RFLAGS_FROM_JIT (ASSIST_RFLAGS_FROM_EMU | 0x200ull | 0x4000ull | 0x240000ull)
#define ASSIST_INSN_MAX	       15 /* longest x86 instruction */
#define ASSIST_CPU_ANY	       0xfffffffeu /* assist_req.cpu: run the worker on any CPU */

/* The ranges of guest-physical memory that read as zeros where RAM does not cover them (the
 * MP-table probes of Hermit kernels, hermit-abi.md b.7: read-only zero memslots or MMIO reads
 * the VMM answers with zeros, vmm/kvm.c and vmm/platform.c); bursts map them read-only. */
#define ASSIST_ZERO_RANGES 2
static inline void assist_zero_range(unsigned i, uint64_t *start, uint64_t *size)
{
	*start = i == 0 ? 0x9f000 : 0xf0000;
	*size = i == 0 ? 0x1000 : 0x10000;
}

/* Request flags. */
#define ASSIST_F_FIRST_FAILED 1u /* KVM rejected the instruction at RIP (an emulation exit) */
#define ASSIST_F_JIT	      2u /* JIT mode: the burst runs all code it can (docs/assist.md) */
#define ASSIST_F_IRQ	      4u /* an interrupt is due: end the burst where IF is 1 */
/* The VMM has a device thread (the NIC's) that needs a CPU: the worker spins at most
 * ASSIST_SPIN_SHORT_NS after the reply (netbench rx: 0.18-0.24 of the floor with 200 us spins,
 * 0.45-0.68 with 40 us). */
#define ASSIST_F_SPIN_SHORT 16u
/* JIT mode: KVM holds NMIs blocked (an NMI handler runs): IRET, which unblocks them, is KVM's. */
#define ASSIST_F_NMI_BLOCKED 32u
/* JIT mode, one vCPU: nothing but this burst's own Unicorn instance has written guest RAM since
 * the last burst (the VMM wrote none of it, and KVM ran no instruction that stores, beyond an
 * exception frame on the stack): the blocks checked then need no new check (docs/assist.md). */
#define ASSIST_F_SAME_RAM 128u
/* JIT mode: `xcr0` holds the guest's XCR0: the burst completes XSAVE, XSAVEOPT and XRSTOR of
 * the standard format itself (the reply then carries the whole XSAVE area). */
#define ASSIST_F_XCR0 64u
/* JIT mode: this vCPU's LAPIC is in x2APIC mode (IA32_APIC_BASE, KVM_GET_MSRS) and `lvtt` holds
 * its LVT timer register: the burst completes WRMSR to that register (assist_sys). */
#define ASSIST_F_X2APIC 256u
/* JIT mode, with ASSIST_F_X2APIC: KVM's LAPIC holds a vector in IRR (read with KVM_GET_MSRS
 * after the last KVM_RUN), or its LVT timer counts in one-shot or periodic mode (interrupts
 * nobody announces): an EOI in the burst may uncover one, so the burst then ends where IF is
 * 1.  Without it an EOI cannot: anything that arrives later rings the doorbell, and the
 * TSC-deadline timer's deadline is in the request. */
#define ASSIST_F_IRR 512u

/* JIT mode: OUTs to ports whose writes have no result and can never be protocol violations
 * (the v1 UART byte, the PCI address latch: vmm/pio_ring.c's zones) are collected in the
 * reply, in order, instead of ending the burst; the VMM hands them to the hypercall table
 * before anything else of the reply. */
#define ASSIST_PIO_PORTS 2
#define ASSIST_PIO_BATCH 128

struct assist_pio {
	uint16_t port;
	uint8_t size; /* 1, 2 or 4 */
	uint8_t pad;
	uint32_t value;
};

/* A debugger steps, or must check breakpoints and watchpoints between instructions
 * (vmm/gdb_vcpu.c): the burst runs exactly one instruction (or none, stopping before it) and
 * ends with ASSIST_STOP_CAP after it. */
#define ASSIST_F_ONE_INSN 8u

struct assist_req {
	uint32_t magic;
	uint32_t flags;
	uint32_t max_insns; /* instruction cap of this burst */
	uint32_t cpu; /* the host CPU the vCPU thread waits on (~0u: unknown; ASSIST_CPU_ANY) */
	uint64_t deadline; /* JIT mode: host TSC at which a timer interrupt is due (0: none) */
	int64_t tsc_offset; /* JIT mode: the guest's TSC is the host's plus this (RDTSC) */
	uint32_t doorbell; /* JIT mode: the control page's doorbell of this vCPU when sent */
	/* JIT mode: ports [absent_port, absent_port + absent_len) answer nothing (the PCI
	 * configuration data port of a VM without PCI devices): an IN there reads all ones and an
	 * OUT goes nowhere, as in the VMM (platform.c), so the burst completes them and goes on */
	uint16_t absent_port, absent_len;
	struct assist_pio batch[ASSIST_PIO_PORTS]; /* JIT mode: batched ports (value unused) */
	uint64_t xcr0; /* JIT mode, with ASSIST_F_XCR0: the guest's XCR0 (KVM_GET_XCRS) */
	uint32_t lvtt; /* JIT mode, with ASSIST_F_X2APIC: the x2APIC LVT timer register */
	uint32_t pad;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave xsave; /* KVM_GET_XSAVE layout (standard format) */
};

/* The control page: in JIT mode a burst of vCPU i also ends (where IF is 1) once doorbell[i]
 * differs from the request's value: the VMM rings it when an interrupt may be pending for
 * that vCPU (an IPI another vCPU sent, a device).  Only the VMM writes it; the VMM never reads
 * what the assist might have written (it cannot: the assist maps it read-only). */
struct assist_ctl {
	uint32_t doorbell[ASSIST_MAX_VCPUS];
	/* requests written to vCPU i's worker so far, bumped by the VMM right after each: with
	 * one vCPU, a worker that has replied watches it for up to ASSIST_SPIN_NS before it
	 * blocks in read(2) (on this project's hosts a wake-up across CPUs costs 40-90 us, a
	 * look at this page nothing).  Only a hint: the request itself comes by the socket. */
	uint32_t sent[ASSIST_MAX_VCPUS];
	/* the VMM's writes to guest RAM so far (vmm/gmem.c counts them here): with one vCPU a
	 * serializing instruction completed in a burst starts a new epoch only if it moved since
	 * the burst began (cross-modifying code can then come only from the VMM) */
	uint64_t ram_writes;
};

/* How long the worker of a one-vCPU VM looks for the VMM's next request (on the control page)
 * before it sleeps: longer than the VMM's usual work between two bursts (a KVM step, completing
 * XSAVE: up to 40 us when the host is slow), or those round trips pay a wake-up
 * (docs/assist.md).  The VMM looks for the reply (poll(2) with no timeout) ASSIST_SPIN_VMM_NS. */
#define ASSIST_SPIN_NS 200000u
/* The VMM's limit: a burst that runs longer than ASSIST_SPIN_NS is common (rusty_demo's Laplace
 * iteration computes about 0.4 ms in one), and a reply that finds the vCPU thread asleep costs
 * a wake-up (its round trip took 72 us beyond the burst with 200 us, 15-17 us with 1 ms). */
#define ASSIST_SPIN_VMM_NS 1000000u
/* The worker's limit after a reply that hands the VMM port I/O (a hypercall: the broker, a
 * file, the console), HLT or a spin loop: the next request usually comes later than
 * ASSIST_SPIN_NS, and spinning that long would only take a CPU from the broker. */
#define ASSIST_SPIN_SHORT_NS 40000u
/* The worker's spinning backs off when it was in vain: after a full ASSIST_SPIN_NS without a
 * request (the VMM shares its CPU on a host with none to spare, or is simply slow) it spins at
 * most ASSIST_SPIN_SHORT_NS for the next ASSIST_SPIN_BACKOFF_NS.  Not the VMM's: a reply
 * later than its limit is mostly a long burst, whatever the host. */
#define ASSIST_SPIN_BACKOFF_NS 20000000ull

/* The first message of each worker in JIT mode: it is confined and ready for bursts. */
struct assist_ready {
	uint32_t magic; /* ASSIST_READY_MAGIC */
	uint32_t vcpu; /* the worker's vCPU index */
};

/* Why a burst ended. */
enum assist_stop {
	ASSIST_STOP_CAP = 0, /* instruction cap reached */
	ASSIST_STOP_KVM, /* next instruction is one KVM must execute (see assist_class) */
	ASSIST_STOP_VMM, /* next instruction is completed by the VMM (see `insn`) */
	ASSIST_STOP_PAGE, /* next instruction touches a page a burst must not touch */
	ASSIST_STOP_FAULT, /* next instruction raises an exception (see `insn.vector`) */
	ASSIST_STOP_NM, /* CR0.TS is set and the next instruction uses x87/SSE: #NM */
	ASSIST_STOP_UNSUPPORTED, /* neither KVM nor the emulator can run the next instruction */
	ASSIST_STOP_ERROR, /* the assist failed (internal); the VM must stop */
	ASSIST_STOP_IRQ, /* JIT mode: an interrupt is due and IF is 1: KVM delivers it */
	ASSIST_STOP_COUNT
};

/* Classes of instructions a burst stops before (statistics and diagnostics). */
enum assist_class {
	ASSIST_C_NONE = 0,
	ASSIST_C_IO, /* IN, OUT, INS, OUTS */
	ASSIST_C_SYSTEM, /* MSR, CR/DR, descriptor tables, segment loads, privileged */
	ASSIST_C_IFLAG, /* CLI, STI, POPF, IRET */
	ASSIST_C_HLT, /* HLT, PAUSE, MWAIT: let KVM wait */
	ASSIST_C_CPUID, /* CPUID */
	ASSIST_C_FAR, /* far JMP/CALL/RET, INT n, SYSCALL, SYSRET */
	ASSIST_C_LOCK, /* LOCK prefix or XCHG with memory: atomic only in KVM */
	ASSIST_C_TIME, /* RDTSC, RDTSCP, RDPID */
	ASSIST_C_XSAVE, /* XSAVE family, XGETBV, XSETBV */
	ASSIST_C_BITCOUNT, /* POPCNT, TZCNT, LZCNT (completed by the assist itself) */
	ASSIST_C_RANDOM, /* RDRAND, RDSEED */
	ASSIST_C_FSGSBASE, /* RDFSBASE and friends */
	ASSIST_C_VEX, /* VEX/EVEX/XOP encoded (AVX): the emulator cannot run them */
	ASSIST_C_OTHER, /* anything else on the stop list */
	ASSIST_C_COUNT
};

/* Instructions the VMM completes against KVM's state. */
enum assist_vmm_op {
	ASSIST_OP_NONE = 0,
	ASSIST_OP_XGETBV,
	ASSIST_OP_XSAVE, /* also XSAVEOPT (same result) */
	ASSIST_OP_XSAVEC,
	ASSIST_OP_XRSTOR,
	ASSIST_OP_RDTSCP,
	ASSIST_OP_PIO, /* JIT mode: IN or OUT (port, io_size, io_out), through the hypercall table
			*/
	ASSIST_OP_HLT, /* JIT mode: HLT; the VMM waits for an interrupt */
	ASSIST_OP_PAUSE, /* JIT mode: a PAUSE loop spins on: the VMM lets the host CPU go a while
			  * and goes on at RIP (`len` is that of the instruction there) */
	ASSIST_OP_COUNT
};

/* assist_insn.flags: what the VMM needs to know about the instruction at the stop. */
#define ASSIST_I_SHADOW 1u /* it follows an STI: interrupts stay blocked until it is done */
#define ASSIST_I_FPU	2u /* it uses x87/SSE state */
#define ASSIST_I_BRANCH 4u /* it may not continue with the next instruction (a branch) */
#define ASSIST_I_STORE	8u /* it writes memory (an explicit operand, or the stack) */
#define ASSIST_I_ALL	15u

struct assist_insn {
	uint32_t op; /* enum assist_vmm_op for ASSIST_STOP_VMM */
	uint32_t cls; /* enum assist_class for ASSIST_STOP_KVM/UNSUPPORTED */
	uint32_t len; /* instruction length in bytes */
	uint32_t vector; /* ASSIST_STOP_FAULT: exception vector */
	uint64_t ea; /* memory operand's linear address (XSAVE family), or CR2 */
	uint32_t write; /* ASSIST_STOP_FAULT/PAGE: the access that faulted was a write */
	uint32_t bytes_len; /* instruction bytes, for diagnostics */
	uint8_t bytes[16];
	uint16_t port; /* ASSIST_OP_PIO: the port */
	uint8_t io_size; /* ASSIST_OP_PIO: 1, 2 or 4 bytes (AL, AX or EAX) */
	uint8_t io_out; /* ASSIST_OP_PIO: 1 for OUT, 0 for IN */
	uint32_t flags; /* ASSIST_I_* */
};

/* Per-burst counters returned with every reply (the VMM aggregates them for --stats). */
struct assist_counts {
	uint64_t insns; /* instructions executed in the emulator */
	uint64_t completed; /* POPCNT/TZCNT/LZCNT (and in JIT mode RDTSC, PAUSE, MFENCE) */
	uint64_t rebuilds; /* page-table changes seen (shadow rebuilds) */
	uint64_t runs; /* uc_emu_start calls */
	uint64_t ns; /* from the request to the reply, in the assist process */
	uint64_t atomics; /* locked instructions completed with host atomics */
};

/* assist_sys.flags: system state a JIT-mode burst changed by an instruction the assist
 * completed (Hermit's task switch and lazy FPU switch); the new value is in the field. */
#define ASSIST_SYS_CR0	   1u /* MOV to CR0 or CLTS that changed only CR0.TS */
#define ASSIST_SYS_FS_BASE 2u /* WRMSR IA32_FS_BASE (a canonical address) */
#define ASSIST_SYS_GS_BASE 4u /* WRMSR IA32_GS_BASE (a canonical address) */
/* WRMSR IA32_TSC_DEADLINE (the guest arming its timer; any value): the VMM hands it to KVM */
#define ASSIST_SYS_TSC_DEADLINE 8u
/* WRMSR of the x2APIC LVT timer register (ASSIST_F_X2APIC; a value assist_lvtt_ok accepts):
 * the last value is in `lvtt`.  With ASSIST_SYS_LVTT_RESET the register left TSC-deadline mode
 * in the burst (which disarmed the timer): the VMM first writes ASSIST_LVTT_RESET_VALUE, then
 * `lvtt`, then the deadline if flagged (one written in TSC-deadline mode after that). */
#define ASSIST_SYS_LVTT	      16u
#define ASSIST_SYS_LVTT_RESET 32u
/* WRMSR of the x2APIC EOI register (ASSIST_F_X2APIC; the value 0; once per burst): the VMM
 * writes it; with ASSIST_F_IRR it then lets KVM deliver what it may have uncovered (the burst
 * ended where IF was 1 after it). */
#define ASSIST_SYS_EOI 64u
/* WRMSR of the x2APIC ICR (ASSIST_F_X2APIC; a fixed interrupt that assist_icr_ok accepts): the
 * burst ended right after it; the VMM writes `icr` (KVM sends the IPI), then rings the
 * doorbells of the other vCPUs. */
#define ASSIST_SYS_ICR		128u
#define ASSIST_SYS_ALL		255u
#define ASSIST_LVTT_BITS	0x700ffu /* vector, mask (bit 16), timer mode (bits 17-18) */
#define ASSIST_LVTT_MASKED	0x10000u
#define ASSIST_LVTT_MODE	0x60000u
#define ASSIST_LVTT_DEADLINE	0x40000u /* timer mode 2: TSC deadline */
#define ASSIST_LVTT_RESET_VALUE ASSIST_LVTT_MASKED /* masked, one-shot */
#define ASSIST_CR0_TS		0x8ull /* the one CR0 bit a burst may change */

struct assist_sys {
	uint32_t flags; /* ASSIST_SYS_* */
	uint32_t lvtt; /* ASSIST_SYS_LVTT */
	uint64_t cr0, fs_base, gs_base, tsc_deadline;
	uint64_t icr; /* ASSIST_SYS_ICR */
};

struct assist_resp {
	uint32_t magic;
	uint32_t stop; /* enum assist_stop */
	uint32_t fpu_dirty; /* x87/SSE state changed: `xsave` holds the new state */
	uint32_t npio; /* JIT mode: entries of `pio`, OUTs to batched ports before the stop */
	struct assist_counts counts;
	struct assist_insn insn;
	struct assist_pio pio[ASSIST_PIO_BATCH];
	struct assist_sys sys; /* JIT mode: changed system state (the VMM checks it, below) */
	struct kvm_regs regs;
	struct kvm_xsave xsave; /* present only when fpu_dirty (the message is shorter otherwise) */
};

#define ASSIST_RESP_SHORT (sizeof(struct assist_resp) - sizeof(struct kvm_xsave))

/* Wire layout: both processes are built from this header in one build, but the layout is
 * still pinned, so that a change is a visible decision. */
_Static_assert(sizeof(struct assist_insn) == 56, "assist_insn layout");
_Static_assert(sizeof(struct assist_counts) == 48, "assist_counts layout");
_Static_assert(sizeof(struct assist_pio) == 8, "assist_pio layout");
_Static_assert(offsetof(struct assist_req, regs) == 72, "assist_req layout");
_Static_assert(offsetof(struct assist_resp, counts) == 16, "assist_resp layout");
_Static_assert(offsetof(struct assist_resp, insn) == 64, "assist_resp layout");
_Static_assert(sizeof(struct assist_sys) == 48, "assist_sys layout");
_Static_assert(offsetof(struct assist_resp, sys) == 1144, "assist_resp layout");
_Static_assert(offsetof(struct assist_resp, regs) == 1192, "assist_resp layout");
_Static_assert(sizeof(struct assist_ctl) <= 4096, "the control page is one page");
_Static_assert(offsetof(struct assist_resp, xsave) == ASSIST_RESP_SHORT, "xsave is last");

/* The VMM's check of a reply of `n` bytes at `buf` (read: only those bytes), before it uses
 * anything of it: the size is one of the two reply sizes and fpu_dirty (0 or 1) says which;
 * the magic; the stop reason, VMM operation and instruction class are known values; the
 * instruction length is at most 15 and the diagnostic byte count at most 16; the write flag
 * is 0 or 1; a VMM stop names an operation and a non-zero length; a fault stop a vector below
 * 32; only known instruction flags; a port I/O operation has an access size of 1, 2 or 4 and
 * a direction of 0 or 1; at most ASSIST_PIO_BATCH batched writes, each of 1, 2 or 4 bytes
 * with its pad zero (which ports: the VMM checks against its request); only known system
 * state flags, the pad zero, a changed FS or GS base canonical (which CR0 bits may change:
 * the VMM checks against its request).  Returns NULL if the reply may be used, else a static
 * reason.  Fuzzed: fuzz/fuzz_assist_reply.c. */
const char *assist_reply_check(const void *buf, size_t n);

/* The VMM's check of an accepted reply's system state against its request's CR0: a flagged
 * CR0 may differ from it in CR0.TS alone.  NULL if the state may be taken, else a static
 * reason (vmm/assist_jit.c take_sys; tests/unit/test_assist_proto.c). */
const char *assist_sys_check(const struct assist_sys *s, uint64_t req_cr0, uint32_t req_flags);
/* An LVT timer value the burst may complete: bits 63-32 and every bit outside
 * ASSIST_LVTT_BITS zero, a timer mode other than the reserved 3 (anything else is KVM's). */
bool assist_lvtt_ok(uint64_t v);
/* The handler address of a 64-bit IDT gate (16 bytes, already copied out of guest memory): the
 * VMM's free runs (vmm/assist_step.c) and the assist's #NM delivery (assist/assist_jit.c). */
static inline uint64_t assist_gate_offset(const uint8_t g[16])
{
	return (uint64_t)g[0] | (uint64_t)g[1] << 8 | (uint64_t)g[6] << 16 | (uint64_t)g[7] << 24 |
	       (uint64_t)g[8] << 32 | (uint64_t)g[9] << 40 | (uint64_t)g[10] << 48 |
	       (uint64_t)g[11] << 56;
}

/* An x2APIC ICR value the burst may complete: a fixed interrupt (delivery mode 0) with a vector
 * of 16 or more and no reserved bit set (anything else, INIT and SIPI included, is KVM's). */
bool assist_icr_ok(uint64_t v);

/* Names for --stats and diagnostics. */
static inline const char *assist_stop_name(unsigned stop)
{
	static const char *const n[ASSIST_STOP_COUNT] = {
	    "cap", "kvm", "vmm", "page", "fault", "nm", "unsupported", "error", "irq"};
	return stop < ASSIST_STOP_COUNT ? n[stop] : "?";
}

static inline const char *assist_class_name(unsigned cls)
{
	static const char *const n[ASSIST_C_COUNT] = {
	    "none", "io",    "system",	 "iflag",  "hlt",      "cpuid", "far",	"lock",
	    "time", "xsave", "bitcount", "random", "fsgsbase", "vex",	"other"};
	return cls < ASSIST_C_COUNT ? n[cls] : "?";
}

static inline const char *assist_op_name(unsigned op)
{
	static const char *const n[ASSIST_OP_COUNT] = {
	    "none", "xgetbv", "xsave", "xsavec", "xrstor", "rdtscp", "pio", "hlt", "pause"};
	return op < ASSIST_OP_COUNT ? n[op] : "?";
}

#endif
