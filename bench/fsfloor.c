/* SPDX-License-Identifier: MIT */
/* fsfloor.c - host-side floors for the file benchmark (bench/fsbench.sh):
 *   rtt: a same-CPU request/reply over a SOCK_SEQPACKET socketpair where the peer resolves a
 *        file with openat2(RESOLVE_BENEATH|...) and passes the fd back with SCM_RIGHTS, the
 *        receiver closes it (what one broker open costs at the least);
 *   pread/pwrite of 4 KiB and 1 MiB on a page-cache-warm file (what the data costs), in a hot
 *        loop (the floor);
 *   the same with a cold TLB (cold_ prefix; information, not a floor): before each timed
 *        call one byte of each of 8192 other pages is read, as the guest's run between two
 *        hypercalls evicts the VMM's translations on this host.
 * Usage: fsfloor DIR CPU N   (DIR holds "small" and a file "big" of >= 1 MiB)
 * Prints "name=median_ns" lines. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define REQ_SIZE 4112 /* sizeof(struct brk_req) */
#define REP_SIZE 128 /* sizeof(struct brk_reply) */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	return v[n / 2];
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0) {
		perror("sched_setaffinity");
		exit(2);
	}
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void peer(int sock, const char *dir)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
					  RESOLVE_NO_XDEV | RESOLVE_NO_SYMLINKS};
	int root = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	static char req[REQ_SIZE], rep[REP_SIZE];
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} ctl;

	for (;;) {
		ssize_t n = recv(sock, req, sizeof req, 0);
		if (n <= 0) {
			_exit(0);
		}
		int fd = (int)syscall(SYS_openat2, root, "small", &how, sizeof how);
		struct iovec iov = {rep, sizeof rep};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = ctl.b,
				   .msg_controllen = sizeof ctl.b};
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof fd);
		if (sendmsg(sock, &m, MSG_NOSIGNAL) < 0) {
			_exit(1);
		}
		close(fd);
	}
}

static uint64_t rtt(const char *dir, int cpu, int n)
{
	int sv[2];
	uint64_t *t = calloc((size_t)n, sizeof *t);
	static char req[REQ_SIZE], rep[REP_SIZE];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		die("socketpair");
	}
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		pin(cpu);
		peer(sv[1], dir);
	}
	close(sv[1]);
	for (int i = -50; i < n; i++) {
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int))];
		} ctl;
		struct iovec iov = {rep, sizeof rep};
		struct msghdr m = {.msg_iov = &iov,
				   .msg_iovlen = 1,
				   .msg_control = ctl.b,
				   .msg_controllen = sizeof ctl.b};
		uint64_t t0 = now_ns();
		if (send(sv[0], req, sizeof req, 0) < 0 ||
		    recvmsg(sv[0], &m, MSG_CMSG_CLOEXEC) <= 0) {
			die("round trip");
		}
		int fd;
		memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
		close(fd);
		if (i >= 0) {
			t[i] = now_ns() - t0;
		}
	}
	close(sv[0]);
	waitpid(pid, NULL, 0);
	uint64_t r = median(t, n);
	free(t);
	return r;
}

/* Evicts the second-level TLB: one byte from each of 8192 pages (32 MiB, faulted in once). */
static void evict_tlb(int cold)
{
	static volatile uint8_t *ev;
	uint8_t sink = 0;

	if (!cold) {
		return;
	}
	if (ev == NULL) {
		ev = calloc(8192, 4096);
		if (ev == NULL) {
			die("calloc");
		}
		for (size_t o = 0; o < 8192ul * 4096; o += 4096) {
			ev[o] = 1;
		}
	}
	for (size_t o = 0; o < 8192ul * 4096; o += 4096) {
		sink ^= ev[o + ((o >> 12) & 63) * 64]; /* another cache set on each page */
	}
	(void)sink;
}

static uint64_t io(const char *dir, const char *name, size_t bs, int write, int cold, int n)
{
	char path[4096];
	static char buf[1 << 20] __attribute__((aligned(4096)));
	uint64_t *t = calloc((size_t)n, sizeof *t), r;
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, (write ? O_RDWR | O_CREAT : O_RDONLY) | O_CLOEXEC, 0644);
	if (fd < 0) {
		die(path);
	}
	memset(buf, 'f', sizeof buf);
	for (int i = -20; i < n; i++) {
		evict_tlb(cold);
		uint64_t t0 = now_ns();
		ssize_t k = write ? pwrite(fd, buf, bs, 0) : pread(fd, buf, bs, 0);
		if (k != (ssize_t)bs) {
			die("pread/pwrite");
		}
		if (i >= 0) {
			t[i] = now_ns() - t0;
		}
	}
	close(fd);
	r = median(t, n);
	free(t);
	return r;
}

int main(int argc, char **argv)
{
	int cpu, n;

	if (argc != 4) {
		fprintf(stderr, "usage: fsfloor DIR CPU N\n");
		return 2;
	}
	cpu = atoi(argv[2]);
	n = atoi(argv[3]);
	if (n < 10) {
		n = 10;
	}
	pin(cpu);
	printf("rtt=%llu\n", (unsigned long long)rtt(argv[1], cpu, n));
	for (int cold = 0; cold <= 1; cold++) {
		const char *pre = cold ? "cold_" : "";
		printf("%spread_4096=%llu\n", pre,
		       (unsigned long long)io(argv[1], "big", 4096, 0, cold, n));
		printf("%spread_1048576=%llu\n", pre,
		       (unsigned long long)io(argv[1], "big", 1 << 20, 0, cold, n / 4));
		printf("%spwrite_4096=%llu\n", pre,
		       (unsigned long long)io(argv[1], "floor-out", 4096, 1, cold, n));
		printf("%spwrite_1048576=%llu\n", pre,
		       (unsigned long long)io(argv[1], "floor-out", 1 << 20, 1, cold, n / 4));
	}
	return 0;
}
