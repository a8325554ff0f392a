#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A hostile frontend replaces or corrupts the inflight region (GET_INFLIGHT_FD /
SET_INFLIGHT_FD, INFLIGHT_SHMFD) while queues run: vhostd survives, refuses what
it cannot use and loses no request.

vhostd writes each queue's part of the region through a pointer taken at queue
start; rte_vhost unmaps the old region when it handles either message. So
vhost_pre_msg stops a running session first (draining every request in
flight), refuses a SET_INFLIGHT_FD whose mmap_size cannot hold num_queues parts
of queue_size entries, and the frontend restarts a queue with SET_VRING_KICK.
inflight-replace (the C client beside this file) is that frontend:

  bad-set      too-small regions, queue_size 0 / 32769 / 65535 (num_queues 0
               separately): each refused (non-zero REPLY_ACK) or the connection
               closed; a refused one leaves the queue serving on the same
               connection.
  get-running  8 patterned writes held 100 ms by a delay bdev, then GET: all 8
  set-running  complete with status OK by the reply; SET (QEMU's order) and
               SET_VRING_KICK restart the queue, which reads them back; a new
               connection reads back everything written.
  kick-*       a region replaced in a way rte_vhost handles badly (GET without
               SET, SET at a bad mmap_offset, a memfd shorter than mmap_size, a
               SET for fewer queues than run), then SET_VRING_KICK and writes
               on every restarted queue. Each runs on a daemon of its own, so
               one crash does not hide the others.

After each case the daemon must be running, answer RPCs and serve a new
connection (vhost-perf --verify), and when every connection is gone it must
hold no more file descriptors than before: a refused message's memfd must be
closed. Split and packed rings (packed get-running is checked without the
restart: vhostd restarts a packed queue at the position its inflight region
holds, and the region GET returns is a fresh one, at position 0)."""

import os
import subprocess
import time

from vhostlib import (BUILD, TOP, VHOST_PERF, Daemon, check, need_perf, skip, wait_no_sessions)
from vhostd import TIMEOUT_SCALE, run_test

IR = (os.path.join(TOP, BUILD, "test", "functional", "vhost", "inflight-replace")
      if not os.path.isabs(BUILD) else
      os.path.join(BUILD, "test", "functional", "vhost", "inflight-replace"))
# Delay bdev latency: requests stay in flight this long (us).
DELAY_US = 100000
WAIT_MS = int(3000 * TIMEOUT_SCALE)


def setup(d):
    """fast/fast-packed on malloc; delay/delay-packed on a 100 ms delay bdev."""
    for name in ("M0", "M1"):
        d.rpc("bdev_malloc_create", {"name": name, "num_blocks": 32768, "block_size": 512})
    d.rpc("bdev_delay_create", {"base_bdev_name": "M1", "name": "D0",
                                "avg_read_latency": DELAY_US, "p99_read_latency": DELAY_US,
                                "avg_write_latency": DELAY_US, "p99_write_latency": DELAY_US})
    for ctrlr, bdev in (("fast", "M0"), ("delay", "D0")):
        d.rpc("vhost_create_blk_controller", {"ctrlr": ctrlr, "dev_name": bdev})
        d.rpc("vhost_create_blk_controller", {"ctrlr": ctrlr + "-packed", "dev_name": bdev,
                                              "packed_ring": True})


def client(d, ctrlr, case, *args):
    """Run inflight-replace; returns (exit code, output)."""
    cmd = [IR, os.path.join(d.tmpdir, ctrlr), case, "--wait-ms", str(WAIT_MS)] + list(args)
    if ctrlr.endswith("-packed"):
        cmd.append("--packed")
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60 * TIMEOUT_SCALE)
    except subprocess.TimeoutExpired as e:
        return -1, "hung: %s" % (e.stdout or "")
    out = (p.stdout + p.stderr).strip()
    if p.returncode == 77:
        skip(out.splitlines()[-1] if out else "inflight-replace skipped")
    return p.returncode, out


def fresh_verify(d, ctrlr):
    """A new connection writes, reads and checks a small region."""
    p = subprocess.run([VHOST_PERF, "-s", os.path.join(d.tmpdir, ctrlr), "-w", "randrw",
                        "-q", "4", "-o", "4096", "-T", "1", "--verify", "--size", "262144",
                        "--timeout-ms", str(WAIT_MS)] +
                       (["--packed"] if ctrlr.endswith("-packed") else []),
                       capture_output=True, text=True, timeout=60 * TIMEOUT_SCALE)
    return p.returncode, (p.stdout + p.stderr).strip()


def fds(d):
    return len(os.listdir("/proc/%d/fd" % d.pid))


def settled_fds(d, ctrlrs, baseline=None):
    """Descriptor count once every session is gone (teardown is asynchronous)."""
    for c in ctrlrs:
        wait_no_sessions(d, c, timeout=5 * TIMEOUT_SCALE)
    deadline = time.monotonic() + 2 * TIMEOUT_SCALE
    n = fds(d)
    while baseline is not None and n > baseline and time.monotonic() < deadline:
        time.sleep(0.05)
        n = fds(d)
    return n


def serves(d, ctrlr, label, failures):
    """The daemon runs, answers RPCs and serves a new connection on ctrlr."""
    if d.proc.poll() is not None:
        failures.append("%s: vhostd died (exit %d)" % (label, d.proc.returncode))
        return False
    if not d.alive():
        failures.append("%s: vhostd does not answer RPCs" % label)
        return False
    names = [c["ctrlr"] for c in d.rpc("vhost_get_controllers", timeout=5 * TIMEOUT_SCALE)]
    if ctrlr not in names:
        failures.append("%s: controller %s gone: %r" % (label, ctrlr, names))
        return False
    rc, out = fresh_verify(d, ctrlr)
    if rc != 0:
        failures.append("%s: a new connection's vhost-perf --verify exit %d: %s" %
                        (label, rc, out[-400:]))
        return False
    return True


def run_case(d, ctrlr, case, failures, *args):
    label = "%s %s%s" % (ctrlr, case, "".join(" " + a for a in args))
    rc, out = client(d, ctrlr, case, *args)
    for line in out.splitlines():
        print("  %-28s %s" % (label, line))
    if rc != 0:
        failures.append("%s: inflight-replace exit %d: %s" % (
            label, rc, out.splitlines()[-1] if out else ""))
    ok = serves(d, ctrlr, label, failures)
    print("%s: %s" % ("ok" if rc == 0 and ok else "FAIL", label))
    return ok


def checked_daemon(failures, fn):
    """Run fn(d) on a fresh daemon with the controllers of setup(); sanitizer
    findings in its log become failures."""
    d = Daemon(cpumask="0x1")
    try:
        setup(d)
        fn(d)
    finally:
        try:
            d.cleanup()
        except AssertionError as e:
            failures.append(str(e)[:4000])


def main():
    if not os.access(IR, os.X_OK):
        skip("%s not built (make)" % IR)
    need_perf()
    failures = []
    ctrlrs = ("fast", "fast-packed", "delay", "delay-packed")

    def running(d):
        # Warm up: what a first connection allocates for good is in the baseline.
        for c in ctrlrs:
            rc, out = fresh_verify(d, c)
            check(rc == 0, "%s: vhost-perf --verify fails before any probe: %s" % (c, out))
        base = settled_fds(d, ctrlrs)
        if (run_case(d, "fast", "bad-set", failures) and
                run_case(d, "fast-packed", "bad-set", failures) and
                run_case(d, "delay", "get-running", failures) and
                run_case(d, "delay", "set-running", failures) and
                run_case(d, "delay-packed", "get-running", failures, "--no-restart") and
                run_case(d, "delay-packed", "set-running", failures)):
            n = settled_fds(d, ctrlrs, base)
            print("vhostd file descriptors: %d before the probes, %d after" % (base, n))
            if n > base:
                failures.append("vhostd holds %d more file descriptors after the probes "
                                "(memfds of refused SET_INFLIGHT_FD not closed?)" % (n - base))
            # After the count: rte_vhost (DPDK 22.11) drops this message before
            # vhostd's hook and does not close its fd.
            if run_case(d, "fast", "bad-set-no-queues", failures):
                run_case(d, "fast-packed", "bad-set-no-queues", failures)

    def kick(case):
        def fn(d):
            if run_case(d, "fast", case, failures):
                run_case(d, "fast-packed", case, failures)
        return fn

    checked_daemon(failures, running)
    for case in ("kick-get", "kick-bad-offset", "kick-short-file", "kick-fewer-queues"):
        checked_daemon(failures, kick(case))
    for f in failures:
        print("FAIL: " + f)
    check(not failures, "%d failures" % len(failures))


run_test(main)
