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

#endif
