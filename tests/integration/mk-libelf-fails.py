#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# mk-libelf-fails.py IN OUT - copies the test guest IN to OUT with a section-header table that
# libelf itself refuses when it opens the image (extended section numbering whose count,
# section 0's sh_size, is 2^64 - 1): the kernel image is then rejected inside libelf, which
# uhyve-sec runs only after confinement (docs/threat-model.md 3.2).
import struct
import sys

data = bytearray(open(sys.argv[1], "rb").read())
if data[:4] != b"\x7fELF" or data[4] != 2:
    sys.exit("mk-libelf-fails: not a 64-bit ELF file")
shoff = len(data)
shdr0 = bytearray(64)
struct.pack_into("<Q", shdr0, 32, 0xFFFFFFFFFFFFFFFF)  # sh_size: the section count
data += shdr0
struct.pack_into("<Q", data, 0x28, shoff)  # e_shoff
struct.pack_into("<H", data, 0x3A, 64)  # e_shentsize
struct.pack_into("<H", data, 0x3C, 0)  # e_shnum 0: the count is in section 0
struct.pack_into("<H", data, 0x3E, 0)  # e_shstrndx
with open(sys.argv[2], "wb") as f:
    f.write(data)
