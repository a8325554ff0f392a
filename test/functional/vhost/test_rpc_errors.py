#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""vhost RPC error paths, SPDK's codes and messages: bad/missing params, names that
would escape or overflow the socket path, cpumasks, transports, unknown bdevs and
controllers, duplicates, coalescing limits; the relaxed create decoder; the exact
vhost_get_controllers shape; socket files created and removed."""

import os
import stat
import tempfile

from vhostlib import Daemon, check, malloc, rpc_error

INVALID = -32602


def expect(d, method, params, code, text):
    c, m = rpc_error(d, method, params)
    check(c == code and text in m, "%s %r: got (%s, %r), want (%s, ~%r)" %
          (method, params, c, m, code, text))
    print("ok: %s %s -> %d %s" % (method, params, c, m))


def main():
    with Daemon(cpumask="0x1") as d:
        malloc(d, "Malloc0", 8)
        create = "vhost_create_blk_controller"
        expect(d, create, None, INVALID, "ctrlr")
        expect(d, create, {"ctrlr": "a"}, INVALID, "dev_name")
        expect(d, create, {"ctrlr": 5, "dev_name": "Malloc0"}, INVALID, "ctrlr")
        expect(d, create, {"ctrlr": "a", "dev_name": "Malloc0", "readonly": "yes"}, INVALID,
               "readonly")
        for bad in ["", ".", "..", "a/b", "../x", "a b", "x" * 65, "naïve", "a\nb"]:
            expect(d, create, {"ctrlr": bad, "dev_name": "Malloc0"}, INVALID, "Invalid argument")
        expect(d, create, {"ctrlr": "c1", "dev_name": "Nope"}, INVALID, "No such device")
        expect(d, create, {"ctrlr": "c1", "dev_name": "Malloc0", "cpumask": "0x2"}, INVALID,
               "Invalid argument")
        expect(d, create, {"ctrlr": "c1", "dev_name": "Malloc0", "cpumask": "zz"}, INVALID,
               "Invalid argument")
        expect(d, create, {"ctrlr": "c1", "dev_name": "Malloc0", "transport": "vfio_user"},
               INVALID, "Invalid argument")
        check(not os.path.exists(os.path.join(d.tmpdir, "c1")), "no socket after failures")

        # Relaxed decoder: unknown keys are ignored; transport is case-insensitive.
        check(d.rpc(create, {"ctrlr": "c1", "dev_name": "Malloc0", "cpumask": "0x1",
                             "transport": "VHOST_USER_BLK", "whatever": 1}) is True, "create c1")
        sock = os.path.join(d.tmpdir, "c1")
        check(stat.S_ISSOCK(os.stat(sock).st_mode), "c1 socket exists")
        expect(d, create, {"ctrlr": "c1", "dev_name": "Malloc0"}, INVALID, "File exists")
        # A non-socket file in the way is not removed.
        with open(os.path.join(d.tmpdir, "plain"), "w") as f:
            f.write("x")
        expect(d, create, {"ctrlr": "plain", "dev_name": "Malloc0"}, INVALID, "File exists")
        check(open(os.path.join(d.tmpdir, "plain")).read() == "x", "plain file untouched")

        d.rpc(create, {"ctrlr": "ro", "dev_name": "Malloc0", "readonly": True})
        got = d.rpc("vhost_get_controllers")
        check([c["ctrlr"] for c in got] == ["c1", "ro"], "sorted list: %r" % got)
        c1 = got[0]
        check(list(c1) == ["ctrlr", "cpumask", "delay_base_us", "iops_threshold", "socket",
                           "sessions", "backend_specific"], "key order %r" % list(c1))
        check(c1["cpumask"] == "0x1" and c1["delay_base_us"] == 0 and
              c1["iops_threshold"] == 60000 and c1["socket"] == sock and c1["sessions"] == [],
              "c1 fields %r" % c1)
        check(c1["backend_specific"] == {"block": {"readonly": False, "bdev": "Malloc0",
                                                   "transport": "vhost_user_blk"}},
              "backend_specific %r" % c1["backend_specific"])
        check(got[1]["backend_specific"]["block"]["readonly"] is True, "ro readonly")

        c, m = rpc_error(d, "vhost_get_controllers", {"name": "nope"})
        check(c == -32603 and "No such device" in m, "get unknown: %s %s" % (c, m))
        c, m = rpc_error(d, "vhost_get_controllers", {"bogus": 1})
        check(c == -32603, "get bad key: %s %s" % (c, m))

        coal = "vhost_controller_set_coalescing"
        expect(d, coal, {"ctrlr": "nope", "delay_base_us": 1, "iops_threshold": 1000}, INVALID,
               "No such device")
        expect(d, coal, {"ctrlr": "c1", "delay_base_us": 1, "iops_threshold": 99}, INVALID,
               "Invalid argument")
        expect(d, coal, {"ctrlr": "c1", "delay_base_us": 1}, INVALID, "iops_threshold")
        expect(d, coal, {"ctrlr": "c1", "delay_base_us": -1, "iops_threshold": 100}, INVALID,
               "delay_base_us")
        check(d.rpc(coal, {"ctrlr": "c1", "delay_base_us": 50, "iops_threshold": 100}) is True,
              "coalescing set")
        c1 = d.rpc("vhost_get_controllers", {"name": "c1"})[0]
        check(c1["delay_base_us"] == 50 and c1["iops_threshold"] == 100, "coalescing shown")

        delete = "vhost_delete_controller"
        expect(d, delete, {"ctrlr": "nope"}, INVALID, "No such device")
        expect(d, delete, {}, INVALID, "ctrlr")
        expect(d, delete, {"ctrlr": "c1", "extra": 1}, INVALID, "extra")
        check(d.rpc(delete, {"ctrlr": "c1"}) is True, "delete c1")
        check(not os.path.exists(sock), "socket removed by delete")
        expect(d, delete, {"ctrlr": "c1"}, INVALID, "No such device")
        check(d.rpc(create, {"ctrlr": "c1", "dev_name": "Malloc0"}) is True, "re-create c1")
        check(d.rpc(delete, {"ctrlr": "c1", "force": True}) is True, "force delete idle")
        check(d.alive(), "daemon alive")

    # A socket directory so deep that <dir>/<64-char name> exceeds sun_path.
    base = tempfile.mkdtemp(prefix="vhd-long-")
    deep = os.path.join(base, "d" * (100 - len(base)))
    os.makedirs(deep)
    with Daemon(cpumask="0x1", args=["-S", deep]) as d:
        malloc(d, "Malloc0", 8)
        expect(d, "vhost_create_blk_controller", {"ctrlr": "x" * 10, "dev_name": "Malloc0"},
               INVALID, "too long")
        check(d.rpc("vhost_create_blk_controller", {"ctrlr": "x", "dev_name": "Malloc0"}),
              "short name fits")
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print("FAIL:", e)
        raise SystemExit(1)
