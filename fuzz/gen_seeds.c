/* SPDX-License-Identifier: MIT */
/* gen_seeds.c - writes the generated seed inputs of the fuzz targets.
 *
 *   fuzz-gen-seeds DIR      writes DIR/<target>/seed-<name> (DIR is normally fuzz/corpus)
 *
 * The input formats are documented at the top of each fuzz/fuzz_<target>.c; this program is
 * their executable example.  Seeds for policy come from tests/policy/ instead.  (The built
 * test guests are not ELF seeds: 20 KiB each, and they add 0.3% line coverage of elf_load.c
 * over the generated images.)  Regression inputs (regress-*) are never generated: they are
 * crashes found by fuzzing, kept verbatim.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assist_proto.h"
#include "broker_proto.h"
#include "elf_builder.h"
#include "uhyve_abi.h"

static const char *g_dir;

struct seed {
	uint8_t b[1 << 16];
	size_t n;
};

static void put(struct seed *s, const void *p, size_t n)
{
	if (s->n + n > sizeof s->b) {
		fprintf(stderr, "gen_seeds: seed too large\n");
		exit(1);
	}
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

static void put8(struct seed *s, uint8_t v)
{
	put(s, &v, 1);
}

static void put16(struct seed *s, uint16_t v)
{
	put(s, &v, 2);
}

static void put32(struct seed *s, uint32_t v)
{
	put(s, &v, 4);
}

static void put64(struct seed *s, uint64_t v)
{
	put(s, &v, 8);
}

static void save(const char *target, const char *name, const void *p, size_t n)
{
	char path[512];
	int fd;

	snprintf(path, sizeof path, "%s/%s", g_dir, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof path, "%s/%s/seed-%s", g_dir, target, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n || close(fd) != 0) {
		perror(path);
		exit(1);
	}
}

/* ---- hc: header, exits, RAM image ---- */

/* Seed RAM layout: parameter structs at 0x100 (0x40 apart), strings at 0x400, v1 cmdval
 * buffers at 0x800, the cmdsize result at 0xb00; page tables from 0x1000; v1 file buffers
 * (guest-virtual) at 0x5000.  RAM is 32 KiB; the seed holds only the bytes up to the last
 * non-zero one that matters. */
#define HC_RAM	 0x8000u /* RAM bytes */
#define HC_CR3	 0x1000u /* PML4; PDPT at 0x2000, PD at 0x3000, PT at 0x4000 */
#define HC_PARAM 0x100u
#define HC_STR	 0x400u
#define HC_BUF	 0x5000u

struct hc_seed {
	struct seed s;
	uint8_t ram[HC_RAM];
	size_t ram_used;
	unsigned nexits;
	uint8_t exits[8][17]; /* kind, [port], size, dir, value, arg */
	uint8_t elen[8];
};

static void hc_ram(struct hc_seed *h, uint64_t at, const void *p, size_t n)
{
	memcpy(h->ram + at, p, n);
	if (at + n > h->ram_used) {
		h->ram_used = at + n;
	}
}

static void hc_pte(struct hc_seed *h, uint64_t table, unsigned idx, uint64_t v)
{
	hc_ram(h, table + 8 * idx, &v, 8);
}

/* Identity map of the first 2 MiB as one large page; or, with small pages, through a PT
 * that maps pages 0-5 to themselves and page 6 to 0x7000 (a physically discontiguous
 * buffer at HC_BUF). */
static void hc_tables(struct hc_seed *h, bool small)
{
	hc_pte(h, HC_CR3, 0, 0x2000 | 3);
	hc_pte(h, 0x2000, 0, 0x3000 | 3);
	if (!small) {
		hc_pte(h, 0x3000, 0, 0x83);
		return;
	}
	hc_pte(h, 0x3000, 0, 0x4000 | 3);
	for (unsigned i = 0; i < 6; i++) {
		hc_pte(h, 0x4000, i, ((uint64_t)i << 12) | 3);
	}
	hc_pte(h, 0x4000, 6, 0x7000 | 3);
}

/* A port I/O exit; the port is given explicitly (kind 0xe0), so the seeds do not depend on
 * the order of the port table in fuzz_hc.c. */
static void hc_exit(struct hc_seed *h, uint16_t port, uint8_t size_sel, bool read, uint32_t value,
		    uint64_t arg)
{
	uint8_t *e = h->exits[h->nexits];

	e[0] = 0xe0;
	memcpy(e + 1, &port, 2);
	e[3] = size_sel;
	e[4] = read;
	memcpy(e + 5, &value, 4);
	memcpy(e + 9, &arg, 8);
	h->elen[h->nexits++] = 17;
}

/* An MMIO exit (kind 0xf0) at addr: no port field. */
static void hc_mmio_exit(struct hc_seed *h, uint8_t size_sel, bool read, uint64_t addr)
{
	uint8_t *e = h->exits[h->nexits];
	uint32_t value = 0;

	e[0] = 0xf0;
	e[1] = size_sel;
	e[2] = read;
	memcpy(e + 3, &value, 4);
	memcpy(e + 7, &addr, 8);
	h->elen[h->nexits++] = 15;
}

static void hc_save(struct hc_seed *h, const char *name, uint8_t flags, uint8_t nargs, uint8_t nenv,
		    uint32_t fsseed)
{
	h->s.n = 0;
	put16(&h->s, HC_RAM - 256);
	put8(&h->s, 0);
	put8(&h->s, flags);
	put8(&h->s, nargs);
	put8(&h->s, nenv);
	put64(&h->s, HC_CR3);
	put32(&h->s, fsseed);
	put8(&h->s, (uint8_t)(h->nexits - 1));
	for (unsigned i = 0; i < h->nexits; i++) {
		put(&h->s, h->exits[i], h->elen[i]);
	}
	put(&h->s, h->ram, h->ram_used);
	save("hc", name, h->s.b, h->s.n);
	memset(h, 0, sizeof *h);
}

static void hc_v1_seeds(struct hc_seed *h)
{
	struct uh_v1_exit ex = {.arg = 3};
	struct uh_v1_write w = {.fd = 1, .buf = HC_STR + 0x300, .len = 43};
	struct uh_v1_open op = {.name = HC_STR, .flags = UH_O_RDWR | UH_O_CREAT, .mode = 0644};
	struct uh_v1_read rd = {.fd = 3, .buf = HC_BUF + 0x800, .len = 0x1000};
	struct uh_v1_lseek ls = {.fd = 3, .offset = 10, .whence = 0};
	struct uh_v1_close cl = {.fd = 3};
	struct uh_v1_unlink ul = {.name = HC_STR};
	struct uh_v1_serial_buffer sb = {.buf = HC_STR, .len = 12};
	struct uh_v1_cmdval cv = {.argv = HC_PARAM + 0x40, .envp = HC_PARAM + 0x80};

	hc_ram(h, HC_PARAM, &ex, sizeof ex);
	hc_exit(h, UH_V1_EXIT, 0, false, HC_PARAM, 0);
	hc_save(h, "v1-exit", 0, 0, 0, 1);

	hc_tables(h, false);
	hc_ram(h, HC_STR + 0x300, "hello from the guest, panicked at nothing\n", 43);
	hc_ram(h, HC_PARAM, &w, sizeof w);
	hc_exit(h, UH_V1_FILE_WRITE, 0, false, HC_PARAM, 0);
	hc_exit(h, UH_V1_UART, 1, false, 'x', 0);
	hc_save(h, "v1-write-console", 4, 0, 0, 1);

	hc_tables(h, true);
	hc_ram(h, HC_STR, "/data/file.txt", 15);
	hc_ram(h, HC_PARAM, &op, sizeof op);
	hc_ram(h, HC_PARAM + 0x40, &rd, sizeof rd);
	hc_ram(h, HC_PARAM + 0x80, &ls, sizeof ls);
	hc_ram(h, HC_PARAM + 0xc0, &cl, sizeof cl);
	hc_ram(h, HC_PARAM + 0x100, &ul, sizeof ul);
	w.fd = 3;
	w.buf = HC_BUF;
	w.len = 0x1800;
	hc_ram(h, HC_PARAM + 0x140, &w, sizeof w);
	hc_exit(h, UH_V1_FILE_OPEN, 0, false, HC_PARAM, 0);
	hc_exit(h, UH_V1_FILE_READ, 0, false, HC_PARAM + 0x40, 0);
	hc_exit(h, UH_V1_FILE_WRITE, 0, false, HC_PARAM + 0x140, 0);
	hc_exit(h, UH_V1_FILE_LSEEK, 0, false, HC_PARAM + 0x80, 0);
	hc_exit(h, UH_V1_FILE_CLOSE, 0, false, HC_PARAM + 0xc0, 0);
	hc_exit(h, UH_V1_FILE_UNLINK, 0, false, HC_PARAM + 0x100, 0);
	hc_save(h, "v1-files", 0, 0, 0, 0x1234567);

	hc_ram(h, HC_STR, "serial line\n", 12);
	hc_ram(h, HC_PARAM, &sb, sizeof sb);
	hc_exit(h, UH_V1_SERIAL_BUFFER, 0, false, HC_PARAM, 0);
	hc_exit(h, UH_V1_UART, 1, false, '\n', 0);
	hc_save(h, "v1-serial", 4, 0, 0, 1);

	/* argv[4] at 0x140, envp[8] at 0x180; buffers of 0x40 bytes from 0x800 */
	for (unsigned i = 0; i < 12; i++) {
		uint64_t a = 0x800 + 0x40 * i;
		hc_ram(h, HC_PARAM + (i < 4 ? 0x40 + 8 * i : 0x80 + 8 * (i - 4)), &a, 8);
	}
	hc_ram(h, HC_PARAM, &cv, sizeof cv);
	hc_exit(h, UH_V1_CMDSIZE, 0, false, 0xb00, 0);
	hc_exit(h, UH_V1_CMDVAL, 0, false, HC_PARAM, 0);
	hc_save(h, "v1-cmdline", 0, 3, 2, 1);
}

static void hc_v2_seeds(struct hc_seed *h)
{
	struct uh_v1_open op = {.name = HC_STR, .flags = UH_O_RDONLY, .mode = 0};
	struct uh_v2_file_rw rw = {.len = 0x200, .buf = HC_BUF, .fd = 3};
	struct uh_v2_lseek ls = {.offset = 0, .whence = 2, .fd = 3};
	struct uh_v2_getdents gd = {.fd = 4, .buf = HC_BUF, .len = 0x400};
	struct uh_v2_stat st = {.name = HC_STR, .kind = 1, .attr = HC_BUF + 0x400};
	struct uh_v2_fstat fs = {.fd = 3, .attr = HC_BUF + 0x480};
	struct uh_v2_mkdir mk = {.path = HC_STR + 0x100, .len = 9};
	struct uh_v2_serial_write_buffer sb = {.len = 6, .buf = HC_STR + 0x200};
	struct uh_v1_close cl = {.fd = 3};

	hc_exit(h, UH_V2_EXIT, 0, false, 0, 42);
	hc_save(h, "v2-exit", 2, 0, 0, 1);

	hc_ram(h, HC_STR, "/data/x", 8);
	hc_ram(h, HC_STR + 0x100, "/data/d", 8);
	hc_ram(h, HC_STR + 0x200, "v2 hi\n", 6);
	hc_ram(h, HC_PARAM, &op, sizeof op);
	hc_ram(h, HC_PARAM + 0x40, &rw, sizeof rw);
	hc_ram(h, HC_PARAM + 0x80, &ls, sizeof ls);
	hc_ram(h, HC_PARAM + 0xc0, &gd, sizeof gd);
	hc_ram(h, HC_PARAM + 0x100, &st, sizeof st);
	hc_ram(h, HC_PARAM + 0x140, &fs, sizeof fs);
	hc_ram(h, HC_PARAM + 0x180, &mk, sizeof mk);
	hc_ram(h, HC_PARAM + 0x1c0, &sb, sizeof sb);
	hc_ram(h, HC_PARAM + 0x200, &cl, sizeof cl);
	hc_exit(h, UH_V2_FILE_OPEN, 0, false, 0, HC_PARAM);
	hc_exit(h, UH_V2_FILE_READ, 0, false, 0, HC_PARAM + 0x40);
	hc_exit(h, UH_V2_FILE_WRITE, 0, false, 0, HC_PARAM + 0x40);
	hc_exit(h, UH_V2_FILE_LSEEK, 0, false, 0, HC_PARAM + 0x80);
	hc_exit(h, UH_V2_GETDENTS, 0, false, 0, HC_PARAM + 0xc0);
	hc_exit(h, UH_V2_FILE_STAT, 0, false, 0, HC_PARAM + 0x100);
	hc_exit(h, UH_V2_FILE_FSTAT, 0, false, 0, HC_PARAM + 0x140);
	hc_exit(h, UH_V2_MKDIR, 0, false, 0, HC_PARAM + 0x180);
	hc_save(h, "v2-files", 2, 0, 0, 0x9e3779b9);

	struct uh_v1_unlink ul = {.name = HC_STR};

	hc_ram(h, HC_STR, "/data/x", 8);
	hc_ram(h, HC_PARAM, &cl, sizeof cl);
	hc_ram(h, HC_PARAM + 0x40, &sb, sizeof sb);
	hc_ram(h, HC_PARAM + 0x80, &ul, sizeof ul);
	hc_ram(h, HC_STR + 0x200, "v2 hi\n", 6);
	hc_exit(h, UH_V2_FILE_CLOSE, 0, false, 0, HC_PARAM);
	hc_exit(h, UH_V2_FILE_UNLINK, 0, false, 0, HC_PARAM + 0x80);
	hc_exit(h, UH_V2_SERIAL_WRITE_BUFFER, 0, false, 0, HC_PARAM + 0x40);
	hc_exit(h, UH_V2_SERIAL_WRITE_BYTE, 0, false, 0, 'z');
	hc_save(h, "v2-misc", 6, 0, 0, 7);
}

static void hc_seeds(void)
{
	static struct hc_seed h;

	hc_v1_seeds(&h);
	hc_v2_seeds(&h);
	/* platform probes: PCI config, PIC, MP-table MMIO reads */
	hc_exit(&h, UH_PCI_CONFIG_ADDRESS, 0, false, 0x80000000u, 0);
	hc_exit(&h, UH_PCI_CONFIG_DATA, 0, true, 0, 0);
	hc_exit(&h, 0x21, 1, false, 0xff, 0);
	hc_exit(&h, 0x21, 1, true, 0, 0);
	hc_exit(&h, 0xa0, 1, true, 0, 0);
	hc_mmio_exit(&h, 3, true, 0x9fc00);
	hc_mmio_exit(&h, 7, true, 0xf0000);
	hc_save(&h, "platform", 0, 0, 0, 1);
}

/* ---- pagewalk: header, RAM image with 4 KiB, 2 MiB and 1 GiB mappings ---- */

static void pagewalk_seeds(void)
{
	static uint8_t ram[0x6000];
	static struct seed s;
	const uint64_t vas[] = {
	    0x1234, 0x201000, 0x40000123, 0x7fff00001000ull, 0x5000, 0xffff800000000000ull};
	uint64_t e;

	memset(ram, 0, sizeof ram);
	/* PML4 at 0x1000: [0] -> PDPT 0x2000, [255] -> PDPT 0x2000 too */
	e = 0x2000 | 3;
	memcpy(ram + 0x1000, &e, 8);
	memcpy(ram + 0x1000 + 8 * 255, &e, 8);
	/* PDPT: [0] -> PD 0x3000, [1] 1 GiB page at 1 GiB */
	e = 0x3000 | 3;
	memcpy(ram + 0x2000, &e, 8);
	e = 0x40000000 | 0x83;
	memcpy(ram + 0x2000 + 8, &e, 8);
	/* PD: [0] -> PT 0x4000, [1] 2 MiB page at 0 */
	e = 0x4000 | 3;
	memcpy(ram + 0x3000, &e, 8);
	e = 0x83;
	memcpy(ram + 0x3000 + 8, &e, 8);
	/* PT: pages 0..5 identity, page 1 not present */
	for (uint64_t i = 0; i < 6; i++) {
		e = i == 1 ? 0 : (i << 12) | 3;
		memcpy(ram + 0x4000 + 8 * i, &e, 8);
	}
	memcpy(ram + 0x5000, "a guest string", 15);

	s.n = 0;
	put16(&s, sizeof ram - 8);
	put8(&s, 0);
	put64(&s, 0x1000);
	put8(&s, (uint8_t)(sizeof vas / sizeof vas[0] - 1));
	for (size_t i = 0; i < sizeof vas / sizeof vas[0]; i++) {
		put64(&s, vas[i]);
	}
	put64(&s, 0x5000);
	put16(&s, 4096);
	put64(&s, 0x2ff0); /* a range over pages 2-4 (identity, one 4 KiB page each) */
	put16(&s, 0x1020);
	put8(&s, 1);
	put(&s, ram, sizeof ram);
	save("pagewalk", "tables", s.b, s.n);

	s.n = 0;
	put16(&s, 0x3000 - 8);
	put8(&s, 1); /* RAM at 0x1000 */
	put64(&s, 0x1000);
	put8(&s, 0);
	put64(&s, 0x1008);
	put64(&s, 0x3ff0);
	put16(&s, 32);
	put64(&s, 0x0000800000000ff8ull); /* a non-canonical range */
	put16(&s, 16);
	put8(&s, 0);
	put(&s, ram + 0x1000, 0x3000);
	save("pagewalk", "offset-start", s.b, s.n);
}

/* ---- assist_reply: replies of the assist process, as an honest one sends them ---- */

static void assist_one(const char *name, const struct assist_resp *r)
{
	static struct seed s;
	size_t n = r->fpu_dirty ? sizeof *r : ASSIST_RESP_SHORT;

	s.n = 0;
	put8(&s, r->fpu_dirty ? 1 : 0);
	put(&s, r, n);
	save("assist_reply", name, s.b, s.n);
}

static void assist_reply_seeds(void)
{
	static const uint8_t xsave_bytes[] = {0x0f, 0xae, 0x27};
	static struct assist_resp r;

	memset(&r, 0, sizeof r);
	r.magic = ASSIST_PROTO_MAGIC;
	r.stop = ASSIST_STOP_CAP;
	r.counts = (struct assist_counts){.insns = 200000, .runs = 3, .ns = 900000};
	r.regs.rip = 0x401000;
	assist_one("cap", &r);
	r.stop = ASSIST_STOP_VMM;
	r.insn = (struct assist_insn){.op = ASSIST_OP_XSAVE,
				      .cls = ASSIST_C_XSAVE,
				      .len = 3,
				      .ea = 0x8000000000401040ull,
				      .bytes_len = sizeof xsave_bytes};
	memcpy(r.insn.bytes, xsave_bytes, sizeof xsave_bytes);
	r.fpu_dirty = 1;
	memset(r.xsave.region, 0x11, 416);
	assist_one("vmm-xsave-fpu", &r);
	memset(&r.insn, 0, sizeof r.insn);
	memset(&r.xsave, 0, sizeof r.xsave);
	r.fpu_dirty = 0;
	r.stop = ASSIST_STOP_FAULT;
	r.insn = (struct assist_insn){.vector = 14, .ea = 0x700000000000ull, .len = 4, .write = 1};
	assist_one("fault-pf", &r);
	r.stop = ASSIST_STOP_KVM;
	r.insn = (struct assist_insn){.cls = ASSIST_C_LOCK, .len = 5, .bytes_len = 5};
	assist_one("kvm-lock", &r);
	r.stop = ASSIST_STOP_NM; /* JIT mode: a task switch's state, then the lazy FPU switch */
	r.insn = (struct assist_insn){.cls = ASSIST_C_NONE, .len = 3, .bytes_len = 3};
	r.sys = (struct assist_sys){.flags = ASSIST_SYS_ALL,
				    .cr0 = 0x80050033ull | 0x8,
				    .fs_base = 0x7f0000001000ull,
				    .gs_base = 0xffff800000002000ull,
				    .lvtt = 0x4007b,
				    .icr = 0x100000040ull};
	assist_one("nm-sys", &r);
}

/* ---- elf: images from tests/unit/elf_builder.h ---- */

static void elf_one(const char *name, struct eb_opts o, uint8_t room, uint8_t below, uint8_t mis)
{
	static uint8_t b[EB_SIZE];

	eb_build(b, &o);
	b[EI_PAD] = room;
	b[EI_PAD + 1] = below;
	b[EI_PAD + 2] = mis;
	save("elf", name, b, sizeof b);
}

static void elf_seeds(void)
{
	struct eb_opts o = eb_defaults();

	elf_one("pie", o, 0, 0, 0);
	o.uhyve_if = 2;
	o.gnu = 1;
	o.gnu_ver[1] = 11;
	elf_one("pie-v2-version", o, 4, 2, 3);
	o = eb_defaults();
	o.note_align = 8;
	o.single_load = 1;
	elf_one("pie-single-align8", o, 0x81, 1, 0);
	o = eb_defaults();
	o.type = ET_EXEC;
	o.vbase = 0x200000;
	o.uhyve_if = 1;
	elf_one("exec", o, 1, 3, 0);
}

/* ---- broker_req / broker_reply ---- */

static void req_one(const char *name, enum brk_op op, int32_t flags, uint32_t mode,
		    const char *path)
{
	struct brk_req r;

	if (brk_req_build(&r, op, 7, flags, mode, path) != 0) {
		exit(1);
	}
	save("broker_req", name, &r, sizeof r);
}

static void reply_one(const char *name, uint16_t op, int nfds, uint16_t new_max,
		      const struct brk_reply *p)
{
	static struct seed s;

	s.n = 0;
	put16(&s, op);
	put32(&s, 7);
	put8(&s, (uint8_t)nfds);
	put16(&s, new_max);
	put(&s, p, sizeof *p);
	save("broker_reply", name, s.b, s.n);
}

static void broker_seeds(void)
{
	struct brk_req r;
	struct brk_reply p = {.h = {.version = BRK_VERSION, .op = BRK_OP_OPEN, .seq = 7}};

	req_one("open-creat", BRK_OP_OPEN, 0102, 0644, "/data/new");
	if (brk_req_build(&r, BRK_OP_OPEN, 7, 0302, 0600, "/tmp/a/b/new") != 0) {
		exit(1);
	}
	r.new_max = 2; /* what a nearly spent write budget still pays for */
	save("broker_req", "open-creat-budget", &r, sizeof r);
	req_one("open-dir", BRK_OP_OPEN, 0200000, 0, "/data");
	req_one("unlink", BRK_OP_UNLINK, 0, 0, "/data/x");
	req_one("mkdir", BRK_OP_MKDIR, 0, 0755, "/data/d");
	req_one("stat", BRK_OP_STAT, 0, 0, "/data/sub/x");
	req_one("lstat", BRK_OP_LSTAT, 0, 0, "relative/../path");

	p.has_fd = 1;
	p.st = (struct brk_stat){.dev = 1, .ino = 42, .mode = 0100644, .nlink = 1, .size = 6};
	reply_one("open-fd", BRK_OP_OPEN, 1, 0, &p);
	p.st.mode = 0040755;
	reply_one("open-dir", BRK_OP_OPEN, 1, 0, &p);
	p.st.mode = 0100644;
	p.created = 3;
	reply_one("open-created", BRK_OP_OPEN, 1, 4, &p);
	p.created = 0;
	memset(&p.st, 0, sizeof p.st);
	p.has_fd = 0;
	p.err = ENOENT;
	reply_one("open-enoent", BRK_OP_OPEN, 0, 0, &p);
	p.h.op = BRK_OP_STAT;
	p.err = 0;
	p.st = (struct brk_stat){.dev = 2, .ino = 42, .mode = 0100644, .nlink = 1, .size = 6};
	reply_one("stat", BRK_OP_STAT, 0, 0, &p);
	memset(&p.st, 0, sizeof p.st);
	p.h.op = BRK_OP_MKDIR;
	p.err = EEXIST;
	reply_one("mkdir-eexist", BRK_OP_MKDIR, 0, 1, &p);
	p.h.op = BRK_OP_READY;
	p.err = 0;
	reply_one("ready", BRK_OP_READY, 0, 0, &p);
}

/* ---- dirlist: u8 flags, u16 len1, u16 len2, u32 seek, the listing ---- */

static void dirlist_one(const char *name, uint8_t flags, uint16_t len1, uint16_t len2,
			uint32_t seek, const char *const *names, size_t n, size_t cut)
{
	static struct seed s;
	unsigned char rec[BRK_DIRENT_MAX];
	uint64_t off = 0;

	s.n = 0;
	put8(&s, flags);
	put16(&s, len1);
	put16(&s, len2);
	put32(&s, seek);
	for (size_t i = 0; i < n; i++) {
		size_t r =
		    brk_dirent_put(rec, off, 1000 + i, i < 2 ? 4 : 8, names[i], strlen(names[i]));
		if (r == 0) {
			exit(1);
		}
		put(&s, rec, r);
		off += r;
	}
	s.n -= cut < s.n ? cut : 0;
	save("dirlist", name, s.b, s.n);
}

static void dirlist_seeds(void)
{
	static char longname[256];
	const char *names[] = {".", "..", "a.txt", "sub", "entry-00001", longname};

	memset(longname, 'n', 255);
	dirlist_one("small", 0, 4096, 24, 0, names, 4, 0);
	dirlist_one("long-name", 0, 300, 280, 48, names, 6, 0);
	dirlist_one("tiny-buffer", 0, 23, 8, 24, names, 3, 0);
	dirlist_one("truncated", 0, 4096, 4096, 0, names, 4, 5);
	dirlist_one("unsealed", 1, 4096, 4096, 0, names, 4, 0);
	dirlist_one("empty", 0, 100, 100, 7, names, 0, 0);
}

/* ---- resolve: operation lists ---- */

struct rop {
	uint8_t op, fl;
	uint16_t mode;
	const char *path;
};

static void resolve_one(const char *name, const struct rop *ops, size_t n)
{
	static struct seed s;

	s.n = 0;
	for (size_t i = 0; i < n; i++) {
		put8(&s, ops[i].op);
		put8(&s, ops[i].fl);
		put16(&s, ops[i].mode);
		put(&s, ops[i].path, strlen(ops[i].path) + 1);
	}
	save("resolve", name, s.b, s.n);
}

#define OPEN   0
#define UNLINK 1
#define MKDIR  2
#define STAT   3
#define LSTAT  4
#define SCR    8
/* fl bits: 0-1 access, 2 CREAT, 3 EXCL, 4 TRUNC, 5 APPEND, 6 DIRECTORY */
#define F_RW	2
#define F_CREAT 4
#define F_EXCL	8
#define F_TRUNC 16
#define F_DIR	64

static void resolve_seeds(void)
{
	const struct rop reads[] = {
	    {OPEN, 0, 0, "/data/file"},		{OPEN, 0, 0, "/data/sub/x"},
	    {OPEN, F_DIR, 0, "/data/sub"},	{OPEN, 0, 0, "/w/inlink"},
	    {OPEN, 0, 0, "/w/subl/x"},		{OPEN, 0, 0, "/hl/f1"},
	    {OPEN, 0, 0, "/data/deep/a/b/c/f"}, {OPEN, 0, 0, "data/./sub/../file"},
	};
	const struct rop escapes[] = {
	    {OPEN, 0, 0, "/w/up/outside"},    {OPEN, 0, 0, "/w/etc/inner"},
	    {OPEN, 0, 0, "/w/proc/inner"},    {OPEN, 0, 0, "/data/hlink"},
	    {OPEN, 0, 0, "/data/../outside"}, {STAT, 0, 0, "/w/up"},
	    {OPEN, 0, 0, "/w/abs_in"},	      {OPEN, F_RW | F_CREAT, 0644, "/w/dangling_out"},
	};
	const struct rop specials[] = {
	    {OPEN, 0, 0, "/data/fifo"}, {OPEN, 1, 0, "/data/sock"},    {OPEN, 0, 0, "/data/null"},
	    {OPEN, 0, 0, "/w/a"},	{LSTAT, 0, 0, "/data/inlink"}, {STAT, 0, 0, "/w/dangling"},
	    {STAT, 0, 0, "/ro"},	{OPEN, F_RW, 0, "/ro/file"},
	};
	const struct rop writes[] = {
	    {OPEN, F_RW | F_CREAT | F_EXCL, 0600, "/data/new"},
	    {OPEN, 1 | F_TRUNC, 0, "/data/file"},
	    {MKDIR, 0, 0755, "/data/sgid/d"},
	    {UNLINK, 0, 0, "/data/sub/x"},
	    {UNLINK, 0, 0, "/data/hlink"},
	    {MKDIR, 0, 0700, "/nc/d"},
	    {OPEN, F_RW | F_CREAT, 0644, "/hl/f3"},
	    {UNLINK, 0, 0, "/ro/file"},
	};
	const struct rop scratch[] = {
	    {OPEN | SCR, F_RW | F_CREAT, 0644, "/tmp/x"},
	    {OPEN | SCR, 0, 0, "/h1"},
	    {STAT | SCR, 0, 0, "/sl/inner"},
	    {MKDIR | SCR, 0, 0755, "/newdir"},
	    {UNLINK | SCR, 0, 0, "/h2"},
	    {OPEN, 0, 0, "/unmapped"},
	};

	resolve_one("reads", reads, sizeof reads / sizeof reads[0]);
	resolve_one("escapes", escapes, sizeof escapes / sizeof escapes[0]);
	resolve_one("specials", specials, sizeof specials / sizeof specials[0]);
	resolve_one("writes", writes, sizeof writes / sizeof writes[0]);
	resolve_one("scratch", scratch, sizeof scratch / sizeof scratch[0]);
}

/* ---- virtio: the device model (fuzz_virtio.c's input format) ---- */

/* Op 6: a guest memory write of up to 32 bytes at RAM offset off. */
static void vio_mem(struct seed *s, uint16_t off, const void *p, uint8_t n)
{
	put8(s, 6);
	put16(s, off);
	put8(s, n);
	put(s, p, n);
}

static void vio_desc(struct seed *s, uint16_t table, unsigned i, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	uint8_t d[16];

	memcpy(d, &addr, 8);
	memcpy(d + 8, &len, 4);
	memcpy(d + 12, &flags, 2);
	memcpy(d + 14, &next, 2);
	vio_mem(s, (uint16_t)(table + 16 * i), d, 16);
}

/* Header (RAM at GPA 0, MTU 1500, TAP with CSUM), then op 10: both queues (size 16) at
 * offsets 0 (RX: desc 0x0, avail 0x1000, used 0x2000) and 0x4000 (TX). */
static void vio_start(struct seed *s)
{
	s->n = 0;
	put8(s, 1);
	put16(s, 1500 - 68);
	put16(s, 0);
	put8(s, 10);
	put16(s, 0);
}

static void vio_offer(struct seed *s, uint16_t avail, uint16_t head)
{
	uint16_t ring[3] = {0, 1, head}; /* flags, idx, ring[0] */

	vio_mem(s, avail, ring, sizeof ring);
}

static void virtio_seeds(void)
{
	static struct seed s;
	uint8_t frame[12 + 60] = {0};

	vio_start(&s); /* one TX frame, header and data in two descriptors */
	vio_desc(&s, 0x4000, 0, 0x8000, 12, 1, 1);
	vio_desc(&s, 0x4000, 1, 0x8100, 60, 0, 0);
	vio_offer(&s, 0x5000, 0);
	put8(&s, 4);
	save("virtio", "tx", s.b, s.n);
	vio_start(&s); /* one RX frame into a two-descriptor buffer */
	vio_desc(&s, 0, 0, 0x9000, 12, 3, 1);
	vio_desc(&s, 0, 1, 0x9100, 1514, 2, 0);
	vio_offer(&s, 0x1000, 0);
	put8(&s, 5);
	put16(&s, sizeof frame);
	memset(frame + 12, 0xff, 6);
	put(&s, frame, sizeof frame);
	put8(&s, 4);
	save("virtio", "rx", s.b, s.n);
	vio_start(&s); /* a descriptor loop on TX */
	vio_desc(&s, 0x4000, 0, 0x8000, 12, 1, 0);
	vio_offer(&s, 0x5000, 0);
	put8(&s, 4);
	save("virtio", "loop", s.b, s.n);
	vio_start(&s); /* a status write out of order, a queue write after DRIVER_OK */
	put8(&s, 0);
	put16(&s, 0x18);
	put8(&s, 1);
	put64(&s, 1024);
	put8(&s, 0);
	put16(&s, 0x14);
	put8(&s, 0);
	put64(&s, 0x41);
	save("virtio", "registers", s.b, s.n);
	vio_start(&s); /* PCI configuration (BAR sizing) and the I/O APIC entry of line 11 */
	put8(&s, 8);
	put32(&s, 0x80000010u);
	put8(&s, 0);
	put8(&s, 2);
	put8(&s, 1);
	put32(&s, 0xffffffffu);
	put8(&s, 9);
	put16(&s, 0);
	put8(&s, 3);
	put8(&s, 1);
	put32(&s, 0x26);
	put8(&s, 9);
	put16(&s, 0x10);
	put8(&s, 3);
	put8(&s, 1);
	put32(&s, 0xa02b);
	save("virtio", "platform", s.b, s.n);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	g_dir = argv[1];
	hc_seeds();
	pagewalk_seeds();
	assist_reply_seeds();
	elf_seeds();
	broker_seeds();
	dirlist_seeds();
	resolve_seeds();
	virtio_seeds();
	return 0;
}
