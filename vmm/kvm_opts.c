/* SPDX-License-Identifier: MIT */
/* kvm_opts.c - uhyve's --pit and --cpu-pm, on the VM before any vCPU exists.
 *
 * --pit: an in-kernel i8254 (KVM_CREATE_PIT2, uhyve's default config: no flags).  KVM's PIT
 * needs its in-kernel PIC, so with --pit the VM gets the full in-kernel irqchip instead of the
 * split one (kvm.c; it costs 10-18 ms more when the VM is destroyed, measured on kvm_pvm).
 * --cpu-pm: KVM_CAP_X86_DISABLE_EXITS with whichever of HLT, PAUSE, MWAIT and C-state exits
 * this KVM can disable (uhyve's mask): the guest's idle loop then keeps its host CPU.
 * uhyve logs a failure and runs on; uhyve-sec stops with a one-line reason (status 69): an
 * option the operator asked for never silently does nothing.
 *
 * Trust: no guest input (runs before the kernel image is parsed). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vm.h"

static int create_pit(struct vm *vm)
{
	struct kvm_pit_config pit = {.flags = 0};

	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_PIT2) <= 0) {
		uhs_msg("--pit: this host's KVM has no in-kernel PIT (KVM_CAP_PIT2)");
		return ST_NOKVM;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) < 0) {
		uhs_msg("--pit: KVM_CREATE_PIT2: %s", strerror(errno));
		return ST_NOKVM;
	}
	return 0;
}

static int disable_exits(struct vm *vm)
{
	const unsigned want = KVM_X86_DISABLE_EXITS_MWAIT | KVM_X86_DISABLE_EXITS_HLT |
			      KVM_X86_DISABLE_EXITS_PAUSE | KVM_X86_DISABLE_EXITS_CSTATE;
	int have = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_X86_DISABLE_EXITS);
	struct kvm_enable_cap cap = {.cap = KVM_CAP_X86_DISABLE_EXITS};

	if (have <= 0 || ((unsigned)have & want) == 0) {
		uhs_msg("--cpu-pm: this host's KVM cannot let the guest's HLT, PAUSE, MWAIT or "
			"C-states run without an exit (KVM_CAP_X86_DISABLE_EXITS)");
		return ST_NOKVM;
	}
	cap.args[0] = (unsigned)have & want;
	if (ioctl(vm->vm_fd, KVM_ENABLE_CAP, &cap) < 0) {
		uhs_msg("--cpu-pm: KVM_ENABLE_CAP(KVM_CAP_X86_DISABLE_EXITS): %s", strerror(errno));
		return ST_NOKVM;
	}
	return 0;
}

int kvm_vm_options(struct vm *vm)
{
	int rc = 0;

	if (vm->cfg->pit) {
		rc = create_pit(vm);
	}
	if (rc == 0 && vm->cfg->cpu_pm) {
		rc = disable_exits(vm);
	}
	return rc;
}
