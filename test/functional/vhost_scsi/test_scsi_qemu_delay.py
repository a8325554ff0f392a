#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A delayed vhost-scsi controller with the real QEMU (7.2) as the client, no guest
needed: QEMU (-S, paused) cannot attach to a controller created with delay (its socket
does not exist: QEMU exits), and attaches after vhost_start_scsi_controller (the
vhost-user handshake with vhost-user-scsi-pci completes, QEMU keeps running and the
session is listed). QEMU 7.2 masks nothing we offer, so a feature mismatch would make
it drop the connection here."""

import os
import shutil
import subprocess
import time

from scsilib import Daemon, check, malloc, run, skip, wait_for


def qemu_cmd(sock):
    return ["qemu-system-x86_64", "-machine", "q35,accel=tcg", "-nodefaults", "-display", "none",
            "-S", "-m", "128M",
            "-object", "memory-backend-memfd,id=mem,size=128M,share=on",
            "-numa", "node,memdev=mem",
            "-chardev", "socket,id=c0,path=%s" % sock,
            "-device", "vhost-user-scsi-pci,chardev=c0,num_queues=2"]


def main():
    if shutil.which("qemu-system-x86_64") is None:
        skip("qemu-system-x86_64 not installed (package qemu-system-x86)")
    with Daemon(cpumask="0x1") as d:
        malloc(d, "M0", 16)
        d.rpc("vhost_create_scsi_controller", {"ctrlr": "sc", "delay": True})
        d.rpc("vhost_scsi_controller_add_target", {"ctrlr": "sc", "scsi_target_num": 0,
                                                   "bdev_name": "M0"})
        sock = os.path.join(d.tmpdir, "sc")
        cp = subprocess.run(qemu_cmd(sock), capture_output=True, text=True, timeout=60)
        check(cp.returncode != 0, "QEMU must not attach to a delayed controller")
        print("ok: QEMU before start: exit %d (%s)" % (cp.returncode,
                                                      cp.stderr.strip().splitlines()[-1:]))
        check(d.rpc("vhost_start_scsi_controller", {"ctrlr": "sc"}) is True, "start")
        q = subprocess.Popen(qemu_cmd(sock), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        try:
            wait_for(lambda: q.poll() is not None or
                     d.rpc("vhost_get_controllers", {"name": "sc"})[0]["sessions"],
                     "QEMU to connect", timeout=60)
            time.sleep(1.0)
            check(q.poll() is None, "QEMU keeps running after the handshake: %s" %
                  (q.stderr.read() if q.poll() is not None else ""))
            s = d.rpc("vhost_get_controllers", {"name": "sc"})[0]["sessions"]
            check(len(s) == 1, "one session %r" % s)
            print("ok: QEMU attached after start: %r" % s)
        finally:
            q.kill()
            q.wait()
        wait_for(lambda: d.rpc("vhost_get_controllers", {"name": "sc"})[0]["sessions"] == [],
                 "the session to go when QEMU is killed")
        check(d.rpc("vhost_delete_controller", {"ctrlr": "sc"}) is True, "delete")
        check(d.alive(), "daemon alive")


if __name__ == "__main__":
    run(main)
