/* SPDX-License-Identifier: MIT */
/* hostile (v1): argv[1] names one attack on the VMM's hypercall handling.  Every attack must
 * make the VMM end the VM, so nothing is printed before it; if the guest is still running
 * afterwards it prints "survived\n" and exits 3.  An unknown or missing attack name prints
 * "unknown attack\n" and exits 2.  If the attack cannot be set up in this memory layout
 * (e.g. the chosen "outside" address happens to be RAM, or a page it must write is
 * unmapped) it prints "setup failed: <why>\n" and exits 4. */
#include "rt.h"

#define MIB (1024ull * 1024ull)

static struct uh_v1_cmdsize cs;
static uint64_t argv_gpa[UH_MAX_ARGC_ENVC];
static uint64_t envp_gpa[UH_MAX_ARGC_ENVC];
static char pool[64 * 1024];

static int in_ram(const struct uh_boot_info *bi, uint64_t a)
{
	return a >= bi->phys_addr_start && a < bi->phys_addr_end;
}

static int setup_failed(const char *why)
{
	rt_printf("setup failed: %s\n", why);
	return 4;
}

/* Cmdsize, then Cmdval whose argv[0] buffer pointer is outside RAM. */
static int cmdval_bad_ptr(const struct uh_boot_info *bi)
{
	int32_t argc, envc, sz;
	size_t used = 0;

	if (in_ram(bi, 0xBFFF0000u)) {
		return setup_failed("0xBFFF0000 is RAM");
	}
	rt_v1_cmdsize(&cs);
	argc = cs.argc;
	envc = cs.envc;
	if (argc < 1 || argc > UH_MAX_ARGC_ENVC || envc < 0 || envc > UH_MAX_ARGC_ENVC) {
		return setup_failed("Cmdsize counts");
	}
	for (int i = 0; i < argc + envc; i++) {
		const char *base = (const char *)&cs;
		size_t off = i < argc
				 ? offsetof(struct uh_v1_cmdsize, argsz) + 4u * (size_t)i
				 : offsetof(struct uh_v1_cmdsize, envsz) + 4u * (size_t)(i - argc);

		memcpy(&sz, base + off, sizeof(sz));
		if (sz <= 0 || (size_t)sz > sizeof(pool) - used) {
			return setup_failed("Cmdsize sizes");
		}
		if (i < argc) {
			argv_gpa[i] = rt_gpa(&pool[used]);
		} else {
			envp_gpa[i - argc] = rt_gpa(&pool[used]);
		}
		used += (size_t)sz;
	}
	argv_gpa[0] = 0xBFFF0000u;
	rt_v1_cmdval(rt_gpa(argv_gpa), rt_gpa(envp_gpa));
	return 0;
}

static int attack(const struct uh_boot_info *bi, const char *name)
{
	uint64_t end = bi->phys_addr_end;

	if (rt_streq(name, "param-outside-ram")) {
		if (in_ram(bi, 0xBFFFF000u)) {
			return setup_failed("0xBFFFF000 is RAM");
		}
		rt_hc1(UH_V1_FILE_WRITE, 0xBFFFF000u);
	} else if (rt_streq(name, "param-straddles-end")) {
		/* a 20-byte FileWrite struct whose first 4 bytes (fd = 1) are the last of RAM */
		uint64_t p = end - 4;

		if (!rt_is_mapped(bi, p)) {
			return setup_failed("end of RAM is not mapped");
		}
		*(volatile int32_t *)(uintptr_t)p = 1;
		rt_hc1(UH_V1_FILE_WRITE, p);
	} else if (rt_streq(name, "buf-outside-ram")) {
		struct uh_v1_serial_buffer p = {.buf = end + 0x1000, .len = 16};

		rt_hc1(UH_V1_SERIAL_BUFFER, rt_gpa(&p));
	} else if (rt_streq(name, "len-wrap")) {
		static const char msg[] = "len-wrap attack\n";
		struct uh_v1_serial_buffer p = {.buf = rt_gpa(msg), .len = 0xFFFFFFFFFFFFFFF0ull};

		rt_hc1(UH_V1_SERIAL_BUFFER, rt_gpa(&p));
	} else if (rt_streq(name, "gva-unmapped")) {
		struct uh_v1_write p = {.fd = 1, .buf = 0x0000700000000000ull, .len = 8};

		if (rt_is_mapped(bi, p.buf)) {
			return setup_failed("0x700000000000 is mapped");
		}
		rt_hc1(UH_V1_FILE_WRITE, rt_gpa(&p));
	} else if (rt_streq(name, "gva-noncanonical") || rt_streq(name, "gva-noncanonical-read")) {
		/* a mapped buffer with bit 63 set: the processor would raise #GP; a walk that
		 * ignores bits 63:48 would alias the buffer (and print "aliased") */
		static char msg[] = "aliased\n";
		int read = rt_streq(name, "gva-noncanonical-read");
		struct uh_v1_write p = {.fd = read ? 0 : 1,
					.buf = 0x8000000000000000ull | (uint64_t)(uintptr_t)msg,
					.len = sizeof msg - 1};

		rt_hc1(read ? UH_V1_FILE_READ : UH_V1_FILE_WRITE, rt_gpa(&p));
	} else if (rt_streq(name, "path-unterminated")) {
		/* The last 2 KiB of RAM (free: above the 2 MiB-aligned image end) become 'A's;
		 * the path runs into the end of RAM before PATH_MAX (4096). */
		uint64_t free_start = (bi->kernel_image_end + 2 * MIB - 1) & ~(2 * MIB - 1);
		uint64_t p = end - 2048;

		if (p < free_start || !rt_is_mapped(bi, p) || !rt_is_mapped(bi, end - 1)) {
			return setup_failed("no mapped free RAM at the end");
		}
		memset((void *)(uintptr_t)p, 'A', (size_t)(end - p));
		(void)rt_v1_open((const char *)(uintptr_t)p, UH_O_RDONLY, 0);
	} else if (rt_streq(name, "unknown-port")) {
		outl(0x1234, 0);
	} else if (rt_streq(name, "wrong-width")) {
		outb(UH_V1_FILE_OPEN, 0);
	} else if (rt_streq(name, "in-hypercall-port")) {
		(void)inl(UH_V1_EXIT);
	} else if (rt_streq(name, "cmdval-bad-ptr")) {
		int rc = cmdval_bad_ptr(bi);

		if (rc != 0) {
			return rc;
		}
	} else if (rt_streq(name, "cmdsize-outside")) {
		rt_hc1(UH_V1_CMDSIZE, end);
	} else if (rt_streq(name, "mmio-write")) {
		uint64_t a = 0x8000000u;

		if (in_ram(bi, a) || !rt_is_mapped(bi, a)) {
			return setup_failed("128 MiB is RAM or not mapped");
		}
		*(volatile uint32_t *)(uintptr_t)a = 0xdeadbeefu;
	} else if (rt_streq(name, "exit-outside")) {
		if (in_ram(bi, 0xBFFFFFF0u)) {
			return setup_failed("0xBFFFFFF0 is RAM");
		}
		rt_hc1(UH_V1_EXIT, 0xBFFFFFF0u);
	} else {
		rt_printf("unknown attack\n");
		return 2;
	}
	rt_printf("survived\n");
	return 3;
}

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	if (cpu != 0) {
		return 0;
	}
	if (rt_args_init() != 0 || rt_argc < 2) {
		rt_printf("unknown attack\n");
		return 2;
	}
	return attack(bi, rt_argv[1]);
}
