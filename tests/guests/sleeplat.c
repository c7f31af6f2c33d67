/* SPDX-License-Identifier: MIT */
/* sleeplat (v1): timer-interrupt latency as a Hermit sleep sees it.  vCPU 0 enables its
 * x2APIC with the TSC-deadline timer (as Hermit does, hermit-abi.md b.7), then N times: arms
 * the timer MS milliseconds ahead, waits in `sti; hlt` until the timer interrupt has run, and
 * records by how much the wake-up (RDTSC after the handler) overshot the deadline.  Prints
 *   sleeps N x MS ms: overshoot min A us, median B us, p99 C us, max D us
 *   early 0
 * ("early" counts wake-ups before the deadline: a correct VMM has none) and exits 0.
 * Arguments: [N [MS]] (default 200 x 100 ms; N at most 1000, MS 1 to 1000).  Trusts nothing
 * of the host; a failure to set up prints "sleeplat: ..." on fd 2 and exits 1. */
#include "rt.h"

#define MAX_SLEEPS	1000
#define MSR_APIC_BASE	0x1b
#define MSR_X2APIC_SVR	0x80f
#define MSR_X2APIC_LVTT 0x832
#define MSR_TSC_DL	0x6e0
#define TIMER_VEC	0x20
#define SPURIOUS_VEC	0xff

struct gate {
	uint16_t off0, sel;
	uint8_t ist, type;
	uint16_t off1;
	uint32_t off2, rsv;
} __attribute__((packed));

static struct gate idt[256] __attribute__((aligned(16)));
static int64_t over[MAX_SLEEPS];
volatile uint32_t sl_fired;
extern const char sl_timer_isr[], sl_spurious_isr[];

/* The timer handler: note it, EOI (x2APIC EOI MSR), return.  No other state is touched. */
__asm__(".text\n"
	"sl_timer_isr:\n"
	"pushq %rax\npushq %rcx\npushq %rdx\n"
	"movl $1, sl_fired(%rip)\n"
	"movl $0x80b, %ecx\nxorl %eax, %eax\nxorl %edx, %edx\nwrmsr\n"
	"popq %rdx\npopq %rcx\npopq %rax\n"
	"iretq\n"
	"sl_spurious_isr:\n"
	"iretq\n");

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void set_gate(unsigned v, const char *handler, uint16_t cs)
{
	uint64_t a = (uint64_t)(uintptr_t)handler;

	idt[v] = (struct gate){.off0 = (uint16_t)a,
			       .sel = cs,
			       .type = 0x8e, /* present, DPL 0, 64-bit interrupt gate */
			       .off1 = (uint16_t)(a >> 16),
			       .off2 = (uint32_t)(a >> 32)};
}

static void timer_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) d = {sizeof idt - 1, (uint64_t)(uintptr_t)idt};
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	set_gate(TIMER_VEC, sl_timer_isr, cs);
	set_gate(SPURIOUS_VEC, sl_spurious_isr, cs);
	__asm__ volatile("lidt %0" : : "m"(d));
	wrmsr(MSR_APIC_BASE, rt_rdmsr(MSR_APIC_BASE) | (1u << 11) | (1u << 10)); /* x2APIC */
	wrmsr(MSR_X2APIC_SVR, 0x100 | SPURIOUS_VEC); /* software-enabled */
	wrmsr(MSR_X2APIC_LVTT, (2u << 17) | TIMER_VEC); /* TSC-deadline mode */
}

/* One sleep: the overshoot in TSC ticks (negative: woken early). */
static int64_t sleep_once(uint64_t ticks)
{
	uint64_t dl = rdtsc() + ticks;

	sl_fired = 0;
	wrmsr(MSR_TSC_DL, dl);
	while (__atomic_load_n(&sl_fired, __ATOMIC_ACQUIRE) == 0) {
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
	return (int64_t)(rdtsc() - dl);
}

static void sort(int64_t *a, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		int64_t x = a[i];
		unsigned j = i;
		for (; j > 0 && a[j - 1] > x; j--) {
			a[j] = a[j - 1];
		}
		a[j] = x;
	}
}

static long us(int64_t ticks, uint32_t khz)
{
	return (long)(ticks * 1000 / (int64_t)khz);
}

static int arg(int i, int64_t dflt, int64_t max, int64_t *out)
{
	if (rt_argc <= i) {
		*out = dflt;
		return 0;
	}
	return rt_parse_long(rt_argv[i], out) == 0 && *out >= 1 && *out <= max ? 0 : -1;
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	int64_t n, ms, early = 0;
	uint32_t khz = bi->cpu_freq_khz;

	if (cpu != 0) {
		return 0;
	}
	if (rt_args_init() != 0 || arg(1, 200, MAX_SLEEPS, &n) != 0 ||
	    arg(2, 100, 1000, &ms) != 0 || khz == 0) {
		rt_fdprintf(2, "sleeplat: usage: sleeplat [N (1-1000) [MS (1-1000)]]\n");
		return 1;
	}
	timer_init();
	for (int64_t i = 0; i < n; i++) {
		over[i] = sleep_once((uint64_t)ms * khz);
		early += over[i] < 0;
	}
	sort(over, (unsigned)n);
	rt_printf("sleeps %ld x %ld ms: overshoot min %ld us, median %ld us, p99 %ld us, max %ld "
		  "us\nearly %ld\n",
		  (long)n, (long)ms, us(over[0], khz), us(over[n / 2], khz),
		  us(over[(n * 99 + 99) / 100 - 1], khz), us(over[n - 1], khz), (long)early);
	return 0;
}
