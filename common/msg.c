/* SPDX-License-Identifier: MIT */
/* msg.c - one-line diagnostics, fatal exits, the --status-fd end record, and the monotonic
 * clock (uhs_msg.h). */
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "uhs_msg.h"
#include "uhs_status.h"

/* The last diagnostic (for the end record) and whether the status is the guest's code. */
static pthread_mutex_t last_mu = PTHREAD_MUTEX_INITIALIZER;
static char last_line[512];
static bool guest_exited;

__attribute__((format(printf, 1, 0))) static void vmsg(const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof line, fmt, ap);
	pthread_mutex_lock(&last_mu);
	memcpy(last_line, line, sizeof line);
	pthread_mutex_unlock(&last_mu);
	/* One write per line so concurrent vCPU threads never interleave inside a line. */
	fprintf(stderr, "uhyve-sec: %s\n", line);
}

void uhs_note_guest_exit(void)
{
	guest_exited = true;
}

static const char *status_kind(int status)
{
	static const struct {
		int status;
		const char *kind;
	} kinds[] = {
	    {ST_USAGE, "usage"},
	    {ST_BAD_IMAGE, "image"},
	    {ST_NOINPUT, "noinput"},
	    {ST_NOKVM, "nokvm"},
	    {ST_INTERNAL, "internal"},
	    {ST_OSERR, "oserr"},
	    {ST_CANTCREAT, "cantcreat"},
	    {ST_BROKER, "broker"},
	    {ST_SANDBOX, "sandbox"},
	    {ST_GUEST_VIOLATION, "violation"},
	    {ST_POLICY, "policy"},
	    {ST_TRIPLE_FAULT, "triple-fault"},
	    {ST_KVM_INTERNAL, "kvm-internal"},
	    {ST_KVM_FAIL, "kvm-fail"},
	    {ST_GUEST_PANIC, "panic"},
	};

	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		if (kinds[i].status == status) {
			return kinds[i].kind;
		}
	}
	return status > ST_SIGNAL_BASE && status < ST_SIGNAL_BASE + 65 ? "signal" : "other";
}

/* README "--status-fd": one line, written with one write(2). */
void uhs_write_end_record(int fd, int status)
{
	char rec[640], msg[512];
	int n;

	if (fd < 0) {
		return;
	}
	pthread_mutex_lock(&last_mu);
	memcpy(msg, last_line, sizeof msg);
	pthread_mutex_unlock(&last_mu);
	for (char *p = msg; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			*p = ' ';
		}
	}
	if (guest_exited) {
		n = snprintf(rec, sizeof rec, "uhyve-sec-end 1 guest %d\n", status);
	} else if (status == 0) {
		n = snprintf(rec, sizeof rec, "uhyve-sec-end 1 done 0\n");
	} else {
		n = snprintf(rec, sizeof rec, "uhyve-sec-end 1 error %d %s %s\n", status,
			     status_kind(status), msg);
	}
	if (n > 0 && write(fd, rec, (size_t)n < sizeof rec ? (size_t)n : sizeof rec - 1) < 0) {
		/* nobody to tell: the exit status still says it */
	}
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
