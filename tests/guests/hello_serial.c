/* SPDX-License-Identifier: MIT */
/* hello-serial (v1) / hello-serial-v2 (v2): "serial ok\n" one byte at a time through the
 * serial-byte hypercall (v1: outb to the UART port 0x800; v2: SerialWriteByte 0x1020), then
 * "buffer ok\n" with one serial-buffer hypercall (v1: SerialBufferWrite 0x880; v2:
 * SerialWriteBuffer 0x1030); exit code 0.  Nothing goes through FileWrite: the output is the
 * kernel-log path, which uhyve (and uhyve-sec) show without any option. */
#include "rt.h"

#ifdef RT_V2
#define serial_byte rt_v2_serial_byte
#define serial_buf  rt_v2_serial_buf
#else
#define serial_byte rt_v1_serial_byte
#define serial_buf  rt_v1_serial_buf
#endif

int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	static const char serial[] = "serial ok\n";
	static const char buffer[] = "buffer ok\n";

	(void)bi;
	if (cpu != 0) {
		return 0;
	}
	for (size_t i = 0; i < sizeof(serial) - 1; i++) {
		serial_byte((uint8_t)serial[i]);
	}
	serial_buf(buffer, sizeof(buffer) - 1);
	return 0;
}
