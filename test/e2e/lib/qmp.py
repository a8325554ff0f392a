#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Send one QMP command to QEMU or qemu-storage-daemon (stdlib only).

Usage: qmp.py SOCKET COMMAND [JSON-ARGUMENTS]
Prints the "return" value as JSON; exits 1 with the error on stderr.
Every socket operation is bounded (10 s).
"""
import json
import socket
import sys


def recv_msg(f):
    while True:
        line = f.readline()
        if not line:
            raise OSError("QMP connection closed")
        msg = json.loads(line)
        if "event" in msg:
            continue
        return msg


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    args = json.loads(sys.argv[3]) if len(sys.argv) == 4 else {}
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(sys.argv[1])
    f = s.makefile("rw")
    recv_msg(f)  # greeting
    for cmd, cargs in (("qmp_capabilities", {}), (sys.argv[2], args)):
        f.write(json.dumps({"execute": cmd, "arguments": cargs}) + "\n")
        f.flush()
        msg = recv_msg(f)
        if "error" in msg:
            print("qmp %s: %s" % (cmd, msg["error"].get("desc", msg["error"])),
                  file=sys.stderr)
            return 1
    print(json.dumps(msg.get("return")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
