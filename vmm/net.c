/* SPDX-License-Identifier: MIT */
/* net.c - the NIC of a VM (net.h): device creation, KVM wiring, the I/O thread, statistics.
 *
 * Data path without VM exits where KVM can avoid one: the guest's queue notifications are
 * ioeventfds (KVM signals an eventfd, the vCPU goes on), the device's interrupt is an irqfd
 * on an MSI route (the I/O thread writes an eventfd, KVM injects).  What still exits to the
 * VMM: the driver's register accesses (set-up, and one ISR read per interrupt, as the INTx
 * protocol requires) and the I/O APIC programming at boot.
 *
 * Trust: the TAP and the eventfds come from the launcher; the guest drives the device
 * (virtio_net.c, virtio_pci.c, virtq.c check everything it writes).  One mutex serialises the
 * device between the vCPUs (register accesses) and the I/O thread (one round at a time). */
#include <errno.h>
#include <linux/kvm.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "assist.h"
#include "net.h"
#include "virtio_net.h"
#include "vm.h"

/* KVM's per-vCPU statistics we report: the in-kernel exits are invisible otherwise. */
static const char *const kstat_names[] = {"exits", "halt_exits", "mmio_exits", "io_exits",
					  "irq_injections"};
#define KSTATS (sizeof kstat_names / sizeof kstat_names[0])

struct net {
	struct vm *vm;
	const struct vmm_net *cfg;
	pthread_mutex_t mu;
	pthread_t thread;
	bool started;
	pthread_barrier_t up;
	bool tap_gone;
	uint64_t isr_exits; /* atomic: ISR reads (taken without the lock) */
	uint64_t kicks; /* notify writes that reached the VMM instead of an ioeventfd */
	uint64_t route_errors;
	uint64_t rounds, busy_ns; /* the I/O thread's rounds and time spent in them */
	int stats_fd[CFG_MAX_CPUS];
	int64_t kstat_off[KSTATS]; /* byte offset in the statistics fd, -1 if absent */
	struct vnet dev; /* last: large */
};

int net_check_kernel(const struct vmm_config *cfg, const struct elf_image *img)
{
	const uint32_t *v = img->hermit_version;
	uint64_t ver = ((uint64_t)v[0] << 32) | ((uint64_t)v[1] << 16) | v[2];

	if (cfg->net == NULL || !img->has_hermit_version || ver >= ((13ull << 16) | 2)) {
		return 0;
	}
	uhs_msg("--net needs a Hermit kernel 0.13.2 or newer (uhyve's requirement); %s is "
		"Hermit %u.%u.%u",
		cfg->kernel_path, v[0], v[1], v[2]);
	return ST_NET;
}

/* ---- backend: the TAP ---- */

static ssize_t tap_read(void *ctx, void *buf, size_t len)
{
	struct net *n = ctx;

	return n->tap_gone ? -1 : read(n->cfg->tap_fd, buf, len);
}

static ssize_t tap_write(void *ctx, const void *buf, size_t len)
{
	struct net *n = ctx;

	return n->tap_gone ? -1 : write(n->cfg->tap_fd, buf, len);
}

static void signal_fd(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof one) < 0) {
		/* EAGAIN: the counter is saturated, the reader will wake anyway */
	}
}

/* The device's interrupt.  The irqfd makes KVM inject it into the destination's local APIC
 * and kick that vCPU out of KVM_RUN.  In JIT mode (docs/assist.md) a vCPU runs in a burst or
 * waits in HLT in the VMM instead, where KVM's kick reaches nobody: the interrupt waited for
 * the next timer or device exit, and a guest halted without a timer never took it (net-echo
 * answered nothing).  So its doorbell rings too, after the eventfd write (KVM injects an MSI
 * within that write), so that the interrupt is in the APIC when the vCPU enters KVM to take
 * it.  Every vCPU, as for IPIs (assist_irq.c kick_others): cheaper than decoding the MSI's
 * destination, and none is missed.  No-op outside JIT mode. */
static void raise_irq(struct net *n)
{
	signal_fd(n->cfg->irq_fd);
	assist_wake_all(n->vm);
}

/* ---- device callbacks (called with n->mu held) ---- */

static void on_activate(void *ctx, bool on)
{
	struct net *n = ctx;

	if (on) {
		signal_fd(n->cfg->notify_fd[VNET_RXQ]); /* wake the I/O thread: start polling */
	}
}

static void on_interrupt(void *ctx)
{
	struct net *n = ctx;

	raise_irq(n);
}

static void on_notify(void *ctx, unsigned q)
{
	struct net *n = ctx;

	n->kicks++;
	signal_fd(n->cfg->notify_fd[q]);
}

static const struct vpci_ops net_ops = {on_activate, on_interrupt, on_notify};

static void bar_mmio(void *ctx, uint64_t off, bool write, unsigned len, uint8_t *data)
{
	struct net *n = ctx;

	if (vpci_is_isr(off, write, len)) { /* once per interrupt: no lock */
		__atomic_fetch_add(&n->isr_exits, 1, __ATOMIC_RELAXED);
		data[0] = vpci_isr_read(&n->dev.pci);
		return;
	}
	pthread_mutex_lock(&n->mu);
	vpci_bar_access(&n->dev.pci, off, write, len, data);
	pthread_mutex_unlock(&n->mu);
}

/* ---- the interrupt route: I/O APIC entry of line 11 -> MSI route of the irqfd's GSI ---- */

static int set_route(struct net *n, uint64_t rte)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[1];
	} rt = {0};
	struct ioapic_msi m;

	if (ioapic_msi(rte, &m)) {
		rt.r.nr = 1;
		rt.e[0] =
		    (struct kvm_irq_routing_entry){.gsi = NET_GSI, .type = KVM_IRQ_ROUTING_MSI};
		rt.e[0].u.msi.address_lo = m.addr_lo;
		rt.e[0].u.msi.address_hi = m.addr_hi;
		rt.e[0].u.msi.data = m.data;
	}
	return ioctl(n->vm->vm_fd, KVM_SET_GSI_ROUTING, &rt);
}

/* Called by the I/O APIC (on a vCPU, its lock held) when an entry's MSI changed. */
static void on_route(void *ctx, unsigned pin, uint64_t rte)
{
	struct net *n = ctx;
	struct ioapic_msi m;

	if (pin != NET_IRQ_LINE) {
		return;
	}
	if (set_route(n, rte) != 0) {
		n->route_errors++;
	} else if (ioapic_msi(rte, &m) && __atomic_load_n(&n->dev.pci.isr, __ATOMIC_ACQUIRE)) {
		raise_irq(n); /* unmasked with an interrupt pending */
	}
}

/* ---- set-up ---- */

static int register_eventfds(struct net *n)
{
	struct vm *vm = n->vm;
	bool any_len = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_ANY_LENGTH) > 0;
	/* split irqchip: GSI 24, routed by on_route(); the full in-kernel one (the fallback where
	 * the split one is missing) routes GSI 11 to its own I/O APIC pin 11 by default */
	struct kvm_irqfd irq = {.fd = (uint32_t)n->cfg->irq_fd,
				.gsi = vm->split_irqchip ? NET_GSI : NET_IRQ_LINE};

	for (unsigned q = 0; q < 2; q++) {
		struct kvm_ioeventfd io = {.addr = NET_BAR_GPA + VPCI_NOTIFY_OFF +
						   (uint64_t)q * VPCI_NOTIFY_MULT,
					   .len = any_len ? 0 : 2,
					   .fd = n->cfg->notify_fd[q]};
		if (ioctl(vm->vm_fd, KVM_IOEVENTFD, &io) != 0) {
			uhs_msg("--net: KVM_IOEVENTFD: %s", strerror(errno));
			return ST_NOKVM;
		}
	}
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irq) != 0) {
		uhs_msg("--net: KVM_IRQFD: %s", strerror(errno));
		return ST_NOKVM;
	}
	return 0;
}

/* Finds where KVM's statistics fd keeps the counters of kstat_names (same for all vCPUs). */
/* One statistics descriptor: if it names a counter we report, remember where its value is. */
static void match_kstat(struct net *n, struct kvm_stats_desc *s, uint32_t name_size,
			uint32_t data_offset)
{
	s->name[name_size - 1] = '\0';
	for (size_t k = 0; k < KSTATS; k++) {
		if (!strcmp(s->name, kstat_names[k]) && s->size == 1) {
			n->kstat_off[k] = (int64_t)data_offset + (int64_t)s->offset;
		}
	}
}

static void find_kstats(struct net *n, int fd)
{
	struct kvm_stats_header h;
	size_t dsz;
	char *d;

	for (size_t k = 0; k < KSTATS; k++) {
		n->kstat_off[k] = -1;
	}
	if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || h.num_desc > 4096 ||
	    h.name_size == 0 || h.name_size > 256) {
		return;
	}
	dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	d = calloc(h.num_desc, dsz);
	if (d != NULL &&
	    pread(fd, d, dsz * h.num_desc, h.desc_offset) == (ssize_t)(dsz * h.num_desc)) {
		for (uint32_t i = 0; i < h.num_desc; i++) {
			match_kstat(n, (struct kvm_stats_desc *)(d + i * dsz), h.name_size,
				    h.data_offset);
		}
	}
	free(d);
}

static void open_kstats(struct net *n)
{
	struct vm *vm = n->vm;

	for (unsigned i = 0; i < vm->ncpu; i++) {
		n->stats_fd[i] = vm->cfg->stats ? ioctl(vm->vcpus[i].fd, KVM_GET_STATS_FD, 0) : -1;
	}
	find_kstats(n, n->stats_fd[0]);
}

int net_setup(struct vm *vm)
{
	const struct vmm_net *c = vm->cfg->net;
	struct vnet_backend be = {tap_read, tap_write, NULL};
	struct net *n;
	int rc;

	if (c == NULL) {
		return 0;
	}
	if (gmem_range_ok(&vm->mem, gpa(NET_BAR_GPA), 0) ||
	    gmem_range_ok(&vm->mem, gpa(IOAPIC_GPA), 0)) {
		uhs_msg("--net: guest RAM covers the device window at 0x%llx", NET_BAR_GPA);
		return ST_INTERNAL;
	}
	n = calloc(1, sizeof *n);
	if (n == NULL) {
		uhs_msg("out of memory");
		return ST_OSERR;
	}
	vm->net = n;
	n->vm = vm;
	for (unsigned i = 0; i < CFG_MAX_CPUS; i++) {
		n->stats_fd[i] = -1;
	}
	for (size_t k = 0; k < KSTATS; k++) {
		n->kstat_off[k] = -1;
	}
	n->cfg = c;
	pthread_mutex_init(&n->mu, NULL);
	be.ctx = n;
	vnet_init(&n->dev, c->mac, c->mtu, c->csum, &vm->mem, NET_BAR_GPA, NET_IRQ_LINE, &be);
	n->dev.pci.ops = &net_ops;
	n->dev.pci.ctx = n;
	n->dev.pci.fn.mmio = bar_mmio;
	n->dev.pci.fn.ctx = n;
	pci_bus_attach(&vm->pci, NET_PCI_SLOT, &n->dev.pci.fn);
	if (vm->split_irqchip) {
		vm->ioapic.changed = on_route;
		vm->ioapic.ctx = n;
	}
	if ((rc = register_eventfds(n)) != 0) {
		return rc;
	}
	open_kstats(n);
	return 0;
}

/* ---- the I/O thread ---- */

/* Reads an eventfd's counter (0 if it was not signalled). */
static uint64_t drain(int fd)
{
	uint64_t v = 0;

	return read(fd, &v, sizeof v) == (ssize_t)sizeof v ? v : 0;
}

static void tap_went_away(struct net *n)
{
	n->tap_gone = true;
	uhs_msg("--net: TAP %s went away; the guest's link is dead", n->cfg->name);
}

static void *io_main(void *arg)
{
	struct net *n = arg;
	const struct vmm_net *c = n->cfg;

	prctl(PR_SET_NAME, "uhs-net-io"); /* for ps and the benchmark (before the filter) */
	pthread_barrier_wait(&n->up); /* past glibc's thread start-up before the filter */
	for (uint64_t t0;;) {
		struct pollfd p[4] = {{c->stop_fd, POLLIN, 0},
				      {c->notify_fd[VNET_TXQ], POLLIN, 0},
				      {c->notify_fd[VNET_RXQ], POLLIN, 0},
				      {c->tap_fd, POLLIN, 0}};
		nfds_t np = n->dev.rx_wait || n->tap_gone ? 3 : 4;
		if (poll(p, np, -1) < 0) {
			continue; /* EINTR */
		}
		if (p[0].revents) {
			break;
		}
		if (np == 4 && (p[3].revents & (POLLERR | POLLHUP | POLLNVAL))) {
			tap_went_away(n);
		}
		t0 = uhs_now_ns();
		pthread_mutex_lock(&n->mu);
		n->dev.st.notifications += (p[1].revents ? drain(c->notify_fd[VNET_TXQ]) : 0) +
					   (p[2].revents ? drain(c->notify_fd[VNET_RXQ]) : 0);
		vnet_run(&n->dev);
		pthread_mutex_unlock(&n->mu);
		n->rounds++;
		n->busy_ns += uhs_now_ns() - t0;
	}
	return NULL;
}

int net_start(struct vm *vm)
{
	struct net *n = vm->net;
	int rc;

	if (n == NULL) {
		return 0;
	}
	n->dev.rx_wait = true;
	pthread_barrier_init(&n->up, NULL, 2);
	rc = pthread_create(&n->thread, NULL, io_main, n);
	if (rc != 0) {
		uhs_msg("--net: cannot start the I/O thread: %s", strerror(rc));
		return ST_OSERR;
	}
	n->started = true;
	pthread_barrier_wait(&n->up);
	return 0;
}

void net_stop(struct vm *vm)
{
	struct net *n = vm->net;

	if (n == NULL || !n->started) {
		return;
	}
	signal_fd(n->cfg->stop_fd);
	pthread_join(n->thread, NULL);
	n->started = false;
}

/* ---- statistics ---- */

static uint64_t kstat(const struct net *n, size_t k)
{
	uint64_t sum = 0, v;

	for (unsigned i = 0; i < n->vm->ncpu && n->kstat_off[k] >= 0; i++) {
		if (n->stats_fd[i] >= 0 &&
		    pread(n->stats_fd[i], &v, sizeof v, n->kstat_off[k]) == (ssize_t)sizeof v) {
			sum += v;
		}
	}
	return sum;
}

static void print_events(const struct net *n)
{
	const struct vpci *d = &n->dev.pci;

	for (unsigned e = 0; e < VPCI_E_COUNT; e++) {
		if (d->events[e] != 0) {
			fprintf(stderr, "    device: %-32s %llu\n", vpci_event_name(e),
				(unsigned long long)d->events[e]);
		}
	}
	if (d->resets_needed != 0) {
		fprintf(stderr, "    device: set DEVICE_NEEDS_RESET %llu time(s), last: %s%s\n",
			(unsigned long long)d->resets_needed, d->why,
			d->status & VIRTIO_S_NEEDS_RESET ? " (not reset by the driver)" : "");
	}
}

void net_print_stats(const struct vm *vm)
{
	const struct net *n = vm->net;
	const struct vnet_stats *s;

	if (n == NULL) {
		return;
	}
	s = &n->dev.st;
	fprintf(stderr, "  net %s:\n", n->cfg->name);
	fprintf(stderr, "    rx: %llu packets, %llu bytes; tx: %llu packets, %llu bytes\n",
		(unsigned long long)s->rx_packets, (unsigned long long)s->rx_bytes,
		(unsigned long long)s->tx_packets, (unsigned long long)s->tx_bytes);
	fprintf(stderr,
		"    dropped: rx too small %llu, rx bad %llu, tx too big %llu, tx bad %llu, "
		"tap errors %llu\n",
		(unsigned long long)s->rx_small, (unsigned long long)s->rx_bad,
		(unsigned long long)s->tx_big, (unsigned long long)s->tx_bad,
		(unsigned long long)s->tap_errors);
	fprintf(stderr, "    notifications: %llu (%llu through the VMM); interrupts: %llu\n",
		(unsigned long long)s->notifications, (unsigned long long)n->kicks,
		(unsigned long long)s->interrupts);
	fprintf(stderr, "    I/O thread: %llu rounds, %.3f ms in them (wall clock)\n",
		(unsigned long long)n->rounds, (double)n->busy_ns / 1e6);
	fprintf(stderr,
		"    exits to the VMM: device registers %llu (ISR reads %llu), I/O APIC %llu\n",
		(unsigned long long)(n->dev.pci.exits + n->isr_exits),
		(unsigned long long)n->isr_exits, (unsigned long long)vm->ioapic.exits);
	if (n->kstat_off[0] >= 0 && n->stats_fd[0] >= 0) {
		fprintf(
		    stderr,
		    "    KVM exits (all vCPUs, in-kernel included): %llu (halt %llu, mmio %llu, "
		    "io %llu); interrupts injected %llu\n",
		    (unsigned long long)kstat(n, 0), (unsigned long long)kstat(n, 1),
		    (unsigned long long)kstat(n, 2), (unsigned long long)kstat(n, 3),
		    (unsigned long long)kstat(n, 4));
	}
	print_events(n);
}

const int *net_stats_fds(const struct vm *vm, int *count)
{
	*count = vm->net != NULL && vm->net->stats_fd[0] >= 0 ? (int)vm->ncpu : 0;
	return *count > 0 ? vm->net->stats_fd : NULL;
}

void net_free(struct vm *vm)
{
	struct net *n = vm->net;

	if (n == NULL) {
		return;
	}
	net_stop(vm);
	for (unsigned i = 0; i < vm->ncpu; i++) {
		if (n->stats_fd[i] >= 0) {
			close(n->stats_fd[i]);
		}
	}
	free(n);
	vm->net = NULL;
}
