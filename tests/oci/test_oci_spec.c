/* SPDX-License-Identifier: MIT */
/* test_oci_spec.c - uhyve-sec-oci's bundle handling without engines or KVM: config.json
 * parsing (valid and hostile: wrong types, huge arrays, deep nesting, NULs, duplicates),
 * translation to the uhyve-sec command line and policy (exact argv, binds, skipped mounts,
 * memory and CPU limits, annotations, limits of uhyve-sec), the Hermit ELF screening, the
 * end-record parser, and args[0] resolution inside a hostile rootfs (symlinks out of it).
 */
#include <elf.h>
#include <errno.h>
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

#include "oci.h"

static char err[1024];

static int parse(const char *json, struct oci_spec *s)
{
	return spec_parse(json, strlen(json), s, err, sizeof err);
}

/* A minimal valid config: process gets `process_extra` (which replaces the default args and
 * env when it has its own), the top level `extra`. */
static char *config(const char *process_extra, const char *extra)
{
	bool own = strstr(process_extra, "\"args\"") != NULL || strstr(process_extra, "\"env\"");
	char *out;

	if (asprintf(&out,
		     "{\"ociVersion\":\"1.0.2-dev\",\"root\":{\"path\":\"rootfs\"},"
		     "\"process\":{%s%s}%s}",
		     own ? "" : "\"args\":[\"/hello\",\"a b\"],\"env\":[\"A=1\"]",
		     own ? process_extra + 1 : process_extra, extra) < 0) {
		abort();
	}
	return out;
}

static void expect_fail(const char *process_extra, const char *extra, const char *want)
{
	char *c = config(process_extra, extra);
	struct oci_spec s;

	if (parse(c, &s) == 0) {
		fail_msg("accepted: %s", c);
	}
	if (strstr(err, want) == NULL) {
		fail_msg("error '%s' lacks '%s'", err, want);
	}
	free(c);
}

static void parse_valid(void **state)
{
	char *c =
	    config(",\"terminal\":true,\"consoleSize\":{\"height\":24,\"width\":80},"
		   "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"soft\":1024,\"hard\":4096}]",
		   ",\"mounts\":[{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/s\","
		   "\"options\":[\"rbind\",\"ro\"]},{\"destination\":\"/proc\",\"type\":"
		   "\"proc\"}],\"linux\":{\"cgroupsPath\":\"/x/y\",\"resources\":{\"memory\":"
		   "{\"limit\":268435456},\"cpu\":{\"quota\":150000,\"period\":100000,"
		   "\"cpus\":\"0-1\"},\"pids\":{\"limit\":10}},\"namespaces\":[{\"type\":"
		   "\"network\",\"path\":\"/run/netns/x\"}]},\"annotations\":{\"" OCI_ANN_MEMORY
		   "\":\"128M\",\"io.kubernetes.cri.container-type\":\"sandbox\"},"
		   "\"unknown\":{\"deep\":[1,2,{\"x\":null}]}");
	struct oci_spec s;

	(void)state;
	assert_int_equal(parse(c, &s), 0);
	assert_string_equal(s.root_path, "rootfs");
	assert_int_equal(s.nargs, 2);
	assert_string_equal(s.args[1], "a b");
	assert_int_equal(s.nenv, 1);
	assert_true(s.terminal);
	assert_int_equal(s.console_rows, 24);
	assert_int_equal(s.nrlimits, 1);
	assert_int_equal(s.rlimits[0].hard, 4096);
	assert_int_equal(s.nmounts, 2);
	assert_true(s.mounts[0].bind && s.mounts[0].ro);
	assert_false(s.mounts[1].bind);
	assert_string_equal(s.cgroups_path, "/x/y");
	assert_int_equal(s.mem_limit, 268435456);
	assert_int_equal(s.cpu_quota, 150000);
	assert_string_equal(s.cpuset_cpus, "0-1");
	assert_int_equal(s.pids_limit, 10);
	assert_true(s.has_netns);
	assert_string_equal(s.netns_path, "/run/netns/x");
	assert_string_equal(s.ann_memory, "128M");
	assert_true(s.pod_sandbox);
	spec_free(&s);
	free(c);
}

static void parse_hostile_types(void **state)
{
	(void)state;
	expect_fail(",\"args\":\"/hello\"", "", "process.args must be an array");
	expect_fail(",\"args\":[\"/hello\",7]", "", "process.args[1] must be a string");
	expect_fail(",\"args\":[]", "", "process.args must name a program");
	expect_fail(",\"args\":[\"\"]", "", "process.args must name a program");
	expect_fail(",\"env\":[{}]", "", "process.env[0] must be a string");
	expect_fail(",\"terminal\":\"yes\"", "", "process.terminal must be a boolean");
	expect_fail(",\"consoleSize\":{\"height\":-1,\"width\":2}", "", "consoleSize");
	expect_fail(",\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\",\"soft\":1,\"hard\":1}]", "",
		    "rlimits[0]");
	expect_fail("", ",\"mounts\":{}", "mounts must be an array");
	expect_fail("", ",\"mounts\":[{\"type\":\"bind\"}]", "mounts[0].destination is missing");
	expect_fail("", ",\"mounts\":[{\"destination\":5}]", "mounts[0].destination must be");
	expect_fail("", ",\"mounts\":[{\"destination\":\"/a\",\"options\":[1]}]",
		    "mounts[0].options[0] must be a string");
	expect_fail("", ",\"linux\":{\"resources\":{\"memory\":{\"limit\":\"1G\"}}}",
		    "memory.limit must be an integer");
	expect_fail("", ",\"linux\":{\"resources\":{\"cpu\":{\"period\":0}}}", "cpu.period");
	expect_fail("", ",\"linux\":[]", "linux must be an object");
	expect_fail("", ",\"annotations\":{\"a\":1}", "annotation 'a' must be a string");
	expect_fail("", ",\"hooks\":{\"prestart\":[{\"path\":\"/bin/x\"}]}", "hooks are not");
}

static void parse_hostile_shapes(void **state)
{
	struct oci_spec s;
	char *big, *c;
	size_t n = 0;

	(void)state;
	assert_int_not_equal(parse("[]", &s), 0);
	assert_non_null(strstr(err, "top level must be an object"));
	assert_int_not_equal(parse("{\"ociVersion\":\"2.0.0\"}", &s), 0);
	assert_non_null(strstr(err, "unsupported ociVersion"));
	assert_int_not_equal(parse("{\"ociVersion\":\"1.0\",\"ociVersion\":\"1.0\"}", &s), 0);
	assert_non_null(strstr(err, "invalid JSON"));
	assert_int_not_equal(parse("{\"ociVersion\":\"1.0.0\",\"process\":{}}", &s), 0);
	assert_non_null(strstr(err, "root is missing"));
	c = config(",\"cwd\":\"a\\u0000b\"", ",\"root\":{\"path\":\"r\\u0000oot\"}");
	assert_int_not_equal(parse(c, &s), 0); /* duplicate "root" first */
	free(c);
	c = config("", "");
	c[strlen(c) - 1] = '\0';
	assert_int_not_equal(parse(c, &s), 0);
	free(c);
	assert_int_not_equal(
	    parse(
		"{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\\u0000x\"},\"process\":{\"args\":"
		"[\"/a\"]}}",
		&s),
	    0);
	assert_true(strstr(err, "NUL") != NULL || strstr(err, "\\u0000") != NULL);
	/* 5000 arguments: more than OCI_ARRAY_MAX */
	big = malloc(5000 * 4 + 256);
	n += (size_t)sprintf(big, "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},"
				  "\"process\":{\"args\":[");
	for (int i = 0; i < 5000; i++) {
		n += (size_t)sprintf(big + n, "%s\"a\"", i ? "," : "");
	}
	sprintf(big + n, "]}}");
	assert_int_not_equal(parse(big, &s), 0);
	assert_non_null(strstr(err, "too many elements"));
	/* nesting 1000 deep in an unknown key: refused before jansson recurses */
	n = (size_t)sprintf(big, "{\"x\":");
	for (int i = 0; i < 1000; i++) {
		big[n++] = '[';
	}
	big[n] = '\0';
	assert_int_not_equal(parse(big, &s), 0);
	assert_non_null(strstr(err, "nested deeper"));
	free(big);
	/* a path longer than OCI_PATH_MAX */
	big = malloc(OCI_PATH_MAX + 200);
	memset(big, 'a', OCI_PATH_MAX + 100);
	big[OCI_PATH_MAX + 100] = '\0';
	assert_true(asprintf(&c,
			     "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"%s\"},"
			     "\"process\":{\"args\":[\"/a\"]}}",
			     big) > OCI_PATH_MAX);
	assert_int_not_equal(parse(c, &s), 0);
	assert_non_null(strstr(err, "root.path is too long"));
	free(c);
	free(big);
	assert_int_equal(spec_json_depth("{\"a\":\"[[[[\",\"b\":[{}]}", 20), 3);
}

/* ---- translation ---- */

static int debug_count;
static char debug_text[4096];

static void debug_cb(void *ctx, const char *line)
{
	(void)ctx;
	debug_count++;
	snprintf(debug_text + strlen(debug_text), sizeof debug_text - strlen(debug_text), "%s\n",
		 line);
}

static enum src_kind kind_cb(const char *path, void *ctx)
{
	(void)ctx;
	if (strstr(path, "missing") != NULL) {
		return SRC_MISSING;
	}
	return strstr(path, "file") != NULL ? SRC_FILE : SRC_DIR;
}

static const struct oci_facts facts = {.kernel_host = "/var/rootfs/hello",
				       .kernel_size = 3u << 20,
				       .rootfs_host = "/var/rootfs",
				       .bundle = "/b",
				       .policy_path = "/run/x/policy.json",
				       .status_fd = 3,
				       .source_kind = kind_cb,
				       .debug = debug_cb};

static char *joined(const struct oci_plan *p)
{
	static char buf[8192];

	buf[0] = '\0';
	for (size_t i = 0; i < p->argc; i++) {
		snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? "|" : "",
			 p->argv[i]);
	}
	return buf;
}

static int tr(const char *process_extra, const char *extra, struct oci_plan *p)
{
	char *c = config(process_extra, extra);
	struct oci_spec s;
	int rc;

	if (parse(c, &s) != 0) {
		fail_msg("parse: %s", err);
	}
	free(c);
	debug_count = 0;
	debug_text[0] = '\0';
	rc = translate(&s, &facts, p, err, sizeof err);
	spec_free(&s);
	return rc;
}

static void translate_basic(void **state)
{
	struct oci_plan p;

	(void)state;
	assert_int_equal(tr("", "", &p), 0);
	assert_string_equal(joined(&p), "uhyve-sec|--status-fd=3|--cpu-count=1|--policy|/run/x/"
					"policy.json|--env|A=1|--argv0|/hello|--|/var/"
					"rootfs/hello|a b");
	assert_string_equal(p.policy_json,
			    "{\n  \"version\": 1,\n  \"mounts\": [\n    {\n"
			    "      \"host\": \"/var/rootfs\",\n      \"guest\": \"/\",\n"
			    "      \"access\": \"ro\",\n      \"symlinks\": "
			    "\"within\"\n    }\n  ]\n}");
	plan_free(&p);
}

static void translate_mounts(void **state)
{
	struct oci_plan p;

	(void)state;
	assert_int_equal(
	    tr("",
	       ",\"mounts\":["
	       "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
	       "{\"destination\":\"/dev/shm\",\"type\":\"bind\",\"source\":\"/shm\"},"
	       "{\"destination\":\"//sys/./fs\",\"type\":\"cgroup\"},"
	       "{\"destination\":\"/tmp\",\"type\":\"tmpfs\",\"source\":\"tmpfs\"},"
	       "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/run/a/file\"},"
	       "{\"destination\":\"/data/\",\"type\":\"none\",\"source\":\"/h/co:lon\","
	       "\"options\":[\"rbind\",\"ro\"]},"
	       "{\"destination\":\"/out\",\"source\":\"rel/dir\",\"options\":[\"bind\",\"ro\","
	       "\"rw\"]},"
	       "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"/h/later\"}]",
	       &p),
	    0);
	assert_int_equal(debug_count, 5);
	assert_non_null(strstr(debug_text, "mount /proc (proc) skipped"));
	assert_non_null(strstr(debug_text, "mount /dev/shm (bind) skipped"));
	assert_non_null(strstr(debug_text, "mount /sys/fs (cgroup) skipped"));
	assert_non_null(strstr(debug_text, "mount /tmp (tmpfs) skipped"));
	assert_non_null(strstr(debug_text, "mount /etc/hosts skipped: /run/a/file is not a dir"));
	/* /data: the later mount wins; rel/dir is relative to the bundle; rw after ro wins */
	assert_null(strstr(p.policy_json, "co:lon"));
	assert_non_null(strstr(p.policy_json, "\"host\": \"/h/later\",\n      \"guest\": "
					      "\"/data\",\n      \"access\": \"rw\""));
	assert_non_null(strstr(p.policy_json, "\"host\": \"/b/rel/dir\",\n      \"guest\": "
					      "\"/out\",\n      \"access\": \"rw\""));
	plan_free(&p);
	assert_int_equal(tr("",
			    ",\"mounts\":[{\"destination\":\"/d\",\"type\":\"bind\",\"source\":"
			    "\"/h/co:lon\",\"options\":[\"ro\"]}]",
			    &p),
			 0);
	assert_non_null(strstr(p.policy_json, "\"host\": \"/h/co:lon\",\n      \"guest\": \"/d\","
					      "\n      \"access\": \"ro\""));
	plan_free(&p);
}

static void translate_mount_errors(void **state)
{
	struct oci_plan p;
	char many[64 * 80 + 32];
	size_t n;

	(void)state;
	assert_int_not_equal(tr("",
				",\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\","
				"\"source\":\"/missing\"}]",
				&p),
			     0);
	assert_non_null(strstr(err, "/missing: no such file or directory"));
	assert_int_not_equal(
	    tr("", ",\"mounts\":[{\"destination\":\"/a/..\",\"type\":\"bind\",\"source\":\"/s\"}]",
	       &p),
	    0);
	assert_non_null(strstr(err, "would hide the image"));
	assert_int_not_equal(
	    tr("", ",\"mounts\":[{\"destination\":\"/..\",\"type\":\"bind\",\"source\":\"/s\"}]",
	       &p),
	    0);
	assert_non_null(strstr(err, "not an absolute path inside /"));
	assert_int_not_equal(
	    tr("", ",\"mounts\":[{\"destination\":\"rel\",\"type\":\"bind\",\"source\":\"/s\"}]",
	       &p),
	    0);
	assert_int_not_equal(tr("", ",\"mounts\":[{\"destination\":\"/x\",\"type\":\"bind\"}]", &p),
			     0);
	assert_non_null(strstr(err, "has no source"));
	n = (size_t)sprintf(many, ",\"mounts\":[");
	for (int i = 0; i < 64; i++) {
		n += (size_t)sprintf(many + n,
				     "%s{\"destination\":\"/m%d\",\"type\":\"bind\","
				     "\"source\":\"/s%d\"}",
				     i ? "," : "", i, i);
	}
	sprintf(many + n, "]");
	assert_int_not_equal(tr("", many, &p), 0);
	assert_non_null(strstr(err, "too many bind mounts"));
}

static void translate_resources(void **state)
{
	struct oci_plan p;

	(void)state;
	/* 256M - 32M overhead - 4M (3 MiB kernel, rounded up to 2 MiB) = 220M */
	assert_int_equal(
	    tr("", ",\"linux\":{\"resources\":{\"memory\":{\"limit\":268435456}}}", &p), 0);
	assert_non_null(strstr(joined(&p), "|--memory-size=220M|"));
	plan_free(&p);
	assert_int_not_equal(
	    tr("", ",\"linux\":{\"resources\":{\"memory\":{\"limit\":52428800}}}", &p), 0);
	assert_non_null(strstr(err, "memory limit of 50 MiB is too small"));
	assert_int_equal(tr("", ",\"linux\":{\"resources\":{\"memory\":{\"limit\":-1}}}", &p), 0);
	assert_null(strstr(joined(&p), "--memory-size"));
	plan_free(&p);
	assert_int_equal(tr("",
			    ",\"linux\":{\"resources\":{\"cpu\":{\"quota\":150000,"
			    "\"period\":100000}}}",
			    &p),
			 0);
	assert_non_null(strstr(joined(&p), "|--cpu-count=2|"));
	plan_free(&p);
	assert_int_equal(tr("",
			    ",\"linux\":{\"resources\":{\"cpu\":{\"quota\":900000,"
			    "\"cpus\":\"0-1,3\"}}}",
			    &p),
			 0);
	assert_non_null(strstr(joined(&p), "|--cpu-count=3|--affinity|0-1,3|"));
	plan_free(&p);
	assert_int_not_equal(tr("", ",\"linux\":{\"resources\":{\"cpu\":{\"cpus\":\"1-0\"}}}", &p),
			     0);
	assert_non_null(strstr(err, "invalid CPU list"));
	/* annotations override */
	assert_int_equal(tr("",
			    ",\"annotations\":{\"" OCI_ANN_MEMORY "\":\"512M\",\"" OCI_ANN_CPUS
			    "\":\"4\"},\"linux\":{\"resources\":{\"cpu\":{\"quota\":100000}}}",
			    &p),
			 0);
	assert_non_null(strstr(joined(&p), "|--memory-size=512M|--cpu-count=4|"));
	plan_free(&p);
	assert_int_not_equal(tr("",
				",\"annotations\":{\"" OCI_ANN_MEMORY "\":\"512M\"},\"linux\":"
				"{\"resources\":{\"memory\":{\"limit\":268435456}}}",
				&p),
			     0);
	assert_non_null(strstr(err, "leaves at most 220 MiB"));
	assert_int_not_equal(tr("", ",\"annotations\":{\"" OCI_ANN_MEMORY "\":\"33M\"}", &p), 0);
	assert_int_not_equal(tr("", ",\"annotations\":{\"" OCI_ANN_CPUS "\":\"0\"}", &p), 0);
	assert_int_not_equal(tr("", ",\"annotations\":{\"" OCI_ANN_CPUS "\":\"2x\"}", &p), 0);
}

static void translate_limits(void **state)
{
	struct oci_plan p;
	char env[129 * 12 + 32], args[128 * 6 + 32];
	size_t n;

	(void)state;
	n = (size_t)sprintf(env, ",\"env\":[");
	for (int i = 0; i < 129; i++) {
		n += (size_t)sprintf(env + n, "%s\"K%d=v\"", i ? "," : "", i);
	}
	sprintf(env + n, "]");
	{
		char *c;
		struct oci_spec s;
		assert_true(asprintf(&c,
				     "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},"
				     "\"process\":{\"args\":[\"/a\"]%s}}",
				     env) > 0);
		assert_int_equal(parse(c, &s), 0);
		assert_int_not_equal(translate(&s, &facts, &p, err, sizeof err), 0);
		assert_non_null(strstr(err, "too many environment variables (129"));
		spec_free(&s);
		free(c);
		n = (size_t)sprintf(args, "\"/a\"");
		for (int i = 0; i < 128; i++) {
			n += (size_t)sprintf(args + n, ",\"x\"");
		}
		assert_true(asprintf(&c,
				     "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},"
				     "\"process\":{\"args\":[%s]}}",
				     args) > 0);
		assert_int_equal(parse(c, &s), 0);
		assert_int_not_equal(translate(&s, &facts, &p, err, sizeof err), 0);
		assert_non_null(strstr(err, "too many arguments (128"));
		spec_free(&s);
		free(c);
		assert_true(asprintf(&c, "{\"ociVersion\":\"1.0.0\",\"root\":{\"path\":\"r\"},"
					 "\"process\":{\"args\":[\"/a\"],\"env\":[\"=x\"]}}") > 0);
		assert_int_equal(parse(c, &s), 0);
		assert_int_not_equal(translate(&s, &facts, &p, err, sizeof err), 0);
		assert_non_null(strstr(err, "process.env[0] is not KEY=VALUE"));
		spec_free(&s);
		free(c);
	}
}

static void helpers(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(cpuset_count("0-3,6"), 5);
	assert_int_equal(cpuset_count("7"), 1);
	assert_int_equal(cpuset_count(""), -1);
	assert_int_equal(cpuset_count("1,"), -1);
	assert_int_equal(cpuset_count("3-1"), -1);
	assert_int_equal(cpuset_count("0-99999"), -1);
	assert_int_equal(cpuset_count("a"), -1);
	assert_int_equal(parse_size("512M", &v), 0);
	assert_int_equal(v, 512ull << 20);
	assert_int_equal(parse_size("2GiB", &v), 0);
	assert_int_equal(v, 2ull << 30);
	assert_int_not_equal(parse_size("1.5G", &v), 0);
	assert_int_not_equal(parse_size("99999999999999999999G", &v), 0);
	assert_int_equal(parse_signal("9"), 9);
	assert_int_equal(parse_signal("SIGTERM"), 15);
	assert_int_equal(parse_signal("kill"), 9);
	assert_int_equal(parse_signal("0"), -1);
	assert_int_equal(parse_signal("SIGNOPE"), -1);
	assert_int_equal(state_valid_id("abc-1.2_x+y"), 0);
	assert_int_not_equal(state_valid_id(".."), 0);
	assert_int_not_equal(state_valid_id("a/b"), 0);
	assert_int_not_equal(state_valid_id(""), 0);
}

/* ---- Hermit screening ---- */

static size_t build_elf(uint8_t *buf, uint8_t osabi, bool note, uint32_t namesz)
{
	Elf64_Ehdr eh = {0};
	Elf64_Phdr ph = {0};
	uint32_t nh[3] = {namesz, 1, 0x5a00};

	memset(buf, 0, 512);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_OSABI] = osabi;
	eh.e_type = ET_DYN;
	eh.e_machine = EM_X86_64;
	eh.e_phoff = 64;
	eh.e_phentsize = sizeof ph;
	eh.e_phnum = 1;
	memcpy(buf, &eh, sizeof eh);
	ph.p_type = note ? PT_NOTE : PT_LOAD;
	ph.p_offset = 200;
	ph.p_filesz = 24;
	ph.p_align = 4;
	memcpy(buf + 64, &ph, sizeof ph);
	memcpy(buf + 200, nh, sizeof nh);
	memcpy(buf + 212, "HERMIT\0\0\4\0\0\0", 12);
	return 256;
}

static void hermit_check(void **state)
{
	uint8_t buf[512];
	char why[160];
	size_t n;

	(void)state;
	n = build_elf(buf, 0, true, 7);
	assert_true(hermit_elf_check(buf, n, why, sizeof why));
	n = build_elf(buf, 0xff, false, 7);
	assert_true(hermit_elf_check(buf, n, why, sizeof why));
	n = build_elf(buf, 0, false, 7);
	assert_false(hermit_elf_check(buf, n, why, sizeof why));
	assert_non_null(strstr(why, "Linux program"));
	n = build_elf(buf, 0, true, 0xfffffff0u); /* namesz runs past the segment */
	assert_false(hermit_elf_check(buf, n, why, sizeof why));
	n = build_elf(buf, 0, true, 7);
	assert_false(hermit_elf_check(buf, 100, why, sizeof why)); /* phdrs cut off */
	assert_false(hermit_elf_check(buf, 220, why, sizeof why)); /* note cut off */
	buf[18] = 3; /* e_machine EM_386 */
	assert_false(hermit_elf_check(buf, n, why, sizeof why));
	assert_false(hermit_elf_check((const uint8_t *)"#!/bin/sh\n", 10, why, sizeof why));
	assert_string_equal(why, "not an ELF file");
	n = build_elf(buf, 0, true, 7);
	buf[56] = 0xff; /* e_phnum = 0xff01 */
	buf[57] = 0xff;
	assert_false(hermit_elf_check(buf, n, why, sizeof why));
}

/* ---- end records ---- */

static void end_records(void **state)
{
	struct endrec r;
	const char *rec;

	(void)state;
	endrec_parse("", 0, &r);
	assert_int_equal(r.kind, END_NONE);
	rec = "uhyve-sec-end 1 guest 7\n";
	endrec_parse(rec, strlen(rec), &r);
	assert_int_equal(r.kind, END_GUEST);
	assert_int_equal(r.status, 7);
	rec = "uhyve-sec-end 1 done 0\n";
	endrec_parse(rec, strlen(rec), &r);
	assert_int_equal(r.kind, END_DONE);
	rec = "uhyve-sec-end 1 error 69 nokvm cannot open /dev/kvm: No such file\n";
	endrec_parse(rec, strlen(rec), &r);
	assert_int_equal(r.kind, END_ERROR);
	assert_int_equal(r.status, 69);
	assert_string_equal(r.what, "nokvm");
	assert_string_equal(r.msg, "cannot open /dev/kvm: No such file");
	static const char *const bad[] = {
	    "uhyve-sec-end 1 guest 7",
	    "uhyve-sec-end 1 guest 256\n",
	    "uhyve-sec-end 1 guest 07\n",
	    "uhyve-sec-end 1 guest -1\n",
	    "uhyve-sec-end 2 guest 0\n",
	    "uhyve-sec-end 1 guest 0\nmore\n",
	    "uhyve-sec-end 1 error 0 x y\n",
	    "uhyve-sec-end 1 error 70 BAD y\n",
	    "uhyve-sec-end 1 error 70\n",
	    "uhyve-sec-end 1 done 1\n",
	    "uhyve-sec-end 1 error 70 x \x1b[2J\n",
	    "garbage\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		endrec_parse(bad[i], strlen(bad[i]), &r);
		if (r.kind != END_BAD) {
			fail_msg("accepted bad record %zu", i);
		}
	}
}

/* ---- args[0] inside a hostile rootfs ---- */

static void rootfs_escape(void **state)
{
	char tmp[] = "/tmp/oci-rootfs-XXXXXX", path[256];
	int rootfd, fd;

	(void)state;
	assert_non_null(mkdtemp(tmp));
	snprintf(path, sizeof path, "%s/outside", tmp);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/outside/secret", tmp);
	close(open(path, O_CREAT | O_WRONLY, 0644));
	snprintf(path, sizeof path, "%s/root", tmp);
	assert_int_equal(mkdir(path, 0755), 0);
	rootfd = open(path, O_PATH | O_DIRECTORY);
	assert_true(rootfd >= 0);
	snprintf(path, sizeof path, "%s/outside/secret", tmp);
	assert_int_equal(symlinkat(path, rootfd, "abs"), 0); /* absolute host path */
	assert_int_equal(symlinkat("../outside/secret", rootfd, "rel"), 0);
	assert_int_equal(symlinkat("/proc/self/root/etc/passwd", rootfd, "magic"), 0);
	assert_int_equal(mkdirat(rootfd, "bin", 0755), 0);
	assert_int_equal(symlinkat("../../../../hello", rootfd, "bin/up"), 0);
	close(openat(rootfd, "hello", O_CREAT | O_WRONLY, 0644));
	assert_int_equal(rootfs_open_kernel(rootfd, "abs"), -ENOENT);
	assert_int_equal(rootfs_open_kernel(rootfd, "/rel"), -ENOENT);
	assert_int_equal(rootfs_open_kernel(rootfd, "/../../outside/secret"), -ENOENT);
	assert_int_equal(rootfs_open_kernel(rootfd, "/magic"), -ENOENT);
	assert_int_equal(rootfs_open_kernel(rootfd, "/bin"), -EISDIR);
	fd = rootfs_open_kernel(rootfd, "/bin/up"); /* ".." stops at the rootfs */
	assert_true(fd >= 0);
	assert_int_equal(fd_path(fd, path, sizeof path), 0);
	assert_true(strncmp(path, tmp, strlen(tmp)) == 0);
	assert_string_equal(path + strlen(tmp), "/root/hello");
	close(fd);
	close(rootfd);
	snprintf(path, sizeof path, "rm -rf %s", tmp);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parse_valid),
	    cmocka_unit_test(parse_hostile_types),
	    cmocka_unit_test(parse_hostile_shapes),
	    cmocka_unit_test(translate_basic),
	    cmocka_unit_test(translate_mounts),
	    cmocka_unit_test(translate_mount_errors),
	    cmocka_unit_test(translate_resources),
	    cmocka_unit_test(translate_limits),
	    cmocka_unit_test(helpers),
	    cmocka_unit_test(hermit_check),
	    cmocka_unit_test(end_records),
	    cmocka_unit_test(rootfs_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
