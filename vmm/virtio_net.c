/* SPDX-License-Identifier: MIT */
/* virtio_net.c - the virtio-net device model and its data path (virtio_net.h).
 *
 * Trusts nothing from the guest: chains come validated from virtq.c, headers are copied out
 * once and checked, lengths are bounded before any copy, and the header handed to the TAP is
 * rebuilt from the checked fields.  Frames from the TAP come from the host kernel, yet their
 * header is checked too (no GSO, checksum offsets inside the frame). */
#include <errno.h>
#include <string.h>

#include "virtio_net.h"

#define NET_S_LINK_UP 1

/* struct virtio_net_hdr_v1 (little-endian) */
struct hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};

static void hdr_get(struct hdr *h, const uint8_t *p)
{
	h->flags = p[0];
	h->gso_type = p[1];
	memcpy(&h->hdr_len, p + 2, 2);
	memcpy(&h->gso_size, p + 4, 2);
	memcpy(&h->csum_start, p + 6, 2);
	memcpy(&h->csum_offset, p + 8, 2);
	memcpy(&h->num_buffers, p + 10, 2);
}

static void hdr_put(uint8_t *p, const struct hdr *h)
{
	p[0] = h->flags;
	p[1] = h->gso_type;
	memcpy(p + 2, &h->hdr_len, 2);
	memcpy(p + 4, &h->gso_size, 2);
	memcpy(p + 6, &h->csum_start, 2);
	memcpy(p + 8, &h->csum_offset, 2);
	memcpy(p + 10, &h->num_buffers, 2);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, 2);
}

void vnet_init(struct vnet *n, const uint8_t mac[6], uint16_t mtu, bool tap_csum,
	       const struct gmem *mem, uint64_t bar_gpa, uint8_t irq_line,
	       const struct vnet_backend *be)
{
	uint64_t features = VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MTU |
			    VIRTIO_NET_F_GUEST_CSUM | (tap_csum ? VIRTIO_NET_F_CSUM : 0);

	memset(n, 0, offsetof(struct vnet, chain));
	memcpy(n->cfg, mac, 6);
	put16(n->cfg + 6, NET_S_LINK_UP);
	put16(n->cfg + 8, 1); /* max_virtqueue_pairs (only meaningful with MQ) */
	put16(n->cfg + 10, mtu);
	n->mtu = mtu;
	n->be = *be;
	vpci_init(&n->pci, VNET_DEVICE_ID, features, 2, n->cfg, sizeof n->cfg, mem, bar_gpa,
		  irq_line);
}

bool vnet_csum_complete(uint8_t *frame, size_t len, uint16_t start, uint16_t offset)
{
	uint32_t sum = 0;
	size_t at = (size_t)start + offset;
	uint16_t c;

	if (start >= len || at + 2 > len) {
		return false;
	}
	for (size_t i = start; i + 1 < len; i += 2) {
		sum += (uint32_t)(frame[i] << 8 | frame[i + 1]);
	}
	if ((len - start) % 2) {
		sum += (uint32_t)frame[len - 1] << 8;
	}
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	c = (uint16_t)~sum;
	frame[at] = (uint8_t)(c >> 8);
	frame[at + 1] = (uint8_t)c;
	return true;
}

/* ---- TX: guest -> TAP ---- */

/* Checks a TX header against the negotiated features and the frame length; builds the one
 * the TAP gets.  Returns false if the frame must be dropped. */
static bool tx_header(const struct vnet *n, const struct hdr *g, uint32_t len, struct hdr *out)
{
	uint8_t allowed = vpci_has(&n->pci, VIRTIO_NET_F_CSUM) ? VNET_HDR_F_NEEDS_CSUM : 0;

	if (g->gso_type != 0 || (g->flags & ~allowed) != 0) {
		return false; /* GSO was not offered; DATA_VALID and RSC are RX-only */
	}
	*out = (struct hdr){.flags = g->flags};
	if (g->flags & VNET_HDR_F_NEEDS_CSUM) {
		if (g->csum_start >= len || (uint32_t)g->csum_start + g->csum_offset + 2 > len) {
			return false;
		}
		out->csum_start = g->csum_start;
		out->csum_offset = g->csum_offset;
	}
	return true;
}

/* One TX chain: the frame goes to the TAP or is dropped; the chain always goes back. */
static void tx_one(struct vnet *n, const struct vq_chain *c)
{
	struct virtq *q = &n->pci.vq[VNET_TXQ];
	uint64_t flen = c->rlen >= VNET_HDR_LEN ? c->rlen - VNET_HDR_LEN : 0;
	struct hdr g, h;

	if (c->rlen < VNET_HDR_LEN + 14) {
		n->st.tx_bad++;
	} else if (flen > (uint64_t)n->mtu + VNET_ETH_MAX) {
		n->st.tx_big++;
	} else if (vq_read_chain(q, c, 0, n->buf, c->rlen) != 0) {
		n->st.tx_bad++;
	} else if (hdr_get(&g, n->buf), !tx_header(n, &g, (uint32_t)flen, &h)) {
		n->st.tx_bad++;
	} else {
		hdr_put(n->buf, &h);
		if (n->be.write(n->be.ctx, n->buf, (size_t)c->rlen) == (ssize_t)c->rlen) {
			n->st.tx_packets++;
			n->st.tx_bytes += flen;
		} else {
			n->st.tap_errors++;
		}
	}
	vq_push(q, c->head, 0);
}

/* Up to VNET_BATCH chains.  Returns the number taken, or -1 if the queue broke. */
static int tx_batch(struct vnet *n)
{
	struct virtq *q = &n->pci.vq[VNET_TXQ];
	uint16_t avail;
	enum vq_err e;
	int done = 0;

	if ((e = vq_avail(q, &avail)) != VQ_OK) {
		vpci_queue_broken(&n->pci, VNET_TXQ, e);
		return -1;
	}
	for (; done < (int)avail && done < VNET_BATCH; done++) {
		if ((e = vq_pop(q, &n->chain)) != VQ_OK) {
			vpci_queue_broken(&n->pci, VNET_TXQ, e);
			return -1;
		}
		tx_one(n, &n->chain);
	}
	return done;
}

/* ---- RX: TAP -> guest ---- */

/* Fixes up a frame's header from the TAP for this driver.  false: drop it. */
static bool rx_header(struct vnet *n, uint8_t *buf, size_t len)
{
	struct hdr h;

	hdr_get(&h, buf);
	if (h.gso_type != 0) {
		return false; /* the TAP was given no GSO offload */
	}
	h.flags &= VNET_HDR_F_NEEDS_CSUM | VNET_HDR_F_DATA_VALID;
	if (!vpci_has(&n->pci, VIRTIO_NET_F_GUEST_CSUM)) {
		if ((h.flags & VNET_HDR_F_NEEDS_CSUM) &&
		    !vnet_csum_complete(buf + VNET_HDR_LEN, len - VNET_HDR_LEN, h.csum_start,
					h.csum_offset)) {
			return false;
		}
		h.flags = 0;
	}
	if (!(h.flags & VNET_HDR_F_NEEDS_CSUM)) {
		h.csum_start = h.csum_offset = 0;
	}
	h.hdr_len = h.gso_size = 0;
	h.num_buffers = 1; /* always 1 without MRG_RXBUF */
	hdr_put(buf, &h);
	return true;
}

/* One frame into the next chain.  Returns 1 (delivered or dropped), 0 (TAP empty) or -1
 * (the queue broke). */
static int rx_one(struct vnet *n)
{
	struct virtq *q = &n->pci.vq[VNET_RXQ];
	ssize_t len = n->be.read(n->be.ctx, n->buf, sizeof n->buf);
	enum vq_err e;

	if (len <= 0) {
		return 0;
	}
	if ((size_t)len < VNET_HDR_LEN + 14 || !rx_header(n, n->buf, (size_t)len)) {
		n->st.rx_bad++;
		return 1;
	}
	if ((e = vq_pop(q, &n->chain)) != VQ_OK) {
		vpci_queue_broken(&n->pci, VNET_RXQ, e);
		return -1;
	}
	if (n->chain.wlen < (uint64_t)len || vq_write_chain(q, &n->chain, n->buf, (size_t)len)) {
		q->last_avail--; /* the buffer stays the driver's; the frame is lost */
		n->st.rx_small++;
		return 1;
	}
	vq_push(q, n->chain.head, (uint32_t)len);
	n->st.rx_packets++;
	n->st.rx_bytes += (uint64_t)len - VNET_HDR_LEN;
	return 1;
}

/* Up to VNET_BATCH frames while buffers last.  Returns frames taken from the TAP (-1: the
 * queue broke); sets rx_wait when the queue ran out of buffers. */
static int rx_batch(struct vnet *n)
{
	struct virtq *q = &n->pci.vq[VNET_RXQ];
	uint16_t avail = 0;
	enum vq_err e;
	int done = 0, r = 1;

	if ((e = vq_avail(q, &avail)) != VQ_OK) {
		vpci_queue_broken(&n->pci, VNET_RXQ, e);
		return -1;
	}
	while (done < VNET_BATCH && avail > 0 && (r = rx_one(n)) > 0) {
		done++;
		if ((e = vq_avail(q, &avail)) != VQ_OK) {
			vpci_queue_broken(&n->pci, VNET_RXQ, e);
			return -1;
		}
	}
	n->rx_wait = avail == 0;
	return r < 0 ? -1 : done;
}

/* ---- one round ---- */

static void publish(struct vnet *n, unsigned qi)
{
	struct virtq *q = &n->pci.vq[qi];

	if (vq_publish(q) && vq_wants_interrupt(q)) {
		n->st.interrupts++;
		vpci_isr_raise(&n->pci, VIRTIO_ISR_QUEUE);
	}
}

/* Drains a queue in batches, notifications off meanwhile; turns them back on and checks
 * once more (a buffer added in between sent no notification). */
static bool run_tx(struct vnet *n)
{
	struct virtq *q = &n->pci.vq[VNET_TXQ];
	bool any = false;
	int k;

	if (!n->pci.qenable[VNET_TXQ]) {
		return false;
	}
	vq_set_notify(q, false);
	for (int pass = 0; pass < 2 && n->pci.active; pass++) {
		while (n->pci.active && (k = tx_batch(n)) > 0) {
			any = true;
			publish(n, VNET_TXQ);
		}
		if (pass == 0 && n->pci.active) {
			vq_set_notify(q, true);
		}
	}
	return any;
}

static bool run_rx(struct vnet *n)
{
	struct virtq *q = &n->pci.vq[VNET_RXQ];
	bool any = false;
	int k;

	if (!n->pci.qenable[VNET_RXQ]) {
		n->rx_wait = true;
		return false;
	}
	while (n->pci.active && (k = rx_batch(n)) > 0) {
		any = true;
		publish(n, VNET_RXQ);
	}
	if (n->pci.active && n->rx_wait) {
		/* out of buffers: ask for a notification, then look again */
		vq_set_notify(q, true);
		uint16_t avail;
		if (vq_avail(q, &avail) == VQ_OK && avail > 0) {
			n->rx_wait = false;
		}
	} else if (n->pci.active) {
		vq_set_notify(q, false); /* buffers at hand: new ones need no notification */
	}
	return any;
}

bool vnet_run(struct vnet *n)
{
	bool any;

	if (!n->pci.active) {
		n->rx_wait = true;
		return false;
	}
	any = run_tx(n);
	any |= run_rx(n);
	return any;
}
