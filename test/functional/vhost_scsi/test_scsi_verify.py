#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""vhost-perf -t scsi --verify through the real daemon: malloc, null (reads only) and aio
bdevs, split and packed rings, 1 and 2 request queues, 4 KiB and 64 KiB I/O, targets 0
and 255, a LUN other than 0; and verified I/O on one target undisturbed while another
target of the same controller is hot-removed and re-added under it."""

import json
import os
import subprocess
import tempfile
import time

from scsilib import Daemon, check, malloc, need_perf, perf, perf_cmd, run


def main():
    need_perf()
    with Daemon(cpumask="0x1") as d, tempfile.TemporaryDirectory() as tmp:
        add = "vhost_scsi_controller_add_target"
        malloc(d, "M0", 32)
        malloc(d, "M1", 32)
        d.rpc("bdev_null_create", {"name": "N0", "num_blocks": 65536, "block_size": 512})
        img = os.path.join(tmp, "a.img")
        with open(img, "wb") as f:
            f.truncate(32 << 20)
        d.rpc("bdev_aio_create", {"name": "A0", "filename": img, "block_size": 512})
        d.rpc("vhost_create_scsi_controller", {"ctrlr": "sc"})
        d.rpc(add, {"ctrlr": "sc", "scsi_target_num": 0, "bdev_name": "M0"})
        d.rpc(add, {"ctrlr": "sc", "scsi_target_num": 255, "bdev_name": "A0"})
        d.rpc(add, {"ctrlr": "sc", "scsi_target_num": 7, "bdev_name": "N0"})
        d.rpc("vhost_scsi_controller_add_lun", {"ctrlr": "sc", "scsi_target_num": 0,
                                                "bdev_name": "M1", "lun": 5})
        sock = os.path.join(d.tmpdir, "sc")
        cases = [
            (["--target", "0"], 4096, "randrw"),
            (["--target", "0", "--packed"], 65536, "randrw"),
            (["--target", "0", "--queues", "2"], 4096, "randrw"),
            (["--target", "255"], 4096, "randrw"),
            (["--target", "255", "--queues", "2", "--packed"], 65536, "randrw"),
            (["--target", "0", "--lun", "5"], 8192, "randrw"),
        ]
        for args, size, wl in cases:
            rc, out, err = perf(sock, "-t", "scsi", "--verify", *args, size=size, workload=wl)
            check(rc == 0 and out is not None and out["total"]["all"]["errors"] == 0 and
                  out["total"]["all"]["mismatches"] == 0 and out["total"]["all"]["ios"] > 0,
                  "verify %r size %d: rc %d %s" % (args, size, rc, err))
            print("ok: verify %s %d B: %d ios" % (" ".join(args), size,
                                                  out["total"]["all"]["ios"]))
        rc, out, err = perf(sock, "-t", "scsi", "--target", "7", workload="randread")
        check(rc == 0 and out["total"]["all"]["errors"] == 0, "null target reads: %s" % err)

        # Verified I/O on target 0 while target 255 goes away and comes back.
        p = subprocess.Popen(perf_cmd(sock, "-t", "scsi", "--target", "0", "--verify",
                                      seconds=4, qd=16), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        time.sleep(1.0)
        for _ in range(5):
            check(d.rpc("vhost_scsi_controller_remove_target",
                        {"ctrlr": "sc", "scsi_target_num": 255}) is True, "remove 255")
            check(d.rpc(add, {"ctrlr": "sc", "scsi_target_num": 255, "bdev_name": "A0"}) == 255,
                  "re-add 255")
        out, err = p.communicate(timeout=60)
        res = json.loads(out) if out.strip().startswith("{") else None
        check(p.returncode == 0 and res is not None and res["total"]["all"]["errors"] == 0 and
              res["total"]["all"]["mismatches"] == 0 and res["total"]["all"]["ios"] > 0,
              "target 0 verify during hot-remove: %s %s" % (out[-300:], err))
        print("ok: target 0 verified while target 255 was removed and re-added 5 times")
        check(d.alive(), "daemon alive")


if __name__ == "__main__":
    run(main)
