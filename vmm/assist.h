/* SPDX-License-Identifier: MIT */
/* assist.h - completing guest instructions that KVM's instruction emulator rejects
 * (hermit-abi.md g; issue 6).  On hosts whose KVM runs CPL-0 guest code through its
 * emulator (kvm_pvm), KVM_RUN ends with KVM_EXIT_INTERNAL_ERROR/EMULATION on XGETBV, XSAVE,
 * RDTSCP, SSE and more; the assist carries those out and resumes the guest.
 *
 * vmm/assist_{spawn,exit,xsave}.c (assist_vmm.h; the helper program is in assist/,
 * docs/assist.md) are built when libunicorn and
 * libzydis are found; otherwise vmm/assist_none.c, whose assist_available() is false, and
 * every such exit ends the VM with status 81 and the instruction bytes. */
#ifndef UHS_ASSIST_H
#define UHS_ASSIST_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include "vmm.h"

struct vm;
struct vcpu;

/* Prepares the assist for the VM (before any vCPU runs, before confinement and before the
 * kernel image is parsed: a helper process may be forked here, which waits).  Returns 0 or a
 * process exit status after a message. */
int assist_init(struct vm *vm);
/* Hands guest RAM's start and size (known once the image is parsed and the layout chosen) to
 * the waiting helper; called once, after assist_init.  Returns 0 or an exit status. */
int assist_set_ram(struct vm *vm);
void assist_fini(struct vm *vm);

/* Called by the vCPU thread on KVM_EXIT_INTERNAL_ERROR with suberror
 * KVM_INTERNAL_ERROR_EMULATION.  Returns true when the guest state was advanced and the
 * vCPU may re-enter KVM_RUN; false to end the VM with the usual diagnostic. */
bool assist_emulation_failure(struct vcpu *v);

/* The vCPU ioctl requests assist_emulation_failure() may issue, for the VMM's seccomp
 * allowlist (*n of them; NULL and 0 without an assist). */
const unsigned long *assist_vcpu_ioctls(int *n);

/* Appends the assist's statistics to stderr (--stats). */
void assist_print_stats(const struct vm *vm);

/* The helper's process id (its waiting parent before the exec), -1 if none: the VMM's
 * allowlist lets it kill and reap that process and no other (assist_fini). */
pid_t assist_pid(const struct vm *vm);

/* ---- JIT mode (docs/assist.md): on a KVM that emulates CPL-0 code, guest code runs in the
 * assist by default, and KVM single-steps what only it can do. ---- */
/* Called by the vCPU thread before each KVM_RUN: true once this vCPU should switch to JIT mode
 * (the assist announced it is ready).  Cheap when JIT mode is off. */
bool assist_jit_ready(struct vcpu *v);
/* Called once by the vCPU thread before its first KVM_RUN: waits up to `ms` milliseconds for
 * the vCPU's worker to announce itself, so that JIT mode runs the guest from its first
 * instruction (else the start runs in KVM's emulator until the worker is ready). */
void assist_jit_await(struct vcpu *v, int ms);
/* Runs the vCPU in JIT mode until the VM stops; false if it ended the VM itself. */
bool assist_jit_run(struct vcpu *v);
/* For the main thread: true while a vCPU may still switch to JIT mode; assist_jit_tick then
 * kicks those vCPUs out of KVM_RUN now and then, so that one that never exits switches too. */
bool assist_jit_pending(const struct vm *vm);
void assist_jit_tick(struct vm *vm);
/* An interrupt may have become pending for vCPU `i` (an IPI, a device): a burst running for it
 * ends where IF is 1, a vCPU waiting in HLT wakes.  Any thread; no-op outside JIT mode. */
void assist_kick(struct vm *vm, unsigned i);
/* Every vCPU, as assist_kick: the VM is stopping, or a device raised an interrupt (net.c). */
void assist_wake_all(struct vm *vm);

#endif
