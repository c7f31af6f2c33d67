/* SPDX-License-Identifier: MIT */
/* test_cli.c - the command line and HERMIT_* environment (launcher/cli.c): accepted values,
 * defaults, precedence of the command line over the environment, and rejected values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "launcher.h"

/* Parses a NULL-terminated argument list (argv[0] is added) with environment envp. */
static int parse(struct launch_config *lc, char *const envp[], ...)
{
	static char name[] = "uhyve-sec";
	char *argv[64] = {name};
	int argc = 1, rc;
	va_list ap;

	va_start(ap, envp);
	while ((argv[argc] = va_arg(ap, char *)) != NULL) {
		argc++;
	}
	va_end(ap);
	rc = cli_parse(argc, argv, envp, lc);
	if (rc == 0 && lc->vm.kernel_path != NULL) {
		rc = cli_finish(lc, envp);
	}
	return rc;
}

static void test_defaults(void **state)
{
	struct launch_config lc;

	(void)state;
	assert_int_equal(parse(&lc, NULL, "kernel", "a", "b", NULL), 0);
	assert_int_equal(lc.vm.mem_size, 64ull << 20);
	assert_int_equal(lc.vm.cpus, 1);
	assert_true(lc.vm.aslr);
	assert_true(lc.vm.sandbox);
	assert_string_equal(lc.vm.kernel_path, "kernel");
	assert_int_equal(lc.vm.nargs, 2);
	assert_string_equal(lc.vm.args[1], "b");
	cli_free(&lc);
}

/* clap's grammar: options anywhere, the first '--' ends them and is consumed. */
static void test_grammar(void **state)
{
	struct launch_config lc;

	(void)state;
	assert_int_equal(parse(&lc, NULL, "kernel", "-c", "2", "a", NULL), 0);
	assert_int_equal(lc.vm.cpus, 2);
	assert_int_equal(lc.vm.nargs, 1);
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "kernel", "--", "-freq", "10", "--", "-x", NULL), 0);
	assert_int_equal(lc.vm.nargs, 4);
	assert_string_equal(lc.vm.args[0], "-freq");
	assert_string_equal(lc.vm.args[2], "--");
	assert_string_equal(lc.vm.args[3], "-x");
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "-m", "32M", "--", "kernel", "-m", NULL), 0);
	assert_string_equal(lc.vm.kernel_path, "kernel");
	assert_int_equal(lc.vm.nargs, 1);
	assert_string_equal(lc.vm.args[0], "-m");
	cli_free(&lc);
	/* a guest word that looks like an option, before '--': unknown option */
	assert_int_equal(parse(&lc, NULL, "kernel", "-x", NULL), -1);
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "kernel", "-1", NULL), -1);
	cli_free(&lc);
	/* -m=64M is 64M, as clap reads it (it used to be "=64M") */
	assert_int_equal(parse(&lc, NULL, "-m=128M", "-c=3", "-e=A=b", "kernel", NULL), 0);
	assert_int_equal(lc.vm.mem_size, 128ull << 20);
	assert_int_equal(lc.vm.cpus, 3);
	assert_string_equal(lc.vm.env[0], "A=b");
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "--memory-size=256MiB", "-m1G", "kernel", NULL), 0);
	assert_int_equal(lc.vm.mem_size, 1ull << 30);
	cli_free(&lc);
}

static void test_sizes(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {{"64M", 64ull << 20},	  {"512MiB", 512ull << 20}, {"2G", 2ull << 30},
		  {"4GiB", 4ull << 30},	  {"4 GiB", 4ull << 30},    {"1.5G", 3ull << 29},
		  {"16777216", 16 << 20}, {"1GB", 1ull << 30},	    {"64g", 64ull << 30}};
	static const char *const bad[] = {
	    "", "M", "12Q", "-1", "8M", "33M", "1MiBB", "65G", "99999999999999999999G"};
	struct launch_config lc;

	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(parse(&lc, NULL, "-m", ok[i].s, "kernel", NULL), 0);
		assert_int_equal(lc.vm.mem_size, ok[i].v);
		cli_free(&lc);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(parse(&lc, NULL, "-m", bad[i], "kernel", NULL), -1);
		cli_free(&lc);
	}
}

static void test_env_and_precedence(void **state)
{
	static char e1[] = "HERMIT_MEM=128M", e2[] = "HERMIT_CPUS=3", e3[] = "HERMIT_VERBOSE=yes";
	static char e4[] = "HERMIT_MEMORY_SIZE=256M", e5[] = "HERMIT_CPU_COUNT=2";
	char *env[] = {e1, e2, e3, NULL}, *env2[] = {e1, e2, e4, e5, NULL};
	struct launch_config lc;

	(void)state;
	assert_int_equal(parse(&lc, env, "kernel", NULL), 0);
	assert_int_equal(lc.vm.mem_size, 128ull << 20);
	assert_int_equal(lc.vm.cpus, 3);
	assert_true(lc.verbose);
	cli_free(&lc);
	assert_int_equal(parse(&lc, env, "-m", "32M", "-c", "2", "kernel", NULL), 0);
	assert_int_equal(lc.vm.mem_size, 32ull << 20);
	assert_int_equal(lc.vm.cpus, 2);
	cli_free(&lc);
	/* uhyve's names win over the old ones */
	assert_int_equal(parse(&lc, env2, "kernel", NULL), 0);
	assert_int_equal(lc.vm.mem_size, 256ull << 20);
	assert_int_equal(lc.vm.cpus, 2);
	cli_free(&lc);
}

static void test_guest_env(void **state)
{
	static char h1[] = "HOME=/root", h2[] = "PATH=/bin";
	char *env[] = {h1, h2, NULL};
	char key[400];
	struct launch_config lc;

	(void)state;
	assert_int_equal(
	    parse(&lc, env, "-e", "A=1", "--env-vars", "B=2", "--env", "A=3", "kernel", NULL), 0);
	assert_int_equal(lc.vm.nenv, 2); /* a repeated NAME: the last one wins */
	assert_string_equal(lc.vm.env[0], "A=3");
	assert_string_equal(lc.vm.env[1], "B=2");
	cli_free(&lc);
	assert_int_equal(parse(&lc, env, "-e", "X=1", "-e", "host", "kernel", NULL), 0);
	assert_int_equal(lc.vm.nenv, 2); /* host: this environment only */
	assert_string_equal(lc.vm.env[0], "HOME=/root");
	assert_string_equal(lc.vm.env[1], "PATH=/bin");
	cli_free(&lc);
	/* no cap on the number, no cut of long names */
	memset(key, 'K', sizeof key);
	memcpy(key + 300, "=v", 3);
	assert_int_equal(parse(&lc, NULL, "-e", key, "kernel", NULL), 0);
	assert_int_equal(strlen(lc.vm.env[0]), 302);
	cli_free(&lc);
}

static void test_many_env(void **state)
{
	static char name[] = "uhyve-sec", kern[] = "kernel", dash_e[] = "-e";
	static char vals[300][16];
	char *argv[2 + 600];
	struct launch_config lc;
	int argc = 1;

	(void)state;
	argv[0] = name;
	for (int i = 0; i < 300; i++) {
		snprintf(vals[i], sizeof vals[i], "V%d=%d", i, i);
		argv[argc++] = dash_e;
		argv[argc++] = vals[i];
	}
	argv[argc++] = kern;
	assert_int_equal(cli_parse(argc, argv, NULL, &lc), 0);
	assert_int_equal(cli_finish(&lc, NULL), 0);
	assert_int_equal(lc.vm.nenv, 300); /* the old cap of 128 is gone */
	assert_string_equal(lc.vm.env[299], "V299=299");
	cli_free(&lc);
}

static void test_affinity(void **state)
{
	struct launch_config lc;

	(void)state;
	assert_int_equal(parse(&lc, NULL, "--affinity", "0-0,0", "kernel", NULL), 0);
	assert_int_equal(lc.vm.naffinity, 2);
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "-a", "0 0", "kernel", NULL), 0);
	assert_int_equal(lc.vm.naffinity, 2);
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "-a", "1000", "kernel", NULL), -1); /* no such CPU */
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "--affinity", "3-1", "kernel", NULL), -1);
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "--affinity", "1,", "kernel", NULL), -1);
	cli_free(&lc);
}

static void test_files_options(void **state)
{
	struct launch_config lc;

	(void)state;
	assert_int_equal(parse(&lc, NULL, "--mount", "a:/a", "--file-mapping", "b:/b:ro",
			       "--policy", "p.json", "--audit=all", "kernel", NULL),
			 0);
	assert_int_equal(lc.nmount_specs, 2);
	assert_string_equal(lc.mount_specs[1], "b:/b:ro");
	assert_string_equal(lc.policy_path, "p.json");
	assert_true(lc.audit_all);
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "-o", "none", "kernel", NULL), 0);
	assert_string_equal(lc.vm.output, "none");
	cli_free(&lc);
	/* no KERNEL needed for these two */
	assert_int_equal(parse(&lc, NULL, "--check-policy", "p.json", NULL), 0);
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "--print-sandbox", NULL), 0);
	assert_true(lc.print_sandbox);
	cli_free(&lc);
}

static void test_uhyve_options(void **state)
{
	struct launch_config lc;

	(void)state;
	assert_int_equal(parse(&lc, NULL, "--tempdir", "/t", "--io-mode", "host=direct,sync",
			       "--file-isolation", "None", "--hermit-image-mode", "INTERNAL",
			       "--thp", "--ksm", "--pit", "--cpu-pm", "--config", "u.toml", "k",
			       NULL),
			 0);
	assert_string_equal(lc.tempdir, "/t");
	assert_true(lc.tempdir_scratch);
	assert_true(lc.io_mode.direct && lc.io_mode.sync);
	assert_int_equal(lc.isolation, UHC_ISOLATION_NONE);
	assert_int_equal(lc.image_mode, UHC_IMAGE_INTERNAL);
	assert_true(lc.vm.thp && lc.vm.ksm && lc.vm.pit && lc.vm.cpu_pm);
	assert_string_equal(lc.config_file, "u.toml");
	assert_int_equal(lc.given, G_TEMPDIR | G_IO_MODE | G_ISOLATION | G_IMAGE_MODE | G_THP |
				       G_KSM | G_PIT | G_CPU_PM);
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "k", NULL), 0);
	assert_int_equal(lc.isolation, UHC_ISOLATION_NORMAL); /* uhyve's default */
	assert_false(lc.vm.thp || lc.vm.ksm || lc.vm.pit || lc.vm.cpu_pm || lc.tempdir_scratch);
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "--io-mode", "direct", "k", NULL), -1);
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "--file-isolation", "loose", "k", NULL), -1);
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "--hermit-image-mode", "inside", "k", NULL), -1);
	cli_free(&lc);
}

static void test_rejected(void **state)
{
	static const char *const cases[][3] = {
	    {"-m", "8M", "kernel"},    {"-m", "33M", "kernel"},
	    {"-c", "0", "kernel"},     {"-c", "257", "kernel"},
	    {"-c", "0x2", "kernel"},   {"-e", "NOEQUALS", "kernel"},
	    {"-e", "=x", "kernel"},    {"--sandbox=maybe", "kernel"},
	    {"--assist=on", "kernel"}, {"--audit=some", "kernel"},
	    {"--bogus", "kernel"},     {"--memory-size", NULL, NULL}};
	static char v1[] = "HERMIT_VERBOSE=maybe", g[] = "HERMIT_GDB_PORT=70000";
	char *bad_env[] = {v1, NULL}, *gdb_env[] = {g, NULL};
	struct launch_config lc;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(parse(&lc, NULL, cases[i][0], cases[i][1], cases[i][2], NULL), -1);
		cli_free(&lc);
	}
	assert_int_equal(parse(&lc, NULL, NULL), -1); /* no KERNEL */
	cli_free(&lc);
	assert_int_equal(parse(&lc, bad_env, "kernel", NULL), -1);
	cli_free(&lc);
	assert_int_equal(parse(&lc, gdb_env, "kernel", NULL), -1);
	cli_free(&lc);
	static char g2[] = "HERMIT_GDB_PORT=6677";
	char *gdb_ok[] = {g2, NULL};
	assert_int_equal(parse(&lc, gdb_ok, "kernel", NULL), 0); /* uhyve's variable */
	assert_int_equal(lc.gdb_port, 6677);
	cli_free(&lc);
	assert_int_equal(parse(&lc, gdb_ok, "--gdb-socket", "/x", "kernel", NULL), 0);
	assert_int_equal(lc.gdb_port, -1); /* the socket wins over the variable */
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "-s", "1234", "kernel", NULL), 0);
	assert_int_equal(lc.gdb_port, 1234);
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "--gdb-port=1", "--gdb-socket", "/x", "kernel", NULL), -1);
	cli_free(&lc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),	  cmocka_unit_test(test_grammar),
	    cmocka_unit_test(test_sizes),	  cmocka_unit_test(test_env_and_precedence),
	    cmocka_unit_test(test_guest_env),	  cmocka_unit_test(test_many_env),
	    cmocka_unit_test(test_affinity),	  cmocka_unit_test(test_files_options),
	    cmocka_unit_test(test_uhyve_options), cmocka_unit_test(test_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
