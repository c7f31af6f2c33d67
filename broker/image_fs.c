/* SPDX-License-Identifier: MIT */
/* image_fs.c - --hermit-image-mode external, the broker's side: the files of a Hermit image
 * appear read-only under / (as uhyve's file map shows them), served from memory.  Nothing is
 * ever extracted onto the host: the launcher's confined parser wrote the validated table as
 * a flat blob into a memfd, the launcher sealed it and passed it at exec (fd 6); here it is
 * mapped read-only and checked again (hi_blob_load) before the first request.  An opened file
 * is a fresh memfd holding a copy of its bytes, sealed against every change; an opened
 * directory its listing (listing.c), as for a mount.
 *
 * Precedence: a path beneath an operator's mount is the mount's; any other path is the
 * image's if the image holds it (or is "/"); a name it does not hold goes to the scratch
 * directory when there is one (--tempdir: uhyve's unmapped creates), else it does not exist
 * (and creating it is EROFS).
 *
 * Trust: the blob (checked: bounded, sorted, normalised names, every parent present); the
 * VMM's requests (checked by brk_req_check before they get here). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_fs.h"
#include "listing.h"

#define REQUIRED_SEALS (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK)
#define FILE_SEALS     (F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL)
#define IMAGE_HOST_DEV 0x756879766573696dull /* a device no host object has: "uhyvesim" */
#define ROOT	       (-1L) /* the index of "/" */
#define G_ACCMODE      03
#define G_CREAT	       0100
#define G_EXCL	       0200
#define G_TRUNC	       01000
#define G_APPEND       02000
#define G_DIRECTORY    0200000

static const char R_RO[] = "read-only image";

int image_fs_load(int fd, struct image_fs *ifs, char *err, size_t errlen)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);
	void *p;

	memset(ifs, 0, sizeof *ifs);
	if (seals < 0 || (seals & REQUIRED_SEALS) != REQUIRED_SEALS || fstat(fd, &st) != 0 ||
	    st.st_size <= 0) {
		snprintf(err, errlen, "the image blob is not a sealed memfd");
		close(fd);
		return -1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the image blob: %s", strerror(errno));
		return -1;
	}
	ifs->map = p;
	ifs->len = (size_t)st.st_size;
	if (hi_blob_load(ifs->map, ifs->len, &ifs->img, err, errlen) != 0) {
		image_fs_free(ifs);
		return -1;
	}
	ifs->on = true;
	return 0;
}

void image_fs_free(struct image_fs *ifs)
{
	if (ifs->on) {
		hi_free(&ifs->img);
	}
	if (ifs->map != NULL) {
		munmap((void *)(uintptr_t)ifs->map, ifs->len);
	}
	memset(ifs, 0, sizeof *ifs);
}

/* The guest's view of entry idx (ROOT for "/"): read-only, the archive's permission bits. */
static void entry_stat(const struct image_fs *ifs, const struct meta_key *key, long idx,
		       struct brk_stat *o)
{
	const struct hi_entry *e = idx == ROOT ? NULL : &ifs->img.entries[idx];
	bool dir = e == NULL || e->type == HI_DIR;
	struct stat st;

	memset(&st, 0, sizeof st);
	st.st_dev = IMAGE_HOST_DEV;
	st.st_ino = (ino_t)(idx + 2);
	st.st_nlink = dir ? 2 : 1;
	st.st_mode = (dir ? S_IFDIR : S_IFREG) | (e == NULL ? 0555 : (e->mode & 0555));
	st.st_size = dir ? 0 : (off_t)e->size;
	st.st_blksize = 4096;
	st.st_blocks = dir ? 0 : (blkcnt_t)((e->size + 511) / 512);
	meta_stat(key, -1, &st, o);
	o->dev = BRK_DEV_IMAGE;
}

/* The listing of directory idx: its direct children, ".", "..". */
struct dir_iter {
	const struct hermit_image *img;
	const char *prefix; /* the directory's name + "/", or "" for the root */
	size_t plen;
	long self, i; /* i: -2 ".", -1 "..", then entry indices */
};

static bool dir_next(void *ctx, struct listing_item *it)
{
	struct dir_iter *d = ctx;

	if (d->i < 0) {
		*it = (struct listing_item){.ino = (uint64_t)(d->i == -2 ? d->self + 2 : 1),
					    .type = DT_DIR,
					    .name = "..",
					    .len = d->i == -2 ? 1 : 2};
		d->i++;
		return true;
	}
	for (; (size_t)d->i < d->img->n_entries; d->i++) {
		const struct hi_entry *e = &d->img->entries[d->i];
		if (e->name_len > d->plen && memcmp(e->name, d->prefix, d->plen) == 0 &&
		    memchr(e->name + d->plen, '/', e->name_len - d->plen) == NULL) {
			*it = (struct listing_item){.ino = (uint64_t)d->i + 2,
						    .type = e->type == HI_DIR ? DT_DIR : DT_REG,
						    .name = e->name + d->plen,
						    .len = e->name_len - d->plen};
			d->i++;
			return true;
		}
	}
	return false;
}

static int open_dir(const struct image_fs *ifs, const struct meta_key *key, long idx, int *fd)
{
	char prefix[HI_NAME_MAX + 2] = "";
	struct dir_iter d = {.img = &ifs->img, .prefix = prefix, .self = idx, .i = -2};
	struct listing_ids ids = {.key = key, .host_dev = IMAGE_HOST_DEV};

	if (idx != ROOT) {
		const struct hi_entry *e = &ifs->img.entries[idx];
		memcpy(prefix, e->name, e->name_len);
		prefix[e->name_len] = '/';
		d.plen = e->name_len + 1;
	}
	return listing_build_from(dir_next, &d, &ids, BRK_LISTING_MAX, fd);
}

/* A sealed memfd with a copy of the file's bytes (the VMM reads it like a host file): sized
 * with ftruncate and filled through a shared mapping, so its offset stays 0. */
static int open_file(const struct hi_entry *e, int *fd)
{
	int m = memfd_create("uhyve-sec-image-file", MFD_CLOEXEC | MFD_ALLOW_SEALING), rc = 0;
	void *p = MAP_FAILED;

	if (m < 0) {
		return -errno;
	}
	if (ftruncate(m, (off_t)e->size) != 0) {
		rc = -errno;
	} else if (e->size > 0) {
		p = mmap(NULL, (size_t)e->size, PROT_READ | PROT_WRITE, MAP_SHARED, m, 0);
		if (p == MAP_FAILED) {
			rc = -errno;
		} else {
			memcpy(p, e->data, (size_t)e->size);
			munmap(p, (size_t)e->size);
		}
	}
	if (rc == 0 && (fchmod(m, e->mode & 0555) != 0 || fcntl(m, F_ADD_SEALS, FILE_SEALS) != 0)) {
		rc = -errno;
	}
	if (rc != 0) {
		close(m);
		return rc;
	}
	*fd = m;
	return 0;
}

static int do_open(const struct image_fs *ifs, const struct image_req *ir, long idx, uint32_t flags,
		   int *fd, struct resolve_verdict *v)
{
	bool dir = idx == ROOT || ifs->img.entries[idx].type == HI_DIR;

	if ((flags & G_CREAT) && (flags & G_EXCL)) {
		return -EEXIST;
	}
	if ((flags & G_ACCMODE) != 0 || (flags & (G_TRUNC | G_APPEND))) {
		v->reason = R_RO;
		return dir ? -EISDIR : -EROFS;
	}
	if ((flags & G_DIRECTORY) && !dir) {
		return -ENOTDIR;
	}
	return dir ? open_dir(ifs, ir->key, idx, fd) : open_file(&ifs->img.entries[idx], fd);
}

/* A name the image does not hold: ENOENT, or EROFS for what would create it. */
static int missing(const struct brk_req *req, struct resolve_verdict *v)
{
	if (req->h.op == BRK_OP_MKDIR || (req->h.op == BRK_OP_OPEN && (req->flags & G_CREAT))) {
		v->reason = R_RO;
		return -EROFS;
	}
	v->reason = RESOLVE_REASON_HOST;
	return -ENOENT;
}

static int decide(const struct image_fs *ifs, const struct image_req *ir, const struct brk_req *req,
		  long idx, int *fd, struct brk_stat *st, struct resolve_verdict *v)
{
	int rc;

	switch ((enum brk_op)req->h.op) {
	case BRK_OP_OPEN:
		rc = do_open(ifs, ir, idx, req->flags, fd, v);
		break;
	case BRK_OP_STAT:
	case BRK_OP_LSTAT:
		rc = 0;
		break;
	case BRK_OP_MKDIR:
		return -EEXIST;
	case BRK_OP_UNLINK:
		v->reason = R_RO;
		return -EROFS;
	case BRK_OP_READY:
	case BRK_OP_MAX:
	default:
		return -EINVAL;
	}
	if (rc == 0) {
		entry_stat(ifs, ir->key, idx, st);
	}
	return rc;
}

bool image_fs_handle(const struct image_fs *ifs, const struct image_req *ir,
		     const struct brk_req *req, int *rc, int *fd, struct brk_stat *st,
		     struct resolve_verdict *v)
{
	char norm[BRK_PATH_MAX];
	const char *rest;
	long idx;

	*fd = -1;
	if (!ifs->on || path_normalize(req->path, norm, sizeof norm) != 0 ||
	    policy_match(ir->pol, norm, &rest) >= 0) {
		return false; /* a mount's, or a path resolve refuses itself */
	}
	idx = strcmp(norm, "/") == 0 ? ROOT : hi_find(&ifs->img, norm + 1);
	if (idx < 0 && strcmp(norm, "/") != 0) {
		if (ir->scratch) {
			return false;
		}
		*rc = missing(req, v);
		return true;
	}
	*rc = decide(ifs, ir, req, idx, fd, st, v);
	if (*rc != 0 && *fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	return true;
}
