/* SPDX-License-Identifier: MIT */
/* test_gdb.c - the debugger's protocol (vmm/gdb_proto.h): framing, hex, the packet
 * dispatcher against a mock machine of two vCPUs, stop and exit replies, and the register
 * conversion from and to KVM's structures. */
#include <errno.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "gdb_proto.h"

/* ---- framing ---- */
static enum gdb_rx_event feed(struct gdb_rx *rx, const char *s)
{
	enum gdb_rx_event ev = GDB_RX_NONE;

	for (; *s != '\0'; s++) {
		ev = gdb_rx_byte(rx, (uint8_t)*s);
	}
	return ev;
}

static void test_framing(void **state)
{
	struct gdb_rx rx;

	(void)state;
	gdb_rx_init(&rx);
	assert_int_equal(feed(&rx, "$g#67"), GDB_RX_PACKET);
	assert_int_equal(rx.len, 1);
	assert_int_equal(feed(&rx, "$g#68"), GDB_RX_BADSUM);
	assert_int_equal(feed(&rx, "$g#6z"), GDB_RX_BADSUM);
	assert_int_equal(feed(&rx, "+"), GDB_RX_ACK);
	assert_int_equal(feed(&rx, "-"), GDB_RX_NAK);
	assert_int_equal(feed(&rx, "\x03"), GDB_RX_INTERRUPT);
	/* '}' escapes: "}]" is '}' ^ 0x20 ^ 0x20 = '}'; the checksum covers the raw bytes */
	assert_int_equal(feed(&rx, "$X}]#32"), GDB_RX_PACKET);
	assert_int_equal(rx.len, 2);
	assert_memory_equal(rx.buf, "X}", 2);
	/* a '$' inside a packet starts a new one */
	assert_int_equal(feed(&rx, "$qgar$g#67"), GDB_RX_PACKET);
	assert_int_equal(rx.len, 1);
}

static void test_too_long(void **state)
{
	static char big[GDB_PKT_MAX + 16];
	struct gdb_rx rx;
	unsigned sum = 0;

	(void)state;
	gdb_rx_init(&rx);
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	for (size_t i = 0; i < sizeof big - 1; i++) {
		sum += 'a';
	}
	assert_int_equal(gdb_rx_byte(&rx, '$'), GDB_RX_NONE);
	assert_int_equal(feed(&rx, big), GDB_RX_NONE);
	assert_true(rx.len <= sizeof rx.buf);
	char tail[4];
	snprintf(tail, sizeof tail, "#%02x", sum & 0xff);
	assert_int_equal(feed(&rx, tail), GDB_RX_TOOLONG);
	assert_int_equal(feed(&rx, "$g#67"), GDB_RX_PACKET); /* and the next one is fine */
}

static void test_frame_escapes(void **state)
{
	static const uint8_t data[] = {'$', '#', '}', '*', 'a', 0};
	uint8_t out[64];
	struct gdb_rx rx;
	size_t n;

	(void)state;
	n = gdb_frame(data, sizeof data, out, sizeof out);
	assert_int_equal(n, 1 + 4 * 2 + 2 + 3);
	assert_memory_equal(out,
			    "$}\x04}\x03}]}\x0a"
			    "a",
			    10);
	gdb_rx_init(&rx);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n) {
			assert_int_equal(gdb_rx_byte(&rx, out[i]), GDB_RX_NONE);
		} else {
			assert_int_equal(gdb_rx_byte(&rx, out[i]), GDB_RX_PACKET);
		}
	}
	assert_int_equal(rx.len, sizeof data);
	assert_memory_equal(rx.buf, data, sizeof data);
	assert_int_equal(gdb_frame(data, sizeof data, out, 8), 0); /* does not fit */
}

static void test_hex(void **state)
{
	uint64_t v;
	size_t used;
	uint8_t b[2];

	(void)state;
	assert_int_equal(gdb_hex_u64((const uint8_t *)"ffffffffffffffff,", 17, &v, &used), 0);
	assert_true(v == UINT64_MAX && used == 16);
	assert_int_equal(gdb_hex_u64((const uint8_t *)"10000000000000000", 17, &v, &used), -1);
	assert_int_equal(gdb_hex_u64((const uint8_t *)",1", 2, &v, &used), -1);
	assert_int_equal(gdb_hex_decode((const uint8_t *)"aB0f", 4, b, 2), 0);
	assert_true(b[0] == 0xab && b[1] == 0x0f);
	assert_int_equal(gdb_hex_decode((const uint8_t *)"aB0", 3, b, 2), -1);
	assert_int_equal(gdb_hex_decode((const uint8_t *)"aBxf", 4, b, 2), -1);
}

/* ---- the dispatcher against a mock ---- */
struct mock {
	struct kvm_regs regs[2];
	struct kvm_sregs sregs[2];
	struct kvm_xsave xs[2];
	uint8_t mem[256]; /* at 0x1000 */
	enum gdb_run mode[2];
	int resumes;
	bool bp_insert;
	enum gdb_bp_type bp_type;
	uint64_t bp_addr, bp_kind;
	unsigned last_cpu;
};
static struct mock mk;

static int m_get(void *ctx, unsigned cpu, uint8_t out[GDB_REGS_BYTES])
{
	(void)ctx;
	mk.last_cpu = cpu;
	gdb_regs_from_kvm(&mk.regs[cpu], &mk.sregs[cpu], &mk.xs[cpu], out);
	return 0;
}

static int m_set(void *ctx, unsigned cpu, const uint8_t in[GDB_REGS_BYTES])
{
	uint8_t cur[GDB_REGS_BYTES];
	bool fpu;

	m_get(ctx, cpu, cur);
	return gdb_regs_to_kvm(in, cur, &mk.regs[cpu], &mk.xs[cpu], &fpu) == 0 ? 0 : -EPERM;
}

static long m_read(void *ctx, unsigned cpu, uint64_t addr, uint8_t *buf, size_t len)
{
	(void)ctx;
	mk.last_cpu = cpu;
	if (addr < 0x1000 || addr >= 0x1000 + sizeof mk.mem) {
		return 0;
	}
	size_t n = 0x1000 + sizeof mk.mem - addr < len ? 0x1000 + sizeof mk.mem - addr : len;
	memcpy(buf, mk.mem + (addr - 0x1000), n);
	return (long)n;
}

static int m_write(void *ctx, unsigned cpu, uint64_t addr, const uint8_t *buf, size_t len)
{
	(void)ctx, (void)cpu;
	if (addr < 0x1000 || addr + len > 0x1000 + sizeof mk.mem) {
		return -EFAULT;
	}
	memcpy(mk.mem + (addr - 0x1000), buf, len);
	return 0;
}

static int m_bp(void *ctx, unsigned cpu, bool insert, enum gdb_bp_type type, uint64_t addr,
		uint64_t kind)
{
	(void)ctx, (void)cpu;
	mk.bp_insert = insert;
	mk.bp_type = type;
	mk.bp_addr = addr;
	mk.bp_kind = kind;
	return type == GDB_WP_READ ? -EOPNOTSUPP : 0;
}

static void m_resume(void *ctx, const enum gdb_run *mode)
{
	(void)ctx;
	mk.mode[0] = mode[0];
	mk.mode[1] = mode[1];
	mk.resumes++;
}

static uint64_t m_off(void *ctx)
{
	(void)ctx;
	return 0x40000;
}

static const struct gdb_ops mops = {m_get, m_set, m_read, m_write, m_bp, m_resume, m_off};
static struct gdb_session sess;

static enum gdb_verdict run(const char *pkt)
{
	return gdb_dispatch(&sess, (const uint8_t *)pkt, strlen(pkt));
}

/* The reply as a string. */
static const char *rep(void)
{
	static char buf[GDB_PKT_MAX + 1];

	memcpy(buf, sess.reply, sess.reply_len);
	buf[sess.reply_len] = '\0';
	return buf;
}

static int setup(void **state)
{
	(void)state;
	memset(&mk, 0, sizeof mk);
	mk.regs[0].rip = 0x1000;
	mk.regs[0].rsp = 0x7000;
	mk.regs[0].rbp = 0x8000;
	mk.regs[1].rip = 0x2000;
	mk.sregs[0].cs.selector = 8;
	mk.sregs[0].cr0 = 0x80000031;
	for (int i = 0; i < 256; i++) {
		mk.mem[i] = (uint8_t)i;
	}
	gdb_session_init(&sess, &mops, NULL, 2);
	return 0;
}

static void test_queries(void **state)
{
	(void)state;
	assert_int_equal(run("qSupported:swbreak+;hwbreak+"), GDB_V_REPLY);
	assert_string_equal(rep(), "PacketSize=2000;qXfer:features:read+;swbreak+;hwbreak+;"
				   "QStartNoAckMode+;vContSupported+");
	run("?");
	assert_string_equal(rep(), "T05thread:1;");
	run("qfThreadInfo");
	assert_string_equal(rep(), "m1,2");
	run("qsThreadInfo");
	assert_string_equal(rep(), "l");
	run("qC");
	assert_string_equal(rep(), "QC1");
	run("qOffsets");
	assert_string_equal(rep(), "Text=40000;Data=40000;Bss=40000");
	run("qAttached");
	assert_string_equal(rep(), "0");
	run("qThreadExtraInfo,2");
	assert_string_equal(rep(), "764350552031"); /* "vCPU 1" */
}

static void test_threads(void **state)
{
	(void)state;
	assert_int_equal(run("Hg2"), GDB_V_REPLY);
	assert_string_equal(rep(), "OK");
	run("g");
	assert_int_equal(mk.last_cpu, 1);
	run("Hg3"); /* no third vCPU */
	assert_string_equal(rep(), "E16");
	run("T2");
	assert_string_equal(rep(), "OK");
	run("T3");
	assert_string_equal(rep(), "E16");
	run("Hg0"); /* any: the first */
	run("g");
	assert_int_equal(mk.last_cpu, 0);
	run("Hc-1");
	assert_string_equal(rep(), "OK");
}

static void test_registers(void **state)
{
	char want[17];

	(void)state;
	run("g");
	assert_int_equal(sess.reply_len, 2 * GDB_REGS_BYTES);
	/* rbp (6) and rsp (7): gdb's order, not kvm_regs' */
	assert_memory_equal(sess.reply + 2 * 48, "0080000000000000", 16);
	assert_memory_equal(sess.reply + 2 * 56, "0070000000000000", 16);
	run("p10"); /* rip */
	assert_string_equal(rep(), "0010000000000000");
	run("P2=4d00000000000000");
	assert_string_equal(rep(), "OK");
	assert_int_equal(mk.regs[0].rcx, 0x4d);
	run("P12=10000000"); /* cs (18) is read-only */
	assert_string_equal(rep(), "E01");
	run("P12=08000000"); /* the same value: fine */
	assert_string_equal(rep(), "OK");
	run("p3b"); /* cr0 */
	snprintf(want, sizeof want, "3100008000000000");
	assert_string_equal(rep(), want);
	run("p40");
	assert_string_equal(rep(), "E16");
	run("P2=4d");
	assert_string_equal(rep(), "E16");
}

static void test_memory(void **state)
{
	(void)state;
	run("m1000,4");
	assert_string_equal(rep(), "00010203");
	run("m10fe,8"); /* a short read */
	assert_string_equal(rep(), "feff");
	run("m2000,4");
	assert_string_equal(rep(), "E0e");
	run("m1000,ffffffffffffffff"); /* clamped to GDB_MEM_MAX, then short */
	assert_int_equal(sess.reply_len, 2 * 256);
	run("M1000,2:abcd");
	assert_string_equal(rep(), "OK");
	assert_true(mk.mem[0] == 0xab && mk.mem[1] == 0xcd);
	run("M1000,3:abcd");
	assert_string_equal(rep(), "E16");
	assert_int_equal(gdb_dispatch(&sess, (const uint8_t *)"X1004,2:}\0", 10), GDB_V_REPLY);
	assert_string_equal(rep(), "OK");
	assert_true(mk.mem[4] == '}' && mk.mem[5] == 0);
	run("X1000,0:");
	assert_string_equal(rep(), "OK");
	run("X1000,5:ab");
	assert_string_equal(rep(), "E16");
	run("M3000,1:00");
	assert_string_equal(rep(), "E0e");
	run("m1000");
	assert_string_equal(rep(), "E16");
}

static void test_breakpoints(void **state)
{
	(void)state;
	run("Z0,1010,1");
	assert_string_equal(rep(), "OK");
	assert_true(mk.bp_insert && mk.bp_type == GDB_BP_SW && mk.bp_addr == 0x1010);
	run("z2,1020,4");
	assert_true(!mk.bp_insert && mk.bp_type == GDB_WP_WRITE && mk.bp_kind == 4);
	run("Z3,1020,4");
	assert_string_equal(rep(), ""); /* not supported */
	run("Z5,1020,4");
	assert_string_equal(rep(), "E16");
	run("Z0,1010");
	assert_string_equal(rep(), "E16");
}

static void test_resume(void **state)
{
	(void)state;
	run("vCont?");
	assert_string_equal(rep(), "vCont;c;C;s;S");
	assert_int_equal(run("vCont;s:2;c"), GDB_V_RESUMED);
	assert_true(mk.mode[0] == GDB_RUN_CONT && mk.mode[1] == GDB_RUN_STEP);
	assert_int_equal(run("vCont;s:1"), GDB_V_RESUMED); /* scheduler locking */
	assert_true(mk.mode[0] == GDB_RUN_STEP && mk.mode[1] == GDB_RUN_STOP);
	assert_int_equal(run("vCont;C02:1;c"), GDB_V_RESUMED);
	assert_true(mk.mode[0] == GDB_RUN_CONT && mk.mode[1] == GDB_RUN_CONT);
	assert_int_equal(run("vCont;t"), GDB_V_REPLY);
	assert_string_equal(rep(), "E16");
	assert_int_equal(run("vCont;c:3"), GDB_V_REPLY);
	assert_int_equal(run("vCont"), GDB_V_REPLY);
	assert_int_equal(mk.resumes, 3);
	assert_int_equal(run("c"), GDB_V_RESUMED);
	assert_true(mk.mode[0] == GDB_RUN_CONT && mk.mode[1] == GDB_RUN_CONT);
	run("Hc2");
	assert_int_equal(run("s1234"), GDB_V_RESUMED); /* step vCPU 1 from 0x1234 */
	assert_true(mk.mode[0] == GDB_RUN_STOP && mk.mode[1] == GDB_RUN_STEP);
	assert_int_equal(mk.regs[1].rip, 0x1234);
}

static void test_ends(void **state)
{
	(void)state;
	assert_int_equal(run("D"), GDB_V_DETACH);
	assert_string_equal(rep(), "OK");
	assert_int_equal(run("k"), GDB_V_KILL);
	assert_int_equal(sess.reply_len, 0);
	assert_int_equal(run("vKill;a410"), GDB_V_KILL);
	assert_string_equal(rep(), "OK");
	run("QStartNoAckMode");
	assert_true(sess.noack);
	run("unknown");
	assert_string_equal(rep(), "");
	run("");
	assert_string_equal(rep(), "");
}

static void test_xfer(void **state)
{
	size_t len, got = 0;
	const char *xml = gdb_target_xml(&len);
	char buf[64];

	(void)state;
	assert_non_null(strstr(xml, "org.gnu.gdb.i386.core"));
	assert_non_null(strstr(xml, "org.gnu.gdb.i386.sse"));
	while (got < len) {
		snprintf(buf, sizeof buf, "qXfer:features:read:target.xml:%zx,100", got);
		run(buf);
		assert_true(sess.reply_len >= 1);
		assert_memory_equal(sess.reply + 1, xml + got, sess.reply_len - 1);
		got += sess.reply_len - 1;
		assert_int_equal(sess.reply[0], got < len ? 'm' : 'l');
	}
	run("qXfer:features:read:other.xml:0,100");
	assert_string_equal(rep(), "E16");
	snprintf(buf, sizeof buf, "qXfer:features:read:target.xml:%zx,10", len + 1);
	run(buf);
	assert_string_equal(rep(), "E16");
}

static void test_stop_replies(void **state)
{
	struct gdb_stop st = {.why = GDB_WHY_WATCH, .sig = GDB_SIGTRAP, .cpu = 1, .addr = 0x1020};

	(void)state;
	gdb_stop_reply(&sess, &st);
	assert_string_equal(rep(), "T05thread:2;watch:1020;");
	assert_int_equal(sess.gcpu, 1); /* the event's thread becomes current */
	st = (struct gdb_stop){.why = GDB_WHY_SWBREAK, .sig = GDB_SIGTRAP, .cpu = 0};
	gdb_stop_reply(&sess, &st);
	assert_string_equal(rep(), "T05thread:1;swbreak:;");
	st = (struct gdb_stop){.why = GDB_WHY_SIGNAL, .sig = GDB_SIGINT, .cpu = 1};
	gdb_stop_reply(&sess, &st);
	assert_string_equal(rep(), "T02thread:2;");
	run("?");
	assert_string_equal(rep(), "T02thread:2;");
	gdb_exit_reply(&sess, 7);
	assert_string_equal(rep(), "W07");
	gdb_exit_reply(&sess, 255);
	assert_string_equal(rep(), "Wff");
	gdb_exit_reply(&sess, 137);
	assert_string_equal(rep(), "X09");
}

/* ---- register conversion ---- */
static void test_x87(void **state)
{
	struct kvm_regs r = {0};
	struct kvm_sregs s = {0};
	static struct kvm_xsave x, x2;
	uint8_t f[GDB_REGS_BYTES], g[GDB_REGS_BYTES];
	uint8_t *fx = (uint8_t *)x.region;
	uint32_t ftag;
	bool fpu;

	(void)state;
	/* TOP = 7; ST(0) (physical 7) = 1.0, ST(1) (physical 0) = +0, others empty */
	fx[2] = 0x00, fx[3] = 0x38;
	fx[4] = 0x81;
	fx[32 + 7] = 0x80, fx[32 + 8] = 0xff, fx[32 + 9] = 0x3f;
	gdb_regs_from_kvm(&r, &s, &x, f);
	memcpy(&ftag, f + gdb_reg(34)->offset, 4);
	assert_int_equal(ftag, 0x3ffd); /* physical 7 valid (00), 0 zero (01), 1-6 empty (11) */
	/* write it back: the abridged tag and the value are the same */
	memcpy(&x2, &x, sizeof x);
	memcpy(g, f, sizeof g);
	g[gdb_reg(40)->offset] = 0x42; /* xmm0 */
	assert_int_equal(gdb_regs_to_kvm(g, f, &r, &x2, &fpu), 0);
	assert_true(fpu);
	assert_int_equal(((uint8_t *)x2.region)[4], 0x81);
	assert_int_equal(((uint8_t *)x2.region)[160], 0x42);
	assert_int_equal(((uint8_t *)x2.region)[512] & 3, 3); /* XSTATE_BV: x87 and SSE */
	memcpy(g, f, sizeof g);
	g[gdb_reg(61)->offset] ^= 1; /* cr3 */
	assert_int_equal(gdb_regs_to_kvm(g, f, &r, &x2, &fpu), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_framing),
	    cmocka_unit_test(test_too_long),
	    cmocka_unit_test(test_frame_escapes),
	    cmocka_unit_test(test_hex),
	    cmocka_unit_test_setup(test_queries, setup),
	    cmocka_unit_test_setup(test_threads, setup),
	    cmocka_unit_test_setup(test_registers, setup),
	    cmocka_unit_test_setup(test_memory, setup),
	    cmocka_unit_test_setup(test_breakpoints, setup),
	    cmocka_unit_test_setup(test_resume, setup),
	    cmocka_unit_test_setup(test_ends, setup),
	    cmocka_unit_test_setup(test_xfer, setup),
	    cmocka_unit_test_setup(test_stop_replies, setup),
	    cmocka_unit_test(test_x87),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
