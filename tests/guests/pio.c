/* SPDX-License-Identifier: MIT */
/* pio (v1 and v2): port writes that KVM may batch instead of exiting (vmm/pio_ring.c), and
 * the legacy BIOS area that Hermit kernels scan for an MP table (vmm/kvm.c).  argv[1]:
 *
 * order and late first make 300 PCI-address writes, so that the VMM batches these ports.
 *
 *   order       three rounds of: "u<i>\n" one UART byte at a time, "w<i>\n" by FileWrite to
 *               fd 1, "b<i>\n" by one serial-buffer write.  With -v the console must show
 *               them in exactly that order (queued UART bytes come before the next exit).
 *   smp-order   every vCPU takes a spinlock, writes the next line number ("000\n" to "199\n")
 *               one UART byte at a time, lets the lock go and works a while: the console
 *               must show the 200 lines whole and in order, whichever vCPU wrote each (a
 *               vCPU's port writes are not held back past another's later ones).
 *   flood       40 lines of 100 bytes, one UART `out` per byte (many times the ring's
 *               capacity): every byte must arrive, in order.
 *   pci         2,000 rounds of: write the PCI address port, read it back, read the data
 *               port.  The read-back must equal the write (a queued write is seen before the
 *               read that follows it); prints "pci ok".
 *   late        prints "late line\n" by UART bytes, then spins with no exit at all: the line
 *               must still reach the console while the guest runs.
 *   bios        maps guest-physical 0-2 MiB if the boot tables do not, reads 0x9f000-0xa0000
 *               and 0xf0000-0x100000 with 4-byte loads (as Hermit's MP-table search does);
 *               prints "bios zero" if all read 0, "bios in RAM" if RAM covers them.
 *   bios-write  the same mapping, then a 4-byte store to 0xf0000: outside RAM that must end
 *               the run as a protocol violation (status 76); prints "survived" otherwise.
 *   pit         programs i8254 channel 0 (mode 2, count 0xffff), latches and reads the count
 *               back twice: an in-kernel PIT (--pit) answers and "pit ok" is printed; without
 *               a PIT the ports are unknown and the run ends with status 76.
 *   pit-popcnt  the same after a POPCNT, which KVM's emulator rejects on kvm_pvm: the
 *               instruction assist runs it, and in JIT mode the PIT's ports are then reached
 *               from bursts (they must still go to KVM's PIT).
 * Anything else prints "unknown mode" and exits 2. */
#include "rt.h"

#define PTE_P	 0x1ull
#define PTE_W	 0x2ull
#define PTE_PS	 0x80ull
#define PTE_ADDR 0x000ffffffffff000ull

static uint64_t low_pd[512] __attribute__((aligned(4096)));

static void serial_byte(uint8_t c)
{
#if RT_V2
	rt_v2_serial_byte(c);
#else
	rt_v1_serial_byte(c);
#endif
}

static void serial_buf(const char *s, size_t n)
{
#if RT_V2
	rt_v2_serial_buf(s, n);
#else
	rt_v1_serial_buf(s, n);
#endif
}

static void serial_str(const char *s)
{
	for (; *s != '\0'; s++) {
		serial_byte((uint8_t)*s);
	}
}

/* The VMM registers its batched ports only after 256 writes to them have exited
 * (vmm/pio_ring.c): make sure that has happened (PCI address writes print nothing). */
static void warm_ring(void)
{
	for (uint32_t i = 0; i < 300; i++) {
		outl(UH_PCI_CONFIG_ADDRESS, 0x80000000u | (i << 8));
	}
}

static int order(void)
{
	warm_ring();
	for (char i = '0'; i <= '2'; i++) {
		char u[] = {'u', i, '\n', '\0'}, w[] = {'w', i, '\n'}, b[] = {'b', i, '\n'};
		serial_str(u);
		rt_write(1, w, sizeof w);
		serial_buf(b, sizeof b);
	}
	return 0;
}

#define SO_LINES 200

static volatile uint32_t so_lock, so_next, so_arrived, so_done, mode_set, mode_smp;

static void smp_order(unsigned cpu, unsigned n)
{
	__atomic_fetch_add(&so_arrived, 1u, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&so_arrived, __ATOMIC_ACQUIRE) < n) {
		rt_pause();
	}
	for (;;) {
		uint32_t s;
		while (__atomic_exchange_n(&so_lock, 1u, __ATOMIC_ACQUIRE) != 0) {
			rt_pause();
		}
		s = so_next;
		if (s < SO_LINES) {
			so_next = s + 1;
			serial_byte((uint8_t)('0' + s / 100));
			serial_byte((uint8_t)('0' + s / 10 % 10));
			serial_byte((uint8_t)('0' + s % 10));
			serial_byte('\n');
		}
		__atomic_store_n(&so_lock, 0u, __ATOMIC_RELEASE);
		if (s >= SO_LINES) {
			break;
		}
		for (volatile uint32_t i = 0; i < 3000 * (cpu + 1); i++) {
		}
	}
	__atomic_fetch_add(&so_done, 1u, __ATOMIC_SEQ_CST);
	while (cpu == 0 && __atomic_load_n(&so_done, __ATOMIC_ACQUIRE) < n) {
		rt_pause();
	}
}

static int flood(void)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz0123456789";

	for (int line = 0; line < 40; line++) {
		serial_byte('f');
		serial_byte((uint8_t)('0' + line / 10));
		serial_byte((uint8_t)('0' + line % 10));
		serial_byte(' ');
		for (int i = 0; i < 95; i++) {
			serial_byte((uint8_t)alpha[(line + i) % 36]);
		}
		serial_byte('\n');
	}
	return 0;
}

static int pci(void)
{
	for (uint32_t i = 0; i < 2000; i++) {
		uint32_t a =
		    0x80000000u | ((i & 0xff) << 16) | ((i & 31) << 11) | ((i & 0x3f) << 2);
		uint32_t back, data;

		outl(UH_PCI_CONFIG_ADDRESS, a);
		back = inl(UH_PCI_CONFIG_ADDRESS);
		data = inl(UH_PCI_CONFIG_DATA);
		if (back != a || data != 0xffffffffu) {
			rt_printf("pci mismatch in round %u: wrote 0x%x, read 0x%x, data 0x%x\n",
				  (unsigned)i, (unsigned)a, (unsigned)back, (unsigned)data);
			return 1;
		}
	}
	rt_printf("pci ok\n");
	return 0;
}

static RT_NORETURN void late(void)
{
	warm_ring();
	serial_str("late line\n");
	for (;;) {
		rt_pause();
	}
}

/* Maps virtual 0-2 MiB onto guest-physical 0-2 MiB with one large page, unless mapped. */
static int map_low(const struct uh_boot_info *bi)
{
	uint64_t *pml4 = (uint64_t *)(uintptr_t)(rt_read_cr3() & PTE_ADDR), *pdpt, *pd;

	if (rt_is_mapped(bi, 0xf0000) && rt_is_mapped(bi, 0x9f000)) {
		return 0;
	}
	if (!(pml4[0] & PTE_P) || (pml4[0] & PTE_PS)) {
		return -1;
	}
	pdpt = (uint64_t *)(uintptr_t)(pml4[0] & PTE_ADDR);
	if (pdpt[0] & PTE_PS) {
		return -1;
	}
	if (!(pdpt[0] & PTE_P)) {
		pdpt[0] = rt_gpa(low_pd) | PTE_P | PTE_W;
	}
	pd = (uint64_t *)(uintptr_t)(pdpt[0] & PTE_ADDR);
	if (pd[0] & PTE_P) {
		return -1;
	}
	pd[0] = 0 | PTE_P | PTE_W | PTE_PS;
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
	return 0;
}

static int bios(const struct uh_boot_info *bi, int write)
{
	static const uint64_t ranges[2][2] = {{0x9f000, 0xa0000}, {0xf0000, 0x100000}};
	uint32_t any = 0;

	if (bi->phys_addr_start <= 0x9f000 && bi->phys_addr_end >= 0x100000) {
		rt_printf("bios in RAM\n");
		return 0;
	}
	if (map_low(bi) != 0) {
		rt_printf("cannot map the BIOS area\n");
		return 4;
	}
	if (write) {
		*(volatile uint32_t *)(uintptr_t)0xf0000 = 0x5f504d5fu;
		rt_printf("survived\n");
		return 3;
	}
	for (int r = 0; r < 2; r++) {
		for (uint64_t a = ranges[r][0]; a < ranges[r][1]; a += 4) {
			any |= *(const volatile uint32_t *)(uintptr_t)a;
		}
	}
	rt_printf(any == 0 ? "bios zero\n" : "bios not zero\n");
	return any == 0 ? 0 : 1;
}

static uint16_t pit_latch(void)
{
	uint16_t lo, hi;

	outb(0x43, 0x00); /* latch channel 0 */
	lo = inb(0x40);
	hi = inb(0x40);
	return (uint16_t)(lo | hi << 8);
}

static int pit(void)
{
	volatile uint16_t count;

	outb(0x43, 0x34); /* channel 0, lobyte/hibyte, mode 2 */
	outb(0x40, 0xff);
	outb(0x40, 0xff);
	count = pit_latch();
	count = pit_latch();
	(void)count;
	rt_printf("pit ok\n");
	return 0;
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	const char *mode;

	if (cpu != 0) {
		while (__atomic_load_n(&mode_set, __ATOMIC_ACQUIRE) == 0) {
			rt_pause();
		}
		if (mode_smp) {
			smp_order(cpu, (unsigned)bi->num_cpus);
		}
		return 0;
	}
	if (rt_args_init() != 0 || rt_argc < 2) {
		__atomic_store_n(&mode_set, 1u, __ATOMIC_RELEASE);
		rt_printf("unknown mode\n");
		return 2;
	}
	mode = rt_argv[1];
	mode_smp = rt_streq(mode, "smp-order");
	__atomic_store_n(&mode_set, 1u, __ATOMIC_RELEASE);
	if (mode_smp) {
		smp_order(cpu, (unsigned)bi->num_cpus);
		return 0;
	}
	if (rt_streq(mode, "order")) {
		return order();
	} else if (rt_streq(mode, "flood")) {
		return flood();
	} else if (rt_streq(mode, "pci")) {
		return pci();
	} else if (rt_streq(mode, "late")) {
		late();
	} else if (rt_streq(mode, "bios")) {
		return bios(bi, 0);
	} else if (rt_streq(mode, "bios-write")) {
		return bios(bi, 1);
	} else if (rt_streq(mode, "pit")) {
		return pit();
	} else if (rt_streq(mode, "pit-popcnt")) {
		uint64_t bits = 0xf0f0, n;
		__asm__ volatile("popcnt %1, %0" : "=r"(n) : "r"(bits));
		return n == 8 ? pit() : 3;
	}
	rt_printf("unknown mode\n");
	return 2;
}
