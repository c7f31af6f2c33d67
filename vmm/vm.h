/* SPDX-License-Identifier: MIT */
/* vm.h - the running VM: KVM handles, vCPUs and the stop protocol (kvm.c, vcpu.c). */
#ifndef UHS_VM_H
#define UHS_VM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>

#include "ioapic.h"
#include "pci.h"
#include "vmm_internal.h"

#define VM_EXIT_REASONS 64

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	/* statistics, written only by this vCPU's thread */
	struct hc_stats hcs;
	uint64_t exits[VM_EXIT_REASONS];
	uint64_t guest_ns;
	void *assist; /* per-vCPU state of the instruction assist (assist_vmm.h) */
	pid_t tid; /* kernel thread id, for kicks (set by the thread before confinement) */
};

struct vm {
	const struct vmm_config *cfg;
	const struct vmm_files *files;
	int kvm_fd, vm_fd;
	size_t run_size;
	bool sync_regs; /* KVM_CAP_SYNC_REGS covers the GPRs: RDI comes without an ioctl */
	bool split_irqchip; /* in-kernel LAPIC only; PIC ports are answered by hc.c */
	bool readonly_mem; /* KVM_CAP_READONLY_MEM (asked before /dev/kvm is closed) */
	struct gmem mem;
	struct vm_layout lay;
	struct kvm_cpuid2 *cpuid;
	pthread_t cpuid_thread; /* fetches the supported CPUID while the VM is created */
	bool cpuid_started;
	int cpuid_rc;
	uint32_t tsc_khz;
	struct output out;
	pthread_mutex_t out_mu;
	struct hc_vm hc;
	unsigned ncpu;
	struct vcpu *vcpus;
	pthread_t main_thread;
	pid_t main_tid; /* for wake-ups with tgkill(2) */
	pthread_barrier_t start; /* vCPU threads wait here until the seccomp filter is in */
	int broker_pid; /* > 0 while the broker runs; -1 once reaped */
	atomic_int stopping;
	atomic_bool abandon_output; /* a stop signal came: blocked output is given up */
	/* the first terminal event decides the exit status */
	pthread_mutex_t res_mu;
	bool have_result;
	int status;
	int guest_code;
	bool guest_exit;
	void *assist; /* per-VM state of the instruction assist (assist_vmm.h) */
	void *dbg; /* the debugger (gdb.h), NULL without -s/--gdb-port or --gdb-socket */
	/* pio_ring.c: KVM's coalesced port-write ring (NULL without KVM_CAP_COALESCED_PIO) */
	struct kvm_coalesced_mmio_ring *ring;
	size_t ring_off; /* its offset in a vCPU mmap; 0 = KVM cannot batch port writes */
	atomic_uint ring_writes; /* batchable writes that exited before the zones existed */
	atomic_bool ring_on; /* zones registered: the ring is in use */
	pthread_mutex_t ring_mu;
	struct hc_stats ring_hcs; /* hypercalls drained by the main thread */
	struct pci_bus pci; /* the PCI bus behind ports 0xCF8/0xCFC (pci.c) */
	struct ioapic ioapic; /* the I/O APIC at 0xFEC00000 (ioapic.c) */
	struct net *net; /* --net: the NIC and its I/O thread (net.c), or NULL */
};

/* kvm.c: opens /dev/kvm and creates the VM with its in-kernel irqchip (no memory yet: RAM's
 * place is chosen after the kernel image is parsed).  Returns 0, or an exit status after
 * printing the reason. */
int kvm_vm_create(struct vm *vm);
/* kvm_opts.c: uhyve's --pit and --cpu-pm on the new VM (before any vCPU).  Returns 0, or
 * ST_NOKVM after a one-line reason when this host's KVM cannot do what was asked. */
int kvm_vm_options(struct vm *vm);
/* Adds guest RAM's memslot at vm->mem.start (and the BIOS-area slots); VM fd only. */
int kvm_vm_map_ram(struct vm *vm);
/* Creates vCPU `id` in the boot state of hermit-abi.md b.4-b.6. */
int kvm_vcpu_create(struct vm *vm, struct vcpu *v);
int kvm_vcpu_setup(struct vm *vm, struct vcpu *v);
/* Waits for the CPUID query started by kvm_vm_create; returns 0 or an exit status. */
int kvm_cpuid_join(struct vm *vm);
/* pio_ring.c: whether KVM can batch port writes (vm->ring is then set with vCPU 0). */
void pio_ring_setup(struct vm *vm);
/* A batchable-port write exited: after enough of them, register the zones. */
void pio_ring_saw_write(struct vm *vm, uint16_t port);
/* Hands every queued port write to hc_port_io, in order, counting into *stats.  Returns
 * false (after vm_finish) if the VM must stop. */
bool pio_ring_drain(struct vm *vm, unsigned vcpu, struct hc_stats *stats);
void kvm_vm_destroy(struct vm *vm);

/* ram_opts.c: guest RAM of the kind --thp/--ksm need (a sealed memfd unless they need private
 * memory), with their advice.  Returns 0, or an exit status after printing why. */
int ram_create(struct vm *vm, bool assist);
int ram_advise(struct vm *vm);

/* initrd.c: --hermit-image-mode internal: the image's tar in RAM after the kernel (sets
 * lay.initrd_start/end).  Returns 0 (also without one), or an exit status after a message. */
int initrd_place(struct vm *vm);

/* vcpu.c: runs all vCPUs until one of them ends the VM or a signal arrives; returns the
 * process exit status. */
int vm_run(struct vm *vm);
/* Records the first terminal event (later ones are ignored) and wakes the main thread. */
void vm_finish(struct vm *vm, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void vm_print_stats(const struct vm *vm, uint64_t wall_ns);
/* The exit in v->run, as the run loop handles it (JIT mode single-steps call it too). */
bool vcpu_handle_exit(struct vcpu *v);
/* One IN or OUT through the hypercall table (a KVM exit, or a burst in JIT mode); `data` holds
 * the value written, or receives the value read; `rdi` is the guest's RDI (v2 parameters).
 * False when the vCPU must stop. */
bool vcpu_port_io(struct vcpu *v, uint16_t port, bool out, uint8_t size, uint8_t *data,
		  uint64_t rdi);
/* Makes the vCPU's thread leave KVM_RUN (or a blocking wait) with EINTR. */
void vcpu_kick(struct vcpu *v);

#endif
