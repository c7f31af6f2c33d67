/* SPDX-License-Identifier: MIT */
/* atomics (v1): every vCPU runs ROUNDS rounds of the locked instructions a kernel uses -
 * LOCK XADD (a counter), LOCK CMPXCHG (a compare-and-swap loop), XCHG (a spinlock guarding a
 * plain counter) and a ticket lock (LOCK XADD for the ticket, a plain load for the turn)
 * guarding another plain counter - then vCPU 0 waits for all of them and prints the four
 * counters, which must each be ROUNDS * vCPUs: "xadd N cas N xchg N ticket N\n".  With
 * several vCPUs in JIT mode (docs/assist.md) the locked instructions run as host atomics in
 * the assist, or in KVM; a lost update shows as a smaller count. */
#include "rt.h"

#define ROUNDS 30000

static volatile uint64_t xadd_count, cas_count, xchg_count, ticket_count;
static volatile uint32_t xchg_lock, next_ticket, now_serving, done;

static void cas_add(void)
{
	uint64_t old = __atomic_load_n(&cas_count, __ATOMIC_RELAXED);

	while (!__atomic_compare_exchange_n(&cas_count, &old, old + 1, 0, __ATOMIC_SEQ_CST,
					    __ATOMIC_RELAXED)) {
	}
}

static void xchg_add(void)
{
	while (__atomic_exchange_n(&xchg_lock, 1u, __ATOMIC_ACQUIRE) != 0) {
		rt_pause();
	}
	xchg_count = xchg_count + 1; /* plain: only the lock keeps it exact */
	__atomic_store_n(&xchg_lock, 0u, __ATOMIC_RELEASE);
}

static void ticket_add(void)
{
	uint32_t me = __atomic_fetch_add(&next_ticket, 1u, __ATOMIC_RELAXED);

	while (__atomic_load_n(&now_serving, __ATOMIC_ACQUIRE) != me) {
		rt_pause();
	}
	ticket_count = ticket_count + 1;
	__atomic_store_n(&now_serving, me + 1, __ATOMIC_RELEASE);
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	for (unsigned i = 0; i < ROUNDS; i++) {
		__atomic_fetch_add(&xadd_count, 1, __ATOMIC_SEQ_CST);
		cas_add();
		xchg_add();
		ticket_add();
	}
	__atomic_fetch_add(&done, 1u, __ATOMIC_SEQ_CST);
	if (cpu != 0) {
		return 0;
	}
	while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) != bi->num_cpus) {
		rt_pause();
	}
	rt_printf("xadd %lu cas %lu xchg %lu ticket %lu\n", (unsigned long)xadd_count,
		  (unsigned long)cas_count, (unsigned long)xchg_count, (unsigned long)ticket_count);
	return 0;
}
