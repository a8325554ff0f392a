#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""SPDK vhost-scsi's failure modes, made impossible (issue 7, item 5):
(a) a target hot-removed while the initiator dies (remove + SIGKILL at once, with I/O in
    flight on a delay bdev), 100 times: the RPC always answers, nothing wedges, the
    controller can be deleted at the end;
(b) a target being removed never receives new I/O: while a slow command drains, a new
    command to that target gets BAD_TARGET at once, the old one completes normally and
    the RPC answers only after it;
(d) one bdev behind two controllers (multipath): the second, created delayed, exposes the
    LUN only once started and its session sees the first controller's writes.
(c) and (e) are in test_scsi_hotplug.py (bdev removed underneath, resize).
Also: deleting a controller whose guest is doing I/O: EBUSY without force; with force
the session drains, the targets are force-removed and the daemon serves on."""

import os
import signal
import subprocess
import threading
import time

from scsilib import (S_BAD_TARGET, S_OK, Client, Daemon, check, malloc, need_perf, perf_cmd,
                     run, wait_for)


def read10(lba, n):
    return bytes([0x28, 0]) + lba.to_bytes(4, "big") + bytes([0]) + n.to_bytes(2, "big") + \
        bytes([0])


def write10(lba, n):
    return bytes([0x2a, 0]) + lba.to_bytes(4, "big") + bytes([0]) + n.to_bytes(2, "big") + \
        bytes([0])


class AsyncRpc(threading.Thread):
    def __init__(self, d, method, params):
        super().__init__(daemon=True)
        self.d, self.method, self.params = d, method, params
        self.result = self.error = None
        self.done_at = None

    def run(self):
        try:
            self.result = self.d.rpc(self.method, self.params, timeout=30)
        except Exception as e:  # noqa: BLE001 - reported by the caller
            self.error = e
        self.done_at = time.monotonic()


def mode_a(d, iterations):
    add = "vhost_scsi_controller_add_target"
    sock = os.path.join(d.tmpdir, "sa")
    d.rpc("vhost_create_scsi_controller", {"ctrlr": "sa"})
    d.rpc(add, {"ctrlr": "sa", "scsi_target_num": 0, "bdev_name": "M0"})
    for i in range(iterations):
        check(d.rpc(add, {"ctrlr": "sa", "scsi_target_num": 1, "bdev_name": "D1"}) == 1,
              "iteration %d: add target 1" % i)
        p = subprocess.Popen(perf_cmd(sock, "-t", "scsi", "--target", "1", seconds=30, qd=8),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Let it connect and get I/O in flight (delay bdev: 2 ms per I/O) on most runs.
        time.sleep(0.05 + (i % 5) * 0.03)
        rm = AsyncRpc(d, "vhost_scsi_controller_remove_target",
                      {"ctrlr": "sa", "scsi_target_num": 1})
        rm.start()
        p.send_signal(signal.SIGKILL)
        p.wait()
        rm.join(30)
        check(not rm.is_alive(), "iteration %d: remove_target answered" % i)
        check(rm.error is None and rm.result is True,
              "iteration %d: remove_target result %r %r" % (i, rm.result, rm.error))
    wait_for(lambda: d.rpc("vhost_get_controllers", {"name": "sa"})[0]["sessions"] == [],
             "sessions to go away")
    info = d.rpc("vhost_get_controllers", {"name": "sa"})[0]
    check([t["scsi_dev_num"] for t in info["backend_specific"]["scsi"]] == [0],
          "only target 0 left %r" % info)
    check(d.rpc("vhost_delete_controller", {"ctrlr": "sa"}) is True, "delete after the storm")
    print("ok: (a) %d x remove_target + SIGKILL of the initiator" % iterations)


def mode_b(d):
    sock = os.path.join(d.tmpdir, "sb")
    malloc(d, "M2", 16)
    d.rpc("bdev_delay_create", {"base_bdev_name": "M2", "name": "Slow", "avg_read_latency": 2000000,
                                "p99_read_latency": 2000000, "avg_write_latency": 2000000,
                                "p99_write_latency": 2000000})
    d.rpc("vhost_create_scsi_controller", {"ctrlr": "sb"})
    d.rpc("vhost_scsi_controller_add_target", {"ctrlr": "sb", "scsi_target_num": 0,
                                               "bdev_name": "M0"})
    d.rpc("vhost_scsi_controller_add_target", {"ctrlr": "sb", "scsi_target_num": 1,
                                               "bdev_name": "Slow"})
    with Client(sock) as c:
        c.ready(0)
        c.ready(1)
        first = c.send(1, 0, read10(0, 8), 4096)
        time.sleep(0.1)
        t0 = time.monotonic()
        rm = AsyncRpc(d, "vhost_scsi_controller_remove_target",
                      {"ctrlr": "sb", "scsi_target_num": 1})
        rm.start()
        # The RPC has reached the controller thread once it logs the removal (a
        # fixed sleep was too short on a loaded machine).
        wait_for(lambda: "sb: removing target 1" in open(d.log_path).read(),
                 "the removal to start")
        check(rm.is_alive(), "remove_target waits for the slow command")
        second = c.send(1, 0, read10(8, 8), 4096)
        got = {}
        for _ in range(2):
            r = c.reap(10000)
            check(r is not None, "both commands answered")
            got[r.id] = (r, time.monotonic())
        r, t_second = got[second]
        check(r.response == S_BAD_TARGET,
              "new command to a target being removed: BAD_TARGET %r" % r)
        r, t_first = got[first]
        check(r.response == S_OK and r.status == 0,
              "the command in flight completes normally %r" % r)
        check(t_second <= t_first or t_second - t0 < 1.5,
              "BAD_TARGET came at once, not after the drain")
        rm.join(10)
        check(rm.result is True, "remove_target answered true %r" % rm.error)
        # The slow read was issued ~0.1 s before t0 and takes 2 s: an RPC answered before
        # ~1.9 s after t0 did not wait for the drain.
        check(rm.done_at - t0 >= 1.5, "the RPC answered after the drain (%.2f s)" %
              (rm.done_at - t0))
        r = c.cmd(0, 0, bytes(6))
        check(r.response == S_OK and r.status == 0, "target 0 undisturbed")
    d.rpc("vhost_delete_controller", {"ctrlr": "sb"})
    print("ok: (b) no new I/O to a target being removed; RPC after the drain")


def mode_d(d):
    add = "vhost_scsi_controller_add_target"
    d.rpc("vhost_create_scsi_controller", {"ctrlr": "p1"})
    d.rpc("vhost_create_scsi_controller", {"ctrlr": "p2", "delay": True})
    d.rpc(add, {"ctrlr": "p1", "scsi_target_num": 0, "bdev_name": "M0"})
    d.rpc(add, {"ctrlr": "p2", "scsi_target_num": 4, "bdev_name": "M0"})
    pat = bytes((i * 13 + 5) & 0xff for i in range(512))
    with Client(os.path.join(d.tmpdir, "p1")) as a:
        a.ready(0)
        r = a.cmd(0, 0, write10(100, 1), 0, pat)
        check(r.response == S_OK and r.status == 0, "write through p1 %r" % r)
        check(not os.path.exists(os.path.join(d.tmpdir, "p2")),
              "p2 not reachable before start")
        d.rpc("vhost_start_scsi_controller", {"ctrlr": "p2"})
        with Client(os.path.join(d.tmpdir, "p2")) as b:
            b.ready(4)
            r = b.cmd(4, 0, read10(100, 1), 512)
            check(r.status == 0 and r.data == pat[:64], "p2 sees p1's write %r" % r)
            r = a.cmd(0, 0, read10(100, 1), 512)
            check(r.status == 0 and r.data == pat[:64], "p1 still serves")
    d.rpc("vhost_delete_controller", {"ctrlr": "p1"})
    d.rpc("vhost_delete_controller", {"ctrlr": "p2"})
    print("ok: (d) one bdev on two controllers, the second exposed once started")


def mode_delete(d):
    add = "vhost_scsi_controller_add_target"
    sock = os.path.join(d.tmpdir, "sd")
    d.rpc("vhost_create_scsi_controller", {"ctrlr": "sd"})
    d.rpc(add, {"ctrlr": "sd", "scsi_target_num": 0, "bdev_name": "D1"})
    d.rpc(add, {"ctrlr": "sd", "scsi_target_num": 1, "bdev_name": "M0"})
    p = subprocess.Popen(perf_cmd(sock, "-t", "scsi", "--target", "0", seconds=20, qd=16),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: d.rpc("vhost_get_controllers", {"name": "sd"})[0]["sessions"],
                 "the client to connect")
        time.sleep(0.3)
        try:
            d.rpc("vhost_delete_controller", {"ctrlr": "sd"})
            check(False, "delete without force must fail while a guest is connected")
        except Exception as e:  # noqa: BLE001
            check("busy" in str(e), "EBUSY without force: %s" % e)
        check(d.rpc("vhost_delete_controller", {"ctrlr": "sd", "force": True}, timeout=30)
              is True, "forced delete with I/O in flight")
        check(p.wait(30) is not None, "client ended")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(not os.path.exists(sock), "socket removed")
    check(all(c["ctrlr"] != "sd" for c in d.rpc("vhost_get_controllers")), "sd gone")
    print("ok: forced delete of a controller under I/O")


def main():
    need_perf()
    iterations = int(os.environ.get("VHD_SCSI_STORM", "100"))
    with Daemon(cpumask="0x1") as d:
        malloc(d, "M0", 16)
        malloc(d, "M1", 16)
        d.rpc("bdev_delay_create", {"base_bdev_name": "M1", "name": "D1",
                                    "avg_read_latency": 2000, "p99_read_latency": 2000,
                                    "avg_write_latency": 2000, "p99_write_latency": 2000})
        mode_b(d)
        mode_d(d)
        mode_delete(d)
        mode_a(d, iterations)
        check(d.alive(), "daemon alive")


if __name__ == "__main__":
    run(main)
