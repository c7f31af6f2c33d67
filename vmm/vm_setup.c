/* SPDX-License-Identifier: MIT */
/* vm_setup.c - the VMM: load a Hermit kernel and run it under KVM (vmm_run).
 *
 * Order of setup: acquire everything, confine, and only then touch the hostile image
 * (docs/threat-model.md 3.2).  launcher/main.c has already parsed the command line, started
 * the file broker and blocked the stop signals.
 *   1. map the kernel file read-only (a regular file of at most 2 GiB), without parsing it;
 *   2. open the output sink;
 *   3. create guest RAM: a sealed memfd of the configured size (its guest-physical place is
 *      not known yet);
 *   4. open /dev/kvm, create the VM, its irqchip and every vCPU (no memory slot yet); the PCI
 *      bus and the I/O APIC;
 *   5. fork the waiting child of the instruction assist (if any): it must exec its helper
 *      later, which the confined VMM could not; it learns RAM's place through a pipe (6);
 *   6. close what the parse and the run never need (/dev/kvm, the RAM memfd); wait for the
 *      broker;
 *   7. confine (unless --sandbox=off): namespaces, no capabilities, no_new_privs, Landlock
 *      with no file system (vmm_sandbox.c: vmm_confine_early);
 *   8. now confined: parse and validate the image (elf_parse, libelf), choose the layout (RAM
 *      window, ASLR, load address), add RAM's memslot at the chosen address, hand RAM's
 *      geometry to the assist's child, load and relocate the kernel, write GDT, page tables,
 *      boot info and FDT, set up every vCPU; with --net, the NIC: check the kernel's version,
 *      put the device on the bus, register its eventfds with KVM (net.c);
 *   9. close what the run does not need: the kernel image, the VM fd (unless KVM batches port
 *      writes);
 *  10. start the NIC's I/O thread and one parked thread per vCPU, install the seccomp allowlist for
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
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "assist.h"
#include "net.h"
#include "gdb.h"
#include "vm.h"
#include "vmm_sandbox.h"

#define KERNEL_FILE_MAX (1ull << 31)

struct kernel_file {
	uint8_t *data;
	size_t len;
	bool borrowed; /* a Hermit image's kernel: the launcher's mapping (vmm_config) */
};

static int map_kernel(const struct vmm_config *cfg, struct kernel_file *k)
{
	const char *path = cfg->kernel_path;
	struct stat st;
	int fd;
	void *p;

	if (cfg->kernel_data != NULL) {
		*k = (struct kernel_file){(uint8_t *)(uintptr_t)cfg->kernel_data, cfg->kernel_len,
					  true};
		return 0;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
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

/* Steps 2-5: everything the VMM must open, before confinement; the image is only mapped. */
static int acquire(struct vm *vm)
{
	char err[256];
	int rc;

	if (output_open(&vm->out, vm->cfg->output, err, sizeof err) != 0) {
		uhs_msg("%s", err);
		return ST_CANTCREAT;
	}
	/* The kernel log (serial port) goes to the output, as in uhyve since Nov 2024. */
	vm->out.show_serial = true;
	if ((rc = ram_create(vm, cfg_assist(vm))) != 0) {
		return rc;
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
	for (unsigned i = 0; i < vm->ncpu; i++) {
		if ((rc = kvm_vcpu_create(vm, &vm->vcpus[i])) != 0) {
			return rc;
		}
	}
	if ((rc = kvm_cpuid_join(vm)) != 0) { /* confinement needs a single thread */
		return rc;
	}
	if (vm->cfg->gdb_fd > 2 && (rc = gdb_init(vm)) != 0) { /* probes KVM: needs /dev/kvm */
		return rc;
	}
	return cfg_assist(vm) ? assist_init(vm) : 0;
}

/* Step 6: the image is parsed without /dev/kvm (no new VMs) and without the RAM memfd (the
 * assist's child has its own reference). */
static void drop_before_confinement(struct vm *vm)
{
	if (vm->kvm_fd >= 0) {
		close(vm->kvm_fd);
		vm->kvm_fd = -1;
	}
	if (vm->mem.fd >= 0) {
		close(vm->mem.fd);
		vm->mem.fd = -1;
	}
}

/* Step 7: namespaces, capabilities, no_new_privs, Landlock (vmm_sandbox.c). */
static int confine_early(void)
{
	char err[256];

	if (vmm_confine_early(err, sizeof err) != 0) {
		uhs_msg("sandbox: %s", err);
		return ST_SANDBOX;
	}
	return 0;
}

#ifdef UHS_TEST_HOOKS
/* Test builds only (-Dtest_hooks=true): with UHS_TEST_PARSE_PROBE set, one line on stderr
 * telling what the process may do at the moment the image is parsed (tests/sandbox). */
static void parse_probe(const struct vm *vm)
{
	int fd, nnp;

	if (getenv("UHS_TEST_PARSE_PROBE") == NULL) {
		return;
	}
	nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	uhs_msg("test: parsing the kernel image with no_new_privs=%d, file system %s, /dev/kvm %s",
		nnp, fd >= 0 ? "allowed" : "denied", vm->kvm_fd >= 0 ? "open" : "closed");
	if (fd >= 0) {
		close(fd);
	}
}
#endif

/* Step 8, first half: the hostile image, parsed confined, decides where RAM goes. */
static int parse_and_place(struct vm *vm, const struct kernel_file *k, struct elf_image *img)
{
	const struct vmm_config *cfg = vm->cfg;
	char err[256];
	uint64_t rnd = 0;
	int rc;

#ifdef UHS_TEST_HOOKS
	parse_probe(vm);
#endif
	if (elf_parse(k->data, k->len, img, err, sizeof err) != 0) {
		uhs_msg("%s: %s", cfg->kernel_path, err);
		return ST_BAD_IMAGE;
	}
	if ((rc = net_check_kernel(cfg, img)) != 0) {
		return rc;
	}
	if (cfg->aslr && img->is_pie && getrandom(&rnd, sizeof rnd, 0) != sizeof rnd) {
		uhs_msg("getrandom: %s", strerror(errno));
		return ST_OSERR;
	}
	if (img->uhyve_if == 1 &&
	    (cfg->nargs + 1 > UH_MAX_ARGC_ENVC || cfg->nenv > UH_MAX_ARGC_ENVC)) {
		uhs_msg("a uhyve interface v1 kernel takes at most %d arguments and %d environment "
			"variables (Cmdsize); %d and %d given",
			UH_MAX_ARGC_ENVC - 1, UH_MAX_ARGC_ENVC, cfg->nargs, cfg->nenv);
		return ST_USAGE;
	}
	if (layout_choose(img, cfg->mem_size, cfg->aslr, rnd, &vm->lay, err, sizeof err) != 0) {
		uhs_msg("%s", err);
		return ST_USAGE;
	}
	gmem_place(&vm->mem, vm->lay.guest_address);
	if ((rc = kvm_vm_map_ram(vm)) != 0) {
		return rc;
	}
	return cfg_assist(vm) ? assist_set_ram(vm) : 0;
}

static int write_boot_structures(struct vm *vm, const struct elf_image *img)
{
	struct boot_params bp = {.cpus = vm->ncpu,
				 .boot_time_ns = realtime_ns(),
				 .mounts = vm->files->mounts,
				 .nmounts = vm->files->nmounts};
	char *bootargs = layout_bootargs(vm->cfg);
	int rc, tsc = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);

	bp.tsc_khz = tsc > 0 ? (uint32_t)tsc : 0;
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
	return 0;
}

/* Step 8, second half: guest memory contents and the vCPUs' boot state. */
static int load_guest(struct vm *vm, const struct kernel_file *k)
{
	struct elf_image img;
	char err[256];
	int rc;

	if ((rc = parse_and_place(vm, k, &img)) != 0) {
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
	if (elf_load(&img, k->data, k->len, &vm->mem, vm->lay.load_addr, err, sizeof err) != 0) {
		uhs_msg("%s", err);
		return ST_BAD_IMAGE;
	}
	gdb_loaded(vm, vm->lay.load_addr - img.first_vaddr); /* qOffsets */
	if ((rc = initrd_place(vm)) != 0) {
		return rc;
	}
	if ((rc = write_boot_structures(vm, &img)) != 0) {
		return rc;
	}
	for (unsigned i = 0; i < vm->ncpu; i++) {
		if ((rc = kvm_vcpu_setup(vm, &vm->vcpus[i])) != 0) {
			return rc;
		}
	}
	return net_setup(vm);
}

/* Step 9: what the run no longer needs, before the vCPU threads and seccomp: the VMM then
 * holds only vCPU fds, the output, the broker socket and guest RAM; the VM fd only where KVM
 * can batch port writes (its seccomp rule then allows KVM_REGISTER_COALESCED_MMIO on it and
 * nothing else). */
static void drop_setup_handles(struct vm *vm, struct kernel_file *k)
{
	if (!k->borrowed) {
		munmap(k->data, k->len);
	}
	k->data = NULL;
	if (vm->vm_fd >= 0 && vm->ring == NULL && vm->net == NULL) {
		/* kept only for pio_ring_register() and the NIC's interrupt route (one ioctl
		 * request each) */
		close(vm->vm_fd);
		vm->vm_fd = -1;
	}
}

/* Steps 1-9; 0 or an exit status. */
static int setup(struct vm *vm, struct kernel_file *k)
{
	const struct vmm_files *files = vm->files;
	int rc = map_kernel(vm->cfg, k);

	if (rc == 0) {
		rc = acquire(vm);
	}
	if (rc == 0) {
		drop_before_confinement(vm);
	}
	if (rc == 0 && files->broker_ready != NULL) {
		rc = files->broker_ready(files->broker_sock, files->broker_pid);
		if (rc != 0) {
			vm->broker_pid = -1; /* reaped */
		}
	}
	if (rc == 0 && vm->cfg->sandbox) {
		rc = confine_early();
	}
	if (rc == 0) {
		rc = load_guest(vm, k);
	}
	if (rc == 0) {
		drop_setup_handles(vm, k);
	}
	return rc;
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
	rc = setup(&vm, &k);
	if (rc == 0) {
		rc = gdb_start(&vm);
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
	gdb_finish(&vm, rc); /* the exit status as a W packet; closes cfg->gdb_fd */
	if (cfg_assist(&vm)) {
		assist_fini(&vm);
	}
	net_free(&vm);
	output_close(&vm.out);
	kvm_vm_destroy(&vm);
	free(vm.vcpus);
	gmem_free(&vm.mem);
	if (k.data != NULL && !k.borrowed) {
		munmap(k.data, k.len);
	}
	return rc;
}
