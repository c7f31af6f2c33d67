/* SPDX-License-Identifier: MIT */
/* gmem.h - guest RAM and the one checked accessor for guest addresses.
 *
 * Threat: every guest address is hostile.  Only gmem.c turns a guest address into a host
 * pointer, and only after checking that the whole range lies inside guest RAM without
 * wrapping.  Guest RAM is shared with other running vCPUs, so callers copy what they need
 * once (gmem_copy_from) and work on the copy.
 */
#ifndef UHS_GMEM_H
#define UHS_GMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Guest-physical and guest-virtual addresses: distinct struct types, never dereferenceable. */
typedef struct {
	uint64_t raw;
} gpa_t;
typedef struct {
	uint64_t raw;
} gva_t;

static inline gpa_t gpa(uint64_t raw)
{
	return (gpa_t){raw};
}
static inline gva_t gva(uint64_t raw)
{
	return (gva_t){raw};
}

struct gmem {
	uint8_t *base; /* host mapping of guest RAM (private to gmem.c) */
	uint64_t start; /* GPA of the first byte of RAM */
	uint64_t size; /* bytes of RAM */
	bool zeroed; /* all of RAM is still zero (fresh mapping, nothing loaded) */
	int fd; /* the memfd behind RAM (gmem_init), or -1 (arena) */
};

/* Maps `size` bytes of zeroed memory (a sealed memfd, MAP_SHARED) for guest RAM at GPA `start`.
 * Returns 0 or -errno. */
int gmem_init(struct gmem *m, uint64_t start, uint64_t size) __attribute__((warn_unused_result));
/* Wraps caller-provided host memory (unit tests, fuzzers); gmem_free must not be called. */
void gmem_init_arena(struct gmem *m, void *arena, uint64_t start, uint64_t size);
void gmem_free(struct gmem *m);

/* True iff [addr, addr + len) lies entirely inside guest RAM (len 0: addr inside or at end). */
bool gmem_range_ok(const struct gmem *m, gpa_t addr, uint64_t len);

/* Host pointer for [addr, addr + len), or NULL if the range is not inside RAM.  The bytes
 * behind it are shared with the guest and may change at any time: use for bulk payload
 * (serial output, file data) only, never for parameters that are validated. */
void *gmem_ptr(const struct gmem *m, gpa_t addr, uint64_t len);

/* Copies between guest RAM and host memory.  Return 0 or -EFAULT (nothing copied). */
int gmem_copy_from(const struct gmem *m, void *dst, gpa_t src, size_t len)
    __attribute__((warn_unused_result));
int gmem_copy_to(const struct gmem *m, gpa_t dst, const void *src, size_t len)
    __attribute__((warn_unused_result));

/* Copies a NUL-terminated guest string of at most `cap` bytes including the NUL into dst.
 * Returns its length (without NUL), -EFAULT if it leaves RAM before the NUL, or
 * -ENAMETOOLONG if no NUL lies within `cap` bytes. */
long gmem_strcpy_from(const struct gmem *m, char *dst, size_t cap, gpa_t src)
    __attribute__((warn_unused_result));

/* Translates a guest-virtual address through the 4-level page tables rooted at `cr3`
 * (4 KiB, 2 MiB and 1 GiB pages).  Every table entry is read through the checked accessor.
 * Returns 0 and the GPA in *out, or -EFAULT if a table lies outside RAM or the page is not
 * present.  `*contig` (optional) receives the number of bytes from `va` to the end of its
 * page, so callers can walk ranges page by page. */
int gmem_gva_to_gpa(const struct gmem *m, uint64_t cr3, gva_t va, gpa_t *out, uint64_t *contig)
    __attribute__((warn_unused_result));

#endif
