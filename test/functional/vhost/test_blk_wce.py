#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""The guest's write cache switch (VIRTIO_BLK_F_CONFIG_WCE) on a real daemon. A blk
controller offers CONFIG_WCE when its bdev flushes; config `wce` starts as the bdev's
write cache; a 1-byte SET_CONFIG of `wce` (as QEMU forwards the guest's cache_type
write) switches the controller: in writethrough (0) every write and write-zeroes is
followed by a bdev flush before it completes, so the bdev's num_flush_ops rises by
exactly one per write, on both queue threads of a 2-core controller; in writeback (1)
it does not rise at all. The mode is per controller and outlives a connection.
SET_CONFIGs at another offset, of another size or with another value are nacked and
change nothing; a controller whose bdev cannot flush does not offer CONFIG_WCE and
nacks the switch. vhost_get_controllers keeps SPDK's shape (no write cache field)."""

import os
import subprocess

from vhostlib import BUILD, TOP, Daemon, check, malloc, skip

WCE = (os.path.join(TOP, BUILD, "test", "functional", "vhost", "blk-wce")
       if not os.path.isabs(BUILD) else
       os.path.join(BUILD, "test", "functional", "vhost", "blk-wce"))


def run(sock, *args):
    p = subprocess.run([WCE, sock, *[str(a) for a in args]], capture_output=True, text=True,
                       timeout=60)
    check(p.returncode == 0, "blk-wce %r: exit %d: %s %s" % (args, p.returncode,
                                                             p.stdout.strip(), p.stderr.strip()))
    words = p.stdout.split()
    return dict(zip(words[0::2], (int(w) for w in words[1::2])))


def iostat(d, name):
    st = d.rpc("bdev_get_iostat", {"name": name})["bdevs"][0]
    return st["num_flush_ops"], st["num_write_ops"] + st["num_write_zeroes_ops"]


def step(d, sock, label, bdev, *args, flushes_per_io):
    f0, w0 = iostat(d, bdev)
    out = run(sock, *args)
    f1, w1 = iostat(d, bdev)
    ios = out["writes"] + out["zeroes"]
    check(w1 - w0 == ios, "%s: %d writes counted, %d done" % (label, w1 - w0, ios))
    check(f1 - f0 == flushes_per_io * ios,
          "%s: %d flushes for %d writes, expected %d" % (label, f1 - f0, ios,
                                                         flushes_per_io * ios))
    print("ok: %-34s wce %d -> %d, %d writes, %d flushes" % (label, out["wce_before"],
                                                             out["wce_after"], ios, f1 - f0))
    return out


def main():
    if not os.access(WCE, os.X_OK):
        skip("%s not built (make)" % WCE)
    cores = "0x3" if (os.cpu_count() or 1) >= 2 else "0x1"
    with Daemon(cpumask=cores) as d:
        malloc(d, "Malloc0", 16)
        d.rpc("bdev_null_create", {"name": "Null0", "num_blocks": 32768, "block_size": 512})
        d.rpc("vhost_create_blk_controller", {"ctrlr": "wt", "dev_name": "Malloc0"})
        d.rpc("vhost_create_blk_controller", {"ctrlr": "nf", "dev_name": "Null0"})
        wt = os.path.join(d.tmpdir, "wt")
        nf = os.path.join(d.tmpdir, "nf")
        q = ["--queues", 2]

        # The bdev's write cache (malloc: on): writeback, no flushes.
        out = step(d, wt, "default writeback", "Malloc0", *q, "--writes", 32, "--zeroes", 8,
                   flushes_per_io=0)
        check(out["offered_wce"] == 1 and out["negotiated_wce"] == 1,
              "CONFIG_WCE offered and negotiated: %r" % out)
        check(out["wce_before"] == 1 and out["wce_after"] == 1, "wce starts at 1: %r" % out)

        # Writethrough: one flush per write, on both queues (both cores with 0x3).
        out = step(d, wt, "set writethrough", "Malloc0", *q, "--set", 0, "--writes", 32,
                   "--zeroes", 8, flushes_per_io=1)
        check(out["wce_before"] == 1 and out["wce_after"] == 0, "wce 1 -> 0: %r" % out)

        # The mode is the controller's: a new connection finds writethrough.
        out = step(d, wt, "next connection keeps it", "Malloc0", *q, "--writes", 10,
                   flushes_per_io=1)
        check(out["wce_before"] == 0, "mode kept across connections: %r" % out)

        # Hostile SET_CONFIGs are nacked and change nothing, in either mode.
        out = step(d, wt, "hostile (writethrough)", "Malloc0", "--hostile", "--writes", 4,
                   flushes_per_io=1)
        check(out["wce_after"] == 0, "still writethrough: %r" % out)

        # Back to writeback: no flushes again.
        out = step(d, wt, "set writeback", "Malloc0", *q, "--set", 1, "--writes", 32,
                   "--zeroes", 8, flushes_per_io=0)
        check(out["wce_before"] == 0 and out["wce_after"] == 1, "wce 0 -> 1: %r" % out)
        out = step(d, wt, "hostile (writeback)", "Malloc0", "--hostile", "--writes", 4,
                   flushes_per_io=0)
        check(out["wce_after"] == 1, "still writeback: %r" % out)

        # No flush support (null): no CONFIG_WCE, the switch is nacked, wce stays 0.
        out = run(nf, "--set", 1, "--refused", "--writes", 4)
        check(out["offered_wce"] == 0 and out["negotiated_wce"] == 0,
              "null bdev: CONFIG_WCE not offered: %r" % out)
        check(out["wce_before"] == 0 and out["wce_after"] == 0, "null: wce stays 0: %r" % out)
        print("ok: no flush support: not offered, switch nacked")

        block = d.rpc("vhost_get_controllers", {"name": "wt"})[0]["backend_specific"]["block"]
        check(sorted(block) == ["bdev", "readonly", "transport"],
              "SPDK's backend_specific shape: %r" % block)
        check(d.alive(), "vhostd died")


if __name__ == "__main__":
    main()
