/* SPDX-License-Identifier: MIT */
/* bootargs.c - the guest's words after KERNEL as uhyve hands them over, and where a device
 * tree that outgrows uhyve's 16 KiB slot goes.
 *
 * uhyve (src/vm.rs write_fdt_into_mem, src/fdt.rs) splits the words at the first "--": the
 * words before it are the kernel's command line (Hermit's src/env reads -freq, -ip,
 * -gateway, -mask, -mount and env=KEY=VALUE there), the words after it the application's.
 * FDT /chosen/bootargs is "KERNEL-WORDS env=K=V... -- APP-WORDS" (the "--" only with
 * application words), read by every kernel since September 2024 with a shell-word splitter.
 * Kernel 0.6.x takes its argv from Cmdsize/Cmdval instead (interface v1): it gets the
 * application words, or every word when there is no "--" (as uhyve gives it every word).
 *
 * Trust: the words and the environment are operator input (checked by the launcher); the
 * layout comes from layout_choose.  Nothing here reads guest memory. */
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm_internal.h"

#define MIB2 (2ull << 20)
/* Room for what is added to the tree after it is placed (a Hermit image's initrd properties
 * and memory reservation), so that a tree just under a limit still fits when written. */
#define FDT_SLACK 256u

void guest_words_split(char *const *w, int n, struct guest_words *g)
{
	int sep = 0;

	while (sep < n && strcmp(w[sep], "--") != 0) {
		sep++;
	}
	g->kernel = w;
	g->nkernel = sep;
	g->sep = sep < n;
	g->app = g->sep ? w + sep + 1 : w + n;
	g->napp = g->sep ? n - sep - 1 : 0;
	/* Cmdval (kernel 0.6.x): the application's words, or all of them without a "--" */
	g->cmdval = g->sep ? g->app : w;
	g->ncmdval = g->sep ? g->napp : n;
}

/* Appends s, single-quoted for a POSIX shell-word splitter (Hermit uses the shlex crate)
 * unless it is made only of characters no splitter treats specially. */
static void quote_word(FILE *f, const char *s)
{
	bool plain = *s != '\0';

	for (const char *p = s; *p; p++) {
		if (!strchr(
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.,:/@+%=",
			*p)) {
			plain = false;
		}
	}
	if (plain) {
		fputs(s, f);
		return;
	}
	fputc('\'', f);
	for (const char *p = s; *p; p++) {
		if (*p == '\'') {
			fputs("'\\''", f);
		} else {
			fputc(*p, f);
		}
	}
	fputc('\'', f);
}

static void word(FILE *f, bool *first, const char *prefix)
{
	if (!*first) {
		fputc(' ', f);
	}
	fputs(prefix, f);
	*first = false;
}

/* env=NAME=VALUE words; the whole NAME, however long.  Returns 0 or -1 (no '='). */
static int env_words(FILE *f, bool *first, char *const *env, int n)
{
	for (int i = 0; i < n; i++) {
		const char *eq = strchr(env[i], '=');
		char *key = eq != NULL ? strndup(env[i], (size_t)(eq - env[i])) : NULL;

		if (key == NULL) { /* the launcher passes only NAME=VALUE */
			return -1;
		}
		word(f, first, "env=");
		quote_word(f, key);
		fputc('=', f);
		quote_word(f, eq + 1);
		free(key);
	}
	return 0;
}

char *layout_bootargs(const struct vmm_config *cfg)
{
	struct guest_words g;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	bool first = true;
	int rc;

	if (f == NULL) {
		return NULL;
	}
	guest_words_split(cfg->args, cfg->nargs, &g);
	for (int i = 0; i < g.nkernel; i++) {
		word(f, &first, "");
		quote_word(f, g.kernel[i]);
	}
	rc = env_words(f, &first, cfg->env, cfg->nenv);
	if (rc == 0 && g.napp > 0) {
		word(f, &first, "--");
		for (int i = 0; i < g.napp; i++) {
			fputc(' ', f);
			quote_word(f, g.app[i]);
		}
	}
	if (fclose(f) != 0 || rc != 0) {
		free(out);
		return NULL;
	}
	return out;
}

int layout_fdt_size(const struct vm_layout *lay, const struct boot_params *bp, uint64_t *size)
{
	size_t cap = UH_FDT_SIZE + (bp->bootargs != NULL ? strlen(bp->bootargs) : 0);
	int rc;

	for (int i = 0; i < bp->nmounts; i++) {
		cap += strlen(bp->mounts[i]) + 1;
	}
	cap += (size_t)bp->cpus * 64;
	for (;;) {
		void *buf = malloc(cap);

		if (buf == NULL) {
			return -1;
		}
		rc = layout_fdt_make(buf, cap, lay, bp);
		*size = rc == 0 ? fdt_totalsize(buf) : 0;
		free(buf);
		if (rc != -FDT_ERR_NOSPACE || cap > (size_t)INT32_MAX / 2) {
			return rc == 0 ? 0 : -1;
		}
		cap *= 2;
	}
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int layout_fdt_room(struct vm_layout *lay, const struct elf_image *img, uint64_t size, char *err,
		    size_t errlen)
{
	uint64_t at = lay->guest_address + UH_KERNEL_OFFSET, shift;

	lay->fdt_addr = lay->guest_address + UH_FDT_OFFSET;
	lay->fdt_cap = UH_FDT_SIZE;
	if (size + FDT_SLACK <= UH_FDT_SIZE) {
		return 0; /* where uhyve puts it */
	}
	size = align_up(size + FDT_SLACK, 0x1000);
	if (!img->is_pie) {
		/* a fixed-address kernel: between the page tables and its boot stack, if room */
		if (lay->load_addr < at + UH_KERNEL_STACK_SIZE ||
		    size > lay->load_addr - UH_KERNEL_STACK_SIZE - at) {
			snprintf(err, errlen,
				 "the guest arguments and environment need a %llu KiB device tree, "
				 "more than fits below this fixed-address kernel at 0x%llx",
				 (unsigned long long)(size >> 10),
				 (unsigned long long)lay->load_addr);
			return -1;
		}
	} else {
		/* a relocatable kernel moves up by whole 2 MiB pages; the kernel never uses
		 * memory below its own image */
		shift = align_up(size + UH_KERNEL_STACK_SIZE, MIB2);
		if (shift > lay->mem_size || UH_KERNEL_OFFSET + shift + img->span > lay->mem_size) {
			snprintf(err, errlen,
				 "the guest arguments and environment need a %llu KiB device tree, "
				 "which does not fit in %llu MiB of RAM with the kernel",
				 (unsigned long long)(size >> 10),
				 (unsigned long long)(lay->mem_size >> 20));
			return -1;
		}
		lay->load_addr += shift;
		lay->entry += shift;
		lay->image_end += shift;
	}
	lay->fdt_addr = at;
	lay->fdt_cap = size;
	return 0;
}
