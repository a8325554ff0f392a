#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""vhost-scsi RPCs: SPDK's names, params, results and errors (strict decoding, -1 picks
the first free slot, 256 targets then ENOSPC, EBUSY for an empty slot, a blk controller
given to vhost_start_scsi_controller is a clean -32602), the delayed start (listed with its
future socket, takes targets, no socket until started, idempotent start), several LUNs per
target, the exact vhost_get_controllers shape, delete with targets, and save_config that
replays into a new daemon in the right order."""

import json
import os

from scsilib import Client, Daemon, check, malloc, rpc_error, run, S_OK

INVALID = -32602


def err(d, method, params, code, text):
    c, m = rpc_error(d, method, params)
    check(c == code and text in m, "%s %r -> %r %r, expected %r %r" % (method, params, c, m,
                                                                         code, text))


def main():
    with Daemon(cpumask="0x1") as d:
        malloc(d, "M0", 16)
        malloc(d, "M1", 16)
        d.rpc("vhost_create_blk_controller", {"ctrlr": "blk0", "dev_name": "M0"})

        # create
        err(d, "vhost_create_scsi_controller", {"ctrlr": "x", "bogus": 1}, INVALID, "bogus")
        err(d, "vhost_create_scsi_controller", {}, INVALID, "ctrlr")
        err(d, "vhost_create_scsi_controller", {"ctrlr": "../x"}, INVALID, "Invalid argument")
        err(d, "vhost_create_scsi_controller", {"ctrlr": "y", "cpumask": "0x4"}, INVALID,
            "Invalid argument")
        err(d, "vhost_create_scsi_controller", {"ctrlr": "blk0"}, INVALID, "File exists")
        check(d.rpc("vhost_create_scsi_controller", {"ctrlr": "sc", "delay": True}) is True,
              "create delayed")
        sock = os.path.join(d.tmpdir, "sc")
        check(not os.path.exists(sock), "a delayed controller has no socket")
        info = d.rpc("vhost_get_controllers", {"name": "sc"})
        check(info == [{"ctrlr": "sc", "cpumask": "0x1", "delay_base_us": 0,
                        "iops_threshold": 60000, "socket": sock, "sessions": [],
                        "backend_specific": {"scsi": []}}], "delayed listing %r" % info)
        check(list(info[0].keys()) == ["ctrlr", "cpumask", "delay_base_us", "iops_threshold",
                                       "socket", "sessions", "backend_specific"],
              "field order %r" % list(info[0].keys()))

        # start
        err(d, "vhost_start_scsi_controller", {"ctrlr": "blk0"}, INVALID,
            "Invalid argument: blk0 is not a vhost-scsi controller")
        err(d, "vhost_start_scsi_controller", {"ctrlr": "nope"}, INVALID, "No such device")
        err(d, "vhost_start_scsi_controller", {"ctrlr": "sc", "x": 1}, INVALID, "x")

        # add_target
        add = "vhost_scsi_controller_add_target"
        check(d.rpc(add, {"ctrlr": "sc", "scsi_target_num": 0, "bdev_name": "M0"}) == 0, "t0")
        check(d.rpc(add, {"ctrlr": "sc", "scsi_target_num": -1, "bdev_name": "M1"}) == 1,
              "-1 picks slot 1")
        err(d, add, {"ctrlr": "sc", "scsi_target_num": 0, "bdev_name": "M1"}, INVALID,
            "File exists")
        err(d, add, {"ctrlr": "nope", "scsi_target_num": 0, "bdev_name": "M1"}, INVALID,
            "No such device")
        err(d, add, {"ctrlr": "blk0", "scsi_target_num": 0, "bdev_name": "M1"}, INVALID,
            "Invalid argument")
        err(d, add, {"ctrlr": "sc", "scsi_target_num": 256, "bdev_name": "M1"}, INVALID,
            "Invalid argument")
        err(d, add, {"ctrlr": "sc", "scsi_target_num": -2, "bdev_name": "M1"}, INVALID,
            "Invalid argument")
        err(d, add, {"ctrlr": "sc", "scsi_target_num": 2, "bdev_name": "nobdev"}, INVALID,
            "Invalid argument")
        err(d, add, {"ctrlr": "sc", "scsi_target_num": "2", "bdev_name": "M1"}, INVALID,
            "scsi_target_num")
        err(d, add, {"ctrlr": "sc", "scsi_target_num": 2, "bdev_name": "M1", "lun": 64},
            INVALID, "Invalid argument")
        check(d.rpc(add, {"ctrlr": "sc", "scsi_target_num": 9, "bdev_name": "M1", "lun": 2}) == 9,
              "target 9 with its bdev as LUN 2")

        # several LUNs per target
        addl = "vhost_scsi_controller_add_lun"
        check(d.rpc(addl, {"ctrlr": "sc", "scsi_target_num": 0, "bdev_name": "M1",
                           "lun": 3}) is True, "add LUN 3 to target 0")
        err(d, addl, {"ctrlr": "sc", "scsi_target_num": 0, "bdev_name": "M1", "lun": 3},
            INVALID, "File exists")
        err(d, addl, {"ctrlr": "sc", "scsi_target_num": 5, "bdev_name": "M1", "lun": 1},
            INVALID, "No such device")
        err(d, addl, {"ctrlr": "sc", "scsi_target_num": 0, "bdev_name": "M1"}, INVALID, "lun")
        t0 = d.rpc("vhost_get_controllers", {"name": "sc"})[0]["backend_specific"]["scsi"][0]
        check(t0 == {"scsi_dev_num": 0, "id": 0, "target_name": "Target 0",
                     "luns": [{"id": 0, "bdev_name": "M0"}, {"id": 3, "bdev_name": "M1"}]},
              "target 0 listing %r" % t0)

        # remove_target
        rm = "vhost_scsi_controller_remove_target"
        err(d, rm, {"ctrlr": "sc", "scsi_target_num": 7}, INVALID, "Device or resource busy")
        err(d, rm, {"ctrlr": "sc", "scsi_target_num": 256}, INVALID, "Invalid argument")
        err(d, rm, {"ctrlr": "sc", "scsi_target_num": -1}, INVALID, "scsi_target_num")
        err(d, rm, {"ctrlr": "blk0", "scsi_target_num": 0}, INVALID, "Invalid argument")
        err(d, rm, {"ctrlr": "nope", "scsi_target_num": 0}, INVALID, "No such device")
        check(d.rpc(rm, {"ctrlr": "sc", "scsi_target_num": 1}) is True, "remove target 1")
        nums = [t["scsi_dev_num"] for t in
                d.rpc("vhost_get_controllers", {"name": "sc"})[0]["backend_specific"]["scsi"]]
        check(nums == [0, 9], "targets after removal %r" % nums)

        # save_config: create(delay) + targets (+ LUNs), and no start while not started.
        cfg = d.rpc("save_config")
        vh = [e for s in cfg["subsystems"] if s["subsystem"] == "vhost" for e in s["config"]]
        sc = [(e["method"], e["params"]) for e in vh if e["params"]["ctrlr"] == "sc"]
        check(sc == [("vhost_create_scsi_controller", {"ctrlr": "sc", "cpumask": "0x1",
                                                        "delay": True}),
                     ("vhost_scsi_controller_add_target", {"ctrlr": "sc", "scsi_target_num": 0,
                                                           "bdev_name": "M0"}),
                     ("vhost_scsi_controller_add_lun", {"ctrlr": "sc", "scsi_target_num": 0,
                                                        "bdev_name": "M1", "lun": 3}),
                     ("vhost_scsi_controller_add_target", {"ctrlr": "sc", "scsi_target_num": 9,
                                                           "bdev_name": "M1", "lun": 2})],
              "save_config before start %r" % sc)

        # start: socket appears, idempotent; a client sees the targets.
        check(d.rpc("vhost_start_scsi_controller", {"ctrlr": "sc"}) is True, "start")
        check(os.path.exists(sock), "socket after start")
        check(d.rpc("vhost_start_scsi_controller", {"ctrlr": "sc"}) is True, "start again")
        with Client(sock) as c:
            check(c.ready(0).status == 0 and c.ready(0, 3).status == 0 and
                  c.ready(9, 2).status == 0, "LUNs 0:0, 0:3 and 9:2 answer")
            s = d.rpc("vhost_get_controllers", {"name": "sc"})[0]["sessions"]
            check(len(s) == 1 and s[0]["name"] == "scs0" and s[0]["started"] and
                  s[0]["max_queues"] == 4, "session listing %r" % s)
        cfg = d.rpc("save_config")
        d.rpc("vhost_controller_set_coalescing", {"ctrlr": "sc", "delay_base_us": 10,
                                                  "iops_threshold": 1000})
        cfg = d.rpc("save_config")
        vh = [e for s in cfg["subsystems"] if s["subsystem"] == "vhost" for e in s["config"]]
        methods = [e["method"] for e in vh if e["params"]["ctrlr"] == "sc"]
        check(methods == ["vhost_create_scsi_controller", "vhost_scsi_controller_add_target",
                          "vhost_scsi_controller_add_lun", "vhost_scsi_controller_add_target",
                          "vhost_start_scsi_controller", "vhost_controller_set_coalescing"],
              "save_config after start %r" % methods)

        # 256 targets, then ENOSPC; one controller left delayed for the replay.
        d.rpc("vhost_create_scsi_controller", {"ctrlr": "big"})
        d.rpc("vhost_create_scsi_controller", {"ctrlr": "later", "delay": True})
        cl = d.client(timeout=30)
        for i in range(256):
            check(cl.call(add, {"ctrlr": "big", "scsi_target_num": -1, "bdev_name": "M0"}) == i,
                  "slot %d" % i)
        cl.close()
        err(d, add, {"ctrlr": "big", "scsi_target_num": -1, "bdev_name": "M0"}, INVALID,
            "No space left on device")
        with Client(os.path.join(d.tmpdir, "big")) as c:
            check(c.ready(255).status == 0 and c.ready(128).status == 0, "targets 255, 128")
        cfg = d.rpc("save_config")
        before = d.rpc("vhost_get_controllers")

        # delete with targets: force-removed; socket gone; the name is free again.
        check(d.rpc("vhost_delete_controller", {"ctrlr": "big"}) is True, "delete big")
        check(not os.path.exists(os.path.join(d.tmpdir, "big")), "socket removed")
        err(d, add, {"ctrlr": "big", "scsi_target_num": 0, "bdev_name": "M0"}, INVALID,
            "No such device")
        d.rpc("vhost_create_scsi_controller", {"ctrlr": "big"})
        d.rpc("vhost_delete_controller", {"ctrlr": "big"})
        check(d.alive(), "daemon alive")

    path = os.path.join(os.environ.get("TMPDIR", "/tmp"), "vhd-scsi-cfg-%d.json" % os.getpid())
    with open(path, "w") as f:
        json.dump(cfg, f)
    try:
        with Daemon(cpumask="0x1", config=path) as d:
            after = d.rpc("vhost_get_controllers")
            for a in before + after:
                a.pop("sessions")
                a["socket"] = os.path.basename(a["socket"])
            check(after == before, "replayed controllers differ")
            check(os.path.exists(os.path.join(d.tmpdir, "sc")), "replayed sc started")
            check(not os.path.exists(os.path.join(d.tmpdir, "later")), "replayed later delayed")
            with Client(os.path.join(d.tmpdir, "sc")) as c:
                check(c.ready(9, 2).status == 0, "replayed LUN 9:2 answers")
            check(d.rpc("vhost_start_scsi_controller", {"ctrlr": "later"}) is True, "start later")
    finally:
        os.unlink(path)
    print("ok: scsi RPCs, delayed start, 256 targets, save_config round trip")


if __name__ == "__main__":
    run(main)
