/* SPDX-License-Identifier: MIT */
/* netdev.h - a guest-side virtio-net driver for the test guests, doing what Hermit's does
 * (hermit-os/kernel src/drivers/pci.rs, virtio/transport/pci.rs, net/virtio.rs,
 * arch/x86_64/kernel/apic.rs, pci.rs):
 *   - scan PCI buses 0-31, devices 0-31 through ports 0xCF8/0xCFC; pick vendor 0x1af4 with a
 *     modern device id (>= 0x1040); enable bus mastering; size BAR0 with decoding off;
 *   - walk the vendor capabilities (common, ISR, notify, device) and check each fits its BAR;
 *   - map the BAR and the I/O APIC (0xFEC00000), program the I/O APIC like Hermit 0.13.2 (all
 *     24 entries edge/high with vector 0x20 + pin, pins 0 and 2 masked; then the device's line
 *     level-triggered, active low), x2APIC on, an IDT;
 *   - reset, ACKNOWLEDGE, DRIVER, read 4 device feature words, write device & driver features
 *     in 4 words, FEATURES_OK and check it stuck, set up queue 0 (RX) and 1 (TX) with 256
 *     entries (select, size, desc/driver/device addresses, notify offset, enable), fill RX
 *     with size/2 two-descriptor buffers (12-byte header + MTU-sized data), DRIVER_OK;
 *   - RX interrupts on, TX interrupts off; an interrupt reads the ISR and sends EOI.
 * The pieces are exposed so that the hostile-queue guest can break each one on purpose. */
#ifndef NETDEV_H
#define NETDEV_H

#include <stdbool.h>

#include "rt.h"

#define ND_QSIZE     256
#define ND_BUF	     1536 /* RX data buffer: >= 1514 (Hermit: max(MTU, 1526 - 12)) */
#define ND_HDR	     12
#define ND_TX_SLOTS  (ND_QSIZE / 2)
#define ND_VECTOR(l) (0x20 + (l))

/* virtio feature bits */
#define VF_CSUM	      (1ull << 0)
#define VF_GUEST_CSUM (1ull << 1)
#define VF_MTU	      (1ull << 3)
#define VF_MAC	      (1ull << 5)
#define VF_MRG_RXBUF  (1ull << 15)
#define VF_STATUS     (1ull << 16)
#define VF_CTRL_VQ    (1ull << 17)
#define VF_MQ	      (1ull << 22)
#define VF_INDIRECT   (1ull << 28)
#define VF_VERSION_1  (1ull << 32)
#define VF_PACKED     (1ull << 34)
#define VF_NOTIF_DATA (1ull << 38)
#define VF_GUEST_TSO4 (1ull << 7)
#define VF_GUEST_TSO6 (1ull << 8)
/* What Hermit's virtio-net driver asks for (MINIMAL_FEATURES | OPTIONAL_FEATURES). */
#define ND_DRIVER_FEATURES                                                                         \
	(VF_VERSION_1 | VF_MAC | VF_INDIRECT | VF_PACKED | VF_NOTIF_DATA | VF_MTU | VF_MRG_RXBUF | \
	 VF_STATUS | VF_CTRL_VQ | VF_MQ | VF_CSUM | VF_GUEST_CSUM | VF_GUEST_TSO4 | VF_GUEST_TSO6)

/* device status */
#define VS_ACK	       1
#define VS_DRIVER      2
#define VS_DRIVER_OK   4
#define VS_FEATURES_OK 8
#define VS_NEEDS_RESET 64
#define VS_FAILED      128

/* common configuration offsets */
#define CC_DFSEL   0x00
#define CC_DF	   0x04
#define CC_GFSEL   0x08
#define CC_GF	   0x0c
#define CC_NUMQ	   0x12
#define CC_STATUS  0x14
#define CC_QSEL	   0x16
#define CC_QSIZE   0x18
#define CC_QENABLE 0x1c
#define CC_QNOFF   0x1e
#define CC_QDESC   0x20
#define CC_QDRIVER 0x28
#define CC_QDEVICE 0x30

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};
#define VD_NEXT	    1
#define VD_WRITE    2
#define VD_INDIRECT 4

struct ndq {
	uint16_t index, size;
	volatile struct vdesc *desc;
	volatile uint16_t *avail; /* [0] flags, [1] idx, [2..] ring */
	volatile uint8_t *used; /* flags u16, idx u16, {u32 id, u32 len}[size] */
	uint16_t avail_idx, last_used;
	uint64_t notify; /* MMIO address of its notify register */
};

struct nd {
	unsigned pcidev; /* PCI device number on bus 0 */
	uint16_t device_id;
	unsigned ndevices; /* functions found by the scan */
	uint64_t bar, bar_size;
	uint64_t common, isr, notify, devcfg;
	uint32_t notify_mult, devcfg_len;
	unsigned line; /* PCI interrupt line */
	uint64_t features; /* negotiated */
	uint8_t mac[6];
	uint16_t mtu, link;
	struct ndq q[2];
	volatile unsigned irqs; /* interrupts taken */
	volatile unsigned isr_seen; /* OR of the ISR values read */
	uint16_t tx_free[ND_TX_SLOTS];
	unsigned tx_nfree;
	uint16_t tx_rx_head[ND_TX_SLOTS]; /* RX buffer a slot sends from, or ND_NONE */
	bool rx_returned; /* RX buffers went back since the last RX notification check */
};
#define ND_NONE 0xffff

/* MMIO with exactly one access of the given width. */
static inline uint8_t mr8(uint64_t a)
{
	uint8_t v;
	__asm__ volatile("movb (%1), %0" : "=q"(v) : "r"(a) : "memory");
	return v;
}
static inline uint16_t mr16(uint64_t a)
{
	uint16_t v;
	__asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static inline uint32_t mr32(uint64_t a)
{
	uint32_t v;
	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static inline uint64_t mr64(uint64_t a)
{
	uint64_t v;
	__asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(a) : "memory");
	return v;
}
static inline void mw8(uint64_t a, uint8_t v)
{
	__asm__ volatile("movb %0, (%1)" : : "q"(v), "r"(a) : "memory");
}
static inline void mw16(uint64_t a, uint16_t v)
{
	__asm__ volatile("movw %0, (%1)" : : "r"(v), "r"(a) : "memory");
}
static inline void mw32(uint64_t a, uint32_t v)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(a) : "memory");
}
static inline void mw64(uint64_t a, uint64_t v)
{
	__asm__ volatile("movq %0, (%1)" : : "r"(v), "r"(a) : "memory");
}

/* PCI configuration space of bus 0, function 0. */
uint32_t nd_pci_read(unsigned dev, unsigned reg);
void nd_pci_write(unsigned dev, unsigned reg, uint32_t v);

/* Platform: identity-maps a 2 MiB MMIO window, sets up IDT, x2APIC and the I/O APIC.
 * Returns 0 or -1 after printing why. */
int nd_map_mmio(const struct uh_boot_info *bi, uint64_t pa);
int nd_platform(const struct uh_boot_info *bi, struct nd *d);
/* PCI scan, BAR sizing and mapping, capabilities.  0, or -1 after printing why. */
int nd_probe(const struct uh_boot_info *bi, struct nd *d);

/* Device initialisation steps (Hermit's order). */
void nd_reset(struct nd *d);
uint8_t nd_status(const struct nd *d);
void nd_status_or(struct nd *d, uint8_t bits);
uint64_t nd_device_features(struct nd *d);
void nd_write_features(struct nd *d, uint64_t f);
/* Sets queue qi up at the addresses of the driver's own rings; 0 or -1. */
int nd_queue_setup(struct nd *d, unsigned qi);
void nd_rx_fill(struct nd *d);
/* TX queue: no interrupts (like Hermit), all slots free. */
void nd_tx_prepare(struct nd *d);
/* All of it, wanting `want`: 0, or -1 after printing why. */
int nd_init(struct nd *d, uint64_t want);

/* Data path. */
void nd_notify(struct nd *d, unsigned qi);
/* The next received frame (after the 12-byte header), or NULL; nd_rx_done returns it. */
uint8_t *nd_rx_next(struct nd *d, uint32_t *len, uint16_t *head);
void nd_rx_done(struct nd *d, uint16_t head);
bool nd_rx_pending(const struct nd *d);
/* A TX buffer to fill (frame only), or NULL if all are in flight. */
uint8_t *nd_tx_buf(struct nd *d, uint16_t *slot);
/* Sends slot with `len` frame bytes; with csum_start != 0 asks the device to checksum. */
void nd_tx_send(struct nd *d, uint16_t slot, uint32_t len, uint16_t csum_start,
		uint16_t csum_offset);
/* Sends the received frame in RX buffer `head` back out, modified in place (len bytes), with
 * the checksum request of its RX header; the buffer returns to the RX queue once sent. */
void nd_tx_send_rx(struct nd *d, uint16_t head, uint32_t len);
/* Sends len bytes at a buffer that stays untouched until the device used it (no checksum
 * request): the bulk sender reuses one prepared frame. */
void nd_tx_send_ro(struct nd *d, const uint8_t *frame, uint32_t len);
/* Sends slot with the given 12-byte header as is. */
void nd_tx_send_raw(struct nd *d, uint16_t slot, uint32_t len, const uint8_t *hdr);
void nd_tx_reclaim(struct nd *d);
/* Waits (sti; hlt) until an interrupt or a received frame.  */
void nd_wait(struct nd *d);

/* TSC-based clock from the boot info's frequency. */
uint64_t nd_ms(void);

/* The echo service of net_echo.c: configuration, probe and platform once (0 or -1), then
 * device initialisation and serving until "quit" (the guest's exit code). */
int echo_setup(const struct uh_boot_info *bi);
int echo_start(void);
extern struct nd echo_dev;

/* The driver's own buffers (the hostile guest corrupts them on purpose). */
extern uint8_t nd_rx_hdr[ND_QSIZE / 2][ND_HDR];
extern uint8_t nd_rx_data[ND_QSIZE / 2][ND_BUF];
extern uint8_t nd_tx_hdr[ND_TX_SLOTS][ND_HDR];
extern uint8_t nd_tx_data[ND_TX_SLOTS][ND_BUF];

#endif
