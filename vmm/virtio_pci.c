/* SPDX-License-Identifier: MIT */
/* virtio_pci.c - the virtio 1.x PCI transport, device side (virtio_pci.h).
 *
 * Everything here is driven by guest register accesses.  Each access is checked for width
 * and offset, each status write against the initialisation order, the features against what
 * was offered, and the queue layout against guest RAM when the driver sets DRIVER_OK; from
 * then on the layout is frozen until a reset. */
#include <stdio.h>
#include <string.h>

#include "virtio_pci.h"

/* Common configuration (virtio 1.2, 4.1.4.3). */
#define CC_DFSEL      0x00
#define CC_DF	      0x04
#define CC_GFSEL      0x08
#define CC_GF	      0x0c
#define CC_MSIX	      0x10
#define CC_NUMQ	      0x12
#define CC_STATUS     0x14
#define CC_GEN	      0x15
#define CC_QSEL	      0x16
#define CC_QSIZE      0x18
#define CC_QMSIX      0x1a
#define CC_QENABLE    0x1c
#define CC_QNOTIFYOFF 0x1e
#define CC_QDESC      0x20
#define CC_QDRIVER    0x28
#define CC_QDEVICE    0x30
#define NO_VECTOR     0xffff

#define CAP_VNDR   0x09
#define CFG_COMMON 1
#define CFG_NOTIFY 2
#define CFG_ISR	   3
#define CFG_DEVICE 4

static const char *const event_names[VPCI_E_COUNT] = {
    [VPCI_E_WIDTH] = "bad register access",    [VPCI_E_FROZEN] = "queue write after DRIVER_OK",
    [VPCI_E_STATUS] = "bad status transition", [VPCI_E_FEATURES] = "features not offered",
    [VPCI_E_LAYOUT] = "bad queue layout",      [VPCI_E_QUEUE] = "broken queue",
};

const char *vpci_event_name(enum vpci_event e)
{
	return (unsigned)e < VPCI_E_COUNT ? event_names[e] : "?";
}

static void add_cap(struct vpci *d, uint8_t type, uint32_t off, uint32_t len, bool notify)
{
	uint8_t cap[20] = {CAP_VNDR, 0, 0, type, 0 /* BAR0 */};
	uint32_t mult = VPCI_NOTIFY_MULT;

	memcpy(cap + 8, &off, 4);
	memcpy(cap + 12, &len, 4);
	memcpy(cap + 16, &mult, 4);
	pci_fn_add_cap(&d->fn, cap, notify ? 20 : 16);
}

static void reset_state(struct vpci *d)
{
	d->dfsel = d->gfsel = 0;
	d->driver_features = 0;
	d->bad_feature_bits = false;
	d->status = 0;
	d->qsel = 0;
	for (unsigned q = 0; q < VPCI_MAX_QUEUES; q++) {
		d->ql[q] = (struct vq_layout){.size = VQ_MAX_SIZE};
		d->qenable[q] = false;
	}
	__atomic_store_n(&d->isr, 0, __ATOMIC_RELEASE);
}

void vpci_init(struct vpci *d, uint16_t device_id, uint64_t offered, unsigned nqueues,
	       const uint8_t *devcfg, unsigned devcfg_len, const struct gmem *mem, uint64_t bar_gpa,
	       uint8_t irq_line)
{
	memset(d, 0, sizeof *d);
	d->device_id = device_id;
	d->offered = offered | VIRTIO_F_VERSION_1;
	d->nqueues = nqueues < VPCI_MAX_QUEUES ? nqueues : VPCI_MAX_QUEUES;
	d->devcfg = devcfg;
	d->devcfg_len = devcfg_len;
	d->mem = mem;
	/* class: network controller (0x02) for virtio-net, revision 1 (modern only) */
	pci_fn_init(&d->fn, VIRTIO_VENDOR, device_id, device_id == 0x1041 ? 0x02000001u : 1u,
		    bar_gpa, VPCI_BAR_SIZE, irq_line);
	add_cap(d, CFG_COMMON, VPCI_COMMON_OFF, VPCI_COMMON_LEN, false);
	add_cap(d, CFG_ISR, VPCI_ISR_OFF, 1, false);
	add_cap(d, CFG_NOTIFY, VPCI_NOTIFY_OFF, VPCI_NOTIFY_MULT * VPCI_MAX_QUEUES, true);
	add_cap(d, CFG_DEVICE, VPCI_DEVCFG_OFF, devcfg_len, false);
	reset_state(d);
}

bool vpci_has(const struct vpci *d, uint64_t feature)
{
	return (d->driver_features & feature) == feature;
}

static void event(struct vpci *d, enum vpci_event e)
{
	d->events[e]++;
}

static void stop(struct vpci *d)
{
	if (d->active) {
		d->active = false;
		d->ops->activate(d->ctx, false);
	}
}

static void needs_reset(struct vpci *d, enum vpci_event e, const char *why)
{
	event(d, e);
	d->resets_needed++;
	snprintf(d->why, sizeof d->why, "%s", why);
	stop(d);
	d->status |= VIRTIO_S_NEEDS_RESET;
	if (d->status & VIRTIO_S_DRIVER_OK) {
		vpci_isr_raise(d, VIRTIO_ISR_CONFIG);
	}
}

void vpci_queue_broken(struct vpci *d, unsigned q, enum vq_err e)
{
	char why[64];

	snprintf(why, sizeof why, "queue %u: %s", q, vq_err_name(e));
	needs_reset(d, VPCI_E_QUEUE, why);
}

/* ---- status ---- */

static bool features_ok(struct vpci *d)
{
	return !d->bad_feature_bits && (d->driver_features & ~d->offered) == 0 &&
	       (d->driver_features & VIRTIO_F_VERSION_1);
}

static bool queues_ok(struct vpci *d)
{
	for (unsigned q = 0; q < d->nqueues; q++) {
		if (d->qenable[q] && vq_layout_check(d->mem, &d->ql[q]) != VQ_OK) {
			char why[64];
			snprintf(why, sizeof why, "queue %u: layout", q);
			needs_reset(d, VPCI_E_LAYOUT, why);
			return false;
		}
	}
	return true;
}

static void driver_ok(struct vpci *d)
{
	if (!queues_ok(d)) {
		return;
	}
	for (unsigned q = 0; q < d->nqueues; q++) {
		vq_init(&d->vq[q], d->mem, &d->ql[q]);
	}
	d->status |= VIRTIO_S_DRIVER_OK;
	d->active = true;
	d->ops->activate(d->ctx, true);
}

/* Each new bit needs its predecessor (virtio 1.2, 3.1.1). */
static bool order_ok(uint8_t old, uint8_t add)
{
	uint8_t all = old | add;

	return !(add & ~(VIRTIO_S_ACKNOWLEDGE | VIRTIO_S_DRIVER | VIRTIO_S_FEATURES_OK |
			 VIRTIO_S_DRIVER_OK)) &&
	       (!(all & VIRTIO_S_DRIVER) || (all & VIRTIO_S_ACKNOWLEDGE)) &&
	       (!(all & VIRTIO_S_FEATURES_OK) || (all & VIRTIO_S_DRIVER)) &&
	       (!(all & VIRTIO_S_DRIVER_OK) || (all & VIRTIO_S_FEATURES_OK));
}

static void write_status(struct vpci *d, uint8_t v)
{
	uint8_t add = (uint8_t)(v & ~d->status);

	if (v == 0) {
		stop(d);
		reset_state(d);
	} else if (d->status & (VIRTIO_S_NEEDS_RESET | VIRTIO_S_FAILED)) {
		event(d, VPCI_E_STATUS); /* only a reset leaves these states */
	} else if (v & VIRTIO_S_FAILED) {
		stop(d);
		d->status |= VIRTIO_S_FAILED; /* the driver gave up */
	} else if ((v & d->status) != d->status || !order_ok(d->status, add)) {
		needs_reset(d, VPCI_E_STATUS, "status transition");
	} else if ((add & VIRTIO_S_FEATURES_OK) && !features_ok(d)) {
		needs_reset(d, VPCI_E_FEATURES, "features not offered");
	} else {
		d->status |= add & (uint8_t)~VIRTIO_S_DRIVER_OK;
		if (add & VIRTIO_S_DRIVER_OK) {
			driver_ok(d);
		}
	}
}

/* ---- common configuration ---- */

static uint64_t device_features(const struct vpci *d)
{
	return d->dfsel == 0   ? (uint32_t)d->offered
	       : d->dfsel == 1 ? (uint32_t)(d->offered >> 32)
			       : 0;
}

static bool queue_selected(const struct vpci *d)
{
	return d->qsel < d->nqueues;
}

/* The 64-bit queue address a common-configuration offset names, or NULL. */
static uint64_t *queue_addr(struct vpci *d, uint64_t off)
{
	struct vq_layout *l;

	if (!queue_selected(d)) {
		return NULL; /* queue_select is the guest's: never index with it unchecked */
	}
	l = &d->ql[d->qsel];
	switch (off & ~7ull) {
	case CC_QDESC:
		return &l->desc;
	case CC_QDRIVER:
		return &l->avail;
	case CC_QDEVICE:
		return &l->used;
	default:
		return NULL;
	}
}

/* Width of the field at off, or 0 if there is none (0x20-0x37: 8, or 4 per half). */
static unsigned field_width(uint64_t off, unsigned len)
{
	if (off >= CC_QDESC && off < VPCI_COMMON_LEN) {
		return (len == 8 && off % 8 == 0) || (len == 4 && off % 4 == 0) ? len : 0;
	}
	if (off < CC_MSIX) {
		return off % 4 == 0 ? 4 : 0;
	}
	if (off == CC_STATUS || off == CC_GEN) {
		return 1;
	}
	return off % 2 == 0 && off < CC_QDESC ? 2 : 0;
}

static uint64_t read_common(struct vpci *d, uint64_t off, unsigned len)
{
	uint64_t *a = queue_addr(d, off);
	bool qs = queue_selected(d);

	if (a != NULL) {
		return len == 8 ? *a : (uint32_t)(*a >> (off % 8 ? 32 : 0));
	}
	switch (off) {
	case CC_DFSEL:
		return d->dfsel;
	case CC_DF:
		return device_features(d);
	case CC_GFSEL:
		return d->gfsel;
	case CC_GF:
		return d->gfsel < 2 ? (uint32_t)(d->driver_features >> (32 * d->gfsel)) : 0;
	case CC_MSIX:
	case CC_QMSIX:
		return NO_VECTOR; /* no MSI-X: writes do not stick */
	case CC_NUMQ:
		return d->nqueues;
	case CC_STATUS:
		return d->status;
	case CC_QSEL:
		return d->qsel;
	case CC_QSIZE:
		return qs ? d->ql[d->qsel].size : 0;
	case CC_QENABLE:
		return qs ? d->qenable[d->qsel] : 0;
	case CC_QNOTIFYOFF:
		return qs ? d->qsel : 0;
	default:
		return 0; /* config_generation: the configuration never changes */
	}
}

static void write_features(struct vpci *d, uint32_t v)
{
	if (d->status & VIRTIO_S_FEATURES_OK) {
		event(d, VPCI_E_FROZEN);
	} else if (d->gfsel < 2) {
		unsigned sh = 32 * d->gfsel;
		d->driver_features =
		    (d->driver_features & ~(0xffffffffull << sh)) | ((uint64_t)v << sh);
	} else if (v != 0) {
		d->bad_feature_bits = true;
	}
}

/* Queue size, enable and addresses: only before DRIVER_OK, only for existing queues. */
static void write_queue(struct vpci *d, uint64_t off, unsigned len, uint64_t v)
{
	uint64_t *a = queue_addr(d, off);

	if (d->active || (d->status & VIRTIO_S_DRIVER_OK) || !queue_selected(d)) {
		event(d, VPCI_E_FROZEN);
	} else if (a != NULL && len == 8) {
		*a = v;
	} else if (a != NULL) {
		unsigned sh = off % 8 ? 32 : 0;
		*a = (*a & ~(0xffffffffull << sh)) | ((v & 0xffffffffull) << sh);
	} else if (off == CC_QSIZE) {
		d->ql[d->qsel].size = (uint16_t)v;
	} else if (v == 1) { /* CC_QENABLE: the driver may only enable */
		d->qenable[d->qsel] = true;
	} else {
		event(d, VPCI_E_FROZEN);
	}
}

static void write_common(struct vpci *d, uint64_t off, unsigned len, uint64_t v)
{
	switch (off) {
	case CC_DFSEL:
		d->dfsel = (uint32_t)v;
		break;
	case CC_GFSEL:
		d->gfsel = (uint32_t)v;
		break;
	case CC_GF:
		write_features(d, (uint32_t)v);
		break;
	case CC_STATUS:
		write_status(d, (uint8_t)v);
		break;
	case CC_QSEL:
		d->qsel = (uint16_t)v;
		break;
	case CC_QSIZE:
	case CC_QENABLE:
		write_queue(d, off, len, v);
		break;
	case CC_MSIX:
	case CC_QMSIX:
		break; /* no MSI-X */
	default:
		if (queue_addr(d, off) != NULL) {
			write_queue(d, off, len, v);
		} else {
			event(d, VPCI_E_WIDTH); /* read-only or reserved */
		}
	}
}

/* ---- BAR0 ---- */

bool vpci_is_isr(uint64_t off, bool write, unsigned len)
{
	return off == VPCI_ISR_OFF && !write && len == 1;
}

uint8_t vpci_isr_read(struct vpci *d)
{
	return __atomic_exchange_n(&d->isr, 0, __ATOMIC_ACQ_REL);
}

void vpci_isr_raise(struct vpci *d, uint8_t bits)
{
	__atomic_fetch_or(&d->isr, bits, __ATOMIC_ACQ_REL);
	d->ops->interrupt(d->ctx);
}

static void common_access(struct vpci *d, uint64_t off, bool write, unsigned len, uint8_t *data)
{
	uint64_t v = 0;

	if (field_width(off, len) != len) {
		event(d, VPCI_E_WIDTH);
		if (!write) {
			memset(data, 0, len);
		}
		return;
	}
	if (write) {
		memcpy(&v, data, len);
		write_common(d, off, len, v);
	} else {
		v = read_common(d, off, len);
		memcpy(data, &v, len);
	}
}

static void devcfg_read(const struct vpci *d, uint64_t off, unsigned len, uint8_t *data)
{
	for (unsigned i = 0; i < len; i++) {
		data[i] = off + i < d->devcfg_len ? d->devcfg[off + i] : 0;
	}
}

static void notify_write(struct vpci *d, uint64_t off, unsigned len)
{
	uint64_t q = off / VPCI_NOTIFY_MULT;

	if (off % VPCI_NOTIFY_MULT != 0 || (len != 2 && len != 4) || q >= d->nqueues) {
		event(d, VPCI_E_WIDTH);
	} else {
		d->ops->notify(d->ctx, (unsigned)q);
	}
}

void vpci_bar_access(struct vpci *d, uint64_t off, bool write, unsigned len, uint8_t *data)
{
	d->exits++;
	if (vpci_is_isr(off, write, len)) {
		data[0] = vpci_isr_read(d);
	} else if (off < VPCI_COMMON_OFF + VPCI_COMMON_LEN) {
		common_access(d, off - VPCI_COMMON_OFF, write, len, data);
	} else if (off >= VPCI_NOTIFY_OFF && off < VPCI_NOTIFY_OFF + 0x100 && write) {
		notify_write(d, off - VPCI_NOTIFY_OFF, len);
	} else if (off >= VPCI_DEVCFG_OFF && off < VPCI_DEVCFG_OFF + 0x100 && !write) {
		devcfg_read(d, off - VPCI_DEVCFG_OFF, len, data);
	} else {
		event(d, VPCI_E_WIDTH); /* ISR writes, notify reads, device config writes, holes */
		if (!write) {
			memset(data, 0, len);
		}
	}
}
