/* SPDX-License-Identifier: MIT */
/* vmm_gdb.h - what the launcher needs to know of the VMM's debugger (vmm/gdb.h): its part of
 * --print-sandbox.  The connection itself is vmm_config.gdb_fd (vmm.h). */
#ifndef UHS_VMM_GDB_H
#define UHS_VMM_GDB_H

#include <stdio.h>

/* --print-sandbox: what -s/--gdb-port or --gdb-socket add to the VMM's confinement. */
void gdb_print_sandbox(FILE *f);

#endif
