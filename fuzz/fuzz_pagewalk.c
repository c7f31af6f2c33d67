/* SPDX-License-Identifier: MIT */
/* fuzz_pagewalk.c - the guest page-table walk and the checked string copy (vmm/gmem.c).
 *
 * Input (little-endian; reads past the end yield zeros):
 *   u16 ram     RAM size: 8 + ram % (PW_RAM_MAX - 7) bytes (need not be a page multiple)
 *   u8  start   GPA of RAM: start % 4 selects 0, 0x1000, 4 GiB, or just below 2^64
 *   u64 cr3
 *   u8  nva     1 + nva % 8 virtual addresses follow, u64 each
 *   u64 src     GPA of a string for gmem_strcpy_from, u16 cap: its capacity (% 8193)
 *   rest        the first bytes of guest RAM (the remainder is zero)
 *
 * Oracles: RAM ends at a guard page (fuzz.h), the string copy's destination too; every result
 * is compared with a separately written reference walk and string copy over the same bytes.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "gmem.h"

#define PW_RAM_MAX (64u << 10)
#define PW_CAP_MAX 8192u

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

/* x86-64 4-level walk, written from the SDM independently of gmem.c. */
static int ref_walk(const struct ref *r, uint64_t cr3, uint64_t va, uint64_t *pa, uint64_t *contig)
{
	static const unsigned shifts[4] = {39, 30, 21, 12};
	const uint64_t addr_mask = ((1ull << 52) - 1) & ~0xfffull;
	uint64_t table = cr3 & addr_mask, pte;

	for (int level = 0; level < 4; level++) {
		unsigned s = shifts[level];
		uint64_t idx = (va >> s) & 511;
		bool leaf;

		if (!ref_entry(r, table + 8 * idx, &pte) || !(pte & 1)) {
			return -EFAULT;
		}
		leaf = level == 3 || ((level == 1 || level == 2) && (pte & 0x80));
		if (leaf) {
			uint64_t psize = 1ull << s;
			*pa = ((pte & addr_mask) & ~(psize - 1)) | (va & (psize - 1));
			*contig = psize - (va & (psize - 1));
			return 0;
		}
		table = pte & addr_mask;
	}
	return -EFAULT;
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct garena ram, dstg;
	static bool ready;
	struct fin in = {data, size};
	uint64_t vas[8], cr3, src;
	size_t ramsz, n, cap;
	unsigned nva;
	struct gmem mem;
	struct ref r;
	uint8_t *base;

	if (!ready) {
		garena_init(&ram, PW_RAM_MAX);
		garena_init(&dstg, PW_CAP_MAX);
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

	base = garena_place(&ram, ramsz);
	n = in.n < ramsz ? in.n : ramsz;
	memcpy(base, in.p, n);
	memset(base + n, 0, ramsz - n);
	gmem_init_arena(&mem, base, r.start, ramsz);
	r.ram = base;
	r.size = ramsz;

	for (unsigned i = 0; i < nva; i++) {
		check_walk(&mem, &r, cr3, vas[i], i % 2 == 0);
	}
	check_strcpy(&mem, &r, &dstg, src, cap);
	garena_check(&ram, "gmem");
	garena_check(&dstg, "gmem_strcpy_from");
	return 0;
}
