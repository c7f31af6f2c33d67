/* SPDX-License-Identifier: MIT */
/* fuzz_pagewalk.c - the one page walker (common/pagewalk.c, shared by the VMM and the assist
 * process), gmem's guest-virtual range accessors and the checked string copy (vmm/gmem.c).
 *
 * Input (little-endian; reads past the end yield zeros):
 *   u16 ram     RAM size: 8 + ram % (PW_RAM_MAX - 7) bytes (need not be a page multiple)
 *   u8  start   GPA of RAM: start % 4 selects 0, 0x1000, 4 GiB, or just below 2^64
 *   u64 cr3
 *   u8  nva     1 + nva % 8 virtual addresses follow, u64 each
 *   u64 src     GPA of a string for gmem_strcpy_from, u16 cap: its capacity (% 8193)
 *   u64 rva     a guest-virtual range for the range accessors, u16 rlen: its length
 *               (% (PW_RANGE_MAX + 1)), u8 iovmax: 1 + iovmax % 8 iovecs per round
 *   rest        the first bytes of guest RAM (the remainder is zero)
 *
 * Oracles: RAM ends at a guard page (fuzz.h), the string copy's and the range copy's
 * destinations too; every result is compared with a separately written reference over the
 * same bytes: the walk (gmem_gva_to_gpa, and pw_walk itself with its leaf level and the
 * effective W and NX bits), canonical-address rejection, the string copy, and the range
 * accessors (iovecs, check, copy from, and copy to, whose effect on all of RAM must equal the
 * reference's page-by-page writes, page tables included).
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "gmem.h"
#include "pagewalk.h"

#define PW_RAM_MAX   (64u << 10)
#define PW_CAP_MAX   8192u
#define PW_RANGE_MAX (3u * 4096u)

struct ref {
	const uint8_t *ram;
	uint64_t start, size;
};

/* Reads the 8-byte entry at GPA a, or fails if any byte of it is outside RAM. */
static bool ref_entry(const struct ref *r, uint64_t a, uint64_t *pte)
{
	if (a < r->start || r->size < 8 || a - r->start > r->size - 8) {
		return false;
	}
	memcpy(pte, r->ram + (a - r->start), 8);
	return true;
}

struct ref_leaf {
	uint64_t pa, contig;
	int level; /* 1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB */
	bool w, nx;
};

/* x86-64 4-level walk, written from the SDM independently of common/pagewalk.c: a linear
 * address whose bits 63:47 are not all equal is a #GP (-EINVAL); PS is reserved in a PML4E
 * (-EFAULT); W must be set at every level, XD at any. */
static int ref_walk_leaf(const struct ref *r, uint64_t cr3, uint64_t va, struct ref_leaf *o)
{
	static const unsigned shifts[4] = {39, 30, 21, 12};
	const uint64_t addr_mask = ((1ull << 52) - 1) & ~0xfffull;
	uint64_t table = cr3 & addr_mask, pte, top = va >> 47;
	bool w = true, nx = false;

	if (top != 0 && top != 0x1ffff) {
		return -EINVAL;
	}
	for (int level = 0; level < 4; level++) {
		unsigned s = shifts[level];
		uint64_t idx = (va >> s) & 511;
		bool leaf;

		if (!ref_entry(r, table + 8 * idx, &pte) || !(pte & 1) ||
		    (level == 0 && (pte & 0x80))) {
			return -EFAULT;
		}
		w = w && (pte & 2);
		nx = nx || (pte >> 63);
		leaf = level == 3 || ((level == 1 || level == 2) && (pte & 0x80));
		if (leaf) {
			uint64_t psize = 1ull << s;
			o->pa = ((pte & addr_mask) & ~(psize - 1)) | (va & (psize - 1));
			o->contig = psize - (va & (psize - 1));
			o->level = 4 - level;
			o->w = w;
			o->nx = nx;
			return 0;
		}
		table = pte & addr_mask;
	}
	return -EFAULT;
}

static int ref_walk(const struct ref *r, uint64_t cr3, uint64_t va, uint64_t *pa, uint64_t *contig)
{
	struct ref_leaf l;
	int rc = ref_walk_leaf(r, cr3, va, &l);

	if (rc == 0) {
		*pa = l.pa;
		*contig = l.contig;
	}
	return rc;
}

static long ref_strcpy(const struct ref *r, char *dst, size_t cap, uint64_t src)
{
	uint64_t avail, lim;

	if (cap == 0 || src < r->start || src - r->start >= r->size) {
		return -EFAULT;
	}
	avail = r->size - (src - r->start);
	lim = avail < cap ? avail : cap;
	for (uint64_t i = 0; i < lim; i++) {
		dst[i] = (char)r->ram[src - r->start + i];
		if (dst[i] == '\0') {
			return (long)i;
		}
	}
	return avail >= cap ? -ENAMETOOLONG : -EFAULT;
}

static uint64_t ram_start(uint8_t sel)
{
	switch (sel % 4) {
	case 0:
		return 0;
	case 1:
		return 0x1000;
	case 2:
		return 1ull << 32;
	default:
		return (UINT64_MAX - 2 * (uint64_t)PW_RAM_MAX) & ~0xfffull;
	}
}

static void check_walk(const struct gmem *m, const struct ref *r, uint64_t cr3, uint64_t va,
		       bool want_contig)
{
	uint64_t rpa = 0, rcontig = 0, contig = 0xdead;
	gpa_t pa = gpa(0xdead);
	int rc = gmem_gva_to_gpa(m, cr3, gva(va), &pa, want_contig ? &contig : NULL);
	int rrc = ref_walk(r, cr3, va, &rpa, &rcontig);

	if (rc != rrc) {
		FUZZ_BUG("walk cr3=0x%llx va=0x%llx: rc %d, reference %d", (unsigned long long)cr3,
			 (unsigned long long)va, rc, rrc);
	}
	if (rc == 0 && (pa.raw != rpa || (want_contig && contig != rcontig))) {
		FUZZ_BUG("walk va=0x%llx: pa 0x%llx contig 0x%llx, reference 0x%llx 0x%llx",
			 (unsigned long long)va, (unsigned long long)pa.raw,
			 (unsigned long long)contig, (unsigned long long)rpa,
			 (unsigned long long)rcontig);
	}
	if (rc == 0 && want_contig && (contig == 0 || contig > (1ull << 30))) {
		FUZZ_BUG("walk va=0x%llx: contig 0x%llx", (unsigned long long)va,
			 (unsigned long long)contig);
	}
}

static void check_strcpy(const struct gmem *m, const struct ref *r, struct garena *dstg,
			 uint64_t src, size_t cap)
{
	static char want[PW_CAP_MAX + 1];
	char *dst = (char *)garena_place(dstg, cap > 0 ? cap : 1); /* ends at a guard page */
	long n = gmem_strcpy_from(m, dst, cap, gpa(src));
	long rn = ref_strcpy(r, want, cap, src);
	void *p = gmem_ptr(m, gpa(src), cap);

	if (n != rn) {
		FUZZ_BUG("strcpy src=0x%llx cap=%zu: %ld, reference %ld", (unsigned long long)src,
			 cap, n, rn);
	}
	if (n >= 0 && memcmp(dst, want, (size_t)n + 1) != 0) {
		FUZZ_BUG("strcpy src=0x%llx: copied string differs", (unsigned long long)src);
	}
	if ((p != NULL) != gmem_range_ok(m, gpa(src), cap)) {
		FUZZ_BUG("gmem_ptr and gmem_range_ok disagree at 0x%llx+%zu",
			 (unsigned long long)src, cap);
	}
	if (p != NULL && ((uint8_t *)p < r->ram || (uint8_t *)p - r->ram > (ptrdiff_t)r->size ||
			  cap > r->size - (uint64_t)((uint8_t *)p - r->ram))) {
		FUZZ_BUG("gmem_ptr(0x%llx, %zu) points outside RAM", (unsigned long long)src, cap);
	}
}

/* pw_walk called directly, over its own bounds-checked reader of the same RAM. */
static bool fuzz_read(const void *ctx, uint64_t pa, uint64_t *e)
{
	return ref_entry(ctx, pa, e);
}

/* pw_step from the leaf of va: when it steps, the reference's walk of the next page must give
 * the same page, level and permissions. */
static void check_step(const struct ref *r, uint64_t cr3, uint64_t va, const struct pw_leaf *l)
{
	uint64_t size = 1ull << (12 + 9 * (l->level - 1)), next = (va & ~(size - 1)) + size;
	struct pw_leaf s = *l;
	struct ref_leaf rl;

	if (!pw_step(fuzz_read, r, &s)) {
		return;
	}
	if (ref_walk_leaf(r, cr3, next, &rl) != 0 || s.pa != rl.pa || s.contig != size ||
	    (int)s.level != rl.level || s.writable != rl.w || s.nx != rl.nx) {
		FUZZ_BUG("pw_step after va=0x%llx: page 0x%llx level %u, reference of 0x%llx "
			 "differs",
			 (unsigned long long)va, (unsigned long long)s.pa, s.level,
			 (unsigned long long)next);
	}
}

static void check_pw(const struct ref *r, uint64_t cr3, uint64_t va)
{
	struct pw_leaf l = {.pa = 0xdead};
	struct ref_leaf rl;
	enum pw_status st = pw_walk(cr3, va, fuzz_read, r, &l);
	int rrc = ref_walk_leaf(r, cr3, va, &rl);
	enum pw_status want = rrc == 0 ? PW_OK : rrc == -EINVAL ? PW_NONCANONICAL : PW_NOT_MAPPED;

	if (st != want) {
		FUZZ_BUG("pw_walk va=0x%llx: status %d, reference %d", (unsigned long long)va, st,
			 want);
	}
	if (st == PW_OK && (l.pa != rl.pa || l.contig != rl.contig || (int)l.level != rl.level ||
			    l.writable != rl.w || l.nx != rl.nx)) {
		FUZZ_BUG(
		    "pw_walk va=0x%llx: leaf pa 0x%llx level %u w %d nx %d, reference 0x%llx %d "
		    "%d %d",
		    (unsigned long long)va, (unsigned long long)l.pa, l.level, l.writable, l.nx,
		    (unsigned long long)rl.pa, rl.level, rl.w, rl.nx);
	}
	if (st == PW_OK && rrc == 0) {
		check_step(r, cr3, va, &l);
	}
	if (pw_canonical(va) != (rrc != -EINVAL)) {
		FUZZ_BUG("pw_canonical(0x%llx) disagrees with the reference",
			 (unsigned long long)va);
	}
}

/* ---- guest-virtual ranges: the reference, page by page ---- */

struct ref_range {
	uint64_t va, len;
	unsigned max; /* iovecs */
};

/* The piece of [va + off, va + len) within one page: 0 with its GPA and length, or the
 * failure gmem must report (enum gva_fail) with the failing address and GPA. */
static int ref_piece(const struct ref *r, uint64_t cr3, const struct ref_range *q, uint64_t off,
		     uint64_t *pa, uint64_t *n, struct gva_fault *f)
{
	uint64_t cur = q->va + off, contig;
	int rc;

	if (cur < q->va) {
		*f = (struct gva_fault){.why = GVA_UNMAPPED, .va = cur};
		return -1;
	}
	if ((rc = ref_walk(r, cr3, cur, pa, &contig)) != 0) {
		*f = (struct gva_fault){.why = rc == -EINVAL ? GVA_NONCANONICAL : GVA_UNMAPPED,
					.va = cur};
		return -1;
	}
	*n = q->len - off < contig ? q->len - off : contig;
	if (*pa < r->start || *n > r->size || *pa - r->start > r->size - *n) {
		*f = (struct gva_fault){.why = GVA_OUTSIDE_RAM, .va = cur, .pa = *pa};
		return -1;
	}
	return 0;
}

static void same_fault(const char *what, int rc, int rrc, const struct gva_fault *f,
		       const struct gva_fault *rf)
{
	if ((rc == 0) != (rrc == 0)) {
		FUZZ_BUG("%s: rc %d, reference %d", what, rc, rrc);
	}
	if (rc != 0 && (rc != -EFAULT || f->why != rf->why || f->va != rf->va ||
			(f->why == GVA_OUTSIDE_RAM && f->pa != rf->pa))) {
		FUZZ_BUG("%s: fault %d at 0x%llx (0x%llx), reference %d at 0x%llx (0x%llx)", what,
			 f->why, (unsigned long long)f->va, (unsigned long long)f->pa, rf->why,
			 (unsigned long long)rf->va, (unsigned long long)rf->pa);
	}
}

/* gmem_gva_iov: pieces in order, host-adjacent ones merged, at most q->max iovecs. */
static void check_iov(const struct gmem *m, const struct ref *r, uint64_t cr3,
		      const struct ref_range *q)
{
	struct iovec iov[8], want[8];
	struct gva_fault f, rf;
	uint64_t done = 0xdead, off = 0, pa, n;
	int niov = -1, nw = 0, rrc = 0;
	int rc = gmem_gva_iov(m, cr3, gva(q->va), q->len, iov, (int)q->max, &niov, &done, &f);

	while (off < q->len && (rrc = ref_piece(r, cr3, q, off, &pa, &n, &rf)) == 0) {
		const uint8_t *h = r->ram + (pa - r->start);
		if (nw > 0 && (const uint8_t *)want[nw - 1].iov_base + want[nw - 1].iov_len == h) {
			want[nw - 1].iov_len += n;
		} else if (nw == (int)q->max) {
			break;
		} else {
			want[nw++] = (struct iovec){.iov_base = (void *)(uintptr_t)h, .iov_len = n};
		}
		off += n;
	}
	same_fault("gmem_gva_iov", rc, rrc, &f, &rf);
	if (rc == 0 && (done != off || niov != nw)) {
		FUZZ_BUG("gmem_gva_iov: %d iovecs for 0x%llx bytes, reference %d for 0x%llx", niov,
			 (unsigned long long)done, nw, (unsigned long long)off);
	}
	for (int i = 0; rc == 0 && i < nw; i++) {
		if (iov[i].iov_base != want[i].iov_base || iov[i].iov_len != want[i].iov_len) {
			FUZZ_BUG("gmem_gva_iov: iovec %d differs from the reference", i);
		}
	}
}

/* gmem_gva_check and gmem_gva_copy_from: the whole range, or the first failure. */
static void check_copy_from(const struct gmem *m, const struct ref *r, uint64_t cr3,
			    const struct ref_range *q, struct garena *dstg)
{
	static uint8_t want[PW_RANGE_MAX];
	uint8_t *dst = garena_place(dstg, q->len > 0 ? q->len : 1);
	struct gva_fault f, fc, rf;
	uint64_t off = 0, pa, n;
	int rrc = 0, rc = gmem_gva_copy_from(m, cr3, dst, gva(q->va), q->len, &f);
	int rcc = gmem_gva_check(m, cr3, gva(q->va), q->len, &fc);

	while (off < q->len && (rrc = ref_piece(r, cr3, q, off, &pa, &n, &rf)) == 0) {
		memcpy(want + off, r->ram + (pa - r->start), n);
		off += n;
	}
	same_fault("gmem_gva_copy_from", rc, rrc, &f, &rf);
	same_fault("gmem_gva_check", rcc, rrc, &fc, &rf);
	if (rc == 0 && memcmp(dst, want, q->len) != 0) {
		FUZZ_BUG("gmem_gva_copy_from: bytes differ from the reference");
	}
}

/* gmem_gva_copy_to (last: it changes RAM): the reference writes the same pattern page by
 * page into a copy of RAM, each page walked after the previous one was written. */
static void check_copy_to(const struct gmem *m, struct ref *r, uint64_t cr3,
			  const struct ref_range *q)
{
	static uint8_t copy[PW_RAM_MAX], pattern[PW_RANGE_MAX];
	const uint8_t *live = r->ram;
	struct gva_fault f, rf;
	uint64_t off = 0, pa, n;
	int rc, rrc = 0;

	for (uint64_t i = 0; i < q->len; i++) {
		pattern[i] = (uint8_t)(0x5a ^ i ^ (i >> 8));
	}
	memcpy(copy, live, r->size);
	r->ram = copy;
	while (off < q->len && (rrc = ref_piece(r, cr3, q, off, &pa, &n, &rf)) == 0) {
		memcpy(copy + (pa - r->start), pattern + off, n);
		off += n;
	}
	r->ram = live;
	rc = gmem_gva_copy_to(m, cr3, gva(q->va), pattern, q->len, &f);
	same_fault("gmem_gva_copy_to", rc, rrc, &f, &rf);
	if (memcmp(live, copy, r->size) != 0) {
		FUZZ_BUG("gmem_gva_copy_to: RAM differs from the reference's writes");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct garena ram, dstg, rangeg;
	static bool ready;
	struct fin in = {data, size};
	struct ref_range q;
	uint64_t vas[8], cr3, src;
	size_t ramsz, n, cap;
	unsigned nva;
	struct gmem mem;
	struct ref r;
	uint8_t *base;

	if (!ready) {
		garena_init(&ram, PW_RAM_MAX);
		garena_init(&dstg, PW_CAP_MAX);
		garena_init(&rangeg, PW_RANGE_MAX);
		ready = true;
	}
	ramsz = 8 + fin_u16(&in) % (PW_RAM_MAX - 7);
	r.start = ram_start(fin_u8(&in));
	cr3 = fin_u64(&in);
	nva = 1 + fin_u8(&in) % 8;
	for (unsigned i = 0; i < nva; i++) {
		vas[i] = fin_u64(&in);
	}
	src = fin_u64(&in);
	cap = fin_u16(&in) % (PW_CAP_MAX + 1);
	q.va = fin_u64(&in);
	q.len = fin_u16(&in) % (PW_RANGE_MAX + 1);
	q.max = 1 + fin_u8(&in) % 8;

	base = garena_place(&ram, ramsz);
	n = in.n < ramsz ? in.n : ramsz;
	memcpy(base, in.p, n);
	memset(base + n, 0, ramsz - n);
	gmem_init_arena(&mem, base, r.start, ramsz);
	r.ram = base;
	r.size = ramsz;

	for (unsigned i = 0; i < nva; i++) {
		check_walk(&mem, &r, cr3, vas[i], i % 2 == 0);
		check_pw(&r, cr3, vas[i]);
	}
	check_strcpy(&mem, &r, &dstg, src, cap);
	check_iov(&mem, &r, cr3, &q);
	check_copy_from(&mem, &r, cr3, &q, &rangeg);
	check_copy_to(&mem, &r, cr3, &q);
	garena_check(&ram, "gmem");
	garena_check(&dstg, "gmem_strcpy_from");
	garena_check(&rangeg, "gmem_gva_copy_from");
	return 0;
}
