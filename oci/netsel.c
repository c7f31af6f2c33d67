/* SPDX-License-Identifier: MIT */
/* netsel.c - which interface, address and gateway of a container's network namespace the
 * guest gets (net.h), its HERMIT_* environment, and the record of the set-up that delete
 * reads back (net.json in the container's state directory).
 *
 * Trust: the view (nlmsg.c) describes a namespace whose processes may have changed it;
 * anything but one veth with one IPv4 address is refused with a reason.  net.json is the
 * runtime's own file (its state directory is 0700), parsed with the same checks anyway.
 * Pure: no system calls.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net.h"

__attribute__((format(printf, 3, 4))) static int fail(char *err, size_t errlen, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

uint32_t net_mask(uint8_t prefix)
{
	return htonl(prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix));
}

static bool is_loopback(const struct nl_link *l)
{
	return l->type == ARPHRD_LOOPBACK || (l->flags & IFF_LOOPBACK) != 0;
}

bool net_only_loopback(const struct nl_view *v)
{
	for (size_t i = 0; i < v->nlinks; i++) {
		if (!is_loopback(&v->links[i])) {
			return false;
		}
	}
	return true;
}

static const struct nl_link *find_link(const struct nl_view *v, int index)
{
	for (size_t i = 0; i < v->nlinks; i++) {
		if (v->links[i].index == index) {
			return &v->links[i];
		}
	}
	return NULL;
}

static size_t count_addrs(const struct nl_view *v, int index, const struct nl_addr **first)
{
	size_t n = 0;

	for (size_t i = 0; i < v->naddrs; i++) {
		if (v->addrs[i].index == index && n++ == 0 && first != NULL) {
			*first = &v->addrs[i];
		}
	}
	return n;
}

/* The default route of the lowest metric (the first of equals), or NULL. */
static const struct nl_route *default_route(const struct nl_view *v)
{
	const struct nl_route *best = NULL;

	for (size_t i = 0; i < v->nroutes; i++) {
		const struct nl_route *r = &v->routes[i];
		if (r->dst_len == 0 && r->type == RTN_UNICAST && r->oif > 0 &&
		    (best == NULL || r->priority < best->priority)) {
			best = r;
		}
	}
	return best;
}

/* Without a default route: the only interface that has an IPv4 address. */
static int only_addressed(const struct nl_view *v, int *index, char *err, size_t errlen)
{
	size_t n = 0;

	for (size_t i = 0; i < v->nlinks; i++) {
		if (!is_loopback(&v->links[i]) && count_addrs(v, v->links[i].index, NULL) > 0) {
			*index = v->links[i].index;
			n++;
		}
	}
	if (n != 1) {
		return fail(err, errlen,
			    "the network namespace has no IPv4 default route and %zu interfaces "
			    "with an IPv4 address (the guest takes exactly one)",
			    n);
	}
	return 0;
}

static void safe_name(char *out, const char *in)
{
	size_t i = 0;

	for (; in[i] != '\0' && i < NET_NAME_MAX - 1; i++) {
		out[i] =
		    in[i] <= 0x20 || in[i] > 0x7e || in[i] == '"' || in[i] == '\\' ? '?' : in[i];
	}
	out[i] = '\0';
}

static int check_link(const struct nl_link *l, struct net_cfg *c, char *err, size_t errlen)
{
	static const uint8_t zero[6];
	char kind[NET_NAME_MAX];

	safe_name(c->ifname, l->name);
	safe_name(kind, l->kind[0] != '\0' ? l->kind : "none");
	if (is_loopback(l) || strcmp(l->kind, "veth") != 0) {
		return fail(
		    err, errlen,
		    "interface %s of the network namespace is of kind '%s', not a veth (the "
		    "guest can take over a veth only)",
		    c->ifname, is_loopback(l) ? "loopback" : kind);
	}
	if (l->type != ARPHRD_ETHER || !l->has_mac || !memcmp(l->mac, zero, 6) || (l->mac[0] & 1)) {
		return fail(err, errlen, "interface %s has no unicast Ethernet address", c->ifname);
	}
	if (l->mtu < 68 || l->mtu > 65535) {
		return fail(err, errlen, "interface %s has MTU %u (68 to 65535 expected)",
			    c->ifname, l->mtu);
	}
	c->ifindex = l->index;
	memcpy(c->mac, l->mac, 6);
	c->mtu = l->mtu;
	return 0;
}

static int take_addr(const struct nl_view *v, struct net_cfg *c, char *err, size_t errlen)
{
	const struct nl_addr *a = NULL;
	size_t n = count_addrs(v, c->ifindex, &a);

	if (n != 1) {
		return fail(err, errlen,
			    "interface %s has %zu IPv4 addresses (the guest takes exactly one)",
			    c->ifname, n);
	}
	if (a->prefix == 0 || a->local == 0 || (ntohl(a->local) >> 24) == 127 ||
	    (ntohl(a->local) >> 28) >= 14) {
		return fail(err, errlen,
			    "interface %s: its IPv4 address is not a unicast host address",
			    c->ifname);
	}
	c->addr = a->local;
	c->prefix = a->prefix;
	c->bcast = a->bcast;
	c->scope = a->scope;
	return 0;
}

/* The routes through the interface that the kernel does not make itself with the address. */
static int save_routes(const struct nl_view *v, struct net_cfg *c, char *err, size_t errlen)
{
	c->nroutes = 0;
	for (size_t i = 0; i < v->nroutes; i++) {
		const struct nl_route *r = &v->routes[i];
		if (r->oif != c->ifindex || r->protocol == RTPROT_KERNEL ||
		    r->type != RTN_UNICAST) {
			continue;
		}
		if (c->nroutes == NET_SAVE_ROUTES) {
			return fail(err, errlen, "interface %s has more than %d routes", c->ifname,
				    NET_SAVE_ROUTES);
		}
		c->routes[c->nroutes++] = *r;
	}
	return 0;
}

int net_select(const struct nl_view *v, struct net_cfg *c, char *err, size_t errlen)
{
	const struct nl_route *def = default_route(v);
	const struct nl_link *l;
	int index = 0;

	if (v->overflow) {
		return fail(
		    err, errlen,
		    "the network namespace has more than %d interfaces, addresses or routes",
		    NET_VIEW_MAX);
	}
	for (size_t i = 0; i < v->nlinks; i++) {
		if (strcmp(v->links[i].name, NET_TAP_NAME) == 0) {
			return fail(err, errlen,
				    "the network namespace already has an interface " NET_TAP_NAME
				    " (another Hermit container has its network)");
		}
	}
	if (def != NULL) {
		index = def->oif;
	} else if (only_addressed(v, &index, err, errlen) != 0) {
		return -1;
	}
	if ((l = find_link(v, index)) == NULL) {
		return fail(err, errlen, "the default route's interface %d does not exist", index);
	}
	if (check_link(l, c, err, errlen) != 0 || take_addr(v, c, err, errlen) != 0) {
		return -1;
	}
	c->has_gw = def != NULL && def->gw != 0;
	c->gw = c->has_gw ? def->gw : c->addr;
	return save_routes(v, c, err, errlen);
}

static void ip_str(uint32_t a, char *buf, size_t len)
{
	struct in_addr in = {.s_addr = a};

	if (inet_ntop(AF_INET, &in, buf, (socklen_t)len) == NULL) {
		snprintf(buf, len, "0.0.0.0");
	}
}

void net_guest_env(const struct net_cfg *c, char env[3][40])
{
	char ip[INET_ADDRSTRLEN];

	ip_str(c->addr, ip, sizeof ip);
	snprintf(env[0], 40, "HERMIT_IP=%s", ip);
	ip_str(c->gw, ip, sizeof ip);
	snprintf(env[1], 40, "HERMIT_GATEWAY=%s", ip);
	ip_str(net_mask(c->prefix), ip, sizeof ip);
	snprintf(env[2], 40, "HERMIT_MASK=%s", ip);
}

/* ---- net.json ---- */

static json_t *route_json(const struct nl_route *r)
{
	return json_pack("{s:I, s:i, s:i, s:i, s:I, s:I, s:I, s:I}", "dst", (json_int_t)r->dst,
			 "dst_len", r->dst_len, "scope", r->scope, "protocol", r->protocol, "gw",
			 (json_int_t)r->gw, "prefsrc", (json_int_t)r->prefsrc, "priority",
			 (json_int_t)r->priority, "oif", (json_int_t)r->oif);
}

char *net_save(const struct net_cfg *c)
{
	json_t *routes = json_array(), *o;
	char *text;

	for (size_t i = 0; routes != NULL && i < c->nroutes; i++) {
		if (json_array_append_new(routes, route_json(&c->routes[i])) != 0) {
			json_decref(routes);
			return NULL;
		}
	}
	o = json_pack("{s:i, s:s, s:I, s:I, s:i, s:s, s:I, s:i, s:I, s:i, s:o}", "version", 1,
		      "netns", c->ns_path, "ns_dev", (json_int_t)c->ns_dev, "ns_ino",
		      (json_int_t)c->ns_ino, "ifindex", c->ifindex, "ifname", c->ifname, "addr",
		      (json_int_t)c->addr, "prefix", c->prefix, "bcast", (json_int_t)c->bcast,
		      "scope", c->scope, "routes", routes);
	if (o == NULL) {
		return NULL;
	}
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	return text;
}

/* An integer member in [lo, hi]. */
static int get_num(const json_t *o, const char *key, json_int_t lo, json_int_t hi, json_int_t *v)
{
	const json_t *j = json_object_get(o, key);

	if (!json_is_integer(j) || json_integer_value(j) < lo || json_integer_value(j) > hi) {
		return -1;
	}
	*v = json_integer_value(j);
	return 0;
}

static int load_route(const json_t *o, struct nl_route *r)
{
	json_int_t dst, len, scope, proto, gw, src, prio, oif;

	if (get_num(o, "dst", 0, UINT32_MAX, &dst) || get_num(o, "dst_len", 0, 32, &len) ||
	    get_num(o, "scope", 0, 255, &scope) || get_num(o, "protocol", 0, 255, &proto) ||
	    get_num(o, "gw", 0, UINT32_MAX, &gw) || get_num(o, "prefsrc", 0, UINT32_MAX, &src) ||
	    get_num(o, "priority", 0, UINT32_MAX, &prio) || get_num(o, "oif", 1, INT32_MAX, &oif)) {
		return -1;
	}
	*r = (struct nl_route){.oif = (int)oif,
			       .dst_len = (uint8_t)len,
			       .scope = (uint8_t)scope,
			       .protocol = (uint8_t)proto,
			       .type = RTN_UNICAST,
			       .table = RT_TABLE_MAIN,
			       .dst = (uint32_t)dst,
			       .gw = (uint32_t)gw,
			       .prefsrc = (uint32_t)src,
			       .priority = (uint32_t)prio};
	return 0;
}

static int load_obj(const json_t *o, struct net_cfg *c)
{
	const json_t *path = json_object_get(o, "netns"), *name = json_object_get(o, "ifname"),
		     *routes = json_object_get(o, "routes");
	json_int_t ver, dev, ino, idx, addr, prefix, bcast, scope;

	if (get_num(o, "version", 1, 1, &ver) || get_num(o, "ns_dev", 0, INT64_MAX, &dev) ||
	    get_num(o, "ns_ino", 1, INT64_MAX, &ino) || get_num(o, "ifindex", 1, INT32_MAX, &idx) ||
	    get_num(o, "addr", 1, UINT32_MAX, &addr) || get_num(o, "prefix", 1, 32, &prefix) ||
	    get_num(o, "bcast", 0, UINT32_MAX, &bcast) || get_num(o, "scope", 0, 255, &scope) ||
	    !json_is_string(path) || json_string_length(path) > 4095 ||
	    json_string_value(path)[0] != '/' ||
	    strlen(json_string_value(path)) != json_string_length(path) || !json_is_string(name) ||
	    json_string_length(name) >= NET_NAME_MAX || !json_is_array(routes) ||
	    json_array_size(routes) > NET_SAVE_ROUTES) {
		return -1;
	}
	if ((c->ns_path = strdup(json_string_value(path))) == NULL) {
		return -1;
	}
	c->ns_dev = (uint64_t)dev;
	c->ns_ino = (uint64_t)ino;
	c->ifindex = (int)idx;
	safe_name(c->ifname, json_string_value(name));
	c->addr = (uint32_t)addr;
	c->prefix = (uint8_t)prefix;
	c->bcast = (uint32_t)bcast;
	c->scope = (uint8_t)scope;
	for (size_t i = 0; i < json_array_size(routes); i++) {
		if (load_route(json_array_get(routes, i), &c->routes[c->nroutes++]) != 0) {
			return -1;
		}
	}
	return 0;
}

int net_load(const char *text, size_t len, struct net_cfg *c, char *err, size_t errlen)
{
	json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	int rc;

	memset(c, 0, sizeof *c);
	rc = json_is_object(o) ? load_obj(o, c) : -1;
	json_decref(o);
	if (rc != 0) {
		net_cfg_free(c);
		return fail(err, errlen, "net.json in the container's state is not valid");
	}
	return 0;
}

void net_cfg_free(struct net_cfg *c)
{
	free(c->ns_path);
	memset(c, 0, sizeof *c);
}
