/* SPDX-License-Identifier: MIT */
/* floor.c - the cheapest possible "boot" under KVM, as the floor for bench/bootbench.
 *
 * One run of this program is the least any KVM-based VMM process can do for a guest:
 *   open /dev/kvm, KVM_CREATE_VM, map guest RAM (anonymous, MAP_NORESERVE, the VMM's
 *   default size of 64 MiB unless an argument gives another size in MiB), register it as
 *   memslot 0 at GPA 0, create vCPU 0, map its kvm_run area, place three instructions of
 *   real-mode code at GPA 0x1000
 *
 *       mov al, 'x'     b0 78
 *       out 0x10, al    e6 10
 *       hlt             f4
 *
 *   point CS (base 0, selector 0) and RIP at them, KVM_RUN once until the port write
 *   exits to user space, and exit 0.
 *
 * Then it tears the VM down as uhyve-sec does (vmm/kvm.c kvm_vm_destroy, vm_setup.c): unmap
 * kvm_run, close the vCPU and the VM fd (the VM is destroyed here, while the process's memory
 * still exists), unmap guest RAM, close /dev/kvm, and only then exit.  Left to exit(), the VM
 * would be destroyed after the address space: two SRCU synchronisations back to back (the MMU
 * notifier's release at exit_mmap, then its unregistration in kvm_destroy_vm), the second
 * often too soon after the first to be expedited, which made this floor bimodal (about 2 or
 * 14 ms per run, depending on the host's load) while uhyve-sec was not.
 *
 * Like uhyve-sec it enables the split irqchip (KVM_CAP_SPLIT_IRQCHIP: the local APIC in the
 * kernel, no PIC or IOAPIC devices) where KVM offers it; here that makes the VM's destruction
 * cheaper (about 0.37 instead of 0.58 ms), so the floor is the lower for it.
 *
 * No CPUID setup, no page tables, no threads: those are costs of a real VMM that the benchmark
 * wants to see.  (Note for anyone extending it: on this host the memslot must be set before
 * KVM_CREATE_IRQCHIP, the full in-kernel irqchip, otherwise the slot costs about 6 ms.)
 *
 * Usage: floor [RAM_MIB]      exit status 0 on success, 1 with a message on any failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define DEFAULT_RAM_MIB 64ul
#define CODE_GPA	0x1000ul
#define OUT_PORT	0x10
#define OUT_BYTE	'x'

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned long parse_mib(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > (1ul << 20)) {
		fprintf(stderr, "floor: RAM size must be 1..1048576 MiB, got '%s'\n", s);
		exit(1);
	}
	return v;
}

int main(int argc, char *argv[])
{
	static const uint8_t code[] = {0xb0, OUT_BYTE, 0xe6, OUT_PORT, 0xf4};
	unsigned long mib = DEFAULT_RAM_MIB;
	struct kvm_enable_cap split = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {24}};
	struct kvm_userspace_memory_region slot;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	size_t ram_size;
	uint8_t *ram;
	int kvm, vm, vcpu, run_size;

	if (argc > 2) {
		fprintf(stderr, "usage: floor [RAM_MIB]\n");
		return 1;
	}
	if (argc == 2) {
		mib = parse_mib(argv[1]);
	}
	ram_size = (size_t)mib << 20;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		die("open /dev/kvm");
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		die("KVM_CREATE_VM");
	}
	ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (ram == MAP_FAILED) {
		die("mmap guest RAM");
	}
	memcpy(ram + CODE_GPA, code, sizeof code);
	/* Slot first: KVM_CREATE_IRQCHIP before it makes this ioctl ~6 ms on this host. */
	slot = (struct kvm_userspace_memory_region){
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = ram_size,
	    .userspace_addr = (uint64_t)(uintptr_t)ram,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
		die("KVM_SET_USER_MEMORY_REGION");
	}
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SPLIT_IRQCHIP) > 0 &&
	    ioctl(vm, KVM_ENABLE_CAP, &split) < 0) {
		die("KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)");
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0ul);
	if (vcpu < 0) {
		die("KVM_CREATE_VCPU");
	}
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (int)sizeof *run) {
		die("KVM_GET_VCPU_MMAP_SIZE");
	}
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) {
		die("mmap kvm_run");
	}

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		die("KVM_GET_SREGS");
	}
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) {
		die("KVM_SET_SREGS");
	}
	regs = (struct kvm_regs){.rip = CODE_GPA, .rflags = 0x2};
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
		die("KVM_SET_REGS");
	}

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				continue;
			}
			die("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_IO) {
			break;
		}
		fprintf(stderr, "floor: unexpected KVM exit reason %u\n", run->exit_reason);
		return 1;
	}
	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.port != OUT_PORT || run->io.size != 1 ||
	    run->io.count != 1 || *((uint8_t *)run + run->io.data_offset) != OUT_BYTE) {
		fprintf(stderr, "floor: unexpected I/O exit (port 0x%x, size %u, count %u)\n",
			run->io.port, run->io.size, run->io.count);
		return 1;
	}
	/* uhyve-sec's teardown order (above) */
	munmap(run, (size_t)run_size);
	close(vcpu);
	close(vm);
	munmap(ram, ram_size);
	close(kvm);
	return 0;
}
