/* SPDX-License-Identifier: MIT */
/* pio_ring.c - port writes that need no answer, batched by KVM instead of one exit each.
 *
 * A Hermit 0.6 kernel prints its log one byte per `out` to the v1 UART port (about 2,200
 * exits for hello_world) and scans the PCI bus with an `out` to 0xCF8 before every `in` from
 * 0xCFC.  Each exit costs tens of microseconds on an emulating KVM (hermit-abi.md g).  With
 * KVM_CAP_COALESCED_PIO, writes to those ports go into a ring that KVM shares with us (one
 * page per VM, mapped through the vCPU mmap) and the guest goes on without an exit.
 *
 * Registered late: a registered zone makes the VM's teardown wait for an SRCU grace period
 * that costs 13 ms here when the VM is short-lived, more than a small guest's whole run.  So
 * the zones are registered only after PIO_RING_AFTER such writes have exited normally, from
 * the vCPU thread that saw the last one; the VM fd stays open for that one ioctl request
 * (vm_main.c step 9, and the VMM's seccomp rule).
 *
 * The ring is drained, in order, into the same dispatcher (hc_port_io) as an exit would be:
 *   - by a vCPU thread before it handles any exit, so anything the guest did before that
 *     exit (a log line before a file write, the PCI address before a config read) is seen
 *     first, exactly as with one exit per write;
 *   - by the main thread every PIO_RING_POLL_MS while the VM runs, so a guest that prints
 *     and then computes or sleeps without exits still shows its output;
 *   - once more after the vCPUs have stopped.
 * The ring's indices are written by the kernel, not the guest; they are still checked before
 * use, and an entry for a port we did not register ends the run as an internal error.
 * Only writes that can never be protocol violations are registered (a byte to the UART port,
 * any width to the PCI address port), so no error is ever reported late or for the wrong
 * vCPU (the ring does not say which vCPU wrote). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "uhyve_abi.h"
#include "vm.h"

/* RING_MAX needs PAGE_SIZE, which the uapi headers leave to the user; the ring
 * is one x86 page whatever the kernel's configuration. */
#define RING_MAX                                                                                   \
	((4096 - sizeof(struct kvm_coalesced_mmio_ring)) / sizeof(struct kvm_coalesced_mmio))

static const struct {
	uint16_t port, size;
} pio_zones[] = {
    {UH_V1_UART, 1}, /* v1 log byte */
    {UH_PCI_CONFIG_ADDRESS, 4}, /* any width is valid there: never a violation */
};

#define PIO_RING_AFTER 256

void pio_ring_setup(struct vm *vm)
{
	int off = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
	long page = sysconf(_SC_PAGESIZE);

	vm->ring_off = 0;
	if (off > 0 && ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_PIO) > 0 &&
	    vm->run_size >= (size_t)(off + 1) * (size_t)page) {
		vm->ring_off = (size_t)off * (size_t)page;
	}
}

static bool registered(uint64_t port, uint32_t len);

void pio_ring_saw_write(struct vm *vm, uint16_t port)
{
	if (vm->ring == NULL || atomic_load_explicit(&vm->ring_on, memory_order_relaxed) ||
	    !registered(port, 1) ||
	    atomic_fetch_add_explicit(&vm->ring_writes, 1, memory_order_relaxed) + 1 !=
		PIO_RING_AFTER) {
		return;
	}
	for (size_t i = 0; i < sizeof pio_zones / sizeof pio_zones[0]; i++) {
		struct kvm_coalesced_mmio_zone z = {
		    .addr = pio_zones[i].port, .size = pio_zones[i].size, .pio = 1};
		if (ioctl(vm->vm_fd, KVM_REGISTER_COALESCED_MMIO, &z) != 0) {
			break; /* zones registered so far still work; the rest keep exiting */
		}
		atomic_store_explicit(&vm->ring_on, true, memory_order_release);
	}
}

static bool registered(uint64_t port, uint32_t len)
{
	for (size_t i = 0; i < sizeof pio_zones / sizeof pio_zones[0]; i++) {
		if (port >= pio_zones[i].port && len <= pio_zones[i].size &&
		    port + len <= (uint64_t)pio_zones[i].port + pio_zones[i].size) {
			return true;
		}
	}
	return false;
}

bool pio_ring_drain(struct vm *vm, unsigned vcpu, struct hc_stats *stats)
{
	struct kvm_coalesced_mmio_ring *ring = vm->ring;
	bool ok = true;
	uint32_t first, last;

	if (ring == NULL || !atomic_load_explicit(&vm->ring_on, memory_order_acquire) ||
	    __atomic_load_n(&ring->first, __ATOMIC_RELAXED) ==
		__atomic_load_n(&ring->last, __ATOMIC_ACQUIRE)) {
		return true;
	}
	pthread_mutex_lock(&vm->ring_mu);
	first = ring->first;
	last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);
	if (first >= RING_MAX || last >= RING_MAX) {
		vm_finish(vm, ST_INTERNAL, "KVM's coalesced I/O ring has indices %u/%u", first,
			  last);
		ok = false;
	}
	while (ok && first != last) {
		struct kvm_coalesced_mmio e = ring->coalesced_mmio[first];
		struct hc_call c = {.vm = &vm->hc, .vcpu = vcpu, .stats = stats};
		enum hc_action a;

		if (!e.pio || e.len == 0 || !registered(e.phys_addr, e.len)) {
			vm_finish(vm, ST_INTERNAL,
				  "KVM's coalesced I/O ring holds port 0x%llx (%u)",
				  (unsigned long long)e.phys_addr, e.len);
			ok = false;
			break;
		}
		a = hc_port_io(&c, (uint16_t)e.phys_addr, true, (uint8_t)e.len, e.data);
		if (a != HC_CONTINUE) {
			/* no such write can end the guest normally (HC_EXIT needs its own port) */
			vm_finish(vm, a == HC_FATAL ? c.exit_code : ST_GUEST_VIOLATION,
				  "guest protocol violation: %s", c.msg);
			ok = false;
		}
		first = (first + 1) % RING_MAX;
		__atomic_store_n(&ring->first, first, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&vm->ring_mu);
	return ok;
}
