/* broker.h - the privileged file broker: the only process that touches the host file
 * system on the guest's behalf (broker.c), and its launch from the main process. */
#ifndef UHS_BROKER_H
#define UHS_BROKER_H

#include <stdbool.h>
#include <sys/types.h>

#include "policy.h"

struct broker_opts {
	const char *audit_log; /* NULL: stderr */
	bool audit_all; /* log allowed operations too */
	int cpu; /* >= 0: run the broker on this host CPU (next to vCPU 0) */
	bool confine; /* --sandbox=strict: seccomp, Landlock, no capabilities */
};

/* Forks the broker with its end of a SOCK_SEQPACKET socketpair.  Call before any thread
 * exists.  Returns 0 with the VMM's socket end and the broker's pid, or a process exit
 * status after printing why.  The broker opens its roots and confines itself while the VMM
 * sets up the guest; broker_wait_ready() then waits for it. */
int broker_start(const struct policy *pol, const struct broker_opts *o, int *sock, pid_t *pid);

/* Waits for the broker's READY message.  Returns 0, or the broker's exit status (it printed
 * why) after reaping it. */
int broker_wait_ready(int sock, pid_t pid);

/* Waits for the broker to exit after the VMM closed its socket (no zombie, no orphan).
 * Returns its exit status, or -1 if it was already reaped. */
int broker_reap(pid_t pid);

/* The broker process itself: serves requests on `sock` until EOF.  Returns its exit
 * status.  (Exposed for tests.) */
int broker_serve(int sock, const struct policy *pol, int audit_fd, const struct broker_opts *o);

#endif
