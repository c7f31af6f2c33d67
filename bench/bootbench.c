/* SPDX-License-Identifier: MIT */
/* bootbench.c - time a VMM boot against a floor program, alternately, and report medians.
 *
 * Usage:
 *   bootbench [OPTIONS] -- FLOOR_CMD [ARGS...] -- SUBJECT_CMD [ARGS...]
 *
 * Options:
 *   --runs N              timed runs of each command (default 41)
 *   --warmup W            untimed warm-up runs of each command first (default 5)
 *   --stats-from-subject  run the subject once more, with stderr captured, and parse the
 *                         line "vm exits: N" from it (uhyve-sec --stats prints it)
 *   --stats-arg ARG       for that extra run only, insert ARG after the subject's program
 *                         name (e.g. --stats-arg --stats, so the timed runs stay plain);
 *                         implies --stats-from-subject
 *   --max-ratio R         exit 1 if median(subject) / median(floor) > R
 *   --max-exits E         exit 1 if the VM exits per boot > E (needs the stats run)
 *   --pause-ms MS         sleep MS milliseconds before every run (default 0), so that
 *                         deferred kernel work of the previous run (RCU/SRCU callbacks,
 *                         kworkers) cannot overlap the next one
 *   --raw                 also print every sample (ms) of both commands
 *
 * Each run is one posix_spawnp() with stdin, stdout and stderr on /dev/null; the time is
 * CLOCK_MONOTONIC from just before the spawn to the return of waitpid(), so it includes
 * exec, dynamic linking, the whole VMM run and process teardown (guest RAM unmap, VM
 * destruction).  Floor and subject alternate (floor, subject, floor, subject, ...), so a
 * drift of the machine affects both alike.  Any run that does not exit with status 0 aborts
 * the benchmark.
 *
 * Output: a table of median, min and p90 in ms, the ratio of the medians, the VM exits per
 * boot, and a last machine-readable line:
 *   RESULT boot_ratio=1.234 vm_exits=2 floor_median_ms=1.250 subject_median_ms=1.543 runs=41
 * (vm_exits=-1 when no stats run was asked for).
 *
 * Exit status: 0 ok, 1 a --max-* goal was exceeded, 2 usage error, 3 a command failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define EXIT_GOAL  1
#define EXIT_USAGE 2
#define EXIT_FAIL  3

#define DEFAULT_RUNS   41
#define DEFAULT_WARMUP 5
#define MAX_RUNS       100000
#define STATS_MAX      65536

struct cmd {
	const char *label;
	char **argv;
};

/* Prints "bootbench: MSG ARG" (when msg is given) and the usage, then exits 2. */
static void usage(const char *msg, const char *arg)
{
	if (msg != NULL) {
		fprintf(stderr, "bootbench: %s%s%s\n", msg, arg != NULL ? " " : "",
			arg != NULL ? arg : "");
	}
	fputs("usage: bootbench [--runs N] [--warmup W] [--stats-from-subject] [--stats-arg ARG]\n"
	      "                 [--max-ratio R] [--max-exits E] [--pause-ms MS] [--raw]\n"
	      "                 -- FLOOR_CMD [ARGS...] -- SUBJECT_CMD [ARGS...]\n",
	      stderr);
	exit(EXIT_USAGE);
}

static long parse_long(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
		usage("bad value for", opt);
	}
	return v;
}

static double parse_double(const char *opt, const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v > 0)) {
		usage("bad value for", opt);
	}
	return v;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static long pause_ms;

static void pause_before_run(void)
{
	struct timespec ts = {.tv_sec = pause_ms / 1000, .tv_nsec = (pause_ms % 1000) * 1000000};

	while (pause_ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR) {
	}
}

/* Runs argv with stdin/stdout on /dev/null and stderr on err_fd (or /dev/null if -1).
 * Returns the wall time in ns; exits the benchmark if the command does not exit 0. */
static uint64_t run_once(const struct cmd *c, char **argv, int err_fd)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc, status;
	uint64_t t0, t1;

	if (posix_spawn_file_actions_init(&fa) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) != 0 ||
	    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0) != 0 ||
	    (err_fd >= 0
		 ? posix_spawn_file_actions_adddup2(&fa, err_fd, 2)
		 : posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0)) != 0) {
		fprintf(stderr, "bootbench: cannot set up spawn file actions\n");
		exit(EXIT_FAIL);
	}
	pause_before_run();
	t0 = now_ns();
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	if (rc != 0) {
		fprintf(stderr, "bootbench: cannot start %s command '%s': %s\n", c->label, argv[0],
			strerror(rc));
		exit(EXIT_FAIL);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "bootbench: waitpid: %s\n", strerror(errno));
			exit(EXIT_FAIL);
		}
	}
	t1 = now_ns();
	posix_spawn_file_actions_destroy(&fa);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		return t1 - t0;
	}
	fprintf(stderr, "bootbench: %s command failed (", c->label);
	if (WIFEXITED(status)) {
		fprintf(stderr, "exit status %d", WEXITSTATUS(status));
	} else if (WIFSIGNALED(status)) {
		fprintf(stderr, "killed by signal %d", WTERMSIG(status));
	} else {
		fprintf(stderr, "wait status 0x%x", (unsigned)status);
	}
	fprintf(stderr, "):");
	for (char **a = argv; *a != NULL; a++) {
		fprintf(stderr, " %s", *a);
	}
	fprintf(stderr, "\nbootbench: benchmark aborted\n");
	exit(EXIT_FAIL);
}

/* One extra subject run with stderr captured; returns "vm exits: N" or exits. */
static long stats_run(const struct cmd *subject, const char *stats_arg)
{
	static char buf[STATS_MAX + 1];
	size_t argc = 0, len = 0;
	char **argv;
	const char *p;
	FILE *tmp;
	long exits;
	char *end;

	while (subject->argv[argc] != NULL) {
		argc++;
	}
	argv = calloc(argc + 2, sizeof *argv);
	if (argv == NULL) {
		fprintf(stderr, "bootbench: out of memory\n");
		exit(EXIT_FAIL);
	}
	argv[0] = subject->argv[0];
	size_t j = 1;
	if (stats_arg != NULL) {
		argv[j++] = (char *)(uintptr_t)stats_arg;
	}
	for (size_t i = 1; i < argc; i++) {
		argv[j++] = subject->argv[i];
	}
	argv[j] = NULL;

	tmp = tmpfile();
	if (tmp == NULL) {
		fprintf(stderr, "bootbench: tmpfile: %s\n", strerror(errno));
		exit(EXIT_FAIL);
	}
	(void)run_once(subject, argv, fileno(tmp));
	rewind(tmp);
	len = fread(buf, 1, STATS_MAX, tmp);
	buf[len] = '\0';
	fclose(tmp);
	free(argv);

	p = strstr(buf, "vm exits:");
	if (p == NULL) {
		fprintf(stderr,
			"bootbench: no \"vm exits: N\" line in the subject's stderr (did it get "
			"--stats?); it was:\n%s\n",
			buf);
		exit(EXIT_FAIL);
	}
	p += strlen("vm exits:");
	errno = 0;
	exits = strtol(p, &end, 10);
	if (errno != 0 || end == p || exits < 0) {
		fprintf(stderr, "bootbench: cannot parse the \"vm exits:\" line\n");
		exit(EXIT_FAIL);
	}
	return exits;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

struct summary {
	double median, min, p90, max;
};

/* Sorts s in place.  Median: middle value (mean of the two middle ones for even n);
 * p90: nearest rank, ceil(0.9 n). */
static struct summary summarize(uint64_t *s, size_t n)
{
	struct summary r;
	size_t rank = (9 * n + 9) / 10;

	qsort(s, n, sizeof *s, cmp_u64);
	r.min = (double)s[0] / 1e6;
	r.max = (double)s[n - 1] / 1e6;
	r.median = n % 2 ? (double)s[n / 2] / 1e6 : ((double)s[n / 2 - 1] + (double)s[n / 2]) / 2e6;
	r.p90 = (double)s[(rank > 0 ? rank : 1) - 1] / 1e6;
	return r;
}

static void print_raw(const char *label, const uint64_t *s, size_t n)
{
	printf("raw %s (ms, run order):", label);
	for (size_t i = 0; i < n; i++) {
		printf(" %.3f", (double)s[i] / 1e6);
	}
	printf("\n");
}

int main(int argc, char *argv[])
{
	long runs = DEFAULT_RUNS, warmup = DEFAULT_WARMUP, max_exits = -1, exits = -1;
	double max_ratio = 0, ratio;
	bool want_stats = false, raw = false;
	const char *stats_arg = NULL;
	struct cmd floor_cmd = {.label = "floor"}, subject = {.label = "subject"};
	uint64_t *fs, *ss;
	struct summary f, s;
	int i, rc = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0) {
			break;
		} else if (strcmp(a, "--stats-from-subject") == 0) {
			want_stats = true;
		} else if (strcmp(a, "--raw") == 0) {
			raw = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(NULL, NULL);
		} else if (strcmp(a, "--runs") != 0 && strcmp(a, "--warmup") != 0 &&
			   strcmp(a, "--pause-ms") != 0 && strcmp(a, "--stats-arg") != 0 &&
			   strcmp(a, "--max-ratio") != 0 && strcmp(a, "--max-exits") != 0) {
			usage("unknown option:", a);
		} else if (i + 1 >= argc) {
			usage("missing value for", a);
		} else if (strcmp(a, "--runs") == 0) {
			runs = parse_long(a, argv[++i], 1, MAX_RUNS);
		} else if (strcmp(a, "--warmup") == 0) {
			warmup = parse_long(a, argv[++i], 0, MAX_RUNS);
		} else if (strcmp(a, "--pause-ms") == 0) {
			pause_ms = parse_long(a, argv[++i], 0, 10000);
		} else if (strcmp(a, "--stats-arg") == 0) {
			stats_arg = argv[++i];
			want_stats = true;
		} else if (strcmp(a, "--max-ratio") == 0) {
			max_ratio = parse_double(a, argv[++i]);
		} else {
			max_exits = parse_long(a, argv[++i], 0, LONG_MAX);
		}
	}
	if (i >= argc) {
		usage("missing '--' before the floor command", NULL);
	}
	floor_cmd.argv = &argv[++i];
	for (; i < argc && strcmp(argv[i], "--") != 0; i++) {
	}
	if (i >= argc || floor_cmd.argv == &argv[i]) {
		usage("need: -- FLOOR_CMD... -- SUBJECT_CMD...", NULL);
	}
	argv[i] = NULL; /* terminates the floor's argv */
	subject.argv = &argv[i + 1];
	if (subject.argv[0] == NULL) {
		usage("empty subject command", NULL);
	}
	if (max_exits >= 0 && !want_stats) {
		usage("--max-exits needs --stats-from-subject or --stats-arg", NULL);
	}

	fs = calloc((size_t)runs, sizeof *fs);
	ss = calloc((size_t)runs, sizeof *ss);
	if (fs == NULL || ss == NULL) {
		fprintf(stderr, "bootbench: out of memory\n");
		return EXIT_FAIL;
	}
	for (long k = 0; k < warmup; k++) {
		(void)run_once(&floor_cmd, floor_cmd.argv, -1);
		(void)run_once(&subject, subject.argv, -1);
	}
	for (long k = 0; k < runs; k++) {
		fs[k] = run_once(&floor_cmd, floor_cmd.argv, -1);
		ss[k] = run_once(&subject, subject.argv, -1);
	}
	if (want_stats) {
		exits = stats_run(&subject, stats_arg);
	}
	if (raw) {
		print_raw("floor", fs, (size_t)runs);
		print_raw("subject", ss, (size_t)runs);
	}
	f = summarize(fs, (size_t)runs);
	s = summarize(ss, (size_t)runs);
	ratio = s.median / f.median;

	printf("bootbench: %ld timed runs of each (after %ld warm-up), alternating", runs, warmup);
	if (pause_ms > 0) {
		printf(", %ld ms pause before each", pause_ms);
	}
	printf("\n");
	printf("  floor:  ");
	for (char **a = floor_cmd.argv; *a != NULL; a++) {
		printf(" %s", *a);
	}
	printf("\n  subject:");
	for (char **a = subject.argv; *a != NULL; a++) {
		printf(" %s", *a);
	}
	printf("\n\n  %-8s %9s %9s %9s %9s   (ms, spawn to waitpid)\n", "", "median", "min", "p90",
	       "max");
	printf("  %-8s %9.3f %9.3f %9.3f %9.3f\n", "floor", f.median, f.min, f.p90, f.max);
	printf("  %-8s %9.3f %9.3f %9.3f %9.3f\n", "subject", s.median, s.min, s.p90, s.max);
	printf("\n  ratio median(subject)/median(floor): %.3f  (+%.3f ms)\n", ratio,
	       s.median - f.median);
	if (exits >= 0) {
		printf("  vm exits per boot: %ld\n", exits);
	} else {
		printf("  vm exits per boot: not measured (use --stats-arg --stats)\n");
	}
	if (max_ratio > 0) {
		bool ok = ratio <= max_ratio;
		printf("  goal ratio <= %.3f: %s\n", max_ratio, ok ? "met" : "NOT MET");
		rc = ok ? rc : EXIT_GOAL;
	}
	if (max_exits >= 0) {
		bool ok = exits <= max_exits;
		printf("  goal vm exits <= %ld: %s\n", max_exits, ok ? "met" : "NOT MET");
		rc = ok ? rc : EXIT_GOAL;
	}
	printf("RESULT boot_ratio=%.3f vm_exits=%ld floor_median_ms=%.3f subject_median_ms=%.3f "
	       "runs=%ld\n",
	       ratio, exits, f.median, s.median, runs);
	free(fs);
	free(ss);
	return rc;
}
