/* SPDX-License-Identifier: MIT */
/* fuzz.h - shared helpers of the fuzz targets (fuzz/fuzz_<target>.c) and their drivers.
 *
 * Every target defines only LLVMFuzzerTestOneInput() (plus static helpers) and resets all of
 * its state per input.  The drivers are fuzz/afl_driver.c (AFL++ persistent mode), libFuzzer
 * (-fsanitize=fuzzer) and fuzz/replay_main.c (corpus replay, the 'fuzz-regress' test suite).
 *
 * Oracles abort(): any abort() or crash is a finding (docs/fuzzing.md).
 */
#ifndef UHS_FUZZ_H
#define UHS_FUZZ_H

#include <ftw.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Stops with a message: the oracle found a bug. */
#define FUZZ_BUG(...)                                                                              \
	do {                                                                                       \
		fprintf(stderr, "fuzz oracle: " __VA_ARGS__);                                      \
		fputc('\n', stderr);                                                               \
		abort();                                                                           \
	} while (0)

/* Stops because the harness itself could not run (not a finding in the code under test). */
#define FUZZ_SETUP_FAIL(what)                                                                      \
	do {                                                                                       \
		perror("fuzz harness: " what);                                                     \
		abort();                                                                           \
	} while (0)

/* ---- reading the input: past its end every read yields zeros ---- */

struct fin {
	const uint8_t *p;
	size_t n;
};

static inline void fin_bytes(struct fin *in, void *dst, size_t len)
{
	size_t k = len < in->n ? len : in->n;

	if (k > 0) {
		memcpy(dst, in->p, k);
	}
	memset((uint8_t *)dst + k, 0, len - k);
	in->p += k;
	in->n -= k;
}

static inline uint8_t fin_u8(struct fin *in)
{
	uint8_t v;

	fin_bytes(in, &v, sizeof v);
	return v;
}

static inline uint16_t fin_u16(struct fin *in)
{
	uint16_t v;

	fin_bytes(in, &v, sizeof v);
	return v;
}

static inline uint32_t fin_u32(struct fin *in)
{
	uint32_t v;

	fin_bytes(in, &v, sizeof v);
	return v;
}

static inline uint64_t fin_u64(struct fin *in)
{
	uint64_t v;

	fin_bytes(in, &v, sizeof v);
	return v;
}

/* ---- guarded memory: a buffer whose end touches a PROT_NONE page ----
 *
 * The mapping is [guard][cap bytes, rounded to pages][guard].  garena_place() puts a buffer
 * of `size` bytes so that it ends exactly at the trailing guard page; the whole pages below
 * it are made PROT_NONE as well, and the few bytes between the last of those and the buffer
 * are filled with a canary that garena_check() verifies.  So any access past the end, and any
 * access below the start by a page or more, faults at once; a write just below the start is
 * found by the canary.  Works without ASan (the AFL build) and with it. */

#define GARENA_CANARY 0xa5

struct garena {
	uint8_t *map; /* start of the leading guard page */
	size_t page, cap; /* page size; usable bytes (a multiple of page) */
	uint8_t *lo; /* first read-write byte */
	uint8_t *base; /* the placed buffer */
	size_t size;
};

static inline void garena_init(struct garena *g, size_t cap)
{
	long ps = sysconf(_SC_PAGESIZE);

	g->page = ps > 0 ? (size_t)ps : 4096;
	g->cap = (cap + g->page - 1) / g->page * g->page;
	g->map = mmap(NULL, g->cap + 2 * g->page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->map == MAP_FAILED) {
		FUZZ_SETUP_FAIL("mmap");
	}
	g->lo = g->map + g->page + g->cap; /* nothing read-write yet */
	g->base = g->lo;
	g->size = 0;
}

/* Places a buffer of size bytes (1 <= size <= cap) and returns it; its contents are
 * unspecified (the caller fills them). */
static inline uint8_t *garena_place(struct garena *g, size_t size)
{
	uint8_t *end = g->map + g->page + g->cap;
	uint8_t *lo;

	if (size == 0 || size > g->cap) {
		FUZZ_SETUP_FAIL("garena_place size");
	}
	lo = end - (size + g->page - 1) / g->page * g->page;
	if (lo != g->lo) {
		if (mprotect(g->map + g->page, (size_t)(lo - g->map - g->page), PROT_NONE) != 0 ||
		    mprotect(lo, (size_t)(end - lo), PROT_READ | PROT_WRITE) != 0) {
			FUZZ_SETUP_FAIL("mprotect");
		}
		g->lo = lo;
	}
	g->base = end - size;
	g->size = size;
	memset(g->lo, GARENA_CANARY, (size_t)(g->base - g->lo));
	return g->base;
}

/* Aborts if anything wrote into the canary bytes just below the placed buffer. */
static inline void garena_check(const struct garena *g, const char *who)
{
	for (const uint8_t *p = g->lo; p < g->base; p++) {
		if (*p != GARENA_CANARY) {
			FUZZ_BUG("%s wrote %td byte(s) below the start of the guest RAM arena", who,
				 g->base - p);
		}
	}
}

/* ---- a private scratch directory per process ----
 *
 * Created on first use under $UHS_FUZZ_TMPDIR, else $TMPDIR, else /tmp, as
 * uhs-fuzz-<name>-XXXXXX.  The caller removes what it put there (atexit); a process killed by
 * the fuzzer leaves it behind, so fuzz/run-campaign points UHS_FUZZ_TMPDIR into its output
 * directory and removes that at the end. */
static inline const char *fuzz_tmpdir(const char *name, char *buf, size_t cap)
{
	const char *base = getenv("UHS_FUZZ_TMPDIR");

	if (base == NULL || base[0] == '\0') {
		base = getenv("TMPDIR");
	}
	if (base == NULL || base[0] == '\0') {
		base = "/tmp";
	}
	if ((size_t)snprintf(buf, cap, "%s/uhs-fuzz-%s-XXXXXX", base, name) >= cap ||
	    mkdtemp(buf) == NULL) {
		FUZZ_SETUP_FAIL("mkdtemp");
	}
	return buf;
}

static inline int fuzz_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

/* Removes a directory tree without following symlinks or entering other mounts. */
static inline void fuzz_rmtree(const char *dir)
{
	nftw(dir, fuzz_rm_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

#endif
