/* SPDX-License-Identifier: MIT */
/* fuzz_netlink.c - uhyve-sec-oci's parser of rtnetlink replies (oci/nlmsg.c) and the choice
 * of the guest's interface, address and gateway made from them (oci/netsel.c), plus the
 * net.json reader on the same bytes.
 *
 * Input: datagrams, each a 16-bit little-endian length and that many bytes (what recv(2)
 * would return), replies to sequence number 1; the rest after the last whole one is ignored.
 * They are parsed into one view while the parser asks for more; when it says DONE the view
 * goes to net_select.  The whole input is also given to net_load as net.json text.
 *
 * Oracles: the parser's answer is one of the four results; a kernel error is a positive errno
 * with a printable message; the view never holds more than NET_VIEW_MAX entries of a kind,
 * only IPv4 main-table routes, prefixes and destination lengths up to 32, non-empty names that
 * end within their buffer, positive interface indexes; a choice names an existing veth with a
 * unicast MAC and an MTU of 68 to 65535, exactly one IPv4 address on it (the one chosen,
 * prefix 1-32), a gateway that is the default route's or the address itself, saved routes
 * only through that interface, a printable interface name; the HERMIT_* values read back as
 * the chosen addresses and mask; net.json written for a choice reads back the same; a refusal
 * has a one-line reason.
 */
#include <arpa/inet.h>
#include <string.h>

#include "fuzz.h"
#include "net.h"

static struct nl_view view;

static void check_view(void)
{
	if (view.nlinks > NET_VIEW_MAX || view.naddrs > NET_VIEW_MAX ||
	    view.nroutes > NET_VIEW_MAX) {
		FUZZ_BUG("view overrun");
	}
	for (size_t i = 0; i < view.nlinks; i++) {
		const struct nl_link *l = &view.links[i];
		if (l->index <= 0 || l->name[0] == '\0' ||
		    memchr(l->name, 0, sizeof l->name) == NULL ||
		    memchr(l->kind, 0, sizeof l->kind) == NULL) {
			FUZZ_BUG("link %zu", i);
		}
	}
	for (size_t i = 0; i < view.naddrs; i++) {
		if (view.addrs[i].index <= 0 || view.addrs[i].prefix > 32) {
			FUZZ_BUG("address %zu", i);
		}
	}
	for (size_t i = 0; i < view.nroutes; i++) {
		if (view.routes[i].dst_len > 32 || view.routes[i].table != 254 ||
		    view.routes[i].oif < 0) {
			FUZZ_BUG("route %zu", i);
		}
	}
}

static const struct nl_link *link_of(int index)
{
	for (size_t i = 0; i < view.nlinks; i++) {
		if (view.links[i].index == index) {
			return &view.links[i];
		}
	}
	return NULL;
}

static void check_env(const struct net_cfg *c)
{
	char env[3][40];
	struct in_addr a;

	net_guest_env(c, env);
	if (strncmp(env[0], "HERMIT_IP=", 10) || inet_pton(AF_INET, env[0] + 10, &a) != 1 ||
	    a.s_addr != c->addr || strncmp(env[1], "HERMIT_GATEWAY=", 15) ||
	    inet_pton(AF_INET, env[1] + 15, &a) != 1 || a.s_addr != c->gw ||
	    strncmp(env[2], "HERMIT_MASK=", 12) || inet_pton(AF_INET, env[2] + 12, &a) != 1 ||
	    a.s_addr != net_mask(c->prefix)) {
		FUZZ_BUG("guest environment %s %s %s", env[0], env[1], env[2]);
	}
}

static void check_saved(struct net_cfg *c)
{
	struct net_cfg d;
	char err[256], *text;

	c->ns_path = strdup("/run/netns/fuzz");
	c->ns_ino = 1;
	text = net_save(c);
	if (c->ns_path == NULL || text == NULL) {
		FUZZ_SETUP_FAIL("net_save");
	}
	if (net_load(text, strlen(text), &d, err, sizeof err) != 0 || d.ifindex != c->ifindex ||
	    d.addr != c->addr || d.prefix != c->prefix || d.nroutes != c->nroutes ||
	    strcmp(d.ifname, c->ifname) != 0 ||
	    memcmp(d.routes, c->routes, c->nroutes * sizeof c->routes[0]) != 0) {
		FUZZ_BUG("net.json does not read back: %s", text);
	}
	net_cfg_free(&d);
	free(text);
}

static void check_choice(struct net_cfg *c)
{
	const struct nl_link *l = link_of(c->ifindex);
	size_t naddr = 0;

	if (l == NULL || strcmp(l->kind, "veth") != 0 || (l->mac[0] & 1) || c->mtu < 68 ||
	    c->mtu > 65535 || c->prefix < 1 || c->prefix > 32 || c->nroutes > NET_SAVE_ROUTES ||
	    (!c->has_gw && c->gw != c->addr) || (c->has_gw && c->gw == 0)) {
		FUZZ_BUG("choice of interface %d", c->ifindex);
	}
	for (size_t i = 0; i < view.naddrs; i++) {
		naddr += view.addrs[i].index == c->ifindex;
	}
	for (size_t i = 0; i < c->nroutes; i++) {
		if (c->routes[i].oif != c->ifindex) {
			FUZZ_BUG("saved route through another interface");
		}
	}
	for (const char *p = c->ifname; *p != '\0'; p++) {
		if (*p <= 0x20 || *p > 0x7e || *p == '"' || *p == '\\') {
			FUZZ_BUG("interface name not sanitised");
		}
	}
	if (naddr != 1) {
		FUZZ_BUG("chosen interface has %zu addresses", naddr);
	}
	check_env(c);
	check_saved(c);
}

static void select_view(void)
{
	struct net_cfg c = {0};
	char err[256];

	check_view();
	if (net_select(&view, &c, err, sizeof err) == 0) {
		check_choice(&c);
	} else if (err[0] == '\0' || strchr(err, '\n') != NULL) {
		FUZZ_BUG("refusal without a one-line reason");
	}
	net_cfg_free(&c);
}

static void check_error(const struct nlp_err *e)
{
	if (e->error <= 0 || e->error > 4095) {
		FUZZ_BUG("kernel error %d", e->error);
	}
	for (const char *p = e->msg; *p != '\0'; p++) {
		if (*p < 0x20 || *p > 0x7e) {
			FUZZ_BUG("control byte in an extended acknowledgement");
		}
	}
}

static void datagrams(const uint8_t *data, size_t size)
{
	struct nlp_err e;

	memset(&view, 0, sizeof view);
	while (size >= 2) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8;
		uint8_t *dg;
		enum nlp_result r;
		if (len > size - 2) {
			return;
		}
		/* a buffer of exactly the datagram's size: ASan sees any read past it */
		if ((dg = malloc(len ? len : 1)) == NULL) {
			FUZZ_SETUP_FAIL("malloc");
		}
		memcpy(dg, data + 2, len);
		r = nl_parse(dg, len, 1, &view, &e);
		free(dg);
		data += 2 + len;
		size -= 2 + len;
		if (r == NLP_ERROR) {
			check_error(&e);
		} else if (r == NLP_DONE) {
			select_view();
		} else if (r != NLP_MORE && r != NLP_BAD) {
			FUZZ_BUG("parser result %d", (int)r);
		}
		if (r != NLP_MORE) {
			return;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct net_cfg c;
	char err[256], *text = malloc(size ? size : 1);

	if (text == NULL) {
		FUZZ_SETUP_FAIL("malloc");
	}
	datagrams(data, size);
	memcpy(text, data, size);
	if (net_load(text, size, &c, err, sizeof err) == 0) {
		if (c.ns_path == NULL || c.ns_path[0] != '/' || c.prefix < 1 || c.prefix > 32 ||
		    c.nroutes > NET_SAVE_ROUTES) {
			FUZZ_BUG("net.json accepted out of range");
		}
		net_cfg_free(&c);
	}
	free(text);
	return 0;
}
