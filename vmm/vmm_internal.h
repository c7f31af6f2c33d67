/* SPDX-License-Identifier: MIT */
/* vmm_internal.h - the VMM's internal API (everything outside gmem and the ELF loader):
 * guest layout, output sink, hypercalls.  Only vmm/ (and its unit tests and fuzz targets)
 * include it. */
#ifndef UHS_VMM_INTERNAL_H
#define UHS_VMM_INTERNAL_H

#include <stdarg.h>
#include <stdatomic.h>

#include "elf_load.h"
#include "gmem.h"
#include "uhs_msg.h"
#include "uhs_status.h"
#include "uhyve_abi.h"
#include "vmm.h"

/* ---- guest layout (layout.c) ---- */
struct vm_layout {
	uint32_t iface; /* hypercall interface version: 1, or 2/3 (v2 call set) */
	int legacy_mapping; /* map the whole first 1 GiB region (hermit-abi.md b.3) */
	uint64_t guest_address; /* GPA of the start of RAM */
	uint64_t mem_size;
	uint64_t fdt_addr, fdt_cap; /* GPA of the device tree and its room (layout_fdt_room) */
	uint64_t load_addr; /* GPA of the first PT_LOAD */
	uint64_t entry; /* guest RIP */
	uint64_t image_end; /* load_addr + span */
	uint64_t initrd_start, initrd_end; /* --hermit-image-mode internal's tar, or 0 (initrd.c) */
};

/* Chooses where RAM and the kernel go (hermit-abi.md a.2).  `rnd` is a random value used
 * for ASLR.  Returns 0, or -1 with a one-line reason in err. */
int layout_choose(const struct elf_image *img, uint64_t mem_size, bool aslr, uint64_t rnd,
		  struct vm_layout *lay, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Writes GDT and identity-mapping page tables (with the recursive PML4 slot) into RAM. */
int layout_write_tables(struct gmem *m, const struct vm_layout *lay)
    __attribute__((warn_unused_result));

struct boot_params {
	unsigned cpus;
	uint32_t tsc_khz; /* 0 = unknown */
	int64_t boot_time_ns; /* ns since the epoch */
	const char *bootargs; /* FDT /chosen/bootargs */
	char *const *mounts; /* FDT /uhyve,mounts (guest paths) */
	int nmounts;
};
int layout_write_boot_info(struct gmem *m, const struct vm_layout *lay, const struct elf_image *img,
			   const struct boot_params *bp) __attribute__((warn_unused_result));
/* Builds the FDT with libfdt into buf (cap bytes).  Returns 0 or -1 after a message. */
int layout_build_fdt(void *buf, size_t cap, const struct vm_layout *lay,
		     const struct boot_params *bp) __attribute__((warn_unused_result));
/* The same without a message: 0 or libfdt's negative error (-FDT_ERR_NOSPACE: too small). */
int layout_fdt_make(void *buf, size_t cap, const struct vm_layout *lay,
		    const struct boot_params *bp) __attribute__((warn_unused_result));

/* ---- the guest's words and the device tree's room (bootargs.c) ---- */
/* The words after KERNEL split as uhyve splits them, pointers into the original array. */
struct guest_words {
	char *const *kernel; /* before the first "--": the kernel's command line */
	int nkernel;
	char *const *app; /* after it: the application's */
	int napp;
	bool sep; /* there was a "--" */
	char *const *cmdval; /* what Cmdval hands a v1 kernel after argv[0] */
	int ncmdval;
};
void guest_words_split(char *const *w, int n, struct guest_words *g);
/* FDT /chosen/bootargs as uhyve builds it: "KERNEL-WORDS env=K=V... -- APP-WORDS" (each word
 * shell-quoted where needed; "--" only before application words), malloc'd; NULL when out of
 * memory. */
char *layout_bootargs(const struct vmm_config *cfg);
/* The size of the FDT that layout_build_fdt makes for bp.  Returns 0 or -1. */
int layout_fdt_size(const struct vm_layout *lay, const struct boot_params *bp, uint64_t *size)
    __attribute__((warn_unused_result));
/* Sets lay->fdt_addr/fdt_cap for an FDT of `size` bytes (plus 256 bytes of slack for what is
 * added after placement): uhyve's 16 KiB slot when it fits;
 * otherwise the room above the page tables (a relocatable kernel moves up by whole 2 MiB pages
 * to make it).  Call after layout_choose, before the kernel is loaded.  Returns 0, or -1 with
 * a one-line reason. */
int layout_fdt_room(struct vm_layout *lay, const struct elf_image *img, uint64_t size, char *err,
		    size_t errlen) __attribute__((warn_unused_result));

/* ---- output sink (output.c): serial bytes and guest writes to fd 1/2 ---- */
struct output {
	int fd; /* -1: discard */
	bool show_serial; /* print the serial port (kernel log); otherwise only scan it */
	int panic_seen; /* a "panicked at" line went through */
	char line[256]; /* tail of the current line, for panic detection */
	size_t line_len;
	char byte_buf[256]; /* byte-serial buffering */
	size_t byte_len;
	/* Asked whenever a write has waited OUTPUT_WAIT_MS for the reader: true gives up the
	 * write (the run is being stopped), and so does *abandoned from then on.  NULL: wait
	 * for ever. */
	bool (*abandon)(void *ctx);
	void *abandon_ctx;
	const atomic_bool *abandoned;
};
#define OUTPUT_WAIT_MS 50
/* Opens the sink described by `spec` (NULL = stdout, "none", or a new file). */
int output_open(struct output *o, const char *spec, char *err, size_t errlen);
void output_write(struct output *o, const void *buf, size_t len);
void output_writev(struct output *o, const struct iovec *iov, int iovcnt);
void output_byte(struct output *o, uint8_t b);
/* Serial-port data (the guest kernel's log): printed only with show_serial. */
void output_serial_writev(struct output *o, const struct iovec *iov, int iovcnt);
void output_flush(struct output *o);
void output_close(struct output *o);

/* ---- hypercalls (hc.c) ---- */
struct pci_bus;
struct ioapic;
enum hc_action { HC_CONTINUE, HC_EXIT, HC_VIOLATION, HC_FATAL };

struct hc_stats {
	uint64_t count[64]; /* per table entry */
};

/* What the dispatcher needs from the VM; shared by all vCPUs (read-only after boot except
 * the output, which is locked by the caller's output lock). */
struct hc_vm {
	struct gmem *mem;
	const struct fs_ops *fs;
	void *fs_ctx;
	struct output *out;
	void (*out_lock)(struct hc_vm *vm, bool lock);
	const char *argv0; /* kernel path */
	char *const *args;
	int nargs;
	char *const *env;
	int nenv;
	uint32_t iface;
	const atomic_int *stopping; /* the VM is ending: a stdin read gives up (stdin.c) */
	uint32_t pci_addr; /* last value written to 0xCF8 (racy by design, like real hardware) */
	uint8_t pic[2][2]; /* 8259 register file (split irqchip): [master/slave][cmd/data] */
	struct pci_bus *pci; /* devices behind the configuration ports and their BARs; NULL: none */
	struct ioapic *ioapic; /* the I/O APIC registers; NULL: none */
};

/* One exit's worth of context from a vCPU. */
struct hc_call {
	struct hc_vm *vm;
	unsigned vcpu;
	uint64_t rdi;
	int (*get_cr3)(void *opaque, uint64_t *cr3); /* lazily, for v1 GVA buffers */
	void *opaque;
	struct hc_stats *stats;
	/* results */
	int exit_code; /* with HC_EXIT; with HC_FATAL the process status */
	bool lost; /* a file operation found the broker gone (FS_LOST) */
	char msg[200]; /* with HC_VIOLATION: one-line reason */
};

/* Handles a port I/O exit.  `data` points at the exit's data bytes (size 1, 2 or 4, count
 * 1); for `in` the handler fills it.  Returns what the vCPU must do next. */
enum hc_action hc_port_io(struct hc_call *c, uint16_t port, bool out, uint8_t size, uint8_t *data);
/* hc_cmdline.c: v1 Cmdsize (fills *s) and Cmdval (copies argv and envp to the guest). */
enum hc_action hc_v1_cmdsize(struct hc_call *c, struct uh_v1_cmdsize *s);
enum hc_action hc_v1_cmdval(struct hc_call *c, const struct uh_v1_cmdval *v);
/* Handles an MMIO exit the same way. */
enum hc_action hc_mmio(struct hc_call *c, uint64_t addr, bool write, uint32_t len, uint8_t *data);
/* Ends the VM for a protocol violation: fills c->msg, returns HC_VIOLATION. */
enum hc_action hc_violation(struct hc_call *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The little-endian value of a 1-, 2- or 4-byte port access. */
uint32_t hc_le_value(const uint8_t *data, uint8_t size);

/* ---- guest fd 0 (stdin.c) ---- */
/* Reads uhyve-sec's stdin into the first non-empty piece of iov: the bytes read (0 at its
 * end), -EINTR once *stopping is set, or -errno.  Waits in steps of 50 ms. */
ssize_t stdin_readv(const atomic_int *stopping, const struct iovec *iov, int iovcnt);

/* ---- the legacy platform (platform.c): PIC registers, PCI configuration space, MP-table
 * probes ---- */
bool platform_port(uint16_t port);
enum hc_action platform_port_io(struct hc_call *c, uint16_t port, bool out, uint8_t size,
				uint8_t *data);
enum hc_action platform_mmio(struct hc_call *c, uint64_t addr, bool write, uint32_t len,
			     uint8_t *data);

/* Name of hypercall table entry i, or NULL past the end (for --stats). */
const char *hc_name(unsigned i);
unsigned hc_count(void);

/* DR7 bits for KVM_SET_GUEST_DEBUG's debug registers (the debugger's, JIT mode's free runs). */
#define DR7_G0 0x2ull /* DR0 enabled (global) */
#define DR7_GE 0x200ull /* exact breakpoint match */

#endif
