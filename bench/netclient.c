/* SPDX-License-Identifier: MIT */
/* netclient.c - the UDP client of the network benchmark and tests (bench/README.md).  It
 * talks to a server with the net-echo guest's protocol (tests/guests/net_echo.c): UDP echo on
 * port 7, a discard sink on port 9, commands on port 5 ("stats", "reset", "send N SIZE PORT",
 * "quit").  The same client measures the guest and the host floor server (netserver.c).
 *
 *   netclient HOST rtt N SIZE        N sequential echo round trips of SIZE bytes: checks every
 *                                    reply byte for byte; prints median/p10/p90 in us
 *   netclient HOST tx N SIZE         N datagrams to the sink as fast as the socket takes them,
 *                                    then "stats": prints delivered bytes and Mbit/s
 *   netclient HOST rx N SIZE         asks the server to send N datagrams; counts what arrives
 *                                    until 300 ms of silence: prints received bytes and Mbit/s
 *   netclient HOST echo PAYLOAD...   one round trip per PAYLOAD word: prints each reply
 *   netclient HOST cmd WORDS...      sends the command, prints the reply
 *   netclient HOST ping N            N ICMP echo requests (raw socket): prints "ping ok N/N"
 * Exit 0 when every reply arrived and matched; 1 otherwise (the message says what). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PORT_ECHO 7
#define PORT_SINK 9
#define PORT_CMD  5
#define MAXDG	  65536

static struct sockaddr_in server;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int udp_socket(void)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), big = 4 << 20;
	struct sockaddr_in any = {.sin_family = AF_INET};

	if (s < 0 || bind(s, (struct sockaddr *)&any, sizeof any) != 0) {
		perror("netclient: socket");
		exit(1);
	}
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	return s;
}

static void send_to(int s, uint16_t port, const void *buf, size_t len)
{
	struct sockaddr_in to = server;

	to.sin_port = htons(port);
	if (sendto(s, buf, len, 0, (struct sockaddr *)&to, sizeof to) != (ssize_t)len) {
		perror("netclient: sendto");
		exit(1);
	}
}

/* Receives one datagram within timeout_ms; returns its length or -1. */
static ssize_t recv_one(int s, void *buf, size_t cap, int timeout_ms)
{
	struct pollfd p = {s, POLLIN, 0};

	if (poll(&p, 1, timeout_ms) != 1) {
		return -1;
	}
	return recv(s, buf, cap, 0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int rtt(int n, size_t size)
{
	int s = udp_socket();
	double *t = calloc((size_t)n, sizeof *t);
	static uint8_t out[MAXDG], in[MAXDG];

	for (int i = 0; i < n; i++) {
		double t0;
		for (size_t k = 0; k < size; k++) {
			out[k] = (uint8_t)(i + k);
		}
		t0 = now_us();
		send_to(s, PORT_ECHO, out, size);
		ssize_t r = recv_one(s, in, sizeof in, 2000);
		t[i] = now_us() - t0;
		if (r != (ssize_t)size || memcmp(in, out, size) != 0) {
			fprintf(stderr, "netclient: echo %d of %zu bytes: %s\n", i, size,
				r < 0 ? "no reply within 2 s" : "wrong reply");
			return 1;
		}
	}
	qsort(t, (size_t)n, sizeof *t, cmp_double);
	printf("rtt n=%d size=%zu median_us=%.1f p10_us=%.1f p90_us=%.1f\n", n, size, t[n / 2],
	       t[n / 10], t[n * 9 / 10]);
	free(t);
	return 0;
}

/* Sends a command and waits for its one-datagram reply (NUL-terminated into reply). */
static int command(int s, const char *cmd, char *reply, size_t cap)
{
	ssize_t r;

	send_to(s, PORT_CMD, cmd, strlen(cmd));
	r = recv_one(s, reply, cap - 1, 2000);
	if (r < 0) {
		fprintf(stderr, "netclient: no reply to '%s'\n", cmd);
		return -1;
	}
	reply[r] = '\0';
	return 0;
}

static int tx(long n, size_t size)
{
	int s = udp_socket();
	static uint8_t out[MAXDG];
	char reply[128];
	unsigned long long dg = 0, bytes = 0;
	double t0, t1;

	if (command(s, "reset", reply, sizeof reply) != 0) {
		return 1;
	}
	t0 = now_us();
	for (long i = 0; i < n; i++) {
		out[0] = (uint8_t)i;
		send_to(s, PORT_SINK, out, size);
	}
	usleep(100000); /* let the last datagrams land */
	if (command(s, "stats", reply, sizeof reply) != 0 ||
	    sscanf(reply, "rx %llu %llu", &dg, &bytes) != 2) {
		return 1;
	}
	t1 = now_us() - 100000;
	printf("tx sent=%ld size=%zu delivered=%llu bytes=%llu mbit_s=%.1f\n", n, size, dg, bytes,
	       (double)bytes * 8 / (t1 - t0));
	return 0;
}

static int rx(long n, size_t size)
{
	int s = udp_socket();
	struct sockaddr_in me;
	socklen_t ml = sizeof me;
	static uint8_t in[MAXDG];
	char cmd[64], reply[64];
	unsigned long long dg = 0, bytes = 0;
	double t0, last = 0;
	ssize_t r;

	getsockname(s, (struct sockaddr *)&me, &ml);
	snprintf(cmd, sizeof cmd, "send %ld %zu %u", n, size, ntohs(me.sin_port));
	t0 = now_us();
	if (command(s, cmd, reply, sizeof reply) != 0 || strcmp(reply, "ok") != 0) {
		fprintf(stderr, "netclient: '%s' refused\n", cmd);
		return 1;
	}
	while ((r = recv_one(s, in, sizeof in, 300)) >= 0) {
		dg++;
		bytes += (unsigned long long)r;
		last = now_us();
	}
	printf("rx asked=%ld size=%zu received=%llu bytes=%llu mbit_s=%.1f\n", n, size, dg, bytes,
	       last > t0 ? (double)bytes * 8 / (last - t0) : 0.0);
	return 0;
}

static uint16_t icmp_sum(const uint8_t *p, size_t n)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < n; i += 2) {
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	}
	if (n & 1) {
		s += (uint32_t)p[n - 1] << 8;
	}
	while (s >> 16) {
		s = (s & 0xffff) + (s >> 16);
	}
	return (uint16_t)~s;
}

static int ping(int n)
{
	int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMP), ok = 0;
	uint8_t out[64], in[1500];

	if (s < 0) {
		perror("netclient: raw socket");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		uint16_t c;
		memset(out, 0, sizeof out);
		out[0] = ICMP_ECHO;
		out[5] = 0x42; /* id */
		out[7] = (uint8_t)i; /* sequence */
		for (size_t k = 8; k < sizeof out; k++) {
			out[k] = (uint8_t)(k * 7 + i);
		}
		c = icmp_sum(out, sizeof out);
		out[2] = (uint8_t)(c >> 8);
		out[3] = (uint8_t)c;
		if (sendto(s, out, sizeof out, 0, (struct sockaddr *)&server, sizeof server) < 0) {
			perror("netclient: ping sendto");
			return 1;
		}
		for (;;) { /* the raw socket sees every ICMP packet: find our reply */
			ssize_t r = recv_one(s, in, sizeof in, 2000);
			size_t ihl = r > 0 ? (size_t)(in[0] & 15) * 4 : 0;
			if (r < 0) {
				break;
			}
			if ((size_t)r == ihl + sizeof out && in[ihl] == ICMP_ECHOREPLY &&
			    memcmp(in + ihl + 4, out + 4, sizeof out - 4) == 0 &&
			    icmp_sum(in + ihl, sizeof out) == 0) {
				ok++;
				break;
			}
		}
	}
	printf("ping %s %d/%d\n", ok == n ? "ok" : "FAILED", ok, n);
	return ok == n ? 0 : 1;
}

static int echo_words(int argc, char **argv)
{
	int s = udp_socket();
	static uint8_t in[MAXDG];

	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		send_to(s, PORT_ECHO, argv[i], n);
		ssize_t r = recv_one(s, in, sizeof in, 2000);
		if (r != (ssize_t)n || memcmp(in, argv[i], n) != 0) {
			fprintf(stderr, "netclient: echo of '%s': %s\n", argv[i],
				r < 0 ? "no reply within 2 s" : "wrong reply");
			return 1;
		}
		printf("echo %.*s\n", (int)r, (const char *)in);
	}
	return 0;
}

static int cmd_words(int argc, char **argv)
{
	int s = udp_socket();
	char cmd[256] = "", reply[256];

	for (int i = 0; i < argc; i++) {
		strncat(cmd, argv[i], sizeof cmd - strlen(cmd) - 2);
		if (i + 1 < argc) {
			strcat(cmd, " ");
		}
	}
	if (command(s, cmd, reply, sizeof reply) != 0) {
		return 1;
	}
	printf("%s\n", reply);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3 || inet_pton(AF_INET, argv[1], &server.sin_addr) != 1) {
		fprintf(stderr,
			"usage: netclient HOST rtt|tx|rx N SIZE | echo WORD... | cmd WORD... "
			"| ping N\n");
		return 2;
	}
	server.sin_family = AF_INET;
	if (!strcmp(argv[2], "echo")) {
		return echo_words(argc - 3, argv + 3);
	}
	if (!strcmp(argv[2], "cmd")) {
		return cmd_words(argc - 3, argv + 3);
	}
	if (!strcmp(argv[2], "ping") && argc == 4) {
		return ping(atoi(argv[3]));
	}
	if (argc != 5 || atol(argv[3]) < 1 || atol(argv[4]) < 1 || atol(argv[4]) > 65507) {
		fprintf(stderr, "netclient: expected N >= 1 and SIZE 1..65507\n");
		return 2;
	}
	if (!strcmp(argv[2], "rtt")) {
		return rtt(atoi(argv[3]), (size_t)atol(argv[4]));
	}
	if (!strcmp(argv[2], "tx")) {
		return tx(atol(argv[3]), (size_t)atol(argv[4]));
	}
	if (!strcmp(argv[2], "rx")) {
		return rx(atol(argv[3]), (size_t)atol(argv[4]));
	}
	fprintf(stderr, "netclient: unknown mode %s\n", argv[2]);
	return 2;
}
