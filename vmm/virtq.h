/* SPDX-License-Identifier: MIT */
/* virtq.h - split virtqueues (virtio 1.2, 2.7) as seen by a device.
 *
 * Threat: the rings, the descriptor table and every buffer live in guest RAM and change under
 * our feet (other vCPUs run).  The device keeps its own copies of last_avail and used_idx and
 * never reads them back; every index read from the guest is range-checked before use; a
 * descriptor is copied out once, validated, and only the copy is used; every guest address
 * goes through gmem.  A malformed ring or chain is an error the caller turns into
 * DEVICE_NEEDS_RESET: nothing is ever trusted or retried. */
#ifndef UHS_VIRTQ_H
#define UHS_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

#include "gmem.h"

#define VQ_MAX_SIZE 256 /* queue size offered (power of 2) */

#define VQ_DESC_F_NEXT		1
#define VQ_DESC_F_WRITE		2
#define VQ_DESC_F_INDIRECT	4
#define VQ_AVAIL_F_NO_INTERRUPT 1
#define VQ_USED_F_NO_NOTIFY	1

/* Where the driver put a queue (common configuration registers). */
struct vq_layout {
	uint16_t size;
	uint64_t desc, avail, used; /* GPAs of the descriptor table, driver and device areas */
};

/* Why a queue was found broken (the device then needs a reset). */
enum vq_err {
	VQ_OK = 0,
	VQ_E_LAYOUT, /* size not a power of 2 in 1..256, misaligned or not inside RAM */
	VQ_E_AVAIL_IDX, /* the driver made more than `size` new buffers available */
	VQ_E_HEAD, /* an avail ring entry is not a descriptor index */
	VQ_E_NEXT, /* a `next` field is not a descriptor index */
	VQ_E_LOOP, /* a chain longer than the queue: a loop */
	VQ_E_INDIRECT, /* an indirect descriptor (VIRTIO_F_INDIRECT_DESC is not offered) */
	VQ_E_ORDER, /* a device-readable descriptor after a device-writable one */
	VQ_E_BUFFER, /* a buffer not inside guest RAM (or wrapping) */
	VQ_E_COUNT
};
const char *vq_err_name(enum vq_err e);

struct virtq {
	const struct gmem *mem;
	struct vq_layout l; /* frozen at DRIVER_OK, validated */
	uint16_t last_avail; /* next avail ring entry to take (our copy) */
	uint16_t used_idx; /* next used ring entry to fill (our copy) */
	uint16_t published; /* used_idx as last written to the guest */
};

/* One chain, copied out of the descriptor table and validated. */
struct vq_seg {
	uint64_t addr;
	uint32_t len;
	bool write; /* device-writable */
};
struct vq_chain {
	uint16_t head;
	uint16_t n;
	uint64_t rlen, wlen; /* total device-readable / device-writable bytes */
	struct vq_seg seg[VQ_MAX_SIZE];
};

/* Checks a layout: size a power of 2 in 1..VQ_MAX_SIZE, areas aligned (16, 2, 4) and inside
 * RAM.  Returns VQ_OK or VQ_E_LAYOUT. */
enum vq_err vq_layout_check(const struct gmem *m, const struct vq_layout *l);
/* Starts a queue on a checked layout (indices 0). */
void vq_init(struct virtq *q, const struct gmem *m, const struct vq_layout *l);

/* How many buffers the driver made available and we have not taken yet (0..size), in *n;
 * VQ_E_AVAIL_IDX if the guest's index is impossible. */
enum vq_err vq_avail(struct virtq *q, uint16_t *n);
/* Takes the next available chain into *c.  Call only when vq_avail said n > 0. */
enum vq_err vq_pop(struct virtq *q, struct vq_chain *c);
/* Returns a chain to the driver with `len` bytes written (used ring entry only). */
void vq_push(struct virtq *q, uint16_t head, uint32_t len);
/* Makes the pushed entries visible (release fence, then the used index).  Returns true if
 * there was anything new. */
bool vq_publish(struct virtq *q);
/* Whether the driver wants an interrupt for used buffers (no VQ_AVAIL_F_NO_INTERRUPT). */
bool vq_wants_interrupt(const struct virtq *q);
/* Asks the driver for notifications (on) or tells it they are not needed (off).  After
 * turning them on, re-check vq_avail: a buffer added meanwhile sent none. */
void vq_set_notify(struct virtq *q, bool on);

/* Copies `len` bytes from the chain's device-readable buffers, starting `off` bytes in, into
 * dst.  The chain must hold them (rlen).  Returns 0 or -1 (a buffer left RAM). */
int vq_read_chain(const struct virtq *q, const struct vq_chain *c, uint64_t off, void *dst,
		  uint64_t len);
/* Copies len bytes into the chain's device-writable buffers (wlen >= len).  0 or -1. */
int vq_write_chain(const struct virtq *q, const struct vq_chain *c, const void *src, uint64_t len);

#endif
