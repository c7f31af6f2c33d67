/* SPDX-License-Identifier: MIT */
/* uhs_slice.h - a short scheduler slice for latency-bound threads (JIT mode, docs/assist.md).
 * A vCPU thread and its assist worker hand each burst to each other, two wake-ups per round
 * trip; under the EEVDF scheduler (Linux 6.6+) a task that asks for a short slice (sched_attr
 * sched_runtime, honoured for SCHED_OTHER since Linux 6.12) gets an earlier deadline and so
 * runs right away when it wakes, instead of after a busy task's slice.  It neither raises
 * the priority nor needs a capability; threads created afterwards inherit it.  Best effort:
 * older kernels ignore or refuse it and nothing else changes.  Trusts nothing. */
#ifndef UHS_SLICE_H
#define UHS_SLICE_H

#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#define UHS_SLICE_NS 100000u /* 0.1 ms: the shortest slice the kernel accepts */

static inline void uhs_short_slice(void)
{
	struct {
		uint32_t size, policy;
		uint64_t flags;
		int32_t nice;
		uint32_t priority;
		uint64_t runtime, deadline, period;
	} a = {.size = sizeof a, .policy = SCHED_OTHER, .runtime = UHS_SLICE_NS};

	(void)syscall(SYS_sched_setattr, 0, &a, 0);
}

#endif
