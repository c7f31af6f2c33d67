/* SPDX-License-Identifier: MIT */
/* elf_load.c - load a kernel image that elf_parse() validated: copy the PT_LOAD segments into
 * guest RAM through gmem and apply the relocations elf_parse() checked (elf_parse.c has the
 * threat and the policy choices). */
#include <gelf.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>

#include "elf_internal.h"
#include "elf_load.h"

/* ---- elf_load ---- */

/* Re-checks that img describes buf[0..len) the way elf_parse() left it, so that a caller
 * mixing up images cannot make us read outside buf or write outside the span. */
static bool image_consistent(const struct elf_image *img, size_t len)
{
	if (img->nseg == 0 || img->nseg > ELF_MAX_SEGMENTS || img->span > ELF_MAX_IMAGE_SPAN ||
	    img->seg[0].vaddr != img->first_vaddr) {
		return false;
	}
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct elf_segment *s = &img->seg[i];
		uint64_t rel = s->vaddr - img->first_vaddr;

		if (!elf_file_range_ok(len, s->offset, s->filesz) || s->filesz > s->memsz ||
		    s->vaddr < img->first_vaddr || rel > img->span || s->memsz > img->span - rel) {
			return false;
		}
	}
	return img->rela_count <= INT_MAX && img->symtab_count <= INT_MAX &&
	       elf_file_range_ok(len, img->rela_off, img->rela_count * RELA_SIZE) &&
	       elf_file_range_ok(len, img->symtab_off, img->symtab_count * SYM_SIZE);
}

static int copy_segments(const struct elf_image *img, const uint8_t *buf, struct gmem *m,
			 uint64_t load_addr, char *err, size_t errlen)
{
	void *dst = gmem_ptr(m, gpa(load_addr), img->span);

	if (dst == NULL) {
		return elf_set_err(err, errlen, "ELF: image does not fit in guest RAM");
	}
	/* Zero the whole span: bss (memsz - filesz) and any gap between segments.  Fresh
	 * guest RAM is already zero; touching it would only fault in every page. */
	if (!m->zeroed) {
		memset(dst, 0, (size_t)img->span);
	}
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct elf_segment *s = &img->seg[i];
		gpa_t to = gpa(load_addr + (s->vaddr - img->first_vaddr));

		if (s->filesz == 0) {
			continue;
		}
		if (gmem_copy_to(m, to, buf + s->offset, (size_t)s->filesz) != 0) {
			return elf_set_err(err, errlen,
					   "ELF: segment at 0x%" PRIx64 " outside guest RAM",
					   s->vaddr);
		}
	}
	return 0;
}

/* Computes the value of relocation r; *skip for a weak undefined symbol.  Everything was
 * validated by elf_parse(); the checks here only guard against a mismatched img/buf. */
static int reloc_value(const struct elf_image *img, const uint8_t *buf, const Elf64_Rela *r,
		       uint64_t base, uint64_t *val, bool *skip)
{
	uint32_t type = (uint32_t)ELF64_R_TYPE(r->r_info);
	uint64_t si = ELF64_R_SYM(r->r_info);
	Elf64_Sym sym;

	*skip = false;
	if (!elf_slot_in_image(img, r->r_offset)) {
		return -1;
	}
	if (type == R_X86_64_RELATIVE) {
		*val = base + (uint64_t)r->r_addend;
		return 0;
	}
	if ((type != R_X86_64_64 && type != R_X86_64_GLOB_DAT) || si >= img->symtab_count) {
		return -1;
	}
	memcpy(&sym, buf + img->symtab_off + si * SYM_SIZE, sizeof sym);
	if (elf_sym_is_weak_undef(sym.st_info, sym.st_shndx)) {
		*skip = true; /* the slot is zero (checked by elf_parse) and stays so */
		return 0;
	}
	*val = base + sym.st_value + (uint64_t)r->r_addend;
	return 0;
}

static int apply_relocs(const struct elf_image *img, const uint8_t *buf, struct gmem *m,
			uint64_t load_addr, char *err, size_t errlen)
{
	uint64_t base = load_addr - img->first_vaddr; /* wraps on purpose */

	for (uint64_t i = 0; i < img->rela_count; i++) {
		Elf64_Rela r;
		uint64_t val = 0;
		bool skip;

		memcpy(&r, buf + img->rela_off + i * RELA_SIZE, sizeof r);
		if (reloc_value(img, buf, &r, base, &val, &skip) != 0) {
			return elf_set_err(err, errlen, "ELF: relocation %" PRIu64 " is invalid",
					   i);
		}
		if (skip) {
			continue;
		}
		if (gmem_copy_to(m, gpa(load_addr + (r.r_offset - img->first_vaddr)), &val,
				 sizeof val) != 0) {
			return elf_set_err(err, errlen,
					   "ELF: relocation %" PRIu64 " at 0x%" PRIx64
					   " outside guest RAM",
					   i, r.r_offset);
		}
	}
	return 0;
}

int elf_load(const struct elf_image *img, const uint8_t *buf, size_t len, struct gmem *m,
	     uint64_t load_addr, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	if (img == NULL || buf == NULL || m == NULL || !image_consistent(img, len)) {
		return elf_set_err(err, errlen, "ELF: image description does not match the buffer");
	}
	if (!img->is_pie && load_addr != img->first_vaddr) {
		return elf_set_err(err, errlen,
				   "ELF: ET_EXEC image must be loaded at 0x%" PRIx64
				   " (got 0x%" PRIx64 ")",
				   img->first_vaddr, load_addr);
	}
	if (!gmem_range_ok(m, gpa(load_addr), img->span)) {
		return elf_set_err(err, errlen,
				   "ELF: image [0x%" PRIx64 ", +0x%" PRIx64
				   ") does not fit in guest RAM",
				   load_addr, img->span);
	}
	if (copy_segments(img, buf, m, load_addr, err, errlen) != 0) {
		return -1;
	}
	if (img->is_pie && apply_relocs(img, buf, m, load_addr, err, errlen) != 0) {
		return -1;
	}
	return 0;
}

int elf_wants_legacy_mapping(const struct elf_image *img)
{
	const uint32_t *v = img->hermit_version;

	/* Versions before 0.10.0 (and kernels without the note) want the 1 GiB map. */
	return !img->has_hermit_version || (v[0] == 0 && v[1] < 10);
}
