/* SPDX-License-Identifier: MIT */
/* elf_load.h - parse and load 64-bit x86_64 Hermit kernel images (libelf).
 *
 * Threat: the image file is hostile.  elf_parse() validates everything it will later use
 * (headers, segments, notes, dynamic section, relocations) against the file bounds and
 * against arithmetic overflow; elf_load() then only copies and relocates within the span
 * that elf_parse() established.  Neither function aborts on bad input.
 */
#ifndef UHS_ELF_LOAD_H
#define UHS_ELF_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "gmem.h"

#define ELF_MAX_SEGMENTS   16 /* PT_LOAD segments accepted */
#define ELF_MAX_IMAGE_SPAN (1ull << 34) /* 16 GiB: larger spans are rejected */

struct elf_segment {
	uint64_t offset; /* file offset */
	uint64_t vaddr; /* link-time virtual address */
	uint64_t filesz;
	uint64_t memsz;
};

struct elf_image {
	int is_pie; /* ET_DYN: relocatable; ET_EXEC: fixed at first_vaddr */
	uint64_t entry; /* e_entry (link-time) */
	uint64_t first_vaddr; /* p_vaddr of the first PT_LOAD */
	uint64_t span; /* first PT_LOAD start to end of the last PT_LOAD (memsz) */
	unsigned nseg;
	struct elf_segment seg[ELF_MAX_SEGMENTS];
	uint32_t entry_version; /* HERMIT/0x5a00 note value (must be 4) */
	uint32_t uhyve_if; /* UHYVEIF note (big-endian in the file), 1 when absent */
	int has_hermit_version; /* GNU ABI tag note with OS 6 present */
	uint32_t hermit_version[3]; /* major, minor, patch from that note */
	uint64_t tls_vaddr, tls_filesz, tls_memsz, tls_align; /* PT_TLS, all 0 if none */
	/* Relocations (ET_DYN only), validated: file offset and count of the Elf64_Rela table,
	 * and of the symbol table bounds used by R_X86_64_64/GLOB_DAT. */
	uint64_t rela_off, rela_count;
	uint64_t symtab_off, symtab_count;
};

/* Parses and validates the image in buf[0..len).  On failure returns -1 and writes a
 * one-line reason (no trailing newline) into err. */
int elf_parse(const uint8_t *buf, size_t len, struct elf_image *img, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Copies the segments of a parsed image to guest RAM at GPA `load_addr` (the address of
 * first_vaddr), zero-fills bss and applies relocations with base `load_addr - first_vaddr`
 * for PIE (none for ET_EXEC, where load_addr must equal first_vaddr).  The caller
 * guarantees [load_addr, load_addr + span) lies in RAM; it is checked again.
 * Returns 0, or -1 with a reason in err. */
int elf_load(const struct elf_image *img, const uint8_t *buf, size_t len, struct gmem *m,
	     uint64_t load_addr, char *err, size_t errlen) __attribute__((warn_unused_result));

/* Whether the kernel wants the legacy 1 GiB identity mapping (hermit-abi.md b.3): true
 * when it has no Hermit version note or one older than 0.10.0. */
int elf_wants_legacy_mapping(const struct elf_image *img);

#endif
