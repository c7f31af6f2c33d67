#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""mk-hostile.py KERNEL OUTDIR: writes one hostile Hermit image per case of issue 11 item 6
into OUTDIR/CASE.hermit (KERNEL: a valid test guest ELF, so that each image is refused for its
one defect).  Cases are listed by --list.  Deterministic: fixed mtimes, owners and gzip header.
"""
import gzip
import io
import sys
import tarfile

TOML = b'version = "1"\nkernel = "kern"\n[input]\nkernel_args = []\napp_args = []\n'


def entry(name, data=b"", kind=tarfile.REGTYPE, **kw):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.mode = 0o755 if kind == tarfile.DIRTYPE else 0o644
    ti.mtime = 0
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    for k, v in kw.items():
        setattr(ti, k, v)
    return (ti, data)


def tar_bytes(entries, fmt=tarfile.GNU_FORMAT):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        for ti, data in entries:
            t.addfile(ti, io.BytesIO(data) if ti.type == tarfile.REGTYPE else None)
    return buf.getvalue()


def gz(raw):
    return gzip.compress(raw, compresslevel=6, mtime=0)


def oversized(kern):
    """A header that declares 300 MiB (over the 256 MiB per-file cap); data cut short."""
    raw = tar_bytes([entry("hermit.toml", TOML), entry("kern", kern)])
    big = tarfile.TarInfo("big")
    big.size = 300 << 20
    big.mtime = 0
    hdr = big.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")
    end = raw.rstrip(b"\0")
    end += b"\0" * (-len(end) % 512)
    return gz(end + hdr + b"\0" * 4096)


def cases(kern):
    base = [entry("hermit.toml", TOML), entry("kern", kern)]
    ok = gz(tar_bytes(base))
    return {
        "dotdot": gz(tar_bytes(base + [entry("a/../../b", b"x")])),
        "absolute": gz(tar_bytes(base + [entry("/etc/passwd", b"root::0:0::/:/bin/sh\n")])),
        "symlink": gz(tar_bytes(base + [entry("l", kind=tarfile.SYMTYPE, linkname="/etc/passwd")])),
        "hardlink": gz(tar_bytes(base + [entry("h", kind=tarfile.LNKTYPE, linkname="kern")])),
        "device": gz(tar_bytes(base + [entry("null", kind=tarfile.CHRTYPE, devmajor=1, devminor=3)])),
        "fifo": gz(tar_bytes(base + [entry("p", kind=tarfile.FIFOTYPE)])),
        "duplicate": gz(tar_bytes(base + [entry("a.txt", b"1"), entry("./a.txt", b"2")])),
        "control-char": gz(tar_bytes(base + [entry("a\x1b[2Jb", b"x")])),
        "file-and-dir": gz(tar_bytes(base + [entry("f", b"x"), entry("f/g", b"y")])),
        "no-toml": gz(tar_bytes([entry("kern", kern)])),
        "bad-toml": gz(tar_bytes([entry("hermit.toml", b'version = "1"\nkernel = \n'), entry("kern", kern)])),
        "toml-version": gz(tar_bytes([entry("hermit.toml", TOML.replace(b'"1"', b'"2"')), entry("kern", kern)])),
        "toml-unknown-key": gz(tar_bytes([entry("hermit.toml", TOML + b"[extra]\nx = 1\n"), entry("kern", kern)])),
        "missing-kernel": gz(tar_bytes([entry("hermit.toml", TOML)])),
        "kernel-not-elf": gz(tar_bytes([entry("hermit.toml", TOML), entry("kern", b"#!/bin/sh\necho hi\n" * 8)])),
        "kernel-escape": gz(tar_bytes([entry("hermit.toml", TOML.replace(b'"kern"', b'"../kern"')), entry("kern", kern)])),
        "oversized": oversized(kern),
        "truncated-gzip": ok[: len(ok) // 2],
        "trailing-bytes": ok + b"GARBAGE",
        # the CRC-32 in the trailer flipped: the same refusal whatever the kernel's bytes
        "corrupt-gzip": ok[:-8] + bytes(b ^ 0xFF for b in ok[-8:-4]) + ok[-4:],
    }


def main():
    if sys.argv[1:] == ["--list"]:
        print(" ".join(cases(b"").keys()))
        return 0
    kern_path, out = sys.argv[1], sys.argv[2]
    with open(kern_path, "rb") as f:
        kern = f.read()
    for name, data in cases(kern).items():
        with open(f"{out}/{name}.hermit", "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
