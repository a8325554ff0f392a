#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A blk controller whose cpumask has several cores runs one queue thread per core
and spreads its queues over them round-robin; data stays correct (--verify) with
4 queues in poll and interrupt-driven clients, and a single-core controller keeps
everything on its own thread. Needs 2 CPUs."""

import os
import time

from vhostlib import Daemon, check, malloc, need_perf, perf, skip, wait_no_sessions


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
        check(where.get("wide.q0") == 0 and where.get("wide.q1") == 1,
              "queue threads of wide on cores 0 and 1: %r" % where)
        check(where.get("narrow") == 1 and not any(n.startswith("narrow.q") for n in where),
              "narrow has only its controller thread on core 1: %r" % where)
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
        rc, out, err = perf(os.path.join(d.tmpdir, "narrow"), "--verify", "--queues", 2)
        check(rc == 0, "narrow: %s" % err)
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
