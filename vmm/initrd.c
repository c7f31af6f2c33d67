/* SPDX-License-Identifier: MIT */
/* initrd.c - --hermit-image-mode internal: the image's tar in guest RAM right after the
 * kernel, as uhyve places it (src/vm.rs load_hermit_image_to_mem): at the first page
 * boundary after the kernel image, named in the FDT as /chosen linux,initrd-start/end and
 * covered by a memory reservation (layout.c).  Newer Hermit kernels read it from there
 * (env/start_info/fdt.rs); older ones ignore it.
 *
 * Trust: the tar bytes come from the launcher's sealed memfd (its parser child inflated them;
 * the guest reads them, nothing here interprets them); the place is checked against RAM. */
#include <stdio.h>

#include "vm.h"

#define PAGE 4096ull

int initrd_place(struct vm *vm)
{
	const struct vmm_config *cfg = vm->cfg;
	struct vm_layout *lay = &vm->lay;
	uint64_t start, end, ram_end = lay->guest_address + lay->mem_size;

	if (cfg->initrd == NULL || cfg->initrd_len == 0) {
		return 0;
	}
	start = (lay->image_end + PAGE - 1) & ~(PAGE - 1);
	if (start < lay->image_end || cfg->initrd_len > ram_end || start > ram_end ||
	    ram_end - start < ((cfg->initrd_len + PAGE - 1) & ~(PAGE - 1))) {
		uhs_msg("%s: the image (%zu bytes) does not fit in guest RAM after the kernel "
			"(--hermit-image-mode internal); give more memory (-m)",
			cfg->kernel_path, cfg->initrd_len);
		return ST_USAGE;
	}
	end = start + cfg->initrd_len;
	if (gmem_copy_to(&vm->mem, gpa(start), cfg->initrd, cfg->initrd_len) != 0) {
		uhs_msg("cannot copy the image into guest memory");
		return ST_INTERNAL;
	}
	lay->initrd_start = start;
	lay->initrd_end = end;
	return 0;
}
