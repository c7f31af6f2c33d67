/* SPDX-License-Identifier: MIT */
/* gdb_regs.c - the x86-64 register file the debugger sees: its layout (the 'g' packet and
 * register numbers of p/P), the XML target description announcing it, and the conversion
 * from and to KVM's vCPU state.  General-purpose registers, RIP and RFLAGS come from
 * kvm_regs; segment selectors, FS/GS base, CR0, CR2, CR3, CR4 and EFER from kvm_sregs (shown,
 * never written: a write that changes one is refused); x87 and SSE state from the legacy
 * region of KVM_GET_XSAVE.  Pure. */
#include <linux/kvm.h>
#include <string.h>

#include "gdb_proto.h"

#define FX_FCW	 0
#define FX_FSW	 2
#define FX_FTW	 4
#define FX_FOP	 6
#define FX_FIP	 8
#define FX_FDP	 16
#define FX_MXCSR 24
#define FX_ST0	 32
#define FX_XMM0	 160
#define XSAVE_BV 512

#define R(n, o, s)                                                                                 \
	{                                                                                          \
		n, o, s, false                                                                     \
	}
#define RO(n, o, s)                                                                                \
	{                                                                                          \
		n, o, s, true                                                                      \
	}

static const struct gdb_reg regs[GDB_NREGS] = {
    R("rax", 0, 8),	 R("rbx", 8, 8),	R("rcx", 16, 8),       R("rdx", 24, 8),
    R("rsi", 32, 8),	 R("rdi", 40, 8),	R("rbp", 48, 8),       R("rsp", 56, 8),
    R("r8", 64, 8),	 R("r9", 72, 8),	R("r10", 80, 8),       R("r11", 88, 8),
    R("r12", 96, 8),	 R("r13", 104, 8),	R("r14", 112, 8),      R("r15", 120, 8),
    R("rip", 128, 8),	 R("eflags", 136, 4),	RO("cs", 140, 4),      RO("ss", 144, 4),
    RO("ds", 148, 4),	 RO("es", 152, 4),	RO("fs", 156, 4),      RO("gs", 160, 4),
    R("st0", 164, 10),	 R("st1", 174, 10),	R("st2", 184, 10),     R("st3", 194, 10),
    R("st4", 204, 10),	 R("st5", 214, 10),	R("st6", 224, 10),     R("st7", 234, 10),
    R("fctrl", 244, 4),	 R("fstat", 248, 4),	R("ftag", 252, 4),     R("fiseg", 256, 4),
    R("fioff", 260, 4),	 R("foseg", 264, 4),	R("fooff", 268, 4),    R("fop", 272, 4),
    R("xmm0", 276, 16),	 R("xmm1", 292, 16),	R("xmm2", 308, 16),    R("xmm3", 324, 16),
    R("xmm4", 340, 16),	 R("xmm5", 356, 16),	R("xmm6", 372, 16),    R("xmm7", 388, 16),
    R("xmm8", 404, 16),	 R("xmm9", 420, 16),	R("xmm10", 436, 16),   R("xmm11", 452, 16),
    R("xmm12", 468, 16), R("xmm13", 484, 16),	R("xmm14", 500, 16),   R("xmm15", 516, 16),
    R("mxcsr", 532, 4),	 RO("fs_base", 536, 8), RO("gs_base", 544, 8), RO("cr0", 552, 8),
    RO("cr2", 560, 8),	 RO("cr3", 568, 8),	RO("cr4", 576, 8),     RO("efer", 584, 8),
};

_Static_assert(GDB_REGS_BYTES == 592, "register file size");

enum {
	REG_RIP = 16,
	REG_EFLAGS,
	REG_CS,
	REG_ST0 = 24,
	REG_FCTRL = 32,
	REG_XMM0 = 40,
	REG_MXCSR = 56,
	REG_FS_BASE,
	REG_GS_BASE,
	REG_CR0,
	REG_CR2,
	REG_CR3,
	REG_CR4,
	REG_EFER
};

const struct gdb_reg *gdb_reg(unsigned n)
{
	return n < GDB_NREGS ? &regs[n] : NULL;
}

/* The description gdb validates an amd64 target against: the i386 core and SSE features
 * (register names as gdb knows them), FS/GS base in the segments feature, and the control
 * registers in a feature of our own.  Register numbers are those of the table above. */
static const char target_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
    "<target version=\"1.0\">\n"
    "<architecture>i386:x86-64</architecture>\n"
    "<feature name=\"org.gnu.gdb.i386.core\">\n"
    "<flags id=\"i386_eflags\" size=\"4\">"
    "<field name=\"CF\" start=\"0\" end=\"0\"/><field name=\"\" start=\"1\" end=\"1\"/>"
    "<field name=\"PF\" start=\"2\" end=\"2\"/><field name=\"AF\" start=\"4\" end=\"4\"/>"
    "<field name=\"ZF\" start=\"6\" end=\"6\"/><field name=\"SF\" start=\"7\" end=\"7\"/>"
    "<field name=\"TF\" start=\"8\" end=\"8\"/><field name=\"IF\" start=\"9\" end=\"9\"/>"
    "<field name=\"DF\" start=\"10\" end=\"10\"/><field name=\"OF\" start=\"11\" end=\"11\"/>"
    "<field name=\"NT\" start=\"14\" end=\"14\"/><field name=\"RF\" start=\"16\" end=\"16\"/>"
    "<field name=\"VM\" start=\"17\" end=\"17\"/><field name=\"AC\" start=\"18\" end=\"18\"/>"
    "<field name=\"VIF\" start=\"19\" end=\"19\"/>"
    "<field name=\"VIP\" start=\"20\" end=\"20\"/>"
    "<field name=\"ID\" start=\"21\" end=\"21\"/></flags>\n"
    "<reg name=\"rax\" bitsize=\"64\" type=\"int64\" regnum=\"0\"/>"
    "<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>"
    "<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>"
    "<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>"
    "<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>"
    "<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.i386.sse\">\n"
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
    "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
    "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
    "<union id=\"vec128\"><field name=\"v4_float\" type=\"v4f\"/>"
    "<field name=\"v2_double\" type=\"v2d\"/><field name=\"v16_int8\" type=\"v16i8\"/>"
    "<field name=\"v8_int16\" type=\"v8i16\"/><field name=\"v4_int32\" type=\"v4i32\"/>"
    "<field name=\"v2_int64\" type=\"v2i64\"/><field name=\"uint128\" type=\"uint128\"/>"
    "</union>\n"
    "<flags id=\"i386_mxcsr\" size=\"4\">"
    "<field name=\"IE\" start=\"0\" end=\"0\"/><field name=\"DE\" start=\"1\" end=\"1\"/>"
    "<field name=\"ZE\" start=\"2\" end=\"2\"/><field name=\"OE\" start=\"3\" end=\"3\"/>"
    "<field name=\"UE\" start=\"4\" end=\"4\"/><field name=\"PE\" start=\"5\" end=\"5\"/>"
    "<field name=\"DAZ\" start=\"6\" end=\"6\"/><field name=\"IM\" start=\"7\" end=\"7\"/>"
    "<field name=\"DM\" start=\"8\" end=\"8\"/><field name=\"ZM\" start=\"9\" end=\"9\"/>"
    "<field name=\"OM\" start=\"10\" end=\"10\"/><field name=\"UM\" start=\"11\" end=\"11\"/>"
    "<field name=\"PM\" start=\"12\" end=\"12\"/><field name=\"FZ\" start=\"15\" end=\"15\"/>"
    "</flags>\n"
    "<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\" regnum=\"40\"/>"
    "<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm8\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm9\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm10\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm11\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm12\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm13\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm14\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm15\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.i386.segments\">\n"
    "<reg name=\"fs_base\" bitsize=\"64\" type=\"int\" regnum=\"57\"/>"
    "<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>\n"
    "</feature>\n"
    "<feature name=\"org.uhyve-sec.x86_64.system\">\n"
    "<reg name=\"cr0\" bitsize=\"64\" type=\"int\" group=\"system\" regnum=\"59\"/>"
    "<reg name=\"cr2\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
    "<reg name=\"cr3\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
    "<reg name=\"cr4\" bitsize=\"64\" type=\"int\" group=\"system\"/>"
    "<reg name=\"efer\" bitsize=\"64\" type=\"int\" group=\"system\"/>\n"
    "</feature>\n"
    "</target>\n";

const char *gdb_target_xml(size_t *len)
{
	*len = sizeof target_xml - 1;
	return target_xml;
}

static void put(uint8_t *out, unsigned reg, uint64_t v)
{
	memcpy(out + regs[reg].offset, &v, regs[reg].size < 8 ? regs[reg].size : 8);
}

static uint64_t get(const uint8_t *in, unsigned reg)
{
	uint64_t v = 0;

	memcpy(&v, in + regs[reg].offset, regs[reg].size < 8 ? regs[reg].size : 8);
	return v;
}

static uint64_t fx_u(const struct kvm_xsave *x, size_t off, size_t n)
{
	uint64_t v = 0;

	memcpy(&v, (const uint8_t *)x->region + off, n);
	return v;
}

/* The full x87 tag of one register (0 valid, 1 zero, 2 special, 3 empty) from FXSAVE's
 * abridged tag bit and the register's value (as gdb's i387 code computes it). */
static unsigned x87_tag(const uint8_t *st, bool used)
{
	uint16_t exp;
	uint64_t mant;

	if (!used) {
		return 3;
	}
	memcpy(&mant, st, 8);
	memcpy(&exp, st + 8, 2);
	exp &= 0x7fff;
	if (exp == 0x7fff) {
		return 2;
	}
	if (exp == 0) {
		return mant == 0 ? 1 : 2;
	}
	return (mant >> 63) ? 0 : 2;
}

static void fpu_from_kvm(const struct kvm_xsave *x, uint8_t *out)
{
	const uint8_t *fx = (const uint8_t *)x->region;
	unsigned top = (unsigned)(fx_u(x, FX_FSW, 2) >> 11) & 7, ftag = 0;

	for (unsigned i = 0; i < 8; i++) {
		memcpy(out + regs[REG_ST0 + i].offset, fx + FX_ST0 + 16 * i, 10);
	}
	for (unsigned phys = 0; phys < 8; phys++) {
		const uint8_t *st = fx + FX_ST0 + 16 * ((phys - top) & 7);
		ftag |= x87_tag(st, (fx[FX_FTW] >> phys) & 1) << (2 * phys);
	}
	put(out, REG_FCTRL, fx_u(x, FX_FCW, 2));
	put(out, REG_FCTRL + 1, fx_u(x, FX_FSW, 2));
	put(out, REG_FCTRL + 2, ftag);
	put(out, REG_FCTRL + 3, fx_u(x, FX_FIP + 4, 4)); /* 64-bit FXSAVE: FIP's upper half */
	put(out, REG_FCTRL + 4, fx_u(x, FX_FIP, 4));
	put(out, REG_FCTRL + 5, fx_u(x, FX_FDP + 4, 4));
	put(out, REG_FCTRL + 6, fx_u(x, FX_FDP, 4));
	put(out, REG_FCTRL + 7, fx_u(x, FX_FOP, 2) & 0x7ff);
	memcpy(out + regs[REG_XMM0].offset, fx + FX_XMM0, 16 * 16);
	put(out, REG_MXCSR, fx_u(x, FX_MXCSR, 4));
}

void gdb_regs_from_kvm(const struct kvm_regs *r, const struct kvm_sregs *s,
		       const struct kvm_xsave *x, uint8_t out[GDB_REGS_BYTES])
{
	const uint64_t gp[16] = {r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->rsp,
				 r->r8,	 r->r9,	 r->r10, r->r11, r->r12, r->r13, r->r14, r->r15};
	const uint64_t sys[] = {s->cs.selector, s->ss.selector, s->ds.selector,
				s->es.selector, s->fs.selector, s->gs.selector};

	memset(out, 0, GDB_REGS_BYTES);
	memcpy(out, gp, sizeof gp);
	put(out, REG_RIP, r->rip);
	put(out, REG_EFLAGS, r->rflags);
	for (unsigned i = 0; i < 6; i++) {
		put(out, REG_CS + i, sys[i]);
	}
	fpu_from_kvm(x, out);
	put(out, REG_FS_BASE, s->fs.base);
	put(out, REG_GS_BASE, s->gs.base);
	put(out, REG_CR0, s->cr0);
	put(out, REG_CR2, s->cr2);
	put(out, REG_CR3, s->cr3);
	put(out, REG_CR4, s->cr4);
	put(out, REG_EFER, s->efer);
}

static void fx_put(struct kvm_xsave *x, size_t off, uint64_t v, size_t n)
{
	memcpy((uint8_t *)x->region + off, &v, n);
}

static void fpu_to_kvm(const uint8_t *in, struct kvm_xsave *x)
{
	uint8_t *fx = (uint8_t *)x->region;
	uint64_t ftag = get(in, REG_FCTRL + 2), bv;
	uint8_t abridged = 0;

	for (unsigned i = 0; i < 8; i++) {
		memcpy(fx + FX_ST0 + 16 * i, in + regs[REG_ST0 + i].offset, 10);
		abridged |= (uint8_t)((((ftag >> (2 * i)) & 3) != 3) << i);
	}
	fx_put(x, FX_FCW, get(in, REG_FCTRL), 2);
	fx_put(x, FX_FSW, get(in, REG_FCTRL + 1), 2);
	fx[FX_FTW] = abridged;
	fx_put(x, FX_FIP + 4, get(in, REG_FCTRL + 3), 4);
	fx_put(x, FX_FIP, get(in, REG_FCTRL + 4), 4);
	fx_put(x, FX_FDP + 4, get(in, REG_FCTRL + 5), 4);
	fx_put(x, FX_FDP, get(in, REG_FCTRL + 6), 4);
	fx_put(x, FX_FOP, get(in, REG_FCTRL + 7) & 0x7ff, 2);
	memcpy(fx + FX_XMM0, in + regs[REG_XMM0].offset, 16 * 16);
	fx_put(x, FX_MXCSR, get(in, REG_MXCSR), 4);
	memcpy(&bv, fx + XSAVE_BV, 8);
	bv |= 3; /* x87 and SSE state are now explicitly present */
	memcpy(fx + XSAVE_BV, &bv, 8);
}

static bool changed(const uint8_t *a, const uint8_t *b, unsigned reg)
{
	return memcmp(a + regs[reg].offset, b + regs[reg].offset, regs[reg].size) != 0;
}

int gdb_regs_to_kvm(const uint8_t in[GDB_REGS_BYTES], const uint8_t cur[GDB_REGS_BYTES],
		    struct kvm_regs *r, struct kvm_xsave *x, bool *fpu_changed)
{
	uint64_t gp[16];

	for (unsigned i = 0; i < GDB_NREGS; i++) {
		if (regs[i].readonly && changed(in, cur, i)) {
			return -1;
		}
	}
	memcpy(gp, in, sizeof gp);
	r->rax = gp[0], r->rbx = gp[1], r->rcx = gp[2], r->rdx = gp[3];
	r->rsi = gp[4], r->rdi = gp[5], r->rbp = gp[6], r->rsp = gp[7];
	r->r8 = gp[8], r->r9 = gp[9], r->r10 = gp[10], r->r11 = gp[11];
	r->r12 = gp[12], r->r13 = gp[13], r->r14 = gp[14], r->r15 = gp[15];
	r->rip = get(in, REG_RIP);
	r->rflags = (r->rflags & ~0xffffffffull) | get(in, REG_EFLAGS);
	*fpu_changed = memcmp(in + regs[REG_ST0].offset, cur + regs[REG_ST0].offset,
			      regs[REG_FS_BASE].offset - regs[REG_ST0].offset) != 0;
	if (*fpu_changed) {
		fpu_to_kvm(in, x);
	}
	return 0;
}
