/* SPDX-License-Identifier: MIT */
/* hello-serial (v1): "serial ok\n" one outb per byte to the UART port 0x800, then
 * "buffer ok\n" with one SerialBufferWrite (0x880); exit code 0. */
#include "rt.h"

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	static const char serial[] = "serial ok\n";
	static const char buffer[] = "buffer ok\n";

	(void)bi;
	if (cpu != 0) {
		return 0;
	}
	for (size_t i = 0; i < sizeof(serial) - 1; i++) {
		rt_v1_serial_byte((uint8_t)serial[i]);
	}
	rt_v1_serial_buf(buffer, sizeof(buffer) - 1);
	return 0;
}
