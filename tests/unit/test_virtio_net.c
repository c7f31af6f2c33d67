/* SPDX-License-Identifier: MIT */
/* test_virtio_net.c - the NIC's device model without KVM, part 2: the virtio-net data path
 * (virtio_net.c) and split virtqueues (virtq.c) against a fake TAP: frames each way, drops and
 * their counters, checksum completion, and every broken ring the device must answer with
 * DEVICE_NEEDS_RESET (virtio_fake.h has the device and the test driver). */
#include "virtio_fake.h"

/* ---- data path ---- */

static void tx_frames(void **state)
{
	struct fake *f = *state;
	uint8_t hdr[12] = {0}, frame[60];

	bring_up(f, BASE_FEATURES | VIRTIO_NET_F_CSUM);
	memset(frame, 0x5a, sizeof frame);
	put(f, BUF(0), hdr, sizeof hdr);
	put(f, BUF(1), frame, sizeof frame);
	desc(f, 1, 0, BUF(0), 12, VQ_DESC_F_NEXT, 1);
	desc(f, 1, 1, BUF(1), 60, 0, 0);
	offer(f, 1, 0);
	/* a partial checksum inside the frame: passed on */
	hdr[0] = 1;
	hdr[6] = 34; /* csum_start */
	hdr[8] = 6; /* csum_offset */
	put(f, BUF(2), hdr, sizeof hdr);
	desc(f, 1, 2, BUF(2), 12, VQ_DESC_F_NEXT, 3);
	desc(f, 1, 3, BUF(1), 60, 0, 0);
	offer(f, 1, 2);
	/* header and frame in one descriptor */
	memset(hdr, 0, sizeof hdr);
	put(f, BUF(3), hdr, sizeof hdr);
	put(f, BUF(3) + 12, frame, 14);
	desc(f, 1, 4, BUF(3), 26, 0, 0);
	offer(f, 1, 4);
	assert_true(vnet_run(f->n));
	assert_int_equal(f->ntx, 3);
	assert_int_equal(f->txlen[0], 72);
	assert_memory_equal(f->tx[0] + 12, frame, 60);
	assert_int_equal(f->tx[1][0], 1);
	assert_int_equal(f->tx[1][6], 34);
	assert_int_equal(f->tx[1][8], 6);
	assert_int_equal(f->txlen[2], 26);
	assert_int_equal(used_idx(f, 1), 3);
	assert_int_equal(f->n->st.tx_packets, 3);
	assert_int_equal(f->n->st.tx_bytes, 60 + 60 + 14);
	assert_int_equal(f->interrupts, 1); /* one per batch */
}

/* Frames the device must drop, each counted, the chain returned. */
static void tx_drops(void **state)
{
	struct fake *f = *state;
	uint8_t hdr[12] = {0};

	bring_up(f, BASE_FEATURES); /* no CSUM */
	put(f, BUF(0), hdr, 12);
	desc(f, 1, 0, BUF(0), 12, VQ_DESC_F_NEXT, 1);
	desc(f, 1, 1, BUF(1), 1500 + 18 + 1, 0, 0); /* one byte over */
	offer(f, 1, 0);
	desc(f, 1, 2, BUF(0), 12, VQ_DESC_F_NEXT, 3);
	desc(f, 1, 3, BUF(1), 13, 0, 0); /* shorter than an Ethernet header */
	offer(f, 1, 2);
	hdr[1] = 1; /* GSO TCPV4 */
	put(f, BUF(2), hdr, 12);
	desc(f, 1, 4, BUF(2), 12, VQ_DESC_F_NEXT, 5);
	desc(f, 1, 5, BUF(1), 100, 0, 0);
	offer(f, 1, 4);
	hdr[1] = 0;
	hdr[0] = 1; /* NEEDS_CSUM without CSUM negotiated */
	put(f, BUF(3), hdr, 12);
	desc(f, 1, 6, BUF(3), 12, VQ_DESC_F_NEXT, 7);
	desc(f, 1, 7, BUF(1), 100, 0, 0);
	offer(f, 1, 6);
	desc(f, 1, 8, BUF(0), 12, VQ_DESC_F_NEXT, 9);
	desc(f, 1, 9, BUF(1), 1500 + 18, 0, 0); /* exactly the limit: sent */
	offer(f, 1, 8);
	vnet_run(f->n);
	assert_int_equal(f->n->st.tx_big, 1);
	assert_int_equal(f->n->st.tx_bad, 3);
	assert_int_equal(f->n->st.tx_packets, 1);
	assert_int_equal(f->ntx, 1);
	assert_int_equal(used_idx(f, 1), 5);
	assert_int_equal(status(f), 0xf);
}

static void rx_fill(struct fake *f, unsigned head, uint32_t len)
{
	desc(f, 0, head, BUF(8 + head), 12, VQ_DESC_F_NEXT | VQ_DESC_F_WRITE, (uint16_t)(head + 1));
	desc(f, 0, head + 1, BUF(9 + head), len, VQ_DESC_F_WRITE, 0);
	offer(f, 0, (uint16_t)head);
}

static void rx_frames(void **state)
{
	struct fake *f = *state;
	uint8_t got[12 + 64];

	bring_up(f, BASE_FEATURES | VIRTIO_NET_F_GUEST_CSUM);
	rx_fill(f, 0, 1514);
	rx_fill(f, 2, 1514);
	f->nrx = 3;
	f->rxlen[0] = f->rxlen[1] = f->rxlen[2] = 12 + 64;
	memset(f->rx[0] + 12, 0x11, 64);
	f->rx[0][0] = 2; /* DATA_VALID: kept with GUEST_CSUM */
	f->rx[0][10] = 7; /* num_buffers from the TAP: replaced */
	memset(f->rx[1] + 12, 0x22, 64);
	f->rx[1][1] = 1; /* GSO: dropped */
	assert_true(vnet_run(f->n));
	assert_int_equal(used_idx(f, 0), 2);
	assert_int_equal(used_len(f, 0, 0), 12 + 64);
	assert_int_equal(gmem_copy_from(&f->mem, got, gpa(BUF(8)), 12), 0);
	assert_int_equal(got[0], 2);
	assert_int_equal(got[10], 1);
	assert_int_equal(gmem_copy_from(&f->mem, got, gpa(BUF(9)), 64), 0);
	assert_int_equal(got[0], 0x11);
	assert_int_equal(f->n->st.rx_packets, 2);
	assert_int_equal(f->n->st.rx_bad, 1);
	assert_int_equal(f->interrupts, 1);
	assert_int_equal(__atomic_load_n(&f->n->pci.isr, __ATOMIC_RELAXED), 1);
	assert_int_equal(vpci_isr_read(&f->n->pci), 1);
	assert_int_equal(vpci_isr_read(&f->n->pci), 0); /* read to clear */
	assert_true(f->n->rx_wait); /* out of buffers */
}

static void rx_small_and_no_interrupt(void **state)
{
	struct fake *f = *state;
	uint16_t no_int = VQ_AVAIL_F_NO_INTERRUPT;

	bring_up(f, BASE_FEATURES);
	put(f, AVAIL(0), &no_int, 2);
	rx_fill(f, 0, 32); /* room for 44 bytes */
	f->nrx = 2;
	f->rxlen[0] = 12 + 100; /* does not fit: dropped, the buffer stays */
	f->rxlen[1] = 12 + 32; /* fits */
	vnet_run(f->n);
	assert_int_equal(f->n->st.rx_small, 1);
	assert_int_equal(f->n->st.rx_packets, 1);
	assert_int_equal(used_idx(f, 0), 1);
	assert_int_equal(used_len(f, 0, 0), 44);
	assert_int_equal(f->interrupts, 0); /* the driver asked for none */
}

static void rx_checksum_completed(void **state)
{
	struct fake *f = *state;
	/* Ethernet + IPv4 + UDP (8 bytes payload) from 10.0.5.1:1000 to 10.0.5.3:7, with the
	 * UDP checksum field holding the pseudo-header sum as the host leaves it */
	static const uint8_t frame[] = {
	    2,	  0,   0,   0,	 0,   1,    2,	  0,  0,  0,  0,  2,	0x08, 0, /* Ethernet */
	    0x45, 0,   0,   36,	 0,   0,    0,	  0,  64, 17, 0,  0,	10,   0, 5,
	    1,	  10,  0,   5,	 3,   0x03, 0xe8, 0,  7,  0,  16, 0x1e, 0x25, /* UDP, checksum field
										 = pseudo sum */
	    'a',  'b', 'c', 'd', 'e', 'f',  'g',  'h'};
	uint8_t got[sizeof frame];
	uint32_t sum = 0;

	bring_up(f, BASE_FEATURES); /* no GUEST_CSUM: the device completes it */
	rx_fill(f, 0, 1514);
	f->nrx = 1;
	f->rxlen[0] = 12 + sizeof frame;
	f->rx[0][0] = 1; /* NEEDS_CSUM */
	f->rx[0][6] = 34; /* csum_start: the UDP header */
	f->rx[0][8] = 6;
	memcpy(f->rx[0] + 12, frame, sizeof frame);
	vnet_run(f->n);
	assert_int_equal(f->n->st.rx_packets, 1);
	assert_int_equal(gmem_copy_from(&f->mem, got, gpa(BUF(8)), 12), 0);
	assert_int_equal(got[0], 0); /* flags cleared */
	assert_int_equal(gmem_copy_from(&f->mem, got, gpa(BUF(9)), sizeof got), 0);
	/* a valid UDP checksum: the sum over pseudo header and datagram folds to 0xffff */
	sum = 0x0a00 + 0x0501 + 0x0a00 + 0x0503 + 17 + 16;
	for (size_t i = 34; i + 1 < sizeof got; i += 2) {
		sum += (uint32_t)(got[i] << 8 | got[i + 1]);
	}
	while (sum >> 16) {
		sum = (sum & 0xffff) + (sum >> 16);
	}
	assert_int_equal(sum, 0xffff);
	/* offsets outside the frame: false, nothing written */
	assert_false(vnet_csum_complete(got, sizeof got, sizeof got, 0));
	assert_false(vnet_csum_complete(got, sizeof got, 34, (uint16_t)(sizeof got - 35)));
}

/* ---- broken queues: DEVICE_NEEDS_RESET and a configuration interrupt ---- */

static void broken(struct fake *f, const char *why)
{
	vnet_run(f->n);
	assert_int_equal(status(f), 0x4f);
	assert_false(f->n->pci.active);
	assert_int_equal(vpci_isr_read(&f->n->pci) & 2, 2);
	assert_string_equal(f->n->pci.why, why);
	assert_int_equal(f->deactivations, 1);
	/* a reset brings it back */
	f->avail_idx[0] = f->avail_idx[1] = 0;
	memset(f->ram, 0, RAM_SIZE);
	bring_up(f, BASE_FEATURES);
	assert_true(f->n->pci.active);
}

static void queue_loop(void **state)
{
	struct fake *f = *state;

	bring_up(f, BASE_FEATURES);
	desc(f, 1, 0, BUF(0), 12, VQ_DESC_F_NEXT, 1);
	desc(f, 1, 1, BUF(1), 60, VQ_DESC_F_NEXT, 0);
	offer(f, 1, 0);
	broken(f, "queue 1: descriptor loop");
}

static void queue_next_oob(void **state)
{
	struct fake *f = *state;

	bring_up(f, BASE_FEATURES);
	desc(f, 1, 0, BUF(0), 12, VQ_DESC_F_NEXT, QSIZE);
	offer(f, 1, 0);
	broken(f, "queue 1: descriptor next");
}

static void queue_head_oob(void **state)
{
	struct fake *f = *state;

	bring_up(f, BASE_FEATURES);
	offer(f, 1, QSIZE + 3);
	broken(f, "queue 1: chain head");
}

static void queue_avail_jump(void **state)
{
	struct fake *f = *state;
	uint16_t idx = QSIZE + 1;

	bring_up(f, BASE_FEATURES);
	put(f, AVAIL(1) + 2, &idx, 2);
	broken(f, "queue 1: avail index");
}

static void queue_indirect(void **state)
{
	struct fake *f = *state;

	bring_up(f, BASE_FEATURES);
	desc(f, 1, 0, BUF(0), 64, VQ_DESC_F_INDIRECT, 0);
	offer(f, 1, 0);
	broken(f, "queue 1: indirect descriptor");
}

static void queue_buffers(void **state)
{
	struct fake *f = *state;

	bring_up(f, BASE_FEATURES);
	desc(f, 1, 0, RAM_START + RAM_SIZE - 8, 12, 0, 0); /* leaves RAM */
	offer(f, 1, 0);
	broken(f, "queue 1: buffer address");
	desc(f, 1, 0, BUF(0), 0xffffffffu, 0, 0); /* 4 GiB */
	offer(f, 1, 0);
	f->deactivations = 0;
	broken(f, "queue 1: buffer address");
	desc(f, 0, 0, BUF(0), 12, VQ_DESC_F_WRITE | VQ_DESC_F_NEXT, 1);
	desc(f, 0, 1, BUF(1), 64, 0, 0); /* readable after writable */
	offer(f, 0, 0);
	f->nrx = 1;
	f->rxlen[0] = 12 + 60;
	f->deactivations = 0;
	broken(f, "queue 0: descriptor order");
}

static void vq_chain_of_full_size(void **state)
{
	struct fake *f = *state;
	struct virtq q;
	struct vq_layout l = {.size = QSIZE, .desc = DESC(1), .avail = AVAIL(1), .used = USED(1)};
	static struct vq_chain c;
	uint16_t n;

	assert_int_equal(vq_layout_check(&f->mem, &l), VQ_OK);
	vq_init(&q, &f->mem, &l);
	for (unsigned i = 0; i < QSIZE; i++) { /* one chain through every descriptor */
		desc(f, 1, i, BUF(0), 4, i + 1 < QSIZE ? VQ_DESC_F_NEXT : 0, (uint16_t)(i + 1));
	}
	offer(f, 1, 0);
	assert_int_equal(vq_avail(&q, &n), VQ_OK);
	assert_int_equal(n, 1);
	assert_int_equal(vq_pop(&q, &c), VQ_OK);
	assert_int_equal(c.n, QSIZE);
	assert_int_equal(c.rlen, 4 * QSIZE);
	assert_int_equal(vq_avail(&q, &n), VQ_OK);
	assert_int_equal(n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(tx_frames, setup, teardown),
	    cmocka_unit_test_setup_teardown(tx_drops, setup, teardown),
	    cmocka_unit_test_setup_teardown(rx_frames, setup, teardown),
	    cmocka_unit_test_setup_teardown(rx_small_and_no_interrupt, setup, teardown),
	    cmocka_unit_test_setup_teardown(rx_checksum_completed, setup, teardown),
	    cmocka_unit_test_setup_teardown(queue_loop, setup, teardown),
	    cmocka_unit_test_setup_teardown(queue_next_oob, setup, teardown),
	    cmocka_unit_test_setup_teardown(queue_head_oob, setup, teardown),
	    cmocka_unit_test_setup_teardown(queue_avail_jump, setup, teardown),
	    cmocka_unit_test_setup_teardown(queue_indirect, setup, teardown),
	    cmocka_unit_test_setup_teardown(queue_buffers, setup, teardown),
	    cmocka_unit_test_setup_teardown(vq_chain_of_full_size, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
