/* SPDX-License-Identifier: MIT */
/* test_virtio.c - the NIC's device model without KVM: PCI configuration space (pci.c), the
 * I/O APIC's MSI messages (ioapic.c), the virtio-pci transport's state machine, feature
 * negotiation and layout freeze (virtio_pci.c), split virtqueues (virtq.c) and the virtio-net
 * data path (virtio_net.c) against a fake TAP, driven by a test driver through the same
 * register accesses a guest makes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ioapic.h"
#include "pci.h"
#include "virtio_net.h"

#define RAM_START 0x100000ull
#define RAM_SIZE  (1ull << 20)
#define BAR	  0xfe000000ull
#define QSIZE	  16
/* where the test driver puts things in guest RAM */
#define DESC(q)	 (RAM_START + 0x1000 + (q)*0x4000)
#define AVAIL(q) (DESC(q) + 0x1000)
#define USED(q)	 (DESC(q) + 0x2000)
#define BUF(i)	 (RAM_START + 0x10000 + (uint64_t)(i)*0x800)

#define CC_DFSEL   0x00
#define CC_DF	   0x04
#define CC_GFSEL   0x08
#define CC_GF	   0x0c
#define CC_STATUS  0x14
#define CC_QSEL	   0x16
#define CC_QSIZE   0x18
#define CC_QENABLE 0x1c
#define CC_QNOFF   0x1e
#define CC_QDESC   0x20
#define CC_QDRIVER 0x28
#define CC_QDEVICE 0x30

struct fake {
	struct gmem mem;
	uint8_t *ram;
	struct vnet *n;
	uint8_t rx[4][2048]; /* frames the "TAP" will deliver */
	size_t rxlen[4];
	int nrx, rxpos;
	uint8_t tx[4][2048]; /* frames the device wrote to the "TAP" */
	size_t txlen[4];
	int ntx;
	int activations, deactivations, interrupts, notifies;
	uint16_t avail_idx[2];
};

static ssize_t fake_read(void *ctx, void *buf, size_t len)
{
	struct fake *f = ctx;
	size_t k;

	if (f->rxpos == f->nrx) {
		return -1;
	}
	k = f->rxlen[f->rxpos] < len ? f->rxlen[f->rxpos] : len;
	memcpy(buf, f->rx[f->rxpos++], k);
	return (ssize_t)k;
}

static ssize_t fake_write(void *ctx, const void *buf, size_t len)
{
	struct fake *f = ctx;

	if (f->ntx < 4 && len <= sizeof f->tx[0]) {
		memcpy(f->tx[f->ntx], buf, len);
		f->txlen[f->ntx++] = len;
	}
	return (ssize_t)len;
}

static void on_activate(void *ctx, bool on)
{
	struct fake *f = ctx;

	if (on) {
		f->activations++;
	} else {
		f->deactivations++;
	}
}

static void on_interrupt(void *ctx)
{
	((struct fake *)ctx)->interrupts++;
}

static void on_notify(void *ctx, unsigned q)
{
	(void)q;
	((struct fake *)ctx)->notifies++;
}

static const struct vpci_ops ops = {on_activate, on_interrupt, on_notify};

static int setup_with(void **state, bool tap_csum)
{
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	struct fake *f = calloc(1, sizeof *f);
	struct vnet_backend be = {fake_read, fake_write, NULL};

	assert_non_null(f);
	f->ram = calloc(1, RAM_SIZE);
	f->n = calloc(1, sizeof *f->n);
	assert_non_null(f->ram);
	assert_non_null(f->n);
	gmem_init_arena(&f->mem, f->ram, RAM_START, RAM_SIZE);
	be.ctx = f;
	vnet_init(f->n, mac, 1500, tap_csum, &f->mem, BAR, 11, &be);
	f->n->pci.ops = &ops;
	f->n->pci.ctx = f;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, true);
}

static int teardown(void **state)
{
	struct fake *f = *state;

	free(f->ram);
	free(f->n);
	free(f);
	return 0;
}

/* ---- the test driver: register accesses as a guest makes them ---- */

static void wr(struct fake *f, uint64_t off, unsigned len, uint64_t v)
{
	uint8_t d[8];

	memcpy(d, &v, 8);
	vpci_bar_access(&f->n->pci, off, true, len, d);
}

static uint64_t rd(struct fake *f, uint64_t off, unsigned len)
{
	uint8_t d[8] = {0};
	uint64_t v = 0;

	vpci_bar_access(&f->n->pci, off, false, len, d);
	memcpy(&v, d, len);
	return v;
}

static uint8_t status(struct fake *f)
{
	return (uint8_t)rd(f, CC_STATUS, 1);
}

static uint64_t device_features(struct fake *f)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 2; i++) {
		wr(f, CC_DFSEL, 4, i);
		v |= rd(f, CC_DF, 4) << (32 * i);
	}
	return v;
}

static void driver_features(struct fake *f, uint64_t v)
{
	for (unsigned i = 0; i < 4; i++) {
		wr(f, CC_GFSEL, 4, i);
		wr(f, CC_GF, 4, i < 2 ? (uint32_t)(v >> (32 * i)) : 0);
	}
}

static void queue(struct fake *f, unsigned q, uint16_t size, uint64_t desc)
{
	wr(f, CC_QSEL, 2, q);
	wr(f, CC_QSIZE, 2, size);
	wr(f, CC_QDESC, 8, desc);
	wr(f, CC_QDRIVER, 8, AVAIL(q));
	wr(f, CC_QDEVICE, 8, USED(q));
	wr(f, CC_QENABLE, 2, 1);
}

/* Up to FEATURES_OK with `feat`. */
static void negotiate(struct fake *f, uint64_t feat)
{
	wr(f, CC_STATUS, 1, 0);
	wr(f, CC_STATUS, 1, 1);
	wr(f, CC_STATUS, 1, 3);
	driver_features(f, feat);
	wr(f, CC_STATUS, 1, 0xb);
}

static void bring_up(struct fake *f, uint64_t feat)
{
	negotiate(f, feat);
	queue(f, 0, QSIZE, DESC(0));
	queue(f, 1, QSIZE, DESC(1));
	wr(f, CC_STATUS, 1, 0xf);
	assert_int_equal(status(f), 0xf);
}

static void put(struct fake *f, uint64_t gpa_, const void *p, size_t n)
{
	assert_int_equal(gmem_copy_to(&f->mem, gpa(gpa_), p, n), 0);
}

static void desc(struct fake *f, unsigned q, unsigned i, uint64_t addr, uint32_t len,
		 uint16_t flags, uint16_t next)
{
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	put(f, DESC(q) + 16ull * i, d, 16);
}

/* Makes chain `head` available on queue q. */
static void offer(struct fake *f, unsigned q, uint16_t head)
{
	uint16_t slot = f->avail_idx[q] % QSIZE;

	put(f, AVAIL(q) + 4 + 2ull * slot, &head, 2);
	f->avail_idx[q]++;
	put(f, AVAIL(q) + 2, &f->avail_idx[q], 2);
}

static uint16_t used_idx(struct fake *f, unsigned q)
{
	uint16_t v = 0;

	assert_int_equal(gmem_copy_from(&f->mem, &v, gpa(USED(q) + 2), 2), 0);
	return v;
}

static uint32_t used_len(struct fake *f, unsigned q, unsigned slot)
{
	uint32_t v = 0;

	assert_int_equal(gmem_copy_from(&f->mem, &v, gpa(USED(q) + 4 + 8ull * slot + 4), 4), 0);
	return v;
}

#define BASE_FEATURES (VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_MTU)

/* ---- PCI configuration space ---- */

static void pci_config(void **state)
{
	struct fake *f = *state;
	struct pci_bus b;
	uint32_t addr = 0x80000000u, v;

	pci_bus_init(&b);
	pci_bus_attach(&b, 0, &f->n->pci.fn);
	pci_config_io(&b, addr, 0, false, 4, (uint8_t *)&v);
	assert_int_equal(v, 0x10411af4);
	pci_config_io(&b, addr + 0x3c, 0, false, 4, (uint8_t *)&v);
	assert_int_equal(v & 0xffff, 0x010b); /* pin A, line 11 */
	/* BAR sizing: all ones in, the size mask out; the address comes back */
	v = 0xffffffffu;
	pci_config_io(&b, addr + 0x10, 0, true, 4, (uint8_t *)&v);
	pci_config_io(&b, addr + 0x10, 0, false, 4, (uint8_t *)&v);
	assert_int_equal(v, 0xfffff00c);
	v = (uint32_t)BAR | 0xc;
	pci_config_io(&b, addr + 0x10, 0, true, 4, (uint8_t *)&v);
	pci_config_io(&b, addr + 0x10, 0, false, 4, (uint8_t *)&v);
	assert_int_equal(v, (uint32_t)BAR | 0xc);
	/* read-only bytes stay: vendor id, status */
	v = 0;
	pci_config_io(&b, addr, 0, true, 4, (uint8_t *)&v);
	pci_config_io(&b, addr, 0, false, 2, (uint8_t *)&v);
	assert_int_equal(v & 0xffff, 0x1af4);
	/* a byte read at 0xcfe: the high half of the dword */
	v = 0;
	pci_config_io(&b, addr, 2, false, 2, (uint8_t *)&v);
	assert_int_equal(v & 0xffff, 0x1041);
	/* 4 bytes at 0xcfe: the two that exist, then all ones */
	pci_config_io(&b, addr, 2, false, 4, (uint8_t *)&v);
	assert_int_equal(v, 0xffff1041);
	/* absent device, other bus, other function, enable bit clear: all ones */
	pci_config_io(&b, addr | (1u << 11), 0, false, 4, (uint8_t *)&v);
	assert_int_equal(v, 0xffffffffu);
	pci_config_io(&b, addr | (1u << 16), 0, false, 4, (uint8_t *)&v);
	assert_int_equal(v, 0xffffffffu);
	pci_config_io(&b, addr | (1u << 8), 0, false, 4, (uint8_t *)&v);
	assert_int_equal(v, 0xffffffffu);
	pci_config_io(&b, 0, 0, false, 4, (uint8_t *)&v);
	assert_int_equal(v, 0xffffffffu);
}

static void pci_caps(void **state)
{
	struct fake *f = *state;
	const uint8_t *c = f->n->pci.fn.cfg;
	unsigned at = c[0x34], types = 0;

	assert_true(c[6] & 0x10); /* capability list */
	for (int n = 0; at != 0 && n < 8; n++) {
		uint32_t off, len;
		assert_int_equal(c[at], 0x09);
		memcpy(&off, c + at + 8, 4);
		memcpy(&len, c + at + 12, 4);
		assert_true(off + len <= VPCI_BAR_SIZE);
		types |= 1u << c[at + 3];
		at = c[at + 1];
	}
	assert_int_equal(types, 0x1e); /* common, notify, ISR, device */
}

static void pci_mmio_bounds(void **state)
{
	struct fake *f = *state;
	struct pci_bus b;
	uint8_t d[8];

	pci_bus_init(&b);
	f->n->pci.fn.mmio = NULL;
	pci_bus_attach(&b, 0, &f->n->pci.fn);
	assert_false(pci_mmio(&b, BAR - 1, false, 1, d));
	assert_false(pci_mmio(&b, BAR + VPCI_BAR_SIZE - 4, false, 8, d)); /* straddles the end */
	assert_false(pci_mmio(&b, BAR + VPCI_BAR_SIZE, false, 1, d));
}

/* ---- I/O APIC ---- */

static unsigned changes;
static uint64_t last_rte;

static void changed(void *ctx, unsigned pin, uint64_t rte)
{
	(void)ctx;
	assert_int_equal(pin, 11);
	changes++;
	last_rte = rte;
}

static void ioapic_write(struct ioapic *a, uint32_t reg, uint32_t v)
{
	ioapic_mmio(a, 0, true, 4, (uint8_t *)&reg);
	ioapic_mmio(a, 0x10, true, 4, (uint8_t *)&v);
}

static uint32_t ioapic_read(struct ioapic *a, uint32_t reg)
{
	uint32_t v;

	ioapic_mmio(a, 0, true, 4, (uint8_t *)&reg);
	ioapic_mmio(a, 0x10, false, 4, (uint8_t *)&v);
	return v;
}

static void ioapic_msi_routes(void **state)
{
	struct ioapic a;
	struct ioapic_msi m;

	(void)state;
	ioapic_init(&a);
	a.changed = changed;
	changes = 0;
	assert_int_equal(ioapic_read(&a, 1), 0x00170011);
	assert_int_equal(ioapic_read(&a, 0x10 + 22), 0x10000); /* masked at reset */
	ioapic_write(&a, 0x10 + 22, 0x2b | (1u << 13) | (1u << 15)); /* Hermit's PCI setting */
	assert_int_equal(changes, 1);
	assert_true(ioapic_msi(last_rte, &m));
	assert_int_equal(m.addr_lo, 0xfee00000u);
	assert_int_equal(m.data, 0x2b); /* edge-triggered, fixed */
	ioapic_write(&a, 0x11 + 22, 0x03000000u); /* destination APIC 3 */
	assert_int_equal(changes, 2);
	assert_true(ioapic_msi(last_rte, &m));
	assert_int_equal(m.addr_lo, 0xfee03000u);
	ioapic_write(&a, 0x11 + 22, 0x03000000u); /* no change, no route update */
	assert_int_equal(changes, 2);
	ioapic_write(&a, 0x10 + 22, 0x2b | (4u << 8)); /* NMI: not deliverable */
	assert_int_equal(changes, 3);
	assert_false(ioapic_msi(last_rte, &m));
	assert_false(ioapic_msi(0x0f, &m)); /* vector below 16 */
	assert_false(ioapic_msi(0x2b | (1ull << 16), &m)); /* masked */
	ioapic_write(&a, 0x10 + 2 * 30, 0x2b); /* beyond the 24 entries: nothing */
	ioapic_write(&a, 1, 0); /* version is read-only */
	assert_int_equal(ioapic_read(&a, 1), 0x00170011);
	assert_int_equal(changes, 3);
	/* other widths and offsets do nothing */
	uint8_t b[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	ioapic_mmio(&a, 0x10, false, 8, b);
	assert_int_equal(b[7], 0);
}

/* ---- transport ---- */

static void negotiation(void **state)
{
	struct fake *f = *state;
	uint64_t feat;

	wr(f, CC_STATUS, 1, 1);
	wr(f, CC_STATUS, 1, 3);
	feat = device_features(f);
	assert_int_equal(feat, VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS |
				   VIRTIO_NET_F_MTU | VIRTIO_NET_F_GUEST_CSUM | VIRTIO_NET_F_CSUM);
	wr(f, CC_DFSEL, 4, 2);
	assert_int_equal(rd(f, CC_DF, 4), 0);
	driver_features(f, feat);
	wr(f, CC_STATUS, 1, 0xb);
	assert_int_equal(status(f), 0xb);
	assert_int_equal(rd(f, 0x12, 2), 2); /* num_queues */
	wr(f, CC_QSEL, 2, 1);
	assert_int_equal(rd(f, CC_QSIZE, 2), 256);
	assert_int_equal(rd(f, CC_QNOFF, 2), 1);
	wr(f, CC_QSEL, 2, 2);
	assert_int_equal(rd(f, CC_QSIZE, 2), 0); /* no third queue */
	queue(f, 0, QSIZE, DESC(0));
	queue(f, 1, QSIZE, DESC(1));
	wr(f, CC_STATUS, 1, 0xf);
	assert_int_equal(status(f), 0xf);
	assert_int_equal(f->activations, 1);
	assert_true(vpci_has(&f->n->pci, VIRTIO_NET_F_CSUM));
	/* device configuration: MAC, link up, MTU */
	assert_int_equal(rd(f, VPCI_DEVCFG_OFF, 1), 2);
	assert_int_equal(rd(f, VPCI_DEVCFG_OFF + 5, 1), 1);
	assert_int_equal(rd(f, VPCI_DEVCFG_OFF + 6, 2), 1);
	assert_int_equal(rd(f, VPCI_DEVCFG_OFF + 10, 2), 1500);
}

static void features_refused(void **state)
{
	struct fake *f = *state;
	static const uint64_t bad[] = {BASE_FEATURES | (1ull << 28), /* INDIRECT_DESC */
				       VIRTIO_NET_F_MAC, /* no VERSION_1 */
				       BASE_FEATURES | (1ull << 40)};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		negotiate(f, bad[i]);
		assert_int_equal(status(f), 0x43);
		wr(f, CC_STATUS, 1, 0x4f); /* further writes change nothing */
		assert_int_equal(status(f), 0x43);
	}
	/* a nonzero feature word 2 */
	wr(f, CC_STATUS, 1, 0);
	wr(f, CC_STATUS, 1, 1);
	wr(f, CC_STATUS, 1, 3);
	driver_features(f, BASE_FEATURES);
	wr(f, CC_GFSEL, 4, 2);
	wr(f, CC_GF, 4, 1);
	wr(f, CC_STATUS, 1, 0xb);
	assert_int_equal(status(f), 0x43);
	assert_int_equal(f->activations, 0);
	assert_int_equal(f->n->pci.events[VPCI_E_FEATURES], 4);
}

static void status_order(void **state)
{
	struct fake *f = *state;
	static const uint8_t seq[][3] = {
	    {1, 5, 0x41}, /* DRIVER_OK without FEATURES_OK */
	    {1, 9, 0x41}, /* FEATURES_OK without DRIVER */
	    {2, 0, 0x40}, /* DRIVER without ACKNOWLEDGE */
	    {1, 0x21, 0x41}, /* an undefined bit */
	};

	for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
		wr(f, CC_STATUS, 1, 0);
		wr(f, CC_STATUS, 1, seq[i][0]);
		if (seq[i][1] != 0) {
			wr(f, CC_STATUS, 1, seq[i][1]);
		}
		assert_int_equal(status(f), seq[i][2]);
	}
	/* clearing a bit other than by reset */
	wr(f, CC_STATUS, 1, 0);
	wr(f, CC_STATUS, 1, 3);
	wr(f, CC_STATUS, 1, 1);
	assert_int_equal(status(f), 0x43);
	/* FAILED stops everything; reset recovers */
	bring_up(f, BASE_FEATURES);
	wr(f, CC_STATUS, 1, 0x8f);
	assert_int_equal(status(f), 0x8f);
	assert_int_equal(f->deactivations, 1);
	assert_false(f->n->pci.active);
	wr(f, CC_STATUS, 1, 0);
	assert_int_equal(status(f), 0);
	wr(f, CC_QSEL, 2, 0);
	assert_int_equal(rd(f, CC_QSIZE, 2), 256); /* back to the maximum */
}

static void layout_frozen(void **state)
{
	struct fake *f = *state;
	struct vq_layout before;

	bring_up(f, BASE_FEATURES);
	before = f->n->pci.vq[1].l;
	wr(f, CC_QSEL, 2, 1);
	wr(f, CC_QSIZE, 2, 1024);
	wr(f, CC_QDESC, 8, 0);
	wr(f, CC_QDESC + 4, 4, 0xffffffff);
	wr(f, CC_QDEVICE, 8, RAM_START);
	wr(f, CC_QENABLE, 2, 0);
	assert_int_equal(rd(f, CC_QSIZE, 2), QSIZE);
	assert_int_equal(rd(f, CC_QDESC, 8), DESC(1));
	assert_int_equal(rd(f, CC_QENABLE, 2), 1);
	assert_memory_equal(&f->n->pci.vq[1].l, &before, sizeof before);
	assert_int_equal(f->n->pci.events[VPCI_E_FROZEN], 5);
	assert_int_equal(status(f), 0xf);
	/* features are frozen too */
	wr(f, CC_GFSEL, 4, 0);
	wr(f, CC_GF, 4, 0xffffffff);
	assert_false(vpci_has(&f->n->pci, VIRTIO_NET_F_CSUM));
}

static void layouts_refused(void **state)
{
	struct fake *f = *state;
	static const struct {
		uint16_t size;
		uint64_t desc;
	} bad[] = {{0, DESC(0)},
		   {100, DESC(0)},
		   {512, DESC(0)},
		   {QSIZE, DESC(0) + 8},
		   {QSIZE, RAM_START + RAM_SIZE - 16 * QSIZE + 16},
		   {QSIZE, 0x1000},
		   {QSIZE, UINT64_MAX - 15}};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		negotiate(f, BASE_FEATURES);
		queue(f, 0, bad[i].size, bad[i].desc);
		queue(f, 1, QSIZE, DESC(1));
		wr(f, CC_STATUS, 1, 0xf);
		assert_int_equal(status(f), 0x4b);
		assert_false(f->n->pci.active);
	}
	assert_int_equal(f->activations, 0);
	/* a misaligned used ring of the other queue */
	negotiate(f, BASE_FEATURES);
	queue(f, 0, QSIZE, DESC(0));
	queue(f, 1, QSIZE, DESC(1));
	wr(f, CC_QDEVICE, 8, USED(1) + 2);
	wr(f, CC_STATUS, 1, 0xf);
	assert_int_equal(status(f), 0x4b);
	assert_string_equal(f->n->pci.why, "queue 1: layout");
}

static void register_widths(void **state)
{
	struct fake *f = *state;

	bring_up(f, BASE_FEATURES);
	assert_int_equal(rd(f, CC_DF, 2), 0);
	assert_int_equal(rd(f, CC_STATUS, 4), 0);
	assert_int_equal(rd(f, VPCI_ISR_OFF, 4), 0);
	assert_int_equal(rd(f, VPCI_NOTIFY_OFF, 2), 0);
	assert_int_equal(rd(f, 0x800, 4), 0);
	wr(f, CC_QDESC, 1, 0x42);
	wr(f, 0x12, 4, 7);
	wr(f, VPCI_ISR_OFF, 1, 0xff);
	wr(f, VPCI_DEVCFG_OFF, 1, 0x12);
	wr(f, VPCI_NOTIFY_OFF + 2, 2, 0); /* not a notify register */
	wr(f, VPCI_NOTIFY_OFF + 8, 2, 2); /* queue 2 does not exist */
	assert_int_equal(f->n->pci.events[VPCI_E_WIDTH], 11);
	assert_int_equal(rd(f, VPCI_DEVCFG_OFF, 1), 2);
	assert_int_equal(status(f), 0xf);
	assert_int_equal(f->notifies, 0);
	wr(f, VPCI_NOTIFY_OFF + 4, 2, 1);
	assert_int_equal(f->notifies, 1);
}

/* ---- data path ---- */

static void tx_frames(void **state)
{
	struct fake *f = *state;
	uint8_t hdr[12] = {0}, frame[60];

	bring_up(f, BASE_FEATURES | VIRTIO_NET_F_CSUM);
	memset(frame, 0x5a, sizeof frame);
	put(f, BUF(0), hdr, sizeof hdr);
	put(f, BUF(1), frame, sizeof frame);
	desc(f, 1, 0, BUF(0), 12, VQ_DESC_F_NEXT, 1);
	desc(f, 1, 1, BUF(1), 60, 0, 0);
	offer(f, 1, 0);
	/* a partial checksum inside the frame: passed on */
	hdr[0] = 1;
	hdr[6] = 34; /* csum_start */
	hdr[8] = 6; /* csum_offset */
	put(f, BUF(2), hdr, sizeof hdr);
	desc(f, 1, 2, BUF(2), 12, VQ_DESC_F_NEXT, 3);
	desc(f, 1, 3, BUF(1), 60, 0, 0);
	offer(f, 1, 2);
	/* header and frame in one descriptor */
	memset(hdr, 0, sizeof hdr);
	put(f, BUF(3), hdr, sizeof hdr);
	put(f, BUF(3) + 12, frame, 14);
	desc(f, 1, 4, BUF(3), 26, 0, 0);
	offer(f, 1, 4);
	assert_true(vnet_run(f->n));
	assert_int_equal(f->ntx, 3);
	assert_int_equal(f->txlen[0], 72);
	assert_memory_equal(f->tx[0] + 12, frame, 60);
	assert_int_equal(f->tx[1][0], 1);
	assert_int_equal(f->tx[1][6], 34);
	assert_int_equal(f->tx[1][8], 6);
	assert_int_equal(f->txlen[2], 26);
	assert_int_equal(used_idx(f, 1), 3);
	assert_int_equal(f->n->st.tx_packets, 3);
	assert_int_equal(f->n->st.tx_bytes, 60 + 60 + 14);
	assert_int_equal(f->interrupts, 1); /* one per batch */
}

/* Frames the device must drop, each counted, the chain returned. */
static void tx_drops(void **state)
{
	struct fake *f = *state;
	uint8_t hdr[12] = {0};

	bring_up(f, BASE_FEATURES); /* no CSUM */
	put(f, BUF(0), hdr, 12);
	desc(f, 1, 0, BUF(0), 12, VQ_DESC_F_NEXT, 1);
	desc(f, 1, 1, BUF(1), 1500 + 18 + 1, 0, 0); /* one byte over */
	offer(f, 1, 0);
	desc(f, 1, 2, BUF(0), 12, VQ_DESC_F_NEXT, 3);
	desc(f, 1, 3, BUF(1), 13, 0, 0); /* shorter than an Ethernet header */
	offer(f, 1, 2);
	hdr[1] = 1; /* GSO TCPV4 */
	put(f, BUF(2), hdr, 12);
	desc(f, 1, 4, BUF(2), 12, VQ_DESC_F_NEXT, 5);
	desc(f, 1, 5, BUF(1), 100, 0, 0);
	offer(f, 1, 4);
	hdr[1] = 0;
	hdr[0] = 1; /* NEEDS_CSUM without CSUM negotiated */
	put(f, BUF(3), hdr, 12);
	desc(f, 1, 6, BUF(3), 12, VQ_DESC_F_NEXT, 7);
	desc(f, 1, 7, BUF(1), 100, 0, 0);
	offer(f, 1, 6);
	desc(f, 1, 8, BUF(0), 12, VQ_DESC_F_NEXT, 9);
	desc(f, 1, 9, BUF(1), 1500 + 18, 0, 0); /* exactly the limit: sent */
	offer(f, 1, 8);
	vnet_run(f->n);
	assert_int_equal(f->n->st.tx_big, 1);
	assert_int_equal(f->n->st.tx_bad, 3);
	assert_int_equal(f->n->st.tx_packets, 1);
	assert_int_equal(f->ntx, 1);
	assert_int_equal(used_idx(f, 1), 5);
	assert_int_equal(status(f), 0xf);
}

static void rx_fill(struct fake *f, unsigned head, uint32_t len)
{
	desc(f, 0, head, BUF(8 + head), 12, VQ_DESC_F_NEXT | VQ_DESC_F_WRITE, (uint16_t)(head + 1));
	desc(f, 0, head + 1, BUF(9 + head), len, VQ_DESC_F_WRITE, 0);
	offer(f, 0, (uint16_t)head);
}

static void rx_frames(void **state)
{
	struct fake *f = *state;
	uint8_t got[12 + 64];

	bring_up(f, BASE_FEATURES | VIRTIO_NET_F_GUEST_CSUM);
	rx_fill(f, 0, 1514);
	rx_fill(f, 2, 1514);
	f->nrx = 3;
	f->rxlen[0] = f->rxlen[1] = f->rxlen[2] = 12 + 64;
	memset(f->rx[0] + 12, 0x11, 64);
	f->rx[0][0] = 2; /* DATA_VALID: kept with GUEST_CSUM */
	f->rx[0][10] = 7; /* num_buffers from the TAP: replaced */
	memset(f->rx[1] + 12, 0x22, 64);
	f->rx[1][1] = 1; /* GSO: dropped */
	assert_true(vnet_run(f->n));
	assert_int_equal(used_idx(f, 0), 2);
	assert_int_equal(used_len(f, 0, 0), 12 + 64);
	assert_int_equal(gmem_copy_from(&f->mem, got, gpa(BUF(8)), 12), 0);
	assert_int_equal(got[0], 2);
	assert_int_equal(got[10], 1);
	assert_int_equal(gmem_copy_from(&f->mem, got, gpa(BUF(9)), 64), 0);
	assert_int_equal(got[0], 0x11);
	assert_int_equal(f->n->st.rx_packets, 2);
	assert_int_equal(f->n->st.rx_bad, 1);
	assert_int_equal(f->interrupts, 1);
	assert_int_equal(__atomic_load_n(&f->n->pci.isr, __ATOMIC_RELAXED), 1);
	assert_int_equal(vpci_isr_read(&f->n->pci), 1);
	assert_int_equal(vpci_isr_read(&f->n->pci), 0); /* read to clear */
	assert_true(f->n->rx_wait); /* out of buffers */
}

static void rx_small_and_no_interrupt(void **state)
{
	struct fake *f = *state;
	uint16_t no_int = VQ_AVAIL_F_NO_INTERRUPT;

	bring_up(f, BASE_FEATURES);
	put(f, AVAIL(0), &no_int, 2);
	rx_fill(f, 0, 32); /* room for 44 bytes */
	f->nrx = 2;
	f->rxlen[0] = 12 + 100; /* does not fit: dropped, the buffer stays */
	f->rxlen[1] = 12 + 32; /* fits */
	vnet_run(f->n);
	assert_int_equal(f->n->st.rx_small, 1);
	assert_int_equal(f->n->st.rx_packets, 1);
	assert_int_equal(used_idx(f, 0), 1);
	assert_int_equal(used_len(f, 0, 0), 44);
	assert_int_equal(f->interrupts, 0); /* the driver asked for none */
}

static void rx_checksum_completed(void **state)
{
	struct fake *f = *state;
	/* Ethernet + IPv4 + UDP (8 bytes payload) from 10.0.5.1:1000 to 10.0.5.3:7, with the
	 * UDP checksum field holding the pseudo-header sum as the host leaves it */
	static const uint8_t frame[] = {
	    2,	  0,   0,   0,	 0,   1,    2,	  0,  0,  0,  0,  2,	0x08, 0, /* Ethernet */
	    0x45, 0,   0,   36,	 0,   0,    0,	  0,  64, 17, 0,  0,	10,   0, 5,
	    1,	  10,  0,   5,	 3,   0x03, 0xe8, 0,  7,  0,  16, 0x1e, 0x25, /* UDP, checksum field
										 = pseudo sum */
	    'a',  'b', 'c', 'd', 'e', 'f',  'g',  'h'};
	uint8_t got[sizeof frame];
	uint32_t sum = 0;

	bring_up(f, BASE_FEATURES); /* no GUEST_CSUM: the device completes it */
	rx_fill(f, 0, 1514);
	f->nrx = 1;
	f->rxlen[0] = 12 + sizeof frame;
	f->rx[0][0] = 1; /* NEEDS_CSUM */
	f->rx[0][6] = 34; /* csum_start: the UDP header */
	f->rx[0][8] = 6;
	memcpy(f->rx[0] + 12, frame, sizeof frame);
	vnet_run(f->n);
	assert_int_equal(f->n->st.rx_packets, 1);
	assert_int_equal(gmem_copy_from(&f->mem, got, gpa(BUF(8)), 12), 0);
	assert_int_equal(got[0], 0); /* flags cleared */
	assert_int_equal(gmem_copy_from(&f->mem, got, gpa(BUF(9)), sizeof got), 0);
	/* a valid UDP checksum: the sum over pseudo header and datagram folds to 0xffff */
	sum = 0x0a00 + 0x0501 + 0x0a00 + 0x0503 + 17 + 16;
	for (size_t i = 34; i + 1 < sizeof got; i += 2) {
		sum += (uint32_t)(got[i] << 8 | got[i + 1]);
	}
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	assert_int_equal(sum, 0xffff);
	/* offsets outside the frame: false, nothing written */
	assert_false(vnet_csum_complete(got, sizeof got, sizeof got, 0));
	assert_false(vnet_csum_complete(got, sizeof got, 34, (uint16_t)(sizeof got - 35)));
}

/* ---- broken queues: DEVICE_NEEDS_RESET and a configuration interrupt ---- */

static void broken(struct fake *f, const char *why)
{
	vnet_run(f->n);
	assert_int_equal(status(f), 0x4f);
	assert_false(f->n->pci.active);
	assert_int_equal(vpci_isr_read(&f->n->pci) & 2, 2);
	assert_string_equal(f->n->pci.why, why);
	assert_int_equal(f->deactivations, 1);
	/* a reset brings it back */
	f->avail_idx[0] = f->avail_idx[1] = 0;
	memset(f->ram, 0, RAM_SIZE);
	bring_up(f, BASE_FEATURES);
	assert_true(f->n->pci.active);
}

static void queue_loop(void **state)
{
	struct fake *f = *state;

	bring_up(f, BASE_FEATURES);
	desc(f, 1, 0, BUF(0), 12, VQ_DESC_F_NEXT, 1);
	desc(f, 1, 1, BUF(1), 60, VQ_DESC_F_NEXT, 0);
	offer(f, 1, 0);
	broken(f, "queue 1: descriptor loop");
}

static void queue_next_oob(void **state)
{
	struct fake *f = *state;

	bring_up(f, BASE_FEATURES);
	desc(f, 1, 0, BUF(0), 12, VQ_DESC_F_NEXT, QSIZE);
	offer(f, 1, 0);
	broken(f, "queue 1: descriptor next");
}

static void queue_head_oob(void **state)
{
	struct fake *f = *state;

	bring_up(f, BASE_FEATURES);
	offer(f, 1, QSIZE + 3);
	broken(f, "queue 1: chain head");
}

static void queue_avail_jump(void **state)
{
	struct fake *f = *state;
	uint16_t idx = QSIZE + 1;

	bring_up(f, BASE_FEATURES);
	put(f, AVAIL(1) + 2, &idx, 2);
	broken(f, "queue 1: avail index");
}

static void queue_indirect(void **state)
{
	struct fake *f = *state;

	bring_up(f, BASE_FEATURES);
	desc(f, 1, 0, BUF(0), 64, VQ_DESC_F_INDIRECT, 0);
	offer(f, 1, 0);
	broken(f, "queue 1: indirect descriptor");
}

static void queue_buffers(void **state)
{
	struct fake *f = *state;

	bring_up(f, BASE_FEATURES);
	desc(f, 1, 0, RAM_START + RAM_SIZE - 8, 12, 0, 0); /* leaves RAM */
	offer(f, 1, 0);
	broken(f, "queue 1: buffer address");
	desc(f, 1, 0, BUF(0), 0xffffffffu, 0, 0); /* 4 GiB */
	offer(f, 1, 0);
	f->deactivations = 0;
	broken(f, "queue 1: buffer address");
	desc(f, 0, 0, BUF(0), 12, VQ_DESC_F_WRITE | VQ_DESC_F_NEXT, 1);
	desc(f, 0, 1, BUF(1), 64, 0, 0); /* readable after writable */
	offer(f, 0, 0);
	f->nrx = 1;
	f->rxlen[0] = 12 + 60;
	f->deactivations = 0;
	broken(f, "queue 0: descriptor order");
}

static void vq_chain_of_full_size(void **state)
{
	struct fake *f = *state;
	struct virtq q;
	struct vq_layout l = {.size = QSIZE, .desc = DESC(1), .avail = AVAIL(1), .used = USED(1)};
	static struct vq_chain c;
	uint16_t n;

	assert_int_equal(vq_layout_check(&f->mem, &l), VQ_OK);
	vq_init(&q, &f->mem, &l);
	for (unsigned i = 0; i < QSIZE; i++) { /* one chain through every descriptor */
		desc(f, 1, i, BUF(0), 4, i + 1 < QSIZE ? VQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	}
	offer(f, 1, 0);
	assert_int_equal(vq_avail(&q, &n), VQ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(vq_pop(&q, &c), VQ_OK);
	assert_int_equal(c.n, QSIZE);
	assert_int_equal(c.rlen, 4 * QSIZE);
	assert_int_equal(vq_avail(&q, &n), VQ_OK);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(pci_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(pci_caps, setup, teardown),
	    cmocka_unit_test_setup_teardown(pci_mmio_bounds, setup, teardown),
	    cmocka_unit_test(ioapic_msi_routes),
	    cmocka_unit_test_setup_teardown(negotiation, setup, teardown),
	    cmocka_unit_test_setup_teardown(features_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(status_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(layout_frozen, setup, teardown),
	    cmocka_unit_test_setup_teardown(layouts_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(register_widths, setup, teardown),
	    cmocka_unit_test_setup_teardown(tx_frames, setup, teardown),
	    cmocka_unit_test_setup_teardown(tx_drops, setup, teardown),
	    cmocka_unit_test_setup_teardown(rx_frames, setup, teardown),
	    cmocka_unit_test_setup_teardown(rx_small_and_no_interrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(rx_checksum_completed, setup, teardown),
	    cmocka_unit_test_setup_teardown(queue_loop, setup, teardown),
	    cmocka_unit_test_setup_teardown(queue_next_oob, setup, teardown),
	    cmocka_unit_test_setup_teardown(queue_head_oob, setup, teardown),
	    cmocka_unit_test_setup_teardown(queue_avail_jump, setup, teardown),
	    cmocka_unit_test_setup_teardown(queue_indirect, setup, teardown),
	    cmocka_unit_test_setup_teardown(queue_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(vq_chain_of_full_size, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
