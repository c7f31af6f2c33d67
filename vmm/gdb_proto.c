/* SPDX-License-Identifier: MIT */
/* gdb_proto.c - GDB remote serial protocol framing and hex: "$data#cs" packets with '}'
 * escapes from the debugger, one byte at a time, and framed replies.  Pure; every byte is
 * hostile (gdb_proto.h). */
#include <string.h>

#include "gdb_proto.h"

enum { RX_IDLE = 0, RX_DATA, RX_ESC, RX_CS1, RX_CS2 };

void gdb_rx_init(struct gdb_rx *rx)
{
	rx->state = RX_IDLE;
	rx->len = 0;
	rx->sum = 0;
	rx->cs = 0;
	rx->overflow = false;
}

int gdb_hex_val(uint8_t c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

static void put(struct gdb_rx *rx, uint8_t b)
{
	if (rx->len < sizeof rx->buf) {
		rx->buf[rx->len++] = b;
	} else {
		rx->overflow = true;
	}
}

/* A byte between '$' and '#'. */
static void data_byte(struct gdb_rx *rx, uint8_t b)
{
	if (b == '#') {
		rx->state = RX_CS1;
		return;
	}
	rx->sum = (uint8_t)(rx->sum + b);
	if (rx->state == RX_ESC) {
		put(rx, b ^ 0x20);
		rx->state = RX_DATA;
	} else if (b == '}') {
		rx->state = RX_ESC;
	} else {
		put(rx, b);
	}
}

static enum gdb_rx_event idle_byte(struct gdb_rx *rx, uint8_t b)
{
	switch (b) {
	case '$':
		gdb_rx_init(rx);
		rx->state = RX_DATA;
		return GDB_RX_NONE;
	case 0x03:
		return GDB_RX_INTERRUPT;
	case '+':
		return GDB_RX_ACK;
	case '-':
		return GDB_RX_NAK;
	default:
		return GDB_RX_NONE; /* noise between packets is ignored, as gdbserver does */
	}
}

enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, uint8_t b)
{
	int v;

	switch (rx->state) {
	case RX_DATA:
	case RX_ESC:
		if (b == '$') { /* a new packet restarts the frame (gdb resynchronises so) */
			gdb_rx_init(rx);
			rx->state = RX_DATA;
		} else {
			data_byte(rx, b);
		}
		return GDB_RX_NONE;
	case RX_CS1:
	case RX_CS2:
		v = gdb_hex_val(b);
		if (v < 0) {
			gdb_rx_init(rx);
			return GDB_RX_BADSUM;
		}
		rx->cs = (uint8_t)((rx->cs << 4) | (unsigned)v);
		if (rx->state == RX_CS1) {
			rx->state = RX_CS2;
			return GDB_RX_NONE;
		}
		rx->state = RX_IDLE;
		if (rx->overflow) {
			return GDB_RX_TOOLONG;
		}
		return rx->cs == rx->sum ? GDB_RX_PACKET : GDB_RX_BADSUM;
	default:
		return idle_byte(rx, b);
	}
}

static const char hexdig[] = "0123456789abcdef";

size_t gdb_frame(const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
	size_t o = 0;
	uint8_t sum = 0;

	if (cap < 4) {
		return 0;
	}
	out[o++] = '$';
	for (size_t i = 0; i < len; i++) {
		uint8_t b = data[i];
		bool esc = b == '$' || b == '#' || b == '}' || b == '*';
		if (o + (esc ? 2 : 1) + 3 > cap) {
			return 0;
		}
		if (esc) {
			out[o++] = '}';
			sum = (uint8_t)(sum + '}');
			b ^= 0x20;
		}
		out[o++] = b;
		sum = (uint8_t)(sum + b);
	}
	out[o++] = '#';
	out[o++] = (uint8_t)hexdig[sum >> 4];
	out[o++] = (uint8_t)hexdig[sum & 15];
	return o;
}

int gdb_hex_u64(const uint8_t *s, size_t n, uint64_t *out, size_t *used)
{
	uint64_t v = 0;
	size_t i = 0;
	int d;

	for (; i < n && (d = gdb_hex_val(s[i])) >= 0; i++) {
		if (i >= 16) {
			return -1; /* more than 64 bits */
		}
		v = (v << 4) | (unsigned)d;
	}
	if (i == 0) {
		return -1;
	}
	*out = v;
	*used = i;
	return 0;
}

int gdb_hex_decode(const uint8_t *s, size_t n, uint8_t *out, size_t len)
{
	if (n != 2 * len) {
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		int hi = gdb_hex_val(s[2 * i]), lo = gdb_hex_val(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			return -1;
		}
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

void gdb_hex_encode(const uint8_t *in, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hexdig[in[i] >> 4];
		out[2 * i + 1] = hexdig[in[i] & 15];
	}
}
