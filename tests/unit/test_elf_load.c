/* SPDX-License-Identifier: MIT */
/* test_elf_load.c - cmocka tests for the ELF loader: valid images, one test per rejection
 * rule, loading and relocation into a gmem arena, truncations and random byte flips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "elf_builder.h"
#include "elf_load.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define RAM_START 0x200000ull
#define RAM_SIZE  0x100000ull
#define LOAD_ADDR (RAM_START + 0x40000ull)

/* ---- helpers ---- */

static int parse(const uint8_t *b, size_t len, struct elf_image *img, char *err, size_t errlen)
{
	/* An exact-size heap copy, so ASan catches any read past len. */
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	if (len > 0) {
		memcpy(copy, b, len);
	}
	r = elf_parse(copy, len, img, err, errlen);
	free(copy);
	return r;
}

static void parse_ok(const uint8_t *b, size_t len, struct elf_image *img)
{
	char err[256] = "";
	int r = parse(b, len, img, err, sizeof err);

	if (r != 0) {
		print_error("unexpected rejection: %s\n", err);
	}
	assert_int_equal(r, 0);
	assert_string_equal(err, "");
}

static void build(uint8_t *b, const struct eb_opts *o)
{
	(void)eb_build(b, o);
}

struct arena {
	uint8_t *mem;
	struct gmem m;
};

static void arena_init(struct arena *a, uint64_t start)
{
	a->mem = calloc(1, RAM_SIZE);
	assert_non_null(a->mem);
	memset(a->mem, 0xcc, RAM_SIZE); /* stale content that loading must overwrite */
	gmem_init_arena(&a->m, a->mem, start, RAM_SIZE);
}

static uint64_t arena_get64(const struct arena *a, uint64_t gpa_raw)
{
	uint64_t v;

	assert_int_equal(gmem_copy_from(&a->m, &v, gpa(gpa_raw), sizeof v), 0);
	return v;
}

static const uint8_t *arena_at(const struct arena *a, uint64_t gpa_raw)
{
	return a->mem + (gpa_raw - a->m.start);
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != v) {
			return false;
		}
	}
	return true;
}

static struct eb_opts full_opts(void)
{
	struct eb_opts o = eb_defaults();

	o.uhyve_if = 2;
	o.gnu = 1;
	o.gnu_ver[1] = 10;
	return o;
}

/* ---- valid images ---- */

static void test_parse_valid(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;

	(void)state;
	build(b, &o);
	parse_ok(b, sizeof b, &img);
	assert_int_equal(img.is_pie, 1);
	assert_int_equal(img.entry, EB_ENTRY);
	assert_int_equal(img.first_vaddr, 0);
	assert_int_equal(img.span, EB_SPAN);
	assert_int_equal(img.nseg, 2);
	assert_int_equal(img.seg[0].offset, 0);
	assert_int_equal(img.seg[0].vaddr, 0);
	assert_int_equal(img.seg[0].filesz, EB_LOAD0_FILESZ);
	assert_int_equal(img.seg[0].memsz, EB_LOAD0_FILESZ);
	assert_int_equal(img.seg[1].offset, EB_LOAD1_OFF);
	assert_int_equal(img.seg[1].vaddr, EB_LOAD1_OFF);
	assert_int_equal(img.seg[1].filesz, EB_LOAD1_FILESZ);
	assert_int_equal(img.seg[1].memsz, EB_LOAD1_MEMSZ);
	assert_int_equal(img.entry_version, 4);
	assert_int_equal(img.uhyve_if, 1); /* no UHYVEIF note: default 1 */
	assert_int_equal(img.has_hermit_version, 0);
	assert_int_equal(img.tls_vaddr, EB_TLS_OFF);
	assert_int_equal(img.tls_filesz, EB_TLS_FILESZ);
	assert_int_equal(img.tls_memsz, EB_TLS_MEMSZ);
	assert_int_equal(img.tls_align, 8);
	assert_int_equal(img.rela_off, EB_RELA_OFF);
	assert_int_equal(img.rela_count, EB_NRELA);
	assert_int_equal(img.symtab_off, EB_SYM_OFF);
	assert_int_equal(img.symtab_count, (EB_LOAD0_FILESZ - EB_SYM_OFF) / sizeof(Elf64_Sym));
	assert_int_equal(elf_wants_legacy_mapping(&img), 1);
}

static void test_parse_uhyveif(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;

	(void)state;
	for (uint32_t v = 1; v <= 3; v++) {
		o.uhyve_if = v;
		build(b, &o);
		parse_ok(b, sizeof b, &img);
		assert_int_equal(img.uhyve_if, v);
	}
}

static void test_uhyveif_big_endian(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;
	struct eb_info inf;
	char err[256];

	(void)state;
	o.uhyve_if = 2;
	inf = eb_build(b, &o);
	assert_memory_equal(b + inf.uhyveif_off + 20, "\0\0\0\2", 4);
	parse_ok(b, sizeof b, &img);
	assert_int_equal(img.uhyve_if, 2);
	/* The same value stored little-endian reads as 0x02000000 and is refused. */
	memcpy(b + inf.uhyveif_off + 20, "\2\0\0\0", 4);
	assert_int_equal(parse(b, sizeof b, &img, err, sizeof err), -1);
	assert_string_equal(err, "ELF: unsupported uhyve interface version 33554432");
}

static void check_version(uint32_t os, uint32_t major, uint32_t minor, uint32_t patch, int has,
			  int legacy)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;

	o.gnu = 1;
	o.gnu_os = os;
	o.gnu_ver[0] = major;
	o.gnu_ver[1] = minor;
	o.gnu_ver[2] = patch;
	build(b, &o);
	parse_ok(b, sizeof b, &img);
	assert_int_equal(img.has_hermit_version, has);
	if (has) {
		assert_int_equal(img.hermit_version[0], major);
		assert_int_equal(img.hermit_version[1], minor);
		assert_int_equal(img.hermit_version[2], patch);
	}
	assert_int_equal(elf_wants_legacy_mapping(&img), legacy);
}

static void test_hermit_version(void **state)
{
	(void)state;
	check_version(6, 0, 10, 2, 1, 0);
	check_version(6, 0, 10, 0, 1, 0);
	check_version(6, 0, 9, 99, 1, 1);
	check_version(6, 0, 6, 9, 1, 1);
	check_version(6, 1, 0, 0, 1, 0);
	check_version(3, 0, 10, 0, 0, 1); /* ABI tag of another OS: ignored */
}

static void test_note_align8(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = full_opts();
	struct elf_image img;
	struct eb_info inf;

	(void)state;
	o.note_align = 8;
	o.uhyve_if = 3;
	inf = eb_build(b, &o);
	assert_int_equal(inf.uhyveif_off - inf.hermit_off, 32); /* 12 + 7 -> 24, + 1 -> 32 */
	parse_ok(b, sizeof b, &img);
	assert_int_equal(img.uhyve_if, 3);
	assert_int_equal(img.has_hermit_version, 1);
	assert_int_equal(img.hermit_version[1], 10);
}

static void test_osabi_any(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;

	(void)state;
	build(b, &o);
	b[EI_OSABI] = ELFOSABI_NONE; /* hermit-entry only warns */
	parse_ok(b, sizeof b, &img);
}

static void test_tls_align_0_1(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;
	Elf64_Phdr ph;

	(void)state;
	for (uint64_t a = 0; a <= 1; a++) {
		build(b, &o);
		eb_get_phdr(b, EB_PH_TLS, &ph);
		ph.p_align = a;
		eb_set_phdr(b, EB_PH_TLS, &ph);
		parse_ok(b, sizeof b, &img);
		assert_int_equal(img.tls_align, a);
	}
}

static void test_no_tls_no_dynamic(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;
	Elf64_Phdr ph = {.p_type = PT_NULL};

	(void)state;
	build(b, &o);
	eb_set_phdr(b, EB_PH_TLS, &ph);
	eb_set_phdr(b, EB_PH_DYN, &ph);
	parse_ok(b, sizeof b, &img);
	assert_int_equal(img.tls_vaddr | img.tls_filesz | img.tls_memsz | img.tls_align, 0);
	assert_int_equal(img.rela_count, 0);
}

static void test_reloc_bounds_accepted(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;

	(void)state;
	build(b, &o);
	eb_rela(b, 5, EB_SPAN - 8, 0, R_X86_64_RELATIVE, 0); /* last slot of the span */
	eb_rela(b, 1, EB_SLOT_OFF + 8, 15, R_X86_64_64, 0); /* last symbol */
	eb_dyn(b, 6, DT_RELCOUNT, 0); /* zero is fine */
	parse_ok(b, sizeof b, &img);
}

/* Section headers are never used: libelf ignores a truncated table, and garbage ones are
 * harmless unless libelf itself needs them. */
static void test_section_headers_ignored(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;
	Elf64_Ehdr eh;
	char err[256];

	(void)state;
	build(b, &o);
	eb_get_ehdr(b, &eh);
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shoff = EB_SIZE - 8;
	eh.e_shnum = 2;
	eb_set_ehdr(b, &eh);
	parse_ok(b, sizeof b, &img);
	eh.e_shoff = EB_TLS_OFF; /* over data bytes */
	eh.e_shnum = 1;
	eh.e_shstrndx = 7;
	eb_set_ehdr(b, &eh);
	parse_ok(b, sizeof b, &img);
	/* Extended numbering takes the count from section 0's sh_size, here filler bytes:
	 * libelf refuses that when it opens the image, and we report its reason. */
	eh.e_shnum = 0;
	eb_set_ehdr(b, &eh);
	assert_int_equal(parse(b, sizeof b, &img, err, sizeof err), -1);
	assert_string_equal(err, "ELF: libelf: invalid ELF file data");
}

/* ---- loading ---- */

static void check_loaded_pie(const struct arena *a, const uint8_t *b, uint64_t L)
{
	const uint8_t *img = arena_at(a, L);

	assert_memory_equal(img, b, EB_LOAD0_FILESZ);
	assert_true(all_bytes(img + EB_LOAD0_FILESZ, EB_LOAD1_OFF - EB_LOAD0_FILESZ, 0)); /* gap */
	assert_memory_equal(img + EB_LOAD1_OFF, b + EB_LOAD1_OFF, EB_SLOT_OFF - EB_LOAD1_OFF);
	assert_memory_equal(img + EB_SLOT_OFF + 40, b + EB_SLOT_OFF + 40,
			    EB_SIZE - EB_SLOT_OFF - 40);
	assert_int_equal(arena_get64(a, L + EB_SLOT_OFF + 0), L + EB_ENTRY); /* RELATIVE */
	assert_int_equal(arena_get64(a, L + EB_SLOT_OFF + 8), L + EB_SYM1_VALUE + 0x10); /* 64 */
	assert_int_equal(arena_get64(a, L + EB_SLOT_OFF + 16), L + EB_SYM1_VALUE); /* GLOB_DAT */
	assert_int_equal(arena_get64(a, L + EB_SLOT_OFF + 24), 0); /* weak undefined */
	assert_int_equal(arena_get64(a, L + EB_SLOT_OFF + 32), 0); /* weak undefined */
	assert_int_equal(arena_get64(a, L + EB_BSS_SLOT), L + EB_SLOT_OFF); /* RELATIVE in bss */
	assert_true(all_bytes(img + EB_SIZE, EB_BSS_SLOT - EB_SIZE, 0));
	assert_true(all_bytes(img + EB_BSS_SLOT + 8, EB_SPAN - EB_BSS_SLOT - 8, 0));
	/* Nothing outside the span was touched. */
	assert_true(all_bytes(a->mem, L - a->m.start, 0xcc));
	assert_true(all_bytes(img + EB_SPAN, RAM_SIZE - (L - a->m.start) - EB_SPAN, 0xcc));
}

static void test_load_pie(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = full_opts();
	struct elf_image img;
	struct arena a;
	char err[256] = "";

	(void)state;
	build(b, &o);
	parse_ok(b, sizeof b, &img);
	arena_init(&a, RAM_START);
	assert_int_equal(elf_load(&img, b, sizeof b, &a.m, LOAD_ADDR, err, sizeof err), 0);
	assert_string_equal(err, "");
	check_loaded_pie(&a, b, LOAD_ADDR);
	free(a.mem);
}

/* PIE linked at a non-zero address, one PT_LOAD: base = load_addr - first_vaddr. */
static void test_load_pie_vbase(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;
	struct arena a;
	char err[256] = "";
	const uint64_t L = LOAD_ADDR + 0x10000;

	(void)state;
	o.vbase = 0x40000000;
	o.single_load = 1;
	build(b, &o);
	parse_ok(b, sizeof b, &img);
	assert_int_equal(img.nseg, 1);
	assert_int_equal(img.first_vaddr, 0x40000000);
	assert_int_equal(img.entry, 0x40000000 + EB_ENTRY);
	assert_int_equal(img.span, EB_SPAN);
	arena_init(&a, RAM_START);
	assert_int_equal(elf_load(&img, b, sizeof b, &a.m, L, err, sizeof err), 0);
	assert_memory_equal(arena_at(&a, L), b, EB_SLOT_OFF);
	assert_int_equal(arena_get64(&a, L + EB_SLOT_OFF + 0), L + EB_ENTRY);
	assert_int_equal(arena_get64(&a, L + EB_SLOT_OFF + 8), L + EB_SYM1_VALUE + 0x10);
	assert_int_equal(arena_get64(&a, L + EB_SLOT_OFF + 16), L + EB_SYM1_VALUE);
	assert_int_equal(arena_get64(&a, L + EB_SLOT_OFF + 24), 0);
	assert_int_equal(arena_get64(&a, L + EB_BSS_SLOT), L + EB_SLOT_OFF);
	free(a.mem);
}

static void test_load_exec(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;
	struct arena a;
	char err[256] = "";
	const uint64_t V = 0x800000;

	(void)state;
	o.type = ET_EXEC;
	o.vbase = V;
	build(b, &o);
	parse_ok(b, sizeof b, &img);
	assert_int_equal(img.is_pie, 0);
	assert_int_equal(img.first_vaddr, V);
	assert_int_equal(img.entry, V + EB_ENTRY);
	assert_int_equal(img.tls_vaddr, V + EB_TLS_OFF);
	assert_int_equal(img.rela_count, 0); /* validated, never applied */
	assert_int_equal(img.symtab_count, 0);
	arena_init(&a, V - 0x40000);
	assert_int_equal(elf_load(&img, b, sizeof b, &a.m, V, err, sizeof err), 0);
	assert_memory_equal(arena_at(&a, V), b, EB_LOAD0_FILESZ);
	assert_memory_equal(arena_at(&a, V + EB_LOAD1_OFF), b + EB_LOAD1_OFF, EB_LOAD1_FILESZ);
	for (unsigned k = 0; k < 5; k++) {
		assert_int_equal(arena_get64(&a, V + EB_SLOT_OFF + 8 * k), eb_slot_init[k]);
	}
	assert_true(all_bytes(arena_at(&a, V + EB_SIZE), EB_SPAN - EB_SIZE, 0));
	free(a.mem);
}

static void test_load_exec_wrong_addr(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;
	struct arena a;
	char err[256];

	(void)state;
	o.type = ET_EXEC;
	o.vbase = 0x800000;
	build(b, &o);
	parse_ok(b, sizeof b, &img);
	arena_init(&a, 0x7c0000);
	assert_int_equal(elf_load(&img, b, sizeof b, &a.m, 0x810000, err, sizeof err), -1);
	assert_string_equal(err, "ELF: ET_EXEC image must be loaded at 0x800000 (got 0x810000)");
	assert_true(all_bytes(a.mem, RAM_SIZE, 0xcc));
	free(a.mem);
}

static void test_load_outside_ram(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;
	struct arena a;
	char err[256];
	const uint64_t bad[] = {RAM_START + RAM_SIZE - EB_SPAN + 1, RAM_START - 0x1000,
				RAM_START + RAM_SIZE, UINT64_MAX - 0x100, 0};

	(void)state;
	build(b, &o);
	parse_ok(b, sizeof b, &img);
	arena_init(&a, RAM_START);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(elf_load(&img, b, sizeof b, &a.m, bad[i], err, sizeof err), -1);
		assert_non_null(strstr(err, "does not fit in guest RAM"));
	}
	assert_true(all_bytes(a.mem, RAM_SIZE, 0xcc)); /* nothing written */
	/* The last address that fits works. */
	assert_int_equal(
	    elf_load(&img, b, sizeof b, &a.m, RAM_START + RAM_SIZE - EB_SPAN, err, sizeof err), 0);
	free(a.mem);
}

static void test_load_mismatched_buffer(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;
	struct arena a;
	char err[256];

	(void)state;
	build(b, &o);
	parse_ok(b, sizeof b, &img);
	arena_init(&a, RAM_START);
	assert_int_equal(elf_load(&img, b, EB_SIZE - 1, &a.m, LOAD_ADDR, err, sizeof err), -1);
	assert_string_equal(err, "ELF: image description does not match the buffer");
	img.rela_off = EB_SIZE - 8;
	assert_int_equal(elf_load(&img, b, sizeof b, &a.m, LOAD_ADDR, err, sizeof err), -1);
	assert_string_equal(err, "ELF: image description does not match the buffer");
	free(a.mem);
}

static void test_null_and_small_err(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = eb_defaults();
	struct elf_image img;
	char err[8];

	(void)state;
	build(b, &o);
	b[0] = 0;
	assert_int_equal(elf_parse(b, sizeof b, &img, NULL, 0), -1);
	assert_int_equal(elf_parse(b, sizeof b, &img, err, sizeof err), -1);
	assert_string_equal(err, "ELF: no"); /* truncated, NUL-terminated */
	assert_int_equal(elf_parse(NULL, 0, &img, err, sizeof err), -1);
	assert_int_equal(elf_parse(b, sizeof b, NULL, err, sizeof err), -1);
}

/* The VMM maps the kernel file PROT_READ: neither we nor libelf may write to the buffer. */
static void test_readonly_buffer(void **state)
{
	struct eb_opts o = full_opts();
	struct elf_image img;
	struct arena a;
	char err[256] = "";
	uint8_t *ro =
	    mmap(NULL, EB_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	(void)state;
	assert_true(ro != MAP_FAILED);
	build(ro, &o);
	assert_int_equal(mprotect(ro, EB_SIZE, PROT_READ), 0);
	assert_int_equal(elf_parse(ro, EB_SIZE, &img, err, sizeof err), 0);
	arena_init(&a, RAM_START);
	assert_int_equal(elf_load(&img, ro, EB_SIZE, &a.m, LOAD_ADDR, err, sizeof err), 0);
	check_loaded_pie(&a, ro, LOAD_ADDR);
	free(a.mem);
	munmap(ro, EB_SIZE);
}

/* ---- robustness ---- */

static void test_truncations(void **state)
{
	uint8_t b[EB_SIZE];
	struct eb_opts o = full_opts();
	struct elf_image img;
	char err[256];

	(void)state;
	build(b, &o);
	for (size_t len = 0; len < EB_SIZE; len++) {
		err[0] = '\0';
		/* The last PT_LOAD ends at EOF, so every prefix must be refused. */
		assert_int_equal(parse(b, len, &img, err, sizeof err), -1);
		assert_true(strncmp(err, "ELF: ", 5) == 0);
	}
}

#define FLIPS 4000u

static uint64_t rng_state = 0x5eed0fe1f10adull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Mostly the bytes the parser interprets: headers, notes, symbols, relocations, dynamic
 * entries and the weak slots; sometimes anywhere. */
static size_t flip_offset(void)
{
	static const struct {
		size_t off, len;
	} hot[] = {
	    {0, EB_PHOFF + EB_NPH * sizeof(Elf64_Phdr)},
	    {EB_NOTE_OFF, 0x60},
	    {EB_SYM_OFF, EB_NSYM * sizeof(Elf64_Sym)},
	    {EB_RELA_OFF, EB_NRELA * sizeof(Elf64_Rela)},
	    {EB_DYN_OFF, EB_NDYN * sizeof(Elf64_Dyn)},
	    {EB_SLOT_OFF, 40},
	};
	uint64_t r = rng() % (ARRAY_SIZE(hot) + 1);

	if (r == ARRAY_SIZE(hot)) {
		return (size_t)(rng() % EB_SIZE);
	}
	return hot[r].off + (size_t)(rng() % hot[r].len);
}

static void mutate(uint8_t *b)
{
	static const uint64_t special[] = {0,	    1,	     8,		 24,	     0x7fffffff,
					   EB_SIZE, EB_SPAN, 1ull << 34, UINT64_MAX, INT64_MAX};
	unsigned n = 1 + (unsigned)(rng() % 4);

	for (unsigned k = 0; k < n; k++) {
		size_t off = flip_offset();
		uint64_t r = rng();

		if (r % 8 == 0 && off <= EB_SIZE - 8) {
			eb_put64(b, off & ~(size_t)7, special[rng() % ARRAY_SIZE(special)]);
		} else if (r % 2 == 0) {
			b[off] ^= (uint8_t)(1u << (rng() % 8));
		} else {
			b[off] = (uint8_t)rng();
		}
	}
}

static void flip_one(const uint8_t *valid, struct arena *a, unsigned *accepted)
{
	uint8_t *b = malloc(EB_SIZE);
	struct elf_image img;
	char err[256] = "";

	assert_non_null(b);
	memcpy(b, valid, EB_SIZE);
	mutate(b);
	if (elf_parse(b, EB_SIZE, &img, err, sizeof err) == 0) {
		(*accepted)++;
		assert_true(img.nseg >= 1 && img.span <= ELF_MAX_IMAGE_SPAN);
		assert_true(img.entry - img.first_vaddr < img.span);
		memset(a->mem, 0xcc, RAM_SIZE);
		uint64_t L = img.is_pie ? LOAD_ADDR : img.first_vaddr;
		if (elf_load(&img, b, EB_SIZE, &a->m, L, err, sizeof err) != 0) {
			assert_true(strncmp(err, "ELF: ", 5) == 0);
		}
	} else {
		assert_true(strncmp(err, "ELF: ", 5) == 0);
	}
	free(b);
}

static void test_random_flips(void **state)
{
	struct eb_opts opts[3] = {full_opts(), full_opts(), full_opts()};
	uint8_t valid[EB_SIZE];
	struct arena a;
	unsigned accepted = 0;

	(void)state;
	opts[1].note_align = 8;
	opts[2].type = ET_EXEC;
	opts[2].vbase = RAM_START + 0x40000;
	arena_init(&a, RAM_START);
	for (size_t v = 0; v < ARRAY_SIZE(opts); v++) {
		build(valid, &opts[v]);
		for (unsigned it = 0; it < FLIPS; it++) {
			flip_one(valid, &a, &accepted);
		}
	}
	print_message("# random flips: %u of %u mutants accepted\n", accepted, 3 * FLIPS);
	free(a.mem);
}

/* ---- rejections: one case per rule, each with its exact message ---- */

typedef void mutate_fn(uint8_t *b, size_t *len, const struct eb_info *inf);

struct reject_case {
	const char *name;
	mutate_fn *mutate;
	const char *msg;
};

#define CAP (EB_SIZE + 0x1000u)

static void run_reject(void **state)
{
	const struct reject_case *rc = *state;
	struct eb_opts o = full_opts();
	uint8_t *b = calloc(1, CAP);
	size_t len = EB_SIZE;
	struct eb_info inf;
	struct elf_image img;
	char err[256] = "";

	assert_non_null(b);
	inf = eb_build(b, &o);
	parse_ok(b, len, &img); /* the unmutated base image is valid */
	rc->mutate(b, &len, &inf);
	assert_true(len <= CAP);
	assert_int_equal(parse(b, len, &img, err, sizeof err), -1);
	assert_string_equal(err, rc->msg);
	free(b);
}

static void ph_set(uint8_t *b, unsigned i, int field, uint64_t v)
{
	Elf64_Phdr ph;

	eb_get_phdr(b, i, &ph);
	switch (field) {
	case 't':
		ph.p_type = (uint32_t)v;
		break;
	case 'o':
		ph.p_offset = v;
		break;
	case 'v':
		ph.p_vaddr = v;
		break;
	case 'f':
		ph.p_filesz = v;
		break;
	case 'm':
		ph.p_memsz = v;
		break;
	case 'a':
		ph.p_align = v;
		break;
	default:
		fail();
	}
	eb_set_phdr(b, i, &ph);
}

static Elf64_Ehdr *eh_edit(uint8_t *b, Elf64_Ehdr *eh)
{
	eb_get_ehdr(b, eh);
	return eh;
}

#define EH(field, value)                                                                           \
	do {                                                                                       \
		Elf64_Ehdr eh_;                                                                    \
		eh_edit(b, &eh_)->field = (value);                                                 \
		eb_set_ehdr(b, &eh_);                                                              \
	} while (0)

#define MUT(name) static void name(uint8_t *b, size_t *len, const struct eb_info *inf)
#define UNUSED_ARGS                                                                                \
	(void)b;                                                                                   \
	(void)len;                                                                                 \
	(void)inf

MUT(m_not_elf)
{
	UNUSED_ARGS;
	b[1] = 'X';
}
MUT(m_empty)
{
	UNUSED_ARGS;
	*len = 0;
}
MUT(m_truncated_ehdr)
{
	UNUSED_ARGS;
	*len = 40;
}
MUT(m_class32)
{
	UNUSED_ARGS;
	b[EI_CLASS] = ELFCLASS32;
}
MUT(m_big_endian)
{
	UNUSED_ARGS;
	b[EI_DATA] = ELFDATA2MSB;
}
MUT(m_ident_version)
{
	UNUSED_ARGS;
	b[EI_VERSION] = 2;
}
MUT(m_machine)
{
	UNUSED_ARGS;
	EH(e_machine, EM_AARCH64);
}
MUT(m_type_rel)
{
	UNUSED_ARGS;
	EH(e_type, ET_REL);
}
MUT(m_type_core)
{
	UNUSED_ARGS;
	EH(e_type, ET_CORE);
}
MUT(m_phentsize)
{
	UNUSED_ARGS;
	EH(e_phentsize, 32);
}
MUT(m_phnum_zero)
{
	UNUSED_ARGS;
	EH(e_phnum, 0);
}
MUT(m_phnum_many)
{
	UNUSED_ARGS;
	EH(e_phnum, 129);
}
MUT(m_phnum_xnum)
{
	UNUSED_ARGS;
	EH(e_phnum, PN_XNUM);
}
MUT(m_phoff_past_eof)
{
	UNUSED_ARGS;
	EH(e_phoff, EB_SIZE - 100);
}
MUT(m_phoff_overflow)
{
	UNUSED_ARGS;
	EH(e_phoff, UINT64_MAX - 8);
}
MUT(m_phoff_in_ehdr)
{
	UNUSED_ARGS;
	EH(e_phoff, 8);
}
MUT(m_load_filesz_gt_memsz)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_LOAD0, 'm', EB_LOAD0_FILESZ - 1);
}
MUT(m_load_past_eof)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_LOAD1, 'f', EB_LOAD1_FILESZ + 1);
}
MUT(m_load_offset_overflow)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_LOAD1, 'o', UINT64_MAX - 0x100);
}
MUT(m_load_vaddr_overflow)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_LOAD1, 'v', UINT64_MAX - 0x100);
}
MUT(m_load_unsorted)
{
	Elf64_Phdr p0, p1;

	UNUSED_ARGS;
	eb_get_phdr(b, EB_PH_LOAD0, &p0);
	eb_get_phdr(b, EB_PH_LOAD1, &p1);
	eb_set_phdr(b, EB_PH_LOAD0, &p1);
	eb_set_phdr(b, EB_PH_LOAD1, &p0);
}
MUT(m_load_overlap)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_LOAD1, 'v', EB_LOAD0_FILESZ - 1);
}
MUT(m_too_many_loads)
{
	UNUSED_ARGS;
	for (unsigned i = 0; i <= ELF_MAX_SEGMENTS; i++) {
		Elf64_Phdr ph = {.p_type = PT_LOAD, .p_vaddr = 0x1000ull * i, .p_memsz = 0x1000};
		memcpy(b + EB_SIZE + i * sizeof ph, &ph, sizeof ph);
	}
	EH(e_phoff, EB_SIZE);
	EH(e_phnum, ELF_MAX_SEGMENTS + 1);
	*len = EB_SIZE + (ELF_MAX_SEGMENTS + 1) * sizeof(Elf64_Phdr);
}
MUT(m_no_load)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_LOAD0, 't', PT_NULL);
	ph_set(b, EB_PH_LOAD1, 't', PT_NULL);
}
MUT(m_span_limit)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_LOAD1, 'v', ELF_MAX_IMAGE_SPAN);
}
MUT(m_entry_outside)
{
	UNUSED_ARGS;
	EH(e_entry, EB_SPAN);
}
MUT(m_no_note)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_NOTE, 't', PT_NULL);
}
MUT(m_note_past_eof)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_NOTE, 'o', EB_SIZE - 0x20);
}
MUT(m_note_align)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_NOTE, 'a', 16);
}
MUT(m_note_align0)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_NOTE, 'a', 0);
}
MUT(m_note_namesz)
{
	UNUSED_ARGS;
	eb_put32(b, inf->hermit_off, 0x10000);
}
MUT(m_note_descsz)
{
	UNUSED_ARGS;
	eb_put32(b, inf->gnu_off + 4, 0x100);
}
MUT(m_note_descsz_wrap)
{
	UNUSED_ARGS;
	eb_put32(b, inf->gnu_off + 4, 0xfffffffd);
}
MUT(m_note_trailing)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_NOTE, 'f', inf->notes_end - EB_NOTE_OFF + 4);
}
MUT(m_hermit_type)
{
	UNUSED_ARGS;
	eb_put32(b, inf->hermit_off + 8, 0x5a01);
}
MUT(m_hermit_name)
{
	UNUSED_ARGS;
	b[inf->hermit_off + 12 + 5] = 'X';
}
MUT(m_entry_version3)
{
	UNUSED_ARGS;
	b[inf->hermit_off + 20] = 3;
}
MUT(m_hermit_descsz)
{
	UNUSED_ARGS;
	eb_put32(b, inf->hermit_off + 4, 2);
}
MUT(m_hermit_duplicate)
{
	UNUSED_ARGS;
	/* Turn the UHYVEIF note (same size with 4-byte padding) into a second HERMIT note. */
	eb_put32(b, inf->uhyveif_off, 7);
	eb_put32(b, inf->uhyveif_off + 4, 1);
	eb_put32(b, inf->uhyveif_off + 8, 0x5a00);
	memcpy(b + inf->uhyveif_off + 12, "HERMIT\0", 8);
	b[inf->uhyveif_off + 20] = 4;
}
MUT(m_uhyveif_0)
{
	UNUSED_ARGS;
	memcpy(b + inf->uhyveif_off + 20, "\0\0\0\0", 4);
}
MUT(m_uhyveif_4)
{
	UNUSED_ARGS;
	memcpy(b + inf->uhyveif_off + 20, "\0\0\0\4", 4);
}
MUT(m_uhyveif_descsz)
{
	UNUSED_ARGS;
	eb_put32(b, inf->uhyveif_off + 4, 2);
}
MUT(m_gnu_descsz)
{
	UNUSED_ARGS;
	eb_put32(b, inf->gnu_off + 4, 8);
}
MUT(m_notes_twice)
{
	UNUSED_ARGS;
	/* Second PT_NOTE over the same bytes: every note now appears twice; the HERMIT
	 * note is the first duplicate. */
	Elf64_Phdr ph;
	eb_get_phdr(b, EB_PH_NOTE, &ph);
	eb_set_phdr(b, EB_PH_TLS, &ph);
}
MUT(m_dyn_past_eof)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_DYN, 'o', EB_SIZE - 0x10);
}
MUT(m_dyn_size)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_DYN, 'f', EB_NDYN * sizeof(Elf64_Dyn) - 8);
}
MUT(m_two_dynamic)
{
	Elf64_Phdr ph;

	UNUSED_ARGS;
	eb_get_phdr(b, EB_PH_DYN, &ph);
	eb_set_phdr(b, EB_PH_TLS, &ph);
}
MUT(m_two_tls)
{
	Elf64_Phdr ph;

	UNUSED_ARGS;
	eb_get_phdr(b, EB_PH_TLS, &ph);
	eb_set_phdr(b, EB_PH_DYN, &ph);
}
MUT(m_dt_needed)
{
	UNUSED_ARGS;
	eb_dyn(b, 6, DT_NEEDED, 1);
}
MUT(m_dt_rel)
{
	UNUSED_ARGS;
	eb_dyn(b, 6, DT_REL, EB_RELA_OFF);
}
MUT(m_dt_relsz)
{
	UNUSED_ARGS;
	eb_dyn(b, 6, DT_RELSZ, 0);
}
MUT(m_dt_relcount)
{
	UNUSED_ARGS;
	eb_dyn(b, 6, DT_RELCOUNT, 3);
}
MUT(m_dt_jmprel)
{
	UNUSED_ARGS;
	eb_dyn(b, 6, DT_JMPREL, EB_RELA_OFF);
}
MUT(m_dt_duplicate)
{
	UNUSED_ARGS;
	eb_dyn(b, 6, DT_RELA, EB_RELA_OFF);
}
MUT(m_rela_crosses_segment)
{
	UNUSED_ARGS;
	eb_dyn(b, 0, DT_RELA, EB_LOAD0_FILESZ - 0x10);
}
MUT(m_rela_in_bss)
{
	UNUSED_ARGS;
	eb_dyn(b, 0, DT_RELA, EB_BSS_SLOT);
}
MUT(m_rela_wild)
{
	UNUSED_ARGS;
	eb_dyn(b, 0, DT_RELA, UINT64_MAX - 0x10);
}
MUT(m_relaent)
{
	UNUSED_ARGS;
	eb_dyn(b, 2, DT_RELAENT, 16);
}
MUT(m_relaent_missing)
{
	UNUSED_ARGS;
	eb_dyn(b, 2, DT_RELACOUNT, 0);
}
MUT(m_relasz_multiple)
{
	UNUSED_ARGS;
	eb_dyn(b, 1, DT_RELASZ, 0x91);
}
MUT(m_rela_without_sz)
{
	UNUSED_ARGS;
	eb_dyn(b, 1, DT_RELACOUNT, 0);
}
MUT(m_relasz_without_rela)
{
	UNUSED_ARGS;
	eb_dyn(b, 0, DT_RELACOUNT, 0);
}
MUT(m_reloc_outside)
{
	UNUSED_ARGS;
	eb_rela(b, 0, EB_SPAN - 4, 0, R_X86_64_RELATIVE, 0);
}
MUT(m_reloc_wild)
{
	UNUSED_ARGS;
	eb_rela(b, 4, UINT64_MAX, 2, R_X86_64_64, 0);
}
MUT(m_reloc_type)
{
	UNUSED_ARGS;
	eb_rela(b, 1, EB_SLOT_OFF + 8, 1, 37, 0);
}
MUT(m_reloc_none)
{
	UNUSED_ARGS;
	eb_rela(b, 1, EB_SLOT_OFF + 8, 0, R_X86_64_NONE, 0);
}
MUT(m_sym_range)
{
	UNUSED_ARGS;
	eb_rela(b, 1, EB_SLOT_OFF + 8, 16, R_X86_64_64, 0);
}
MUT(m_sym_range_huge)
{
	UNUSED_ARGS;
	eb_rela(b, 2, EB_SLOT_OFF + 16, 0xffffffffu, R_X86_64_GLOB_DAT, 0);
}
MUT(m_no_symtab)
{
	UNUSED_ARGS;
	eb_dyn(b, 3, DT_RELACOUNT, 0);
}
MUT(m_syment)
{
	UNUSED_ARGS;
	eb_dyn(b, 4, DT_SYMENT, 16);
}
MUT(m_symtab_in_bss)
{
	UNUSED_ARGS;
	eb_dyn(b, 3, DT_SYMTAB, EB_BSS_SLOT);
}
MUT(m_symtab_short)
{
	UNUSED_ARGS;
	eb_dyn(b, 3, DT_SYMTAB, EB_LOAD0_FILESZ - 16);
}
MUT(m_globdat_addend)
{
	UNUSED_ARGS;
	eb_rela(b, 2, EB_SLOT_OFF + 16, 1, R_X86_64_GLOB_DAT, 8);
}
MUT(m_weak_slot_nonzero)
{
	UNUSED_ARGS;
	b[EB_SLOT_OFF + 24 + 7] = 1;
}
MUT(m_tls_filesz)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_TLS, 'f', EB_TLS_MEMSZ + 1);
}
MUT(m_tls_align)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_TLS, 'a', 3);
}
MUT(m_tls_outside)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_TLS, 'v', EB_SPAN - 8);
}
MUT(m_tls_overflow)
{
	UNUSED_ARGS;
	ph_set(b, EB_PH_TLS, 'v', UINT64_MAX - 0x10);
}
MUT(m_exec_bad_reloc)
{
	struct eb_opts o = full_opts();

	UNUSED_ARGS;
	o.type = ET_EXEC;
	o.vbase = 0x800000;
	(void)eb_build(b, &o);
	eb_rela(b, 1, 0x800000 + EB_SLOT_OFF + 8, 1, 37, 0);
}

#define REJECT(fn, msg)                                                                            \
	{                                                                                          \
#fn, fn, msg                                                                       \
	}

static struct reject_case reject_cases[] = {
    REJECT(m_not_elf, "ELF: not an ELF image"),
    REJECT(m_empty, "ELF: not an ELF image"),
    REJECT(m_truncated_ehdr, "ELF: truncated ELF header (40 bytes)"),
    REJECT(m_class32, "ELF: not a 64-bit little-endian image"),
    REJECT(m_big_endian, "ELF: not a 64-bit little-endian image"),
    REJECT(m_ident_version, "ELF: unsupported ELF version 2"),
    REJECT(m_machine, "ELF: not an x86_64 image (machine 183)"),
    REJECT(m_type_rel, "ELF: unsupported ELF type 1 (need ET_DYN or ET_EXEC)"),
    REJECT(m_type_core, "ELF: unsupported ELF type 4 (need ET_DYN or ET_EXEC)"),
    REJECT(m_phentsize, "ELF: bad program header entry size 32"),
    REJECT(m_phnum_zero, "ELF: no program headers"),
    REJECT(m_phnum_many, "ELF: too many program headers (129, limit 128)"),
    REJECT(m_phnum_xnum, "ELF: too many program headers (65535, limit 128)"),
    REJECT(m_phoff_past_eof, "ELF: program header table outside the file"),
    REJECT(m_phoff_overflow, "ELF: program header table outside the file"),
    REJECT(m_phoff_in_ehdr, "ELF: program header table overlaps the ELF header"),
    REJECT(m_load_filesz_gt_memsz, "ELF: segment 0 has filesz > memsz"),
    REJECT(m_load_past_eof, "ELF: segment 1 extends past end of file"),
    REJECT(m_load_offset_overflow, "ELF: segment 1 extends past end of file"),
    REJECT(m_load_vaddr_overflow, "ELF: segment 1 address range overflows"),
    REJECT(m_load_unsorted, "ELF: PT_LOAD segments not sorted by address"),
    REJECT(m_load_overlap, "ELF: PT_LOAD segments overlap"),
    REJECT(m_too_many_loads, "ELF: more than 16 PT_LOAD segments"),
    REJECT(m_no_load, "ELF: no PT_LOAD segment"),
    REJECT(m_span_limit, "ELF: image span 0x400000800 exceeds limit 0x400000000"),
    REJECT(m_entry_outside, "ELF: entry point 0x1800 outside the image"),
    REJECT(m_no_note, "ELF: no PT_NOTE segment"),
    REJECT(m_note_past_eof, "ELF: segment 2 extends past end of file"),
    REJECT(m_note_align, "ELF: PT_NOTE segment 2 has unsupported alignment 0x10"),
    REJECT(m_note_align0, "ELF: PT_NOTE segment 2 has unsupported alignment 0x0"),
    REJECT(m_note_namesz, "ELF: malformed note in segment 2"),
    REJECT(m_note_descsz, "ELF: malformed note in segment 2"),
    REJECT(m_note_descsz_wrap, "ELF: malformed note in segment 2"),
    REJECT(m_note_trailing, "ELF: malformed note in segment 2"),
    REJECT(m_hermit_type, "ELF: missing HERMIT entry-version note"),
    REJECT(m_hermit_name, "ELF: missing HERMIT entry-version note"),
    REJECT(m_entry_version3, "ELF: unsupported Hermit entry version 3 (need 4)"),
    REJECT(m_hermit_descsz, "ELF: malformed HERMIT entry-version note"),
    REJECT(m_hermit_duplicate, "ELF: duplicate HERMIT entry-version note"),
    REJECT(m_uhyveif_0, "ELF: unsupported uhyve interface version 0"),
    REJECT(m_uhyveif_4, "ELF: unsupported uhyve interface version 4"),
    REJECT(m_uhyveif_descsz, "ELF: malformed UHYVEIF note"),
    REJECT(m_gnu_descsz, "ELF: malformed GNU ABI tag note"),
    REJECT(m_notes_twice, "ELF: duplicate HERMIT entry-version note"),
    REJECT(m_dyn_past_eof, "ELF: segment 3 extends past end of file"),
    REJECT(m_dyn_size, "ELF: PT_DYNAMIC size 0x98 is not a multiple of 16"),
    REJECT(m_two_dynamic, "ELF: more than one PT_DYNAMIC segment"),
    REJECT(m_two_tls, "ELF: more than one PT_TLS segment"),
    REJECT(m_dt_needed, "ELF: DT_NEEDED present (kernel linked against shared libraries)"),
    REJECT(m_dt_rel, "ELF: DT_REL/DT_RELSZ present (REL relocations not supported)"),
    REJECT(m_dt_relsz, "ELF: DT_REL/DT_RELSZ present (REL relocations not supported)"),
    REJECT(m_dt_relcount, "ELF: DT_RELCOUNT is non-zero"),
    REJECT(m_dt_jmprel, "ELF: PLT relocations (DT_JMPREL/DT_PLTRELSZ) not supported"),
    REJECT(m_dt_duplicate, "ELF: duplicate dynamic tag 0x7"),
    REJECT(m_rela_crosses_segment, "ELF: relocation table outside any loaded segment"),
    REJECT(m_rela_in_bss, "ELF: relocation table outside any loaded segment"),
    REJECT(m_rela_wild, "ELF: relocation table outside any loaded segment"),
    REJECT(m_relaent, "ELF: DT_RELAENT is 16 (need 24)"),
    REJECT(m_relaent_missing, "ELF: DT_RELAENT is 0 (need 24)"),
    REJECT(m_relasz_multiple, "ELF: DT_RELASZ 0x91 is not a multiple of 24"),
    REJECT(m_rela_without_sz, "ELF: DT_RELA without DT_RELASZ"),
    REJECT(m_relasz_without_rela, "ELF: DT_RELASZ without DT_RELA"),
    REJECT(m_reloc_outside, "ELF: relocation 0 at 0x17fc outside the image"),
    REJECT(m_reloc_wild, "ELF: relocation 4 at 0xffffffffffffffff outside the image"),
    REJECT(m_reloc_type, "ELF: unsupported relocation type 37"),
    REJECT(m_reloc_none, "ELF: unsupported relocation type 0"),
    REJECT(m_sym_range, "ELF: relocation 1: symbol index 16 out of range"),
    REJECT(m_sym_range_huge, "ELF: relocation 2: symbol index 4294967295 out of range"),
    REJECT(m_no_symtab, "ELF: relocation 1: symbol index 1 out of range"),
    REJECT(m_syment, "ELF: DT_SYMENT is 16 (need 24)"),
    REJECT(m_symtab_in_bss, "ELF: symbol table outside any loaded segment"),
    REJECT(m_symtab_short, "ELF: symbol table outside any loaded segment"),
    REJECT(m_globdat_addend, "ELF: relocation 2: GLOB_DAT with non-zero addend"),
    REJECT(m_weak_slot_nonzero, "ELF: relocation 3: weak undefined symbol but slot is not zero"),
    REJECT(m_tls_filesz, "ELF: PT_TLS filesz exceeds memsz"),
    REJECT(m_tls_align, "ELF: PT_TLS alignment 0x3 is not a power of two"),
    REJECT(m_tls_outside, "ELF: PT_TLS outside the image"),
    REJECT(m_tls_overflow, "ELF: PT_TLS outside the image"),
    REJECT(m_exec_bad_reloc, "ELF: unsupported relocation type 37"),
};

static const struct CMUnitTest positive_tests[] = {
    cmocka_unit_test(test_parse_valid),
    cmocka_unit_test(test_parse_uhyveif),
    cmocka_unit_test(test_uhyveif_big_endian),
    cmocka_unit_test(test_hermit_version),
    cmocka_unit_test(test_note_align8),
    cmocka_unit_test(test_osabi_any),
    cmocka_unit_test(test_tls_align_0_1),
    cmocka_unit_test(test_no_tls_no_dynamic),
    cmocka_unit_test(test_reloc_bounds_accepted),
    cmocka_unit_test(test_section_headers_ignored),
    cmocka_unit_test(test_load_pie),
    cmocka_unit_test(test_load_pie_vbase),
    cmocka_unit_test(test_load_exec),
    cmocka_unit_test(test_load_exec_wrong_addr),
    cmocka_unit_test(test_load_outside_ram),
    cmocka_unit_test(test_load_mismatched_buffer),
    cmocka_unit_test(test_null_and_small_err),
    cmocka_unit_test(test_readonly_buffer),
    cmocka_unit_test(test_truncations),
    cmocka_unit_test(test_random_flips),
};

int main(void)
{
	struct CMUnitTest tests[ARRAY_SIZE(positive_tests) + ARRAY_SIZE(reject_cases)];
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(positive_tests); i++) {
		tests[n++] = positive_tests[i];
	}
	for (size_t i = 0; i < ARRAY_SIZE(reject_cases); i++) {
		tests[n++] = (struct CMUnitTest){.name = reject_cases[i].name,
						 .test_func = run_reject,
						 .initial_state = &reject_cases[i]};
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
