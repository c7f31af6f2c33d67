/* SPDX-License-Identifier: MIT */
/* fdt.h - a bounds-checked walker of the flattened device tree the boot info points at, of
 * any size inside guest RAM (a VMM may place a big tree below the kernel), for test guests
 * that read it the way Hermit's kernel does (the `fdt` crate): node names with their unit
 * address, properties by name. */
#ifndef RT_FDT_H
#define RT_FDT_H

#include "rt.h"

#define RT_FDT_NAME_MAX 64

struct rt_fdt_visitor {
	/* a node begins at `depth` (the root is 1); name without NUL-termination problems,
	 * cut to RT_FDT_NAME_MAX - 1 bytes */
	void (*node)(void *ctx, int depth, const char *name);
	/* a property of the node at `depth`; val points into the tree (len bytes) */
	void (*prop)(void *ctx, int depth, const char *name, const volatile uint8_t *val,
		     uint32_t len);
	/* the node at `depth` ends */
	void (*end)(void *ctx, int depth);
	void *ctx;
};

/* Walks the tree; returns 0, or -1 if there is none or it is malformed (nothing is read
 * outside [device_tree, device_tree + totalsize) and guest RAM). */
int rt_fdt_walk(const struct uh_boot_info *bi, const struct rt_fdt_visitor *v);

/* The big-endian u32/u64 at p. */
uint32_t rt_be32(const volatile uint8_t *p);
uint64_t rt_be64(const volatile uint8_t *p);

#endif
