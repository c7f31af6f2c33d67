/* SPDX-License-Identifier: MIT */
/* netserver.c - the floor of the network benchmark: the net-echo guest's UDP protocol
 * (tests/guests/net_echo.c) served by a host process, one thread, blocking sockets:
 * echo on port 7, a counting sink on port 9, commands on port 5 ("stats", "reset",
 * "send N SIZE PORT", "quit").  Run it in a network namespace at the other end of a veth
 * pair from netclient (bench/netbench.sh).  Exits 0 at "quit". */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int bound(uint16_t port)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), big = 4 << 20;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0) {
		perror("netserver: bind");
		exit(1);
	}
	setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	setsockopt(s, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	return s;
}

static unsigned long long sink_dg, sink_bytes;

static void reply(int s, const struct sockaddr_in *to, const char *msg)
{
	sendto(s, msg, strlen(msg), 0, (const struct sockaddr *)to, sizeof *to);
}

/* Returns 1 at "quit". */
static int command(int s, char *cmd, const struct sockaddr_in *from)
{
	static uint8_t pattern[65507];
	long n, size, port;
	char out[64];

	if (!strcmp(cmd, "stats")) {
		snprintf(out, sizeof out, "rx %llu %llu", sink_dg, sink_bytes);
		reply(s, from, out);
	} else if (!strcmp(cmd, "reset")) {
		sink_dg = sink_bytes = 0;
		reply(s, from, "ok");
	} else if (sscanf(cmd, "send %ld %ld %ld", &n, &size, &port) == 3 && n >= 0 && size >= 1 &&
		   size <= (long)sizeof pattern && port >= 1 && port <= 65535) {
		struct sockaddr_in to = *from;
		to.sin_port = htons((uint16_t)port);
		reply(s, from, "ok");
		for (long i = 0; i < n; i++) {
			pattern[0] = (uint8_t)i;
			sendto(s, pattern, (size_t)size, 0, (struct sockaddr *)&to, sizeof to);
		}
	} else if (!strcmp(cmd, "quit")) {
		reply(s, from, "bye");
		return 1;
	} else {
		reply(s, from, "?");
	}
	return 0;
}

int main(void)
{
	struct pollfd p[3] = {{bound(7), POLLIN, 0}, {bound(9), POLLIN, 0}, {bound(5), POLLIN, 0}};
	static char buf[65536];

	for (;;) {
		if (poll(p, 3, -1) < 0) {
			continue;
		}
		for (int i = 0; i < 3; i++) {
			struct sockaddr_in from;
			socklen_t fl = sizeof from;
			ssize_t r;
			if (!(p[i].revents & POLLIN)) {
				continue;
			}
			r = recvfrom(p[i].fd, buf, sizeof buf - 1, 0, (struct sockaddr *)&from,
				     &fl);
			if (r < 0) {
				continue;
			}
			if (i == 0) {
				sendto(p[i].fd, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
			} else if (i == 1) {
				sink_dg++;
				sink_bytes += (unsigned long long)r;
			} else {
				buf[r] = '\0';
				if (command(p[i].fd, buf, &from)) {
					return 0;
				}
			}
		}
	}
}
