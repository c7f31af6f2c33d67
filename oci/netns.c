/* SPDX-License-Identifier: MIT */
/* netns.c - the guest's network in the container's network namespace (net.h): the namespace
 * file, an rtnetlink socket inside it, the TAP, the tc redirection, the interface's address.
 *
 *   create  net_open_ns (the path from config.json), net_setup: enter the namespace, read its
 *           links, IPv4 addresses and main-table routes, choose (netsel.c), create the TAP
 *           NET_TAP_NAME (non-persistent: it goes away with uhyve-sec's fd) with the
 *           interface's MAC and MTU, an ingress qdisc on both, a u32 match-all filter with a
 *           mirred egress redirect each way, then remove the interface's address (and with it
 *           the routes through it); return to the runtime's own namespace.
 *   delete  net_restore: back into the namespace (if it is still the same one), remove the
 *           interface's ingress qdisc, put the address and the saved routes back.
 *
 * Done with rtnetlink, not ip(8)/tc(8): nothing is looked up in PATH, no container string
 * reaches an argument vector, and the kernel's answers (extended acknowledgements) come back
 * as one-line errors.  The process is single-threaded, so setns(2) moves all of it; a
 * failure to return to the runtime's namespace is an error.
 *
 * Trust: the namespace path comes from config.json and the namespace's contents may have
 * been shaped by its processes (net.h).  Runs as the runtime (root).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/magic.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "net.h"

#define RECV_MAX (64u << 10)

struct rtnl {
	int fd;
	uint32_t seq;
	uint8_t *rx; /* RECV_MAX bytes */
};

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* "what: the kernel's message (strerror)" */
static int nl_fail(char *err, size_t errlen, const char *what, const struct nlp_err *e)
{
	return fail(err, errlen, "%s: %s%s%s", what, e->msg, e->msg[0] ? " - " : "",
		    e->error ? strerror(e->error) : "malformed reply from the kernel");
}

static int rtnl_open(struct rtnl *r)
{
	int one = 1;

	r->seq = 1;
	r->rx = malloc(RECV_MAX);
	r->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (r->fd < 0 || r->rx == NULL) {
		return -1;
	}
	setsockopt(r->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one); /* best effort */
	return 0;
}

static void rtnl_close(struct rtnl *r)
{
	if (r->fd >= 0) {
		close(r->fd);
	}
	free(r->rx);
	r->fd = -1;
	r->rx = NULL;
}

/* Sends the message in b and reads replies until the request is answered. */
static int rtnl_talk(struct rtnl *r, struct nlbuf *b, struct nl_view *v, struct nlp_err *e)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	enum nlp_result res = NLP_MORE;

	*e = (struct nlp_err){0};
	if (nlb_end(b) != 0 ||
	    sendto(r->fd, b->mem, b->len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
		e->error = b->overflow ? EMSGSIZE : errno;
		return -1;
	}
	while (res == NLP_MORE) {
		struct sockaddr_nl from;
		socklen_t fl = sizeof from;
		ssize_t n =
		    recvfrom(r->fd, r->rx, RECV_MAX, MSG_TRUNC, (struct sockaddr *)&from, &fl);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0 || (size_t)n > RECV_MAX || fl != sizeof from || from.nl_pid != 0) {
			e->error = n < 0 ? errno : EPROTO;
			return -1;
		}
		res = nl_parse(r->rx, (size_t)n, r->seq, v, e);
	}
	if (res == NLP_BAD) {
		e->error = EPROTO;
	}
	return res == NLP_DONE ? 0 : -1;
}

static void req(struct rtnl *r, struct nlbuf *b, void *mem, size_t cap, uint16_t type,
		uint16_t flags)
{
	nlb_init(b, mem, cap);
	nlb_msg(b, type, (uint16_t)(NLM_F_REQUEST | flags), ++r->seq);
}

static int dump(struct rtnl *r, uint16_t type, size_t hdr, struct nl_view *v, struct nlp_err *e)
{
	uint8_t mem[64];
	struct nlbuf b;
	uint8_t *p;

	req(r, &b, mem, sizeof mem, type, NLM_F_DUMP);
	if ((p = nlb_put(&b, hdr)) != NULL) {
		p[0] =
		    type == RTM_GETLINK ? AF_UNSPEC : AF_INET; /* every *msg starts with family */
	}
	return rtnl_talk(r, &b, v, e);
}

/* Links, IPv4 addresses and main-table IPv4 routes; a dump the kernel marks as interrupted
 * by a change is read again (three times at most). */
static int read_view(struct rtnl *r, struct nl_view *v, char *err, size_t errlen)
{
	struct nlp_err e = {0};

	for (int tries = 0; tries < 3; tries++) {
		memset(v, 0, sizeof *v);
		if (dump(r, RTM_GETLINK, sizeof(struct ifinfomsg), v, &e) == 0 &&
		    dump(r, RTM_GETADDR, sizeof(struct ifaddrmsg), v, &e) == 0 &&
		    dump(r, RTM_GETROUTE, sizeof(struct rtmsg), v, &e) == 0) {
			return 0;
		}
		if (e.error != EINTR) {
			break;
		}
	}
	return nl_fail(err, errlen, "cannot read the network namespace", &e);
}

/* A request that only needs an acknowledgement. */
static int ack(struct rtnl *r, struct nlbuf *b, struct nlp_err *e)
{
	return rtnl_talk(r, b, NULL, e);
}

static int link_set(struct rtnl *r, int index, const struct net_cfg *c, struct nlp_err *e)
{
	uint8_t mem[256];
	struct nlbuf b;
	struct ifinfomsg *ifi;

	req(r, &b, mem, sizeof mem, RTM_NEWLINK, NLM_F_ACK);
	if ((ifi = nlb_put(&b, sizeof *ifi)) != NULL) {
		ifi->ifi_family = AF_UNSPEC;
		ifi->ifi_index = index;
		ifi->ifi_flags = IFF_UP;
		ifi->ifi_change = IFF_UP;
	}
	nlb_attr(&b, IFLA_ADDRESS, c->mac, 6);
	nlb_attr_u32(&b, IFLA_MTU, c->mtu);
	return ack(r, &b, e);
}

/* No IPv6 link-local address on the TAP: the namespace's stack would otherwise send the
 * guest router solicitations and DAD probes.  Best effort (a kernel without IPv6 refuses). */
static void tap_no_ipv6(struct rtnl *r, int index)
{
	uint8_t mem[128], mode = IN6_ADDR_GEN_MODE_NONE;
	struct nlbuf b;
	struct ifinfomsg *ifi;
	struct nlp_err e;
	size_t spec, inet6;

	req(r, &b, mem, sizeof mem, RTM_NEWLINK, NLM_F_ACK);
	if ((ifi = nlb_put(&b, sizeof *ifi)) != NULL) {
		ifi->ifi_family = AF_UNSPEC;
		ifi->ifi_index = index;
	}
	spec = nlb_nest(&b, IFLA_AF_SPEC);
	inet6 = nlb_nest(&b, AF_INET6);
	nlb_attr(&b, IFLA_INET6_ADDR_GEN_MODE, &mode, sizeof mode);
	nlb_nest_end(&b, inet6);
	nlb_nest_end(&b, spec);
	ack(r, &b, &e);
}

static int addr_req(struct rtnl *r, uint16_t type, const struct net_cfg *c, struct nlp_err *e)
{
	uint8_t mem[256];
	struct nlbuf b;
	struct ifaddrmsg *ifa;

	req(r, &b, mem, sizeof mem, type,
	    NLM_F_ACK | (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0));
	if ((ifa = nlb_put(&b, sizeof *ifa)) != NULL) {
		ifa->ifa_family = AF_INET;
		ifa->ifa_prefixlen = c->prefix;
		ifa->ifa_scope = c->scope;
		ifa->ifa_index = (uint32_t)c->ifindex;
	}
	nlb_attr_u32(&b, IFA_LOCAL, c->addr);
	nlb_attr_u32(&b, IFA_ADDRESS, c->addr);
	if (type == RTM_NEWADDR && c->bcast != 0) {
		nlb_attr_u32(&b, IFA_BROADCAST, c->bcast);
	}
	return ack(r, &b, e);
}

static int route_add(struct rtnl *r, const struct nl_route *rt, struct nlp_err *e)
{
	uint8_t mem[256];
	struct nlbuf b;
	struct rtmsg *m;

	req(r, &b, mem, sizeof mem, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	if ((m = nlb_put(&b, sizeof *m)) != NULL) {
		*m = (struct rtmsg){.rtm_family = AF_INET,
				    .rtm_dst_len = rt->dst_len,
				    .rtm_table = RT_TABLE_MAIN,
				    .rtm_protocol = rt->protocol,
				    .rtm_scope = rt->scope,
				    .rtm_type = RTN_UNICAST};
	}
	if (rt->dst_len > 0) {
		nlb_attr_u32(&b, RTA_DST, rt->dst);
	}
	if (rt->gw != 0) {
		nlb_attr_u32(&b, RTA_GATEWAY, rt->gw);
	}
	if (rt->prefsrc != 0) {
		nlb_attr_u32(&b, RTA_PREFSRC, rt->prefsrc);
	}
	if (rt->priority != 0) {
		nlb_attr_u32(&b, RTA_PRIORITY, rt->priority);
	}
	nlb_attr_u32(&b, RTA_OIF, (uint32_t)rt->oif);
	return ack(r, &b, e);
}

/* RTM_NEWQDISC (exclusive: an existing ingress qdisc is someone's, never replaced) or
 * RTM_DELQDISC of the ingress qdisc of index. */
static int qdisc(struct rtnl *r, uint16_t type, int index, struct nlp_err *e)
{
	uint8_t mem[128];
	struct nlbuf b;
	struct tcmsg *t;

	req(r, &b, mem, sizeof mem, type,
	    NLM_F_ACK | (type == RTM_NEWQDISC ? NLM_F_CREATE | NLM_F_EXCL : 0));
	if ((t = nlb_put(&b, sizeof *t)) != NULL) {
		t->tcm_family = AF_UNSPEC;
		t->tcm_ifindex = index;
		t->tcm_handle = TC_H_MAKE(TC_H_INGRESS, 0);
		t->tcm_parent = TC_H_INGRESS;
	}
	nlb_attr_str(&b, TCA_KIND, "ingress");
	return ack(r, &b, e);
}

/* tc filter add dev FROM parent ffff: protocol all u32 match u8 0 0
 *     action mirred egress redirect dev TO */
static int redirect(struct rtnl *r, int from, int to, struct nlp_err *e)
{
	uint8_t mem[512];
	struct {
		struct tc_u32_sel sel;
		struct tc_u32_key key;
	} sel = {.sel = {.flags = TC_U32_TERMINAL, .nkeys = 1}};
	struct tc_mirred m = {
	    .action = TC_ACT_STOLEN, .eaction = TCA_EGRESS_REDIR, .ifindex = (uint32_t)to};
	struct nlbuf b;
	struct tcmsg *t;
	size_t opts, acts, act, aopts;

	req(r, &b, mem, sizeof mem, RTM_NEWTFILTER, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
	if ((t = nlb_put(&b, sizeof *t)) != NULL) {
		t->tcm_family = AF_UNSPEC;
		t->tcm_ifindex = from;
		t->tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0);
		t->tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_ALL)); /* priority 1, all protocols */
	}
	nlb_attr_str(&b, TCA_KIND, "u32");
	opts = nlb_nest(&b, TCA_OPTIONS);
	nlb_attr(&b, TCA_U32_SEL, &sel, sizeof sel);
	acts = nlb_nest(&b, TCA_U32_ACT);
	act = nlb_nest(&b, 1);
	nlb_attr_str(&b, TCA_ACT_KIND, "mirred");
	aopts = nlb_nest(&b, TCA_ACT_OPTIONS);
	nlb_attr(&b, TCA_MIRRED_PARMS, &m, sizeof m);
	nlb_nest_end(&b, aopts);
	nlb_nest_end(&b, act);
	nlb_nest_end(&b, acts);
	nlb_nest_end(&b, opts);
	return ack(r, &b, e);
}

/* ---- the TAP ---- */

static int tap_create(int *fd, int *index, char *err, size_t errlen)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};

	*fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (*fd < 0) {
		return fail(err, errlen, "cannot open /dev/net/tun: %s", strerror(errno));
	}
	memcpy(ifr.ifr_name, NET_TAP_NAME, sizeof NET_TAP_NAME);
	if (ioctl(*fd, TUNSETIFF, &ifr) != 0) {
		int e = errno;
		return fail(err, errlen,
			    "cannot create the TAP " NET_TAP_NAME " in the network "
			    "namespace: %s",
			    e == EBUSY ? "it exists and is in use (another Hermit container?)"
				       : strerror(e));
	}
	/* a persistent TAP of that name was there already: it is someone else's */
	if (ioctl(*fd, TUNGETIFF, &ifr) != 0 || (ifr.ifr_flags & IFF_PERSIST) != 0 ||
	    (*index = (int)if_nametoindex(NET_TAP_NAME)) == 0) {
		return fail(err, errlen, "the network namespace already has a TAP " NET_TAP_NAME);
	}
	return 0;
}

/* ---- set-up and restore, inside the namespace ---- */

/* Puts the address and the saved routes back (scope link routes first: the others may go
 * through them), after removing our ingress qdisc.  Errors are ignored: best effort. */
static void restore_inside(struct rtnl *r, const struct net_cfg *c, bool qdisc_too, bool addr)
{
	struct nlp_err e;

	if (qdisc_too) {
		qdisc(r, RTM_DELQDISC, c->ifindex, &e);
	}
	if (!addr || (addr_req(r, RTM_NEWADDR, c, &e) != 0 && e.error != EEXIST)) {
		return;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < c->nroutes; i++) {
			if ((c->routes[i].scope == RT_SCOPE_UNIVERSE) == (pass == 1)) {
				route_add(r, &c->routes[i], &e);
			}
		}
	}
}

static int apply(struct rtnl *r, struct net_job *n, char *err, size_t errlen)
{
	const struct net_cfg *c = &n->cfg;
	struct nlp_err e;
	int tap;

	if (tap_create(&n->tap_fd, &tap, err, errlen) != 0) {
		return -1;
	}
	tap_no_ipv6(r, tap);
	if (link_set(r, tap, c, &e) != 0) {
		return nl_fail(err, errlen, "cannot set up the TAP " NET_TAP_NAME, &e);
	}
	if (qdisc(r, RTM_NEWQDISC, c->ifindex, &e) != 0) {
		return e.error == EEXIST ? fail(err, errlen,
						"interface %s already has an ingress qdisc (tc): "
						"refusing to replace it",
						c->ifname)
					 : nl_fail(err, errlen, "tc ingress qdisc", &e);
	}
	n->qdisc = true;
	if (qdisc(r, RTM_NEWQDISC, tap, &e) != 0 || redirect(r, c->ifindex, tap, &e) != 0 ||
	    redirect(r, tap, c->ifindex, &e) != 0) {
		return nl_fail(err, errlen, "tc redirection between the interface and the TAP", &e);
	}
	if (addr_req(r, RTM_DELADDR, c, &e) != 0) {
		return nl_fail(err, errlen, "cannot remove the interface's address", &e);
	}
	n->unaddressed = true;
	return 0;
}

static int setup_inside(struct net_job *n, char *err, size_t errlen)
{
	struct nl_view *v = calloc(1, sizeof *v);
	struct rtnl r = {.fd = -1};
	int rc = -1;

	if (v == NULL || rtnl_open(&r) != 0) {
		fail(err, errlen, "cannot open an rtnetlink socket: %s", strerror(errno));
	} else if (read_view(&r, v, err, errlen) == 0) {
		if (net_only_loopback(v)) {
			rc = 1;
		} else if (net_select(v, &n->cfg, err, errlen) == 0) {
			rc = apply(&r, n, err, errlen);
		}
	}
	if (rc < 0 && r.fd >= 0) {
		if (n->tap_fd >= 0) {
			close(n->tap_fd); /* the TAP goes, and its qdisc and filter with it */
			n->tap_fd = -1;
		}
		restore_inside(&r, &n->cfg, n->qdisc, n->unaddressed);
		n->qdisc = n->unaddressed = false;
	}
	rtnl_close(&r);
	free(v);
	return rc;
}

/* ---- the namespace ---- */

static int same_ns(const struct stat *st, const char *path)
{
	struct stat o;

	return stat(path, &o) == 0 && o.st_dev == st->st_dev && o.st_ino == st->st_ino;
}

/* Opens path only if it is an nsfs file: looked at through O_PATH first, so that a FIFO or a
 * device named by config.json is never opened for real (no blocking, no side effect).
 * Returns an O_RDONLY fd, -1 with errno, or -2 for something else than an nsfs file. */
static int open_nsfs(const char *path)
{
	char proc[64];
	struct statfs sf;
	int p = open(path, O_PATH | O_CLOEXEC), fd;

	if (p < 0) {
		return -1;
	}
	if (fstatfs(p, &sf) != 0 || sf.f_type != NSFS_MAGIC) {
		close(p);
		return -2;
	}
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", p);
	fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	close(p);
	return fd;
}

int net_open_ns(const char *path, struct net_job *n, char *err, size_t errlen)
{
	struct stat st;
	int fd = open_nsfs(path);

	if (fd == -1) {
		return fail(err, errlen, "network namespace %.256s: %s", path, strerror(errno));
	}
	if (fd < 0 || ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET || fstat(fd, &st) != 0) {
		if (fd >= 0) {
			close(fd);
		}
		return fail(err, errlen, "network namespace %.256s: not a network namespace", path);
	}
	if (same_ns(&st, "/proc/self/ns/net") || same_ns(&st, "/proc/1/ns/net")) {
		close(fd);
		return fail(
		    err, errlen,
		    "network namespace %.256s is the host's: the guest cannot take over the "
		    "host's network",
		    path);
	}
	n->ns_fd = fd;
	n->cfg.ns_dev = (uint64_t)st.st_dev;
	n->cfg.ns_ino = (uint64_t)st.st_ino;
	if ((n->cfg.ns_path = strdup(path)) == NULL) {
		return fail(err, errlen, "out of memory");
	}
	return 0;
}

/* Runs fn inside the namespace ns_fd and comes back.  Returns fn's result, or -1. */
static int in_ns(int ns_fd, int (*fn)(void *, char *, size_t), void *arg, char *err, size_t errlen)
{
	int back = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), rc;

	if (back < 0 || setns(ns_fd, CLONE_NEWNET) != 0) {
		rc = fail(err, errlen, "cannot enter the network namespace: %s", strerror(errno));
		if (back >= 0) {
			close(back);
		}
		return rc;
	}
	rc = fn(arg, err, errlen);
	if (setns(back, CLONE_NEWNET) != 0) {
		/* cannot happen for root with our own namespace's fd; never go on in theirs */
		fprintf(stderr, "uhyve-sec-oci: cannot return to its network namespace: %s\n",
			strerror(errno));
		_exit(1);
	}
	close(back);
	return rc;
}

static int setup_fn(void *arg, char *err, size_t errlen)
{
	return setup_inside(arg, err, errlen);
}

int net_setup(struct net_job *n, char *err, size_t errlen)
{
	return in_ns(n->ns_fd, setup_fn, n, err, errlen);
}

struct restore_arg {
	const struct net_cfg *c;
	bool qdisc, addr;
	bool check_link; /* delete: the interface must still be the one we changed */
};

static int restore_fn(void *arg, char *err, size_t errlen)
{
	const struct restore_arg *a = arg;
	struct nl_view *v = a->check_link ? calloc(1, sizeof *v) : NULL;
	struct rtnl r = {.fd = -1};
	int rc = 0;

	if (rtnl_open(&r) != 0 || (a->check_link && v == NULL)) {
		rc = fail(err, errlen, "cannot open an rtnetlink socket: %s", strerror(errno));
	} else if (a->check_link && (rc = read_view(&r, v, err, errlen)) == 0) {
		bool found = false;
		for (size_t i = 0; i < v->nlinks; i++) {
			found |= v->links[i].index == a->c->ifindex &&
				 strcmp(v->links[i].name, a->c->ifname) == 0;
		}
		rc = found ? 0 : 1; /* the interface is gone: nothing to put back */
	}
	if (rc == 0) {
		restore_inside(&r, a->c, a->qdisc, a->addr);
	}
	rtnl_close(&r);
	free(v);
	return rc;
}

void net_undo(struct net_job *n)
{
	struct restore_arg a = {&n->cfg, n->qdisc, n->unaddressed, false};
	char err[256];

	if (n->tap_fd >= 0) {
		close(n->tap_fd);
		n->tap_fd = -1;
	}
	if (n->ns_fd >= 0 && (a.qdisc || a.addr)) {
		in_ns(n->ns_fd, restore_fn, &a, err, sizeof err);
	}
	n->qdisc = n->unaddressed = false;
}

int net_restore(const char *text, size_t len, char *err, size_t errlen)
{
	struct net_cfg c;
	struct restore_arg a = {&c, true, true, true};
	struct stat st;
	int fd, rc = 1;

	if (net_load(text, len, &c, err, errlen) != 0) {
		return -1;
	}
	fd = open_nsfs(c.ns_path);
	if (fd >= 0 && fstat(fd, &st) == 0 && (uint64_t)st.st_dev == c.ns_dev &&
	    (uint64_t)st.st_ino == c.ns_ino) {
		rc = in_ns(fd, restore_fn, &a, err, errlen);
	}
	if (fd >= 0) {
		close(fd);
	}
	net_cfg_free(&c);
	return rc;
}

void net_job_free(struct net_job *n)
{
	if (n->tap_fd >= 0) {
		close(n->tap_fd);
	}
	if (n->ns_fd >= 0) {
		close(n->ns_fd);
	}
	net_cfg_free(&n->cfg);
	n->tap_fd = n->ns_fd = -1;
}
