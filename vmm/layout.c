/* SPDX-License-Identifier: MIT */
/* layout.c - where RAM and the kernel go, and the boot-time structures in guest memory:
 * GDT, identity-mapping page tables, boot info and device tree (hermit-abi.md a.2, b, c). */
#include <errno.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_internal.h"

#define MIB2 (2ull << 20)
#define GIB1 (1ull << 30)

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

int layout_choose(const struct elf_image *img, uint64_t mem_size, bool aslr, uint64_t rnd,
		  struct vm_layout *lay, char *err, size_t errlen)
{
	bool v1 = img->uhyve_if == 1;
	uint64_t lo = v1 ? 0 : UH_V2_MIN_ADDR, hi = v1 ? UH_V1_MAX_ADDR : UH_V2_MAX_ADDR;
	uint64_t need = img->span + mem_size + UH_KERNEL_OFFSET;

	memset(lay, 0, sizeof *lay);
	lay->iface = img->uhyve_if;
	lay->legacy_mapping = elf_wants_legacy_mapping(img);
	lay->mem_size = mem_size;
	if (UH_KERNEL_OFFSET + img->span > mem_size) {
		snprintf(err, errlen, "kernel image (0x%llx bytes) does not fit in %llu MiB of RAM",
			 (unsigned long long)img->span, (unsigned long long)(mem_size >> 20));
		return -1;
	}
	if (need > hi - lo) {
		snprintf(err, errlen,
			 "%llu MiB of RAM does not fit below %s for a uhyve interface v%u kernel",
			 (unsigned long long)(mem_size >> 20), v1 ? "3 GiB" : "64 GiB",
			 img->uhyve_if);
		return -1;
	}
	if (!img->is_pie) {
		lay->guest_address = lo;
		lay->load_addr = img->first_vaddr;
		if (img->first_vaddr < lo + UH_KERNEL_OFFSET ||
		    img->first_vaddr + img->span > lo + mem_size) {
			snprintf(
			    err, errlen,
			    "fixed-address kernel at 0x%llx-0x%llx lies outside RAM 0x%llx-0x%llx",
			    (unsigned long long)img->first_vaddr,
			    (unsigned long long)(img->first_vaddr + img->span),
			    (unsigned long long)(lo + UH_KERNEL_OFFSET),
			    (unsigned long long)(lo + mem_size));
			return -1;
		}
	} else {
		uint64_t upper = hi - need, slots = (upper - lo) / MIB2 + 1;
		lay->guest_address = aslr ? lo + (rnd % slots) * MIB2 : lo;
		lay->load_addr = lay->guest_address + UH_KERNEL_OFFSET;
	}
	lay->entry = img->entry - img->first_vaddr + lay->load_addr;
	lay->image_end = lay->load_addr + img->span;
	lay->fdt_addr = lay->guest_address + UH_FDT_OFFSET; /* moved by layout_fdt_room */
	lay->fdt_cap = UH_FDT_SIZE;
	return 0;
}

/* Bump allocator for page-table frames between the PML4 and the boot stack. */
struct pt_alloc {
	struct gmem *m;
	uint64_t next, limit;
};

static int pt_entry(struct pt_alloc *a, uint64_t table, unsigned idx, uint64_t *next_table)
{
	uint64_t pte;

	if (gmem_copy_from(a->m, &pte, gpa(table + idx * 8ull), 8) != 0) {
		return -EFAULT;
	}
	if (pte & 1) {
		*next_table = pte & 0x000ffffffffff000ull;
		return 0;
	}
	if (a->next + 0x1000 > a->limit) {
		return -ENOMEM;
	}
	*next_table = a->next;
	a->next += 0x1000;
	pte = *next_table | 0x3; /* PRESENT | WRITABLE */
	return gmem_copy_to(a->m, gpa(table + idx * 8ull), &pte, 8);
}

static int map_2m(struct pt_alloc *a, uint64_t pml4, uint64_t addr)
{
	uint64_t pdpt, pd, pde = addr | 0x83; /* PRESENT | WRITABLE | PS */
	int rc;

	if ((rc = pt_entry(a, pml4, (addr >> 39) & 0x1ff, &pdpt)) != 0 ||
	    (rc = pt_entry(a, pdpt, (addr >> 30) & 0x1ff, &pd)) != 0) {
		return rc;
	}
	return gmem_copy_to(a->m, gpa(pd + ((addr >> 21) & 0x1ff) * 8), &pde, 8);
}

int layout_write_tables(struct gmem *m, const struct vm_layout *lay)
{
	static const uint64_t gdt[3] = {0, 0x00AF9B000000FFFFull, 0x00CF93000000FFFFull};
	uint64_t base = lay->guest_address, pml4 = base + UH_PML4_OFFSET;
	uint64_t self = pml4 | 0x3,
		 last = lay->initrd_end > lay->image_end ? lay->initrd_end : lay->image_end;
	struct pt_alloc a = {m, base + UH_PAGETABLES_OFFSET, lay->load_addr - UH_KERNEL_STACK_SIZE};
	int rc;

	if (gmem_copy_to(m, gpa(base + UH_GDT_OFFSET), gdt, sizeof gdt) != 0 ||
	    gmem_copy_to(m, gpa(pml4 + 511 * 8), &self, 8) != 0) {
		return -EFAULT;
	}
	if (lay->legacy_mapping) {
		/* Up to page 511 of the 1 GiB region holding the kernel (b.3): Hermit 0.6's
		 * init_page_tables unmaps from its end, rounded up to 2 MiB, to page 511 of *that*
		 * page's region, and panics (PageNotMapped) at a page it finds unmapped.  Where
		 * ASLR put the kernel's end within 2 MiB below a GiB boundary, that is the next
		 * region (hello_world: 1 run in 200). */
		uint64_t end2m = align_down(lay->image_end + MIB2 - 1, MIB2);
		uint64_t region_last = align_down(end2m, GIB1) + GIB1 - MIB2;
		last = region_last > last ? region_last : last;
	}
	if (lay->fdt_addr != base + UH_FDT_OFFSET && lay->fdt_addr < a.limit) {
		a.limit = lay->fdt_addr; /* a big device tree lies above the page tables */
	}
	for (uint64_t p = align_down(base, MIB2); p <= last; p += MIB2) {
		if ((rc = map_2m(&a, pml4, p)) != 0) {
			return rc;
		}
	}
	return 0;
}

int layout_write_boot_info(struct gmem *m, const struct vm_layout *lay, const struct elf_image *img,
			   const struct boot_params *bp)
{
	struct uh_boot_info bi;
	__int128 t = bp->boot_time_ns;
	uint8_t *fdt = calloc(1, lay->fdt_cap);
	int rc = fdt == NULL || layout_build_fdt(fdt, lay->fdt_cap, lay, bp) != 0 ||
		 gmem_copy_to(m, gpa(lay->fdt_addr), fdt, lay->fdt_cap) != 0;

	free(fdt);
	if (rc != 0) {
		return -1;
	}
	memset(&bi, 0, sizeof bi);
	bi.phys_addr_start = lay->guest_address;
	bi.phys_addr_end = lay->guest_address + lay->mem_size;
	/* Always advertised: Hermit 0.6.x deadlocks in its console lock without a serial
	 * port.  Whether the kernel log is shown is the VMM's business (--verbose). */
	bi.serial_port_base = lay->iface == 1 ? UH_V1_UART : UH_V2_SERIAL_WRITE_BUFFER;
	bi.device_tree = lay->fdt_addr;
	bi.kernel_image_start = lay->load_addr;
	bi.kernel_image_end = lay->image_end;
	if (img->tls_memsz > 0) {
		bi.tls_start = img->tls_vaddr - img->first_vaddr + lay->load_addr;
		bi.tls_filesz = img->tls_filesz;
		bi.tls_memsz = img->tls_memsz;
		bi.tls_align = img->tls_align;
	}
	bi.platform = UH_PLATFORM_UHYVE;
	bi.has_pci = 1;
	bi.num_cpus = bp->cpus;
	bi.cpu_freq_khz = bp->tsc_khz;
	memcpy(bi.boot_time_ns, &t, sizeof bi.boot_time_ns);
	return gmem_copy_to(m, gpa(lay->guest_address + UH_BOOT_INFO_OFFSET), &bi, sizeof bi);
}

static int fdt_memory_and_cpus(void *fdt, const struct vm_layout *lay, unsigned cpus)
{
	char name[40];
	fdt64_t reg[2] = {cpu_to_fdt64(lay->guest_address), cpu_to_fdt64(lay->mem_size)};
	int rc;

	snprintf(name, sizeof name, "memory@%llx", (unsigned long long)lay->guest_address);
	if ((rc = fdt_begin_node(fdt, name)) ||
	    (rc = fdt_property_string(fdt, "device_type", "memory")) ||
	    (rc = fdt_property(fdt, "reg", reg, sizeof reg)) || (rc = fdt_end_node(fdt))) {
		return rc;
	}
	if ((rc = fdt_begin_node(fdt, "cpus")) ||
	    (rc = fdt_property_u32(fdt, "#address-cells", 1)) ||
	    (rc = fdt_property_u32(fdt, "#size-cells", 0))) {
		return rc;
	}
	for (unsigned i = 0; i < cpus; i++) {
		snprintf(name, sizeof name, "cpu@%u", i);
		if ((rc = fdt_begin_node(fdt, name)) ||
		    (rc = fdt_property_string(fdt, "device_type", "cpu")) ||
		    (rc = fdt_end_node(fdt))) {
			return rc;
		}
	}
	return fdt_end_node(fdt);
}

/* /uhyve,mounts { mounts = "guest path" ... } for kernels that mount from the FDT. */
static int fdt_mounts(void *fdt, const struct boot_params *bp)
{
	char list[UH_FDT_SIZE];
	size_t len = 0;
	int rc;

	if (bp->nmounts == 0) {
		return 0;
	}
	for (int i = 0; i < bp->nmounts; i++) {
		size_t n = strlen(bp->mounts[i]) + 1;
		if (n > sizeof list - len) {
			return -FDT_ERR_NOSPACE;
		}
		memcpy(list + len, bp->mounts[i], n);
		len += n;
	}
	if ((rc = fdt_begin_node(fdt, "uhyve,mounts")) ||
	    (rc = fdt_property(fdt, "mounts", list, (int)len)) || (rc = fdt_end_node(fdt))) {
		return rc;
	}
	return 0;
}

int layout_fdt_make(void *buf, size_t cap, const struct vm_layout *lay,
		    const struct boot_params *bp)
{
	int rc;

	if ((rc = fdt_create(buf, (int)cap)) ||
	    (lay->initrd_end != 0 &&
	     (rc = fdt_add_reservemap_entry(buf, lay->initrd_start,
					    (lay->initrd_end - lay->initrd_start + 4095) &
						~4095ull))) ||
	    (rc = fdt_finish_reservemap(buf)) || (rc = fdt_begin_node(buf, "")) ||
	    (rc = fdt_property_string(buf, "compatible", "hermit,uhyve")) ||
	    (rc = fdt_property_u32(buf, "#address-cells", 2)) ||
	    (rc = fdt_property_u32(buf, "#size-cells", 2)) ||
	    (rc = fdt_memory_and_cpus(buf, lay, bp->cpus))) {
		goto fail;
	}
	if (bp->tsc_khz != 0 &&
	    ((rc = fdt_begin_node(buf, "hermit,tsc")) ||
	     (rc = fdt_property_u32(buf, "khz", bp->tsc_khz)) || (rc = fdt_end_node(buf)))) {
		goto fail;
	}
	if ((rc = fdt_mounts(buf, bp)) != 0) {
		goto fail;
	}
	if ((rc = fdt_begin_node(buf, "chosen")) ||
	    (rc = fdt_property_string(buf, "bootargs", bp->bootargs ? bp->bootargs : "")) ||
	    (lay->initrd_end != 0 &&
	     ((rc = fdt_property_u64(buf, "linux,initrd-start", lay->initrd_start)) ||
	      (rc = fdt_property_u64(buf, "linux,initrd-end", lay->initrd_end)))) ||
	    (rc = fdt_end_node(buf)) || (rc = fdt_end_node(buf)) || (rc = fdt_finish(buf))) {
		goto fail;
	}
	return 0;
fail:
	return rc;
}

int layout_build_fdt(void *buf, size_t cap, const struct vm_layout *lay,
		     const struct boot_params *bp)
{
	int rc = layout_fdt_make(buf, cap, lay, bp);

	if (rc != 0) {
		uhs_msg("device tree: %s", fdt_strerror(rc));
		return -1;
	}
	return 0;
}
