/* SPDX-License-Identifier: MIT */
/* kvm.c - KVM VM and vCPU creation in the boot state Hermit expects (hermit-abi.md b). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vm.h"

#define CPUID_MAX_ENTRIES    256
#define MSR_IA32_MISC_ENABLE 0x1a0

/* The name of group gid from /etc/group ("?" if none): no NSS, which a static binary would
 * have to load at run time. */
static void group_name(gid_t gid, char *out, size_t cap)
{
	FILE *f = fopen("/etc/group", "re");
	char line[512];

	snprintf(out, cap, "%u", (unsigned)gid);
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (c2 != NULL && strtoul(c2 + 1, NULL, 10) == gid && c2[1] >= '0' &&
		    c2[1] <= '9') {
			snprintf(out, cap, "%.*s", (int)(c1 - line), line);
			break;
		}
	}
	if (f != NULL) {
		fclose(f);
	}
}

/* Why /dev/kvm cannot be opened; for a permission error, how to get access (issue 16 item 14):
 * the device's group and mode, and the usual remedy. */
static void kvm_open_failed(int err)
{
	struct stat st;
	char grp[64];

	if ((err != EACCES && err != EPERM) || stat("/dev/kvm", &st) != 0) {
		uhs_msg("cannot open /dev/kvm: %s", strerror(err));
		return;
	}
	group_name(st.st_gid, grp, sizeof grp);
	uhs_msg("cannot open /dev/kvm: %s (mode %03o, group '%s'; give your user access, usually "
		"by adding it to the group kvm: 'sudo usermod -aG kvm $USER', then log in again)",
		strerror(err), (unsigned)(st.st_mode & 0777), grp);
}

static int need_cap(struct vm *vm, long cap, const char *name)
{
	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, cap) <= 0) {
		uhs_msg("/dev/kvm lacks %s", name);
		return ST_NOKVM;
	}
	return 0;
}

static int get_cpuid(struct vm *vm)
{
	vm->cpuid =
	    calloc(1, sizeof *vm->cpuid + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
	if (vm->cpuid == NULL) {
		uhs_msg("out of memory");
		return ST_OSERR;
	}
	vm->cpuid->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, vm->cpuid) < 0) {
		uhs_msg("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		return ST_NOKVM;
	}
	/* Changes of b.5: brand string, hypervisor + TSC-deadline bits, MSR bit, no PMU. */
	static const char brand[48] = "uhyve - unikernel hypervisor";
	for (uint32_t i = 0; i < vm->cpuid->nent; i++) {
		struct kvm_cpuid_entry2 *e = &vm->cpuid->entries[i];
		if (e->function >= 0x80000002 && e->function <= 0x80000004) {
			memcpy(&e->eax, brand + (e->function - 0x80000002) * 16, 4);
			memcpy(&e->ebx, brand + (e->function - 0x80000002) * 16 + 4, 4);
			memcpy(&e->ecx, brand + (e->function - 0x80000002) * 16 + 8, 4);
			memcpy(&e->edx, brand + (e->function - 0x80000002) * 16 + 12, 4);
		} else if (e->function == 1) {
			e->ecx |= (1u << 31) | (1u << 24);
			e->edx |= 1u << 5;
		} else if (e->function == 0xa) {
			e->eax = 0;
		}
	}
	return 0;
}

/* Hermit on uhyve uses the local APIC (x2APIC, TSC-deadline timer, IPIs).  A split irqchip
 * keeps the LAPIC in the kernel and leaves PIC and IOAPIC to us (vmm/platform.c answers the
 * PIC ports Hermit initialises; vmm/ioapic.c is the I/O APIC that Hermit 0.13.2 and newer
 * program, and turns the NIC's line into an MSI route for its irqfd, vmm/net.c).  The full
 * in-kernel irqchip costs an SRCU grace period of 10-18 ms when the VM is destroyed
 * (measured on kvm_pvm), eight times the whole boot, and its interrupt injection is slower
 * (bench/irqchip.c); it remains the fallback where the split one is missing. */
static int create_irqchip(struct vm *vm)
{
	struct kvm_enable_cap split = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {24}};

	/* --pit: KVM's PIT needs its PIC, i.e. the full in-kernel irqchip (ENOENT on a split) */
	if (!vm->cfg->pit && ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SPLIT_IRQCHIP) > 0 &&
	    ioctl(vm->vm_fd, KVM_ENABLE_CAP, &split) == 0) {
		vm->split_irqchip = true;
		return 0;
	}
	return ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0 ? -1 : 0;
}

static void *cpuid_main(void *arg)
{
	struct vm *vm = arg;

	vm->cpuid_rc = get_cpuid(vm);
	return NULL;
}

int kvm_cpuid_join(struct vm *vm)
{
	if (vm->cpuid_started) {
		pthread_join(vm->cpuid_thread, NULL);
		vm->cpuid_started = false;
	}
	return vm->cpuid_rc;
}

/* Hermit kernels search the EBDA and the BIOS area for an MP floating pointer with 4-byte
 * reads (hermit-abi.md b.7), about 17,000 of them.  Where guest RAM does not cover those
 * ranges (a randomised RAM window) each read would be an MMIO exit; read-only slots over one
 * shared, never-written zero mapping make them plain memory reads that find nothing, as in a
 * VM with RAM at 0.  Writes there still exit and are violations (hc_mmio).  Without
 * KVM_CAP_READONLY_MEM the reads stay MMIO exits answered by hc_mmio. */
static const struct {
	uint64_t start, size;
} bios_ranges[] = {{0x9f000, 0x1000}, {0xf0000, 0x10000}};

static int add_bios_slots(struct vm *vm)
{
	static void *zero = MAP_FAILED;
	uint32_t slot = 1;

	if (!vm->readonly_mem) {
		return 0;
	}
	for (size_t i = 0; i < sizeof bios_ranges / sizeof bios_ranges[0]; i++) {
		uint64_t a = bios_ranges[i].start, n = bios_ranges[i].size;
		struct kvm_userspace_memory_region r = {.slot = slot,
							.flags = KVM_MEM_READONLY,
							.guest_phys_addr = a,
							.memory_size = n};
		if (a < vm->mem.start + vm->mem.size && vm->mem.start < a + n) {
			continue; /* RAM covers (part of) it: the guest reads RAM there */
		}
		if (zero == MAP_FAILED) {
			zero = mmap(NULL, 0x10000, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (zero == MAP_FAILED) {
				uhs_msg("mmap of the BIOS-area zero page: %s", strerror(errno));
				return ST_OSERR;
			}
		}
		r.userspace_addr = (uint64_t)(uintptr_t)zero;
		if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
			uhs_msg("KVM_SET_USER_MEMORY_REGION (read-only, GPA 0x%llx): %s",
				(unsigned long long)a, strerror(errno));
			return ST_OSERR;
		}
		slot++;
	}
	return 0;
}

/* Guest RAM's memslot at the guest-physical address the layout chose (vm->mem.start), and the
 * BIOS-area slots around it.  Called after the kernel image is parsed (vm_setup.c), possibly
 * confined: it uses only the VM fd. */
int kvm_vm_map_ram(struct vm *vm)
{
	struct kvm_userspace_memory_region slot = {
	    .slot = 0,
	    .guest_phys_addr = vm->mem.start,
	    .memory_size = vm->mem.size,
	    .userspace_addr = (uint64_t)(uintptr_t)gmem_ptr(&vm->mem, gpa(vm->mem.start), 0),
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
		uhs_msg("KVM_SET_USER_MEMORY_REGION (%llu MiB): %s",
			(unsigned long long)(vm->mem.size >> 20), strerror(errno));
		return ST_OSERR;
	}
	return add_bios_slots(vm);
}

int kvm_vm_create(struct vm *vm)
{
	struct kvm_enable_cap x2apic = {
	    .cap = KVM_CAP_X2APIC_API,
	    .args = {KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK}};
	int rc, max;

	vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		kvm_open_failed(errno);
		return ST_NOKVM;
	}
	if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		uhs_msg("/dev/kvm speaks an unsupported KVM API version");
		return ST_NOKVM;
	}
	if ((rc = need_cap(vm, KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP")) ||
	    (rc = need_cap(vm, KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY")) ||
	    (rc = need_cap(vm, KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT")) ||
	    (rc = need_cap(vm, KVM_CAP_X2APIC_API, "KVM_CAP_X2APIC_API")) ||
	    (rc = need_cap(vm, KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID")) ||
	    (rc = need_cap(vm, KVM_CAP_GET_TSC_KHZ, "KVM_CAP_GET_TSC_KHZ"))) {
		return rc;
	}
	max = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (max > 0 && vm->ncpu > (unsigned)max) {
		uhs_msg("KVM supports at most %d vCPUs, %u requested", max, vm->ncpu);
		return ST_USAGE;
	}
	vm->sync_regs =
	    (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) & KVM_SYNC_X86_REGS) != 0;
	vm->readonly_mem = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
	rc = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (rc < (int)sizeof(struct kvm_run)) {
		uhs_msg("KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return ST_NOKVM;
	}
	vm->run_size = (size_t)rc;
	/* KVM_GET_SUPPORTED_CPUID takes a quarter of a millisecond here: ask for it on a
	 * helper thread while this one creates the VM; kvm_cpuid_join() collects it before the
	 * first vCPU is set up (and long before confinement, which needs a single thread). */
	if (pthread_create(&vm->cpuid_thread, NULL, cpuid_main, vm) != 0) {
		vm->cpuid_rc = get_cpuid(vm);
	} else {
		vm->cpuid_started = true;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		uhs_msg("KVM_CREATE_VM: %s", strerror(errno));
		return ST_NOKVM;
	}
	pio_ring_setup(vm);
	if (create_irqchip(vm) != 0 || ioctl(vm->vm_fd, KVM_ENABLE_CAP, &x2apic) < 0) {
		uhs_msg("in-kernel irqchip / x2APIC API: %s", strerror(errno));
		return ST_NOKVM;
	}
	return kvm_vm_options(vm);
}

int kvm_vcpu_create(struct vm *vm, struct vcpu *v)
{
	void *run;

	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)v->id);
	if (v->fd < 0) {
		uhs_msg("KVM_CREATE_VCPU %u: %s", v->id, strerror(errno));
		return ST_NOKVM;
	}
	run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED) {
		uhs_msg("mmap of vCPU %u run area: %s", v->id, strerror(errno));
		return ST_OSERR;
	}
	v->run = run;
	if (v->id == 0 && vm->ring_off != 0) {
		vm->ring = (struct kvm_coalesced_mmio_ring *)((char *)run + vm->ring_off);
	}
	return 0;
}

static void seg(struct kvm_segment *s, uint16_t sel, uint8_t type, uint8_t l, uint8_t db)
{
	*s = (struct kvm_segment){.base = 0,
				  .limit = 0xffffffff,
				  .selector = sel,
				  .type = type,
				  .present = 1,
				  .dpl = 0,
				  .db = db,
				  .s = 1,
				  .l = l,
				  .g = 1};
}

static int setup_sregs(struct vm *vm, struct vcpu *v)
{
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		return -1;
	}
	seg(&s.cs, 0x08, 11, 1, 0);
	seg(&s.ds, 0x10, 3, 0, 1);
	s.es = s.ds;
	s.ss = s.ds;
	s.gdt.base = vm->lay.guest_address + UH_GDT_OFFSET;
	s.gdt.limit = 3 * 8 - 1;
	s.cr0 = 0x80000031; /* PE | ET | NE | PG */
	s.cr3 = vm->lay.guest_address + UH_PML4_OFFSET;
	s.cr4 = 0x20; /* PAE */
	s.efer = 0xd00; /* LME | LMA | NXE */
	return ioctl(v->fd, KVM_SET_SREGS, &s);
}

int kvm_vcpu_setup(struct vm *vm, struct vcpu *v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} msrs = {.hdr = {.nmsrs = 1}, .e = {{.index = MSR_IA32_MISC_ENABLE, .data = 1}}};
	struct kvm_regs regs = {
	    .rip = vm->lay.entry,
	    .rsp = vm->lay.load_addr - UH_KERNEL_STACK_SIZE,
	    .rdi = vm->lay.guest_address + UH_BOOT_INFO_OFFSET,
	    .rsi = v->id,
	    .rflags = 0x2,
	};
	struct kvm_mp_state mp = {.mp_state = KVM_MP_STATE_RUNNABLE};

	if (ioctl(v->fd, KVM_SET_CPUID2, vm->cpuid) < 0 || ioctl(v->fd, KVM_SET_MSRS, &msrs) != 1 ||
	    setup_sregs(vm, v) < 0 || ioctl(v->fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0) {
		uhs_msg("setting up vCPU %u: %s", v->id, strerror(errno));
		return ST_NOKVM;
	}
	if (vm->sync_regs) {
		v->run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	}
	return 0;
}

void kvm_vm_destroy(struct vm *vm)
{
	kvm_cpuid_join(vm);
	for (unsigned i = 0; vm->vcpus != NULL && i < vm->ncpu; i++) {
		if (vm->vcpus[i].run != NULL) {
			munmap(vm->vcpus[i].run, vm->run_size);
		}
		if (vm->vcpus[i].fd >= 0) {
			close(vm->vcpus[i].fd);
		}
	}
	if (vm->vm_fd >= 0) {
		close(vm->vm_fd);
	}
	if (vm->kvm_fd >= 0) {
		close(vm->kvm_fd);
	}
	free(vm->cpuid);
	vm->cpuid = NULL;
}
