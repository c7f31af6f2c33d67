/* SPDX-License-Identifier: MIT */
/* assist_screen.c - instruction screening: which guest instructions a burst may run, and
 * where it must stop (the stop list, hermit-abi.md g.3 rule 5, docs/assist.md).  Decoding is
 * Zydis's on guest bytes; a wrong verdict misleads only the guest (docs/threat-model.md
 * 3.9). */
#include "assist_internal.h"

static bool has_mem(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	for (unsigned i = 0; i < in->operand_count; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY &&
		    ops[i].mem.type == ZYDIS_MEMOP_TYPE_MEM) {
			return true;
		}
	}
	return false;
}

static bool uses_fpu(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	if (in->mnemonic == ZYDIS_MNEMONIC_XGETBV || in->mnemonic == ZYDIS_MNEMONIC_XSETBV) {
		return false;
	}
	switch (in->meta.category) {
	case ZYDIS_CATEGORY_X87_ALU:
	case ZYDIS_CATEGORY_FCMOV:
	case ZYDIS_CATEGORY_MMX:
	case ZYDIS_CATEGORY_SSE:
	case ZYDIS_CATEGORY_AES:
	case ZYDIS_CATEGORY_PCLMULQDQ:
	case ZYDIS_CATEGORY_SHA:
	case ZYDIS_CATEGORY_XSAVE:
	case ZYDIS_CATEGORY_XSAVEOPT:
		return true;
	default:
		break;
	}
	for (unsigned i = 0; i < in->operand_count; i++) {
		if (ops[i].type != ZYDIS_OPERAND_TYPE_REGISTER) {
			continue;
		}
		ZydisRegisterClass c = ZydisRegisterGetClass(ops[i].reg.value);
		if (c == ZYDIS_REGCLASS_X87 || c == ZYDIS_REGCLASS_MMX || c == ZYDIS_REGCLASS_XMM) {
			return true;
		}
	}
	return in->mnemonic == ZYDIS_MNEMONIC_FXSAVE || in->mnemonic == ZYDIS_MNEMONIC_FXRSTOR ||
	       in->mnemonic == ZYDIS_MNEMONIC_FXSAVE64 ||
	       in->mnemonic == ZYDIS_MNEMONIC_FXRSTOR64 || in->mnemonic == ZYDIS_MNEMONIC_FWAIT;
}

static struct verdict v_(enum action a, enum assist_class c, enum assist_vmm_op op)
{
	return (struct verdict){.action = (uint8_t)a, .cls = (uint8_t)c, .op = (uint8_t)op};
}

static struct verdict named_kvm(ZydisMnemonic m);

/* The named part of the stop list (g.3 rule 5 and what only KVM can do right): what the VMM
 * or the assist completes here, then named_kvm. */
static struct verdict by_mnemonic(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_XGETBV:
		return v_(A_VMM, ASSIST_C_XSAVE, ASSIST_OP_XGETBV);
	case ZYDIS_MNEMONIC_XSAVE:
	case ZYDIS_MNEMONIC_XSAVE64:
	case ZYDIS_MNEMONIC_XSAVEOPT:
	case ZYDIS_MNEMONIC_XSAVEOPT64:
		return v_(A_VMM, ASSIST_C_XSAVE, ASSIST_OP_XSAVE);
	case ZYDIS_MNEMONIC_XSAVEC:
	case ZYDIS_MNEMONIC_XSAVEC64:
		return v_(A_VMM, ASSIST_C_XSAVE, ASSIST_OP_XSAVEC);
	case ZYDIS_MNEMONIC_XRSTOR:
	case ZYDIS_MNEMONIC_XRSTOR64:
		return v_(A_VMM, ASSIST_C_XSAVE, ASSIST_OP_XRSTOR);
	case ZYDIS_MNEMONIC_RDTSCP:
		return v_(A_VMM, ASSIST_C_TIME, ASSIST_OP_RDTSCP);
	case ZYDIS_MNEMONIC_XSETBV:
	case ZYDIS_MNEMONIC_XSAVES:
	case ZYDIS_MNEMONIC_XSAVES64:
	case ZYDIS_MNEMONIC_XRSTORS:
	case ZYDIS_MNEMONIC_XRSTORS64:
		return v_(A_KVM, ASSIST_C_XSAVE, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_POPCNT:
	case ZYDIS_MNEMONIC_TZCNT:
	case ZYDIS_MNEMONIC_LZCNT:
		return v_(A_SELF, ASSIST_C_BITCOUNT, ASSIST_OP_NONE);
	default:
		return named_kvm(m);
	}
}

/* Instructions only KVM may run (or nobody). */
static struct verdict named_kvm(ZydisMnemonic m)
{
	switch (m) {
	case ZYDIS_MNEMONIC_RDTSC:
	case ZYDIS_MNEMONIC_RDPID:
	case ZYDIS_MNEMONIC_RDPMC:
		return v_(A_KVM, ASSIST_C_TIME, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_CPUID:
		return v_(A_KVM, ASSIST_C_CPUID, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_HLT:
	case ZYDIS_MNEMONIC_PAUSE:
	case ZYDIS_MNEMONIC_MONITOR:
	case ZYDIS_MNEMONIC_MWAIT:
	case ZYDIS_MNEMONIC_MONITORX:
	case ZYDIS_MNEMONIC_MWAITX:
	case ZYDIS_MNEMONIC_UMONITOR:
	case ZYDIS_MNEMONIC_UMWAIT:
	case ZYDIS_MNEMONIC_TPAUSE:
		return v_(A_KVM, ASSIST_C_HLT, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_CLI:
	case ZYDIS_MNEMONIC_STI:
	case ZYDIS_MNEMONIC_POPF:
	case ZYDIS_MNEMONIC_POPFD:
	case ZYDIS_MNEMONIC_POPFQ:
	case ZYDIS_MNEMONIC_IRET:
	case ZYDIS_MNEMONIC_IRETD:
	case ZYDIS_MNEMONIC_IRETQ:
		return v_(A_KVM, ASSIST_C_IFLAG, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_INT:
	case ZYDIS_MNEMONIC_INT1:
	case ZYDIS_MNEMONIC_INT3:
	case ZYDIS_MNEMONIC_INTO:
	case ZYDIS_MNEMONIC_SYSCALL:
	case ZYDIS_MNEMONIC_SYSRET:
	case ZYDIS_MNEMONIC_SYSENTER:
	case ZYDIS_MNEMONIC_SYSEXIT:
	case ZYDIS_MNEMONIC_UD0:
	case ZYDIS_MNEMONIC_UD1:
	case ZYDIS_MNEMONIC_UD2:
		return v_(A_KVM, ASSIST_C_FAR, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_RDRAND:
	case ZYDIS_MNEMONIC_RDSEED:
		return v_(A_KVM, ASSIST_C_RANDOM, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_RDFSBASE:
	case ZYDIS_MNEMONIC_RDGSBASE:
	case ZYDIS_MNEMONIC_WRFSBASE:
	case ZYDIS_MNEMONIC_WRGSBASE:
	case ZYDIS_MNEMONIC_SWAPGS:
		return v_(A_KVM, ASSIST_C_FSGSBASE, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_CLAC:
	case ZYDIS_MNEMONIC_STAC:
	case ZYDIS_MNEMONIC_LFS:
	case ZYDIS_MNEMONIC_LGS:
	case ZYDIS_MNEMONIC_LSS:
	case ZYDIS_MNEMONIC_LAR:
	case ZYDIS_MNEMONIC_LSL:
	case ZYDIS_MNEMONIC_VERR:
	case ZYDIS_MNEMONIC_VERW:
	case ZYDIS_MNEMONIC_SGDT:
	case ZYDIS_MNEMONIC_SIDT:
	case ZYDIS_MNEMONIC_SLDT:
	case ZYDIS_MNEMONIC_STR:
	case ZYDIS_MNEMONIC_SMSW:
		return v_(A_KVM, ASSIST_C_SYSTEM, ASSIST_OP_NONE);
	case ZYDIS_MNEMONIC_XBEGIN:
	case ZYDIS_MNEMONIC_XEND:
	case ZYDIS_MNEMONIC_XABORT:
	case ZYDIS_MNEMONIC_XTEST:
	case ZYDIS_MNEMONIC_CLZERO:
		return v_(A_KVM, ASSIST_C_OTHER, ASSIST_OP_NONE);
	default:
		return v_(A_RUN, ASSIST_C_NONE, ASSIST_OP_NONE);
	}
}

static bool stop_category(ZydisInstructionCategory c)
{
	switch (c) {
	case ZYDIS_CATEGORY_SYSTEM:
	case ZYDIS_CATEGORY_SYSCALL:
	case ZYDIS_CATEGORY_SYSRET:
	case ZYDIS_CATEGORY_INTERRUPT:
	case ZYDIS_CATEGORY_SEGOP:
	case ZYDIS_CATEGORY_VTX:
	case ZYDIS_CATEGORY_SGX:
	case ZYDIS_CATEGORY_UINTR:
	case ZYDIS_CATEGORY_PCONFIG:
	case ZYDIS_CATEGORY_HRESET:
	case ZYDIS_CATEGORY_PT:
	case ZYDIS_CATEGORY_SMAP:
	case ZYDIS_CATEGORY_ENQCMD:
	case ZYDIS_CATEGORY_MOVDIR:
	case ZYDIS_CATEGORY_SERIALIZE:
	case ZYDIS_CATEGORY_TSX_LDTRK:
	case ZYDIS_CATEGORY_WAITPKG:
	case ZYDIS_CATEGORY_RDPRU:
	case ZYDIS_CATEGORY_PKU:
	case ZYDIS_CATEGORY_KEYLOCKER:
	case ZYDIS_CATEGORY_KEYLOCKER_WIDE:
	case ZYDIS_CATEGORY_MPX:
	case ZYDIS_CATEGORY_PADLOCK:
		return true;
	default:
		return false;
	}
}

/* Registers whose state lives in KVM only (Unicorn's copies are not the guest's). */
static bool system_operand(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	for (unsigned i = 0; i < in->operand_count; i++) {
		if (ops[i].type != ZYDIS_OPERAND_TYPE_REGISTER) {
			continue;
		}
		switch (ZydisRegisterGetClass(ops[i].reg.value)) {
		case ZYDIS_REGCLASS_SEGMENT:
		case ZYDIS_REGCLASS_CONTROL:
		case ZYDIS_REGCLASS_DEBUG:
		case ZYDIS_REGCLASS_TABLE:
		case ZYDIS_REGCLASS_TEST:
		case ZYDIS_REGCLASS_BOUND:
		case ZYDIS_REGCLASS_MASK:
		case ZYDIS_REGCLASS_TMM:
		case ZYDIS_REGCLASS_YMM:
		case ZYDIS_REGCLASS_ZMM:
			return true;
		default:
			break;
		}
	}
	return false;
}

struct verdict classify(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	struct verdict v = v_(A_RUN, ASSIST_C_NONE, ASSIST_OP_NONE);
	bool fpu = uses_fpu(in, ops);

	if (in->encoding != ZYDIS_INSTRUCTION_ENCODING_LEGACY) {
		v = v_(A_UNSUP, ASSIST_C_VEX, ASSIST_OP_NONE); /* AVX & co: invalid in Unicorn */
	} else if (in->mnemonic == ZYDIS_MNEMONIC_ENDBR64 ||
		   in->mnemonic == ZYDIS_MNEMONIC_ENDBR32) {
		v = v_(A_RUN, ASSIST_C_NONE, ASSIST_OP_NONE);
	} else if ((v = by_mnemonic(in->mnemonic)).action != A_RUN) {
		/* named */
	} else if ((in->attributes & ZYDIS_ATTRIB_HAS_LOCK) ||
		   (in->mnemonic == ZYDIS_MNEMONIC_XCHG && has_mem(in, ops))) {
		v = v_(A_KVM, ASSIST_C_LOCK, ASSIST_OP_NONE); /* atomic only in KVM */
	} else if (in->meta.category == ZYDIS_CATEGORY_IO ||
		   in->meta.category == ZYDIS_CATEGORY_IOSTRINGOP) {
		v = v_(A_KVM, ASSIST_C_IO, ASSIST_OP_NONE);
	} else if (in->meta.branch_type == ZYDIS_BRANCH_TYPE_FAR) {
		v = v_(A_KVM, ASSIST_C_FAR, ASSIST_OP_NONE);
	} else if ((in->attributes & ZYDIS_ATTRIB_IS_PRIVILEGED) ||
		   stop_category(in->meta.category) || in->meta.category == ZYDIS_CATEGORY_CET ||
		   system_operand(in, ops)) {
		v = v_(A_KVM, ASSIST_C_SYSTEM, ASSIST_OP_NONE);
	} else if (in->meta.category == ZYDIS_CATEGORY_AMD3DNOW) {
		v = v_(A_UNSUP, ASSIST_C_VEX, ASSIST_OP_NONE);
	}
	v.fpu = fpu;
	return v;
}

bool decode(struct worker *w, const uint8_t *code, size_t len, ZydisDecodedInstruction *in,
	    ZydisDecodedOperand *ops)
{
	return ZYAN_SUCCESS(ZydisDecoderDecodeFull(&w->dec, code, len, in, ops));
}
