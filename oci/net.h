/* SPDX-License-Identifier: MIT */
/* net.h - the guest's network from the container's network namespace (docs/oci.md,
 * "Networking").
 *
 * When config.json names a network namespace by path (podman's bridge network, a CNI pod
 * namespace), create gives the guest that namespace's network, Kata's "tcfilter" way: inside
 * the namespace it creates a TAP (NET_TAP_NAME) with the container interface's MAC and MTU,
 * redirects everything arriving on the interface to the TAP and everything the guest sends
 * on the TAP to the interface (tc ingress qdiscs, u32 match-all filters, mirred egress
 * redirect), and removes the interface's IPv4 address so the namespace's own stack no longer
 * answers for it.  uhyve-sec gets the TAP's fd (--net fd:NET_TAP_FD) and the guest
 * HERMIT_IP/GATEWAY/MASK.  delete puts the address, its routes and the tc set-up back.
 *
 *   nlmsg.c   (pure) rtnetlink messages: a builder, and a parser of the kernel's replies
 *             into struct nl_view;
 *   netsel.c  (pure) the choice of interface, address and gateway from a view, the guest's
 *             environment, and the saved set-up (net.json) for delete;
 *   netns.c   (system calls) the namespace, the rtnetlink socket, the TAP and tc.
 *
 * Trust: the namespace's contents (interface names, addresses, routes) may have been changed
 * by processes inside it (a pod's containers with CAP_NET_ADMIN): the replies are parsed with
 * every length checked, and the choice fails closed on anything unexpected.  The namespace
 * path comes from config.json; the runtime refuses its own and the host's (PID 1's)
 * namespace.
 */
#ifndef UHS_OCI_NET_H
#define UHS_OCI_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define NET_TAP_NAME	"uhs-guest0" /* the TAP inside the container's namespace */
#define NET_TAP_FD	4 /* its fd number in uhyve-sec (3 is --status-fd) */
#define NET_VIEW_MAX	256 /* links, addresses, routes read from a namespace */
#define NET_SAVE_ROUTES 32 /* routes through the interface saved for delete */
#define NET_NAME_MAX	16 /* IFNAMSIZ */

/* ---- what the kernel reports (nlmsg.c) ---- */
struct nl_link {
	int index;
	unsigned type; /* ARPHRD_* */
	unsigned flags; /* IFF_* */
	unsigned mtu;
	char name[NET_NAME_MAX];
	char kind[16]; /* IFLA_INFO_KIND ("veth"), "" if none */
	uint8_t mac[6];
	bool has_mac; /* IFLA_ADDRESS of exactly 6 bytes */
};

struct nl_addr {
	int index;
	uint8_t prefix;
	uint8_t scope;
	uint32_t flags; /* IFA_F_* (IFA_FLAGS when present) */
	uint32_t local; /* network byte order */
	uint32_t bcast; /* network byte order, 0 if none */
};

struct nl_route {
	int oif; /* 0 if none (multipath, blackhole...) */
	uint8_t dst_len, scope, protocol, type;
	uint32_t table;
	uint32_t dst, gw, prefsrc; /* network byte order, 0 if absent */
	uint32_t priority;
};

struct nl_view {
	struct nl_link links[NET_VIEW_MAX];
	struct nl_addr addrs[NET_VIEW_MAX];
	struct nl_route routes[NET_VIEW_MAX]; /* IPv4, main table only */
	size_t nlinks, naddrs, nroutes;
	bool overflow; /* more entries than NET_VIEW_MAX of some kind */
};

/* ---- building requests ---- */
struct nlbuf {
	uint8_t *mem;
	size_t cap, len;
	size_t msg; /* offset of the message being built */
	bool overflow;
};
void nlb_init(struct nlbuf *b, void *mem, size_t cap);
/* Starts a message (appended after any earlier ones). */
void nlb_msg(struct nlbuf *b, uint16_t type, uint16_t flags, uint32_t seq);
/* Appends len zeroed bytes (4-aligned) and returns them, or NULL on overflow. */
void *nlb_put(struct nlbuf *b, size_t len);
void nlb_attr(struct nlbuf *b, uint16_t type, const void *data, size_t len);
void nlb_attr_u32(struct nlbuf *b, uint16_t type, uint32_t v);
void nlb_attr_str(struct nlbuf *b, uint16_t type, const char *s);
size_t nlb_nest(struct nlbuf *b, uint16_t type);
void nlb_nest_end(struct nlbuf *b, size_t at);
/* Sets the message length.  Returns 0, or -1 if anything did not fit. */
int nlb_end(struct nlbuf *b);

/* ---- parsing replies ---- */
enum nlp_result { NLP_MORE, NLP_DONE, NLP_ERROR, NLP_BAD };
struct nlp_err {
	int error; /* NLP_ERROR: the kernel's errno (positive) */
	char msg[160]; /* its extended-ack message, sanitised, or "" */
};
/* Parses one datagram of replies to request seq: RTM_NEWLINK, RTM_NEWADDR (AF_INET) and
 * RTM_NEWROUTE (AF_INET, main table) are added to v (v may be NULL for an acknowledgement).
 * NLP_MORE: a dump goes on; NLP_DONE: NLMSG_DONE or a positive acknowledgement; NLP_ERROR: the
 * kernel refused (e); NLP_BAD: a malformed message, a wrong sequence number or a field out of
 * range. */
enum nlp_result nl_parse(const void *buf, size_t len, uint32_t seq, struct nl_view *v,
			 struct nlp_err *e);

/* ---- the choice (netsel.c) ---- */
struct net_cfg {
	/* the namespace */
	char *ns_path;
	uint64_t ns_dev, ns_ino;
	/* the container interface */
	int ifindex;
	char ifname[NET_NAME_MAX];
	uint8_t mac[6];
	unsigned mtu;
	/* what the guest gets */
	uint32_t addr, gw; /* network byte order */
	uint8_t prefix;
	bool has_gw; /* a default route through the interface; else gw = addr */
	/* what delete puts back */
	uint32_t bcast;
	uint8_t scope;
	struct nl_route routes[NET_SAVE_ROUTES]; /* non-kernel routes through the interface */
	size_t nroutes;
};

/* Chooses the interface (the one of the lowest-metric IPv4 default route, else the only
 * interface with an IPv4 address), its address and the gateway.  The interface must be a
 * veth with an Ethernet MAC, an MTU of 68 to 65535 and exactly one IPv4 address, and the
 * namespace may not hold NET_TAP_NAME already.  Returns 0, or -1 with a one-line reason. */
int net_select(const struct nl_view *v, struct net_cfg *c, char *err, size_t errlen);
/* No interface but loopback (a namespace made without a network): the guest gets none. */
bool net_only_loopback(const struct nl_view *v);
/* "HERMIT_IP=a.b.c.d" and so on, into env[0..2] (each 40 bytes). */
void net_guest_env(const struct net_cfg *c, char env[3][40]);
/* "255.255.240.0" for prefix 20 (network byte order). */
uint32_t net_mask(uint8_t prefix);
/* net.json: what create did, for delete.  net_save returns malloc'd text or NULL. */
char *net_save(const struct net_cfg *c);
int net_load(const char *text, size_t len, struct net_cfg *c, char *err, size_t errlen);
void net_cfg_free(struct net_cfg *c);

/* ---- the namespace (netns.c) ---- */
struct net_job {
	int ns_fd; /* the namespace, O_RDONLY, -1 if none */
	int tap_fd; /* the TAP, -1 if none */
	bool qdisc; /* the interface got our ingress qdisc */
	bool unaddressed; /* the interface's address was removed */
	struct net_cfg cfg;
};
/* Opens the namespace at path: an nsfs file of a network namespace other than the runtime's
 * own and PID 1's.  Returns 0 or -1 with err. */
int net_open_ns(const char *path, struct net_job *n, char *err, size_t errlen);
/* Inside the namespace: reads it, chooses (net_select), creates the TAP and the redirection,
 * removes the address.  On failure everything done is undone.  Returns 0, 1 when the
 * namespace has no interface but loopback (the guest gets no network), or -1 with err. */
int net_setup(struct net_job *n, char *err, size_t errlen);
/* Undoes net_setup (create failed later): closes the TAP, restores the namespace. */
void net_undo(struct net_job *n);
/* delete: restores the namespace from the text of net.json.  Returns 0, 1 when there was
 * nothing to restore (the namespace or the interface is gone, or another namespace is at the
 * path), or -1 with err. */
int net_restore(const char *text, size_t len, char *err, size_t errlen);
void net_job_free(struct net_job *n);

#endif
