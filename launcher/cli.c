/* SPDX-License-Identifier: MIT */
/* cli.c - the command line, as uhyve's (src/bin/uhyve.rs, clap): its option names, short
 * forms and grammar, plus uhyve-sec's own options.
 *
 * Trust: operator input (argv).  Values are checked by cli_values.c (config/'s parsers). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher.h"
#include "uhs_msg.h"

static void usage_uhyve(FILE *f)
{
	fputs("Usage: uhyve-sec [OPTIONS] KERNEL [ARGS]...\n"
	      "Run the Hermit unikernel KERNEL under KVM.  Options may also follow KERNEL; the\n"
	      "first '--' ends them (it is not passed on).  As in uhyve, the guest words before\n"
	      "a further '--' go to the kernel's command line (-ip, -gateway, -mask, -freq,\n"
	      "env=NAME=VALUE), the words after it to the application:\n"
	      "  uhyve-sec KERNEL -- -ip 10.0.5.3 -- APP-ARGS...\n"
	      "  uhyve-sec KERNEL -- -- APP-ARGS...\n"
	      "The guest's stdin is uhyve-sec's stdin.\n"
	      "\n"
	      "Options (uhyve's names):\n"
	      "  -m, --memory-size SIZE  guest RAM, e.g. 64M, 512MiB, 4GiB, 1.5G: K, M, G are\n"
	      "                          binary (default 64M; 16M to 64G, a multiple of 2M;\n"
	      "                          interface v1 kernels: below 3G)\n"
	      "  -c, --cpu-count N       number of vCPUs, 1-256 (default 1)\n"
	      "  -e, --env-vars NAME=VALUE\n"
	      "                          set a guest environment variable (repeatable; --env\n"
	      "                          is the same); '-e host' passes uhyve-sec's whole\n"
	      "                          environment instead (with a warning)\n"
	      "  -a, --affinity CPUS     pin vCPU i to the i-th host CPU of a list such as\n"
	      "                          0-1,2 or \"0 1 2\" (cycled); the file broker runs on\n"
	      "                          the first one\n"
	      "  -o, --output DEST       guest output (kernel log and console): 'stdout' (the\n"
	      "                          default, also '-'), 'none', or a file that is created\n"
	      "                          and must not exist yet\n"
	      "      --stats             print VM-exit and hypercall counts and guest time to\n"
	      "                          stderr when the VM stops\n"
	      "  -n, --net tap[:NAME]|fd:N\n"
	      "                          a virtio-net NIC on the existing, free TAP device\n"
	      "                          NAME (default tap10) or the inherited TAP fd N; set\n"
	      "                          the guest up with -e HERMIT_IP=.. HERMIT_GATEWAY=..\n"
	      "                          HERMIT_MASK=.. (Hermit 0.13.2 or newer)\n"
	      "  -s, --gdb-port[=PORT]   wait for gdb on 127.0.0.1 and ::1, TCP port PORT\n"
	      "                          (default 6677; 0: any free port, printed) before the\n"
	      "                          guest's first instruction (README \"DEBUGGING\")\n"
	      "      --no-aslr           load relocatable kernels at the lowest address\n"
	      "      --file-mapping HOST:GUEST[:ro|:rw]\n"
	      "                          map host directory HOST at guest path GUEST (default\n"
	      "                          rw: read, write, create, delete, mkdir); repeatable;\n"
	      "                          --mount is the same\n"
	      "      --tempdir DIR       files the guest creates outside every mapping go to a\n"
	      "                          private scratch directory in DIR, removed at the end\n"
	      "                          (without it such a create is refused)\n"
	      "      --io-mode MODE      default, host=direct, host=sync or host=direct,sync:\n"
	      "                          O_DIRECT / O_SYNC on the host files the guest opens\n"
	      "      --file-isolation none|normal|strict\n"
	      "                          accepted; every value means uhyve-sec's strict sandbox\n"
	      "                          (it is never weaker than asked)\n"
	      "      --hermit-image-mode external|internal\n"
	      "                          for Hermit images (an ELF kernel ignores it)\n"
	      "      --thp               advise transparent huge pages for guest RAM\n"
	      "      --ksm               let the host merge identical guest pages (KSM; needs\n"
	      "                          --assist=off)\n"
	      "      --pit               give the guest an i8254 PIT (in-kernel irqchip)\n"
	      "      --cpu-pm            the guest's HLT, PAUSE, MWAIT and C-states keep its\n"
	      "                          host CPU (no exits)\n"
	      "      --config FILE       read uhyve.toml settings from FILE (default:\n"
	      "                          $HERMIT_CONFIG, ./uhyve.toml, then\n"
	      "                          $XDG_CONFIG_HOME/uhyve/uhyve.toml); the command line\n"
	      "                          and HERMIT_* win over the file\n",
	      f);
}

static void usage_own(FILE *f)
{
	fputs("\n"
	      "uhyve-sec's own options:\n"
	      "  -v, --verbose           accepted for old command lines; does nothing (the\n"
	      "                          kernel log always goes to the output, as in uhyve)\n"
	      "      --policy FILE       JSON file policy: mounts, rights, limits, scratch\n"
	      "      --check-policy FILE validate FILE (and any --mount), print the effective\n"
	      "                          mapping and exit (78 when invalid)\n"
	      "      --audit-log FILE    append the JSON audit log to FILE (default stderr)\n"
	      "      --audit=deny|all    log denials only (default) or every file operation\n"
	      "      --assist=auto|exits|jit|off\n"
	      "                          the instruction assist (where the build has it: see\n"
	      "                          --version); auto, the default: where KVM emulates\n"
	      "                          guest code (no VMX/SVM), guest code runs in its JIT\n"
	      "                          (an AP once vCPU 0 first waits: HLT, a spin loop);\n"
	      "                          exits: it only completes instructions KVM cannot\n"
	      "                          emulate; jit: JIT with --pit too (experimental); off:\n"
	      "                          such an instruction ends the run (81)\n"
	      "      --argv0 NAME        the guest's argv[0] (default: KERNEL as given)\n"
	      "      --status-fd N       when the run ends, write one end record to the open\n"
	      "                          fd N: 'uhyve-sec-end 1 guest CODE', 'uhyve-sec-end 1\n"
	      "                          error STATUS KIND MESSAGE' or 'uhyve-sec-end 1 done 0'\n"
	      "      --sandbox=strict|off\n"
	      "                          strict (default): seccomp, Landlock, no capabilities,\n"
	      "                          no_new_privs and namespaces for the VMM and the file\n"
	      "                          broker; the run stops if the kernel lacks one of them.\n"
	      "                          off: no confinement at all, for debugging only\n"
	      "      --print-sandbox     print the confinement of both processes (syscall\n"
	      "                          allowlists with reasons, Landlock rules) and exit\n"
	      "      --gdb-socket PATH   as -s, on a new Unix socket PATH (mode 0600)\n"
	      "  -h, --help              show this help and exit\n"
	      "  -V, --version           show the version and exit\n"
	      "\n"
	      "Environment: HERMIT_MEMORY_SIZE (or HERMIT_MEM) and HERMIT_CPU_COUNT (or\n"
	      "HERMIT_CPUS) set what -m and -c do not, HERMIT_GDB_PORT what -s does not;\n"
	      "HERMIT_CONFIG names uhyve.toml; HERMIT_VERBOSE is accepted (a boolean) and does\n"
	      "nothing, like -v.\n"
	      "\n"
	      "Exit status: the guest's exit code (0-255), or: 64 usage error, 65 kernel image\n"
	      "rejected, 66 kernel unreadable, 68 --net failed (TAP missing, busy or unusable,\n"
	      "kernel older than 0.13.2), 69 KVM unavailable, 70 internal error, 71 host\n"
	      "resource error, 73 output file not creatable, 74 file broker failed, 75 sandbox\n"
	      "not available, 76 guest protocol violation, 78 invalid policy, mount or\n"
	      "uhyve.toml, 80 guest triple fault, 81 KVM internal error, 82 KVM entry failure,\n"
	      "83 guest panic, 128+N stopped by signal N (130 SIGINT, 143 SIGTERM; 137: killed\n"
	      "from gdb).\n",
	      f);
}

void cli_usage(FILE *f)
{
	usage_uhyve(f);
	usage_own(f);
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

/* Makes room for one more pointer in an owned array of n (at most max; 0 = no limit). */
static void *grow(void *arr, int n, int max, const char *what)
{
	void *grown;

	if (max > 0 && n >= max) {
		uhs_msg("too many %s (at most %d)", what, max);
		return NULL;
	}
	grown = realloc(arr, sizeof(char *) * ((size_t)n + 1));
	if (grown == NULL) {
		uhs_msg("out of memory");
	}
	return grown;
}

static int add_env(struct launch_config *lc, const char *kv)
{
	const char **a;

	if (lc_check_env(kv, "--env") != 0 ||
	    (a = grow(lc->cli_env, lc->ncli_env, 0, "--env values")) == NULL) {
		return -1;
	}
	a[lc->ncli_env++] = kv;
	lc->cli_env = a;
	return 0;
}

static int add_mount(struct launch_config *lc, const char *spec)
{
	const char **a = grow(lc->mount_specs, lc->nmount_specs, 64, "--mount options");

	if (a == NULL) {
		return -1;
	}
	a[lc->nmount_specs++] = spec;
	lc->mount_specs = a;
	return 0;
}

/* The first positional word is KERNEL, the others are the guest's. */
static int add_positional(struct launch_config *lc, char *word)
{
	if (lc->vm.kernel_path == NULL) {
		lc->vm.kernel_path = word;
		return 0;
	}
	char **a = grow(lc->args, lc->nargs, 0, "guest arguments");

	if (a == NULL) {
		return -1;
	}
	a[lc->nargs++] = word;
	lc->args = a;
	return 0;
}

enum {
	OPT_STATS = 256,
	OPT_CONFIG,
	OPT_TEMPDIR,
	OPT_IMAGE_MODE,
	OPT_ISOLATION,
	OPT_IO_MODE,
	OPT_THP,
	OPT_KSM,
	OPT_PIT,
	OPT_CPU_PM,
	OPT_NO_ASLR,
	OPT_MOUNT,
	OPT_POLICY,
	OPT_CHECK_POLICY,
	OPT_AUDIT_LOG,
	OPT_AUDIT,
	OPT_ASSIST,
	OPT_SANDBOX,
	OPT_PRINT_SANDBOX,
	OPT_ARGV0,
	OPT_STATUS_FD,
	OPT_GDB_SOCKET
};

/* uhyve's names (src/bin/uhyve.rs: clap's kebab-case of its fields) and uhyve-sec's own. */
static const struct option long_opts[] = {
    {"memory-size", required_argument, NULL, 'm'},
    {"cpu-count", required_argument, NULL, 'c'},
    {"env-vars", required_argument, NULL, 'e'},
    {"env", required_argument, NULL, 'e'},
    {"affinity", required_argument, NULL, 'a'},
    {"net", required_argument, NULL, 'n'},
    {"gdb-port", optional_argument, NULL, 's'},
    {"gdb-socket", required_argument, NULL, OPT_GDB_SOCKET},
    {"output", required_argument, NULL, 'o'},
    {"verbose", no_argument, NULL, 'v'},
    {"stats", no_argument, NULL, OPT_STATS},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"tempdir", required_argument, NULL, OPT_TEMPDIR},
    {"hermit-image-mode", required_argument, NULL, OPT_IMAGE_MODE},
    {"file-isolation", required_argument, NULL, OPT_ISOLATION},
    {"io-mode", required_argument, NULL, OPT_IO_MODE},
    {"thp", no_argument, NULL, OPT_THP},
    {"ksm", no_argument, NULL, OPT_KSM},
    {"pit", no_argument, NULL, OPT_PIT},
    {"cpu-pm", no_argument, NULL, OPT_CPU_PM},
    {"no-aslr", no_argument, NULL, OPT_NO_ASLR},
    {"mount", required_argument, NULL, OPT_MOUNT},
    {"file-mapping", required_argument, NULL, OPT_MOUNT},
    {"policy", required_argument, NULL, OPT_POLICY},
    {"check-policy", required_argument, NULL, OPT_CHECK_POLICY},
    {"audit-log", required_argument, NULL, OPT_AUDIT_LOG},
    {"audit", required_argument, NULL, OPT_AUDIT},
    {"assist", required_argument, NULL, OPT_ASSIST},
    {"sandbox", required_argument, NULL, OPT_SANDBOX},
    {"print-sandbox", no_argument, NULL, OPT_PRINT_SANDBOX},
    {"argv0", required_argument, NULL, OPT_ARGV0},
    {"status-fd", required_argument, NULL, OPT_STATUS_FD},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static int choice(const char *arg, const char *what, const char *a, const char *b, bool *is_a)
{
	if (strcmp(arg, a) != 0 && strcmp(arg, b) != 0) {
		uhs_msg("invalid %s '%s': expected '%s' or '%s'", what, arg, a, b);
		return -1;
	}
	*is_a = strcmp(arg, a) == 0;
	return 0;
}

/* One of uhyve's values through config/'s parser: 0, or -1 after "invalid OPT 'v': why". */
static int value(int rc, const char *opt, const char *arg, const char *why)
{
	if (rc != 0) {
		uhs_msg("invalid %s '%s': %s", opt, arg, why);
	}
	return rc;
}

static int set_flag(struct launch_config *lc, bool *b, unsigned bit)
{
	lc->given |= bit;
	*b = true;
	return 0;
}

/* uhyve's options that set a layered setting but are not about memory or vCPUs. */
static int parse_uhyve(struct launch_config *lc, int opt, const char *arg)
{
	struct vmm_config *cfg = &lc->vm;
	char why[200];

	switch (opt) {
	case OPT_TEMPDIR:
		lc->given |= G_TEMPDIR;
		lc->tempdir_scratch = true;
		free(lc->tempdir);
		lc->tempdir = strdup(arg);
		return lc->tempdir != NULL ? 0 : value(-1, "--tempdir", arg, "out of memory");
	case OPT_IMAGE_MODE:
		lc->given |= G_IMAGE_MODE;
		return value(uhc_parse_image_mode(arg, &lc->image_mode, why, sizeof why),
			     "--hermit-image-mode", arg, why);
	case OPT_ISOLATION:
		lc->given |= G_ISOLATION;
		return value(uhc_parse_isolation(arg, &lc->isolation, why, sizeof why),
			     "--file-isolation", arg, why);
	case OPT_IO_MODE:
		lc->given |= G_IO_MODE;
		return value(uhc_parse_io_mode(arg, &lc->io_mode, why, sizeof why), "--io-mode",
			     arg, why);
	case OPT_THP:
		return set_flag(lc, &cfg->thp, G_THP);
	case OPT_KSM:
		return set_flag(lc, &cfg->ksm, G_KSM);
	case OPT_PIT:
		return set_flag(lc, &cfg->pit, G_PIT);
	case OPT_CPU_PM:
		return set_flag(lc, &cfg->cpu_pm, G_CPU_PM);
	default:
		return 2; /* not one of these */
	}
}

/* Options that set one of the layered settings (enum lc_given). */
static int parse_layered(struct launch_config *lc, int opt, const char *arg)
{
	struct vmm_config *cfg = &lc->vm;

	switch (opt) {
	case 'm':
		lc->given |= G_MEM;
		return lc_set_mem(cfg, arg, "--memory-size");
	case 'c':
		lc->given |= G_CPUS;
		return lc_set_cpus(cfg, arg, "--cpu-count");
	case 'a':
		lc->given |= G_AFFINITY;
		return lc_set_affinity(cfg, arg, "--affinity");
	case 'o':
		lc->given |= G_OUTPUT;
		cfg->output = arg;
		return 0;
	case OPT_STATS:
		lc->given |= G_STATS;
		cfg->stats = true;
		return 0;
	case OPT_NO_ASLR:
		lc->given |= G_NO_ASLR;
		cfg->aslr = false;
		return 0;
	default:
		return parse_uhyve(lc, opt, arg);
	}
}

static int parse_files(struct launch_config *lc, int opt, const char *arg)
{
	switch (opt) {
	case OPT_MOUNT:
		return add_mount(lc, arg);
	case OPT_CONFIG:
		lc->config_file = arg;
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
	case OPT_AUDIT: {
		bool deny = true;
		int rc = choice(arg, "--audit", "deny", "all", &deny);
		lc->audit_all = !deny;
		return rc;
	}
	default:
		return 2;
	}
}

/* --assist=auto|exits|jit|off (docs/assist.md) */
static int set_assist(struct vmm_config *cfg, const char *arg)
{
	if (strcmp(arg, "auto") != 0 && strcmp(arg, "exits") != 0 && strcmp(arg, "jit") != 0 &&
	    strcmp(arg, "off") != 0) {
		uhs_msg("invalid --assist '%s': expected 'auto', 'exits', 'jit' or 'off'", arg);
		return -1;
	}
	cfg->assist = strcmp(arg, "off") != 0;
	cfg->assist_jit_pit = strcmp(arg, "jit") == 0;
	cfg->assist_jit = strcmp(arg, "auto") == 0 || cfg->assist_jit_pit;
	return 0;
}

static int parse_opt(struct launch_config *lc, int opt, const char *arg)
{
	struct vmm_config *cfg = &lc->vm;
	int rc;

	if ((rc = parse_layered(lc, opt, arg)) != 2 || (rc = parse_files(lc, opt, arg)) != 2) {
		return rc;
	}
	switch (opt) {
	case 'e':
		return add_env(lc, arg);
	case 'n':
		lc->has_net = true;
		return net_parse_spec(arg, &lc->net);
	case OPT_GDB_SOCKET:
		lc->gdb_socket = arg;
		return 0;
	case 'v':
		lc->verbose = true;
		return 0;
	case OPT_SANDBOX:
		return choice(arg, "--sandbox", "strict", "off", &cfg->sandbox);
	case OPT_PRINT_SANDBOX:
		lc->print_sandbox = true;
		return 0;
	case OPT_ARGV0:
		cfg->argv0 = arg;
		return 0;
	case OPT_STATUS_FD:
		return set_status_fd(lc, arg);
	case OPT_ASSIST:
		return set_assist(cfg, arg);
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

/* -s/--gdb-port[=PORT]: uhyve also takes "-s PORT"; a separate word is the port when it is a
 * number and a KERNEL word still follows it. */
static int set_gdb_port(struct launch_config *lc, const char *arg, int argc, char *const argv[])
{
	const char *w = optind < argc - 1 ? argv[optind] : NULL;

	if (arg == NULL && w != NULL && w[0] != '\0' && strspn(w, "0123456789") == strlen(w)) {
		arg = w;
		optind++;
	}
	if (arg == NULL) {
		lc->gdb_port = GDB_DEFAULT_PORT;
		return 0;
	}
	return gdb_parse_port(arg, "--gdb-port", &lc->gdb_port);
}

/* "-m=64M": clap reads a short option's attached value after an '=' as the value. */
static const char *short_value(char *const argv[], int optind_now, const char *arg)
{
	const char *word = argv[optind_now - 1];

	if (arg != NULL && arg[0] == '=' && word[0] == '-' && word[1] != '-' && arg == word + 2) {
		return arg + 1;
	}
	return arg;
}

static void unknown_option(const struct launch_config *lc, int opt, const char *word)
{
	if (opt == ':') {
		uhs_msg("missing value for option '%s' (try 'uhyve-sec --help')", word);
	} else if (lc->vm.kernel_path != NULL) {
		uhs_msg("unknown option '%s' (guest arguments that start with '-' go after '--': "
			"uhyve-sec [OPTIONS] KERNEL -- ARGS...; try 'uhyve-sec --help')",
			word);
	} else {
		uhs_msg("unknown option '%s' (try 'uhyve-sec --help')", word);
	}
}

/* The command line as clap reads uhyve's: options anywhere up to the first '--' (which is
 * consumed), the first other word is KERNEL and the rest belongs to the guest. */
static int parse_argv(int argc, char *const argv[], struct launch_config *lc)
{
	int opt, rc;

	optind = 1;
	opterr = 0;
	/* '-': words that are not options come back in order as opt 1 (KERNEL, then guest
	 * words); ':': a missing value is reported as ':', so we word the error ourselves. */
	while ((opt = getopt_long(argc, argv, "-:m:c:e:a:o:n:vhVs::", long_opts, NULL)) != -1) {
		if (opt == 1) {
			rc = add_positional(lc, optarg);
		} else if (opt == '?' || opt == ':') {
			unknown_option(lc, opt, argv[optind - 1]);
			rc = -1;
		} else if (opt == 's') {
			rc = set_gdb_port(lc, short_value(argv, optind, optarg), argc, argv);
		} else {
			rc = parse_opt(lc, opt, short_value(argv, optind, optarg));
		}
		if (rc != 0) {
			return rc;
		}
	}
	for (; optind < argc; optind++) {
		if (add_positional(lc, argv[optind]) != 0) {
			return -1;
		}
	}
	return 0;
}

/* -e host: the guest gets this process's whole environment, and nothing else (uhyve). */
static int host_env(struct launch_config *lc, char *const envp[])
{
	int n = 0;

	for (; envp != NULL && *envp != NULL; envp++) {
		if (strchr(*envp, '=') != NULL && **envp != '=') {
			if (lc_env_put(&lc->vm, *envp) != 0) {
				return -1;
			}
			n++;
		}
	}
	uhs_msg("warning: -e host passes all %d variables of uhyve-sec's environment into the "
		"guest%s",
		n,
		lc->ncli_env > 1 || lc->nfile_env > 0 || lc->nimage_env > 0
		    ? "; the other -e values, uhyve.toml's and the image's env_vars are discarded"
		    : "");
	return 0;
}

/* The guest environment: a Hermit image's env_vars, uhyve.toml's over them, then -e over both
 * (a repeated NAME: the last one wins, so the command line beats the file and the file the
 * image); or, with -e host, the host's alone. */
static int build_env(struct launch_config *lc, char *const envp[])
{
	for (int i = 0; i < lc->ncli_env; i++) {
		if (strcmp(lc->cli_env[i], "host") == 0) {
			return host_env(lc, envp);
		}
	}
	for (size_t i = 0; i < lc->nimage_env; i++) {
		if (lc_env_put(&lc->vm, lc->image_env[i]) != 0) {
			return -1;
		}
	}
	for (size_t i = 0; i < lc->nfile_env; i++) {
		if (lc_env_put(&lc->vm, lc->file_env[i]) != 0) {
			return -1;
		}
	}
	for (int i = 0; i < lc->ncli_env; i++) {
		if (lc_env_put(&lc->vm, lc->cli_env[i]) != 0) {
			return -1;
		}
	}
	return 0;
}

int cli_parse(int argc, char *const argv[], char *const envp[], struct launch_config *lc)
{
	struct vmm_config *cfg = &lc->vm;
	int rc;

	memset(lc, 0, sizeof *lc);
	cfg->mem_size = CFG_DEFAULT_MEM;
	cfg->cpus = 1;
	cfg->aslr = true;
	cfg->assist = true;
	cfg->assist_jit = true;
	cfg->sandbox = true;
	lc->status_fd = -1;
	lc->gdb_port = -1;
	cfg->gdb_fd = -1;
	lc->net.fd = -1;
	lc->isolation = UHC_ISOLATION_NORMAL;
	if ((rc = parse_argv(argc, argv, lc)) != 0 || (rc = cli_env_apply(lc, envp)) != 0) {
		return rc;
	}
	if (cfg->kernel_path == NULL && (lc->check_policy != NULL || lc->print_sandbox)) {
		return 0; /* --check-policy and --print-sandbox need no kernel */
	}
	if (cfg->kernel_path == NULL) {
		uhs_msg("missing KERNEL argument (try 'uhyve-sec --help')");
		return -1;
	}
	return 0;
}

int cli_finish(struct launch_config *lc, char *const envp[])
{
	struct vmm_config *cfg = &lc->vm;

	if (lc->owned_output != NULL) {
		cfg->output = lc->owned_output;
	}
	if (cfg->argv0 == NULL) {
		cfg->argv0 = cfg->kernel_path;
	}
	cfg->args = lc->args;
	cfg->nargs = lc->nargs;
	return build_env(lc, envp);
}

void cli_free(struct launch_config *lc)
{
	struct vmm_config *cfg = &lc->vm;

	for (int i = 0; i < cfg->nenv; i++) {
		free(cfg->env[i]);
	}
	for (size_t i = 0; i < lc->nfile_env; i++) {
		free(lc->file_env[i]);
	}
	free(cfg->env);
	free(lc->file_env);
	free(lc->cli_env);
	free(lc->args);
	free(lc->mount_specs);
	free(lc->owned_output);
	free(lc->tempdir);
	cfg->env = NULL;
	cfg->nenv = 0;
	lc->file_env = NULL;
	lc->nfile_env = 0;
	lc->cli_env = NULL;
	lc->args = NULL;
	lc->mount_specs = NULL;
	lc->owned_output = lc->tempdir = NULL;
	lc->ncli_env = lc->nargs = lc->nmount_specs = 0;
}
