/* SPDX-License-Identifier: MIT */
/* fuzz_elf.c - the ELF loader (vmm/elf_load.c, and libelf under it): elf_parse + elf_load.
 *
 * Input: a kernel image.  Three bytes of e_ident padding, which the loader ignores, choose
 * where it goes (so every seed stays a valid image):
 *   e_ident[9]   RAM size: bit 7 clear: span + e_ident[9] * 256 bytes of slack after the
 *                image; set: RAM ends (e_ident[9] & 0x7f) * 64 bytes short of the image end
 *   e_ident[10]  pages of RAM below the load address
 *   e_ident[11]  PIE only: low bits (& 7) added to the load address (unaligned loads)
 *
 * Oracles: the image is copied to the end of a guarded buffer (reads past it fault without
 * ASan too); guest RAM is a guarded arena (fuzz.h) pre-filled with 0xcc.  After a successful
 * parse the image description must be consistent with the buffer; after a successful load,
 * every RAM byte outside [load, load + span) must still be 0xcc, and inside it every byte
 * must be the segment's file byte or zero (bss, gaps), except the 8-byte relocation slots.
 */
#include <elf.h>
#include <string.h>

#include "elf_load.h"
#include "fuzz.h"

#define ELF_IN_MAX  (2u << 20)
#define ELF_RAM_MAX (4u << 20)
#define PIE_START   0x200000ull

static uint8_t g_reloc[ELF_RAM_MAX / 8]; /* bitmap over the span: relocation slot bytes */

static bool in_file(size_t len, uint64_t off, uint64_t n)
{
	return off <= len && n <= len - off;
}

static void check_image(const struct elf_image *img, size_t len)
{
	uint64_t prev_end = 0;

	if (img->nseg == 0 || img->nseg > ELF_MAX_SEGMENTS || img->span > ELF_MAX_IMAGE_SPAN) {
		FUZZ_BUG("parse ok but nseg %u span 0x%llx", img->nseg,
			 (unsigned long long)img->span);
	}
	if (img->entry < img->first_vaddr || img->entry - img->first_vaddr >= img->span) {
		FUZZ_BUG("parse ok but entry outside the image");
	}
	if (img->seg[0].vaddr != img->first_vaddr) {
		FUZZ_BUG("parse ok but first_vaddr is not the first segment's");
	}
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct elf_segment *s = &img->seg[i];
		uint64_t rel = s->vaddr - img->first_vaddr;

		if (!in_file(len, s->offset, s->filesz) || s->filesz > s->memsz ||
		    s->vaddr < img->first_vaddr || rel > img->span || s->memsz > img->span - rel) {
			FUZZ_BUG("parse ok but segment %u is inconsistent", i);
		}
		if (i > 0 && rel < prev_end) {
			FUZZ_BUG("parse ok but segments %u and %u overlap", i - 1, i);
		}
		prev_end = rel + s->memsz;
	}
	if (img->rela_count > len / sizeof(Elf64_Rela) ||
	    !in_file(len, img->rela_off, img->rela_count * sizeof(Elf64_Rela)) ||
	    img->symtab_count > len / sizeof(Elf64_Sym) ||
	    !in_file(len, img->symtab_off, img->symtab_count * sizeof(Elf64_Sym))) {
		FUZZ_BUG("parse ok but relocation/symbol tables outside the file");
	}
	if (!img->is_pie && (img->rela_count != 0 || img->symtab_count != 0)) {
		FUZZ_BUG("ET_EXEC with relocations to apply");
	}
	if (img->tls_memsz != 0 &&
	    (img->tls_filesz > img->tls_memsz || img->tls_vaddr < img->first_vaddr ||
	     img->tls_vaddr - img->first_vaddr > img->span ||
	     img->tls_filesz > img->span - (img->tls_vaddr - img->first_vaddr))) {
		FUZZ_BUG("parse ok but PT_TLS outside the image");
	}
}

/* Marks the relocation slots inside the span (elf_parse checked they are). */
static void mark_relocs(const struct elf_image *img, const uint8_t *buf)
{
	memset(g_reloc, 0, (size_t)(img->span + 7) / 8);
	for (uint64_t i = 0; i < img->rela_count; i++) {
		Elf64_Rela r;
		uint64_t rel;

		memcpy(&r, buf + img->rela_off + i * sizeof r, sizeof r);
		rel = r.r_offset - img->first_vaddr;
		if (r.r_offset < img->first_vaddr || img->span < 8 || rel > img->span - 8) {
			FUZZ_BUG("relocation %llu at 0x%llx outside the span",
				 (unsigned long long)i, (unsigned long long)r.r_offset);
		}
		for (uint64_t k = rel; k < rel + 8; k++) {
			g_reloc[k / 8] |= (uint8_t)(1u << (k % 8));
		}
	}
}

/* What the span must hold after loading: each segment's file bytes, zeros elsewhere. */
static const uint8_t *expected_span(const struct elf_image *img, const uint8_t *buf)
{
	static uint8_t exp[ELF_RAM_MAX];

	memset(exp, 0, (size_t)img->span);
	for (unsigned i = 0; i < img->nseg; i++) {
		const struct elf_segment *s = &img->seg[i];

		memcpy(exp + (s->vaddr - img->first_vaddr), buf + s->offset, (size_t)s->filesz);
	}
	return exp;
}

static void check_ram(const struct elf_image *img, const uint8_t *buf, const uint8_t *ram,
		      size_t ramsz, uint64_t off)
{
	const uint8_t *exp = expected_span(img, buf);

	for (uint64_t o = 0; o < ramsz; o++) {
		uint64_t so = o - off;

		if (o < off || so >= img->span) {
			if (ram[o] != 0xcc) {
				FUZZ_BUG("elf_load wrote RAM offset 0x%llx outside the image span",
					 (unsigned long long)o);
			}
		} else if (!(g_reloc[so / 8] & (1u << (so % 8))) && ram[o] != exp[so]) {
			FUZZ_BUG("loaded byte at span offset 0x%llx is 0x%02x, want 0x%02x",
				 (unsigned long long)so, ram[o], exp[so]);
		}
	}
}

static void load(const struct elf_image *img, const uint8_t *buf, size_t len, struct garena *rama)
{
	uint8_t room = buf[EI_PAD], below = buf[EI_PAD + 1], mis = buf[EI_PAD + 2];
	uint64_t off = (uint64_t)below << 12, want, start, load_addr;
	struct gmem mem;
	uint8_t *ram;
	char err[256];
	int rc;

	if (img->is_pie) {
		off += mis & 7u;
		start = PIE_START;
	} else {
		off = off < img->first_vaddr ? off : img->first_vaddr;
		start = img->first_vaddr - off;
	}
	load_addr = start + off;
	want = off + img->span;
	if (room & 0x80) {
		uint64_t shortby = (uint64_t)(room & 0x7f) * 64;
		want = want > shortby ? want - shortby : 1;
	} else {
		want += (uint64_t)room * 256;
	}
	if (want > ELF_RAM_MAX) {
		want = ELF_RAM_MAX;
	}
	if (want == 0 || start + want < start) {
		return; /* RAM would wrap the address space: not a configuration the VMM makes */
	}
	ram = garena_place(rama, (size_t)want);
	memset(ram, 0xcc, (size_t)want);
	gmem_init_arena(&mem, ram, start, want);
	rc = elf_load(img, buf, len, &mem, load_addr, err, sizeof err);
	garena_check(rama, "elf_load");
	if (rc == 0) {
		if (off + img->span > want) {
			FUZZ_BUG("elf_load succeeded but the image does not fit in RAM");
		}
		mark_relocs(img, buf);
		check_ram(img, buf, ram, (size_t)want, off);
	} else if (err[0] == '\0') {
		FUZZ_BUG("elf_load failed without a reason");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct garena ina, rama;
	static bool ready;
	struct elf_image img;
	char err[256];
	uint8_t *buf;

	if (!ready) {
		garena_init(&ina, ELF_IN_MAX);
		garena_init(&rama, ELF_RAM_MAX);
		ready = true;
	}
	if (size > ELF_IN_MAX) {
		size = ELF_IN_MAX;
	}
	/* Ends at a guard page.  A zero-length input still gets a (0-byte) valid pointer. */
	buf = garena_place(&ina, size > 0 ? size : 1) + (size > 0 ? 0 : 1);
	if (size > 0) {
		memcpy(buf, data, size);
	}
	if (elf_parse(buf, size, &img, err, sizeof err) != 0) {
		if (err[0] == '\0') {
			FUZZ_BUG("elf_parse failed without a reason");
		}
		return 0;
	}
	check_image(&img, size);
	load(&img, buf, size, &rama);
	garena_check(&ina, "elf_parse");
	return 0;
}
