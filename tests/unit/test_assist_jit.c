/* SPDX-License-Identifier: MIT */
/* test_assist_jit.c - JIT mode of the assist process (assist_jit.c, assist_atomic.c,
 * assist_incr.c), without a VM: bursts over a fake guest RAM with identity page tables.
 * What runs in a burst and what ends it (port I/O, batched port writes, HLT, a spin loop,
 * interrupts due: flag, doorbell, deadline, the STI shadow), what the assist completes itself
 * (RDTSC with the VMM's offset, POPCNT (TZCNT and LZCNT run in Unicorn), reads of CR3 and CS,
 * INVLPG, RDMSR and WRMSR of the FS and GS bases, CLTS and MOV to CR0 changing CR0.TS, #NM under
 * CR0.TS, WRMSR of the x2APIC's LVT timer, EOI and ICR), page tables written in a burst and
 * followed without a rebuild, the recursive slot, and locked instructions with host atomics, exact
 * (each instruction form against its plain execution) and atomic (two workers on two threads
 * incrementing one counter).  Linked with the assist's files other than its process. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <x86intrin.h>

#include <cmocka.h>

#include "assist_internal.h"

#define RAM0  0x200000ull
#define RAMSZ (8ull << 20)
#define PML4  (RAM0 + 0x1000)
#define PDPT  (RAM0 + 0x2000)
#define PD    (RAM0 + 0x3000)
#define PT    (RAM0 + 0x4000)
#define CODE  (RAM0 + 0x9000)
#define DATA  (RAM0 + 0x10000)

static struct ram ram;
static uint32_t doorbells[2];

static uint64_t *ram_u64(uint64_t pa)
{
	return (uint64_t *)(void *)ram_host(&ram, pa);
}

/* Identity: the first 2 MiB of RAM in 4 KiB pages (tables included), the rest in 2 MiB pages;
 * the recursive slot 511. */
static void build_tables(void)
{
	uint64_t *pml4 = ram_u64(PML4), *pdpt = ram_u64(PDPT), *pd = ram_u64(PD), *pt = ram_u64(PT);

	memset(ram.base, 0, 0x8000);
	pml4[0] = PDPT | PTE_P | PTE_W;
	pml4[511] = PML4 | PTE_P | PTE_W;
	pdpt[0] = PD | PTE_P | PTE_W;
	pd[1] = PT | PTE_P | PTE_W;
	for (unsigned i = 0; i < 512; i++) {
		pt[i] = (RAM0 + i * PAGE) | PTE_P | PTE_W;
	}
	for (unsigned i = 2; i < 5; i++) {
		pd[i] = (i * (2ull << 20)) | PTE_P | PTE_W | PTE_PS;
	}
}

static struct worker *new_worker(unsigned id)
{
	struct worker *w = calloc(1, sizeof *w);

	assert_non_null(w);
	w->id = id;
	w->ram = &ram;
	w->smp = true;
	w->doorbell = &doorbells[id];
	assert_int_equal(alloc_worker(w), 0);
	assert_int_equal(init_uc(w), 0);
	assert_int_equal(alu_init(w), 0);
	return w;
}

static void free_worker(struct worker *w)
{
	alu_fini(w);
	release_worker(w);
	free(w);
}

static int setup(void **state)
{
	ram = (struct ram){.base = calloc(1, RAMSZ), .start = RAM0, .size = RAMSZ};
	assert_non_null(ram.base);
	build_tables();
	*state = new_worker(0);
	return 0;
}

static int teardown(void **state)
{
	free_worker(*state);
	free(ram.base);
	return 0;
}

/* A JIT-mode request: `code` at CODE, RSP in RAM, IF as given. */
static void request(struct worker *w, const uint8_t *code, size_t len, bool if_on)
{
	memcpy(ram_host(&ram, CODE), code, len);
	/* new code at the same address: jit_switch() forgets the decoded blocks, so the block
	 * hook cannot see the change; drop Unicorn's translations of the old code here */
	uc_ctl_remove_cache(w->uc, CODE, CODE + PAGE);
	w->in = (struct assist_req){.magic = ASSIST_PROTO_MAGIC,
				    .flags = ASSIST_F_JIT,
				    .max_insns = 100000,
				    .doorbell = *w->doorbell};
	w->in.regs = (struct kvm_regs){
	    .rip = CODE, .rsp = RAM0 + 0x20000, .rflags = 2 | (if_on ? RF_IF : 0)};
	w->in.sregs = (struct kvm_sregs){
	    .cr3 = PML4, .cr0 = CR0_PG | CR0_WP, .cr4 = CR4_PAE, .efer = EFER_LMA | EFER_NXE};
	w->in.sregs.cs.l = 1;
	w->in.sregs.cs.selector = 0x08;
	((struct fxarea *)(void *)w->in.xsave.region)->fcw = 0x37f;
	((struct fxarea *)(void *)w->in.xsave.region)->mxcsr = 0x1f80;
	w->in.batch[0] = (struct assist_pio){.port = 0x3f8, .size = 1};
}

/* IN/OUT end a burst for the VMM; OUTs to a batched port are collected; CLI/STI/POPF run. */
static void port_io(void **state)
{
	/* cli; mov al,'a'; mov dx,0x3f8; out dx,al; out dx,al; sti; pushf; popf; out 0x80,al;
	 * in eax,dx */
	static const uint8_t code[] = {0xfa, 0xb0, 0x61, 0x66, 0xba, 0xf8, 0x03, 0xee,
				       0xee, 0xfb, 0x9c, 0x9d, 0xe6, 0x80, 0xed};
	struct worker *w = *state;

	request(w, code, sizeof code, false);
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.insn.op, ASSIST_OP_PIO);
	assert_int_equal(w->out.insn.port, 0x80);
	assert_int_equal(w->out.insn.io_size, 1);
	assert_int_equal(w->out.insn.io_out, 1);
	assert_int_equal(w->out.insn.len, 2);
	assert_int_equal(w->out.regs.rip, CODE + 12);
	assert_int_equal(w->out.regs.rflags & RF_IF, RF_IF); /* STI ran in the burst */
	assert_int_equal(w->out.npio, 2);
	assert_int_equal(w->out.pio[0].port, 0x3f8);
	assert_int_equal(w->out.pio[1].value, 'a');
	assert_true(ucfix_light_block_call()); /* the block hook's call saves no registers */
	assert_null(assist_reply_check(&w->out, ASSIST_RESP_SHORT));
	/* the IN from DX, four bytes */
	w->in.regs = w->out.regs;
	w->in.regs.rip += 2;
	burst(w);
	assert_int_equal(w->out.insn.port, 0x3f8);
	assert_int_equal(w->out.insn.io_size, 4);
	assert_int_equal(w->out.insn.io_out, 0);
}

#if !defined(__SANITIZE_ADDRESS__)
/* The worker's code buffer lies within 2 GiB of the program's text (assist_ucfix.c, 6), so TCG
 * calls on_block and the SSE helpers directly; and the bursts above ran from it.  Not in the
 * ASan build: its shadow holds that range, and the buffer goes where mmap puts it, as before
 * (a skipped subtest counts as failed in meson's TAP reading). */
static void code_near(void **state)
{
	(void)state;
	assert_true(ucfix_code_near_count() >= 1);
}
#endif

/* Several vCPUs: a batched byte '\n' ends the burst right after it (the line is out before the
 * guest lets its lock go); with one vCPU the burst goes on to the HLT. */
static void line_end(void **state)
{
	/* mov dx, 0x3f8; mov al, 'a'; out dx, al; mov al, '\n'; out dx, al; mov al, 'b';
	 * out dx, al; hlt */
	static const uint8_t code[] = {0x66, 0xba, 0xf8, 0x03, 0xb0, 0x61, 0xee,
				       0xb0, 0x0a, 0xee, 0xb0, 0x62, 0xee, 0xf4};
	struct worker *w = *state;

	request(w, code, sizeof code, false);
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_CAP);
	assert_int_equal(w->out.regs.rip, CODE + 10);
	assert_int_equal(w->out.npio, 2);
	assert_int_equal(w->out.pio[1].value, '\n');

	w->smp = false;
	request(w, code, sizeof code, false);
	burst(w);
	w->smp = true;
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.insn.op, ASSIST_OP_HLT);
	assert_int_equal(w->out.npio, 3);
	exits_clear(w); /* its stop points (the OUTs) sit where the next test has other code */
}

/* Ports the request names as answered by nothing (a VM without PCI devices: the configuration
 * data port) are completed in the burst: IN reads all ones (EAX zero-extended, AL and AX
 * merged), OUT goes nowhere; a port past the range still ends it. */
static void absent_ports(void **state)
{
	/* mov rax, -2 << 32 | 0x1234; mov dx, 0xcfc; in al, dx; mov rbx, rax; in ax, dx;
	 * mov rsi, rax; in eax, dx; out dx, eax; mov dx, 0xcfe; in eax, dx */
	static const uint8_t code[] = {0x48, 0xb8, 0x34, 0x12, 0x00, 0x00, 0xfe, 0xff, 0xff, 0xff,
				       0x66, 0xba, 0xfc, 0x0c, 0xec, 0x48, 0x89, 0xc3, 0x66, 0xed,
				       0x48, 0x89, 0xc6, 0xed, 0xef, 0x66, 0xba, 0xfe, 0x0c, 0xed};
	struct worker *w = *state;

	request(w, code, sizeof code, false);
	w->in.absent_port = 0xcfc;
	w->in.absent_len = 4;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM); /* IN EAX at 0xcfe: past the range */
	assert_int_equal(w->out.insn.port, 0xcfe);
	assert_int_equal(w->out.regs.rip, CODE + sizeof code - 1);
	assert_int_equal(w->out.regs.rbx, 0xfffffffe000012ffull); /* AL */
	assert_int_equal(w->out.regs.rsi, 0xfffffffe0000ffffull); /* AX */
	assert_int_equal(w->out.regs.rax, 0xffffffffull); /* EAX, zero-extended */
	assert_int_equal(w->out.npio, 0);

	request(w, code, sizeof code, false); /* without the range: the first IN is the VMM's */
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.insn.port, 0xcfc);
	assert_int_equal(w->out.regs.rip, CODE + 14);
}

/* RDTSC with the VMM's offset, MOV from CR3 and CS: completed in the assist; HLT is the
 * VMM's; PAUSE runs, and a long PAUSE loop lets the host CPU go. */
static void completions(void **state)
{
	/* rdtsc; mov rbx, cr3; mov ecx, cs; pause; hlt */
	static const uint8_t code[] = {0x0f, 0x31, 0x0f, 0x20, 0xdb, 0x8c, 0xc9, 0xf3, 0x90, 0xf4};
	/* pause; jmp pause */
	static const uint8_t spin[] = {0xf3, 0x90, 0xeb, 0xfc};
	struct worker *w = *state;
	uint64_t t0, tsc;

	request(w, code, sizeof code, true);
	w->in.tsc_offset = -(int64_t)(1ull << 40);
	t0 = __rdtsc();
	burst(w);
	tsc = ((uint64_t)(uint32_t)w->out.regs.rdx << 32) | (uint32_t)w->out.regs.rax;
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.insn.op, ASSIST_OP_HLT);
	assert_int_equal(w->out.regs.rip, CODE + 9);
	assert_true(tsc + (1ull << 40) >= t0 && tsc + (1ull << 40) <= __rdtsc());
	assert_int_equal(w->out.regs.rbx, PML4);
	assert_int_equal(w->out.regs.rcx, 0x08);
	assert_int_equal(w->out.counts.completed, 3);

	request(w, spin, sizeof spin, true);
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.insn.op, ASSIST_OP_PAUSE);
	assert_int_equal(w->out.regs.rip, CODE); /* the loop goes on there */
	assert_int_equal(w->out.counts.completed, 0); /* Unicorn runs PAUSE */
}

/* TZCNT and LZCNT run in Unicorn (the worker's probe found its results and flags exact),
 * zero inputs included, where BSF/BSR would leave the destination alone; POPCNT, which
 * Unicorn 2.0.1 lacks, is still completed in the assist. */
static void bitcounts_in_unicorn(void **state)
{
	/* xor ebx, ebx; mov rax, -1; tzcnt rax, rbx; mov rcx, rax; pushfq; pop r8;
	 * mov edx, 0x100; lzcnt edx, edx; pushfq; pop r9; mov esi, 0xf0; popcnt rsi, rsi; hlt */
	static const uint8_t code[] = {0x31, 0xdb, 0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff,
				       0xf3, 0x48, 0x0f, 0xbc, 0xc3, 0x48, 0x89, 0xc1, 0x9c,
				       0x41, 0x58, 0xba, 0x00, 0x01, 0x00, 0x00, 0xf3, 0x0f,
				       0xbd, 0xd2, 0x9c, 0x41, 0x59, 0xbe, 0xf0, 0x00, 0x00,
				       0x00, 0xf3, 0x48, 0x0f, 0xb8, 0xf6, 0xf4};
	struct worker *w = *state;

	assert_true(w->bitcounts_native); /* else JIT mode stops at each: slower, not wrong */
	request(w, code, sizeof code, false);
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.insn.op, ASSIST_OP_HLT);
	assert_int_equal(w->out.regs.rcx, 64);
	assert_int_equal(w->out.regs.r8 & RF_ARITH, RF_CF);
	assert_int_equal(w->out.regs.rdx, 23); /* 32 bits, zero-extended */
	assert_int_equal(w->out.regs.r9 & RF_ARITH, 0);
	assert_int_equal(w->out.regs.rsi, 4);
	assert_int_equal(w->out.counts.completed, 1); /* the POPCNT */
	exits_clear(w);
}

/* RDMSR of the FS and GS bases: completed in the assist from the bases the burst runs with;
 * any other MSR (here KERNEL_GS_BASE) ends the burst for KVM, before the instruction. */
static void rdmsr_bases(void **state)
{
	/* mov ecx, 0xc0000101; rdmsr; mov r8, rax; mov r9, rdx; mov ecx, 0xc0000100; rdmsr;
	 * mov ecx, 0xc0000102; rdmsr */
	static const uint8_t code[] = {0xb9, 0x01, 0x01, 0x00, 0xc0, 0x0f, 0x32, 0x49, 0x89,
				       0xc0, 0x49, 0x89, 0xd1, 0xb9, 0x00, 0x01, 0x00, 0xc0,
				       0x0f, 0x32, 0xb9, 0x02, 0x01, 0x00, 0xc0, 0x0f, 0x32};
	struct worker *w = *state;

	request(w, code, sizeof code, false);
	w->in.sregs.fs.base = 0x123456789abcull;
	w->in.sregs.gs.base = 0xffff800000001000ull;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_KVM);
	assert_int_equal(w->out.insn.cls, ASSIST_C_SYSTEM);
	assert_int_equal(w->out.regs.rip, CODE + 25);
	assert_int_equal(w->out.regs.rax, 0x56789abc);
	assert_int_equal(w->out.regs.rdx, 0x1234);
	assert_int_equal(w->out.regs.r8, 0x00001000);
	assert_int_equal(w->out.regs.r9, 0xffff8000);
	assert_int_equal(w->out.regs.rcx, 0xc0000102);
	assert_int_equal(w->out.counts.completed, 2);
	assert_null(assist_reply_check(&w->out, ASSIST_RESP_SHORT));
}

/* WRMSR of the FS and GS bases, CLTS and MOV to CR0 changing CR0.TS alone: completed in the
 * assist, the reply carries the new state; from CR0.TS set on, x87/SSE code stops the burst
 * (#NM).  A non-canonical base, another MSR or another CR0 bit is KVM's. */
static void system_writes(void **state)
{
	/* mov ecx, 0xc0000100; mov eax, 0x89abcdef; mov edx, 0x1234; wrmsr; clts;
	 * mov rax, cr0; or rax, 8; mov cr0, rax; nop; xorps xmm0, xmm0; hlt (the NOP makes
	 * Unicorn run the block with XORPS: the block hook must know CR0.TS is set) */
	static const uint8_t code[] = {0xb9, 0x00, 0x01, 0x00, 0xc0, 0xb8, 0xef, 0xcd, 0xab,
				       0x89, 0xba, 0x34, 0x12, 0x00, 0x00, 0x0f, 0x30, 0x0f,
				       0x06, 0x0f, 0x20, 0xc0, 0x48, 0x83, 0xc8, 0x08, 0x0f,
				       0x22, 0xc0, 0x90, 0x0f, 0x57, 0xc0, 0xf4};
	/* mov ecx, 0xc0000101; mov edx, 0x8000; wrmsr (eax 0: 0x800000000000, not canonical) */
	static const uint8_t bad_base[] = {0xb9, 0x01, 0x01, 0x00, 0xc0, 0xba,
					   0x00, 0x80, 0x00, 0x00, 0x0f, 0x30};
	/* mov rax, cr0; or rax, 2; mov cr0, rax (CR0.MP) */
	static const uint8_t other_bit[] = {0x0f, 0x20, 0xc0, 0x48, 0x83,
					    0xc8, 0x02, 0x0f, 0x22, 0xc0};
	struct worker *w = *state;

	request(w, code, sizeof code, false);
	w->in.sregs.cr0 |= CR0_TS;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_NM);
	assert_int_equal(w->out.regs.rip, CODE + 30); /* before XORPS */
	assert_int_equal(w->out.sys.flags, ASSIST_SYS_FS_BASE | ASSIST_SYS_CR0);
	assert_int_equal(w->out.sys.fs_base, 0x123489abcdefull);
	assert_int_equal(w->out.sys.cr0, CR0_PG | CR0_WP | CR0_TS);
	assert_int_equal(w->out.counts.completed, 4); /* WRMSR, CLTS, MOV from and to CR0 */
	assert_null(assist_reply_check(&w->out, ASSIST_RESP_SHORT));

	request(w, bad_base, sizeof bad_base, false);
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_KVM);
	assert_int_equal(w->out.regs.rip, CODE + 10);
	assert_int_equal(w->out.sys.flags, 0);

	request(w, other_bit, sizeof other_bit, false);
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_KVM);
	assert_int_equal(w->out.insn.cls, ASSIST_C_SYSTEM);
	assert_int_equal(w->out.regs.rip, CODE + 7);
	assert_int_equal(w->out.sys.flags, 0);
}

/* IRETQ back to the same code and stack segments, changing only flags the reply carries (with
 * TF and RF dropped: KVM leaves them in frames it pushes while single-stepping), completes in
 * the assist and the burst goes on at the frame's RIP; any other IRET is KVM's, before it. */
static void iret_same_segments(void **state)
{
	/* iretq; (CODE + 2:) inc rbx; hlt */
	static const uint8_t code[] = {0x48, 0xcf, 0x48, 0xff, 0xc3, 0xf4};
	const uint64_t sp = RAM0 + 0x20000, sp2 = RAM0 + 0x30000;
	uint64_t *frame = ram_u64(sp);
	struct worker *w = *state;

	request(w, code, sizeof code, false);
	w->in.sregs.ss.selector = 0x10;
	frame[0] = CODE + 2, frame[1] = 0x08, frame[2] = 0x10302, frame[3] = sp2, frame[4] = 0x10;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.insn.op, ASSIST_OP_HLT);
	assert_int_equal(w->out.regs.rip, CODE + 5);
	assert_int_equal(w->out.regs.rbx, 1);
	assert_int_equal(w->out.regs.rsp, sp2);
	assert_int_equal(w->out.regs.rflags & (RF_IF | RF_TF | RF_RF), RF_IF);
	assert_int_equal(w->out.counts.completed, 1);

	/* another code segment, IOPL, a non-canonical RIP, NMIs blocked: KVM's */
	for (unsigned i = 0; i < 4; i++) {
		request(w, code, sizeof code, false);
		w->in.sregs.ss.selector = 0x10;
		frame[0] = i == 2 ? 1ull << 47 : CODE + 2, frame[1] = i == 0 ? 0x18 : 0x08;
		frame[2] = i == 1 ? 0x3202 : 0x202, frame[3] = sp2, frame[4] = 0x10;
		w->in.flags |= i == 3 ? ASSIST_F_NMI_BLOCKED : 0;
		burst(w);
		assert_int_equal(w->out.stop, ASSIST_STOP_KVM);
		assert_int_equal(w->out.insn.cls, ASSIST_C_IFLAG);
		assert_int_equal(w->out.regs.rip, CODE);
		assert_int_equal(w->out.regs.rsp, sp);
	}
}

/* WRMSR IA32_TSC_DEADLINE completes in the assist: the reply carries the value and the burst
 * ends at the new deadline (host TSC: the guest's minus the offset). */
static void tsc_deadline(void **state)
{
	/* mov ecx, 0x6e0; mov eax, 5; xor edx, edx; wrmsr; loop: inc rax; jmp loop */
	static const uint8_t code[] = {0xb9, 0xe0, 0x06, 0x00, 0x00, 0xb8, 0x05, 0x00, 0x00, 0x00,
				       0x31, 0xd2, 0x0f, 0x30, 0x48, 0xff, 0xc0, 0xeb, 0xfb};
	struct worker *w = *state;

	/* guest TSC 5 is in the past (offset 0): the burst ends for the timer, with IF 1 */
	request(w, code, sizeof code, true);
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_IRQ);
	assert_int_equal(w->out.sys.flags, ASSIST_SYS_TSC_DEADLINE);
	assert_int_equal(w->out.sys.tsc_deadline, 5);
	assert_true(w->out.counts.insns < 2 * CHECK_EVERY);
	assert_null(assist_reply_check(&w->out, ASSIST_RESP_SHORT));

	/* an offset that puts it far in the future: the cap ends the burst */
	request(w, code, sizeof code, true);
	w->in.tsc_offset = -(int64_t)(1ull << 62);
	w->in.max_insns = 20000;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_CAP);
	assert_int_equal(w->out.sys.tsc_deadline, 5);
}

/* #NM under CR0.TS delivered in the burst (assist_jit.c nm_deliver): the frame the processor
 * pushes (faulting RIP, CS, RFLAGS with RF, RSP, SS) on the stack aligned down to 16 bytes, or on
 * the gate's IST stack from the TSS; IF cleared by an interrupt gate; the burst goes on in the
 * handler.  A gate that is not present, an IDT too short for vector 7 or another code segment:
 * the burst stops before the instruction (ASSIST_STOP_NM), as before. */
static void set_gate7(uint64_t idt, uint64_t handler, uint16_t sel, uint8_t ist, uint8_t type)
{
	uint8_t *g = ram_host(&ram, idt + 7 * 16);

	memset(g, 0, 16);
	g[0] = (uint8_t)handler, g[1] = (uint8_t)(handler >> 8);
	g[2] = (uint8_t)sel, g[3] = (uint8_t)(sel >> 8);
	g[4] = ist, g[5] = type;
	g[6] = (uint8_t)(handler >> 16), g[7] = (uint8_t)(handler >> 24);
	memcpy(g + 8, (const uint8_t *)&handler + 4, 4);
}

static void nm_in_burst(void **state)
{
	/* xorps xmm0, xmm0; hlt; (CODE + 0x40, the handler:) inc rbx; hlt */
	static const uint8_t code[0x44] = {0x0f, 0x57, 0xc0, 0xf4, [0x40] = 0x48, 0xff, 0xc3, 0xf4};
	const uint64_t idt = DATA + 0x1000, tss = DATA + 0x2000, ist1 = RAM0 + 0x40008;
	const uint64_t sp = RAM0 + 0x20008; /* not 16-byte aligned */
	struct worker *w = *state;
	uint64_t *f;

	for (unsigned ist = 0; ist < 2; ist++) {
		request(w, code, sizeof code, true);
		w->in.sregs.cr0 |= CR0_TS;
		w->in.regs.rsp = sp;
		w->in.sregs.ss.selector = 0x10;
		w->in.sregs.idt = (struct kvm_dtable){.base = idt, .limit = 0xfff};
		w->in.sregs.tr = (struct kvm_segment){
		    .base = tss, .limit = 0x67, .type = 11, .present = 1, .selector = 0x28};
		memcpy(ram_host(&ram, tss + 0x24), &ist1, sizeof ist1);
		set_gate7(idt, CODE + 0x40, 0x08, (uint8_t)ist, 0x8e); /* interrupt gate */
		burst(w);
		assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
		assert_int_equal(w->out.insn.op, ASSIST_OP_HLT);
		assert_int_equal(w->out.regs.rip, CODE + 0x43);
		assert_int_equal(w->out.regs.rbx, 1);
		assert_int_equal(w->out.regs.rsp, ((ist ? ist1 : sp) & ~0xfull) - 40);
		assert_int_equal(w->out.regs.rflags & RF_IF, 0);
		assert_int_equal(w->out.counts.completed, 1);
		f = ram_u64(w->out.regs.rsp);
		assert_int_equal(f[0], CODE); /* the faulting instruction, run again after IRET */
		assert_int_equal(f[1], 0x08);
		assert_int_equal(f[2] & (RF_IF | RF_RF), RF_IF | RF_RF);
		assert_int_equal(f[3], sp);
		assert_int_equal(f[4], 0x10);
	}
	/* a trap gate keeps IF */
	request(w, code, sizeof code, true);
	w->in.sregs.cr0 |= CR0_TS;
	w->in.sregs.idt = (struct kvm_dtable){.base = idt, .limit = 0xfff};
	set_gate7(idt, CODE + 0x40, 0x08, 0, 0x8f);
	burst(w);
	assert_int_equal(w->out.regs.rip, CODE + 0x43);
	assert_int_equal(w->out.regs.rflags & RF_IF, RF_IF);
	/* not present, too short an IDT, another code segment, an IST without a TSS: KVM's */
	for (unsigned i = 0; i < 4; i++) {
		request(w, code, sizeof code, true);
		w->in.sregs.cr0 |= CR0_TS;
		w->in.sregs.idt = (struct kvm_dtable){.base = idt, .limit = i == 1 ? 0x6f : 0xfff};
		set_gate7(idt, CODE + 0x40, i == 2 ? 0x18 : 0x08, i == 3 ? 1 : 0,
			  i == 0 ? 0x0e : 0x8e);
		burst(w);
		assert_int_equal(w->out.stop, ASSIST_STOP_NM);
		assert_int_equal(w->out.regs.rip, CODE);
		assert_int_equal(w->out.regs.rsp, RAM0 + 0x20000);
		assert_int_equal(w->out.counts.completed, 0);
	}
}

/* WRMSR of the x2APIC LVT timer (ASSIST_F_X2APIC): completed, the reply carries the last value
 * and whether it left TSC-deadline mode (which drops a deadline written before); a deadline
 * written outside TSC-deadline mode is ignored, as by the LAPIC.  Without the flag, with a
 * reserved value or with the armed timer due, it is KVM's. */
#define WRMSR_ECX_EAX(ecx, eax)                                                                    \
	0xb9, (uint8_t)(ecx), (uint8_t)((ecx) >> 8), 0, 0, 0xb8, (uint8_t)(eax),                   \
	    (uint8_t)((eax) >> 8), (uint8_t)((eax) >> 16), (uint8_t)((eax) >> 24), 0x31, 0xd2,     \
	    0x0f, 0x30

static void lvt_timer(void **state)
{
	/* deadline 0x100 (one-shot mode: ignored); TSC-deadline mode, vector 0x7b; deadline 0x200;
	 * hlt */
	static const uint8_t arm[] = {WRMSR_ECX_EAX(0x6e0, 0x100), WRMSR_ECX_EAX(0x832, 0x4007b),
				      WRMSR_ECX_EAX(0x6e0, 0x200), 0xf4};
	/* deadline 0x300; masked one-shot (disarms it); hlt */
	static const uint8_t disarm[] = {WRMSR_ECX_EAX(0x6e0, 0x300), WRMSR_ECX_EAX(0x832, 0x10000),
					 0xf4};
	/* bit 19 set: reserved */
	static const uint8_t reserved[] = {WRMSR_ECX_EAX(0x832, 0x80000), 0xf4};
	struct worker *w = *state;

	request(w, arm, sizeof arm, false);
	w->in.flags |= ASSIST_F_X2APIC;
	w->in.lvtt = 0x10000;
	w->in.tsc_offset = -(int64_t)(1ull << 62); /* deadlines far ahead: nothing is due */
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.sys.flags, ASSIST_SYS_LVTT | ASSIST_SYS_TSC_DEADLINE);
	assert_int_equal(w->out.sys.lvtt, 0x4007b);
	assert_int_equal(w->out.sys.tsc_deadline, 0x200);
	assert_int_equal(w->out.counts.completed, 3);
	assert_null(assist_reply_check(&w->out, ASSIST_RESP_SHORT));
	assert_null(assist_sys_check(&w->out.sys, w->in.sregs.cr0, w->in.flags));

	request(w, disarm, sizeof disarm, false);
	w->in.flags |= ASSIST_F_X2APIC;
	w->in.lvtt = 0x4007b;
	w->in.tsc_offset = -(int64_t)(1ull << 62);
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.sys.flags, ASSIST_SYS_LVTT | ASSIST_SYS_LVTT_RESET);
	assert_int_equal(w->out.sys.lvtt, 0x10000);

	/* not in x2APIC mode; a reserved bit; the armed timer due */
	for (unsigned i = 0; i < 3; i++) {
		request(w, i == 1 ? reserved : disarm, i == 1 ? sizeof reserved : sizeof disarm,
			false);
		w->in.flags |= i == 0 ? 0 : ASSIST_F_X2APIC;
		w->in.lvtt = 0x4007b;
		w->in.deadline = i == 2 ? 1 : 0; /* host TSC 1: long past */
		w->in.tsc_offset = -(int64_t)(1ull << 62);
		burst(w);
		assert_int_equal(w->out.stop, ASSIST_STOP_KVM);
		assert_int_equal(w->out.regs.rip, i == 1 ? CODE + 12 : CODE + 26);
		assert_int_equal(w->out.sys.flags & ASSIST_SYS_LVTT, 0);
	}
}

/* x2APIC EOI (value 0, once a burst): completed, the burst goes on (and ends where IF is 1
 * when KVM holds another vector in IRR, ASSIST_F_IRR);
 * x2APIC ICR with a fixed interrupt: completed, the burst ends right after it.  A second EOI, an
 * INIT, or no x2APIC flag: KVM's. */
static void eoi_and_ipi(void **state)
{
	/* EOI; inc rbx; sti; nop; inc rbx; jmp next; next: inc rbx; hlt */
	static const uint8_t eoi[] = {WRMSR_ECX_EAX(0x80b, 0),
				      0x48,
				      0xff,
				      0xc3,
				      0xfb,
				      0x90,
				      0x48,
				      0xff,
				      0xc3,
				      0xeb,
				      0x00,
				      0x48,
				      0xff,
				      0xc3,
				      0xf4};
	/* EOI; EOI */
	static const uint8_t eoi2[] = {WRMSR_ECX_EAX(0x80b, 0), WRMSR_ECX_EAX(0x80b, 0)};
	/* mov edx, 1 (destination APIC 1); ICR vector 0x40; inc rbx; hlt */
	static const uint8_t ipi[] = {0xb9, 0x30, 0x08, 0, 0,	 0xb8, 0x40, 0,	   0,	 0,   0xba,
				      0x01, 0,	  0,	0, 0x0f, 0x30, 0x48, 0xff, 0xc3, 0xf4};
	/* ICR INIT (delivery mode 5) */
	static const uint8_t init[] = {WRMSR_ECX_EAX(0x830, 0x500), 0xf4};
	struct worker *w = *state;

	/* KVM holds another vector in IRR: the EOI may uncover it, the burst ends at IF 1 */
	request(w, eoi, sizeof eoi, false);
	w->in.flags |= ASSIST_F_X2APIC | ASSIST_F_IRR;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_IRQ);
	assert_int_equal(w->out.sys.flags, ASSIST_SYS_EOI);
	assert_true(w->out.regs.rbx >= 1 && w->out.regs.rbx <= 2);
	assert_int_equal(w->out.regs.rflags & RF_IF, RF_IF);
	assert_null(assist_reply_check(&w->out, ASSIST_RESP_SHORT));

	/* IRR empty: nothing to uncover, the burst goes on (to the HLT) */
	request(w, eoi, sizeof eoi, false);
	w->in.flags |= ASSIST_F_X2APIC;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.insn.op, ASSIST_OP_HLT);
	assert_int_equal(w->out.sys.flags, ASSIST_SYS_EOI);
	assert_int_equal(w->out.regs.rbx, 3);

	request(w, eoi2, sizeof eoi2, false);
	w->in.flags |= ASSIST_F_X2APIC;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_KVM);
	assert_int_equal(w->out.regs.rip, CODE + 26); /* the second WRMSR */
	assert_int_equal(w->out.sys.flags, ASSIST_SYS_EOI);

	request(w, ipi, sizeof ipi, true);
	w->in.flags |= ASSIST_F_X2APIC;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_CAP);
	assert_int_equal(w->out.regs.rip, CODE + 17); /* right after the WRMSR */
	assert_int_equal(w->out.regs.rbx, 0);
	assert_int_equal(w->out.sys.flags, ASSIST_SYS_ICR);
	assert_int_equal(w->out.sys.icr, 0x100000040ull);
	assert_null(assist_reply_check(&w->out, ASSIST_RESP_SHORT));

	for (unsigned i = 0; i < 2; i++) {
		request(w, i == 0 ? init : ipi, i == 0 ? sizeof init : sizeof ipi, true);
		w->in.flags |= i == 0 ? ASSIST_F_X2APIC : 0;
		burst(w);
		assert_int_equal(w->out.stop, ASSIST_STOP_KVM);
		assert_int_equal(w->out.regs.rip, i == 0 ? CODE + 12 : CODE + 15);
		assert_int_equal(w->out.sys.flags, 0);
	}
}

/* XSAVE and XRSTOR of the standard format with the guest's XCR0 in the request: completed in
 * the burst, the area written and read as the VMM would (components beyond SSE from the
 * request's copy); a misaligned area, or no XCR0, is the VMM's (a stop before it). */
static void xsave_xrstor(void **state)
{
	/* xsave [rdi]; pxor xmm1, xmm1; xrstor [rdi]; hlt */
	static const uint8_t code[] = {0x0f, 0xae, 0x27, 0x66, 0x0f, 0xef,
				       0xc9, 0x0f, 0xae, 0x2f, 0xf4};
	static const uint8_t pat[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct worker *w = *state;
	uint8_t *area = ram_host(&ram, DATA);
	uint64_t bv, xcr0 = 3;
	uint32_t avx_off = w->geom.d[2][1], avx_size = w->geom.d[2][0];

	if (avx_size == 256 && avx_off >= XSAVE_EXT && avx_off + 256 <= XSAVE_MAX) {
		xcr0 |= 4; /* the processor has AVX: its upper halves come from the request */
	}
	request(w, code, sizeof code, false);
	w->in.flags |= ASSIST_F_XCR0;
	w->in.xcr0 = xcr0;
	w->in.regs.rdi = DATA;
	w->in.regs.rax = w->in.regs.rdx = 0xffffffff;
	memcpy((uint8_t *)w->in.xsave.region + 160 + 16, pat, sizeof pat); /* XMM1 */
	if (xcr0 & 4) {
		memset((uint8_t *)w->in.xsave.region + avx_off, 0x5a, 256);
	}
	bv = xcr0; /* KVM's XSTATE_BV: every component in use */
	memcpy((uint8_t *)w->in.xsave.region + XSAVE_HDR, &bv, sizeof bv);
	memset(area, 0xee, XSAVE_MAX);
	memset(area + XSAVE_HDR, 0, 64);
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.insn.op, ASSIST_OP_HLT);
	assert_int_equal(w->out.counts.completed, 2);
	assert_memory_equal(area + 160 + 16, pat, sizeof pat); /* XSAVE wrote XMM1 */
	assert_int_equal(area[416], 0xee); /* and left the reserved bytes alone */
	memcpy(&bv, area + XSAVE_HDR, sizeof bv);
	assert_int_equal(bv & 2, 2);
	assert_int_equal(w->out.fpu_dirty, 1);
	assert_memory_equal((uint8_t *)w->out.xsave.region + 160 + 16, pat, sizeof pat);
	if (xcr0 & 4) {
		assert_int_equal(area[avx_off], 0x5a);
		assert_int_equal(area[avx_off + 255], 0x5a);
	}
	assert_null(assist_reply_check(&w->out, sizeof w->out));

	/* misaligned; no XCR0 in the request: the VMM's */
	for (unsigned i = 0; i < 2; i++) {
		request(w, code, sizeof code, false);
		w->in.flags |= i == 0 ? ASSIST_F_XCR0 : 0;
		w->in.xcr0 = xcr0;
		w->in.regs.rdi = i == 0 ? DATA + 8 : DATA;
		w->in.regs.rax = w->in.regs.rdx = 0xffffffff;
		burst(w);
		assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
		assert_int_equal(w->out.insn.op, ASSIST_OP_XSAVE);
		assert_int_equal(w->out.regs.rip, CODE);
	}
}

/* ASSIST_F_SAME_RAM: the blocks checked in the last burst are not checked again (same epoch;
 * CR0.TS set empties the hot table); without it every burst starts a new epoch. */
static void same_ram(void **state)
{
	/* inc rax; hlt */
	static const uint8_t code[] = {0x48, 0xff, 0xc0, 0xf4};
	struct worker *w = *state;
	uint64_t e;

	request(w, code, sizeof code, false);
	burst(w);
	e = w->epoch;
	w->in.flags |= ASSIST_F_SAME_RAM;
	burst(w);
	assert_int_equal(w->epoch, e);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	w->in.sregs.cr0 |= CR0_TS; /* hot blocks with x87/SSE go, the others and the checked stay */
	w->hot[0] = (struct hot_block){.addr = 1, .fpu = 1};
	w->hot[1] = (struct hot_block){.addr = 2};
	burst(w);
	assert_int_equal(w->epoch, e);
	assert_int_equal(w->hot[0].addr, 0);
	assert_int_equal(w->hot[1].addr, 2);
	w->in.flags &= ~ASSIST_F_SAME_RAM;
	burst(w);
	assert_int_equal(w->epoch, e + 1);
}

/* Self-modifying code across bursts of one epoch (ASSIST_F_SAME_RAM): a guest store that puts
 * a stop-list instruction (OUT) into a block screened in an earlier burst is screened again
 * (assist_ucfix.c: the store to a page of translated code starts a new epoch). */
static void smc_same_epoch(void **state)
{
	/* CODE: nop; nop; hlt.  CODE + 16: mov byte [CODE], 0xee (out dx, al); jmp CODE */
	uint8_t code[32] = {0x90, 0x90, 0xf4};
	static const uint8_t writer[] = {0xc6, 0x04, 0x25, 0x00, 0x90,
					 0x20, 0x00, 0xee, 0xeb, 0xe6};
	struct worker *w = *state;

	memcpy(code + 16, writer, sizeof writer);
	request(w, code, sizeof code, false);
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.insn.op, ASSIST_OP_HLT);
	w->in.flags |= ASSIST_F_SAME_RAM;
	w->in.regs.rip = CODE + 16;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.insn.op, ASSIST_OP_PIO);
	assert_int_equal(w->out.regs.rip, CODE);
}

static bool fpu_stop_at(const struct worker *w, uint64_t a)
{
	for (unsigned i = 0; i < w->nexits; i++) {
		if (w->exits[i].addr == a) {
			return w->exits[i].fpu;
		}
	}
	return false;
}

/* The stop point CR0.TS placed before x87/SSE code stays while TS is clear (the run passes it:
 * dropping it costs two translations per lazy FPU switch), unless a loop passes it
 * FPU_PASSES times in a row. */
static void fpu_stop_point(void **state)
{
	/* mov ecx, 200; loop: nop; xorps xmm0, xmm0; dec ecx; jnz loop; hlt */
	static const uint8_t code[] = {0xb9, 0xc8, 0x00, 0x00, 0x00, 0x90, 0x0f,
				       0x57, 0xc0, 0xff, 0xc9, 0x75, 0xf8, 0xf4};
	struct worker *w = *state;

	request(w, code, sizeof code, false);
	w->in.sregs.cr0 |= CR0_TS;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_NM);
	assert_int_equal(w->out.regs.rip, CODE + 6);
	assert_true(fpu_stop_at(w, CODE + 6));

	/* TS clear from there on (the #NM handler's CLTS): one pass, the stop point stays */
	w->in.regs = w->out.regs;
	w->in.regs.rcx = 1;
	w->in.sregs.cr0 &= ~CR0_TS;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.insn.op, ASSIST_OP_HLT);
	assert_true(fpu_stop_at(w, CODE + 6));

	/* a loop through it: dropped after FPU_PASSES passes, and the loop completes */
	w->in.regs.rip = CODE;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.regs.rcx, 0);
	assert_false(fpu_stop_at(w, CODE + 6));
}

/* One vCPU, RAM as the burst began: a block with SSE code, hot from the loop's first turn,
 * stops for #NM at its next turn once a MOV to CR0 (completed in the burst, no new epoch) has
 * set CR0.TS; a block without x87/SSE code stays hot. */
static void hot_fpu_block_ts(void **state)
{
	/* mov ecx, 2; loop: xorps xmm0, xmm0; dec ecx; jz out; inc rbx; jmp next;
	 * next: mov rax, cr0; or rax, 8; mov cr0, rax; jmp loop; out: hlt */
	static const uint8_t code[] = {0xb9, 0x02, 0x00, 0x00, 0x00, 0x0f, 0x57, 0xc0, 0xff, 0xc9,
				       0x74, 0x11, 0x48, 0xff, 0xc3, 0xeb, 0x00, 0x0f, 0x20, 0xc0,
				       0x48, 0x83, 0xc8, 0x08, 0x0f, 0x22, 0xc0, 0xeb, 0xe8, 0xf4};
	static const uint64_t writes = 7;
	struct worker *w = *state;
	uint64_t e;
	bool plain_hot = false;

	w->smp = false;
	w->ram_writes = &writes;
	request(w, code, sizeof code, false);
	e = w->epoch;
	burst(w);
	w->smp = true;
	w->ram_writes = NULL;
	assert_int_equal(w->out.stop, ASSIST_STOP_NM);
	assert_int_equal(w->out.regs.rip, CODE + 5); /* the XORPS, second turn */
	assert_int_equal(w->out.regs.rcx, 1);
	assert_int_equal(w->out.sys.cr0 & CR0_TS, CR0_TS);
	assert_int_equal(w->epoch, e + 1); /* the burst's own epoch, no other */
	for (unsigned i = 0; i < HOT_BLOCKS; i++) {
		assert_false(w->hot[i].addr != 0 && w->hot[i].fpu);
		plain_hot |= w->hot[i].addr == CODE + 12; /* inc rbx; jmp: hot, stays */
	}
	assert_true(plain_hot);
	exits_clear(w);
}

/* A burst ends where IF is 1 and an interrupt is due, never in the STI shadow. */
static void interrupts(void **state)
{
	/* loop: inc rax; cmp rax, 3000; jne loop; cli; (x 4000) sti; inc rbx; jmp $ */
	uint8_t code[32];
	static const uint8_t head[] = {0x48, 0xff, 0xc0, 0x48, 0x3d, 0xb8, 0x0b, 0x00, 0x00,
				       0x75, 0xf5, 0xfb, 0x48, 0xff, 0xc3, 0xeb, 0xfe};
	struct worker *w = *state;

	memcpy(code, head, sizeof head);
	/* the request's flag: stops at the first look, with IF 1 */
	request(w, code, sizeof head, true);
	w->in.flags |= ASSIST_F_IRQ;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_IRQ);
	assert_true(w->out.counts.insns + 8 >= CHECK_EVERY &&
		    w->out.counts.insns < 2 * CHECK_EVERY);
	/* a doorbell rung: the same; with IF 0 the burst goes on to the STI, and stops after
	 * the instruction in its shadow */
	request(w, code, sizeof head, false);
	doorbells[0]++;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_IRQ);
	assert_int_equal(w->out.regs.rip, CODE + 15); /* after `sti; inc rbx` */
	assert_int_equal(w->out.regs.rbx, 1);
	assert_int_equal(w->out.insn.flags & ASSIST_I_SHADOW, 0);
	/* a deadline in the past */
	request(w, code, sizeof head, true);
	w->in.deadline = 1;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_IRQ);
	/* nothing due: the cap */
	request(w, code, sizeof head, true);
	w->in.deadline = ~0ull;
	w->in.max_insns = 50000;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_CAP);
}

/* A stop point right after STI reports the shadow (KVM must not deliver before it). */
static void sti_shadow(void **state)
{
	/* sti; cpuid */
	static const uint8_t code[] = {0xfb, 0x0f, 0xa2};
	struct worker *w = *state;

	request(w, code, sizeof code, false);
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_KVM);
	assert_int_equal(w->out.insn.cls, ASSIST_C_CPUID);
	assert_int_equal(w->out.insn.flags & ASSIST_I_SHADOW, ASSIST_I_SHADOW);
	assert_int_equal(w->out.regs.rip, CODE + 1);
}

/* Page tables written in a burst (JIT mode lets it), INVLPG, a page mapped without one, the
 * recursive slot: followed without a rebuild. */
static void page_tables(void **state)
{
	/* mov qword [rbx], rcx (PT[16]: a new mapping of DATA at 0x210000... remapped);
	 * invlpg [rdx]; mov rax, [rdx]; mov rsi, [0xfffffffffffff000] (recursive: PML4[0]); hlt */
	static const uint8_t code[] = {0x48, 0x89, 0x0b, 0x0f, 0x01, 0x3a, 0x48, 0x8b, 0x02,
				       0x48, 0x8b, 0x34, 0x25, 0x00, 0xf0, 0xff, 0xff, 0xf4};
	struct worker *w = *state;
	unsigned pool;

	build_tables();
	w->valid = false;
	*ram_u64(DATA) = 0x1234;
	request(w, code, sizeof code, true); /* harmless the first time: a rebuild */
	w->in.regs.rbx = DATA + 8;
	w->in.regs.rdx = DATA;
	burst(w);
	assert_int_equal(w->out.insn.op, ASSIST_OP_HLT);
	assert_int_equal(w->out.counts.rebuilds, 1);
	pool = w->active;
	/* again: VA RAM0 + 0x100000 is remapped to DATA by the burst's store */
	request(w, code, sizeof code, true);
	w->in.regs.rbx = PT + 8 * 0x100;
	w->in.regs.rcx = DATA | PTE_P | PTE_W;
	w->in.regs.rdx = RAM0 + 0x100000;
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_VMM);
	assert_int_equal(w->out.insn.op, ASSIST_OP_HLT);
	assert_int_equal(w->out.regs.rax, 0x1234);
	assert_int_equal(w->out.regs.rsi, PDPT | PTE_P | PTE_W);
	assert_int_equal(w->out.counts.rebuilds, 1); /* followed... */
	assert_int_equal(w->active, pool); /* ...without a rebuild (it switches pools) */
	assert_true(w->visits_ok);
}

/* Each locked form against its plain execution: the same registers, flags and memory.  Most
 * run as their host twin on guest RAM (assist_atomic.c native), CMPXCHG16B through the ALU. */
static void atomic_forms(void **state)
{
	static const struct {
		uint8_t len, riprel, rax_kept, fl_hw, twin, bytes[8];
	} forms[] = {
	    {5, 0, 0, 0, 0, {0xf0, 0x48, 0x0f, 0xc1, 0x0b}}, /* lock xadd [rbx], rcx */
	    {5, 0, 0, 0, 0, {0xf0, 0x48, 0x0f, 0xb1, 0x0b}}, /* lock cmpxchg [rbx], rcx */
	    {3, 0, 0, 0, 1, {0x48, 0x87, 0x0b}}, /* xchg [rbx], rcx */
	    {5, 0, 0, 0, 0, {0xf0, 0x48, 0x83, 0x2b, 0x05}}, /* lock sub qword [rbx], 5 */
	    {5, 0, 0, 0, 0, {0xf0, 0x0f, 0xba, 0x2b, 0x03}}, /* lock bts dword [rbx], 3 */
	    {5, 0, 0, 0, 1, {0xf0, 0x48, 0x0f, 0xc7, 0x0b}}, /* lock cmpxchg16b [rbx] */
	    {4, 0, 0, 0, 0, {0xf0, 0x66, 0xff, 0x0b}}, /* lock dec word [rbx] */
	    {4, 0, 1, 0, 1, {0xf0, 0x0f, 0xb1, 0x0b}}, /* lock cmpxchg [rbx], ecx (succeeds) */
	    {4, 0, 0, 0, 0, {0xf0, 0x0f, 0xb0, 0x0b}}, /* lock cmpxchg [rbx], cl */
	    {3, 0, 0, 0, 0, {0xf0, 0x10, 0x0b}}, /* lock adc [rbx], cl */
	    {4, 0, 0, 0, 0, {0xf0, 0x0f, 0xc0, 0x0b}}, /* lock xadd [rbx], cl */
	    {4, 0, 0, 0x15, 1, {0xf0, 0x48, 0xf7, 0x1b}}, /* lock neg qword [rbx] */
	    {4, 0, 0, 0, 0, {0xf0, 0x66, 0x09, 0x0b}}, /* lock or [rbx], cx */
	    {4, 0, 0, 0, 0, {0xf0, 0x83, 0x33, 0x55}}, /* lock xor dword [rbx], 0x55 */
	    {3, 0, 0, 0, 0, {0xf0, 0xf7, 0x13}}, /* lock not dword [rbx] */
	    {2, 0, 0, 0, 1, {0x87, 0x0b}}, /* xchg [rbx], ecx (zero-extends RCX) */
	    /* RIP-relative, as a kernel's statics: lock inc qword [rip + d]; lock xadd [rip +
	     * d], rdx (d: DATA + 0x40 from the end of the 8- and 9-byte instructions) */
	    {8, 1, 0, 0, 0, {0xf0, 0x48, 0xff, 0x05}},
	    {9, 1, 0, 0, 0, {0xf0, 0x48, 0x0f, 0xc1, 0x15}},
	};
	struct worker *w = *state;

	for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
		uint8_t code[16];
		size_t n = forms[f].len;
		uint64_t mem[2][2], rax[2], rcx[2], rdx[2], fl[2];
		memcpy(code, forms[f].bytes, forms[f].riprel ? n - 4 : n);
		if (forms[f].riprel) {
			uint32_t d = (uint32_t)(DATA + 0x40 - (CODE + n));
			memcpy(code + n - 4, &d, 4);
		}
		code[n] = 0xf4; /* hlt */
		for (int smp = 1; smp >= 0; smp--) {
			w->smp = smp; /* smp: host atomics (A_ATOMIC); else Unicorn runs it */
			jit_switch(w);
			request(w, code, n + 1, false);
			w->in.regs.rbx = DATA + 0x40; /* 16-byte aligned */
			w->in.regs.rax = 0xffffffff00000007ull,
			w->in.regs.rcx = 0x1234567800000089ull;
			w->in.regs.rdx = 0, w->in.regs.rflags |= 1; /* CF set: ADC adds it */
			ram_u64(DATA + 0x40)[0] = 0x8000000000000007ull,
				       ram_u64(DATA + 0x40)[1] = 0;
			burst(w);
			assert_int_equal(w->out.insn.op, ASSIST_OP_HLT);
			/* several vCPUs: Unicorn's atomic code (CF_PARALLEL), or the host twin
			 * where Unicorn's is not atomic or differs from the processor */
			assert_int_equal(w->out.counts.atomics, smp && forms[f].twin ? 1 : 0);
			memcpy(mem[smp], ram_u64(DATA + 0x40), 16);
			rax[smp] = w->out.regs.rax, rcx[smp] = w->out.regs.rcx;
			rdx[smp] = w->out.regs.rdx, fl[smp] = w->out.regs.rflags & RF_ARITH;
		}
		assert_memory_equal(mem[0], mem[1], 16);
		if (forms[f].rax_kept) {
			/* a 32-bit CMPXCHG that succeeds leaves RAX whole on the processor (its
			 * host twin here); Unicorn 2.0.1 zero-extends EAX into it */
			assert_int_equal(rax[1], 0xffffffff00000007ull);
		} else {
			assert_int_equal(rax[0], rax[1]);
		}
		assert_int_equal(rcx[0], rcx[1]);
		assert_int_equal(rdx[0], rdx[1]);
		/* LOCK NEG: the processor's flags (CF, PF, AF for 0x8000000000000007); Unicorn
		 * 2.0.1 sets SF as well */
		assert_int_equal(fl[1], forms[f].fl_hw != 0 ? forms[f].fl_hw : fl[0]);
	}
	assert_true(ucfix_parallel()); /* Unicorn's layout as assist_ucfix.c expects it */

	/* misaligned: no host instruction makes it atomic, Unicorn would run it again for ever
	 * (cpu_loop_exit_atomic): the burst stops before it, for KVM */
	w->smp = true;
	jit_switch(w);
	request(w, (const uint8_t[]){0xf0, 0x48, 0x0f, 0xc1, 0x0b, 0xf4}, 6, false);
	w->in.regs.rbx = DATA + 0x41, w->in.regs.rcx = 1;
	memset(ram_u64(DATA + 0x40), 0, 16);
	burst(w);
	assert_int_equal(w->out.stop, ASSIST_STOP_KVM);
	assert_int_equal(w->out.insn.cls, ASSIST_C_LOCK);
	assert_int_equal(w->out.insn.len, 5);
	assert_int_equal(w->out.regs.rip, CODE);
	assert_int_equal(w->out.regs.rcx, 1);
	assert_int_equal(ram_u64(DATA + 0x40)[0] | ram_u64(DATA + 0x40)[1], 0);
}

#define ROUNDS	      200000
#define LOCK_ROUNDS   200000
#define RACE_LIMIT_NS 20000000000ull /* a lost lock spins for ever: give up after 20 s */
static pthread_barrier_t go; /* both threads start their bursts together */

struct racer {
	struct worker *w;
	const uint8_t *code;
	size_t len;
	uint64_t rounds;
	bool gave_up;
};

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* One worker runs `code` (RBX = DATA, RCX = 1, RDX = rounds) in bursts until its HLT. */
static void *race(void *arg)
{
	struct racer *r = arg;
	struct worker *w = r->w;
	uint64_t t0;

	w->in = (struct assist_req){
	    .magic = ASSIST_PROTO_MAGIC, .flags = ASSIST_F_JIT, .max_insns = 10 * ROUNDS};
	w->in.regs = (struct kvm_regs){.rip = CODE,
				       .rsp = RAM0 + 0x20000,
				       .rbx = DATA,
				       .rcx = 1,
				       .rdx = r->rounds,
				       .rflags = 2};
	w->in.sregs = (struct kvm_sregs){
	    .cr3 = PML4, .cr0 = CR0_PG | CR0_WP, .cr4 = CR4_PAE, .efer = EFER_LMA | EFER_NXE};
	w->in.sregs.cs.l = 1;
	((struct fxarea *)(void *)w->in.xsave.region)->fcw = 0x37f;
	((struct fxarea *)(void *)w->in.xsave.region)->mxcsr = 0x1f80;
	memcpy(ram_host(&ram, CODE), r->code, r->len);
	uc_ctl_remove_cache(w->uc, CODE, CODE + PAGE); /* as in request() */
	pthread_barrier_wait(&go);
	t0 = mono_ns();
	do {
		burst(w);
		w->in.regs = w->out.regs;
		r->gave_up = mono_ns() - t0 > RACE_LIMIT_NS;
	} while (w->out.stop == ASSIST_STOP_CAP && !r->gave_up);
	return NULL;
}

/* Two workers on two threads run `code` against the same DATA; returns the time per round. */
static double race2(struct worker *w0, const uint8_t *code, size_t len, uint64_t rounds)
{
	struct worker *w1 = new_worker(1);
	struct racer r[2] = {{.w = w0, .code = code, .len = len, .rounds = rounds},
			     {.w = w1, .code = code, .len = len, .rounds = rounds}};
	pthread_t t[2];
	uint64_t t0;

	build_tables();
	memset(ram_u64(DATA), 0, 16);
	w0->valid = w1->valid = false;
	assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
	t0 = mono_ns();
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
	}
	t0 = mono_ns() - t0;
	pthread_barrier_destroy(&go);
	for (int i = 0; i < 2; i++) {
		assert_false(r[i].gave_up);
		assert_int_equal(r[i].w->out.insn.op, ASSIST_OP_HLT);
	}
	free_worker(w1);
	return (double)t0 / (2.0 * (double)rounds);
}

/* Two workers, two threads, one counter: nothing is lost. */
static void atomic_counter(void **state)
{
	/* loop: lock xadd [rbx], rcx (rcx = 1 after each: xadd returns the old value);
	 * mov ecx, 1; dec rdx; jnz loop; hlt */
	static const uint8_t code[] = {0xf0, 0x48, 0x0f, 0xc1, 0x0b, 0xb9, 0x01, 0x00,
				       0x00, 0x00, 0x48, 0xff, 0xca, 0x75, 0xf1, 0xf4};
	double ns = race2(*state, code, sizeof code, ROUNDS);

	assert_int_equal(*ram_u64(DATA), 2 * ROUNDS);
	print_message("# %d locked increments on two threads: %.0f ns each\n", 2 * ROUNDS, ns);
}

/* A spinlock taken with XCHG (no LOCK prefix: implied) around a plain increment, as the pio
 * guest's: no increment lost, and the lock is never lost (both threads would then spin for
 * ever).  Unicorn 2.0.1's exchange helper is not atomic, so XCHG is a host twin. */
static void xchg_lock(void **state)
{
	static const uint8_t code[] = {0xb8, 0x01, 0x00, 0x00, 0x00, /* loop: mov eax, 1 */
				       0x87, 0x03, /* spin: xchg [rbx], eax */
				       0x85, 0xc0, /* test eax, eax */
				       0x75, 0xfa, /* jnz spin */
				       0x48, 0x8b, 0x4b, 0x08, /* mov rcx, [rbx + 8] */
				       0x48, 0xff, 0xc1, /* inc rcx */
				       0x48, 0x89, 0x4b, 0x08, /* mov [rbx + 8], rcx */
				       0xc7, 0x03, 0x00, 0x00, 0x00, 0x00, /* mov dword [rbx], 0 */
				       0x48, 0xff, 0xca, /* dec rdx */
				       0x75, 0xdf, /* jnz loop */
				       0xf4}; /* hlt */
	double ns = race2(*state, code, sizeof code, LOCK_ROUNDS);

	assert_int_equal(ram_u64(DATA)[0], 0);
	assert_int_equal(ram_u64(DATA)[1], 2 * LOCK_ROUNDS);
	print_message("# %d increments under an XCHG lock on two threads: %.0f ns each\n",
		      2 * LOCK_ROUNDS, ns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(port_io),
#if !defined(__SANITIZE_ADDRESS__)
		cmocka_unit_test(code_near),
#endif
		cmocka_unit_test(absent_ports),
		cmocka_unit_test(line_end),
		cmocka_unit_test(completions),
		cmocka_unit_test(bitcounts_in_unicorn),
		cmocka_unit_test(rdmsr_bases),
		cmocka_unit_test(system_writes),
		cmocka_unit_test(iret_same_segments),
		cmocka_unit_test(tsc_deadline),
		cmocka_unit_test(nm_in_burst),
		cmocka_unit_test(lvt_timer),
		cmocka_unit_test(eoi_and_ipi),
		cmocka_unit_test(fpu_stop_point),
		cmocka_unit_test(hot_fpu_block_ts),
		cmocka_unit_test(xsave_xrstor),
		cmocka_unit_test(same_ram),
		cmocka_unit_test(smc_same_epoch),
		cmocka_unit_test(interrupts),
		cmocka_unit_test(sti_shadow),
		cmocka_unit_test(page_tables),
		cmocka_unit_test(atomic_forms),
		cmocka_unit_test(atomic_counter),
		cmocka_unit_test(xchg_lock),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
