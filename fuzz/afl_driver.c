/* SPDX-License-Identifier: MIT */
/* afl_driver.c - AFL++ persistent-mode driver for a fuzz target (build with afl-clang-fast;
 * fuzz/run-campaign does).
 *
 * The test case arrives in shared memory (__AFL_FUZZ_TESTCASE_BUF); 10000 inputs run in one
 * process before AFL forks a fresh one, so each target must reset all of its state per input.
 * Outside afl-fuzz the binary reads one input from stdin and runs it once (afl-tmin, triage).
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz.h"

#ifndef __AFL_FUZZ_TESTCASE_LEN
#error "afl_driver.c must be compiled with afl-clang-fast (AFL++)"
#endif

/* The AFL++ macros define undeclared globals and cast their signature strings to char *. */
#pragma clang diagnostic ignored "-Wmissing-prototypes"
#pragma clang diagnostic ignored "-Wmissing-variable-declarations"
#pragma clang diagnostic ignored "-Wcast-qual"
__AFL_FUZZ_INIT();

int main(void)
{
	unsigned char *buf;

	/* Deferred fork server: whatever a target sets up lazily on its first input happens in
	 * each forked child, never in the parent (so no fds or tmp dirs are shared). */
	__AFL_INIT();
	buf = __AFL_FUZZ_TESTCASE_BUF;
	while (__AFL_LOOP(10000)) {
		size_t len = (size_t)__AFL_FUZZ_TESTCASE_LEN;

		LLVMFuzzerTestOneInput(buf, len);
	}
	return 0;
}
