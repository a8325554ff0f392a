#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""save_config with one bdev of every backend -> restart with -c -> the same bdevs (names,
UUIDs, sizes, latencies) and the same save_config."""
import json
import os

from bdevtest import Daemon, check, make_file, run_test


def summary(d):
    out = {}
    for b in d.rpc("bdev_get_bdevs"):
        out[b["name"]] = (b["uuid"], b["block_size"], b["num_blocks"], b["driver_specific"])
    return out


def main():
    img = os.path.join("/var/tmp", "vhd-bdev-sc-%d.img" % os.getpid())
    make_file(img, 8 << 20)
    try:
        with Daemon() as d:
            d.rpc_py("bdev_malloc_create", "-b", "M0", "8", "4096")
            d.rpc_py("bdev_null_create", "N0", "16", "512")
            d.rpc_py("bdev_aio_create", img, "A0", "512")
            d.rpc_py("bdev_uring_create", img, "U0", "4096")
            d.rpc_py("bdev_error_create", "M0")
            d.rpc_py("bdev_malloc_create", "-b", "M1", "4", "512")
            d.rpc_py("bdev_delay_create", "-b", "M1", "-d", "D0", "-r", "1", "-t", "2", "-w",
                     "3", "-n", "4")
            d.rpc_py("bdev_delay_update_latency", "D0", "p99_write", "9")
            before = summary(d)
            conf = json.loads(d.rpc_py("save_config").stdout)
            bdev_conf = [s for s in conf["subsystems"] if s["subsystem"] == "bdev"][0]["config"]
            methods = [e["method"] for e in bdev_conf]
            check(methods.index("bdev_malloc_create") < methods.index("bdev_error_create"),
                  "base before virtual: %r" % methods)
            path = os.path.join(d.tmpdir, "conf.json")
            with open(path, "w") as f:
                json.dump(conf, f)
            with Daemon(config=path) as d2:
                after = summary(d2)
                check(after == before, "same bdevs after -c:\n%r\n%r" % (before, after))
                conf2 = json.loads(d2.rpc_py("save_config").stdout)
                check(conf2 == conf, "save_config round trip")
    finally:
        os.unlink(img)


run_test(main)
