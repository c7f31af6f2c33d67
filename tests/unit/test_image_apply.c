/* SPDX-License-Identifier: MIT */
/* test_image_apply.c - what a loaded Hermit image means for a run (launcher/image_apply.c):
 * [requirements] against -m and -c, the image's arguments only without command-line ones,
 * its environment under everything else, the kernel bytes and the tar for internal mode,
 * and the guest directories a newer kernel mounts (uhyve's get_all_guest_dirs: every
 * directory directly holding a file, never "/"). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "launcher.h"
#include "uhs_status.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const unsigned char elf[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, [16] = 2, 0, 62, 0, 1};

struct env {
	struct launch_image li;
	struct launch_config lc;
};

/* A validated table, as hi_blob_load gives it (sorted, every parent present). */
static const struct hi_entry entries[] = {
    {"bin", 3, HI_DIR, 0755, NULL, 0},
    {"bin/kernel", 10, HI_FILE, 0755, elf, sizeof elf},
    {"empty", 5, HI_DIR, 0755, NULL, 0},
    {"etc", 3, HI_DIR, 0755, NULL, 0},
    {"etc/app", 7, HI_DIR, 0755, NULL, 0},
    {"etc/app/conf", 12, HI_FILE, 0644, (const uint8_t *)"c", 1},
    {"hermit.toml", 11, HI_FILE, 0644, (const uint8_t *)"", 0},
    {"top", 3, HI_FILE, 0644, (const uint8_t *)"t", 1},
};
static const char *kargs[] = {"-freq", "2000"}, *aargs[] = {"hello"}, *envs[] = {"A=1"};

static int setup(void **state)
{
	struct env *v = calloc(1, sizeof *v);

	v->li.img = (struct hermit_image){.entries = (struct hi_entry *)(uintptr_t)entries,
					  .n_entries = sizeof entries / sizeof entries[0],
					  .config_entry = 6,
					  .cfg = {.kernel = 1,
						  .kernel_args = kargs,
						  .n_kernel_args = 2,
						  .app_args = aargs,
						  .n_app_args = 1,
						  .env_vars = envs,
						  .n_env_vars = 1,
						  .memory_set = true,
						  .memory = 64ULL << 20,
						  .cpus = 2},
					  .borrowed = true};
	v->li.is_image = v->li.loaded = true;
	v->li.blob_fd = v->li.tar_fd = -1;
	v->li.tar = (const uint8_t *)"tar bytes";
	v->li.tar_len = 9;
	v->lc.vm.kernel_path = "app.hermit";
	v->lc.vm.mem_size = 64ULL << 20;
	v->lc.vm.cpus = 2;
	*state = v;
	return 0;
}

static int teardown(void **state)
{
	struct env *v = *state;

	free(v->lc.args);
	free(v);
	return 0;
}

static void applies_everything(void **state)
{
	struct env *v = *state;

	v->lc.image_mode = UHC_IMAGE_INTERNAL;
	assert_int_equal(image_apply(&v->lc, &v->li), 0);
	assert_int_equal(v->lc.nargs, 3);
	assert_string_equal(v->lc.args[0], "-freq");
	assert_string_equal(v->lc.args[2], "hello");
	assert_int_equal(v->lc.nimage_env, 1);
	assert_string_equal(v->lc.image_env[0], "A=1");
	assert_int_equal(v->lc.vm.kernel_len, sizeof elf);
	assert_ptr_equal(v->lc.vm.kernel_data, elf);
	assert_ptr_equal(v->lc.vm.initrd, v->li.tar);
	assert_int_equal(v->lc.vm.initrd_len, 9);
}

static void command_line_args_win(void **state)
{
	struct env *v = *state;
	static char mine[] = "cli";

	v->lc.args = calloc(2, sizeof *v->lc.args);
	v->lc.args[0] = mine;
	v->lc.nargs = 1;
	v->lc.image_mode = UHC_IMAGE_EXTERNAL;
	assert_int_equal(image_apply(&v->lc, &v->li), 0);
	assert_int_equal(v->lc.nargs, 1);
	assert_string_equal(v->lc.args[0], "cli");
	assert_null(v->lc.vm.initrd); /* external: no tar in RAM */
}

static void requirements(void **state)
{
	struct env *v = *state;

	v->lc.vm.mem_size = 62ULL << 20;
	assert_int_equal(image_apply(&v->lc, &v->li), ST_USAGE);
	v->lc.vm.mem_size = 64ULL << 20;
	v->lc.vm.cpus = 1;
	assert_int_equal(image_apply(&v->lc, &v->li), ST_USAGE);
}

static void mount_dirs(void **state)
{
	struct env *v = *state;
	char *m[16] = {NULL};
	size_t n = 0;

	assert_int_equal(image_mount_dirs(&v->li, m, &n), 0);
	assert_int_equal(n, 2); /* bin, etc/app; not "/" (top, hermit.toml), not empty or etc */
	assert_string_equal(m[0], "/bin");
	assert_string_equal(m[1], "/etc/app");
	for (size_t i = 0; i < n; i++) {
		free(m[i]);
	}
}

static void not_an_image(void **state)
{
	struct launch_image li = {.blob_fd = -1, .tar_fd = -1};
	struct launch_config lc = {0};

	(void)state;
	assert_int_equal(image_apply(&lc, &li), 0);
	assert_null(lc.vm.kernel_data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(applies_everything, setup, teardown),
	    cmocka_unit_test_setup_teardown(command_line_args_win, setup, teardown),
	    cmocka_unit_test_setup_teardown(requirements, setup, teardown),
	    cmocka_unit_test_setup_teardown(mount_dirs, setup, teardown),
	    cmocka_unit_test(not_an_image),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
