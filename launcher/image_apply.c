/* SPDX-License-Identifier: MIT */
/* image_apply.c - what a Hermit image's hermit.toml means for the run, as uhyve applies it
 * (src/vm.rs): [requirements] memory and cpus against -m and -c; [input] kernel_args, then
 * "--" and app_args, only when the command line gives no guest arguments; env_vars under -e
 * and uhyve.toml (and ignored with -e host); the kernel comes from the checked blob.
 *
 * Trust: the image's values come from hi_blob_load's checked blob (launcher/image_parse.c):
 * bounded, NUL-terminated, NAME=VALUE environment entries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byte_size.h"
#include "launcher.h"
#include "uhs_msg.h"
#include "uhs_status.h"

/* "N MiB" when whole, else "N bytes". */
static const char *size_text(uint64_t v, char *buf, size_t cap)
{
	if (v % (1ULL << 20) == 0) {
		snprintf(buf, cap, "%llu MiB", (unsigned long long)(v >> 20));
	} else {
		snprintf(buf, cap, "%llu bytes", (unsigned long long)v);
	}
	return buf;
}

static int requirements(const struct launch_config *lc, const struct hi_config *c)
{
	const struct vmm_config *vm = &lc->vm;
	char want[32], got[32];

	if (c->memory_set && vm->mem_size < c->memory) {
		uhs_msg("%s: the image requires at least %s of guest memory (hermit.toml "
			"[requirements] memory), %s given (-m)",
			vm->kernel_path, size_text(c->memory, want, sizeof want),
			size_text(vm->mem_size, got, sizeof got));
		return ST_USAGE;
	}
	if (c->cpus > vm->cpus) {
		uhs_msg("%s: the image requires at least %u vCPUs (hermit.toml [requirements] "
			"cpus), %u given (-c)",
			vm->kernel_path, c->cpus, vm->cpus);
		return ST_USAGE;
	}
	return 0;
}

/* The guest words from the image, as the command line `KERNEL kernel_args -- app_args` gives
 * them today: every word after KERNEL is the application's (the first "--" only ends the
 * options).  MERGE (issue 11 item 7, branch kargs): once words before "--" go to the kernel
 * command line, kernel_args go there and app_args after it, exactly as uhyve does. */
static int image_args(struct launch_config *lc, const struct hi_config *c)
{
	size_t n = c->n_kernel_args + c->n_app_args, k = 0;
	char **a = calloc(n + 1, sizeof *a);

	if (a == NULL) {
		uhs_msg("out of memory");
		return ST_OSERR;
	}
	for (size_t i = 0; i < c->n_kernel_args; i++) {
		a[k++] = (char *)(uintptr_t)c->kernel_args[i];
	}
	for (size_t i = 0; i < c->n_app_args; i++) {
		a[k++] = (char *)(uintptr_t)c->app_args[i];
	}
	free(lc->args);
	lc->args = a;
	lc->nargs = (int)k;
	return 0;
}

int image_apply(struct launch_config *lc, const struct launch_image *li)
{
	const struct hermit_image *img = &li->img;
	const struct hi_entry *k;
	int rc;

	if (!li->is_image) {
		return 0;
	}
	if ((rc = requirements(lc, &img->cfg)) != 0) {
		return rc;
	}
	if (lc->nargs == 0 && (rc = image_args(lc, &img->cfg)) != 0) {
		return rc;
	}
	lc->image_env = img->cfg.env_vars;
	lc->nimage_env = img->cfg.n_env_vars;
	k = &img->entries[img->cfg.kernel];
	lc->vm.kernel_data = k->data;
	lc->vm.kernel_len = (size_t)k->size;
	if (lc->image_mode == UHC_IMAGE_INTERNAL) {
		lc->vm.initrd = li->tar;
		lc->vm.initrd_len = li->tar_len;
	}
	return 0;
}

static int add_dir(char **m, size_t *n, const char *name, size_t len)
{
	char *d;

	if (len == 0) {
		return 0; /* "/": no kernel can mount it (uhyve leaves it out too) */
	}
	for (size_t i = 0; i < *n; i++) {
		if (strlen(m[i]) == len + 1 && memcmp(m[i] + 1, name, len) == 0) {
			return 0;
		}
	}
	if ((d = malloc(len + 2)) == NULL) {
		return -1;
	}
	d[0] = '/';
	memcpy(d + 1, name, len);
	d[len + 1] = '\0';
	m[(*n)++] = d;
	return 0;
}

int image_mount_dirs(const struct launch_image *li, char **m, size_t *n)
{
	const struct hermit_image *img = &li->img;

	for (size_t i = 0; li->loaded && i < img->n_entries; i++) {
		const struct hi_entry *e = &img->entries[i];
		const char *slash = memrchr(e->name, '/', e->name_len);

		if (e->type == HI_FILE &&
		    add_dir(m, n, e->name, slash != NULL ? (size_t)(slash - e->name) : 0) != 0) {
			return -1;
		}
	}
	return 0;
}
