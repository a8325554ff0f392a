#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""aio, uring, delay and error bdevs under an interrupt-mode reactor: vhost-perf --verify
through a vhost-blk controller completes (so eventfd wakeups and the delay timer work while
the reactor sleeps), iostat counts the I/O, and the idle daemon then uses ~no CPU."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vhost"))
from vhostlib import need_perf, perf  # noqa: E402
from bdevtest import Daemon, check, make_file, run_test  # noqa: E402


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def main():
    need_perf()
    with Daemon(mode="interrupt") as d:
        img = os.path.join(d.tmpdir, "disk.img")
        make_file(img, 32 << 20)
        d.rpc("bdev_aio_create", {"filename": img, "name": "A0", "block_size": 512})
        d.rpc("bdev_uring_create", {"filename": img, "name": "U0", "block_size": 512})
        d.rpc("bdev_malloc_create", {"name": "M0", "num_blocks": 65536, "block_size": 512})
        d.rpc("bdev_delay_create", {"base_bdev_name": "M0", "name": "D0",
                                    "avg_read_latency": 100, "p99_read_latency": 200,
                                    "avg_write_latency": 100, "p99_write_latency": 200})
        d.rpc("bdev_malloc_create", {"name": "M1", "num_blocks": 65536, "block_size": 512})
        d.rpc("bdev_error_create", {"base_name": "M1"})
        # One bdev at a time on the shared file: aio and uring must not interleave writes.
        for name in ("A0", "U0", "D0", "EE_M1"):
            ctrlr = "c_" + name
            d.rpc("vhost_create_blk_controller", {"ctrlr": ctrlr, "dev_name": name})
            rc, out, err = perf(os.path.join(d.tmpdir, ctrlr), "--verify", "--wait",
                                seconds=1, qd=8)
            check(rc == 0 and out is not None, "%s: vhost-perf %d: %s" % (name, rc, err))
            tot = out["total"]["all"]
            check(tot["ios"] > 0 and tot["errors"] == 0 and tot["mismatches"] == 0,
                  "%s: %r" % (name, tot))
            st = d.rpc("bdev_get_iostat", {"name": name})["bdevs"][0]
            check(st["num_read_ops"] > 0 and st["num_write_ops"] > 0, "%s iostat %r" % (name, st))
            if name == "D0":
                avg = st["read_latency_ticks"] / st["num_read_ops"] / st_tick_rate(d)
                check(avg >= 100e-6, "delay: mean read latency %.1f us" % (avg * 1e6))
            print("ok: %s %d IOPS in interrupt mode" % (name, tot["iops"]))
        # Idle: the reactor sleeps (no busy polling on aio/uring/delay channels).
        time.sleep(0.5)
        t0 = cpu_ticks(d.pid)
        time.sleep(2)
        used = cpu_ticks(d.pid) - t0
        hz = os.sysconf("SC_CLK_TCK")
        check(used <= hz * 2 // 10, "idle daemon used %d ticks in 2 s" % used)
        check(d.alive(), "daemon alive")


def st_tick_rate(d):
    return d.rpc("bdev_get_iostat")["tick_rate"]


run_test(main)
