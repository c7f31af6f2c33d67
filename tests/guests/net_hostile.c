/* SPDX-License-Identifier: MIT */
/* net-hostile (v2, Hermit 0.13.2): a virtio-net driver that breaks the device on purpose.
 * argv[1] names the case; the guest does it, prints one line "net-hostile: CASE: ..." with
 * what it observed (device status in hex, whether a configuration interrupt came), then resets the
 * device if needed and runs the net-echo service on it (net_echo.c: "net-echo: ready", echo until
 * "quit"), which proves the device and the VMM came through.  `bar-move` never gets there: the VMM
 * ends the VM (status 76).  Unknown case: "unknown case", exit 2; setup failure: exit 1.
 *
 * Cases (the VMM's expected answer in brackets; vmm/virtio_pci.c, virtq.c, virtio_net.c):
 *   freeze          after DRIVER_OK, write queue size 1024, addresses 0, enable 0; read back
 *                   [refused: size 256, addresses unchanged, status 0xf]
 *   layout-outside  RX descriptor table outside RAM            [NEEDS_RESET at DRIVER_OK]
 *   size-odd        RX queue size 100                           [NEEDS_RESET at DRIVER_OK]
 *   misaligned      TX used ring at an odd address              [NEEDS_RESET at DRIVER_OK]
 *   features        a feature that was not offered (INDIRECT_DESC)  [FEATURES_OK refused,
 *                   NEEDS_RESET]
 *   no-version1     features without VERSION_1                  [the same]
 *   status-order    DRIVER_OK right after ACKNOWLEDGE           [NEEDS_RESET]
 *   desc-loop       a TX chain whose descriptor points at itself  [NEEDS_RESET + config
 *                   interrupt]
 *   next-oob        a TX descriptor with next = 300 (queue size 256)  [the same]
 *   head-oob        an avail ring entry of 999                  [the same]
 *   avail-jump      the avail index 1000 ahead                  [the same]
 *   indirect        an indirect TX descriptor (not offered)     [the same]
 *   buf-outside     a TX buffer outside RAM                     [the same]
 *   len-huge        a TX buffer of 4 GiB - 1 bytes              [the same]
 *   tx-big          a 9000-byte TX frame with MTU 1500          [dropped, counted]
 *   tx-gso          a TX header asking for TSO                  [dropped, counted]
 *   rx-small        16-byte RX buffers, then an ARP request to the host  [the reply is
 *                   dropped and counted: nothing delivered]
 *   notify-storm    10000 notifications with nothing queued     [nothing happens]
 *   bad-access      wrong widths and read-only registers        [ignored, counted]
 *   reset-busy      64 TX frames queued, then an immediate reset   [the I/O thread stops
 *                   cleanly, the device re-initialises]
 *   bar-move        move BAR0 to 0xfd000000 and use it there    [MMIO outside RAM: the VM
 *                   ends with status 76] */
#include "netdev.h"

#define D (&echo_dev)

static uint8_t big[9216] __attribute__((aligned(16)));

/* Polls the status until `bits` show up (or 2 s pass); returns the status. */
static uint8_t wait_status(uint8_t bits)
{
	uint64_t t = nd_ms();
	uint8_t s;

	while (((s = nd_status(D)) & bits) != bits && nd_ms() - t < 2000) {
		rt_pause();
	}
	return s;
}

/* Initialises up to (not including) DRIVER_OK, with every queue set up normally. */
static void init_until_driver_ok(void)
{
	nd_reset(D);
	nd_status_or(D, VS_ACK);
	nd_status_or(D, VS_DRIVER);
	D->features = nd_device_features(D) & ND_DRIVER_FEATURES;
	nd_write_features(D, D->features);
	nd_status_or(D, VS_FEATURES_OK);
	nd_queue_setup(D, 0);
	nd_queue_setup(D, 1);
	nd_rx_fill(D);
	nd_tx_prepare(D);
}

static void report(const char *c)
{
	rt_printf("net-hostile: %s: status 0x%x, configuration interrupt %s\n", c, nd_status(D),
		  D->isr_seen & 2 ? "yes" : "no");
}

/* Queue qi's register `reg` written with v (after selecting it). */
static void qreg64(unsigned qi, unsigned reg, uint64_t v)
{
	mw16(D->common + CC_QSEL, (uint16_t)qi);
	mw64(D->common + reg, v);
}

static void freeze(void)
{
	uint64_t desc;
	uint16_t size;

	nd_init(D, ND_DRIVER_FEATURES);
	mw16(D->common + CC_QSEL, 1);
	desc = mr64(D->common + CC_QDESC);
	mw16(D->common + CC_QSIZE, 1024);
	mw64(D->common + CC_QDESC, 0);
	mw64(D->common + CC_QDEVICE, 0);
	mw16(D->common + CC_QENABLE, 0);
	size = mr16(D->common + CC_QSIZE);
	rt_printf("net-hostile: freeze: size %u desc %s enable %u status 0x%x\n", size,
		  mr64(D->common + CC_QDESC) == desc ? "unchanged" : "CHANGED",
		  mr16(D->common + CC_QENABLE), nd_status(D));
}

/* Layout cases: one register spoilt before DRIVER_OK. */
static void bad_layout(const char *c)
{
	init_until_driver_ok();
	if (rt_streq(c, "layout-outside")) {
		qreg64(0, CC_QDESC, rt_boot_info->phys_addr_end + 0x10000);
	} else if (rt_streq(c, "size-odd")) {
		mw16(D->common + CC_QSEL, 0);
		mw16(D->common + CC_QSIZE, 100);
	} else {
		qreg64(1, CC_QDEVICE, rt_gpa(D->q[1].used) + 2);
	}
	nd_status_or(D, VS_DRIVER_OK);
	report(c);
}

static void bad_negotiation(const char *c)
{
	nd_reset(D);
	nd_status_or(D, VS_ACK);
	if (rt_streq(c, "status-order")) {
		mw8(D->common + CC_STATUS, VS_ACK | VS_DRIVER_OK);
	} else {
		uint64_t f = nd_device_features(D);
		nd_status_or(D, VS_DRIVER);
		nd_write_features(D, rt_streq(c, "features") ? f | VF_INDIRECT : f & ~VF_VERSION_1);
		nd_status_or(D, VS_FEATURES_OK);
	}
	report(c);
}

/* Queue cases: a normal device, then one broken TX chain or avail ring. */
static void bad_queue(const char *c)
{
	struct ndq *q = &D->q[1];
	volatile struct vdesc *d0;
	uint16_t entry = 0, idx;

	nd_init(D, ND_DRIVER_FEATURES); /* sets q up */
	d0 = &q->desc[0];
	idx = (uint16_t)(q->avail_idx + 1);
	*d0 = (struct vdesc){rt_gpa(big), 64, 0, 0};
	if (rt_streq(c, "desc-loop")) {
		*d0 = (struct vdesc){rt_gpa(big), 64, VD_NEXT, 0};
	} else if (rt_streq(c, "next-oob")) {
		*d0 = (struct vdesc){rt_gpa(big), 64, VD_NEXT, 300};
	} else if (rt_streq(c, "head-oob")) {
		entry = 999;
	} else if (rt_streq(c, "avail-jump")) {
		idx = (uint16_t)(q->avail_idx + 1000);
	} else if (rt_streq(c, "indirect")) {
		d0->flags = VD_INDIRECT;
	} else if (rt_streq(c, "buf-outside")) {
		d0->addr = rt_boot_info->phys_addr_end + 0x1000;
	} else {
		d0->len = 0xffffffffu; /* len-huge */
	}
	q->avail[2 + q->avail_idx % q->size] = entry;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->avail[1] = idx;
	mw16(q->notify, 1);
	wait_status(VS_NEEDS_RESET);
	for (uint64_t t = nd_ms(); !(D->isr_seen & 2) && nd_ms() - t < 2000;) {
		nd_wait(D); /* the configuration interrupt */
	}
	report(c);
}

/* Frames the device must drop (and count) while it keeps working. */
static void bad_frame(const char *c)
{
	static const uint8_t tso[ND_HDR] = {0, 1, 0, 0, 0xe8, 0x03}; /* TCPV4, gso_size 1000 */
	uint16_t slot;

	nd_init(D, ND_DRIVER_FEATURES);
	memset(big, 0xab, sizeof big);
	if (rt_streq(c, "tx-big")) {
		nd_tx_send_ro(D, big, sizeof big);
	} else {
		memset(nd_tx_buf(D, &slot), 0, 64);
		nd_tx_send_raw(D, slot, 64, tso);
	}
	for (uint64_t t = nd_ms(); nd_ms() - t < 300;) {
		nd_tx_reclaim(D);
	}
	report(c);
}

/* An ARP request for 10.0.5.1 from 10.0.5.3: the host answers. */
static void arp_request(void)
{
	static const uint8_t ip[8] = {10, 0, 5, 3, 10, 0, 5, 1};
	uint16_t slot;
	uint8_t *f = nd_tx_buf(D, &slot);

	memset(f, 0xff, 6);
	memcpy(f + 6, D->mac, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	memcpy(f + 14, "\0\1\10\0\6\4\0\1", 8);
	memcpy(f + 22, D->mac, 6);
	memcpy(f + 28, ip, 4);
	memset(f + 32, 0, 6);
	memcpy(f + 38, ip + 4, 4);
	nd_tx_send(D, slot, 42, 0, 0);
}

static void rx_small(void)
{
	uint16_t used;

	init_until_driver_ok();
	for (unsigned i = 0; i < D->q[0].size / 2; i++) {
		D->q[0].desc[2 * i + 1].len = 4; /* 12 + 4 bytes: no frame fits */
	}
	nd_status_or(D, VS_DRIVER_OK);
	arp_request();
	for (uint64_t t = nd_ms(); nd_ms() - t < 1000;) {
		nd_tx_reclaim(D);
	}
	used = *(const volatile uint16_t *)(D->q[0].used + 2);
	rt_printf("net-hostile: rx-small: %u frames delivered, status 0x%x\n", used, nd_status(D));
}

static void bad_access(void)
{
	nd_init(D, ND_DRIVER_FEATURES);
	(void)mr64(D->isr); /* ISR: bytes only */
	mw8(D->isr, 0xff); /* read-only */
	mw8(D->common + CC_QDESC, 0x42); /* a queue address byte */
	(void)mr16(D->common + CC_DF); /* a 32-bit register read in halves */
	mw32(D->common + CC_NUMQ, 7); /* read-only */
	(void)mr32(D->notify); /* notify registers are write-only */
	mw8(D->devcfg, 0x12); /* device configuration is read-only */
	(void)mr32(D->bar + 0x800); /* a hole */
	report("bad-access");
}

static void reset_busy(void)
{
	nd_init(D, ND_DRIVER_FEATURES);
	memset(big, 0, 64);
	for (int i = 0; i < 64; i++) {
		nd_tx_send_ro(D, big, 64);
	}
	nd_reset(D);
	report("reset-busy");
}

static int bar_move(void)
{
	nd_init(D, ND_DRIVER_FEATURES);
	nd_pci_write(D->pcidev, 0x10, 0xfd00000c);
	nd_map_mmio(rt_boot_info, 0xfd000000);
	rt_printf("net-hostile: bar-move: status at the new address 0x%x\n",
		  mr8(0xfd000000 + (D->common - D->bar) + CC_STATUS));
	return 3; /* not reached: the VMM ends the VM */
}

static int run(const char *c)
{
	if (rt_streq(c, "freeze")) {
		freeze();
	} else if (rt_streq(c, "layout-outside") || rt_streq(c, "size-odd") ||
		   rt_streq(c, "misaligned")) {
		bad_layout(c);
	} else if (rt_streq(c, "features") || rt_streq(c, "no-version1") ||
		   rt_streq(c, "status-order")) {
		bad_negotiation(c);
	} else if (rt_streq(c, "desc-loop") || rt_streq(c, "next-oob") || rt_streq(c, "head-oob") ||
		   rt_streq(c, "avail-jump") || rt_streq(c, "indirect") ||
		   rt_streq(c, "buf-outside") || rt_streq(c, "len-huge")) {
		bad_queue(c);
	} else if (rt_streq(c, "tx-big") || rt_streq(c, "tx-gso")) {
		bad_frame(c);
	} else if (rt_streq(c, "rx-small")) {
		rx_small();
	} else if (rt_streq(c, "notify-storm")) {
		nd_init(D, ND_DRIVER_FEATURES);
		for (int i = 0; i < 10000; i++) {
			mw16(D->q[i & 1].notify, (uint16_t)(i & 1));
		}
		report(c);
	} else if (rt_streq(c, "bad-access")) {
		bad_access();
	} else if (rt_streq(c, "reset-busy")) {
		reset_busy();
	} else if (rt_streq(c, "bar-move")) {
		return bar_move();
	} else {
		rt_printf("unknown case\n");
		return 2;
	}
	return echo_start(); /* resets and re-initialises the device, then serves */
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	(void)cpu;
	if (rt_args_init() != 0 || rt_argc < 2) {
		rt_printf("unknown case\n");
		return 2;
	}
	if (echo_setup(bi) != 0) {
		return 1;
	}
	return run(rt_argv[1]);
}
