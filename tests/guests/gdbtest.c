/* SPDX-License-Identifier: MIT */
/* gdbtest (v1): the guest the debugger tests (tests/gdb) drive.  Built with -g -O0 as
 * gdbtest-dbg (PIE), gdbtest-exec-dbg (ET_EXEC at 0x800000) and gdbtest-v2-dbg (interface v2,
 * loaded at 4 GiB or above), so gdb finds every function, line and variable.
 *
 * vCPU 0: waits until every other vCPU spins in spin_until_released(), computes
 * add(40, 2) = 42, stores it in `counter` (2 before: a watchpoint sees 2 -> 42), enables SSE
 * and runs scale_cents(), whose double arithmetic KVM's emulator rejects on kvm_pvm (the
 * instruction assist runs it: breakpoints and steps must hold there too), releases the other
 * vCPUs and prints
 *
 *   sum=42
 *   scaled=675
 *
 * then exits with argv[1] (a signed decimal; 0 without one).  Other vCPUs return (park) once
 * released.  Line numbers of add(), scale_cents() and the marked lines are part of the tests'
 * expected output: keep them. */
#include "rt.h"

volatile int counter = 2;
static volatile unsigned waiting;
static volatile int released;

__attribute__((noinline)) int add(int a, int b)
{
	int sum = a + b;
	return sum;
}

__attribute__((noinline)) static void spin_until_released(unsigned cpu)
{
	(void)cpu; /* shown in the frame: spin_until_released (cpu=1) */
	__atomic_fetch_add(&waiting, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&released, __ATOMIC_ACQUIRE)) {
		__asm__ volatile("pause" ::: "memory");
	}
}

#pragma GCC push_options
#pragma GCC target("sse2")
double scaled;

/* v * 1.5^n in double precision, in hundredths (675 for 2, 3). */
__attribute__((noinline)) int scale_cents(int v, int n)
{
	double r = v;
	for (int i = 0; i < n; i++) {
		r = r * 1.5;
	}
	scaled = r;
	return (int)(r * 100.0);
}
#pragma GCC pop_options

/* CR0.MP without EM and TS, CR4.OSFXSR and OSXMMEXCPT: SSE instructions may run. */
static void enable_sse(void)
{
	uint64_t cr0 = (rt_read_cr0() & ~0xcull) | 0x2, cr4 = rt_read_cr4() | 0x600;

	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	int64_t code = 0;
	int x, cents;

	if (cpu != 0) {
		spin_until_released(cpu);
		return 0;
	}
	while (__atomic_load_n(&waiting, __ATOMIC_ACQUIRE) + 1 < bi->num_cpus) {
		__asm__ volatile("pause" ::: "memory");
	}
	x = add(40, 2);
	counter = x;
	enable_sse();
	cents = scale_cents(2, 3);
	__atomic_store_n(&released, 1, __ATOMIC_RELEASE);
	rt_printf("sum=%d\n", x);
	rt_printf("scaled=%d\n", cents);
	if (rt_args_init() == 0 && rt_argc >= 2 && rt_parse_long(rt_argv[1], &code) != 0) {
		code = 125;
	}
	return (int)code;
}
