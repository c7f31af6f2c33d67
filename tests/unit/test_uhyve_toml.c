/* SPDX-License-Identifier: MIT */
/* test_uhyve_toml.c - uhyve.toml (config/): every key with good and bad values and the exact
 * one-line messages, unknown and refused keys, the size syntax shared with -m, the value
 * parsers shared with the command line, the lookup order and the bounded reader.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "byte_size.h"
#include "uhs_toml.h"
#include "uhyve_toml.h"

static char err[1024];
static struct uhyve_config cfg;

static int parse(const char *text)
{
	uhc_free(&cfg);
	err[0] = '\0';
	return uhc_parse("u.toml", text, strlen(text), &cfg, err, sizeof err);
}

static void ok(const char *text)
{
	if (parse(text) != 0) {
		fail_msg("refused: %s\n%s", err, text);
	}
}

static void bad(const char *text, const char *msg)
{
	assert_int_equal(parse(text), -1);
	assert_string_equal(err, msg);
}

static int teardown(void **state)
{
	(void)state;
	uhc_free(&cfg);
	return 0;
}

static void test_defaults_and_sample(void **state)
{
	(void)state;
	ok("");
	assert_false(cfg.stats_src.set);
	assert_int_equal(cfg.cpu_count, 1);
	assert_int_equal(cfg.file_isolation, UHC_ISOLATION_NORMAL);
	/* uhyve's data/uhyve.toml */
	ok("[uhyve]\nstats = true\nfile_isolation = \"strict\"\n\n[memory]\nmemory_size = "
	   "'100MiB'\nno_aslr = true\nthp = true\nksm = true\n\n[cpu]\ncpu_count = 4\naffinity = "
	   "[1, 2, 3, 4]\npit = true\n\n[guest]\nenv_vars = ['foo=bar']\n");
	assert_true(cfg.stats && cfg.no_aslr && cfg.thp && cfg.ksm && cfg.pit && !cfg.cpu_pm);
	assert_int_equal(cfg.memory_size, 100 << 20);
	assert_int_equal(cfg.memory_size_src.line, 6);
	assert_int_equal(cfg.memory_size_src.column, 15);
	assert_int_equal(cfg.cpu_count, 4);
	assert_int_equal(cfg.affinity.n, 4);
	assert_int_equal(cfg.affinity.cpus[3], 4);
	assert_int_equal(cfg.n_env_vars, 1);
	assert_string_equal(cfg.env_vars[0], "foo=bar");
	assert_int_equal(cfg.env_var_src[0].line, 17);
	assert_int_equal(cfg.env_var_src[0].column, 13);
}

static void test_uhyve_table(void **state)
{
	(void)state;
	ok("[uhyve]\noutput = 'out.txt'\n");
	assert_string_equal(cfg.output, "out.txt");
	assert_false(cfg.output_none);
	ok("[uhyve]\noutput = 'None'\n");
	assert_true(cfg.output_none);
	assert_null(cfg.output);
	bad("[uhyve]\noutput = ''\n", "u.toml:2:10: uhyve.output: must not be empty");
	bad("[uhyve]\noutput = 1\n",
	    "u.toml:2:10: uhyve.output: expected a string, got an integer");
	ok("uhyve.stats = false\n");
	assert_true(cfg.stats_src.set);
	bad("[uhyve]\nstats = 'yes'\n",
	    "u.toml:2:9: uhyve.stats: expected a boolean (true or false), got a string");
	ok("[uhyve]\ntempdir = '/tmp'\n");
	assert_string_equal(cfg.tempdir, "/tmp");
	bad("[uhyve]\ntempdir = \"a\\u0000b\"\n",
	    "u.toml:2:11: uhyve.tempdir: the string contains a NUL character");
	ok("[uhyve]\nhermit_image_mode = 'Internal'\n");
	assert_int_equal(cfg.hermit_image_mode, UHC_IMAGE_INTERNAL);
	bad("[uhyve]\nhermit_image_mode = 'inside'\n",
	    "u.toml:2:21: uhyve.hermit_image_mode: unknown Hermit image mode \"inside\" (external "
	    "or internal)");
	ok("[uhyve]\nfile_isolation = 'NONE'\n");
	assert_int_equal(cfg.file_isolation, UHC_ISOLATION_NONE);
	bad("[uhyve]\nfile_isolation = 'paranoid'\n",
	    "u.toml:2:18: uhyve.file_isolation: unknown file isolation \"paranoid\" (none, normal "
	    "or "
	    "strict)");
	ok("[uhyve]\nio_mode = 'host=sync,direct'\n");
	assert_true(cfg.io_mode.direct && cfg.io_mode.sync);
	bad("[uhyve]\nio_mode = 'direct'\n",
	    "u.toml:2:11: uhyve.io_mode: unknown I/O mode \"direct\" (default, host=direct, "
	    "host=sync or host=direct,sync)");
	ok("[uhyve]\ngdb_port = 6677\n");
	assert_int_equal(cfg.gdb_port, 6677);
	bad("[uhyve]\ngdb_port = 65536\n",
	    "u.toml:2:12: uhyve.gdb_port: 65536 is out of range (1-65535)");
	bad("[uhyve]\ngdb_port = '6677'\n",
	    "u.toml:2:12: uhyve.gdb_port: expected an integer, got a string");
}

static void test_memory_table(void **state)
{
	(void)state;
	ok("[memory]\nmemory_size = '4 GiB'\n");
	assert_int_equal(cfg.memory_size, 4ULL << 30);
	bad("[memory]\nmemory_size = 67108864\n",
	    "u.toml:2:15: memory.memory_size: expected a size in a string such as \"64MiB\" or "
	    "\"4 GiB\", got an integer");
	/* memory sizes read every prefix as binary, as uhyve-sec's -m does */
	ok("[memory]\nmemory_size = '64M'\n");
	assert_int_equal(cfg.memory_size, 64ULL << 20);
	ok("[memory]\nmemory_size = '1.5GB'\n");
	assert_int_equal(cfg.memory_size, 3ULL << 29);
	bad("[memory]\nmemory_size = '33M'\n",
	    "u.toml:2:15: memory.memory_size: guest memory must be a multiple of 2 MiB (is "
	    "33 MiB)");
	bad("[memory]\nmemory_size = '8MiB'\n",
	    "u.toml:2:15: memory.memory_size: not enough guest memory: must be at least 16 MiB "
	    "(is 8 MiB)");
	bad("[memory]\nmemory_size = '4 GX'\n",
	    "u.toml:2:15: memory.memory_size: invalid size \"4 GX\": unknown unit (B, K, KB, KiB, "
	    "M, MB, MiB, G, GB, GiB, T, P, E; lower-case b and bit mean bits)");
	ok("[memory]\nno_aslr = true\nthp = false\nksm = true\n");
	assert_true(cfg.no_aslr && !cfg.thp && cfg.ksm && cfg.thp_src.set);
	bad("[memory]\nthp = 1\n",
	    "u.toml:2:7: memory.thp: expected a boolean (true or false), got "
	    "an integer");
	bad("[memory]\nksm = \"true\"\n",
	    "u.toml:2:7: memory.ksm: expected a boolean (true or false), got a string");
	bad("[memory]\nno_aslr = 1.5\n",
	    "u.toml:2:11: memory.no_aslr: expected a boolean (true or false), got a float");
}

static void test_cpu_table(void **state)
{
	(void)state;
	ok("[cpu]\ncpu_count = 3\naffinity = '0-1,2'\ncpu_pm = true\npit = false\n");
	assert_int_equal(cfg.cpu_count, 3);
	assert_int_equal(cfg.affinity.n, 3);
	assert_int_equal(cfg.affinity.cpus[1], 1);
	assert_true(cfg.cpu_pm && !cfg.pit && cfg.pit_src.set);
	ok("[cpu]\naffinity = '0 1 2'\n");
	assert_int_equal(cfg.affinity.n, 3);
	ok("[cpu]\naffinity = []\n");
	assert_true(cfg.affinity_src.set);
	assert_int_equal(cfg.affinity.n, 0);
	bad("[cpu]\ncpu_count = 0\n",
	    "u.toml:2:13: cpu.cpu_count: 0 is out of range (1-4294967295)");
	bad("[cpu]\ncpu_count = '4'\n",
	    "u.toml:2:13: cpu.cpu_count: expected an integer, got a string");
	bad("[cpu]\naffinity = '0, 1'\n",
	    "u.toml:2:12: cpu.affinity: affinity item \"\": \"\" is not a number (CPU numbers are "
	    "0-65535)");
	bad("[cpu]\naffinity = '3-1'\n", "u.toml:2:12: cpu.affinity: affinity range \"3-1\" is "
					 "empty (write the lower CPU first)");
	bad("[cpu]\naffinity = [0, -1]\n",
	    "u.toml:2:16: cpu.affinity: -1 is out of range (0-65535)");
	bad("[cpu]\naffinity = ['0']\n",
	    "u.toml:2:13: cpu.affinity: expected an integer, got a string");
	bad("[cpu]\naffinity = 1\n",
	    "u.toml:2:12: cpu.affinity: expected a string such as \"0-1,2\" or an array of CPU "
	    "numbers, got an integer");
	bad("[cpu]\npit = 'on'\n",
	    "u.toml:2:7: cpu.pit: expected a boolean (true or false), got a string");
	bad("[cpu]\ncpu_pm = 0\n",
	    "u.toml:2:10: cpu.cpu_pm: expected a boolean (true or false), got an integer");
}

static void test_guest_table(void **state)
{
	(void)state;
	ok("[guest]\nenv_vars = ['A=1', 'B=', 'C=x=y']\n");
	assert_int_equal(cfg.n_env_vars, 3);
	assert_string_equal(cfg.env_vars[2], "C=x=y");
	bad("[guest]\nenv_vars = ['host']\n",
	    "u.toml:2:13: guest.env_vars: \"host\" (pass the host's whole environment to the "
	    "guest) is accepted only on the command line, as -e host");
	bad("[guest]\nenv_vars = ['A=1', 'NOEQUALS']\n",
	    "u.toml:2:20: guest.env_vars: environment entry \"NOEQUALS\" is not NAME=VALUE");
	bad("[guest]\nenv_vars = ['=x']\n",
	    "u.toml:2:13: guest.env_vars: environment entry \"=x\" is not NAME=VALUE");
	bad("[guest]\nenv_vars = 'A=1'\n",
	    "u.toml:2:12: guest.env_vars: expected an array of \"NAME=VALUE\" strings, got a "
	    "string");
}

static void test_unknown_and_refused(void **state)
{
	(void)state;
	bad("[uhyve]\nstat = true\n", "u.toml:2:1: unknown key \"stat\" in [uhyve]");
	bad("[network]\nx = 1\n",
	    "u.toml:1:2: unknown table \"network\" (tables: [uhyve], [memory], [cpu], [guest])");
	bad("verbose = true\n",
	    "u.toml:1:1: unknown key \"verbose\" (tables: [uhyve], [memory], [cpu], [guest])");
	bad("uhyve = 1\n", "u.toml:1:9: [uhyve] must be a table, got an integer");
	bad("[uhyve]\nfile_mapping = ['/:/']\n",
	    "u.toml:2:1: uhyve.file_mapping: file mappings are never taken from a configuration "
	    "file (give them on the command line)");
	bad("[uhyve]\nnet = 'tap:tap10'\n",
	    "u.toml:2:1: uhyve.net: a network is never taken from a configuration file (give it "
	    "on the command line)");
	bad("[uhyve]\nconfig = 'other.toml'\n",
	    "u.toml:2:1: uhyve.config: a configuration file cannot name another one");
	bad("[guest]\nkernel = './k'\n",
	    "u.toml:2:1: guest.kernel: the kernel is never taken from a configuration file (name "
	    "it on the command line)");
	bad("[guest]\nkernel_args = ['-freq', '1']\n",
	    "u.toml:2:1: guest.kernel_args: kernel arguments are never taken from a "
	    "configuration file (give them on the command line)");
	bad("[uhyve]\n\"a\\u001b[2J\" = 1\n", "u.toml:2:1: unknown key \"a\\x1b[2J\" in [uhyve]");
}

static void test_toml_errors(void **state)
{
	(void)state;
	bad("[uhyve]\nstats = true\nstats = false\n",
	    "u.toml:3:9: Error while parsing key-value pair: cannot redefine existing boolean "
	    "'stats'");
	bad("[uhyve\n", "u.toml:1:7: Error while parsing table header: expected ']', saw '\\n'");
	/* toml++ 3.3 asserts here; config/toml.cpp turns that into a refusal */
	bad("[~x]\n", "u.toml: invalid TOML (the parser's internal check failed)");
	/* toml++ 3.3 reached __builtin_unreachable for U+0340 here (config/toml.cpp) */
	bad("a = 1 \xcd\x80\n", "u.toml:1:7: Error while parsing key-value pair: expected a "
				"comment or whitespace, saw '\xcd\x80'");
	bad("a = \x01\n", "u.toml:1:5: Error while parsing value: unexpected control character");
	assert_int_equal(uhc_parse("u.toml", "a = 1\0b", 7, &cfg, err, sizeof err), -1);
	assert_string_equal(err, "u.toml:1:6: NUL byte in the document");
}

static void check_size(const char *s, uint64_t want)
{
	uint64_t got = 0;

	if (uhs_parse_size(s, strlen(s), &got, err, sizeof err) != 0) {
		fail_msg("\"%s\": %s", s, err);
	}
	if (got != want) {
		fail_msg("\"%s\": %llu, want %llu", s, (unsigned long long)got,
			 (unsigned long long)want);
	}
}

static void size_bad(const char *s, const char *msg)
{
	uint64_t got;

	assert_int_equal(uhs_parse_size(s, strlen(s), &got, err, sizeof err), -1);
	assert_string_equal(err, msg);
}

static void test_sizes(void **state)
{
	(void)state;
	check_size("65536", 65536);
	check_size("64M", 64000000);
	check_size("64m", 64000000);
	check_size("64MB", 64000000);
	check_size("64MiB", 64ULL << 20);
	check_size("64mi", 64ULL << 20);
	check_size("64MIB", 64ULL << 20);
	check_size("4GiB", 4ULL << 30);
	check_size("4 GB", 4000000000ULL);
	check_size("  4   GiB \t", 4ULL << 30);
	check_size("\xe3\x80\x80"
		   "1024MiB"
		   "\xc2\xa0",
		   1ULL << 30);
	check_size("1.5GiB", 3ULL << 29);
	check_size("1.5 KiB", 1536);
	check_size("0.1", 1);
	check_size("100B", 100);
	check_size("100b", 13); /* bits: 100 / 8 rounded up */
	check_size("8bit", 1);
	check_size("1Kb", 125);
	check_size("1Kib", 128);
	check_size("1MBits", 125000);
	check_size("15EiB", 15ULL << 60);
	check_size("18446744073709551615", UINT64_MAX);
	check_size("0.0000000000000000000000000001EiB", 1);
}

static void check_binary(const char *s, uint64_t want)
{
	uint64_t got = 0;

	if (uhs_parse_size_binary(s, strlen(s), &got, err, sizeof err) != 0) {
		fail_msg("\"%s\": %s", s, err);
	}
	if (got != want) {
		fail_msg("\"%s\": %llu, want %llu", s, (unsigned long long)got,
			 (unsigned long long)want);
	}
}

/* Memory sizes: every prefix is binary (byte_size.h). */
static void test_sizes_binary(void **state)
{
	(void)state;
	check_binary("64M", 64ULL << 20);
	check_binary("64MB", 64ULL << 20);
	check_binary("64MiB", 64ULL << 20);
	check_binary("64mi", 64ULL << 20);
	check_binary("4 GB", 4ULL << 30);
	check_binary("1.5G", 3ULL << 29);
	check_binary("2k", 2048);
	check_binary("512Mb", 64ULL << 20); /* bits */
	check_binary("1048576", 1ULL << 20);
	check_binary("32768M", 32ULL << 30); /* uhyve: 32,768,000,000 bytes */
	assert_int_equal(uhs_parse_size_binary("12Q", 3, &(uint64_t){0}, err, sizeof err), -1);
	assert_string_equal(err, "invalid size \"12Q\": unknown unit (B, K, KB, KiB, M, MB, MiB, "
				 "G, GB, GiB, T, P, E; lower-case b and bit mean bits)");
}

static void test_size_errors(void **state)
{
	(void)state;
	size_bad("", "invalid size \"\": no number");
	size_bad("M", "invalid size \"M\": it must start with a digit");
	size_bad("-1M", "invalid size \"-1M\": it must start with a digit");
	size_bad("1.M", "invalid size \"1.M\": a '.' must be followed by a digit");
	size_bad("1\tM",
		 "invalid size \"1\\tM\": unknown unit (B, K, KB, KiB, M, MB, MiB, G, GB, GiB, T, "
		 "P, E; lower-case b and bit mean bits)");
	size_bad("1ZiB", "invalid size \"1ZiB\": unknown unit (B, K, KB, KiB, M, MB, MiB, G, GB, "
			 "GiB, T, P, E; lower-case b and bit mean bits)");
	size_bad("1MiBs", "invalid size \"1MiBs\": unknown unit (B, K, KB, KiB, M, MB, MiB, G, GB, "
			  "GiB, T, P, E; lower-case b and bit mean bits)");
	size_bad("16EiB", "invalid size \"16EiB\": more than 2^64-1 bytes");
	size_bad("18446744073709551616", "invalid size \"18446744073709551616\": more than 2^64-1 "
					 "bytes");
	size_bad("79228162514264337593543950336", "invalid size \"79228162514264337593543950336\": "
						  "too many digits");
	size_bad("1.00000000000000000000000000001",
		 "invalid size \"1.00000000000000000000000000001\": more than 28 digits after the "
		 "point");
	assert_int_equal(uhs_check_memory_size(64ULL << 20, err, sizeof err), 0);
	assert_int_equal(uhs_check_memory_size(15ULL << 20, err, sizeof err), -1);
}

static const char *const *existing; /* paths the fake file system has */

static bool fake_exists(const char *path, void *ctx)
{
	(void)ctx;
	for (size_t i = 0; existing[i] != NULL; i++) {
		if (strcmp(existing[i], path) == 0) {
			return true;
		}
	}
	return false;
}

static void lookup_is(const char *cli, char *const envp[], const char *cwd, int want,
		      const char *path)
{
	char out[256];
	int rc = uhc_lookup(cli, envp, cwd, fake_exists, NULL, out, sizeof out, err, sizeof err);

	assert_int_equal(rc, want);
	assert_string_equal(want < 0 ? err : out, path);
}

static void test_lookup(void **state)
{
	static const char *const files[] = {"/w/uhyve.toml", "/x/uhyve/uhyve.toml",
					    "/w/rel/uhyve/uhyve.toml",
					    "/home/u/.config/uhyve/uhyve.toml", NULL};
	static const char *const none[] = {NULL};
	static char x[] = "XDG_CONFIG_HOME=/x", h[] = "HERMIT_CONFIG=/h.toml",
		    rel[] = "XDG_CONFIG_HOME=rel", he[] = "HERMIT_CONFIG=", home[] = "HOME=/home/u",
		    xe[] = "XDG_CONFIG_HOME=";
	char *env_both[] = {x, h, NULL}, *env_xdg[] = {x, NULL}, *env_rel[] = {rel, NULL};
	char *env_empty[] = {he, NULL}, *env_home[] = {home, xe, NULL};

	(void)state;
	existing = files;
	lookup_is("my.toml", env_both, "/w", UHC_FOUND_CLI, "my.toml");
	lookup_is("", env_both, "/w", -1, "--config names no file (it is empty)");
	lookup_is(NULL, env_both, "/w", UHC_FOUND_ENV, "/h.toml");
	lookup_is(NULL, env_empty, "/w", -1, "HERMIT_CONFIG names no file (it is empty)");
	lookup_is(NULL, env_xdg, "/w", UHC_FOUND_CWD, "/w/uhyve.toml");
	lookup_is(NULL, env_xdg, "/elsewhere", UHC_FOUND_XDG, "/x/uhyve/uhyve.toml");
	lookup_is(NULL, env_xdg, NULL, UHC_FOUND_XDG, "/x/uhyve/uhyve.toml");
	lookup_is(NULL, env_rel, "/w/", UHC_FOUND_CWD, "/w/uhyve.toml");
	existing = files + 1;
	lookup_is(NULL, env_rel, "/w", UHC_FOUND_XDG, "/w/rel/uhyve/uhyve.toml");
	/* no fallback to ~/.config when XDG_CONFIG_HOME is unset or empty (uhyve has none) */
	lookup_is(NULL, env_home, "/w", UHC_FOUND_NONE, "");
	lookup_is(NULL, NULL, "/w", UHC_FOUND_NONE, "");
	existing = none;
	lookup_is(NULL, env_xdg, "/w", UHC_FOUND_NONE, "");
	/* a named file is used whether or not it exists: the reader reports it */
	lookup_is("/missing.toml", NULL, "/w", UHC_FOUND_CLI, "/missing.toml");
}

static void test_read_file(void **state)
{
	char dir[] = "/tmp/uhs-test-uhyve-toml-XXXXXX", path[128], fifo[128], q[256];
	char *buf;
	size_t len;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/uhyve.toml", dir);
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[cpu]\ncpu_count = 2\n", f);
	fclose(f);
	assert_int_equal(uhc_read_file(path, 0, &buf, &len, err, sizeof err), 0);
	assert_int_equal(len, 20);
	assert_string_equal(buf, "[cpu]\ncpu_count = 2\n");
	free(buf);
	assert_int_equal(uhc_read_file(path, 19, &buf, &len, err, sizeof err), -1);
	snprintf(q, sizeof q, "%s: larger than 19 bytes", path);
	assert_string_equal(err, q);
	assert_null(buf);
	assert_int_equal(uhc_read_file(dir, 0, &buf, &len, err, sizeof err), -1);
	snprintf(q, sizeof q, "%s: not a regular file", dir);
	assert_string_equal(err, q);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(uhc_read_file(fifo, 0, &buf, &len, err, sizeof err), -1); /* no wait */
	snprintf(q, sizeof q, "%s: not a regular file", fifo);
	assert_string_equal(err, q);
	assert_true(uhc_path_exists(path, NULL));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(unlink(fifo), 0);
	assert_false(uhc_path_exists(path, NULL));
	assert_int_equal(uhc_read_file(path, 0, &buf, &len, err, sizeof err), -1);
	snprintf(q, sizeof q, "%s: No such file or directory", path);
	assert_string_equal(err, q);
	assert_int_equal(rmdir(dir), 0);
}

static void test_cli_values(void **state)
{
	uint64_t u;
	uint32_t c;
	struct uhc_affinity a;
	struct uhc_io_mode io;
	enum uhc_isolation iso;

	(void)state;
	assert_int_equal(uhc_parse_uint("+42", 100, &u, err, sizeof err), 0);
	assert_int_equal(u, 42);
	assert_int_equal(uhc_parse_uint(" 42", 100, &u, err, sizeof err), -1);
	assert_string_equal(err, "\" 42\" is not a number");
	assert_int_equal(uhc_parse_uint("101", 100, &u, err, sizeof err), -1);
	assert_string_equal(err, "\"101\" is larger than 100");
	assert_int_equal(uhc_parse_uint("99999999999999999999999", UINT64_MAX, &u, err, sizeof err),
			 -1);
	assert_int_equal(uhc_parse_cpu_count("4", &c, err, sizeof err), 0);
	assert_int_equal(c, 4);
	assert_int_equal(uhc_parse_cpu_count("0", &c, err, sizeof err), -1);
	assert_string_equal(err, "the CPU count must be at least 1");
	assert_int_equal(uhc_parse_affinity("0-1,2 5", &a, err, sizeof err), 0);
	assert_int_equal(a.n, 4);
	assert_int_equal(a.cpus[3], 5);
	free(a.cpus);
	assert_int_equal(uhc_parse_affinity("0-65535", &a, err, sizeof err), -1);
	assert_string_equal(err, "more than 4096 CPUs in the affinity list");
	assert_null(a.cpus);
	assert_int_equal(uhc_parse_affinity("1-2-3", &a, err, sizeof err), -1);
	assert_string_equal(
	    err, "affinity item \"1-2-3\": \"2-3\" is not a number (CPU numbers are 0-65535)");
	assert_int_equal(uhc_parse_affinity("", &a, err, sizeof err), -1);
	assert_int_equal(uhc_parse_io_mode("HOST=Direct", &io, err, sizeof err), 0);
	assert_true(io.direct && !io.sync);
	assert_int_equal(uhc_parse_io_mode("default", &io, err, sizeof err), 0);
	assert_true(!io.direct && !io.sync);
	assert_int_equal(uhc_parse_io_mode("host=", &io, err, sizeof err), -1);
	assert_int_equal(uhc_parse_isolation("Strict", &iso, err, sizeof err), 0);
	assert_int_equal(iso, UHC_ISOLATION_STRICT);
	assert_int_equal(uhc_check_env("A=", err, sizeof err), 0);
	assert_int_equal(uhc_check_env("host", err, sizeof err), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_defaults_and_sample, teardown),
	    cmocka_unit_test_teardown(test_uhyve_table, teardown),
	    cmocka_unit_test_teardown(test_memory_table, teardown),
	    cmocka_unit_test_teardown(test_cpu_table, teardown),
	    cmocka_unit_test_teardown(test_guest_table, teardown),
	    cmocka_unit_test_teardown(test_unknown_and_refused, teardown),
	    cmocka_unit_test_teardown(test_toml_errors, teardown),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_sizes_binary),
	    cmocka_unit_test(test_size_errors),
	    cmocka_unit_test(test_lookup),
	    cmocka_unit_test(test_read_file),
	    cmocka_unit_test(test_cli_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
