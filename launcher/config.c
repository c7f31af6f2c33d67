/* SPDX-License-Identifier: MIT */
/* config.c - uhyve.toml: which file (uhyve's order: --config, HERMIT_CONFIG, ./uhyve.toml,
 * $XDG_CONFIG_HOME/uhyve/uhyve.toml), reading it (config/read.c) and merging it under the
 * command line and the environment: a key fills only a setting neither of them set.
 *
 * Trust: the file is operator input, but read as untrusted bytes (config/ parses and checks
 * every key and refuses what would widen the guest's reach: file mappings, a network, -e
 * host).  What a file can set here never weakens the confinement: file_isolation maps onto
 * the strict sandbox whatever it says, and tempdir only says where a scratch directory goes
 * (only --tempdir on the command line, or a policy, creates one). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher.h"
#include "uhs_msg.h"
#include "uhs_status.h"
#include "uhyve_toml.h"

struct file_ctx {
	const char *path;
	const struct uhyve_config *c;
	struct launch_config *lc;
};

/* "FILE:LINE:COLUMN: table.key", for messages about a value the file set. */
static const char *where(const struct file_ctx *f, const struct uhc_src *src, const char *key,
			 char *buf, size_t cap)
{
	snprintf(buf, cap, "%s:%u:%u: %s", f->path, src->line, src->column, key);
	return buf;
}

/* Whether the file sets a key whose setting (bit) nothing earlier set. */
static bool fills(const struct file_ctx *f, const struct uhc_src *src, unsigned bit)
{
	return src->set && !(f->lc->given & bit);
}

static int own_string(char **dst, const char *s)
{
	free(*dst);
	*dst = strdup(s);
	if (*dst == NULL) {
		uhs_msg("out of memory");
		return -1;
	}
	return 0;
}

/* [uhyve] */
static int apply_uhyve(const struct file_ctx *f)
{
	const struct uhyve_config *c = f->c;
	struct launch_config *lc = f->lc;

	if (c->gdb_port_src.set && lc->gdb_port < 0 && lc->gdb_socket == NULL) {
		lc->gdb_port = c->gdb_port; /* -s, --gdb-socket and HERMIT_GDB_PORT win */
	}
	if (fills(f, &c->output_src, G_OUTPUT) &&
	    own_string(&lc->owned_output, c->output_none ? "none" : c->output) != 0) {
		return -1;
	}
	if (fills(f, &c->stats_src, G_STATS)) {
		lc->vm.stats = c->stats;
	}
	if (fills(f, &c->tempdir_src, G_TEMPDIR) && own_string(&lc->tempdir, c->tempdir) != 0) {
		return -1;
	}
	if (fills(f, &c->hermit_image_mode_src, G_IMAGE_MODE)) {
		lc->image_mode = c->hermit_image_mode;
	}
	if (fills(f, &c->file_isolation_src, G_ISOLATION)) {
		lc->isolation = c->file_isolation;
	}
	if (fills(f, &c->io_mode_src, G_IO_MODE)) {
		lc->io_mode = c->io_mode;
	}
	return 0;
}

/* [memory] and [cpu] */
static int apply_machine(const struct file_ctx *f)
{
	const struct uhyve_config *c = f->c;
	struct vmm_config *vm = &f->lc->vm;
	char w[PATH_MAX + 64];

	if (fills(f, &c->memory_size_src, G_MEM) &&
	    lc_check_mem(vm, c->memory_size,
			 where(f, &c->memory_size_src, "memory.memory_size", w, sizeof w)) != 0) {
		return -1;
	}
	if (fills(f, &c->cpu_count_src, G_CPUS) &&
	    lc_check_cpus(vm, c->cpu_count,
			  where(f, &c->cpu_count_src, "cpu.cpu_count", w, sizeof w)) != 0) {
		return -1;
	}
	if (fills(f, &c->affinity_src, G_AFFINITY) &&
	    lc_check_affinity(vm, c->affinity.cpus, c->affinity.n,
			      where(f, &c->affinity_src, "cpu.affinity", w, sizeof w)) != 0) {
		return -1;
	}
	vm->aslr = fills(f, &c->no_aslr_src, G_NO_ASLR) ? !c->no_aslr : vm->aslr;
	vm->thp = fills(f, &c->thp_src, G_THP) ? c->thp : vm->thp;
	vm->ksm = fills(f, &c->ksm_src, G_KSM) ? c->ksm : vm->ksm;
	vm->cpu_pm = fills(f, &c->cpu_pm_src, G_CPU_PM) ? c->cpu_pm : vm->cpu_pm;
	vm->pit = fills(f, &c->pit_src, G_PIT) ? c->pit : vm->pit;
	return 0;
}

/* [guest] env_vars: kept for cli_finish, which puts -e over them. */
static int apply_guest(const struct file_ctx *f)
{
	const struct uhyve_config *c = f->c;
	struct launch_config *lc = f->lc;

	if (c->n_env_vars == 0) {
		return 0;
	}
	lc->file_env = calloc(c->n_env_vars, sizeof *lc->file_env);
	if (lc->file_env == NULL) {
		uhs_msg("out of memory");
		return -1;
	}
	for (size_t i = 0; i < c->n_env_vars; i++) {
		if ((lc->file_env[i] = strdup(c->env_vars[i])) == NULL) {
			uhs_msg("out of memory");
			return -1;
		}
		lc->nfile_env = i + 1;
	}
	return 0;
}

static int read_and_apply(struct launch_config *lc, const char *path)
{
	struct uhyve_config c;
	struct file_ctx f = {.path = path, .c = &c, .lc = lc};
	char err[600];
	size_t len;
	char *buf;
	int rc;

	if (uhc_read_file(path, 0, &buf, &len, err, sizeof err) != 0) {
		uhs_msg("%s", err);
		return ST_POLICY;
	}
	rc = uhc_parse(path, buf, len, &c, err, sizeof err);
	free(buf);
	if (rc != 0) {
		uhs_msg("%s", err);
		return ST_POLICY;
	}
	rc = apply_uhyve(&f) == 0 && apply_machine(&f) == 0 && apply_guest(&f) == 0 ? 0 : ST_POLICY;
	uhc_free(&c);
	return rc;
}

int config_apply(struct launch_config *lc, char *const envp[])
{
	char path[PATH_MAX], err[PATH_MAX + 100];
	int found = uhc_lookup(lc->config_file, envp, launcher_cwd(), uhc_path_exists, NULL, path,
			       sizeof path, err, sizeof err);

	if (found < 0) {
		uhs_msg("%s", err);
		return ST_POLICY;
	}
	if (found == UHC_FOUND_NONE) {
		return 0;
	}
	return read_and_apply(lc, path);
}
