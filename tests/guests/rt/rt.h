/* SPDX-License-Identifier: MIT */
/* rt.h - tiny freestanding runtime for the uhyve-sec test guests.
 *
 * The guests are Hermit-shaped kernels: the VMM loads them, applies their R_X86_64_RELATIVE
 * relocations and jumps to _start (rt/start.S) on every vCPU with RDI = GPA of the boot info
 * and RSI = vCPU index.  Paging is an identity map, so every address the runtime hands to a
 * hypercall is both the guest-virtual and the guest-physical address.
 *
 * Compile-time switches (set by tests/guests/meson.build):
 *   RT_V2        speak uhyve interface v2 (ports 0x1010.., RDI carries the argument) and read
 *                argv from FDT /chosen/bootargs; otherwise interface v1 (outl of a 32-bit GPA)
 *                with Cmdsize/Cmdval.
 *   RT_UHYVEIF   emit the UHYVEIF note with this interface version (start.S).
 *   RT_GNU_MAJOR, RT_GNU_MINOR, RT_GNU_PATCH
 *                emit the GNU ABI tag note (Hermit version) -> "new" kernel, non-legacy map.
 *
 * Everything here uses general-purpose registers only: the guests must run on a KVM that
 * emulates CPL-0 code instruction by instruction (hermit-abi.md g.5).
 */
#ifndef RT_H
#define RT_H

#define RT_MAX_CPUS   64
#define RT_STACK_SIZE 16384

#ifndef __ASSEMBLER__

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "uhyve_abi.h"

#define RT_NORETURN	__attribute__((noreturn))
#define RT_PRINTF(f, a) __attribute__((format(printf, f, a)))

#define RT_SEEK_SET 0
#define RT_SEEK_CUR 1
#define RT_SEEK_END 2

/* Implemented by every guest; runs on every vCPU that passed the RT_MAX_CPUS check.
 * When it returns on vCPU 0 the runtime calls rt_exit() with the value; on any other vCPU
 * the runtime parks the vCPU (cli; hlt forever). */
int guest_main(const struct uh_boot_info *bi, unsigned cpu);

/* Boot info of vCPU 0, set before guest_main() runs there. */
extern const struct uh_boot_info *rt_boot_info;

/* ---- libc pieces the compiler may call ---- */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int rt_streq(const char *a, const char *b);

/* ---- port I/O and privileged reads ---- */
static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port) : "memory");
	return v;
}

static inline uint64_t rt_read_cr0(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline uint64_t rt_read_cr2(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline uint64_t rt_read_cr3(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline uint64_t rt_read_cr4(void)
{
	uint64_t v;

	__asm__ volatile("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline uint64_t rt_rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void rt_pause(void)
{
	__asm__ volatile("pause" ::: "memory");
}

/* cli; hlt forever. */
RT_NORETURN void rt_halt(void);

/* ---- raw hypercalls ---- */
/* v1: outl(port, gpa) - the 32-bit guest-physical address of a packed parameter struct. */
static inline void rt_hc1(uint16_t port, uint64_t gpa)
{
	outl(port, (uint32_t)gpa);
}

/* v2: out dx, eax with RDI = GPA of the parameter struct (or the value); EAX is a dummy. */
static inline void rt_hc2(uint16_t port, uint64_t rdi)
{
	__asm__ volatile("outl %%eax, %%dx" : : "a"(0x1234u), "d"(port), "D"(rdi) : "memory");
}

/* Identity map: an object's address is its GPA. */
static inline uint64_t rt_gpa(const volatile void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* ---- v1 calls (RAM must lie below 4 GiB) ---- */
RT_NORETURN void rt_v1_exit(int code);
void rt_v1_write(int fd, const void *buf, size_t len); /* v1 FileWrite has no result */
void rt_v1_serial_byte(uint8_t c);
void rt_v1_serial_buf(const void *buf, size_t len);
int rt_v1_open(const char *path, int flags, int mode);
int rt_v1_close(int fd);
int64_t rt_v1_read(int fd, void *buf, size_t len);
int64_t rt_v1_lseek(int fd, int64_t off, int whence);
int rt_v1_unlink(const char *path);
void rt_v1_cmdsize(struct uh_v1_cmdsize *cs);
void rt_v1_cmdval(uint64_t argv_gpa, uint64_t envp_gpa);

/* ---- v2 calls ---- */
RT_NORETURN void rt_v2_exit(int code);
int64_t rt_v2_write(int fd, const void *buf, size_t len);
void rt_v2_serial_byte(uint8_t c);
void rt_v2_serial_buf(const void *buf, size_t len);
int rt_v2_open(const char *path, int flags, int mode);
int rt_v2_close(int fd);
int64_t rt_v2_read(int fd, void *buf, size_t len);
int64_t rt_v2_lseek(int fd, int64_t off, int whence);
int rt_v2_unlink(const char *path);
struct uh_v2_dents_ret rt_v2_getdents(int fd, void *buf, size_t len);
struct uh_v2_ret rt_v2_stat(const char *path, struct uh_v2_file_attr *attr);
struct uh_v2_ret rt_v2_lstat(const char *path, struct uh_v2_file_attr *attr);
struct uh_v2_ret rt_v2_fstat(int fd, struct uh_v2_file_attr *attr);
struct uh_v2_ret rt_v2_mkdir(const char *path);

/* ---- interface-neutral wrappers, chosen by RT_V2 ---- */
RT_NORETURN void rt_exit(int code);
void rt_write(int fd, const void *buf, size_t len);

/* ---- formatted output: %s %d %u %ld %lu %x %lx %c %% ----
 * Formats into a stack buffer and emits it with one FileWrite per call (a longer result is
 * flushed every 512 bytes), so one line costs one VM exit. */
RT_PRINTF(1, 2) void rt_printf(const char *fmt, ...);
RT_PRINTF(2, 3) void rt_fdprintf(int fd, const char *fmt, ...);
void rt_vfdprintf(int fd, const char *fmt, va_list ap);

/* ---- spinlock for multi-vCPU sections ---- */
typedef struct {
	volatile uint32_t v;
} rt_lock_t;

static inline void rt_lock(rt_lock_t *l)
{
	while (__atomic_exchange_n(&l->v, 1u, __ATOMIC_ACQUIRE) != 0) {
		while (__atomic_load_n(&l->v, __ATOMIC_RELAXED) != 0) {
			rt_pause();
		}
	}
}

static inline void rt_unlock(rt_lock_t *l)
{
	__atomic_store_n(&l->v, 0u, __ATOMIC_RELEASE);
}

extern rt_lock_t rt_print_lock;

/* ---- argv / environment ----
 * rt_args_init() (vCPU 0 only) fills rt_argc/rt_argv and rt_envc/rt_envp:
 *   v1: Cmdsize, then Cmdval into buffers from a static pool; env entries may be empty
 *       strings (the VMM pads the environment for kernel 0.6.x) - skip them when printing.
 *   v2: words of FDT /chosen/bootargs split at blanks (no shell unquoting); if a "--" word is
 *       present only the words after it are used.  rt_argv[0] is the placeholder "kernel", so
 *       the first application word is rt_argv[1] as with v1.  rt_envc is 0.
 * Returns 0, or -1 (after printing a diagnostic to fd 2) if the VMM's answer does not fit. */
int rt_args_init(void);
extern int rt_argc;
extern char *rt_argv[UH_MAX_ARGC_ENVC + 1];
extern int rt_envc;
extern char *rt_envp[UH_MAX_ARGC_ENVC + 1];

/* v2: NUL-terminated copy of FDT /chosen/bootargs, or NULL if the FDT or the property is
 * missing or malformed. */
const char *rt_bootargs(const struct uh_boot_info *bi);

/* Parses an optionally '-'-signed decimal; returns 0 on success, -1 on a syntax error or
 * overflow of int64_t. */
int rt_parse_long(const char *s, int64_t *out);

/* ---- page tables ---- */
/* Returns 1 if `va` is mapped by the page tables CR3 points to (walked in memory through the
 * identity map; tables outside RAM count as unmapped), else 0. */
int rt_is_mapped(const struct uh_boot_info *bi, uint64_t va);

#endif /* !__ASSEMBLER__ */
#endif /* RT_H */
