/* SPDX-License-Identifier: MIT */
/* nlmsg.c - rtnetlink messages for the container network set-up (net.h): a builder of
 * requests and a parser of the kernel's replies.
 *
 * Trust: the replies describe a network namespace that processes inside it may have shaped
 * (names, addresses, routes, any number of them), so every message and attribute length is
 * checked against what is left of the datagram, strings must end within their attribute,
 * fixed-size attributes must have exactly their size, and at most NET_VIEW_MAX entries of a
 * kind are kept (the view records an overflow).  Pure: no system calls; the unit tests build
 * replies with the builder and the fuzz target (fuzz/fuzz_netlink.c) feeds it anything.
 */
#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "net.h"

#define ALIGN4(n) (((n) + 3u) & ~(size_t)3u)

void nlb_init(struct nlbuf *b, void *mem, size_t cap)
{
	*b = (struct nlbuf){.mem = mem, .cap = cap};
}

void *nlb_put(struct nlbuf *b, size_t len)
{
	size_t need = ALIGN4(len);
	void *p;

	if (b->overflow || need > b->cap - b->len) {
		b->overflow = true;
		return NULL;
	}
	p = b->mem + b->len;
	memset(p, 0, need);
	b->len += need;
	return p;
}

void nlb_msg(struct nlbuf *b, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *h;

	b->msg = b->len;
	h = nlb_put(b, sizeof *h);
	if (h != NULL) {
		h->nlmsg_type = type;
		h->nlmsg_flags = flags;
		h->nlmsg_seq = seq;
	}
}

void nlb_attr(struct nlbuf *b, uint16_t type, const void *data, size_t len)
{
	struct rtattr *a;

	if (len > 0xffff - sizeof *a) {
		b->overflow = true;
		return;
	}
	a = nlb_put(b, sizeof *a + len);
	if (a != NULL) {
		a->rta_type = type;
		a->rta_len = (unsigned short)(sizeof *a + len);
		if (len > 0) {
			memcpy(a + 1, data, len);
		}
	}
}

void nlb_attr_u32(struct nlbuf *b, uint16_t type, uint32_t v)
{
	nlb_attr(b, type, &v, sizeof v);
}

void nlb_attr_str(struct nlbuf *b, uint16_t type, const char *s)
{
	nlb_attr(b, type, s, strlen(s) + 1);
}

size_t nlb_nest(struct nlbuf *b, uint16_t type)
{
	size_t at = b->len;

	nlb_attr(b, type, NULL, 0);
	return at;
}

void nlb_nest_end(struct nlbuf *b, size_t at)
{
	struct rtattr *a = (struct rtattr *)(b->mem + at);

	if (!b->overflow && b->len - at <= 0xffff) {
		a->rta_len = (unsigned short)(b->len - at);
	} else {
		b->overflow = true;
	}
}

int nlb_end(struct nlbuf *b)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(b->mem + b->msg);

	if (b->overflow || b->len - b->msg < sizeof *h) {
		return -1;
	}
	h->nlmsg_len = (uint32_t)(b->len - b->msg);
	return 0;
}

/* ---- parsing ---- */

/* Attributes in [p, p + len): calls fn for each; returns -1 for a malformed one. */
struct attrs {
	const uint8_t *p;
	size_t len;
};

static int next_attr(struct attrs *it, uint16_t *type, const uint8_t **data, size_t *dlen)
{
	struct rtattr a;

	if (it->len == 0) {
		return 0;
	}
	if (it->len < sizeof a) {
		return -1;
	}
	memcpy(&a, it->p, sizeof a);
	if (a.rta_len < sizeof a || a.rta_len > it->len) {
		return -1;
	}
	*type = a.rta_type & NLA_TYPE_MASK;
	*data = it->p + sizeof a;
	*dlen = a.rta_len - sizeof a;
	if (ALIGN4(a.rta_len) >= it->len) {
		it->len = 0;
	} else {
		it->p += ALIGN4(a.rta_len);
		it->len -= ALIGN4(a.rta_len);
	}
	return 1;
}

static int get_u32(const uint8_t *d, size_t n, uint32_t *out)
{
	if (n != 4) {
		return -1;
	}
	memcpy(out, d, 4);
	return 0;
}

/* A NUL-terminated string within its attribute, shorter than max. */
static int get_str(const uint8_t *d, size_t n, char *out, size_t max)
{
	const uint8_t *nul = memchr(d, 0, n);

	if (nul == NULL || (size_t)(nul - d) >= max) {
		return -1;
	}
	memcpy(out, d, (size_t)(nul - d) + 1);
	return 0;
}

static int link_kind(const uint8_t *d, size_t n, struct nl_link *l)
{
	struct attrs it = {d, n};
	const uint8_t *ad;
	size_t al;
	uint16_t t;
	int r;

	while ((r = next_attr(&it, &t, &ad, &al)) > 0) {
		if (t == IFLA_INFO_KIND && get_str(ad, al, l->kind, sizeof l->kind) != 0) {
			return -1;
		}
	}
	return r;
}

static int link_attr(struct nl_link *l, uint16_t t, const uint8_t *d, size_t n)
{
	switch (t) {
	case IFLA_IFNAME:
		return get_str(d, n, l->name, sizeof l->name);
	case IFLA_MTU:
		return get_u32(d, n, &l->mtu);
	case IFLA_ADDRESS:
		l->has_mac = n == 6;
		if (l->has_mac) {
			memcpy(l->mac, d, 6);
		}
		return 0;
	case IFLA_LINKINFO:
		return link_kind(d, n, l);
	default:
		return 0;
	}
}

static int parse_link(const uint8_t *p, size_t n, struct nl_view *v)
{
	struct ifinfomsg ifi;
	struct nl_link l = {0};
	struct attrs it;
	const uint8_t *d;
	size_t dl;
	uint16_t t;
	int r;

	if (n < sizeof ifi) {
		return -1;
	}
	memcpy(&ifi, p, sizeof ifi);
	l.index = ifi.ifi_index;
	l.type = ifi.ifi_type;
	l.flags = ifi.ifi_flags;
	it = (struct attrs){p + sizeof ifi, n - sizeof ifi};
	while ((r = next_attr(&it, &t, &d, &dl)) > 0) {
		if (link_attr(&l, t, d, dl) != 0) {
			return -1;
		}
	}
	if (r < 0 || l.index <= 0 || l.name[0] == '\0') {
		return -1;
	}
	if (v->nlinks == NET_VIEW_MAX) {
		v->overflow = true;
		return 0;
	}
	v->links[v->nlinks++] = l;
	return 0;
}

static int addr_attr(struct nl_addr *a, uint16_t t, const uint8_t *d, size_t n, bool *local)
{
	switch (t) {
	case IFA_LOCAL:
		*local = true;
		return get_u32(d, n, &a->local);
	case IFA_ADDRESS:
		return *local ? (n == 4 ? 0 : -1) : get_u32(d, n, &a->local);
	case IFA_BROADCAST:
		return get_u32(d, n, &a->bcast);
	case IFA_FLAGS:
		return get_u32(d, n, &a->flags);
	default:
		return 0;
	}
}

static int parse_addr(const uint8_t *p, size_t n, struct nl_view *v)
{
	struct ifaddrmsg ifa;
	struct nl_addr a = {0};
	bool local = false;
	struct attrs it;
	const uint8_t *d;
	size_t dl;
	uint16_t t;
	int r;

	if (n < sizeof ifa) {
		return -1;
	}
	memcpy(&ifa, p, sizeof ifa);
	if (ifa.ifa_family != AF_INET) {
		return 0; /* IPv6 stays with the namespace */
	}
	a = (struct nl_addr){.index = (int)ifa.ifa_index,
			     .prefix = ifa.ifa_prefixlen,
			     .scope = ifa.ifa_scope,
			     .flags = ifa.ifa_flags};
	it = (struct attrs){p + sizeof ifa, n - sizeof ifa};
	while ((r = next_attr(&it, &t, &d, &dl)) > 0) {
		if (addr_attr(&a, t, d, dl, &local) != 0) {
			return -1;
		}
	}
	if (r < 0 || a.index <= 0 || a.prefix > 32) {
		return -1;
	}
	if (v->naddrs == NET_VIEW_MAX) {
		v->overflow = true;
		return 0;
	}
	v->addrs[v->naddrs++] = a;
	return 0;
}

static int route_attr(struct nl_route *rt, uint16_t t, const uint8_t *d, size_t n)
{
	uint32_t oif;

	switch (t) {
	case RTA_TABLE:
		return get_u32(d, n, &rt->table);
	case RTA_DST:
		return get_u32(d, n, &rt->dst);
	case RTA_GATEWAY:
		return get_u32(d, n, &rt->gw);
	case RTA_PREFSRC:
		return get_u32(d, n, &rt->prefsrc);
	case RTA_PRIORITY:
		return get_u32(d, n, &rt->priority);
	case RTA_OIF:
		if (get_u32(d, n, &oif) != 0 || oif > 0x7fffffff) {
			return -1;
		}
		rt->oif = (int)oif;
		return 0;
	default:
		return 0;
	}
}

static int parse_route(const uint8_t *p, size_t n, struct nl_view *v)
{
	struct rtmsg rtm;
	struct nl_route rt;
	struct attrs it;
	const uint8_t *d;
	size_t dl;
	uint16_t t;
	int r;

	if (n < sizeof rtm) {
		return -1;
	}
	memcpy(&rtm, p, sizeof rtm);
	if (rtm.rtm_family != AF_INET) {
		return 0;
	}
	rt = (struct nl_route){.dst_len = rtm.rtm_dst_len,
			       .scope = rtm.rtm_scope,
			       .protocol = rtm.rtm_protocol,
			       .type = rtm.rtm_type,
			       .table = rtm.rtm_table};
	it = (struct attrs){p + sizeof rtm, n - sizeof rtm};
	while ((r = next_attr(&it, &t, &d, &dl)) > 0) {
		if (route_attr(&rt, t, d, dl) != 0) {
			return -1;
		}
	}
	if (r < 0 || rt.dst_len > 32) {
		return -1;
	}
	if (rt.table != RT_TABLE_MAIN) {
		return 0; /* local, default and policy tables are not the container's routes */
	}
	if (v->nroutes == NET_VIEW_MAX) {
		v->overflow = true;
		return 0;
	}
	v->routes[v->nroutes++] = rt;
	return 0;
}

/* The extended acknowledgement's message (NLMSGERR_ATTR_MSG), printable ASCII only. */
static void ext_ack(const uint8_t *p, size_t n, uint16_t flags, struct nlp_err *e)
{
	struct nlmsgerr me;
	size_t skip = sizeof me;
	struct attrs it;
	const uint8_t *d;
	size_t dl;
	uint16_t t;

	memcpy(&me, p, sizeof me);
	if (!(flags & NLM_F_CAPPED)) {
		if (me.msg.nlmsg_len < sizeof me.msg ||
		    me.msg.nlmsg_len - sizeof me.msg > n - skip) {
			return;
		}
		skip += ALIGN4(me.msg.nlmsg_len - sizeof me.msg);
	}
	if (!(flags & NLM_F_ACK_TLVS) || skip >= n) {
		return;
	}
	it = (struct attrs){p + skip, n - skip};
	while (next_attr(&it, &t, &d, &dl) > 0) {
		if (t == NLMSGERR_ATTR_MSG && get_str(d, dl, e->msg, sizeof e->msg) == 0) {
			for (char *c = e->msg; *c != '\0'; c++) {
				*c = *c < 0x20 || *c > 0x7e ? '?' : *c;
			}
			return;
		}
	}
}

static enum nlp_result parse_error(const uint8_t *p, size_t n, uint16_t flags, struct nlp_err *e)
{
	int32_t code;

	if (n < sizeof(struct nlmsgerr)) {
		return NLP_BAD;
	}
	memcpy(&code, p, sizeof code);
	if (code == 0) {
		return NLP_DONE;
	}
	if (code > 0 || code < -4095) {
		return NLP_BAD;
	}
	e->error = -code;
	ext_ack(p, n, flags, e);
	return NLP_ERROR;
}

/* A dump's NLMSG_DONE carries an int: 0, or the error that cut it short. */
static enum nlp_result parse_done(const uint8_t *p, size_t n, struct nlp_err *e)
{
	int32_t code = 0;

	if (n >= sizeof code) {
		memcpy(&code, p, sizeof code);
	}
	if (code == 0) {
		return NLP_DONE;
	}
	if (code > 0 || code < -4095) {
		return NLP_BAD;
	}
	e->error = -code;
	return NLP_ERROR;
}

static enum nlp_result one_msg(const struct nlmsghdr *h, const uint8_t *p, size_t n,
			       struct nl_view *v, struct nlp_err *e)
{
	int r = 0;

	switch (h->nlmsg_type) {
	case NLMSG_NOOP:
		return NLP_MORE;
	case NLMSG_ERROR:
		return parse_error(p, n, h->nlmsg_flags, e);
	case NLMSG_DONE:
		return parse_done(p, n, e);
	case RTM_NEWLINK:
		r = v != NULL ? parse_link(p, n, v) : -1;
		break;
	case RTM_NEWADDR:
		r = v != NULL ? parse_addr(p, n, v) : -1;
		break;
	case RTM_NEWROUTE:
		r = v != NULL ? parse_route(p, n, v) : -1;
		break;
	default:
		return NLP_BAD;
	}
	if (r != 0) {
		return NLP_BAD;
	}
	/* a reply to a request that was not a dump is complete in itself */
	return (h->nlmsg_flags & NLM_F_MULTI) ? NLP_MORE : NLP_DONE;
}

enum nlp_result nl_parse(const void *buf, size_t len, uint32_t seq, struct nl_view *v,
			 struct nlp_err *e)
{
	const uint8_t *p = buf;
	enum nlp_result r = NLP_BAD;

	*e = (struct nlp_err){0};
	while (len > 0) {
		struct nlmsghdr h;
		if (len < sizeof h) {
			return NLP_BAD;
		}
		memcpy(&h, p, sizeof h);
		if (h.nlmsg_len < sizeof h || h.nlmsg_len > len || h.nlmsg_seq != seq) {
			return NLP_BAD;
		}
		if (h.nlmsg_flags & NLM_F_DUMP_INTR) {
			e->error = EINTR; /* the namespace changed during the dump: read it again */
			return NLP_ERROR;
		}
		r = one_msg(&h, p + sizeof h, h.nlmsg_len - sizeof h, v, e);
		if (r != NLP_MORE) {
			return r; /* anything after DONE or an error is not ours to read */
		}
		if (ALIGN4(h.nlmsg_len) >= len) {
			break;
		}
		p += ALIGN4(h.nlmsg_len);
		len -= ALIGN4(h.nlmsg_len);
	}
	return r;
}
