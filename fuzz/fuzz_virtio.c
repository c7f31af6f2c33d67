/* SPDX-License-Identifier: MIT */
/* fuzz_virtio.c - the NIC's device model from hostile bytes: virtio-pci register accesses
 * (vmm/virtio_pci.c), queue layouts and descriptor chains (vmm/virtq.c), the virtio-net data
 * path (vmm/virtio_net.c) with frames from a fake TAP, the PCI configuration space (pci.c) and
 * the I/O APIC (ioapic.c), interleaved with guest-memory writes (the rings change under the
 * device, as another vCPU would change them).
 *
 * Input (little-endian; reads past the end yield zeros):
 *   u8  flags    bit 0: the TAP takes TUN_F_CSUM; bits 1-2: RAM start (0, 64 KiB, 4 GiB, or
 *                just below 2^64)
 *   u16 mtu      68 + mtu % 9000
 *   u16 nram     RAM bytes initialised from the input (the rest is zero); RAM is 64 KiB
 *   nram bytes
 *   then up to 256 operations, each a u8 kind:
 *     0-3   register access: u16 off (% BAR size), u8 len ({1,2,4,8}), u64 value (kind 0-1:
 *           write, 2-3: read)
 *     4     a round of the data path; the fake TAP then offers the frames queued by kind 5
 *     5     queue a TAP frame: u16 len (% 2048), then that many bytes
 *     6     guest memory write: u16 offset into RAM, u8 len (% 33), that many bytes
 *     7     ISR read
 *     8     PCI configuration access: u32 address, u8 byte, u8 size, u8 write, u32 value
 *     9     I/O APIC access: u16 off, u8 len, u8 write, u32 value
 *     10    a canned driver bring-up (status, features, both queues at offsets from a u16
 *           seed, DRIVER_OK) so the data path is reached often
 *
 * Oracles: RAM ends at a guard page (fuzz.h): any access beyond it faults; while the device is
 * active its queue layouts equal what was validated at DRIVER_OK (the freeze), that layout
 * passes vq_layout_check, and status has DRIVER_OK without NEEDS_RESET or FAILED; every frame
 * handed to the TAP is 26 to 12 + MTU + 18 bytes with a header that asks only for a checksum
 * inside the frame (never GSO); the used index never runs ahead of what was popped. */
#include <string.h>

#include "fuzz.h"
#include "ioapic.h"
#include "pci.h"
#include "virtio_net.h"

#define RAM_SIZE  (64u << 10)
#define BAR	  0xfe000000ull
#define MAX_OPS	  256
#define MAX_FRAME 2048

static struct garena arena;
static struct gmem mem;
static struct vnet *dev;
static struct vq_layout frozen[VPCI_MAX_QUEUES];
static uint8_t frames[8][MAX_FRAME];
static size_t flen[8];
static unsigned nframes, rpos;
static uint16_t mtu;
static struct ioapic apic;

static ssize_t be_read(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	if (rpos >= nframes) {
		return -1;
	}
	size_t k = flen[rpos] < len ? flen[rpos] : len;
	memcpy(buf, frames[rpos++], k);
	return (ssize_t)k;
}

static ssize_t be_write(void *ctx, const void *buf, size_t len)
{
	const uint8_t *h = buf;
	uint16_t start, off;

	(void)ctx;
	if (len < 12 + 14 || len > 12u + mtu + 18u) {
		FUZZ_BUG("TX frame of %zu bytes reached the TAP (MTU %u)", len, mtu);
	}
	memcpy(&start, h + 6, 2);
	memcpy(&off, h + 8, 2);
	if (h[1] != 0 || (h[0] & ~1u) != 0 || ((h[0] & 1) && (size_t)start + off + 2 > len - 12)) {
		FUZZ_BUG("TX header flags 0x%x gso %u csum %u+%u for a %zu-byte frame", h[0], h[1],
			 start, off, len - 12);
	}
	return (ssize_t)len;
}

static void on_activate(void *ctx, bool on)
{
	(void)ctx;
	if (on) {
		memcpy(frozen, dev->pci.ql, sizeof frozen);
	}
}

static void on_interrupt(void *ctx)
{
	(void)ctx;
}

static void on_notify(void *ctx, unsigned q)
{
	(void)ctx;
	if (q >= VPCI_MAX_QUEUES) {
		FUZZ_BUG("notify for queue %u", q);
	}
}

static const struct vpci_ops ops = {on_activate, on_interrupt, on_notify};

static uint64_t ram_start(unsigned sel)
{
	static const uint64_t s[4] = {0, 64u << 10, 1ull << 32,
				      (UINT64_MAX - (1u << 20)) & ~0xfffull};

	return s[sel & 3];
}

static void check_invariants(void)
{
	const struct vpci *d = &dev->pci;

	if (!d->active) {
		return;
	}
	if ((d->status & (VIRTIO_S_DRIVER_OK | VIRTIO_S_NEEDS_RESET | VIRTIO_S_FAILED)) !=
	    VIRTIO_S_DRIVER_OK) {
		FUZZ_BUG("active with status 0x%x", d->status);
	}
	for (unsigned q = 0; q < d->nqueues; q++) {
		if (!d->qenable[q]) {
			continue;
		}
		if (memcmp(&d->vq[q].l, &frozen[q], sizeof frozen[q]) != 0 ||
		    memcmp(&d->ql[q], &frozen[q], sizeof frozen[q]) != 0) {
			FUZZ_BUG("queue %u layout changed after DRIVER_OK", q);
		}
		if (vq_layout_check(&mem, &d->vq[q].l) != VQ_OK) {
			FUZZ_BUG("queue %u runs on an invalid layout", q);
		}
		if ((uint16_t)(d->vq[q].used_idx - d->vq[q].published) > d->vq[q].l.size ||
		    (uint16_t)(d->vq[q].last_avail - d->vq[q].used_idx) > d->vq[q].l.size) {
			FUZZ_BUG("queue %u indices: avail %u used %u published %u", q,
				 d->vq[q].last_avail, d->vq[q].used_idx, d->vq[q].published);
		}
	}
}

static void reg(struct fin *in, bool write)
{
	static const unsigned lens[4] = {1, 2, 4, 8};
	uint16_t off = fin_u16(in) % VPCI_BAR_SIZE;
	unsigned len = lens[fin_u8(in) & 3];
	uint64_t v = fin_u64(in);
	uint8_t data[8];

	memcpy(data, &v, 8);
	vpci_bar_access(&dev->pci, off, write, len, data);
}

static void wreg(uint64_t off, unsigned len, uint64_t v)
{
	uint8_t data[8];

	memcpy(data, &v, 8);
	vpci_bar_access(&dev->pci, off, true, len, data);
}

/* A driver's bring-up with both queues at RAM offsets derived from seed. */
static void bring_up(uint16_t seed)
{
	uint64_t base = mem.start + (seed % 8) * 0x1000u, size = 16u << (seed >> 13 & 3);

	wreg(0x14, 1, 0);
	wreg(0x14, 1, 1);
	wreg(0x14, 1, 3);
	wreg(0x08, 4, 0);
	wreg(0x0c, 4, (uint32_t)dev->pci.offered);
	wreg(0x08, 4, 1);
	wreg(0x0c, 4, 1);
	wreg(0x14, 1, 0xb);
	for (unsigned q = 0; q < 2; q++) {
		uint64_t at = base + q * 0x4000u;
		wreg(0x16, 2, q);
		wreg(0x18, 2, size);
		wreg(0x20, 8, at);
		wreg(0x28, 8, at + 0x1000);
		wreg(0x30, 8, at + 0x2000);
		wreg(0x1c, 2, 1);
	}
	wreg(0x14, 1, 0xf);
}

static void op(struct fin *in, uint8_t kind)
{
	uint8_t buf[40];

	switch (kind % 11) {
	case 0:
	case 1:
	case 2:
	case 3:
		reg(in, kind % 11 < 2);
		break;
	case 4:
		vnet_run(dev);
		nframes = rpos = 0;
		break;
	case 5:
		if (nframes < 8) {
			flen[nframes] = fin_u16(in) % MAX_FRAME;
			fin_bytes(in, frames[nframes], flen[nframes]);
			nframes++;
		}
		break;
	case 6: {
		uint16_t off = fin_u16(in);
		uint8_t n = fin_u8(in) % 33;
		fin_bytes(in, buf, n);
		if ((uint32_t)off + n <= RAM_SIZE) {
			memcpy(arena.base + off, buf, n);
		}
		break;
	}
	case 7:
		(void)vpci_isr_read(&dev->pci);
		break;
	case 8: {
		struct pci_bus b;
		uint32_t addr = fin_u32(in), v;
		uint8_t byte = fin_u8(in), size = fin_u8(in), w = fin_u8(in);
		v = fin_u32(in);
		pci_bus_init(&b);
		pci_bus_attach(&b, 0, &dev->pci.fn);
		pci_config_io(&b, addr, byte & 3, w & 1, 1u << (size % 3), (uint8_t *)&v);
		break;
	}
	case 9: {
		uint16_t off = fin_u16(in) % 0x1000;
		uint8_t len = fin_u8(in) % 8 + 1, w = fin_u8(in);
		uint32_t v = fin_u32(in);
		uint8_t d[8] = {0};
		struct ioapic_msi m;
		memcpy(d, &v, 4);
		ioapic_mmio(&apic, off, w & 1, len, d);
		for (unsigned p = 0; p < IOAPIC_PINS; p++) {
			if (ioapic_msi(apic.rte[p], &m) &&
			    ((m.data & 0xff) < 16 || (m.data >> 8 & 7) > 1 || (m.data & 0x8000))) {
				FUZZ_BUG("pin %u delivers MSI data 0x%x", p, m.data);
			}
		}
		break;
	}
	default:
		bring_up(fin_u16(in));
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fin in = {data, size};
	static const uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
	struct vnet_backend be = {be_read, be_write, NULL};
	uint8_t flags = fin_u8(&in);
	uint16_t nram;

	if (arena.map == NULL) {
		garena_init(&arena, RAM_SIZE);
		dev = calloc(1, sizeof *dev);
		if (dev == NULL) {
			FUZZ_SETUP_FAIL("calloc");
		}
	}
	mtu = (uint16_t)(68 + fin_u16(&in) % 9000);
	memset(garena_place(&arena, RAM_SIZE), 0, RAM_SIZE);
	gmem_init_arena(&mem, arena.base, ram_start(flags >> 1), RAM_SIZE);
	nram = fin_u16(&in);
	fin_bytes(&in, arena.base, nram); /* < RAM_SIZE */
	vnet_init(dev, mac, mtu, flags & 1, &mem, BAR, 11, &be);
	dev->pci.ops = &ops;
	dev->pci.ctx = NULL;
	nframes = rpos = 0;
	memset(frozen, 0, sizeof frozen);
	ioapic_init(&apic);
	for (int i = 0; i < MAX_OPS && in.n > 0; i++) {
		op(&in, fin_u8(&in));
		check_invariants();
	}
	vnet_run(dev);
	check_invariants();
	garena_check(&arena, "the device model");
	return 0;
}
