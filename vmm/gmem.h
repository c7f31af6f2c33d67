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
#include <sys/uio.h>

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
	int fd; /* the memfd behind RAM (gmem_init), or -1 (anonymous, arena) */
};

/* Maps `size` bytes of zeroed memory (a sealed memfd, MAP_SHARED) for guest RAM at GPA `start`.
 * Returns 0 or -errno. */
int gmem_init(struct gmem *m, uint64_t start, uint64_t size) __attribute__((warn_unused_result));
/* The same as private anonymous memory, without a memfd (no other process can map it: only
 * without the instruction assist); --ksm needs it, KSM never merges shared memory. */
int gmem_init_anon(struct gmem *m, uint64_t start, uint64_t size)
    __attribute__((warn_unused_result));
/* Sets the GPA of RAM's first byte once the layout is chosen (RAM is created before the
 * kernel image is parsed: vm_setup.c). */
void gmem_place(struct gmem *m, uint64_t start);
/* Wraps caller-provided host memory (unit tests, fuzzers); gmem_free must not be called. */
void gmem_init_arena(struct gmem *m, void *arena, uint64_t start, uint64_t size);
void gmem_free(struct gmem *m);

/* True iff [addr, addr + len) lies entirely inside guest RAM (len 0: addr inside or at end). */
bool gmem_range_ok(const struct gmem *m, gpa_t addr, uint64_t len);

/* Host pointer for [addr, addr + len), or NULL if the range is not inside RAM.  The bytes
 * behind it are shared with the guest and may change at any time: use for bulk payload
 * (serial output, file data) only, never for parameters that are validated. */
void *gmem_ptr(const struct gmem *m, gpa_t addr, uint64_t len);

/* A count of the VMM's writes to guest RAM so far (of the accessors that write, or may: every
 * one but the copies *from* guest RAM), all threads. */
uint64_t gmem_write_gen(void);
/* Keeps that count at `at` from now on (the assist's control page); before any vCPU runs. */
void gmem_count_writes_at(uint64_t *at);

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
 * (4 KiB, 2 MiB and 1 GiB pages) with the shared walker (common/include/pagewalk.h); every
 * table entry is read through the checked accessor.  Returns 0 and the GPA in *out, -EINVAL
 * if `va` is not canonical (bits 63:48 differ from bit 47: the processor raises #GP), or
 * -EFAULT if a table lies outside RAM or the page is not present.  `*contig` (optional)
 * receives the number of bytes from `va` to the end of its page. */
int gmem_gva_to_gpa(const struct gmem *m, uint64_t cr3, gva_t va, gpa_t *out, uint64_t *contig)
    __attribute__((warn_unused_result));

/* ---- guest-virtual ranges: [va, va + len) walked run by run (one pw_walk per physically
 * contiguous run of pages, pw_step over the following entries of the leaf's table; copies into
 * the guest: one walk per page, after the previous page was written), every run checked
 * against RAM.  One loop for the hypercalls' buffers and the instructions the VMM completes
 * for the assist. ---- */
enum gva_fail {
	GVA_NONCANONICAL = 1, /* a byte's address is not canonical (#GP on hardware) */
	GVA_UNMAPPED, /* not present (#PF), or the range wraps around the address space */
	GVA_OUTSIDE_RAM, /* mapped, but to guest-physical memory that is not RAM */
};
struct gva_fault {
	enum gva_fail why;
	uint64_t va; /* the first byte that failed */
	uint64_t pa; /* GVA_OUTSIDE_RAM: what it maps to */
};

/* Host iovecs for [va, va + len), pieces adjacent in host memory merged, at most `max` of
 * them.  Returns 0 with *n iovecs covering *done bytes (fewer than len only when `max` ran
 * out: the caller goes on from va + *done), or -EFAULT with *f (and *n = 0). */
int gmem_gva_iov(const struct gmem *m, uint64_t cr3, gva_t va, uint64_t len, struct iovec *iov,
		 int max, int *n, uint64_t *done, struct gva_fault *f)
    __attribute__((warn_unused_result));
/* 0 if every byte of [va, va + len) maps into RAM, else -EFAULT with *f. */
int gmem_gva_check(const struct gmem *m, uint64_t cr3, gva_t va, uint64_t len, struct gva_fault *f)
    __attribute__((warn_unused_result));
/* Copies between host memory and [va, va + len).  Return 0, or -EFAULT with *f (a prefix up
 * to f->va may have been copied: check the range first where that matters). */
int gmem_gva_copy_from(const struct gmem *m, uint64_t cr3, void *dst, gva_t src, size_t len,
		       struct gva_fault *f) __attribute__((warn_unused_result));
int gmem_gva_copy_to(const struct gmem *m, uint64_t cr3, gva_t dst, const void *src, size_t len,
		     struct gva_fault *f) __attribute__((warn_unused_result));

#endif
