/* SPDX-License-Identifier: MIT */
/* test_layout.c - address selection, page tables, GDT, boot info and device tree. */
#include <errno.h>
#include <libfdt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm_internal.h"

#define MIB (1ull << 20)

static struct elf_image pie(uint64_t span, uint32_t iface, int hermit_version)
{
	struct elf_image img;

	memset(&img, 0, sizeof img);
	img.is_pie = 1;
	img.entry = 0x1234;
	img.first_vaddr = 0;
	img.span = span;
	img.uhyve_if = iface;
	img.has_hermit_version = hermit_version;
	img.hermit_version[1] = 12;
	return img;
}

static void choose_v1(void **state)
{
	struct elf_image img = pie(0x9c600, 1, 0);
	struct vm_layout lay;
	char err[200];

	(void)state;
	assert_int_equal(layout_choose(&img, 64 * MIB, false, 0, &lay, err, sizeof err), 0);
	assert_true(lay.guest_address == 0);
	assert_true(lay.load_addr == 0x40000);
	assert_true(lay.entry == 0x41234);
	assert_true(lay.image_end == 0x40000 + 0x9c600);
	assert_int_equal(lay.iface, 1);
	assert_int_equal(lay.legacy_mapping, 1);
	/* ASLR: 2 MiB aligned, RAM stays below 3 GiB for every random value */
	for (uint64_t r = 0; r < 100000; r += 997) {
		uint64_t rnd = r * 0x9e3779b97f4a7c15ull;
		assert_int_equal(layout_choose(&img, 64 * MIB, true, rnd, &lay, err, sizeof err),
				 0);
		assert_true(lay.guest_address % (2 * MIB) == 0);
		assert_true(lay.guest_address + 64 * MIB + 0x40000 + img.span <= 0xC0000000ull);
	}
	/* too much RAM for v1 */
	assert_int_equal(layout_choose(&img, 3072 * MIB, false, 0, &lay, err, sizeof err), -1);
	assert_string_equal(err,
			    "3072 MiB of RAM does not fit below 3 GiB for a uhyve interface v1 "
			    "kernel");
	/* image larger than RAM */
	img.span = 64 * MIB;
	assert_int_equal(layout_choose(&img, 64 * MIB, false, 0, &lay, err, sizeof err), -1);
	assert_string_equal(err, "kernel image (0x4000000 bytes) does not fit in 64 MiB of RAM");
}

static void choose_v2_and_exec(void **state)
{
	struct elf_image img = pie(0x10000, 2, 1);
	struct vm_layout lay;
	char err[200];

	(void)state;
	assert_int_equal(layout_choose(&img, 128 * MIB, false, 0, &lay, err, sizeof err), 0);
	assert_true(lay.guest_address == 0x100000000ull);
	assert_int_equal(lay.legacy_mapping, 0);
	assert_int_equal(layout_choose(&img, 128 * MIB, true, ~0ull, &lay, err, sizeof err), 0);
	assert_true(lay.guest_address >= 0x100000000ull);
	assert_true(lay.guest_address + 128 * MIB <= 0x1000000000ull);
	/* fixed address (ET_EXEC) like hello_c: RAM at 0, kernel where it was linked */
	img = pie(0x147480, 1, 0);
	img.is_pie = 0;
	img.first_vaddr = 0x800000;
	img.entry = 0x8422a0;
	assert_int_equal(layout_choose(&img, 64 * MIB, true, 12345, &lay, err, sizeof err), 0);
	assert_true(lay.guest_address == 0 && lay.load_addr == 0x800000 && lay.entry == 0x8422a0);
	img.first_vaddr = 0x1000; /* would overlap the boot structures */
	assert_int_equal(layout_choose(&img, 64 * MIB, true, 0, &lay, err, sizeof err), -1);
	img.first_vaddr = 63 * MIB; /* runs past the end of RAM */
	assert_int_equal(layout_choose(&img, 64 * MIB, true, 0, &lay, err, sizeof err), -1);
}

struct arena {
	struct gmem m;
	void *mem;
};

static int arena_setup(void **state)
{
	struct arena *a = calloc(1, sizeof *a);

	a->mem = calloc(1, 64 * MIB);
	assert_non_null(a->mem);
	gmem_init_arena(&a->m, a->mem, 0, 64 * MIB);
	*state = a;
	return 0;
}

static int arena_teardown(void **state)
{
	struct arena *a = *state;

	free(a->mem);
	free(a);
	return 0;
}

static uint64_t rd64(struct gmem *m, uint64_t at)
{
	uint64_t v;

	assert_int_equal(gmem_copy_from(m, &v, gpa(at), 8), 0);
	return v;
}

static void tables(void **state)
{
	struct arena *a = *state;
	struct elf_image img = pie(0x9c600, 1, 0);
	struct vm_layout lay;
	char err[200];
	unsigned mapped = 0;
	gpa_t pa;

	assert_int_equal(layout_choose(&img, 64 * MIB, false, 0, &lay, err, sizeof err), 0);
	assert_int_equal(layout_write_tables(&a->m, &lay), 0);
	/* GDT (b.2) */
	assert_true(rd64(&a->m, 8) == 0x00AF9B000000FFFFull);
	assert_true(rd64(&a->m, 16) == 0x00CF93000000FFFFull);
	/* recursive slot and the first tables at 0x11000/0x12000 (b.3) */
	assert_true(rd64(&a->m, 0x10000 + 511 * 8) == (0x10000 | 3));
	assert_true(rd64(&a->m, 0x10000) == (0x11000 | 3));
	assert_true(rd64(&a->m, 0x11000) == (0x12000 | 3));
	/* legacy: the whole first GiB in 2 MiB pages, identity */
	for (unsigned i = 0; i < 512; i++) {
		uint64_t pde = rd64(&a->m, 0x12000 + i * 8ull);
		mapped += (pde & 0x83) == 0x83 && (pde & ~0xfffull) == i * 2 * MIB;
	}
	assert_int_equal(mapped, 512);
	assert_int_equal(gmem_gva_to_gpa(&a->m, 0x10000, gva(0x3fe00123), &pa, NULL), 0);
	assert_true(pa.raw == 0x3fe00123);
	assert_int_equal(gmem_gva_to_gpa(&a->m, 0x10000, gva(0x40000000), &pa, NULL), -EFAULT);
	/* the recursive mapping makes the PML4 visible at its canonical address */
	assert_int_equal(gmem_gva_to_gpa(&a->m, 0x10000, gva(0xfffffffffffff000ull), &pa, NULL), 0);
	assert_true(pa.raw == 0x10000);
}

/* Legacy mapping with the kernel's end, rounded up to 2 MiB, on the next GiB boundary (ASLR
 * slot 511 of a v1 kernel): Hermit 0.6 unmaps that page up to page 511 of its region, so the
 * whole next region is mapped too (it panicked with PageNotMapped, 1 run in 200). */
static void tables_legacy_end_at_gib(void **state)
{
	struct elf_image img = pie(0x9c600, 1, 0);
	struct vm_layout lay;
	struct gmem m;
	char err[200];
	gpa_t pa;
	uint8_t *mem = calloc(1, 64 * MIB);

	(void)state;
	assert_non_null(mem);
	assert_int_equal(layout_choose(&img, 64 * MIB, true, 511, &lay, err, sizeof err), 0);
	assert_true(lay.guest_address == 0x3fe00000);
	assert_true(lay.image_end == 0x3fe40000 + 0x9c600);
	gmem_init_arena(&m, mem, lay.guest_address, 64 * MIB);
	assert_int_equal(layout_write_tables(&m, &lay), 0);
	assert_int_equal(
	    gmem_gva_to_gpa(&m, lay.guest_address + 0x10000, gva(0x3fe40000), &pa, NULL), 0);
	assert_int_equal(
	    gmem_gva_to_gpa(&m, lay.guest_address + 0x10000, gva(0x40000000), &pa, NULL), 0);
	assert_true(pa.raw == 0x40000000);
	assert_int_equal(
	    gmem_gva_to_gpa(&m, lay.guest_address + 0x10000, gva(0x7fe00123), &pa, NULL), 0);
	assert_true(pa.raw == 0x7fe00123);
	assert_int_equal(
	    gmem_gva_to_gpa(&m, lay.guest_address + 0x10000, gva(0x80000000), &pa, NULL), -EFAULT);
	free(mem);
}

static void tables_non_legacy(void **state)
{
	struct arena *a = *state;
	struct elf_image img = pie(0x300000, 1, 1); /* Hermit >= 0.10: image only */
	struct vm_layout lay;
	char err[200];
	gpa_t pa;

	assert_int_equal(layout_choose(&img, 64 * MIB, false, 0, &lay, err, sizeof err), 0);
	assert_int_equal(lay.legacy_mapping, 0);
	assert_int_equal(layout_write_tables(&a->m, &lay), 0);
	assert_int_equal(gmem_gva_to_gpa(&a->m, 0x10000, gva(0x340000 - 1), &pa, NULL), 0);
	assert_int_equal(gmem_gva_to_gpa(&a->m, 0x10000, gva(0x400000), &pa, NULL), -EFAULT);
}

static void boot_info_and_fdt(void **state)
{
	struct arena *a = *state;
	struct elf_image img = pie(0x9c600, 1, 0);
	char *mounts[] = {(char[]){"/data"}, (char[]){"/ro"}};
	struct boot_params bp = {.cpus = 3,
				 .tsc_khz = 2596000,
				 .boot_time_ns = 1700000000123456789ll,
				 .bootargs = "env=A=1 -- x",
				 .mounts = mounts,
				 .nmounts = 2};
	struct uh_boot_info bi;
	struct vm_layout lay;
	const void *fdt, *p;
	char err[200];
	int len, node;

	img.tls_vaddr = 0x906f8;
	img.tls_filesz = 0x20;
	img.tls_memsz = 0x81;
	img.tls_align = 8;
	assert_int_equal(layout_choose(&img, 64 * MIB, false, 0, &lay, err, sizeof err), 0);
	assert_int_equal(layout_write_boot_info(&a->m, &lay, &img, &bp), 0);
	assert_int_equal(gmem_copy_from(&a->m, &bi, gpa(0x5000), sizeof bi), 0);
	assert_true(bi.phys_addr_start == 0 && bi.phys_addr_end == 64 * MIB);
	assert_int_equal(bi.serial_port_base, 0x800);
	assert_true(bi.device_tree == 0x1000);
	assert_true(bi.kernel_image_start == 0x40000 && bi.kernel_image_end == 0x40000 + 0x9c600);
	assert_true(bi.tls_start == 0xd06f8 && bi.tls_filesz == 0x20 && bi.tls_memsz == 0x81 &&
		    bi.tls_align == 8);
	assert_int_equal(bi.platform, UH_PLATFORM_UHYVE);
	assert_int_equal(bi.has_pci, 1);
	assert_true(bi.num_cpus == 3);
	assert_int_equal(bi.cpu_freq_khz, 2596000);
	__int128 t;
	memcpy(&t, bi.boot_time_ns, 16);
	assert_true(t == 1700000000123456789ll);

	fdt = gmem_ptr(&a->m, gpa(0x1000), UH_FDT_SIZE);
	assert_int_equal(fdt_check_header(fdt), 0);
	assert_true(fdt_totalsize(fdt) <= UH_FDT_SIZE);
	assert_string_equal(fdt_getprop(fdt, 0, "compatible", &len), "hermit,uhyve");
	node = fdt_path_offset(fdt, "/memory@0");
	assert_true(node >= 0);
	p = fdt_getprop(fdt, node, "reg", &len);
	assert_int_equal(len, 16);
	assert_true(fdt64_ld((const fdt64_t *)p + 1) == 64 * MIB);
	assert_true(fdt_path_offset(fdt, "/cpus/cpu@2") >= 0);
	assert_true(fdt_path_offset(fdt, "/cpus/cpu@3") < 0);
	node = fdt_path_offset(fdt, "/hermit,tsc");
	assert_true(fdt32_ld(fdt_getprop(fdt, node, "khz", &len)) == 2596000);
	node = fdt_path_offset(fdt, "/chosen");
	assert_string_equal(fdt_getprop(fdt, node, "bootargs", &len), "env=A=1 -- x");
	node = fdt_path_offset(fdt, "/uhyve,mounts");
	p = fdt_getprop(fdt, node, "mounts", &len);
	assert_int_equal(len, 10);
	assert_memory_equal(p, "/data\0/ro\0", 10);
}

static void bootargs_quoting(void **state)
{
	char k[] = "K",
	     *args[] = {(char[]){"plain"}, (char[]){"two words"}, (char[]){"it's"}, (char[]){""}};
	char *env[] = {(char[]){"A=1"}, (char[]){"B=x y"}};
	struct vmm_config cfg = {.kernel_path = k, .args = args, .nargs = 4, .env = env, .nenv = 2};
	char *s = layout_bootargs(&cfg);

	(void)state;
	/* no "--": every word is the kernel's (uhyve's src/vm.rs), env= words follow them */
	assert_string_equal(s, "plain 'two words' 'it'\\''s' '' env=A=1 env=B='x y'");
	free(s);
	cfg.nargs = 0;
	cfg.nenv = 0;
	s = layout_bootargs(&cfg);
	assert_string_equal(s, "");
	free(s);
}

/* Kernel words before the first "--", the application's after it; "--" written only before
 * application words; a second "--" is an application word. */
static void bootargs_split(void **state)
{
	char *w[] = {(char[]){"-freq"}, (char[]){"2000"}, (char[]){"--"}, (char[]){"a b"},
		     (char[]){"--"}};
	char *env[] = {(char[]){"A=1"}};
	struct vmm_config cfg = {.args = w, .nargs = 5, .env = env, .nenv = 1};
	struct guest_words g;
	char *s = layout_bootargs(&cfg);

	(void)state;
	assert_string_equal(s, "-freq 2000 env=A=1 -- 'a b' --");
	free(s);
	guest_words_split(w, 5, &g);
	assert_true(g.sep && g.nkernel == 2 && g.napp == 2 && g.app == w + 3);
	assert_true(g.cmdval == w + 3 && g.ncmdval == 2); /* v1 argv: the application's words */
	cfg.args = w + 2; /* "--" first: application words only */
	cfg.nargs = 3;
	cfg.nenv = 0;
	s = layout_bootargs(&cfg);
	assert_string_equal(s, "-- 'a b' --");
	free(s);
	cfg.nargs = 1; /* a lone "--": nothing at all */
	s = layout_bootargs(&cfg);
	assert_string_equal(s, "");
	free(s);
	cfg.args = w; /* kernel words and "--" without application words */
	cfg.nargs = 3;
	cfg.nenv = 1;
	s = layout_bootargs(&cfg);
	assert_string_equal(s, "-freq 2000 env=A=1");
	free(s);
	guest_words_split(w, 2, &g); /* no "--": Cmdval gets every word, as from uhyve */
	assert_true(!g.sep && g.nkernel == 2 && g.napp == 0 && g.cmdval == w && g.ncmdval == 2);
}

/* A device tree over uhyve's 16 KiB slot goes above the page tables: a relocatable kernel
 * moves up by whole 2 MiB pages, a fixed-address one must leave room below itself. */
static void fdt_room(void **state)
{
	struct arena *a = *state;
	struct elf_image img = pie(0x300000, 1, 1);
	size_t n = 100000;
	char *big = malloc(n + 1);
	struct boot_params bp = {.cpus = 1, .bootargs = big};
	struct uh_boot_info bi;
	struct vm_layout lay;
	uint64_t size = 0;
	const void *fdt;
	char err[200];
	int len;

	memset(big, 'x', n);
	big[n] = '\0';
	assert_int_equal(layout_choose(&img, 64 * MIB, false, 0, &lay, err, sizeof err), 0);
	assert_int_equal(layout_fdt_room(&lay, &img, UH_FDT_SIZE - 256, err, sizeof err), 0);
	assert_true(lay.fdt_addr == 0x1000 && lay.load_addr == 0x40000); /* as uhyve */
	assert_int_equal(layout_fdt_room(&lay, &img, UH_FDT_SIZE - 255, err, sizeof err), 0);
	assert_true(lay.fdt_addr == 0x40000 && lay.fdt_cap == 0x5000 &&
		    lay.load_addr == 0x40000 + 2 * MIB);
	assert_int_equal(layout_choose(&img, 64 * MIB, false, 0, &lay, err, sizeof err), 0);
	assert_int_equal(layout_fdt_size(&lay, &bp, &size), 0);
	assert_true(size > n && size < n + 2048);
	assert_int_equal(layout_fdt_room(&lay, &img, size, err, sizeof err), 0);
	assert_true(lay.fdt_addr == 0x40000 && lay.fdt_cap >= size && lay.fdt_cap % 4096 == 0);
	assert_true(lay.load_addr == 0x40000 + 2 * MIB && lay.entry == 0x41234 + 2 * MIB);
	assert_true(lay.image_end == lay.load_addr + 0x300000);
	assert_int_equal(layout_write_tables(&a->m, &lay), 0);
	assert_int_equal(layout_write_boot_info(&a->m, &lay, &img, &bp), 0);
	assert_int_equal(gmem_copy_from(&a->m, &bi, gpa(0x5000), sizeof bi), 0);
	assert_true(bi.device_tree == 0x40000 && bi.kernel_image_start == 0x40000 + 2 * MIB);
	fdt = gmem_ptr(&a->m, gpa(0x40000), lay.fdt_cap);
	assert_int_equal(fdt_check_header(fdt), 0);
	assert_int_equal(
	    strlen(fdt_getprop(fdt, fdt_path_offset(fdt, "/chosen"), "bootargs", &len)), n);
	/* the page tables stayed below it; everything from RAM start to the image is mapped */
	assert_true(rd64(&a->m, 0x10000) == (0x11000 | 3));
	/* no room: RAM too small for the tree and the kernel */
	img.span = 62 * MIB;
	assert_int_equal(layout_choose(&img, 64 * MIB, false, 0, &lay, err, sizeof err), 0);
	assert_int_equal(layout_fdt_room(&lay, &img, size, err, sizeof err), -1);
	assert_string_equal(err, "the guest arguments and environment need a 100 KiB device tree, "
				 "which does not fit in 64 MiB of RAM with the kernel");
	/* a fixed-address kernel at 8 MiB has the room below it; at 0x60000 it has not */
	img = pie(0x147480, 1, 0);
	img.is_pie = 0;
	img.first_vaddr = 0x800000;
	img.entry = 0x8422a0;
	assert_int_equal(layout_choose(&img, 64 * MIB, false, 0, &lay, err, sizeof err), 0);
	assert_int_equal(layout_fdt_room(&lay, &img, size, err, sizeof err), 0);
	assert_true(lay.fdt_addr == 0x40000 && lay.load_addr == 0x800000);
	img.first_vaddr = 0x60000;
	img.entry = 0x60000;
	assert_int_equal(layout_choose(&img, 64 * MIB, false, 0, &lay, err, sizeof err), 0);
	assert_int_equal(layout_fdt_room(&lay, &img, size, err, sizeof err), -1);
	assert_string_equal(err, "the guest arguments and environment need a 100 KiB device tree, "
				 "more than fits below this fixed-address kernel at 0x60000");
	img.first_vaddr = 0x40000; /* no room at all (the unsigned difference must not wrap) */
	img.entry = 0x40000;
	assert_int_equal(layout_choose(&img, 64 * MIB, false, 0, &lay, err, sizeof err), 0);
	assert_int_equal(layout_fdt_room(&lay, &img, size, err, sizeof err), -1);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(choose_v1),
	    cmocka_unit_test(choose_v2_and_exec),
	    cmocka_unit_test_setup_teardown(tables, arena_setup, arena_teardown),
	    cmocka_unit_test_setup_teardown(tables_non_legacy, arena_setup, arena_teardown),
	    cmocka_unit_test(tables_legacy_end_at_gib),
	    cmocka_unit_test_setup_teardown(boot_info_and_fdt, arena_setup, arena_teardown),
	    cmocka_unit_test(bootargs_quoting),
	    cmocka_unit_test(bootargs_split),
	    cmocka_unit_test_setup_teardown(fdt_room, arena_setup, arena_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
