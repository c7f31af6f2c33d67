/* SPDX-License-Identifier: MIT */
/* gmem.c - guest RAM mapping and the only code that turns guest addresses into host pointers. */
#include "gmem.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pagewalk.h"

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

int gmem_init_anon(struct gmem *m, uint64_t start, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		return -errno;
	}
	m->fd = -1;
	m->base = p;
	m->start = start;
	m->size = size;
	m->zeroed = true;
	return 0;
}

void gmem_place(struct gmem *m, uint64_t start)
{
	m->start = start;
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

/* Bumped by every accessor that lets the VMM write guest RAM (or hands out a pointer or iovec
 * through which it may): JIT mode tells a burst whether RAM may have changed since the last
 * one (gmem_write_gen). */
static uint64_t writes, *counter = &writes;

void gmem_count_writes_at(uint64_t *at)
{
	*at = *counter;
	counter = at;
}

uint64_t gmem_write_gen(void)
{
	return __atomic_load_n(counter, __ATOMIC_SEQ_CST);
}

static void wrote(void)
{
	__atomic_add_fetch(counter, 1, __ATOMIC_SEQ_CST);
}

static void *ptr(const struct gmem *m, gpa_t addr, uint64_t len)
{
	if (!gmem_range_ok(m, addr, len)) {
		return NULL;
	}
	return m->base + (addr.raw - m->start);
}

void *gmem_ptr(const struct gmem *m, gpa_t addr, uint64_t len)
{
	wrote(); /* the caller may write through it */
	return ptr(m, addr, len);
}

int gmem_copy_from(const struct gmem *m, void *dst, gpa_t src, size_t len)
{
	const void *p = ptr(m, src, len);

	if (p == NULL) {
		return -EFAULT;
	}
	memcpy(dst, p, len);
	return 0;
}

int gmem_copy_to(const struct gmem *m, gpa_t dst, const void *src, size_t len)
{
	void *p = ptr(m, dst, len);

	wrote();
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

/* The shared walker's entry reader: one 8-byte entry through the checked accessor. */
static bool read_entry(const void *ctx, uint64_t pa, uint64_t *e)
{
	return gmem_copy_from(ctx, e, gpa(pa), sizeof *e) == 0;
}

int gmem_gva_to_gpa(const struct gmem *m, uint64_t cr3, gva_t va, gpa_t *out, uint64_t *contig)
{
	struct pw_leaf leaf;

	switch (pw_walk(cr3, va.raw, read_entry, m, &leaf)) {
	case PW_OK:
		*out = gpa(leaf.pa);
		if (contig != NULL) {
			*contig = leaf.contig;
		}
		return 0;
	case PW_NONCANONICAL:
		return -EINVAL;
	case PW_NOT_MAPPED:
	default:
		return -EFAULT;
	}
}

/* ---- guest-virtual ranges ---- */

/* The walker's position between runs of one range: the leaf of the next virtual page, when
 * the previous run already read its entry (pw_step) and found it not contiguous. */
struct gva_walk {
	uint64_t cr3;
	bool step; /* false: one walk per page, each after the previous piece was used */
	struct pw_leaf next;
	bool have_next;
};

static int walk_fault(struct gva_fault *f, enum gva_fail why, uint64_t va, uint64_t pa)
{
	*f = (struct gva_fault){.why = why, .va = va, .pa = pa};
	return -EFAULT;
}

/* The leaf of va: the look-ahead leaf if there is one (it maps va: the run before ended at
 * its page), else a full walk. */
static int walk_leaf(const struct gmem *m, struct gva_walk *w, uint64_t va, struct pw_leaf *leaf,
		     struct gva_fault *f)
{
	if (w->have_next) {
		w->have_next = false;
		*leaf = w->next;
		return 0;
	}
	switch (pw_walk(w->cr3, va, read_entry, m, leaf)) {
	case PW_OK:
		return 0;
	case PW_NONCANONICAL:
		return walk_fault(f, GVA_NONCANONICAL, va, 0);
	case PW_NOT_MAPPED:
	default:
		return walk_fault(f, GVA_UNMAPPED, va, 0);
	}
}

/* The host memory behind the first run of [va, va + want) that maps to physically contiguous
 * RAM: one walk, then pw_step over the following entries of the leaf's table (each entry read
 * once; a present one that is not contiguous becomes the next run's leaf).  *host and *n (at
 * most want), or -EFAULT with *f.  A run that leaves RAM is cut back to its first page, so
 * that the fault names the first page outside RAM. */
static int gva_run(const struct gmem *m, struct gva_walk *w, uint64_t va, uint64_t want,
		   uint8_t **host, uint64_t *n, struct gva_fault *f)
{
	struct pw_leaf first, last, step;

	if (walk_leaf(m, w, va, &first, f) != 0) {
		return -EFAULT;
	}
	last = first;
	*n = want < first.contig ? want : first.contig;
	while (w->step && *n < want && (step = last, pw_step(read_entry, m, &step))) {
		if (step.pa != last.pa + last.contig) {
			w->next = step; /* maps va + *n: every page before was taken whole */
			w->have_next = true;
			break;
		}
		*n += want - *n < step.contig ? want - *n : step.contig;
		last = step;
	}
	if ((*host = ptr(m, gpa(first.pa), *n)) == NULL && *n > first.contig) {
		w->have_next = false;
		*n = first.contig;
		*host = ptr(m, gpa(first.pa), *n);
	}
	return *host != NULL ? 0 : walk_fault(f, GVA_OUTSIDE_RAM, va, first.pa);
}

/* Calls piece(ctx, host, len) for each run of [va, va + len) that maps to contiguous RAM, in
 * order; stops early when piece returns false (*done then counts the bytes given).  The one
 * loop behind every guest-virtual range accessor. */
typedef bool (*gva_piece_fn)(void *ctx, uint8_t *host, size_t len);
static bool copy_to_piece(void *ctx, uint8_t *host, size_t len);

static int gva_pieces(const struct gmem *m, uint64_t cr3, gva_t va, uint64_t len,
		      gva_piece_fn piece, void *ctx, uint64_t *done, struct gva_fault *f)
{
	/* A copy into guest memory may rewrite the guest's own tables as it goes: it walks
	 * each page after writing the previous one, as before runs existed. */
	struct gva_walk w = {.cr3 = cr3, .step = piece != copy_to_piece};
	uint64_t off = 0, n;
	uint8_t *host;
	int rc = 0;

	while (off < len) {
		if (va.raw + off < va.raw) {
			rc = walk_fault(f, GVA_UNMAPPED, va.raw + off, 0); /* wrapped */
			break;
		}
		if ((rc = gva_run(m, &w, va.raw + off, len - off, &host, &n, f)) != 0 ||
		    !piece(ctx, host, (size_t)n)) {
			break;
		}
		off += n;
	}
	if (done != NULL) {
		*done = off;
	}
	return rc;
}

struct iov_out {
	struct iovec *iov;
	int max, n;
};

static bool iov_piece(void *ctx, uint8_t *host, size_t len)
{
	struct iov_out *o = ctx;
	struct iovec *last = o->n > 0 ? &o->iov[o->n - 1] : NULL;

	if (last != NULL && (uint8_t *)last->iov_base + last->iov_len == host) {
		last->iov_len += len;
		return true;
	}
	if (o->n == o->max) {
		return false;
	}
	o->iov[o->n++] = (struct iovec){.iov_base = host, .iov_len = len};
	return true;
}

int gmem_gva_iov(const struct gmem *m, uint64_t cr3, gva_t va, uint64_t len, struct iovec *iov,
		 int max, int *n, uint64_t *done, struct gva_fault *f)
{
	struct iov_out o = {.iov = iov, .max = max};
	int rc = gva_pieces(m, cr3, va, len, iov_piece, &o, done, f);

	wrote(); /* the caller may read(2) into them */
	*n = rc == 0 ? o.n : 0;
	return rc;
}

static bool no_piece(void *ctx, uint8_t *host, size_t len)
{
	(void)ctx, (void)host, (void)len;
	return true;
}

int gmem_gva_check(const struct gmem *m, uint64_t cr3, gva_t va, uint64_t len, struct gva_fault *f)
{
	return gva_pieces(m, cr3, va, len, no_piece, NULL, NULL, f);
}

static bool copy_from_piece(void *ctx, uint8_t *host, size_t len)
{
	uint8_t **buf = ctx;

	memcpy(*buf, host, len);
	*buf += len;
	return true;
}

static bool copy_to_piece(void *ctx, uint8_t *host, size_t len)
{
	const uint8_t **buf = ctx;

	memcpy(host, *buf, len);
	*buf += len;
	return true;
}

int gmem_gva_copy_from(const struct gmem *m, uint64_t cr3, void *dst, gva_t src, size_t len,
		       struct gva_fault *f)
{
	uint8_t *buf = dst;

	return gva_pieces(m, cr3, src, len, copy_from_piece, &buf, NULL, f);
}

int gmem_gva_copy_to(const struct gmem *m, uint64_t cr3, gva_t dst, const void *src, size_t len,
		     struct gva_fault *f)
{
	const uint8_t *buf = src;

	wrote();
	return gva_pieces(m, cr3, dst, len, copy_to_piece, &buf, NULL, f);
}
