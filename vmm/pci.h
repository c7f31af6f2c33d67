/* SPDX-License-Identifier: MIT */
/* pci.h - the guest's PCI bus: configuration mechanism #1 (ports 0xCF8/0xCFC-0xCFF) over
 * bus 0, and the dispatch of BAR MMIO exits to the device behind it.
 *
 * Threat: every configuration access is guest input.  Only the bytes a function declares
 * writable change (a per-byte write mask); reads of absent functions, of other buses and with
 * the enable bit clear return all ones, like real hardware.  A BAR is sized the usual way
 * (write all ones, read the mask back) but decoded only at its fixed address: a guest that
 * moves it loses the device, nothing else. */
#ifndef UHS_PCI_H
#define UHS_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define PCI_SLOTS 32 /* devices on bus 0 */

/* Standard configuration header offsets. */
#define PCI_VENDOR_ID	    0x00
#define PCI_DEVICE_ID	    0x02
#define PCI_COMMAND	    0x04
#define PCI_STATUS	    0x06
#define PCI_REVISION	    0x08
#define PCI_CLASS_PROG	    0x09
#define PCI_HEADER_TYPE	    0x0e
#define PCI_BAR0	    0x10
#define PCI_SUBSYS_VENDOR   0x2c
#define PCI_SUBSYS_ID	    0x2e
#define PCI_CAP_PTR	    0x34
#define PCI_INTERRUPT_LINE  0x3c
#define PCI_INTERRUPT_PIN   0x3d
#define PCI_STATUS_CAP_LIST 0x10

/* One function 0 of a device on bus 0 with one 64-bit memory BAR (BAR0/BAR1). */
struct pci_fn {
	uint8_t cfg[256]; /* configuration space as the guest sees it */
	uint8_t wmask[256]; /* writable bits per byte */
	uint64_t bar_gpa; /* where BAR0 is decoded (fixed) */
	uint64_t bar_size; /* power of 2, >= 16 */
	/* BAR MMIO, off < bar_size, len 1..8 (KVM's limit); data holds/receives the bytes */
	void (*mmio)(void *ctx, uint64_t off, bool write, unsigned len, uint8_t *data);
	void *ctx;
};

struct pci_bus {
	pthread_mutex_t mu; /* configuration accesses from several vCPUs */
	struct pci_fn *slot[PCI_SLOTS];
};

void pci_bus_init(struct pci_bus *b);
/* Fills a function's header: IDs, class, 64-bit prefetchable BAR0 at bar_gpa of bar_size,
 * interrupt pin A routed to `line`; command, BARs and interrupt line writable. */
void pci_fn_init(struct pci_fn *f, uint16_t vendor, uint16_t device, uint32_t class_rev,
		 uint64_t bar_gpa, uint64_t bar_size, uint8_t line);
/* Appends a capability of `len` bytes (id, then payload) to the list; returns its offset, or
 * 0 if it does not fit. */
uint8_t pci_fn_add_cap(struct pci_fn *f, const uint8_t *cap, uint8_t len);
/* Puts f at bus 0 device `dev` (0..31). */
void pci_bus_attach(struct pci_bus *b, unsigned dev, struct pci_fn *f);

/* A configuration-data port access (port 0xCFC + byte, size 1, 2 or 4) with the address
 * register `addr` (the last value written to 0xCF8).  Reads fill data. */
void pci_config_io(struct pci_bus *b, uint32_t addr, unsigned byte, bool write, unsigned size,
		   uint8_t *data);
/* An MMIO exit: true if a BAR decodes `gpa` (the access was handled), false if not. */
bool pci_mmio(struct pci_bus *b, uint64_t gpa, bool write, unsigned len, uint8_t *data);
/* No device attached (devices are attached before any vCPU runs): the configuration data
 * port reads all ones and takes no write. */
bool pci_bus_empty(const struct pci_bus *b);

#endif
