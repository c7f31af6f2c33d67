/* SPDX-License-Identifier: MIT */
/* replay_main.c - runs inputs through a fuzz target without a fuzzer (the 'fuzz-regress' test
 * suite, triage, and coverage measurement by fuzz/run-campaign).
 *
 *   fuzz-replay-<target> [-r N] FILE|DIR...
 *
 * Every FILE, and every regular file inside every DIR (not recursive, names sorted, names
 * starting with '.' or README skipped), goes through LLVMFuzzerTestOneInput, N times (default
 * 1) each.  Prints "<target>: N input(s) replayed" and exits 0; a finding aborts (or trips a
 * sanitizer) with the file name already printed to stderr by -v.  A missing path is an error
 * (status 2), an empty directory is not.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define REPLAY_MAX (16u << 20)

static int g_repeat = 1, g_verbose;
static unsigned long g_count;

static int run_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;

	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (st.st_size > (off_t)REPLAY_MAX) {
		fprintf(stderr, "replay: %s: larger than %u bytes, skipped\n", path, REPLAY_MAX);
		close(fd);
		return 0;
	}
	/* Exactly the input's size: ASan then sees any read past its end. */
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL) {
		close(fd);
		return -1;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		len += (size_t)n;
	}
	close(fd);
	if (g_verbose) {
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	}
	for (int i = 0; i < g_repeat; i++) {
		LLVMFuzzerTestOneInput(buf, len);
	}
	free(buf);
	g_count++;
	return 0;
}

static int skip_name(const char *name)
{
	return name[0] == '.' || strncmp(name, "README", 6) == 0;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir)
{
	struct dirent **list = NULL;
	char path[4096];
	int n = scandir(dir, &list, NULL, NULL), rc = 0;

	if (n < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	qsort(list, (size_t)n, sizeof list[0], cmp); /* alphasort would depend on the locale */
	for (int i = 0; i < n; i++) {
		struct stat st;

		if (!skip_name(list[i]->d_name) &&
		    (size_t)snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name) <
			sizeof path &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode) && run_file(path) != 0) {
			rc = -1;
		}
		free(list[i]);
	}
	free(list);
	return rc;
}

int main(int argc, char **argv)
{
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "r:v")) != -1) {
		if (opt == 'r') {
			g_repeat = atoi(optarg) > 0 ? atoi(optarg) : 1;
		} else if (opt == 'v') {
			g_verbose = 1;
		} else {
			fprintf(stderr, "usage: %s [-r N] [-v] FILE|DIR...\n", argv[0]);
			return 2;
		}
	}
	if (optind == argc) {
		fprintf(stderr, "usage: %s [-r N] [-v] FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = optind; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			rc = 2;
		} else if (S_ISDIR(st.st_mode) ? run_dir(argv[i]) != 0 : run_file(argv[i]) != 0) {
			rc = 2;
		}
	}
	printf("%s: %lu input(s) replayed\n", argv[0], g_count);
	return rc;
}
