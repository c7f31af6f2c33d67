/* SPDX-License-Identifier: MIT */
/* virtq.c - split virtqueues, device side (virtq.h).
 *
 * Trusts nothing in guest memory: indices are read once and range-checked, descriptors are
 * copied out once and the copy is validated (bounded chains, no indirect descriptors, buffers
 * inside RAM), and all guest accesses go through gmem.  The device's own indices live here. */
#include <string.h>

#include "virtq.h"

/* Offsets inside the rings (virtio 1.2, 2.7.6 and 2.7.8). */
#define AVAIL_IDX     2
#define AVAIL_RING    4
#define USED_IDX      2
#define USED_RING     4
#define DESC_SIZE     16
#define USED_ELEM_LEN 8

static const char *const err_names[VQ_E_COUNT] = {
    [VQ_OK] = "ok",
    [VQ_E_LAYOUT] = "queue layout",
    [VQ_E_AVAIL_IDX] = "avail index",
    [VQ_E_HEAD] = "chain head",
    [VQ_E_NEXT] = "descriptor next",
    [VQ_E_LOOP] = "descriptor loop",
    [VQ_E_INDIRECT] = "indirect descriptor",
    [VQ_E_ORDER] = "descriptor order",
    [VQ_E_BUFFER] = "buffer address",
};

const char *vq_err_name(enum vq_err e)
{
	return (unsigned)e < VQ_E_COUNT ? err_names[e] : "?";
}

static bool area_ok(const struct gmem *m, uint64_t addr, uint64_t len, uint64_t align)
{
	return addr % align == 0 && gmem_range_ok(m, gpa(addr), len);
}

enum vq_err vq_layout_check(const struct gmem *m, const struct vq_layout *l)
{
	uint64_t n = l->size;

	if (n == 0 || n > VQ_MAX_SIZE || (n & (n - 1)) != 0) {
		return VQ_E_LAYOUT;
	}
	if (!area_ok(m, l->desc, DESC_SIZE * n, 16) || !area_ok(m, l->avail, 6 + 2 * n, 2) ||
	    !area_ok(m, l->used, 6 + USED_ELEM_LEN * n, 4)) {
		return VQ_E_LAYOUT;
	}
	return VQ_OK;
}

void vq_init(struct virtq *q, const struct gmem *m, const struct vq_layout *l)
{
	*q = (struct virtq){.mem = m, .l = *l};
}

/* A 16-bit field of a checked ring.  The layout was validated, so a failure means RAM went
 * away, which cannot happen; the caller still gets 0 and an error flag. */
static bool read16(const struct virtq *q, uint64_t addr, uint16_t *v)
{
	return gmem_copy_from(q->mem, v, gpa(addr), 2) == 0;
}

enum vq_err vq_avail(struct virtq *q, uint16_t *n)
{
	uint16_t idx, diff;

	if (!read16(q, q->l.avail + AVAIL_IDX, &idx)) {
		return VQ_E_LAYOUT;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* ring entries after the index */
	diff = (uint16_t)(idx - q->last_avail);
	if (diff > q->l.size) {
		return VQ_E_AVAIL_IDX;
	}
	*n = diff;
	return VQ_OK;
}

struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

static enum vq_err read_desc(const struct virtq *q, uint16_t i, struct desc *d)
{
	uint8_t raw[DESC_SIZE];

	if (gmem_copy_from(q->mem, raw, gpa(q->l.desc + (uint64_t)i * DESC_SIZE), sizeof raw) !=
	    0) {
		return VQ_E_LAYOUT;
	}
	memcpy(&d->addr, raw, 8); /* little-endian, x86 only */
	memcpy(&d->len, raw + 8, 4);
	memcpy(&d->flags, raw + 12, 2);
	memcpy(&d->next, raw + 14, 2);
	return VQ_OK;
}

/* Validates one copied descriptor and appends it to the chain. */
static enum vq_err add_seg(const struct virtq *q, struct vq_chain *c, const struct desc *d)
{
	bool w = (d->flags & VQ_DESC_F_WRITE) != 0;

	if (d->flags & VQ_DESC_F_INDIRECT) {
		return VQ_E_INDIRECT;
	}
	if (!w && c->wlen > 0) {
		return VQ_E_ORDER;
	}
	if (!gmem_range_ok(q->mem, gpa(d->addr), d->len)) {
		return VQ_E_BUFFER;
	}
	c->seg[c->n++] = (struct vq_seg){.addr = d->addr, .len = d->len, .write = w};
	if (w) {
		c->wlen += d->len;
	} else {
		c->rlen += d->len;
	}
	return VQ_OK;
}

enum vq_err vq_pop(struct virtq *q, struct vq_chain *c)
{
	uint16_t slot = q->last_avail & (q->l.size - 1), i;
	struct desc d;
	enum vq_err e;

	if (!read16(q, q->l.avail + AVAIL_RING + 2ull * slot, &i)) {
		return VQ_E_LAYOUT;
	}
	if (i >= q->l.size) {
		return VQ_E_HEAD;
	}
	c->head = i;
	c->n = 0;
	c->rlen = c->wlen = 0;
	for (;;) {
		if (c->n == q->l.size) {
			return VQ_E_LOOP; /* more descriptors than the table holds */
		}
		if ((e = read_desc(q, i, &d)) != VQ_OK || (e = add_seg(q, c, &d)) != VQ_OK) {
			return e;
		}
		if (!(d.flags & VQ_DESC_F_NEXT)) {
			break;
		}
		if (d.next >= q->l.size) {
			return VQ_E_NEXT;
		}
		i = d.next;
	}
	q->last_avail++;
	return VQ_OK;
}

void vq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	uint16_t slot = q->used_idx & (q->l.size - 1);
	uint8_t elem[USED_ELEM_LEN];
	uint32_t id = head;

	memcpy(elem, &id, 4);
	memcpy(elem + 4, &len, 4);
	if (gmem_copy_to(q->mem, gpa(q->l.used + USED_RING + (uint64_t)slot * USED_ELEM_LEN), elem,
			 sizeof elem) == 0) {
		q->used_idx++;
	}
}

bool vq_publish(struct virtq *q)
{
	if (q->used_idx == q->published) {
		return false;
	}
	__atomic_thread_fence(__ATOMIC_RELEASE); /* entries before the index */
	if (gmem_copy_to(q->mem, gpa(q->l.used + USED_IDX), &q->used_idx, 2) != 0) {
		return false;
	}
	q->published = q->used_idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the index before reading the driver's flags */
	return true;
}

bool vq_wants_interrupt(const struct virtq *q)
{
	uint16_t flags = 0;

	return read16(q, q->l.avail, &flags) && !(flags & VQ_AVAIL_F_NO_INTERRUPT);
}

void vq_set_notify(struct virtq *q, bool on)
{
	uint16_t flags = on ? 0 : VQ_USED_F_NO_NOTIFY;

	if (gmem_copy_to(q->mem, gpa(q->l.used), &flags, 2) == 0 && on) {
		__atomic_thread_fence(__ATOMIC_SEQ_CST); /* the flag before re-reading avail idx */
	}
}

int vq_read_chain(const struct virtq *q, const struct vq_chain *c, uint64_t off, void *dst,
		  uint64_t len)
{
	uint8_t *out = dst;

	for (uint16_t i = 0; i < c->n && len > 0; i++) {
		const struct vq_seg *s = &c->seg[i];
		uint64_t k;
		if (s->write) {
			break;
		}
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		k = s->len - off < len ? s->len - off : len;
		if (gmem_copy_from(q->mem, out, gpa(s->addr + off), k) != 0) {
			return -1;
		}
		out += k;
		len -= k;
		off = 0;
	}
	return len == 0 ? 0 : -1;
}

int vq_write_chain(const struct virtq *q, const struct vq_chain *c, const void *src, uint64_t len)
{
	const uint8_t *in = src;

	for (uint16_t i = 0; i < c->n && len > 0; i++) {
		const struct vq_seg *s = &c->seg[i];
		uint64_t k = s->len < len ? s->len : len;
		if (!s->write) {
			continue;
		}
		if (gmem_copy_to(q->mem, gpa(s->addr), in, k) != 0) {
			return -1;
		}
		in += k;
		len -= k;
	}
	return len == 0 ? 0 : -1;
}
