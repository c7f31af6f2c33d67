/* SPDX-License-Identifier: MIT */
/* smp (v1): every vCPU prints "cpu <id> online\n" (under the print spinlock) and increments a
 * shared counter with a locked instruction; vCPU 0 then waits until the counter equals
 * boot_info->num_cpus, prints "all <n> cpus online\n" and exits 0.  The other vCPUs park
 * (cli; hlt).  Line order of the "cpu" lines is unspecified; the "all" line is last.
 * More than RT_MAX_CPUS (64) vCPUs: "smp: too many vCPUs\n" on fd 2, exit 1. */
#include "rt.h"

static volatile uint64_t online;

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	uint64_t n = bi->num_cpus;

	if (cpu == 0 && n > RT_MAX_CPUS) {
		rt_fdprintf(2, "smp: too many vCPUs\n");
		return 1;
	}
	rt_lock(&rt_print_lock);
	rt_printf("cpu %u online\n", cpu);
	rt_unlock(&rt_print_lock);
	__atomic_fetch_add(&online, 1, __ATOMIC_SEQ_CST);
	if (cpu != 0) {
		return 0;
	}
	while (__atomic_load_n(&online, __ATOMIC_ACQUIRE) != n) {
		rt_pause();
	}
	rt_lock(&rt_print_lock);
	rt_printf("all %lu cpus online\n", (unsigned long)n);
	rt_unlock(&rt_print_lock);
	return 0;
}
