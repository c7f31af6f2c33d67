/* SPDX-License-Identifier: MIT */
/* linux_hello.c - a static Linux program (not a Hermit kernel) for the oci tests and the
 * benchmark: prints one line, exits with argv[1] (default 0).  Linked -static without the
 * project's flags, like the test guests, so it runs in an empty container. */
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	puts("hello from Linux");
	return argc > 1 ? atoi(argv[1]) : 0;
}
