/* SPDX-License-Identifier: MIT */
/* netdev.c - the test guests' virtio-net driver, in Hermit's order (netdev.h). */
#include "netdev.h"

#define PCI_CMD_IO   0x1
#define PCI_CMD_MEM  0x2
#define PCI_CMD_BUS  0x4
#define IOAPIC	     0xfec00000ull
#define X2APIC_SIVR  0x80f
#define X2APIC_TPR   0x808
#define X2APIC_EOI   0x80b
#define MSR_APICBASE 0x1b

static struct nd *nd_irq_dev;

/* ---- rings and buffers (identity-mapped guest memory: address == GPA) ---- */
static struct {
	volatile struct vdesc desc[ND_QSIZE] __attribute__((aligned(4096)));
	volatile uint16_t avail[3 + ND_QSIZE] __attribute__((aligned(4096)));
	volatile uint8_t used[6 + 8 * ND_QSIZE] __attribute__((aligned(4096)));
} rings[2];
uint8_t nd_rx_hdr[ND_QSIZE / 2][ND_HDR] __attribute__((aligned(16)));
uint8_t nd_rx_data[ND_QSIZE / 2][ND_BUF] __attribute__((aligned(16)));
uint8_t nd_tx_hdr[ND_TX_SLOTS][ND_HDR] __attribute__((aligned(16)));
uint8_t nd_tx_data[ND_TX_SLOTS][ND_BUF] __attribute__((aligned(16)));

/* ---- PCI ---- */

uint32_t nd_pci_read(unsigned dev, unsigned reg)
{
	outl(UH_PCI_CONFIG_ADDRESS, 0x80000000u | (dev << 11) | (reg & 0xfc));
	return inl(UH_PCI_CONFIG_DATA);
}

void nd_pci_write(unsigned dev, unsigned reg, uint32_t v)
{
	outl(UH_PCI_CONFIG_ADDRESS, 0x80000000u | (dev << 11) | (reg & 0xfc));
	outl(UH_PCI_CONFIG_DATA, v);
}

static uint32_t pci_read_bus(unsigned bus, unsigned dev)
{
	outl(UH_PCI_CONFIG_ADDRESS, 0x80000000u | (bus << 16) | (dev << 11));
	return inl(UH_PCI_CONFIG_DATA);
}

/* BAR0/BAR1 as a 64-bit memory BAR, sized with decoding off (Hermit's get_bar). */
static int size_bar(struct nd *d)
{
	uint32_t cmd = nd_pci_read(d->pcidev, 4), lo, hi, mlo, mhi;

	nd_pci_write(d->pcidev, 4, cmd & ~(uint32_t)(PCI_CMD_IO | PCI_CMD_MEM));
	lo = nd_pci_read(d->pcidev, 0x10);
	hi = nd_pci_read(d->pcidev, 0x14);
	nd_pci_write(d->pcidev, 0x10, 0xffffffffu);
	nd_pci_write(d->pcidev, 0x14, 0xffffffffu);
	mlo = nd_pci_read(d->pcidev, 0x10);
	mhi = nd_pci_read(d->pcidev, 0x14);
	nd_pci_write(d->pcidev, 0x10, lo);
	nd_pci_write(d->pcidev, 0x14, hi);
	nd_pci_write(d->pcidev, 4, cmd);
	if ((lo & 0x7) != 0x4) {
		rt_printf("net: BAR0 is not a 64-bit memory BAR (0x%x)\n", (unsigned)lo);
		return -1;
	}
	d->bar = ((uint64_t)hi << 32) | (lo & ~0xfu);
	d->bar_size = ~((((uint64_t)mhi << 32) | (mlo & ~0xfu))) + 1;
	return 0;
}

/* The vendor-specific capabilities; each must lie inside BAR0 (Hermit's PciCap::new). */
static int read_caps(struct nd *d)
{
	unsigned at = nd_pci_read(d->pcidev, 0x34) & 0xfc, n = 0;

	while (at != 0 && n++ < 48) {
		uint32_t w0 = nd_pci_read(d->pcidev, at), off = nd_pci_read(d->pcidev, at + 8);
		uint32_t len = nd_pci_read(d->pcidev, at + 12), type = (w0 >> 24) & 0xff;
		uint32_t bar = nd_pci_read(d->pcidev, at + 4) & 0xff;
		if ((w0 & 0xff) == 0x09 && bar == 0 && (uint64_t)off + len <= d->bar_size) {
			if (type == 1) {
				d->common = d->bar + off;
			} else if (type == 2) {
				d->notify = d->bar + off;
				d->notify_mult = nd_pci_read(d->pcidev, at + 16);
			} else if (type == 3) {
				d->isr = d->bar + off;
			} else if (type == 4) {
				d->devcfg = d->bar + off;
				d->devcfg_len = len;
			}
		}
		at = (w0 >> 8) & 0xfc;
	}
	if (!d->common || !d->notify || !d->isr || !d->devcfg || d->devcfg_len < 24) {
		rt_printf("net: virtio capabilities missing or too small\n");
		return -1;
	}
	return 0;
}

int nd_probe(const struct uh_boot_info *bi, struct nd *d)
{
	int found = -1;

	for (unsigned bus = 0; bus < 32; bus++) {
		for (unsigned dev = 0; dev < 32; dev++) {
			uint32_t id = pci_read_bus(bus, dev);
			if ((id & 0xffff) == 0xffff || (id >> 16) == 0xffff) {
				continue;
			}
			d->ndevices++;
			if (bus == 0 && found < 0 && (id & 0xffff) == 0x1af4 &&
			    (id >> 16) >= 0x1040 && (id >> 16) <= 0x107f) {
				found = (int)dev;
				d->device_id = (uint16_t)(id >> 16);
			}
		}
	}
	if (found < 0) {
		rt_printf("net: no virtio device on the PCI bus\n");
		return -1;
	}
	d->pcidev = (unsigned)found;
	if (!(nd_pci_read(d->pcidev, 4) & (0x10u << 16))) {
		rt_printf("net: no capability list\n");
		return -1;
	}
	nd_pci_write(d->pcidev, 4, nd_pci_read(d->pcidev, 4) | PCI_CMD_BUS);
	if (size_bar(d) != 0 || nd_map_mmio(bi, d->bar) != 0 || read_caps(d) != 0) {
		return -1;
	}
	d->line = nd_pci_read(d->pcidev, 0x3c) & 0xff;
	return 0;
}

/* ---- paging: a 2 MiB identity mapping for an MMIO window ---- */

static uint64_t pd_page[512] __attribute__((aligned(4096)));

int nd_map_mmio(const struct uh_boot_info *bi, uint64_t pa)
{
	volatile uint64_t *pml4 = (volatile uint64_t *)(uintptr_t)(rt_read_cr3() & ~0xfffull);
	volatile uint64_t *pdpt, *pd;
	uint64_t e;

	(void)bi;
	if (pa >= (1ull << 39) || (pml4[0] & 1) == 0) {
		rt_printf("net: cannot map 0x%lx\n", (unsigned long)pa);
		return -1;
	}
	pdpt = (volatile uint64_t *)(uintptr_t)(pml4[0] & 0x000ffffffffff000ull);
	e = pdpt[(pa >> 30) & 511];
	if ((e & 1) && (e & 0x80)) {
		return 0; /* a 1 GiB page covers it already */
	}
	if (!(e & 1)) {
		pdpt[(pa >> 30) & 511] = (uint64_t)(uintptr_t)pd_page | 0x3;
		e = pdpt[(pa >> 30) & 511];
	}
	pd = (volatile uint64_t *)(uintptr_t)(e & 0x000ffffffffff000ull);
	pd[(pa >> 21) & 511] = (pa & ~0x1fffffull) | 0x9b; /* P RW PWT PCD PS */
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
	return 0;
}

/* ---- interrupts: IDT, x2APIC, I/O APIC ---- */

struct idt_entry {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, zero;
};
static struct idt_entry idt[256] __attribute__((aligned(16)));
struct interrupt_frame {
	uint64_t ip, cs, flags, sp, ss;
};

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

__attribute__((interrupt)) static void nic_irq(struct interrupt_frame *f)
{
	struct nd *d = nd_irq_dev;

	(void)f;
	if (d != NULL) {
		d->isr_seen |= mr8(d->isr); /* reading the ISR deasserts the line */
		d->irqs++;
	}
	wrmsr(X2APIC_EOI, 0);
}

__attribute__((interrupt)) static void other_irq(struct interrupt_frame *f)
{
	(void)f;
	wrmsr(X2APIC_EOI, 0);
}

__attribute__((interrupt)) static void fault(struct interrupt_frame *f, uint64_t err)
{
	rt_printf("net: unexpected exception (error code 0x%lx) at image+0x%lx, CR2 0x%lx\n",
		  (unsigned long)err, (unsigned long)(f->ip - rt_boot_info->kernel_image_start),
		  (unsigned long)rt_read_cr2());
	rt_exit(90);
}

static void set_gate(unsigned v, void *h)
{
	uint64_t a = (uint64_t)(uintptr_t)h;

	idt[v] = (struct idt_entry){.off0 = (uint16_t)a,
				    .sel = 0x08,
				    .type = 0x8e,
				    .off1 = (uint16_t)(a >> 16),
				    .off2 = (uint32_t)(a >> 32)};
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	mw32(IOAPIC, reg);
	mw32(IOAPIC + 0x10, v);
}

static uint32_t ioapic_read(uint32_t reg)
{
	mw32(IOAPIC, reg);
	return mr32(IOAPIC + 0x10);
}

int nd_platform(const struct uh_boot_info *bi, struct nd *d)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr = {sizeof idt - 1, (uint64_t)(uintptr_t)idt};
	unsigned n;

	for (unsigned v = 0; v < 32; v++) {
		set_gate(v, (v == 8 || (v >= 10 && v <= 14) || v == 17) ? (void *)fault
									: (void *)other_irq);
	}
	for (unsigned v = 32; v < 256; v++) {
		set_gate(v, (void *)other_irq);
	}
	set_gate(ND_VECTOR(d->line), (void *)nic_irq);
	__asm__ volatile("lidt %0" : : "m"(idtr));
	nd_irq_dev = d;
	wrmsr(MSR_APICBASE, rt_rdmsr(MSR_APICBASE) | (1u << 10) | (1u << 11));
	wrmsr(X2APIC_SIVR, 0x1ff);
	wrmsr(X2APIC_TPR, 0);
	if (nd_map_mmio(bi, IOAPIC) != 0) {
		return -1;
	}
	n = ((ioapic_read(1) >> 16) & 0xff) + 1; /* Hermit's init_ioapic */
	for (unsigned i = 0; i < n && i < 24; i++) {
		ioapic_write(0x10 + 2 * i, (0x20 + i) | ((i == 0 || i == 2) ? (1u << 16) : 0));
		ioapic_write(0x11 + 2 * i, 0);
	}
	/* ioapic_set_pci_interrupt: level-triggered, active low */
	ioapic_write(0x10 + 2 * d->line, ND_VECTOR(d->line) | (1u << 13) | (1u << 15));
	ioapic_write(0x11 + 2 * d->line, 0);
	return 0;
}

/* ---- device initialisation ---- */

void nd_reset(struct nd *d)
{
	mw8(d->common + CC_STATUS, 0);
}

uint8_t nd_status(const struct nd *d)
{
	return mr8(d->common + CC_STATUS);
}

void nd_status_or(struct nd *d, uint8_t bits)
{
	mw8(d->common + CC_STATUS, (uint8_t)(mr8(d->common + CC_STATUS) | bits));
}

uint64_t nd_device_features(struct nd *d)
{
	uint64_t f = 0;

	for (uint32_t i = 0; i < 4; i++) {
		mw32(d->common + CC_DFSEL, i);
		uint32_t w = mr32(d->common + CC_DF);
		if (i < 2) {
			f |= (uint64_t)w << (32 * i);
		}
	}
	return f;
}

void nd_write_features(struct nd *d, uint64_t f)
{
	for (uint32_t i = 0; i < 4; i++) {
		mw32(d->common + CC_GFSEL, i);
		mw32(d->common + CC_GF, i < 2 ? (uint32_t)(f >> (32 * i)) : 0);
	}
}

int nd_queue_setup(struct nd *d, unsigned qi)
{
	struct ndq *q = &d->q[qi];
	uint16_t size;

	mw16(d->common + CC_QSEL, (uint16_t)qi);
	size = mr16(d->common + CC_QSIZE);
	if (size == 0) {
		rt_printf("net: queue %u does not exist\n", qi);
		return -1;
	}
	if (size >= ND_QSIZE) {
		mw16(d->common + CC_QSIZE, ND_QSIZE);
		size = ND_QSIZE;
	}
	*q = (struct ndq){.index = (uint16_t)qi,
			  .size = size,
			  .desc = rings[qi].desc,
			  .avail = rings[qi].avail,
			  .used = rings[qi].used};
	memset((void *)&rings[qi], 0, sizeof rings[qi]);
	mw64(d->common + CC_QDESC, rt_gpa(q->desc));
	mw64(d->common + CC_QDRIVER, rt_gpa(q->avail));
	mw64(d->common + CC_QDEVICE, rt_gpa(q->used));
	q->notify = d->notify + (uint64_t)mr16(d->common + CC_QNOFF) * d->notify_mult;
	mw16(d->common + CC_QENABLE, 1);
	return 0;
}

void nd_rx_fill(struct nd *d)
{
	struct ndq *q = &d->q[0];

	for (uint16_t i = 0; i < q->size / 2; i++) {
		q->desc[2 * i] = (struct vdesc){rt_gpa(nd_rx_hdr[i]), ND_HDR, VD_WRITE | VD_NEXT,
						(uint16_t)(2 * i + 1)};
		q->desc[2 * i + 1] = (struct vdesc){rt_gpa(nd_rx_data[i]), ND_BUF, VD_WRITE, 0};
		q->avail[2 + (q->avail_idx++ % q->size)] = (uint16_t)(2 * i);
	}
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->avail[1] = q->avail_idx;
}

void nd_tx_prepare(struct nd *d)
{
	struct ndq *q = &d->q[1];

	q->avail[0] = 1; /* VIRTQ_AVAIL_F_NO_INTERRUPT: like Hermit, no TX interrupts */
	d->tx_nfree = 0;
	for (uint16_t i = 0; i < q->size / 2 && i < ND_TX_SLOTS; i++) {
		q->desc[2 * i] =
		    (struct vdesc){rt_gpa(nd_tx_hdr[i]), ND_HDR, VD_NEXT, (uint16_t)(2 * i + 1)};
		q->desc[2 * i + 1] = (struct vdesc){rt_gpa(nd_tx_data[i]), 0, 0, 0};
		d->tx_free[d->tx_nfree++] = i;
		d->tx_rx_head[i] = ND_NONE;
	}
}

static void read_config(struct nd *d)
{
	for (unsigned i = 0; i < 6; i++) {
		d->mac[i] = mr8(d->devcfg + i);
	}
	d->link = (d->features & VF_STATUS) ? mr16(d->devcfg + 6) : 1;
	d->mtu = (d->features & VF_MTU) ? mr16(d->devcfg + 10) : 1500;
}

int nd_init(struct nd *d, uint64_t want)
{
	nd_reset(d);
	nd_status_or(d, VS_ACK);
	nd_status_or(d, VS_DRIVER);
	d->features = nd_device_features(d) & want;
	if ((d->features & (VF_VERSION_1 | VF_MAC)) != (VF_VERSION_1 | VF_MAC)) {
		rt_printf("net: the device lacks VERSION_1 or MAC\n");
		return -1;
	}
	nd_write_features(d, d->features);
	nd_status_or(d, VS_FEATURES_OK);
	if (!(nd_status(d) & VS_FEATURES_OK)) {
		rt_printf("net: FEATURES_OK did not stick\n");
		return -1;
	}
	read_config(d);
	if (nd_queue_setup(d, 0) != 0 || nd_queue_setup(d, 1) != 0) {
		return -1;
	}
	nd_rx_fill(d);
	nd_tx_prepare(d);
	nd_status_or(d, VS_DRIVER_OK);
	if (nd_status(d) != (VS_ACK | VS_DRIVER | VS_FEATURES_OK | VS_DRIVER_OK)) {
		rt_printf("net: device status 0x%x after DRIVER_OK\n", nd_status(d));
		return -1;
	}
	return 0;
}

/* ---- data path ---- */

void nd_notify(struct nd *d, unsigned qi)
{
	struct ndq *q = &d->q[qi];
	uint16_t flags;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	flags = *(const volatile uint16_t *)q->used;
	if (!(flags & 1)) { /* VIRTQ_USED_F_NO_NOTIFY */
		mw16(q->notify, q->index);
	}
}

static uint16_t used_idx(const struct ndq *q)
{
	return *(const volatile uint16_t *)(q->used + 2);
}

bool nd_rx_pending(const struct nd *d)
{
	return used_idx(&d->q[0]) != d->q[0].last_used;
}

uint8_t *nd_rx_next(struct nd *d, uint32_t *len, uint16_t *head)
{
	struct ndq *q = &d->q[0];
	const volatile uint8_t *e;
	uint32_t id, l;

	if (used_idx(q) == q->last_used) {
		return NULL;
	}
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	e = q->used + 4 + 8 * (q->last_used % q->size);
	id = *(const volatile uint32_t *)e;
	l = *(const volatile uint32_t *)(e + 4);
	q->last_used++;
	if (id >= q->size || (id & 1) || l < ND_HDR || l > ND_HDR + ND_BUF) {
		rt_printf("net: bad RX used entry %u len %u\n", (unsigned)id, (unsigned)l);
		rt_exit(91);
	}
	*head = (uint16_t)id;
	*len = l - ND_HDR;
	return nd_rx_data[id / 2];
}

void nd_rx_done(struct nd *d, uint16_t head)
{
	struct ndq *q = &d->q[0];

	q->avail[2 + (q->avail_idx++ % q->size)] = head;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->avail[1] = q->avail_idx;
}

void nd_tx_reclaim(struct nd *d)
{
	struct ndq *q = &d->q[1];

	while (used_idx(q) != q->last_used) {
		const volatile uint8_t *e = q->used + 4 + 8 * (q->last_used % q->size);
		uint32_t id = *(const volatile uint32_t *)e;
		q->last_used++;
		if (id < q->size && !(id & 1) && d->tx_nfree < ND_TX_SLOTS) {
			uint16_t slot = (uint16_t)(id / 2);
			if (d->tx_rx_head[slot] != ND_NONE) {
				nd_rx_done(d, d->tx_rx_head[slot]);
				d->tx_rx_head[slot] = ND_NONE;
				d->rx_returned = true;
			}
			d->tx_free[d->tx_nfree++] = slot;
		}
	}
}

uint8_t *nd_tx_buf(struct nd *d, uint16_t *slot)
{
	if (d->tx_nfree == 0) {
		nd_tx_reclaim(d);
	}
	if (d->tx_nfree == 0) {
		return NULL;
	}
	*slot = d->tx_free[--d->tx_nfree];
	return nd_tx_data[*slot];
}

static void tx_push(struct nd *d, uint16_t slot, uint64_t addr, uint32_t len)
{
	struct ndq *q = &d->q[1];

	q->desc[2 * slot + 1].addr = addr;
	q->desc[2 * slot + 1].len = len;
	q->avail[2 + (q->avail_idx++ % q->size)] = (uint16_t)(2 * slot);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	q->avail[1] = q->avail_idx;
	nd_notify(d, 1);
}

void nd_tx_send_rx(struct nd *d, uint16_t head, uint32_t len)
{
	uint16_t slot;
	uint8_t *h;

	while (nd_tx_buf(d, &slot) == NULL) {
		rt_pause();
	}
	h = nd_tx_hdr[slot];
	__builtin_memcpy(h, nd_rx_hdr[head / 2], ND_HDR);
	h[0] &= 1; /* only NEEDS_CSUM goes back (DATA_VALID is RX-only) */
	h[1] = 0;
	d->tx_rx_head[slot] = head;
	tx_push(d, slot, rt_gpa(nd_rx_data[head / 2]), len);
}

void nd_tx_send_ro(struct nd *d, const uint8_t *frame, uint32_t len)
{
	uint16_t slot;

	while (nd_tx_buf(d, &slot) == NULL) {
		rt_pause();
	}
	__builtin_memset(nd_tx_hdr[slot], 0, ND_HDR);
	tx_push(d, slot, rt_gpa(frame), len);
}

void nd_tx_send_raw(struct nd *d, uint16_t slot, uint32_t len, const uint8_t *hdr)
{
	__builtin_memcpy(nd_tx_hdr[slot], hdr, ND_HDR);
	tx_push(d, slot, rt_gpa(nd_tx_data[slot]), len);
}

void nd_tx_send(struct nd *d, uint16_t slot, uint32_t len, uint16_t csum_start,
		uint16_t csum_offset)
{
	uint8_t *h = nd_tx_hdr[slot];

	memset(h, 0, ND_HDR);
	if (csum_start != 0) {
		h[0] = 1; /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
		h[6] = (uint8_t)csum_start;
		h[7] = (uint8_t)(csum_start >> 8);
		h[8] = (uint8_t)csum_offset;
		h[9] = (uint8_t)(csum_offset >> 8);
	}
	tx_push(d, slot, rt_gpa(nd_tx_data[slot]), len);
}

void nd_wait(struct nd *d)
{
	unsigned irqs = d->irqs;

	__asm__ volatile("cli" ::: "memory");
	if (d->irqs == irqs && !nd_rx_pending(d)) {
		__asm__ volatile("sti; hlt" ::: "memory");
	} else {
		__asm__ volatile("sti" ::: "memory");
	}
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

uint64_t nd_ms(void)
{
	uint64_t khz = rt_boot_info->cpu_freq_khz ? rt_boot_info->cpu_freq_khz : 2000000;

	return rdtsc() / khz;
}
