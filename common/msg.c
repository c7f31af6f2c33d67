/* SPDX-License-Identifier: MIT */
/* msg.c - one-line diagnostics, fatal exits, and the monotonic clock (uhs_msg.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "uhs_msg.h"

__attribute__((format(printf, 1, 0))) static void vmsg(const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof line, fmt, ap);
	/* One write per line so concurrent vCPU threads never interleave inside a line. */
	fprintf(stderr, "uhyve-sec: %s\n", line);
}

uint64_t uhs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void uhs_msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
}

void uhs_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg(fmt, ap);
	va_end(ap);
	exit(status);
}
