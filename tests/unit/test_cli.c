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
	int argc = 1;
	va_list ap;

	va_start(ap, envp);
	while ((argv[argc] = va_arg(ap, char *)) != NULL) {
		argc++;
	}
	va_end(ap);
	return cli_parse(argc, argv, envp, lc);
}

static void test_defaults(void **state)
{
	struct launch_config lc;

	(void)state;
	assert_int_equal(parse(&lc, NULL, "kernel", "a", "-b", NULL), 0);
	assert_int_equal(lc.vm.mem_size, 64ull << 20);
	assert_int_equal(lc.vm.cpus, 1);
	assert_true(lc.vm.aslr);
	assert_true(lc.vm.sandbox);
	assert_string_equal(lc.vm.kernel_path, "kernel");
	assert_int_equal(lc.vm.nargs, 2);
	assert_string_equal(lc.vm.args[1], "-b"); /* options end at KERNEL */
	cli_free(&lc);
}

static void test_sizes(void **state)
{
	static const struct {
		const char *s;
		uint64_t v;
	} ok[] = {{"64M", 64ull << 20}, {"512MiB", 512ull << 20},
		  {"2G", 2ull << 30},	{"1048576", 1ull << 20},
		  {"4k", 4096},		{"1GB", 1ull << 30}};
	static const char *const bad[] = {"",	  "M",	 "12Q",	  "-1",
					  "1.5G", "1 G", "1MiBB", "99999999999999999999G"};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(cli_parse_size(ok[i].s, &v), 0);
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(cli_parse_size(bad[i], &v), -1);
	}
}

static void test_env_and_precedence(void **state)
{
	static char e1[] = "HERMIT_MEM=128M", e2[] = "HERMIT_CPUS=3", e3[] = "HERMIT_VERBOSE=yes";
	char *env[] = {e1, e2, e3, NULL};
	struct launch_config lc;

	(void)state;
	assert_int_equal(parse(&lc, env, "kernel", NULL), 0);
	assert_int_equal(lc.vm.mem_size, 128ull << 20);
	assert_int_equal(lc.vm.cpus, 3);
	assert_true(lc.vm.verbose);
	cli_free(&lc);
	assert_int_equal(parse(&lc, env, "-m", "32M", "-c", "2", "kernel", NULL), 0);
	assert_int_equal(lc.vm.mem_size, 32ull << 20);
	assert_int_equal(lc.vm.cpus, 2);
	cli_free(&lc);
}

static void test_affinity(void **state)
{
	struct launch_config lc;

	(void)state;
	assert_int_equal(parse(&lc, NULL, "--affinity", "0-2,5", "kernel", NULL), 0);
	assert_int_equal(lc.vm.naffinity, 4);
	assert_int_equal(lc.vm.affinity[3], 5);
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
	/* no KERNEL needed for these two */
	assert_int_equal(parse(&lc, NULL, "--check-policy", "p.json", NULL), 0);
	cli_free(&lc);
	assert_int_equal(parse(&lc, NULL, "--print-sandbox", NULL), 0);
	assert_true(lc.print_sandbox);
	cli_free(&lc);
}

static void test_rejected(void **state)
{
	static const char *const cases[][3] = {
	    {"-m", "8M", "kernel"},	  {"-m", "33M", "kernel"},
	    {"-c", "0", "kernel"},	  {"-c", "257", "kernel"},
	    {"-e", "NOEQUALS", "kernel"}, {"--sandbox=maybe", "kernel"},
	    {"--assist=on", "kernel"},	  {"--audit=some", "kernel"},
	    {"--bogus", "kernel"},	  {"--memory-size", NULL, NULL}};
	struct launch_config lc;

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(parse(&lc, NULL, cases[i][0], cases[i][1], cases[i][2], NULL), -1);
		cli_free(&lc);
	}
	assert_int_equal(parse(&lc, NULL, NULL), -1); /* no KERNEL */
	cli_free(&lc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),	       cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_env_and_precedence), cmocka_unit_test(test_affinity),
	    cmocka_unit_test(test_files_options),      cmocka_unit_test(test_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
