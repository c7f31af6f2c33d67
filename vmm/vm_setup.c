/* SPDX-License-Identifier: MIT */
/* vm_setup.c - the VMM: load a Hermit kernel and run it under KVM (vmm_run).
 *
 * Order of setup (acquire everything, then run); launcher/main.c has already parsed the
 * command line, started the file broker and blocked the stop signals:
 *   2. map the kernel file read-only and validate it completely (elf_parse);
 *   3. choose the guest layout (RAM window, ASLR, load address);
 *   4. open the output sink;
 *   5. open /dev/kvm, create the VM, irqchip and the RAM slot; the PCI bus and the I/O APIC;
 *   6. load and relocate the kernel, write GDT, page tables, boot info and FDT;
 *   7. create and set up every vCPU; start the instruction assist (if any); with --net, the
 *      NIC: put it on the bus, register its eventfds with KVM (net.c);
 *   8. (the stop signals were blocked by main.c before the broker was forked);
 *   9. close what the run does not need: /dev/kvm, the VM fd, the kernel image, the memfd;
 *  10. confine (unless --sandbox=off): namespaces, no capabilities, no_new_privs, Landlock
 *      with no file system (vmm_sandbox.c: vmm_confine_early);
 *  11. start the NIC's I/O thread and one parked thread per vCPU, install the seccomp allowlist for
 * all threads (vmm_confine_seccomp), release the vCPUs into KVM_RUN and wait for the first terminal
 *      event (vcpu.c), then stop and join all vCPUs.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "assist.h"
#include "net.h"
#include "vm.h"
#include "vmm_sandbox.h"

#define KERNEL_FILE_MAX (1ull << 31)

struct kernel_file {
	uint8_t *data;
	size_t len;
};

static int map_kernel(const char *path, struct kernel_file *k)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	void *p;

	if (fd < 0) {
		uhs_msg("cannot open kernel %s: %s", path, strerror(errno));
		return ST_NOINPUT;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > KERNEL_FILE_MAX) {
		uhs_msg("kernel %s is not a regular, non-empty file of at most 2 GiB", path);
		close(fd);
		return ST_NOINPUT;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		uhs_msg("cannot map kernel %s: %s", path, strerror(errno));
		return ST_NOINPUT;
	}
	k->data = p;
	k->len = (size_t)st.st_size;
	return 0;
}

static int64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static bool cfg_assist(const struct vm *vm)
{
	return vm->cfg->assist && assist_available();
}

/* Step 9: what the run no longer needs is closed before confinement, so a compromised
 * VMM holds only vCPU fds, the output, the broker socket and guest RAM: not /dev/kvm, not
 * the kernel image, and the VM fd only where KVM can batch port writes (its seccomp rule
 * then allows KVM_REGISTER_COALESCED_MMIO on it and nothing else). */
static int drop_setup_handles(struct vm *vm, struct kernel_file *k)
{
	munmap(k->data, k->len);
	k->data = NULL;
	if (vm->vm_fd >= 0 && vm->ring == NULL && vm->net == NULL) {
		/* kept only for pio_ring_register() and the NIC's interrupt route (one ioctl
		 * request each) */
		close(vm->vm_fd);
		vm->vm_fd = -1;
	}
	if (vm->kvm_fd >= 0) {
		close(vm->kvm_fd);
		vm->kvm_fd = -1;
	}
	if (vm->mem.fd >= 0) {
		close(vm->mem.fd); /* the assist (if any) has its own reference */
		vm->mem.fd = -1;
	}
	return 0;
}

/* Step 10: namespaces, capabilities, no_new_privs, Landlock (vmm_sandbox.c). */
static int confine_early(void)
{
	char err[256];

	if (vmm_confine_early(err, sizeof err) != 0) {
		uhs_msg("sandbox: %s", err);
		return ST_SANDBOX;
	}
	return 0;
}

/* Steps 6-7: guest memory contents and vCPUs. */
static int prepare_guest(struct vm *vm, const struct elf_image *img, const struct kernel_file *k)
{
	char err[256];
	struct boot_params bp = {.cpus = vm->ncpu,
				 .boot_time_ns = realtime_ns(),
				 .mounts = vm->files->mounts,
				 .nmounts = vm->files->nmounts};
	char *bootargs;
	int rc, tsc;

	if (elf_load(img, k->data, k->len, &vm->mem, vm->lay.load_addr, err, sizeof err) != 0) {
		uhs_msg("%s", err);
		return ST_BAD_IMAGE;
	}
	for (unsigned i = 0; i < vm->ncpu; i++) {
		if ((rc = kvm_vcpu_create(vm, &vm->vcpus[i])) != 0) {
			return rc;
		}
	}
	tsc = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	bp.tsc_khz = tsc > 0 ? (uint32_t)tsc : 0;
	bootargs = layout_bootargs(vm->cfg);
	bp.bootargs = bootargs;
	if (bootargs == NULL) {
		uhs_msg("out of memory");
		return ST_OSERR;
	}
	if (strlen(bootargs) > UH_FDT_SIZE - 2048) {
		uhs_msg("guest arguments and environment are too long (%zu bytes; the device tree "
			"holds about %u)",
			strlen(bootargs), UH_FDT_SIZE - 2048);
		free(bootargs);
		return ST_USAGE;
	}
	rc = layout_write_tables(&vm->mem, &vm->lay);
	if (rc == 0) {
		rc = layout_write_boot_info(&vm->mem, &vm->lay, img, &bp);
	}
	free(bootargs);
	if (rc != 0) {
		uhs_msg("cannot write the boot structures into guest memory");
		return ST_INTERNAL;
	}
	if ((rc = kvm_cpuid_join(vm)) != 0) {
		return rc;
	}
	for (unsigned i = 0; i < vm->ncpu; i++) {
		if ((rc = kvm_vcpu_setup(vm, &vm->vcpus[i])) != 0) {
			return rc;
		}
	}
	return cfg_assist(vm) ? assist_init(vm) : 0;
}

static int setup_vm(struct vm *vm, const struct elf_image *img, const struct kernel_file *k)
{
	char err[256];
	int rc;

	if (output_open(&vm->out, vm->cfg->output, err, sizeof err) != 0) {
		uhs_msg("%s", err);
		return ST_CANTCREAT;
	}
	vm->out.show_serial = vm->cfg->verbose;
	if ((rc = gmem_init(&vm->mem, vm->lay.guest_address, vm->lay.mem_size)) != 0) {
		uhs_msg("cannot allocate %llu MiB of guest RAM: %s",
			(unsigned long long)(vm->lay.mem_size >> 20), strerror(-rc));
		return ST_OSERR;
	}
	vm->vcpus = calloc(vm->ncpu, sizeof *vm->vcpus);
	if (vm->vcpus == NULL) {
		uhs_msg("out of memory");
		return ST_OSERR;
	}
	for (unsigned i = 0; i < vm->ncpu; i++) {
		vm->vcpus[i] = (struct vcpu){.vm = vm, .id = i, .fd = -1};
	}
	pci_bus_init(&vm->pci);
	ioapic_init(&vm->ioapic);
	if ((rc = kvm_vm_create(vm)) != 0) {
		return rc;
	}
	vm->hc = (struct hc_vm){.mem = &vm->mem,
				.pci = &vm->pci,
				.ioapic = &vm->ioapic,
				.fs = vm->files->ops,
				.fs_ctx = vm->files->ctx,
				.out = &vm->out,
				.argv0 = vm->cfg->argv0,
				.args = vm->cfg->args,
				.nargs = vm->cfg->nargs,
				.env = vm->cfg->env,
				.nenv = vm->cfg->nenv,
				.iface = vm->lay.iface};
	if ((rc = prepare_guest(vm, img, k)) != 0) {
		return rc;
	}
	return net_setup(vm);
}

static int load_image(const struct vmm_config *cfg, struct kernel_file *k, struct elf_image *img,
		      struct vm_layout *lay)
{
	char err[256];
	uint64_t rnd = 0;
	int rc;

	if ((rc = map_kernel(cfg->kernel_path, k)) != 0) {
		return rc;
	}
	if (elf_parse(k->data, k->len, img, err, sizeof err) != 0) {
		uhs_msg("%s: %s", cfg->kernel_path, err);
		return ST_BAD_IMAGE;
	}
	if (cfg->aslr && img->is_pie && getrandom(&rnd, sizeof rnd, 0) != sizeof rnd) {
		uhs_msg("getrandom: %s", strerror(errno));
		return ST_OSERR;
	}
	if (layout_choose(img, cfg->mem_size, cfg->aslr, rnd, lay, err, sizeof err) != 0) {
		uhs_msg("%s", err);
		return ST_USAGE;
	}
	return net_check_kernel(cfg, img);
}

void vmm_block_signals(void)
{
	sigset_t block;

	/* Stop signals and SIGCHLD are taken synchronously by the main thread only (vcpu.c);
	 * vCPU threads inherit this mask. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &block, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int vmm_run(const struct vmm_config *cfg, const struct vmm_files *files)
{
	struct kernel_file k = {0};
	struct elf_image img;
	struct vm vm = {.kvm_fd = -1, .vm_fd = -1};
	uint64_t t0 = uhs_now_ns();
	int rc;

	vm.cfg = cfg;
	vm.files = files;
	vm.broker_pid = files->broker_pid;
	vm.ncpu = cfg->cpus;
	vm.main_thread = pthread_self();
	pthread_mutex_init(&vm.out_mu, NULL);
	pthread_mutex_init(&vm.ring_mu, NULL);
	pthread_mutex_init(&vm.res_mu, NULL);
	rc = load_image(cfg, &k, &img, &vm.lay);
	if (rc == 0) {
		rc = setup_vm(&vm, &img, &k);
	}
	if (rc == 0) {
		rc = drop_setup_handles(&vm, &k);
	}
	if (rc == 0 && files->broker_ready != NULL) {
		rc = files->broker_ready(files->broker_sock, files->broker_pid);
		if (rc != 0) {
			vm.broker_pid = -1; /* reaped */
		}
	}
	if (rc == 0 && cfg->sandbox) {
		rc = confine_early();
	}
	if (rc == 0) {
		rc = vm_run(&vm);
		net_stop(&vm);
		if (cfg->stats) {
			vm_print_stats(&vm, uhs_now_ns() - t0);
			net_print_stats(&vm);
			if (cfg_assist(&vm)) {
				assist_print_stats(&vm);
			}
		}
	}
	if (cfg_assist(&vm)) {
		assist_fini(&vm);
	}
	net_free(&vm);
	output_close(&vm.out);
	kvm_vm_destroy(&vm);
	free(vm.vcpus);
	gmem_free(&vm.mem);
	if (k.data != NULL) {
		munmap(k.data, k.len);
	}
	return rc;
}
