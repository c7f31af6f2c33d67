/* SPDX-License-Identifier: MIT */
/* pack.c - the validated policy as a flat buffer, from the launcher to the exec'd broker.
 *
 * One parse, one truth: the launcher parses and validates the policy once; the broker gets
 * exactly that result (not the file again, which could have changed).  The buffer comes from
 * the broker's own parent, yet policy_unpack() checks it completely (magic, counts, every
 * length, NUL terminators, flag bits) before it builds anything.
 *
 * Layout (host byte order): header {magic[8], u32 nmounts, u32 max_open_files,
 * u64 max_write_bytes, u32 scratch, u32 pad}, then per mount {u32 flags, u32 host_len,
 * u32 guest_len, u32 origin_len} followed by host, guest and origin, each with its NUL.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define PACK_MAGIC "UHSPOL1"

struct pack_hdr {
	char magic[8];
	uint32_t nmounts;
	uint32_t max_open_files;
	uint64_t max_write_bytes;
	uint32_t scratch;
	uint32_t pad;
};

struct pack_mount {
	uint32_t flags;
	uint32_t host_len, guest_len, origin_len; /* each including its NUL */
};

_Static_assert(sizeof(struct pack_hdr) == 32, "pack layout");
_Static_assert(sizeof(struct pack_mount) == 16, "pack layout");

enum {
	F_WRITABLE = 1,
	F_CREATE = 2,
	F_REMOVE = 4,
	F_MKDIR = 8,
	F_HARDLINKS = 16,
	F_SYMLINKS_WITHIN = 32,
	F_FILE = 64,
	F_ALL = 127,
};

static uint32_t mount_flags(const struct pol_mount *m)
{
	return (m->writable ? F_WRITABLE : 0) | (m->create ? F_CREATE : 0) |
	       (m->remove ? F_REMOVE : 0) | (m->mkdir ? F_MKDIR : 0) |
	       (m->hardlinks ? F_HARDLINKS : 0) |
	       (m->symlinks == POL_SYMLINKS_WITHIN ? F_SYMLINKS_WITHIN : 0) |
	       (m->file ? F_FILE : 0);
}

static size_t put(uint8_t *b, size_t o, const void *src, size_t n)
{
	memcpy(b + o, src, n);
	return o + n;
}

int policy_pack(const struct policy *p, void **buf, size_t *len)
{
	struct pack_hdr h = {.magic = PACK_MAGIC,
			     .nmounts = (uint32_t)p->nmounts,
			     .max_open_files = p->max_open_files,
			     .max_write_bytes = p->max_write_bytes,
			     .scratch = p->scratch};
	size_t n = sizeof h, o;
	uint8_t *b;

	for (size_t i = 0; i < p->nmounts; i++) {
		const struct pol_mount *m = &p->mounts[i];
		n += sizeof(struct pack_mount) + strlen(m->host) + strlen(m->guest) +
		     strlen(m->origin) + 3;
	}
	if ((b = malloc(n)) == NULL) {
		return -ENOMEM;
	}
	o = put(b, 0, &h, sizeof h);
	for (size_t i = 0; i < p->nmounts; i++) {
		const struct pol_mount *m = &p->mounts[i];
		struct pack_mount pm = {.flags = mount_flags(m),
					.host_len = (uint32_t)strlen(m->host) + 1,
					.guest_len = (uint32_t)strlen(m->guest) + 1,
					.origin_len = (uint32_t)strlen(m->origin) + 1};
		o = put(b, o, &pm, sizeof pm);
		o = put(b, o, m->host, pm.host_len);
		o = put(b, o, m->guest, pm.guest_len);
		o = put(b, o, m->origin, pm.origin_len);
	}
	*buf = b;
	*len = o;
	return 0;
}

/* Takes a NUL-terminated string of exactly n bytes (NUL included) at *o. */
static const char *take(const uint8_t *b, size_t len, size_t *o, uint32_t n, size_t max)
{
	const char *s = (const char *)b + *o;

	if (n == 0 || n > max || n > len - *o || memchr(s, '\0', n) != s + n - 1) {
		return NULL;
	}
	*o += n;
	return s;
}

static int unpack_mount(struct pol_mount *m, const uint8_t *b, size_t len, size_t *o)
{
	struct pack_mount pm;
	const char *host, *guest, *origin;

	if (len - *o < sizeof pm) {
		return -1;
	}
	memcpy(&pm, b + *o, sizeof pm);
	*o += sizeof pm;
	host = take(b, len, o, pm.host_len, POL_PATH_MAX);
	guest = host == NULL ? NULL : take(b, len, o, pm.guest_len, POL_PATH_MAX);
	origin = guest == NULL ? NULL : take(b, len, o, pm.origin_len, sizeof m->origin);
	if (origin == NULL || (pm.flags & ~(uint32_t)F_ALL) != 0 || host[0] != '/' ||
	    guest[0] != '/' ||
	    ((pm.flags & F_FILE) && (pm.flags & (F_CREATE | F_REMOVE | F_MKDIR)) != 0)) {
		return -1; /* a file mapping never creates, removes or makes a directory */
	}
	*m = (struct pol_mount){.writable = pm.flags & F_WRITABLE,
				.create = pm.flags & F_CREATE,
				.remove = pm.flags & F_REMOVE,
				.mkdir = pm.flags & F_MKDIR,
				.hardlinks = pm.flags & F_HARDLINKS,
				.symlinks = (pm.flags & F_SYMLINKS_WITHIN) ? POL_SYMLINKS_WITHIN
									   : POL_SYMLINKS_DENY,
				.file = pm.flags & F_FILE};
	memcpy(m->origin, origin, pm.origin_len);
	m->host = strdup(host);
	m->guest = strdup(guest);
	return m->host != NULL && m->guest != NULL ? 0 : -ENOMEM;
}

int policy_unpack(struct policy *p, const void *buf, size_t len)
{
	const uint8_t *b = buf;
	struct pack_hdr h;
	size_t o = sizeof h;
	int rc = 0;

	policy_init(p);
	if (len < sizeof h) {
		return -1;
	}
	memcpy(&h, b, sizeof h);
	if (memcmp(h.magic, PACK_MAGIC, sizeof h.magic) != 0 || h.nmounts > POL_MAX_MOUNTS ||
	    h.max_open_files == 0 || h.max_open_files > POL_MAX_OPEN_FILES || h.scratch > 1) {
		return -1;
	}
	p->mounts = calloc(h.nmounts + 1, sizeof *p->mounts);
	if (p->mounts == NULL) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < h.nmounts && rc == 0; i++) {
		rc = unpack_mount(&p->mounts[i], b, len, &o);
		p->nmounts = i + 1;
	}
	if (rc == 0 && o != len) {
		rc = -1; /* trailing bytes */
	}
	p->max_open_files = h.max_open_files;
	p->max_write_bytes = h.max_write_bytes;
	p->scratch = h.scratch != 0;
	if (rc != 0) {
		policy_free(p);
	}
	return rc;
}
