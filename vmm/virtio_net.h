/* SPDX-License-Identifier: MIT */
/* virtio_net.h - the virtio-net device (virtio 1.2, 5.1) as uhyve exposes it: device id
 * 0x1041, one RX queue (0) and one TX queue (1) of 256 entries, features VERSION_1, MAC,
 * STATUS, MTU, GUEST_CSUM and (where the TAP takes it) CSUM; MAC and MTU are the TAP's.
 *
 * The data path moves frames between the queues and a backend (the TAP; a fake one in the
 * tests and the fuzzer).  Threat: every chain, header and length comes from the guest.  A TX
 * chain must hold a 12-byte header and a frame of 14 to MTU + 18 bytes, its header may ask
 * only for what was negotiated (a partial checksum with CSUM and an offset inside the frame;
 * no GSO); anything else is dropped and counted.  The header written to the TAP is rebuilt
 * from checked fields, never copied.  An RX frame is written only into a chain whose writable
 * space holds it; a frame that does not fit the next buffer is dropped and counted (the
 * buffer stays available).  A broken ring sets DEVICE_NEEDS_RESET (virtio_pci.h). */
#ifndef UHS_VIRTIO_NET_H
#define UHS_VIRTIO_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "virtio_pci.h"

#define VNET_DEVICE_ID 0x1041
#define VNET_RXQ       0
#define VNET_TXQ       1
#define VNET_HDR_LEN   12 /* struct virtio_net_hdr_v1 */
#define VNET_ETH_MAX   18 /* Ethernet header + one VLAN tag */
#define VNET_BUF_LEN   (VNET_HDR_LEN + 65535 + VNET_ETH_MAX)
#define VNET_BATCH     64 /* frames per queue and round before the interrupt */

#define VIRTIO_NET_F_CSUM	(1ull << 0)
#define VIRTIO_NET_F_GUEST_CSUM (1ull << 1)
#define VIRTIO_NET_F_MTU	(1ull << 3)
#define VIRTIO_NET_F_MAC	(1ull << 5)
#define VIRTIO_NET_F_STATUS	(1ull << 16)

#define VNET_HDR_F_NEEDS_CSUM 1
#define VNET_HDR_F_DATA_VALID 2

struct vnet_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t rx_small; /* frames larger than the next RX buffer: dropped */
	uint64_t rx_bad; /* frames from the TAP we cannot deliver (GSO, bad checksum offsets) */
	uint64_t tx_big; /* frames larger than MTU + 18: dropped */
	uint64_t tx_bad; /* malformed headers or frames: dropped */
	uint64_t tap_errors; /* the TAP refused a frame */
	uint64_t notifications; /* driver -> device queue notifications */
	uint64_t interrupts; /* device -> driver interrupts */
};

/* The backend: non-blocking frame I/O with the 12-byte header in front.  read returns the
 * frame length, 0 or -1 with errno EAGAIN when there is none; write returns len or -1. */
struct vnet_backend {
	ssize_t (*read)(void *ctx, void *buf, size_t len);
	ssize_t (*write)(void *ctx, const void *buf, size_t len);
	void *ctx;
};

struct vnet {
	struct vpci pci; /* transport; the owner serialises access (see virtio_pci.h) */
	uint8_t cfg[24]; /* device configuration: mac, status, max_virtqueue_pairs, mtu, ... */
	uint16_t mtu;
	struct vnet_backend be;
	struct vnet_stats st;
	bool rx_wait; /* no RX buffer: wait for a notification instead of reading the TAP */
	struct vq_chain chain; /* scratch, used only by the data path */
	uint8_t buf[VNET_BUF_LEN];
};

/* Sets up the device (not the owner's callbacks: set n->pci.ops/ctx afterwards). */
void vnet_init(struct vnet *n, const uint8_t mac[6], uint16_t mtu, bool tap_csum,
	       const struct gmem *mem, uint64_t bar_gpa, uint8_t irq_line,
	       const struct vnet_backend *be);
/* One round of the data path: TX, then RX until the TAP is empty or the RX queue has no
 * buffer, each in batches of VNET_BATCH with one interrupt per batch.  Call with the owner's
 * lock held.  Returns true if the round did any work.  Afterwards n->rx_wait says whether RX
 * is waiting for buffers (then do not poll the TAP). */
bool vnet_run(struct vnet *n);
/* Completes a partial checksum (csum_start, csum_offset) of frame[0..len); false if the
 * offsets do not lie inside the frame. */
bool vnet_csum_complete(uint8_t *frame, size_t len, uint16_t start, uint16_t offset);

#endif
