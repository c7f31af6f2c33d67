/* SPDX-License-Identifier: MIT */
/* assist_sandbox.h - the confinement of the instruction-assist process (assist/assist_rules.c):
 * its syscall allowlist, the single source of its filter and of --print-sandbox. */
#ifndef UHS_ASSIST_SANDBOX_H
#define UHS_ASSIST_SANDBOX_H

#include <stdio.h>

/* Installs the allowlist for every thread of the assist process with `nsock` vCPU sockets
 * (fd ASSIST_FD_SOCK0 + i).  Returns 0 or -1 with err. */
int assist_install_filter(unsigned nsock, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* --print-sandbox: the assist process's part. */
void assist_print_process_sandbox(FILE *f);

#endif
