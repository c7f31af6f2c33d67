/* SPDX-License-Identifier: MIT */
/* uhs_msg.h - one-line diagnostics, fatal exits and the monotonic clock, for every process. */
#ifndef UHS_MSG_H
#define UHS_MSG_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds (vDSO: no syscall, allowed after confinement). */
uint64_t uhs_now_ns(void);

/* Prints "uhyve-sec: <message>\n" to stderr, in one write. */
void uhs_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the message and exits with `status`. */
__attribute__((noreturn, format(printf, 2, 3))) void uhs_die(int status, const char *fmt, ...);
/* --status-fd: the run's status is the guest's own exit code (vm_run calls this). */
void uhs_note_guest_exit(void);
/* Writes the end record for process status `status` to fd (nothing if fd < 0): "guest N",
 * "done 0" (nothing ran), or "error STATUS KIND LAST-MESSAGE" (README "--status-fd"). */
void uhs_write_end_record(int fd, int status);

#endif
