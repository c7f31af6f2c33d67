/* SPDX-License-Identifier: MIT */
/* fuzz_broker_req.c - the broker's request check (common/broker_proto.c, brk_req_check).
 *
 * Input: the bytes of one message from a (compromised) VMM.  It is checked as received (any
 * size), and zero-padded or cut to the exact request size so the deeper checks are reached
 * too; both copies sit at the end of guarded buffers.  Every input also travels through
 * brk_send/brk_recv over a SOCK_SEQPACKET socketpair and must arrive unchanged.
 *
 * Oracles: brk_req_check must agree with a separately written reference of the protocol rules
 * (broker_proto.h) in both directions, and an accepted request must be canonical: building it
 * again with brk_req_build from its fields gives the same bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>

#include "broker_proto.h"
#include "fuzz.h"

static bool ref_valid(const struct brk_req *r)
{
	const char *nul = memchr(r->path, 0, sizeof r->path);
	uint32_t fl = (uint32_t)r->flags;

	if (r->h.version != BRK_VERSION || nul == NULL || nul == r->path) {
		return false;
	}
	for (const char *p = nul; p < r->path + sizeof r->path; p++) {
		if (*p != 0) {
			return false;
		}
	}
	switch (r->h.op) {
	case BRK_OP_OPEN:
		return (fl & ~(uint32_t)(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND |
					 O_DIRECTORY)) == 0 &&
		       (fl & O_ACCMODE) != O_ACCMODE && r->mode <= 0777 &&
		       (r->mode == 0 || (fl & O_CREAT)) &&
		       ((fl & O_CREAT) ? r->new_max >= 1 && r->new_max <= 2048 : r->new_max == 0);
	case BRK_OP_MKDIR:
		return fl == 0 && r->mode <= 0777 && (r->mode & 0700) == 0700 && r->new_max == 1;
	case BRK_OP_UNLINK:
	case BRK_OP_STAT:
	case BRK_OP_LSTAT:
		return fl == 0 && r->mode == 0 && r->new_max == 0;
	default:
		return false;
	}
}

static void check_one(const uint8_t *buf, size_t n)
{
	const char *why = NULL;
	int rc = brk_req_check(buf, n, &why);
	struct brk_req r, again;
	bool want;

	if (rc != 0 && (rc != -EPROTO || why == NULL || why[0] == '\0')) {
		FUZZ_BUG("brk_req_check returned %d without a reason", rc);
	}
	if (n != sizeof r) {
		if (rc == 0) {
			FUZZ_BUG("brk_req_check accepted %zu bytes", n);
		}
		return;
	}
	memcpy(&r, buf, sizeof r);
	want = ref_valid(&r);
	if (want != (rc == 0)) {
		FUZZ_BUG("brk_req_check says %s (%s), reference says %s", rc == 0 ? "ok" : "bad",
			 rc == 0 ? "-" : why, want ? "ok" : "bad");
	}
	if (rc == 0) {
		if (brk_req_build(&again, (enum brk_op)r.h.op, r.h.seq, r.flags, r.mode, r.path) !=
		    0) {
			FUZZ_BUG("accepted request cannot be rebuilt");
		}
		again.new_max = r.new_max; /* the VMM's budget sets it after building */
		if (memcmp(&again, &r, sizeof r) != 0) {
			FUZZ_BUG("accepted request is not canonical");
		}
	}
}

/* The message must survive the socket unchanged (SOCK_SEQPACKET keeps boundaries). */
static void roundtrip(const uint8_t *data, size_t size)
{
	static int sv[2] = {-1, -1};
	static uint8_t got[sizeof(struct brk_req) + 64];
	int fd, nfds, rc;
	ssize_t n;

	if (size > sizeof got - 1) {
		return;
	}
	if (sv[0] < 0 && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		FUZZ_SETUP_FAIL("socketpair");
	}
	rc = brk_send(sv[0], data, size, -1);
	if (rc != 0) {
		FUZZ_SETUP_FAIL("brk_send");
	}
	n = brk_recv(sv[1], got, sizeof got, &fd, &nfds);
	if (size == 0) {
		return; /* an empty record reads as EOF (0): by design */
	}
	if (n != (ssize_t)size || fd != -1 || nfds != 0 || memcmp(got, data, size) != 0) {
		FUZZ_BUG("send/recv of %zu bytes: got %zd, fd %d, nfds %d", size, n, fd, nfds);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct garena raw, exact;
	static bool ready;
	uint8_t *b;

	if (!ready) {
		garena_init(&raw, 2 * sizeof(struct brk_req));
		garena_init(&exact, sizeof(struct brk_req));
		ready = true;
	}
	if (size > 2 * sizeof(struct brk_req)) {
		size = 2 * sizeof(struct brk_req);
	}
	b = garena_place(&raw, size > 0 ? size : 1);
	if (size > 0) {
		memcpy(b, data, size);
	}
	check_one(b, size);

	b = garena_place(&exact, sizeof(struct brk_req));
	memset(b, 0, sizeof(struct brk_req));
	if (size > 0) {
		memcpy(b, data, size < sizeof(struct brk_req) ? size : sizeof(struct brk_req));
	}
	check_one(b, sizeof(struct brk_req));

	roundtrip(data, size);
	garena_check(&raw, "brk_req_check");
	garena_check(&exact, "brk_req_check");
	return 0;
}
