/* SPDX-License-Identifier: MIT */
/* assist_none.c - the build without an instruction assist: every emulation failure ends the
 * VM (status 81, with RIP and the instruction bytes). */
#include "assist.h"

bool assist_available(void)
{
	return false;
}

int assist_init(struct vm *vm)
{
	(void)vm;
	return 0;
}

int assist_set_ram(struct vm *vm)
{
	(void)vm;
	return 0;
}

void assist_fini(struct vm *vm)
{
	(void)vm;
}

bool assist_emulation_failure(struct vcpu *v)
{
	(void)v;
	return false;
}

const unsigned long *assist_vcpu_ioctls(int *n)
{
	*n = 0;
	return NULL;
}

void assist_print_sandbox(FILE *f)
{
	fprintf(f,
		"\nInstruction assist: not in this build (an instruction this KVM cannot emulate "
		"ends the run with status 81)\n");
}

void assist_print_stats(const struct vm *vm)
{
	(void)vm;
}

pid_t assist_pid(const struct vm *vm)
{
	(void)vm;
	return -1;
}

bool assist_jit_ready(struct vcpu *v)
{
	(void)v;
	return false;
}

bool assist_jit_run(struct vcpu *v)
{
	(void)v;
	return false;
}

void assist_jit_await(struct vcpu *v, int ms)
{
	(void)v, (void)ms;
}

bool assist_jit_pending(const struct vm *vm)
{
	(void)vm;
	return false;
}

void assist_jit_tick(struct vm *vm)
{
	(void)vm;
}

void assist_kick(struct vm *vm, unsigned i)
{
	(void)vm, (void)i;
}

void assist_wake_all(struct vm *vm)
{
	(void)vm;
}
