/* SPDX-License-Identifier: MIT */
/* irqchip.c - the measurement behind the NIC's interrupt design (bench/README.md): a split
 * irqchip with the I/O APIC in the VMM and an irqfd on an MSI route, against KVM's full
 * in-kernel irqchip with an irqfd on I/O APIC pin 11 (what uhyve does).
 *
 * For each mode, RUNS times in one process: create a VM (64 MiB, one vCPU), wire it as the
 * NIC does (ioeventfd on a notify address, irqfd; the route or the I/O APIC entry), then
 * INJECT interrupts one at a time into a real-mode guest that sits in HLT and answers each
 * with an `out` (a user-space exit, timestamped), and tear the VM down.  Reports medians of:
 * set-up (irqchip + wiring), injection latency (eventfd write to the guest's handler exit),
 * and teardown (closing the vCPU and VM fds, which is where an in-kernel irqchip's SRCU grace
 * periods are paid).
 *
 *   irqchip [RUNS [INJECT]]      (default 21 runs, 200 injections per run)
 * Exits 77 without a usable /dev/kvm. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM	    (64ul << 20)
#define CODE	    0x1000
#define HANDLER	    0x1100
#define VECTOR	    0x2b
#define PIN	    11
#define GSI	    24
#define NOTIFY_ADDR 0xfe000200ull

static const char *current = "";

struct vm {
	int kvm, fd, vcpu, irq, notify;
	struct kvm_run *run;
	uint8_t *mem;
	size_t run_size;
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *what)
{
	fprintf(stderr, "irqchip: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Real mode: 8259s masked, x2APIC on, spurious vector 0xff, LINT0 masked (as Hermit does: an
 * ExtINT LINT0 would let the in-kernel 8259 deliver line 11 too, as vector 3), `out 0x10`
 * (ready), then sti; hlt forever.  The handler at HANDLER does `out 0x11`, EOI (x2APIC MSR
 * 0x80b), iret. */
static const uint8_t guest_code[] = {
    0xfa, /* cli */
    0x66, 0xb9, 0x1b, 0,    0, 0, /* mov ecx, 0x1b */
    0x0f, 0x32, /* rdmsr */
    0x66, 0x0d, 0x00, 0x0c, 0, 0, /* or eax, 0xc00 */
    0x0f, 0x30, /* wrmsr */
    0x66, 0xb9, 0x0f, 0x08, 0, 0, /* mov ecx, 0x80f */
    0x66, 0xb8, 0xff, 0x01, 0, 0, /* mov eax, 0x1ff */
    0x66, 0x31, 0xd2, /* xor edx, edx */
    0x0f, 0x30, /* wrmsr */
    0x66, 0xb9, 0x35, 0x08, 0, 0, /* mov ecx, 0x835: LVT LINT0 */
    0x66, 0xb8, 0,    0,    1, 0, /* mov eax, 0x10000: masked, as Hermit does */
    0x0f, 0x30, /* wrmsr */
    0xe6, 0x10, /* out 0x10, al */
    0xfb, /* sti */
    0xf4, /* hlt */
    0xeb, 0xfd, /* jmp hlt */
};
static const uint8_t handler_code[] = {
    0xe6, 0x11, /* out 0x11, al */
    0x66, 0xb9, 0x0b, 0x08, 0, 0, /* mov ecx, 0x80b */
    0x66, 0x31, 0xc0, /* xor eax, eax */
    0x66, 0x31, 0xd2, /* xor edx, edx */
    0x0f, 0x30, /* wrmsr */
    0xcf, /* iret */
};

/* x2APIC needs the CPUID bit: give the vCPU what KVM supports. */
static void set_cpuid(struct vm *v)
{
	static struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} cpuid = {.c = {.nent = 256}};

	if (cpuid.c.nent == 256 && ioctl(v->kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0) {
		die("KVM_GET_SUPPORTED_CPUID");
	}
	if (ioctl(v->vcpu, KVM_SET_CPUID2, &cpuid) < 0) {
		die("KVM_SET_CPUID2");
	}
}

static void load_guest(struct vm *v)
{
	uint16_t ivt[2] = {HANDLER, 0};
	struct kvm_sregs s;
	struct kvm_regs r = {.rip = CODE, .rflags = 2};

	set_cpuid(v);
	memcpy(v->mem + CODE, guest_code, sizeof guest_code);
	memcpy(v->mem + HANDLER, handler_code, sizeof handler_code);
	memcpy(v->mem + 4 * VECTOR, ivt, sizeof ivt);
	if (ioctl(v->vcpu, KVM_GET_SREGS, &s) < 0) {
		die("KVM_GET_SREGS");
	}
	s.cs.base = 0;
	s.cs.selector = 0;
	if (ioctl(v->vcpu, KVM_SET_SREGS, &s) < 0 || ioctl(v->vcpu, KVM_SET_REGS, &r) < 0) {
		die("KVM_SET_REGS");
	}
}

static void route_msi(struct vm *v)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[1];
	} rt = {.r = {.nr = 1}, .e = {{.gsi = GSI, .type = KVM_IRQ_ROUTING_MSI}}};

	rt.e[0].u.msi.address_lo = 0xfee00000u;
	rt.e[0].u.msi.data = VECTOR;
	if (ioctl(v->fd, KVM_SET_GSI_ROUTING, &rt) < 0) {
		die("KVM_SET_GSI_ROUTING");
	}
}

/* I/O APIC pin 11 as Hermit programs it: vector, level-triggered, active low, unmasked. */
static void program_ioapic(struct vm *v)
{
	struct kvm_irqchip chip = {.chip_id = KVM_IRQCHIP_IOAPIC};

	if (ioctl(v->fd, KVM_GET_IRQCHIP, &chip) < 0) {
		die("KVM_GET_IRQCHIP");
	}
	chip.chip.ioapic.redirtbl[PIN].bits = VECTOR | (1u << 13) | (1u << 15);
	if (ioctl(v->fd, KVM_SET_IRQCHIP, &chip) < 0) {
		die("KVM_SET_IRQCHIP");
	}
}

enum { W_FULL = 1, W_IOEVENTFD = 2, W_IRQFD = 4, W_ROUTE = 8, W_ALL = 14 };

/* Creates and wires a VM; returns the set-up time in us. */
static double create(struct vm *v, unsigned w)
{
	bool full = w & W_FULL;
	struct kvm_enable_cap split = {.cap = KVM_CAP_SPLIT_IRQCHIP, .args = {24}};
	struct kvm_enable_cap x2 = {
	    .cap = KVM_CAP_X2APIC_API,
	    .args = {KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK}};
	struct kvm_userspace_memory_region slot = {.memory_size = MEM};
	struct kvm_ioeventfd io = {.addr = NOTIFY_ADDR};
	struct kvm_irqfd irqfd = {.gsi = full ? PIN : GSI};
	double t0, t;

	v->fd = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->fd < 0) {
		die("KVM_CREATE_VM");
	}
	slot.userspace_addr = (uint64_t)(uintptr_t)v->mem;
	if (ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
		die("KVM_SET_USER_MEMORY_REGION");
	}
	t0 = now_us();
	if ((full ? ioctl(v->fd, KVM_CREATE_IRQCHIP, 0) : ioctl(v->fd, KVM_ENABLE_CAP, &split)) <
		0 ||
	    ioctl(v->fd, KVM_ENABLE_CAP, &x2) < 0) {
		die("irqchip");
	}
	v->irq = eventfd(0, EFD_CLOEXEC);
	v->notify = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	io.fd = v->notify;
	irqfd.fd = (uint32_t)v->irq;
	if (((w & W_IOEVENTFD) && ioctl(v->fd, KVM_IOEVENTFD, &io) < 0) ||
	    ((w & W_IRQFD) && ioctl(v->fd, KVM_IRQFD, &irqfd) < 0)) {
		die("KVM_IOEVENTFD/KVM_IRQFD");
	}
	t = now_us() - t0;
	v->vcpu = ioctl(v->fd, KVM_CREATE_VCPU, 0);
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->vcpu, 0);
	if (v->vcpu < 0 || v->run == MAP_FAILED) {
		die("KVM_CREATE_VCPU");
	}
	t0 = now_us();
	if (full && (w & W_ROUTE)) {
		program_ioapic(v);
	} else if (w & W_ROUTE) {
		route_msi(v); /* what the VMM does when the guest programs the entry */
	}
	return t + now_us() - t0;
}

static void run_until(struct vm *v, uint16_t port)
{
	for (;;) {
		if (ioctl(v->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR) {
				continue;
			}
			die("KVM_RUN");
		}
		if (v->run->exit_reason == KVM_EXIT_IO && v->run->io.port == port) {
			return;
		}
		if (v->run->exit_reason != KVM_EXIT_IO) {
			struct kvm_regs r;
			ioctl(v->vcpu, KVM_GET_REGS, &r);
			fprintf(stderr,
				"irqchip: %s: unexpected exit %u (suberror %u) at RIP 0x%llx\n",
				current, v->run->exit_reason, v->run->internal.suberror,
				(unsigned long long)r.rip);
			exit(1);
		}
	}
}

/* One injection: eventfd write, then KVM_RUN until the handler's exit. */
static double inject(struct vm *v)
{
	uint64_t one = 1;
	double t0 = now_us();

	if (write(v->irq, &one, sizeof one) != sizeof one) {
		die("eventfd write");
	}
	run_until(v, 0x11);
	return now_us() - t0;
}

static double destroy(struct vm *v)
{
	double t0 = now_us();

	munmap(v->run, v->run_size);
	close(v->vcpu);
	close(v->fd);
	t0 = now_us() - t0;
	close(v->irq);
	close(v->notify);
	return t0;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	return v[n / 2];
}

static const struct {
	unsigned w;
	const char *name;
} modes[] = {
    {0, "split irqchip alone (a VM without a NIC)"},
    {W_IOEVENTFD, "split + ioeventfd"},
    {W_IRQFD, "split + irqfd"},
    {W_IRQFD | W_ROUTE, "split + irqfd + MSI route"},
    {W_ALL, "split + ioeventfd + irqfd + MSI route (uhyve-sec)"},
    {W_FULL, "full in-kernel irqchip alone"},
    {W_FULL | W_ALL, "full + ioeventfd + irqfd on pin 11 (uhyve)"},
};
#define NMODES (sizeof modes / sizeof modes[0])

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 21, ninj = argc > 2 ? atoi(argv[2]) : 200;
	struct vm v = {0};
	double *set[NMODES], *inj[NMODES], *down[NMODES];

	v.kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v.kvm < 0) {
		printf("SKIP: /dev/kvm: %s\n", strerror(errno));
		return 77;
	}
	v.run_size = (size_t)ioctl(v.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	v.mem = mmap(NULL, MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		     -1, 0);
	if (runs < 1 || ninj < 1 || v.mem == MAP_FAILED) {
		return 2;
	}
	for (size_t m = 0; m < NMODES; m++) {
		set[m] = calloc((size_t)runs, sizeof(double));
		inj[m] = calloc((size_t)runs * (size_t)ninj, sizeof(double));
		down[m] = calloc((size_t)runs, sizeof(double));
	}
	for (int r = 0; r < runs; r++) {
		for (size_t m = 0; m < NMODES; m++) { /* interleaved: drift hits all alike */
			bool irq = (modes[m].w & (W_IRQFD | W_ROUTE)) == (W_IRQFD | W_ROUTE);
			current = modes[m].name;
			set[m][r] = create(&v, modes[m].w);
			load_guest(&v);
			run_until(&v, 0x10);
			for (int i = 0; irq && i < ninj; i++) {
				inj[m][r * ninj + i] = inject(&v);
			}
			down[m][r] = destroy(&v);
		}
	}
	printf("medians of %d runs (injection: %d per run)\n", runs, ninj);
	for (size_t m = 0; m < NMODES; m++) {
		bool irq = (modes[m].w & (W_IRQFD | W_ROUTE)) == (W_IRQFD | W_ROUTE);
		printf("%-52s set-up %7.1f us  injection %6.1f us  teardown %8.1f us\n",
		       modes[m].name, median(set[m], runs), irq ? median(inj[m], runs * ninj) : 0.0,
		       median(down[m], runs));
	}
	printf("RESULT split_nic_setup_us=%.1f full_nic_setup_us=%.1f split_inject_us=%.1f "
	       "full_inject_us=%.1f split_nic_teardown_us=%.1f full_nic_teardown_us=%.1f "
	       "split_alone_teardown_us=%.1f full_alone_teardown_us=%.1f runs=%d\n",
	       median(set[4], runs), median(set[6], runs), median(inj[4], runs * ninj),
	       median(inj[6], runs * ninj), median(down[4], runs), median(down[6], runs),
	       median(down[0], runs), median(down[5], runs), runs);
	return 0;
}
