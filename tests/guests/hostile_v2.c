/* SPDX-License-Identifier: MIT */
/* hostile-v2 (v2): argv[1] (first application word of /chosen/bootargs, after "--" if
 * present) names one attack on the v2 hypercalls.  Nothing is printed before the attack; if
 * the guest survives it prints "survived\n" (after "getdents=<tag>,<err>\n" for
 * getdents-bad-buf) and exits 3.  Unknown or missing name: "unknown attack\n", exit 2.
 * Attack not possible in this layout: "setup failed: <why>\n", exit 4. */
#include "rt.h"

static int setup_failed(const char *why)
{
	rt_printf("setup failed: %s\n", why);
	return 4;
}

static int attack(const struct uh_boot_info *bi, const char *name)
{
	uint64_t end = bi->phys_addr_end;

	if (rt_streq(name, "buf-outside-ram")) {
		struct uh_v2_serial_write_buffer p = {.len = 16, .buf = end + 0x1000};

		rt_hc2(UH_V2_SERIAL_WRITE_BUFFER, rt_gpa(&p));
	} else if (rt_streq(name, "len-wrap")) {
		static const char msg[] = "len-wrap attack\n";
		struct uh_v2_serial_write_buffer p = {.len = 0xFFFFFFFFFFFFFFF0ull,
						      .buf = rt_gpa(msg)};

		rt_hc2(UH_V2_SERIAL_WRITE_BUFFER, rt_gpa(&p));
	} else if (rt_streq(name, "param-outside-ram")) {
		if (bi->phys_addr_start <= 0x100) {
			return setup_failed("0x100 is RAM");
		}
		rt_hc2(UH_V2_FILE_WRITE, 0x100);
	} else if (rt_streq(name, "getdents-bad-buf")) {
		struct uh_v2_getdents p = {.fd = 3, .buf = end + 0x1000, .len = 4096};

		rt_hc2(UH_V2_GETDENTS, rt_gpa(&p));
		rt_printf("getdents=%u,%d\n", p.ret.tag, p.ret.err);
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
