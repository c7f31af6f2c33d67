/* SPDX-License-Identifier: MIT */
/* elf_builder.h - builds small synthetic Hermit kernel images for the ELF loader tests.
 *
 * Layout (file offsets; link-time address = vbase + offset, both PT_LOADs map 1:1):
 *   0x000 Elf64_Ehdr          0x040 5 x Elf64_Phdr: LOAD0 LOAD1 NOTE DYNAMIC TLS
 *   0x200 notes: HERMIT [UHYVEIF] [GNU]
 *   0x300 "text" (entry)      0x380 .dynsym: null, GLOBAL object, WEAK undefined
 *   0x400 .rela.dyn, 6 entries                       (LOAD0: file 0x000-0x500, no bss)
 *   0x1000 .dynamic (10 slots) 0x1100 relocated slots 0x1180 .tdata (0x10, memsz 0x40)
 *                                                    (LOAD1: file 0x1000-0x1200, mem to 0x1800)
 * With single_load, one PT_LOAD maps file 0x0-0x1200 (memsz 0x1800) and LOAD1 is PT_NULL.
 */
#ifndef UHS_ELF_BUILDER_H
#define UHS_ELF_BUILDER_H

#include <elf.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define EB_SIZE		0x1200u
#define EB_SPAN		0x1800u
#define EB_PHOFF	0x40u
#define EB_NPH		5u
#define EB_NOTE_OFF	0x200u
#define EB_ENTRY	0x300u
#define EB_SYM_OFF	0x380u
#define EB_NSYM		3u
#define EB_RELA_OFF	0x400u
#define EB_NRELA	6u
#define EB_LOAD0_FILESZ 0x500u
#define EB_LOAD1_OFF	0x1000u
#define EB_LOAD1_FILESZ 0x200u
#define EB_LOAD1_MEMSZ	0x800u
#define EB_DYN_OFF	0x1000u
#define EB_NDYN		10u
#define EB_SLOT_OFF	0x1100u /* slots k at EB_SLOT_OFF + 8k, k = 0..4 */
#define EB_BSS_SLOT	0x1400u
#define EB_TLS_OFF	0x1180u
#define EB_TLS_FILESZ	0x10u
#define EB_TLS_MEMSZ	0x40u
#define EB_SYM1_VALUE	0x1180u /* plus vbase */

enum { EB_PH_LOAD0, EB_PH_LOAD1, EB_PH_NOTE, EB_PH_DYN, EB_PH_TLS };

/* File contents of the slots before relocation. */
static const uint64_t eb_slot_init[5] = {0x1111111111111111ull, 0x2222222222222222ull,
					 0x3333333333333333ull, 0, 0};

struct eb_opts {
	uint16_t type; /* ET_DYN or ET_EXEC */
	uint64_t vbase; /* link address of file offset 0 */
	int single_load; /* one PT_LOAD instead of two */
	uint64_t note_align; /* PT_NOTE p_align: 4 or 8 */
	uint8_t entry_version; /* HERMIT note value */
	uint32_t uhyve_if; /* UHYVEIF note value (stored big-endian); 0: no note */
	int gnu; /* emit a GNU ABI tag note */
	uint32_t gnu_os; /* its OS word (6 = Hermit) */
	uint32_t gnu_ver[3]; /* major, minor, patch */
};

struct eb_info {
	size_t hermit_off, uhyveif_off, gnu_off; /* note offsets in the file, 0 if absent */
	size_t notes_end;
};

static inline struct eb_opts eb_defaults(void)
{
	return (struct eb_opts){.type = ET_DYN, .note_align = 4, .entry_version = 4, .gnu_os = 6};
}

static inline void eb_put32(uint8_t *b, size_t off, uint32_t v)
{
	memcpy(b + off, &v, sizeof v);
}

static inline void eb_put64(uint8_t *b, size_t off, uint64_t v)
{
	memcpy(b + off, &v, sizeof v);
}

static inline uint64_t eb_get64(const uint8_t *b, size_t off)
{
	uint64_t v;

	memcpy(&v, b + off, sizeof v);
	return v;
}

static inline size_t eb_align(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* Writes one note at off; name and desc are padded to align.  Returns the next offset. */
static inline size_t eb_note(uint8_t *b, size_t off, size_t align, const char *name, uint32_t type,
			     const void *desc, uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;

	eb_put32(b, off, namesz);
	eb_put32(b, off + 4, descsz);
	eb_put32(b, off + 8, type);
	memcpy(b + off + 12, name, namesz);
	off = eb_align(off + 12 + namesz, align);
	memcpy(b + off, desc, descsz);
	return eb_align(off + descsz, align);
}

static inline void eb_get_phdr(const uint8_t *b, unsigned i, Elf64_Phdr *ph)
{
	memcpy(ph, b + EB_PHOFF + i * sizeof *ph, sizeof *ph);
}

static inline void eb_set_phdr(uint8_t *b, unsigned i, const Elf64_Phdr *ph)
{
	memcpy(b + EB_PHOFF + i * sizeof *ph, ph, sizeof *ph);
}

static inline void eb_phdr(uint8_t *b, unsigned i, uint32_t type, uint64_t off, uint64_t vaddr,
			   uint64_t filesz, uint64_t memsz, uint64_t align)
{
	Elf64_Phdr ph = {.p_type = type,
			 .p_flags = PF_R,
			 .p_offset = off,
			 .p_vaddr = vaddr,
			 .p_paddr = vaddr,
			 .p_filesz = filesz,
			 .p_memsz = memsz,
			 .p_align = align};
	eb_set_phdr(b, i, &ph);
}

static inline void eb_get_ehdr(const uint8_t *b, Elf64_Ehdr *eh)
{
	memcpy(eh, b, sizeof *eh);
}

static inline void eb_set_ehdr(uint8_t *b, const Elf64_Ehdr *eh)
{
	memcpy(b, eh, sizeof *eh);
}

static inline void eb_dyn(uint8_t *b, unsigned i, int64_t tag, uint64_t val)
{
	Elf64_Dyn d = {.d_tag = tag, .d_un.d_val = val};
	memcpy(b + EB_DYN_OFF + i * sizeof d, &d, sizeof d);
}

static inline void eb_rela(uint8_t *b, unsigned i, uint64_t where, uint32_t sym, uint32_t type,
			   int64_t addend)
{
	Elf64_Rela r = {.r_offset = where, .r_info = ELF64_R_INFO(sym, type), .r_addend = addend};
	memcpy(b + EB_RELA_OFF + i * sizeof r, &r, sizeof r);
}

static inline void eb_sym(uint8_t *b, unsigned i, unsigned char bind, uint16_t shndx,
			  uint64_t value)
{
	Elf64_Sym s = {.st_info = (unsigned char)ELF64_ST_INFO(bind, STT_OBJECT),
		       .st_shndx = shndx,
		       .st_value = value};
	memcpy(b + EB_SYM_OFF + i * sizeof s, &s, sizeof s);
}

static inline void eb_ehdr_init(uint8_t *b, const struct eb_opts *o)
{
	Elf64_Ehdr eh = {.e_type = o->type,
			 .e_machine = EM_X86_64,
			 .e_version = EV_CURRENT,
			 .e_entry = o->vbase + EB_ENTRY,
			 .e_phoff = EB_PHOFF,
			 .e_ehsize = sizeof(Elf64_Ehdr),
			 .e_phentsize = sizeof(Elf64_Phdr),
			 .e_phnum = EB_NPH};

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_ident[EI_OSABI] = ELFOSABI_STANDALONE;
	eb_set_ehdr(b, &eh);
}

static inline struct eb_info eb_notes(uint8_t *b, const struct eb_opts *o)
{
	struct eb_info inf = {.hermit_off = EB_NOTE_OFF};
	size_t off = EB_NOTE_OFF, a = o->note_align;

	off = eb_note(b, off, a, "HERMIT", 0x5a00, &o->entry_version, 1);
	if (o->uhyve_if != 0) {
		uint8_t be[4] = {(uint8_t)(o->uhyve_if >> 24), (uint8_t)(o->uhyve_if >> 16),
				 (uint8_t)(o->uhyve_if >> 8), (uint8_t)o->uhyve_if};
		inf.uhyveif_off = off;
		off = eb_note(b, off, a, "UHYVEIF", 0x5b00, be, 4);
	}
	if (o->gnu) {
		uint32_t d[4] = {o->gnu_os, o->gnu_ver[0], o->gnu_ver[1], o->gnu_ver[2]};
		inf.gnu_off = off;
		off = eb_note(b, off, a, "GNU", NT_GNU_ABI_TAG, d, sizeof d);
	}
	inf.notes_end = off;
	return inf;
}

static inline void eb_dynamic(uint8_t *b, uint64_t vb)
{
	eb_dyn(b, 0, DT_RELA, vb + EB_RELA_OFF);
	eb_dyn(b, 1, DT_RELASZ, EB_NRELA * sizeof(Elf64_Rela));
	eb_dyn(b, 2, DT_RELAENT, sizeof(Elf64_Rela));
	eb_dyn(b, 3, DT_SYMTAB, vb + EB_SYM_OFF);
	eb_dyn(b, 4, DT_SYMENT, sizeof(Elf64_Sym));
	eb_dyn(b, 5, DT_RELACOUNT, 2);
	for (unsigned i = 6; i < EB_NDYN; i++) {
		eb_dyn(b, i, DT_NULL, 0);
	}
}

static inline void eb_relocs(uint8_t *b, uint64_t vb)
{
	eb_sym(b, 1, STB_GLOBAL, 5, vb + EB_SYM1_VALUE);
	eb_sym(b, 2, STB_WEAK, SHN_UNDEF, 0);
	eb_rela(b, 0, vb + EB_SLOT_OFF + 0, 0, R_X86_64_RELATIVE, (int64_t)(vb + EB_ENTRY));
	eb_rela(b, 1, vb + EB_SLOT_OFF + 8, 1, R_X86_64_64, 0x10);
	eb_rela(b, 2, vb + EB_SLOT_OFF + 16, 1, R_X86_64_GLOB_DAT, 0);
	eb_rela(b, 3, vb + EB_SLOT_OFF + 24, 2, R_X86_64_GLOB_DAT, 0);
	eb_rela(b, 4, vb + EB_SLOT_OFF + 32, 2, R_X86_64_64, 5);
	eb_rela(b, 5, vb + EB_BSS_SLOT, 0, R_X86_64_RELATIVE, (int64_t)(vb + EB_SLOT_OFF));
	for (unsigned k = 0; k < 5; k++) {
		eb_put64(b, EB_SLOT_OFF + 8 * k, eb_slot_init[k]);
	}
}

/* Builds the image into b[0..EB_SIZE). */
static inline struct eb_info eb_build(uint8_t *b, const struct eb_opts *o)
{
	uint64_t vb = o->vbase;
	struct eb_info inf;

	for (size_t i = 0; i < EB_SIZE; i++) {
		b[i] = (uint8_t)(0xa5 ^ (i * 7)); /* recognisable filler */
	}
	memset(b, 0, 0x200);
	memset(b + EB_SYM_OFF, 0, EB_LOAD0_FILESZ - EB_SYM_OFF);
	memset(b + EB_DYN_OFF, 0, EB_SLOT_OFF - EB_DYN_OFF);
	eb_ehdr_init(b, o);
	inf = eb_notes(b, o);
	if (o->single_load) {
		eb_phdr(b, EB_PH_LOAD0, PT_LOAD, 0, vb, EB_SIZE, EB_SPAN, 0x1000);
		eb_phdr(b, EB_PH_LOAD1, PT_NULL, 0, 0, 0, 0, 0);
	} else {
		eb_phdr(b, EB_PH_LOAD0, PT_LOAD, 0, vb, EB_LOAD0_FILESZ, EB_LOAD0_FILESZ, 0x1000);
		eb_phdr(b, EB_PH_LOAD1, PT_LOAD, EB_LOAD1_OFF, vb + EB_LOAD1_OFF, EB_LOAD1_FILESZ,
			EB_LOAD1_MEMSZ, 0x1000);
	}
	eb_phdr(b, EB_PH_NOTE, PT_NOTE, EB_NOTE_OFF, vb + EB_NOTE_OFF, inf.notes_end - EB_NOTE_OFF,
		inf.notes_end - EB_NOTE_OFF, o->note_align);
	eb_phdr(b, EB_PH_DYN, PT_DYNAMIC, EB_DYN_OFF, vb + EB_DYN_OFF, EB_NDYN * sizeof(Elf64_Dyn),
		EB_NDYN * sizeof(Elf64_Dyn), 8);
	eb_phdr(b, EB_PH_TLS, PT_TLS, EB_TLS_OFF, vb + EB_TLS_OFF, EB_TLS_FILESZ, EB_TLS_MEMSZ, 8);
	eb_dynamic(b, vb);
	eb_relocs(b, vb);
	return inf;
}

#endif
