/* SPDX-License-Identifier: MIT */
/* helper_path.h - where uhyve-sec's helper programs (uhyve-sec-broker, uhyve-sec-assist) are:
 * next to the running binary, in the build tree's folder of the helper, or in the install's
 * libexec directory relative to it.  A path the operator chose by running this binary, never
 * one from the environment. */
#ifndef UHS_HELPER_PATH_H
#define UHS_HELPER_PATH_H

#include <stddef.h>

/* Finds helper `name` (built in folder `builddir` of the build tree) for the running
 * executable.  Returns 0 with the path in buf, or -1 if there is none. */
int helper_path(const char *name, const char *builddir, char *buf, size_t len);

#endif
