/* SPDX-License-Identifier: MIT */
/* virtio_fake.h - shared by test_virtio.c and test_virtio_net.c: a virtio-net device on a
 * 1 MiB guest RAM arena with a fake TAP (frames in, frames out) and fake owner callbacks, and
 * a test driver that makes the register accesses and ring updates a guest makes. */
#ifndef VIRTIO_FAKE_H
#define VIRTIO_FAKE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "virtio_net.h"

#define RAM_START 0x100000ull
#define RAM_SIZE  (1ull << 20)
#define BAR	  0xfe000000ull
#define QSIZE	  16
/* where the test driver puts things in guest RAM */
#define DESC(q)	 (RAM_START + 0x1000 + (q)*0x4000)
#define AVAIL(q) (DESC(q) + 0x1000)
#define USED(q)	 (DESC(q) + 0x2000)
#define BUF(i)	 (RAM_START + 0x10000 + (uint64_t)(i)*0x800)

#define CC_DFSEL   0x00
#define CC_DF	   0x04
#define CC_GFSEL   0x08
#define CC_GF	   0x0c
#define CC_STATUS  0x14
#define CC_QSEL	   0x16
#define CC_QSIZE   0x18
#define CC_QENABLE 0x1c
#define CC_QNOFF   0x1e
#define CC_QDESC   0x20
#define CC_QDRIVER 0x28
#define CC_QDEVICE 0x30

struct fake {
	struct gmem mem;
	uint8_t *ram;
	struct vnet *n;
	uint8_t rx[4][2048]; /* frames the "TAP" will deliver */
	size_t rxlen[4];
	int nrx, rxpos;
	uint8_t tx[4][2048]; /* frames the device wrote to the "TAP" */
	size_t txlen[4];
	int ntx;
	int activations, deactivations, interrupts, notifies;
	uint16_t avail_idx[2];
};

static inline ssize_t fake_read(void *ctx, void *buf, size_t len)
{
	struct fake *f = ctx;
	size_t k;

	if (f->rxpos == f->nrx) {
		return -1;
	}
	k = f->rxlen[f->rxpos] < len ? f->rxlen[f->rxpos] : len;
	memcpy(buf, f->rx[f->rxpos++], k);
	return (ssize_t)k;
}

static inline ssize_t fake_write(void *ctx, const void *buf, size_t len)
{
	struct fake *f = ctx;

	if (f->ntx < 4 && len <= sizeof f->tx[0]) {
		memcpy(f->tx[f->ntx], buf, len);
		f->txlen[f->ntx++] = len;
	}
	return (ssize_t)len;
}

static inline void on_activate(void *ctx, bool on)
{
	struct fake *f = ctx;

	if (on) {
		f->activations++;
	} else {
		f->deactivations++;
	}
}

static inline void on_interrupt(void *ctx)
{
	((struct fake *)ctx)->interrupts++;
}

static inline void on_notify(void *ctx, unsigned q)
{
	(void)q;
	((struct fake *)ctx)->notifies++;
}

static const struct vpci_ops ops = {on_activate, on_interrupt, on_notify};

static inline int setup_with(void **state, bool tap_csum)
{
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	struct fake *f = calloc(1, sizeof *f);
	struct vnet_backend be = {fake_read, fake_write, NULL};

	assert_non_null(f);
	f->ram = calloc(1, RAM_SIZE);
	f->n = calloc(1, sizeof *f->n);
	assert_non_null(f->ram);
	assert_non_null(f->n);
	gmem_init_arena(&f->mem, f->ram, RAM_START, RAM_SIZE);
	be.ctx = f;
	vnet_init(f->n, mac, 1500, tap_csum, &f->mem, BAR, 11, &be);
	f->n->pci.ops = &ops;
	f->n->pci.ctx = f;
	*state = f;
	return 0;
}

static inline int setup(void **state)
{
	return setup_with(state, true);
}

static inline int teardown(void **state)
{
	struct fake *f = *state;

	free(f->ram);
	free(f->n);
	free(f);
	return 0;
}

/* ---- the test driver: register accesses as a guest makes them ---- */

static inline void wr(struct fake *f, uint64_t off, unsigned len, uint64_t v)
{
	uint8_t d[8];

	memcpy(d, &v, 8);
	vpci_bar_access(&f->n->pci, off, true, len, d);
}

static inline uint64_t rd(struct fake *f, uint64_t off, unsigned len)
{
	uint8_t d[8] = {0};
	uint64_t v = 0;

	vpci_bar_access(&f->n->pci, off, false, len, d);
	memcpy(&v, d, len);
	return v;
}

static inline uint8_t status(struct fake *f)
{
	return (uint8_t)rd(f, CC_STATUS, 1);
}

static inline uint64_t device_features(struct fake *f)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 2; i++) {
		wr(f, CC_DFSEL, 4, i);
		v |= rd(f, CC_DF, 4) << (32 * i);
	}
	return v;
}

static inline void driver_features(struct fake *f, uint64_t v)
{
	for (unsigned i = 0; i < 4; i++) {
		wr(f, CC_GFSEL, 4, i);
		wr(f, CC_GF, 4, i < 2 ? (uint32_t)(v >> (32 * i)) : 0);
	}
}

static inline void queue(struct fake *f, unsigned q, uint16_t size, uint64_t desc)
{
	wr(f, CC_QSEL, 2, q);
	wr(f, CC_QSIZE, 2, size);
	wr(f, CC_QDESC, 8, desc);
	wr(f, CC_QDRIVER, 8, AVAIL(q));
	wr(f, CC_QDEVICE, 8, USED(q));
	wr(f, CC_QENABLE, 2, 1);
}

/* Up to FEATURES_OK with `feat`. */
static inline void negotiate(struct fake *f, uint64_t feat)
{
	wr(f, CC_STATUS, 1, 0);
	wr(f, CC_STATUS, 1, 1);
	wr(f, CC_STATUS, 1, 3);
	driver_features(f, feat);
	wr(f, CC_STATUS, 1, 0xb);
}

static inline void bring_up(struct fake *f, uint64_t feat)
{
	negotiate(f, feat);
	queue(f, 0, QSIZE, DESC(0));
	queue(f, 1, QSIZE, DESC(1));
	wr(f, CC_STATUS, 1, 0xf);
	assert_int_equal(status(f), 0xf);
}

static inline void put(struct fake *f, uint64_t gpa_, const void *p, size_t n)
{
	assert_int_equal(gmem_copy_to(&f->mem, gpa(gpa_), p, n), 0);
}

static inline void desc(struct fake *f, unsigned q, unsigned i, uint64_t addr, uint32_t len,
			uint16_t flags, uint16_t next)
{
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	put(f, DESC(q) + 16ull * i, d, 16);
}

/* Makes chain `head` available on queue q. */
static inline void offer(struct fake *f, unsigned q, uint16_t head)
{
	uint16_t slot = f->avail_idx[q] % QSIZE;

	put(f, AVAIL(q) + 4 + 2ull * slot, &head, 2);
	f->avail_idx[q]++;
	put(f, AVAIL(q) + 2, &f->avail_idx[q], 2);
}

static inline uint16_t used_idx(struct fake *f, unsigned q)
{
	uint16_t v = 0;

	assert_int_equal(gmem_copy_from(&f->mem, &v, gpa(USED(q) + 2), 2), 0);
	return v;
}

static inline uint32_t used_len(struct fake *f, unsigned q, unsigned slot)
{
	uint32_t v = 0;

	assert_int_equal(gmem_copy_from(&f->mem, &v, gpa(USED(q) + 4 + 8ull * slot + 4), 4), 0);
	return v;
}

#define BASE_FEATURES (VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_MTU)

#endif
