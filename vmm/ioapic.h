/* SPDX-License-Identifier: MIT */
/* ioapic.h - the I/O APIC at 0xFEC00000, emulated in the VMM (KVM runs a split irqchip: the
 * local APICs are in the kernel, PIC and I/O APIC are ours).
 *
 * Hermit 0.13.2 and newer program it on uhyve (all 24 redirection entries at boot, then the
 * NIC's line as level-triggered, active low).  Here it is a register file whose entries are
 * turned into MSI messages for KVM's routing table: an interrupt line is delivered by an
 * irqfd bound to an MSI route, so raising it needs no VM exit and no ioctl.
 *
 * Threat: the guest writes anything.  Only documented bits are stored; an entry becomes a
 * route only if it is unmasked with a fixed or lowest-priority delivery mode and a vector of
 * at least 16; anything else (NMI, INIT, SMI, ExtINT, low vectors) is treated as masked.
 * Every line is delivered edge-triggered: the devices behind it raise it once per event, and
 * the guest's level-triggered setting is kept in the register only. */
#ifndef UHS_IOAPIC_H
#define UHS_IOAPIC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define IOAPIC_GPA  0xfec00000ull
#define IOAPIC_SIZE 0x1000ull
#define IOAPIC_PINS 24

struct ioapic {
	pthread_mutex_t mu;
	uint32_t sel; /* IOREGSEL */
	uint32_t id;
	uint64_t rte[IOAPIC_PINS];
	/* Called (under mu) when an entry's effective MSI changes. */
	void (*changed)(void *ctx, unsigned pin, uint64_t rte);
	void *ctx;
	uint64_t exits; /* MMIO accesses (each one a VM exit) */
};

/* One MSI message (KVM_IRQ_ROUTING_MSI) for an entry. */
struct ioapic_msi {
	uint32_t addr_lo, addr_hi, data;
};

void ioapic_init(struct ioapic *a);
/* An MMIO exit at IOAPIC_GPA + off (off < IOAPIC_SIZE). */
void ioapic_mmio(struct ioapic *a, uint64_t off, bool write, unsigned len, uint8_t *data);
/* The MSI an entry delivers; false if it delivers nothing (masked or not deliverable). */
bool ioapic_msi(uint64_t rte, struct ioapic_msi *m);

#endif
