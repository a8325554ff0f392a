#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A blk controller whose cpumask has several cores gets a queue thread on each core
besides its controller thread's and spreads its queues over them round-robin
(queue i on thread i % cores); data stays correct (--verify) with 4 queues in poll
and interrupt-driven clients and with packed rings; both threads do I/O; a bdev
hot-removed under a multi-core session drains and the controller stays deletable;
a single-core controller keeps everything on its own thread. Needs 2 CPUs."""

import os
import time

import subprocess

from vhostlib import (Daemon, check, malloc, need_perf, perf, perf_cmd, skip,
                      wait_no_sessions)


def perf_bg(sock, *args, seconds=1):
    return subprocess.Popen(perf_cmd(sock, *args, seconds=seconds), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def main():
    need_perf()
    if os.cpu_count() < 2:
        skip("needs 2 CPUs")
    with Daemon(cpumask="0x3") as d:
        malloc(d, "Malloc0", 32)
        malloc(d, "Malloc1", 32)
        d.rpc("vhost_create_blk_controller", {"ctrlr": "wide", "dev_name": "Malloc0"})
        d.rpc("vhost_create_blk_controller", {"ctrlr": "narrow", "dev_name": "Malloc1",
                                              "cpumask": "0x2"})
        reactors = d.rpc("framework_get_reactors")["reactors"]
        where = {t["name"]: r["lcore"] for r in reactors for t in r["lw_threads"]}
        wide = {n: c for n, c in where.items() if n == "wide" or n.startswith("wide.q")}
        check(len(wide) == 2 and sorted(wide.values()) == [0, 1],
              "wide: controller thread + one queue thread, on cores 0 and 1: %r" % where)
        qname = [n for n in wide if n != "wide"][0]
        check(qname == "wide.q%d" % wide[qname], "queue thread named after its core: %r" % wide)
        check(where.get("narrow") == 1 and not any(n.startswith("narrow.q") for n in where),
              "narrow has only its controller thread on core 1: %r" % where)
        def busy(name):
            return [t["busy"] for t in d.rpc("thread_get_stats")["threads"]
                    if t["name"] == name][0]

        qbusy = busy(qname)
        for args in (["--queues", 4], ["--queues", 4, "--wait"], ["--queues", 3, "--packed"]):
            if "--packed" in args:
                check(wait_no_sessions(d, "wide"), "previous client gone")
                d.rpc("vhost_delete_controller", {"ctrlr": "wide"})
                d.rpc("vhost_create_blk_controller", {"ctrlr": "wide", "dev_name": "Malloc0",
                                                      "packed_ring": True})
            rc, out, err = perf(os.path.join(d.tmpdir, "wide"), "--verify", *args)
            check(rc == 0 and out["total"]["all"]["mismatches"] == 0,
                  "wide %r: rc %d %s" % (args, rc, err))
            print("ok: wide %r %d IOPS" % (args, out["total"]["all"]["iops"]))
            if qbusy is not None:
                check(busy(qname) > qbusy, "queue thread %s did no work for wide" % qname)
                qbusy = None
        rc, out, err = perf(os.path.join(d.tmpdir, "narrow"), "--verify", "--queues", 2)
        check(rc == 0, "narrow: %s" % err)

        # Hot-remove under a 4-queue session spread over both cores: requests fail
        # cleanly, every thread drops its channel, the bdev goes, the daemon stays.
        malloc(d, "Malloc2", 32)
        d.rpc("vhost_create_blk_controller", {"ctrlr": "gone", "dev_name": "Malloc2"})
        p = perf_bg(os.path.join(d.tmpdir, "gone"), "--queues", 4, seconds=3)
        time.sleep(1)
        d.rpc("bdev_malloc_delete", {"name": "Malloc2"})
        p.wait(timeout=60)
        deadline = time.monotonic() + 10
        while any(b["name"] == "Malloc2" for b in d.rpc("bdev_get_bdevs")):
            check(time.monotonic() < deadline, "Malloc2 still listed 10 s after its delete")
            time.sleep(0.1)
        check(wait_no_sessions(d, "gone"), "client of gone disconnected")
        d.rpc("vhost_delete_controller", {"ctrlr": "gone"})
        print("ok: hot-remove under a spread session")
        check(wait_no_sessions(d, "wide"), "previous client gone")
        d.rpc("vhost_delete_controller", {"ctrlr": "wide"})
        deadline = time.monotonic() + 3
        while True:
            where = {t["name"] for r in d.rpc("framework_get_reactors")["reactors"]
                     for t in r["lw_threads"]}
            if not any(n.startswith("wide") for n in where) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        check(not any(n.startswith("wide") for n in where), "wide's threads exited: %r" % where)
        check(d.alive(), "daemon alive")
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL:", e)
        raise SystemExit(1)
