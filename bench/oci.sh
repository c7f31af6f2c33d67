#!/bin/bash
# SPDX-License-Identifier: MIT
# oci.sh - what running a Hermit container through an engine costs (issue 13), against floors
# measured in the same run.
#
# Usage: oci.sh UHYVE_SEC_OCI UHYVE_SEC GUEST_DIR LINUX_HELLO [N]
#   F  podman run --rm of a static Linux hello with runc          (the engine's floor)
#   S  podman run --rm of the hello guest through uhyve-sec-oci   (the subject)
#   D  uhyve-sec hello, direct, with the policy the runtime makes (rootfs read-only at /)
#   R  uhyve-sec-oci create + start + wait + delete, no engine
# F, S alternate (F S F S ...), as do D, R; N runs each (default 21) after 3 untimed ones.
# Prints medians, the ratios S/F (engine + runtime + VMM against engine + runc) and S/D
# (what the engine and the runtime add to uhyve-sec), R/D, and a RESULT line.
# podman uses its own storage in a temporary directory (tests/oci/lib.sh); uhyve-sec-oci
# runs as installed, with its default root /run/uhyve-sec-oci (no wrapper script in the
# timed path).  Exits 77 (skip) without /dev/kvm, podman or runc.
set -u
here=$(dirname "$(readlink -f "$0")")
. "$here/../tests/oci/lib.sh"
OCI_RT=$(realpath "$1") vmm=$(realpath "$2") guests=$(realpath "$3") linux_hello=$(realpath "$4")
n=${5:-21}
oci_need_kvm
command -v runc >/dev/null || oci_skip "runc is not installed"
real_rt=$OCI_RT
oci_tmp
OCI_RT=$real_rt
oci_podman_setup "$guests" "$linux_hello"
sed -i "s|^uhyve-sec-oci = .*|uhyve-sec-oci = [\"$real_rt\"]|" "$T/containers.conf"
IMG=localhost/uhs-guests:test
# the bundle R uses, and D's policy: the image rootfs read-only at /
mkdir -p "$T/bundle" && cp -a "$T/rootfs" "$T/bundle/rootfs"
cat >"$T/bundle/config.json" <<EOC
{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"args":["/hello"],"env":[]}}
EOC
printf '{"version":1,"mounts":[{"host":"%s","guest":"/","access":"ro","symlinks":"within"}]}\n' \
	"$T/bundle/rootfs" >"$T/policy.json"
python3 - "$n" "$real_rt" "$vmm" "$T" "$IMG" <<'PY'
import os, statistics, subprocess, sys, time
n, rt, vmm, T, img = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
null = subprocess.DEVNULL

def run(cmd):
    t = time.monotonic()
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=null)
    dt = time.monotonic() - t
    return dt, r.returncode, r.stdout

def F():
    return run(["podman", "--runtime", "runc", "run", "--rm", "--network", "none", img,
                "/linux-hello"])

def S():
    return run(["podman", "--runtime", rt, "run", "--rm", "--network", "none", img, "/hello"])

def D():
    return run([vmm, "--policy", T + "/policy.json", "--argv0", "/hello",
                T + "/bundle/rootfs/hello"])

def R():
    root = T + "/bench-root"
    t = time.monotonic()
    subprocess.run([rt, "--root", root, "create", "--bundle", T + "/bundle", "--pid-file",
                    T + "/pid", "b"], stdout=null, stderr=null, check=True)
    pid = int(open(T + "/pid").read())
    fd = os.pidfd_open(pid)
    subprocess.run([rt, "--root", root, "start", "b"], check=True)
    import select
    select.select([fd], [], [], 30)
    os.close(fd)
    subprocess.run([rt, "--root", root, "delete", "b"], check=True)
    return time.monotonic() - t, 0, b"Hello from uhyve-sec!\n"

want = {F: b"hello from Linux\n", S: b"Hello from uhyve-sec!\n", D: b"Hello from uhyve-sec!\n",
        R: b"Hello from uhyve-sec!\n"}
res = {F: [], S: [], D: [], R: []}
for pair in ((F, S), (D, R)):
    for i in range(n + 3):
        for f in pair:
            dt, rc, out = f()
            if rc != 0 or (f is not R and out != want[f]):
                print(f"oci bench: {f.__name__} failed: status {rc}, output {out!r}")
                sys.exit(3)
            if i >= 3:
                res[f].append(dt * 1000)
names = {F: "F podman run --rm, runc, static Linux hello",
         S: "S podman run --rm, uhyve-sec-oci, hello guest",
         D: "D uhyve-sec hello (direct, same policy)",
         R: "R uhyve-sec-oci create+start+wait+delete"}
med = {}
print(f"OCI benchmark: {n} runs each (after 3 untimed), medians in ms")
for f in (F, S, D, R):
    v = sorted(res[f])
    med[f] = statistics.median(v)
    print(f"  {names[f]:<48} median {med[f]:8.2f}  min {v[0]:8.2f}  max {v[-1]:8.2f}")
print(f"  S/F (through an engine: uhyve-sec-oci against runc)   {med[S]/med[F]:.2f}")
print(f"  S/D (podman + uhyve-sec-oci against uhyve-sec alone)  {med[S]/med[D]:.2f}")
print(f"  R/D (uhyve-sec-oci, no engine, against uhyve-sec)     {med[R]/med[D]:.2f}")
print(f"RESULT oci_engine_ratio={med[S]/med[F]:.3f} oci_vmm_ratio={med[S]/med[D]:.3f} "
      f"runtime_ratio={med[R]/med[D]:.3f} floor_runc_ms={med[F]:.2f} podman_oci_ms={med[S]:.2f} "
      f"direct_ms={med[D]:.2f} runtime_ms={med[R]:.2f} runs={n}")
PY
