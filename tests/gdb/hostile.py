#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""hostile.py - a hostile debugger on the connection (docs/threat-model.md 3.12): uhyve-sec
waits on --gdb-socket, this script connects instead of gdb and sends what no gdb sends, then
checks every answer and that the run ends as the guest decides.

    hostile.py VMM GUEST SCENARIO

SCENARIO:
  garbage   noise outside packets, an over-long packet, bad checksums, hex numbers that
            overflow, impossible threads, lengths and addresses, unknown packets, a
            breakpoint at an unmapped address; each must get its NAK, error or empty reply,
            and the stub must still answer properly afterwards; then detach: the guest runs
            on and its exit status (6) is uhyve-sec's
  hangup    connect and close at once, before the first packet: the guest runs on (status 6)
  flood     Ctrl-C bytes and a megabyte of noise without reading any reply, then close:
            the guest runs on (status 6), nothing hangs
Exit: 0 pass, 1 fail, 77 skip (no /dev/kvm).
"""
import os
import socket
import subprocess
import sys
import tempfile
import time

GUEST_STATUS = 6


def csum(body):
    return sum(body) & 0xff


def packet(body):
    return b'$' + body + b'#%02x' % csum(body)


class Conn:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        self.buf = b''

    def recv_byte(self):
        while not self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError('the stub closed the connection')
            self.buf += chunk
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def expect_ack(self, want):
        got = self.recv_byte()
        if got != want:
            raise AssertionError('expected %r, got %r' % (want, got))

    def reply(self):
        """The next framed reply (acknowledged), its checksum checked."""
        while self.recv_byte() != b'$':
            pass
        body = b''
        while True:
            b = self.recv_byte()
            if b == b'#':
                break
            body += b
        cs = self.recv_byte() + self.recv_byte()
        if int(cs, 16) != csum(body):
            raise AssertionError('bad checksum from the stub: %r' % body)
        try:
            self.s.sendall(b'+')
        except BrokenPipeError:
            pass  # after D the stub has closed its end
        return body

    def ask(self, body):
        self.s.sendall(packet(body))
        self.expect_ack(b'+')
        return self.reply()


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def garbage(c):
    c.s.sendall(b'noise outside any packet \x00\xff+++')
    c.s.sendall(b'$' + b'a' * 20000 + b'#00')  # longer than PacketSize: dropped
    c.expect_ack(b'-')
    c.s.sendall(b'$g#00')  # bad checksum
    c.expect_ack(b'-')
    c.s.sendall(b'$g#zz')  # not even hex
    c.expect_ack(b'-')
    check(c.ask(b'qSupported:swbreak+').startswith(b'PacketSize='), 'qSupported')
    check(c.ask(b'?').startswith(b'T05'), 'the first stop is a SIGTRAP')
    cases = [
        (b'm10000000000000000,1', b'E'),  # 17 hex digits: overflow
        (b'm8000000000000000,10', b'E'),  # not canonical
        (b'm0,fffff', b'E'),  # longer than a packet
        (b'm0', b'E'),
        (b'M0,4:zz', b'E'),
        (b'M0,2:00', b'E'),  # length and data disagree
        (b'Hg99999', b'E'),  # no such vCPU
        (b'Hg-2', b'E'),
        (b'T1ffffffff', b'E'),
        (b'p99999', b'E'),
        (b'P12=10000000', b'E'),  # cs is read-only
        (b'Z0,0,1', b'E'),  # address 0 is not mapped
        (b'Z0,ffffffffffff0000,1', b'E'),  # not canonical
        (b'Z1,0,8', b'E'),  # an execution breakpoint has length 1
        (b'Z3,1000,1', b''),  # rwatch: not supported here
        (b'Z9,0,1', b'E'),  # no such type
        (b'vCont;x', b'E'),
        (b'vCont;c:99999', b'E'),
        (b'qXfer:features:read:../../etc/passwd:0,100', b'E'),
        (b'qXfer:features:read:target.xml:ffffffffffffffff,10', b'E'),
        (b'qRcmd,7265626f6f74', b''),  # monitor commands: none
        (b'vFile:open:2f6574632f706173737764,0,0', b''),  # no host files
        (b'\x01\x02\x7f', b''),
    ]
    for body, want in cases:
        got = c.ask(body)
        if want == b'':
            check(got == b'', '%r: expected an empty reply, got %r' % (body, got))
        else:
            check(got.startswith(want), '%r: expected %r..., got %r' % (body, want, got))
    # the last byte of the address space (the recursive PML4 slot maps it): a read of any
    # length ends there, it never wraps around to address 0
    got = c.ask(b'mffffffffffffffff,ffffffffffffffff')
    check(len(got) == 2 or got.startswith(b'E'), 'a read at 2^64 - 1 gave %r' % got[:40])
    # still well: registers, and memory at the stopped RIP
    regs = c.ask(b'g')
    check(len(regs) == 2 * 592, 'g: %d hex digits' % len(regs))
    rip = int.from_bytes(bytes.fromhex(regs[256:272].decode()), 'little')
    check(len(c.ask(b'm%x,10' % rip)) == 32, 'memory at RIP')
    check(c.ask(b'D') == b'OK', 'detach')


def hangup(c):
    c.s.close()


def flood(c):
    junk = bytes((i * 37 + 11) & 0xff for i in range(1 << 16))
    c.s.setblocking(False)
    sent = 0
    try:
        for _ in range(16):
            c.s.send(b'\x03' * 64 + junk)
            sent += 1
    except BlockingIOError:
        pass  # the stub stopped reading for a moment: fine
    c.s.close()


def main():
    vmm, guest, scenario = sys.argv[1:4]
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        print('SKIP: no /dev/kvm')
        return 77
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'gdb.sock')
        err = open(os.path.join(tmp, 'err'), 'w+')
        p = subprocess.Popen([vmm, '--gdb-socket', path, guest, str(GUEST_STATUS)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err)
        try:
            for _ in range(200):
                if os.path.exists(path):
                    break
                time.sleep(0.05)
            c = Conn(path)
            {'garbage': garbage, 'hangup': hangup, 'flood': flood}[scenario](c)
            out, _ = p.communicate(timeout=60)
        except Exception as e:  # noqa: BLE001 - any failure is the test's failure
            p.kill()
            p.wait()
            err.seek(0)
            print('FAIL: %s: %s\n--- uhyve-sec stderr\n%s' % (scenario, e, err.read()))
            return 1
        err.seek(0)
        log = err.read()
        if p.returncode != GUEST_STATUS or out != b'sum=42\nscaled=675\n':
            print('FAIL: %s: status %d, output %r\n--- uhyve-sec stderr\n%s' %
                  (scenario, p.returncode, out, log))
            return 1
        if os.path.exists(path):
            print('FAIL: the socket is still there')
            return 1
        print('ok: %s (status %d)' % (scenario, p.returncode))
        return 0


if __name__ == '__main__':
    sys.exit(main())
