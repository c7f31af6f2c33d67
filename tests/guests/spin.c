/* SPDX-License-Identifier: MIT */
/* spin (v1): prints "spinning\n", then loops forever on `pause`; never exits (the VMM must be
 * stopped from outside, e.g. by a signal or a timeout).  With the argument "print" it prints
 * "line N" (one FileWrite to fd 1 each) in an endless loop instead; with "uart" the same
 * lines one UART byte at a time (the serial port, shown with -v; KVM batches those writes
 * once there are many, and the VMM's main thread writes them out: vmm/pio_ring.c). */
#include "rt.h"

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	int print, uart;

	(void)bi;
	if (cpu != 0 || rt_args_init() != 0) {
		return cpu != 0 ? 0 : 1;
	}
	print = rt_argc > 1 && rt_streq(rt_argv[1], "print");
	uart = rt_argc > 1 && rt_streq(rt_argv[1], "uart");
	rt_printf("spinning\n");
	for (;;) {
		if (print) {
			rt_printf("line of console output\n");
		} else if (uart) {
			for (const char *c = "line of serial output\n"; *c != '\0'; c++) {
				rt_v1_serial_byte((uint8_t)*c);
			}
		} else {
			rt_pause();
		}
	}
}
