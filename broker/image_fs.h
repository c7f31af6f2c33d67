/* SPDX-License-Identifier: MIT */
/* image_fs.h - a Hermit image's files, served read-only at / (image_fs.c). */
#ifndef UHS_IMAGE_FS_H
#define UHS_IMAGE_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "broker_proto.h"
#include "hermit_image.h"
#include "meta.h"
#include "policy.h"
#include "resolve.h"

struct image_fs {
	bool on;
	const uint8_t *map; /* the sealed blob, mapped read-only */
	size_t len;
	struct hermit_image img; /* borrowed from map (hi_blob_load) */
};

/* Maps the blob memfd fd (it must carry the write, grow and shrink seals) and checks it with
 * hi_blob_load.  Closes fd.  Returns 0, or -1 with a reason in err. */
int image_fs_load(int fd, struct image_fs *ifs, char *err, size_t errlen);
void image_fs_free(struct image_fs *ifs);

/* What the broker needs to answer one request from the image. */
struct image_req {
	const struct policy *pol; /* a path beneath a mount is the mount's, never the image's */
	const struct meta_key *key;
	bool scratch; /* a scratch directory exists: names the image lacks may go there */
};

/* Decides a validated request if it is the image's: returns true with *rc (0 or -errno),
 * *fd (a sealed memfd of a file's bytes or a directory's listing, or -1) and *st (on
 * success); false if the path is not the image's (a mount's, or a name the image does not
 * hold while a scratch directory takes it): the caller resolves it as before. */
bool image_fs_handle(const struct image_fs *ifs, const struct image_req *ir,
		     const struct brk_req *req, int *rc, int *fd, struct brk_stat *st,
		     struct resolve_verdict *v);

#endif
