#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# run-assist-reaped.py - uhyve-sec reaps its own children (issue 16 item 12): run as a child
# subreaper, this script starts uhyve-sec with a guest that never needs the instruction assist
# (`hello`) and with one that does (`sse`), in JIT mode (the default) and with
# --assist=exits, waits for it, and then finds no orphan reparented to it: before the fix the
# pre-forked uhyve-sec-assist was left behind as a zombie every run.
#
# Usage: run-assist-reaped.py VMM GUEST_DIR
import ctypes
import os
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36


def orphans():
    """Children of ours that are not the uhyve-sec we started: reparented orphans."""
    found = []
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return found
        if pid == 0:
            time.sleep(0.05)  # a live orphan: wait for it to end, then reap it
            continue
        found.append(pid)
    found.append("still running after 1 s")
    return found


def main():
    vmm, guests = sys.argv[1], sys.argv[2]
    if not (os.path.exists("/dev/kvm") and os.access("/dev/kvm", os.W_OK)):
        print("SKIP: /dev/kvm is not usable")
        return 77
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        print("SKIP: cannot become a child subreaper")
        return 77
    fail = 0
    for mode in ("auto", "exits"):
        for guest in ("hello", "sse"):
            p = subprocess.run([vmm, "--assist=" + mode, os.path.join(guests, guest)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, timeout=120)
            if p.returncode != 0:
                print(f"FAIL: {guest} --assist={mode}: status {p.returncode}: "
                      f"{p.stderr.decode(errors='replace').strip()}")
                fail = 1
            left = orphans()
            if left:
                print(f"FAIL: {guest} --assist={mode}: uhyve-sec left children behind: {left}")
                fail = 1
    if not fail:
        print("ok: no child of uhyve-sec outlives it")
    return fail


sys.exit(main())
