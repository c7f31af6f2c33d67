/* SPDX-License-Identifier: MIT */
/* fuzz_gdb.c - the debugger's protocol as hostile input (vmm/gdb_proto.h): the framing
 * (gdb_proto.c), the packet dispatcher (gdb_cmd.c) and the register conversion (gdb_regs.c),
 * against a mock machine of 1 to 4 vCPUs with 64 KiB of memory at 0x10000.
 *
 * Input: u8 vCPU count (% 4 + 1), then the bytes a debugger sends, fed one at a time to the
 * framing; every complete packet is dispatched (a resume is followed by a stop of a vCPU the
 * next input byte chooses).
 *
 * Oracles: the dispatcher calls the machine only with a vCPU below the count, memory lengths
 * of at most GDB_MEM_MAX into its own buffer, known breakpoint types and run modes; every
 * reply fits and survives the round trip through gdb_frame and the framing unchanged; what a
 * register write stores is what the next read returns (general-purpose registers, RIP, x87
 * and SSE registers); the x87 tag word always describes 8 registers of 2 bits.
 */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>

#include "fuzz.h"
#include "gdb_proto.h"

#define MEM_BASE 0x10000ull
#define MEM_SIZE 0x10000ull

struct mock {
	unsigned ncpu;
	struct kvm_regs regs[4];
	struct kvm_sregs sregs[4];
	struct kvm_xsave xs[4];
	uint8_t mem[MEM_SIZE];
	unsigned resumes;
};

static struct mock m;

static void check_cpu(unsigned cpu)
{
	if (cpu >= m.ncpu) {
		FUZZ_BUG("vCPU %u of %u", cpu, m.ncpu);
	}
}

static int get_regs(void *ctx, unsigned cpu, uint8_t out[GDB_REGS_BYTES])
{
	(void)ctx;
	check_cpu(cpu);
	gdb_regs_from_kvm(&m.regs[cpu], &m.sregs[cpu], &m.xs[cpu], out);
	return 0;
}

/* Bytes [from, to) of two register files must be equal. */
static void same(const uint8_t *a, const uint8_t *b, unsigned from, unsigned to, const char *what)
{
	unsigned lo = gdb_reg(from)->offset, hi = gdb_reg(to)->offset;

	if (memcmp(a + lo, b + lo, hi - lo) != 0) {
		FUZZ_BUG("%s written differ from what is read back", what);
	}
}

static int set_regs(void *ctx, unsigned cpu, const uint8_t in[GDB_REGS_BYTES])
{
	uint8_t cur[GDB_REGS_BYTES], back[GDB_REGS_BYTES];
	struct kvm_regs r = m.regs[cpu];
	bool fpu;

	get_regs(ctx, cpu, cur);
	if (gdb_regs_to_kvm(in, cur, &r, &m.xs[cpu], &fpu) != 0) {
		return -EPERM;
	}
	m.regs[cpu] = r;
	get_regs(ctx, cpu, back);
	same(in, back, 0, 17, "general-purpose registers and RIP");
	same(in, back, 24, 32, "x87 registers");
	same(in, back, 40, 57, "SSE registers and MXCSR");
	if (back[gdb_reg(34)->offset + 2] != 0 || back[gdb_reg(34)->offset + 3] != 0) {
		FUZZ_BUG("x87 tag word wider than 16 bits");
	}
	return 0;
}

static long read_mem(void *ctx, unsigned cpu, uint64_t addr, uint8_t *buf, size_t len)
{
	(void)ctx;
	check_cpu(cpu);
	if (len == 0 || len > GDB_MEM_MAX) {
		FUZZ_BUG("memory read of %zu bytes", len);
	}
	if (addr < MEM_BASE || addr - MEM_BASE >= MEM_SIZE) {
		return 0;
	}
	size_t n = MEM_SIZE - (addr - MEM_BASE) < len ? MEM_SIZE - (addr - MEM_BASE) : len;
	memcpy(buf, m.mem + (addr - MEM_BASE), n); /* ASan: buf must hold len bytes */
	memset(buf + n, 0xee, len - n);
	return (long)n;
}

static int write_mem(void *ctx, unsigned cpu, uint64_t addr, const uint8_t *buf, size_t len)
{
	(void)ctx;
	check_cpu(cpu);
	if (len == 0 || len > GDB_MEM_MAX) {
		FUZZ_BUG("memory write of %zu bytes", len);
	}
	if (addr < MEM_BASE || addr - MEM_BASE > MEM_SIZE - len) {
		return -EFAULT;
	}
	memcpy(m.mem + (addr - MEM_BASE), buf, len);
	return 0;
}

static int breakpoint(void *ctx, unsigned cpu, bool insert, enum gdb_bp_type type, uint64_t addr,
		      uint64_t kind)
{
	(void)ctx, (void)insert, (void)addr;
	check_cpu(cpu);
	if (type > GDB_WP_ACCESS) {
		FUZZ_BUG("breakpoint type %d", (int)type);
	}
	return kind == 1 ? 0 : type == GDB_WP_READ ? -EOPNOTSUPP : -EINVAL;
}

static void resume(void *ctx, const enum gdb_run *mode)
{
	(void)ctx;
	for (unsigned i = 0; i < m.ncpu; i++) {
		if (mode[i] != GDB_RUN_STOP && mode[i] != GDB_RUN_CONT && mode[i] != GDB_RUN_STEP) {
			FUZZ_BUG("run mode %d for vCPU %u", (int)mode[i], i);
		}
	}
	m.resumes++;
}

static uint64_t load_offset(void *ctx)
{
	(void)ctx;
	return 0x200000;
}

static const struct gdb_ops ops = {get_regs,   set_regs, read_mem,   write_mem,
				   breakpoint, resume,	 load_offset};

/* A reply must frame, and the framing must give it back byte for byte. */
static void round_trip(const struct gdb_session *s)
{
	static uint8_t framed[2 * GDB_PKT_MAX + 8];
	static struct gdb_rx rx;
	size_t n;
	enum gdb_rx_event ev = GDB_RX_NONE;

	if (s->reply_len >= sizeof s->reply) {
		FUZZ_BUG("reply of %zu bytes", s->reply_len);
	}
	n = gdb_frame((const uint8_t *)s->reply, s->reply_len, framed, sizeof framed);
	if (n == 0) {
		FUZZ_BUG("a reply of %zu bytes does not frame", s->reply_len);
	}
	gdb_rx_init(&rx);
	for (size_t i = 0; i < n; i++) {
		ev = gdb_rx_byte(&rx, framed[i]);
	}
	if (ev != GDB_RX_PACKET || rx.len != s->reply_len ||
	    memcmp(rx.buf, s->reply, s->reply_len) != 0) {
		FUZZ_BUG("reply changed by framing (event %d, %zu -> %zu bytes)", (int)ev,
			 s->reply_len, rx.len);
	}
}

static void on_packet(struct gdb_session *s, const struct gdb_rx *rx, struct fin *in)
{
	enum gdb_verdict v = gdb_dispatch(s, rx->buf, rx->len);

	if (v == GDB_V_RESUMED) {
		struct gdb_stop st = {.why = (enum gdb_why)(fin_u8(in) % 5),
				      .sig = GDB_SIGTRAP,
				      .cpu = fin_u8(in) % m.ncpu,
				      .addr = MEM_BASE};
		gdb_stop_reply(s, &st);
	} else if (v == GDB_V_KILL) {
		gdb_exit_reply(s, 137);
	}
	round_trip(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct gdb_session s;
	static struct gdb_rx rx;
	struct fin in = {data, size};

	memset(&m, 0, sizeof m);
	m.ncpu = fin_u8(&in) % 4 + 1;
	for (unsigned i = 0; i < m.ncpu; i++) {
		m.regs[i].rip = MEM_BASE + i;
		m.sregs[i].cr3 = 0x1000;
	}
	gdb_session_init(&s, &ops, NULL, m.ncpu);
	gdb_rx_init(&rx);
	while (in.n > 0) {
		enum gdb_rx_event ev = gdb_rx_byte(&rx, fin_u8(&in));
		if (ev == GDB_RX_PACKET) {
			on_packet(&s, &rx, &in);
		} else if (rx.len > sizeof rx.buf) {
			FUZZ_BUG("packet buffer overrun");
		}
	}
	return 0;
}
