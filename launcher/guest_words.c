/* SPDX-License-Identifier: MIT */
/* guest_words.c - the guest's words after KERNEL when they come from somewhere other than the
 * command line: a Hermit image's hermit.toml ([input] kernel_args and app_args).
 *
 * uhyve (src/vm.rs) uses the image's words only when the command line gives none, as
 * "KERNEL_ARGS -- APP_ARGS" ("--" only with application words); the VMM then splits them at
 * that "--" like words from the command line (vmm/bootargs.c): the kernel's command line
 * before it, the application's after it.
 *
 * Trust: the words come from the checked image blob (bounded, NUL-terminated strings that
 * outlive the run); nothing here parses them. */
#include <stdlib.h>

#include "launcher.h"
#include "uhs_msg.h"

static char separator[] = "--";

int lc_image_words(struct launch_config *lc, const char *const *kernel_args, size_t nkernel,
		   const char *const *app_args, size_t napp)
{
	size_t n = nkernel + (napp > 0 ? 1 + napp : 0), k = 0;
	char **a;

	if (lc->nargs > 0 || n == 0) {
		return 0; /* the command line's words win; nothing to add */
	}
	if (n > (size_t)INT32_MAX - 1 || (a = calloc(n + 1, sizeof *a)) == NULL) {
		uhs_msg("out of memory");
		return -1;
	}
	for (size_t i = 0; i < nkernel; i++) {
		a[k++] = (char *)(uintptr_t)kernel_args[i];
	}
	if (napp > 0) {
		a[k++] = separator;
	}
	for (size_t i = 0; i < napp; i++) {
		a[k++] = (char *)(uintptr_t)app_args[i];
	}
	free(lc->args);
	lc->args = a;
	lc->nargs = (int)k;
	return 0;
}
