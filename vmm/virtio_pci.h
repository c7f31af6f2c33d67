/* SPDX-License-Identifier: MIT */
/* virtio_pci.h - the virtio 1.x PCI transport of a modern device (virtio 1.2, 4.1): its
 * capabilities, the registers in BAR0 (common configuration, ISR, notifications, device
 * configuration) and the device status state machine.
 *
 * Threat: the driver is hostile.  Registers take only their natural access width; the status
 * may only grow in the order ACKNOWLEDGE, DRIVER, FEATURES_OK, DRIVER_OK (anything else sets
 * DEVICE_NEEDS_RESET); features the device did not offer, or a driver without VERSION_1, get
 * DEVICE_NEEDS_RESET instead of FEATURES_OK; the queue layout is validated when the driver
 * sets DRIVER_OK and frozen from then on: later writes of a queue's size, addresses or enable
 * are refused and counted (the Firecracker CVE-2026-5747 class: a queue size changed after
 * activation).  Only a reset (status 0) unfreezes it.
 *
 * Locking: the owner serialises every call except vpci_isr_read/vpci_isr_raise (atomics). */
#ifndef UHS_VIRTIO_PCI_H
#define UHS_VIRTIO_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "pci.h"
#include "virtq.h"

/* BAR0 layout (offsets of the structures the capabilities point at). */
#define VPCI_COMMON_OFF	 0x000
#define VPCI_COMMON_LEN	 0x38 /* without queue_notify_data/queue_reset (not offered) */
#define VPCI_ISR_OFF	 0x100
#define VPCI_NOTIFY_OFF	 0x200
#define VPCI_NOTIFY_MULT 4
#define VPCI_DEVCFG_OFF	 0x300
#define VPCI_BAR_SIZE	 0x1000
#define VPCI_MAX_QUEUES	 2

#define VIRTIO_VENDOR	   0x1af4
#define VIRTIO_F_VERSION_1 (1ull << 32)

#define VIRTIO_S_ACKNOWLEDGE 1
#define VIRTIO_S_DRIVER	     2
#define VIRTIO_S_DRIVER_OK   4
#define VIRTIO_S_FEATURES_OK 8
#define VIRTIO_S_NEEDS_RESET 64
#define VIRTIO_S_FAILED	     128

#define VIRTIO_ISR_QUEUE  1
#define VIRTIO_ISR_CONFIG 2

/* Why the device asked for a reset, or refused a register write (counters, --stats). */
enum vpci_event {
	VPCI_E_WIDTH, /* a register accessed with the wrong width or offset */
	VPCI_E_FROZEN, /* a queue register written after DRIVER_OK */
	VPCI_E_STATUS, /* an impossible status transition */
	VPCI_E_FEATURES, /* features not offered, or no VERSION_1 */
	VPCI_E_LAYOUT, /* a queue layout invalid at DRIVER_OK */
	VPCI_E_QUEUE, /* a queue found broken while running (enum vq_err) */
	VPCI_E_COUNT
};
const char *vpci_event_name(enum vpci_event e);

struct vpci;
struct vpci_ops {
	/* DRIVER_OK with valid queues (vq[] initialised), or the end of activity (reset,
	 * FAILED, NEEDS_RESET): called with the owner's lock held. */
	void (*activate)(void *ctx, bool on);
	/* Raise the interrupt line (the ISR bits are already set). */
	void (*interrupt)(void *ctx);
	/* A write to queue q's notify register reached the VMM (not caught by KVM). */
	void (*notify)(void *ctx, unsigned q);
};

struct vpci {
	/* fixed at creation */
	uint16_t device_id; /* 0x1040 + virtio device type */
	uint64_t offered;
	unsigned nqueues;
	const uint8_t *devcfg; /* device configuration structure (read-only for the driver) */
	unsigned devcfg_len;
	const struct gmem *mem;
	const struct vpci_ops *ops;
	void *ctx;
	struct pci_fn fn;
	/* driver-visible state */
	uint32_t dfsel, gfsel; /* device/driver feature word selects */
	uint64_t driver_features;
	bool bad_feature_bits; /* a nonzero driver feature word above 1 */
	uint8_t status;
	uint16_t qsel;
	struct vq_layout ql[VPCI_MAX_QUEUES];
	bool qenable[VPCI_MAX_QUEUES];
	uint8_t isr; /* atomic */
	/* the running device */
	bool active; /* DRIVER_OK accepted: vq[] are live, their layout frozen */
	struct virtq vq[VPCI_MAX_QUEUES];
	uint64_t events[VPCI_E_COUNT];
	uint64_t exits; /* register accesses (each one a VM exit) */
	uint64_t resets_needed; /* times the device set DEVICE_NEEDS_RESET */
	char why[64]; /* the last reason for DEVICE_NEEDS_RESET */
};

/* Sets up the device and its PCI function (capabilities, BAR0 at bar_gpa, INTx line). */
void vpci_init(struct vpci *d, uint16_t device_id, uint64_t offered, unsigned nqueues,
	       const uint8_t *devcfg, unsigned devcfg_len, const struct gmem *mem, uint64_t bar_gpa,
	       uint8_t irq_line);
/* A BAR0 access (off < VPCI_BAR_SIZE, len 1..8); reads fill data. */
void vpci_bar_access(struct vpci *d, uint64_t off, bool write, unsigned len, uint8_t *data);
/* Whether a BAR0 access is an ISR read (handled without the owner's lock). */
bool vpci_is_isr(uint64_t off, bool write, unsigned len);
uint8_t vpci_isr_read(struct vpci *d); /* read-to-clear */
/* Sets ISR bits and raises the interrupt. */
void vpci_isr_raise(struct vpci *d, uint8_t bits);
/* The running device found queue q broken: DEVICE_NEEDS_RESET, a configuration interrupt,
 * and no more queue processing until the driver resets the device. */
void vpci_queue_broken(struct vpci *d, unsigned q, enum vq_err e);
/* Whether a feature was negotiated (valid once FEATURES_OK is set). */
bool vpci_has(const struct vpci *d, uint64_t feature);

#endif
