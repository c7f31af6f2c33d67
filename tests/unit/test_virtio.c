/* SPDX-License-Identifier: MIT */
/* test_virtio.c - the NIC's device model without KVM, part 1: PCI configuration space
 * (pci.c), the I/O APIC's MSI messages (ioapic.c), and the virtio-pci transport's state
 * machine, feature negotiation, layout validation and freeze, register widths
 * (virtio_pci.c), driven through the same register accesses a guest makes (virtio_fake.h).
 * The data path: test_virtio_net.c. */
#include "ioapic.h"
#include "pci.h"
#include "virtio_fake.h"

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
