/* SPDX-License-Identifier: MIT */
/* hc_cmdline.c - uhyve interface v1's Cmdsize and Cmdval hypercalls: the guest's argv and
 * environment, copied into buffers the guest names (hc.c dispatches; the parameter struct is
 * already the VMM's own copy).
 *
 * Threat: the guest chooses the addresses of the pointer arrays and of every buffer; each
 * goes through gmem, and a buffer outside guest RAM ends the VM with a violation.  The
 * strings are the operator's (vm_setup.c has refused more than a v1 kernel takes). */
#include <string.h>

#include "vmm_internal.h"

static const char *arg_str(const struct hc_vm *vm, int i)
{
	return i == 0 ? vm->argv0 : vm->args[i - 1];
}

/* Kernel 0.6.x never NULL-terminates the env array it builds, and reads past its end
 * unless enough entries exist (hermit-abi.md g.1).  We report at least CFG_ENV_PAD_MIN
 * entries, padding with empty strings, which the guest's libstd skips. */
static int env_count(const struct hc_vm *vm)
{
	int n = vm->nenv < CFG_ENV_PAD_MIN ? CFG_ENV_PAD_MIN : vm->nenv;

	return n < UH_MAX_ARGC_ENVC ? n : UH_MAX_ARGC_ENVC; /* vm_setup.c refuses more */
}

static int arg_count(const struct hc_vm *vm)
{
	int n = 1 + vm->nargs;

	return n < UH_MAX_ARGC_ENVC ? n : UH_MAX_ARGC_ENVC; /* vm_setup.c refuses more */
}

static const char *env_str(const struct hc_vm *vm, int i)
{
	return i < vm->nenv ? vm->env[i] : "";
}

enum hc_action hc_v1_cmdsize(struct hc_call *c, struct uh_v1_cmdsize *s)
{
	const struct hc_vm *vm = c->vm;

	memset(s, 0, sizeof *s);
	s->argc = arg_count(vm);
	for (int i = 0; i < s->argc; i++) {
		s->argsz[i] = (int32_t)strlen(arg_str(vm, i)) + 1;
	}
	s->envc = env_count(vm);
	for (int i = 0; i < s->envc; i++) {
		s->envsz[i] = (int32_t)strlen(env_str(vm, i)) + 1;
	}
	return HC_CONTINUE;
}

/* Copies strings into the guest buffers listed in the u64 GPA array at `arr`. */
static enum hc_action fill_strings(struct hc_call *c, const char *what, uint64_t arr, int n,
				   const char *(*get)(const struct hc_vm *, int))
{
	uint64_t ptrs[UH_MAX_ARGC_ENVC];

	if (gmem_copy_from(c->vm->mem, ptrs, gpa(arr), (size_t)n * sizeof ptrs[0]) != 0) {
		return hc_violation(c, "%s array at 0x%llx is not inside guest RAM", what,
				    (unsigned long long)arr);
	}
	for (int i = 0; i < n; i++) {
		const char *s = get(c->vm, i);
		if (gmem_copy_to(c->vm->mem, gpa(ptrs[i]), s, strlen(s) + 1) != 0) {
			return hc_violation(c, "%s[%d] buffer at 0x%llx is not inside guest RAM",
					    what, i, (unsigned long long)ptrs[i]);
		}
	}
	return HC_CONTINUE;
}

enum hc_action hc_v1_cmdval(struct hc_call *c, const struct uh_v1_cmdval *v)
{
	if (fill_strings(c, "argv", v->argv, arg_count(c->vm), arg_str) != HC_CONTINUE) {
		return HC_VIOLATION;
	}
	return fill_strings(c, "envp", v->envp, env_count(c->vm), env_str);
}
