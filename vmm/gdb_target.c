/* SPDX-License-Identifier: MIT */
/* gdb_target.c - what the debugger's packets do to the VM (struct gdb_ops for gdb_cmd.c),
 * always while every vCPU is parked (gdb_vcpu.c): registers through KVM_GET/SET_REGS,
 * KVM_GET_SREGS and KVM_GET/SET_XSAVE; memory by guest-virtual address through gmem's
 * checked page walk (gmem.h) with the selected vCPU's CR3, software breakpoints hidden from
 * reads and kept across writes; software breakpoints as int3 bytes in guest memory; hardware
 * breakpoints and watchpoints in the debug registers (KVM_SET_GUEST_DEBUG), or, where this
 * KVM's data breakpoints never fire (gdb_probe.c), write watchpoints emulated by comparing the
 * watched bytes after every instruction.  A debugger can do here what the guest could do to
 * itself, nothing more. */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "gdb.h"

#define PAGE 4096ull

static int cr3_of(struct gdb *g, unsigned cpu, uint64_t *cr3)
{
	struct kvm_sregs s;

	if (ioctl(g->vm->vcpus[cpu].fd, KVM_GET_SREGS, &s) != 0) {
		return -EIO;
	}
	*cr3 = s.cr3;
	return 0;
}

static int get_regs(void *ctx, unsigned cpu, uint8_t out[GDB_REGS_BYTES])
{
	struct gdb *g = ctx;
	int fd = g->vm->vcpus[cpu].fd;
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(fd, KVM_GET_REGS, &r) != 0 || ioctl(fd, KVM_GET_SREGS, &s) != 0 ||
	    ioctl(fd, KVM_GET_XSAVE, &g->xs) != 0) {
		return -EIO;
	}
	gdb_regs_from_kvm(&r, &s, &g->xs, out);
	return 0;
}

static int set_regs(void *ctx, unsigned cpu, const uint8_t in[GDB_REGS_BYTES])
{
	struct gdb *g = ctx;
	int fd = g->vm->vcpus[cpu].fd;
	uint8_t cur[GDB_REGS_BYTES];
	struct kvm_regs r;
	struct kvm_sregs s;
	bool fpu;

	if (ioctl(fd, KVM_GET_REGS, &r) != 0 || ioctl(fd, KVM_GET_SREGS, &s) != 0 ||
	    ioctl(fd, KVM_GET_XSAVE, &g->xs) != 0) {
		return -EIO;
	}
	gdb_regs_from_kvm(&r, &s, &g->xs, cur);
	if (gdb_regs_to_kvm(in, cur, &r, &g->xs, &fpu) != 0) {
		return -EPERM; /* segments, FS/GS base and control registers are read-only */
	}
	if (ioctl(fd, KVM_SET_REGS, &r) != 0) {
		return -EINVAL;
	}
	return fpu && ioctl(fd, KVM_SET_XSAVE, &g->xs) != 0 ? -EINVAL : 0;
}

/* ---- memory ---- */
static int find_sw_index(const struct gdb *g, uint64_t addr)
{
	for (unsigned i = 0; i < GDB_MAX_SWBP; i++) {
		if (g->sw[i].used && g->sw[i].addr == addr) {
			return (int)i;
		}
	}
	return -1;
}

static struct gdb_swbp *find_sw(struct gdb *g, uint64_t addr)
{
	int i = find_sw_index(g, addr);

	return i < 0 ? NULL : &g->sw[i];
}

bool gdb_is_swbp(const struct gdb *g, uint64_t rip)
{
	return find_sw_index(g, rip) >= 0;
}

/* The bytes of [addr, addr + n) as the guest wrote them: our int3s replaced by the originals
 * (keep = false), or the other way round for a write, whose bytes become the new originals. */
static void shadow(struct gdb *g, uint64_t addr, uint8_t *buf, size_t n, bool write)
{
	for (unsigned i = 0; i < GDB_MAX_SWBP; i++) {
		struct gdb_swbp *b = &g->sw[i];
		if (!b->used || b->addr < addr || b->addr - addr >= n) {
			continue;
		}
		if (write) {
			b->orig = buf[b->addr - addr];
			buf[b->addr - addr] = 0xcc;
		} else {
			buf[b->addr - addr] = b->orig;
		}
	}
}

static long read_mem(void *ctx, unsigned cpu, uint64_t addr, uint8_t *buf, size_t len)
{
	struct gdb *g = ctx;
	struct gva_fault f;
	uint64_t cr3;
	size_t done = 0;

	if (cr3_of(g, cpu, &cr3) != 0) {
		return -EIO;
	}
	while (done < len) {
		uint64_t va = addr + done, room = PAGE - (va & (PAGE - 1));
		size_t chunk = len - done < room ? len - done : (size_t)room;
		if (va < addr ||
		    gmem_gva_copy_from(&g->vm->mem, cr3, buf + done, gva(va), chunk, &f) != 0) {
			break; /* wrapped, unmapped or not RAM: a short read */
		}
		done += chunk;
	}
	shadow(g, addr, buf, done, false);
	return (long)done;
}

static int write_mem(void *ctx, unsigned cpu, uint64_t addr, const uint8_t *buf, size_t len)
{
	struct gdb *g = ctx;
	uint8_t data[GDB_MEM_MAX];
	struct gva_fault f;
	uint64_t cr3;

	if (len > sizeof data) {
		return -EINVAL;
	}
	if (cr3_of(g, cpu, &cr3) != 0) {
		return -EIO;
	}
	if (gmem_gva_check(&g->vm->mem, cr3, gva(addr), len, &f) != 0) {
		return -EFAULT; /* nothing written */
	}
	memcpy(data, buf, len);
	shadow(g, addr, data, len, true);
	return gmem_gva_copy_to(&g->vm->mem, cr3, gva(addr), data, len, &f) != 0 ? -EFAULT : 0;
}

/* ---- software breakpoints: int3 in guest memory ---- */
static int sw_insert(struct gdb *g, unsigned cpu, uint64_t addr)
{
	static const uint8_t int3 = 0xcc;
	struct gdb_swbp *b = NULL;
	uint64_t cr3;
	gpa_t pa;

	if (find_sw(g, addr) != NULL) {
		return 0;
	}
	for (unsigned i = 0; i < GDB_MAX_SWBP && b == NULL; i++) {
		b = g->sw[i].used ? NULL : &g->sw[i];
	}
	if (b == NULL) {
		return -ENOSPC;
	}
	if (cr3_of(g, cpu, &cr3) != 0 ||
	    gmem_gva_to_gpa(&g->vm->mem, cr3, gva(addr), &pa, NULL) != 0 ||
	    gmem_copy_from(&g->vm->mem, &b->orig, pa, 1) != 0 ||
	    gmem_copy_to(&g->vm->mem, pa, &int3, 1) != 0) {
		return -EFAULT;
	}
	b->addr = addr;
	b->gpa = pa.raw;
	b->used = true;
	return 0;
}

static void sw_restore(struct gdb *g, struct gdb_swbp *b)
{
	uint8_t cur;

	/* only our own byte: code the guest rewrote meanwhile stays as it is */
	if (gmem_copy_from(&g->vm->mem, &cur, gpa(b->gpa), 1) == 0 && cur == 0xcc &&
	    gmem_copy_to(&g->vm->mem, gpa(b->gpa), &b->orig, 1) != 0) {
		/* cannot happen: the address was RAM when the breakpoint went in */
	}
	b->used = false;
}

/* ---- debug registers and watchpoints ---- */
static bool len_ok(uint64_t len)
{
	return len == 1 || len == 2 || len == 4 || len == 8;
}

static void update_one_insn(struct gdb *g)
{
	bool any = false;

	for (unsigned i = 0; i < GDB_MAX_HW; i++) {
		any |= g->hw[i].used;
	}
	atomic_store(&g->one_insn, any);
	gdb_dirty_all_locked(g);
}

/* A write watchpoint's bytes, for the comparison after each assisted or stepped instruction. */
static int watch_copy(struct gdb *g, unsigned cpu, struct gdb_hwbp *h)
{
	uint64_t cr3, contig;
	gpa_t pa;

	if (cr3_of(g, cpu, &cr3) != 0 ||
	    gmem_gva_to_gpa(&g->vm->mem, cr3, gva(h->addr), &pa, &contig) != 0 || contig < h->len ||
	    gmem_copy_from(&g->vm->mem, h->old, pa, h->len) != 0) {
		return -EFAULT;
	}
	h->gpa = pa.raw;
	h->copied = true;
	return 0;
}

static int hw_check(const struct gdb *g, enum gdb_bp_type type, uint64_t addr, uint64_t len)
{
	if (type == GDB_BP_HW) {
		return !g->probe.hw_exec ? -EOPNOTSUPP : len != 1 ? -EINVAL : 0;
	}
	if (type == GDB_WP_READ || (type == GDB_WP_ACCESS && !g->probe.hw_data) ||
	    (type == GDB_WP_WRITE && !g->probe.hw_data && !g->probe.step)) {
		return -EOPNOTSUPP; /* x86 has no read-only data breakpoint; see gdb_probe.c */
	}
	if (!len_ok(len) || (g->probe.hw_data && addr % len != 0)) {
		return -EINVAL;
	}
	return 0;
}

static int hw_insert(struct gdb *g, unsigned cpu, enum gdb_bp_type type, uint64_t addr,
		     uint64_t len)
{
	struct gdb_hwbp *h = NULL;
	int rc = hw_check(g, type, addr, len);

	for (unsigned i = 0; rc == 0 && i < GDB_MAX_HW && h == NULL; i++) {
		h = g->hw[i].used ? NULL : &g->hw[i];
	}
	if (rc != 0 || h == NULL) {
		return rc != 0 ? rc : -ENOSPC;
	}
	*h = (struct gdb_hwbp){.type = type, .addr = addr, .len = (unsigned)len};
	h->emulated = type == GDB_WP_WRITE && !g->probe.hw_data;
	if (type == GDB_WP_WRITE && (rc = watch_copy(g, cpu, h)) != 0 && h->emulated) {
		return rc;
	}
	h->used = true;
	update_one_insn(g);
	return 0;
}

static int hw_remove(struct gdb *g, enum gdb_bp_type type, uint64_t addr, uint64_t len)
{
	for (unsigned i = 0; i < GDB_MAX_HW; i++) {
		struct gdb_hwbp *h = &g->hw[i];
		if (h->used && h->type == type && h->addr == addr && h->len == len) {
			h->used = false;
			update_one_insn(g);
			return 0;
		}
	}
	return 0;
}

static int breakpoint(void *ctx, unsigned cpu, bool insert, enum gdb_bp_type type, uint64_t addr,
		      uint64_t kind)
{
	struct gdb *g = ctx;
	struct gdb_swbp *b;

	if (type == GDB_BP_SW) {
		if (kind != 1) {
			return -EINVAL; /* x86: int3 is one byte */
		}
		if (insert) {
			return sw_insert(g, cpu, addr);
		}
		if ((b = find_sw(g, addr)) != NULL) {
			sw_restore(g, b);
		}
		return 0;
	}
	return insert ? hw_insert(g, cpu, type, addr, kind) : hw_remove(g, type, addr, kind);
}

bool gdb_debugregs(const struct gdb *g, __u64 dr[8])
{
	static const uint64_t len_bits[9] = {[1] = 0, [2] = 1, [4] = 3, [8] = 2};
	bool any = false;

	for (unsigned i = 0; i < GDB_MAX_HW; i++) {
		const struct gdb_hwbp *h = &g->hw[i];
		uint64_t rw = h->type == GDB_BP_HW ? 0 : h->type == GDB_WP_WRITE ? 1 : 3;
		if (!h->used || h->emulated) {
			continue;
		}
		dr[i] = h->addr;
		dr[7] |=
		    (2ull << (2 * i)) | (rw << (16 + 4 * i)) | (len_bits[h->len] << (18 + 4 * i));
		any = true;
	}
	if (any) {
		dr[7] |= DR7_GE;
	}
	return any;
}

bool gdb_is_hwbp(const struct gdb *g, uint64_t rip)
{
	for (unsigned i = 0; i < GDB_MAX_HW; i++) {
		if (g->hw[i].used && g->hw[i].type == GDB_BP_HW && g->hw[i].addr == rip) {
			return true;
		}
	}
	return false;
}

bool gdb_has_emulated_watch(const struct gdb *g)
{
	for (unsigned i = 0; i < GDB_MAX_HW; i++) {
		if (g->hw[i].used && g->hw[i].emulated) {
			return true;
		}
	}
	return false;
}

int gdb_watch_hit_locked(struct gdb *g)
{
	uint8_t now[8];

	for (unsigned i = 0; i < GDB_MAX_HW; i++) {
		struct gdb_hwbp *h = &g->hw[i];
		if (!h->used || h->type != GDB_WP_WRITE || !h->copied ||
		    gmem_copy_from(&g->vm->mem, now, gpa(h->gpa), h->len) != 0 ||
		    memcmp(now, h->old, h->len) == 0) {
			continue;
		}
		memcpy(h->old, now, h->len);
		return (int)i;
	}
	return -1;
}

void gdb_clear_breakpoints_locked(struct gdb *g)
{
	for (unsigned i = 0; i < GDB_MAX_SWBP; i++) {
		if (g->sw[i].used) {
			sw_restore(g, &g->sw[i]);
		}
	}
	memset(g->hw, 0, sizeof g->hw);
	update_one_insn(g);
}

/* ---- resuming ---- */
static void resume(void *ctx, const enum gdb_run *mode)
{
	struct gdb *g = ctx;
	bool pending = false;

	/* A watchpoint hit not reported yet is reported now, without running (its value has
	 * changed for good); other events recur (RIP is still on the breakpoint) or are moot. */
	for (unsigned i = 0; i < g->vm->ncpu; i++) {
		struct gdb_cpu *c = &g->cpu[i];
		if (c->has_event && (c->ev.why == GDB_WHY_WATCH || c->ev.why == GDB_WHY_AWATCH)) {
			pending = true;
		} else {
			c->has_event = false;
		}
	}
	g->event_cpu = -1;
	g->interrupted = false;
	if (!pending) {
		gdb_release_locked(g, mode);
	}
}

static uint64_t load_offset(void *ctx)
{
	return ((struct gdb *)ctx)->load_offset;
}

const struct gdb_ops gdb_kvm_ops = {
    .get_regs = get_regs,
    .set_regs = set_regs,
    .read_mem = read_mem,
    .write_mem = write_mem,
    .breakpoint = breakpoint,
    .resume = resume,
    .load_offset = load_offset,
};
