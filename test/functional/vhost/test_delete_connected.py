#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Deleting a controller while a vhost-user client is connected (SPDK #3390/#3468):
without force the RPC fails at once with EBUSY and nothing changes; with force the
session is stopped (in-flight I/O drained), the client disconnected, the socket
removed, and the reply comes promptly without blocking the reactor (other RPCs
and other controllers keep being served meanwhile). The name is reusable after."""

import os
import subprocess
import time

from vhostlib import Daemon, check, malloc, need_perf, perf, perf_cmd, rpc_error


def wait_session(d, name, timeout=5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = d.rpc("vhost_get_controllers", {"name": name})[0]["sessions"]
        if s and s[0]["started"]:
            return s[0]
        time.sleep(0.05)
    return None


def main():
    need_perf()
    for mode in (None, "poll"):
        with Daemon(cpumask="0x1", mode=mode) as d:
            malloc(d, "Malloc0", 32)
            malloc(d, "Malloc1", 32)  # "other" must not see busy's writes under --verify
            d.rpc("vhost_create_blk_controller", {"ctrlr": "busy", "dev_name": "Malloc0"})
            d.rpc("vhost_create_blk_controller", {"ctrlr": "other", "dev_name": "Malloc1"})
            busy = os.path.join(d.tmpdir, "busy")
            client = subprocess.Popen(perf_cmd(busy, "--queues", 2, "--wait", seconds=30),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                check(wait_session(d, "busy") is not None, "session started")
                t0 = time.monotonic()
                code, msg = rpc_error(d, "vhost_delete_controller", {"ctrlr": "busy"})
                took = time.monotonic() - t0
                check(code == -32602 and "busy" in msg.lower(), "EBUSY: %s %s" % (code, msg))
                check(took < 2.0, "EBUSY answered in %.2fs" % took)
                check(client.poll() is None, "client still running after EBUSY")
                check(os.path.exists(busy), "socket kept after EBUSY")
                print("ok: [%s] EBUSY in %.3fs: %s" % (mode or "adaptive", took, msg))

                # Other controllers are served while busy is force-deleted.
                rc, out, err = perf(os.path.join(d.tmpdir, "other"), "--verify")
                check(rc == 0, "other controller works: %s" % err)

                t0 = time.monotonic()
                check(d.rpc("vhost_delete_controller", {"ctrlr": "busy", "force": True},
                            timeout=30) is True, "force delete")
                took = time.monotonic() - t0
                check(took < 10.0, "force delete took %.2fs" % took)
                print("ok: [%s] force delete in %.3fs" % (mode or "adaptive", took))
                check(not os.path.exists(busy), "socket removed")
                try:
                    client.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    raise AssertionError("client not disconnected by force delete")
                print("ok: client exited %d after force delete" % client.returncode)
            finally:
                if client.poll() is None:
                    client.kill()
                    client.wait()
            names = [c["ctrlr"] for c in d.rpc("vhost_get_controllers")]
            check(names == ["other"], "controllers after delete: %r" % names)
            d.rpc("vhost_create_blk_controller", {"ctrlr": "busy", "dev_name": "Malloc0"})
            rc, out, err = perf(busy, "--verify")
            check(rc == 0, "re-created controller serves I/O: %s" % err)
            check(d.alive(), "daemon alive")
            # Shutdown with a connected client deletes controllers cleanly.
            client = subprocess.Popen(perf_cmd(busy, "--wait", seconds=30),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            check(wait_session(d, "busy") is not None, "session started (shutdown case)")
            rc = d.stop(timeout=15)
            check(rc == 0, "vhostd exit code %s on SIGTERM with a client" % rc)
            client.wait(timeout=20)
            print("ok: [%s] shutdown with a connected client: exit 0 in %.2fs" %
                  (mode or "adaptive", d.stop_seconds))
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL:", e)
        raise SystemExit(1)
