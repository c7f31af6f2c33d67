/* SPDX-License-Identifier: MIT */
/* test_oci_net.c - the pure parts of the container network set-up (oci/net.h) without a
 * namespace: the rtnetlink builder, the parser of the kernel's replies (well-formed, hostile
 * and truncated), the choice of interface, address and gateway, the guest's HERMIT_*
 * environment, net.json, the network namespace entry of config.json, and the translation's
 * --net fd:N and environment.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "net.h"
#include "oci.h"

#define SEQ 7

static char err[1024];
static uint8_t mem[1 << 16];
static struct nl_view view;

static uint32_t ip(const char *s)
{
	struct in_addr a;

	assert_int_equal(inet_pton(AF_INET, s, &a), 1);
	return a.s_addr;
}

/* ---- reply builders (the kernel's side, made with the builder under test) ---- */

static void add_link(struct nlbuf *b, int index, const char *name, const char *kind,
		     const uint8_t *mac, uint32_t mtu, unsigned type, unsigned flags)
{
	struct ifinfomsg *ifi;

	nlb_msg(b, RTM_NEWLINK, NLM_F_MULTI, SEQ);
	ifi = nlb_put(b, sizeof *ifi);
	ifi->ifi_index = index;
	ifi->ifi_type = (unsigned short)type;
	ifi->ifi_flags = flags;
	nlb_attr_str(b, IFLA_IFNAME, name);
	nlb_attr_u32(b, IFLA_MTU, mtu);
	if (mac != NULL) {
		nlb_attr(b, IFLA_ADDRESS, mac, 6);
	}
	if (kind != NULL) {
		size_t li = nlb_nest(b, IFLA_LINKINFO);
		nlb_attr_str(b, IFLA_INFO_KIND, kind);
		nlb_nest_end(b, li);
	}
	assert_int_equal(nlb_end(b), 0);
}

static void add_addr(struct nlbuf *b, int family, int index, const char *addr, int prefix)
{
	struct ifaddrmsg *ifa;

	nlb_msg(b, RTM_NEWADDR, NLM_F_MULTI, SEQ);
	ifa = nlb_put(b, sizeof *ifa);
	ifa->ifa_family = (uint8_t)family;
	ifa->ifa_prefixlen = (uint8_t)prefix;
	ifa->ifa_index = (uint32_t)index;
	if (family == AF_INET) {
		nlb_attr_u32(b, IFA_ADDRESS, ip(addr));
		nlb_attr_u32(b, IFA_LOCAL, ip(addr));
	} else {
		uint8_t six[16] = {0xfe, 0x80};
		nlb_attr(b, IFA_ADDRESS, six, sizeof six);
	}
	assert_int_equal(nlb_end(b), 0);
}

static void add_route(struct nlbuf *b, int table, const char *dst, int len, const char *gw, int oif,
		      uint32_t prio, int proto)
{
	struct rtmsg *r;

	nlb_msg(b, RTM_NEWROUTE, NLM_F_MULTI, SEQ);
	r = nlb_put(b, sizeof *r);
	r->rtm_family = AF_INET;
	r->rtm_dst_len = (uint8_t)len;
	r->rtm_table = (uint8_t)(table < 256 ? table : RT_TABLE_COMPAT);
	r->rtm_protocol = (uint8_t)proto;
	r->rtm_type = RTN_UNICAST;
	if (table >= 256) {
		nlb_attr_u32(b, RTA_TABLE, (uint32_t)table);
	}
	if (len > 0) {
		nlb_attr_u32(b, RTA_DST, ip(dst));
	}
	if (gw != NULL) {
		nlb_attr_u32(b, RTA_GATEWAY, ip(gw));
	}
	if (prio != 0) {
		nlb_attr_u32(b, RTA_PRIORITY, prio);
	}
	nlb_attr_u32(b, RTA_OIF, (uint32_t)oif);
	assert_int_equal(nlb_end(b), 0);
}

static void add_done(struct nlbuf *b, int32_t code)
{
	int32_t *p;

	nlb_msg(b, NLMSG_DONE, NLM_F_MULTI, SEQ);
	p = nlb_put(b, sizeof *p);
	*p = code;
	assert_int_equal(nlb_end(b), 0);
}

static const uint8_t mac1[6] = {0x0a, 0x58, 0x0a, 0x4d, 0x03, 0x02};

/* A podman/CNI-like namespace: lo, eth0 (veth) 10.77.3.2/24, default via 10.77.3.1. */
static void pod_ns(struct nlbuf *b)
{
	add_link(b, 1, "lo", NULL, NULL, 65536, ARPHRD_LOOPBACK, IFF_LOOPBACK | IFF_UP);
	add_link(b, 2, "eth0", "veth", mac1, 1400, ARPHRD_ETHER, IFF_UP);
	add_addr(b, AF_INET, 1, "127.0.0.1", 8);
	add_addr(b, AF_INET, 2, "10.77.3.2", 24);
	add_addr(b, AF_INET6, 2, NULL, 64);
	add_route(b, RT_TABLE_MAIN, NULL, 0, "10.77.3.1", 2, 0, RTPROT_BOOT);
	add_route(b, RT_TABLE_MAIN, "10.77.3.0", 24, NULL, 2, 0, RTPROT_KERNEL);
	add_route(b, RT_TABLE_LOCAL, "10.77.3.2", 32, NULL, 2, 0, RTPROT_KERNEL);
	add_done(b, 0);
}

static enum nlp_result parse_all(const struct nlbuf *b, struct nlp_err *e)
{
	memset(&view, 0, sizeof view);
	return nl_parse(b->mem, b->len, SEQ, &view, e);
}

/* ---- builder ---- */

static void builder(void **state)
{
	uint8_t small[24];
	struct nlbuf b;
	struct nlmsghdr h;
	struct rtattr a;
	size_t nest;

	(void)state;
	nlb_init(&b, mem, sizeof mem);
	nlb_msg(&b, RTM_NEWLINK, NLM_F_REQUEST, 3);
	nest = nlb_nest(&b, IFLA_LINKINFO);
	nlb_attr_str(&b, IFLA_INFO_KIND, "veth"); /* 4 + 5 bytes, padded to 12 */
	nlb_nest_end(&b, nest);
	assert_int_equal(nlb_end(&b), 0);
	memcpy(&h, mem, sizeof h);
	assert_int_equal(h.nlmsg_len, 16 + 4 + 12);
	assert_int_equal(h.nlmsg_seq, 3);
	memcpy(&a, mem + 16, sizeof a);
	assert_int_equal(a.rta_len, 4 + 12); /* a nest's length covers its padded contents */
	assert_int_equal(a.rta_type, IFLA_LINKINFO);
	memcpy(&a, mem + 20, sizeof a);
	assert_int_equal(a.rta_len, 4 + 5);
	assert_int_equal(a.rta_type, IFLA_INFO_KIND);
	/* what does not fit makes the message fail, not a short one */
	nlb_init(&b, small, sizeof small);
	nlb_msg(&b, RTM_NEWLINK, NLM_F_REQUEST, 1);
	nlb_attr_str(&b, IFLA_IFNAME, "a-long-name");
	assert_true(b.overflow);
	assert_int_equal(nlb_end(&b), -1);
}

/* ---- parser ---- */

static void parse_dump(void **state)
{
	struct nlbuf b;
	struct nlp_err e;

	(void)state;
	nlb_init(&b, mem, sizeof mem);
	pod_ns(&b);
	assert_int_equal(parse_all(&b, &e), NLP_DONE);
	assert_int_equal(view.nlinks, 2);
	assert_string_equal(view.links[1].name, "eth0");
	assert_string_equal(view.links[1].kind, "veth");
	assert_true(view.links[1].has_mac);
	assert_memory_equal(view.links[1].mac, mac1, 6);
	assert_int_equal(view.links[1].mtu, 1400);
	assert_int_equal(view.naddrs, 2); /* IPv6 is left alone */
	assert_int_equal(view.addrs[1].local, ip("10.77.3.2"));
	assert_int_equal(view.addrs[1].prefix, 24);
	assert_int_equal(view.nroutes, 2); /* the local table's route is not kept */
	assert_int_equal(view.routes[0].gw, ip("10.77.3.1"));
	assert_int_equal(view.routes[0].oif, 2);
	/* a dump split over datagrams: MORE until DONE */
	nlb_init(&b, mem, sizeof mem);
	add_link(&b, 5, "x", "veth", mac1, 1500, ARPHRD_ETHER, 0);
	memset(&view, 0, sizeof view);
	assert_int_equal(nl_parse(b.mem, b.len, SEQ, &view, &e), NLP_MORE);
	/* a route table id above 255 comes in RTA_TABLE */
	nlb_init(&b, mem, sizeof mem);
	add_route(&b, 1000, NULL, 0, "10.0.0.1", 2, 0, RTPROT_BOOT);
	add_done(&b, 0);
	assert_int_equal(parse_all(&b, &e), NLP_DONE);
	assert_int_equal(view.nroutes, 0);
}

static void parse_acks(void **state)
{
	struct nlbuf b;
	struct nlp_err e;
	struct nlmsgerr *me;

	(void)state;
	nlb_init(&b, mem, sizeof mem);
	nlb_msg(&b, NLMSG_ERROR, 0, SEQ);
	me = nlb_put(&b, sizeof *me);
	me->error = 0;
	assert_int_equal(nlb_end(&b), 0);
	assert_int_equal(nl_parse(b.mem, b.len, SEQ, NULL, &e), NLP_DONE);
	/* a refusal with an extended acknowledgement (capped: no copy of the request) */
	nlb_init(&b, mem, sizeof mem);
	nlb_msg(&b, NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, SEQ);
	me = nlb_put(&b, sizeof *me);
	me->error = -EEXIST;
	me->msg.nlmsg_len = sizeof me->msg;
	nlb_attr_str(&b, NLMSGERR_ATTR_MSG, "Exclusivity flag on\x01");
	assert_int_equal(nlb_end(&b), 0);
	assert_int_equal(nl_parse(b.mem, b.len, SEQ, NULL, &e), NLP_ERROR);
	assert_int_equal(e.error, EEXIST);
	assert_string_equal(e.msg, "Exclusivity flag on?");
	/* not capped: the request follows and the TLVs come after it */
	nlb_init(&b, mem, sizeof mem);
	nlb_msg(&b, NLMSG_ERROR, NLM_F_ACK_TLVS, SEQ);
	me = nlb_put(&b, sizeof *me + 8);
	me->error = -ENOENT;
	me->msg.nlmsg_len = sizeof me->msg + 8;
	nlb_attr_str(&b, NLMSGERR_ATTR_MSG, "TC classifier not found");
	assert_int_equal(nlb_end(&b), 0);
	assert_int_equal(nl_parse(b.mem, b.len, SEQ, NULL, &e), NLP_ERROR);
	assert_string_equal(e.msg, "TC classifier not found");
	/* a dump cut short, and one the kernel marks as interrupted by a change */
	nlb_init(&b, mem, sizeof mem);
	add_done(&b, -ENOBUFS);
	assert_int_equal(parse_all(&b, &e), NLP_ERROR);
	assert_int_equal(e.error, ENOBUFS);
	nlb_init(&b, mem, sizeof mem);
	pod_ns(&b);
	((struct nlmsghdr *)mem)->nlmsg_flags |= NLM_F_DUMP_INTR;
	assert_int_equal(parse_all(&b, &e), NLP_ERROR);
	assert_int_equal(e.error, EINTR);
}

static void expect_bad(const struct nlbuf *b, size_t len)
{
	struct nlp_err e;

	memset(&view, 0, sizeof view);
	assert_int_equal(nl_parse(b->mem, len, SEQ, &view, &e), NLP_BAD);
}

static void parse_hostile(void **state)
{
	struct nlbuf b;
	struct nlp_err e;
	struct rtattr *a;
	size_t one;

	(void)state;
	nlb_init(&b, mem, sizeof mem);
	add_link(&b, 2, "eth0", "veth", mac1, 1500, ARPHRD_ETHER, 0);
	one = b.len;
	/* every truncation of a message is refused, never read past */
	for (size_t n = 0; n < one; n++) {
		expect_bad(&b, n);
	}
	/* a wrong sequence number, an unknown message type */
	memset(&view, 0, sizeof view);
	assert_int_equal(nl_parse(b.mem, b.len, SEQ + 1, &view, &e), NLP_BAD);
	((struct nlmsghdr *)mem)->nlmsg_type = 0x7777;
	expect_bad(&b, b.len);
	/* the name attribute without its NUL; the MTU of 2 bytes; an attribute past the end */
	nlb_init(&b, mem, sizeof mem);
	add_link(&b, 2, "eth0", NULL, NULL, 1500, ARPHRD_ETHER, 0);
	a = (struct rtattr *)(mem + sizeof(struct nlmsghdr) + sizeof(struct ifinfomsg));
	mem[(uint8_t *)a - mem + a->rta_len - 1] = 'x';
	expect_bad(&b, b.len);
	a->rta_len = 200;
	expect_bad(&b, b.len);
	a->rta_len = 2;
	expect_bad(&b, b.len);
	nlb_init(&b, mem, sizeof mem);
	add_link(&b, 2, "eth0", NULL, NULL, 1500, ARPHRD_ETHER, 0);
	a = (struct rtattr *)(mem + b.len - 8);
	assert_int_equal(a->rta_type, IFLA_MTU);
	a->rta_len = 6;
	expect_bad(&b, b.len);
	/* a prefix of 33, an ifindex of 0 */
	nlb_init(&b, mem, sizeof mem);
	add_addr(&b, AF_INET, 2, "10.0.0.1", 33);
	expect_bad(&b, b.len);
	nlb_init(&b, mem, sizeof mem);
	add_addr(&b, AF_INET, 0, "10.0.0.1", 24);
	expect_bad(&b, b.len);
	/* more links than the view keeps: recorded, not overrun */
	nlb_init(&b, mem, sizeof mem);
	memset(&view, 0, sizeof view);
	for (int i = 1; i <= NET_VIEW_MAX + 5; i++) {
		char name[16];
		snprintf(name, sizeof name, "d%d", i);
		add_link(&b, i, name, "veth", mac1, 1500, ARPHRD_ETHER, 0);
		if (b.len > sizeof mem - 256) {
			assert_int_equal(nl_parse(b.mem, b.len, SEQ, &view, &e), NLP_MORE);
			nlb_init(&b, mem, sizeof mem);
		}
	}
	add_done(&b, 0);
	assert_int_equal(nl_parse(b.mem, b.len, SEQ, &view, &e), NLP_DONE);
	assert_int_equal(view.nlinks, NET_VIEW_MAX);
	assert_true(view.overflow);
	assert_int_equal(net_select(&view, &(struct net_cfg){0}, err, sizeof err), -1);
	assert_non_null(strstr(err, "more than 256 interfaces"));
}

/* ---- selection ---- */

static int select_from(struct nlbuf *b, struct net_cfg *c)
{
	struct nlp_err e;

	add_done(b, 0);
	assert_int_equal(parse_all(b, &e), NLP_DONE);
	memset(c, 0, sizeof *c);
	err[0] = '\0';
	return net_select(&view, c, err, sizeof err);
}

static void select_pod(void **state)
{
	struct nlbuf b;
	struct net_cfg c;
	char env[3][40];

	(void)state;
	nlb_init(&b, mem, sizeof mem);
	pod_ns(&b);
	b.len -= 20; /* pod_ns's DONE: select_from adds its own */
	assert_int_equal(select_from(&b, &c), 0);
	assert_int_equal(c.ifindex, 2);
	assert_string_equal(c.ifname, "eth0");
	assert_int_equal(c.mtu, 1400);
	assert_memory_equal(c.mac, mac1, 6);
	assert_true(c.has_gw);
	net_guest_env(&c, env);
	assert_string_equal(env[0], "HERMIT_IP=10.77.3.2");
	assert_string_equal(env[1], "HERMIT_GATEWAY=10.77.3.1");
	assert_string_equal(env[2], "HERMIT_MASK=255.255.255.0");
	/* delete puts back the default route; the kernel's prefix route comes with the address */
	assert_int_equal(c.nroutes, 1);
	assert_int_equal(c.routes[0].gw, ip("10.77.3.1"));
	assert_int_equal(net_only_loopback(&view), false);
}

static void select_routes(void **state)
{
	struct nlbuf b;
	struct net_cfg c;
	static const uint8_t mac2[6] = {0x02, 0, 0, 0, 0, 9};

	(void)state;
	/* two default routes: the lower metric wins */
	nlb_init(&b, mem, sizeof mem);
	add_link(&b, 2, "eth0", "veth", mac1, 1500, ARPHRD_ETHER, 0);
	add_link(&b, 3, "eth1", "veth", mac2, 1500, ARPHRD_ETHER, 0);
	add_addr(&b, AF_INET, 2, "10.1.0.2", 16);
	add_addr(&b, AF_INET, 3, "10.2.0.2", 16);
	add_route(&b, RT_TABLE_MAIN, NULL, 0, "10.1.0.1", 2, 200, RTPROT_BOOT);
	add_route(&b, RT_TABLE_MAIN, NULL, 0, "10.2.0.1", 3, 100, RTPROT_BOOT);
	add_route(&b, RT_TABLE_MAIN, "169.254.1.1", 32, NULL, 3, 0, RTPROT_BOOT);
	assert_int_equal(select_from(&b, &c), 0);
	assert_string_equal(c.ifname, "eth1");
	assert_int_equal(c.gw, ip("10.2.0.1"));
	assert_int_equal(c.prefix, 16);
	assert_int_equal(c.nroutes, 2);
	/* no default route: the only interface with an address; its own address as gateway */
	nlb_init(&b, mem, sizeof mem);
	add_link(&b, 1, "lo", NULL, NULL, 65536, ARPHRD_LOOPBACK, IFF_LOOPBACK);
	add_link(&b, 2, "eth0", "veth", mac1, 1500, ARPHRD_ETHER, 0);
	add_addr(&b, AF_INET, 1, "127.0.0.1", 8);
	add_addr(&b, AF_INET, 2, "10.9.0.5", 30);
	assert_int_equal(select_from(&b, &c), 0);
	assert_false(c.has_gw);
	assert_int_equal(c.gw, ip("10.9.0.5"));
	/* ... but not one of two */
	b.len -= 20; /* select_from's DONE */
	add_link(&b, 3, "eth1", "veth", mac2, 1500, ARPHRD_ETHER, 0);
	add_addr(&b, AF_INET, 3, "10.8.0.5", 30);
	assert_int_equal(select_from(&b, &c), -1);
	assert_string_equal(err, "the network namespace has no IPv4 default route and 2 interfaces "
				 "with an IPv4 address (the guest takes exactly one)");
	/* a default route without a gateway ("default dev eth0") */
	nlb_init(&b, mem, sizeof mem);
	add_link(&b, 2, "eth0", "veth", mac1, 1500, ARPHRD_ETHER, 0);
	add_addr(&b, AF_INET, 2, "10.1.0.2", 16);
	add_route(&b, RT_TABLE_MAIN, NULL, 0, NULL, 2, 0, RTPROT_BOOT);
	assert_int_equal(select_from(&b, &c), 0);
	assert_false(c.has_gw);
	assert_int_equal(c.gw, c.addr);
	assert_int_equal(net_only_loopback(&view), false);
	nlb_init(&b, mem, sizeof mem);
	add_link(&b, 1, "lo", NULL, NULL, 65536, ARPHRD_LOOPBACK, IFF_LOOPBACK);
	add_done(&b, 0);
	assert_int_equal(parse_all(&b, &(struct nlp_err){0}), NLP_DONE);
	assert_true(net_only_loopback(&view));
}

/* A namespace with eth0 made by fn, and the refusal it must get. */
static void refuse(void (*fn)(struct nlbuf *), const char *want)
{
	struct nlbuf b;
	struct net_cfg c;

	nlb_init(&b, mem, sizeof mem);
	fn(&b);
	assert_int_equal(select_from(&b, &c), -1);
	if (strcmp(err, want) != 0) {
		fail_msg("error '%s', expected '%s'", err, want);
	}
}

static void ns_macvlan(struct nlbuf *b)
{
	add_link(b, 2, "eth0", "macvlan", mac1, 1500, ARPHRD_ETHER, 0);
	add_addr(b, AF_INET, 2, "10.1.0.2", 16);
	add_route(b, RT_TABLE_MAIN, NULL, 0, "10.1.0.1", 2, 0, RTPROT_BOOT);
}

static void ns_physical(struct nlbuf *b)
{
	add_link(b, 2, "en\"p\x01", NULL, mac1, 1500, ARPHRD_ETHER, 0);
	add_addr(b, AF_INET, 2, "10.1.0.2", 16);
	add_route(b, RT_TABLE_MAIN, NULL, 0, "10.1.0.1", 2, 0, RTPROT_BOOT);
}

static void ns_two_addrs(struct nlbuf *b)
{
	add_link(b, 2, "eth0", "veth", mac1, 1500, ARPHRD_ETHER, 0);
	add_addr(b, AF_INET, 2, "10.1.0.2", 16);
	add_addr(b, AF_INET, 2, "10.1.0.3", 16);
	add_route(b, RT_TABLE_MAIN, NULL, 0, "10.1.0.1", 2, 0, RTPROT_BOOT);
}

static void ns_no_addr(struct nlbuf *b)
{
	add_link(b, 2, "eth0", "veth", mac1, 1500, ARPHRD_ETHER, 0);
	add_route(b, RT_TABLE_MAIN, NULL, 0, "10.1.0.1", 2, 0, RTPROT_BOOT);
}

static void ns_zero_mac(struct nlbuf *b)
{
	static const uint8_t zero[6];

	add_link(b, 2, "eth0", "veth", zero, 1500, ARPHRD_ETHER, 0);
}

static void ns_multicast_mac(struct nlbuf *b)
{
	static const uint8_t mc[6] = {0x01, 0, 0x5e, 0, 0, 1};

	add_link(b, 2, "eth0", "veth", mc, 1500, ARPHRD_ETHER, 0);
}

static void ns_mtu(struct nlbuf *b)
{
	add_link(b, 2, "eth0", "veth", mac1, 67, ARPHRD_ETHER, 0);
}

static void ns_tap_there(struct nlbuf *b)
{
	ns_macvlan(b);
	add_link(b, 9, NET_TAP_NAME, "tun", mac1, 1500, ARPHRD_ETHER, 0);
}

static void ns_route_nowhere(struct nlbuf *b)
{
	add_route(b, RT_TABLE_MAIN, NULL, 0, "10.1.0.1", 4, 0, RTPROT_BOOT);
}

static void ns_loopback_addr(struct nlbuf *b)
{
	add_link(b, 2, "eth0", "veth", mac1, 1500, ARPHRD_ETHER, 0);
	add_addr(b, AF_INET, 2, "127.0.0.2", 8);
}

static void select_refusals(void **state)
{
	(void)state;
	refuse(ns_macvlan, "interface eth0 of the network namespace is of kind 'macvlan', not a "
			   "veth (the guest can take over a veth only)");
	refuse(ns_physical, "interface en?p? of the network namespace is of kind 'none', not a "
			    "veth (the guest can take over a veth only)");
	refuse(ns_two_addrs, "interface eth0 has 2 IPv4 addresses (the guest takes exactly one)");
	refuse(ns_no_addr, "interface eth0 has 0 IPv4 addresses (the guest takes exactly one)");
	/* without a default route: the only addressed interface is checked the same way */
	refuse(ns_zero_mac, "the network namespace has no IPv4 default route and 0 interfaces with "
			    "an IPv4 address (the guest takes exactly one)");
	refuse(ns_tap_there, "the network namespace already has an interface " NET_TAP_NAME
			     " (another Hermit container has its network)");
	refuse(ns_route_nowhere, "the default route's interface 4 does not exist");
	refuse(ns_loopback_addr, "interface eth0: its IPv4 address is not a unicast host address");
}

static void select_link_checks(void **state)
{
	struct nlbuf b;
	struct net_cfg c;

	(void)state;
	nlb_init(&b, mem, sizeof mem);
	ns_zero_mac(&b);
	add_addr(&b, AF_INET, 2, "10.1.0.2", 16);
	assert_int_equal(select_from(&b, &c), -1);
	assert_string_equal(err, "interface eth0 has no unicast Ethernet address");
	nlb_init(&b, mem, sizeof mem);
	ns_multicast_mac(&b);
	add_addr(&b, AF_INET, 2, "10.1.0.2", 16);
	assert_int_equal(select_from(&b, &c), -1);
	assert_string_equal(err, "interface eth0 has no unicast Ethernet address");
	nlb_init(&b, mem, sizeof mem);
	ns_mtu(&b);
	add_addr(&b, AF_INET, 2, "10.1.0.2", 16);
	assert_int_equal(select_from(&b, &c), -1);
	assert_string_equal(err, "interface eth0 has MTU 67 (68 to 65535 expected)");
}

static void masks(void **state)
{
	struct net_cfg c = {.addr = 0, .gw = 0};
	char env[3][40];
	static const struct {
		uint8_t prefix;
		const char *mask;
	} t[] = {{0, "0.0.0.0"},	{1, "128.0.0.0"},	 {20, "255.255.240.0"},
		 {24, "255.255.255.0"}, {31, "255.255.255.254"}, {32, "255.255.255.255"}};

	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char want[40];
		c.prefix = t[i].prefix;
		net_guest_env(&c, env);
		snprintf(want, sizeof want, "HERMIT_MASK=%s", t[i].mask);
		assert_string_equal(env[2], want);
	}
}

/* ---- net.json ---- */

static void saved(void **state)
{
	struct net_cfg c = {.ns_dev = 4,
			    .ns_ino = 4026532240ull,
			    .ifindex = 2,
			    .mtu = 1400,
			    .addr = 0x0203a8c0,
			    .prefix = 24,
			    .bcast = 0xff03a8c0,
			    .nroutes = 2};
	struct net_cfg d;
	char *text;
	static const char *const bad[] = {
	    "",
	    "[]",
	    "{\"version\":1}",
	    "{\"version\":2,\"netns\":\"/a\",\"ns_dev\":1,\"ns_ino\":1,\"ifindex\":2,"
	    "\"ifname\":\"e\",\"addr\":1,\"prefix\":24,\"bcast\":0,\"scope\":0,\"routes\":[]}",
	    "{\"version\":1,\"netns\":\"a\",\"ns_dev\":1,\"ns_ino\":1,\"ifindex\":2,"
	    "\"ifname\":\"e\",\"addr\":1,\"prefix\":24,\"bcast\":0,\"scope\":0,\"routes\":[]}",
	    "{\"version\":1,\"netns\":\"/a\",\"ns_dev\":1,\"ns_ino\":1,\"ifindex\":2,"
	    "\"ifname\":\"e\",\"addr\":1,\"prefix\":33,\"bcast\":0,\"scope\":0,\"routes\":[]}",
	    "{\"version\":1,\"netns\":\"/a\",\"ns_dev\":1,\"ns_ino\":1,\"ifindex\":2,"
	    "\"ifname\":\"e\",\"addr\":1,\"prefix\":24,\"bcast\":0,\"scope\":0,\"routes\":[{}]}",
	};

	(void)state;
	c.ns_path = strdup("/run/netns/netns-1");
	snprintf(c.ifname, sizeof c.ifname, "eth0");
	c.routes[0] = (struct nl_route){.oif = 2, .gw = 0x0103a8c0, .protocol = RTPROT_BOOT};
	c.routes[1] = (struct nl_route){
	    .oif = 2, .dst = 0x0101fea9, .dst_len = 32, .scope = RT_SCOPE_LINK, .priority = 5};
	text = net_save(&c);
	assert_non_null(text);
	assert_int_equal(net_load(text, strlen(text), &d, err, sizeof err), 0);
	assert_string_equal(d.ns_path, c.ns_path);
	assert_int_equal(d.ns_ino, c.ns_ino);
	assert_int_equal(d.addr, c.addr);
	assert_int_equal(d.bcast, c.bcast);
	assert_int_equal(d.nroutes, 2);
	assert_int_equal(d.routes[1].dst, c.routes[1].dst);
	assert_int_equal(d.routes[1].scope, RT_SCOPE_LINK);
	assert_int_equal(d.routes[1].priority, 5);
	free(text);
	net_cfg_free(&d);
	net_cfg_free(&c);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(net_load(bad[i], strlen(bad[i]), &d, err, sizeof err), -1);
		assert_null(d.ns_path);
	}
}

/* ---- config.json and the translation ---- */

static int parse_ns(const char *entries, struct oci_spec *s)
{
	char *json;
	int rc;

	if (asprintf(&json,
		     "{\"ociVersion\":\"1.0.2\",\"root\":{\"path\":\"r\"},\"process\":{\"args\":"
		     "[\"/k\"],\"env\":[\"A=1\",\"HERMIT_IP=1.2.3.4\",\"HERMIT_MASKX=1\","
		     "\"HERMIT_GATEWAY=9.9.9.9\"]},\"linux\":{\"namespaces\":[%s]}}",
		     entries) < 0) {
		abort();
	}
	rc = spec_parse(json, strlen(json), s, err, sizeof err);
	free(json);
	return rc;
}

static void spec_netns(void **state)
{
	struct oci_spec s;

	(void)state;
	assert_int_equal(parse_ns("{\"type\":\"pid\"},{\"type\":\"network\",\"path\":\"/run/netns/"
				  "cni-1\"}",
				  &s),
			 0);
	assert_true(s.has_netns);
	assert_string_equal(s.netns_path, "/run/netns/cni-1");
	spec_free(&s);
	assert_int_equal(parse_ns("{\"type\":\"network\"}", &s), 0);
	assert_true(s.has_netns);
	assert_null(s.netns_path);
	spec_free(&s);
	assert_int_equal(parse_ns("{\"type\":\"network\",\"path\":\"\"}", &s), 0);
	assert_null(s.netns_path);
	spec_free(&s);
	assert_int_equal(parse_ns("{\"type\":\"ipc\"}", &s), 0);
	assert_false(s.has_netns);
	spec_free(&s);
	assert_int_equal(parse_ns("{\"type\":\"network\",\"path\":\"run/netns/x\"}", &s), -1);
	assert_string_equal(err, "config.json: the network namespace path must be absolute");
	assert_int_equal(
	    parse_ns("{\"type\":\"network\"},{\"type\":\"network\",\"path\":\"/a\"}", &s), -1);
	assert_string_equal(err, "config.json: linux.namespaces has two network entries");
	assert_int_equal(parse_ns("{\"type\":\"network\",\"path\":7}", &s), -1);
	assert_string_equal(err, "config.json: linux.namespaces[].path must be a string");
	assert_int_equal(parse_ns("{\"type\":\"network\",\"path\":\"/a\\u0000b\"}", &s), -1);
}

static enum src_kind dir_kind(const char *path, void *ctx)
{
	(void)path;
	(void)ctx;
	return SRC_DIR;
}

static void translate_net(void **state)
{
	static const char *const env[] = {"HERMIT_IP=10.77.3.2", "HERMIT_GATEWAY=10.77.3.1",
					  "HERMIT_MASK=255.255.255.0"};
	static const char *const want[] = {"uhyve-sec",
					   "--status-fd=3",
					   "--cpu-count=1",
					   "--policy",
					   "/p.json",
					   "--net",
					   "fd:4",
					   "--env",
					   "A=1",
					   "--env",
					   "HERMIT_MASKX=1",
					   "--env",
					   "HERMIT_IP=10.77.3.2",
					   "--env",
					   "HERMIT_GATEWAY=10.77.3.1",
					   "--env",
					   "HERMIT_MASK=255.255.255.0",
					   "--argv0",
					   "/k",
					   "/root/k",
					   NULL};
	struct oci_facts f = {.kernel_host = "/root/k",
			      .kernel_size = 1 << 20,
			      .rootfs_host = "/root",
			      .bundle = "/b",
			      .policy_path = "/p.json",
			      .status_fd = 3,
			      .source_kind = dir_kind,
			      .net_env = env,
			      .net_fd = 4};
	struct oci_spec s;
	struct oci_plan p;

	(void)state;
	assert_int_equal(parse_ns("{\"type\":\"network\",\"path\":\"/n\"}", &s), 0);
	assert_int_equal(translate(&s, &f, &p, err, sizeof err), 0);
	for (size_t i = 0; want[i] != NULL || p.argv[i] != NULL; i++) {
		if (want[i] == NULL || p.argv[i] == NULL || strcmp(want[i], p.argv[i]) != 0) {
			fail_msg("argv[%zu] '%s', expected '%s'", i,
				 p.argv[i] ? p.argv[i] : "(end)", want[i] ? want[i] : "(end)");
		}
	}
	plan_free(&p);
	/* without the network, the spec's HERMIT_* reach the guest as they are */
	f.net_env = NULL;
	assert_int_equal(translate(&s, &f, &p, err, sizeof err), 0);
	for (size_t i = 0; p.argv[i] != NULL; i++) {
		assert_string_not_equal(p.argv[i], "--net");
	}
	assert_string_equal(p.argv[8], "HERMIT_IP=1.2.3.4");
	plan_free(&p);
	spec_free(&s);
}

/* The network's three variables count against uhyve-sec's limit of 128 (the spec's own
 * HERMIT_* do not, they are replaced). */
static void translate_net_limit(void **state)
{
	static const char *const env[] = {"HERMIT_IP=1.1.1.1", "HERMIT_GATEWAY=1.1.1.1",
					  "HERMIT_MASK=255.0.0.0"};
	struct oci_facts f = {.kernel_host = "/root/k",
			      .rootfs_host = "/root",
			      .bundle = "/b",
			      .policy_path = "/p.json",
			      .status_fd = 3,
			      .source_kind = dir_kind,
			      .net_env = env,
			      .net_fd = 4};
	struct oci_spec s = {0};
	struct oci_plan p;
	char *argv0 = strdup("/k");

	(void)state;
	s.args = &argv0;
	s.nargs = 1;
	s.env = calloc(OCI_GUEST_ENV_MAX, sizeof *s.env);
	for (size_t i = 0; i < OCI_GUEST_ENV_MAX - 3; i++) {
		assert_true(asprintf(&s.env[i], "V%zu=x", i) > 0);
	}
	s.nenv = OCI_GUEST_ENV_MAX - 3;
	assert_int_equal(translate(&s, &f, &p, err, sizeof err), 0);
	plan_free(&p);
	assert_true(asprintf(&s.env[s.nenv++], "HERMIT_IP=2.2.2.2") > 0);
	assert_int_equal(translate(&s, &f, &p, err, sizeof err), 0);
	plan_free(&p);
	assert_true(asprintf(&s.env[s.nenv++], "ONE=more") > 0);
	assert_int_equal(translate(&s, &f, &p, err, sizeof err), -1);
	assert_string_equal(err, "too many environment variables (129 with the network's 3; "
				 "uhyve-sec passes at most 128)");
	for (size_t i = 0; i < s.nenv; i++) {
		free(s.env[i]);
	}
	free(s.env);
	free(argv0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(builder),
	    cmocka_unit_test(parse_dump),
	    cmocka_unit_test(parse_acks),
	    cmocka_unit_test(parse_hostile),
	    cmocka_unit_test(select_pod),
	    cmocka_unit_test(select_routes),
	    cmocka_unit_test(select_refusals),
	    cmocka_unit_test(select_link_checks),
	    cmocka_unit_test(masks),
	    cmocka_unit_test(saved),
	    cmocka_unit_test(spec_netns),
	    cmocka_unit_test(translate_net),
	    cmocka_unit_test(translate_net_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
