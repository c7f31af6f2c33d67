/* SPDX-License-Identifier: MIT */
/* test_hc.c - hypercall decoding and validation over a synthetic guest RAM image. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm_internal.h"

#define RAM_SIZE (4ull << 20)
#define PARAM	 0x1000ull /* parameter structs go here */
#define STR	 0x2000ull /* strings and buffers */
#define CR3	 0x10000ull

struct fixture {
	struct gmem mem;
	struct output out;
	struct hc_vm vm;
	struct hc_stats stats;
	struct hc_call call;
	char *args[3];
	char *env[2];
};

static void nolock(struct hc_vm *vm, bool lock)
{
	(void)vm, (void)lock;
}

static int fake_cr3(void *opaque, uint64_t *cr3)
{
	(void)opaque;
	*cr3 = CR3;
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	uint64_t e;

	assert_non_null(f);
	gmem_init_arena(&f->mem, calloc(1, RAM_SIZE), 0, RAM_SIZE);
	f->out.fd = memfd_create("out", MFD_CLOEXEC);
	assert_true(f->out.fd >= 0);
	static char a0[] = "first", a1[] = "second arg", e0[] = "A=1", e1[] = "B=two";
	f->args[0] = a0;
	f->args[1] = a1;
	f->env[0] = e0;
	f->env[1] = e1;
	f->vm = (struct hc_vm){.mem = &f->mem,
			       .fs = &fs_none_ops,
			       .out = &f->out,
			       .out_lock = nolock,
			       .argv0 = "/k",
			       .args = f->args,
			       .nargs = 2,
			       .env = f->env,
			       .nenv = 2,
			       .iface = 1};
	/* identity map of the first 2 MiB, nothing else */
	e = (CR3 + 0x1000) | 3;
	assert_int_equal(gmem_copy_to(&f->mem, gpa(CR3), &e, 8), 0);
	e = (CR3 + 0x2000) | 3;
	assert_int_equal(gmem_copy_to(&f->mem, gpa(CR3 + 0x1000), &e, 8), 0);
	e = 0x83;
	assert_int_equal(gmem_copy_to(&f->mem, gpa(CR3 + 0x2000), &e, 8), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	close(f->out.fd);
	free(f->mem.base);
	free(f);
	return 0;
}

static struct hc_call *call(struct fixture *f, uint64_t rdi)
{
	f->call =
	    (struct hc_call){.vm = &f->vm, .rdi = rdi, .get_cr3 = fake_cr3, .stats = &f->stats};
	return &f->call;
}

static enum hc_action out32(struct fixture *f, uint16_t port, uint32_t v, uint64_t rdi)
{
	uint8_t d[4];

	memcpy(d, &v, 4);
	return hc_port_io(call(f, rdi), port, true, 4, d);
}

static void put(struct fixture *f, uint64_t at, const void *p, size_t n)
{
	assert_int_equal(gmem_copy_to(&f->mem, gpa(at), p, n), 0);
}

static void get(struct fixture *f, uint64_t at, void *p, size_t n)
{
	assert_int_equal(gmem_copy_from(&f->mem, p, gpa(at), n), 0);
}

static size_t output_of(struct fixture *f, char *buf, size_t cap)
{
	ssize_t n = pread(f->out.fd, buf, cap - 1, 0);

	assert_true(n >= 0);
	buf[n] = '\0';
	return (size_t)n;
}

static void exits(void **state)
{
	struct fixture *f = *state;
	struct uh_v1_exit e = {.arg = -1};

	put(f, PARAM, &e, sizeof e);
	assert_int_equal(out32(f, UH_V1_EXIT, PARAM, 0), HC_EXIT);
	assert_int_equal(f->call.exit_code, -1);
	assert_int_equal(out32(f, UH_V2_EXIT, 0x1234, 0xffffff00u | 255), HC_EXIT);
	assert_int_equal(f->call.exit_code, (int32_t)0xffffffffu);
	assert_int_equal(out32(f, UH_V2_EXIT, 0, 7), HC_EXIT);
	assert_int_equal(f->call.exit_code, 7);
}

static void port_rules(void **state)
{
	struct fixture *f = *state;
	uint8_t d[4] = {0};

	assert_int_equal(out32(f, 0x1234, 0, 0), HC_VIOLATION);
	assert_string_equal(f->call.msg, "write of 4 byte(s) at unknown I/O port 0x1234");
	assert_int_equal(hc_port_io(call(f, 0), UH_V1_FILE_OPEN, true, 1, d), HC_VIOLATION);
	assert_string_equal(f->call.msg, "v1_file_open: access width 1, expected 4");
	assert_int_equal(hc_port_io(call(f, 0), UH_V1_EXIT, false, 4, d), HC_VIOLATION);
	assert_string_equal(f->call.msg, "v1_exit: read from a hypercall port");
	assert_int_equal(hc_port_io(call(f, 0), 0x60, false, 1, d), HC_VIOLATION);
	/* PIC (split irqchip): writes kept, data port reads back the mask, byte access only */
	d[0] = 0xfb;
	assert_int_equal(hc_port_io(call(f, 0), 0x21, true, 1, d), HC_CONTINUE);
	d[0] = 0;
	assert_int_equal(hc_port_io(call(f, 0), 0x21, false, 1, d), HC_CONTINUE);
	assert_int_equal(d[0], 0xfb);
	assert_int_equal(hc_port_io(call(f, 0), 0xa0, false, 1, d), HC_CONTINUE);
	assert_int_equal(d[0], 0);
	assert_int_equal(hc_port_io(call(f, 0), 0x20, true, 4, d), HC_VIOLATION);
	assert_string_equal(f->call.msg, "PIC port 0x20: access width 4, expected 1");
	/* PCI: reads see no device, writes are ignored */
	assert_int_equal(out32(f, UH_PCI_CONFIG_ADDRESS, 0x80000000u, 0), HC_CONTINUE);
	assert_int_equal(hc_port_io(call(f, 0), UH_PCI_CONFIG_DATA, false, 4, d), HC_CONTINUE);
	assert_memory_equal(d, "\xff\xff\xff\xff", 4);
	assert_int_equal(hc_name(hc_count()), NULL);
	assert_string_equal(hc_name(0), "v1_file_write");
}

static void param_bounds(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(out32(f, UH_V1_EXIT, (uint32_t)RAM_SIZE, 0), HC_VIOLATION);
	assert_string_equal(f->call.msg,
			    "v1_exit: parameter struct [0x400000, +4) is not inside guest RAM");
	/* struct straddles the end of RAM */
	assert_int_equal(out32(f, UH_V1_FILE_OPEN, (uint32_t)RAM_SIZE - 4, 0), HC_VIOLATION);
	assert_int_equal(out32(f, UH_V2_FILE_WRITE, 0, UINT64_MAX - 8), HC_VIOLATION);
	assert_int_equal(out32(f, UH_V1_CMDSIZE, (uint32_t)RAM_SIZE - 1000, 0), HC_VIOLATION);
}

static void console(void **state)
{
	struct fixture *f = *state;
	struct uh_v1_write w = {.fd = 1, .buf = STR, .len = 6};
	struct uh_v2_serial_write_buffer sb = {.len = 3, .buf = STR + 6};
	uint8_t b = 'X';
	char buf[64];

	put(f, STR, "hello\nabc", 9);
	put(f, PARAM, &w, sizeof w);
	put(f, PARAM + 64, &sb, sizeof sb);
	/* quiet (no --verbose): the serial port (kernel log) is not printed */
	assert_int_equal(out32(f, UH_V1_FILE_WRITE, PARAM, 0), HC_CONTINUE);
	assert_int_equal(out32(f, UH_V2_SERIAL_WRITE_BUFFER, 0, PARAM + 64), HC_CONTINUE);
	assert_int_equal(hc_port_io(call(f, 0), UH_V1_UART, true, 1, &b), HC_CONTINUE);
	output_flush(&f->out);
	output_of(f, buf, sizeof buf);
	assert_string_equal(buf, "hello\n");
	/* verbose: both */
	f->out.show_serial = true;
	assert_int_equal(out32(f, UH_V2_SERIAL_WRITE_BUFFER, 0, PARAM + 64), HC_CONTINUE);
	assert_int_equal(hc_port_io(call(f, 0), UH_V1_UART, true, 1, &b), HC_CONTINUE);
	output_flush(&f->out);
	output_of(f, buf, sizeof buf);
	assert_string_equal(buf, "hello\nabcX");
	assert_int_equal(f->stats.count[0], 1);
}

/* A panic line in the hidden kernel log is still seen. */
static void panic_scan(void **state)
{
	struct fixture *f = *state;
	const char *msg = "[0][PANIC] panicked at src/x.rs:1:2:\n";
	struct uh_v1_serial_buffer s = {.buf = STR, .len = strlen(msg)};

	put(f, STR, msg, strlen(msg));
	put(f, PARAM, &s, sizeof s);
	assert_int_equal(f->out.panic_seen, 0);
	assert_int_equal(out32(f, UH_V1_SERIAL_BUFFER, PARAM, 0), HC_CONTINUE);
	assert_int_equal(f->out.panic_seen, 1);
}

static void buffers(void **state)
{
	struct fixture *f = *state;
	struct uh_v1_write w = {.fd = 1, .buf = 0x700000000000ull, .len = 8};
	struct uh_v2_serial_write_buffer sb = {.len = 0xfffffffffffffff0ull, .buf = STR};
	struct uh_v1_serial_buffer s1 = {.buf = RAM_SIZE + 0x1000, .len = 16};

	put(f, PARAM, &w, sizeof w);
	assert_int_equal(out32(f, UH_V1_FILE_WRITE, PARAM, 0), HC_VIOLATION);
	assert_string_equal(f->call.msg, "v1_file_write: file write buffer: virtual address "
					 "0x700000000000 is not mapped");
	/* mapped virtually (first 2 MiB) but the range crosses into unmapped space */
	w.buf = 0x1ffffc;
	put(f, PARAM, &w, sizeof w);
	assert_int_equal(out32(f, UH_V1_FILE_WRITE, PARAM, 0), HC_VIOLATION);
	assert_string_equal(f->call.msg, "v1_file_write: file write buffer: virtual address "
					 "0x200000 is not mapped");
	/* a non-canonical alias of a mapped buffer (bits 63:48 are not a copy of bit 47) */
	w.buf = 0x8000000000000000ull | STR;
	put(f, PARAM, &w, sizeof w);
	assert_int_equal(out32(f, UH_V1_FILE_WRITE, PARAM, 0), HC_VIOLATION);
	assert_string_equal(f->call.msg, "v1_file_write: file write buffer: virtual address "
					 "0x8000000000002000 is not canonical");
	w.buf = 0x0001000000000000ull | STR;
	w.fd = 0;
	put(f, PARAM, &w, sizeof w);
	assert_int_equal(out32(f, UH_V1_FILE_READ, PARAM, 0), HC_VIOLATION);
	assert_string_equal(f->call.msg, "v1_file_read: file read buffer: virtual address "
					 "0x1000000002000 is not canonical");
	w.fd = 1;
	w.len = RAM_SIZE + 1;
	w.buf = STR;
	put(f, PARAM, &w, sizeof w);
	assert_int_equal(out32(f, UH_V1_FILE_WRITE, PARAM, 0), HC_VIOLATION);
	assert_string_equal(f->call.msg,
			    "v1_file_write: file write length 0x400001 exceeds guest RAM");
	put(f, PARAM, &sb, sizeof sb);
	assert_int_equal(out32(f, UH_V2_SERIAL_WRITE_BUFFER, 0, PARAM), HC_VIOLATION);
	put(f, PARAM, &s1, sizeof s1);
	assert_int_equal(out32(f, UH_V1_SERIAL_BUFFER, PARAM, 0), HC_VIOLATION);
	assert_string_equal(f->call.msg, "v1_serial_buffer: serial buffer [0x401000, +0x10) is not "
					 "inside guest RAM");
}

static int32_t open_v1(struct fixture *f, uint64_t name, int32_t flags, enum hc_action want)
{
	struct uh_v1_open o = {.name = name, .flags = flags, .mode = 0644, .ret = 12345};

	put(f, PARAM, &o, sizeof o);
	assert_int_equal(out32(f, UH_V1_FILE_OPEN, PARAM, 0), want);
	get(f, PARAM, &o, sizeof o);
	return o.ret;
}

static void open_paths(void **state)
{
	struct fixture *f = *state;
	uint8_t *tail = gmem_ptr(&f->mem, gpa(RAM_SIZE - 8), 8);

	put(f, STR, "/root/x", 8);
	assert_int_equal(open_v1(f, STR, UH_O_RDONLY, HC_CONTINUE), -ENOENT);
	assert_int_equal(open_v1(f, STR, UH_O_CREAT | UH_O_WRONLY, HC_CONTINUE), -EACCES);
	assert_int_equal(open_v1(f, STR, UH_O_CREAT | UH_O_DIRECTORY, HC_CONTINUE), -EINVAL);
	put(f, STR, "", 1);
	assert_int_equal(open_v1(f, STR, 0, HC_CONTINUE), -ENOENT);
	memset(gmem_ptr(&f->mem, gpa(STR), 5000), 'a', 5000);
	put(f, STR + 5000, "", 1);
	assert_int_equal(open_v1(f, STR, 0, HC_CONTINUE), -ENAMETOOLONG);
	memset(tail, 'A', 8);
	assert_int_equal(open_v1(f, RAM_SIZE - 8, 0, HC_VIOLATION), 12345);
	assert_string_equal(f->call.msg, "v1_file_open: path at 0x3ffff8 is not a NUL-terminated "
					 "string inside guest RAM");
	assert_int_equal(open_v1(f, RAM_SIZE * 2, 0, HC_VIOLATION), 12345);
}

/* A concurrent vCPU rewrites the parameter struct while the host handles it: the host must
 * act on its snapshot and write back only the result field. */
static const struct fixture *racing;
static int racing_open(void *ctx, const char *path, int flags, uint32_t mode)
{
	struct uh_v1_open evil = {.name = 0xdeadbeef, .flags = 0x7fffffff, .mode = 1, .ret = 0};

	(void)ctx, (void)path, (void)mode;
	assert_int_equal(gmem_copy_to(&racing->mem, gpa(PARAM), &evil, sizeof evil), 0);
	return flags == UH_O_RDWR ? 9 : -EINVAL;
}

static void snapshot_and_writeback(void **state)
{
	struct fixture *f = *state;
	struct fs_ops ops = fs_none_ops;
	struct uh_v1_open o;

	ops.open = racing_open;
	f->vm.fs = &ops;
	racing = f;
	put(f, STR, "x", 2);
	assert_int_equal(open_v1(f, STR, UH_O_RDWR, HC_CONTINUE), 9);
	get(f, PARAM, &o, sizeof o);
	assert_true(o.name == 0xdeadbeef); /* the guest's later write survives */
	assert_int_equal(o.flags, 0x7fffffff);
	f->vm.fs = &fs_none_ops;
}

static void fd_calls(void **state)
{
	struct fixture *f = *state;
	struct uh_v1_close c = {.fd = 1, .ret = 77};
	struct uh_v1_lseek l = {.fd = 7, .offset = 5, .whence = 0};
	struct uh_v1_read r = {.fd = 7, .buf = STR, .len = 4, .ret = 77};
	struct uh_v2_file_rw w = {.len = 4, .ret = 77, .buf = STR, .fd = 9};

	put(f, PARAM, &c, sizeof c);
	assert_int_equal(out32(f, UH_V1_FILE_CLOSE, PARAM, 0), HC_CONTINUE);
	get(f, PARAM, &c, sizeof c);
	assert_int_equal(c.ret, 0);
	c.fd = 5;
	put(f, PARAM, &c, sizeof c);
	assert_int_equal(out32(f, UH_V1_FILE_CLOSE, PARAM, 0), HC_CONTINUE);
	get(f, PARAM, &c, sizeof c);
	assert_int_equal(c.ret, -EBADF);
	put(f, PARAM, &l, sizeof l);
	assert_int_equal(out32(f, UH_V1_FILE_LSEEK, PARAM, 0), HC_CONTINUE);
	get(f, PARAM, &l, sizeof l);
	assert_true(l.offset == -1);
	put(f, PARAM, &r, sizeof r);
	assert_int_equal(out32(f, UH_V1_FILE_READ, PARAM, 0), HC_CONTINUE);
	get(f, PARAM, &r, sizeof r);
	assert_true(r.ret == -EBADF);
	put(f, PARAM, &w, sizeof w);
	assert_int_equal(out32(f, UH_V2_FILE_WRITE, 0, PARAM), HC_CONTINUE);
	get(f, PARAM, &w, sizeof w);
	assert_true(w.ret == -EBADF);
}

static void v2_metadata(void **state)
{
	struct fixture *f = *state;
	struct uh_v2_stat s = {.name = STR, .kind = 0, .attr = STR + 64};
	struct uh_v2_getdents d = {.fd = 3, .buf = RAM_SIZE, .len = 64};
	struct uh_v2_mkdir m = {.path = STR, .len = 4};

	put(f, STR, "/a", 3);
	put(f, PARAM, &s, sizeof s);
	assert_int_equal(out32(f, UH_V2_FILE_STAT, 0, PARAM), HC_CONTINUE);
	get(f, PARAM, &s, sizeof s);
	assert_int_equal(s.ret.tag, UH_V2_RET_ERROR);
	assert_int_equal(s.ret.err, ENOENT);
	s.kind = 2;
	put(f, PARAM, &s, sizeof s);
	assert_int_equal(out32(f, UH_V2_FILE_STAT, 0, PARAM), HC_VIOLATION);
	put(f, PARAM, &d, sizeof d);
	assert_int_equal(out32(f, UH_V2_GETDENTS, 0, PARAM), HC_VIOLATION);
	put(f, PARAM, &m, sizeof m);
	assert_int_equal(out32(f, UH_V2_MKDIR, 0, PARAM), HC_CONTINUE);
	get(f, PARAM, &m, sizeof m);
	assert_int_equal(m.ret.tag, UH_V2_RET_ERROR);
	assert_int_equal(m.ret.err, EACCES);
}

static void cmdline(void **state)
{
	struct fixture *f = *state;
	struct uh_v1_cmdsize cs = {0};
	struct uh_v1_cmdval cv = {.argv = STR, .envp = STR + 0x100};
	uint64_t argp[3] = {STR + 0x200, STR + 0x300, STR + 0x400}, envp[8];
	char s[32];

	put(f, PARAM, &cs, sizeof cs);
	assert_int_equal(out32(f, UH_V1_CMDSIZE, PARAM, 0), HC_CONTINUE);
	get(f, PARAM, &cs, sizeof cs);
	assert_int_equal(cs.argc, 3);
	assert_int_equal(cs.argsz[0], 3);
	assert_int_equal(cs.argsz[2], 11);
	assert_int_equal(cs.envc, CFG_ENV_PAD_MIN); /* padded for kernel 0.6.x */
	assert_int_equal(cs.envsz[1], 6);
	assert_int_equal(cs.envsz[2], 1);
	for (int i = 0; i < 8; i++) {
		envp[i] = STR + 0x500 + (uint64_t)i * 16;
	}
	put(f, STR, argp, sizeof argp);
	put(f, STR + 0x100, envp, sizeof envp);
	put(f, PARAM, &cv, sizeof cv);
	assert_int_equal(out32(f, UH_V1_CMDVAL, PARAM, 0), HC_CONTINUE);
	get(f, STR + 0x300, s, 6);
	assert_string_equal(s, "first");
	get(f, STR + 0x400, s, 11);
	assert_string_equal(s, "second arg");
	get(f, STR + 0x510, s, 6);
	assert_string_equal(s, "B=two");
	argp[1] = RAM_SIZE - 2; /* "first\0" does not fit */
	put(f, STR, argp, sizeof argp);
	assert_int_equal(out32(f, UH_V1_CMDVAL, PARAM, 0), HC_VIOLATION);
	assert_string_equal(f->call.msg, "v1_cmdval: argv[1] buffer at 0x3ffffe is not "
					 "inside guest RAM");
}

static void mmio(void **state)
{
	struct fixture *f = *state;
	uint8_t d[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	assert_int_equal(hc_mmio(call(f, 0), 0x9fff0, false, 4, d), HC_CONTINUE);
	assert_memory_equal(d, "\0\0\0\0", 4);
	assert_int_equal(hc_mmio(call(f, 0), 0x9fff0, true, 4, d), HC_VIOLATION);
	assert_int_equal(hc_mmio(call(f, 0), 0x8000000, false, 4, d), HC_VIOLATION);
	assert_string_equal(f->call.msg,
			    "MMIO read of 4 byte(s) at GPA 0x8000000 outside guest RAM");
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(exits),
	    T(port_rules),
	    T(param_bounds),
	    T(console),
	    T(buffers),
	    T(open_paths),
	    T(snapshot_and_writeback),
	    T(fd_calls),
	    T(v2_metadata),
	    T(cmdline),
	    T(panic_scan),
	    T(mmio),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
