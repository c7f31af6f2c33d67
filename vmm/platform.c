/* SPDX-License-Identifier: MIT */
/* platform.c - the legacy platform a Hermit kernel probes on a uhyve machine, answered by the
 * VMM: the 8259 PIC's registers (split irqchip), PCI configuration mechanism #1 (the bus of
 * pci.c: the NIC with --net, otherwise empty), the I/O APIC (ioapic.c) and the MP-table probe
 * reads below 1 MiB.  Everything a guest writes here is guest input: widths are checked,
 * nothing is trusted. */
#include <string.h>

#include "ioapic.h"
#include "pci.h"
#include "vmm_internal.h"

/* With a split irqchip the legacy 8259 PIC is ours.  Hermit only initialises and masks it
 * (it uses the LAPIC), so a register file is enough: writes are kept, a read of the data
 * port returns the last byte written there (the interrupt mask), command port reads 0. */
static enum hc_action pic_io(struct hc_call *c, uint16_t port, bool out, uint8_t size,
			     uint8_t *data)
{
	unsigned chip = port >= 0xa0, reg = port & 1;

	if (size != 1) {
		return hc_violation(c, "PIC port 0x%x: access width %u, expected 1", port, size);
	}
	if (out) {
		c->vm->pic[chip][reg] = data[0];
	} else {
		data[0] = reg ? c->vm->pic[chip][reg] : 0;
	}
	return HC_CONTINUE;
}

static bool pic_port(uint16_t port)
{
	return port == 0x20 || port == 0x21 || port == 0xa0 || port == 0xa1;
}

static bool pci_port(uint16_t port)
{
	return port == UH_PCI_CONFIG_ADDRESS || (port >= UH_PCI_CONFIG_DATA && port <= 0xcff);
}

bool platform_port(uint16_t port)
{
	return pic_port(port) || pci_port(port);
}

enum hc_action platform_port_io(struct hc_call *c, uint16_t port, bool out, uint8_t size,
				uint8_t *data)
{
	if (pic_port(port)) {
		return pic_io(c, port, out, size, data);
	}
	/* The address register reads back what was written; data accesses go to the function it
	 * selects (all ones when there is none); other widths of the address port do nothing. */
	if (port == UH_PCI_CONFIG_ADDRESS && size == 4) {
		if (out) {
			c->vm->pci_addr = hc_le_value(data, size);
		} else {
			memcpy(data, &c->vm->pci_addr, 4);
		}
	} else if (port >= UH_PCI_CONFIG_DATA && c->vm->pci != NULL) {
		pci_config_io(c->vm->pci, c->vm->pci_addr, port - UH_PCI_CONFIG_DATA, out, size,
			      data);
	} else if (!out) {
		memset(data, 0xff, size);
	}
	return HC_CONTINUE;
}

/* The MP-table probes of Hermit kernels (hermit-abi.md b.7) read these ranges even when RAM
 * does not cover them; reads there return zeros.  The I/O APIC and the BARs of the PCI
 * devices answer their windows.  Everything else is a violation. */
enum hc_action platform_mmio(struct hc_call *c, uint64_t addr, bool write, uint32_t len,
			     uint8_t *data)
{
	bool probe = (addr >= 0x9f000 && addr < 0xa0000) || (addr >= 0xf0000 && addr < 0x100000);

	if (c->vm->ioapic != NULL && addr >= IOAPIC_GPA && addr - IOAPIC_GPA < IOAPIC_SIZE &&
	    len >= 1 && len <= 8 && addr - IOAPIC_GPA <= IOAPIC_SIZE - len) {
		ioapic_mmio(c->vm->ioapic, addr - IOAPIC_GPA, write, len, data);
		return HC_CONTINUE;
	}
	if (c->vm->pci != NULL && pci_mmio(c->vm->pci, addr, write, len, data)) {
		return HC_CONTINUE;
	}
	if (!write && probe && len <= 8) {
		memset(data, 0, len);
		return HC_CONTINUE;
	}
	return hc_violation(c, "MMIO %s of %u byte(s) at GPA 0x%llx outside guest RAM",
			    write ? "write" : "read", len, (unsigned long long)addr);
}
