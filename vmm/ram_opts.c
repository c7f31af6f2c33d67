/* SPDX-License-Identifier: MIT */
/* ram_opts.c - uhyve's --thp and --ksm: how guest RAM is made and the advice it gets.
 *
 * Guest RAM is normally a sealed memfd (shared memory) so that the instruction assist can map
 * it.  KSM never merges shared memory, and shared memory gets transparent huge pages only
 * where /sys/kernel/mm/transparent_hugepage/shmem_enabled allows them; private anonymous
 * memory (uhyve's kind) serves both, but no other process can map it.  So: --ksm needs the
 * assist off; --thp uses shared memory where the host gives it huge pages, else needs the
 * assist off.  Every case that cannot work is a one-line error before the guest runs, never
 * advice that silently does nothing.
 *
 * Trust: reads two sysfs files before confinement; no guest input. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vm.h"

#define THP_DIR "/sys/kernel/mm/transparent_hugepage/"

/* The selected value of a sysfs choice file ("always [madvise] never" -> "madvise"), or "". */
static void sysfs_choice(const char *path, char *out, size_t cap)
{
	char buf[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
	char *lb, *rb;

	out[0] = '\0';
	if (fd >= 0) {
		close(fd);
	}
	if (n <= 0) {
		return;
	}
	buf[n] = '\0';
	lb = strchr(buf, '[');
	rb = lb != NULL ? strchr(lb, ']') : NULL;
	if (rb != NULL) {
		snprintf(out, cap, "%.*s", (int)(rb - lb - 1), lb + 1);
	}
}

/* Whether RAM of this kind gets huge pages after MADV_HUGEPAGE; *setting names the file's
 * value for the message. */
static bool thp_works(bool shared, char *setting, size_t cap)
{
	sysfs_choice(shared ? THP_DIR "shmem_enabled" : THP_DIR "enabled", setting, cap);
	return setting[0] != '\0' && strcmp(setting, "never") != 0 && strcmp(setting, "deny") != 0;
}

int ram_create(struct vm *vm, bool assist)
{
	const struct vmm_config *cfg = vm->cfg;
	char setting[32];
	bool anon = cfg->ksm || (cfg->thp && !assist && !thp_works(true, setting, sizeof setting));
	int rc;

	if (cfg->ksm && assist) {
		uhs_msg(
		    "--ksm needs --assist=off: KSM never merges shared memory, and guest RAM is "
		    "shared with the instruction assist");
		return ST_USAGE;
	}
	if (cfg->thp && !thp_works(!anon, setting, sizeof setting)) {
		uhs_msg(
		    "--thp: this host gives %s memory no transparent huge pages (%s%s is '%s')%s",
		    anon ? "private" : "shared", THP_DIR, anon ? "enabled" : "shmem_enabled",
		    setting[0] != '\0' ? setting : "unreadable",
		    anon ? "" : "; --assist=off lets guest RAM be private memory");
		return ST_USAGE;
	}
	rc = anon ? gmem_init_anon(&vm->mem, 0, cfg->mem_size)
		  : gmem_init(&vm->mem, 0, cfg->mem_size);
	if (rc != 0) {
		uhs_msg("cannot allocate %llu MiB of guest RAM: %s",
			(unsigned long long)(cfg->mem_size >> 20), strerror(-rc));
		return ST_OSERR;
	}
	return ram_advise(vm);
}

int ram_advise(struct vm *vm)
{
	const struct vmm_config *cfg = vm->cfg;
	void *base = gmem_ptr(&vm->mem, gpa(vm->mem.start), vm->mem.size);

	if (cfg->thp && madvise(base, vm->mem.size, MADV_HUGEPAGE) != 0) {
		uhs_msg("--thp: madvise(MADV_HUGEPAGE): %s", strerror(errno));
		return ST_OSERR;
	}
	if (cfg->ksm && madvise(base, vm->mem.size, MADV_MERGEABLE) != 0) {
		uhs_msg("--ksm: madvise(MADV_MERGEABLE): %s (a kernel without KSM?)",
			strerror(errno));
		return ST_OSERR;
	}
	return 0;
}
