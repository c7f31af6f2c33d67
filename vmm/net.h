/* SPDX-License-Identifier: MIT */
/* net.h - the VM's NIC (--net): the virtio-net device on the PCI bus, its KVM wiring
 * (ioeventfd on the notify registers, an irqfd on an MSI route that follows the I/O APIC
 * entry of line 11) and the I/O thread that moves frames between the TAP and the queues.
 *
 * Trust: runs in the VMM.  The TAP and the eventfds were opened by the launcher (the VMM never
 * opens /dev/net/tun); everything is registered with KVM before the seccomp filter; afterwards the
 * VMM needs only poll, read/write on those fds and KVM_SET_GSI_ROUTING on its VM fd
 * (vmm_sandbox.c). */
#ifndef UHS_NET_H
#define UHS_NET_H

#include <stdbool.h>

#include "elf_load.h"

struct vm;
struct vmm_config;

#define NET_BAR_GPA  0xfe000000ull /* uhyve's IOBASE */
#define NET_IRQ_LINE 11 /* the PCI interrupt line, as uhyve (I/O APIC pin 11) */
#define NET_GSI	     24 /* the irqfd's GSI (outside the 24 pins KVM reserves for us) */
#define NET_PCI_SLOT 0 /* bus 0, device 0 */

/* uhyve refuses networking for Hermit kernels older than 0.13.2 (they do not program the I/O
 * APIC on uhyve).  Returns 0 or ST_NET after a message.  Kernels without a version note pass,
 * as in uhyve. */
int net_check_kernel(const struct vmm_config *cfg, const struct elf_image *img);
/* Creates the device, puts it on the bus and registers the eventfds with KVM; call once the
 * vCPUs exist and guest RAM is placed, before the seccomp filter.  Returns 0 or an exit status
 * after a message. */
int net_setup(struct vm *vm);
/* Starts the I/O thread (before the seccomp filter: no clone afterwards). 0 or a status. */
int net_start(struct vm *vm);
/* Stops and joins the I/O thread. */
void net_stop(struct vm *vm);
/* --stats: packets, bytes, drops, notifications, interrupts, exits. */
void net_print_stats(const struct vm *vm);
/* The fds the seccomp filter pins to: KVM statistics fds (pread64), or NULL. */
const int *net_stats_fds(const struct vm *vm, int *n);
void net_free(struct vm *vm);

#endif
