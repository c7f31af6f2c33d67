/* SPDX-License-Identifier: MIT */
/* pci.c - PCI configuration mechanism #1 over bus 0 and BAR MMIO dispatch (pci.h).
 *
 * Trusts nothing the guest writes: configuration bytes change only under the function's
 * write mask, absent functions read as all ones, and BARs are decoded only at their fixed
 * address and only for accesses entirely inside them. */
#include <string.h>

#include "pci.h"

#define PCI_ENABLE    0x80000000u
#define PCI_BAR_64BIT 0x4
#define PCI_BAR_PREF  0x8
#define PCI_CMD_WMASK 0x0407 /* I/O, memory, bus master, INTx disable */

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

void pci_bus_init(struct pci_bus *b)
{
	memset(b, 0, sizeof *b);
	pthread_mutex_init(&b->mu, NULL);
}

void pci_fn_init(struct pci_fn *f, uint16_t vendor, uint16_t device, uint32_t class_rev,
		 uint64_t bar_gpa, uint64_t bar_size, uint8_t line)
{
	memset(f, 0, sizeof *f);
	f->bar_gpa = bar_gpa;
	f->bar_size = bar_size;
	put16(f->cfg + PCI_VENDOR_ID, vendor);
	put16(f->cfg + PCI_DEVICE_ID, device);
	put32(f->cfg + PCI_REVISION, class_rev); /* revision, prog-if, subclass, class */
	put16(f->cfg + PCI_SUBSYS_VENDOR, vendor);
	put32(f->cfg + PCI_BAR0, (uint32_t)bar_gpa | PCI_BAR_64BIT | PCI_BAR_PREF);
	put32(f->cfg + PCI_BAR0 + 4, (uint32_t)(bar_gpa >> 32));
	f->cfg[PCI_INTERRUPT_LINE] = line;
	f->cfg[PCI_INTERRUPT_PIN] = 1; /* INTA# */
	put16(f->wmask + PCI_COMMAND, PCI_CMD_WMASK);
	put32(f->wmask + PCI_BAR0, (uint32_t) ~(bar_size - 1) & ~0xfu);
	put32(f->wmask + PCI_BAR0 + 4, 0xffffffffu);
	f->wmask[PCI_INTERRUPT_LINE] = 0xff;
}

uint8_t pci_fn_add_cap(struct pci_fn *f, const uint8_t *cap, uint8_t len)
{
	uint8_t at = 0x40, *link = &f->cfg[PCI_CAP_PTR];

	while (*link != 0) { /* our own list: offsets we wrote, always increasing */
		at = (uint8_t)(*link + f->cfg[*link + 2]);
		link = &f->cfg[*link + 1];
	}
	at = (uint8_t)((at + 3) & ~3u);
	if (len < 3 || at < 0x40 || (unsigned)at + len > sizeof f->cfg) {
		return 0;
	}
	memcpy(f->cfg + at, cap, len);
	f->cfg[at + 1] = 0; /* next */
	f->cfg[at + 2] = len; /* cap_len: the whole structure (virtio 1.2, 4.1.4) */
	*link = at;
	f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
	return at;
}

void pci_bus_attach(struct pci_bus *b, unsigned dev, struct pci_fn *f)
{
	if (dev < PCI_SLOTS) {
		b->slot[dev] = f;
	}
}

bool pci_bus_empty(const struct pci_bus *b)
{
	for (unsigned d = 0; d < PCI_SLOTS; d++) {
		if (b->slot[d] != NULL) {
			return false;
		}
	}
	return true;
}

/* The function an address register selects: enabled, bus 0, function 0, present. */
static struct pci_fn *selected(struct pci_bus *b, uint32_t addr)
{
	unsigned bus = (addr >> 16) & 0xff, dev = (addr >> 11) & 0x1f, fn = (addr >> 8) & 7;

	if (!(addr & PCI_ENABLE) || bus != 0 || fn != 0) {
		return NULL;
	}
	return b->slot[dev];
}

void pci_config_io(struct pci_bus *b, uint32_t addr, unsigned byte, bool write, unsigned size,
		   uint8_t *data)
{
	unsigned reg = (addr & 0xfc) + (byte & 3);
	struct pci_fn *f;

	pthread_mutex_lock(&b->mu);
	f = selected(b, addr);
	for (unsigned i = 0; i < size && i < 4; i++) {
		unsigned r = reg + i;
		if (f == NULL || (byte & 3) + i >= 4 || r >= sizeof f->cfg) {
			if (!write) {
				data[i] = 0xff;
			}
		} else if (write) {
			f->cfg[r] = (uint8_t)((f->cfg[r] & ~f->wmask[r]) | (data[i] & f->wmask[r]));
		} else {
			data[i] = f->cfg[r];
		}
	}
	pthread_mutex_unlock(&b->mu);
}

bool pci_mmio(struct pci_bus *b, uint64_t gpa, bool write, unsigned len, uint8_t *data)
{
	for (unsigned d = 0; d < PCI_SLOTS; d++) {
		struct pci_fn *f = b->slot[d];
		if (f == NULL || gpa < f->bar_gpa || gpa - f->bar_gpa >= f->bar_size) {
			continue;
		}
		if (len == 0 || len > 8 || gpa - f->bar_gpa > f->bar_size - len) {
			return false; /* straddles the end of the BAR */
		}
		f->mmio(f->ctx, gpa - f->bar_gpa, write, len, data);
		return true;
	}
	return false;
}
