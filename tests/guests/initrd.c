/* SPDX-License-Identifier: MIT */
/* initrd (v2): what --hermit-image-mode internal gives a kernel, as a newer Hermit reads it
 * (env/start_info/fdt.rs, mm/physicalmem.rs): FDT /chosen linux,initrd-start/end and the
 * memory reservation map.  Prints one line and exits 0:
 *   initrd=none
 *   initrd len=<n> after_kernel=<0|1> reserved=<0|1> mapped=<0|1> ustar=<0|1> first=<name>
 * after_kernel: start is the first page boundary after the kernel image; reserved: a
 * reservation covers [start, end rounded up to 4 KiB); mapped: the first and last byte are
 * mapped; ustar: the tar magic of the first header; first: the first entry's name. */
#include "rt.h"

#define FDT_MAGIC      0xd00dfeedu
#define FDT_BEGIN_NODE 1u
#define FDT_END_NODE   2u
#define FDT_PROP       3u
#define FDT_NOP	       4u

static const volatile uint8_t *fdt;
static uint32_t off_strings, size_strings;

static uint32_t be32(uint32_t off)
{
	return ((uint32_t)fdt[off] << 24) | ((uint32_t)fdt[off + 1] << 16) |
	       ((uint32_t)fdt[off + 2] << 8) | (uint32_t)fdt[off + 3];
}

static uint64_t be64(uint32_t off)
{
	return ((uint64_t)be32(off) << 32) | be32(off + 4);
}

static int name_is(uint32_t nameoff, const char *want)
{
	uint32_t i = 0;

	for (; want[i] != '\0'; i++) {
		if (nameoff + i >= size_strings ||
		    fdt[off_strings + nameoff + i] != (uint8_t)want[i]) {
			return 0;
		}
	}
	return nameoff + i < size_strings && fdt[off_strings + nameoff + i] == '\0';
}

/* The two /chosen properties (each 8 bytes), or -1. */
static int chosen_range(uint64_t *start, uint64_t *end)
{
	uint32_t pos = be32(8), stop = be32(8) + be32(36);
	int depth = 0, chosen = 0, found = 0;

	while (pos + 4 <= stop && pos < UH_FDT_SIZE - 8) {
		uint32_t tok = be32(pos), len, nameoff;

		pos += 4;
		if (tok == FDT_BEGIN_NODE) {
			uint32_t s = pos;
			while (pos < stop && fdt[pos] != '\0') {
				pos++;
			}
			depth++;
			chosen = depth == 2 && pos - s == 6 && fdt[s] == 'c' && fdt[s + 1] == 'h';
			pos = (pos + 4) & ~3u;
		} else if (tok == FDT_END_NODE) {
			depth--;
			chosen = 0;
		} else if (tok == FDT_PROP) {
			len = be32(pos);
			nameoff = be32(pos + 4);
			pos += 8;
			if (chosen && len == 8 && name_is(nameoff, "linux,initrd-start")) {
				*start = be64(pos);
				found |= 1;
			} else if (chosen && len == 8 && name_is(nameoff, "linux,initrd-end")) {
				*end = be64(pos);
				found |= 2;
			}
			pos = (pos + len + 3) & ~3u;
		} else if (tok != FDT_NOP) {
			break;
		}
	}
	return found == 3 ? 0 : -1;
}

static int reserved(uint64_t start, uint64_t len)
{
	uint32_t off = be32(16);

	for (int i = 0; i < 64 && off + 16 <= UH_FDT_SIZE; i++, off += 16) {
		uint64_t a = be64(off), n = be64(off + 8);
		if (a == 0 && n == 0) {
			break;
		}
		if (a == start && n == ((len + 4095) & ~4095ull)) {
			return 1;
		}
	}
	return 0;
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	uint64_t start = 0, end = 0;
	const volatile char *t;
	char first[101];

	if (cpu != 0) {
		return 0;
	}
	fdt = (const volatile uint8_t *)(uintptr_t)bi->device_tree;
	if (be32(0) != FDT_MAGIC) {
		rt_printf("no fdt\n");
		return 1;
	}
	off_strings = be32(12);
	size_strings = be32(32);
	if (chosen_range(&start, &end) != 0) {
		rt_printf("initrd=none\n");
		return 0;
	}
	if (end <= start || end > bi->phys_addr_end || start < bi->phys_addr_start) {
		rt_printf("initrd outside RAM\n");
		return 1;
	}
	t = (const volatile char *)(uintptr_t)start;
	for (int i = 0; i < 100; i++) {
		first[i] = t[i];
	}
	first[100] = '\0';
	rt_printf("initrd len=%lu after_kernel=%d reserved=%d mapped=%d ustar=%d first=%s\n",
		  (unsigned long)(end - start), start == ((bi->kernel_image_end + 4095) & ~4095ull),
		  reserved(start, end - start),
		  rt_is_mapped(bi, start) && rt_is_mapped(bi, end - 1),
		  end - start > 262 && t[257] == 'u' && t[258] == 's' && t[259] == 't' &&
		      t[260] == 'a' && t[261] == 'r',
		  first);
	return 0;
}
