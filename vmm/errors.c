/* errors.c - one-line diagnostics and fatal exits. */
#include <stdio.h>
#include <stdlib.h>

#include "vmm.h"

static void vmsg(const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof line, fmt, ap);
	/* One write per line so concurrent vCPU threads never interleave inside a line. */
	fprintf(stderr, "uhyve-sec: %s\n", line);
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
