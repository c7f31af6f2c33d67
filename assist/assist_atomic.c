/* SPDX-License-Identifier: MIT */
/* assist_atomic.c - locked instructions (LOCK prefix, XCHG with memory) in JIT mode with
 * several vCPUs, atomic against every other vCPU, in a burst or in KVM.
 *
 * Unicorn 2.0.1 runs them as plain loads and stores (hermit-abi.md g.3, rule 5), so a store of
 * another vCPU could fall between its read and its write.  Instead, the assist does what the
 * processor does, with a host atomic on guest RAM and Unicorn as the arithmetic unit:
 *   1. Zydis re-encodes the instruction with its memory operand moved to a fixed scratch
 *      address (base, index, segment and LOCK dropped): `lock cmpxchg [rdi+8], rsi` becomes
 *      `cmpxchg [0x20000], rsi`, followed by a HLT;
 *   2. the operand's current value is read from guest RAM into the scratch page of a second,
 *      tiny Unicorn instance (the ALU: no paging, two pages), the registers the instruction
 *      uses are copied in, and the ALU runs it: the new value, registers and flags are exactly
 *      what the processor computes from that old value;
 *   3. a host compare-and-swap of the operand, old value -> new value, commits it.  If another
 *      vCPU changed the operand in between, the swap fails and steps 2-3 run again.  A locked
 *      x86 instruction depends only on the operand's value, so the result is the one some
 *      order of the vCPUs' accesses would give, as on hardware.
 * Only naturally aligned operands of 1, 2, 4, 8 or 16 bytes in one RAM page the guest may write
 * and that is not a page-table frame; anything else (and BT* with a register bit offset, which
 * may address beyond the operand) is left to KVM.  No decoder or arithmetic of our own: Zydis
 * decodes and encodes, Unicorn computes. */
#include <string.h>
#include <sys/mman.h>

#include "assist_internal.h"

#define ALU_CODE   0x10000ull
#define ALU_DATA   0x20000ull
#define ALU_SLOTS  128u /* cached encodings, 32 bytes each: one 4 KiB code page */
#define ALU_SLOT   32u
#define ALU_TRIES  1000u
#define ALU_GPR(i) (1u << (i))

struct alu {
	uc_engine *uc;
	uint8_t *code, *data; /* host memory behind ALU_CODE and ALU_DATA */
	uint8_t len[ALU_SLOTS]; /* encoded length in each slot (0: empty) */
};

/* encoding order (Zydis RAX..R15) -> Unicorn register ids */
static const int gpr_ids[16] = {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
				UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
				UC_X86_REG_R8,	UC_X86_REG_R9,	UC_X86_REG_R10, UC_X86_REG_R11,
				UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};

int alu_init(struct worker *w)
{
	struct alu *a = map_anon(sizeof *a);
	uint8_t *pages = map_anon(2 * PAGE);

	if (a == NULL || pages == NULL || uc_open(UC_ARCH_X86, UC_MODE_64, &a->uc) != UC_ERR_OK ||
	    uc_ctl_set_cpu_model(a->uc, UC_CPU_X86_EPYC_ROME) != UC_ERR_OK) {
		return -1;
	}
	a->code = pages;
	a->data = pages + PAGE;
	a->code[0] = 0xf4; /* hlt: runs once below, so the JIT buffer exists before the filter */
	if (uc_mem_map_ptr(a->uc, ALU_CODE, PAGE, UC_PROT_ALL, a->code) != UC_ERR_OK ||
	    uc_mem_map_ptr(a->uc, ALU_DATA, PAGE, UC_PROT_READ | UC_PROT_WRITE, a->data) !=
		UC_ERR_OK ||
	    uc_emu_start(a->uc, ALU_CODE, 0, 0, 0) != UC_ERR_OK) {
		return -1;
	}
	w->alu = a;
	return 0;
}

void alu_fini(struct worker *w)
{
	if (w->alu != NULL) {
		uc_close(w->alu->uc);
		munmap(w->alu->code, 2 * PAGE);
		munmap(w->alu, sizeof *w->alu);
		w->alu = NULL;
	}
}

/* The general-purpose registers the instruction reads or writes (explicit and hidden). */
static uint32_t used_gprs(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	uint32_t m = 0;

	for (unsigned i = 0; i < in->operand_count; i++) {
		ZydisRegister r;
		if (ops[i].type != ZYDIS_OPERAND_TYPE_REGISTER) {
			continue;
		}
		r = ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, ops[i].reg.value);
		if (r >= ZYDIS_REGISTER_RAX && r <= ZYDIS_REGISTER_R15) {
			m |= ALU_GPR(r - ZYDIS_REGISTER_RAX);
		}
	}
	return m;
}

/* Re-encodes the instruction with its memory operand at ALU_DATA into a code slot; returns
 * the slot's guest address, or 0. */
static uint64_t alu_code(struct worker *w, const ZydisDecodedInstruction *in,
			 const ZydisDecodedOperand *ops, unsigned mem)
{
	struct alu *a = w->alu;
	ZydisEncoderRequest req;
	uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH + 1];
	ZyanUSize n = sizeof buf - 1;
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned slot;

	if (!ZYAN_SUCCESS(ZydisEncoderDecodedInstructionToEncoderRequest(
		in, ops, in->operand_count_visible, &req)) ||
	    mem >= req.operand_count) {
		return 0;
	}
	req.prefixes &= ~(ZYDIS_ATTRIB_HAS_LOCK | ZYDIS_ATTRIB_HAS_SEGMENT);
	req.operands[mem].mem.base = ZYDIS_REGISTER_NONE;
	req.operands[mem].mem.index = ZYDIS_REGISTER_NONE;
	req.operands[mem].mem.scale = 0;
	req.operands[mem].mem.displacement = (ZyanI64)ALU_DATA;
	if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&req, buf, &n)) || n + 1 > ALU_SLOT) {
		return 0;
	}
	buf[n++] = 0xf4; /* hlt: the ALU stops right after the instruction */
	for (ZyanUSize i = 0; i < n; i++) {
		h = (h ^ buf[i]) * 0x100000001b3ull;
	}
	slot = (unsigned)(h >> 57) & (ALU_SLOTS - 1);
	if (a->len[slot] != n || memcmp(a->code + slot * ALU_SLOT, buf, n) != 0) {
		uint64_t va = ALU_CODE + slot * ALU_SLOT;
		memcpy(a->code + slot * ALU_SLOT, buf, n);
		a->len[slot] = (uint8_t)n;
		ucfix_leave();
		uc_ctl_remove_cache(a->uc, va, va + ALU_SLOT); /* its old translation */
		ucfix_enter(w);
	}
	return ALU_CODE + slot * ALU_SLOT;
}

/* Copies the registers in `m` (and RFLAGS) from one instance to the other. */
static int copy_regs(uc_engine *from, uc_engine *to, uint32_t m, bool arith_only)
{
	uint64_t v, fl;

	for (unsigned i = 0; i < 16; i++) {
		if ((m & ALU_GPR(i)) && (uc_reg_read(from, gpr_ids[i], &v) != UC_ERR_OK ||
					 uc_reg_write(to, gpr_ids[i], &v) != UC_ERR_OK)) {
			return -1;
		}
	}
	if (uc_reg_read(from, UC_X86_REG_EFLAGS, &v) != UC_ERR_OK) {
		return -1;
	}
	if (arith_only) { /* only the arithmetic flags come back from the ALU */
		if (uc_reg_read(to, UC_X86_REG_EFLAGS, &fl) != UC_ERR_OK) {
			return -1;
		}
		v = (fl & ~RF_ARITH) | (v & RF_ARITH);
	}
	return uc_reg_write(to, UC_X86_REG_EFLAGS, &v) == UC_ERR_OK ? 0 : -1;
}

/* Compare-and-swap of `size` bytes at p: old -> new. */
static bool cas(void *p, const uint8_t *old, const uint8_t *new, unsigned size)
{
	uint64_t o = 0, n = 0;

	if (size == 16) {
		unsigned __int128 o16, n16;
		memcpy(&o16, old, 16);
		memcpy(&n16, new, 16);
		return __sync_bool_compare_and_swap((unsigned __int128 *)p, o16, n16);
	}
	memcpy(&o, old, size);
	memcpy(&n, new, size);
	switch (size) {
	case 1:
		return __atomic_compare_exchange_n((uint8_t *)p, (uint8_t *)(void *)&o, (uint8_t)n,
						   false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	case 2:
		return __atomic_compare_exchange_n((uint16_t *)p, (uint16_t *)(void *)&o,
						   (uint16_t)n, false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	case 4:
		return __atomic_compare_exchange_n((uint32_t *)p, (uint32_t *)(void *)&o,
						   (uint32_t)n, false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	default:
		return __atomic_compare_exchange_n((uint64_t *)p, &o, n, false, __ATOMIC_SEQ_CST,
						   __ATOMIC_SEQ_CST);
	}
}

/* The current value of the operand (a consistent snapshot is not needed: the CAS checks). */
static void load(const void *p, uint8_t *dst, unsigned size)
{
	uint64_t v[2] = {0, 0};

	switch (size) {
	case 1:
		v[0] = __atomic_load_n((const uint8_t *)p, __ATOMIC_SEQ_CST);
		break;
	case 2:
		v[0] = __atomic_load_n((const uint16_t *)p, __ATOMIC_SEQ_CST);
		break;
	case 4:
		v[0] = __atomic_load_n((const uint32_t *)p, __ATOMIC_SEQ_CST);
		break;
	default: /* 8, or 16 in two halves */
		v[0] = __atomic_load_n((const uint64_t *)p, __ATOMIC_SEQ_CST);
		if (size == 16) {
			v[1] = __atomic_load_n((const uint64_t *)p + 1, __ATOMIC_SEQ_CST);
		}
		break;
	}
	memcpy(dst, v, size);
}

/* The memory operand of a locked instruction we can do here: its index, or -1. */
static int mem_operand(const ZydisDecodedInstruction *in, const ZydisDecodedOperand *ops)
{
	int mem = -1;

	for (unsigned i = 0; i < in->operand_count_visible; i++) {
		if (ops[i].type == ZYDIS_OPERAND_TYPE_MEMORY) {
			if (mem >= 0 || ops[i].mem.type != ZYDIS_MEMOP_TYPE_MEM) {
				return -1;
			}
			mem = (int)i;
		} else if (ops[i].type == ZYDIS_OPERAND_TYPE_REGISTER &&
			   (in->mnemonic == ZYDIS_MNEMONIC_BTS ||
			    in->mnemonic == ZYDIS_MNEMONIC_BTR ||
			    in->mnemonic == ZYDIS_MNEMONIC_BTC)) {
			return -1; /* a register bit offset may reach beyond the operand */
		}
	}
	return mem;
}

/* Host address of the operand if the assist may do the access: RAM, writable for the guest,
 * not a page-table frame, naturally aligned (so in one page). */
static uint8_t *operand_host(struct worker *w, uint64_t ea, unsigned size)
{
	uint64_t pa, eff;

	if ((size != 1 && size != 2 && size != 4 && size != 8 && size != 16) || ea % size != 0 ||
	    gwalk(w, ea, &pa, &eff) != 0 || (!(eff & PTE_W) && !w->wp_off) ||
	    !ram_has(w->ram, pa, size) || is_frame(w, pa & ~(PAGE - 1))) {
		return NULL;
	}
	return ram_host(w->ram, pa);
}

/* Runs the ALU on `old` until the swap commits; 0 done, 1 gave up, -1 failed. */
static int commit(struct worker *w, uint64_t code, uint8_t *p, unsigned size, uint32_t regs)
{
	struct alu *a = w->alu;
	uint8_t old[16], new[16];

	for (unsigned t = 0; t < ALU_TRIES; t++) {
		load(p, old, size);
		memcpy(a->data, old, size);
		uc_err e = UC_ERR_ARG;
		if (copy_regs(w->uc, a->uc, regs, false) == 0) {
			ucfix_leave(); /* the ALU has no paging: Unicorn's own addresses */
			e = uc_emu_start(a->uc, code, 0, 0, 0);
			ucfix_enter(w);
		}
		if (e != UC_ERR_OK) {
			return 1; /* the ALU could not run it: KVM can */
		}
		memcpy(new, a->data, size);
		if (cas(p, old, new, size)) {
			return copy_regs(a->uc, w->uc, regs, true);
		}
	}
	return 1; /* contended for too long: KVM's turn */
}

int atomic_complete(struct worker *w, const ZydisDecodedInstruction *in,
		    const ZydisDecodedOperand *ops, uint64_t rip)
{
	int mem = mem_operand(in, ops);
	uint64_t ea, code;
	uint8_t *p;
	unsigned size;

	if (w->alu == NULL || mem < 0 || effective_address(w, in, &ops[mem], rip, &ea) != 0) {
		return 1;
	}
	size = ops[mem].size / 8;
	if ((p = operand_host(w, ea, size)) == NULL ||
	    (code = alu_code(w, in, ops, (unsigned)mem)) == 0) {
		return 1; /* KVM faults, or does it right */
	}
	return commit(w, code, p, size, used_gprs(in, ops));
}
