/* SPDX-License-Identifier: MIT */
/* tap.c - the host side of --net: parse the option, open and configure the TAP, create the
 * eventfds the VMM registers with KVM.
 *
 * Trust: runs in the launcher, with the caller's rights and before any confinement; reads only
 * operator input (the option) and the kernel's answers about the interface.  The VMM never
 * opens /dev/net/tun: it receives the configured TAP fd and the eventfds (struct vmm_net).
 *
 *   tap[:NAME]  an existing TAP interface NAME (default tap10, as uhyve); it must exist and be
 *               free: a missing one is never created (creating it needs CAP_NET_ADMIN and would
 *               be a side effect), a busy one is not shared;
 *   fd:N        an inherited, attached TAP or macvtap fd N (orchestrators), opened with
 *               IFF_TAP | IFF_NO_PI | IFF_VNET_HDR.
 * The TAP gets a 12-byte virtio-net header (VERSION_1 layout) and, where it accepts it,
 * TUN_F_CSUM (partially checksummed frames towards the guest).  MAC and MTU are the TAP's. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "launcher.h"
#include "uhs_msg.h"
#include "uhs_status.h"

#define NET_VNET_HDR_LEN 12 /* struct virtio_net_hdr_v1 (with num_buffers) */
#define NET_MIN_MTU	 68 /* virtio 1.2, 5.1.4.1 */
#define TUN_PATH	 "/dev/net/tun"

/* Linux's dev_valid_name(): 1-15 bytes, not "." or "..", no '/', ':' or white space. */
static bool valid_ifname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, "..")) {
		return false;
	}
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '/' || *p == ':' || *p == ' ' || (*p >= '\t' && *p <= '\r')) {
			return false;
		}
	}
	return true;
}

static int parse_fd(const char *s, int *fd)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < 3 || v > INT_MAX) {
		return -1;
	}
	*fd = (int)v;
	return 0;
}

int net_parse_spec(const char *spec, struct net_spec *out)
{
	memset(out, 0, sizeof *out);
	out->fd = -1;
	if (!strcmp(spec, "tap")) {
		snprintf(out->name, sizeof out->name, "%s", NET_DEFAULT_TAP);
		return 0;
	}
	if (!strncmp(spec, "tap:", 4) && valid_ifname(spec + 4)) {
		snprintf(out->name, sizeof out->name, "%s", spec + 4);
		return 0;
	}
	if (!strncmp(spec, "fd:", 3) && parse_fd(spec + 3, &out->fd) == 0) {
		return 0;
	}
	uhs_msg("invalid --net '%s': expected tap, tap:NAME (an interface name of 1-15 bytes) or "
		"fd:N (an inherited TAP fd >= 3)",
		spec);
	return -1;
}

/* TUNSETIFF on a new /dev/net/tun fd, attaching to the existing TAP `name`. */
static int attach_tap(const char *name, int *out)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int fd, err;

	if (if_nametoindex(name) == 0) {
		uhs_msg("--net: TAP device %s does not exist (create it first, e.g. `ip tuntap add "
			"dev %s mode tap`)",
			name, name);
		return ST_NET;
	}
	fd = open(TUN_PATH, O_RDWR | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		uhs_msg("--net: cannot open %s: %s", TUN_PATH, strerror(errno));
		return ST_NET;
	}
	memcpy(ifr.ifr_name, name, strlen(name) + 1);
	if (ioctl(fd, TUNSETIFF, &ifr) == 0) {
		*out = fd;
		return 0;
	}
	err = errno;
	close(fd);
	if (err == EBUSY) {
		uhs_msg("--net: TAP device %s is busy (another process is attached to it)", name);
	} else if (err == EINVAL) {
		uhs_msg(
		    "--net: %s is not a TAP device (a TUN or multi-queue device, or another kind "
		    "of interface)",
		    name);
	} else if (err == EPERM) {
		uhs_msg(
		    "--net: no permission to attach to TAP device %s (it belongs to another user "
		    "or group)",
		    name);
	} else {
		uhs_msg("--net: cannot attach to TAP device %s: %s", name, strerror(err));
	}
	return ST_NET;
}

/* The name may have gone between the check and TUNSETIFF, in which case the kernel made a new,
 * non-persistent TAP for us: close it (which removes it) and report the device as missing. */
static int check_existing(int fd, const char *name)
{
	struct ifreq ifr = {0};

	if (ioctl(fd, TUNGETIFF, &ifr) != 0 || (ifr.ifr_flags & IFF_PERSIST) == 0) {
		uhs_msg("--net: TAP device %s does not exist (it disappeared while attaching)",
			name);
		return ST_NET;
	}
	return 0;
}

/* fd:N: an attached TAP or macvtap in the right mode; made non-blocking and close-on-exec. */
static int adopt_fd(int fd, char name[16])
{
	const int want = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	struct ifreq ifr = {0};
	struct stat st;
	int fl;

	if (fcntl(fd, F_GETFD) < 0 || fstat(fd, &st) != 0) {
		uhs_msg("--net fd:%d: not an open file descriptor", fd);
		return ST_NET;
	}
	if (!S_ISCHR(st.st_mode) || ioctl(fd, TUNGETIFF, &ifr) != 0) {
		uhs_msg("--net fd:%d: not an attached TAP or macvtap device", fd);
		return ST_NET;
	}
	if ((ifr.ifr_flags & want) != want || (ifr.ifr_flags & IFF_TUN) != 0) {
		uhs_msg("--net fd:%d: %.*s was not opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR",
			fd, IFNAMSIZ - 1, ifr.ifr_name);
		return ST_NET;
	}
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		uhs_msg("--net fd:%d: fcntl: %s", fd, strerror(errno));
		return ST_NET;
	}
	memcpy(name, ifr.ifr_name, IFNAMSIZ - 1);
	name[IFNAMSIZ - 1] = '\0';
	return 0;
}

/* The interface's MTU, looked up by name in the launcher's network namespace (a TAP fd has no
 * MTU ioctl of its own); 1500 if the name is not found there (an fd from elsewhere). */
static int tap_mtu(const char *name, uint16_t *mtu)
{
	struct ifreq ifr = {0};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

	memcpy(ifr.ifr_name, name, strnlen(name, IFNAMSIZ - 1));
	rc = s < 0 ? -1 : ioctl(s, SIOCGIFMTU, &ifr);
	if (s >= 0) {
		close(s);
	}
	if (rc != 0) {
		*mtu = 1500;
		return 0;
	}
	if (ifr.ifr_mtu < NET_MIN_MTU || ifr.ifr_mtu > 65535) {
		uhs_msg("--net: %s has MTU %d; a virtio-net device needs 68 to 65535", name,
			ifr.ifr_mtu);
		return ST_NET;
	}
	*mtu = (uint16_t)ifr.ifr_mtu;
	return 0;
}

/* Header size, offloads, MAC and MTU. */
static int configure(struct vmm_net *n)
{
	int hdr = NET_VNET_HDR_LEN;
	struct ifreq ifr = {0};

	if (ioctl(n->tap_fd, TUNSETVNETHDRSZ, &hdr) != 0) {
		uhs_msg("--net: %s: TUNSETVNETHDRSZ: %s", n->name, strerror(errno));
		return ST_NET;
	}
	n->csum = ioctl(n->tap_fd, TUNSETOFFLOAD, (unsigned long)TUN_F_CSUM) == 0;
	if (ioctl(n->tap_fd, SIOCGIFHWADDR, &ifr) != 0) {
		uhs_msg("--net: %s: cannot read its MAC address: %s", n->name, strerror(errno));
		return ST_NET;
	}
	memcpy(n->mac, ifr.ifr_hwaddr.sa_data, 6);
	return tap_mtu(n->name, &n->mtu);
}

static int make_eventfds(struct vmm_net *n)
{
	int *fds[] = {&n->notify_fd[0], &n->notify_fd[1], &n->irq_fd, &n->stop_fd};

	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		*fds[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (*fds[i] < 0) {
			uhs_msg("--net: eventfd: %s", strerror(errno));
			return ST_OSERR;
		}
	}
	return 0;
}

int net_open(const struct net_spec *s, struct vmm_net *n)
{
	int rc;

	*n = (struct vmm_net){.tap_fd = -1, .notify_fd = {-1, -1}, .irq_fd = -1, .stop_fd = -1};
	if (s->fd >= 0) {
		rc = adopt_fd(s->fd, n->name);
		n->tap_fd = rc == 0 ? s->fd : -1;
	} else {
		snprintf(n->name, sizeof n->name, "%s", s->name);
		rc = attach_tap(s->name, &n->tap_fd);
		if (rc == 0) {
			rc = check_existing(n->tap_fd, s->name);
		}
	}
	if (rc == 0) {
		rc = configure(n);
	}
	if (rc == 0) {
		rc = make_eventfds(n);
	}
	if (rc != 0) {
		net_close(n);
	}
	return rc;
}

void net_close(struct vmm_net *n)
{
	int *fds[] = {&n->tap_fd, &n->notify_fd[0], &n->notify_fd[1], &n->irq_fd, &n->stop_fd};

	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		if (*fds[i] >= 0) {
			close(*fds[i]);
			*fds[i] = -1;
		}
	}
}
