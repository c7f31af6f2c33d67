/* SPDX-License-Identifier: MIT */
/* bootinfo (v1) and bootinfo-v2 (v2): the boot info and the machine state at entry, one
 * "key=value" per line, then exit 0:
 *   platform=<u> num_cpus=<u> has_pci=<u> serial_port_base=0x<x> ram=0x<start>-0x<end>
 *   image=0x<start>-0x<end> tls=<filesz>,<memsz>,<align> fdt_magic=0x<x>
 *   pml4_recursive=<0|1> mapped_2m_pages=<n> cr0=0x<x> cr4=0x<x> efer=0x<x>
 * This guest has a 16-byte .tdata and a 32-byte .tbss (both 16-aligned), so the expected TLS
 * line is "tls=16,48,16".  It never touches them through %fs. */
#include "rt.h"

__attribute__((used, aligned(16))) __thread char bootinfo_tdata[16] = "tdata-initimage";
__attribute__((used, aligned(16))) __thread char bootinfo_tbss[32];

#define PTE_P	 0x1ull
#define PTE_AD	 0x60ull /* accessed/dirty: the CPU may set them */
#define PTE_PS	 0x80ull
#define PTE_ADDR 0x000ffffffffff000ull

static const volatile uint64_t *table(const struct uh_boot_info *bi, uint64_t e)
{
	uint64_t t = e & PTE_ADDR;

	if (t < bi->phys_addr_start || t >= bi->phys_addr_end || bi->phys_addr_end - t < 4096) {
		return NULL;
	}
	return (const volatile uint64_t *)(uintptr_t)t;
}

/* Present 2 MiB PDEs reachable from PML4 entries 0..510 (511 is the recursive slot). */
static uint64_t count_2m_pages(const struct uh_boot_info *bi, uint64_t cr3)
{
	const volatile uint64_t *pml4 = table(bi, cr3);
	uint64_t n = 0;

	if (pml4 == NULL) {
		return 0;
	}
	for (int i = 0; i < 511; i++) {
		const volatile uint64_t *pdpt;

		if ((pml4[i] & PTE_P) == 0 || (pdpt = table(bi, pml4[i])) == NULL) {
			continue;
		}
		for (int j = 0; j < 512; j++) {
			const volatile uint64_t *pd;

			if ((pdpt[j] & PTE_P) == 0 || (pdpt[j] & PTE_PS) != 0 ||
			    (pd = table(bi, pdpt[j])) == NULL) {
				continue;
			}
			for (int k = 0; k < 512; k++) {
				if ((pd[k] & (PTE_P | PTE_PS)) == (PTE_P | PTE_PS)) {
					n++;
				}
			}
		}
	}
	return n;
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	uint64_t cr3 = rt_read_cr3();
	const volatile uint64_t *pml4 = table(bi, cr3);
	uint32_t magic = 0;
	int recursive = 0;

	if (cpu != 0) {
		return 0;
	}
	if (bi->device_tree >= bi->phys_addr_start && bi->device_tree < bi->phys_addr_end &&
	    bi->phys_addr_end - bi->device_tree >= 4) {
		const volatile uint8_t *f = (const volatile uint8_t *)(uintptr_t)bi->device_tree;

		magic = ((uint32_t)f[0] << 24) | ((uint32_t)f[1] << 16) | ((uint32_t)f[2] << 8) |
			(uint32_t)f[3];
	}
	if (pml4 != NULL) {
		recursive = (pml4[511] & ~PTE_AD) == ((cr3 & PTE_ADDR) | 3);
	}
	rt_printf("platform=%u\n", bi->platform);
	rt_printf("num_cpus=%lu\n", (unsigned long)bi->num_cpus);
	rt_printf("has_pci=%u\n", (unsigned)bi->has_pci);
	rt_printf("serial_port_base=0x%x\n", (unsigned)bi->serial_port_base);
	rt_printf("ram=0x%lx-0x%lx\n", (unsigned long)bi->phys_addr_start,
		  (unsigned long)bi->phys_addr_end);
	rt_printf("image=0x%lx-0x%lx\n", (unsigned long)bi->kernel_image_start,
		  (unsigned long)bi->kernel_image_end);
	rt_printf("tls=%lu,%lu,%lu\n", (unsigned long)bi->tls_filesz, (unsigned long)bi->tls_memsz,
		  (unsigned long)bi->tls_align);
	rt_printf("fdt_magic=0x%x\n", magic);
	rt_printf("pml4_recursive=%d\n", recursive);
	rt_printf("mapped_2m_pages=%lu\n", (unsigned long)count_2m_pages(bi, cr3));
	rt_printf("cr0=0x%lx\n", (unsigned long)rt_read_cr0());
	rt_printf("cr4=0x%lx\n", (unsigned long)rt_read_cr4());
	rt_printf("efer=0x%lx\n", (unsigned long)rt_rdmsr(0xC0000080u));
	return 0;
}
