/* SPDX-License-Identifier: MIT */
/* uhyve_abi.h - the pinned Hermit/uhyve guest ABI: ports, parameter structs, boot info.
 *
 * This header is dual-use: the VMM includes it, and so do the freestanding test guests
 * (tests/guests/), so both sides agree on every offset by construction.  It needs only
 * <stdint.h>.  Layouts follow ../shared/docs/hermit-abi.md sections c and d; every struct
 * carries _Static_asserts on its size and on the offsets the guest relies on.
 *
 * Field annotations: IN = written by the guest, read by the VMM; OUT = written by the VMM.
 * Pointer fields are guest addresses: "GPA" = guest-physical, "GVA" = guest-virtual.
 */
#ifndef UHYVE_ABI_H
#define UHYVE_ABI_H

#include <stddef.h>
#include <stdint.h>

/* ---- ELF notes (hermit-abi.md a.1) ---- */
#define HERMIT_ELFOSABI		0xff
#define HERMIT_NOTE_NAME	"HERMIT"
#define HERMIT_NT_ENTRY_VERSION 0x5a00
#define HERMIT_ENTRY_VERSION	4
#define UHYVEIF_NOTE_NAME	"UHYVEIF"
#define UHYVEIF_NT_VERSION	0x5b00
#define GNU_NOTE_NAME		"GNU"
#define GNU_NT_ABI_TAG		1
#define GNU_ABI_TAG_OS_HERMIT	6

/* ---- guest-physical layout, offsets from the start of guest RAM (b.1) ---- */
#define UH_GDT_OFFSET	     0x0000u
#define UH_FDT_OFFSET	     0x1000u
#define UH_FDT_SIZE	     0x4000u
#define UH_BOOT_INFO_OFFSET  0x5000u
#define UH_PML4_OFFSET	     0x10000u
#define UH_PAGETABLES_OFFSET 0x11000u
#define UH_KERNEL_OFFSET     0x40000u
#define UH_KERNEL_STACK_SIZE 0x8000u
#define UH_V1_MAX_ADDR	     0xBFFFFFFFull /* v1 window: RAM below the 3 GiB PCI gap */
#define UH_V2_MIN_ADDR	     0x100000000ull
#define UH_V2_MAX_ADDR	     0x1000000000ull

/* ---- v1 hypercall ports (d.2): `out` of the 32-bit GPA of the parameter struct ---- */
#define UH_V1_FILE_WRITE    0x400
#define UH_V1_FILE_OPEN	    0x440
#define UH_V1_FILE_CLOSE    0x480
#define UH_V1_FILE_READ	    0x500
#define UH_V1_EXIT	    0x540
#define UH_V1_FILE_LSEEK    0x580
#define UH_V1_NETWRITE	    0x640
#define UH_V1_NETREAD	    0x680
#define UH_V1_NETSTAT	    0x700
#define UH_V1_CMDSIZE	    0x740
#define UH_V1_CMDVAL	    0x780
#define UH_V1_UART	    0x800 /* 8-bit out, value = the byte */
#define UH_V1_FILE_UNLINK   0x840
#define UH_V1_SERIAL_BUFFER 0x880

/* ---- v2 hypercall ports (d.5): `out dx, eax`, RDI = GPA of the struct or the value ---- */
#define UH_V2_EXIT		  0x1010
#define UH_V2_SERIAL_WRITE_BYTE	  0x1020
#define UH_V2_SERIAL_WRITE_BUFFER 0x1030
#define UH_V2_SERIAL_READ_BYTE	  0x1040
#define UH_V2_SERIAL_READ_BUFFER  0x1050
#define UH_V2_FILE_WRITE	  0x1100
#define UH_V2_FILE_OPEN		  0x1110
#define UH_V2_FILE_CLOSE	  0x1120
#define UH_V2_FILE_READ		  0x1130
#define UH_V2_FILE_LSEEK	  0x1140
#define UH_V2_FILE_UNLINK	  0x1150
#define UH_V2_GETDENTS		  0x1160
#define UH_V2_FILE_STAT		  0x1170
#define UH_V2_FILE_FSTAT	  0x1180
#define UH_V2_MKDIR		  0x1190
#define UH_V2_SHMEM_OPEN	  0x1200
#define UH_V2_SHMEM_CLOSE	  0x1210

/* PCI configuration mechanism #1 (b.7): the guest scans the bus; we answer "no device". */
#define UH_PCI_CONFIG_ADDRESS 0xcf8
#define UH_PCI_CONFIG_DATA    0xcfc

#define UH_MAX_ARGC_ENVC 128

/* Open flags the ABI lets through (d.4); Hermit values equal Linux's. */
#define UH_O_RDONLY    0
#define UH_O_WRONLY    1
#define UH_O_RDWR      2
#define UH_O_CREAT     0100
#define UH_O_EXCL      0200
#define UH_O_TRUNC     01000
#define UH_O_APPEND    02000
#define UH_O_DIRECTORY 0200000
#define UH_O_ALLOWED                                                                               \
	(UH_O_RDONLY | UH_O_WRONLY | UH_O_RDWR | UH_O_CREAT | UH_O_EXCL | UH_O_TRUNC |             \
	 UH_O_APPEND | UH_O_DIRECTORY)

#define UH_PACKED __attribute__((packed))

/* ---- v1 parameter structs: repr(C, packed) ---- */
struct uh_v1_write {
	int32_t fd; /* IN */
	uint64_t buf; /* IN  GVA */
	uint64_t len; /* IN */
} UH_PACKED;
struct uh_v1_open {
	uint64_t name; /* IN  GPA of NUL-terminated path */
	int32_t flags; /* IN */
	int32_t mode; /* IN */
	int32_t ret; /* OUT guest fd >= 3 or -errno */
} UH_PACKED;
struct uh_v1_close {
	int32_t fd; /* IN */
	int32_t ret; /* OUT */
} UH_PACKED;
struct uh_v1_read {
	int32_t fd; /* IN */
	uint64_t buf; /* IN  GVA */
	uint64_t len; /* IN */
	int64_t ret; /* OUT bytes or -errno */
} UH_PACKED;
struct uh_v1_exit {
	int32_t arg; /* IN */
} UH_PACKED;
struct uh_v1_lseek {
	int32_t fd; /* IN */
	int64_t offset; /* IN/OUT result offset, -1 on error */
	int32_t whence; /* IN */
} UH_PACKED;
struct uh_v1_cmdsize {
	int32_t argc; /* OUT */
	int32_t argsz[UH_MAX_ARGC_ENVC]; /* OUT, sizes incl. NUL */
	int32_t envc; /* OUT */
	int32_t envsz[UH_MAX_ARGC_ENVC]; /* OUT */
} UH_PACKED;
struct uh_v1_cmdval {
	uint64_t argv; /* IN  GPA of u64[argc] holding GPAs of buffers */
	uint64_t envp; /* IN  GPA of u64[envc] holding GPAs of buffers */
} UH_PACKED;
struct uh_v1_unlink {
	uint64_t name; /* IN  GPA */
	int32_t ret; /* OUT */
} UH_PACKED;
struct uh_v1_serial_buffer {
	uint64_t buf; /* IN  GPA */
	uint64_t len; /* IN */
} UH_PACKED;

_Static_assert(sizeof(struct uh_v1_write) == 20, "v1 write");
_Static_assert(sizeof(struct uh_v1_open) == 20, "v1 open");
_Static_assert(offsetof(struct uh_v1_open, ret) == 16, "v1 open.ret");
_Static_assert(sizeof(struct uh_v1_close) == 8, "v1 close");
_Static_assert(sizeof(struct uh_v1_read) == 28, "v1 read");
_Static_assert(offsetof(struct uh_v1_read, ret) == 20, "v1 read.ret");
_Static_assert(sizeof(struct uh_v1_exit) == 4, "v1 exit");
_Static_assert(sizeof(struct uh_v1_lseek) == 16, "v1 lseek");
_Static_assert(sizeof(struct uh_v1_cmdsize) == 1032, "v1 cmdsize");
_Static_assert(offsetof(struct uh_v1_cmdsize, envc) == 516, "v1 cmdsize.envc");
_Static_assert(sizeof(struct uh_v1_cmdval) == 16, "v1 cmdval");
_Static_assert(sizeof(struct uh_v1_unlink) == 12, "v1 unlink");
_Static_assert(sizeof(struct uh_v1_serial_buffer) == 16, "v1 serial buffer");

/* ---- v2 parameter structs: repr(C), naturally aligned; every pointer is a GPA ---- */
struct uh_v2_serial_write_buffer {
	uint64_t len; /* IN */
	uint64_t buf; /* IN */
};
struct uh_v2_file_rw { /* FileWrite and FileRead */
	uint64_t len; /* IN */
	int64_t ret; /* OUT bytes or -errno */
	uint64_t buf; /* IN */
	int32_t fd; /* IN */
	uint32_t pad_;
};
struct uh_v2_lseek {
	int64_t offset; /* IN/OUT result or -errno */
	uint32_t whence;
	int32_t fd;
};
/* Rust enum results: a u32 tag, then the payload. */
enum { UH_V2_RET_NONE = 0, UH_V2_RET_SUCCESS = 1, UH_V2_RET_ERROR = 2 };
enum { UH_V2_DENTS_NONE = 0, UH_V2_DENTS_SUCCESS = 1, UH_V2_DENTS_EOD = 2, UH_V2_DENTS_ERROR = 3 };
struct uh_v2_ret {
	uint32_t tag;
	int32_t err; /* with UH_V2_RET_ERROR: errno (positive) */
};
struct uh_v2_dents_ret {
	uint32_t tag;
	int32_t err; /* with UH_V2_DENTS_ERROR */
	uint64_t bytes; /* with UH_V2_DENTS_SUCCESS */
};
struct uh_v2_getdents {
	int32_t fd;
	uint32_t pad_;
	uint64_t buf;
	uint64_t len;
	struct uh_v2_dents_ret ret; /* OUT */
};
struct uh_v2_file_attr {
	uint64_t dev, ino, nlink;
	uint32_t mode, uid, gid, pad_;
	uint64_t rdev;
	int64_t size, blksize, blocks;
	struct {
		int64_t sec;
		int32_t nsec;
		int32_t pad_;
	} atim, mtim, ctim;
};
struct uh_v2_stat {
	uint64_t name; /* IN GPA */
	uint32_t kind; /* IN 0 stat, 1 lstat */
	uint32_t pad_;
	uint64_t attr; /* IN GPA of struct uh_v2_file_attr */
	struct uh_v2_ret ret;
};
struct uh_v2_fstat {
	int32_t fd;
	uint32_t pad_;
	uint64_t attr;
	struct uh_v2_ret ret;
};
struct uh_v2_mkdir {
	uint64_t path; /* IN GPA */
	uint64_t len; /* IN: bytes of path, incl. NUL if the guest sends one */
	struct uh_v2_ret ret;
};

_Static_assert(sizeof(struct uh_v2_serial_write_buffer) == 16, "v2 serial buffer");
_Static_assert(sizeof(struct uh_v2_file_rw) == 32, "v2 rw");
_Static_assert(offsetof(struct uh_v2_file_rw, fd) == 24, "v2 rw.fd");
_Static_assert(sizeof(struct uh_v2_lseek) == 16, "v2 lseek");
_Static_assert(sizeof(struct uh_v2_getdents) == 40, "v2 getdents");
_Static_assert(offsetof(struct uh_v2_getdents, ret) == 24, "v2 getdents.ret");
_Static_assert(sizeof(struct uh_v2_file_attr) == 120, "v2 file attr");
_Static_assert(offsetof(struct uh_v2_file_attr, rdev) == 40, "attr.rdev");
_Static_assert(offsetof(struct uh_v2_file_attr, atim) == 72, "attr.atim");
_Static_assert(sizeof(struct uh_v2_stat) == 32, "v2 stat");
_Static_assert(sizeof(struct uh_v2_fstat) == 24, "v2 fstat");
_Static_assert(sizeof(struct uh_v2_mkdir) == 24, "v2 mkdir");

/* ---- boot info, hermit-entry entry version 4 (section c) ---- */
#define UH_PLATFORM_UHYVE 1
struct uh_boot_info {
	uint64_t phys_addr_start; /* 0x00 */
	uint64_t phys_addr_end; /* 0x08 */
	uint16_t serial_port_base; /* 0x10, 0 = none */
	uint8_t pad0_[6];
	uint64_t device_tree; /* 0x18 GPA of the FDT, 0 = none */
	uint64_t kernel_image_start; /* 0x20 */
	uint64_t kernel_image_end; /* 0x28 */
	uint64_t tls_start; /* 0x30 */
	uint64_t tls_filesz; /* 0x38 */
	uint64_t tls_memsz; /* 0x40 */
	uint64_t tls_align; /* 0x48 */
	uint32_t platform; /* 0x50 UH_PLATFORM_UHYVE */
	uint32_t pad1_;
	uint8_t has_pci; /* 0x58 */
	uint8_t pad2_[7];
	uint64_t num_cpus; /* 0x60 */
	uint32_t cpu_freq_khz; /* 0x68 */
	uint32_t pad3_;
	uint8_t boot_time_ns[16]; /* 0x70 i128 LE, ns since the epoch */
};
_Static_assert(sizeof(struct uh_boot_info) == 128, "boot info size");
_Static_assert(offsetof(struct uh_boot_info, device_tree) == 0x18, "bi.device_tree");
_Static_assert(offsetof(struct uh_boot_info, platform) == 0x50, "bi.platform");
_Static_assert(offsetof(struct uh_boot_info, has_pci) == 0x58, "bi.has_pci");
_Static_assert(offsetof(struct uh_boot_info, num_cpus) == 0x60, "bi.num_cpus");
_Static_assert(offsetof(struct uh_boot_info, cpu_freq_khz) == 0x68, "bi.cpu_freq");
_Static_assert(offsetof(struct uh_boot_info, boot_time_ns) == 0x70, "bi.boot_time");

#endif /* UHYVE_ABI_H */
