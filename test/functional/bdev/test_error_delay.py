#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""bdev_error_* and bdev_delay_*: create on a malloc base (claimed), inject, update latency,
delete, base removal cascades, and bad inputs."""
from bdevtest import Daemon, bdev, check, expect_error, names, run_test


def main():
    with Daemon() as d:
        d.rpc_py("bdev_malloc_create", "-b", "M0", "16", "512")
        d.rpc_py("bdev_malloc_create", "-b", "M1", "16", "512")
        check(d.rpc_py("bdev_error_create", "M0").stdout.strip() == "EE_M0", "EE_ name")
        ee = bdev(d, "EE_M0")
        check(ee["num_blocks"] == bdev(d, "M0")["num_blocks"], "EE geometry")
        check(ee["driver_specific"]["error_disk"]["base_bdev"] == "M0", "EE ds")
        check(bdev(d, "M0")["claimed"] is True, "base claimed")
        d.rpc_py("bdev_error_inject_error", "EE_M0", "read", "failure", "-n", "3")
        d.rpc_py("bdev_error_inject_error", "EE_M0", "all", "pending")
        d.rpc_py("bdev_error_inject_error", "EE_M0", "write", "corrupt_data", "-o", "4", "-v",
                 "255")
        d.rpc_py("bdev_error_inject_error", "EE_M0", "clear", "failure")

        before = names(d)
        expect_error(d, "bdev_error_create", {"base_name": "nope"}, -19)
        expect_error(d, "bdev_error_create", {"base_name": "M0"}, -17)
        expect_error(d, "bdev_error_create", {}, -32603)
        expect_error(d, "bdev_error_inject_error", {"name": "nope", "io_type": "read",
                                                    "error_type": "failure"}, -19)
        expect_error(d, "bdev_error_inject_error", {"name": "EE_M0", "io_type": "bogus",
                                                    "error_type": "failure"}, -22)
        expect_error(d, "bdev_error_inject_error", {"name": "EE_M0", "io_type": "read",
                                                    "error_type": "bogus"}, -22)
        expect_error(d, "bdev_error_delete", {"name": "M0"}, -19)
        # delay: claimed base refused, unknown base, p99 < avg, duplicate
        lat = {"avg_read_latency": 10, "p99_read_latency": 20, "avg_write_latency": 10,
               "p99_write_latency": 20}
        expect_error(d, "bdev_delay_create", dict(lat, base_bdev_name="M0", name="D0"), -1)
        expect_error(d, "bdev_delay_create", dict(lat, base_bdev_name="nope", name="D0"), -19)
        expect_error(d, "bdev_delay_create", dict(lat, base_bdev_name="M1", name="D0",
                                                  p99_read_latency=5), -22)
        expect_error(d, "bdev_delay_create", dict(lat, base_bdev_name="M1", name="M0"), -17)
        expect_error(d, "bdev_delay_create", {"base_bdev_name": "M1", "name": "D0"}, -32603)
        check(names(d) == before, "nothing half-created: %r" % names(d))

        out = d.rpc_py("bdev_delay_create", "-b", "M1", "-d", "D0", "-r", "100", "-t", "200",
                       "-w", "300", "-n", "400").stdout.strip()
        check(out == "D0", "delay create")
        ds = bdev(d, "D0")["driver_specific"]["delay"]
        check(ds["avg_write_latency"] == 300 and ds["base_bdev_name"] == "M1", "ds %r" % ds)
        d.rpc_py("bdev_delay_update_latency", "D0", "avg_read", "150")
        check(bdev(d, "D0")["driver_specific"]["delay"]["avg_read_latency"] == 150, "updated")
        expect_error(d, "bdev_delay_update_latency", {"delay_bdev_name": "D0",
                                                      "latency_type": "bogus",
                                                      "latency_us": 1}, -22)
        expect_error(d, "bdev_delay_update_latency", {"delay_bdev_name": "nope",
                                                      "latency_type": "avg_read",
                                                      "latency_us": 1}, -19)
        expect_error(d, "bdev_delay_delete", {"name": "M1"}, -19)

        # Deleting a base removes the virtual bdev above it.
        d.rpc_py("bdev_malloc_delete", "M1")
        check("D0" not in names(d) and "M1" not in names(d), "cascade: %r" % names(d))
        d.rpc_py("bdev_error_delete", "EE_M0")
        check(bdev(d, "M0")["claimed"] is False, "claim released")
        d.rpc_py("bdev_malloc_delete", "M0")
        check(names(d) == [], "all gone: %r" % names(d))
        check(d.alive(), "daemon alive")


run_test(main)
