/* SPDX-License-Identifier: MIT */
/* gdb_probe.c - what this host's KVM_SET_GUEST_DEBUG actually does, found out with a
 * throwaway VM (one vCPU, 2 MiB, 64-bit mode, a few instructions of our own) when a debugger
 * is attached, before confinement.  On a KVM that emulates CPL-0 code (kvm_pvm, hermit-abi.md
 * g) single steps and execution breakpoints in the debug registers work, but an int3 ends
 * KVM_RUN as an emulation failure and data breakpoints never fire (docs/threat-model.md and
 * README "Debugging" have the figures); the stub adapts to what the probe finds.  Costs about
 * a millisecond; runs no guest-controlled byte. */
#include <errno.h>
#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gdb.h"

#define P_MEM	(2u << 20)
#define P_PML4	0x1000
#define P_PDPT	0x2000
#define P_PD	0x3000
#define P_GDT	0x500
#define P_CODE	0x10000
#define P_DATA	0x20000
#define P_STEPS 64
#define DR6_BS	0x4000ull

struct probe_vm {
	int vm, cpu;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
};

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	*s = (struct kvm_segment){.limit = 0xffffffff,
				  .selector = sel,
				  .type = type,
				  .present = 1,
				  .s = 1,
				  .l = code,
				  .db = !code,
				  .g = 1};
}

static int set_state(struct probe_vm *p, const uint8_t *code, size_t n)
{
	struct kvm_sregs s;
	struct kvm_regs r = {.rip = P_CODE, .rsp = 0x80000, .rflags = 2};
	struct kvm_guest_debug off = {0};

	memcpy(p->mem + P_CODE, code, n);
	if (ioctl(p->cpu, KVM_GET_SREGS, &s) < 0) {
		return -1;
	}
	seg(&s.cs, 8, 11, true);
	seg(&s.ds, 16, 3, false);
	s.es = s.ss = s.fs = s.gs = s.ds;
	s.gdt.base = P_GDT;
	s.gdt.limit = 23;
	s.cr0 = 0x80000031;
	s.cr3 = P_PML4;
	s.cr4 = 0x20;
	s.efer = 0xd00;
	return ioctl(p->cpu, KVM_SET_SREGS, &s) < 0 || ioctl(p->cpu, KVM_SET_REGS, &r) < 0 ||
		       ioctl(p->cpu, KVM_SET_GUEST_DEBUG, &off) < 0
		   ? -1
		   : 0;
}

static int open_vm(int kvm_fd, struct probe_vm *p)
{
	uint64_t pt[3][2] = {{P_PDPT | 3}, {P_PD | 3}, {0x83}};
	struct kvm_userspace_memory_region slot = {.memory_size = P_MEM};
	static const uint64_t gdt[3] = {0, 0x00af9a000000ffffull, 0x00cf92000000ffffull};
	int sz = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);

	p->mem = mmap(NULL, P_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (sz <= 0 || p->mem == MAP_FAILED) {
		p->mem = NULL;
		return -1;
	}
	memcpy(p->mem + P_PML4, pt[0], 8);
	memcpy(p->mem + P_PDPT, pt[1], 8);
	memcpy(p->mem + P_PD, pt[2], 8);
	memcpy(p->mem + P_GDT, gdt, sizeof gdt);
	slot.userspace_addr = (uint64_t)(uintptr_t)p->mem;
	p->vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (p->vm < 0 || ioctl(p->vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0 ||
	    (p->cpu = ioctl(p->vm, KVM_CREATE_VCPU, 0)) < 0) {
		return -1;
	}
	p->run_size = (size_t)sz;
	p->run = mmap(NULL, p->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, p->cpu, 0);
	return p->run == MAP_FAILED ? (p->run = NULL, -1) : 0;
}

static void close_vm(struct probe_vm *p)
{
	if (p->run != NULL) {
		munmap(p->run, p->run_size);
	}
	if (p->cpu >= 0) {
		close(p->cpu);
	}
	if (p->vm >= 0) {
		close(p->vm);
	}
	if (p->mem != NULL) {
		munmap(p->mem, P_MEM);
	}
}

/* Runs code with guest debug `ctl` and DR0/DR7; returns the exit reason (-1: failed). */
static int run_with(struct probe_vm *p, const uint8_t *code, size_t n, uint32_t ctl, uint64_t dr0,
		    uint64_t dr7)
{
	struct kvm_guest_debug d = {.control = ctl};

	d.arch.debugreg[0] = dr0;
	d.arch.debugreg[7] = dr7;
	if (set_state(p, code, n) != 0 || ioctl(p->cpu, KVM_SET_GUEST_DEBUG, &d) < 0 ||
	    ioctl(p->cpu, KVM_RUN, 0) < 0) {
		return -1;
	}
	return (int)p->run->exit_reason;
}

static bool debug_exit(const struct probe_vm *p, int reason, uint32_t exc, uint64_t dr6_bits)
{
	return reason == KVM_EXIT_DEBUG && p->run->debug.arch.exception == exc &&
	       (p->run->debug.arch.dr6 & dr6_bits) == dr6_bits;
}

static void probe_step(struct probe_vm *p, struct gdb_probe *r)
{
	static const uint8_t nops[] = {0x90, 0x90, 0x90, 0xf4};
	uint32_t ctl = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP;
	uint64_t t0;

	r->step = debug_exit(p, run_with(p, nops, sizeof nops, ctl, 0, 0), 1, DR6_BS) &&
		  p->run->debug.arch.pc == P_CODE + 1;
	if (!r->step) {
		return;
	}
	/* the cost of one step: back-to-back steps over nops */
	memset(p->mem + P_CODE, 0x90, P_STEPS + 1);
	t0 = uhs_now_ns();
	for (unsigned i = 1; i < P_STEPS; i++) {
		if (ioctl(p->cpu, KVM_RUN, 0) < 0 || p->run->exit_reason != KVM_EXIT_DEBUG) {
			return;
		}
	}
	r->step_ns = (uhs_now_ns() - t0) / (P_STEPS - 1);
}

void gdb_probe(int kvm_fd, struct gdb_probe *r)
{
	static const uint8_t int3[] = {0x90, 0xcc, 0xf4};
	/* mov [P_DATA], rax; hlt */
	static const uint8_t store[] = {0x48, 0x89, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00, 0xf4};
	struct probe_vm p = {.vm = -1, .cpu = -1};
	uint32_t hw = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP;
	int rc;

	memset(r, 0, sizeof *r);
	r->done = true;
	r->blockirq = (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2) &
		       KVM_GUESTDBG_BLOCKIRQ) != 0;
	if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG) <= 0 ||
	    open_vm(kvm_fd, &p) != 0) {
		close_vm(&p);
		return;
	}
	rc = run_with(&p, int3, sizeof int3, KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP, 0, 0);
	r->sw_exit = debug_exit(&p, rc, 3, 0);
	r->sw_emul_fail = rc == KVM_EXIT_INTERNAL_ERROR &&
			  p.run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION;
	probe_step(&p, r);
	rc = run_with(&p, int3 + 2, 1, hw, P_CODE, DR7_G0 | DR7_GE); /* hlt, breakpoint on it */
	r->hw_exec = debug_exit(&p, rc, 1, 1);
	/* a write watchpoint, 8 bytes (RW0 = 01, LEN0 = 10) */
	rc = run_with(&p, store, sizeof store, hw, P_DATA,
		      DR7_G0 | DR7_GE | (1u << 16) | (2u << 18));
	r->hw_data = debug_exit(&p, rc, 1, 1);
	close_vm(&p);
}
