/* SPDX-License-Identifier: MIT */
/* elf_parse.c - parse and validate Hermit kernel ELF images with libelf (elf_load.c loads them).
 *
 * Threat: the image file is hostile, and libelf, which parses it, is attack surface too.
 * Before any libelf call that touches file data we check the range ourselves against the
 * buffer length with overflow-safe arithmetic; libelf's own checks are a second line.
 * elf_parse() validates every relocation, so elf_load() only copies bytes whose file ranges
 * and guest targets were established here; its guest writes also go through gmem.
 *
 * Policy choices (see hermit-abi.md a.1-a.4 for the reference loader, hermit-entry):
 * - All PT_NOTE segments are read (hermit-entry reads only the first); each must be well
 *   formed, notes are padded to the segment's p_align (only 4 and 8 are accepted), and a
 *   HERMIT, UHYVEIF or Hermit-version note that appears twice is rejected so two readers
 *   can never disagree about which one counts.
 * - DT_RELA and DT_SYMTAB are link-time addresses, translated through the PT_LOAD file
 *   mappings (hermit-entry uses them as file offsets, which is the same for its images).
 * - ET_EXEC: the dynamic section and any RELA table are validated exactly like a PIE's (a
 *   malformed one is rejected) but never applied: an ET_EXEC runs at its link address and
 *   hermit-entry relocates only ET_DYN.  img->rela_count and symtab_count are then 0.
 * - elf_load() zeroes the whole span first (gaps between segments included), so a weak
 *   undefined slot that lies in a gap or in bss counts as zero.
 */
#include "elf_internal.h"
#include "elf_load.h"

#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "uhyve_abi.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "elf_load.c reads ELFDATA2LSB structures in host byte order"
#endif

#define ELF_MAX_PHDRS 128 /* program headers accepted (Hermit kernels have about 10) */

_Static_assert(sizeof(Elf64_Rela) == 24 && sizeof(Elf64_Sym) == 24, "ELF64 entry sizes");
_Static_assert(sizeof(Elf64_Dyn) == 16 && sizeof(Elf64_Phdr) == 56, "ELF64 entry sizes");

/* ---- errors ---- */

static int vset_err(char *err, size_t errlen, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static int vset_err(char *err, size_t errlen, const char *fmt, va_list ap)
{
	if (err != NULL && errlen > 0) {
		vsnprintf(err, errlen, fmt, ap);
	}
	return -1;
}

int elf_set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_err(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int elf_perr(struct parse_ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vset_err(c->err, c->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

const char *elf_libelf_msg(void)
{
	const char *msg = elf_errmsg(-1);

	return msg != NULL ? msg : "unknown error";
}

/* ---- range helpers ---- */

bool elf_file_range_ok(size_t len, uint64_t off, uint64_t size)
{
	uint64_t end;

	return !__builtin_add_overflow(off, size, &end) && end <= len;
}

/* Translates the link-time range [vaddr, vaddr + size) to a file offset; it must lie inside
 * the file bytes of one PT_LOAD. */
bool elf_vaddr_to_offset(const struct elf_image *img, uint64_t vaddr, uint64_t size, uint64_t *off)
{
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct elf_segment *s = &img->seg[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr <= s->filesz &&
		    size <= s->filesz - (vaddr - s->vaddr)) {
			*off = s->offset + (vaddr - s->vaddr);
			return true;
		}
	}
	return false;
}

/* True iff the 8-byte slot at link-time address vaddr lies inside the image span. */
bool elf_slot_in_image(const struct elf_image *img, uint64_t vaddr)
{
	return vaddr >= img->first_vaddr && img->span >= 8 &&
	       vaddr - img->first_vaddr <= img->span - 8;
}

/* Value the loaded image has at link-time byte address a (inside the span): file byte, or
 * 0 for bss and for gaps between segments (elf_load zeroes the whole span). */
static uint8_t image_byte(const struct elf_image *img, const uint8_t *buf, uint64_t a)
{
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct elf_segment *s = &img->seg[i];

		if (a >= s->vaddr && a - s->vaddr < s->filesz) {
			return buf[s->offset + (a - s->vaddr)];
		}
	}
	return 0;
}

bool elf_slot_is_zero(const struct elf_image *img, const uint8_t *buf, uint64_t vaddr)
{
	for (uint64_t k = 0; k < 8; k++) {
		if (image_byte(img, buf, vaddr + k) != 0) {
			return false;
		}
	}
	return true;
}

bool elf_sym_is_weak_undef(unsigned char info, uint16_t shndx)
{
	return GELF_ST_BIND(info) == STB_WEAK && shndx == SHN_UNDEF;
}

/* ---- ELF header ---- */

/* Checks the identification bytes ourselves before libelf sees the buffer. */
static int check_ident(struct parse_ctx *c)
{
	const uint8_t *b = c->buf;

	if (b == NULL || c->len < SELFMAG || memcmp(b, ELFMAG, SELFMAG) != 0) {
		return elf_perr(c, "ELF: not an ELF image");
	}
	if (c->len < sizeof(Elf64_Ehdr)) {
		return elf_perr(c, "ELF: truncated ELF header (%zu bytes)", c->len);
	}
	if (b[EI_CLASS] != ELFCLASS64 || b[EI_DATA] != ELFDATA2LSB) {
		return elf_perr(c, "ELF: not a 64-bit little-endian image");
	}
	if (b[EI_VERSION] != EV_CURRENT) {
		return elf_perr(c, "ELF: unsupported ELF version %u", b[EI_VERSION]);
	}
	/* e_ident[EI_OSABI] is 0xff (ELFOSABI_STANDALONE) for Hermit; hermit-entry only warns
	 * about other values, so any value is accepted here. */
	return 0;
}

static int check_ehdr(struct parse_ctx *c)
{
	const GElf_Ehdr *eh = &c->eh;
	uint64_t tbl = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);

	if (eh->e_machine != EM_X86_64) {
		return elf_perr(c, "ELF: not an x86_64 image (machine %u)", eh->e_machine);
	}
	if (eh->e_type != ET_DYN && eh->e_type != ET_EXEC) {
		return elf_perr(c, "ELF: unsupported ELF type %u (need ET_DYN or ET_EXEC)",
				eh->e_type);
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr)) {
		return elf_perr(c, "ELF: bad program header entry size %u", eh->e_phentsize);
	}
	if (eh->e_phnum == 0) {
		return elf_perr(c, "ELF: no program headers");
	}
	if (eh->e_phnum > ELF_MAX_PHDRS) {
		return elf_perr(c, "ELF: too many program headers (%u, limit %d)", eh->e_phnum,
				ELF_MAX_PHDRS);
	}
	if (eh->e_phoff < sizeof(Elf64_Ehdr)) {
		return elf_perr(c, "ELF: program header table overlaps the ELF header");
	}
	if (!elf_file_range_ok(c->len, eh->e_phoff, tbl)) {
		return elf_perr(c, "ELF: program header table outside the file");
	}
	c->img->is_pie = eh->e_type == ET_DYN;
	c->img->entry = eh->e_entry;
	return 0;
}

/* ---- program headers ---- */

static int add_load(struct parse_ctx *c, unsigned i, const GElf_Phdr *ph)
{
	struct elf_image *img = c->img;
	uint64_t end;

	if (ph->p_filesz > ph->p_memsz) {
		return elf_perr(c, "ELF: segment %u has filesz > memsz", i);
	}
	if (!elf_file_range_ok(c->len, ph->p_offset, ph->p_filesz)) {
		return elf_perr(c, "ELF: segment %u extends past end of file", i);
	}
	if (__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &end)) {
		return elf_perr(c, "ELF: segment %u address range overflows", i);
	}
	if (img->nseg == ELF_MAX_SEGMENTS) {
		return elf_perr(c, "ELF: more than %d PT_LOAD segments", ELF_MAX_SEGMENTS);
	}
	if (img->nseg > 0) {
		const struct elf_segment *prev = &img->seg[img->nseg - 1];

		if (ph->p_vaddr < prev->vaddr) {
			return elf_perr(c, "ELF: PT_LOAD segments not sorted by address");
		}
		if (ph->p_vaddr - prev->vaddr < prev->memsz) {
			return elf_perr(c, "ELF: PT_LOAD segments overlap");
		}
	}
	img->seg[img->nseg++] = (struct elf_segment){
	    .offset = ph->p_offset,
	    .vaddr = ph->p_vaddr,
	    .filesz = ph->p_filesz,
	    .memsz = ph->p_memsz,
	};
	return 0;
}

static int finish_loads(struct parse_ctx *c)
{
	struct elf_image *img = c->img;
	const struct elf_segment *last;

	if (img->nseg == 0) {
		return elf_perr(c, "ELF: no PT_LOAD segment");
	}
	last = &img->seg[img->nseg - 1];
	img->first_vaddr = img->seg[0].vaddr;
	/* Sorted and non-overlapping, and vaddr + memsz cannot overflow (add_load). */
	img->span = last->vaddr + last->memsz - img->first_vaddr;
	if (img->span > ELF_MAX_IMAGE_SPAN) {
		return elf_perr(c, "ELF: image span 0x%" PRIx64 " exceeds limit 0x%llx", img->span,
				ELF_MAX_IMAGE_SPAN);
	}
	if (img->entry < img->first_vaddr || img->entry - img->first_vaddr >= img->span) {
		return elf_perr(c, "ELF: entry point 0x%" PRIx64 " outside the image", img->entry);
	}
	return 0;
}

static int check_tls(struct parse_ctx *c)
{
	struct elf_image *img = c->img;
	const GElf_Phdr *ph = &c->tls_ph;
	uint64_t end, rel;

	if (!c->has_tls) {
		return 0;
	}
	if (ph->p_filesz > ph->p_memsz) {
		return elf_perr(c, "ELF: PT_TLS filesz exceeds memsz");
	}
	if ((ph->p_align & (ph->p_align - 1)) != 0) {
		return elf_perr(c, "ELF: PT_TLS alignment 0x%" PRIx64 " is not a power of two",
				ph->p_align);
	}
	/* The initialisation image (filesz) must be part of the loaded image. */
	rel = ph->p_vaddr - img->first_vaddr;
	if (__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &end) ||
	    ph->p_vaddr < img->first_vaddr || rel > img->span || ph->p_filesz > img->span - rel) {
		return elf_perr(c, "ELF: PT_TLS outside the image");
	}
	img->tls_vaddr = ph->p_vaddr;
	img->tls_filesz = ph->p_filesz;
	img->tls_memsz = ph->p_memsz;
	img->tls_align = ph->p_align;
	return 0;
}

/* ---- notes ---- */

static bool note_is(const GElf_Nhdr *nh, const uint8_t *name, const char *want, uint32_t type)
{
	size_t n = strlen(want) + 1; /* namesz counts the NUL */

	return nh->n_type == type && nh->n_namesz == n && memcmp(name, want, n) == 0;
}

static int note_once(struct parse_ctx *c, unsigned bit, const char *what)
{
	if (c->notes & bit) {
		return elf_perr(c, "ELF: duplicate %s note", what);
	}
	c->notes |= bit;
	return 0;
}

static int handle_note(struct parse_ctx *c, const GElf_Nhdr *nh, const uint8_t *name,
		       const uint8_t *desc)
{
	struct elf_image *img = c->img;
	uint32_t w[4];

	if (note_is(nh, name, HERMIT_NOTE_NAME, HERMIT_NT_ENTRY_VERSION)) {
		if (note_once(c, NOTE_HERMIT, "HERMIT entry-version") != 0) {
			return -1;
		}
		if (nh->n_descsz != 1) {
			return elf_perr(c, "ELF: malformed HERMIT entry-version note");
		}
		img->entry_version = desc[0];
		if (img->entry_version != HERMIT_ENTRY_VERSION) {
			return elf_perr(
			    c, "ELF: unsupported Hermit entry version %" PRIu32 " (need %d)",
			    img->entry_version, HERMIT_ENTRY_VERSION);
		}
	} else if (note_is(nh, name, UHYVEIF_NOTE_NAME, UHYVEIF_NT_VERSION)) {
		if (note_once(c, NOTE_UHYVEIF, "UHYVEIF") != 0) {
			return -1;
		}
		if (nh->n_descsz != 4) {
			return elf_perr(c, "ELF: malformed UHYVEIF note");
		}
		/* Big-endian in the file (hermit-entry writes to_be_bytes). */
		img->uhyve_if = (uint32_t)desc[0] << 24 | (uint32_t)desc[1] << 16 |
				(uint32_t)desc[2] << 8 | (uint32_t)desc[3];
		if (img->uhyve_if < 1 || img->uhyve_if > 3) {
			return elf_perr(c, "ELF: unsupported uhyve interface version %" PRIu32,
					img->uhyve_if);
		}
	} else if (note_is(nh, name, GNU_NOTE_NAME, GNU_NT_ABI_TAG)) {
		if (nh->n_descsz != sizeof w) {
			return elf_perr(c, "ELF: malformed GNU ABI tag note");
		}
		memcpy(w, desc, sizeof w); /* little-endian u32s, host order */
		if (w[0] != GNU_ABI_TAG_OS_HERMIT) {
			return 0; /* an ABI tag for another OS: not ours */
		}
		if (note_once(c, NOTE_VERSION, "Hermit version") != 0) {
			return -1;
		}
		img->has_hermit_version = 1;
		memcpy(img->hermit_version, &w[1], sizeof img->hermit_version);
	}
	return 0;
}

/* Defence in depth: gelf_getnote() already checked this, but we index with it. */
static bool note_fits(const Elf_Data *d, const GElf_Nhdr *nh, size_t name_off, size_t desc_off)
{
	return name_off <= d->d_size && nh->n_namesz <= d->d_size - name_off &&
	       desc_off <= d->d_size && nh->n_descsz <= d->d_size - desc_off;
}

static int parse_note_segment(struct parse_ctx *c, unsigned i, const GElf_Phdr *ph)
{
	Elf_Type type;
	Elf_Data *d;
	size_t off = 0;

	c->nnotes++;
	if (ph->p_align == 4) {
		type = ELF_T_NHDR;
	} else if (ph->p_align == 8) {
		type = ELF_T_NHDR8;
	} else {
		return elf_perr(c, "ELF: PT_NOTE segment %u has unsupported alignment 0x%" PRIx64,
				i, ph->p_align);
	}
	if (!elf_file_range_ok(c->len, ph->p_offset, ph->p_filesz)) {
		return elf_perr(c, "ELF: segment %u extends past end of file", i);
	}
	if (ph->p_filesz == 0) {
		return 0;
	}
	d = elf_getdata_rawchunk(c->elf, (int64_t)ph->p_offset, (size_t)ph->p_filesz, type);
	if (d == NULL) {
		return elf_perr(c, "ELF: cannot read notes of segment %u: %s", i, elf_libelf_msg());
	}
	while (off < d->d_size) {
		GElf_Nhdr nh;
		size_t name_off = 0, desc_off = 0;
		size_t next = gelf_getnote(d, off, &nh, &name_off, &desc_off);

		/* 0 = malformed (namesz/descsz past the end, or a trailing partial header). */
		if (next <= off || next > d->d_size || !note_fits(d, &nh, name_off, desc_off)) {
			return elf_perr(c, "ELF: malformed note in segment %u", i);
		}
		if (handle_note(c, &nh, (const uint8_t *)d->d_buf + name_off,
				(const uint8_t *)d->d_buf + desc_off) != 0) {
			return -1;
		}
		off = next;
	}
	return 0;
}

static int finish_notes(struct parse_ctx *c)
{
	if (c->nnotes == 0) {
		return elf_perr(c, "ELF: no PT_NOTE segment");
	}
	if (!(c->notes & NOTE_HERMIT)) {
		return elf_perr(c, "ELF: missing HERMIT entry-version note");
	}
	if (!(c->notes & NOTE_UHYVEIF)) {
		c->img->uhyve_if = 1; /* hermit-abi.md a.1: interface v1 when absent */
	}
	return 0;
}

static int scan_phdr(struct parse_ctx *c, unsigned i, const GElf_Phdr *ph)
{
	switch (ph->p_type) {
	case PT_LOAD:
		return add_load(c, i, ph);
	case PT_NOTE:
		return parse_note_segment(c, i, ph);
	case PT_TLS:
		if (c->has_tls) {
			return elf_perr(c, "ELF: more than one PT_TLS segment");
		}
		c->has_tls = true;
		c->tls_ph = *ph;
		return 0;
	case PT_DYNAMIC:
		if (c->has_dyn) {
			return elf_perr(c, "ELF: more than one PT_DYNAMIC segment");
		}
		c->has_dyn = true;
		c->dyn_idx = i;
		c->dyn_ph = *ph;
		return 0;
	default:
		return 0;
	}
}

static int scan_phdrs(struct parse_ctx *c)
{
	for (unsigned i = 0; i < c->eh.e_phnum; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(c->elf, (int)i, &ph) == NULL) {
			return elf_perr(c, "ELF: cannot read program header %u: %s", i,
					elf_libelf_msg());
		}
		if (scan_phdr(c, i, &ph) != 0) {
			return -1;
		}
	}
	return 0;
}

/* ---- elf_parse ---- */

static pthread_once_t libelf_once = PTHREAD_ONCE_INIT;
static bool libelf_ok;

static void libelf_init(void)
{
	libelf_ok = elf_version(EV_CURRENT) != EV_NONE;
}

static int parse_all(struct parse_ctx *c)
{
	if (check_ident(c) != 0) {
		return -1;
	}
	if (pthread_once(&libelf_once, libelf_init) != 0 || !libelf_ok) {
		return elf_perr(c, "ELF: libelf initialisation failed");
	}
	/* elf_memory() wants a non-const pointer.  It opens the buffer read-only (ELF_C_READ on
	 * caller memory) and, for a file in host byte order (checked above), libelf only
	 * reads it; we never call elf_update() or elf_flag*(), so nothing writes through it. */
	c->elf = elf_memory((char *)(uintptr_t)c->buf, c->len);
	if (c->elf == NULL) {
		return elf_perr(c, "ELF: libelf: %s", elf_libelf_msg());
	}
	if (elf_kind(c->elf) != ELF_K_ELF) {
		return elf_perr(c, "ELF: not an ELF image");
	}
	if (gelf_getehdr(c->elf, &c->eh) == NULL) {
		return elf_perr(c, "ELF: cannot read the ELF header: %s", elf_libelf_msg());
	}
	if (check_ehdr(c) != 0 || scan_phdrs(c) != 0 || finish_loads(c) != 0 ||
	    finish_notes(c) != 0 || check_tls(c) != 0 || elf_parse_dynamic(c) != 0 ||
	    elf_parse_relocs(c) != 0) {
		return -1;
	}
	return 0;
}

int elf_parse(const uint8_t *buf, size_t len, struct elf_image *img, char *err, size_t errlen)
{
	struct parse_ctx c = {.buf = buf, .len = len, .img = img, .err = err, .errlen = errlen};
	int ret = -1;

	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	if (img == NULL) {
		return elf_set_err(err, errlen, "ELF: no image descriptor");
	}
	memset(img, 0, sizeof *img);
	if (parse_all(&c) != 0) {
		goto out;
	}
	ret = 0;
out:
	elf_end(c.elf); /* frees the raw chunks too; NULL is fine */
	if (ret != 0) {
		memset(img, 0, sizeof *img);
	}
	return ret;
}
