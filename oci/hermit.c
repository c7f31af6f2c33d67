/* SPDX-License-Identifier: MIT */
/* hermit.c - is args[0] a Hermit kernel?  The question that decides between uhyve-sec, the
 * runc hand-off (runc.c) and an error.
 *
 * Trust: the file comes from the container image (untrusted).  hermit_elf_check() is pure
 * and reads only inside [buf, buf + len) with overflow-safe bounds; it is a screening, not
 * validation: uhyve-sec's own ELF loader (libelf) checks the whole image again when it
 * boots it.  A Hermit kernel is a 64-bit little-endian x86_64 ELF executable (ET_EXEC or
 * ET_DYN) with e_ident[EI_OSABI] = 0xff (standalone; what hermit-os/runh tests) or a
 * "HERMIT" entry-version note (type 0x5a00, hermit-abi.md; the test guests have only that).
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "oci.h"

#define HERMIT_NOTE_TYPE 0x5a00
#define READ_MAX	 (1u << 20)
#define PHNUM_MAX	 128

static bool range_ok(size_t len, uint64_t off, uint64_t n)
{
	return off <= len && n <= len - off;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof v);
	return v; /* little-endian host and image (checked) */
}

/* Walks the notes of one PT_NOTE segment [off, off + n) for the HERMIT note. */
static bool has_hermit_note(const uint8_t *buf, uint64_t off, uint64_t n, uint64_t align)
{
	uint64_t pos = 0, a = align == 8 ? 8 : 4;

	while (n - pos >= 12) {
		uint32_t namesz = rd32(buf + off + pos), descsz = rd32(buf + off + pos + 4),
			 type = rd32(buf + off + pos + 8);
		uint64_t name = pos + 12, desc = name + ((namesz + a - 1) & ~(a - 1));
		uint64_t next = desc + ((descsz + a - 1) & ~(a - 1));
		if (desc > n || next > n || next <= pos) {
			return false;
		}
		if (type == HERMIT_NOTE_TYPE && namesz == 7 &&
		    memcmp(buf + off + name, "HERMIT", 7) == 0) {
			return true;
		}
		pos = next;
	}
	return false;
}

static bool fail(char *why, size_t whylen, const char *reason)
{
	snprintf(why, whylen, "%s", reason);
	return false;
}

bool hermit_elf_check(const uint8_t *buf, size_t len, char *why, size_t whylen)
{
	Elf64_Ehdr eh;

	if (len < sizeof eh || memcmp(buf, ELFMAG, SELFMAG) != 0) {
		return fail(why, whylen, "not an ELF file");
	}
	memcpy(&eh, buf, sizeof eh);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64) {
		return fail(why, whylen, "not a 64-bit x86_64 ELF file");
	}
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN) {
		return fail(why, whylen, "not an ELF executable");
	}
	if (eh.e_ident[EI_OSABI] == 0xff) {
		return true;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > PHNUM_MAX ||
	    !range_ok(len, eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr))) {
		return fail(why, whylen, "an ELF file with unreadable program headers");
	}
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, buf + eh.e_phoff + (uint64_t)i * sizeof ph, sizeof ph);
		if (ph.p_type == PT_NOTE && range_ok(len, ph.p_offset, ph.p_filesz) &&
		    has_hermit_note(buf, ph.p_offset, ph.p_filesz, ph.p_align)) {
			return true;
		}
	}
	return fail(why, whylen,
		    "an ELF executable without the Hermit OS ABI or HERMIT note "
		    "(a Linux program?)");
}

bool hermit_image_magic(const uint8_t *buf, size_t len)
{
	return len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b;
}

bool hermit_fd_check(int fd, bool *is_image, char *why, size_t whylen)
{
	uint8_t *buf = malloc(READ_MAX);
	size_t len = 0;
	bool ok;

	if (buf == NULL) {
		return fail(why, whylen, "out of memory");
	}
	while (len < READ_MAX) {
		ssize_t n = pread(fd, buf + len, READ_MAX - len, (off_t)len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		len += (size_t)n;
	}
	*is_image = hermit_image_magic(buf, len);
	ok = *is_image || hermit_elf_check(buf, len, why, whylen);
	free(buf);
	return ok;
}
