/* SPDX-License-Identifier: MIT */
/* cli.c - command line and HERMIT_* environment, in the spirit of uhyve. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher.h"
#include "uhs_msg.h"
#include "uhyve_abi.h"

void cli_usage(FILE *f)
{
	fputs("Usage: uhyve-sec [OPTIONS] KERNEL [ARGS]...\n"
	      "Run the Hermit unikernel KERNEL under KVM; ARGS are passed to the guest.\n"
	      "\n"
	      "Options:\n"
	      "  -m, --memory-size SIZE  guest RAM, e.g. 64M, 512MiB, 2G (default 64M; at least\n"
	      "                          16M, a multiple of 2M; interface v1 kernels: below 3G)\n"
	      "  -c, --cpu-count N       number of vCPUs, 1-256 (default 1)\n"
	      "  -e, --env KEY=VALUE     set a guest environment variable (repeatable)\n"
	      "  -v, --verbose           show the kernel log (guest serial port output)\n"
	      "      --output DEST       guest console: 'stdout' (default), 'none', or a file\n"
	      "                          that is created and must not exist yet\n"
	      "      --stats             print VM-exit and hypercall counts and guest time to\n"
	      "                          stderr when the VM stops\n"
	      "      --no-aslr           load relocatable kernels at the lowest address\n"
	      "      --affinity CPUS     pin vCPU i to the i-th host CPU of a list such as 0-3,6\n"
	      "                          (cycled); the file broker runs on the first one\n"
	      "      --assist=auto|exits|jit|off\n"
	      "                          the instruction assist (where the build has it: see\n"
	      "                          --version); auto, the default: where KVM emulates\n"
	      "                          guest code (no VMX/SVM), a 1-vCPU guest's code runs in\n"
	      "                          its JIT; exits: it only completes instructions KVM\n"
	      "                          cannot emulate; jit: JIT with any vCPU count\n"
	      "                          (experimental); off: such an instruction ends the run\n"
	      "                          (81)\n"
	      "      --argv0 NAME        the guest's argv[0] (default: KERNEL as given)\n"
	      "      --status-fd N       when the run ends, write one end record to the open\n"
	      "                          fd N: 'uhyve-sec-end 1 guest CODE', 'uhyve-sec-end 1\n"
	      "                          error STATUS KIND MESSAGE' or 'uhyve-sec-end 1 done 0'\n"
	      "\n"
	      "Files (served by a separate broker process; without a mount the guest sees none):\n"
	      "      --mount HOST:GUEST[:ro|:rw]\n"
	      "                          map host directory HOST at guest path GUEST (default\n"
	      "                          rw: read, write, create, delete, mkdir); repeatable;\n"
	      "                          --file-mapping is an alias\n"
	      "      --policy FILE       JSON policy: mounts, rights, limits, scratch directory\n"
	      "      --check-policy FILE validate FILE (and any --mount), print the effective\n"
	      "                          mapping and exit (78 when invalid)\n"
	      "      --audit-log FILE    append the JSON audit log to FILE (default stderr)\n"
	      "      --audit=deny|all    log denials only (default) or every file operation\n"
	      "\n"
	      "Sandbox:\n"
	      "      --sandbox=strict|off\n"
	      "                          strict (default): seccomp, Landlock, no capabilities,\n"
	      "                          no_new_privs and namespaces for the VMM and the broker;\n"
	      "                          the run stops if the kernel lacks one of them.  off: no\n"
	      "                          confinement at all, for debugging only (loudly warned)\n"
	      "      --print-sandbox     print the confinement of both processes (syscall\n"
	      "                          allowlists with reasons, Landlock rules) and exit\n"
	      "  -h, --help              show this help and exit\n"
	      "  -V, --version           show the version and exit\n"
	      "\n"
	      "Environment: HERMIT_CPUS (or HERMIT_CPU_COUNT), HERMIT_MEM (or\n"
	      "HERMIT_MEMORY_SIZE) and HERMIT_VERBOSE (0/1) set the defaults that -c, -m and -v\n"
	      "override.\n"
	      "\n"
	      "Exit status: the guest's exit code (0-255), or: 64 usage error, 65 kernel image\n"
	      "rejected, 66 kernel unreadable, 69 KVM unavailable, 70 internal error, 71 host\n"
	      "resource error, 73 output file not creatable, 74 file broker failed,\n"
	      "75 sandbox not available, 76 guest protocol violation, 78 invalid policy or mount,\n"
	      "80 guest triple fault, 81 KVM internal error, 82 KVM entry failure, 83 guest\n"
	      "panic, 128+N stopped by signal N (130 SIGINT, 143 SIGTERM).\n",
	      f);
}

int cli_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	if (!isdigit((unsigned char)s[0])) {
		return -1;
	}
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0) {
		return -1;
	}
	switch (toupper((unsigned char)*end)) {
	case '\0':
		break;
	case 'K':
		shift = 10;
		break;
	case 'M':
		shift = 20;
		break;
	case 'G':
		shift = 30;
		break;
	default:
		return -1;
	}
	if (*end != '\0') {
		end++;
		if (strcmp(end, "") != 0 && strcmp(end, "iB") != 0 && strcmp(end, "B") != 0) {
			return -1;
		}
	}
	if (v > (UINT64_MAX >> shift)) {
		return -1;
	}
	*out = (uint64_t)v << shift;
	return 0;
}

static int set_mem(struct vmm_config *cfg, const char *s, const char *what)
{
	uint64_t v;

	if (cli_parse_size(s, &v) != 0) {
		uhs_msg("invalid %s '%s': expected a size such as 64M, 512MiB or 2G", what, s);
		return -1;
	}
	if (v < CFG_MIN_MEM || v > CFG_MAX_MEM || v % (2u << 20) != 0) {
		uhs_msg("invalid %s '%s': must be a multiple of 2 MiB from 16M to 64G", what, s);
		return -1;
	}
	cfg->mem_size = v;
	return 0;
}

static int set_cpus(struct vmm_config *cfg, const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end != '\0' || errno != 0 || v < 1 ||
	    v > CFG_MAX_CPUS) {
		uhs_msg("invalid %s '%s': expected a number of vCPUs from 1 to %d", what, s,
			CFG_MAX_CPUS);
		return -1;
	}
	cfg->cpus = (unsigned)v;
	return 0;
}

static int set_bool(bool *b, const char *s, const char *what)
{
	if (!strcmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes") ||
	    !strcasecmp(s, "on")) {
		*b = true;
	} else if (!strcmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no") ||
		   !strcasecmp(s, "off") || !strcmp(s, "")) {
		*b = false;
	} else {
		uhs_msg("invalid %s '%s': expected 0 or 1", what, s);
		return -1;
	}
	return 0;
}

static int add_env(struct vmm_config *cfg, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char **n;

	if (eq == NULL || eq == kv) {
		uhs_msg("invalid --env '%s': expected KEY=VALUE", kv);
		return -1;
	}
	if (cfg->nenv >= UH_MAX_ARGC_ENVC) {
		uhs_msg("too many --env variables (at most %d)", UH_MAX_ARGC_ENVC);
		return -1;
	}
	n = realloc(cfg->env, sizeof *n * (size_t)(cfg->nenv + 1));
	if (n == NULL || (n[cfg->nenv] = strdup(kv)) == NULL) {
		cfg->env = n ? n : cfg->env;
		uhs_msg("out of memory");
		return -1;
	}
	cfg->env = n;
	cfg->nenv++;
	return 0;
}

/* One item of a CPU list: "N" or "LO-HI".  Returns the end of it, or NULL. */
static const char *cpu_item(const char *p, long *lo, long *hi)
{
	char *end;

	if (!isdigit((unsigned char)*p)) {
		return NULL;
	}
	*lo = *hi = strtol(p, &end, 10);
	if (*end == '-') {
		p = end + 1;
		if (!isdigit((unsigned char)*p)) {
			return NULL;
		}
		*hi = strtol(p, &end, 10);
	}
	return *lo >= 0 && *hi >= *lo && *hi < CPU_SETSIZE ? end : NULL;
}

/* "0-3,6": a list of CPU numbers and ranges, in order, at most CFG_MAX_CPUS entries. */
static int set_affinity(struct vmm_config *cfg, const char *s)
{
	const char *p = s;
	long lo, hi;

	cfg->naffinity = 0;
	while (*p != '\0') {
		const char *end = cpu_item(p, &lo, &hi);
		if (end == NULL || (*end != ',' && *end != '\0') ||
		    (*end == ',' && end[1] == '\0') || hi - lo >= CFG_MAX_CPUS - cfg->naffinity) {
			uhs_msg("invalid --affinity '%s': expected host CPU numbers such as 0-3,6",
				s);
			return -1;
		}
		for (long c = lo; c <= hi; c++) {
			cfg->affinity[cfg->naffinity++] = (int)c;
		}
		p = *end == ',' ? end + 1 : end;
	}
	if (cfg->naffinity == 0) {
		uhs_msg("invalid --affinity '%s': expected host CPU numbers such as 0-3,6", s);
		return -1;
	}
	return 0;
}

/* --status-fd N: an open descriptor above stderr; it is not passed on to helpers. */
static int set_status_fd(struct launch_config *lc, const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!isdigit((unsigned char)s[0]) || *end != '\0' || errno != 0 || v < 3 || v > 1023 ||
	    fcntl((int)v, F_SETFD, FD_CLOEXEC) != 0) {
		uhs_msg("invalid --status-fd '%s': expected an open file descriptor from 3 to 1023",
			s);
		return -1;
	}
	lc->status_fd = (int)v;
	return 0;
}

static int add_mount(struct launch_config *cfg, const char *spec)
{
	const char **n;

	if (cfg->nmount_specs >= 64) {
		uhs_msg("too many --mount options (at most 64)");
		return -1;
	}
	n = realloc(cfg->mount_specs, sizeof *n * (size_t)(cfg->nmount_specs + 1));
	if (n == NULL) {
		uhs_msg("out of memory");
		return -1;
	}
	n[cfg->nmount_specs++] = spec;
	cfg->mount_specs = n;
	return 0;
}

static const char *getenv_from(char *const envp[], const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++) {
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=') {
			return *envp + n + 1;
		}
	}
	return NULL;
}

/* Defaults from the environment; the command line overrides them. */
static int parse_env(struct vmm_config *cfg, char *const envp[])
{
	static const char *const mem[] = {"HERMIT_MEM", "HERMIT_MEMORY_SIZE"};
	static const char *const cpus[] = {"HERMIT_CPUS", "HERMIT_CPU_COUNT"};
	const char *v;

	for (int i = 0; i < 2; i++) {
		if ((v = getenv_from(envp, mem[i])) != NULL && set_mem(cfg, v, mem[i]) != 0) {
			return -1;
		}
		if ((v = getenv_from(envp, cpus[i])) != NULL && set_cpus(cfg, v, cpus[i]) != 0) {
			return -1;
		}
	}
	if ((v = getenv_from(envp, "HERMIT_VERBOSE")) != NULL &&
	    set_bool(&cfg->verbose, v, "HERMIT_VERBOSE") != 0) {
		return -1;
	}
	return 0;
}

enum {
	OPT_OUTPUT = 256,
	OPT_STATS,
	OPT_NO_ASLR,
	OPT_MOUNT,
	OPT_POLICY,
	OPT_CHECK_POLICY,
	OPT_AUDIT_LOG,
	OPT_AUDIT,
	OPT_AFFINITY,
	OPT_ASSIST,
	OPT_SANDBOX,
	OPT_PRINT_SANDBOX,
	OPT_ARGV0,
	OPT_STATUS_FD
};

static const struct option long_opts[] = {
    {"memory-size", required_argument, NULL, 'm'},
    {"cpu-count", required_argument, NULL, 'c'},
    {"env", required_argument, NULL, 'e'},
    {"verbose", no_argument, NULL, 'v'},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"stats", no_argument, NULL, OPT_STATS},
    {"no-aslr", no_argument, NULL, OPT_NO_ASLR},
    {"mount", required_argument, NULL, OPT_MOUNT},
    {"file-mapping", required_argument, NULL, OPT_MOUNT},
    {"policy", required_argument, NULL, OPT_POLICY},
    {"check-policy", required_argument, NULL, OPT_CHECK_POLICY},
    {"audit-log", required_argument, NULL, OPT_AUDIT_LOG},
    {"audit", required_argument, NULL, OPT_AUDIT},
    {"affinity", required_argument, NULL, OPT_AFFINITY},
    {"assist", required_argument, NULL, OPT_ASSIST},
    {"sandbox", required_argument, NULL, OPT_SANDBOX},
    {"print-sandbox", no_argument, NULL, OPT_PRINT_SANDBOX},
    {"argv0", required_argument, NULL, OPT_ARGV0},
    {"status-fd", required_argument, NULL, OPT_STATUS_FD},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static int parse_opt(struct launch_config *lc, int opt, const char *arg)
{
	struct vmm_config *cfg = &lc->vm;

	switch (opt) {
	case 'm':
		return set_mem(cfg, arg, "--memory-size");
	case 'c':
		return set_cpus(cfg, arg, "--cpu-count");
	case 'e':
		return add_env(cfg, arg);
	case 'v':
		cfg->verbose = true;
		return 0;
	case OPT_OUTPUT:
		cfg->output = arg;
		return 0;
	case OPT_STATS:
		cfg->stats = true;
		return 0;
	case OPT_NO_ASLR:
		cfg->aslr = false;
		return 0;
	case OPT_MOUNT:
		return add_mount(lc, arg);
	case OPT_AFFINITY:
		return set_affinity(cfg, arg);
	case OPT_SANDBOX:
		if (strcmp(arg, "strict") != 0 && strcmp(arg, "off") != 0) {
			uhs_msg("invalid --sandbox '%s': expected 'strict' or 'off'", arg);
			return -1;
		}
		cfg->sandbox = strcmp(arg, "strict") == 0;
		return 0;
	case OPT_PRINT_SANDBOX:
		lc->print_sandbox = true;
		return 0;
	case OPT_ARGV0:
		cfg->argv0 = arg;
		return 0;
	case OPT_STATUS_FD:
		return set_status_fd(lc, arg);
	case OPT_ASSIST:
		if (strcmp(arg, "auto") != 0 && strcmp(arg, "exits") != 0 &&
		    strcmp(arg, "jit") != 0 && strcmp(arg, "off") != 0) {
			uhs_msg("invalid --assist '%s': expected 'auto', 'exits', 'jit' or 'off'",
				arg);
			return -1;
		}
		cfg->assist = strcmp(arg, "off") != 0;
		cfg->assist_jit_smp = strcmp(arg, "jit") == 0;
		cfg->assist_jit = strcmp(arg, "auto") == 0 || cfg->assist_jit_smp;
		return 0;
	case OPT_POLICY:
		lc->policy_path = arg;
		return 0;
	case OPT_CHECK_POLICY:
		lc->check_policy = arg;
		return 0;
	case OPT_AUDIT_LOG:
		lc->audit_log = arg;
		return 0;
	case OPT_AUDIT:
		if (strcmp(arg, "all") != 0 && strcmp(arg, "deny") != 0) {
			uhs_msg("invalid --audit '%s': expected 'deny' or 'all'", arg);
			return -1;
		}
		lc->audit_all = strcmp(arg, "all") == 0;
		return 0;
	case 'h':
		cli_usage(stdout);
		return 1;
	case 'V':
		printf("uhyve-sec %s (instruction assist: %s)\n", UHS_VERSION,
		       assist_available() ? "built in" : "not built");
		return 1;
	default:
		return -1;
	}
}

int cli_parse(int argc, char *const argv[], char *const envp[], struct launch_config *lc)
{
	struct vmm_config *cfg = &lc->vm;
	int opt, rc;

	memset(lc, 0, sizeof *lc);
	cfg->mem_size = CFG_DEFAULT_MEM;
	cfg->cpus = 1;
	cfg->aslr = true;
	cfg->assist = true;
	cfg->assist_jit = true;
	cfg->sandbox = true;
	lc->status_fd = -1;
	if (parse_env(cfg, envp) != 0) {
		return -1;
	}
	optind = 1;
	opterr = 0;
	/* '+': stop at the first non-option (KERNEL), so guest arguments may start with '-'.
	 * ':': report a missing value as ':' so we can word the error ourselves. */
	while ((opt = getopt_long(argc, argv, "+:m:c:e:vhV", long_opts, NULL)) != -1) {
		if (opt == '?' || opt == ':') {
			uhs_msg("%s option '%s' (try 'uhyve-sec --help')",
				opt == '?' ? "unknown" : "missing value for", argv[optind - 1]);
			return -1;
		}
		if ((rc = parse_opt(lc, opt, optarg)) != 0) {
			return rc;
		}
	}
	if (optind >= argc && (lc->check_policy != NULL || lc->print_sandbox)) {
		return 0; /* --check-policy and --print-sandbox need no kernel */
	}
	if (optind >= argc) {
		uhs_msg("missing KERNEL argument (try 'uhyve-sec --help')");
		return -1;
	}
	if (argc - optind - 1 >= UH_MAX_ARGC_ENVC) {
		uhs_msg("too many guest arguments (at most %d)", UH_MAX_ARGC_ENVC - 1);
		return -1;
	}
	cfg->kernel_path = argv[optind];
	if (cfg->argv0 == NULL) {
		cfg->argv0 = cfg->kernel_path;
	}
	cfg->args = argv + optind + 1;
	cfg->nargs = argc - optind - 1;
	return 0;
}

void cli_free(struct launch_config *lc)
{
	struct vmm_config *cfg = &lc->vm;

	for (int i = 0; i < cfg->nenv; i++) {
		free(cfg->env[i]);
	}
	free(cfg->env);
	cfg->env = NULL;
	cfg->nenv = 0;
	free(lc->mount_specs);
	lc->mount_specs = NULL;
	lc->nmount_specs = 0;
}
