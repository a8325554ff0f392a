#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""save_config writes every controller (and non-default coalescing) as the RPCs that
recreate it; a daemon started with -c on that file has the same controllers, which
serve I/O. Hot-removing the bdev under a connected client fails its I/O, shows
"bdev": null, and leaves the controller deletable; a resize notifies without harm."""

import json
import os
import subprocess
import time

from vhostlib import Daemon, check, malloc, need_perf, perf, perf_cmd, wait_no_sessions


def strip(ctrls):
    for c in ctrls:
        c.pop("sessions")
        c.pop("socket")
    return ctrls


def main():
    need_perf()
    with Daemon(cpumask="0x1") as d:
        malloc(d, "Malloc0", 16)
        d.rpc("vhost_create_blk_controller", {"ctrlr": "a", "dev_name": "Malloc0"})
        d.rpc("vhost_create_blk_controller", {"ctrlr": "b", "dev_name": "Malloc0",
                                              "readonly": True, "packed_ring": True})
        d.rpc("vhost_controller_set_coalescing", {"ctrlr": "b", "delay_base_us": 20,
                                                  "iops_threshold": 1000})
        cfg = d.rpc("save_config")
        before = strip(d.rpc("vhost_get_controllers"))
    vhost = [s for s in cfg["subsystems"] if s["subsystem"] == "vhost"]
    check(len(vhost) == 1, "vhost subsystem in save_config")
    methods = [e["method"] for e in vhost[0]["config"]]
    check(methods == ["vhost_create_blk_controller", "vhost_create_blk_controller",
                      "vhost_controller_set_coalescing"], "methods %r" % methods)
    check(vhost[0]["config"][1]["params"] == {"ctrlr": "b", "dev_name": "Malloc0",
                                              "cpumask": "0x1", "readonly": True,
                                              "packed_ring": True},
          "params %r" % vhost[0]["config"][1]["params"])
    print("ok: save_config vhost section:", json.dumps(vhost[0]["config"]))

    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "vhd-vhost-cfg-%d.json" % os.getpid())
    with open(path, "w") as f:
        json.dump(cfg, f)
    try:
        with Daemon(cpumask="0x1", config=path) as d:
            after = strip(d.rpc("vhost_get_controllers"))
            check(after == before, "replayed controllers differ:\n%r\n%r" % (before, after))
            rc, out, err = perf(os.path.join(d.tmpdir, "a"), "--verify")
            check(rc == 0, "replayed controller a serves I/O: %s" % err)
            rc, out, err = perf(os.path.join(d.tmpdir, "b"), "--packed", workload="randread")
            check(rc == 0, "replayed packed read-only controller b reads: %s" % err)
            rc, out, err = perf(os.path.join(d.tmpdir, "b"), "--packed", workload="randwrite")
            # vhost-perf refuses to write to a device offering VIRTIO_BLK_F_RO (exit 3).
            check((out is not None and out["total"]["all"]["errors"] > 0) or
                  (rc == 3 and "read-only" in err), "writes to the read-only controller fail")
            print("ok: round trip; read-only rejects writes")

            # Hot-remove the bdev under a connected client.
            sock = os.path.join(d.tmpdir, "a")
            client = subprocess.Popen(perf_cmd(sock, "--wait", seconds=4), stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
            time.sleep(1.0)
            d.rpc("bdev_malloc_delete", {"name": "Malloc0"})
            out, err = client.communicate(timeout=30)
            res = json.loads(out) if out.strip().startswith("{") else None
            check(res is None or res["total"]["all"]["errors"] > 0 or client.returncode != 0,
                  "I/O after hot-remove must fail (rc %d)" % client.returncode)
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                a = d.rpc("vhost_get_controllers", {"name": "a"})[0]
                if a["backend_specific"]["block"]["bdev"] is None:
                    break
                time.sleep(0.05)
            check(a["backend_specific"]["block"]["bdev"] is None, "bdev null after removal")
            check(wait_no_sessions(d, "a") and wait_no_sessions(d, "b"), "clients gone")
            check(d.rpc("vhost_delete_controller", {"ctrlr": "a"}) is True, "delete a")
            check(d.rpc("vhost_delete_controller", {"ctrlr": "b", "force": True}) is True,
                  "delete b")
            print("ok: hot-remove fails I/O, controller deletable")

            # Resize notification (null bdev) does not disturb a connected client.
            d.rpc("bdev_null_create", {"name": "Null0", "num_blocks": 2048, "block_size": 512})
            d.rpc("vhost_create_blk_controller", {"ctrlr": "n", "dev_name": "Null0"})
            client = subprocess.Popen(perf_cmd(os.path.join(d.tmpdir, "n"), "--wait",
                                               seconds=2, workload="randread"),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            time.sleep(0.5)
            d.rpc("bdev_null_resize", {"name": "Null0", "new_size": 2})
            out, err = client.communicate(timeout=30)
            check(client.returncode == 0, "client after resize: %d %s" % (client.returncode, err))
            check(d.alive(), "daemon alive")
            print("ok: resize with a connected client")
    finally:
        os.unlink(path)
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL:", e)
        raise SystemExit(1)
