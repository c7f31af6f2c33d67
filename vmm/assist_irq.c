/* SPDX-License-Identifier: MIT */
/* assist_irq.c - JIT mode: when an interrupt is due for a vCPU whose code runs in bursts.
 *
 * The LAPIC is KVM's (x2APIC, TSC-deadline timer; hermit-abi.md b.7) and KVM delivers
 * interrupts only when it runs the vCPU: at the entry of a step with IF set.  While a burst
 * runs, KVM's kick of the vCPU reaches nobody, so the VMM tells the burst when to end:
 *   - the timer: the guest arms it with WRMSR(IA32_TSC_DEADLINE), which a burst completes (the
 *     reply carries the value; the VMM writes it into KVM, KVM_SET_MSRS) or KVM executes in a
 *     step (the VMM then reads the MSR, KVM_GET_MSRS); the VMM hands the deadline, in host TSC
 *     units, to every burst (the assist compares it with RDTSC every CHECK_EVERY
 *     instructions);
 *   - IPIs: after a step that wrote the x2APIC ICR, the VMM rings the doorbell of every other
 *     vCPU (assist_kick): a burst running for one of them ends where IF is 1, one waiting in
 *     HLT wakes; devices of the VMM ring it the same way;
 *   - what KVM holds but could not deliver (IF was 0 at the step, or an EOI may uncover the
 *     next vector): `owed`, handed to the next bursts until a step with IF set.
 * HLT is completed here: the vCPU thread waits (futex on its kick counter) until the deadline,
 * a kick or the end of the VM, then a step lets KVM deliver.  The delay from the moment an
 * interrupt was due to the step that delivered it is the delivery latency of --stats.
 * Nothing here reads what the assist wrote: the doorbells are written by the VMM only. */
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include "assist_vmm.h"

uint64_t jit_rdtsc(void)
{
	return __rdtsc();
}

/* The deadline in host TSC units (0: none). */
static uint64_t deadline_host(const struct assist_cpu *c)
{
	return c->deadline == 0 ? 0 : c->deadline - (uint64_t)c->tsc_offset;
}

bool jit_irq_due(const struct assist_cpu *c, uint64_t tsc)
{
	uint64_t d = deadline_host(c);

	return c->owed || __atomic_load_n(&c->kicks, __ATOMIC_SEQ_CST) != c->handled ||
	       (d != 0 && tsc >= d);
}

void jit_irq_request(const struct vm *vm, const struct vcpu *v, struct assist_cpu *c)
{
	uint32_t k = __atomic_load_n(&c->kicks, __ATOMIC_SEQ_CST);

	(void)vm, (void)v;
	c->req.doorbell = k; /* a kick after this changes the doorbell: the burst sees it */
	c->req.deadline = deadline_host(c);
	if (c->owed || k != c->handled ||
	    (c->req.deadline != 0 && jit_rdtsc() >= c->req.deadline)) {
		c->req.flags |= ASSIST_F_IRQ;
	}
}

bool jit_read_deadline(struct vcpu *v, struct assist_cpu *c)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} m = {.h = {.nmsrs = 1}, .e = {.index = MSR_TSC_DEADLINE}};

	c->st.deadline_reads++;
	if (ioctl(v->fd, KVM_GET_MSRS, &m) != 1) {
		return false;
	}
	c->deadline = m.e.data;
	return true;
}

/* What the bursts need of KVM's LAPIC, in one KVM_GET_MSRS: whether it is in x2APIC mode
 * (ASSIST_F_X2APIC), and then its LVT timer register and whether IRR holds a vector
 * (ASSIST_F_IRR).  KVM reads MSRs in order and stops at the first it refuses: in xAPIC mode the
 * x2APIC ones. */
bool jit_read_lapic(struct vcpu *v, struct assist_cpu *c)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[10];
	} m = {.h = {.nmsrs = 10}, .e = {{.index = MSR_APIC_BASE}, {.index = MSR_X2APIC_LVTT}}};
	int n;

	for (unsigned i = 0; i < 8; i++) {
		m.e[2 + i].index = MSR_X2APIC_IRR + i;
	}
	c->st.lapic_reads++;
	n = ioctl(v->fd, KVM_GET_MSRS, &m);
	if (n < 1) {
		return false;
	}
	c->x2apic = (m.e[0].data & APIC_BASE_X2APIC) != 0;
	if (c->x2apic && n != 10) {
		return false;
	}
	c->lvtt = c->x2apic ? (uint32_t)m.e[1].data : 0;
	c->irr = false;
	for (unsigned i = 0; c->x2apic && i < 8; i++) {
		c->irr |= m.e[2 + i].data != 0;
	}
	c->lapic_valid = true;
	return true;
}

/* Whether an IPI of `icr` may be for the sender itself: to itself or to all (shorthands 1 and
 * 2), a logical destination (not decoded), or a physical one that is its x2APIC ID (the vCPU
 * index, KVM_X2APIC_API_USE_32BIT_IDS) or the broadcast ID. */
static bool icr_self(uint64_t icr, unsigned id)
{
	unsigned shorthand = (unsigned)(icr >> 18) & 3u;
	uint32_t dest = (uint32_t)(icr >> 32);

	if (shorthand != 0) {
		return shorthand != 3;
	}
	return (icr & (1u << 11)) != 0 || dest == id || dest == 0xffffffffu;
}

static void kick_others(struct vcpu *v);

/* The burst's x2APIC and TSC-deadline writes (take_sys), in one KVM_SET_MSRS (KVM writes the
 * entries in order and stops at the first it refuses): each vCPU ioctl costs 6-9 us on this
 * project's hosts, where loading the vCPU reads an MSR that exits to the host's hypervisor
 * (rusty_demo -c 2: 3,760 KVM_SET_MSRS before, one per kind of write).  In this order, as a
 * KVM step of them would have left things:
 *  - EOI (ASSIST_SYS_EOI): KVM may then hold the next vector (owed: delivered at the next step
 *    with IF set) where it held one in IRR;
 *  - ICR (ASSIST_SYS_ICR): every other vCPU may have an IPI (its doorbell), and this one too if
 *    it was among the destinations;
 *  - the LVT timer (ASSIST_SYS_LVTT): the reset value first if the register left TSC-deadline
 *    mode in the burst (that disarmed the timer), then the last value; the armed deadline the
 *    VMM holds survives only where the register stayed in TSC-deadline mode;
 *  - the TSC deadline (ASSIST_SYS_TSC_DEADLINE), written after them: if the old deadline passed
 *    before this write (the burst ran on with IF 0, as in the timer handler that arms the next
 *    one), KVM's timer may have fired and holds the vector (owed).
 * On failure *what names the write KVM refused. */
bool jit_write_sys(struct vcpu *v, struct assist_cpu *c, const struct assist_sys *s,
		   const char **what)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[5];
		const char *what[5];
	} m = {.h = {.nmsrs = 0}};
	bool kept = !(s->flags & ASSIST_SYS_LVTT_RESET) &&
		    (c->lvtt & ASSIST_LVTT_MODE) == ASSIST_LVTT_DEADLINE &&
		    (s->lvtt & ASSIST_LVTT_MODE) == ASSIST_LVTT_DEADLINE;
	uint64_t d = deadline_host(c);
	int n;

#define PUT(msr, value, name)                                                                      \
	(m.what[m.h.nmsrs] = (name),                                                               \
	 m.e[m.h.nmsrs++] = (struct kvm_msr_entry){.index = (msr), .data = (value)})
	if (s->flags & ASSIST_SYS_EOI) {
		PUT(MSR_X2APIC_EOI, 0, "the x2APIC EOI");
		c->st.eoi_writes++;
	}
	if (s->flags & ASSIST_SYS_ICR) {
		PUT(MSR_X2APIC_ICR, s->icr, "the x2APIC ICR");
		c->st.icr_writes++;
	}
	if ((s->flags & ASSIST_SYS_LVTT) && (s->flags & ASSIST_SYS_LVTT_RESET)) {
		PUT(MSR_X2APIC_LVTT, ASSIST_LVTT_RESET_VALUE, "the LVT timer");
	}
	if (s->flags & ASSIST_SYS_LVTT) {
		PUT(MSR_X2APIC_LVTT, s->lvtt, "the LVT timer");
		c->st.lvtt_writes++;
	}
	if (s->flags & ASSIST_SYS_TSC_DEADLINE) {
		PUT(MSR_TSC_DEADLINE, s->tsc_deadline, "the TSC deadline");
		c->st.deadline_writes++;
	}
#undef PUT
	if (m.h.nmsrs == 0) {
		return true;
	}
	c->st.msr_writes++;
	n = ioctl(v->fd, KVM_SET_MSRS, &m);
	if (n != (int)m.h.nmsrs) {
		*what = m.what[n >= 0 && n < (int)m.h.nmsrs ? n : 0];
		return false;
	}
	if (((s->flags & ASSIST_SYS_EOI) && (c->req.flags & ASSIST_F_IRR)) ||
	    ((s->flags & ASSIST_SYS_ICR) && icr_self(s->icr, v->id))) {
		c->owed = true;
	}
	if (s->flags & ASSIST_SYS_LVTT) {
		c->lvtt = s->lvtt;
		if (!kept) {
			c->deadline = 0;
		}
	}
	if (s->flags & ASSIST_SYS_TSC_DEADLINE) {
		/* d: the armed deadline as the LVT timer writes above left it */
		if (d != 0 && c->deadline != 0 && jit_rdtsc() >= d) {
			c->owed = true;
		}
		c->deadline = s->tsc_deadline;
	}
	if (s->flags & ASSIST_SYS_ICR) {
		kick_others(v);
	}
	return true;
}

static void futex_wake(uint32_t *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void assist_kick(struct vm *vm, unsigned i)
{
	struct assist_vm *a = vm->assist;
	struct assist_cpu *c;
	uint64_t zero = 0;
	uint32_t k;

	if (a == NULL || !a->jit || a->ctl == NULL || i >= vm->ncpu ||
	    (c = vm->vcpus[i].assist) == NULL) {
		return;
	}
	__atomic_compare_exchange_n(&c->kick_tsc, &zero, jit_rdtsc(), false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	k = __atomic_add_fetch(&c->kicks, 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&a->ctl->doorbell[i], k, __ATOMIC_RELEASE);
	if (__atomic_load_n(&c->halted, __ATOMIC_SEQ_CST)) {
		futex_wake(&c->kicks);
	}
}

void assist_wake_all(struct vm *vm)
{
	const struct assist_vm *a = vm->assist;

	for (unsigned i = 0; a != NULL && a->jit && i < vm->ncpu; i++) {
		assist_kick(vm, i);
	}
}

void jit_irq_before(struct vcpu *v, struct assist_cpu *c, struct step_ctx *s)
{
	(void)v;
	s->tsc = jit_rdtsc();
	s->kicks = __atomic_load_n(&c->kicks, __ATOMIC_SEQ_CST);
	s->if_on = (c->req.regs.rflags & RFLAGS_IF) != 0;
	s->rcx = c->req.regs.rcx;
}

static void record(struct assist_cpu *c, const struct assist_vm *a, uint64_t ticks)
{
	uint64_t ns = ticks * 1000000ull / a->tsc_khz, us = ns / 1000;
	unsigned b = us < LAT_FINE ? (unsigned)us
		     : us < LAT_FINE + LAT_COARSE * 100ull
			 ? LAT_FINE + (unsigned)((us - LAT_FINE) / 100)
			 : LAT_BUCKETS - 1;

	c->st.lat[b]++;
	c->st.lat_n++;
	c->lat_max = ns > c->lat_max ? ns : c->lat_max;
}

/* The step ran with interrupts deliverable: what was due then has been delivered. */
static void delivered(struct assist_cpu *c, const struct assist_vm *a, const struct step_ctx *s)
{
	uint64_t kt = __atomic_load_n(&c->kick_tsc, __ATOMIC_SEQ_CST);

	if (s->kicks != c->handled && kt != 0 && s->tsc > kt) {
		record(c, a, s->tsc - kt);
	}
	c->handled = s->kicks;
	c->owed = false;
	if (__atomic_load_n(&c->kicks, __ATOMIC_SEQ_CST) == s->kicks) {
		__atomic_compare_exchange_n(&c->kick_tsc, &kt, 0, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_SEQ_CST);
	}
}

/* After a WRMSR to the x2APIC ICR: every other vCPU may have an IPI (kicking all of them is
 * cheaper than decoding the destination, and never misses one). */
static void kick_others(struct vcpu *v)
{
	for (unsigned i = 0; i < v->vm->ncpu; i++) {
		if (i != v->id) {
			assist_kick(v->vm, i);
		}
	}
}

/* After a free run (jit_step_free): the guest may have armed or disarmed the timer, written
 * EOIs and sent IPIs anywhere in it.  The deadline is read again; if it was armed and now
 * reads 0, the timer fired (or was disarmed) and KVM may hold its vector: owed, delivered at
 * the next step with IF set.  Every other vCPU may have an IPI.  Not after a clean run
 * (BLOCKIRQ, ended at the handler): only the faulting instruction ran, and faulted; a timer
 * that fired meanwhile is pending in KVM, and the deadline the VMM holds has passed, so the
 * next burst ends for it. */
static bool after_free_run(struct vcpu *v, struct assist_cpu *c, const struct step_ctx *s)
{
	uint64_t old = c->deadline, d = deadline_host(c);

	if (c->clean) {
		return true; /* BLOCKIRQ, and it ended at the handler: no other guest code ran */
	}
	if (d != 0 && s->tsc >= d && s->if_on) {
		record(c, v->vm->assist, s->tsc - d); /* the timer was due: delivered at entry */
	}
	if (!jit_read_deadline(v, c)) {
		vm_finish(v->vm, ST_KVM_FAIL, "JIT mode on vCPU %u: cannot read the TSC deadline",
			  v->id);
		return false;
	}
	/* the timer fired during the run (not due at its entry, where KVM delivered it) and
	 * interrupts are off now: KVM may hold its vector */
	if (old != 0 && c->deadline == 0 &&
	    (c->free_bp != 0 ||
	     (!(d != 0 && s->tsc >= d && s->if_on) && !(c->req.regs.rflags & RFLAGS_IF)))) {
		c->owed = true; /* with BLOCKIRQ, KVM holds it whatever IF is now */
	}
	kick_others(v);
	return true;
}

bool jit_irq_after(struct vcpu *v, struct assist_cpu *c, const struct step_ctx *s)
{
	const struct assist_vm *a = v->vm->assist;
	uint64_t old = c->deadline, d = deadline_host(c);
	bool due = d != 0 && s->tsc >= d, msr = s->cls == ASSIST_C_SYSTEM;
	uint32_t ecx = (uint32_t)s->rcx;

	if (s->if_on) {
		delivered(c, a, s);
	} else if (s->kicks != c->handled) {
		c->owed = true;
	}
	if (c->free_run) {
		return after_free_run(v, c, s);
	}
	if (msr && (ecx == MSR_X2APIC_EOI || ecx == MSR_X2APIC_SELF)) {
		c->owed = true; /* the next vector, or the IPI to self */
	}
	if (msr && ecx == MSR_X2APIC_ICR) {
		kick_others(v);
	}
	if ((due || (msr && ecx == MSR_TSC_DEADLINE)) && !jit_read_deadline(v, c)) {
		vm_finish(v->vm, ST_KVM_FAIL, "JIT mode on vCPU %u: cannot read the TSC deadline",
			  v->id);
		return false;
	}
	if (due && c->deadline != old) { /* the timer fired */
		if (s->if_on) {
			record(c, a, s->tsc - d);
		} else {
			c->owed = true;
		}
	}
	return true;
}

/* One vCPU: the vCPU thread sleeps until this long before the deadline and spins the rest:
 * a thread woken on a host whose CPUs went idle (here itself a VM) starts 100-500 us late,
 * which a sleep then overshoots by (sleeplat). */
#define HALT_SPIN_NS 200000ull

static void futex_wait(uint32_t *w, uint32_t val, const struct timespec *t)
{
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, t, NULL, 0);
}

void jit_halt(struct vcpu *v, struct assist_cpu *c)
{
	const struct assist_vm *a = v->vm->assist;
	bool if_on = (c->req.regs.rflags & RFLAGS_IF) != 0;
	uint64_t t0 = assist_now_ns();

	c->st.halts++;
	__atomic_store_n(&c->halted, true, __ATOMIC_SEQ_CST);
	while (!atomic_load(&v->vm->stopping)) {
		uint32_t k = __atomic_load_n(&c->kicks, __ATOMIC_SEQ_CST);
		uint64_t now = jit_rdtsc(), d = deadline_host(c), ns;
		struct timespec ts;
		if (if_on && jit_irq_due(c, now)) {
			break;
		}
		if (!if_on || d == 0) {
			futex_wait(&c->kicks, k, NULL); /* IF 0: only the end of the VM */
			continue;
		}
		ns = (d - now) * 1000000ull / a->tsc_khz + 2000; /* KVM's timer fires first */
		if (v->vm->ncpu == 1) {
			if (ns <= HALT_SPIN_NS) {
				__builtin_ia32_pause(); /* the last stretch awake (HALT_SPIN_NS) */
				continue;
			}
			ns -= HALT_SPIN_NS;
		}
		ts = (struct timespec){.tv_sec = (time_t)(ns / 1000000000ull),
				       .tv_nsec = (long)(ns % 1000000000ull)};
		futex_wait(&c->kicks, k, &ts);
	}
	__atomic_store_n(&c->halted, false, __ATOMIC_SEQ_CST);
	c->st.halt_ns += assist_now_ns() - t0;
}

#define JIT_PAUSE_NS 20000

/* Kernel 0.6.9 lets an AP go once the boot vCPU has set CPU_ONLINE, before the boot vCPU
 * registers its own scheduler (add_current_core), and panics if the AP registers first. In
 * KVM both sides run at one speed and the boot vCPU wins (exits mode: 0 of 133 runs); in JIT
 * mode the AP, still in KVM or in its own Unicorn, won against the boot vCPU's cold code in
 * Unicorn's translator in 5 of 40 (docs/assist.md, "Two vCPUs").  The boot vCPU's first wait
 * comes after it registered (synch_all_cores where the kernel has it; in rusty_demo its first
 * sleep), and until an AP is up the kernel counts one processor.  So an AP starts once the
 * boot vCPU has stopped at an HLT or a spin loop, or after AP_HOLD_MS for a guest whose boot
 * vCPU never waits (on hardware an AP's INIT-SIPI start takes milliseconds too). */
/* hello_c's boot vCPU first waits 126-255 ms after the start here; with 200 ms its AP won the
 * race in 3 of 30 runs */
#define AP_HOLD_MS 1000u

void jit_hold_ap(struct vcpu *v, struct assist_cpu *c)
{
	struct assist_vm *a = v->vm->assist;
	uint64_t t0 = assist_now_ns(), now = t0, end = t0 + AP_HOLD_MS * 1000000ull;

	__atomic_store_n(&c->halted, true, __ATOMIC_SEQ_CST); /* assist_kick wakes it */
	while (now < end && !atomic_load(&v->vm->stopping)) {
		uint32_t k = __atomic_load_n(&c->kicks, __ATOMIC_SEQ_CST);
		struct timespec ts = {.tv_sec = (time_t)((end - now) / 1000000000ull),
				      .tv_nsec = (long)((end - now) % 1000000000ull)};
		if (__atomic_load_n(&a->aps_go, __ATOMIC_SEQ_CST) != 0) {
			break;
		}
		futex_wait(&c->kicks, k, &ts);
		now = assist_now_ns();
	}
	__atomic_store_n(&c->halted, false, __ATOMIC_SEQ_CST);
	c->st.ap_hold_ns = assist_now_ns() - t0;
}

void jit_release_aps(struct vcpu *v)
{
	struct assist_vm *a = v->vm->assist;

	if (v->id != 0 || v->vm->ncpu == 1 || __atomic_load_n(&a->aps_go, __ATOMIC_RELAXED) != 0) {
		return;
	}
	__atomic_store_n(&a->aps_go, 1u, __ATOMIC_SEQ_CST);
	for (unsigned i = 1; i < v->vm->ncpu; i++) {
		assist_kick(v->vm, i);
	}
}

void jit_pause(struct vcpu *v, struct assist_cpu *c)
{
	struct timespec ts = {0, JIT_PAUSE_NS};
	uint32_t k = __atomic_load_n(&c->kicks, __ATOMIC_SEQ_CST);

	c->st.pauses++;
	if (jit_irq_due(c, jit_rdtsc()) || atomic_load(&v->vm->stopping)) {
		return;
	}
	__atomic_store_n(&c->halted, true, __ATOMIC_SEQ_CST);
	futex_wait(&c->kicks, k, &ts);
	__atomic_store_n(&c->halted, false, __ATOMIC_SEQ_CST);
}

/* Percentile p (0-100) of the latency histogram, in microseconds (bucket upper bound). */
static double percentile(const struct assist_stats *s, double p)
{
	uint64_t want = (uint64_t)((double)s->lat_n * p / 100.0 + 0.999999), seen = 0;

	for (unsigned b = 0; b < LAT_BUCKETS; b++) {
		seen += s->lat[b];
		if (seen >= want && want > 0) {
			return b < LAT_FINE ? (double)b + 1
					    : (double)LAT_FINE + (double)(b - LAT_FINE + 1) * 100;
		}
	}
	return 0;
}

void jit_print_stats(const struct vm *vm, const struct assist_stats *s)
{
	uint64_t max = 0, kicks = 0;

	if (s->engaged == 0) {
		return;
	}
	for (unsigned i = 0; i < vm->ncpu; i++) {
		const struct assist_cpu *c = vm->vcpus[i].assist;
		if (c != NULL) {
			max = c->lat_max > max ? c->lat_max : max;
			kicks += __atomic_load_n(&c->kicks, __ATOMIC_RELAXED);
		}
	}
	fprintf(stderr,
		"  JIT mode (%llu vCPUs): time in bursts %.3f ms, in KVM %.3f ms (%llu single "
		"steps, %llu of them free runs (faults), %.1f us each, %llu exits on "
		"the way), "
		"waiting in HLT %.3f ms (%llu), spin loops let go %llu, APs held %.3f ms\n",
		(unsigned long long)s->engaged, (double)s->burst_ns / 1e6, (double)s->step_ns / 1e6,
		(unsigned long long)s->steps, (unsigned long long)s->free_steps,
		s->steps ? (double)s->step_ns / 1e3 / (double)s->steps : 0.0,
		(unsigned long long)s->step_exits, (double)s->halt_ns / 1e6,
		(unsigned long long)s->halts, (unsigned long long)s->pauses,
		(double)s->ap_hold_ns / 1e6);
	fprintf(stderr,
		"    port I/O from bursts %llu; locked instructions as host twins %llu; "
		"doorbells %llu; TSC-deadline reads %llu, writes %llu; LAPIC reads %llu; LVT-timer "
		"writes %llu, EOIs %llu, IPIs %llu from bursts (KVM_SET_MSRS %llu); KVM_SET_XSAVE "
		"%llu, "
		"KVM_GET_XSAVE %llu, KVM_GET_XCRS %llu\n",
		(unsigned long long)s->pio, (unsigned long long)s->atomics,
		(unsigned long long)kicks, (unsigned long long)s->deadline_reads,
		(unsigned long long)s->deadline_writes, (unsigned long long)s->lapic_reads,
		(unsigned long long)s->lvtt_writes, (unsigned long long)s->eoi_writes,
		(unsigned long long)s->icr_writes, (unsigned long long)s->msr_writes,
		(unsigned long long)s->fpu_sets, (unsigned long long)s->fpu_gets,
		(unsigned long long)s->xcr0_reads);
	fprintf(stderr,
		"    interrupt delivery latency: %llu interrupts, median %.0f us, p99 %.0f us, "
		"max %.1f us\n",
		(unsigned long long)s->lat_n, percentile(s, 50), percentile(s, 99),
		(double)max / 1e3);
}
