/* SPDX-License-Identifier: MIT */
/* fuzz_broker_reply.c - the VMM's reply check (common/broker_proto.c, brk_reply_check).
 *
 * Input (little-endian): u16 op, u32 seq of the request in flight (built with brk_req_build);
 * u8 nfds: how many fds "arrived" with the reply (% 4); u16 new_max of the request (the
 * entries the broker may create); the rest is the reply as received.
 * It is checked as received (any size) and zero-padded or cut to the exact reply size, each
 * copy at the end of a guarded buffer.
 *
 * Oracle: brk_reply_check must agree with a separately written reference of the reply rules
 * (broker_proto.h) in both directions, and give a reason whenever it refuses.
 */
#include <errno.h>
#include <string.h>

#include "broker_proto.h"
#include "fuzz.h"

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		if (b[i] != 0) {
			return false;
		}
	}
	return true;
}

static bool ref_valid(const struct brk_reply *p, const struct brk_req *req, int nfds)
{
	bool is_stat = p->h.op == BRK_OP_STAT || p->h.op == BRK_OP_LSTAT;
	bool fd = p->h.op == BRK_OP_OPEN && p->err == 0;

	if (p->h.version != BRK_VERSION || p->h.op != req->h.op || p->h.op < BRK_OP_OPEN ||
	    p->h.op > BRK_OP_READY || p->h.seq != req->h.seq || p->err < 0 || p->err > 4095) {
		return false;
	}
	if (p->has_fd != (fd ? 1u : 0u) || nfds != (int)p->has_fd || p->created > req->new_max) {
		return false;
	}
	if ((is_stat || fd) && p->err == 0) {
		uint32_t type = p->st.mode & 0170000;
		/* dev: a mount 1-64, the scratch directory 65, a Hermit image's files 66 */
		return p->st.pad_ == 0 && p->st.pad2_ == 0 &&
		       (!fd || type == 0100000 || type == 0040000) && /* open: file or directory */
		       p->st.dev >= 1 && p->st.dev <= 66 && p->st.uid == 0 && p->st.gid == 0 &&
		       p->st.rdev == 0; /* no host identities */
	}
	return all_zero(&p->st, sizeof p->st);
}

static void check_one(const uint8_t *buf, size_t n, const struct brk_req *req, int nfds)
{
	const char *why = NULL;
	int rc = brk_reply_check(buf, n, req, nfds, &why);
	struct brk_reply p;
	bool want;

	if (rc != 0 && (rc != -EPROTO || why == NULL || why[0] == '\0')) {
		FUZZ_BUG("brk_reply_check returned %d without a reason", rc);
	}
	if (n != sizeof p) {
		if (rc == 0) {
			FUZZ_BUG("brk_reply_check accepted %zu bytes", n);
		}
		return;
	}
	memcpy(&p, buf, sizeof p);
	want = ref_valid(&p, req, nfds);
	if (want != (rc == 0)) {
		FUZZ_BUG("brk_reply_check says %s (%s), reference says %s", rc == 0 ? "ok" : "bad",
			 rc == 0 ? "-" : why, want ? "ok" : "bad");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct garena raw, exact;
	static bool ready;
	struct fin in = {data, size};
	struct brk_req req;
	uint16_t op;
	uint32_t seq;
	int nfds;
	uint8_t *b;

	if (!ready) {
		garena_init(&raw, 2 * sizeof(struct brk_reply));
		garena_init(&exact, sizeof(struct brk_reply));
		ready = true;
	}
	op = fin_u16(&in);
	seq = fin_u32(&in);
	nfds = fin_u8(&in) % 4;
	if (brk_req_build(&req, (enum brk_op)op, seq, 0, 0, "/x") != 0) {
		FUZZ_SETUP_FAIL("brk_req_build");
	}
	req.new_max = fin_u16(&in);
	if (in.n > 2 * sizeof(struct brk_reply)) {
		in.n = 2 * sizeof(struct brk_reply);
	}
	b = garena_place(&raw, in.n > 0 ? in.n : 1);
	if (in.n > 0) {
		memcpy(b, in.p, in.n);
	}
	check_one(b, in.n, &req, nfds);

	b = garena_place(&exact, sizeof(struct brk_reply));
	memset(b, 0, sizeof(struct brk_reply));
	if (in.n > 0) {
		memcpy(b, in.p, in.n < sizeof(struct brk_reply) ? in.n : sizeof(struct brk_reply));
	}
	check_one(b, sizeof(struct brk_reply), &req, nfds);
	garena_check(&raw, "brk_reply_check");
	garena_check(&exact, "brk_reply_check");
	return 0;
}
