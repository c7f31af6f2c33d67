/* SPDX-License-Identifier: MIT */
/* fdtinfo (v1) and fdtinfo-v2 (v2): what a current Hermit kernel (hermit-os/kernel b0678ba0,
 * uhyve interface 3) reads from the device tree and the boot info, read the way it reads it
 * (the `fdt` crate), one line each:
 *   is_uhyve=<0|1>        root `compatible` (a string list) holds "hermit,uhyve"
 *                         (env/start_info/hermit_entry.rs is_uhyve)
 *   root_cells=<a>,<s>    root #address-cells, #size-cells (how /memory's reg is read)
 *   memory=<ok|bad|none>  every /memory node: device_type "memory", reg = <start size> equal
 *                         to the boot info's RAM (env/start_info/fdt.rs memmap)
 *   cpus=<ids>            the unit addresses of /cpus/cpu@N in order, each device_type "cpu"
 *   cpus_cells=<a>,<s>    /cpus #address-cells, #size-cells
 *   num_cpus=<n>          boot info (PlatformInfo::Uhyve; the kernel's CPU count)
 *   tsc=<ok|bad|none>     /hermit,tsc khz (4 or 8 bytes, as as_usize reads it) / 1000 is a
 *                         non-zero u16 equal to the boot info's cpu_freq / 1000
 *                         (processor.rs detect_from_fdt)
 *   mounts=<a,b|(none)>   /uhyve,mounts mounts, split at NUL (fs/uhyve.rs)
 *   chosen=<0|1>          /chosen exists (the fdt crate's chosen() requires it)
 * then exit 0. */
#include <stdbool.h>

#include "fdt.h"

struct info {
	int node2; /* depth-2 node: 0 other, 1 memory, 2 cpus, 3 hermit,tsc, 4 mounts, 5 chosen */
	bool in_cpu;
	int compat, addr_cells, size_cells, cpus_addr, cpus_size, memory, chosen;
	bool cpu_typed, tsc_seen;
	uint64_t tsc_khz;
	char cpus[256], mounts[256];
	unsigned ncpus_len, nmounts_len;
	bool mem_typed, mem_reg_ok;
};

static int prefix(const char *s, const char *p)
{
	while (*p != '\0') {
		if (*s++ != *p++) {
			return 0;
		}
	}
	return *s == '\0' || *s == '@';
}

static void append(char *buf, unsigned *len, unsigned cap, const char *s)
{
	while (*s != '\0' && *len + 1 < cap) {
		buf[(*len)++] = *s++;
	}
	buf[*len] = '\0';
}

static void on_node(void *ctx, int depth, const char *name)
{
	struct info *in = ctx;

	if (depth == 2) {
		in->node2 = prefix(name, "memory")	     ? 1
			    : rt_streq(name, "cpus")	     ? 2
			    : rt_streq(name, "hermit,tsc")   ? 3
			    : rt_streq(name, "uhyve,mounts") ? 4
			    : rt_streq(name, "chosen")	     ? 5
							     : 0;
		in->mem_typed = false;
		in->mem_reg_ok = false;
		in->chosen |= in->node2 == 5;
	} else if (depth == 3 && in->node2 == 2 && prefix(name, "cpu")) {
		in->in_cpu = true;
		in->cpu_typed = false;
		if (in->ncpus_len > 0) {
			append(in->cpus, &in->ncpus_len, sizeof in->cpus, ",");
		}
		append(in->cpus, &in->ncpus_len, sizeof in->cpus, name[3] == '@' ? name + 4 : "?");
	}
}

static bool str_is(const volatile uint8_t *v, uint32_t len, const char *s)
{
	uint32_t i = 0;

	for (; s[i] != '\0'; i++) {
		if (i >= len || v[i] != (uint8_t)s[i]) {
			return false;
		}
	}
	return i < len && v[i] == '\0';
}

static void root_prop(struct info *in, const char *name, const volatile uint8_t *v, uint32_t len)
{
	if (rt_streq(name, "compatible")) {
		for (uint32_t at = 0; at < len;) { /* a string list */
			uint32_t n = 0;
			in->compat |= str_is(v + at, len - at, "hermit,uhyve");
			while (at + n < len && v[at + n] != '\0') {
				n++;
			}
			at += n + 1;
		}
	} else if (rt_streq(name, "#address-cells") && len == 4) {
		in->addr_cells = (int)rt_be32(v);
	} else if (rt_streq(name, "#size-cells") && len == 4) {
		in->size_cells = (int)rt_be32(v);
	}
}

static void node_prop(struct info *in, const char *name, const volatile uint8_t *v, uint32_t len)
{
	const struct uh_boot_info *bi = rt_boot_info;

	if (in->node2 == 1 && rt_streq(name, "device_type")) {
		in->mem_typed = str_is(v, len, "memory");
	} else if (in->node2 == 1 && rt_streq(name, "reg")) {
		in->mem_reg_ok = len == 16 && rt_be64(v) == bi->phys_addr_start &&
				 rt_be64(v + 8) == bi->phys_addr_end - bi->phys_addr_start;
	} else if (in->node2 == 2 && rt_streq(name, "#address-cells") && len == 4) {
		in->cpus_addr = (int)rt_be32(v);
	} else if (in->node2 == 2 && rt_streq(name, "#size-cells") && len == 4) {
		in->cpus_size = (int)rt_be32(v);
	} else if (in->node2 == 3 && rt_streq(name, "khz") && (len == 4 || len == 8)) {
		in->tsc_seen = true;
		in->tsc_khz = len == 4 ? rt_be32(v) : rt_be64(v);
	} else if (in->node2 == 4 && rt_streq(name, "mounts")) {
		for (uint32_t i = 0; i < len; i++) {
			char c[2] = {v[i] != '\0' ? (char)v[i] : ',', '\0'};
			if (i + 1 < len || v[i] != '\0') {
				append(in->mounts, &in->nmounts_len, sizeof in->mounts, c);
			}
		}
	}
}

static void on_prop(void *ctx, int depth, const char *name, const volatile uint8_t *v, uint32_t len)
{
	struct info *in = ctx;

	if (depth == 1) {
		root_prop(in, name, v, len);
	} else if (depth == 2) {
		node_prop(in, name, v, len);
	} else if (depth == 3 && in->in_cpu && rt_streq(name, "device_type")) {
		in->cpu_typed = str_is(v, len, "cpu");
	}
}

static void on_end(void *ctx, int depth)
{
	struct info *in = ctx;

	if (depth == 3 && in->in_cpu) {
		in->in_cpu = false;
		if (!in->cpu_typed) {
			append(in->cpus, &in->ncpus_len, sizeof in->cpus, "(untyped)");
		}
	} else if (depth == 2 && in->node2 == 1) {
		in->memory = in->memory == 2 || !(in->mem_typed && in->mem_reg_ok) ? 2 : 1;
	}
}

static const char *tsc(const struct info *in, const struct uh_boot_info *bi)
{
	uint64_t mhz = in->tsc_khz / 1000;

	if (!in->tsc_seen) {
		return bi->cpu_freq_khz == 0 ? "none" : "missing";
	}
	return mhz != 0 && mhz <= 0xffff && mhz == bi->cpu_freq_khz / 1000 ? "ok" : "bad";
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	static struct info in;
	struct rt_fdt_visitor v = {on_node, on_prop, on_end, &in};

	if (cpu != 0) {
		return 0;
	}
	if (rt_fdt_walk(bi, &v) != 0) {
		rt_printf("fdt=(none or malformed)\n");
		return 1;
	}
	rt_printf("is_uhyve=%d\n", in.compat);
	rt_printf("root_cells=%d,%d\n", in.addr_cells, in.size_cells);
	rt_printf("memory=%s\n", in.memory == 1 ? "ok" : in.memory == 2 ? "bad" : "none");
	rt_printf("cpus=%s\n", in.cpus);
	rt_printf("cpus_cells=%d,%d\n", in.cpus_addr, in.cpus_size);
	rt_printf("num_cpus=%lu\n", (unsigned long)bi->num_cpus);
	rt_printf("tsc=%s\n", tsc(&in, bi));
	rt_printf("mounts=%s\n", in.nmounts_len > 0 ? in.mounts : "(none)");
	rt_printf("chosen=%d\n", in.chosen);
	return 0;
}
