/* SPDX-License-Identifier: MIT */
/* brk_dirent.c - the records of a directory listing the broker passes to the VMM (the format
 * is in broker_proto.h): written by the broker, checked by the VMM.
 *
 * Threat: the VMM reads these bytes from a memfd the broker sent; a confused broker, or a
 * guest that seeks to the middle of a record, must never make the VMM read or return bytes
 * outside one record, or a name without its NUL.  brk_dirent_check accepts exactly the one
 * encoding brk_dirent_put writes. */
#include <stdbool.h>
#include <string.h>

#include "broker_proto.h"

#define OFF_INO	   0
#define OFF_OFF	   8
#define OFF_RECLEN 16
#define OFF_TYPE   18

_Static_assert(BRK_DIRENT_HDR == OFF_TYPE + 1, "linux_dirent64 layout");
_Static_assert(BRK_DIRENT_MAX == 280, "the longest record");

static bool name_ok(const char *name, size_t len)
{
	return len >= 1 && len <= BRK_DIRENT_NAME_MAX && memchr(name, '/', len) == NULL &&
	       memchr(name, '\0', len) == NULL;
}

size_t brk_dirent_put(void *p, uint64_t off, uint64_t ino, uint8_t type, const char *name,
		      size_t namelen)
{
	unsigned char *b = p;
	size_t reclen;
	uint64_t next;
	uint16_t r16;

	if (!name_ok(name, namelen)) {
		return 0;
	}
	reclen = BRK_DIRENT_LEN(namelen);
	next = off + reclen;
	r16 = (uint16_t)reclen;
	memset(b, 0, reclen);
	memcpy(b + OFF_INO, &ino, sizeof ino);
	memcpy(b + OFF_OFF, &next, sizeof next);
	memcpy(b + OFF_RECLEN, &r16, sizeof r16);
	b[OFF_TYPE] = type;
	memcpy(b + BRK_DIRENT_HDR, name, namelen);
	return reclen;
}

/* Every byte is read only after avail says it is there; the name is found with memchr
 * bounded by the record. */
size_t brk_dirent_check(const void *p, size_t avail, uint64_t off)
{
	const unsigned char *b = p;
	const unsigned char *nul;
	uint16_t reclen;
	uint64_t next;
	size_t namelen;

	if (avail < BRK_DIRENT_LEN(1)) {
		return 0;
	}
	memcpy(&reclen, b + OFF_RECLEN, sizeof reclen);
	memcpy(&next, b + OFF_OFF, sizeof next);
	if (reclen < BRK_DIRENT_LEN(1) || reclen > BRK_DIRENT_MAX || reclen % 8 != 0 ||
	    reclen > avail || next != off + reclen || next < off) {
		return 0;
	}
	nul = memchr(b + BRK_DIRENT_HDR, 0, reclen - BRK_DIRENT_HDR);
	if (nul == NULL) {
		return 0;
	}
	namelen = (size_t)(nul - (b + BRK_DIRENT_HDR));
	if (!name_ok((const char *)b + BRK_DIRENT_HDR, namelen) ||
	    BRK_DIRENT_LEN(namelen) != reclen) {
		return 0;
	}
	for (const unsigned char *z = nul; z < b + reclen; z++) {
		if (*z != 0) {
			return 0;
		}
	}
	return reclen;
}
