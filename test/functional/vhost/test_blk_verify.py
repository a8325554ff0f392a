#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""vhost-blk data path: vhost-perf --verify (every written block tagged, every read
checked) against malloc, split and packed rings, 1 and 4 queues, polling and
interrupt-driven clients, large I/O; then a null bdev and, when built, aio and
uring on a file. The session must show up in vhost_get_controllers meanwhile."""

import os
import subprocess
import time

from vhostlib import Daemon, check, malloc, need_perf, perf, perf_cmd


def run_verify(sock, label, *args, size=4096, qd=16):
    rc, out, err = perf(sock, "--verify", *args, size=size, qd=qd)
    check(rc == 0 and out is not None, "%s: vhost-perf exit %d: %s" % (label, rc, err.strip()))
    tot = out["total"]["all"]
    check(tot["ios"] > 0, "%s: no I/O done" % label)
    check(tot["errors"] == 0 and tot["mismatches"] == 0,
          "%s: errors %d mismatches %d" % (label, tot["errors"], tot["mismatches"]))
    print("ok: %-32s %8d IOPS" % (label, tot["iops"]))


def main():
    need_perf()
    with Daemon(cpumask="0x1") as d:
        malloc(d, "Malloc0", 64)
        check(d.rpc("vhost_create_blk_controller", {"ctrlr": "split", "dev_name": "Malloc0"}),
              "create split")
        check(d.rpc("vhost_create_blk_controller", {"ctrlr": "packed", "dev_name": "Malloc0",
                                                    "packed_ring": True}), "create packed")
        split = os.path.join(d.tmpdir, "split")
        packed = os.path.join(d.tmpdir, "packed")
        run_verify(split, "split 1q poll")
        run_verify(split, "split 4q wait", "--queues", 4, "--wait")
        run_verify(split, "split 1q 128k", size=131072, qd=4)
        run_verify(split, "split 2q 512b", "--queues", 2, size=512)
        run_verify(packed, "packed 1q poll", "--packed")
        run_verify(packed, "packed 4q wait", "--packed", "--queues", 4, "--wait")
        run_verify(packed, "packed 1q 64k qsize 64", "--packed", "--queue-size", 64, size=65536)

        # A session is listed while a client is connected, and gone afterwards.
        p = subprocess.Popen(perf_cmd(split, "--wait", seconds=3), stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        seen = None
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and seen is None:
            c = d.rpc("vhost_get_controllers", {"name": "split"})[0]
            if c["sessions"] and c["sessions"][0]["started"]:
                seen = c["sessions"][0]
            time.sleep(0.05)
        p.wait(timeout=30)
        check(seen is not None, "no started session listed while vhost-perf ran")
        check(seen["name"].startswith("splits") and seen["max_queues"] >= 1,
              "session fields: %r" % seen)
        check(set(seen) == {"vid", "id", "name", "started", "max_queues", "inflight_task_cnt"},
              "session keys: %r" % sorted(seen))
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and d.rpc("vhost_get_controllers",
                                                     {"name": "split"})[0]["sessions"]:
            time.sleep(0.05)
        check(d.rpc("vhost_get_controllers", {"name": "split"})[0]["sessions"] == [],
              "session still listed after disconnect")

        # null bdev: reads return zeroes, so no --verify; no errors.
        d.rpc("bdev_null_create", {"name": "Null0", "num_blocks": 262144, "block_size": 512})
        d.rpc("vhost_create_blk_controller", {"ctrlr": "null", "dev_name": "Null0"})
        rc, out, err = perf(os.path.join(d.tmpdir, "null"), "--queues", 2)
        check(rc == 0 and out["total"]["all"]["errors"] == 0, "null: %d %s" % (rc, err))
        print("ok: null bdev")

        methods = d.rpc("rpc_get_methods")
        for backend in ("aio", "uring"):
            if "bdev_%s_create" % backend not in methods:
                print("skip: %s backend not built" % backend)
                continue
            path = os.path.join(d.tmpdir, backend + ".img")
            with open(path, "wb") as f:
                f.truncate(64 << 20)
            try:
                d.rpc("bdev_%s_create" % backend, {"name": backend.capitalize() + "0",
                                                   "filename": path, "block_size": 512})
            except Exception as e:  # noqa: BLE001 - e.g. io_uring not permitted here
                print("skip: bdev_%s_create failed: %s" % (backend, e))
                continue
            d.rpc("vhost_create_blk_controller", {"ctrlr": backend,
                                                  "dev_name": backend.capitalize() + "0"})
            sock = os.path.join(d.tmpdir, backend)
            run_verify(sock, backend + " 1q")
            run_verify(sock, backend + " 4q wait", "--queues", 4, "--wait")
        check(d.alive(), "daemon alive")
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL:", e)
        raise SystemExit(1)
