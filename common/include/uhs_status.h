/* SPDX-License-Identifier: MIT */
/* status.h - the process exit statuses of uhyve-sec (README "Exit status"). */
#ifndef UHS_STATUS_H
#define UHS_STATUS_H

/* ---- process exit statuses (documented in README "Exit status") ---- */
enum uhs_status {
	ST_USAGE = 64, /* invalid command line or environment value */
	ST_BAD_IMAGE = 65, /* kernel image rejected (not a valid Hermit ELF) */
	ST_NOINPUT = 66, /* kernel file cannot be opened or read */
	ST_NET = 68, /* --net: TAP missing, busy or unusable; or a kernel older than 0.13.2 */
	ST_NOKVM = 69, /* /dev/kvm missing, unusable or lacking a needed capability */
	ST_INTERNAL = 70, /* internal VMM error (a bug) */
	ST_OSERR = 71, /* host resource failure: memory, threads, ... */
	ST_CANTCREAT = 73, /* cannot create the --output file */
	ST_GUEST_VIOLATION = 76, /* guest broke the hypercall protocol (hostile parameters) */
	ST_TRIPLE_FAULT = 80, /* guest triple fault (KVM_EXIT_SHUTDOWN) */
	ST_KVM_INTERNAL = 81, /* KVM internal error, e.g. an instruction KVM cannot emulate */
	ST_KVM_FAIL = 82, /* KVM entry failure or unexpected exit reason */
	ST_GUEST_PANIC = 83, /* guest printed a panic and exited non-zero */
	ST_BROKER = 74, /* the file broker failed to start, died, or broke protocol */
	ST_SANDBOX = 75, /* the sandbox could not be set up (a kernel feature is missing) */
	ST_POLICY = 78, /* invalid policy file or --mount */
	ST_SIGNAL_BASE = 128, /* + signal number: stopped by SIGINT (130), SIGTERM (143), ... */
};

#endif
