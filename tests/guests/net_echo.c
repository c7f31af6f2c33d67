/* SPDX-License-Identifier: MIT */
/* net-echo (v2, presents itself as Hermit 0.13.2): a network echo server on the virtio-net
 * device, found, negotiated and driven the way Hermit's driver does (netdev.c).
 *
 * Configured like Hermit: -e HERMIT_IP=, HERMIT_GATEWAY=, HERMIT_MASK= (defaults 10.0.5.3,
 * 10.0.5.1, 255.255.255.0).  It answers ARP requests for its address, ICMP echo requests, and
 * echoes UDP datagrams on port 7.  For tests and the benchmark, UDP port 9 discards (and
 * counts), and port 5 takes commands, each answered with one datagram:
 *   "stats"            -> "rx <datagrams> <bytes>" (what port 9 received since "reset")
 *   "reset"            -> "ok"
 *   "send N SIZE PORT" -> "ok", then N datagrams of SIZE bytes to the sender's address at PORT
 *   "loop N"           -> "loop <us>": how long N iterations of a 2-instruction loop took
 *   "quit"             -> "bye", then the guest prints its counters and exits 0
 * Output: one line with the device, one with the address, "net-echo: ready", and at "quit"
 * "net-echo: arp A icmp I udp U" (requests answered).  Exit 0; 1 if the device could not be
 * set up (the line says why). */
#include "netdev.h"

#define ETH_ARP	 0x0806
#define ETH_IP	 0x0800
#define IP_ICMP	 1
#define IP_UDP	 17
#define ETH_HLEN 14

struct nd echo_dev; /* the net-hostile guest drives it too */
#define dev echo_dev
static uint8_t my_ip[4] = {10, 0, 5, 3}, gw_ip[4] = {10, 0, 5, 1}, mask[4] = {255, 255, 255, 0};
static unsigned n_arp, n_icmp, n_udp;
static uint64_t sink_dgrams, sink_bytes;
static int quitting;

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* One's-complement sum of a byte range (big-endian words), not folded. */
static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2) {
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	}
	if (n & 1) {
		s += (uint32_t)p[n - 1] << 8;
	}
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16) {
		s = (s & 0xffff) + (s >> 16);
	}
	return (uint16_t)s;
}

/* "a.b.c.d" -> 4 bytes; 0 or -1. */
static int parse_ip(const char *s, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;
		while (*s >= '0' && *s <= '9' && digits < 4) {
			v = v * 10 + (unsigned)(*s++ - '0');
			digits++;
		}
		if (digits == 0 || v > 255 || (i < 3 && *s++ != '.')) {
			return -1;
		}
		out[i] = (uint8_t)v;
	}
	return *s == '\0' || *s == ' ' ? 0 : -1;
}

/* The environment from /chosen/bootargs: words "env=KEY=VALUE" before "--". */
static int configure_ip(void)
{
	static const struct {
		const char *key;
		uint8_t *dst;
	} vars[] = {
	    {"env=HERMIT_IP=", my_ip}, {"env=HERMIT_GATEWAY=", gw_ip}, {"env=HERMIT_MASK=", mask}};
	const char *ba = rt_bootargs(rt_boot_info);

	for (const char *w = ba; w != NULL && *w != '\0';) {
		for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
			size_t n = strlen(vars[i].key);
			if (memcmp(w, vars[i].key, n) == 0 && parse_ip(w + n, vars[i].dst) != 0) {
				rt_printf("net-echo: bad %s\n", vars[i].key + 4);
				return -1;
			}
		}
		while (*w != '\0' && *w != ' ') {
			w++;
		}
		while (*w == ' ') {
			w++;
		}
	}
	return 0;
}

/* ---- replies: built in a TX buffer from the request ---- */

static uint8_t *reply_buf(uint16_t *slot)
{
	uint8_t *b;

	while ((b = nd_tx_buf(&dev, slot)) == NULL) {
		rt_pause(); /* all in flight: the device returns them */
	}
	return b;
}

static void arp(const uint8_t *f, uint32_t len)
{
	uint16_t slot;
	uint8_t *r;

	if (len < ETH_HLEN + 28 || be16(f + ETH_HLEN + 6) != 1 ||
	    memcmp(f + ETH_HLEN + 24, my_ip, 4)) {
		return; /* not a request for us */
	}
	r = reply_buf(&slot);
	memcpy(r, f + 6, 6);
	memcpy(r + 6, dev.mac, 6);
	put_be16(r + 12, ETH_ARP);
	memcpy(r + ETH_HLEN, f + ETH_HLEN, 6); /* htype, ptype, hlen, plen */
	put_be16(r + ETH_HLEN + 6, 2);
	memcpy(r + ETH_HLEN + 8, dev.mac, 6);
	memcpy(r + ETH_HLEN + 14, my_ip, 4);
	memcpy(r + ETH_HLEN + 18, f + ETH_HLEN + 8, 10); /* their MAC and IP */
	n_arp++;
	nd_tx_send(&dev, slot, ETH_HLEN + 28, 0, 0);
}

/* Ethernet + IPv4 header of a reply to f (addresses swapped), total IP length iplen. */
static void ip_reply_header(uint8_t *r, const uint8_t *f, uint16_t iplen, uint8_t proto)
{
	uint8_t *ip = r + ETH_HLEN;

	memcpy(r, f + 6, 6);
	memcpy(r + 6, dev.mac, 6);
	put_be16(r + 12, ETH_IP);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put_be16(ip + 2, iplen);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, my_ip, 4);
	memcpy(ip + 16, f + ETH_HLEN + 12, 4);
	put_be16(ip + 10, (uint16_t)~fold(sum16(ip, 20, 0)));
}

static void icmp(const uint8_t *f, const uint8_t *ip, uint32_t ihl, uint32_t iplen)
{
	uint32_t n = iplen - ihl;
	uint16_t slot;
	uint8_t *r, *ic;

	if (n < 8 || ip[ihl] != 8) {
		return; /* echo requests only */
	}
	r = reply_buf(&slot);
	ip_reply_header(r, f, (uint16_t)(20 + n), IP_ICMP);
	ic = r + ETH_HLEN + 20;
	memcpy(ic, ip + ihl, n);
	ic[0] = 0; /* echo reply */
	ic[2] = ic[3] = 0;
	put_be16(ic + 2, (uint16_t)~fold(sum16(ic, n, 0)));
	n_icmp++;
	nd_tx_send(&dev, slot, ETH_HLEN + 20 + n, 0, 0);
}

/* A UDP datagram from us to (f's sender, dport) with payload; checksum offloaded with CSUM. */
static void udp_send(const uint8_t *f, uint16_t sport, uint16_t dport, const void *payload,
		     uint32_t n)
{
	uint16_t slot, ulen = (uint16_t)(8 + n);
	uint8_t *r = reply_buf(&slot), *u = r + ETH_HLEN + 20;
	uint32_t ph;

	ip_reply_header(r, f, (uint16_t)(20 + ulen), IP_UDP);
	put_be16(u, sport);
	put_be16(u + 2, dport);
	put_be16(u + 4, ulen);
	u[6] = u[7] = 0;
	memcpy(u + 8, payload, n);
	ph = sum16(r + ETH_HLEN + 12, 8, IP_UDP + ulen); /* pseudo header */
	if (dev.features & VF_CSUM) { /* like Hermit: the device completes it */
		put_be16(u + 6, fold(ph));
		nd_tx_send(&dev, slot, ETH_HLEN + 20 + ulen, ETH_HLEN + 20, 6);
	} else {
		uint16_t c = (uint16_t)~fold(sum16(u, ulen, ph));
		put_be16(u + 6, c == 0 ? 0xffff : c);
		nd_tx_send(&dev, slot, ETH_HLEN + 20 + ulen, 0, 0);
	}
}

/* "send N SIZE PORT": N datagrams from one prepared frame (no UDP checksum, which IPv4
 * allows), so each costs only the queue operations. */
static void bulk_send(const uint8_t *f, uint16_t sport, const char *args)
{
	static uint8_t tmpl[ETH_HLEN + 20 + 8 + 1472] __attribute__((aligned(16)));
	int64_t v[3];
	const char *p = args;
	uint16_t ulen;

	for (int i = 0; i < 3; i++) {
		char word[24];
		size_t k = 0;
		while (*p == ' ') {
			p++;
		}
		while (*p != '\0' && *p != ' ' && k + 1 < sizeof word) {
			word[k++] = *p++;
		}
		word[k] = '\0';
		if (rt_parse_long(word, &v[i]) != 0) {
			udp_send(f, 5, sport, "bad send", 8);
			return;
		}
	}
	if (v[0] < 0 || v[1] < 1 || v[1] > 1472 || v[1] > dev.mtu - 28 || v[2] < 1 ||
	    v[2] > 65535) {
		udp_send(f, 5, sport, "bad send", 8);
		return;
	}
	udp_send(f, 5, sport, "ok", 2);
	ulen = (uint16_t)(8 + v[1]);
	ip_reply_header(tmpl, f, (uint16_t)(20 + ulen), IP_UDP);
	put_be16(tmpl + ETH_HLEN + 20, 5);
	put_be16(tmpl + ETH_HLEN + 22, (uint16_t)v[2]);
	put_be16(tmpl + ETH_HLEN + 24, ulen);
	put_be16(tmpl + ETH_HLEN + 26, 0); /* no checksum */
	for (int64_t i = 0; i < v[0]; i++) {
		nd_tx_send_ro(&dev, tmpl, (uint32_t)(ETH_HLEN + 20 + ulen));
	}
}

/* "loop N": N iterations of a two-instruction loop (dec, jnz), timed with the TSC: how fast
 * this host runs guest code.  Replies "loop <microseconds>". */
static void loop(const uint8_t *f, uint16_t sport, const char *arg)
{
	int64_t n;
	uint64_t t0, t1, us, khz = rt_boot_info->cpu_freq_khz ? rt_boot_info->cpu_freq_khz : 1;
	char out[32] = "loop ", tmp[24];
	int k = 5, t = 0;
	uint32_t lo, hi;

	if (rt_parse_long(arg, &n) != 0 || n < 1) {
		udp_send(f, 5, sport, "bad loop", 8);
		return;
	}
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	t0 = (uint64_t)hi << 32 | lo;
	__asm__ volatile("1: dec %0; jnz 1b" : "+r"(n) : : "cc");
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	t1 = (uint64_t)hi << 32 | lo;
	us = (t1 - t0) * 1000 / khz;
	do {
		tmp[t++] = (char)('0' + us % 10);
		us /= 10;
	} while (us != 0);
	while (t > 0) {
		out[k++] = tmp[--t];
	}
	udp_send(f, 5, sport, out, (uint32_t)k);
}

static void command(const uint8_t *f, uint16_t sport, const uint8_t *d, uint32_t n)
{
	char cmd[64];

	n = n < sizeof cmd - 1 ? n : sizeof cmd - 1;
	memcpy(cmd, d, n);
	cmd[n] = '\0';
	if (rt_streq(cmd, "stats")) {
		char out[64];
		int k = 0;
		uint64_t vals[2] = {sink_dgrams, sink_bytes};
		out[k++] = 'r';
		out[k++] = 'x';
		for (int i = 0; i < 2; i++) {
			char tmp[24];
			int t = 0;
			uint64_t x = vals[i];
			do {
				tmp[t++] = (char)('0' + x % 10);
				x /= 10;
			} while (x != 0);
			out[k++] = ' ';
			while (t > 0) {
				out[k++] = tmp[--t];
			}
		}
		udp_send(f, 5, sport, out, (uint32_t)k);
	} else if (rt_streq(cmd, "reset")) {
		sink_dgrams = sink_bytes = 0;
		udp_send(f, 5, sport, "ok", 2);
	} else if (memcmp(cmd, "send ", 5) == 0) {
		bulk_send(f, sport, cmd + 5);
	} else if (memcmp(cmd, "loop ", 5) == 0) {
		loop(f, sport, cmd + 5);
	} else if (rt_streq(cmd, "quit")) {
		udp_send(f, 5, sport, "bye", 3);
		quitting = 1;
	} else {
		udp_send(f, 5, sport, "?", 1);
	}
}

static void udp(const uint8_t *f, const uint8_t *ip, uint32_t ihl, uint32_t iplen)
{
	const uint8_t *u = ip + ihl;
	uint32_t ulen;
	uint16_t sport, dport;

	if (iplen - ihl < 8) {
		return;
	}
	ulen = be16(u + 4);
	sport = be16(u);
	dport = be16(u + 2);
	if (ulen < 8 || ulen > iplen - ihl) {
		return;
	}
	if (dport == 7) {
		n_udp++;
		udp_send(f, 7, sport, u + 8, ulen - 8);
	} else if (dport == 9) {
		sink_dgrams++;
		sink_bytes += ulen - 8;
	} else if (dport == 5) {
		command(f, sport, u + 8, ulen - 8);
	}
}

static void ipv4(const uint8_t *f, uint32_t len)
{
	const uint8_t *ip = f + ETH_HLEN;
	uint32_t ihl, iplen;

	if (len < ETH_HLEN + 20 || (ip[0] >> 4) != 4) {
		return;
	}
	ihl = (ip[0] & 15) * 4u;
	iplen = be16(ip + 2);
	if (ihl < 20 || iplen < ihl || iplen > len - ETH_HLEN || memcmp(ip + 16, my_ip, 4) ||
	    (be16(ip + 6) & 0x3fff) != 0) {
		return; /* malformed, not for us, or a fragment */
	}
	if (ip[9] == IP_ICMP) {
		icmp(f, ip, ihl, iplen);
	} else if (ip[9] == IP_UDP) {
		udp(f, ip, ihl, iplen);
	}
}

/* Word-sized loads and stores (inlined moves, not library calls). */
static uint32_t ld32(const uint8_t *p)
{
	uint32_t v;
	__builtin_memcpy(&v, p, 4);
	return v;
}

static uint16_t ld16(const uint8_t *p)
{
	uint16_t v;
	__builtin_memcpy(&v, p, 2);
	return v;
}

static void st32(uint8_t *p, uint32_t v)
{
	__builtin_memcpy(p, &v, 4);
}

static void st16(uint8_t *p, uint16_t v)
{
	__builtin_memcpy(p, &v, 2);
}

static void swap32(uint8_t *a, uint8_t *b)
{
	uint32_t t = ld32(a);
	st32(a, ld32(b));
	st32(b, t);
}

static void swap16(uint8_t *a, uint8_t *b)
{
	uint16_t t = ld16(a);
	st16(a, ld16(b));
	st16(b, t);
}

/* The fast path of an echo (this host runs guest code in KVM's instruction emulator, about a
 * microsecond per instruction): a UDP datagram to port 7 or an ICMP echo request to us is
 * turned around in its RX buffer and sent from there.  Swapping the addresses and ports leaves
 * the IP and UDP checksums valid (the pseudo-header sum is symmetric); ICMP's changes by the
 * type field only.  Returns 1 if the frame was sent back (its buffer is the device's again), 2
 * if it was a datagram for the sink (counted; the caller returns the buffer), 0 otherwise. */
static int echo_in_place(uint8_t *f, uint32_t len, uint16_t head)
{
	uint8_t *ip = f + ETH_HLEN, *l4;
	uint32_t ihl, s;

	if (len < ETH_HLEN + 28 || be16(f + 12) != ETH_IP || ld32(f) != ld32(dev.mac) ||
	    ld16(f + 4) != ld16(dev.mac + 4) || ip[0] != 0x45 || ld32(ip + 16) != ld32(my_ip) ||
	    (be16(ip + 6) & 0x3fff) != 0 || be16(ip + 2) > len - ETH_HLEN) {
		return 0;
	}
	ihl = 20;
	l4 = ip + ihl;
	if (ip[9] == IP_UDP && be16(l4 + 2) == 9 && be16(l4 + 4) >= 8) {
		sink_dgrams++; /* the discard sink: counted, the buffer goes straight back */
		sink_bytes += be16(l4 + 4) - 8u;
		return 2;
	}
	if (ip[9] == IP_UDP && be16(l4 + 2) == 7) {
		if ((nd_rx_hdr[head / 2][0] & 1) && !(dev.features & VF_CSUM)) {
			return 0; /* partial checksum we could not pass on */
		}
		swap16(l4, l4 + 2);
		n_udp++;
	} else if (ip[9] == IP_ICMP && l4[0] == 8 && be16(ip + 2) >= ihl + 8) {
		l4[0] = 0;
		s = (uint32_t)be16(l4 + 2) + 0x0800; /* checksum: the type went from 8 to 0 */
		put_be16(l4 + 2, (uint16_t)((s & 0xffff) + (s >> 16)));
		n_icmp++;
	} else {
		return 0;
	}
	swap32(f, f + 6);
	swap16(f + 4, f + 10);
	swap32(ip + 12, ip + 16);
	nd_tx_send_rx(&dev, head, len);
	return 1;
}

static void frame(const uint8_t *f, uint32_t len)
{
	if (len < ETH_HLEN) {
		return;
	}
	if (be16(f + 12) == ETH_ARP) {
		arp(f, len);
	} else if (be16(f + 12) == ETH_IP) {
		ipv4(f, len);
	}
}

static void serve(void)
{
	while (!quitting) {
		uint32_t len;
		uint16_t head;
		uint8_t *f;
		int any = 0;
		while (!quitting && (f = nd_rx_next(&dev, &len, &head)) != NULL) {
			int r = echo_in_place(f, len, head);
			if (r != 1) {
				if (r == 0) {
					frame(f, len);
				}
				nd_rx_done(&dev, head);
				any = 1;
			}
		}
		nd_tx_reclaim(&dev);
		if (any || dev.rx_returned) {
			dev.rx_returned = false;
			nd_notify(&dev, 0);
		}
		if (!quitting) {
			nd_wait(&dev);
		}
	}
}

static void print_mac(const uint8_t *m)
{
	static const char hex[] = "0123456789abcdef";
	char s[18];

	for (int i = 0; i < 6; i++) {
		s[3 * i] = hex[m[i] >> 4];
		s[3 * i + 1] = hex[m[i] & 15];
		s[3 * i + 2] = i < 5 ? ':' : '\0';
	}
	rt_printf("%s", s);
}

int echo_setup(const struct uh_boot_info *bi)
{
	return configure_ip() != 0 || nd_probe(bi, &dev) != 0 || nd_platform(bi, &dev) != 0 ? -1
											    : 0;
}

int echo_start(void)
{
	if (nd_init(&dev, ND_DRIVER_FEATURES) != 0) {
		return 1;
	}
	rt_printf("net-echo: virtio-net %x:%x at 00:%u.0, irq %u, mac ", 0x1af4u,
		  (unsigned)dev.device_id, dev.pcidev, dev.line);
	print_mac(dev.mac);
	rt_printf(", mtu %u, link %s\n", dev.mtu, dev.link & 1 ? "up" : "down");
	rt_printf("net-echo: ip %u.%u.%u.%u mask %u.%u.%u.%u gateway %u.%u.%u.%u\n", my_ip[0],
		  my_ip[1], my_ip[2], my_ip[3], mask[0], mask[1], mask[2], mask[3], gw_ip[0],
		  gw_ip[1], gw_ip[2], gw_ip[3]);
	rt_printf("net-echo: ready\n");
	serve();
	for (uint64_t t = nd_ms(); dev.tx_nfree < dev.q[1].size / 2 && nd_ms() - t < 1000;) {
		nd_tx_reclaim(&dev); /* let the last reply ("bye") leave */
	}
	rt_printf("net-echo: arp %u icmp %u udp %u\n", n_arp, n_icmp, n_udp);
	return 0;
}

/* The net-hostile guest brings its own guest_main. */
__attribute__((weak)) int guest_main(const struct uh_boot_info *bi, unsigned cpu)
{
	(void)cpu;
	return echo_setup(bi) != 0 ? 1 : echo_start();
}
