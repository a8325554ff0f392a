#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Guest interrupts survive call-eventfd swaps under I/O (the cause of the
intermittent virtio-scsi probe hang in issue 7). QEMU replaces a queue's call
fd with SET_VRING_CALL on every MSI-X (un)mask and does not wait for the
backend; call-churn does the same once per request and fails if a completed
request was signalled on neither the old nor the new fd. Split and packed
rings, with and without EVENT_IDX, on a blk controller (the code path is the
vhost core's, shared by vhost-scsi)."""

import os
import subprocess

from vhostlib import BUILD, TOP, Daemon, check, skip

CHURN = (os.path.join(TOP, BUILD, "test", "functional", "vhost", "call-churn")
         if not os.path.isabs(BUILD) else
         os.path.join(BUILD, "test", "functional", "vhost", "call-churn"))


def churn(sock, label, *args):
    p = subprocess.run([CHURN, sock, "2", *args], capture_output=True, text=True, timeout=120)
    out = p.stdout.strip()
    check(p.returncode == 0, "%s: call-churn exit %d: %s %s" % (label, p.returncode, out,
                                                                 p.stderr.strip()))
    iterations = int(out.split()[1])
    check(iterations >= 20, "%s: only %d iterations in 2 s: %s" % (label, iterations, out))
    print("ok: %-28s %s" % (label, out))


def main():
    if not os.access(CHURN, os.X_OK):
        skip("%s not built (make)" % CHURN)
    with Daemon(cpumask="0x1") as d:
        d.rpc("bdev_null_create", {"name": "Null0", "num_blocks": 131072, "block_size": 512})
        d.rpc("vhost_create_blk_controller", {"ctrlr": "split", "dev_name": "Null0"})
        d.rpc("vhost_create_blk_controller", {"ctrlr": "packed", "dev_name": "Null0",
                                              "packed_ring": True})
        split = os.path.join(d.tmpdir, "split")
        packed = os.path.join(d.tmpdir, "packed")
        churn(split, "split event_idx")
        churn(split, "split no event_idx", "--no-event-idx")
        churn(packed, "packed event_idx", "--packed")
        churn(packed, "packed no event_idx", "--packed", "--no-event-idx")
        check(d.alive(), "vhostd died")


if __name__ == "__main__":
    main()
