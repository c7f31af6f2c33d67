/* SPDX-License-Identifier: MIT */
/* gmem.c - guest RAM mapping and the only code that turns guest addresses into host pointers. */
#include "gmem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int gmem_init(struct gmem *m, uint64_t start, uint64_t size)
{
	/* A sealed memfd, so that a confined helper (the instruction assist) maps the same RAM. */
	int fd = memfd_create("uhyve-sec-ram", MFD_CLOEXEC | MFD_ALLOW_SEALING), e;
	void *p = MAP_FAILED;

	if (fd < 0) {
		return -errno;
	}
	if (ftruncate(fd, (off_t)size) != 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0 ||
	    (p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0)) ==
		MAP_FAILED) {
		e = errno;
		close(fd);
		return -e;
	}
	m->fd = fd;
	m->base = p;
	m->start = start;
	m->size = size;
	m->zeroed = true;
	return 0;
}

void gmem_init_arena(struct gmem *m, void *arena, uint64_t start, uint64_t size)
{
	m->fd = -1;
	m->base = arena;
	m->start = start;
	m->size = size;
	m->zeroed = false;
}

void gmem_free(struct gmem *m)
{
	if (m->base != NULL) {
		munmap(m->base, m->size);
	}
	if (m->fd >= 0) {
		close(m->fd);
	}
	m->base = NULL;
	m->fd = -1;
}

bool gmem_range_ok(const struct gmem *m, gpa_t addr, uint64_t len)
{
	uint64_t off, end;

	if (addr.raw < m->start) {
		return false;
	}
	off = addr.raw - m->start;
	return !__builtin_add_overflow(off, len, &end) && end <= m->size;
}

void *gmem_ptr(const struct gmem *m, gpa_t addr, uint64_t len)
{
	if (!gmem_range_ok(m, addr, len)) {
		return NULL;
	}
	return m->base + (addr.raw - m->start);
}

int gmem_copy_from(const struct gmem *m, void *dst, gpa_t src, size_t len)
{
	const void *p = gmem_ptr(m, src, len);

	if (p == NULL) {
		return -EFAULT;
	}
	memcpy(dst, p, len);
	return 0;
}

int gmem_copy_to(const struct gmem *m, gpa_t dst, const void *src, size_t len)
{
	void *p = gmem_ptr(m, dst, len);

	if (p == NULL) {
		return -EFAULT;
	}
	memcpy(p, src, len);
	return 0;
}

long gmem_strcpy_from(const struct gmem *m, char *dst, size_t cap, gpa_t src)
{
	const uint8_t *p;
	const void *nul;
	uint64_t avail;

	if (cap == 0 || !gmem_range_ok(m, src, 1)) {
		return -EFAULT;
	}
	p = m->base + (src.raw - m->start);
	avail = m->size - (src.raw - m->start);
	/* Search a private snapshot, not guest memory, so the NUL cannot move between the
	 * search and the copy. */
	if (avail >= cap) {
		memcpy(dst, p, cap);
		nul = memchr(dst, 0, cap);
		if (nul == NULL) {
			return -ENAMETOOLONG;
		}
	} else {
		memcpy(dst, p, (size_t)avail);
		nul = memchr(dst, 0, (size_t)avail);
		if (nul == NULL) {
			return -EFAULT;
		}
	}
	return (long)((const char *)nul - dst);
}

#define PTE_PRESENT 0x1ull
#define PTE_PS	    0x80ull
#define PTE_ADDR    0x000ffffffffff000ull

int gmem_gva_to_gpa(const struct gmem *m, uint64_t cr3, gva_t va, gpa_t *out, uint64_t *contig)
{
	uint64_t table = cr3 & PTE_ADDR;
	/* Levels: PML4 (shift 39), PDPT (30), PD (21), PT (12).  Fixed depth of four. */
	for (unsigned shift = 39;; shift -= 9) {
		uint64_t idx = (va.raw >> shift) & 0x1ff, pte, page;

		if (gmem_copy_from(m, &pte, gpa(table + idx * 8), sizeof pte) != 0) {
			return -EFAULT;
		}
		if (!(pte & PTE_PRESENT)) {
			return -EFAULT;
		}
		if (shift == 12 || ((shift == 21 || shift == 30) && (pte & PTE_PS))) {
			page = 1ull << shift;
			uint64_t base = (pte & PTE_ADDR) & ~(page - 1);
			uint64_t off = va.raw & (page - 1);
			*out = gpa(base + off);
			if (contig != NULL) {
				*contig = page - off;
			}
			return 0;
		}
		table = pte & PTE_ADDR;
	}
}
