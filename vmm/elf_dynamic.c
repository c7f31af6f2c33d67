/* SPDX-License-Identifier: MIT */
/* elf_dynamic.c - the dynamic section, the RELA table and the symbol table of a kernel image,
 * validated entry by entry for elf_parse() (elf_parse.c has the threat and policy notes). */
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <string.h>

#include "elf_internal.h"

/* ---- dynamic section ---- */

static int dyn_store(struct parse_ctx *c, unsigned bit, uint64_t *slot, const GElf_Dyn *dy)
{
	if (c->dyn.seen & bit) {
		return elf_perr(c, "ELF: duplicate dynamic tag 0x%" PRIx64, (uint64_t)dy->d_tag);
	}
	c->dyn.seen |= bit;
	*slot = dy->d_un.d_val;
	return 0;
}

static int dyn_entry(struct parse_ctx *c, const GElf_Dyn *dy)
{
	struct dyn_info *di = &c->dyn;

	switch (dy->d_tag) {
	case DT_NEEDED:
		return elf_perr(c,
				"ELF: DT_NEEDED present (kernel linked against shared libraries)");
	case DT_REL:
	case DT_RELSZ:
		return elf_perr(c, "ELF: DT_REL/DT_RELSZ present (REL relocations not supported)");
	case DT_RELCOUNT:
		if (dy->d_un.d_val != 0) {
			return elf_perr(c, "ELF: DT_RELCOUNT is non-zero");
		}
		return 0;
	case DT_JMPREL:
	case DT_PLTRELSZ:
		/* hermit-entry ignores PLT relocations; a kernel that has some would run
		 * unrelocated, so refuse it instead. */
		if (dy->d_un.d_val != 0) {
			return elf_perr(
			    c, "ELF: PLT relocations (DT_JMPREL/DT_PLTRELSZ) not supported");
		}
		return 0;
	case DT_RELA:
		return dyn_store(c, SEEN_RELA, &di->rela, dy);
	case DT_RELASZ:
		return dyn_store(c, SEEN_RELASZ, &di->relasz, dy);
	case DT_RELAENT:
		return dyn_store(c, SEEN_RELAENT, &di->relaent, dy);
	case DT_SYMTAB:
		return dyn_store(c, SEEN_SYMTAB, &di->symtab, dy);
	case DT_SYMENT:
		return dyn_store(c, SEEN_SYMENT, &di->syment, dy);
	default:
		return 0;
	}
}

int elf_parse_dynamic(struct parse_ctx *c)
{
	const GElf_Phdr *ph = &c->dyn_ph;
	Elf_Data *d;
	uint64_t n;

	if (!c->has_dyn) {
		return 0;
	}
	if (!elf_file_range_ok(c->len, ph->p_offset, ph->p_filesz)) {
		return elf_perr(c, "ELF: segment %u extends past end of file", c->dyn_idx);
	}
	if (ph->p_filesz % DYN_SIZE != 0) {
		return elf_perr(c, "ELF: PT_DYNAMIC size 0x%" PRIx64 " is not a multiple of %zu",
				ph->p_filesz, DYN_SIZE);
	}
	n = ph->p_filesz / DYN_SIZE;
	if (n == 0) {
		return 0;
	}
	if (n > INT_MAX) {
		return elf_perr(c, "ELF: too many dynamic entries");
	}
	d = elf_getdata_rawchunk(c->elf, (int64_t)ph->p_offset, (size_t)ph->p_filesz, ELF_T_DYN);
	if (d == NULL) {
		return elf_perr(c, "ELF: cannot read the dynamic section: %s", elf_libelf_msg());
	}
	for (uint64_t i = 0; i < n; i++) {
		GElf_Dyn dy;

		if (gelf_getdyn(d, (int)i, &dy) == NULL) {
			return elf_perr(c, "ELF: cannot read dynamic entry %" PRIu64 ": %s", i,
					elf_libelf_msg());
		}
		if (dy.d_tag == DT_NULL) {
			break;
		}
		if (dyn_entry(c, &dy) != 0) {
			return -1;
		}
	}
	return 0;
}

/* ---- relocations ---- */

static int check_rela_table(struct parse_ctx *c)
{
	const struct dyn_info *di = &c->dyn;
	bool has = di->seen & SEEN_RELA, has_sz = di->seen & SEEN_RELASZ;

	c->rela_count = 0;
	if (!has && (!has_sz || di->relasz == 0)) {
		return 0;
	}
	if (!has) {
		return elf_perr(c, "ELF: DT_RELASZ without DT_RELA");
	}
	if (!has_sz) {
		return elf_perr(c, "ELF: DT_RELA without DT_RELASZ");
	}
	if (di->relasz == 0) {
		return 0;
	}
	if (di->relaent != RELA_SIZE) {
		return elf_perr(c, "ELF: DT_RELAENT is %" PRIu64 " (need %zu)", di->relaent,
				RELA_SIZE);
	}
	if (di->relasz % RELA_SIZE != 0) {
		return elf_perr(c, "ELF: DT_RELASZ 0x%" PRIx64 " is not a multiple of %zu",
				di->relasz, RELA_SIZE);
	}
	if (!elf_vaddr_to_offset(c->img, di->rela, di->relasz, &c->rela_off)) {
		return elf_perr(c, "ELF: relocation table outside any loaded segment");
	}
	if (di->relasz / RELA_SIZE > INT_MAX) {
		return elf_perr(c, "ELF: too many relocations");
	}
	c->rela_count = di->relasz / RELA_SIZE;
	return 0;
}

/* There is no DT_SYMTABSZ: the table is bounded by the file bytes of its PT_LOAD. */
static int check_symtab(struct parse_ctx *c)
{
	const struct dyn_info *di = &c->dyn;
	const struct elf_image *img = c->img;

	c->sym_count = 0;
	if (!(di->seen & SEEN_SYMTAB)) {
		return 0;
	}
	if (di->syment != SYM_SIZE) {
		return elf_perr(c, "ELF: DT_SYMENT is %" PRIu64 " (need %zu)", di->syment,
				SYM_SIZE);
	}
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct elf_segment *s = &img->seg[i];
		uint64_t rel = di->symtab - s->vaddr;

		if (di->symtab >= s->vaddr && rel < s->filesz && s->filesz - rel >= SYM_SIZE) {
			c->sym_off = s->offset + rel;
			c->sym_count = (s->filesz - rel) / SYM_SIZE;
			if (c->sym_count > INT_MAX) {
				c->sym_count = INT_MAX; /* gelf_getsym takes an int index */
			}
			return 0;
		}
	}
	return elf_perr(c, "ELF: symbol table outside any loaded segment");
}

static int check_reloc(struct parse_ctx *c, Elf_Data *syms, uint64_t i, const GElf_Rela *r)
{
	uint32_t type = (uint32_t)GELF_R_TYPE(r->r_info);
	uint32_t si = (uint32_t)GELF_R_SYM(r->r_info);
	GElf_Sym sym;

	switch (type) {
	case R_X86_64_RELATIVE:
	case R_X86_64_64:
	case R_X86_64_GLOB_DAT:
		break;
	default:
		return elf_perr(c, "ELF: unsupported relocation type %" PRIu32, type);
	}
	if (!elf_slot_in_image(c->img, r->r_offset)) {
		return elf_perr(c, "ELF: relocation %" PRIu64 " at 0x%" PRIx64 " outside the image",
				i, r->r_offset);
	}
	if (type == R_X86_64_RELATIVE) {
		return 0;
	}
	if (type == R_X86_64_GLOB_DAT && r->r_addend != 0) {
		return elf_perr(c, "ELF: relocation %" PRIu64 ": GLOB_DAT with non-zero addend", i);
	}
	if (syms == NULL || si >= c->sym_count) {
		return elf_perr(
		    c, "ELF: relocation %" PRIu64 ": symbol index %" PRIu32 " out of range", i, si);
	}
	if (gelf_getsym(syms, (int)si, &sym) == NULL) {
		return elf_perr(c, "ELF: cannot read symbol %" PRIu32 ": %s", si, elf_libelf_msg());
	}
	if (elf_sym_is_weak_undef(sym.st_info, sym.st_shndx) &&
	    !elf_slot_is_zero(c->img, c->buf, r->r_offset)) {
		return elf_perr(
		    c, "ELF: relocation %" PRIu64 ": weak undefined symbol but slot is not zero",
		    i);
	}
	return 0;
}

int elf_parse_relocs(struct parse_ctx *c)
{
	Elf_Data *rd, *sd = NULL;

	if (check_rela_table(c) != 0 || check_symtab(c) != 0) {
		return -1;
	}
	if (c->rela_count == 0) {
		return 0;
	}
	rd = elf_getdata_rawchunk(c->elf, (int64_t)c->rela_off, (size_t)(c->rela_count * RELA_SIZE),
				  ELF_T_RELA);
	if (rd == NULL) {
		return elf_perr(c, "ELF: cannot read the relocation table: %s", elf_libelf_msg());
	}
	if (c->sym_count > 0) {
		sd = elf_getdata_rawchunk(c->elf, (int64_t)c->sym_off,
					  (size_t)(c->sym_count * SYM_SIZE), ELF_T_SYM);
		if (sd == NULL) {
			return elf_perr(c, "ELF: cannot read the symbol table: %s",
					elf_libelf_msg());
		}
	}
	for (uint64_t i = 0; i < c->rela_count; i++) {
		GElf_Rela r;

		if (gelf_getrela(rd, (int)i, &r) == NULL) {
			return elf_perr(c, "ELF: cannot read relocation %" PRIu64 ": %s", i,
					elf_libelf_msg());
		}
		if (check_reloc(c, sd, i, &r) != 0) {
			return -1;
		}
	}
	if (c->img->is_pie) { /* ET_EXEC: validated, never applied (see top of file) */
		c->img->rela_off = c->rela_off;
		c->img->rela_count = c->rela_count;
		c->img->symtab_off = c->sym_off;
		c->img->symtab_count = c->sym_count;
	}
	return 0;
}
