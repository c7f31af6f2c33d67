/* SPDX-License-Identifier: MIT */
/* gdb_proto.h - the GDB remote serial protocol as uhyve-sec speaks it: packet framing
 * (gdb_proto.c), the register layout and target description (gdb_regs.c) and the packet
 * dispatcher (gdb_cmd.c).  All three are pure: no system call, no global state; the debugged
 * machine is reached only through struct gdb_ops (vmm/gdb_stub.c for KVM, mocks in the unit
 * tests and the fuzz target fuzz/fuzz_gdb.c).
 *
 * Threat: every byte from the debugger is hostile input.  The debugger's socket is reachable
 * by any local user on 127.0.0.1/::1 (the first connection wins), so the parser bounds every
 * packet (GDB_PKT_MAX), every hex number (no overflow), every length and thread id, and
 * answers anything it does not understand with an empty or error reply, never a crash.
 */
#ifndef UHS_GDB_PROTO_H
#define UHS_GDB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GDB_PKT_MAX    8192 /* PacketSize we announce: the largest packet either way */
#define GDB_MEM_MAX    4000 /* bytes per memory read or write (fits GDB_PKT_MAX in hex) */
#define GDB_MAX_CPUS   256
#define GDB_SIGINT     2
#define GDB_SIGTRAP    5
#define GDB_REGS_BYTES 592 /* the 'g' packet's register file, see gdb_regs.c */
#define GDB_NREGS      64

/* ---- framing (gdb_proto.c) ---- */
enum gdb_rx_event {
	GDB_RX_NONE = 0, /* byte consumed, nothing complete yet */
	GDB_RX_PACKET, /* a packet with a good checksum: rx->buf[0..len) */
	GDB_RX_BADSUM, /* a packet with a bad checksum (answer '-') */
	GDB_RX_TOOLONG, /* a packet longer than GDB_PKT_MAX (dropped; answer '-') */
	GDB_RX_INTERRUPT, /* Ctrl-C (0x03) outside a packet */
	GDB_RX_ACK, /* '+' */
	GDB_RX_NAK, /* '-': resend the last reply */
};

struct gdb_rx {
	int state;
	uint8_t sum; /* running checksum of the raw packet bytes */
	uint8_t cs; /* received checksum, high nibble first */
	bool overflow;
	size_t len;
	uint8_t buf[GDB_PKT_MAX]; /* the packet, '}' escapes decoded */
};

void gdb_rx_init(struct gdb_rx *rx);
/* Consumes one byte from the debugger. */
enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, uint8_t b);

/* Frames data[0..len) as "$...#cs", escaping '$', '#', '}' and '*'.  Returns the framed
 * length, or 0 if it does not fit in cap. */
size_t gdb_frame(const uint8_t *data, size_t len, uint8_t *out, size_t cap);

/* Hex helpers.  gdb_hex_u64 parses at most 16 hex digits from s[0..n) (*used: how many),
 * fails on none or on overflow.  gdb_hex_decode needs exactly 2 * len digits. */
int gdb_hex_val(uint8_t c);
int gdb_hex_u64(const uint8_t *s, size_t n, uint64_t *out, size_t *used);
int gdb_hex_decode(const uint8_t *s, size_t n, uint8_t *out, size_t len);
/* Writes 2 * len hex digits (no NUL). */
void gdb_hex_encode(const uint8_t *in, size_t len, char *out);

/* ---- registers (gdb_regs.c) ---- */
struct kvm_regs;
struct kvm_sregs;
struct kvm_xsave;

struct gdb_reg {
	const char *name;
	uint16_t offset; /* in the register file */
	uint8_t size; /* bytes */
	bool readonly; /* writes must keep the value */
};
/* Register n (0 <= n < GDB_NREGS) of the 'g' layout, or NULL. */
const struct gdb_reg *gdb_reg(unsigned n);
/* The target description (qXfer:features:read:target.xml) and its length. */
const char *gdb_target_xml(size_t *len);
/* Fills the register file from KVM's state (xsave: the legacy FXSAVE region is used). */
void gdb_regs_from_kvm(const struct kvm_regs *r, const struct kvm_sregs *s,
		       const struct kvm_xsave *x, uint8_t out[GDB_REGS_BYTES]);
/* Applies a register file written by the debugger: general-purpose registers, RIP and RFLAGS
 * into *r, x87 and SSE state into *x (*fpu_changed says whether it changed).  Returns 0, or
 * -1 if a read-only register (segments, FS/GS base, control registers, EFER) was changed. */
int gdb_regs_to_kvm(const uint8_t in[GDB_REGS_BYTES], const uint8_t cur[GDB_REGS_BYTES],
		    struct kvm_regs *r, struct kvm_xsave *x, bool *fpu_changed);

/* ---- the dispatcher (gdb_cmd.c) ---- */
enum gdb_bp_type { GDB_BP_SW = 0, GDB_BP_HW, GDB_WP_WRITE, GDB_WP_READ, GDB_WP_ACCESS };
enum gdb_run { GDB_RUN_STOP = 0, GDB_RUN_CONT, GDB_RUN_STEP };

/* Why the machine stopped (a stop reply), or how it ended. */
enum gdb_why {
	GDB_WHY_SIGNAL = 0,
	GDB_WHY_SWBREAK,
	GDB_WHY_HWBREAK,
	GDB_WHY_WATCH,
	GDB_WHY_AWATCH
};
struct gdb_stop {
	enum gdb_why why;
	int sig; /* GDB_SIGTRAP, GDB_SIGINT */
	unsigned cpu;
	uint64_t addr; /* data address of a watchpoint */
};

/* What the dispatcher may ask of the debugged machine.  Every call is made while the whole
 * machine is stopped.  cpu < ncpu always.  Negative returns are -errno (sent as "Exx"),
 * except that breakpoint() returns -EOPNOTSUPP for "not supported" (an empty reply). */
struct gdb_ops {
	int (*get_regs)(void *ctx, unsigned cpu, uint8_t regs[GDB_REGS_BYTES]);
	int (*set_regs)(void *ctx, unsigned cpu, const uint8_t regs[GDB_REGS_BYTES]);
	/* Returns the number of bytes read (a prefix; 0 = none readable) or -errno. */
	long (*read_mem)(void *ctx, unsigned cpu, uint64_t addr, uint8_t *buf, size_t len);
	int (*write_mem)(void *ctx, unsigned cpu, uint64_t addr, const uint8_t *buf, size_t len);
	int (*breakpoint)(void *ctx, unsigned cpu, bool insert, enum gdb_bp_type type,
			  uint64_t addr, uint64_t kind);
	/* Resumes: mode[i] for vCPU i.  The stop reply comes later (gdb_stop_reply). */
	void (*resume)(void *ctx, const enum gdb_run *mode);
	/* Relocation of the kernel image: load address minus link address (qOffsets). */
	uint64_t (*load_offset)(void *ctx);
};

enum gdb_verdict {
	GDB_V_REPLY = 0, /* send s->reply */
	GDB_V_RESUMED, /* the machine runs; no reply until it stops */
	GDB_V_DETACH, /* send s->reply ("OK"), then detach: breakpoints out, machine runs on */
	GDB_V_KILL, /* end the machine; send s->reply if any (vKill) */
};

struct gdb_session {
	const struct gdb_ops *ops;
	void *ctx;
	unsigned ncpu;
	unsigned gcpu; /* thread for registers and memory (Hg) */
	int ccpu; /* thread for legacy c/s (Hc); -1: all */
	bool noack; /* QStartNoAckMode accepted */
	struct gdb_stop last; /* for '?' */
	size_t reply_len;
	char reply[GDB_PKT_MAX]; /* unframed reply */
	uint8_t regs[GDB_REGS_BYTES];
	uint8_t mem[GDB_MEM_MAX];
};

void gdb_session_init(struct gdb_session *s, const struct gdb_ops *ops, void *ctx, unsigned ncpu);
/* Handles one packet (pkt[0..len), as gdb_rx delivered it). */
enum gdb_verdict gdb_dispatch(struct gdb_session *s, const uint8_t *pkt, size_t len);
/* Writes the stop reply for *st into s->reply and remembers it for '?'. */
void gdb_stop_reply(struct gdb_session *s, const struct gdb_stop *st);
/* Writes the end of the run into s->reply: "Wxx" (exit status), or "Xxx" (signal) when the
 * status is 128 + a signal number. */
void gdb_exit_reply(struct gdb_session *s, int status);

#endif
