#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""framework_get_reactors shows one reactor per core of -m, in SPDK's shape."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from vhostd import Daemon, check, run_test, skip  # noqa: E402


def main():
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        skip("needs 2 cpus, this process may use %s" % cpus)
    mask = (1 << cpus[0]) | (1 << cpus[1])
    for m, want in (("0x%x" % (1 << cpus[0]), [cpus[0]]), ("0x%x" % mask, cpus[:2]),
                    ("[%d,%d]" % (cpus[0], cpus[1]), cpus[:2])):
        with Daemon(cpumask=m) as d:
            r = d.rpc("framework_get_reactors")
            check(r["pid"] == d.pid, "pid %s != %s" % (r["pid"], d.pid))
            check(r["tick_rate"] > 0, "tick_rate")
            lcores = sorted(x["lcore"] for x in r["reactors"])
            check(lcores == want, "-m %s: reactors on %s, want %s" % (m, lcores, want))
            for x in r["reactors"]:
                for k in ("lcore", "tid", "busy", "idle", "in_interrupt", "irq", "sys", "usr",
                          "lw_threads"):
                    check(k in x, "reactor lacks %s" % k)
            names = [t["name"] for x in r["reactors"] for t in x["lw_threads"]]
            check("app_thread" in names, "app_thread not on any reactor: %s" % names)
            app = [t for x in r["reactors"] for t in x["lw_threads"] if t["name"] == "app_thread"]
            check(not app[0]["cpumask"].startswith("0x"), "thread cpumask has no 0x prefix")
            tids = set(x["tid"] for x in r["reactors"])
            check(len(tids) == len(want), "one OS thread per reactor: %s" % tids)


run_test(main)
