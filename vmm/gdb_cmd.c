/* SPDX-License-Identifier: MIT */
/* gdb_cmd.c - the GDB remote protocol packets uhyve-sec answers, dispatched to struct
 * gdb_ops (gdb_proto.h).  Threads are vCPUs: thread id = vCPU index + 1.  All-stop mode
 * only.  Every packet is hostile: numbers are parsed with overflow checks, lengths are
 * bounded by GDB_MEM_MAX and GDB_PKT_MAX, thread ids by the vCPU count; anything unknown gets
 * the empty reply ("not supported"), anything malformed "E16" (EINVAL).  Pure. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gdb_proto.h"

#define E_INVAL 0x16
#define E_FAULT 0x0e

struct cur {
	const uint8_t *p;
	size_t n;
};

static bool at_end(const struct cur *c)
{
	return c->n == 0;
}

static bool take(struct cur *c, char ch)
{
	if (c->n == 0 || c->p[0] != (uint8_t)ch) {
		return false;
	}
	c->p++, c->n--;
	return true;
}

static bool take_hex(struct cur *c, uint64_t *v)
{
	size_t used;

	if (gdb_hex_u64(c->p, c->n, v, &used) != 0) {
		return false;
	}
	c->p += used, c->n -= used;
	return true;
}

/* pkt starts with the literal lit; the cursor is moved past it. */
static bool take_lit(struct cur *c, const char *lit)
{
	size_t l = strlen(lit);

	if (c->n < l || memcmp(c->p, lit, l) != 0) {
		return false;
	}
	c->p += l, c->n -= l;
	return true;
}

/* ---- replies ---- */
static void reply(struct gdb_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void reply(struct gdb_session *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(s->reply, sizeof s->reply, fmt, ap);
	va_end(ap);
	s->reply_len = n < 0 ? 0 : (size_t)n < sizeof s->reply ? (size_t)n : sizeof s->reply - 1;
}

static enum gdb_verdict ok(struct gdb_session *s)
{
	reply(s, "OK");
	return GDB_V_REPLY;
}

static enum gdb_verdict empty(struct gdb_session *s)
{
	s->reply_len = 0;
	return GDB_V_REPLY;
}

static enum gdb_verdict err(struct gdb_session *s, int e)
{
	reply(s, "E%02x", e & 0xff);
	return GDB_V_REPLY;
}

static enum gdb_verdict hex_reply(struct gdb_session *s, const uint8_t *b, size_t n)
{
	if (2 * n >= sizeof s->reply) {
		return err(s, E_INVAL);
	}
	gdb_hex_encode(b, n, s->reply);
	s->reply_len = 2 * n;
	return GDB_V_REPLY;
}

void gdb_session_init(struct gdb_session *s, const struct gdb_ops *ops, void *ctx, unsigned ncpu)
{
	memset(s, 0, sizeof *s);
	s->ops = ops;
	s->ctx = ctx;
	s->ncpu = ncpu < 1 ? 1 : ncpu > GDB_MAX_CPUS ? GDB_MAX_CPUS : ncpu;
	s->ccpu = -1;
	s->last = (struct gdb_stop){.why = GDB_WHY_SIGNAL, .sig = GDB_SIGTRAP};
}

void gdb_stop_reply(struct gdb_session *s, const struct gdb_stop *st)
{
	static const char *const kind[] = {"", "swbreak:;", "hwbreak:;", "watch", "awatch"};
	unsigned w = st->why <= GDB_WHY_AWATCH ? st->why : 0;

	s->last = *st;
	s->gcpu = st->cpu < s->ncpu ? st->cpu : 0; /* the event's thread becomes current */
	if (w == GDB_WHY_WATCH || w == GDB_WHY_AWATCH) {
		reply(s, "T%02xthread:%x;%s:%llx;", st->sig & 0xff, s->gcpu + 1, kind[w],
		      (unsigned long long)st->addr);
	} else {
		reply(s, "T%02xthread:%x;%s", st->sig & 0xff, s->gcpu + 1, kind[w]);
	}
}

void gdb_exit_reply(struct gdb_session *s, int status)
{
	if (status > 128 && status < 128 + 65) {
		reply(s, "X%02x", status - 128);
	} else {
		reply(s, "W%02x", status & 0xff);
	}
}

/* ---- threads ---- */
/* A thread id: "-1" (all: -1), "0" (any: the first vCPU), or a vCPU's id.  *cpu gets the
 * index; returns false for anything else. */
static bool take_tid(struct gdb_session *s, struct cur *c, int *cpu)
{
	uint64_t v;

	if (take_lit(c, "-1")) {
		*cpu = -1;
		return true;
	}
	if (!take_hex(c, &v) || v > s->ncpu) {
		return false;
	}
	*cpu = v == 0 ? 0 : (int)(v - 1);
	return true;
}

static enum gdb_verdict cmd_H(struct gdb_session *s, struct cur *c)
{
	bool g = take(c, 'g');
	int cpu;

	if ((!g && !take(c, 'c')) || !take_tid(s, c, &cpu) || !at_end(c)) {
		return err(s, E_INVAL);
	}
	if (g) {
		s->gcpu = cpu < 0 ? 0 : (unsigned)cpu;
	} else {
		s->ccpu = cpu;
	}
	return ok(s);
}

static enum gdb_verdict cmd_T(struct gdb_session *s, struct cur *c)
{
	int cpu;

	return take_tid(s, c, &cpu) && cpu >= 0 && at_end(c) ? ok(s) : err(s, E_INVAL);
}

/* ---- registers ---- */
static enum gdb_verdict cmd_g(struct gdb_session *s)
{
	int rc = s->ops->get_regs(s->ctx, s->gcpu, s->regs);

	return rc < 0 ? err(s, -rc) : hex_reply(s, s->regs, GDB_REGS_BYTES);
}

static enum gdb_verdict cmd_G(struct gdb_session *s, struct cur *c)
{
	uint8_t in[GDB_REGS_BYTES];
	int rc;

	if (gdb_hex_decode(c->p, c->n, in, sizeof in) != 0) {
		return err(s, E_INVAL);
	}
	rc = s->ops->set_regs(s->ctx, s->gcpu, in);
	return rc < 0 ? err(s, -rc) : ok(s);
}

static enum gdb_verdict cmd_p(struct gdb_session *s, struct cur *c)
{
	uint64_t n;
	const struct gdb_reg *r;
	int rc;

	if (!take_hex(c, &n) || !at_end(c) ||
	    (r = gdb_reg(n < GDB_NREGS ? (unsigned)n : GDB_NREGS)) == NULL) {
		return err(s, E_INVAL);
	}
	rc = s->ops->get_regs(s->ctx, s->gcpu, s->regs);
	return rc < 0 ? err(s, -rc) : hex_reply(s, s->regs + r->offset, r->size);
}

static enum gdb_verdict cmd_P(struct gdb_session *s, struct cur *c)
{
	uint64_t n;
	const struct gdb_reg *r;
	int rc;

	if (!take_hex(c, &n) || !take(c, '=') ||
	    (r = gdb_reg(n < GDB_NREGS ? (unsigned)n : GDB_NREGS)) == NULL) {
		return err(s, E_INVAL);
	}
	if ((rc = s->ops->get_regs(s->ctx, s->gcpu, s->regs)) < 0) {
		return err(s, -rc);
	}
	if (gdb_hex_decode(c->p, c->n, s->regs + r->offset, r->size) != 0) {
		return err(s, E_INVAL);
	}
	rc = s->ops->set_regs(s->ctx, s->gcpu, s->regs);
	return rc < 0 ? err(s, -rc) : ok(s);
}

/* ---- memory ---- */
static bool take_addr_len(struct cur *c, uint64_t *addr, uint64_t *len)
{
	return take_hex(c, addr) && take(c, ',') && take_hex(c, len);
}

static enum gdb_verdict cmd_m(struct gdb_session *s, struct cur *c)
{
	uint64_t addr, len;
	long n;

	if (!take_addr_len(c, &addr, &len) || !at_end(c)) {
		return err(s, E_INVAL);
	}
	if (len > GDB_MEM_MAX) {
		len = GDB_MEM_MAX; /* a short read: gdb asks for the rest */
	}
	n = len == 0 ? 0 : s->ops->read_mem(s->ctx, s->gcpu, addr, s->mem, (size_t)len);
	if (n < 0) {
		return err(s, (int)-n);
	}
	if (n == 0 && len > 0) {
		return err(s, E_FAULT);
	}
	return hex_reply(s, s->mem, (size_t)n);
}

static enum gdb_verdict write_mem(struct gdb_session *s, uint64_t addr, size_t len)
{
	int rc = len == 0 ? 0 : s->ops->write_mem(s->ctx, s->gcpu, addr, s->mem, len);

	return rc < 0 ? err(s, -rc) : ok(s);
}

static enum gdb_verdict cmd_M(struct gdb_session *s, struct cur *c)
{
	uint64_t addr, len;

	if (!take_addr_len(c, &addr, &len) || !take(c, ':') || len > GDB_MEM_MAX ||
	    gdb_hex_decode(c->p, c->n, s->mem, (size_t)len) != 0) {
		return err(s, E_INVAL);
	}
	return write_mem(s, addr, (size_t)len);
}

/* X: binary data, already unescaped by the framing. */
static enum gdb_verdict cmd_X(struct gdb_session *s, struct cur *c)
{
	uint64_t addr, len;

	if (!take_addr_len(c, &addr, &len) || !take(c, ':') || len > GDB_MEM_MAX || c->n != len) {
		return err(s, E_INVAL);
	}
	memcpy(s->mem, c->p, (size_t)len);
	return write_mem(s, addr, (size_t)len);
}

/* ---- breakpoints and watchpoints: Z/z TYPE,ADDR,KIND ---- */
static enum gdb_verdict cmd_Z(struct gdb_session *s, struct cur *c, bool insert)
{
	uint64_t type, addr, kind;
	int rc;

	if (!take_hex(c, &type) || !take(c, ',') || !take_addr_len(c, &addr, &kind) || !at_end(c) ||
	    type > GDB_WP_ACCESS) {
		return err(s, E_INVAL);
	}
	rc = s->ops->breakpoint(s->ctx, s->gcpu, insert, (enum gdb_bp_type)type, addr, kind);
	if (rc == -EOPNOTSUPP) {
		return empty(s);
	}
	return rc < 0 ? err(s, -rc) : ok(s);
}

/* ---- resuming ---- */
/* Legacy c/s/C/S [sig;][addr]: an address resumes there. */
static bool legacy_addr(struct gdb_session *s, struct cur *c, bool has_sig, unsigned cpu)
{
	uint64_t sig, addr;

	if (has_sig && (!take_hex(c, &sig) || (!at_end(c) && !take(c, ';')))) {
		return false;
	}
	if (at_end(c)) {
		return true;
	}
	if (!take_hex(c, &addr) || !at_end(c) || s->ops->get_regs(s->ctx, cpu, s->regs) < 0) {
		return false;
	}
	memcpy(s->regs + gdb_reg(16)->offset, &addr, 8);
	return s->ops->set_regs(s->ctx, cpu, s->regs) == 0;
}

static enum gdb_verdict resume(struct gdb_session *s, const enum gdb_run *mode)
{
	s->ops->resume(s->ctx, mode);
	return GDB_V_RESUMED;
}

/* c: every vCPU continues; s: the Hc thread (or the current one) steps, the others stay. */
static enum gdb_verdict cmd_cs(struct gdb_session *s, struct cur *c, bool step, bool sig)
{
	enum gdb_run mode[GDB_MAX_CPUS];
	unsigned cpu = s->ccpu >= 0 ? (unsigned)s->ccpu : s->gcpu;

	if (!legacy_addr(s, c, sig, cpu)) {
		return err(s, E_INVAL);
	}
	for (unsigned i = 0; i < s->ncpu; i++) {
		mode[i] = step ? GDB_RUN_STOP : GDB_RUN_CONT;
	}
	if (step) {
		mode[cpu] = GDB_RUN_STEP;
	}
	return resume(s, mode);
}

/* One vCont action: c, C sig, s, S sig (signals are not delivered: a Hermit guest has none). */
static bool vcont_action(struct cur *c, enum gdb_run *run)
{
	uint64_t sig;

	if (take(c, 'c')) {
		*run = GDB_RUN_CONT;
	} else if (take(c, 's')) {
		*run = GDB_RUN_STEP;
	} else if (take(c, 'C')) {
		*run = GDB_RUN_CONT;
		return take_hex(c, &sig);
	} else if (take(c, 'S')) {
		*run = GDB_RUN_STEP;
		return take_hex(c, &sig);
	} else {
		return false;
	}
	return true;
}

/* vCont;ACTION[:TID]...: the leftmost action naming a thread applies to it; threads no action
 * names stay stopped. */
static enum gdb_verdict cmd_vcont(struct gdb_session *s, struct cur *c)
{
	enum gdb_run mode[GDB_MAX_CPUS];
	bool set[GDB_MAX_CPUS] = {false}, any = false;

	while (take(c, ';')) {
		enum gdb_run run;
		int cpu = -1;
		if (!vcont_action(c, &run) || (take(c, ':') && !take_tid(s, c, &cpu))) {
			return err(s, E_INVAL);
		}
		for (unsigned i = 0; i < s->ncpu; i++) {
			if (!set[i] && (cpu < 0 || (unsigned)cpu == i)) {
				set[i] = true;
				mode[i] = run;
				any = true;
			}
		}
	}
	if (!at_end(c) || !any) {
		return err(s, E_INVAL);
	}
	for (unsigned i = 0; i < s->ncpu; i++) {
		mode[i] = set[i] ? mode[i] : GDB_RUN_STOP;
	}
	return resume(s, mode);
}

/* ---- queries ---- */
static enum gdb_verdict q_xfer_features(struct gdb_session *s, struct cur *c)
{
	uint64_t off, len;
	size_t xlen;
	const char *xml = gdb_target_xml(&xlen);

	if (!take_lit(c, "target.xml:") || !take_addr_len(c, &off, &len) || !at_end(c)) {
		return err(s, E_INVAL);
	}
	if (off > xlen) {
		return err(s, E_INVAL);
	}
	if (len > sizeof s->reply - 1) {
		len = sizeof s->reply - 1;
	}
	size_t n = xlen - (size_t)off < len ? xlen - (size_t)off : (size_t)len;
	s->reply[0] = off + n < xlen ? 'm' : 'l';
	memcpy(s->reply + 1, xml + off, n);
	s->reply_len = n + 1;
	return GDB_V_REPLY;
}

static enum gdb_verdict q_threads(struct gdb_session *s)
{
	size_t o = 0;

	s->reply[o++] = 'm';
	for (unsigned i = 0; i < s->ncpu; i++) {
		int n = snprintf(s->reply + o, sizeof s->reply - o, "%s%x", i ? "," : "", i + 1);
		o += (size_t)n;
	}
	s->reply_len = o;
	return GDB_V_REPLY;
}

static enum gdb_verdict q_extra(struct gdb_session *s, struct cur *c)
{
	char text[32];
	int cpu, n;

	if (!take_tid(s, c, &cpu) || cpu < 0 || !at_end(c)) {
		return err(s, E_INVAL);
	}
	n = snprintf(text, sizeof text, "vCPU %d", cpu);
	return hex_reply(s, (const uint8_t *)text, (size_t)n);
}

static enum gdb_verdict cmd_q(struct gdb_session *s, struct cur *c)
{
	if (take_lit(c, "Supported")) {
		reply(s,
		      "PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+;"
		      "vContSupported+",
		      GDB_PKT_MAX);
		return GDB_V_REPLY;
	}
	if (take_lit(c, "Xfer:features:read:")) {
		return q_xfer_features(s, c);
	}
	if (take_lit(c, "fThreadInfo")) {
		return q_threads(s);
	}
	if (take_lit(c, "sThreadInfo")) {
		reply(s, "l");
		return GDB_V_REPLY;
	}
	if (take_lit(c, "ThreadExtraInfo,")) {
		return q_extra(s, c);
	}
	if (take_lit(c, "C") && at_end(c)) {
		reply(s, "QC%x", s->gcpu + 1);
		return GDB_V_REPLY;
	}
	if (take_lit(c, "Offsets") && at_end(c)) {
		unsigned long long off = s->ops->load_offset(s->ctx);
		reply(s, "Text=%llx;Data=%llx;Bss=%llx", off, off, off);
		return GDB_V_REPLY;
	}
	if (take_lit(c, "Attached")) {
		reply(s, "0"); /* we created the process: gdb kills it when it quits */
		return GDB_V_REPLY;
	}
	if (take_lit(c, "Symbol::") && at_end(c)) {
		return ok(s);
	}
	return empty(s);
}

static enum gdb_verdict cmd_v(struct gdb_session *s, struct cur *c)
{
	if (take_lit(c, "Cont?") && at_end(c)) {
		reply(s, "vCont;c;C;s;S");
		return GDB_V_REPLY;
	}
	if (take_lit(c, "Cont")) {
		return cmd_vcont(s, c);
	}
	if (take_lit(c, "Kill")) {
		ok(s);
		return GDB_V_KILL;
	}
	return empty(s);
}

static enum gdb_verdict cmd_Q(struct gdb_session *s, struct cur *c)
{
	if (take_lit(c, "StartNoAckMode") && at_end(c)) {
		s->noack = true;
		return ok(s);
	}
	return empty(s);
}

static enum gdb_verdict dispatch_rest(struct gdb_session *s, uint8_t op, struct cur *c)
{
	switch (op) {
	case 'Z':
	case 'z':
		return cmd_Z(s, c, op == 'Z');
	case 'c':
	case 's':
		return cmd_cs(s, c, op == 's', false);
	case 'C':
	case 'S':
		return cmd_cs(s, c, op == 'S', true);
	case 'H':
		return cmd_H(s, c);
	case 'T':
		return cmd_T(s, c);
	case 'q':
		return cmd_q(s, c);
	case 'Q':
		return cmd_Q(s, c);
	case 'v':
		return cmd_v(s, c);
	case 'D':
		ok(s);
		return GDB_V_DETACH;
	case 'k':
		s->reply_len = 0; /* no reply: gdb closes the connection */
		return GDB_V_KILL;
	default:
		return empty(s);
	}
}

enum gdb_verdict gdb_dispatch(struct gdb_session *s, const uint8_t *pkt, size_t len)
{
	struct cur c = {pkt + 1, len ? len - 1 : 0};

	if (len == 0) {
		return empty(s);
	}
	switch (pkt[0]) {
	case '?':
		gdb_stop_reply(s, &s->last);
		return GDB_V_REPLY;
	case 'g':
		return at_end(&c) ? cmd_g(s) : err(s, E_INVAL);
	case 'G':
		return cmd_G(s, &c);
	case 'p':
		return cmd_p(s, &c);
	case 'P':
		return cmd_P(s, &c);
	case 'm':
		return cmd_m(s, &c);
	case 'M':
		return cmd_M(s, &c);
	case 'X':
		return cmd_X(s, &c);
	default:
		return dispatch_rest(s, pkt[0], &c);
	}
}
