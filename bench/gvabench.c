/* SPDX-License-Identifier: MIT */
/* gvabench.c - what the VMM spends turning a uhyve v1 read/write buffer (a guest-virtual
 * range) into host iovecs (gmem_gva_iov, vmm/gmem.c), the part of a v1 file hypercall that
 * fsbench (a v2 guest: guest-physical buffers) does not see.
 *
 * Guest RAM is an arena here; the guest's page tables map 64 MiB at VA 1 GiB with 4 KiB pages
 * (Hermit maps its heap with 4 KiB pages), either to consecutive physical pages ("contig": one
 * iovec per MiB) or to every other physical page ("scattered": one iovec per page, the worst
 * case).  Each sample builds the iovecs of one buffer of BS bytes, as hc.c does (rounds of at
 * most 256 iovecs).  Trusts nothing it reads (it is the VMM's own code on its own tables).
 *
 * Usage: gvabench [N]   prints "<layout>_<bs>=<median ns>" lines and ns per page. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gmem.h"

#define RAM_START 0x0ull
#define RAM_SIZE  (192ull << 20)
#define VA_BASE	  (1ull << 30)
#define MAP_SIZE  (64ull << 20)
#define DATA_PA	  (64ull << 20) /* data pages from here; tables below */
#define IOV_MAX	  256

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void put(struct gmem *m, uint64_t pa, uint64_t e)
{
	if (gmem_copy_to(m, gpa(pa), &e, sizeof e) != 0) {
		fprintf(stderr, "gvabench: table entry at 0x%llx outside the arena\n",
			(unsigned long long)pa);
		exit(1);
	}
}

/* PML4 at 0x1000, PDPT 0x2000, PDs from 0x3000, PTs from 0x10000; `stride` pages between the
 * physical pages of consecutive virtual pages (1: contiguous, 2: scattered). */
static uint64_t build(struct gmem *m, uint64_t stride)
{
	uint64_t pml4 = 0x1000, pdpt = 0x2000, pd = 0x3000, pt = 0x10000;

	memset(m->base, 0, DATA_PA);
	put(m, pml4, pdpt | 3);
	put(m, pdpt + 8 * (VA_BASE >> 30), pd | 3);
	for (uint64_t p = 0; p < MAP_SIZE / 4096; p++) {
		uint64_t va = VA_BASE + p * 4096, table = pt + (p / 512) * 4096;
		if (p % 512 == 0) {
			put(m, pd + 8 * ((va >> 21) & 511), table | 3);
		}
		put(m, table + 8 * (p % 512), (DATA_PA + p * stride * 4096) | 3);
	}
	return pml4;
}

/* One buffer of bs bytes at VA_BASE + off, in rounds of IOV_MAX iovecs as hc.c builds them. */
static uint64_t one(const struct gmem *m, uint64_t cr3, uint64_t off, uint64_t bs)
{
	static struct iovec iov[IOV_MAX];
	struct gva_fault f;
	uint64_t t0 = now_ns(), done = 0;

	while (done < bs) {
		uint64_t got;
		int n;
		if (gmem_gva_iov(m, cr3, gva(VA_BASE + off + done), bs - done, iov, IOV_MAX, &n,
				 &got, &f) != 0) {
			fprintf(stderr, "gvabench: fault at 0x%llx\n", (unsigned long long)f.va);
			exit(1);
		}
		done += got;
	}
	return now_ns() - t0;
}

int main(int argc, char **argv)
{
	static const uint64_t sizes[] = {4096, 1 << 20};
	static const char *const names[] = {"", "contig", "scattered"};
	int n = argc > 1 ? atoi(argv[1]) : 2000;
	uint64_t *t = calloc((size_t)(n > 10 ? n : 10), sizeof *t);
	void *arena = aligned_alloc(4096, RAM_SIZE);
	struct gmem m;

	if (t == NULL || arena == NULL) {
		fprintf(stderr, "gvabench: out of memory\n");
		return 1;
	}
	n = n > 10 ? n : 10;
	gmem_init_arena(&m, arena, RAM_START, RAM_SIZE);
	for (uint64_t stride = 1; stride <= 2; stride++) {
		uint64_t cr3 = build(&m, stride);
		for (size_t s = 0; s < 2; s++) {
			for (int i = -20; i < n; i++) {
				/* a different buffer each time, as a guest's heap (cold entries) */
				uint64_t off =
				    ((uint64_t)(i + 20) * sizes[s] * 3) % (MAP_SIZE - sizes[s]);
				uint64_t d = one(&m, cr3, off & ~4095ull, sizes[s]);
				if (i >= 0) {
					t[i] = d;
				}
			}
			qsort(t, (size_t)n, sizeof *t, cmp);
			printf("%s_%llu=%llu  (%.1f ns per page)\n", names[stride],
			       (unsigned long long)sizes[s], (unsigned long long)t[n / 2],
			       (double)t[n / 2] / (double)(sizes[s] / 4096));
		}
	}
	free(arena);
	free(t);
	return 0;
}
