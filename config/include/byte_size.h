/* SPDX-License-Identifier: MIT */
/* byte_size.h - sizes as uhyve spells them ("64M", "4GiB", "4 GB", "1024MiB", "65536"), for
 * the -m/--memory-size option, uhyve.toml's memory.memory_size and hermit.toml's
 * requirements.memory.  Pure; the text is untrusted.
 *
 * The syntax is that of the Rust crate byte-unit 5.2 (Byte::from_str, as uhyve and
 * hermit-entry use it: case-sensitive "b", no 128-bit units):
 *
 *   [Unicode white space] DIGITS [ "." DIGITS ] [" "...] [UNIT] [Unicode white space]
 *
 *   UNIT        bytes per unit
 *   (none), B   1
 *   K  KB  kB   1000            Ki  KiB  kiB  KIB  1024          (the letter's case is free)
 *   M  MB       1000^2          Mi  MiB                1024^2
 *   G  GB       1000^3          Gi  GiB                1024^3
 *   T  TB       1000^4          Ti  TiB                1024^4
 *   P  PB       1000^5          Pi  PiB                1024^5
 *   E  EB       1000^6          Ei  EiB                1024^6
 *   a lower-case "b" or any "bit"/"bits" (any case) after the prefix means bits, 1/8 byte:
 *   "b", "bit", "Kb" = 1000 bits = 125 bytes, "Kib" = 128 bytes, "Mbit", "MiBits", ...
 *
 * So a bare "M" is decimal (64M = 64,000,000 bytes; uhyve's README example "-m 64M" is not a
 * multiple of 2 MiB), "MB" is decimal, "MiB"/"Mi" are binary.  Only ASCII spaces may stand
 * between the number and the unit (no tab).  A fraction is allowed ("1.5GiB") and the
 * result is rounded up to a whole byte; at most 28 digits after the point.  The value must
 * fit in 64 bits.  Differences from byte-unit: byte-unit keeps 96-bit decimals and rounds
 * numbers with more than about 28 significant digits before scaling; this parser keeps all
 * digits exactly (both round up to whole bytes), so such inputs may differ by a byte.
 */
#ifndef UHS_BYTE_SIZE_H
#define UHS_BYTE_SIZE_H

#include <stddef.h>
#include <stdint.h>

#define UHS_MEMORY_MIN	 (16ULL << 20) /* uhyve's GuestMemorySize::minimum() */
#define UHS_MEMORY_ALIGN (2ULL << 20) /* guest memory is a whole number of 2 MiB pages */

/* Parses n bytes at s (no NUL needed) as a size.  Returns 0 and the size in *bytes, or -1
 * with a one-line reason in err ("invalid size \"4 GX\": unknown unit \"GX\" ..."). */
int uhs_parse_size(const char *s, size_t n, uint64_t *bytes, char *err, size_t errlen);

/* The same grammar with every prefix binary: "K", "KB", "Ki" and "KiB" all mean 1024 (bits
 * likewise: "Mb" = "Mib").  uhyve-sec reads guest memory sizes this way (-m, uhyve.toml's
 * memory_size, HERMIT_MEMORY_SIZE), as it always has: "-m 64M" is 64 MiB.  It agrees with
 * uhyve on every size uhyve accepts except decimal spellings that happen to be whole 2 MiB
 * pages (multiples of "32768M", "262144K" or "4096G"; uhyve reads "32768M" as 32,768,000,000
 * bytes).  hermit.toml's [requirements] memory keeps uhyve's decimal reading (a lower bound
 * written for uhyve). */
int uhs_parse_size_binary(const char *s, size_t n, uint64_t *bytes, char *err, size_t errlen);

/* uhyve's check of a guest memory size (-m): at least 16 MiB and a multiple of 2 MiB.
 * Returns 0, or -1 with a one-line reason in err. */
int uhs_check_memory_size(uint64_t bytes, char *err, size_t errlen);

#endif
