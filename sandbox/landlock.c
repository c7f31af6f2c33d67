/* SPDX-License-Identifier: MIT */
/* landlock.c - Landlock rulesets (sbx.h): raw system calls, no library. */
#include <errno.h>
#include <linux/landlock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sbx.h"

#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ull << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ull << 15)
#endif
#define LL_NET_BIND_TCP	       (1ull << 0)
#define LL_NET_CONNECT_TCP     (1ull << 1)
#define LL_SCOPE_ABSTRACT_UNIX (1ull << 0)
#define LL_SCOPE_SIGNAL	       (1ull << 1)

/* The ruleset attribute grew with the ABI: handled_access_fs (1), _net (4), scoped (6). */
struct ll_attr {
	uint64_t fs, net, scoped;
};

int sbx_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
#ifdef UHS_TEST_HOOKS
	const char *fake = getenv("UHS_TEST_LANDLOCK_ABI"); /* test builds only: fail-closed test */
	if (fake != NULL) {
		abi = atol(fake);
	}
#endif
	return abi < 0 ? 0 : (int)abi;
}

int sbx_landlock_check(int *abi, char *err, size_t errlen)
{
	*abi = sbx_landlock_abi();
	if (*abi < SBX_LANDLOCK_MIN_ABI) {
		snprintf(err, errlen,
			 "Landlock is not available (Linux 5.13 or newer with Landlock enabled in "
			 "the LSM list is required; --sandbox=off runs unconfined)");
		return -1;
	}
	return 0;
}

uint64_t sbx_landlock_fs_all(int abi)
{
	uint64_t fs = (LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1; /* the 13 rights of ABI 1 */

	fs |= abi >= 2 ? LANDLOCK_ACCESS_FS_REFER : 0;
	fs |= abi >= 3 ? LANDLOCK_ACCESS_FS_TRUNCATE : 0;
	fs |= abi >= 5 ? LANDLOCK_ACCESS_FS_IOCTL_DEV : 0;
	return fs;
}

int sbx_landlock_ruleset(int abi)
{
	struct ll_attr a = {.fs = sbx_landlock_fs_all(abi),
			    .net = abi >= 4 ? LL_NET_BIND_TCP | LL_NET_CONNECT_TCP : 0,
			    .scoped = abi >= 6 ? LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL : 0};
	size_t size = abi >= 6 ? 24 : abi >= 4 ? 16 : 8;

	return (int)syscall(SYS_landlock_create_ruleset, &a, size, 0);
}

int sbx_landlock_allow(int ruleset, int dirfd, uint64_t rights)
{
	struct landlock_path_beneath_attr pb = {.allowed_access = rights, .parent_fd = dirfd};

	return (int)syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
}

int sbx_landlock_enforce(int ruleset, char *err, size_t errlen)
{
	int rc = (int)syscall(SYS_landlock_restrict_self, ruleset, 0);

	if (rc != 0) {
		snprintf(err, errlen, "landlock_restrict_self: %s", strerror(errno));
	}
	close(ruleset);
	return rc == 0 ? 0 : -1;
}

void sbx_print_rights(FILE *f, uint64_t r)
{
	static const char *const names[] = {"execute",	  "write_file",	 "read_file", "read_dir",
					    "remove_dir", "remove_file", "make_char", "make_dir",
					    "make_reg",	  "make_sock",	 "make_fifo", "make_block",
					    "make_sym",	  "refer",	 "truncate",  "ioctl_dev"};
	const char *sep = "";

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (r & (1ull << i)) {
			fprintf(f, "%s%s", sep, names[i]);
			sep = ",";
		}
	}
}

void sbx_print_landlock_extra(FILE *f, int abi)
{
	fprintf(f, "%s%s", abi >= 4 ? ", net bind_tcp,connect_tcp" : "",
		abi >= 6 ? ", scoped abstract_unix_socket,signal" : "");
}
