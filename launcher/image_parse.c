/* SPDX-License-Identifier: MIT */
/* image_parse.c - a Hermit image (.hermit: gzip'd tar with hermit.toml) is hostile input from
 * its author, so it is parsed by a short-lived child that confines itself first: no
 * capabilities, no_new_privs, a Landlock domain with no file-system right at all, and a
 * seccomp allowlist of seven syscalls (write to its two memfds, memory management, exit).
 * The child runs hi_parse on the mapped archive and writes the validated table as a flat blob
 * (hi_blob_write) into a memfd; for --hermit-image-mode internal it also writes the
 * decompressed tar into a second one.  The launcher then seals both memfds (the child is gone,
 * nothing else can write them) and checks the blob again with hi_blob_load before anything
 * uses it: a parser compromised by a libarchive, zlib or toml++ bug can hand over nothing the
 * checker would not accept from hi_parse itself.  Nothing is ever extracted onto the host.
 *
 * Trust: the archive's bytes (never interpreted in this process), the child's output (checked).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hermit_image.h"
#include "launcher.h"
#include "sbx.h"
#include "uhs_msg.h"
#include "uhs_status.h"

#define IMAGE_FILE_MAX (1ULL << 31) /* bytes of a .hermit file */
#define MSG_MAX	       512 /* a failing child's message, written to the blob memfd */
#define SEALS	       (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)
#define ST_PARSE_FAIL  1 /* the child's status after a refusal (message in the memfd) */

enum parse_arg {
	A_OUT_FD = 1, /* arg0 = one of the two output memfds */
	A_NO_EXEC, /* arg2 (prot) without PROT_EXEC */
};

/* The parser child's whole allowlist (also printed by --print-sandbox). */
static const struct sbx_rule parse_rules[] = {
    {SCMP_SYS(write), "write", A_OUT_FD, "the blob and the tar, into the two memfds only"},
    {SCMP_SYS(mmap), "mmap", A_NO_EXEC, "allocations (never executable)"},
    {SCMP_SYS(munmap), "munmap", SBX_ARG_ANY, "allocations"},
    {SCMP_SYS(mremap), "mremap", SBX_ARG_ANY, "allocations that grow"},
    {SCMP_SYS(brk), "brk", SBX_ARG_ANY, "allocations"},
    {SCMP_SYS(madvise), "madvise", SBX_ARG_ANY, "the allocator returns memory"},
    {SCMP_SYS(exit_group), "exit_group", SBX_ARG_ANY, "the end"},
};
#define NRULES (sizeof parse_rules / sizeof parse_rules[0])

struct out_fds {
	int blob, tar; /* tar: -1 unless internal */
};

static int add_rule(scmp_filter_ctx ctx, const struct sbx_rule *r, const void *arg)
{
	const struct out_fds *o = arg;
	int rc;

	switch ((enum parse_arg)r->arg) {
	case A_OUT_FD:
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)o->blob));
		if (rc == 0 && o->tar >= 0) {
			rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)o->tar));
		}
		return rc;
	case A_NO_EXEC:
		return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, r->nr, 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	default:
		return -EINVAL;
	}
}

static const char *arg_text(int a)
{
	return a == A_OUT_FD ? "fd == one of its two output memfds" : "prot without PROT_EXEC";
}

void image_print_sandbox(FILE *f)
{
	fprintf(f, "\nHermit image parser (a child of uhyve-sec, only for a .hermit KERNEL; it\n"
		   "exits before the VM starts):\n");
	fprintf(f, "  capabilities: none; no_new_privs; Landlock: every file-system right "
		   "handled, no rule\n");
	sbx_print_rules(f, "  image parser", parse_rules, NRULES, arg_text);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len > (1U << 30) ? 1U << 30 : len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void child_confine(const struct out_fds *o, bool confine)
{
	char err[256];
	int abi, rs;

	if (!confine || sbx_seccomp_compiled_out()) {
		return;
	}
	if (sbx_landlock_check(&abi, err, sizeof err) != 0 ||
	    sbx_drop_privs(err, sizeof err) != 0 || (rs = sbx_landlock_ruleset(abi)) < 0 ||
	    sbx_landlock_enforce(rs, err, sizeof err) != 0 ||
	    sbx_load_filter(parse_rules, NRULES, add_rule, o, err, sizeof err) != 0) {
		write_all(o->blob, err, strnlen(err, sizeof err));
		_exit(ST_SANDBOX);
	}
}

#ifdef UHS_TEST_HOOKS
/* Test builds only (-Dtest_hooks=true): with UHS_TEST_IMAGE_PROBE=open the confined child
 * tries to open "/": the seccomp filter must kill it (tests/integration/images). */
static void test_probe(void)
{
	const char *p = getenv("UHS_TEST_IMAGE_PROBE");

	if (p != NULL && strcmp(p, "open") == 0) {
		(void)syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
}
#endif

/* For internal mode: the decompressed tar into its memfd (before the blob, so that a refusal
 * is the only thing in the blob memfd).  Never returns on failure. */
static void child_tar(const uint8_t *file, size_t len, const struct out_fds *o)
{
	char err[MSG_MAX];
	uint8_t *buf = NULL;
	size_t tar_len;

	/* the bound hi_parse inflates under with its default caps */
	if (hi_gunzip(file, len,
		      HI_DEFAULT_MAX_TOTAL_SIZE + (8ULL << 10) * HI_DEFAULT_MAX_ENTRIES +
			  (1U << 20),
		      &buf, &tar_len, err, sizeof err) != 0) {
		write_all(o->blob, err, strnlen(err, sizeof err));
		_exit(ST_PARSE_FAIL);
	}
	if (write_all(o->tar, buf, tar_len) != 0) {
		_exit(ST_OSERR);
	}
	free(buf);
}

/* The child: confine, parse, write.  Never returns. */
static void child(const uint8_t *file, size_t len, const struct out_fds *o, bool confine)
{
	struct hermit_image img;
	char err[MSG_MAX];
	uint8_t *buf = NULL;
	size_t size;

	child_confine(o, confine);
#ifdef UHS_TEST_HOOKS
	test_probe();
#endif
	if (hi_parse(file, len, NULL, &img, err, sizeof err) != 0) {
		write_all(o->blob, err, strnlen(err, sizeof err));
		_exit(ST_PARSE_FAIL);
	}
	if (o->tar >= 0) {
		child_tar(file, len, o);
	}
	size = hi_blob_size(&img);
	if (size == 0 || (buf = malloc(size)) == NULL || hi_blob_write(&img, buf, size) != size ||
	    write_all(o->blob, buf, size) != 0) {
		_exit(ST_OSERR);
	}
	_exit(0);
}

/* A child's refusal: the message it wrote, made printable. */
static void report(const char *path, int fd)
{
	char msg[MSG_MAX + 1];
	ssize_t n = pread(fd, msg, MSG_MAX, 0);

	msg[n > 0 ? n : 0] = '\0';
	for (char *p = msg; *p != '\0'; p++) {
		*p = (*p < 0x20 || *p == 0x7f) ? '?' : *p;
	}
	uhs_msg("%s: %s", path, msg[0] != '\0' ? msg : "the image parser gave no reason");
}

/* Waits for the child; 0, or an exit status after a message. */
static int wait_child(const char *path, pid_t pid, int blob_fd)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			uhs_msg("waitpid: %s", strerror(errno));
			return ST_OSERR;
		}
	}
	if (WIFSIGNALED(st)) {
		uhs_msg("%s: the image parser was killed by SIG%s", path,
			sigabbrev_np(WTERMSIG(st)));
		return ST_BAD_IMAGE;
	}
	switch (WEXITSTATUS(st)) {
	case 0:
		return 0;
	case ST_PARSE_FAIL:
		report(path, blob_fd);
		return ST_BAD_IMAGE;
	case ST_SANDBOX:
		report(path, blob_fd);
		return ST_SANDBOX;
	default:
		uhs_msg("%s: the image parser failed (out of memory?)", path);
		return ST_OSERR;
	}
}

/* Seals a memfd the child wrote and maps it read-only.  0 or -1. */
static int seal_map(int fd, const uint8_t **map, size_t *len)
{
	struct stat st;
	void *p;

	if (fcntl(fd, F_ADD_SEALS, SEALS) != 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
		return -1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		return -1;
	}
	*map = p;
	*len = (size_t)st.st_size;
	return 0;
}

static int make_memfds(struct out_fds *o, bool internal)
{
	o->blob = memfd_create("uhyve-sec-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	o->tar =
	    internal ? memfd_create("uhyve-sec-image-tar", MFD_CLOEXEC | MFD_ALLOW_SEALING) : -1;
	if (o->blob < 0 || (internal && o->tar < 0)) {
		uhs_msg("memfd_create: %s", strerror(errno));
		return ST_OSERR;
	}
	return 0;
}

/* Forks the parser on the mapped file, waits, seals, maps and checks its output. */
static int parse_confined(const char *path, const uint8_t *file, size_t len, bool internal,
			  bool confine, struct launch_image *li)
{
	struct out_fds o;
	char err[300];
	pid_t pid;
	int rc = make_memfds(&o, internal);

	li->blob_fd = o.blob;
	li->tar_fd = o.tar;
	if (rc != 0) {
		return rc;
	}
	fflush(NULL);
	if ((pid = fork()) < 0) {
		uhs_msg("fork: %s", strerror(errno));
		return ST_OSERR;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		child(file, len, &o, confine);
	}
	if ((rc = wait_child(path, pid, o.blob)) != 0) {
		return rc;
	}
	if (seal_map(o.blob, &li->blob, &li->blob_len) != 0 ||
	    (internal && seal_map(o.tar, &li->tar, &li->tar_len) != 0)) {
		uhs_msg("%s: cannot seal the parsed image: %s", path, strerror(errno));
		return ST_OSERR;
	}
	if (hi_blob_load(li->blob, li->blob_len, &li->img, err, sizeof err) != 0) {
		uhs_msg("%s: the image parser's output is malformed: %s", path, err);
		return ST_BAD_IMAGE;
	}
	li->loaded = true;
	return 0;
}

/* Maps the KERNEL file if it is a Hermit image (gzip); *file NULL if it is not. */
static int map_if_image(const char *path, const uint8_t **file, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	unsigned char magic[4];
	struct stat st;
	void *p = MAP_FAILED;

	*file = NULL;
	if (fd < 0) {
		return 0; /* the VMM says why it cannot open the kernel (status 66) */
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || pread(fd, magic, 4, 0) != 4 ||
	    hi_detect_format(magic, 4) != HI_FORMAT_GZIP) {
		close(fd);
		return 0;
	}
	if ((uint64_t)st.st_size > IMAGE_FILE_MAX) {
		close(fd);
		uhs_msg("%s: a Hermit image larger than 2 GiB", path);
		return ST_NOINPUT;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		uhs_msg("cannot map %s: %s", path, strerror(errno));
		return ST_NOINPUT;
	}
	*file = p;
	*len = (size_t)st.st_size;
	return 0;
}

int image_load(const char *path, bool internal, bool confine, struct launch_image *li)
{
	const uint8_t *file;
	size_t len = 0;
	int rc;

	memset(li, 0, sizeof *li);
	li->blob_fd = li->tar_fd = -1;
	if ((rc = map_if_image(path, &file, &len)) != 0 || file == NULL) {
		return rc;
	}
	li->is_image = true;
	rc = parse_confined(path, file, len, internal, confine, li);
	munmap((void *)(uintptr_t)file, len);
	return rc;
}

void image_close_fds(struct launch_image *li)
{
	if (li->blob_fd >= 0) {
		close(li->blob_fd);
	}
	if (li->tar_fd >= 0) {
		close(li->tar_fd);
	}
	li->blob_fd = li->tar_fd = -1;
}

void image_free(struct launch_image *li)
{
	if (li->loaded) {
		hi_free(&li->img);
	}
	if (li->blob != NULL) {
		munmap((void *)(uintptr_t)li->blob, li->blob_len);
	}
	if (li->tar != NULL) {
		munmap((void *)(uintptr_t)li->tar, li->tar_len);
	}
	if (li->blob_fd >= 0) {
		close(li->blob_fd);
	}
	if (li->tar_fd >= 0) {
		close(li->tar_fd);
	}
	memset(li, 0, sizeof *li);
	li->blob_fd = li->tar_fd = -1;
}
