# SPDX-License-Identifier: MIT
# tapopen.py - opens TAP NAME (IFF_TAP | IFF_NO_PI, plus IFF_VNET_HDR unless FLAGS says
# "novnet") and either holds it (MODE hold: prints "held", sleeps until killed) or execs a
# command with the fd inherited, replacing "%FD%" in its arguments with the fd number.
#   python3 tapopen.py NAME FLAGS hold
#   python3 tapopen.py NAME FLAGS exec CMD ARGS...
import fcntl
import os
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI, IFF_VNET_HDR = 0x0002, 0x1000, 0x4000

name, flags, mode = sys.argv[1], sys.argv[2], sys.argv[3]
bits = IFF_TAP | IFF_NO_PI | (0 if flags == "novnet" else IFF_VNET_HDR)
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), bits))
if mode == "hold":
    print("held", flush=True)
    while True:
        time.sleep(60)
os.set_inheritable(fd, True)
args = [a.replace("%FD%", str(fd)) for a in sys.argv[4:]]
os.execv(args[0], args)
