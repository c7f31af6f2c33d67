/* SPDX-License-Identifier: MIT */
/* elf_internal.h - what elf_parse.c and elf_load.c share. */
#ifndef UHS_ELF_INTERNAL_H
#define UHS_ELF_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gelf.h>

#include "elf_load.h"

#define RELA_SIZE sizeof(Elf64_Rela)
#define SYM_SIZE  sizeof(Elf64_Sym)
#define DYN_SIZE  sizeof(Elf64_Dyn)

enum {
	SEEN_RELA = 1u << 0,
	SEEN_RELASZ = 1u << 1,
	SEEN_RELAENT = 1u << 2,
	SEEN_SYMTAB = 1u << 3,
	SEEN_SYMENT = 1u << 4,
};

enum {
	NOTE_HERMIT = 1u << 0,
	NOTE_UHYVEIF = 1u << 1,
	NOTE_VERSION = 1u << 2,
};

struct dyn_info {
	uint64_t rela, relasz, relaent, symtab, syment;
	unsigned seen; /* SEEN_* */
};

struct parse_ctx {
	const uint8_t *buf;
	size_t len;
	Elf *elf;
	struct elf_image *img;
	char *err;
	size_t errlen;
	GElf_Ehdr eh;
	unsigned nnotes; /* PT_NOTE segments seen */
	unsigned notes; /* NOTE_* found */
	bool has_tls, has_dyn;
	unsigned dyn_idx;
	GElf_Phdr tls_ph, dyn_ph;
	struct dyn_info dyn;
	uint64_t rela_off, rela_count; /* validated, also for ET_EXEC */
	uint64_t sym_off, sym_count;
};

/* Sets the parse error (printf-style); returns -1. */
int elf_perr(struct parse_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* libelf's last error, never NULL. */
const char *elf_libelf_msg(void);
/* Translates the link-time range [vaddr, vaddr + size) to a file offset inside the file bytes
 * of one PT_LOAD. */
bool elf_vaddr_to_offset(const struct elf_image *img, uint64_t vaddr, uint64_t size, uint64_t *off);
/* The loaded image holds eight zero bytes at link-time address vaddr. */
bool elf_slot_is_zero(const struct elf_image *img, const uint8_t *buf, uint64_t vaddr);
/* elf_dynamic.c: the dynamic section (after the program headers), then the relocations. */
int elf_parse_dynamic(struct parse_ctx *c);
int elf_parse_relocs(struct parse_ctx *c);

/* snprintf into err (if any); returns -1. */
int elf_set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* [off, off + size) lies inside a buffer of len bytes (overflow-safe). */
bool elf_file_range_ok(size_t len, uint64_t off, uint64_t size);
/* The 8-byte slot at link-time address vaddr lies inside the image span. */
bool elf_slot_in_image(const struct elf_image *img, uint64_t vaddr);
/* A weak undefined symbol (its relocations may leave a zero slot alone). */
bool elf_sym_is_weak_undef(unsigned char info, uint16_t shndx);

#endif
