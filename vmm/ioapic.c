/* SPDX-License-Identifier: MIT */
/* ioapic.c - the I/O APIC register file and its entries as MSI messages (ioapic.h).
 *
 * Registers (82093AA): IOREGSEL at +0x00 selects, IOWIN at +0x10 reads or writes the selected
 * register; 0x00 ID, 0x01 version (0x11, 24 entries), 0x02 arbitration, 0x10 + 2n / + 2n + 1
 * the low and high halves of redirection entry n.  Only 32-bit accesses to IOREGSEL and IOWIN
 * do anything; other accesses read as zero and are ignored, like reserved registers. */
#include <string.h>

#include "ioapic.h"

#define REG_SEL	   0x00
#define REG_WIN	   0x10
#define IOAPIC_ID  0x00
#define IOAPIC_VER 0x01
#define IOAPIC_ARB 0x02
#define IOAPIC_RTE 0x10

#define VERSION	   (0x11u | ((IOAPIC_PINS - 1u) << 16))
#define RTE_MASKED (1ull << 16)
#define RTE_LO_BITS                                                                                \
	0x0001afffull /* vector, delivery and destination mode, polarity, trigger, mask */
#define RTE_HI_BITS 0xff00000000000000ull /* destination */

void ioapic_init(struct ioapic *a)
{
	memset(a, 0, sizeof *a);
	pthread_mutex_init(&a->mu, NULL);
	for (unsigned i = 0; i < IOAPIC_PINS; i++) {
		a->rte[i] = RTE_MASKED;
	}
}

bool ioapic_msi(uint64_t rte, struct ioapic_msi *m)
{
	unsigned vector = rte & 0xff, mode = (rte >> 8) & 7, logical = (rte >> 11) & 1;
	uint32_t dest = (uint32_t)(rte >> 56);

	if ((rte & RTE_MASKED) || vector < 16 || (mode != 0 && mode != 1)) {
		return false;
	}
	m->addr_lo = 0xfee00000u | (dest << 12) | (logical << 2);
	m->addr_hi = 0;
	m->data = vector | (mode << 8); /* edge-triggered */
	return true;
}

static uint32_t reg_read(const struct ioapic *a, uint32_t reg)
{
	if (reg == IOAPIC_ID || reg == IOAPIC_ARB) {
		return a->id;
	}
	if (reg == IOAPIC_VER) {
		return VERSION;
	}
	if (reg >= IOAPIC_RTE && reg < IOAPIC_RTE + 2 * IOAPIC_PINS) {
		uint64_t e = a->rte[(reg - IOAPIC_RTE) / 2];
		return (reg & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
	}
	return 0;
}

static void reg_write(struct ioapic *a, uint32_t reg, uint32_t v)
{
	unsigned pin;
	uint64_t old;
	struct ioapic_msi mo, mn;
	bool had, has;

	if (reg == IOAPIC_ID) {
		a->id = v & 0x0f000000u;
		return;
	}
	if (reg < IOAPIC_RTE || reg >= IOAPIC_RTE + 2 * IOAPIC_PINS) {
		return; /* version, arbitration and reserved registers are read-only */
	}
	pin = (reg - IOAPIC_RTE) / 2;
	old = a->rte[pin];
	if (reg & 1) {
		a->rte[pin] = (old & ~RTE_HI_BITS) | (((uint64_t)v << 32) & RTE_HI_BITS);
	} else {
		a->rte[pin] = (old & ~RTE_LO_BITS) | (v & RTE_LO_BITS);
	}
	had = ioapic_msi(old, &mo);
	has = ioapic_msi(a->rte[pin], &mn);
	if (a->changed != NULL && (had != has || (has && memcmp(&mo, &mn, sizeof mn) != 0))) {
		a->changed(a->ctx, pin, a->rte[pin]);
	}
}

void ioapic_mmio(struct ioapic *a, uint64_t off, bool write, unsigned len, uint8_t *data)
{
	uint32_t v = 0;

	pthread_mutex_lock(&a->mu);
	a->exits++;
	if (len == 4 && (off == REG_SEL || off == REG_WIN)) {
		if (write) {
			memcpy(&v, data, 4);
			if (off == REG_SEL) {
				a->sel = v & 0xff;
			} else {
				reg_write(a, a->sel, v);
			}
		} else {
			v = off == REG_SEL ? a->sel : reg_read(a, a->sel);
			memcpy(data, &v, 4);
		}
	} else if (!write) {
		memset(data, 0, len);
	}
	pthread_mutex_unlock(&a->mu);
}
